"""Settings from the environment (YBZ_*), in one place.

Every rule number of DOMAIN.md is a named setting here, with its source, never a bare literal
elsewhere in the code.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw not in (None, "") else default


@dataclass(frozen=True)
class Rules:
    """Rule numbers from DOMAIN.md, each overridable by a YBZ_RULE_* variable."""

    # §1: an org updates its catalogue within 10 working days of a duty change (004:693);
    # Guangzhou uses 15 (001:1167).
    catalogue_update_workdays: int = 10
    # §1: 后段码 is a 6-digit sequence unique within its 前段码.
    resource_sequence_digits: int = 6
    # §3: objections answered in 5 working days and corrected in 10 (default, ours).
    objection_answer_workdays: int = 5
    objection_correct_workdays: int = 10
    # §5: conditional share requests answered within 10 working days (default, ours).
    share_answer_workdays: int = 10
    # §2 (issue 3): a batch whose share of rejected rows exceeds this is held for the steward
    # instead of published (default 5 %, ours).
    reject_hold_rate: float = 0.05
    # §6 (issue 6): a provider answers an application for 有条件开放 data, and an org answers an
    # open-data demand (开放需求), within these working days (defaults, ours); open-data API calls
    # per minute per key (or per IP when anonymous).
    open_apply_answer_workdays: int = 10
    open_demand_answer_workdays: int = 10
    open_api_calls_per_minute: int = 60
    # §6: each org's annual open plan is due on this month-day of the plan's year (the sources name
    # an annual plan but no date; default ours).
    open_plan_due_month_day: str = "01-31"
    # §7 (issue 7): an operation authorization runs at most 5 years (national rules 2025); results
    # leave the sandbox only in groups of at least k rows; registration is publicised this many
    # working days (counted from the day the formal check passes; DESIGN rule 4: one clock) before
    # 赋码 (defaults, ours); a sandbox query gets this much time and memory.
    operation_term_years_max: int = 5
    sandbox_min_group_rows: int = 10
    registration_publicity_days: int = 10
    sandbox_timeout_seconds: float = 30.0
    sandbox_memory_mb: int = 2048
    # §7 (issue 16): dominance (N–K) for magnitudes — no released cell where the largest
    # contribution is > 70 % or the two largest > 85 % of the total (DOMAIN §7 defaults); an
    # operator gets at most this many data-dependent refusals and errors per hour (ours).
    sandbox_dominance_n1_percent: float = 70.0
    sandbox_dominance_n2_percent: float = 85.0
    sandbox_refusals_per_hour: int = 20
    # §8 (issue 8): PI audits yearly above 1,000,000 people, else every 2 years (001:287-317 Art. 4);
    # a regulator-ordered audit within 90 working days (Art. 9); one firm at most 3 times in a row
    # (Art. 12); reminders this many days ahead (ours).
    pi_audit_people_threshold: int = 1_000_000
    pi_audit_years_large: int = 1
    pi_audit_years_small: int = 2
    ordered_audit_workdays: int = 90
    audit_firm_max_consecutive: int = 3
    audit_reminder_days: int = 30

    @classmethod
    def from_env(cls) -> Rules:
        return cls(
            catalogue_update_workdays=_int("YBZ_RULE_CATALOGUE_UPDATE_WORKDAYS", 10),
            objection_answer_workdays=_int("YBZ_RULE_OBJECTION_ANSWER_WORKDAYS", 5),
            objection_correct_workdays=_int("YBZ_RULE_OBJECTION_CORRECT_WORKDAYS", 10),
            share_answer_workdays=_int("YBZ_RULE_SHARE_ANSWER_WORKDAYS", 10),
            reject_hold_rate=float(os.environ.get("YBZ_RULE_REJECT_HOLD_RATE") or 0.05),
            open_apply_answer_workdays=_int("YBZ_RULE_OPEN_APPLY_ANSWER_WORKDAYS", 10),
            open_demand_answer_workdays=_int("YBZ_RULE_OPEN_DEMAND_ANSWER_WORKDAYS", 10),
            open_api_calls_per_minute=_int("YBZ_RULE_OPEN_API_CALLS_PER_MINUTE", 60),
            open_plan_due_month_day=os.environ.get("YBZ_RULE_OPEN_PLAN_DUE_MONTH_DAY") or "01-31",
            operation_term_years_max=_int("YBZ_RULE_OPERATION_TERM_YEARS_MAX", 5),
            sandbox_min_group_rows=_int("YBZ_RULE_SANDBOX_MIN_GROUP_ROWS", 10),
            registration_publicity_days=_int("YBZ_RULE_REGISTRATION_PUBLICITY_DAYS", 10),
            sandbox_timeout_seconds=float(os.environ.get("YBZ_RULE_SANDBOX_TIMEOUT_SECONDS") or 30.0),
            sandbox_memory_mb=_int("YBZ_RULE_SANDBOX_MEMORY_MB", 2048),
            sandbox_dominance_n1_percent=float(os.environ.get("YBZ_RULE_SANDBOX_DOMINANCE_N1_PERCENT") or 70.0),
            sandbox_dominance_n2_percent=float(os.environ.get("YBZ_RULE_SANDBOX_DOMINANCE_N2_PERCENT") or 85.0),
            sandbox_refusals_per_hour=_int("YBZ_RULE_SANDBOX_REFUSALS_PER_HOUR", 20),
            pi_audit_people_threshold=_int("YBZ_RULE_PI_AUDIT_PEOPLE_THRESHOLD", 1_000_000),
            pi_audit_years_large=_int("YBZ_RULE_PI_AUDIT_YEARS_LARGE", 1),
            pi_audit_years_small=_int("YBZ_RULE_PI_AUDIT_YEARS_SMALL", 2),
            ordered_audit_workdays=_int("YBZ_RULE_ORDERED_AUDIT_WORKDAYS", 90),
            audit_firm_max_consecutive=_int("YBZ_RULE_AUDIT_FIRM_MAX_CONSECUTIVE", 3),
            audit_reminder_days=_int("YBZ_RULE_AUDIT_REMINDER_DAYS", 30),
        )


@dataclass(frozen=True)
class Settings:
    home: Path
    db_url: str
    zone: Path
    engine: str
    secret_key: str
    holidays_file: Path | None
    rules: Rules = field(default_factory=Rules)
    # The zone in which pages show times (stored in UTC); YBZ_TIMEZONE, an IANA name.
    timezone: str = "Asia/Shanghai"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def is_sqlite(self) -> bool:
        return self.db_url.startswith("sqlite")

    @property
    def keys_dir(self) -> Path:
        return self.home / "keys"

    @classmethod
    def from_env(cls) -> Settings:
        home = Path(os.environ.get("YBZ_HOME", "./ybz-data")).resolve()
        db_url = os.environ.get("YBZ_DB_URL") or f"sqlite:///{home / 'ybz.sqlite3'}"
        zone = Path(os.environ.get("YBZ_ZONE") or home / "zone").resolve()
        holidays = os.environ.get("YBZ_HOLIDAYS_FILE")
        return cls(
            home=home,
            db_url=db_url,
            zone=zone,
            engine=os.environ.get("YBZ_ENGINE", "duckdb"),
            secret_key=os.environ.get("YBZ_SECRET_KEY") or _stored_secret(home),
            holidays_file=Path(holidays) if holidays else None,
            rules=Rules.from_env(),
            timezone=_timezone(os.environ.get("YBZ_TIMEZONE") or "Asia/Shanghai"),
        )


def _timezone(name: str) -> str:
    """An IANA zone name, checked at start-up rather than on the first page that shows a time."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"YBZ_TIMEZONE: unknown time zone {name!r}") from exc
    return name


def _stored_secret(home: Path) -> str:
    """A per-installation secret kept in YBZ_HOME when YBZ_SECRET_KEY is not given."""
    path = home / "keys" / "secret.key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key)
    path.chmod(0o600)
    return key


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()


def reset_settings() -> None:
    """Forget cached settings (tests and `ybz` commands that change the environment)."""
    get_settings.cache_clear()
