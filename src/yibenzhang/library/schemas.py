"""The shape of a library's definition (what a steward writes and the store keeps): its items, its
sources and what it extends. A leaf of the library package: `definition` (the service) and
`cobuild` (libraries drawing on libraries) both read it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from ..i18n import N_
from ..params import Count, Key, Text
from . import keys

# Provenance items per canonical item: (suffix, data type, description).
PROVENANCE_ITEMS = (("source", "I", N_("出处：来源信息资源ID")), ("batch", "I", N_("出处：来源批次ID")),
                    ("at", "T", N_("出处：归集时间")))
KEY_TYPES = {keys.PERSON: ("公民身份号码", 18), keys.ORG: ("统一社会信用代码", 18)}


class ItemDef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Key
    data_type: Key = "C"
    length: Count | None = None
    element: Key | None = None
    fresh_days: Count | None = None
    fallback: list[Key] | None = None  # resource codes after the authority, in order
    description: Text | None = None


class SourceDef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resource: Key  # resource code
    key: Key  # the source's item holding the entity key
    items: dict[Key, Key] = Field(default_factory=dict)  # canonical item -> source item


class DefinitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Key = keys.PERSON
    key: Key = ""  # canonical name of the key item (default by kind)
    items: list[ItemDef] = Field(default_factory=list)
    sources: list[SourceDef] = Field(default_factory=list)
    extends: Key | None = None  # code of the higher region's library this one extends (省市共建)
    extends_version: Count | None = None  # set on save: the extended library's version pinned


__all__ = ["KEY_TYPES", "PROVENANCE_ITEMS", "DefinitionIn", "ItemDef", "SourceDef"]
