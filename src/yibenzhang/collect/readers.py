"""Readers: each opens a source as Arrow record batches (text or typed columns) plus `_row`,
the source row/line number, without holding the whole file in memory.

CSV: encoding detected (or forced); non-UTF-8 files are decoded strictly by a child process
streaming UTF-8 into the Arrow CSV parser, so decoding and parsing overlap on two cores.
XLSX (python-calamine): header row detected, merged header cells handled. JSON lines and
arrays (DuckDB read_json), Parquet (pyarrow, by row group).
"""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv

from ..errors import DomainError
from . import encoding as enc
from .mapping import normalize_name

FORMATS = ("csv", "xlsx", "json", "parquet")
BATCH_ROWS = 65536


@dataclass
class Source:
    columns: list[str]
    batches: Iterator[pa.RecordBatch]  # each with a `_row` int64 column
    meta: dict[str, Any] = field(default_factory=dict)
    total_bytes: int = 0
    bytes_read: Callable[[], int] = lambda: 0
    finish: Callable[[], None] = lambda: None  # raises what only the end of the stream reveals
    close: Callable[[], None] = lambda: None


def guess_format(path: Path, fmt: str | None) -> str:
    if fmt:
        key = fmt.lower().lstrip(".")
        key = {"jsonl": "json", "ndjson": "json", "xls": "xlsx", "txt": "csv", "tsv": "csv"}.get(key, key)
        if key not in FORMATS:
            raise DomainError("format_unknown", "不支持的文件格式：{format}", format=fmt)
        return key
    suffix = path.suffix.lower().lstrip(".")
    guessed = {"csv": "csv", "txt": "csv", "xlsx": "xlsx", "xlsm": "xlsx", "json": "json", "jsonl": "json",
               "ndjson": "json", "parquet": "parquet", "pq": "parquet"}.get(suffix)
    if guessed is None:
        raise DomainError("format_unknown", "不支持的文件格式：{format}", format=suffix or path.name)
    return guessed


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


class _Counting(io.RawIOBase):
    """A read-only stream that counts the bytes it hands out (for progress)."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        data = self.raw.read(len(buf))
        n = len(data)
        buf[:n] = data
        self.count += n
        return n

    def close(self) -> None:
        self.raw.close()
        super().close()


def open_csv(path: Path, encoding: str | None = None, delimiter: str | None = None) -> Source:
    name = enc.normalize(encoding) if encoding else enc.detect(path)
    total = path.stat().st_size
    child: subprocess.Popen[bytes] | None = None
    if name in (enc.UTF8, enc.UTF8_BOM):
        raw: Any = open(path, "rb")  # noqa: SIM115 - closed by Source.close
        if raw.read(3) != b"\xef\xbb\xbf":
            raw.seek(0)
    else:
        child = subprocess.Popen([sys.executable, "-m", "yibenzhang.collect.encoding", str(path), name],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=1 << 20)
        raw = child.stdout

    def finish() -> None:
        if child is not None:
            code = child.wait()
            err = child.stderr.read().decode() if child.stderr else ""
            if code == 3:
                raise enc.invalid_byte(path, int(err.strip() or 0), name)
            if code != 0:
                raise DomainError("encoding_invalid", "文件无法按{encoding}解码", encoding=name.upper())

    counting = _Counting(raw)
    stream = io.BufferedReader(counting, 1 << 20)
    header_line = stream.readline()
    try:
        header_text = header_line.decode("utf-8")
    except UnicodeDecodeError:
        raise _bad_utf8(path, name) from None
    if delimiter is None:
        delimiter = "\t" if header_text.count("\t") > header_text.count(",") else ","
    columns = [c.strip() for c in next(csv.reader([header_text], delimiter=delimiter), [])]
    if not columns or not any(columns):
        finish()  # a decoding failure in the first chunk leaves the stream empty
        raise DomainError("file_empty", "文件为空或没有表头")

    def batches() -> Iterator[pa.RecordBatch]:
        reader = pacsv.open_csv(
            stream,
            read_options=pacsv.ReadOptions(column_names=columns, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=False),
            convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(columns, pa.string()),
                                                 strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
        try:
            # line numbers: the header is line 1
            yield from with_rows(iter(reader), first=2)
        except pa.ArrowInvalid as exc:
            finish()
            if "UTF8" in str(exc) or "utf8" in str(exc).lower():
                raise _bad_utf8(path, name) from None
            raise DomainError("csv_invalid", "CSV 文件格式有误：{detail}", detail=str(exc)[:200]) from None

    def close() -> None:
        stream.close()
        if child is not None and child.poll() is None:
            child.kill()
            child.wait()

    return Source(columns, batches(), {"format": "csv", "encoding": name}, total, lambda: counting.count,
                  finish, close)


def _bad_utf8(path: Path, name: str) -> DomainError:
    offset = enc.find_invalid(path, enc.UTF8 if name == enc.UTF8_BOM else name)
    if offset is None:
        return DomainError("encoding_invalid", "文件无法按{encoding}解码", encoding=name.upper())
    return enc.invalid_byte(path, offset, name)


# --- XLSX --------------------------------------------------------------------------------


def _cell_text(v: Any) -> str | None:
    if v is None or v == "":
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, datetime):
        return v.isoformat(sep=" ")
    if isinstance(v, date | time):
        return v.isoformat()
    return str(v).strip()


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
        return _cell_text(cell) or ""

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


def open_xlsx(path: Path, sheet: str | None, item_names: list[str]) -> Source:
    from python_calamine import CalamineWorkbook

    try:
        wb = CalamineWorkbook.from_path(str(path))
        ws = wb.get_sheet_by_name(sheet) if sheet else wb.get_sheet_by_index(0)
    except Exception as exc:  # calamine raises its own types for a missing sheet or a broken file
        raise DomainError("xlsx_invalid", "无法读取电子表格：{detail}", detail=str(exc)[:200]) from None
    rows = ws.to_python(skip_empty_area=False)
    merged = [((a[0], a[1]), (b[0], b[1])) for a, b in (ws.merged_cell_ranges or [])]
    wanted = {normalize_name(n) for n in item_names}
    head, columns = _header(rows, merged, wanted)
    last_header = max([head] + [r1 for (r0, _), (r1, _) in merged if r0 <= head <= r1])
    start_row = ws.start[0] if ws.start else 0
    data = rows[last_header + 1:]

    def batches() -> Iterator[pa.RecordBatch]:
        for lo in range(0, len(data), BATCH_ROWS):
            chunk = data[lo:lo + BATCH_ROWS]
            cols = {name: pa.array([_cell_text(r[c]) if c < len(r) else None for r in chunk], pa.string())
                    for c, name in enumerate(columns)}
            numbers = pa.array(_arange(start_row + last_header + 2 + lo, len(chunk)), pa.int64())
            batch = pa.RecordBatch.from_pydict({**cols, "_row": numbers})
            # skip rows with no value at all
            import pyarrow.compute as pc

            empty = None
            for name in columns:
                isnull = pc.is_null(batch.column(name))
                empty = isnull if empty is None else pc.and_(empty, isnull)
            yield batch.filter(pc.invert(empty)) if empty is not None else batch

    return Source(columns, batches(), {"format": "xlsx", "sheet": ws.name, "header_row": start_row + head + 1},
                  path.stat().st_size, lambda: 0)


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
