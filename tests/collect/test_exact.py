"""Issue 15, property-based: any CSV that Python's csv module writes — every dialect, quoted line
breaks, BOM, UTF-8/GBK/GB18030 — collects exactly. For every generated file: rows read =
accepted + rejected; every accepted value equals an independent exact parse of its text (the
reference below, written from the rules in collect/coerce.py's docstring, not from its SQL);
every other row is in the reject file with its physical line, item, code and the value as sent;
nothing is rounded or truncated."""

from __future__ import annotations

import csv
import io
import math
import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.factories import published
from tests.s3_support import zone_file
from yibenzhang.catalog.schemas import ItemIn
from yibenzhang.collect.pipeline import ingest_file
from yibenzhang.errors import DomainError, ValidationFailed
from yibenzhang.zone import service as zone
from yibenzhang.zone.engine import get_engine

ITEMS = [("备注", "C"), ("证件号码", "C"), ("人数", "I"), ("金额", "Y"), ("数值", "N"), ("日期", "D"),
         ("时间", "T"), ("标志", "L")]
CODELIKE = {"证件号码"}
# The generated files exercise the readers and coercion, which do not touch the metadata store:
# explored on SQLite; the fixed-example tests around them run on both stores.
ONE_STORE = pytest.mark.parametrize("db", ["sqlite"], indirect=True)
HYPO = settings(max_examples=25, deadline=None, report_multiple_bugs=False,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])

# --- the reference: an independent exact parse of a value's text ---------------------------------

FULL = str.maketrans("０１２３４５６７８９．，－／：＋　", "0123456789.,-/:+ ")
TRUE, FALSE = {"是", "y", "yes", "true", "t", "1", "对"}, {"否", "n", "no", "false", "f", "0", "错"}
DAY = re.compile(r"(\d{4})(?:([-/.])(\d{1,2})\2(\d{1,2})|年(\d{1,2})月(\d{1,2})日|(\d{2})(\d{2}))")
CLOCK = re.compile(r"(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?|(\d{1,2})时(\d{1,2})分(\d{1,2})秒)")


class Reject(Exception):
    def __init__(self, code: str) -> None:
        self.code = code


