"""Recognizers: what kind of data a column holds, from its name, its description and its values.

Value recognizers work on a whole Arrow string array at once (Arrow compute regular expressions,
numpy, and the check-digit kernels of quality/validators.py); nothing loops over values in
Python. A column is judged from a sample (default) or, on request, from every value: the sample
picks the candidate categories, the full scan measures them exactly.

Each category gets a confidence from the share of values that match (and pass check digits),
combined with the name's evidence: a strong value signal wins over a misleading name, a name
alone gives moderate confidence, and names of serial numbers, orders and codes argue against
matches on format alone. Evidence holds shares and counts only, never a value (DOMAIN §9).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property, lru_cache
from importlib import resources
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from .. import plugins, workdays
from ..access import can_read_all, can_review, require
from ..catalog.service import get_resource
from ..orgs.model import Region
from ..orgs.service import configured_province_prefixes
from ..quality import validators
from ..zone import port
from ..zone.engine import THREADS, Engine, Work, engine_for
from ..zone.port import LiveState, type_name
from ..zone.service import live_state
from .categories import CATEGORIES
from .names import NameHit, is_generic_name, is_negative_name, match_name

# Thresholds (ours, tuned on the labelled corpus in tests/classify/corpus.py).
ACCEPT = 0.6  # a match at or above this is a suggestion; below it, only evidence
REPORT_MIN = 0.3  # matches below this are not reported
SAMPLE = 1000  # values judged when not scanning fully
CANDIDATE_RATE = 0.3  # a full scan measures the categories whose sampled share reaches this
MIN_VALUES = 5  # fewer non-empty values than this: the values say nothing, the name decides
CONFIDENCE_CAP = 0.999


@dataclass(frozen=True)
class Match:
    category: str
    confidence: float
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def accepted(self) -> bool:
        return self.confidence >= ACCEPT

    def as_dict(self) -> dict[str, Any]:
        cat = CATEGORIES[self.category]
        return {"category": self.category, "name_zh": cat.name_zh, "family": cat.family,
                "confidence": self.confidence, "accepted": self.accepted, "evidence": self.evidence}


# --- the column, normalized once ---------------------------------------------------------------


class Column:
    """The non-empty values of a column as an Arrow string array (NFKC and trimmed when not
    plain ASCII), its original Arrow type's kind, and statistics computed on demand."""

    def __init__(self, values: Sequence[str | None] | pa.Array | pa.ChunkedArray, *,
                 normalize: bool | None = None) -> None:
        """`normalize`: None decides from the values (costs a pass over them); False skips NFKC
        and trimming (a full scan whose sample showed plain, trimmed values)."""
        arr = _as_arrow(values)
        self.kind = _kind(arr.type)
        self.total = len(arr)
        if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
            arr = arr.cast(pa.string())
        arr = arr.drop_null() if arr.null_count else arr
        self.normalized = False
        if normalize is not False and len(arr):
            if not pc.all(pc.string_is_ascii(arr)).as_py():
                arr, self.normalized = pc.utf8_trim_whitespace(pc.utf8_normalize(arr, "NFKC")), True
            else:
                trimmed = pc.ascii_trim_whitespace(arr)
                self.normalized = pc.sum(pc.binary_length(trimmed)) != pc.sum(pc.binary_length(arr))
                arr = trimmed
        nonempty = pc.not_equal(pc.binary_length(arr), 0)
        self.values: pa.Array = arr if pc.all(nonempty).as_py() in (True, None) else arr.filter(nonempty)
        self.n = len(self.values)

    def rate(self, mask: pa.Array | np.ndarray) -> float:
        if not self.n:
            return 0.0
        if isinstance(mask, np.ndarray):
            return float(np.count_nonzero(mask)) / self.n
        return float(pc.sum(pc.cast(mask, pa.int64())).as_py() or 0) / self.n

    def matches(self, pattern: str) -> pa.Array:
        return pc.match_substring_regex(self.values, pattern)

    @cached_property
    def lengths(self) -> np.ndarray:
        return pc.utf8_length(self.values).to_numpy(zero_copy_only=False)

    @cached_property
    def digits(self) -> np.ndarray:
        """Whether each value is ASCII digits only."""
        return self.matches(r"^[0-9]+$").to_numpy(zero_copy_only=False)


