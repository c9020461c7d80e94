"""In-memory snapshots of what a grant lets out, for the data service's hot path (issue 5).

A row snapshot is the result of the grant's masked query over the resource's whole current
relation (granted items only, masked for 共享, 回流 scope applied), ordered by the zone position
(`_batch`, `_row`) — the very rows the per-call query returns, computed once per resource
version instead of once per page. A page is then a binary search for the keyset cursor plus a
slice; an equality filter on a clear item is a lookup in a per-column index (value → ascending
positions) built on first use. Snapshots are immutable, so every call sees one consistent state.

A verification snapshot holds, per granted item, a 128-bit digest (SHA-256 with a per-process
random salt) of the normalised stored value `trim(CAST(v AS VARCHAR))` — the same normalisation
the per-call query used — so a check is a hash lookup of the key and a constant-time comparison
of digests, and the process keeps no clear value for verification.

Snapshots are keyed by the SQL they were built from, which names the batches of the current
relation: publishing a batch changes the relation, hence the key, hence the snapshot. They are
kept in a least-recently-used cache bounded in bytes (YBZ_SHARE_SNAPSHOT_MB) and built only for
resources up to YBZ_SHARE_SNAPSHOT_ROWS rows; larger ones are served by the per-call query.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

MAX_ROWS = int(os.environ.get("YBZ_SHARE_SNAPSHOT_ROWS") or 5_000_000)
MAX_BYTES = int(float(os.environ.get("YBZ_SHARE_SNAPSHOT_MB") or 1024) * 1024 * 1024)
POSITION_COLUMNS = ("_batch", "_row")
DIGEST_BYTES = 16


def enabled() -> bool:
    return (os.environ.get("YBZ_SHARE_SNAPSHOTS") or "on").lower() not in ("off", "0", "false", "no")


@dataclass
class _Index:
    """Positions of each distinct value of one column, ascending within a value."""

    codes: dict[Any, int]
    order: np.ndarray
    starts: np.ndarray

    @classmethod
    def of(cls, column: pa.ChunkedArray | pa.Array) -> _Index:
        arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
        enc = pc.dictionary_encode(arr)
        values = enc.dictionary.to_pylist()
        n = len(values)
        codes = enc.indices.fill_null(n).to_numpy(zero_copy_only=False).astype(np.int64)
        order = np.argsort(codes, kind="stable")  # stable: positions stay ascending per value
        starts = np.zeros(n + 2, dtype=np.int64)
        np.cumsum(np.bincount(codes, minlength=n + 1), out=starts[1:])
        return cls({v: i for i, v in enumerate(values) if v is not None}, order, starts)

    def positions(self, value: Any) -> np.ndarray:
        code = self.codes.get(value)
        if code is None:
            return np.zeros(0, dtype=np.int64)
        return self.order[self.starts[code]:self.starts[code + 1]]

    @property
    def nbytes(self) -> int:
        return int(self.order.nbytes + self.starts.nbytes) + 64 * len(self.codes)


JSON_SAFE = (pa.types.is_string, pa.types.is_large_string, pa.types.is_integer, pa.types.is_boolean)


class _LazyIndexes:
    """Value indexes over the snapshot's columns, each built on first use (once, under the lock)."""

    table: pa.Table
    _indexes: dict[str, _Index]
    _lock: threading.Lock

    def index(self, column: str) -> _Index:
        got = self._indexes.get(column)
        if got is None:
            with self._lock:
                got = self._indexes.get(column)
                if got is None:
                    got = self._indexes[column] = _Index.of(self.table.column(column))
        return got

    def _indexes_nbytes(self) -> int:
        return sum(i.nbytes for i in self._indexes.values())


