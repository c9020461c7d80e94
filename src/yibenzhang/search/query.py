"""Catalogue search: Chinese full text with facets over what the actor may see.

Text is segmented with jieba (search mode, plus a user dictionary of catalogue terms) and stored
as space-joined tokens: SQLite keeps them in an FTS5 table ranked by bm25 with column weights,
PostgreSQL in a weighted tsvector ranked by ts_rank_cd. Everything else — the one row per
resource in `search_docs` that search displays, filters and counts facets on, query parsing,
visibility — is shared, so the two stores answer the same question the same way.

A published resource is indexed from its published snapshot, so edits under review never leak
into search; a never-published one from its working copy (only insiders can see it anyway).
"""

from __future__ import annotations

import logging
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

import numpy as np
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ColumnElement,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    bindparam,
    case,
    column,
    func,
    inspect,
    literal_column,
    or_,
    select,
    table,
    text,
)
from sqlalchemy.orm import Session

from ..access import Actor, can_read_all
from ..catalog.model import Category, Resource, ResourceItem, ResourceVersion
from ..db import UTCDateTime
from ..enums import FormatKind, Library, OpenType, ResourceClass, ResourceStatus, ShareType, UpdateCycle
from ..errors import ErrorBag
from ..orgs.model import Org, Region

log = logging.getLogger(__name__)

# --- tables (created by migrations 0002 and 0007) ----------------------------------------------

_meta = MetaData()
docs = Table(
    "search_docs", _meta,
    Column("resource_id", Integer, primary_key=True),
    Column("code", String(20)),
    Column("name", String(200)),
    Column("abstract", Text),
    Column("org_id", Integer),
    Column("org_name", String(200)),
    Column("region_code", String(6)),
    Column("region_name", String(100)),
    Column("category_code", String(9)),
    Column("resource_class", String(8)),
    Column("library", String(8)),
    Column("share_type", String(16)),
    Column("open_type", String(16)),
    Column("format_kind", String(16)),
    Column("update_cycle", String(8)),
    Column("status", String(8)),
    Column("sort_time", UTCDateTime(timezone=True)),
)
# One narrow row per search_docs row: what search counts, filters and pages on as small values —
# the snapshot's org and region (as regions.id), the seven fixed-vocabulary facets packed in `codes`
# (FKEY_BITS each, code = position in the enum + 1, 0 = none) — and, prefixed v_, the live
# resources fields catalog.service.visible_to decides by. Counting then reads no wide row.
fac = Table(
    "search_facets", _meta,
    Column("resource_id", Integer, primary_key=True),
    Column("org_id", Integer),
    Column("region_id", Integer),
    Column("codes", BigInteger),
    Column("category_code", String(9)),
    Column("sort_time", UTCDateTime(timezone=True)),
    Column("name", String(200)),
    Column("v_published", Boolean),
    Column("v_status", String(8)),
    Column("v_open_type", String(16)),
    Column("v_org_id", Integer),
    Column("v_region_id", Integer),
)
_fts = table("search_fts", column("rowid"))
_DOC_COLUMNS = [c.name for c in docs.columns]

# bm25 column weights of search_fts (name, keywords, items, context, abstract): a word in the
# name counts far more than one in an item or the abstract.
FTS_WEIGHTS = (10.0, 4.0, 3.0, 2.0, 1.0)

# --- segmentation ------------------------------------------------------------------------------

# Catalogue terms kept whole, so 营业执照 or 公民身份号码 are words, not pieces.
USER_TERMS = (
    "人口", "户籍", "户籍人口", "流动人口", "常住人口", "法人", "非法人组织", "营业执照", "不动产", "不动产登记",
    "不动产权证", "社会信用", "统一社会信用代码", "信用代码", "电子证照", "公民身份号码", "身份证号", "身份证",
    "社会保险", "社保", "医保", "医疗保险", "养老保险", "失业保险", "工伤保险", "公积金", "住房公积金",
    "婚姻登记", "出生医学证明", "死亡医学证明", "低保", "最低生活保障", "特困", "残疾人", "个体工商户",
    "行政许可", "行政处罚", "失信", "守信", "失信被执行人", "联合惩戒", "宅基地", "排污许可", "食品经营许可",
    "药品经营许可", "特种设备", "学籍", "机动车", "驾驶证", "行驶证", "退役军人", "网格员", "地名地址",
    "遥感影像", "水质监测", "用电户", "燃气用户", "公交线路", "客流", "纳税人", "发票", "政府采购",
    "预算", "社会组织", "老年人", "高龄津贴", "困难群众", "义务教育", "招生考试", "执业医师", "医疗机构",
    "疫苗接种", "传染病", "核酸检测", "危险化学品", "安全生产许可", "建设工程", "施工许可", "商品房",
    "房屋租赁", "二手房", "网签备案", "企业年报", "股权出质", "动产抵押", "经营异常", "严重违法",
    "抽检", "双随机", "信访", "矛盾纠纷", "12345", "热线", "公共信用", "信用评价", "信用修复",
)
STOPWORDS = frozenset(("的", "和", "与", "及", "或", "等", "了", "在", "是", "对", "中", "之", "其", "有", "为",
                       "以", "于", "由", "按", "从", "各"))
MAX_QUERY_CHARS = 200  # longer input is cut, not refused (a pasted paragraph must not error)
MAX_QUERY_WORDS = 16

_lock = threading.Lock()
_tokenizer: Any = None


def _jieba() -> Any:
    """One jieba tokenizer for the process, loaded quietly, with the catalogue terms added."""
    global _tokenizer
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                tk = jieba.Tokenizer()
                tk.initialize()
                # deferred: keeps `ybz --help` light
                from ..catalog.taxonomy import ITEMS

                terms = set(USER_TERMS)
                for items in ITEMS.values():
                    terms.update(name for name, _ in items.values() if len(name) <= 6)
                for term in terms:
                    tk.add_word(term, freq=max(tk.FREQ.get(term, 0), 20000))
                _tokenizer = tk
    return _tokenizer


