"""Coercion of source values to item data types, as DuckDB SQL over the whole batch.

Each item yields a typed value expression and, for types that can fail, the raw value when it
failed (NULL otherwise); a row with any failure, or without a key item, is rejected.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..enums import DataType
from ..zone.service import COLUMN_TYPES, literal, quote

FULL_WIDTH = "０１２３４５６７８９．，－／：＋　"
HALF_WIDTH = "0123456789.,-/:+ "
_FULL_CLASS = f"[{FULL_WIDTH}]"
DATE_FORMATS = ["%Y-%m-%d", "%Y/%m/%d", "%Y年%m月%d日", "%Y%m%d", "%Y.%m.%d"]
TIME_FORMATS = [f"{d} {t}" for d in DATE_FORMATS[:3] for t in ("%H:%M:%S", "%H:%M")] + \
    ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%d %H:%M:%S.%f", "%Y年%m月%d日%H时%M分%S秒"]
TRUE_WORDS = ["是", "y", "yes", "true", "t", "1", "对"]
FALSE_WORDS = ["否", "n", "no", "false", "f", "0", "错"]

# code: (reason zh, reason en)
REASONS = {
    "invalid_date": ("不是有效的日期", "not a valid date"),
    "invalid_datetime": ("不是有效的日期时间", "not a valid date and time"),
    "invalid_amount": ("不是有效的金额", "not a valid amount"),
    "invalid_number": ("不是有效的数值", "not a valid number"),
    "invalid_integer": ("不是有效的整数", "not a valid integer"),
    "invalid_logical": ("不是有效的逻辑值（是/否）", "not a valid yes/no value"),
    "key_missing": ("缺少主键信息项的值", "the key item has no value"),
}
CODE_BY_LETTER = {"D": "invalid_date", "T": "invalid_datetime", "Y": "invalid_amount", "N": "invalid_number",
                  "F": "invalid_number", "I": "invalid_integer", "L": "invalid_logical"}


def _list(values: list[str]) -> str:
    return "[" + ", ".join(literal(v) for v in values) + "]"


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
    return trimmed(text(src, letter))


def typed(n: str, letter: str) -> str:
    """The typed value of normalized text `n` (NULL when it cannot be converted)."""
    if letter == "D":
        return f"CAST(try_strptime({n}, {_list(DATE_FORMATS + TIME_FORMATS)}) AS DATE)"
    if letter == "T":
        return f"try_strptime({n}, {_list(TIME_FORMATS + DATE_FORMATS)})"
    if letter == "Y":
        stripped = f"replace(replace(replace(replace(replace({n}, ',', ''), '¥', ''), '￥', ''), '元', ''), ' ', '')"
        return f"TRY_CAST({stripped} AS DECIMAL(18,2))"
    if letter in ("N", "F"):
        return f"TRY_CAST(replace({n}, ',', '') AS DOUBLE)"
    if letter == "I":
        return f"TRY_CAST(replace({n}, ',', '') AS BIGINT)"
    if letter == "L":
        # a simple CASE, not IN or list_contains: those become a join, and a join stops the
        # ordered parallel Parquet write
        words = [f"WHEN {literal(w)} THEN true" for w in TRUE_WORDS] + \
            [f"WHEN {literal(w)} THEN false" for w in FALSE_WORDS]
        return f"CASE lower({n}) {' '.join(words)} END"
    return n


@dataclass(frozen=True)
class ItemSpec:
    """What coercion needs of a 信息项 (a plain copy, usable outside the DB session)."""

    name: str
    data_type: str
    required: bool = False
    is_key: bool = False

    @classmethod
    def of(cls, item: object) -> ItemSpec:
        return cls(item.name, item.data_type, bool(item.required), bool(item.is_key))  # type: ignore[attr-defined]


@dataclass
class Plan:
    """SQL of one ingest: the coerced table, the accepted rows and the rejects."""

    items: list[ItemSpec]
    mapping: dict[str, str]  # item name -> source column

    def letter(self, item: ItemSpec) -> str:
        dt = DataType.parse(item.data_type)
        return dt.letter if dt else "C"

    def fallible(self) -> list[ItemSpec]:
        return [i for i in self.items if i.name in self.mapping and self.letter(i) in CODE_BY_LETTER]

    def schema(self) -> dict[str, str]:
        return {i.name: COLUMN_TYPES[self.letter(i)] for i in self.items}

    def coerced_sql(self, source: str) -> str:
        """SELECT over `source` (a relation with the source columns and _row) giving each item
        typed, `_raw_<k>` for failed values, and `_bad`."""
        text_cols, norm_cols = ["_row"], ["_row"]
        for k, item in enumerate(self.items):
            if item.name in self.mapping:
                text_cols.append(f"{text(quote(self.mapping[item.name]), self.letter(item))} AS _t{k}")
                norm_cols.append(f"{trimmed(f'_t{k}')} AS _n{k}")
        outer = ["_row"]
        bad = []
        for k, item in enumerate(self.items):
            ctype = COLUMN_TYPES[self.letter(item)]
            if item.name not in self.mapping:
                outer.append(f"CAST(NULL AS {ctype}) AS {quote(item.name)}")
                continue
            value = typed(f"_n{k}", self.letter(item))
            outer.append(f"{value} AS {quote(item.name)}")
            if self.letter(item) in CODE_BY_LETTER:
                outer.append(f"CASE WHEN _n{k} IS NOT NULL AND ({value}) IS NULL THEN _n{k} END AS _raw{k}")
                bad.append(f"_raw{k} IS NOT NULL")
            if item.is_key:
                bad.append(f"{quote(item.name)} IS NULL")
        flag = " OR ".join(bad) if bad else "false"
        return (f"SELECT *, ({flag}) AS _bad FROM (SELECT {', '.join(outer)} FROM "
                f"(SELECT {', '.join(norm_cols)} FROM (SELECT {', '.join(text_cols)} FROM {source})))")

    def _watched(self) -> list[tuple[int, ItemSpec]]:
        """Items whose values can make a row bad: fallible conversions and key items."""
        fallible = self.fallible()
        return [(k, i) for k, i in enumerate(self.items) if i in fallible or (i.is_key and i.name in self.mapping)]

    def bad_struct(self) -> tuple[str, str]:
        """(SQL building, DuckDB type of) the record kept of a bad row: `_row`, `_raw<k>` for each
        fallible item (the value as sent when it failed) and `_ok<k>` (the typed value exists)."""
        fallible = self.fallible()
        parts, types = ["_row := _row"], ["_row BIGINT"]
        for k, item in self._watched():
            if item in fallible:
                parts.append(f"_raw{k} := _raw{k}")
                types.append(f"_raw{k} VARCHAR")
            parts.append(f"_ok{k} := {quote(item.name)} IS NOT NULL")
            types.append(f"_ok{k} BOOLEAN")
        return f"struct_pack({', '.join(parts)})", f"STRUCT({', '.join(types)})"

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

    def rejects_sql(self, table: str) -> str:
        """Over the bad rows' records: one line per failed value, in source order."""
        branches = []
        fallible = self.fallible()
        for k, item in self._watched():
            if item in fallible:
                code = CODE_BY_LETTER[self.letter(item)]
                zh, en = REASONS[code]
                branches.append(f"SELECT _row, {literal(item.name)} AS item, {literal(code)} AS code, "
                                f"{literal(zh)} AS reason, {literal(en)} AS reason_en, _raw{k} AS value "
                                f"FROM {table} WHERE _raw{k} IS NOT NULL")
            if item.is_key:
                zh, en = REASONS["key_missing"]
                failed = f" AND _raw{k} IS NULL" if item in fallible else ""
                branches.append(f"SELECT _row, {literal(item.name)} AS item, 'key_missing' AS code, "
                                f"{literal(zh)} AS reason, {literal(en)} AS reason_en, NULL AS value "
                                f"FROM {table} WHERE NOT _ok{k}{failed}")
        if not branches:
            return ("SELECT NULL::BIGINT AS _row, '' AS item, '' AS code, '' AS reason, '' AS reason_en, "
                    "'' AS value WHERE false")
        return f"SELECT * FROM ({' UNION ALL '.join(branches)}) ORDER BY _row, item"
