"""Issue 19: a province's package plugs in through the entry-point group `yibenzhang`. A tiny example
plugin, installed as a distribution on the path (its dist-info names the entry point, as pip would
write it), adds a reader (LTSV: Labeled Tab-Separated Values, `名称:值` fields) and a quality rule kind
(正数: the value is above zero), and collection and quality use both end to end. Uninstalled, the
format is unknown again and the stored rule waits, kept but not evaluated."""

from __future__ import annotations

import sys
import textwrap

import pytest

from tests.factories import published
from yibenzhang import plugins
from yibenzhang.catalog.schemas import ItemIn
from yibenzhang.collect.pipeline import ingest_file
from yibenzhang.errors import DomainError, ValidationFailed
from yibenzhang.quality import service
from yibenzhang.quality.rules import Dimension
from yibenzhang.zone import port as P
from yibenzhang.zone.engine import named_engine
from yibenzhang.zone.service import live_state

PLUGIN = '''
"""An example plugin: an LTSV reader and a rule kind "positive"."""

import pyarrow as pa

from yibenzhang.collect.readers import Reader, Source, with_rows
from yibenzhang.hooks import hookimpl
from yibenzhang.quality.rules import Dimension, RuleKind


def open_ltsv(path, options):
    lines = path.read_text(encoding=options.encoding or "utf-8").splitlines()
    records = [dict(field.split(":", 1) for field in line.split("\\t")) for line in lines if line]
    columns = list(dict.fromkeys(name for record in records for name in record))
    batch = pa.RecordBatch.from_pydict({c: pa.array([r.get(c) for r in records], pa.string()) for c in columns})
    return Source(columns, with_rows(iter([batch])), {"format": "ltsv"}, path.stat().st_size)


def positive(builder, index, rule, reference):
    c = builder.col(rule.items[0])
    return f"{c} IS NOT NULL", f"NOT coalesce(TRY_CAST({c} AS DOUBLE) > 0, FALSE)"


@hookimpl
def ybz_readers():
    return [Reader("ltsv", ("ltsv",), open_ltsv)]


@hookimpl
def ybz_rule_kinds():
    return [RuleKind("positive", "正数", Dimension.ACCURACY, positive)]
'''


@pytest.fixture
def example_plugin(tmp_path):
    site = tmp_path / "site"
    (site / "ybz_example").mkdir(parents=True)
    (site / "ybz_example" / "__init__.py").write_text(textwrap.dedent(PLUGIN), encoding="utf-8")
    info = site / "ybz_example-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ybz-example\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[yibenzhang]\nexample = ybz_example\n")
    sys.path.insert(0, str(site))
    plugins.reset()

    def uninstall() -> None:
        if str(site) in sys.path:
            sys.path.remove(str(site))
        sys.modules.pop("ybz_example", None)
        plugins.reset()

    try:
        yield uninstall
    finally:
        uninstall()


