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
count whose hiding leaves no new relation with a single unknown, parts before totals,
smallest first), then every hidden cell is audited with linear programming (is there
a solution consistent with everything shown, every relation, and every hidden count
at least 1, in which it takes another value?); a cell with no such solution gets a
shown count hidden from the relations that pin it (those with a non-zero dual in its
LPs: the proof a reader would use), else a neighbour, and the loop repeats until none
is pinned.
The audit works one connected group of hidden cells at a time (cells linked by a
relation), so its cost grows with the size of those groups, not of the release. The
groups are independent, so a national release's audit shares them with a second
process (:class:`_AuditHelper`); the release is the same whoever audits a group.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, TypeVar

import highspy
import numpy as np
import pandas as pd

from hubspoke import config
from hubspoke.errors import ReportError
from hubspoke.privacy.table import Cell, CellId, Table, cell_frame

if TYPE_CHECKING:  # imported where used: a report reading a saved release never needs it
    from scipy import sparse

#: Dimensions that group services; each service is in exactly one value of each.
GROUP_DIMS: Final = ("model_variant", "host_setting", "phase")
#: Shown for a value that is not available (GSS symbol).
NOT_AVAILABLE = "x"
#: Relation: coefficients over cell ids; ``== 0`` for equations, ``<= 0`` for inequalities.
Relation = Mapping[CellId, float]

#: The largest group of hidden cells audited exactly; larger ones neighbourhood first.
#: Most of a national group's cells are quantities no table shows, its LPs have a row per
#: relation (a few thousand): the largest group of the 150-service release (about 11,600
#: cells) is audited exactly in seconds.
EXACT_LIMIT: Final = 50_000
#: In a large group with more cells to check than this, a few LPs over the whole group first.
MANY: Final = 400
#: Neighbourhoods tried for a cell of a large group: relation steps from the cell.
NEIGHBOURHOODS: Final = (1, 2, 4)
#: Counts from which the audit shares its groups with a second process (a national
#: release: its first audit has thousands of groups, about 17 s of LPs). Below it the
#: audit takes a second or two and starting the process would cost as much as it saves.
PARALLEL_MIN_COUNTS: Final = 20_000


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

    cells: Mapping[CellId, ReleaseCell]
    hidden: AbstractSet[CellId]
    primary: AbstractSet[CellId]
    equations: Sequence[Relation] = field(default_factory=list)
    inequalities: Sequence[Relation] = field(default_factory=list)
    threshold: int = config.SUPPRESSION_THRESHOLD
    symbol: str = config.SUPPRESSION_SYMBOL
    residual: frozenset[CellId] = frozenset()

    @classmethod
    def empty(cls) -> Release:
        """A release of no counts: views of tables of words and figures only."""
        return cls(cells={}, hidden=frozenset(), primary=frozenset())

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
        """The table as a funder sees it; every cell must be in the release with the same value.

        Each cell is looked up once and the two frames are built whole from the results
        (a cell-by-cell assignment into a frame cost most of a report's table time).
        """
        shown = [self._view_cell(table, cell) for cell in table.cells()]
        frame = table.frame
        return Shown(
            table=table,
            display=cell_frame([text for text, _ in shown], frame=frame, dtype=object),
            hidden=cell_frame([hide for _, hide in shown], frame=frame, dtype=bool),
            symbol=self.symbol,
        )

    def _view_cell(self, table: Table, cell: Cell) -> tuple[str, bool]:
        """One cell as a funder sees it (text, hidden), refusing a cell unknown or out of date."""
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
        if (cell.id in self.hidden) or any(self.is_hidden(s) for s in cell.sources):
            return self.symbol, True
        dp = getattr(table.cell_spec(cell.row, cell.column), "dp", 0)
        return format_value(cell.value, kind=cell.kind, dp=dp), False


@dataclass(frozen=True, repr=False)
class Shown:
    """A table as a funder sees it: ``display`` strings and the ``hidden`` mask."""

    table: Table
    display: pd.DataFrame
    hidden: pd.DataFrame
    symbol: str

    def __repr__(self) -> str:
        rows, columns = self.display.shape
        return f"<Shown {self.table.family} table: {rows} x {columns}, {int(self.hidden.to_numpy().sum())} hidden>"

    def _ipython_display_(self) -> None:
        """Show nothing: the display helper that returned this has already shown the table,
        so a notebook cell ending in one echoes neither a second copy nor the true values."""

    @property
    def visible(self) -> pd.DataFrame:
        """The numbers a chart may draw: true values, NaN wherever the table hides one."""
        numbers = self.table.frame.apply(pd.to_numeric, errors="coerce").astype(float)
        return numbers.mask(self.hidden)

    @property
    def any_hidden(self) -> bool:
        """Whether the table hides anything."""
        return bool(self.hidden.to_numpy().any())


