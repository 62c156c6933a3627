"""Disclosure control: the one gate every number a funder sees goes through.

DfE children's statistics convention (thresholds and symbol configurable):

* **primary suppression** - a count from 1 to ``threshold`` (default 5) is shown as
  ``symbol`` (default ``c``); 0 stays 0, because an empty cell discloses nobody;
* **secondary suppression** - more cells are hidden until no hidden cell can be worked
  out from the totals or by differencing: every row or column that has a hidden cell
  has at least two (a total counts as a cell of its line), the second being the smallest
  non-zero count shown in that line. Zeros never serve as secondary cells: a reader knows
  a hidden cell is not 0 (zeros are shown), so hiding one protects nothing;
* **audit** - the rule above is not enough on its own (two hidden 5s in a row whose other
  cells add up to 10 less than the total are both 5). Every hidden cell is therefore
  checked with linear programming: its smallest and largest value given everything shown,
  the row and column equations, and what a reader knows about hidden cells (a primary
  cell lies in 1..threshold, a secondary one is at least 1). A cell whose range is a
  single value gets another secondary cell in its row or column, and the loop repeats
  until stable;
* **derived values** - a percentage or rate computed from a hidden count is hidden too.

Totals that are not in the table are, by default (``implied_totals=True``), treated as
known to a reader, because reports quote them elsewhere ("42 young people were
supported"). They are protected like shown cells and returned on the result, so text
that quotes one uses the protected form.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

import numpy as np
import pandas as pd
from scipy.optimize import linprog

from hubspoke import config
from hubspoke.errors import ParameterError, ReportError, SchemaError

AUTO = "auto"
TOTAL_LABELS: frozenset[str] = frozenset({"total", "all", "grand total", "overall"})
MISSING_SYMBOL = "x"


@dataclass(frozen=True)
class SuppressedTable:
    """A table ready for a funder: display strings, what was hidden and why.

    ``display`` holds strings only (same index and columns as the input, with
    ``display.attrs["footnote"]`` set); ``suppressed`` is True where a value is hidden,
    ``primary`` where it was hidden for being a small count itself. ``row_totals``,
    ``column_totals`` and ``grand_total`` are the protected display forms of totals the
    table does not show but a reader is assumed to know (``None`` when the table shows
    them or they are not implied). ``residual`` lists cells that stay recoverable even
    with every non-zero count hidden (only with threshold 1 or totals below the number
    of small cells: nothing in the table can protect them).
    """

    display: pd.DataFrame
    suppressed: pd.DataFrame
    primary: pd.DataFrame
    footnote: str
    row_totals: pd.Series | None = None
    column_totals: pd.Series | None = None
    grand_total: str | None = None
    residual: tuple[tuple[Hashable, Hashable], ...] = ()

    @property
    def mask(self) -> pd.DataFrame:
        """Alias of ``suppressed``."""
        return self.suppressed


class SuppressOptions(TypedDict, total=False):
    """The keyword arguments of :func:`suppress` that describe a table's structure.

    Analysis modules keep one per returned frame (their ``DISPLAY`` maps), so that
    notebooks and charts suppress the same cells.
    """

    count_columns: Sequence[Hashable]
    derived: Mapping[Hashable, Hashable | Sequence[Hashable]]
    total_row: Hashable | None
    total_column: Hashable | None
    implied_totals: bool


# --------------------------------------------------------------------------- public API
def suppress(
    table: pd.DataFrame | pd.Series,
    *,
    threshold: int = config.SUPPRESSION_THRESHOLD,
    symbol: str = config.SUPPRESSION_SYMBOL,
    total_row: Hashable | None = AUTO,
    total_column: Hashable | None = AUTO,
    count_columns: Sequence[Hashable] | None = None,
    derived: Mapping[Hashable, Hashable | Sequence[Hashable]] | None = None,
    implied_totals: bool = True,
    decimals: int = 1,
) -> SuppressedTable:
    """Apply primary and secondary suppression to a table of counts.

    ``table``: rows x columns of counts (a Series is a one-column table). ``total_row`` /
    ``total_column``: label of the total row / column, ``"auto"`` to find one labelled
    Total/All (case-insensitive), ``None`` for none. ``count_columns``: the count columns
    (default: every numeric column not in ``derived``). ``derived``: percentage or rate
    column -> the count column(s) it is computed from (e.g. ``{"pct": ("n", "Total")}``);
    it is hidden in every row where one of them is. Other columns are passed through as
    text. ``decimals``: places shown for derived columns.
    """
    _check_options(threshold=threshold, symbol=symbol)
    frame = table.to_frame() if isinstance(table, pd.Series) else table
    if count_columns is not None and len(count_columns) == 0:
        return _no_counts(frame, threshold=threshold, symbol=symbol, decimals=decimals)
    layout = _Layout.build(
        frame,
        total_row=total_row,
        total_column=total_column,
        count_columns=count_columns,
        derived=derived or {},
    )
    grid = _Grid.from_layout(frame, layout, implied=implied_totals)
    grid.protect(threshold)
    return _result(frame, layout, grid, threshold=threshold, symbol=symbol, decimals=decimals)


def _no_counts(
    frame: pd.DataFrame, *, threshold: int, symbol: str, decimals: int
) -> SuppressedTable:
    """A table that counts no people (model estimates, agreement statistics): formatted, nothing hidden.

    It still goes through :func:`suppress` so that every funder table passes one gate;
    ``count_columns=[]`` is the caller's statement that no column counts people.
    """

    def text(value: object) -> str:
        if pd.isna(value):
            return MISSING_SYMBOL
        if isinstance(value, (float, np.floating)):
            return f"{value:,.{decimals}f}" if value % 1 else _format_count(float(value))
        if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            return _format_count(float(value))
        return str(value)

    display = frame.apply(lambda col: col.map(text)).astype(object)
    note = footnote(
        threshold=threshold,
        symbol=symbol,
        missing=bool((display == MISSING_SYMBOL).to_numpy().any()),
    )
    display.attrs["footnote"] = note
    hidden = pd.DataFrame(False, index=frame.index, columns=frame.columns)
    return SuppressedTable(display=display, suppressed=hidden, primary=hidden.copy(), footnote=note)


def suppress_value(
    n: float | None,
    *,
    threshold: int = config.SUPPRESSION_THRESHOLD,
    symbol: str = config.SUPPRESSION_SYMBOL,
) -> str:
    """One count for running text: ``symbol`` if 1..threshold, ``x`` if missing, else ``1,234``.

    Only primary suppression: a number quoted in text that is also a total of a table
    should be taken from that table's :class:`SuppressedTable` instead.
    """
    _check_options(threshold=threshold, symbol=symbol)
    if n is None or pd.isna(n):
        return MISSING_SYMBOL
    if not isinstance(n, (int, float, np.integer, np.floating)) or n < 0 or float(n) % 1:
        raise ParameterError("a count must be a whole number >= 0", found=n)
    return symbol if 1 <= n <= threshold else _format_count(float(n))


def safe_counts_for_plot(
    series: pd.Series,
    *,
    threshold: int = config.SUPPRESSION_THRESHOLD,
    total: Hashable | None = AUTO,
    implied_totals: bool = True,
) -> pd.Series:
    """The counts of ``series`` as floats with NaN wherever the table would show the symbol.

    Runs the same primary and secondary suppression as :func:`suppress` on the series as
    a one-column table, so a figure never shows a value the table hides (no bar of 3).
    """
    if not isinstance(series, pd.Series):
        raise ParameterError("expected a pandas Series of counts", found=type(series).__name__)
    name = series.name if series.name is not None else "count"
    frame = series.rename(name).to_frame()
    result = suppress(
        frame,
        threshold=threshold,
        total_row=total,
        total_column=None,
        implied_totals=implied_totals,
    )
    values = pd.to_numeric(series, errors="coerce").astype(float)
    return values.mask(result.suppressed[name].to_numpy())


def footnote(
    *,
    threshold: int = config.SUPPRESSION_THRESHOLD,
    symbol: str = config.SUPPRESSION_SYMBOL,
    missing: bool = False,
) -> str:
    """The footnote explaining the suppression symbol (and ``x`` when values are missing)."""
    small = "a count of 1" if threshold == 1 else f"a count from 1 to {threshold}"
    text = (
        f"{symbol} = suppressed: {small}, or a value from which one could be worked out, "
        "is not shown to protect confidentiality (DfE convention)."
    )
    return text + (f" {MISSING_SYMBOL} = not available." if missing else "")


def _check_options(*, threshold: int, symbol: str) -> None:
    if isinstance(threshold, bool) or not isinstance(threshold, (int, np.integer)) or threshold < 0:
        raise ParameterError("suppression threshold must be a whole number >= 0", found=threshold)
    if (
        not isinstance(symbol, str)
        or not symbol.strip()
        or _is_number(symbol)
        or symbol == MISSING_SYMBOL
    ):
        raise ParameterError(
            "suppression symbol must be non-empty text that is not a number",
            allowed=f"e.g. {config.SUPPRESSION_SYMBOL!r}, '*'",
            found=symbol,
        )


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", ""))
    except ValueError:
        return False
    return True


# --------------------------------------------------------------------------- table layout
@dataclass(frozen=True)
class _Layout:
    """Where the counts, totals and derived values sit in the input table."""

    rows: list[Hashable]
    columns: list[Hashable]
    total_row: Hashable | None
    total_column: Hashable | None
    derived: dict[Hashable, tuple[Hashable, ...]]

    @classmethod
    def build(
        cls,
        frame: pd.DataFrame,
        *,
        total_row: Any,
        total_column: Any,
        count_columns: Sequence[Hashable] | None,
        derived: Mapping[Hashable, Any],
    ) -> _Layout:
        if frame.empty:
            raise SchemaError("the table is empty", found=frame.shape)
        for axis, labels in (("row", frame.index), ("column", frame.columns)):
            if not labels.is_unique:
                raise SchemaError(
                    f"{axis} labels must be unique", found=list(labels[labels.duplicated()])
                )
        sources = {
            k: (v,) if isinstance(v, Hashable) and not isinstance(v, tuple) else tuple(v)
            for k, v in derived.items()
        }
        for name in sources:
            if name not in frame.columns:
                raise SchemaError(
                    "derived column not in the table", column=str(name), allowed=list(frame.columns)
                )
        counts = (
            list(count_columns)
            if count_columns is not None
            else [
                c
                for c in frame.columns
                if c not in sources and pd.api.types.is_numeric_dtype(frame[c])
            ]
        )
        for name in counts:
            if name not in frame.columns:
                raise SchemaError(
                    "count column not in the table", column=str(name), allowed=list(frame.columns)
                )
        for name, cols in sources.items():
            for col in cols:
                if col not in counts:
                    raise SchemaError(
                        f"derived column {name!r} must point at count columns",
                        column=str(col),
                        allowed=counts,
                    )
        if not counts:
            raise SchemaError(
                "the table has no count columns",
                allowed="numeric columns",
                found=list(frame.columns),
            )
        t_col = _find_total(total_column, counts, "column")
        t_row = _find_total(total_row, list(frame.index), "row")
        rows = [r for r in frame.index if r != t_row]
        columns = [c for c in counts if c != t_col]
        if not rows or not columns:
            raise SchemaError("the table has totals but no counts to total", found=frame.shape)
        return cls(rows, columns, t_row, t_col, sources)


def _find_total(label: Any, labels: list[Hashable], axis: str) -> Hashable | None:
    """The total row/column label: as given, or found by name when ``auto``."""
    if label is None:
        return None
    if isinstance(label, str) and label == AUTO:
        found = [x for x in labels if isinstance(x, str) and x.strip().lower() in TOTAL_LABELS]
        if len(found) > 1:
            raise SchemaError(
                f"more than one total {axis}; name it with total_{axis}=", found=found
            )
        return found[0] if found else None
    if label not in labels:
        raise SchemaError(f"total {axis} not in the table", allowed=labels, found=label)
    return label


# --------------------------------------------------------------------------- the grid
class _Grid:
    """Counts with their margins: (rows + 1) x (columns + 1), margins last.

    ``exists`` marks cells that mean something (a margin exists when the table shows it
    or totals are implied); ``free`` marks values nobody knows (missing counts); lines
    are the equations ``sum of parts - margin = 0``.
    """

    def __init__(self, values: np.ndarray, exists: np.ndarray, in_table: np.ndarray) -> None:
        self.values = values
        self.exists = exists
        self.in_table = in_table
        self.free = exists & np.isnan(values)
        self.primary = np.zeros_like(exists)
        self.suppressed = np.zeros_like(exists)
        self.residual = np.zeros_like(exists)
        self.lines = self._lines()

    @classmethod
    def from_layout(cls, frame: pd.DataFrame, layout: _Layout, *, implied: bool) -> _Grid:
        r, c = len(layout.rows), len(layout.columns)
        values = np.full((r + 1, c + 1), np.nan)
        in_table = np.zeros((r + 1, c + 1), dtype=bool)
        values[:r, :c] = _counts(frame.loc[layout.rows, layout.columns])
        in_table[:r, :c] = True
        has_col = layout.total_column is not None or (implied and c >= 2)
        has_row = layout.total_row is not None or (implied and r >= 2)
        row_sums, col_sums = values[:r, :c].sum(axis=1), values[:r, :c].sum(axis=0)
        if has_col:
            values[:r, c] = row_sums
        if has_row:
            values[r, :c] = col_sums
        if has_row and has_col:
            values[r, c] = values[:r, :c].sum()
        if layout.total_column is not None:
            shown = _counts(frame.loc[layout.rows, [layout.total_column]])[:, 0]
            _check_total(shown, values[:r, :c], "row", layout.rows, layout.total_column)
            values[:r, c], in_table[:r, c] = shown, True
        if layout.total_row is not None:
            shown = _counts(frame.loc[[layout.total_row], layout.columns])[0]
            _check_total(shown, values[:r, :c].T, "column", layout.columns, layout.total_row)
            values[r, :c], in_table[r, :c] = shown, True
        if layout.total_row is not None and layout.total_column is not None:
            values[r, c] = _counts(frame.loc[[layout.total_row], [layout.total_column]])[0, 0]
            in_table[r, c] = True
        exists = np.zeros_like(in_table)
        exists[:r, :c] = True
        exists[:r, c] = has_col
        exists[r, :c] = has_row
        exists[r, c] = has_row and has_col
        return cls(values, exists, in_table)

    def _lines(self) -> np.ndarray:
        """Equation matrix: one row per line (row or column with a margin), one column per cell."""
        r, c = self.values.shape
        eqs = []
        for i in range(r):
            if self.exists[i, c - 1] and self.exists[i, : c - 1].all():
                eq = np.zeros((r, c))
                eq[i, : c - 1], eq[i, c - 1] = 1, -1
                eqs.append(eq.ravel())
        for j in range(c):
            if self.exists[r - 1, j] and self.exists[: r - 1, j].all():
                eq = np.zeros((r, c))
                eq[: r - 1, j], eq[r - 1, j] = 1, -1
                eqs.append(eq.ravel())
        return np.array(eqs).reshape(len(eqs), r * c)

    # ----------------------------------------------------------------- protection loop
    def protect(self, threshold: int) -> None:
        """Primary suppression, then secondary until the structure and the audit are safe."""
        known = self.exists & ~self.free
        self.primary = known & (self.values >= 1) & (self.values <= threshold)
        self.suppressed = self.primary.copy()
        for _ in range(self.values.size + 1):
            self._secure_lines()
            pinned = self._audit(threshold) & ~self.residual
            if not pinned.any():
                return
            if not self._widen(pinned):
                self.residual |= pinned
        raise ReportError("secondary suppression did not settle; please report this table")

    def _unknown(self) -> np.ndarray:
        return (self.suppressed | self.free).ravel()

    def _line_counts(self) -> np.ndarray:
        """How many unknown cells each line has."""
        return (self.lines != 0).astype(int) @ self._unknown().astype(int)

    def _secure_lines(self) -> None:
        """Give every line with exactly one unknown cell a second one."""
        while True:
            counts = self._line_counts()
            single = np.flatnonzero(counts == 1)
            if single.size == 0:
                return
            choice = self._candidate(self.lines[single[0]] != 0)
            if choice is None:  # pragma: no cover - a shown non-zero margin always exists
                raise ReportError("no cell left to protect a suppressed value")
            self.suppressed.ravel()[choice] = True

    def _candidate(self, members: np.ndarray) -> int | None:
        """Smallest non-zero shown cell among ``members``; margins last, then cells that
        would not leave a crossing line with a single unknown."""
        flat = self.values.ravel()
        ok = members & self.exists.ravel() & ~self._unknown() & (np.nan_to_num(flat) > 0)
        cells = np.flatnonzero(ok)
        if cells.size == 0:
            return None
        margin = self._is_margin().ravel()
        line_counts = self._line_counts()
        lonely = [(self.lines[:, k] != 0) & (line_counts == 0) for k in cells]
        keys = [
            (flat[k], margin[k], int(np.any(lone)), k)
            for k, lone in zip(cells, lonely, strict=True)
        ]
        return int(min(keys)[3])

    def _is_margin(self) -> np.ndarray:
        edge = np.zeros(self.values.shape, dtype=bool)
        edge[-1, :], edge[:, -1] = True, True
        return edge

    def _widen(self, pinned: np.ndarray) -> bool:
        """Add a secondary cell next to each pinned cell; False if nothing is left to hide."""
        added = False
        touched = np.zeros(len(self.lines), dtype=bool)
        for k in np.flatnonzero(pinned.ravel()):
            through = self.lines[:, k] != 0
            if (through & touched).any():  # a neighbour's new cell may already free this one
                continue
            lines = self.lines[through]
            members = (
                (lines != 0).any(axis=0) if lines.size else np.zeros(self.values.size, dtype=bool)
            )
            choice = self._candidate(members)
            if choice is None:
                choice = self._candidate(np.ones(self.values.size, dtype=bool))
            if choice is not None:
                self.suppressed.ravel()[choice] = True
                touched |= self.lines[:, choice] != 0
                added = True
        return added

    def _audit(self, threshold: int) -> np.ndarray:
        """Hidden cells whose value a reader can work out exactly (see :func:`feasible_ranges`)."""
        low, high = feasible_ranges(
            self.values,
            self.lines,
            unknown=self._unknown().reshape(self.values.shape),
            primary=self.primary,
            free=self.free,
            threshold=threshold,
        )
        return self.suppressed & ~self.free & (high - low < 0.5)


def feasible_ranges(
    values: np.ndarray,
    lines: np.ndarray,
    *,
    unknown: np.ndarray,
    primary: np.ndarray,
    free: np.ndarray,
    threshold: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Smallest and largest value of every unknown cell a reader could deduce.

    The reader knows the shown cells, the equations in ``lines`` (sum of parts minus
    margin is 0), that a primary cell lies in 1..threshold, that any other hidden count
    is at least 1 (zeros are shown) and that a missing one is at least 0. Known cells get
    their own value as range. Solved with linear programming (the equations form a
    network matrix, so the bounds found are whole numbers).
    """
    shape = values.shape
    flat_unknown = unknown.ravel()
    lo = np.where(primary, 1.0, np.where(free, 0.0, 1.0)).ravel()[flat_unknown]
    hi = np.where(primary, float(threshold), np.inf).ravel()[flat_unknown]
    low = np.where(unknown, np.nan, values).ravel()
    high = low.copy()
    idx = np.flatnonzero(flat_unknown)
    if idx.size == 0:
        return low.reshape(shape), high.reshape(shape)
    a = lines[:, flat_unknown]
    b = -(lines[:, ~flat_unknown] @ np.nan_to_num(values.ravel()[~flat_unknown]))
    keep = (a != 0).any(axis=1)
    a, b = a[keep], b[keep]
    bounds = list(zip(lo, [None if np.isinf(h) else h for h in hi], strict=True))
    for pos, k in enumerate(idx):
        if not a.size or not a[:, pos].any():
            low[k], high[k] = lo[pos], hi[pos]
            continue
        low[k], high[k] = (_optimum(a, b, bounds, pos, sign) for sign in (1.0, -1.0))
    return low.reshape(shape), high.reshape(shape)


