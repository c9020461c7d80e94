"""DuckDB's `try_strptime(text, [formats])` on Spark (issue 13): one Java pattern is tried per
text, the one whose literal characters the text has. A Java pattern that does not match throws
inside `try_to_timestamp`; trying the patterns in turn made a date column of mixed forms the
slowest column of a collection on Spark. Values are checked on a real server by the collection
parity suite (tests/collect/test_collect_engine_parity.py); this checks the dispatch itself."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlglot
from sqlglot import exp

from yibenzhang.collect.coerce import DATE_FORMATS, TIME_FORMATS, _list
from yibenzhang.zone.spark import format_chains, java_pattern, java_patterns, leading_pad, literals, spark_sql

AT = dt.datetime(2023, 1, 5, 8, 5, 9, 123456)


def _branches(formats: list[str]) -> list[tuple[set[str], str]]:
    """(the texts' shapes, the Java pattern) of each branch of the translated call."""
    tree = sqlglot.parse_one(spark_sql(f"SELECT try_strptime(x, {_list(formats)}) FROM t"), dialect="spark")
    case = tree.find(exp.Case)
    assert case is not None
    out = []
    for branch in case.args["ifs"]:
        shapes = {e.this for e in branch.this.expressions}
        call = branch.args["true"]
        assert call.name.lower() == "try_to_timestamp"
        out.append((shapes, call.expressions[1].this))
    return out


@pytest.mark.parametrize("formats", [DATE_FORMATS, TIME_FORMATS], ids=["dates", "date-times"])
def test_each_text_tries_exactly_the_pattern_of_its_format(formats) -> None:
    branches = _branches(formats)
    assert [p for _s, p in branches] == java_patterns(formats)
    chains = format_chains(formats)
    for fmt in formats:
        text = AT.strftime(fmt)
        shape = "".join(ch for ch in text if not ch.isdigit())
        assert shape == literals(fmt)
        hits = [i for i, (shapes, _p) in enumerate(branches) if shape in shapes]
        assert len(hits) == 1, (fmt, text, hits)  # one pattern tried, never two
        assert fmt in chains[hits[0]]  # and it is the chain that holds the format


def test_a_format_with_a_field_that_is_not_digits_keeps_every_pattern() -> None:
    # %b (a month's name) is not digits: no shape to dispatch on, the patterns are tried in turn
    assert literals("%d %b %Y") is None
    assert literals("%Y年%m月%d日%H时%M分%S秒") == "年月日时分秒"
    sql = spark_sql("SELECT try_strptime(x, ['%Y-%m-%d', '%d %b %Y']) FROM t")
    assert "CASE" not in sql.upper() and sql.upper().count("TRY_TO_TIMESTAMP") == 2


def test_the_last_field_of_a_leading_run_is_padded_to_a_fixed_width() -> None:
    # strptime reads `202301058时` as 8 o'clock (its hour takes one or two digits); Java's year
    # is of variable width, so no later field of that run may be: the text gets the missing 0
    assert leading_pad("%Y%m%d%H时%M分%S秒") == 8 and java_pattern("%Y%m%d%H时%M分%S秒") == "yyyyMMddHH时m分s秒"
    assert leading_pad("%Y%m%d") == 6 and leading_pad("%Y%m%d %H:%M") == 6
    assert leading_pad("%Y-%m-%d%H时%M分%S秒") is None  # after a separator Java's fields may vary
    assert java_pattern("%Y-%m-%d%H时%M分%S秒") == "yyyy-M-ddH时m分s秒"
    sql = spark_sql(f"SELECT try_strptime(x, {_list(TIME_FORMATS)}) FROM t")
    assert "REGEXP_REPLACE(x, '^([0-9]{8})([0-9])(?![0-9])', '$10$2')" in sql
