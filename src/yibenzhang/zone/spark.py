"""The Apache Spark engine, through Spark Connect: heavy jobs when a province outgrows one
machine. The web process holds no JVM: `pyspark`'s Connect client speaks gRPC to a Spark Connect
server (`start-connect-server.sh`) in front of a standalone, YARN or Kubernetes cluster.

Spark is handed each live batch's exact files (never a folder to list), reads them with the
items' types, and runs the port's plans rendered in Spark SQL by sqlglot. Everything on the hot
path is Spark SQL: no Python UDF runs here."""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import sqlglot
from sqlglot import exp

from ..errors import DomainError
from .functions import Function
from .port import META, Files, LiveState, Written, canonical, rename_relation

log = logging.getLogger(__name__)

# Spark SQL type per zone column type (TIMESTAMP_NTZ: the wall-clock time a department wrote,
# as DuckDB's TIMESTAMP; Spark's TIMESTAMP would shift it by the session's zone).
SPARK_TYPES = {"VARCHAR": "STRING", "DOUBLE": "DOUBLE", "DECIMAL(18,2)": "DECIMAL(18,2)", "BIGINT": "BIGINT",
               "DATE": "DATE", "TIMESTAMP": "TIMESTAMP_NTZ", "BOOLEAN": "BOOLEAN"}


RETRIES = int(os.environ.get("YBZ_SPARK_RETRIES") or 4)


class EngineUnavailable(DomainError):
    status = 503
    title = "服务暂不可用"

    def __init__(self, engine: str) -> None:
        super().__init__("engine_unavailable", "查询引擎“{engine}”暂不可用，请稍后重试", engine=engine)