def _optimum(a: np.ndarray, b: np.ndarray, bounds: list, pos: int, sign: float) -> float:
    """min (sign 1) or max (sign -1) of variable ``pos`` subject to ``a x = b`` and bounds."""
    cost = np.zeros(a.shape[1])
    cost[pos] = sign
    res = linprog(cost, A_eq=a, b_eq=b, bounds=bounds, method="highs")
    if res.status == 3:
        return np.inf
    if res.status != 0:
        raise ReportError("table totals are inconsistent with the counts", found=res.message)
    return float(res.x[pos])


# --------------------------------------------------------------------------- checks and output
def _counts(block: pd.DataFrame) -> np.ndarray:
    """Counts as floats (NaN = missing), checked to be whole numbers >= 0."""
    out = np.empty(block.shape)
    for j, column in enumerate(block.columns):
        raw = block[column]
        numbers = pd.to_numeric(raw, errors="coerce").astype(float)
        bad = (numbers.isna() & raw.notna()) | (numbers < 0) | (numbers % 1 > 0)
        if bad.any():
            raise SchemaError(
                "counts must be whole numbers >= 0 (list other columns in derived= or leave them out "
                "of count_columns=)",
                column=str(column),
                found=raw[bad].iloc[0],
            )
        out[:, j] = numbers.to_numpy()
    return out


