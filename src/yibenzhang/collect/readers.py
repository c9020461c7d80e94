"""Readers: each opens a source as Arrow record batches (text or typed columns) plus `_row`,
the source row/line number, without holding the whole file in memory.

CSV: encoding detected (or forced); a UTF-8 file is parsed in place by Arrow's multithreaded
CSV reader, any other is first decoded strictly to a UTF-8 scratch file (iconv, two threads on
newline-aligned slices), then parsed the same way.
XLSX (python-calamine, or for a big sheet the streaming cell reader of xlsx_stream; rows streamed): the first
visible sheet unless one is named, header row detected, merged header cells handled, hidden sheets, data rows
and columns reported (hidden rows and columns are read). JSON lines and
arrays (DuckDB read_json), Parquet (pyarrow, by row group).
"""

from __future__ import annotations

import csv
import io
import itertools
import os
import re
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

from ..errors import DomainError
from ..i18n import N_, Data
from ..plugins import readers
from . import encoding as enc
from . import xlsx_stream
from .mapping import normalize_name
from .xlsx_stream import column_index

BATCH_ROWS = 65536
DECODE_WORKERS = 2  # threads decoding slices of a GB18030 file (iconv releases the GIL)
DECODE_SHARE = 0.25  # the part of a transcoded file's progress bar given to decoding
CSV_BLOCK_BYTES = 1 << 20  # Arrow parses blocks of this size; the longest line it takes (small: less memory)


REFUSED_SCHEMA = pa.schema([("_row", pa.int64()), ("item", pa.string()), ("code", pa.string()),
                            ("value", pa.string())])


@dataclass
class Source:
    """Arrow record batches, each with a `_row` int64 column (the source row/line number)."""

    columns: list[str]
    batches: Iterator[pa.RecordBatch]
    meta: dict[str, Any] = field(default_factory=dict)
    total_bytes: int = 0
    bytes_read: Callable[[], int] = lambda: 0
    finish: Callable[[], None] = lambda: None  # raises what only the end of the stream reveals
    close: Callable[[], None] = lambda: None
    position: Callable[[], tuple[int, int]] | None = None  # (rows, bytes) so far, polled for progress
    # rows the reader refused as a whole (a CSV row with the wrong number of columns)
    refused_rows: list[dict[str, Any]] = field(default_factory=list)

    def refused(self) -> pa.Table:
        """The refused rows as a table: _row, item, code, value."""
        return pa.Table.from_pylist(self.refused_rows, REFUSED_SCHEMA)


@dataclass(frozen=True)
class ReadOptions:
    """What a reader may be told: the text encoding, the sheet, the target's item names (for a
    header found below a title), a private scratch folder, and whether to read CSV record by record."""

    encoding: str | None = None
    sheet: str | None = None
    item_names: tuple[str, ...] = ()
    work: Path | None = None
    exact: bool = True


@dataclass(frozen=True)
class Reader:
    """A file format collection reads (a plugin adds one through the `ybz_readers` hook): the names
    a steward may give it (`--format`), the file name endings it is guessed from, and how to open
    a file as a Source of text batches with `_row`."""

    name: str
    suffixes: tuple[str, ...]
    open: Callable[[Path, ReadOptions], Source]
    aliases: tuple[str, ...] = ()


def reader_for(path: Path, fmt: str | None) -> Reader:
    """The reader of a file: the one named by `fmt` (a name or an alias), else by its suffix."""
    known = readers()
    if fmt:
        key = fmt.lower().lstrip(".")
        for reader in known.values():
            if key == reader.name or key in reader.aliases:
                return reader
        raise DomainError("format_unknown", "不支持的文件格式：{format}", format=Data(fmt))
    suffix = path.suffix.lower().lstrip(".")
    for reader in known.values():
        if suffix in reader.suffixes:
            return reader
    raise DomainError("format_unknown", "不支持的文件格式：{format}", format=Data(suffix or path.name))


def guess_format(path: Path, fmt: str | None) -> str:
    return reader_for(path, fmt).name


def with_rows(batches: Iterator[pa.RecordBatch], first: int = 1) -> Iterator[pa.RecordBatch]:
    """Number rows in stream order (an Arrow array per batch, not a loop per row)."""
    n = first
    for b in batches:
        if b.num_rows == 0:
            continue
        if "_row" not in b.schema.names:
            b = b.append_column("_row", pa.array(_arange(n, b.num_rows), pa.int64()))
        n += b.num_rows
        yield b


