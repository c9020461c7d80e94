"""`ybz bench fusion`: the population library fused from five sources (issue 21), on DuckDB.

N people; five sources of about N rows each (every source misses some people; keys partly in
15-digit, full-width or spaced form; a few invalid; about 5 % of the non-authoritative values
disagree). Timed in the same run:
- the fusion plan (`library.fusion`) writing entities with provenance, conflicts and rejects;
- the baseline: a plain DuckDB join-and-pick of the same inputs (raw keys, full outer joins on
  the key, coalesce in the authority/fallback order; no normalisation, provenance or conflicts);
- an incremental re-fusion after a 1 % batch of one source.
Goals (issue 21): fusion ≤ 2.0× the baseline; the 1 % re-fusion ≤ 10 % of the full run.
`--people N` (or `--rows N`) sets N; the default is scaled down for a quick run."""

from __future__ import annotations

import contextlib
import resource
import tempfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..library import engines, fusion, keys
from ..library.definition import Item, Resolved, Source
from ..quality.validators import PROVINCE_PREFIXES
from ..zone import port as P
from ..zone.duck import DuckDBEngine, literal, quote, relation
from . import median_time

BASE_ROWS = 100_000  # people
RATIO_GOAL, INCREMENTAL_GOAL = 2.0, 0.10
ID_WEIGHTS = np.array((7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2), dtype=np.int64)
ID_CHECK = np.array(list("10X98765432"))
# source i: key column, mapped canonical items
SOURCES = [("公民身份号码", ["姓名", "出生日期", "户籍地址"]), ("身份证号", ["姓名", "婚姻状况"]),
           ("证件号码", ["姓名", "出生日期", "联系电话"]), ("身份证号码", ["姓名", "联系电话"]),
           ("sfzh", ["姓名", "户籍地址", "最高学历"])]
ITEMS = [("姓名", "C", (0, 4, 2, 1, 3)), ("出生日期", "C", (0, 2)), ("户籍地址", "C", (0, 4)),
         ("婚姻状况", "C", (1,)), ("联系电话", "C", (3, 2)), ("最高学历", "C", (4,))]
TODAY = date(2026, 9, 30)
PROVINCE_CODES = np.array(sorted(int(p) for p in PROVINCE_PREFIXES), dtype=np.int64)  # 35: up to 350M people
ZONE_ROW_GROUP = 122_880  # as collection writes a batch (collect/coerce.py): engines scan row groups in parallel


