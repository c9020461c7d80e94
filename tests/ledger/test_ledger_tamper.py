"""Tamper with the ledger's tables directly (raw SQL, as an insider with database access would)
and prove that `ledger.service.verify` and `ybz ledger verify` name the first break."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import insert, select, text
from typer.testing import CliRunner

from tests.factories import published
from yibenzhang.cli import app
from yibenzhang.crypto import sm3_hex
from yibenzhang.db import Database
from yibenzhang.ledger import service as ledger
from yibenzhang.ledger.model import LedgerEvent

runner = CliRunner()
ATTACKER_KEY = "the-attacker-does-not-know-the-real-key"


@pytest.fixture
def chain(world) -> Database:
    """The test province plus two published resources: a few dozen real events."""
    published(world)
    published(world, org="market", name="市场主体登记信息")
    with world.db.read() as s:
        assert ledger.count_events(s) >= 40
    return world.db


def rows(db: Database) -> list[dict[str, Any]]:
    """The events as stored (times as aware datetimes, as an attacker's script would read them)."""
    table = LedgerEvent.__table__
    with db.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(table).order_by(table.c.seq))]


def sql(db: Database, statement: str, **params: Any) -> None:
    with db.engine.begin() as conn:
        conn.execute(text(statement), params)


def last_seq(db: Database) -> int:
    return rows(db)[-1]["seq"]


def assert_first_break(db: Database, seq: int, kind: str) -> dict[str, Any]:
    with db.read() as s:
        report = ledger.verify(s)
    assert not report.ok
    assert report.first_break is not None
    assert (report.first_break.seq, report.first_break.kind) == (seq, kind), report.breaks
    assert str(seq) in report.first_break.detail and str(seq) in report.first_break.detail_en

    text_run = runner.invoke(app, ["ledger", "verify"])
    assert text_run.exit_code == 1, text_run.output
    flat = " ".join(text_run.output.split())
    assert f"first at event {seq}" in flat
    assert f"#{seq} {kind}:" in flat

    json_run = runner.invoke(app, ["ledger", "verify", "--json"])
    assert json_run.exit_code == 1
    out = json.loads(json_run.stdout)
    assert out["ok"] is False
    assert (out["first_break"]["seq"], out["first_break"]["kind"]) == (seq, kind)
    return out


def test_intact_chain_verifies(chain):
    with chain.read() as s:
        report = ledger.verify(s)
    assert report.ok and report.first_break is None
    assert report.events == report.last_seq == len(rows(chain))
    ok = runner.invoke(app, ["ledger", "verify"])
    assert ok.exit_code == 0, ok.output
    assert f"{report.events} events" in ok.output
    out = json.loads(runner.invoke(app, ["ledger", "verify", "--json"]).stdout)
    assert out["ok"] is True and out["first_break"] is None and out["last_seq"] == report.last_seq


def test_content_text_changed(chain):
    target = rows(chain)[11]
    sql(chain, "UPDATE ledger_events SET content = :c WHERE seq = :s",
        c=target["content"].replace("}", ',"x":1}'), s=target["seq"])
    out = assert_first_break(chain, target["seq"], "content_altered")
    assert len(out["breaks"]) == 1


def test_content_changed_with_digest_recomputed(chain):
    target = rows(chain)[20]
    body = target["content"].replace("}", ',"forged":true}')
    sql(chain, "UPDATE ledger_events SET content = :c, content_digest = :d WHERE seq = :s",
        c=body, d=sm3_hex(body.encode()), s=target["seq"])
    out = assert_first_break(chain, target["seq"], "event_altered")
    assert [b["kind"] for b in out["breaks"]] == ["event_altered"]


@pytest.mark.parametrize("column,value", [
    ("actor", "police_steward"),
    ("action", "catalog.resource.delete"),
    ("subject_id", "999"),
])
def test_actor_action_subject_changed(chain, column, value):
    seq = rows(chain)[17]["seq"]
    sql(chain, f"UPDATE ledger_events SET {column} = :v WHERE seq = :s", v=value, s=seq)
    assert_first_break(chain, seq, "event_altered")


