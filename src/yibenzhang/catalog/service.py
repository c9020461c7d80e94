"""Catalogue services: resources and their review workflow, systems, the three lists, duty
changes and 一数一源. Each state change checks permission, does the work and appends its
ledger event in the caller's transaction (DESIGN rule 1)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session

from .. import workdays
from ..access import Actor, can_edit_catalogue, can_read_all, can_review, require
from ..config import get_settings
from ..crypto import canonical_json, sm3_hex
from ..db import utcnow
from ..enums import (
    DataType,
    FormatKind,
    Library,
    ListKind,
    OpenType,
    ResourceStatus,
    Role,
    ShareMethod,
    ShareType,
    UpdateCycle,
)
from ..errors import DomainError, ErrorBag, FieldError, NotFound, PermissionDenied, ValidationFailed
from ..i18n import N_
from ..ledger import service as ledger
from ..orgs.model import Org, Region
from ..orgs.service import get_region_by_code
from ..params import parse_id
from ..workdays import add_workdays, deadline_provisional, workdays_between
from . import search
from .model import (
    Category,
    CodeSequence,
    DutyChange,
    ListEntry,
    Resource,
    ResourceItem,
    ResourceRelation,
    ResourceVersion,
    System,
)
from .schemas import DutyChangeIn, ItemIn, ListEntryIn, ResourceIn, SystemIn

S = ResourceStatus
EDITABLE = {S.DRAFT.value, S.RETURNED.value, S.PUBLISHED.value}

# 一数一源: names under which the same data element appears in government systems.
ELEMENT_SYNONYMS: dict[str, str] = {
    "身份证号": "公民身份号码", "身份证号码": "公民身份号码", "公民身份号码": "公民身份号码",
    "sfzh": "公民身份号码", "zjhm": "公民身份号码", "证件号码": "公民身份号码",
    "统一社会信用代码": "统一社会信用代码", "社会信用代码": "统一社会信用代码", "tyshxydm": "统一社会信用代码",
    "姓名": "姓名", "xm": "姓名",
    "出生日期": "出生日期", "csrq": "出生日期",
    "企业名称": "法人名称", "单位名称": "法人名称", "法人名称": "法人名称",
    "不动产单元号": "不动产单元号",
}


def normalize_element(name: str) -> str:
    key = name.strip()
    return ELEMENT_SYNONYMS.get(key, ELEMENT_SYNONYMS.get(key.lower(), key))


# --- reading ---------------------------------------------------------------------------------


def can_see_resource(actor: Actor, resource: Resource, region_path: str) -> bool:
    """Published entries: every government user; the public only open ones. Unpublished work:
    the org's own people, the region's reviewers, admins and auditors."""
    if can_read_all(actor) or actor.acts_for_org(resource.org_id):
        return True
    if can_review(actor, region_path) and resource.status != S.DRAFT.value:
        return True
    if resource.published_version is None or resource.status == S.RETIRED.value:
        return False
    if actor.is_government:
        return True
    return _published_open_type(resource) != OpenType.NOT_OPEN.value


def _published_open_type(resource: Resource) -> str:
    return resource.open_type


def get_resource(session: Session, actor: Actor, resource_id: int | str) -> Resource:
    if isinstance(resource_id, str) and not resource_id.isdigit():
        resource = session.execute(select(Resource).where(Resource.code == resource_id)).scalar_one_or_none()
    else:  # a number beyond any id is simply not there (it would overflow the driver)
        key = parse_id(str(resource_id))
        resource = session.get(Resource, key) if key is not None else None
    if resource is None:
        raise NotFound(f"信息资源 {resource_id}", "resource_not_found")
    region = session.get(Region, resource.region_id)
    if not can_see_resource(actor, resource, region.path if region else "/"):
        # Do not reveal that an invisible resource exists.
        raise NotFound(f"信息资源 {resource_id}", "resource_not_found")
    return resource


def resource_dict(session: Session, resource: Resource) -> dict[str, Any]:
    """The complete, canonical description of a resource (also its version snapshot)."""
    org = session.get(Org, resource.org_id)
    region = session.get(Region, resource.region_id)
    system = session.get(System, resource.system_id) if resource.system_id else None
    related = session.execute(
        select(Resource.code)
        .join(ResourceRelation, ResourceRelation.related_id == Resource.id)
        .where(ResourceRelation.resource_id == resource.id)
        .order_by(Resource.code)
    ).scalars().all()
    cat = session.get(Category, resource.category_code)
    names: list[str] = []
    node = cat
    while node is not None:
        names.append(node.name)
        node = session.get(Category, node.parent_code) if node.parent_code else None
    return {
        "id": resource.id,
        "code": resource.code,
        "name": resource.name,
        "abstract": resource.abstract,
        "org_id": resource.org_id,
        "org_name": org.name if org else None,
        "org_uscc": org.uscc if org else None,
        "region_code": region.code if region else None,
        "region_name": region.name if region else None,
        "category_code": resource.category_code,
        "category_path": list(reversed(names)),
        "resource_class": names[-1] if names else None,
        "library": resource.library,
        "format_kind": resource.format_kind,
        "format_detail": resource.format_detail,
        "system_id": resource.system_id,
        "system_name": system.name if system else None,
        "share_type": resource.share_type,
        "share_condition": resource.share_condition,
        "share_basis": resource.share_basis,
        "share_method": resource.share_method,
        "open_type": resource.open_type,
        "open_condition": resource.open_condition,
        "returnable": resource.returnable,
        "update_cycle": resource.update_cycle,
        "publish_date": resource.publish_date.isoformat() if resource.publish_date else None,
        "record_count": resource.record_count,
        "keywords": list(resource.keywords or []),
        "related_codes": list(related),
        "status": resource.status,
        "version": resource.version,
        "published_version": resource.published_version,
        "return_reason": resource.return_reason,
        "items": [
            {
                "name": it.name,
                "data_type": it.data_type,
                "data_type_code": DataType(it.data_type).letter if it.data_type in DataType.values() else None,
                "length": it.length,
                "required": it.required,
                "enumeration": it.enumeration,
                "format": it.format,
                "description": it.description,
                "is_key": it.is_key,
                "authoritative": it.authoritative,
                "element": it.element,
                "grade": it.grade,
            }
            for it in resource.items
        ],
    }


def published_view(session: Session, resource: Resource) -> dict[str, Any] | None:
    """What the public and other departments see: the last published snapshot."""
    if resource.published_version is None:
        return None
    ver = session.execute(
        select(ResourceVersion).where(
            ResourceVersion.resource_id == resource.id,
            ResourceVersion.version == resource.published_version,
        )
    ).scalar_one()
    view = dict(ver.snapshot)
    view["status"] = resource.status if resource.status == S.RETIRED.value else S.PUBLISHED.value
    return view


def view_for(session: Session, actor: Actor, resource: Resource) -> dict[str, Any]:
    """The working copy for those who may edit or review it, else the published snapshot."""
    region = session.get(Region, resource.region_id)
    insider = (
        can_read_all(actor)
        or actor.acts_for_org(resource.org_id)
        or can_review(actor, region.path if region else "/")
    )
    if insider or resource.published_version is None:
        return resource_dict(session, resource)
    view = published_view(session, resource)
    assert view is not None
    return view


def list_versions(session: Session, actor: Actor, resource_id: int) -> list[dict[str, Any]]:
    resource = get_resource(session, actor, resource_id)
    rows = session.execute(
        select(ResourceVersion).where(ResourceVersion.resource_id == resource.id).order_by(ResourceVersion.version)
    ).scalars()
    return [
        {"version": v.version, "published_at": v.published_at.isoformat(), "published_by": v.published_by}
        for v in rows
    ]


def get_version(session: Session, actor: Actor, resource_id: int, version: int) -> dict[str, Any]:
    resource = get_resource(session, actor, resource_id)
    ver = session.execute(
        select(ResourceVersion).where(ResourceVersion.resource_id == resource.id, ResourceVersion.version == version)
    ).scalar_one_or_none()
    if ver is None:
        raise NotFound(f"版本 {version}", "version_not_found")
    return dict(ver.snapshot)


_DIFF_SKIP = {"status", "version", "published_version", "return_reason", "items", "id"}


def diff_snapshots(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Field changes and item changes (added / removed / changed, by item name)."""
    fields = {
        k: {"old": old.get(k), "new": new.get(k)}
        for k in sorted(set(old) | set(new))
        if k not in _DIFF_SKIP and old.get(k) != new.get(k)
    }
    old_items = {it["name"]: it for it in old.get("items", [])}
    new_items = {it["name"]: it for it in new.get("items", [])}
    changed = {}
    for name in old_items.keys() & new_items.keys():
        a, b = old_items[name], new_items[name]
        delta = {k: {"old": a.get(k), "new": b.get(k)} for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)}
        if delta:
            changed[name] = delta
    return {
        "fields": fields,
        "items_added": sorted(new_items.keys() - old_items.keys()),
        "items_removed": sorted(old_items.keys() - new_items.keys()),
        "items_changed": changed,
    }


