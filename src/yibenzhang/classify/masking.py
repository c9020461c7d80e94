"""Masking (脱敏) and encryption operators, each a DuckDB SQL expression builder over a column.

DOMAIN §4: ID keeps first 6 + last 4, mobile 3 + 4, bank card 6 + 4, names keep the surname;
birth dates generalise to the year, addresses to the district, coordinates to 3 decimals;
pseudonyms are keyed SM3 (HMAC-SM3), stable per key so joins still work; SM4 is reversible by
key holders; redaction hides everything.

Every operator works on whole columns inside one statement (DESIGN rule 3). DuckDB has no SM3 or
SM4, so those two are vectorized Arrow UDFs: SM4 encrypts all counter blocks of a chunk in one
`cryptography` call (CTR keystream for every value at once, XOR in NumPy); HMAC-SM3 is one
OpenSSL call per distinct value of the chunk (OpenSSL has no batch API — the measured bottleneck,
see `ybz bench mask`).

Keys never appear in SQL text: a keyed function's name carries its *purpose* (hex), the key is
derived from the platform secret and that purpose when `prepare(con, sql)` registers it.

Operators are registered by name (DESIGN rule 8); a province's plugin adds its own through the
hook `ybz_masking_operators` (hooks.py).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from .. import crypto, plugins
from ..config import get_settings
from ..zone.engine import Connection, Function, get_engine, install

# --- cleaning: the same value written differently must mask (and pseudonymise) the same ----

_FULL_WIDTH = "".join(chr(c) for c in range(0xFF01, 0xFF5F))  # ！ … ～
_HALF_WIDTH = "".join(chr(c) for c in range(0x21, 0x7F))  # ! … ~
# RE2's \s is ASCII only: add no-break, ideographic and zero-width spaces and the BOM.
_SPACE = r"[\s\x{00A0}\x{3000}\x{2000}-\x{200B}\x{FEFF}]"
MASK_CHAR = "*"
REDACTED = "***"

# Compound surnames (复姓) kept whole by keep_surname. Engineer R's list is preferred when present.
COMPOUND_SURNAMES = (
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒",
    "夏侯", "轩辕", "令狐", "钟离", "澹台", "公冶", "宗政", "濮阳", "淳于", "单于", "太叔", "申屠",
    "南宫", "独孤", "万俟", "闻人", "赫连", "呼延", "端木", "百里", "东郭", "西门", "司空", "第五",
)


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def as_text(v: str, sql_type: str = "VARCHAR") -> str:
    return v if sql_type.upper() == "VARCHAR" else f"CAST({v} AS VARCHAR)"


def _half_width(v: str) -> str:
    # translate() is slow (it walks the 94-character table per character): only values that
    # hold a full-width character pay for it.
    return (f"CASE WHEN regexp_matches({v}, '[\\x{{FF01}}-\\x{{FF5E}}]') "
            f"THEN translate({v}, {_sql_str(_FULL_WIDTH)}, {_sql_str(_HALF_WIDTH)}) ELSE {v} END")


def clean_code(v: str) -> str:
    """A code as it is meant: full-width ASCII to half-width, every kind of space removed
    (身份证号 "１１０１ 0119…" and "110101 19…" are the same person). Printable ASCII without
    spaces — nearly every value — is taken as it is."""
    slow = f"regexp_replace({_half_width(v)}, '{_SPACE}+', '', 'g')"
    return f"(CASE WHEN regexp_matches({v}, '[^!-~]') THEN {slow} ELSE {v} END)"


def clean_text(v: str) -> str:
    """Text trimmed of every kind of space at both ends, full-width ASCII to half-width. Text
    needing neither (nearly all) is taken as it is after one cheap test."""
    slow = f"regexp_replace({_half_width(v)}, '^{_SPACE}+|{_SPACE}+$', '', 'g')"
    test = f"regexp_matches({v}, '^{_SPACE}|{_SPACE}$|[\\x{{FF01}}-\\x{{FF5E}}]')"
    return f"(CASE WHEN {test} THEN {slow} ELSE {v} END)"


def _compound_surnames() -> tuple[str, ...]:
    try:  # the recognizers' surname list, when engineer R's module offers one
        from . import recognizers  # type: ignore[attr-defined]
        found = getattr(recognizers, "COMPOUND_SURNAMES", None)
        if found:
            return tuple(sorted({*found, *COMPOUND_SURNAMES}))
    except ImportError:
        pass
    return COMPOUND_SURNAMES


# --- the operators ------------------------------------------------------------------------


@dataclass(frozen=True)
class Operator:
    """`build(expr, sql_type, purpose, *args)` → a SQL expression. `strictness` orders operators
    when an item has several categories (the strictest wins, 就高从严); `reversible` marks those
    whose output a key holder can turn back into the clear value."""

    name: str
    build: Callable[..., str]
    strictness: int
    arity: tuple[int, ...] = (0,)  # accepted argument counts
    reversible: bool = False
    clear: bool = False  # leaves the value as it is
    doc: str = ""
    # (column, type) → the cleaned value `build` works on, computed once per row (None: as is).
    clean: Callable[[str, str], str | None] | None = None


_TEXT_TYPES = ("VARCHAR", "TEXT", "STRING")


def code_cleaner(v: str, sql_type: str) -> str:
    return clean_code(as_text(v, sql_type))


def text_cleaner(v: str, sql_type: str) -> str:
    return clean_text(as_text(v, sql_type))


def code_cleaner_for_text(v: str, sql_type: str) -> str | None:
    return clean_code(v) if sql_type.upper() in _TEXT_TYPES else None


def text_cleaner_for_text(v: str, sql_type: str) -> str | None:
    return clean_text(v) if sql_type.upper() in _TEXT_TYPES else None


def op_none(v: str, sql_type: str, purpose: str) -> str:
    return v


def op_keep(v: str, sql_type: str, purpose: str, m: int = 6, n: int = 4) -> str:
    """First m and last n characters kept, the middle replaced by *. A value no longer than m+n
    keeps only its first character (so a short value never comes out whole); one character is *."""
    c = v  # cleaned by the operator's `clean` (clean_code)
    right = f" || right({c}, {n})" if n else ""
    return (f"CASE WHEN {c} IS NULL THEN NULL WHEN length({c}) > {m + n} "
            f"THEN left({c}, {m}) || repeat('{MASK_CHAR}', length({c}) - {m + n}){right} "
            f"WHEN length({c}) <= 1 THEN repeat('{MASK_CHAR}', length({c})) "
            f"ELSE left({c}, 1) || repeat('{MASK_CHAR}', length({c}) - 1) END")


def op_keep_surname(v: str, sql_type: str, purpose: str) -> str:
    """The surname kept (a compound surname whole when the name is longer than it), the rest *."""
    c = v  # cleaned by the operator's `clean` (clean_text)
    compound = ", ".join(_sql_str(s) for s in _compound_surnames())
    return (f"CASE WHEN {c} IS NULL THEN NULL WHEN length({c}) <= 1 THEN repeat('{MASK_CHAR}', length({c})) "
            f"WHEN length({c}) > 2 AND left({c}, 2) IN ({compound}) "
            f"THEN left({c}, 2) || repeat('{MASK_CHAR}', length({c}) - 2) "
            f"ELSE left({c}, 1) || repeat('{MASK_CHAR}', length({c}) - 1) END")


def op_keep_email(v: str, sql_type: str, purpose: str) -> str:
    """The first character of the local part and the domain: z***@example.cn."""
    c = v  # cleaned by the operator's `clean` (clean_code)
    return (f"CASE WHEN {c} IS NULL THEN NULL WHEN strpos({c}, '@') > 1 "
            f"THEN left({c}, 1) || '{REDACTED}' || substr({c}, strpos({c}, '@')) "
            f"WHEN {c} = '' THEN '' ELSE '{REDACTED}' END")


def op_generalize_date(v: str, sql_type: str, purpose: str) -> str:
    """A date to its year. Text: the first plausible year (1800-2099) in it, NULL when none."""
    if sql_type.upper() in ("DATE", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE"):
        return f"CAST(year({v}) AS VARCHAR)"
    c = v  # cleaned by the operator's `clean` (clean_code)
    return f"nullif(regexp_extract({c}, '(1[89][0-9]{{2}}|20[0-9]{{2}})', 1), '')"


def _first(c: str, char: str) -> str:
    """Position of the first `char` in c, NULL when absent (string search, no regular expression:
    RE2 over Chinese text was the slowest part of masking)."""
    return f"nullif(strpos({c}, '{char}'), 0)"


def op_generalize_address(v: str, sql_type: str, purpose: str) -> str:
    """An address cut after its district: the first 区/县/旗 within 25 characters (the 区 of
    自治区 is a province's, so the next 区 is taken), else the first 市, else the province; an
    address with none of them is redacted."""
    c = v  # cleaned by the operator's `clean` (clean_text)
    qu = _first(c, "区")
    after = f"nullif(strpos(substr({c}, {qu} + 1), '区'), 0)"
    district_qu = f"CASE WHEN substr({c}, {qu} - 2, 3) = '自治区' THEN {qu} + {after} ELSE {qu} END"
    district = f"least({district_qu}, {_first(c, '县')}, {_first(c, '旗')})"
    province = f"coalesce({_first(c, '省')}, {_first(c, '自治区')} + 2)"
    cut = " ".join(f"WHEN {pos} <= 25 THEN left({c}, {pos})" for pos in (district, _first(c, "市"), province))
    return f"CASE WHEN {c} IS NULL THEN NULL WHEN {c} = '' THEN '' {cut} ELSE '{REDACTED}' END"


def op_round_coordinates(v: str, sql_type: str, purpose: str, digits: int = 3) -> str:
    """Coordinates to `digits` decimals (3 ≈ 100 m): numbers rounded half up as decimals (the
    written value: 1.0005 → 1.001, as on paper and on Spark; rounding the binary double gave
    1.0), text truncated. Beyond 10¹⁵ a double has no digits left to round."""
    if sql_type.upper() in ("DOUBLE", "FLOAT", "REAL"):
        return (f"CASE WHEN abs({v}) < 1e15 THEN CAST(round(CAST({v} AS DECIMAL(38, 10)), {digits}) AS DOUBLE) "
                f"ELSE {v} END")
    if sql_type.upper().startswith("DECIMAL"):
        return f"round({v}, {digits})"
    c = v  # cleaned by the operator's `clean` (clean_text)
    return f"regexp_replace({c}, '([0-9]+\\.[0-9]{{{digits}}})[0-9]+', '\\1', 'g')"


def op_redact(v: str, sql_type: str, purpose: str) -> str:
    """Everything hidden; NULL stays NULL (that a value is absent is not the value)."""
    return f"CASE WHEN {v} IS NULL THEN NULL ELSE '{REDACTED}' END"


def _fn(kind: str, purpose: str) -> str:
    return f"ybz_mask_{kind}_{purpose.encode().hex()}"


def op_pseudonym(v: str, sql_type: str, purpose: str) -> str:
    """HMAC-SM3 of the cleaned value (64 hex digits) under the purpose's key."""
    return f"{_fn('hmac', purpose)}({v})"


def op_sm4(v: str, sql_type: str, purpose: str) -> str:
    """SM4-CTR with a random IV per value, authenticated (crypto.sm4_encrypt's layout), base64."""
    return f"to_base64({_fn('sm4r', purpose)}({as_text(v, sql_type)}))"


def op_sm4_deterministic(v: str, sql_type: str, purpose: str) -> str:
    """SM4-CTR with a synthetic IV (HMAC-SM3 of the value): equal values encrypt equally."""
    return f"to_base64({_fn('sm4s', purpose)}({as_text(v, sql_type)}))"


def sm4_decrypt_sql(v: str, purpose: str) -> str:
    """The clear text of a column written by sm4 / sm4_deterministic (key holders only)."""
    return f"{_fn('sm4x', purpose)}(from_base64({v}))"


DENY = "deny"  # not an operator: the column may not leave by that path

BUILTIN: dict[str, Operator] = {}


class _Operators(Mapping[str, Operator]):
    """The built-in operators and every plugin's (`ybz_masking_operators`), looked up live, so a
    plugin registered after this module was imported is seen too (a built-in name wins)."""

    def _all(self) -> dict[str, Operator]:
        return {**plugins.masking_operators(), **BUILTIN}

    def __getitem__(self, name: str) -> Operator:
        return BUILTIN[name] if name in BUILTIN else plugins.masking_operators()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


OPERATORS: Mapping[str, Operator] = _Operators()


def register(op: Operator) -> Operator:
    BUILTIN[op.name] = op
    return op


for _op in (
    Operator("none", op_none, 0, clear=True, doc="原样"),
    Operator("keep", op_keep, 50, arity=(0, 2), doc="保留前m位后n位", clean=code_cleaner),
    Operator("keep_surname", op_keep_surname, 50, doc="保留姓氏", clean=text_cleaner),
    Operator("keep_email", op_keep_email, 50, doc="保留邮箱首字符与域名", clean=code_cleaner),
    Operator("generalize_date", op_generalize_date, 50, doc="日期泛化到年", clean=code_cleaner_for_text),
    Operator("generalize_address", op_generalize_address, 50, doc="地址泛化到区县", clean=text_cleaner),
    Operator("round_coordinates", op_round_coordinates, 50, arity=(0, 1), doc="经纬度保留3位小数",
             clean=text_cleaner_for_text),
    Operator("sm4", op_sm4, 60, reversible=True, doc="SM4加密"),
    Operator("sm4_deterministic", op_sm4_deterministic, 60, reversible=True, doc="SM4确定性加密"),
    Operator("pseudonym", op_pseudonym, 70, doc="HMAC-SM3假名", clean=code_cleaner),
    Operator("redact", op_redact, 90, doc="完全遮盖"),
):
    register(_op)

_SPEC_RE = re.compile(r"^\s*([a-z_][a-z0-9_]*)\s*(?:\(\s*([0-9\s,]*)\))?\s*$")


@dataclass(frozen=True)
class Spec:
    """An operator with its arguments, as written in a policy: keep(6,4), pseudonym, deny."""

    name: str
    args: tuple[int, ...] = ()

    @property
    def denied(self) -> bool:
        return self.name == DENY

    @property
    def strictness(self) -> int:
        return 100 if self.denied else OPERATORS[self.name].strictness

    def pre(self, v: str, sql_type: str = "VARCHAR") -> str | None:
        """The cleaned value the operator works on (None: the column as it is)."""
        op = OPERATORS[self.name]
        return op.clean(v, sql_type) if op.clean else None

    def post(self, c: str, sql_type: str = "VARCHAR", purpose: str = "") -> str:
        """The operator over `c`, a reference to the cleaned value (cheap to repeat)."""
        if self.denied:
            raise ValueError("a denied column has no expression")
        return OPERATORS[self.name].build(c, sql_type, purpose, *self.args)

    def build(self, v: str, sql_type: str = "VARCHAR", purpose: str = "") -> str:
        """One expression over column `v`. The cleaned value is bound once through a lambda
        (DuckDB does not share repeated subexpressions); plans use pre/post in two projections."""
        pre = self.pre(v, sql_type)
        if pre is None:
            return self.post(v, sql_type, purpose)
        return f"list_transform([{pre}], lambda _ybz_c: {self.post('_ybz_c', sql_type, purpose)})[1]"

    def __str__(self) -> str:
        return f"{self.name}({','.join(map(str, self.args))})" if self.args else self.name


class SpecInvalid(ValueError):
    pass


def parse_spec(text: str) -> Spec:
    m = _SPEC_RE.match(str(text))
    if not m:
        raise SpecInvalid(f"not an operator: {text!r}")
    name = m.group(1)
    args = tuple(int(a) for a in m.group(2).replace(" ", "").split(",") if a) if m.group(2) else ()
    if name == DENY:
        if args:
            raise SpecInvalid("deny takes no arguments")
        return Spec(DENY)
    op = OPERATORS.get(name)
    if op is None:
        raise SpecInvalid(f"unknown operator {name!r} (known: {', '.join(sorted(OPERATORS))}, deny)")
    if len(args) not in op.arity:
        raise SpecInvalid(f"{name} takes {' or '.join(map(str, op.arity))} arguments, not {len(args)}")
    return Spec(name, args)


# --- keys and the crypto UDFs ------------------------------------------------------------


def pseudonym_key(purpose: str, secret: str | None = None) -> bytes:
    """32 bytes for HMAC-SM3 pseudonyms of one purpose (an exit path, a share grant …)."""
    secret = secret if secret is not None else get_settings().secret_key
    return bytes.fromhex(crypto.hmac_sm3_hex(secret.encode(), f"pseudonym:{purpose}".encode()))


def sm4_column_key(purpose: str, secret: str | None = None) -> bytes:
    """crypto.sm4_key for masked columns of one purpose: what a key holder is given."""
    secret = secret if secret is not None else get_settings().secret_key
    return crypto.sm4_key(secret, f"mask:{purpose}")


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_BLOCK = 16


class _HmacSM3:
    """HMAC-SM3 with the key's inner and outer states computed once (copied per value)."""

    def __init__(self, key: bytes) -> None:
        key = hashlib.new("sm3", key).digest() if len(key) > 64 else key
        key = key.ljust(64, b"\0")
        self.inner = hashlib.new("sm3", bytes(b ^ 0x36 for b in key))
        self.outer = hashlib.new("sm3", bytes(b ^ 0x5C for b in key))

    def many(self, parts: list[bytes]) -> bytes:
        """The 32-byte digests of `parts`, concatenated (one OpenSSL call pair per value)."""
        out = []
        inner, outer = self.inner, self.outer
        for p in parts:
            a = inner.copy()
            a.update(p)
            b = outer.copy()
            b.update(a.digest())
            out.append(b.digest())
        return b"".join(out)


def _buffers(values: pa.Array | pa.ChunkedArray) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """(array, offsets from 0, bytes) of a string/binary array."""
    arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if pa.types.is_large_string(arr.type) or pa.types.is_large_binary(arr.type):
        arr = arr.cast(pa.binary() if pa.types.is_large_binary(arr.type) else pa.string())
    bufs = arr.buffers()
    offsets = np.frombuffer(bufs[1], dtype=np.int32)[arr.offset: arr.offset + len(arr) + 1].astype(np.int64)
    data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(0, np.uint8)
    data = data[offsets[0]: offsets[-1]]
    return arr, offsets - offsets[0], data


def _slices(data: np.ndarray, offsets: np.ndarray) -> list[bytes]:
    raw = data.tobytes()
    o = offsets.tolist()
    return [raw[o[i]:o[i + 1]] for i in range(len(o) - 1)]


def _with_nulls(arr: pa.Array, result: pa.Array) -> pa.Array:
    return pc.if_else(arr.is_null(), pa.scalar(None, result.type), result) if arr.null_count else result


def _from_parts(kind: pa.DataType, lengths: np.ndarray, data: np.ndarray) -> pa.Array:
    offsets = np.zeros(len(lengths) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    return pa.Array.from_buffers(kind, len(lengths), [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def hmac_kernel(values: pa.Array | pa.ChunkedArray, key: bytes) -> pa.Array:
    """HMAC-SM3 hex of every value; each distinct value of the chunk is hashed once."""
    arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if not len(arr):
        return pa.array([], pa.string())
    enc = arr.dictionary_encode()
    dictionary = enc.dictionary
    _, offsets, data = _buffers(dictionary)
    digests = np.frombuffer(_HmacSM3(key).many(_slices(data, offsets)), dtype=np.uint8).reshape(-1, 32)
    hexed = np.empty((len(dictionary), 64), dtype=np.uint8)
    hexed[:, 0::2] = _HEX[digests >> 4]
    hexed[:, 1::2] = _HEX[digests & 15]
    uniq = _from_parts(pa.string(), np.full(len(dictionary), 64), hexed.reshape(-1))
    return _with_nulls(arr, uniq.take(enc.indices.fill_null(0)))


def _ctr_xor(key16: bytes, ivs: np.ndarray, offsets: np.ndarray, data: np.ndarray) -> np.ndarray:
    """SM4-CTR of every value at once: counter blocks IV+j (128-bit big-endian, as
    `cryptography`'s CTR) for all values are encrypted in one ECB call, then XORed in."""
    lengths = np.diff(offsets)
    nblocks = (lengths + _BLOCK - 1) // _BLOCK
    total = int(nblocks.sum())
    if not total:
        return data.copy()
    owner = np.repeat(np.arange(len(lengths)), nblocks)
    first = np.zeros(len(lengths), dtype=np.int64)
    np.cumsum(nblocks[:-1], out=first[1:])
    j = (np.arange(total) - first[owner]).astype(np.uint64)
    halves = ivs.view(">u8").reshape(-1, 2).astype(np.uint64)[owner]
    lo = halves[:, 1] + j
    hi = halves[:, 0] + (lo < j).astype(np.uint64)  # carry
    counters = np.empty((total, 2), dtype=">u8")
    counters[:, 0], counters[:, 1] = hi, lo
    enc = Cipher(algorithms.SM4(key16), modes.ECB()).encryptor()
    stream = np.frombuffer(enc.update(counters.tobytes()) + enc.finalize(), dtype=np.uint8)
    # Byte k of value i takes keystream byte first[i]*16 + k.
    byte_owner = np.repeat(np.arange(len(lengths)), lengths)
    pos = np.arange(len(data)) - offsets[:-1][byte_owner] + first[byte_owner] * _BLOCK
    return data ^ stream[pos]


def sm4_kernel(values: pa.Array | pa.ChunkedArray, key: bytes, *, deterministic: bool = False) -> pa.Array:
    """Every value as crypto.sm4_encrypt lays it out: version | iv | ciphertext | HMAC-SM3 tag.
    The IV is random, or (deterministic) the first 16 bytes of HMAC-SM3 of the value."""
    arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if not len(arr):
        return pa.array([], pa.binary())
    arr, offsets, data = _buffers(arr)
    n = len(arr)
    mac = _HmacSM3(key[16:])
    if deterministic:
        ivs = np.frombuffer(_HmacSM3(key[16:] + b"siv").many(_slices(data, offsets)), dtype=np.uint8)
        ivs = ivs.reshape(-1, 32)[:, :16].copy()
    else:
        ivs = np.frombuffer(os.urandom(_BLOCK * n), dtype=np.uint8).reshape(n, _BLOCK).copy()
    cipher = _ctr_xor(key[:16], ivs, offsets, data)
    lengths = np.diff(offsets)
    head = 1 + _BLOCK
    body_len = lengths + head
    body = np.empty(int(body_len.sum()), dtype=np.uint8)
    starts = np.zeros(n, dtype=np.int64)
    np.cumsum(body_len[:-1], out=starts[1:])
    body[starts] = crypto.SM4_VERSION[0]
    body[(starts[:, None] + np.arange(1, head)).reshape(-1)] = ivs.reshape(-1)
    byte_owner = np.repeat(np.arange(n), lengths)
    body[np.arange(len(data)) - offsets[:-1][byte_owner] + starts[byte_owner] + head] = cipher
    body_offsets = np.zeros(n + 1, dtype=np.int64)
    body_offsets[1:] = np.cumsum(body_len)
    tags = np.frombuffer(mac.many(_slices(body, body_offsets)), dtype=np.uint8).reshape(n, 32)
    out_len = body_len + 32
    out = np.empty(int(out_len.sum()), dtype=np.uint8)
    out_starts = starts + 32 * np.arange(n)
    owner = np.repeat(np.arange(n), body_len)
    out[np.arange(len(body)) - starts[owner] + out_starts[owner]] = body
    out[((out_starts + body_len)[:, None] + np.arange(32)).reshape(-1)] = tags.reshape(-1)
    return _with_nulls(arr, _from_parts(pa.binary(), out_len, out))


def sm4_decrypt_kernel(values: pa.Array | pa.ChunkedArray, key: bytes) -> pa.Array:
    """The clear text of sm4_kernel's output; a damaged value or another key is an error."""
    arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if not len(arr):
        return pa.array([], pa.string())
    arr, offsets, data = _buffers(arr)
    lengths = np.diff(offsets)
    n = len(arr)
    valid = arr.is_valid().to_numpy(zero_copy_only=False)
    head = 1 + _BLOCK
    if ((lengths < head + 32) & valid).any():
        raise ValueError("SM4 value too short to be one of ours")
    lengths = np.where(valid, lengths, head + 32)  # NULLs: a dummy empty value
    safe = np.zeros(0, np.uint8)
    parts = _slices(data, offsets)
    parts = [p if ok else bytes(head + 32) for p, ok in zip(parts, valid.tolist(), strict=True)]
    data = np.frombuffer(b"".join(parts), dtype=np.uint8) if parts else safe
    offsets = np.zeros(n + 1, dtype=np.int64)
    offsets[1:] = np.cumsum(lengths)
    bodies = [p[:-32] for p in parts]
    tags = np.frombuffer(b"".join(p[-32:] for p in parts), dtype=np.uint8).reshape(n, 32)
    expect = np.frombuffer(_HmacSM3(key[16:]).many(bodies), dtype=np.uint8).reshape(n, 32)
    versions = data[offsets[:-1]]
    bad = ((expect != tags).any(axis=1) | (versions != crypto.SM4_VERSION[0])) & valid
    if bad.any():
        raise ValueError("SM4 value damaged or sealed with another key")
    ivs = (offsets[:-1, None] + np.arange(1, head)).reshape(-1)
    ivs = data[ivs].reshape(n, _BLOCK).copy()
    ct_len = lengths - head - 32
    ct_off = np.zeros(n + 1, dtype=np.int64)
    ct_off[1:] = np.cumsum(ct_len)
    owner = np.repeat(np.arange(n), ct_len)
    ct = data[np.arange(int(ct_len.sum())) - ct_off[:-1][owner] + offsets[:-1][owner] + head]
    clear = _ctr_xor(key[:16], ivs, ct_off, ct)
    return _with_nulls(arr, _from_parts(pa.string(), ct_len, clear))


# --- registration on a connection ----------------------------------------------------------

_KEYED_RE = re.compile(r"ybz_mask_(hmac|sm4r|sm4s|sm4x)_([0-9a-f]*)")


def _function(name: str, kind: str, purpose: str, secret: str | None) -> Function:
    if kind == "hmac":
        key = pseudonym_key(purpose, secret)
        return Function(name, lambda v: hmac_kernel(v, key), ("VARCHAR",), "VARCHAR")
    key = sm4_column_key(purpose, secret)
    if kind == "sm4x":
        return Function(name, lambda v: sm4_decrypt_kernel(v, key), ("BLOB",), "VARCHAR")
    det = kind == "sm4s"
    return Function(name, lambda v: sm4_kernel(v, key, deterministic=det), ("VARCHAR",), "BLOB",
                    side_effects=kind == "sm4r")  # random IVs: never folded into one call


def functions(sql: str, *, secret: str | None = None) -> list[Function]:
    """The keyed functions `sql` calls, their keys derived from `secret` (the platform secret by
    default) and the purpose each name carries."""
    found = sorted({m.group(0): m for m in _KEYED_RE.finditer(sql)}.items())
    return [_function(name, m.group(1), bytes.fromhex(m.group(2)).decode(), secret) for name, m in found]


def prepare(con: Connection, sql: str, *, secret: str | None = None) -> None:
    """Register on `con` the keyed functions `sql` calls, through the engine's hook. One
    connection serves one secret (a name already registered is kept)."""
    install(con, functions(sql, secret=secret))


def execute(sql: str, *, con: Connection | None = None, secret: str | None = None,
            tables: dict[str, pa.Table] | None = None) -> pa.Table:
    """Run a masked SELECT (on `con`, or a fresh zone engine connection) and return Arrow."""
    own = con is None
    if con is None:
        con = get_engine().connect()
    try:
        for name, table in (tables or {}).items():
            con.register(name, table)
        prepare(con, sql, secret=secret)
        return con.sql(sql).to_arrow_table()
    finally:
        if own:
            con.close()

