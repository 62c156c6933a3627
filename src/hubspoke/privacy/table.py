"""A table that carries its own disclosure structure: what each cell is, and of whom.

Every funder table and chart is built from a :class:`Table`. Besides the numbers
(``frame``, the true values, rows by columns), it says

* where it sits in the release: the ``family`` of statistics (one open-data file) and
  the ``scope`` every cell shares (``time_period``, ``service_id``, or a group such as
  ``model_variant``);
* what its rows are: values of one dimension (``rows``: ``gender``, ``time_period``,
  ``service_id``...), with ``total_row`` the row that adds the others up;
* what each column is (:class:`Count` of people, and of whom; :class:`Derived` from
  counts; :class:`Figure`, a number about no one; :class:`Text`), or, for a cross-tab,
  the dimension its columns are values of (``columns``) with one :class:`Count`.

From that each cell has an identity (:class:`CellId`): its indicator and every
dimension but those at their total. The same quantity printed in two tables has the
same identity, so the release-wide suppression (:mod:`hubspoke.privacy.release`) hides
it everywhere or nowhere. Margins become equations (parts add up to the total).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import pandas as pd

from hubspoke.errors import ParameterError, SchemaError

#: The value of a dimension at its total (EES: every filter has a ``Total`` value).
TOTAL: Final = "Total"
#: Row or column labels read as "the total of the others".
TOTAL_LABELS: Final = frozenset({"total", "all", "all years", "all services", "all areas"})


@dataclass(frozen=True, order=True)
class CellId:
    """One published quantity: an indicator and the dimensions that are not at their total.

    ``dims`` is sorted, so two tables naming the same quantity build equal ids.
    """

    indicator: str
    dims: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, indicator: str, **dims: object) -> CellId:
        """An id from keyword dimensions; a dimension at ``Total`` (or ``None``) is dropped."""
        kept = tuple(
            sorted(
                (name, str(value))
                for name, value in dims.items()
                if value is not None and str(value) != TOTAL
            )
        )
        return cls(indicator, kept)

    def get(self, dim: str, default: str = TOTAL) -> str:
        """The value of one dimension (``Total`` when the id does not name it)."""
        return dict(self.dims).get(dim, default)

    def with_dims(self, **dims: object) -> CellId:
        """The same indicator with some dimensions replaced (``Total`` drops one)."""
        merged: dict[str, object] = dict(self.dims)
        merged.update(dims)
        return CellId.of(self.indicator, **merged)

    @property
    def key(self) -> str:
        """A stable text form, e.g. ``young_people|gender=Female|service_id=S03|time_period=2015``."""
        return "|".join([self.indicator, *(f"{k}={v}" for k, v in self.dims)])

    @classmethod
    def from_key(cls, key: str) -> CellId:
        """Inverse of :attr:`key`."""
        indicator, *parts = key.split("|")
        # partition()[::2] is (name, value): the same pairs as split("=", 1), made faster
        # (a saved release parses some 40,000 keys each time a report reads it).
        return cls(indicator, tuple([p.partition("=")[::2] for p in parts]))


@dataclass(frozen=True)
class Count:
    """A column of counts of people (``unit``: young people, professionals, Spoke workers, interviews).

    Counts from 1 to the threshold are suppressed, and so is anything that would let a
    reader work one out. ``indicator`` names the quantity in the open data (the same
    name in every table that shows it). ``dims`` adds fixed dimensions to every cell of
    the column (a "Risk reduced" column is ``Count("young_people", dims={"risk_change":
    "Reduced"})``, the same cells as the risk table's Reduced row).
    """

    indicator: str
    unit: str = "young people"
    dims: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Derived:
    """A number computed from counts (a percentage, mean, rate, interval, "meets target").

    ``sources`` are the count cells it comes from: a column name means that column in
    the same row; a ``(row, column)`` pair means that cell of the table; a
    :class:`CellId` means a quantity elsewhere in the release. The value is hidden
    wherever one of its sources is. ``dp`` is the places shown.
    """

    indicator: str
    sources: tuple[Hashable | tuple[Hashable, Hashable] | CellId, ...]
    unit: str = "%"
    dp: int = 0
    dims: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Figure:
    """A number that counts no one (sessions, a policy score, a model estimate): never hidden."""

    indicator: str
    unit: str = ""
    dp: int = 0
    dims: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Text:
    """A column of words (a name, a rating, a note). ``sources`` as for :class:`Derived`:
    when given, the text is hidden wherever a source is (a rating computed from counts)."""

    indicator: str
    sources: tuple[Hashable | tuple[Hashable, Hashable] | CellId, ...] = ()
    dims: Mapping[str, object] = field(default_factory=dict)


Column = Count | Derived | Figure | Text  #: every spec has ``indicator`` and ``dims``


@dataclass(frozen=True)
class Cell:
    """One cell of a table with its identity and, for derived cells, the ids it comes from."""

    row: Hashable
    column: Hashable
    id: CellId
    kind: str  # "count" | "derived" | "figure" | "text"
    value: object
    unit: str = ""
    sources: tuple[CellId, ...] = ()


@dataclass(frozen=True)
class Table:
    """Numbers with their disclosure structure; see the module docstring.

    ``frame``: true values, index = row labels (their name heads the first column).
    ``columns``: per column its :class:`Count` / :class:`Derived` / :class:`Figure` /
    :class:`Text`; or, for a cross-tab, ``column_dim`` names the dimension of the
    column labels and ``crosstab`` is the one :class:`Count` every cell holds.
    ``total_row`` / ``total_column``: labels of the margins (found by name when
    ``"auto"``). ``labels``: column headings for readers (default: the column name).
    ``extra_equations``: relations a reader knows beyond the margins, as ``{id: coefficient}``
    summing to 0 (e.g. assessed = reduced + same + increased: ``{reduced: 1, same: 1,
    increased: 1, assessed: -1}``).
    """

    frame: pd.DataFrame
    family: str
    rows: str
    columns: Mapping[Hashable, Column] = field(default_factory=dict)
    scope: Mapping[str, object] = field(default_factory=dict)
    column_dim: str | None = None
    crosstab: Count | None = None
    total_row: Hashable | None = "auto"
    total_column: Hashable | None = "auto"
    labels: Mapping[Hashable, str] = field(default_factory=dict)
    extra_equations: tuple[Mapping[CellId, float], ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.frame, pd.DataFrame):
            raise ParameterError(
                "a Table needs a pandas DataFrame", found=type(self.frame).__name__
            )
        if not self.frame.index.is_unique or not self.frame.columns.is_unique:
            raise SchemaError("row and column labels of a table must be unique", column=self.family)
        if self.column_dim is None:
            unknown = [c for c in self.frame.columns if c not in self.columns]
            if unknown:
                raise SchemaError(
                    "every column of a Table needs a Count, Derived, Figure or Text",
                    column=str(unknown[0]),
                    allowed=list(self.columns),
                )
        elif self.crosstab is None:
            raise SchemaError("a cross-tab Table needs crosstab=Count(...)", column=self.family)
        object.__setattr__(self, "total_row", _find_total(self.total_row, self.frame.index))
        object.__setattr__(
            self,
            "total_column",
            _find_total(self.total_column, self.frame.columns) if self.column_dim else None,
        )

    # ----------------------------------------------------------------- identities
    def spec(self, column: Hashable) -> Column:
        """What a column holds."""
        if self.column_dim is not None:
            assert self.crosstab is not None
            return self.crosstab
        return self.columns[column]

    def cell_spec(self, row: Hashable, column: Hashable) -> Column:
        """What one cell holds: the column's spec (tables with per-cell specs override it)."""
        return self.spec(column)

    def cell_id(self, row: Hashable, column: Hashable) -> CellId:
        """The identity of one cell."""
        spec = self.spec(column)
        dims: dict[str, object] = dict(self.scope)
        dims[self.rows] = TOTAL if row == self.total_row else row
        if self.column_dim is not None:
            dims[self.column_dim] = TOTAL if column == self.total_column else column
        dims.update(spec.dims)
        return CellId.of(spec.indicator, **dims)

    def _source_ids(self, row: Hashable, spec: Derived | Text) -> tuple[CellId, ...]:
        out = []
        for source in spec.sources:
            if isinstance(source, CellId):
                out.append(source)
            elif isinstance(source, tuple) and len(source) == 2 and source[1] in self.frame.columns:
                out.append(self.cell_id(source[0], source[1]))
            else:
                out.append(self.cell_id(row, source))
        return tuple(out)

    def cells(self) -> list[Cell]:
        """Every cell with its identity, kind and value (counts as whole numbers or NaN)."""
        out: list[Cell] = []
        for column in self.frame.columns:
            spec = self.spec(column)
            for row, value in self.frame[column].items():
                kind = type(spec).__name__.lower()
                sources = self._source_ids(row, spec) if isinstance(spec, Derived | Text) else ()
                if isinstance(spec, Count):
                    value = _count(value, table=self.family, row=row, column=column)
                out.append(
                    Cell(
                        row,
                        column,
                        self.cell_id(row, column),
                        kind,
                        value,
                        getattr(spec, "unit", ""),
                        sources,
                    )
                )
        return out

    def equations(self) -> list[dict[CellId, float]]:
        """The margins as equations ``sum(parts) - total = 0`` over cell ids."""
        count_cols = [c for c in self.frame.columns if isinstance(self.spec(c), Count)]
        if self.column_dim is not None:
            count_cols = [c for c in count_cols if c != self.total_column]
        rows = [r for r in self.frame.index if r != self.total_row]
        eqs: list[dict[CellId, float]] = []
        if self.total_row is not None:
            for column in count_cols:
                eqs.append(
                    _equation(
                        [self.cell_id(r, column) for r in rows],
                        self.cell_id(self.total_row, column),
                    )
                )
            if self.column_dim is not None and self.total_column is not None:
                eqs.append(
                    _equation(
                        [self.cell_id(r, self.total_column) for r in rows],
                        self.cell_id(self.total_row, self.total_column),
                    )
                )
        if self.column_dim is not None and self.total_column is not None:
            for row in self.frame.index:
                eqs.append(
                    _equation(
                        [self.cell_id(row, c) for c in count_cols],
                        self.cell_id(row, self.total_column),
                    )
                )
        eqs.extend(dict(eq) for eq in self.extra_equations)
        return eqs

    @property
    def counts_people(self) -> bool:
        """Whether any column counts people (or derives from such counts)."""
        if self.column_dim is not None:
            return True
        return any(
            isinstance(s, Count | Derived) or (isinstance(s, Text) and s.sources)
            for s in self.columns.values()
        )

    def label(self, column: Hashable) -> str:
        """The heading of a column: its label if given, else the column name."""
        return self.labels.get(column, str(column))


def _equation(parts: Sequence[CellId], total: CellId) -> dict[CellId, float]:
    eq: dict[CellId, float] = {}
    for part in parts:
        eq[part] = eq.get(part, 0.0) + 1.0
    eq[total] = eq.get(total, 0.0) - 1.0
    return eq


def _find_total(label: Hashable | None, labels: pd.Index) -> Hashable | None:
    if label is None:
        return None
    if isinstance(label, str) and label == "auto":
        found = [x for x in labels if isinstance(x, str) and x.strip().lower() in TOTAL_LABELS]
        if len(found) > 1:
            raise SchemaError(
                "more than one total; name it with total_row=/total_column=", found=found
            )
        return found[0] if found else None
    if label not in labels:
        raise SchemaError("total not in the table", allowed=list(labels), found=label)
    return label


def _count(value: object, *, table: str, row: Hashable, column: Hashable) -> float:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return np.nan
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise SchemaError(
            "a count must be a whole number >= 0", column=f"{table}: {row} / {column}", found=value
        ) from None
    if number < 0 or number % 1:
        raise SchemaError(
            "a count must be a whole number >= 0", column=f"{table}: {row} / {column}", found=value
        )
    return number


def cell_frame(values: Sequence[object], *, frame: pd.DataFrame, dtype: type) -> pd.DataFrame:
    """A frame shaped like ``frame`` from one value per cell, in the order of :meth:`Table.cells`
    (column by column): built at once, not cell by cell."""
    rows, columns = frame.shape
    grid: np.ndarray = np.array(values, dtype=dtype).reshape(columns, rows).T
    return pd.DataFrame(grid, index=frame.index, columns=frame.columns, dtype=dtype)
