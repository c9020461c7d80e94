"""HTTP adapters over grants, the row service, deliveries, verification and usage.

The two data calls (rows, verify) are the hot path (issue 5): they run on the event loop when
everything they need is in memory (no thread hand-off), reach the database once per call (the
ledger head, which any revocation, publication or role change moves; see service_rows.data_epoch) and answer with JSON
bytes written directly. A bearer token's actor is cached until the ledger head moves or the
token expires, so a revoked token or grant is refused on the very next call.
"""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from ..access import Actor
from ..apidocs import PARQUET, file_responses
from ..db import Database, get_database, utcnow
from ..deps import read_session, request_lang, require_user
from ..orgs.model import ApiToken
from ..params import Cursor, Id, Int, Key, Text
from . import grants as G
from . import service_rows, verify

router = APIRouter(prefix="/api/v1", tags=["share grants"])


class GrantIn(BaseModel):
    request_id: Id | None = None
    consumer_org_id: Id
    resource_id: Id
    items: list[Key]
    mode: Text = Field(description="接口 | 文件 | 核验")
    row_scope: dict[str, Any] | None = Field(None, description='e.g. {"region_code": "990101"} for 回流')
    valid_from: date
    valid_to: date
    rate_limit_per_minute: Int = 600


class RevokeIn(BaseModel):
    reason: Text


class DeliveryIn(BaseModel):
    format: Text = Field("csv", description="csv | parquet")


class VerifyIn(BaseModel):
    key: dict[str, Any]
    claims: dict[str, Any]


# The answers of the two data calls, for the OpenAPI document only: the routes write their JSON
# bytes themselves (service_rows.rows / rows_json, verify.verify), no model touches them.
class RowsOut(BaseModel):
    grant_id: Id
    items: list[str] = Field(description="The columns of every row, as they leave")
    denied: list[str] = Field(description="Granted items the masking policy withholds")
    masking: dict[str, str] = Field(description="Item → the masking operator applied")
    rows: list[dict[str, Any]]
    next: str | None = Field(description="The `after` cursor of the next page; null on the last one")


class VerifyOut(BaseModel):
    grant_id: Id
    match: dict[str, bool] = Field(description="Claimed item → whether a keyed record holds that value")


