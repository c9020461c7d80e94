"""Babel's extraction method for the platform's Python (babel.cfg: `yibenzhang.i18n_extract:extract`).

Babel's own Python extractor sees only calls of the keyword functions (`_`, `N_`, `translate`, …).
The platform's messages also travel in two shapes it cannot see, and this finds them as well:
- the error machinery: `DomainError` and every subclass of it, `FieldError`, `ErrorBag.add` take
  their message (and interface words such as a `PermissionDenied` action) as arguments, and an
  error class's `title`; constant parts of an f-string subject (`NotFound(f"信息资源 {id}")`) are
  translated word by word at run time (`i18n._en_param`), so each word is a message;
- domain enumerations: every member value of a `ChineseEnum` is shown translated.
Everything else shown through a variable is marked where it is written, with `N_` (gettext_noop).
"""

from __future__ import annotations

import ast
import re
import tomllib
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import IO, Any

PACKAGE = Path(__file__).resolve().parent
CJK = re.compile(r"[\u4e00-\u9fff]")
PLAIN = {"_", "N_", "translate", "gettext", "t"}  # the message is the first argument
IN_CONTEXT = {"_p", "N_p", "translate_in", "pgettext"}  # (context, message)
ERROR_ROOTS = {"DomainError", "FieldError", "Refusal"}
# The platform's helpers that take a message, or an interface word (a permission's action), as arguments.
MESSAGE_FUNCTIONS = {"require", "_manage", "_scope", "_refuse", "_refused", "_refuse_shape", "_bad_file", "_forbid",
                     "fault", "not_found", "_state_error", "state_error", "_check", "_authority_step", "_cell"}
# Tables of interface words built from these records' constructors (their Chinese fields are shown).
WORD_TABLES = {"Category", "CategoryRule", "Operator"}

Found = tuple[int, str, Any, list[str]]


@cache
def _package_bases() -> dict[str, frozenset[str]]:
    """Each class of the package and the names of its bases, found statically (no import)."""
    bases: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        _class_bases(ast.parse(path.read_text(encoding="utf-8")), bases)
    return {name: frozenset(b) for name, b in bases.items()}


