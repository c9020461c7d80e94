"""Request models of the catalogue. They only shape the input: every rule is checked by the
service (so the API, the CLI, imports and web forms get the same errors and codes)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..params import Id, Int, Key, LongText, Text


class ItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Text = ""
    data_type: Text = ""
    length: Any = None
    required: bool = False
    enumeration: list[Key] | None = None
    format: Text | None = None
    description: Text | None = None
    is_key: bool = False
    authoritative: bool = False
    element: Text | None = None


class ResourceIn(BaseModel):
    """A resource as a steward describes it. `code` exists only to be refused: it is generated."""

    model_config = ConfigDict(extra="forbid")

    code: Text | None = None
    name: Text = ""
    abstract: LongText = ""
    org_id: Id | None = None
    org_uscc: Text | None = None
    category_code: Text = ""
    library: Text = ""
    format_kind: Text = ""
    format_detail: Text | None = None
    system_id: Id | None = None
    system_name: Text | None = None
    share_type: Text = ""
    share_condition: Text | None = None
    share_basis: Text | None = None
    share_method: Text | None = None
    open_type: Text = ""
    open_condition: Text | None = None
    returnable: bool = False
    update_cycle: Text = ""
    publish_date: Text | None = None
    record_count: Int | None = None
    keywords: list[Key] = Field(default_factory=list)
    related_codes: list[Key] = Field(default_factory=list)
    items: list[ItemIn] = Field(default_factory=list)


class ReturnIn(BaseModel):
    reason: Text = ""


class SystemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    org_id: Id
    name: Text
    description: Text | None = None


class ListEntryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    region_code: Text
    kind: Text
    title: Text
    content: LongText | None = None
    basis: Text | None = None
    org_id: Id | None = None
    resource_code: Text | None = None


class DutyChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    org_id: Id
    occurred_on: Text
    description: Text
    basis: Text | None = None
