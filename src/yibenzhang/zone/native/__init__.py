"""The format checks as a native DuckDB extension (`ybz_checks.c`), built at install time.

Python kernels called from DuckDB cost a GIL hand-over per 2,048-row vector and run one at a
time; these run inside DuckDB's threads at a few nanoseconds per value.

No code is compiled or loaded unverified at run time (issue 19). `build()` compiles the source
with the machine's C compiler — called by `ybz init` and `make install`, never by a query — into
the package's own directory (or `$YBZ_HOME/native` when the package is read-only), keyed by the
source, the DuckDB version and the platform, and records the file's SHA-256 beside it. `load()`
loads only a file whose digest matches that record and that no other user can write (owner this
process's user or root, no group/other write on the file or its folder), and only on a
connection opened for it (`allow_unsigned_extensions` on that connection alone). Otherwise it
says no and the callers use the Python kernels: same answers, slower.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import shutil
import stat
import subprocess
import tempfile
import threading
from pathlib import Path

import duckdb

from ...config import get_settings

log = logging.getLogger(__name__)

SOURCE = Path(__file__).with_name("ybz_checks.c")
NAME = "ybz_checks"  # DuckDB derives the entry point (ybz_checks_init_c_api) from the file name
C_API_VERSION = "v1.2.0"  # the stable C API table the extension asks for
FUNCTIONS = ("ybz_native_id_card", "ybz_native_uscc", "ybz_native_bank_card", "ybz_native_mobile",
             "ybz_native_landline", "ybz_native_email", "ybz_native_date_ymd")
RECORD = "record.json"  # beside the extension: its SHA-256, source digest, DuckDB version, platform

_lock = threading.Lock()
_verified: dict[str, Path | None] = {}


def _roots() -> list[Path]:
    """Where a build may live: YBZ_NATIVE_DIR alone when set; else the package's own folder, then
    the home's."""
    configured = os.environ.get("YBZ_NATIVE_DIR")
    if configured:
        return [Path(configured)]
    roots = [Path(__file__).with_name("build")]

    roots.append(get_settings().home / "native")
    return roots


@functools.lru_cache(maxsize=1)
def _platform() -> str:
    """DuckDB's platform name (asked once per process: each evaluation calls `load`)."""
    con = duckdb.connect()
    try:
        row = con.execute("PRAGMA platform").fetchone()
    finally:
        con.close()
    return str(row[0]) if row else "unknown"


def _key() -> str:
    return hashlib.sha256(SOURCE.read_bytes() + duckdb.__version__.encode() + _platform().encode()).hexdigest()[:16]


def footer(platform: str) -> bytes:
    """DuckDB's extension metadata: eight 32-byte fields, last first (magic "4", platform, C API
    version, extension version, ABI type), then a 256-byte signature, empty: unsigned."""
    fields = ["4", platform, C_API_VERSION, "1", "C_STRUCT", "", "", ""]
    return b"".join(f.encode().ljust(32, b"\0") for f in reversed(fields)) + b"\0" * 256


def build() -> Path | None:
    """Compile the extension for this source, DuckDB and platform unless a verified build exists;
    None when it cannot be (no C compiler, a compile error, no writable folder). Install-time only."""
    found = locate()
    if found is not None:
        return found
    for root in _roots():
        try:
            root.mkdir(parents=True, exist_ok=True, mode=0o755)
        except OSError:
            continue
        if not os.access(root, os.W_OK):
            continue
        target = root / _key() / f"{NAME}.duckdb_extension"
        built = _compile(_platform(), target)
        with _lock:
            _verified.pop(_key(), None)
        return built
    log.warning("no writable folder for the native checks: the Python kernels are used")
    return None


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _safe(path: Path) -> bool:
    """Nobody but this user (or root) can have replaced it: owner, and no group/other write."""
    me = os.geteuid()
    for p in (path, path.parent):
        st = p.stat()
        if st.st_uid not in (me, 0) or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            return False
    return True


def locate() -> Path | None:
    """The verified build for this source, DuckDB and platform, or None (never compiles)."""
    key = _key()
    with _lock:
        if key in _verified:
            return _verified[key]
        found = None
        for root in _roots():
            target = root / key / f"{NAME}.duckdb_extension"
            record = target.with_name(RECORD)
            try:
                if not (target.is_file() and record.is_file()):
                    continue
                wanted = json.loads(record.read_text())
                if not _safe(target) or not _safe(record):
                    log.warning("native checks at %s are writable by others: not loaded", target.parent)
                    continue
                if wanted.get("sha256") != _digest(target):
                    log.warning("native checks at %s do not match their recorded digest: not loaded", target.parent)
                    continue
            except (OSError, ValueError):
                continue
            found = target
            break
        _verified[key] = found
        return found


def _compile(platform: str, target: Path) -> Path | None:
    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        log.warning("no C compiler: quality checks use the Python kernels")
        return None
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
    os.chmod(target.parent, 0o755)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        out = Path(tmp) / "ybz_checks.so"
        try:
            done = subprocess.run([compiler, "-O2", "-shared", "-fPIC", "-o", str(out), str(SOURCE)],
                                  capture_output=True, text=True, check=False, timeout=120)
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.warning("no usable C compiler (%s): quality checks use the Python kernels", exc)
            return None
        if done.returncode != 0:
            log.warning("building the native checks failed, the Python kernels are used: %s", done.stderr[-2000:])
            return None
        with out.open("ab") as f:
            f.write(footer(platform))
        os.chmod(out, 0o644)
        record = {"sha256": _digest(out), "source_sha256": hashlib.sha256(SOURCE.read_bytes()).hexdigest(),
                  "duckdb": duckdb.__version__, "platform": platform}
        staged_record = Path(tmp) / RECORD
        staged_record.write_text(json.dumps(record, indent=1))
        os.chmod(staged_record, 0o644)
        # The file first, then its record: a reader never finds a record for a half-written file.
        os.replace(out, target)
        os.replace(staged_record, target.with_name(RECORD))
    return target


def connect(**config: object) -> duckdb.DuckDBPyConnection:
    """A connection that may load the verified extension: `allow_unsigned_extensions` is set on
    this connection only, and only when a verified build exists."""
    if locate() is not None:
        config = {**config, "allow_unsigned_extensions": True}
    return duckdb.connect(config=config)


def load(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the native functions are available on `con` (loading the verified build if need be)."""
    # deferred: keeps sqlglot out of this module's import
    from ..duck import load_extension

    path = locate()
    if path is None:  # no verified build: only what another caller loaded on `con` counts
        return _present(con)
    return load_extension(con, path, FUNCTIONS)  # it asks DuckDB once whether they are there


def _present(con: duckdb.DuckDBPyConnection) -> bool:
    return {r[0] for r in con.execute(
        "SELECT DISTINCT function_name FROM duckdb_functions() WHERE function_name LIKE 'ybz\\_native\\_%' ESCAPE '\\'"
    ).fetchall()} >= set(FUNCTIONS)
