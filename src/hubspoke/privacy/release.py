"""One suppression for the whole funder release, solved once, and the views every table takes.

Every :class:`~hubspoke.privacy.table.Table` a funder may see is gathered first (see
:mod:`hubspoke.analysis.release`). Their cells, keyed by :class:`CellId`, become one set
with every linear relation a reader can see:

* the margins of each table (parts add up to the total), merged across tables, so the
  same quantity printed twice is one cell;
* service -> group -> programme, and years -> all years, added by the caller as
  equations (or, for counts of distinct people over years, inequalities);
* derived values (percentages, means, ratings) are shown only where every count they
  come from is shown, so they tell a reader nothing about a hidden count.

**Primary suppression** hides every count of people from 1 to the threshold (DfE: 5);
0 stays 0. **Secondary suppression** then hides more counts until no hidden count can
be worked out: first every relation with a single unknown gets a second one (the
smallest non-zero count in it), then every hidden cell is audited with linear
programming (its smallest and largest value given everything shown, every relation,
a primary cell in 1..threshold, any other hidden count at least 1); a cell whose range
is one value gets a neighbour hidden, and the loop repeats until none is pinned.
The audit works one connected group of hidden cells at a time (cells linked by a
relation), so its cost grows with the size of those groups, not of the release.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import pandas as pd
from scipy.optimize import linprog

from hubspoke import config
from hubspoke.errors import ReportError
from hubspoke.privacy.table import Cell, CellId, Table

#: Dimensions that group services; each service is in exactly one value of each.
GROUP_DIMS: Final = ("model_variant", "host_setting", "phase")
#: Shown for a value that is not available (GSS symbol).
NOT_AVAILABLE = "x"
#: Relation: coefficients over cell ids; ``== 0`` for equations, ``<= 0`` for inequalities.
Relation = Mapping[CellId, float]


@dataclass(frozen=True)
class ReleaseCell:
    """A cell of the release: what it is, its true value, and whether a funder may see it."""

    id: CellId
    kind: str
    value: object
    unit: str = ""
    dp: int = 0
    sources: tuple[CellId, ...] = ()
    families: tuple[str, ...] = ()


@dataclass
class Release:
    """The suppressed set every funder table and chart is a view of.

    ``cells``: by id; ``hidden``: ids a funder never sees (counts hidden for being small,
    ``primary``, or to protect one, and every value derived from them); ``residual``:
    hidden counts still pinned when nothing was left to hide (must be empty).
    """

    cells: dict[CellId, ReleaseCell]
    hidden: frozenset[CellId]
    primary: frozenset[CellId]
    equations: list[Relation] = field(default_factory=list)
    inequalities: list[Relation] = field(default_factory=list)
    threshold: int = config.SUPPRESSION_THRESHOLD
    symbol: str = config.SUPPRESSION_SYMBOL
    residual: frozenset[CellId] = frozenset()

    def is_hidden(self, cell_id: CellId) -> bool:
        """Whether a funder may not see this cell (unknown cells count as hidden)."""
        return cell_id in self.hidden or cell_id not in self.cells

    def text(self, cell_id: CellId) -> str:
        """The cell as a funder sees it: the symbol, ``x``, or the formatted value."""
        if self.is_hidden(cell_id):
            return self.symbol
        cell = self.cells[cell_id]
        return format_value(cell.value, kind=cell.kind, dp=cell.dp)

    def view(self, table: Table) -> Shown:
        """The table as a funder sees it; every cell must be in the release with the same value."""
        display = pd.DataFrame(index=table.frame.index, columns=table.frame.columns, dtype=object)
        hidden = pd.DataFrame(False, index=table.frame.index, columns=table.frame.columns)
        for cell in table.cells():
            known = self.cells.get(cell.id)
            if known is None and cell.kind in {"count", "derived"}:
                raise ReportError(
                    f"table {table.family!r} shows a cell the release does not hold; "
                    "rebuild the release (hubspoke report) after changing what reports show",
                    column=cell.id.key,
                )
            if known is not None and not _same(known.value, cell.value):
                raise ReportError(
                    "the release is out of date for this table; rebuild it (hubspoke report)",
                    column=cell.id.key,
                    allowed=str(known.value),
                    found=str(cell.value),
                )
            is_hidden = (cell.id in self.hidden) or any(self.is_hidden(s) for s in cell.sources)
            hidden.loc[cell.row, cell.column] = is_hidden
            spec = table.spec(cell.column)
            dp = getattr(spec, "dp", 0)
            display.loc[cell.row, cell.column] = (
                self.symbol if is_hidden else format_value(cell.value, kind=cell.kind, dp=dp)
            )
        return Shown(table=table, display=display, hidden=hidden, symbol=self.symbol)


@dataclass(frozen=True)
class Shown:
    """A table as a funder sees it: ``display`` strings and the ``hidden`` mask."""

    table: Table
    display: pd.DataFrame
    hidden: pd.DataFrame
    symbol: str

    @property
    def visible(self) -> pd.DataFrame:
        """The numbers a chart may draw: true values, NaN wherever the table hides one."""
        numbers = self.table.frame.apply(pd.to_numeric, errors="coerce").astype(float)
        return numbers.mask(self.hidden)

    @property
    def any_hidden(self) -> bool:
        """Whether the table hides anything."""
        return bool(self.hidden.to_numpy().any())


def format_value(value: object, *, kind: str, dp: int = 0) -> str:
    """One value as text: counts with thousands separators, numbers to ``dp`` places, ``x`` when missing."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return NOT_AVAILABLE
    if kind == "text" or isinstance(value, str):
        return str(value)
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    number = float(value)  # type: ignore[arg-type]
    if kind == "count":
        return f"{int(round(number)):,}"
    return f"{number:,.{dp}f}"