def diff_versions(session: Session, actor: Actor, resource_id: int, a: int, b: int | None) -> dict[str, Any]:
    """Compare published version `a` with version `b` (None: the current working copy)."""
    old = get_version(session, actor, resource_id, a)
    if b is None:
        resource = get_resource(session, actor, resource_id)
        new = view_for(session, actor, resource)
    else:
        new = get_version(session, actor, resource_id, b)
    return diff_snapshots(old, new)


# --- validation ------------------------------------------------------------------------------


def _enum(bag: ErrorBag, field: str, raw: str | None, enum: type, required: bool = True) -> str | None:
    if raw is None or str(raw).strip() == "":
        if required:
            bag.add(field, "required", "必填项不能为空")
        return None
    member = enum.parse(raw)
    if member is None:
        bag.add(field, "unknown_value", "未知的取值“{value}”，可选：{allowed}", value=raw,
                allowed="、".join(enum.values()))
        return None
    return member.value


@dataclass
class Checked:
    """A ResourceIn with every value resolved and normalized."""

    data: ResourceIn
    org: Org
    category: Category
    library: str
    format_kind: str
    share_type: str
    share_method: str | None
    open_type: str
    update_cycle: str
    publish_date: date | None
    system_id: int
    related_ids: list[int]
    items: list[dict[str, Any]]


