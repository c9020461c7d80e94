"""The demo province: realistic counts and coverage, valid codes, a verifying ledger, determinism,
and refusal of a used database. The load is heavy, so one test loads once and checks much."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import IN_CI, PG_URL, DemoProvince, _store, copy_demo
from yibenzhang import demo, workdays
from yibenzhang.catalog import service as catalog
from yibenzhang.catalog.model import DutyChange, ListEntry, Resource, ResourceItem, System
from yibenzhang.catalog.taxonomy import ITEMS
from yibenzhang.codes import is_valid_uscc
from yibenzhang.config import get_settings
from yibenzhang.db import Database, get_database
from yibenzhang.enums import DataType, OpenType, OrgKind, ResourceStatus, Role, ShareType
from yibenzhang.errors import DomainError
from yibenzhang.ledger import service as ledger
from yibenzhang.orgs import service as orgs
from yibenzhang.orgs.model import Org, Region
from yibenzhang.quality.model import QualityResult, QualityRun
from yibenzhang.zone.model import Batch

# GB 32100 first two characters allowed for each kind of body in the demo.
USCC_PREFIXES = {
    OrgKind.GOV.value: {"11"}, OrgKind.AUTHORITY.value: {"11"}, OrgKind.INSTITUTION.value: {"12", "52"},
    OrgKind.ENTERPRISE.value: {"91", "N2"}, OrgKind.OPERATOR.value: {"91"},
}


def test_demo_province_is_complete_valid_and_evidenced(sqlite_db: Database, home: Path,
                                                      demo_province: DemoProvince) -> None:
    """On the run's demo province (the same load_demo, done once for every test that needs it);
    the PostgreSQL load is checked the same way by the same-seed test below."""
    check_province(copy_demo(demo_province, home), demo_province.summary)


def check_province(db: Database, summary: dict) -> None:

    with db.read() as s:
        regions = list(s.execute(select(Region)).scalars())
        levels = defaultdict(int)
        for r in regions:
            levels[r.level] += 1
            assert r.code.startswith("99"), r.code  # a prefix no real province uses
        assert levels["省"] == 1 and levels["市"] >= 3 and levels["县"] >= 6

        org_rows = list(s.execute(select(Org)).scalars())
        assert len(org_rows) >= 60
        assert {o.kind for o in org_rows} == set(OrgKind.values())
        assert sum(o.kind == OrgKind.AUTHORITY.value for o in org_rows) == 1 + levels["市"]
        assert sum(o.kind == OrgKind.OPERATOR.value for o in org_rows) >= 2
        for o in org_rows:
            assert is_valid_uscc(o.uscc), o.uscc
            assert o.uscc[:2] in USCC_PREFIXES[o.kind], (o.name, o.uscc)
        gov_levels = {s.get(Region, o.region_id).level for o in org_rows if o.kind == OrgKind.GOV.value}
        assert gov_levels == {"省", "市", "县"}

        resources = list(s.execute(select(Resource)).scalars())
        assert len(resources) >= 400
        assert {r.status for r in resources} == set(ResourceStatus.values())
        assert {r.share_type for r in resources} == set(ShareType.values())
        assert {r.open_type for r in resources} == set(OpenType.values())
        base = {r.category_code[:3] for r in resources if r.category_code.startswith("1")}
        assert base == {f"1{k}" for k in ITEMS["1"]}  # all six base libraries
        assert {r.category_code[0] for r in resources} == {"1", "2", "3"}  # base, theme and department
        systems = {sid: org_id for sid, org_id in s.execute(select(System.id, System.org_id))}
        for r in resources:
            assert systems[r.system_id] == r.org_id, r.code  # linked to a system of its own org
            if r.share_type == ShareType.CONDITIONAL.value:
                assert r.share_condition
            if r.share_type == ShareType.NOT_SHAREABLE.value:
                assert r.share_basis and "《" in r.share_basis
            if r.open_type == OpenType.CONDITIONAL.value:
                assert r.open_condition

        # A published resource with its second version in review: others still see version 1.
        second = [r for r in resources if r.status == ResourceStatus.SUBMITTED.value and r.published_version]
        assert second and all(r.version == 2 for r in second)
        view = catalog.published_view(s, second[0])
        assert view["version"] == 1 and "数据最后更新时间" not in [i["name"] for i in view["items"]]

        items = list(s.execute(select(ResourceItem)).scalars())
        assert {i.data_type for i in items} == set(DataType.values())
        assert not [i.name for i in items if re.fullmatch(r"(字段|field|列)\s*\d+", i.name)]
        police = next(o for o in org_rows if o.name == "云岭省公安厅")
        population = next(r for r in resources if r.name == "人口基本信息" and r.org_id == police.id)
        assert [i.name for i in population.items][:4] == ["姓名", "公民身份号码", "性别", "民族"]

        # 一数一源: the deliberate conflict, and only that one.
        conflicts = catalog.one_source_conflicts(s)
        assert [c["element"] for c in conflicts] == ["公民身份号码"]
        assert conflicts[0]["source"]["org_name"] == "云岭省公安厅"
        assert [f["org_name"] for f in conflicts[0]["flagged"]] == ["云岭省人力资源和社会保障厅"]
        assert summary["related_pairs"] >= 3

        kinds_by_region = defaultdict(set)
        for e in s.execute(select(ListEntry)).scalars():
            kinds_by_region[e.region_id].add(e.kind)
            if e.kind == "负面清单":
                assert e.basis
        assert all(kinds_by_region[r.id] == {"责任清单", "需求清单", "负面清单"} for r in regions)

        states = sorted(catalog.duty_change_state(c, workdays.today())
                        for c in s.execute(select(DutyChange)).scalars())
        assert set(states) == {"未到期", "已逾期", "按时完成", "逾期完成"}

        # Users of every role, with passwords that work.
        assert {u["role"] for u in summary["users"]} == set(Role.values())
        stewards = {u["org"] for u in summary["users"] if u["role"] == Role.STEWARD.value}
        assert stewards == {o.name for o in org_rows}
        reviewer = next(u for u in summary["users"] if u["username"] == "reviewer_cc")
        assert orgs.authenticate(s, "reviewer_cc", reviewer["password"]).username == "reviewer_cc"

        # Rows for at least 20 published resources, through the real pipeline: batches with
        # rejects (impossible dates), one held on purpose, quality runs that found bad codes.
        batches = list(s.execute(select(Batch)).scalars())
        # issue 21: the libraries' sources and fusion batches are counted in summary["libraries"]
        fused = {b.resource_id for b in batches if (b.source or {}).get("kind") in ("demo-library", "fusion")}
        # 2 base libraries over 5 sources each, a theme library over one of them and 3 sources, and a
        # city's library extending the province's 人口库 with 1 source of its own (issue 21 item 5)
        assert len(fused) == 18
        assert {n: lib["sources"] for n, lib in summary["libraries"].items()} == {
            "人口综合库": 5, "法人综合库": 5, "社会救助主题库": 4, "春城市人口库": 1}
        city = summary["libraries"]["春城市人口库"]
        assert city["extends"] == summary["libraries"]["人口综合库"]["code"]
        assert city["entities"] > summary["libraries"]["人口综合库"]["entities"]
        batches = [b for b in batches if b.resource_id not in fused]
        with_rows = {b.resource_id for b in batches if b.row_count > 0}
        assert len(with_rows) >= 20 and summary["rows"]["resources"] == len(with_rows)
        assert sum(b.rejected_count for b in batches) == summary["rows"]["rows_rejected"] > 0
        assert [b.status for b in batches].count("待确认") == summary["rows"]["held_batches"] == 1
        for b in batches:
            resource = s.get(Resource, b.resource_id)
            assert resource.status == ResourceStatus.PUBLISHED.value
            if b.status == "已发布":
                assert resource.record_count is not None and 0 < resource.record_count <= b.row_count
            if b.rejected_count:
                rejects = (get_settings().zone / b.path / b.reject_path).read_text("utf-8-sig")
                assert "date_nonexistent" in rejects  # the demo's impossible dates (issue 15: their own code)
        runs = [r for r in s.execute(select(QualityRun)).scalars() if r.resource_id not in fused]
        assert len(runs) == summary["rows"]["quality_runs"] == len(batches) - 1
        failed = {r.rule_key.split(":")[0] + ":" + str(r.params.get("format", "")) for r in
                  s.execute(select(QualityResult).where(QualityResult.failed > 0)).scalars()}
        assert {"format:id_card", "format:uscc"} <= failed  # invalid check characters were found
        assert all(0 < (r.overall or 0) < 100 for r in runs)

        # Everything went through the services: the ledger holds it all and verifies.
        report = ledger.verify(s)
        assert report.ok and report.events == summary["ledger_events"]
        actors = {e.actor for e in ledger.events_for(s, "resource", str(second[0].id))}
        assert len(actors) == 2 and "system" not in actors  # its steward and its reviewer acted
        assert any(a.startswith("reviewer_") for a in actors)

    assert summary["resources_total"] == len(resources)
    assert summary["orgs_total"] == len(org_rows)

    with pytest.raises(DomainError) as refused:
        demo.load_demo(seed=2026)
    assert refused.value.code == "demo_not_empty"
    assert "empty database" in refused.value.message_in("en")
    assert demo.load_demo_if_empty() is None


def _snapshot(db: Database) -> tuple[list[tuple[str, str, str]], list[tuple[str, str]]]:
    with db.read() as s:
        resources = [tuple(r) for r in s.execute(select(Resource.code, Resource.name, Resource.status)
                                                 .order_by(Resource.code))]
        org_rows = [tuple(o) for o in s.execute(select(Org.uscc, Org.name).order_by(Org.id))]
    return resources, org_rows


def test_same_seed_gives_the_same_province_and_another_seed_differs(
    sqlite_db: Database, home: Path, demo_province: DemoProvince, request: pytest.FixtureRequest,
) -> None:
    # Two loads of seed 2026: the run's demo province (SQLite, in whichever worker process built
    # it) and a second one here — on PostgreSQL when it is there, so one load serves both this
    # comparison and the other backend; else on SQLite.
    first = demo_province.summary
    shared = Database(f"sqlite:///{demo_province.home / 'ybz.sqlite3'}")
    try:
        resources_a, orgs_a = _snapshot(shared)
    finally:
        shared.dispose()
    if PG_URL or IN_CI:
        request.getfixturevalue("pg_url")
        db = _store(request, "postgresql", home, request.getfixturevalue("monkeypatch"))
        assert not db.is_sqlite
    second = demo.load_demo(seed=2026)
    check_province(get_database(), second)
    resources_b, orgs_b = _snapshot(get_database())
    assert resources_a == resources_b and orgs_a == orgs_b
    assert first["users"] == second["users"]
    assert first["rows"] == second["rows"]  # the same rows, rejects and holds

    # The rows themselves are a pure function of the seed.
    w = demo.plan_world(2026)
    p, _held = demo.rows_plan(w, demo.plan_resources(w))[0]
    items = demo.D.parse_items(p.t.items, p.org.level == "P")
    again = [demo.demo_rows.table_for(items, 2026, 0, ["990102"], ["翠湖区"]) for _ in range(2)]
    assert again[0].equals(again[1])
    assert not again[0].equals(demo.demo_rows.table_for(items, 7, 0, ["990102"], ["翠湖区"]))

    # The load follows its plan exactly, so a different plan is a different province.
    planned = demo.plan_resources(demo.plan_world(2026))
    as_status = {"published": "已发布", "published_v2": "待审核", "submitted": "待审核", "returned": "已退回",
                 "draft": "草稿", "retired": "已停用"}
    # issue 21: the libraries and their sources are the library demo's, not the plan's
    from yibenzhang.library import demo as library_demo

    fused = {name for specs in (library_demo.PERSON_SOURCES, library_demo.ORG_SOURCES, library_demo.THEME_SOURCES,
                                library_demo.CITY_SOURCES) for _, name, _, _ in specs}
    fused |= {"人口综合库", "法人综合库", library_demo.THEME, library_demo.CITY_LIBRARY}
    assert sorted(as_status[p.plan] for p in planned) == sorted(
        status for _, name, status in resources_b if name not in fused)
    other_world = demo.plan_world(7)
    other = demo.plan_resources(other_world)
    assert [p.plan for p in other] != [p.plan for p in planned]
    assert [o.uscc for o in other_world.orgs] != [u for u, _ in orgs_b]
    assert [o.name for o in other_world.orgs] == [n for _, n in orgs_b]  # the same province, other draws
