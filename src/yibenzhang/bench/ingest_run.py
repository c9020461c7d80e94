"""What both ingest benchmarks (`ingest`, `ingest_xlsx`) share: the resource they ingest into, and
the child process that ingests a file (so its peak memory is measurable)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ..access import Actor
from ..catalog import service as catalog
from ..catalog.schemas import ItemIn, ResourceIn, SystemIn
from ..codes import make_uscc
from ..db import get_database
from ..orgs import service as orgs
from ..setup import initialize
from .ingest_data import ITEMS

CHILD = """
import json, resource, sys
from yibenzhang.access import Actor
from yibenzhang.collect.pipeline import ingest_file
from yibenzhang.db import get_database
report = ingest_file(get_database(), Actor.system(), int(sys.argv[1]), sys.argv[2], mode="全量")
own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
hwm = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
with open(sys.argv[3], "w") as out:
    json.dump({"report": report.as_dict(), "maxrss_kb": own, "children_maxrss_kb": kids, "hwm_kb": hwm}, out,
              default=str)
"""
# The result goes to a file of its own, not stdout: at 10M rows on Spark something else printed to
# the child's stdout after it, and the benchmark lost a 20-minute run to a line it could not read.
# Peak memory is the ingesting process's own peak resident set (VmHWM: DuckDB, Arrow and Python
# together; the decoding runs in its threads, there is no child process). Not ru_maxrss: Linux
# keeps that across fork and exec, so a child of a parent holding 1.6 GB (this process, right
# after generating the file with NumPy and Arrow) reported 1.6 GB before it had read a byte
# (issue 15: the 1.57 GB "peak" of the first run after generating the file).


def setup_resource(items: list[Any] | None = None, name: str = "人口基本信息（基准）",
           abstract: str = "基准测试用的人口基本信息。", format_kind: str = "数据库") -> int:
    """A region, an org and a resource (by default the 20-item one) in the (temporary) metadata
    store; `items` are ItemIn."""

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


def ingest_in_child(resource_id: int, path: Path) -> dict[str, Any]:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="ybz-ingest-child-") as tmp:
        answer = Path(tmp) / "result.json"
        out = subprocess.run([sys.executable, "-c", CHILD, str(resource_id), str(path), str(answer)],
                             capture_output=True, text=True, env=dict(os.environ))
        if out.returncode or not answer.exists():
            raise RuntimeError(f"the ingesting child failed ({out.returncode}): {out.stderr[-2000:]}")
        result = json.loads(answer.read_text())
    result["wall_seconds"] = time.monotonic() - started
    return result