def footnote(
    *,
    threshold: int = config.SUPPRESSION_THRESHOLD,
    symbol: str = config.SUPPRESSION_SYMBOL,
    missing: bool = False,
    not_applicable: bool = False,
) -> str:
    """The key to the symbols (GSS): ``c`` suppressed, and ``x`` / ``z`` when asked for.

    One key per page (``hubspoke.present.display.symbol_key``), not one under every table.
    """
    small = "a count of 1" if threshold == 1 else f"a count from 1 to {threshold}"
    text = (
        f"{symbol} = suppressed: {small}, or a value from which one could be worked out, "
        "is not shown to protect confidentiality (DfE convention)."
    )
    text += f" {NOT_AVAILABLE} = not available." if missing else ""
    return text + (" z = not applicable." if not_applicable else "")


def format_value(value: object, *, kind: str, dp: int = 0) -> str:
    """One value as text: counts with thousands separators, numbers to ``dp`` places, ``x`` when missing.

    A number in a text column is never printed at full float precision: a whole number
    as it is (a year stays ``2014``), any other to ``dp`` places (2 when ``dp`` is 0).
    """
    if (
        value is None
        or value is pd.NA
        or (isinstance(value, float | np.floating) and np.isnan(value))
    ):
        return NOT_AVAILABLE
    if isinstance(value, str):
        return value
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if not isinstance(value, int | float | np.integer | np.floating):
        return str(value)
    number = float(value)
    if kind == "count":
        return f"{int(round(number)):,}"
    if kind == "text":
        return str(int(number)) if number.is_integer() else f"{number:.{dp or 2}f}"
    return f"{number:,.{dp}f}"


