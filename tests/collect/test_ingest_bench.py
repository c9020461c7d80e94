"""`ybz bench ingest` at a small scale (issue 15): it runs end to end, the ratio is against the
same run's DuckDB baseline, and the peak memory is the ingesting child's own: a parent holding a
lot of memory when it starts the child (as right after generating the file) does not count."""

from __future__ import annotations

from yibenzhang.bench import run_benchmark


def test_small_ingest_bench_reports_the_childs_own_peak(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the generated file is cached under ./.bench
    ballast = bytearray(900 * 1024 * 1024)  # resident: every page touched
    for i in range(0, len(ballast), 4096):
        ballast[i] = 1
    out = run_benchmark("ingest", runs=1, rows=2000)
    del ballast
    assert out["rows"] == 2000 and out["rows_accepted"] + out["rows_rejected"] == 2000
    assert out["goal_ratio"] == 2.5 and out["ratio"] > 0
    # ru_maxrss carries the parent's resident memory across fork and exec; the child's VmHWM does not
    assert max(out["ru_maxrss_mb_per_run"]) >= 900
    assert out["peak_memory_mb"] < 800


def test_small_xlsx_ingest_bench(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("YBZ_BENCH_INGEST_XLSX", "1")
    out = run_benchmark("ingest", runs=1, rows=1500)
    assert out["format"] == "xlsx" and out["rows"] == 1500
    assert (out["rows_accepted"], out["rows_rejected"]) == (1500, 0)
    assert 0 < out["peak_memory_mb"] < out["goal_peak_memory_mb"] and out["rows_per_s"] > 0
    assert (tmp_path / ".bench" / "ingest-1500-v1.xlsx").exists()
