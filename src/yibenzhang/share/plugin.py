"""Sharing as a plugin: its tables, API (requests, grants, the data service, deliveries), pages, command and jobs."""

from __future__ import annotations

from ..hooks import hookimpl


@hookimpl
def ybz_tables() -> list[str]:
    return ["yibenzhang.share.requests", "yibenzhang.share.grants"]


@hookimpl
def ybz_routes() -> list[str]:
    return [
        "yibenzhang.share.request_routes",
        "yibenzhang.share.grant_routes",
        "yibenzhang.share.console_routes",
    ]


@hookimpl
def ybz_pages() -> list[str]:
    return ["yibenzhang.web.pages_share"]


@hookimpl
def ybz_commands() -> dict[str, str]:
    return {
        "share": "yibenzhang.share.cli:share_app",
    }


@hookimpl
def ybz_jobs() -> list[str]:
    return ["yibenzhang.share.requests", "yibenzhang.share.service_rows"]
