"""Classification services: suggest categories and grades for a resource's items, let the
provider's steward confirm or override them, show the authority what waits and what was
changed, and keep the 重要数据目录 (important-data catalogue) from confirmed grades.

Suggestions come from the recognizers (classify.recognizers.classify_resource) over a sample of
the resource's current rows; grades from the rules file (classify.grading). The ledger gets
item names, categories, grades and counts, never values.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from ..access import Actor, can_edit_catalogue, can_read_all, can_review, require
from ..catalog import service as catalog
from ..catalog.model import Resource, ResourceItem
from ..db import Database, utcnow
from ..enums import ResourceStatus
from ..errors import Conflict, DomainError, ErrorBag, NotFound, PermissionDenied
from ..i18n import N_
from ..ledger import service as ledger
from ..orgs.model import Org, Region
from ..zone.storage import crash_point
from .grading import GRADE_LABELS, GradingRules, get_rules, highest, parse_grade
from .model import CONFIRMED, OVERRIDDEN, ClassificationDecision, ClassificationSuggestion

DEFAULT_SAMPLE = 1000  # rows sampled per resource for value-based recognition (issue 4)
IMPORTANT_LEVELS = (N_("核心"), N_("重要"))
REVIEW_LIMIT = 500

# Item states shown to stewards and the authority.
UNSUGGESTED, PENDING, STATE_CONFIRMED, STATE_OVERRIDDEN = N_("未建议"), N_("未确认"), N_("已确认"), N_("已调整")


def _region(session: Session, resource: Resource) -> Region | None:
    return session.get(Region, resource.region_id)


def _region_path(session: Session, resource: Resource) -> str:
    region = _region(session, resource)
    return region.path if region else "/"


def may_decide(actor: Actor, resource: Resource) -> bool:
    """Confirming a grade is the provider's call (its steward), or the platform admin's."""
    return can_edit_catalogue(actor, resource.org_id)


def may_suggest(session: Session, actor: Actor, resource: Resource) -> bool:
    """The provider's steward, the region's authority (it keeps the important-data catalogue), admin."""
    return may_decide(actor, resource) or can_review(actor, _region_path(session, resource))


def _may_read(session: Session, actor: Actor, resource: Resource) -> bool:
    """Grades are catalogue metadata (a consumer weighs them before asking to share): every government
    user who sees the resource; evidence holds rates and counts, never values."""
    return actor.is_government


def _jsonable(value: Any) -> Any:
    """Evidence as plain JSON (recognizers may hand numpy numbers)."""
    return json.loads(json.dumps(value, ensure_ascii=False, default=lambda v: v.item() if hasattr(v, "item")
                                 else str(v)))


def _category_name(rules: GradingRules, code: str) -> str:
    try:
        return rules.rule_for(code).name
    except DomainError:
        return code


# --- suggest ------------------------------------------------------------------------------------


def _recognize(db: Database, actor: Actor, resource_id: int, sample: int, full_scan: bool) -> dict[str, list[Any]]:
    from .recognizers import classify_resource  # engineer R's module: names, descriptions, sampled values

    return classify_resource(db, actor, resource_id, sample=sample, full_scan=full_scan)


def rows_available(db: Database, resource_id: int) -> int:
    """Rows of the resource's current data (0 when nothing was collected)."""
    # deferred: keeps duckdb, sqlglot out of this module's import
    from ..zone import service as zone

    with db.read() as s:
        try:
            return zone.count_current(s, resource_id)
        except DomainError:
            return 0


