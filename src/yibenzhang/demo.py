"""The demo province: a realistic, fictional 云岭省 loaded through the services.

Everything goes through the service functions with the actor a real province would use — the
platform sets up regions, orgs and users; each org's 数据专员 registers systems and catalogues
resources; the region's 主管部门审核员 publishes, returns and retires them and keeps the three
lists — so the ledger records every act and verifies.

Deterministic for a seed: all choices come from `random.Random(seed)` over lists in a fixed
order, so the same seed gives the same names, codes, statuses and passwords. Dates that decide a
state are explicit and fixed relative to DEMO_TODAY, except the two duty changes that must be
"未到期" (still within the limit): they occur on the day of loading, so they are due for the
10 working days after a load and then become overdue like any real change. (Ledger and
created_at timestamps are real time, as they must be.)
"""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import demo_data as D
from . import demo_rows, workdays
from .access import Actor
from .catalog import service as catalog
from .catalog.model import DutyChange, ListEntry, Resource, ResourceItem, ResourceRelation, System
from .catalog.schemas import DutyChangeIn, ItemIn, ListEntryIn, ResourceIn, SystemIn
from .catalog.taxonomy import ITEMS as TAXONOMY
from .clikit import emit
from .codes import make_uscc
from .config import get_settings
from .db import Database, get_database
from .enums import Library, OrgKind, ResourceStatus
from .errors import Conflict
from .i18n import N_, translate
from .ledger import service as ledger
from .orgs import service as orgs
from .orgs.model import Org, Region
from .orgs.service import RoleSpec
from .registry import load
from .workdays import add_workdays

# The fixed "today" of the demo's story: publish dates and duty-change dates count back from it.
DEMO_TODAY = date(2026, 9, 30)

# Lifecycle plans of a resource and their weights (every one is guaranteed at least once).
PLANS = ["published", "published_v2", "submitted", "returned", "draft", "retired"]
PLAN_WEIGHTS = [62, 6, 10, 6, 10, 6]
LIBRARY_BY_CLASS = {"1": Library.BASE.value, "2": Library.THEME.value, "3": Library.TOPIC.value}
PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
GB11714_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
NOT_EMPTY = N_("数据库中已有机构，演示省份只能载入空数据库")


class DemoNotEmpty(Conflict):
    def __init__(self) -> None:
        super().__init__("demo_not_empty", NOT_EMPTY)


# --- the plan (pure, from the seed) ------------------------------------------------------------


@dataclass
class OrgPlan:
    dept: D.Dept
    level: str  # P C X
    region_code: str
    slug: str  # region slug, for user names
    name: str
    area: str  # 全省 / 全市 / 全县 / 全区
    uscc: str = ""
    id: int = 0
    steward: str = ""

    @property
    def username(self) -> str:
        return f"{self.slug}_{self.dept.key}"


@dataclass
class UserPlan:
    username: str
    role: str
    org: OrgPlan | None = None
    region_code: str | None = None
    region_name: str | None = None
    display_name: str = ""
    password: str = ""


@dataclass
class World:
    rng: random.Random
    regions: list[tuple[str, str, str | None, str]] = field(default_factory=list)  # code, name, parent, slug
    orgs: list[OrgPlan] = field(default_factory=list)
    users: list[UserPlan] = field(default_factory=list)
    actors: dict[str, Actor] = field(default_factory=dict)


def _org_code_body(rng: random.Random, kind_prefix: str) -> str:
    """Positions 9-17 of a USCC: a GB 11714 organization code (8 characters + check)."""
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    if kind_prefix:
        body = kind_prefix + "".join(rng.choice(alphabet) for _ in range(6))
    else:
        body = "".join(rng.choice("0123456789") for _ in range(8))
    total = sum(w * (int(c) if c.isdigit() else ord(c) - 55) for w, c in zip(GB11714_WEIGHTS, body, strict=True))
    check = 11 - total % 11
    return body + {10: "X", 11: "0"}.get(check, str(check))


def _uscc(rng: random.Random, dept: D.Dept, division: str, taken: set[str]) -> str:
    letters = {"11": "MB", "12": "MB", "52": "MJ", "N2": "MF", "91": "MA"}.get(dept.uscc_type, "")
    while True:
        prefix = letters if rng.random() < 0.6 else ""
        code = make_uscc(dept.uscc_type + division + _org_code_body(rng, prefix))
        if code not in taken:
            taken.add(code)
            return code


