"""Where the zone's objects live: a local folder or S3-compatible object storage, behind one
filesystem abstraction (pyarrow.fs), so storage code has one path for both.

Why pyarrow.fs: PyArrow is already the zone's Parquet library; its `S3FileSystem` (AWS SDK for
C++) and `LocalFileSystem` share one interface that `pyarrow.parquet` reads and writes through
directly, with no second S3 client. DuckDB reaches the same filesystem object through fsspec's
`ArrowFSWrapper` registered on each connection (`register`): DuckDB's own `httpfs` extension is
not used because no package of it matches the installed DuckDB (the wheel on the registry is
1.5.5, DuckDB is 2.x) and extensions cannot be downloaded at run time. The credentials live in
the filesystem object only — never in SQL text, so never in a logged statement.

Paths: a batch's files are named by URIs (`uri`): the absolute local path, or
`s3://bucket/prefix/<relative>`. The manifest keeps paths relative to the zone's root.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pyarrow.fs as pafs
import pyarrow.parquet as pq

from ..config import get_settings
from ..errors import DomainError


@dataclass(frozen=True)
class Entry:
    relative: str  # relative to the zone's root, with forward slashes
    size: int
    mtime: float  # seconds since the epoch (0 when the store does not say)


class ZoneStore:
    """The zone's root on one filesystem: `base` is the root's path inside `fs` (a local absolute
    path, or `bucket/prefix`)."""

    def __init__(self, fs: pafs.FileSystem, base: str, *, s3: bool) -> None:
        self.fs = fs
        self.base = base.rstrip("/")
        self.is_s3 = s3
        self._fsspec: Any = None

    # --- naming ---------------------------------------------------------------------------

    @property
    def root_uri(self) -> str:
        return f"s3://{self.base}" if self.is_s3 else self.base

    def path(self, relative: str) -> str:
        """The path inside `fs` of a path relative to the root."""
        return posixpath.join(self.base, relative) if relative else self.base

    def uri(self, relative: str) -> str:
        """What an engine is handed for a file: an absolute local path or an s3:// URI."""
        return f"s3://{self.path(relative)}" if self.is_s3 else self.path(relative)

    def fs_path(self, uri: str) -> str:
        """The path inside `fs` of a URI from `uri` (or of a local absolute path)."""
        return uri[len("s3://"):] if uri.startswith("s3://") else uri

    # --- files ----------------------------------------------------------------------------

    def read_metadata(self, uri: str) -> pq.FileMetaData:
        with self.fs.open_input_file(self.fs_path(uri)) as f:
            return pq.read_metadata(f)

    def open_input(self, relative: str) -> Any:
        return self.fs.open_input_stream(self.path(relative))

    def read_bytes(self, relative: str) -> bytes:
        with self.open_input(relative) as f:
            return f.read()

    def write_bytes(self, relative: str, data: bytes) -> None:
        if not self.is_s3:
            Path(self.path(relative)).parent.mkdir(parents=True, exist_ok=True)
        with self.fs.open_output_stream(self.path(relative)) as f:
            f.write(data)

    def write_atomic(self, relative: str, data: bytes) -> None:
        """A file that appears whole or not at all: locally a temporary name, then a rename; on
        S3 one PUT (an object is visible only once its upload completed)."""
        if self.is_s3:
            self.write_bytes(relative, data)
            return
        final = Path(self.path(relative))
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.with_name(f".{final.name}.tmp-{os.getpid()}")
        tmp.write_bytes(data)
        os.replace(tmp, final)

    def put_file(self, local: Path, relative: str) -> None:
        """Upload (or copy) one local file to `relative`."""
        if not self.is_s3:
            Path(self.path(relative)).parent.mkdir(parents=True, exist_ok=True)
        pafs.copy_files(str(local), self.path(relative), source_filesystem=pafs.LocalFileSystem(),
                        destination_filesystem=self.fs)

    def get_file(self, relative: str, local: Path) -> None:
        local.parent.mkdir(parents=True, exist_ok=True)
        pafs.copy_files(self.path(relative), str(local), source_filesystem=self.fs,
                        destination_filesystem=pafs.LocalFileSystem())

    def local_file(self, relative: str) -> Path | None:
        """A local path holding the file at `relative`, or None when there is none. On S3 the
        object is fetched once into the scratch folder's cache: batch objects never change (a new
        batch gets a new prefix), so a cached copy is never stale."""
        if not self.is_s3:
            path = Path(self.path(relative))
            return path if path.is_file() else None
        cached = get_settings().zone / ".cache" / relative
        if cached.is_file():
            return cached
        if not self.exists(relative):
            return None
        tmp = cached.with_name(f".{cached.name}.{os.getpid()}.tmp")
        self.get_file(relative, tmp)
        os.replace(tmp, cached)
        return cached

    def exists(self, relative: str) -> bool:
        return self.fs.get_file_info(self.path(relative)).type != pafs.FileType.NotFound

    def size(self, relative: str) -> int:
        return int(self.fs.get_file_info(self.path(relative)).size or 0)

    def delete_prefix(self, relative: str) -> None:
        """Remove everything under `relative` (a batch's folder or prefix)."""
        info = self.fs.get_file_info(self.path(relative))
        if info.type == pafs.FileType.Directory:
            self.fs.delete_dir(self.path(relative))
        elif info.type == pafs.FileType.File:
            self.fs.delete_file(self.path(relative))

    def delete_file(self, relative: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.fs.delete_file(self.path(relative))

    def files(self, relative: str = "") -> list[Entry]:
        """Every file under `relative` (recursively), relative to the root."""
        selector = pafs.FileSelector(self.path(relative), recursive=True, allow_not_found=True)
        out = []
        for info in self.fs.get_file_info(selector):
            if info.type != pafs.FileType.File:
                continue
            rel = posixpath.relpath(info.path, self.base)
            mtime = info.mtime.timestamp() if info.mtime is not None else 0.0
            out.append(Entry(rel, int(info.size or 0), mtime))
        return out

    def check(self) -> None:
        """Raise when the store cannot be reached (for readiness checks and start-up)."""
        self.fs.get_file_info(pafs.FileSelector(self.base, recursive=False, allow_not_found=True))

    # --- DuckDB ---------------------------------------------------------------------------

    def register(self, con: Any) -> None:
        """Let a DuckDB connection read and write s3:// URIs through this store's filesystem."""
        if not self.is_s3:
            return
        if self._fsspec is None:
            from fsspec.implementations.arrow import ArrowFSWrapper

            class _S3(ArrowFSWrapper):  # DuckDB routes a path to the filesystem of its protocol
                protocol = ("s3",)

            self._fsspec = _S3(self.fs)
        con.register_filesystem(self._fsspec)


def _s3(uri: str, endpoint: str | None, region: str, access_key: str | None, secret_key: str | None,
        *, create_bucket: bool = False) -> ZoneStore:
    parsed = urlparse(uri)
    if not parsed.netloc:
        raise DomainError("zone_uri_invalid", "数据区地址“{value}”无效", value=uri)
    kwargs: dict[str, Any] = {"region": region, "allow_bucket_creation": create_bucket,
                              "request_timeout": 30, "connect_timeout": 5}
    if endpoint:
        ep = urlparse(endpoint if "://" in endpoint else f"https://{endpoint}")
        kwargs["endpoint_override"] = ep.netloc
        kwargs["scheme"] = ep.scheme
    if access_key:
        kwargs["access_key"] = access_key
        kwargs["secret_key"] = secret_key or ""
    fs = pafs.S3FileSystem(**kwargs)
    base = (parsed.netloc + parsed.path).rstrip("/")
    return ZoneStore(fs, base, s3=True)


@lru_cache(maxsize=4)
def _store(zone_uri: str, endpoint: str | None, region: str, access_key: str | None,
           secret_key: str | None) -> ZoneStore:
    if zone_uri.startswith("s3://"):
        return _s3(zone_uri, endpoint, region, access_key, secret_key)
    os.makedirs(zone_uri, exist_ok=True)
    return ZoneStore(pafs.LocalFileSystem(), zone_uri, s3=False)


def get_store() -> ZoneStore:
    """The zone's store for the current settings (one per distinct configuration)."""
    s = get_settings()
    return _store(s.zone_uri or str(s.zone), s.s3_endpoint, s.s3_region, s.s3_access_key, s.s3_secret_key)


def make_bucket(zone_uri: str, endpoint: str | None, region: str, access_key: str | None,
                secret_key: str | None) -> None:
    """Create the bucket of an s3:// zone (set-up and tests; production buckets are made by their
    operators)."""
    store = _s3(zone_uri, endpoint, region, access_key, secret_key, create_bucket=True)
    store.fs.create_dir(urlparse(zone_uri).netloc)
