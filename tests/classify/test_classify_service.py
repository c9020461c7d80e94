"""Classification services on both metadata stores: suggestions stored with evidence, confirm and
override by the provider's steward only (reason required), the authority's review within its
region, the 重要数据目录 from confirmed grades (+ XLSX), the ledger without values, HTTP and CLI."""

from __future__ import annotations

import io
import json
import random
from datetime import date

import pyarrow as pa
import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from tests.factories import published
from yibenzhang.catalog.model import ResourceItem
from yibenzhang.catalog.schemas import ItemIn
from yibenzhang.classify import grading as G
from yibenzhang.classify import service as svc
from yibenzhang.classify.model import ClassificationDecision, ClassificationSuggestion
from yibenzhang.collect.pipeline import ingest_arrow
from yibenzhang.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from yibenzhang.ledger.model import LedgerEvent
from yibenzhang.quality import validators as V

ITEMS = [
    ItemIn(name="姓名", data_type="C", length=50),
    ItemIn(name="公民身份号码", data_type="C", length=18, is_key=True),
    ItemIn(name="手机号码", data_type="C", length=20),
    ItemIn(name="银行卡号", data_type="C", length=19),
    ItemIn(name="办理事项", data_type="C", length=100),
]
ROWS = 40
NAMES = ["张伟", "王芳", "李娜", "刘洋", "陈静", "欧阳明", "司马光", "赵敏", "孙丽", "周杰", "黄磊", "吴昊"]


def ident(rng: random.Random) -> str:
    born = date(1950, 1, 1).toordinal() + rng.randrange(20000)
    body = "530102" + date.fromordinal(born).strftime("%Y%m%d") + f"{rng.randrange(1000):03d}"
    return body + V.id_check_character(body)


