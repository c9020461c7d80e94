"""The sandbox (原始数据不出域、数据可用不可见, DOMAIN §7): operators compute inside the platform and
take out only results that cannot reveal individuals.

One query, step by step (`submit_query`):
1. the actor is a 运营方 user of the authorization's operator org, the authorization is active
   today, and the user has not used up rules.sandbox_refusals_per_hour data-dependent refusals;
2. `sql_guard.check`: one SELECT over the views `r_<resource id>`, nesting and size capped,
   allow-listed constructs and functions, only authorized columns;
3. `disclosure_guard.plan_release` with `lineage.analyse`: every output and predicate traced to
   the items it comes from (not their names); aggregated or row-level output — or refused;
4. the sandbox's copy of the referenced columns is read from the zone through the zone engine:
   identifiers and non-numeric protected items as pseudonyms keyed per authorization and run,
   protected numbers as DOUBLE, attributes derived from an ID number as clear columns of their
   own (`column_kinds`);
5. the query runs in a separate process (`zone/sandbox_runner.py`) with an address-space cap and
   a wall-clock kill, on a DuckDB connection that sees only that copy — or, on Spark (zone.engine's
   rule for a sandbox aggregate), on the cluster over views built there (`SparkEngine.aggregate`);
6. aggregated: threshold, dominance and differencing decide primary suppressions, `suppression`
   adds secondary ones so margins do not give them back, suppressed cells are blanked (the
   operator sees which and why); row-level: clear items only;
7. every run — released or refused, killed included — is stored with the SQL and its SM3 digest,
   the outcome, the output's SM3 digest and, when released, the output as
   `$YBZ_ZONE/sandbox/<run id>.parquet`; one ledger event per run carries digests, never the SQL
   text (its literals may be personal data). Refusals that depend on the rows show the operator
   one generic reason (`DATA_REFUSALS`); the authority sees the specific one;
8. a release that a rule flags (row-level output, a large table, many suppressed cells, repeated
   near-identical queries, or every release when the authority said so) is stored but held
   (待审核) until a checker at the authority approves it (`output_check`). An authorization in
   the privacy-budget mode takes no SQL at all: only noisy counts, sums and means (`privacy`).
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlglot.errors import SqlglotError

from .. import workdays
from ..access import Actor, can_read_all, require
from ..catalog.model import Resource
from ..classify import policies
from ..classify.categories import CATEGORIES
from ..config import get_settings
from ..crypto import canonical_json, sm3_hex
from ..db import Database, utcnow
from ..enums import RegionLevel, Role
from ..errors import DomainError, ErrorBag, NotFound, Unauthenticated
from ..i18n import N_, translate
from ..orgs.model import Region
from ..zone.engine import THREADS, Work, engine_for
from ..zone.port import LiveState
from ..zone.service import literal, live_state, quote
from . import authorizations as auths
from . import disclosure_guard as disclosure
from . import output_check, run_record, sql_guard, suppression
from .model import Authorization, ReleaseKind, ReleaseMode, RunState, SandboxRun
from .run_record import output_digest, output_path

logger = logging.getLogger(__name__)

SQL_MAX = 20_000
# An engineering limit, not a policy number: a row-level result is for a product's dataset
# sample, and its digest is computed over canonical JSON of every row.
ROW_OUTPUT_MAX = 100_000
PREVIEW_ROWS = 1000
FORBIDDEN_GRADES = (N_("核心"), N_("重要"))
FINGERPRINT_GROUPS_MAX = 50_000
RUNNER = str(Path(__file__).parent.parent / "zone" / "sandbox_runner.py")


_today = workdays.today  # the one clock (workdays.today): China's date, patchable in tests


# --- reading runs -------------------------------------------------------------------------------


def can_read_run(session: Session, actor: Actor, run: SandboxRun) -> bool:
    if can_read_all(actor) or actor.acts_for_org(run.operator_org_id, Role.OPERATOR):
        return True
    auth = session.get(Authorization, run.authorization_id)
    return auth is not None and auths.can_manage(session, actor, auth.region_id)


def reviews(session: Session, actor: Actor, run: SandboxRun) -> bool:
    """The authority over the run's authorization (or the platform) sees why a run was refused."""
    if can_read_all(actor):
        return True
    auth = session.get(Authorization, run.authorization_id)
    return auth is not None and auths.can_manage(session, actor, auth.region_id)


def get_run(session: Session, actor: Actor, run_id: int) -> SandboxRun:
    run = session.get(SandboxRun, int(run_id))
    if run is None or not can_read_run(session, actor, run):
        raise NotFound(f"沙箱查询 {run_id}", "sandbox_run_not_found")
    return run


def list_runs(session: Session, actor: Actor, authorization_id: int, limit: int = 100) -> list[SandboxRun]:
    auth = auths.get_authorization(session, actor, authorization_id)
    query = (select(SandboxRun).where(SandboxRun.authorization_id == auth.id)
             .order_by(SandboxRun.id.desc()).limit(max(1, min(int(limit), 1000))))
    return list(session.scalars(query))


