"""Where batches live on disk, and how they get there atomically.

A batch is written under YBZ_ZONE/.staging/<uuid>/, then published by os.rename of the whole
folder to YBZ_ZONE/<region>/<org uscc>/<resource code>/<seq:06d>/ together with its manifest row
(one short DB transaction). A folder without a manifest row is never read; `clean_leftovers`
removes it. Each folder being written holds a `.lock` file under flock by its writer, so a
clean-up never removes the work of a live process (a killed process releases its lock).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import signal
import uuid
from pathlib import Path

STAGING = ".staging"
LOCK = ".lock"


def resource_dir(region_code: str, org_uscc: str, resource_code: str) -> str:
    return f"{region_code}/{org_uscc}/{resource_code.replace('/', '_')}"


def batch_dir(region_code: str, org_uscc: str, resource_code: str, seq: int) -> str:
    return f"{resource_dir(region_code, org_uscc, resource_code)}/{seq:06d}"


def sm3_files(paths: list[Path]) -> str:
    """The SM3 digest of files in order: a batch's `digest` (国密, GB/T 32905)."""
    from cryptography.hazmat.primitives import hashes

    h = hashes.Hash(hashes.SM3())
    for p in paths:
        with open(p, "rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
    return h.finalize().hex()


def crash_point(name: str) -> None:
    """Test hook: YBZ_TEST_CRASH_AT=name kills this process here, as a power cut would."""
    if os.environ.get("YBZ_TEST_CRASH_AT") == name:
        os.kill(os.getpid(), signal.SIGKILL)


class Staging:
    """A private folder for one batch being written; removed unless published."""

    def __init__(self, zone: Path) -> None:
        self.zone = zone
        self.path = zone / STAGING / uuid.uuid4().hex
        self.path.mkdir(parents=True)
        self._lock = os.open(self.path / LOCK, os.O_CREAT | os.O_RDWR, 0o600)
        fcntl.flock(self._lock, fcntl.LOCK_EX)
        self.published_to: Path | None = None

    def move_to(self, relative: str) -> Path:
        """Publish the folder at `relative`. Call it holding the resource's lock, for a sequence
        number the manifest does not have: a folder already there is then the orphan of a writer
        killed between its rename and its commit, and is removed (unless its writer still lives)."""
        target = self.zone / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists() and _unlocked(target):
            shutil.rmtree(target)
        os.rename(self.path, target)  # atomic on one filesystem; fails if the target exists
        self.published_to = target
        return target

    def undo_move(self) -> None:
        if self.published_to is not None and self.published_to.exists():
            shutil.rmtree(self.published_to, ignore_errors=True)
        self.published_to = None

    def close(self) -> None:
        """Release the lock; remove the folder unless it was published."""
        if self.published_to is None:
            shutil.rmtree(self.path, ignore_errors=True)
        else:
            (self.published_to / LOCK).unlink(missing_ok=True)
        if self._lock >= 0:
            os.close(self._lock)
            self._lock = -1

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


def clean_leftovers(zone_root: Path) -> int:
    """Remove what interrupted batches left: staging folders and batch folders without a
    manifest row (a crash between rename and commit). Returns how many folders were removed."""
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
    for folder in zone_root.glob("*/*/*/*"):
        if not folder.is_dir() or folder.relative_to(zone_root).parts[0].startswith("."):
            continue
        rel = folder.relative_to(zone_root).as_posix()
        if rel not in known and _unlocked(folder):
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed


def _manifest_paths() -> set[str] | None:
    from sqlalchemy import inspect, select

    from ..db import get_database
    from .model import Batch

    db = get_database()
    if not inspect(db.engine).has_table(Batch.__tablename__):
        return None
    with db.read() as s:
        return set(s.execute(select(Batch.path)).scalars())
