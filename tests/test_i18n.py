"""The one translation table: every Chinese message, enumeration and template string has English."""

from __future__ import annotations

import io
import re
import textwrap
from pathlib import Path

from yibenzhang import enums, i18n_extract
from yibenzhang.i18n import EN, translate, translate_in
from yibenzhang.web.render import env

SRC = Path(__file__).resolve().parents[1] / "src" / "yibenzhang"
CJK = re.compile(r"[\u4e00-\u9fff]")
PO = SRC / "locale" / "en" / "LC_MESSAGES" / "yibenzhang.po"


def _catalogue():
    from babel.messages.pofile import read_po

    with PO.open("rb") as fp:
        return read_po(fp, locale="en")


def test_every_enumeration_value_has_english():
    missing = [
        m.value for enum in vars(enums).values()
        if isinstance(enum, type) and issubclass(enum, enums.ChineseEnum) and enum is not enums.ChineseEnum
        for m in enum if m.value not in EN
    ]
    assert missing == []


def test_extraction_finds_no_message_missing_from_the_catalogue():
    """Issue 19: what Babel's extraction finds over the source (Python, templates, the default grading
    rules; babel.cfg) is in the English catalogue, translated; and the catalogue holds nothing else."""
    template = i18n_extract.template_catalogue()
    catalogue = _catalogue()
    found = {(m.context, m.id) for m in template if m.id}
    held = {(m.context, m.id) for m in catalogue if m.id}
    assert sorted(found - held, key=str) == [], "run `make messages` and translate the new entries"
    assert sorted(held - found, key=str) == [], "stale entries: run `make messages`"
    assert [m.id for m in catalogue if m.id and not m.string] == []
    assert len(found) > 1900  # extraction really ran over the whole source


def test_no_entry_is_fuzzy_and_the_compiled_catalogue_is_current():
    """The `.mo` that runs holds exactly the `.po`'s messages (compared as messages, not bytes: another
    Babel may lay the same catalogue out differently)."""
    from babel.messages.mofile import read_mo

    catalogue = _catalogue()
    assert not catalogue.fuzzy
    assert [m.id for m in catalogue if m.id and m.fuzzy] == []
    with PO.with_suffix(".mo").open("rb") as fp:
        compiled = read_mo(fp)
    wanted = {(m.context, m.id): m.string for m in catalogue if m.id}
    held = {(m.context, m.id): m.string for m in compiled if m.id}
    assert held == wanted, "the .mo is stale: run `make messages`"


def test_the_extractor_finds_the_error_machinerys_messages_and_nothing_of_the_data():
    source = textwrap.dedent("""
        from ..errors import DomainError, NotFound, PermissionDenied
        from ..enums import ChineseEnum

        class Busy(DomainError):
            title = "系统繁忙"

            def __init__(self) -> None:
                super().__init__("busy", "请稍后再试")

        class Colour(ChineseEnum):
            RED = "红色"

        LABELS = {"a": N_("标签甲"), "b": "不是消息"}
        DEMO_NAMES = ["张三", "李四"]

        def f(actor, rid):
            require(actor.ok, "审批共享申请", "denied")
            raise NotFound(f"信息资源 {rid} 的印章")
    """).encode()
    found = {m for _line, _f, m, _c in i18n_extract.extract(io.BytesIO(source), None, None, {})}
    assert found == {"系统繁忙", "请稍后再试", "红色", "标签甲", "审批共享申请", "信息资源", "印章"}


def test_a_word_with_two_meanings_takes_a_context():
    """msgctxt: 停用 of a resource is "retired", of an account the button "Disable"."""
    catalogue = _catalogue()
    assert catalogue.get("停用", context="账号").string == "Disable"
    assert translate("停用", "en") == EN["停用"] != translate_in("账号", "停用", "en") == "Disable"
    assert translate_in("账号", "停用", "zh") == "停用"
    template = env.from_string('{{ _p("账号", "已停用") }}')
    assert template.render(_p=lambda c, t: translate_in(c, t, "en")) == "Disabled"


def test_translations_fill_placeholders_in_both_languages():
    zh = translate("未知的取值“{value}”，可选：{allowed}", "zh", value="每两天", allowed="每日")
    en = translate("未知的取值“{value}”，可选：{allowed}", "en", value="每两天", allowed="每日")
    assert zh == "未知的取值“每两天”，可选：每日"
    assert en.startswith("Unknown value") and "daily" in en  # enumeration values are translated too
    assert all(not CJK.search(v) for v in EN.values() if "{" not in v), "English entries contain Chinese"


def test_no_msgid_has_two_translations_without_a_context():
    """Issue 19: one Chinese string given two Englishes let the later win silently (接口 read "rows API"
    as a format kind). In the catalogue a second sense is a second context, never a second entry."""
    pairs: list[tuple[str | None, str]] = []
    context = None
    for line in PO.read_text(encoding="utf-8").splitlines():
        if line.startswith("msgctxt "):
            context = line[8:]
        elif line.startswith("msgid ") and line != 'msgid ""':
            pairs.append((context, line[6:]))
            context = None
    assert len(pairs) == len(set(pairs))


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
