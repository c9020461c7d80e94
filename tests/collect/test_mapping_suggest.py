"""The mapping step's suggestions (issue 15): saved mapping first, then the name, the normalized
name, pinyin initials or whole pinyin, then containment; each item for one column at most."""

from __future__ import annotations

from types import SimpleNamespace

from yibenzhang.collect.mapping import IGNORE, pinyin_keys, suggest

ITEMS = [SimpleNamespace(name=n) for n in ("姓名", "公民身份号码", "家庭人口", "出生日期", "备注")]


def test_each_kind_of_evidence():
    got = suggest(ITEMS, ["XM", "GMSFHM", "jia ting ren kou", "出生_日期 ", "说明", "无关列"], {"说明": "备注"})
    assert got == {"XM": "姓名", "GMSFHM": "公民身份号码", "jia ting ren kou": "家庭人口", "出生_日期 ": "出生日期",
                   "说明": "备注", "无关列": None}


def test_saved_choice_to_leave_out_and_one_column_per_item():
    got = suggest(ITEMS, ["姓名", "xm", "备注"], {"备注": IGNORE})
    assert got == {"姓名": "姓名", "xm": None, "备注": IGNORE}  # 姓名 taken by the exact name


def test_strong_evidence_wins_over_containment():
    # "出生日期（公历）" contains 出生日期, but the exact column takes the item first
    got = suggest(ITEMS, ["出生日期（公历）", "出生日期"])
    assert got == {"出生日期（公历）": None, "出生日期": "出生日期"}


def test_pinyin_keys():
    assert pinyin_keys("姓名") == {"xm", "xingming"}
    assert "gmsfhm" in pinyin_keys("公民身份号码")
