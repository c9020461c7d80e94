"""The engine's one hook for the platform's own SQL functions (issue 13): a stage declares a
function as data (zone.functions.Function); DuckDB's hook registers it once per connection."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from yibenzhang.classify import masking
from yibenzhang.quality import validators as V
from yibenzhang.zone.engine import Function, install, named_engine

pytestmark = pytest.mark.parametrize("db", ["sqlite"], indirect=True)


def test_a_function_is_registered_once_per_connection_and_named_as_the_platforms(world) -> None:
    calls: list[int] = []

    def upper(v: pa.Array) -> pa.Array:
        calls.append(len(v))
        return pc.utf8_upper(v)

    con = named_engine("duckdb").connect()
    try:
        install(con, [Function("ybz_test_upper", upper, ("VARCHAR",), "VARCHAR")])
        # the second declaration of the same name is not registered again (no error either)
        install(con, [Function("ybz_test_upper", lambda v: v, ("VARCHAR",), "VARCHAR")])
        assert con.sql("SELECT ybz_test_upper(x) FROM (VALUES ('a'), (NULL), ('b')) t(x)").fetchall() == [
            ("A",), (None,), ("B",)]
        assert calls  # the first kernel answered
    finally:
        con.close()
    with pytest.raises(ValueError):
        Function("upper", upper, ("VARCHAR",), "VARCHAR")  # outside the platform's prefix


def test_the_stages_functions_come_through_the_hook(world) -> None:
    """Masking's keyed functions and quality's checks are declared by their stages and registered
    by the hook: the SQL that names them runs."""
    con = named_engine("duckdb").connect()
    try:
        names = V.register_udfs(con)
        body = "11010119900307777"
        good = body + V.id_check_character(body)
        bad = body + ("0" if good[-1] != "0" else "1")  # a wrong check character
        assert con.sql(f"SELECT {names['id_card']}('{good}'), {names['id_card']}('{bad}')").fetchall() == [
            (True, False)]
        fns = masking.functions("SELECT ybz_mask_hmac_" + "测试".encode().hex() + "(x) FROM t", secret="s" * 32)
        assert [f.name for f in fns] == ["ybz_mask_hmac_" + "测试".encode().hex()]
        masking.prepare(con, "SELECT " + fns[0].name + "(x)", secret="s" * 32)
        out = con.sql(f"SELECT {fns[0].name}('110101199003077777') AS a, {fns[0].name}('110101199003077777') AS b"
                      ).fetchall()[0]
        assert out[0] == out[1] and "110101199003077777" not in out[0]  # stable, and not the clear value
    finally:
        con.close()
