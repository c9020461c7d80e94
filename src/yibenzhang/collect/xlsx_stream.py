"""A streaming cell reader over an XLSX sheet's XML, for sheets too big for calamine's cell grid.

calamine (python-calamine 0.9.1) loads the whole sheet when it is opened (≈ 64 bytes a cell); this
reader parses the sheet part as it is inflated (ElementTree's C pull parser), one row at a time,
so its memory is the shared strings (kept as one UTF-8 blob and offsets) plus one row. Values
are the ones calamine hands out for the same cells, so both paths give the coercion the same text:
text as stored (shared, inline, a formula's cached string), floats, booleans, errors as empty,
numbers under a date style as date/datetime/time (1900 or 1904 system, calamine's 1900-02-29 and
millisecond rounding) and under an elapsed-time style ([h]:mm) as timedelta.

`sheet_head` reads only what precedes `<sheetData>` (hidden columns, the dimension): both paths use it.
"""

from __future__ import annotations

import html
import math
import posixpath
import re
import zipfile
from array import array
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any
from xml.etree import ElementTree as ET

from ..errors import DomainError

READ_BYTES = 1 << 16  # inflated bytes fed to the parser at a time
DATE, ELAPSED = 1, 2  # the kinds of number format that turn a number into a date or a duration
BUILTIN_KINDS = {**dict.fromkeys((*range(14, 23), 45, 47), DATE), 46: ELAPSED}
EPOCH = datetime(1899, 12, 30)
DAY_MS = 86_400_000
_DATE_LETTERS = set("dmhysDMHYS")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def number_format_kind(code: str) -> int:
    """DATE, ELAPSED or 0 for a custom number format, as calamine decides: only the first
    section counts; quoted text, escaped (`\\`), padded (`_`) and filled (`*`) characters and
    bracketed parts ([Red], [$-804]) are not tokens, except an elapsed [h], [mm], [s]."""
    escaped = quoted = am = False
    depth = 0
    prev = " "
    elapsed = False
    for ch in code:
        if escaped:
            escaped = False
        elif ch in "_\\*":
            escaped = True
        elif quoted:
            quoted = ch != '"'
        elif ch == '"':
            quoted = True
        elif ch == ";":
            return 0
        elif ch == "[":
            depth += 1
        elif ch == "]" and depth == 1 and elapsed:
            return ELAPSED
        elif ch == "]":
            depth = max(0, depth - 1)
        elif depth == 0 and ch in "aA" and not am:
            am = True
        elif depth == 0 and ch in ("pmPM/" if am else _DATE_LETTERS):  # after an A: A/P, AM/PM
            return DATE
        elif not (elapsed and ch.lower() == prev.lower()):
            elapsed = prev == "[" and ch in "mhsMHS"
        prev = ch
    return 0


class SharedStrings:
    """The workbook's shared strings as one UTF-8 blob and an offset array (≈ 8 bytes a string
    beside its text, where a list of str costs ≈ 80)."""

    def __init__(self) -> None:
        self.blob = bytearray()
        self.ends = array("q")

    def append(self, text: str) -> None:
        self.blob += text.encode()
        self.ends.append(len(self.blob))

    def __getitem__(self, i: int) -> str:
        return self.blob[self.ends[i - 1] if i else 0:self.ends[i]].decode()

    def __len__(self) -> int:
        return len(self.ends)


def _text_of(item: ET.Element, ns: str) -> str:
    """A string item's text (`<si>` or `<is>`): its `<t>`, or its rich runs' `<t>`s joined;
    phonetic runs (`<rPh>`) are not part of the value."""
    t = item.find(ns + "t")
    if t is not None:
        return _t(t)
    return "".join(_t(t) for r in item.iterfind(ns + "r") for t in r.iterfind(ns + "t"))


_SPACE = "{http://www.w3.org/XML/1998/namespace}space"


def _t(t: ET.Element) -> str:
    """A `<t>`'s text: its XML whitespace at either end is dropped unless xml:space="preserve"
    (as calamine reads it; Excel and openpyxl mark text with such spaces preserve)."""
    text = t.text or ""
    return text if t.get(_SPACE) == "preserve" else text.strip(" \t\r\n")


def _pull(stream: Any) -> Iterator[tuple[str, ET.Element]]:
    """Start and end events of an XML part as it is read, a chunk at a time."""
    parser = ET.XMLPullParser(events=("start", "end"))
    while chunk := stream.read(READ_BYTES):
        parser.feed(chunk)
        yield from parser.read_events()
    parser.close()
    yield from parser.read_events()


