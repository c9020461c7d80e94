"""Console boards: duty changes due, 一数一源 conflicts, the ledger's verification."""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request, Response

from ..access import can_read_all, require
from ..assess import evidence
from ..catalog import service
from ..db import get_database
from .auth import console_user
from .render import WebContext, render

DUTY_CLASS = {"未到期": "submitted", "已逾期": "returned", "按时完成": "published", "逾期完成": "retired"}


def duty_changes(request: Request, ctx: WebContext = Depends(console_user)) -> Response:
    require(ctx.actor.is_government, "查看职责变化")
    with get_database().read() as s:
        rows = service.duty_change_board(s, ctx.actor)
    return render(request, "duty_changes.html", rows=rows, duty_class=DUTY_CLASS)


def one_source(request: Request, ctx: WebContext = Depends(console_user)) -> Response:
    require(ctx.actor.is_government, "查看一数一源")
    paths = ctx.actor.reviewer_paths()
    # Reviewers look at their own region; everyone else at the whole platform's claims.
    region_path = None if can_read_all(ctx.actor) or not paths else paths[0]
    with get_database().read() as s:
        rows = service.one_source_conflicts(s, region_path)
    return render(request, "one_source.html", rows=rows)


def ledger_page(request: Request, ctx: WebContext = Depends(console_user)) -> Response:
    with get_database().read() as s:  # the same service and rule as GET /api/v1/ledger/verify
        report = evidence.verify_chain(s, ctx.actor)
    return render(request, "ledger.html", report=report)


def register(router: Any) -> None:
    router.add_api_route("/console/duty-changes", duty_changes, methods=["GET"], include_in_schema=False)
    router.add_api_route("/console/one-source", one_source, methods=["GET"], include_in_schema=False)
    router.add_api_route("/console/ledger", ledger_page, methods=["GET"], include_in_schema=False)
