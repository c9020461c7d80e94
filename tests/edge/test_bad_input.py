"""Every route of the app, API and pages, GET/POST/PUT/PATCH/DELETE, called with ids that cannot
be (0, −1, 2^31, 2^53−1, 2^63−1, 2^63, 10^20, 5,000 nines, text) or are not there, in each
integer path and query parameter, and with malformed bodies and headers: never a 5xx (issue 20).
Routes are taken from the app itself, so a route added tomorrow is checked tomorrow; the bounds come from one place
(yibenzhang.params) and a structural test holds every integer the OpenAPI document accepts to
them."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import routing
from fastapi.testclient import TestClient

from tests.web.conftest import csrf_of, login
from yibenzhang.api import create_app
from yibenzhang.params import ID_MAX, INT64_MAX, JSON_INT_MAX

NINES = "9" * 5000
# Well-formed numbers that no stored thing has: the store answers "not found".
ABSENT = ["987654", str(ID_MAX)]
# Numbers no id can be, and text: refused at the edge (ids are 1 … 2^31−1, params.ID_MAX).
IMPOSSIBLE = ["0", "-1", str(2**31), str(JSON_INT_MAX), str(INT64_MAX), str(2**63), str(10**20), NINES, "abc"]
BAD_IDS = ABSENT + IMPOSSIBLE
BAD_INTS = [str(2**63), str(-(2**63) - 1), str(10**20), NINES, "-" + NINES]
# What a route that cannot find or may not show a thing answers; 405 for an action word a route
# does not know, 409 for an act whose state forbids it, 400 for a domain rule.
REFUSALS = {400, 401, 403, 404, 405, 409, 422, 429}


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    int_path: tuple[str, ...]
    str_path: tuple[str, ...]
    int_query: tuple[str, ...]
    in_schema: bool


def _is_int(annotation: Any) -> bool:
    """int, Id, int | None, Annotated[int, …] — not int | str (an id or a code)."""
    text = repr(annotation)
    return ("int" in text) and ("str" not in text)


def app_routes() -> list[Route]:
    out = []
    for ctx in routing.iter_route_contexts(create_app().routes):
        route = ctx.original_route
        if not isinstance(route, routing.APIRoute):
            continue
        dep = route.dependant
        flat = [*dep.path_params, *dep.query_params]
        for sub in dep.dependencies:  # parameters a dependency reads are the route's too
            flat += [*sub.path_params, *sub.query_params]
        int_path = tuple(p.alias for p in dep.path_params if _is_int(p.field_info.annotation))
        str_path = tuple(p.alias for p in dep.path_params if p.alias not in int_path)
        int_query = tuple(p.alias for p in dep.query_params if _is_int(p.field_info.annotation))
        for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
            out.append(Route(method, ctx.path_format, int_path, str_path, int_query, route.include_in_schema))
    return out


ROUTES = app_routes()


def _url(route: Route, ints: dict[str, str]) -> str:
    def fill(m: re.Match[str]) -> str:
        name = m.group(1).split(":")[0]
        return ints.get(name, "x" if name in route.str_path else "1")
    return re.sub(r"\{([^}]+)\}", fill, route.path)


@pytest.fixture
def admin(client: TestClient) -> Iterator[tuple[TestClient, str]]:
    """The platform administrator signed in through the login form (so pages and API both admit
    the calls and they reach the services), with the session's CSRF token."""
    assert login(client, "admin").status_code == 303
    yield client, csrf_of(client.get("/console").text)


def _call(client: TestClient, csrf: str, method: str, url: str, **kw: Any) -> Any:
    headers = {"X-CSRF-Token": csrf, **kw.pop("headers", {})}
    if method in ("POST", "PUT", "PATCH", "DELETE") and "json" not in kw and "content" not in kw:
        kw["data"] = {"csrf_token": csrf, **kw.pop("data", {})}
    return client.request(method, url, headers=headers, follow_redirects=False, **kw)