def _person(rng: random.Random) -> str:
    return rng.choice(D.SURNAMES) + "".join(rng.choice(D.GIVEN) for _ in range(rng.choice((1, 2))))


def _password(rng: random.Random) -> str:
    return "Ybz-" + "".join(rng.choice(PASSWORD_ALPHABET) for _ in range(8))


def plan_world(seed: int) -> World:
    rng = random.Random(seed)
    w = World(rng=rng)
    depts = {d.key: d for d in D.DEPTS}
    p_code, p_name, p_slug = D.PROVINCE
    w.regions.append((p_code, p_name, None, p_slug))
    for d in D.DEPTS:
        if "P" in d.names:
            w.orgs.append(OrgPlan(d, "P", p_code, p_slug, d.names["P"].format(p=p_name), "全省"))
    for c_code, c_name, c_slug, counties in D.CITIES:
        w.regions.append((c_code, c_name, p_code, c_slug))
        for key in D.CITY_DEPTS:
            d = depts[key]
            w.orgs.append(OrgPlan(d, "C", c_code, c_slug, d.names["C"].format(c=c_name), "全市"))
        for x_code, x_name, x_slug in counties:
            w.regions.append((x_code, x_name, c_code, x_slug))
            district = x_name.endswith("区")
            keys = [*D.COUNTY_DEPTS, *([D.SPECIAL_COUNTY_ORGS[x_slug]] if x_slug in D.SPECIAL_COUNTY_ORGS else [])]
            for key in keys:
                d = depts[key]
                pattern = d.names["D"] if district and "D" in d.names else d.names.get("X", d.names.get("D", ""))
                name = pattern.format(c=c_name, x=x_name, xs=x_name[:-1])
                w.orgs.append(OrgPlan(d, "X", x_code, x_slug, name, "全区" if district else "全县"))
    taken: set[str] = set()
    for o in w.orgs:
        o.uscc = _uscc(rng, o.dept, o.region_code, taken)

    region_names = {code: name for code, name, _, _ in w.regions}
    by_user = {o.username: o for o in w.orgs}
    w.users.append(UserPlan("admin", "平台管理员"))
    for code, name, parent, slug in w.regions:
        if parent is None or parent == p_code:  # province and city authorities review
            w.users.append(UserPlan(f"reviewer_{slug}", "主管部门审核员", region_code=code, region_name=name))
    for o in w.orgs:
        w.users.append(UserPlan(o.username, "数据专员", org=o))
        o.steward = o.username
    for username, role in [("yl_police", "机构审批人"), ("yl_market", "机构审批人"), ("yl_hrss", "机构审批人"),
                           ("cc_police", "机构审批人"), ("yl_tax", "数据使用方"), ("yl_medins", "数据使用方"),
                           ("cc_civil", "数据使用方"), ("cuihu_civil", "数据使用方"), ("yl_operator", "运营方"),
                           ("yl_digital", "运营方")]:
        suffix = {"机构审批人": "approver", "数据使用方": "consumer", "运营方": "operator"}[role]
        w.users.append(UserPlan(f"{username}_{suffix}", role, org=by_user[username]))
    w.users.append(UserPlan("auditor", "审计员"))
    w.users.append(UserPlan("citizen", "社会公众"))
    for u in w.users:
        u.display_name = _person(rng)
        u.password = _password(rng)
        if u.region_code:
            u.region_name = region_names[u.region_code]
    # Issue 23 (三员分立): the three administrators, drawn from their own generator so every other
    # name, password and row of the demo stays as it was.
    extra = random.Random(seed * 31 + 23)
    for username, role in [("sysadmin", "系统管理员"), ("secadmin", "安全管理员"), ("audadmin", "审计管理员")]:
        w.users.append(UserPlan(username, role, display_name=_person(extra), password=_password(extra)))
    return w


@dataclass
class ResourcePlan:
    org: OrgPlan
    t: D.T
    plan: str = "draft"
    forced: bool = False
    id: int = 0
    code: str = ""


