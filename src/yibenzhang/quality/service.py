"""Quality services: steward rules (CRUD with permission and ledger events), assessment of a
batch or of a resource's current state (one statement per assessment, results stored, ledger
event with counts and scores only), and reading scores per resource, org and region.

Assessments read rows through the zone's contract (`zone.service.batch_state`, `live_state`,
`zone.engine`), so nothing here assumes where Parquet lives.
"""

from __future__ import annotations

import re
import time
from dataclasses import replace
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from .. import workdays
from ..access import Actor, can_edit_catalogue, can_read_all, can_review, require
from ..catalog import service as catalog
from ..catalog.model import Resource
from ..db import Database
from ..errors import DomainError, ErrorBag, NotFound, ValidationFailed
from ..i18n import Data
from ..ledger import service as ledger
from ..lineage import quality as lineage
from ..orgs.model import Org, Region
from ..orgs.service import configured_province_prefixes
from ..params import parse_id
from ..plugins import rule_kinds
from ..zone import duck, native
from ..zone.engine import Connection, EngineError, Work, engine_for, get_engine, literal_rows
from ..zone.model import Batch, BatchStatus
from ..zone.port import Column, LiveState
from ..zone.storage import crash_point
from . import scores as S
from .evaluate import Evaluation, RuleResult, build_sql, evaluate, from_row, quote
from .model import QualityResult, QualityRule, QualityRun
from .rules import Dimension, Rule, catalogue_rules, item_letter
from .validators import FORMATS, PROVINCE_PREFIXES

LOCAL_TZ = ZoneInfo("Asia/Shanghai")  # dates of data and deadlines are China dates
HISTORY_POINTS = 200  # runs shown in a resource's history series


today = workdays.today  # the one clock (workdays.today): China's date, patchable in tests


def _local_date(at: datetime | None) -> date | None:
    return at.astimezone(LOCAL_TZ).date() if at else None


def _region_path(session: Session, resource: Resource) -> str:
    region = session.get(Region, resource.region_id)
    return region.path if region else "/"


def _may_assess(session: Session, actor: Actor, resource: Resource) -> bool:
    """The provider's steward, the region's authority (it assesses quality, DOMAIN §3), admin."""
    return can_edit_catalogue(actor, resource.org_id) or can_review(actor, _region_path(session, resource))


def _insider(session: Session, actor: Actor, resource: Resource) -> bool:
    return _may_assess(session, actor, resource) or can_read_all(actor)


# --- steward rules -----------------------------------------------------------------------------


def _validate_rule(session: Session, resource: Resource, kind: str, items: list[str],
                   params: dict[str, Any]) -> dict[str, Any]:
    bag = ErrorBag()
    names = {it.name for it in resource.items}
    kinds = rule_kinds()
    if kind not in kinds:
        bag.add("kind", "quality_rule_kind", "未知的取值“{value}”，可选：{allowed}", value=Data(kind),
                allowed="、".join(kinds))
        bag.raise_if_any()
    if not items:
        bag.add("items", "quality_rule_items", "规则至少要指定一个信息项")
    for i, name in enumerate(items):
        if name not in names:
            bag.add(f"items.{i}", "quality_rule_item_unknown", "信息资源没有信息项“{name}”", name=Data(name))
    if not kinds[kind].many_items and len(items) > 1:
        bag.add("items", "quality_rule_items_one", "此类规则只能指定一个信息项")
    out = kinds[kind].check(session, resource, params, bag)
    bag.raise_if_any()
    return out


# --- the built-in kinds' parameter checks (quality/plugin.py declares them) ----------------------


def check_range(session: Session, resource: Resource, params: dict[str, Any], bag: ErrorBag) -> dict[str, Any]:
    if params.get("min") in (None, "") and params.get("max") in (None, ""):
        bag.add("params", "quality_rule_range", "取值范围至少要有下限或上限")
    return dict(params)


def check_regex(session: Session, resource: Resource, params: dict[str, Any], bag: ErrorBag) -> dict[str, Any]:
    pattern = str(params.get("pattern") or "")
    try:
        re.compile(pattern)
        # A connection of its own: the process-wide default one is shared by every thread
        # and by any code that closes it, which made this check fail depending on test order.
        literal_rows("SELECT regexp_full_match('', $p)", {"p": pattern})
    except (re.error, EngineError):
        bag.add("params.pattern", "quality_rule_regex", "正则表达式“{pattern}”无效", pattern=Data(pattern))
    if not pattern:
        bag.add("params.pattern", "quality_rule_regex", "正则表达式“{pattern}”无效", pattern=Data(pattern))
    return dict(params)


