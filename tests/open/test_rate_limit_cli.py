"""Rate limit of the rows API at N and N+1 calls (per key, per IP), plans and showcase rules, and
the `ybz open` commands (both backends)."""

from __future__ import annotations

from datetime import date

import pytest
from typer.testing import CliRunner

from yibenzhang import workdays
from yibenzhang.errors import Conflict, PermissionDenied, ValidationFailed
from yibenzhang.open import applications as apps
from yibenzhang.open import plans, rows_api
from yibenzhang.open import showcase as show


@pytest.fixture
def small_limit(monkeypatch):
    from yibenzhang.config import reset_settings

    monkeypatch.setenv("YBZ_RULE_OPEN_API_CALLS_PER_MINUTE", "3")
    reset_settings()
    now = [1000.0]
    monkeypatch.setattr(rows_api.LIMITER, "clock", lambda: now[0])
    rows_api.LIMITER.reset()
    yield now
    reset_settings()


def test_rate_limit_at_n_and_n_plus_one_per_ip(client, opendata, small_limit):
    url = f"/api/v1/open/datasets/{opendata.free}/rows"
    assert [client.get(url).status_code for _ in range(3)] == [200, 200, 200]
    r = client.get(url)
    assert r.status_code == 429 and r.json()["code"] == "open.rate_limited"
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.headers["retry-after"] == "60"
    small_limit[0] += 59.0
    assert client.get(url).status_code == 429 and client.get(url).headers["retry-after"] == "1"
    small_limit[0] += 1.0  # a new minute
    assert client.get(url).status_code == 200


def test_rate_limit_per_key_is_separate_from_the_ip(client, opendata, small_limit):
    w = opendata.world
    with w.db.write() as s:
        app = apps.apply(s, w.actor("citizen"), opendata.cond, purpose="研究", scenario="论文", agreement=True)
        apps.decide(s, w.actor("police_approver"), app.id, "approve", "同意")
        _, key = apps.take_key(s, w.actor("citizen"), app.id)
    url = f"/api/v1/open/datasets/{opendata.cond}/rows"
    free = f"/api/v1/open/datasets/{opendata.free}/rows"
    for _ in range(3):
        assert client.get(free).status_code == 200
    assert client.get(free).status_code == 429  # this IP is spent …
    h = {"X-API-Key": key}
    assert [client.get(url, headers=h).status_code for _ in range(4)] == [200, 200, 200, 429]  # … the key is not


def test_plan_rules(opendata):
    w = opendata.world
    year = workdays.today().year
    with w.db.write() as s:
        with pytest.raises(ValidationFailed) as bad:
            plans.add_entry(s, w.actor("police_steward"), org_id=w.orgs["police"].id, year=year, planned_quarter=5,
                            planned_date=date(year, 1, 5), open_type="随便")
        assert {e.field for e in bad.value.errors} == {"title", "planned_quarter", "open_type", "planned_date"}
        with pytest.raises(PermissionDenied):
            plans.add_entry(s, w.actor("reviewer"), org_id=w.orgs["police"].id, year=year, planned_quarter=1,
                            title="x")
        plans.add_entry(s, w.actor("police_steward"), org_id=w.orgs["police"].id, year=year, planned_quarter=2,
                        title="交通事故统计", planned_date=date(year, 5, 20))
        with pytest.raises(Conflict):
            plans.add_entry(s, w.actor("police_steward"), org_id=w.orgs["police"].id, year=year,
                            planned_quarter=3, title="交通事故统计")
        with pytest.raises(ValidationFailed):
            plans.add_entry(s, w.actor("market_steward"), org_id=w.orgs["market"].id, year=year,
                            planned_quarter=1, resource_id=opendata.free)  # not the market's resource


def test_showcase_review_by_the_regions_authority_only(opendata):
    w = opendata.world
    with w.db.write() as s:
        e = show.submit(s, w.actor("citizen"), name="应用", description="说明", url=None,
                        resource_ids=[opendata.free])
        entry_id = e.id
    for who in ("other_reviewer", "city_reviewer", "police_steward", "citizen"):
        with w.db.write() as s, pytest.raises(PermissionDenied):
            show.review(s, w.actor(who), entry_id, "approve")
    with w.db.write() as s, pytest.raises(ValidationFailed):
        show.review(s, w.actor("reviewer"), entry_id, "refuse")  # a refusal needs its reason
    with w.db.write() as s:
        assert show.review(s, w.actor("reviewer"), entry_id, "refuse", "链接无法访问").state == "已拒绝"
        assert show.listed(s)[1] == 0


def test_cli(opendata, tmp_path):
    from yibenzhang.cli import app

    w = opendata.world
    with w.db.write() as s:
        app_id = apps.apply(s, w.actor("citizen"), opendata.cond, purpose="研究", scenario="论文", agreement=True).id
    runner = CliRunner()
    r = runner.invoke(app, ["open", "applications", "--json"])
    assert r.exit_code == 0, r.output
    assert '"total": 1' in r.output
    r = runner.invoke(app, ["open", "decide", str(app_id), "approve", "--reason", "同意", "--as", "market_steward"])
    assert r.exit_code == 2 and "open_application_not_found" in r.output  # others never see it
    r = runner.invoke(app, ["open", "decide", str(app_id), "approve", "--reason", "同意", "--as", "police_approver",
                            "--json"])
    assert r.exit_code == 0 and "已批准" in r.output
    r = runner.invoke(app, ["open", "demands", "--json"])
    assert r.exit_code == 0 and '"total": 0' in r.output
    target = tmp_path / "plan.csv"
    r = runner.invoke(app, ["open", "plan", "export", "--year", "2025", "--format", "csv", "--out", str(target)])
    assert r.exit_code == 0 and target.read_bytes().startswith(b"\xef\xbb\xbf")
    r = runner.invoke(app, ["open", "plan", "export", "--format", "pdf", "--out", str(tmp_path / "x")])
    assert r.exit_code == 2
    target = tmp_path / "cat.xlsx"
    r = runner.invoke(app, ["open", "catalogue", "export", "--org", str(w.orgs["police"].id), "--out", str(target)])
    assert r.exit_code == 0 and target.stat().st_size > 0
    r = runner.invoke(app, ["open", "mark-overdue", "--json"])
    assert r.exit_code == 0 and '"marked": 0' in r.output