def suggest(db: Database, actor: Actor, resource_ref: int | str, *, sample: int = DEFAULT_SAMPLE,
            full_scan: bool = False) -> dict[str, Any]:
    """Recognise every item of the resource, grade it, store the suggestions (replacing the last)."""
    rules = get_rules()
    with db.read() as s:
        resource = catalog.get_resource(s, actor, resource_ref)
        require(may_suggest(s, actor, resource), "分类分级建议")
        resource_id = resource.id
    # Recognition reads the zone outside any write transaction (it may take a while).
    matches = _recognize(db, actor, resource_id, sample, full_scan)
    rows = rows_available(db, resource_id)
    sample_size = rows if full_scan else min(rows, sample)
    grades: Counter[str] = Counter()
    recognised = 0
    with db.write() as s:
        resource = s.get(Resource, resource_id)
        if resource is None:
            raise NotFound(f"信息资源 {resource_id}", "resource_not_found")
        existing = {x.item_id: x for x in s.execute(select(ClassificationSuggestion).where(
            ClassificationSuggestion.resource_id == resource_id)).scalars()}
        for item in resource.items:
            found = matches.get(item.name, [])
            cats = [{"category": m.category, "confidence": round(float(m.confidence), 4),
                     "evidence": _jsonable(m.evidence or {})} for m in found]
            grade = rules.grade_for([c["category"] for c in cats if c["confidence"] >= rules.min_confidence])
            recognised += bool(cats)
            grades[grade.label] += 1
            row = existing.get(item.id) or ClassificationSuggestion(item_id=item.id, resource_id=resource_id)
            row.categories, row.grade, row.sample_size, row.full_scan = cats, grade.label, sample_size, full_scan
            row.rules_version = f"{rules.version}:{rules.digest[:12]}"
            row.created_by, row.created_at = actor.username, utcnow()
            s.add(row)
        s.flush()
        ledger.append(s, actor, "classify.suggest", "resource", resource_id, {
            "items": len(resource.items), "recognised": recognised, "grades": dict(sorted(grades.items())),
            "sample_size": sample_size, "full_scan": full_scan, "rules_version": rules.version,
            "rules_digest": rules.digest,
        })
        crash_point("classify_stored")  # chaos tests: killed before the commit, nothing is kept
    with db.read() as s:
        return classification(s, actor, resource_id)


# --- decide -------------------------------------------------------------------------------------


def _item_and_resource(session: Session, actor: Actor, item_id: int) -> tuple[ResourceItem, Resource]:
    item = session.get(ResourceItem, item_id)
    if item is None:
        raise NotFound(f"信息项 {item_id}", "item_not_found")
    resource = catalog.get_resource(session, actor, item.resource_id)  # NotFound when invisible
    return item, resource


def _suggestion(session: Session, item_id: int) -> ClassificationSuggestion | None:
    return session.execute(select(ClassificationSuggestion).where(
        ClassificationSuggestion.item_id == item_id)).scalar_one_or_none()


def _decision(session: Session, item_id: int) -> ClassificationDecision | None:
    return session.execute(select(ClassificationDecision).where(
        ClassificationDecision.item_id == item_id)).scalar_one_or_none()


def _counted(rules: GradingRules, suggestion: ClassificationSuggestion) -> list[str]:
    return [c["category"] for c in suggestion.categories if c["confidence"] >= rules.min_confidence]


def _decide(session: Session, actor: Actor, item: ResourceItem, resource: Resource, kind: str, grade: str,
            categories: list[str], suggested: str | None, reason: str | None) -> ClassificationDecision:
    row = _decision(session, item.id) or ClassificationDecision(item_id=item.id, resource_id=resource.id)
    previous = item.grade
    row.kind, row.grade, row.categories, row.suggested_grade, row.reason = kind, grade, categories, suggested, reason
    row.decided_by, row.decided_at = actor.username, utcnow()
    session.add(row)
    item.grade = grade  # the catalogue's own field: shown wherever the item is
    session.flush()
    ledger.append(session, actor, "classify.confirm" if kind == CONFIRMED else "classify.override", "resource",
                  resource.id, {"item_id": item.id, "item": item.name, "grade": grade, "previous": previous,
                                "suggested": suggested, "categories": categories,
                                **({"reason": reason} if reason else {})})
    return row


def confirm(session: Session, actor: Actor, item_id: int) -> ClassificationDecision:
    """The steward accepts the platform's suggestion for the item as it is."""
    item, resource = _item_and_resource(session, actor, item_id)
    require(may_decide(actor, resource), "确认分级")
    suggestion = _suggestion(session, item.id)
    if suggestion is None:
        raise Conflict("classification_no_suggestion", "信息项“{name}”还没有分级建议，请先生成建议", name=item.name)
    return _decide(session, actor, item, resource, CONFIRMED, suggestion.grade, _counted(get_rules(), suggestion),
                   suggestion.grade, None)


