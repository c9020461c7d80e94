"""Lineage as a plugin: its tables, API, page, command and delivery jobs."""

from __future__ import annotations

from ..hooks import hookimpl


@hookimpl
def ybz_tables() -> list[str]:
    return ["yibenzhang.lineage.model"]


@hookimpl
def ybz_routes() -> list[str]:
    return ["yibenzhang.lineage.routes"]


@hookimpl
def ybz_pages() -> list[str]:
    return ["yibenzhang.web.pages_lineage"]


@hookimpl
def ybz_commands() -> dict[str, str]:
    return {
        "lineage": "yibenzhang.lineage.cli:lineage_command",
    }


@hookimpl
def ybz_jobs() -> list[str]:
    return ["yibenzhang.lineage.outbox", "yibenzhang.lineage.daily"]
