"""DCAT of the open catalogue at /open/catalog.ttl and /open/catalog.jsonld: one dcat:Dataset per
open dataset of the portal (the same set and fields as /datasets and the CKAN API), its
downloads as dcat:Distribution (downloadURL, mediaType), publisher, 分类 and 领域 themes,
keywords, licence, temporal coverage (first to latest published batch) and update frequency.
The documents are built once per catalogue state (they are large at province scale)."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from rdflib import BNode, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, RDF, SKOS, XSD
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from ..apidocs import file_responses
from ..catalog import dcat
from ..catalog.model import Resource, ResourceVersion
from ..db import get_database
from ..zone.model import Batch, BatchStatus
from . import portal_query as pq
from .ckan import DOWNLOAD_FORMATS, FORMAT_LABELS
from .portal_query import DOMAIN_LABELS, Dataset

router = APIRouter(tags=["DCAT (open data)"])

LICENCE_PATHS = {"无条件开放": "/licence#unconditional", "有条件开放": "/licence#conditional"}
MEDIA = {"ttl": ("turtle", "text/turtle; charset=utf-8"), "jsonld": ("json-ld", "application/ld+json")}
# What `jsonld` writes: the prefixes, and one node object per subject, every value in a list.
DCAT_JSONLD: dict[str, Any] = {
    "type": "object", "required": ["@context", "@graph"],
    "properties": {
        "@context": {"type": "object", "additionalProperties": {"type": "string"}},
        "@graph": {"type": "array", "items": {
            "type": "object", "required": ["@id"],
            "properties": {"@id": {"type": "string"}, "@type": {"type": "array", "items": {"type": "string"}}},
            "additionalProperties": {"type": "array", "items": {"type": "object"}}}},
    },
}


def portal_views(session: Session, datasets: list[Dataset]) -> list[dict[str, Any]]:
    """The published snapshot of each dataset with what the portal adds (downloads, themes,
    licence, temporal coverage), read in a few queries per thousand datasets."""
    out: list[dict[str, Any]] = []
    for start in range(0, len(datasets), 1000):
        chunk = datasets[start:start + 1000]
        ids = [d.id for d in chunk]
        snaps = dict(session.execute(
            select(ResourceVersion.resource_id, ResourceVersion.snapshot)
            .join(Resource, and_(Resource.id == ResourceVersion.resource_id,
                                 Resource.published_version == ResourceVersion.version))
            .where(ResourceVersion.resource_id.in_(ids))).all())
        spans = {rid: (lo, hi) for rid, lo, hi in session.execute(
            select(Batch.resource_id, func.min(Batch.published_at), func.max(Batch.published_at))
            .where(Batch.resource_id.in_(ids), Batch.status == BatchStatus.PUBLISHED.value)
            .group_by(Batch.resource_id))}
        for d in chunk:
            snap = snaps.get(d.id)
            if snap is None:
                continue
            view = dict(snap)
            lo, hi = spans.get(d.id, (None, None))
            start_day = view.get("publish_date") or (lo.date().isoformat() if lo else None)
            view.update({
                "landing_page": f"/datasets/{d.id}", "domains": [(s, DOMAIN_LABELS[s]) for s in d.domains],
                "license": LICENCE_PATHS[d.open_type],
                "temporal": (start_day, hi.date().isoformat() if hi else None),
                "modified": d.sort_time.isoformat() if d.sort_time else None,
                "distributions": [{"format": fmt, "label": FORMAT_LABELS[fmt], "media_type": mime,
                                   "path": f"/open/datasets/{d.id}/download.{fmt}"}
                                  for fmt, mime in DOWNLOAD_FORMATS.items()] if d.has_data else [],
            })
            out.append(view)
    return out


PREFIXES = {"dcat": str(DCAT), "dct": str(DCTERMS), "foaf": str(FOAF), "skos": str(SKOS), "rdf": str(RDF),
            "xsd": str(XSD)}
_LOCAL = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


RDF_TYPE = str(RDF.type)


@lru_cache(maxsize=4096)
def _qname_of(iri: str) -> str | None:
    for prefix, ns in PREFIXES.items():
        if iri.startswith(ns) and _LOCAL.fullmatch(iri[len(ns):]):
            return f"{prefix}:{iri[len(ns):]}"
    return None


def _qname(term: Any) -> str | None:
    """prefix:local for the vocabulary's own terms (few, so remembered); None for others."""
    iri = str(term)
    return _qname_of(iri) if iri.startswith(_VOCAB_START) else None


