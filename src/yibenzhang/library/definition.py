"""A library's definition, kept with its catalogue resource and reviewed like one.

The library is a catalogue resource (基础库 / 主题库): its items are the entity key and the
canonical items; `define_library` creates it as a draft and stores the definition for that
version; `update_definition` edits the definition (a published library opens its next version,
the catalogue's rule); submit, review and publish are the catalogue's own services. Fusion uses
the definition of the *published* version only.

Each canonical item is resolved at fusion time into an ordered list of sources:
- first its authoritative source (一数一源): the contributing resource whose mapped item is
  claimed authoritative (ResourceItem.authoritative); among several claimants, the catalogue's
  rule (the claim published first, `catalog.service.one_source_conflicts`);
- then the fallback order: the item's own `fallback` list of resource codes, else every other
  source mapping the item in the definition's order.
The freshness rule (`fresh_days`): a value collected more than that many days before the fusion
is stale; a fresh value of a later source wins over a stale one of an earlier source; when no
value is fresh the order decides as usual. Without `fresh_days` only the order decides.

Theme libraries (主题库 / 专题库) are defined the same way; their sources may be published
libraries, and a library may `extend` a higher region's library (省市共建共用): the rules, and
how the effective definition is merged, are in `cobuild`. `resolve` always returns the effective
definition, so fusion never sees the difference.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..access import Actor, can_edit_catalogue, require
from ..catalog import service as catalog
from ..catalog.model import Resource
from ..catalog.schemas import ItemIn, ResourceIn
from ..classify.grading import highest
from ..db import utcnow
from ..enums import DataType, Library, OpenType, ResourceStatus
from ..errors import DomainError, ErrorBag, NotFound
from ..i18n import Data
from ..ledger import service as ledger
from . import cobuild, keys
from .cobuild import definition_at
from .model import LibraryDefinition
from .schemas import KEY_TYPES, PROVENANCE_ITEMS, DefinitionIn, SourceDef
from .schemas import ItemDef as ItemDef  # callers (routes, demo, tests) read the shape as definition.*

# --- resolved, for fusion -----------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    index: int
    resource_id: int
    code: str
    org_id: int
    key: str
    items: dict[str, str]  # canonical -> source item


@dataclass(frozen=True)
class Item:
    index: int
    name: str
    data_type: str  # letter
    order: tuple[int, ...]  # source indexes: authority first (when claimed), then fallbacks
    authority: int | None
    fresh_days: int | None


@dataclass(frozen=True)
class Resolved:
    library_id: int
    library_code: str
    version: int
    kind: str
    key: str
    items: tuple[Item, ...]
    sources: tuple[Source, ...]

    def as_dict(self) -> dict[str, Any]:
        src = {s.index: s.code for s in self.sources}
        return {"library_id": self.library_id, "code": self.library_code, "version": self.version,
                "kind": self.kind, "key": self.key,
                "sources": [{"resource": s.code, "resource_id": s.resource_id, "org_id": s.org_id, "key": s.key,
                             "items": s.items} for s in self.sources],
                "items": [{"name": i.name, "data_type": i.data_type, "authority": src.get(i.authority)
                           if i.authority is not None else None, "order": [src[o] for o in i.order],
                           "fresh_days": i.fresh_days} for i in self.items]}


# --- checks ------------------------------------------------------------------------------------


def _source_resource(session: Session, code: str) -> Resource | None:
    return session.execute(select(Resource).where(Resource.code == code)).scalar_one_or_none()


def check(session: Session, d: DefinitionIn, *, org_id: int | None = None,
          code: str | None = None) -> ErrorBag:
    """Every fault of a definition at once (codes stable, reasons zh; English in i18n). `org_id`
    is the library's owner (for `extends`), `code` the library's own code when it exists (cycles)."""
    bag = ErrorBag()
    if d.kind not in keys.KINDS:
        bag.add("kind", "unknown_value", "未知的取值“{value}”，可选：{allowed}", value=Data(d.kind),
                allowed="、".join(keys.KINDS))
    parent = cobuild.check_parent(session, d, bag, org_id, (code,) if code else ())
    key = parent.key if parent else (d.key or KEY_TYPES.get(d.kind, ("", 0))[0])
    names = [i.name.strip() for i in d.items]
    inherited = [i.name for i in parent.items] if parent else []
    unknown = bool(d.extends) and parent is None  # the parent's items are unknown: its fault is reported
    if not names and not inherited and not unknown:
        bag.add("items", "library_no_items", "资源库至少要有一个标准信息项")
    if len(set(names)) != len(names):
        bag.add("items", "duplicate_item", "信息项重复")
    if key in names:
        bag.add("items", "library_key_item", "标准信息项不能与主键“{name}”同名", name=Data(key))
    for n, item in enumerate(d.items):
        if DataType.parse(item.data_type) is None and item.data_type not in DataType.__members__:
            bag.add(f"items.{n}.data_type", "unknown_value", "未知的取值“{value}”，可选：{allowed}",
                    value=Data(item.data_type), allowed="、".join(DataType.__members__))
        if item.fresh_days is not None and item.fresh_days < 1:
            bag.add(f"items.{n}.fresh_days", "library_fresh_days", "时效天数必须是正整数")
    if not d.sources and not parent and not unknown:
        bag.add("sources", "library_no_sources", "资源库至少要有一个来源资源")
    mapped: dict[str, list[str]] = {}
    codes = [s.resource for s in d.sources] + ([s.resource for s in parent.sources] if parent else [])
    if len(set(codes)) != len(codes):
        bag.add("sources", "library_duplicate_source", "来源资源重复")
    for n, s in enumerate(d.sources):
        res = _source_resource(session, s.resource)
        if res is None:
            bag.add(f"sources.{n}.resource", "resource_not_found", "信息资源“{value}”不存在", value=Data(s.resource))
            continue
        if res.published_version is None or res.status == ResourceStatus.RETIRED.value:
            bag.add(f"sources.{n}.resource", "library_source_unpublished", "来源资源“{value}”未发布或已停用",
                    value=Data(s.resource))
        cobuild.check_library_source(session, res, s, n, parent.kind if parent else d.kind, bag)
        cobuild.check_source_owner(session, res, n, org_id, bag)
        own = {i.name for i in res.items}
        if s.key not in own:
            bag.add(f"sources.{n}.key", "unknown_item", "信息项“{value}”不属于该信息资源", value=Data(s.key))
        for canon, src_item in s.items.items():
            if canon not in names and canon not in inherited and not unknown:
                bag.add(f"sources.{n}.items.{canon}", "library_unknown_item", "“{value}”不是资源库的标准信息项",
                        value=Data(canon))
            if src_item not in own:
                bag.add(f"sources.{n}.items.{canon}", "unknown_item", "信息项“{value}”不属于该信息资源",
                        value=Data(src_item))
            mapped.setdefault(canon, []).append(s.resource)
    for n, item in enumerate(d.items):
        if item.name not in mapped and item.name not in inherited and not unknown:
            bag.add(f"items.{n}", "library_item_unmapped", "标准信息项“{name}”没有任何来源", name=Data(item.name))
        for fb in item.fallback or []:  # a restated parent item orders the child's own sources only
            if fb not in mapped.get(item.name, []):
                bag.add(f"items.{n}.fallback", "library_fallback_source", "“{value}”不是该信息项的来源",
                        value=Data(fb))
    cobuild.check_cycle(session, d, bag, code)
    return bag


# --- the catalogue resource --------------------------------------------------------------------


def _items(session: Session, d: DefinitionIn, org_id: int) -> tuple[list[ItemIn], dict[str, str | None]]:
    """The library resource's items (key first) and each one's grade: the highest grade of the
    source items mapped to it (就高从严). An extending library's are its effective definition's
    (the parent's items and sources included)."""
    eff = cobuild.effective(session, d, cobuild.org_region_path(session, org_id))
    key, length = KEY_TYPES[eff.kind][0], KEY_TYPES[eff.kind][1]
    key = eff.key or key
    grades: dict[str, list[str | None]] = {key: []}
    for s in eff.sources:
        res = _source_resource(session, s.resource)
        if res is None:
            continue
        by_name = {i.name: i for i in res.items}
        if s.key in by_name:
            grades[key].append(by_name[s.key].grade)
        for canon, src in s.items.items():
            if src in by_name:
                grades.setdefault(canon, []).append(by_name[src].grade)
    out = [ItemIn(name=key, data_type="C", length=length, required=True, is_key=True, element=key,
                  description="实体主键（已规范化）")]
    for i in eff.items:
        letter = DataType.parse(i.data_type).letter if DataType.parse(i.data_type) else i.data_type
        out.append(ItemIn(name=i.name, data_type=letter, length=i.length, element=i.element or i.name,
                          description=i.description))
    for i in eff.items:  # provenance of every value: part of the library's rows, kept by compaction
        out += [ItemIn(name=f"{i.name}__{part}", data_type=letter, description=text)
                for part, letter, text in PROVENANCE_ITEMS]
    return out, {n: (str(g) if (g := highest(v)) else None) for n, v in grades.items()}


def _set_grades(resource: Resource, grades: dict[str, str | None]) -> None:
    for item in resource.items:
        item.grade = grades.get(item.name)


def _store(session: Session, actor: Actor, resource: Resource, d: DefinitionIn) -> LibraryDefinition:
    row = session.execute(select(LibraryDefinition).where(
        LibraryDefinition.resource_id == resource.id, LibraryDefinition.version == resource.version)
    ).scalar_one_or_none()
    data = d.model_dump()
    data["key"] = d.key or KEY_TYPES[d.kind][0]
    if d.extends:
        data["key"] = d.key or _key_of(session, cobuild.resource_by_code(session, d.extends)) or data["key"]
    if row is None:
        row = LibraryDefinition(resource_id=resource.id, version=resource.version, kind=d.kind, definition=data,
                                updated_by=actor.username, updated_at=utcnow())
        session.add(row)
    else:
        row.kind, row.definition, row.updated_by, row.updated_at = d.kind, data, actor.username, utcnow()
    session.flush()
    return row


def _pinned(session: Session, d: DefinitionIn) -> DefinitionIn:
    """`d` pinned to the version of the library it extends published now (whatever the caller
    sent as `extends_version`): checked, itemised and stored against that one version."""
    parent = cobuild.resource_by_code(session, d.extends) if d.extends else None
    return d.model_copy(update={"extends_version": parent.published_version if parent else None})


def define_library(session: Session, actor: Actor, meta: ResourceIn, d: DefinitionIn) -> Resource:
    """A new library: its catalogue resource (a draft, never open: 一人一档 is for authorised
    staff only) and the definition of its first version."""
    require(can_edit_catalogue(actor, meta.org_id), "编目")  # before any check says what exists
    d = _pinned(session, d)
    check(session, d, org_id=meta.org_id).raise_if_any("library_invalid")
    items, grades = _items(session, d, meta.org_id)
    meta = meta.model_copy(update={"items": items, "open_type": OpenType.NOT_OPEN.value,
                                   "library": meta.library or Library.BASE.value})
    resource = catalog.create_resource(session, actor, meta)
    _set_grades(resource, grades)
    _store(session, actor, resource, d)
    ledger.append(session, actor, "library.define", "resource", resource.id,
                  {"code": resource.code, "version": resource.version, "kind": d.kind,
                   "sources": [s.resource for s in d.sources], "items": len(d.items),
                   "extends": d.extends})
    return resource


def _meta_of(resource: Resource) -> ResourceIn:
    return ResourceIn(name=resource.name, abstract=resource.abstract, org_id=resource.org_id,
                      category_code=resource.category_code, library=resource.library,
                      format_kind=resource.format_kind, format_detail=resource.format_detail,
                      system_id=resource.system_id, share_type=resource.share_type,
                      share_condition=resource.share_condition, share_basis=resource.share_basis,
                      share_method=resource.share_method, open_type=OpenType.NOT_OPEN.value,
                      update_cycle=resource.update_cycle, keywords=list(resource.keywords or []))


def update_definition(session: Session, actor: Actor, library_id: int, d: DefinitionIn) -> Resource:
    """Edit the definition: the resource becomes a draft of its next version (when published),
    its items follow the definition, and the version's definition is stored."""
    resource = get_library(session, actor, library_id)
    require(can_edit_catalogue(actor, resource.org_id), "编辑资源库")
    d = _pinned(session, d)
    check(session, d, org_id=resource.org_id, code=Data(resource.code)).raise_if_any("library_invalid")
    items, grades = _items(session, d, resource.org_id)
    resource = catalog.update_resource(session, actor, resource.id, _meta_of(resource).model_copy(
        update={"items": items}))
    _set_grades(resource, grades)
    _store(session, actor, resource, d)
    ledger.append(session, actor, "library.update", "resource", resource.id,
                  {"code": resource.code, "version": resource.version, "sources": [s.resource for s in d.sources],
                   "extends": d.extends})
    return resource


def get_library(session: Session, actor: Actor, library_id: int | str) -> Resource:
    resource = catalog.get_resource(session, actor, library_id)
    if session.execute(select(LibraryDefinition.id).where(LibraryDefinition.resource_id == resource.id)
                       .limit(1)).scalar_one_or_none() is None:
        raise NotFound(f"信息资源 {library_id}", "library_not_found")
    return resource


def list_libraries(session: Session, actor: Actor) -> list[dict[str, Any]]:
    ids = session.execute(select(LibraryDefinition.resource_id).distinct()).scalars().all()
    out = []
    for rid in sorted(ids):
        try:
            r = catalog.get_resource(session, actor, rid)
        except NotFound:
            continue
        out.append({"id": r.id, "code": r.code, "name": r.name, "status": r.status, "version": r.version,
                    "published_version": r.published_version, "org_id": r.org_id, "library": r.library,
                    "grade": library_grade(r), **cobuild.links(session, r)})
    return out


def library_grade(resource: Resource) -> str | None:
    """就高从严: the library's grade is the highest of its items'."""
    g = highest(i.grade for i in resource.items)
    return str(g) if g else None


def resolve(session: Session, library_id: int) -> Resolved:
    """The published definition with each item's source order (authority, then fallbacks)."""
    resource = session.get(Resource, library_id)
    if resource is None:
        raise NotFound(f"信息资源 {library_id}", "library_not_found")
    if resource.published_version is None or resource.status == ResourceStatus.RETIRED.value:
        raise DomainError("library_unpublished", "资源库“{code}”未发布，不能融合", code=Data(resource.code))
    row = definition_at(session, library_id, resource.published_version)
    if row is None:
        raise NotFound(f"信息资源 {library_id}", "library_not_found")
    eff = cobuild.effective(session, DefinitionIn.model_validate(row.definition),
                            cobuild.region_path(session, resource.region_id), (resource.code,))
    sources: list[Source] = []
    for n, s in enumerate(eff.sources):
        res = _source_resource(session, s.resource)
        if res is None:
            raise NotFound(f"信息资源 {s.resource}", "resource_not_found")
        sources.append(Source(n, res.id, res.code, res.org_id, s.key, dict(s.items)))
    index = {s.code: s.index for s in sources}
    items = []
    for n, i in enumerate(eff.items):
        order, authority = eff.order[i.name]
        items.append(Item(n, i.name, cobuild.letter(i.data_type), tuple(index[c] for c in order),
                          index[authority] if authority is not None else None, i.fresh_days))
    return Resolved(resource.id, resource.code, resource.published_version, eff.kind, eff.key, tuple(items),
                    tuple(sources))


def effective_sources(session: Session, library: Resource) -> list[SourceDef]:
    """The sources a library's published (else current) definition draws on, the extended
    library's included (for provenance names and conflicts' source items)."""
    eff = cobuild.of_library(session, library)
    if eff is not None:
        return list(eff.sources)
    row = definition_at(session, library.id, library.published_version or library.version)
    return list(DefinitionIn.model_validate(row.definition).sources) if row else []


def _key_of(session: Session, library: Resource | None) -> str | None:
    if library is None:
        return None
    return next((i.name for i in library.items if i.is_key), None)