def _q(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _uri(path: str) -> str:
    return path if "://" in path else Path(path).resolve().as_uri()


def _forget(session: Any) -> None:
    """Stops a session whose server is gone. `Builder.create` makes a session the process's default
    and active one, and pyspark reads settings through the active session (its debugging switch,
    on the first DataFrame call of the process): a dead one left there fails every later engine's
    first call, whatever its server. No release call: the server that held the session is gone."""
    if session is None:
        return
    session.release_session_on_close = False
    with contextlib.suppress(Exception):
        session.stop()


class SparkEngine:
    name = "spark"

    def __init__(self, remote: str) -> None:
        self.remote = remote
        self._session: Any = None
        self._lock = threading.Lock()

    # --- the session ---------------------------------------------------------------------

    def session(self) -> Any:
        """One Spark Connect session per process (a gRPC channel; thread-safe). A server that is
        down is an `engine_unavailable` error, never a hang: the first call checks it."""
        with self._lock:
            if self._session is None:
                s = None
                try:
                    from pyspark.sql import SparkSession

                    s = SparkSession.builder.remote(self.remote).create()  # not a shared default session
                    # A server that is down fails the call in seconds (the job is retried by the
                    # worker with its own backoff), not after the client's default 10 minutes.
                    from pyspark.sql.connect.client.retries import DefaultPolicy

                    s.client.set_retry_policies([DefaultPolicy(max_retries=RETRIES, initial_backoff=200,
                                                               backoff_multiplier=2.0, max_backoff=2000)])
                    s.conf.set("spark.sql.session.timeZone", "UTC")
                    s.conf.set("spark.sql.ansi.enabled", "true")
                    # the platform's SQL is data, never a template: Spark would replace `${…}` in
                    # its text (a steward's listed value, a Java regex replacement) by a variable
                    s.conf.set("spark.sql.variable.substitute", "false")
                    # the sandbox's per-run pseudonym keys ("<32 hex>:<authorization>") are
                    # string literals of its plans: redacted wherever Spark prints a plan
                    with contextlib.suppress(Exception):  # a server that forbids setting it
                        s.conf.set("spark.sql.redaction.string.regex", r"[0-9a-f]{32}:[0-9]+")
                    self._session = s
                except Exception as exc:  # grpc errors carry no stable type across versions
                    log.warning("spark connect %s unavailable: %s", self.remote, type(exc).__name__)
                    _forget(s)
                    raise EngineUnavailable(self.name) from exc
            return self._session

    def _run(self, fn: Any) -> Any:
        try:
            return fn(self.session())
        except DomainError:
            raise
        except Exception as exc:
            if _connection_lost(exc):
                with self._lock:
                    lost, self._session = self._session, None
                _forget(lost)
                raise EngineUnavailable(self.name) from exc
            raise

    def available(self) -> bool:
        try:
            self._run(lambda s: s.sql("SELECT 1").collect())
            return True
        except EngineUnavailable:
            return False

    def close(self) -> None:
        with self._lock:
            if self._session is not None:
                with contextlib.suppress(Exception):  # a server already gone
                    self._session.stop()
                self._session = None

    # --- the live state ------------------------------------------------------------------

    def frame(self, spark: Any, state: LiveState) -> Any:
        """The live state as a DataFrame, built like the DuckDB relation: per batch, its files
        with the items' types; batches unioned in order; one row per key when keyed."""
        from pyspark.sql import functions as F
        from pyspark.sql.window import Window

        cols = [*state.names, *META]
        if not state.parts:
            schema = ", ".join(f"{_q(c.name)} {SPARK_TYPES[c.type]}" for c in state.columns)
            schema = f"{schema}, _batch BIGINT, _row BIGINT" if schema else "_batch BIGINT, _row BIGINT"
            return spark.createDataFrame([], schema)
        frames = []
        for p in state.parts:
            df = spark.read.parquet(*(_uri(f) for f in p.files))
            select = [(F.col(_q(c.name)) if c.name in p.columns else F.lit(None))
                      .cast(SPARK_TYPES[c.type]).alias(c.name) for c in state.columns]
            frames.append(df.select(*select, F.lit(p.batch_id).cast("bigint").alias("_batch"),
                                    F.col("_row").cast("bigint").alias("_row")))
        union = frames[0]
        for f in frames[1:]:
            union = union.unionAll(f)
        if state.keys and state.dedupe:
            w = Window.partitionBy(*(F.col(_q(k)) for k in state.keys)).orderBy(
                F.col("_batch").desc(), F.col("_row").desc())
            union = union.withColumn("_n", F.row_number().over(w)).where(F.col("_n") == 1).drop("_n")
        return union.select(*(F.col(_q(c)) for c in cols))

    def render(self, plan: exp.Query, view: str) -> str:
        return rename_relation(plan, view).sql(dialect="spark")

    def _with_view(self, state: LiveState, plan: exp.Query, then: Any) -> Any:
        def go(spark: Any) -> Any:
            view = f"ybz_r_{uuid.uuid4().hex}"
            self.frame(spark, state).createOrReplaceTempView(view)
            try:
                return then(spark, spark.sql(self.render(plan, view)))
            finally:
                spark.catalog.dropTempView(view)

        return self._run(go)

    # --- operations ----------------------------------------------------------------------

    def count(self, state: LiveState) -> int:
        if not state.parts:
            return 0
        return int(self._run(lambda spark: self.frame(spark, state).count()))

    def query(self, state: LiveState, plan: exp.Query, *, functions: Iterable[Function] = ()) -> pa.Table:
        """The plan's rows as Arrow. A plan that calls platform functions (keyed masking: Python
        kernels) never comes here (`engine_for`); if one did, it is refused, not run without them."""
        if list(functions):
            raise ValueError("the Spark engine runs no platform functions (keyed masking stays on DuckDB)")
        return canonical(self._with_view(state, plan, lambda _s, df: df.toArrow()), state)

    def run_platform_sql(self, state: LiveState, duckdb_sql: str,
                         others: dict[str, LiveState] | None = None) -> pa.Table:
        """The platform's own SQL written for DuckDB over `r` (the quality statement, say), run
        here: transpiled by `spark_sql`, with `r` bound to the live state and each name of
        `others` to that resource's live state (a reference rule's other resource)."""
        tree = exp.maybe_parse(spark_sql(duckdb_sql), dialect="spark")
        assert isinstance(tree, exp.Query)
        if not others:
            return self._with_view(state, tree, lambda _s, df: df.toArrow())

        def go(spark: Any) -> pa.Table:
            names = {name: f"ybz_o_{uuid.uuid4().hex}" for name in others}
            for name, other in others.items():
                self.frame(spark, other).createOrReplaceTempView(names[name])
            bound = tree.copy()
            for table in bound.find_all(exp.Table):
                if table.name in names and not table.args.get("db"):
                    table.set("this", exp.to_identifier(names[table.name]))
            try:
                return self._with_view(state, bound, lambda _s, df: df.toArrow())
            finally:
                for view in names.values():
                    spark.catalog.dropTempView(view)

        return self._run(go)

    def write(self, state: LiveState, plan: exp.Query, folder: str) -> Written:
        """Parquet files under `folder`/data (Spark names its parts; the manifest lists them)."""
        target = Path(folder) / "data"

        def go(_spark: Any, df: Any) -> int:
            df.write.mode("error").option("compression", "zstd").parquet(_uri(str(target)))
            return 0

        self._with_view(state, plan, go)
        return self._written(Path(folder), target)


    def split(self, source: Files, staged_sql: str, kept_sql: str, rest_sql: str, folder: str,
              scratch: str) -> tuple[Written, pa.Table]:
        """Collection's coerce-and-write (issue 13): the platform's DuckDB SQL `staged_sql` over `r`
        (the files of `source`: text as sent, numbered) run once and written to `scratch`; then,
        over those rows as `r`, `kept_sql` written as Parquet under `folder`/data (the batch's files)
        and `rest_sql` returned as Arrow (the bad rows' records, few). Writing the staged rows
        once keeps the coercion from running twice and leaves no state on the server."""
        target, staged = Path(folder) / "data", Path(scratch) / "staged"

        def go(spark: Any) -> pa.Table:
            view = f"ybz_r_{uuid.uuid4().hex}"

            def over(sql: str) -> Any:
                tree = exp.maybe_parse(spark_sql(sql), dialect="spark")
                assert isinstance(tree, exp.Query)
                return spark.sql(self.render(tree, view))

            spark.read.parquet(*(_uri(f) for f in source.files)).createOrReplaceTempView(view)
            try:
                over(staged_sql).write.mode("error").parquet(_uri(str(staged)))
                spark.read.parquet(_uri(str(staged))).createOrReplaceTempView(view)
                over(kept_sql).write.mode("error").option("compression", "zstd").parquet(_uri(str(target)))
                return over(rest_sql).toArrow()
            finally:
                spark.catalog.dropTempView(view)

        rest = self._run(go)
        return self._written(Path(folder), target), rest

    def _written(self, folder: Path, target: Path) -> Written:
        """The Parquet parts Spark wrote under `target` (its checksums and marker removed)."""
        import pyarrow.parquet as pq

        files = sorted(f"{target.name}/{p.name}" for p in target.glob("part-*.parquet"))
        rows = sum(pq.read_metadata(folder / f).num_rows for f in files)
        for junk in {*target.glob("*.crc"), *target.glob(".*.crc")}:  # hidden or not, by Python version
            junk.unlink()
        (target / "_SUCCESS").unlink(missing_ok=True)
        return Written(files, rows)

    def aggregate(self, views: dict[str, tuple[LiveState, str]], sql: str, *, timeout: float,
                  max_rows: int) -> pa.Table:
        """The sandbox's query (issue 16) on the cluster: each view is its live state projected by
        the platform's DuckDB SQL (pseudonyms, derived attributes), `sql` (checked by the sandbox's
        guard, in DuckDB's dialect) runs over the views, and only its result — at most `max_rows`
        + 1 rows, so the caller can tell that there were more — comes back. The rows never leave
        the cluster. The job is interrupted after `timeout` seconds (`SandboxInterrupted`); a
        planning or runtime error is a `SandboxError` naming Spark's error class only (its message
        may quote values)."""

        def go(spark: Any) -> pa.Table:
            created: list[str] = []
            tag = f"ybz-sandbox-{uuid.uuid4().hex}"
            try:
                names: dict[str, str] = {}
                for name, (state, projection) in views.items():
                    base = f"ybz_r_{uuid.uuid4().hex}"
                    self.frame(spark, state).createOrReplaceTempView(base)
                    created.append(base)
                    view = f"ybz_v_{uuid.uuid4().hex}"
                    spark.sql(spark_sql(f"SELECT {projection} FROM {base}")).createOrReplaceTempView(view)
                    created.append(view)
                    names[name.lower()] = view
                tree = sqlglot.parse_one(sql, read="duckdb").transform(_to_spark)
                for table in tree.find_all(exp.Table):
                    bound = names.get(table.name.lower())
                    if bound is not None and not table.args.get("db"):
                        table.set("this", exp.to_identifier(bound))
                # every identifier quoted: items are Chinese names, which Spark takes only quoted
                df = spark.sql(tree.sql(dialect="spark", identify=True)).limit(int(max_rows) + 1)
                spark.addTag(tag)
                started = time.monotonic()
                timer = threading.Timer(timeout, lambda: spark.interruptTag(tag))
                timer.start()
                try:
                    table = df.toArrow()
                except Exception as exc:
                    if _connection_lost(exc):
                        raise
                    if time.monotonic() - started >= timeout:
                        raise SandboxInterrupted() from exc
                    raise SandboxError(_error_class(exc), planning=_is_planning(exc)) from exc
                finally:
                    timer.cancel()
                    spark.removeTag(tag)
                if time.monotonic() - started >= timeout:  # the limit is the limit, interrupted or not
                    raise SandboxInterrupted()
                return table
            except (SandboxError, SandboxInterrupted, DomainError):
                raise
            except Exception as exc:
                if _connection_lost(exc):
                    raise
                raise SandboxError(_error_class(exc), planning=_is_planning(exc)) from exc
            finally:
                for view in created:
                    with contextlib.suppress(Exception):
                        spark.catalog.dropTempView(view)

        return canonical(self._run(go))


class SandboxError(Exception):
    """A sandbox query that Spark could not plan or run: its error class only."""

    def __init__(self, kind: str, *, planning: bool) -> None:
        super().__init__(kind)
        self.kind = kind
        self.planning = planning


class SandboxInterrupted(Exception):
    """A sandbox query interrupted at its time limit."""


def _error_class(exc: BaseException) -> str:
    for getter in ("getCondition", "getErrorClass"):
        with contextlib.suppress(Exception):
            found = getattr(exc, getter)()
            if found:
                return str(found)
    return type(exc).__name__


def _is_planning(exc: BaseException) -> bool:
    return type(exc).__name__ in ("AnalysisException", "ParseException")


def _connection_lost(exc: BaseException) -> bool:
    text = f"{type(exc).__name__} {exc}"
    return any(s in text for s in ("UNAVAILABLE", "failed to connect", "Connection refused", "RetriesExceeded",
                                   "SparkConnectGrpcException", "Channel closed", "Deadline Exceeded"))


# --- DuckDB SQL → Spark SQL ---------------------------------------------------------------

_STRFTIME = [("%Y", "yyyy"), ("%m", "MM"), ("%d", "dd"), ("%H", "HH"), ("%M", "mm"), ("%S", "ss"),
             ("%f", "SSSSSS")]


def java_pattern(fmt: str, *, after_field: bool = False, from_start: bool = True) -> str:
    """A strptime format as a Java DateTimeFormatter pattern: letters other than the fields are
    quoted literals ('T' in ISO date-times). strptime reads a month, day, hour, minute or second
    of one or two digits; so does a single Java letter, except where the next field follows with
    no separator (`%Y%m%d`): there only a fixed width tells the fields apart. The last field of a
    run that starts the text (`%Y%m%d%H时`) is fixed too: after Java's variable-width year no
    field may be variable (the text is padded to it, `leading_pad`). `from_start`: `fmt` is a
    format's start (not a suffix of one after a literal)."""
    out, i = [], 0
    while i < len(fmt):
        pair = fmt[i:i + 2]
        hit = next((j for f, j in _STRFTIME if f == pair), None)
        if hit is not None:
            adjacent = fmt[i + 2:i + 3] == "%" or (after_field and from_start)
            out.append(hit[0] if hit in _VARIABLE and not adjacent else hit)
            i, after_field = i + 2, True
            continue
        after_field = from_start = False
        ch = fmt[i]
        out.append(f"'{ch}'" if ch.isascii() and ch.isalpha() else ("''" if ch == "'" else ch))
        i += 1
    return "".join(out)


_WIDTH = {"%Y": 4, "%m": 2, "%d": 2, "%H": 2, "%M": 2, "%S": 2}


def leading_pad(fmt: str) -> int | None:
    """For a format that starts with two or more fields and no separator (`%Y%m%d%H时`): the
    digits of all but the last of them. strptime reads that last field's one or two digits; Java,
    after its variable-width year, only a fixed width — so a text whose leading digits are one
    short is given the missing 0 before its last digit. None when the format starts otherwise."""
    fields = []
    i = 0
    while fmt[i:i + 2] in _WIDTH:
        fields.append(fmt[i:i + 2])
        i += 2
    if len(fields) < 2 or fields[-1] == "%Y" or fmt[i:i + 1] == "%":
        return None
    return sum(_WIDTH[f] for f in fields[:-1])


def format_chains(formats: list[str]) -> list[list[str]]:
    """A strptime format list in chains: formats that extend another (`%Y-%m-%d %H:%M`, then
    `…:%S`, then `….%f`) go together, shortest first; a text parses whole by at most one format
    of a chain."""
    left = list(dict.fromkeys(formats))
    out = []
    while left:
        chain = [left.pop(0)]
        while True:
            longer = [f for f in left if f.startswith(chain[-1]) and f != chain[-1]]
            if not longer:
                break
            nxt = min(longer, key=len)
            left.remove(nxt)
            chain.append(nxt)
        shorter = [f for f in left if chain[0].startswith(f)]  # a later, shorter format of the chain
        for f in shorter:
            left.remove(f)
        out.append(sorted({*chain, *shorter}, key=len))
    return out


def java_patterns(formats: list[str]) -> list[str]:
    """A strptime format list as few Java patterns: each chain (`format_chains`) one pattern with
    optional sections (`yyyy-M-d H:m[:s[.SSSSSS]]`). The result is the same; the statement is
    smaller (35 date-time formats were 35 calls per value, and Spark's generated code for the
    collection plan outgrew the JVM's 64 KB method limit)."""
    return [chain_pattern(chain) for chain in format_chains(formats)]


def chain_pattern(chain: list[str]) -> str:
    """One chain of formats (`format_chains`) as one Java pattern with optional sections."""
    pattern = java_pattern(chain[0])
    for prev, cur in itertools.pairwise(chain):
        fields_only = re.fullmatch(r"(%[YmdHMSf])*", prev) is not None
        pattern += "[" + java_pattern(cur[len(prev):], after_field=prev[-2:-1] == "%", from_start=fields_only)
    return pattern + "]" * (len(chain) - 1)


def literals(fmt: str) -> str | None:
    """What is left of a text in `fmt` without its ASCII digits: the format's literal characters
    (every field is digits). None when the format has a field that is not digits only."""
    out = fmt
    for field, _java in _STRFTIME:
        out = out.replace(field, "")
    return None if "%" in out else out


_VARIABLE = frozenset({"MM", "dd", "HH", "mm", "ss"})
_BACKREF = re.compile(r"\\(\d)")


def _strptime(text: exp.Expression, formats: list[str]) -> exp.Expression:
    """DuckDB's `try_strptime(text, formats)` in Spark SQL (a timestamp, NULL when no format
    reads the text): a `try_to_timestamp` per chain of formats (`chain_pattern`), the text padded
    where Java needs a fixed width (`leading_pad`)."""
    chains = format_chains(formats)
    calls = []
    for chain in chains:
        read = text.copy()
        pads = {leading_pad(f) for f in chain}
        pad = pads.pop() if len(pads) == 1 else None
        if pad is not None:
            # Anonymous, not RegexpReplace: this replacement is Java's already. `$10` is group 1
            # and a 0 (Java reads a second digit only if it names a group)
            read = exp.Anonymous(this="regexp_replace", expressions=[
                read, exp.Literal.string(f"^([0-9]{{{pad}}})([0-9])(?![0-9])"), exp.Literal.string("$10$2")])
        pattern = exp.Literal.string(chain_pattern(chain))
        calls.append(exp.Anonymous(this="try_to_timestamp", expressions=[read, pattern]))
    shapes = [[literals(f) for f in chain] for chain in chains]
    if any(s is None for chain in shapes for s in chain):  # a field that is not digits: each in turn
        return calls[0] if len(calls) == 1 else exp.Coalesce(this=calls[0], expressions=calls[1:])
    # only the chain whose literal characters the text has is tried: a Java pattern that does not
    # match throws inside try_to_timestamp, and trying every pattern in turn made a date column
    # of mixed forms (20230105, 2023/1/5, 2023年1月5日) the slowest column of a collection
    shape = exp.Anonymous(this="translate", expressions=[
        text.copy(), exp.Literal.string("0123456789"), exp.Literal.string("")])
    return exp.Case(ifs=[exp.If(this=exp.In(this=shape.copy(), expressions=[exp.Literal.string(s) for s in chain]),
                                true=call) for chain, call in zip(shapes, calls, strict=True)])


def _to_spark(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.CTE) and node.args.get("materialized") is not None:
        node.set("materialized", None)
        return node
    if isinstance(node, exp.RegexpFullMatch):
        pattern = node.expression
        if isinstance(pattern, exp.Literal) and pattern.is_string:
            pattern = exp.Literal.string(f"^(?:{pattern.this})$")
        return exp.RegexpLike(this=node.this, expression=pattern)
    if isinstance(node, exp.Anonymous) and node.name.lower() == "try_strptime":
        # a wall-clock time, as DuckDB's TIMESTAMP: try_to_timestamp gives Spark's zoned kind,
        # exact to convert in the session's UTC
        text, fmts = node.expressions[0], node.expressions[1]
        formats = [f.this for f in (fmts.expressions if isinstance(fmts, exp.Array) else [fmts])]
        return exp.Cast(this=_strptime(text, formats), to=exp.DataType.build("TIMESTAMP_NTZ", dialect="spark"))
    if isinstance(node, exp.Anonymous) and node.name.lower() == "strlen":  # bytes, as DuckDB's
        return exp.Anonymous(this="octet_length", expressions=[e.copy() for e in node.expressions])
    if isinstance(node, exp.Anonymous) and node.name.lower() == "isfinite":
        # neither infinite nor NaN (Spark orders NaN above +Infinity); NULL stays NULL
        return exp.LT(this=exp.Abs(this=node.expressions[0].copy()),
                      expression=exp.Cast(this=exp.Literal.string("Infinity"), to=exp.DataType.build("DOUBLE")))
    if isinstance(node, exp.RegexpReplace):
        # DuckDB's replacement names a group as \1, Java's as $1 (and reads a bare $ as one)
        repl = node.args.get("replacement")
        if isinstance(repl, exp.Literal) and repl.is_string:
            text = repl.this.replace("$", "\\$")
            node.set("replacement", exp.Literal.string(_BACKREF.sub(r"$\1", text)))
        return node
    if isinstance(node, exp.DataType) and node.this == exp.DataType.Type.UBIGINT:
        return exp.DataType.build("DECIMAL(20,0)")
    top_n = node.this if isinstance(node, exp.Filter) else node
    if isinstance(top_n, exp.Min | exp.Max) and top_n.args.get("count") is not None:
        # DuckDB's min(x, n) / max(x, n) [FILTER (WHERE …)]: the n smallest / largest, as a list;
        # Spark: the collected values (filtered there, the aggregate being collect_list), sorted
        # ascending / descending, the first n
        collected: exp.Expression = exp.Anonymous(this="collect_list", expressions=[top_n.this.copy()])
        if isinstance(node, exp.Filter):
            collected = exp.Filter(this=collected, expression=node.expression.copy())
        listed = (exp.Anonymous(this="array_sort", expressions=[collected]) if isinstance(top_n, exp.Min)
                  else exp.Anonymous(this="sort_array", expressions=[collected, exp.false()]))
        return exp.Anonymous(this="slice", expressions=[listed, exp.Literal.number(1), top_n.args["count"].copy()])
    return node


def spark_sql(duckdb_sql: str) -> str:
    """Platform SQL written for DuckDB, in Spark SQL: sqlglot's transpiler, plus the constructs it
    leaves in DuckDB's form (full-match regexes, strptime with format lists, unsigned integers,
    min(x, n), materialized CTEs)."""
    import sqlglot

    tree = sqlglot.parse_one(duckdb_sql, read="duckdb").transform(_to_spark)
    return tree.sql(dialect="spark")
