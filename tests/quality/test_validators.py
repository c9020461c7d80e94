"""The SQL validators agree with the Python references on valid and mutated values."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from yibenzhang.codes import USCC_ALPHABET, make_uscc
from yibenzhang.quality import validators as V

TODAY = date(2026, 3, 15)
PROVINCES = sorted(V.PROVINCE_PREFIXES)
CON = duckdb.connect()
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def sql_values(builder, values, **kw):
    """Evaluate the SQL builder over all values in one query (order kept)."""
    query = (f"SELECT {builder('v', **kw)} FROM (SELECT unnest($vals::VARCHAR[]) AS v, "
             f"generate_subscripts($vals::VARCHAR[], 1) AS i) ORDER BY i")
    return [r[0] for r in CON.execute(query, {"vals": values}).fetchall()]


@st.composite
def id_cards(draw):
    prefix = draw(st.sampled_from(PROVINCES)) + draw(st.from_regex(r"[0-9]{4}", fullmatch=True))
    seq = draw(st.from_regex(r"[0-9]{3}", fullmatch=True))
    if draw(st.booleans()):  # 15-digit legacy form: born in the 1900s, no check digit
        born = draw(st.dates(min_value=date(1900, 1, 1), max_value=date(1999, 12, 31)))
        return prefix + born.strftime("%y%m%d") + seq
    born = draw(st.dates(min_value=date(1900, 1, 1), max_value=TODAY))
    body = prefix + born.strftime("%Y%m%d") + seq
    return body + V.id_check_character(body)


def mutate(draw, value: str, alphabet: str) -> str:
    how = draw(st.sampled_from(["char", "drop", "add", "swap", "lower", "same"]))
    if not value:
        return value
    i = draw(st.integers(0, len(value) - 1))
    if how == "char":
        return value[:i] + draw(st.sampled_from(alphabet)) + value[i + 1:]
    if how == "drop":
        return value[:i] + value[i + 1:]
    if how == "add":
        return value[:i] + draw(st.sampled_from(alphabet)) + value[i:]
    if how == "swap" and i + 1 < len(value):
        return value[:i] + value[i + 1] + value[i] + value[i + 2:]
    if how == "lower":
        return value.lower()
    return value


@st.composite
def mutated(draw, strategy, alphabet="0123456789X x-+年月日/"):
    return mutate(draw, draw(strategy), alphabet)


def test_known_identity_numbers():
    assert V.is_id_card("11010519491231002X", today=TODAY)
    assert not V.is_id_card("110105194912310021", today=TODAY)  # wrong check digit
    assert not V.is_id_card("11010519491231002x", today=TODAY)  # lower-case x
    assert not V.is_id_card("990105194912310025", today=TODAY)  # 99 is no province…
    assert V.is_id_card(make_id("990105", date(1949, 12, 31)), today=TODAY, provinces=["99"])  # …unless configured
    assert V.is_id_card("110105491231002", today=TODAY)  # 15-digit legacy
    assert not V.is_id_card("110105491331002", today=TODAY)  # month 13
    future = make_id("110105", TODAY + timedelta(days=1))
    assert not V.is_id_card(future, today=TODAY)


def make_id(region: str, born: date, seq: str = "001") -> str:
    body = region + born.strftime("%Y%m%d") + seq
    return body + V.id_check_character(body)


@FAST
@given(st.lists(st.one_of(id_cards(), mutated(id_cards())), min_size=1, max_size=40))
def test_id_card_sql_agrees(values):
    expected = [V.is_id_card(v, today=TODAY) for v in values]
    assert sql_values(V.sql_id_card, values, today=TODAY) == expected


@FAST
@given(id_cards())
def test_generated_identity_numbers_are_valid(value):
    assert V.is_id_card(value, today=TODAY)


def test_id_card_valid_values_are_accepted_and_wrong_check_digits_rejected():
    valid = [make_id("530102", date(1980, 1, d)) for d in range(1, 29)]
    assert all(sql_values(V.sql_id_card, valid, today=TODAY))
    wrong_check = [v[:17] + ("0" if v[17] != "0" else "1") for v in valid]
    assert not any(sql_values(V.sql_id_card, wrong_check, today=TODAY))


uscc_body = st.builds(
    lambda a, b, region, rest: a + b + region + rest,
    st.sampled_from("159ANY"), st.sampled_from("123"), st.from_regex(r"[0-9]{6}", fullmatch=True),
    st.text(alphabet=USCC_ALPHABET, min_size=9, max_size=9),
)
usccs = uscc_body.map(make_uscc)


@FAST
@given(st.lists(st.one_of(usccs, mutated(usccs, USCC_ALPHABET + "IOSVZa")), min_size=1, max_size=40))
def test_uscc_sql_agrees(values):
    assert sql_values(V.sql_uscc, values) == [V.is_uscc(v) for v in values]


def test_uscc_letters_in_front_and_check_character():
    code = make_uscc("N1530100MA0000001")
    assert V.is_uscc(code) and sql_values(V.sql_uscc, [code]) == [True]
    bad = code[:17] + ("0" if code[17] != "0" else "1")
    assert not V.is_uscc(bad) and sql_values(V.sql_uscc, [bad]) == [False]


def luhn_complete(body: str) -> str:
    for d in "0123456789":
        if V.is_bank_card(body + d):
            return body + d
    raise AssertionError


cards = st.from_regex(r"[0-9]{11,18}", fullmatch=True).map(luhn_complete)


@FAST
@given(st.lists(st.one_of(cards, mutated(cards, "0123456789a ")), min_size=1, max_size=40))
def test_bank_card_sql_agrees(values):
    assert sql_values(V.sql_bank_card, values) == [V.is_bank_card(v) for v in values]


def test_bank_card_examples():
    assert V.is_bank_card("4111111111111111") and not V.is_bank_card("4111111111111112")
    assert not V.is_bank_card("12345674")  # Luhn-valid but too short for a bank card


mobiles = st.from_regex(r"(\+86)?1[3-9][0-9]{9}", fullmatch=True)
landlines = st.from_regex(r"(0[1-9][0-9]{1,2}-?)?[2-9][0-9]{6,7}(-[0-9]{1,4})?", fullmatch=True)
emails = st.from_regex(r"[a-z0-9._]{1,10}@[a-z0-9]{1,8}\.(cn|com|gov\.cn)", fullmatch=True)
divisions = st.from_regex(r"[0-9]{6}", fullmatch=True)


@FAST
@given(st.lists(st.one_of(mobiles, landlines, mutated(mobiles), mutated(landlines)), min_size=1, max_size=40))
def test_phone_sql_agrees(values):
    assert sql_values(V.sql_mobile, values) == [V.is_mobile(v) for v in values]
    assert sql_values(V.sql_landline, values) == [V.is_landline(v) for v in values]
    assert sql_values(V.sql_phone, values) == [V.is_phone(v) for v in values]


@FAST
@given(st.lists(st.one_of(emails, mutated(emails, "@.a -")), min_size=1, max_size=40))
def test_email_sql_agrees(values):
    assert sql_values(V.sql_email, values) == [V.is_email(v) for v in values]


@FAST
@given(st.lists(st.one_of(divisions, mutated(divisions, "0123456789a")), min_size=1, max_size=40))
def test_division_sql_agrees(values):
    assert sql_values(V.sql_division, values) == [V.is_division(v) for v in values]
    known = ["530000", "530100", "530102"]
    assert sql_values(V.sql_division, values, known=known) == [V.is_division(v, known=known) for v in values]


date_texts = st.builds(
    lambda d, form: {0: d.isoformat(), 1: f"{d.year}/{d.month}/{d.day}", 2: f"{d.year}年{d.month}月{d.day}日",
                     3: d.strftime("%Y%m%d")}[form],
    st.dates(min_value=date(1000, 1, 1)), st.integers(0, 3),
)


@FAST
@given(st.lists(st.one_of(date_texts, mutated(date_texts, "0123456789-/年月日 ")), min_size=1, max_size=40))
def test_date_text_sql_agrees(values):
    lo, hi = date(1900, 1, 1), TODAY
    assert sql_values(V.sql_date_text, values) == [V.is_date_text(v) for v in values]
    assert sql_values(V.sql_date_text, values, lo=lo, hi=hi) == [V.is_date_text(v, lo=lo, hi=hi) for v in values]


def test_nulls_stay_null():
    for name, builder in V.SQL.items():
        assert sql_values(builder, [None]) == [None], name


@pytest.mark.parametrize("value,ok", [(5, True), (11, False), (-1, False)])
def test_range(value, ok):
    assert V.in_range(value, 0, 10) is ok
    assert CON.execute(f"SELECT {V.sql_in_range(str(value), 0, 10)}").fetchone()[0] is ok


# --- the vectorized kernels (DuckDB UDFs over Arrow batches) agree with the references too ---------

UDF_CON = duckdb.connect()
UDFS = V.register_udfs(UDF_CON, today=TODAY)


def udf_values(fmt, values, **kw):
    """The kernel as the evaluation calls it: a UDF inside a DuckDB statement (order kept)."""
    call = f"{UDFS[fmt]}(v)"
    if fmt == "date_text":
        call = V.sql_date_text_ymd("v", call, **kw)
    query = (f"SELECT {call} FROM (SELECT unnest($vals::VARCHAR[]) AS v, "
             f"generate_subscripts($vals::VARCHAR[], 1) AS i) ORDER BY i")
    return [r[0] for r in UDF_CON.execute(query, {"vals": values}).fetchall()]


def reference(fmt, values, **kw):
    return [None if v is None else V.PYTHON[fmt](v, **kw) for v in values]


NASTY = st.sampled_from(["", " ", "张三", "1" * 18, "X" * 18, "１１０１０５１９４９１２３１００２Ｘ", "0" * 15, "+86",
                         "+86 ", "2023年", "年月日", "\u00a0" * 6, "é" * 9])


@FAST
@given(st.lists(st.one_of(id_cards(), mutated(id_cards()), NASTY, st.none()), min_size=1, max_size=60))
def test_id_card_kernel_agrees(values):
    assert udf_values("id_card", values) == reference("id_card", values, today=TODAY)


@FAST
@given(st.lists(st.one_of(usccs, mutated(usccs, USCC_ALPHABET + "IOSVZa年"), NASTY, st.none()), min_size=1,
                max_size=60))
def test_uscc_kernel_agrees(values):
    assert udf_values("uscc", values) == reference("uscc", values)


@FAST
@given(st.lists(st.one_of(cards, mutated(cards, "0123456789a 年"), NASTY, st.none()), min_size=1, max_size=60))
def test_bank_card_kernel_agrees(values):
    assert udf_values("bank_card", values) == reference("bank_card", values)


@FAST
@given(st.lists(st.one_of(mobiles, st.from_regex(r"\+86[- ]1[0-9]{10}", fullmatch=True),
                          mutated(mobiles, "0123456789+- "), NASTY, st.none()), min_size=1, max_size=60))
def test_mobile_kernel_agrees(values):
    assert udf_values("mobile", values) == reference("mobile", values)


@FAST
@given(st.lists(st.one_of(date_texts, mutated(date_texts, "0123456789-/年月日 "), NASTY, st.none()), min_size=1,
                max_size=60))
def test_date_text_kernel_agrees(values):
    lo, hi = date(1900, 1, 1), TODAY
    assert udf_values("date_text", values) == reference("date_text", values)
    assert udf_values("date_text", values, lo=lo, hi=hi) == reference("date_text", values, lo=lo, hi=hi)


def test_kernels_over_many_chunks_and_arrow_layouts():
    """Several DuckDB vectors with mixed lengths and NULLs, and Arrow arrays that are slices or
    large strings (offsets not at zero, 64-bit offsets) give the same answers as the references."""
    valid = [make_id("530102", date(1980, 1, 1) + timedelta(days=k)) for k in range(3000)]
    values = [None if k % 7 == 0 else (v[:17] + "0" if k % 5 == 0 else v) for k, v in enumerate(valid)]
    values += ["110105491231002", "", "11010519491231002X"] * 500
    expected = reference("id_card", values, today=TODAY)
    assert udf_values("id_card", values) == expected
    arr = pa.array(values)
    assert V.id_card_kernel(arr.slice(1001, 2500), today=TODAY).to_pylist() == expected[1001:3501]
    assert V.id_card_kernel(arr.cast(pa.large_string()), today=TODAY).to_pylist() == expected
    assert V.id_card_kernel(pa.chunked_array([arr[:10], arr[10:]]), today=TODAY).to_pylist() == expected
    dates = ["2024/2/29", "2023/2/29", None, "2023年12月31日"] * 1000
    assert (V.date_ymd_kernel(pa.array(dates).slice(3)).to_pylist()
            == [20231231] + [20240229, None, None, 20231231] * 999)


def test_kernel_functions_are_registered_once_per_configuration():
    con = duckdb.connect()
    first = V.register_udfs(con, today=TODAY)
    assert V.register_udfs(con, today=TODAY) == first  # no "already created" error
    other = V.register_udfs(con, today=TODAY, provinces=["99"])
    assert other["id_card"] != first["id_card"]
    query = f"SELECT {first['id_card']}(v), {other['id_card']}(v) FROM (SELECT ? AS v)"
    assert con.execute(query, [make_id("990105", date(1949, 12, 31))]).fetchone() == (False, True)


@FAST
@given(st.lists(st.tuples(st.one_of(id_cards(), mutated(id_cards()), NASTY, st.none()),
                          st.one_of(usccs, mutated(usccs, USCC_ALPHABET + "IOSVZa年"), NASTY, st.none()),
                          st.one_of(cards, NASTY, st.none()), st.one_of(id_cards(), NASTY, st.none())),
                min_size=1, max_size=40))
def test_combined_checks_bitmask_agrees(rows):
    """One call, several columns (a format may repeat, provinces configured): bit k is argument k's
    check, unset for NULL."""
    formats = ("id_card", "uscc", "bank_card", "id_card")
    con = duckdb.connect()
    name = V.register_checks(con, formats, today=TODAY, provinces=["99"])
    assert V.register_checks(con, formats, today=TODAY, provinces=["99"]) == name  # registered once
    cols = list(zip(*rows, strict=True))
    query = (f"SELECT {name}(a, b, c, d) FROM (SELECT unnest($a::VARCHAR[]) AS a, unnest($b::VARCHAR[]) AS b, "
             f"unnest($c::VARCHAR[]) AS c, unnest($d::VARCHAR[]) AS d, generate_subscripts($a::VARCHAR[], 1) AS i) "
             f"ORDER BY i")
    got = [r[0] for r in con.execute(query, dict(zip("abcd", map(list, cols), strict=True))).fetchall()]
    kw = [{"today": TODAY, "provinces": ["99"]}, {}, {}, {"today": TODAY, "provinces": ["99"]}]
    want = [sum(1 << k for k, (fmt, v) in enumerate(zip(formats, row, strict=True))
                if v is not None and V.PYTHON[fmt](v, **kw[k])) for row in rows]
    assert got == want
