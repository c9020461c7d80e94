"""Fixtures of the 等保/密评 tests: a movable clock for locks, sessions and TOTP windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.web.conftest import signed_in  # noqa: F401  (the web tests' real login form)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Sign-in, sessions and TOTP read this clock instead of the wall clock."""
    from yibenzhang.orgs import credentials, mfa, security, sessions

    c = Clock()
    monkeypatch.setattr(security, "_now", c)
    monkeypatch.setattr(credentials, "_now", c)
    monkeypatch.setattr(sessions, "_now", c)
    monkeypatch.setattr(mfa, "utcnow", c)
    return c
