"""`ybz catalog create` without a file: the essentials of one resource asked one by one, each
answer checked at once by the service's own `validate_resource` (only the errors about the
field just answered are shown), a bad answer asked again with its reason in Chinese and English.
Prompts and reasons go to stderr, so that `--json` output stays clean on stdout."""

from __future__ import annotations

from typing import Any

import typer
from pydantic import ValidationError
from sqlalchemy import select

from ..access import Actor, can_edit_catalogue, require
from ..enums import DataType, FormatKind, Library, OpenType, Role, ShareMethod, ShareType, UpdateCycle
from ..errors import DomainError, FieldError, ValidationFailed
from ..i18n import translate
from ..orgs.model import Org
from . import service
from .schemas import ResourceIn

DATA_TYPES = " ".join(f"{m.name}{m.value}" for m in DataType)


def _field_errors(db: Any, answers: dict[str, Any], field: str) -> list[FieldError]:
    """The service's errors about `field` (or inside it) for the answers so far."""
    try:
        data = ResourceIn.model_validate(answers)
    except ValidationError as exc:
        return [FieldError(".".join(map(str, e["loc"])), "invalid_value", "字段格式不正确：{reason}",
                           {"reason": e["msg"]}) for e in exc.errors()
                if ".".join(map(str, e["loc"])) == field]
    with db.read() as s:
        org = s.execute(select(Org).where(Org.uscc == (data.org_uscc or "").strip().upper())).scalar_one_or_none()
        try:
            service.validate_resource(s, data, org)
        except ValidationFailed as exc:
            return [e for e in exc.errors if e.field == field or e.field.startswith(field + ".")]
    return []


def _say(errors: list[FieldError]) -> None:
    for e in errors:
        typer.echo(f"  ✗ {translate(e.message, 'zh', **e.params)} / {translate(e.message, 'en', **e.params)}"
                   f" [{e.code}]", err=True)


def _ask(label: str, default: str | None = None) -> str:
    return str(typer.prompt(label, default=default or "", show_default=bool(default), err=True)).strip()


class Wizard:
    def __init__(self, db: Any, actor: Actor) -> None:
        self.db = db
        self.actor = actor
        self.answers: dict[str, Any] = {}

    def field(self, field: str, label: str, default: str | None = None, optional: bool = False) -> str:
        """Ask until the service finds nothing wrong with the answer."""
        while True:
            value = _ask(label, default)
            self.answers[field] = value if value or not optional else None
            errors = _field_errors(self.db, self.answers, field)
            if not errors:
                return value
            _say(errors)

    def choice(self, field: str, zh: str, en: str, enum: type, default: str | None = None) -> str:
        return self.field(field, f"{zh} / {en} ({'/'.join(enum.values())})", default)

    def org(self) -> Org:
        own = self.actor.org_ids(Role.STEWARD)
        default = None
        if len(own) == 1:  # a steward creates for their own org unless they say otherwise
            with self.db.read() as s:
                mine = s.get(Org, next(iter(own)))
                default = mine.uscc if mine else None
        while True:
            uscc = _ask("提供方统一社会信用代码 / provider's USCC", default).upper()
            with self.db.read() as s:
                org = s.execute(select(Org).where(Org.uscc == uscc)).scalar_one_or_none()
                if org is not None:
                    s.expunge(org)
            if org is None:
                _say([FieldError("org_uscc", "org_unknown", "提供方代码“{value}”对应的机构不存在", {"value": uscc})])
                continue
            # a user who may not catalogue for this org is refused at once, not asked on
            require(can_edit_catalogue(self.actor, org.id), "编目")
            self.answers["org_uscc"] = uscc
            return org

    def system(self, org: Org) -> None:
        with self.db.read() as s:
            names = [x.name for x in service.list_systems(s, org.id)]
        if not names:
            raise DomainError("system_none", "提供方“{org}”尚未登记信息系统，请先用 ybz system add 登记", org=org.name)
        only = names[0] if len(names) == 1 else None
        self.field("system_name", f"来源系统 / source system ({'、'.join(names)})", only)

    def items(self) -> None:
        items: list[dict[str, Any]] = []
        self.answers["items"] = items
        while True:
            n = len(items)
            name = _ask(f"第{n + 1}项信息项名称（回车结束） / item {n + 1} name (empty: done)")
            if not name:
                errors = _field_errors(self.db, self.answers, "items")
                if not errors:
                    return
                _say(errors)
                continue
            item: dict[str, Any] = {"name": name}
            items.append(item)
            errors = _field_errors(self.db, self.answers, f"items.{n}.name")
            if errors:
                items.pop()
                _say(errors)
                continue
            self._item_field(item, n, "data_type", f"数据类型 / data type ({DATA_TYPES})", "C")
            self._item_field(item, n, "length", "长度（回车跳过） / length (empty: none)", None)
            item["is_key"] = typer.confirm("是否主键 / key item?", default=False, err=True)
            item["required"] = typer.confirm("是否必填 / required?", default=item["is_key"], err=True)

    def _item_field(self, item: dict[str, Any], n: int, field: str, label: str, default: str | None) -> None:
        while True:
            value = _ask(label, default)
            item[field] = (value or None) if field == "length" else value
            errors = _field_errors(self.db, self.answers, f"items.{n}.{field}")
            if not errors:
                return
            _say(errors)

    def run(self) -> ResourceIn:
        self.field("name", "信息资源名称 / name")
        self.field("abstract", "信息资源摘要 / abstract")
        org = self.org()
        self.field("category_code", "信息资源分类代码（细化到“目”，如101001） / category code")
        self.choice("library", "所属库", "library", Library)
        self.choice("format_kind", "资源格式", "format", FormatKind)
        self.system(org)
        share = ShareType.parse(self.choice("share_type", "共享类型", "share type", ShareType))
        if share == ShareType.CONDITIONAL:
            self.field("share_condition", "共享条件 / sharing condition")
        if share == ShareType.NOT_SHAREABLE:
            self.field("share_basis", "不予共享依据（法律法规或政策） / legal basis for not sharing")
        else:
            self.choice("share_method", "共享方式", "share method", ShareMethod)
        opened = OpenType.parse(self.choice("open_type", "开放类型", "open type", OpenType))
        if opened == OpenType.CONDITIONAL:
            self.field("open_condition", "开放条件 / open condition")
        self.choice("update_cycle", "更新周期", "update cycle", UpdateCycle)
        self.items()
        return ResourceIn.model_validate(self.answers)


def ask_resource(db: Any, actor: Actor) -> ResourceIn:
    return Wizard(db, actor).run()
