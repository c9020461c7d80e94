"""Passwords of local accounts (GB/T 22239-2019 8.1.4.1 a): complexity by the settings, no reuse
of the last N, and a change ends every session."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.factories import PASSWORD
from yibenzhang.config import get_security
from yibenzhang.errors import ErrorBag, Unauthenticated, ValidationFailed
from yibenzhang.orgs import credentials, security, sessions
from yibenzhang.orgs.model import User


def _classes(p: str) -> int:
    return sum([any(c.islower() and c.isascii() for c in p), any(c.isupper() and c.isascii() for c in p),
                any(c.isdigit() and c.isascii() for c in p), any(not (c.isascii() and c.isalnum()) for c in p)])


@settings(max_examples=200)
@given(st.text(min_size=0, max_size=20))
def test_complexity_follows_length_and_classes(password):
    bag = ErrorBag()
    credentials.password_errors(password, bag)
    codes = {e.code for e in bag.errors}
    sec = get_security()
    assert ("password_too_short" in codes) == (len(password) < sec.password_min_length)
    assert ("password_too_simple" in codes) == (_classes(password) < sec.password_min_classes)


def _change(world, current: str, new: str) -> None:
    with world.db.write() as s:
        security.change_password(s, world.actor("police_steward"), current=current, new=new)


def test_the_last_n_passwords_may_not_come_back(world):
    n = get_security().password_history
    history = [PASSWORD] + [f"Another-pass-{i}" for i in range(n)]
    for old, new in pairwise(history):
        _change(world, old, new)
    current = history[-1]
    for recent in history[-n:]:  # the current one and the n-1 before it
        with pytest.raises(ValidationFailed) as info:
            _change(world, current, recent)
        assert [e.code for e in info.value.errors] == ["password_reused"]
    _change(world, current, history[-n - 1])  # the one before those may come back


def test_a_change_needs_the_current_password_and_ends_every_session(world):
    with world.db.write() as s:
        raw, _ = sessions.start(s, s.get(User, world.users["police_steward"]))
    with pytest.raises(Unauthenticated):
        _change(world, "not-the-Current-1", "Brand-new-pass-1")
    _change(world, PASSWORD, "Brand-new-pass-1")
    with world.db.read() as s:
        assert sessions.lookup(s, raw) is None