def _as_arrow(values: Sequence[str | None] | pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(values, pa.ChunkedArray):
        return values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    if isinstance(values, pa.Array):
        return values
    return pa.array([None if v is None else str(v) for v in values], type=pa.string())


_KINDS = {"DATE": "date", "TIMESTAMP": "timestamp", "DECIMAL": "decimal", "DOUBLE": "float", "BIGINT": "integer",
          "BOOLEAN": "boolean", "VARCHAR": "string"}


def _kind(t: pa.DataType) -> str:
    return _KINDS[type_name(t)]


# --- value recognizers ----------------------------------------------------------------------------


@dataclass
class Context:
    name_hit: NameHit | None
    negative: str | None
    generic_name: bool
    today: date
    # Province prefixes of this platform's own regions, beside GB/T 2260's (a demo or a new
    # division code must not make every local ID number look invalid).
    provinces: frozenset[str] = frozenset()

    def named(self, *categories: str) -> bool:
        return self.name_hit is not None and any(c in self.name_hit.categories for c in categories)


@dataclass
class ValueResult:
    rate: float  # share of non-empty values that are this category
    evidence: dict[str, Any] = field(default_factory=dict)
    base: float | None = None  # override of the category's base confidence
    format_only: bool = True  # no check digit: names of serials and codes argue against it
    serial: bool = False  # the numbers run in sequence (serials, not phones)


ValueRecognizer = Callable[[Column, Context], ValueResult | None]
# Registry of value recognizers by category (DESIGN rule 8: a province registers its own).
VALUE_RECOGNIZERS: dict[str, ValueRecognizer] = {}
# Confidence of a category whose values all match (ours: check digits weigh most).
BASE_CONFIDENCE: dict[str, float] = {}


def register(category: str, base: float) -> Callable[[ValueRecognizer], ValueRecognizer]:
    def deco(fn: ValueRecognizer) -> ValueRecognizer:
        VALUE_RECOGNIZERS[category] = fn
        BASE_CONFIDENCE[category] = base
        return fn
    return deco


@dataclass(frozen=True)
class Recognizer:
    """A plugin's value recognizer (`ybz_recognizers`): the category it finds (a category of the
    grading rules), the confidence when every value matches, and the test over a column's sample."""

    category: str
    base: float
    test: ValueRecognizer


def _recognizers() -> tuple[dict[str, ValueRecognizer], dict[str, float]]:
    """The built-in recognizers and every plugin's (a built-in category wins)."""
    found = {r.category: r for r in plugins.recognizers() if r.category not in VALUE_RECOGNIZERS}
    unknown = sorted(set(found) - set(CATEGORIES))
    if unknown:
        raise ValueError(f"a plugin's recognizer names unknown categories {unknown}")
    return ({**VALUE_RECOGNIZERS, **{c: r.test for c, r in found.items()}},
            {**BASE_CONFIDENCE, **{c: r.base for c, r in found.items()}})


def _looks_serial(col: Column, mask: np.ndarray | None = None) -> bool:
    """Numbers that run in sequence (流水号, 序号 disguised as phones or cards): sorted distinct
    values lie close together. Random phone numbers in a sample are millions apart."""
    digits = col.digits if mask is None else (col.digits & mask)
    idx = np.flatnonzero(digits & (col.lengths <= 19))
    if idx.size < 20:
        return False
    nums = np.unique(pc.cast(col.values.take(pa.array(idx)), pa.uint64()).to_numpy())
    if nums.size < 10:
        return True  # a handful of numbers repeated: codes, not people's phones
    gaps = np.diff(nums)
    return bool(np.median(gaps) <= 1000)


ID_FORMAT_RE = r"^([0-9]{17}[0-9Xx]|[0-9]{15})$"
PARALLEL_MIN = 1 << 18  # a full scan this long runs the kernels on slices in threads (numpy frees the GIL)


@lru_cache(maxsize=1)
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max(1, THREADS), thread_name_prefix="ybz-recognize")


