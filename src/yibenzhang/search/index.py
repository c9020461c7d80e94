"""Writing the index: the catalogue feeds it one document per resource (what it shows of the
resource), and the live fields visibility decides by; search never reads the catalogue itself.

A document is a resource view — its published snapshot where there is one, else its working copy,
so edits under review never leak into search — turned into display fields, filter fields and the
segmented text of each weighted column (`doc_from_view`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    FromClause,
    bindparam,
    case,
    cast,
    insert,
    inspect,
    literal_column,
    select,
    text,
)
from sqlalchemy.orm import Session

from ..enums import OpenType, ResourceStatus
from ..orgs.model import Region
from .model import (
    CODES,
    DOC_COLUMNS,
    ENUM_FACETS,
    FKEY_BITS,
    V_DRAFT,
    V_NOT_OPEN,
    V_NULL,
    V_OTHER,
    V_RETIRED,
    VFLAGS_SHIFT,
    docs,
    fac,
    is_sqlite,
)
from .segment import normal, segment


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


facet_cache = FacetCache()


def _join(tokens: Iterable[str]) -> str:
    return " ".join(dict.fromkeys(tokens))


def doc_from_view(view: dict[str, Any], sort_time: datetime | None) -> dict[str, Any]:
    """The index row of a resource view (published snapshot or working copy): display fields,
    filter fields, and the segmented text of each weighted column."""
    region = view.get("region_name") or ""
    context = [view.get("org_name") or "", region, *(view.get("category_path") or [])]
    # The place without its level (春城市 → 春城): jieba may cut the full name differently.
    place = [normal(region[:-1])] if len(region) > 2 and region[-1] in "省市县区" else []
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


_COLS = ", ".join(DOC_COLUMNS)
_VALUES = ", ".join(f":{c}" for c in DOC_COLUMNS)
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


def delete_docs(session: Session, ids: Sequence[int], facets: bool = True) -> None:
    """Remove the index entries of these resources."""
    if not ids:
        return
    facet_cache.bump()
    tables = ["search_docs", *(["search_facets"] if facets else [])]
    for name in tables:
        session.execute(text(f"DELETE FROM {name} WHERE resource_id IN :ids").bindparams(
            bindparam("ids", expanding=True)), {"ids": list(ids)})
    if is_sqlite(session):
        session.execute(text("DELETE FROM search_fts WHERE rowid IN :ids").bindparams(
            bindparam("ids", expanding=True)), {"ids": list(ids)})


def write_docs(session: Session, rows: list[dict[str, Any]], live: FromClause | None = None) -> None:
    """Replace the index rows of these resources (one statement per table, batched), and their
    search_facets rows from `live` (see refresh_facets). live=None leaves search_facets alone: a
    bulk reindex fills it once at the end, and migration 0002 runs before it exists."""
    if not rows:
        return
    facet_cache.bump()
    ids = [r["resource_id"] for r in rows]
    delete_docs(session, ids, facets=live is not None)
    if is_sqlite(session):
        session.execute(_INSERT_SQLITE_DOC, rows)
        session.execute(_INSERT_SQLITE_FTS, rows)
    else:
        session.execute(_INSERT_PG_DOC, rows)
    if live is not None:
        refresh_facets(session, live, ids)


def clear(session: Session) -> None:
    """Empty search_docs (and search_fts) before a rebuild; search_facets follows refresh_facets."""
    facet_cache.bump()
    session.execute(text("DELETE FROM search_docs"))
    if is_sqlite(session):
        session.execute(text("DELETE FROM search_fts"))


def has_facets(session: Session) -> bool:
    """Before migration 0007 (its backfill fills it) there is no search_facets table yet."""
    return inspect(session.connection()).has_table("search_facets")


def _codes(live: FromClause) -> ColumnElement[Any]:
    """SQL packing the seven enumerated facets of search_docs and the visibility flags of the live
    resource into one integer (layout in model.py)."""
    parts: list[Any] = []
    for i, name in enumerate(ENUM_FACETS):
        code = case(*[(docs.c[name] == value, literal_column(str(c))) for value, c in CODES[name].items()],
                    else_=literal_column("0"))
        parts.append(cast(code, BigInteger) * literal_column(str(1 << (FKEY_BITS * i))))
    status, open_type = live.c.status, live.c.open_type
    flags = (
        case((live.c.published, literal_column("1")), else_=literal_column("0"))
        + literal_column("2") * case((status == ResourceStatus.RETIRED.value, literal_column(str(V_RETIRED))),
                                     (status == ResourceStatus.DRAFT.value, literal_column(str(V_DRAFT))),
                                     else_=literal_column(str(V_OTHER)))
        + literal_column("8") * case((open_type.is_(None), literal_column(str(V_NULL))),
                                     (open_type == OpenType.NOT_OPEN.value, literal_column(str(V_NOT_OPEN))),
                                     else_=literal_column(str(V_OTHER)))
    )
    parts.append(cast(flags, BigInteger) * literal_column(str(1 << VFLAGS_SHIFT)))
    total = parts[0]
    for part in parts[1:]:
        total = total + part
    return total


def refresh_facets(session: Session, live: FromClause, ids: Sequence[int] | None) -> None:
    """(Re)build the search_facets rows of these resources (all when ids is None) from their
    search_docs rows and `live` — one INSERT … SELECT, so every writer (indexing, bulk reindex,
    migration 0007) fills it the same way. `live` is the catalogue's live visibility fields, one
    row per resource: id, published (bool), status, open_type, org_id, region_id."""
    facet_cache.bump()
    if ids is not None and not ids:
        return
    g = Region.__table__
    chosen = select(
        docs.c.resource_id, docs.c.org_id, g.c.id, _codes(live), docs.c.category_code, docs.c.sort_time,
        docs.c.name, live.c.published, live.c.status, live.c.open_type, live.c.org_id, live.c.region_id,
    ).select_from(docs.join(live, live.c.id == docs.c.resource_id).outerjoin(g, g.c.code == docs.c.region_code))
    if ids is None:
        session.execute(text("DELETE FROM search_facets"))
    else:
        session.execute(fac.delete().where(fac.c.resource_id.in_(list(ids))))
        chosen = chosen.where(docs.c.resource_id.in_(list(ids)))
    columns = ["resource_id", "org_id", "region_id", "codes", "category_code", "sort_time", "name",
               "v_published", "v_status", "v_open_type", "v_org_id", "v_region_id"]
    session.execute(insert(fac).from_select(columns, chosen))
