"""Sign-in through the province's 统一身份认证: `/auth/oidc/{provider}/login` (OpenID Connect) or
`/auth/cas/{provider}/login` (CAS 3.0) sends the browser to the provider, `…/callback` takes it
back, checks everything and opens a session — or shows a refusal page that says whom to ask. The
providers are offered on the login page by name (their `_LABEL`)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from ..db import get_database
from ..deps import SESSION_COOKIE
from ..errors import NotFound
from ..orgs import sessions
from ..sso import cas, oidc
from ..sso import service as sso
from ..sso.config import provider as find_provider
from ..sso.config import providers
from .auth import MFA_COOKIE, PROVIDER_COOKIE, PROVIDER_PATH, WebRoute, safe_next
from .render import LOGIN_CSRF_COOKIE, env, is_https, redirect, render, web_context

router = APIRouter(route_class=WebRoute, include_in_schema=False)
STATE_COOKIE = "ybz_sso_state"
STATE_PATH = "/auth/"


def _login_buttons() -> list[tuple[str, str, str]]:
    return [(p.name, p.label, p.login_path) for p in providers()]


env.globals["sso_providers"] = _login_buttons  # login.html lists them under the password form


def _redirect_uri(request: Request, name: str, protocol: str = "oidc") -> str:
    """The callback as the provider must see it (behind the TLS proxy, uvicorn's --proxy-headers
    makes the request's scheme and host the public ones)."""
    return f"{str(request.base_url).rstrip('/')}/auth/{protocol}/{name}/callback"


def _provider(name: str, protocol: str = "oidc"):
    p = find_provider(name, protocol)
    if p is None:
        raise NotFound(f"统一身份认证平台 {name}", "sso_provider_not_found")
    return p


def _refused(request: Request, name: str, exc: oidc.SsoRefused) -> Response:
    response = render(request, "sso_refused.html", status_code=exc.status, code=exc.code,
                      message=exc.message_in(web_context(request).lang), contact=exc.contact)
    response.delete_cookie(STATE_COOKIE, path=STATE_PATH)
    return response


@router.get("/auth/oidc/{name}/login")
def sso_login(request: Request, name: str, next: str | None = None) -> Response:
    p = _provider(name)
    db = get_database()
    try:
        url, state = oidc.begin(db, p, _redirect_uri(request, p.name), safe_next(next))
    except oidc.SsoRefused as exc:
        sso.record_refusal(db, p.name, exc)
        return _refused(request, p.name, exc)
    return _state_cookie(request, redirect(url), state)


@router.get("/auth/oidc/{name}/callback")
def sso_callback(request: Request, name: str, state: str | None = None, code: str | None = None,
                 error: str | None = None) -> Response:
    p = _provider(name)
    db = get_database()
    subject = None
    try:
        login = oidc.take_login(db, p, state, request.cookies.get(STATE_COOKIE))
        claims = oidc.finish(db, p, _redirect_uri(request, p.name), login, code=code, error=error)
        subject = str(claims["sub"])
        user_id = sso.sign_in(db, p, claims)
        raw = sso.open_session(db, p, user_id)
    except oidc.SsoRefused as exc:
        sso.record_refusal(db, p.name, exc, subject)
        return _refused(request, p.name, exc)
    response = _signed_in(request, login.next_url, raw)
    response.set_cookie(PROVIDER_COOKIE, p.name, max_age=int(sessions.lifetime().total_seconds()), httponly=True,
                        samesite="lax", secure=is_https(request), path=PROVIDER_PATH)
    return response


@router.get("/auth/oidc/{name}/logout")
def sso_logout(request: Request, name: str) -> Response:
    """RP-initiated logout: a page that moves on to the provider's end-session endpoint (or, when it
    offers none, back home)."""
    p = _provider(name)
    url = oidc.logout_url(p, f"{str(request.base_url).rstrip('/')}/")
    response = render(request, "sso_logout.html", provider_url=url, label=p.label)
    if url:
        response.headers["Refresh"] = f"0;url={url}"  # move on at once; the link is there without it
    return response


def _signed_in(request: Request, next_url: str, raw: str) -> Response:
    response = redirect(next_url)
    response.set_cookie(SESSION_COOKIE, raw, max_age=int(sessions.lifetime().total_seconds()), httponly=True,
                        samesite="lax", secure=is_https(request), path="/")
    response.delete_cookie(STATE_COOKIE, path=STATE_PATH)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    response.delete_cookie(MFA_COOKIE, path="/login")
    return response


def _state_cookie(request: Request, response: Response, state: str) -> Response:
    response.set_cookie(STATE_COOKIE, state, max_age=oidc.LOGIN_MINUTES * 60, httponly=True, samesite="lax",
                        secure=is_https(request), path=STATE_PATH)
    return response


@router.get("/auth/cas/{name}/login")
def cas_login(request: Request, name: str, next: str | None = None) -> Response:
    p = _provider(name, "cas")
    url, state = cas.begin(get_database(), p, _redirect_uri(request, p.name, "cas"), safe_next(next))
    return _state_cookie(request, redirect(url), state)


@router.get("/auth/cas/{name}/callback")
def cas_callback(request: Request, name: str, state: str | None = None, ticket: str | None = None) -> Response:
    p = _provider(name, "cas")
    db = get_database()
    subject = None
    try:
        login = oidc.take_login(db, p, state, request.cookies.get(STATE_COOKIE))
        claims = cas.validate(p, _redirect_uri(request, p.name, "cas"), state or "", ticket)
        subject = str(claims["sub"])
        user_id = sso.sign_in(db, p, claims)
        raw = sso.open_session(db, p, user_id)
    except oidc.SsoRefused as exc:
        sso.record_refusal(db, p.name, exc, subject)
        return _refused(request, p.name, exc)
    cas.remember(db, p, ticket or "", raw, user_id)  # for the server's single logout
    return _signed_in(request, login.next_url, raw)


@router.post("/auth/cas/{name}/callback")
async def cas_single_logout(request: Request, name: str) -> Response:
    """The CAS server's single logout: a back-channel POST (no browser, no session, no CSRF token)
    whose `logoutRequest` names the service ticket; the session it opened ends. Always 200 with
    an empty body, so the answer tells a caller nothing about tickets."""
    p = _provider(name, "cas")
    if int(request.headers.get("content-length") or 0) <= cas.LOGOUT_REQUEST_MAX * 2:
        form = await request.form()
        body = form.get("logoutRequest")
        if isinstance(body, str):
            await run_in_threadpool(cas.single_logout, get_database(), p, body)
    return Response(status_code=200)
