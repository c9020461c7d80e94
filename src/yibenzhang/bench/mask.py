"""`ybz bench mask`: 4 personal columns (姓名, 公民身份号码, 手机号码, 住址) of 1,000,000 rows (×
scale) masked in one DuckDB statement, three ways, each timed (median of runs) in cells/s:

- keep/generalize: ID 6+4, mobile 3+4, surname kept, address to its district — pure SQL;
- pseudonym: HMAC-SM3 of all 4 columns (vectorized Arrow UDF, one OpenSSL call pair per value);
- sm4: SM4-CTR of all 4 columns (one ECB call per chunk for every keystream block, plus one
  HMAC-SM3 tag per value).

Baseline in the same run: a plain DuckDB scan reading the same 4 columns through the same SQL
shape (operator "none"), max(length(…)) of each column so every value is read (a bare max would
be answered from Parquet statistics); the masked queries take the same aggregate of their output.
Rows: the ingest benchmark's UTF-8 CSV in ./.bench when present (its 4 columns converted once to
Parquet), else the quality benchmark's generated Parquet. Goal: ≥ 2,000,000 cells/s for
keep/generalize.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import duckdb

from ..classify import masking
from ..classify.policies import ColumnPlan, MaskPlan
from ..zone.engine import THREADS
from .quality import generate

BASE_ROWS = 1_000_000
GOAL_CELLS_PER_S = 2_000_000
CACHE_DIR = Path(".bench")
COLUMNS = ("姓名", "公民身份号码", "手机号码", "住址")
SECRET = "bench-mask-secret"  # a fixed key: the benchmark never touches the installation's secret
KEEP = {"姓名": "keep_surname", "公民身份号码": "keep(6,4)", "手机号码": "keep(3,4)", "住址": "generalize_address"}


def _q(name: str) -> str:
    return '"' + name + '"'


def data(rows: int) -> tuple[Path, str]:
    """A Parquet file with the 4 columns, and where its rows came from."""
    path = CACHE_DIR / f"mask-{rows}.parquet"
    csv = CACHE_DIR / f"ingest-{rows}.gb18030.utf8.csv"
    if path.exists():
        return path, "cached"
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    con = duckdb.connect()
    try:
        if csv.exists():
            source = f"read_csv('{csv}', all_varchar=true, header=true)"
            origin = str(csv)
        else:
            qpath = CACHE_DIR / f"quality_v1_{rows}.parquet"
            if not qpath.exists():
                generate(qpath, rows)
            source, origin = f"read_parquet('{qpath}')", str(qpath)
        cols = ", ".join(f"CAST({_q(c)} AS VARCHAR) AS {_q(c)}" for c in COLUMNS)
        con.execute(f"COPY (SELECT {cols} FROM {source}) TO '{tmp}' (FORMAT parquet, COMPRESSION zstd)")
    finally:
        con.close()
    tmp.replace(path)
    return path, origin


def _median(con: duckdb.DuckDBPyConnection, sql: str, runs: int) -> tuple[float, Any]:
    times, last = [], None
    for _ in range(runs):
        started = time.perf_counter()
        last = con.execute(sql).fetchall()
        times.append(time.perf_counter() - started)
    return statistics.median(times), last


def run(runs: int = 3, scale: float = 1.0) -> dict[str, Any]:
    rows = max(1000, int(BASE_ROWS * scale))
    started = time.perf_counter()
    path, origin = data(rows)
    prep_s = time.perf_counter() - started
    relation = f"read_parquet('{path}')"
    con = duckdb.connect(config={"threads": THREADS})
    try:
        n = con.execute(f"SELECT count(*) FROM {relation}").fetchone()[0]  # also warms the file cache
        cells = n * len(COLUMNS)

        def over(ops: dict[str, str]) -> str:
            """The masked SELECT exactly as exit paths build it, with every output value read."""
            plan = MaskPlan("bench", "bench", tuple(ColumnPlan(c, "一般-3级", (), masking.parse_spec(op))
                                                    for c, op in ops.items()))
            return f"SELECT {', '.join(f'max(length({_q(c)}))' for c in ops)} FROM ({plan.sql(relation)})"

        con.execute("SET enable_progress_bar = false")
        scan_s, _ = _median(con, over({c: "none" for c in COLUMNS}), runs)
        keep_s, sample = _median(con, over(KEEP), runs)
        for sql in (over({c: "pseudonym" for c in COLUMNS}), over({c: "sm4" for c in COLUMNS})):
            masking.prepare(con, sql, secret=SECRET)
        pseud_s, _ = _median(con, over({c: "pseudonym" for c in COLUMNS}), runs)
        sm4_s, _ = _median(con, over({c: "sm4" for c in COLUMNS}), runs)
    finally:
        con.close()

    def figures(seconds: float) -> dict[str, Any]:
        return {"median_s": round(seconds, 3), "cells_per_s": round(cells / seconds),
                "ratio_to_scan": round(seconds / scan_s, 2)}

    keep_fig = figures(keep_s)
    return {
        "benchmark": "mask", "rows": n, "columns": list(COLUMNS), "cells": cells, "runs": runs,
        "threads": THREADS, "source": origin, "prepare_s": round(prep_s, 2),
        "baseline_scan": {"median_s": round(scan_s, 3), "cells_per_s": round(cells / scan_s)},
        "keep_generalize": {**keep_fig, "operators": KEEP, "max_lengths": list(sample[0])},
        "pseudonym_hmac_sm3": {**figures(pseud_s), "note": "one OpenSSL HMAC-SM3 per distinct value per chunk"},
        "sm4_ctr": {**figures(sm4_s), "note": "keystream in one SM4-ECB call per chunk; one HMAC-SM3 tag per value"},
        "goal_cells_per_s": GOAL_CELLS_PER_S,
        "goal_met": keep_fig["cells_per_s"] >= GOAL_CELLS_PER_S if rows >= BASE_ROWS else None,
    }
