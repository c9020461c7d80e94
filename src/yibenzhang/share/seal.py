"""The 数据共享专用章 (DOMAIN §5, 004:705): an SM2 signature (SM3 digest with the signer's Z value,
GB/T 32918) by an org's seal key over the canonical content of an approval.

Each org has one key pair, made on first use. The private key lives in
YBZ_HOME/keys/orgs/<uscc>.key, SM4-encrypted under a key derived from the platform secret; the
public key lives in the database, so anyone can verify a sealed document without trusting the key
the document itself names.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from pathlib import Path
from typing import Any

from gmssl import sm2
from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from ..config import get_settings
from ..crypto import canonical_json, sm4_decrypt, sm4_encrypt, sm4_key
from ..db import Base, UTCDateTime, utcnow
from ..orgs.model import Org

ALGORITHM = "SM2-SM3"
SEAL_NAME = "数据共享专用章"
_CURVE = sm2.default_ecc_table
_N = int(_CURVE["n"], 16)


class OrgSealKey(Base):
    __tablename__ = "org_seal_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"), unique=True)
    public_key: Mapped[str] = mapped_column(String(130))  # hex x||y, 128 characters
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def _key_path(uscc: str) -> Path:
    return get_settings().keys_dir / "orgs" / f"{uscc}.key"


def _file_key() -> bytes:
    return sm4_key(get_settings().secret_key, "org-seal")


def _new_pair() -> tuple[str, str]:
    """(private, public) hex. The private scalar comes from `secrets`, not gmssl's random_hex
    (which draws from the non-cryptographic `random`)."""
    d = secrets.randbelow(_N - 2) + 1
    private = f"{d:064x}"
    signer = sm2.CryptSM2(private_key=private, public_key="")
    public = signer._kg(d, _CURVE["g"])  # d·G on the SM2 curve
    return private, public


def ensure_key(session: Session, org: Org) -> OrgSealKey:
    """The org's seal key, created (file first, then the row) if it has none."""
    row = session.execute(select(OrgSealKey).where(OrgSealKey.org_id == org.id)).scalar_one_or_none()
    path = _key_path(org.uscc)
    if row is not None and path.exists():
        return row
    private, public = _new_pair()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(sm4_encrypt(_file_key(), private.encode()))
    tmp.chmod(0o600)
    tmp.replace(path)  # atomic: a half-written key file is never read
    if row is None:
        row = OrgSealKey(org_id=org.id, public_key=public)
        session.add(row)
    else:  # the file was lost: a new key, earlier seals no longer verify against this org
        row.public_key = public
        row.created_at = utcnow()
    session.flush()
    return row


def _signer(private: str, public: str) -> sm2.CryptSM2:
    """gmssl's constructor strips a leading "04" (the uncompressed-point marker) with
    `lstrip("04")`, which eats every leading 0 and 4 of an x||y key that happens to begin with
    "04" (one key in 256): set the key after construction instead."""
    signer = sm2.CryptSM2(private_key=private, public_key="")
    signer.public_key = public
    return signer


def _private(org: Org) -> str:
    return sm4_decrypt(_file_key(), _key_path(org.uscc).read_bytes()).decode()


def seal(session: Session, org: Org, content: dict[str, Any]) -> dict[str, Any]:
    """A sealed document: the content and the org's signature over its canonical JSON."""
    key = ensure_key(session, org)
    signer = _signer(_private(org), key.public_key)
    signature = signer.sign_with_sm3(canonical_json(content), secrets.token_hex(32))
    return {
        "content": content,
        "seal": {"name": SEAL_NAME, "algorithm": ALGORITHM, "org_uscc": org.uscc, "org_name": org.name,
                 "public_key": key.public_key, "signature": signature},
    }


def verify(session: Session, document: Any) -> dict[str, Any]:
    """valid/invalid with a reason code; never raises on a malformed document."""
    if not isinstance(document, dict) or not isinstance(document.get("seal"), dict) \
            or not isinstance(document.get("content"), dict):
        return {"valid": False, "reason": "malformed"}
    info = document["seal"]
    uscc, signature = info.get("org_uscc"), info.get("signature")
    if not isinstance(uscc, str) or not isinstance(signature, str) or info.get("algorithm") != ALGORITHM:
        return {"valid": False, "reason": "malformed"}
    org = session.execute(select(Org).where(Org.uscc == uscc)).scalar_one_or_none()
    key = session.execute(select(OrgSealKey).where(OrgSealKey.org_id == org.id)).scalar_one_or_none() \
        if org else None
    if key is None:
        return {"valid": False, "reason": "unknown_org"}
    try:
        ok = _signer("", key.public_key).verify_with_sm3(
            signature, canonical_json(document["content"]))
    except (ValueError, TypeError, IndexError):
        ok = False
    return {"valid": bool(ok), "reason": None if ok else "signature_mismatch",
            "org_uscc": org.uscc if org else None, "org_name": org.name if org else None}
