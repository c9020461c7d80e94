"""Rendering of pages: one Jinja2 environment, the request's language, actor and CSRF token.

Every UI string goes through `_` (i18n.translate) so the English switch covers templates,
enumeration values stored in Chinese and error messages alike.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from ..access import Actor, can_administer_security
from ..db import get_database
from ..deps import SESSION_COOKIE, request_lang
from ..enums import DataType, Role
from ..errors import DomainError, FieldError
from ..i18n import N_, Data, translate, translate_in
from ..orgs import service as orgs
from ..orgs import sessions
from . import formats
from .messages import done_message

TEMPLATES = Path(__file__).parent / "templates"
LANG_COOKIE = "ybz_lang"
LOGIN_CSRF_COOKIE = "ybz_login_csrf"  # double-submit token of the login form (no session yet)
LANG_COOKIE_DAYS = 365

env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def _letter(value: str | None) -> str:
    """The catalogue guide's one-letter code of a data type value (字符型 → C)."""
    for member in DataType:
        if member.value == value:
            return member.letter
    return ""


env.globals["data_type_letter"] = _letter
env.filters["data"] = Data  # {{ _("待核验：{name}", name=it|data) }}: user data, never translated
env.globals["N_"] = N_  # a message written in a template's table and shown later through `_`


# The console's side navigation: (path, label, who may open it) — a link is shown only to those
# its page admits, so nobody is sent to a 403 (the pages check again, in the services).
def _gov(a: Actor) -> bool:
    return a.is_government


def _oversight(a: Actor) -> bool:
    return a.is_admin or a.is_auditor or bool(a.reviewer_paths())


CONSOLE_NAV: tuple[tuple[str, str, Any], ...] = (
    ("/catalog", "资源目录", None), ("/console/catalog", "我的编目", _gov), ("/console/review", "审核队列", _oversight),
    ("/console/duty-changes", "职责变化", _gov), ("/console/one-source", "一数一源", _gov),
    ("/console/objections", "异议处理", None), ("/console/share", "数据共享", _gov),
    ("/console/quality", "质量评分", _gov), ("/console/open", "开放审批", None),
    ("/console/operate", "授权运营", None), ("/console/products", "产品登记", None),
    ("/console/assess", "评估考核", lambda a: _oversight(a) or a.has_role(Role.STEWARD)),
    ("/console/calendar", "合规日历", _gov), ("/console/jobs", "后台任务", _gov),
    ("/console/ledger", "存证校验", _oversight),
    ("/console/lineage", "数据血缘", _gov),  # issue 18
    ("/console/libraries", "资源库档案", _gov),  # issue 21: 一人一档 / 一企一档 (the page admits government users)
    ("/console/security/sso", "统一身份认证账号", can_administer_security),  # issue 18
)


def console_nav(actor: Actor) -> list[tuple[str, str]]:
    return [(href, label) for href, label, who in CONSOLE_NAV if who is None or who(actor)]


env.globals["console_nav"] = console_nav
env.globals["done_message"] = done_message  # issue 17: say what succeeded
formats.register(env)  # issue 17: |when |day |num in the configured time zone


@dataclass
class WebContext:
    """Who is looking, in which language, and the session's CSRF token (None when anonymous)."""

    actor: Actor
    lang: str
    csrf: str | None
    display_name: str | None = None

    def t(self, text: str, **params: Any) -> str:
        return translate(text, self.lang, **params)

    def tp(self, context: str, text: str, **params: Any) -> str:
        """`text` in the sense `context` names (msgctxt): templates' `_p("账号", "停用")`."""
        return translate_in(context, text, self.lang, **params)


def web_context(request: Request) -> WebContext:
    """Resolve the session cookie once per request (actor and CSRF token together)."""
    cached = getattr(request.state, "web", None)
    if cached is not None:
        return cached

    lang = request_lang(request)
    actor, csrf, display = replace(Actor.anonymous(), lang=lang), None, None
    raw = request.cookies.get(SESSION_COOKIE)
    if raw:
        with get_database().read() as s:
            found = sessions.lookup(s, raw)
            if found is not None:
                user, csrf = found
                actor = orgs.actor_for(s, user, lang)
                display = user.display_name
        if found is not None:
            sessions.touch(get_database(), raw)  # issue 23: the idle timeout counts from here
    ctx = WebContext(actor=actor, lang=lang, csrf=csrf, display_name=display)
    request.state.web = ctx
    request.state.actor = actor  # deps.resolve_actor reuses it
    return ctx


STATUS_CLASS = {"草稿": "draft", "待审核": "submitted", "已退回": "returned", "已发布": "published",
                "已停用": "retired", "未到期": "submitted", "已逾期": "returned", "按时完成": "published",
                "逾期完成": "retired"}


def badge(ctx: WebContext, status: str) -> Markup:
    """A status badge: colour by state, text in the page language (never colour alone)."""
    css = STATUS_CLASS.get(status, "draft")
    return Markup(f'<span class="badge status-{css}">{escape(ctx.t(status))}</span>')


def role_labels(ctx: WebContext) -> list[str]:
    seen: list[str] = []
    for g in ctx.actor.grants:
        label = ctx.t(Role(g.role).value)
        if label not in seen:
            seen.append(label)
    return seen


def field_errors(errors: list[FieldError], lang: str) -> dict[str, list[str]]:
    """Field path → messages in the page language (shown next to the field)."""
    out: dict[str, list[str]] = {}
    for e in errors:
        out.setdefault(e.field, []).append(translate(e.message, lang, **e.params))
    return out


def url_with(request: Request, **changes: Any) -> str:
    """The current URL with some query parameters changed (None removes one)."""
    params = dict(request.query_params)
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = str(value)
    query = urlencode(params)
    return f"{request.url.path}?{query}" if query else request.url.path


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    ctx = web_context(request)
    login_csrf = None
    if template == "login.html":
        login_csrf = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)
    html = env.get_template(template).render(
        request=request, ctx=ctx, actor=ctx.actor, lang=ctx.lang, csrf=login_csrf or ctx.csrf,
        _=ctx.t, _p=ctx.tp, roles=role_labels(ctx), url_with=lambda **kw: url_with(request, **kw),
        path=request.url.path, badge=lambda status: badge(ctx, status), **context,
    )
    response = HTMLResponse(html, status_code=status_code)
    remember_lang(request, response)
    if login_csrf and request.cookies.get(LOGIN_CSRF_COOKIE) != login_csrf:
        response.set_cookie(LOGIN_CSRF_COOKIE, login_csrf, httponly=True, samesite="lax",
                            secure=is_https(request), path="/login")
    return response


def remember_lang(request: Request, response: Any) -> None:
    """`?lang=en` switches the language and keeps it in a cookie."""
    chosen = request.query_params.get("lang")
    if chosen in ("zh", "en") and request.cookies.get(LANG_COOKIE) != chosen:
        response.set_cookie(LANG_COOKIE, chosen, max_age=LANG_COOKIE_DAYS * 86400, samesite="lax",
                            secure=is_https(request))


def is_https(request: Request) -> bool:
    return request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def error_page(request: Request, exc: DomainError) -> HTMLResponse:
    ctx = web_context(request)
    errors = [translate(e.message, ctx.lang, **e.params) for e in exc.errors]
    return render(request, "error.html", status_code=exc.status, code=exc.code,
                  message=exc.message_in(ctx.lang), errors=errors)
