"""Grading rules (GB/T 43697-2024, DOMAIN §4): the impact table cell by cell, default 一般
sub-levels, 就高从严, the shipped rules file against the category catalogue, and validation of a
rules file with every fault reported by key and line."""

from __future__ import annotations

import os
from dataclasses import replace

import pytest

from yibenzhang.classify import grading as G
from yibenzhang.classify.categories import CATEGORIES

# DOMAIN.md §4: 影响对象 × 特别严重 / 严重 / 一般
IMPACT = {
    "国家安全": ("核心", "核心", "重要"),
    "经济运行": ("核心", "重要", "一般"),
    "社会秩序": ("核心", "重要", "一般"),
    "公共利益": ("核心", "重要", "一般"),
    "组织权益": ("一般", "一般", "一般"),
    "个人权益": ("一般", "一般", "一般"),
}
CELLS = [(obj, deg, IMPACT[obj][i]) for obj in IMPACT for i, deg in enumerate(("特别严重", "严重", "一般"))]


@pytest.fixture(scope="module")
def rules() -> G.GradingRules:
    return G.load_rules()


@pytest.mark.parametrize(("obj", "degree", "level"), CELLS)
def test_impact_table_cell_by_cell(rules, obj, degree, level):
    assert rules.impact[obj][degree] == level
    # a category harming `obj` to `degree` gets that level; 一般 takes the subject's default sub-level
    for subject, sensitive, sub in (("个人", True, 4), ("个人", False, 3), ("组织", False, 2), ("公共", False, 1)):
        rule = G.CategoryRule("x", "x", subject, sensitive, obj, degree)
        grade = rules.grade_of(rule)
        assert grade.level == level
        assert grade.sublevel == (sub if level == "一般" else None)
        assert grade.label == (f"一般-{sub}级" if level == "一般" else level)


def test_default_sublevels_by_subject_and_sensitivity(rules):
    assert rules.grade_for(["bank_card"]).label == "一般-4级"  # 金融账户, PIPL Art. 28
    assert rules.grade_for(["religion"]).label == "一般-4级"
    assert rules.grade_for(["coordinates"]).label == "一般-4级"  # 行踪轨迹
    assert rules.grade_for(["mobile"]).label == "一般-3级"
    assert rules.grade_for(["id_card"]).label == "一般-4级"  # GB/T 35273-2020 App. B: ID document numbers
    assert rules.grade_for(["social_security"]).label == "一般-4级"
    assert rules.grade_for(["amount"]).label == "一般-2级"  # internal org data
    assert rules.grade_for(["public"]).label == "一般-1级"
    assert rules.grade_for(["uscc"]).label == "一般-1级"  # the file's own sub-level: publicly registered
    assert rules.grade_for([]).label == "一般-1级"  # nothing recognised → [unrecognized]


def test_highest_wins_within_an_item_and_across_a_resource(rules):
    assert rules.grade_for(["person_name", "health", "public"]).label == "一般-4级"
    assert G.grade_for(["amount", "mobile"]).label == "一般-3级"
    assert G.resource_grade(["一般-1级", "一般-4级", None, "一般-2级"]).label == "一般-4级"
    assert G.resource_grade(["一般-4级", "重要"]).label == "重要"
    assert G.resource_grade([G.Grade("重要"), "核心", "一般-4级"]).label == "核心"
    assert G.resource_grade([]) is None and G.resource_grade([None]) is None
    order = [G.parse_grade(x) for x in ("一般-2级", "核心", "一般-1级", "一般-4级", "重要", "一般-3级")]
    assert [g.label for g in sorted(order, reverse=True)] == list(G.GRADE_LABELS)


def test_parse_grade_accepts_labels_and_english():
    assert G.parse_grade("一般3级") == G.Grade("一般", 3)
    assert G.parse_grade(" 一般-2 ") == G.Grade("一般", 2)
    assert G.parse_grade("general-4") == G.Grade("一般", 4)
    assert G.parse_grade("Core") == G.Grade("核心")
    assert G.parse_grade("important").important
    for bad in ("一般", "一般-5级", "高", "", None, "重要-1级"):
        assert G.parse_grade(bad) is None
    with pytest.raises(ValueError):
        G.Grade("一般")
    with pytest.raises(ValueError):
        G.Grade("核心", 2)


def test_shipped_rules_cover_the_category_catalogue_and_agree_with_it(rules):
    assert set(rules.categories) == set(CATEGORIES)
    for code, cat in CATEGORIES.items():
        rule = rules.categories[code]
        assert (rule.subject, rule.sensitive) == (cat.subject, cat.sensitive), code
    explained = rules.explain("bank_card")
    assert explained["sublevel_kind"] == "敏感个人信息" and "第二十八条" in explained["basis"]


