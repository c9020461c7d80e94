"""Which catalogue entries are open data: published, not retired, open type 无条件开放 or
有条件开放. Everything in `open/` (and the portal, CKAN API and DCAT) asks here, so the rule is
written once."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_
from sqlalchemy.orm import Session

from ..catalog.model import Resource
from ..enums import OpenType, ResourceStatus
from ..errors import NotFound

OPEN_TYPES: tuple[str, ...] = (OpenType.UNCONDITIONAL.value, OpenType.CONDITIONAL.value)


def open_condition() -> Any:
    """SQL where-clause: a published (and not retired) resource whose open type is open."""
    return and_(
        Resource.published_version.is_not(None),
        Resource.status != ResourceStatus.RETIRED.value,
        Resource.open_type.in_(OPEN_TYPES),
    )


def is_open(resource: Resource) -> bool:
    return (resource.published_version is not None and resource.status != ResourceStatus.RETIRED.value
            and resource.open_type in OPEN_TYPES)


def is_unconditional(resource: Resource) -> bool:
    return resource.open_type == OpenType.UNCONDITIONAL.value


def get_open_resource(session: Session, resource_id: int | str) -> Resource:
    """The open dataset with this id (or catalogue code); NotFound for anything else, whether it
    exists or not, so unpublished and non-open entries are never revealed."""
    resource: Resource | None = None
    text = str(resource_id).strip()
    if text.isdigit():
        resource = session.get(Resource, int(text))
    elif text:
        from sqlalchemy import select

        resource = session.execute(select(Resource).where(Resource.code == text)).scalar_one_or_none()
    if resource is None or not is_open(resource):
        raise NotFound(f"开放数据集 {resource_id}", "open_dataset_not_found")
    return resource
