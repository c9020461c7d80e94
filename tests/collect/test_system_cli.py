"""`ybz system list|add` (issue 15): a steward registers an information system of their org
without code; another org's steward may not; each addition is in the ledger."""

from __future__ import annotations

import json

from sqlalchemy import select
from typer.testing import CliRunner

from yibenzhang.cli import app
from yibenzhang.ledger.model import LedgerEvent


def ybz(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def test_steward_adds_and_lists_systems_of_their_org(world):
    police = world.orgs["police"].uscc
    out = ybz("system", "add", "户籍管理系统", "--org", police, "--description", "人口户籍", "--as", "police_steward",
              "--json")
    assert out.exit_code == 0, out.output
    added = json.loads(out.stdout)
    assert added["name"] == "户籍管理系统" and added["org_uscc"] == police
    listed = json.loads(ybz("system", "list", "--org", police, "--json").stdout)
    assert added["id"] in [x["id"] for x in listed] and all(x["org_uscc"] == police for x in listed)
    with world.db.read() as s:
        events = s.execute(select(LedgerEvent).where(LedgerEvent.action == "catalog.system.create",
                                                     LedgerEvent.subject_id == str(added["id"]))).scalars().all()
        assert len(events) == 1 and events[0].actor == "police_steward"


def test_other_orgs_steward_and_unknown_org_are_refused_with_a_code(world):
    police = world.orgs["police"].uscc
    refused = ybz("system", "add", "别人的系统", "--org", police, "--as", "market_steward", "--json")
    assert refused.exit_code != 0
    assert json.loads(refused.stdout)["error"]["code"] == "permission_denied"
    unknown = ybz("system", "add", "某系统", "--org", "91110000000000000X", "--json")
    assert unknown.exit_code != 0 and json.loads(unknown.stdout)["error"]["code"] == "org_not_found"
    empty = ybz("system", "add", " ", "--org", police, "--json")
    assert empty.exit_code != 0 and json.loads(empty.stdout)["error"]["code"] == "validation_failed"