def _blank(value: str | None) -> bool:
    return value is None or not str(value).strip()


def validate_resource(session: Session, data: ResourceIn, org: Org | None) -> Checked:
    """Every field-level rule of DOMAIN §1, all errors at once."""
    bag = ErrorBag()
    if not _blank(data.code):
        bag.add("code", "code_generated", "信息资源代码由平台生成，不能手工填写")
    if _blank(data.name):
        bag.add("name", "required", "必填项不能为空")
    if _blank(data.abstract):
        bag.add("abstract", "required", "必填项不能为空")
    if org is None:
        bag.add("org_id", "required", "必填项不能为空")

    category = None
    if _blank(data.category_code):
        bag.add("category_code", "required", "必填项不能为空")
    else:
        category = session.get(Category, data.category_code.strip())
        if category is None:
            bag.add("category_code", "category_unknown", "分类代码“{value}”不存在", value=data.category_code)
        elif category.level < 3:
            bag.add("category_code", "category_too_broad", "信息资源分类必须细化到“目”")

    library = _enum(bag, "library", data.library, Library)
    format_kind = _enum(bag, "format_kind", data.format_kind, FormatKind)
    share_type = _enum(bag, "share_type", data.share_type, ShareType)
    open_type = _enum(bag, "open_type", data.open_type, OpenType)
    update_cycle = _enum(bag, "update_cycle", data.update_cycle, UpdateCycle)
    share_method = None
    if share_type == ShareType.CONDITIONAL and _blank(data.share_condition):
        bag.add("share_condition", "share_condition_required", "有条件共享必须填写共享条件")
    if share_type == ShareType.NOT_SHAREABLE:
        if _blank(data.share_basis):
            bag.add("share_basis", "share_basis_required", "不予共享必须填写法律法规或政策依据")
    elif share_type is not None:
        share_method = _enum(bag, "share_method", data.share_method, ShareMethod)
    if open_type == OpenType.CONDITIONAL and _blank(data.open_condition):
        bag.add("open_condition", "open_condition_required", "有条件开放必须填写开放条件")

    publish_date = None
    if not _blank(data.publish_date):
        try:
            publish_date = date.fromisoformat(str(data.publish_date).strip())
        except ValueError:
            bag.add("publish_date", "date_format", "“{value}”不是有效日期（应为YYYY-MM-DD）", value=data.publish_date)

    system_id = None
    if org is not None:
        if data.system_id is not None:
            system = session.get(System, data.system_id)
            if system is None or system.org_id != org.id:
                bag.add("system_id", "system_not_of_org", "信息系统不属于提供方机构")
            else:
                system_id = system.id
        elif not _blank(data.system_name):
            system = session.execute(
                select(System).where(System.org_id == org.id, System.name == data.system_name.strip())
            ).scalar_one_or_none()
            if system is None:
                bag.add("system_name", "system_not_of_org", "信息系统不属于提供方机构")
            else:
                system_id = system.id
        else:
            bag.add("system_id", "required", "必填项不能为空")

    related_ids: list[int] = []
    for i, code in enumerate(data.related_codes):
        rid = session.execute(select(Resource.id).where(Resource.code == code.strip())).scalar_one_or_none()
        if rid is None:
            bag.add(f"related_codes.{i}", "related_unknown", "关联资源“{value}”不存在", value=code)
        else:
            related_ids.append(rid)

    items = _validate_items(bag, data.items)
    bag.raise_if_any()
    assert org is not None and category is not None and system_id is not None
    return Checked(
        data=data, org=org, category=category, library=library or "", format_kind=format_kind or "",
        share_type=share_type or "", share_method=share_method, open_type=open_type or "",
        update_cycle=update_cycle or "", publish_date=publish_date, system_id=system_id,
        related_ids=related_ids, items=items,
    )


def _validate_items(bag: ErrorBag, items: list[ItemIn]) -> list[dict[str, Any]]:
    if not items:
        bag.add("items", "items_empty", "信息项不能为空，至少需要一项")
        return []
    seen: set[str] = set()
    out: list[dict[str, Any]] = []
    for i, item in enumerate(items):
        name = (item.name or "").strip()
        if not name:
            bag.add(f"items.{i}.name", "required", "必填项不能为空")
        elif name in seen:
            bag.add(f"items.{i}.name", "item_duplicate", "信息项名称“{value}”重复", value=name)
        seen.add(name)
        dtype = _enum(bag, f"items.{i}.data_type", item.data_type, DataType)
        length = None
        if item.length not in (None, ""):
            try:
                length = int(str(item.length).strip())
            except ValueError:
                length = -1
            if length <= 0:
                bag.add(f"items.{i}.length", "length_positive", "长度必须是正整数")
        enumeration = [str(v).strip() for v in item.enumeration if str(v).strip()] if item.enumeration else None
        out.append({
            "position": i, "name": name, "data_type": dtype, "length": length, "required": item.required,
            "enumeration": enumeration or None, "format": (item.format or "").strip() or None,
            "description": (item.description or "").strip() or None, "is_key": item.is_key,
            "authoritative": item.authoritative,
            "element": normalize_element(item.element or name),
        })
    return out


