"""A resource's lineage, rebuilt from its OpenLineage events (the outbox is the record): where
its rows came from (sources, batches), what was checked (quality runs), how it was compacted, and
who received or used it: grants by consumer organization (deliveries and per-day data calls, with
each column's masking operator), open downloads per day, sandbox runs under the operators'
authorizations and the products built from them. `graph` is the same as nodes and links (the
console draws it with ECharts).

Who sees what: the provider side (its stewards and approvers, the authority over its region), the
platform administrator and auditors see everything; another government organization sees only
what it received (its grants), the sandbox runs and products of its own authorizations, and the
open downloads (public counts); the public sees nothing."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import workdays
from ..access import Actor, can_read_all, require
from ..catalog import service as catalog
from ..catalog.model import Resource
from ..enums import Role
from ..errors import FieldError, NotFound, ValidationFailed
from ..orgs.model import Org, Region
from . import events
from .model import LineageEvent


def _provider_side(session: Session, actor: Actor, resource: Resource) -> bool:
    if can_read_all(actor) or actor.acts_for_org(resource.org_id, Role.APPROVER, Role.STEWARD):
        return True
    region = session.get(Region, resource.region_id)
    return region is not None and actor.reviews_region(region.path)


def _grants(session: Session, resource_id: int) -> dict[int, int]:
    """grant id → consumer org id (none when the share stage is not installed)."""
    try:
        # deferred: keeps `ybz --help` light
        from ..share.grants import Grant
    except ImportError:  # pragma: no cover
        return {}
    rows = session.execute(select(Grant.id, Grant.consumer_org_id).where(Grant.resource_id == resource_id))
    return {gid: org for gid, org in rows.all()}


def _stats(dataset: dict[str, Any], key: str = "rowCount") -> int:
    return int(dataset.get("outputFacets", {}).get("outputStatistics", {}).get(key, 0) or 0)


def _authorizations(session: Session, resource_id: int) -> dict[int, int]:
    """Operating authorizations covering the resource: authorization id → operator org id."""
    try:
        # deferred: keeps `ybz --help` light
        from ..operate.model import Authorization
    except ImportError:  # pragma: no cover
        return {}
    out = {}
    for auth in session.execute(select(Authorization)).scalars():
        if any(int(r.get("resource_id") or 0) == resource_id for r in auth.resources or []):
            out[auth.id] = auth.operator_org_id
    return out


def _products(session: Session, auth_ids: list[int]) -> dict[int, int]:
    """product id → authorization id, for products resting on those authorizations."""
    if not auth_ids:
        return {}
    # deferred: keeps `ybz --help` light
    from ..assets.model import Product

    rows = session.execute(select(Product.id, Product.authorization_id).where(Product.authorization_id.in_(auth_ids)))
    return {pid: aid for pid, aid in rows.all()}


def _key(dataset: dict[str, Any]) -> str:
    return f"{dataset['namespace']}:{dataset['name']}"


def for_resource(session: Session, actor: Actor, resource_ref: int | str) -> dict[str, Any]:
    resource = catalog.get_resource(session, actor, resource_ref)
    require(actor.is_government, "查看数据血缘")
    full = _provider_side(session, actor, resource)
    code = resource.code
    grants = _grants(session, resource.id)
    auths = _authorizations(session, resource.id)
    if not full:
        grants = {g: o for g, o in grants.items() if actor.acts_for_org(o)}
        auths = {a: o for a, o in auths.items() if actor.acts_for_org(o)}
    products = _products(session, list(auths))
    names = [f"share.grant-{g}.delivery" for g in grants] + [f"share.grant-{g}.calls" for g in grants]
    names += [f"sandbox.auth-{a}.query" for a in auths] + [f"product.{p}" for p in products]
    names.append(f"open.download.{code}")
    if full:
        names += [f"collect.{code}", f"quality.{code}", f"zone.compact.{code}"]
    rows = session.execute(select(LineageEvent.event).where(LineageEvent.job_name.in_(names))
                           .order_by(LineageEvent.id)).scalars().all()
    me = f"{events.namespace()}:resource/{code}"
    batches: dict[str, dict[str, Any]] = {}
    sources: dict[str, dict[str, Any]] = {}
    quality_runs = compactions = 0
    received: dict[int, dict[str, Any]] = {}
    runs: dict[str, dict[str, Any]] = {}  # sandbox output dataset → run
    built: dict[int, dict[str, Any]] = {}
    downloads: dict[str, int] = defaultdict(int)
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
        elif job.startswith("zone.compact."):
            compactions += 1 if kind == "COMPLETE" else 0
        elif job.startswith("open.download."):
            for out in event["outputs"]:
                downloads[out["name"].rsplit("/", 1)[-1]] += _stats(out, "fileCount")
        elif job.startswith("sandbox."):
            if kind != "COMPLETE" or me not in {_key(i) for i in event["inputs"]}:
                continue
            (out,) = event["outputs"]
            runs[_key(out)] = {"run_id": int(out["name"].rsplit("/", 1)[-1]), "dataset": _key(out),
                               "authorization_id": int(job.split("-")[1].split(".")[0]),
                               "org_uscc": out["namespace"].rsplit("/", 1)[-1], "rows": _stats(out),
                               "at": event["eventTime"]}
        elif job.startswith("product."):
            if kind != "COMPLETE":
                continue
            pid = int(job.split(".")[1])
            (out,) = event["outputs"]
            built[pid] = {"product_id": pid, "dataset": _key(out), "org_uscc": out["namespace"].rsplit("/", 1)[-1],
                          "runs": [_key(i) for i in event["inputs"]],
                          "state": event["job"]["facets"].get("jobType", {}).get("jobType", "")}
        elif kind == "COMPLETE":
            gid = int(job.split("-")[1].split(".")[0])
            (out,) = event["outputs"]
            entry = received.setdefault(gid, {"grant_id": gid, "org_uscc": out["namespace"].rsplit("/", 1)[-1],
                                              "deliveries": 0, "rows": 0, "call_days": 0, "call_rows": 0,
                                              "columns": {}})
            if job.endswith(".calls"):
                entry["call_days"] += 1
                entry["call_rows"] += _stats(out)
            else:
                entry["deliveries"] += 1
                entry["rows"] += _stats(out)
            for col, f in out.get("facets", {}).get("columnLineage", {}).get("fields", {}).items():
                entry["columns"][col] = f["inputFields"][0]["transformations"][0]["description"]
    orgs = {o.uscc: o.name for o in session.execute(select(Org)).scalars()} if (received or runs or built) else {}
    consumers = [{**entry, "org": orgs.get(entry["org_uscc"], entry["org_uscc"])} for entry in received.values()]
    sandbox_runs = [{**r, "org": orgs.get(r["org_uscc"], r["org_uscc"])} for r in runs.values()]
    product_list = []
    for p in built.values():
        used = [runs[k]["run_id"] for k in p["runs"] if k in runs]
        if used:  # a product built from this resource's sandbox runs
            product_list.append({"product_id": p["product_id"], "org": orgs.get(p["org_uscc"], p["org_uscc"]),
                                 "runs": used, "last": p["state"].removeprefix("PRODUCT_").lower()})
    by_state: dict[str, int] = defaultdict(int)
    for b in batches.values():
        by_state[b["state"]] += 1
    result = {"resource": code, "name": resource.name, "complete": full,
              "sources": list(sources.values()) if full else [], "batches": list(batches.values()),
              "batch_states": dict(by_state), "quality_runs": quality_runs, "compactions": compactions,
              "consumers": consumers, "sandbox_runs": sandbox_runs, "products": product_list,
              "open_downloads": [{"day": d, "files": n} for d, n in sorted(downloads.items())]}
    result["graph"] = _graph(result)
    return result


def _graph(r: dict[str, Any]) -> dict[str, Any]:
    """Nodes (with a category: source, resource, consumer, open, sandbox, product) and links, for
    the console's ECharts graph. Only what `r` holds: already filtered for the viewer."""
    nodes: list[dict[str, Any]] = [{"id": "resource", "name": f"{r['resource']} {r['name']}", "category": "resource"}]
    links: list[dict[str, Any]] = []
    for i, src in enumerate(r["sources"]):
        nodes.append({"id": f"source-{i}", "name": src["dataset"], "category": "source"})
        links.append({"source": f"source-{i}", "target": "resource", "label": f"{src['runs']}"})
    for c in r["consumers"]:
        nodes.append({"id": f"grant-{c['grant_id']}", "name": c["org"], "category": "consumer"})
        links.append({"source": "resource", "target": f"grant-{c['grant_id']}", "label": f"#{c['grant_id']}"})
    if r["open_downloads"]:
        nodes.append({"id": "open", "name": "open", "category": "open"})
        links.append({"source": "resource", "target": "open",
                      "label": str(sum(d["files"] for d in r["open_downloads"]))})
    for run in r["sandbox_runs"]:
        nodes.append({"id": f"run-{run['run_id']}", "name": f"{run['org']} #{run['run_id']}", "category": "sandbox"})
        links.append({"source": "resource", "target": f"run-{run['run_id']}", "label": str(run["rows"])})
    for p in r["products"]:
        nodes.append({"id": f"product-{p['product_id']}", "name": f"{p['org']} #{p['product_id']}",
                      "category": "product"})
        links += [{"source": f"run-{rid}", "target": f"product-{p['product_id']}", "label": ""} for rid in p["runs"]]
    return {"nodes": nodes, "links": links}