def test_actor_id_changed(chain):
    # An event of a real user (not the platform): who acted is sealed by id too.
    target = next(r for r in rows(chain) if r["actor_id"] is not None)
    sql(chain, "UPDATE ledger_events SET actor_id = :v WHERE seq = :s", v=target["actor_id"] + 1, s=target["seq"])
    assert_first_break(chain, target["seq"], "event_altered")


def test_time_changed(chain):
    target = rows(chain)[9]
    with chain.engine.connect() as conn:
        original = conn.execute(text("SELECT at FROM ledger_events WHERE seq = :s"), {"s": target["seq"]}).scalar()
    if isinstance(original, str):  # SQLite keeps the text SQLAlchemy wrote
        forged: Any = original[:-1] + ("0" if original[-1] != "0" else "1")
    else:
        from datetime import timedelta

        forged = original - timedelta(days=1)
    sql(chain, "UPDATE ledger_events SET at = :v WHERE seq = :s", v=forged, s=target["seq"])
    assert_first_break(chain, target["seq"], "event_altered")


def test_two_contents_swapped(chain):
    all_rows = rows(chain)
    a, b = all_rows[5], all_rows[30]
    assert a["content"] != b["content"]
    sql(chain, "UPDATE ledger_events SET content = :c WHERE seq = :s", c=b["content"], s=a["seq"])
    sql(chain, "UPDATE ledger_events SET content = :c WHERE seq = :s", c=a["content"], s=b["seq"])
    out = assert_first_break(chain, a["seq"], "content_altered")
    assert [(x["seq"], x["kind"]) for x in out["breaks"]] == [(a["seq"], "content_altered"),
                                                              (b["seq"], "content_altered")]


def test_two_events_swapped_with_their_digests(chain):
    # Reordering: swap everything but the sequence numbers of two neighbours.
    all_rows = rows(chain)
    a, b = all_rows[14], all_rows[15]
    cols = ["at", "actor_id", "actor", "action", "subject_type", "subject_id", "content", "content_digest",
            "prev_digest", "digest"]
    sets = ", ".join(f"{c} = :{c}" for c in cols)
    for src, dst in ((b, a), (a, b)):
        sql(chain, f"UPDATE ledger_events SET {sets} WHERE seq = :seq", **{c: src[c] for c in cols}, seq=dst["seq"])
    assert_first_break(chain, a["seq"], "link_broken")


def test_event_deleted_in_the_middle(chain):
    seq = rows(chain)[22]["seq"]
    sql(chain, "DELETE FROM ledger_events WHERE seq = :s", s=seq)
    out = assert_first_break(chain, seq, "missing")
    assert out["first_break"]["detail_en"].startswith(f"events {seq}..{seq} are missing")
    assert (seq + 1, "link_broken") in [(b["seq"], b["kind"]) for b in out["breaks"]]


def test_last_events_deleted_anchor_left(chain):
    end = last_seq(chain)
    sql(chain, "DELETE FROM ledger_events WHERE seq > :s", s=end - 3)
    out = assert_first_break(chain, end - 2, "truncated")
    assert len(out["breaks"]) == 1
    assert f"events {end - 2}..{end}" in out["first_break"]["detail_en"]


def test_truncated_and_anchor_moved_without_the_key(chain):
    end = last_seq(chain)
    sql(chain, "DELETE FROM ledger_events WHERE seq > :s", s=end - 3)
    new_last = rows(chain)[-1]
    sql(chain, "UPDATE ledger_anchor SET seq = :s, digest = :d, mac = :m",
        s=new_last["seq"], d=new_last["digest"], m=ledger.anchor_mac(new_last["seq"], new_last["digest"], ATTACKER_KEY))
    out = assert_first_break(chain, end - 3, "anchor_forged")
    assert len(out["breaks"]) == 1