_SI = re.compile(rb"<si>(.*?)</si>", re.S)
_SI_TEXT = re.compile(rb'<t( xml:space="preserve")?>([^<]*)</t>')


def shared_strings(zf: zipfile.ZipFile, part: str | None) -> SharedStrings:
    """The workbook's shared strings. Items in the common form (`<si><t>…</t></si>`, unprefixed)
    are taken by a regular expression, any other item (rich text, phonetic runs) as XML; a part
    with prefixed tags is parsed as XML throughout."""
    out = SharedStrings()
    if part is None or part not in zf.NameToInfo:
        return out
    with zf.open(part) as f:
        head = f.read(READ_BYTES)
    root = re.search(rb"<(?:([A-Za-z_][\w.-]*):)?sst\b[^>]*>", head)
    if root is None or root.group(1):
        return _tree_strings(zf, part, out)
    xmlns = b" ".join(_XMLNS.findall(root.group(0)))
    ns = SheetCells._ns(xmlns)
    buf = b""
    with zf.open(part) as f:
        while chunk := f.read(READ_BYTES):
            buf += chunk
            pos = 0
            for m in _SI.finditer(buf):
                pos = m.end()
                body = m.group(1)
                simple = _SI_TEXT.fullmatch(body)
                if simple:
                    text = _xml_text(simple.group(2))
                    out.append(text if simple.group(1) else text.strip(" \t\r\n"))
                else:
                    out.append(_text_of(ET.fromstring(b"<si " + xmlns + b">" + body + b"</si>"), ns))
            buf = buf[pos:]
    return out


def _tree_strings(zf: zipfile.ZipFile, part: str, out: SharedStrings) -> SharedStrings:
    root = None
    with zf.open(part) as f:
        for event, el in _pull(f):
            if root is None:
                root = el
            elif event == "end" and _local(el.tag) == "si":
                out.append(_text_of(el, el.tag[:-2]))
                root.clear()  # the items read are not kept as elements
    return out


def _number_kinds(zf: zipfile.ZipFile, part: str | None) -> list[int]:
    """The number-format kind (DATE, ELAPSED, 0) of each cell style (`cellXfs` index)."""
    if part is None or part not in zf.NameToInfo:
        return []
    styles = ET.fromstring(zf.read(part))
    custom: dict[int, int] = {}
    kinds: list[int] = []
    for el in styles:
        name = _local(el.tag)
        if name == "numFmts":
            for fmt in el:
                fid = fmt.get("numFmtId")
                if fid is not None and fid.isdigit():
                    custom[int(fid)] = number_format_kind(fmt.get("formatCode") or "")
        elif name == "cellXfs":
            for xf in el:
                fid = xf.get("numFmtId") or "0"
                n = int(fid) if fid.isdigit() else 0
                kinds.append(custom[n] if n in custom else BUILTIN_KINDS.get(n, 0))
    return kinds


def _workbook_parts(zf: zipfile.ZipFile) -> tuple[str, dict[str, str], bool]:
    """The workbook part, its relationship targets by type suffix, and the 1904 date system flag."""
    book = "xl/workbook.xml"
    try:
        for rel in ET.fromstring(zf.read("_rels/.rels")):
            if rel.get("Type", "").endswith("/officeDocument"):
                book = rel.get("Target", book).lstrip("/")
        root = ET.fromstring(zf.read(book))
    except (KeyError, ET.ParseError):
        return book, {}, False
    date1904 = any(_local(el.tag) == "workbookPr" and (el.get("date1904") or "").lower() in ("1", "true")
                   for el in root)
    folder, name = posixpath.split(book)
    targets: dict[str, str] = {}
    try:
        for rel in ET.fromstring(zf.read(posixpath.join(folder, "_rels", name + ".rels"))):
            kind, target = rel.get("Type", "").rsplit("/", 1)[-1], rel.get("Target") or ""
            targets.setdefault(kind, target.lstrip("/") if target.startswith("/")
                               else posixpath.normpath(posixpath.join(folder, target)))
    except (KeyError, ET.ParseError):
        pass
    return book, targets, date1904


def column_index(letters: str) -> int:
    """0-based index of a column's letters (A → 0, AA → 26)."""
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch.upper()) - 64
    return n - 1


def column_letters(index: int) -> str:
    out = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


_SHEET_DATA = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?sheetData[\s/>]")
HEAD_LIMIT = 8 << 20  # bytes of a sheet's XML searched for `<sheetData>` (what comes before is small)