# --- writing ---------------------------------------------------------------------------------


def _resolve_org(session: Session, data: ResourceIn) -> Org | None:
    if data.org_id is not None:
        return session.get(Org, data.org_id)
    if not _blank(data.org_uscc):
        return session.execute(select(Org).where(Org.uscc == data.org_uscc.strip().upper())).scalar_one_or_none()
    return None


def next_code(session: Session, prefix: str) -> str:
    """前段码/后段码: the next 6-digit sequence under the prefix (row-locked on PostgreSQL)."""
    stmt = select(CodeSequence).where(CodeSequence.prefix == prefix)
    if session.get_bind().dialect.name == "postgresql":
        # Two first codes under a new prefix at once both found no row and both inserted one: a
        # unique violation, a 500 (found by issue 20's chaos pass). Create the row if absent
        # without conflict, then lock it.
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        session.execute(pg_insert(CodeSequence).values(prefix=prefix, last=0)
                        .on_conflict_do_nothing(index_elements=["prefix"]))
        stmt = stmt.with_for_update()
    elif session.get_bind().dialect.name != "sqlite":
        stmt = stmt.with_for_update()
    seq = session.execute(stmt).scalar_one_or_none()
    if seq is None:
        seq = CodeSequence(prefix=prefix, last=0)
        session.add(seq)
    seq.last += 1
    digits = get_settings().rules.resource_sequence_digits
    if seq.last >= 10**digits:
        raise DomainError("code_exhausted", "前段码“{value}”下的顺序码已用尽", value=prefix)
    session.flush()
    return f"{prefix}/{seq.last:0{digits}d}"


def _apply(resource: Resource, checked: Checked) -> None:
    d = checked.data
    resource.name = d.name.strip()
    resource.abstract = d.abstract.strip()
    resource.org_id = checked.org.id
    resource.region_id = checked.org.region_id
    resource.category_code = checked.category.code
    resource.system_id = checked.system_id
    resource.library = checked.library
    resource.format_kind = checked.format_kind
    resource.format_detail = (d.format_detail or "").strip() or None
    resource.share_type = checked.share_type
    resource.share_condition = (d.share_condition or "").strip() or None
    resource.share_basis = (d.share_basis or "").strip() or None
    resource.share_method = checked.share_method
    resource.open_type = checked.open_type
    resource.open_condition = (d.open_condition or "").strip() or None
    resource.returnable = d.returnable
    resource.update_cycle = checked.update_cycle
    # The first publication sets the date; an edit that leaves it out keeps it.
    resource.publish_date = checked.publish_date or resource.publish_date
    resource.record_count = d.record_count
    resource.keywords = [k.strip() for k in d.keywords if k.strip()]


def _replace_items(session: Session, resource: Resource, items: list[dict[str, Any]]) -> None:
    by_name = {it.name: it for it in resource.items}
    keep: list[ResourceItem] = []
    for spec in items:
        item = by_name.pop(spec["name"], None)
        if item is None:
            item = ResourceItem(name=spec["name"])
        for key, value in spec.items():
            setattr(item, key, value)
        keep.append(item)
    resource.items = keep  # removed items are deleted by the orphan cascade
    session.flush()


def _replace_relations(session: Session, resource: Resource, related_ids: list[int]) -> None:
    session.query(ResourceRelation).filter(ResourceRelation.resource_id == resource.id).delete()
    for rid in dict.fromkeys(related_ids):
        if rid != resource.id:
            session.add(ResourceRelation(resource_id=resource.id, related_id=rid))
    session.flush()


def _touch_index(session: Session, resource: Resource) -> None:
    """Keep the search index in step with the resource (same transaction): the catalogue pushes
    what it shows of the resource to the index."""
    session.flush()
    view = published_view(session, resource) if resource.published_version is not None else None
    search.index_resource(session, resource, view if view is not None else resource_dict(session, resource))


def create_resource(session: Session, actor: Actor, data: ResourceIn) -> Resource:
    org = _resolve_org(session, data)
    if org is not None:
        require(can_edit_catalogue(actor, org.id), "编目")
    checked = validate_resource(session, data, org)
    resource = Resource(status=S.DRAFT.value, version=1, code="")
    _apply(resource, checked)
    resource.code = next_code(session, checked.category.code)
    session.add(resource)
    session.flush()
    _replace_items(session, resource, checked.items)
    _replace_relations(session, resource, checked.related_ids)
    _touch_index(session, resource)
    ledger.append(session, actor, "catalog.resource.create", "resource", resource.id,
                  {"code": resource.code, "name": resource.name, "items": len(checked.items)})
    return resource


