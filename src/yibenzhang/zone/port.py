"""The zone's port: what stages ask of an engine, as data.

A resource's live state is handed to an engine as a `LiveState`: the exact Parquet files of each
live batch (the metadata store decides which batches are live; an engine never lists folders),
the items with their column types, and the key items. Queries are sqlglot ASTs over one table
named `r` (the live state); each engine renders them in its own dialect and binds `r` itself.
Results are Arrow tables in one canonical set of types (`canonical`), so DuckDB and Spark give
identical answers to the same plan.

Why sqlglot rather than Ibis: the platform already depends on it (sandbox lineage, DESIGN), it
transpiles DuckDB ↔ Spark SQL, and plans stay plain SQL trees that the sandbox's checker can
read; Ibis would add a second expression language and a heavy dependency for the same result.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import pyarrow as pa
import sqlglot
from sqlglot import exp

RELATION = "r"  # the name plans use for the live state
META = ("_batch", "_row")  # the batch id and the source row number of every live row

# Column type in the zone per 信息项数据类型 letter (the same names in DuckDB and Spark SQL, but
# TIMESTAMP: Spark's TIMESTAMP is zoned, ours is the wall-clock time a department wrote).
COLUMN_TYPES = {"C": "VARCHAR", "M": "VARCHAR", "B": "VARCHAR", "N": "DOUBLE", "F": "DOUBLE",
                "Y": "DECIMAL(18,2)", "I": "BIGINT", "D": "DATE", "T": "TIMESTAMP", "L": "BOOLEAN"}

ARROW_TYPES = {"VARCHAR": pa.string(), "DOUBLE": pa.float64(), "DECIMAL(18,2)": pa.decimal128(18, 2),
               "BIGINT": pa.int64(), "DATE": pa.date32(), "TIMESTAMP": pa.timestamp("us"),
               "BOOLEAN": pa.bool_()}


def type_name(t: pa.DataType) -> str:
    """The kind of an Arrow type in the zone's type names — DATE, TIMESTAMP, DECIMAL, DOUBLE,
    BIGINT, BOOLEAN or VARCHAR (anything else) — the platform's one switch over Arrow types
    (masking picks its operators' SQL types by it, recognizers their value kinds)."""
    if pa.types.is_date(t):
        return "DATE"
    if pa.types.is_timestamp(t):
        return "TIMESTAMP"
    if pa.types.is_decimal(t):
        return "DECIMAL"
    if pa.types.is_floating(t):
        return "DOUBLE"
    if pa.types.is_integer(t):
        return "BIGINT"
    if pa.types.is_boolean(t):
        return "BOOLEAN"
    return "VARCHAR"


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # one of COLUMN_TYPES' values


@dataclass(frozen=True)
class Part:
    """One live batch: its id and its files (absolute paths or URIs), and the item names its
    files hold (a batch written before an item was added lacks that column)."""

    batch_id: int
    files: tuple[str, ...]
    columns: frozenset[str]
    bytes: int = 0


@dataclass(frozen=True)
class LiveState:
    resource_id: int
    columns: tuple[Column, ...]
    keys: tuple[str, ...] = ()
    parts: tuple[Part, ...] = ()
    # de-duplicate by key (latest batch, then latest row): true unless the only batch is an 追加
    dedupe: bool = False

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def arrow_schema(self) -> pa.Schema:
        fields = [pa.field(c.name, ARROW_TYPES[c.type]) for c in self.columns]
        return pa.schema([*fields, pa.field("_batch", pa.int64()), pa.field("_row", pa.int64())])

    @property
    def bytes(self) -> int:
        return sum(p.bytes for p in self.parts)

    @property
    def fingerprint(self) -> str:
        """The state as stable text (the same in every process: no set or hash order), for the
        keys of what is built from it: a snapshot, a download file."""
        parts = [(p.batch_id, list(p.files), sorted(p.columns)) for p in self.parts]
        return repr((self.resource_id, [(c.name, c.type) for c in self.columns], list(self.keys), parts,
                     self.dedupe))


@dataclass(frozen=True)
class Files:
    """Parquet files an exit wrote itself (the open rows API's masked snapshot): an engine reads
    them as they are, `r` being their rows with the columns they hold (no item types, no keys)."""

    files: tuple[str, ...]
    batch: int | None = None  # the batch they belong to, read as a column `_batch` when given


# What a plan's `r` may be bound to: a resource's live state, files an exit wrote (one group, or
# several unioned by name), or rows already in Arrow (a snapshot in memory).
Source = LiveState | Files | tuple[Files, ...] | pa.Table


@dataclass
class Written:
    """What an engine wrote: files relative to the folder it was given, and their row count."""

    files: list[str]
    rows: int
    extra: dict[str, object] = field(default_factory=dict)


class Engine(Protocol):
    name: str

    def count(self, state: LiveState) -> int: ...

    def query(self, state: LiveState, plan: exp.Query) -> pa.Table: ...

    def write(self, state: LiveState, plan: exp.Query, folder: str) -> Written: ...

    def available(self) -> bool: ...


# --- plans -------------------------------------------------------------------------------


def ident(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=True)


def col(name: str) -> exp.Column:
    return exp.column(ident(name))


def scan(state: LiveState, columns: Sequence[str] | None = None, *, where: exp.Expression | None = None,
         order: Sequence[str] = META, limit: int | None = None, offset: int | None = None) -> exp.Select:
    """SELECT columns FROM r [WHERE] ORDER BY order [LIMIT/OFFSET]: a page of rows in a stable
    order (by batch, then source row, unless told otherwise)."""
    names = list(columns) if columns is not None else [*state.names, *META]
    plan = exp.select(*(col(n) for n in names)).from_(RELATION)
    if where is not None:
        plan = plan.where(where)
    if order:
        plan = plan.order_by(*(col(n) for n in order))
    if limit is not None:
        plan = plan.limit(int(limit))
    if offset:
        plan = plan.offset(int(offset))
    return plan


# The sample's order key: h(batch, row) = (row·A + batch·B) mod P, P = 2³¹ − 1 and A/P near the
# golden ratio (a Weyl sequence). BIGINT arithmetic that cannot overflow (each product < 2⁶²), so
# DuckDB and Spark (ANSI mode) compute the same value.
SAMPLE_P, SAMPLE_A, SAMPLE_B = 2147483647, 1327217884, 1621076603


def sample_key() -> exp.Expression:
    def term(name: str, factor: int) -> exp.Expression:
        return exp.Mul(this=exp.Paren(this=exp.Mod(this=col(name), expression=exp.Literal.number(SAMPLE_P))),
                       expression=exp.Literal.number(factor))

    return exp.Mod(this=exp.Paren(this=exp.Add(this=term("_row", SAMPLE_A), expression=term("_batch", SAMPLE_B))),
                   expression=exp.Literal.number(SAMPLE_P))


def sample(state: LiveState, n: int, columns: Sequence[str] | None = None) -> exp.Select:
    """A sample of n rows (every row when there are fewer) of `columns` (every item and META by
    default), in (batch, row) order: the n rows of least `sample_key`. Within a batch those rows
    lie almost evenly spaced, as in a systematic sample (系统抽样): the Weyl sequence's gaps take at
    most three lengths. The same rows on every engine (no engine's random or hash function is
    involved), and cheap on both: a top-n in one pass, no numbering of every row (a window that
    sorts every row with all its columns, and on Spark in a single partition)."""
    names = list(columns) if columns is not None else [*state.names, *META]
    least = (exp.select(*(col(x) for x in dict.fromkeys([*names, *META]))).from_(RELATION)
             .order_by(sample_key(), *(col(m) for m in META)).limit(int(n)))
    return exp.select(*(col(x) for x in names)).from_(least.subquery("s")).order_by(*(col(m) for m in META))


ROW_SPAN = 1 << 32  # rows per batch that an order key can tell apart


def compacted(state: LiveState) -> exp.Select:
    """The live state as one batch's rows: every item, and `_row` an order key that keeps the
    order reads use (batch, then row): batch id × 2³² + row. No global sort or numbering is
    needed (a single-partition window would not scale on Spark), and a read after compaction
    returns the same rows in the same order as before. Batch ids are below 2³¹, so the key fits
    in a BIGINT. Rows of an earlier compaction already hold keys (≥ 2³², below their batch's
    id × 2³²) and keep them: every later batch's keys are larger, so the order still holds."""
    span = exp.Literal.number(ROW_SPAN)
    key = exp.If(this=exp.GTE(this=col("_row"), expression=span), true=col("_row"),
                 false=exp.Add(this=exp.Mul(this=col("_batch"), expression=span), expression=col("_row")))
    return exp.select(*(col(n) for n in state.names),
                      exp.Cast(this=key, to=exp.DataType.build("BIGINT")).as_("_row")).from_(RELATION)


def parse(sql: str, dialect: str = "duckdb") -> exp.Query:
    """A plan from SQL text over `r` (for callers that hold a query as text)."""
    tree = sqlglot.parse_one(sql, read=dialect)
    if not isinstance(tree, exp.Query):
        raise ValueError("not a query")
    return tree


# --- results -----------------------------------------------------------------------------


def _canonical_type(t: pa.DataType) -> pa.DataType:
    if pa.types.is_integer(t):
        return pa.int64()
    if pa.types.is_floating(t):
        return pa.float64()
    if pa.types.is_decimal(t):
        return pa.decimal128(38, t.scale)
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return pa.string()
    if pa.types.is_timestamp(t):
        return pa.timestamp("us")
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return pa.list_(_canonical_type(t.value_type))
    return t


def canonical(table: pa.Table, state: LiveState | None = None) -> pa.Table:
    """One Arrow type per kind of value, whichever engine answered: integers int64, floats
    float64, decimals decimal128(38, s) (DuckDB widens a sum to 38 digits, Spark to 28), text
    string, timestamps timestamp[us] without a zone. A column already of its item's own type
    (a scan) keeps it. Widening only: no value changes."""
    own = {f.name: f.type for f in state.arrow_schema()} if state is not None else {}
    fields = []
    for f in table.schema:
        target = f.type if own.get(f.name) == f.type else _canonical_type(f.type)
        fields.append(pa.field(f.name, target))
    schema = pa.schema(fields)
    if schema.equals(table.schema):
        return table
    return table.cast(schema)


def column_names(plan: exp.Query) -> list[str]:
    return [s.alias_or_name for s in plan.selects]


def rename_relation(plan: exp.Query, name: str) -> exp.Query:
    """The plan with every reference to the table `r` renamed (an engine binds it under a name
    of its own: a Spark session's views are shared by the threads that use it)."""
    tree = plan.copy()
    for table in tree.find_all(exp.Table):
        if table.name == RELATION and not table.args.get("db"):
            table.set("this", exp.to_identifier(name))
    return tree


def literals(values: Iterable[object]) -> list[exp.Expression]:
    return [exp.convert(v) for v in values]


def sql_type(name: str) -> exp.DataType:
    return exp.DataType.build(name, dialect="duckdb")


def typed(value: object, type_: str, *, strict: bool = True) -> exp.Expression:
    """A value as a literal of the zone type `type_`: CAST (a value that is not one fails the
    query), or TRY_CAST when not strict (it is NULL, and equals nothing)."""
    cast = exp.Cast if strict else exp.TryCast
    return cast(this=exp.convert(value), to=sql_type(type_))


def equals(name: str, value: object, type_: str = "VARCHAR", *, strict: bool = True) -> exp.Expression:
    """`name` = the value as that type: an equality filter, the value a literal (never SQL text)."""
    return exp.EQ(this=col(name), expression=typed(value, type_, strict=strict))


def after(names: Sequence[str], values: Sequence[object]) -> exp.Expression:
    """A keyset cursor: the rows whose (names…) come after (values…), in the order they name."""
    if len(names) == 1:
        return exp.GT(this=col(names[0]), expression=exp.convert(values[0]))
    return exp.GT(this=exp.Tuple(expressions=[col(n) for n in names]),
                  expression=exp.Tuple(expressions=literals(values)))


def all_of(conditions: Iterable[exp.Expression | None]) -> exp.Expression | None:
    """The conditions joined by AND (None when there is none)."""
    conds = [c for c in conditions if c is not None]
    return exp.and_(*conds) if conds else None


def rows_of(table: pa.Table) -> list[tuple[object, ...]]:
    """An Arrow result as Python tuples, one per row (what a page hands to JSON)."""
    return list(zip(*(c.to_pylist() for c in table.columns), strict=True)) if table.num_columns else []
