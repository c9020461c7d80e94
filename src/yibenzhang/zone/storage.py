"""Where batches live, and how they get there atomically.

A batch is written under YBZ_ZONE/.staging/<uuid>/ (a local folder; with an S3 zone, the local
scratch folder), then published together with its manifest row (one short DB transaction):

- local zone: os.rename of the whole folder to <region>/<org uscc>/<resource code>/<seq:06d>/;
- S3 zone (no rename on object storage): the files are uploaded under a fresh prefix of their own,
  <region>/<org uscc>/<resource code>/<seq:06d>.<uuid>/, whose `.lease` object is written first
  and kept fresh by a heartbeat while the writer lives. The manifest row names that prefix and its
  exact object keys: its commit is the publish point. A prefix that no manifest row names is
  never read.

A folder or prefix without a manifest row is removed by `clean_leftovers` — never a live
writer's: a local folder being written holds a `.lock` file under flock by its writer (a killed
process releases its lock); an S3 prefix is swept only when its lease has expired, or its writer
ran on this host and is gone, or it has no lease and is older than the lease period.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import socket
import threading
import time
import uuid
from pathlib import Path

from ..config import get_settings
from ..db import get_database
from .model import Batch
from .store import get_store

STAGING = ".staging"
LOCK = ".lock"
LEASE = ".lease"


def resource_dir(region_code: str, org_uscc: str, resource_code: str) -> str:
    return f"{region_code}/{org_uscc}/{resource_code.replace('/', '_')}"


def batch_dir(region_code: str, org_uscc: str, resource_code: str, seq: int) -> str:
    return f"{resource_dir(region_code, org_uscc, resource_code)}/{seq:06d}"


def sm3_files(paths: list[Path] | list[str]) -> str:
    """The SM3 digest of files in order: a batch's `digest` (国密, GB/T 32905). Local paths, or
    s3:// URIs of the zone's store."""
    from cryptography.hazmat.primitives import hashes

    h = hashes.Hash(hashes.SM3())
    for p in paths:
        if str(p).startswith("s3://"):
            store = get_store()
            f = store.fs.open_input_stream(store.fs_path(str(p)))
        else:
            f = open(p, "rb")  # noqa: SIM115 (closed below, one path for both stores)
        with f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
    return h.finalize().hex()