def _kernel(fn: Callable[..., pa.Array], values: pa.Array, **kw: Any) -> pa.Array:
    """`fn` (a validators kernel) over `values`, in slices on the engine's threads when long."""
    workers = _pool()._max_workers
    if len(values) < PARALLEL_MIN or workers < 2:
        return fn(values, **kw)
    step = -(-len(values) // workers)
    parts = list(_pool().map(lambda part: fn(part, **kw), [values.slice(i, step) for i in range(0, len(values), step)]))
    return pa.concat_arrays(parts)


def _count(mask: pa.Array) -> int:
    return int(pc.sum(pc.cast(mask, pa.int64())).as_py() or 0)


@register("id_card", 0.99)
def _id_card(col: Column, ctx: Context) -> ValueResult | None:
    lengths = col.lengths
    if not ((lengths == 18) | (lengths == 15)).any():
        return None
    # One kernel pass over every value (region, birth date, check digit); the format and a
    # lower-case x (a defect for quality, not a doubt about what the column is) are looked at
    # only among the values that fail, which in an ID column are few.
    valid = _kernel(validators.id_card_kernel, col.values, today=ctx.today, provinces=ctx.provinces)
    valid_n = _count(valid)
    failed = col.values.filter(pc.invert(valid)) if valid_n < col.n else None
    fmt_n = valid_n
    if failed is not None and len(failed):
        fmt_n += _count(pc.match_substring_regex(failed, ID_FORMAT_RE))
        lower = failed.filter(pc.match_substring(failed, "x"))
        if len(lower):
            valid_n += _count(validators.id_card_kernel(pc.ascii_upper(lower), today=ctx.today,
                                                        provinces=ctx.provinces))
    if not fmt_n:
        return None
    return ValueResult(valid_n / col.n, {"format_rate": round(fmt_n / col.n, 4),
                                         "check_digit_rate": round(valid_n / fmt_n, 4)}, format_only=False)


@register("uscc", 0.99)
def _uscc(col: Column, ctx: Context) -> ValueResult | None:
    if not (col.lengths == 18).any():
        return None
    fmt = col.matches(r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$")
    fmt_n = int(pc.sum(pc.cast(fmt, pa.int64())).as_py() or 0)
    if not fmt_n:
        return None
    valid_n = _count(_kernel(validators.uscc_kernel, col.values))
    return ValueResult(valid_n / col.n, {"format_rate": round(fmt_n / col.n, 4),
                                         "check_digit_rate": round(valid_n / fmt_n, 4)}, format_only=False)


@register("bank_card", 0.93)
def _bank_card(col: Column, ctx: Context) -> ValueResult | None:
    if not ((col.lengths >= 15) & (col.lengths <= 23)).any():
        return None
    if not col.digits.all():  # printed in groups: 6222 0212 3456 7890 123
        col = Column(pc.replace_substring_regex(col.values, r"[ \-]", ""))
    shaped = col.digits & (col.lengths >= 15) & (col.lengths <= 19)  # Chinese cards: 15-19 digits
    if not shaped.any():
        return None
    luhn = _kernel(validators.bank_card_kernel, col.values).to_numpy(zero_copy_only=False) & shaped
    fmt_n = int(shaped.sum())
    return ValueResult(col.rate(luhn), {"format_rate": round(fmt_n / col.n, 4),
                                        "check_digit_rate": round(float(luhn.sum()) / fmt_n, 4)},
                       serial=_looks_serial(col, shaped))


_PHONE_SEPARATORS = r"[\s\-()（）]"


@register("mobile", 0.93)
def _mobile(col: Column, ctx: Context) -> ValueResult | None:
    if not ((col.lengths >= 11) & (col.lengths <= 17)).any():
        return None
    plain = pc.replace_substring_regex(col.values, _PHONE_SEPARATORS, "")
    plain = pc.replace_substring_regex(plain, r"^(\+?86)", "")
    ok = _kernel(validators.mobile_kernel, plain).to_numpy(zero_copy_only=False)
    if not ok.any():
        return None
    serial = False
    if ok.sum() >= 20:
        sub = Column(plain.filter(pa.array(ok)))
        serial = _looks_serial(sub)
    return ValueResult(col.rate(ok), serial=serial)


LANDLINE_AREA = r"^(\(0[1-9][0-9]{1,2}\)|（0[1-9][0-9]{1,2}）|0[1-9][0-9]{1,2}[- ]?)[2-9][0-9]{6,7}(-[0-9]{1,6})?$"
LANDLINE_LOCAL = r"^[2-9][0-9]{6,7}$"


@register("landline", 0.88)
def _landline(col: Column, ctx: Context) -> ValueResult | None:
    with_area = col.rate(col.matches(LANDLINE_AREA))
    local = col.rate(col.matches(LANDLINE_LOCAL)) if ctx.named("landline") else 0.0
    rate = with_area + local
    if not rate:
        return None
    return ValueResult(rate, {"with_area_code_rate": round(with_area, 4)},
                       serial=_looks_serial(col) if local > with_area else False)


@register("email", 0.96)
def _email(col: Column, ctx: Context) -> ValueResult | None:
    rate = col.rate(col.matches("^" + validators.EMAIL_RE + "$"))
    return ValueResult(rate) if rate else None


# 普通护照 E/G + 8 (E + letter + 7 since 2012), 外交/公务/因公 D/S/P (+E) + 7
PASSPORT_RE = r"^(E[0-9A-HJ-NP-Z][0-9]{7}|G[0-9]{8}|[DSP]E?[0-9]{7})$"
# 往来港澳通行证: C + 8 (old booklet), C + letter + 7 (card), W + 8
PERMIT_RE = r"^(C[0-9A-HJ-NP-Z][0-9]{7}|W[0-9]{8})$"


@register("passport", 0.88)
def _passport(col: Column, ctx: Context) -> ValueResult | None:
    ok = col.matches(PASSPORT_RE)
    rate = col.rate(ok)
    return ValueResult(rate, serial=_digit_tail_serial(col, ok)) if rate else None


@register("hk_macau_permit", 0.88)
def _permit(col: Column, ctx: Context) -> ValueResult | None:
    ok = col.matches(PERMIT_RE)
    rate = col.rate(ok)
    return ValueResult(rate, serial=_digit_tail_serial(col, ok)) if rate else None


def _digit_tail_serial(col: Column, ok: pa.Array) -> bool:
    """Letter-prefixed numbers whose digits run in sequence (meter and asset numbers)."""
    mask = ok.to_numpy(zero_copy_only=False)
    if mask.sum() < 20:
        return False
    tails = pc.replace_substring_regex(col.values.filter(ok), r"^[A-Z]+", "")
    return _looks_serial(Column(tails))


PROVINCE_ABBREVIATIONS = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
# 7 characters, or 8 for new-energy plates (D/F + 5 digits, or 5 digits + D/F); optional "·".
PLATE_RE = (rf"^[{PROVINCE_ABBREVIATIONS}][A-Z][·\-\s]?([A-HJ-NP-Z0-9]{{4}}[A-HJ-NP-Z0-9挂学警港澳领]"
            rf"|[DF][A-HJ-NP-Z0-9][0-9]{{4}}|[0-9]{{5}}[DF])$")


@register("vehicle_plate", 0.93)
def _plate(col: Column, ctx: Context) -> ValueResult | None:
    rate = col.rate(col.matches(PLATE_RE))
    return ValueResult(rate) if rate else None


IPV4_RE = r"^((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])$"
_H = "[0-9a-fA-F]{1,4}"
IPV6_RE = (rf"^(({_H}:){{7}}{_H}|(({_H}:){{0,6}}{_H})?::(({_H}:){{0,6}}{_H})?"
           rf"|({_H}:){{6}}((25[0-5]|2[0-4][0-9]|1[0-9]{{2}}|[1-9]?[0-9])\.){{3}}(25[0-5]|2[0-4][0-9]|1[0-9]{{2}}|[1-9]?[0-9]))$")


@register("ipv4", 0.93)
def _ipv4(col: Column, ctx: Context) -> ValueResult | None:
    rate = col.rate(col.matches(IPV4_RE))
    return ValueResult(rate) if rate else None


@register("ipv6", 0.95)
def _ipv6(col: Column, ctx: Context) -> ValueResult | None:
    if not col.matches(":").to_numpy(zero_copy_only=False).any():
        return None
    rate = col.rate(col.matches(IPV6_RE))
    return ValueResult(rate) if rate else None


_NUM = r"-?[0-9]{1,3}\.[0-9]+"
COORD_PAIR_RE = rf"^[(（]?\s*(?P<a>{_NUM})\s*[,，]\s*(?P<b>{_NUM})\s*[)）]?$"
COORD_SINGLE_RE = r"^-?[0-9]{1,3}\.[0-9]{4,}$"  # a single lat or lng column: 4+ decimals (about 10 m)


@register("coordinates", 0.93)
def _coordinates(col: Column, ctx: Context) -> ValueResult | None:
    pair = col.matches(COORD_PAIR_RE)
    if pc.any(pair).as_py():
        parts = pc.extract_regex(col.values.filter(pair), COORD_PAIR_RE)
        a = pc.cast(parts.field("a"), pa.float64()).to_numpy()
        b = pc.cast(parts.field("b"), pa.float64()).to_numpy()
        in_range = ((np.abs(a) <= 90) & (np.abs(b) <= 180)) | ((np.abs(a) <= 180) & (np.abs(b) <= 90))
        return ValueResult(float(in_range.sum()) / col.n, {"form": "pair"})
    if not ctx.named("coordinates"):
        return None  # a single column of decimals is a coordinate only when its name says so
    single = col.matches(COORD_SINGLE_RE)
    if not pc.any(single).as_py():
        return None
    nums = pc.cast(col.values.filter(single), pa.float64()).to_numpy()
    return ValueResult(float((np.abs(nums) <= 180).sum()) / col.n, {"form": "single"}, base=0.9)


DATE_RE = r"^(?P<y>[0-9]{4})[-/年.]?(?P<m>[0-9]{1,2})[-/月.]?(?P<d>[0-9]{1,2})日?$"
BIRTH_SPAN_YEARS = 30  # dates of birth in a population spread over decades


def _dates(col: Column) -> tuple[np.ndarray, np.ndarray]:
    """(valid-date mask over the column, their years)."""
    if col.kind in ("date", "timestamp"):
        years = pc.cast(pc.utf8_slice_codeunits(col.values, 0, 4), pa.int32()).to_numpy()
        return np.ones(col.n, dtype=bool), years
    shaped = col.matches(DATE_RE)
    if not pc.any(shaped).as_py():
        return np.zeros(col.n, dtype=bool), np.zeros(0, dtype=np.int32)
    parts = pc.extract_regex(col.values.filter(shaped), DATE_RE)
    y, m, d = (pc.cast(parts.field(k), pa.int32()).to_numpy() for k in "ymd")
    ok = validators._valid_ymd(y * 10000 + m * 100 + d)
    mask = np.zeros(col.n, dtype=bool)
    mask[np.flatnonzero(shaped.to_numpy(zero_copy_only=False))[ok]] = True
    return mask, y[ok]


@register("birth_date", 0.9)
def _birth_date(col: Column, ctx: Context) -> ValueResult | None:
    named = ctx.named("birth_date")
    if not (named or ctx.generic_name):
        return None  # a date is a date of birth only by its name (or, unnamed, by its spread)
    mask, years = _dates(col)
    if not years.size:
        return None
    plausible = (years >= validators.ID_MIN_BIRTH.year) & (years <= ctx.today.year)
    rate = float(plausible.sum()) / col.n
    span = int(np.percentile(years, 95) - np.percentile(years, 5))
    evidence = {"date_rate": round(col.rate(mask), 4), "year_span": span}
    if named:
        return ValueResult(rate, evidence)
    return ValueResult(rate, evidence, base=0.65) if span >= BIRTH_SPAN_YEARS else None


@lru_cache(maxsize=1)
def surnames() -> tuple[frozenset[str], frozenset[str]]:
    """(single-character surnames, compound surnames) from data/surnames.txt."""
    text = resources.files("yibenzhang.data").joinpath("surnames.txt").read_text(encoding="utf-8")
    words = [w for line in text.splitlines() if not line.startswith("#") for w in line.split()]
    return frozenset(w for w in words if len(w) == 1), frozenset(w for w in words if len(w) == 2)


# Endings that make a short Chinese string a place, an organization, a thing or a condition.
NOT_NAME_SUFFIX = ("省市县区镇乡村街路道巷号州山江河湖岛港湾口庄屯寨峰岭关城门桥站场园馆院所局厅委办处科室队部社会司厂"
                   "店行中心族教病症炎癌瘤伤压痛罪学校楼栋层苑府宫寺庙台坊组团营")
PERSON_NAME_RE = r"^[\x{4e00}-\x{9fff}]{2,4}$"
MINORITY_NAME_RE = r"^[\x{4e00}-\x{9fff}]{1,8}·[\x{4e00}-\x{9fff}]{1,8}(·[\x{4e00}-\x{9fff}]{1,8})?$"


@register("person_name", 0.85)
def _person_name(col: Column, ctx: Context) -> ValueResult | None:
    single, compound = surnames()
    shaped = col.matches(PERSON_NAME_RE)
    if not pc.any(shaped).as_py():
        minority = col.rate(col.matches(MINORITY_NAME_RE))
        return ValueResult(minority, {"surname_rate": 0.0}) if minority else None
    first = pc.utf8_slice_codeunits(col.values, 0, 1)
    first2 = pc.utf8_slice_codeunits(col.values, 0, 2)
    last = pc.utf8_slice_codeunits(col.values, -1, None)
    lengths = col.lengths
    has_compound = pc.is_in(first2, value_set=pa.array(sorted(compound))).to_numpy(zero_copy_only=False)
    has_single = pc.is_in(first, value_set=pa.array(sorted(single))).to_numpy(zero_copy_only=False)
    bad_end = pc.is_in(last, value_set=pa.array(list(NOT_NAME_SUFFIX))).to_numpy(zero_copy_only=False)
    shaped_np = shaped.to_numpy(zero_copy_only=False)
    ok = shaped_np & ~bad_end & ((has_single & (lengths <= 3)) | (has_compound & (lengths >= 3))
                                  | (has_single & (lengths == 4)))
    minority = col.matches(MINORITY_NAME_RE).to_numpy(zero_copy_only=False)
    ok |= minority
    # names repeat little: a column of a dozen values repeated is an enumeration, not people
    distinct = len(pc.unique(col.values)) / col.n if col.n else 0.0
    evidence = {"surname_rate": round(col.rate(shaped_np & (has_single | has_compound)), 4),
                "distinct_rate": round(distinct, 4)}
    rate = col.rate(ok)
    if col.n >= 50 and distinct < 0.2:
        rate *= 0.5
    return ValueResult(rate, evidence)


ADDRESS_TOKENS = {
    "admin": r"(省|自治区|市|自治州|州|盟|区|县|旗)",
    "township": r"(街道|镇|乡|苏木)",
    "road": r"(路|大道|巷|胡同|弄|街([^道]|$))",  # 街 but not 街道 (a township)
    "number": r"([0-9一二三四五六七八九十]+(号|栋|幢|单元|室|楼|层|组)|号院|号楼|村|社区|小区)",
}
ORG_SUFFIX_RE = (r"(公司|集团|厂|局|厅|委员会|委|院|所|中心|学校|中学|小学|幼儿园|大学|学院|医院|卫生院|银行|支行|"
                 r"分行|合作社|协会|事务所|站|办公室|馆|店|部|社|队|门诊|诊所|商行|工作室)$")


@register("address", 0.88)
def _address(col: Column, ctx: Context) -> ValueResult | None:
    if not pc.any(pc.greater_equal(pc.utf8_length(col.values), 5)).as_py():
        return None
    hits = {k: col.matches(p).to_numpy(zero_copy_only=False) for k, p in ADDRESS_TOKENS.items()}
    classes = sum(h.astype(np.int8) for h in hits.values())
    org = col.matches(ORG_SUFFIX_RE).to_numpy(zero_copy_only=False)
    ok = (classes >= 2) & (hits["road"] | hits["number"]) & ~org & (col.lengths >= 5)
    rate = col.rate(ok)
    return ValueResult(rate, {"token_classes_mean": round(float(classes.mean()), 2)}) if rate else None


@register("org_name", 0.82)
def _org_name(col: Column, ctx: Context) -> ValueResult | None:
    ok = col.matches(ORG_SUFFIX_RE).to_numpy(zero_copy_only=False) & (col.lengths >= 4)
    rate = col.rate(ok)
    return ValueResult(rate) if rate else None


AMOUNT_RE = r"^[¥$]?\s?-?([0-9]{1,3}(,[0-9]{3})+|[0-9]+)(\.[0-9]{1,2})?\s?(元|万元)?$"
MONEY_MARK_RE = r"(^[¥$])|(元$)|(,[0-9]{3})|(\.[0-9]{2}$)"


@register("amount", 0.78)
def _amount(col: Column, ctx: Context) -> ValueResult | None:
    if col.kind == "decimal":
        return ValueResult(1.0, {"typed": "decimal"})
    numeric = col.matches(AMOUNT_RE).to_numpy(zero_copy_only=False)
    if not numeric.any():
        return None
    marked = numeric & col.matches(MONEY_MARK_RE).to_numpy(zero_copy_only=False)
    evidence = {"numeric_rate": round(col.rate(numeric), 4), "money_marked_rate": round(col.rate(marked), 4)}
    if ctx.named("amount"):
        return ValueResult(col.rate(numeric), evidence)
    return ValueResult(col.rate(marked), evidence)


GENDER_VALUES = ("男", "女", "男性", "女性", "未知", "未说明", "未知的性别", "未说明的性别", "M", "F", "m", "f",
                 "male", "female", "Male", "Female")
GENDER_CODES = ("0", "1", "2", "9")  # GB/T 2261.1 codes: only with a name that says 性别


@register("gender", 0.9)
def _gender(col: Column, ctx: Context) -> ValueResult | None:
    allowed = GENDER_VALUES + (GENDER_CODES if ctx.named("gender") else ())
    ok = pc.is_in(col.values, value_set=pa.array(allowed))
    informative = pc.is_in(col.values, value_set=pa.array(("男", "女", "男性", "女性")))
    rate, core = col.rate(ok), col.rate(informative)
    if not rate or (core < 0.3 and not ctx.named("gender")):
        return None
    return ValueResult(rate)


ETHNIC_GROUPS = [
    "汉", "蒙古", "回", "藏", "维吾尔", "苗", "彝", "壮", "布依", "朝鲜", "满", "侗", "瑶", "白", "土家", "哈尼",
    "哈萨克", "傣", "黎", "傈僳", "佤", "畲", "高山", "拉祜", "水", "东乡", "纳西", "景颇", "柯尔克孜", "土",
    "达斡尔", "仫佬", "羌", "布朗", "撒拉", "毛南", "仡佬", "锡伯", "阿昌", "普米", "塔吉克", "怒", "乌孜别克",
    "俄罗斯", "鄂温克", "德昂", "保安", "裕固", "京", "塔塔尔", "独龙", "鄂伦春", "赫哲", "门巴", "珞巴", "基诺",
]


@register("ethnicity", 0.93)
def _ethnicity(col: Column, ctx: Context) -> ValueResult | None:
    full = [g + "族" for g in ETHNIC_GROUPS] + ["穿青人", "其他", "外国血统中国籍人士"]
    # GB/T 3304 codes 01-56 (97 其他, 98 外国血统): only under a name that says 民族
    codes = [f"{i:02d}" for i in range(1, 57)] + ["97", "98"]
    allowed = full + (ETHNIC_GROUPS + codes if ctx.named("ethnicity") else [])
    rate = col.rate(pc.is_in(col.values, value_set=pa.array(allowed)))
    return ValueResult(rate) if rate else None


RELIGIONS = ("佛教", "道教", "伊斯兰教", "天主教", "基督教", "基督新教", "东正教", "藏传佛教", "汉传佛教", "南传佛教",
             "萨满教", "东巴教", "民间信仰")
NO_RELIGION = ("无", "无宗教信仰", "不信教", "其他", "其它", "不详")


@register("religion", 0.92)
def _religion(col: Column, ctx: Context) -> ValueResult | None:
    named = col.rate(pc.is_in(col.values, value_set=pa.array(RELIGIONS)))
    if not named:
        return None
    none = col.rate(pc.is_in(col.values, value_set=pa.array(NO_RELIGION)))
    return ValueResult(named + none, {"named_religion_rate": round(named, 4)},
                       base=0.92 if named >= 0.2 or ctx.named("religion") else 0.5)


DISEASE_RE = (r"(病|症|炎|癌|瘤|综合征|骨折|损伤|感染|中毒|结核|哮喘|贫血|过敏|障碍|衰竭|梗死|梗塞|出血|畸形|"
              r"结石|溃疡|积液|狭窄|硬化|增生|囊肿|血症|疹|疝|痛风|肥胖)$")
ICD10_RE = r"^[A-TV-Z][0-9]{2}(\.[0-9X]{1,4})?$"


@register("health", 0.85)
def _health(col: Column, ctx: Context) -> ValueResult | None:
    disease = col.rate(col.matches(DISEASE_RE))
    icd = col.rate(col.matches(ICD10_RE)) if ctx.named("health") else 0.0
    rate = max(disease, icd)
    return ValueResult(rate, {"disease_term_rate": round(disease, 4), "icd10_rate": round(icd, 4)}) if rate else None


CRIME_RE = r"(罪|有期徒刑|无期徒刑|拘役|管制|缓刑|死刑|罚金|劳动教养|行政拘留|刑事拘留)"


@register("criminal_record", 0.88)
def _criminal(col: Column, ctx: Context) -> ValueResult | None:
    rate = col.rate(col.matches(CRIME_RE))
    if not rate:
        return None
    none = col.rate(pc.is_in(col.values, value_set=pa.array(("无", "有", "否", "是"))))
    return ValueResult(rate + none, {"offence_term_rate": round(rate, 4)},
                       base=0.88 if rate >= 0.3 or ctx.named("criminal_record") else 0.5)


TEMPLATE_RE = r"^([A-Za-z0-9+/]{64,}={0,2}|[0-9a-fA-F]{64,}|data:image/[a-z]+;base64,.*)$"


@register("biometric", 0.9)
def _biometric(col: Column, ctx: Context) -> ValueResult | None:
    if not ctx.named("biometric"):
        return None  # long base64 or hex is a template only when the name says so (else a digest)
    rate = col.rate(col.matches(TEMPLATE_RE + r"|\.(jpg|jpeg|png|bmp|wsq|fpt)$"))
    return ValueResult(rate) if rate else None


_NONE = ValueResult(0.0)
# Identifiers that are 身份证号 by value (驾驶证号 and 社会保障号码 are the holder's ID number).
ID_VALUED = ("driver_license", "social_security")


# --- combining names and values ----------------------------------------------------------------


def _strength(rate: float) -> float:
    """How strongly a share of matching values speaks for the category."""
    if rate >= 0.9:
        return 1.0
    if rate >= 0.75:
        return 0.92
    if rate >= 0.6:
        return 0.8
    if rate >= 0.4:
        return 0.6
    return rate


def _value_results(col: Column, ctx: Context, tests: dict[str, ValueRecognizer],
                   only: set[str] | None = None) -> dict[str, ValueResult]:
    out = {}
    for category, fn in tests.items():
        if only is not None and category not in only:
            continue
        result = fn(col, ctx)
        if result is not None and result.rate > 0:
            out[category] = result
    return out


def _value_confidence(category: str, result: ValueResult, ctx: Context, bases: dict[str, float]) -> float:
    conf = (result.base if result.base is not None else bases[category]) * _strength(result.rate)
    if result.serial:
        conf *= 0.3
    if ctx.negative and result.format_only:
        conf *= 0.8 if category == "bank_card" else 0.6
    return conf


def _noisy_or(a: float, b: float) -> float:
    return min(CONFIDENCE_CAP, 1 - (1 - a) * (1 - b))


def recognize_column(name: str, values: Sequence[str | None] | pa.Array | pa.ChunkedArray, *,
                     description: str | None = None, full_scan: bool = False,
                     today: date | None = None, provinces: Iterable[str] = ()) -> list[Match]:
    """Categories of one column, best first. Without `full_scan` the values are judged from an
    evenly spaced sample of SAMPLE values; with it, every value is measured for the categories
    the sample proposes."""
    name_hit = match_name(name)
    desc_hit = match_name(description, source="description") if description else None
    hit = name_hit or desc_hit
    ctx = Context(name_hit=hit, negative=None if hit else is_negative_name(name),
                  generic_name=is_generic_name(name) and hit is None, today=today or workdays.today(),
                  provinces=frozenset(provinces))
    tests, bases = _recognizers()  # once a column: the plugins' answer does not change within it
    raw = _as_arrow(values)
    if len(raw) > SAMPLE:  # evenly spaced rows (nulls included, as a sample from the engine would)
        sample = Column(raw.take(pa.array(np.linspace(0, len(raw) - 1, SAMPLE).astype(np.int64))))
        col = Column(raw, normalize=sample.normalized) if full_scan else sample
    else:
        sample = col = Column(raw)
    results = _value_results(sample, ctx, tests) if sample.n >= MIN_VALUES else {}
    scanned: set[str] = set()  # categories measured on every value
    if full_scan and col is not sample and sample.n >= MIN_VALUES:
        candidates = {c for c, r in results.items() if r.rate >= CANDIDATE_RATE}
        if hit:
            candidates |= set(hit.categories)
        results = {**{c: r for c, r in results.items() if c not in candidates},
                   **_value_results(col, ctx, tests, candidates)}
        scanned = candidates
    elif full_scan:
        scanned = set(tests)  # the sample was every value
    value_conf = {c: _value_confidence(c, r, ctx, bases) for c, r in results.items()}
    if hit:
        for c in hit.categories:
            if c in ID_VALUED and "id_card" in results:
                results[c] = results["id_card"]
                value_conf[c] = value_conf["id_card"]
    strongest = max(value_conf.values(), default=0.0)
    has_values = sample.n >= MIN_VALUES

    matches = []
    for c in set(value_conf) | set(hit.categories if hit else ()):
        v = value_conf.get(c, 0.0)
        n = hit.confidence if hit and c in hit.categories else 0.0
        seen = col if c in scanned else sample
        evidence: dict[str, Any] = {"sample_size": seen.total, "non_empty": seen.n, "full_scan": c in scanned}
        if n:
            evidence["name"] = hit.evidence()  # type: ignore[union-attr]
            if has_values and c in tests and (v < 0.3 or results.get(c, _NONE).serial):
                n *= 0.5  # the values do not look like it
            if strongest >= 0.85 and v < strongest:
                n *= 0.6  # another category's values speak clearly: the name misleads
        if c in results:
            r = results[c]
            evidence["values"] = {"match_rate": round(r.rate, 4), **r.evidence}
            if r.serial:
                evidence["values"]["sequential"] = True
        if ctx.negative and v:
            evidence["negative_name"] = ctx.negative
        conf = _noisy_or(v, n) if v and n else max(v, n)
        if conf >= REPORT_MIN:
            matches.append(Match(c, round(conf, 3), evidence))
    matches.sort(key=lambda m: (-m.confidence, m.category))
    return matches


def best(matches: list[Match]) -> Match | None:
    """The suggestion for an item: the best match when it reaches ACCEPT."""
    return matches[0] if matches and matches[0].accepted else None


# --- a resource, from the zone ---------------------------------------------------------------------


def can_classify(actor: Any, resource: Any, region_path: str) -> bool:
    """Insiders of the resource: the provider org's people, the region's reviewers (and those
    above), admins and auditors."""

    return can_read_all(actor) or actor.acts_for_org(resource.org_id) or can_review(actor, region_path)


def classify_resource(db: Any, actor: Any, resource: int | str, *, sample: int = SAMPLE,
                      full_scan: bool = False) -> dict[str, list[Match]]:
    """Categories of every item of a resource, from its current rows in the zone (a sample of
    `sample` rows, or every row with `full_scan`); items without rows by name and description."""

    with db.read() as s:
        r = get_resource(s, actor, resource)
        region = s.get(Region, r.region_id)
        require(can_classify(actor, r, region.path if region else "/"), "识别数据类别", "classify_denied")
        items = [(i.name, i.description) for i in sorted(r.items, key=lambda i: i.position)]
        state = live_state(s, r.id)
        provinces = configured_province_prefixes(s)
    return classify_state(state, items, sample=sample, full_scan=full_scan, provinces=provinces)


def read_values(state: LiveState, names: Sequence[str], *, sample: int = SAMPLE, full_scan: bool = False,
                engine: Engine | None = None) -> pa.Table:
    """The columns `names` of the live state through the zone's port, in (batch, row) order:
    every row, or the port's sample of `sample` rows (spread evenly over each batch, and the
    same rows on every engine: DuckDB's reservoir sample has no Spark twin). Heavy work by the
    engine rule: a large resource is read on Spark when it is configured."""
    chosen = engine if engine is not None else engine_for(Work.CLASSIFY, input_bytes=state.bytes)
    if full_scan:
        return chosen.query(state, port.scan(state, names))
    return chosen.query(state, port.sample(state, max(1, int(sample)), names))


def classify_state(state: LiveState, items: Sequence[tuple[str, str | None]], *, sample: int = SAMPLE,
                   full_scan: bool = False, provinces: Iterable[str] = (),
                   engine: Engine | None = None) -> dict[str, list[Match]]:
    """Categories of the columns `items` ((name, description) pairs) of a live state, from a
    sample of `sample` rows or from every row (`read_values`)."""

    if not items:
        return {}
    table = read_values(state, [n for n, _ in items], sample=sample, full_scan=full_scan, engine=engine)
    return {name: recognize_column(name, table.column(name), description=description, full_scan=full_scan,
                                   provinces=provinces)
            for name, description in items}
