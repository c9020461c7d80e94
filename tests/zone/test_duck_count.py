"""DuckDB's count of a keyed live state is exact even when the distinct keys do not fit its memory
(issue 13: the 10M-row engines benchmark, 13M ID numbers in four batches, ran out of 512 MB at
publication's count): the key space is counted in hash buckets, each exact. Reproduced here at a
smaller scale with a proportionally smaller memory limit."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from yibenzhang.bench.engines import _state
from yibenzhang.zone import duck


def test_count_of_keys_beyond_memory_is_exact(tmp_path, monkeypatch):
    state = _state(tmp_path, 300_000)  # a 全量 batch and three 更新 batches: 390,000 rows
    keys = pa.chunked_array([pq.read_table(f, columns=["公民身份号码"]).column(0)
                             for p in state.parts for f in p.files])
    assert len(keys) == 390_000
    monkeypatch.setattr(duck, "MEMORY_LIMIT", "12MB")  # one hash table of 300,000 ID numbers does not fit
    buckets: list[int] = []
    counted = duck._distinct_in_bucket

    def spy(con, keys_sql, relation_sql, bucket, of):
        buckets.append(of)
        return counted(con, keys_sql, relation_sql, bucket, of)

    monkeypatch.setattr(duck, "_distinct_in_bucket", spy)
    assert duck.DuckDBEngine(tmp_path).count(state) == pc.count_distinct(keys).as_py() == 300_000
    assert max(buckets) > 1  # the count did run out of memory in one piece and was split


def test_count_in_buckets_matches_one_piece_with_null_and_compound_keys(tmp_path):
    # a key is in exactly one bucket, NULL keys included (hash(NULL) is a value, not NULL)
    pq.write_table(pa.table({"a": pa.array(["x", None, "y", None, "x", "z"] * 50),
                             "b": pa.array([1, 1, None, None, 2, 3] * 50, pa.int64()),
                             "_row": pa.array(range(300), pa.int64())}), tmp_path / "b.parquet")
    relation = f"read_parquet('{tmp_path / 'b.parquet'}')"
    con = duck.DuckDBEngine(tmp_path).connect()
    try:
        for keys in ('"a"', '"a", "b"'):
            whole = duck._distinct_in_bucket(con, keys, relation, 0, 1)
            for buckets in (2, 4, 16):
                assert sum(duck._distinct_in_bucket(con, keys, relation, b, buckets) for b in range(buckets)) == whole
        assert duck._distinct_in_bucket(con, '"a"', relation, 0, 1) == 4  # x, y, z and NULL
        assert duck._distinct_in_bucket(con, '"a", "b"', relation, 0, 1) == 6
    finally:
        con.close()
