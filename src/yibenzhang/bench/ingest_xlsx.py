"""`ybz bench ingest --xlsx`: a 1,000,000-row (× scale) XLSX of 8 columns (text, codes, integers,
amounts, dates, numbers, an often empty remark), written once with openpyxl's write-only mode
(a few minutes), ingested end to end in a child process whose own peak resident memory (VmHWM)
is reported with the rows per second. Goal: peak memory < 1 GB (issue 15 §3, 1M+ rows streamed);
there is no baseline to compare the time with (DuckDB reads no XLSX without an extension)."""

from __future__ import annotations

import os
import statistics
import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from ..catalog.schemas import ItemIn
from . import bench_environment
from .ingest_run import ingest_in_child, setup_resource

VERSION = 1  # bump when the generated file changes
ITEMS = [("姓名", "C"), ("证件号码", "C"), ("人数", "I"), ("金额", "Y"), ("登记日期", "D"), ("地址", "C"),
         ("数值", "N"), ("备注", "C")]


def generate(path: Path, rows: int) -> None:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("人口")
    ws.append([n for n, _ in ITEMS])
    day = date(2000, 1, 1)
    for n in range(rows):
        ws.append([f"人{n}", f"53010119{n % 90 + 10:02d}0101{n % 10000:04d}", n % 7, round(n * 0.37 % 10000, 2),
                   day + timedelta(days=n % 8000), f"云岭省某市某路{n % 997}号", n * 1.5, "备注" if n % 3 else None])
    part = path.with_suffix(".part.xlsx")
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(part)
    part.replace(path)  # an interrupted generation leaves no half file to be taken as the data


def _setup() -> int:

    return setup_resource([ItemIn(name=n, data_type=t) for n, t in ITEMS], name="人口登记（XLSX基准）",
                          abstract="XLSX 基准测试用。", format_kind="电子表格")


def run(runs: int, rows: int) -> dict[str, Any]:
    data = (Path(".bench") / f"ingest-{rows}-v{VERSION}.xlsx").resolve()
    if not data.exists():
        generate(data, rows)
    with tempfile.TemporaryDirectory(prefix="ybz-bench-") as home, \
            bench_environment(YBZ_HOME=home, YBZ_DB_URL=None, YBZ_ZONE=None):
        resource_id = _setup()
        seconds, mem, last = [], [], {}
        load_before = os.getloadavg()
        for _ in range(max(1, runs)):
            last = ingest_in_child(resource_id, data)
            seconds.append(last["report"]["seconds"])
            mem.append(last["hwm_kb"] / 1024)
    report = last["report"]
    median = statistics.median(seconds)
    return {
        "benchmark": "ingest", "format": "xlsx", "rows": rows, "columns": len(ITEMS),
        "file_mb": round(data.stat().st_size / 1e6, 1), "runs": len(seconds),
        "ours_seconds_median": round(median, 3), "rows_per_s": round(rows / median) if median else None,
        "peak_memory_mb": round(max(mem), 1), "peak_memory_mb_per_run": [round(m, 1) for m in mem],
        "goal_peak_memory_mb": 1024, "ours_seconds": [round(x, 3) for x in seconds],
        "rows_accepted": report["rows_accepted"], "rows_rejected": report["rows_rejected"],
        "load_average_1min": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
    }