def _same(a: object, b: object) -> bool:
    if _missing(a) or _missing(b):
        return _missing(a) and _missing(b)
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
    spec = table.cell_spec(cell.row, cell.column)
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
    know_primary: bool = False,
    jobs: int | None = None,
) -> Release:
    """Primary and secondary suppression of every count in ``cells``, jointly (see module docstring).

    ``know_primary``: audit against a reader who also knows which hidden cells were hidden
    for being small (so lie in 1..threshold). Readers cannot tell, so the default audits
    against what they can see: every hidden count is at least 1 (zeros are shown).
    ``jobs``: processes for the audit (``None``: one per core). A second one is used from
    :data:`PARALLEL_MIN_COUNTS` counts; the release is the same with any number.
    """
    workers = jobs or os.cpu_count() or 1
    helper = _AuditHelper() if workers > 1 and _count_cells(cells) >= PARALLEL_MIN_COUNTS else None
    try:
        model = _Model.build(cells, equations, inequalities)  # the helper starts meanwhile
        model.know_primary = know_primary
        if helper is not None:
            model.helper = helper.load(model)
        model.protect(threshold)
    finally:
        if helper is not None:
            helper.close()
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
        from scipy import sparse

        self.ids = ids
        self.values = values
        self.free = np.isnan(values)
        self.eqs = eqs
        self.ineqs = ineqs
        self.primary = np.zeros(len(ids), dtype=bool)
        self.hidden = np.zeros(len(ids), dtype=bool)
        self.residual = np.zeros(len(ids), dtype=bool)
        self.threshold = config.SUPPRESSION_THRESHOLD
        self.rels_of: list[list[int]] = [[] for _ in ids]
        #: Equations then inequalities, indexed like ``rels_of`` (built once: the audit walks it).
        self.all_rels: list = eqs + ineqs
        for r, rel in enumerate(self.all_rels):
            for v, _ in rel:
                self.rels_of[v].append(r)
        self.know_primary = False
        #: A second process the audit shares its groups with (:class:`_AuditHelper`), or None.
        self.helper: _AuditHelper | None = None
        #: For each cell the last audit found pinned, the relations its proof uses (the
        #: relations with a non-zero dual in the LPs that could not move it).
        self.proofs: dict[int, set[int]] = {}
        #: Every relation as one sparse row (same order as ``all_rels``): the LPs' rows are sliced from it.
        self.matrix = _relation_matrix(self.all_rels, len(ids))
        self.reference = _reference_values(
            values, self.all_rels, self.rels_of, matrix=self.matrix, n_eq=len(eqs)
        )
        #: What every group's audit reads besides the group (the helper gets it once).
        self.inputs = _Inputs(self.matrix, len(eqs), self.reference, self.free)
        rows = [r for r, rel in enumerate(eqs) for _ in rel]
        cols = [v for rel in eqs for v, _ in rel]
        #: Equations x cells, 1 where a cell is in an equation (to count unknowns per equation).
        self.incidence = sparse.csr_array(
            (np.ones(len(rows)), (rows, cols)), shape=(len(eqs), len(ids))
        )
        #: Unknown cells per equation, kept up to date by :meth:`_hide`.
        self.eq_unknown = np.zeros(len(eqs), dtype=int)
        self.is_total = np.zeros(len(ids), dtype=int)  # in how many equations a cell is the total
        for rel in eqs:
            for v, coef in rel:
                if coef < 0:
                    self.is_total[v] += 1

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
        _check_true(eqs, values, ids, equal=True)  # type: ignore[arg-type]
        _check_true(ineqs, values, ids, equal=False)  # type: ignore[arg-type]
        return cls(ids, np.array(values, dtype=float), eqs, ineqs)  # type: ignore[arg-type]

    # ----------------------------------------------------------------- the loop
    def protect(self, threshold: int) -> None:
        known = ~self.free
        self.threshold = threshold
        self.primary = known & (self.values >= 1) & (self.values <= threshold)
        self.hidden = self.primary.copy()
        self.eq_unknown = np.rint(self.incidence @ self._unknown().astype(float)).astype(int)
        # Hiding more cells only widens what a reader can deduce, so after the first audit
        # only the cells pinned last time and the cells hidden since need checking again.
        check = np.ones(len(self.ids), dtype=bool)
        for _ in range(len(self.ids) + 1):
            before = self.hidden.copy()
            self._secure_lines()
            check |= self.hidden & ~before
            pinned = self._audit(threshold, check=check) & ~self.residual
            if not pinned.any():
                return
            before = self.hidden.copy()
            if not self._widen(pinned):
                # Nothing left to hide near them: a cell of a large group may only have
                # looked pinned from its neighbourhoods, so check it on its whole group.
                self.residual |= self._exact_pinned(pinned)
                pinned &= self.residual
            check = (pinned & ~self.residual) | (self.hidden & ~before)
            if not check.any():
                return
        raise ReportError("secondary suppression did not settle; please report this release")

    def _exact_pinned(self, cells: np.ndarray) -> np.ndarray:
        """Which of ``cells`` a reader can work out, each audited on its whole group
        however large (for the few cells no neighbourhood could move)."""
        unknown = self._unknown()
        primary = self.primary if self.know_primary else np.zeros_like(self.primary)
        group = _Group(self, unknown=unknown, primary=primary, threshold=self.threshold)
        out = np.zeros(len(self.ids), dtype=bool)
        for k in np.flatnonzero(cells):
            variables, relations, _ = _component(int(k), unknown, self.all_rels, self.rels_of)
            test = np.array([v == k for v in variables])
            out[variables] |= group.pinned(variables, relations, test=test)
        return out

    def _unknown(self) -> np.ndarray:
        return self.hidden | self.free

    def _hide(self, v: int) -> list[int]:
        """Hide cell ``v``; the equations it leaves with a single unknown cell."""
        if self.hidden[v] or self.free[v]:
            return []
        self.hidden[v] = True
        n_eq = len(self.eqs)
        lonely = []
        for r in self.rels_of[v]:
            if r < n_eq:
                self.eq_unknown[r] += 1
                if self.eq_unknown[r] == 1:
                    lonely.append(r)
        return lonely

    def _secure_lines(self) -> None:
        """Give every equation with exactly one unknown count a second one."""
        todo = [int(r) for r in np.flatnonzero(self.eq_unknown == 1)]
        while todo:
            r = todo.pop()
            if self.eq_unknown[r] != 1:
                continue
            choice = self._candidate({v for v, _ in self.eqs[r]})
            if choice is None:  # only zeros or unknowns left: the audit decides
                continue
            todo.extend(self._hide(choice))

    def _candidates(self, members: Iterable[int]) -> list[int]:
        """The shown non-zero counts among ``members``, those whose hiding costs least first.

        Least: first parts before totals (a total hidden hides every percentage of it),
        the more tables a cell totals the later; then a cell that leaves no other equation
        with a single hidden cell (which would need one more, and so on); then the
        smallest count.
        """
        unknown = self._unknown()
        n_eq = len(self.eqs)

        def lonely(v: int) -> int:  # v is shown: its equations with no unknown cell yet
            return sum(1 for r in self.rels_of[v] if r < n_eq and self.eq_unknown[r] == 0)

        options = sorted(
            (int(self.is_total[v]), lonely(v), self.values[v], v)
            for v in members
            if not unknown[v] and self.values[v] > 0
        )
        return [int(o[3]) for o in options]

    def _candidate(self, members: Iterable[int]) -> int | None:
        """The cheapest shown count among ``members`` to hide (see :meth:`_candidates`)."""
        options = self._candidates(members)
        return options[0] if options else None

    def _widen(self, pinned: np.ndarray) -> bool:
        """Hide a neighbour of each pinned cell; False if nothing is left to hide.

        Where the audit kept the proof that pins a cell (the relations its LPs rest on),
        the cheapest shown count of those relations is hidden: that breaks the proof.
        ("Assessed" is pinned by "all young people" minus "not recorded" (0) when both
        are shown: only hiding "all young people" frees it, however many of its
        neighbours are hidden.) Otherwise see :meth:`_neighbour`.
        """
        added = False
        touched: set[int] = set()
        unknown = self._unknown()
        for k in np.flatnonzero(pinned):
            if touched.intersection(self.rels_of[k]):
                continue
            proof = self.proofs.get(int(k), set())
            choice = self._candidate({v for r in proof for v, _ in self.all_rels[r]})
            if choice is None:
                choice = self._neighbour(int(k), unknown)
            if choice is not None:
                self._hide(choice)
                unknown[choice] = True
                touched.update(self.rels_of[choice])
                added = True
        return added

    def _neighbour(self, k: int, unknown: np.ndarray) -> int | None:
        """The count to hide beside pinned cell ``k`` when no proof names one.

        Looked for among the cells of ``k``'s relations and of the relations of the hidden
        cells beside it (two steps: "not recorded" is pinned by total minus assessed when
        assessed is shown in another table), cheapest first (see :meth:`_candidate`);
        failing that, or where that is a total of several tables, anywhere in its group of
        hidden cells.
        """
        all_rels = self.all_rels
        near = {v for r in self.rels_of[k] for v, _ in all_rels[r]}
        around = {v for u in near if unknown[u] for r in self.rels_of[u] for v, _ in all_rels[r]}
        choice = self._candidate(near | around)
        if choice is None or self.is_total[choice] > 1:  # a total of several tables: last resort
            members = {v for r in self._component_of(k) for v, _ in all_rels[r]}
            wider = self._candidate(members)
            if wider is not None and (
                choice is None or self.is_total[wider] < self.is_total[choice]
            ):
                choice = wider
        return choice

    def _component_of(self, k: int, *, limit: int = EXACT_LIMIT) -> set[int]:
        """The relations reachable from variable ``k`` through unknown cells (the first
        ``limit`` found: in a national release the group can hold most of it)."""
        all_rels = self.all_rels
        unknown = self._unknown()
        seen_v, todo = {k}, [k]
        seen_r: set[int] = set()
        while todo and len(seen_r) < limit:
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
    def _audit(self, threshold: int, *, check: np.ndarray) -> np.ndarray:
        """Which hidden counts among ``check`` a reader could work out exactly (one LP group at a time).

        A group of up to :data:`EXACT_LIMIT` cells is audited exactly. In a larger one
        (service -> group -> programme sums tie many services' hidden cells together at
        national scale) a cell is moved within its neighbourhood, every other cell held at
        a solution of the relations (the true counts; for quantities no table shows, one
        solution found once): a move found there is a move of the whole group too, so the
        cell is safe. A cell that no neighbourhood moves is counted as pinned (so gets a
        neighbour hidden: more suppression, never less protection).
        """
        unknown = self._unknown()
        pinned = np.zeros(len(self.ids), dtype=bool)
        wanted = check & self.hidden & ~self.free
        done = np.zeros(len(self.ids), dtype=bool)
        primary = self.primary if self.know_primary else np.zeros_like(self.primary)
        self.proofs = {}
        groups: list[_Task] = []  # whole groups, audited exactly below
        for start in np.flatnonzero(wanted):
            if done[start]:
                continue
            variables, relations, whole = _component(
                int(start), unknown, self.all_rels, self.rels_of, limit=EXACT_LIMIT + 1
            )
            done[variables] = True
            if whole:
                groups.append((variables, relations, wanted[variables]))
                continue
            group = _Group(self, unknown=unknown, primary=primary, threshold=threshold)
            pinned |= group.pinned_large(variables, relations, wanted=wanted)
        # The groups are disjoint and each one's audit reads only what is shown, so they
        # may be audited in any order and by any process: the results are the same.
        audited = self._audit_groups(groups, unknown=unknown, primary=primary, threshold=threshold)
        for (variables, _, _), (found, proofs) in zip(groups, audited, strict=True):
            pinned[variables] = found
            self.proofs.update((variables[i], rels) for i, rels in proofs.items())
        return pinned

    def _audit_groups(
        self, groups: list[_Task], *, unknown: np.ndarray, primary: np.ndarray, threshold: int
    ) -> list[_Audited]:
        """:func:`_audit_group` of each group, in order; shared with the helper when there is one."""
        if self.helper is None or len(groups) < 2:
            return [_audit_group(self.inputs, g, unknown, primary, threshold) for g in groups]
        return self.helper.share(
            self.inputs, groups, unknown=unknown, primary=primary, threshold=threshold
        )


