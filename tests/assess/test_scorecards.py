"""Scorecards: documented weighting, ranking within a region, the to-do list of each org."""

from __future__ import annotations

import pytest

from tests.assess.test_kpis import TODAY, state  # noqa: F401  (the known state fixture)
from yibenzhang.assess import scorecards as S
from yibenzhang.errors import PermissionDenied


def test_weights_are_documented_and_sum_to_one():
    assert round(sum(S.WEIGHTS.values()), 6) == 1.0
    for name in S.WEIGHTS:
        assert name in S.__doc__


def test_score_renormalises_over_present_components():
    assert S.score({"catalogue": 100.0, "freshness": 50.0}) == 75.0
    assert S.score({"catalogue": 100.0, "share": 0.0}) == round(100 * 0.20 / 0.35, 2)
    assert S.score({}) is None


def test_competition_ranking():
    assert S.rank([(1, 80.0), (2, 90.0), (3, 80.0), (4, None), (5, 70.0)]) == {2: 1, 1: 2, 3: 2, 5: 4, 4: None}


def test_scorecards_of_the_known_state(world, state):  # noqa: F811
    with world.db.read() as s:
        out = S.scorecards(s, world.actor("admin"), day=TODAY)
    cards = {c["org_id"]: c for c in out["orgs"]}
    police, market = cards[world.orgs["police"].id], cards[world.orgs["market"].id]
    # police: duty on time (100), 1 of 2 fresh (50), quality 90, share 1 of 3 (33.33), objections 1 of 3
    # (33.33), 1 of 2 collected (50).
    assert police["components"] == {"catalogue": 100.0, "freshness": 50.0, "quality": 90.0, "share": 33.33,
                                    "objections": 33.33, "collection": 50.0}
    expected = round((100 * .2 + 50 * .2 + 90 * .2 + 33.33 * .15 + 33.33 * .1 + 50 * .15), 2)
    assert police["score"] == expected
    # market: duty late (0), its yearly resource fresh (100), quality 70, nothing shared, no objections.
    assert market["components"] == {"catalogue": 0.0, "freshness": 100.0, "quality": 70.0, "share": None,
                                    "objections": None, "collection": 100.0}
    assert market["score"] == round((0 * .2 + 100 * .2 + 70 * .2 + 100 * .15) / .75, 2)
    hospital = cards[world.orgs["hospital"].id]
    assert hospital["components"]["catalogue"] == 0.0  # its duty change is overdue
    ranked = sorted((c for c in out["orgs"] if c["region_code"] == "990000"), key=lambda c: c["rank"] or 99)
    # market 65.33 > police 63.83 > hospital 0 (its only component)
    assert [(c["org_id"], c["rank"]) for c in ranked[:3]] == [
        (world.orgs["market"].id, 1), (world.orgs["police"].id, 2), (world.orgs["hospital"].id, 3)]
    assert cards[world.orgs["water"].id]["rank"] is None  # nothing to judge
    assert world.orgs["authority"].id not in cards and world.orgs["operator"].id not in cards
    # What police must do next: the stale monthly resource, the overdue objection and request.
    counts = police["todo"]["counts"]
    assert counts == {"duty_change": 0, "share_request": 1, "objection": 1, "stale_resource": 1,
                      "returned_resource": 0}
    stale = [i for i in police["todo"]["items"] if i["kind"] == "stale_resource"]
    assert stale[0]["id"] == state["monthly"] and stale[0]["name"] == "户籍迁移信息" and stale[0]["newest"] is None
    assert hospital["todo"]["counts"]["duty_change"] == 1


def test_a_steward_sees_only_their_own_scorecard(world, state):  # noqa: F811
    with world.db.read() as s:
        mine = S.scorecards(s, world.actor("police_steward"), day=TODAY)
        assert [c["org_id"] for c in mine["orgs"]] == [world.orgs["police"].id]
        with pytest.raises(PermissionDenied):
            S.scorecards(s, world.actor("police_steward"), org_id=world.orgs["market"].id, day=TODAY)