def read_output(run: SandboxRun, limit: int = PREVIEW_ROWS) -> dict[str, Any] | None:
    path = output_path(run)
    if path is None or not path.exists():
        return None
    table = pq.read_table(path)
    return {"columns": table.column_names, "rows": table.slice(0, limit).to_pylist(),
            "truncated": table.num_rows > limit}


# Refusals whose outcome depends on the rows (not only on the SQL and the authorization): each is
# a one-bit answer, so the operator sees one generic text and the reason is kept for the authority.
DATA_REFUSALS = frozenset({"sql_runtime_error", "sandbox_timeout", "sandbox_memory", "release_small_group",
                           "release_differencing", "release_too_many_rows", "sandbox_failed"})
GENERIC_CODE = "release_refused"
GENERIC_REASON = N_("查询未能完成或结果不能放行")


def run_as_dict(run: SandboxRun, *, with_output: bool = False, lang: str = "zh",
                for_authority: bool = False) -> dict[str, Any]:
    """A run as its reader may see it. Refusals that depend on the data show one generic reason
    unless `for_authority` (the authority reviewing runs sees the code and the reason)."""
    hidden = run.reason_code in DATA_REFUSALS and not for_authority
    held = run.state == RunState.HELD.value
    fp = run.fingerprint or {}
    out: dict[str, Any] = {
        "id": run.id, "authorization_id": run.authorization_id, "operator_org_id": run.operator_org_id,
        "user_id": run.user_id, "sql": run.sql_text, "sql_digest": run.sql_digest, "resources": run.resources,
        "state": run.state, "released": run.state == RunState.RELEASED.value, "release_kind": run.release_kind,
        "reason_code": GENERIC_CODE if hidden else run.reason_code,
        "reason": GENERIC_REASON if hidden else run.reason,
        "reason_en": translate(GENERIC_REASON, "en") if hidden else (translate_reason(run) if run.reason else None),
        "row_count": run.row_count, "columns": run.columns, "output_digest": run.output_digest,
        "suppressed": fp.get("suppressed", []) if run.state in (RunState.RELEASED.value, RunState.HELD.value) else [],
        "elapsed_ms": run.elapsed_ms, "created_at": run.created_at.isoformat() if run.created_at else None,
        # issue 16: human output checking and the privacy budget
        "held": held, "review": fp.get("review"), "noise": fp.get("dp"),
    }
    if with_output:
        # a held output is for the checker only: nothing leaves before approval
        out["output"] = read_output(run) if not held or for_authority else None
    return out


def translate_reason(run: SandboxRun) -> str | None:
    data = (run.fingerprint or {}).get("reason") if run.fingerprint else None
    if data:
        return translate(data["message"], "en", **data["params"])
    return run.reason


# --- the views an authorization opens ------------------------------------------------------------


def usable_items(session: Session, resource: Resource) -> list[str]:
    """Items an operator may compute over: those not graded 核心 / 重要 (an ungraded item counts
    as the masking policy's default grade, 核心: fail closed)."""
    policy = policies.get_policy()
    return [m.name for m in policies.resource_items(session, resource)
            if policy.grade_label(m.grade) not in FORBIDDEN_GRADES]


IDENTIFIER_FAMILIES = frozenset({"身份标识", "联系方式", "金融账户", "位置"})
IDENTIFIER_CATEGORIES = frozenset({"person_name", "birth_date", "uscc"})
# names that say "this singles a person or a record out", whatever the grading said (个人编号)
IDENTIFIER_NAME = re.compile(r"身份证|证件|编号|号码|证号|姓名|名字|电话|手机|账号|帐号|卡号|邮箱|地址|住址|车牌|"
                             r"(^|_)(id|name|phone|mobile|email|address)($|_)", re.IGNORECASE)
NUMERIC_TYPES = ("DOUBLE", "DECIMAL", "BIGINT", "INTEGER")
ID_CARD_NAME = re.compile(r"身份证|公民身份号码")
DERIVED_FROM_ID = (("出生年", "birth_year"), ("年龄段", "age_band"), ("性别", "sex"), ("地区", "region"))
# issue 16: an address gives its 区县 (the county-level division code, matched on the names of the
# platform's regions), a clear attribute of its own like those derived from an ID number
ADDRESS_NAME = re.compile(r"地址|住址|住所")


def _is_identifier(item: policies.MaskItem) -> bool:
    cats = [CATEGORIES.get(c) for c in item.categories]
    return (any(c is not None and c.family in IDENTIFIER_FAMILIES for c in cats)
            or any(c in IDENTIFIER_CATEGORIES for c in item.categories)
            or IDENTIFIER_NAME.search(item.name) is not None)