def test_the_enumeration_sees_every_kind_of_route() -> None:
    methods = {r.method for r in ROUTES}
    assert {"GET", "POST", "PUT", "PATCH", "DELETE"} <= methods
    with_ids = [r for r in ROUTES if r.int_path]
    assert len(ROUTES) >= 250 and len(with_ids) >= 120
    assert any(not r.in_schema for r in with_ids)  # pages as well as the API
    assert any(r.int_query for r in ROUTES)


def test_no_route_parses_an_unbounded_integer_in_its_path() -> None:
    """Starlette's `{x:int}` calls int() on any run of digits while matching (5,000 digits: a
    ValueError, a 500); routes use params' `{x:id}`, which matches at most 16 digits."""
    paths = [ctx.original_route.path for ctx in routing.iter_route_contexts(create_app().routes)
             if isinstance(ctx.original_route, routing.APIRoute)]
    assert not [p for p in paths if ":int}" in p]
    assert any(":id}" in p for p in paths)


def test_every_integer_the_api_accepts_is_bounded() -> None:
    """Structural: each integer in a parameter or request body of the OpenAPI document carries a
    minimum and maximum within ±(2^53−1), exact in JSON — the bounds of params.py reached the route (a FastAPI
    `Query()`/`Path()` default silently drops the bounds of an Annotated type)."""
    schema = create_app().openapi()
    loose = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            if node.get("type") == "integer" and not (
                    node.get("minimum", -(2**64)) >= -JSON_INT_MAX and node.get("maximum", 2**64) <= JSON_INT_MAX):
                loose.append(where)
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}/{i}")

    for path, ops in schema["paths"].items():
        for method, op in ops.items():
            for p in op.get("parameters", []):
                walk(p.get("schema", {}), f"{method.upper()} {path} {p['name']}")
    for name, component in schema["components"]["schemas"].items():
        if name not in ("ValidationError", "HTTPValidationError"):
            walk(component.get("properties", {}), name)
    assert not loose, loose


def test_bad_ids_in_every_path_answer_404_or_422(admin: tuple[TestClient, str]) -> None:
    client, csrf = admin
    failures = []
    for route in (r for r in ROUTES if r.int_path):
        for name in route.int_path:
            for value in BAD_IDS:
                response = _call(client, csrf, route.method, _url(route, {name: value}))
                allowed = {404, 422} if value in IMPOSSIBLE else REFUSALS
                if response.status_code not in allowed:
                    failures.append(f"{route.method} {route.path} {name}={value[:24]}: {response.status_code} "
                                    f"{response.text[:160]}")
    assert not failures, "\n".join(failures)


def test_bad_integers_in_every_query_never_answer_5xx(admin: tuple[TestClient, str]) -> None:
    client, csrf = admin
    failures = []
    for route in (r for r in ROUTES if r.int_query):
        for name in route.int_query:
            for value in [*BAD_INTS, "0", "-1"]:
                response = _call(client, csrf, route.method, _url(route, {}), params={name: value})
                if response.status_code >= 500:
                    failures.append(f"{route.method} {route.path}?{name}={value[:24]}: {response.status_code}")
    assert not failures, "\n".join(failures)


def _poisoned(schema: dict[str, Any], components: dict[str, Any], value: int, depth: int = 0) -> Any:
    """A body shaped like `schema` whose every integer is `value` (strings, flags and lists kept
    plausible so the integers are what gets judged)."""
    if "$ref" in schema:
        return _poisoned(components[schema["$ref"].rsplit("/", 1)[1]], components, value, depth)
    for union in ("anyOf", "oneOf", "allOf"):
        if union in schema:
            arms = [a for a in schema[union] if a.get("type") != "null"]
            return _poisoned(arms[0], components, value, depth) if arms else None
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        if depth > 4:
            return {}
        return {k: _poisoned(v, components, value, depth + 1) for k, v in schema.get("properties", {}).items()}
    if kind == "array":
        return [_poisoned(schema.get("items", {}), components, value, depth + 1)]
    return {"integer": value, "number": value, "boolean": True}.get(kind, "1")


