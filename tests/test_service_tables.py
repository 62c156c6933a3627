"""Service report tables: one identity per quantity, and no hidden count a reader can work out.

The attacks below were possible with per-table suppression (an auditor recovered hidden
cells by linear programming across tables); they must be impossible in the joint release.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linprog

from hubspoke import load
from hubspoke.analysis.service import risk_crosstab_table, service_tables
from hubspoke.privacy.release import gather, protect
from hubspoke.privacy.table import CellId, Table


@pytest.fixture(scope="module")
def tables(synthetic_processed) -> dict:
    """The processed synthetic data (the session's own, cleaned from the default seed)."""
    return load.load_tables(synthetic_processed)


def _cell(table: Table, row: object, column: object) -> CellId:
    return table.cell_id(row, column)


def test_grand_totals_share_one_identity(tables: dict) -> None:
    """Reach, demographics, referral sources, risk and the year-on-year row are one cell."""
    t = service_tables(tables, service_id="S01", year=2015)
    grand = CellId.of("young_people", service_id="S01", time_period="2015")
    assert _cell(t["reach.young_people"], "Total", "n") == grand
    assert _cell(t["demographics.gender"], "Total", "n") == grand
    assert _cell(t["referral_sources"], "Total", "n") == grand
    assert _cell(t["risk.summary"], "Total", "n") == grand
    crosstab = risk_crosstab_table(tables, service_id="S01", year=2015)  # analysts only
    assert _cell(crosstab, "Total", "Total") == grand
    assert "risk.crosstab" not in t
    assert _cell(t["year_on_year"], "2015", "young_people") == grand
    assert _cell(t["completeness"], "gender", "records") == grand
    reduced = CellId.of("young_people", risk_change="Reduced", service_id="S01", time_period="2015")
    assert _cell(t["risk.summary"], "Reduced", "n") == reduced
    assert _cell(t["year_on_year"], "2015", "risk_reduced") == reduced
    not_recorded = grand.with_dims(disability="Not recorded")
    assert _cell(t["completeness"], "disability", "not_recorded") == not_recorded
    assert _cell(t["demographics.disability"], "Not recorded", "n") == not_recorded


def test_one_service_year_gathers_and_its_relations_hold(tables: dict) -> None:
    """No two tables give one identity two values, and every relation holds on true values."""
    t = service_tables(tables, service_id="S02", year=2016)
    cells, equations = gather(t.values())
    for eq in equations:
        if all(k in cells for k in eq):
            assert abs(sum(c * float(cells[k].value) for k, c in eq.items())) < 1e-9, eq


def test_outcome_values_intervals_and_progress_rest_on_their_counts(tables: dict) -> None:
    """Value and 95% CI are Derived from the counts (full precision); progress and the
    headline rating also rest on the baseline year's counts, the level on this year's only."""
    t = service_tables(tables, service_id="S01", year=2015)
    cells = {(c.row, c.column): c for c in t["outcome_evidence"].cells()}
    num, den = cells[("Risk reduced", "Numerator")], cells[("Risk reduced", "Denominator")]
    value, low, high = (cells[("Risk reduced", c)] for c in ("Value", "CI low", "CI high"))
    assert {value.kind, low.kind, high.kind} == {"derived"}
    assert set(value.sources) == set(low.sources) == set(high.sources) == {num.id, den.id}
    assert value.value == pytest.approx(100 * num.value / den.value, abs=1e-9)  # not rounded
    assert low.value < value.value < high.value
    spec = t["outcome_evidence"].cell_spec("Risk reduced", "Value")
    assert (spec.unit, spec.dp) == ("%", 0)
    assert t["outcome_evidence"].cell_spec("Change in feeling safe", "CI low").dp == 2
    baseline = CellId.of("young_people", service_id="S01", time_period="2014")
    assert baseline in cells[("Young people referred", "Progress")].sources
    assert baseline not in cells[("Young people referred", "Meets target")].sources
    ratings = {(c.row, c.column): c for c in t["outcome_ratings"].cells()}
    assert baseline in ratings[("Identification", "Rating")].sources
    assert baseline not in ratings[("Identification", "Level")].sources
    assert ratings[("Identification", "Progress indicators")].value.startswith(
        tuple(f"{k} of 3 indicators met;" for k in range(4))
    )


@pytest.fixture(scope="module")
def release(tables: dict):
    """Every service-year's tables, suppressed together."""
    everything = [
        table
        for service_id, years in load.available_service_years(tables).items()
        for year in years
        for table in service_tables(tables, service_id=service_id, year=year).values()
    ]
    cells, equations = gather(everything)
    return protect(cells, equations=equations), cells, equations


@pytest.mark.slow
def test_derived_cells_shown_only_with_all_their_sources(release) -> None:
    """A percentage, mean or rating is never shown beside a hidden count it comes from."""
    rel, cells, _ = release
    for cid, cell in cells.items():
        if cid not in rel.hidden and cell.sources:
            assert not any(rel.is_hidden(s) for s in cell.sources), cid.key


@pytest.mark.slow
def test_attack_s01_2015_percent_of_assessed(release, tables: dict) -> None:
    """'Reduced 7 is 28.0% of assessed' must not give away Increased and Not recorded."""
    rel, _, _ = release
    view = rel.view(service_tables(tables, service_id="S01", year=2015)["risk.summary"])
    if view.hidden.loc[["Increased", "Not recorded"], "n"].any():
        assert view.hidden.loc["Reduced", "% of assessed"] or view.hidden.loc["Reduced", "n"]


@pytest.mark.slow
def test_attack_s02_2016_completeness_disability(release, tables: dict) -> None:
    """A completeness 'not recorded' is the demographics cell: hidden in both or neither."""
    rel, _, _ = release
    t = service_tables(tables, service_id="S02", year=2016)
    completeness = rel.view(t["completeness"])
    disability = rel.view(t["demographics.disability"])
    assert (
        completeness.hidden.loc["disability", "not_recorded"]
        == disability.hidden.loc["Not recorded", "n"]
    )
    if disability.hidden.loc["Yes", "n"]:
        # Yes is not the total minus shown cells: another disability count is hidden too
        assert disability.hidden.loc[["No", "Not recorded"], "n"].any()


def _ranges(
    cells: dict, equations: list, hidden: frozenset, targets: list[CellId]
) -> dict[CellId, tuple[float, float]]:
    """Smallest and largest value of each target a reader can reach, by a linear program of its own.

    The reader knows every shown count and every equation; a hidden count is at least 1
    (zeros are shown) and a quantity no table shows at least 0. Only the equations
    reachable from the targets through unknown cells matter.
    """
    known: dict[CellId, float] = {}
    floor: dict[CellId, float] = {}
    for cid, cell in cells.items():
        if cell.kind != "count":
            continue
        value = float(cell.value)
        if cid in hidden:
            floor[cid] = 1.0
        elif not np.isnan(value):
            known[cid] = value
    rels_of: dict[CellId, list[int]] = {}
    for r, eq in enumerate(equations):
        for cid in eq:
            rels_of.setdefault(cid, []).append(r)
    unknowns: list[CellId] = []
    seen, rows, todo = set(targets), set(), list(targets)
    while todo:
        cid = todo.pop()
        unknowns.append(cid)
        for r in rels_of.get(cid, []):
            if r in rows:
                continue
            rows.add(r)
            for other in equations[r]:
                if other not in known and other not in seen:
                    seen.add(other)
                    todo.append(other)
    column = {cid: j for j, cid in enumerate(unknowns)}
    a_eq = np.zeros((len(rows), len(unknowns)))
    b_eq = np.zeros(len(rows))
    for i, r in enumerate(sorted(rows)):
        for cid, coef in equations[r].items():
            if cid in known:
                b_eq[i] -= coef * known[cid]
            else:
                a_eq[i, column[cid]] += coef
    bounds = [(floor.get(cid, 0.0), None) for cid in unknowns]
    out = {}
    for target in targets:
        cost = np.zeros(len(unknowns))
        cost[column[target]] = 1.0
        ends = []
        for sign in (1.0, -1.0):
            res = linprog(sign * cost, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
            assert res.status in (0, 3), (target.key, res.message)
            ends.append(sign * res.fun if res.status == 0 else np.inf)
        out[target] = (ends[0], ends[1])
    return out


@pytest.mark.slow
@pytest.mark.parametrize(("service_id", "year"), [("S01", 2015), ("S02", 2016)])
def test_no_hidden_count_of_a_service_year_is_pinned(release, service_id: str, year: int) -> None:
    """Given everything shown and every relation, each hidden count keeps a range of values."""
    rel, cells, equations = release
    mine = [
        cid
        for cid, cell in cells.items()
        if cell.kind == "count"
        and cid in rel.hidden
        and cid.get("service_id") == service_id
        and cid.get("time_period") == str(year)
    ]
    assert mine
    ranges = _ranges(cells, equations, rel.hidden, mine)
    pinned = [cid.key for cid, (low, high) in ranges.items() if high - low < 0.5]
    assert not pinned
