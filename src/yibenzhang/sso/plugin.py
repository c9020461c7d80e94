"""Single sign-on as a plugin: its tables, API and sign-in and administration pages."""

from __future__ import annotations

from ..hooks import hookimpl


@hookimpl
def ybz_tables() -> list[str]:
    return ["yibenzhang.sso.model"]


@hookimpl
def ybz_routes() -> list[str]:
    return ["yibenzhang.sso.routes"]


@hookimpl
def ybz_pages() -> list[str]:
    return ["yibenzhang.web.pages_sso", "yibenzhang.web.pages_sso_admin"]
