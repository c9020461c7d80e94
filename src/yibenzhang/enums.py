"""Domain enumerations. Member names are English; stored values are the Chinese terms of the
policy texts (translated for the English UI by i18n)."""

from __future__ import annotations

from enum import StrEnum


class ChineseEnum(StrEnum):
    """A StrEnum whose value is Chinese; `parse` accepts the Chinese value or the English name."""

    @classmethod
    def parse(cls, raw: str | None) -> ChineseEnum | None:
        if raw is None:
            return None
        text = str(raw).strip()
        for member in cls:
            if text == member.value or text.lower() == member.name.lower():
                return member
        return None

    @classmethod
    def values(cls) -> list[str]:
        return [m.value for m in cls]


class RegionLevel(ChineseEnum):
    PROVINCE = "省"
    CITY = "市"
    COUNTY = "县"


class OrgKind(ChineseEnum):
    GOV = "政府部门"
    INSTITUTION = "事业单位"
    ENTERPRISE = "公共企业"
    AUTHORITY = "数据主管部门"
    OPERATOR = "授权运营机构"


class Role(ChineseEnum):
    ADMIN = "平台管理员"
    REVIEWER = "主管部门审核员"
    STEWARD = "数据专员"
    APPROVER = "机构审批人"
    CONSUMER = "数据使用方"
    OPERATOR = "运营方"
    AUDITOR = "审计员"
    PUBLIC = "社会公众"
    # Issue 23, 三员分立: the three administrators whose powers no one person may combine.
    SYSTEM_ADMIN = "系统管理员"
    SECURITY_ADMIN = "安全管理员"
    AUDIT_ADMIN = "审计管理员"


# Roles that act for one organization, and roles that act over a region.
ORG_ROLES = frozenset({Role.STEWARD, Role.APPROVER, Role.CONSUMER, Role.OPERATOR})
REGION_ROLES = frozenset({Role.REVIEWER})
# 三员分立 (issue 23): one person holds at most one of these; 平台管理员 is the legacy role that
# holds all three powers, so it combines with none of them either.
ADMIN_ROLES = frozenset({Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN, Role.ADMIN})


class ResourceClass(ChineseEnum):
    """类 of 信息资源分类 (GB/T 21063.3): the first digit of the 前段码."""

    BASE = "基础"
    THEME = "主题"
    DEPARTMENT = "部门"


class Library(ChineseEnum):
    BASE = "基础库"
    THEME = "主题库"
    TOPIC = "专题库"


class FormatKind(ChineseEnum):
    SPREADSHEET = "电子表格"
    DATABASE = "数据库"
    FILE = "电子文件"
    GRAPHIC = "图形图像"
    STREAMING = "流媒体"
    INTERFACE = "接口"
    SELF_DESCRIBING = "自描述格式"


class DataType(ChineseEnum):
    """信息项数据类型, by the one-letter codes of the catalogue guide."""

    C = "字符型"
    N = "数值型"
    Y = "货币型"
    D = "日期型"
    T = "日期时间型"
    L = "逻辑型"
    M = "备注型"
    B = "二进制"
    I = "整型"  # noqa: E741 - the catalogue guide's own letter
    F = "浮点型"

    @property
    def letter(self) -> str:
        return self.name


class ShareType(ChineseEnum):
    UNCONDITIONAL = "无条件共享"
    CONDITIONAL = "有条件共享"
    NOT_SHAREABLE = "不予共享"


class ShareMethod(ChineseEnum):
    INTERFACE = "接口"
    TABLE = "库表"
    FILE = "文件"


class OpenType(ChineseEnum):
    UNCONDITIONAL = "无条件开放"
    CONDITIONAL = "有条件开放"
    NOT_OPEN = "不予开放"


class UpdateCycle(ChineseEnum):
    REALTIME = "实时"
    DAILY = "每日"
    WEEKLY = "每周"
    MONTHLY = "每月"
    QUARTERLY = "每季度"
    HALF_YEARLY = "每半年"
    YEARLY = "每年"
    IRREGULAR = "不定期"


class ResourceStatus(ChineseEnum):
    DRAFT = "草稿"
    SUBMITTED = "待审核"
    RETURNED = "已退回"
    PUBLISHED = "已发布"
    RETIRED = "已停用"


class ListKind(ChineseEnum):
    RESPONSIBILITY = "责任清单"
    DEMAND = "需求清单"
    NEGATIVE = "负面清单"