def _ungroup(n: str) -> str:
    if "," not in n:
        return n
    if not re.fullmatch(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?", n):
        raise Reject("thousands_separator")
    return n.replace(",", "")


def _is_decimal(g: str) -> bool:
    return bool(re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)", g))


def _is_sci(g: str) -> bool:
    return bool(re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+", g))


def _day(text: str) -> tuple[date, str]:
    m = DAY.match(text)
    if not m:
        raise Reject("invalid_date")
    y = int(m.group(1))
    mo, d = next((m.group(a), m.group(b)) for a, b in ((3, 4), (5, 6), (7, 8)) if m.group(a) is not None)
    try:
        return date(y, int(mo), int(d)), text[m.end():]
    except ValueError:
        raise Reject("date_nonexistent") from None


def _moment(text: str) -> datetime:
    """A date with an optional time of day (the rest of the text must be exactly a time)."""
    day, rest = _day(text)
    if not rest:
        return datetime(day.year, day.month, day.day)
    c = CLOCK.fullmatch(rest)
    if not c:
        raise Reject("invalid_datetime")
    h, mi, sec, frac = (c.group(1), c.group(2), c.group(3), c.group(4)) if c.group(1) else \
        (c.group(5), c.group(6), c.group(7), None)
    try:
        return datetime(day.year, day.month, day.day, int(h), int(mi), int(sec or 0),
                        int((frac or "0").ljust(6, "0")))
    except ValueError:
        raise Reject("date_nonexistent") from None


def reference(text: str, letter: str, codelike: bool) -> Any:
    """The value `text` stands for under `letter`, None for no value; Reject(code) otherwise."""
    if letter == "C":
        if text == "":
            return None
        if codelike and re.fullmatch(r"[+-]?\d+(\.\d+)?[eE]\+\d+", text):
            raise Reject("scientific_notation")
        return text
    n = text.translate(FULL).strip(" ")
    if n == "":
        return None
    if letter == "L":
        if n.lower() in TRUE | FALSE:
            return n.lower() in TRUE
        raise Reject("invalid_logical")
    if letter == "I":
        g = _ungroup(n)
        if _is_sci(g):
            raise Reject("scientific_notation")
        if not _is_decimal(g):
            raise Reject("invalid_integer")
        value = Decimal(g)
        if value != value.to_integral_value():
            raise Reject("integer_fraction")
        if not -2**63 <= value < 2**63:
            raise Reject("integer_out_of_range")
        return int(value)
    if letter == "Y":
        n = re.sub(r" *元$", "", re.sub(r"^([+-]?) *[¥￥] *", r"\1", n))
        g = _ungroup(n)
        if _is_sci(g):
            raise Reject("scientific_notation")
        if not _is_decimal(g):
            raise Reject("invalid_amount")
        value = Decimal(g)
        if value != value.quantize(Decimal("0.01")):
            raise Reject("amount_scale")
        if abs(value) >= Decimal(10) ** 16:
            raise Reject("amount_out_of_range")
        return value
    if letter == "N":
        g = _ungroup(n)
        if not (_is_decimal(g) or _is_sci(g)):
            raise Reject("invalid_number")
        value = float(g)
        if math.isinf(value):
            raise Reject("number_out_of_range")
        if Decimal(repr(value)) != Decimal(g):
            raise Reject("number_precision")
        return value
    if letter == "D":
        try:
            day, rest = _day(n)
        except Reject as r:
            try:
                _moment(n)
            except Reject:
                raise r from None
            raise  # pragma: no cover - a moment always has a day
        if not rest:
            return day
        try:
            at = _moment(n)
        except Reject:
            raise Reject("invalid_date") from None
        if at.time() != datetime.min.time():
            raise Reject("date_has_time")
        return day
    if letter == "T":
        try:
            return _moment(n)
        except Reject as r:
            raise Reject("date_nonexistent" if r.code == "date_nonexistent" else "invalid_datetime") from None
    raise AssertionError(letter)


# --- generated values: valid renderings, near-misses, Excel-mangled values, any text --------------

def _fullwidth(s: str) -> str:
    return s.translate(str.maketrans("0123456789.,-", "０１２３４５６７８９．，－"))


def _grouped(n: int) -> str:
    return f"{n:,}"


def values(alphabet: st.SearchStrategy[str]) -> dict[str, st.SearchStrategy[str]]:
    junk = st.text(alphabet, max_size=12)
    pad = st.sampled_from(["", " ", "  "])
    ints = st.integers(-(2**66), 2**66)
    decimals = st.decimals(allow_nan=False, allow_infinity=False, min_value=-10**18, max_value=10**18)
    dates = st.one_of(
        st.dates().map(lambda d: d.strftime(st_fmt(d))),
        st.tuples(st.integers(0, 9999), st.integers(0, 13), st.integers(0, 32)).map(
            lambda t: f"{t[0]:04d}-{t[1]:02d}-{t[2]:02d}"),
        st.datetimes().map(lambda d: d.isoformat(sep=" ")),
        st.datetimes().map(lambda d: d.strftime("%Y/%m/%d %H:%M")),
        st.dates().map(lambda d: f"{d.year}年{d.month}月{d.day}日"),
    )
    sci = st.floats(1e11, 1e19).map(lambda f: f"{f:.5E}".replace("E+0", "E+"))
    common = [junk, st.just("")]
    return {
        "C": st.text(alphabet, max_size=20),
        "codes": st.one_of(st.text(alphabet, max_size=18), sci, st.integers(0, 10**18).map(str)),
        "I": st.one_of(ints.map(str), ints.map(_grouped), ints.map(lambda n: _fullwidth(str(n))),
                       ints.map(lambda n: f"{n}.0"), decimals.map(str), sci, st.tuples(pad, ints, pad).map(
                           lambda t: f"{t[0]}{t[1]}{t[2]}"), *common),
        "Y": st.one_of(decimals.map(str), decimals.map(lambda d: f"¥{d:,}"), decimals.map(lambda d: f"{d}元"),
                       st.integers(-10**17, 10**17).map(lambda n: f"{n / 100:.2f}"), sci, *common),
        "N": st.one_of(st.floats(allow_nan=False).map(repr), decimals.map(str),
                       st.integers(-10**25, 10**25).map(str), st.floats(allow_nan=False).map(lambda f: f"{f:,}"),
                       *common),
        "D": st.one_of(dates, *common),
        "T": st.one_of(dates, *common),
        "L": st.one_of(st.sampled_from(sorted(TRUE | FALSE | {"TRUE", "No", "是的", "2"})), *common),
    }


def st_fmt(d: date) -> str:
    return ["%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d", "%Y-%m-%d 00:00:00"][d.toordinal() % 5]


def alphabet(codec: str) -> st.SearchStrategy[str]:
    # any character the encoding can write, line breaks and CSV's own characters included;
    # no NUL, surrogates or private-use characters (GBK and GB18030 map those differently)
    return st.characters(codec=codec, exclude_categories=("Cs", "Co"), exclude_characters="\x00\u20ac")


@st.composite
def files(draw: st.DrawFn) -> tuple[str, list[list[str]], dict[str, Any]]:
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "gbk", "gb18030"]))
    per = values(alphabet("gbk" if encoding == "gbk" else "utf-8"))
    columns = {"备注": per["C"], "证件号码": per["codes"], "人数": per["I"], "金额": per["Y"], "数值": per["N"],
               "日期": per["D"], "时间": per["T"], "标志": per["L"]}
    rows = draw(st.lists(st.tuples(*columns.values()).map(list), min_size=1, max_size=12))
    if encoding == "gbk":  # GBK has the full-width yuan sign only
        rows = [[v.replace("¥", "￥") for v in row] for row in rows]
    dialect = {"delimiter": draw(st.sampled_from([",", ";", "\t", "|"])),
               "lineterminator": draw(st.sampled_from(["\r\n", "\n"])),
               "quoting": draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))}
    return encoding, rows, dialect


