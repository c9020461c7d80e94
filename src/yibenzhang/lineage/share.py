"""Lineage of share deliveries: a file written for a grant is a COMPLETE run from the resource to
the consumer organization's copy (`<namespace>/org/<uscc>`, `grant/<id>/delivery/<id>`), with
its schema, row count and column lineage naming each item's masking operator; a delivery given
up is a FAIL."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from . import events, outbox


def _job(grant_id: int) -> str:
    return f"share.grant-{grant_id}.delivery"


def delivered(session: Session, *, resource_code: str, consumer_uscc: str, grant_id: int, delivery_id: int,
              rows: int, columns: list[tuple[str, str, str]], size: int | None = None) -> None:
    """`columns`: (name, type, masking operator) of each column that left."""
    source = events.resource_dataset(resource_code)
    output = events.dataset(
        events.org_namespace(consumer_uscc), f"grant/{grant_id}/delivery/{delivery_id}",
        facets={"schema": events.schema_facet({n: t for n, t, _ in columns}),
                "columnLineage": events.column_lineage(source, [(n, op) for n, _, op in columns])},
        output_facets={"outputStatistics": events.output_statistics(rows, size)})
    outbox.add(session, events.run_event("COMPLETE", events.new_run_id(), _job(grant_id), inputs=[source],
                                         outputs=[output], job_facets={"jobType": events.job_type("SHARE_DELIVERY")}))


def failed(session: Session, *, resource_code: str, grant_id: int, code: str) -> None:
    run_facets: dict[str, Any] = {"errorMessage": events.error_facet(code)}
    outbox.add(session, events.run_event("FAIL", events.new_run_id(), _job(grant_id),
                                         inputs=[events.resource_dataset(resource_code)], run_facets=run_facets,
                                         job_facets={"jobType": events.job_type("SHARE_DELIVERY")}))
