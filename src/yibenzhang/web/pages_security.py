"""The signed-in user's own security page (issue 23): turn on the second factor, change the
password. Thin adapters over orgs.mfa and orgs.security; sign-in and sign-out are in auth.py."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from ..db import get_database
from ..deps import SESSION_COOKIE
from ..errors import Unauthenticated, ValidationFailed
from ..orgs import mfa, security
from ..orgs.model import User
from .auth import WebRoute, console_user, csrf_checked, form_data
from .render import WebContext, redirect, render

router = APIRouter(route_class=WebRoute, include_in_schema=False)


def _state(ctx: WebContext) -> dict[str, object]:
    with get_database().read() as s:
        uid = ctx.actor.user_id or 0
        user = s.get(User, uid)
        return {"enrolled": mfa.enrolled(s, uid), "required": bool(user and mfa.required_for(user)),
                "pending": mfa.pending_secret(s, uid) is not None}


@router.get("/account/security")
def security_page(request: Request, ctx: WebContext = Depends(console_user)) -> Response:
    return render(request, "account_security.html", **_state(ctx), secret=None, uri=None, codes=None,
                  errors={}, failed=False)


@router.post("/account/security/2fa")
def enrol(request: Request, ctx: WebContext = Depends(csrf_checked),
          form: FormData = Depends(form_data)) -> Response:
    """First post: a new secret to add to the app; second post (with `code`): confirm it."""
    db = get_database()
    uid = ctx.actor.user_id or 0
    code = str(form.get("code") or "").strip()
    if code:
        try:
            with db.write() as s:
                codes = mfa.confirm_enrolment(s, ctx.actor, uid, code)
        except Unauthenticated:
            with db.read() as s:
                secret = mfa.pending_secret(s, uid)
            return render(request, "account_security.html", status_code=401, **_state(ctx), secret=secret,
                          uri=mfa.provisioning_uri(secret, ctx.actor.username) if secret else None, codes=None,
                          errors={}, failed=True)
        return render(request, "account_security.html", **_state(ctx), secret=None, uri=None, codes=codes,
                      errors={}, failed=False)
    with db.write() as s:
        secret = mfa.pending_secret(s, uid) or mfa.begin_enrolment(s, uid)
    return render(request, "account_security.html", **_state(ctx), secret=secret,
                  uri=mfa.provisioning_uri(secret, ctx.actor.username), codes=None, errors={}, failed=False)


@router.post("/account/security/password")
def change_password(request: Request, ctx: WebContext = Depends(csrf_checked),
                    form: FormData = Depends(form_data)) -> Response:
    """A changed password ends every session, this one too: sign in again."""
    try:
        with get_database().write() as s:
            security.change_password(s, ctx.actor, current=str(form.get("current") or ""),
                                     new=str(form.get("new") or ""))
    except (Unauthenticated, ValidationFailed) as exc:
        errors = [ctx.t(e.message, **e.params) for e in getattr(exc, "errors", [])] or [exc.message_in(ctx.lang)]
        return render(request, "account_security.html", status_code=422, **_state(ctx), secret=None, uri=None,
                      codes=None, errors={"password": errors}, failed=False)
    response = redirect("/login")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