def _normal(text_: str) -> str:
    return unicodedata.normalize("NFKC", text_).lower()


def _is_word(token: str) -> bool:
    return any(ch.isalnum() for ch in token) and token not in STOPWORDS


@lru_cache(maxsize=4096)
def _words(text_: str) -> tuple[str, ...]:
    """Precise-mode words (no HMM guessing, so a text and a query cut the same way)."""
    return tuple(w for w in (t.strip() for t in _jieba().cut(_normal(text_), HMM=False)) if _is_word(w))


@lru_cache(maxsize=200_000)
def segment(text_: str) -> tuple[str, ...]:
    """Search-mode tokens of a text: each word and the dictionary words inside it, so that
    营业执照信息 also yields 营业执照, 营业, 执照 (jieba.cut_for_search, extended to pieces longer
    than three characters)."""
    if not text_:
        return ()
    tk = _jieba()
    out: list[str] = []
    for word in tk.cut(_normal(text_), HMM=False):
        word = word.strip()
        if not _is_word(word):
            continue
        out.append(word)
        n = len(word)
        if n > 2:
            for size in range(2, n):
                for i in range(n - size + 1):
                    piece = word[i:i + size]
                    if tk.FREQ.get(piece) and _is_word(piece):
                        out.append(piece)
    return tuple(dict.fromkeys(out))


def _pieces(word: str) -> list[str] | None:
    """A cover of `word` by shorter dictionary words (营业执照 → 营业, 执照), or None. Lets a query
    word match a text where it sits inside a longer dictionary word."""
    tk = _jieba()
    out: list[str] = []
    i = 0
    while i < len(word):
        for size in range(len(word) - i - (1 if i == 0 else 0), 1, -1):
            piece = word[i:i + size]
            if tk.FREQ.get(piece):
                out.append(piece)
                i += size
                break
        else:
            return None
    return out if len(out) > 1 else None


def query_words(q: str) -> list[str]:
    """The words of a user query: at most MAX_QUERY_WORDS, from at most MAX_QUERY_CHARS. Quotes,
    `*`, `OR`, brackets are literal text: punctuation is dropped, words become quoted terms."""
    return list(dict.fromkeys(_words(q[:MAX_QUERY_CHARS])))[:MAX_QUERY_WORDS]


def _join(tokens: Iterable[str]) -> str:
    return " ".join(dict.fromkeys(tokens))


# --- facet cache ---------------------------------------------------------------------------------


class FacetCache:
    """Totals and facet counts of recent searches, per process. A key holds the ledger head (every
    catalogue change appends a ledger event in the same transaction as its index update, and the
    head digest differs for every history) and what decides visibility for the actor, so a hit is
    exactly what the query would count now. Writes through this module (bulk indexing, which has
    no ledger event) bump a generation that empties it."""

    def __init__(self, size: int = 512, max_cost: int = 1_000_000) -> None:
        self.size = size
        self.max_cost = max_cost  # bounds memory: a cached resource (combinations, ranking) costs 1
        self.enabled = True
        self.hits = self.misses = 0
        self._generation = 0
        self._data: dict[Any, tuple[Any, int]] = {}
        self._cost = 0
        self._lock = threading.Lock()

    def bump(self) -> None:
        with self._lock:
            self._generation += 1
            self._data.clear()
            self._cost = 0

    def clear(self) -> None:
        self.bump()
        self.hits = self.misses = 0

    def get(self, key: Any) -> Any:
        if not self.enabled:
            return None
        with self._lock:
            entry = self._data.pop(key, None)
            if entry is not None:
                self._data[key] = entry  # most recently used last
                self.hits += 1
                return entry[0]
            self.misses += 1
            return None

    def put(self, key: Any, value: Any, cost: int = 1) -> None:
        if not self.enabled:
            return
        with self._lock:
            old = self._data.pop(key, None)
            self._cost += cost - (old[1] if old else 0)
            self._data[key] = (value, cost)
            while len(self._data) > 1 and (len(self._data) > self.size or self._cost > self.max_cost):
                self._cost -= self._data.pop(next(iter(self._data)))[1]

    @property
    def generation(self) -> int:
        return self._generation


_facet_cache = FacetCache()
facet_cache = _facet_cache


def _ledger_head(session: Session) -> tuple[Any, ...]:
    row = session.execute(text("SELECT seq, digest FROM ledger_events ORDER BY seq DESC LIMIT 1")).first()
    return tuple(row) if row else ()


def _visibility_key(actor: Actor) -> tuple[Any, ...]:
    """Everything catalog.service.visible_to decides by."""
    if can_read_all(actor):
        return ("all",)
    return (actor.is_government, tuple(sorted(actor.org_ids())), tuple(sorted(actor.reviewer_paths())))


# --- indexing ----------------------------------------------------------------------------------


def doc_from_view(view: dict[str, Any], sort_time: datetime | None) -> dict[str, Any]:
    """The index row of a resource view (published snapshot or working copy): display fields,
    filter fields, and the segmented text of each weighted column."""
    region = view.get("region_name") or ""
    context = [view.get("org_name") or "", region, *(view.get("category_path") or [])]
    # The place without its level (春城市 → 春城): jieba may cut the full name differently.
    place = [_normal(region[:-1])] if len(region) > 2 and region[-1] in "省市县区" else []
    return {
        "resource_id": view["id"], "code": view["code"], "name": view["name"], "abstract": view["abstract"] or "",
        "org_id": view["org_id"], "org_name": view.get("org_name"), "region_code": view.get("region_code"),
        "region_name": view.get("region_name"), "category_code": view["category_code"],
        "resource_class": view.get("resource_class"), "library": view.get("library"),
        "share_type": view.get("share_type"), "open_type": view.get("open_type"),
        "format_kind": view.get("format_kind"), "update_cycle": view.get("update_cycle"),
        "status": view["status"], "sort_time": sort_time,
        "t_name": _join(segment(view["name"])),
        "t_keywords": _join(t for k in view.get("keywords") or [] for t in segment(str(k))),
        "t_items": _join(t for it in view.get("items") or [] for t in segment(it["name"])),
        "t_context": _join([*(t for part in context for t in segment(part)), *place]),
        "t_abstract": _join(segment(view["abstract"] or "")),
    }


