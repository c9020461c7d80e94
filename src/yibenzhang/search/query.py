"""Querying the index: ranked, faceted full text over what the actor may see.

SQLite ranks by FTS5's bm25 with column weights, PostgreSQL by ts_rank_cd over the weighted
tsvector. Everything else — the one row per resource in `search_docs` that search displays, the
narrow `search_facets` row it filters and counts facets on, query parsing, visibility — is shared,
so the two stores answer the same question the same way. Org and region names and the region tree
come from the orgs register; nothing here reads the catalogue.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import numpy as np
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Text,
    and_,
    bindparam,
    case,
    func,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy.orm import Session

from ..access import Actor, can_read_all
from ..enums import OpenType, ResourceStatus
from ..errors import ErrorBag
from ..orgs.model import Org, Region
from .index import facet_cache
from .model import (
    CODES,
    ENUM_FACETS,
    FKEY_BITS,
    FTS_WEIGHTS,
    V_DRAFT,
    V_OTHER,
    V_RETIRED,
    VFLAGS_SHIFT,
    docs,
    fac,
    fts,
    is_sqlite,
)
from .segment import MAX_QUERY_CHARS, normal, pieces, query_words


def _ledger_head(session: Session) -> tuple[Any, ...]:
    row = session.execute(text("SELECT seq, digest FROM ledger_events ORDER BY seq DESC LIMIT 1")).first()
    return tuple(row) if row else ()


def _visibility_key(actor: Actor) -> tuple[Any, ...]:
    """Everything catalog.service.visible_to decides by."""
    if can_read_all(actor):
        return ("all",)
    return (actor.is_government, tuple(sorted(actor.org_ids())), tuple(sorted(actor.reviewer_paths())))


SORTS = ("relevance", "newest", "name")
MAX_LIMIT = 100
MAX_OFFSET = 10_000
FACETS = ("org", "region", "resource_class", "library", "share_type", "open_type", "format_kind",
          "update_cycle", "status")


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


def check_page(bag: ErrorBag, sort: str, sorts: tuple[str, ...], limit: int, max_limit: int,
               offset: int, max_offset: int) -> None:
    """The sort, page size and start of a listing (search's and the open portal's, each with its own bounds)."""
    if sort not in sorts:
        bag.add("sort", "unknown_value", "未知的取值“{value}”，可选：{allowed}", value=sort,
                allowed="、".join(sorts))
    if not 1 <= limit <= max_limit:
        bag.add("limit", "search_limit_range", "每页条数应在1到{max}之间", max=max_limit)
    if not 0 <= offset <= max_offset:
        bag.add("offset", "search_offset_range", "起始位置应在0到{max}之间", max=max_offset)


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
    check_page(bag, query.sort, SORTS, query.limit, MAX_LIMIT, query.offset, MAX_OFFSET)
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

    cover = pieces(word)
    return f"({quoted(word)} OR ({' AND '.join(map(quoted, cover))}))" if cover else quoted(word)


def match(session: Session, words: list[str]) -> tuple[ColumnElement[bool], ColumnElement[Any], bool]:
    """The full-text condition (AND of the words; a word also matches as its dictionary pieces)
    and its relevance expression (higher is better), for this dialect."""
    if is_sqlite(session):
        expr = " AND ".join(_fts_word(w) for w in words)
        cond = literal_column("search_fts").op("MATCH")(bindparam("fts_query", expr))
        return cond, -func.bm25(literal_column("search_fts"), *FTS_WEIGHTS), True
    tsq: Any = None
    for w in words:
        term: Any = func.plainto_tsquery("simple", w)
        cover = pieces(w)
        if cover:
            term = term.op("||")(func.plainto_tsquery("simple", " ".join(cover)))
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
    return {f"f_{k}": (CODES[k][v] if k in CODES else v) for k, v in filters.items()}


@dataclass(frozen=True)
class _Combos:
    """The query-matching set, one entry per resource: org, region, the facet codes and what
    visibility decides by — the same for every actor, so one scan serves them all; the facet
    counts of any actor under any filters are sums over it."""
    org: Any
    region: Any
    codes: dict[str, Any]
    published: Any  # v_published
    status: Any  # v_status: V_RETIRED, V_DRAFT or V_OTHER
    open: Any  # v_open_type: V_NULL, V_NOT_OPEN or V_OTHER
    v_org: Any
    v_region: Any

    @classmethod
    def of(cls, places: Any, fkey: Any, owner: Any) -> _Combos:
        # Narrow dtypes: a cached set costs about 26 bytes per resource.
        mask = (1 << FKEY_BITS) - 1
        codes = {name: ((fkey >> (FKEY_BITS * i)) & mask).astype(np.uint8) for i, name in enumerate(ENUM_FACETS)}
        flags = fkey >> VFLAGS_SHIFT
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
        seen = self.published & (self.status != V_RETIRED)
        if not actor.is_government:
            seen &= self.open == V_OTHER  # NULL != '不予开放' is not true in SQL either
        own = actor.org_ids()
        if own:
            seen |= np.isin(self.v_org, np.array(sorted(own), dtype=np.int64))
        paths = actor.reviewer_paths()
        if paths:
            ids = [i for i, (_, _, path) in names.regions.items() if any(path.startswith(p) for p in paths)]
            seen |= (self.status != V_DRAFT) & np.isin(self.v_region, np.array(ids, dtype=np.int64))
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
    if is_sqlite(session):
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
    names = facet_cache.get(("names", *state))
    if names is None:
        names = _Names({i: n for i, n in session.execute(select(Org.id, Org.name))},
                       {i: (c, n, p) for i, c, n, p in session.execute(
                           select(Region.id, Region.code, Region.name, Region.path))})
        facet_cache.put(("names", *state), names, cost=len(names.orgs) + len(names.regions))
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
            masks[name] = combos.codes[name] == CODES[name][value]

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
    for name, codes in CODES.items():
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
    sqlite = is_sqlite(session)
    source: Any = fac
    where: list[ColumnElement[bool]] = []
    relevance: Any = None
    if words:
        matched, relevance, on_fts = match(session, words)
        source = fts.join(fac, fac.c.resource_id == fts.c.rowid) if on_fts else \
            docs.join(fac, fac.c.resource_id == docs.c.resource_id)
        where.append(matched)
    if query.category_code:
        where.append(fac.c.category_code.startswith(query.category_code))
    state = (str(session.get_bind().url), facet_cache.generation, _ledger_head(session))
    matching = (*state, tuple(words), query.category_code)
    counted_key = ("facets", *matching, _visibility_key(actor), tuple(sorted(filters.items())))
    counted = facet_cache.get(counted_key)
    if counted is None:
        combos = facet_cache.get(("combos", *matching))
        if combos is None:
            combos = _load_combos(session, source, where, {})
            facet_cache.put(("combos", *matching), combos, cost=max(1, len(combos)))
        counted = _count(combos, actor, filters, _names(session, state))
        facet_cache.put(counted_key, counted)
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
        ranked = _page(session, query, words, source, [*where, *conds], params, relevance, sqlite)
    if not ranked:
        return SearchResult(total=total, items=[], facets=facets)
    rows = {r["resource_id"]: r for r in session.execute(
        select(docs).where(docs.c.resource_id.in_([r[0] for r in ranked]))).mappings()}
    items = [_item(rows[rid], float(e) * 1000 + float(h) * 100 + float(rel or 0))
             for rid, e, h, rel in ranked if rid in rows]
    return SearchResult(total=total, items=items, facets=facets)


def _page(session: Session, query: SearchQuery, words: list[str], source: Any, where: list[ColumnElement[bool]],
          params: dict[str, Any], relevance: Any, sqlite: bool) -> list[Any]:
    """(id, exact, name hits, relevance) of the page, from search_facets alone: newest first by
    its (sort_time, id) index, by name by its (name, id) index."""
    if words:
        lower_name = func.lower(fac.c.name)
        found = [(func.instr(lower_name, w) if sqlite else func.strpos(lower_name, w)) > 0 for w in words]
        name_hits: Any = sum((case((f, 1), else_=0) for f in found), start=literal_column("0"))
        exact: Any = case((lower_name == normal(query.q.strip()), 1), else_=0)
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
    if is_sqlite(session):
        columns, order, in_name = _fts_ranking(query, words)
        alone, joined = fts, fts.join(fac, fac.c.resource_id == fts.c.rowid)
    else:
        lower_name = func.lower(docs.c.name)
        found = [func.strpos(lower_name, w) > 0 for w in words]
        name_hits: Any = sum((case((f, 1), else_=0) for f in found), start=literal_column("0")).label("name_hits")
        is_exact = lower_name == normal(query.q.strip())
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
        ranking = facet_cache.get(key)
        if ranking is None:
            ranking = _Ranking([select(*columns).select_from(alone).where(where[0], tier).order_by(*order)
                                for tier in (in_name, ~in_name)])
            facet_cache.put(key, ranking)
        ranked = _first_visible(session, ranking, checks, params, need)
        facet_cache.put(key, ranking, cost=max(1, 4 * len(ranking.rows)))  # its size now (tuples weigh more)
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
    exact: Any = case((fts.c.rowid.in_(exact_sub), 1), else_=0)
    hits: list[Any] = []
    subqueries = [exact_sub]
    for i, w in enumerate(words):
        in_name = select(fts.c.rowid).where(
            fts_col.op("MATCH")(bindparam(f"name_w{i}", "name : (" + _fts_word(w) + ")"))).correlate(None)
        subqueries.append(in_name)
        hits.append(case((fts.c.rowid.in_(in_name), 1), else_=0))
    name_hits: Any = sum(hits, start=literal_column("0"))
    relevance = -func.bm25(fts_col, *FTS_WEIGHTS)
    # The first tier, tested on `rowid + 0` so that FTS5 is not asked to seek each listed rowid.
    in_name = or_(*[(fts.c.rowid + 0).in_(sub) for sub in subqueries])
    exact, name_hits, relevance = exact.label("exact"), name_hits.label("name_hits"), relevance.label("relevance")
    return (fts.c.rowid, exact, name_hits, relevance), (exact.desc(), name_hits.desc(), relevance.desc(),
                                                          fts.c.rowid.desc()), in_name


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


__all__ = ["FACETS", "SearchQuery", "SearchResult", "match", "search_resources"]
