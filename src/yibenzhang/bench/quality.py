"""`ybz bench quality`: 33 quality rules over 1,000,000 rows in one statement.

The rows have the ingest benchmark's 20-column personal-data shape (names, distinct 身份证号
with some invalid and a few duplicated, phones, a 统一社会信用代码, bank cards, a division code,
dates — one kept as text to exercise the date-format rule — amounts, enumerations), typed as in
the zone, generated with DuckDB SQL (no Python per row) into ./.bench/quality_<rows>.parquet.

Timed (median of runs): `quality.evaluate.evaluate` over the Parquet file — not-null, lengths,
enumerations, formats with check digits (GB 11643, GB 32100, Luhn), phones, e-mail, division,
date text, ranges, a regular expression and uniqueness — on a connection configured as the zone
engine's, so the formats run as the native extension (zone.native) when it builds here; the
result says which path ran. Baseline in the same run: a plain DuckDB
scan reading the same columns (one trivial predicate per column). Goal: < 1 s at full scale.

With the optional `bench` extra (great_expectations) the same rules run as a Great Expectations
suite over the same rows in pandas, timed in the same run (median of at most 2: it is slow), with
each rule's failing-row count compared with ours. Without it the result says so.
"""

from __future__ import annotations

import importlib.util
import time
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb

from ..codes import USCC_ALPHABET
from ..quality.evaluate import evaluate
from ..quality.rules import Rule, catalogue_rules
from ..quality.validators import (
    DATE_TEXT_RE,
    EMAIL_RE,
    ID_CHECK,
    ID_WEIGHTS,
    LANDLINE_RE,
    MOBILE_RE,
    USCC_WEIGHTS,
)
from ..zone import native
from . import median_time

FULL_ROWS = 1_000_000
BASE_ROWS = FULL_ROWS  # `ybz bench quality --rows N` means scale N / BASE_ROWS
GOAL_S = 1.0
CACHE_DIR = Path(".bench")
CACHE_VERSION = 1
TODAY = date(2026, 1, 1)  # fixed, so results do not drift with the calendar

REGIONS = ["530102", "530103", "530111", "530112", "530113", "530114", "530115", "530124", "530125",
           "530126", "530127", "530128", "530129", "530181", "530302", "530321", "530322", "530402",
           "530421", "530502"]
ENUMS = {
    "性别": ["男", "女"], "民族": ["汉族", "彝族", "白族", "哈尼族", "傣族", "壮族", "苗族", "回族"],
    "婚姻状况": ["未婚", "已婚", "离婚", "丧偶"], "文化程度": ["小学", "初中", "高中", "大专", "本科", "研究生"],
}

# (name, type letter, length, required, key, format field) — the catalogue of the bench resource.
ITEMS: list[tuple[str, str, int | None, bool, bool, str | None]] = [
    ("姓名", "C", 50, True, False, None), ("公民身份号码", "C", 18, True, True, None),
    ("性别", "C", None, True, False, None), ("出生日期", "D", None, True, False, None),
    ("手机号码", "C", None, True, False, None), ("固定电话", "C", None, False, False, None),
    ("住址", "C", 200, True, False, None), ("邮政编码", "C", 6, False, False, None),
    ("民族", "C", None, False, False, None), ("婚姻状况", "C", None, False, False, None),
    ("文化程度", "C", None, False, False, None), ("工作单位", "C", 100, False, False, None),
    ("单位统一社会信用代码", "C", None, False, False, None), ("银行卡号", "C", None, False, False, None),
    ("行政区划代码", "C", None, True, False, None), ("月收入", "Y", None, False, False, None),
    ("登记日期", "C", None, True, False, "YYYY-MM-DD"), ("登记时间", "T", None, False, False, None),
    ("家庭人口", "I", None, False, False, None), ("电子邮箱", "C", 100, False, False, None),
]


def _digit_sum(v: str, weights: tuple[int, ...]) -> str:
    return " + ".join(f"(ascii(substr({v}, {i + 1}, 1)) - 48) * {w}" for i, w in enumerate(weights))


def _luhn_check(body: str, n: int) -> str:
    """SQL for the Luhn check digit of an n-digit body (the body's last digit gets doubled)."""
    terms = []
    for k in range(n):  # k-th digit from the right of the body: position k+2 of the full number
        d = f"(ascii(substr({body}, {n - k}, 1)) - 48)"
        terms.append(f"((2 * {d}) % 10 + (2 * {d}) // 10)" if k % 2 == 0 else d)
    return f"CAST((10 - ({' + '.join(terms)}) % 10) % 10 AS VARCHAR)"


def _pick(values: list[str], h: str) -> str:
    return f"([{', '.join(repr(v) for v in values)}])[CAST(1 + ({h}) % {len(values)} AS BIGINT)]"


