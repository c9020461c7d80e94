"""The console's person and company pages (issue 21 item 4): /console/libraries lists the base and
theme libraries the user may see with their org's usable grants; /console/libraries/{id}/record
is the 一人一档 / 一企一档 look-up for authorised staff.

The look-up is `library.views.record`, the service behind the API and the CLI, so the page has
the same permission checks, masking, access log and rate limit; the page only renders the answer
or the refusal (its status and reason, a bad key beside the field). The key is POSTed with the
CSRF token, never put in a URL (no access log, no browser history) and never echoed back into
the page; console responses carry `Cache-Control: no-store` (web/headers.py)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from starlette.datastructures import FormData

from ..access import Actor, require
from ..classify.masking import OPERATORS
from ..db import get_database
from ..enums import Role
from ..errors import DomainError, ErrorBag, ValidationFailed
from ..i18n import N_
from ..library import cobuild, keys, views
from ..library import definition as D
from ..params import Id, parse_int
from . import auth
from .auth import console_user, csrf_checked, form_data
from .render import WebContext, field_errors, render

router = APIRouter(route_class=auth.WebRoute, include_in_schema=False)

KEY_MAX = 64  # an 18-character key with spaces and full-width forms fits; longer is not a key
KINDS = {keys.PERSON: N_("一人一档"), keys.ORG: N_("一企一档")}


def _allowed(actor: Actor) -> None:
    """Government users only (the same rule as the console's link); the service decides the rest."""
    require(actor.is_government, "查询资源库档案")


def _grant_view(grant: Any) -> dict[str, Any]:
    return {"id": grant.id, "items": list(grant.items), "valid_to": grant.valid_to,
            "rate_limit_per_minute": grant.rate_limit_per_minute}


@router.get("/console/libraries")
def libraries_page(request: Request, ctx: WebContext = Depends(console_user)) -> Response:
    _allowed(ctx.actor)
    with get_database().read() as s:
        rows = D.list_libraries(s, ctx.actor)
        for row in rows:
            row["grants"] = [_grant_view(g) for g in views.usable_grants(s, ctx.actor, row["id"])]
    may_request = bool(ctx.actor.org_ids(Role.CONSUMER, Role.STEWARD))
    return render(request, "library/list.html", rows=rows, may_request=may_request)


def _library(s: Any, actor: Actor, library_id: int) -> dict[str, Any]:
    r = D.get_library(s, actor, library_id)  # 404 for a library the user may not see
    row = D.definition_at(s, r.id, r.published_version or r.version)
    kind = (row.definition or {}).get("kind") if row else None
    key_item = next((i.name for i in r.items if i.is_key), "")
    return {"id": r.id, "code": r.code, "name": r.name, "grade": D.library_grade(r), "kind": kind,
            "kind_label": KINDS.get(kind or "", "档案"), "key_item": key_item,
            "published": r.published_version is not None, "library": r.library, **cobuild.links(s, r)}


def _page(request: Request, ctx: WebContext, library_id: int, *, status_code: int = 200,
          chosen: int | None = None, result: dict[str, Any] | None = None,
          refusal: DomainError | None = None, errors: dict[str, list[str]] | None = None) -> Response:
    with get_database().read() as s:
        lib = _library(s, ctx.actor, library_id)
        grants = [_grant_view(g) for g in views.usable_grants(s, ctx.actor, library_id)]
    record = _record_rows(ctx, result) if result is not None else None
    response = render(request, "library/record.html", status_code=status_code, lib=lib, grants=grants,
                      chosen=chosen, record=record, errors=errors or {},
                      refusal=refusal.message_in(ctx.lang) if refusal else None,
                      refusal_code=refusal.code if refusal else None)
    if refusal is not None:
        for name, value in (getattr(refusal, "headers", None) or {}).items():
            response.headers[name] = value  # 429: Retry-After, as the API sends it
    return response


def _record_rows(ctx: WebContext, result: dict[str, Any]) -> dict[str, Any]:
    """One row per returned item: its value as returned (masked), the masking and the provenance."""
    rows = []
    for name, value in result["values"].items():
        op = result["masking"].get(name) or "none"
        doc = OPERATORS[op].doc if op in OPERATORS else op
        rows.append({"item": name, "value": value, "masking": op, "masking_label": ctx.t(doc),
                     "provenance": result["provenance"].get(name)})
    return {"rows": rows, "withheld": result["withheld"], "grant_id": result["grant_id"]}


@router.get("/console/libraries/{library_id:id}/record")
def record_page(request: Request, library_id: Id, ctx: WebContext = Depends(console_user)) -> Response:
    _allowed(ctx.actor)
    return _page(request, ctx, library_id)


@router.post("/console/libraries/{library_id:id}/record")
def record_lookup(request: Request, library_id: Id, ctx: WebContext = Depends(csrf_checked),
                  form: FormData = Depends(form_data)) -> Response:
    _allowed(ctx.actor)
    grant_id = parse_int(str(form.get("grant_id") or ""), 1, 2**31 - 1)
    key = str(form.get("key") or "")
    bag = ErrorBag()
    if grant_id is None:
        bag.add("grant_id", "grant_missing", "请选择一项授权")
    if len(key) > KEY_MAX:
        bag.add("key", "key_format", keys.REJECTS["key_format"])
    try:
        bag.raise_if_any("record_invalid")
        assert grant_id is not None
        result = views.record(get_database(), ctx.actor, library_id, grant_id, key)
    except DomainError as exc:
        if exc.status >= 500:
            raise
        errors = field_errors(exc.errors, ctx.lang) if isinstance(exc, ValidationFailed) else {}
        return _page(request, ctx, library_id, status_code=exc.status, chosen=grant_id, refusal=exc,
                     errors=errors)
    return _page(request, ctx, library_id, chosen=grant_id, result=result)