def _same(a: object, b: object) -> bool:
    if a is None or a is pd.NA or b is None or b is pd.NA:
        return (a is None or a is pd.NA) and (b is None or b is pd.NA)
    if isinstance(a, str) or isinstance(b, str):
        return str(a) == str(b)
    try:
        fa, fb = float(a), float(b)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(a) == str(b)
    if np.isnan(fa) or np.isnan(fb):
        return bool(np.isnan(fa) and np.isnan(fb))
    return abs(fa - fb) <= 1e-9 * max(1.0, abs(fa))


# --------------------------------------------------------------------------- gathering
def gather(tables: Iterable[Table]) -> tuple[dict[CellId, ReleaseCell], list[Relation]]:
    """The cells and margin equations of many tables; the same id must hold the same value."""
    cells: dict[CellId, ReleaseCell] = {}
    equations: list[Relation] = []
    seen: set[tuple] = set()
    for table in tables:
        for cell in table.cells():
            _add(cells, cell, table)
        for eq in table.equations():
            sig = tuple(sorted((k.key, v) for k, v in eq.items()))
            if sig not in seen:
                seen.add(sig)
                equations.append(eq)
    return cells, equations


def _add(cells: dict[CellId, ReleaseCell], cell: Cell, table: Table) -> None:
    spec = table.spec(cell.column)
    new = ReleaseCell(
        cell.id,
        cell.kind,
        cell.value,
        cell.unit,
        getattr(spec, "dp", 0),
        cell.sources,
        (table.family,),
    )
    old = cells.get(cell.id)
    if old is None:
        cells[cell.id] = new
    elif not _same(old.value, new.value):
        raise ReportError(
            f"two tables give one quantity different values ({', '.join(old.families)}; {table.family})",
            column=cell.id.key,
            allowed=str(old.value),
            found=str(new.value),
        )
    elif table.family not in old.families:
        cells[cell.id] = ReleaseCell(
            old.id,
            old.kind,
            old.value,
            old.unit,
            old.dp,
            old.sources,
            (*old.families, table.family),
        )


# --------------------------------------------------------------------------- protection
def protect(
    cells: Mapping[CellId, ReleaseCell],
    *,
    equations: Sequence[Relation] = (),
    inequalities: Sequence[Relation] = (),
    threshold: int = config.SUPPRESSION_THRESHOLD,
    symbol: str = config.SUPPRESSION_SYMBOL,
) -> Release:
    """Primary and secondary suppression of every count in ``cells``, jointly (see module docstring)."""
    model = _Model.build(cells, equations, inequalities)
    model.protect(threshold)
    hidden_counts = {model.ids[i] for i in np.flatnonzero(model.hidden)}
    hidden = set(hidden_counts)
    changed = True
    while changed:  # derived values (and values derived from them) follow their sources
        changed = False
        for cid, cell in cells.items():
            if cid in hidden or not cell.sources:
                continue
            if any(s in hidden or s not in cells for s in cell.sources):
                hidden.add(cid)
                changed = True
    return Release(
        cells=dict(cells),
        hidden=frozenset(hidden),
        primary=frozenset(model.ids[i] for i in np.flatnonzero(model.primary)),
        equations=list(equations),
        inequalities=list(inequalities),
        threshold=threshold,
        symbol=symbol,
        residual=frozenset(model.ids[i] for i in np.flatnonzero(model.residual)),
    )