def _masking_of(dataset: dict[str, Any], item: str) -> str | None:
    """The operator an output column of `item` went through (`none`: in clear); None: the item
    did not leave in this output."""
    for field in dataset.get("facets", {}).get("columnLineage", {}).get("fields", {}).values():
        for source in field.get("inputFields", []):
            if source.get("field") == item:
                t = (source.get("transformations") or [{}])[0]
                return str(t.get("description") or ("none" if t.get("subtype") == "IDENTITY" else "unknown"))
    return None


def item_recipients(session: Session, actor: Actor, resource_ref: int | str, item: str,
                    since: date | None = None, until: date | None = None) -> dict[str, Any]:
    """The auditor's question in one call: every organization that received `item` of the
    resource between `since` and `until` (both included), by which exit (a grant's deliveries or
    data calls, an operator's row-level sandbox output, open downloads), with the masking applied,
    how often and how many rows. Only the provider side, the administrator and auditors may ask."""
    resource = catalog.get_resource(session, actor, resource_ref)
    require(actor.is_government and _provider_side(session, actor, resource), "查询信息项流向", "lineage_item_denied")
    if not any(i.name == item for i in resource.items):
        raise NotFound(f"信息项 {item}", "lineage_item_not_found")
    if since and until and since > until:
        raise ValidationFailed("lineage_period_invalid", "开始日期不能晚于结束日期",
                               errors=[FieldError("from", "after_to", "开始日期不能晚于结束日期")])
    code = resource.code
    me = f"{events.namespace()}:resource/{code}"
    grants = _grants(session, resource.id)
    auths = _authorizations(session, resource.id)
    names = [f"share.grant-{g}.delivery" for g in grants] + [f"share.grant-{g}.calls" for g in grants]
    names += [f"sandbox.auth-{a}.query" for a in auths] + [f"open.download.{code}"]
    rows = session.execute(select(LineageEvent.event).where(LineageEvent.job_name.in_(names),
                                                            LineageEvent.event_type == "COMPLETE")
                           .order_by(LineageEvent.id)).scalars().all()
    found: dict[tuple[str, str, int | None, str], dict[str, Any]] = {}
    for event in rows:
        if me not in {_key(i) for i in event["inputs"]}:
            continue
        nominal = event["run"].get("facets", {}).get("nominalTime")
        stamp = nominal["nominalStartTime"] if nominal else event["eventTime"]
        day = workdays.local_date(datetime.fromisoformat(stamp.replace("Z", "+00:00")))
        if nominal:  # a per-day summary is named by its local day
            day = date.fromisoformat(event["outputs"][0]["name"].rsplit("/", 1)[-1])
        if (since and day < since) or (until and day > until):
            continue
        job = event["job"]["name"]
        for out in event["outputs"]:
            operator = _masking_of(out, item)
            if operator is None:
                continue
            if job.startswith("share.grant-"):
                exit_, ref = ("calls" if job.endswith(".calls") else "delivery"), int(job.split("-")[1].split(".")[0])
            elif job.startswith("sandbox."):
                exit_, ref = "sandbox", int(job.split("-")[1].split(".")[0])
            else:
                exit_, ref = "open", None
            holder = out["namespace"].rsplit("/", 1)[-1] if "/org/" in out["namespace"] else "public"
            entry = found.setdefault((holder, exit_, ref, operator), {
                "org_uscc": holder if holder != "public" else None, "exit": exit_, "masking": operator,
                "grant_id": ref if exit_ in ("delivery", "calls") else None,
                "authorization_id": ref if exit_ == "sandbox" else None,
                "times": 0, "rows": 0, "files": 0, "first": day.isoformat(), "last": day.isoformat()})
            entry["times"] += 1
            entry["rows"] += _stats(out)
            entry["files"] += _stats(out, "fileCount")
            entry["first"] = min(entry["first"], day.isoformat())
            entry["last"] = max(entry["last"], day.isoformat())
    orgs = {o.uscc: o.name for o in session.execute(select(Org)).scalars()} if found else {}
    recipients = [{**e, "org": orgs.get(e["org_uscc"] or "", e["org_uscc"]) if e["org_uscc"] else None}
                  for e in found.values()]
    recipients.sort(key=lambda e: (e["first"], e["exit"], e["org_uscc"] or ""))
    return {"resource": code, "item": item, "from": since.isoformat() if since else None,
            "to": until.isoformat() if until else None, "recipients": recipients}