def _is_sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


_COLS = ", ".join(_DOC_COLUMNS)
_VALUES = ", ".join(f":{c}" for c in _DOC_COLUMNS)
_INSERT_SQLITE_DOC = text(f"INSERT INTO search_docs ({_COLS}) VALUES ({_VALUES})")
_INSERT_SQLITE_FTS = text(
    "INSERT INTO search_fts (rowid, name, keywords, items, context, abstract) "
    "VALUES (:resource_id, :t_name, :t_keywords, :t_items, :t_context, :t_abstract)"
)
_INSERT_PG_DOC = text(
    f"INSERT INTO search_docs ({_COLS}, tsv) VALUES ({_VALUES}, "
    "setweight(to_tsvector('simple', :t_name), 'A') || "
    "setweight(to_tsvector('simple', :t_keywords || ' ' || :t_items), 'B') || "
    "setweight(to_tsvector('simple', :t_context), 'C') || "
    "setweight(to_tsvector('simple', :t_abstract), 'D'))"
)


def _delete(session: Session, ids: Sequence[int], facets: bool = True) -> None:
    if not ids:
        return
    _facet_cache.bump()
    tables = ["search_docs", *(["search_facets"] if facets else [])]
    for name in tables:
        session.execute(text(f"DELETE FROM {name} WHERE resource_id IN :ids").bindparams(
            bindparam("ids", expanding=True)), {"ids": list(ids)})
    if _is_sqlite(session):
        session.execute(text("DELETE FROM search_fts WHERE rowid IN :ids").bindparams(
            bindparam("ids", expanding=True)), {"ids": list(ids)})


def write_docs(session: Session, rows: list[dict[str, Any]], facets: bool = True) -> None:
    """Replace the index rows of these resources (one statement per table, batched).
    facets=False only while migration 0002 runs, before search_facets exists."""
    if not rows:
        return
    _facet_cache.bump()
    ids = [r["resource_id"] for r in rows]
    _delete(session, ids, facets)
    if _is_sqlite(session):
        session.execute(_INSERT_SQLITE_DOC, rows)
        session.execute(_INSERT_SQLITE_FTS, rows)
    else:
        session.execute(_INSERT_PG_DOC, rows)
    if facets:
        refresh_facets(session, ids)


FKEY_BITS = 5  # per packed facet: room for 31 values of an enumeration


# Visibility flags of the live resource `r`, packed above the facet codes: published (1 bit),
# status (2 bits), open type (2 bits) — what the combinations scan needs to apply visible_to.
_VFLAGS_SHIFT = 40
_RETIRED, _DRAFT, _OTHER, _NULL, _NOT_OPEN = 1, 2, 3, 0, 1


def _codes_sql() -> str:
    """SQL packing the seven enumerated facets of search_docs `d` and the visibility flags of
    resources `r` into one integer."""
    parts = []
    for i, name in enumerate(ENUM_FACETS):
        cases = " ".join(f"WHEN '{value}' THEN {code}" for value, code in _CODES[name].items())
        parts.append(f"CAST(CASE d.{name} {cases} ELSE 0 END AS BIGINT) * {1 << (FKEY_BITS * i)}")
    flags = (
        "CASE WHEN r.published_version IS NULL THEN 0 ELSE 1 END"
        f" + 2 * CASE r.status WHEN '{ResourceStatus.RETIRED.value}' THEN {_RETIRED}"
        f" WHEN '{ResourceStatus.DRAFT.value}' THEN {_DRAFT} ELSE {_OTHER} END"
        f" + 8 * CASE WHEN r.open_type IS NULL THEN {_NULL} WHEN r.open_type = '{OpenType.NOT_OPEN.value}'"
        f" THEN {_NOT_OPEN} ELSE {_OTHER} END"
    )
    parts.append(f"CAST({flags} AS BIGINT) * {1 << _VFLAGS_SHIFT}")
    return " + ".join(parts)


def refresh_facets(session: Session, ids: Sequence[int] | None) -> None:
    """(Re)build the search_facets rows of these resources (all when ids is None) from their
    search_docs rows and the live resources — one INSERT … SELECT, so every writer (indexing,
    bulk reindex, migration 0007) fills it the same way."""
    _facet_cache.bump()
    where = " WHERE d.resource_id IN :ids" if ids is not None else ""
    insert = text(
        "INSERT INTO search_facets (resource_id, org_id, region_id, codes, category_code, sort_time, name, v_published,"
        " v_status, v_open_type, v_org_id, v_region_id)"
        f" SELECT d.resource_id, d.org_id, g.id, {_codes_sql()}, d.category_code, d.sort_time, d.name,"
        " r.published_version IS NOT NULL, r.status, r.open_type, r.org_id, r.region_id"
        " FROM search_docs d JOIN resources r ON r.id = d.resource_id LEFT JOIN regions g ON g.code = d.region_code"
        + where
    )
    if ids is None:
        session.execute(text("DELETE FROM search_facets"))
        session.execute(insert)
        return
    if not ids:
        return
    delete = text("DELETE FROM search_facets WHERE resource_id IN :ids")
    for stmt in (delete, insert):
        session.execute(stmt.bindparams(bindparam("ids", expanding=True)), {"ids": list(ids)})