def _breaks(text: str) -> int:
    return text.count("\n") + text.count("\r") - text.count("\r\n")


@pytest.fixture
def exact_resource(world) -> int:
    return published(world, items=[ItemIn(name=n, data_type=t) for n, t in ITEMS], update_cycle="不定期")


@ONE_STORE
@HYPO
@given(generated=files())
def test_any_csv_python_writes_collects_exactly(world, exact_resource, tmp_path_factory, generated):
    encoding, rows, dialect = generated
    out = io.StringIO(newline="")
    writer = csv.writer(out, **dialect)
    writer.writerow([n for n, _ in ITEMS])
    header_lines = _breaks(out.getvalue())
    line = header_lines + 1
    expected: list[tuple[int, list[str]]] = []
    for row in rows:
        start = len(out.getvalue())
        writer.writerow(row)
        if any(v != "" for v in row):  # a row of empty values is a blank line, not a record
            expected.append((line, row))
        line += _breaks(out.getvalue()[start:])
    # A file Python's own csv reader reads back as written (its writer leaves a bare CR unquoted
    # when the line terminator is LF: no reader can take that back).
    assume(list(csv.reader(io.StringIO(out.getvalue(), newline=""), delimiter=dialect["delimiter"]))[1:] == rows)
    path = tmp_path_factory.mktemp("exact") / "dept.csv"
    path.write_bytes(out.getvalue().encode(encoding))
    assume(expected)

    accepted, rejected, failures, converted = [], {}, {}, {}
    for at, row in expected:
        typed, codes = {}, {}
        for (name, letter), text in zip(ITEMS, row, strict=True):
            try:
                typed[name] = reference(text, letter, name in CODELIKE)
                converted[name] = converted.get(name, 0) + (typed[name] is not None)
            except Reject as r:
                codes[name] = r.code
                failures[name] = failures.get(name, 0) + 1
        if codes:
            rejected[at] = (codes, row)
        else:
            accepted.append((at, typed))
    mismatch = {n for n, letter in ITEMS if letter != "C" and failures.get(n, 0) >= 2 and not converted.get(n)}

    steward = world.actor("police_steward")
    if mismatch:  # a whole column of another type: the file is refused, nothing published
        with pytest.raises(ValidationFailed) as err:
            ingest_file(world.db, steward, exact_resource, path, mode="全量")
        assert {e.field.split(".", 1)[1] for e in err.value.errors if e.code == "type_mismatch"} == mismatch
        return
    report = ingest_file(world.db, steward, exact_resource, path, mode="全量")
    assert report.rows_read == len(expected) == report.rows_accepted + report.rows_rejected
    assert (report.rows_accepted, report.rows_rejected) == (len(accepted), len(rejected))

    with world.db.read() as s:
        files_ = [str(p) for p in zone.batch_files(s, report.batch_id)]
    got = get_engine().sql(f"SELECT * FROM read_parquet({files_!r}) ORDER BY _row").to_pylist()
    assert [r["_row"] for r in got] == [at for at, _ in accepted]
    for row, (_, want) in zip(got, accepted, strict=True):
        for name, _letter in ITEMS:
            assert row[name] == want[name], (name, row[name], want[name])
            if isinstance(want[name], Decimal):  # no rounding hidden by a numeric comparison
                assert Decimal(row[name]).normalize() == want[name].normalize()

    lines = []
    if report.reject_file:
        raw = zone_file(report.reject_file).read_bytes().decode("utf-8-sig")
        lines = list(csv.DictReader(io.StringIO(raw, newline="")))
    got_rejects = {(int(r["行号"]), r["信息项"]): (r["代码"], r["原值"], r["原因"], r["reason"]) for r in lines}
    want_rejects = {(at, name): (code, row[[n for n, _ in ITEMS].index(name)])
                    for at, (codes, row) in rejected.items() for name, code in codes.items()}
    assert {k: v[:2] for k, v in got_rejects.items()} == want_rejects
    assert all(zh and en for _c, _v, zh, en in got_rejects.values())


