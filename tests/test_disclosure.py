"""Disclosure control: DfE convention, secondary suppression, and an attacker's-eye audit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from hubspoke import config
from hubspoke.errors import HubspokeError, ParameterError, SchemaError
from hubspoke.privacy.disclosure import (
    SuppressedTable,
    footnote,
    safe_counts_for_plot,
    suppress,
    suppress_value,
)

SYMBOL = config.SUPPRESSION_SYMBOL


def with_totals(grid: pd.DataFrame, *, row: bool = True, column: bool = True) -> pd.DataFrame:
    out = grid.copy()
    if column:
        out["Total"] = out.sum(axis=1)
    if row:
        out.loc["Total"] = out.sum(axis=0)
    return out


def shown_numbers(display: pd.DataFrame | pd.Series) -> list[int]:
    cells = display.to_numpy().ravel() if isinstance(display, pd.DataFrame) else display.to_numpy()
    return [int(str(v).replace(",", "")) for v in cells if str(v) not in (SYMBOL, "x", "")]


# --------------------------------------------------------------------------- the attacker
def attacker_ranges(
    values: np.ndarray,
    hidden: np.ndarray,
    primary: np.ndarray,
    *,
    threshold: int,
    row_sums: bool,
    col_sums: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Min and max of every hidden cell of a table whose last row / column are totals.

    Written independently of the module: the attacker knows every shown value, that the
    last column is the sum of the others (``row_sums``) and that the last row is the sum
    of the rows above (``col_sums``); a primary cell lies in 1..threshold and any other
    hidden cell is >= 1 (zeros are shown, so a hidden cell is not 0). This is stricter
    than hidden cells >= 0.
    """
    n_rows, n_cols = values.shape
    var = -np.ones(values.shape, dtype=int)
    var[hidden] = np.arange(hidden.sum())
    eqs, rhs = [], []

    def add(cells: list[tuple[int, int]], total: tuple[int, int]) -> None:
        coef, const = np.zeros(hidden.sum()), 0.0
        for (i, j), sign in [*[(c, 1.0) for c in cells], (total, -1.0)]:
            if var[i, j] >= 0:
                coef[var[i, j]] += sign
            else:
                const -= sign * values[i, j]
        if coef.any():
            eqs.append(coef)
            rhs.append(const)

    if row_sums:
        for i in range(n_rows):
            add([(i, j) for j in range(n_cols - 1)], (i, n_cols - 1))
    if col_sums:
        for j in range(n_cols):
            add([(i, j) for i in range(n_rows - 1)], (n_rows - 1, j))
    bounds = [
        (1, threshold) if primary[i, j] else (1, None)
        for i, j in zip(*np.nonzero(hidden), strict=True)
    ]
    low, high = np.full(values.shape, np.nan), np.full(values.shape, np.nan)
    for k, (i, j) in enumerate(zip(*np.nonzero(hidden), strict=True)):
        if not any(e[k] for e in eqs):
            low[i, j], high[i, j] = bounds[k][0], np.inf if bounds[k][1] is None else bounds[k][1]
            continue
        for sign, out in ((1, low), (-1, high)):
            cost = np.zeros(len(bounds))
            cost[k] = sign
            res = linprog(cost, A_eq=np.array(eqs), b_eq=rhs, bounds=bounds, method="highs")
            assert res.status in (0, 3), res.message
            out[i, j] = np.inf if res.status == 3 else res.x[k]
    return low, high


def grids(max_side: int = 6):
    small_or_any = st.one_of(st.integers(0, 7), st.integers(0, 50))
    return st.integers(1, max_side).flatmap(
        lambda r: st.integers(1, max_side).flatmap(
            lambda c: st.lists(
                st.lists(small_or_any, min_size=c, max_size=c), min_size=r, max_size=r
            )
        )
    )


def frame_of(rows: list[list[int]]) -> pd.DataFrame:
    return pd.DataFrame(
        rows,
        index=[f"r{i}" for i in range(len(rows))],
        columns=[f"c{j}" for j in range(len(rows[0]))],
    )


# --------------------------------------------------------------------------- property tests
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=grids(), total_row=st.booleans(), total_column=st.booleans(), threshold=st.integers(2, 6)
)
def test_shown_tables_cannot_be_undone(rows, total_row, total_column, threshold):
    """Attacker sees only the table (no implied totals): no small count shown, none recoverable."""
    table = with_totals(frame_of(rows), row=total_row, column=total_column)
    result = suppress(table, threshold=threshold, implied_totals=False)
    assert all(n == 0 or n > threshold for n in shown_numbers(result.display))
    values = table.to_numpy(dtype=float)
    hidden, primary = result.suppressed.to_numpy(), result.primary.to_numpy()
    assert (primary == ((values >= 1) & (values <= threshold))).all()
    low, high = attacker_ranges(
        values, hidden, primary, threshold=threshold, row_sums=total_column, col_sums=total_row
    )
    residual = {(table.index.get_loc(r), table.columns.get_loc(c)) for r, c in result.residual}
    for i, j in zip(*np.nonzero(hidden), strict=True):
        if (i, j) not in residual:
            assert high[i, j] - low[i, j] >= 1, (
                f"cell {(i, j)} recoverable: {low[i, j]}..{high[i, j]}\n{table}"
            )
    _residual_is_inherent(values, residual, threshold, total_row, total_column)


