"""Demo data of assessment: the targets the sources name for the whole platform, one target of
the demo's first city (set by the province's authority), and the compliance calendar's demo
(engineer A2's, when installed). Deterministic; runs once on a fresh store."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from ..access import Actor
from ..db import Database
from ..orgs.model import Region
from ..registry import load as load_target
from . import model as targets


def load(db: Database, seed: int) -> dict[str, Any]:
    system = Actor.system()
    with db.write() as s:
        added = targets.seed_targets(s, system)
        city = s.execute(select(Region).where(Region.parent_id.isnot(None)).order_by(Region.code)).scalars().first()
        if city is not None and not targets.list_targets(s, system, history=True, scope=city.code):
            targets.create_target(s, system, metric="open_datasets", value=2_000, due_on=date(2025, 12, 31),
                                  scope=city.code, basis="全省开放数据任务分解（演示）",
                                  effective_from=date(2024, 1, 1))
            added += 1
    out: dict[str, Any] = {"assess_targets": added}
    calendar = load_target("yibenzhang.assess.calendar_demo:load")
    if calendar is not None:
        out.update(calendar(db, seed) or {})
    return out