def column_kinds(item: policies.MaskItem, clear: bool) -> list[tuple[str, str]]:
    """How the sandbox's copy shows one authorized item: (column, kind) pairs. Kinds: "clear" (as
    stored), "numeric" (protected, as DOUBLE), "pseudonym" (a token keyed per authorization and
    run), and the attributes derived from an ID number ("birth_year", "age_band", "sex",
    "region"), which are clear."""
    identifier = _is_identifier(item)
    out: list[tuple[str, str]] = []
    if clear and not identifier:
        out.append((item.name, "clear"))
    elif not identifier and item.sql_type.upper().startswith(NUMERIC_TYPES):
        out.append((item.name, "numeric"))
    else:
        out.append((item.name, "pseudonym"))
    if "id_card" in item.categories or ID_CARD_NAME.search(item.name):
        out += [(f"{item.name}_{suffix}", kind) for suffix, kind in DERIVED_FROM_ID]
    if "address" in item.categories or ADDRESS_NAME.search(item.name):
        out.append((f"{item.name}_区县", "district"))
    return out


def views_for(session: Session, auth: Authorization) -> tuple[dict[str, sql_guard.View],
                                                          dict[str, dict[str, disclosure.ItemRule]],
                                                          dict[str, dict[str, policies.MaskItem]]]:
    """Views `r_<id>` over the sandbox's copy of the authorized items (identifiers as pseudonyms,
    protected numbers as DOUBLE, derived attributes as columns of their own), how the 运营结果
    policy treats each item, and the items as masking sees them."""
    policy = policies.get_policy()
    views: dict[str, sql_guard.View] = {}
    rules: dict[str, dict[str, disclosure.ItemRule]] = {}
    masks: dict[str, dict[str, policies.MaskItem]] = {}
    for entry in auth.resources or []:
        resource = session.get(Resource, int(entry["resource_id"]))
        if resource is None:
            continue
        listed = set(entry.get("items") or [])
        items = [m for m in policies.resource_items(session, resource) if m.name in listed]
        allowed = [m for m in items if policy.grade_label(m.grade) not in FORBIDDEN_GRADES]
        forbidden = frozenset(m.name for m in items if m not in allowed)
        name = f"r_{resource.id}"
        rules[name] = {}
        masks[name] = {}
        columns: list[tuple[str, str, str]] = []
        for m in allowed:
            spec = policy.operator(m.grade, policies.OPERATOR_RESULT, m.categories)
            clear = spec.name == "none"
            rules[name][m.name.lower()] = disclosure.ItemRule(denied=spec.denied, clear=clear)
            masks[name][m.name] = m
            columns += [(col, kind, m.name) for col, kind in column_kinds(m, clear)]
        views[name] = sql_guard.View(
            resource.id, tuple(c for c, _k, _i in columns), forbidden,
            protected=frozenset(c.lower() for c, k, _i in columns if k in ("numeric", "pseudonym")),
            numeric=frozenset(c.lower() for c, k, _i in columns if k == "numeric"),
            derived=frozenset(c.lower() for c, k, _i in columns if k not in ("clear", "numeric", "pseudonym")),
            sources=tuple(columns))
    return views, rules, masks


def district_sql(src: str, counties: list[tuple[str, str, str]]) -> str:
    """The county-level division code an address names: (code, county name, city name) of the
    platform's regions; a county whose city is named too wins over a namesake elsewhere, and a
    longer name over a shorter one ("西山区" before "山区")."""
    if not counties:
        return "CAST(NULL AS VARCHAR)"
    ordered = sorted(counties, key=lambda c: -len(c[1]))
    whens = [f"WHEN strpos({src}, {literal(city)}) > 0 AND strpos({src}, {literal(name)}) > 0 THEN {literal(code)}"
             for code, name, city in ordered if city]
    whens += [f"WHEN strpos({src}, {literal(name)}) > 0 THEN {literal(code)}" for code, name, _c in ordered]
    return f"CASE {' '.join(whens)} END"


def _counties(session: Session) -> list[tuple[str, str, str]]:
    rows = session.execute(select(Region.code, Region.name, Region.parent_id).where(
        Region.level == RegionLevel.COUNTY.value)).all()
    parents = {r.id: r.name for r in session.scalars(select(Region).where(
        Region.id.in_({p for _c, _n, p in rows if p is not None})))} if rows else {}
    return [(code, name, parents.get(parent, "")) for code, name, parent in rows if len(name) >= 2]


