"""operate.demo.load: authorizations in every state and sandbox runs, deterministic. (How fast the
demo loads is `ybz bench demo`'s to measure, not a wall-clock assertion here.)"""

from __future__ import annotations

from tests.factories import published
from tests.operate.conftest import rows
from yibenzhang.access import Actor
from yibenzhang.catalog.schemas import ItemIn
from yibenzhang.collect.pipeline import ingest_arrow
from yibenzhang.operate import demo
from yibenzhang.operate.model import Authorization, SandboxRun


def test_demo_load(op):
    names = ("区县", "年龄", "性别", "收入", "身份证号", "病史", "机密")
    second = published(op.world, name="居民收入（二）", items=[ItemIn(name=n, data_type="C") for n in names])
    ingest_arrow(op.db, Actor.system(), second, [rows()], source={"kind": "test"})
    summary = demo.load(op.db, 42)["operate"]
    assert summary["authorizations"] == {"有效": 1, "暂停": 1, "撤销": 1, "已到期": 1}
    assert summary["sandbox_runs"]["已放行"] >= 1 and summary["sandbox_runs"]["已拒绝"] >= 1
    with op.db.read() as s:
        assert s.query(Authorization).count() == 5  # the fixture's own and the demo's four
        assert s.query(SandboxRun).count() == sum(summary["sandbox_runs"].values())
