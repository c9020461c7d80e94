"""Sign-in, sign-out and CSRF protection of the web pages.

A signed-in browser holds `ybz_session` (HttpOnly, SameSite=Lax); every POST carries the
session's CSRF token as the form field `csrf_token` or the `X-CSRF-Token` header (htmx). The
login form has no session yet, so it uses a double-submit cookie instead.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from fastapi import Depends, Request, Response
from fastapi.routing import APIRoute
from starlette.datastructures import FormData

from ..crypto import constant_time_equal
from ..db import get_database
from ..deps import SESSION_COOKIE
from ..errors import DomainError, Unauthenticated
from ..orgs import mfa, security, sessions
from ..orgs import service as orgs
from ..orgs.model import User
from ..sso.config import provider as find_provider
from .render import LOGIN_CSRF_COOKIE, WebContext, error_page, is_https, redirect, render, web_context

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


class CsrfFailed(DomainError):
    status = 403
    title = "表单已过期，请刷新页面后重试"

    def __init__(self) -> None:
        super().__init__("csrf_failed", "表单已过期，请刷新页面后重试")


class LoginRequired(Exception):
    """A console page was asked for without a session: send the browser to /login."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


class WebRoute(APIRoute):
    """Page routes answer errors with HTML pages, not problem+json."""

    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except LoginRequired as exc:
                return redirect(f"/login?next={quote(exc.next_url, safe='/')}")
            except DomainError as exc:
                return error_page(request, exc)

        return handler


def safe_next(raw: str | None) -> str:
    """Only local paths are followed after login (no open redirect)."""
    if raw and raw.startswith("/") and not raw.startswith("//") and "\\" not in raw:
        return raw
    return "/console"


async def form_data(request: Request) -> FormData:
    return await request.form()


def console_user(request: Request) -> WebContext:
    """A signed-in government user, else a redirect to the login page."""
    ctx = web_context(request)
    if not ctx.actor.is_authenticated:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(target)
    return ctx


def csrf_checked(request: Request, form: FormData = Depends(form_data)) -> WebContext:
    """A POST from a signed-in browser whose CSRF token matches its session."""
    ctx = web_context(request)
    if not ctx.actor.is_authenticated:
        raise LoginRequired("/console")  # the session expired: sign in again
    token = str(form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or "")
    with get_database().read() as s:
        if not sessions.csrf_ok(s, request.cookies.get(SESSION_COOKIE), token):
            raise CsrfFailed()
    return ctx


# --- pages --------------------------------------------------------------------------------------


def login_page(request: Request, next: str | None = None) -> Response:
    return render(request, "login.html", next=safe_next(next), username="", failed=False)


MFA_COOKIE = "ybz_mfa"  # issue 23: the signed proof of a passed password, for the second step
# Which OpenID Connect provider signed this browser in (set by pages_sso): read only by /logout, for
# RP-initiated logout.
PROVIDER_COOKIE = "ybz_sso_provider"
PROVIDER_PATH = "/logout"


def _check_login_csrf(request: Request, form: FormData) -> None:
    token = str(form.get(CSRF_FIELD) or "")
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE) or ""
    if not token or not cookie or not constant_time_equal(token, cookie):
        raise CsrfFailed()


def _source(request: Request) -> str:
    """The client's address as the ASGI server saw it (behind the TLS proxy, uvicorn's
    --proxy-headers with --forwarded-allow-ips makes this the real client)."""
    return request.client.host if request.client else "unknown"


def _signed_in(request: Request, user_id: int, next_url: str, factor: str) -> Response:
    raw = security.open_session(get_database(), user_id, factor=factor, via="web")
    response = redirect(next_url)
    response.set_cookie(SESSION_COOKIE, raw, max_age=int(sessions.lifetime().total_seconds()), httponly=True,
                        samesite="lax", secure=is_https(request), path="/")
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    response.delete_cookie(MFA_COOKIE, path="/login")
    return response


def login_submit(request: Request, form: FormData = Depends(form_data)) -> Response:
    _check_login_csrf(request, form)
    username = str(form.get("username") or "").strip()
    password = str(form.get("password") or "")
    next_url = safe_next(str(form.get("next") or ""))
    db = get_database()
    try:
        user_id = security.check_password(db, username, password, source=_source(request), via="web")
    except security.LoginThrottled:
        return render(request, "login.html", status_code=429, next=next_url, username=username, failed=False,
                      throttled=True)
    except Unauthenticated:
        # One message for unknown user, wrong password and locked account: no user enumeration.
        return render(request, "login.html", status_code=401, next=next_url, username=username, failed=True)
    with db.read() as s:
        user = s.get(User, user_id)
        assert user is not None
        needs_second = mfa.enrolled(s, user_id) or mfa.required_for(user)
    if not needs_second:
        return _signed_in(request, user_id, next_url, "password")
    response = redirect(f"/login/2fa?next={quote(next_url, safe='/')}")
    response.set_cookie(MFA_COOKIE, security.pending_token(user_id), max_age=security.PENDING_MINUTES * 60,
                        httponly=True, samesite="lax", secure=is_https(request), path="/login")
    return response


