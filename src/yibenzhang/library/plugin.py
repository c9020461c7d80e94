"""Base and theme libraries as a plugin: tables, API, pages, command and the fusion job."""

from __future__ import annotations

from ..hooks import hookimpl


@hookimpl
def ybz_tables() -> list[str]:
    return ["yibenzhang.library.model"]


@hookimpl
def ybz_routes() -> list[str]:
    return ["yibenzhang.library.routes"]


@hookimpl
def ybz_pages() -> list[str]:
    return ["yibenzhang.web.pages_library"]


@hookimpl
def ybz_commands() -> dict[str, str]:
    return {
        "library": "yibenzhang.library.cli:library_app",
    }


@hookimpl
def ybz_jobs() -> list[str]:
    return ["yibenzhang.library.run"]