def _column_sql(column: str, kind: str, item: str, key: str, year: int,
                counties: list[tuple[str, str, str]] | None = None) -> str:
    """The expression over the zone's relation that gives one column of the sandbox's copy."""
    src = quote(item)
    digits = f"regexp_replace(CAST({src} AS VARCHAR), '[^0-9Xx]', '', 'g')"
    if kind == "clear":
        expr = src
    elif kind == "numeric":
        expr = f"TRY_CAST({src} AS DOUBLE)"
    elif kind == "pseudonym":
        expr = f"CASE WHEN {src} IS NULL THEN NULL ELSE left(sha256({literal(key)} || CAST({src} AS VARCHAR)), 20) END"
    elif kind == "birth_year":
        expr = f"CASE WHEN length({digits}) = 18 THEN TRY_CAST(substr({digits}, 7, 4) AS INTEGER) END"
    elif kind == "age_band":
        age = f"({year} - TRY_CAST(substr({digits}, 7, 4) AS INTEGER))"
        expr = (f"CASE WHEN length({digits}) = 18 AND {age} >= 0 THEN CAST(({age} // 10) * 10 AS VARCHAR) || '-' || "
                f"CAST(({age} // 10) * 10 + 9 AS VARCHAR) END")
    elif kind == "sex":
        expr = (f"CASE WHEN length({digits}) = 18 THEN CASE WHEN TRY_CAST(substr({digits}, 17, 1) AS INTEGER) % 2 = 1 "
                f"THEN '男' ELSE '女' END END")
    elif kind == "region":
        expr = f"CASE WHEN length({digits}) = 18 THEN substr({digits}, 1, 6) END"
    elif kind == "district":
        expr = district_sql(f"CAST({src} AS VARCHAR)", counties or [])
    else:  # pragma: no cover - kinds are this module's own
        raise ValueError(kind)
    return f"{expr} AS {quote(column)}"


def _projections(session: Session, checked: sql_guard.Checked, auth_id: int,
                 day: date) -> dict[str, tuple[LiveState, str]]:
    """Per view, its resource's live state and the projection that makes the sandbox's copy:
    only the referenced columns, identifiers already replaced by pseudonyms keyed for this run
    (the key is random and never stored: two runs, or two authorizations, give unrelated tokens)."""
    key = f"{secrets.token_hex(16)}:{auth_id}"
    out: dict[str, tuple[LiveState, str]] = {}
    counties = None
    for view in checked.views:
        cols = [c for c in view.sources if checked.uses_star or c[0].lower() in checked.columns]
        cols = cols or list(view.sources[:1])  # COUNT(*) alone still needs the rows
        if counties is None and any(kind == "district" for _c, kind, _i in cols):
            counties = _counties(session)
        projection = ", ".join(_column_sql(c, kind, item, key, day.year, counties)
                               for c, kind, item in cols) or "NULL AS _none"
        out[view.name] = (live_state(session, view.resource_id), projection)
    return out


def _materialize(engine: Any, projections: dict[str, tuple[LiveState, str]]) -> dict[str, pa.Table]:
    """The sandbox's copy for the in-process engine: read from the zone into Arrow, handed to
    the runner process."""
    return {name: engine.run_platform_sql(state, f"SELECT {projection} FROM r")
            for name, (state, projection) in projections.items()}


@dataclass
class Copy:
    """The sandbox's copy of a query's views, where the query will run: read into Arrow for the
    runner process (DuckDB), or left on the cluster (Spark: the rows never come here). Which one
    is zone.engine's rule for a sandbox aggregate (YBZ_ENGINE, YBZ_SPARK_MIN_BYTES)."""

    engine: Any
    projections: dict[str, tuple[LiveState, str]]
    tables: dict[str, pa.Table] = field(default_factory=dict)

    @classmethod
    def prepare(cls, session: Session, checked: sql_guard.Checked, auth_id: int, day: date) -> Copy:
        projections = _projections(session, checked, auth_id, day)
        engine = engine_for(Work.SANDBOX, input_bytes=sum(state.bytes for state, _p in projections.values()))
        copy = cls(engine, projections)
        if engine.name == "duckdb":
            copy.tables = _materialize(engine, projections)
        return copy

    def run(self, sql: str, *, timeout: float, memory_mb: int) -> pa.Table:
        try:
            if self.engine.name == "duckdb":
                return run_locked(sql, self.tables, timeout=timeout, memory_mb=memory_mb)
            return run_remote(self.engine, self.projections, sql, timeout=timeout)
        finally:
            self.tables = {}


_spare_lock = threading.Lock()
_spare: subprocess.Popen[bytes] | None = None


# The runner caps its address space (RLIMIT_AS), so what counts is memory reserved, not used:
# Arrow's mimalloc pool and glibc's per-thread arenas reserve far ahead of use, and a query
# that scans its tables over and over (a cross join) aborted inside Arrow's allocator before
# its time was up — one run in four on a busy machine, refused as `sandbox_memory`.
RUNNER_ENV = {"ARROW_DEFAULT_MEMORY_POOL": "system", "MALLOC_ARENA_MAX": "2"}


def _spawn_runner() -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-I", RUNNER], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, close_fds=True, env={**os.environ, **RUNNER_ENV})


def _take_runner() -> subprocess.Popen[bytes]:
    """A runner process with its libraries already imported (one spare is kept per server
    process, so the import time is not on the query's path), and a new spare started behind it.
    The spare holds no data: it waits for one line on stdin, and exits when the server does."""
    global _spare
    with _spare_lock:
        proc = _spare if _spare is not None and _spare.poll() is None else _spawn_runner()
        _spare = _spawn_runner()
    return proc


