"""FastAPI dependencies: the database and the acting user (bearer token or session cookie)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import Request
from sqlalchemy.orm import Session

from .access import Actor
from .crypto import constant_time_equal
from .db import Database, get_database
from .errors import PermissionDenied, Unauthenticated
from .i18n import normalize_lang
from .orgs import service as orgs
from .orgs import sessions

SESSION_COOKIE = "ybz_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def database() -> Database:
    return get_database()


def read_session() -> Iterator[Session]:
    with get_database().read() as s:
        yield s


def request_lang(request: Request) -> str:
    """zh-CN unless the user switched (?lang=en, remembered in a cookie). The browser's
    Accept-Language is deliberately not consulted: a Chinese government portal speaks Chinese first."""
    return normalize_lang(request.query_params.get("lang") or request.cookies.get("ybz_lang"))


def _oidc_token(raw: str) -> bool:
    """A JWT where an OpenID Provider's access tokens are accepted (issue 18)."""
    if raw.count(".") != 2:  # the platform's own tokens (ybz_…) have no dots: no cost on their path
        return False
    # deferred: keeps authlib, httpx, joserfc out of this module's import
    from .sso import api_tokens

    return api_tokens.looks_like_jwt(raw) and bool(api_tokens.api_providers())


def _oidc_user(session: Session, raw: str) -> Any:
    # deferred: keeps authlib, httpx, joserfc out of this module's import
    from .sso import api_tokens

    try:
        return api_tokens.user_for_access_token(session, raw)
    except api_tokens.TokenRefused as exc:
        # in the ledger on a write of its own (the caller's read transaction stays read-only)
        api_tokens.record_refusal(get_database(), exc)
        raise


def resolve_actor(request: Request) -> Actor:
    """The actor of a request: a bearer token, else a signed-in session, else anonymous.
    A token that is present but wrong is an error, never a silent fall back to anonymous."""
    cached = getattr(request.state, "actor", None)
    if cached is not None:
        return cached

    lang = request_lang(request)
    auth = request.headers.get("authorization", "")
    db = get_database()
    actor = Actor.anonymous()
    seen: str | None = None
    with db.read() as s:
        if auth.lower().startswith("bearer "):
            raw_token = auth[7:].strip()
            user = _oidc_user(s, raw_token) if _oidc_token(raw_token) else orgs.user_for_token(s, raw_token)
            actor = orgs.actor_for(s, user, lang)
        elif auth:
            raise Unauthenticated("bad_token", "令牌无效、已过期或已吊销")
        else:
            raw = request.cookies.get(SESSION_COOKIE)
            if raw:
                found = sessions.lookup(s, raw)
                if found is not None:
                    user, csrf = found
                    # A browser session calling the JSON API to change state must prove the call
                    # comes from our own pages (defence in depth beside SameSite=Lax).
                    if (request.method not in SAFE_METHODS and request.url.path.startswith("/api/")
                            and not constant_time_equal(csrf, request.headers.get(CSRF_HEADER, ""))):
                        raise PermissionDenied("跨站请求校验", "csrf_failed")
                    actor = orgs.actor_for(s, user, lang)
                    seen = raw
    if seen:
        sessions.touch(db, seen)  # issue 23: the idle timeout counts from here
    if actor.lang != lang:
        actor = Actor(actor.user_id, actor.username, actor.grants, lang)
    request.state.actor = actor
    return actor


def require_user(request: Request) -> Actor:
    actor = resolve_actor(request)
    if not actor.is_authenticated:
        raise Unauthenticated("auth_required", "需要登录")
    return actor
