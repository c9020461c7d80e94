"""Entity keys of base libraries, normalised and checked in SQL (DOMAIN §2, §3).

One definition for every engine: the expressions are DuckDB SQL, transpiled to Spark SQL by the
zone's `spark_sql`. Rows flow through three layers (each a CTE of the fusion plan):

1. `_n`: the raw key as text, full-width letters/digits and spaces made half-width
   (translate), every white space removed, upper-cased (a lower-case x becomes X);
2. `_k`: for a person key, a 15-digit legacy ID upgraded by GB 11643: "19" inserted before the
   two-digit birth year, the MOD 11-2 check character appended; otherwise `_n`;
3. `_code`: NULL for a valid key, else the reject code (REJECTS, its reason in the catalogue).
"""

from __future__ import annotations

from datetime import date

from ..codes import USCC_ALPHABET
from ..i18n import N_, translate
from ..quality.validators import ID_CHECK, ID_MIN_BIRTH, ID_WEIGHTS, PROVINCE_PREFIXES, USCC_WEIGHTS

PERSON, ORG = "person", "org"  # key kinds: 公民身份号码 (GB 11643), 统一社会信用代码 (GB 32100)
KINDS = (PERSON, ORG)

# Reject codes of keys, with their reasons (English in the catalogue): stable, shown to stewards and in rejects files.
REJECTS: dict[str, str] = {
    "key_missing": N_("键值为空"),
    "key_format": N_("键值格式不符（应为18位，或15位旧身份证号）"),
    "key_region": N_("身份证号的地址码不是有效的省级代码"),
    "key_birth_date": N_("身份证号的出生日期无效或晚于融合日"),
    "key_checksum": N_("校验码不符"),
}

_FULL = "".join(chr(c) for c in range(0xFF10, 0xFF1A)) + "".join(chr(c) for c in range(0xFF21, 0xFF3B)) \
    + "".join(chr(c) for c in range(0xFF41, 0xFF5B)) + "\u3000\u00a0"
_HALF = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz  "
USCC_RE = f"[{USCC_ALPHABET}]{{2}}[0-9]{{6}}[{USCC_ALPHABET}]{{10}}"