def plan_resources(w: World) -> list[ResourcePlan]:
    plans = []
    for o in w.orgs:
        for t in o.dept.templates:
            if o.level in t.levels:
                items = D.parse_items(t.items, o.level == "P")
                # Authoritative claims (一数一源) must be published to count.
                forced = any(i["authoritative"] for i in items)
                plans.append(ResourcePlan(o, t, forced=forced))
    for p in plans:
        p.plan = "published" if p.forced else w.rng.choices(PLANS, PLAN_WEIGHTS)[0]
    free = [p for p in plans if not p.forced]
    for needed in PLANS:  # every lifecycle at least once, whatever the seed
        if not any(p.plan == needed for p in plans):
            candidates = [p for p in free if Counter(q.plan for q in plans)[p.plan] > 1]
            w.rng.choice(candidates).plan = needed
    return plans


# --- loading ------------------------------------------------------------------------------------


def _is_empty(session: Session) -> bool:
    return session.execute(select(func.count()).select_from(Org)).scalar_one() == 0


def load_demo_if_empty() -> dict[str, Any] | None:
    """Load the demo province into an empty database; leave a used one alone."""
    with get_database().read() as s:
        if not _is_empty(s):
            return None
    return load_demo()


def load_demo(seed: int = 2026) -> dict[str, Any]:
    """Load the demo province; returns the summary and the user table (with demo passwords)."""
    started = time.perf_counter()
    db = get_database()
    with db.read() as s:
        if not _is_empty(s):
            raise DemoNotEmpty()
    w = plan_world(seed)
    resources = plan_resources(w)
    with db.write() as s, orgs.light_password_hashing():
        _setup(s, w)
    groups: dict[str, list[ResourcePlan]] = {}
    for p in resources:  # one transaction for the province, one per city with its counties
        groups.setdefault(p.org.region_code[:4] if p.org.level != "P" else "P", []).append(p)
    for group in groups.values():
        with db.write() as s:
            _catalogue(s, w, group)
    with db.write() as s:
        _lists(s, w, resources)
        _duty_changes(s, w)
    rows = _collect_rows(w, resources, seed)
    extensions = _extensions(db, seed)
    with db.read() as s:
        summary = _summary(s, w, seed)
    summary["rows"] = rows
    summary.update(extensions)
    summary["seconds"] = round(time.perf_counter() - started, 1)
    return summary


# Later stages add their demo data once the catalogue and rows are in: "module:function" with
# `function(db, seed) -> dict` (merged into the summary); a stage not installed is skipped.
DEMO_EXTENSIONS = (
    "yibenzhang.share.demo:load",
    "yibenzhang.open.demo:load",
    "yibenzhang.operate.demo:load",
    "yibenzhang.assets.demo:load",  # products rest on the operate demo's authorizations
    "yibenzhang.assess.demo:load",
    "yibenzhang.library.demo:load",  # issue 21: 人口库 and 法人库 fused from five sources each
)


def _extensions(db: Database, seed: int) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for target in DEMO_EXTENSIONS:
        fn = load(target)
        if fn is not None:
            summary.update(fn(db, seed) or {})
    return summary


def _setup(s: Session, w: World) -> None:
    system = Actor.system()
    for code, name, parent, _ in w.regions:
        orgs.create_region(s, system, code=code, name=name, parent_code=parent)
    for o in w.orgs:
        org = orgs.create_org(s, system, name=o.name, uscc=o.uscc, kind=o.dept.kind, region_code=o.region_code,
                              sector=o.dept.sector, duties=o.dept.duties.format(area=o.area))
        o.id = org.id
    for u in w.users:
        spec = RoleSpec(u.role, org_uscc=u.org.uscc if u.org else None, region_code=u.region_code)
        user = orgs.create_user(s, system, username=u.username, display_name=u.display_name,
                                password=u.password, roles=[spec])
        w.actors[u.username] = orgs.actor_for(s, user)


def _reviewer_for(w: World, o: OrgPlan) -> Actor:
    slug = D.PROVINCE[2] if o.level == "P" else next(c[2] for c in D.CITIES if c[0][:4] == o.region_code[:4])
    return w.actors[f"reviewer_{slug}"]


