"""The open catalogue as DCAT (W3C DCAT 2 with the EU vocabularies DCAT-AP uses), for
harvesters and validators: one dcat:Dataset per published, open resource, one
dcat:Distribution per concrete format, inside one dcat:Catalog.

Built from the last published snapshot (what the public sees), never the working copy.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, SKOS, XSD
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..enums import OpenType, ResourceStatus, UpdateCycle
from . import service
from .formats import formats_of
from .model import Resource

DEFAULT_BASE = "http://127.0.0.1:8000"
FREQ = Namespace("http://publications.europa.eu/resource/authority/frequency/")
ACCESS = Namespace("http://publications.europa.eu/resource/authority/access-right/")
EU_FILE_TYPE = Namespace("http://publications.europa.eu/resource/authority/file-type/")
LANG_ZH = URIRef("http://publications.europa.eu/resource/authority/language/ZHO")

OPEN_TYPES = (OpenType.UNCONDITIONAL.value, OpenType.CONDITIONAL.value)

# 更新周期 → EU frequency vocabulary.
FREQUENCY = {
    UpdateCycle.REALTIME.value: FREQ.UPDATE_CONT,
    UpdateCycle.DAILY.value: FREQ.DAILY,
    UpdateCycle.WEEKLY.value: FREQ.WEEKLY,
    UpdateCycle.MONTHLY.value: FREQ.MONTHLY,
    UpdateCycle.QUARTERLY.value: FREQ.QUARTERLY,
    UpdateCycle.HALF_YEARLY.value: FREQ.ANNUAL_2,
    UpdateCycle.YEARLY.value: FREQ.ANNUAL,
    UpdateCycle.IRREGULAR.value: FREQ.IRREG,
}
ACCESS_RIGHTS = {OpenType.UNCONDITIONAL.value: ACCESS.PUBLIC, OpenType.CONDITIONAL.value: ACCESS.RESTRICTED}
MEDIA_TYPES = {
    "csv": "text/csv", "json": "application/json", "xml": "application/xml",
    "parquet": "application/vnd.apache.parquet", "xls": "application/vnd.ms-excel",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf", "zip": "application/zip", "shp": "application/x-shapefile",
    "geojson": "application/geo+json",
}


def open_views(session: Session, org_id: int | None = None) -> list[dict[str, Any]]:
    """Published snapshots whose published open type is 无条件开放 or 有条件开放, by code."""
    stmt = select(Resource).where(Resource.published_version.is_not(None),
                                  Resource.status != ResourceStatus.RETIRED.value)
    if org_id is not None:
        stmt = stmt.where(Resource.org_id == org_id)
    out = []
    for resource in session.execute(stmt.order_by(Resource.code)).scalars():
        view = service.published_view(session, resource)
        if view is not None and view.get("open_type") in OPEN_TYPES:
            out.append(view)
    return out


def build_graph(views: list[dict[str, Any]], base_url: str | None = None) -> Graph:
    g = Graph()
    for prefix, ns in (("dcat", DCAT), ("dct", DCTERMS), ("foaf", FOAF), ("skos", SKOS)):
        g.bind(prefix, ns)
    for triple in triples(views, base_url):
        g.add(triple)
    return g


def triples(views: list[dict[str, Any]], base_url: str | None = None) -> Iterator[tuple[Any, Any, Any]]:
    """Every statement of the catalogue, in order (one definition for the graph and for writers
    that stream large catalogues without building a graph)."""
    base = (base_url or DEFAULT_BASE).rstrip("/")
    catalog = URIRef(f"{base}/open/catalog")
    yield (catalog, RDF.type, DCAT.Catalog)
    yield (catalog, DCTERMS.title, Literal("公共数据开放目录", lang="zh"))
    yield (catalog, DCTERMS.title, Literal("Open public data catalogue", lang="en"))
    yield (catalog, DCTERMS.language, LANG_ZH)
    scheme = URIRef(f"{base}/catalog/categories")
    yield (scheme, RDF.type, SKOS.ConceptScheme)
    yield (scheme, DCTERMS.title, Literal("信息资源分类", lang="zh"))
    yield (catalog, DCAT.themeTaxonomy, scheme)

    for view in views:
        code = view["code"]
        ds = URIRef(f"{base}/open/datasets/{quote(code, safe='')}")
        yield (catalog, DCAT.dataset, ds)
        yield (ds, RDF.type, DCAT.Dataset)
        yield (ds, DCTERMS.identifier, Literal(code))
        yield (ds, DCTERMS.title, Literal(view["name"], lang="zh"))
        yield (ds, DCTERMS.description, Literal(view["abstract"], lang="zh"))
        yield (ds, DCAT.landingPage, URIRef(f"{base}{view['landing_page']}") if view.get("landing_page") else ds)
        for kw in view.get("keywords") or []:
            yield (ds, DCAT.keyword, Literal(kw, lang="zh"))

        publisher = URIRef(f"{base}/orgs/{view.get('org_uscc') or view.get('org_id')}")
        yield (ds, DCTERMS.publisher, publisher)
        yield (publisher, RDF.type, FOAF.Organization)
        yield (publisher, FOAF.name, Literal(view.get("org_name") or "", lang="zh"))
        if view.get("org_uscc"):
            yield (publisher, DCTERMS.identifier, Literal(view["org_uscc"]))

        theme = URIRef(f"{base}/catalog/categories/{view['category_code']}")
        yield (ds, DCAT.theme, theme)
        yield (theme, RDF.type, SKOS.Concept)
        yield (theme, SKOS.notation, Literal(view["category_code"]))
        yield (theme, SKOS.prefLabel, Literal("/".join(view.get("category_path") or []), lang="zh"))
        yield (theme, SKOS.inScheme, scheme)

        if view.get("update_cycle") in FREQUENCY:
            yield (ds, DCTERMS.accrualPeriodicity, FREQUENCY[view["update_cycle"]])
        yield (ds, DCTERMS.accessRights, ACCESS_RIGHTS[view["open_type"]])
        if view.get("open_condition"):
            yield (ds, DCTERMS.rights, Literal(view["open_condition"], lang="zh"))
        if view.get("publish_date"):
            yield (ds, DCTERMS.issued, Literal(view["publish_date"], datatype=XSD.date))
        yield (ds, DCTERMS.language, LANG_ZH)

        yield from _portal_extras(ds, view, base)
        if "distributions" in view:  # the open portal's downloads (open/dcat_routes.py)
            for d in view["distributions"]:
                dist = BNode()
                yield (ds, DCAT.distribution, dist)
                yield (dist, RDF.type, DCAT.Distribution)
                yield (dist, DCTERMS.title, Literal(f"{view['name']}（{d['label']}）", lang="zh"))
                yield (dist, DCAT.accessURL, URIRef(f"{base}{view.get('landing_page', '')}"))
                yield (dist, DCAT.downloadURL, URIRef(f"{base}{d['path']}"))
                yield (dist, DCAT.mediaType, URIRef(f"https://www.iana.org/assignments/media-types/{d['media_type']}"))
                yield (dist, DCTERMS.format, EU_FILE_TYPE[d["format"].upper()])
                if view.get("license"):
                    yield (dist, DCTERMS.license, URIRef(f"{base}{view['license']}"))
            continue
        for fmt in formats_of(view):
            dist = BNode()
            yield (ds, DCAT.distribution, dist)
            yield (dist, RDF.type, DCAT.Distribution)
            yield (dist, DCTERMS.title, Literal(f"{view['name']}（{fmt}）", lang="zh"))
            yield (dist, DCAT.accessURL, ds)
            if fmt in MEDIA_TYPES:
                yield (dist, DCTERMS.format, EU_FILE_TYPE[fmt.upper()])
                yield (dist, DCAT.mediaType, URIRef(f"https://www.iana.org/assignments/media-types/{MEDIA_TYPES[fmt]}"))
            else:
                yield (dist, DCTERMS.format, Literal(fmt))


def _portal_extras(ds: URIRef, view: dict[str, Any], base: str) -> Iterator[tuple[Any, Any, Any]]:
    """What the open portal adds to a view: its 领域 themes, licence and temporal coverage."""
    if view.get("domains"):
        scheme = URIRef(f"{base}/open/themes")
        yield (scheme, RDF.type, SKOS.ConceptScheme)
        yield (scheme, DCTERMS.title, Literal("开放数据领域", lang="zh"))
        for slug, label in view["domains"]:
            theme = URIRef(f"{base}/open/themes/{slug}")
            yield (ds, DCAT.theme, theme)
            yield (theme, RDF.type, SKOS.Concept)
            yield (theme, SKOS.prefLabel, Literal(label, lang="zh"))
            yield (theme, SKOS.inScheme, scheme)
    if view.get("license"):
        yield (ds, DCTERMS.license, URIRef(f"{base}{view['license']}"))
    start, end = view.get("temporal") or (None, None)
    if start or end:
        period = BNode()
        yield (ds, DCTERMS.temporal, period)
        yield (period, RDF.type, DCTERMS.PeriodOfTime)
        if start:
            yield (period, DCAT.startDate, Literal(start, datatype=XSD.date))
        if end:
            yield (period, DCAT.endDate, Literal(end, datatype=XSD.date))
    if view.get("modified"):
        yield (ds, DCTERMS.modified, Literal(view["modified"], datatype=XSD.dateTime))


JSONLD_CONTEXT = {
    "dcat": str(DCAT), "dct": str(DCTERMS), "foaf": str(FOAF), "skos": str(SKOS), "xsd": str(XSD),
}


def serialize(session: Session, rdf_format: str, *, org_id: int | None = None,
              base_url: str | None = None) -> bytes:
    """`turtle` or `json-ld` bytes of the open catalogue."""
    graph = build_graph(open_views(session, org_id), base_url)
    if rdf_format == "json-ld":
        return graph.serialize(format="json-ld", context=JSONLD_CONTEXT, indent=2).encode("utf-8")
    return graph.serialize(format="turtle").encode("utf-8")


__all__ = ["FREQUENCY", "build_graph", "formats_of", "open_views", "serialize", "triples"]
