"""`ybz bench ingest`: a 1,000,000-row (× scale) GB18030 CSV of 20 columns with personal data,
ingested end to end (decode, parse, coerce, reject, write, quality if installed, counts) in a
child process (so its peak memory is measurable), against plain DuckDB converting the same rows
already in UTF-8 to Parquet in the same run. Goal: ratio ≤ 2.5 (issue 15; 3.0 before the
file had quoted line breaks), peak memory < 1 GB in every run."""

from __future__ import annotations

import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from ..zone.engine import get_engine
from . import bench_environment, ingest_xlsx
from .ingest_data import VERSION as DATA_VERSION
from .ingest_data import generate
from .ingest_run import ingest_in_child, setup_resource

BASE_ROWS = 1_000_000  # `ybz bench ingest --rows N` means scale N / BASE_ROWS
ROWS = BASE_ROWS
def _data(rows: int) -> Path:
    path = Path(".bench") / f"ingest-{rows}-v{DATA_VERSION}.gb18030.csv"
    if not path.exists() or not path.with_suffix(".utf8.csv").exists():
        generate(path, rows)
    return path


def _duckdb_baseline(utf8: Path, out_dir: Path) -> float:

    target = out_dir / "baseline.parquet"
    con = get_engine().connect()
    started = time.monotonic()
    con.execute(f"COPY (SELECT * FROM read_csv('{utf8}')) TO '{target}' (FORMAT parquet, COMPRESSION zstd)")
    seconds = time.monotonic() - started
    con.close()
    target.unlink(missing_ok=True)
    return seconds


def run(runs: int = 3, scale: float = 1.0) -> dict[str, Any]:

    rows = max(1000, int(ROWS * scale))
    if os.environ.get("YBZ_BENCH_INGEST_XLSX"):  # `ybz bench ingest --xlsx`
        return ingest_xlsx.run(runs, rows)
    data = _data(rows).resolve()
    with tempfile.TemporaryDirectory(prefix="ybz-bench-") as home, \
            bench_environment(YBZ_HOME=home, YBZ_DB_URL=None, YBZ_ZONE=None):
        resource_id = setup_resource()
        ours, base, mem, rusage, last = [], [], [], [], {}
        load_before = os.getloadavg()
        for _ in range(max(1, runs)):
            base.append(_duckdb_baseline(data.with_suffix(".utf8.csv"), Path(home)))
            last = ingest_in_child(resource_id, data)
            ours.append(last["report"]["seconds"])
            mem.append(last["hwm_kb"] / 1024)
            rusage.append(last["maxrss_kb"] / 1024)
    load_after = os.getloadavg()
    ours_s, base_s = statistics.median(ours), statistics.median(base)
    report = last["report"]
    return {
        "benchmark": "ingest", "rows": rows, "file_mb": round(data.stat().st_size / 1e6, 1), "runs": len(ours),
        "ours_seconds_median": round(ours_s, 3), "duckdb_csv_to_parquet_seconds_median": round(base_s, 3),
        "ratio": round(ours_s / base_s, 2), "goal_ratio": 2.5, "rows_per_s": round(rows / ours_s),
        "peak_memory_mb": round(max(mem), 1), "peak_memory_mb_per_run": [round(m, 1) for m in mem],
        "goal_peak_memory_mb": 1024,
        "ru_maxrss_mb_per_run": [round(m, 1) for m in rusage],  # inflated by the parent's memory at fork
        # the pipeline without the quality assessment (engineer Q's assess_batch), last run
        "ours_seconds_without_quality": round(report["rows_read"] / report["rows_per_s"], 3)
        if report["rows_per_s"] else None,
        "rows_accepted": report["rows_accepted"], "rows_rejected": report["rows_rejected"],
        "quality": (report.get("quality") or {}).get("scores"), "ours_seconds": [round(x, 3) for x in ours],
        "duckdb_seconds": [round(x, 3) for x in base],
        # each run's baseline runs just before it: on a shared machine the paired ratios say more
        "ratios": [round(o / b, 2) for o, b in zip(ours, base, strict=True)],
        "load_average_1min": [round(load_before[0], 2), round(load_after[0], 2)],
    }
