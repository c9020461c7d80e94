"""What one person may do with one open dataset: download it at once (无条件开放, or an approved
application for 有条件开放), or apply first. The portal's dataset page shows buttons from this."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import workdays
from ..access import Actor
from ..catalog.model import Resource
from .datasets import is_unconditional
from .model import ApplicationState, OpenApplication


def latest_application(session: Session, user_id: int, resource_id: int) -> OpenApplication | None:
    return session.execute(
        select(OpenApplication).where(OpenApplication.applicant_id == user_id,
                                      OpenApplication.resource_id == resource_id)
        .order_by(OpenApplication.id.desc()).limit(1)
    ).scalar_one_or_none()


def has_approved_application(session: Session, user_id: int, resource_id: int) -> bool:
    return session.execute(
        select(OpenApplication.id).where(OpenApplication.applicant_id == user_id,
                                         OpenApplication.resource_id == resource_id,
                                         OpenApplication.state == ApplicationState.APPROVED.value).limit(1)
    ).first() is not None


def access_for(session: Session, actor: Actor, resource: Resource, today: date | None = None) -> dict[str, Any]:
    """{"can_download", "needs_application", "application": {"id", "state", "due", "overdue"} | None}."""
    if is_unconditional(resource):
        return {"can_download": True, "needs_application": False, "application": None}
    if actor.user_id is None:
        return {"can_download": False, "needs_application": True, "application": None}
    app = latest_application(session, actor.user_id, resource.id)
    # The provider's own people and the admin use their data without applying (as downloads allow).
    approved = actor.is_admin or actor.acts_for_org(resource.org_id) \
        or has_approved_application(session, actor.user_id, resource.id)
    info = None
    if app is not None:
        day = today or workdays.today()
        info = {"id": app.id, "state": app.state, "due": app.due.isoformat(),
                "overdue": app.state == ApplicationState.PENDING.value and day > app.due}
    return {"can_download": approved, "needs_application": not approved, "application": info}
