"""The single sign-on tests' fixtures: the run's real OpenID Provider (node-oidc-provider) and
CAS server (django-cas-server), one of each per test run shared by the xdist workers
(tests/sso/servers.py starts them, the run's end stops them); a small proxy in front of the
token endpoint that hands the platform tampered ID tokens (re-signed with the provider's own key,
or not); and helpers that log in on the provider's pages as a script."""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.conftest import need
from tests.sso import servers

OP_DIR = servers.OP_DIR
CLIENT_ID = servers.CLIENT_ID
CONTACT = "云岭省大数据局平台管理员（0871-6000000）"


def _uscc(first17: str) -> str:
    from yibenzhang.codes import make_uscc

    return make_uscc(first17)


def accounts() -> dict[str, dict[str, str]]:
    """The provider's people: login name → claims (their subject is the login name)."""
    market = _uscc("11990000MB0000003")  # 云岭省市场监督管理局 of tests/factories.py
    return {
        "wang.market": {"name": "王市场", "uscc": market},
        "zhao.claims.admin": {"name": "赵某", "uscc": market, "ybz_role": "平台管理员"},
        "li.unknown.org": {"name": "李某", "uscc": _uscc("11990000MB0009999")},  # valid, not on the platform
        "chen.no.org": {"name": "陈某"},
        "police.steward": {"name": "公安专员"},  # linked by the administrator to police_steward
    }


@dataclass
class OpenIdProvider:
    issuer: str
    client_secret: str
    private_key: RSAKey
    pid: int
    app_port: int  # this worker's browser-test app listens here (its callback is registered)
    api_audience: str = servers.API_AUDIENCE

    def sign(self, claims: dict[str, Any], typ: str | None = None) -> str:
        header = {"alg": "RS256", "kid": self.private_key.kid}
        if typ:
            header["typ"] = typ
        return jwt.encode(header, claims, self.private_key)


@pytest.fixture(scope="session")
def sso_run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.conftest import _run_folder

    return _run_folder(tmp_path_factory)


@pytest.fixture(scope="session")
def openid_provider(sso_run_folder: Path) -> OpenIdProvider:
    """The run's one OpenID Provider (tests/sso/servers.py), shared by the xdist workers."""
    need(shutil.which("node") is not None, "Node.js (node)")
    need((OP_DIR / "node_modules" / "oidc-provider").exists(),
         "npm oidc-provider (npm ci --prefix tests/sso/op)")
    info = servers.openid_provider(sso_run_folder, accounts())
    ports = info["app_ports"]
    return OpenIdProvider(info["issuer"], info["client_secret"], RSAKey.import_key(info["key"]), info["pid"],
                          ports[servers.worker_index() % len(ports)])


@pytest.fixture(scope="session")
def sso_app_port(openid_provider: OpenIdProvider) -> int:
    """The port the browser tests' app listens on: its callbacks are registered at the providers."""
    return openid_provider.app_port


@pytest.fixture
def oidc_env(openid_provider: OpenIdProvider, monkeypatch: pytest.MonkeyPatch) -> OpenIdProvider:
    """The platform configured with the provider as `gov` (first-login provisioning allowed)."""
    from yibenzhang.sso import oidc

    for var in [v for v in os.environ if v.startswith("YBZ_OIDC_")]:
        monkeypatch.delenv(var)
    settings = {"ISSUER": openid_provider.issuer, "CLIENT_ID": CLIENT_ID,
                "CLIENT_SECRET": openid_provider.client_secret, "LABEL": "云岭省统一身份认证",
                "SCOPES": "openid profile org", "AUTO_CREATE": "1", "ROLE_CLAIM": "ybz_role", "CONTACT": CONTACT}
    for name, value in settings.items():
        monkeypatch.setenv(f"YBZ_OIDC_GOV_{name}", value)
    oidc.forget_cache()
    return openid_provider


# --- the provider's login page, as a script -----------------------------------------------------

FORM_ACTION = re.compile(r'<form[^>]*action="([^"]+)"')


def login_at_provider(authorize_url: str, login: str) -> str:
    """Follow the provider from the authorization URL through its login form; return the callback
    URL (with code and state) it sends the browser back to."""
    issuer = f"{urlsplit(authorize_url).scheme}://{urlsplit(authorize_url).netloc}"
    with httpx.Client(follow_redirects=False, timeout=15) as op:
        response = op.get(authorize_url)
        for _ in range(10):
            if response.status_code in (302, 303):
                location = urljoin(str(response.url), response.headers["location"])
                if not location.startswith(issuer):
                    return location
                response = op.get(location)
                continue
            assert response.status_code == 200, response.text
            action = FORM_ACTION.search(response.text)
            assert action, response.text
            response = op.post(urljoin(str(response.url), action.group(1)),
                               data={"prompt": "login", "login": login, "password": "any"})
        raise AssertionError("the provider did not send the browser back")


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


