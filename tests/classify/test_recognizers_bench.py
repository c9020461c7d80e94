"""`ybz bench classify` at a small scale: it runs, classifies the ingest file's columns and
reports its figures against a DuckDB scan of the same column."""

from __future__ import annotations

from yibenzhang.bench import BENCHMARKS, run_benchmark


def test_bench_classify_small(home, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # the generated files go to ./.bench of a scratch directory
    assert "classify" in BENCHMARKS
    out = run_benchmark("classify", runs=1, rows=3000)
    assert out["rows"] == 3000 and out["distinct_id_numbers"] == 3000 and out["columns"] == 20
    assert out["id_column_evidence"]["category"] == "id_card"
    assert out["id_column_evidence"]["full_scan"] and out["id_column_evidence"]["sample_size"] == 3000
    assert out["id_column_evidence"]["values"]["check_digit_rate"] == 1.0
    s = out["suggestions"]
    assert s["公民身份号码"][0] == "id_card" and s["姓名"][0] == "person_name" and s["手机号码"][0] == "mobile"
    assert s["住址"][0] == "address" and s["登记日期"] is None and s["家庭人口"] is None
    assert out["id_full_scan_values_per_s"] > 0 and out["ratio_to_duckdb_scan"] > 0
    assert (tmp_path / ".bench" / "classify-3000.parquet").exists()
