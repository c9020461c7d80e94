"""`ybz lineage RESOURCE [--json]`: where a resource's rows came from and who received them."""

from __future__ import annotations

import typer

from ..clikit import AsOpt, JsonOpt, acting_as, domain_errors, emit
from ..db import get_database
from . import graph


def lineage_command(resource: str = typer.Argument(..., help="Resource code or id."), as_user: str | None = AsOpt,
                    as_json: bool = JsonOpt) -> None:
    """Print a resource's lineage: sources, batches, quality runs, and consumers by grant."""
    with domain_errors(as_json), get_database().read() as s:
        result = graph.for_resource(s, acting_as(as_user), resource)
    if as_json:
        emit(result, True)
        return
    emit(result["sources"], False, ["dataset", "runs"], title=f"{result['resource']} {result['name']}: sources")
    emit(result["batches"], False, ["run_id", "state", "rows", "started_at"], title="batches")
    emit([{**c, "columns": ", ".join(f"{k}={v}" for k, v in c["columns"].items())} for c in result["consumers"]],
         False, ["grant_id", "org", "deliveries", "rows", "call_days", "call_rows", "columns"], title="consumers")
    if result.get("sandbox_runs"):
        emit(result["sandbox_runs"], False, ["run_id", "org", "authorization_id", "rows"], title="sandbox runs")
    if result.get("products"):
        emit([{**p, "runs": ", ".join(map(str, p["runs"]))} for p in result["products"]], False,
             ["product_id", "org", "runs", "last"], title="products")
    if result.get("open_downloads"):
        emit(result["open_downloads"], False, ["day", "files"], title="open downloads")
