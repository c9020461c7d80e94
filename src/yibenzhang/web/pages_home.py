"""The console's home per role (issue 17): the work in front of the worker — what waits, how much
of it is overdue, and the link to it — instead of the same static cards for everyone.

Each card counts through the stage's own listing service with the actor, so a card shows only what
that person may open (the services check permission; a refusal just leaves the card out)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request, Response
from sqlalchemy.orm import Session

from ..catalog import review_queue
from ..catalog import service as catalog
from ..db import get_database
from ..enums import ResourceStatus, Role
from ..errors import DomainError
from ..i18n import N_
from ..open import applications as open_apps
from ..operate import authorizations as auths
from ..quality import objections as objection_service
from ..share import requests as share_requests
from .render import WebContext, render


def _count(fn: Callable[[], tuple[list[Any], int]]) -> int:
    return int(fn()[1])


def _steward_cards(s: Session, actor: Any) -> list[dict[str, Any]]:
    cards = []
    for org_id in sorted(actor.org_ids(Role.STEWARD)):
        returned = _count(lambda o=org_id: catalog.list_resources(s, actor, org_id=o,
                                                                   status=ResourceStatus.RETURNED.value, limit=1))
        drafts = _count(lambda o=org_id: catalog.list_resources(s, actor, org_id=o,
                                                                 status=ResourceStatus.DRAFT.value, limit=1))
        cards.append({"key": "catalog", "label": "我的编目", "href": "/console/catalog", "count": returned + drafts,
                      "overdue": 0, "hint": N_("已退回待修改 {returned} 条，草稿 {drafts} 条"),
                      "params": {"returned": returned, "drafts": drafts}})
    own = actor.org_ids(Role.STEWARD)
    duties = [d for d in catalog.duty_change_board(s, actor)
              if d["state"] in ("未到期", "已逾期") and d["org_id"] in own]
    if duties:
        cards.append({"key": "duty", "label": "职责变化", "href": "/console/duty-changes", "count": len(duties),
                      "overdue": sum(d["state"] == "已逾期" for d in duties), "hint": N_("职责变化后须更新目录"),
                      "params": {}})
    return cards


def _cards(s: Session, actor: Any) -> list[dict[str, Any]]:
    cards: list[dict[str, Any]] = []

    def add(key: str, label: str, href: str, total: Callable[[], int], overdue: Callable[[], int] | None,
            hint: str) -> None:
        try:
            cards.append({"key": key, "label": label, "href": href, "count": total(),
                          "overdue": overdue() if overdue else 0, "hint": hint, "params": {}})
        except DomainError:
            return  # not this person's work

    if actor.is_admin or actor.reviewer_paths():
        add("review", "审核队列", "/console/review", lambda: len(catalog.review_queue(s, actor)),
            lambda: review_queue.review_page(s, actor, review_queue.ReviewQuery(limit=1)).overdue,
            "待审核的信息资源：打开后发布或退回")
    if actor.org_ids(Role.STEWARD):
        cards += _steward_cards(s, actor)
    if actor.is_admin or actor.reviewer_paths() or actor.org_ids(Role.APPROVER, Role.STEWARD):
        add("share-decide", "待我审批的共享申请", "/console/share",
            lambda: _count(lambda: share_requests.list_requests(s, actor, view="to_decide", limit=1)),
            lambda: _count(lambda: share_requests.list_requests(s, actor, view="to_decide", overdue=True, limit=1)),
            "按到期日先后处理")
    if actor.org_ids(Role.APPROVER, Role.STEWARD):
        add("open-decide", "待答复的开放申请", "/console/open",
            lambda: _count(lambda: open_apps.list_applications(s, actor, view="provider", state="待审批", limit=1)),
            lambda: _count(lambda: open_apps.list_applications(s, actor, view="provider", overdue=True, limit=1)),
            "社会公众申请使用有条件开放的数据")
    if actor.org_ids(Role.CONSUMER):
        add("share-mine", "本单位的共享申请", "/console/share",
            lambda: _count(lambda: share_requests.list_requests(s, actor, view="mine", limit=1)), None,
            "申请、审批进度、授权与交付")
    if actor.is_government:
        add("objections", "待处理的异议", "/console/objections",
            lambda: _count(lambda: objection_service.list_objections(s, actor, open_only=True, limit=1)),
            lambda: _count(lambda: objection_service.list_objections(s, actor, overdue=True, limit=1)),
            "答复、更正或裁定")
    if actor.is_admin or actor.reviewer_paths() or actor.org_ids(Role.OPERATOR):
        add("operate", "运营授权", "/console/operate",
            lambda: len(auths.list_authorizations(s, actor, state="有效")), None, "有效的授权与沙箱查询")
    return [c for c in cards if c["count"] or c["overdue"] or c["key"] in ("review", "catalog")]


def home(request: Request, ctx: WebContext) -> Response:
    with get_database().read() as s:
        cards = _cards(s, ctx.actor)
    cards.sort(key=lambda c: (-c["overdue"], -bool(c["count"])))  # overdue first, then what waits
    may_verify = ctx.actor.is_admin or ctx.actor.is_auditor or bool(ctx.actor.reviewer_paths())
    return render(request, "console_home.html", cards=cards, may_verify=may_verify)