def update_resource(session: Session, actor: Actor, resource_id: int, data: ResourceIn) -> Resource:
    resource = get_resource(session, actor, resource_id)
    require(can_edit_catalogue(actor, resource.org_id), "编目")
    if resource.status not in EDITABLE:
        raise _forbid(resource, "修改")
    if data.org_id is None and _blank(data.org_uscc):
        data = data.model_copy(update={"org_id": resource.org_id})
    org = _resolve_org(session, data)
    if org is not None and org.id != resource.org_id:
        require(can_edit_catalogue(actor, org.id), "编目")
    checked = validate_resource(session, data, org)
    if resource.published_version is not None and checked.category.code != resource.category_code:
        raise ValidationFailed("validation_failed", errors=[
            FieldError("category_code", "category_frozen", "已发布资源的分类不能更改，请新建资源")
        ])
    before = resource_dict(session, resource)
    if resource.category_code != checked.category.code:
        resource.code = next_code(session, checked.category.code)
    _apply(resource, checked)
    _replace_items(session, resource, checked.items)
    _replace_relations(session, resource, checked.related_ids)
    if resource.status == S.PUBLISHED.value:
        # A change to a published resource is a new version under review; the published
        # snapshot stays what others see.
        resource.version = (resource.published_version or 0) + 1
    resource.status = S.DRAFT.value
    resource.return_reason = None
    resource.updated_at = utcnow()
    _touch_index(session, resource)
    changes = diff_snapshots(before, resource_dict(session, resource))
    ledger.append(session, actor, "catalog.resource.update", "resource", resource.id, {
        "code": resource.code, "version": resource.version, "fields": sorted(changes["fields"]),
        "items_added": changes["items_added"], "items_removed": changes["items_removed"],
        "items_changed": sorted(changes["items_changed"]),
    })
    return resource


def _region_path(session: Session, resource: Resource) -> str:
    region = session.get(Region, resource.region_id)
    return region.path if region else "/"


def submit_resource(session: Session, actor: Actor, resource_id: int) -> Resource:
    resource = get_resource(session, actor, resource_id)
    require(can_edit_catalogue(actor, resource.org_id), "提交审核")
    if resource.status not in (S.DRAFT.value, S.RETURNED.value):
        raise _forbid(resource, "提交")
    resource.status = S.SUBMITTED.value
    resource.submitted_at = utcnow()
    _fulfil_duty_changes(session, resource.org_id, _today())
    _touch_index(session, resource)
    ledger.append(session, actor, "catalog.resource.submit", "resource", resource.id,
                  {"code": resource.code, "version": resource.version})
    return resource


def withdraw_resource(session: Session, actor: Actor, resource_id: int) -> Resource:
    """A steward takes back a submission before review."""
    resource = get_resource(session, actor, resource_id)
    require(can_edit_catalogue(actor, resource.org_id), "撤回")
    if resource.status != S.SUBMITTED.value:
        raise _forbid(resource, "撤回")
    resource.status = S.DRAFT.value
    _touch_index(session, resource)
    ledger.append(session, actor, "catalog.resource.withdraw", "resource", resource.id, {"code": resource.code})
    return resource


def publish_resource(session: Session, actor: Actor, resource_id: int, reason: str | None = None) -> Resource:
    resource = get_resource(session, actor, resource_id)
    require(can_review(actor, _region_path(session, resource)), "发布", "review_denied")
    if resource.status != S.SUBMITTED.value:
        raise _forbid(resource, "发布")
    now = utcnow()
    resource.status = S.PUBLISHED.value
    resource.published_version = resource.version
    resource.published_at = now
    if resource.publish_date is None:
        resource.publish_date = _today()
    session.flush()
    snapshot = resource_dict(session, resource)
    session.add(ResourceVersion(resource_id=resource.id, version=resource.version, snapshot=snapshot,
                                published_at=now, published_by=actor.username))
    session.flush()
    _touch_index(session, resource)
    ledger.append(session, actor, "catalog.resource.publish", "resource", resource.id, {
        "code": resource.code, "version": resource.version,
        "snapshot_sm3": sm3_hex(canonical_json(snapshot)),
    } | ({"reason": reason.strip()} if reason and reason.strip() else {}))
    return resource


REVIEW_DECISIONS = ("publish", "return")


def decide_review(session: Session, actor: Actor, resource_id: int, decision: str, reason: str | None) -> Resource:
    """The reviewer's decision from the resource's own page (issue 17): publish or return, each
    with its reason, so no resource is published without being opened and explained."""
    resource = get_resource(session, actor, resource_id)
    require(can_review(actor, _region_path(session, resource)), "审核", "review_denied")  # before the form
    bag = ErrorBag()
    if decision not in REVIEW_DECISIONS:
        bag.add("decision", "unknown_value", "未知的取值“{value}”，可选：{allowed}", value=decision,
                allowed="、".join(REVIEW_DECISIONS))
    if not reason or not reason.strip():
        bag.add("reason", "reason_required", "必须说明理由")
    bag.raise_if_any()
    if decision == "publish":
        return publish_resource(session, actor, resource_id, reason)
    return return_resource(session, actor, resource_id, str(reason))


