"""Domain errors: a stable code, a Chinese message and its English form, field-level detail.

Rendered as RFC 9457 problem+json by the API, as a message and exit code 2 by the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .i18n import translate


@dataclass
class FieldError:
    """One thing wrong with one field: `field` is a dotted path (items.2.data_type)."""

    field: str
    code: str
    message: str  # Chinese template, translated through i18n
    params: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "code": self.code,
            "message": translate(self.message, "zh", **self.params),
            "message_en": translate(self.message, "en", **self.params),
        }


class DomainError(Exception):
    """Base of every error a user can cause. Subclasses fix the HTTP status."""

    status = 400
    title = "请求的内容不合法"

    def __init__(
        self,
        code: str,
        message: str | None = None,
        *,
        errors: list[FieldError] | None = None,
        **params: Any,
    ) -> None:
        self.code = code
        self.message = message or self.title
        self.params = params
        self.errors = errors or []
        super().__init__(self.message_in("en"))

    def message_in(self, lang: str) -> str:
        return translate(self.message, lang, **self.params)

    def as_problem(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"https://yibenzhang.org/errors/{self.code}",
            "title": translate(self.title, "en"),
            "status": self.status,
            "code": self.code,
            "detail": self.message_in("zh"),
            "detail_en": self.message_in("en"),
        }
        if instance:
            body["instance"] = instance
        if self.errors:
            body["errors"] = [e.as_dict() for e in self.errors]
        return body


class ValidationFailed(DomainError):
    status = 422


class NotFound(DomainError):
    status = 404
    title = "未找到"  # RFC 9457: the same for every occurrence; the detail says what

    def __init__(self, what: str, code: str = "not_found") -> None:
        super().__init__(code, "未找到：{what}", what=what)


class Unauthenticated(DomainError):
    status = 401
    title = "需要登录"


class PermissionDenied(DomainError):
    status = 403
    title = "无权执行此操作"

    def __init__(self, action: str, code: str = "permission_denied") -> None:
        super().__init__(code, "无权执行此操作：{action}", action=action)


class Conflict(DomainError):
    status = 409
    title = "与当前状态冲突"


# --- the platform's own parts failing (issue 20's chaos pass): clear, retryable, never a 500 ---

NO_SPACE = {28, 122, 27}  # ENOSPC, EDQUOT, EFBIG


class StorageFull(DomainError):
    """The zone (or another store of files) has no room: nothing was published; retry after the
    administrator frees or adds space."""

    status = 507
    title = "存储空间不足"

    def __init__(self) -> None:
        super().__init__("storage_full", "存储空间已满，本次写入未生效：请管理员扩容或清理后重试")


class StoreUnavailable(DomainError):
    """The metadata store cannot be reached (restarting, failing over): nothing was changed."""

    status = 503
    title = "服务暂时不可用"

    def __init__(self) -> None:
        super().__init__("store_unavailable", "元数据库暂时不可用，本次操作未生效，请稍后重试")


def is_no_space(exc: BaseException) -> bool:
    """A write that failed for want of space: an OSError, or an engine's error saying so."""
    if isinstance(exc, OSError) and exc.errno in NO_SPACE:
        return True
    text = str(exc)
    return "No space left on device" in text or "File too large" in text or "Disk quota exceeded" in text


@dataclass
class ErrorBag:
    """Collects field errors so a user sees all of them at once, not the first only."""

    errors: list[FieldError] = field(default_factory=list)

    def add(self, field_path: str, code: str, message: str, **params: Any) -> None:
        self.errors.append(FieldError(field_path, code, message, params))

    def text(self, field_path: str, value: str | None, *, required: bool = True, limit: int = 2000) -> str | None:
        """A free-text field, stripped: None when empty (an error when required), an error when
        longer than `limit` characters (the text is still returned, so later checks can run)."""
        text = (value or "").strip()
        if not text:
            if required:
                self.add(field_path, "required", "必填项不能为空")
            return None
        if len(text) > limit:
            self.add(field_path, "too_long", "不能超过{n}个字符", n=limit)
        return text

    def raise_if_any(self, code: str = "validation_failed") -> None:
        if self.errors:
            raise ValidationFailed(code, "请求的内容不合法", errors=list(self.errors))

    def __bool__(self) -> bool:
        return bool(self.errors)
