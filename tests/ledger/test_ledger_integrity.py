"""The ledger commits or rolls back with the act, stays one gap-free chain under concurrent
writers on both backends, and never records secrets or personal data."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from tests.factories import PASSWORD
from yibenzhang.access import Actor
from yibenzhang.catalog import service as catalog
from yibenzhang.catalog.model import System
from yibenzhang.catalog.schemas import SystemIn
from yibenzhang.db import Database
from yibenzhang.ledger import service as ledger
from yibenzhang.ledger.model import LedgerAnchor, LedgerEvent
from yibenzhang.orgs import service as orgs
from yibenzhang.orgs.service import RoleSpec


class Boom(Exception):
    pass


def seqs(db: Database) -> list[int]:
    with db.read() as s:
        return list(s.execute(select(LedgerEvent.seq).order_by(LedgerEvent.seq)).scalars())


def test_failed_service_leaves_no_event(world):
    db = world.db
    before = seqs(db)
    with pytest.raises(Boom), db.write() as s:
        system = catalog.create_system(s, Actor.system(), SystemIn(org_id=world.orgs["police"].id, name="作废系统"))
        assert system.id is not None
        s.flush()  # the event row is written inside the transaction...
        assert ledger.count_events(s) == len(before) + 1
        raise Boom  # ...and the act fails afterwards
    assert seqs(db) == before
    with db.read() as s:
        assert s.execute(select(System).where(System.name == "作废系统")).first() is None
        anchor = s.get(LedgerAnchor, ledger.ANCHOR_ID)
        assert anchor.seq == before[-1]
        assert ledger.verify(s).ok
    # The next act continues the chain where it was.
    with db.write() as s:
        catalog.create_system(s, Actor.system(), SystemIn(org_id=world.orgs["police"].id, name="新系统"))
    assert seqs(db) == [*before, before[-1] + 1]


def _run_threads(n: int, work) -> list[BaseException]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(n)

    def runner(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            work(i)
        except BaseException as exc:  # reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    return errors


def test_concurrent_service_calls_keep_one_contiguous_chain(world):
    db = world.db
    before = len(seqs(db))
    threads, calls = 6, 5
    steward = world.actor("police_steward")
    org_id = world.orgs["police"].id

    def work(i: int) -> None:
        for j in range(calls):
            with db.write() as s:
                catalog.create_system(s, steward, SystemIn(org_id=org_id, name=f"并发系统-{i}-{j}"))

    assert _run_threads(threads, work) == []
    after = seqs(db)
    assert after == list(range(1, before + threads * calls + 1))
    with db.read() as s:
        report = ledger.verify(s)
        assert report.ok, report.breaks
        assert report.events == before + threads * calls
        actions = s.execute(select(LedgerEvent.subject_id).where(LedgerEvent.seq > before)).scalars().all()
        assert len(set(actions)) == threads * calls  # one event per act, none lost or doubled


def test_concurrent_first_events_of_a_fresh_store(db):
    """No anchor yet: concurrent first appends must not collide on creating it."""
    with db.read() as s:
        assert s.get(LedgerAnchor, ledger.ANCHOR_ID) is None
    n = 5

    def work(i: int) -> None:
        with db.write() as s:
            orgs.create_region(s, Actor.system(), code=f"{11 + i}0000", name=f"测试省{i}")

    assert _run_threads(n, work) == []
    assert seqs(db) == list(range(1, n + 1))
    with db.read() as s:
        assert ledger.verify(s).ok


def test_user_events_hold_no_password_or_hash(world):
    with world.db.write() as s:
        # Giving a role is the security administrator's (三员分立); the platform itself may.
        user = orgs.create_user(s, Actor.system(), username="newcomer", display_name="张三丰",
                                password=PASSWORD, roles=[RoleSpec("数据专员", world.orgs["police"].uscc)])
        password_hash = user.password_hash
        _, token_value = orgs.create_token(s, world.actor("admin"), username="newcomer")
    assert password_hash and password_hash.startswith("$argon2")
    with world.db.read() as s:
        actions = {e.action for e in ledger.events_for(s, "user", user.id)}
        everything = "\n".join(s.execute(select(LedgerEvent.content)).scalars())
    assert actions == {"user.create", "token.create"}
    for secret in (PASSWORD, password_hash, "$argon2", token_value, "张三丰"):
        assert secret not in everything
    assert "password" not in everything.lower()


def test_verify_while_writers_append_sees_one_consistent_chain(world):
    """Events and anchor are read from one snapshot: appends committed during a verification
    never look like an extra event or a cut end."""
    db = world.db
    steward = world.actor("police_steward")
    org_id = world.orgs["police"].id
    done = threading.Event()

    def writer() -> None:
        try:
            for j in range(40):
                with db.write() as s:
                    catalog.create_system(s, steward, SystemIn(org_id=org_id, name=f"边写边验-{j}"))
        finally:
            done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    reports = []
    while not done.is_set() or not reports:
        with db.read() as s:
            reports.append(ledger.verify(s))
    thread.join(timeout=60)
    assert [r.breaks for r in reports if not r.ok] == []
    assert len({r.last_seq for r in reports}) > 1  # verification really overlapped the writes


def test_anchor_read_in_the_same_transaction_follows_the_appends(world):
    db = world.db
    with db.write() as s:
        held = s.get(LedgerAnchor, ledger.ANCHOR_ID)  # an ORM copy, loaded (and kept) before the appends
        first = held.seq
        for i in range(3):
            catalog.create_system(s, Actor.system(), SystemIn(org_id=world.orgs["market"].id, name=f"同事务-{i}"))
        s.flush()
        anchor = s.get(LedgerAnchor, ledger.ANCHOR_ID)
        assert anchor is held and anchor.seq == first + 3 == ledger.count_events(s)
    with db.read() as s:
        assert ledger.verify(s).ok
