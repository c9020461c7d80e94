"""/open/catalog.ttl and .jsonld: rdflib reads both; every open dataset is there with its
distributions (the downloads of collected rows), nothing else is, and it agrees with the portal."""

from __future__ import annotations

import pytest
from rdflib import Graph, URIRef
from rdflib import namespace as ns

from yibenzhang.catalog.model import Resource


@pytest.mark.parametrize(("path", "fmt"), [("/open/catalog.ttl", "turtle"), ("/open/catalog.jsonld", "json-ld")])
def test_dcat_documents(world, open_catalog, client, path, fmt):
    response = client.get(path)
    assert response.status_code == 200
    g = Graph().parse(data=response.text, format=fmt)
    with world.db.read() as s:
        codes = {k: s.get(Resource, v).code for k, v in open_catalog.items()}
    datasets = {str(g.value(ds, ns.DCTERMS.identifier)): ds for ds in g.subjects(ns.RDF.type, ns.DCAT.Dataset)}
    assert set(datasets) == {codes[k] for k in ("schools", "hospitals", "bus", "licences")}
    (catalog,) = g.subjects(ns.RDF.type, ns.DCAT.Catalog)
    assert set(g.objects(catalog, ns.DCAT.dataset)) == set(datasets.values())

    schools = datasets[codes["schools"]]
    dists = list(g.objects(schools, ns.DCAT.distribution))
    urls = {str(g.value(d, ns.DCAT.downloadURL)) for d in dists}
    base = "http://testserver"
    assert urls == {f"{base}/open/datasets/{open_catalog['schools']}/download.{f}"
                    for f in ("csv", "xlsx", "json", "parquet")}
    media = {str(g.value(d, ns.DCAT.mediaType)).rsplit("/", 2)[-2:][0] for d in dists}
    assert media == {"text", "application"}
    assert g.value(schools, ns.DCAT.landingPage) == URIRef(f"{base}/datasets/{open_catalog['schools']}")
    assert URIRef(f"{base}/open/themes/education") in set(g.objects(schools, ns.DCAT.theme))
    assert g.value(schools, ns.DCTERMS.license) is not None
    period = g.value(schools, ns.DCTERMS.temporal)
    assert g.value(period, ns.DCAT.endDate) is not None
    assert g.value(schools, ns.DCTERMS.accrualPeriodicity) is not None
    assert {str(k) for k in g.objects(schools, ns.DCAT.keyword)} == {"学校", "教育"}
    publisher = g.value(schools, ns.DCTERMS.publisher)
    assert str(g.value(publisher, ns.FOAF.name)) == "云岭省市场监督管理局"
    # datasets without collected rows have nothing to download yet
    assert list(g.objects(datasets[codes["bus"]], ns.DCAT.distribution)) == []

    # the same set as the CKAN API and the portal
    ckan = client.get("/api/3/action/package_list").json()["result"]
    assert sorted(c.replace("-", "/") for c in ckan) == sorted(datasets)


def test_streamed_documents_hold_exactly_the_graph(world, open_catalog, client):
    """The hand-written Turtle and JSON-LD carry the same statements as rdflib's graph."""
    from rdflib.compare import isomorphic

    from yibenzhang.catalog import dcat
    from yibenzhang.open import portal_query as pq
    from yibenzhang.open.dcat_routes import portal_views

    # a quote, a backslash and a line break in the text must survive both writers
    with world.db.write() as s:
        from yibenzhang.catalog.model import ResourceVersion

        version = s.query(ResourceVersion).filter_by(resource_id=open_catalog["bus"]).one()
        version.snapshot = {**version.snapshot, "abstract": '线路"站点"\\n第二行\n换行'}
    with world.db.read() as s:
        expected = dcat.build_graph(portal_views(s, pq.open_index(s).datasets), "http://testserver")
    for path, fmt in (("/open/catalog.ttl", "turtle"), ("/open/catalog.jsonld", "json-ld")):
        got = Graph().parse(data=client.get(path).text, format=fmt)
        assert isomorphic(got, expected), path
