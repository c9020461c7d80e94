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
