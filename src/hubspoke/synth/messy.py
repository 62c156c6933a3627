"""Quirk injection: turn a clean table into the messy grid a service would send.

A :class:`Grid` holds one raw table's cells (column by column, as the values that
will be written) and remembers every quirk put into it, by data-row position.
:func:`layout` then inserts blank, duplicate and notes rows and turns positions
into the 0-based positions of the written data rows, so the writer only has to
add the rows above the data to get spreadsheet row numbers.

Rules the helpers keep, so that cleaning outcomes can be predicted exactly:

* a cell carries at most one quirk (``taken``);
* a row carries at most one quarantine-causing quirk (``quarantined``);
* only wholly clean rows are duplicated;
* a quirk is always visible (a label variant never equals the canonical label).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from hubspoke.spec.raw import QuirkKind, RawTable
from hubspoke.spec.vocab import normalise_label

#: The file format a grid is written to: ``csv`` (cells are strings) or ``xlsx`` (Python values).
Target = Literal["csv", "xlsx"]

#: Missing-value markers written in place of a value (all in rawspec.MISSING_MARKERS).
MARKERS: tuple[str, ...] = ("n/k", "N/K", "-", "not known", "Unknown", "?", "n/a", "NK")

#: Date styles: name -> (strftime-like description, formatter of a datetime64 array).
_EXCEL_EPOCH = np.datetime64("1899-12-30", "D")


def _fmt_dmy_slash(d: pd.Series) -> pd.Series:
    return d.dt.strftime("%d/%m/%Y")


def _fmt_d_mon_y(d: pd.Series) -> pd.Series:
    # Int64 keeps the day whole when the column has missing dates ("9 Dec 2016", not "9.0 Dec 2016").
    return d.dt.day.astype("Int64").astype("string") + d.dt.strftime(" %b %Y")


def _fmt_dmy_dot(d: pd.Series) -> pd.Series:
    return d.dt.strftime("%d.%m.%y")


def _fmt_iso(d: pd.Series) -> pd.Series:
    return d.dt.strftime("%Y-%m-%d")


DATE_STYLES: Mapping[str, tuple[str, Callable[[pd.Series], pd.Series]]] = {
    "iso": ("yyyy-mm-dd", _fmt_iso),
    "dmy_slash": ("dd/mm/yyyy", _fmt_dmy_slash),
    "d_mon_y": ("d Mon yyyy", _fmt_d_mon_y),
    "dmy_dot": ("dd.mm.yy", _fmt_dmy_dot),
}


def format_dates(dates: np.ndarray, style: str) -> np.ndarray:
    """Format datetime64 values in ``style`` ("cell" keeps ``datetime.date`` objects for a workbook)."""
    s = pd.Series(pd.to_datetime(dates))
    out = s.dt.date.astype(object) if style == "cell" else DATE_STYLES[style][1](s).astype(object)
    return out.where(s.notna(), None).to_numpy(dtype=object)


def excel_serials(dates: np.ndarray) -> np.ndarray:
    """Excel serial day numbers (1900 date system) of datetime64 values, as Python ints."""
    return ((np.asarray(dates, dtype="datetime64[D]") - _EXCEL_EPOCH).astype(int)).astype(object)


@dataclass
class Grid:
    """One raw table being made messy, with a log of what was done to it."""

    table: RawTable
    target: Target
    cells: dict[str, np.ndarray]
    columns: list[str]
    taken: dict[str, np.ndarray] = field(default_factory=dict)
    quarantined: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    cell_log: list[pd.DataFrame] = field(default_factory=list)
    column_log: list[tuple[str, QuirkKind, str]] = field(default_factory=list)
    file_log: list[tuple[QuirkKind, str]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    duplicate_after: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    blank_before: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    notes_rows: list[str] = field(default_factory=list)
    title_rows: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.quarantined)


def _as_cells(values: pd.Series, target: Target) -> np.ndarray:
    """Column values as written: strings ("" for missing) in a CSV, Python values (None) in a workbook."""
    if target == "csv":
        return values.astype("string").fillna("").to_numpy(dtype=object)
    out = values.astype(object)
    return out.where(values.notna(), None).to_numpy(dtype=object)


def new_grid(table: RawTable, frame: pd.DataFrame, *, target: Target) -> Grid:
    """A grid from a clean frame whose columns are canonical names (dates already formatted)."""
    columns = [c.name for c in table.columns if c.name in frame.columns]
    n = len(frame)
    cells = {}
    for c in columns:
        col = frame[c]
        if col.dtype == object and target == "xlsx":
            cells[c] = col.to_numpy(dtype=object, copy=True)
        else:
            cells[c] = _as_cells(col, target).copy()
    return Grid(
        table=table,
        target=target,
        cells=cells,
        columns=columns,
        taken={c: np.zeros(n, bool) for c in columns},
        quarantined=np.zeros(n, bool),
        headers={c: c for c in columns},
    )


def present(grid: Grid, column: str) -> np.ndarray:
    """Mask of cells holding a value."""
    v = grid.cells[column]
    return np.asarray(pd.notna(v), dtype=bool) & np.asarray(v != "", dtype=bool)


def pick(
    grid: Grid,
    column: str,
    rate: float,
    rng: np.random.Generator,
    *,
    where: np.ndarray | None = None,
    clean_row: bool = False,
    minimum: int = 0,
) -> np.ndarray:
    """Positions of free, filled cells chosen at ``rate`` (at least ``minimum`` when there are enough)."""
    ok = ~grid.taken[column] & present(grid, column)
    if where is not None:
        ok &= where
    if clean_row:
        ok &= ~grid.quarantined
    candidates = np.flatnonzero(ok)
    chosen = candidates[rng.random(len(candidates)) < rate]
    if len(chosen) < minimum and len(candidates):
        chosen = np.sort(rng.choice(candidates, size=min(minimum, len(candidates)), replace=False))
    return chosen


def put(
    grid: Grid,
    column: str,
    positions: np.ndarray,
    values: Sequence[object] | np.ndarray,
    kind: QuirkKind,
    *,
    detail: Sequence[str] | None = None,
    quarantine: bool = False,
) -> None:
    """Write quirky ``values`` at ``positions`` of ``column`` and log them."""
    if len(positions) == 0:
        return
    values = np.asarray(list(values), dtype=object)
    if grid.target == "csv":
        values = np.array([str(v) for v in values], dtype=object)
    grid.cells[column][positions] = values
    grid.taken[column][positions] = True
    if quarantine:
        grid.quarantined[positions] = True
    grid.cell_log.append(
        pd.DataFrame(
            {
                "pos": positions,
                "column": column,
                "kind": kind,
                "detail": [str(v) for v in values] if detail is None else list(detail),
            }
        )
    )


def label_variants(
    grid: Grid,
    column: str,
    vocab: Mapping[str, Sequence[str]],
    rate: float,
    rng: np.random.Generator,
) -> None:
    """Write some canonical labels another way ('Girl', 'F', 'CSC'), one random variant per cell."""
    pos = pick(grid, column, rate, rng)
    values = grid.cells[column][pos]
    keep, out = [], []
    for p, v in zip(pos, values, strict=True):
        options = [x for x in vocab.get(str(v), ()) if x != normalise_label(v)]
        if options:
            keep.append(p)
            out.append(styled(options[int(rng.integers(len(options)))], rng))
    put(grid, column, np.array(keep, dtype=int), out, "label_variant")


def styled(variant: str, rng: np.random.Generator) -> str:
    """A variant as a person might type it: short codes in capitals, others sometimes capitalised."""
    if len(variant) <= 3:
        return variant.upper()
    return variant.capitalize() if rng.random() < 0.5 else variant


def recode_column(
    grid: Grid, column: str, vocab: Mapping[str, Sequence[str]], rng: np.random.Generator
) -> None:
    """A service's own coding of a column: every free canonical label written as one chosen variant."""
    mapping = {}
    for label, variants in vocab.items():
        options = [x for x in variants if x != normalise_label(label)]
        if options:
            mapping[label] = styled(options[int(rng.integers(len(options)))], rng)
    free = ~grid.taken[column] & present(grid, column)
    col = grid.cells[column]
    hit = free & np.isin(col.astype(str), list(mapping))
    if not hit.any():
        return
    labels = pd.Series(col[hit]).astype(str)
    used = sorted(f"{k}={mapping[k]}" for k in labels.unique())
    col[hit] = labels.map(mapping).to_numpy(dtype=object)
    grid.column_log.append((column, "label_variant", "coded as " + "; ".join(used)))