def test_an_installed_plugin_adds_a_reader_and_a_rule_kind_used_end_to_end(world, example_plugin, tmp_path):
    assert "example" in {name for name, _ in plugins.manager().list_name_plugin()}
    assert plugins.readers()["ltsv"].suffixes == ("ltsv",) and "csv" in plugins.readers()
    assert plugins.rule_kinds()["positive"].dimension is Dimension.ACCURACY
    resource = published(world, items=[ItemIn(name="姓名", data_type="C", length=20),
                                       ItemIn(name="金额", data_type="N")], update_cycle="不定期")
    steward = world.actor("police_steward")
    with world.db.write() as s:
        with pytest.raises(ValidationFailed) as refused:  # one item only, as the kind declares
            service.add_rule(s, steward, resource, kind="positive", items=["姓名", "金额"])
        assert [e.code for e in refused.value.errors] == ["quality_rule_items_one"]
        service.add_rule(s, steward, resource, kind="positive", items=["金额"])
    data = tmp_path / "payments.ltsv"
    data.write_text("姓名:张三\t金额:12.5\n姓名:李四\t金额:-3\n姓名:王五\t金额:0\n姓名:赵六\n", encoding="utf-8")

    report = ingest_file(world.db, steward, resource, data)  # the suffix finds the plugin's reader

    assert (report.rows_read, report.rows_accepted, report.source["format"]) == (4, 4, "ltsv")
    with world.db.read() as s:
        state = live_state(s, resource)
        quality = service.resource_quality(s, steward, resource)
    rows = named_engine("duckdb").query(state, P.scan(state, ["姓名", "金额"])).to_pylist()
    assert sorted((r["姓名"], None if r["金额"] is None else float(r["金额"])) for r in rows) == [
        ("张三", 12.5), ("李四", -3.0), ("王五", 0.0), ("赵六", None)]
    positive = next(r for r in quality["latest"]["results"] if r["kind"] == "positive")
    assert (positive["checked"], positive["failed"], positive["samples"]) == (3, 2, [2, 3])
    assert positive["dimension"] == "准确性"

    example_plugin()  # uninstalled: the steward's rule is kept and waits; the rest is assessed as before
    assert service.assess_current(world.db, steward, resource)["rows"] == 4
    with world.db.read() as s:
        latest = service.resource_quality(s, steward, resource)["latest"]
        assert "positive" not in {r["kind"] for r in latest["results"]}
        listed = {r["kind"]: r for r in service.list_rules(s, steward, resource)}
        assert listed["positive"]["waiting"] and listed["positive"]["items"] == ["金额"]


def test_an_uninstalled_plugin_leaves_its_rules_waiting_and_its_format_unknown(world, tmp_path):
    resource = published(world, items=[ItemIn(name="金额", data_type="N")], update_cycle="不定期")
    steward = world.actor("police_steward")
    data = tmp_path / "payments.ltsv"
    data.write_text("金额:1\n", encoding="utf-8")
    with pytest.raises(DomainError) as unknown:
        ingest_file(world.db, steward, resource, data)
    assert unknown.value.code == "format_unknown"
    with world.db.write() as s, pytest.raises(ValidationFailed) as refused:
        service.add_rule(s, steward, resource, kind="positive", items=["金额"])
    assert refused.value.errors[0].code == "quality_rule_kind"


class _ProvinceHoldings:
    """A province's catalogue in front of the platform's: it places batches under its own folder
    and counts what the zone asked (issue 19: the zone reads holdings through the hook alone)."""

    def __init__(self, platform) -> None:
        self.platform = platform
        self.asked: list[str] = []

    def get(self, session, resource_id, *, lock=False):
        self.asked.append("lock" if lock else "get")
        return self.platform.get(session, resource_id, lock=lock)

    def find(self, session, actor, ref):
        self.asked.append("find")
        return self.platform.find(session, actor, ref)

    def place(self, session, holding):
        self.asked.append("place")
        return "990000", "province-own"


def test_the_zone_reads_a_resource_through_the_holdings_hook_and_the_last_answer_wins(world, tmp_path):
    from yibenzhang.hooks import hookimpl
    from yibenzhang.zone.model import Batch

    platform = plugins.zone_holdings()
    assert type(platform).__name__ == "CatalogueHoldings"  # the catalogue answers by default
    province = _ProvinceHoldings(platform)

    class ProvincePlugin:
        @hookimpl
        def ybz_zone_holdings(self):
            return province

    plugins.register(ProvincePlugin(), name="province-holdings")
    try:
        assert plugins.zone_holdings() is province
        resource = published(world, items=[ItemIn(name="姓名", data_type="C", length=20)], update_cycle="不定期")
        data = tmp_path / "names.csv"
        data.write_text("姓名\n张三\n李四\n", encoding="utf-8")
        report = ingest_file(world.db, world.actor("police_steward"), resource, data)
        assert report.rows_accepted == 2
        with world.db.read() as s:
            batch = s.query(Batch).filter_by(resource_id=resource).one()
            assert batch.path.startswith("990000/province-own/")
            assert live_state(s, resource).columns[0].name == "姓名"
        assert {"lock", "place", "get"} <= set(province.asked)
    finally:
        plugins.unregister("province-holdings")
    assert plugins.zone_holdings() is platform
