"""`ybz bench compaction` and `ybz bench engines` at a small scale: they run, their reads agree
before and after compaction and between the engines, and they report their ratios."""

from __future__ import annotations

import pytest

from yibenzhang.bench import BENCHMARKS, run_benchmark
from yibenzhang.config import reset_settings

pytestmark = pytest.mark.parametrize("db", ["sqlite"], indirect=True)


def test_compaction_bench(db) -> None:
    out = run_benchmark("compaction", runs=1, scale=0.02)
    assert "compaction" in BENCHMARKS
    assert out["identical"] is True and out["batches"] == 200 and out["live_rows"] > 0
    assert out["count_s"]["before"] > out["count_s"]["after"] > 0


def test_engines_bench(db, spark_remote, monkeypatch) -> None:
    monkeypatch.setenv("YBZ_SPARK_REMOTE", spark_remote)  # the run's server, not a second one
    reset_settings()
    out = run_benchmark("engines", runs=1, rows=10_000)
    assert out["sizes"] == [1000, 10000] and out["identical"] == {1000: True, 10000: True}
    for name in ("duckdb", "spark"):
        figures = out["engines"][name]["by_rows"][10000]
        assert figures["live_rows"] == 10000 and figures["rewrite_ratio"] > 0
        assert isinstance(out["engines"][name]["linear_within_20pct"], bool)
        # collection end to end on each engine: the same rows accepted and rejected
        assert figures["ingest_ratio"] > 0 and figures["accepted"] + figures["rejected"] == 10000
        assert figures["rejected"] > 0 and isinstance(out["engines"][name]["ingest_ratio_met"], bool)
    assert out["ingest_identical"] == {1000: True, 10000: True}
