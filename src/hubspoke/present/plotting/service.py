"""Charts for one service and year, drawn from the report's :class:`~hubspoke.privacy.table.Table`\\ s.

Each chart takes the table(s) the report shows (``service_tables(...)["referral_sources"]``
...) and draws only ``view(table, release=release).visible``: the numbers the release lets a funder see,
NaN wherever a cell is hidden. A hidden bar is marked with the suppression symbol; a
chart whose values are all hidden says so instead of drawing an empty axis. Each has
an ``*_alt`` function whose text quotes only the table's displayed strings. ``release``
(default: the current funder release) is for tests.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import LinearSegmentedColormap

from hubspoke.analysis.service import MIN_N_CI, TOTAL
from hubspoke.present.plotting.base import (
    NEUTRAL,
    OKABE_ITO,
    SEQUENTIAL,
    apply_style,
    bar_chart,
    new_figure,
)
from hubspoke.present.views import view
from hubspoke.privacy.release import Release, Shown
from hubspoke.privacy.table import Table

ALL_HIDDEN = "Too few young people to show"


def _where(service_id: str, year: int) -> str:
    return f"{service_id}, {year}"


def _note(shown: Shown) -> str:
    """A sentence saying some values are hidden (when they are)."""
    return (
        f" Values marked {shown.symbol} are suppressed to protect confidentiality."
        if shown.any_hidden
        else ""
    )


def _empty(ax: plt.Axes, text: str = ALL_HIDDEN) -> None:
    """Say why an axis has nothing drawn."""
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes)


# --------------------------------------------------------------------------- referral sources
def referral_sources_chart(
    table: Table, *, service_id: str, year: int, release: Release | None = None
) -> plt.Figure:
    """Bar chart of referrals by source (``referral_sources`` table); hidden bars not drawn."""
    shown = view(table, release=release)
    values = shown.visible["n"].drop(index=TOTAL)
    title = f"Young people referred by source: {_where(service_id, year)}"
    if values.isna().all():
        fig, ax = new_figure(title=title)
        _empty(ax)
        return fig
    return bar_chart(
        values, title=title, ylabel="Young people referred", suppressed_label=shown.symbol
    )


def referral_sources_alt(
    table: Table, *, service_id: str, year: int, release: Release | None = None
) -> str:
    """Alt text for :func:`referral_sources_chart`, quoting only values the table shows."""
    shown = view(table, release=release)
    n = shown.display["n"]
    parts = ", ".join(f"{label} {value}" for label, value in n.drop(index=TOTAL).items())
    return (
        f"Bar chart of young people referred to {service_id} in {year} by referral source "
        f"(total {n[TOTAL]}): {parts}.{_note(shown)}"
    )


# --------------------------------------------------------------------------- risk transitions
def risk_transition_chart(
    table: Table, *, service_id: str, year: int, release: Release | None = None
) -> plt.Figure:
    """Heatmap of risk at referral (rows) by latest risk (columns) from the ``risk.crosstab`` table."""
    shown = view(table, release=release)
    text = shown.display.drop(index=TOTAL, columns=TOTAL)
    values = shown.visible.drop(index=TOTAL, columns=TOTAL)
    fig, ax = new_figure(
        title=f"Risk at referral and latest risk (young people): {_where(service_id, year)}",
        height=5.0,
    )
    if values.isna().all().all():
        _empty(ax)
        return fig
    cmap = LinearSegmentedColormap.from_list("risk", ["#FFFFFF", *SEQUENTIAL]).with_extremes(
        bad="#E6E6E6"
    )
    ax.imshow(np.ma.masked_invalid(values.to_numpy(dtype=float)), cmap=cmap, aspect="auto")
    for (i, j), label in np.ndenumerate(text.to_numpy()):
        colour = NEUTRAL if label == shown.symbol else "black"
        ax.text(j, i, label, ha="center", va="center", color=colour)
    ax.set_xticks(range(len(text.columns)), [str(c) for c in text.columns])
    ax.set_yticks(range(len(text.index)), [str(r) for r in text.index])
    ax.set_xlabel("Latest risk")
    ax.set_ylabel("Risk at referral")
    ax.grid(False)
    return fig


def risk_transition_alt(
    table: Table, *, service_id: str, year: int, release: Release | None = None
) -> str:
    """Alt text for :func:`risk_transition_chart`: total and the largest cell the table shows."""
    shown = view(table, release=release)
    visible = shown.visible.drop(index=TOTAL, columns=TOTAL)
    text = (
        f"Heatmap of young people supported by {service_id} in {year}: risk at referral (rows) "
        f"against latest risk (columns), total {shown.display.loc[TOTAL, TOTAL]}."
    )
    if visible.notna().any().any() and visible.max().max() > 0:
        r, c = visible.stack().idxmax()
        text += (
            f" The most common combination shown is {r} at referral and {c} latest "
            f"({shown.display.loc[r, c]})."
        )
    return text + _note(shown)


# --------------------------------------------------------------------------- missing episodes
def missing_episodes_chart(
    summary: Table,
    direction: Table,
    *,
    service_id: str,
    year: int,
    release: Release | None = None,
) -> plt.Figure:
    """Mean missing episodes before vs after (left) and how many had fewer/same/more (right).

    ``summary`` and ``direction`` are the ``missing.summary`` and ``missing.direction`` tables.
    """
    means = view(summary, release=release).visible.loc[["Before", "After"], "mean"]
    counts = view(direction, release=release)
    apply_style()
    fig, (left, right) = plt.subplots(1, 2, figsize=(11.0, 4.5))
    left.set_title(f"Missing episodes, 3 months before vs latest 3: {_where(service_id, year)}")
    if means.isna().any():
        _empty(left)
    else:
        left.bar(
            ["3 months before", "Latest 3 months"],
            means.to_numpy(),
            color=[OKABE_ITO[1], OKABE_ITO[0]],
        )
    left.set_ylabel("Mean missing episodes per young person")
    values = counts.visible["n"].drop(index=TOTAL)
    if values.isna().all():
        _empty(right)
    else:
        x = np.arange(len(values))
        drawn = values.notna().to_numpy()
        right.bar(x[drawn], values.to_numpy()[drawn], color=OKABE_ITO[2])
        for xi in x[~drawn]:
            right.annotate(counts.symbol, (xi, 0), ha="center", va="bottom", color=NEUTRAL)
        right.set_xticks(x, [str(i) for i in values.index])
    right.set_ylabel("Young people, by change in missing episodes")
    fig.tight_layout()
    return fig


def missing_episodes_alt(
    summary: Table, direction: Table, *, service_id: str, year: int, release: Release | None = None
) -> str:
    """Alt text for :func:`missing_episodes_chart`."""
    means = view(summary, release=release)
    counts = view(direction, release=release)
    text = (
        f"Missing episodes of young people supported by {service_id} in {year}, "
        "before and during support. "
    )
    shown = means.display
    if means.hidden.loc[["Before", "After"], "mean"].any():
        text += "Too few young people had both counts recorded to show means."
    else:
        text += (
            f"For {shown.loc['Before', 'n']} young people with both counts, the mean was "
            f"{shown.loc['Before', 'mean']} before and {shown.loc['After', 'mean']} in the latest 3 months."
        )
    n = counts.display["n"]
    parts = ", ".join(f"{str(k).lower()} {v}" for k, v in n.drop(index=TOTAL).items())
    return f"{text} Young people with {parts}.{_note(counts)}"


# --------------------------------------------------------------------------- outcome scales
def _drawable_scales(table: Table, release: Release | None = None) -> pd.DataFrame:
    """Visible rows of the ``outcome_scales`` table with at least MIN_N_CI pairs and both means."""
    visible = view(table, release=release).visible
    keep = (
        visible["n_both"].ge(MIN_N_CI) & visible["mean_start"].notna() & visible["mean_end"].notna()
    )
    return visible.loc[keep]


def outcome_scale_chart(
    table: Table, *, service_id: str, year: int, release: Release | None = None
) -> plt.Figure:
    """Mean rating at start and end of support per outcome scale (only scales a funder sees)."""
    fig, ax = new_figure(
        title=f"Outcome ratings at start and end of support (1-5): {_where(service_id, year)}"
    )
    shown = _drawable_scales(table, release)
    if shown.empty:
        _empty(ax, "Too few young people rated at start and end to show")
        return fig
    x = np.arange(len(shown))
    ax.bar(x - 0.2, shown["mean_start"], width=0.4, label="Start", color=OKABE_ITO[1])
    ax.bar(x + 0.2, shown["mean_end"], width=0.4, label="End", color=OKABE_ITO[0])
    ax.set_xticks(x, [str(i) for i in shown.index], rotation=20, ha="right")
    ax.set_ylim(0, 5)
    ax.set_ylabel("Mean rating (1-5)")
    ax.legend(loc="upper left")
    return fig


def outcome_scale_alt(
    table: Table, *, service_id: str, year: int, release: Release | None = None
) -> str:
    """Alt text for :func:`outcome_scale_chart`."""
    drawn = _drawable_scales(table, release)
    display = view(table, release=release).display
    head = f"Mean outcome ratings at start and end of support for young people at {service_id} in {year}"
    if drawn.empty:
        return f"{head}: too few young people were rated at start and end to show."
    parts = "; ".join(
        f"{scale} {display.loc[scale, 'mean_start']} to {display.loc[scale, 'mean_end']} "
        f"({display.loc[scale, 'n_both']} young people)"
        for scale in drawn.index
    )
    left_out = len(display) - len(drawn)
    tail = f" {left_out} scale(s) left out: too few young people rated." if left_out else ""
    return f"{head}: {parts}.{tail}"


# --------------------------------------------------------------------------- year on year
_TREND = ("% risk reduced", "% planned endings")


def year_on_year_chart(
    table: Table, *, service_id: str, year: int, release: Release | None = None
) -> plt.Figure:
    """Young people supported (left) and % risk reduced / % planned endings (right) by year."""
    values = view(table, release=release).visible
    years = [int(y) for y in values.index]
    apply_style()
    fig, (left, right) = plt.subplots(1, 2, figsize=(11.0, 4.5))
    left.set_title(f"Key figures by year: {service_id}, up to {year}")
    if values["young_people"].isna().all():
        _empty(left)
    else:
        left.plot(years, values["young_people"], marker="o", color=OKABE_ITO[0])
        left.set_ylim(bottom=0)
    left.set_ylabel("Young people supported")
    if values[list(_TREND)].isna().all().all():
        _empty(right)
    else:
        for column, colour in zip(_TREND, (OKABE_ITO[2], OKABE_ITO[1]), strict=True):
            right.plot(years, values[column], marker="o", label=column, color=colour)
        right.legend(loc="lower right")
    right.set_ylim(0, 100)
    right.set_ylabel("Per cent")
    for ax in (left, right):
        ax.set_xticks(years, [str(y) for y in years])
    fig.tight_layout()
    return fig


def year_on_year_alt(
    table: Table, *, service_id: str, year: int, release: Release | None = None
) -> str:
    """Alt text for :func:`year_on_year_chart`."""
    shown = view(table, release=release)
    parts = "; ".join(
        f"{y}: {r['young_people']} young people, {r['% risk reduced']}% risk reduced, "
        f"{r['% planned endings']}% planned endings"
        for y, r in shown.display.iterrows()
    )
    note = " Only one year so far: no earlier year to compare." if len(shown.display) == 1 else ""
    return (
        f"Line charts of key figures for {service_id} by year up to {year}. {parts}.{note}"
        + _note(shown)
    )


__all__ = [
    "missing_episodes_alt",
    "missing_episodes_chart",
    "outcome_scale_alt",
    "outcome_scale_chart",
    "referral_sources_alt",
    "referral_sources_chart",
    "risk_transition_alt",
    "risk_transition_chart",
    "year_on_year_alt",
    "year_on_year_chart",
]
