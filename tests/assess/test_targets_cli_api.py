"""Targets with history, `ybz assess` / `ybz target`, the HTTP API and the exports (both backends)."""

from __future__ import annotations

import io
import json
from datetime import date

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from tests.assess.test_kpis import TODAY, state  # noqa: F401  (the known state fixture)
from yibenzhang.access import Actor
from yibenzhang.assess import model as T
from yibenzhang.cli import app
from yibenzhang.errors import Conflict, PermissionDenied, ValidationFailed
from yibenzhang.ledger.model import LedgerEvent


def test_seed_is_idempotent_and_revision_keeps_history(world):
    with world.db.write() as s:
        assert T.seed_targets(s, Actor.system()) == 5
        assert T.seed_targets(s, Actor.system()) == 0
        first = next(t for t in T.list_targets(s, world.actor("admin"), on=date(2025, 1, 1))
                     if t.metric == "records_collected" and t.due_on == date(2024, 12, 31))
        assert first.value == 100_000_000_000
        new = T.revise_target(s, world.actor("reviewer"), first.id, value=120_000_000_000,
                              effective_from=date(2025, 7, 1), basis="省政府2025年工作要点")
        assert (first.effective_to, new.replaces_id, new.value) == (date(2025, 6, 30), first.id, 1.2e11)
        old_view = T.list_targets(s, world.actor("auditor"), on=date(2025, 6, 30))
        new_view = T.list_targets(s, world.actor("auditor"), on=date(2025, 7, 1))
        assert first.id in [t.id for t in old_view] and first.id not in [t.id for t in new_view]
        assert new.id in [t.id for t in new_view]
        assert len(T.list_targets(s, world.actor("auditor"), history=True)) == 6
        with pytest.raises(Conflict):
            T.revise_target(s, world.actor("admin"), first.id, value=1.0, effective_from=date(2025, 8, 1))
        kinds = [e.action for e in s.query(LedgerEvent).filter(LedgerEvent.action.like("assess.target.%"))]
        assert kinds.count("assess.target.create") == 5 and kinds.count("assess.target.revise") == 1


def test_who_may_set_targets_and_validation(world):
    with world.db.write() as s:
        for who in ("city_reviewer", "police_steward", "auditor"):
            with pytest.raises(PermissionDenied):
                T.create_target(s, world.actor(who), metric="open_datasets", value=10, due_on=date(2025, 12, 31))
        city = T.create_target(s, world.actor("city_reviewer"), metric="open_datasets", value=300,
                               due_on=date(2025, 12, 31), scope="990100")
        assert city.scope == "990100"
        with pytest.raises(PermissionDenied):
            T.create_target(s, world.actor("city_reviewer"), metric="open_datasets", value=1,
                            due_on=date(2025, 12, 31), scope="990200")
        with pytest.raises(ValidationFailed) as err:
            T.create_target(s, world.actor("admin"), metric="happiness", value=-1, due_on=date(2025, 1, 1),
                            scope="123456")
        assert {e.field for e in err.value.errors} == {"metric", "scope", "value"}
        with pytest.raises(ValidationFailed):
            T.create_target(s, world.actor("admin"), metric="catalogue_coverage", value=1.5, due_on=date(2025, 1, 1))
        with pytest.raises(PermissionDenied):
            T.list_targets(s, world.actor("citizen"))


