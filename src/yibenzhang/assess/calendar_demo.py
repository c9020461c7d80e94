"""Demo data of the compliance calendar: handlers with people counts (one at exactly 1,000,000, some
above), audit firms, completed routine audits, a regulator-ordered audit with an extension, and
today's reminders. Deterministic for a seed; called by assess.demo once the demo province is in."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from .. import workdays
from ..access import Actor
from ..db import Database
from ..enums import OrgKind
from ..orgs.model import Org
from . import calendar as cal
from .calendar_model import Audit

FIRMS = ("云岭合规审计事务所", "春城信息安全评估中心", "滇池数据合规咨询有限公司")
HANDLER_KINDS = (OrgKind.GOV.value, OrgKind.INSTITUTION.value, OrgKind.ENTERPRISE.value, OrgKind.OPERATOR.value)
HANDLERS = 12


def load(db: Database, seed: int) -> dict[str, Any]:
    rng = random.Random(seed * 31 + 8)
    system = Actor.system()
    today = workdays.today()
    with db.write() as s:
        if s.execute(select(Audit.id).limit(1)).first():
            return {}  # already there
        orgs = list(s.execute(select(Org).where(Org.kind.in_(HANDLER_KINDS)).order_by(Org.id)).scalars())
        operators = [o for o in orgs if o.kind == OrgKind.OPERATOR.value]
        chosen = operators[:2] + rng.sample([o for o in orgs if o not in operators],
                                            min(HANDLERS - len(operators[:2]), len(orgs) - len(operators)))
        firms = [cal.create_firm(s, system, name) for name in FIRMS]
        for i, org in enumerate(chosen):
            people = 1_000_000 if i == 0 else rng.choice((rng.randint(20_000, 999_999),
                                                         rng.randint(1_000_001, 9_000_000)))
            cal.record_people(s, system, org.id, people, as_of=today - timedelta(days=rng.randint(5, 120)),
                              today=today)
            if i % 2 == 0:
                audit = cal.open_routine_audit(s, system, org.id, firm_id=firms[i % len(firms)].id)
                cal.complete_audit(s, system, audit.id, completed_on=today - timedelta(days=rng.randint(200, 700)),
                                   today=today)
        ordered = cal.order_audit(s, system, chosen[1].id, today - timedelta(days=100),
                                  "省网信办责令开展个人信息保护合规审计", firm_id=firms[1].id)
        cal.extend_audit(s, system, ordered.id, ordered.due_on + timedelta(days=30), "省网信办",
                         "被审计系统正在迁移", today=today)
        cal.order_audit(s, system, chosen[2].id, today - timedelta(days=20), "市网信办责令开展合规审计",
                        firm_id=firms[2].id)
        reminders = cal.generate_reminders(s, system, today=today)
    return {"calendar_handlers": len(chosen), "calendar_firms": len(firms), "calendar_reminders": reminders["made"]}
