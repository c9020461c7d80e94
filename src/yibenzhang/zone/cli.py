"""`ybz compact RESOURCE`: write a resource's live batches as one 全量 batch now."""

from __future__ import annotations

import typer

from ..clikit import AsOpt, JsonOpt, acting_as, domain_errors, emit
from ..db import get_database
from .holdings import holdings


def compact_command(
    resource: str = typer.Argument(..., help="信息资源代码或编号 / resource code or id"),
    engine: str | None = typer.Option(None, "--engine", help="duckdb | spark (default: the rule in zone/engine.py)"),
    as_user: str | None = AsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Compact a resource: its live batches become one 全量 batch; reads are unchanged."""
    # deferred: keeps duckdb, httpx, sqlglot out of this module's import
    from .compact import compact

    with domain_errors(as_json):
        actor = acting_as(as_user)
        db = get_database()
        with db.read() as s:
            resource_id = holdings().find(s, actor, resource).id
        emit(compact(db, actor, resource_id, engine=engine), as_json)
