"""The zone's DuckDB relation of a keyed live state and the assessment's current rows
(quality.service.current_rows) are exactly the rows the window keeps (per key, the latest batch's
latest row), found without the window (issue 15: the window over
1M keyed rows was the assessment's cost), and the zone's count of them: compared on generated
batches with repeated keys, NULL keys, compound keys and a batch lacking an item."""

from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import given, settings
from hypothesis import strategies as st

from yibenzhang.quality.service import current_rows
from yibenzhang.zone import duck
from yibenzhang.zone.port import Column, LiveState, Part

KEYS = st.one_of(st.none(), st.sampled_from(["a", "b", "c", "d"]))
ROW = st.tuples(KEYS, st.integers(0, 2), st.integers(-5, 5))
BATCHES = st.lists(st.lists(ROW, max_size=12), min_size=1, max_size=4)


def _state(tmp, batches, keys, dedupe=True) -> LiveState:
    parts = []
    for b, rows in enumerate(batches):
        path = tmp / f"b{b}.parquet"
        table = {"k": pa.array([r[0] for r in rows], pa.string()), "k2": pa.array([r[1] for r in rows], pa.int64()),
                 "_row": pa.array(range(2, 2 + len(rows)), pa.int64())}
        if b != 1:  # the second batch predates item v
            table["v"] = pa.array([r[2] for r in rows], pa.int64())
        pq.write_table(pa.table(table), path)
        parts.append(Part(10 + b, (str(path),), frozenset(n for n in table if n != "_row")))
    cols = (Column("k", "VARCHAR"), Column("k2", "BIGINT"), Column("v", "BIGINT"))
    return LiveState(1, cols, keys, tuple(parts), dedupe)


def _rows(relation: str) -> list[tuple]:
    with duckdb.connect() as con:  # not the process-wide default connection other code shares
        return sorted(con.sql(f"SELECT * FROM {relation}").fetchall(), key=repr)


def _window(state: LiveState) -> str:
    """The reference: the batches unioned, then per key the latest batch's latest row by the
    window the zone's relation used until it was replaced (issue 13)."""
    union = duck.relation(LiveState(state.resource_id, state.columns, state.keys, state.parts, False))
    keys = ", ".join(f'"{k}"' for k in state.keys)
    return (f"(SELECT * FROM {union} QUALIFY row_number() OVER "
            f"(PARTITION BY {keys} ORDER BY _batch DESC, _row DESC) = 1)")


@settings(max_examples=60, deadline=None)
@given(batches=BATCHES, keys=st.sampled_from([("k",), ("k", "k2")]))
def test_current_rows_equal_the_window(tmp_path_factory, batches, keys):
    tmp = tmp_path_factory.mktemp("cur")
    state = _state(tmp, batches, keys)
    window = _rows(_window(state))
    assert _rows(duck.relation(state)) == window  # the zone's relation, every keyed read
    assert _rows(current_rows(state)) == window
    # the zone's count (a DISTINCT over the keys, the obvious local fix of issue 15) agrees
    assert duck.DuckDBEngine(tmp).count(state) == len(window)


def test_no_keys_or_no_dedupe_is_the_zone_relation(tmp_path):
    state = _state(tmp_path, [[("a", 1, 1), ("a", 1, 2)]], (), dedupe=False)
    assert current_rows(state) == f"({duck.relation(state)})"
    assert len(_rows(current_rows(state))) == 2
