"""`ybz quality RESOURCE`: assess the resource's current state and print rules and scores."""

from __future__ import annotations

import typer

from ..clikit import AsOpt, JsonOpt, acting_as, console, domain_errors, emit
from ..db import get_database


def quality_command(
    resource: str = typer.Argument(..., help="Resource id or code (信息资源代码)."),
    as_user: str | None = AsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Evaluate every quality rule of RESOURCE in one pass and print checked/failed/rate and scores."""
    # deferred: keeps duckdb, httpx, sqlglot out of this module's import
    from . import service

    with domain_errors(as_json):
        db = get_database()
        actor = acting_as(as_user)
        summary = service.assess_current(db, actor, resource)
        with db.read() as s:
            detail = service.resource_quality(s, actor, summary["resource_id"])
        latest = detail["latest"]
        if as_json:
            emit(latest, True)
            return
        rows = [{"规则 rule": r["key"], "维度 dimension": r["dimension"], "检查 checked": r["checked"],
                 "不合格 failed": r["failed"], "比率 rate": f"{r['rate']:.4%}"} for r in latest["results"]]
        emit(rows, False, columns=list(rows[0]) if rows else ["规则 rule"],
             title=f"{detail['code']} {detail['name']}: {latest['rows']} 行 rows")
        for dim, score in latest["scores"].items():
            console.print(f"{dim}: {'—' if score is None else score}")
        console.print(f"[bold]总分 overall[/bold]: {latest['overall']}")
