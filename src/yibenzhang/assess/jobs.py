"""Background work of assessment: the compliance calendar's daily reminders (jobs.daily).

Engineer A1 may add KPI jobs here; each registers itself on import."""

from __future__ import annotations

from datetime import time
from typing import Any

from ..access import Actor
from ..db import Database
from ..jobs import daily
from .calendar import generate_reminders

REMIND_JOB = "calendar.reminders"
REMIND_AT = time(0, 30)


def remind_job(db: Database, job: Any = None) -> dict[str, Any]:
    with db.write() as s:
        return generate_reminders(s, Actor.system())


# The worker ticker that keeps the next morning's reminder run queued.
schedule_reminders = daily(REMIND_JOB, REMIND_AT, remind_job)