_T = TypeVar("_T")
#: One whole group to audit: its cells, the relations touching them, which cells to test.
_Task = tuple[list[int], list[int], np.ndarray]
#: A group's audit: which of its cells are pinned, and the relations that pin each one.
_Audited = tuple[np.ndarray, dict[int, set[int]]]


@dataclass(frozen=True)
class _Inputs:
    """What a group's audit reads besides the group: fixed for the whole suppression."""

    matrix: sparse.csr_array
    n_eq: int
    reference: np.ndarray
    free: np.ndarray


def _audit_group(
    inputs: _Inputs, task: _Task, unknown: np.ndarray, primary: np.ndarray, threshold: int
) -> _Audited:
    """Which cells of one whole group a reader can work out (:func:`_pinned`), with their proofs."""
    variables, relations, test = task
    proofs: dict[int, set[int]] = {}
    found = _pinned(
        inputs,
        variables,
        relations,
        unknown=unknown,
        primary=primary,
        test=test,
        threshold=threshold,
        proofs=proofs,
    )
    return found, proofs


def _count_cells(cells: Mapping[CellId, ReleaseCell]) -> int:
    return sum(1 for cell in cells.values() if cell.kind == "count")


#: The helper process's copy of the suppression's fixed inputs (set by :func:`_helper_load`).
_HELPER_INPUTS: dict[str, _Inputs] = {}