def check_enum(session: Session, resource: Resource, params: dict[str, Any], bag: ErrorBag) -> dict[str, Any]:
    values = params.get("values")
    if not isinstance(values, list) or not values:
        bag.add("params.values", "quality_rule_enum", "枚举规则要列出允许的取值")
    return dict(params)


def check_length(session: Session, resource: Resource, params: dict[str, Any], bag: ErrorBag) -> dict[str, Any]:
    if not isinstance(params.get("max"), int) or params["max"] <= 0:
        bag.add("params.max", "quality_rule_length", "长度规则要给出正整数的最大长度")
    return dict(params)


def check_format(session: Session, resource: Resource, params: dict[str, Any], bag: ErrorBag) -> dict[str, Any]:
    if params.get("format") not in FORMATS:
        bag.add("params.format", "quality_rule_format", "未知的取值“{value}”，可选：{allowed}",
                value=Data(str(params.get("format"))), allowed="、".join(FORMATS))
    return dict(params)


def check_reference(session: Session, resource: Resource, params: dict[str, Any], bag: ErrorBag) -> dict[str, Any]:
    target = params.get("resource")
    ref = None
    if target is not None:
        ref = (session.execute(select(Resource).where(Resource.code == str(target))).scalar_one_or_none()
               if not str(target).isdigit()
               else session.get(Resource, parse_id(str(target))) if parse_id(str(target)) else None)
    if ref is None:
        bag.add("params.resource", "quality_rule_reference", "引用的信息资源“{value}”不存在",
                value=Data(str(target)))
    elif params.get("item") not in {it.name for it in ref.items}:
        bag.add("params.item", "quality_rule_item_unknown", "信息资源没有信息项“{name}”",
                name=Data(str(params.get("item"))))
    else:
        return {"resource_id": ref.id, "resource_code": ref.code, "item": params["item"]}
    return dict(params)


def add_rule(session: Session, actor: Actor, resource_id: int | str, *, kind: str, items: list[str],
             params: dict[str, Any] | None = None, title: str | None = None) -> QualityRule:
    resource = catalog.get_resource(session, actor, resource_id)
    require(can_edit_catalogue(actor, resource.org_id), "维护质量规则")
    clean = _validate_rule(session, resource, kind, list(items), dict(params or {}))
    rule = QualityRule(resource_id=resource.id, kind=kind, items=list(items), params=clean, title=title,
                       created_by=actor.username)
    session.add(rule)
    session.flush()
    ledger.append(session, actor, "quality.rule.add", "resource", resource.id,
                  {"rule_id": rule.id, "kind": kind, "items": list(items), "params": clean})
    return rule


def list_rules(session: Session, actor: Actor, resource_id: int | str) -> list[dict[str, Any]]:
    """Every rule of a resource: the catalogue's derived ones and the stewards'. A steward's rule of a
    kind no installed plugin declares is listed as waiting (kept, not evaluated)."""
    resource = catalog.get_resource(session, actor, resource_id)
    waiting = session.execute(select(QualityRule).where(
        QualityRule.resource_id == resource.id, QualityRule.kind.not_in(list(rule_kinds())))
        .order_by(QualityRule.id)).scalars()
    return [r.as_dict() for r in rules_for(session, resource)] + [
        {"key": f"steward:{r.id}", "kind": r.kind, "items": list(r.items), "params": dict(r.params),
         "dimension": None, "source": "steward", "rule_id": r.id, "waiting": True} for r in waiting]


def remove_rule(session: Session, actor: Actor, rule_id: int) -> None:
    rule = session.get(QualityRule, rule_id)
    if rule is None:
        raise NotFound(f"质量规则 {rule_id}", "quality_rule_not_found")
    resource = catalog.get_resource(session, actor, rule.resource_id)
    require(can_edit_catalogue(actor, resource.org_id), "维护质量规则")
    ledger.append(session, actor, "quality.rule.remove", "resource", resource.id,
                  {"rule_id": rule.id, "kind": rule.kind, "items": rule.items})
    session.delete(rule)


def _steward_rule(row: QualityRule, resource: Resource, kinds: dict[str, Any]) -> Rule:
    letters = {it.name: item_letter(it.data_type) for it in resource.items}
    return Rule(f"steward:{row.id}", row.kind, tuple(row.items), dict(row.params),
                kinds[row.kind].dimension.value, "steward", row.id, tuple(letters.get(n, "C") for n in row.items))


