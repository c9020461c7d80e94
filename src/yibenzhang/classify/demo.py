"""The demo province's grading: the platform suggests categories and grades, and the provider's
steward confirms every ungraded item, as a real steward would (shared by the stages' demos)."""

from __future__ import annotations

from ..access import Actor
from ..catalog.model import Resource
from ..db import Database
from ..enums import Role
from ..orgs import service as orgs
from . import service as classify


def grade_as_steward(db: Database, resource_id: int) -> None:
    with db.read() as s:
        resource = s.get(Resource, resource_id)
        assert resource is not None
        if all(item.grade for item in resource.items):
            return
        steward = orgs.first_user_with(s, Role.STEWARD, org_id=resource.org_id)
        actor = orgs.actor_for(s, steward) if steward else Actor.system()
    classify.suggest(db, actor, resource_id)
    with db.write() as s:
        resource = s.get(Resource, resource_id)
        assert resource is not None
        for item in resource.items:
            if not item.grade:
                classify.confirm(s, actor, item.id)