def _scratch_dir(size: int) -> str:
    """Where the sandbox process's input goes: memory-backed /dev/shm when it has room for it
    (containers often give it 64 MB), else the system's temporary folder."""
    shm = Path("/dev/shm")
    base = None
    if shm.is_dir() and os.access(shm, os.W_OK):
        stat = os.statvfs(shm)
        if stat.f_bavail * stat.f_frsize > 2 * size + (64 << 20):
            base = str(shm)
    return tempfile.mkdtemp(prefix="ybz-sandbox-", dir=base)


def run_locked(sql: str, tables: dict[str, pa.Table], *, timeout: float, memory_mb: int) -> pa.Table:
    """Run `sql` in a separate process (`zone/sandbox_runner.py`) that sees only `tables`: a DuckDB connection
    without file or network access, no extension loading, configuration locked, its address space
    capped by setrlimit, killed by the wall clock after `timeout` s. A killed or crashed process
    is a refusal like any other, never an exception that escapes."""
    workdir = _scratch_dir(sum(t.nbytes for t in tables.values()))
    try:
        for name, table in tables.items():
            with pa.OSFile(os.path.join(workdir, f"{name}.arrow"), "wb") as sink, \
                    ipc.new_file(sink, table.schema) as writer:
                writer.write_table(table)
        with open(os.path.join(workdir, "spec.json"), "w", encoding="utf-8") as f:
            json.dump({"sql": sql, "tables": list(tables), "memory_mb": int(memory_mb), "threads": THREADS}, f)
        proc = _take_runner()
        assert proc.stdin is not None
        try:
            proc.stdin.write((workdir + "\n").encode("utf-8"))
            proc.stdin.close()
        except OSError:  # the spare died meanwhile: a fresh one
            proc = _spawn_runner()
            assert proc.stdin is not None
            proc.stdin.write((workdir + "\n").encode("utf-8"))
            proc.stdin.close()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired as err:
            proc.kill()
            proc.wait()
            raise sql_guard.Refusal("sandbox_timeout", "查询超过{seconds}秒时限，已中止", seconds=timeout) from err
        out_path = os.path.join(workdir, "out.arrow")
        if proc.returncode == 0 and os.path.exists(out_path):
            with pa.memory_map(out_path) as source:
                return ipc.open_file(source).read_all().combine_chunks()
        error_path = os.path.join(workdir, "error.json")
        error = None
        if os.path.exists(error_path):
            with open(error_path, encoding="utf-8") as f:
                error = json.load(f)
        if error is None:  # killed by a signal, or died past its address-space cap
            # the return code only (its stderr may quote values): what ended it stays visible
            logger.warning("sandbox runner ended without an answer: return code %s", proc.returncode)
            raise sql_guard.Refusal("sandbox_memory", "查询超过{mb}MB内存上限，已中止", mb=memory_mb)
        if error["kind"] == "memory":
            raise sql_guard.Refusal("sandbox_memory", "查询超过{mb}MB内存上限，已中止", mb=memory_mb)
        if error["kind"] == "plan":
            raise sql_guard.Refusal("sql_error", "查询执行出错：{error}", error=error["message"])
        raise sql_guard.Refusal("sql_runtime_error", "查询在处理数据时出错（{kind}），错误详情可能含有数据，不予显示",
                                kind=error["type"])
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


# A result this large is not an aggregate anyone releases; on a cluster it is also the bound on
# what comes back to the web process (the runner's bound is its memory cap).
REMOTE_ROWS_MAX = 1_000_000


def run_remote(engine: Any, projections: dict[str, tuple[LiveState, str]], sql: str, *,
               timeout: float) -> pa.Table:
    """Run `sql` on a cluster engine (Spark) over the views built there. Its failures are
    refusals like the runner's: a planning error names Spark's error class, a runtime error only
    its kind (the message may quote values), the time limit `sandbox_timeout`; a cluster that
    is down is `engine_unavailable` (the run is recorded as refused; the operator tries again)."""
    # deferred: keeps zone.spark out of this module's import
    from ..zone.spark import SandboxError, SandboxInterrupted

    try:
        out = engine.aggregate(projections, sql, timeout=timeout, max_rows=REMOTE_ROWS_MAX)
    except SandboxInterrupted as err:
        raise sql_guard.Refusal("sandbox_timeout", "查询超过{seconds}秒时限，已中止", seconds=timeout) from err
    except SandboxError as err:
        if err.planning:
            raise sql_guard.Refusal("sql_error", "查询执行出错：{error}", error=err.kind) from err
        raise sql_guard.Refusal("sql_runtime_error", "查询在处理数据时出错（{kind}），错误详情可能含有数据，不予显示",
                                kind=err.kind) from err
    except DomainError as err:
        if err.code != "engine_unavailable":
            raise
        raise sql_guard.Refusal("engine_unavailable", "查询引擎暂不可用，请稍后重试") from err
    if out.num_rows > REMOTE_ROWS_MAX:
        raise sql_guard.Refusal("release_too_many_rows", "结果超过{n}行，请缩小范围或改为聚合", n=REMOTE_ROWS_MAX)
    return out


