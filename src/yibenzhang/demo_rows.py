"""Synthetic rows for the demo province: realistic Chinese values per item, generated set-based
(numpy over whole columns, no loop per row) from the seed, then ingested through
collect.pipeline.ingest_arrow as the provider's steward — so batches, rejects, quality runs and
ledger events are real.

Deliberate defects, so the quality pages and reject files have something to show:
- 公民身份号码: ~3 % wrong check character, ~1 % impossible birth date (valid check character);
- 统一社会信用代码: ~3 % wrong check character; phones: ~2 % one digit short;
- dates in mixed Chinese forms (2023-05-01, 2023/5/1, 2023年5月1日, 20230501), ~1 % impossible
  (2023-02-30, 13th month): those rows are rejected by the pipeline; one resource gets ~10 %
  so its batch is held for the steward;
- amounts with thousands separators, 是/否 for logical values.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import demo_data as D

ROW_RANGE = (200, 1200)  # rows per resource (small: the whole demo loads in well under a minute)
RESOURCES_WITH_ROWS = 24
HELD_BAD_DATE_RATE = 0.10  # one resource's batch exceeds the hold threshold (5 %) on purpose
BAD_DATE_RATE = 0.01
BAD_ID_RATE, BAD_BIRTH_RATE, BAD_USCC_RATE, BAD_PHONE_RATE = 0.03, 0.01, 0.03, 0.02
NULL_RATE = 0.02  # optional items left empty

ID_WEIGHTS = np.array((7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2), dtype=np.int64)
ID_CHECK = np.array(list("10X98765432"))
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = np.array((1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28), dtype=np.int64)
PERSON_WORDS = ("姓名", "法定代表人", "所有人", "负责人", "联系人", "户主", "网格员", "逝者", "持证人")
CODE_WORDS = ("编号", "编码", "证号", "代码", "号码", "号牌", "文号", "批准号")
ORG_WORDS = ("科技", "建设", "商贸", "物流", "农业", "旅游", "医药", "电子", "餐饮", "文化")
ORG_SUFFIX = ("有限公司", "股份有限公司", "合作社", "中心", "协会")
ROADS = ("人民路", "北京路", "青年路", "滇池路", "环城南路", "金碧路", "学府路", "东风路", "翠湖路", "春雨路")
ETHNIC = ("汉族", "汉族", "汉族", "彝族", "白族", "哈尼族", "傣族", "壮族", "苗族", "回族")
TEXT_WORDS = ("正常", "已办结", "按期完成", "已核实", "待复核", "符合要求", "情况属实", "已归档")


def _cat(*parts: Any) -> np.ndarray:
    out = np.asarray(parts[0]).astype(str)
    for p in parts[1:]:
        out = np.char.add(out, np.asarray(p).astype(str))
    return out


def _pad(values: np.ndarray, width: int) -> np.ndarray:
    return np.char.zfill(values.astype(np.int64).astype(str), width)


def _digits(numbers: np.ndarray, width: int) -> np.ndarray:
    """(n, width) digit matrix of non-negative integers, most significant first."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (numbers[:, None] // powers[None, :]) % 10


