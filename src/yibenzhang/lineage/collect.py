"""Lineage of collection batches: START when a batch begins, COMPLETE in the transaction that
publishes it (output: the resource, with its schema and row count), FAIL when it breaks. The
three share one run id."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from ..db import Database
from ..errors import DomainError
from . import events, outbox


@dataclass
class CollectionRun:
    run_id: str
    resource_code: str
    job_name: str
    inputs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def job_facets(self) -> dict[str, Any]:
        return {"jobType": events.job_type("COLLECT")}


def start(db: Database, resource_code: str, source: dict[str, Any]) -> CollectionRun:
    run = CollectionRun(events.new_run_id(), resource_code, f"collect.{resource_code}",
                        [events.source_dataset(source, resource_code)])
    outbox.add_now(db, events.run_event("START", run.run_id, run.job_name, inputs=run.inputs,
                                        outputs=[events.resource_dataset(resource_code)], job_facets=run.job_facets))
    return run


def complete(session: Session, run: CollectionRun, *, columns: dict[str, str], rows: int, published: bool,
             size: int | None = None) -> None:
    """In the publishing transaction. A batch held for the steward changed no dataset yet: its
    run completes without an output."""
    outputs = []
    if published:
        outputs = [events.resource_dataset(run.resource_code, facets={"schema": events.schema_facet(columns)},
                                           output_facets={"outputStatistics": events.output_statistics(rows, size)})]
    outbox.add(session, events.run_event("COMPLETE", run.run_id, run.job_name, inputs=run.inputs, outputs=outputs,
                                         job_facets=run.job_facets))


def fail(db: Database, run: CollectionRun, exc: BaseException) -> None:
    """A stable code and the English reason for domain errors; only the kind of error otherwise
    (an exception's text may quote row values)."""
    message = f"{exc.code}: {exc.message_in('en')}" if isinstance(exc, DomainError) else type(exc).__name__
    outbox.add_now(db, events.run_event("FAIL", run.run_id, run.job_name, inputs=run.inputs,
                                        outputs=[events.resource_dataset(run.resource_code)],
                                        run_facets={"errorMessage": events.error_facet(message[:1000])},
                                        job_facets=run.job_facets))