def _sort_time(resource: Resource) -> datetime | None:
    if resource.published_version is not None and resource.published_at is not None:
        return resource.published_at
    return resource.updated_at or resource.created_at


def index_resource(session: Session, resource: Resource, view: dict[str, Any]) -> None:
    """Update the search index entry of `resource` in the caller's transaction. The catalogue feeds
    the index: `view` is what it shows of the resource (its published snapshot where there is one,
    else the working copy); the index never calls back into catalog.service."""
    write_docs(session, [doc_from_view(view, _sort_time(resource))])


def unindex_resource(session: Session, resource_id: int) -> None:
    """Remove a resource's search index entry."""
    _delete(session, [resource_id])


def reindex_all(session: Session, batch: int = 2000) -> int:
    """Rebuild the whole index in batches (after a bulk load or on an existing catalogue).
    Same rows as index_resource: the published snapshot where there is one, else the working
    copy (assembled with a few queries per batch, not per resource)."""
    # Before migration 0007 (its backfill fills it) there is no search_facets table yet.
    facets = inspect(session.connection()).has_table("search_facets")
    session.execute(text("DELETE FROM search_docs"))
    if _is_sqlite(session):
        session.execute(text("DELETE FROM search_fts"))
    orgs = {o.id: o for o in session.execute(select(Org)).scalars()}
    regions = {r.id: r for r in session.execute(select(Region)).scalars()}
    cats = {c.code: c for c in session.execute(select(Category)).scalars()}

    def path(code: str) -> list[str]:
        names: list[str] = []
        node = cats.get(code)
        while node is not None:
            names.append(node.name)
            node = cats.get(node.parent_code) if node.parent_code else None
        return list(reversed(names))

    done, last = 0, 0
    cols = [c for c in Resource.__table__.columns if c.name != "keywords"] + [Resource.__table__.c.keywords]
    while True:
        rows = session.execute(select(*cols).where(Resource.id > last).order_by(Resource.id).limit(batch)).all()
        if not rows:
            break
        last = rows[-1].id
        ids = [r.id for r in rows]
        items: dict[int, list[dict[str, Any]]] = {i: [] for i in ids}
        for rid, name in session.execute(
            select(ResourceItem.resource_id, ResourceItem.name).where(ResourceItem.resource_id.in_(ids))
            .order_by(ResourceItem.resource_id, ResourceItem.position)
        ):
            items[rid].append({"name": name})
        snaps = {
            rid: snap for rid, snap in session.execute(
                select(ResourceVersion.resource_id, ResourceVersion.snapshot)
                .join(Resource, and_(Resource.id == ResourceVersion.resource_id,
                                     Resource.published_version == ResourceVersion.version))
                .where(ResourceVersion.resource_id.in_(ids))
            )
        }
        out = []
        for r in rows:
            if r.id in snaps:
                view = dict(snaps[r.id])
                retired = r.status == ResourceStatus.RETIRED.value
                view["status"] = r.status if retired else ResourceStatus.PUBLISHED.value
            else:
                org, region, cat_path = orgs.get(r.org_id), regions.get(r.region_id), path(r.category_code)
                view = {
                    "id": r.id, "code": r.code, "name": r.name, "abstract": r.abstract, "org_id": r.org_id,
                    "org_name": org.name if org else None, "region_code": region.code if region else None,
                    "region_name": region.name if region else None, "category_code": r.category_code,
                    "category_path": cat_path, "resource_class": cat_path[0] if cat_path else None,
                    "library": r.library, "share_type": r.share_type, "open_type": r.open_type,
                    "format_kind": r.format_kind, "update_cycle": r.update_cycle, "keywords": r.keywords or [],
                    "status": r.status, "items": items[r.id],
                }
            published = r.published_version is not None and r.published_at is not None
            out.append(doc_from_view(view, r.published_at if published else (r.updated_at or r.created_at)))
        write_docs(session, out, facets=False)
        done += len(out)
    if facets:
        refresh_facets(session, None)
    return done


# --- querying ----------------------------------------------------------------------------------

SORTS = ("relevance", "newest", "name")
MAX_LIMIT = 100
MAX_OFFSET = 10_000
FACETS = ("org", "region", "resource_class", "library", "share_type", "open_type", "format_kind",
          "update_cycle", "status")
# Facets whose values are a fixed vocabulary: counted in one pass with a FILTER per value.
ENUM_FACETS: dict[str, Any] = {
    "resource_class": ResourceClass, "library": Library, "share_type": ShareType, "open_type": OpenType,
    "format_kind": FormatKind, "update_cycle": UpdateCycle, "status": ResourceStatus,
}
# code of each value in search_facets.codes: its position in the enumeration + 1 (0: none). Adding a
# value at the end keeps the codes; reordering or removing one needs reindex_all.
_CODES: dict[str, dict[str, int]] = {name: {v: i + 1 for i, v in enumerate(enum.values())}
                                     for name, enum in ENUM_FACETS.items()}
assert all(len(codes) < 1 << FKEY_BITS for codes in _CODES.values())


@dataclass
class SearchQuery:
    q: str = ""
    org_id: int | None = None
    region_code: str | None = None  # that region and every region below it
    resource_class: str | None = None  # 基础 / 主题 / 部门
    category_code: str | None = None  # prefix
    library: str | None = None
    share_type: str | None = None
    open_type: str | None = None
    format_kind: str | None = None
    update_cycle: str | None = None
    status: str | None = None
    sort: str = "relevance"  # relevance | newest | name
    limit: int = 20
    offset: int = 0


