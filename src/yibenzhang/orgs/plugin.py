"""Regions, organizations, users and their security as a plugin: tables, API and the account page."""

from __future__ import annotations

from ..hooks import hookimpl


@hookimpl
def ybz_tables() -> list[str]:
    return ["yibenzhang.orgs.model"]


@hookimpl
def ybz_routes() -> list[str]:
    return ["yibenzhang.orgs.routes", "yibenzhang.orgs.security_routes"]


@hookimpl
def ybz_pages() -> list[str]:
    return ["yibenzhang.web.pages_security"]