def _required_reason(reason: str | None) -> str:
    """Every reviewer decision that goes against the steward carries its reason."""
    if not reason or not reason.strip():
        raise ValidationFailed("validation_failed", errors=[FieldError("reason", "reason_required", "必须说明理由")])
    return reason.strip()


def _forbid(resource: Resource, action: str) -> DomainError:
    return DomainError("status_forbids", "状态为“{status}”的资源不能{action}", status=resource.status, action=action)


def return_resource(session: Session, actor: Actor, resource_id: int, reason: str) -> Resource:
    resource = get_resource(session, actor, resource_id)
    require(can_review(actor, _region_path(session, resource)), "退回", "review_denied")
    reason = _required_reason(reason)
    if resource.status != S.SUBMITTED.value:
        raise _forbid(resource, "退回")
    resource.status = S.RETURNED.value
    resource.return_reason = reason
    _touch_index(session, resource)
    ledger.append(session, actor, "catalog.resource.return", "resource", resource.id,
                  {"code": resource.code, "version": resource.version, "reason": reason})
    return resource


def retire_resource(session: Session, actor: Actor, resource_id: int, reason: str) -> Resource:
    """A published resource is retired by the region's reviewer; its versions stay."""
    resource = get_resource(session, actor, resource_id)
    require(can_review(actor, _region_path(session, resource)), "停用", "review_denied")
    reason = _required_reason(reason)
    if resource.published_version is None or resource.status == S.RETIRED.value:
        raise _forbid(resource, "停用")
    resource.status = S.RETIRED.value
    _touch_index(session, resource)
    ledger.append(session, actor, "catalog.resource.retire", "resource", resource.id,
                  {"code": resource.code, "reason": reason})
    return resource


def delete_draft(session: Session, actor: Actor, resource_id: int) -> None:
    """A never-published draft may be deleted by its steward; published ones are retired."""
    resource = get_resource(session, actor, resource_id)
    require(can_edit_catalogue(actor, resource.org_id), "删除")
    if resource.published_version is not None or resource.status not in (S.DRAFT.value, S.RETURNED.value):
        raise _forbid(resource, "删除")
    search.unindex_resource(session, resource.id)
    ledger.append(session, actor, "catalog.resource.delete", "resource", resource.id, {"code": resource.code})
    session.query(ResourceRelation).filter(ResourceRelation.related_id == resource.id).delete()
    session.delete(resource)
    session.flush()


def review_queue(session: Session, actor: Actor) -> list[Resource]:
    """Submitted resources in the reviewer's regions, oldest first."""
    stmt = select(Resource).where(Resource.status == S.SUBMITTED.value).order_by(Resource.submitted_at)
    if not actor.is_admin:
        paths = actor.reviewer_paths()
        require(bool(paths), "查看审核队列", "review_denied")
        stmt = stmt.join(Region, Resource.region_id == Region.id).where(
            or_(*[Region.path.startswith(p) for p in paths])
        )
    return list(session.execute(stmt).scalars())


def visible_to(stmt: Select[Any], actor: Actor) -> Select[Any]:
    """Restrict a query over Resource to what `actor` may see — the SQL form of
    can_see_resource, shared by listings and search so they never disagree."""
    if can_read_all(actor):
        return stmt
    visible: list[Any] = [Resource.published_version.is_not(None) & (Resource.status != S.RETIRED.value)]
    if not actor.is_government:
        visible = [and_(visible[0], Resource.open_type != OpenType.NOT_OPEN.value)]
    own = actor.org_ids()
    if own:
        visible.append(Resource.org_id.in_(own))
    paths = actor.reviewer_paths()
    if paths:
        in_region = select(Region.id).where(or_(*[Region.path.startswith(p) for p in paths]))
        visible.append(and_(Resource.status != S.DRAFT.value, Resource.region_id.in_(in_region)))
    return stmt.where(or_(*visible))


def list_resources(
    session: Session, actor: Actor, *, org_id: int | None = None, status: str | None = None,
    limit: int = 50, offset: int = 0,
) -> tuple[list[Resource], int]:
    """Resources the actor may see, newest first (search has its own, ranked listing)."""
    stmt = visible_to(select(Resource), actor)
    if org_id is not None:
        stmt = stmt.where(Resource.org_id == org_id)
    if status:
        stmt = stmt.where(Resource.status == status)
    total = session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = session.execute(stmt.order_by(Resource.updated_at.desc(), Resource.id.desc()).limit(limit).offset(offset))
    return list(rows.scalars()), total


# --- systems ---------------------------------------------------------------------------------


def create_system(session: Session, actor: Actor, data: SystemIn) -> System:
    org = session.get(Org, data.org_id)
    if org is None:
        raise NotFound(f"机构 {data.org_id}", "org_not_found")
    require(can_edit_catalogue(actor, org.id), "登记信息系统")
    bag = ErrorBag()
    if not data.name.strip():
        bag.add("name", "required", "必填项不能为空")
    bag.raise_if_any()
    system = System(org_id=org.id, name=data.name.strip(), description=data.description)
    session.add(system)
    session.flush()
    ledger.append(session, actor, "catalog.system.create", "system", system.id, {"org_id": org.id, "name": system.name})
    return system


