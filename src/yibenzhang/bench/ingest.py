"""`ybz bench ingest`: a 1,000,000-row (× scale) GB18030 CSV of 20 columns with personal data,
ingested end to end (decode, parse, coerce, reject, write, quality if installed, counts) in a
child process (so its peak memory is measurable), against plain DuckDB converting the same rows
already in UTF-8 to Parquet in the same run. Goal: ratio ≤ 2.5 (issue 15; 3.0 before the
file had quoted line breaks), peak memory < 1 GB in every run."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from . import bench_environment
from .ingest_data import ITEMS, generate
from .ingest_data import VERSION as DATA_VERSION

BASE_ROWS = 1_000_000  # `ybz bench ingest --rows N` means scale N / BASE_ROWS
ROWS = BASE_ROWS
CHILD = """
import json, resource, sys
from yibenzhang.access import Actor
from yibenzhang.collect.pipeline import ingest_file
from yibenzhang.db import get_database
report = ingest_file(get_database(), Actor.system(), int(sys.argv[1]), sys.argv[2], mode="全量")
own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"report": report.as_dict(), "maxrss_kb": own, "children_maxrss_kb": kids, "hwm_kb": hwm},
                 default=str))
"""
# Peak memory is the ingesting process's own peak resident set (VmHWM: DuckDB, Arrow and Python
# together; the decoding runs in its threads, there is no child process). Not ru_maxrss: Linux
# keeps that across fork and exec, so a child of a parent holding 1.6 GB (this process, right
# after generating the file with NumPy and Arrow) reported 1.6 GB before it had read a byte
# (issue 15: the 1.57 GB "peak" of the first run after generating the file).


def _data(rows: int) -> Path:
    path = Path(".bench") / f"ingest-{rows}-v{DATA_VERSION}.gb18030.csv"
    if not path.exists() or not path.with_suffix(".utf8.csv").exists():
        generate(path, rows)
    return path


def _setup(items: list[Any] | None = None, name: str = "人口基本信息（基准）",
           abstract: str = "基准测试用的人口基本信息。", format_kind: str = "数据库") -> int:
    """A region, an org and a resource (by default the 20-item one) in the (temporary) metadata
    store; `items` are ItemIn."""
    from ..access import Actor
    from ..catalog import service as catalog
    from ..catalog.schemas import ItemIn, ResourceIn, SystemIn
    from ..codes import make_uscc
    from ..db import get_database
    from ..orgs import service as orgs
    from ..setup import initialize

    initialize()
    system = Actor.system()
    with get_database().write() as s:
        orgs.create_region(s, system, code="530000", name="云岭省", parent_code=None)
        org = orgs.create_org(s, system, name="基准测试公安厅", uscc=make_uscc("11530000MB0000001"), kind="政府部门",
                              region_code="530000")
        system_id = catalog.create_system(s, system, SystemIn(org_id=org.id, name="人口管理系统")).id
        r = catalog.create_resource(s, system, ResourceIn(system_id=system_id,
            name=name, abstract=abstract, org_id=org.id, category_code="101001",
            library="基础库", format_kind=format_kind, share_type="有条件共享", share_condition="履职使用",
            share_method="接口", open_type="不予开放", update_cycle="每日",
            items=items or [ItemIn(name=n, data_type=t, required=req, is_key=key) for n, t, req, key in ITEMS]))
        return r.id


def _ours(resource_id: int, path: Path) -> dict[str, Any]:
    started = time.monotonic()
    out = subprocess.run([sys.executable, "-c", CHILD, str(resource_id), str(path)], capture_output=True,
                         text=True, check=True, env=dict(os.environ))
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["wall_seconds"] = time.monotonic() - started
    return result


def _duckdb_baseline(utf8: Path, out_dir: Path) -> float:
    from ..zone.engine import get_engine

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
        from .ingest_xlsx import run as run_xlsx

        return run_xlsx(runs, rows)
    data = _data(rows).resolve()
    with tempfile.TemporaryDirectory(prefix="ybz-bench-") as home, \
            bench_environment(YBZ_HOME=home, YBZ_DB_URL=None, YBZ_ZONE=None):
        resource_id = _setup()
        ours, base, mem, rusage, last = [], [], [], [], {}
        load_before = os.getloadavg()
        for _ in range(max(1, runs)):
            base.append(_duckdb_baseline(data.with_suffix(".utf8.csv"), Path(home)))
            last = _ours(resource_id, data)
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
