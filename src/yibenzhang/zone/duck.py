"""The DuckDB engine: in process, the embedded default and every interactive call.

It renders the live state as one DuckDB table expression over the batches' exact files and runs
the port's plans in DuckDB's dialect. Stages that still hold DuckDB SQL of their own reach a
connection through `connect()` (the port is taking their work over one operation at a time)."""

from __future__ import annotations

import logging
import os
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from sqlglot import exp

from .functions import Function
from .port import META, RELATION, Files, LiveState, Source, Written, canonical
from .store import get_store

log = logging.getLogger(__name__)

# Sane limits on a shared machine: DuckDB spills to disk beyond the memory limit, so a 2 GB
# file never needs 2 GB of memory.
MEMORY_LIMIT = os.environ.get("YBZ_DUCKDB_MEMORY", "512MB")
# A heavy job (a base library's fusion) holds several full-size intermediate tables at once: at
# 512 MB they spill and the job takes twice as long (BENCHMARKS.md, fusion). DuckDB takes a
# share of the machine's memory ("25%") as well as a size.
JOB_MEMORY_LIMIT = os.environ.get("YBZ_DUCKDB_JOB_MEMORY", "25%")
THREADS = int(os.environ.get("YBZ_DUCKDB_THREADS") or min(4, os.cpu_count() or 1))
PART = "part-000000.parquet"
EXPORT_FORMATS = {"csv": "FORMAT csv, HEADER true", "json": "FORMAT json, ARRAY true",
                  "parquet": "FORMAT parquet, COMPRESSION zstd"}
SENTINEL = "ybz_live_state_sentinel"  # replaced by the live state's table expression


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def relation(state: LiveState) -> str:
    """The live state as a DuckDB table expression: each batch's files read with its columns cast
    to the items' types (an item a batch lacks is NULL), the batches unioned in order, then, for
    a keyed resource, one row per key: the latest batch wins, then the latest row within it."""
    names = [*state.names, *META]
    if not state.parts:
        cols = ", ".join(f"CAST(NULL AS {c.type}) AS {quote(c.name)}" for c in state.columns)
        head = f"{cols}, " if cols else ""
        return f"(SELECT {head}CAST(NULL AS BIGINT) AS _batch, CAST(NULL AS BIGINT) AS _row WHERE false)"
    parts = []
    for p in state.parts:
        cols = [f"CAST({quote(c.name) if c.name in p.columns else 'NULL'} AS {c.type}) AS {quote(c.name)}"
                for c in state.columns]
        files = ", ".join(literal(f) for f in p.files)
        cols += [f"CAST({p.batch_id} AS BIGINT) AS _batch", "CAST(_row AS BIGINT) AS _row"]
        parts.append(f"SELECT {', '.join(cols)} FROM read_parquet([{files}], union_by_name = true)")
    union = " UNION ALL ".join(parts)
    if state.keys and state.dedupe:
        return latest_per_key(f"({union})", [quote(k) for k in state.keys], [quote(n) for n in names])
    return f"(SELECT {', '.join(quote(n) for n in names)} FROM ({union}))"


def latest_per_key(union: str, keys: list[str], names: list[str]) -> str:
    """Per key (NULL a value like any other), the row of the latest batch, then the latest row:
    the rows of `union` that `row_number() OVER (PARTITION BY keys ORDER BY _batch DESC, _row
    DESC) = 1` keeps, found without that window. The window sorts every row with all its
    columns; here only the keys that occur more than once are grouped (keys, `_batch` and `_row`
    are all the aggregate reads) and the rows that lose are dropped by a join whose build side is
    those duplicates alone — after a 全量 batch without repeated keys it is empty. 13M rows of a
    keyed live state rewritten: 18.2 s with the window, 13.2 s so (issue 13)."""
    # (batch, row) as one orderable number: batch ids and row numbers are non-negative BIGINTs
    order = "(CAST({t}_batch AS HUGEINT) * 18446744073709551616 + {t}_row)"
    on = " AND ".join(f"u.{k} IS NOT DISTINCT FROM d.{k}" for k in keys)
    return (f"(WITH u AS (SELECT * FROM {union}),\n"
            f"d AS (SELECT {', '.join(keys)}, max({order.format(t='')}) AS _keep FROM u GROUP BY ALL "
            f"HAVING count(*) > 1)\n"
            f"SELECT {', '.join(f'u.{n}' for n in names)} FROM u LEFT JOIN d ON {on}\n"
            f"WHERE d._keep IS NULL OR {order.format(t='u.')} = d._keep)")