def _arange(start: int, count: int) -> Any:
    import numpy as np

    return np.arange(start, start + count, dtype=np.int64)


def _ascii_compatible(name: str) -> bool:
    try:
        return "a,\n".encode(name) == b"a,\n"
    except (LookupError, UnicodeError):
        return False


def _first_line(path: Path, name: str, skip: int) -> str:
    """The header line decoded strictly (the bytes up to the first b"\\n" or b"\\r" are whole
    characters in an ASCII-compatible encoding)."""
    with open(path, "rb") as f:
        f.seek(skip)
        raw = f.readline(enc.SAMPLE_BYTES)
    raw = raw.split(b"\r", 1)[0]  # a file with CR line ends (old Mac Excel) has one "line"
    try:
        return raw.decode(enc.UTF8 if name == enc.UTF8_BOM else name)
    except UnicodeDecodeError:
        raise _bad_text(path, name) from None


def csv_error(exc: Exception, path: Path, name: str) -> DomainError:
    """An Arrow CSV error as a DomainError naming the fault, never the line's values (rows hold
    personal data)."""
    text = str(exc)
    if "utf8" in text.lower() or "utf-8" in text.lower():
        return _bad_text(path, name)
    counts = re.search(r"Expected (\d+) columns, got (\d+)", text)
    if counts:
        fault = f"expected {counts.group(1)} columns, found {counts.group(2)}"
    elif "straddling" in text or "newline" in text.lower():
        fault = "a value spans lines or a line is too long"
    else:
        fault = "unreadable"
    return DomainError("csv_invalid", "CSV 文件格式有误：{detail}", detail=fault)


