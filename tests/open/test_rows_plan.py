"""The rows API's page is a port plan (issue 13): filter values and cursors are literals of the
sqlglot tree, never SQL text, and any value — quotes, backslashes, unicode, NUL — finds exactly
its rows on the in-process engine, never an error or another row."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sqlglot import exp

from yibenzhang.classify import masking
from yibenzhang.classify.policies import ColumnPlan, MaskPlan
from yibenzhang.open import rows_api
from yibenzhang.open.downloads import Shape
from yibenzhang.zone import port
from yibenzhang.zone.engine import Work, engine_for

from .conftest import ROWS

TRICKY = ["a'b", "x' OR '1'='1", 'q"uote', "back\\slash", "中文\u3000全角", "nul\x00byte", "$$dollar$$", "line\nbreak",
          "plain"]


def _shape() -> Shape:
    plan = MaskPlan("开放下载", "test", (ColumnPlan("名称", "一般", (), masking.Spec("none")),
                                         ColumnPlan("数量", "一般", (), masking.Spec("none")),
                                         ColumnPlan("代码", "一般", (), masking.Spec("redact"))))
    return Shape(1, port.LiveState(1, ()), plan, {"名称": "VARCHAR", "数量": "BIGINT", "代码": "VARCHAR"})


@pytest.fixture
def snapshot(tmp_path):
    names = [*TRICKY, *TRICKY]
    table = pa.table({"名称": names, "数量": list(range(len(names))), "代码": ["***"] * len(names),
                      "_n": list(range(1, len(names) + 1))})
    path = tmp_path / "snapshot.parquet"
    pq.write_table(table, path, row_group_size=4)
    return port.Files((str(path),))


def _literal_strings(tree: exp.Expression) -> list[str]:
    return [lit.this for lit in tree.find_all(exp.Literal) if lit.is_string]


@pytest.mark.parametrize("value", TRICKY)
def test_a_filter_value_is_a_literal_and_finds_its_rows(snapshot, value):
    sh = _shape()
    plan = rows_api.plan(sh, {"名称": value}, limit=100, offset=0, after=None)
    assert _literal_strings(plan) == [value]  # the value is one literal node of the tree
    for node in plan.walk():  # and nowhere else: no identifier or raw SQL fragment holds it
        if not isinstance(node, exp.Literal):
            assert value not in {v for v in node.args.values() if isinstance(v, str)}
    got = engine_for(Work.PAGE).rows(snapshot, plan)
    assert got.column("名称").to_pylist() == [value, value]
    assert got.column("_n").to_pylist() == [TRICKY.index(value) + 1, TRICKY.index(value) + 1 + len(TRICKY)]


def test_a_value_not_of_the_column_type_equals_nothing(snapshot):
    plan = rows_api.plan(_shape(), {"数量": "3' OR 1=1 --"}, limit=100, offset=0, after=None)
    assert engine_for(Work.PAGE).rows(snapshot, plan).num_rows == 0
    plan = rows_api.plan(_shape(), {"数量": "3"}, limit=100, offset=0, after=None)
    assert engine_for(Work.PAGE).rows(snapshot, plan).column("名称").to_pylist() == [TRICKY[3]]


def test_offset_and_cursor_pages(snapshot):
    engine = engine_for(Work.PAGE)
    ranged = engine.rows(snapshot, rows_api.plan(_shape(), {}, limit=3, offset=5, after=None))
    assert ranged.column("_n").to_pylist() == [6, 7, 8]
    keyset = engine.rows(snapshot, rows_api.plan(_shape(), {}, limit=3, offset=0, after=16))
    assert keyset.column("_n").to_pylist() == [17, 18]
    filtered = engine.rows(snapshot, rows_api.plan(_shape(), {"名称": "plain"}, limit=1, offset=1, after=None))
    assert filtered.column("_n").to_pylist() == [18]


def test_filters_on_masked_or_unknown_columns_are_refused(snapshot):
    for name, code in (("代码", "open_filter_masked"), ("无此列", "open_filter_unknown")):
        with pytest.raises(rows_api.DomainError) as err:
            rows_api.plan(_shape(), {name: "x"}, limit=1, offset=0, after=None)
        assert err.value.code == code


@pytest.mark.usefixtures("zone_store")
def test_the_api_answers_a_hostile_filter_with_no_rows(client, opendata):
    url = f"/api/v1/open/datasets/{opendata.free}/rows"
    for value in ("石林站' OR '1'='1", "石林站\x00", "石林站\\", '石林站"'):
        r = client.get(url, params={"站点名称": value})
        assert r.status_code == 200 and r.json()["rows"] == []
    assert [r["站点名称"] for r in client.get(url, params={"站点名称": "石林站"}).json()["rows"]] == ["石林站"]
    assert ROWS["站点名称"][4] == "石林站"
