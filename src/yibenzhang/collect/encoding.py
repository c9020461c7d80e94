"""Text encodings departments really send: UTF-8 (with or without BOM), GBK and GB18030.

Detection looks at a sample (BOM, then strict UTF-8, then charset-normalizer); decoding is then
strict over the whole file, so a bad byte is reported with its offset instead of being
mis-decoded. A GB18030 file is decoded in slices cut after a b"\\n" (0x0A is never part of a
GB18030 multibyte character), in parallel. GBK is decoded as GB18030, its superset.
"""

from __future__ import annotations

import codecs
import io
import threading
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path
from typing import Any, BinaryIO

from ..errors import DomainError

# The detector is shared with the catalogue's imports (textenc); these names stay for callers.
from ..textenc import ALIASES, CHINESE, GB18030, UTF8, UTF8_BOM, detect_sample, normalize  # noqa: F401

_Tick = Callable[[bytes | bytearray, int, int], bool]  # (buffer, start, end) -> stop?
SAMPLE_BYTES = 1 << 20
CHUNK_BYTES = 1 << 24


def detect(path: Path) -> str:
    with open(path, "rb") as f:
        sample = f.read(SAMPLE_BYTES)
    return detect_sample(sample, full=len(sample) < SAMPLE_BYTES)


def invalid_byte(path: Path, offset: int, encoding: str) -> DomainError:
    """The error for a byte that is not valid in `encoding`, naming its offset and line."""
    with open(path, "rb") as f:
        line = 1
        remaining = offset
        while remaining > 0:
            chunk = f.read(min(CHUNK_BYTES, remaining))
            if not chunk:
                break
            line += chunk.count(b"\n")
            remaining -= len(chunk)
    return DomainError("encoding_invalid", "第{line}行（字节偏移{offset}）不是有效的{encoding}编码",
                       line=line, offset=offset, encoding=encoding.upper())


def find_invalid(path: Path, encoding: str) -> int | None:
    """Offset of the first byte that does not decode strictly, or None."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    start = 0
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK_BYTES):
            try:
                decoder.decode(chunk, final=False)
            except UnicodeDecodeError as exc:
                return start + exc.start - len(decoder.getstate()[0] or b"")
            start += len(chunk)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return start - len(decoder.getstate()[0] or b"")
    return None


def _slices(path: Path, parts: int) -> list[tuple[int, int]]:
    """[start, end) byte ranges that each begin right after a b"\\n" (so on a character
    boundary in an ASCII-compatible encoding such as GB18030) and together cover the file."""
    size = path.stat().st_size
    cuts = [0]
    with open(path, "rb") as f:
        for k in range(1, parts):
            at = max(cuts[-1], size * k // parts)
            f.seek(at)
            while True:
                block = f.read(1 << 16)
                if not block:
                    at = size
                    break
                nl = block.find(b"\n")
                if nl >= 0:
                    at += nl + 1
                    break
                at += len(block)
            cuts.append(at)
    cuts.append(size)
    return [(a, b) for a, b in pairwise(cuts) if b > a] or [(0, 0)]


class _Iconv:
    """glibc/libSystem iconv through ctypes: strict, about five times faster than Python's
    gb18030 codec, and it releases the GIL, so slices decode in parallel threads. Its GB18030
    tables follow the current standard (GB 18030-2022 maps a few former private-use code points
    to their standard characters, where Python's codec keeps the private-use ones)."""

    NAMES = {GB18030: "GB18030"}

    def __init__(self, encoding: str) -> None:
        import ctypes
        import ctypes.util

        self.ct = ctypes
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        self.open, self.conv, self.close = libc.iconv_open, libc.iconv, libc.iconv_close
        self.open.restype, self.open.argtypes = ctypes.c_void_p, [ctypes.c_char_p, ctypes.c_char_p]
        self.conv.restype = ctypes.c_size_t
        self.conv.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_size_t),
                              ctypes.POINTER(ctypes.c_void_p), ctypes.POINTER(ctypes.c_size_t)]
        self.close.argtypes = [ctypes.c_void_p]
        self.name = self.NAMES[encoding].encode()
        cd = self.open(b"UTF-8", self.name)
        if cd in (None, ctypes.c_void_p(-1).value):
            raise OSError("iconv cannot convert " + encoding)
        self.close(cd)

    def run(self, src: Path, start: int, end: int, out: BinaryIO, tick: _Tick) -> int | None:
        """Decode src[start:end] strictly into `out`; the absolute offset of a bad byte, or None."""
        import errno

        ct = self.ct
        cd = self.open(b"UTF-8", self.name)
        inbuf = bytearray(CHUNK_BYTES)
        outbuf = bytearray(CHUNK_BYTES * 2)  # UTF-8 needs at most 1.5 times the GB18030 bytes
        out_base = ct.addressof((ct.c_char * len(outbuf)).from_buffer(outbuf))
        in_base = ct.addressof((ct.c_char * len(inbuf)).from_buffer(inbuf))
        carry = 0  # bytes of an incomplete character kept at the front of inbuf
        pos = start  # offset in the file of inbuf[0]
        try:
            with open(src, "rb") as f:
                f.seek(start)
                while True:
                    want = min(CHUNK_BYTES - carry, end - pos - carry)
                    got = f.readinto(memoryview(inbuf)[carry:carry + want]) if want > 0 else 0
                    n = carry + got
                    if n == 0 or tick(inbuf, carry, n):
                        return None
                    inp, inleft = ct.c_void_p(in_base), ct.c_size_t(n)
                    outp, outleft = ct.c_void_p(out_base), ct.c_size_t(len(outbuf))
                    rc = self.conv(cd, ct.byref(inp), ct.byref(inleft), ct.byref(outp), ct.byref(outleft))
                    err = ct.get_errno() if rc == ct.c_size_t(-1).value else 0
                    out.write(memoryview(outbuf)[:len(outbuf) - outleft.value])
                    done = n - inleft.value
                    if err == errno.EILSEQ or (err == errno.EINVAL and got == 0):
                        return pos + done  # an invalid sequence, or an incomplete one at the end
                    if err not in (0, errno.EINVAL):
                        raise OSError(err, "iconv failed")
                    inbuf[:inleft.value] = inbuf[done:n]
                    carry, pos = inleft.value, pos + done
        finally:
            self.close(cd)


