"""The one way a funder output sees numbers: a view of a :class:`Table` through the release.

:func:`view` refuses anything that is not a :class:`~hubspoke.privacy.table.Table`, so a
bare frame can never reach a funder table or chart; the cells it hides are those the
release-wide suppression hid (:func:`hubspoke.analysis.release.current_release`).

A value that is missing is shown as ``x`` (not available) by the release; :func:`view`
turns it into ``z`` (not applicable, GSS convention) where the value cannot exist: a
number derived from a count of 0 (a rate with a zero denominator), or a cell the table
marks as not applicable in ``frame.attrs["not_applicable"]`` (``(row, column)`` pairs,
or a boolean frame shaped like the table).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable
from typing import Final

import numpy as np
import pandas as pd

from hubspoke.analysis.release import current_release
from hubspoke.config import Settings
from hubspoke.errors import ParameterError
from hubspoke.privacy.release import NOT_AVAILABLE, Release, Shown
from hubspoke.privacy.table import Cell, Table

#: Shown for a value that cannot exist (GSS symbol), e.g. a rate of zero people.
NOT_APPLICABLE: Final = "z"
#: Where a table lists the cells that do not apply (``frame.attrs`` key).
NOT_APPLICABLE_ATTR: Final = "not_applicable"


def view(
    table: object, *, release: Release | None = None, settings: Settings | None = None
) -> Shown:
    """The table as a funder sees it (hidden cells as the symbol, charts draw ``visible``)."""
    if not isinstance(table, Table):
        raise ParameterError(
            "funder tables and charts take a hubspoke Table (with its disclosure structure), "
            "not a bare frame",
            allowed="hubspoke.privacy.table.Table",
            found=type(table).__name__,
        )
    if release is None and not table.counts_people:
        release = Release.empty()  # words and figures about no one: nothing to look up
    used = release or current_release(settings)
    return with_not_applicable(used.view(table), release=used)


def with_not_applicable(shown: Shown, *, release: Release) -> Shown:
    """``shown`` with ``z`` in place of ``x`` wherever the value cannot exist (see the module).

    Most tables show no ``x``: they are returned as they are once the table's own list of
    cells that do not apply is checked, without working out which cells come from a 0.
    """
    missing = shown.display.eq(NOT_AVAILABLE) & ~shown.hidden
    if not missing.to_numpy().any():
        _marked(shown.table)  # a list naming a cell the table lacks is refused all the same
        return shown
    swap = not_applicable_cells(shown.table, release=release) & missing
    if not swap.to_numpy().any():
        return shown
    return dataclasses.replace(shown, display=shown.display.mask(swap, NOT_APPLICABLE))


def not_applicable_cells(table: Table, *, release: Release) -> pd.DataFrame:
    """Which cells of ``table`` do not apply: derived from a count of 0, or marked by the table."""
    frame = table.frame
    mask = pd.DataFrame(False, index=frame.index, columns=frame.columns)
    cells = table.cells()
    own = {cell.id: cell.value for cell in cells}
    for cell in cells:
        if cell.kind == "derived" and _from_zero(cell, own=own, release=release):
            mask.loc[cell.row, cell.column] = True
    return mask | _marked(table)


def _from_zero(cell: Cell, *, own: dict, release: Release) -> bool:
    """Whether a derived cell has no value because one of its counts is 0 (a zero denominator)."""
    if not _missing(cell.value):
        return False
    values = [
        release.cells[s].value if s in release.cells else own.get(s, np.nan) for s in cell.sources
    ]
    return any(not _missing(v) and float(v) == 0.0 for v in values)  # type: ignore[arg-type]


def _marked(table: Table) -> pd.DataFrame:
    """The table's own list of cells that do not apply, as a boolean frame."""
    frame = table.frame
    marked = frame.attrs.get(NOT_APPLICABLE_ATTR)
    if marked is None:
        return pd.DataFrame(False, index=frame.index, columns=frame.columns)
    if isinstance(marked, pd.DataFrame):
        return marked.reindex(index=frame.index, columns=frame.columns).fillna(False).astype(bool)
    mask = pd.DataFrame(False, index=frame.index, columns=frame.columns)
    for row, column in _pairs(marked, table=table):
        mask.loc[row, column] = True
    return mask


def _pairs(marked: object, *, table: Table) -> list[tuple[Hashable, Hashable]]:
    """``(row, column)`` pairs of a table, refusing any the table does not have."""
    pairs = list(marked)  # type: ignore[call-overload]
    for pair in pairs:
        if (
            not isinstance(pair, tuple)
            or len(pair) != 2
            or pair[0] not in table.frame.index
            or pair[1] not in table.frame.columns
        ):
            raise ParameterError(
                f"frame.attrs[{NOT_APPLICABLE_ATTR!r}] of table {table.family!r} names a cell "
                "it does not have",
                allowed="(row, column) pairs of the table",
                found=repr(pair),
            )
    return pairs


def _missing(value: object) -> bool:
    """Whether a value is missing (None, NA or NaN)."""
    if value is None or value is pd.NA:
        return True
    return isinstance(value, float | np.floating) and bool(np.isnan(value))
