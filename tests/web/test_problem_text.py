"""problem+json as people read it (issue 17): every title is filled (RFC 9457: a short summary, the
same for every occurrence, never an unfilled "{what}"), and English details are English — for every
kind of thing the code can report as not found, taken from the source itself."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from yibenzhang import errors
from yibenzhang.errors import Conflict, DomainError, NotFound, PermissionDenied

SRC = Path(errors.__file__).parent
HAN = re.compile(r"[\u3400-\u9fff]")
# NotFound(f"信息资源 {resource_id}") and NotFound(f"数据产品 {product_id} 的合规审查"): the nouns
NOT_FOUND = re.compile(r'NotFound\(f"([^"{]+?) \{[^}]+\}( 的[^"]+)?"')


def _subclasses(cls: type) -> list[type]:
    out = []
    for sub in cls.__subclasses__():
        out += [sub, *_subclasses(sub)]
    return out


def _not_found_shapes() -> set[tuple[str, str]]:
    shapes = set()
    for path in SRC.rglob("*.py"):
        for noun, tail in NOT_FOUND.findall(path.read_text(encoding="utf-8")):
            shapes.add((noun, tail or ""))
    return shapes


def test_no_error_title_is_a_template() -> None:
    import yibenzhang.api  # noqa: F401  (loads every stage, and their error classes)

    classes = [DomainError, *_subclasses(DomainError)]
    assert len(classes) >= 5
    templated = [c.__name__ for c in classes if "{" in c.title]
    assert templated == []


def test_the_source_reports_many_kinds_of_things_not_found() -> None:
    assert len(_not_found_shapes()) >= 25


@given(ident=st.one_of(st.integers(min_value=0, max_value=2**63), st.from_regex(r"[A-Za-z0-9-]{1,20}", fullmatch=True)))
def test_not_found_in_english_is_english(ident) -> None:
    for noun, tail in sorted(_not_found_shapes()):
        problem = NotFound(f"{noun} {ident}{tail}").as_problem("/api/v1/x")
        assert problem["title"] == "Not found" and problem["status"] == 404
        assert HAN.search(problem["detail_en"]) is None, problem["detail_en"]
        assert str(ident) in problem["detail_en"] and str(ident) in problem["detail"]
        assert noun in problem["detail"]


def test_fixed_titles_in_both_languages() -> None:
    assert PermissionDenied("查看数据").as_problem()["title"] == "Permission denied"
    assert Conflict("state_conflict", "状态冲突").as_problem()["title"] == "Conflict with the current state"


def test_an_unknown_resource_through_the_api(client, world) -> None:
    response = client.get("/api/v1/resources/987654321", headers=world.headers("admin"))
    assert response.status_code == 404
    body = response.json()
    assert body["title"] == "Not found" and "{" not in body["detail_en"]
    assert HAN.search(body["detail_en"]) is None and "987654321" in body["detail_en"]
