"""Exports of the assessment: an XLSX workbook (KPIs, targets, regions, scorecards, to-dos) and a
printable HTML report (one self-contained page, print styles, no script)."""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from ..access import Actor
from ..i18n import N_, translate
from . import kpis
from . import scorecards as cards
from .cli import fmt


def gather(session: Session, actor: Actor, region_code: str | None = None, org_id: int | None = None,
           day: Any = None) -> dict[str, Any]:
    """KPIs with breakdown and the scorecards of one scope (one collection pass for both)."""
    scope = kpis.resolve_scope(session, actor, region_code, org_id)
    c = kpis.collect(session, scope, day or kpis.today())
    data = kpis.picture(session, c)
    data["scorecards"] = cards.build(session, c)
    data["weights"], data["component_labels"], data["todo_kinds"] = cards.WEIGHTS, cards.LABELS, cards.TODO_KINDS
    return data


REGION_COLUMNS = (("records_collected", N_("归集数据量"), N_("条")), ("open_datasets", N_("开放数据集"), N_("个")),
                  ("catalogue_coverage", N_("目录覆盖率"), "%"), ("duty_on_time_rate", N_("目录按时更新率"), "%"),
                  ("fresh_rate", N_("数据及时更新率"), "%"), ("quality_overall", N_("平均质量评分"), N_("分")),
                  ("share_on_time_rate", N_("共享按时答复率"), "%"),
                  ("objections_on_time_rate", N_("异议按时办结率"), "%"))


def xlsx(data: dict[str, Any], lang: str = "zh") -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    def t(text: str) -> str:
        return translate(text, lang)

    book = Workbook()
    sheet = book.active
    sheet.title = t("考核指标")
    sheet.append([t("指标"), t("单位"), t("值"), "key"])
    for row in data["table"]:
        sheet.append([t(row["label"]), t(row["unit"]), row["value"], row["key"]])
    tg = book.create_sheet(t("目标进度"))
    tg.append([t("目标"), t("范围"), t("到期日"), t("目标值"), t("当前值"), t("进度"), t("依据")])
    for x in data["targets"]:
        tg.append([t(x["label"]), x["scope"], x["due_on"], x["target"], x["current"], x["progress"], x["basis"]])
    rg = book.create_sheet(t("地区"))
    rg.append([t("行政区划代码"), t("地区"), *(t(label) for _, label, _ in REGION_COLUMNS)])
    for r in data.get("regions", []):
        rg.append([r["code"], r["name"], *(r.get(k) for k, _, _ in REGION_COLUMNS)])
    sc = book.create_sheet(t("机构评分"))
    comps = list(data["weights"])
    sc.append([t("地区"), t("排名"), t("机构"), t("总分"), *(t(data["component_labels"][k]) for k in comps),
               *(t(label) for label in data["todo_kinds"].values())])
    for card in data["scorecards"]:
        sc.append([card["region_name"], card["rank"], card["name"], card["score"],
                   *(card["components"][k] for k in comps), *(card["todo"]["counts"][k] for k in data["todo_kinds"])])
    todo = book.create_sheet(t("待办事项"))
    todo.append([t("机构"), t("事项"), "id", t("代码"), t("名称"), t("到期日")])
    for card in data["scorecards"]:
        for item in card["todo"]["items"]:
            todo.append([card["name"], t(item["label"]), item["id"], item.get("code"), item.get("name"),
                         item.get("due_on") or item.get("newest")])
    for ws in book.worksheets:
        for cell in ws[1]:
            cell.font = Font(bold=True)
        ws.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@cache
def _report_template() -> Any:
    """The report's own template (beside this module: a stage renders no page of the web's)."""
    # deferred: keeps jinja2 out of this module's import (the CLI's exports need none)
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                      autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
    return env.get_template("report.html")


def report_html(data: dict[str, Any], lang: str = "zh") -> str:
    """The printable report: self-contained (styles inline), readable on paper."""
    return _report_template().render(
        d=data, lang=lang, _=lambda text, **kw: translate(text, lang, **kw), fmt=fmt,
        region_columns=REGION_COLUMNS)
