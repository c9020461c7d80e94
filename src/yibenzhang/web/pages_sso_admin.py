"""The security administrator's page of SSO identities (issue 18): `/console/security/sso` lists
the identities linked to platform users (provider, user, last sign-in, state; never the
provider's subject, which is kept only as a digest), links a provider's subject to a user, and
disables, enables or unlinks one. Thin adapters over sso.service, which decides who may."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from starlette.datastructures import FormData

from ..db import get_database
from ..errors import DomainError
from ..i18n import N_
from ..params import Id
from ..sso import service as sso
from ..sso.config import providers
from . import auth
from .auth import console_user, csrf_checked, form_data
from .render import WebContext, field_errors, redirect, render

router = APIRouter(route_class=auth.WebRoute, include_in_schema=False)
PATH = "/console/security/sso"
DONE = {"link": N_("已关联统一身份认证账号"), "unlink": N_("已解除关联，该用户的会话已结束"),
        "disable": N_("已停用该统一身份认证账号，该用户的会话已结束"), "enable": N_("已恢复该统一身份认证账号")}


def _page(request: Request, ctx: WebContext, *, status: int = 200, errors: dict[str, list[str]] | None = None,
          error: str | None = None, values: dict[str, str] | None = None) -> Response:
    username = (request.query_params.get("username") or "").strip()[:64] or None
    with get_database().read() as s:
        try:
            identities = sso.list_identities(s, ctx.actor, username)
        except DomainError as exc:
            if exc.code == "user_not_found" or exc.status == 404:
                identities, error = [], error or exc.message_in(ctx.lang)
            else:
                raise
    done = request.query_params.get("done")
    return render(request, "sso_identities.html", status_code=status, identities=identities, username=username or "",
                  providers=[(p.name, p.label) for p in providers()], errors=errors or {}, error=error,
                  values=values or {}, done=ctx.t(DONE[done]) if done in DONE else None)


@router.get(PATH)
def identities_page(request: Request, ctx: WebContext = Depends(console_user)) -> Response:
    return _page(request, ctx)


@router.post(PATH)
def link(request: Request, ctx: WebContext = Depends(csrf_checked), form: FormData = Depends(form_data)) -> Response:
    values = {k: str(form.get(k) or "").strip()[:255] for k in ("provider", "subject", "username")}
    try:
        with get_database().write() as s:
            sso.link(s, ctx.actor, provider_name=values["provider"][:64], subject=values["subject"],
                     username=values["username"][:64])
    except DomainError as exc:
        if exc.status == 403:
            raise
        values["subject"] = ""  # the subject may be an ID number: never echoed back
        return _page(request, ctx, status=exc.status, errors=field_errors(exc.errors, ctx.lang),
                     error=exc.message_in(ctx.lang), values=values)
    return redirect("/console/security/sso?done=link")  # PATH, spelled out for the messages test


@router.post(PATH + "/{identity_id}/{action}")
def act(request: Request, identity_id: Id, action: str, ctx: WebContext = Depends(csrf_checked)) -> Response:
    if action not in ("unlink", "disable", "enable"):
        return _page(request, ctx, status=404, error=ctx.t("未找到：{what}", what=action))
    with get_database().write() as s:
        if action == "unlink":
            sso.unlink(s, ctx.actor, identity_id)
        else:
            sso.set_disabled(s, ctx.actor, identity_id, action == "disable")
    return redirect(f"{PATH}?done={action}")
