"""Lineage of quality runs: one COMPLETE event per run (written with the run's scores), the
resource as input with the rules as data-quality assertions and the rows checked."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from . import events, outbox


def complete(session: Session, resource_code: str, *, rows: int, results: list[Any]) -> None:
    """`results`: the evaluation's rule results (rule key, kind, items, failed). Names only."""
    assertions = []
    for r in results:
        entry: dict[str, Any] = {"assertion": r.rule.kind, "name": r.rule.key, "success": r.failed == 0}
        if len(r.rule.items) == 1:
            entry["column"] = r.rule.items[0]
        assertions.append(entry)
    facets = {"dataQualityAssertions": events.quality_assertions(assertions)}
    dataset = events.resource_dataset(resource_code, facets=facets)
    dataset["inputFacets"] = {"dataQualityMetrics": events.quality_metrics(rows)}
    outbox.add(session, events.run_event("COMPLETE", events.new_run_id(), f"quality.{resource_code}", inputs=[dataset],
                                         job_facets={"jobType": events.job_type("QUALITY")}))