def _resource_in(w: World, p: ResourcePlan, system_id: int, related: list[str]) -> ResourceIn:
    rng, t, o = w.rng, p.t, p.org
    fmt_kind, fmt_detail, method = D.FORMATS[t.fmt]
    share_key, _, basis_key = t.share.partition(":")
    items = D.parse_items(t.items, o.level == "P")
    cycle = D.CYCLES[t.cycle]
    cls, item, cat = t.cat[0], t.cat[1:3], int(t.cat[3:])
    item_name, cat_names = TAXONOMY[cls][item]
    names = "、".join(i["name"] for i in items[:4])
    scale = {"P": (4.0, 7.5), "C": (3.0, 6.0), "X": (2.0, 4.5)}[o.level]
    published = p.plan in ("published", "published_v2", "retired")
    return ResourceIn(
        name=t.name,
        abstract=f"{o.name}在履职中产生的{t.name}，包含{names}等{len(items)}个信息项，{cycle}更新。{t.use}",
        org_id=o.id, system_id=system_id, category_code=t.cat, library=LIBRARY_BY_CLASS[cls],
        format_kind=fmt_kind, format_detail=fmt_detail or rng.choice(D.DATABASES),
        share_type=D.SHARES[share_key],
        share_condition=rng.choice(D.SHARE_CONDITIONS) if share_key == "C" else None,
        share_basis=D.SHARE_BASES[basis_key] if share_key == "N" else None,
        share_method=method if share_key != "N" else None,
        open_type=D.OPENS[t.open],
        open_condition=rng.choice(D.OPEN_CONDITIONS) if t.open == "C" else None,
        returnable=o.level == "P" and share_key != "N" and rng.random() < 0.4,
        update_cycle=cycle,
        publish_date=(DEMO_TODAY - timedelta(days=rng.randint(20, 700))).isoformat() if published else None,
        record_count=int(10 ** rng.uniform(*scale)),
        keywords=list(dict.fromkeys([item_name, cat_names[cat - 1], o.dept.sector])),
        related_codes=related,
        items=[ItemIn(**i) for i in items],
    )


def _catalogue(s: Session, w: World, group: list[ResourcePlan]) -> None:
    """Stewards register systems and catalogue; reviewers publish, return and retire."""
    systems: dict[tuple[int, int], int] = {}
    codes: dict[tuple[int, str], str] = {}
    for p in group:
        o, steward = p.org, w.actors[p.org.steward]
        key = (o.id, p.t.sys)
        if key not in systems:
            name = o.dept.systems[p.t.sys]
            systems[key] = catalog.create_system(
                s, steward, SystemIn(org_id=o.id, name=name, description=f"{o.name}{name}")).id
        related = [codes[(o.id, n)] for n in p.t.rel if (o.id, n) in codes]
        r = catalog.create_resource(s, steward, _resource_in(w, p, systems[key], related))
        p.id, p.code = r.id, r.code
        codes[(o.id, p.t.name)] = r.code
    for p in group:
        steward, reviewer = w.actors[p.org.steward], _reviewer_for(w, p.org)
        if p.plan == "draft":
            continue
        catalog.submit_resource(s, steward, p.id)
        if p.plan == "returned":
            catalog.return_resource(s, reviewer, p.id, w.rng.choice(D.RETURN_REASONS))
        elif p.plan in ("published", "published_v2", "retired"):
            catalog.publish_resource(s, reviewer, p.id)
        if p.plan == "retired":
            catalog.retire_resource(s, reviewer, p.id, w.rng.choice(D.RETIRE_REASONS))
        elif p.plan == "published_v2":
            # A second version under review: the public keeps seeing version 1 meanwhile.
            catalog.update_resource(s, steward, p.id, _second_version(s, p))
            catalog.submit_resource(s, steward, p.id)


def _second_version(s: Session, p: ResourcePlan) -> ResourceIn:
    current = catalog.resource_dict(s, s.get(Resource, p.id))
    fields = set(ResourceIn.model_fields) - {"code", "items", "org_uscc", "system_name"}
    data = {k: current[k] for k in fields if k in current}
    items = [ItemIn(**{k: it[k] for k in ItemIn.model_fields if k in it}) for it in current["items"]]
    items.append(ItemIn(name="数据最后更新时间", data_type="T", format="YYYY-MM-DD hh:mm:ss"))
    data["abstract"] = current["abstract"] + "新增“数据最后更新时间”信息项，便于使用方判断时效。"
    return ResourceIn(**data, items=items)


# Item-name words of personal data and codes: resources holding them get rows first.
ROW_WORDS = ("身份号码", "统一社会信用代码", "电话", "手机", "银行账号", "姓名")


