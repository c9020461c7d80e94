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


def approved(world: World, run) -> dict:
    """The run as its operator sees it after a checker approved it if it was held: the attack
    suite assumes the worst checker, one who approves everything (issue 16), so what it shows is
    what the automatic rules alone let out."""
    from yibenzhang.operate import output_check, sandbox

    if run.state == "待审核":
        with world.db.write() as s:
            output_check.decide(s, world.actor("reviewer"), run.id, approve=True, reason="测试：审核通过")
        with world.db.read() as s:
            return sandbox.run_as_dict(sandbox.get_run(s, world.actor("operator_user"), run.id), with_output=True)
    return sandbox.run_as_dict(run, with_output=True)


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
    return build_op(world)


def build_op(world: World) -> Op:
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


# --- a social-insurance register for the attack suite (issue 16) ---------------------------------
# 险种类型 × 参保状态: the "ordinary table", 9 cells, one of them (失业保险, 终止参保) below k.
INSURANCE_CELLS = {
    ("职工养老", "参保缴费"): 40, ("职工养老", "暂停缴费"): 25, ("职工养老", "终止参保"): 12,
    ("城乡居民养老", "参保缴费"): 30, ("城乡居民养老", "暂停缴费"): 20, ("城乡居民养老", "终止参保"): 15,
    ("失业保险", "参保缴费"): 18, ("失业保险", "暂停缴费"): 11, ("失业保险", "终止参保"): 4,
}
SURNAMES = "赵钱孙李周吴郑王冯陈褚卫蒋沈韩杨"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂"
# 个人编号 graded 一般-1级 on purpose: a grading that did not recognise an identifier
PEOPLE_GRADES = {"姓名": "一般-3级", "公民身份号码": "一般-4级", "个人编号": "一般-1级", "险种类型": "一般-1级",
                 "参保状态": "一般-1级", "缴费基数": "一般-3级"}


def people_rows() -> tuple[pa.RecordBatch, list[dict]]:
    names, ids, numbers, kinds, states, bases = [], [], [], [], [], []
    n = 0
    for (kind, state), count in INSURANCE_CELLS.items():
        for _i in range(count):
            names.append(SURNAMES[n % len(SURNAMES)] + GIVEN[(n * 7) % len(GIVEN)] + GIVEN[(n * 3 + 1) % len(GIVEN)])
            ids.append(f"530102{1950 + n % 50}{1 + n % 12:02d}{1 + n % 28:02d}{n:03d}{n % 10}")
            numbers.append(f"P{7_000_000 + n * 37}")
            kinds.append(kind)
            states.append(state)
            bases.append(str(3000 + (n * 53) % 9000))
            n += 1
    people = [{"姓名": a, "公民身份号码": b, "个人编号": c} for a, b, c in zip(names, ids, numbers, strict=True)]
    return pa.RecordBatch.from_pydict({"姓名": names, "公民身份号码": ids, "个人编号": numbers, "险种类型": kinds,
                                       "参保状态": states, "缴费基数": bases}), people


@dataclass
class People:
    world: World
    resource_id: int
    auth_id: int
    people: list[dict]

    @property
    def db(self):
        return self.world.db

    def run(self, sql: str, who: str = "operator_user", approve: bool = True) -> dict:
        from yibenzhang.operate import sandbox

        sql = sql.replace("{r}", f"r_{self.resource_id}")
        run = sandbox.submit_query(self.db, self.world.actor(who), self.auth_id, sql)
        return approved(self.world, run) if approve else sandbox.run_as_dict(run, with_output=True)


@pytest.fixture
def people(world: World) -> People:
    items = [ItemIn(name="姓名", data_type="C"), ItemIn(name="公民身份号码", data_type="C", length=18),
             ItemIn(name="个人编号", data_type="C"), ItemIn(name="险种类型", data_type="C"),
             ItemIn(name="参保状态", data_type="C"), ItemIn(name="缴费基数", data_type="N")]
    rid = published(world, name="参保人员登记", items=items)
    batch, persons = people_rows()
    ingest_arrow(world.db, Actor.system(), rid, [batch], source={"kind": "test"})
    with world.db.write() as s:
        for item in s.query(ResourceItem).filter_by(resource_id=rid):
            item.grade = PEOPLE_GRADES[item.name]
    return People(world, rid, make_auth(world, rid, list(PEOPLE_GRADES)), persons)
