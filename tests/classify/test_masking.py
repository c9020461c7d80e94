"""Masking operators on edge values: NULL, empty, short strings, 15-digit IDs, full-width digits,
mixed whitespace; pseudonyms stable per key; SM4 round trip. Pure DuckDB (no metadata store)."""

from __future__ import annotations

import base64
from datetime import date

import duckdb
import pyarrow as pa
import pytest

from yibenzhang import crypto
from yibenzhang.classify import masking as M


def run(spec: str, values: list, sql_type: str = "VARCHAR", *, purpose: str = "共享",
        secret: str = "s1") -> list:
    arrow_type = {"VARCHAR": pa.string(), "DATE": pa.date32(), "DOUBLE": pa.float64()}[sql_type]
    table = pa.table({"v": pa.array(values, arrow_type)})
    sql = f"SELECT {M.parse_spec(spec).build('v', sql_type, purpose)} AS x FROM t"
    return M.execute(sql, secret=secret, tables={"t": table}).column("x").to_pylist()


FW_ID = "１１０１０１１９９００３０７１２３４"  # full-width digits


def test_keep_id_card_six_and_four_on_edge_values():
    values = ["110101199003071234", FW_ID, " 110101 19900307\u30001234\t", "11010119900307123X",
              "110101900307123", None, "", "12345", "1", "1234567890"]
    assert run("keep(6,4)", values) == [
        "110101********1234", "110101********1234", "110101********1234", "110101********123X",
        "110101*****7123",  # 15-digit legacy ID: 6 + 5 masked + 4
        None, "", "1****", "*", "1*********"]  # ≤ m+n characters: only the first one kept


def test_keep_mobile_and_bank_card():
    assert run("keep(3,4)", ["13812345678", "138 1234 5678", "+86 13812345678", "1381234"]) == [
        "138****5678", "138****5678", "+86*******5678", "1******"]
    assert run("keep(6,4)", ["6222021234567890123", "6222 0212 3456 7890 123"]) == [
        "622202*********0123", "622202*********0123"]


def test_keep_surname_single_and_compound():
    values = ["张伟", "王小明", "欧阳娜娜", "司马相如", "欧阳", "李", "", None, " 诸葛亮\u3000", "买买提·艾力"]
    assert run("keep_surname", values) == [
        "张*", "王**", "欧阳**", "司马**", "欧*", "*", "", None, "诸葛*", "买*****"]


def test_keep_email():
    assert run("keep_email", ["zhang.san@example.cn", "a@b.cn", "no-at-sign", "@x.cn", "", None]) == [
        "z***@example.cn", "a***@b.cn", "***", "***", "", None]


def test_generalize_date_to_year_for_dates_and_text():
    assert run("generalize_date", [date(1990, 3, 7), None], "DATE") == ["1990", None]
    assert run("generalize_date", ["1990-03-07", "1990年3月7日", "１９９０/03/07", "19900307", "不详", "", None]) == [
        "1990", "1990", "1990", "1990", None, None, None]


def test_generalize_address_to_district():
    values = ["云岭省春城市五华区人民路12号3栋", "北京市海淀区中关村大街1号", "广东省东莞市南城街道莞太路5号",
              "云岭省安宁县连然镇金方路8号", "内蒙古自治区呼和浩特市回民区", "人民路12号", "", None, "云南省"]
    assert run("generalize_address", values) == [
        "云岭省春城市五华区", "北京市海淀区", "广东省东莞市", "云岭省安宁县", "内蒙古自治区呼和浩特市回民区",
        "***", "", None, "云南省"]


def test_round_coordinates_numbers_and_text():
    assert run("round_coordinates", [102.7123456, 25.0401, None], "DOUBLE") == [102.712, 25.04, None]
    assert run("round_coordinates", ["102.7123456,25.0401239", "E102.71, N25.04", None]) == [
        "102.712,25.040", "E102.71, N25.04", None]


def test_redact_keeps_null_only():
    assert run("redact", ["张三", "", None]) == ["***", "***", None]


def test_pseudonym_stable_per_key_and_cleaned_before_hashing():
    values = ["110101199003071234", FW_ID, " 110101199003071234\u3000", "110101199003075678", None]
    first = run("pseudonym", values)
    assert first == run("pseudonym", values)  # stable across runs (fresh connections)
    assert first[0] == first[1] == first[2] != first[3] and first[4] is None
    key = M.pseudonym_key("共享", "s1")
    assert first[0] == crypto.hmac_sm3_hex(key, b"110101199003071234")  # HMAC-SM3 exactly
    assert run("pseudonym", values, secret="s2")[0] != first[0]  # another platform secret
    assert run("pseudonym", values, purpose="共享:grant-7")[0] != first[0]  # another purpose