def missing_markers(grid: Grid, column: str, rate: float, rng: np.random.Generator) -> None:
    """Replace some values with a 'not known' marker."""
    pos = pick(grid, column, rate, rng)
    put(grid, column, pos, rng.choice(MARKERS, size=len(pos)), "missing_marker")


def quarantine_values(
    grid: Grid,
    column: str,
    rate: float,
    rng: np.random.Generator,
    values: Sequence[object],
    kind: QuirkKind,
    *,
    where: np.ndarray | None = None,
    minimum: int = 0,
) -> None:
    """Put a quarantine-causing value (out of range, invalid label) in some cells of clean rows."""
    pos = pick(grid, column, rate, rng, where=where, clean_row=True, minimum=minimum)
    chosen = [values[i] for i in rng.integers(len(values), size=len(pos))]
    put(grid, column, pos, chosen, kind, quarantine=True)


def sporadic_dates(
    grid: Grid,
    column: str,
    dates: np.ndarray,
    style: str,
    rng: np.random.Generator,
    *,
    rate: float,
) -> None:
    """Write a few dates as Excel serial numbers and a few in another format than the column's."""
    serial = pick(grid, column, rate, rng)
    put(grid, column, serial, excel_serials(dates[serial]), "excel_serial_date")
    other = pick(grid, column, rate, rng)
    clean = "cell" if grid.target == "xlsx" else "iso"
    styles = [s for s in DATE_STYLES if s not in (style, clean)]
    choice = rng.integers(len(styles), size=len(other))
    out = np.empty(len(other), dtype=object)
    for k, name in enumerate(styles):
        out[choice == k] = format_dates(dates[other[choice == k]], name)
    put(grid, column, other, out, "date_format")


