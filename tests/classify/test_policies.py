"""Masking policies: the file validated on load, every grade × exit path × category applied (the
clear value never leaves where the policy masks or denies), the defaults' promises, and the
preview over the zone with the actor's permission (both backends)."""

from __future__ import annotations

import base64
import itertools
from pathlib import Path

import pyarrow as pa
import pytest

from yibenzhang import crypto
from yibenzhang.classify import masking as M
from yibenzhang.classify import policies as P
from yibenzhang.classify.categories import CATEGORIES
from yibenzhang.classify.grading import GRADE_LABELS
from yibenzhang.errors import DomainError, PermissionDenied

CLEAR = {
    "id_card": "110101199003071234", "passport": "E12345678", "hk_macau_permit": "C12345678",
    "driver_license": "530102199003071234", "social_security": "530102199003075678",
    "mobile": "13812345678", "landline": "0871-65123456", "email": "zhang.san@example.cn",
    "bank_card": "6222021234567890123", "address": "云岭省春城市五华区人民路12号3栋",
    "coordinates": "102.7123456,25.0401239", "ipv4": "192.168.100.200", "ipv6": "2001:db8:85a3::8a2e:370:7334",
    "vehicle_plate": "云A12345", "person_name": "欧阳娜娜", "birth_date": "1990-03-07", "gender": "男",
    "ethnicity": "彝族", "religion": "佛教", "health": "二型糖尿病", "biometric": "FP:9f8e7d6c5b4a",
    "criminal_record": "2019年盗窃罪判处有期徒刑一年", "uscc": "91530100MA6K12345X", "org_name": "春城市第一中学",
    "amount": "123456.78", "public": "全省公共图书馆数量",
}
SECRET = "policy-test"


@pytest.fixture(scope="module")
def policy() -> P.Policy:
    return P.load_policy()


def test_default_policy_loads_and_covers_every_grade_and_path(policy):
    assert set(policy.rules) == set(itertools.product(GRADE_LABELS, P.EXIT_PATHS))
    assert set(CLEAR) >= set(CATEGORIES)  # the table-driven test below sees every category


@pytest.mark.parametrize(("grade", "path"), list(itertools.product(GRADE_LABELS, P.EXIT_PATHS)))
def test_every_grade_and_path_applies_its_policy(policy, grade, path):
    cats = sorted(CATEGORIES)
    items = [P.MaskItem(c, (c,), grade) for c in cats] + [P.MaskItem("uncategorised", (), grade)]
    table = pa.table({**{c: [CLEAR[c], None] for c in cats}, "uncategorised": ["某内部值42", None]})
    out = P.apply_policy_to_arrow(table, items, path, policy=policy, secret=SECRET)
    plan = P.plan(items, path, policy=policy)
    for col in plan.columns:
        clear = CLEAR.get(col.name, "某内部值42")
        if col.denied:
            assert col.name not in out.column_names
            continue
        got = out.column(col.name).to_pylist()
        assert got[1] is None  # NULL stays NULL
        assert out.schema.field(col.name).metadata[b"operator"].decode() == str(col.operator)
        if M.OPERATORS[col.operator.name].clear:
            assert got[0] == clear
        else:
            assert clear not in str(got[0]), (grade, path, col.name, str(col.operator), got[0])
        if col.operator.name == "sm4":
            key = M.sm4_column_key(path, SECRET)
            assert crypto.sm4_decrypt(key, base64.b64decode(got[0])).decode() == clear
    assert out.schema.metadata[b"denied"].decode().split(",") == (plan.denied or [""])


def test_default_policy_promises(policy):
    personal_ids = [c for c, cat in CATEGORIES.items() if cat.family in ("身份标识", "联系方式", "金融账户")] + [
        "person_name"]
    for path in P.EXIT_PATHS:  # 一般-4级 sensitive personal data never leaves in clear
        for code in (c for c, cat in CATEGORIES.items() if cat.sensitive):
            assert not M.OPERATORS.get(policy.operator("一般-4级", path, [code]).name, M.OPERATORS["redact"]).clear
    for grade in GRADE_LABELS:  # 开放下载 never carries personal identifiers
        for code in personal_ids:
            assert policy.operator(grade, P.OPEN_DOWNLOAD, [code]).denied
    for grade in ("核心", "重要", "一般-4级", "一般-3级"):  # the console masks above 一般-2级
        for code in [*CATEGORIES, None]:
            spec = policy.operator(grade, P.CONSOLE_PREVIEW, [code] if code else [])
            assert not spec.denied and not M.OPERATORS[spec.name].clear
    assert policy.operator("一般-1级", P.CONSOLE_PREVIEW, ["public"]).name == "none"
    assert all(policy.operator("核心", p, ["public"]).denied for p in (P.SHARE, P.OPEN_DOWNLOAD, P.OPERATOR_RESULT))