def _class_bases(tree: ast.AST, into: dict[str, set[str]]) -> dict[str, set[str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            into.setdefault(node.name, set()).update(_name(b) or "" for b in node.bases)
    return into


def _subclasses(roots: set[str], tree: ast.AST) -> frozenset[str]:
    """Names of the classes (the package's and this file's) that derive from `roots`."""
    bases = _class_bases(tree, {name: set(b) for name, b in _package_bases().items()})
    found = set(roots)
    while more := {name for name, b in bases.items() if b & found} - found:
        found |= more
    return frozenset(found)


def _name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _text(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and CJK.search(node.value):
        return node.value
    return None


def _words(node: ast.JoinedStr) -> Iterator[str]:
    """The Chinese words of an f-string's constant parts ("信息资源 {id}" → 信息资源)."""
    for part in node.values:
        if isinstance(part, ast.Constant) and isinstance(part.value, str):
            for word in part.value.split(" "):
                if CJK.search(word):  # "数据产品 {id} 的合规审查": 的X reads "X of …", X is the message
                    yield word.removeprefix("的")


def _message_args(call: ast.Call) -> Iterator[tuple[int, str]]:
    for arg in [*call.args, *(k.value for k in call.keywords)]:
        if (text := _text(arg)) is not None:
            yield arg.lineno, text
        elif isinstance(arg, ast.JoinedStr):
            yield from ((arg.lineno, w) for w in _words(arg))


def _in_error_class(stack: list[ast.AST], errors: frozenset[str]) -> bool:
    return any(isinstance(n, ast.ClassDef) and n.name in errors for n in stack)


def extract(fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: dict[str, Any]) -> Iterator[Found]:
    tree = ast.parse(fileobj.read().decode("utf-8"))
    errors = _subclasses(ERROR_ROOTS, tree)
    enums = _subclasses({"ChineseEnum"}, tree)
    yield from _walk(tree, [], errors, enums)


def _walk(node: ast.AST, stack: list[ast.AST], errors: frozenset[str], enums: frozenset[str]) -> Iterator[Found]:
    if isinstance(node, ast.Call):
        name = _name(node.func)
        if name in PLAIN and node.args and (text := _text(node.args[0])) is not None:
            yield node.lineno, "_", text, []
        elif name in IN_CONTEXT and len(node.args) >= 2:
            context, text = node.args[0], _text(node.args[1])
            if isinstance(context, ast.Constant) and isinstance(context.value, str) and text is not None:
                yield node.lineno, "_p", (context.value, text), []
        elif name in errors or name in MESSAGE_FUNCTIONS or name in WORD_TABLES or (
                name == "add" and len(node.args) >= 3) or (
                name == "__init__" and _in_error_class(stack, errors)):
            for line, text in _message_args(node):
                yield line, "_", text, []
    elif isinstance(node, ast.ClassDef):
        bases = {_name(b) for b in node.bases}
        for statement in node.body:
            if not isinstance(statement, ast.Assign) or (text := _text(statement.value)) is None:
                continue
            targets = {_name(t) for t in statement.targets}
            if bases & enums or (node.name in errors and "title" in targets):
                yield statement.lineno, "_", text, []
    for child in ast.iter_child_nodes(node):
        yield from _walk(child, [*stack, node], errors, enums)


# The rule file's interface words (a province's own file is configuration and keeps its own words).
RULE_FIELDS = ("name", "subject", "impact_object", "impact_degree")


def extract_rules(fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: dict[str, Any]) -> Iterator[Found]:
    """The default grading rules' category names, subjects, impact objects and degrees (TOML)."""
    rules = tomllib.loads(fileobj.read().decode("utf-8"))
    for category in rules.get("categories", {}).values():
        for field in RULE_FIELDS:
            if isinstance(value := category.get(field), str) and CJK.search(value):
                yield 0, "_", value, []


# --- make messages --------------------------------------------------------------------------------------------
ROOT = PACKAGE.parents[1]
CATALOGUE = PACKAGE / "locale" / "en" / "LC_MESSAGES" / "yibenzhang.po"
# Python: `extract` above yields "_" and "_p"; templates: `_`, `N_`, `_p` and the edit form's field macros,
# whose second argument is the label they translate.
KEYWORDS = {"_": None, "N_": None, "_p": ((1, "c"), 2), "text": (2,), "choice": (2,)}
PO_WIDTH = 120


def template_catalogue() -> Any:
    """Every message the source holds, as Babel's extraction finds them with babel.cfg."""
    from babel.messages.catalog import Catalog
    from babel.messages.extract import extract_from_dir
    from babel.messages.frontend import parse_mapping_cfg

    with (ROOT / "babel.cfg").open(encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    template = Catalog(project="yibenzhang", fuzzy=False)
    for path, _lineno, message, comments, context in extract_from_dir(
            str(ROOT), method_map, options_map, keywords=KEYWORDS, strip_comment_tags=True):
        template.add(message, None, [(path, None)], auto_comments=comments, context=context)
    return template


def update() -> list[str]:
    """Bring the English catalogue up to the source and compile it; returns the messages still untranslated."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po, write_po

    with CATALOGUE.open("rb") as fp:
        catalogue = read_po(fp, locale="en", domain="yibenzhang")
    created = catalogue.creation_date  # kept: a run that changes no message changes no file
    catalogue.update(template_catalogue(), no_fuzzy_matching=True, update_header_comment=False)
    catalogue.creation_date = created
    catalogue.obsolete.clear()  # gone from the source: gone from the catalogue (git keeps the history)
    with CATALOGUE.open("wb") as fp:
        write_po(fp, catalogue, width=PO_WIDTH, include_lineno=False)
    with CATALOGUE.with_suffix(".mo").open("wb") as fp:
        write_mo(fp, catalogue)
    return [m.id for m in catalogue if m.id and not m.string]


if __name__ == "__main__":  # make messages
    missing = update()
    for message in missing:
        print(f"untranslated: {message}")
    raise SystemExit(1 if missing else 0)