def _helper_start() -> None:
    """The helper leaves Ctrl-C to the process that started it (which stops it), so no
    traceback of its own."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _helper_load(inputs: _Inputs) -> None:
    _HELPER_INPUTS.clear()
    _HELPER_INPUTS["inputs"] = inputs


def _helper_audit(
    tasks: list[_Task], unknown: bytes, primary: bytes, n: int, threshold: int
) -> list[_Audited]:
    """The helper's share: the groups' audits, each against the inputs loaded before."""
    inputs = _HELPER_INPUTS["inputs"]  # KeyError when not loaded: the caller audits them itself
    hidden = np.unpackbits(np.frombuffer(unknown, dtype=np.uint8), count=n).astype(bool)
    small = np.unpackbits(np.frombuffer(primary, dtype=np.uint8), count=n).astype(bool)
    return [_audit_group(inputs, task, hidden, small, threshold) for task in tasks]


class _AuditHelper:
    """A second process that audits a share of each audit's groups (a national release).

    Started before the model is built (its imports overlap that), given the fixed inputs
    once (:meth:`load`), then sent chunks of groups, the largest first; this process
    audits chunks from the smallest end, each one the helper has not started, until the
    two meet (:meth:`share`). A chunk the helper fails on is audited here: the result
    never depends on which process audited what.
    """

    #: Chunks per audit: enough that the two processes end close together.
    CHUNKS: Final = 24

    def __init__(self) -> None:
        self.pool = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_helper_start,
        )
        self._submit(int)  # start it now: its imports while the model is built

    def _submit(self, fn: Callable[..., _T], *args: object) -> Future[_T] | None:
        """``fn(*args)`` queued for the helper; None when it can take no more work (it died)."""
        try:
            return self.pool.submit(fn, *args)
        except Exception:  # noqa: BLE001 - a broken helper: this process audits everything
            return None

    def load(self, model: _Model) -> _AuditHelper:
        self._submit(_helper_load, model.inputs)  # one helper, first in, first run
        return self

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

    def share(
        self,
        inputs: _Inputs,
        groups: list[_Task],
        *,
        unknown: np.ndarray,
        primary: np.ndarray,
        threshold: int,
    ) -> list[_Audited]:
        """Each group's audit, in order, shared between the helper and this process."""
        chunks = _chunks(groups, self.CHUNKS)  # biggest first
        n = len(unknown)
        packed = np.packbits(unknown).tobytes(), np.packbits(primary).tobytes()
        futures = [
            self._submit(_helper_audit, [groups[i] for i in chunk], *packed, n, threshold)
            for chunk in chunks
        ]
        out: dict[int, _Audited] = {}

        def here(chunk: list[int]) -> None:
            for i in chunk:
                out[i] = _audit_group(inputs, groups[i], unknown, primary, threshold)

        for chunk, future in zip(reversed(chunks), reversed(futures), strict=True):
            if future is not None and not future.cancel():
                break  # the helper has it: the two met
            here(chunk)
        for chunk, future in zip(chunks, futures, strict=True):
            if chunk[0] in out:  # audited here already
                continue
            try:
                found = future.result() if future is not None else None
            except Exception:  # noqa: BLE001 - the helper failed: the same audit, here
                found = None
            if found is None:
                here(chunk)
            else:
                out.update(zip(chunk, found, strict=True))
        return [out[i] for i in range(len(groups))]


def _chunks(groups: Sequence[_Task], count: int) -> list[list[int]]:
    """The groups' positions in at most ``count`` chunks of about equal work, heaviest first.

    A group's work is taken as its cells plus its relations (the size of its LPs).
    """
    weight = [len(v) + len(r) for v, r, _ in groups]
    order = sorted(range(len(groups)), key=lambda i: (-weight[i], i))
    share = max(1.0, sum(weight) / max(1, count))
    chunks: list[list[int]] = [[]]
    held = 0.0
    for i in order:
        if chunks[-1] and held + weight[i] > share:
            chunks.append([])
            held = 0.0
        chunks[-1].append(i)
        held += weight[i]
    return chunks


