"""The format checks as a native DuckDB extension (`ybz_checks.c`), built on first use.

Python kernels called from DuckDB cost a GIL hand-over per 2,048-row vector and run one at a
time; these run inside DuckDB's threads at a few nanoseconds per value. The extension is compiled
with the machine's C compiler into a cache directory keyed by the source, the DuckDB version and
the platform, given DuckDB's metadata footer, and loaded into connections opened with
`allow_unsigned_extensions` (the zone engine's). Without a compiler, or on a connection that may
not load it, `load` says no and the callers use the Python kernels: same answers, slower.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

import duckdb

log = logging.getLogger(__name__)

SOURCE = Path(__file__).with_name("ybz_checks.c")
NAME = "ybz_checks"  # DuckDB derives the entry point (ybz_checks_init_c_api) from the file name
C_API_VERSION = "v1.2.0"  # the stable C API table the extension asks for
FUNCTIONS = ("ybz_native_id_card", "ybz_native_uscc", "ybz_native_bank_card", "ybz_native_mobile",
             "ybz_native_landline", "ybz_native_email", "ybz_native_date_ymd")

_lock = threading.Lock()
_built: dict[str, Path | None] = {}


def _cache_root() -> Path:
    configured = os.environ.get("YBZ_NATIVE_CACHE")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "yibenzhang" / "native"


@functools.lru_cache(maxsize=1)
def _platform() -> str:
    """DuckDB's platform name (asked once per process: each evaluation calls `load`)."""
    con = duckdb.connect()
    try:
        row = con.execute("PRAGMA platform").fetchone()
    finally:
        con.close()
    return str(row[0]) if row else "unknown"


def footer(platform: str) -> bytes:
    """DuckDB's extension metadata: eight 32-byte fields, last first (magic "4", platform, C API
    version, extension version, ABI type), then a 256-byte signature, empty: unsigned."""
    fields = ["4", platform, C_API_VERSION, "1", "C_STRUCT", "", "", ""]
    return b"".join(f.encode().ljust(32, b"\0") for f in reversed(fields)) + b"\0" * 256


def build() -> Path | None:
    """The extension file, compiled now if this source has not been built here; None when it
    cannot be (no C compiler, a compile error)."""
    source = SOURCE.read_bytes()
    platform = _platform()
    key = hashlib.sha256(source + duckdb.__version__.encode() + platform.encode()).hexdigest()[:16]
    with _lock:
        if key in _built:
            return _built[key]
        target = _cache_root() / key / f"{NAME}.duckdb_extension"
        if not target.exists():
            target = _compile(platform, target)  # type: ignore[assignment]
        _built[key] = target
        return target


def _compile(platform: str, target: Path) -> Path | None:
    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        log.warning("no C compiler: quality checks use the Python kernels")
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
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
        staged = Path(tmp) / target.name
        out.replace(staged)
        os.replace(staged, target)  # atomic: another process never loads a half-written file
    return target


def load(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the native functions are available on `con` (loading them if need be)."""
    present = {r[0] for r in con.execute(
        "SELECT DISTINCT function_name FROM duckdb_functions() WHERE function_name LIKE 'ybz\\_native\\_%' ESCAPE '\\'"
    ).fetchall()}
    if present >= set(FUNCTIONS):
        return True
    path = build()
    if path is None:
        return False
    try:
        con.execute(f"LOAD '{path}'")
    except duckdb.Error as exc:  # a connection without allow_unsigned_extensions, say
        log.info("native checks not loaded on this connection: %s", exc)
        return False
    return True