def _earlier_fingerprints(session: Session, auth_id: int, base: str) -> list[dict[str, Any]]:
    rows = session.scalars(select(SandboxRun.fingerprint).where(
        SandboxRun.authorization_id == auth_id,
        # held runs count too: once approved they are out, and a checker may approve both of a pair
        SandboxRun.state.in_([RunState.RELEASED.value, RunState.HELD.value]),
        SandboxRun.release_kind == ReleaseKind.AGGREGATE.value))
    return [f for f in rows if f and f.get("base") == base]


def _mask_rows(out: pa.Table, plan: disclosure.Plan, masks: dict[str, policies.MaskItem],
               auth_id: int) -> pa.Table:
    items = []
    for name, item in zip(out.column_names, plan.output_items, strict=True):
        m = masks[item]
        items.append(policies.MaskItem(name, m.categories, m.grade, m.sql_type))
    masked = policies.apply_policy_to_arrow(out, items, policies.OPERATOR_RESULT, purpose=f"运营授权-{auth_id}")
    return masked.replace_schema_metadata(None)


# --- submitting a query ---------------------------------------------------------------------------


@dataclass
class _Outcome:
    """What the read phase and the run decided, before the run is recorded."""

    refusal: sql_guard.Refusal | None = None
    plan: disclosure.Plan | None = None
    out: pa.Table | None = None  # aggregate: still with the hidden columns until `_release`
    fingerprint: dict[str, Any] | None = None
    copy: Copy | None = None
    primary: dict[int, str] = field(default_factory=dict)  # aggregate: cell → primary reason
    suppressed: list[dict[str, Any]] = field(default_factory=list)


def _inactive(auth: Authorization, day: date) -> sql_guard.Refusal:
    return sql_guard.Refusal("authorization_inactive", "运营授权状态为“{state}”，不能查询",
                             state=auths.effective_state(auth, day))


def _rate_limited(session: Session, user_id: int) -> sql_guard.Refusal | None:
    """Refusals and errors that depend on the data are answers of one bit each: an operator gets
    at most rules.sandbox_refusals_per_hour of them per hour (counted in the metadata store, so
    every worker agrees)."""
    limit = get_settings().rules.sandbox_refusals_per_hour
    since = utcnow() - timedelta(hours=1)
    n = session.scalar(select(func.count()).select_from(SandboxRun).where(
        SandboxRun.user_id == user_id, SandboxRun.created_at >= since,
        SandboxRun.reason_code.in_(sorted(DATA_REFUSALS))))
    if (n or 0) >= limit:
        return sql_guard.Refusal("sandbox_rate_limited", "一小时内被拒绝或出错的查询已达{n}次，请稍后再试", n=limit)
    return None


def _prepare(session: Session, auth: Authorization, sql: str, day: date) -> _Outcome:
    """Check and plan the query and read its items from the zone (a read transaction)."""
    try:
        if not auths.is_active(auth, day):
            raise _inactive(auth, day)
        if auths.release_mode(session, auth.id) == ReleaseMode.PRIVACY_BUDGET.value:
            raise sql_guard.Refusal("privacy_mode_sql", "该运营授权采用隐私预算方式：只能发布加噪的计数、求和与均值，"
                                    "不能提交SQL查询")
        views, rules, masks = views_for(session, auth)
        checked = sql_guard.check(sql, views)
        plan = disclosure.plan_release(checked, views, rules)
        outcome = _Outcome(plan=plan, copy=Copy.prepare(session, checked, auth.id, day))
        outcome.fingerprint = {"masks": masks[plan.view.name]} if plan.kind == ReleaseKind.ROWS.value else None
        return outcome
    except sql_guard.Refusal as refusal:
        return _Outcome(refusal=refusal)
    except RecursionError:
        return _Outcome(refusal=sql_guard.Refusal("sql_too_deep", "括号嵌套不能超过{n}层", n=sql_guard.NESTING_MAX))
    except (SqlglotError, ValueError, KeyError, IndexError, TypeError, AttributeError) as err:
        # what the analyser does not understand is refused (default deny), never a 500; the
        # kind of failure is logged, never the SQL (its literals may be personal data)
        logger.warning("sandbox analysis failed: %s", type(err).__name__)
        return _Outcome(refusal=sql_guard.Refusal("sql_unsupported", "查询无法分析，不予执行"))


def _cells(out: pa.Table, plan: disclosure.Plan) -> list[suppression.Cell]:
    counts = [int(n or 0) for n in out.column(disclosure.COUNT_COLUMN).to_pylist()]
    keys = [out.column(f"{disclosure.GROUP_COLUMN}{i}").to_pylist() for i in range(plan.group_count)]
    return [suppression.Cell(tuple(k[r] for k in keys), counts[r]) for r in range(out.num_rows)]


