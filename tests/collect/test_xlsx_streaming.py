"""Issue 15 §3: a sheet whose XML is over the threshold is read by the streaming cell reader, whose
memory does not grow with the sheet; it gives the same cell values as calamine, cell by cell."""

from __future__ import annotations

import re
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook
from python_calamine import CalamineWorkbook

from yibenzhang.collect import readers, xlsx_stream
from yibenzhang.errors import DomainError

NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
CUSTOM = {164: "yyyy/mm/dd", 165: "[h]:mm:ss", 166: '"y"0.00', 167: "[Red]0.00", 168: "hh:mm",
          169: 'yyyy"年"m"月"d"日"', 170: "[$-F800]dddd, mmmm dd, yyyy", 171: "0.00E+00", 172: "@",
          173: "[mm]:ss", 174: "h:mm AM/PM", 175: "General;yyyy"}
# cell styles (cellXfs) by their number format: general, built-in dates/times/elapsed, custom ones
STYLES = [0, 14, 22, 45, 46, 47, 20, 49, 2, *CUSTOM]
SERIALS = ["45000", "45000.5", "45000.123456789", "0.25", "0.99999999999", "1.5", "1", "59", "60", "61",
           "-1", "0", "100000", "12345678", "1.00000578", "3"]
STRINGS = ["0012", "<t>\n d\t</t>", '<t xml:space="preserve">  e　</t>', "<t>　全角空格　</t>",
           '<r><t>ab</t></r><r><rPr><b/></rPr><t xml:space="preserve"> c</t></r>',
           "<t>x&amp;y &#x4e00;&lt;</t><rPh sb=\"0\" eb=\"1\"><t>PH</t></rPh>", "<t>  spaced  </t>", "<t></t>"]


