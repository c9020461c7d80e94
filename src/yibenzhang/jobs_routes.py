"""HTTP adapters over the job queue and collection schedules: stewards see their org's jobs
(failures included) and retry them; admins and auditors see all."""

from __future__ import annotations

from typing import Annotated, Any

from annotated_types import Ge, Le
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy.orm import Session

from . import jobs
from .access import Actor
from .collect import pull
from .db import get_database
from .deps import read_session, require_user
from .params import Id, Key, LongText, Text

router = APIRouter(tags=["jobs"])


@router.get("/api/v1/jobs")
def list_jobs(
    org_id: Id | None = None, failed: bool = False, status: Key | None = None, kind: Key | None = None,
    limit: int = Query(100, ge=1, le=1000), actor: Actor = Depends(require_user),
    s: Session = Depends(read_session),
) -> list[dict[str, Any]]:
    return [jobs.job_dict(j) for j in jobs.list_jobs(s, actor, org_id=org_id, failed=failed, status=status,
                                                      kind=kind, limit=limit)]


@router.get("/api/v1/jobs/{job_id}")
def get_job(job_id: Id, actor: Actor = Depends(require_user), s: Session = Depends(read_session)) -> dict[str, Any]:
    return jobs.job_dict(jobs.get_job(s, actor, job_id))


@router.post("/api/v1/jobs/{job_id}/retry")
def retry_job(job_id: Id, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        return jobs.job_dict(jobs.retry_job(s, actor, job_id))


class ScheduleIn(BaseModel):
    url: Text
    table: Text | None = None
    query: LongText | None = None
    since_column: Text | None = None
    mode: Text | None = None
    hour: Annotated[int, Ge(0), Le(23)] = 2


@router.get("/api/v1/resources/{resource_id}/schedules")
def list_schedules(resource_id: Key, actor: Actor = Depends(require_user),
                   s: Session = Depends(read_session)) -> list[dict[str, Any]]:
    return [pull.schedule_dict(s, x) for x in pull.list_schedules(s, actor, resource_id)]


@router.post("/api/v1/resources/{resource_id}/schedules", status_code=201)
def create_schedule(resource_id: Key, body: ScheduleIn, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    """A scheduled database pull; the URL (with its password) is stored SM4-encrypted and never
    returned."""

    with get_database().write() as s:
        sched = pull.create_schedule(s, actor, resource_id, url=body.url, table=body.table, query=body.query,
                                     since_column=body.since_column, mode=body.mode, hour=body.hour)
        return pull.schedule_dict(s, sched)


@router.post("/api/v1/schedules/{schedule_id}/run")
def run_schedule(schedule_id: Id, actor: Actor = Depends(require_user)) -> dict[str, Any]:
    with get_database().write() as s:
        return jobs.job_dict(pull.run_schedule_now(s, actor, schedule_id))
