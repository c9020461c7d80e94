"""Translations: zh-CN is the source language, English the translation, kept in a gettext catalogue.

UI strings, domain enumerations and error messages are written in Chinese in the code and templates;
their English lives in `locale/en/LC_MESSAGES/yibenzhang.po` (compiled to `.mo`, which is what runs).
`make messages` extracts the strings (babel.cfg; `i18n_extract` finds the error machinery's and the
enumerations' strings, `N_` marks one shown later through a variable), updates the catalogue and
compiles it; tests/test_i18n.py fails on a string without English, a fuzzy entry or a stale `.mo`.
A word with two meanings takes a context (msgctxt): `translate_in("账号", "停用", lang)`, `_p` in templates.
"""

from __future__ import annotations

import gettext
from pathlib import Path
from typing import Any

DEFAULT_LANG = "zh"
LANGS = ("zh", "en")
DOMAIN = "yibenzhang"
LOCALE = Path(__file__).resolve().parent / "locale"
_CONTEXT_GLUE = "\x04"  # gettext's separator of msgctxt and msgid in a compiled catalogue


def _load(lang: str) -> gettext.GNUTranslations:
    with (LOCALE / lang / "LC_MESSAGES" / f"{DOMAIN}.mo").open("rb") as fp:
        return gettext.GNUTranslations(fp)


_EN = _load("en")
# zh -> en for messages without a context: what `translate` looks up (and tests read).
EN: dict[str, str] = {k: v for k, v in _EN._catalog.items()  # type: ignore[attr-defined]
                      if isinstance(k, str) and k and _CONTEXT_GLUE not in k}


def N_(text: str) -> str:
    """Marks a message shown later through a variable (gettext_noop): extraction finds it here."""
    return text


class Data(str):
    """A parameter that is the user's data (an item's name, a resource's name, a value): filled in
    as it is, never translated, even when it reads like one of the interface's words (an item
    named 姓名 is not the label "Name"). Templates mark one with the `data` filter."""


def translate(text: str, lang: str = DEFAULT_LANG, **params: Any) -> str:
    """`text` (Chinese) in `lang`, with {placeholders} filled. Unknown strings stay Chinese."""
    return _fill(EN.get(text, text) if lang == "en" else text, lang, params)


def translate_in(context: str, text: str, lang: str = DEFAULT_LANG, **params: Any) -> str:
    """`text` in the sense that `context` names (msgctxt): 停用 of an account is "Disable"."""
    return _fill(_EN.pgettext(context, text) if lang == "en" else text, lang, params)


def _fill(template: str, lang: str, params: dict[str, Any]) -> str:
    if params:
        if lang == "en":
            params = {k: _en_param(v) if isinstance(v, str) and not isinstance(v, Data) else v
                      for k, v in params.items()}
        return template.format(**params)
    return template


def _en_param(value: str) -> str:
    """A parameter in English: a known phrase, else its known words ("信息资源 12" → "Resources 12";
    "数据产品 3 的合规审查" → "compliance review of data product 3"), so English text stays English."""
    if value in EN:
        return EN[value]
    words = value.split(" ")
    if len(words) < 2:
        return value
    out: list[str] = []
    for word in words:
        if word.startswith("的") and out and word[1:] in EN:  # "X 的Y": Y of X
            out = [f"{EN[word[1:]]} of {' '.join(out)}"]
        else:
            out.append(EN.get(word, word))
    return " ".join(out)


def normalize_lang(value: str | None) -> str:
    if not value:
        return DEFAULT_LANG
    value = value.lower()
    return "en" if value.startswith("en") else "zh"
