"""Recognizers: value and name evidence, hard negatives, full scans, typed columns, and
classify_resource over the zone with its permissions (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pyarrow as pa
import pytest

from tests.classify.corpus import Gen
from tests.factories import published
from yibenzhang.catalog.schemas import ItemIn
from yibenzhang.classify.names import match_name
from yibenzhang.classify.recognizers import ACCEPT, SAMPLE, best, classify_resource, recognize_column
from yibenzhang.collect.pipeline import ingest_arrow
from yibenzhang.errors import NotFound, PermissionDenied


def top(name: str, values, **kw) -> str | None:
    m = best(recognize_column(name, values, **kw))
    return m.category if m else None


def conf(name: str, values, category: str, **kw) -> float:
    return next((m.confidence for m in recognize_column(name, values, **kw) if m.category == category), 0.0)


def test_id_numbers_pass_check_digits_and_order_numbers_do_not():
    g = Gen(1)
    ids = [g.id18() for _ in range(200)]
    matches = recognize_column("证件号码", ids)
    assert matches[0].category == "id_card" and matches[0].confidence >= 0.95
    values = matches[0].evidence["values"]
    assert values["match_rate"] == 1.0 and values["check_digit_rate"] == 1.0 and values["format_rate"] == 1.0
    # 18 digits, plausible region and date, wrong check character: not identity numbers
    typos = [g.bad_id() for _ in range(200)]
    assert top("字段1", typos) is None
    assert top("订单号", ["2024" + g.digits(14) for _ in range(200)]) is None
    # legacy 15-digit numbers and a dirty column (10 % typos) are still ID columns
    assert top("sfzh", [g.id15() for _ in range(100)]) == "id_card"
    dirty = [g.id18() if i % 10 else g.bad_id() for i in range(200)]
    assert top("col", dirty) == "id_card"


def test_evidence_has_shares_counts_and_the_name_entry_but_no_values():
    g = Gen(2)
    phones = [g.mobile() for _ in range(300)]
    m = recognize_column("申请人联系电话", phones)[0]
    assert m.category == "mobile"
    assert m.evidence["sample_size"] == 300 and m.evidence["non_empty"] == 300 and not m.evidence["full_scan"]
    assert m.evidence["values"]["match_rate"] == 1.0
    assert m.evidence["name"]["entry"] == "联系电话" and m.evidence["name"]["how"] == "contained"
    dumped = json.dumps([x.evidence for x in recognize_column("申请人联系电话", phones)], ensure_ascii=False)
    assert not any(p in dumped or p[-8:] in dumped for p in phones)


def test_strong_values_win_over_a_misleading_name_and_a_name_alone_is_moderate():
    g = Gen(3)
    assert top("姓名", [g.id18() for _ in range(100)]) == "id_card"
    assert top("电话", [g.email() for _ in range(100)]) == "email"
    assert top("登录地址", [g.ipv4() for _ in range(100)]) == "ipv4"
    assert top("备注", [g.mobile() for _ in range(100)]) == "mobile"
    # no rows: the name decides with moderate confidence; ambiguous pinyin stays below acceptance
    only_name = recognize_column("宗教信仰", [None] * 20)
    assert only_name[0].category == "religion" and ACCEPT <= only_name[0].confidence < 0.8
    assert recognize_column("xm", [])[0].confidence < ACCEPT
    # values that contradict the name halve its weight
    assert conf("手机号码", ["已核实", "无", "材料齐全"] * 20, "mobile") < ACCEPT
    # name and values together beat either alone
    ids = [g.id18() for _ in range(100)]
    assert conf("身份证号", ids, "id_card") > conf("字段", ids, "id_card")


def test_phone_like_numbers_that_are_not_phones():
    g = Gen(4)
    serials = [str(13800000000 + i * 3) for i in range(300)]
    assert top("", serials) is None and top("流水号", serials) is None and top("dh", serials) is None
    m = next(m for m in recognize_column("dh", serials) if m.category == "mobile")
    assert m.evidence["values"]["sequential"] is True
    assert top("编号", ["1" + g.r.choice("012") + g.digits(9) for _ in range(200)]) is None
    amounts_in_fen = [str(g.r.randint(100, 9_999_999_999)) for _ in range(200)]
    assert top("交易金额（分）", amounts_in_fen) == "amount"
    # full-width digits and separators are still mobiles
    wide = [g.mobile().translate(str.maketrans("0123456789", "０１２３４５６７８９")) for _ in range(50)]
    assert top("col", wide) == "mobile"
    assert top("col", [g.mobile(2) for _ in range(50)]) == "mobile"


def test_person_names_compound_surnames_but_not_places_companies_or_diagnoses():
    g = Gen(5)
    assert top("字段", [g.person() for _ in range(200)]) == "person_name"
    compound = [
        g.r.choice(["欧阳", "司马", "诸葛", "上官", "慕容", "令狐", "皇甫", "尉迟"])
        + g.r.choice("娜光亮婉复冲嵩恭")
        + g.r.choice(["", "儿", "明", "华"])
        for _ in range(100)
    ]
    assert top("col", compound) == "person_name"
    assert top("col", ["王伟", "李娜", "张敏"] * 30) is None  # three values repeated: an enumeration
    assert top("col", ["阿卜杜拉·买买提", "古丽·艾买提", "扎西·次仁"] * 10) == "person_name"
    places = ["昆明市", "大理", "丽江", "安庆", "金华", "张家口", "石家庄", "温州市", "曲靖", "高新区", "周口", "许昌"]
    assert top("col", places * 10) is None
    assert top("col", [g.company() for _ in range(100)]) == "org_name"
    assert top("col", ["高血压", "冠心病", "2型糖尿病", "肺结核", "胃溃疡"] * 20) == "health"


def test_plates_addresses_coordinates_networks_and_others():
    g = Gen(6)
    assert top("col", ["云A12345", "云AD12345", "京B·12345", "粤B12345D", "川AF1234"] * 20) == "vehicle_plate"
    assert top("col", [g.address() for _ in range(100)]) == "address"
    assert top("col", ["人民路", "北京路", "五华区太平镇", "盘龙区草铺街道"] * 20) is None
    assert top("col", [f"{g.lng():.6f},{g.lat():.6f}" for _ in range(100)]) == "coordinates"
    lngs = [f"{g.lng():.6f}" for _ in range(100)]
    assert top("经度", lngs) == "coordinates" and top("col", lngs) is None  # a single column needs its name
    assert top("col", [g.ipv6() for _ in range(100)]) == "ipv6"
    assert top("mac", [":".join(f"{g.r.randint(0, 255):02X}" for _ in range(6)) for _ in range(50)]) is None
    assert top("col", [g.passport() for _ in range(60)]) == "passport"
    assert top("col", [g.permit() for _ in range(60)]) == "hk_macau_permit"
    assert top("电表编号", [f"E{10002000 + i:08d}" for i in range(100)]) is None
    assert top("col", ["男", "女"] * 30) == "gender" and top("xb", ["1", "2"] * 30) == "gender"
    assert top("col", ["1", "2"] * 30) is None
    assert top("col", ["汉族", "彝族", "白族"] * 20) == "ethnicity"
    assert top("col", ["佛教", "无", "基督教", "伊斯兰教"] * 20) == "religion"
    assert top("罪名", ["盗窃罪", "诈骗罪"] * 20) == "criminal_record"
    assert top("人脸特征", [g.template() for _ in range(30)]) == "biometric"
    assert top("数据摘要", [g.sm3() for _ in range(30)]) is None
    assert top("驾驶证号", [g.id18() for _ in range(50)]) == "driver_license"
    assert top("col", [g.uscc() for _ in range(50)]) == "uscc"
    assert top("col", [g.amount() for _ in range(100)]) == "amount"
    assert top("身高", [f"{g.r.uniform(150, 190):.1f}" for _ in range(100)]) is None


def test_dates_of_birth_need_the_name_or_a_spread_over_decades():
    g = Gen(7)
    births = [g.date_text(g.birth()) for _ in range(200)]
    assert top("出生日期", births) == "birth_date" and top("csrq", births) == "birth_date"
    assert top("成立日期", births) is None  # a name that says otherwise
    recent = [date(2022, 1, 1 + i % 28).isoformat() for i in range(100)]
    assert top("", recent) is None and top("登记日期", recent) is None


@pytest.mark.parametrize("parallel_min", [1 << 18, 512], ids=["one-slice", "threaded-slices"])
def test_full_scan_measures_every_value(monkeypatch, parallel_min):
    from yibenzhang.classify import recognizers

    monkeypatch.setattr(recognizers, "PARALLEL_MIN", parallel_min)
    g = Gen(8)
    values = [g.id18() for _ in range(4000)]
    for i in range(1, 4000, 40):  # 100 typos
        values[i] = g.bad_id()
    sampled = recognize_column("sfzh", values)[0]
    full = recognize_column("sfzh", values, full_scan=True)[0]
    assert sampled.evidence["sample_size"] == SAMPLE and not sampled.evidence["full_scan"]
    assert full.evidence["sample_size"] == 4000 and full.evidence["full_scan"]
    assert full.evidence["values"]["match_rate"] == pytest.approx(3900 / 4000, abs=2e-4)
    assert full.category == "id_card"
    assert full.evidence["values"]["check_digit_rate"] == pytest.approx(3900 / 4000, abs=2e-4)
    # surrounding spaces are trimmed in the full scan when the sample shows them
    spaced = recognize_column("sfzh", [f" {v} " for v in values], full_scan=True)[0]
    assert spaced.evidence["values"]["match_rate"] == pytest.approx(3900 / 4000, abs=2e-4)


def test_typed_and_chunked_arrow_columns():
    born = pa.array([date(1950 + i % 60, 1 + i % 12, 1 + i % 28) for i in range(100)], type=pa.date32())
    assert top("出生日期", born) == "birth_date"
    money = pa.array([Decimal("12.50"), Decimal("3000.00"), None] * 10, type=pa.decimal128(18, 2))
    assert top("字段", money) == "amount"
    g = Gen(9)
    chunked = pa.chunked_array([[g.mobile() for _ in range(30)], [g.mobile() for _ in range(30)]])
    assert top("col", chunked) == "mobile"
    assert recognize_column("col", pa.array([None, None], type=pa.string())) == []


def test_a_registered_recognizer_takes_part(monkeypatch):
    from yibenzhang.classify import recognizers

    def card_numbers(col, ctx):  # a province's 社会保障卡 card numbers: a letter and 8 digits
        return recognizers.ValueResult(col.rate(col.matches(r"^[A-Z][0-9]{8}$")))

    monkeypatch.setitem(recognizers.VALUE_RECOGNIZERS, "social_security", card_numbers)
    monkeypatch.setitem(recognizers.BASE_CONFIDENCE, "social_security", 0.8)
    values = [f"H{10000000 + i * 7919:08d}" for i in range(100)]
    assert top("col", values) == "social_security"


def test_name_dictionary_styles():
    assert match_name("SQR_SFZH").categories == ("id_card",)
    assert match_name("applicantIdCardNo").categories == ("id_card",)
    assert match_name("company_name").categories == ("org_name",)  # the longer entry wins over "name"
    assert match_name("金额（元）").how == "exact"
    assert match_name("xm").confidence < match_name("sfzh").confidence  # xm is also 项目
    assert match_name("联系电话").categories == ("mobile", "landline")
    assert match_name("联系人电话").categories == ("mobile", "landline")  # the head noun comes last
    assert match_name("审批意见") is None


# --- classify_resource over the zone ----------------------------------------------------------------

ITEMS = [
    ItemIn(name="姓名", data_type="C", required=True),
    ItemIn(name="公民身份号码", data_type="C", required=True, is_key=True),
    ItemIn(name="出生日期", data_type="D"),
    ItemIn(name="备注", data_type="C", description="申请人填写的联系方式"),
    ItemIn(name="登记日期", data_type="D"),
    ItemIn(name="宗教信仰", data_type="C"),  # never collected: judged by its name
]


@pytest.fixture
def people(world) -> int:
    rid = published(world, items=ITEMS)
    g = Gen(10)
    n = 120
    batch = pa.record_batch(
        {
            "姓名": [g.person() for _ in range(n)],
            "公民身份号码": [g.id18() for _ in range(n)],
            "出生日期": [g.birth().isoformat() for _ in range(n)],
            "备注": [g.mobile() for _ in range(n)],
            "登记日期": [date(2023, 1 + i % 12, 1 + i % 28).isoformat() for i in range(n)],
        }
    )
    report = ingest_arrow(world.db, world.actor("police_steward"), rid, [batch], source={"kind": "test"})
    assert report.rows_accepted == n
    return rid


def test_classify_resource_samples_the_current_state(world, people):
    result = classify_resource(world.db, world.actor("police_steward"), people, sample=50)
    tops = {name: (best(ms).category if best(ms) else None) for name, ms in result.items()}
    assert tops == {
        "姓名": "person_name",
        "公民身份号码": "id_card",
        "出生日期": "birth_date",
        "备注": "mobile",
        "登记日期": None,
        "宗教信仰": "religion",
    }
    assert result["公民身份号码"][0].evidence["sample_size"] == 50
    assert "values" not in result["宗教信仰"][0].evidence  # no rows: the name alone
    full = classify_resource(world.db, world.actor("reviewer"), people, full_scan=True)
    assert full["公民身份号码"][0].evidence["sample_size"] == 120 and full["公民身份号码"][0].evidence["full_scan"]


def test_classify_resource_is_for_insiders(world, people):
    for insider in ("admin", "auditor", "reviewer"):
        assert classify_resource(world.db, world.actor(insider), people)["公民身份号码"]
    with pytest.raises(PermissionDenied):
        classify_resource(world.db, world.actor("consumer"), people)  # sees the entry, not the rows
    with pytest.raises(PermissionDenied):
        classify_resource(world.db, world.actor("other_reviewer"), people)  # another region's authority
    with pytest.raises(NotFound):
        classify_resource(world.db, world.actor("citizen"), people)  # not open: invisible


def test_id_numbers_of_the_platforms_own_province_are_recognized():
    """A fictional or new province (here 99) is configured on the platform: its ID numbers are
    valid for the recognizer too, not only for quality rules."""
    from yibenzhang.quality.validators import is_id_card

    def with_check(first17: str) -> str:
        weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
        return first17 + "10X98765432"[sum(int(c) * w for c, w in zip(first17, weights, strict=True)) % 11]

    values = [with_check(f"990101198{i % 10}0{1 + i % 9}1{i % 10}{i:03d}") for i in range(200)]
    assert all(is_id_card(v, provinces={"99"}) for v in values)
    without = {m.category: m.confidence for m in recognize_column("证件", values)}
    with_own = {m.category: m.confidence for m in recognize_column("证件", values, provinces={"99"})}
    assert with_own.get("id_card", 0) >= 0.9 > without.get("id_card", 0)