def test_cli_assess_and_target(world, state):  # noqa: F811
    runner = CliRunner()

    def ybz(*args: str):
        return runner.invoke(app, list(args), catch_exceptions=False, env={"COLUMNS": "200"})

    r = ybz("assess", "--date", TODAY.isoformat(), "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["totals"]["records_collected"] == 1_700 and "orgs" not in out
    r = ybz("assess", "--date", TODAY.isoformat())
    assert r.exit_code == 0 and "归集数据量" in r.stdout and "1,700" in r.stdout and "Records collected" in r.stdout
    r = ybz("assess", "--region", "990100", "--as", "city_reviewer", "--json", "--date", TODAY.isoformat())
    assert json.loads(r.stdout)["scope"]["region_code"] == "990100"
    r = ybz("assess", "--region", "990000", "--as", "city_reviewer")
    assert r.exit_code == 2 and "assess_denied" in r.output
    r = ybz("assess", "--date", "20-10-2025")
    assert r.exit_code == 2
    r = ybz("target", "set", "open_datasets", "400", "--due", "2025-12-31", "--scope", "990100",
            "--as", "city_reviewer", "--json")
    assert r.exit_code == 0, r.output
    tid = json.loads(r.stdout)["id"]
    r = ybz("target", "revise", str(tid), "--value", "500", "--from", "2099-01-01", "--json")
    assert json.loads(r.stdout)["replaces_id"] == tid
    r = ybz("target", "list", "--history", "--scope", "990100", "--json")
    assert [x["value"] for x in json.loads(r.stdout)] == [400.0, 500.0]
    r = ybz("target", "set", "nonsense", "1", "--due", "2025-12-31")
    assert r.exit_code == 2 and "unknown_value" in r.output
    r = ybz("target", "seed", "--json")
    assert json.loads(r.stdout)["added"] == 0  # the state already seeded them
    r = ybz("target", "retire", str(tid), "--as", "police_steward")
    assert r.exit_code == 2


def test_http_api_and_exports(world, state, client):  # noqa: F811
    h = world.headers
    r = client.get("/api/v1/assess/kpis", params={"date": TODAY.isoformat()}, headers=h("reviewer"))
    assert r.status_code == 200 and r.json()["totals"]["open_datasets"] == 1
    r = client.get("/api/v1/assess/kpis", params={"region": "990000"}, headers=h("city_reviewer"))
    assert r.status_code == 403 and r.json()["code"] == "assess_denied"
    assert client.get("/api/v1/assess/kpis").status_code == 401
    r = client.get("/api/v1/assess/scorecards", params={"date": TODAY.isoformat()}, headers=h("police_steward"))
    assert [c["org_id"] for c in r.json()["orgs"]] == [world.orgs["police"].id]
    r = client.get("/api/v1/assess/targets", headers=h("auditor"))
    assert len(r.json()["items"]) == 5 and "records_collected" in r.json()["metrics"]
    r = client.post("/api/v1/assess/targets", headers=h("admin"),
                    json={"metric": "fresh_rate", "value": 0.9, "due_on": "2026-06-30"})
    assert r.status_code == 201
    r = client.post(f"/api/v1/assess/targets/{r.json()['id']}/revise", headers=h("police_steward"), json={"value": 1})
    assert r.status_code == 403
    r = client.post("/api/v1/assess/targets", headers=h("admin"),
                    json={"metric": "x", "value": 1, "due_on": "2026-01-01"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "metric"
    r = client.get("/api/v1/assess/export.xlsx", params={"date": TODAY.isoformat()}, headers=h("admin"))
    assert r.status_code == 200
    book = load_workbook(io.BytesIO(r.content))
    assert book.sheetnames == ["考核指标", "目标进度", "地区", "机构评分", "待办事项"]
    kpi = {row[3]: row[2] for row in book["考核指标"].iter_rows(min_row=2, values_only=True)}
    assert kpi["records_collected"] == 1_700 and kpi["share_median_days"] == 7.5
    assert any(row[1] == "数据未按更新周期更新" for row in book["待办事项"].iter_rows(min_row=2, values_only=True))
    r = client.get("/api/v1/assess/export.xlsx", params={"date": TODAY.isoformat(), "lang": "en"}, headers=h("admin"))
    assert r.status_code == 200
    r = client.get("/api/v1/assess/report.html", params={"date": TODAY.isoformat()}, headers=h("admin"))
    assert r.status_code == 200 and "考核评估报告" in r.text and "1,700" in r.text and "<script" not in r.text
    assert "户籍迁移信息" in r.text  # the stale resource in police's to-do list


def test_demo_extension_seeds_targets(world):
    from yibenzhang.assess import demo

    assert demo.load(world.db, 7)["assess_targets"] == 6
    assert demo.load(world.db, 7)["assess_targets"] == 0
    with world.db.read() as s:
        city = [t for t in T.list_targets(s, Actor.system(), on=date(2025, 6, 1)) if t.scope != T.PLATFORM]
        assert [(t.scope, t.metric) for t in city] == [("990100", "open_datasets")]