def override(session: Session, actor: Actor, item_id: int, grade: str, categories: Iterable[str] | None,
             reason: str | None) -> ClassificationDecision:
    """The steward sets another grade (and categories), and must say why."""
    item, resource = _item_and_resource(session, actor, item_id)
    require(may_decide(actor, resource), "调整分级")
    rules = get_rules()
    bag = ErrorBag()
    parsed = parse_grade(grade)
    if parsed is None:
        bag.add("grade", "grade_unknown", "未知的级别“{value}”，可选：{allowed}", value=str(grade or ""),
                allowed="、".join(GRADE_LABELS))
    if not (reason or "").strip():
        bag.add("reason", "reason_required", "调整分级必须说明理由")
    suggestion = _suggestion(session, item.id)
    if categories is None:
        codes = _counted(rules, suggestion) if suggestion else []
    else:
        codes = list(dict.fromkeys(c.strip() for c in categories if c and c.strip()))
        for i, code in enumerate(codes):
            if not rules.valid_category(code):
                bag.add(f"categories.{i}", "category_unknown", "未知的数据类别“{value}”", value=code)
    bag.raise_if_any()
    assert parsed is not None
    return _decide(session, actor, item, resource, OVERRIDDEN, parsed.label, codes,
                   suggestion.grade if suggestion else None, (reason or "").strip())


# --- reading ------------------------------------------------------------------------------------


def _iso(at: datetime | None) -> str | None:
    return at.isoformat(timespec="seconds") if at else None


def _state(suggestion: ClassificationSuggestion | None, decision: ClassificationDecision | None) -> str:
    if decision is not None:
        return STATE_OVERRIDDEN if decision.kind == OVERRIDDEN else STATE_CONFIRMED
    return PENDING if suggestion is not None else UNSUGGESTED


def _suggestion_dict(rules: GradingRules, x: ClassificationSuggestion) -> dict[str, Any]:
    cats = []
    for c in x.categories:
        explain: dict[str, Any] = {}
        with contextlib.suppress(DomainError):  # a category the rules no longer know: shown, not graded
            explain = rules.explain(c["category"])
        cats.append({**c, "name": _category_name(rules, c["category"]),
                     "counted": c["confidence"] >= rules.min_confidence, "grade": explain.get("grade"),
                     "subject": explain.get("subject"), "sensitive": explain.get("sensitive")})
    return {"categories": cats, "grade": x.grade, "sample_size": x.sample_size, "full_scan": x.full_scan,
            "rules_version": x.rules_version, "created_by": x.created_by, "created_at": _iso(x.created_at)}


def _decision_dict(rules: GradingRules, d: ClassificationDecision) -> dict[str, Any]:
    return {"kind": d.kind, "grade": d.grade, "categories": d.categories,
            "category_names": [_category_name(rules, c) for c in d.categories], "suggested_grade": d.suggested_grade,
            "reason": d.reason, "decided_by": d.decided_by, "decided_at": _iso(d.decided_at)}


def resource_grade_of(session: Session, resource_id: int) -> str | None:
    """A resource's confirmed grade: the highest of its items' (就高从严); None while none is confirmed."""
    grades = session.execute(select(ResourceItem.grade).where(ResourceItem.resource_id == resource_id)).scalars()
    best = highest(grades)
    return best.label if best else None


def item_categories(session: Session, resource_id: int) -> dict[int, list[str]]:
    """Each classified item's categories (masking reads them): the steward's decision when there
    is one, else the suggestion's categories that reach the rules' confidence threshold."""
    rules = get_rules()
    out = {x.item_id: _counted(rules, x) for x in session.execute(select(ClassificationSuggestion).where(
        ClassificationSuggestion.resource_id == resource_id)).scalars()}
    for d in session.execute(select(ClassificationDecision).where(
            ClassificationDecision.resource_id == resource_id)).scalars():
        out[d.item_id] = list(d.categories)
    return out


