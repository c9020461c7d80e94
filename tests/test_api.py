"""The HTTP API: the catalogue workflow over bearer tokens, problem+json errors with stable codes."""

from __future__ import annotations

from tests.factories import published, resource_in

PROBLEM = "application/problem+json"


def body(world, **overrides):
    return resource_in(world, **overrides).model_dump(mode="json")


def test_docs_and_openapi_list_the_api(client):
    assert client.get("/docs").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/api/v1/resources", "/api/v1/resources/{resource_id}/publish", "/api/v1/orgs",
                 "/api/v1/ledger/verify", "/api/v1/duty-changes/board"):
        assert path in paths


def test_catalogue_workflow_over_http(client, world):
    steward, reviewer = world.headers("police_steward"), world.headers("reviewer")
    r = client.post("/api/v1/resources", json=body(world), headers=steward)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["code"] == "101001/000001" and created["status"] == "草稿"
    rid = created["id"]
    assert client.post(f"/api/v1/resources/{rid}/submit", headers=steward).json()["status"] == "待审核"
    assert [x["id"] for x in client.get("/api/v1/review-queue", headers=reviewer).json()] == [rid]
    assert client.post(f"/api/v1/resources/{rid}/publish", headers=reviewer).json()["status"] == "已发布"
    by_code = client.get(f"/api/v1/resources/by-code/{created['code']}", headers=world.headers("consumer"))
    assert by_code.status_code == 200 and by_code.json()["id"] == rid
    changed = body(world, abstract="修订后的摘要")
    assert client.put(f"/api/v1/resources/{rid}", json=changed, headers=steward).json()["version"] == 2
    diff = client.get(f"/api/v1/resources/{rid}/diff", params={"a": 1}, headers=steward).json()
    assert set(diff["fields"]) == {"abstract"}
    assert [v["version"] for v in client.get(f"/api/v1/resources/{rid}/versions", headers=steward).json()] == [1]


def test_validation_errors_are_problem_json_with_field_codes(client, world):
    r = client.post("/api/v1/resources", json=body(world, share_condition=None, items=[]),
                    headers=world.headers("police_steward"))
    assert r.status_code == 422 and r.headers["content-type"].startswith(PROBLEM)
    problem = r.json()
    assert problem["code"] == "validation_failed" and problem["instance"] == "/api/v1/resources"
    assert {(e["field"], e["code"]) for e in problem["errors"]} == {
        ("share_condition", "share_condition_required"), ("items", "items_empty")}
    assert all(e["message"] and e["message_en"] for e in problem["errors"])


def test_malformed_requests_are_problem_json(client, world):
    r = client.post("/api/v1/resources", json={"name": "x", "unexpected": 1}, headers=world.headers("police_steward"))
    assert r.status_code == 422 and r.json()["code"] == "request_invalid"
    assert client.get("/api/v1/no-such-thing").json()["code"] == "not_found"


def test_authentication_and_permission_errors(client, world):
    assert client.post("/api/v1/resources", json=body(world)).json()["code"] == "auth_required"
    bad = client.get("/api/v1/me", headers={"Authorization": "Bearer ybz_x_y"})
    assert bad.status_code == 401 and bad.json()["code"] == "bad_token"
    assert client.get("/api/v1/me", headers={"Authorization": "Basic abc"}).status_code == 401
    r = client.post("/api/v1/resources", json=body(world), headers=world.headers("market_steward"))
    assert r.status_code == 403 and r.json()["code"] == "permission_denied"
    assert r.json()["detail"] != r.json()["detail_en"]


def test_invisible_resources_are_not_found(client, world):
    with world.db.write() as s:
        from yibenzhang.access import Actor
        from yibenzhang.catalog import service as catalog

        draft = catalog.create_resource(s, Actor.system(), resource_in(world)).id
    closed = published(world, name="在逃人员信息")
    assert client.get(f"/api/v1/resources/{draft}", headers=world.headers("consumer")).status_code == 404
    assert client.get(f"/api/v1/resources/{closed}").status_code == 404  # anonymous: not open
    assert client.get(f"/api/v1/resources/{closed}", headers=world.headers("consumer")).status_code == 200


def test_tokens_over_http(client, world):
    headers = world.headers("consumer")
    r = client.post("/api/v1/tokens", json={"name": "etl"}, headers=headers)
    assert r.status_code == 201
    new = r.json()
    bearer = {"Authorization": f"Bearer {new['token']}"}
    assert client.get("/api/v1/me", headers=bearer).json()["username"] == "consumer"
    assert client.delete(f"/api/v1/tokens/{new['id']}", headers=headers).status_code == 204
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {new['token']}"}).status_code == 401


def test_ledger_verify_over_http(client, world):
    assert client.get("/api/v1/ledger/verify", headers=world.headers("citizen")).status_code == 403
    report = client.get("/api/v1/ledger/verify", headers=world.headers("auditor")).json()
    assert report["ok"] is True and report["events"] > 20


def test_a_browser_session_needs_its_csrf_header_to_change_state_through_the_api(client, world):
    from yibenzhang.orgs import service as orgs
    from yibenzhang.orgs import sessions

    with world.db.write() as s:
        raw, csrf = sessions.start(s, orgs.get_user_by_name(s, "police_steward"))
    client.cookies.set("ybz_session", raw)
    assert client.get("/api/v1/me").json()["username"] == "police_steward"  # reading needs no token
    r = client.post("/api/v1/resources", json=body(world))
    assert r.status_code == 403 and r.json()["code"] == "csrf_failed"
    r = client.post("/api/v1/resources", json=body(world), headers={"X-CSRF-Token": "wrong"})
    assert r.status_code == 403
    assert client.post("/api/v1/resources", json=body(world), headers={"X-CSRF-Token": csrf}).status_code == 201