@dataclass
class Snapshot(_LazyIndexes):
    """Rows in zone order with their keyset positions and lazily built value indexes; when every
    column is text, integer or boolean, also each row as JSON text (a page is then a join)."""

    table: pa.Table
    keys: np.ndarray  # (_batch << 32) | _row, ascending
    built_seconds: float
    json: pa.Array | None = None
    _indexes: dict[str, _Index] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def of(cls, table: pa.Table, built_seconds: float) -> Snapshot:
        batch = table.column("_batch").to_numpy().astype(np.int64)
        row = table.column("_row").to_numpy().astype(np.int64)
        keys = (batch << 32) | row
        # One chunk per column: a take over DuckDB's thousands of small chunks is 100× slower.
        return cls(table.drop_columns(list(POSITION_COLUMNS)).combine_chunks(), keys, built_seconds)

    @property
    def json_safe(self) -> bool:
        return all(any(t(f.type) for t in JSON_SAFE) for f in self.table.schema)

    @property
    def num_rows(self) -> int:
        return self.table.num_rows

    @property
    def nbytes(self) -> int:
        return (int(self.table.nbytes + self.keys.nbytes) + (self.json.nbytes if self.json is not None else 0)
                + self._indexes_nbytes())

    def matching(self, equal: dict[str, Any]) -> np.ndarray | None:
        """Ascending positions of the rows whose columns equal the given values (None: all)."""
        found: np.ndarray | None = None
        for column, value in equal.items():
            pos = self.index(column).positions(value)
            found = pos if found is None else np.intersect1d(found, pos, assume_unique=True)
        return found

    def positions(self, equal: dict[str, Any], limit: int,
                  after: tuple[int, int] | None) -> tuple[int, np.ndarray | None]:
        """The page's rows: (start, None) for the contiguous rows start … start+limit (no
        filter), else (0, their positions)."""
        start = 0
        if after is not None:
            start = int(np.searchsorted(self.keys, (after[0] << 32) | after[1], side="right"))
        found = self.matching(equal)
        if found is None:
            return start, None
        i = int(np.searchsorted(found, start, side="left"))
        return 0, found[i:i + limit]

    def _take(self, data: pa.Table | pa.Array, start: int, take: np.ndarray | None, limit: int) -> Any:
        if take is None:  # the unfiltered page is a zero-copy slice
            return data.slice(start, limit)
        return data.take(pa.array(take)) if len(take) else data.slice(0, 0)

    def _keys(self, start: int, take: np.ndarray | None, limit: int) -> np.ndarray:
        return self.keys[start:start + limit] if take is None else self.keys[take]

    def page(self, equal: dict[str, Any], limit: int, after: tuple[int, int] | None) -> tuple[list[str], list[tuple]]:
        """Up to `limit` rows after the cursor, as the per-call query returns them: the columns,
        then `_batch` and `_row`."""
        start, take = self.positions(equal, limit, after)
        names = self.table.column_names
        part = self._take(self.table, start, take, limit)
        if not part.num_rows:
            return [*names, *POSITION_COLUMNS], []
        cols = [part.column(c).to_pylist() for c in names]
        keys = self._keys(start, take, limit)
        cols += [(keys >> 32).tolist(), (keys & 0xFFFFFFFF).tolist()]
        return [*names, *POSITION_COLUMNS], list(zip(*cols, strict=True))

    def page_json(self, equal: dict[str, Any], limit: int,
                  after: tuple[int, int] | None) -> tuple[list[str], tuple[int, int] | None]:
        """The page's rows as JSON texts, and the (_batch, _row) of its last row."""
        assert self.json is not None
        start, take = self.positions(equal, limit, after)
        texts = self._take(self.json, start, take, limit).to_pylist()
        if not texts:
            return [], None
        last = int(self._keys(start, take, limit)[len(texts) - 1])
        return texts, (last >> 32, last & 0xFFFFFFFF)


# --- verification ----------------------------------------------------------------------------

SALT = secrets.token_hex(16)  # per process: digests are never stored or sent anywhere


def digest(normalised: str) -> bytes:
    return hashlib.sha256((SALT + normalised).encode()).digest()[:DIGEST_BYTES]


def digest_expr(expr: exp.Expression) -> exp.Expression:
    """The plan twin of `digest` over an already normalised text expression."""
    hexed = exp.func("sha256", exp.DPipe(this=exp.Literal.string(SALT), expression=expr))
    return exp.func("unhex", exp.func("left", hexed, exp.Literal.number(DIGEST_BYTES * 2)))


@dataclass
class DigestSnapshot(_LazyIndexes):
    """Per granted item, the digest of each row's normalised value (null stays null)."""

    table: pa.Table
    built_seconds: float
    _indexes: dict[str, _Index] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def nbytes(self) -> int:
        return int(self.table.nbytes) + self._indexes_nbytes()

    def check(self, key: dict[str, bytes], claims: dict[str, bytes]) -> dict[str, bool]:
        """Per claim: does any row found by the key hold that value? (No row: all false.)"""
        found: np.ndarray | None = None
        for column, d in key.items():
            pos = self.index(column).positions(d)
            found = pos if found is None else np.intersect1d(found, pos, assume_unique=True)
        out = {}
        for column, d in claims.items():
            stored = self.table.column(column).take(pa.array(found)).to_pylist() if found is not None and len(found) \
                else []
            match = False
            for s in stored:  # every stored digest is compared: no early exit to time
                match |= s is not None and hmac.compare_digest(s, d)
            out[column] = match
        return out


# --- the cache -------------------------------------------------------------------------------

_cache: OrderedDict[str, Any] = OrderedDict()
_building: dict[str, threading.Lock] = {}
_lock = threading.Lock()
STATS = {"built": 0, "hits": 0, "evicted": 0}


def has(key: str) -> bool:
    return key in _cache


def peek(key: str) -> Any | None:
    with _lock:
        got = _cache.get(key)
        if got is not None:
            _cache.move_to_end(key)
            STATS["hits"] += 1
        return got


def get(key: str, build: Callable[[], Any]) -> Any:
    """The snapshot for `key`, built once (concurrent callers wait for the one build)."""
    got = peek(key)
    if got is not None:
        return got
    with _lock:
        gate = _building.setdefault(key, threading.Lock())
    with gate:
        got = peek(key)
        if got is None:
            got = build()
            with _lock:
                _cache[key] = got
                STATS["built"] += 1
                _building.pop(key, None)
                _evict()
    return got


def _evict() -> None:
    total = sum(s.nbytes for s in _cache.values())
    while len(_cache) > 1 and total > MAX_BYTES:
        _, old = _cache.popitem(last=False)
        total -= old.nbytes
        STATS["evicted"] += 1


def discard(key: str) -> None:
    """Forget one snapshot (e.g. a grant's superseded version) so its memory goes at once."""
    with _lock:
        _cache.pop(key, None)


def clear() -> None:
    with _lock:
        _cache.clear()


def timed(build: Callable[[], pa.Table], wrap: Callable[[pa.Table, float], Any]) -> Callable[[], Any]:
    def run() -> Any:
        t0 = time.perf_counter()
        table = build()
        return wrap(table, time.perf_counter() - t0)
    return run
