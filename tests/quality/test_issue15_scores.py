"""Issue 15: a resource whose catalogue implies no quality rule collects and evaluates without a
crash; a resource's score covers its current rows, so a small batch cannot move it."""

from __future__ import annotations

import json

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from tests.factories import published
from yibenzhang.catalog.schemas import ItemIn
from yibenzhang.collect.pipeline import ingest_file
from yibenzhang.errors import DomainError, ValidationFailed
from yibenzhang.quality import service
from yibenzhang.quality.evaluate import evaluate
from yibenzhang.quality.rules import catalogue_rules

# No required item, no key, no length, no enumeration, no format word in any name.
PLAIN = [ItemIn(name="备注", data_type="C"), ItemIn(name="数量", data_type="N"), ItemIn(name="说明", data_type="M")]
HYPO = settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def test_evaluate_with_no_rules_over_any_relation():
    con = duckdb.connect()
    for relation in ("(SELECT 1 AS a WHERE FALSE)", "(SELECT * FROM range(3) t(a))"):
        ev = evaluate(con, relation, [])
        assert ev.results == [] and ev.rows == (0 if "FALSE" in relation else 3)


def test_resource_without_rules_collects_and_evaluates(world, tmp_path):
    rid = published(world, items=PLAIN, update_cycle="不定期")
    with world.db.read() as s:
        assert service.list_rules(s, world.actor("police_steward"), rid) == []
    assert catalogue_rules(PLAIN) == []
    steward = world.actor("police_steward")
    path = tmp_path / "p.csv"
    path.write_text("备注,数量,说明\n甲,1,x\n乙,2.5,y\n", encoding="utf-8")
    report = ingest_file(world.db, steward, rid, path)
    assert report.rows_accepted == 2 and report.quality is not None
    assert "error" not in report.quality and report.quality["rules"] == 0 and report.quality["rows"] == 2
    assert report.quality["overall"] is None  # no rule, 不定期: nothing to score, said so
    # a file of rows all rejected: held (nothing joins the current rows), no crash
    path.write_text("备注,数量,说明\n甲,1e999,1\n", encoding="utf-8")
    held = ingest_file(world.db, steward, rid, path, mode="全量")
    assert (held.rows_accepted, held.rows_rejected, held.status) == (0, 1, "待确认")
    # two values and none a number: a wrong column, refused whole with a clear error
    path.write_text("备注,数量,说明\n甲,x,1\n乙,1e999,2\n", encoding="utf-8")
    with pytest.raises(ValidationFailed) as wrong:
        ingest_file(world.db, steward, rid, path, mode="全量")
    assert wrong.value.errors[0].code == "type_mismatch"
    # a header-only file: a clear error, nothing published
    path.write_text("备注,数量,说明\n", encoding="utf-8")
    with pytest.raises(DomainError) as err:
        ingest_file(world.db, steward, rid, path, mode="全量")
    assert err.value.code == "file_no_rows"
    assert service.assess_current(world.db, steward, rid)["rows"] == 2

    from yibenzhang.cli import app

    out = CliRunner().invoke(app, ["quality", str(rid), "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["rules"] == 0


PEOPLE = [ItemIn(name="姓名", data_type="C"), ItemIn(name="手机", data_type="C")]


def _write(path, good: int, bad: int, tag: str):
    rows = [f"{tag}{i},138{i:08d}" for i in range(good)] + [f"{tag}坏{i},12345" for i in range(bad)]
    path.write_text("姓名,手机\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


@HYPO
@given(big_good=st.integers(20, 300), big_bad=st.integers(1, 300), small=st.integers(1, 10))
def test_a_small_batch_cannot_move_the_score(world, tmp_path_factory, big_good, big_bad, small):
    rid = published(world, items=PEOPLE, update_cycle="不定期")
    steward, reviewer = world.actor("police_steward"), world.actor("reviewer")
    folder = tmp_path_factory.mktemp("q")
    first = ingest_file(world.db, steward, rid, _write(folder / "a.csv", big_good, big_bad, "甲"), mode="全量")
    assert first.status == "已发布"
    second = ingest_file(world.db, steward, rid, _write(folder / "b.csv", small, 0, "乙"), mode="追加")
    rows = big_good + big_bad + small
    expected = round(100.0 * (1 - big_bad / rows), 2)  # the mobile format over every current row
    assert second.quality["rows"] == rows and second.quality["scores"]["准确性"] == expected
    with world.db.read() as s:
        assert service.resource_quality(s, steward, rid)["latest"]["scores"]["准确性"] == expected
        # an assessment of the small batch alone is a report on it, not the resource's score
    service.assess_batch(world.db, steward, second.batch_id)
    with world.db.read() as s:
        latest = service.resource_quality(s, steward, rid)["latest"]
        assert latest["scope"] == "current" and latest["scores"]["准确性"] == expected
        org = next(o for o in service.scores_by(s, reviewer, "org") if o["org_id"] == world.orgs["police"].id)
    assert org["scores"]["准确性"] is not None and org["scores"]["准确性"] < 100.0