class _Model:
    """Counts as variables; relations as sparse rows (lists of (variable, coefficient))."""

    def __init__(self, ids: list[CellId], values: np.ndarray, eqs: list, ineqs: list) -> None:
        self.ids = ids
        self.values = values
        self.free = np.isnan(values)
        self.eqs = eqs
        self.ineqs = ineqs
        self.primary = np.zeros(len(ids), dtype=bool)
        self.hidden = np.zeros(len(ids), dtype=bool)
        self.residual = np.zeros(len(ids), dtype=bool)
        self.rels_of: list[list[int]] = [[] for _ in ids]
        for r, rel in enumerate(eqs + ineqs):
            for v, _ in rel:
                self.rels_of[v].append(r)
        self._solved: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}
        self.is_total = np.zeros(len(ids), dtype=bool)
        for rel in eqs:
            for v, coef in rel:
                if coef < 0:
                    self.is_total[v] = True

    @classmethod
    def build(
        cls,
        cells: Mapping[CellId, ReleaseCell],
        equations: Sequence[Relation],
        inequalities: Sequence[Relation],
    ) -> _Model:
        index: dict[CellId, int] = {}
        values: list[float] = []
        for cid, cell in cells.items():
            if cell.kind == "count":
                index[cid] = len(values)
                values.append(float("nan") if _missing(cell.value) else float(cell.value))  # type: ignore[arg-type]

        def rows(relations: Sequence[Relation]) -> list[list[tuple[int, float]]]:
            out = []
            for rel in relations:
                row = []
                for cid, coef in rel.items():
                    if cid not in index:
                        known = cells.get(cid)
                        if known is not None and known.kind != "count":
                            raise ReportError(
                                "a relation names a cell that is not a count", column=cid.key
                            )
                        index[cid] = len(values)
                        values.append(
                            float("nan")
                        )  # a quantity no table shows: unknown to a reader
                    row.append((index[cid], float(coef)))
                out.append(row)
            return out

        eqs, ineqs = rows(equations), rows(inequalities)
        ids = [None] * len(index)
        for cid, i in index.items():
            ids[i] = cid  # type: ignore[call-overload]
        return cls(ids, np.array(values, dtype=float), eqs, ineqs)  # type: ignore[arg-type]

    # ----------------------------------------------------------------- the loop
    def protect(self, threshold: int) -> None:
        known = ~self.free
        self.primary = known & (self.values >= 1) & (self.values <= threshold)
        self.hidden = self.primary.copy()
        for _ in range(len(self.ids) + 1):
            self._secure_lines()
            pinned = self._audit(threshold) & ~self.residual
            if not pinned.any():
                return
            if not self._widen(pinned):
                self.residual |= pinned
        raise ReportError("secondary suppression did not settle; please report this release")

    def _unknown(self) -> np.ndarray:
        return self.hidden | self.free

    def _secure_lines(self) -> None:
        """Give every equation with exactly one unknown count a second one."""
        n_eq = len(self.eqs)
        unknown = self._unknown()
        count = np.array([sum(bool(unknown[v]) for v, _ in rel) for rel in self.eqs], dtype=int)
        todo = [r for r in range(n_eq) if count[r] == 1]
        while todo:
            r = todo.pop()
            if count[r] != 1:
                continue
            choice = self._candidate({v for v, _ in self.eqs[r]})
            if choice is None:  # only zeros or unknowns left: the audit decides
                continue
            self.hidden[choice] = True
            for other in self.rels_of[choice]:
                if other < n_eq:
                    count[other] += 1
                    if count[other] == 1:
                        todo.append(other)

    def _candidate(self, members: Iterable[int]) -> int | None:
        """The smallest non-zero shown count among ``members``; parts before totals."""
        unknown = self._unknown()
        options = [
            (self.values[v], bool(self.is_total[v]), v)
            for v in members
            if not unknown[v] and self.values[v] > 0
        ]
        return min(options)[2] if options else None

    def _widen(self, pinned: np.ndarray) -> bool:
        """Hide a neighbour of each pinned cell; False if nothing is left to hide."""
        added = False
        touched: set[int] = set()
        all_rels = self.eqs + self.ineqs
        for k in np.flatnonzero(pinned):
            rels = self.rels_of[k]
            if touched.intersection(rels):
                continue
            members = {v for r in rels for v, _ in all_rels[r]}
            choice = self._candidate(members)
            if choice is None:
                component = self._component_of(int(k))
                members = {v for r in component for v, _ in all_rels[r]}
                choice = self._candidate(members)
            if choice is not None:
                self.hidden[choice] = True
                touched.update(self.rels_of[choice])
                added = True
        return added

    def _component_of(self, k: int) -> set[int]:
        """The relations reachable from variable ``k`` through unknown cells."""
        all_rels = self.eqs + self.ineqs
        unknown = self._unknown()
        seen_v, seen_r, todo = {k}, set(), [k]
        while todo:
            v = todo.pop()
            for r in self.rels_of[v]:
                if r in seen_r:
                    continue
                seen_r.add(r)
                for w, _ in all_rels[r]:
                    if w not in seen_v and unknown[w]:
                        seen_v.add(w)
                        todo.append(w)
        return seen_r

    # ----------------------------------------------------------------- the audit
    def _audit(self, threshold: int) -> np.ndarray:
        """Hidden counts a reader could work out exactly."""
        low, high = self.ranges(threshold)
        return self.hidden & ~self.free & (high - low < 0.5)

    def ranges(self, threshold: int) -> tuple[np.ndarray, np.ndarray]:
        """Feasible range of every unknown count given what is shown (NaN for shown cells)."""
        unknown = self._unknown()
        low = np.full(len(self.ids), np.nan)
        high = low.copy()
        for found, relations in _components(unknown, self.eqs, self.ineqs, self.rels_of):
            variables = sorted(found)
            key = (tuple(variables), tuple(relations), len(self.eqs))
            if key in self._solved:  # the same component as last round: same ranges
                low[variables], high[variables] = self._solved[key]
                continue
            lo, hi = _bounds(
                variables,
                relations,
                self.eqs,
                self.ineqs,
                values=self.values,
                unknown=unknown,
                primary=self.primary,
                free=self.free,
                threshold=threshold,
            )
            self._solved[key] = (lo, hi)
            low[variables], high[variables] = lo, hi
        return low, high


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value))


