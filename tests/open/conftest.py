"""Open-data fixtures: the test world plus graded open datasets with rows (one 无条件开放, one
有条件开放 and a second 有条件开放 for key-scope tests), one 不予开放 and one unpublished."""

from __future__ import annotations

from types import SimpleNamespace

import pyarrow as pa
import pytest

from tests.web.conftest import csrf_of, login, signed_in  # noqa: F401

# name, data type, grade, categories (the steward's decision)
ITEMS = [
    ("站点名称", "C", "一般-1级", []),
    ("区县代码", "C", "一般-1级", []),
    ("客流量", "I", "一般-1级", []),
    ("出生日期", "D", "一般-3级", ["birth_date"]),   # opened generalised to the year
    ("公民身份号码", "C", "一般-3级", ["id_card"]),  # never opened
    ("内部备注", "C", None, []),                     # ungraded: treated as 核心, never leaves
]
ROWS = {
    "站点名称": ["翠湖站", "滇池站", "金马站", "碧鸡站", "石林站", "宜良站"],
    "区县代码": ["990101", "990101", "990102", "990100", "990201", "990201"],
    "客流量": [120, 95, 300, 41, 77, 18],
    "出生日期": ["1990-03-07", "1985-12-12", "1977-01-01", "2000-02-02", "1999-12-12", "1988-08-08"],
    "公民身份号码": ["990101199003071234", "990101198512120018", "990102197701010011",
                 "990100200002020022", "990201199912120033", "990201198808080044"],
    "内部备注": ["机密备注甲", "机密备注乙", "机密备注丙", "机密备注丁", "机密备注戊", "机密备注己"],
}
PROTECTED = [*ROWS["公民身份号码"], *ROWS["内部备注"], "1990-03-07"]


def make_dataset(world, *, name: str, open_type: str, rows: bool = True, org: str = "police",
                 steward: str = "police_steward") -> int:
    from tests.factories import published
    from yibenzhang.catalog.model import ResourceItem
    from yibenzhang.catalog.schemas import ItemIn
    from yibenzhang.classify.model import ClassificationDecision
    from yibenzhang.collect.pipeline import ingest_arrow

    extra = {"open_condition": "限于科研和公益用途"} if open_type == "有条件开放" else {}
    rid = published(world, org=org, name=name, open_type=open_type, abstract=f"{name}：全省各站点客流量统计。",
                    items=[ItemIn(name=n, data_type=t, length=50, is_key=(n == "站点名称")) for n, t, _, _ in ITEMS],
                    **extra)
    if rows:
        ingest_arrow(world.db, world.actor(steward), rid, [pa.RecordBatch.from_pydict(ROWS)],
                     source={"kind": "test"})
    with world.db.write() as s:
        for item in s.query(ResourceItem).filter_by(resource_id=rid):
            _, _, grade, cats = next(i for i in ITEMS if i[0] == item.name)
            item.grade = grade
            if grade:
                s.add(ClassificationDecision(item_id=item.id, resource_id=rid, kind="调整", grade=grade,
                                             categories=cats, reason="test", decided_by=steward))
    return rid


@pytest.fixture
def opendata(world):
    from tests.factories import published
    from yibenzhang.open import downloads, rows_api

    rows_api.LIMITER.reset()
    downloads.clear_cache()
    ns = SimpleNamespace(world=world)
    ns.free = make_dataset(world, name="公交站点客流量", open_type="无条件开放")
    ns.cond = make_dataset(world, name="医院门诊量统计", open_type="有条件开放")
    ns.cond2 = make_dataset(world, name="景区游客量统计", open_type="有条件开放", rows=False)
    ns.closed = published(world, name="户籍人口信息", open_type="不予开放")
    yield ns
    rows_api.LIMITER.reset()
    downloads.clear_cache()