def test_malformed_csv_names_the_line(world, exact_resource, tmp_path):
    path = tmp_path / "bad.csv"
    head = ",".join(n for n, _ in ITEMS)
    path.write_text(f'{head}\n甲,1,2,3,4,2023-01-01,2023-01-01,是\n"乙\n丙",1,2,3,4,,,\n丁,"1,2,3,4,,,\n',
                    encoding="utf-8")
    with pytest.raises(DomainError) as err:
        ingest_file(world.db, world.actor("police_steward"), exact_resource, path)
    assert err.value.code == "csv_invalid" and err.value.params["line"] == 5


def test_ragged_rows_are_rejected_per_row_with_their_line(world, exact_resource, tmp_path):
    path = tmp_path / "ragged.csv"
    head = ",".join(n for n, _ in ITEMS)
    path.write_text(f'{head}\r\n"多\r\n行",1,2,3,4,,,\r\n短,1\r\n\r\n长,1,2,3,4,,,,,\r\n好,1,2,3,4,,,\r\n',
                    encoding="utf-8")
    report = ingest_file(world.db, world.actor("police_steward"), exact_resource, path, mode="全量")
    assert (report.rows_read, report.rows_accepted, report.rows_rejected) == (4, 2, 2)
    raw = zone_file(report.reject_file).read_bytes().decode("utf-8-sig")
    assert {(r["行号"], r["代码"]) for r in csv.DictReader(io.StringIO(raw, newline=""))} == {
        ("4", "row_columns"), ("6", "row_columns")}
    with world.db.read() as s:
        files_ = [str(p) for p in zone.batch_files(s, report.batch_id)]
    rows = get_engine().connect().sql(f"SELECT 备注, _row FROM read_parquet({files_!r}) ORDER BY _row").fetchall()
    assert rows == [("多\r\n行", 2), ("好", 7)]


@pytest.mark.parametrize(("letter", "text", "code"), [
    ("I", "2.5", "integer_fraction"), ("I", "5.20102E+17", "scientific_notation"),
    ("I", "9223372036854775808", "integer_out_of_range"), ("I", "1,23", "thousands_separator"),
    ("Y", "12.345", "amount_scale"), ("N", "12345678901234567890", "number_precision"),
    ("D", "2023-02-30", "date_nonexistent"), ("D", "2023-01-01 08:00", "date_has_time"),
])
def test_reference_codes_of_the_issue(letter, text, code):
    with pytest.raises(Reject) as r:
        reference(text, letter, False)
    assert r.value.code == code


def test_decimal_reference_is_exact():
    assert reference("３", "I", False) == 3 and reference("1,234.0", "I", False) == 1234
    assert reference("¥1,234.50", "Y", False) == Decimal("1234.50")
    assert reference("2023年5月1日", "D", False) == date(2023, 5, 1)
    with pytest.raises((Reject, InvalidOperation)):
        reference("1e400", "N", False)


# --- XLSX as departments send it: typed cells, numbers that were codes, dates as serials --------

XLSX_ITEMS = [("备注", "C"), ("证件号码", "C"), ("人数", "I"), ("金额", "Y"), ("数值", "N"), ("日期", "D")]


def _cell_reference(cell: Any, letter: str, codelike: bool) -> Any:
    """What a typed cell stands for, or Reject: a number of more than 15 digits lost its last ones
    (Excel keeps 15), so a code or integer refuses it; a number item takes the double as stored."""
    if cell is None or cell == "":
        return None
    if isinstance(cell, str):
        return reference(cell, letter, codelike)
    if isinstance(cell, datetime | date):
        if letter != "D":
            return reference(cell.isoformat(sep=" ") if isinstance(cell, datetime) else cell.isoformat(),
                             letter, codelike)
        if isinstance(cell, datetime) and cell.time() != datetime.min.time():
            raise Reject("date_has_time")
        return cell if not isinstance(cell, datetime) else cell.date()
    # The file holds what openpyxl writes: the double to 16 significant digits (its safe_string).
    f = float(format(float(cell), ".16g")) if isinstance(cell, float) else float(cell)
    if letter == "N":
        return f
    if f.is_integer() and abs(f) >= 1e15 and letter in ("C", "I", "Y"):
        if letter == "C" and not codelike:
            return format(Decimal(repr(f)).normalize(), "E")
        raise Reject("scientific_notation")
    text = str(int(f)) if f.is_integer() else repr(f)
    return reference(text, letter, codelike)