def rows_plan(w: World, resources: list[ResourcePlan]) -> list[tuple[ResourcePlan, bool]]:
    """Which published resources get demo rows, and the one whose batch is held on purpose."""
    published = [p for p in resources if p.plan == "published"]
    personal = [p for p in published if any(word in p.t.items for word in ROW_WORDS)]
    others = [p for p in published if p not in personal]
    chosen = (personal[::2] + others[::3] + personal[1::2])[:demo_rows.RESOURCES_WITH_ROWS]
    dated = [p for p in chosen if ":D" in p.t.items]
    held = dated[len(dated) // 2] if dated else None
    return [(p, p is held) for p in chosen]


def _collect_rows(w: World, resources: list[ResourcePlan], seed: int) -> dict[str, Any]:
    """Synthetic rows through the real pipeline, as each provider's steward (batches, rejects,
    quality runs and ledger events are real)."""
    # deferred: keeps duckdb, httpx, sqlglot out of this module's import
    from .collect.pipeline import ingest_arrow

    db = get_database()
    divisions = [code for code, _, parent, _ in w.regions if parent is not None]
    places = [name for _, name, parent, _ in w.regions if parent is not None]
    totals = {"resources": 0, "rows_read": 0, "rows_accepted": 0, "rows_rejected": 0, "held_batches": 0,
              "quality_runs": 0}
    for index, (p, held) in enumerate(rows_plan(w, resources)):
        items = D.parse_items(p.t.items, p.org.level == "P")
        table = demo_rows.table_for(items, seed, index, divisions, places, held=held)
        report = ingest_arrow(db, w.actors[p.org.steward], p.id, table.to_batches(),
                              source={"kind": "demo", "seed": seed})
        totals["resources"] += 1
        totals["rows_read"] += report.rows_read
        totals["rows_accepted"] += report.rows_accepted
        totals["rows_rejected"] += report.rows_rejected
        totals["held_batches"] += report.status != "已发布"
        totals["quality_runs"] += bool(report.quality and "run_id" in report.quality)
    return totals


def _lists(s: Session, w: World, resources: list[ResourcePlan]) -> None:
    """The three lists of every region: responsibilities and exclusions by the authority,
    demands raised by the departments themselves."""
    rng = w.rng
    published = [p for p in resources if p.plan in ("published", "published_v2")]
    for code, _name, _parent, _slug in w.regions:
        local = [o for o in w.orgs if o.region_code == code]
        here = [p for p in published if p.org.region_code == code]
        reviewer = _reviewer_for(w, local[0])
        for p in rng.sample(here, min(2, len(here))):
            catalog.add_list_entry(s, reviewer, ListEntryIn(
                region_code=code, kind="责任清单", title=f"{p.org.name}负责提供{p.t.name}",
                content=f"更新周期：{D.CYCLES[p.t.cycle]}；确保数据准确、完整、及时", org_id=p.org.id,
                resource_code=p.code))
        asker = rng.choice([o for o in local if o.dept.kind == OrgKind.GOV.value])
        offered = [p for p in published if p.org.dept is not asker.dept and p.org.level in ("P", asker.level)]
        wanted = rng.choice([p for p in offered if p.t.name in D.WANTS.get(asker.dept.key, [])] or offered)
        catalog.add_list_entry(s, w.actors[asker.steward], ListEntryIn(
            region_code=code, kind="需求清单", title=f"{asker.name}申请共享{wanted.t.name}",
            content=rng.choice(D.DEMAND_PURPOSES), org_id=asker.id, resource_code=wanted.code))
        refused = [p for p in resources if p.org.region_code == code and p.t.share.startswith("N")]
        if refused:
            p = rng.choice(refused)
            title, basis = f"{p.t.name}不予共享、不予开放", D.SHARE_BASES[p.t.share.partition(":")[2]]
            catalog.add_list_entry(s, reviewer, ListEntryIn(
                region_code=code, kind="负面清单", title=title, basis=basis, org_id=p.org.id, resource_code=p.code))
        else:
            title, basis = rng.choice(D.NEGATIVE_GENERIC)
            catalog.add_list_entry(s, reviewer, ListEntryIn(
                region_code=code, kind="负面清单", title=title, basis=basis))


def _duty_changes(s: Session, w: World) -> None:
    """Two changes in each state: done on time, done late, overdue (fixed dates before
    DEMO_TODAY) and due (occurring on the day of loading). Recorded after all submissions so
    that no submission fulfils them by accident. Which org gets which state comes from the seed."""
    rng = w.rng
    city = D.CITIES[0][0]
    targets = []
    for key, level, county, description, basis in D.DUTY_CHANGES:
        region = {"P": D.PROVINCE[0], "C": city}.get(level) or next(o.region_code for o in w.orgs if o.slug == county)
        org = next(o for o in w.orgs if o.dept.key == key and o.region_code == region)
        targets.append((org, description, basis))
    states = ["on_time", "on_time", "late", "late", "overdue", "overdue", "due", "due"]
    rng.shuffle(states)
    days = get_settings().rules.catalogue_update_workdays
    seen: Counter[str] = Counter()
    for (o, description, basis), state in zip(targets, states, strict=True):
        n = seen[state]
        seen[state] += 1
        done: date | None = None
        if state == "on_time":  # the second on the due day itself
            occurred = DEMO_TODAY - timedelta(days=(70, 45)[n])
            done = add_workdays(occurred, (4, days)[n])
        elif state == "late":
            occurred = DEMO_TODAY - timedelta(days=(100, 60)[n])
            done = add_workdays(add_workdays(occurred, days), (3, 11)[n])
        elif state == "overdue":
            occurred = DEMO_TODAY - timedelta(days=(40, 21)[n])
        else:  # due: occurred on (or just before) the day of loading, within the limit
            occurred = workdays.today() - timedelta(days=(0, 2)[n])
        catalog.record_duty_change(s, _reviewer_for(w, o), DutyChangeIn(
            org_id=o.id, occurred_on=occurred.isoformat(), description=description, basis=basis))
        if done is not None:
            catalog.confirm_catalogue_reviewed(s, w.actors[o.steward], o.id, on=done)


# --- summary ------------------------------------------------------------------------------------


def _counts(s: Session, column: Any) -> dict[str, int]:
    rows = s.execute(select(column, func.count()).group_by(column).order_by(column)).all()
    return {str(k): int(n) for k, n in rows}


def _summary(s: Session, w: World, seed: int) -> dict[str, Any]:
    base_names = {f"1{k}": name for k, (name, _) in TAXONOMY["1"].items()}
    base = Counter(base_names.get(code[:3]) for code in s.execute(select(Resource.category_code)).scalars())
    today = workdays.today()
    report = ledger.verify(s)
    return {
        "seed": seed,
        "demo_today": DEMO_TODAY.isoformat(),
        "regions": _counts(s, Region.level),
        "orgs": _counts(s, Org.kind),
        "orgs_total": s.execute(select(func.count()).select_from(Org)).scalar_one(),
        "systems": s.execute(select(func.count()).select_from(System)).scalar_one(),
        "resources_total": s.execute(select(func.count()).select_from(Resource)).scalar_one(),
        "resources": _counts(s, Resource.status),
        "second_version_in_review": s.execute(select(func.count()).select_from(Resource).where(
            Resource.status == ResourceStatus.SUBMITTED.value, Resource.published_version.is_not(None))).scalar_one(),
        "libraries": _counts(s, Resource.library),
        "base_libraries": {n: base[n] for n in base_names.values()},
        "share_types": _counts(s, Resource.share_type),
        "open_types": _counts(s, Resource.open_type),
        "format_kinds": _counts(s, Resource.format_kind),
        "item_data_types": _counts(s, ResourceItem.data_type),
        "related_pairs": s.execute(select(func.count()).select_from(ResourceRelation)).scalar_one(),
        "one_source_conflicts": [c["element"] for c in catalog.one_source_conflicts(s)],
        "list_entries": _counts(s, ListEntry.kind),
        "duty_changes": dict(sorted(Counter(
            catalog.duty_change_state(c, today) for c in s.execute(select(DutyChange)).scalars()).items())),
        "ledger_events": report.events,
        "ledger_ok": report.ok,
        "users": [
            {"username": u.username, "name": u.display_name, "role": u.role,
             "org": u.org.name if u.org else (u.region_name or ""), "password": u.password}
            for u in w.users
        ],
    }


USERS_TITLE = N_("演示用户（密码仅供演示）")


def show_summary(summary: dict[str, Any], as_json: bool = False) -> None:
    """Print the summary, then the user table with the demo passwords."""

    if as_json:
        emit(summary, True)
        return
    emit({k: v for k, v in summary.items() if k != "users"}, False)
    emit(summary["users"], False, columns=["username", "name", "role", "org", "password"],
         title=f"{USERS_TITLE} / {translate(USERS_TITLE, 'en')}")