def rules_for(session: Session, resource: Resource) -> list[Rule]:
    """The catalogue's rules and the stewards'; a rule of a kind whose plugin is no longer installed
    waits, kept, until it is again (it is listed, not evaluated)."""
    stored = session.execute(
        select(QualityRule).where(QualityRule.resource_id == resource.id).order_by(QualityRule.id)
    ).scalars().all()
    kinds = rule_kinds()
    return catalogue_rules(list(resource.items)) + [_steward_rule(r, resource, kinds) for r in stored
                                                    if r.kind in kinds]


# --- assessment ---------------------------------------------------------------------------------


def _zone() -> Any:
    from ..zone import service as zone  # the zone package (engineer Z) is a dependency of quality

    return zone


def _connect() -> Connection:
    # Unsigned extensions on this connection only, and only when a verified build exists.
    return get_engine().connect(allow_extensions=native.locate() is not None)


def _empty_relation(item: str) -> str:
    return f"(SELECT CAST(NULL AS VARCHAR) AS {quote(item)} WHERE FALSE)"


def _references(session: Session, rules: list[Rule]) -> dict[str, str]:
    out = {}
    for rule in rules:
        if rule.kind == "reference":
            try:
                out[rule.key] = f"({_zone().current_relation(session, int(rule.params['resource_id']))})"
            except DomainError:
                # Nothing collected yet for the referenced resource: every value fails the rule.
                out[rule.key] = _empty_relation(rule.params["item"])
    return out


def _reference_states(session: Session, rules: list[Rule]) -> tuple[dict[str, str], dict[str, Any]]:
    """Each reference rule's relation as a view name of its own (rule key → name) and the live
    state an engine binds to that name: a resource with nothing collected has no parts (no
    values); one that is gone fails every value, as on DuckDB (`_references`)."""
    views, states = {}, {}
    for i, rule in enumerate(rules):
        if rule.kind == "reference":
            rid, name = int(rule.params["resource_id"]), f"ref_{i}"
            try:
                states[name] = _zone().live_state(session, rid)
            except DomainError:
                states[name] = LiveState(rid, (Column(rule.params["item"], "VARCHAR"),))
            views[rule.key] = name
    return views, states


def _newest_batch_date(session: Session, resource_id: int) -> date | None:
    at = session.execute(
        select(func.max(func.coalesce(Batch.published_at, Batch.created_at))).where(
            Batch.resource_id == resource_id, Batch.status == BatchStatus.PUBLISHED.value)
    ).scalar()
    if isinstance(at, str):  # SQLite aggregates lose the column type
        at = datetime.fromisoformat(at)
    if at is not None and at.tzinfo is None:
        at = at.replace(tzinfo=ZoneInfo("UTC"))
    return _local_date(at)


def current_rows(state: Any) -> str:
    """The resource's current rows as a DuckDB table expression, for the assessment: the zone's
    current relation (per key, the latest batch's latest row; without a window since issue 15)."""
    return f"({duck.relation(state)})"


def _run(db: Database, actor: Actor, resource_ref: int | str, batch_id: int | None) -> dict[str, Any]:
    with db.read() as s:
        resource = catalog.get_resource(s, actor, resource_ref)
        require(_may_assess(s, actor, resource), "评估数据质量")
        rules = rules_for(s, resource)
        zone = _zone()
        # A whole resource's current state, or a large batch, is heavy work: the engine rule may
        # send it to Spark (portable SQL, transpiled), a reference rule's other resource bound
        # there by name. A batch's statement names only the items its files hold, as on DuckDB.
        if batch_id is not None:
            state = zone.batch_state(s, batch_id)
            files = [f for p in state.parts for f in p.files]
            relation = (f"read_parquet([{', '.join(repr(f) for f in files)}], union_by_name = true)"
                        if files else "(SELECT 1 AS _none WHERE FALSE)")
            names = {n for p in state.parts for n in p.columns if n in state.names} | {"_row"}
            newest = today()  # the batch being assessed is the newest
        else:
            state = zone.live_state(s, resource.id)
            try:
                relation = current_rows(state)
            except DomainError:
                relation = "(SELECT 1 AS _none WHERE FALSE)"
            names = {*state.names, "_batch", "_row"}
            newest = _newest_batch_date(s, resource.id)
        references = _references(s, rules)
        provinces = set(PROVINCE_PREFIXES) | configured_province_prefixes(s)
        divisions = list(s.execute(select(Region.code)).scalars())
        ids = (resource.id, resource.org_id, resource.region_id, resource.update_cycle)
        views, others = _reference_states(s, rules)
    if state.parts:
        engine = engine_for(Work.QUALITY, input_bytes=state.bytes + sum(o.bytes for o in others.values()))
        if engine.name != "duckdb":
            started = time.perf_counter()
            sql = build_sql("r", names, rules, today=today(), provinces=provinces,
                            divisions=divisions, references=views)
            row = list(engine.run_platform_sql(state, sql, others).to_pylist()[0].values())
            ev = from_row(row, rules, time.perf_counter() - started, sql)
            return _store(db, actor, ids, batch_id, ev, S.timeliness(ids[3], newest, today()))
    con = _connect()
    try:
        ev = evaluate(con, relation, rules, references=references, today=today(), provinces=provinces,
                      divisions=divisions)
    finally:
        con.close()
    return _store(db, actor, ids, batch_id, ev, S.timeliness(ids[3], newest, today()))