def cells(letter: str, codes: bool = False) -> st.SearchStrategy[Any]:
    text = st.text(alphabet("utf-8").filter(lambda c: c.isprintable()), max_size=10)
    numbers = st.one_of(st.integers(-10**18, 10**18), st.floats(-1e18, 1e18, allow_nan=False),
                        st.decimals(-10**6, 10**6, places=3).map(float))
    if letter == "D":
        return st.one_of(st.dates(date(1900, 3, 1), date(9999, 1, 1)),
                         st.datetimes(datetime(1900, 3, 1), datetime(9999, 1, 1))
                         .map(lambda d: d.replace(microsecond=0)),
                         text, st.none())
    if codes:
        return st.one_of(st.integers(0, 10**18), st.from_regex(r"0[0-9]{5,17}", fullmatch=True), text, st.none())
    if letter == "N":  # a number item takes the double as stored; Excel stores at most 15 digits
        # (a longer integer in the XML is parsed by the reader to a nearby double, not ours to check)
        return st.one_of(st.integers(-10**15 + 1, 10**15 - 1), st.floats(-1e15, 1e15, allow_nan=False),
                         text, st.none())
    return st.one_of(numbers, text, st.none())


@ONE_STORE
@HYPO
@given(rows=st.lists(st.tuples(cells("C"), cells("C", codes=True), cells("I"), cells("Y"), cells("N"), cells("D")),
                     min_size=1, max_size=10))
def test_xlsx_cells_collect_exactly(world, tmp_path_factory, rows):
    import openpyxl

    rid = published(world, items=[ItemIn(name=n, data_type=t) for n, t in XLSX_ITEMS], update_cycle="不定期")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["某局数据报送表"])  # a title row above the header, as departments send
    ws.append([n for n, _ in XLSX_ITEMS])
    for row in rows:
        ws.append(list(row))
        for cell in ws[ws.max_row]:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                # Text typed as "=0" is text: openpyxl would otherwise write a formula with no
                # cached value, which no department's file holds (Excel stores the result).
                cell.data_type = "s"
    path = tmp_path_factory.mktemp("x") / "dept.xlsx"
    wb.save(path)
    expected, failures, converted = [], {}, {}
    for i, row in enumerate(rows):
        if all(c is None or c == "" for c in row):
            continue
        typed, codes = {}, {}
        for (name, letter), cell in zip(XLSX_ITEMS, row, strict=True):
            try:
                typed[name] = _cell_reference(cell, letter, name in CODELIKE)
                converted[name] = converted.get(name, 0) + (typed[name] is not None)
            except Reject as r:
                codes[name] = r.code
                failures[name] = failures.get(name, 0) + 1
        expected.append((i + 3, typed, codes))
    mismatch = {n for n, letter in XLSX_ITEMS if letter != "C" and failures.get(n, 0) >= 2 and not converted.get(n)}
    steward = world.actor("police_steward")
    if mismatch:
        with pytest.raises(ValidationFailed):
            ingest_file(world.db, steward, rid, path, mode="全量")
        return
    report = ingest_file(world.db, steward, rid, path, mode="全量")
    accepted = [(at, typed) for at, typed, codes in expected if not codes]
    assert report.rows_read == len(expected) and report.rows_accepted == len(accepted)
    with world.db.read() as s:
        files_ = [str(p) for p in zone.batch_files(s, report.batch_id)]
    got = get_engine().sql(f"SELECT * FROM read_parquet({files_!r}) ORDER BY _row").to_pylist()
    assert [r["_row"] for r in got] == [at for at, _ in accepted]
    for row, (_, want) in zip(got, accepted, strict=True):
        for name, _letter in XLSX_ITEMS:
            assert row[name] == want[name], (name, row[name], want[name])
    lines = []
    if report.reject_file:
        raw = zone_file(report.reject_file).read_bytes().decode("utf-8-sig")
        lines = list(csv.DictReader(io.StringIO(raw, newline="")))
    assert {(int(r["行号"]), r["信息项"], r["代码"]) for r in lines} == {
        (at, name, code) for at, _t, codes in expected for name, code in codes.items()}
