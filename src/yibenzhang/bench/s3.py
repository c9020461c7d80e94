"""`ybz bench s3`: a share read with the zone on S3-compatible object storage against the same read
with the zone in a local folder (issue 14), in one run on one machine.

The same BASE_ROWS-row resource and 接口 grant as `ybz bench share` are built twice, once per
store: the local folder, then a bucket on a SeaweedFS server this benchmark starts on loopback
(`yibenzhang.zone.s3_server`; or the S3 store named by YBZ_BENCH_S3_ENDPOINT / _ACCESS_KEY /
_SECRET_KEY, with a fresh bucket). Measured per store, in process (no HTTP, so the web tier's
workers do not enter the figure):

- the grant's first page (`share.service_rows.rows`): reads every live file off the store to
  build the grant's masked in-memory snapshot — the cold read;
- pages of 50 rows through the same service afterwards (the data service's hot path: the
  snapshot; the store is not touched) — p50 over `PAGES` pages, the mix `ybz bench share` uses;
- pages read straight off the zone: one DuckDB query per page over the live batches' files
  (`ybz bench share`'s baseline), where every page goes to the store — p50.

Reported: each p50 on both stores and the ratio S3 / local. The baseline is the local folder,
measured in the same run. A loopback SeaweedFS has no network latency: a remote store adds its
round trips to the cold read and to the straight-off-the-zone pages.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from ..db import get_database
from ..orgs import service as orgs
from ..orgs.model import User
from ..share import service_rows
from ..zone.s3_server import S3Server, launch, stop
from . import bench_environment, machine
from . import share as S

BASE_ROWS = 1_000_000
PAGES = 300
ZONE_PAGES = 60


def _pages(store_env: dict[str, str | None], rows: int) -> dict[str, Any]:
    from ..access import Actor  # noqa: F401  (loaded before the share modules, as the app does)

    with tempfile.TemporaryDirectory(prefix="ybz-bench-s3-") as home, \
            bench_environment(YBZ_HOME=home, YBZ_DB_URL=None, YBZ_SHARE_RATE_LIMIT="off", **store_env):
        service_rows.clear_cache()
        t0 = time.monotonic()
        rows_g, _, _ = S._setup(rows)
        setup_s = time.monotonic() - t0
        db = get_database()
        with db.read() as s:
            user = s.query(User).filter_by(username="bench_consumer").one()
            actor = orgs.actor_for(s, user)
        t0 = time.perf_counter()
        service_rows.rows(db, actor, rows_g, {}, limit=S.PAGE)
        cold = time.perf_counter() - t0
        rng, state, hot = random.Random(1), {}, []
        for _ in range(PAGES):
            code, after = S._next_page(rng, state)
            t0 = time.perf_counter()
            got = service_rows.rows(db, actor, rows_g, {"行政区划代码": code} if code else {}, limit=S.PAGE,
                                    after=after)
            hot.append(time.perf_counter() - t0)
            state["body"] = json.dumps({"next": got["next"]}).encode()
        zone_p50 = S._baseline(rows_g, samples=ZONE_PAGES)
        service_rows.clear_cache()
    return {"setup_seconds": round(setup_s, 1), "first_page_seconds": round(cold, 3),
            "service_page_p50_ms": round(statistics.median(hot) * 1000, 3),
            "zone_page_p50_ms": round(zone_p50 * 1000, 2)}


def run(runs: int = 3, scale: float = 1.0) -> dict[str, Any]:

    rows = max(1000, int(BASE_ROWS * scale))
    runs = max(1, runs)
    server, started = None, None
    endpoint = os.environ.get("YBZ_BENCH_S3_ENDPOINT")
    folder = tempfile.TemporaryDirectory(prefix="ybz-bench-weed-")
    try:
        if endpoint:
            server = S3Server(endpoint=endpoint, access_key=os.environ.get("YBZ_BENCH_S3_ACCESS_KEY", ""),
                              secret_key=os.environ.get("YBZ_BENCH_S3_SECRET_KEY", ""),
                              region=os.environ.get("YBZ_BENCH_S3_REGION", "us-east-1"))
        else:
            server = started = launch(Path(folder.name))
        each: dict[str, list[dict[str, Any]]] = {"local": [], "s3": []}
        for _ in range(runs):
            each["local"].append(_pages({"YBZ_ZONE": None, "YBZ_S3_ENDPOINT": None}, rows))
            s3_env: dict[str, str | None] = dict(server.env(server.new_zone()))
            each["s3"].append(_pages(s3_env, rows))
    finally:
        if started is not None:
            stop(started.pid)
        folder.cleanup()

    def med(store: str, key: str) -> float:
        return statistics.median(r[key] for r in each[store])

    out: dict[str, Any] = {"benchmark": "s3", "rows": rows, "runs": runs, "page": 50, "machine": machine(),
                           "load_average": round(os.getloadavg()[0], 2),
                           "store": "SeaweedFS on loopback" if started else endpoint}
    for key in ("first_page_seconds", "service_page_p50_ms", "zone_page_p50_ms"):
        local, s3 = med("local", key), med("s3", key)
        out[key] = {"local": local, "s3": s3, "ratio_s3_to_local": round(s3 / local, 2) if local else None}
    out["each_run"] = each
    out["notes"] = ("median of runs per store; the local folder is the baseline of the same run; pages in process"
                    " (no HTTP); the share data service serves pages from the grant's in-memory snapshot, so the"
                    " store shows in the first page (the snapshot's build) and in pages read straight off the zone")
    return out
