"""The provider's OAuth 2.0 access tokens on the API (issue 18): a client that holds an access
token from a configured OpenID Provider calls the API with it as a bearer token.

Accepted only from a provider whose block sets `YBZ_OIDC_<NAME>_API_AUDIENCE` (the platform's
resource indicator, RFC 8707, e.g. `https://ybz.example.gov.cn/api`), and only as a JWT access
token (RFC 9068 — node-oidc-provider issues them for a resource indicator with
`accessTokenFormat: 'jwt'`; local validation needs no call to the provider per request):
- the header's `typ` is `at+jwt` (so an ID token is never taken for an access token);
- the signature is checked against the provider's JWKS (asymmetric algorithms only; the keys
  refetched once when the key id is unknown, for key rotation);
- `iss` is the provider's issuer, `aud` holds the configured audience, `exp` is in the future
  and `iat`/`nbf` are not (with the provider's leeway), `sub` is present;
- the subject is mapped through the linked SSO identity to its platform user: no user is
  created from an API call, a disabled identity or an inactive or locked user is refused.
Every refusal is a 401 with a stable code (`oidc_token_*`) and a reason in zh and en; the token
and its claims are never logged. A refusal of a token that names a configured provider as its
issuer is a `sso.refused` ledger entry, as a refused sign-in is (the code, and the subject's
digest once the signature holds); a token of no configured issuer is noise, not an event."""

from __future__ import annotations

import json
import time
from base64 import urlsafe_b64decode
from typing import Any

from joserfc import jwt
from joserfc.errors import ExpiredTokenError, InvalidKeyIdError, JoseError, MissingKeyError
from joserfc.jwt import JWTClaimsRegistry
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import Unauthenticated
from ..orgs import credentials
from ..orgs.model import User
from .config import Provider, providers
from .model import SsoIdentity
from .oidc import SIGNING_ALGS, SsoRefused, _keys, metadata
from .service import record_refusal as record
from .service import subject_digest


class TokenRefused(Unauthenticated):
    """A refused access token that names the provider `provider` (None: no configured one)."""

    def __init__(self, code: str, message: str, provider: str | None = None, subject: str | None = None) -> None:
        super().__init__(code, message)
        self.provider = provider
        self.subject = subject  # the verified `sub`, for its digest in the ledger (never logged itself)


def _refused(code: str, message: str, p: Provider | None = None, subject: str | None = None) -> TokenRefused:
    return TokenRefused(code, message, p.name if p else None, subject)


def invalid(p: Provider | None = None) -> TokenRefused:
    return _refused("oidc_token_invalid", "访问令牌校验失败（签名或内容无效）", p)


def record_refusal(db: Any, exc: TokenRefused) -> None:
    """The refusal in the ledger (`sso.refused`, with `via: api`), when it names a provider."""
    if exc.provider is None:
        return

    record(db, exc.provider, SsoRefused(exc.code, exc.message, detail="api"), exc.subject)


def looks_like_jwt(raw: str) -> bool:
    return raw.count(".") == 2 and not raw.startswith("ybz_")


def api_providers() -> list[Provider]:
    return [p for p in providers() if p.protocol == "oidc" and p.api_audience]


def _unverified(raw: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and payload before any check: used only to pick the provider (by `iss`)."""
    try:
        header, payload, _ = raw.split(".")
        pad = lambda s: s + "=" * (-len(s) % 4)  # noqa: E731
        return json.loads(urlsafe_b64decode(pad(header))), json.loads(urlsafe_b64decode(pad(payload)))
    except (ValueError, TypeError):
        raise invalid() from None


def verify(raw: str, now: float | None = None) -> tuple[Provider, dict[str, Any]]:
    """The provider and the verified claims of an access token, or a refusal."""
    header, payload = _unverified(raw)
    if not isinstance(header, dict) or not isinstance(payload, dict):
        raise invalid()
    issuer = str(payload.get("iss") or "").rstrip("/")
    p = next((q for q in api_providers() if q.issuer == issuer), None)
    if p is None:
        raise _refused("oidc_token_issuer", "访问令牌的签发方不是本平台接受的统一身份认证平台")
    if str(header.get("typ") or "").lower() not in ("at+jwt", "application/at+jwt"):
        raise _refused("oidc_token_type", "该令牌不是访问令牌（可能是身份令牌），不能用于调用接口", p)
    try:
        meta = metadata(p)
    except SsoRefused as exc:
        raise _refused("oidc_token_unverifiable", "暂时无法连接统一身份认证平台校验访问令牌，请稍后再试", p) from exc
    algs = [a for a in SIGNING_ALGS if a == header.get("alg")]
    try:
        try:
            token = jwt.decode(raw, _keys(meta), algorithms=algs or ["RS256"])
        except (InvalidKeyIdError, MissingKeyError):
            token = jwt.decode(raw, _keys(meta, refresh=True), algorithms=algs or ["RS256"])
    except (JoseError, ValueError):  # a bad signature among them
        raise invalid(p) from None
    claims = token.claims
    subject = claims.get("sub") if isinstance(claims.get("sub"), str) else None
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if p.api_audience not in audiences:
        raise _refused("oidc_token_audience", "访问令牌不是签发给本平台接口的（受众不符）", p, subject)
    registry = JWTClaimsRegistry(now=int(now if now is not None else time.time()), leeway=p.leeway_seconds,
                                 exp={"essential": True}, sub={"essential": True})
    try:
        registry.validate(claims)
    except ExpiredTokenError:
        raise _refused("oidc_token_expired", "访问令牌已过期", p, subject) from None
    except JoseError:
        raise invalid(p) from None
    if not subject:
        raise invalid(p)
    return p, claims


def user_for_access_token(session: Session, raw: str) -> User:
    """The platform user a provider's access token stands for (read transaction)."""

    p, claims = verify(raw)
    digest = subject_digest(p.name, claims["sub"])
    ident = session.execute(select(SsoIdentity).where(SsoIdentity.provider == p.name,
                                                      SsoIdentity.subject_digest == digest)).scalar_one_or_none()
    if ident is None:
        raise _refused("oidc_token_not_linked", "该统一身份认证账号尚未关联本平台用户，不能调用接口", p, claims["sub"])
    if ident.disabled_at is not None:
        raise _refused("oidc_token_identity_disabled", "该统一身份认证账号在本平台已被停用", p, claims["sub"])
    user = session.get(User, ident.user_id)
    if user is None or not user.is_active or credentials.is_locked(session, user):
        raise _refused("oidc_token_user_inactive", "该统一身份认证账号关联的本平台账号已停用或锁定", p,
                       claims["sub"])
    return user