@dataclass
class Gen:
    rng: np.random.Generator
    n: int
    divisions: np.ndarray  # demo county/city codes (6-digit strings)
    places: np.ndarray  # demo city + county names
    bad_date_rate: float

    def pick(self, options: Any) -> np.ndarray:
        arr = np.asarray(options)
        return arr[self.rng.integers(0, len(arr), self.n)]

    def chance(self, p: float) -> np.ndarray:
        return self.rng.random(self.n) < p

    # --- people and codes
    def person(self) -> np.ndarray:
        surname, given = np.array(list(D.SURNAMES)), np.array(list(D.GIVEN))
        one = _cat(self.pick(surname), self.pick(given))
        return np.where(self.chance(0.65), _cat(one, self.pick(given)), one)

    def id_number(self) -> np.ndarray:
        area = self.pick(self.divisions).astype(np.int64)
        born = np.datetime64("1940-01-01") + self.rng.integers(0, 365 * 65, self.n).astype("timedelta64[D]")
        ymd = np.char.replace(np.datetime_as_string(born, unit="D"), "-", "").astype(np.int64)
        ymd = np.where(self.chance(BAD_BIRTH_RATE), (ymd // 10000) * 10000 + 230, ymd)  # month 02, day 30
        body = area * 10 ** 11 + ymd * 1000 + self.rng.integers(0, 1000, self.n)
        check = (_digits(body, 17) @ ID_WEIGHTS) % 11
        check = np.where(self.chance(BAD_ID_RATE), (check + 1 + self.rng.integers(0, 10, self.n)) % 11, check)
        return _cat(body, ID_CHECK[check])

    def uscc(self) -> np.ndarray:
        alphabet = np.array(list(USCC_ALPHABET))
        kinds = self.pick(["91", "91", "91", "92", "12", "52"])
        head = np.array([[USCC_ALPHABET.index(c) for c in k] for k in ("91", "92", "12", "52")])
        kind_index = np.select([kinds == "91", kinds == "92", kinds == "12"], [0, 1, 2], 3)
        area = _digits(self.pick(self.divisions).astype(np.int64), 6)
        tail = self.rng.integers(0, 10, (self.n, 9))  # organization code part: digits mostly
        tail[:, :2] = np.where(self.chance(0.5)[:, None], self.rng.integers(10, 31, (self.n, 2)), tail[:, :2])
        idx = np.concatenate([head[kind_index], area, tail], axis=1)
        check = (31 - (idx @ USCC_WEIGHTS) % 31) % 31
        check = np.where(self.chance(BAD_USCC_RATE), (check + 1 + self.rng.integers(0, 29, self.n)) % 31, check)
        chars = alphabet[np.concatenate([idx, check[:, None]], axis=1)]
        return _join_rows(chars)

    def mobile(self) -> np.ndarray:
        prefix = self.pick(["13", "15", "17", "18", "19", "16"])
        number = _cat(prefix, _pad(self.rng.integers(0, 10 ** 9, self.n), 9))
        short = pc.utf8_slice_codeunits(pa.array(number), 0, 10).to_numpy(zero_copy_only=False).astype(str)
        return np.where(self.chance(BAD_PHONE_RATE), short, number)

    def phone(self) -> np.ndarray:
        landline = _cat(self.pick(["0871-", "0872-", "0873-"]), self.rng.integers(6, 9, self.n),
                        _pad(self.rng.integers(0, 10 ** 6, self.n), 6), self.rng.integers(0, 10, self.n))
        return np.where(self.chance(0.5), self.mobile(), landline)

    def bank_card(self) -> np.ndarray:
        body = np.int64(622202) * 10 ** 9 + self.rng.integers(0, 10 ** 9, self.n)  # 15 digits
        d = _digits(body, 15)
        doubled = d[:, ::-1][:, ::2] * 2  # every second digit from the right, check digit excluded
        total = np.where(doubled > 9, doubled - 9, doubled).sum(axis=1) + d[:, ::-1][:, 1::2].sum(axis=1)
        return _cat(body, (10 - total % 10) % 10)

    def code(self, name: str, unique: bool) -> np.ndarray:
        numbers = (self.rng.permutation(10 ** 6)[: self.n] if unique else self.rng.integers(0, 10 ** 6, self.n))
        prefix = f"YL{zlib.crc32(name.encode()) % 100:02d}"
        return _cat(prefix, "2025", _pad(numbers, 6))

    # --- dates and numbers
    def day(self, lo: str = "2015-01-01", span: int = 3650) -> np.ndarray:
        return np.datetime64(lo) + self.rng.integers(0, span, self.n).astype("timedelta64[D]")

    def date_text(self, born: bool = False) -> np.ndarray:
        d = self.day("1940-01-01", 365 * 80) if born else self.day()
        y = d.astype("datetime64[Y]").astype(int) + 1970
        m = d.astype("datetime64[M]").astype(int) % 12 + 1
        dd = (d - d.astype("datetime64[M]")).astype(int) + 1
        style = self.rng.integers(0, 4, self.n)
        forms = [_cat(y, "-", _pad(m, 2), "-", _pad(dd, 2)), _cat(y, "/", m, "/", dd),
                 _cat(y, "年", m, "月", dd, "日"), _cat(y, _pad(m, 2), _pad(dd, 2))]
        out = np.choose(style, forms)
        bad = self.pick(["2023-02-30", "2022年13月5日", "2021/4/31", "20230229"])
        return np.where(self.chance(self.bad_date_rate), bad, out)

    def timestamp(self) -> np.ndarray:
        seconds = self.rng.integers(8 * 3600, 18 * 3600, self.n).astype("timedelta64[s]")
        moment = self.day("2024-01-01", 640).astype("datetime64[s]") + seconds
        return np.char.replace(np.datetime_as_string(moment, unit="s"), "T", " ")

    def amount(self, high: float = 2e5) -> np.ndarray:
        values = np.minimum(np.round(self.rng.lognormal(np.log(high / 20), 1.0, self.n), 2), 999999.99)
        text = pa.array(values).cast(pa.string())
        return np.where(self.chance(0.4), _thousands(values), text.to_numpy(zero_copy_only=False).astype(str))


def _join_rows(chars: np.ndarray) -> np.ndarray:
    """Join an (n, k) array of one-character strings into n strings (vectorised via bytes)."""
    as_bytes = np.char.encode(chars, "ascii").astype("S1")
    return np.frombuffer(as_bytes.tobytes(), dtype=f"S{chars.shape[1]}").astype(str)


def _thousands(values: np.ndarray) -> np.ndarray:
    whole = np.floor(values).astype(np.int64)
    cents = _pad(np.round((values - whole) * 100).astype(np.int64) % 100, 2)
    text = _cat(whole % 1000)
    thousands = whole // 1000
    text = np.where(thousands > 0, _cat(thousands, ",", _pad(whole % 1000, 3)), text)
    return _cat(text, ".", cents)


def column(g: Gen, item: dict[str, Any]) -> np.ndarray | None:
    """Values of one item as text (the pipeline coerces them), or None to leave the item out."""
    name, letter = item["name"], item["data_type"]
    enum = item.get("enumeration")
    if enum:
        return g.pick(enum)
    if letter == "B":
        return None  # binary attachments are not part of the demo rows
    if letter == "D":
        return g.date_text(born="出生" in name)
    if letter == "T":
        return g.timestamp()
    if letter == "L":
        return g.pick(["是", "否", "是"])
    if letter == "Y":
        return g.amount()
    if letter == "I":
        return g.rng.integers(0, 500, g.n).astype(str)
    if letter in ("N", "F"):
        if "经度" in name:
            return np.round(g.rng.uniform(97.5, 106.2, g.n), 6).astype(str)
        if "纬度" in name:
            return np.round(g.rng.uniform(21.1, 29.2, g.n), 6).astype(str)
        return np.round(g.rng.uniform(0, 100, g.n), 2).astype(str)
    if letter == "M":
        return _cat(g.pick(g.places), g.pick(TEXT_WORDS), "。")
    makers: list[tuple[tuple[str, ...], Callable[[], np.ndarray]]] = [
        (("身份号码", "身份证"), g.id_number), (("统一社会信用代码",), g.uscc), (("手机",), g.mobile),
        (("电话",), g.phone), (("银行账号", "银行卡"), g.bank_card),
        (("行政区划代码", "区划代码"), lambda: g.pick(g.divisions)),
        (PERSON_WORDS, g.person), (("民族",), lambda: g.pick(ETHNIC)),
        (("地址", "住址", "迁出地", "迁入地", "地点"), lambda: _cat(g.pick(g.places), g.pick(ROADS),
                                                          g.rng.integers(1, 300, g.n), "号")),
        (("月份", "年月"), lambda: _cat(g.pick(["2024", "2025"]), "-", _pad(g.rng.integers(1, 13, g.n), 2))),
        (("单位", "机构", "企业", "名称", "机关"), lambda: _cat(g.pick(g.places), g.pick(ORG_WORDS),
                                                         g.pick(ORG_SUFFIX))),
        (CODE_WORDS, lambda: g.code(name, bool(item.get("is_key")))),
    ]
    for words, make in makers:
        if any(w in name for w in words):
            return make()
    if item.get("is_key"):
        return g.code(name, True)
    return g.pick(TEXT_WORDS)


def table_for(items: list[dict[str, Any]], seed: int, index: int, divisions: list[str], places: list[str],
              held: bool = False) -> pa.Table:
    """The demo rows of one resource: deterministic for (seed, index)."""
    rng = np.random.default_rng([seed, index])
    n = int(rng.integers(*ROW_RANGE))
    g = Gen(rng, n, np.array(divisions), np.array(places), HELD_BAD_DATE_RATE if held else BAD_DATE_RATE)
    arrays, names = [], []
    for item in items:
        values = column(g, item)
        if values is None:
            continue
        length = item.get("length")
        arr = pa.array(values, type=pa.string())
        if item["data_type"] == "C" and length:
            arr = pc.utf8_slice_codeunits(arr, 0, int(length))
        if not (item.get("required") or item.get("is_key")):
            arr = pc.if_else(pa.array(g.chance(NULL_RATE)), pa.scalar(None, pa.string()), arr)
        arrays.append(arr)
        names.append(item["name"])
    return pa.table(arrays, names=names)
