"""Local context in a service report (areas against their region and England) and the small multiples.

All frames here are small synthetic ones built by hand (rates chosen to be exact at 1 dp).
"""

from __future__ import annotations

import re

import matplotlib.pyplot as plt
import pandas as pd
import pytest
from matplotlib.ticker import MaxNLocator

from hubspoke.analysis import context as ctx
from hubspoke.analysis.realist.tables import local_context_tables
from hubspoke.errors import ParameterError
from hubspoke.present.display import AREA_CODE
from hubspoke.present.plotting import apply_style
from hubspoke.present.plotting import context as charts
from hubspoke.present.views import view
from hubspoke.privacy.table import Figure, Text

NORTH_EAST, LONDON = "E12000001", "E12000007"

#: (code, name, level, year, count, symbol, population): synthetic figures, not the DfE's.
ROWS = [
    (ctx.ENGLAND_CODE, "England", "National", 2024, 1_000, None, 1_000_000),  # 10.0
    (ctx.ENGLAND_CODE, "England", "National", 2025, 1_200, None, 1_000_000),  # 12.0
    (NORTH_EAST, "North East", "Regional", 2024, 200, None, 100_000),  # 20.0
    (NORTH_EAST, "North East", "Regional", 2025, 150, None, 100_000),  # 15.0
    (LONDON, "London", "Regional", 2024, 50, None, 100_000),  # 5.0
    (LONDON, "London", "Regional", 2025, 70, None, 100_000),  # 7.0
    ("E06000002", "Middlesbrough", "Local authority", 2024, 30, None, 20_000),  # 15.0
    ("E06000002", "Middlesbrough", "Local authority", 2025, 40, None, 20_000),  # 20.0
    ("E06000005", "Darlington", "Local authority", 2024, 9, None, 30_000),  # 3.0
    ("E06000005", "Darlington", "Local authority", 2025, None, "c", 30_000),  # suppressed
    ("E09000012", "Hackney", "Local authority", 2024, 60, None, 50_000),  # 12.0
    ("E09000012", "Hackney", "Local authority", 2025, None, "x", 50_000),  # not available
]


def _context() -> pd.DataFrame:
    frame = pd.DataFrame(
        ROWS,
        columns=[
            "la_code",
            "la_name",
            "geographic_level",
            "year",
            "cse_assessments",
            "cse_symbol",
            "population",
        ],
    ).astype({"cse_assessments": "Int64", "population": "Int64"})
    return frame.assign(rate_per_10k=frame["cse_assessments"] * 10_000 / frame["population"])


def _tables(**regions: str) -> dict[str, pd.DataFrame]:
    services = pd.DataFrame(
        {
            "service_id": ["S01", "S02", "S03"],
            "la_codes": ["E06000002;E06000005", "E09000012", "E99999999"],
            "region": [regions.get("S01", "North East"), "London", "South West"],
        }
    )
    return {"services": services, "context": _context()}


@pytest.fixture()
def rows() -> pd.DataFrame:
    return ctx.service_context_rows(_tables(), service_id="S01")


# --------------------------------------------------------------------------- the rows
def test_rows_hold_each_area_its_region_and_england_by_year(rows: pd.DataFrame) -> None:
    lines = rows.drop_duplicates("la_code")
    assert lines["la_name"].tolist() == ["Middlesbrough", "Darlington", "North East", "England"]
    assert lines["role"].tolist() == ["area", "area", "region", "england"]
    assert lines["region_code"].tolist()[:2] == [NORTH_EAST, NORTH_EAST]
    assert len(rows) == 4 * 2  # every line in every year
    assert ctx.region_of_areas(rows) == {"Middlesbrough": "North East", "Darlington": "North East"}


def test_a_region_code_on_the_area_rows_wins_over_the_services_region() -> None:
    context = _context().assign(
        region_code=lambda d: d["la_code"].map({"E06000005": LONDON, "E06000002": "E99"})
    )
    codes = ctx.area_region_codes(context, ["E06000002", "E06000005"], region="North East")
    # Darlington's own region wins; Middlesbrough's unknown region falls back to the service's.
    assert codes == {"E06000002": NORTH_EAST, "E06000005": LONDON}
    assert ctx.area_region_codes(_context(), ["E06000002"], region="Nowhere") == {}


def test_unknown_service_is_refused_and_a_service_without_known_areas_has_no_rows() -> None:
    with pytest.raises(ParameterError, match="S09"):
        ctx.service_context_rows(_tables(), service_id="S09")
    empty = ctx.service_context_rows(_tables(), service_id="S03")
    assert empty.empty
    assert "None of the service's areas" in ctx.service_context_sentence(empty)


