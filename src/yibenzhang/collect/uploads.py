"""Uploads between requests, kept in the store so that any worker of the web tier answers the
next request of the same upload (issue 14): an ingest's progress (the browser polls it), and a
staged file waiting for its uploader's mapping (the console's mapping step).

The staged file itself stays in the local staging folder of the machine that received it (the
zone's staging is local scratch, even on S3). The worker that received it keeps its `Staging`
open (its lock says a live writer owns the folder); a worker of the same machine that takes the
held upload links the file into a staging folder of its own, and the receiving worker closes
its copy once the row says the upload was taken or has expired. A worker of another machine
cannot reach the file: the uploader is told to upload it again (`upload_elsewhere`).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import threading
import time
import uuid
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select, update

from ..access import Actor
from ..config import get_settings
from ..db import Database, utcnow
from ..errors import DomainError, NotFound
from ..zone.storage import Staging
from .model import UploadSession

KEEP_SECONDS = 3600  # an upload's progress and a held file are kept for an hour
PROGRESS_SECONDS = 1.0  # at most one progress write a second per ingest

_local: dict[str, Staging] = {}  # held uploads this process received, by token digest
_local_lock = threading.Lock()


class UploadElsewhere(DomainError):
    status = 409
    title = "上传的文件在另一台服务器上"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _host() -> str:
    return socket.gethostname()


def _row(s: Any, token: str, kind: str) -> UploadSession | None:
    return s.execute(select(UploadSession).where(UploadSession.token_digest == _digest(token),
                                                 UploadSession.kind == kind)).scalar_one_or_none()


def _expire(s: Any) -> None:
    s.execute(delete(UploadSession).where(UploadSession.started_at < utcnow() - timedelta(seconds=KEEP_SECONDS)))


def _close_local(db: Database) -> None:
    """Close this process's held stagings whose upload was taken by any worker, or expired."""
    with _local_lock:
        mine = list(_local)
    if not mine:
        return
    with db.read() as s:
        still = set(s.execute(select(UploadSession.token_digest).where(
            UploadSession.token_digest.in_(mine), UploadSession.status == "held")).scalars())
    with _local_lock:
        for digest in [d for d in mine if d not in still]:
            staging = _local.pop(digest, None)
            if staging is not None:
                staging.close()


# --- an ingest's progress --------------------------------------------------------------------------


def start(db: Database, actor: Actor, resource_id: int, total_bytes: int) -> str:
    token = uuid.uuid4().hex
    state = {"rows": 0, "bytes": 0, "total_bytes": total_bytes, "percent": 0.0, "report": None, "error": None,
             "started": time.time()}
    with db.write() as s:
        _expire(s)
        now = utcnow()
        s.add(UploadSession(token_digest=_digest(token), kind="ingest", status="running", resource_id=resource_id,
                            username=actor.username, host=_host(), state=state, started_at=now, updated_at=now))
    return token


def record(db: Database, token: str, status: str | None = None, **changes: Any) -> None:
    """Merge `changes` into the ingest's state (and set its status)."""
    with db.write() as s:
        row = _row(s, token, "ingest")
        if row is None:
            return
        row.state = {**(row.state or {}), **changes}
        if status is not None:
            row.status = status
        row.updated_at = utcnow()


class Throttled:
    """A progress callback's writes, at most one per PROGRESS_SECONDS (the last one is written
    by the final `record` of the ingest)."""

    def __init__(self, db: Database, token: str) -> None:
        self.db, self.token, self.last = db, token, 0.0

    def __call__(self, **changes: Any) -> None:
        now = time.monotonic()
        if now - self.last >= PROGRESS_SECONDS:
            self.last = now
            record(self.db, self.token, **changes)


def progress(db: Database, token: str, actor: Actor) -> dict[str, Any]:
    """The ingest's state as the uploader (or an administrator) may read it; anyone else gets the
    same 404 as a wrong token."""
    with db.read() as s:
        row = _row(s, token, "ingest")
        if row is None or (row.username != actor.username and not actor.is_admin):
            raise NotFound(f"归集任务 {token}", "ingest_not_found")
        return {"token": token, "resource_id": row.resource_id, "user": row.username, "status": row.status,
                **(row.state or {})}


# --- a staged file waiting for its mapping ------------------------------------------------------------


def hold(db: Database, actor: Actor, resource_id: int, staging: Staging, path: Path, options: dict[str, Any],
         check: Any) -> str:
    token = uuid.uuid4().hex
    digest = _digest(token)
    with db.write() as s:
        _expire(s)
        now = utcnow()
        s.add(UploadSession(token_digest=digest, kind="held", status="held", resource_id=resource_id,
                            username=actor.username, host=_host(), file_path=str(path),
                            state={"options": dict(options), "check": asdict(check) if check is not None else None},
                            started_at=now, updated_at=now))
    with _local_lock:
        _local[digest] = staging
    _close_local(db)
    return token


def held(db: Database, token: str, actor: Actor) -> dict[str, Any]:
    """A held upload; only its uploader sees it (another user gets the same 404 as a wrong token)."""
    # deferred: keeps duckdb, httpx, sqlglot out of this module's import
    from .pipeline import ColumnCheck

    with db.read() as s:
        row = _row(s, token, "held")
        if row is None or row.status != "held" or row.username != actor.username:
            raise NotFound(f"待映射的上传 {token}", "upload_not_found")
        state = dict(row.state or {})
        out = {"token": token, "resource_id": row.resource_id, "user": row.username, "host": row.host,
               "path": Path(row.file_path or ""), "options": state.get("options") or {}}
    check = state.get("check")
    out["check"] = ColumnCheck(**check) if check else None
    if out["host"] != _host():
        raise UploadElsewhere("upload_elsewhere", "该文件由另一台服务器接收，请重新上传")
    return out


def take(db: Database, token: str, actor: Actor) -> tuple[dict[str, Any], Staging]:
    """Take a held upload out of the waiting list, once, with a staging folder this process owns
    (to ingest it, or to drop it)."""
    state = held(db, token, actor)
    digest = _digest(token)
    with _local_lock:
        staging = _local.pop(digest, None)
    if staging is None:  # received by another worker of this machine: a link of its file, in ours
        staging = Staging(get_settings().zone)
        target = staging.path / state["path"].name
        try:
            try:
                os.link(state["path"], target)
            except FileNotFoundError:
                raise
            except OSError:  # another file system: a copy
                shutil.copyfile(state["path"], target)
        except FileNotFoundError:
            staging.close()
            raise NotFound(f"待映射的上传 {token}", "upload_not_found") from None
        state["path"] = target
    with db.write() as s:
        taken = s.execute(update(UploadSession).where(UploadSession.token_digest == digest,
                                                      UploadSession.status == "held")
                          .values(status="taken", updated_at=utcnow())).rowcount
    if taken != 1:  # another request took it first
        staging.close()
        raise NotFound(f"待映射的上传 {token}", "upload_not_found")
    _close_local(db)
    return state, staging
