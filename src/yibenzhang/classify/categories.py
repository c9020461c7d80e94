"""The category catalogue: what kind of data a field holds (GB/T 43697-2024 by data subject;
PIPL Art. 28 for sensitive personal information, DOMAIN.md §4). Recognizers suggest categories,
grading maps them to grades, masking picks operators for them: all refer to these codes."""

from __future__ import annotations

from dataclasses import dataclass

SUBJECTS = ("公共", "组织", "个人")

# Families group categories for precision/recall and for the console's legend.
FAMILIES = ("身份标识", "联系方式", "金融账户", "位置", "个人基本", "敏感个人", "组织标识", "数值金额", "公共")


@dataclass(frozen=True)
class Category:
    code: str
    name_zh: str
    family: str
    subject: str  # 公共 / 组织 / 个人
    sensitive: bool = False  # sensitive personal information (个人信息保护法 Art. 28)


_ALL = (
    # 身份标识: personal identifiers (DOMAIN §4: 身份证/护照/驾驶证/社保卡 numbers)
    Category("id_card", "身份证号", "身份标识", "个人"),
    Category("passport", "护照号码", "身份标识", "个人"),
    Category("hk_macau_permit", "港澳通行证号码", "身份标识", "个人"),
    Category("driver_license", "驾驶证号", "身份标识", "个人"),
    Category("social_security", "社会保障号码", "身份标识", "个人"),
    # 联系方式
    Category("mobile", "手机号码", "联系方式", "个人"),
    Category("landline", "固定电话", "联系方式", "个人"),
    Category("email", "电子邮箱", "联系方式", "个人"),
    # 金融账户 (Art. 28)
    Category("bank_card", "银行卡号", "金融账户", "个人", sensitive=True),
    # 位置: precise location and the identifiers that reveal it
    Category("address", "住址", "位置", "个人"),
    Category("coordinates", "经纬度", "位置", "个人", sensitive=True),  # 行踪轨迹 (Art. 28)
    Category("ipv4", "IPv4地址", "位置", "个人"),
    Category("ipv6", "IPv6地址", "位置", "个人"),
    Category("vehicle_plate", "车牌号", "位置", "个人"),
    # 个人基本
    Category("person_name", "姓名", "个人基本", "个人"),
    Category("birth_date", "出生日期", "个人基本", "个人"),
    Category("gender", "性别", "个人基本", "个人"),
    Category("ethnicity", "民族", "个人基本", "个人"),
    # 敏感个人 (Art. 28: 生物识别, 宗教信仰, 特定身份, 医疗健康, 金融账户, 行踪轨迹)
    Category("religion", "宗教信仰", "敏感个人", "个人", sensitive=True),
    Category("health", "医疗健康", "敏感个人", "个人", sensitive=True),
    Category("biometric", "生物识别", "敏感个人", "个人", sensitive=True),
    Category("criminal_record", "违法犯罪记录", "敏感个人", "个人", sensitive=True),
    # 组织标识
    Category("uscc", "统一社会信用代码", "组织标识", "组织"),
    Category("org_name", "单位名称", "组织标识", "组织"),
    # 数值金额
    Category("amount", "金额", "数值金额", "组织"),
    # 公共: non-personal public data (what an item is when nothing more specific applies)
    Category("public", "公共数据", "公共", "公共"),
)

CATEGORIES: dict[str, Category] = {c.code: c for c in _ALL}


def family_of(code: str) -> str:
    return CATEGORIES[code].family


def in_family(family: str) -> list[str]:
    return [c.code for c in _ALL if c.family == family]