def _components(
    unknown: np.ndarray, eqs: list, ineqs: list, rels_of: list[list[int]]
) -> Iterable[tuple[list[int], list[int]]]:
    """Groups of unknown cells linked by relations, with the relations that touch them."""
    all_rels = eqs + ineqs
    seen = np.zeros(len(unknown), dtype=bool)
    for start in np.flatnonzero(unknown):
        if seen[start]:
            continue
        variables, relations, todo = [], set(), [int(start)]
        seen[start] = True
        while todo:
            v = todo.pop()
            variables.append(v)
            for r in rels_of[v]:
                if r in relations:
                    continue
                relations.add(r)
                for w, _ in all_rels[r]:
                    if unknown[w] and not seen[w]:
                        seen[w] = True
                        todo.append(w)
        yield variables, sorted(relations)


def _bounds(
    variables: list[int],
    relations: list[int],
    eqs: list,
    ineqs: list,
    *,
    values: np.ndarray,
    unknown: np.ndarray,
    primary: np.ndarray,
    free: np.ndarray,
    threshold: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Smallest and largest value of each variable of one component (linear programming)."""
    pos = {v: i for i, v in enumerate(variables)}
    lo = np.array([1.0 if primary[v] else (0.0 if free[v] else 1.0) for v in variables])
    hi = np.array([float(threshold) if primary[v] else np.inf for v in variables])
    n_eq = len(eqs)
    a_eq: list[np.ndarray] = []
    a_ub: list[np.ndarray] = []
    b_eq: list[float] = []
    b_ub: list[float] = []
    for r in relations:
        rel = eqs[r] if r < n_eq else ineqs[r - n_eq]
        row = np.zeros(len(variables))
        rhs = 0.0
        for v, coef in rel:
            if unknown[v]:
                row[pos[v]] += coef
            else:
                rhs -= coef * values[v]
        (a_eq if r < n_eq else a_ub).append(row)
        (b_eq if r < n_eq else b_ub).append(rhs)
    if not a_eq and not a_ub:
        return lo, hi
    bounds = [(lo[i], None if np.isinf(hi[i]) else hi[i]) for i in range(len(variables))]
    low, high = lo.copy(), hi.copy()
    args = {
        "A_eq": np.array(a_eq) if a_eq else None,
        "b_eq": np.array(b_eq) if b_eq else None,
        "A_ub": np.array(a_ub) if a_ub else None,
        "b_ub": np.array(b_ub) if b_ub else None,
        "bounds": bounds,
        "method": "highs",
    }
    for i in range(len(variables)):
        for sign in (1.0, -1.0):
            cost = np.zeros(len(variables))
            cost[i] = sign
            res = linprog(cost, **args)
            if res.status == 3:
                value = np.inf
            elif res.status != 0:
                raise ReportError("the release's relations are inconsistent", found=res.message)
            else:
                value = float(res.x[i])
            if sign > 0:
                low[i] = value
            else:
                high[i] = value
    return low, high


def hierarchy_relations(
    cells: Mapping[CellId, ReleaseCell], groups: pd.DataFrame, *, all_years: str
) -> tuple[list[Relation], list[Relation]]:
    """Equations and inequalities between published counts a reader knows from their meaning.

    * a group's count (model variant, host setting, phase) is the sum of its services';
    * a programme count (no service, no group) is the sum over the services that have
      counts of that indicator in the same period;
    * an all-years count is the sum of the years' counts when that holds (events), and
      otherwise at least each year's and at most their sum (distinct people).
    """
    counts = {cid: c for cid, c in cells.items() if c.kind == "count"}
    by_rest: dict[CellId, dict[str, CellId]] = {}
    services_in: dict[tuple[str, str], set[str]] = {}
    for cid in counts:
        service = cid.get("service_id")
        if service != "Total":
            by_rest.setdefault(cid.with_dims(service_id=None), {})[service] = cid
            services_in.setdefault((cid.indicator, cid.get("time_period")), set()).add(service)
    equations: list[Relation] = []
    inequalities: list[Relation] = []
    for cid in counts:
        if cid.get("service_id") != "Total":
            continue
        dims = [d for d in GROUP_DIMS if cid.get(d) != "Total"]
        if len(dims) > 1:
            continue
        base = cid.with_dims(**dict.fromkeys(GROUP_DIMS))
        if dims:
            members = groups.index[groups[dims[0]] == cid.get(dims[0])]
        else:
            members = pd.Index(
                sorted(services_in.get((cid.indicator, cid.get("time_period")), set()))
            )
        if members.empty:
            continue
        eq: dict[CellId, float] = {base.with_dims(service_id=s): 1.0 for s in members}
        eq[cid] = eq.get(cid, 0.0) - 1.0
        equations.append(eq)
    for cid in counts:
        if cid.get("time_period") != all_years:
            continue
        years = [
            cid.with_dims(time_period=y)
            for y in _years_of(all_years)
            if cid.with_dims(time_period=y) in counts
        ]
        if not years:
            continue
        total = cell_number(counts[cid])
        parts = [cell_number(counts[y]) for y in years]
        if not np.isnan(total) and not np.isnan(parts).any() and sum(parts) == total:
            eq = {y: 1.0 for y in years}
            eq[cid] = -1.0
            equations.append(eq)
        else:
            inequalities.extend({y: 1.0, cid: -1.0} for y in years)
            upper: dict[CellId, float] = {y: -1.0 for y in years}
            upper[cid] = 1.0
            inequalities.append(upper)
    return equations, inequalities


def _years_of(label: str) -> list[str]:
    first, last = (int(x) for x in label.split("-"))
    return [str(y) for y in range(first, last + 1)]


def cell_number(cell: ReleaseCell) -> float:
    """A cell's value as a float (NaN when not a number)."""
    try:
        return float(cell.value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return float("nan")


def relation_groups(cells: Iterable[CellId], dim: str) -> dict[CellId, list[CellId]]:
    """Ids grouped by everything but one dimension (helper for building hierarchies)."""
    groups: dict[CellId, list[CellId]] = defaultdict(list)
    for cid in cells:
        groups[cid.with_dims(**{dim: None})].append(cid)
    return groups
