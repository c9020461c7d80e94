"""Quality scores: five dimensions, each 0–100, and an overall weighted score.

Dimension score = 100 × (1 − weighted failure rate of its rules), where each rule's failure rate
is failed / checked and the weight of a rule is the number of rows it checked (a rule that
checked nothing carries no weight). A dimension without rules has no score (None) and drops out
of the overall score, whose weights are re-normalised over the dimensions present.

及时性 (timeliness) is not a rule over rows but the newest batch's age against the update cycle
(DOMAIN §1 更新周期; §3 "及时"):
- 实时: late after 1 working day without data (ours: a real-time feed silent for a working day);
- 每日 / 每周: 1 / 5 working days (workdays.py: weekends, holidays and 调休 honoured);
- 每月 / 每季度 / 每半年 / 每年: 1 / 3 / 6 / 12 calendar months;
- 不定期: no expectation — no timeliness score.
Within the allowed age the score is 100; beyond it, 100 × allowed / age (twice as old as
allowed scores 50), so a long-forgotten resource approaches 0 without a cliff.

Whose rows (issue 15): a resource's score is its newest assessment of its *current* rows — every
live batch, upserts applied — which collection runs after each publication; an assessment of one
batch is a report on that batch, never the resource's score (else a 500-row batch after a
120,000-row one would set it). An org's or region's score is the average of its resources'
scores weighted by each resource's current record count (that run's rows; an empty resource
weighs 1, so its timeliness still counts):  score = Σ rowsᵣ × scoreᵣ / Σ rowsᵣ.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from datetime import date
from typing import Any

from ..enums import UpdateCycle
from ..workdays import add_workdays, workdays_between
from .evaluate import RuleResult
from .rules import Dimension

# Overall weights (ours; DOMAIN §3 names 准确/完整/及时 first, so they weigh most).
DIMENSION_WEIGHTS: dict[str, float] = {
    Dimension.ACCURACY.value: 0.30,
    Dimension.COMPLETENESS.value: 0.25,
    Dimension.TIMELINESS.value: 0.15,
    Dimension.CONSISTENCY.value: 0.15,
    Dimension.UNIQUENESS.value: 0.15,
}

# Allowed age per update cycle: ("workdays", n) or ("months", n); 不定期 has none.
FRESHNESS: dict[str, tuple[str, int] | None] = {
    UpdateCycle.REALTIME.value: ("workdays", 1),
    UpdateCycle.DAILY.value: ("workdays", 1),
    UpdateCycle.WEEKLY.value: ("workdays", 5),
    UpdateCycle.MONTHLY.value: ("months", 1),
    UpdateCycle.QUARTERLY.value: ("months", 3),
    UpdateCycle.HALF_YEARLY.value: ("months", 6),
    UpdateCycle.YEARLY.value: ("months", 12),
    UpdateCycle.IRREGULAR.value: None,
}


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def timeliness(update_cycle: str, newest: date | None, today: date) -> float | None:
    """0–100 for a resource whose newest batch was published on `newest`; None when the cycle
    sets no expectation; 0 when nothing was ever collected for a cycle that expects data."""
    rule = FRESHNESS.get(update_cycle)
    if rule is None:
        return None
    if newest is None:
        return 0.0
    unit, n = rule
    if unit == "workdays":
        due = add_workdays(newest, n)
        if today <= due:
            return 100.0
        return round(100.0 * n / workdays_between(newest, today), 2)
    due = add_months(newest, n)
    if today <= due:
        return 100.0
    return round(100.0 * (due - newest).days / (today - newest).days, 2)


def dimension_scores(results: Iterable[RuleResult], timeliness_score: float | None) -> dict[str, float | None]:
    checked: dict[str, int] = {}
    failed: dict[str, int] = {}
    for r in results:
        checked[r.rule.dimension] = checked.get(r.rule.dimension, 0) + r.checked
        failed[r.rule.dimension] = failed.get(r.rule.dimension, 0) + r.failed
    out: dict[str, float | None] = {}
    for dim in DIMENSION_WEIGHTS:
        if dim == Dimension.TIMELINESS.value:
            out[dim] = timeliness_score
        elif checked.get(dim):
            out[dim] = round(100.0 * (1 - failed[dim] / checked[dim]), 2)
        else:
            out[dim] = None
    return out


def overall(scores: dict[str, Any]) -> float | None:
    present = {d: w for d, w in DIMENSION_WEIGHTS.items() if scores.get(d) is not None}
    total = sum(present.values())
    if not total:
        return None
    return round(sum(scores[d] * w for d, w in present.items()) / total, 2)


def weighted_average(pairs: Iterable[tuple[dict[str, Any], float | None, int]]) -> dict[str, Any]:
    """Record-count weighted average of several resources' scores (org or region level):
    `pairs` holds (dimension scores, overall, row count) of each resource's latest run."""
    sums: dict[str, float] = {}
    weights: dict[str, float] = {}
    rows = resources = 0
    for scores, total, count in pairs:
        resources += 1
        rows += count
        w = max(count, 1)  # an empty resource still counts (its timeliness matters)
        for dim, value in {**scores, "overall": total}.items():
            if value is not None:
                sums[dim] = sums.get(dim, 0.0) + value * w
                weights[dim] = weights.get(dim, 0.0) + w
    avg = {dim: round(sums[dim] / weights[dim], 2) if dim in sums else None
           for dim in [*DIMENSION_WEIGHTS, "overall"]}
    return {"scores": {d: avg[d] for d in DIMENSION_WEIGHTS}, "overall": avg["overall"],
            "resources": resources, "rows": rows}
