"""Where each value of a sandbox query comes from: column lineage over sqlglot's qualified tree.

The release rules of the sandbox are decided here on lineage, not on names: the query is
qualified against the views' schemas (every column bound to its source, `*` expanded, aliases
resolved), then every scope is walked innermost first, and each expression gets a `Flow` — the
protected source items its value carries row by row (`raw`) or only through an allowed aggregate
(`agg`). Renaming, CTEs and subqueries change names, never flows.

What a protected item (one the 运营结果 policy does not release in clear, or a pseudonym) may do,
by construction — everything else is refused (default deny):
- pass through a column reference, an alias, parentheses, unary minus, a CAST to DOUBLE, and
  a linear form with constant coefficients (`a * x + b`): no other column may be added to it or
  multiply it (a clear column that is NULL or zero for one row would select that row), no
  function, CASE, IF, COALESCE, NULLIF, TRY_CAST, comparison or window may touch it;
- leave a row only through COUNT (any item) or SUM / AVG / STDDEV / VARIANCE (numeric items, not
  DISTINCT, not with FILTER), never MIN, MAX, FIRST, LAST, MODE, MEDIAN, quantiles, ARG_MAX,
  STRING_AGG or lists;
- after aggregation: arithmetic, ROUND and CAST to DOUBLE only (no CAST that can fail on a value);
- never appear in a predicate or an ordering: WHERE, HAVING, QUALIFY, JOIN … ON, GROUP BY,
  ORDER BY, CASE / IF conditions, FILTER, window PARTITION / ORDER — in inner scopes as well.
Clear items are not restricted here (row-level output of them is allowed anyway).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, traverse_scope

from ..i18n import N_
from .sql_guard import Refusal, View

COUNT_AGGREGATES = frozenset({"Count", "ApproxDistinct"})
MAGNITUDE_AGGREGATES = frozenset({"Sum", "Avg", "Stddev", "StddevSamp", "StddevPop", "Variance", "VariancePop"})
# aggregates over clear items only (member values are clear values then)
CLEAR_AGGREGATES = COUNT_AGGREGATES | MAGNITUDE_AGGREGATES | frozenset({
    "CountIf", "Corr", "CovarSamp", "CovarPop", "Min", "Max", "Median", "Quantile", "PercentileCont",
    "PercentileDisc", "AnyValue", "First", "Last", "ArgMax", "ArgMin", "Mode"})
FLOAT_TYPES = frozenset({exp.DataType.Type.DOUBLE, exp.DataType.Type.FLOAT})
PREDICATE_ARGS = ("where", "having", "qualify", "group", "order", "distinct")


def refuse(detail: str, **params: str) -> Refusal:
    return Refusal("lineage_" + detail, LINEAGE_MESSAGES[detail], **params)


LINEAGE_MESSAGES = {
    "predicate": N_("受保护信息项“{item}”不能用于筛选、分组、排序或条件"),
    "transform": N_("受保护信息项“{item}”只能以常数系数的线性形式进入计数、求和、均值或方差"),
    "aggregate": N_("聚合函数“{function}”会输出某一行的取值，不能用于受保护信息项“{item}”"),
    "output": N_("受保护信息项“{item}”只能经计数、求和、均值等聚合后输出"),
    "nested": N_("不支持嵌套聚合"),
    "unresolved": N_("无法确定列“{column}”的来源"),
    "shape": N_("不支持的查询结构：{detail}"),
    "qualify": N_("无法解析列的来源：{error}"),
}


@dataclass(frozen=True)
class Flow:
    raw: frozenset[str] = frozenset()  # protected items carried row by row
    agg: frozenset[str] = frozenset()  # protected items carried only through allowed aggregates
    numeric: bool = True  # every raw protected item is numeric
    const: bool = True  # no column at all: a constant expression
    magnitude: bool = False  # through SUM / AVG / STDDEV / VARIANCE: the dominance rule applies

    @property
    def protected(self) -> frozenset[str]:
        return self.raw | self.agg


EMPTY = Flow()


def _join(*flows: Flow) -> Flow:
    if not flows:
        return EMPTY
    return Flow(raw=frozenset().union(*(f.raw for f in flows)), agg=frozenset().union(*(f.agg for f in flows)),
                numeric=all(f.numeric for f in flows), const=all(f.const for f in flows),
                magnitude=any(f.magnitude for f in flows))


def _first(items: frozenset[str]) -> str:
    return sorted(items)[0].split(".", 1)[-1]


@dataclass
class Analysis:
    """The root's output flows (by output position) and, per magnitude aggregate node of the root
    (by id in the analysed tree), its argument: what the dominance rule measures."""

    outputs: list[Flow] = field(default_factory=list)
    aggregated: bool = False
    # positions, among the root's aggregates in its select list (find_all order), of the SUM /
    # AVG / STDDEV / VARIANCE over protected items: what the dominance rule measures
    magnitudes: list[int] = field(default_factory=list)


class _Walker:
    def __init__(self, scope: Scope, env: dict[tuple[str, str], Flow], outputs: dict[str, Flow]) -> None:
        self.scope = scope
        self.env = env
        self.outputs = outputs  # aliases defined so far in this scope (ORDER BY n)
        self.magnitudes: list[exp.Expression] = []

    def predicate(self, node: exp.Expression | None) -> None:
        if node is None:
            return
        flow = self.flow(node)
        if flow.protected:
            raise refuse("predicate", item=_first(flow.protected))

    def flow(self, node: exp.Expression) -> Flow:
        if isinstance(node, exp.Alias | exp.Paren | exp.Neg | exp.Ordered):
            if isinstance(node, exp.Ordered):
                return self.flow(node.this)
            return self.flow(node.this)
        if isinstance(node, exp.Column):
            if isinstance(node.this, exp.Star):
                raise refuse("shape", detail="t.*")
            key = (node.table.lower(), node.name.lower())
            if key in self.env:
                return self.env[key]
            if not node.table and node.name.lower() in self.outputs:
                return self.outputs[node.name.lower()]
            raise refuse("unresolved", column=node.sql("duckdb"))
        if isinstance(node, exp.Literal | exp.Null | exp.Boolean | exp.DataType | exp.Var | exp.DataTypeParam):
            return EMPTY
        if isinstance(node, exp.Star):
            return Flow(const=False)
        if isinstance(node, exp.Subquery | exp.Select | exp.Union):
            raise refuse("shape", detail="子查询表达式")
        if isinstance(node, exp.Filter):
            inner = self.flow(node.this)
            where = node.expression
            self.predicate(where.this if isinstance(where, exp.Where) else where)
            if inner.agg:
                raise refuse("predicate", item=_first(inner.agg))
            return inner
        if isinstance(node, exp.Window):
            for key in ("partition_by", "order"):
                value = node.args.get(key)
                for part in value if isinstance(value, list) else [value] if value is not None else []:
                    self.predicate(part)
            inner = self.flow(node.this)
            if inner.protected:
                raise refuse("predicate", item=_first(inner.protected))
            return Flow(const=False)
        if isinstance(node, exp.AggFunc):
            return self._aggregate(node)
        if isinstance(node, exp.Add | exp.Sub):
            a, b = self.flow(node.this), self.flow(node.expression)
            for mine, other in ((a, b), (b, a)):
                if mine.raw and not other.const:  # x + (NULL for one row) would select that row
                    raise refuse("transform", item=_first(mine.raw))
            out = _join(a, b)
            if out.raw and not out.numeric:
                raise refuse("transform", item=_first(out.raw))
            return out
        if isinstance(node, exp.Mul | exp.Div):
            a, b = self.flow(node.this), self.flow(node.expression)
            if b.raw and isinstance(node, exp.Div):
                raise refuse("transform", item=_first(b.raw))
            for mine, other in ((a, b), (b, a)):
                if mine.raw and not other.const:
                    raise refuse("transform", item=_first(mine.raw))
            out = _join(a, b)
            if out.raw and not out.numeric:
                raise refuse("transform", item=_first(out.raw))
            return out
        if isinstance(node, exp.Cast) and not isinstance(node, exp.TryCast):
            inner = self.flow(node.this)
            to = node.args.get("to")
            if inner.protected and not (isinstance(to, exp.DataType) and to.this in FLOAT_TYPES and
                                        (inner.numeric or not inner.raw)):
                raise refuse("transform", item=_first(inner.protected))
            return inner
        if isinstance(node, exp.Round):
            inner = _join(*(self.flow(a) for a in node.args.values() if isinstance(a, exp.Expression)))
            if inner.raw:
                raise refuse("transform", item=_first(inner.raw))
            return inner
        if isinstance(node, exp.Case | exp.If):
            return self._conditional(node)
        if isinstance(node, exp.Condition) and not isinstance(node, exp.Func):
            # comparisons and boolean operators are predicates wherever they stand
            self.predicate_children(node)
            return Flow(const=all(c.find(exp.Column) is None for c in [node]))
        # any other function or construct: clear inputs only
        children = [self.flow(c) for c in node.iter_expressions()]
        out = _join(*children)
        if out.protected:
            raise refuse("transform", item=_first(out.protected))
        return out

    def predicate_children(self, node: exp.Expression) -> None:
        for child in node.iter_expressions():
            self.predicate(child)

    def _conditional(self, node: exp.Expression) -> Flow:
        conditions: list[exp.Expression] = []
        values: list[exp.Expression] = []
        if isinstance(node, exp.If):
            conditions.append(node.this)
            values += [v for v in (node.args.get("true"), node.args.get("false")) if v is not None]
        else:
            if node.this is not None:
                conditions.append(node.this)  # CASE x WHEN …: x is compared
            for when in node.args.get("ifs") or []:
                conditions.append(when.this)
                values.append(when.args["true"])
            if node.args.get("default") is not None:
                values.append(node.args["default"])
        for cond in conditions:
            self.predicate(cond)
        out = _join(*(self.flow(v) for v in values))
        if out.protected:
            raise refuse("transform", item=_first(out.protected))
        return Flow(const=out.const)

    def _aggregate(self, node: exp.AggFunc) -> Flow:
        kind = type(node).__name__
        args = [a for a in node.iter_expressions()]
        distinct = any(isinstance(a, exp.Distinct) for a in args)
        flows = []
        for a in args:
            if isinstance(a, exp.Distinct):
                flows += [self.flow(e) for e in a.expressions]
            else:
                flows.append(self.flow(a))
        arg = _join(*flows)
        if arg.agg:
            raise refuse("nested")
        if not arg.raw:
            if kind not in CLEAR_AGGREGATES:
                raise Refusal("release_aggregate_forbidden", "聚合函数“{function}”会输出原始值，不予放行",
                              function=node.sql_name())
            return Flow(const=False)
        item = _first(arg.raw)
        if kind in COUNT_AGGREGATES:
            return Flow(agg=arg.raw, const=False)
        if kind in MAGNITUDE_AGGREGATES and not distinct and len(args) == 1:
            if not arg.numeric:
                raise refuse("transform", item=item)
            self.magnitudes.append(args[0])
            return Flow(agg=arg.raw, const=False, magnitude=True)
        raise refuse("aggregate", function=node.sql_name(), item=item)


def root_aggregates(select: exp.Select) -> list[exp.AggFunc]:
    """The aggregates of a select list in a fixed order (the same before and after qualifying)."""
    return [a for e in select.expressions for a in e.find_all(exp.AggFunc)]


def _scope_env(scope: Scope, views: dict[str, View], done: dict[int, dict[str, Flow]]) -> dict[tuple[str, str], Flow]:
    env: dict[tuple[str, str], Flow] = {}
    for alias, source in scope.sources.items():
        alias = alias.lower()
        if isinstance(source, exp.Table):
            view = views.get(source.name.lower())
            if view is None:
                raise refuse("shape", detail=source.name)
            for item in view.items:
                name = item.lower()
                if name in view.protected:
                    env[(alias, name)] = Flow(raw=frozenset({f"{view.name}.{item}"}), numeric=name in view.numeric,
                                              const=False)
                else:
                    env[(alias, name)] = Flow(const=False)
        elif isinstance(source, Scope):
            outputs = done.get(id(source.expression))
            if outputs is None:
                raise refuse("shape", detail=alias)
            for name, flow in outputs.items():
                env[(alias, name)] = flow
        else:
            raise refuse("shape", detail=alias)
    return env


def analyse(tree: exp.Expression, views: dict[str, View]) -> Analysis:
    """Trace every output and predicate of `tree` to the views' items; raise Refusal on a flow
    the release rules do not allow. `views`: the views the query reads, by lower-case name."""
    schema = {v.name: {i: ("DOUBLE" if i.lower() in v.numeric else "VARCHAR") for i in v.items}
              for v in views.values()}
    try:
        qualified = qualify(tree.copy(), schema=schema, dialect="duckdb", validate_qualify_columns=True,
                            quote_identifiers=False)
        scopes = list(traverse_scope(qualified))
    except SqlglotError as err:
        raise refuse("qualify", error=str(err).splitlines()[0][:200]) from err
    done: dict[int, dict[str, Flow]] = {}
    analysis = Analysis()
    for scope in scopes:
        select = scope.expression
        if not isinstance(select, exp.Select):
            raise refuse("shape", detail=select.key.upper())
        walker = _Walker(scope, _scope_env(scope, views, done), {})
        outputs: dict[str, Flow] = {}
        flows: list[Flow] = []
        for e in select.expressions:
            f = walker.flow(e)
            flows.append(f)
            outputs[e.alias_or_name.lower()] = f
        walker.outputs = outputs
        for join in select.args.get("joins") or []:
            walker.predicate(join.args.get("on"))
            for col in join.args.get("using") or []:
                walker.predicate(col)
        for key in PREDICATE_ARGS:
            part = select.args.get(key)
            if part is None:
                continue
            if key == "distinct":
                if any(f.raw for f in flows):
                    raise refuse("predicate", item=_first(frozenset().union(*(f.raw for f in flows))))
                on = part.args.get("on")
                if on is not None:
                    walker.predicate(on)
                continue
            targets = part.expressions if isinstance(part, exp.Group | exp.Order) else [part.this]
            for t in targets:
                walker.predicate(t)
        done[id(select)] = outputs
        if scope.is_root:
            aggregated = bool(select.args.get("group")) or any(
                e.find(exp.AggFunc) is not None for e in select.expressions)
            for f in flows:
                if f.raw:
                    raise refuse("output", item=_first(f.raw))
                if f.agg and not aggregated:
                    raise refuse("output", item=_first(f.agg))
            aggs = root_aggregates(select)
            marked = {id(m.parent) for m in walker.magnitudes}
            analysis.outputs, analysis.aggregated = flows, aggregated
            analysis.magnitudes = [i for i, a in enumerate(aggs) if id(a) in marked]
    return analysis
