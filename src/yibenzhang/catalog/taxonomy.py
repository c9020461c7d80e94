"""The seed classification of 信息资源 (GB/T 21063.3; 004:699): 类 / 项 / 目.

An authority may add 目 and 细目 of its own; these are the nodes every province starts with.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..i18n import N_
from .model import Category

CLASSES = {"1": "基础", "2": "主题", "3": "部门"}

# 项 under each 类, and the 目 under each 项 (3-digit codes).
ITEMS: dict[str, dict[str, tuple[str, list[str]]]] = {
    "1": {
        "01": ("人口", ["人口基本信息", "户籍信息", "婚姻登记信息", "出生信息", "死亡信息", "流动人口信息"]),
        "02": ("法人和非法人组织", ["法人基本信息", "登记注册信息", "非法人组织信息", "社会组织信息"]),
        "03": ("自然资源和空间地理", ["国土空间信息", "地名地址信息", "遥感影像信息", "不动产信息"]),
        "04": ("宏观经济", ["国民经济核算", "财政收支信息", "价格指数信息", "投资信息"]),
        "05": ("社会信用", ["信用主体信息", "行政许可信息", "行政处罚信息", "守信激励信息", "失信惩戒信息"]),
        "06": ("电子证照", ["个人证照", "法人证照", "资质证书"]),
    },
    "2": {
        "01": ("公共服务", ["政务服务事项", "办件信息", "便民服务"]),
        "02": ("健康保障", ["医疗机构信息", "诊疗信息", "公共卫生信息"]),
        "03": ("社会保障", ["社会保险信息", "社会救助信息", "养老服务信息"]),
        "04": ("食品药品安全", ["食品生产经营信息", "药品监管信息", "抽检信息"]),
        "05": ("安全生产", ["企业安全信息", "隐患排查信息", "事故信息"]),
        "06": ("市场监管", ["市场主体信息", "监督检查信息", "投诉举报信息"]),
        "07": ("生态环保", ["环境质量信息", "污染源信息", "生态保护信息"]),
        "08": ("基层治理", ["网格信息", "社区信息", "矛盾纠纷信息"]),
        "09": ("乡村振兴", ["农业生产信息", "农村集体经济信息", "帮扶信息"]),
        "10": ("城乡建设", ["建设项目信息", "住房信息", "市政设施信息"]),
        "11": ("应急管理", ["应急资源信息", "灾害信息", "预警信息"]),
        "12": ("法规规章和规范性文件", ["地方性法规", "政府规章", "规范性文件"]),
        "13": (N_("教育"), ["学校信息", "学籍信息", "教育资源信息"]),
        "14": ("就业创业", ["就业信息", "职业培训信息", "创业扶持信息"]),
        "15": ("交通出行", ["道路运输信息", "公共交通信息", "交通流量信息"]),
        "16": ("文化旅游", ["文化设施信息", "旅游资源信息", "文物信息"]),
    },
    "3": {
        "01": ("发展改革", ["项目审批信息", "价格监测信息"]),
        "02": (N_("教育"), ["学校管理信息", "招生考试信息"]),
        "03": ("公安", ["户政管理信息", "出入境信息", "交通管理信息"]),
        "04": ("民政", ["社会组织管理信息", "社会事务信息", "区划地名信息"]),
        "05": ("司法行政", ["律师公证信息", "法律援助信息"]),
        "06": ("财政", ["预算信息", "政府采购信息"]),
        "07": ("人力资源和社会保障", ["社保经办信息", "劳动关系信息", "人才信息"]),
        "08": ("自然资源", ["土地管理信息", "测绘地理信息"]),
        "09": ("生态环境", ["环评审批信息", "环境执法信息"]),
        "10": ("住房和城乡建设", ["住房保障信息", "建筑市场信息"]),
        "11": ("交通运输", ["运输许可信息", "路网信息"]),
        "12": ("水利", ["水资源信息", "水旱灾害防御信息"]),
        "13": ("农业农村", ["农业补贴信息", "动植物防疫信息"]),
        "14": ("商务", ["外贸信息", "市场运行信息"]),
        "15": ("文化和旅游", ["文化市场信息", "旅游经营信息"]),
        "16": ("卫生健康", ["医疗服务信息", "妇幼健康信息", "疾病预防控制信息"]),
        "17": ("应急管理", ["安全生产许可信息", "救灾物资信息"]),
        "18": ("市场监督管理", ["企业登记信息", "特种设备信息", "质量监督信息"]),
        "19": (N_("统计"), ["统计调查信息", "统计公报信息"]),
        "20": ("医疗保障", ["医保参保信息", "医保结算信息"]),
        "21": ("税务", ["纳税人信息", "发票信息"]),
        "22": ("供水", ["供水用户信息", "水质监测信息"]),
        "23": ("供电", ["用电户信息", "电力负荷信息"]),
        "24": ("燃气", ["燃气用户信息", "管网信息"]),
        "25": ("通信", ["通信基站信息", "宽带覆盖信息"]),
        "26": (N_("公共交通"), ["公交线路信息", "客流信息"]),
    },
}


def seed_nodes() -> list[tuple[str, int, str, str | None]]:
    """(code, level, name, parent) for every seed node, parents first."""
    nodes: list[tuple[str, int, str, str | None]] = []
    for cls, cls_name in CLASSES.items():
        nodes.append((cls, 1, cls_name, None))
        for item, (item_name, catalogs) in ITEMS[cls].items():
            item_code = cls + item
            nodes.append((item_code, 2, item_name, cls))
            for i, cat_name in enumerate(catalogs, start=1):
                nodes.append((f"{item_code}{i:03d}", 3, cat_name, item_code))
    return nodes


def seed_categories(session: Session) -> int:
    """Insert missing seed nodes (idempotent); returns how many were added."""
    existing = set(session.execute(select(Category.code)).scalars())
    added = 0
    for code, level, name, parent in seed_nodes():
        if code not in existing:
            session.add(Category(code=code, level=level, name=name, parent_code=parent))
            added += 1
    session.flush()
    return added


def category_path_names(session: Session, code: str) -> list[str]:
    """Names from 类 down to `code`, e.g. ['基础', '人口', '人口基本信息']."""
    names: list[str] = []
    current: str | None = code
    while current:
        node = session.get(Category, current)
        if node is None:
            break
        names.append(node.name)
        current = node.parent_code
    return list(reversed(names))