def _python_run(src: Path, start: int, end: int, out: BinaryIO, encoding: str, tick: _Tick) -> int | None:
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    pos = start
    with open(src, "rb") as f:
        f.seek(start)
        while pos < end and (chunk := f.read(min(CHUNK_BYTES, end - pos))):
            if tick(chunk, 0, len(chunk)):
                return None
            try:
                out.write(decoder.decode(chunk, final=False).encode("utf-8"))
            except UnicodeDecodeError as exc:
                return pos + exc.start - len(decoder.getstate()[0] or b"")
            pos += len(chunk)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return pos - len(decoder.getstate()[0] or b"")
    return None


def parts(dst: Path) -> list[Path]:
    """The files of `transcode(..., join=False)`, in order: `dst`, then `dst.1`, `dst.2`…"""
    out, k = [dst], 1
    while (part := dst.with_name(f"{dst.name}.{k}")).exists():
        out.append(part)
        k += 1
    return out


class Chained(io.RawIOBase):
    """Files read one after the other as one stream: the decoded slices without copying them
    into one file first (that copy rewrote half of a GB18030 file's UTF-8 text)."""

    def __init__(self, paths: list[Path]) -> None:
        super().__init__()
        self.paths = list(paths)
        self.current: BinaryIO | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while True:
            if self.current is None:
                if not self.paths:
                    return 0
                self.current = open(self.paths.pop(0), "rb")  # noqa: SIM115  (closed below)
            n = self.current.readinto(buffer)
            if n:
                return n
            self.current.close()
            self.current = None

    def close(self) -> None:
        if self.current is not None:
            self.current.close()
            self.current = None
        super().close()


def open_parts(dst: Path) -> io.BufferedReader:
    return io.BufferedReader(Chained(parts(dst)), 1 << 20)


def transcode(src: Path, dst: Path, encoding: str, *, workers: int = 2, cancel: threading.Event | None = None,
              on_chunk: Callable[[int], None] | None = None, join: bool = True) -> int | None:
    """Decode `src` strictly and write it as UTF-8 to `dst`; the offset of the first bad byte,
    or None. An ASCII-compatible multibyte encoding (GB18030) is cut into newline-aligned slices
    decoded in parallel threads, then joined (or left as `parts(dst)` with join=False); anything
    else is decoded in one piece.
    `on_chunk(bytes)` follows the progress; setting `cancel` stops early (None)."""
    import shutil
    from concurrent.futures import ThreadPoolExecutor

    def tick(buf: bytes | bytearray, lo: int, hi: int) -> bool:
        # bytes only: counting the chunk's lines here held the GIL for seconds per 250 MB, and
        # the progress is told in bytes (the parser counts the rows)
        if on_chunk is not None:
            on_chunk(hi - lo)
        return cancel is not None and cancel.is_set()

    try:
        fast: _Iconv | None = _Iconv(encoding)
    except (OSError, KeyError, AttributeError):
        fast = None
    splittable = encoding == GB18030 or codecs.lookup(encoding).name in ("ascii", "latin-1", "iso8859-1")
    slices = _slices(src, max(1, workers)) if splittable else [(0, src.stat().st_size)]
    outs = [dst] + [dst.with_name(f"{dst.name}.{k}") for k in range(1, len(slices))]

    def one(k: int) -> int | None:
        start, end = slices[k]
        with open(outs[k], "wb") as out:
            if fast is not None:
                return fast.run(src, start, end, out, tick)
            return _python_run(src, start, end, out, encoding, tick)

    try:
        with ThreadPoolExecutor(len(slices)) as pool:
            bad = [b for b in pool.map(one, range(len(slices))) if b is not None]
        if bad:
            return min(bad)
        if cancel is not None and cancel.is_set():
            return None
        if not join:  # read as one stream by open_parts
            outs = outs[:1]
            return None
        with open(dst, "ab") as joined:
            for part in outs[1:]:
                with open(part, "rb") as f:
                    shutil.copyfileobj(f, joined, 1 << 22)
        return None
    finally:
        for part in outs[1:]:
            part.unlink(missing_ok=True)
