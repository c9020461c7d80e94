"""Org scorecards: a weighted score from the KPIs, the rank within the org's region, and what the
org must do next (DOMAIN §10: "the authority assesses each unit").

Components, each 0–100 (from assess.kpis, per org):
- catalogue  目录及时: duty_on_time_rate × 100 (catalogue updated within N working days of a duty change)
- freshness  数据及时: fresh_rate × 100 (resources updated within their cycle)
- quality    数据质量: quality_overall (row-weighted latest quality scores)
- share      共享响应: share_on_time_rate × 100 (conditional requests decided in time)
- objections 异议办结: objections_on_time_rate × 100
- collection 数据归集: collection_rate × 100 (published resources with data in the zone)

Weights (ours; DOMAIN §10 names catalogue timeliness, freshness and quality first): 20 / 20 / 20 /
15 / 10 / 15 %. A component the org has nothing to be judged on (no duty change, no request…)
drops out and the others' weights are re-normalised, as quality.scores.overall does; an org with
no component at all has no score and no rank. Rank: standard competition ranking ("1, 2, 2, 4")
among the scored orgs of the same region (the region itself, not the regions below it).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from ..access import Actor
from ..catalog.model import DutyChange, Resource
from ..enums import ResourceStatus
from ..i18n import N_
from ..orgs.model import Org
from ..quality.model import QualityRun
from ..quality.objections import Objection, ObjectionState
from ..registry import module_available
from . import kpis
from .kpis import Collected, Freshness, Scope, _in_scope

WEIGHTS: dict[str, float] = {
    "catalogue": 0.20, "freshness": 0.20, "quality": 0.20, "share": 0.15, "objections": 0.10, "collection": 0.15,
}
SOURCES: dict[str, tuple[str, float]] = {  # component -> (KPI key, factor to 0..100)
    "catalogue": ("duty_on_time_rate", 100.0), "freshness": ("fresh_rate", 100.0), "quality": ("quality_overall", 1.0),
    "share": ("share_on_time_rate", 100.0), "objections": ("objections_on_time_rate", 100.0),
    "collection": ("collection_rate", 100.0),
}
LABELS = {"catalogue": N_("目录及时"), "freshness": N_("数据及时"), "quality": N_("数据质量"), "share": N_("共享响应"),
          "objections": N_("异议办结"), "collection": N_("数据归集")}
TODO_LIMIT = 20  # items listed per kind and org (the count is always complete)
TODO_KINDS = {"duty_change": N_("职责变化后目录逾期未更新"), "share_request": N_("共享申请逾期未审批"),
              "objection": N_("异议逾期未办理"), "stale_resource": N_("数据未按更新周期更新"),
              "returned_resource": N_("退回的资源待修改")}


def components(figures: dict[str, Any]) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for name, (key, factor) in SOURCES.items():
        value = figures.get(key)
        out[name] = round(value * factor, 2) if value is not None else None
    return out


def score(parts: dict[str, float | None]) -> float | None:
    present = {k: w for k, w in WEIGHTS.items() if parts.get(k) is not None}
    total = sum(present.values())
    if not total:
        return None
    return round(sum(parts[k] * w for k, w in present.items()) / total, 2)  # type: ignore[operator]


def rank(values: list[tuple[int, float | None]]) -> dict[int, int | None]:
    """Competition ranking of (id, score), highest first; None scores are unranked."""
    scored = sorted((v for v in values if v[1] is not None), key=lambda v: -v[1])  # type: ignore[operator]
    out: dict[int, int | None] = {i: None for i, _ in values}
    for pos, (ident, value) in enumerate(scored):
        out[ident] = pos + 1 if pos == 0 or value != scored[pos - 1][1] else out[scored[pos - 1][0]]
    return out


# --- what each org must do next -------------------------------------------------------------------------


def _push(todo: dict[int, dict[str, Any]], org_id: int, kind: str, item: dict[str, Any]) -> None:
    entry = todo.setdefault(org_id, {"counts": {k: 0 for k in TODO_KINDS}, "items": []})
    entry["counts"][kind] += 1
    if sum(1 for i in entry["items"] if i["kind"] == kind) < TODO_LIMIT:
        entry["items"].append({"kind": kind, "label": TODO_KINDS[kind], **item})


def todos(session: Session, scope: Scope, day: date, stale_counts: dict[int, int] | None = None
          ) -> dict[int, dict[str, Any]]:
    """Per org: overdue duty changes, overdue share decisions (the provider's step), overdue
    objections, stale resources (the stalest TODO_LIMIT; `stale_counts` gives the full counts)
    and returned resources — one statement per kind."""
    todo: dict[int, dict[str, Any]] = {}
    rows = session.execute(
        select(DutyChange.id, DutyChange.org_id, DutyChange.occurred_on, DutyChange.due_on)
        .join(Org, DutyChange.org_id == Org.id)
        .where(DutyChange.fulfilled_on.is_(None), DutyChange.due_on < day, *_in_scope(scope, Org.id, Org.region_id))
        .order_by(DutyChange.due_on, DutyChange.id))
    for ident, org_id, occurred, due in rows:
        _push(todo, org_id, "duty_change", {"id": ident, "occurred_on": occurred.isoformat(), "due_on": due.isoformat(),
                                            "link": "/console/duty-changes"})
    if module_available("yibenzhang.share.requests"):
        # deferred: keeps gmssl out of this module's import
        from ..share.requests import RequestState, ShareRequest

        rows = session.execute(
            select(ShareRequest.id, ShareRequest.provider_org_id, ShareRequest.step_due).where(
                ShareRequest.state == RequestState.PROVIDER.value, ShareRequest.step_due < day,
                *_in_scope(scope, ShareRequest.provider_org_id, ShareRequest.region_id))
            .order_by(ShareRequest.step_due, ShareRequest.id))
        for ident, org_id, due in rows:
            _push(todo, org_id, "share_request", {"id": ident, "due_on": due.isoformat(),
                                                  "link": f"/console/share/{ident}"})
    if module_available("yibenzhang.quality.objections"):
        st = ObjectionState
        rows = session.execute(
            select(Objection.id, Objection.org_id, Objection.state, Objection.answer_due, Objection.correct_due).where(
                or_(and_(Objection.state == st.PENDING.value, Objection.answer_due < day),
                    and_(Objection.state == st.ACCEPTED.value, Objection.correct_due < day)),
                *_in_scope(scope, Objection.org_id, Objection.region_id))
            .order_by(Objection.id))
        for ident, org_id, state, answer_due, correct_due in rows:
            due = answer_due if state == st.PENDING.value else correct_due
            _push(todo, org_id, "objection", {"id": ident, "due_on": due.isoformat(),
                                              "link": "/console/objections"})
    for rid, org_id, cycle, newest, code, name in kpis.stale_resources(session, scope, day, TODO_LIMIT):
        _push(todo, org_id, "stale_resource", {"id": rid, "code": code, "name": name, "update_cycle": cycle,
                                               "newest": newest.isoformat() if newest else None,
                                               "link": f"/console/resources/{rid}/quality"})
    for org_id, n in (stale_counts or {}).items():  # the whole count, not only the listed ones
        if n:
            todo.setdefault(org_id, {"counts": {k: 0 for k in TODO_KINDS}, "items": []})["counts"]["stale_resource"] = n
    rows = session.execute(select(Resource.id, Resource.org_id, Resource.code, Resource.name).where(
        Resource.status == ResourceStatus.RETURNED.value, *_in_scope(scope, Resource.org_id, Resource.region_id))
        .order_by(Resource.id))
    for rid, org_id, code, name in rows:
        _push(todo, org_id, "returned_resource", {"id": rid, "code": code, "name": name,
                                                  "link": f"/console/catalog/{rid}/edit"})
    return todo


# --- the scorecards ----------------------------------------------------------------------------------------------


def build(session: Session, c: Collected, with_todo: bool = True) -> list[dict[str, Any]]:
    cards = []
    for o in c.orgs:
        if o["kind"] not in kpis.CATALOGUING_KINDS:
            continue  # the authority and operators are not assessed as providers
        figures = kpis.fold(c, [o["id"]])
        parts = components(figures)
        cards.append({"org_id": o["id"], "name": o["name"], "kind": o["kind"], "region_code": o["region_code"],
                      "region_name": o["region_name"], "components": parts, "score": score(parts),
                      "figures": {k: figures.get(k) for k in (*(key for key, _ in SOURCES.values()), "stale")}})
    by_region: dict[str, list[dict[str, Any]]] = {}
    for card in cards:
        by_region.setdefault(card["region_code"], []).append(card)
    for members in by_region.values():
        ranks = rank([(m["org_id"], m["score"]) for m in members])
        for m in members:
            m["rank"], m["region_orgs"] = ranks[m["org_id"]], len(members)
    if with_todo:
        todo = todos(session, c.scope, c.day, {card["org_id"]: card["figures"]["stale"] for card in cards})
        empty = {"counts": {k: 0 for k in TODO_KINDS}, "items": []}
        for card in cards:
            card["todo"] = todo.get(card["org_id"], empty)
    cards.sort(key=lambda m: (m["region_code"], m["rank"] is None, m["rank"] or 0, m["org_id"]))
    return cards


def scorecards(session: Session, actor: Actor, region_code: str | None = None, org_id: int | None = None,
               day: date | None = None) -> dict[str, Any]:
    """Scorecards of every assessed org in the scope (a steward: their own org's)."""
    scope = kpis.resolve_scope(session, actor, region_code, org_id)
    day = day or kpis.today()
    c = kpis.collect(session, scope, day)
    return {"today": day.isoformat(), "scope": scope.as_dict(), "weights": WEIGHTS, "labels": LABELS,
            "todo_kinds": TODO_KINDS, "orgs": build(session, c)}


# --- drill-down: one org's resources -----------------------------------------------------------------------------

RESOURCE_LIMIT = 200  # rows of an org's resource list on the dashboard


def org_resources(session: Session, actor: Actor, org_id: int, day: date | None = None,
                  limit: int = RESOURCE_LIMIT) -> dict[str, Any]:
    """An org's resources with status, record count, newest batch, freshness and latest quality
    score — the last level of the drill-down (region → org → resource)."""

    scope = kpis.resolve_scope(session, actor, None, org_id)
    day = day or kpis.today()
    total = session.execute(select(func.count()).select_from(Resource).where(Resource.org_id == org_id)).scalar_one()
    rows = session.execute(select(Resource.id, Resource.code, Resource.name, Resource.status, Resource.update_cycle,
                                  Resource.record_count, Resource.open_type)
                           .where(Resource.org_id == org_id).order_by(Resource.code).limit(limit)).all()
    newest = {rid: n for rid, _o, _c, n in kpis.newest_batches(session, scope, Resource.id.in_([r.id for r in rows]))}
    # deferred: keeps httpx out of this module's import
    from ..quality.service import score_run_ids

    latest = score_run_ids(QualityRun.org_id == org_id)  # current-state runs, not the last batch's
    quality = dict(session.execute(select(QualityRun.resource_id, QualityRun.overall)
                                   .where(QualityRun.id.in_(latest))).all())
    fresh = Freshness(day)
    items = []
    for r in rows:
        value = fresh.is_fresh(r.update_cycle, newest.get(r.id)) if r.id in newest else None
        items.append({"id": r.id, "code": r.code, "name": r.name, "status": r.status, "update_cycle": r.update_cycle,
                      "records": r.record_count, "open_type": r.open_type,
                      "newest": newest[r.id].isoformat() if newest.get(r.id) else None,
                      "fresh": value, "quality": quality.get(r.id)})
    return {"org_id": org_id, "total": int(total), "items": items}
