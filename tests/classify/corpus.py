"""A labelled corpus of realistic Chinese government columns, generated deterministically from a
seed: positives for every recognized category under Chinese names, pinyin initials, English
names and misleading or empty names, and hard negatives (order and serial numbers, phone-like
numbers, place and street names, product and meter codes, digests, dates of registration…).

Each column is labelled with the category a careful steward would give it, or None for public,
non-personal data. Values are synthetic (fictional regions 云岭省/春城市 plus real-looking
division codes); nothing here is anyone's personal data."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from yibenzhang.codes import USCC_ALPHABET, make_uscc
from yibenzhang.quality.validators import id_check_character

SEED = 20240401


@dataclass(frozen=True)
class LabelledColumn:
    name: str
    values: list[str | None]
    expected: str | None  # category code, or None for public data
    description: str | None = None
    note: str = ""


REGIONS = [
    "110105",
    "310115",
    "440305",
    "530102",
    "530103",
    "530111",
    "510107",
    "330106",
    "420106",
    "610113",
    "650102",
    "370202",
    "320102",
    "500103",
    "230103",
    "130102",
    "450103",
    "520102",
    "140105",
    "210102",
]
SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
    "姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
COMPOUND = ["欧阳", "司马", "诸葛", "上官", "司徒", "东方", "夏侯", "皇甫", "尉迟", "公孙", "慕容", "长孙", "令狐"]
GIVEN = list("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂华玉萍红玲芬燕彬鹏辉建国文志海波宇浩婷欣怡子涵梓轩")
MINORITY = ["阿卜杜拉·买买提", "古丽·艾买提", "热依拉·托合提", "努尔·阿不都", "扎西·次仁"]
PROVINCES = ["云岭省", "广东省", "浙江省", "四川省", "湖北省", "陕西省", "山东省"]
CITIES = ["春城市", "广州市", "杭州市", "成都市", "武汉市", "西安市", "青岛市", "大理白族自治州"]
DISTRICTS = ["五华区", "盘龙区", "天河区", "西湖区", "武侯区", "江汉区", "雁塔区", "市南区", "安宁县", "宜良县"]
ROADS = ["人民路", "北京路", "青年路", "东风路", "滇池路", "中山大道", "解放街", "文化巷", "学府路", "建设北路"]
TOWNS = ["太平镇", "草铺街道", "八街镇", "狗街镇", "青龙乡"]
PLACES = [
    "昆明市",
    "大理",
    "丽江",
    "安庆",
    "金华",
    "张家口",
    "石家庄",
    "温州市",
    "曲靖",
    "玉溪市",
    "楚雄州",
    "黄山",
    "周口",
    "许昌",
    "林芝",
    "马鞍山",
    "安宁县",
    "宜良县",
    "呈贡区",
    "晋宁区",
    "高新区",
    "嵩明县",
    "富民县",
    "石林县",
]
COMPANY_WORDS = ["云岭", "春城", "滇池", "金马", "碧鸡", "翠湖", "华信", "恒通", "鑫源", "博雅", "长青", "宏达"]
COMPANY_TAILS = [
    "科技有限公司",
    "建设集团有限公司",
    "贸易有限公司",
    "物业服务有限公司",
    "餐饮管理有限公司",
    "农业专业合作社",
    "律师事务所",
    "人民医院",
    "第一中学",
    "汽车修理厂",
    "便利店",
    "市场监督管理局",
    "卫生院",
]
DISEASES = [
    "高血压",
    "2型糖尿病",
    "冠心病",
    "慢性阻塞性肺病",
    "支气管哮喘",
    "急性阑尾炎",
    "肺结核",
    "乙型病毒性肝炎",
    "脑梗死",
    "缺铁性贫血",
    "胃溃疡",
    "类风湿关节炎",
    "抑郁症",
    "肺癌",
    "胆囊结石",
    "腰椎间盘突出症",
    "甲状腺结节囊肿",
    "痛风",
]
CRIMES = ["盗窃罪", "诈骗罪", "故意伤害罪", "危险驾驶罪", "交通肇事罪", "寻衅滋事罪", "抢劫罪", "贩卖毒品罪"]
RELIGIONS = ["佛教", "道教", "伊斯兰教", "天主教", "基督教", "无", "无", "无", "藏传佛教"]
ETHNIC = ["汉族"] * 6 + ["彝族", "白族", "哈尼族", "傣族", "壮族", "苗族", "回族", "藏族", "纳西族", "维吾尔族"]
DOMAINS = ["163.com", "qq.com", "126.com", "gov.cn", "ylsj.gov.cn", "sina.com", "outlook.com"]
PINYIN = ["zhangwei", "lina", "wangfang", "liuyang", "chenjie", "yangmin", "zhaolei", "huangyan", "zhoutao", "wuxia"]


RARE = list("禤蹇冮兀笪佴隗璩蒯厍")


def _groups(number: str) -> list[str]:
    return [number[i : i + 4] for i in range(0, len(number), 4)]


def luhn_complete(body: str) -> str:
    total = 0
    for i, c in enumerate(reversed(body)):
        d = int(c)
        if i % 2 == 0:  # doubled once the check digit is appended
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return body + str((10 - total % 10) % 10)


class Gen:
    """Value makers over one seeded random generator."""

    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)

    def digits(self, n: int) -> str:
        return "".join(self.r.choice("0123456789") for _ in range(n))

    def birth(self, lo: int = 1940, hi: int = 2015) -> date:
        return date(lo, 1, 1) + timedelta(days=self.r.randrange((date(hi, 12, 31) - date(lo, 1, 1)).days))

    def id18(self) -> str:
        body = self.r.choice(REGIONS) + self.birth().strftime("%Y%m%d") + self.digits(3)
        return body + id_check_character(body)

    def id15(self) -> str:
        return self.r.choice(REGIONS) + self.birth(1940, 1999).strftime("%y%m%d") + self.digits(3)

    def bad_id(self) -> str:
        """18 digits that fail the check digit (a typo)."""
        good = self.id18()
        wrong = self.r.choice([c for c in "0123456789X" if c != good[-1]])
        return good[:17] + wrong

    def uscc(self) -> str:
        head = self.r.choice(["91", "92", "11", "12", "51", "52", "93", "N2", "Y1"])
        tail = "".join(self.r.choice(USCC_ALPHABET) for _ in range(9))
        return make_uscc(head + self.r.choice(REGIONS) + tail)

    def mobile(self, form: int = 0) -> str:
        number = self.r.choice(["138", "139", "150", "151", "186", "177", "199", "135", "158", "189"]) + self.digits(8)
        if form == 1:
            return "+86 " + number
        if form == 2:
            return f"{number[:3]}-{number[3:7]}-{number[7:]}"
        return number

    def landline(self) -> str:
        area = self.r.choice(["0871", "010", "020", "0755", "028", "021", "0877"])
        local = self.r.choice("2345678") + self.digits(7 if len(area) == 3 else self.r.choice([6, 7]))
        form = self.r.randrange(4)
        if form == 0:
            return f"{area}-{local}"
        if form == 1:
            return f"({area}){local}"
        if form == 2:
            return f"{area}{local}"
        return f"{area}-{local}-{self.r.randint(100, 9999)}"

    def email(self) -> str:
        return f"{self.r.choice(PINYIN)}{self.r.randint(1, 9999)}@{self.r.choice(DOMAINS)}"

    def bank_card(self) -> str:
        prefix = self.r.choice(["622202", "621700", "622848", "623668", "622588", "625965", "436742"])
        return luhn_complete(prefix + self.digits(self.r.choice([9, 12])))  # 16 or 19 digits

    def passport(self) -> str:
        if self.r.random() < 0.5:
            return "E" + self.digits(8)
        return "E" + self.r.choice("ABCDEFGHJKLMNPQRSTUVWXYZ") + self.digits(7)

    def permit(self) -> str:
        if self.r.random() < 0.5:
            return "C" + self.digits(8)
        return "C" + self.r.choice("ABCDEFGHJKLMNPQRSTUVWXYZ") + self.digits(7)

    def plate(self) -> str:
        province = self.r.choice("云京沪粤川浙鄂陕")
        letter = self.r.choice("ABCDEFGH")
        form = self.r.randrange(3)
        if form == 0:
            return province + letter + "".join(self.r.choice("0123456789ABCDEFGHJK") for _ in range(5))
        if form == 1:
            return province + letter + self.r.choice("DF") + self.r.choice("0123456789ABC") + self.digits(4)
        return f"{province}{letter}·{self.digits(5)}"

    def address(self) -> str:
        if self.r.random() < 0.2:
            return (
                f"{self.r.choice(PROVINCES)}{self.r.choice(DISTRICTS)}{self.r.choice(TOWNS)}"
                f"{self.r.choice(['新村', '大村', '小哨村', '李家村'])}{self.r.randint(1, 12)}组"
            )
        tail = self.r.choice(
            [
                f"{self.r.randint(1, 999)}号",
                f"{self.r.randint(1, 300)}号{self.r.randint(1, 20)}栋"
                f"{self.r.randint(1, 6)}单元{self.r.randint(101, 2802)}室",
                f"{self.r.randint(1, 99)}号院",
            ]
        )
        head = self.r.choice(["", self.r.choice(PROVINCES)])
        return f"{head}{self.r.choice(CITIES)}{self.r.choice(DISTRICTS)}{self.r.choice(ROADS)}{tail}"

    def lng(self) -> float:
        return self.r.uniform(97.5, 124.0)

    def lat(self) -> float:
        return self.r.uniform(21.0, 45.0)

    def ipv4(self) -> str:
        return ".".join(str(self.r.randint(1, 254)) for _ in range(4))

    def ipv6(self) -> str:
        groups = [f"{self.r.randint(0, 0xFFFF):x}" for _ in range(8)]
        if self.r.random() < 0.4:
            return "2409:8a00::" + ":".join(groups[:3])
        return ":".join(groups)

    def person(self) -> str:
        x = self.r.random()
        if x < 0.05:
            return self.r.choice(MINORITY)
        if x < 0.12:
            return self.r.choice(COMPOUND) + "".join(self.r.choice(GIVEN) for _ in range(self.r.choice([1, 2])))
        return self.r.choice(SURNAMES) + "".join(self.r.choice(GIVEN) for _ in range(self.r.choice([1, 2, 2])))

    def date_text(self, d: date) -> str:
        form = self.r.randrange(4)
        if form == 0:
            return d.isoformat()
        if form == 1:
            return f"{d.year}/{d.month}/{d.day}"
        if form == 2:
            return f"{d.year}年{d.month}月{d.day}日"
        return d.strftime("%Y%m%d")

    def company(self) -> str:
        return self.r.choice(["", "云岭省", "春城市"]) + self.r.choice(COMPANY_WORDS) + self.r.choice(COMPANY_TAILS)

    def amount(self) -> str:
        v = self.r.uniform(1, 200000)
        form = self.r.randrange(4)
        if form == 0:
            return f"{v:.2f}"
        if form == 1:
            return f"¥{v:,.2f}"
        if form == 2:
            return f"{int(v)}元"
        return f"{v:,.2f}"

    def template(self) -> str:
        return (
            "".join(
                self.r.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
                for _ in range(self.r.choice([88, 128, 172]))
            )
            + "=="
        )

    def sm3(self) -> str:
        return "".join(self.r.choice("0123456789abcdef") for _ in range(64))


def _column(
    g: Gen,
    maker: Callable[[], str | None],
    *,
    n: int | None = None,
    nulls: float | None = None,
    dirty: Callable[[], str] | None = None,
    dirty_rate: float = 0.0,
) -> list[str | None]:
    n = n or g.r.randint(60, 240)
    nulls = g.r.choice([0.0, 0.0, 0.05, 0.15]) if nulls is None else nulls
    out: list[str | None] = []
    for _ in range(n):
        x = g.r.random()
        if x < nulls:
            out.append(g.r.choice([None, None, ""]))
        elif dirty is not None and x < nulls + dirty_rate:
            out.append(dirty())
        else:
            out.append(maker())
    return out


def build(seed: int = SEED) -> list[LabelledColumn]:
    g = Gen(seed)
    cols: list[LabelledColumn] = []

    def add(
        names: list[str],
        expected: str | None,
        maker: Callable[[], str | None],
        note: str = "",
        description: str | None = None,
        **kw: object,
    ) -> None:
        for name in names:
            cols.append(LabelledColumn(name, _column(g, maker, **kw), expected, description, note))  # type: ignore[arg-type]

    # --- 身份标识
    add(
        [
            "公民身份号码",
            "身份证号",
            "sfzh",
            "zjhm",
            "gmsfhm",
            "id_card_no",
            "idNumber",
            "申请人身份证号码",
            "HJSFZH",
            "字段3",
            "",
            "备注",
        ],
        "id_card",
        g.id18,
    )
    add(["证件号码", "col_12"], "id_card", g.id18, dirty=g.bad_id, dirty_rate=0.08, note="8% typos")
    add(["身份证号（旧）", "sfzh15"], "id_card", g.id15, note="15-digit legacy")
    add(["姓名"], "id_card", g.id18, note="misleading name: the values are ID numbers")
    add(["护照号码", "hzhm", "passport_no", "证件号2", "f7"], "passport", g.passport)
    add(["往来港澳通行证号码", "港澳通行证", "gatxz", "hk_macau_permit"], "hk_macau_permit", g.permit)
    add(["驾驶证号", "jszh", "driver_license_no"], "driver_license", g.id18)
    add(["社会保障号码", "社保卡号", "shbzhm"], "social_security", g.id18)
    # --- 联系方式
    add(
        ["手机号码", "sjhm", "mobile", "联系手机", "lxdh", "联系电话", "phone", "dh", "字段8", "", "备注2"],
        "mobile",
        lambda: g.mobile(g.r.choice([0, 0, 0, 1, 2])),
    )
    add(["固定电话", "办公电话", "gddh", "landline", "单位电话", "字段9"], "landline", g.landline)
    add(
        ["电子邮箱", "邮箱", "yx", "email", "E-mail", "dzyx", "col5", "联系电话"],
        "email",
        g.email,
        note="the last under a misleading name",
    )
    # --- 金融账户
    add(
        ["银行账号", "yhzh", "khzh", "银行卡号", "bank_account", "收款账号", "col_card", "字段10"],
        "bank_card",
        g.bank_card,
    )
    # --- 位置
    add(
        [
            "住址",
            "家庭住址",
            "户籍地址",
            "jzdz",
            "hjdz",
            "address",
            "通讯地址",
            "现居住地址",
            "字段11",
            "dz",
            "经营地址",
        ],
        "address",
        g.address,
    )
    add(["经纬度", "坐标", "gps", "位置"], "coordinates", lambda: f"{g.lng():.6f},{g.lat():.6f}")
    add(["经度", "jd", "longitude", "lng"], "coordinates", lambda: f"{g.lng():.6f}")
    add(["纬度", "wd", "latitude", "lat"], "coordinates", lambda: f"{g.lat():.6f}")
    add(["IP地址", "登录IP", "client_ip", "ipdz", "登录地址", "字段12"], "ipv4", g.ipv4)
    add(["IPv6地址", "ip", "ipv6", "终端IP"], "ipv6", g.ipv6)
    add(["车牌号", "cph", "号牌号码", "hphm", "plate_no", "字段13", "车辆"], "vehicle_plate", g.plate)
    # --- 个人基本
    add(
        [
            "姓名",
            "xm",
            "name",
            "联系人",
            "法定代表人",
            "申请人",
            "户主姓名",
            "患者姓名",
            "字段1",
            "",
            "col_a",
            "备注3",
            "real_name",
            "lxr",
        ],
        "person_name",
        g.person,
    )
    add(["出生日期", "csrq", "birth_date", "dob", "出生年月日", "生日"], "birth_date", lambda: g.date_text(g.birth()))
    add(["字段14", ""], "birth_date", lambda: g.birth().isoformat(), note="unnamed: dates spread over decades")
    add(["性别", "xb", "gender", "字段15"], "gender", lambda: g.r.choice(["男", "女"]))
    add(["性别代码", "xb"], "gender", lambda: g.r.choice(["1", "2"]), note="GB/T 2261.1 codes, named")
    add(["民族", "mz", "ethnicity", "字段16"], "ethnicity", lambda: g.r.choice(ETHNIC))
    # --- 敏感个人
    add(["宗教信仰", "zjxy", "religion", "字段17"], "religion", lambda: g.r.choice(RELIGIONS))
    add(
        ["诊断", "诊断结果", "疾病名称", "zd", "diagnosis", "既往病史", "字段18"],
        "health",
        lambda: g.r.choice(DISEASES),
    )
    add(["诊断编码", "icd10"], "health", lambda: g.r.choice(["I10", "E11.9", "J45.0", "K35.8", "A15.0", "I63.9"]))
    add(["指纹特征", "人脸特征", "face_feature", "zwtz"], "biometric", g.template)
    add(["人脸照片"], "biometric", lambda: f"/photos/{g.digits(8)}.jpg")
    add(["罪名", "犯罪记录", "criminal_record", "字段19"], "criminal_record", lambda: g.r.choice(CRIMES))
    add(["刑罚"], "criminal_record", lambda: f"有期徒刑{g.r.choice('一二三四五六七八')}年")
    # --- 组织标识
    add(
        ["统一社会信用代码", "tyshxydm", "shxydm", "uscc", "credit_code", "信用代码", "字段20", "企业编号", "订单号"],
        "uscc",
        g.uscc,
        note="the last two under misleading names",
    )
    add(
        ["单位名称", "企业名称", "dwmc", "qymc", "company_name", "工作单位", "gzdw", "字段21", "employer"],
        "org_name",
        g.company,
    )
    # --- 数值金额
    add(
        ["金额", "je", "交易金额", "月收入", "缴费金额（元）", "amount", "price", "注册资本", "字段22"],
        "amount",
        g.amount,
    )
    add(
        ["交易金额（分）"],
        "amount",
        lambda: str(g.r.randint(100, 9_999_999_999)),
        note="integer fen: phone-like lengths",
    )

    # --- harder positives: case and style of names, dirty and mixed values
    add(
        ["民族代码", "mzdm"],
        "ethnicity",
        lambda: g.r.choice(["01"] * 6 + ["02", "03", "05", "08", "18"]),
        note="GB/T 3304 codes",
    )
    add(["银行卡号", "还款账号"], "bank_card", lambda: " ".join(_groups(g.bank_card())), note="printed in groups")
    add(
        ["证件号码", "zjhm"],
        "id_card",
        lambda: g.id18() if g.r.random() < 0.85 else g.passport(),
        note="mostly ID numbers, some passports",
    )
    add(
        ["姓名", "hzxm"],
        "person_name",
        lambda: g.person() if g.r.random() < 0.9 else g.r.choice(RARE) + g.r.choice(GIVEN),
        note="10% rare surnames outside the list",
    )
    add(
        ["家庭住址"],
        "address",
        lambda: g.address() if g.r.random() < 0.75 else g.r.choice(DISTRICTS),
        note="a quarter only a district",
    )
    add(["SFZHM", "idCardNo", "身份证号码"], "id_card", lambda: g.id18().replace("X", "x"), note="lower-case x")
    add(
        ["XM", "contactName", "经办人"],
        "person_name",
        g.person,
        dirty=lambda: g.r.choice(["未知", "不详", "无"]),
        dirty_rate=0.05,
    )
    add(
        ["LXDH", "mobilePhone", "联系方式"],
        "mobile",
        g.mobile,
        dirty=lambda: g.r.choice(["无", "暂无", "0"]),
        dirty_rate=0.06,
    )
    add(
        ["手机", "备用电话"],
        "mobile",
        lambda: g.mobile().translate(str.maketrans("0123456789", "０１２３４５６７８９")),
        note="full-width digits",
    )
    add(["电话"], "mobile", lambda: g.mobile() if g.r.random() < 0.7 else g.landline(), note="mobiles and landlines")
    add(["homeAddress", "户籍所在地", "送达地址"], "address", g.address)
    add(["birthDate", "出生年月"], "birth_date", lambda: g.birth().isoformat())
    add(["企业统一社会信用代码", "TYSHXYDM"], "uscc", g.uscc)
    add(["开户行账号", "cardNo"], "bank_card", g.bank_card, dirty=lambda: g.digits(16), dirty_rate=0.05)
    add(["患者诊断"], "health", lambda: g.r.choice(DISEASES))
    add(["法人单位", "服务单位名称"], "org_name", g.company)

    # --- items without rows: the name alone decides (moderate confidence)
    for name, expected in [
        ("宗教信仰", "religion"),
        ("身份证号", "id_card"),
        ("手机号码", "mobile"),
        ("住址", "address"),
        ("指纹", "biometric"),
        ("统一社会信用代码", "uscc"),
        ("出生日期", "birth_date"),
        ("病历", "health"),
        ("备注", None),
        ("登记日期", None),
        ("办理状态", None),
    ]:
        cols.append(LabelledColumn(name, [None] * 10, expected, note="no rows"))

    # --- hard negatives (public, non-personal data)
    add(["订单号", "ddh", "order_no", "字段30", ""], None, lambda: "2024" + g.digits(14), note="18-digit order numbers")
    add(
        ["业务流水号", "申请编号"],
        None,
        lambda: g.r.choice(REGIONS) + g.digits(12),
        note="18 digits from a region code",
    )
    add(
        ["流水号", "序号", "serial_no", "", "字段31"],
        None,
        (lambda start: lambda: str(start + g.r.randint(0, 5000)))(13800000000),
        note="phone-like serials",
    )
    add(["快递单号", "运单号"], None, (lambda start: lambda: str(start + g.r.randint(0, 90000)))(15000000000))
    add(
        ["设备编号", "编号", "col_x"],
        None,
        lambda: "1" + g.r.choice("012") + g.digits(9),
        note="11 digits not starting 1[3-9]",
    )
    add(["产品编码", "sku", "商品代码"], None, lambda: g.r.choice(["SKU-", "P", "CP"]) + g.digits(g.r.randint(6, 10)))
    add(
        ["电表编号", "表号"],
        None,
        (lambda start: lambda: f"E{start + g.r.randint(0, 3000):08d}")(10002000),
        note="passport-shaped meter numbers",
    )
    add(["地名", "所属地区", "dqmc", "region_name", "字段32", "地区"], None, lambda: g.r.choice(PLACES))
    add(["道路名称", "路名"], None, lambda: g.r.choice(ROADS))
    add(["乡镇街道"], None, lambda: g.r.choice(DISTRICTS) + g.r.choice(TOWNS))
    add(["行政区划代码", "xzqhdm", "division_code", "字段33"], None, lambda: g.r.choice(REGIONS))
    add(["邮政编码", "yzbm", "zip"], None, lambda: g.r.choice(["650", "100", "510", "610"]) + g.digits(3))
    add(
        ["登记日期", "办理时间", "created_at", "更新日期", "djrq", "字段34", ""],
        None,
        lambda: g.date_text(date(2019, 1, 1) + timedelta(days=g.r.randrange(2000))),
        note="recent dates",
    )
    add(["成立日期"], None, lambda: g.date_text(g.birth(1950, 2023)), note="founding dates spread over decades")
    add(
        ["办理状态", "zt", "status", "是否有效", "字段35"],
        None,
        lambda: g.r.choice(["正常", "注销", "已办结", "办理中", "是", "否"]),
    )
    add(["数量", "人数", "count", "家庭人口", "字段36", "年度"], None, lambda: str(g.r.randint(1, 2030)))
    add(["身高", "体重", "温度", "字段37"], None, lambda: f"{g.r.uniform(30, 190):.1f}")
    add(["占比", "增长率"], None, lambda: f"{g.r.uniform(0, 100):.1f}%")
    add(["版本号", "version"], None, lambda: f"{g.r.randint(1, 9)}.{g.r.randint(0, 20)}.{g.r.randint(0, 99)}")
    add(["MAC地址", "mac"], None, lambda: ":".join(f"{g.r.randint(0, 255):02X}" for _ in range(6)))
    add(["数据摘要", "digest", "文件哈希"], None, g.sm3, note="hex digests (not biometric templates)")
    add(
        ["备注", "说明", "memo", "字段38"],
        None,
        lambda: g.r.choice(["无", "已核实", "材料齐全", "待补正", "", "见附件"]),
    )
    add(
        ["事项名称", "业务类型", "项目名称", "xm"],
        None,
        lambda: g.r.choice(["企业开办", "社保转移", "不动产登记", "户口迁移", "公积金提取", "税务登记"]),
    )
    add(["所属行业", "hy"], None, lambda: g.r.choice(["制造业", "批发和零售业", "建筑业", "农、林、牧、渔业", "教育"]))
    add(["部门", "科室"], None, lambda: g.r.choice(["办公室", "人事处", "财务科", "综合科", "法规处"]))
    add(["时间", "sj", "登记时间"], None, lambda: f"{g.r.randint(0, 23):02d}:{g.r.randint(0, 59):02d}:00")
    add(["车型", "品牌"], None, lambda: g.r.choice(["小型轿车", "大型货车", "比亚迪", "长安", "吉利"]))
    add(["证照类型", "zjlx"], None, lambda: g.r.choice(["居民身份证", "护照", "港澳通行证", "营业执照"]))
    add(["文件编号", "文号"], None, lambda: f"云政发〔{g.r.randint(2015, 2024)}〕{g.r.randint(1, 120)}号")
    add(
        ["批次号", "batch"],
        None,
        (lambda start: lambda: str(start + g.r.randint(0, 800)))(6222020000000000),
        note="card-shaped batch numbers in sequence",
    )
    add(["随机码", "校验码"], None, lambda: g.digits(16), note="16 random digits (Luhn passes one in ten)")
    add(
        ["dh", "单号"],
        None,
        (lambda start: lambda: str(start + g.r.randint(0, 9000)))(18600000000),
        note="ambiguous pinyin over phone-like serials",
    )
    add(["jd"], None, lambda: g.r.choice(TOWNS), note="jd as 街道, not 经度")
    add(["zz", "资质等级"], None, lambda: g.r.choice(["一级", "二级", "三级", "甲级", "乙级"]))
    add(["年龄", "nl", "工龄"], None, lambda: str(g.r.randint(1, 99)))
    add(
        ["案件编号", "受理编号"],
        None,
        lambda: g.r.choice(REGIONS) + g.digits(11) + g.r.choice("0123456789X"),
        note="ID-shaped case numbers failing checks",
    )
    add(
        ["检查项目", "服务名称"],
        None,
        lambda: g.r.choice(["血常规", "尿常规", "胸部CT", "心电图", "营业执照办理", "签证"]),
    )
    add(["手机型号"], None, lambda: g.r.choice(["iPhone 15", "华为Mate60", "小米14", "OPPO Reno11", "vivo X100"]))
    add(["电话区号", "区号"], None, lambda: g.r.choice(["0871", "010", "020", "0755", "028"]))
    add(
        ["身份证有效期", "证件有效期止"],
        None,
        lambda: g.date_text(date(2025, 1, 1) + timedelta(days=g.r.randrange(7000))),
    )
    add(["邮箱容量"], None, lambda: f"{g.r.choice([5, 10, 50, 100])}GB")
    add(["产品名称"], None, lambda: g.r.choice(["华为手机", "联想电脑", "普洱茶", "鲜花饼", "三七粉"]))
    add(["税额", "补贴标准"], "amount", lambda: f"{g.r.uniform(10, 9999):.2f}")
    return cols
