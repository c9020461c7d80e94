"""`ybz bench engines --rows N`: the zone's heavy operations on both engines, each against that
engine's own plain baseline in the same run, at N/10 and N rows (how cost grows with size).

The resource: a keyed live state of one 全量 batch and three 更新 batches (a tenth of the keys
each), typed like a department's data (text, DECIMAL amounts, dates, integers). Operations, per
engine: `count` (with the de-duplicating window), a grouped aggregate, and a rewrite of the live
state (compaction's write). Baselines: plain DuckDB `COPY (SELECT * FROM read_parquet(…)) TO`
and plain Spark `read.parquet → write.parquet` of the same files. Goals (issue 13): rewrite ratio
≤ 2.0 on DuckDB and ≤ 1.5 on Spark; time from N/10 to N rows linear within 20 %.

Ingest (collection's coerce-and-write, issue 13): the GB18030 CSV of `ybz bench ingest` (20 items,
personal data, quoted line breaks, a share of bad values) collected end to end in a child process
with YBZ_ENGINE set to each engine (YBZ_SPARK_MIN_BYTES=0), timed up to publication (the quality
assessment after it is not counted), against that engine's plain conversion of the same rows
already in UTF-8: DuckDB `COPY (SELECT * FROM read_csv(…)) TO parquet`, Spark
`read.csv → write.parquet`. Goal: ratio ≤ 2.0 on DuckDB, ≤ 1.5 on Spark; both engines accept and
reject the same rows.

A local Spark Connect server (local[2]) is started when YBZ_SPARK_REMOTE is not set, and stopped
at the end.
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..zone import port as P
from ..zone import spark_server
from ..zone.duck import DuckDBEngine
from ..zone.spark import SparkEngine
from . import bench_environment, median_time
from .ingest_data import VERSION, generate
from .ingest_run import ingest_in_child, setup_resource

BASE_ROWS = 1_000_000
CHUNK = 500_000
COLUMNS = (P.Column("公民身份号码", "VARCHAR"), P.Column("姓名", "VARCHAR"), P.Column("性别", "VARCHAR"),
           P.Column("出生日期", "DATE"), P.Column("月收入", "DECIMAL(18,2)"), P.Column("家庭人口", "BIGINT"),
           P.Column("住址", "VARCHAR"))


def _chunk(rng: np.random.Generator, keys: np.ndarray, start_row: int) -> pa.Table:
    n = len(keys)
    ids = np.char.add("5301021990", np.char.zfill(keys.astype(str), 8))
    born = (np.datetime64("1950-01-01") + rng.integers(0, 25000, n).astype("timedelta64[D]"))
    return pa.table({
        "公民身份号码": pa.array(ids.astype(str)),
        "姓名": pa.array(np.char.add("张", keys.astype(str)).astype(str)),
        "性别": pa.array(np.where(keys % 2 == 0, "男", "女").astype(str)),
        "出生日期": pa.array(born, pa.date32()),
        "月收入": pa.array(np.char.add(np.char.add(rng.integers(0, 100_000, n).astype(str), "."),
                                        np.char.zfill(rng.integers(0, 100, n).astype(str), 2)).astype(str))
        .cast(pa.decimal128(18, 2)),
        "家庭人口": pa.array(rng.integers(1, 9, n), pa.int64()),
        "住址": pa.array(np.char.add("昆明市五华区人民路", (keys % 997).astype(str)).astype(str)),
        "_row": pa.array(np.arange(start_row, start_row + n), pa.int64()),
    })


def _state(root: Path, rows: int) -> P.LiveState:
    rng = np.random.default_rng(2026)
    parts = []
    plan = [(1, np.arange(rows))] + [(b, rng.integers(0, rows, rows // 10)) for b in (2, 3, 4)]
    for batch, keys in plan:
        path = root / f"batch-{batch}.parquet"
        with pq.ParquetWriter(path, _chunk(rng, keys[:1], 1).schema, compression="zstd") as w:
            for i in range(0, len(keys), CHUNK):
                w.write_table(_chunk(rng, keys[i:i + CHUNK], i + 1))
        parts.append(P.Part(batch, (str(path),), frozenset(c.name for c in COLUMNS), path.stat().st_size))
    return P.LiveState(1, COLUMNS, ("公民身份号码",), tuple(parts), True)


AGGREGATE = ('SELECT "性别", count(*) AS n, sum("月收入") AS total, min("出生日期") AS first_born, '
             'max("家庭人口") AS largest FROM r GROUP BY "性别" ORDER BY "性别"')




def _measure(engine: Any, state: P.LiveState, root: Path, runs: int) -> dict[str, Any]:
    files = [f for p in state.parts for f in p.files]
    counter = iter(range(10**6))

    def rewrite() -> int:
        out = root / f"{engine.name}-ours-{next(counter)}"
        out.mkdir()
        n = engine.write(state, P.compacted(state), str(out)).rows
        shutil.rmtree(out)
        return n

    def plain() -> None:
        out = root / f"{engine.name}-plain-{next(counter)}"
        if engine.name == "duckdb":
            out.mkdir()
            con = engine.connect()
            listing = ", ".join("'" + f + "'" for f in files)
            con.execute(f"COPY (SELECT * FROM read_parquet([{listing}])) TO '{out}/p.parquet' "
                        "(FORMAT parquet, COMPRESSION zstd)")
            con.close()
        else:
            engine._run(lambda s: s.read.parquet(*(Path(f).as_uri() for f in files))
                        .write.option("compression", "zstd").parquet(out.as_uri()))
        shutil.rmtree(out)

    count_s, n = median_time(lambda: engine.count(state), runs)
    agg_s, agg = median_time(lambda: engine.query(state, P.parse(AGGREGATE)), runs)
    plain_s, _ = median_time(plain, runs)
    rewrite_s, written = median_time(rewrite, runs)
    assert written == n
    return {"count_s": round(count_s, 3), "aggregate_s": round(agg_s, 3), "rewrite_s": round(rewrite_s, 3),
            "plain_copy_s": round(plain_s, 3), "rewrite_ratio": round(rewrite_s / plain_s, 2), "live_rows": n,
            "aggregate": agg.to_pylist()}


def _plain_csv(engine: Any, utf8: Path, out: Path) -> None:
    if engine.name == "duckdb":
        con = engine.connect()
        con.execute(f"COPY (SELECT * FROM read_csv('{utf8}')) TO '{out}.parquet' (FORMAT parquet, COMPRESSION zstd)")
        con.close()
        Path(f"{out}.parquet").unlink()
    else:
        engine._run(lambda s: s.read.option("header", True).option("multiLine", True).csv(utf8.as_uri())
                    .write.option("compression", "zstd").parquet(out.as_uri()))
        shutil.rmtree(out)


def _ingest(engines: dict[str, Any], remote: str, size: int, root: Path, runs: int) -> dict[str, dict[str, Any]]:
    """Collection end to end on each engine (a child process each run) against its plain baseline."""
    data = root / f"ingest-{size}-v{VERSION}.gb18030.csv"
    generate(data, size)
    utf8 = data.with_suffix(".utf8.csv")
    out: dict[str, dict[str, Any]] = {}
    for name, engine in engines.items():
        home = root / f"home-{name}"
        with bench_environment(YBZ_HOME=str(home), YBZ_DB_URL=None, YBZ_ZONE=None, YBZ_ENGINE=name,
                               YBZ_SPARK_REMOTE=remote, YBZ_SPARK_MIN_BYTES="0"):
            resource_id = setup_resource()
            ours, plain, report = [], [], {}
            for i in range(max(1, runs)):
                started = time.perf_counter()
                _plain_csv(engine, utf8, root / f"plain-{name}-{i}")
                plain.append(time.perf_counter() - started)
                report = ingest_in_child(resource_id, data)["report"]
                ours.append(report["rows_read"] / report["rows_per_s"])  # up to publication
        ours_s, plain_s = statistics.median(ours), statistics.median(plain)
        out[name] = {"ingest_s": round(ours_s, 3), "plain_csv_s": round(plain_s, 3),
                     "ingest_ratio": round(ours_s / plain_s, 2),
                     "ratios": [round(o / b, 2) for o, b in zip(ours, plain, strict=True)],
                     "accepted": report["rows_accepted"], "rejected": report["rows_rejected"]}
        shutil.rmtree(home, ignore_errors=True)
    data.unlink()
    utf8.unlink()
    return out


def run(runs: int = 3, scale: float = 1.0) -> dict[str, Any]:

    rows = max(10_000, int(BASE_ROWS * scale))
    sizes = [rows // 10, rows]
    server = None
    remote = os.environ.get("YBZ_SPARK_REMOTE")
    out: dict[str, Any] = {"benchmark": "engines", "runs": runs, "sizes": sizes, "engines": {}}
    with tempfile.TemporaryDirectory(prefix="ybz-bench-engines-") as tmp:
        root = Path(tmp)
        if not remote:

            server = spark_server.start(root / "spark")
            remote = server.url
        spark = SparkEngine(remote)
        try:
            engines = {"duckdb": DuckDBEngine(root), "spark": spark}
            results: dict[str, dict[int, dict[str, Any]]] = {name: {} for name in engines}
            for size in sizes:
                folder = root / f"rows-{size}"
                folder.mkdir()
                state = _state(folder, size)
                for name, engine in engines.items():
                    results[name][size] = _measure(engine, state, folder, runs)
                same = results["duckdb"][size]["aggregate"] == results["spark"][size]["aggregate"]
                out.setdefault("identical", {})[size] = same and (
                    results["duckdb"][size]["live_rows"] == results["spark"][size]["live_rows"])
                ingest = _ingest(engines, remote, size, folder, runs)
                for name, figures in ingest.items():
                    results[name][size].update(figures)
                out.setdefault("ingest_identical", {})[size] = (
                    (ingest["duckdb"]["accepted"], ingest["duckdb"]["rejected"])
                    == (ingest["spark"]["accepted"], ingest["spark"]["rejected"]))
                shutil.rmtree(folder)
        finally:
            spark.close()
            if server is not None:
                server.stop()
    goals = {"duckdb": 2.0, "spark": 1.5}

    def growth(small: dict[str, Any], big: dict[str, Any], key: str) -> float | None:
        # per-row time at N over per-row time at N/10: 1.0 is linear
        return round(big[key] / small[key] / (sizes[1] / sizes[0]), 2) if small[key] else None

    for name, by_size in results.items():
        small, big = by_size[sizes[0]], by_size[sizes[1]]
        for r in by_size.values():
            r.pop("aggregate")
        rewrite, ingest = growth(small, big, "rewrite_s"), growth(small, big, "ingest_s")
        out["engines"][name] = {
            "by_rows": by_size, "rewrite_ratio_goal": goals[name],
            "rewrite_ratio_met": big["rewrite_ratio"] <= goals[name],
            "ingest_ratio_goal": goals[name], "ingest_ratio_met": big["ingest_ratio"] <= goals[name],
            "growth_per_row_10x": rewrite, "ingest_growth_per_row_10x": ingest,
            "linear_within_20pct": rewrite is not None and 0.8 <= rewrite <= 1.2,
            "ingest_linear_within_20pct": ingest is not None and 0.8 <= ingest <= 1.2,
        }
    return out