def _broken(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new, 1)


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_validation_reports_every_fault_with_its_key_and_line():
    text = G.DEFAULT_PATH.read_text(encoding="utf-8")
    bad = _broken(text, '"国家安全" = { "特别严重" = "核心"', '"国家安全" = { "特别严重" = "最高"')
    bad = _broken(bad, "[categories.email]", "[categories.wechat_id]")  # unknown category
    bad = _broken(bad, 'name = "手机号码"\nsubject = "个人"\n', 'name = "手机号码"\n')  # missing field
    bad = _broken(bad, 'name = "金额"\nsubject = "组织"\nsensitive = false',
                  'name = "金额"\nsubject = "组织"\nsensitive = true')
    bad = _broken(bad, '"组织内部数据" = 2', '"组织内部数据" = 7')
    with pytest.raises(G.GradingRulesInvalid) as caught:
        G.parse_rules(bad, "authority.toml")
    exc = caught.value
    assert exc.code == "grading_rules_invalid" and exc.status == 500
    by_field = {e.field: e for e in exc.errors}
    assert set(by_field) == {"impact.国家安全.特别严重", "categories.wechat_id", "categories.mobile.subject",
                             "categories.amount.sensitive", "sublevels.组织内部数据"}
    lines = {f: e.params["line"] for f, e in by_field.items()}
    assert lines["impact.国家安全.特别严重"] == _line_of(bad, '"国家安全" =')
    assert lines["categories.wechat_id"] == _line_of(bad, "[categories.wechat_id]")
    assert lines["categories.mobile.subject"] == _line_of(bad, "[categories.mobile]")  # absent: its table
    assert lines["categories.amount.sensitive"] == _line_of(bad, 'name = "金额"') + 2
    assert lines["sublevels.组织内部数据"] == _line_of(bad, '"组织内部数据" = 7')
    assert by_field["impact.国家安全.特别严重"].code == "rules_level"
    assert by_field["categories.wechat_id"].code == "rules_category"
    assert by_field["categories.mobile.subject"].code == "rules_missing"
    problem = exc.as_problem()
    assert "authority.toml" in problem["detail"]
    for e in problem["errors"]:  # each message names the line and key, in both languages
        assert e["message"].startswith(f"第{by_field[e['field']].params['line']}行 {e['field']}")
        assert e["message_en"].startswith(f"Line {by_field[e['field']].params['line']}, {e['field']}")
        assert e["message_en"] != e["message"]


def test_validation_of_structure_syntax_and_an_incomplete_impact_table(tmp_path):
    text = G.DEFAULT_PATH.read_text(encoding="utf-8")
    incomplete = _broken(text, '"个人权益" = { "特别严重" = "一般", "严重" = "一般", "一般" = "一般" }',
                         '"个人权益" = { "特别严重" = "一般", "严重" = "一般" }\n"国土安全" = { "一般" = "一般" }')
    with pytest.raises(G.GradingRulesInvalid) as caught:
        G.parse_rules(incomplete)
    codes = {(e.field, e.code) for e in caught.value.errors}
    assert codes == {("impact.个人权益", "rules_impact_missing"), ("impact.国土安全", "rules_impact_object")}

    with pytest.raises(G.GradingRulesInvalid) as caught:
        G.parse_rules("[impact\n")
    assert caught.value.errors[0].code == "rules_syntax" and "line 1" in caught.value.errors[0].params["detail"]

    with pytest.raises(G.GradingRulesInvalid) as caught:
        G.parse_rules(_broken(text, "min_confidence = 0.3", "min_confidence = 2"))
    assert [e.field for e in caught.value.errors] == ["meta.min_confidence"]

    with pytest.raises(G.GradingRulesInvalid) as caught:
        G.load_rules(tmp_path / "absent.toml")
    assert caught.value.errors[0].code == "rules_unreadable"


def test_an_authority_file_named_by_the_environment_changes_grades_without_code(tmp_path, monkeypatch):
    text = G.DEFAULT_PATH.read_text(encoding="utf-8")
    own = _broken(text, 'name = "经纬度坐标"\nsubject = "个人"\nsensitive = true\nimpact_object = "个人权益"\n'
                        'impact_degree = "严重"',
                  'name = "经纬度坐标"\nsubject = "个人"\nsensitive = true\nimpact_object = "国家安全"\n'
                  'impact_degree = "一般"')
    path = tmp_path / "rules.toml"
    path.write_text(own, encoding="utf-8")
    monkeypatch.setenv(G.ENV_VAR, str(path))
    assert G.grade_for(["coordinates"]).label == "重要"
    assert G.get_rules().source == str(path)
    worse = _broken(own, 'impact_degree = "一般"\nbasis = "精准定位', 'impact_degree = "严重"\nbasis = "精准定位')
    path.write_text(worse, encoding="utf-8")
    os.utime(path, ns=(1, 1))  # a changed file is read again (mtime differs)
    assert G.grade_for(["coordinates"]).label == "核心"
    monkeypatch.delenv(G.ENV_VAR)
    assert G.grade_for(["coordinates"]).label == "一般-4级"


def test_a_category_only_in_the_catalogue_is_graded_by_its_catalogue_entry(rules):
    slim = replace(rules, categories={k: v for k, v in rules.categories.items() if k != "health"})
    assert slim.grade_for(["health"]).label == "一般-4级"  # sensitive personal, from categories.py
    with pytest.raises(Exception) as caught:
        slim.grade_for(["no_such_category"])
    assert getattr(caught.value, "code", None) == "category_unknown"
