"""Lineage as a plugin: its tables, API, page, command and delivery jobs."""

from __future__ import annotations

from typing import Any

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


@hookimpl
def ybz_zone_compacted(session: Any, code: str, rows: int, columns: dict[str, str], engine: str) -> None:
    # deferred: a plugin module names its stage's modules and imports them only when asked
    from .zone import compacted

    compacted(session, code, rows=rows, columns=columns, engine=engine)
