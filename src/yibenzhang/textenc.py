"""The one text-encoding detector (collection files and catalogue imports alike): a BOM, then
strict UTF-8, then charset-normalizer, with Chinese guesses — and Chinese text that decodes as
GB18030 but for a stray bad byte — read as GB18030, the superset of GBK and GB2312, so that the
strict decode afterwards names the bad byte instead of a guess mis-decoding the file."""

from __future__ import annotations

import codecs

from .errors import DomainError

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


def detect_sample(sample: bytes, *, full: bool) -> str:
    """The encoding of a file from its first bytes (`full`: the sample is the whole file)."""
    if sample.startswith(codecs.BOM_UTF8):
        return UTF8_BOM
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
