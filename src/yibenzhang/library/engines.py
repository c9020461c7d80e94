"""Running a fusion plan on the zone's engines: several live states bound under their names,
intermediate steps, Parquet outputs. DuckDB binds each relation as a view over the exact files
(`zone.duck.relation`) and materialises the steps as temporary tables; Spark binds each as a
temporary view of `SparkEngine.frame` under a name of its own (a session's views are shared by
its threads), runs the same SQL transpiled by `zone.spark.spark_sql` and writes each step to Parquet."""

from __future__ import annotations

import re
import shutil
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import sqlglot
from sqlglot import exp

from ..zone import duck
from ..zone.port import canonical
from .fusion import Plan

PART = "part-000000.parquet"


def _files(folder: Path, name: str) -> list[str]:
    return sorted(f"{name}/{p.name}" for p in (folder / name).glob("part-*.parquet"))


def run(engine: Any, plan: Plan, folder: str) -> dict[str, Any]:
    """Write every output under `folder/<output>/` and return the files per output, their row
    counts and the per-source counts (an Arrow table)."""
    if engine.name == "spark":
        return _run_spark(engine, plan, Path(folder))
    return _run_duckdb(engine, plan, Path(folder))


def last_uses(plan: Plan) -> dict[int, list[str]]:
    """Per step index, the steps no later step, output or count reads (their last reader is that
    step): a table dropped there frees its memory for the rest of the job."""
    later = [sql for _, sql in plan.steps] + [*plan.outputs.values(), plan.counts]
    done: dict[int, list[str]] = {}
    for n, (name, _) in enumerate(plan.steps):
        pattern = re.compile(rf"\b{re.escape(name)}\b")
        readers = [k for k in range(n + 1, len(later)) if pattern.search(later[k])]
        if readers and readers[-1] < len(plan.steps):
            done.setdefault(readers[-1], []).append(name)
    return done


def _run_duckdb(engine: Any, plan: Plan, folder: Path) -> dict[str, Any]:
    con = engine.connect(job=True)
    try:
        for name, state in plan.relations.items():
            con.execute(f"CREATE TEMP VIEW {name} AS SELECT * FROM {duck.relation(state)}")
        # the steps' row order does not matter (the outputs order what they write): without it
        # DuckDB materialises in parallel and with less memory
        con.execute("SET preserve_insertion_order = false")
        drop = last_uses(plan)
        for n, (name, sql) in enumerate(plan.steps):  # a step read once by the next is a view: one copy fewer
            con.execute(f"CREATE TEMP {'VIEW' if name in plan.inline else 'TABLE'} {name} AS {sql}")
            for done in reversed(drop.get(n, [])):  # a view first: it reads the table before it
                con.execute(f"DROP {'VIEW' if done in plan.inline else 'TABLE'} {done}")
        con.execute("SET preserve_insertion_order = true")
        out: dict[str, Any] = {"files": {}, "rows": {}}
        for name, sql in plan.outputs.items():
            target = folder / name / PART
            target.parent.mkdir(parents=True, exist_ok=True)
            con.execute(f"COPY ({sql}) TO {duck.literal(str(target))} (FORMAT parquet, COMPRESSION zstd)")
            out["files"][name] = [f"{name}/{PART}"]
            out["rows"][name] = pq.read_metadata(target).num_rows
        out["counts"] = con.sql(plan.counts).to_arrow_table()
        return out
    finally:
        con.close()


def _spark_tree(sql: str, names: dict[str, str]) -> str:
    # deferred: keeps zone.spark out of this module's import
    from ..zone.spark import spark_sql

    tree = sqlglot.parse_one(spark_sql(sql), read="spark")

    def fix(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Table) and not node.args.get("db") and node.name in names:
            node.set("this", exp.to_identifier(names[node.name]))
        if isinstance(node, exp.DataType) and node.this == exp.DataType.Type.TIMESTAMP:
            return exp.DataType.build("TIMESTAMP_NTZ", dialect="spark")
        return node

    return tree.transform(fix).sql(dialect="spark")


def _run_spark(engine: Any, plan: Plan, folder: Path) -> dict[str, Any]:
    # deferred: keeps zone.spark out of this module's import
    from ..zone.spark import _uri

    suffix = uuid.uuid4().hex[:12]
    names = {n: f"ybz_{n}_{suffix}" for n in [*plan.relations, *(s for s, _ in plan.steps)]}

    steps = folder / f"_steps_{suffix}"  # removed before the folder is published

    def go(spark: Any) -> dict[str, Any]:
        created: list[str] = []
        try:
            for name, state in plan.relations.items():
                engine.frame(spark, state).createOrReplaceTempView(names[name])
                created.append(names[name])
            for name, sql in plan.steps:
                # each step materialised with its lineage cut (a cached frame keeps its whole plan,
                # which Spark analyses again at every use: a union of 13 scans of `wide` ran out of
                # heap that way), as Parquet beside the outputs: a session's checkpoints are
                # server-side state that another use of the shared session can drop (CI run 3 of
                # session 7: DATAFRAME_NOT_FOUND), files are not
                step = steps / name
                spark.sql(_spark_tree(sql, names)).write.mode("overwrite").parquet(_uri(str(step)))
                spark.read.parquet(_uri(str(step))).createOrReplaceTempView(names[name])
                created.append(names[name])
            out: dict[str, Any] = {"files": {}, "rows": {}}
            for name, sql in plan.outputs.items():
                df = spark.sql(_spark_tree(sql, names))
                df.coalesce(1).write.mode("error").option("compression", "zstd").parquet(_uri(str(folder / name)))
                for junk in {*(folder / name).glob("*.crc"), *(folder / name).glob(".*.crc")}:
                    junk.unlink(missing_ok=True)
                (folder / name / "_SUCCESS").unlink(missing_ok=True)
                out["files"][name] = _files(folder, name)
                out["rows"][name] = sum(pq.read_metadata(folder / f).num_rows for f in out["files"][name])
            out["counts"] = spark.sql(_spark_tree(plan.counts, names)).toArrow()
            return out
        finally:
            for view in created:
                spark.catalog.dropTempView(view)
            shutil.rmtree(steps, ignore_errors=True)

    return engine._run(go)


def read(folder: Path, files: list[str]) -> pa.Table:
    tables = [pq.read_table(folder / f) for f in files]
    return canonical(pa.concat_tables(tables)) if tables else pa.table({})
