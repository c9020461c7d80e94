"""Open-data figures by scope and period, and the daily overdue job (both backends)."""

from __future__ import annotations

from datetime import timedelta

from yibenzhang import workdays
from yibenzhang.open import applications as apps
from yibenzhang.open import demands as dem
from yibenzhang.open import kpi, usage
from yibenzhang.orgs.model import Region

from .conftest import make_dataset


def test_figures_by_region_org_and_period(opendata):
    w = opendata.world
    city = make_dataset(w, name="春城公交客流", open_type="无条件开放", rows=False, org="city_police",
                        steward="city_steward")
    today = workdays.today()
    with w.db.write() as s:
        usage.add(s, opendata.free, "download.csv", 5, day=today)
        usage.add(s, opendata.free, "download.csv", 2, day=today - timedelta(days=40))
        usage.add(s, city, "download.json", 3, day=today)
        usage.add(s, city, usage.API, 7, day=today)
        a = apps.apply(s, w.actor("citizen"), opendata.cond, purpose="p", scenario="s", agreement=True)
        apps.decide(s, w.actor("police_approver"), a.id, "approve", "同意")
        d = dem.create_demand(s, w.actor("citizen"), title="春城公交客流", description="按小时")
        dem.answer_demand(s, w.actor("city_steward"), d.id, "已开放")
    with w.db.read() as s:
        everything = kpi.figures(s)
        assert everything == {"open_datasets": 4, "downloads": 10, "api_calls": 7, "demands_total": 1,
                              "demands_answered": 1, "demands_answered_on_time": 1, "applications_total": 1,
                              "applications_answered": 1, "applications_answered_on_time": 1}
        city_path = s.get(Region, w.regions["990100"]).path
        in_city = kpi.figures(s, region_path=city_path)
        assert (in_city["open_datasets"], in_city["downloads"], in_city["api_calls"]) == (1, 3, 7)
        assert (in_city["demands_total"], in_city["applications_total"]) == (1, 0)
        police = kpi.figures(s, org_id=w.orgs["police"].id)
        assert (police["open_datasets"], police["downloads"], police["applications_total"]) == (3, 7, 1)
        recent = kpi.figures(s, since=today - timedelta(days=7))
        assert recent["downloads"] == 8


def test_daily_job_marks_overdue_applications_and_demands(opendata):
    from yibenzhang.jobs import _handlers
    from yibenzhang.open import jobs

    w = opendata.world
    long_ago = workdays.today() - timedelta(days=60)
    with w.db.write() as s:
        apps.apply(s, w.actor("citizen"), opendata.cond, purpose="p", scenario="s", agreement=True, today=long_ago)
        dem.create_demand(s, w.actor("citizen"), title="气象观测", description="逐小时", today=long_ago)
    assert _handlers[jobs.OVERDUE_JOB] is jobs.mark_overdue_job
    out = jobs.mark_overdue_job(w.db)
    assert out["applications"]["marked"] == 1 and out["demands"]["marked"] == 1
    assert jobs.mark_overdue_job(w.db)["applications"]["marked"] == 0
    with w.db.read() as s:
        assert dem.list_demands(s, state="已逾期")[1] == 1