def classification(session: Session, actor: Actor, resource_ref: int | str) -> dict[str, Any]:
    """Every item with its suggestion, decision and grade; the resource's grade (confirmed and suggested)."""
    resource = catalog.get_resource(session, actor, resource_ref)
    require(_may_read(session, actor, resource), "查看分类分级")
    rules = get_rules()
    suggestions = {x.item_id: x for x in session.execute(select(ClassificationSuggestion).where(
        ClassificationSuggestion.resource_id == resource.id)).scalars()}
    decisions = {d.item_id: d for d in session.execute(select(ClassificationDecision).where(
        ClassificationDecision.resource_id == resource.id)).scalars()}
    items = []
    for item in resource.items:
        x, d = suggestions.get(item.id), decisions.get(item.id)
        items.append({
            "id": item.id, "name": item.name, "data_type": item.data_type, "description": item.description,
            "grade": item.grade, "state": _state(x, d),
            # a newer suggestion that disagrees with the decision asks the steward to look again
            "stale": bool(x and d and x.grade != d.suggested_grade and x.created_at > d.decided_at),
            "suggestion": _suggestion_dict(rules, x) if x else None,
            "decision": _decision_dict(rules, d) if d else None,
        })
    org = session.get(Org, resource.org_id)
    confirmed = highest(it["grade"] for it in items)
    suggested = highest(it["suggestion"]["grade"] for it in items if it["suggestion"])
    states = Counter(it["state"] for it in items)
    return {
        "resource_id": resource.id, "code": resource.code, "name": resource.name, "status": resource.status,
        "org_name": org.name if org else None,
        "resource_grade": confirmed.label if confirmed else None,
        "suggested_resource_grade": suggested.label if suggested else None,
        "counts": {s: states.get(s, 0) for s in (UNSUGGESTED, PENDING, STATE_CONFIRMED, STATE_OVERRIDDEN)},
        "rules": {"name": rules.name, "version": rules.version, "min_confidence": rules.min_confidence},
        "may_decide": may_decide(actor, resource), "may_suggest": may_suggest(session, actor, resource),
        "items": items,
    }


def _scope(session: Session, actor: Actor, region_code: str | None, action: str) -> list[str] | None:
    """Region paths an authority view covers (None: everything, for admins and auditors)."""
    if region_code:
        region = session.execute(select(Region).where(Region.code == region_code)).scalar_one_or_none()
        if region is None:
            raise NotFound(f"地区 {region_code}", "region_not_found")
        require(can_read_all(actor) or can_review(actor, region.path), action)
        return [region.path]
    if can_read_all(actor):
        return None
    paths = actor.reviewer_paths()
    require(bool(paths), action)
    return paths


def review(session: Session, actor: Actor, region_code: str | None = None,
           limit: int = REVIEW_LIMIT) -> dict[str, Any]:
    """The authority's view: items suggested but not confirmed, and items whose steward overrode
    the suggestion, in the region and below (drafts are the provider's own business)."""
    paths = _scope(session, actor, region_code, "查看分级复核")
    S, D = ClassificationSuggestion, ClassificationDecision
    base = (select(ResourceItem, Resource, Org.name, S, D)
            .join(Resource, ResourceItem.resource_id == Resource.id)
            .join(Org, Resource.org_id == Org.id)
            .outerjoin(S, S.item_id == ResourceItem.id)
            .outerjoin(D, D.item_id == ResourceItem.id)
            .where(Resource.status != ResourceStatus.DRAFT.value))
    if paths is not None:
        base = base.join(Region, Resource.region_id == Region.id).where(
            or_(*[Region.path.startswith(p) for p in paths]))
    wanted = or_(and_(S.id.is_not(None), D.id.is_(None)), D.kind == OVERRIDDEN)
    rows = session.execute(base.where(wanted).order_by(Resource.code, ResourceItem.position).limit(limit)).all()
    counts = _review_counts(session, base)
    items = []
    rules = get_rules()
    for item, resource, org_name, x, d in rows:
        items.append({
            "item_id": item.id, "item": item.name, "resource_id": resource.id, "resource_code": resource.code,
            "resource_name": resource.name, "org_name": org_name, "state": _state(x, d),
            "suggested_grade": x.grade if x else None, "grade": d.grade if d else None,
            "suggestion": _suggestion_dict(rules, x) if x else None,
            "decision": _decision_dict(rules, d) if d else None,
        })
    return {"region_code": region_code, "items": items, "counts": counts, "truncated": len(rows) >= limit}