class _Group:
    """The audit of one group of hidden cells (see :meth:`_Model._audit`)."""

    def __init__(
        self, model: _Model, *, unknown: np.ndarray, primary: np.ndarray, threshold: int
    ) -> None:
        self.model = model
        self.unknown = unknown
        self.primary = primary
        self.threshold = threshold

    def pinned(
        self,
        variables: list[int],
        relations: list[int],
        *,
        test: np.ndarray,
        unknown: np.ndarray | None = None,
        exhaustive: bool = True,
        proofs: dict[int, set[int]] | None = None,
    ) -> np.ndarray:
        return _pinned(
            self.model.inputs,
            variables,
            relations,
            unknown=self.unknown if unknown is None else unknown,
            primary=self.primary,
            test=test,
            threshold=self.threshold,
            exhaustive=exhaustive,
            proofs=proofs,
        )

    def pinned_large(
        self, variables: list[int], relations: list[int], *, wanted: np.ndarray
    ) -> np.ndarray:
        """The wanted cells of a part of a large group that no neighbourhood moves.

        ``variables``: up to :data:`EXACT_LIMIT` cells of the group, ``relations`` every
        relation touching them; the rest of the group is held at the reference solution.
        """
        m = self.model
        out = np.zeros(len(m.ids), dtype=bool)
        todo = [v for v in variables if wanted[v]]
        if len(todo) > MANY:  # many cells: a few LPs over this part of the group settle most
            part = np.zeros(len(m.ids), dtype=bool)
            part[variables] = True
            test = wanted[variables]
            open_ = self.pinned(variables, relations, test=test, unknown=part, exhaustive=False)
            todo = [v for v, o in zip(variables, open_, strict=True) if o]
        settled: set[int] = set()
        for v in todo:
            if v in settled:
                continue
            moved = False
            for depth in NEIGHBOURHOODS:
                near, rels = self._neighbourhood(v, depth)
                local = np.zeros(len(m.ids), dtype=bool)
                local[near] = True
                test = np.array([u == v or (wanted[u] and u not in settled) for u in near])
                open_ = self.pinned(near, rels, test=test, unknown=local, exhaustive=False)
                settled.update(u for u, t, o in zip(near, test, open_, strict=True) if t and not o)
                if v in settled:
                    moved = True
                    break
            if not moved:
                out[v] = True
        return out

    def _neighbourhood(self, v: int, depth: int) -> tuple[list[int], list[int]]:
        """Unknown cells within ``depth`` relation steps of ``v``, and the relations touching them."""
        m = self.model
        all_rels = m.all_rels
        seen = {v}
        frontier = [v]
        for _ in range(depth):
            nxt = []
            for u in frontier:
                for r in m.rels_of[u]:
                    for w, _ in all_rels[r]:
                        if self.unknown[w] and w not in seen:
                            seen.add(w)
                            nxt.append(w)
            frontier = nxt
        rels = sorted({r for u in seen for r in m.rels_of[u]})
        return sorted(seen), rels


def _reference_values(
    values: np.ndarray,
    all_rels: list,
    rels_of: list[list[int]],
    *,
    matrix: sparse.csr_array,
    n_eq: int,
) -> np.ndarray:
    """The true counts, and for quantities no table shows one value consistent with them.

    Holding cells outside a neighbourhood at these values keeps every relation true, so a
    solution found inside the neighbourhood is a solution of the whole release.
    """
    out = np.array(values, dtype=float)
    free = np.isnan(out)
    done = np.zeros(len(out), dtype=bool)
    for start in np.flatnonzero(free):
        if done[start]:
            continue
        variables, relations, _ = _component(int(start), free, all_rels, rels_of)
        done[variables] = True
        if not relations:
            out[variables] = 0.0
            continue
        system = _rows(variables, relations, matrix=matrix, n_eq=n_eq, values=out, unknown=free)
        n = len(variables)
        lp = _LpModel(*system, lo=np.zeros(n), hi=np.full(n, _CAP))
        out[variables] = lp.minimise(np.zeros(n))
    return out


def _check_true(
    relations: list[list[tuple[int, float]]], values: list[float], ids: list[CellId], *, equal: bool
) -> None:
    """Every relation must hold on the true values (a false one would mislead the audit)."""
    for rel in relations:
        parts = [values[v] * coef for v, coef in rel]
        if any(np.isnan(p) for p in parts):
            continue
        total = sum(parts)
        if (abs(total) > 1e-6) if equal else (total > 1e-6):
            raise ReportError(
                "a relation between published numbers does not hold on the data "
                "(two tables count different things under one name?)",
                found="; ".join(f"{coef:+g} x {ids[v].key} (= {values[v]:g})" for v, coef in rel),
            )


def _missing(value: object) -> bool:
    """None, pandas' NA and NaN alike (a value read back from disk may be any of them)."""
    return (
        value is None
        or value is pd.NA
        or (isinstance(value, float | np.floating) and bool(np.isnan(value)))
    )


def _component(
    start: int,
    unknown: np.ndarray,
    all_rels: list,
    rels_of: list[list[int]],
    *,
    limit: int | None = None,
) -> tuple[list[int], list[int], bool]:
    """The unknown cells linked to ``start`` by relations, the relations that touch them, and
    whether that is the whole group (False when it was cut at ``limit`` cells)."""
    seen = {start}
    relations: set[int] = set()
    todo = [start]
    while todo:
        if limit is not None and len(seen) >= limit:
            return sorted(seen), sorted({r for u in seen for r in rels_of[u]}), False
        v = todo.pop()
        for r in rels_of[v]:
            if r in relations:
                continue
            relations.add(r)
            for w, _ in all_rels[r]:
                if unknown[w] and w not in seen:
                    seen.add(w)
                    todo.append(w)
    return sorted(seen), sorted(relations), True


#: Most LPs with an objective over every unproven cell of a group, before one cell at a time.
MAX_ATTEMPTS: Final = 12
#: A cap on every variable while searching for alternative solutions (keeps LPs bounded).
_CAP = 1e7


