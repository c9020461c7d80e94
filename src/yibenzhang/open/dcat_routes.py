"""DCAT of the open catalogue at /open/catalog.ttl and /open/catalog.jsonld: one dcat:Dataset per
open dataset of the portal (the same set and fields as /datasets and the CKAN API), its
downloads as dcat:Distribution (downloadURL, mediaType), publisher, 分类 and 领域 themes,
keywords, licence, temporal coverage (first to latest published batch) and update frequency.
The documents are built once per catalogue state (they are large at province scale)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

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


def document(session: Session, kind: str, base: str) -> bytes:
    idx = pq.open_index(session)
    key = ("dcat", kind, base)
    cached = idx.cache.get(key)
    if cached is None:
        graph = dcat.build_graph(portal_views(session, idx.datasets), base)
        rdf_format = MEDIA[kind][0]
        if rdf_format == "json-ld":
            cached = graph.serialize(format="json-ld", context=dcat.JSONLD_CONTEXT, indent=2).encode("utf-8")
        else:
            cached = graph.serialize(format="turtle").encode("utf-8")
        idx.cache[key] = cached
    return cached


async def _serve(request: Request, kind: str) -> Response:
    base = str(request.base_url).rstrip("/")

    def work() -> bytes:
        with get_database().read() as s:
            return document(s, kind, base)

    return Response(await run_in_threadpool(work), media_type=MEDIA[kind][1])


@router.get("/open/catalog.ttl", summary="DCAT of the open catalogue (Turtle)")
async def catalog_ttl(request: Request) -> Response:
    return await _serve(request, "ttl")


@router.get("/open/catalog.jsonld", summary="DCAT of the open catalogue (JSON-LD)")
async def catalog_jsonld(request: Request) -> Response:
    return await _serve(request, "jsonld")
