"""National cryptography (国密): SM3 digests and keyed SM3 (HMAC-SM3).

SM2 seals and SM4 encryption join here with the issues that need them (sharing, masking).
"""

from __future__ import annotations

import hmac as std_hmac
import json
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac


def sm3_hex(data: bytes) -> str:
    h = hashes.Hash(hashes.SM3())
    h.update(data)
    return h.finalize().hex()


def hmac_sm3_hex(key: bytes, data: bytes) -> str:
    h = crypto_hmac.HMAC(key, hashes.SM3())
    h.update(data)
    return h.finalize().hex()


def constant_time_equal(a: str, b: str) -> bool:
    return std_hmac.compare_digest(a.encode(), b.encode())


def canonical_json(value: Any) -> bytes:
    """The one byte form that digests and signatures are computed over."""
    return json.dumps(
        value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str
    ).encode("utf-8")
