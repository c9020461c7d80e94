"""The field-name dictionary: Chinese field names and the pinyin abbreviations (首字母缩写) and
English names common in government systems, each mapped to categories (classify/categories.py).

A name alone is moderate evidence: pinyin initials are often ambiguous (xm is 姓名 but also 项目,
jd is 经度 but also 街道), so those entries weigh less, and the value recognizers have the last
word. Names of serial numbers, codes and orders are kept too: they argue against format-only
value matches (a column called 流水号 full of 11-digit numbers is not a list of mobiles)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Confidence of a name match by how it matched (ours; tuned on tests/classify/corpus.py).
ZH_EXACT = 0.75
ZH_CONTAINED = 0.68
EN_MATCH = 0.7
PINYIN_MATCH = 0.62
PINYIN_AMBIGUOUS = 0.5
DESCRIPTION_FACTOR = 0.85  # the same entries found in the item's description weigh a little less

# category codes → (Chinese names, pinyin abbreviations, English names)
_ENTRIES: dict[tuple[str, ...], tuple[str, str, str]] = {
    ("id_card",): (
        "身份证号 身份证号码 身份证 公民身份号码 公民身份证号 居民身份证号 居民身份证号码 证件号码 证件号 身份号码 "
        "身份证件号码",
        "sfzh sfzhm zjhm gmsfhm gmsfzh sfz sfzjhm zjh jmsfzh",
        "id_card idcard id_card_no id_card_number id_number id_no idno identity_card citizen_id national_id"),
    ("passport",): ("护照号 护照号码 护照 护照证号", "hzhm hzh hz", "passport passport_no passport_number"),
    ("hk_macau_permit",): (
        "港澳通行证 港澳通行证号 港澳通行证号码 往来港澳通行证 往来港澳通行证号码 通行证号码",
        "gatxz gatxzh gatxzhm", "hk_macau_permit hkm_permit two_way_permit"),
    ("driver_license",): ("驾驶证号 驾驶证号码 驾驶证 驾照号 驾驶证编号", "jszh jszhm jsz",
                          "driver_license driving_license driver_license_no"),
    ("social_security",): ("社保卡号 社会保障号码 社会保障号 社会保障卡号 社保号 医保卡号 社保编号 社会保障卡",
                           "sbkh shbzhm shbzh shbzkh ybkh",
                           "social_security social_security_no ssn insurance_card_no"),
    ("mobile",): ("手机号 手机号码 手机 移动电话 联系手机 手机电话", "sjhm sjh yddh lxsj",
                  "mobile mobile_phone mobile_no cellphone cell_phone"),
    ("mobile", "landline"): ("联系电话 电话 电话号码 联系方式 联系号码 联系人电话", "lxdh dh dhhm lxfs",
                             "phone telephone tel phone_number phone_no contact_phone"),
    ("landline",): ("固定电话 座机 办公电话 固话 家庭电话 单位电话", "gddh bgdh jtdh",
                    "landline office_phone fixed_phone home_phone"),
    ("email",): ("电子邮箱 邮箱 电子邮件 邮箱地址 电子信箱 电子邮箱地址", "yx dzyx yxdz dzyj",
                 "email e_mail mail email_address"),
    ("bank_card",): ("银行账号 银行卡号 开户账号 银行账户 银行卡 卡号 收款账号 账号 社保卡银行账号 开户行账号",
                     "yhzh yhkh khzh skzh yhzhh",
                     "bank_card bank_account account_no card_no bank_card_no account_number"),
    ("address",): (
        "住址 地址 家庭住址 居住地址 现住址 户籍地址 联系地址 通讯地址 户籍所在地 详细地址 经营地址 注册地址 "
        "居住地 住所 现居住地址 单位地址 送达地址 户籍住址",
        "zz dz jzdz hjdz xzz txdz lxdz jtzz xxdz zcdz jydz",
        "address addr home_address residence residential_address street_address"),
    ("coordinates",): ("经度 纬度 经纬度 坐标 位置坐标 定位 地理坐标 GPS坐标", "jd wd jwd zb",
                       "longitude latitude lng lat lon coordinates coordinate location geo gps geolocation"),
    ("ipv4", "ipv6"): ("IP地址 登录IP 访问IP IP 终端IP", "ipdz dlip", "ip ip_address client_ip ip_addr remote_ip"),
    ("ipv4",): ("IPv4地址", "", "ipv4 ipv4_address"),
    ("ipv6",): ("IPv6地址", "", "ipv6 ipv6_address"),
    ("vehicle_plate",): ("车牌号 车牌号码 号牌号码 车牌 机动车号牌 车辆号牌 号牌", "cph hphm cphm",
                         "plate plate_no license_plate car_plate plate_number vehicle_plate"),
    ("person_name",): (
        "姓名 名字 人员姓名 联系人 法定代表人 法人代表 申请人 负责人 户主姓名 户主 当事人 患者姓名 学生姓名 "
        "监护人 收件人 经办人 被保险人 持卡人 驾驶人 法定代表人姓名 联系人姓名",
        "xm lxr fddbr sqr fzr hzxm dsr jhr jbr",
        "name full_name person_name contact_name real_name username_real patient_name"),
    ("birth_date",): ("出生日期 出生年月 生日 出生时间 出生年月日 出生", "csrq csny",
                      "birth_date birthday date_of_birth dob birthdate"),
    ("gender",): ("性别", "xb", "gender sex"),
    ("ethnicity",): ("民族", "mz", "ethnicity ethnic ethnic_group"),
    ("religion",): ("宗教信仰 宗教 信仰", "zjxy", "religion faith religious_belief"),
    ("health",): (
        "病历 诊断 诊断结果 疾病 病史 既往病史 疾病名称 病情 过敏史 就诊记录 健康状况 诊断名称 主诉 残疾类别 "
        "传染病 疾病诊断 病种 诊断编码 检查结果 残疾等级 用药记录",
        "bl zd zdjg jbmc jws jkzk zdmc bz",
        "diagnosis disease medical_record medical_history health_status icd10 icd_code illness"),
    ("biometric",): ("指纹 人脸 人脸照片 虹膜 声纹 掌纹 人脸特征 指纹特征 生物特征 人像 面部特征 指纹信息 人脸图像",
                     "rlzp rltz zwtz", "fingerprint face face_image iris voiceprint biometric face_feature"),
    ("criminal_record",): ("犯罪记录 违法犯罪记录 刑事处罚 前科 服刑记录 罪名 刑罚 违法记录 刑事判决 犯罪情况",
                           "fzjl xscf wffzjl", "criminal_record conviction offense crime criminal_history"),
    ("uscc",): ("统一社会信用代码 社会信用代码 信用代码 统一代码 组织机构代码", "tyshxydm shxydm xydm tydm zzjgdm",
                "uscc credit_code social_credit_code unified_social_credit_code unified_code"),
    ("org_name",): (
        "单位名称 企业名称 机构名称 工作单位 所在单位 公司名称 单位 法人名称 组织名称 商户名称 医院名称 学校名称 "
        "服务单位 用人单位 承办单位",
        "dwmc qymc jgmc gzdw gsmc frmc zzmc",
        "company company_name org_name organization employer enterprise_name unit_name org"),
    ("amount",): (
        "金额 交易金额 收入 月收入 年收入 工资 费用 价格 余额 缴费金额 补贴金额 应付金额 实付金额 罚款金额 合同金额 "
        "注册资本 总金额 发放金额 单价 税额",
        "je jyje fy ye zczb zje ffje",
        "amount price fee salary income balance cost money total_amount"),
}

# Pinyin initials that commonly stand for something else as well.
AMBIGUOUS_PINYIN = frozenset({"xm", "dh", "zz", "dz", "jd", "wd", "yx", "zd", "bl", "zb", "fy", "ye", "hz", "bz",
                              "mz", "sr", "jsz"})

# Names of identifiers that are not about a person: serials, orders, codes, versions, postcodes.
NEGATIVE_ZH = ("编号", "单号", "流水号", "序号", "订单", "批次", "编码", "代码", "版本", "型号", "条码", "序列号",
               "工单", "票号", "发票", "合同号", "邮编", "邮政编码", "区划", "产品", "商品", "设备", "识别码", "校验码",
               "案号", "表号", "户号", "登记号", "许可证号")
NEGATIVE_TOKENS = frozenset({"no", "id", "serial", "code", "sn", "order", "seq", "version", "sku", "zip", "postcode",
                             "bh", "xh", "lsh", "ddh", "bm", "num", "number", "uuid", "ver"})


@dataclass(frozen=True)
class NameHit:
    categories: tuple[str, ...]
    entry: str  # the dictionary entry that matched
    kind: str  # zh / pinyin / en
    how: str  # exact / contained / token
    confidence: float
    source: str = "name"  # or description

    def evidence(self) -> dict[str, str | float]:
        return {"source": self.source, "entry": self.entry, "kind": self.kind, "how": self.how,
                "confidence": round(self.confidence, 3)}


def _index() -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[str, ...]], dict[tuple[str, ...], tuple[str, ...]]]:
    zh: dict[str, tuple[str, ...]] = {}
    pinyin: dict[str, tuple[str, ...]] = {}
    en: dict[tuple[str, ...], tuple[str, ...]] = {}
    for cats, (zh_names, py_names, en_names) in _ENTRIES.items():
        for term in zh_names.split():
            zh[_fold(term)] = cats
        for term in py_names.split():
            pinyin[term] = cats
        for term in en_names.split():
            en[tuple(term.split("_"))] = cats
    return zh, pinyin, en


_PARENS = re.compile(r"[（(\[【][^）)\]】]*[）)\]】]")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_SPLIT = re.compile(r"[^0-9a-z\u4e00-\u9fff]+")


def _fold(text: str) -> str:
    """NFKC, lower case, without units in brackets and without separators: 金额（元） → 金额."""
    text = unicodedata.normalize("NFKC", text or "")
    return _SPLIT.sub("", _PARENS.sub("", text).lower())


def tokens(name: str) -> list[str]:
    """ASCII tokens of a field name: applicantIdCard / applicant_id_card → applicant, id, card."""
    text = unicodedata.normalize("NFKC", name or "")
    text = _CAMEL.sub("_", _PARENS.sub("", text)).lower()
    return [t for t in _SPLIT.split(re.sub(r"[\u4e00-\u9fff]+", " ", text)) if t]


ZH_INDEX, PINYIN_INDEX, EN_INDEX = _index()
_ZH_BY_LENGTH = sorted(ZH_INDEX, key=len, reverse=True)


def _end(seq: list[str], sub: tuple[str, ...]) -> int:
    """1 + the index of the last token of the last occurrence of `sub` in `seq` (0: absent)."""
    n = len(sub)
    return max((i + n for i in range(len(seq) - n + 1) if tuple(seq[i:i + n]) == sub), default=0)


def match_name(name: str | None, *, source: str = "name") -> NameHit | None:
    """The best dictionary entry for a field name (or a description), or None."""
    if not name:
        return None
    folded = _fold(name)
    factor = DESCRIPTION_FACTOR if source == "description" else 1.0
    if folded in ZH_INDEX and re.search(r"[\u4e00-\u9fff]", folded):
        return NameHit(ZH_INDEX[folded], folded, "zh", "exact", ZH_EXACT * factor, source)
    # the entry that ends last in the name (Chinese and English put the head noun last), the
    # longest of those: 申请人身份证号码 → 身份证号码, 联系人电话 → 电话
    found = [(folded.rfind(t) + len(t), len(t), t) for t in _ZH_BY_LENGTH
             if re.search(r"[\u4e00-\u9fff]", t) and t in folded]
    if found:
        term = max(found)[2]
        # a bare 单位 or 出生 inside a longer name means little
        confidence = ZH_CONTAINED if len(term) * 3 >= len(folded) or len(term) >= 3 else 0.55
        return NameHit(ZH_INDEX[term], term, "zh", "contained", confidence * factor, source)
    toks = tokens(name)
    if not toks:
        return None
    ends = [(_end(toks, entry), len(entry), entry) for entry in EN_INDEX]
    ends = [e for e in ends if e[0]]
    joined = "".join(toks)
    if ends:
        best = max(ends)[2]
        how = "exact" if best == tuple(toks) else "token"
        return NameHit(EN_INDEX[best], "_".join(best), "en", how, EN_MATCH * factor, source)
    for candidate in (joined, *reversed(toks)):
        if candidate in PINYIN_INDEX:
            weight = PINYIN_AMBIGUOUS if candidate in AMBIGUOUS_PINYIN else PINYIN_MATCH
            how = "exact" if candidate == joined else "token"
            return NameHit(PINYIN_INDEX[candidate], candidate, "pinyin", how, weight * factor, source)
    # the code of a thing is the thing: xbdm (性别代码), mzdm (民族代码)
    if joined.endswith("dm") and joined[:-2] in PINYIN_INDEX:
        stem = joined[:-2]
        weight = PINYIN_AMBIGUOUS if stem in AMBIGUOUS_PINYIN else PINYIN_MATCH
        return NameHit(PINYIN_INDEX[stem], joined, "pinyin", "code", weight * factor, source)
    # run-together pinyin with a prefix: hjsfzh (户籍身份证号), sqrlxdh (申请人联系电话)
    for term, cats in PINYIN_INDEX.items():
        if len(term) >= 4 and joined.endswith(term):
            return NameHit(cats, term, "pinyin", "suffix", PINYIN_AMBIGUOUS * factor, source)
    return None


def is_negative_name(name: str | None) -> str | None:
    """The term that marks the name as a serial number, order, code… (or None)."""
    if not name:
        return None
    folded = _fold(name)
    for term in NEGATIVE_ZH:
        if term in folded:
            return term
    for tok in tokens(name):
        if tok in NEGATIVE_TOKENS:
            return tok
    return None


_GENERIC = re.compile(r"^(字段|列|备注|扩展|其他|其它|预留|col|column|field|attr|f|c|x|v|value|data)?[0-9]*$")


def is_generic_name(name: str | None) -> bool:
    """Empty or meaningless names (字段3, col_7, 备注): no evidence either way."""
    return not name or bool(_GENERIC.match(_fold(name)))