@dataclass
class SearchResult:
    total: int
    items: list[dict[str, Any]]
    facets: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _validated(session: Session, query: SearchQuery) -> tuple[SearchQuery, dict[str, Any]]:
    """Check every parameter (all errors at once); returns the clean query and the value of each
    selected facet filter (for the region: its path)."""
    bag = ErrorBag()
    conds: dict[str, Any] = {}
    values: dict[str, Any] = {}
    for name, enum in ENUM_FACETS.items():
        raw = getattr(query, name)
        if _blank(raw):
            values[name] = None
            continue
        member = enum.parse(raw)
        if member is None:
            bag.add(name, "unknown_value", "未知的取值“{value}”，可选：{allowed}", value=raw,
                    allowed="、".join(enum.values()))
        else:
            values[name] = member.value
            conds[name] = member.value
    if query.sort not in SORTS:
        bag.add("sort", "unknown_value", "未知的取值“{value}”，可选：{allowed}", value=query.sort,
                allowed="、".join(SORTS))
    if not 1 <= query.limit <= MAX_LIMIT:
        bag.add("limit", "search_limit_range", "每页条数应在1到{max}之间", max=MAX_LIMIT)
    if not 0 <= query.offset <= MAX_OFFSET:
        bag.add("offset", "search_offset_range", "起始位置应在0到{max}之间", max=MAX_OFFSET)
    if query.org_id is not None:
        conds["org"] = query.org_id
    region_code = None if _blank(query.region_code) else str(query.region_code).strip()
    if region_code:
        region = session.execute(select(Region).where(Region.code == region_code)).scalar_one_or_none()
        if region is None:
            bag.add("region_code", "region_unknown", "地区“{value}”不存在", value=region_code)
        else:
            conds["region"] = region.path
    category = None if _blank(query.category_code) else str(query.category_code).strip()
    if category and not category.isdigit():
        bag.add("category_code", "category_unknown", "分类代码“{value}”不存在", value=category)
    bag.raise_if_any()
    clean = SearchQuery(**{**query.__dict__, **values, "region_code": region_code, "category_code": category,
                           "q": (query.q or "")[:MAX_QUERY_CHARS]})
    return clean, conds


def _fts_word(word: str) -> str:
    """One query word as an FTS5 expression: a quoted string (so nothing in it is an operator),
    or its dictionary pieces, all of them."""
    def quoted(t: str) -> str:
        return '"' + t.replace('"', '""') + '"'

    pieces = _pieces(word)
    return f"({quoted(word)} OR ({' AND '.join(map(quoted, pieces))}))" if pieces else quoted(word)


def _match(session: Session, words: list[str]) -> tuple[ColumnElement[bool], ColumnElement[Any], bool]:
    """The full-text condition (AND of the words; a word also matches as its dictionary pieces)
    and its relevance expression (higher is better), for this dialect."""
    if _is_sqlite(session):
        expr = " AND ".join(_fts_word(w) for w in words)
        cond = literal_column("search_fts").op("MATCH")(bindparam("fts_query", expr))
        return cond, -func.bm25(literal_column("search_fts"), *FTS_WEIGHTS), True
    tsq: Any = None
    for w in words:
        term: Any = func.plainto_tsquery("simple", w)
        pieces = _pieces(w)
        if pieces:
            term = term.op("||")(func.plainto_tsquery("simple", " ".join(pieces)))
        tsq = term if tsq is None else tsq.op("&&")(term)
    tsv = literal_column("search_docs.tsv")
    return tsv.op("@@")(tsq), func.ts_rank_cd(tsv, tsq), False


def _visible(actor: Actor) -> ColumnElement[bool] | None:
    """catalog.service.visible_to over search_facets' copies of the live resource fields (kept in
    step by every index write), so the visible set needs no join. None: the actor sees all."""
    if can_read_all(actor):
        return None
    listed = and_(fac.c.v_published, fac.c.v_status != ResourceStatus.RETIRED.value)
    if not actor.is_government:
        listed = and_(listed, fac.c.v_open_type != OpenType.NOT_OPEN.value)
    visible: list[ColumnElement[bool]] = [listed]
    own = actor.org_ids()
    if own:
        visible.append(fac.c.v_org_id.in_(sorted(own)))
    paths = actor.reviewer_paths()
    if paths:
        in_region = select(Region.id).where(or_(*[Region.path.startswith(p) for p in paths]))
        visible.append(and_(fac.c.v_status != ResourceStatus.DRAFT.value, fac.c.v_region_id.in_(in_region)))
    return or_(*visible)


def _enum_code(name: str) -> ColumnElement[Any]:
    """The code of an enumerated facet, unpacked from search_facets.codes in SQL."""
    shift = FKEY_BITS * list(ENUM_FACETS).index(name)  # literals: PostgreSQL shifts a bigint by an int
    return fac.c.codes.op(">>")(literal_column(str(shift))).op("&")(literal_column(str((1 << FKEY_BITS) - 1)))


def _condition(name: str) -> ColumnElement[bool]:
    """The filter of one facet over search_facets, its value bound at execution (for the region:
    its path; for an enumeration: its code)."""
    value = bindparam(f"f_{name}")
    if name == "org":
        return fac.c.org_id == value
    if name == "region":
        return fac.c.region_id.in_(select(Region.id).where(Region.path.startswith(value)))
    return _enum_code(name) == value


@lru_cache(maxsize=512)
def _conditions(names: frozenset[str]) -> dict[str, ColumnElement[bool]]:
    return {name: _condition(name) for name in FACETS if name in names}


def _filter_params(filters: dict[str, Any]) -> dict[str, Any]:
    return {f"f_{k}": (_CODES[k][v] if k in _CODES else v) for k, v in filters.items()}


