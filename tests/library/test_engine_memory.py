"""The DuckDB runner frees each intermediate table after its last reader (issue 21: at 10M
people the keyed rows of five sources do not fit beside the wide join), and never before."""

from __future__ import annotations

from datetime import datetime

from tests.library import test_fusion_rules as R
from yibenzhang.library import engines, fusion
from yibenzhang.library.fusion import Plan


def test_a_step_is_dropped_after_its_last_reader_only() -> None:
    plan = Plan({}, [("best_1", "SELECT 1 AS x"), ("best_10", "SELECT 2 AS x"), ("a", "SELECT * FROM best_1"),
                     ("b", "SELECT * FROM best_10 UNION ALL SELECT * FROM a")],
                {"out": "SELECT * FROM b"}, "SELECT count(*) FROM a")
    # best_1 is read last by `a` (step 2; `best_10` in step 3 is another name, not a reader);
    # best_10 by `b` (3); a and b are read by the outputs and the counts: kept to the end
    assert engines.last_uses(plan) == {2: ["best_1"], 3: ["best_10"]}


def test_the_fusion_frees_every_source_before_the_wide_join() -> None:
    states = {i: R.P.LiveState(100 + i, (), (), (), False) for i in range(len(R.SOURCES))}
    plan = fusion.build(R.resolved(), states, {}, today=R.TODAY, now=datetime(2026, 9, 30, 12))
    names = [name for name, _ in plan.steps]
    freed = {name: names[n] for n, done in engines.last_uses(plan).items() for name in done}
    for i in range(len(R.SOURCES)):  # the keyed rows (and their view) go once their best rows exist
        assert names.index(freed[f"keyed_{i}"]) < names.index("wide"), freed
        assert freed[f"keyed_{i}_n"] == f"keyed_{i}"
        assert freed[f"dups_{i}"] == f"best_{i}"
    assert "wide" not in freed and not any(f"best_{i}" in freed for i in range(len(R.SOURCES)))  # outputs read them