def _library_agreement(db: Database, resource_id: int) -> list[RuleResult]:
    """The resource's agreement with the base libraries it feeds (issue 21 item 3): one 一致性
    result per library and item, checked = the values compared in the library's latest full
    fusion, failed = those that differ from the authoritative value."""
    from ..library.conflicts import source_consistency  # the library stage reads quality, not the reverse

    with db.read() as s:
        rows = source_consistency(s, resource_id)
    return [RuleResult(Rule(key=f"library:{r['library_code']}:{r['item']}"[:200], kind="library_conflict",
                            items=(r["source_item"],), params={"library": r["library_code"], "item": r["item"]},
                            dimension=Dimension.CONSISTENCY.value, source="library"),
                       checked=r["compared"], failed=r["conflicts"]) for r in rows]


def _store(db: Database, actor: Actor, ids: tuple[int, int, int, str], batch_id: int | None, ev: Evaluation,
           timely: float | None) -> dict[str, Any]:
    resource_id, org_id, region_id, _cycle = ids
    if batch_id is None:  # the resource's current state: also how it agrees with the base libraries
        ev = replace(ev, results=[*ev.results, *_library_agreement(db, resource_id)])
    dims = S.dimension_scores(ev.results, timely)
    total = S.overall(dims)
    with db.write() as s:
        run = QualityRun(resource_id=resource_id, batch_id=batch_id, scope="batch" if batch_id else "current",
                         org_id=org_id, region_id=region_id, row_count=ev.rows, rule_count=len(ev.results),
                         scores=dims, overall=total, seconds=round(ev.seconds, 4), created_by=actor.username)
        s.add(run)
        s.flush()
        s.add_all([
            QualityResult(run_id=run.id, rule_key=r.rule.key[:200], kind=r.rule.kind, dimension=r.rule.dimension,
                          source=r.rule.source, rule_id=r.rule.rule_id, items=list(r.rule.items),
                          params=r.rule.params, checked=r.checked, failed=r.failed, rate=r.rate,
                          samples=r.samples)
            for r in ev.results
        ])
        failed_rules = sum(1 for r in ev.results if r.failed)
        # issue 18: the run's OpenLineage event, in the same transaction
        lineage.complete(s, s.get(Resource, resource_id).code, rows=ev.rows, results=ev.results)
        # Counts and scores only: never values, never row numbers (DESIGN rule 7, DOMAIN §9).
        ledger.append(s, actor, "quality.assess", "resource", resource_id, {
            "run_id": run.id, "batch_id": batch_id, "rows": ev.rows, "rules": len(ev.results),
            "failed_rules": failed_rules, "failed_checks": sum(r.failed for r in ev.results),
            "scores": dims, "overall": total,
        })
        crash_point("quality_stored")  # chaos tests: killed before the commit, nothing is kept
        return {"run_id": run.id, "resource_id": resource_id, "batch_id": batch_id, "scope": run.scope,
                "rows": ev.rows, "rules": len(ev.results), "failed_rules": failed_rules, "scores": dims,
                "overall": total, "seconds": run.seconds}


def assess_batch(db: Database, actor: Actor, batch_id: int) -> dict[str, Any]:
    """All rules of the batch's resource over the batch, in one statement; stored and ledgered."""

    with db.read() as s:
        batch = s.get(Batch, batch_id)
        if batch is None:
            raise NotFound(f"批次 {batch_id}", "batch_not_found")
        resource_id = batch.resource_id
    return _run(db, actor, resource_id, batch_id)


