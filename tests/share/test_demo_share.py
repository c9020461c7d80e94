"""The sharing demo extension on the real demo province (SQLite: the subject is the data, not the
backend): requests in every state, real seals and grants, a fortnight of usage, deterministic."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.conftest import copy_demo
from yibenzhang import demo
from yibenzhang.access import Actor
from yibenzhang.ledger import service as ledger
from yibenzhang.share import console, seal
from yibenzhang.share import grants as G
from yibenzhang.share import requests as svc


def test_demo_sharing(sqlite_db, home, demo_province):
    # The run's demo province, whose first extension is the sharing demo (demo.DEMO_EXTENSIONS).
    assert demo.DEMO_EXTENSIONS[0] == "yibenzhang.share.demo:load"
    sqlite_db = copy_demo(demo_province, home)
    summary = demo_province.summary["share"]
    assert (summary["requests"], summary["grants"]) == (8, 4) and summary["usage_calls"] > 20
    with sqlite_db.read() as s:
        states = dict(s.execute(select(svc.ShareRequest.state, func.count()).group_by(svc.ShareRequest.state)).all())
        assert states["已批准"] == 4 and states["已拒绝"] == 2 and states["待提供方审批"] == 2
        reqs = list(s.execute(select(svc.ShareRequest)).scalars())
        assert sum(svc.is_overdue(r, svc._today()) for r in reqs) == 1
        assert all(seal.verify(s, r.sealed)["valid"] for r in reqs if r.sealed)
        assert {g.mode for g in s.execute(select(G.Grant)).scalars()} == {"接口", "核验", "文件"}
        series = console.usage_series(s, Actor.system(), by="org", days=15)
        busy_days = sum(1 for i in range(15) if any(x["data"][i] for x in series["series"]))
        assert len(series["series"]) == 4 and busy_days > 5
        assert ledger.verify(s).ok  # backdated usage times do not touch the chain