def _residual_is_inherent(values, residual, threshold, total_row, total_column):
    """A cell may stay recoverable only if it would be with every non-zero count hidden."""
    if not residual:
        return
    everything = values > 0
    primary = (values >= 1) & (values <= threshold)
    low, high = attacker_ranges(
        values, everything, primary, threshold=threshold, row_sums=total_column, col_sums=total_row
    )
    for i, j in residual:
        assert high[i, j] - low[i, j] < 1


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=grids(5), total_row=st.booleans(), total_column=st.booleans())
def test_implied_totals_are_protected_too(rows, total_row, total_column):
    """With totals quoted elsewhere (the default), the attacker also knows the implied totals."""
    grid = frame_of(rows)
    table = with_totals(grid, row=total_row, column=total_column)
    result = suppress(table)
    implied = [s for s in (result.row_totals, result.column_totals) if s is not None]
    for shown in [result.display, *implied]:
        assert all(n == 0 or n > 5 for n in shown_numbers(shown))
    if result.grand_total is not None:
        assert all(n == 0 or n > 5 for n in shown_numbers(pd.Series([result.grand_total])))
    full = with_totals(
        grid,
        row=total_row or result.column_totals is not None,
        column=total_column or result.row_totals is not None,
    )
    hidden = np.zeros(full.shape, dtype=bool)
    hidden[: table.shape[0], : table.shape[1]] = result.suppressed.to_numpy()
    if result.row_totals is not None:
        hidden[: len(grid), -1] = result.row_totals.to_numpy() == SYMBOL
    if result.column_totals is not None:
        hidden[-1, : grid.shape[1]] = result.column_totals.to_numpy() == SYMBOL
    if result.grand_total is not None:
        hidden[-1, -1] = result.grand_total == SYMBOL
    values = full.to_numpy(dtype=float)
    primary = hidden & (values >= 1) & (values <= 5)
    low, high = attacker_ranges(
        values,
        hidden,
        primary,
        threshold=5,
        row_sums=full.shape[1] > grid.shape[1],
        col_sums=full.shape[0] > grid.shape[0],
    )
    residual = {(full.index.get_loc(r), full.columns.get_loc(c)) for r, c in result.residual}
    for i, j in zip(*np.nonzero(hidden), strict=True):
        if (i, j) not in residual and i < table.shape[0] and j < table.shape[1]:
            assert high[i, j] - low[i, j] >= 1, (
                f"cell {(i, j)} recoverable\n{full}\n{result.display}"
            )


@settings(max_examples=60, deadline=None)
@given(counts=st.lists(st.integers(0, 30), min_size=1, max_size=8))
def test_plot_counts_hide_what_the_table_hides(counts):
    series = pd.Series(counts, index=[f"k{i}" for i in range(len(counts))], name="n")
    plotted = safe_counts_for_plot(series)
    table = suppress(series.to_frame())
    assert (plotted.isna().to_numpy() == table.suppressed["n"].to_numpy()).all()
    assert not plotted.between(1, 5).any()


# --------------------------------------------------------------------------- unit tests
def test_dfe_two_way_table_with_totals():
    grid = pd.DataFrame(
        {"Police": [3, 10, 12], "Social care": [8, 0, 20], "Health": [15, 7, 2]},
        index=["Low", "Medium", "High"],
    )
    result = suppress(with_totals(grid))
    assert isinstance(result, SuppressedTable) and result.mask is result.suppressed
    shown = result.display
    assert shown.loc["Low", "Police"] == SYMBOL
    assert shown.loc["High", "Health"] == SYMBOL
    assert shown.loc["Medium", "Social care"] == "0"
    for line in [
        *shown.drop(index="Total").itertuples(index=False),
        *shown.drop(columns="Total").T.itertuples(),
    ]:
        assert list(line).count(SYMBOL) != 1
    assert shown.loc["Total", "Total"] == "77"
    assert shown.attrs["footnote"] == result.footnote


def test_one_dimensional_table_with_total():
    table = pd.DataFrame({"n": [3, 10, 20, 0, 33]}, index=["a", "b", "c", "d", "Total"])
    result = suppress(table)
    assert list(result.display["n"]) == [SYMBOL, SYMBOL, "20", "0", "33"]
    assert result.primary["n"].tolist() == [True, False, False, False, False]


def test_series_and_no_total_uses_implied_total():
    result = suppress(pd.Series([3, 10, 20], index=list("abc"), name="n"))
    assert list(result.display["n"]) == [SYMBOL, SYMBOL, "20"]
    assert result.column_totals.tolist() == ["33"]
    unprotected = suppress(
        pd.Series([3, 10, 20], index=list("abc"), name="n"), implied_totals=False
    )
    assert list(unprotected.display["n"]) == [SYMBOL, "10", "20"]