def list_systems(session: Session, org_id: int | None = None) -> list[System]:
    stmt = select(System).order_by(System.id)
    if org_id is not None:
        stmt = stmt.where(System.org_id == org_id)
    return list(session.execute(stmt).scalars())


def system_resources(session: Session, actor: Actor, system_id: int) -> list[Resource]:
    """系统关联数据: the resources a system provides, as far as the actor may see them."""
    if session.get(System, system_id) is None:
        raise NotFound(f"系统 {system_id}", "system_not_found")
    stmt = visible_to(select(Resource).where(Resource.system_id == system_id), actor)
    return list(session.execute(stmt.order_by(Resource.code)).scalars())


# --- the three lists -------------------------------------------------------------------------


def add_list_entry(session: Session, actor: Actor, data: ListEntryIn) -> ListEntry:
    """责任清单 and 负面清单 are kept by the authority; any public body may add to 需求清单."""
    bag = ErrorBag()
    kind = _enum(bag, "kind", data.kind, ListKind)
    if not data.title.strip():
        bag.add("title", "required", "必填项不能为空")
    if kind == ListKind.NEGATIVE and _blank(data.basis):
        bag.add("basis", "negative_basis_required", "不予共享必须填写法律法规或政策依据")
    bag.raise_if_any()
    region = get_region_by_code(session, data.region_code)
    if kind == ListKind.DEMAND:
        require(can_review(actor, region.path) or (actor.is_government and bool(actor.org_ids())), "提出需求")
    else:
        require(can_review(actor, region.path), "维护清单", "review_denied")
    resource_id = None
    if data.resource_code:
        resource_id = session.execute(
            select(Resource.id).where(Resource.code == data.resource_code)).scalar_one_or_none()
        if resource_id is None:
            raise ValidationFailed("validation_failed", errors=[
                FieldError("resource_code", "related_unknown", "关联资源“{value}”不存在",
                           {"value": data.resource_code})
            ])
    entry = ListEntry(region_id=region.id, kind=kind, org_id=data.org_id, resource_id=resource_id,
                      title=data.title.strip(), content=data.content, basis=data.basis, created_by=actor.username)
    session.add(entry)
    session.flush()
    ledger.append(session, actor, "catalog.list.add", "list_entry", entry.id,
                  {"kind": kind, "region": region.code, "title": entry.title})
    return entry


def list_entries(session: Session, region_code: str, kind: str | None = None) -> list[ListEntry]:
    region = get_region_by_code(session, region_code)
    stmt = select(ListEntry).where(ListEntry.region_id == region.id).order_by(ListEntry.id)
    if kind:
        stmt = stmt.where(ListEntry.kind == kind)
    return list(session.execute(stmt).scalars())


def negative_entry_for(session: Session, resource: Resource) -> ListEntry | None:
    return session.execute(
        select(ListEntry).where(ListEntry.kind == ListKind.NEGATIVE.value, ListEntry.resource_id == resource.id)
    ).scalars().first()


# --- duty changes and the catalogue-update deadline --------------------------------------------


_today = workdays.today  # the one clock (workdays.today): China's date, patchable in tests


def record_duty_change(session: Session, actor: Actor, data: DutyChangeIn) -> DutyChange:
    org = session.get(Org, data.org_id)
    if org is None:
        raise NotFound(f"机构 {data.org_id}", "org_not_found")
    region = session.get(Region, org.region_id)
    require(can_edit_catalogue(actor, org.id) or can_review(actor, region.path if region else "/"), "登记职责变化")
    bag = ErrorBag()
    occurred = None
    try:
        occurred = date.fromisoformat(data.occurred_on.strip())
    except ValueError:
        bag.add("occurred_on", "date_format", "“{value}”不是有效日期（应为YYYY-MM-DD）", value=data.occurred_on)
    if not data.description.strip():
        bag.add("description", "required", "必填项不能为空")
    bag.raise_if_any()
    assert occurred is not None
    # DOMAIN §1 (004:693): the catalogue is updated within N working days of the change.
    due = add_workdays(occurred, get_settings().rules.catalogue_update_workdays)
    change = DutyChange(org_id=org.id, occurred_on=occurred, description=data.description.strip(),
                        basis=data.basis, due_on=due, created_by=actor.username)
    session.add(change)
    session.flush()
    ledger.append(session, actor, "catalog.duty_change.record", "org", org.id,
                  {"duty_change_id": change.id, "occurred_on": occurred.isoformat(), "due_on": due.isoformat()})
    return change


def _fulfil_duty_changes(session: Session, org_id: int, on: date) -> None:
    """A submission for review on or after the change date fulfils the org's open changes."""
    open_changes = session.execute(
        select(DutyChange).where(DutyChange.org_id == org_id, DutyChange.fulfilled_on.is_(None),
                                 DutyChange.occurred_on <= on)
    ).scalars()
    for change in open_changes:
        change.fulfilled_on = on


