"""`ybz bench compaction`: reads of a resource made of many small batches, before and after
compaction (issue 13's goal: `count` and a first page ≥ 10× faster after, and identical).

A keyed resource of BATCHES small 追加/更新 batches (the worst case: every read unions them all
and de-duplicates by key) is built as Parquet files and handed to the DuckDB engine as a live
state, as the zone service would; the baseline is the same reads before compaction, in the same
run."""

from __future__ import annotations

import statistics
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..zone import port as P
from ..zone.duck import DuckDBEngine

BASE_ROWS = 100_000  # over BATCHES batches
BATCHES = 1000
GOAL = 10.0


def _state(root: Path, rows: int, batches: int) -> P.LiveState:
    rng = np.random.default_rng(13)
    per = max(1, rows // batches)
    cols = (P.Column("证件号码", "VARCHAR"), P.Column("姓名", "VARCHAR"), P.Column("金额", "DECIMAL(18,2)"))
    parts = []
    for b in range(1, batches + 1):
        keys = rng.integers(0, rows, per)  # some keys come again in later batches: upserts
        table = pa.table({
            "证件号码": pa.array([f"K{k:012d}" for k in keys]),
            "姓名": pa.array([f"人{k}" for k in keys]),
            "金额": pa.array([Decimal(int(k) % 100000).scaleb(-2) for k in keys], pa.decimal128(18, 2)),
            "_row": pa.array(np.arange(1, per + 1), pa.int64()),
        })
        path = root / f"{b:06d}.parquet"
        pq.write_table(table, path)
        parts.append(P.Part(b, (str(path),), frozenset(c.name for c in cols), path.stat().st_size))
    return P.LiveState(1, cols, ("证件号码",), tuple(parts), True)


def _reads(engine: DuckDBEngine, state: P.LiveState, runs: int) -> tuple[float, float, int, pa.Table]:
    counts, pages = [], []
    n, page = 0, None
    for _ in range(runs):
        t = time.perf_counter()
        n = engine.count(state)
        counts.append(time.perf_counter() - t)
        t = time.perf_counter()
        page = engine.query(state, P.scan(state, state.names, limit=50))
        pages.append(time.perf_counter() - t)
    assert page is not None
    return statistics.median(counts), statistics.median(pages), n, page


def run(runs: int = 3, scale: float = 1.0) -> dict[str, Any]:
    rows = max(1000, int(BASE_ROWS * scale))
    batches = max(2, min(BATCHES, rows // 10))
    with tempfile.TemporaryDirectory(prefix="ybz-bench-compaction-") as tmp:
        root = Path(tmp)
        engine = DuckDBEngine(root)
        state = _state(root, rows, batches)
        count_before, page_before, n_before, first_before = _reads(engine, state, runs)
        t = time.perf_counter()
        written = engine.write(state, P.compacted(state), str(root / "compacted"))
        compact_s = time.perf_counter() - t
        after = P.LiveState(1, state.columns, state.keys, (P.Part(
            batches + 1, tuple(str(root / "compacted" / f) for f in written.files), state.parts[0].columns),), True)
        count_after, page_after, n_after, first_after = _reads(engine, after, runs)
    identical = n_before == n_after and first_before.equals(first_after)
    count_ratio, page_ratio = count_before / count_after, page_before / page_after
    return {
        "benchmark": "compaction", "engine": "duckdb", "runs": runs, "rows_written": rows, "batches": batches,
        "live_rows": n_after, "compaction_s": round(compact_s, 3),
        "count_s": {"before": round(count_before, 4), "after": round(count_after, 4)},
        "first_page_s": {"before": round(page_before, 4), "after": round(page_after, 4)},
        "count_speedup": round(count_ratio, 1), "first_page_speedup": round(page_ratio, 1),
        "identical": identical, "goal": f"≥ {GOAL:.0f}× faster after compaction, identical",
        "goal_met": identical and count_ratio >= GOAL and page_ratio >= GOAL,
    }
