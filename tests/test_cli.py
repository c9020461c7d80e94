"""The `ybz` command: init is idempotent, --json everywhere, exit 2 on bad input."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from yibenzhang.cli import app

runner = CliRunner()


def ybz(*args: str, env: dict[str, str] | None = None):
    return runner.invoke(app, list(args), env=env, catch_exceptions=False)


def test_init_creates_home_database_and_zone_and_is_idempotent(home):
    first = ybz("init", "--json")
    assert first.exit_code == 0, first.output
    report = json.loads(first.output)
    assert report["categories_added"] > 100
    assert (home / "ybz.sqlite3").exists() and (home / "zone").is_dir()
    second = json.loads(ybz("init", "--json").output)
    assert second["categories_added"] == 0
    assert ybz("ledger", "verify").exit_code == 0


def test_init_on_the_configured_database(db):
    assert ybz("init", "--json").exit_code == 0  # already migrated: nothing breaks, nothing doubles
    assert json.loads(ybz("init", "--json").output)["categories_added"] == 0


def test_user_add_and_token_create(world):
    uscc = world.orgs["police"].uscc
    r = ybz("user", "add", "zhang_san", "--password", "long-enough-1", "--name", "张三",
            "--role", f"数据专员:{uscc}", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["roles"] == ["数据专员"]
    r = ybz("user", "add", "li_si", "--password", "long-enough-1", "--role", "主管部门审核员:990100", "--json")
    assert r.exit_code == 0, r.output
    r = ybz("token", "create", "zhang_san", "--json")
    token = json.loads(r.output)["token"]
    assert token.startswith("ybz_")
    from fastapi.testclient import TestClient

    from yibenzhang.api import create_app

    with TestClient(create_app()) as c:
        me = c.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me["username"] == "zhang_san"


def test_bad_input_exits_2_with_zh_and_en(world):
    r = ybz("user", "add", "bad", "--password", "long-enough-1", "--role", "数据专员")
    assert r.exit_code == 2
    assert "role_needs_org" in r.output and "该角色需要指定所属机构" in r.output and "needs an organization" in r.output
    r = ybz("user", "add", "bad", "--password", "x", "--json")
    assert r.exit_code == 2 and json.loads(r.output)["error"]["errors"][0]["code"] == "password_too_short"
    assert ybz("token", "create", "nobody").exit_code == 2
    assert ybz("bench", "no-such-bench").exit_code == 2
    assert ybz("bench", "ledger", "--rows", "10").exit_code == 2  # the ledger benchmark has no rows


def test_acting_as_a_user_is_checked_by_the_service(world):
    r = ybz("user", "add", "eve", "--password", "long-enough-1", "--as", "police_steward", "--json")
    assert r.exit_code == 2 and json.loads(r.output)["error"]["code"] == "permission_denied"


def test_ledger_verify_json(world):
    r = ybz("ledger", "verify", "--json")
    assert r.exit_code == 0
    assert json.loads(r.output)["ok"] is True


def test_catalogue_workflow_from_the_command_line(world, tmp_path):
    from tests.factories import resource_in
    from yibenzhang.access import Actor
    from yibenzhang.catalog import service as catalog

    with world.db.write() as s:
        code = catalog.create_resource(s, Actor.system(), resource_in(world)).code
    assert ybz("catalog", "submit", code, "--as", "market_steward").exit_code == 2  # not their org
    r = ybz("catalog", "submit", code, "--as", "police_steward", "--json")
    assert r.exit_code == 0 and json.loads(r.output)["status"] == "待审核"
    r = ybz("catalog", "return", code, "--reason", " ", "--as", "reviewer", "--json")
    assert r.exit_code == 2 and json.loads(r.output)["error"]["errors"][0]["code"] == "reason_required"
    r = ybz("catalog", "publish", code, "--as", "reviewer", "--json")
    assert json.loads(r.output)["status"] == "已发布"
    shown = json.loads(ybz("catalog", "show", code, "--as", "consumer", "--json").output)
    assert shown["code"] == code and [i["name"] for i in shown["items"]][:2] == ["姓名", "公民身份号码"]
    listed = json.loads(ybz("catalog", "list", "--status", "已发布", "--as", "consumer", "--json").output)
    assert [x["code"] for x in listed] == [code]
    found = json.loads(ybz("catalog", "search", "人口", "--as", "consumer", "--json").output)
    assert [x["code"] for x in found] == [code]
    assert json.loads(ybz("catalog", "search", "人口", "--json").output) != []  # system sees it too
    assert ybz("catalog", "show", code, "--as", "citizen").exit_code == 2  # not open: not found
    r = ybz("catalog", "retire", code, "--reason", "业务撤销", "--as", "reviewer", "--json")
    assert json.loads(r.output)["status"] == "已停用"