def _s(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# ASCII white space (tab, line feed, vertical tab, form feed, carriage return, space): one list
# for the regex class and the plain-key test. Explicit, as `\\s` is [\t\n\f\r ] in DuckDB's RE2 and
# includes \x0B in Spark's Java regex; both read \xHH alike.
_WHITE = (9, 10, 11, 12, 13, 32)
_SPACE_CLASS = "[" + "".join(f"\\x{c:02X}" for c in _WHITE) + "]"


def plain(text: str) -> str:
    """True for a text that normalises to itself upper-cased: not empty, ASCII only (its bytes are
    its characters: nothing full-width) and without white space. Four times cheaper than a regex."""
    spaced = " OR ".join(f"contains({text}, chr({c}))" for c in _WHITE)
    return f"(strlen({text}) = length({text}) AND {text} <> '' AND NOT ({spaced}))"


def normalised(raw: str) -> str:
    """Layer 1 (`_n`) of a raw key expression."""
    text = f"CAST({raw} AS VARCHAR)"
    slow = f"NULLIF(upper(regexp_replace(translate({text}, {_s(_FULL)}, {_s(_HALF)}), '{_SPACE_CLASS}', '', 'g')), '')"
    return f"(CASE WHEN {plain(text)} THEN upper({text}) ELSE {slow} END)"


def _is15(n: str) -> str:
    # the length first: the regex then runs on 15-character keys only (a CASE evaluates lazily)
    return f"(CASE WHEN length({n}) = 15 THEN regexp_full_match({n}, '[0-9]{{15}}') ELSE false END)"


def upgraded(n: str, kind: str) -> str:
    """Layer 2 (`_k` before its check character): a 15-digit ID as its 17-digit body."""
    if kind != PERSON:
        return n
    return f"(CASE WHEN {_is15(n)} THEN substr({n}, 1, 6) || '19' || substr({n}, 7, 9) ELSE {n} END)"


def _id_check(body: str, number: str | None = None) -> str:
    """The check character of a 17-digit body: its digits taken from the body as one BIGINT (integer
    division; several times cheaper than casting 17 one-character substrings). `number`: a column
    holding that BIGINT already (an expression inside a CASE branch is not shared, so its 17 uses
    would each parse the body again)."""
    number = number or f"TRY_CAST({body} AS BIGINT)"
    terms = " + ".join(f"({number} // {10 ** (16 - i)}) % 10 * {w}" for i, w in enumerate(ID_WEIGHTS))
    return f"substr('{ID_CHECK}', CAST(({terms}) % 11 AS INTEGER) + 1, 1)"


def _uscc_check(k: str) -> str:
    terms = " + ".join(f"(instr('{USCC_ALPHABET}', substr({k}, {i + 1}, 1)) - 1) * {w}"
                       for i, w in enumerate(USCC_WEIGHTS))
    return f"substr('{USCC_ALPHABET}', CAST((31 - (({terms}) % 31)) % 31 AS INTEGER) + 1, 1)"


def final_key(n: str, u: str, kind: str) -> str:
    """Layer 3's key: the upgraded body with its check character appended (person keys)."""
    if kind != PERSON:
        return u
    return f"(CASE WHEN {_is15(n)} THEN {u} || {_id_check(u)} ELSE {u} END)"


def reject_code(n: str, k: str, kind: str, today: date, number: str | None = None) -> str:
    """Layer 3's reject code (NULL: valid) of key `k` normalised from `n` (`number`: a column
    holding `body_number(k)`, see `_id_check`)."""
    if kind == ORG:
        return (f"(CASE WHEN {n} IS NULL THEN 'key_missing' "
                f"WHEN NOT regexp_full_match({k}, '{USCC_RE}') THEN 'key_format' "
                f"WHEN substr({k}, 18, 1) <> {_uscc_check(k)} THEN 'key_checksum' ELSE NULL END)")
    provinces = ", ".join(_s(p) for p in sorted(PROVINCE_PREFIXES))
    born = f"CAST(try_strptime(substr({k}, 7, 8), '%Y%m%d') AS DATE)"  # once: in a CASE it is not shared
    return (f"(CASE WHEN {n} IS NULL THEN 'key_missing' "
            f"WHEN NOT regexp_full_match({k}, '[0-9]{{17}}[0-9X]') THEN 'key_format' "
            f"WHEN substr({k}, 1, 2) NOT IN ({provinces}) THEN 'key_region' "
            f"WHEN NOT coalesce({born} BETWEEN DATE '{ID_MIN_BIRTH.isoformat()}' AND DATE '{today.isoformat()}', "
            f"false) THEN 'key_birth_date' "
            f"WHEN substr({k}, 18, 1) <> {_id_check(f'substr({k}, 1, 17)', number)} THEN 'key_checksum' ELSE NULL END)")


def body_number(k: str) -> str:
    """The first 17 characters of a person key as a BIGINT (NULL unless digits)."""
    return f"TRY_CAST(substr({k}, 1, 17) AS BIGINT)"


def key_layers(raw: str, kind: str, today: date, source: str, extra: str = "") -> str:
    """SELECT … FROM `source` adding `_n`, `_k` and `_code` to `extra` columns (three nested
    selects: Spark cannot use an alias in the select that defines it)."""
    head = f"{extra}, " if extra else ""
    first = f"SELECT {head}{normalised(raw)} AS _n FROM {source}"
    second = f"SELECT *, {upgraded('_n', kind)} AS _u FROM ({first}) AS _l1"
    third = f"SELECT *, {final_key('_n', '_u', kind)} AS _k FROM ({second}) AS _l2"
    return f"SELECT *, {reject_code('_n', '_k', kind, today)} AS _code FROM ({third}) AS _l3"


def key_steps(raw: str, kind: str, today: date, source: str, extra: str = "",
              where: str = "", keep: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """The same layers as two steps (suffix, SQL; the second over the first, `{prev}`), for an
    engine to materialise one by one: `_n` first (nested, an optimiser may inline it into the
    later layers' many uses); then `_k`, `_code` and the body's number as nested selects over
    it, `where` (a condition on `_k`) keeping only some keys before they are checked. `keep`:
    the names of `extra`'s columns; given, the second step has only those, `_k` and `_code`
    (not `_n` and the body's number: a table of fewer columns to write)."""
    head = f"{extra}, " if extra else ""
    keyed = f"SELECT *, {final_key('_n', upgraded('_n', kind), kind)} AS _k FROM {{prev}}"  # upgraded: 15-digit only
    if where:
        keyed = f"SELECT * FROM ({keyed}) AS _f WHERE {where}"
    cols = ", ".join([*keep, "_k"]) if keep else "*"
    if kind == PERSON:
        code = (f"SELECT {cols}, {reject_code('_n', '_k', kind, today, '_num')} AS _code FROM "
                f"(SELECT *, {body_number('_k')} AS _num FROM ({keyed}) AS _l3) AS _l4")
    else:
        code = f"SELECT {cols}, {reject_code('_n', '_k', kind, today)} AS _code FROM ({keyed}) AS _l3"
    return [("_n", f"SELECT {head}{normalised(raw)} AS _n FROM {source}"), ("", code)]


def could_be(raw: str, kind: str, wanted: str) -> str:
    """A cheap condition true for every raw key that normalises to a key of the one-column
    relation `wanted` (`_k`), and for few others: a plain key (`plain`) is upper-cased (a 15-digit
    one upgraded) — so it must be a wanted key or its 15-digit form — and any other (spaces,
    full-width) may be."""
    text = f"CAST({raw} AS VARCHAR)"
    forms = f"SELECT _k FROM {wanted}"
    if kind == PERSON:  # the legacy form drops the century "19" and the check character
        forms += f" UNION ALL SELECT substr(_k, 1, 6) || substr(_k, 9, 9) FROM {wanted} WHERE substr(_k, 7, 2) = '19'"
    return f"(upper({text}) IN ({forms}) OR NOT {plain(text)})"


def reason(code: str, lang: str = "zh") -> str:
    return translate(REJECTS[code], lang)
