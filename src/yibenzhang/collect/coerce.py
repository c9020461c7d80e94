"""Coercion of source values to item data types, as DuckDB SQL over the whole batch.

Exact by rule (issue 15): a value is accepted only if it converts without loss; anything else is
a reject with a stable code, never a rounded, truncated or guessed value. Per data type:

- C 字符型 / M 备注型 / B 二进制: the text as sent (an empty value is no value). A code-like C item
  (a format such as ID or USCC, or a name ending in 码/号/证/账号/卡) refuses a number that Excel
  wrote in scientific notation (`5.20102E+17`): its digits are gone (`scientific_notation`).
- I 整型: an optional sign and digits; a zero fraction (`3.0`) is the same integer. `2.5` is
  `integer_fraction`, beyond BIGINT `integer_out_of_range`, `1E+3` `scientific_notation`.
- Y 货币型 (DECIMAL(18,2)): ¥/￥ before or 元 after; at most two decimals that are not zero
  (`12.345` is `amount_scale`, never rounded), at most 16 integer digits (`amount_out_of_range`).
- N 数值型 / F 浮点型 (DOUBLE): decimal or scientific notation whose value the double represents
  exactly in the round-trip sense (its shortest text is the same number): at most 15 significant
  digits always are; `12345678901234567890` is `number_precision`; infinities are refused.
- D 日期型: YYYY-MM-DD, YYYY/MM/DD, YYYY.MM.DD, YYYY年M月D日 or YYYYMMDD (8 digits) naming a day that
  exists (`2023-02-30` is `date_nonexistent`); a date and time only at midnight (`date_has_time`).
- T 日期时间型: such a date, then a time (H:MM[:SS[.ffffff]] or H时M分S秒), read as local time.
- L 逻辑型: 是/否, 对/错, y/n, yes/no, true/false, t/f, 1/0 (any case).
- For every non-text type: surrounding spaces are not part of the value; full-width digits and
  signs are their ASCII forms; a thousands separator (, or ，) only in groups of three
  (`1,234.5`; `1,23` is `thousands_separator`).

Each item yields a typed value expression and, for types that can fail, the value as sent when
it failed (NULL otherwise); a row with any failure, or without a key item, is rejected. The
reason code is worked out again from the value as sent, over the rejected rows only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..enums import DataType
from ..i18n import N_, translate
from ..zone.service import COLUMN_TYPES, literal, quote

FULL_WIDTH = "０１２３４５６７８９．，－／：＋　"
HALF_WIDTH = "0123456789.,-/:+ "
_FULL_CLASS = f"[{FULL_WIDTH}]"
DATE_FORMATS = ["%Y-%m-%d", "%Y/%m/%d", "%Y年%m月%d日", "%Y%m%d", "%Y.%m.%d"]
TIME_FORMATS = [d + sep + t for d in DATE_FORMATS for sep in (" ", "T")
                for t in ("%H:%M:%S", "%H:%M", "%H:%M:%S.%f")] + [d + "%H时%M分%S秒" for d in DATE_FORMATS]
TRUE_WORDS = ["是", "y", "yes", "true", "t", "1", "对"]
FALSE_WORDS = ["否", "n", "no", "false", "f", "0", "错"]
# Shapes checked before strptime, which is lenient (it reads "2023123" as 2023-12-3).
DATE_RE = (r"[0-9]{4}(-[0-9]{1,2}-[0-9]{1,2}|/[0-9]{1,2}/[0-9]{1,2}|\.[0-9]{1,2}\.[0-9]{1,2}"
           r"|年[0-9]{1,2}月[0-9]{1,2}日|[0-9]{4})")
TIME_RE = r"([ T][0-9]{1,2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?|[0-9]{1,2}时[0-9]{1,2}分[0-9]{1,2}秒)"
INT_RE = r"[+-]?[0-9]+(\.0*)?"
DECIMAL_RE = r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)"
AMOUNT_RE = r"[+-]?([0-9]+(\.[0-9]{0,2}0*)?|\.[0-9]{1,2}0*)"
SCI_RE = DECIMAL_RE + r"[eE][+-]?[0-9]+"
NUMBER_RE = DECIMAL_RE + r"([eE][+-]?[0-9]+)?"
EXCEL_SCI_RE = r"[+-]?[0-9]+(\.[0-9]+)?[eE]\+[0-9]+"  # how Excel shows a long number
GROUPED_RE = r"[+-]?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]*)?"
EXACT_DIGITS = 15  # a decimal of this many significant digits always survives a double (DBL_DIG)
CODE_WORDS = re.compile(r"(码|号|证|账号|卡)$|号码|代码|编码|证号")

# code: reason (zh; its English in the catalogue)
REASONS: dict[str, str] = {
    "invalid_date": N_("不是有效的日期"),
    "date_nonexistent": N_("日期不存在（如2月30日）"),
    "date_has_time": N_("日期型信息项的值带有时刻，不会截去"),
    "invalid_datetime": N_("不是有效的日期时间"),
    "invalid_amount": N_("不是有效的金额"),
    "amount_scale": N_("金额超过两位小数，不会四舍五入"),
    "amount_out_of_range": N_("金额超出范围（整数部分最多16位）"),
    "invalid_number": N_("不是有效的数值"),
    "number_precision": N_("有效数字过多，按数值型存储会丢失精度"),
    "number_out_of_range": N_("数值超出范围"),
    "invalid_integer": N_("不是有效的整数"),
    "integer_fraction": N_("整数信息项的值带有小数部分，不会四舍五入"),
    "integer_out_of_range": N_("超出整数范围"),
    "scientific_notation": N_("科学计数法导致精度丢失（请在电子表格中将该列设为文本后重新导出）"),
    "thousands_separator": N_("千位分隔符位置不正确"),
    "invalid_logical": N_("不是有效的逻辑值（是/否）"),
    "key_missing": N_("缺少主键信息项的值"),
    "row_columns": N_("该行的列数与表头不符"),
}
CODE_BY_LETTER = {"D": "invalid_date", "T": "invalid_datetime", "Y": "invalid_amount", "N": "invalid_number",
                  "F": "invalid_number", "I": "invalid_integer", "L": "invalid_logical", "C": "scientific_notation"}
# DuckDB macros the plan's SQL uses: a decimal's canonical form (sign, digits without leading or
# trailing zeros, exponent), to tell whether a double kept every digit of the text it came from.
MACROS = [
    "CREATE OR REPLACE TEMP MACRO ybz_canon3(neg, d, x) AS CASE WHEN d = '' THEN '0' ELSE "
    "(CASE WHEN neg THEN '-' ELSE '' END) || rtrim(d, '0') || 'e' || "
    "CAST(x + length(d) - length(rtrim(d, '0')) AS VARCHAR) END",
    "CREATE OR REPLACE TEMP MACRO ybz_canon2(neg, ip, fp, e) AS ybz_canon3(neg, ltrim(ip || fp, '0'), e - length(fp))",
    "CREATE OR REPLACE TEMP MACRO ybz_canon1(neg, m, e) AS ybz_canon2(neg, split_part(m, '.', 1), "
    "split_part(m, '.', 2), e)",
    "CREATE OR REPLACE TEMP MACRO ybz_canon(s) AS ybz_canon1(starts_with(s, '-'), "
    "regexp_extract(ltrim(ltrim(s, '+'), '-'), '^([0-9]*\\.?[0-9]*)', 1), "
    "coalesce(TRY_CAST(regexp_extract(s, '[eE]([+-]?[0-9]+)$', 1) AS INTEGER), 0))",
]


def canon_inline(s: str) -> str:
    """`ybz_canon(s)` written out, for an engine without DuckDB's macros (Spark): the same steps,
    each argument substituted where the macro names it."""
    m = f"regexp_extract(ltrim(ltrim({s}, '+'), '-'), '^([0-9]*\\.?[0-9]*)', 1)"
    e = f"coalesce(TRY_CAST(regexp_extract({s}, '[eE]([+-]?[0-9]+)$', 1) AS INTEGER), 0)"
    ip, fp = f"split_part({m}, '.', 1)", f"split_part({m}, '.', 2)"
    d, x = f"ltrim({ip} || {fp}, '0')", f"({e} - length({fp}))"
    return (f"CASE WHEN {d} = '' THEN '0' ELSE (CASE WHEN starts_with({s}, '-') THEN '-' ELSE '' END) || "
            f"rtrim({d}, '0') || 'e' || CAST({x} + length({d}) - length(rtrim({d}, '0')) AS VARCHAR) END")


def _rounded(jd: str, jx: str, k: str) -> str:
    """The decimal of digits `jd` × 10^`jx` rounded half up to `k` significant digits, as text:
    integer arithmetic (Spark's round() takes a constant scale only; `jd` has at most 18 digits)."""
    drop = f"greatest(0, length({jd}) - ({k}))"
    unit = f"CAST(pow(10, {drop}) AS BIGINT)"
    return (f"(CAST((TRY_CAST({jd} AS BIGINT) + {unit} // 2) // {unit} AS VARCHAR) "
            f"|| 'e' || CAST({jx} + {drop} AS VARCHAR))")


def shortest_layers(g: str, d: str, k: int, slow: str = "TRUE") -> tuple[list[list[str]], str]:
    """Whether `g` is the shortest text of the double `d` it parses to — `ybz_canon(g) =
    ybz_canon(CAST(d AS VARCHAR))` — for an engine whose double-to-text is not always the shortest:
    Spark on Java 17, whose Double.toString gives 17 digits where 16 suffice (JDK-4511638, fixed in
    Java 19). From that text J (which parses back to `d`), g of n significant digits is the
    shortest iff J rounded to n digits is g and J rounded to n - 1 digits no longer parses to `d`.

    As projection layers (column names suffixed `k`; each layer reads the one before: inlined, the
    repeated sub-expressions made a statement too large for Spark's analyser) and the condition
    over them; the work is done only where `slow` holds (the other rows are decided before)."""
    cg, cj, jd, jx, nd, r1, r0 = (f"_{x}{k}" for x in ("cg", "cj", "jd", "jx", "nd", "r1", "r0"))
    unsigned = f"regexp_replace({g}, '^[+-]', '')"
    layers = [
        [f"CASE WHEN {slow} THEN {canon_inline(unsigned)} END AS {cg}",
         f"CASE WHEN {slow} THEN {canon_inline(f'CAST(abs({d}) AS VARCHAR)')} END AS {cj}"],
        [f"split_part({cj}, 'e', 1) AS {jd}", f"TRY_CAST(split_part({cj}, 'e', 2) AS INTEGER) AS {jx}",
         f"length(split_part({cg}, 'e', 1)) AS {nd}"],
        [f"{_rounded(jd, jx, nd)} AS {r1}", f"{_rounded(jd, jx, f'{nd} - 1')} AS {r0}"],
    ]
    test = (f"(CASE WHEN {cg} = '0' OR {cj} = '0' THEN {cg} = {cj} ELSE {canon_inline(r1)} = {cg} "
            f"AND ({nd} = 1 OR TRY_CAST({r0} AS DOUBLE) <> abs({d})) END)")
    return layers, test


def _list(values: list[str]) -> str:
    return "[" + ", ".join(literal(v) for v in values) + "]"


def _match(n: str, pattern: str) -> str:
    return f"regexp_full_match({n}, {literal(pattern)})"


def text(src: str, letter: str) -> str:
    """The source value as text; for non-text types with full-width digits and signs made ASCII
    (translate() is slow, so it runs only on the values that have one of them)."""
    t = f"CAST({src} AS VARCHAR)"
    if letter in ("C", "M", "B"):
        return t
    return (f"CASE WHEN strlen({t}) = length({t}) OR NOT regexp_matches({t}, {literal(_FULL_CLASS)}) "
            f"THEN {t} ELSE translate({t}, {literal(FULL_WIDTH)}, {literal(HALF_WIDTH)}) END")


def trimmed(t: str) -> str:
    """Text `t` without surrounding spaces, NULL when empty (trim() copies every value, so it
    runs only on the values that start or end with a space)."""
    return f"CASE WHEN {t} LIKE ' %' OR {t} LIKE '% ' THEN NULLIF(trim({t}), '') ELSE NULLIF({t}, '') END"


def normalized(src: str, letter: str) -> str:
    """The text a value is judged on: text types as sent (only an empty value is none), the
    others trimmed, with ASCII digits."""
    if letter in ("C", "M", "B"):
        return f"NULLIF({text(src, letter)}, '')"
    return trimmed(text(src, letter))


def ungrouped(n: str) -> str:
    """`n` without its thousands separators when they stand in groups of three; NULL when a
    separator is misplaced."""
    return (f"CASE WHEN NOT contains({n}, ',') THEN {n} WHEN {_match(n, GROUPED_RE)} "
            f"THEN replace({n}, ',', '') END")


def _uncurrency(n: str) -> str:
    """An amount without ¥/￥ before it (after the sign) or 元 after it (the common forms without
    a regular expression)."""
    stripped = f"regexp_replace(regexp_replace({n}, '^([+-]?) *[¥￥] *', '\\1'), ' *元$', '')"
    return (f"CASE WHEN NOT (contains({n}, '¥') OR contains({n}, '￥') OR contains({n}, '元')) THEN {n} "
            f"WHEN (starts_with({n}, '¥') OR starts_with({n}, '￥')) AND NOT contains({n}, '元') "
            f"THEN ltrim(substr({n}, 2), ' ') ELSE {stripped} END")


def _date_time(n: str) -> str:
    return (f"CASE WHEN {_match(n, DATE_RE + TIME_RE)} AND NOT starts_with({n}, '0000') "
            f"THEN try_strptime({n}, {_list(TIME_FORMATS)}) END")


def prepared(n: str, letter: str) -> str:
    """Normalized text `n` ready to convert: an amount without its currency sign, a number
    without its thousands separators (NULL when they are misplaced); `n` itself otherwise."""
    if letter == "Y":
        return ungrouped(_uncurrency(n))
    if letter in ("I", "N", "F"):
        return ungrouped(n)
    return n


def typed(n: str, letter: str, codelike: bool = False, g: str | None = None, *, exact: str | None = None) -> str:
    """The typed value of normalized text `n` (`g`: its `prepared` form, a column when the
    caller computed it once), NULL when it cannot be converted exactly. `exact`: the condition that
    a number's text is its double's shortest (`shortest_layers`; by DuckDB's macro otherwise)."""
    g = g or prepared(n, letter)
    if letter == "D":
        day = (f"CASE WHEN {_match(n, DATE_RE)} AND NOT starts_with({n}, '0000') "
               f"THEN CAST(try_strptime({n}, {_list(DATE_FORMATS)}) AS DATE) END")
        at = _date_time(n)
        midnight = f"CASE WHEN {at} = CAST(CAST({at} AS DATE) AS TIMESTAMP) THEN CAST({at} AS DATE) END"
        return f"coalesce({day}, {midnight})"
    if letter == "T":
        day = (f"CASE WHEN {_match(n, DATE_RE)} THEN CAST(CAST(try_strptime({n}, {_list(DATE_FORMATS)}) "
               f"AS DATE) AS TIMESTAMP) END")
        return f"CASE WHEN starts_with({n}, '0000') THEN NULL ELSE coalesce({_date_time(n)}, {day}) END"
    if letter == "Y":
        return f"CASE WHEN {_match(g, AMOUNT_RE)} THEN TRY_CAST({g} AS DECIMAL(18,2)) END"
    if letter in ("N", "F"):
        d = f"TRY_CAST({g} AS DOUBLE)"
        short = f"(length({g}) <= {EXACT_DIGITS} AND NOT (contains({g}, 'e') OR contains({g}, 'E')))"
        exact = exact or f"ybz_canon({g}) = ybz_canon(CAST({d} AS VARCHAR))"
        # CASE, not AND/OR: only the rows that reach a branch compute it
        return (f"CASE WHEN NOT {_match(g, NUMBER_RE)} THEN NULL WHEN {short} THEN {d} "
                f"WHEN isfinite({d}) AND {exact} THEN {d} END")
    if letter == "I":
        return (f"CASE WHEN {_match(g, INT_RE)} THEN TRY_CAST(CASE WHEN contains({g}, '.') "
                f"THEN split_part({g}, '.', 1) ELSE {g} END AS BIGINT) END")
    if letter == "L":
        # a simple CASE, not IN or list_contains: those become a join, and a join stops the
        # ordered parallel Parquet write
        words = [f"WHEN {literal(w)} THEN true" for w in TRUE_WORDS] + \
            [f"WHEN {literal(w)} THEN false" for w in FALSE_WORDS]
        return f"CASE lower({n}) {' '.join(words)} END"
    if letter == "C" and codelike:
        return (f"CASE WHEN (contains({n}, 'E+') OR contains({n}, 'e+')) AND {_match(n, EXCEL_SCI_RE)} "
                f"THEN NULL ELSE {n} END")
    return n


FAST_CASTS = {"I": "BIGINT", "N": "DOUBLE", "F": "DOUBLE", "Y": "DECIMAL(18,2)", "D": "DATE", "T": "TIMESTAMP"}


def candidate(g: str, letter: str) -> str | None:
    """The plain cast of prepared text `g`: exact whenever its own text is `g` (see `fast`)."""
    target = FAST_CASTS.get(letter)
    return f"TRY_CAST({g} AS {target})" if target else None


def fast(c: str, g: str, letter: str) -> str:
    """The cast `c` of `g` is exact without further checks: `g` is the cast value's own canonical
    text (plain digits, the shortest text of a double, two decimals, ISO date or timestamp). Most
    values take this path; the others go through `typed`'s rules."""
    finite = f"isfinite({c}) AND " if letter in ("N", "F") else ""
    # the year 0000 is no date (`typed` refuses it): Spark reads and writes it as a proleptic year 0
    real = f"NOT starts_with({g}, '0000') AND " if letter in ("D", "T") else ""
    return f"({finite}{real}CAST({c} AS VARCHAR) = {g})"


def number_text(n: str, letter: str) -> str:
    """A number's normalized text `n` without its currency sign (Y) and thousands separators."""
    return ungrouped(_uncurrency(n) if letter == "Y" else n)


def failure_code(n: str, letter: str, g: str | None = None) -> str:
    """SQL of the reject code of normalized text `n` that `typed` refused (run on rejects only).
    `g`: a column already holding number_text(n) (the expression is repeated below: given as a
    column, the statement stays small; inlined, an amount's was 200 kB of SQL to parse and bind)."""
    if letter in ("I", "Y", "N", "F"):
        g = g or number_text(n, letter)
        decimal, sci = _match(g, DECIMAL_RE), _match(g, SCI_RE)
        if letter == "I":
            why = (f"WHEN {sci} THEN 'scientific_notation' WHEN {decimal} AND regexp_matches({g}, '\\.[0-9]*[1-9]') "
                   f"THEN 'integer_fraction' WHEN {decimal} THEN 'integer_out_of_range'")
        elif letter == "Y":
            why = (f"WHEN {sci} THEN 'scientific_notation' WHEN {decimal} AND NOT {_match(g, AMOUNT_RE)} "
                   f"THEN 'amount_scale' WHEN {decimal} THEN 'amount_out_of_range'")
        else:
            why = (f"WHEN ({decimal} OR {sci}) AND NOT isfinite(TRY_CAST({g} AS DOUBLE)) THEN 'number_out_of_range' "
                   f"WHEN {decimal} OR {sci} THEN 'number_precision'")
        return (f"CASE WHEN contains({n}, ',') AND ({g}) IS NULL THEN 'thousands_separator' {why} "
                f"ELSE {literal(CODE_BY_LETTER[letter])} END")
    if letter == "D":
        return (f"CASE WHEN ({_date_time(n)}) IS NOT NULL THEN 'date_has_time' "
                f"WHEN {_match(n, DATE_RE)} THEN 'date_nonexistent' ELSE 'invalid_date' END")
    if letter == "T":
        return (f"CASE WHEN {_match(n, DATE_RE + '(' + TIME_RE + ')?')} THEN 'date_nonexistent' "
                f"ELSE 'invalid_datetime' END")
    return literal(CODE_BY_LETTER[letter])


def reason_columns(code: str) -> tuple[str, str]:
    """SQL of the zh and en reasons of the code expression `code`."""
    zh = " ".join(f"WHEN {literal(k)} THEN {literal(v)}" for k, v in REASONS.items())
    en = " ".join(f"WHEN {literal(k)} THEN {literal(translate(v, 'en'))}" for k, v in REASONS.items())
    return f"CASE {code} {zh} END", f"CASE {code} {en} END"


def is_codelike(name: str, fmt: str | None) -> bool:
    """An item holding a code or number-like identifier (its digits matter, not its value)."""
    from ..quality.rules import format_of  # the catalogue's own reading of names and formats

    return bool(format_of(name, fmt, "C") not in (None, "date_text") or CODE_WORDS.search(name))


@dataclass(frozen=True)
class ItemSpec:
    """What coercion needs of a 信息项 (a plain copy, usable outside the DB session)."""

    name: str
    data_type: str
    required: bool = False
    is_key: bool = False
    codelike: bool = False  # a code or identifier: scientific notation means its digits are lost

    @classmethod
    def of(cls, item: object) -> ItemSpec:
        name, fmt = item.name, getattr(item, "format", None)  # type: ignore[attr-defined]
        return cls(name, item.data_type, bool(item.required), bool(item.is_key),  # type: ignore[attr-defined]
                   is_codelike(name, fmt))


@dataclass
class Plan:
    """SQL of one ingest: the coerced table, the accepted rows and the rejects."""

    items: list[ItemSpec]
    mapping: dict[str, str]  # item name -> source column
    inline: bool = False  # the macros written out (an engine without them: Spark)

    def letter(self, item: ItemSpec) -> str:
        dt = DataType.parse(item.data_type)
        return dt.letter if dt else "C"

    def can_fail(self, item: ItemSpec) -> bool:
        letter = self.letter(item)
        return letter in CODE_BY_LETTER and (letter != "C" or item.codelike)

    def fallible(self) -> list[ItemSpec]:
        return [i for i in self.items if i.name in self.mapping and self.can_fail(i)]

    def schema(self) -> dict[str, str]:
        return {i.name: COLUMN_TYPES[self.letter(i)] for i in self.items}

    def coerced_sql(self, source: str) -> str:
        """SELECT over `source` (a relation with the source columns and _row) giving each item
        typed, `_raw<k>` (the value as sent) for failed values, and `_bad`. A row with no value
        at all (a blank line) is no row."""
        cast_cols, text_cols, norm_cols = ["_row"], ["_row"], ["_row"]
        blank = []
        for k, item in enumerate(self.items):
            if item.name in self.mapping:
                letter = self.letter(item)
                cast_cols.append(f"CAST({quote(self.mapping[item.name])} AS VARCHAR) AS _o{k}")
                text_cols.append(f"_o{k}, {text(f'_o{k}', letter)} AS _t{k}")
                norm = f"NULLIF(_t{k}, '')" if letter in ("C", "M", "B") else trimmed(f"_t{k}")
                norm_cols.append(f"_o{k}, {norm} AS _n{k}")
                blank.append(f"(_o{k} IS NULL OR _o{k} = '')")
        # each layer computes a value once for the layers above (DuckDB repeats an expression
        # written twice): text, normalized, prepared, plain cast, typed value, failed value
        prep_cols, cand_cols, typed_cols, outer = ["_row"], ["_row"], ["_row"], ["_row"]
        exact_layers: list[list[str]] = [[], [], []]  # numbers' shortest-text test without macros
        bad = []
        for k, item in enumerate(self.items):
            ctype = COLUMN_TYPES[self.letter(item)]
            name = quote(item.name)
            if item.name not in self.mapping:
                typed_cols.append(f"CAST(NULL AS {ctype}) AS {name}")
                outer.append(name)
                continue
            letter = self.letter(item)
            prep_cols.append(f"_o{k}, _n{k}, {prepared(f'_n{k}', letter)} AS _g{k}")
            c = candidate(f"_g{k}", letter)
            cand_cols.append(f"_o{k}, _n{k}, _g{k}" + (f", {c} AS _c{k}" if c else ""))
            exact = None
            trusted = True  # the engine's text of a cast value is its canonical text (see `fast`)
            if self.inline and letter in ("N", "F"):
                # Java 17's text of a double is not always the shortest: no fast path, and the
                # shortest-text test (on the texts too long to be exact anyway) without it
                trusted = False
                long = f"(length(_g{k}) > {EXACT_DIGITS} OR contains(_g{k}, 'e') OR contains(_g{k}, 'E'))"
                layers, exact = shortest_layers(f"_g{k}", f"_c{k}", k, long)
                for i, layer in enumerate(layers):
                    exact_layers[i] += layer
            value = typed(f"_n{k}", letter, item.codelike, f"_g{k}", exact=exact)
            if c and trusted:
                value = f"CASE WHEN {fast(f'_c{k}', f'_g{k}', letter)} THEN _c{k} ELSE {value} END"
            typed_cols.append(f"_o{k}, _n{k}, {value} AS {name}")
            outer.append(name)
            if self.can_fail(item):
                outer.append(f"CASE WHEN _n{k} IS NOT NULL AND {name} IS NULL THEN _o{k} END AS _raw{k}")
                bad.append(f"_raw{k} IS NOT NULL")
            if item.is_key:
                bad.append(f"{name} IS NULL")
        flag = " OR ".join(bad) if bad else "false"
        keep = f" WHERE NOT ({' AND '.join(blank)})" if blank else ""
        # the blank-line filter names the casts' aliases: one layer up (Spark's WHERE does not
        # see a SELECT's aliases, DuckDB's does)
        sql = f"SELECT * FROM (SELECT {', '.join(cast_cols)} FROM {source}){keep}"
        for cols in (text_cols, norm_cols, prep_cols, cand_cols, *(["*", *x] for x in exact_layers if x),
                     typed_cols, outer):
            sql = f"SELECT {', '.join(cols)} FROM ({sql})"
        return f"SELECT *, ({flag}) AS _bad FROM ({sql})"

    def _watched(self) -> list[tuple[int, ItemSpec]]:
        """Items whose values can make a row bad: fallible conversions and key items."""
        fallible = self.fallible()
        return [(k, i) for k, i in enumerate(self.items) if i in fallible or (i.is_key and i.name in self.mapping)]

    def bad_columns(self) -> list[tuple[str, str, str]]:
        """(SQL, name, DuckDB type) of each field of the record kept of a bad row: `_row`,
        `_raw<k>` for each fallible item (the value as sent when it failed) and `_ok<k>` (the
        typed value exists)."""
        fallible = self.fallible()
        out = [("_row", "_row", "BIGINT")]
        for k, item in self._watched():
            if item in fallible:
                out.append((f"_raw{k}", f"_raw{k}", "VARCHAR"))
            out.append((f"{quote(item.name)} IS NOT NULL", f"_ok{k}", "BOOLEAN"))
        return out

    def bad_struct(self) -> tuple[str, str]:
        """(SQL building, DuckDB type of) the record kept of a bad row (`bad_columns`)."""
        fields = self.bad_columns()
        return (f"struct_pack({', '.join(f'{n} := {e}' for e, n, _t in fields)})",
                f"STRUCT({', '.join(f'{n} {t}' for _e, n, t in fields)})")

    def kept_sql(self, staged: str) -> str:
        """Over the coerced rows `staged` (coerced_sql's result): the accepted rows to publish."""
        cols = ", ".join([*(quote(i.name) for i in self.items), "_row"])
        return f"SELECT {cols} FROM {staged} WHERE NOT _bad"

    def bad_sql(self, staged: str) -> str:
        """Over the coerced rows `staged`: the bad rows' records (`bad_columns`)."""
        return f"SELECT {', '.join(f'{e} AS {n}' for e, n, _t in self.bad_columns())} FROM {staged} WHERE _bad"

    def write_sql(self, source: str, target: str, sink: str) -> str:
        """One pass: coerce `source`, write the accepted rows to the Parquet file `target`, and hand
        each bad row's record to the side-effect function `sink` (it returns false, so the row is
        not written). CASE evaluates `sink` only on the bad rows."""
        cols = ", ".join([*(quote(i.name) for i in self.items), "_row"])
        record, _ = self.bad_struct()
        return (f"COPY (SELECT {cols} FROM ({self.coerced_sql(source)}) WHERE CASE WHEN _bad THEN {sink}({record}) "
                f"ELSE true END) TO {literal(target)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)")

    def bad_stats_sql(self, table: str) -> str:
        """Over the bad rows' records: per fallible item, values failed and values converted."""
        parts = ["count(*) AS rows_rejected"]
        for k, item in self._watched():
            if item in self.fallible():
                parts.append(f"count(_raw{k}) AS failed{k}")
                parts.append(f"count(*) FILTER (WHERE _ok{k}) AS ok{k}")
        return f"SELECT {', '.join(parts)} FROM {table}"

    def rejects_sql(self, table: str, extra: str | None = None) -> str:
        """Over the bad rows' records (and `extra`, rows the reader refused: _row, item, code,
        value): one line per failed value, in source order, with its reason in zh and en."""
        branches = []
        fallible = self.fallible()
        for k, item in self._watched():
            if item in fallible:
                # in steps, each naming the last one's result (see failure_code)
                letter = self.letter(item)
                inner = (f"SELECT _row, _raw{k} AS value, {normalized(f'_raw{k}', letter)} AS n "
                         f"FROM {table} WHERE _raw{k} IS NOT NULL")
                g = None
                if letter in ("I", "Y", "N", "F"):
                    inner, g = f"SELECT *, {number_text('n', letter)} AS g FROM ({inner})", "g"
                branches.append(f"SELECT _row, {literal(item.name)} AS item, {failure_code('n', letter, g)} AS code, "
                                f"value FROM ({inner})")
            if item.is_key:
                failed = f" AND _raw{k} IS NULL" if item in fallible else ""
                branches.append(f"SELECT _row, {literal(item.name)} AS item, 'key_missing' AS code, "
                                f"CAST(NULL AS VARCHAR) AS value FROM {table} WHERE NOT _ok{k}{failed}")
        if extra is not None:
            branches.append(f"SELECT _row, item, code, value FROM {extra}")
        if not branches:
            return ("SELECT NULL::BIGINT AS _row, '' AS item, '' AS code, '' AS reason, '' AS reason_en, "
                    "'' AS value WHERE false")
        zh, en = reason_columns("code")
        return (f"SELECT _row, item, code, {zh} AS reason, {en} AS reason_en, value "
                f"FROM ({' UNION ALL '.join(branches)}) ORDER BY _row, item")