@dataclass(frozen=True)
class _Combos:
    """The query-matching set, one entry per resource: org, region, the facet codes and what
    visibility decides by — the same for every actor, so one scan serves them all; the facet
    counts of any actor under any filters are sums over it."""
    org: Any
    region: Any
    codes: dict[str, Any]
    published: Any  # v_published
    status: Any  # v_status: _RETIRED, _DRAFT or _OTHER
    open: Any  # v_open_type: _NULL, _NOT_OPEN or _OTHER
    v_org: Any
    v_region: Any

    @classmethod
    def of(cls, places: Any, fkey: Any, owner: Any) -> _Combos:
        # Narrow dtypes: a cached set costs about 26 bytes per resource.
        mask = (1 << FKEY_BITS) - 1
        codes = {name: ((fkey >> (FKEY_BITS * i)) & mask).astype(np.uint8) for i, name in enumerate(ENUM_FACETS)}
        flags = fkey >> _VFLAGS_SHIFT
        low = (1 << 32) - 1

        def ids(a: Any) -> Any:
            return a.astype(np.int32)

        return cls(ids(places >> 32), ids(places & low), codes, (flags & 1).astype(bool),
                   ((flags >> 1) & 3).astype(np.uint8), ((flags >> 3) & 3).astype(np.uint8),
                   ids(owner >> 32), ids(owner & low))

    def __len__(self) -> int:
        return len(self.org)

    def visible(self, actor: Actor, names: _Names) -> Any:
        """catalog.service.visible_to, over the arrays (the same rules as _visible in SQL)."""
        if can_read_all(actor):
            return np.ones(len(self), dtype=bool)
        seen = self.published & (self.status != _RETIRED)
        if not actor.is_government:
            seen &= self.open == _OTHER  # NULL != '不予开放' is not true in SQL either
        own = actor.org_ids()
        if own:
            seen |= np.isin(self.v_org, np.array(sorted(own), dtype=np.int64))
        paths = actor.reviewer_paths()
        if paths:
            ids = [i for i, (_, _, path) in names.regions.items() if any(path.startswith(p) for p in paths)]
            seen |= (self.status != _DRAFT) & np.isin(self.v_region, np.array(ids, dtype=np.int64))
        return seen


def _ints(csv: str | None) -> Any:
    return np.fromstring(csv, dtype=np.int64, sep=",") if csv else np.zeros(0, dtype=np.int64)


def _load_combos(session: Session, source: Any, where: list[ColumnElement[bool]], params: dict[str, Any]) -> _Combos:
    """One scan of the matching set, its three packed columns handed over as one string each
    (group_concat / string_agg: no Python object per row; the aggregates of one query see the
    rows in the same order). Ids are below 2**31, so two fit in one 64-bit integer."""
    shift = literal_column(str(1 << 32))
    cols = (fac.c.org_id.cast(BigInteger) * shift + func.coalesce(fac.c.region_id, 0), fac.c.codes,
            fac.c.v_org_id.cast(BigInteger) * shift + func.coalesce(fac.c.v_region_id, 0))
    if _is_sqlite(session):
        aggs = [func.group_concat(c) for c in cols]
    else:
        aggs = [func.string_agg(c.cast(Text), literal_column("','")) for c in cols]
    places, fkey, owner = (_ints(v) for v in session.execute(select(*aggs).select_from(source).where(*where),
                                                             params).one())
    if not len(places) == len(fkey) == len(owner):
        raise RuntimeError("search facets: aggregated columns out of step")
    return _Combos.of(places, fkey, owner)


@dataclass(frozen=True)
class _Names:
    orgs: dict[int, str]
    regions: dict[int, tuple[str, str, str]]  # id -> (code, name, path)


def _names(session: Session, state: tuple[Any, ...]) -> _Names:
    """Org and region names for facet labels (the current names), cached per catalogue state."""
    names = _facet_cache.get(("names", *state))
    if names is None:
        names = _Names({i: n for i, n in session.execute(select(Org.id, Org.name))},
                       {i: (c, n, p) for i, c, n, p in session.execute(
                           select(Region.id, Region.code, Region.name, Region.path))})
        _facet_cache.put(("names", *state), names, cost=len(names.orgs) + len(names.regions))
    return names


def _count(combos: _Combos, actor: Actor, filters: dict[str, Any],
           names: _Names) -> tuple[int, dict[str, list[dict[str, Any]]], int]:
    """Over what the actor may see: the total under every filter; each facet under every filter
    but its own (the user sees the alternatives to a choice); the total without filters."""
    visible = combos.visible(actor, names)
    masks: dict[str, Any] = {}
    for name, value in filters.items():
        if name == "org":
            masks[name] = combos.org == value
        elif name == "region":  # the region and every region below it (its path is a prefix of theirs)
            ids = [i for i, (_, _, path) in names.regions.items() if path.startswith(value)]
            masks[name] = np.isin(combos.region, np.array(ids, dtype=np.int64))
        else:
            masks[name] = combos.codes[name] == _CODES[name][value]

    def rows_for(exclude: str | None) -> Any:
        keep = visible.copy()
        for name, mask in masks.items():
            if name != exclude:
                keep &= mask
        return keep

    everything = rows_for(None)
    total = int(everything.sum())
    facets: dict[str, list[dict[str, Any]]] = {name: [] for name in FACETS}
    for name in ("org", "region"):
        keep = everything if name not in masks else rows_for(name)
        values = combos.org[keep] if name == "org" else combos.region[keep]
        uniq, counts = np.unique(values, return_counts=True)
        found = {int(v): int(n) for v, n in zip(uniq, counts, strict=True) if n and v}
        if name == "org":
            facets[name] = [{"value": k, "name": names.orgs.get(k), "count": n} for k, n in found.items()]
        else:
            places = names.regions
            facets[name] = [{"value": places[k][0], "name": places[k][1], "count": n}
                            for k, n in found.items() if k in places]
    for name, codes in _CODES.items():
        keep = everything if name not in masks else rows_for(name)
        counts = np.bincount(combos.codes[name][keep], minlength=len(codes) + 1)
        facets[name] = [{"value": value, "count": int(counts[code])} for value, code in codes.items() if counts[code]]
    for entries in facets.values():
        entries.sort(key=lambda e: (-e["count"], str(e["value"])))
    return total, facets, int(visible.sum())