def test_strictest_category_wins_and_ungraded_fails_closed(policy):
    assert policy.operator("一般-3级", P.OPERATOR_RESULT, ["birth_date", "id_card"]).name == "pseudonym"
    assert policy.operator("一般-3级", P.OPERATOR_RESULT, ["id_card", "health"]).denied
    assert policy.operator(None, P.SHARE, ["public"]).denied  # ungraded is treated as 核心
    assert policy.operator("一般3级", P.SHARE, ["id_card"]).name == "none"  # labels parsed like grading's
    with pytest.raises(DomainError) as info:
        policy.operator("秘密", P.SHARE, [])
    assert info.value.code == "grade_unknown"
    with pytest.raises(DomainError) as info:
        policy.operator("一般-1级", "邮寄", [])
    assert info.value.code == "exit_path_unknown"


def test_masked_select_sql_is_one_statement_and_drops_denied(policy):
    items = [{"name": "姓名", "categories": ["person_name"], "grade": "一般-3级"},
             {"name": "身份证号", "categories": ["id_card"], "grade": "一般-3级"},
             {"name": "宗教", "categories": ["religion"], "grade": "一般-4级"}]
    sql = P.masked_select_sql(items, P.OPERATOR_RESULT, "people", policy=policy)
    assert sql.startswith("SELECT") and '"宗教"' not in sql and "ybz_mask_hmac_" in sql
    table = pa.table({"姓名": ["欧阳娜娜"], "身份证号": ["110101199003071234"], "宗教": ["佛教"]})
    out = M.execute(sql, secret=SECRET, tables={"people": table})
    assert out.column_names == ["姓名", "身份证号"] and out.column("姓名").to_pylist() == ["欧阳**"]
    with pytest.raises(DomainError) as info:
        P.masked_select_sql(items[2:], P.OPEN_DOWNLOAD, "people", policy=policy)
    assert info.value.code == "masking_all_denied"


def test_columns_without_items_are_treated_as_ungraded(policy):
    out = P.apply_policy_to_arrow(pa.table({"x": ["secret"]}), [], P.CONSOLE_PREVIEW, policy=policy, secret=SECRET)
    assert out.column("x").to_pylist() == ["***"]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "p.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_policy_file_validation_names_every_fault_with_its_line(tmp_path):
    text = P.DEFAULT_PATH.read_text(encoding="utf-8")
    broken = (text.replace('[policy."一般-2级"."共享"]\n"*" = "none"', '[policy."一般-2级"."共享"]\n"*" = "blur(3)"')
              .replace('[policy."核心"."运营结果"]\n"*" = "deny"',
                       '[policy."核心"."运营结果"]\n"*" = "deny"\nsalary = "deny"')
              .replace('[policy."一般-1级"."控制台预览"]\n"*" = "none"\n', ""))
    with pytest.raises(P.MaskingPolicyInvalid) as info:
        P.load_policy(_write(tmp_path, broken))
    faults = {e.field: e for e in info.value.errors}
    assert set(faults) == {"policy.一般-2级.共享.*", "policy.核心.运营结果.salary", "policy.一般-1级.控制台预览"}
    blur_line = next(i + 1 for i, line in enumerate(broken.splitlines()) if "blur(3)" in line)
    assert faults["policy.一般-2级.共享.*"].params["line"] == blur_line
    assert faults["policy.一般-2级.共享.*"].code == "policy_operator"
    assert faults["policy.核心.运营结果.salary"].code == "policy_selector"
    assert faults["policy.一般-1级.控制台预览"].code == "policy_missing"