# --------------------------------------------------------------------------- the table
def test_table_rows_are_names_with_rates_by_hand(rows: pd.DataFrame) -> None:
    table = ctx.service_context_table(rows, service_id="S01")
    shown = view(table).display
    assert list(shown.index) == ["Middlesbrough", "Darlington", "North East", "England"]
    assert not any(AREA_CODE.search(str(label)) for label in shown.index)
    assert shown.loc["Middlesbrough", ["2024", "2025"]].tolist() == ["15.0", "20.0"]
    assert shown.loc["Darlington", ["2024", "2025"]].tolist() == ["3.0", "x"]
    assert shown.loc["North East", "2025"] == "15.0"
    assert shown.loc["England", "2024"] == "10.0"
    assert shown.loc["Darlington", "note"] == "Count suppressed (c) at source in 2025"
    assert shown.loc["England", "note"] == ""
    assert all(isinstance(table.spec(c), Figure) for c in ("2024", "2025"))
    assert isinstance(table.spec("note"), Text)
    assert not table.counts_people  # public rates, never suppressed again


def test_table_has_no_note_column_when_nothing_is_missing_at_source() -> None:
    rows = ctx.service_context_rows(_tables(), service_id="S01")
    complete = rows[rows["year"].eq(2024)]
    assert "note" not in ctx.service_context_table(complete, service_id="S01").frame.columns


# --------------------------------------------------------------------------- the sentence
def test_sentence_numbers_are_the_tables(rows: pd.DataFrame) -> None:
    sentence = ctx.service_context_sentence(rows)
    shown = view(ctx.service_context_table(rows, service_id="S01")).display
    latest = re.search(r"year ending 31 March (\d{4})", sentence)
    assert latest is not None and latest.group(1) == "2025"
    # The latest year's rates, each as the table shows it, beside its area's name.
    for phrase in (
        f"{shown.loc['Middlesbrough', '2025']} per 10,000 children in Middlesbrough",
        f"{shown.loc['North East', '2025']} in the North East region",
        f"{shown.loc['England', '2025']} in England",
    ):
        assert phrase in sentence
    decimals = re.findall(r"\d+\.\d", sentence)
    assert set(decimals) <= set(shown.loc[:, ["2024", "2025"]].to_numpy().ravel())
    # 2024: 15.0 > 10.0 and < 20.0; 2025: 20.0 > 12.0 and > 15.0 - Darlington has one year.
    assert "From 2024 to 2025" in sentence
    assert "Middlesbrough's rate was above England's in all 2 years" in sentence
    assert "above the North East region's in 1 of 2 years" in sentence
    assert "Darlington's rate was above England's in 0 of 1 year" in sentence
    assert "suppressed at source (shown as c by the DfE) for Darlington in 2025" in sentence
    assert not AREA_CODE.search(sentence)


def test_sentence_says_when_a_figure_is_not_available_and_no_area_rate_is_shown() -> None:
    rows = ctx.service_context_rows(_tables(), service_id="S02")
    sentence = ctx.service_context_sentence(rows)
    assert "no rate is available for the service's areas; it was 7.0 in the London region" in (
        sentence
    )
    assert "No figure was available at source for Hackney in 2025." in sentence


# --------------------------------------------------------------------------- the charts
def _visible_axes(fig: plt.Figure) -> list[plt.Axes]:
    return [ax for ax in fig.axes if ax.get_visible()]


def _values(numbers: object) -> tuple[float | None, ...]:
    """Numbers as a tuple that compares equal across numpy and pandas (NaN as None)."""
    return tuple(None if pd.isna(v) else float(v) for v in numbers)  # type: ignore[attr-defined]


def _lines(ax: plt.Axes) -> list[tuple[float | None, ...]]:
    return sorted((_values(line.get_ydata()) for line in ax.get_lines()), key=str)


def _years(table) -> pd.DataFrame:
    return view(table).visible.loc[:, ["2024", "2025"]]


def test_service_chart_has_a_panel_per_area_with_region_and_england(rows: pd.DataFrame) -> None:
    table = ctx.service_context_table(rows, service_id="S01")
    panels = ctx.area_panel_titles(rows)
    fig = charts.small_multiples_chart(
        table,
        title="CSE assessments per 10,000 children",
        panels=panels,
        own_label="Local-authority area",
        region_of=ctx.region_of_areas(rows),
    )
    axes = _visible_axes(fig)
    assert [ax.get_title(loc="left") for ax in axes] == ["Middlesbrough", "Darlington"]
    for ax, area in zip(axes, panels, strict=True):
        expected = [_values(_years(table).loc[r]) for r in (area, "North East", "England")]
        assert _lines(ax) == sorted(expected, key=str), area
    assert axes[0].get_ylabel() == "per 10,000 children"
    assert {ax.get_xlabel() for ax in axes} == {"Year ending 31 March"}
    assert axes[0].get_ylim() == axes[1].get_ylim()  # one shared scale
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == [
        "Local-authority area",
        "North East (region)",
        "England",
    ]
    plt.close(fig)


def test_service_alt_text_names_areas_not_codes(rows: pd.DataFrame) -> None:
    table = ctx.service_context_table(rows, service_id="S01")
    alt = charts.small_multiples_alt(
        table,
        panels=ctx.area_panel_titles(rows),
        what="local-authority area",
        region_of=ctx.region_of_areas(rows),
    )
    assert not AREA_CODE.search(alt)
    assert alt.startswith("Line charts in 2 panels, one per local-authority area")
    assert "Panels: Middlesbrough; Darlington." in alt
    assert "In 2025: Middlesbrough 20.0." in alt  # Darlington's 2025 count is suppressed
    assert "against the North East region (dashed) and England (black)" in alt
    assert "between 10.0 and 12.0" in alt


