"""Catalogue import and export through the service layer, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json

import pytest
from openpyxl import load_workbook
from python_calamine import CalamineWorkbook
from sqlalchemy import func, select

from tests.catalog.io_helpers import fill_template, item_row, resource_row
from tests.factories import published, resource_in
from yibenzhang.catalog import service as catalog
from yibenzhang.catalog.io import ImportRejected, export_catalog, import_catalog, template_bytes
from yibenzhang.catalog.model import Resource
from yibenzhang.ledger.model import LedgerEvent


def _count(world) -> int:
    with world.db.read() as s:
        return s.execute(select(func.count()).select_from(Resource)).scalar_one()


def _seed(world) -> tuple[int, int]:
    """One published and one draft resource of the police."""
    pub = published(world, name="常住人口信息", keywords=["人口"], record_count=1200)
    with world.db.write() as s:
        draft = catalog.create_resource(s, world.actor("police_steward"), resource_in(
            world, name="户籍迁移信息", share_type="不予共享", share_basis="《户口登记条例》", share_method=None,
            items=[{"name": "迁出地", "data_type": "字符型", "length": 100, "enumeration": ["省内", "省外"]},
                   {"name": "迁移日期", "data_type": "D", "required": True}]))
        return pub, draft.id


def _snapshots(world, ids) -> list[dict]:
    with world.db.read() as s:
        return [catalog.resource_dict(s, s.get(Resource, i)) for i in ids]


def _export(world, fmt: str, user: str = "police_steward") -> bytes:
    with world.db.read() as s:
        return export_catalog(s, world.actor(user), fmt)


def _import(world, data: bytes, fmt: str | None = None, user: str = "police_steward", partial: bool = False):
    with world.db.write() as s:
        return import_catalog(s, world.actor(user), data, fmt, partial=partial)


def _drop_codes(data: bytes, fmt: str) -> bytes:
    if fmt == "json":
        doc = json.loads(data)
        for r in doc:
            r.pop("code")
        return json.dumps(doc, ensure_ascii=False).encode()
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
        idx = rows[0].index("信息资源代码")
        out = io.StringIO()
        csv.writer(out).writerows([r[:idx] + r[idx + 1:] for r in rows])
        return out.getvalue().encode("utf-8-sig")
    book = load_workbook(io.BytesIO(data))
    ws = book["信息资源"]
    ws.delete_cols([c.value for c in ws[1]].index("信息资源代码") + 1)
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


@pytest.mark.parametrize("fmt", ["xlsx", "csv", "json"])
def test_round_trip_reimport_changes_nothing(world, fmt):
    ids = _seed(world)
    before = _snapshots(world, ids)
    data = _export(world, fmt)
    report = _import(world, data)  # format detected from the content
    assert report.format == fmt
    assert report.counts() == {"created": 0, "updated": 0, "unchanged": 2, "skipped": 0, "errors": 0}
    assert _snapshots(world, ids) == before  # the published one is still published, version 1


@pytest.mark.parametrize("fmt", ["xlsx", "csv", "json"])
def test_round_trip_without_codes_creates_equal_drafts(world, fmt):
    ids = _seed(world)
    before = {d["name"]: d for d in _snapshots(world, ids)}
    report = _import(world, _drop_codes(_export(world, fmt), fmt), fmt)
    assert len(report.created) == 2 and not report.updated
    assert _count(world) == 4
    with world.db.read() as s:
        for made in report.created:
            new = catalog.resource_dict(s, catalog.get_resource(s, world.actor("police_steward"), made["code"]))
            old = before[new["name"]]
            assert new["status"] == "草稿" and new["code"] != old["code"]
            assert new["items"] == old["items"]
            for key in ("abstract", "share_type", "share_basis", "keywords", "update_cycle", "system_name"):
                assert new[key] == old[key]


def test_xlsx_edit_in_excel_updates_the_resource(world):
    pub, _draft = _seed(world)
    book = load_workbook(io.BytesIO(_export(world, "xlsx")))
    ws = book["信息资源"]
    headers = [c.value for c in ws[1]]
    name_col = headers.index("信息资源名称") + 1
    row = next(r for r in range(2, ws.max_row + 1) if ws.cell(r, name_col).value == "常住人口信息")
    ws.cell(row, headers.index("信息资源摘要") + 1, "修订后的摘要")
    items = book["信息项"]
    items.append([row - 1, "常住人口信息", "性别", "C", 2, "否", "男；女"])
    buf = io.BytesIO()
    book.save(buf)
    report = _import(world, buf.getvalue())
    assert [u["code"] for u in report.updated] and len(report.unchanged) == 1
    (after,) = _snapshots(world, [pub])
    assert after["abstract"] == "修订后的摘要"
    assert after["status"] == "草稿" and after["version"] == 2 and after["published_version"] == 1
    assert after["record_count"] == 1200  # not in the template: kept
    assert after["items"][-1]["name"] == "性别" and after["items"][-1]["enumeration"] == ["男", "女"]


def test_gbk_csv_from_a_department_imports(world):
    text = (
        "资源序号,信息资源名称,信息资源摘要,提供方代码,信息资源分类代码,所属库,资源格式,来源系统,共享类型,共享方式,"
        "开放类型,更新周期,信息项名称,数据类型,长度\n"
        f"1,婚姻登记信息,全省婚姻登记记录,{world.orgs['police'].uscc},101003,基础库,数据库,云岭省公安厅业务系统,"
        "无条件共享,接口,不予开放,每日,登记日期,D,\n"
        f"1,婚姻登记信息,全省婚姻登记记录,{world.orgs['police'].uscc},101003,基础库,数据库,云岭省公安厅业务系统,"
        "无条件共享,接口,不予开放,每日,登记机关,字符型,100\n"
    )
    report = _import(world, text.encode("gbk"))
    assert report.format == "csv" and report.encoding == "gb18030"
    (made,) = report.created
    with world.db.read() as s:
        r = catalog.get_resource(s, world.actor("admin"), made["code"])
        assert r.name == "婚姻登记信息" and [i.name for i in r.items] == ["登记日期", "登记机关"]
        assert r.items[1].data_type == "字符型" and r.items[1].length == 100


def _bad_workbook(world) -> bytes:
    return fill_template(
        [
            resource_row(world, 1, "好的资源"),
            resource_row(world, 2, "缺共享条件", 共享类型="有条件共享"),
            resource_row(world, 3, "周期不对", 更新周期="每两天"),
            resource_row(world, 4, "没有信息项"),
            resource_row(world, 5, "手填代码", 信息资源代码="101001/999999"),
        ],
        [item_row(1, "字段甲"), item_row(2, "字段乙"), item_row(3, "字段丙"), item_row(5, "字段丁"),
         item_row(1, "字段戊", dtype="Q")],
    )


def test_bad_rows_are_each_reported_and_nothing_is_imported(world):
    before = _count(world)
    with pytest.raises(ImportRejected) as caught:
        _import(world, _bad_workbook(world))
    exc = caught.value
    assert exc.code == "import_rejected" and exc.status == 422
    found = {(e["sheet"], e["row"], e["column"], e["code"]) for e in (x.as_dict() for x in exc.errors)}
    assert found == {
        ("信息资源", 3, "共享条件", "share_condition_required"),
        ("信息资源", 4, "更新周期", "unknown_value"),
        ("信息资源", 5, "信息项名称", "items_empty"),
        ("信息资源", 6, "信息资源代码", "code_generated"),
        ("信息项", 6, "数据类型", "unknown_value"),  # the good resource's second item is bad
    }
    first = exc.as_problem()["errors"][0]
    assert "第3行" in first["message"] and "row 3" in first["message_en"]
    assert exc.params["n"] == 5
    assert _count(world) == before


def test_partial_imports_the_good_rows_and_lists_the_skipped(world):
    rows = [resource_row(world, 1, "好的资源"), resource_row(world, 2, "缺共享条件", 共享类型="有条件共享"),
            resource_row(world, 3, "另一个好的", 开放类型="无条件开放")]
    data = fill_template(rows, [item_row(1, "字段甲"), item_row(2, "字段乙"), item_row(3, "字段丙")])
    report = _import(world, data, partial=True)
    assert [c["name"] for c in report.created] == ["好的资源", "另一个好的"]
    assert [(s["sheet"], s["row"], s["name"]) for s in report.skipped] == [("信息资源", 3, "缺共享条件")]
    assert report.skipped[0]["errors"][0]["code"] == "share_condition_required"
    with world.db.read() as s:
        event = s.execute(select(LedgerEvent).where(LedgerEvent.action == "catalog.import")).scalar_one()
        content = json.loads(event.content)
    assert content["created"] == [c["code"] for c in report.created] and content["skipped"] == 1
    assert content["sm3"] == report.sm3 and content["format"] == "xlsx"


def test_steward_cannot_import_for_another_org(world):
    data = fill_template([resource_row(world, 1, "市场主体信息", org="market"), resource_row(world, 2, "自己的")],
                         [item_row(1, "字段甲"), item_row(2, "字段乙")])
    with pytest.raises(ImportRejected) as caught:
        _import(world, data)
    (err,) = [e.as_dict() for e in caught.value.errors]
    assert (err["row"], err["column"], err["code"]) == (2, "提供方代码(统一社会信用代码)", "permission_denied")
    assert _count(world) == 0
    # The market's own steward may import the same file's first row.
    report = _import(world, data, user="market_steward", partial=True)
    assert [c["name"] for c in report.created] == ["市场主体信息"]


def test_a_steward_cannot_update_another_orgs_resource_by_code(world):
    pub = published(world, org="market", name="企业登记信息", category_code="102002")
    with world.db.read() as s:
        code = s.get(Resource, pub).code
    data = fill_template([resource_row(world, 1, "改别人的", 信息资源代码=code)], [item_row(1, "字段甲")])
    with pytest.raises(ImportRejected) as caught:
        _import(world, data)
    assert [e.code for e in caught.value.errors] == ["permission_denied"]


@pytest.mark.parametrize(("data", "fmt", "code"), [
    (b"", None, "file_empty"),
    (b"not a workbook at all", "xlsx", "file_unreadable"),
    (b"PK\x03\x04garbage", None, "file_unreadable"),
    ("名称,摘要\n甲,乙\n".encode(), "csv", "columns_missing"),
    (b"[1, 2", "json", "file_unreadable"),
    (b"a,b", "pdf", "format_unsupported"),
])
def test_bad_files_are_refused_clearly(sqlite_db, data, fmt, code):
    from tests.factories import build_world

    world = build_world(sqlite_db)
    with pytest.raises(Exception) as caught:
        _import(world, data, fmt)
    assert getattr(caught.value, "code", None) == code
    assert caught.value.message_in("en") != caught.value.message_in("zh")


def test_template_is_an_empty_workbook_with_help_and_drop_downs(sqlite_db):
    data = template_bytes()
    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    assert book.sheet_names == ["信息资源", "信息项", "填写说明"]
    header = book.get_sheet_by_name("信息资源").to_python()[0]
    assert header[:3] == ["资源序号", "信息资源代码", "信息资源名称"] and "提供方代码(统一社会信用代码)" in header
    help_rows = book.get_sheet_by_name("填写说明").to_python()
    assert any("有条件共享" in str(r[4]) for r in help_rows)
    ws = load_workbook(io.BytesIO(data))["信息资源"]
    lists = {dv.formula1 for dv in ws.data_validations.dataValidation}
    assert '"无条件共享,有条件共享,不予共享"' in lists and '"实时,每日,每周,每月,每季度,每半年,每年,不定期"' in lists


def test_export_shows_only_what_the_actor_may_see(world):
    _seed(world)
    with world.db.write() as s:
        catalog.create_resource(s, world.actor("market_steward"), resource_in(world, "market", name="市场草稿"))
    names = lambda user: {r["name"] for r in json.loads(_export(world, "json", user))}  # noqa: E731
    assert names("police_steward") == {"常住人口信息", "户籍迁移信息"}
    assert names("market_steward") == {"常住人口信息", "市场草稿"}  # published ones are visible to government
    assert names("citizen") == set()  # the published one is 不予开放


def test_submitted_resources_round_trip_but_cannot_be_changed_by_import(world):
    _pub, draft = _seed(world)
    with world.db.write() as s:
        catalog.submit_resource(s, world.actor("police_steward"), draft)
    data = _export(world, "json")
    assert _import(world, data).counts()["unchanged"] == 2
    doc = json.loads(data)
    for r in doc:
        r["abstract"] += "（修订）"
    with pytest.raises(ImportRejected) as caught:
        _import(world, json.dumps(doc, ensure_ascii=False).encode())
    assert [e.code for e in caught.value.errors] == ["status_forbids"]


def test_a_stewards_rows_default_to_their_own_org(world):
    row = resource_row(world, 1, "未填提供方")
    row.pop("提供方代码(统一社会信用代码)")
    report = _import(world, fill_template([row], [item_row(1, "字段甲")]))
    with world.db.read() as s:
        r = catalog.get_resource(s, world.actor("police_steward"), report.created[0]["code"])
        assert r.org_id == world.orgs["police"].id
