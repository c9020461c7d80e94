"""Listing, search, facets and sorting over the open datasets — what the portal's /datasets, the
home page and the CKAN API's package_search answer from.

The open set (open.datasets.open_condition: published, not retired, 无条件/有条件开放) is small
enough to hold in memory: one `OpenIndex` per database, its facet fields as numpy arrays, so a
page with counts for six facets costs a few array operations instead of six GROUP BYs. It is
rebuilt when the catalogue changes: the ledger head is checked on every call, and a new head
only rebuilds when an event in between is about resources, quality scores, batches or orgs
(every such change appends its ledger event in the same transaction). Download counts move on
every download and are re-read at most every DOWNLOADS_TTL seconds. Chinese words are matched
by the catalogue's full-text index (yibenzhang.search: jieba tokens in FTS5 or a tsvector).
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from ..catalog import formats
from ..catalog.formats import formats_of
from ..catalog.model import Resource
from ..enums import OpenType, UpdateCycle
from ..errors import ErrorBag
from ..i18n import N_
from ..orgs.model import Org, Region
from ..search import index as search_index
from ..search import model as search_model
from ..search.query import check_page, match
from ..search.segment import query_words
from ..zone.model import BatchStatus
from .datasets import OPEN_TYPES, open_condition
from .model import OpenUsage

# 领域: the priority domains of opening (DOMAIN §6, 004:713) — the same list demands are filed
# under (open.model.DEMAND_DOMAINS) — as (CKAN group name, label, category prefixes, words in the
# name or keywords). A dataset may sit in several; one in none is 其他.
DOMAINS: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("education", N_("教育"), ("213", "302"), (N_("教育"), "学校", "学籍", "招生", "学生")),
    ("health", N_("医疗"), ("202", "316", "320"), (N_("医疗"), "医院", "医保", "卫生", "疫苗", "诊疗", "药品")),
    ("employment", N_("就业"), ("214", "307"), (N_("就业"), "失业", "招聘", "职业", "创业", "人才")),
    ("culture-tourism", N_("文旅"), ("216", "315"), ("旅游", "景区", "文化", "文物", "博物馆")),
    ("sports", N_("体育"), (), (N_("体育"), "健身", "运动", "赛事", "场馆")),
    ("public-transport", N_("公共交通"), ("215", "311", "326"), ("公交", "地铁", N_("公共交通"), "客流", "出行")),
    ("emergency", N_("应急"), ("211", "317", "205"), (N_("应急"), "灾害", "预警", "救灾", "消防", "避难")),
    ("finance", N_("金融"), ("104", "105", "306", "321"), (N_("金融"), "信贷", "贷款", "银行", "保险", "融资", "纳税")),
)
OTHER_DOMAIN = ("other", N_("其他"))
DOMAIN_LABELS: dict[str, str] = {slug: label for slug, label, _, _ in DOMAINS} | {OTHER_DOMAIN[0]: OTHER_DOMAIN[1]}
DOMAIN_SLUGS: dict[str, str] = {label: slug for slug, label in DOMAIN_LABELS.items()}

FACETS = ("domain", "org", "region", "format", "update_cycle", "open_type")
SORTS = ("relevance", "newest", "downloads", "quality", "name")
MAX_LIMIT = 1000  # CKAN's package_search allows rows up to 1000
MAX_OFFSET = 100_000
DOWNLOADS_TTL = 30.0  # seconds a download count may lag (ours: "most downloaded" is not a live figure)
FACET_TOP = 15  # org and region entries shown per facet (the largest)
# Ledger actions after which the open set may have changed (see the module docstring).
RELEVANT_ACTIONS = ("catalog.%", "quality.assess%", "zone.batch.%", "org.%")
IGNORED_ACTIONS = ("catalog.system.", "catalog.list.", "catalog.duty_change.")  # no listing changes
_CYCLES = UpdateCycle.values()
_OPEN = list(OPEN_TYPES)


_HINTS = [(slug, prefixes, re.compile("|".join(map(re.escape, hints))) if hints else None)
          for slug, _, prefixes, hints in DOMAINS]


def domains_of(category_code: str, name: str, keywords: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """The 领域 slugs of a dataset: by its category, and by words in its name or keywords."""
    words = name + " " + " ".join(str(k) for k in keywords)
    found = [slug for slug, prefixes, hints in _HINTS
             if (prefixes and category_code.startswith(prefixes)) or (hints is not None and hints.search(words))]
    return tuple(found) or (OTHER_DOMAIN[0],)


def format_label(fmt: str) -> str:
    """A facet value or a ?format= parameter as the facet shows it (“csv”, “Excel” → CSV, XLS)."""
    return formats.label(formats.canonical(fmt) or fmt)


@dataclass
class Dataset:
    """One open dataset as listed (from the search index row of its published snapshot)."""

    id: int
    code: str
    name: str
    abstract: str
    org_id: int
    org_name: str
    region_id: int
    region_code: str
    region_name: str
    category_code: str
    open_type: str
    format_kind: str
    formats: tuple[str, ...]
    update_cycle: str
    sort_time: datetime | None
    keywords: tuple[str, ...]
    domains: tuple[str, ...]
    quality: float | None
    has_data: bool  # rows collected and some item may leave: the downloads hold data
    record_count: int | None
    downloads: int = 0

    @property
    def name_slug(self) -> str:
        """CKAN-style name: lowercase and URL-safe, from the 信息资源代码 (101001/000003 → 101001-000003)."""
        return ckan_name(self.code)

    def as_dict(self) -> dict[str, Any]:
        return {**{k: getattr(self, k) for k in self.__dataclass_fields__}, "name_slug": self.name_slug,
                "domain_labels": [DOMAIN_LABELS[d] for d in self.domains]}


def ckan_name(code: str) -> str:
    return code.lower().replace("/", "-")


def _bits(values: list[tuple[int, ...]]) -> Any:
    out = np.zeros(len(values), dtype=np.uint64)
    for i, v in enumerate(values):
        for b in v:
            out[i] |= np.uint64(1 << b)
    return out


def _nothing_leaves(session: Session, ids: set[int]) -> set[int]:
    """Datasets with rows of which no item may leave by 开放下载 (e.g. every item ungraded or
    personal): they offer no downloads, no CKAN resources and no DCAT distributions, since each
    would be refused (masking_all_denied)."""
    # deferred: keeps duckdb, sqlglot out of this module's import
    from . import downloads

    out = set()
    for rid in ids:
        resource = session.get(Resource, rid)
        if resource is not None and not downloads.shape(session, resource).plan.leaving:
            out.add(rid)
    return out


def _load(session: Session, orgs: dict[int, tuple[str, str]], regions: dict[int, tuple[str, str, str]],
          ids: list[int] | None = None) -> list[Dataset]:
    """The open datasets (all, or those of `ids` that are open), ordered by id."""
    docs = search_model.docs
    stmt = (
        select(docs.c.resource_id, docs.c.code, docs.c.name, docs.c.abstract, docs.c.org_id,
               docs.c.region_code, docs.c.category_code, docs.c.format_kind, docs.c.update_cycle,
               docs.c.sort_time, Resource.open_type, Resource.format_detail, Resource.keywords,
               Resource.record_count, Resource.region_id)
        # open now (the live row) and as published (the snapshot the index holds): an edit under
        # review neither opens a closed dataset nor shows what is not yet approved
        .join(Resource, Resource.id == docs.c.resource_id).where(open_condition(), docs.c.open_type.in_(OPEN_TYPES))
        .order_by(docs.c.resource_id))
    quality_sql = ("SELECT resource_id, overall FROM quality_runs WHERE id IN "
                   "(SELECT max(id) FROM quality_runs {where} GROUP BY resource_id)")
    data_sql = "SELECT DISTINCT resource_id FROM zone_batches WHERE status = :s {where}"
    params: dict[str, Any] = {"s": BatchStatus.PUBLISHED.value}
    if ids is not None:
        stmt = stmt.where(docs.c.resource_id.in_(ids))
        listed = ", ".join(str(int(i)) for i in ids) or "NULL"
        quality_sql = quality_sql.format(where=f"WHERE resource_id IN ({listed})")
        data_sql = data_sql.format(where=f"AND resource_id IN ({listed})")
    else:
        quality_sql, data_sql = quality_sql.format(where=""), data_sql.format(where="")
    rows = session.execute(stmt).all()
    quality = dict(session.execute(text(quality_sql)).all())
    with_data = set(session.execute(text(data_sql), params).scalars())
    with_data -= _nothing_leaves(session, with_data)
    region_by_code = {c: i for i, (c, _, _) in regions.items()}
    out: list[Dataset] = []
    formats: dict[tuple[str | None, str], tuple[str, ...]] = {}  # few distinct declarations
    for r in rows:
        fmts = formats.get((r.format_detail, r.format_kind))
        if fmts is None:
            fmts = tuple(format_label(f) for f in formats_of({"format_detail": r.format_detail,
                                                                "format_kind": r.format_kind}))
            formats[(r.format_detail, r.format_kind)] = fmts
        kws = tuple(str(k) for k in (r.keywords or []))
        region_id = region_by_code.get(r.region_code, r.region_id)
        sort_time = r.sort_time
        if sort_time is not None and sort_time.tzinfo is None:
            sort_time = sort_time.replace(tzinfo=UTC)
        out.append(Dataset(
            id=r.resource_id, code=r.code, name=r.name, abstract=r.abstract or "", org_id=r.org_id,
            org_name=orgs.get(r.org_id, ("", ""))[0], region_id=region_id,
            region_code=r.region_code or "", region_name=regions.get(region_id, ("", "", ""))[1],
            category_code=r.category_code, open_type=r.open_type, format_kind=r.format_kind, formats=fmts,
            update_cycle=r.update_cycle, sort_time=sort_time, keywords=kws,
            domains=domains_of(r.category_code, r.name, kws), quality=quality.get(r.resource_id),
            has_data=r.resource_id in with_data, record_count=r.record_count))
    return out


class OpenIndex:
    """The open datasets of one database state, with their facet fields as arrays. Never changed
    once built (requests read it without locks): a change builds a new one (`build`, `patched`)."""

    def __init__(self, head: tuple[Any, ...], generation: int, orgs: dict[int, tuple[str, str]],
                 regions: dict[int, tuple[str, str, str]], datasets: list[Dataset]) -> None:
        self.head, self.generation = head, generation
        self.built_at = time.time()
        self.orgs, self.regions, self.datasets = orgs, regions, datasets
        ds = self.datasets
        self.ids = np.array([d.id for d in ds], dtype=np.int64)
        self.by_id = {d.id: i for i, d in enumerate(ds)}
        self.by_name = {d.name_slug: i for i, d in enumerate(ds)}
        self.org = np.array([d.org_id for d in ds], dtype=np.int64)
        self.region = np.array([d.region_id for d in ds], dtype=np.int64)
        self.format_vocab = sorted({f for d in ds for f in d.formats})
        fpos = {f: i for i, f in enumerate(self.format_vocab)}
        self.format_bits = _bits([tuple(fpos[f] for f in d.formats) for d in ds])
        dpos = {slug: i for i, slug in enumerate(DOMAIN_LABELS)}
        self.domain_bits = _bits([tuple(dpos[s] for s in d.domains) for d in ds])
        self.cycle = np.array([_CYCLES.index(d.update_cycle) if d.update_cycle in _CYCLES else 255 for d in ds],
                              dtype=np.uint8)
        self.open = np.array([_OPEN.index(d.open_type) for d in ds], dtype=np.uint8)
        self.time = np.array([d.sort_time.timestamp() if d.sort_time else 0.0 for d in ds], dtype=np.float64)
        self.quality = np.array([d.quality if d.quality is not None else -1.0 for d in ds], dtype=np.float64)
        self.downloads = np.array([d.downloads for d in ds], dtype=np.int64)
        self.has_data = np.array([d.has_data for d in ds], dtype=bool)
        self.name_rank = np.argsort(np.argsort(np.array([d.name_slug for d in ds], dtype=object), kind="stable"))
        self.tags: dict[str, Any] = {}
        for i, d in enumerate(ds):
            for k in d.keywords:
                self.tags.setdefault(k, []).append(i)
        self.tags = {k: np.array(v, dtype=np.int64) for k, v in self.tags.items()}
        # the same as (dataset position, tag id) pairs, for counting tags over a result with bincount
        self.tag_names = list(self.tags)
        self.tag_pos = np.concatenate([self.tags[k] for k in self.tag_names]) if self.tags \
            else np.zeros(0, dtype=np.int64)
        self.tag_ids = np.repeat(np.arange(len(self.tag_names), dtype=np.int64),
                                 [len(self.tags[k]) for k in self.tag_names])
        self.totals = {"downloads": 0, "api_calls": 0}
        self.downloads_at = 0.0
        self.matches: OrderedDict[tuple[str, ...], dict[int, float]] = OrderedDict()
        self.lock = threading.Lock()
        self.cache: dict[Any, Any] = {}  # what others derive from this state (DCAT documents)

    @classmethod
    def build(cls, session: Session, head: tuple[Any, ...], generation: int) -> OpenIndex:
        orgs = {i: (n, u) for i, n, u in session.execute(select(Org.id, Org.name, Org.uscc))}
        regions = {i: (c, n, p) for i, c, n, p in session.execute(
            select(Region.id, Region.code, Region.name, Region.path))}
        return cls(head, generation, orgs, regions, _load(session, orgs, regions))

    def patched(self, session: Session, head: tuple[Any, ...], ids: set[int]) -> OpenIndex:
        """A new index with these resources re-read (added, changed or gone); the rest is kept."""
        fresh = _load(session, self.orgs, self.regions, sorted(ids))
        kept = [d for d in self.datasets if d.id not in ids]
        merged = sorted(kept + fresh, key=lambda d: d.id)
        out = OpenIndex(head, self.generation, self.orgs, self.regions, merged)
        out.totals = self.totals  # download counts are re-read at once (downloads_at = 0)
        return out

    def __len__(self) -> int:
        return len(self.datasets)

    def refresh_downloads(self, session: Session, force: bool = False) -> None:
        if not force and time.time() - self.downloads_at < DOWNLOADS_TTL:
            return
        counts, totals = _usage(session)
        arr = np.zeros(len(self.datasets), dtype=np.int64)
        for rid, n in counts.items():
            pos = self.by_id.get(rid)
            if pos is not None:
                arr[pos] = n
        for d, n in zip(self.datasets, arr.tolist(), strict=True):
            d.downloads = n
        self.downloads, self.totals, self.downloads_at = arr, totals, time.time()


def _usage(session: Session) -> tuple[dict[int, int], dict[str, int]]:
    """Downloads per dataset and the totals of downloads and API calls (O1's open_usage)."""
    try:
        pass
    except ImportError:  # the open stage's tables are not part of this installation
        return {}, {"downloads": 0, "api_calls": 0}
    is_download = OpenUsage.kind.like("download%")
    counts = dict(session.execute(select(OpenUsage.resource_id, func.sum(OpenUsage.count))
                                  .where(is_download).group_by(OpenUsage.resource_id)).all())
    api = session.execute(select(func.coalesce(func.sum(OpenUsage.count), 0))
                          .where(~is_download)).scalar_one()
    return {int(k): int(v or 0) for k, v in counts.items()}, {"downloads": int(sum(counts.values())),
                                                                "api_calls": int(api or 0)}


_indexes: dict[str, OpenIndex] = {}
_build_lock = threading.Lock()


def _head(session: Session) -> tuple[Any, ...]:
    row = session.execute(text("SELECT seq, digest FROM ledger_events ORDER BY seq DESC LIMIT 1")).first()
    return tuple(row) if row else ()


PATCH_LIMIT = 200  # more changed resources than this since the last state: build afresh


def _changes(session: Session, idx: OpenIndex, head: tuple[Any, ...]) -> set[int] | None:
    """The resources whose open listing may have changed between the index's state and `head`
    (empty: nothing relevant happened); None when the index must be built afresh (another
    history, an org or a bulk change, too many changes)."""
    if idx.head == head:
        return set()
    if not idx.head or not head or head[0] < idx.head[0]:
        return None
    same = session.execute(text("SELECT digest FROM ledger_events WHERE seq = :s"), {"s": idx.head[0]}).scalar()
    if same != idx.head[1]:  # another history (a recreated store)
        return None
    likes = " OR ".join(f"action LIKE :a{i}" for i in range(len(RELEVANT_ACTIONS)))
    events = session.execute(
        text(f"SELECT action, subject_type, subject_id FROM ledger_events WHERE seq > :lo AND seq <= :hi AND "
             f"({likes}) LIMIT {PATCH_LIMIT + 1}"),
        {"lo": idx.head[0], "hi": head[0], **{f"a{i}": a for i, a in enumerate(RELEVANT_ACTIONS)}}).all()
    if len(events) > PATCH_LIMIT:
        return None
    ids: set[int] = set()
    batches: list[int] = []
    for action, subject_type, subject_id in events:
        if action.startswith(IGNORED_ACTIONS):
            continue
        if not str(subject_id).isdigit():
            return None
        if subject_type == "resource":
            ids.add(int(subject_id))
        elif subject_type == "batch":
            batches.append(int(subject_id))
        else:  # an org, an import: names or many resources at once
            return None
    if batches:
        ids.update(session.execute(text("SELECT resource_id FROM zone_batches WHERE id IN "
                                        f"({', '.join(map(str, batches))})")).scalars())
    return ids


def open_index(session: Session) -> OpenIndex:
    """The open index of this session's database, brought up to date with the ledger."""
    key = str(session.get_bind().url)
    head, generation = _head(session), search_index.facet_cache.generation
    idx = _indexes.get(key)
    if idx is None or idx.head != head or idx.generation != generation:
        with _build_lock:
            idx = _indexes.get(key)
            # The search index's generation moves with every index write; with an unchanged ledger
            # head it means a bulk write without events (catalog.search.reindex_all): build afresh.
            bulk = idx is not None and idx.generation != generation and idx.head == head
            changes = _changes(session, idx, head) if idx is not None and not bulk else None
            if changes is None:
                idx = OpenIndex.build(session, head, generation)
            elif changes:
                idx = idx.patched(session, head, changes)
            else:
                idx.head = head  # nothing relevant happened: the same index serves the new state
            idx.generation = generation
            _indexes[key] = idx
    idx.refresh_downloads(session)
    return idx


def reset() -> None:
    """Forget every cached index (tests and benchmarks that rebuild a store in place)."""
    _indexes.clear()


# --- querying ------------------------------------------------------------------------------------


@dataclass
class PortalQuery:
    q: str = ""
    domain: str | None = None  # slug or label
    org_id: int | None = None
    region_code: str | None = None  # that region and every region below it
    format: str | None = None
    update_cycle: str | None = None
    open_type: str | None = None
    tags: tuple[str, ...] = ()
    has_data: bool | None = None  # rows collected (so the downloads hold data)
    sort: str = ""  # relevance (default with words) | newest (default) | downloads | quality | name
    limit: int = 20
    offset: int = 0


@dataclass
class PortalResult:
    total: int
    items: list[Dataset]
    facets: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    sort: str = "newest"
    all_open: int = 0
    hits: Any = None  # index positions of every match, in order


def _validated(query: PortalQuery) -> PortalQuery:
    bag = ErrorBag()
    sort = query.sort or ("relevance" if query.q.strip() else "newest")
    check_page(bag, sort, SORTS, query.limit, MAX_LIMIT, query.offset, MAX_OFFSET)
    bag.raise_if_any()
    return PortalQuery(**{**query.__dict__, "sort": sort})


def _text_matches(session: Session, idx: OpenIndex, words: list[str]) -> dict[int, float]:
    """Positions in the index of the datasets matching every word → relevance (higher is better):
    the exact name first, then how many words are in the name, then bm25 / ts_rank_cd."""
    key = tuple(words)
    with idx.lock:
        hit = idx.matches.get(key)
        if hit is not None:
            idx.matches.move_to_end(key)
            return hit
    cond, relevance, on_fts = match(session, words)
    if on_fts:
        stmt = select(search_model.fts.c.rowid, relevance).where(cond)
    else:
        stmt = select(search_model.docs.c.resource_id, relevance).select_from(search_model.docs).where(cond)
    phrase = "".join(words)
    out: dict[int, float] = {}
    for rid, rel in session.execute(stmt):
        pos = idx.by_id.get(rid)
        if pos is None:
            continue
        name = idx.datasets[pos].name.lower()
        in_name = sum(1 for w in words if w in name)
        out[pos] = (1000.0 if name == phrase else 0.0) + 100.0 * in_name + float(rel or 0)
    with idx.lock:
        idx.matches[key] = out
        while len(idx.matches) > 256:
            idx.matches.popitem(last=False)
    return out


def _masks(idx: OpenIndex, q: PortalQuery) -> dict[str, Any]:
    """One boolean array per selected filter (an unknown value matches nothing)."""
    n = len(idx)
    masks: dict[str, Any] = {}
    if q.domain:
        slug = q.domain if q.domain in DOMAIN_LABELS else DOMAIN_SLUGS.get(q.domain)
        bit = list(DOMAIN_LABELS).index(slug) if slug else None
        masks["domain"] = (idx.domain_bits >> np.uint64(bit)) & np.uint64(1) == 1 if bit is not None \
            else np.zeros(n, dtype=bool)
    if q.org_id is not None:
        masks["org"] = idx.org == q.org_id
    if q.region_code:
        paths = [p for c, _, p in idx.regions.values() if c == q.region_code]
        ids = [i for i, (_, _, p) in idx.regions.items() if paths and p.startswith(paths[0])]
        masks["region"] = np.isin(idx.region, np.array(ids, dtype=np.int64))
    if q.format:
        label = format_label(q.format.strip())
        if label not in idx.format_vocab:
            label = next((f for f in idx.format_vocab if f.lower() == q.format.strip().lower()), "")
        masks["format"] = ((idx.format_bits >> np.uint64(idx.format_vocab.index(label))) & np.uint64(1) == 1) \
            if label else np.zeros(n, dtype=bool)
    if q.update_cycle:
        member = UpdateCycle.parse(q.update_cycle)
        masks["update_cycle"] = idx.cycle == (_CYCLES.index(member.value) if member else 254)
    if q.open_type:
        member = OpenType.parse(q.open_type)
        code = _OPEN.index(member.value) if member and member.value in _OPEN else 254
        masks["open_type"] = idx.open == code
    if q.has_data is not None:
        masks["has_data"] = idx.has_data == q.has_data
    for tag in q.tags:
        keep = np.zeros(n, dtype=bool)
        keep[idx.tags.get(tag, np.zeros(0, dtype=np.int64))] = True
        masks[f"tag:{tag}"] = keep
    return masks


def _facets(idx: OpenIndex, base: Any, masks: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Each facet counted under every filter but its own (the alternatives to a choice)."""
    def keep_for(name: str) -> Any:
        keep = base.copy()
        for other, mask in masks.items():
            if other != name:
                keep &= mask
        return keep

    out: dict[str, list[dict[str, Any]]] = {}
    keep = keep_for("domain")
    out["domain"] = [{"value": slug, "label": label,
                      "count": int(((idx.domain_bits[keep] >> np.uint64(b)) & np.uint64(1)).sum())}
                     for b, (slug, label) in enumerate(DOMAIN_LABELS.items())]
    keep = keep_for("format")
    out["format"] = [{"value": f, "label": f,
                      "count": int(((idx.format_bits[keep] >> np.uint64(b)) & np.uint64(1)).sum())}
                     for b, f in enumerate(idx.format_vocab)]
    keep = keep_for("update_cycle")
    counts = np.bincount(idx.cycle[keep], minlength=256)
    out["update_cycle"] = [{"value": c, "label": c, "count": int(counts[i])} for i, c in enumerate(_CYCLES)]
    keep = keep_for("open_type")
    counts = np.bincount(idx.open[keep], minlength=256)
    out["open_type"] = [{"value": o, "label": o, "count": int(counts[i])} for i, o in enumerate(_OPEN)]
    keep = keep_for("has_data")
    out["has_data"] = [{"value": True, "label": N_("有数据"), "count": int(idx.has_data[keep].sum())}]
    keep = keep_for("org")
    uniq, counts = np.unique(idx.org[keep], return_counts=True)
    out["org"] = [{"value": int(o), "label": idx.orgs.get(int(o), ("", ""))[0], "count": int(n)}
                  for o, n in zip(uniq.tolist(), counts.tolist(), strict=True)]
    keep = keep_for("region")
    uniq, counts = np.unique(idx.region[keep], return_counts=True)
    below: dict[int, int] = {}
    for rid, n in zip(uniq.tolist(), counts.tolist(), strict=True):
        path = idx.regions.get(rid, ("", "", ""))[2]
        for part in path.strip("/").split("/"):
            if part.isdigit():  # the region and every region above it
                below[int(part)] = below.get(int(part), 0) + n
    out["region"] = [{"value": idx.regions[r][0], "label": idx.regions[r][1], "count": n}
                     for r, n in below.items() if r in idx.regions]
    for name, entries in out.items():
        entries[:] = [e for e in entries if e["count"]]
        if name in ("org", "region", "format"):
            entries.sort(key=lambda e: (-e["count"], str(e["value"])))
            if name != "format":
                del entries[FACET_TOP:]
    return out


def query_open(session: Session, query: PortalQuery) -> PortalResult:
    """A page of open datasets under the query, with the facet counts and the total."""
    query = _validated(query)
    idx = open_index(session)
    n = len(idx)
    words = query_words(query.q) if query.q.strip() else []
    relevance: Any = None
    if query.q.strip():
        matched = _text_matches(session, idx, words) if words else {}
        base = np.zeros(n, dtype=bool)
        relevance = np.zeros(n, dtype=np.float64)
        if matched:
            pos = np.fromiter(matched.keys(), dtype=np.int64, count=len(matched))
            base[pos] = True
            relevance[pos] = np.fromiter(matched.values(), dtype=np.float64, count=len(matched))
    else:
        base = np.ones(n, dtype=bool)
    masks = _masks(idx, query)
    facets = _facets(idx, base, masks)
    keep = base.copy()
    for mask in masks.values():
        keep &= mask
    hits = np.flatnonzero(keep)
    sort = query.sort if (query.sort != "relevance" or relevance is not None) else "newest"
    # np.lexsort: the last key is the primary one; every order ends newest first, then by id.
    keys: list[Any] = [-idx.ids[hits], -idx.time[hits]]
    if sort == "relevance":
        keys.append(-relevance[hits])
    elif sort == "downloads":
        keys.append(-idx.downloads[hits])
    elif sort == "quality":
        keys.append(-idx.quality[hits])
    elif sort == "name":
        keys.append(idx.name_rank[hits])
    order = hits[np.lexsort(keys)] if len(hits) else hits
    page = order[query.offset:query.offset + query.limit].tolist()
    return PortalResult(total=len(hits), items=[idx.datasets[i] for i in page], facets=facets, sort=sort,
                        all_open=n, hits=order)


def find_dataset(session: Session, id_or_name: str | int) -> Dataset | None:
    """An open dataset by id, 信息资源代码 or CKAN name; None when there is none (or it is not open)."""
    idx = open_index(session)
    raw = str(id_or_name).strip()
    pos = idx.by_id.get(int(raw)) if raw.isdigit() else idx.by_name.get(ckan_name(raw))
    return idx.datasets[pos] if pos is not None else None


def highlights(session: Session, per: int = 6) -> dict[str, Any]:
    """The home page: counts, the newest and most downloaded datasets, the priority domains."""
    idx = open_index(session)
    newest = query_open(session, PortalQuery(sort="newest", limit=per))
    popular = query_open(session, PortalQuery(sort="downloads", limit=per))
    return {"datasets": len(idx), "orgs": len(set(idx.org.tolist())), "downloads": idx.totals["downloads"],
            "api_calls": idx.totals["api_calls"], "newest": newest.items, "popular": popular.items,
            "domains": [e for e in newest.facets["domain"] if e["value"] != OTHER_DOMAIN[0]]}


__all__ = ["DOMAINS", "DOMAIN_LABELS", "FACETS", "SORTS", "Dataset", "OpenIndex", "PortalQuery", "PortalResult",
           "ckan_name", "domains_of", "find_dataset", "highlights", "open_index", "query_open", "reset"]
