"""Cell suppression of an aggregated sandbox output (output-checking practice, DOMAIN §7).

Instead of refusing a whole table because one cell is small, the cells that may not leave are
blanked and the rest is released:
- primary: a cell counting fewer than k source rows (threshold rule); a cell whose magnitude
  (SUM / AVG / … over a protected item) is dominated — the largest contribution above n1 % of the
  cell's total, or the two largest above n2 % (N–K rule); a cell the differencing check flags;
- secondary: more cells, so that the table's margins (the sums over any of its dimensions, which
  the operator can ask for in another query) do not give a primary cell back. Each line of the
  table (the cells that share all group values but one) holding exactly one suppressed cell gets
  its smallest other cell suppressed too; then the margin equations are solved exactly (rank
  test) and while some primary cell is still determined by them, another cell of its lines is
  suppressed.
The operator sees which cells were suppressed and why ("threshold", "dominance", "differencing",
"secondary"); the values of a suppressed cell (every aggregate output) are NULL.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np

# exact verification of the margins is a dense rank test: bounded so a big table stays cheap
VERIFY_CELLS_MAX = 2_000
DIMS_VERIFY_MAX = 4


@dataclass(frozen=True)
class Cell:
    key: tuple[Any, ...]  # the cell's group values (one per GROUP BY expression)
    count: int


def dominated(top: list[float] | None, total: float | None, n1: float, n2: float) -> bool:
    """N–K rule: the largest contribution > n1 % of the total, or the two largest > n2 %."""
    if not top or total is None or total <= 0:
        return False
    values = sorted((abs(float(v)) for v in top if v is not None), reverse=True)
    if not values:
        return False
    first = values[0]
    second = values[1] if len(values) > 1 else 0.0
    return first > total * n1 / 100 or first + second > total * n2 / 100


def _lines(cells: list[Cell], dims: tuple[int, ...]) -> dict[tuple[Any, ...], list[int]]:
    """Cells grouped by their values on every dimension except `dims` (the ones summed out)."""
    out: dict[tuple[Any, ...], list[int]] = defaultdict(list)
    for i, c in enumerate(cells):
        out[tuple(v for d, v in enumerate(c.key) if d not in dims)].append(i)
    return out


def margin_equations(cells: list[Cell], k: int = 0) -> list[list[int]]:
    """Every margin the operator could know: for each non-empty set of dimensions summed out, the
    cells of each line (lists of cell indexes) whose total is at least k (a smaller margin is
    itself suppressed wherever it is asked for). For a table without dimensions: the one cell."""
    dims = len(cells[0].key) if cells else 0
    if dims == 0:
        return [[i] for i in range(len(cells))]
    out: list[list[int]] = []
    for r in range(1, min(dims, DIMS_VERIFY_MAX) + 1):
        for summed in combinations(range(dims), r):
            out.extend(line for line in _lines(cells, summed).values() if sum(cells[i].count for i in line) >= k)
    return out


def determined(cells: list[Cell], suppressed: set[int], k: int = 0) -> list[int]:
    """Suppressed cells whose exact value follows from the margins and the released cells."""
    if not suppressed:
        return []
    order = sorted(suppressed)
    col = {c: j for j, c in enumerate(order)}
    rows = [[1.0 if i in line else 0.0 for i in order] for line in margin_equations(cells, k)
            if any(i in col for i in line)]
    if not rows:
        return []
    a = np.array(rows)
    rank = np.linalg.matrix_rank(a)
    out = []
    for j, c in enumerate(order):
        unit = np.zeros((1, len(order)))
        unit[0, j] = 1.0
        if np.linalg.matrix_rank(np.vstack([a, unit])) == rank:
            out.append(c)
    return out


def suppress(cells: list[Cell], primary: dict[int, str], k: int) -> dict[int, str]:
    """Primary plus secondary suppressions: cell index → reason."""
    reasons = dict(primary)
    if cells and sum(c.count for c in cells) < k:
        return {i: reasons.get(i, "threshold") for i in range(len(cells))}
    if not reasons or not cells:
        return reasons
    dims = len(cells[0].key)
    if dims == 0:
        return reasons

    def add_one(candidates: list[int]) -> bool:
        free = [i for i in candidates if i not in reasons]
        if not free:
            return False
        reasons[min(free, key=lambda i: (cells[i].count, i))] = "secondary"
        return True

    def line_of(c: int, d: int) -> list[int]:
        key = tuple(v for e, v in enumerate(cells[c].key) if e != d)
        return [i for i, other in enumerate(cells) if tuple(v for e, v in enumerate(other.key) if e != d) == key]

    for _round in range(len(cells) + 1):
        changed = False
        for d in range(dims):
            for line in _lines(cells, (d,)).values():
                if len(line) > 1 and sum(1 for i in line if i in reasons) == 1:
                    changed |= add_one(line)
        if changed:
            continue
        if len(cells) > VERIFY_CELLS_MAX or dims > DIMS_VERIFY_MAX:
            break
        # a secondary cell may come out exact (it is not small): only primary cells must not
        exposed = [c for c in determined(cells, set(reasons), k) if c in primary]
        if not exposed:
            break
        if not any(add_one(line_of(c, d)) for c in exposed for d in range(dims)):
            # nothing left to hide behind: blank the whole table
            return {i: reasons.get(i, "secondary") for i in range(len(cells))}
    return reasons