MAX_COUNT_BUCKETS = 256


def _distinct_in_bucket(con: duckdb.DuckDBPyConnection, keys: str, relation_sql: str, bucket: int,
                        buckets: int) -> int:
    """The distinct keys whose hash falls in one of `buckets` buckets: a key is in exactly one, so
    the buckets' counts add up to the exact count."""
    where = f" WHERE hash({keys}) % {buckets} = {bucket}" if buckets > 1 else ""
    row = con.execute(f"SELECT count(*) FROM (SELECT DISTINCT {keys} FROM {relation_sql}{where})").fetchone()
    return int(row[0]) if row else 0


def literal_rows(query: str, params: dict[str, Any] | list[Any] | None = None) -> list[tuple[Any, ...]]:
    """Every row of a query over literals and parameters only (no zone file: the caller's key
    normalised by the fusion's SQL, a readiness probe): a plain in-memory connection of its own,
    never DuckDB's process-wide default one (shared by every thread; DuckDB 2 refuses other work
    on it while a result is unfinished)."""
    with duckdb.connect() as con:
        return con.execute(query, params).fetchall()


def table_sql(source: LiveState | Files | tuple[Files, ...]) -> str:
    """A live state, files an exit wrote (with their batch id as `_batch` when they name one), or
    several groups of files unioned by name, as a DuckDB table expression."""
    if isinstance(source, LiveState):
        return relation(source)
    if isinstance(source, Files):
        files = ", ".join(literal(f) for f in source.files)
        batch = f", CAST({int(source.batch)} AS BIGINT) AS _batch" if source.batch is not None else ""
        return f"(SELECT *{batch} FROM read_parquet([{files}]))"
    if not source:
        raise ValueError("no files to read")
    return "(" + " UNION ALL BY NAME ".join(f"SELECT * FROM {table_sql(f)}" for f in source) + ")"


Connection = duckdb.DuckDBPyConnection
EngineError = duckdb.Error  # what a failed statement raises (a stage catches it to clean up)


def install(con: Connection, functions: Iterable[Function]) -> None:
    """DuckDB's one hook for the platform's functions (zone.functions): each registered once per
    connection as an Arrow function; a name the connection already knows is left as it is."""
    wanted = list(functions)
    if not wanted:
        return
    known = {r[0] for r in con.execute(
        "SELECT function_name FROM duckdb_functions() WHERE function_name LIKE 'ybz\\_%' ESCAPE '\\'").fetchall()}
    for f in wanted:
        if f.name in known:
            continue
        con.create_function(f.name, f.kernel, list(f.args), f.returns, type="arrow", null_handling="special",
                            side_effects=f.side_effects)
        known.add(f.name)


def load_extension(con: Connection, path: Path, functions: Iterable[str]) -> bool:
    """Whether `functions` are on `con`, loading the extension at `path` (verified by its caller)
    if they are not yet; a connection that may not load it says no."""
    names = set(functions)
    present = {r[0] for r in con.execute(
        "SELECT DISTINCT function_name FROM duckdb_functions() WHERE function_name LIKE 'ybz\\_%' ESCAPE '\\'"
    ).fetchall()}
    if present >= names:
        return True
    try:
        con.execute(f"LOAD {literal(str(path))}")
    except duckdb.Error as exc:  # a connection without allow_unsigned_extensions, say
        log.info("extension not loaded on this connection: %s", type(exc).__name__)
        return False
    return True


# One DuckDB database per engine and process for the request paths (share rows, open rows): one
# buffer pool, Parquet pages read once; each request runs on a cursor of its own. What a caller
# registers on it (keyed masking functions) is registered once per key.
_shared: dict[int, tuple[duckdb.DuckDBPyConnection, set[str]]] = {}
_shared_lock = threading.Lock()


def shared_cursor(engine: DuckDBEngine, key: str | None = None,
                  prepare: Callable[[duckdb.DuckDBPyConnection], None] | None = None) -> duckdb.DuckDBPyConnection:
    """A cursor on the engine's shared connection (close it when done); `prepare` runs once per
    `key` on the connection before the first cursor that names it."""
    with _shared_lock:
        got = _shared.get(id(engine))
        if got is None:
            got = _shared[id(engine)] = (engine.connect(), set())
        con, prepared = got
        if key is not None and prepare is not None and key not in prepared:
            prepare(con)
            prepared.add(key)
    return con.cursor()


