"""/console/jobs: the background jobs a steward's orgs own (scheduled pulls, deliveries …) with
their failures and a retry button (issue 3: "failures are visible to the steward"). A thin adapter
over jobs.py, which decides who sees and retries what."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from .. import jobs
from ..db import get_database
from ..i18n import N_
from ..orgs.model import Org
from ..params import Id
from . import auth
from .auth import console_user, csrf_checked
from .render import WebContext, redirect, render

router = APIRouter(route_class=auth.WebRoute, include_in_schema=False)

FILTERS = (("failed", N_("失败的任务")), ("all", N_("全部任务")))
STATUS_CLASS = {"排队": "submitted", "运行中": "submitted", "成功": "published", "失败": "returned",
                "放弃": "retired"}
PAGE_SIZE = 200


@router.get("/console/jobs")
def jobs_page(request: Request, ctx: WebContext = Depends(console_user)) -> Response:
    show = request.query_params.get("show") or "failed"
    if show not in dict(FILTERS):
        show = "all"
    with get_database().read() as s:
        rows = jobs.list_jobs(s, ctx.actor, failed=show == "failed", limit=PAGE_SIZE)
        org_names = {o.id: o.name for o in s.query(Org).filter(Org.id.in_({j.org_id for j in rows if j.org_id}))}
        views: list[dict[str, Any]] = []
        for job in rows:
            view = jobs.job_dict(job)
            view["org_name"] = org_names.get(job.org_id or -1, "")
            view["can_retry"] = (job.status in (jobs.JobStatus.FAILED.value, jobs.JobStatus.GAVE_UP.value)
                                 and jobs.can_manage_org_jobs(ctx.actor, job.org_id))
            views.append(view)
    return render(request, "jobs/list.html", rows=views, show=show, filters=FILTERS, status_class=STATUS_CLASS,
                  done=request.query_params.get("done"))


@router.post("/console/jobs/{job_id}/retry")
def retry(request: Request, job_id: Id, ctx: WebContext = Depends(csrf_checked)) -> Response:
    with get_database().write() as s:
        jobs.retry_job(s, ctx.actor, job_id)
    return redirect("/console/jobs?show=all&done=retry")