def test_two_fives_against_a_total_are_not_left_exposed():
    """5 + 5 = 10 with both in 1..5 pins both: the structural rule alone would miss this."""
    table = pd.DataFrame({"n": [5, 5, 30, 40]}, index=["a", "b", "c", "Total"])
    result = suppress(table)
    assert result.display["n"].tolist() == [SYMBOL, SYMBOL, SYMBOL, "40"]


def test_zero_stays_zero_and_is_never_secondary():
    table = pd.DataFrame({"n": [4, 0, 0, 12, 16]}, index=["a", "b", "c", "d", "Total"])
    result = suppress(table)
    assert result.display["n"].tolist() == [SYMBOL, "0", "0", SYMBOL, "16"]


def test_threshold_and_symbol_are_configurable():
    table = pd.DataFrame({"n": [7, 9, 40]}, index=list("abc"))
    result = suppress(table, threshold=10, symbol="*", implied_totals=False)
    assert result.display["n"].tolist() == ["*", "*", "40"]
    assert result.footnote.startswith("* = suppressed: a count from 1 to 10")
    assert suppress(table, threshold=0, implied_totals=False).display["n"].tolist() == [
        "7",
        "9",
        "40",
    ]


def test_percentages_and_rates_go_with_their_count():
    table = pd.DataFrame(
        {"n": [3, 30, 40, 73], "pct": [4.1, 41.1, 54.8, 100.0], "rate": [1.2, 12.0, 16.0, 29.2]},
        index=["a", "b", "c", "Total"],
    )
    result = suppress(table, derived={"pct": "n", "rate": ("n",)})
    assert result.display.loc["a", "pct"] == SYMBOL
    assert result.display.loc["b", "rate"] == SYMBOL  # 30 hidden as secondary, so its rate too
    assert result.display.loc["c", "pct"] == "54.8"
    assert result.suppressed["pct"].tolist() == result.suppressed["n"].tolist()


def test_text_columns_pass_through_and_missing_is_x():
    table = pd.DataFrame({"label": ["A", "B", "C"], "n": [12, np.nan, 40]})
    result = suppress(table, implied_totals=False)
    assert result.display["label"].tolist() == ["A", "B", "C"]
    assert result.display["n"].tolist() == ["12", "x", "40"]
    assert "x = not available" in result.footnote


def test_large_counts_use_thousands_separator():
    assert suppress_value(12345) == "12,345"


def test_footnote_default_text():
    note = footnote()
    assert note.startswith("c = suppressed: a count from 1 to 5")
    assert "DfE" in note
    assert suppress(pd.DataFrame({"n": [10, 20]})).footnote == note


@pytest.mark.parametrize(
    ("n", "expected"), [(0, "0"), (1, SYMBOL), (5, SYMBOL), (6, "6"), (None, "x"), (np.nan, "x")]
)
def test_suppress_value(n, expected):
    assert suppress_value(n) == expected


def test_suppress_value_options_and_errors():
    assert suppress_value(8, threshold=10, symbol="*") == "*"
    with pytest.raises(ParameterError):
        suppress_value(-1)
    with pytest.raises(ParameterError):
        suppress_value(2.5)
    with pytest.raises(ParameterError):
        suppress_value(3, symbol="")
    with pytest.raises(ParameterError):
        suppress_value(3, threshold=-1)


def test_plot_counts_no_bar_of_three():
    plotted = safe_counts_for_plot(pd.Series([3, 12, 40, 0], index=list("abcd")))
    assert plotted.isna().tolist() == [True, True, False, False]
    assert plotted["d"] == 0


def test_bad_tables_raise_project_errors():
    with pytest.raises(SchemaError, match="whole numbers"):
        suppress(pd.DataFrame({"n": [1.5, 2]}))
    with pytest.raises(SchemaError, match="whole numbers"):
        suppress(pd.DataFrame({"n": [-1, 2]}))
    with pytest.raises(SchemaError, match="does not equal"):
        suppress(pd.DataFrame({"n": [5, 5, 7]}, index=["a", "b", "Total"]))
    with pytest.raises(SchemaError, match="derived"):
        suppress(pd.DataFrame({"n": [10]}), derived={"pct": "n"})
    with pytest.raises(SchemaError):
        suppress(pd.DataFrame())
    with pytest.raises(HubspokeError):
        safe_counts_for_plot([1, 2, 3])


def test_table_without_counts_passes_through_formatted():
    """count_columns=[] says no column counts people: nothing is hidden, numbers are formatted."""
    frame = pd.DataFrame(
        {"estimate": [1.23456, 0.5], "n_obs": [3, 1200], "term": ["age", "female"]}
    )
    result = suppress(frame, count_columns=[])
    assert not result.suppressed.to_numpy().any()
    assert list(result.display["estimate"]) == ["1.2", "0.5"]
    assert list(result.display["n_obs"]) == ["3", "1,200"]
    assert list(result.display["term"]) == ["age", "female"]
    assert result.footnote