def assess_current(db: Database, actor: Actor, resource: int | str) -> dict[str, Any]:
    """All rules over the resource's current state (every published batch, upserts applied)."""
    return _run(db, actor, resource, None)


# --- reading ------------------------------------------------------------------------------------


def _result_dict(r: QualityResult, insider: bool) -> dict[str, Any]:
    return {"key": r.rule_key, "kind": r.kind, "dimension": r.dimension, "source": r.source,
            "rule_id": r.rule_id, "items": r.items, "params": r.params, "checked": r.checked,
            "failed": r.failed, "rate": r.rate, "samples": r.samples if insider else None}


def run_dict(session: Session, run: QualityRun, insider: bool) -> dict[str, Any]:
    results = session.execute(
        select(QualityResult).where(QualityResult.run_id == run.id).order_by(QualityResult.id)
    ).scalars().all()
    return {"run_id": run.id, "resource_id": run.resource_id, "batch_id": run.batch_id, "scope": run.scope,
            "rows": run.row_count, "rules": run.rule_count, "scores": run.scores, "overall": run.overall,
            "seconds": run.seconds, "created_by": run.created_by, "created_at": run.created_at.isoformat(),
            "results": [_result_dict(r, insider) for r in results]}


def resource_quality(session: Session, actor: Actor, resource_id: int | str) -> dict[str, Any]:
    """The latest run with its rules and scores, and the history of scores for a chart.
    Failing row numbers are shown to the provider, the authority and auditors only."""
    resource = catalog.get_resource(session, actor, resource_id)
    insider = _insider(session, actor, resource)
    runs = session.execute(
        select(QualityRun).where(QualityRun.resource_id == resource.id)
        .order_by(QualityRun.id.desc()).limit(HISTORY_POINTS)
    ).scalars().all()
    history = [{"run_id": r.id, "at": r.created_at.isoformat(), "scope": r.scope, "batch_id": r.batch_id,
                "rows": r.row_count, "overall": r.overall, "scores": r.scores} for r in reversed(runs)]
    # the resource's score is its newest current-state run; a newer batch-only run does not replace it
    latest = next((r for r in runs if r.scope == "current"), runs[0] if runs else None)
    return {"resource_id": resource.id, "code": resource.code, "name": resource.name,
            "weights": S.DIMENSION_WEIGHTS, "latest": run_dict(session, latest, insider) if latest else None,
            "history": history}


def score_run_ids(*where: Any) -> Any:
    """The id of each resource's score run: its newest assessment of the current state (every live
    batch). A batch-scope run describes one batch only; were it the score, a 500-row batch after a
    120,000-row one would set the resource's (and its org's and region's) score."""
    return (select(func.max(QualityRun.id)).where(QualityRun.scope == "current", *where)
            .group_by(QualityRun.resource_id))


def _latest_runs(session: Session) -> list[QualityRun]:
    return list(session.execute(select(QualityRun).where(QualityRun.id.in_(score_run_ids()))).scalars())


def scores_by(session: Session, actor: Actor, level: str) -> list[dict[str, Any]]:
    """Record-count weighted scores of each org or region (a region includes the regions below
    it), from each resource's latest run. Government users only (the public sees resources)."""
    require(actor.is_government, "查看质量评分")
    if level not in ("org", "region"):
        raise ValidationFailed("quality_level", "未知的取值“{value}”，可选：{allowed}", value=level,
                               allowed="org、region")
    runs = _latest_runs(session)
    out = []
    if level == "org":
        by_org: dict[int, list[QualityRun]] = {}
        for run in runs:
            by_org.setdefault(run.org_id, []).append(run)
        names = {o.id: o.name for o in session.execute(select(Org).where(Org.id.in_(by_org))).scalars()}
        for org_id, rs in sorted(by_org.items()):
            agg = S.weighted_average((r.scores, r.overall, r.row_count) for r in rs)
            out.append({"org_id": org_id, "org_name": names.get(org_id), **agg})
        return out
    regions = list(session.execute(select(Region).order_by(Region.code)).scalars())
    path_of = {r.id: r.path for r in regions}
    for region in regions:
        rs = [r for r in runs if path_of.get(r.region_id, "").startswith(region.path)]
        if rs:
            agg = S.weighted_average((r.scores, r.overall, r.row_count) for r in rs)
            out.append({"region_id": region.id, "region_code": region.code, "region_name": region.name, **agg})
    return out
