"""Lineage of the sandbox and of data products (resource → sandbox run → product).

A sandbox run is one run of the job `sandbox.auth-<authorization id>.query`: released, a COMPLETE
from the resources it read to the operator organization's output `<namespace>/org/<uscc>` +
`sandbox/run/<run id>` (schema, row count, and for row-level output each column's source item);
refused, a FAIL with the refusal's code (never the SQL: its literals may be personal data).

A product is the job `product.<product id>`: each create, edit and registration is a COMPLETE
from the sandbox outputs it rests on to `<namespace>/org/<uscc>` + `product/<product id>`, so the
chain resource → sandbox run → product is in the events alone. Written in the transaction of the
act, like every event here."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ..catalog.model import Resource
from ..orgs.model import Org
from . import events, outbox


def _code(session: Session, resource_id: int) -> str:
    resource = session.get(Resource, resource_id)
    return resource.code if resource is not None else f"id-{resource_id}"


def _uscc(session: Session, org_id: int) -> str:
    org = session.get(Org, org_id)
    return org.uscc if org is not None else f"org-{org_id}"


def sandbox_job(authorization_id: int) -> str:
    return f"sandbox.auth-{authorization_id}.query"


def sandbox_output(session: Session, operator_org_id: int, run_id: int) -> dict[str, Any]:
    return events.dataset(events.org_namespace(_uscc(session, operator_org_id)), f"sandbox/run/{run_id}")


def sandbox_run(session: Session, run: Any, *, resource_ids: list[int], schema: dict[str, str] | None = None,
                items: list[str] | None = None) -> None:
    """`run`: the SandboxRun just recorded. `items`: row-level output, the source item behind
    each output column (same order as the schema)."""
    inputs = [events.resource_dataset(_code(session, rid)) for rid in resource_ids]
    job_facets = {"jobType": events.job_type("SANDBOX_QUERY")}
    if run.reason_code:  # refused: the code only
        outbox.add(session, events.run_event(
            "FAIL", events.new_run_id(), sandbox_job(run.authorization_id), inputs=inputs,
            run_facets={"errorMessage": events.error_facet(run.reason_code)}, job_facets=job_facets))
        return
    output = sandbox_output(session, run.operator_org_id, run.id)
    facets: dict[str, Any] = {}
    if schema:
        facets["schema"] = events.schema_facet(schema)
    if items and inputs and len(inputs) == 1 and schema:
        pairs = [(col, item, "IDENTITY") for col, item in zip(schema, items, strict=False) if item]
        if pairs:
            facets["columnLineage"] = events.identity_lineage(inputs[0], pairs)
    output.update({"facets": facets} if facets else {})
    output["outputFacets"] = {"outputStatistics": events.output_statistics(int(run.row_count or 0))}
    outbox.add(session, events.run_event("COMPLETE", events.new_run_id(), sandbox_job(run.authorization_id),
                                         inputs=inputs, outputs=[output], job_facets=job_facets))


def product_job(product_id: int) -> str:
    return f"product.{product_id}"


def product_dataset(session: Session, product: Any) -> dict[str, Any]:
    return events.dataset(events.org_namespace(_uscc(session, product.operator_org_id)), f"product/{product.id}")


def product_built(session: Session, product: Any, action: str) -> None:
    """A product created, edited or registered (`action`: CREATE, UPDATE, REGISTER, CANCEL)."""
    inputs = [sandbox_output(session, product.operator_org_id, int(rid)) for rid in product.source_run_ids or []]
    outbox.add(session, events.run_event(
        "COMPLETE", events.new_run_id(), product_job(product.id), inputs=inputs,
        outputs=[product_dataset(session, product)],
        job_facets={"jobType": events.job_type(f"PRODUCT_{action}")}))