def _primary(out: pa.Table, plan: disclosure.Plan, k: int) -> dict[int, str]:
    """Threshold and dominance (N–K) over each cell."""
    rules = get_settings().rules
    reasons: dict[int, str] = {}
    for r, cell in enumerate(_cells(out, plan)):
        if cell.count < k:
            reasons[r] = "threshold"
    for i in range(plan.magnitude_count):
        tops = out.column(f"{disclosure.TOP_COLUMN}{i}").to_pylist()
        totals = out.column(f"{disclosure.TOTAL_COLUMN}{i}").to_pylist()
        for r, (top, total) in enumerate(zip(tops, totals, strict=True)):
            if r not in reasons and suppression.dominated(top, total, rules.sandbox_dominance_n1_percent,
                                                          rules.sandbox_dominance_n2_percent):
                reasons[r] = "dominance"
    return reasons


def _execute(outcome: _Outcome, auth_id: int, k: int) -> None:
    """Run in the sandbox process (no transaction open) and apply the release rule."""
    plan = outcome.plan
    assert plan is not None
    settings = get_settings().rules
    try:
        assert outcome.copy is not None
        out = outcome.copy.run(plan.sql, timeout=settings.sandbox_timeout_seconds,
                               memory_mb=settings.sandbox_memory_mb)
        outcome.copy = None
        if plan.kind == ReleaseKind.AGGREGATE.value:
            outcome.out = out
            outcome.primary = _primary(out, plan, k)
            outcome.fingerprint = {"base": plan.base, "predicates": plan.predicates}
        else:
            if out.num_rows > ROW_OUTPUT_MAX:
                raise sql_guard.Refusal("release_too_many_rows", "行级结果超过{n}行，请缩小范围或改为聚合",
                                        n=ROW_OUTPUT_MAX)
            masks = (outcome.fingerprint or {})["masks"]
            outcome.fingerprint = None
            outcome.out = _mask_rows(out, plan, masks, auth_id)
    except sql_guard.Refusal as refusal:
        outcome.refusal, outcome.out, outcome.fingerprint = refusal, None, None
    except (OSError, pa.ArrowException) as err:  # the sandbox process could not be run or read
        logger.warning("sandbox run failed: %s", type(err).__name__)
        outcome.refusal = sql_guard.Refusal("sandbox_failed", "查询未能在沙箱中完成")
        outcome.out, outcome.fingerprint = None, None


def _release(outcome: _Outcome, earlier: list[dict[str, Any]], k: int) -> None:
    """Aggregate: add differencing cells to the primary suppressions, suppress secondary cells,
    blank the suppressed cells' values and drop the hidden columns."""
    plan, out = outcome.plan, outcome.out
    assert plan is not None and out is not None
    cells = _cells(out, plan)
    keys = [canonical_json(list(c.key)).decode() for c in cells]
    primary = dict(outcome.primary)
    draft = {"base": plan.base, "predicates": plan.predicates,
             "groups": [[key, c.count] for key, c in zip(keys, cells, strict=True)]}
    for key in disclosure.differencing_cells(draft, earlier, k):
        for r, mine in enumerate(keys):
            if mine == key:
                primary.setdefault(r, "differencing")
    reasons = suppression.suppress(cells, primary, k)
    # the groups the query shows: those its HAVING keeps, within its LIMIT / OFFSET (in its order)
    shown = list(range(out.num_rows))
    if plan.having:
        keep = out.column(disclosure.HAVING_COLUMN).to_pylist()
        shown = [r for r in shown if keep[r] is True]
    start = plan.offset or 0
    shown = shown[start:start + plan.limit] if plan.limit is not None else shown[start:]
    released = [r for r in shown if r not in reasons]
    outcome.fingerprint = {"base": plan.base, "predicates": plan.predicates,
                           "groups": [[keys[r], cells[r].count] for r in released][:FINGERPRINT_GROUPS_MAX]}
    hidden = [c for c in out.column_names if c.startswith(sql_guard.HIDDEN_PREFIX)]
    if any(r in reasons for r in shown):
        # an ORDER BY over counts or sums would place a suppressed cell between its neighbours:
        # with cells suppressed, the rows are given in the order of their group values
        shown.sort(key=lambda r: keys[r])
    table = out.drop_columns(hidden).take(pa.array(shown, type=pa.int64()))
    mask = pa.array([r in reasons for r in shown], type=pa.bool_())
    for name in plan.value_columns if any(r in reasons for r in shown) else []:
        if name in table.column_names:
            i = table.column_names.index(name)
            col = table.column(i)
            table = table.set_column(i, name, pc.if_else(mask, pa.scalar(None, col.type), col))
    outcome.out = table
    outcome.suppressed = [{"row": i, "group": list(cells[r].key), "reason": reasons[r]}
                          for i, r in enumerate(shown) if r in reasons]


