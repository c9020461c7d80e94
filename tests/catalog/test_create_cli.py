"""Issue 15: `ybz catalog create` — the steward's path without code. One draft from the Excel
template or a JSON resource, or by prompts checked answer by answer with the service's rules."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from tests.catalog.io_helpers import fill_template, item_row, resource_row
from tests.factories import published
from yibenzhang.cli import app

runner = CliRunner()


def create(*args: str, input: str | None = None):
    return runner.invoke(app, ["catalog", "create", *args], input=input, catch_exceptions=False)


def printed(stdout: str) -> dict:
    """The JSON on stdout: CliRunner echoes the typed answers there (a terminal would show them)."""
    start = 0 if stdout.startswith("{") else stdout.index("\n{") + 1
    return json.loads(stdout[start:])


def answers(*lines: str) -> str:
    return "".join(line + "\n" for line in lines)


# name, abstract, org (default: own), category (a bad one first), library, format, system (the
# org's only one), share type (a bad one first), condition, method, open type, cycle; then the
# items: an empty list refused, a bad type and a bad length re-asked, a duplicate name re-asked.
PROMPTED = answers(
    "常住人口登记", "全省常住人口的登记信息", "", "999999", "101", "101001", "基础库", "数据库", "",
    "随便共享", "有条件共享", "仅限政务用途", "接口", "不予开放", "每月",
    "",  # no item yet: refused (at least one item)
    "姓名", "X", "C", "0", "50", "n", "y",
    "姓名",  # a duplicate: asked again
    "公民身份号码", "", "18", "y", "",
    "",  # done
)


def test_prompts_re_ask_bad_answers_with_the_reason_and_create_a_draft(world):
    result = create("--as", "police_steward", "--json", input=PROMPTED)
    assert result.exit_code == 0, result.output
    view = printed(result.stdout)  # prompts and reasons went to stderr
    assert view["status"] == "草稿" and view["name"] == "常住人口登记"
    assert view["org_uscc"] == world.orgs["police"].uscc and view["system_name"] == "云岭省公安厅业务系统"
    assert view["category_code"] == "101001" and view["code"].startswith("101001/")
    assert (view["share_type"], view["share_condition"], view["share_method"]) == ("有条件共享", "仅限政务用途", "接口")
    assert [(i["name"], i["data_type_code"], i["length"], i["is_key"], i["required"]) for i in view["items"]] == [
        ("姓名", "C", 50, False, True), ("公民身份号码", "C", 18, True, True)]
    said = result.stderr
    assert "分类代码“999999”不存在" in said and "category_unknown" in said
    assert "信息资源分类必须细化到“目”" in said and "category_too_broad" in said
    assert "未知的取值“随便共享”" in said and "unknown_value" in said
    assert "至少需要一项" in said and "items_empty" in said
    assert "未知的取值“X”" in said and "长度必须是正整数" in said and "length_positive" in said
    assert "信息项名称“姓名”重复" in said and "item_duplicate" in said
    assert "Traceback" not in result.output
    assert "无条件共享/有条件共享/不予共享" in said  # the allowed values are listed

    plain = create("--as", "police_steward", input=PROMPTED.replace("常住人口登记", "常住人口登记二"))
    assert plain.exit_code == 0 and "常住人口登记二" in plain.stdout and "公民身份号码" in plain.stdout


def test_prompts_refuse_an_org_the_user_may_not_catalogue(world):
    police = world.orgs["police"].uscc
    result = create("--as", "market_steward", input=answers("资源", "摘要", police))
    assert result.exit_code == 2
    assert "permission_denied" in result.output and "编目" in result.output
    result = create("--as", "market_steward", "--json", input=answers("资源", "摘要", "NOSUCHORG", police))
    assert result.exit_code == 2
    assert "org_unknown" in result.stderr  # an unknown code is asked again, a forbidden org refused
    assert printed(result.stdout)["error"]["code"] == "permission_denied"


def test_from_the_excel_template(world, tmp_path):
    path = tmp_path / "one.xlsx"
    path.write_bytes(fill_template([resource_row(world, 1, "营业执照信息", org="market")],
                                   [item_row(1, "企业名称"), item_row(1, "统一社会信用代码", 长度=18)]))
    result = create("--from", str(path), "--as", "market_steward", "--json")
    assert result.exit_code == 0, result.output
    view = json.loads(result.stdout)
    assert view["status"] == "草稿" and view["name"] == "营业执照信息"
    assert view["org_uscc"] == world.orgs["market"].uscc
    assert [(i["name"], i["length"]) for i in view["items"]] == [("企业名称", 20), ("统一社会信用代码", 18)]

    # another org's row: refused, nothing created
    theirs = tmp_path / "theirs.xlsx"
    theirs.write_bytes(fill_template([resource_row(world, 1, "别人的资源", org="police")], [item_row(1, "甲")]))
    refused = create("--from", str(theirs), "--as", "market_steward", "--json")
    assert refused.exit_code == 2 and json.loads(refused.stdout)["error"]["code"] == "permission_denied"

    # two resources in the file: create makes one
    two = tmp_path / "two.xlsx"
    two.write_bytes(fill_template([resource_row(world, 1, "甲资源", org="market"),
                                   resource_row(world, 2, "乙资源", org="market")],
                                  [item_row(1, "甲"), item_row(2, "乙")]))
    result = create("--from", str(two), "--as", "market_steward")
    assert result.exit_code == 2 and "create_one_resource" in result.output

    # a bad value is pinned to its sheet, row and column
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(fill_template([resource_row(world, 1, "坏资源", org="market", 更新周期="每两天")],
                                  [item_row(1, "甲")]))
    result = create("--from", str(bad), "--as", "market_steward", "--json")
    assert result.exit_code == 2
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "create_rejected"
    assert [(e["field"], e["code"]) for e in error["errors"]] == [("update_cycle", "unknown_value")]
    assert "第2行" in error["errors"][0]["message"] and "每两天" in error["errors"][0]["message"]
    listed = runner.invoke(app, ["catalog", "list", "--as", "market_steward", "--json"])
    assert [r["name"] for r in json.loads(listed.stdout)] == ["营业执照信息"]


def test_from_json_as_exported(world, tmp_path):
    rid = published(world, name="出生医学证明信息")
    exported = runner.invoke(app, ["catalog", "export", "--format", "json", "--as", "police_steward"])
    original = json.loads(exported.stdout)[0]
    one = dict(original, name="死亡医学证明信息")
    path = tmp_path / "one.json"
    path.write_text(json.dumps(one, ensure_ascii=False), encoding="utf-8")
    result = create("--from", str(path), "--as", "police_steward", "--json")
    assert result.exit_code == 0, result.output
    view = json.loads(result.stdout)
    assert view["name"] == "死亡医学证明信息" and view["status"] == "草稿"
    assert view["code"] != original["code"] and view["id"] != rid  # a new draft with a code of its own
    assert [i["name"] for i in view["items"]] == [i["name"] for i in original["items"]]

    listed = path.with_name("list.json")
    listed.write_text(json.dumps([dict(original, name="婚姻登记信息", items=[])], ensure_ascii=False),
                      encoding="utf-8")
    result = create("--from", str(listed), "--as", "police_steward", "--json")
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"]["errors"][0]["code"] == "items_empty"


def test_an_org_without_a_system_is_told_how_to_add_one(world):
    from yibenzhang.access import Actor
    from yibenzhang.codes import make_uscc
    from yibenzhang.orgs import service as orgs

    with world.db.write() as s:
        org = orgs.create_org(s, Actor.system(), name="云岭省档案馆", uscc=make_uscc("12990000MB0000099"),
                              kind="事业单位", region_code="990000")
        uscc = org.uscc
    result = create(input=answers("档案目录", "馆藏档案目录", uscc, "101001", "基础库", "数据库"))
    assert result.exit_code == 2
    assert "system_none" in result.output and "ybz system add" in result.output
