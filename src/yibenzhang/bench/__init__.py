"""Benchmarks behind `ybz bench NAME`. Each module `yibenzhang.bench.NAME` has
`run(runs: int, scale: float) -> dict`: it reports the machine, the median of `runs`, and the
ratio to its stated baseline measured in the same run (machines here are noisy)."""

from __future__ import annotations

import importlib
import os
import platform
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ..config import reset_settings
from ..db import reset_databases
from ..errors import DomainError

BENCHMARKS = ("search", "ledger", "quality", "ingest", "mask", "classify", "share", "open", "sandbox", "assess", "demo",
              "compaction", "engines", "s3", "fusion")


def median_time(fn: Any, runs: int) -> tuple[float, Any]:
    """The median wall time of `runs` calls of `fn`, and the last call's result."""
    times, last = [], None
    for _ in range(runs):
        started = time.perf_counter()
        last = fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), last


@contextmanager
def bench_environment(**values: str | None) -> Iterator[None]:
    """Run with YBZ_* variables set (a None value unsets one), settings and database engines
    re-read, and everything as it was afterwards — benchmarks never touch the user's own store."""

    saved = {k: os.environ.get(k) for k in values}
    for key, value in values.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    reset_settings()
    reset_databases()
    try:
        yield
    finally:
        reset_databases()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        reset_settings()


def machine() -> dict[str, Any]:
    return {"cpu_count": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
            "processor": platform.processor() or platform.machine()}


def run_benchmark(name: str, runs: int = 5, scale: float = 1.0, rows: int | None = None) -> dict[str, Any]:
    """Run benchmark `name`. `rows` (for benchmarks over generated rows, whose module states its
    BASE_ROWS) is another way of giving the scale: scale = rows / BASE_ROWS."""
    if name not in BENCHMARKS:
        raise DomainError("bench_unknown", "未知的取值“{value}”，可选：{allowed}", value=name,
                          allowed="、".join(BENCHMARKS))
    module = importlib.import_module(f"{__name__}.{name}")
    if rows is not None:
        base = getattr(module, "BASE_ROWS", None)
        if base is None or rows <= 0:
            raise DomainError("bench_rows", "未知的取值“{value}”，可选：{allowed}", value=f"--rows {rows}",
                              allowed="--scale")
        scale = rows / base
    result = module.run(runs=runs, scale=scale)
    result.setdefault("machine", machine())
    return result
