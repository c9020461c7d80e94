"""Open data as a plugin: its tables, API (rows, applications, CKAN, DCAT), the portal's pages, command and jobs."""

from __future__ import annotations

from ..hooks import hookimpl


@hookimpl
def ybz_tables() -> list[str]:
    return ["yibenzhang.open.model"]


@hookimpl
def ybz_routes() -> list[str]:
    return [
        "yibenzhang.open.routes",
        "yibenzhang.open.ckan",
        "yibenzhang.open.dcat_routes",
    ]


@hookimpl
def ybz_pages() -> list[str]:
    return ["yibenzhang.web.pages_open_actions", "yibenzhang.web.pages_portal"]


@hookimpl
def ybz_commands() -> dict[str, str]:
    return {
        "open": "yibenzhang.open.cli:open_app",
    }


@hookimpl
def ybz_jobs() -> list[str]:
    return ["yibenzhang.open.jobs"]