def test_bodies_with_huge_integers_or_malformed_never_answer_5xx(admin: tuple[TestClient, str]) -> None:
    client, csrf = admin
    schema = client.get("/openapi.json").json()
    components = schema["components"]["schemas"]
    failures = []
    for route in (r for r in ROUTES if r.method in ("POST", "PUT", "PATCH", "DELETE")):
        url = _url(route, {})
        op = schema["paths"].get(route.path, {}).get(route.method.lower(), {})
        body = op.get("requestBody", {}).get("content", {})
        tries: list[dict[str, Any]] = [
            {"content": b"{not json", "headers": {"Content-Type": "application/json"}},
            {"content": b"\xff\xfe" * 50, "headers": {"Content-Type": "application/octet-stream"}},
            {"json": [1, 2, 3]},
            {"data": {name: value for name in ("org_id", "resource_id", "authorization_id", "operator_org_id",
                                                "firm_id", "people", "year", "fee_cap_fen", "batch_id",
                                                "planned_quarter", "days", "page", "run_id")
                      for value in [NINES]}},
        ]
        if "application/json" in body:
            for value in (2**63, -(2**63) - 1, 2**31, 10**20):
                tries.append({"json": _poisoned(body["application/json"]["schema"], components, value)})
        for kw in tries:
            response = _call(client, csrf, route.method, url, **kw)
            if response.status_code >= 500:
                failures.append(f"{route.method} {route.path} {str(kw)[:80]}: {response.status_code} "
                                f"{response.text[:160]}")
    assert not failures, "\n".join(failures)


def test_malformed_headers_never_answer_5xx(client: TestClient) -> None:
    failures = []
    headers = [{"Authorization": "Bearer " + NINES}, {"Authorization": "Basic ???"}, {"Authorization": "Bearer"},
               {"Cookie": "ybz_session=" + NINES}, {"Cookie": "ybz_lang=" + NINES},
               {"Accept-Language": NINES}, {"X-Api-Key": NINES}]
    for route in (r for r in ROUTES if r.method == "GET" and r.in_schema):
        for h in headers:
            response = client.get(_url(route, {}), headers=h, follow_redirects=False)
            if response.status_code >= 500:
                failures.append(f"GET {route.path} {str(h)[:60]}: {response.status_code} {response.text[:160]}")
    assert not failures, "\n".join(failures)


def test_the_open_rows_cursor_is_bounded(client: TestClient) -> None:
    for after in (NINES, str(2**63), "-1", "1.2", "abc"):
        response = client.get("/api/v1/open/datasets/1/rows", params={"after": after})
        assert response.status_code in (400, 404, 422), (after[:20], response.status_code)
        assert response.headers["content-type"].startswith("application/problem+json")


# --- strings: every one the API accepts is capped (params.Key / Text / LongText) ---------------------