def xlsx(path: Path, cells: list[str], *, date1904: bool = False, extra: str = "", tail: str = "",
         prefix: str = "") -> Path:
    """A workbook written part by part: one sheet of `cells` rows (raw <row> XML), the styles
    above, and the shared strings STRINGS."""
    def part(body: str) -> str:
        return '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + body

    fmts = "".join(f'<numFmt numFmtId="{i}" formatCode="{c.replace(chr(34), "&quot;")}"/>' for i, c in CUSTOM.items())
    xfs = "".join(f'<xf numFmtId="{i}" fontId="0" fillId="0" borderId="0" applyNumberFormat="1"/>' for i in STYLES)
    sst = "".join(f"<si>{s if s.startswith('<') else f'<t>{s}</t>'}</si>" for s in STRINGS)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", part(
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
            'spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="'
            'application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'))
        z.writestr("_rels/.rels", part(
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'))
        z.writestr("xl/workbook.xml", part(
            f'<workbook xmlns="{NS}" xmlns:r="{REL}">' + ('<workbookPr date1904="1"/>' if date1904 else "")
            + '<sheets><sheet name="数据" sheetId="1" r:id="rId1"/></sheets></workbook>'))
        z.writestr("xl/_rels/workbook.xml.rels", part(
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{REL}/styles" Target="styles.xml"/>'
            f'<Relationship Id="rId3" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/></Relationships>'))
        z.writestr("xl/styles.xml", part(
            f'<styleSheet xmlns="{NS}"><numFmts count="{len(CUSTOM)}">{fmts}</numFmts><fonts count="1"><font/>'
            '</fonts><fills count="1"><fill/></fills><borders count="1"><border/></borders>'
            f'<cellXfs count="{len(STYLES)}">{xfs}</cellXfs></styleSheet>'))
        strings = f'<sst xmlns="{NS}" count="{len(STRINGS)}">{sst}</sst>'
        if prefix:  # the shared strings too (their XML path)
            strings = re.sub(r"<(/?)(?!/)(\w+)", rf"<\1{prefix}:\2", strings).replace("xmlns=", f"xmlns:{prefix}=", 1)
        z.writestr("xl/sharedStrings.xml", part(strings))
        sheet = f'<worksheet xmlns="{NS}">{extra}<sheetData>' + "".join(cells) + f"</sheetData>{tail}</worksheet>"
        if prefix:  # every element of the sheet in a prefixed namespace (<x:row>), as some tools write
            sheet = re.sub(r"<(/?)(\w+)", rf"<\1{prefix}:\2", sheet).replace("xmlns=", f"xmlns:{prefix}=", 1)
        z.writestr("xl/worksheets/sheet1.xml", part(sheet))
    return path


def kinds_sheet() -> list[str]:
    """Every serial under every style (a row per style), then a row per other value kind."""
    rows = []
    for r, _ in enumerate(STYLES, start=1):
        rows.append(f'<row r="{r}">' + "".join(f'<c r="{xlsx_stream.column_letters(c)}{r}" s="{r - 1}"><v>{v}</v></c>'
                                               for c, v in enumerate(SERIALS)) + "</row>")
    r = len(STYLES) + 2  # a row missing from the XML before these
    other = [
        '<c r="A{r}" t="s"><v>0</v></c>', '<c r="B{r}" t="s"><v>1</v></c>', '<c r="C{r}" t="s"><v>2</v></c>',
        '<c r="D{r}" t="inlineStr"><is><t>007</t></is></c>',
        '<c r="E{r}" t="inlineStr"><is><r><t>a</t></r><r><t xml:space="preserve"> b</t></r></is></c>',
        '<c r="F{r}" t="b"><v>1</v></c>', '<c r="G{r}" t="b"><v>0</v></c>',
        '<c r="H{r}" t="e"><v>#DIV/0!</v></c>', '<c r="I{r}" t="str"><f>A1&amp;""</f><v>0012</v></c>',
        '<c r="J{r}"><f>1+1</f><v>2</v></c>', '<c r="K{r}" s="1"><f>TODAY()</f><v>45123</v></c>',
        '<c r="L{r}"><f>1/0</f><v></v></c>', '<c r="M{r}" s="3"/>', '<c r="N{r}" t="s"><v>3</v></c>',
        '<c r="O{r}" t="s"><v>4</v></c>', '<c r="P{r}" t="d"><v>2023-01-02T03:04:05.123</v></c>',
        '<c r="Q{r}" t="d"><v>2023-01-02</v></c>', '<c r="S{r}"><v>123456789012345678</v></c>',
        '<c r="T{r}"><v>0.1</v></c>', '<c r="U{r}"><v>1E3</v></c>', '<c r="V{r}"><v>-0</v></c>',
        '<c r="W{r}" t="s"><v>5</v></c>', '<c r="X{r}" t="s"><v>6</v></c>', '<c r="Y{r}" t="s"><v>7</v></c>',
        '<c r="Z{r}" t="inlineStr"><is><t>  trimmed  </t></is></c>', '<c r="AA{r}" t="str"><v>  kept  </v></c>',
    ]
    rows.append(f'<row r="{r}">' + "".join(c.format(r=r) for c in other) + "</row>")
    # cells without `r` follow the one before; a row without `r` follows the one before
    rows.append(f'<row><c><v>1</v></c><c t="inlineStr"><is><t>x</t></is></c><c r="E{r + 1}"><v>5</v></c>'
                '<c><v>6</v></c></row>')
    return rows


def calamine_rows(path: Path) -> list[list[object]]:
    """calamine's rows with physical columns from A (it starts each row at the data's first
    column), trailing empty cells dropped."""
    wb = CalamineWorkbook.from_path(str(path))
    ws = wb.get_sheet_by_index(0)
    pad = [""] * (ws.start[1] if ws.start else 0)
    rows = [trim(pad + list(r)) for r in ws.iter_rows()]
    wb.close()
    return rows


def streamed_rows(path: Path) -> list[list[object]]:
    with zipfile.ZipFile(path) as zf:
        part = readers._sheet_part(zf, "数据")
    zf, cells = xlsx_stream.open_cells(path, part)
    with zf:
        return [trim(r) for r in cells.rows()]


def trim(row: list[object]) -> list[object]:
    while row and row[-1] == "":
        row = row[:-1]
    return row


@pytest.mark.parametrize(("date1904", "form"), [(False, "plain"), (True, "plain"), (False, "prefixed"),
                                               (True, "spaced"), (False, "reordered")])
def test_every_value_kind_is_the_same_as_calamine_gives_cell_by_cell(tmp_path, date1904, form):
    """plain: what Excel writes, scanned (a row with rich text parsed as XML); prefixed: the
    sheet parsed as XML; spaced: line breaks between cells (scanned); reordered: a cell's
    attributes out of the schema's order (s before r), each row parsed as XML."""
    rows = kinds_sheet()
    if form == "spaced":
        rows = [r.replace("</c><c", "</c>\n  <c") for r in rows]
    if form == "reordered":
        rows = [re.sub(r'<c r="(\w+)" s="(\d+)"', r'<c s="\2" r="\1"', r) for r in rows]
        assert sum(r.count('<c s="') for r in rows) > 100
    path = xlsx(tmp_path / "kinds.xlsx", rows, date1904=date1904, prefix="x" if form == "prefixed" else "")
    expected, got = calamine_rows(path), streamed_rows(path)
    assert len(got) >= len(expected) > len(STYLES)
    for r, (want, have) in enumerate(zip(expected, got, strict=False), start=1):
        for c in range(max(len(want), len(have))):
            a = want[c] if c < len(want) else ""
            b = have[c] if c < len(have) else ""
            assert (type(a), a) == (type(b), b), f"row {r} column {xlsx_stream.column_letters(c)}"
    assert all(r == [] for r in got[len(expected):])  # no value beyond calamine's
    # what the coercion sees is the same text
    flat = [[readers._cell_text(v) for v in r] for r in got[:len(expected)]]
    assert flat == [[readers._cell_text(v) for v in r] for r in expected]


def test_the_kinds_are_all_there(tmp_path):
    """The table above does reach every kind of value (a guard against a sheet that tests nothing)."""
    from datetime import date, datetime, time, timedelta

    got = streamed_rows(xlsx(tmp_path / "k.xlsx", kinds_sheet()))
    kinds = {type(v) for r in got for v in r}
    assert {str, float, bool, date, datetime, time, timedelta} <= kinds
    assert "0012" in got[len(STYLES) + 1] and "ab c" in got[len(STYLES) + 1] and "x&y 一<" in got[len(STYLES) + 1]


@pytest.mark.parametrize(("code", "kind"), [
    ("yyyy/mm/dd", xlsx_stream.DATE), ("H:MM:SS;@", xlsx_stream.DATE), ('m"M"d"D";@', xlsx_stream.DATE),
    ("[h]:mm:ss", xlsx_stream.ELAPSED), ("[mm]:ss", xlsx_stream.ELAPSED), ("[s].000", xlsx_stream.ELAPSED),
    ('"Y: "0.00"m";"Y: "-0.00"m";@', 0), ('"$"#,##0_);[Red]("$"#,##0)', 0), ("\\Y000000", 0),
    ("#,##0.0####\" YMD\"", 0), ("[>=100][Magenta]General", 0), ("0_ ;[Red]\\-0\\ ", 0),
    ("[$-404]e\"年\"m\"月\"d\"日\"", xlsx_stream.DATE), ("h:mm AM/PM", xlsx_stream.DATE), ("@", 0), ("0.00E+00", 0),
    ("General;yyyy", 0),
])
def test_number_format_kinds(code, kind):
    assert xlsx_stream.number_format_kind(code) == kind


def people(path: Path, rows: int, *, hidden_rows: set[int] = frozenset(), hide: str = "") -> Path:
    """A titled sheet with a two-row merged header, codes with leading zeros, numbers stored as
    text, dates and empty cells, shared strings (openpyxl writes them)."""
    from datetime import date, timedelta

    wb = Workbook()
    ws = wb.active
    ws.title = "数据"
    ws.append(["人口登记表"])
    ws.append([None])
    ws.append(["姓名", "证件", None, "金额", "登记日期"])
    ws.append([None, "类型", "号码", None, None])
    ws.merge_cells("B3:C3")
    ws.merge_cells("A3:A4")
    for n in range(rows):
        ws.append([f"人{n % 97}", "身份证" if n % 5 else None, f"00{n:06d}", str(n * 3) if n % 2 else n * 0.5,
                   date(2020, 1, 1) + timedelta(days=n)])
        ws.cell(ws.max_row, 5).number_format = "yyyy-mm-dd"
    for r in hidden_rows:
        ws.row_dimensions[r].hidden = True
    for col in hide:
        ws.column_dimensions[col].hidden = True
    wb.save(path)
    return path


def ingest(path: Path) -> tuple[list[str], list[dict[str, object]], dict[str, object]]:
    source = readers.open_xlsx(path, None, ["姓名", "证件类型", "证件号码", "金额", "登记日期"])
    rows = [r for b in source.batches for r in b.to_pylist()]
    source.close()
    return source.columns, rows, source.meta


def test_above_the_threshold_the_sheet_is_streamed_with_the_same_rows(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "BATCH_ROWS", 50)
    path = people(tmp_path / "p.xlsx", 180, hidden_rows={7, 100})
    size = zipfile.ZipFile(path).getinfo("xl/worksheets/sheet1.xml").file_size
    monkeypatch.setenv("YBZ_XLSX_STREAM_BYTES", str(size))  # not over: calamine
    loaded = ingest(path)
    monkeypatch.setenv("YBZ_XLSX_STREAM_BYTES", str(size - 1))
    streamed = ingest(path)
    assert (loaded[2]["reader"], streamed[2]["reader"]) == ("calamine", "stream")
    assert streamed[0] == loaded[0] == ["姓名", "证件", "证件2", "金额", "登记日期"]
    assert streamed[1] == loaded[1] and len(streamed[1]) == 180
    assert streamed[1][0] == {"姓名": "人0", "证件": None, "证件2": "00000000", "金额": "0",
                              "登记日期": "2020-01-01", "_row": 5}
    assert streamed[1][1]["金额"] == "3" and streamed[1][2]["金额"] == "1"
    for key in ("header_row", "hidden_rows", "hidden_row_numbers", "hidden_columns", "sheet"):
        assert streamed[2][key] == loaded[2][key], key
    assert streamed[2]["hidden_row_numbers"] == [7, 100]


def test_a_streamed_sheet_reports_its_position_by_the_xml_read(tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "BATCH_ROWS", 1000)
    monkeypatch.setattr(xlsx_stream, "READ_BYTES", 4096)
    monkeypatch.setenv("YBZ_XLSX_STREAM_BYTES", "0")
    path = long_sheet(tmp_path / "p.xlsx", 3000)
    source = readers.open_xlsx(path, None, ["姓名"])
    total = path.stat().st_size
    assert source.position()[1] < total * 0.1
    next(source.batches)
    rows, nbytes = source.position()
    assert rows == 1000 and 0.2 * total < nbytes < 0.5 * total
    assert sum(b.num_rows for b in source.batches) == 2000
    assert source.position() == (3000, total)


def _peak(path: Path) -> int:
    tracemalloc.start()
    try:
        source = readers.open_xlsx(path, None, ["姓名"])
        assert sum(b.num_rows for b in source.batches) > 0
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def long_sheet(path: Path, rows: int) -> Path:
    """A header and `rows` rows of a shared string, an inline string, a number and a date."""
    cells = ['<row r="1"><c r="A1" t="inlineStr"><is><t>姓名</t></is></c></row>']
    cells += [f'<row r="{r}"><c r="A{r}" t="s"><v>{r % 5}</v></c><c r="B{r}" t="inlineStr"><is><t>人{r}</t></is>'
              f'</c><c r="C{r}"><v>{r * 1.5}</v></c><c r="D{r}" s="1"><v>{40000 + r}</v></c></row>'
              for r in range(2, rows + 2)]
    return xlsx(path, cells)


def test_streaming_memory_does_not_grow_with_the_rows(tmp_path, monkeypatch):
    """N and 4N rows: the peak of the streamed read stays near N's (calamine's grows with the cells)."""
    monkeypatch.setattr(readers, "BATCH_ROWS", 250)
    monkeypatch.setattr(xlsx_stream, "READ_BYTES", 8192)  # chunks of XML read at a time, far
    monkeypatch.setattr(readers, "XML_CHUNK", 8192)  # below the sheets' sizes (1 MB would hold them whole)
    monkeypatch.setenv("YBZ_XLSX_STREAM_BYTES", "0")
    small, big = long_sheet(tmp_path / "n.xlsx", 600), long_sheet(tmp_path / "4n.xlsx", 2400)
    _peak(small)  # imports and caches out of the way
    a, b = _peak(small), _peak(big)
    assert b < a * 1.3, (a, b)


def test_a_broken_sheet_xml_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("YBZ_XLSX_STREAM_BYTES", "0")
    path = xlsx(tmp_path / "bad.xlsx", ['<row r="1"><c r="A1" t="inlineStr"><is><t>姓名</t></is></c></row>',
                                        '<row r="2"><c r="A2" t="b"><v>2</v></c></row>'])
    with pytest.raises(readers.DomainError) as err:
        list(readers.open_xlsx(path, None, ["姓名"]).batches)
    assert err.value.code == "xlsx_invalid" and "boolean" in str(err.value.params)
    cut = xlsx(tmp_path / "cut.xlsx", ['<row r="1"><c r="A1" t="inlineStr"><is><t>姓名</t></is></c></row>',
                                       '<row r="2"><c r="A2" t="s"><v>99</v></c></row>'])
    with pytest.raises(readers.DomainError) as err:  # a shared string that is not there
        list(readers.open_xlsx(cut, None, ["姓名"]).batches)
    assert err.value.code == "xlsx_invalid"


def _late_column(path: Path, rows: int, *, dimension: str | None) -> Path:
    """名称 and 数量 in every row; a third column, its header empty, with a value only in the
    last row (far below the top rows that decide the header)."""
    cells = ['<row r="1"><c r="A1" t="inlineStr"><is><t>名称</t></is></c>'
             '<c r="B1" t="inlineStr"><is><t>数量</t></is></c></row>']
    for n in range(2, rows + 2):
        extra = f'<c r="C{n}" t="inlineStr"><is><t>迟到的值</t></is></c>' if n == rows + 1 else ""
        cells.append(f'<row r="{n}"><c r="A{n}" t="inlineStr"><is><t>物{n}</t></is></c>'
                     f'<c r="B{n}"><v>{n}</v></c>{extra}</row>')
    extra = f'<dimension ref="{dimension}"/>' if dimension else ""
    return xlsx(path, cells, extra=extra)


def test_a_column_whose_first_value_is_below_the_top_rows_is_never_dropped(tmp_path, monkeypatch):
    """Streamed rows end at their last cell: the sheet's <dimension> gives the width calamine
    sees, so the late column is a column on both paths; without one, the value is an error
    naming its cell, never silently left out."""
    def read(path: Path) -> tuple[list[str], list[dict[str, object]]]:
        source = readers.open_xlsx(path, None, ["名称", "数量"])
        try:
            return source.columns, [r for b in source.batches for r in b.to_pylist()]
        finally:
            source.close()

    path = _late_column(tmp_path / "dim.xlsx", 120, dimension="A1:C121")
    monkeypatch.setenv("YBZ_XLSX_STREAM_BYTES", "1 000 000 000".replace(" ", ""))
    loaded = read(path)
    monkeypatch.setenv("YBZ_XLSX_STREAM_BYTES", "0")
    streamed = read(path)
    assert streamed == loaded and len(streamed[0]) == 3
    assert streamed[1][-1][streamed[0][2]] == "迟到的值"
    bare = _late_column(tmp_path / "bare.xlsx", 120, dimension=None)
    with pytest.raises(DomainError) as refused:
        read(bare)
    assert refused.value.code == "xlsx_value_outside_header"
    assert "第121行C列" in refused.value.message_in("zh") and "Row 121, column C" in refused.value.message_in("en")