_DIMENSION = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?dimension\s[^>]*ref\s*=\s*[\"']"
                        rb"([A-Za-z]{1,3})?\d*(?::([A-Za-z]{1,3})\d*)?[\"']")


def sheet_head(zf: zipfile.ZipFile, part: str) -> dict[str, Any]:
    """What a sheet's XML says before its cells: the 0-based indexes of hidden columns
    (`<cols><col min max hidden="1">`). Only the head is inflated."""
    head = b""
    with zf.open(part) as f:
        while len(head) < HEAD_LIMIT and (chunk := f.read(READ_BYTES)):
            head += chunk
            m = _SHEET_DATA.search(head)
            if m:
                head = head[:m.start()]
                break
    hidden: list[int] = []
    for m in re.finditer(rb"<(?:[A-Za-z_][\w.-]*:)?col\s([^>]*)>", head):
        attrs = dict(re.findall(rb"([\w:]+)\s*=\s*[\"']([^\"']*)[\"']", m.group(1)))
        if attrs.get(b"hidden", b"").lower() not in (b"1", b"true"):
            continue
        try:
            lo, hi = int(attrs.get(b"min", b"0")), int(attrs.get(b"max", b"0"))
        except ValueError:
            continue
        hidden.extend(range(max(lo, 1) - 1, min(hi, 16384)))
    # `<dimension ref="A1:H1000"/>`: the sheet's width, so that a column whose header is empty
    # and whose first value is far below the top rows is still a column (calamine's rows have
    # the sheet's width; streamed rows end at their last cell)
    width = 0
    dim = _DIMENSION.search(head)
    if dim and (dim.group(2) or dim.group(1)):
        width = column_index((dim.group(2) or dim.group(1)).upper().decode()) + 1
    return {"hidden_columns": sorted(set(hidden)), "width": width}


_ROOT = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?worksheet\b[^>]*>")
_XMLNS = re.compile(rb"xmlns(?::[\w.-]+)?\s*=\s*\"[^\"]*\"")
_ROW_TAG = re.compile(rb"<row\b([^>]*?)(/?)>")
_ROW_R = re.compile(rb"\br=\"(\d+)\"")
_CELL = re.compile(rb'<c(?: r="([A-Z]{1,3})\d+")?(?: s="(\d+)")?(?: t="(\w+)")?(?: (?![rst]\s*=)[\w:]+="[^"<>]*")*'
                   rb"(?:/>|>(?:<f\b[^>]*/>|<f\b[^>]*>[^<]*</f>)?(?:<v>([^<]*)</v>|<v/>|<is><t>([^<]*)</t></is>)?</c>)")


_COLUMNS: dict[bytes, int] = {}  # column letters → 0-based index, computed once per column
_WS = frozenset(b" \t\r\n\f\v")


def _xml_text(raw: bytes) -> str:
    """Character data as an XML parser gives it: line ends normalised, references resolved."""
    if b"&" not in raw and b"\r" not in raw:
        return raw.decode()
    if b"\r" in raw:
        raw = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    text = raw.decode()
    return html.unescape(text) if "&" in text else text


def _excel_datetime(v: float, date1904: bool) -> Any:
    """A serial date as calamine gives it: a time below 1, a date at midnight, else a datetime;
    Excel's phantom 1900-02-29 (serial 60) is 02-28, rounded to the millisecond."""
    f = v + 1462 if date1904 else v
    if f < 60:
        f += 1
    ms = math.floor(f * DAY_MS + 0.5) if f >= 0 else -math.floor(-f * DAY_MS + 0.5)
    at = EPOCH + timedelta(milliseconds=ms)
    if v < 1:
        return at.time()
    return at.date() if at.time() == time() else at


def _iso(text: str) -> Any:
    """A `t="d"` cell (ISO 8601): a datetime, a date or a time as written."""
    text = text.strip()
    if "T" in text or " " in text:
        return datetime.fromisoformat(text.rstrip("Z"))
    if ":" in text:
        return time.fromisoformat(text)
    return date.fromisoformat(text)


def _number(text: str) -> float | None:
    """The number a `<v>` holds, or None when it is no number as Rust reads one (Python's float
    also takes spaces and underscores)."""
    if not text or text[0].isspace() or text[-1].isspace() or "_" in text:
        return None
    try:
        return float(text)
    except ValueError:
        return None