def test_pseudonym_joins_across_tables():
    con = duckdb.connect()
    a = pa.table({"id": ["110101199003071234", "110101199003075678"], "x": [1, 2]})
    b = pa.table({"id": ["１１０１０１１９９００３０７１２３４"], "y": [9]})
    op = M.parse_spec("pseudonym")
    sql = (f"SELECT p.x, q.y FROM (SELECT {op.build('id', 'VARCHAR', 'j')} AS k, x FROM a) p "
           f"JOIN (SELECT {op.build('id', 'VARCHAR', 'j')} AS k, y FROM b) q USING (k)")
    assert M.execute(sql, con=con, secret="s", tables={"a": a, "b": b}).to_pylist() == [{"x": 1, "y": 9}]


def test_pseudonym_over_many_chunks_with_nulls_and_repeats():
    values = [None if i % 7 == 0 else f"1101011990{i % 500:08d}" for i in range(5000)]
    out = run("pseudonym", values)
    key = M.pseudonym_key("共享", "s1")
    for i in (1, 2, 2047, 2048, 2049, 4999):
        assert out[i] == crypto.hmac_sm3_hex(key, values[i].encode())
    assert [o is None for o in out] == [v is None for v in values]


@pytest.mark.parametrize("spec", ["sm4", "sm4_deterministic"])
def test_sm4_round_trip(spec):
    values = ["110101199003071234", "张三", "", None, "x" * 100, "云岭省春城市五华区人民路12号"] * 500
    table = pa.table({"v": values})
    enc = M.parse_spec(spec).build("v", "VARCHAR", "p")
    con = duckdb.connect()
    out = M.execute(f"SELECT {enc} AS c FROM t", con=con, secret="s1", tables={"t": table}).column("c")
    cipher = out.to_pylist()
    assert [c is None for c in cipher] == [v is None for v in values]
    assert "110101199003071234" not in "".join(c for c in cipher if c)
    # Back through SQL, and through crypto.sm4_decrypt (the same layout) for a key holder.
    back = M.execute(f"SELECT {M.sm4_decrypt_sql('c', 'p')} AS v FROM t2", con=con, secret="s1",
                     tables={"t2": pa.table({"c": out})}).column("v").to_pylist()
    assert back == values
    key = M.sm4_column_key("p", "s1")
    assert crypto.sm4_decrypt(key, base64.b64decode(cipher[1])).decode() == "张三"
    same = cipher[0] == cipher[6]
    assert same is (spec == "sm4_deterministic")  # random IV hides equal values; SIV keeps them equal
    with pytest.raises(ValueError):
        crypto.sm4_decrypt(M.sm4_column_key("p", "another"), base64.b64decode(cipher[0]))


def test_sm4_decrypt_refuses_another_key():
    cipher = run("sm4", ["110101199003071234"])
    con = duckdb.connect()
    with pytest.raises(duckdb.Error, match="another key"):
        M.execute(f"SELECT {M.sm4_decrypt_sql('c', 'p')} AS v FROM t", con=con, secret="other",
                  tables={"t": pa.table({"c": cipher})})


def test_keys_never_in_sql():
    sql = M.parse_spec("pseudonym").build("v", "VARCHAR", "共享") + M.parse_spec("sm4").build("v", "VARCHAR", "共享")
    for key in (M.pseudonym_key("共享", "s1"), M.sm4_column_key("共享", "s1")):
        assert key.hex() not in sql


def test_spec_parsing_and_registry():
    assert str(M.parse_spec("keep(6, 4)")) == "keep(6,4)"
    assert M.parse_spec("deny").denied
    for bad in ("keep(1)", "nothing", "redact(3)", "deny(1)", "keep(6,4"):
        with pytest.raises(M.SpecInvalid):
            M.parse_spec(bad)
    assert M.parse_spec("deny").strictness > M.parse_spec("redact").strictness > \
        M.parse_spec("pseudonym").strictness > M.parse_spec("keep(6,4)").strictness > M.parse_spec("none").strictness
    # a plugin's operator (hook ybz_masking_operators) is available to every policy once registered
    from yibenzhang import plugins
    from yibenzhang.hooks import hookimpl

    class UpperPlugin:
        @hookimpl
        def ybz_masking_operators(self):
            return [M.Operator("upper_test", lambda v, t, p: f"upper({v})", 10)]

    with pytest.raises(M.SpecInvalid):
        M.parse_spec("upper_test")
    plugins.register(UpperPlugin(), name="upper_test")
    try:
        assert run("upper_test", ["ab"]) == ["AB"] and "upper_test" in M.OPERATORS
    finally:
        plugins.unregister("upper_test")
    assert "upper_test" not in M.OPERATORS
