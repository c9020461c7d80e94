"""The native checks (zone/native, a DuckDB extension in C) agree with the Python references,
load only where allowed, and the evaluation answers the same with or without them."""

from __future__ import annotations

import os
from datetime import date, timedelta

import duckdb
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.quality.test_validators import (
    FAST,
    NASTY,
    TODAY,
    cards,
    date_texts,
    emails,
    id_cards,
    landlines,
    make_id,
    mobiles,
    mutated,
    reference,
    usccs,
)
from yibenzhang.codes import USCC_ALPHABET
from yibenzhang.quality import validators as V
from yibenzhang.quality.evaluate import evaluate
from yibenzhang.quality.rules import Rule
from yibenzhang.zone import native
from yibenzhang.zone.engine import DuckDBEngine

CON = duckdb.connect(config={"allow_unsigned_extensions": True})


@pytest.fixture(autouse=True, scope="module")
def _built():
    """Built as `ybz init` builds it (loading never compiles)."""
    assert native.build() is not None


def test_the_extension_builds_and_loads_here():
    """This machine has a C compiler (CI installs nothing else for it): the native path is the
    one measured and shipped, so failing to build it is a failure, not a skip."""
    path = native.build()
    assert path is not None and path.name == "ybz_checks.duckdb_extension"
    assert path.read_bytes()[-512:] == native.footer(CON.execute("PRAGMA platform").fetchone()[0])
    assert native.load(CON) is True
    assert native.load(CON) is True  # a second time is a no-op
    names = {r[0] for r in CON.execute("SELECT function_name FROM duckdb_functions()").fetchall()}
    assert set(native.FUNCTIONS) <= names


def native_values(fmt, values, **kw):
    """The native check as the evaluation writes it, inside one DuckDB statement (order kept)."""
    native.load(CON)
    query = (f"SELECT {V.sql_native(fmt, 'v', **kw)} FROM (SELECT unnest($vals::VARCHAR[]) AS v, "
             f"generate_subscripts($vals::VARCHAR[], 1) AS i) ORDER BY i")
    return [r[0] for r in CON.execute(query, {"vals": values}).fetchall()]


@FAST
@given(st.lists(st.one_of(id_cards(), mutated(id_cards()), NASTY, st.none()), min_size=1, max_size=60))
def test_id_card_native_agrees(values):
    assert native_values("id_card", values, today=TODAY) == reference("id_card", values, today=TODAY)
    extra = ["98"]  # a configured extra prefix is honoured
    assert (native_values("id_card", values, today=TODAY, provinces=extra)
            == reference("id_card", values, today=TODAY, provinces=extra))


def test_id_card_native_edges():
    born = date(1990, 2, 28)
    valid = make_id("530102", born)
    today_born = make_id("530102", TODAY)
    tomorrow = make_id("530102", TODAY + timedelta(days=1))
    values = [valid, valid[:17] + ("0" if valid[17] != "0" else "1"), today_born, tomorrow,
              make_id("530102", date(1900, 1, 1)), "53010219000229001" + "0", "530102900229001",
              "530102000229001", "980102199001010011", valid.lower(), valid[:17] + "x"]
    assert native_values("id_card", values, today=TODAY) == reference("id_card", values, today=TODAY)
    assert native_values("id_card", [valid, today_born, tomorrow], today=TODAY) == [True, True, False]


@FAST
@given(st.lists(st.one_of(usccs, mutated(usccs, USCC_ALPHABET + "IOSVZa年"), NASTY, st.none()), min_size=1,
                max_size=60))
def test_uscc_native_agrees(values):
    assert native_values("uscc", values) == reference("uscc", values)


@FAST
@given(st.lists(st.one_of(cards, mutated(cards, "0123456789a 年"), NASTY, st.none()), min_size=1, max_size=60))
def test_bank_card_native_agrees(values):
    assert native_values("bank_card", values) == reference("bank_card", values)


@FAST
@given(st.lists(st.one_of(mobiles, landlines, st.from_regex(r"\+86[- ]?1[0-9]{10}", fullmatch=True),
                          mutated(mobiles, "0123456789+- "), mutated(landlines, "0123456789- "), NASTY,
                          st.none()), min_size=1, max_size=60))
def test_phones_native_agree(values):
    for fmt in ("mobile", "landline", "phone"):
        assert native_values(fmt, values) == reference(fmt, values), fmt


@FAST
@given(st.lists(st.one_of(emails, mutated(emails, "@.a -_%+"), NASTY, st.none(),
                          st.from_regex(r"[a-z]{1,3}@[a-z0-9-]{1,3}(\.[a-z0-9-]{0,3}){0,3}", fullmatch=True)),
                min_size=1, max_size=60))