# --- a proxy in front of the token endpoint that tampers with the ID token -----------------------


@dataclass
class TamperProxy:
    url: str
    mode: str | None = None
    seen: list[str] = field(default_factory=list)


def _b64(data: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def tamper(op: OpenIdProvider, id_token: str, mode: str) -> str:
    header, payload, signature = id_token.split(".")
    claims = json.loads(_unb64(payload))
    now = int(time.time())
    if mode == "tampered":  # the payload changed, the provider's signature kept
        claims["sub"] = "police.steward"
        return f"{header}.{_b64(json.dumps(claims).encode())}.{signature}"
    if mode == "unsigned":
        return f"{_b64(json.dumps({'alg': 'none'}).encode())}.{payload}."
    changes = {"audience": {"aud": "another-client"}, "expired": {"exp": now - 3600, "iat": now - 7200},
               "nonce": {"nonce": "not-the-nonce-of-this-login"}, "issuer": {"iss": "http://127.0.0.1:9/evil"}}
    claims.update(changes[mode])
    return op.sign(claims)  # signed with the provider's own key: only the claims are wrong


@pytest.fixture(scope="session")
def tamper_proxy(openid_provider: OpenIdProvider) -> Iterator[TamperProxy]:
    proxy = TamperProxy(url="")
    op = openid_provider

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: bytes, ctype: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            meta = httpx.get(f"{op.issuer}/.well-known/openid-configuration").json()
            meta["token_endpoint"] = f"{proxy.url}/token"
            self._send(200, json.dumps(meta).encode())

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            meta = httpx.get(f"{op.issuer}/.well-known/openid-configuration").json()
            headers = {k: v for k, v in self.headers.items() if k.lower() in ("authorization", "content-type")}
            upstream = httpx.post(meta["token_endpoint"], content=body, headers=headers)
            data = upstream.json()
            if upstream.status_code == 200 and proxy.mode and "id_token" in data:
                data["id_token"] = tamper(op, data["id_token"], proxy.mode)
                proxy.seen.append(proxy.mode)
            self._send(upstream.status_code, json.dumps(data).encode())

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    proxy.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield proxy
    server.shutdown()
    server.server_close()


# --- a real CAS 3.0 server (django-cas-server in its own virtualenv, tests/sso/cas) --------------

CAS_PYTHON = servers.CAS_PYTHON
CAS_PASSWORD = "cas-pass-9"


def cas_people() -> dict[str, dict[str, Any]]:
    market = _uscc("11990000MB0000003")
    return {"zhang.market": {"password": CAS_PASSWORD, "attributes": {"name": "张市场", "uscc": market}},
            "li.no.org": {"password": CAS_PASSWORD, "attributes": {"name": "李某"}}}


@dataclass
class CasServer:
    url: str  # the server's prefix: /login and /p3/serviceValidate are below it
    pid: int


@pytest.fixture(scope="session")
def cas_server(sso_run_folder: Path) -> CasServer:
    """The run's one CAS server (tests/sso/servers.py), shared by the xdist workers."""
    need(CAS_PYTHON.exists(), "the test CAS server's virtualenv (make install: tests/sso/cas/.venv)")
    info = servers.cas_server(sso_run_folder, cas_people())
    return CasServer(info["url"], info["pid"])


@pytest.fixture
def cas_env(cas_server: CasServer, monkeypatch: pytest.MonkeyPatch) -> CasServer:
    """The platform configured with the CAS server as `unified` (first-login provisioning allowed)."""
    for var in [v for v in os.environ if v.startswith(("YBZ_OIDC_", "YBZ_CAS_"))]:
        monkeypatch.delenv(var)
    for name, value in {"URL": cas_server.url, "LABEL": "政务统一身份认证（CAS）", "AUTO_CREATE": "1",
                        "CONTACT": CONTACT}.items():
        monkeypatch.setenv(f"YBZ_CAS_UNIFIED_{name}", value)
    return cas_server


HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


def login_at_cas(login_url: str, username: str, password: str = CAS_PASSWORD) -> str:
    """Fill the CAS server's login form; return the service URL it sends the browser back to."""
    with httpx.Client(follow_redirects=False, timeout=15) as c:
        page = c.get(login_url)
        assert page.status_code == 200, page.text
        fields = dict(HIDDEN.findall(page.text))
        response = c.post(str(page.url), data={**fields, "username": username, "password": password})
        assert response.status_code == 302, response.text
        return response.headers["location"]