def _check_total(
    shown: np.ndarray, parts: np.ndarray, axis: str, labels: list, total: Hashable
) -> None:
    """A shown total must equal the sum of its parts (or exceed the known parts if some are missing)."""
    known = ~np.isnan(parts).any(axis=1)
    sums = np.nansum(parts, axis=1)
    bad = np.flatnonzero((known & ~np.isnan(shown) & (shown != sums)) | (~known & (shown < sums)))
    if bad.size:
        i = bad[0]
        raise SchemaError(
            f"the total does not equal the sum of its {axis}; add an 'Other/unknown' line "
            "or pass total_row=/total_column=None",
            column=str(total),
            allowed=f"{sums[i]:g}",
            found=f"{labels[i]}: {shown[i]:g}",
        )


def _format_count(value: float) -> str:
    return f"{int(value):,}"


def _result(
    frame: pd.DataFrame, layout: _Layout, grid: _Grid, *, threshold: int, symbol: str, decimals: int
) -> SuppressedTable:
    """Map the grid back onto the table and format every cell."""
    r, c = len(layout.rows), len(layout.columns)
    mask = pd.DataFrame(False, index=frame.index, columns=frame.columns)
    primary = mask.copy()
    rows = [*layout.rows, layout.total_row]
    cols = [*layout.columns, layout.total_column]
    for i, row in enumerate(rows):
        for j, col in enumerate(cols):
            if row is not None and col is not None and grid.in_table[i, j]:
                mask.loc[row, col] = bool(grid.suppressed[i, j])
                primary.loc[row, col] = bool(grid.primary[i, j])
    for name, sources in layout.derived.items():
        mask[name] = mask[list(sources)].any(axis=1)
    counted = [*layout.columns, *([layout.total_column] if layout.total_column is not None else [])]
    display = pd.DataFrame(index=frame.index, columns=frame.columns, dtype=object)
    missing = False
    for col in frame.columns:
        values = frame[col]
        if col in counted:
            text = [MISSING_SYMBOL if pd.isna(v) else _format_count(float(v)) for v in values]
        elif col in layout.derived:
            number = pd.to_numeric(values, errors="coerce")
            text = [MISSING_SYMBOL if pd.isna(v) else f"{v:,.{decimals}f}" for v in number]
        else:
            text = ["" if pd.isna(v) else str(v) for v in values]
        if col in counted or col in layout.derived:
            missing |= MISSING_SYMBOL in text
        display[col] = np.where(mask[col].to_numpy(), symbol, np.array(text, dtype=object))
    note = footnote(threshold=threshold, symbol=symbol, missing=missing)
    display.attrs["footnote"] = note

    def hidden(i: slice | int, j: slice | int) -> np.ndarray:
        vals, sup = np.atleast_1d(grid.values[i, j]), np.atleast_1d(grid.suppressed[i, j])
        return np.array(
            [
                symbol if s else (MISSING_SYMBOL if np.isnan(v) else _format_count(v))
                for v, s in zip(vals, sup, strict=True)
            ],
            dtype=object,
        )

    row_totals = (
        pd.Series(hidden(slice(0, r), c), index=layout.rows, dtype=object)
        if grid.exists[0, c] and not grid.in_table[0, c]
        else None
    )
    column_totals = (
        pd.Series(hidden(r, slice(0, c)), index=layout.columns, dtype=object)
        if grid.exists[r, 0] and not grid.in_table[r, 0]
        else None
    )
    grand = str(hidden(r, c)[0]) if grid.exists[r, c] and not grid.in_table[r, c] else None
    residual = tuple(
        (rows[i], cols[j])
        for i, j in zip(*np.nonzero(grid.residual), strict=True)
        if rows[i] is not None and cols[j] is not None
    )
    return SuppressedTable(
        display=display,
        suppressed=mask,
        primary=primary,
        footnote=note,
        row_totals=row_totals,
        column_totals=column_totals,
        grand_total=grand,
        residual=residual,
    )