def login_2fa_page(request: Request, next: str | None = None) -> Response:
    """The second step: a code from the authenticator app, or enrolment when the role needs one."""
    user_id = security.pending_user(request.cookies.get(MFA_COOKIE))
    if user_id is None:
        return redirect("/login")
    db = get_database()
    with db.read() as s:
        is_enrolled = mfa.enrolled(s, user_id)
        user = s.get(User, user_id)
        username = user.username if user else ""
    secret = uri = None
    if not is_enrolled:
        with db.write() as s:
            secret = mfa.pending_secret(s, user_id) or mfa.begin_enrolment(s, user_id)
        uri = mfa.provisioning_uri(secret, username)
    return render(request, "login.html", step="2fa", next=safe_next(next), username="", failed=False,
                  enrol_secret=secret, enrol_uri=uri)


def login_2fa_submit(request: Request, form: FormData = Depends(form_data)) -> Response:
    _check_login_csrf(request, form)
    next_url = safe_next(str(form.get("next") or ""))
    user_id = security.pending_user(request.cookies.get(MFA_COOKIE))
    if user_id is None:
        return redirect("/login")
    code = str(form.get("code") or "").strip()
    db = get_database()
    with db.read() as s:
        is_enrolled = mfa.enrolled(s, user_id)
    try:
        if is_enrolled:
            factor = security.second_factor(db, user_id, code, source=_source(request))
            recovery: list[str] = []
        else:
            with db.write() as s:
                user = s.get(User, user_id)
                assert user is not None
                recovery = mfa.confirm_enrolment(s, orgs.actor_for(s, user), user_id, code)
            factor = "totp"
    except Unauthenticated:
        secret = uri = None
        if not is_enrolled:
            with db.read() as s:
                secret = mfa.pending_secret(s, user_id)
                user = s.get(User, user_id)
                uri = mfa.provisioning_uri(secret, user.username) if secret and user else None
        return render(request, "login.html", status_code=401, step="2fa", next=next_url, username="",
                      failed=True, enrol_secret=secret, enrol_uri=uri)
    response = _signed_in(request, user_id, next_url, factor)
    if recovery:
        # The recovery codes are shown once, now, instead of the redirect.
        page = render(request, "login.html", step="recovery", next=next_url, username="", failed=False,
                      recovery_codes=recovery)
        for key, value in response.raw_headers:
            if key.lower() == b"set-cookie":
                page.raw_headers.append((key, value))
        return page
    return response


def logout(request: Request, ctx: WebContext = Depends(csrf_checked)) -> Response:
    """Sign-out ends every session of the user, not only this browser's (issue 23)."""
    with get_database().write() as s:
        security.sign_out_everywhere(s, ctx.actor, ctx.actor.user_id or 0, via="web")
    response = redirect("/")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return provider_logout(request, response)  # issue 18: RP-initiated logout at the SSO provider


def provider_logout(request: Request, response: Response) -> Response:
    """After the local sign-out: when the browser signed in through an OpenID Connect provider,
    continue at `/auth/oidc/<name>/logout`, which sends it on to the provider's end-session
    endpoint. (The hop is a page, not a redirect: the console's CSP `form-action 'self'` stops a
    form's redirect to another origin.)"""
    response.delete_cookie(PROVIDER_COOKIE, path=PROVIDER_PATH)
    p = find_provider(request.cookies.get(PROVIDER_COOKIE) or "", "oidc")
    if p is not None:
        response.headers["location"] = f"/auth/oidc/{p.name}/logout"
    return response


def register(router: Any) -> None:
    router.add_api_route("/login", login_page, methods=["GET"], include_in_schema=False)
    router.add_api_route("/login", login_submit, methods=["POST"], include_in_schema=False)
    router.add_api_route("/login/2fa", login_2fa_page, methods=["GET"], include_in_schema=False)
    router.add_api_route("/login/2fa", login_2fa_submit, methods=["POST"], include_in_schema=False)
    router.add_api_route("/logout", logout, methods=["POST"], include_in_schema=False)
