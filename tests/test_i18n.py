"""The one translation table: every Chinese message, enumeration and template string has English."""

from __future__ import annotations

import re
from pathlib import Path

from yibenzhang import enums
from yibenzhang.i18n import EN, translate

SRC = Path(__file__).resolve().parents[1] / "src" / "yibenzhang"
CJK = re.compile(r"[\u4e00-\u9fff]")
# Chinese string literals handed to the error machinery: DomainError and its kinds, FieldError …
MESSAGE_CALL = re.compile(
    r"""(?:FieldError|DomainError|ValidationFailed|Conflict|Unauthenticated|NotFound|PermissionDenied)\(
        [^()]*?"([^"]*[\u4e00-\u9fff][^"]*)\"""",
    re.VERBOSE | re.DOTALL,
)
# … and ErrorBag.add(field, code, message): the message is the third argument.
BAG_ADD = re.compile(r'\.add\(\s*f?"[^"]*"\s*,\s*"[^"]*"\s*,\s*"([^"]*[\u4e00-\u9fff][^"]*)"')


def test_every_enumeration_value_has_english():
    missing = [
        m.value for enum in vars(enums).values()
        if isinstance(enum, type) and issubclass(enum, enums.ChineseEnum) and enum is not enums.ChineseEnum
        for m in enum if m.value not in EN
    ]
    assert missing == []


NOT_FOUND_SUBJECTS = ("信息资源 ", "机构 ", "地区 ", "用户 ", "令牌 ", "版本 ", "角色 ")


def test_every_message_template_in_the_code_has_english():
    missing = set()
    for path in SRC.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for message in MESSAGE_CALL.findall(text) + BAG_ADD.findall(text):
            # "信息资源 42"-style `what` arguments are data, not templates
            if message not in EN and not message.startswith(NOT_FOUND_SUBJECTS):
                missing.add(f"{path.name}: {message}")
    assert sorted(missing) == []


def test_template_strings_have_english():
    pattern = re.compile(r"""_\(\s*["']([^"']*[\u4e00-\u9fff][^"']*)["']""")
    missing = set()
    for path in (SRC / "web").rglob("*.html"):
        for text in pattern.findall(path.read_text(encoding="utf-8")):
            if text not in EN:
                missing.add(f"{path.name}: {text}")
    assert sorted(missing) == []


def test_translations_fill_placeholders_in_both_languages():
    zh = translate("未知的取值“{value}”，可选：{allowed}", "zh", value="每两天", allowed="每日")
    en = translate("未知的取值“{value}”，可选：{allowed}", "en", value="每两天", allowed="每日")
    assert zh == "未知的取值“每两天”，可选：每日"
    assert en.startswith("Unknown value") and "daily" in en  # enumeration values are translated too
    assert all(not CJK.search(v) for v in EN.values() if "{" not in v), "English entries contain Chinese"


def test_no_chinese_string_has_two_translations():
    """Issue 19: a key given twice with different English lets the later block win silently
    (接口 read "rows API" as a format kind). One meaning, one key: a second sense gets its own."""
    import ast

    seen: dict[str, set[str]] = {}
    for node in ast.walk(ast.parse((SRC / "i18n.py").read_text(encoding="utf-8"))):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and isinstance(key.value, str):
                    seen.setdefault(key.value, set()).add(ast.literal_eval(value))
    twice = {k: v for k, v in seen.items() if len(v) > 1}
    assert twice == {}


def test_user_data_as_a_parameter_is_never_translated():
    """An item named 姓名 is data, not the label "Name": marked `Data` (templates: `|data`), a
    parameter is filled in as it is; unmarked interface words still are translated."""
    from yibenzhang.i18n import EN, Data, translate

    assert "姓名" in EN  # the interface's word, which an item may be named too
    assert translate("待核验：{name}", "en", name=Data("姓名")) == "Claimed 姓名"
    assert translate("待核验：{name}", "en", name="姓名") == f"Claimed {EN['姓名']}"
    assert translate("待核验：{name}", "zh", name=Data("姓名")) == "待核验：姓名"


def test_templates_mark_user_data_with_the_data_filter():
    from yibenzhang.i18n import translate
    from yibenzhang.web.render import env

    def english(text: str, **params: object) -> str:
        return translate(text, "en", **params)

    template = env.from_string('{{ _("待核验：{name}", name=it|data) }}')
    assert template.render(_=english, it="姓名") == "Claimed 姓名"
