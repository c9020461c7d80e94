"""The OpenAPI document describes every success answer (issue 20): each 2xx response has content
with a schema (none for 204/205), so schemathesis' response_schema_conformance has something to
check everywhere; and the file routes declare exactly the media types they really answer, which
real requests (both backends) confirm, every answer also validated against its documented schema."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import schemathesis

from tests.assets.helpers import authorization, make_product, run
from tests.factories import published
from tests.open.conftest import opendata  # noqa: F401  (the `opendata` fixture)
from tests.operate.conftest import op  # noqa: F401  (the `op` fixture)
from tests.share.test_grants import issue, share_fixture  # noqa: F401  (the `share` fixture)
from yibenzhang import workdays
from yibenzhang.api import create_app

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PARQUET = "application/vnd.apache.parquet"

# (method, path) → the media types of its 200 (201 for the sandbox), as the route's code answers them.
ANSWERS: dict[tuple[str, str], set[str]] = {
    ("GET", "/api/v1/catalog/export"): {XLSX, "text/csv", "application/json", "text/turtle", "application/ld+json"},
    ("GET", "/api/v1/catalog/template.xlsx"): {XLSX},
    ("GET", "/api/v1/batches/{batch_id}/rejects"): {"text/csv"},
    ("GET", "/api/v1/important-data.xlsx"): {XLSX},
    ("GET", "/api/v1/grants/{grant_id}/rows"): {"application/json"},
    ("POST", "/api/v1/grants/{grant_id}/verify"): {"application/json"},
    ("GET", "/api/v1/deliveries/{delivery_id}/download"): {"text/csv", PARQUET},
    ("GET", "/open/datasets/{resource_id}/download.{fmt}"): {"text/csv", XLSX, "application/json", PARQUET},
    ("GET", "/api/3/action/{action}"): {"application/json"},
    ("POST", "/api/3/action/{action}"): {"application/json"},
    ("GET", "/open/catalog.ttl"): {"text/turtle"},
    ("GET", "/open/catalog.jsonld"): {"application/ld+json"},
    ("POST", "/api/v1/operate/sandbox/queries"): {"application/json"},
    ("POST", "/api/v1/operate/sandbox/noisy"): {"application/json"},
    ("GET", "/api/v1/operate/sandbox/runs/{run_id}/output.parquet"): {PARQUET},
    ("GET", "/api/v1/products/disclosure"): {"application/json", XLSX},
    ("GET", "/api/v1/products/bookings/export"): {XLSX, "text/csv"},
    ("GET", "/api/v1/assess/export.xlsx"): {XLSX},
    ("GET", "/api/v1/calendar/export"): {"text/calendar", "text/csv", XLSX},
}
BINARY = {"type": "string", "format": "binary"}


def _success(operation: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {code: r for code, r in operation["responses"].items() if code.startswith("2")}


def test_every_success_response_has_content_with_a_schema(sqlite_db) -> None:
    spec = create_app().openapi()
    wrong: list[str] = []
    operations = 0
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            operations += 1
            for code, response in _success(operation).items():
                content = response.get("content")
                if code in ("204", "205"):
                    if content:
                        wrong.append(f"{method.upper()} {path} {code}: a body declared")
                elif not content:
                    wrong.append(f"{method.upper()} {path} {code}: no content")
                else:
                    wrong += [f"{method.upper()} {path} {code} {kind}: empty schema"
                              for kind, media in content.items() if not media.get("schema")]
                    # a file is never JSON: a binary schema under a JSON media type is a wrong declaration
                    wrong += [f"{method.upper()} {path} {code} {kind}: a file declared as JSON"
                              for kind, media in content.items() if "json" in kind and media.get("schema") == BINARY]
    assert operations >= 200
    assert not wrong, "\n".join(wrong)


def test_file_routes_declare_the_media_types_they_answer(sqlite_db) -> None:
    spec = create_app().openapi()
    for (method, path), kinds in ANSWERS.items():
        (declared,) = _success(spec["paths"][path][method.lower()]).values()
        assert set(declared["content"]) == kinds, (method, path)
        for kind, media in declared["content"].items():
            assert (media["schema"] == BINARY) == ("json" not in kind), (method, path, kind)


class Answers:
    """Sends requests, checks each answer against the document (media type declared for its
    status, body valid for its schema) and remembers which media types each route answered."""

    def __init__(self, client: Any, headers: dict[str, str]) -> None:
        self.client, self.headers = client, headers
        self.spec = create_app().openapi()
        self.schema = schemathesis.openapi.from_dict(self.spec)
        self.seen: dict[tuple[str, str], set[str]] = defaultdict(set)

    def call(self, method: str, template: str, url: str, *, status: int = 200, headers: dict[str, str] | None = None,
             **kwargs: Any) -> Any:
        r = self.client.request(method, url, headers=headers or self.headers, **kwargs)
        assert r.status_code == status, (url, r.status_code, r.text[:500])
        kind = r.headers["content-type"].split(";")[0].strip()
        declared = self.spec["paths"][template][method.lower()]["responses"][str(status)]["content"]
        assert kind in declared, (url, kind, list(declared))
        self.schema[template][method].validate_response(r)
        if 200 <= status < 300:
            self.seen[(method, template)].add(kind)
        return r

    def answered_all(self, *routes: tuple[str, str]) -> None:
        for route in routes:
            assert self.seen[route] == ANSWERS[route], route


def test_catalogue_open_data_and_exports_answer_as_documented(client, opendata) -> None:  # noqa: F811
    w = opendata.world
    a = Answers(client, w.headers("admin"))
    for fmt in ("xlsx", "csv", "json", "dcat-ttl", "dcat-jsonld"):
        a.call("GET", "/api/v1/catalog/export", "/api/v1/catalog/export", params={"format": fmt})
    assert a.client.get("/api/v1/catalog/export?format=json", headers=a.headers).json()  # not an empty list
    a.call("GET", "/api/v1/catalog/template.xlsx", "/api/v1/catalog/template.xlsx")
    template = "/open/datasets/{resource_id}/download.{fmt}"
    for fmt in ("csv", "xlsx", "json", "parquet"):
        a.call("GET", template, f"/open/datasets/{opendata.free}/download.{fmt}")
    a.call("GET", "/open/catalog.ttl", "/open/catalog.ttl")
    graph = a.call("GET", "/open/catalog.jsonld", "/open/catalog.jsonld").json()["@graph"]
    assert graph
    ckan = "/api/3/action/{action}"
    names = a.call("GET", ckan, "/api/3/action/package_list").json()["result"]
    assert names
    shown = a.call("POST", ckan, "/api/3/action/package_show", json={"id": names[0]}).json()
    assert shown["success"] is True and shown["result"]["name"] == names[0]
    a.call("GET", ckan, "/api/3/action/package_show", status=404, params={"id": "no-such-dataset"})
    a.call("POST", ckan, "/api/3/action/no_such_action", status=400)
    a.call("GET", ckan, "/api/3/action/organization_list", status=409, params={"sort": "size"})
    for fmt in ("ics", "csv", "xlsx"):
        a.call("GET", "/api/v1/calendar/export", "/api/v1/calendar/export", params={"format": fmt})
    a.call("GET", "/api/v1/assess/export.xlsx", "/api/v1/assess/export.xlsx")
    a.call("GET", "/api/v1/important-data.xlsx", "/api/v1/important-data.xlsx")

    # a product with an authorization and a 入表 line: the disclosure lists them, the export has a row
    auth = authorization(w, opendata.free)
    pid = make_product(w, auth, [run(w, auth, [opendata.free])])
    operator = w.headers("operator_user")
    booked = client.post(f"/api/v1/products/{pid}/bookings", headers=operator,
                         json={"intention": "内部使用", "cost_items": [{"item": "脱敏", "amount_fen": 1234}]})
    assert booked.status_code == 201, booked.text
    disclosure = "/api/v1/products/disclosure"
    for fmt in ("json", "xlsx"):
        got = a.call("GET", disclosure, disclosure, params={"year": workdays.today().year, "format": fmt,
                                                           "operator_org_id": w.orgs["operator"].id})
    assert got.content.startswith(b"PK")  # the workbook
    bookings = "/api/v1/products/bookings/export"
    for fmt in ("xlsx", "csv"):
        a.call("GET", bookings, bookings, params={"product_id": pid, "format": fmt}, headers=operator)

    # a pushed batch with one rejected row: its reject file
    steward = w.headers("police_steward")
    rid = published(w, name="人口信息（测试）")
    pushed = client.post(f"/api/v1/resources/{rid}/rows", headers=steward, json={"mode": "更新", "rows": [
        {"姓名": "张三", "公民身份号码": "11010519491231002X", "出生日期": "1949-12-31"},
        {"姓名": "王五", "公民身份号码": "110105194912310010", "出生日期": "not a date"}]})
    assert pushed.status_code == 200 and pushed.json()["rows_rejected"] == 1, pushed.text
    batch = pushed.json()["batch_id"]
    rejects = a.call("GET", "/api/v1/batches/{batch_id}/rejects", f"/api/v1/batches/{batch}/rejects", headers=steward)
    assert "not a date" in rejects.content.decode("utf-8-sig")
    a.answered_all(("GET", "/api/v1/catalog/export"), ("GET", template), ("GET", "/api/v1/calendar/export"),
                   ("GET", disclosure), ("GET", bookings), ("GET", ckan), ("POST", ckan))


def test_data_calls_and_deliveries_answer_as_documented(client, share, monkeypatch) -> None:
    from yibenzhang.jobs import Worker

    w = share.world
    a = Answers(client, w.headers("consumer"))
    rows = issue(share, items=["姓名", "行政区划代码"])
    body = a.call("GET", "/api/v1/grants/{grant_id}/rows", f"/api/v1/grants/{rows}/rows", params={"limit": 2}).json()
    assert len(body["rows"]) == 2 and body["next"]
    again = a.call("GET", "/api/v1/grants/{grant_id}/rows", f"/api/v1/grants/{rows}/rows",  # the warm path
                   params={"limit": 2, "after": body["next"]}).json()
    assert len(again["rows"]) == 2 and again["rows"] != body["rows"]
    checks = issue(share, mode="核验", items=["公民身份号码", "姓名"])
    a.call("POST", "/api/v1/grants/{grant_id}/verify", f"/api/v1/grants/{checks}/verify",
           json={"key": {"公民身份号码": "x"}, "claims": {"姓名": "y"}})
    files = issue(share, mode="文件", items=["姓名", "行政区划代码"])
    made = [client.post(f"/api/v1/grants/{files}/deliveries", json={"format": fmt}, headers=a.headers).json()["id"]
            for fmt in ("csv", "parquet")]
    Worker(w.db, run_tickers=False).run(once=True)
    for did in made:
        a.call("GET", "/api/v1/deliveries/{delivery_id}/download", f"/api/v1/deliveries/{did}/download")
    a.answered_all(("GET", "/api/v1/deliveries/{delivery_id}/download"))


def test_sandbox_answers_as_documented(client, op) -> None:  # noqa: F811
    reviewer = op.world.headers("reviewer")
    a = Answers(client, op.world.headers("operator_user"))
    sql = f"SELECT 区县, count(*) AS n, avg(收入) AS a FROM r_{op.resource_id} GROUP BY 区县 HAVING count(*) >= 10"
    run = a.call("POST", "/api/v1/operate/sandbox/queries", "/api/v1/operate/sandbox/queries", status=201,
                 json={"authorization_id": op.auth_id, "sql": sql}).json()
    assert run["released"] and run["output"]["rows"]
    a.call("GET", "/api/v1/operate/sandbox/runs/{run_id}/output.parquet",
           f"/api/v1/operate/sandbox/runs/{run['id']}/output.parquet")
    r = client.put(f"/api/v1/operate/authorizations/{op.auth_id}/release-policy",
                   json={"mode": "隐私预算", "epsilon_total": 0.5}, headers=reviewer)
    assert r.status_code == 200, r.text
    noisy = a.call("POST", "/api/v1/operate/sandbox/noisy", "/api/v1/operate/sandbox/noisy", status=201,
                   json={"authorization_id": op.auth_id, "resource_id": op.resource_id, "statistic": "count",
                         "epsilon": 0.5}).json()
    assert noisy["noise"]