def _shorten(text_: str, limit: int = 120) -> str:
    text_ = " ".join(text_.split())
    return text_ if len(text_) <= limit else text_[: limit - 1] + "…"


def search_resources(session: Session, actor: Actor, query: SearchQuery) -> SearchResult:
    """Ranked, faceted search over the resources `actor` may see (catalog.service.visible_to).

    The matching set (words, category, visibility) is scanned once into facet combinations,
    cached per words, category, visibility and catalogue state: every filter, sort and page of
    the same words then costs only the page query."""
    query, filters = _validated(session, query)
    words = query_words(query.q)
    if query.q.strip() and not words:  # nothing searchable in the input
        return SearchResult(total=0, items=[], facets={name: [] for name in FACETS})
    is_sqlite = _is_sqlite(session)
    source: Any = fac
    where: list[ColumnElement[bool]] = []
    relevance: Any = None
    if words:
        match, relevance, on_fts = _match(session, words)
        source = _fts.join(fac, fac.c.resource_id == _fts.c.rowid) if on_fts else \
            docs.join(fac, fac.c.resource_id == docs.c.resource_id)
        where.append(match)
    if query.category_code:
        where.append(fac.c.category_code.startswith(query.category_code))
    state = (str(session.get_bind().url), _facet_cache.generation, _ledger_head(session))
    matching = (*state, tuple(words), query.category_code)
    counted_key = ("facets", *matching, _visibility_key(actor), tuple(sorted(filters.items())))
    counted = _facet_cache.get(counted_key)
    if counted is None:
        combos = _facet_cache.get(("combos", *matching))
        if combos is None:
            combos = _load_combos(session, source, where, {})
            _facet_cache.put(("combos", *matching), combos, cost=max(1, len(combos)))
        counted = _count(combos, actor, filters, _names(session, state))
        _facet_cache.put(counted_key, counted)
    visible = _visible(actor)
    if visible is not None:
        where.append(visible)
    total, facets, unfiltered = counted
    facets = {k: [dict(e) for e in v] for k, v in facets.items()}
    if total <= query.offset:
        return SearchResult(total=total, items=[], facets=facets)

    conds = list(_conditions(frozenset(filters)).values())
    params = _filter_params(filters)
    if words and query.sort == "relevance":
        ranked = _ranked_page(session, query, words, relevance, where, conds, params, (*state, tuple(words)),
                              total / max(1, unfiltered))
    else:
        ranked = _page(session, query, words, source, [*where, *conds], params, relevance, is_sqlite)
    if not ranked:
        return SearchResult(total=total, items=[], facets=facets)
    rows = {r["resource_id"]: r for r in session.execute(
        select(docs).where(docs.c.resource_id.in_([r[0] for r in ranked]))).mappings()}
    items = [_item(rows[rid], float(e) * 1000 + float(h) * 100 + float(rel or 0))
             for rid, e, h, rel in ranked if rid in rows]
    return SearchResult(total=total, items=items, facets=facets)


def _page(session: Session, query: SearchQuery, words: list[str], source: Any, where: list[ColumnElement[bool]],
          params: dict[str, Any], relevance: Any, is_sqlite: bool) -> list[Any]:
    """(id, exact, name hits, relevance) of the page, from search_facets alone: newest first by
    its (sort_time, id) index, by name by its (name, id) index."""
    if words:
        lower_name = func.lower(fac.c.name)
        found = [(func.instr(lower_name, w) if is_sqlite else func.strpos(lower_name, w)) > 0 for w in words]
        name_hits: Any = sum((case((f, 1), else_=0) for f in found), start=literal_column("0"))
        exact: Any = case((lower_name == _normal(query.q.strip()), 1), else_=0)
    else:
        name_hits = exact = relevance = literal_column("0")
    exact, name_hits, relevance = exact.label("exact"), name_hits.label("name_hits"), relevance.label("relevance")
    newest = (fac.c.sort_time.desc(), fac.c.resource_id.desc())
    if query.sort == "name":
        order: tuple[Any, ...] = (fac.c.name, fac.c.resource_id)
    elif query.sort == "newest" or not words:
        order = newest
    else:
        order = (exact.desc(), name_hits.desc(), relevance.desc(), *newest)
    stmt = select(fac.c.resource_id, exact, name_hits, relevance).select_from(source).where(*where)
    return list(session.execute(stmt.order_by(*order).limit(query.limit).offset(query.offset), params).all())


def _item(r: Any, score: float) -> dict[str, Any]:
    return {
        "id": r["resource_id"], "code": r["code"], "name": r["name"], "abstract": _shorten(r["abstract"]),
        "org_id": r["org_id"], "org_name": r["org_name"], "region_code": r["region_code"],
        "region_name": r["region_name"], "category_code": r["category_code"], "status": r["status"],
        "share_type": r["share_type"], "open_type": r["open_type"], "update_cycle": r["update_cycle"],
        "format_kind": r["format_kind"], "library": r["library"], "resource_class": r["resource_class"],
        "score": round(score, 4),
    }