def test_email_native_agrees(values):
    assert native_values("email", values) == reference("email", values)


def test_email_native_length_limit():
    local = "a" * 64
    for n in (254, 255):
        value = local + "@" + "b" * (n - len(local) - 4) + ".cn"
        assert len(value) == n
        assert native_values("email", [value]) == [V.is_email(value)] == [n == 254]


@FAST
@given(st.lists(st.one_of(date_texts, mutated(date_texts, "0123456789-/年月日 "), NASTY, st.none()), min_size=1,
                max_size=60))
def test_date_text_native_agrees(values):
    lo, hi = date(1900, 1, 1), TODAY
    assert native_values("date_text", values) == reference("date_text", values)
    assert native_values("date_text", values, lo=lo, hi=hi) == reference("date_text", values, lo=lo, hi=hi)


def test_date_text_native_edges():
    values = ["2024-02-29", "2023-02-29", "2000年2月29日", "1900/2/29", "0000-01-01", "20230501", "2023-5-1",
              "2023-05-001", "2023/05-01", "2023年5月1", "99991231", "2023-13-01", "2023-1-32", "２０２３-01-01"]
    assert native_values("date_text", values) == reference("date_text", values)


def test_many_vectors_nulls_constants_and_dictionaries():
    """Several DuckDB vectors with NULLs, a constant argument and a dictionary-encoded Parquet
    column answer as the reference does row by row."""
    native.load(CON)
    valid = [make_id("530102", date(1980, 1, 1) + timedelta(days=k)) for k in range(5000)]
    values = [None if k % 7 == 0 else (v[:17] + "0" if k % 5 == 0 else v) for k, v in enumerate(valid)]
    assert native_values("id_card", values, today=TODAY) == reference("id_card", values, today=TODAY)
    assert CON.execute(f"SELECT count_if({V.sql_native('mobile', repr('13812345678'))}) "
                       "FROM range(5000)").fetchone()[0] == 5000


def test_dictionary_encoded_parquet(tmp_path):
    native.load(CON)
    path = tmp_path / "d.parquet"
    CON.execute(f"COPY (SELECT CASE i % 3 WHEN 0 THEN '13812345678' WHEN 1 THEN '12812345678' END AS v "
                f"FROM range(10000) t(i)) TO '{path}' (FORMAT parquet)")
    got = CON.execute(f"SELECT count_if(ybz_native_mobile(v)), count_if(NOT ybz_native_mobile(v)), "
                      f"count(*) - count(ybz_native_mobile(v)) FROM read_parquet('{path}')").fetchone()
    assert got == (3334, 3333, 3333)


RULES = [
    Rule("format:id", "format", ("id",), {"format": "id_card"}),
    Rule("format:uscc", "format", ("uscc",), {"format": "uscc"}),
    Rule("format:card", "format", ("card",), {"format": "bank_card"}),
    Rule("format:phone", "format", ("phone",), {"format": "phone"}),
    Rule("format:email", "format", ("email",), {"format": "email"}),
    Rule("format:day", "format", ("day",), {"format": "date_text", "min": "2000-01-01", "max": "2026-01-01"}),
]


def _rows(con):
    con.execute("""CREATE TABLE t AS SELECT * FROM (VALUES
        (1, '11010519491231002X', '91350100M000100Y43', '4111111111111111', '13812345678', 'a@b.cn', '2023-5-1'),
        (2, '110105194912310021', '91350100M000100Y44', '4111111111111112', '0871-612345', 'a@b', '1999-12-31'),
        (3, NULL, NULL, NULL, NULL, NULL, NULL),
        (4, '110105491231002', 'x', '41111', '+86 13812345678', 'x.y@z.gov.cn', '2023年2月29日'))
        AS v(_row, id, uscc, card, phone, email, day)""")


def test_evaluation_is_the_same_with_and_without_the_extension():
    with_native = duckdb.connect(config={"allow_unsigned_extensions": True})
    without = duckdb.connect()  # may not load it: the Python kernels serve
    for con in (with_native, without):
        _rows(con)
    a = evaluate(with_native, "t", RULES, today=TODAY)
    b = evaluate(without, "t", RULES, today=TODAY)
    c = evaluate(without, "t", RULES, today=TODAY, vectorized=False)
    assert "ybz_native_" in a.sql and "ybz_native_" not in b.sql
    got = [(r.checked, r.failed, r.samples) for r in a.results]
    assert got == [(r.checked, r.failed, r.samples) for r in b.results]
    assert got == [(r.checked, r.failed, r.samples) for r in c.results]
    assert got == [(3, 1, [2]), (3, 2, [2, 4]), (3, 2, [2, 4]), (3, 1, [2]), (3, 1, [2]), (3, 2, [2, 4])]