def test_one_area_reads_in_the_singular() -> None:
    rows = ctx.service_context_rows(_tables(), service_id="S02")
    table = ctx.service_context_table(rows, service_id="S02")
    alt = charts.small_multiples_alt(
        table, panels=ctx.area_panel_titles(rows), what="local-authority area"
    )
    assert alt.startswith("A line chart for the one local-authority area")
    assert "Panel: Hackney." in alt
    assert not re.search(r"\b1 \w+s\b", alt)


def test_areas_in_different_regions_name_their_region_in_the_panel() -> None:
    context = _context().assign(
        region_code=lambda d: d["la_code"].map({"E06000005": LONDON, "E06000002": NORTH_EAST})
    )
    tables = {**_tables(), "context": context}
    rows = ctx.service_context_rows(tables, service_id="S01")
    assert ctx.area_panel_titles(rows) == {
        "Middlesbrough": "Middlesbrough (North East)",
        "Darlington": "Darlington (London)",
    }
    fig = charts.small_multiples_chart(
        ctx.service_context_table(rows, service_id="S01"),
        title="t",
        panels=ctx.area_panel_titles(rows),
        own_label="Local-authority area",
        region_of=ctx.region_of_areas(rows),
    )
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels[1] == "Its region (in the panel title)"
    london = _years(ctx.service_context_table(rows, service_id="S01")).loc["London"]
    assert _values(london) in _lines(_visible_axes(fig)[1])
    plt.close(fig)


def test_local_context_chart_has_a_panel_per_service_against_england() -> None:
    tables = _tables()
    rates = local_context_tables(tables)["rates"]
    panels = ctx.service_panel_titles(tables)
    assert panels == {"S01": "S01: Middlesbrough, Darlington", "S02": "S02: Hackney"}
    fig = charts.small_multiples_chart(
        rates, title="t", panels=panels, own_label="The service's areas combined"
    )
    axes = _visible_axes(fig)
    assert [ax.get_title(loc="left") for ax in axes] == list(panels.values())
    england = _values(_years(rates).loc["England"])
    for ax, service in zip(axes, panels, strict=True):
        assert _lines(ax) == sorted([england, _values(_years(rates).loc[service])], key=str)
        assert ax.get_legend() is None  # the legend is drawn once, for the figure
    assert len(fig.legends) == 1
    assert len({ax.get_ylim() for ax in axes}) == 1
    alt = charts.small_multiples_alt(rates, panels=panels, what="service (its areas combined)")
    assert alt.startswith("Line charts in 2 panels, one per service (its areas combined)")
    assert "S01: Middlesbrough, Darlington; S02: Hackney" in alt
    assert not AREA_CODE.search(alt) and not re.search(r"\b1 services\b", alt)
    plt.close(fig)


def test_panels_are_on_the_scale_shared_axes_give_without_sharing_them(rows: pd.DataFrame) -> None:
    """Every panel's limits are those of matplotlib's shared axes (the union of all panels'
    data, the same margins, y from 0), and tick labels show on the outer panels only; the
    axes are not shared, since sharing made each limit look-up check every other panel."""
    table = ctx.service_context_table(rows, service_id="S01")
    names = ["Middlesbrough", "Darlington", "North East", "England"]  # 2 x 2 panels
    fig = charts.small_multiples_chart(
        table, title="t", panels={n: n for n in names}, own_label="Area"
    )
    axes = _visible_axes(fig)
    apply_style()
    reference, shared = plt.subplots(
        2, 2, figsize=fig.get_size_inches(), sharex=True, sharey=True, layout="constrained"
    )
    for ax, twin in zip(axes, shared.flat, strict=True):
        for line in ax.get_lines():
            twin.plot(line.get_xdata(), line.get_ydata(), marker=line.get_marker())
    shared.flat[0].set_ylim(bottom=0)
    shared.flat[0].xaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
    fig.canvas.draw()
    reference.canvas.draw()
    for ax, twin in zip(axes, shared.flat, strict=True):
        assert ax.get_ylim() == twin.get_ylim() and ax.get_xlim() == twin.get_xlim()
        assert ax.get_xticks().tolist() == twin.get_xticks().tolist()
        assert ax.get_shared_x_axes().get_siblings(ax) == [ax]
        assert ax.get_shared_y_axes().get_siblings(ax) == [ax]
    assert axes[0].get_ylim()[0] == 0 and axes[0].get_ylim()[1] > 20  # Middlesbrough's 20.0 fits
    labelled = [
        (
            any(t.get_visible() for t in ax.get_xticklabels()),
            any(t.get_visible() for t in ax.get_yticklabels()),
        )
        for ax in axes
    ]
    assert labelled == [(False, True), (False, False), (True, True), (True, False)]
    assert [ax.get_ylabel() != "" for ax in axes] == [True, False, True, False]
    assert [ax.get_xlabel() != "" for ax in axes] == [False, False, True, True]
    plt.close(fig)
    plt.close(reference)