_VOCAB_START = tuple(PREFIXES.values())


def _statements(views: list[dict[str, Any]], base: str) -> Iterator[tuple[Any, Any, Any]]:
    """catalog.dcat.triples, with the statements about shared nodes (publishers, themes, schemes),
    which repeat for every dataset that names them, given once."""
    own = f"{base}/open/datasets/"
    seen: set[tuple[Any, Any, Any]] = set()
    for triple in dcat.triples(views, base):
        subject = triple[0]
        if isinstance(subject, URIRef) and not str.startswith(subject, own):
            if triple in seen:
                continue
            seen.add(triple)
        yield triple


def turtle(views: list[dict[str, Any]], base: str) -> bytes:
    """Turtle written statement by statement (rdflib's serializer needs minutes and gigabytes at
    province scale), consecutive statements about one subject joined with `;`."""
    out = [f"@prefix {p}: <{ns}> .\n" for p, ns in PREFIXES.items()]
    last = None
    for s, p, o in _statements(views, base):
        obj = (_qname(o) if isinstance(o, URIRef) else None) or o.n3()
        pred = "a" if str(p) == RDF_TYPE else (_qname(p) or p.n3())
        if s == last:
            out.append(f" ;\n    {pred} {obj}")
        else:
            out.append(f"{' .' if last is not None else ''}\n\n{s.n3()} {pred} {obj}")
            last = s
    if last is not None:
        out.append(" .\n")
    return "".join(out).encode("utf-8")


def _jsonld_value(term: Any) -> dict[str, Any]:
    if isinstance(term, BNode):
        return {"@id": f"_:{term}"}
    if isinstance(term, URIRef):
        return {"@id": str(term)}
    value: dict[str, Any] = {"@value": str(term)}
    if term.language:
        value["@language"] = term.language
    elif term.datatype is not None:
        value["@type"] = _qname(term.datatype) or str(term.datatype)
    return value


def jsonld(views: list[dict[str, Any]], base: str) -> bytes:
    """JSON-LD (one node object per subject in @graph) written without building a graph."""
    nodes: dict[str, dict[str, Any]] = {}
    for s, p, o in _statements(views, base):
        key = f"_:{s}" if isinstance(s, BNode) else str(s)
        node = nodes.setdefault(key, {"@id": key})
        if str(p) == RDF_TYPE:
            node.setdefault("@type", []).append(_qname(o) or str(o))
        else:
            node.setdefault(_qname(p) or str(p), []).append(_jsonld_value(o))
    doc = {"@context": dcat.JSONLD_CONTEXT, "@graph": list(nodes.values())}
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


_building = threading.Lock()  # one document built at a time: concurrent harvesters wait for it


def document(session: Session, kind: str, base: str) -> bytes:
    idx = pq.open_index(session)
    key = ("dcat", kind, base)
    cached = idx.cache.get(key)
    if cached is None:
        with _building:
            cached = idx.cache.get(key)
            if cached is None:
                views = portal_views(session, idx.datasets)
                cached = jsonld(views, base) if kind == "jsonld" else turtle(views, base)
                idx.cache[key] = cached
    return cached


async def _serve(request: Request, kind: str) -> Response:
    base = str(request.base_url).rstrip("/")

    def work() -> bytes:
        with get_database().read() as s:
            return document(s, kind, base)

    return Response(await run_in_threadpool(work), media_type=MEDIA[kind][1])


@router.get("/open/catalog.ttl", summary="DCAT of the open catalogue (Turtle)", response_class=Response,
            responses=file_responses("text/turtle", description="The DCAT catalogue"))
async def catalog_ttl(request: Request) -> Response:
    return await _serve(request, "ttl")


@router.get("/open/catalog.jsonld", summary="DCAT of the open catalogue (JSON-LD)", response_class=Response,
            responses=file_responses("application/ld+json", schemas={"application/ld+json": DCAT_JSONLD},
                                     description="The DCAT catalogue"))
async def catalog_jsonld(request: Request) -> Response:
    return await _serve(request, "jsonld")
