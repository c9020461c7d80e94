"""What the zone keeps rows for, as the zone sees it: a holding (an information resource of the
catalogue) with its items, where its batches go, who may act on it.

The zone is a layer below the stages and imports none of them (issue 19): the catalogue plugs its
resources in through the hook `ybz_zone_holdings`, answering with an object of the `Holdings`
shape below. Another catalogue (a province's own) can answer instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from sqlalchemy.orm import Session

from .. import plugins
from ..access import Actor
from ..errors import NotFound


class Item(Protocol):
    name: str
    data_type: str
    is_key: bool


class Holding(Protocol):
    id: int
    code: str
    org_id: int
    region_id: int
    record_count: int | None

    @property
    def items(self) -> Sequence[Any]: ...


class Holdings(Protocol):
    def get(self, session: Session, resource_id: int, *, lock: bool = False) -> Holding | None:
        """The holding, or None; `lock` serializes publishes per resource (SELECT … FOR UPDATE)."""

    def find(self, session: Session, actor: Actor, ref: str) -> Holding:
        """The holding by code or id as the actor may see it; NotFound for anything else."""

    def place(self, session: Session, holding: Holding) -> tuple[str, str]:
        """(region code, org USCC): where the holding's batches are kept in the zone."""


def holdings() -> Holdings:
    return plugins.zone_holdings()


def get(session: Session, resource_id: int, *, lock: bool = False) -> Holding:
    holding = holdings().get(session, resource_id, lock=lock)
    if holding is None:
        raise NotFound(f"信息资源 {resource_id}", "resource_not_found")
    return holding