def _review_counts(session: Session, base: Any) -> dict[str, int]:
    """Items in scope by state, counted in the database (a region holds many thousands)."""
    S, D = ClassificationSuggestion, ClassificationDecision
    state = case((D.kind == OVERRIDDEN, STATE_OVERRIDDEN), (D.kind.is_not(None), STATE_CONFIRMED),
                 (S.id.is_not(None), PENDING), else_=UNSUGGESTED)
    found = dict(session.execute(base.with_only_columns(state, func.count()).group_by(state)).all())
    return {s: int(found.get(s, 0)) for s in (UNSUGGESTED, PENDING, STATE_CONFIRMED, STATE_OVERRIDDEN)}


# --- the important-data catalogue ---------------------------------------------------------------


IMPORTANT_COLUMNS = (
    ("resource_code", N_("信息资源代码")), ("resource_name", N_("信息资源名称")), ("item", N_("信息项")),
    ("grade", N_("级别")),
    ("category_names", N_("数据类别")), ("provider", N_("提供方")), ("provider_uscc", N_("提供方代码")),
    ("region", N_("行政区划")), ("basis", N_("定级依据")), ("decided_by", N_("确认人")), ("decided_at", N_("确认时间")),
)


def important_catalogue(session: Session, actor: Actor, region_code: str | None = None) -> list[dict[str, Any]]:
    """重要数据目录: every item whose CONFIRMED grade is 核心 or 重要, with provider and basis.
    The authority sees its region and below; a steward sees its own org's entries."""
    D = ClassificationDecision
    stmt = (select(D, ResourceItem, Resource, Org, Region)
            .join(ResourceItem, D.item_id == ResourceItem.id)
            .join(Resource, D.resource_id == Resource.id)
            .join(Org, Resource.org_id == Org.id)
            .join(Region, Resource.region_id == Region.id)
            .where(D.grade.in_(IMPORTANT_LEVELS)))
    own = actor.org_ids()
    try:
        paths = _scope(session, actor, region_code, "查看重要数据目录")
    except PermissionDenied:
        if region_code or not own:
            raise
        paths, stmt = None, stmt.where(Resource.org_id.in_(own))
    if paths is not None:
        stmt = stmt.where(or_(*[Region.path.startswith(p) for p in paths]))
    rules = get_rules()
    out = []
    for d, item, resource, org, region in session.execute(stmt.order_by(Resource.code, ResourceItem.position)):
        if d.kind == OVERRIDDEN:
            basis = d.reason or ""
        else:
            parts = []
            for code in d.categories:
                try:
                    parts.append(rules.explain(code)["basis"])
                except DomainError:
                    parts.append(code)
            basis = "；".join(p for p in dict.fromkeys(parts) if p) or rules.basis
        out.append({
            "resource_id": resource.id, "resource_code": resource.code, "resource_name": resource.name,
            "item_id": item.id, "item": item.name, "grade": d.grade, "categories": d.categories,
            "category_names": "、".join(_category_name(rules, c) for c in d.categories),
            "provider": org.name, "provider_uscc": org.uscc, "region": region.name, "region_code": region.code,
            "kind": d.kind, "basis": basis, "decided_by": d.decided_by, "decided_at": _iso(d.decided_at),
        })
    return out


def export_important_xlsx(db: Database, actor: Actor, region_code: str | None = None) -> tuple[bytes, int]:
    """The important-data catalogue as an XLSX workbook; the export itself is ledgered (who took
    the list of a region's most sensitive data, and how many entries)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    with db.write() as s:
        rows = important_catalogue(s, actor, region_code)
        ledger.append(s, actor, "classify.important.export", "region", region_code or "*",
                      {"rows": len(rows), "format": "xlsx"})
    book = Workbook()
    sheet = book.active
    sheet.title = "重要数据目录"
    sheet.append([label for _key, label in IMPORTANT_COLUMNS])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([row[key] for key, _label in IMPORTANT_COLUMNS])
    for col, width in zip("ABCDEFGHIJK", (22, 24, 16, 10, 24, 28, 20, 10, 40, 14, 22), strict=True):
        sheet.column_dimensions[col].width = width
    sheet.freeze_panes = "A2"
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue(), len(rows)
