"""Chinese code validators: 统一社会信用代码 (GB 32100) and 行政区划代码 (GB/T 2260).

python-stdnum's cn.uscc requires the first 8 characters to be digits, but GB 32100 lets the
registration authority (position 1) and org type (position 2) be letters of the code alphabet
(A 中央军委改革和编制办公室… N 农业…, Y 其他), so we check the layout ourselves and reuse its
MOD 31 check-character computation.
"""

from __future__ import annotations

from stdnum.cn import uscc as _uscc

from .errors import FieldError

# GB 32100 alphabet: digits and capitals without I, O, S, V, Z.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def uscc_check_character(first17: str) -> str:
    return _uscc.calc_check_digit(first17)


def uscc_errors(value: str, field: str = "uscc") -> list[FieldError]:
    """Field errors for an invalid 统一社会信用代码 (empty list when valid)."""
    code = (value or "").strip().upper()
    if len(code) != 18:
        return [FieldError(field, "uscc_length", "统一社会信用代码“{value}”长度应为18位", {"value": value})]
    if (
        any(c not in USCC_ALPHABET for c in code)
        or not code[2:8].isdigit()
    ):
        return [FieldError(field, "uscc_format", "统一社会信用代码“{value}”含非法字符", {"value": value})]
    expected = uscc_check_character(code[:17])
    if code[17] != expected:
        return [
            FieldError(
                field, "uscc_check", "统一社会信用代码“{value}”校验位错误，应为“{expected}”",
                {"value": value, "expected": expected},
            )
        ]
    return []


def is_valid_uscc(value: str) -> bool:
    return not uscc_errors(value)


def make_uscc(first17: str) -> str:
    """Complete 17 characters with their check character (demo data, tests)."""
    return first17 + uscc_check_character(first17)


def division_level(code: str) -> str | None:
    """省/市/县 from a 6-digit division code's trailing zeros, or None when malformed."""
    if len(code) != 6 or not code.isdigit() or code[:2] == "00":
        return None
    if code[2:] == "0000":
        return "省"
    if code[4:] == "00":
        return "市"
    return "县"


def division_parent_prefix(code: str) -> str:
    """The prefix a child's code shares with its parent: 2 digits for a city, 4 for a county."""
    level = division_level(code)
    return {"省": "", "市": code[:2], "县": code[:4]}.get(level or "", "")
