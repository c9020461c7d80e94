"""The one encoding detector (`textenc`) against generated text, not the cases we wrote: what a
department's file holds (Chinese with ASCII, digits, punctuation, line breaks) in UTF-8 with and
without BOM, GBK and GB18030, whole or cut anywhere (the sample a large file is detected from)."""

from __future__ import annotations

import codecs

from hypothesis import given, settings
from hypothesis import strategies as st

from yibenzhang.textenc import GB18030, UTF8, UTF8_BOM, detect_sample, normalize

# GB2312 level-1 hanzi (every one is in GBK and GB18030), the commonest characters of names and places
HANZI = [bytes([hi, lo]).decode("gb2312") for hi in range(0xB0, 0xD8) for lo in range(0xA1, 0xFF)
         if not (hi == 0xD7 and lo > 0xF9)]
ASCII = list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ,.-:/()\"'")
CELL = st.lists(st.one_of(st.sampled_from(HANZI), st.sampled_from(ASCII)), min_size=0, max_size=12).map("".join)
ROW = st.lists(CELL, min_size=1, max_size=6).map(",".join)


@st.composite
def chinese_text(draw: st.DrawFn) -> str:
    rows = draw(st.lists(ROW, min_size=1, max_size=30))
    names = draw(st.lists(st.sampled_from(HANZI), min_size=12, max_size=40))  # a header's worth of Chinese
    return "".join(names) + "\r\n" + "\r\n".join(rows)


@settings(max_examples=100, deadline=None)
@given(text=chinese_text())
def test_utf8_is_read_as_utf8_whole_and_from_any_prefix(text: str) -> None:
    data = text.encode("utf-8")
    assert detect_sample(data, full=True) == UTF8
    for cut in range(0, len(data), max(1, len(data) // 17)):  # cut anywhere, mid-character too
        assert detect_sample(data[:cut], full=False) == UTF8
    assert detect_sample(codecs.BOM_UTF8 + data, full=True) == UTF8_BOM
    assert (codecs.BOM_UTF8 + data).decode(UTF8_BOM) == text


@settings(max_examples=100, deadline=None)
@given(text=chinese_text(), codec=st.sampled_from(["gbk", "gb18030", "gb2312"]))
def test_gbk_family_is_read_as_gb18030_and_decodes_to_the_same_text(text: str, codec: str) -> None:
    data = text.encode(codec)
    got = detect_sample(data, full=True)
    assert got == GB18030
    assert data.decode(got) == text  # GB18030 is a superset: nothing is decoded differently


@settings(max_examples=50, deadline=None)
@given(text=chinese_text(), at=st.floats(0, 1))
def test_a_stray_bad_byte_in_gbk_text_is_still_gb18030(text: str, at: float) -> None:
    """So the strict decode afterwards names the bad byte, instead of a guess mis-decoding it all."""
    data = text.encode("gbk")
    i = int(at * len(data))
    broken = data[:i] + b"\xff" + data[i:]
    assert detect_sample(broken, full=True) == GB18030


@given(name=st.sampled_from(["GBK", "gb2312", "CP936", "gb18030", "utf8", "UTF-8", "utf-8-sig", "utf8-bom",
                             "UTF_8"]))
def test_encoding_names_a_steward_types_are_normalised(name: str) -> None:
    assert normalize(name) in (UTF8, UTF8_BOM, GB18030)
