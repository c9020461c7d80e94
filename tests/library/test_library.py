"""The population library end to end on the metadata store: definition reviewed like a resource,
grade 就高从严, fusion published as a batch with provenance, conflicts counted per source org and
item, rejects with codes, incremental re-fusion of touched entities only, the ledger and lineage."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import select

from tests.library.conftest import A, B, C, definition
from yibenzhang.access import Actor
from yibenzhang.catalog.model import ResourceItem
from yibenzhang.errors import DomainError, PermissionDenied, ValidationFailed
from yibenzhang.ledger.model import LedgerEvent
from yibenzhang.library import definition as D
from yibenzhang.library import run
from yibenzhang.library.model import ConflictCount
from yibenzhang.zone import port as P
from yibenzhang.zone.engine import named_engine
from yibenzhang.zone.model import Batch
from yibenzhang.zone.service import live_state


def rows(world, library: int) -> dict[str, dict]:
    with world.db.read() as s:
        state = live_state(s, library)
    table = named_engine("duckdb").query(state, P.scan(state, state.names))
    return {r["公民身份号码"]: r for r in table.to_pylist()}


def test_full_fusion(lib) -> None:
    w = lib.world
    done = run.fuse(w.db, Actor.system(), lib.library)
    assert done["fused"] and done["mode"] == "全量" and done["entities"] == 3 and done["rejected"] == 2
    got = rows(w, lib.library)
    assert set(got) == {A, B, C}
    a = got[A]
    # authority first (户籍), whatever the others say; the 15-digit row of 户籍 is A
    assert (a["姓名"], a["出生日期"], a["户籍地址"]) == ("张三", date(1990, 3, 7), "春城路1号")
    assert a["姓名__source"] == lib.sources[0] and a["婚姻状况"] == "已婚" and a["婚姻状况__source"] == lib.sources[1]
    # 联系电话: no authority claimed; the fallback order puts 健康档案 first
    assert a["联系电话"] == "13900000001" and a["联系电话__source"] == lib.sources[3]
    assert got[C]["姓名"] == "王五" and got[C]["姓名__source"] == lib.sources[2]  # only source
    with w.db.read() as s:
        batch = s.get(Batch, a["姓名__batch"])
        assert batch.resource_id == lib.sources[0] and a["姓名__at"] is not None
        counts = {(c.source_resource_id, c.item): (c.compared, c.conflicts)
                  for c in s.execute(select(ConflictCount)).scalars()}
        ev = [json.loads(e.content) for e in s.execute(
            select(LedgerEvent).where(LedgerEvent.action == "library.fuse")).scalars()]
    assert counts[(lib.sources[1], "姓名")] == (1, 1)  # 张叁
    assert counts[(lib.sources[2], "出生日期")] == (1, 1)  # 1990-03-08
    assert counts[(lib.sources[4], "户籍地址")] == (1, 1)  # 清河路3号
    assert counts[(lib.sources[3], "出生日期")] == (1, 0)  # agrees
    assert len(ev) == 1 and ev[0]["entities"] == 3
    again = run.fuse(w.db, Actor.system(), lib.library)
    assert again == {"library_id": lib.library, "fused": False, "reason": "no_new_batches"}


def test_incremental_touches_only_new_entities(lib) -> None:
    w = lib.world
    run.fuse(w.db, Actor.system(), lib.library)
    before = rows(w, lib.library)
    lib.push(3, [{"身份证号码": B, "姓名": "李四", "出生日期": None, "联系电话": "13900000009"}])
    done = run.fuse(w.db, Actor.system(), lib.library)
    assert done["incremental"] and done["mode"] == "更新" and done["entities"] == 1
    after = rows(w, lib.library)
    assert after[B]["联系电话"] == "13900000009" and after[B]["联系电话__source"] == lib.sources[3]
    for key in (A, C):
        assert after[key] == before[key]  # untouched entities keep their row (and batch)
    # the incremental result equals a full re-fusion
    full = run.fuse(w.db, Actor.system(), lib.library, full=True)
    assert full["mode"] == "全量"
    refused = rows(w, lib.library)
    strip = {k: {n: v for n, v in r.items() if not n.endswith("__at")} for k, r in refused.items()}
    assert strip == {k: {n: v for n, v in r.items() if not n.endswith("__at")} for k, r in after.items()}


def test_a_changed_authority_claim_makes_the_next_fusion_full(lib) -> None:
    """The definition's version is the same, but it resolves differently: 社保 now claims 联系电话 as
    its authoritative source, so 联系电话's order changes. The rows fused before followed the old
    order: the next run fuses everything again rather than mixing the two orders."""
    from yibenzhang.catalog.model import ResourceItem

    w = lib.world
    run.fuse(w.db, Actor.system(), lib.library)
    with w.db.write() as s:
        item = s.query(ResourceItem).filter_by(resource_id=lib.sources[2], name="联系电话").one()
        item.authoritative = True
    lib.push(3, [{"身份证号码": B, "姓名": "李四", "出生日期": None, "联系电话": "13900000009"}])
    done = run.fuse(w.db, Actor.system(), lib.library)
    assert not done["incremental"] and done["mode"] == "全量"
    after = rows(w, lib.library)
    assert after[A]["联系电话"] == "13900000002" and after[A]["联系电话__source"] == lib.sources[2]  # the new authority
    again = run.fuse(w.db, Actor.system(), lib.library)
    assert again["fused"] is False  # and nothing new since: the digest is recorded


def test_definition_checks_and_permissions(lib) -> None:
    w = lib.world
    with pytest.raises(PermissionDenied):
        run.fuse(w.db, w.actor("police_steward"), lib.library)
    bad = D.DefinitionIn(kind="person", items=[D.ItemDef(name="姓名"), D.ItemDef(name="民族")],
                         sources=[D.SourceDef(resource=lib.codes[0], key="无此项", items={"姓名": "姓名"})])
    with w.db.write() as s, pytest.raises(ValidationFailed) as err:
        D.update_definition(s, Actor.system(), lib.library, bad)
    codes = {e.code for e in err.value.errors}
    assert {"unknown_item", "library_item_unmapped"} <= codes
    # an item's name is the steward's data: 民族 stays 民族 in English, though the interface has the word
    unmapped = next(e.as_dict() for e in err.value.errors if e.code == "library_item_unmapped")
    assert "民族" in unmapped["message_en"] and "Ethnicity" not in unmapped["message_en"]
    with w.db.write() as s:  # graded source items: the library's items and grade follow (就高从严)
        for item in s.execute(select(ResourceItem).where(ResourceItem.resource_id.in_(lib.sources))).scalars():
            grades = {"公民身份号码": "一般-4级", "姓名": "一般-3级", "婚姻状况": "一般-4级"}
            item.grade = grades.get(item.name, "一般-2级")
        s.flush()
        library = D.update_definition(s, Actor.system(), lib.library, definition(lib.codes))
        grades = {i.name: i.grade for i in library.items}
        assert grades["公民身份号码"] == "一般-4级" and grades["姓名"] == "一般-3级"
        assert grades["出生日期"] == "一般-2级"
        assert D.library_grade(library) == "一般-4级"
    with w.db.read() as s:
        resolved = D.resolve(s, lib.library).as_dict()
    items = {i["name"]: i for i in resolved["items"]}
    assert items["姓名"]["authority"] == lib.codes[0] and items["婚姻状况"]["authority"] == lib.codes[1]
    assert items["联系电话"]["authority"] is None and items["联系电话"]["order"] == [lib.codes[3], lib.codes[2],
                                                                                     lib.codes[4]]


def test_unpublished_library_is_not_fused(lib) -> None:
    w = lib.world
    with w.db.write() as s:
        D.update_definition(s, Actor.system(), lib.library, definition(lib.codes))
    # the published version still fuses (its definition is frozen); a never-published one does not
    assert run.fuse(w.db, Actor.system(), lib.library)["fused"]
    with w.db.read() as s:
        assert D.resolve(s, lib.library).version == 1
    with pytest.raises(DomainError), w.db.read() as s:
        D.resolve(s, lib.sources[0])


def test_worker_fuses_when_a_source_gets_a_batch(lib, client) -> None:
    """The worker's tick queues a fusion when a source has a batch the library has not seen; the
    job fuses only the touched entities. The HTTP route queues the same job."""
    from yibenzhang import jobs

    w = lib.world
    worker = jobs.Worker(w.db, kinds=(run.JOB_KIND,))
    worker.tick()
    job = worker.run_one()
    assert job is not None and job.status == "成功", job and (job.status, job.last_error)
    with w.db.read() as s:
        assert run.due_libraries(s) == []
    lib.push(2, [{"证件号码": C, "姓名": "王五", "出生日期": date(2000, 12, 31), "参保状态": "停保",
                  "联系电话": None}])
    with w.db.read() as s:
        assert run.due_libraries(s) == [lib.library]
    worker.tick()
    job = worker.run_one()
    assert job is not None and job.status == "成功"
    assert rows(w, lib.library)[C]["参保状态"] == "停保"
    with w.db.read() as s:
        last = s.execute(select(Batch).where(Batch.resource_id == lib.library)
                         .order_by(Batch.id.desc())).scalars().first()
        assert last.mode == "更新" and last.row_count == 1
    res = client.post(f"/api/v1/libraries/{lib.library}/fuse", json={"full": True}, headers=w.headers("admin"))
    assert res.status_code == 202 and res.json()["kind"] == run.JOB_KIND
    denied = client.post(f"/api/v1/libraries/{lib.library}/fuse", json={}, headers=w.headers("police_steward"))
    assert denied.status_code == 403
