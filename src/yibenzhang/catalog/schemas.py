"""Request models of the catalogue. They only shape the input: every rule is checked by the
service (so the API, the CLI, imports and web forms get the same errors and codes)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..params import Id, Int


class ItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = ""
    data_type: str = ""
    length: Any = None
    required: bool = False
    enumeration: list[str] | None = None
    format: str | None = None
    description: str | None = None
    is_key: bool = False
    authoritative: bool = False
    element: str | None = None


class ResourceIn(BaseModel):
    """A resource as a steward describes it. `code` exists only to be refused: it is generated."""

    model_config = ConfigDict(extra="forbid")

    code: str | None = None
    name: str = ""
    abstract: str = ""
    org_id: Id | None = None
    org_uscc: str | None = None
    category_code: str = ""
    library: str = ""
    format_kind: str = ""
    format_detail: str | None = None
    system_id: Id | None = None
    system_name: str | None = None
    share_type: str = ""
    share_condition: str | None = None
    share_basis: str | None = None
    share_method: str | None = None
    open_type: str = ""
    open_condition: str | None = None
    returnable: bool = False
    update_cycle: str = ""
    publish_date: str | None = None
    record_count: Int | None = None
    keywords: list[str] = Field(default_factory=list)
    related_codes: list[str] = Field(default_factory=list)
    items: list[ItemIn] = Field(default_factory=list)


class ReturnIn(BaseModel):
    reason: str = ""


class SystemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    org_id: Id
    name: str
    description: str | None = None


class ListEntryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    region_code: str
    kind: str
    title: str
    content: str | None = None
    basis: str | None = None
    org_id: Id | None = None
    resource_code: str | None = None


class DutyChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    org_id: Id
    occurred_on: str
    description: str
    basis: str | None = None
