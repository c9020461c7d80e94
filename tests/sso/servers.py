"""The SSO tests' real servers — one OpenID Provider (node-oidc-provider, tests/sso/op) and one
CAS 3.0 server (django-cas-server, tests/sso/cas) per test run, shared by the xdist workers.

The first worker that needs a server starts it under a file lock in the run's folder and writes
what the others need (URL, secrets, process id) beside it; the others read that file. The
controller (or a run without xdist) stops them by process id when the run ends (`stop_all`,
from tests/conftest.py's pytest_unconfigure), as tests/spark_support.py does for Spark.

Each server starts through `start_process`: a detached process (its own session, output to a
log file, so it outlives the worker that started it), ready when `ready()` says so, stopped by
its id. The browser tests' app ports are chosen with the provider (one per xdist worker), since
the provider must know each callback URL in advance."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

OP_DIR = Path(__file__).parent / "op"
CAS_DIR = Path(__file__).parent / "cas"
CAS_PYTHON = CAS_DIR / ".venv" / "bin" / "python"
CLIENT_ID = "yibenzhang"
API_AUDIENCE = "https://ybz.test/api"  # the platform's resource indicator at the provider
START_SECONDS = 60.0
KINDS = ("oidc", "cas")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def worker_index() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(worker[2:]) if worker.startswith("gw") and worker[2:].isdigit() else 0


def worker_count() -> int:
    return max(int(os.environ.get("PYTEST_XDIST_WORKER_COUNT") or 1), 1)


def start_process(cmd: list[str], *, cwd: Path, env: dict[str, str] | None, log: Path,
                  ready: Callable[[], bool]) -> int:
    """Start a server detached from this process and wait until `ready()`; its pid."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + START_SECONDS
    while not ready():
        if proc.poll() is not None or time.monotonic() > deadline:
            stop(proc.pid)
            raise RuntimeError(f"{cmd[0]} did not start: {log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.1)
    return proc.pid


def stop(pid: int, grace: float = 10) -> None:
    """SIGTERM, then SIGKILL after `grace` s (a pid that is gone is fine)."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
        for _ in range(int(grace * 10)):
            try:
                waited, _ = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:  # not our child: poll its existence
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    return
                waited = 0
            if waited == pid:
                return
            time.sleep(0.1)
        os.kill(pid, signal.SIGKILL)


def _shared(shared: Path, kind: str, make: Callable[[Path], dict[str, Any]]) -> dict[str, Any]:
    """The run's server of `kind`, started by whichever worker asks first."""
    home = shared / f"sso-{kind}"
    home.mkdir(exist_ok=True)
    with open(shared / f"sso-{kind}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        info_file = shared / f"sso-{kind}.json"
        if info_file.exists():
            return json.loads(info_file.read_text())
        info = make(home)
        info_file.write_text(json.dumps(info))
        return info


def stop_all(shared: Path) -> None:
    for kind in KINDS:
        info_file = shared / f"sso-{kind}.json"
        if info_file.exists():
            with contextlib.suppress(ValueError, KeyError, OSError):
                stop(int(json.loads(info_file.read_text())["pid"]))
            info_file.unlink(missing_ok=True)


# --- the OpenID Provider -------------------------------------------------------------------------


def _make_provider(home: Path, accounts: dict[str, Any]) -> dict[str, Any]:
    from joserfc.jwk import RSAKey

    port = free_port()
    app_ports = [free_port() for _ in range(worker_count())]  # one per worker's browser-test app
    issuer = f"http://127.0.0.1:{port}"
    key = RSAKey.generate_key(2048, parameters={"kid": f"k-{secrets.token_hex(4)}", "use": "sig", "alg": "RS256"},
                              private=True)
    secret = secrets.token_urlsafe(24)
    callbacks = ["http://testserver/auth/oidc/gov/callback",
                 *[f"http://127.0.0.1:{p}/auth/oidc/gov/callback" for p in app_ports]]
    logouts = ["http://testserver/", *[f"http://127.0.0.1:{p}/" for p in app_ports]]
    config = {
        "issuer": issuer, "port": port, "cookieKey": secrets.token_hex(16), "resource": API_AUDIENCE,
        "jwks": {"keys": [key.as_dict(private=True)]},
        "clients": [{"client_id": CLIENT_ID, "client_secret": secret, "redirect_uris": callbacks,
                     "post_logout_redirect_uris": logouts, "grant_types": ["authorization_code"],
                     "response_types": ["code"], "token_endpoint_auth_method": "client_secret_basic"}],
        "accounts": accounts,
    }
    path = home / "config.json"
    path.write_text(json.dumps(config))
    log = home / "op.log"
    pid = start_process(["node", str(OP_DIR / "server.mjs"), str(path)], cwd=OP_DIR, env=None, log=log,
                        ready=lambda: "ready" in log.read_text(errors="replace"))
    return {"issuer": issuer, "client_secret": secret, "key": key.as_dict(private=True), "pid": pid,
            "app_ports": app_ports}


def openid_provider(shared: Path, accounts: dict[str, Any]) -> dict[str, Any]:
    return _shared(shared, "oidc", lambda home: _make_provider(home, accounts))


# --- the CAS server --------------------------------------------------------------------------------


def _make_cas(home: Path, people: dict[str, Any]) -> dict[str, Any]:
    env = {**os.environ, "YBZ_CAS_TEST_DB": str(home / "cas.sqlite3"), "YBZ_CAS_TEST_USERS": json.dumps(people),
           "YBZ_CAS_TEST_SECRET": secrets.token_hex(16), "DJANGO_SETTINGS_MODULE": "ybzcas.settings"}
    env.pop("PYTHONPATH", None)
    manage = [str(CAS_PYTHON), str(CAS_DIR / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput"], env=env, cwd=CAS_DIR, check=True, capture_output=True)
    # the app of any worker (any loopback port) and the in-process TestClient may be a service
    pattern = r"^http://(testserver|127\.0\.0\.1:[0-9]+)/auth/cas/"
    subprocess.run([*manage, "services", pattern], env=env, cwd=CAS_DIR, check=True, capture_output=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}/cas"

    def ready() -> bool:
        try:
            return httpx.get(f"{url}/login", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    pid = start_process([*manage, "runserver", f"127.0.0.1:{port}", "--noreload"], cwd=CAS_DIR, env=env,
                        log=home / "cas.log", ready=ready)
    return {"url": url, "pid": pid}


def cas_server(shared: Path, people: dict[str, Any]) -> dict[str, Any]:
    return _shared(shared, "cas", lambda home: _make_cas(home, people))
