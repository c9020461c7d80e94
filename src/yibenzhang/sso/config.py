"""Sign-in providers: OpenID Connect (one block of YBZ_OIDC_<NAME>_* settings each) and CAS 3.0
(YBZ_CAS_<NAME>_URL, the server's prefix such as `https://cas.example.gov.cn/cas`, with the same
mapping settings below: `_LABEL`, `_ORG_CLAIM` (an attribute), `_ROLE_CLAIM`, `_AUTO_CREATE`,
`_DEFAULT_ROLE`, `_CONTACT`). A name is used by one provider only.

A provider exists when YBZ_OIDC_<NAME>_ISSUER is set; its URL name is <name> in lower case
(`/auth/oidc/<name>/login`). The other settings of the block:

- `_CLIENT_ID`, `_CLIENT_SECRET`: the platform's registration at the provider (required);
- `_LABEL`: the button's text on the login page (default: the name);
- `_METADATA_URL`: where discovery is read (default `<issuer>/.well-known/openid-configuration`;
  set it when the provider is reached by another address inside the government network);
- `_SCOPES`: requested scopes (default `openid profile`);
- `_ORG_CLAIM`: the claim naming the person's org by its 统一社会信用代码 (default `uscc`);
- `_ROLE_CLAIM`: a claim that may suggest a business role at first login (default none);
- `_AUTO_CREATE`: create a user at first login when the org claim names a known org (default no);
- `_DEFAULT_ROLE`: the role such a user gets (default 数据使用方);
- `_CONTACT`: whom the refusal page tells the person to ask (default the platform's administrator);
- `_LEEWAY_SECONDS`: clock skew allowed on the ID token's times (default 60);
- `_API_AUDIENCE`: the platform's resource indicator (RFC 8707); when set, the provider's JWT
  access tokens for that audience are accepted as bearer tokens on the API (sso/api_tokens.py).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from ..i18n import N_

PREFIX = "YBZ_OIDC_"
_ISSUER = re.compile(r"^YBZ_OIDC_([A-Z0-9][A-Z0-9_]*)_ISSUER$")
_CAS_URL = re.compile(r"^YBZ_CAS_([A-Z0-9][A-Z0-9_]*)_URL$")
NAME = re.compile(r"^[a-z0-9][a-z0-9_]*$")
DEFAULT_CONTACT = N_("本单位数据专员或平台管理员")


def _flag(raw: str | None) -> bool:
    return (raw or "").strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Provider:
    name: str
    issuer: str
    client_id: str
    client_secret: str
    label: str
    metadata_url: str
    scopes: str = "openid profile"
    org_claim: str = "uscc"
    role_claim: str | None = None
    auto_create: bool = False
    default_role: str = "数据使用方"
    contact: str = DEFAULT_CONTACT
    leeway_seconds: int = 60
    protocol: str = "oidc"
    server_url: str = ""  # CAS: the server's prefix (/login, /p3/serviceValidate below it)
    api_audience: str = ""  # OIDC: accept the provider's access tokens for this audience on the API

    @classmethod
    def from_env(cls, name: str) -> Provider:
        key = f"{PREFIX}{name.upper()}_"

        def get(suffix: str, default: str = "") -> str:
            return (os.environ.get(key + suffix) or default).strip()

        issuer = get("ISSUER").rstrip("/")
        return cls(
            name=name.lower(),
            issuer=issuer,
            client_id=get("CLIENT_ID"),
            client_secret=get("CLIENT_SECRET"),
            label=get("LABEL", name),
            metadata_url=get("METADATA_URL", f"{issuer}/.well-known/openid-configuration"),
            scopes=get("SCOPES", "openid profile"),
            org_claim=get("ORG_CLAIM", "uscc"),
            role_claim=get("ROLE_CLAIM") or None,
            auto_create=_flag(os.environ.get(key + "AUTO_CREATE")),
            default_role=get("DEFAULT_ROLE", "数据使用方"),
            contact=get("CONTACT", DEFAULT_CONTACT),
            leeway_seconds=int(get("LEEWAY_SECONDS", "60")),
            api_audience=get("API_AUDIENCE"),
        )

    @classmethod
    def cas_from_env(cls, name: str) -> Provider:
        key = f"YBZ_CAS_{name.upper()}_"

        def get(suffix: str, default: str = "") -> str:
            return (os.environ.get(key + suffix) or default).strip()

        return cls(
            name=name.lower(), issuer="", client_id="", client_secret="", metadata_url="", scopes="",
            label=get("LABEL", name), org_claim=get("ORG_CLAIM", "uscc"), role_claim=get("ROLE_CLAIM") or None,
            auto_create=_flag(os.environ.get(key + "AUTO_CREATE")), default_role=get("DEFAULT_ROLE", "数据使用方"),
            contact=get("CONTACT", DEFAULT_CONTACT), protocol="cas", server_url=get("URL").rstrip("/"),
        )

    @property
    def complete(self) -> bool:
        if self.protocol == "cas":
            return bool(self.server_url)
        return bool(self.issuer and self.client_id and self.client_secret)

    @property
    def login_path(self) -> str:
        return f"/auth/{self.protocol}/{self.name}/login"


def providers() -> list[Provider]:
    """The configured providers, OpenID Connect first, each in name order (read from the environment
    on each call: cheap, and a changed block needs no restart of the settings cache). A name taken
    by an OpenID Connect provider is not given to a CAS one."""
    found: list[Provider] = []
    for pattern, make in ((_ISSUER, Provider.from_env), (_CAS_URL, Provider.cas_from_env)):
        for var in sorted(os.environ):
            m = pattern.match(var)
            if m and os.environ[var].strip():
                p = make(m.group(1))
                if p.complete and all(q.name != p.name for q in found):
                    found.append(p)
    return found


def provider(name: str, protocol: str | None = None) -> Provider | None:
    if not NAME.match(name or ""):
        return None
    return next((p for p in providers() if p.name == name and protocol in (None, p.protocol)), None)