@router.post("/grants", status_code=201)
def issue(body: GrantIn, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        return G.grant_dict(G.issue_grant(s, actor, **body.model_dump()))


@router.get("/grants")
def list_grants(org_id: Id | None = None, resource_id: Id | None = None, actor: Actor = Depends(require_user),
                s: Session = Depends(read_session)) -> list[dict[str, Any]]:
    return [G.grant_dict(g) for g in G.grants_for(s, actor, org_id=org_id, resource_id=resource_id)]


@router.get("/grants/{grant_id}")
def show(grant_id: Id, actor: Actor = Depends(require_user), s: Session = Depends(read_session)) -> dict[str, Any]:
    grant = G.get_grant(s, actor, grant_id)
    return G.grant_dict(grant) | service_rows.servable(s, grant)


@router.post("/grants/{grant_id}/revoke")
def revoke(grant_id: Id, body: RevokeIn, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        return G.grant_dict(G.revoke_grant(s, actor, grant_id, body.reason))


# --- the hot path -------------------------------------------------------------------------------

_actors: dict[tuple[bytes, str], tuple[tuple[int, str], Actor, datetime | None]] = {}
_actors_lock = threading.Lock()
ACTOR_CACHE_MAX = 10_000


def data_actor(request: Request, db: Database, head: tuple[int, str]) -> Actor:
    """The caller of a data call. A bearer token's actor is reused while the ledger head is the
    one it was resolved under and the token has not expired; anything else (session cookies,
    a moved head, a first call) goes through deps.require_user."""
    auth = request.headers.get("authorization", "")
    if not auth.lower().startswith("bearer "):
        return require_user(request)
    raw = auth[7:].strip()
    key = (hashlib.sha256(raw.encode()).digest(), request_lang(request))
    hit = _actors.get(key)
    if hit is not None and hit[0] == head and (hit[2] is None or hit[2] > utcnow()):
        return hit[1]
    actor = require_user(request)
    parts = raw.split("_", 2)
    with db.engine.connect() as conn:
        expires = conn.execute(select(ApiToken.expires_at).where(ApiToken.prefix == parts[1])).scalar()
    if expires is not None and expires.tzinfo is None:  # SQLite returns naive UTC
        expires = expires.replace(tzinfo=utcnow().tzinfo)
    with _actors_lock:
        if len(_actors) >= ACTOR_CACHE_MAX:
            _actors.clear()
        _actors[key] = (head, actor, expires)
    return actor


def _default(v: Any) -> Any:
    if isinstance(v, datetime | date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return str(v)
    raise TypeError(type(v).__name__)


def json_response(body: dict[str, Any]) -> Response:
    return Response(json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=_default).encode(),
                    media_type="application/json")


async def rows_response(request: Request, grant_id: Id, limit: int, after: str | None) -> Response:
    """A row call (shared by the route and share.fastpath)."""
    db = get_database()
    filters = {k[len("filter."):]: v for k, v in request.query_params.items() if k.startswith("filter.")}
    head = service_rows.data_epoch(db)
    actor = data_actor(request, db, head)
    if service_rows.warm(db, grant_id, head):  # all in memory: microseconds, stay on the loop
        raw = service_rows.rows_json(db, actor, grant_id, filters, limit=limit, after=after, head=head)
        if raw is not None:
            return Response(raw, media_type="application/json")
        body = service_rows.rows(db, actor, grant_id, filters, limit=limit, after=after, head=head)
    else:  # queries or a snapshot build: off the loop
        body = await run_in_threadpool(service_rows.rows, db, actor, grant_id, filters, limit=limit, after=after,
                                       head=head)
    return json_response(body)


async def verify_response(request: Request, grant_id: Id, key: dict[str, Any], claims: dict[str, Any]) -> Response:
    """A verification call (shared by the route and share.fastpath)."""
    db = get_database()
    head = service_rows.data_epoch(db)
    actor = data_actor(request, db, head)
    if verify.warm(db, grant_id, head):
        out = verify.verify(db, actor, grant_id, key, claims, head=head)
    else:
        out = await run_in_threadpool(verify.verify, db, actor, grant_id, key, claims, head=head)
    return json_response(out)


@router.get("/grants/{grant_id}/rows", responses={200: {"model": RowsOut}})
async def rows(grant_id: Id, request: Request, limit: Int = service_rows.DEFAULT_LIMIT,
               after: Cursor | None = None) -> Response:
    """Rows of a 接口 grant: `filter.<item>=value` (granted clear items), keyset `after`."""
    return await rows_response(request, grant_id, limit, after)


@router.post("/grants/{grant_id}/deliveries", status_code=202)
def deliver(grant_id: Id, body: DeliveryIn, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    return service_rows.delivery_dict(service_rows.request_delivery(get_database(), actor, grant_id, body.format))


@router.get("/deliveries/{delivery_id}")
def delivery(delivery_id: Id, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    return service_rows.get_delivery(get_database(), actor, delivery_id)


@router.get("/deliveries/{delivery_id}/download", response_class=Response,
            responses=file_responses("text/csv", PARQUET))
def download(delivery_id: Id, actor: Actor = Depends(require_user)) -> Response:
    data, name = service_rows.download(get_database(), actor, delivery_id)
    kind = "text/csv; charset=utf-8" if name.endswith(".csv") else "application/vnd.apache.parquet"
    return Response(data, media_type=kind, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/grants/{grant_id}/verify", responses={200: {"model": VerifyOut}})
async def check(grant_id: Id, body: VerifyIn, request: Request) -> Response:
    return await verify_response(request, grant_id, body.key, body.claims)


@router.get("/share-usage")
def usage(grant_id: Id | None = None, resource_id: Id | None = None, org_id: Id | None = None,
          actor: Actor = Depends(require_user)) -> dict[str, Any]:
    db = get_database()
    G.USAGE.flush(db)  # seal the stored calls into their ledger summaries first
    with db.read() as s:
        return G.usage_stats(s, actor, grant_id=grant_id, resource_id=resource_id, org_id=org_id)
