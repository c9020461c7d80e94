"""Annual open plans and open catalogues (001:1187 Art. 17): per org per year, the org's 数据专员
lists the resources it plans to open with the planned quarter or date; the public reads the plan
per year and org, and exports it (and the org's open catalogue: its published open resources) as
XLSX or CSV."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..access import Actor, can_edit_catalogue, require
from ..catalog.model import Resource
from ..errors import Conflict, ErrorBag, NotFound
from ..i18n import N_
from ..ledger import service as ledger
from ..orgs.model import Org
from .datasets import OPEN_TYPES, open_condition
from .model import OpenPlanEntry

EXPORT_FORMATS = ("xlsx", "csv")
PLAN_COLUMNS = (("year", "年度"), ("org_name", "机构"), ("title", "数据集"), ("resource_code", "信息资源代码"),
                ("open_type", "开放类型"), ("planned_quarter", "计划季度"), ("planned_date", "计划日期"),
                ("status", "进展"), ("note", "备注"))
CATALOGUE_COLUMNS = (("code", "信息资源代码"), ("name", "数据集"), ("org_name", "机构"), ("open_type", "开放类型"),
                     ("open_condition", "开放条件"), ("update_cycle", "更新周期"), ("format_kind", "格式"),
                     ("published_at", "发布日期"))
DONE, PLANNED = N_("已开放"), N_("计划中")


def _org(session: Session, org_id: int) -> Org:
    org = session.get(Org, int(org_id))
    if org is None:
        raise NotFound(f"机构 {org_id}", "org_not_found")
    return org


def add_entry(session: Session, actor: Actor, *, org_id: int, year: int, planned_quarter: int,
              resource_id: int | None = None, title: str | None = None, open_type: str | None = None,
              planned_date: date | None = None, note: str | None = None) -> OpenPlanEntry:
    org = _org(session, org_id)
    require(can_edit_catalogue(actor, org.id), "编制开放计划", "open_plan_denied")
    bag = ErrorBag()
    res = None
    if resource_id is not None:
        res = session.get(Resource, int(resource_id))
        if res is None or res.org_id != org.id:
            bag.add("resource_id", "open_plan_resource", "信息资源不属于该机构")
    name = (title or "").strip() or (res.name if res else "")
    if not name:
        bag.add("title", "required", "必填项不能为空")
    elif len(name) > 200:
        bag.add("title", "too_long", "不能超过{n}个字符", n=200)
    kind = (open_type or "").strip() or (res.open_type if res is not None and res.open_type in OPEN_TYPES
                                         else OPEN_TYPES[0])
    if kind not in OPEN_TYPES:
        bag.add("open_type", "unknown_value", "未知的取值“{value}”，可选：{allowed}", value=kind,
                allowed="、".join(OPEN_TYPES))
    if not 2000 <= int(year) <= 2100:
        bag.add("year", "year_invalid", "年度应在2000至2100之间")
    if int(planned_quarter) not in (1, 2, 3, 4):
        bag.add("planned_quarter", "quarter_invalid", "季度应为1至4")
    if planned_date is not None and (planned_date.year != int(year)
                                     or (planned_date.month - 1) // 3 + 1 != int(planned_quarter)):
        bag.add("planned_date", "plan_date_quarter", "计划日期应在所选年度和季度内")
    bag.raise_if_any()
    entry = OpenPlanEntry(org_id=org.id, year=int(year), resource_id=res.id if res else None, title=name,
                          open_type=kind, planned_quarter=int(planned_quarter), planned_date=planned_date,
                          note=(note or "").strip() or None, created_by_id=actor.user_id)
    duplicate = session.execute(select(OpenPlanEntry.id).where(
        OpenPlanEntry.org_id == org.id, OpenPlanEntry.year == int(year), OpenPlanEntry.title == name)).first()
    if duplicate is not None:
        raise Conflict("open_plan_duplicate", "该机构本年度开放计划中已有“{title}”", title=name)
    session.add(entry)
    session.flush()
    ledger.append(session, actor, "open.plan.add", "open_plan_entry", entry.id, {
        "org_id": org.id, "year": entry.year, "resource_id": entry.resource_id,
        "planned_quarter": entry.planned_quarter})
    return entry


def remove_entry(session: Session, actor: Actor, entry_id: int) -> None:
    entry = session.get(OpenPlanEntry, int(entry_id))
    if entry is None:
        raise NotFound(f"开放计划条目 {entry_id}", "open_plan_entry_not_found")
    require(can_edit_catalogue(actor, entry.org_id), "编制开放计划", "open_plan_denied")
    ledger.append(session, actor, "open.plan.remove", "open_plan_entry", entry.id,
                  {"org_id": entry.org_id, "year": entry.year})
    session.delete(entry)


def plan_rows(session: Session, *, year: int, org_id: int | None = None) -> list[dict[str, Any]]:
    """The plan lines of a year (one org or all), with whether each resource is open by now."""
    stmt = select(OpenPlanEntry, Org.name).join(Org, Org.id == OpenPlanEntry.org_id).where(
        OpenPlanEntry.year == int(year))
    if org_id is not None:
        stmt = stmt.where(OpenPlanEntry.org_id == int(org_id))
    out = []
    for e, org_name in session.execute(stmt.order_by(Org.name, OpenPlanEntry.planned_quarter, OpenPlanEntry.id)):
        res = session.get(Resource, e.resource_id) if e.resource_id else None
        opened = res is not None and session.execute(
            select(Resource.id).where(Resource.id == res.id, open_condition())).first() is not None
        out.append({"id": e.id, "year": e.year, "org_id": e.org_id, "org_name": org_name, "title": e.title,
                    "resource_id": e.resource_id, "resource_code": res.code if res else None,
                    "open_type": e.open_type, "planned_quarter": e.planned_quarter,
                    "planned_date": e.planned_date.isoformat() if e.planned_date else None,
                    "status": DONE if opened else PLANNED, "note": e.note})
    return out


def plan_orgs(session: Session, year: int) -> list[dict[str, Any]]:
    """Orgs with a plan that year (for the page's chooser)."""
    rows = session.execute(select(Org.id, Org.name).join(OpenPlanEntry, OpenPlanEntry.org_id == Org.id)
                           .where(OpenPlanEntry.year == int(year)).distinct().order_by(Org.name)).all()
    return [{"id": i, "name": n} for i, n in rows]


def plan_years(session: Session) -> list[int]:
    return [int(y) for y in session.execute(select(OpenPlanEntry.year).distinct()
                                            .order_by(OpenPlanEntry.year.desc())).scalars()]


def org_resources(session: Session, org_ids: list[int], limit: int = 500) -> list[Resource]:
    """The resources a steward may put in the plan (the org's own catalogue)."""
    if not org_ids:
        return []
    return list(session.execute(select(Resource).where(Resource.org_id.in_(org_ids))
                                .order_by(Resource.name).limit(limit)).scalars())


def catalogue_rows(session: Session, org_id: int) -> list[dict[str, Any]]:
    """The org's open catalogue: its published open resources."""
    org = _org(session, org_id)
    rows = session.execute(select(Resource).where(Resource.org_id == org.id, open_condition())
                           .order_by(Resource.code)).scalars()
    return [{"id": r.id, "code": r.code, "name": r.name, "org_name": org.name, "open_type": r.open_type,
             "open_condition": r.open_condition, "update_cycle": r.update_cycle, "format_kind": r.format_kind,
             "published_at": r.published_at.date().isoformat() if r.published_at else None} for r in rows]


def export(rows: list[dict[str, Any]], columns: tuple[tuple[str, str], ...], fmt: str) -> bytes:
    """XLSX, or CSV in UTF-8 with a BOM (Excel opens it with the Chinese intact). Headers in Chinese."""
    if fmt not in EXPORT_FORMATS:
        bag = ErrorBag()
        bag.add("format", "unknown_value", "未知的取值“{value}”，可选：{allowed}", value=fmt,
                allowed="、".join(EXPORT_FORMATS))
        bag.raise_if_any()
    header = [label for _, label in columns]
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(header)
        for r in rows:
            writer.writerow(["" if r.get(k) is None else r.get(k) for k, _ in columns])
        return "\ufeff".encode() + buf.getvalue().encode("utf-8")
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("data")
    ws.append(header)
    for r in rows:
        ws.append([r.get(k) for k, _ in columns])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