def _string_targets(schema: dict[str, Any]) -> Iterator[tuple[str, str, str, str, int, str]]:
    """(method, path, where, name, maxLength, error field) for every string parameter and every
    string field of a request body (top level, and in the first element of a list of objects)."""
    components = schema["components"]["schemas"]

    def resolve(node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            node = components[node["$ref"].rsplit("/", 1)[1]]
        return node

    def strings(node: dict[str, Any]) -> Iterator[tuple[dict[str, Any], bool]]:
        node = resolve(node)
        for arm in node.get("anyOf", [node]):
            arm = resolve(arm)
            if arm.get("type") == "array":
                arm, listed = resolve(arm.get("items", {})), True
            else:
                listed = False
            # dates, times and enumerations are parsed whole by the model, files bounded elsewhere
            if arm.get("type") == "string" and "enum" not in arm and arm.get("format") not in ("date", "date-time",
                                                                                               "binary"):
                yield arm, listed

    for path, ops in schema["paths"].items():
        for method, op in ops.items():
            for p in op.get("parameters", []):
                for s, _ in strings(p.get("schema", {})):
                    yield method.upper(), path, p["in"], p["name"], s.get("maxLength", 0), p["name"]
            for ctype, content in op.get("requestBody", {}).get("content", {}).items():
                body = resolve(content["schema"])
                for name, prop in body.get("properties", {}).items():
                    for s, listed in strings(prop):
                        if s.get("contentMediaType") is None:
                            yield method.upper(), path, ctype, name, s.get("maxLength", 0), \
                                f"{name}.0" if listed else name
                    for arm in resolve(prop).get("anyOf", [resolve(prop)]):
                        inner = resolve(resolve(arm).get("items", {})) if resolve(arm).get("type") == "array" else {}
                        for sub, sprop in inner.get("properties", {}).items():
                            for s, listed in strings(sprop):
                                yield method.upper(), path, ctype, f"{name}[0].{sub}", s.get("maxLength", 0), \
                                    f"{name}.0.{sub}" + (".0" if listed else "")


def test_every_string_the_api_accepts_is_capped() -> None:
    """Structural: each string parameter and request-body field of the OpenAPI document carries a
    maxLength (files aside) — the bounded types of params.py reached every route."""
    targets = list(_string_targets(create_app().openapi()))
    assert len(targets) >= 250
    loose = [f"{m} {p} {w} {n}" for m, p, w, n, cap, _ in targets if not cap]
    assert not loose, loose


def _body_with(name: str, field: str, value: str) -> dict[str, Any]:
    leaf: Any = [value] if field.endswith(".0") else value
    if "[0]." in name:
        outer, inner = name.split("[0].")
        return {outer: [{inner: leaf}]}
    return {name: leaf}


def test_an_over_long_string_anywhere_is_a_422_naming_it(admin: tuple[TestClient, str]) -> None:
    client, csrf = admin
    failures = []
    for method, path, where, name, cap, field in _string_targets(client.get("/openapi.json").json()):
        value = "长" * (cap + 1)
        url = re.sub(r"\{([^}]+)\}", lambda m, n=name, v=value, w=where: v if (w == "path" and m.group(1) == n)
                     else ("x" if m.group(1) in ("username", "role", "code", "region_code", "action", "token", "fmt")
                           else "1"), path)
        kw: dict[str, Any] = {}
        if where == "query":
            kw["params"] = {name: value}
        elif where == "application/json":
            kw["json"] = _body_with(name, field, value)
        elif where != "path":  # a form
            kw["data"] = {"csrf_token": csrf, name: value}
            kw["files"] = {"file": ("a.csv", b"a\n1\n", "text/csv")}
        response = _call(client, csrf, method, url, **kw)
        body = response.json() if response.headers.get("content-type", "").startswith("application/") else {}
        # a union (an id or a code) names its member too: resource.constrained-str
        named = [e for e in body.get("errors", []) if e.get("field") == field
                 or (e.get("field", "").startswith(field + ".") and e.get("code") == "request.string_too_long")]
        if response.status_code != 422 or not named or named[0]["code"] != "request.string_too_long":
            failures.append(f"{method} {path} {where} {name}: {response.status_code} {response.text[:200]}")
    assert not failures, "\n".join(failures)


def test_pages_with_a_bad_id_answer_an_html_error_page(admin: tuple[TestClient, str]) -> None:
    """A person who follows a broken link to a page gets the error page (HTML, 404 or 422, the
    parameter named), not a JSON problem body; the API keeps answering problem+json."""
    client, _ = admin
    pages = [r for r in ROUTES if r.method == "GET" and r.int_path and not r.in_schema]
    assert len(pages) >= 10
    failures = []
    for route in pages:
        name = route.int_path[0]
        for value in ("0", "-1", str(2**63), "abc"):
            response = client.get(_url(route, {name: value}), headers={"Accept": "text/html"}, follow_redirects=False)
            if response.status_code not in (404, 422) or not response.headers["content-type"].startswith("text/html") \
                    or 'role="alert"' not in response.text:
                failures.append(f"{route.path} {name}={value}: {response.status_code} "
                                f"{response.headers['content-type']}")
            elif response.status_code == 422 and f"“{name}”" not in response.text:
                failures.append(f"{route.path} {name}={value}: the parameter is not named")
    assert not failures, "\n".join(failures)
    api = client.get("/api/v1/grants/0")
    assert api.status_code == 422 and api.headers["content-type"].startswith("application/problem+json")
    assert client.get("/api/v1/nothing-here").headers["content-type"].startswith("application/problem+json")
    missing = client.get("/console/nothing-here", headers={"Accept": "text/html"})
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
