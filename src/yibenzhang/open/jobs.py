"""The open stage's daily job: mark applications and demands past their answer deadline (they
already show 已逾期 on read; the job makes it durable and evidenced)."""

from __future__ import annotations

from datetime import time
from typing import Any

from ..access import Actor
from ..db import Database
from ..jobs import daily
from . import applications as apps
from . import demands as dem

OVERDUE_JOB = "open.mark_overdue"
OVERDUE_AT = time(0, 20)


def mark_overdue_job(db: Database, job: Any = None) -> dict[str, Any]:
    with db.write() as s:
        return {"applications": apps.mark_overdue(s, Actor.system()), "demands": dem.mark_overdue(s, Actor.system())}


schedule_overdue = daily(OVERDUE_JOB, OVERDUE_AT, mark_overdue_job)
