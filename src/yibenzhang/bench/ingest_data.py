"""The ingest benchmark's data: a GB18030 CSV of 20 columns with personal data, generated with
NumPy/Arrow over whole columns (not a Python loop per row) and cached under ./.bench/."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

_join = np.char.add  # element-wise string concatenation
ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
ID_CHECK = np.array(list("10X98765432"))
REGIONS = ["530102", "530103", "530111", "530112", "530113", "530114", "530115", "530124", "530125",
           "530126", "530127", "530128", "530129", "530181", "530302", "530321", "530322", "530402",
           "530421", "530502"]
SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程")
GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红娥玲芬燕彬鹏辉")
STREETS = ["人民路", "北京路", "青年路", "东风路", "滇池路", "金碧路", "白塔路", "环城南路", "翠湖北路"]
DISTRICTS = ["五华区", "盘龙区", "官渡区", "西山区", "呈贡区", "晋宁区"]
NATIONS = ["汉族", "彝族", "白族", "哈尼族", "傣族", "壮族", "苗族", "回族"]

# (name, data type letter, required, is_key) of the 20 items.
ITEMS = [
    ("姓名", "C", True, False), ("公民身份号码", "C", True, True), ("性别", "C", False, False),
    ("出生日期", "D", False, False), ("手机号码", "C", False, False), ("固定电话", "C", False, False),
    ("住址", "C", False, False), ("户籍地址", "C", False, False), ("邮政编码", "C", False, False),
    ("民族", "C", False, False), ("婚姻状况", "C", False, False), ("文化程度", "C", False, False),
    ("工作单位", "C", False, False), ("月收入", "Y", False, False), ("登记日期", "D", False, False),
    ("登记时间", "T", False, False), ("是否在职", "L", False, False), ("家庭人口", "I", False, False),
    ("身高", "F", False, False), ("备注", "M", False, False),
]


MULTILINE_SHARE = 0.05  # rows whose 备注 holds a quoted line break
VERSION = 2  # of the generated file (cached under ./.bench/): 2 adds the quoted line breaks


def _pick(rng: np.random.Generator, choices: list[str], n: int) -> np.ndarray:
    return np.array(choices, dtype=object)[rng.integers(0, len(choices), n)]


def _cat(*parts: np.ndarray | str) -> pa.Array:
    arrays = [pa.array(p) if isinstance(p, np.ndarray) else p for p in parts]
    return pc.binary_join_element_wise(*arrays, "")


def _ids(n: int) -> tuple[np.ndarray, np.ndarray]:
    """n distinct 18-digit 身份证号 with valid check digits, and their birth dates."""
    i = np.arange(n, dtype=np.int64)
    region = np.array([int(r) for r in REGIONS])[i % len(REGIONS)]
    days = (i // len(REGIONS)) % 20000  # birth dates 1950-01-01 + days
    seq = i // (len(REGIONS) * 20000)
    birth = np.datetime64("1950-01-01") + days.astype("timedelta64[D]")
    ymd = birth.astype("datetime64[D]").astype(str)
    ymd_digits = np.char.replace(ymd, "-", "")
    body = _join(_join(region.astype(str), ymd_digits), np.char.zfill(seq.astype(str), 3))
    digits = np.frombuffer(body.astype("S17").tobytes(), dtype=np.uint8).reshape(n, 17) - 48
    check = ID_CHECK[(digits @ ID_WEIGHTS) % 11]
    return _join(body, check), ymd


def generate(path: Path, rows: int, seed: int = 7) -> Path:
    """Write the benchmark CSV in GB18030 (plus an UTF-8 twin for the DuckDB baseline)."""
    rng = np.random.default_rng(seed)
    n = rows
    ids, ymd = _ids(n)
    order = rng.permutation(n)
    ids, ymd = ids[order], ymd[order]
    names = _cat(_pick(rng, SURNAMES, n), _pick(rng, GIVEN, n), _pick(rng, GIVEN + [""] * 10, n))
    # birth date in the usual Chinese forms
    y, m, d = ymd.astype("U4"), np.char.lstrip(np.char.partition(ymd, "-")[:, 2].astype("U2"), "0"), \
        np.char.lstrip(np.array([s[8:] for s in ymd[:0]] or np.char.rpartition(ymd, "-")[:, 2]), "0")
    forms = rng.integers(0, 4, n)
    births = np.where(forms == 0, ymd, np.where(forms == 1, _join(_join(_join(y, "/"), m),
                      _join("/", d)), np.where(forms == 2, _join(_join(_join(y, "年"), m),
                      _join(_join("月", d), "日")), np.char.replace(ymd, "-", ""))))
    phones = _join(_pick(rng, ["138", "139", "150", "186", "177", "199"], n).astype(str),
                         np.char.zfill(rng.integers(0, 10**8, n).astype(str), 8))
    landline = _join("0871-", rng.integers(60000000, 69999999, n).astype(str))
    addr = _cat("云岭省春城市", _pick(rng, DISTRICTS, n), _pick(rng, STREETS, n),
                rng.integers(1, 999, n).astype(str), "号")
    income_v = rng.integers(1500, 90000, n)
    income = np.where(rng.random(n) < 0.5, _join("¥", np.char.mod("%d", income_v)),
                      _join(np.char.mod("%d", income_v), ".00"))
    income = np.where(income_v > 9999, _join(_join(np.char.mod("%d", income_v // 1000), ","),
                      np.char.zfill(np.char.mod("%d", income_v % 1000), 3)), income)
    reg_days = np.datetime64("2015-01-01") + rng.integers(0, 3000, n).astype("timedelta64[D]")
    reg = reg_days.astype(str)
    reg = np.where(rng.random(n) < 0.5, reg, np.char.replace(reg, "-", "/"))
    reg_time = _join(_join(reg_days.astype(str), " "), _join(
        np.char.zfill(rng.integers(0, 24, n).astype(str), 2), ":30:00"))
    table = pa.table({
        "姓名": names, "公民身份号码": ids, "性别": _pick(rng, ["男", "女"], n), "出生日期": births,
        "手机号码": phones, "固定电话": landline, "住址": addr, "户籍地址": addr,
        "邮政编码": np.char.zfill(rng.integers(650000, 659999, n).astype(str), 6),
        "民族": _pick(rng, NATIONS, n), "婚姻状况": _pick(rng, ["未婚", "已婚", "离婚", "丧偶"], n),
        "文化程度": _pick(rng, ["小学", "初中", "高中", "大专", "本科", "研究生"], n),
        "工作单位": _cat("春城市", _pick(rng, ["第一", "第二", "第三"], n), "中学"),
        "月收入": income, "登记日期": reg, "登记时间": reg_time,
        "是否在职": _pick(rng, ["是", "否", "Y", "N"], n), "家庭人口": rng.integers(1, 9, n).astype(str),
        "身高": np.char.mod("%.1f", rng.normal(165, 8, n)), "备注": _pick(rng, ["", "无", "䶮字备注"], n),
    })
    # Quoted line breaks in 5 % of the rows, as Excel writes a cell with Alt+Enter (issue 15).
    notes = table["备注"].to_numpy(False)
    multi = rng.random(n) < MULTILINE_SHARE
    table = table.set_column(19, "备注", pa.array(np.where(multi, _join(_join("第一行", "\r\n"), notes.astype(str)),
                                                          notes)))
    # A few deliberately invalid values (about 0.1 %): impossible dates and non-numbers.
    bad = rng.random(n) < 0.0005
    table = table.set_column(3, "出生日期", pa.array(np.where(bad, "2023-13-45", births)))
    bad2 = rng.random(n) < 0.0005
    table = table.set_column(17, "家庭人口", pa.array(np.where(bad2, "三口", table["家庭人口"].to_numpy(False))))
    path.parent.mkdir(parents=True, exist_ok=True)
    utf8 = path.with_suffix(".utf8.csv")
    pacsv.write_csv(table, utf8, pacsv.WriteOptions(quoting_style="needed"))
    with open(utf8, "rb") as src, open(path, "wb") as dst:
        while chunk := src.read(1 << 24):
            cut = chunk.rfind(b"\n") + 1 if len(chunk) == 1 << 24 else len(chunk)
            rest = chunk[cut:]
            dst.write(chunk[:cut].decode("utf-8").encode("gb18030"))
            if rest:
                src.seek(-len(rest), 1)
    return path