class DuckDBEngine:
    name = "duckdb"

    def __init__(self, zone: Path) -> None:
        self.zone = zone

    def connect(self, *, allow_extensions: bool = False, job: bool = False) -> duckdb.DuckDBPyConnection:
        """A fresh in-memory connection; spill files go to the zone's staging area. Unsigned
        extensions only when the caller asks (quality's verified native checks), on that
        connection alone. `job`: a heavy job's connection, with `JOB_MEMORY_LIMIT`."""

        spill = self.zone / ".staging" / ".duckdb_tmp"
        spill.mkdir(parents=True, exist_ok=True)
        config: dict[str, Any] = {"memory_limit": JOB_MEMORY_LIMIT if job else MEMORY_LIMIT, "threads": THREADS,
                                  "temp_directory": str(spill), "preserve_insertion_order": True}
        if allow_extensions:
            config["allow_unsigned_extensions"] = True
        con = duckdb.connect(config=config)
        get_store().register(con)  # s3:// paths of an S3 zone (store.py: why not httpfs)
        return con

    def available(self) -> bool:
        return True

    def sql(self, query: str, params: list[Any] | None = None) -> pa.Table:
        con = self.connect()
        try:
            return con.sql(query, params=params).to_arrow_table() if params else con.sql(query).to_arrow_table()
        finally:
            con.close()

    def render(self, state: LiveState | Files | tuple[Files, ...], plan: exp.Query,
               tables: Mapping[str, LiveState | Files | tuple[Files, ...]] | None = None) -> str:
        """The plan in DuckDB SQL with `r` bound to the live state or the files (a CTE of its own,
        before the plan's own CTEs), and each of `tables` under its own name likewise."""
        bound = {RELATION: table_sql(state)}
        bound.update({name: table_sql(t) for name, t in (tables or {}).items()})
        return self._bind(plan, bound)

    def _bind(self, plan: exp.Query, tables: dict[str, str]) -> str:
        if plan.args.get("with_") is None:  # no CTEs of its own: the bindings go before it (no copy of the tree)
            ctes = ", ".join(f"{quote(name)} AS (SELECT * FROM {sql})" for name, sql in tables.items())
            return f"WITH {ctes} {plan.sql(dialect='duckdb')}"
        tree = plan.copy()
        sentinels = {f"{SENTINEL}_{i}": sql for i, sql in enumerate(tables.values())}
        bound = [exp.CTE(this=exp.select("*").from_(sentinel), alias=exp.TableAlias(this=exp.to_identifier(name)))
                 for name, sentinel in zip(tables, sentinels, strict=True)]
        with_ = tree.args.get("with_")
        if with_ is not None:
            with_.set("expressions", [*bound, *with_.expressions])
        else:
            tree.set("with_", exp.With(expressions=bound))
        out = tree.sql(dialect="duckdb")
        for sentinel, sql in sentinels.items():
            out = out.replace(sentinel, sql, 1)
        return out

    def count(self, state: LiveState) -> int:
        if not state.parts:
            return 0
        if not (state.keys and state.dedupe):
            # no de-duplication: the row counts in the files' footers are the answer
            from .store import get_store

            store = get_store()
            return sum(store.read_metadata(f).num_rows for p in state.parts for f in p.files)
        # one row per distinct key (NULL a value like any other, as in the window's partitions):
        # a hash aggregate of the key columns instead of the window over every row (issue 15)
        keys = ", ".join(quote(k) for k in state.keys)
        undeduped = relation(LiveState(state.resource_id, state.columns, state.keys, state.parts, False))
        con = self.connect()
        try:
            # a count has no order to keep (kept, DuckDB buffers the unioned reads)
            con.execute("SET preserve_insertion_order = false")
            buckets = 1
            while True:
                try:
                    return sum(_distinct_in_bucket(con, keys, undeduped, b, buckets) for b in range(buckets))
                except duckdb.OutOfMemoryException:
                    # the distinct keys' hash table did not fit and did not spill (DuckDB's
                    # aggregate spills unevenly: 13M ID numbers failed at 512 MB one run in
                    # three): count the key space in hash buckets, each exact, each smaller
                    if buckets >= MAX_COUNT_BUCKETS:
                        raise
                    buckets *= 4
        finally:
            con.close()

    def query(self, state: LiveState, plan: exp.Query, *, functions: Iterable[Function] = ()) -> pa.Table:
        """The plan's rows, on a connection of its own (a delivery, a snapshot's build); the
        platform functions it calls (masking's keyed ones) registered there first."""
        wanted = list(functions)
        if not wanted:
            return canonical(self.sql(self.render(state, plan)), state)
        con = self.connect()
        try:
            install(con, wanted)
            return canonical(con.sql(self.render(state, plan)).to_arrow_table(), state)
        finally:
            con.close()

    def rows(self, source: Source, plan: exp.Query, *, functions: Iterable[Function] = (),
             tables: Mapping[str, LiveState | Files | tuple[Files, ...]] | None = None) -> pa.Table:
        """The plan's rows for an interactive call (a page of rows, a 核验 look-up): on a cursor of
        the engine's shared connection (one buffer pool: Parquet pages read once for every
        request), the platform functions it calls registered there once per set of names. `r` is
        a live state, files an exit wrote (one group, or several unioned by name), or an Arrow
        table; `tables` binds more names the plan reads."""
        wanted = list(functions)
        key = "functions:" + ",".join(sorted(f.name for f in wanted)) if wanted else None
        con = shared_cursor(self, key, (lambda c: install(c, wanted)) if wanted else None)
        name = None
        try:
            if isinstance(source, pa.Table):
                name = f"_ybz_arrow_{uuid.uuid4().hex}"
                con.register(name, source)
                sql = self._bind(plan, {RELATION: name, **{n: table_sql(t) for n, t in (tables or {}).items()}})
            else:
                sql = self.render(source, plan, tables)
            table = con.sql(sql).to_arrow_table()
            if name is not None:
                con.unregister(name)
            return canonical(table, source if isinstance(source, LiveState) else None)
        finally:
            con.close()

    def export(self, state: LiveState, plan: exp.Query, target: str, fmt: str, *,
               functions: Iterable[Function] = (), row_group: int | None = None) -> None:
        """The plan's rows written to one file: `csv` with a header row, `json` as one array of
        objects, `parquet` (zstd; row groups of `row_group` rows when given). The platform
        functions the plan calls are registered first."""
        options = EXPORT_FORMATS[fmt] + (f", ROW_GROUP_SIZE {int(row_group)}" if row_group else "")
        con = self.connect()
        try:
            install(con, functions)
            con.execute(f"COPY ({self.render(state, plan)}) TO {literal(target)} ({options})")
        finally:
            con.close()

    @contextmanager
    def reader(self, state: LiveState, plan: exp.Query, *, functions: Iterable[Function] = (),
               rows: int = 8192) -> Iterator[pa.RecordBatchReader]:
        """The plan's rows streamed as Arrow batches of `rows` rows (memory flat with the
        result: an XLSX written row by row)."""
        con = self.connect()
        try:
            install(con, functions)
            yield con.sql(self.render(state, plan)).to_arrow_reader(rows)
        finally:
            con.close()

    def value(self, expression: exp.Expression) -> Any:
        """The value of an expression over literals only (a filter value cast to its item's type,
        a text trimmed as the engine trims): EngineError when the engine refuses it."""
        return literal_rows(exp.select(expression).sql(dialect="duckdb"))[0][0]

    def run_platform_sql(self, state: LiveState, duckdb_sql: str) -> pa.Table:
        """The platform's own DuckDB SQL over `r`, with `r` bound to the live state."""
        con = self.connect()
        try:
            con.execute(f"CREATE TEMP VIEW r AS SELECT * FROM {relation(state)}")
            return con.sql(duckdb_sql).to_arrow_table()
        finally:
            con.close()

    def write(self, state: LiveState, plan: exp.Query, folder: str) -> Written:
        target = Path(folder) / PART
        target.parent.mkdir(parents=True, exist_ok=True)
        con = self.connect()
        try:
            con.execute(f"COPY ({self.render(state, plan)}) TO {literal(str(target))} "
                        "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)")
        finally:
            con.close()
        return Written([PART], pq.read_metadata(target).num_rows)
