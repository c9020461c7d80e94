"""Registration certificates (数据产品登记证书, DOMAIN §7, §9).

A certificate is a sealed document `{content, seal}` (share/seal.py: the authority org's SM2 key,
SM3 digest with the signer's Z value): `content` holds the registration facts, the three rights
and their holders, the product content (its fields and the output digests of its sandbox runs)
and `product_digest` = SM3 over the canonical JSON of that product content.

`verify` (anyone) checks, in order, and names the first failure:
1. the document's shape (`malformed`);
2. the product digest recomputed from the product content (`digest_mismatch`);
3. the authority's signature over the whole content (`signature_mismatch`, `unknown_org`);
4. the register: the code is known with the same digest (`not_registered`, `register_mismatch`),
   and still in force (`superseded`, `cancelled`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..enums import OrgKind
from ..errors import NotFound
from ..i18n import N_, translate
from ..orgs.model import Org, Region
from ..share import seal as sealing
from .model import Product, Registration, RegistrationState
from .products import content_digest, product_content

TITLE = "数据产品登记证书"
SEAL_NAME = N_("数据产品登记专用章")
REASONS = {
    "malformed": N_("证书格式不正确"),
    "digest_mismatch": N_("产品内容与证书中的产品摘要不一致，证书已被篡改"),
    "signature_mismatch": N_("数据主管部门的签名与证书内容不符，证书已被篡改"),
    "unknown_org": N_("签发机构不是平台已知的数据主管部门"),
    "not_registered": N_("登记编码不存在"),
    "register_mismatch": N_("证书与登记簿中的记录不一致"),
    "superseded": N_("该登记已被变更或更正登记取代"),
    "cancelled": N_("该登记已注销"),
}


def authority_org(session: Session, region_id: int) -> Org:
    """The data authority of the region, or of the nearest region above it."""
    region = session.get(Region, region_id)
    while region is not None:
        org = session.execute(select(Org).where(Org.region_id == region.id, Org.kind == OrgKind.AUTHORITY.value)
                              .order_by(Org.id).limit(1)).scalar_one_or_none()
        if org is not None:
            return org
        region = session.get(Region, region.parent_id) if region.parent_id else None
    raise NotFound("数据主管部门", "authority_not_found")


def certificate_content(session: Session, reg: Registration, product: Product) -> dict[str, Any]:
    content = product_content(session, product)
    region = session.get(Region, product.region_id)
    return {
        "title": TITLE, "code": reg.code, "registration_id": reg.id, "kind": reg.kind,
        "previous_code": _previous_code(session, reg), "division": reg.division,
        "region_name": region.name if region else None,
        "applied_on": reg.applied_on.isoformat(), "publicity_from": _iso(reg.publicity_from),
        "publicity_until": _iso(reg.publicity_until), "coded_on": _iso(reg.coded_on),
        "rights": dict(reg.rights or {}), "product": content, "product_digest": content_digest(content),
        "digest_algorithm": "SM3",
    }


def _iso(day: Any) -> str | None:
    return day.isoformat() if day else None


def _previous_code(session: Session, reg: Registration) -> str | None:
    prev = session.get(Registration, reg.previous_id) if reg.previous_id else None
    return prev.code if prev else None


def issue(session: Session, reg: Registration, product: Product) -> dict[str, Any]:
    org = authority_org(session, product.region_id)
    document = sealing.seal(session, org, certificate_content(session, reg, product))
    document["seal"]["name"] = SEAL_NAME  # the name is not signed; the key and algorithm are the org's seal
    return document


def _fail(reason: str, **extra: Any) -> dict[str, Any]:
    return {"valid": False, "reason": reason, "message": REASONS[reason],
            "message_en": translate(REASONS[reason], "en"), **extra}


def verify(session: Session, document: Any) -> dict[str, Any]:
    """valid/invalid with a reason; never raises on a malformed document."""
    if not isinstance(document, dict) or not isinstance(document.get("content"), dict) \
            or not isinstance(document.get("seal"), dict):
        return _fail("malformed")
    content = document["content"]
    product, claimed, code = content.get("product"), content.get("product_digest"), content.get("code")
    if not isinstance(product, dict) or not isinstance(claimed, str) or not isinstance(code, str):
        return _fail("malformed")
    digest = content_digest(product)
    if digest != claimed:
        return _fail("digest_mismatch", code=code, computed_digest=digest)
    sealed = sealing.verify(session, document)
    if not sealed.get("valid"):
        return _fail(sealed.get("reason") if sealed.get("reason") in REASONS else "signature_mismatch", code=code)
    signer = session.execute(select(Org).where(Org.uscc == sealed.get("org_uscc"))).scalar_one_or_none()
    if signer is None or signer.kind != OrgKind.AUTHORITY.value:
        return _fail("unknown_org", code=code)
    reg = session.execute(select(Registration).where(Registration.code == code)).scalar_one_or_none()
    if reg is None:
        return _fail("not_registered", code=code)
    if reg.product_digest != digest:
        return _fail("register_mismatch", code=code)
    if reg.state == RegistrationState.SUPERSEDED.value:
        return _fail("superseded", code=code)
    if reg.state == RegistrationState.CANCELLED.value:
        return _fail("cancelled", code=code)
    return {"valid": True, "reason": None, "message": "证书有效", "message_en": translate("证书有效", "en"),
            "code": code, "product_digest": digest, "state": reg.state, "signed_by": sealed.get("org_name"),
            "signer_uscc": sealed.get("org_uscc")}


def by_code(session: Session, code: str) -> Registration:
    reg = session.execute(select(Registration).where(Registration.code == code)).scalar_one_or_none()
    if reg is None or reg.certificate is None:
        raise NotFound(f"登记证书 {code}", "certificate_not_found")
    return reg