def generate(path: Path, rows: int) -> Path:
    uscc_chars = " || ".join(f"substr('{USCC_ALPHABET}', 1 + CAST((h2 >> {5 * k}) % 31 AS INTEGER), 1)"
                             for k in range(9))
    uscc_sum = " + ".join(f"(strpos('{USCC_ALPHABET}', substr(ub, {i + 1}, 1)) - 1) * {w}"
                          for i, w in enumerate(USCC_WEIGHTS))
    surnames = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程")
    given = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红娥玲芬燕彬鹏辉")
    sql = f"""
    COPY (
    WITH base AS (
        SELECT i, CASE WHEN i % 10007 = 5 THEN i - 1 ELSE i END AS k,  -- a few duplicated identities
               CAST(hash(i) >> 1 AS BIGINT) AS h1, CAST(hash(i + 9876543) >> 1 AS BIGINT) AS h2 FROM range({rows}) t(i)
    ), ids AS (
        SELECT *, {_pick(REGIONS, 'k')} AS region,
               DATE '1950-01-01' + CAST((k // 20) % 20000 AS INTEGER) AS born,
               lpad(CAST(k // 400000 AS VARCHAR), 3, '0') AS seq
        FROM base
    ), bodies AS (
        SELECT *, region || strftime(born, '%Y%m%d') || seq AS body,
               '91' || '530100' || {uscc_chars} AS ub,
               '622202' || lpad(CAST(h2 % 1000000000 AS VARCHAR), 9, '0') AS cb
        FROM ids
    )
    SELECT i + 1 AS _row,
        CASE WHEN h1 % 2000 = 0 THEN NULL ELSE {_pick(surnames, 'h1 >> 8')} || {_pick(given, 'h1 >> 16')} END
            AS "姓名",
        CASE WHEN h1 % 1000 = 1 THEN body || 'Y'  -- bad check character
             ELSE body || substr('{ID_CHECK}', (({_digit_sum('body', ID_WEIGHTS)}) % 11) + 1, 1) END AS "公民身份号码",
        CASE WHEN h2 % 5000 = 0 THEN '未知' ELSE {_pick(ENUMS['性别'], 'h2 >> 3')} END AS "性别",
        CASE WHEN h2 % 4000 = 1 THEN DATE '2030-01-01' ELSE born END AS "出生日期",
        CASE WHEN h1 % 1500 = 2 THEN '12' || lpad(CAST(h1 % 1000000000 AS VARCHAR), 9, '0')
             ELSE '1' || {_pick(['38', '39', '50', '86', '77', '99'], 'h1 >> 4')}
                  || lpad(CAST((h1 >> 20) % 100000000 AS VARCHAR), 8, '0') END AS "手机号码",
        '0871-' || CAST(6000000 + (h2 >> 7) % 3000000 AS VARCHAR) AS "固定电话",
        '云岭省春城市' || {_pick(['五华区', '盘龙区', '官渡区', '西山区'], 'h2 >> 9')}
            || {_pick(['人民路', '北京路', '青年路', '东风路'], 'h2 >> 11')} || CAST(h1 % 999 AS VARCHAR) || '号'
            AS "住址",
        CAST(650000 + h2 % 9999 AS VARCHAR) AS "邮政编码",
        {_pick(ENUMS['民族'], 'h2 >> 13')} AS "民族",
        {_pick(ENUMS['婚姻状况'], 'h2 >> 15')} AS "婚姻状况",
        {_pick(ENUMS['文化程度'], 'h2 >> 17')} AS "文化程度",
        '春城市' || {_pick(['第一', '第二', '第三'], 'h2 >> 19')} || '中学' AS "工作单位",
        CASE WHEN h2 % 3000 = 3 THEN ub || '0'
             ELSE ub || substr('{USCC_ALPHABET}', ((31 - (({uscc_sum}) % 31)) % 31) + 1, 1) END
            AS "单位统一社会信用代码",
        CASE WHEN h1 % 2500 = 4 THEN cb || '9' ELSE cb || {_luhn_check('cb', 15)} END AS "银行卡号",
        CASE WHEN h1 % 3000 = 5 THEN '000000' ELSE region END AS "行政区划代码",
        CAST(1500 + (h2 >> 21) % 88500 AS DOUBLE) AS "月收入",
        CASE WHEN h2 % 2000 = 6 THEN '2023-13-45'
             WHEN h2 % 2 = 0 THEN strftime(DATE '2015-01-01' + CAST((h2 >> 23) % 3000 AS INTEGER), '%Y-%m-%d')
             ELSE strftime(DATE '2015-01-01' + CAST((h2 >> 23) % 3000 AS INTEGER), '%Y/%m/%d') END AS "登记日期",
        TIMESTAMP '2015-01-01 08:00:00' + to_seconds(CAST((h1 >> 25) % 94608000 AS BIGINT)) AS "登记时间",
        CAST(1 + (h1 >> 27) % 8 AS INTEGER) AS "家庭人口",
        CASE WHEN h1 % 4000 = 7 THEN 'u' || i || '@example' ELSE 'u' || i || '@example.com.cn' END AS "电子邮箱"
    FROM bodies
    ) TO '{path}' (FORMAT parquet, COMPRESSION zstd)
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    con = duckdb.connect()
    try:
        con.execute(sql.replace(f"TO '{path}'", f"TO '{tmp}'"))
    finally:
        con.close()
    tmp.replace(path)
    return path


def bench_rules() -> list[Rule]:
    items = [{"name": n, "data_type": t, "length": length, "required": req, "is_key": key,
              "enumeration": ENUMS.get(n), "format": fmt} for n, t, length, req, key, fmt in ITEMS]
    steward = [
        Rule("steward:月收入", "range", ("月收入",), {"min": 0, "max": 1_000_000}, types=("Y",)),
        Rule("steward:家庭人口", "range", ("家庭人口",), {"min": 1, "max": 20}, types=("I",)),
        Rule("steward:出生日期", "range", ("出生日期",), {"min": "1900-01-01", "max": TODAY.isoformat()},
             types=("D",)),
        Rule("steward:登记时间", "range", ("登记时间",), {"min": "2000-01-01T00:00:00"}, types=("T",)),
        Rule("steward:邮政编码", "regex", ("邮政编码",), {"pattern": "[1-8][0-9]{5}"}, types=("C",)),
        Rule("steward:手机号码", "unique", ("手机号码",), {}, dimension="唯一性", types=("C",)),
    ]
    return catalogue_rules(items) + steward




# Regular expressions standing in for our formats in Great Expectations: it has no check-digit
# expectation (GB 11643 MOD 11-2, GB 32100 MOD 31, Luhn) nor calendar validation of date text, so
# those rules are weaker there — the comparison is generous to it.
GX_FORMAT_REGEX = {
    "id_card": r"^([0-9]{6}(18|19|20)[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9]|3[01])[0-9]{3}[0-9X]|[0-9]{15})$",
    "uscc": r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$",
    "bank_card": r"^[0-9]{12,19}$",
    "mobile": rf"^{MOBILE_RE}$",
    "phone": rf"^({MOBILE_RE}|{LANDLINE_RE})$",
    "email": rf"^{EMAIL_RE}$",
    "division": r"^[0-9]{6}$",
    "date_text": rf"^({DATE_TEXT_RE})$",
}
GX_EXACT = ("not_null", "length", "enum", "range", "regex", "unique")  # same semantics as ours


def gx_expectations(gx: Any, rules: list[Rule]) -> list[tuple[str, Any]]:
    """(rule key, expectation) for each rule; a text not-null rule needs two (NULL, blank)."""
    E = gx.expectations
    out: list[tuple[str, Any]] = []
    for rule in rules:
        col, p, letter = rule.items[0], rule.params, (rule.types[0] if rule.types else "C")
        if rule.kind == "not_null":
            out.append((rule.key, E.ExpectColumnValuesToNotBeNull(column=col)))
            if letter in ("C", "M"):
                out.append((rule.key, E.ExpectColumnValuesToNotMatchRegex(column=col, regex=r"^ *$")))
        elif rule.kind == "length":
            out.append((rule.key, E.ExpectColumnValueLengthsToBeBetween(column=col, max_value=int(p["max"]))))
        elif rule.kind == "enum":
            out.append((rule.key, E.ExpectColumnValuesToBeInSet(column=col, value_set=list(p["values"]))))
        elif rule.kind == "format":
            out.append((rule.key, E.ExpectColumnValuesToMatchRegex(column=col, regex=GX_FORMAT_REGEX[p["format"]])))
        elif rule.kind == "regex":
            out.append((rule.key, E.ExpectColumnValuesToMatchRegex(column=col, regex=f"^({p['pattern']})$")))
        elif rule.kind == "range":
            lo, hi = p.get("min"), p.get("max")
            if letter == "D":
                lo, hi = (date.fromisoformat(x) if x else None for x in (lo, hi))
            elif letter == "T":
                lo, hi = (datetime.fromisoformat(x) if x else None for x in (lo, hi))
            out.append((rule.key, E.ExpectColumnValuesToBeBetween(column=col, min_value=lo, max_value=hi)))
        elif rule.kind == "unique" and len(rule.items) == 1:
            out.append((rule.key, E.ExpectColumnValuesToBeUnique(column=col)))
        elif rule.kind == "unique":
            out.append((rule.key, E.ExpectCompoundColumnsToBeUnique(column_list=list(rule.items))))
        else:
            raise ValueError(f"no expectation for {rule.kind}")
    return out


def _great_expectations(path: Path, rules: list[Rule], runs: int, ours: dict[str, int]) -> dict[str, Any]:
    """The same rules as a Great Expectations suite over the same rows in pandas (ephemeral
    context), timed like ours; the rows are loaded into the DataFrame before the clock starts."""
    if importlib.util.find_spec("great_expectations") is None:
        return {"installed": False, "note": "great_expectations is not installed (pip install "
                "'yibenzhang[bench]'); only our figures are reported"}
    import great_expectations as gx
    import pandas as pd
    from great_expectations.data_context.types.base import ProgressBarsConfig

    started = time.perf_counter()
    df = pd.read_parquet(path)
    load_s = time.perf_counter() - started
    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch = ctx.data_sources.add_pandas("bench").add_dataframe_asset("rows").add_batch_definition_whole_dataframe("all")
    pairs = gx_expectations(gx, rules)
    for key, expectation in pairs:
        expectation.meta = {"rule": key}  # results come back in another order
    suite = ctx.suites.add(gx.ExpectationSuite(name="bench", expectations=[e for _, e in pairs]))
    validation = ctx.validation_definitions.add(gx.ValidationDefinition(name="bench", data=batch, suite=suite))
    median_s, result = median_time(lambda: validation.run(batch_parameters={"dataframe": df}), runs)
    failed: dict[str, int] = {}
    errors = []
    for res in result.results:
        key = res.expectation_config.meta["rule"]
        if res.exception_info.get("raised_exception"):
            errors.append(key)
        failed[key] = failed.get(key, 0) + int(res.result.get("unexpected_count") or 0)
    exact = {r.key for r in rules if r.kind in GX_EXACT}
    differ = {k: {"ours": ours.get(k, 0), "gx": n} for k, n in failed.items() if n != ours.get(k, 0)}
    return {"installed": True, "version": gx.__version__, "expectations": len(pairs), "runs": runs,
            "median_s": round(median_s, 3), "load_dataframe_s": round(load_s, 2), "errors": errors,
            "same_failures": sum(1 for k in failed if k not in differ),
            "differ": differ, "differ_where_semantics_match": sorted(set(differ) & exact),
            "note": "check digits, date validity and province prefixes have no built-in expectation: "
                    "regular expressions stand in for them, so those rules fail fewer rows in Great "
                    "Expectations; its time excludes loading the DataFrame, ours includes reading Parquet"}


def run(runs: int = 3, scale: float = 1.0) -> dict[str, Any]:
    rows = max(1000, int(FULL_ROWS * scale))
    path = CACHE_DIR / f"quality_v{CACHE_VERSION}_{rows}.parquet"
    generated = not path.exists()
    gen_s = 0.0
    if generated:
        started = time.perf_counter()
        generate(path, rows)
        gen_s = time.perf_counter() - started
    relation = f"read_parquet('{path}')"
    rules = bench_rules()
    # A real scan of the same columns: count(col) alone is answered from Parquet statistics.
    columns = ", ".join(f'count_if("{n}" IS NOT DISTINCT FROM "{n}")' for n, *_ in ITEMS)
    native.build()  # as `ybz init` does: the verified native checks, when a compiler is here
    con = native.connect()  # as quality's own connections
    try:
        con.execute(f"SELECT count(*) FROM {relation}").fetchall()  # warm the file cache
        # …and the process: the first kernel call imports pyarrow.compute (about a second, once).
        evaluate(con, f"(SELECT * FROM {relation} LIMIT 2048)", rules, today=TODAY)
        scan_s, _ = median_time(lambda: con.execute(f"SELECT count(*), {columns} FROM {relation}").fetchall(), runs)
        ours_s, ev = median_time(lambda: evaluate(con, relation, rules, today=TODAY), runs)
    finally:
        con.close()
    failing = {r.rule.key: r.failed for r in ev.results if r.failed}
    gx = _great_expectations(path, rules, max(1, min(runs, 2)), {r.rule.key: r.failed for r in ev.results})
    out: dict[str, Any] = {
        "benchmark": "quality", "rows": ev.rows, "rules": len(rules), "columns": len(ITEMS),
        "runs": runs, "generated": generated, "generate_s": round(gen_s, 2),
        "evaluate_median_s": round(ours_s, 3), "rows_per_s": round(ev.rows / ours_s),
        "baseline_scan_median_s": round(scan_s, 3), "ratio_to_scan": round(ours_s / scan_s, 2),
        "goal_s": GOAL_S, "goal_met": ours_s < GOAL_S if rows >= FULL_ROWS else None,
        "format_checks": "native" if "ybz_native_" in ev.sql else "python kernels",
        "failing_rules": failing, "great_expectations": gx,
    }
    if gx.get("installed") and gx.get("median_s"):
        out["gx_ratio"] = round(gx["median_s"] / ours_s, 1)
    return out
