"""Ledger tests build the test province many times; its passwords need not be costly to guess
here, so argon2 runs with its cheapest parameters (the hashing itself is not under test)."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    from yibenzhang.orgs import service as orgs

    monkeypatch.setattr(orgs, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