def date_style_note(grid: Grid, column: str, style: str) -> None:
    """Log a column written in a non-standard date style (a column-level date_format quirk)."""
    clean = "cell" if grid.target == "xlsx" else "iso"
    if style != clean and present(grid, column).any():
        label = "text yyyy-mm-dd" if style == "iso" else DATE_STYLES[style][0]
        grid.column_log.append((column, "date_format", f"dates written as {label}"))


def rename_columns(grid: Grid, k: int, rng: np.random.Generator) -> None:
    """Write ``k`` headers with one of the column's aliases."""
    options = [c for c in grid.columns if grid.table.column(c).aliases]
    for c in rng.permutation(options)[:k]:
        aliases = grid.table.column(str(c)).aliases
        alias = aliases[int(rng.integers(len(aliases)))]
        grid.headers[str(c)] = alias[0].upper() + alias[1:] if rng.random() < 0.6 else alias
        grid.column_log.append((str(c), "renamed_column", f"header for {c}"))


def reorder_columns(grid: Grid, rng: np.random.Generator) -> None:
    """Put the columns in another order than the data dictionary's."""
    original = list(grid.columns)
    if len(original) < 3:
        return
    order = list(original)
    while order == original:
        order = [original[i] for i in rng.permutation(len(original))]
    grid.columns = order
    grid.file_log.append(("reordered_columns", "columns in another order than the data dictionary"))


def blank_rows(grid: Grid, k: int, rng: np.random.Generator) -> None:
    """Insert ``k`` wholly blank rows among the data (never before the first row)."""
    if grid.n < 3:
        return
    grid.blank_before = np.sort(
        rng.choice(np.arange(1, grid.n), size=min(k, grid.n - 1), replace=False)
    )


