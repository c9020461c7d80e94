"""Conflicts go back to the sources (issue 21 item 3): the source steward's list, objections with
working-day deadlines (DOMAIN §3: 5 to answer, 10 to correct), a correction that removes the
conflict on the next (incremental) fusion, counts per source org and item."""

from __future__ import annotations

from datetime import date

import pytest

from tests.library.conftest import A
from yibenzhang.access import Actor
from yibenzhang.errors import PermissionDenied
from yibenzhang.library import conflicts, run
from yibenzhang.quality import objections as O
from yibenzhang.workdays import add_workdays

DAY = date(2026, 9, 28)  # a Monday before the National Day holidays: deadlines cross them


def test_steward_list_objections_and_correction(lib) -> None:
    w = lib.world
    run.fuse(w.db, Actor.system(), lib.library)
    marriage = lib.sources[1]
    with w.db.read() as s:
        mine = conflicts.steward_list(s, w.actor("county_steward"), lib.library, marriage)
        with pytest.raises(PermissionDenied):
            conflicts.steward_list(s, w.actor("police_steward"), lib.library, marriage)
        with pytest.raises(PermissionDenied):
            conflicts.steward_list(s, w.actor("consumer"), lib.library, marriage)
        stats = conflicts.counts(s, w.actor("reviewer"), lib.library)
    assert [(c["entity"], c["item"], c["source_item"], c["value"], c["fused_value"]) for c in mine] == [
        (A, "姓名", "姓名", "张叁", "张三")]
    assert mine[0]["fused_source"] == lib.codes[0] and mine[0]["objection"] is None
    per = {(r["source_resource_id"], r["item"]): r["conflicts"] for r in stats["rows"]}
    assert per[(marriage, "姓名")] == 1 and per[(lib.sources[2], "出生日期")] == 1
    assert per[(lib.sources[4], "户籍地址")] == 1 and per[(lib.sources[2], "联系电话")] == 1  # fallback order
    assert sum(stats["by_org"].values()) == 4 and stats["by_org"][w.orgs["other_city_org"].id] == 2
    with w.db.write() as s:
        with pytest.raises(PermissionDenied):
            conflicts.send(s, w.actor("county_steward"), lib.library)
        done = conflicts.send(s, w.actor("reviewer"), lib.library, today=DAY)
        assert done["sent"] == 4
        assert conflicts.send(s, w.actor("reviewer"), lib.library, today=DAY)["sent"] == 0  # once only
    with w.db.read() as s:
        mine = conflicts.steward_list(s, w.actor("county_steward"), lib.library, marriage, today=DAY)
    obj = mine[0]["objection"]
    assert obj["state"] == "待答复" and obj["expected"] == "张三" and obj["items"] == ["姓名"]
    # 国庆 skipped, the make-up Saturday counts
    assert obj["answer_due"] == add_workdays(DAY, 5).isoformat() == "2026-10-10"
    assert obj["correct_due"] == add_workdays(DAY, 10).isoformat()
    # the steward accepts and corrects at the source: the next fusion clears the conflict
    with w.db.write() as s:
        O.answer_objection(s, w.actor("county_steward"), obj["id"], "受理", today=DAY)
    lib.push(1, [{"身份证号": A, "姓名": "张三", "婚姻状况": "已婚"}])
    assert run.fuse(w.db, Actor.system(), lib.library)["incremental"]
    with w.db.read() as s:
        assert conflicts.steward_list(s, w.actor("county_steward"), lib.library, marriage) == []
        stats = conflicts.counts(s, w.actor("reviewer"), lib.library)
        assert sum(stats["by_org"].values()) == 3
        assert conflicts.org_conflicts(s, w.orgs["county_civil"].id) == 0  # latest batch: none


def test_conflict_rates_are_the_sources_consistency_score(lib) -> None:
    """Issue 21 item 3: a contributing resource's agreement with the library's authoritative
    values is part of its 一致性 score (and so of its org's and region's, which weigh resource
    scores): per library item, checked = values compared in the latest full fusion, failed =
    those that differ. A batch-scope run describes the batch alone and carries none."""
    from yibenzhang.quality import service as quality
    from yibenzhang.quality.model import QualityRun
    from yibenzhang.zone.model import Batch

    w = lib.world

    def results(run_id: int) -> list[dict]:
        with w.db.read() as s:
            return quality.run_dict(s, s.get(QualityRun, run_id), True)["results"]

    run.fuse(w.db, Actor.system(), lib.library, full=True)
    social, health = lib.sources[2], lib.sources[3]
    got = quality.assess_current(w.db, Actor.system(), social)
    with w.db.read() as s:
        library_code = conflicts.get_library(s, Actor.system(), lib.library).code
    rows = results(got["run_id"])
    mine = {r["params"]["item"]: (r["items"], r["checked"], r["failed"]) for r in rows
            if r["kind"] == "library_conflict"}
    # 社保 (conftest.PLANTED): A's name agrees, A's birth date and phone differ; C is only here
    assert mine == {"姓名": (["姓名"], 1, 0), "出生日期": (["出生日期"], 1, 1), "联系电话": (["联系电话"], 1, 1)}
    assert {r["key"] for r in rows if r["kind"] == "library_conflict"} == {f"library:{library_code}:{i}" for i in mine}
    consistency = [r for r in rows if r["dimension"] == "一致性"]
    checked, failed = sum(r["checked"] for r in consistency), sum(r["failed"] for r in consistency)
    assert got["scores"]["一致性"] == round(100.0 * (1 - failed / checked), 2) < 100
    # a source that agrees everywhere it was compared
    agreeing = [r for r in results(quality.assess_current(w.db, Actor.system(), health)["run_id"])
                if r["kind"] == "library_conflict"]
    assert agreeing and all(r["failed"] == 0 for r in agreeing)
    # a batch's own run carries no library agreement
    with w.db.read() as s:
        batch_id = s.query(Batch.id).filter_by(resource_id=social).order_by(Batch.id.desc()).first()[0]
    batch_run = quality.assess_batch(w.db, Actor.system(), batch_id)
    assert not [r for r in results(batch_run["run_id"]) if r["kind"] == "library_conflict"]