class SheetCells:
    """A sheet's rows as lists of cell values by physical column (A first), physical rows from
    row 1 (a row missing from the XML is an empty list), read as the part is inflated."""

    def __init__(self, zf: zipfile.ZipFile, part: str, strings: SharedStrings, kinds: list[int],
                 date1904: bool) -> None:
        self.zf, self.part = zf, part
        self.strings, self.kinds, self.date1904 = strings, kinds, date1904
        self.dated = {str(i).encode() for i, kind in enumerate(kinds) if kind}  # styles of dates, durations
        self.size = zf.getinfo(part).file_size  # inflated bytes of the sheet's XML
        self.read = 0  # inflated bytes read so far (progress)

    def _chunks(self, f: Any) -> Iterator[bytes]:
        while chunk := f.read(READ_BYTES):
            self.read += len(chunk)
            yield chunk

    def rows(self) -> Iterator[list[Any]]:
        try:
            yield from self._rows()
        except (ET.ParseError, zipfile.BadZipFile, EOFError, ValueError, IndexError) as exc:
            # a malformed part, a shared string index out of range: the file is broken
            raise _invalid(f"{type(exc).__name__}: {exc}") from None

    def _rows(self) -> Iterator[list[Any]]:
        """The common form (what Excel, WPS and openpyxl write: unprefixed tags, cells' attributes
        in schema order, no spaces between elements) is scanned by regular expressions, ≈ 3×
        faster than building elements; a row in any other form is parsed as XML on its own, and
        a sheet with prefixed tags wholly."""
        with self.zf.open(self.part) as f:
            head = f.read(READ_BYTES)
            while len(head) < HEAD_LIMIT and not _SHEET_DATA.search(head) and (more := f.read(READ_BYTES)):
                head += more
        m = _SHEET_DATA.search(head)
        if m and head[m.start():m.start() + 10] == b"<sheetData" and (root := _ROOT.search(head, 0, m.start())):
            yield from self._scanned_rows(b" ".join(_XMLNS.findall(root.group(0))))
        else:
            yield from self._tree_rows()

    def _scanned_rows(self, xmlns: bytes) -> Iterator[list[Any]]:
        buf = b""
        number = 0  # the physical number of the last row handed out
        started = False
        with self.zf.open(self.part) as f:
            for chunk in self._chunks(f):
                buf += chunk
                pos = 0
                if not started:
                    m = _SHEET_DATA.search(buf)
                    if m is None:
                        continue
                    started, pos = True, m.end()
                while True:
                    m = _ROW_TAG.search(buf, pos)
                    if m is None:
                        break
                    stop = buf.find(b"</sheetData>", pos, m.start())
                    if stop != -1:
                        return
                    if m.group(2):  # <row .../>: a row of no cells
                        body, pos = b"", m.end()
                    else:
                        end = buf.find(b"</row>", m.end())
                        if end == -1:
                            break  # the row goes on in the next chunk
                        body, pos = buf[m.end():end], end + 6
                    r = _ROW_R.search(m.group(1))
                    at = int(r.group(1)) if r else number + 1
                    while number + 1 < at:  # rows with no XML element
                        number += 1
                        yield []
                    number = at
                    values = self._scan(body)
                    if values is None:  # not the common form: this row as XML
                        values = self._row(ET.fromstring(b"<row " + xmlns + b">" + body + b"</row>"), self._ns(xmlns))
                    yield values
                if buf.find(b"</sheetData>", pos) != -1:
                    return  # what follows the cells (merged ranges, print settings) is not read
                buf = buf[pos:]

    @staticmethod
    def _ns(xmlns: bytes) -> str:
        m = re.search(rb'xmlns="([^"]*)"', xmlns)
        return "{" + m.group(1).decode() + "}" if m else ""

    def _scan(self, body: bytes) -> list[Any] | None:
        """A row's cells in the common form, or None when the row is in another form (a cell the
        pattern does not take leaves one `<c` unmatched; `<c` occurs nowhere else in a row of
        that form, and an extra one, as in `<color>` of rich text, only sends the row to XML).
        Numbers take the shortest way: float() of the bytes, a style looked up only for dates."""
        cells = _CELL.findall(body)
        if len(cells) != body.count(b"<c"):
            return None
        values: list[Any] = []
        col = -1
        value: Any
        dated = self.dated
        columns = _COLUMNS
        for letters, style, t, v, inline in cells:
            if letters:
                col = columns.get(letters)
                if col is None:
                    col = columns[letters] = column_index(letters.decode())
            else:
                col += 1
            if inline:
                value = _xml_text(inline).strip(" \t\r\n")
                if not value:
                    continue
            elif not v:
                continue
            elif not t or t == b"n":
                try:
                    value = float(v)
                except ValueError:
                    value = _xml_text(v)
                else:
                    if b"_" in v or v[0] in _WS or v[-1] in _WS:
                        value = _xml_text(v)  # Python's float() takes these; calamine keeps them as text
                    elif style in dated:
                        value = self._value(None, v.decode(), style.decode())
            else:
                value = self._value(t.decode(), _xml_text(v), style.decode() if style else None)
                if value == "" or value is None:
                    continue
            if col == len(values):
                values.append(value)
            else:
                if col > len(values):
                    values.extend([""] * (col - len(values)))
                    values.append(value)
                else:
                    values[col] = value
        return values

    def _tree_rows(self) -> Iterator[list[Any]]:
        parser = ET.XMLPullParser(events=("start", "end"))
        holder: ET.Element | None = None  # <sheetData>: rows read are dropped from it
        ns = ""
        row_tag = ""
        number = 0  # the physical number of the last row handed out
        with self.zf.open(self.part) as f:
            for chunk in self._chunks(f):
                parser.feed(chunk)
                for event, el in parser.read_events():
                    if event == "start":
                        if holder is None and _local(el.tag) == "sheetData":
                            holder, ns = el, el.tag[:-9]
                            row_tag = ns + "row"
                        continue
                    if el.tag != row_tag:
                        continue
                    r = el.get("r")
                    at = int(r) if r else number + 1
                    while number + 1 < at:  # rows with no XML element
                        number += 1
                        yield []
                    number = at
                    yield self._row(el, ns)
                    assert holder is not None
                    holder.clear()
            parser.close()

    def _row(self, row: ET.Element, ns: str) -> list[Any]:
        values: list[Any] = []
        col = -1
        v_tag, is_tag = ns + "v", ns + "is"
        for c in row:
            ref = c.get("r")
            col = column_index(ref.rstrip("0123456789")) if ref else col + 1
            t = c.get("t")
            if t == "inlineStr":
                item = c.find(is_tag)
                value: Any = _text_of(item, ns) if item is not None else ""
            else:
                v = c.find(v_tag)
                text = v.text if v is not None else None
                if not text:
                    continue
                value = self._value(t, text, c.get("s"))
            if value == "" or value is None:
                continue
            if col >= len(values):
                values.extend([""] * (col + 1 - len(values)))
            values[col] = value
        return values

    def _value(self, t: str | None, text: str, style: str | None) -> Any:
        if t is None or t == "n":
            f = _number(text)
            if f is None:
                return text
            kind = self.kinds[int(style)] if style and int(style) < len(self.kinds) else 0
            try:
                if kind == DATE:
                    return _excel_datetime(f, self.date1904)
                if kind == ELAPSED:
                    return timedelta(milliseconds=math.floor(f * DAY_MS + 0.5))
            except (OverflowError, ValueError):  # beyond Python's dates: the number itself
                return f
            return f
        if t == "s":
            return self.strings[int(text)]
        if t == "str":
            return text
        if t == "b":
            flag = text.strip().lower()
            if flag in ("1", "true"):
                return True
            if flag in ("0", "false"):
                return False
            raise _invalid(f"Unrecognized boolean cell value: {text[:20]}")
        if t == "d":
            try:
                return _iso(text)
            except ValueError:
                return text
        return None  # an error (#N/A, #DIV/0!): no value, as calamine gives it


def _invalid(detail: str) -> DomainError:
    return DomainError("xlsx_invalid", "无法读取电子表格：{detail}", detail=detail[:200])


def open_cells(path: Any, sheet_part: str) -> tuple[zipfile.ZipFile, SheetCells]:
    """The zip (the caller closes it) and the sheet's cell reader, with the workbook's shared
    strings, styles and date system loaded."""
    zf = zipfile.ZipFile(path)
    try:
        _, targets, date1904 = _workbook_parts(zf)
        strings = shared_strings(zf, targets.get("sharedStrings"))
        kinds = _number_kinds(zf, targets.get("styles"))
        return zf, SheetCells(zf, sheet_part, strings, kinds, date1904)
    except (ET.ParseError, zipfile.BadZipFile, EOFError, ValueError) as exc:
        zf.close()
        raise _invalid(f"{type(exc).__name__}: {exc}") from None
    except BaseException:
        zf.close()
        raise