def duplicate_rows(grid: Grid, rate: float, rng: np.random.Generator, *, minimum: int = 1) -> None:
    """Send some wholly clean rows twice (an exact copy straight after the row)."""
    clean = (
        ~np.any(np.column_stack([grid.taken[c] for c in grid.columns]), axis=1)
        if grid.n
        else np.zeros(0, bool)
    )
    candidates = np.flatnonzero(clean & ~grid.quarantined)
    chosen = candidates[rng.random(len(candidates)) < rate]
    if len(chosen) < minimum and len(candidates):
        chosen = np.sort(rng.choice(candidates, size=min(minimum, len(candidates)), replace=False))
    grid.duplicate_after = chosen


def notes_rows(grid: Grid, notes: Sequence[str]) -> None:
    """Trailing free-text rows under the data."""
    grid.notes_rows = list(notes)


def header_offset(grid: Grid, titles: Sequence[str]) -> None:
    """Title rows above the header (workbooks)."""
    grid.title_rows = list(titles)
    if titles:
        grid.file_log.append(("header_offset", f"{len(titles)} title row(s) above the header"))


@dataclass(frozen=True)
class Laid:
    """A grid laid out for writing: header, rows, and quirks with 0-based written data-row positions."""

    header: list[str]
    rows: np.ndarray  # 2-D object array
    cells: pd.DataFrame  # pos, column (as written), kind, detail
    row_events: pd.DataFrame  # pos, kind, detail
    columns: list[tuple[str, QuirkKind, str]]  # header as written, kind, detail
    file: list[tuple[QuirkKind, str]]
    title_rows: list[str]


def layout(grid: Grid) -> Laid:
    """Insert blank, duplicate and notes rows and map every logged quirk to its written position."""
    n = grid.n
    blank = np.zeros(n, int)
    blank[grid.blank_before] = 1
    dup = np.zeros(n, int)
    dup[grid.duplicate_after] = 1
    shift_dup = np.concatenate([[0], np.cumsum(dup)[:-1]]) if n else np.zeros(0, int)
    final = np.arange(n) + np.cumsum(blank) + shift_dup
    total = n + int(blank.sum()) + int(dup.sum())
    empty = "" if grid.target == "csv" else None
    width = len(grid.columns)
    rows = np.full((total + len(grid.notes_rows), width), empty, dtype=object)
    data = (
        np.column_stack([grid.cells[c] for c in grid.columns])
        if n
        else np.zeros((0, width), object)
    )
    rows[final] = data
    rows[final[grid.duplicate_after] + 1] = data[grid.duplicate_after]
    for k, note in enumerate(grid.notes_rows):
        rows[total + k, 0] = note
    header = [grid.headers[c] for c in grid.columns]
    cells = (
        pd.concat(grid.cell_log, ignore_index=True)
        if grid.cell_log
        else pd.DataFrame({"pos": [], "column": [], "kind": [], "detail": []})
    )
    cells = cells.assign(
        pos=final[cells["pos"].to_numpy(dtype=int)], column=cells["column"].map(grid.headers)
    )
    events = pd.concat(
        [
            pd.DataFrame(
                {"pos": final[grid.blank_before] - 1, "kind": "blank_row", "detail": "blank row"}
            ),
            pd.DataFrame(
                {
                    "pos": final[grid.duplicate_after] + 1,
                    "kind": "duplicate_row",
                    "detail": "exact copy of the row above",
                }
            ),
            pd.DataFrame(
                {
                    "pos": total + np.arange(len(grid.notes_rows)),
                    "kind": "notes_row",
                    "detail": grid.notes_rows,
                }
            ),
        ],
        ignore_index=True,
    )
    columns = [(grid.headers[c], kind, detail) for c, kind, detail in grid.column_log]
    return Laid(header, rows, cells, events, columns, list(grid.file_log), list(grid.title_rows))


def date_value(value: object) -> dt.date | None:
    """A ``datetime.date`` from a workbook cell value (for tests and checks)."""
    if isinstance(value, dt.datetime):
        return value.date()
    return value if isinstance(value, dt.date) else None
