"""The evidence chain as assessment reads it: the console's 存证校验 page asks here (pages call
stage services, never the ledger itself; issue 19)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ..access import Actor
from ..ledger import audit
from ..ledger.service import VerifyReport


def verify_chain(session: Session, actor: Actor) -> VerifyReport:
    """Walk the whole chain for those who may (the platform, auditors, reviewers; checked by the ledger)."""
    return audit.verify_chain(session, actor)