def test_the_zone_engine_connection_loads_it(tmp_path):
    """Quality's connections (allow_extensions, as quality.service opens them) load the build."""
    con = DuckDBEngine(tmp_path).connect(allow_extensions=True)
    try:
        assert native.load(con) is True
    finally:
        con.close()


def test_without_a_compiler_the_kernels_serve(tmp_path, monkeypatch):
    monkeypatch.setenv("YBZ_NATIVE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("CC", str(tmp_path / "no-such-compiler"))
    monkeypatch.setattr(native, "_verified", {})
    assert native.build() is None
    con = duckdb.connect(config={"allow_unsigned_extensions": True})
    assert native.load(con) is False
    _rows(con)
    assert "ybz_native_" not in evaluate(con, "t", RULES, today=TODAY).sql
    assert not any((tmp_path / "cache").rglob("*.duckdb_extension"))  # nothing half-built is left


def test_a_compile_error_is_reported_not_raised(tmp_path, monkeypatch):
    bad = tmp_path / "ybz_checks.c"
    bad.write_text("this is not C\n")
    monkeypatch.setattr(native, "SOURCE", bad)
    monkeypatch.setattr(native, "_verified", {})
    monkeypatch.setenv("YBZ_NATIVE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("CC", raising=False)
    assert native.build() is None
    assert len(os.listdir(tmp_path / "cache")) == 1  # the key's folder, with nothing in it
    assert not any((tmp_path / "cache").rglob("*.duckdb_extension"))
    assert not any((tmp_path / "cache").rglob(native.RECORD))


def test_the_sandbox_connection_may_not_load_the_extension():
    """The operators' sandbox runs their SQL on its own connection (in its own process): even with
    the file built, a LOAD there is refused (only the zone engine's connections allow unsigned
    extensions); the child reports DuckDB's PermissionException by its type name."""
    from yibenzhang.operate import sandbox, sql_guard

    path = native.build()
    with pytest.raises(sql_guard.Refusal) as refused:
        sandbox.run_locked(f"LOAD '{path}'", {}, timeout=10, memory_mb=256)
    assert refused.value.code == "sql_runtime_error"
    assert refused.value.params["kind"] == duckdb.PermissionException.__name__


@pytest.mark.parametrize("fmt", sorted(V.NATIVE_FORMATS))
def test_nulls_stay_null(fmt):
    assert native_values(fmt, [None], today=TODAY) == [None]


# --- issue 19: built at set-up, verified before it is loaded, never compiled by a query ---------


@pytest.fixture
def native_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("YBZ_NATIVE_DIR", str(tmp_path / "native"))
    native._verified.clear()
    yield tmp_path / "native"
    native._verified.clear()


def test_nothing_is_compiled_when_a_query_loads(native_dir):
    """Without a build, `load` answers no (the Python kernels serve) and compiles nothing."""
    con = native.connect()
    assert native.load(con) is False
    assert not native_dir.exists() or not any(native_dir.rglob("*.duckdb_extension"))


def test_a_build_is_loaded_only_while_it_matches_its_record(native_dir):
    path = native.build()
    assert path is not None and path.is_relative_to(native_dir)
    assert native.load(native.connect()) is True
    native._verified.clear()
    data = bytearray(path.read_bytes())
    data[100] ^= 0xFF  # one byte changed by whoever could write there
    path.write_bytes(bytes(data))
    assert native.locate() is None
    con = native.connect()
    assert native.load(con) is False
    assert not ({r[0] for r in con.execute("SELECT function_name FROM duckdb_functions()").fetchall()}
                & set(native.FUNCTIONS))


def test_a_build_others_can_write_is_not_loaded(native_dir):
    path = native.build()
    assert path is not None
    os.chmod(path.parent, 0o777)
    native._verified.clear()
    assert native.locate() is None
    os.chmod(path.parent, 0o755)
    native._verified.clear()
    assert native.locate() == path


def test_platform_connections_refuse_unsigned_extensions(native_dir, tmp_path):
    """Only quality's own connection may load unsigned code; the zone engine's do not."""
    path = native.build()
    assert path is not None
    con = DuckDBEngine(tmp_path).connect()
    with pytest.raises(duckdb.Error):
        con.execute(f"LOAD '{path}'")
    assert native.load(con) is False
