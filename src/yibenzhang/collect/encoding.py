"""Text encodings departments really send: UTF-8 (with or without BOM), GBK and GB18030.

Detection looks at a sample (BOM, then strict UTF-8, then charset-normalizer); decoding is then
strict over the whole file, streamed in chunks split on b"\\n" (0x0A is never part of a GB18030
multibyte character), so a bad byte is reported with its offset instead of being mis-decoded.
GBK is decoded as GB18030, its superset.
"""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import BinaryIO

from ..errors import DomainError

SAMPLE_BYTES = 1 << 20
CHUNK_BYTES = 1 << 24
UTF8, UTF8_BOM, GB18030 = "utf-8", "utf-8-sig", "gb18030"
CHINESE = {"gbk", "gb2312", "gb18030", "cp936", "hz", "euc_cn", "gb_2312"}
ALIASES = {"utf8": UTF8, "utf-8": UTF8, "utf-8-sig": UTF8_BOM, "utf8-bom": UTF8_BOM, "utf-8-bom": UTF8_BOM,
           "gbk": GB18030, "gb2312": GB18030, "cp936": GB18030, "gb18030": GB18030}


def normalize(name: str) -> str:
    key = name.strip().lower().replace("_", "-")
    if key in ALIASES:
        return ALIASES[key]
    try:
        return codecs.lookup(key).name
    except LookupError:
        raise DomainError("encoding_unknown", "不支持的字符编码：{encoding}", encoding=name) from None


def detect(path: Path) -> str:
    with open(path, "rb") as f:
        sample = f.read(SAMPLE_BYTES)
    if sample.startswith(codecs.BOM_UTF8):
        return UTF8_BOM
    full = len(sample) < SAMPLE_BYTES
    if _decodes(sample, UTF8, full):
        return UTF8
    import charset_normalizer

    best = charset_normalizer.from_bytes(sample).best()
    guess = (best.encoding if best else "").lower().replace("-", "_")
    if guess in CHINESE or guess.startswith("gb") or _mostly_gb18030(sample):
        return GB18030
    if not guess:
        raise DomainError("encoding_unknown", "无法识别文件的字符编码，请用 --encoding 指定")
    return normalize(guess)


def _mostly_gb18030(sample: bytes) -> bool:
    """Chinese text in GB18030 with at most a stray bad byte: the strict decode then names it."""
    text = sample.decode(GB18030, errors="replace")
    cjk = sum(1 for ch in text[:20000] if "\u4e00" <= ch <= "\u9fff")
    return cjk > 0 and text.count("\ufffd") <= max(4, len(text) // 100)


def _decodes(sample: bytes, encoding: str, full: bool) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    try:
        decoder.decode(sample, final=full)
        return True
    except UnicodeDecodeError:
        return False


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


def stream(src: str, out: BinaryIO, encoding: str) -> int | None:
    """Decode src strictly and write UTF-8 to `out`; the offset of a bad byte, or None."""
    decoder = codecs.getincrementaldecoder(UTF8 if encoding == UTF8_BOM else encoding)("strict")
    start = 0
    with open(src, "rb") as f:
        if encoding == UTF8_BOM and f.read(3) != codecs.BOM_UTF8:
            f.seek(0)
        start = f.tell()
        while chunk := f.read(CHUNK_BYTES):
            try:
                out.write(decoder.decode(chunk, final=False).encode("utf-8"))
            except UnicodeDecodeError as exc:
                return start + exc.start - len(decoder.getstate()[0] or b"")
            start += len(chunk)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return start - len(decoder.getstate()[0] or b"")
    return None


if __name__ == "__main__":  # the transcoding child of the CSV reader: SRC ENCODING -> stdout
    import sys

    try:
        bad = stream(sys.argv[1], sys.stdout.buffer, sys.argv[2])
        sys.stdout.buffer.flush()
    except BrokenPipeError:
        sys.exit(0)
    if bad is not None:
        sys.stderr.write(f"{bad}\n")
        sys.exit(3)
