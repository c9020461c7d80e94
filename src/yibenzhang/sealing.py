"""Sensitive free text at rest under SM4 (issue 23; GB/T 39786-2021 8.4 d 重要数据存储机密性,
GB/T 22239-2019 8.1.4.8 数据保密性).

A column typed `SealedText` / `SealedJSON` holds "sm4:<key id>:<base64 of crypto.sm4_encrypt>":
SM4-CTR with a random IV and an HMAC-SM3 tag, under a key from the key ring. The ring is
YBZ_DATA_KEYS ("id:64 hex, id:64 hex", the first encrypts, all decrypt), managed by the
security administrator; without it one key is derived from YBZ_SECRET_KEY. `rotate` re-seals
every sealed column under the first key, so an old key can then leave the ring.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from sqlalchemy import JSON, Table, Text, select, update
from sqlalchemy.orm import Session
from sqlalchemy.types import TypeDecorator

from .access import Actor, can_administer_security, require
from .config import get_security, get_settings
from .crypto import sm4_decrypt, sm4_encrypt, sm4_key
from .ledger import service as ledger

PREFIX = "sm4:"
DERIVED_ID = "k0"


class KeyRingError(ValueError):
    pass


def keyring() -> list[tuple[str, bytes]]:
    """(id, 32-byte key) pairs, the encrypting key first."""
    raw = get_security().data_keys.strip()
    if not raw:
        return [(DERIVED_ID, sm4_key(get_settings().secret_key, "data-at-rest"))]
    ring = []
    for entry in raw.split(","):
        kid, _, hexkey = entry.strip().partition(":")
        key = bytes.fromhex(hexkey)
        if not kid or ":" in kid or len(key) != 32:
            raise KeyRingError("YBZ_DATA_KEYS entries are id:64-hex-digits")
        ring.append((kid, key))
    return ring


def seal(text: str) -> str:
    kid, key = keyring()[0]
    return f"{PREFIX}{kid}:{base64.b64encode(sm4_encrypt(key, text.encode('utf-8'))).decode()}"


def is_sealed(value: object) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def unseal(value: str) -> str:
    if not is_sealed(value):
        return value  # a row from before the migration sealed it
    kid, _, body = value[len(PREFIX):].partition(":")
    for ring_id, key in keyring():
        if ring_id == kid:
            return sm4_decrypt(key, base64.b64decode(body)).decode("utf-8")
    raise KeyRingError(f"data key {kid!r} is not in the key ring")


def key_id_of(value: str) -> str | None:
    return value[len(PREFIX):].partition(":")[0] if is_sealed(value) else None


class SealedText(TypeDecorator[str]):
    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else seal(value)

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else unseal(value)


class SealedJSON(TypeDecorator[Any]):
    """A JSON column whose value is stored as one sealed JSON string (same column type)."""

    impl = JSON
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> Any:
        return None if value is None else seal(json.dumps(value, ensure_ascii=False, sort_keys=True))

    def process_result_value(self, value: Any, dialect: Any) -> Any:
        return json.loads(unseal(value)) if is_sealed(value) else value


def sealed_columns() -> dict[Table, list[str]]:
    # cycle: models loads every table module through the plugins, and they import this module
    from .models import metadata

    out: dict[Table, list[str]] = {}
    for table in metadata.sorted_tables:
        cols = [c.name for c in table.columns if isinstance(c.type, SealedText | SealedJSON)]
        if cols:
            out[table] = cols
    return out


def rotate(session: Session, actor: Actor) -> dict[str, int]:
    """Re-seal every sealed value under the ring's first key; the security administrator's act."""

    require(can_administer_security(actor), "轮换数据密钥")
    kid = keyring()[0][0]
    counts: dict[str, int] = {}
    for table, cols in sealed_columns().items():
        pk = list(table.primary_key.columns)
        n = 0
        for row in session.execute(select(*pk, *(table.c[c] for c in cols))).all():
            values = {c: row._mapping[table.c[c]] for c in cols}
            session.execute(update(table).where(*(p == row._mapping[p] for p in pk)).values(**values))
            n += 1
        counts[table.name] = n
    ledger.append(session, actor, "keys.rotate", "data_keys", kid, {"rows": counts})
    return counts


__all__ = ["SealedJSON", "SealedText", "key_id_of", "keyring", "rotate", "seal", "sealed_columns", "unseal"]
