"""Precision and recall per category family on the labelled corpus (tests/classify/corpus.py).
`pytest -s` prints the table."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from tests.classify.corpus import SEED, build
from yibenzhang.classify.categories import CATEGORIES, FAMILIES
from yibenzhang.classify.recognizers import best, recognize_column

GOAL = 0.97  # issue 4 acceptance: precision and recall per family


@pytest.fixture(scope="module", params=[SEED, 7], ids=["seed", "another-draw"])
def scored(request: pytest.FixtureRequest) -> list[tuple[str, str, str | None, str | None]]:
    """(expected family, predicted family, expected category, predicted category) per column;
    public data (no category) counts as the family 公共. Two draws of the same generators."""
    out = []
    for col in build(request.param):
        m = best(recognize_column(col.name, col.values, description=col.description))
        predicted = m.category if m else None
        out.append(
            (
                CATEGORIES[col.expected].family if col.expected else "公共",
                CATEGORIES[predicted].family if predicted else "公共",
                col.expected,
                predicted,
            )
        )
    return out


def test_corpus_is_large_deterministic_and_covers_every_category():
    cols = build()
    assert len(cols) >= 300
    assert [(c.name, c.values) for c in cols] == [(c.name, c.values) for c in build()]
    labelled = Counter(c.expected for c in cols)
    assert {code for code in CATEGORIES if code != "public"} <= set(labelled)
    assert labelled[None] >= 80  # hard negatives
    assert sum(1 for c in cols if c.expected and not c.name) >= 4  # positives without any name


def test_precision_and_recall_per_family(scored):
    lines = [f"{'family':<10}{'columns':>8}{'TP':>5}{'FP':>5}{'FN':>5}{'precision':>11}{'recall':>8}"]
    failures = []
    for family in FAMILIES:
        tp = sum(1 for e, p, _, _ in scored if e == family and p == family)
        fp = sum(1 for e, p, _, _ in scored if e != family and p == family)
        fn = sum(1 for e, p, _, _ in scored if e == family and p != family)
        precision = tp / (tp + fp) if tp + fp else 1.0
        recall = tp / (tp + fn) if tp + fn else 1.0
        lines.append(f"{family:<10}{tp + fn:>8}{tp:>5}{fp:>5}{fn:>5}{precision:>11.3f}{recall:>8.3f}")
        assert tp + fn > 0, family
        if precision < GOAL or recall < GOAL:
            failures.append(family)
    exact = sum(1 for _, _, e, p in scored if e == p) / len(scored)
    lines.append(f"columns {len(scored)}; exact category agreement {exact:.3f}")
    print("\n" + "\n".join(lines))
    wrong = [(e, p) for _, _, e, p in scored if e != p]
    assert failures == [], (failures, wrong)


def test_evidence_never_holds_a_value():
    """Evidence is stored with suggestions and summarized in the ledger: shares and counts only."""
    for col in build()[::3]:
        dumped = json.dumps([m.evidence for m in recognize_column(col.name, col.values)], ensure_ascii=False)
        leaked = [v for v in col.values if v and len(v) >= 6 and v in dumped]
        assert leaked == [], (col.name, leaked[:1])