def open_csv(path: Path, encoding: str | None = None, delimiter: str | None = None, *,
             work: Path | None = None, exact: bool = True) -> Source:
    """A CSV as Arrow batches of text, parsed by Arrow's multithreaded reader. UTF-8 (with or
    without BOM) is read in place; any other encoding is first decoded strictly into UTF-8
    under `work` (a private scratch folder), in parallel on newline-aligned slices, starting
    at once so that it overlaps the caller's mapping checks.

    `_row` is the physical line where each record starts. A file Arrow cannot take whole (a row
    with the wrong number of columns, a malformed quote) raises `Irregular` mid-stream; read it
    again with `exact=False` (Python's csv module, record by record): ragged rows then become
    refused rows, and a malformed record an error naming its line."""
    name = enc.normalize(encoding) if encoding else enc.detect(path)
    total = path.stat().st_size
    utf8 = name in (enc.UTF8, enc.UTF8_BOM)
    text = path
    job: Future[int | None] | None = None
    pool: ThreadPoolExecutor | None = None
    cancel = threading.Event()
    decoded = [0]  # bytes decoded so far
    parsed = [0]  # rows handed out so far

    def on_chunk(nbytes: int) -> None:
        decoded[0] += nbytes

    def transcoded() -> None:
        if job is not None:
            bad = job.result()
            if bad is not None:
                raise enc.invalid_byte(path, bad, name)

    if not utf8:
        if work is None:
            raise ValueError("a scratch folder is needed to decode " + name)
        text = work / "source.utf8.csv"
        pool = ThreadPoolExecutor(1)
        job = pool.submit(enc.transcode, path, text, name, workers=DECODE_WORKERS, cancel=cancel,
                          on_chunk=on_chunk, join=False)

    def close() -> None:
        cancel.set()
        if pool is not None:
            pool.shutdown(wait=True)

    try:
        if utf8 or _ascii_compatible(name):
            header_text = _first_line(path, name, 3 if _has_bom(path) else 0)
        else:  # UTF-16 and the like: the header is known once the text is decoded
            transcoded()
            header_text = _first_line(text, enc.UTF8, 0)
        if delimiter is None:
            delimiter = detect_delimiter(header_text)
        columns = [c.strip() for c in next(csv.reader([header_text.rstrip("\r\n")], delimiter=delimiter), [])]
        if not columns or not any(columns):
            transcoded()
            raise DomainError("file_empty", "文件为空或没有表头")
    except BaseException:
        close()
        raise
    expected = _sample_rows(path, total)
    ragged: list[int] = []  # rows Arrow found with the wrong number of columns

    def on_invalid(row: Any) -> str:
        ragged.append(row.actual_columns)
        return "skip"

    def batches() -> Iterator[pa.RecordBatch]:
        transcoded()
        if not exact:
            yield from _python_batches(path if utf8 else text, delimiter, columns, refused, parsed, chained=not utf8)
            return
        # Quoted values may hold line breaks (Excel's Alt+Enter, Python's csv); a blank line is a
        # row of empty values (dropped later), so that every physical line is accounted for.
        reader = pacsv.open_csv(
            str(text) if utf8 else enc.open_parts(text),
            read_options=pacsv.ReadOptions(column_names=columns, skip_rows=1, block_size=CSV_BLOCK_BYTES),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True,
                                             ignore_empty_lines=False, invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(columns, pa.string()),
                                                 strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
        line = 2  # the header is line 1
        try:
            for b in reader:
                if ragged:  # a skipped row leaves no trace of where it was: read it all exactly
                    raise Irregular("rows with the wrong number of columns")
                if b.num_rows == 0:
                    continue
                numbers, line = line_numbers(b, line)
                parsed[0] += b.num_rows
                yield b.append_column("_row", numbers)
            if ragged:
                raise Irregular("rows with the wrong number of columns")
        except pa.ArrowInvalid as exc:
            error = csv_error(exc, path, name)
            if error.code == "encoding_invalid":
                raise error from None
            raise Irregular(str(error)) from None

    def position() -> tuple[int, int]:
        """(rows, bytes) reached: decoding takes the first DECODE_SHARE of a transcoded file."""
        share = 0.0 if utf8 else DECODE_SHARE
        rows_total = max(expected, parsed[0], 1)
        done = share * min(decoded[0], total) + (1 - share) * total * min(1.0, parsed[0] / rows_total)
        return parsed[0], int(done)

    refused: list[dict[str, Any]] = []
    meta = {"format": "csv", "encoding": name, "delimiter": DELIMITER_NAMES.get(delimiter, delimiter),
            "reader": "arrow" if exact else "python-csv"}
    return Source(columns, batches(), meta, total, lambda: position()[1],
                  close=close, position=position, refused_rows=refused)


class Irregular(Exception):
    """The fast CSV path cannot number this file's rows exactly: read it again record by record."""


DELIMITERS = (",", "\t", ";", "|")
DELIMITER_NAMES = {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe"}


def detect_delimiter(header: str) -> str:
    """The delimiter of a header line: the most frequent of , tab ; | outside quotes (comma on a
    tie, and for a one-column file)."""
    outside = re.sub(r'"[^"]*"', "", header)
    counts = {d: outside.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


def _breaks(column: pa.Array) -> Any:
    """Line breaks in each value (CRLF, LF or CR), or None when the column has none at all (a
    byte scan of the data buffer; most files have no quoted line break)."""
    import numpy as np
    import pyarrow.compute as pc

    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    data = column.buffers()[2]
    if data is None:
        return None
    raw = np.frombuffer(data, dtype=np.uint8)
    if not (raw == 10).any() and not (raw == 13).any():
        return None
    lf = pc.count_substring(column, "\n").to_numpy(zero_copy_only=False)
    cr = pc.count_substring(column, "\r").to_numpy(zero_copy_only=False)
    crlf = pc.count_substring(column, "\r\n").to_numpy(zero_copy_only=False)
    return lf + cr - crlf


def line_numbers(batch: pa.RecordBatch, first: int) -> tuple[pa.Array, int]:
    """The physical line where each record of `batch` starts, the first at line `first`, and the
    line after the batch: one line per record, plus the line breaks inside its quoted values."""
    import numpy as np

    extra = None
    for column in batch.columns:
        counts = _breaks(column)
        if counts is not None:
            extra = counts if extra is None else extra + counts
    n = batch.num_rows
    if extra is None:
        return pa.array(_arange(first, n), pa.int64()), first + n
    before = np.concatenate(([0], np.cumsum(extra)[:-1])) if n else np.zeros(0, dtype=np.int64)
    numbers = np.arange(first, first + n, dtype=np.int64) + before
    return pa.array(numbers, pa.int64()), first + n + int(extra.sum())


def _python_batches(text: Path, delimiter: str, columns: list[str], refused: list[dict[str, Any]],
                    parsed: list[int], chained: bool = False) -> Iterator[pa.RecordBatch]:
    """The exact path: Python's csv module, record by record, with the physical line each record
    starts on. A record with the wrong number of columns is refused (`row_columns`, the line as
    read kept for the provider's steward); a malformed one stops the file with its line."""
    width = len(columns)
    values: list[list[str]] = [[] for _ in columns]
    lines: list[int] = []
    raw = enc.open_parts(text) if chained else open(text, "rb")  # noqa: SIM115  (closed with f)
    with io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as f:
        reader = csv.reader(f, delimiter=delimiter, strict=True)
        start = 1
        try:
            next(reader, None)  # the header
            start = reader.line_num + 1
            for record in reader:
                line, start = start, reader.line_num + 1
                if not record:
                    continue  # a blank line
                if len(record) != width:
                    refused.append({"_row": line, "item": "", "code": "row_columns",
                                    "value": delimiter.join(record)})
                    continue
                for c, v in enumerate(record):
                    values[c].append(v)
                lines.append(line)
                if len(lines) >= BATCH_ROWS:
                    parsed[0] += len(lines)
                    yield _text_batch(columns, values, lines)
                    values, lines = [[] for _ in columns], []
        except csv.Error as exc:
            raise DomainError("csv_invalid", "CSV 文件格式有误：第{line}行起的记录{detail}", line=start,
                              detail=_csv_fault(str(exc))) from None
    if lines:
        parsed[0] += len(lines)
        yield _text_batch(columns, values, lines)


def _csv_fault(message: str) -> str:
    """Python's csv error as a fault without values."""
    if "end of data" in message or "EOF" in message:
        return N_("引号未闭合")
    if "expected after" in message:
        return N_("闭合引号后紧跟了其他字符")
    return N_("无法解析")


def _text_batch(columns: list[str], values: list[list[str]], lines: list[int]) -> pa.RecordBatch:
    arrays = [pa.array(v, pa.string()) for v in values] + [pa.array(lines, pa.int64())]
    return pa.RecordBatch.from_arrays(arrays, names=[*columns, "_row"])


def _has_bom(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(3) == b"\xef\xbb\xbf"


def _sample_rows(path: Path, total: int) -> int:
    """Rows expected in the file, from the lines of its first megabyte (for progress only)."""
    with open(path, "rb") as f:
        sample = f.read(enc.SAMPLE_BYTES)
    lines = max(1, sample.count(b"\n"))
    return max(0, int(lines * total / max(1, len(sample))) - 1)


def _bad_text(path: Path, name: str) -> DomainError:
    offset = enc.find_invalid(path, enc.UTF8 if name == enc.UTF8_BOM else name)
    if offset is None:
        return DomainError("encoding_invalid", "文件无法按{encoding}解码", encoding=name.upper())
    return enc.invalid_byte(path, offset, name)


# --- XLSX --------------------------------------------------------------------------------


EXCEL_DIGITS = 15  # Excel keeps 15 significant digits of a number; beyond, they are zeros


def _cell_text(v: Any) -> str | None:
    """A cell's value as the text it stands for, exactly: text as typed (leading zeros and spaces
    kept), a number in its shortest exact form, a date or time in ISO form. A whole number of
    more than 15 digits has lost its last digits in Excel (an ID typed as a number): it is
    written in scientific notation, which codes and integers refuse with that reason."""
    if v is None or v == "":
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 10 ** EXCEL_DIGITS:
            return str(int(v))
        if v.is_integer():
            return format(Decimal(repr(v)).normalize(), "E")
        return repr(v)
    if isinstance(v, datetime):
        return v.isoformat(sep=" ")
    if isinstance(v, date | time):
        return v.isoformat()
    return str(v)


def _header(rows: list[list[Any]], merged: list[tuple[tuple[int, int], tuple[int, int]]],
            wanted: set[str]) -> tuple[int, list[str]]:
    """The header row (the first of the top rows matching most item names) and its column
    names, with merged header cells resolved: a cell inside a merged range takes the range's
    value; under a group header spanning columns, "group+name" is used when that is an item."""
    width = max((len(r) for r in rows[:50]), default=0)

    def value(r: int, c: int) -> str:
        for (r0, c0), (r1, c1) in merged:
            if r0 <= r <= r1 and c0 <= c <= c1:
                r, c = r0, c0
                break
        cell = rows[r][c] if r < len(rows) and c < len(rows[r]) else None
        return (_cell_text(cell) or "").strip()

    best, best_score = 0, -1
    for r in range(min(20, len(rows))):
        score = sum(1 for c in range(width) if normalize_name(value(r, c)) in wanted)
        if score > best_score:
            best, best_score = r, score
    names = []
    for c in range(width):
        own = value(best, c)
        group = value(best - 1, c) if best > 0 else ""
        candidates = [own, group + own, f"{group}-{own}", group] if group and group != own else [own]
        pick = next((x for x in candidates if x and normalize_name(x) in wanted), own or group)
        names.append(pick or f"列{c + 1}")
    # the same name twice (a merged span without sub-headers): number the repeats
    seen: dict[str, int] = {}
    for i, n in enumerate(names):
        seen[n] = seen.get(n, 0) + 1
        if seen[n] > 1:
            names[i] = f"{n}{seen[n]}"
    return best, names


HEADER_ROWS = 50  # top rows of a sheet read for header detection (_header: width from 50, header within 20)
HIDDEN_ROWS_LISTED = 10  # hidden rows named in the report (their count is always given)
XML_CHUNK = 1 << 20  # bytes of a sheet's XML scanned at a time for hidden rows
_ROW_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row(?=[\s/>])([^>]*)>")
_ROW_NUMBER = re.compile(rb"\sr\s*=\s*[\"'](\d+)[\"']")
_ROW_HIDDEN = re.compile(rb"\shidden\s*=\s*[\"'](?:1|true)[\"']")
_MERGE_REF = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?mergeCell\s[^>]*?\bref\s*=\s*[\"']([A-Za-z0-9:$]+)[\"']")


def _pick_sheet(wb: Any, sheet: str | None) -> tuple[str, list[str], bool]:
    """The name of the sheet to read, the names of the workbook's hidden sheets, and whether the
    sheet read is itself hidden. Unnamed, it is the first *visible* worksheet: a hidden first sheet
    (Excel's and WPS's 隐藏工作表, often a code list or an old copy) is not what the department
    shows. The sheet itself is not loaded here (calamine loads a sheet whole)."""
    from python_calamine import SheetTypeEnum, SheetVisibleEnum

    sheets = list(wb.sheets_metadata)
    hidden = [m.name for m in sheets if m.visible != SheetVisibleEnum.Visible]
    if sheet:
        if sheet not in [m.name for m in sheets]:
            raise DomainError("xlsx_invalid", "无法读取电子表格：{detail}", detail=f"Sheet '{sheet}' not found")
        return sheet, hidden, sheet in hidden
    visible = next((m.name for m in sheets if m.visible == SheetVisibleEnum.Visible
                    and m.typ == SheetTypeEnum.WorkSheet), None)
    if visible is None:  # no visible worksheet (a crafted file): the first one, reported as hidden
        if not sheets:
            raise DomainError("xlsx_invalid", "无法读取电子表格：{detail}", detail="no sheet")
        return sheets[0].name, hidden, sheets[0].name in hidden
    return visible, hidden, False


def _sheet_part(zf: Any, sheet: str) -> str | None:
    """The zip member holding `sheet`'s XML: workbook.xml names its relationship id, the
    workbook's relationships give the part."""
    import posixpath
    from xml.etree import ElementTree as ET

    def local(tag: str) -> str:  # namespaces differ between transitional and strict OOXML
        return tag.rsplit("}", 1)[-1]

    book = "xl/workbook.xml"
    try:
        for rel in ET.fromstring(zf.read("_rels/.rels")):
            if rel.get("Type", "").endswith("/officeDocument"):
                book = rel.get("Target", book).lstrip("/")
        rid = next((v for s in ET.fromstring(zf.read(book)).iter() if local(s.tag) == "sheet"
                    and s.get("name") == sheet for k, v in s.attrib.items() if local(k) == "id"), None)
        folder, name = posixpath.split(book)
        rels = ET.fromstring(zf.read(posixpath.join(folder, "_rels", name + ".rels")))
    except (KeyError, ET.ParseError):
        return None
    target = next((r.get("Target") for r in rels if r.get("Id") == rid), None)
    if not target:
        return None
    return target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(folder, target))


def hidden_rows(path: Path, sheet: str, *, skim: bool = True, merges: list[str] | None = None) -> list[int]:
    """The physical numbers (1-based) of the rows hidden in `sheet` (`<row hidden="1">`, a
    self-closing row of no cells left out), read by streaming the sheet's XML through a tag
    scan: a 1M-row sheet is never held in memory. A `<row>` tag cannot occur in cell text (the
    `<` is escaped there). open_xlsx keeps those among the rows it reads (not empty ones).

    `skim`: a chunk without the word "hidden" is not scanned tag by tag (most sheets hide
    nothing). Row numbers come from each tag's `r`; a row without `r` (allowed, rarely written)
    after a skimmed chunk has no known number: the sheet is then scanned again in full.
    `merges`, when given, receives the sheet's merged ranges' refs ("A1:B2", after the cells)."""
    import zipfile

    found: list[int] = []
    try:
        with zipfile.ZipFile(path) as zf:
            part = _sheet_part(zf, sheet)
            if part is None:
                return found
            with zf.open(part) as f:
                tail, row = b"", 0
                number_known = True
                while chunk := f.read(XML_CHUNK):
                    data = tail + chunk
                    cut = data.rfind(b"<")  # a tag cut by the chunk's end is scanned with the next chunk
                    if cut != -1 and data.find(b">", cut) == -1:
                        data, tail = data[:cut], data[cut:]
                    else:
                        tail = b""
                    if merges is not None and b"mergeCell" in data:
                        merges += [m.decode() for m in _MERGE_REF.findall(data)]
                    if skim and b"hidden" not in data:
                        number_known = False
                        continue
                    for m in _ROW_TAG.finditer(data):
                        attrs = m.group(1)
                        number = _ROW_NUMBER.search(attrs)
                        if number:
                            row, number_known = int(number.group(1)), True
                        elif not number_known:
                            if merges is not None:
                                merges.clear()
                            return hidden_rows(path, sheet, skim=False, merges=merges)
                        else:
                            row += 1
                        if _ROW_HIDDEN.search(attrs) and not attrs.rstrip().endswith(b"/"):
                            found.append(row)
    except (OSError, zipfile.BadZipFile, KeyError):
        return []
    return found


STREAM_XML_BYTES = 64 << 20  # a sheet whose XML inflates to more is read by the streaming reader


def stream_threshold() -> int:
    """Inflated bytes of a sheet's XML above which it is streamed (xlsx_stream) rather than
    loaded by calamine: YBZ_XLSX_STREAM_BYTES, else STREAM_XML_BYTES. calamine is ≈ 2× faster
    but holds ≈ 64 bytes a cell; 64 MB of XML is ≈ 160,000 rows × 8 columns (≈ 80 MB in calamine)."""
    raw = os.environ.get("YBZ_XLSX_STREAM_BYTES")
    return int(raw) if raw else STREAM_XML_BYTES


def _merged(refs: list[str]) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Merged ranges ("B2:C3") as 0-based ((row, col), (row, col)), as calamine gives them."""

    out = []
    for ref in refs:
        corners = []
        for cell in ref.replace("$", "").split(":")[:2]:
            m = re.fullmatch(r"([A-Za-z]+)(\d+)", cell)
            if m:
                corners.append((int(m.group(2)) - 1, column_index(m.group(1))))
        if corners:
            out.append((corners[0], corners[-1]))
    return out


def open_xlsx(path: Path, sheet: str | None, item_names: list[str]) -> Source:
    """The sheet's rows streamed as batches of BATCH_ROWS: only the top HEADER_ROWS rows are
    held for header detection, the rest are turned into Arrow batches as the rows come (a
    1M-row sheet is never a Python list of rows). A sheet whose XML is bigger than
    stream_threshold() is read by the streaming cell reader (xlsx_stream: memory bounded by one
    row and the shared strings); a smaller one by calamine, which loads the sheet's cells (its own
    compact form) and is faster. Both give the same cell values."""
    import zipfile

    from python_calamine import CalamineWorkbook


    try:
        wb = CalamineWorkbook.from_path(str(path))
        name, hidden_sheets, sheet_hidden = _pick_sheet(wb, sheet)
        with zipfile.ZipFile(path) as zf:
            part = _sheet_part(zf, name)
            size = zf.getinfo(part).file_size if part and part in zf.NameToInfo else 0
            head = xlsx_stream.sheet_head(zf, part) if size else {"hidden_columns": []}
    except DomainError:
        raise
    except Exception as exc:  # calamine raises its own types for a missing sheet or a broken file
        raise DomainError("xlsx_invalid", "无法读取电子表格：{detail}", detail=str(exc)[:200]) from None
    streamed = bool(part) and size > stream_threshold()
    consumed = [0, 0]  # physical rows taken from the sheet, data rows handed out
    close: Callable[[], None] = lambda: None  # noqa: E731
    if streamed:
        assert part is not None
        wb.close()
        refs: list[str] = []
        marked_rows = hidden_rows(path, name, merges=refs)
        merged = _merged(refs)
        zf, cells = xlsx_stream.open_cells(path, part)
        close = zf.close
        rows: Iterator[list[Any]] = cells.rows()
        offset = 0
        try:
            top = list(itertools.islice(rows, HEADER_ROWS))
        except BaseException:  # a broken cell among the top rows: the zip is not left open
            zf.close()
            raise
        width = int(head.get("width") or 0)  # the sheet's <dimension>: its columns, as calamine sees them
        if width and top:
            top[0] = list(top[0]) + [None] * (width - len(top[0]))

        def share() -> float:
            return min(1.0, cells.read / cells.size) if cells.size else 1.0
    else:
        try:
            ws = wb.get_sheet_by_name(name)
        except Exception as exc:
            raise DomainError("xlsx_invalid", "无法读取电子表格：{detail}", detail=str(exc)[:200]) from None
        # iter_rows yields every physical row from the first (empty ones before the data included)
        # but starts each at the data's first column: the columns before it are padded back, so that
        # column and row indexes are physical ones, as merged ranges give them
        offset = ws.start[1] if ws.start else 0
        physical_rows = ws.end[0] + 1 if ws.end else 0
        rows = ws.iter_rows()
        top = list(itertools.islice(rows, HEADER_ROWS))
        merged = [((a[0], a[1]), (b[0], b[1])) for a, b in (ws.merged_cell_ranges or [])]
        wb.close()  # the sheet's cells are the sheet's: the workbook (its file, shared strings) can go
        marked_rows = hidden_rows(path, name)

        def share() -> float:
            return min(1.0, consumed[0] / physical_rows) if physical_rows else 1.0
    consumed[0] = len(top)
    wanted = {normalize_name(n) for n in item_names}
    pad = [""] * offset
    head_row, columns = _header([pad + r for r in top] if offset else top, merged, wanted)
    last_header = max([head_row] + [r1 for (r0, _), (r1, _) in merged if r0 <= head_row <= r1])
    first_data = last_header + 2  # the physical number (1-based) of the first data row
    hidden = [r for r in marked_rows if r >= first_data]
    # hidden columns are read like any other; the report names those among the data's columns
    hidden_cols = [c for c in head["hidden_columns"] if c < len(columns)]
    meta: dict[str, Any] = {"format": "xlsx", "sheet": name, "header_row": head_row + 1,
                            "reader": "stream" if streamed else "calamine",
                            "sheet_hidden": sheet_hidden, "hidden_sheets": hidden_sheets,
                            "hidden_rows": len(hidden), "hidden_row_numbers": hidden[:HIDDEN_ROWS_LISTED],
                            "hidden_columns": len(hidden_cols),
                            "hidden_column_letters": [xlsx_stream.column_letters(c)
                                                      for c in hidden_cols[:HIDDEN_ROWS_LISTED]],
                            "hidden_column_names": [columns[c] for c in hidden_cols[:HIDDEN_ROWS_LISTED]]}

    def data() -> Iterator[list[Any]]:
        yield from top[last_header + 1:]
        for _ in range(last_header + 1 - len(top)):  # a header merged below the top rows
            if next(rows, None) is None:
                return
            consumed[0] += 1
        for r in rows:
            consumed[0] += 1
            yield r

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            yield from _xlsx_batches(data(), columns, offset, first_data, hidden, meta, consumed,
                                     strict_width=streamed)
        finally:
            close()

    total = path.stat().st_size

    def position() -> tuple[int, int]:
        """(rows, bytes): the bytes are the file's size × the share of the sheet read (its rows
        for calamine, its inflated XML when streamed; the compressed XML gives no byte position)."""
        return consumed[1], int(total * share())

    return Source(columns, batches(), meta, total, lambda: position()[1], position=position, close=close)


def _xlsx_batches(source: Iterator[list[Any]], columns: list[str], offset: int, first_data: int,
                  hidden: list[int], meta: dict[str, Any], consumed: list[int], *,
                  strict_width: bool = False) -> Iterator[pa.RecordBatch]:
    """Rows of cell values as Arrow batches of text, numbered from `first_data`, rows with no
    value dropped; the hidden rows among those read are counted into `meta`. `strict_width`: a
    value beyond the header's columns (a streamed sheet whose <dimension> is missing or wrong) is
    an error, never dropped."""
    import numpy as np
    import pyarrow.compute as pc

    marked = np.array(hidden, dtype=np.int64)
    count, listed = 0, []  # the hidden rows read (a hidden row of empty cells is no data)
    lo = 0

    width = offset + len(columns)
    while chunk := list(itertools.islice(source, BATCH_ROWS)):
        if strict_width:
            for k, r in enumerate(chunk):
                if len(r) > width and any(_cell_text(v) is not None for v in r[width:]):
                    col = width + next(j for j, v in enumerate(r[width:]) if _cell_text(v) is not None)
                    raise DomainError("xlsx_value_outside_header",
                                      "第{row}行{column}列有值，但表头没有这一列：请补上列名后重新上传",
                                      row=first_data + lo + k, column=xlsx_stream.column_letters(col))
        cols = {}
        for c, name in enumerate(columns):
            i = c - offset  # the column's place in the row (calamine's rows start at the data)
            cols[name] = (pa.nulls(len(chunk), pa.string()) if i < 0 else
                          pa.array([_cell_text(r[i]) if i < len(r) else None for r in chunk], pa.string()))
        numbers = pa.array(_arange(first_data + lo, len(chunk)), pa.int64())
        lo += len(chunk)
        batch = pa.RecordBatch.from_pydict({**cols, "_row": numbers})
        del chunk
        # skip rows with no value at all
        empty = None
        for name in columns:
            isnull = pc.is_null(batch.column(name))
            empty = isnull if empty is None else pc.and_(empty, isnull)
        if empty is not None:
            batch = batch.filter(pc.invert(empty))
        if len(marked):
            kept = batch.column("_row").to_numpy()
            found = kept[np.isin(kept, marked)]
            count += len(found)
            listed += [int(r) for r in found[:HIDDEN_ROWS_LISTED - len(listed)]]
        consumed[1] += batch.num_rows
        yield batch
    # hidden rows are read like any other; the report says how many there were, and where
    meta.update(hidden_rows=count, hidden_row_numbers=listed)


# --- JSON and Parquet -------------------------------------------------------------------------


def open_json(path: Path, con: Any) -> Source:
    with open(path, "rb") as f:
        head = f.read(4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    fmt = "array" if head.startswith(b"[") else "newline_delimited"
    read = (f"read_json('{str(path).replace(chr(39), chr(39) * 2)}', format='{fmt}', records=true, "
            f"sample_size=-1)")
    described = con.sql(f"SELECT * FROM {read}")
    columns, types = described.columns, [str(t) for t in described.types]

    def text(c: str, t: str) -> str:
        q = '"' + c.replace('"', '""') + '"'
        # mixed-type fields are JSON values: take their text without JSON quotes
        value = f"json_extract_string({q}, '$')" if t.upper() == "JSON" else f"CAST({q} AS VARCHAR)"
        return f"{value} AS {q}"

    projection = ", ".join(text(c, t) for c, t in zip(columns, types, strict=True))
    reader = con.sql(f"SELECT {projection} FROM {read}").to_arrow_reader(BATCH_ROWS)
    return Source(list(columns), with_rows(iter(reader)), {"format": "json", "layout": fmt},
                  path.stat().st_size, lambda: 0, close=con.close)


def open_parquet(path: Path) -> Source:
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    return Source(list(pf.schema_arrow.names), with_rows(pf.iter_batches(BATCH_ROWS)), {"format": "parquet"},
                  path.stat().st_size, lambda: 0, close=pf.close)