def crash_point(name: str) -> None:
    """Test hook: YBZ_TEST_CRASH_AT=name kills this process here, as a power cut would."""
    if os.environ.get("YBZ_TEST_CRASH_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)


class Staging:
    """A private folder for one batch being written; removed unless published. With an S3 zone
    the folder is local scratch and `move_to` uploads it under a leased prefix of its own."""

    def __init__(self, zone: Path) -> None:
        self.zone = zone
        self.path = zone / STAGING / uuid.uuid4().hex
        self.path.mkdir(parents=True)
        self._lock = os.open(self.path / LOCK, os.O_CREAT | os.O_RDWR, 0o600)
        fcntl.flock(self._lock, fcntl.LOCK_EX)
        self.published_to: Path | None = None
        self.published_prefix: str | None = None  # S3: the uploaded prefix, relative to the root
        self._lease: _Lease | None = None

    def move_to(self, relative: str) -> str:
        """Publish the folder at `relative` (or, on S3, at a fresh prefix beside it); returns the
        path the manifest row must name. Call it holding the resource's lock, for a sequence
        number the manifest does not have: a local folder already there is then the orphan of a
        writer killed between its rename and its commit, and is removed (unless its writer still
        lives)."""

        store = get_store()
        if store.is_s3:
            return self._upload(store, relative)
        target = self.zone / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists() and _unlocked(target):
            shutil.rmtree(target)
        crash_point("uploading")  # the same step on both stores: the files go to their place
        os.rename(self.path, target)  # atomic on one filesystem; fails if the target exists
        self.published_to = target
        return relative

    def _upload(self, store: object, relative: str) -> str:
        """The lease first, then every file: a sweep never takes a prefix whose lease lives."""
        prefix = f"{relative}.{uuid.uuid4().hex[:12]}"
        self.published_prefix = prefix
        self._lease = _Lease(store, prefix)
        files = sorted(p for p in self.path.rglob("*") if p.is_file() and p.name != LOCK)
        for i, f in enumerate(files):
            store.put_file(f, f"{prefix}/{f.relative_to(self.path).as_posix()}")  # type: ignore[attr-defined]
            if i == 0:
                crash_point("uploading")
        return prefix

    def undo_move(self) -> None:
        if self.published_to is not None and self.published_to.exists():
            shutil.rmtree(self.published_to, ignore_errors=True)
        self.published_to = None
        if self.published_prefix is not None:
            with contextlib.suppress(OSError):
                get_store().delete_prefix(self.published_prefix)
            self.published_prefix = None
            self._stop_lease(delete=False)

    def close(self) -> None:
        """Release the lock (and the lease); remove the local folder unless it was renamed."""
        if self.published_to is None:
            shutil.rmtree(self.path, ignore_errors=True)
        else:
            (self.published_to / LOCK).unlink(missing_ok=True)
        self._stop_lease(delete=True)
        if self._lock >= 0:
            os.close(self._lock)
            self._lock = -1

    def _stop_lease(self, *, delete: bool) -> None:
        if self._lease is not None:
            self._lease.stop(delete=delete)
            self._lease = None

    def __enter__(self) -> Staging:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _unlocked(folder: Path) -> bool:
    """True when no live process holds the folder's lock (or it has none)."""
    lock = folder / LOCK
    if not lock.exists():
        return True
    try:
        fd = os.open(lock, os.O_RDWR)
    except OSError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def _start_ticks(pid: int) -> str | None:
    """The start time of a process (clock ticks since boot, /proc/<pid>/stat field 22): with the
    pid it names one process, even after the pid is reused."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


class _Lease:
    """A writer's claim on an S3 prefix it is uploading: `<prefix>/.lease` holds its host, pid,
    process start and an expiry, renewed by a heartbeat thread every third of the lease period."""

    def __init__(self, store: object, prefix: str) -> None:
        self.store = store
        self.key = f"{prefix}/{LEASE}"
        self.seconds = max(1, get_settings().zone_lease_seconds)
        self._stop = threading.Event()
        self._write()
        self._thread = threading.Thread(target=self._beat, name="zone-lease", daemon=True)
        self._thread.start()

    def _write(self) -> None:
        pid = os.getpid()
        body = {"host": socket.gethostname(), "pid": pid, "start": _start_ticks(pid),
                "expires": time.time() + self.seconds}
        self.store.write_bytes(self.key, json.dumps(body).encode())  # type: ignore[attr-defined]

    def _beat(self) -> None:
        while not self._stop.wait(self.seconds / 3):
            with contextlib.suppress(OSError):
                self._write()

    def stop(self, *, delete: bool) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        if delete:
            with contextlib.suppress(OSError):
                self.store.delete_file(self.key)  # type: ignore[attr-defined]


def lease_alive(store: object, prefix: str, newest_mtime: float) -> bool:
    """Whether the writer of an unpublished S3 prefix may still be at work on it."""

    try:
        body = json.loads(store.read_bytes(f"{prefix}/{LEASE}"))  # type: ignore[attr-defined]
    except (OSError, ValueError):
        # no readable lease: the writer died before writing it, or it is being written now
        return time.time() - newest_mtime < get_settings().zone_lease_seconds
    if float(body.get("expires", 0)) < time.time():
        return False
    if body.get("host") == socket.gethostname():
        pid = int(body.get("pid", 0))
        return pid > 0 and _start_ticks(pid) is not None and _start_ticks(pid) == body.get("start")
    return True


def clean_leftovers(zone_root: Path) -> int:
    """Remove what interrupted batches left: staging folders and batch folders without a
    manifest row (a crash between rename and commit; on S3, between the first upload and the
    commit). Returns how many folders or prefixes were removed."""
    removed = 0
    staging = zone_root / STAGING
    if staging.exists():
        for folder in staging.iterdir():
            if folder.is_dir() and not folder.name.startswith(".") and _unlocked(folder):
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
    known = _manifest_paths()
    if known is None:
        return removed

    store = get_store()
    if store.is_s3:
        return removed + _sweep_s3(store, known)
    for folder in zone_root.glob("*/*/*/*"):
        if not folder.is_dir() or folder.relative_to(zone_root).parts[0].startswith("."):
            continue
        rel = folder.relative_to(zone_root).as_posix()
        if rel not in known and _unlocked(folder):
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed


def _sweep_s3(store: object, known: set[str]) -> int:
    """Remove the batch prefixes that no manifest row names and whose writer is gone."""
    prefixes: dict[str, float] = {}
    for entry in store.files():  # type: ignore[attr-defined]
        parts = entry.relative.split("/")
        if len(parts) < 5 or parts[0].startswith("."):
            continue  # not a batch's file (the sandbox's outputs, say)
        prefix = "/".join(parts[:4])
        prefixes[prefix] = max(prefixes.get(prefix, 0.0), entry.mtime)
    removed = 0
    for prefix, newest in prefixes.items():
        if prefix in known or lease_alive(store, prefix, newest):
            continue
        store.delete_prefix(prefix)  # type: ignore[attr-defined]
        removed += 1
    return removed


def _manifest_paths() -> set[str] | None:
    from sqlalchemy import inspect, select


    db = get_database()
    if not inspect(db.engine).has_table(Batch.__tablename__):
        return None
    with db.read() as s:
        return set(s.execute(select(Batch.path)).scalars())
