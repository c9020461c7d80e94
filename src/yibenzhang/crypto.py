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


# --- SM4 (secrets at rest, e.g. a source database's password) ----------------------------
SM4_VERSION = b"\x01"


def sm4_key(secret: str, purpose: str) -> bytes:
    """32 bytes derived from the platform secret for one purpose: 16 to encrypt, 16 to seal."""
    return bytes.fromhex(hmac_sm3_hex(secret.encode(), f"sm4:{purpose}".encode()))


def sm4_encrypt(key: bytes, plaintext: bytes) -> bytes:
    """SM4-CTR with a random IV, then HMAC-SM3 over version, IV and ciphertext (CTR alone is
    malleable). Layout: version(1) | iv(16) | ciphertext | tag(32)."""
    import os

    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    iv = os.urandom(16)
    enc = Cipher(algorithms.SM4(key[:16]), modes.CTR(iv)).encryptor()
    body = SM4_VERSION + iv + enc.update(plaintext) + enc.finalize()
    return body + bytes.fromhex(hmac_sm3_hex(key[16:], body))


def sm4_decrypt(key: bytes, blob: bytes) -> bytes:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    body, tag = blob[:-32], blob[-32:]
    if len(body) < 17 or body[:1] != SM4_VERSION or not constant_time_equal(
        hmac_sm3_hex(key[16:], body), tag.hex()
    ):
        raise ValueError("SM4 blob is damaged or was sealed with another key")
    dec = Cipher(algorithms.SM4(key[:16]), modes.CTR(body[1:17])).decryptor()
    return dec.update(body[17:]) + dec.finalize()
