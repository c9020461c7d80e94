"""The index tables (made by the baseline migration, legacy 0002 and 0007; not ORM models: search_fts is an SQLite
FTS5 table and search_docs.tsv a PostgreSQL tsvector) and the layout of search_facets.codes.

One row per indexed resource in `search_docs`: what search displays and filters on, plus its
segmented text (FTS5 rows keyed by the same id on SQLite, the weighted `tsv` on PostgreSQL).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Boolean, Column, Integer, MetaData, String, Table, Text, column, table
from sqlalchemy.orm import Session

from ..db import UTCDateTime
from ..enums import FormatKind, Library, OpenType, ResourceClass, ResourceStatus, ShareType, UpdateCycle

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
# resource fields catalog.service.visible_to decides by (handed in by the catalogue on every index
# write). Counting then reads no wide row.
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
fts = table("search_fts", column("rowid"))
DOC_COLUMNS = [c.name for c in docs.columns]

# bm25 column weights of search_fts (name, keywords, items, context, abstract): a word in the
# name counts far more than one in an item or the abstract.
FTS_WEIGHTS = (10.0, 4.0, 3.0, 2.0, 1.0)

# Facets whose values are a fixed vocabulary, packed in search_facets.codes in this order.
ENUM_FACETS: dict[str, Any] = {
    "resource_class": ResourceClass, "library": Library, "share_type": ShareType, "open_type": OpenType,
    "format_kind": FormatKind, "update_cycle": UpdateCycle, "status": ResourceStatus,
}
FKEY_BITS = 5  # per packed facet: room for 31 values of an enumeration
# code of each value in search_facets.codes: its position in the enumeration + 1 (0: none). Adding a
# value at the end keeps the codes; reordering or removing one needs reindex_all.
CODES: dict[str, dict[str, int]] = {name: {v: i + 1 for i, v in enumerate(enum.values())}
                                    for name, enum in ENUM_FACETS.items()}
assert all(len(codes) < 1 << FKEY_BITS for codes in CODES.values())

# Visibility flags of the live resource, packed above the facet codes: published (1 bit),
# status (2 bits), open type (2 bits) — what the combinations scan needs to apply visible_to.
VFLAGS_SHIFT = 40
V_RETIRED, V_DRAFT, V_OTHER, V_NULL, V_NOT_OPEN = 1, 2, 3, 0, 1


def is_sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"
