"""params.parse_int / parse_id, which pages use on their own query strings and forms: for any text
they answer a number within the bounds or None, and never raise (issue 20)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from yibenzhang.params import ID_MAX, parse_id, parse_int

DIGITY = st.text(alphabet="0123456789+- ٣１\n", max_size=30) | st.text(max_size=30) \
    | st.integers().map(str) | st.text(alphabet="0123456789", min_size=1, max_size=5000)


@given(DIGITY, st.integers(-(2**70), 2**70), st.integers(0, 2**70))
def test_parse_int_never_raises_and_stays_in_bounds(text: str, lo: int, width: int) -> None:
    hi = lo + width
    value = parse_int(text, lo, hi)
    assert value is None or lo <= value <= hi


@given(st.integers(1, ID_MAX))
def test_every_id_in_range_round_trips(n: int) -> None:
    assert parse_id(str(n)) == parse_id(f" {n} ") == n


@given(st.one_of(st.integers(max_value=0), st.integers(min_value=ID_MAX + 1)))
def test_ids_out_of_range_are_none(n: int) -> None:
    assert parse_id(str(n)) is None


def test_non_ascii_digits_and_junk_are_none() -> None:
    for text in ("٣", "１２", "1e3", "0x10", "", None, "9" * 5000, "1_000", "--1"):
        assert parse_id(text) is None