def _ranked_page(session: Session, query: SearchQuery, words: list[str], relevance: Any,
                 where: list[ColumnElement[bool]], conds: list[ColumnElement[bool]], params: dict[str, Any],
                 state: tuple[Any, ...], share: float) -> list[Any]:
    """Relevance page. The ranking of every match (exact name, words in the name, then bm25 or
    ts_rank_cd) is the same for every actor: it is built once per words and catalogue state,
    cached, and the page is its first `need` entries the actor may see under the filters
    (checked in search_facets). Filters that keep few of the matches rank their subset in one
    joined query instead."""
    if _is_sqlite(session):
        columns, order, in_name = _fts_ranking(query, words)
        alone, joined = _fts, _fts.join(fac, fac.c.resource_id == _fts.c.rowid)
    else:
        lower_name = func.lower(docs.c.name)
        found = [func.strpos(lower_name, w) > 0 for w in words]
        name_hits: Any = sum((case((f, 1), else_=0) for f in found), start=literal_column("0")).label("name_hits")
        is_exact = lower_name == _normal(query.q.strip())
        exact: Any = case((is_exact, 1), else_=0).label("exact")
        relevance = relevance.label("relevance")
        columns = (docs.c.resource_id, exact, name_hits, relevance)
        order = (exact.desc(), name_hits.desc(), relevance.desc(), docs.c.sort_time.desc(), docs.c.resource_id.desc())
        in_name = or_(is_exact, *found)
        alone, joined = docs, docs.join(fac, fac.c.resource_id == docs.c.resource_id)
    need = query.offset + query.limit
    checks = where[1:] + conds  # all but the full-text match: category, visibility, filters
    ranked: list[Any] | None = None
    if share * RANKING_DEPTH >= OVERFETCH_FACTOR * need or not checks:
        key = ("ranking", *state, query.q.strip())
        ranking = _facet_cache.get(key)
        if ranking is None:
            ranking = _Ranking([select(*columns).select_from(alone).where(where[0], tier).order_by(*order)
                                for tier in (in_name, ~in_name)])
            _facet_cache.put(key, ranking)
        ranked = _first_visible(session, ranking, checks, params, need)
        _facet_cache.put(key, ranking, cost=max(1, 4 * len(ranking.rows)))  # its size now (tuples weigh more)
    if ranked is None:
        stmt = select(*columns).select_from(joined).where(*where, *conds)
        ranked = list(session.execute(stmt.order_by(*order).limit(need), params).all())
    return ranked[query.offset:need]


class _Ranking:
    """A cached relevance ranking, built in two tiers: the matches with a query word in the name
    (or the exact name) — a few, so scoring them is cheap — then, only when a page reaches past
    them, all the others (every one of which ranks below the first tier). At most RANKING_DEPTH
    rows; `complete` when they are all the matches."""

    def __init__(self, tiers: list[Any]) -> None:
        self.rows: list[tuple[Any, ...]] = []
        self.complete = False
        self._tiers = tiers
        self._lock = threading.Lock()

    def extend(self, session: Session) -> bool:
        """Rank the next tier; False when there is none left (or the depth is reached)."""
        with self._lock:
            if not self._tiers:
                return False
            room = RANKING_DEPTH - len(self.rows)
            rows = session.execute(self._tiers.pop(0).limit(room + 1)).all()
            self.rows.extend(tuple(r) for r in rows[:room])
            if len(rows) > room:
                self._tiers.clear()  # capped: deeper pages rank the joined set
            elif not self._tiers:
                self.complete = True
            return True


def _fts_ranking(query: SearchQuery, words: list[str]) -> tuple[tuple[Any, ...], tuple[Any, ...], Any]:
    """SQLite ranking on the FTS table alone: the name tiers come from FTS column filters and the
    name index, so no wide row is read per match."""
    fts_col = literal_column("search_fts")
    exact_sub = select(docs.c.resource_id).where(
        docs.c.name == bindparam("exact_name", query.q.strip())).correlate(None)
    exact: Any = case((_fts.c.rowid.in_(exact_sub), 1), else_=0)
    hits: list[Any] = []
    subqueries = [exact_sub]
    for i, w in enumerate(words):
        in_name = select(_fts.c.rowid).where(
            fts_col.op("MATCH")(bindparam(f"name_w{i}", "name : (" + _fts_word(w) + ")"))).correlate(None)
        subqueries.append(in_name)
        hits.append(case((_fts.c.rowid.in_(in_name), 1), else_=0))
    name_hits: Any = sum(hits, start=literal_column("0"))
    relevance = -func.bm25(fts_col, *FTS_WEIGHTS)
    # The first tier, tested on `rowid + 0` so that FTS5 is not asked to seek each listed rowid.
    in_name = or_(*[(_fts.c.rowid + 0).in_(sub) for sub in subqueries])
    exact, name_hits, relevance = exact.label("exact"), name_hits.label("name_hits"), relevance.label("relevance")
    return (_fts.c.rowid, exact, name_hits, relevance), (exact.desc(), name_hits.desc(), relevance.desc(),
                                                          _fts.c.rowid.desc()), in_name


RANKING_DEPTH = 5_000  # matches kept in a cached ranking; deeper pages of broad words rank the joined set
OVERFETCH_START = 200  # candidates checked first, at least OVERFETCH_FACTOR × what the page needs
OVERFETCH_FACTOR = 4


def _first_visible(session: Session, ranking: _Ranking, checks: list[ColumnElement[bool]],
                   params: dict[str, Any], need: int) -> list[Any] | None:
    """The first `need` entries of a cached ranking that pass `checks` (checked in growing slices,
    ranking further tiers as needed), or None when the cached depth runs out first."""
    kept: list[Any] = []
    start, k = 0, max(OVERFETCH_FACTOR * need, OVERFETCH_START)
    while len(kept) < need:
        if start >= len(ranking.rows):
            if not ranking.extend(session):
                break
            continue
        chunk = ranking.rows[start:start + k]
        if checks:
            ok = set(session.execute(select(fac.c.resource_id).where(
                fac.c.resource_id.in_([r[0] for r in chunk]), *checks), params).scalars())
            kept.extend(r for r in chunk if r[0] in ok)
        else:
            kept.extend(chunk)
        start, k = start + len(chunk), k * 4
    if len(kept) >= need or ranking.complete:
        return kept[:need]
    return None


__all__ = ["SearchQuery", "SearchResult", "doc_from_view", "facet_cache", "index_resource", "query_words",
           "refresh_facets", "reindex_all", "search_resources", "segment", "unindex_resource", "write_docs"]
