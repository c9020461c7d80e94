"""Issue 15 §3: an XLSX is streamed — only the top rows are held for the header, the data is
turned into batches as the sheet's rows come — with physical row numbers wherever the data starts."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook

from yibenzhang.collect import readers

NAMES = ["姓名", "年龄"]


def rows_of(source: readers.Source) -> list[dict[str, object]]:
    return [r for b in source.batches for r in b.to_pylist()]


def test_a_sheet_starting_below_and_right_keeps_physical_row_numbers(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws["B2"], ws["C2"] = "姓名", "年龄"  # row 1 and column A empty
    ws["B3"], ws["C3"] = "张三", 30
    ws["B5"], ws["C5"] = "李四", 40
    ws.row_dimensions[5].hidden = True
    path = tmp_path / "below.xlsx"
    wb.save(path)
    source = readers.open_xlsx(path, None, NAMES)
    assert source.meta["header_row"] == 2
    assert rows_of(source) == [{"列1": None, "姓名": "张三", "年龄": "30", "_row": 3},
                               {"列1": None, "姓名": "李四", "年龄": "40", "_row": 5}]
    assert (source.meta["hidden_rows"], source.meta["hidden_row_numbers"]) == (1, [5])


def test_rows_come_in_batches_after_a_header_merged_below_the_top_rows(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "HEADER_ROWS", 1)
    monkeypatch.setattr(readers, "BATCH_ROWS", 4)
    wb = Workbook()
    ws = wb.active
    ws.append(["姓名", "年龄"])
    ws.merge_cells("A1:A3")  # the header ends on row 3, below the one top row read for it
    ws.append([None, None])
    ws.append([None, "（岁）"])
    for n in range(10):
        ws.append([f"人{n}", n] if n != 5 else [None, None])  # row 9 is empty: no data
    path = tmp_path / "tall.xlsx"
    wb.save(path)
    source = readers.open_xlsx(path, None, NAMES)
    assert source.columns == NAMES and source.meta["header_row"] == 1
    sizes = []
    got = []
    for b in source.batches:
        sizes.append(b.num_rows)
        got += [(r["姓名"], r["_row"]) for r in b.to_pylist()]
    assert sizes == [4, 3, 2]  # 4 rows per batch, the empty one dropped from the second
    assert got == [(f"人{n}", n + 4) for n in range(10) if n != 5]
    assert source.position() == (9, path.stat().st_size)


def test_position_follows_the_rows_read(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "BATCH_ROWS", 100)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("人口")
    ws.append(NAMES)
    for n in range(999):
        ws.append([f"人{n}", n])
    path = tmp_path / "p.xlsx"
    wb.save(path)
    source = readers.open_xlsx(path, None, NAMES)
    total = path.stat().st_size
    assert source.position()[1] < total * 0.06  # the header's 50 rows of 1,000
    next(source.batches)
    rows, nbytes = source.position()
    assert rows == 100 and 0.1 * total <= nbytes <= 0.2 * total
    assert sum(b.num_rows for b in source.batches) == 899
    assert source.position() == (999, total)


def test_an_empty_sheet_has_no_rows(tmp_path: Path):
    path = tmp_path / "empty.xlsx"
    Workbook().save(path)
    source = readers.open_xlsx(path, None, NAMES)
    assert rows_of(source) == [] and source.position()[0] == 0
