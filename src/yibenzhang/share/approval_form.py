"""The 审批单 of a share request (issue 17): the approval as a person reads, prints and files it —
the request, its items and purpose, each decision with the name of who took it and the day, the
数据共享专用章 with the sealing org's name, the platform's verification of the seal — and a short
check code that lets anyone holding the paper confirm it online without an account.

The check code is the first 16 hex digits of the SM3 digest of the sealed document: printed on
the form, it proves that its holder saw this very document, so the public check page can show
that the seal is valid without letting anyone enumerate requests by number."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..access import Actor
from ..crypto import canonical_json, sm3_hex
from ..errors import NotFound
from ..i18n import N_
from ..orgs.model import Org, User
from . import requests as svc
from . import seal as sealing

CODE_DIGITS = 16


def check_code(sealed: dict[str, Any]) -> str:
    return sm3_hex(canonical_json(sealed))[:CODE_DIGITS]


def _names(session: Session, decisions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each decision with the display name of who took it and the name of the org it acted for."""
    usernames = {d["by"] for d in decisions if d.get("by")}
    people = dict(session.execute(select(User.username, User.display_name)
                                  .where(User.username.in_(usernames))).all()) if usernames else {}
    out = []
    for d in decisions:
        org = session.get(Org, d["org_id"]) if d.get("org_id") else None
        out.append(d | {"by_name": people.get(d.get("by") or "", d.get("by") or N_("平台（按规则自动办理）")),
                        "org_name": org.name if org else N_("本级数据主管部门")})
    return out


def approval_form(session: Session, actor: Actor, request_id: int) -> dict[str, Any]:
    """The form's content for someone who may read the request (404 otherwise)."""
    req = svc.get_request(session, actor, request_id)
    view = svc.request_dict(session, req)
    view["decisions"] = _names(session, view["decisions"])
    if req.sealed:
        view["seal_check"] = sealing.verify(session, req.sealed)
        view["check_code"] = check_code(req.sealed)
        view["sealed_at"] = req.sealed["content"].get("sealed_at")
        view["seal_org_name"] = req.sealed["seal"].get("org_name")
        view["signature"] = req.sealed["seal"].get("signature")
    return view


def public_check(session: Session, request_id: int, code: str) -> dict[str, Any]:
    """What the check page shows to anyone holding the printed form: whether the seal is valid, who
    sealed what for whom and when — no purpose or reason texts (they may name people)."""
    req = session.get(svc.ShareRequest, request_id)
    if req is None or not req.sealed or code.lower() != check_code(req.sealed):
        raise NotFound(f"审批单 {request_id}", "approval_form_not_found")
    view = svc.request_dict(session, req)
    result = sealing.verify(session, req.sealed)
    return {"valid": result["valid"], "reason": result.get("reason"), "request_id": req.id,
            "seal_org_name": req.sealed["seal"].get("org_name"), "sealed_at": req.sealed["content"].get("sealed_at"),
            "resource_name": view["resource_name"], "resource_code": view["resource_code"],
            "consumer_org_name": view["consumer_org_name"], "provider_org_name": view["provider_org_name"],
            "items": view["items"], "period_from": view["period_from"], "period_to": view["period_to"],
            "state": req.state}
