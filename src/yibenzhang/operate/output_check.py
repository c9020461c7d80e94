"""Human output checking (输出检查, DOMAIN §7; the Five Safes' "safe outputs").

A result that passed the automatic rules leaves at once unless a rule flags it for a person:
- `row_level`: row-level output;
- `large_table`: an aggregate with more than rules.sandbox_review_rows rows;
- `many_suppressed`: more than rules.sandbox_review_suppressed_percent % of its cells suppressed
  (but not all: a table with every cell blank shows nothing);
- `near_identical`: at least rules.sandbox_review_repeats earlier released or held aggregates of
  the same authorization over the same view and grouping whose row sets are nested with this one
  (the shape of a differencing attempt);
- `review_all`: the authority set every release of the authorization to wait (its release policy).
Which of the rule flags hold is the setting rules.sandbox_review_flags. A held run (state 待审核)
is stored with its output, which only the authority sees; nothing of it leaves, and no product
may be built from it, until a checker approves.

The checker is the authority over the authorization's region (the reviewer role, or the
platform admin) and never the user who ran the query (two-person rule). The decision and its
reason are kept on the review row; the ledger records the run, the decision and the SM3 digest of
the reason. Approval is the moment the result leaves: it is then in the access log.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..access import Actor, can_read_all, require
from ..config import get_settings
from ..crypto import sm3_hex
from ..db import utcnow
from ..errors import Conflict, ErrorBag, NotFound, PermissionDenied
from ..ledger import access_log
from ..ledger import service as ledger
from ..orgs import service as orgs
from ..orgs.model import User
from . import authorizations as auths
from . import run_record
from .model import Authorization, OutputReview, ReleaseKind, ReleasePolicy, ReviewState, RunState, SandboxRun

FLAGS = ("row_level", "large_table", "many_suppressed", "near_identical", "review_all")
REASON_MAX = 2000


def _holding() -> set[str]:
    raw = get_settings().rules.sandbox_review_flags
    return {f.strip() for f in raw.split(",") if f.strip()} | {"review_all"}


def _review_all(session: Session, auth_id: int) -> bool:
    policy = session.get(ReleasePolicy, auth_id)
    return bool(policy and policy.review_all)


def flags_for(session: Session, auth_id: int, *, kind: str, rows: int, suppressed: int,
              repeats: int) -> list[str]:
    """The flags that hold this release for a checker (empty: it leaves now)."""
    rules = get_settings().rules
    flags = []
    if kind == ReleaseKind.ROWS.value:
        flags.append("row_level")
    if kind == ReleaseKind.AGGREGATE.value and rows > rules.sandbox_review_rows:
        flags.append("large_table")
    # a table whose every cell is blank shows nothing to check
    if 0 < suppressed < rows and suppressed * 100 > rules.sandbox_review_suppressed_percent * rows:
        flags.append("many_suppressed")
    if repeats >= rules.sandbox_review_repeats:
        flags.append("near_identical")
    if _review_all(session, auth_id):
        flags.append("review_all")
    holding = _holding()
    return [f for f in flags if f in holding]


def flags_for_noisy(session: Session, auth_id: int) -> list[str]:
    """Noisy releases are safe by their budget; they wait only when the authority said so."""
    return ["review_all"] if _review_all(session, auth_id) else []


def hold(session: Session, run: SandboxRun, flags: list[str], items: list[str] | None = None) -> OutputReview:
    """Hold a recorded run; `items`: the source items its output carries (for the access log when
    it leaves)."""
    run.state = RunState.HELD.value
    run.fingerprint = dict(run.fingerprint or {}, review={"state": ReviewState.PENDING.value, "flags": flags},
                           exit_items=list(items or run.columns or []))
    review = OutputReview(run_id=run.id, authorization_id=run.authorization_id, state=ReviewState.PENDING.value,
                          flags=flags, created_at=utcnow())
    session.add(review)
    session.flush()
    return review


def can_check(session: Session, actor: Actor, auth: Authorization) -> bool:
    return actor.is_admin or auths.can_manage(session, actor, auth.region_id)


def get_review(session: Session, actor: Actor, run_id: int) -> OutputReview:
    review = session.scalar(select(OutputReview).where(OutputReview.run_id == int(run_id)))
    run = session.get(SandboxRun, int(run_id))
    if review is None or run is None:
        raise NotFound(f"输出检查 {run_id}", "output_review_not_found")
    auth = session.get(Authorization, run.authorization_id)
    if auth is None or not (can_read_all(actor) or can_check(session, actor, auth)
                            or actor.acts_for_org(run.operator_org_id)):
        raise NotFound(f"输出检查 {run_id}", "output_review_not_found")
    return review


def review_as_dict(review: OutputReview) -> dict[str, Any]:
    return {"run_id": review.run_id, "authorization_id": review.authorization_id, "state": review.state,
            "flags": list(review.flags or []), "checker_id": review.checker_id, "reason": review.reason,
            "decided_at": review.decided_at.isoformat() if review.decided_at else None,
            "created_at": review.created_at.isoformat() if review.created_at else None}


def pending(session: Session, actor: Actor, authorization_id: int | None = None,
            limit: int = 100) -> list[OutputReview]:
    """Held runs a checker may decide: those of authorizations in the actor's regions."""
    query = select(OutputReview).where(OutputReview.state == ReviewState.PENDING.value)
    if authorization_id is not None:
        query = query.where(OutputReview.authorization_id == int(authorization_id))
    rows = list(session.scalars(query.order_by(OutputReview.id).limit(max(1, min(int(limit), 1000)))))
    out = []
    for review in rows:
        auth = session.get(Authorization, review.authorization_id)
        if auth is not None and (can_read_all(actor) or can_check(session, actor, auth)):
            out.append(review)
    return out


