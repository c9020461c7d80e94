"""`ybz bench ledger` at a tiny scale: the bulk-built chain is a valid chain of the platform's
format, it is cached, and both figures come out."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from yibenzhang.bench import ledger as bench
from yibenzhang.bench import run_benchmark
from yibenzhang.db import Database
from yibenzhang.ledger import service as ledger


def test_bench_ledger_small_scale(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("YBZ_BENCH_DB_URL", raising=False)
    before = dict(os.environ)
    result = run_benchmark("ledger", runs=1, scale=0.001)
    assert dict(os.environ) == before  # the temporary home is gone from the environment
    assert result["backend"] == "sqlite"
    assert result["verify"]["events"] == 1000 and result["verify"]["goal_met"] is True
    assert result["verify"]["verify_s"] > 0 and result["verify"]["baseline_select_s"] > 0
    assert result["append"]["calls"] == 50 and result["append"]["with_append_ms"] > 0
    assert "machine" in result
    cache = tmp_path / ".bench" / f"ledger-1000-v{bench.CACHE_VERSION}.sqlite3"
    assert cache.exists()
    assert run_benchmark("ledger", runs=1, scale=0.001)["build_s"] == "cached"


def test_bench_chain_is_the_platform_format(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The bulk builder's chain verifies with the platform's own key and verifier; a change to
    one of its events is caught like any other."""
    path = tmp_path / "chain.sqlite3"
    bench._build_sqlite(path, 300)
    monkeypatch.setenv("YBZ_SECRET_KEY", bench.BENCH_KEY)
    from yibenzhang.config import reset_settings

    reset_settings()
    db = Database(f"sqlite:///{path}")
    try:
        with db.read() as s:
            report = ledger.verify(s)
        assert report.ok and report.events == 300
        with db.engine.begin() as conn:
            conn.exec_driver_sql("UPDATE ledger_events SET subject_id = '0' WHERE seq = 123")
        with db.read() as s:
            first = ledger.verify(s).first_break
        assert first is not None and (first.seq, first.kind) == (123, "event_altered")
    finally:
        db.dispose()
