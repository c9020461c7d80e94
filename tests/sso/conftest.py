"""A real OpenID Provider (node-oidc-provider, from tests/sso/op) for the single sign-on tests,
started once per session on a free loopback port and stopped by its process id; a small proxy in
front of its token endpoint that hands the platform tampered ID tokens (re-signed with the
provider's own key, or not); and helpers that log in on the provider's page as a script."""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
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

OP_DIR = Path(__file__).parent / "op"
CLIENT_ID = "yibenzhang"
CONTACT = "云岭省大数据局平台管理员（0871-6000000）"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
    app_port: int  # the browser tests' app listens here (its callback is registered)

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode({"alg": "RS256", "kid": self.private_key.kid}, claims, self.private_key)


@pytest.fixture(scope="session")
def sso_app_port() -> int:
    """The port the browser tests' app listens on: its callbacks are registered at the providers."""
    return _free_port()


@pytest.fixture(scope="session")
def openid_provider(tmp_path_factory: pytest.TempPathFactory, sso_app_port: int) -> Iterator[OpenIdProvider]:
    need(shutil.which("node") is not None, "Node.js (node)")
    need((OP_DIR / "node_modules" / "oidc-provider").exists(),
         "npm oidc-provider (npm ci --prefix tests/sso/op)")
    port, app_port = _free_port(), sso_app_port
    issuer = f"http://127.0.0.1:{port}"
    key = RSAKey.generate_key(2048, parameters={"kid": f"k-{secrets.token_hex(4)}", "use": "sig", "alg": "RS256"},
                              private=True)
    secret = secrets.token_urlsafe(24)
    callbacks = ["http://testserver/auth/oidc/gov/callback", f"http://127.0.0.1:{app_port}/auth/oidc/gov/callback"]
    config = {
        "issuer": issuer, "port": port, "cookieKey": secrets.token_hex(16),
        "jwks": {"keys": [key.as_dict(private=True)]},
        "clients": [{"client_id": CLIENT_ID, "client_secret": secret, "redirect_uris": callbacks,
                     "post_logout_redirect_uris": ["http://testserver/", f"http://127.0.0.1:{app_port}/"],
                     "grant_types": ["authorization_code"], "response_types": ["code"],
                     "token_endpoint_auth_method": "client_secret_basic"}],
        "accounts": accounts(),
    }
    path = tmp_path_factory.mktemp("op") / "config.json"
    path.write_text(json.dumps(config))
    proc = subprocess.Popen(["node", str(OP_DIR / "server.mjs"), str(path)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, cwd=OP_DIR)
    try:
        deadline = time.monotonic() + 30
        assert proc.stdout is not None
        while True:
            line = proc.stdout.readline()
            if "ready" in line:
                break
            if (not line and proc.poll() is not None) or time.monotonic() > deadline:
                raise RuntimeError(f"the OpenID Provider did not start: {line}")
        threading.Thread(target=proc.stdout.read, daemon=True).start()  # keep its pipe drained
        yield OpenIdProvider(issuer, secret, key, proc.pid, app_port)
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


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

CAS_DIR = Path(__file__).parent / "cas"
CAS_PYTHON = CAS_DIR / ".venv" / "bin" / "python"
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
def cas_server(tmp_path_factory: pytest.TempPathFactory, sso_app_port: int) -> Iterator[CasServer]:
    need(CAS_PYTHON.exists(), "the test CAS server's virtualenv (make install: tests/sso/cas/.venv)")
    home = tmp_path_factory.mktemp("cas")
    env = {**os.environ, "YBZ_CAS_TEST_DB": str(home / "cas.sqlite3"), "YBZ_CAS_TEST_USERS": json.dumps(cas_people()),
           "YBZ_CAS_TEST_SECRET": secrets.token_hex(16), "DJANGO_SETTINGS_MODULE": "ybzcas.settings"}
    env.pop("PYTHONPATH", None)
    manage = [str(CAS_PYTHON), str(CAS_DIR / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput"], env=env, cwd=CAS_DIR, check=True, capture_output=True)
    pattern = rf"^http://(testserver|127\.0\.0\.1:{sso_app_port})/auth/cas/"
    subprocess.run([*manage, "services", pattern], env=env, cwd=CAS_DIR, check=True, capture_output=True)
    port = _free_port()
    proc = subprocess.Popen([*manage, "runserver", f"127.0.0.1:{port}", "--noreload"], env=env, cwd=CAS_DIR,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/cas"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/login", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the CAS server did not start")
            time.sleep(0.2)
        yield CasServer(url, proc.pid)
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


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
