"""An operator with an authorization over a graded resource with rows in the zone.

Rows of 居民收入 by 区县: 甲 100, 乙 50, 丙 10 (= k), 丁 9 (= k − 1): 169 in all.
Grades: 区县, 年龄, 性别 一般-1级 (clear for 运营结果); 收入 一般-3级 (masked); 身份证号 一般-3级
(pseudonym); 病史 一般-4级 (denied row-level); 机密 核心 (never used).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pyarrow as pa
import pytest

from tests.factories import World, published
from tests.web.conftest import csrf_of, login, signed_in  # noqa: F401
from yibenzhang.access import Actor
from yibenzhang.catalog.model import ResourceItem
from yibenzhang.catalog.schemas import ItemIn
from yibenzhang.collect.pipeline import ingest_arrow
from yibenzhang.operate import authorizations as auths

GRADES = {"区县": "一般-1级", "年龄": "一般-1级", "性别": "一般-1级", "收入": "一般-3级", "身份证号": "一般-3级",
          "病史": "一般-4级", "机密": "核心"}
COUNTIES = [("甲", 100), ("乙", 50), ("丙", 10), ("丁", 9)]
AUTHORIZED = ["区县", "年龄", "性别", "收入", "身份证号", "病史", "机密"]


def rows() -> pa.RecordBatch:
    county, age, sex, income, ids, history, secret = [], [], [], [], [], [], []
    n = 0
    for name, count in COUNTIES:
        for _i in range(count):
            county.append(name)
            age.append(20 + (n % 40))
            sex.append("男" if n % 2 else "女")
            income.append(3000 + 10 * n)
            ids.append(f"99010119900101{n:04d}")
            history.append("无" if n % 3 else "高血压")
            secret.append(f"S{n}")
            n += 1
    return pa.RecordBatch.from_pydict({"区县": county, "年龄": [str(a) for a in age], "性别": sex,
                                       "收入": [str(x) for x in income], "身份证号": ids, "病史": history,
                                       "机密": secret})


@dataclass
class Op:
    world: World
    resource_id: int
    other_resource_id: int
    auth_id: int

    @property
    def db(self):
        return self.world.db

    def actor(self, name: str = "operator_user") -> Actor:
        return self.world.actor(name)


def make_auth(world: World, resource_id: int, items: list[str], **overrides) -> int:
    data = dict(operator_org_id=world.orgs["operator"].id, scope_kind="场景", scope="普惠金融",
                resources=[{"resource_id": resource_id, "items": items}], purpose="小微企业信用评估",
                conditions="结果仅用于授权场景", starts_on=date(2025, 1, 1), ends_on=date(2029, 12, 31),
                fee_cap_fen=1_000_000)
    data.update(overrides)
    with world.db.write() as s:
        return auths.create_authorization(s, world.actor("reviewer"), **data).id


@pytest.fixture
def op(world: World) -> Op:
    items = [ItemIn(name="区县", data_type="C"), ItemIn(name="年龄", data_type="I"), ItemIn(name="性别", data_type="C"),
             ItemIn(name="收入", data_type="N"), ItemIn(name="身份证号", data_type="C", length=18),
             ItemIn(name="病史", data_type="C"), ItemIn(name="机密", data_type="C")]
    rid = published(world, name="居民收入", items=items)
    other = published(world, name="出入境记录",
                      items=[ItemIn(name="姓名", data_type="C"), ItemIn(name="日期", data_type="D")])
    ingest_arrow(world.db, Actor.system(), rid, [rows()], source={"kind": "test"})
    with world.db.write() as s:
        for item in s.query(ResourceItem).filter_by(resource_id=rid):
            item.grade = GRADES[item.name]
    return Op(world, rid, other, make_auth(world, rid, AUTHORIZED))