def confirm_catalogue_reviewed(session: Session, actor: Actor, org_id: int, on: date | None = None) -> int:
    """The steward declares the catalogue reviewed and still right after a duty change."""
    require(can_edit_catalogue(actor, org_id), "确认目录已更新")
    if session.get(Org, org_id) is None:  # no evidence of a review of an org that is not there
        raise NotFound(f"机构 {org_id}", "org_not_found")
    day = on or _today()
    count = session.execute(
        select(func.count()).select_from(DutyChange).where(
            DutyChange.org_id == org_id, DutyChange.fulfilled_on.is_(None), DutyChange.occurred_on <= day)
    ).scalar_one()
    _fulfil_duty_changes(session, org_id, day)
    ledger.append(session, actor, "catalog.duty_change.confirm", "org", org_id,
                  {"on": day.isoformat(), "changes": count})
    return int(count)


def duty_change_state(change: DutyChange, today: date) -> str:
    """未到期 (open, within the limit) / 已逾期 / 按时完成 / 逾期完成. The due day itself is on time."""
    if change.fulfilled_on is not None:
        return N_("按时完成") if change.fulfilled_on <= change.due_on else N_("逾期完成")
    return "已逾期" if today > change.due_on else "未到期"


def duty_change_board(session: Session, actor: Actor, today: date | None = None,
                      region_path: str | None = None) -> list[dict[str, Any]]:
    """Orgs with open duty changes: due (still within the limit) and overdue."""
    day = today or _today()
    stmt = (
        select(DutyChange, Org, Region)
        .join(Org, DutyChange.org_id == Org.id)
        .join(Region, Org.region_id == Region.id)
        .where(DutyChange.fulfilled_on.is_(None))
        .order_by(DutyChange.due_on)
    )
    if region_path:
        stmt = stmt.where(Region.path.startswith(region_path))
    rows = []
    for change, org, region in session.execute(stmt):
        if not (can_read_all(actor) or can_review(actor, region.path) or actor.acts_for_org(org.id)):
            continue
        state = duty_change_state(change, day)
        rows.append({
            "duty_change_id": change.id, "org_id": org.id, "org_name": org.name, "region": region.name,
            "occurred_on": change.occurred_on.isoformat(), "due_on": change.due_on.isoformat(),
            "state": state,
            "workdays_left": workdays_between(day, change.due_on) if state == "未到期" else 0,
            "workdays_overdue": workdays_between(change.due_on, day) if state == "已逾期" else 0,
            "provisional": deadline_provisional(change.occurred_on, change.due_on),
            "description": change.description,
        })
    return rows


# --- 一数一源 ---------------------------------------------------------------------------------


def one_source_conflicts(session: Session, region_path: str | None = None) -> list[dict[str, Any]]:
    """Data elements claimed as authoritative by more than one org. The source is the org whose
    claim was published first; every other claimant is flagged."""
    stmt = (
        select(ResourceItem.element, Resource.org_id, Resource.id, Resource.code, Resource.published_at,
               Resource.created_at, Org.name)
        .join(Resource, ResourceItem.resource_id == Resource.id)
        .join(Org, Resource.org_id == Org.id)
        .join(Region, Resource.region_id == Region.id)
        .where(ResourceItem.authoritative.is_(True), Resource.status != S.RETIRED.value)
    )
    if region_path:
        stmt = stmt.where(Region.path.startswith(region_path))
    claims: dict[str, list[tuple[Any, ...]]] = defaultdict(list)
    for row in session.execute(stmt):
        claims[row[0]].append(tuple(row))
    out = []
    for element, rows in sorted(claims.items()):
        if len({r[1] for r in rows}) < 2:
            continue
        rows.sort(key=lambda r: (r[4] is None, r[4] or r[5], r[2]))
        source = rows[0]
        out.append({
            "element": element,
            "source": {"org_id": source[1], "org_name": source[6], "resource_code": source[3]},
            "flagged": [
                {"org_id": r[1], "org_name": r[6], "resource_code": r[3]} for r in rows[1:] if r[1] != source[1]
            ],
        })
    return out


def one_source_flags_for(session: Session, resource: Resource) -> list[dict[str, Any]]:
    """The conflicts in which this resource is a flagged (non-source) claimant."""
    return [
        c for c in one_source_conflicts(session)
        if any(f["resource_code"] == resource.code for f in c["flagged"])
    ]


__all__ = [
    "PermissionDenied",
    "Role",
    "add_list_entry",
    "confirm_catalogue_reviewed",
    "create_resource",
    "create_system",
    "decide_review",
    "delete_draft",
    "diff_snapshots",
    "diff_versions",
    "duty_change_board",
    "duty_change_state",
    "get_resource",
    "get_version",
    "list_entries",
    "list_resources",
    "list_systems",
    "list_versions",
    "one_source_conflicts",
    "one_source_flags_for",
    "publish_resource",
    "record_duty_change",
    "resource_dict",
    "retire_resource",
    "return_resource",
    "review_queue",
    "submit_resource",
    "update_resource",
    "validate_resource",
    "view_for",
    "visible_to",
    "withdraw_resource",
]
