"""Worker jobs of authorized operation: each morning, authorizations whose term ended are
recorded as expired — once, in their history and in the ledger — so the evidence shows when an
operator lost access (the state 已到期 itself is computed on read and needs no job)."""

from __future__ import annotations

from datetime import date, time
from typing import Any

from sqlalchemy import select

from .. import workdays
from ..access import Actor
from ..db import Database, utcnow
from ..i18n import N_
from ..jobs import Job, daily
from ..ledger import service as ledger
from .model import Authorization, AuthorizationState

EXPIRE_JOB = "operate.expire"
EXPIRE_AT = time(1, 30)
EXPIRED_ACT = N_("到期")


def record_expiries(db: Database, day: date | None = None) -> dict[str, Any]:
    day = day or workdays.today()
    recorded = []
    with db.write() as s:
        rows = s.scalars(select(Authorization).where(
            Authorization.ends_on < day, Authorization.state != AuthorizationState.REVOKED.value)
            .order_by(Authorization.id).with_for_update())
        for auth in rows:
            if any(h.get("act") == EXPIRED_ACT for h in auth.history or []):
                continue
            auth.history = [*auth.history, {"act": EXPIRED_ACT, "reason": None, "by": "system",
                                            "on": utcnow().isoformat()}]
            ledger.append(s, Actor.system(), "operate.authorization.expire", "operate_authorization", auth.id,
                          {"ends_on": auth.ends_on.isoformat(), "state": auth.state})
            recorded.append(auth.id)
    return {"expired": recorded}


def expire_job(db: Database, job: Job) -> dict[str, Any]:
    return record_expiries(db)


schedule_expiries = daily(EXPIRE_JOB, EXPIRE_AT, expire_job)
