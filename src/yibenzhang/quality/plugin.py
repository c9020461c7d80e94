"""Quality as a plugin: its tables, API, pages, commands, escalation job and rule kinds."""

from __future__ import annotations

from typing import Any

from ..hooks import hookimpl
from ..i18n import N_


@hookimpl
def ybz_tables() -> list[str]:
    return ["yibenzhang.quality.model", "yibenzhang.quality.objections"]


@hookimpl
def ybz_routes() -> list[str]:
    return ["yibenzhang.quality.routes", "yibenzhang.quality.objection_routes"]


@hookimpl
def ybz_pages() -> list[str]:
    return ["yibenzhang.web.pages_objections"]


@hookimpl
def ybz_commands() -> dict[str, str]:
    return {
        "quality": "yibenzhang.quality.cli:quality_command",
        "objection": "yibenzhang.quality.objection_cli:objection_app",
    }


@hookimpl
def ybz_jobs() -> list[str]:
    return ["yibenzhang.quality.objections"]


@hookimpl
def ybz_rule_kinds() -> list[Any]:
    # deferred: evaluation and the service load when rules are first checked or run
    from . import evaluate as E
    from . import service as S
    from .rules import Dimension, RuleKind

    return [
        RuleKind("not_null", N_("非空"), Dimension.COMPLETENESS, E.sql_not_null, skips_null=False),
        RuleKind("length", N_("长度"), Dimension.CONSISTENCY, E.sql_length, S.check_length),
        RuleKind("enum", N_("枚举值"), Dimension.ACCURACY, E.sql_enum, S.check_enum),
        RuleKind("format", N_("格式"), Dimension.ACCURACY, E.sql_format, S.check_format),
        RuleKind("regex", N_("正则表达式"), Dimension.ACCURACY, E.sql_regex, S.check_regex),
        RuleKind("range", N_("取值范围"), Dimension.ACCURACY, E.sql_range, S.check_range),
        RuleKind("unique", N_("唯一"), Dimension.UNIQUENESS, E.sql_unique, many_items=True, skips_null=False),
        RuleKind("reference", N_("引用"), Dimension.CONSISTENCY, E.sql_reference, S.check_reference),
    ]
