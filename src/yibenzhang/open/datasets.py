"""Which catalogue entries are open data: published, not retired, open type 无条件开放 or
有条件开放. Everything in `open/` (and the portal, CKAN API and DCAT) asks here, so the rule is
written once.

The open type must hold both in the live row and in the published snapshot: a change under review
(e.g. 不予开放 → 无条件开放, or 有条件开放 → 无条件开放) opens nothing until a reviewer publishes it, and
a change towards closing takes effect at once (fail closed)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session, object_session

from ..catalog.model import Resource, ResourceVersion
from ..enums import OpenType, ResourceStatus
from ..errors import NotFound
from ..params import parse_id

OPEN_TYPES: tuple[str, ...] = (OpenType.UNCONDITIONAL.value, OpenType.CONDITIONAL.value)


def _published_open_type() -> Any:
    return ResourceVersion.snapshot["open_type"].as_string()


def open_condition() -> Any:
    """SQL where-clause: a published (and not retired) resource whose open type is open, live and
    as published."""
    published_open = exists().where(
        ResourceVersion.resource_id == Resource.id, ResourceVersion.version == Resource.published_version,
        _published_open_type().in_(OPEN_TYPES))
    return and_(
        Resource.published_version.is_not(None),
        Resource.status != ResourceStatus.RETIRED.value,
        Resource.open_type.in_(OPEN_TYPES),
        or_(Resource.status == ResourceStatus.PUBLISHED.value, published_open),
    )


def published_open_type(resource: Resource) -> str | None:
    """The open type of the published snapshot (the live row's when nothing is under change)."""
    if resource.published_version is None:
        return None
    if resource.status == ResourceStatus.PUBLISHED.value:
        return resource.open_type
    session = object_session(resource)
    if session is None:
        return None
    snapshot = session.execute(select(ResourceVersion.snapshot).where(
        ResourceVersion.resource_id == resource.id, ResourceVersion.version == resource.published_version)
    ).scalar_one_or_none()
    return (snapshot or {}).get("open_type")


def is_open(resource: Resource) -> bool:
    return (resource.published_version is not None and resource.status != ResourceStatus.RETIRED.value
            and resource.open_type in OPEN_TYPES and published_open_type(resource) in OPEN_TYPES)


def is_unconditional(resource: Resource) -> bool:
    """Anonymous downloads only when both the live row and the published snapshot say 无条件开放."""
    unconditional = OpenType.UNCONDITIONAL.value
    return resource.open_type == unconditional and published_open_type(resource) == unconditional


def get_open_resource(session: Session, resource_id: int | str) -> Resource:
    """The open dataset with this id (or catalogue code); NotFound for anything else, whether it
    exists or not, so unpublished and non-open entries are never revealed."""
    resource: Resource | None = None
    text = str(resource_id).strip()
    if text.isdigit():  # a number beyond any id is simply not there
        key = parse_id(text)
        resource = session.get(Resource, key) if key is not None else None
    elif text:
        resource = session.execute(select(Resource).where(Resource.code == text)).scalar_one_or_none()
    if resource is None or not is_open(resource):
        raise NotFound(f"开放数据集 {resource_id}", "open_dataset_not_found")
    return resource
