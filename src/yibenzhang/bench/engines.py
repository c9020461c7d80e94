"""`ybz bench engines --rows N`: the zone's heavy operations on both engines, each against that
engine's own plain baseline in the same run, at N/10 and N rows (how cost grows with size).

The resource: a keyed live state of one 全量 batch and three 更新 batches (a tenth of the keys
each), typed like a department's data (text, DECIMAL amounts, dates, integers). Operations, per
engine: `count` (with the de-duplicating window), a grouped aggregate, and a rewrite of the live
state (compaction's write). Baselines: plain DuckDB `COPY (SELECT * FROM read_parquet(…)) TO`
and plain Spark `read.parquet → write.parquet` of the same files. Goals (issue 13): rewrite ratio
≤ 2.0 on DuckDB and ≤ 1.5 on Spark; time from N/10 to N rows linear within 20 %.

A local Spark Connect server (local[2]) is started when YBZ_SPARK_REMOTE is not set, and stopped
at the end. Collection and quality do not run on Spark yet: they are not measured here.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..zone import port as P
from ..zone import spark_server
from ..zone.duck import DuckDBEngine
from ..zone.spark import SparkEngine
from . import median_time

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
                shutil.rmtree(folder)
        finally:
            spark.close()
            if server is not None:
                server.stop()
    goals = {"duckdb": 2.0, "spark": 1.5}
    for name, by_size in results.items():
        small, big = by_size[sizes[0]], by_size[sizes[1]]
        growth = big["rewrite_s"] / small["rewrite_s"] / (sizes[1] / sizes[0]) if small["rewrite_s"] else None
        for r in by_size.values():
            r.pop("aggregate")
        out["engines"][name] = {
            "by_rows": by_size, "rewrite_ratio_goal": goals[name],
            "rewrite_ratio_met": big["rewrite_ratio"] <= goals[name],
            "growth_per_row_10x": round(growth, 2) if growth else None,  # 1.0 is linear
            "linear_within_20pct": growth is not None and 0.8 <= growth <= 1.2,
        }
    return out
