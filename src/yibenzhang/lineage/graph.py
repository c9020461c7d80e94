"""A resource's lineage, rebuilt from its OpenLineage events (the outbox is the record): where
its rows came from (sources, batches), what was checked (quality runs) and who received them
(grants by consumer organization, with each column's masking operator).

Who sees what: the provider side (its stewards and approvers, the authority over its region), the
platform administrator and auditors see everything; another government organization sees only
what it received; the public sees nothing."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..access import Actor, can_read_all, require
from ..catalog import service as catalog
from ..catalog.model import Resource
from ..enums import Role
from ..orgs.model import Org, Region
from .model import LineageEvent


def _provider_side(session: Session, actor: Actor, resource: Resource) -> bool:
    if can_read_all(actor) or actor.acts_for_org(resource.org_id, Role.APPROVER, Role.STEWARD):
        return True
    region = session.get(Region, resource.region_id)
    return region is not None and actor.reviews_region(region.path)


def _grants(session: Session, resource_id: int) -> dict[int, int]:
    """grant id → consumer org id (none when the share stage is not installed)."""
    try:
        from ..share.grants import Grant
    except ImportError:  # pragma: no cover
        return {}
    rows = session.execute(select(Grant.id, Grant.consumer_org_id).where(Grant.resource_id == resource_id))
    return {gid: org for gid, org in rows.all()}


def _stats(dataset: dict[str, Any]) -> int:
    return int(dataset.get("outputFacets", {}).get("outputStatistics", {}).get("rowCount", 0))


def for_resource(session: Session, actor: Actor, resource_ref: int | str) -> dict[str, Any]:
    resource = catalog.get_resource(session, actor, resource_ref)
    require(actor.is_government, "查看数据血缘")
    full = _provider_side(session, actor, resource)
    code = resource.code
    grants = _grants(session, resource.id)
    if not full:
        grants = {g: o for g, o in grants.items() if actor.acts_for_org(o)}
    names = [f"share.grant-{g}.delivery" for g in grants]
    if full:
        names += [f"collect.{code}", f"quality.{code}"]
    rows = session.execute(select(LineageEvent.event).where(LineageEvent.job_name.in_(names))
                           .order_by(LineageEvent.id)).scalars().all() if names else []
    batches: dict[str, dict[str, Any]] = {}
    sources: dict[str, dict[str, Any]] = {}
    quality_runs = 0
    received: dict[int, dict[str, Any]] = {}
    for event in rows:
        job, kind = event["job"]["name"], event["eventType"]
        if job.startswith("collect."):
            run = batches.setdefault(event["run"]["runId"], {"run_id": event["run"]["runId"], "state": kind,
                                                            "started_at": event["eventTime"], "rows": None})
            run["state"] = kind
            if kind == "COMPLETE" and event["outputs"]:
                run["rows"] = _stats(event["outputs"][0])
            for i in event["inputs"]:
                key = f"{i['namespace']}:{i['name']}"
                src = sources.setdefault(key, {"dataset": key, "runs": 0})
                src["runs"] += 1 if kind == "START" else 0
        elif job.startswith("quality."):
            quality_runs += 1
        elif kind == "COMPLETE":
            gid = int(job.split("-")[1].split(".")[0])
            (out,) = event["outputs"]
            entry = received.setdefault(gid, {"grant_id": gid, "org_uscc": out["namespace"].rsplit("/", 1)[-1],
                                              "deliveries": 0, "rows": 0, "columns": {}})
            entry["deliveries"] += 1
            entry["rows"] += _stats(out)
            for col, f in out.get("facets", {}).get("columnLineage", {}).get("fields", {}).items():
                entry["columns"][col] = f["inputFields"][0]["transformations"][0]["description"]
    orgs = {o.uscc: o.name for o in session.execute(select(Org)).scalars()} if received else {}
    consumers = []
    for entry in received.values():
        consumers.append({**entry, "org": orgs.get(entry["org_uscc"], entry["org_uscc"])})
    by_state: dict[str, int] = defaultdict(int)
    for b in batches.values():
        by_state[b["state"]] += 1
    return {"resource": code, "name": resource.name, "complete": full,
            "sources": list(sources.values()) if full else [], "batches": list(batches.values()),
            "batch_states": dict(by_state), "quality_runs": quality_runs, "consumers": consumers}