def test_whole_chain_recomputed_without_the_key(chain):
    """The attacker knows the algorithm (it is open source) but not YBZ_SECRET_KEY: the rewritten
    chain is internally consistent, and only the anchor's seal gives it away."""
    all_rows = rows(chain)
    start = 12
    forged_body = all_rows[start]["content"].replace("}", ',"rewritten":true}')
    prev = all_rows[start - 1]["digest"]
    with chain.engine.begin() as conn:
        for i, r in enumerate(all_rows[start:], start):
            body = forged_body if i == start else r["content"]
            cdig = sm3_hex(body.encode())
            digest = ledger.event_digest(r["seq"], r["at"], r["actor"], r["action"], r["subject_type"],
                                         r["subject_id"], cdig, prev, actor_id=r["actor_id"])
            conn.execute(text("UPDATE ledger_events SET content = :c, content_digest = :cd, prev_digest = :p,"
                              " digest = :d WHERE seq = :s"),
                         {"c": body, "cd": cdig, "p": prev, "d": digest, "s": r["seq"]})
            prev = digest
        end = all_rows[-1]["seq"]
        conn.execute(text("UPDATE ledger_anchor SET seq = :s, digest = :d, mac = :m"),
                     {"s": end, "d": prev, "m": ledger.anchor_mac(end, prev, ATTACKER_KEY)})
    out = assert_first_break(chain, end, "anchor_forged")
    assert [b["kind"] for b in out["breaks"]] == ["anchor_forged"]  # every event checks out on its own


def test_whole_chain_recomputed_anchor_untouched(chain):
    """The same rewrite without touching the anchor: the sealed end no longer matches."""
    all_rows = rows(chain)
    prev = all_rows[29]["digest"]
    for r in all_rows[30:]:
        body = r["content"].replace("}", ',"n":0}') if r is all_rows[30] else r["content"]
        cdig = sm3_hex(body.encode())
        digest = ledger.event_digest(r["seq"], r["at"], r["actor"], r["action"], r["subject_type"],
                                     r["subject_id"], cdig, prev, actor_id=r["actor_id"])
        sql(chain, "UPDATE ledger_events SET content = :c, content_digest = :cd, prev_digest = :p, digest = :d"
                   " WHERE seq = :s", c=body, cd=cdig, p=prev, d=digest, s=r["seq"])
        prev = digest
    assert_first_break(chain, all_rows[-1]["seq"], "anchor_mismatch")


def test_event_appended_outside_the_platform(chain):
    last = rows(chain)[-1]
    body = '{"note":"inserted by hand"}'
    cdig = sm3_hex(body.encode())
    seq = last["seq"] + 1
    digest = ledger.event_digest(seq, last["at"], "admin", "catalog.resource.delete", "resource", "1", cdig,
                                 last["digest"])
    with chain.engine.begin() as conn:
        conn.execute(insert(LedgerEvent.__table__).values(
            seq=seq, at=last["at"], actor_id=None, actor="admin", action="catalog.resource.delete",
            subject_type="resource", subject_id="1", content=body, content_digest=cdig, prev_digest=last["digest"],
            digest=digest))
    out = assert_first_break(chain, seq, "extra")
    assert [b["kind"] for b in out["breaks"]] == ["extra"]  # the forged event itself links correctly


def test_anchor_deleted(chain):
    sql(chain, "DELETE FROM ledger_anchor")
    assert_first_break(chain, last_seq(chain), "anchor_forged")


def test_break_in_the_middle_is_named_before_a_later_one(chain):
    all_rows = rows(chain)
    sql(chain, "UPDATE ledger_events SET content = '{}' WHERE seq = :s", s=all_rows[33]["seq"])
    sql(chain, "UPDATE ledger_events SET actor = 'x' WHERE seq = :s", s=all_rows[7]["seq"])
    assert_first_break(chain, all_rows[7]["seq"], "event_altered")
    with chain.read() as s:
        assert ledger.verify(s, stop_at_first=True).breaks == [ledger.verify(s).first_break]
