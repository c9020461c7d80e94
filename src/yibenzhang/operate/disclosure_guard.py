"""Which sandbox outputs may leave (原始数据不出域、数据可用不可见), decided before the run.

Two shapes leave; everything else is refused with a reason code. What each value may do is
decided on column lineage (`lineage.analyse`), not on names; the structural checks here are a
second wall (default deny).

1. Aggregated output (聚合). The outermost SELECT groups (GROUP BY, or aggregates only) over ONE
   row source: a resource view, or a CTE / subquery chain that only filters and derives columns
   from one view (no joins, grouping, DISTINCT, LIMIT, windows or subqueries inside it).
   The query is rewritten to also compute, per group, `COUNT(*)`, each GROUP BY expression,
   the two largest contributions and the total of each SUM / AVG / … over a protected item (for
   the N–K dominance rule), and its HAVING condition; HAVING, LIMIT and OFFSET are applied only
   after suppression has seen every group (`sandbox._release`). Aggregate arguments are uniform
   (columns, literals, + − ×, CAST): no CASE, IF, comparisons, FILTER, division or functions.
2. Row-level output (行级). A SELECT of plain columns (or *) from ONE view, filtered and ordered by
   clear items only; every output item is one the 运营结果 policy releases in clear — never a
   protected item, a pseudonym or a derived attribute. Items graded 核心 / 重要 are refused
   earlier (sql_guard), anywhere in the query.

Small-group differencing. Each released aggregate keeps a fingerprint: the view, its GROUP BY
expressions, its WHERE conjuncts after boolean simplification and the count per released cell.
A new aggregate with the same view and grouping is compared with every earlier released one of
the same authorization; when their row sets are nested — one conjunct set contains the other,
or they differ in one condition on the same expression whose rows contain the other's (ranges,
BETWEEN, value sets) — each cell whose count differs by 1 … k−1 is suppressed.

Limits (not caught): predicates on clear items that are nested only semantically (LIKE,
functions, two conditions changed at once); differencing across groupings (`GROUP BY a` vs
the total), across authorizations or operators. They bound what can be learnt about clear
attributes and about sums of protected numbers over few rows, never an identifier (which is a
per-run pseudonym and can only be counted); closing them needs the privacy budget (noise).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.simplify import simplify

from ..crypto import canonical_json, sm3_hex
from . import lineage
from .sql_guard import HIDDEN_PREFIX, Checked, Refusal, View

COUNT_COLUMN = f"{HIDDEN_PREFIX}_n"
GROUP_COLUMN = f"{HIDDEN_PREFIX}_g"
TOP_COLUMN = f"{HIDDEN_PREFIX}_top"
TOTAL_COLUMN = f"{HIDDEN_PREFIX}_tot"
HAVING_COLUMN = f"{HIDDEN_PREFIX}_h"

SAFE_AGGREGATES = frozenset({"Count", "Sum", "Avg", "Stddev", "StddevSamp", "StddevPop", "Variance",
                             "VariancePop", "ApproxDistinct", "Corr", "CovarSamp", "CovarPop"})
MEMBER_AGGREGATES = frozenset({"Min", "Max", "Median", "Quantile", "PercentileCont", "PercentileDisc",
                               "AnyValue", "First", "Last", "ArgMax", "ArgMin", "Mode"})
UNIFORM_NODES: tuple[type[exp.Expression], ...] = (
    exp.Column, exp.Identifier, exp.Literal, exp.Star, exp.Distinct, exp.Paren, exp.Add, exp.Sub, exp.Mul,
    exp.Neg, exp.Cast, exp.DataType, exp.DataTypeParam, exp.Null,
)


@dataclass(frozen=True)
class ItemRule:
    """How the 运营结果 policy treats one item: may it leave row-level, and in clear?"""

    denied: bool
    clear: bool


@dataclass
class Plan:
    kind: str  # "聚合" or "行级"
    sql: str  # what runs
    view: View
    output_items: list[str] = field(default_factory=list)  # row-level: the item behind each output column
    base: str | None = None  # aggregate: digest of the view and grouping
    predicates: list[str] = field(default_factory=list)
    group_count: int = 0  # aggregate: number of hidden group columns
    magnitude_count: int = 0  # aggregate: SUM / AVG / … over protected items (dominance columns)
    value_columns: list[str] = field(default_factory=list)  # aggregate: outputs a suppression blanks
    having: bool = False  # aggregate: the HAVING condition is the hidden column HAVING_COLUMN
    limit: int | None = None  # aggregate: applied after suppression
    offset: int | None = None


def _refuse_shape(detail: str) -> Refusal:
    return Refusal("release_shape", "该查询结果无法放行：{detail}", detail=detail)


def _parts(select: exp.Select, *skip: str) -> list[exp.Expression]:
    """Every argument of `select` except the named ones (e.g. its FROM, its WITH)."""
    out: list[exp.Expression] = []
    for key, value in select.args.items():
        if key in skip or value is None:
            continue
        out.extend(v for v in (value if isinstance(value, list) else [value]) if isinstance(v, exp.Expression))
    return out


def _has(nodes: list[exp.Expression], *kinds: type[exp.Expression]) -> bool:
    return any(n.find(*kinds) is not None for n in nodes)


def _uniform(node: exp.Expression) -> bool:
    return all(isinstance(n, UNIFORM_NODES) for n in node.walk())


def _cte(tree: exp.Expression, name: str) -> exp.Expression | None:
    for cte in tree.find_all(exp.CTE):
        if cte.alias.lower() == name:
            return cte.this
    return None


def _chain(tree: exp.Expression, root: exp.Select, views: dict[str, View]) -> tuple[View, list[exp.Select]]:
    """The one view `root` reads and the filtering/deriving selects between them (innermost last)."""
    chain: list[exp.Select] = []
    select = root
    while True:
        if len(chain) > 16 or any(select is c for c in chain[:-1]):  # a CTE naming itself
            raise _refuse_shape("数据来源必须是单个信息资源视图或对其筛选的子查询")
        if select.args.get("joins"):
            raise Refusal("release_join", "聚合结果只能来自单个信息资源，不支持连接（JOIN）")
        source = select.args["from_"].this if select.args.get("from_") else None
        if isinstance(source, exp.Table):
            name = source.name.lower()
            if name in views and _cte(tree, name) is None:
                return views[name], chain
            inner = _cte(tree, name)
        elif isinstance(source, exp.Subquery):
            inner = source.this
        else:
            inner = None
        if not isinstance(inner, exp.Select):
            raise _refuse_shape("数据来源必须是单个信息资源视图或对其筛选的子查询")
        _row_source(inner)
        chain.append(inner)
        select = inner


def _row_source(select: exp.Select) -> None:
    for key in ("group", "having", "qualify", "distinct", "limit", "offset", "joins"):
        if select.args.get(key):
            raise _refuse_shape("子查询只能筛选和派生列，不能分组、去重、限制行数或连接")
    parts = _parts(select, "from_", "with_")
    if _has(parts, exp.AggFunc, exp.Window):
        raise _refuse_shape("子查询中不能使用聚合或窗口函数")
    if _has(parts, exp.Subquery, exp.Select):
        raise _refuse_shape("不允许在筛选条件或列中嵌套子查询")


def _conjuncts(where: exp.Expression | None) -> list[exp.Expression]:
    """The conjuncts of a WHERE after sqlglot's boolean simplification, so that `(a OR false)`,
    `a AND true`, `NOT NOT a` or `NOT (b = 1)` compare as `a` and `b <> 1`."""
    if where is None:
        return []
    cond = where.this if isinstance(where, exp.Where) else where
    with contextlib.suppress(SqlglotError, RecursionError):
        cond = simplify(cond.copy())
    return list(cond.flatten()) if isinstance(cond, exp.And) else [cond]


def _norm(node: exp.Expression) -> str:
    while isinstance(node, exp.Paren):
        node = node.this
    return node.sql(dialect="duckdb", normalize=True, comments=False)


def _check_aggregates(root: exp.Select) -> None:
    """Structural wall before the lineage rules: aggregate arguments are uniform (no condition,
    comparison, division or function that could single a row out of a large group)."""
    for agg in root.find_all(exp.AggFunc):
        if type(agg).__name__ not in SAFE_AGGREGATES | MEMBER_AGGREGATES:
            raise Refusal("release_aggregate_forbidden", "聚合函数“{function}”会输出原始值，不予放行",
                          function=agg.sql_name())
        for arg in (a for a in agg.args.values() if isinstance(a, exp.Expression)):
            if not _uniform(arg):
                raise Refusal("release_aggregate_argument", "聚合函数的参数只能是列、常量和加减乘运算，"
                              "不能含条件、比较、除法或函数：{expr}", expr=_norm(arg)[:200])


def _group_expressions(root: exp.Select) -> list[exp.Expression]:
    group = root.args.get("group")
    if group is None:
        return []
    aliases = {e.alias.lower(): e.this for e in root.expressions if isinstance(e, exp.Alias)}
    if group.args.get("all"):
        return [e.this if isinstance(e, exp.Alias) else e for e in root.expressions if e.find(exp.AggFunc) is None]
    out: list[exp.Expression] = []
    for g in group.expressions:
        if isinstance(g, exp.Literal) and g.is_int:  # GROUP BY 2: the second output column
            pick = root.expressions[int(g.this) - 1]
            out.append(pick.this if isinstance(pick, exp.Alias) else pick)
        elif isinstance(g, exp.Column) and not g.table and g.name.lower() in aliases:
            out.append(aliases[g.name.lower()])
        else:
            out.append(g)
    if any(isinstance(g, exp.Cube | exp.Rollup | exp.GroupingSets) for g in out):
        raise _refuse_shape("不支持 CUBE、ROLLUP 和 GROUPING SETS")
    return out


def _aggregate_plan(checked: Checked, root: exp.Select, views: dict[str, View],
                    all_rules: dict[str, dict[str, ItemRule]]) -> Plan:
    view, chain = _chain(checked.tree, root, views)
    parts = _parts(root, "from_", "with_")
    if _has(parts, exp.Window):
        raise _refuse_shape("聚合查询的外层不能使用窗口函数")
    if _has(parts, exp.Subquery, exp.Select):
        raise _refuse_shape("不允许在筛选条件或列中嵌套子查询")
    if _has(list(root.expressions), exp.Filter):
        raise Refusal("release_aggregate_argument", "聚合函数的参数只能是列、常量和加减乘运算，"
                      "不能含条件、比较、除法或函数：{expr}", expr="FILTER")
    _check_aggregates(root)
    analysis = lineage.analyse(checked.tree, {view.name: view})
    try:
        groups = _group_expressions(root)
    except IndexError as err:
        raise _refuse_shape("GROUP BY 的序号超出输出列") from err
    rewritten = checked.tree.copy()
    outer = rewritten if isinstance(rewritten, exp.Select) else None
    assert outer is not None
    hidden = [exp.alias_(exp.Count(this=exp.Star()), COUNT_COLUMN, quoted=True)]
    hidden += [exp.alias_(g.copy(), f"{GROUP_COLUMN}{i}", quoted=True) for i, g in enumerate(groups)]
    aggs = lineage.root_aggregates(outer)
    for i, pos in enumerate(analysis.magnitudes):
        # the two largest contributions and the total of their magnitudes, for the N–K rule
        arg = exp.Abs(this=exp.Cast(this=aggs[pos].this.copy(), to=exp.DataType.build("DOUBLE")))
        hidden.append(exp.alias_(exp.Max(this=arg, expressions=[exp.Literal.number(2)]),
                                 f"{TOP_COLUMN}{i}", quoted=True))
        hidden.append(exp.alias_(exp.Sum(this=arg.copy()), f"{TOTAL_COLUMN}{i}", quoted=True))
    value_columns = [e.alias_or_name for e in root.expressions if e.find(exp.AggFunc) is not None]
    # HAVING, LIMIT and OFFSET leave groups out, and the total minus the groups shown would give a
    # left-out small group back: every group is computed, suppression decides over all of them,
    # and the groups the query left out are dropped only afterwards
    having = outer.args.get("having")
    if having is not None:
        outer.set("having", None)
        hidden.append(exp.alias_(exp.Paren(this=having.this.copy()), HAVING_COLUMN, quoted=True))
    window = []
    for key in ("limit", "offset"):
        node = outer.args.get(key)
        if node is None:
            window.append(None)
            continue
        value = node.expression if isinstance(node, exp.Limit | exp.Offset) else node
        if not (isinstance(value, exp.Literal) and value.is_int):
            raise _refuse_shape("LIMIT 和 OFFSET 只能是整数常量")
        window.append(int(value.this))
        outer.set(key, None)
    outer.select(*hidden, copy=False)
    predicates = sorted({_norm(c) for s in [root, *chain] for c in _conjuncts(s.args.get("where"))})
    base = sm3_hex(canonical_json({"view": view.name, "groups": [_norm(g) for g in groups]}))
    return Plan(kind="聚合", sql=rewritten.sql(dialect="duckdb", comments=False), view=view, base=base,
                predicates=predicates, group_count=len(groups), magnitude_count=len(analysis.magnitudes),
                value_columns=value_columns, having=having is not None, limit=window[0], offset=window[1])


def _rows_plan(checked: Checked, root: exp.Select, views: dict[str, View],
               all_rules: dict[str, dict[str, ItemRule]]) -> Plan:
    if root.args.get("joins"):
        raise Refusal("release_join", "行级结果只能来自单个信息资源，不支持连接（JOIN）")
    source = root.args["from_"].this if root.args.get("from_") else None
    name = source.name.lower() if isinstance(source, exp.Table) else ""
    if name not in views or _cte(checked.tree, name) is not None:
        raise _refuse_shape("行级结果必须直接读取单个信息资源视图")
    view = views[name]
    rules = all_rules.get(view.name, {})
    parts = _parts(root, "from_", "with_", "expressions")
    if _has(parts + list(root.expressions), exp.Subquery, exp.Select, exp.Window):
        raise _refuse_shape("行级查询不能使用子查询或窗口函数")
    outputs: list[str] = []
    for e in root.expressions:
        target = e.this if isinstance(e, exp.Alias) else e
        if isinstance(target, exp.Star) or (isinstance(target, exp.Column) and isinstance(target.this, exp.Star)):
            outputs.extend(view.items)
        elif isinstance(target, exp.Column):
            outputs.append(next((i for i in view.items if i.lower() == target.name.lower()), target.name))
        else:
            raise Refusal("release_row_expression", "行级结果只能输出信息项本身（可用 AS 重命名），"
                          "不能输出计算表达式：{expr}", expr=_norm(target)[:200])
    lineage.analyse(checked.tree, {view.name: view})
    denied = [i for i in outputs if rules.get(i.lower(), ItemRule(True, False)).denied or
              i.lower() in view.protected or i.lower() in view.derived]
    if denied:
        raise Refusal("release_item_denied", "按“运营结果”脱敏策略，这些信息项不能以行级形式离开：{items}",
                      items="、".join(dict.fromkeys(denied)))
    for col in (c for p in parts for c in p.find_all(exp.Column)):
        rule = rules.get(col.name.lower())
        if rule is None or not rule.clear:
            raise Refusal("release_masked_predicate", "行级查询只能按可明文放行的信息项筛选或排序，“{item}”不可",
                          item=col.name)
    return Plan(kind="行级", sql=checked.sql, view=view, output_items=outputs)


def plan_release(checked: Checked, views: dict[str, View], rules: dict[str, dict[str, ItemRule]]) -> Plan:
    """Decide the shape before running; `rules`: view name → lower-case item name → ItemRule."""
    root = checked.tree
    if not isinstance(root, exp.Select):
        raise _refuse_shape("结果必须来自单个 SELECT（不支持 UNION、EXCEPT、INTERSECT）")
    aggregated = bool(root.args.get("group")) or bool(root.args.get("having")) or any(
        e.find(exp.AggFunc) is not None for e in root.expressions)
    if aggregated:
        return _aggregate_plan(checked, root, views, rules)
    return _rows_plan(checked, root, views, rules)


# --- after the run ----------------------------------------------------------------------------------


def check_groups(counts: list[int], k: int) -> None:
    """The k-rule over the per-group source row counts of an aggregated output."""
    small = sum(1 for n in counts if n < k)
    if small or sum(counts) < k:
        raise Refusal("release_small_group", "有{groups}个分组的源数据少于{k}行（或结果为空），结果不予放行",
                      groups=small, k=k)


def _value(node: exp.Expression) -> str | float | None:
    if isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal) and not node.this.is_string:
        v = _value(node.this)
        return -v if isinstance(v, float) else None
    if not isinstance(node, exp.Literal):
        return None
    if node.is_string:
        return str(node.this)
    try:
        return float(node.this)
    except ValueError:
        return None


Region = tuple[Any, ...]  # ("set", frozenset) or ("range", lo, lo_inclusive, hi, hi_inclusive)


def _region(node: exp.Expression) -> tuple[str, Region] | None:
    """The rows a one-column condition keeps, as a set of values or a range: `age > 30`,
    `age BETWEEN 30 AND 50`, `county = '甲'`, `county IN ('甲', '乙')`."""
    if isinstance(node, exp.In) and node.expressions and not node.args.get("query"):
        values = [_value(e) for e in node.expressions]
        if all(v is not None for v in values):
            return _norm(node.this), ("set", frozenset(values))
        return None
    if isinstance(node, exp.Between):
        lo, hi = _value(node.args["low"]), _value(node.args["high"])
        if lo is not None and hi is not None and type(lo) is type(hi):
            return _norm(node.this), ("range", lo, True, hi, True)
        return None
    value = _value(node.expression) if isinstance(node, exp.Binary) else None
    if value is None:
        return None
    key = _norm(node.this)
    if isinstance(node, exp.EQ):
        return key, ("set", frozenset([value]))
    bounds = {exp.GT: ("range", value, False, None, False), exp.GTE: ("range", value, True, None, False),
              exp.LT: ("range", None, False, value, False), exp.LTE: ("range", None, False, value, True)}
    region = bounds.get(type(node))
    return (key, region) if region else None


def _within(inner: Region, outer: Region) -> bool:
    """True when every row `inner` keeps is kept by `outer` (same column)."""
    try:
        if outer[0] == "set":
            return inner[0] == "set" and inner[1] <= outer[1]
        _, lo, lo_in, hi, hi_in = outer
        if inner[0] == "set":
            return all((lo is None or v > lo or (lo_in and v == lo)) and (hi is None or v < hi or (hi_in and v == hi))
                       for v in inner[1])
        _, ilo, ilo_in, ihi, ihi_in = inner
        lower = lo is None or (ilo is not None and (ilo > lo or (ilo == lo and (lo_in or not ilo_in))))
        upper = hi is None or (ihi is not None and (ihi < hi or (ihi == hi and (hi_in or not ihi_in))))
        return lower and upper
    except TypeError:  # a string bound against a number: not comparable, not nested
        return False


def nested(a: list[str], b: list[str]) -> bool:
    """True when one predicate set's rows certainly contain the other's (see the module docstring)."""
    sa, sb = set(a), set(b)
    if sa == sb:
        return False
    if sa <= sb or sb <= sa:
        return True
    only_a, only_b = sa - sb, sb - sa
    if len(only_a) == 1 and len(only_b) == 1:
        import sqlglot

        ra = _region(sqlglot.parse_one(next(iter(only_a)), read="duckdb"))
        rb = _region(sqlglot.parse_one(next(iter(only_b)), read="duckdb"))
        if ra is None or rb is None or ra[0] != rb[0]:
            return False
        return _within(ra[1], rb[1]) or _within(rb[1], ra[1])
    return False


def differencing(fingerprint: dict[str, Any], earlier: list[dict[str, Any]], k: int) -> dict[str, Any] | None:
    """The first earlier released fingerprint whose difference with this one isolates 1 … k−1 rows."""
    groups = {tuple(g): n for g, n in fingerprint["groups"]}
    for other in earlier:
        if other.get("base") != fingerprint["base"] or not nested(other["predicates"], fingerprint["predicates"]):
            continue
        for g, n in other["groups"]:
            mine = groups.get(tuple(g))
            if mine is not None and 0 < abs(mine - n) < k:
                return other
    return None


def differencing_cells(fingerprint: dict[str, Any], earlier: list[dict[str, Any]], k: int) -> set[str]:
    """Cells (canonical group keys) whose count differs by 1 … k−1 from the same cell of an earlier
    released output over a nested row set: they are suppressed, not the whole output refused."""
    groups = {g: n for g, n in fingerprint["groups"]}
    out: set[str] = set()
    for other in earlier:
        if other.get("base") != fingerprint["base"] or not nested(other.get("predicates") or [],
                                                                   fingerprint["predicates"]):
            continue
        for g, n in other.get("groups") or []:
            mine = groups.get(g)
            if mine is not None and 0 < abs(mine - n) < k:
                out.add(g)
    return out