def _ids(rng: np.random.Generator, n: int) -> np.ndarray:
    born = np.datetime64("1940-01-01") + rng.integers(0, 365 * 65, n).astype("timedelta64[D]")
    ymd = np.char.replace(np.datetime_as_string(born, unit="D"), "-", "").astype(np.int64)
    # unique IDs however many people: each block of 1,000 people has an address code of its own
    # (a valid province, then 4 digits), and within a block the sequence number is the person's
    block, seq = np.divmod(np.arange(n), 1000)
    region = PROVINCE_CODES[block // 10_000] * 10_000 + block % 10_000
    body = region * 10 ** 11 + ymd * 1000 + seq
    digits = (body[:, None] // 10 ** np.arange(16, -1, -1, dtype=np.int64)[None, :]) % 10
    return np.char.add(body.astype(str), ID_CHECK[(digits @ ID_WEIGHTS) % 11])


def _source(rng: np.random.Generator, ids: np.ndarray, index: int, fraction: float = 0.9) -> pa.Table:
    n = len(ids)
    take = np.sort(rng.choice(n, int(n * fraction), replace=False))
    keys_ = ids[take].astype(object)
    roll = rng.random(len(take))
    legacy = np.char.add(np.char.ljust(ids[take].astype(str), 0), "")
    old = np.array([k[6:8] == "19" for k in legacy])  # 15-digit IDs exist for the 1900s only
    keys_ = np.where((roll < 0.03) & old, np.array([k[:6] + k[8:17] for k in legacy], dtype=object), keys_)
    keys_ = np.where((roll >= 0.03) & (roll < 0.05), np.array([" " + k for k in legacy], dtype=object), keys_)
    keys_ = np.where((roll >= 0.05) & (roll < 0.06), np.array([k[:-1] + "0" for k in legacy], dtype=object), keys_)
    key, names = SOURCES[index]
    cols: dict[str, Any] = {key: pa.array(keys_, pa.string())}
    for name in names:
        base = np.char.add(name[:1], (take * 7 + 3).astype(str))
        if index > 0:
            base = np.where(rng.random(len(take)) < 0.05, np.char.add(base, "x"), base)
        cols[f"s{index}_{name}"] = pa.array(base, pa.string())
    cols["_row"] = pa.array(np.arange(1, len(take) + 1), pa.int64())
    return pa.table(cols)


def _reset_peak() -> None:
    """Linux: start the process's peak resident memory (VmHWM) afresh (proc(5), clear_refs 5)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _peak_mb() -> float:
    """The process's peak resident memory since `_reset_peak` (else since it started)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _write(table: pa.Table, path: Path) -> None:
    """A source batch as the zone holds one (pyarrow's default is one row group of up to 1M rows,
    which a scan reads on one thread)."""
    pq.write_table(table, path, row_group_size=ZONE_ROW_GROUP, compression="zstd")


def _resolved() -> Resolved:
    sources = tuple(Source(i, 100 + i, f"S{i}", 1, key, {n: f"s{i}_{n}" for n in names})
                    for i, (key, names) in enumerate(SOURCES))
    items = tuple(Item(n, name, t, order, order[0], None) for n, (name, t, order) in enumerate(ITEMS))
    return Resolved(1, "LIB", 1, keys.PERSON, "公民身份号码", items, sources)


def _state(i: int, files: list[tuple[int, Path]]) -> P.LiveState:
    key, names = SOURCES[i]
    cols = (P.Column(key, "VARCHAR"), *(P.Column(f"s{i}_{n}", "VARCHAR") for n in names))
    parts = tuple(P.Part(b, (str(f),), frozenset(c.name for c in cols), f.stat().st_size) for b, f in files)
    return P.LiveState(100 + i, cols, (), parts, False)


def _baseline(engine: DuckDBEngine, states: dict[int, P.LiveState], out: Path) -> int:
    """Join-and-pick: full outer joins on the raw key, each item the first non-null in order."""
    rels = [f"(SELECT * FROM {relation(states[i])}) AS t{i}" for i in range(len(SOURCES))]
    key_of = {i: f"t{i}.{quote(SOURCES[i][0])}" for i in range(len(SOURCES))}
    sql = rels[0]
    for i in range(1, len(SOURCES)):
        prev = ", ".join(key_of[j] for j in range(i))
        sql += f" FULL OUTER JOIN {rels[i]} ON {key_of[i]} = coalesce({prev})"
    picks = [f"coalesce({', '.join(key_of[i] for i in range(len(SOURCES)))}) AS k"]
    for name, _, order in ITEMS:
        picks.append(f"coalesce({', '.join(f't{i}.' + quote(f's{i}_{name}') for i in order)}) AS {quote(name)}")
    target = out / "baseline.parquet"
    con = engine.connect(job=True)  # the fusion's memory: the same engine settings for both
    try:
        con.execute(f"COPY (SELECT {', '.join(picks)} FROM {sql}) TO {literal(str(target))} (FORMAT parquet)")
    finally:
        con.close()
    return pq.read_metadata(target).num_rows


def run(runs: int = 3, scale: float = 1.0) -> dict[str, Any]:
    people = max(1000, int(BASE_ROWS * scale))
    rng = np.random.default_rng(21)
    with tempfile.TemporaryDirectory(prefix="ybz-bench-fusion-") as tmp:
        root = Path(tmp)
        engine = DuckDBEngine(root)
        ids = _ids(rng, people)
        files: dict[int, list[tuple[int, Path]]] = {}
        for i in range(len(SOURCES)):
            f = root / f"s{i}.parquet"
            _write(_source(rng, ids, i), f)
            files[i] = [(10 * (i + 1), f)]
        states = {i: _state(i, files[i]) for i in files}
        collected = {10 * (i + 1): datetime(2026, 9, 1 + i) for i in range(len(SOURCES))}
        r = _resolved()
        now = datetime(2026, 9, 30, 12)
        n = {"k": 0}

        def full() -> dict[str, Any]:
            n["k"] += 1
            plan = fusion.build(r, states, collected, today=TODAY, now=now)
            return engines.run(engine, plan, str(root / f"full{n['k']}"))

        def base() -> int:
            n["k"] += 1
            (root / f"base{n['k']}").mkdir()
            return _baseline(engine, states, root / f"base{n['k']}")

        _reset_peak()  # the generated inputs held by this process are not the fusion's
        fuse_s, out = median_time(full, runs)
        fuse_peak = _peak_mb()
        _reset_peak()
        base_s, base_rows = median_time(base, runs)
        base_peak = _peak_mb()
        # a 1 % batch of source 2 (upserts of existing people, some new values)
        inc = root / "s2_inc.parquet"
        _write(_source(rng, ids, 2, fraction=0.01), inc)
        states2 = dict(states)
        states2[2] = _state(2, [*files[2], (31, inc)])
        collected2 = {**collected, 31: datetime(2026, 9, 29)}
        new_part = P.LiveState(102, states2[2].columns, (), (states2[2].parts[-1],), False)

        def incremental() -> dict[str, Any]:
            n["k"] += 1
            plan = fusion.build(r, states2, collected2, today=TODAY, now=now, new_parts=[(2, new_part)])
            return engines.run(engine, plan, str(root / f"inc{n['k']}"))

        inc_s, inc_out = median_time(incremental, runs)
        source_rows = sum(pq.read_metadata(f).num_rows for fs in files.values() for _, f in fs)
    ratio, inc_ratio = fuse_s / base_s, inc_s / fuse_s
    return {
        "benchmark": "fusion", "engine": "duckdb", "runs": runs, "people": people,
        "source_rows": source_rows,
        "entities": out["rows"]["data"], "conflicts": out["rows"]["conflicts"], "rejected": out["rows"]["rejects"],
        "fusion_s": round(fuse_s, 3), "baseline_join_and_pick_s": round(base_s, 3), "baseline_rows": base_rows,
        "ratio_to_baseline": round(ratio, 2), "incremental_1pct_s": round(inc_s, 3),
        "incremental_entities": inc_out["rows"]["data"], "incremental_ratio": round(inc_ratio, 3),
        "peak_rss_mb": fuse_peak, "baseline_peak_rss_mb": base_peak,
        "goal": f"fusion ≤ {RATIO_GOAL}× join-and-pick; 1 % re-fusion ≤ {INCREMENTAL_GOAL:.0%} of the full run",
        "goal_met": ratio <= RATIO_GOAL and inc_ratio <= INCREMENTAL_GOAL,
    }