def _lineage(session: Session, run: SandboxRun, outcome: _Outcome) -> None:
    """Issue 18: the run as an OpenLineage event, in the transaction that records it."""
    # deferred: keeps httpx out of this module's import
    from ..lineage import operate as lineage

    plan = outcome.plan
    resource_ids = [int(r) for r in run.resources or []] or ([plan.view.resource_id] if plan is not None else [])
    schema = items = None
    if outcome.refusal is None and outcome.out is not None:
        schema = {f.name: str(f.type) for f in outcome.out.schema}
        if plan is not None and plan.kind == ReleaseKind.ROWS.value:
            items = list(plan.output_items)
    lineage.sandbox_run(session, run, resource_ids=resource_ids, schema=schema, items=items)


def submit_query(db: Database, actor: Actor, authorization_id: int, sql: str,
                 day: date | None = None) -> SandboxRun:
    """Run one operator query; the run is recorded whether its output is released or refused.

    Three steps so that no write transaction is held while the query computes: check, plan and
    read the items (read transaction); run in the sandbox process and apply threshold and
    dominance (no transaction); then, in a write transaction holding the authorization's row,
    re-check that it is still active, add cells that would difference against earlier released
    runs (serialized per authorization), suppress secondary cells, and record.
    """
    if not actor.is_authenticated or actor.user_id is None:
        raise Unauthenticated("auth_required", "需要登录")
    day = day or _today()
    k = get_settings().rules.sandbox_min_group_rows
    started = time.perf_counter()
    with db.read() as s:
        auth = auths.get_authorization(s, actor, authorization_id)
        require(actor.acts_for_org(auth.operator_org_id, Role.OPERATOR), "在沙箱中查询", "sandbox_denied")
        bag = ErrorBag()
        text = (sql or "").strip()
        if not text:
            bag.add("sql", "required", "必填项不能为空")
        elif len(text) > SQL_MAX:
            bag.add("sql", "too_long", "不能超过{n}个字符", n=SQL_MAX)
        bag.raise_if_any()
        limited = _rate_limited(s, actor.user_id)
        outcome = _Outcome(refusal=limited) if limited else _prepare(s, auth, text, day)
        auth_id, org_id = auth.id, auth.operator_org_id
    if outcome.refusal is None:
        _execute(outcome, auth_id, k)
    with db.write() as s:
        auth = s.get(Authorization, auth_id, with_for_update=True)
        assert auth is not None
        if outcome.refusal is None and not auths.is_active(auth, day):  # suspended meanwhile
            outcome.refusal = _inactive(auth, day)
        repeats = 0
        if outcome.refusal is None and outcome.plan is not None and outcome.plan.kind == ReleaseKind.AGGREGATE.value:
            earlier = _earlier_fingerprints(s, auth_id, outcome.plan.base or "")
            _release(outcome, earlier, k)
            mine = outcome.plan.predicates
            repeats = sum(1 for f in earlier if set(f.get("predicates") or []) == set(mine)
                          or disclosure.nested(f.get("predicates") or [], mine))
        released = outcome.refusal is None and outcome.out is not None
        run = SandboxRun(authorization_id=auth_id, operator_org_id=org_id, user_id=actor.user_id, sql_text=text,
                         sql_digest=sm3_hex(text.encode("utf-8")), resources=[], columns=[],
                         state=RunState.RELEASED.value if released else RunState.REFUSED.value, created_at=utcnow())
        if released and outcome.out is not None and outcome.plan is not None:
            run.release_kind = outcome.plan.kind
            run.resources = [outcome.plan.view.resource_id]
            run.fingerprint = dict(outcome.fingerprint or {}, suppressed=outcome.suppressed)
            run.row_count = outcome.out.num_rows
            run.columns = outcome.out.column_names
            run.output_digest = output_digest(outcome.out)
        elif outcome.refusal is not None:
            run_record.note_refusal(run, outcome.refusal)
        run.elapsed_ms = int((time.perf_counter() - started) * 1000)
        s.add(run)
        s.flush()
        flags: list[str] = []
        if released and outcome.out is not None:
            run.output_path = run_record.store_output(run, outcome.out)
            flags = output_check.flags_for(s, auth_id, kind=run.release_kind or "", rows=run.row_count or 0,
                                           suppressed=len(outcome.suppressed), repeats=repeats)
            if flags:  # stored for the checker; nothing of it leaves until approved
                items = [i for i in outcome.plan.output_items if i] if outcome.plan else []
                output_check.hold(s, run, flags, items or run.columns)
                released = False
        run_record.ledger_run(s, actor, run, auth_id, flags, suppressed_cells=len(outcome.suppressed))
        _lineage(s, run, outcome)
        if released and outcome.plan is not None:
            run_record.log_release(s, actor, run, auth_id, outcome.plan.view.resource_id,
                                   [i for i in outcome.plan.output_items if i])
    return run
