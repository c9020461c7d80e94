"""Issue 15: XLSX as departments send it — a hidden first sheet is not read unless named, and
hidden sheets and hidden data rows are reported; hidden rows are still read (nothing is lost)."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook
from typer.testing import CliRunner

from tests.collect.conftest import HEADER
from yibenzhang.cli import app
from yibenzhang.collect import readers
from yibenzhang.collect.pipeline import ingest_file

COLUMNS = HEADER.strip().split(",")


def person(n: int, income: object = "12") -> list[object]:
    return [f"人{n}", f"1101011990030{n:05d}", "2023-01-01", income, "是", 3]


def workbook(tmp_path: Path, rows: int, hidden: set[int], *, hide_first: bool = True,
             name: str = "p.xlsx") -> Path:
    """A first sheet of codes hidden (as WPS leaves a 代码表), then the data sheet with `rows`
    people whose physical rows in `hidden` are hidden; row 4's income is bad (a rejected row)."""
    wb = Workbook()
    codes = wb.active
    codes.title = "代码表"
    codes.append(COLUMNS)
    codes.append(person(99999))
    if hide_first:
        codes.sheet_state = "hidden"
    ws = wb.create_sheet("人口")
    ws.append(COLUMNS)
    for n in range(rows):
        ws.append(person(n, "abc" if n + 2 == 4 else "12"))
    for r in hidden:
        ws.row_dimensions[r].hidden = True
    wb.create_sheet("旧版").sheet_state = "veryHidden"
    path = tmp_path / name
    wb.save(path)
    return path


def test_first_visible_sheet_is_read_and_hidden_rows_are_read_and_reported(world, people, tmp_path):
    path = workbook(tmp_path, 6, {3, 4, 7})
    report = ingest_file(world.db, world.actor("police_steward"), people, path)
    source = report.source
    assert source["sheet"] == "人口" and source["sheet_hidden"] is False
    assert source["hidden_sheets"] == ["代码表", "旧版"]
    assert (source["hidden_rows"], source["hidden_row_numbers"]) == (3, [3, 4, 7])
    # every row, hidden or not, is read: 6 = accepted + rejected (row 4, hidden, is the bad one)
    assert (report.rows_read, report.rows_accepted, report.rows_rejected) == (6, 5, 1)
    with world.db.read() as s:
        from yibenzhang.zone import service as zone

        batch = zone.list_batches(s, world.actor("police_steward"), people)[-1]
    assert batch["source"]["hidden_rows"] == 3 and batch["source"]["hidden_sheets"] == ["代码表", "旧版"]


def test_a_named_hidden_sheet_is_read_and_said_to_be_hidden(world, people, tmp_path):
    path = workbook(tmp_path, 2, set())
    report = ingest_file(world.db, world.actor("police_steward"), people, path, sheet="代码表")
    assert report.source["sheet"] == "代码表" and report.source["sheet_hidden"] is True
    assert report.rows_read == 1 and report.source["hidden_rows"] == 0


def test_no_hidden_content_reports_nothing_hidden(world, people, tmp_path):
    path = workbook(tmp_path, 2, set(), hide_first=False)
    report = ingest_file(world.db, world.actor("police_steward"), people, path)
    assert report.source["sheet"] == "代码表"  # the first sheet, visible
    assert report.source["hidden_sheets"] == ["旧版"] and report.source["hidden_rows"] == 0


def test_hidden_rows_scan_streams_across_chunk_boundaries(tmp_path, monkeypatch):
    hidden = {5, 17, 18, 200, 999, 1001}
    path = workbook(tmp_path, 1000, hidden)
    expected = sorted(hidden)
    assert readers.hidden_rows(path, "人口") == expected
    for size in (7, 64, 333):  # tags cut anywhere by a chunk's end
        monkeypatch.setattr(readers, "XML_CHUNK", size)
        assert readers.hidden_rows(path, "人口") == expected
    # rows without `r` (optional in OOXML) are numbered by counting, even after skimmed chunks
    bare = tmp_path / "bare.xlsx"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(bare, "w") as out:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/worksheets/sheet2.xml":
                data, changed = re.subn(rb'<row r="\d+"', b"<row", data)
                assert changed == 1001
            out.writestr(info, data)
    with zipfile.ZipFile(bare) as z:
        assert b'<row hidden="1"' in z.read("xl/worksheets/sheet2.xml")
    for size in (1 << 20, 64, 333):
        monkeypatch.setattr(readers, "XML_CHUNK", size)
        assert readers.hidden_rows(bare, "人口") == expected


def test_hidden_rows_above_the_data_or_without_values_are_not_data_rows(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["人口登记表"])
    ws.append(COLUMNS)
    ws.append(person(1))
    ws.append(person(2))
    for r in (1, 4, 6):  # the title, a data row, a row with no cells
        ws.row_dimensions[r].hidden = True
    path = tmp_path / "e.xlsx"
    wb.save(path)
    assert readers.hidden_rows(path, ws.title) == [1, 4, 6]
    source = readers.open_xlsx(path, None, COLUMNS)
    assert source.meta["header_row"] == 2
    assert sum(b.num_rows for b in source.batches) == 2
    assert (source.meta["hidden_rows"], source.meta["hidden_row_numbers"]) == (1, [4])


