"""The collection pipeline end to end: encodings, formats, mapping, coercion, rejects, modes,
held batches and permissions — on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.collect.conftest import rows_csv
from tests.s3_support import zone_file, zone_parquet
from yibenzhang.catalog.counts import record_counts
from yibenzhang.catalog.model import Resource
from yibenzhang.collect.pipeline import ingest_arrow, ingest_file
from yibenzhang.errors import DomainError, PermissionDenied, ValidationFailed
from yibenzhang.zone import service as zone
from yibenzhang.zone.engine import get_engine

ROWS = ["张三,110101199003077777,2023年5月1日,\"￥1,234.50\",是,３",
        "李四,110101199003071234,2023/5/1,12,否,4",
        "䶮王,110101199003075555,20230502,12元,N,5"]


def current(world, resource_id: int) -> list[dict]:
    with world.db.read() as s:
        rel = zone.current_relation(s, resource_id)
    return get_engine().sql(f"SELECT * EXCLUDE (_batch) FROM {rel} ORDER BY _batch, _row").to_pylist()


def record_count(world, resource_id: int) -> int | None:
    with world.db.read() as s:
        return s.get(Resource, resource_id).record_count


def write(tmp_path: Path, name: str, text: str, encoding: str) -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_encodings_ingest_identically_and_coerce(world, people, tmp_path):
    steward = world.actor("police_steward")
    text = rows_csv(ROWS)
    seen = []
    for enc in ("utf-8", "utf-8-sig", "gb18030"):
        report = ingest_file(world.db, steward, people, write(tmp_path, f"{enc}.csv", text, enc), mode="全量")
        assert (report.rows_read, report.rows_accepted, report.rows_rejected) == (3, 3, 0)
        seen.append(current(world, people))
    assert seen[0] == seen[1] == seen[2]
    first = seen[0][0]
    assert first["出生日期"] == date(2023, 5, 1) and first["月收入"] == Decimal("1234.50")
    assert first["是否在职"] is True and first["家庭人口"] == 3 and first["_row"] == 2
    assert seen[0][2]["姓名"] == "䶮王"  # a GB18030-only character survives
    assert record_count(world, people) == 3


def test_gbk_text_is_decoded_as_gb18030(world, people, tmp_path):
    text = rows_csv(ROWS[:2])
    ingest_file(world.db, world.actor("police_steward"), people, write(tmp_path, "g.csv", text, "gbk"))
    assert [r["姓名"] for r in current(world, people)] == ["张三", "李四"]


def test_bad_byte_is_reported_with_its_offset_not_misdecoded(world, people, tmp_path):
    good = rows_csv(ROWS[:2]).encode("gbk")
    offset = len(good)
    path = tmp_path / "bad.csv"
    path.write_bytes(good + b"\xff\xfe,110101199003079999,2023-01-01,1,1,1\n")
    with pytest.raises(DomainError) as err:
        ingest_file(world.db, world.actor("police_steward"), people, path)
    assert err.value.code == "encoding_invalid"
    assert err.value.params["offset"] == offset and err.value.params["line"] == 4
    assert current(world, people) == []
    with world.db.read() as s:
        assert zone.list_batches(s, world.actor("admin"), people) == []


def test_rejects_are_exact_and_hold_the_batch_until_confirmed(world, people, tmp_path):
    steward = world.actor("police_steward")
    ok = [f"人{i},1101011990030{i:05d},2023-01-01,1,是,1" for i in range(30)]
    bad = ["坏一,110101199003099991,2023-13-45,1,是,1",   # impossible date
           "坏二,110101199003099992,2023-01-01,abc,是,1",  # not an amount
           "坏三,,2023-01-01,1,是,1",                      # no key
           "坏四,110101199003099994,2023-01-01,1,也许,二"]  # two bad values: one row
    report = ingest_file(world.db, steward, people, write(tmp_path, "r.csv", rows_csv(ok + bad), "utf-8"))
    assert (report.rows_read, report.rows_accepted, report.rows_rejected) == (34, 30, 4)
    assert report.status == "待确认"  # 4/34 > 5 %
    assert current(world, people) == []  # held: not part of the current state
    reject_path = zone_file(report.reject_file)
    raw = reject_path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))
    assert {(r["行号"], r["信息项"], r["代码"]) for r in lines} == {
        ("32", "出生日期", "date_nonexistent"), ("33", "月收入", "invalid_amount"),
        ("34", "公民身份号码", "key_missing"), ("35", "是否在职", "invalid_logical"),
        ("35", "家庭人口", "invalid_integer")}
    assert all(r["原因"] and r["reason"] for r in lines)
    with world.db.write() as s, pytest.raises(PermissionDenied):
        zone.confirm_batch(s, world.actor("market_steward"), report.batch_id)
    with world.db.write() as s:
        zone.confirm_batch(s, steward, report.batch_id)
    assert len(current(world, people)) == 30 and record_count(world, people) == 30


def test_discarded_batch_never_counts(world, people, tmp_path):
    steward = world.actor("police_steward")
    report = ingest_file(world.db, steward, people,
                         write(tmp_path, "d.csv", rows_csv(["甲,110101199003071111,不是日期,1,是,1",
                                                     "乙,110101199003072222,2020-01-01,1,是,1"]), "utf-8"))
    assert report.status == "待确认"
    with world.db.write() as s:
        assert zone.discard_batch(s, steward, report.batch_id).status == "已作废"
    assert current(world, people) == []


def test_upsert_rerun_is_idempotent_and_latest_wins(world, people, tmp_path):
    steward = world.actor("police_steward")
    path = write(tmp_path, "u.csv", rows_csv(ROWS), "gb18030")
    first = ingest_file(world.db, steward, people, path)
    assert first.mode == "更新"
    before = current(world, people)
    ingest_file(world.db, steward, people, path)
    assert [{k: v for k, v in r.items()} for r in current(world, people)] == before
    assert record_count(world, people) == 3
    change = write(tmp_path, "c.csv", rows_csv(["张三改,110101199003077777,2020-01-01,1,否,1",
                                                  "赵六,110101199003076666,2020-01-01,1,否,1"]), "utf-8")
    ingest_file(world.db, steward, people, change)
    names = sorted(r["姓名"] for r in current(world, people))
    assert names == sorted(["张三改", "李四", "䶮王", "赵六"]) and record_count(world, people) == 4


def test_full_replaces_and_append_adds(world, log_resource, tmp_path):
    steward = world.actor("police_steward")
    a = write(tmp_path, "a.csv", "姓名,日期\n甲,2023-01-01\n乙,2023-01-02\n", "utf-8")
    b = write(tmp_path, "b.csv", "姓名,日期\n丙,2023-01-03\n", "utf-8")
    assert ingest_file(world.db, steward, log_resource, a).mode == "全量"
    ingest_file(world.db, steward, log_resource, b, mode="append")
    assert [r["姓名"] for r in current(world, log_resource)] == ["甲", "乙", "丙"]
    ingest_file(world.db, steward, log_resource, b, mode="全量")
    assert [r["姓名"] for r in current(world, log_resource)] == ["丙"]
    assert record_count(world, log_resource) == 1
    with pytest.raises(DomainError) as err:
        ingest_file(world.db, steward, log_resource, b, mode="更新")
    assert err.value.code == "mode_needs_key"


def test_mapping_problems_are_reported_before_anything_is_written(world, people, tmp_path):
    steward = world.actor("police_steward")
    path = write(tmp_path, "m.csv", "名字,身份证,多余列\n张三,110101199003077777,x\n", "utf-8")
    with pytest.raises(ValidationFailed) as err:
        ingest_file(world.db, steward, people, path)
    codes = {(e.field, e.code) for e in err.value.errors}
    assert ("items.姓名", "item_missing") in codes and ("items.公民身份号码", "item_missing") in codes
    assert ("columns.多余列", "column_unknown") in codes
    assert not zone_parquet()
    explicit = {"名字": "姓名", "身份证": "公民身份号码", "多余列": "-"}
    report = ingest_file(world.db, steward, people, path, mapping=explicit)
    assert report.rows_accepted == 1
    # the mapping was saved: the same file goes in without --map next time (the ignored column too)
    assert ingest_file(world.db, steward, people, path).rows_accepted == 1


def test_normalized_names_and_whole_column_type_mismatch(world, people, tmp_path):
    steward = world.actor("police_steward")
    ok = write(tmp_path, "n.csv", " 姓 名 ,公民身份号码\n张三,110101199003077777\n", "utf-8")
    assert ingest_file(world.db, steward, people, ok).rows_accepted == 1
    wrong = write(tmp_path, "w.csv", "姓名,公民身份号码,出生日期\n张三,110101199003077777,北京\n"
                  "李四,110101199003071234,上海\n", "utf-8")
    with pytest.raises(ValidationFailed) as err:
        ingest_file(world.db, steward, people, wrong)
    assert [(e.field, e.code) for e in err.value.errors] == [("items.出生日期", "type_mismatch")]


def test_another_orgs_steward_cannot_collect(world, people, tmp_path):
    path = write(tmp_path, "p.csv", rows_csv(ROWS), "utf-8")
    with pytest.raises(PermissionDenied):
        ingest_file(world.db, world.actor("market_steward"), people, path)


def test_json_lines_arrays_and_parquet(world, people, tmp_path):
    steward = world.actor("police_steward")
    rows = [{"姓名": "张三", "公民身份号码": "110101199003077777", "出生日期": "2023-05-01", "家庭人口": 3},
            {"姓名": "李四", "公民身份号码": "110101199003071234", "出生日期": "2023年5月2日", "家庭人口": "4"}]
    lines = tmp_path / "r.jsonl"
    lines.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    array = tmp_path / "r.json"
    array.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    parquet = tmp_path / "r.parquet"
    pq.write_table(pa.Table.from_pylist([{**rows[0], "家庭人口": "3"}, {**rows[1], "出生日期": "2023-05-02",
                                                                      "家庭人口": "4"}]), parquet)
    results = []
    for path in (lines, array, parquet):
        report = ingest_file(world.db, steward, people, path, mode="全量")
        assert report.rows_accepted == 2, path
        results.append([(r["姓名"], r["出生日期"], r["家庭人口"]) for r in current(world, people)])
    assert results[0] == results[1] == results[2] == [("张三", date(2023, 5, 1), 3), ("李四", date(2023, 5, 2), 4)]


def test_xlsx_with_a_merged_two_row_header(world, people, tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["人口登记表"])
    ws.merge_cells("A1:D1")
    ws.append(["姓名", "证件", None, "出生日期"])
    ws.merge_cells("A2:A3")
    ws.merge_cells("B2:C2")
    ws.merge_cells("D2:D3")
    ws.append([None, "公民身份号码", "月收入", None])
    ws.append(["张三", "110101199003077777", 1234.5, "2023/5/1"])
    ws.append(["李四", "110101199003071234", "2,000", date(2023, 5, 2)])
    path = tmp_path / "m.xlsx"
    wb.save(path)
    report = ingest_file(world.db, world.actor("police_steward"), people, path)
    assert (report.rows_read, report.rows_rejected) == (2, 0)
    rows = current(world, people)
    assert [(r["姓名"], r["公民身份号码"], r["月收入"], r["出生日期"], r["_row"]) for r in rows] == [
        ("张三", "110101199003077777", Decimal("1234.50"), date(2023, 5, 1), 4),
        ("李四", "110101199003071234", Decimal("2000.00"), date(2023, 5, 2), 5)]


def test_arrow_batches_and_record_counts(world, people, log_resource):
    steward = world.actor("police_steward")
    batch = pa.RecordBatch.from_pydict({"姓名": ["甲", "乙"],
                                        "公民身份号码": ["110101199003071111", "110101199003072222"]})
    report = ingest_arrow(world.db, steward, people, [batch], source={"kind": "test"})
    assert report.rows_accepted == 2
    with world.db.read() as s:
        by_resource = {r["resource_id"]: r["records"] for r in record_counts(s, "resource")}
        by_org = record_counts(s, "org")
        by_region = {r["code"]: r for r in record_counts(s, "region")}
    assert by_resource == {people: 2}
    assert by_org[0]["records"] == 2 and by_region["990000"]["records_with_lower"] == 2