def decide(session: Session, actor: Actor, run_id: int, *, approve: bool, reason: str) -> OutputReview:
    """Release or refuse a held run, with a reason (two-person rule: not the query's author)."""
    run = session.get(SandboxRun, int(run_id), with_for_update=True)
    if run is None:
        raise NotFound(f"输出检查 {run_id}", "output_review_not_found")
    auth = session.get(Authorization, run.authorization_id)
    assert auth is not None
    if not can_check(session, actor, auth):
        if actor.acts_for_org(run.operator_org_id):
            raise PermissionDenied("审核沙箱输出", "output_check_denied")
        raise NotFound(f"输出检查 {run_id}", "output_review_not_found")
    review = session.scalar(select(OutputReview).where(OutputReview.run_id == run.id).with_for_update())
    if review is None:
        raise NotFound(f"输出检查 {run_id}", "output_review_not_found")
    if actor.user_id is not None and actor.user_id == run.user_id:
        raise PermissionDenied("审核自己提交的查询结果（双人原则）", "output_check_same_person")
    if review.state != ReviewState.PENDING.value or run.state != RunState.HELD.value:
        raise Conflict("output_check_decided", "该结果已审核：{state}", state=review.state)
    text = (reason or "").strip()
    bag = ErrorBag()
    if not text:
        bag.add("reason", "required", "必填项不能为空")
    elif len(text) > REASON_MAX:
        bag.add("reason", "too_long", "不能超过{n}个字符", n=REASON_MAX)
    bag.raise_if_any()
    review.state = ReviewState.APPROVED.value if approve else ReviewState.REJECTED.value
    review.checker_id = actor.user_id
    review.reason = text
    review.decided_at = utcnow()
    run.fingerprint = dict(run.fingerprint or {}, review={"state": review.state, "flags": list(review.flags or []),
                                                          "reason": text,
                                                          "decided_at": review.decided_at.isoformat()})
    if approve:
        run.state = RunState.RELEASED.value
    else:
        run.state = RunState.REFUSED.value
        run.reason_code = "output_check_rejected"
        run.reason = f"输出检查未通过：{text}"
        path = run_record.output_path(run)
        if path is not None:
            path.unlink(missing_ok=True)  # a refused output is not kept where it could be fetched
        run.output_path = None
    session.flush()
    ledger.append(session, actor, "operate.output_check.decide", "operate_sandbox_run", run.id, {
        "authorization_id": run.authorization_id, "decision": review.state, "flags": list(review.flags or []),
        "reason_digest": sm3_hex(text.encode("utf-8")), "output_digest": run.output_digest,
        "operator_user_id": run.user_id})
    if approve:  # the moment the result leaves the sandbox, to the operator who asked for it

        user = session.get(User, run.user_id) if run.user_id is not None else None
        reader = orgs.actor_for(session, user) if user is not None else actor
        access_log.record_read(
            session, reader, exit=access_log.SANDBOX_RELEASE, resource_id=(run.resources or [0])[0],
            items=list((run.fingerprint or {}).get("exit_items") or run.columns or []), rows=run.row_count or 0,
            detail={"run_id": run.id, "authorization_id": run.authorization_id, "release_kind": run.release_kind})
    return review


def require_checker(session: Session, actor: Actor, auth: Authorization) -> None:
    require(can_check(session, actor, auth), "审核沙箱输出", "output_check_denied")