def test_policy_file_syntax_and_unknowns(tmp_path):
    with pytest.raises(P.MaskingPolicyInvalid) as info:
        P.load_policy(_write(tmp_path, "version = \n"))
    assert info.value.errors[0].code == "policy_syntax"
    with pytest.raises(P.MaskingPolicyInvalid) as info:
        P.load_policy(_write(tmp_path, 'ungraded = "绝密"\nextra = 1\n[mask]\nid_card = "keep(6,4)"\n'))
    codes = {e.code for e in info.value.errors}
    assert {"policy_grade", "policy_key", "policy_mask_default", "policy_missing"} <= codes
    with pytest.raises(P.MaskingPolicyInvalid):
        P.load_policy(tmp_path / "absent.toml")


def test_authority_file_from_environment(tmp_path, monkeypatch):
    text = P.DEFAULT_PATH.read_text(encoding="utf-8").replace(
        '[policy."一般-1级"."开放下载"]\n"*" = "none"', '[policy."一般-1级"."开放下载"]\n"*" = "redact"')
    monkeypatch.setenv(P.ENV_VAR, str(_write(tmp_path, text)))
    assert P.get_policy().operator("一般-1级", P.OPEN_DOWNLOAD, ["public"]).name == "redact"
    monkeypatch.delenv(P.ENV_VAR)
    assert P.get_policy().operator("一般-1级", P.OPEN_DOWNLOAD, ["public"]).name == "none"


# --- preview over the zone (both backends) ------------------------------------------------------


@pytest.fixture
def people(world):
    from tests.factories import published
    from yibenzhang.catalog.model import ResourceItem
    from yibenzhang.collect.pipeline import ingest_arrow

    rid = published(world)
    batch = pa.RecordBatch.from_pydict({"姓名": ["欧阳娜娜", "张伟"],
                                        "公民身份号码": ["110101199003071234", "530102198512120018"],
                                        "出生日期": ["1990-03-07", "1985-12-12"]})
    ingest_arrow(world.db, world.actor("police_steward"), rid, [batch], source={"kind": "test"})
    with world.db.write() as s:
        for item in s.query(ResourceItem).filter_by(resource_id=rid):
            item.grade = "一般-3级"
    return rid


def test_preview_masks_by_path_for_insiders_only(world, people):
    # No suggestion stored yet: categories come from the recognizers, by the items' names.
    steward = world.actor("police_steward")
    out = P.preview(world.db, steward, people, P.CONSOLE_PREVIEW, limit=5)
    assert out.to_pylist() == [
        {"姓名": "欧阳**", "公民身份号码": "110101********1234", "出生日期": "1990"},
        {"姓名": "张*", "公民身份号码": "530102********0018", "出生日期": "1985"}]
    assert out.schema.field("公民身份号码").metadata[b"grade"].decode() == "一般-3级"
    opened = P.preview(world.db, world.actor("admin"), people, P.OPEN_DOWNLOAD)
    assert opened.column_names == ["出生日期"] and opened.schema.metadata[b"denied"] == "姓名,公民身份号码".encode()
    shared = P.preview(world.db, steward, people, P.SHARE, limit=1)
    assert shared.column("公民身份号码").to_pylist() == ["110101199003071234"]
    for outsider in ("market_steward", "consumer", "citizen"):
        with pytest.raises(PermissionDenied):
            P.preview(world.db, world.actor(outsider), people, P.CONSOLE_PREVIEW)


def test_preview_uses_the_stewards_decided_categories(world, people):
    from yibenzhang.catalog.model import ResourceItem
    from yibenzhang.classify.model import ClassificationDecision

    with world.db.write() as s:
        item = s.query(ResourceItem).filter_by(resource_id=people, name="出生日期").one()
        s.add(ClassificationDecision(item_id=item.id, resource_id=people, kind="调整", grade="一般-3级",
                                     categories=["health"], reason="test", decided_by="police_steward"))
    out = P.preview(world.db, world.actor("police_steward"), people, P.OPERATOR_RESULT)
    assert "出生日期" not in out.column_names  # health at 一般-3级 may not leave a sandbox
    assert out.column("公民身份号码").to_pylist()[0] != "110101199003071234"
