"""`ybz bench demo`: how long loading the demo province takes (`ybz serve --demo` on a fresh
machine, and the fixture of the crawl and demo tests), against a baseline measured in the same
run: migrating an empty SQLite store and seeding its categories — fixed work of the same kind
(SQLAlchemy and SQLite on this machine), so the ratio survives a noisy machine.

Each run loads the province (seed 2026) into a new SQLite store in a temporary home; the
operate, share and other stage extensions are timed from the summary's own `seconds`. Replaces
the wall-clock assertion that `tests/operate/test_demo.py` used to make (under 20 s).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from .. import demo
from ..catalog.taxonomy import seed_categories
from ..db import get_database
from . import bench_environment

GOAL_SECONDS = 60.0  # the province on two cores, so `make demo` serves within a minute
SECRET = "ybz-bench-demo-key"


def _fresh(home: Path) -> None:
    from ..migrating import migrate  # deferred: Alembic only when a benchmark builds its store

    migrate(f"sqlite:///{home / 'ybz.sqlite3'}")
    with get_database().write() as s:
        seed_categories(s)


def _one(root: Path, i: int, *, load: bool) -> float:

    home = root / f"{'demo' if load else 'base'}-{i}"
    home.mkdir()
    with bench_environment(YBZ_HOME=str(home), YBZ_DB_URL=None, YBZ_ZONE=None, YBZ_SECRET_KEY=SECRET):
        started = time.perf_counter()
        _fresh(home)
        if load:
            demo.load_demo(seed=2026)
        return time.perf_counter() - started


def run(runs: int = 3, scale: float = 1.0) -> dict[str, Any]:
    del scale  # the demo province has one size
    with tempfile.TemporaryDirectory(prefix="ybz-bench-demo-") as tmp:
        root = Path(tmp)
        base, full = [], []
        for i in range(max(1, runs)):  # interleaved, so drift hits both alike
            base.append(_one(root, i, load=False))
            full.append(_one(root, i, load=True))
    demo_s, base_s = statistics.median(full), statistics.median(base)
    return {
        "benchmark": "demo",
        "runs": len(full),
        "demo_load_seconds": round(demo_s, 2),
        "demo_load_seconds_per_run": [round(x, 2) for x in full],
        "baseline_migrate_seconds": round(base_s, 3),
        "ratio_to_baseline": round(demo_s / base_s, 1) if base_s else None,
        "goal_seconds": GOAL_SECONDS,
        "goal_met": demo_s < GOAL_SECONDS,
    }
