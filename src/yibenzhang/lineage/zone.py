"""Lineage of compaction: the resource's live batches rewritten as one 全量 batch is a COMPLETE
run of `zone.compact.<code>` from the resource to itself (schema and row count of the new batch;
the row count equals the live state's, checked before publishing). Written in the publishing
transaction, so a compaction that lost its race leaves no event."""

from __future__ import annotations

from sqlalchemy.orm import Session

from . import events, outbox


def compacted(session: Session, code: str, *, rows: int,
              columns: dict[str, str], engine: str) -> None:
    source = events.resource_dataset(code)
    output = events.resource_dataset(code, facets={"schema": events.schema_facet(columns)},
                                     output_facets={"outputStatistics": events.output_statistics(rows)})
    outbox.add(session, events.run_event("COMPLETE", events.new_run_id(), f"zone.compact.{code}", inputs=[source],
                                         outputs=[output],
                                         job_facets={"jobType": events.job_type("COMPACTION",
                                                                                integration=f"YIBENZHANG_{engine.upper()}")}))
