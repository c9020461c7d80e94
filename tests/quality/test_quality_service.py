"""Quality end to end on both metadata stores: steward rules with permission and ledger events,
assessment of an ingested batch and of the current state, scores per org and region, HTTP, CLI."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tests.factories import published
from yibenzhang.catalog.schemas import ItemIn
from yibenzhang.collect.pipeline import ingest_file
from yibenzhang.errors import PermissionDenied, ValidationFailed
from yibenzhang.ledger.model import LedgerEvent
from yibenzhang.quality import service
from yibenzhang.quality import validators as V

ITEMS = [
    ItemIn(name="姓名", data_type="C", length=50, required=True),
    ItemIn(name="公民身份号码", data_type="C", length=18, required=True, is_key=True),
    ItemIn(name="手机号码", data_type="C", length=20),
    ItemIn(name="性别", data_type="C", enumeration=["男", "女"]),
]


def ident(day: int) -> str:
    body = "530102" + date(1980, 1, day).strftime("%Y%m%d") + "001"
    return body + V.id_check_character(body)


def write_csv(path, rows):
    path.write_text("姓名,公民身份号码,手机号码,性别\n" + "\n".join(",".join(r) for r in rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def people(world):
    return published(world, items=ITEMS, update_cycle="不定期")


def test_steward_rules_need_the_provider_and_are_in_the_ledger(world, people):
    db = world.db
    with db.write() as s:
        rule = service.add_rule(s, world.actor("police_steward"), people, kind="regex", items=["手机号码"],
                                params={"pattern": "1[0-9]{10}"})
    with db.write() as s, pytest.raises(PermissionDenied):
        service.add_rule(s, world.actor("market_steward"), people, kind="unique", items=["手机号码"])
    with db.write() as s, pytest.raises(ValidationFailed) as bad:
        service.add_rule(s, world.actor("police_steward"), people, kind="range", items=["无此项"], params={})
    assert {e.code for e in bad.value.errors} == {"quality_rule_item_unknown", "quality_rule_range"}
    with db.read() as s:
        keys = [r["key"] for r in service.list_rules(s, world.actor("consumer"), people)]
    assert f"steward:{rule.id}" in keys and "format:公民身份号码" in keys
    with db.write() as s:
        service.remove_rule(s, world.actor("police_steward"), rule.id)
    with db.read() as s:
        actions = s.execute(select(LedgerEvent.action).where(LedgerEvent.action.like("quality.rule.%"))).scalars()
        assert list(actions) == ["quality.rule.add", "quality.rule.remove"]


def test_ingested_batch_is_assessed_and_scored(world, people, tmp_path):
    db = world.db
    steward = world.actor("police_steward")
    with db.write() as s:
        service.add_rule(s, steward, people, kind="unique", items=["手机号码"])
    bad_id = ident(2)[:17] + ("0" if ident(2)[17] != "0" else "1")
    csv = write_csv(tmp_path / "people.csv", [
        ["张三", ident(1), "13812345678", "男"],
        ["李四", bad_id, "13812345678", "女"],
        ["王五", ident(3), "12345", "未知"],
        ["赵六", ident(4), "13900000000", "女"],
    ])
    report = ingest_file(db, steward, people, csv)
    quality = report.quality
    assert quality is not None and quality["rows"] == 4 and quality["scope"] == "current"
    with db.read() as s:
        detail = service.resource_quality(s, steward, people)
        public = service.resource_quality(s, world.actor("consumer"), people)
    results = {r["key"]: r for r in detail["latest"]["results"]}
    assert (results["format:公民身份号码"]["failed"], results["format:公民身份号码"]["checked"]) == (1, 4)
    assert results["enum:性别"]["failed"] == 1 and results["format:手机号码"]["failed"] == 1
    steward_unique = next(r for k, r in results.items() if k.startswith("steward:"))
    assert steward_unique["failed"] == 2 and len(steward_unique["samples"]) == 2
    assert detail["latest"]["scores"]["准确性"] < 100 and detail["latest"]["scores"]["完整性"] == 100.0
    assert detail["latest"]["scores"]["及时性"] is None  # 不定期: no freshness expectation
    assert all(r["samples"] is None for r in public["latest"]["results"])  # row numbers for insiders only
    # The current state, then history and scores per org and region.
    current = service.assess_current(db, steward, people)
    assert current["scope"] == "current" and current["rows"] == 4
    with db.read() as s:
        assert [h["scope"] for h in service.resource_quality(s, steward, people)["history"]] == ["current", "current"]
        orgs = service.scores_by(s, world.actor("reviewer"), "org")
        regions = service.scores_by(s, world.actor("reviewer"), "region")
        content = s.execute(select(LedgerEvent.content).where(LedgerEvent.action == "quality.assess")
                            .order_by(LedgerEvent.seq.desc())).scalars().first()
    assert [o["org_id"] for o in orgs] == [world.orgs["police"].id] and orgs[0]["rows"] == 4
    assert regions[0]["region_code"] == "990000" and regions[0]["overall"] == orgs[0]["overall"]
    assert content and "13812345678" not in content and ident(1) not in content  # counts only


def test_http_and_cli(world, people, client, tmp_path):
    csv = write_csv(tmp_path / "p.csv", [["张三", ident(1), "13812345678", "男"]])
    ingest_file(world.db, world.actor("police_steward"), people, csv)
    h = world.headers("police_steward")
    r = client.post(f"/api/v1/resources/{people}/quality-rules", headers=h,
                    json={"kind": "regex", "items": ["姓名"], "params": {"pattern": "("}})
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "quality_rule_regex"
    r = client.post(f"/api/v1/resources/{people}/quality-rules", headers=h,
                    json={"kind": "regex", "items": ["姓名"], "params": {"pattern": "[\u4e00-\u9fff]+"}})
    assert r.status_code == 201
    rule_id = r.json()["id"]
    got = client.get(f"/api/v1/resources/{people}/quality", headers=h).json()
    assert got["latest"]["rows"] == 1 and len(got["history"]) == 1
    assert client.get("/api/v1/quality/scores?level=region", headers=h).status_code == 200
    assert client.get("/api/v1/quality/scores?level=org").status_code == 401
    assert client.delete(f"/api/v1/quality-rules/{rule_id}", headers=world.headers("market_steward")).status_code == 403
    assert client.delete(f"/api/v1/quality-rules/{rule_id}", headers=h).status_code == 204

    from yibenzhang.cli import app

    out = CliRunner().invoke(app, ["quality", str(people), "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["rows"] == 1
    assert CliRunner().invoke(app, ["quality", "999999"]).exit_code == 2