def luhn(prefix: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(prefix)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return prefix + str((10 - total % 10) % 10)


def people_rows(seed: int = 7, n: int = ROWS) -> pa.Table:
    rng = random.Random(seed)
    return pa.table({
        "姓名": [rng.choice(NAMES) for _ in range(n)],
        "公民身份号码": [ident(rng) for _ in range(n)],
        "手机号码": [f"1{rng.choice('3589')}{rng.randrange(10**9):09d}" for _ in range(n)],
        "银行卡号": [luhn(f"6222{rng.randrange(10**14):014d}") for _ in range(n)],
        "办理事项": [rng.choice(["户口迁移", "居住证办理", "身份证换领"]) for _ in range(n)],
    })


def make_people(world, org: str = "police", steward: str = "police_steward", name: str = "人口办件信息",
                reviewer: str = "reviewer") -> tuple[int, pa.Table]:
    rid = published(world, org=org, reviewer=reviewer, name=name, items=ITEMS, update_cycle="不定期")
    table = people_rows()
    ingest_arrow(world.db, world.actor(steward), rid, table.to_batches(), source={"kind": "test"})
    return rid, table


@pytest.fixture
def people(world):
    return make_people(world)


def item_id(db, rid: int, name: str) -> int:
    with db.read() as s:
        return s.execute(select(ResourceItem.id).where(ResourceItem.resource_id == rid,
                                                       ResourceItem.name == name)).scalar_one()


def ledger_text(db) -> str:
    with db.read() as s:
        events = s.execute(select(LedgerEvent).where(LedgerEvent.action.like("classify.%"))).scalars().all()
        return "\n".join(f"{e.action} {e.content}" for e in events)


def assert_no_values(text: str, table: pa.Table) -> None:
    for column in ("公民身份号码", "手机号码", "银行卡号"):
        for value in table.column(column).to_pylist()[:10]:
            assert value not in text
    for value in set(table.column("姓名").to_pylist()):
        assert value not in text


def test_suggestions_are_stored_with_evidence_and_ledgered_with_counts_only(world, people):
    rid, table = people
    db = world.db
    view = svc.suggest(db, world.actor("police_steward"), rid)
    by_name = {it["name"]: it for it in view["items"]}
    top = {n: (it["suggestion"]["categories"] or [{}])[0].get("category") for n, it in by_name.items()}
    assert top == {"姓名": "person_name", "公民身份号码": "id_card", "手机号码": "mobile", "银行卡号": "bank_card",
                   "办理事项": None}
    assert {n: it["suggestion"]["grade"] for n, it in by_name.items()} == {
        "姓名": "一般-3级", "公民身份号码": "一般-4级", "手机号码": "一般-3级", "银行卡号": "一般-4级",
        "办理事项": "一般-1级"}
    assert view["suggested_resource_grade"] == "一般-4级"  # 就高从严
    assert view["resource_grade"] is None  # nothing confirmed yet
    assert view["counts"]["未确认"] == 5
    card = by_name["银行卡号"]["suggestion"]
    assert card["sample_size"] == ROWS and card["categories"][0]["evidence"]  # evidence kept as given
    assert card["categories"][0]["confidence"] >= 0.5 and card["categories"][0]["counted"]

    svc.suggest(db, world.actor("reviewer"), rid)  # the region's authority may ask too; a rerun replaces
    with db.read() as s:
        assert len(s.execute(select(ClassificationSuggestion)).scalars().all()) == 5
        grades = s.execute(select(ResourceItem.grade).where(ResourceItem.resource_id == rid)).scalars().all()
        assert set(grades) == {None}  # suggestions never write the catalogue's grade
    with pytest.raises(PermissionDenied):
        svc.suggest(db, world.actor("market_steward"), rid)

    text = ledger_text(db)
    assert text.count("classify.suggest") == 2
    with db.read() as s:
        content = s.execute(select(LedgerEvent.content).where(LedgerEvent.action == "classify.suggest")
                            ).scalars().first()
    body = json.loads(content)
    assert body["items"] == 5 and body["recognised"] == 4 and body["grades"]["一般-4级"] == 2  # ID card, bank card
    assert body["sample_size"] == ROWS and body["rules_digest"] == G.get_rules().digest
    assert_no_values(text, table)


def test_confirm_and_override_are_the_provider_stewards_with_a_reason(world, people):
    rid, table = people
    db = world.db
    card, phone, task = (item_id(db, rid, n) for n in ("银行卡号", "手机号码", "办理事项"))
    with db.write() as s, pytest.raises(Conflict) as early:
        svc.confirm(s, world.actor("police_steward"), card)
    assert early.value.code == "classification_no_suggestion"
    svc.suggest(db, world.actor("police_steward"), rid)

    for who in ("market_steward", "consumer", "reviewer", "police_approver", "auditor"):
        with db.write() as s, pytest.raises(PermissionDenied):
            svc.confirm(s, world.actor(who), card)
        with db.write() as s, pytest.raises(PermissionDenied):
            svc.override(s, world.actor(who), card, "重要", None, "理由")
    with db.write() as s, pytest.raises(NotFound):
        svc.confirm(s, world.actor("police_steward"), 999999)

    with db.write() as s:
        d = svc.confirm(s, world.actor("police_steward"), card)
        assert (d.kind, d.grade, d.categories) == ("确认", "一般-4级", ["bank_card"])

    with db.write() as s, pytest.raises(ValidationFailed) as bad:
        svc.override(s, world.actor("police_steward"), phone, "一般-2级", None, "  ")
    assert [(e.field, e.code) for e in bad.value.errors] == [("reason", "reason_required")]
    with db.write() as s, pytest.raises(ValidationFailed) as bad:
        svc.override(s, world.actor("police_steward"), phone, "高", ["mobile", "wechat"], "")
    assert {(e.field, e.code) for e in bad.value.errors} == {
        ("grade", "grade_unknown"), ("reason", "reason_required"), ("categories.1", "category_unknown")}

    with db.write() as s:
        d = svc.override(s, world.actor("police_steward"), task, "重要", ["public"], "涉及全省户籍迁移汇总")
        assert (d.kind, d.grade, d.suggested_grade, d.reason) == ("调整", "重要", "一般-1级", "涉及全省户籍迁移汇总")
    with db.read() as s:
        view = svc.classification(s, world.actor("police_steward"), rid)
        assert s.get(ResourceItem, task).grade == "重要" and s.get(ResourceItem, card).grade == "一般-4级"
        assert svc.resource_grade_of(s, rid) == "重要"
    assert view["resource_grade"] == "重要"  # 就高从严 over confirmed items
    states = {it["name"]: it["state"] for it in view["items"]}
    assert states == {"姓名": "未确认", "公民身份号码": "未确认", "手机号码": "未确认", "银行卡号": "已确认",
                      "办理事项": "已调整"}
    # a later override replaces the decision (one per item); the ledger keeps both acts
    with db.write() as s:
        svc.override(s, world.actor("admin"), task, "一般-2级", ["public"], "复核后下调")
    with db.read() as s:
        assert s.execute(select(ClassificationDecision).where(ClassificationDecision.item_id == task)
                         ).scalar_one().grade == "一般-2级"
    text = ledger_text(db)
    assert text.count("classify.confirm") == 1 and text.count("classify.override") == 2
    assert_no_values(text, table)

    with db.read() as s, pytest.raises(NotFound):  # the public cannot see an unopened resource at all
        svc.classification(s, world.actor("citizen"), rid)


def test_the_authority_sees_unconfirmed_and_overridden_items_of_its_region_only(world, people):
    province, _ = people
    city, _ = make_people(world, org="city_police", steward="city_steward", name="春城人口办件",
                          reviewer="city_reviewer")
    db = world.db
    svc.suggest(db, world.actor("police_steward"), province)
    svc.suggest(db, world.actor("city_steward"), city)
    with db.write() as s:
        svc.confirm(s, world.actor("police_steward"), item_id(db, province, "姓名"))
        svc.override(s, world.actor("city_steward"), item_id(db, city, "手机号码"), "一般-4级", ["mobile"],
                     "含重点人员")

    with db.read() as s:
        everything = svc.review(s, world.actor("reviewer"))
        city_view = svc.review(s, world.actor("city_reviewer"))
        city_from_top = svc.review(s, world.actor("reviewer"), "990100")
        other = svc.review(s, world.actor("other_reviewer"))
    assert everything["counts"] == {"未建议": 0, "未确认": 8, "已确认": 1, "已调整": 1}
    assert len(everything["items"]) == 9  # the confirmed one is no longer waiting
    assert {r["resource_id"] for r in city_view["items"]} == {city}
    assert city_view["counts"]["未确认"] == 4 and city_view["counts"]["已调整"] == 1
    overridden = [r for r in city_view["items"] if r["state"] == "已调整"]
    assert [(r["item"], r["grade"], r["suggested_grade"], r["decision"]["reason"]) for r in overridden] == [
        ("手机号码", "一般-4级", "一般-3级", "含重点人员")]
    assert {r["resource_id"] for r in city_from_top["items"]} == {city}
    assert other["items"] == []
    with db.read() as s:
        with pytest.raises(PermissionDenied):
            svc.review(s, world.actor("other_reviewer"), "990100")  # not below its own region
        with pytest.raises(PermissionDenied):
            svc.review(s, world.actor("police_steward"))
        with pytest.raises(NotFound):
            svc.review(s, world.actor("reviewer"), "000000")


@pytest.fixture
def bank_cards_important(tmp_path, monkeypatch):
    """An authority's rules: bank card numbers harm the economy (经济运行/严重 → 重要)."""
    text = G.DEFAULT_PATH.read_text(encoding="utf-8")
    old = 'name = "银行卡号"\nsubject = "个人"\nsensitive = true\nimpact_object = "个人权益"\nimpact_degree = "严重"'
    assert old in text
    path = tmp_path / "authority-rules.toml"
    path.write_text(text.replace(old, old.replace('"个人权益"', '"经济运行"')), encoding="utf-8")
    monkeypatch.setenv(G.ENV_VAR, str(path))
    return path


def test_important_data_catalogue_comes_from_confirmed_grades_and_exports_to_xlsx(world, people,
                                                                                  bank_cards_important):
    from openpyxl import load_workbook

    rid, table = people
    db = world.db
    view = svc.suggest(db, world.actor("police_steward"), rid)
    assert view["suggested_resource_grade"] == "重要"
    with db.read() as s:
        assert svc.important_catalogue(s, world.actor("reviewer")) == []  # suggested only: not listed
    with db.write() as s:
        svc.confirm(s, world.actor("police_steward"), item_id(db, rid, "银行卡号"))
        svc.override(s, world.actor("police_steward"), item_id(db, rid, "公民身份号码"), "核心", ["id_card"],
                     "全省户籍人口底数")
        svc.override(s, world.actor("police_steward"), item_id(db, rid, "姓名"), "一般-2级", ["person_name"], "仅姓氏")
    with db.read() as s:
        rows = svc.important_catalogue(s, world.actor("reviewer"))
        assert svc.important_catalogue(s, world.actor("police_steward")) == rows  # the provider: its own
        assert svc.important_catalogue(s, world.actor("market_steward")) == []
        assert svc.important_catalogue(s, world.actor("city_reviewer")) == []  # province resource, above it
        with pytest.raises(PermissionDenied):
            svc.important_catalogue(s, world.actor("citizen"))
    assert [(r["item"], r["grade"], r["categories"], r["provider"]) for r in rows] == [
        ("公民身份号码", "核心", ["id_card"], "云岭省公安厅"), ("银行卡号", "重要", ["bank_card"], "云岭省公安厅")]
    assert rows[0]["basis"] == "全省户籍人口底数" and "金融账户" in rows[1]["basis"]
    assert rows[0]["provider_uscc"] == world.orgs["police"].uscc and rows[0]["region_code"] == "990000"

    data, n = svc.export_important_xlsx(db, world.actor("reviewer"), "990000")
    assert n == 2
    sheet = load_workbook(io.BytesIO(data)).active
    values = list(sheet.values)
    assert values[0][:4] == ("信息资源代码", "信息资源名称", "信息项", "级别")
    assert [(v[2], v[3]) for v in values[1:]] == [("公民身份号码", "核心"), ("银行卡号", "重要")]
    text = ledger_text(db)
    assert "classify.important.export" in text and '"rows":2' in text
    assert_no_values(text, table)


def test_http_endpoints(world, people, client, bank_cards_important):
    rid, _ = people
    h = world.headers("police_steward")
    assert client.post(f"/api/v1/resources/{rid}/classify").status_code == 401
    assert client.post(f"/api/v1/resources/{rid}/classify", headers=world.headers("market_steward")).status_code == 403
    r = client.post(f"/api/v1/resources/{rid}/classify", headers=h, json={"sample": 20})
    assert r.status_code == 200, r.text
    assert r.json()["suggested_resource_grade"] == "重要"
    assert {it["suggestion"]["sample_size"] for it in r.json()["items"]} == {20}
    got = client.get(f"/api/v1/resources/{rid}/classification", headers=world.headers("reviewer")).json()
    items = {it["name"]: it for it in got["items"]}
    assert items["银行卡号"]["suggestion"]["categories"][0]["category"] == "bank_card"
    assert got["may_decide"] is False and got["may_suggest"] is True

    card, task = items["银行卡号"]["id"], items["办理事项"]["id"]
    assert client.post("/api/v1/items/999999/confirm", headers=h).status_code == 404
    assert client.post(f"/api/v1/items/{card}/confirm", headers=world.headers("city_steward")).status_code == 403
    r = client.post(f"/api/v1/items/{card}/confirm", headers=h)
    assert r.status_code == 200 and r.json()["grade"] == "重要"
    r = client.post(f"/api/v1/items/{task}/override", headers=h, json={"grade": "一般-2级"})
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "reason_required"
    assert r.json()["errors"][0]["message_en"] == "Overriding a grade needs a reason"
    r = client.post(f"/api/v1/items/{task}/override", headers=h,
                    json={"grade": "general-2", "categories": ["public"], "reason": "内部流转"})
    assert r.status_code == 200 and r.json()["grade"] == "一般-2级" and r.json()["kind"] == "调整"

    r = client.get("/api/v1/classification/review?region_code=990000", headers=world.headers("reviewer"))
    assert r.status_code == 200 and r.json()["counts"]["已调整"] == 1
    assert client.get("/api/v1/classification/review?region_code=990000",
                      headers=world.headers("city_reviewer")).status_code == 403
    r = client.get("/api/v1/important-data", headers=world.headers("reviewer"))
    assert r.status_code == 200 and [x["item"] for x in r.json()["items"]] == ["银行卡号"]
    r = client.get("/api/v1/important-data.xlsx", headers=world.headers("reviewer"))
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert r.content[:2] == b"PK"
    assert client.get("/api/v1/important-data").status_code == 401


def test_cli_prints_suggestions_with_confidence_and_evidence(world, people, tmp_path, monkeypatch):
    from yibenzhang.cli import app

    rid, table = people
    runner = CliRunner()
    out = runner.invoke(app, ["classify", str(rid), "--json"])
    assert out.exit_code == 0, out.output
    view = json.loads(out.output)
    card = next(it for it in view["items"] if it["name"] == "银行卡号")["suggestion"]
    assert card["grade"] == "一般-4级" and card["categories"][0]["confidence"] > 0.5
    assert card["categories"][0]["evidence"]

    out = runner.invoke(app, ["classify", str(rid), "--as", "police_steward"], env={"COLUMNS": "250"})
    assert out.exit_code == 0, out.output
    for text in ("银行卡号", "bank_card", "一般-4级", "置信度", "match_rate", "就高从严"):
        assert text in out.output
    assert table.column("公民身份号码")[0].as_py() not in out.output  # evidence, not values

    assert runner.invoke(app, ["classify", "999999"]).exit_code == 2
    denied = runner.invoke(app, ["classify", str(rid), "--as", "market_steward", "--json"])
    assert denied.exit_code == 2 and json.loads(denied.output)["error"]["code"] == "permission_denied"

    with world.db.write() as s:
        svc.override(s, world.actor("police_steward"), item_id(world.db, rid, "银行卡号"), "重要", ["bank_card"],
                     "测试")
    target = tmp_path / "important.xlsx"
    out = runner.invoke(app, ["classify", "--important-catalogue", str(target), "--json"])
    assert out.exit_code == 0, out.output and json.loads(out.output)["rows"] == 1
    assert target.read_bytes()[:2] == b"PK"

    bad = tmp_path / "bad.toml"
    bad.write_text('[meta]\nname = "x"\n[impact]\n"国家安全" = { "特别严重" = "超级" }\n', encoding="utf-8")
    monkeypatch.setenv(G.ENV_VAR, str(bad))
    out = runner.invoke(app, ["classify", str(rid), "--json"])
    assert out.exit_code == 2
    problem = json.loads(out.output)["error"]
    assert problem["code"] == "grading_rules_invalid"
    messages = {e["field"]: e["message"] for e in problem["errors"]}
    assert messages["impact.国家安全.特别严重"] == ("第4行 impact.国家安全.特别严重：未知的取值“超级”，"
                                                  "可选：核心、重要、一般")
    assert messages["sublevels"] == "第4行 sublevels：缺少必填字段"  # absent: reported at the file's end
    assert runner.invoke(app, ["classify", str(rid)]).exit_code == 2
