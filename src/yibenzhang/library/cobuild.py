"""Theme libraries and 省市共建共用: libraries drawing on libraries (issue 21 item 5).

**Libraries as sources.** A theme library (主题库 / 专题库, e.g. 社会救助) is defined like a base
library; among its sources may be published libraries: their fused batches are ordinary batches
of a catalogue resource keyed by the entity key, so fusion reads them like any resource. Such a
source must be a published library of the same entity kind (`library_source_kind`), and its
mapping names the library's key and canonical items only — never the `<item>__source`,
`__batch`, `__at` provenance columns (`library_provenance_item`). A value taken from a library
has that library's batch as its provenance (the base library's row keeps the original source's),
and a conflict with it is the library owner's to answer. Fusion is incremental as for any source:
an 更新 batch of the base library re-fuses only the entities it touches, a 全量 one everything.
The entities are those of all sources (a theme over the 人口库 holds everyone in it).

**Extending (省市共建).** A definition may name the library it `extends` (a resource code): a
published library of the same entity kind (and key) whose owner's region is strictly above the
extending library's owner's region (a city's library extends its province's):
`library_extends_not_library`, `library_extends_unpublished`, `library_extends_kind`,
`library_extends_key`, `library_extends_region`. The child is pinned to the parent's version
published when the child's definition was saved (`extends_version`, set on save): a new parent
version reaches the child when the child's definition is saved and reviewed again. The effective
definition is:
- items: the parent's canonical items with their names, types and freshness (a child may restate
  one, keeping its type and freshness, to order its own sources for it: `library_extends_item_type`,
  `library_extends_item_rule`), then the child's own items;
- sources: the parent's with their mappings, then the child's own (each resource once);
- each parent item's order: the parent's order (its authority first, then its fallbacks) followed
  by the child's own sources mapping the item (in the child's `fallback` for it, else definition
  order). One exception, 一数一源 in the child's region: among the effective sources claiming the
  item authoritative whose resource lies in the child library's region (at or below it), the
  claim published first decides (definition.py's rule, scoped to a region as
  `catalog.one_source_conflicts` is); when that claimant is one of the child's own sources, it
  is the item's authority in the child library and comes first, ahead of the parent's order.
  The parent's own library keeps its order: the exception only applies to the child.
- the child's own items: definition.py's rule over the child's own sources.

**Cycles.** A library may not draw on itself, directly or through other libraries' sources or
`extends` (`library_cycle`); the graph is every library's published and latest definitions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..catalog.model import Resource, ResourceItem
from ..enums import DataType, OrgKind, ResourceStatus
from ..errors import DomainError, ErrorBag
from ..i18n import Data
from ..orgs.model import Org, Region
from .model import LibraryDefinition
from .schemas import KEY_TYPES, PROVENANCE_ITEMS, DefinitionIn, ItemDef, SourceDef


@dataclass(frozen=True)
class Effective:
    """A definition with what it extends merged in (parent's items and sources first), and per
    canonical item its order of source codes (authority first) and its authority."""

    kind: str
    key: str
    items: tuple[ItemDef, ...]
    sources: tuple[SourceDef, ...]
    order: dict[str, tuple[list[str], str | None]]


def letter(data_type: str) -> str:
    parsed = DataType.parse(data_type)
    return parsed.letter if parsed else data_type


def resource_by_code(session: Session, code: str) -> Resource | None:
    return session.execute(select(Resource).where(Resource.code == code)).scalar_one_or_none()


def region_path(session: Session, region_id: int | None) -> str:
    region = session.get(Region, region_id) if region_id is not None else None
    return region.path if region else "/"


def org_region_path(session: Session, org_id: int) -> str:
    org = session.get(Org, org_id)
    return region_path(session, org.region_id if org else None)


def is_library(session: Session, resource_id: int) -> bool:
    return session.execute(select(LibraryDefinition.id).where(LibraryDefinition.resource_id == resource_id)
                           .limit(1)).scalar_one_or_none() is not None


def definition_at(session: Session, resource_id: int, version: int) -> LibraryDefinition | None:
    return session.execute(select(LibraryDefinition).where(
        LibraryDefinition.resource_id == resource_id, LibraryDefinition.version == version)).scalar_one_or_none()


def published_row(session: Session, resource: Resource) -> LibraryDefinition | None:
    """The definition a library uses now: its published version's (None when unpublished/retired)."""
    if resource.published_version is None or resource.status == ResourceStatus.RETIRED.value:
        return None
    return definition_at(session, resource.id, resource.published_version)


def provenance_names(resource: Resource) -> set[str]:
    """A library resource's provenance items: what is neither its key nor a canonical item."""
    names = {i.name for i in resource.items}
    return {n for n in names if any(n.endswith(f"__{p}") and n[:-len(p) - 2] in names
                                    for p, _, _ in PROVENANCE_ITEMS)}


# --- the effective definition ---------------------------------------------------------------------


def _claims(session: Session, codes: list[str]) -> dict[tuple[str, str], tuple[Any, ...]]:
    """(resource code, item) of every authoritative claim among the sources, with its sort key:
    the claim published first is the source (the catalogue's 一数一源 rule)."""
    if not codes:
        return {}
    rows = session.execute(select(Resource.code, ResourceItem.name, Resource.published_at, Resource.created_at,
                                  Resource.id)
                           .join(Resource, ResourceItem.resource_id == Resource.id)
                           .where(Resource.code.in_(codes), ResourceItem.authoritative.is_(True))).all()
    return {(r[0], r[1]): (r[2] is None, r[2] or r[3], r[4]) for r in rows}


def _paths(session: Session, codes: list[str]) -> dict[str, str]:
    rows = session.execute(select(Resource.code, Region.path).join(Region, Resource.region_id == Region.id)
                           .where(Resource.code.in_(codes))).all() if codes else []
    return {r[0]: r[1] for r in rows}


def base_order(item: ItemDef, sources: list[SourceDef],
               claims: dict[tuple[str, str], tuple[Any, ...]]) -> tuple[list[str], str | None]:
    """definition.py's rule: the first-published claimant among the sources mapping the item,
    then the item's fallback list, else every other mapping source in definition order."""
    mapping = [s for s in sources if item.name in s.items]
    claimed = [s for s in mapping if (s.resource, s.items[item.name]) in claims]
    claimed.sort(key=lambda s: claims[(s.resource, s.items[item.name])])
    authority = claimed[0].resource if claimed else None
    rest = list(item.fallback) if item.fallback else [s.resource for s in mapping]
    return ([authority] if authority else []) + [c for c in rest if c != authority], authority


def parent_of(session: Session, d: DefinitionIn) -> tuple[Resource, LibraryDefinition]:
    """The library `d` extends and the definition it is pinned to (refused when unusable)."""
    assert d.extends
    res = resource_by_code(session, d.extends)
    if res is None or not is_library(session, res.id):
        raise DomainError("library_extends_not_library", "“{value}”不是资源库，不能扩展", value=Data(d.extends))
    row = published_row(session, res)
    if row is None:
        raise DomainError("library_extends_unpublished", "上级资源库“{value}”未发布或已停用", value=Data(d.extends))
    if d.extends_version is not None:  # pinned when the child was saved (a frozen version)
        row = definition_at(session, res.id, d.extends_version) or row
    return res, row


def effective(session: Session, d: DefinitionIn, region: str, seen: tuple[str, ...] = ()) -> Effective:
    """The definition as fusion uses it; `region` is the path of the library's region and
    `seen` the codes of the libraries already on the way (the library itself first)."""
    parent: Effective | None = None
    if d.extends:
        if d.extends in seen:
            raise DomainError("library_cycle", "资源库不能直接或间接引用自身（“{value}”）", value=Data(d.extends))
        res, row = parent_of(session, d)
        parent = effective(session, DefinitionIn.model_validate(row.definition),
                           region_path(session, res.region_id), (*seen, d.extends))
    inherited = {i.name for i in parent.items} if parent else set()
    own_items = [i for i in d.items if i.name not in inherited]
    sources = (parent.sources if parent else ()) + tuple(d.sources)
    claims = _claims(session, [s.resource for s in sources])
    order: dict[str, tuple[list[str], str | None]] = {}
    if parent is not None:
        by_code = {s.resource: s for s in sources}
        own = {s.resource for s in d.sources}
        paths = _paths(session, list(by_code))
        restated = {i.name: i for i in d.items if i.name in inherited}
        for item in parent.items:
            p_order, p_auth = parent.order[item.name]
            mine = [s.resource for s in d.sources if item.name in s.items]
            again = restated.get(item.name)
            child = list(again.fallback) if again is not None and again.fallback else mine
            local = [c for c in dict.fromkeys(p_order + child)
                     if (c, by_code[c].items.get(item.name, "")) in claims and paths.get(c, "").startswith(region)]
            local.sort(key=lambda c: claims[(c, by_code[c].items[item.name])])
            if local and local[0] in own:
                order[item.name] = ([local[0], *p_order, *(c for c in child if c != local[0])], local[0])
            else:
                order[item.name] = ([*p_order, *child], p_auth)
    for item in own_items:
        order[item.name] = base_order(item, list(d.sources), claims)
    kind = parent.kind if parent else d.kind
    key = parent.key if parent else (d.key or KEY_TYPES.get(d.kind, ("",))[0])
    return Effective(kind, key, (parent.items if parent else ()) + tuple(own_items), sources, order)


# --- checks ----------------------------------------------------------------------------------------


def check_parent(session: Session, d: DefinitionIn, bag: ErrorBag, org_id: int | None,
                 seen: tuple[str, ...] = ()) -> Effective | None:
    """The extended library's effective definition when `d` may extend it (faults into `bag`)."""
    if not d.extends:
        return None
    try:
        res, row = parent_of(session, d)
        parent = effective(session, DefinitionIn.model_validate(row.definition),
                           region_path(session, res.region_id), (*seen, d.extends))
    except DomainError as exc:
        bag.add("extends", exc.code, exc.message, **exc.params)
        return None
    if parent.kind != d.kind:
        bag.add("extends", "library_extends_kind", "上级资源库“{value}”的实体类型是{kind}，与本资源库不同",
                value=Data(d.extends), kind=parent.kind)
    if d.key and d.key != parent.key:
        bag.add("key", "library_extends_key", "扩展的资源库须沿用上级资源库的主键“{name}”", name=Data(parent.key))
    if org_id is not None:
        mine, theirs = org_region_path(session, org_id), region_path(session, res.region_id)
        if mine == theirs or not mine.startswith(theirs):
            bag.add("extends", "library_extends_region", "只能扩展上级地区的资源库，“{value}”不属于本单位的上级地区",
                    value=Data(d.extends))
        if not is_authority(session, org_id):  # 省市共建 is the data authorities' (the parent's data comes along)
            bag.add("extends", "library_extends_not_authority", "只有数据主管部门才能扩展上级地区的资源库")
    types = {i.name: i for i in parent.items}
    for n, item in enumerate(d.items):
        p = types.get(item.name)
        if p is None:
            continue
        if letter(item.data_type) != letter(p.data_type):
            bag.add(f"items.{n}.data_type", "library_extends_item_type",
                    "不能修改上级资源库信息项“{name}”的类型（{type}）", name=Data(item.name), type=letter(p.data_type))
        if item.fresh_days is not None and item.fresh_days != p.fresh_days:
            bag.add(f"items.{n}.fresh_days", "library_extends_item_rule",
                    "不能修改上级资源库信息项“{name}”的时效规则", name=Data(item.name))
    return parent


def _edges(session: Session, code: str) -> set[str]:
    """The libraries a library draws on: the sources and `extends` of its published and latest
    definitions."""
    res = resource_by_code(session, code)
    if res is None:
        return set()
    out: set[str] = set()
    for version in {res.published_version, res.version} - {None}:
        row = definition_at(session, res.id, version)
        if row is None:
            continue
        d = DefinitionIn.model_validate(row.definition)
        out |= {s.resource for s in d.sources} | ({d.extends} if d.extends else set())
    return {c for c in out if (r := resource_by_code(session, c)) is not None and is_library(session, r.id)}


def check_cycle(session: Session, d: DefinitionIn, bag: ErrorBag, code: str | None) -> None:
    """`code` (the library being edited; None for a new one, which nothing can reference yet)
    must not be reachable from what `d` draws on."""
    if code is None:
        return
    start = {s.resource for s in d.sources} | ({d.extends} if d.extends else set())
    todo, done = list(start), set()
    while todo:
        c = todo.pop()
        if c == code:
            bag.add("sources", "library_cycle", "资源库不能直接或间接引用自身（“{value}”）", value=Data(code))
            return
        if c in done:
            continue
        done.add(c)
        todo.extend(_edges(session, c))


def is_authority(session: Session, org_id: int) -> bool:
    org = session.get(Org, org_id)
    return org is not None and org.kind == OrgKind.AUTHORITY.value


def check_source_owner(session: Session, res: Resource, n: int, org_id: int | None, bag: ErrorBag) -> None:
    """Whose data a library may fuse: its own org's resources, or — for the data authority
    (数据主管部门) that builds base and theme libraries — any org's in its region or below. A
    department gets another department's data by a share request (minimum necessary, approved),
    never by defining a library over it."""
    if org_id is None or res.org_id == org_id:
        return
    within = region_path(session, res.region_id).startswith(org_region_path(session, org_id))
    if is_authority(session, org_id) and within:
        return
    bag.add(f"sources.{n}.resource", "library_source_not_authorised",
            "资源库只能使用本单位的信息资源，或由数据主管部门汇聚本地区的信息资源；“{value}”请通过共享申请获取",
            value=Data(res.code))


def check_library_source(session: Session, res: Resource, s: SourceDef, n: int, kind: str,
                         bag: ErrorBag) -> None:
    """A source that is a library: of the same entity kind, mapped by key and canonical items."""
    if not is_library(session, res.id):
        return
    row = published_row(session, res)
    if row is not None and row.kind != kind:
        bag.add(f"sources.{n}.resource", "library_source_kind", "来源资源库“{value}”的实体类型是{kind}，与本资源库不同",
                value=Data(s.resource), kind=row.kind)
    prov = provenance_names(res)
    for path, name in [(f"sources.{n}.key", s.key), *((f"sources.{n}.items.{c}", v) for c, v in s.items.items())]:
        if name in prov:
            bag.add(path, "library_provenance_item", "“{value}”是资源库的出处信息项，不能作为来源信息项",
                    value=Data(name))


# --- reading ------------------------------------------------------------------------------------


def of_library(session: Session, resource: Resource, version: int | None = None) -> Effective | None:
    """A library's effective definition at a version (default: published, else current); None
    when it cannot be formed (its parent retired)."""
    v = version or resource.published_version or resource.version
    row = definition_at(session, resource.id, v)
    if row is None:
        return None
    try:
        return effective(session, DefinitionIn.model_validate(row.definition),
                         region_path(session, resource.region_id), (resource.code,))
    except DomainError:
        return None


def links(session: Session, resource: Resource) -> dict[str, Any]:
    """What a library draws on besides plain resources, for the API, CLI and console: the library
    it extends and its source libraries (code, id, name)."""
    row = definition_at(session, resource.id, resource.published_version or resource.version)
    d = DefinitionIn.model_validate(row.definition) if row else None

    def brief(code: str) -> dict[str, Any]:
        r = resource_by_code(session, code)
        return {"code": code, "id": r.id if r else None, "name": r.name if r else None}

    libs = [s.resource for s in (d.sources if d else [])
            if (r := resource_by_code(session, s.resource)) is not None and is_library(session, r.id)]
    return {"extends": brief(d.extends) if d and d.extends else None,
            "extends_version": d.extends_version if d else None,
            "source_libraries": [brief(c) for c in libs]}
