"""DCAT export: exactly the open published resources, parseable Turtle and JSON-LD."""

from __future__ import annotations

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib import namespace as ns

from tests.factories import published, resource_in
from yibenzhang.access import Actor
from yibenzhang.catalog import service as catalog
from yibenzhang.catalog.io import export_catalog
from yibenzhang.catalog.model import Resource

FREQ = "http://publications.europa.eu/resource/authority/frequency/"


def _world_with_open_data(world) -> dict[str, str]:
    ids = {
        "open": published(world, name="公共厕所位置", open_type="无条件开放", format_detail="csv、xlsx",
                          update_cycle="每季度", keywords=["厕所", "市政"], category_code="210003"),
        "cond": published(world, org="market", name="企业年报信息", open_type="有条件开放",
                          open_condition="实名申请", update_cycle="每年", category_code="206001"),
        "closed": published(world, name="人口基本信息"),  # 不予开放
        "retired": published(world, name="已停用数据", open_type="无条件开放"),
    }
    with world.db.write() as s:
        catalog.retire_resource(s, world.actor("reviewer"), ids["retired"], "职责调整")
        draft = catalog.create_resource(s, Actor.system(), resource_in(world, name="草稿数据", open_type="无条件开放"))
        codes = {k: s.get(Resource, v).code for k, v in ids.items()}
        codes["draft"] = draft.code
    return codes


@pytest.mark.parametrize("fmt", ["dcat-ttl", "dcat-jsonld"])
def test_dcat_holds_exactly_the_open_published_resources(world, fmt):
    codes = _world_with_open_data(world)
    with world.db.read() as s:
        data = export_catalog(s, world.actor("citizen"), fmt, base_url="https://data.example.cn/")
    g = Graph().parse(data=data.decode("utf-8"), format="turtle" if fmt == "dcat-ttl" else "json-ld")
    datasets = {str(g.value(ds, ns.DCTERMS.identifier)): ds for ds in g.subjects(ns.RDF.type, ns.DCAT.Dataset)}
    assert set(datasets) == {codes["open"], codes["cond"]}
    (cat,) = g.subjects(ns.RDF.type, ns.DCAT.Catalog)
    assert set(g.objects(cat, ns.DCAT.dataset)) == set(datasets.values())

    ds = datasets[codes["open"]]
    assert g.value(ds, ns.DCTERMS.title) == Literal("公共厕所位置", lang="zh")
    assert g.value(ds, ns.DCTERMS.accrualPeriodicity) == URIRef(FREQ + "QUARTERLY")
    assert {str(k) for k in g.objects(ds, ns.DCAT.keyword)} == {"厕所", "市政"}
    assert g.value(ds, ns.DCTERMS.issued) is not None
    dists = list(g.objects(ds, ns.DCAT.distribution))
    assert len(dists) == 2 and all((d, ns.RDF.type, ns.DCAT.Distribution) in g for d in dists)
    formats = {str(g.value(d, ns.DCTERMS.format)).rsplit("/", 1)[-1] for d in dists}
    assert formats == {"CSV", "XLSX"}
    publisher = g.value(ds, ns.DCTERMS.publisher)
    assert (publisher, ns.RDF.type, ns.FOAF.Organization) in g
    assert str(g.value(publisher, ns.FOAF.name)) == "云岭省公安厅"
    theme = g.value(ds, ns.DCAT.theme)
    assert "城乡建设" in str(g.value(theme, URIRef("http://www.w3.org/2004/02/skos/core#prefLabel")))

    cond = datasets[codes["cond"]]
    assert g.value(cond, ns.DCTERMS.accrualPeriodicity) == URIRef(FREQ + "ANNUAL")
    assert len(list(g.objects(cond, ns.DCAT.distribution))) == 1  # one format: parquet
    assert str(g.value(cond, ns.DCTERMS.rights)) == "实名申请"


def test_dcat_uses_the_published_snapshot_not_the_working_copy(world):
    rid = published(world, name="公开数据", open_type="无条件开放")
    with world.db.write() as s:
        catalog.update_resource(s, world.actor("police_steward"), rid,
                                resource_in(world, name="改名中的数据", open_type="不予开放"))
    with world.db.read() as s:
        data = export_catalog(s, world.actor("citizen"), "dcat-ttl")
    g = Graph().parse(data=data.decode(), format="turtle")
    titles = {str(t) for ds in g.subjects(ns.RDF.type, ns.DCAT.Dataset) for t in g.objects(ds, ns.DCTERMS.title)}
    assert titles == {"公开数据"}