def _quiet_highs() -> highspy.Highs:
    """A HiGHS solver that prints nothing (its banner is written to the process's stdout)."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            highs = highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    highs.setOptionValue("output_flag", False)
    # Each model is re-solved with new objectives only: its last basis stays feasible, so
    # the primal simplex from that basis (no presolve) is the quick way back to an optimum.
    highs.setOptionValue("simplex_strategy", 4)
    highs.setOptionValue("presolve", "off")
    return highs


class _LpModel:
    """One group's relations in one HiGHS model, re-solved with new objectives (warm start).

    Built once per group of hidden cells; each objective re-uses the last basis, which is
    several times faster than a fresh ``linprog`` per bound.
    """

    def __init__(
        self,
        matrix: sparse.csc_array,
        row_lower: np.ndarray,
        row_upper: np.ndarray,
        *,
        lo: np.ndarray,
        hi: np.ndarray,
    ) -> None:
        m, n = matrix.shape
        self.n = n
        lp = highspy.HighsLp()
        lp.num_col_ = n
        lp.num_row_ = m
        lp.col_cost_ = np.zeros(n)
        lp.col_lower_ = np.asarray(lo, dtype=float)
        lp.col_upper_ = np.asarray(hi, dtype=float)
        lp.row_lower_ = row_lower
        lp.row_upper_ = row_upper
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = matrix.indptr.astype(np.int32)
        lp.a_matrix_.index_ = matrix.indices.astype(np.int32)
        lp.a_matrix_.value_ = matrix.data
        self.highs = _quiet_highs()
        self.highs.passModel(lp)
        self.columns = np.arange(n, dtype=np.int32)

    def minimise(self, cost: np.ndarray) -> np.ndarray:
        """The solution minimising ``cost @ x`` (raises if the relations have no solution)."""
        self.highs.changeColsCost(self.n, self.columns, np.asarray(cost, dtype=float))
        self.highs.run()
        status = self.highs.getModelStatus()
        if status != highspy.HighsModelStatus.kOptimal:
            raise ReportError(
                "the release's relations are inconsistent",
                found=self.highs.modelStatusToString(status),
            )
        return np.asarray(self.highs.getSolution().col_value)

    def binding_rows(self) -> np.ndarray:
        """The rows with a non-zero dual in the last solution (the relations its bound rests on)."""
        return np.flatnonzero(np.abs(np.asarray(self.highs.getSolution().row_dual)) > 1e-9)


def _relation_matrix(all_rels: list, n: int) -> sparse.csr_array:
    """Relations (lists of (cell, coefficient)) as the rows of one sparse matrix over ``n`` cells."""
    from scipy import sparse

    rows = np.fromiter((r for r, rel in enumerate(all_rels) for _ in rel), dtype=np.int64)
    cols = np.fromiter((v for rel in all_rels for v, _ in rel), dtype=np.int64)
    data = np.fromiter((c for rel in all_rels for _, c in rel), dtype=float)
    matrix = sparse.csr_array((data, (rows, cols)), shape=(len(all_rels), n))
    matrix.sum_duplicates()
    return matrix


def _row_order(relations: list[int], n_eq: int) -> np.ndarray:
    """``relations`` in the order :func:`_rows` makes them rows: equations, then inequalities."""
    rel = np.asarray(relations, dtype=np.int64)
    return np.concatenate([rel[rel < n_eq], rel[rel >= n_eq]])


def _rows(
    variables: list[int],
    relations: list[int],
    *,
    matrix: sparse.csr_array,
    n_eq: int,
    values: np.ndarray,
    unknown: np.ndarray,
) -> tuple[sparse.csc_array, np.ndarray, np.ndarray]:
    """The relations as rows over ``variables`` with their bounds, known cells moved right.

    Rows of ``matrix`` (equations first: the first ``n_eq``), equations before
    inequalities; an equation's bounds are both its right-hand side, an inequality's
    ``-inf`` and its right-hand side.
    """
    from scipy import sparse

    rel = _row_order(relations, n_eq)
    sub = matrix[rel].tocoo()
    cols = sub.col.astype(np.int64)
    is_unknown = unknown[cols]
    known = ~is_unknown
    rhs = -np.bincount(
        sub.row[known], weights=sub.data[known] * values[cols[known]], minlength=len(rel)
    )
    pos = np.full(matrix.shape[1], -1, dtype=np.int64)
    pos[np.asarray(variables, dtype=np.int64)] = np.arange(len(variables))
    system = sparse.csc_array(
        (sub.data[is_unknown], (sub.row[is_unknown], pos[cols[is_unknown]])),
        shape=(len(rel), len(variables)),
    )
    system.sum_duplicates()
    lower = np.where(rel < n_eq, rhs, -highspy.kHighsInf)
    return system, lower.astype(float), rhs.astype(float)


def _pinned(
    inputs: _Inputs,
    variables: list[int],
    relations: list[int],
    *,
    unknown: np.ndarray,
    primary: np.ndarray,
    test: np.ndarray,
    threshold: int,
    exhaustive: bool = True,
    proofs: dict[int, set[int]] | None = None,
) -> np.ndarray:
    """Which of the ``test`` variables of one group of hidden cells a reader can work out exactly.

    A hidden count is safe once some solution consistent with everything shown gives it
    another value (at least 0.5 away from the true one; the true values are a solution
    too). A few LPs with objectives over all cells still unproven settle most of them at
    once; each one left gets its own minimum and maximum. Only a cell whose minimum and
    maximum both stay within 0.5 of its value is pinned. ``inputs``: the relations, a
    solution of every one of them (``reference``: cells outside ``unknown`` are held at
    it) and the quantities no table shows (``free``: at least 0, never tested). With ``exhaustive=False`` the per-cell LPs are
    skipped and the cells still unproven are returned instead (not known to be pinned).
    ``proofs``, when given, receives for each pinned variable (its position in ``variables``)
    the relations with a non-zero dual in the LPs that could not move it: the relations that
    pin it, so hiding a shown count of one of them breaks that proof.
    """
    matrix, n_eq, values, free = inputs.matrix, inputs.n_eq, inputs.reference, inputs.free
    n = len(variables)
    is_free = free[variables]
    lo = np.where(is_free, 0.0, 1.0)
    hi = np.array([float(threshold) if primary[v] else _CAP for v in variables])
    true = values[variables]
    todo = {i for i in range(n) if test[i] and not is_free[i]}
    if not relations:
        return np.array([i in todo and hi[i] - lo[i] < 0.5 for i in range(n)])
    system = _rows(variables, relations, matrix=matrix, n_eq=n_eq, values=values, unknown=unknown)
    model = _LpModel(*system, lo=lo, hi=hi)

    def settle(x: np.ndarray) -> None:
        todo.difference_update({i for i in todo if abs(x[i] - true[i]) >= 0.5})

    rng = np.random.default_rng(15)
    for attempt in range(MAX_ATTEMPTS):
        if not todo:
            break
        before = len(todo)
        cost = np.zeros(n)
        idx = sorted(todo)
        cost[idx] = (1.0, -1.0)[attempt] if attempt < 2 else rng.choice((-1.0, 1.0), len(idx))
        settle(model.minimise(cost))
        if attempt >= 3 and before - len(todo) < max(2, before // 50):
            break  # objectives over many cells stopped paying: one cell at a time
    pinned = np.zeros(n, dtype=bool)
    if not exhaustive:
        pinned[sorted(todo)] = True
        return pinned
    order = _row_order(relations, n_eq)  # row -> relation, for the proofs
    for i in sorted(todo):
        if i not in todo:
            continue
        used: set[int] = set()
        for sign in (1.0, -1.0):
            cost = np.zeros(n)
            cost[i] = sign
            settle(model.minimise(cost))
            if i not in todo:
                break
            if proofs is not None:
                used.update(model.binding_rows())
        if i in todo:
            pinned[i] = True
            todo.discard(i)
            if proofs is not None:
                proofs[i] = {int(order[r]) for r in used}
    return pinned


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
        complete = len(years) == len(_years_of(all_years))
        total = cell_number(counts[cid])
        parts = [cell_number(counts[y]) for y in years]
        if complete and not np.isnan(total) and not np.isnan(parts).any() and sum(parts) == total:
            eq = {y: 1.0 for y in years}
            eq[cid] = -1.0
            equations.append(eq)
        else:
            inequalities.extend({y: 1.0, cid: -1.0} for y in years)
            if len(years) == len(_years_of(all_years)):  # an upper bound needs every year
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


def breakdown_relations(
    cells: Mapping[CellId, ReleaseCell],
    *,
    skip: Sequence[str] = ("time_period", "service_id"),
) -> tuple[list[Relation], list[Relation]]:
    """Margins a reader can read off the open data, whichever tables printed the cells.

    For every count and every breakdown dimension it has (a filter of the open data:
    gender, problem, data item...), the counts at each value of that dimension and the
    count at its ``Total`` (the same id without it) are related: an equation where the
    values add up to the total on the data, else (values missing from the release) the
    published values add up to at most the total. Relations that do not hold on the true
    values (values that overlap) are left out, as a reader could not rely on them.

    The groups of services (model variant, host setting, phase) are such a breakdown of
    the programme's counts too: the groups' counts of one period add up to the
    programme's. A reader knows it without knowing which services were present that
    period, which the service -> group sums of :func:`hierarchy_relations` leave open.
    """
    counts = {cid: c for cid, c in cells.items() if c.kind == "count"}
    groups: dict[tuple[CellId, str], list[CellId]] = defaultdict(list)
    for cid in counts:
        of_service = cid.get("service_id") not in {None, "Total"}
        for dim, _ in cid.dims:
            if dim in skip or (of_service and dim in GROUP_DIMS):
                continue
            groups[(cid.with_dims(**{dim: None}), dim)].append(cid)
    equations: list[Relation] = []
    inequalities: list[Relation] = []
    for (total, _), parts in groups.items():
        if total not in counts or len(parts) < 1:
            continue
        values = [cell_number(counts[p]) for p in parts]
        whole = cell_number(counts[total])
        if np.isnan(whole) or np.isnan(values).any():
            continue
        relation: dict[CellId, float] = {p: 1.0 for p in parts}
        relation[total] = -1.0
        if abs(sum(values) - whole) < 1e-9:
            equations.append(relation)
        elif sum(values) < whole:
            inequalities.append(relation)
    return equations, inequalities


def relation_groups(cells: Iterable[CellId], dim: str) -> dict[CellId, list[CellId]]:
    """Ids grouped by everything but one dimension (helper for building hierarchies)."""
    groups: dict[CellId, list[CellId]] = defaultdict(list)
    for cid in cells:
        groups[cid.with_dims(**{dim: None})].append(cid)
    return groups