def test_many_hidden_rows_list_the_first_ten(tmp_path):
    path = workbook(tmp_path, 40, set(range(2, 42)))
    source = readers.open_xlsx(path, None, COLUMNS)
    rows = sum(b.num_rows for b in source.batches)
    assert rows == 40 and source.meta["hidden_rows"] == 40
    assert source.meta["hidden_row_numbers"] == list(range(2, 12))


def test_cli_says_what_was_hidden(world, people, tmp_path):
    path = workbook(tmp_path, 3, {2})
    out = CliRunner().invoke(app, ["collect", str(people), str(path), "--as", "police_steward"],
                             catch_exceptions=False)
    assert out.exit_code == 0, out.output
    assert "隐藏工作表" in out.stdout and "代码表、旧版" in out.stdout
    assert "隐藏行" in out.stdout and "hidden rows" in out.stdout and "rows 2" in out.stdout
    raw = CliRunner().invoke(app, ["collect", str(people), str(path), "--as", "police_steward", "--json"],
                             catch_exceptions=False)
    source = json.loads(raw.stdout)["source"]
    assert source["hidden_rows"] == 1 and source["hidden_row_numbers"] == [2]


def hidden_columns_book(tmp_path: Path, hide: list[str], *, width: int = len(COLUMNS)) -> Path:
    """The people sheet (visible) with the columns `hide` hidden (`<col hidden="1">`); columns
    past the header's are extra, with a number in row 2."""
    wb = Workbook()
    ws = wb.active
    ws.title = "人口"
    ws.append([*COLUMNS, *(f"附{i}" for i in range(width - len(COLUMNS)))])
    for n in range(3):
        ws.append(person(n) + [n] * (width - len(COLUMNS)))
    for letters in hide:
        first, _, last = letters.partition(":")
        ws.column_dimensions.group(first, last or first, hidden=True)
    path = tmp_path / "cols.xlsx"
    wb.save(path)
    return path


@pytest.mark.parametrize("threshold", [None, "0"], ids=["calamine", "stream"])
def test_hidden_columns_are_read_and_reported_with_their_letters_and_names(tmp_path, monkeypatch, threshold):
    if threshold is not None:
        monkeypatch.setenv("YBZ_XLSX_STREAM_BYTES", threshold)
    path = hidden_columns_book(tmp_path, ["B", "D:E", "Z"])  # Z: hidden, but no data there
    with zipfile.ZipFile(path) as z:
        sheet = z.read("xl/worksheets/sheet1.xml")
    assert b'hidden="1"' in sheet and b'min="4" max="5"' in sheet
    source = readers.open_xlsx(path, None, COLUMNS)
    rows = [r for b in source.batches for r in b.to_pylist()]
    assert source.meta["reader"] == ("calamine" if threshold is None else "stream")
    assert source.meta["hidden_columns"] == 3
    assert source.meta["hidden_column_letters"] == ["B", "D", "E"]
    assert source.meta["hidden_column_names"] == [COLUMNS[1], COLUMNS[3], COLUMNS[4]]
    # hidden columns are read like any other
    assert [r[COLUMNS[1]] for r in rows] == [person(n)[1] for n in range(3)]


def test_many_hidden_columns_list_the_first_ten(tmp_path):
    path = hidden_columns_book(tmp_path, ["A:L"], width=14)
    source = readers.open_xlsx(path, None, COLUMNS)
    assert source.meta["hidden_columns"] == 12
    assert source.meta["hidden_column_letters"] == list("ABCDEFGHIJ")
    assert source.meta["hidden_column_names"] == [*COLUMNS, "附0", "附1", "附2", "附3"]


def test_no_hidden_column_reports_none(tmp_path):
    source = readers.open_xlsx(hidden_columns_book(tmp_path, []), None, COLUMNS)
    assert (source.meta["hidden_columns"], source.meta["hidden_column_letters"]) == (0, [])


def test_hidden_columns_are_stored_with_the_batch_and_said_by_the_cli(world, people, tmp_path):
    path = hidden_columns_book(tmp_path, ["C"])
    report = ingest_file(world.db, world.actor("police_steward"), people, path)
    assert report.source["hidden_columns"] == 1 and report.rows_read == 3
    with world.db.read() as s:
        from yibenzhang.zone import service as zone

        batch = zone.list_batches(s, world.actor("police_steward"), people)[-1]
    assert batch["source"]["hidden_column_letters"] == ["C"]
    assert batch["source"]["hidden_column_names"] == [COLUMNS[2]]
    out = CliRunner().invoke(app, ["collect", str(people), str(path), "--as", "police_steward"],
                             catch_exceptions=False)
    assert out.exit_code == 0, out.output
    assert "隐藏列" in out.stdout and "hidden columns" in out.stdout and f"C {COLUMNS[2]}" in out.stdout
