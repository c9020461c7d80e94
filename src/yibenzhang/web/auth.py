"""Sign-in, sign-out and CSRF protection of the web pages.

A signed-in browser holds `ybz_session` (HttpOnly, SameSite=Lax); every POST carries the
session's CSRF token as the form field `csrf_token` or the `X-CSRF-Token` header (htmx). The
login form has no session yet, so it uses a double-submit cookie instead.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Depends, Request, Response
from fastapi.routing import APIRoute
from starlette.datastructures import FormData

from ..crypto import constant_time_equal
from ..db import get_database
from ..deps import SESSION_COOKIE
from ..errors import DomainError, Unauthenticated
from ..ledger import service as ledger
from ..orgs import service as orgs
from ..orgs import sessions
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
                from urllib.parse import quote

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


def login_submit(request: Request, form: FormData = Depends(form_data)) -> Response:
    token = str(form.get(CSRF_FIELD) or "")
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE) or ""
    if not token or not cookie or not constant_time_equal(token, cookie):
        raise CsrfFailed()
    username = str(form.get("username") or "").strip()
    password = str(form.get("password") or "")
    next_url = safe_next(str(form.get("next") or ""))
    db = get_database()
    try:
        with db.read() as s:
            user = orgs.authenticate(s, username, password)  # slow hash outside the write lock
    except Unauthenticated:
        # One message for unknown user and wrong password: no user enumeration.
        return render(request, "login.html", status_code=401, next=next_url, username=username, failed=True)
    with db.write() as s:
        user = orgs.get_user_by_name(s, username)
        raw, _csrf = sessions.start(s, user)
        ledger.append(s, orgs.actor_for(s, user), "web.login", "user", user.id, {"via": "web"})
    response = redirect(next_url)
    response.set_cookie(SESSION_COOKIE, raw, max_age=sessions.SESSION_HOURS * 3600, httponly=True,
                        samesite="lax", secure=is_https(request), path="/")
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


def logout(request: Request, ctx: WebContext = Depends(csrf_checked)) -> Response:
    raw = request.cookies.get(SESSION_COOKIE)
    with get_database().write() as s:
        if raw:
            sessions.end(s, raw)
        ledger.append(s, ctx.actor, "web.logout", "user", ctx.actor.user_id or 0, {"via": "web"})
    response = redirect("/")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def register(router: Any) -> None:
    router.add_api_route("/login", login_page, methods=["GET"], include_in_schema=False)
    router.add_api_route("/login", login_submit, methods=["POST"], include_in_schema=False)
    router.add_api_route("/logout", logout, methods=["POST"], include_in_schema=False)
