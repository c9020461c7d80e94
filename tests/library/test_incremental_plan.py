"""Incremental re-fusion (issue 21): the plan for newly published batches gives, for every entity
those batches touch, exactly the rows, provenance and conflicts a full fusion gives, and the new
batches' refused keys with their codes — whatever form the keys take in the other sources (15-digit,
full-width, spaced, lower-case x, on several rows of one source). Sources as in
test_fusion_rules; both plans on DuckDB."""

from __future__ import annotations

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.library import reference as ref
from tests.library import test_fusion_rules as R
from yibenzhang.library import engines, fusion, keys
from yibenzhang.zone import port as P


def _plan(tmp, states, new_parts=None):
    collected = {p.batch_id: R.COLLECTED[p.batch_id] for s in states.values() for p in s.parts}
    plan = fusion.build(R.resolved(), states, collected, today=R.TODAY, now=R.NOW, new_parts=new_parts)
    out_dir = tmp / ("inc" if new_parts is not None else "full")
    out = engines.run(R.DuckDBEngine(tmp), plan, str(out_dir))
    return {name: engines.read(out_dir, out["files"][name]).to_pylist() for name in ("data", "conflicts", "rejects")}


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(R.row_strategy, min_size=1, max_size=40), source=st.integers(0, 4))
@example(rows=[  # the touched person in every other form elsewhere, on several rows of one source
    (2, 1, R.PEOPLE[0], "张三", None, "13900000001", None),
    (0, 0, R.LEGACY[0], "李四", R.date(1990, 3, 7), None, "春城路1号"),
    (1, 0, " " + R.PEOPLE[0].translate(R.FULL), None, None, "13900000002", None),
    (1, 1, R.PEOPLE[0][:6] + " " + R.PEOPLE[0][6:], None, None, "13900000001", None),
    (3, 0, R.PEOPLE[4].lower(), None, None, "13900000002", "岚川路2号"), (2, 1, R.PEOPLE[4], "李四", None, None, None),
    (2, 0, R.PEOPLE[4], "张三", R.date(1990, 3, 8), "13900000002", None), (2, 1, R.BAD[0], "张三", None, None, None),
    (4, 0, R.LEGACY[1], "张三", None, None, None), (4, 1, R.PEOPLE[1], "李四", None, None, None)], source=2)
def test_incremental_equals_full_for_touched_entities(tmp_path_factory, rows, source) -> None:
    tmp = tmp_path_factory.mktemp("inc")
    states, ref_rows = R.write_sources(tmp, rows)
    new = [p for p in states[source].parts if p.batch_id % 10 == 1]  # the source's second batch is the new one
    if not new:
        return
    part = new[0]
    state = states[source]
    full = _plan(tmp, states)
    inc = _plan(tmp, states, [(source, P.LiveState(state.resource_id, state.columns, (), (part,), False))])
    touched = {k for r in ref_rows if r.source == source and r.batch == part.batch_id
               for k, code in [ref.normalise(r.key, keys.PERSON, R.TODAY)] if code is None}

    def rows_of(data):
        return sorted(({k: v for k, v in d.items() if k != "_row"} for d in data), key=lambda d: d["公民身份号码"])

    assert rows_of(inc["data"]) == rows_of([d for d in full["data"] if d["公民身份号码"] in touched])

    def conflicts_of(conflicts):
        return sorted(tuple(c.values()) for c in conflicts)

    assert conflicts_of(inc["conflicts"]) == conflicts_of([c for c in full["conflicts"] if c["entity"] in touched])
    assert conflicts_of(inc["rejects"]) == conflicts_of([x for x in full["rejects"]
                                                          if x["source_batch"] == part.batch_id])
