"""Charts for one service and year, drawn from the report's :class:`~hubspoke.privacy.table.Table`\\ s.

Each chart takes the table(s) the report shows (``service_tables(...)["referral_sources"]``
...) and draws only ``view(table, release=release).visible``: the numbers the release lets a funder see,
NaN wherever a cell is hidden. A hidden bar is marked with the suppression symbol. A
chart (or panel) that would draw nothing or a single value is not drawn
(:func:`~hubspoke.present.plotting.base.drawable`): the chart returns ``None`` when no
panel is left, and its ``*_alt`` function then says why in a sentence, which
:func:`hubspoke.present.display.figure` shows instead. Alt text quotes only the table's
displayed strings. ``release`` (default: the current funder release) is for tests.
"""

from __future__ import annotations

from collections.abc import Callable

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
    bars,
    drawable,
    missing_values,
    new_figure,
    no_chart,
    plural,
    suppressed_reason,
)
from hubspoke.present.views import view
from hubspoke.privacy.release import Release, Shown
from hubspoke.privacy.table import Table

#: Width of one panel of a two-panel chart, in inches.
_PANEL_WIDTH = 5.5


def _where(service_id: str, year: int) -> str:
    return f"{service_id}, {year}"


def _note(shown: Shown) -> str:
    """A sentence saying some values are hidden (when they are)."""
    return (
        f" Values marked {shown.symbol} are suppressed to protect confidentiality."
        if shown.any_hidden
        else ""
    )


def _panels(n: int) -> tuple[plt.Figure, list[plt.Axes]]:
    """A figure of ``n`` side-by-side panels in the suite's style."""
    apply_style()
    fig, axes = plt.subplots(1, n, figsize=(_PANEL_WIDTH * n, 4.5), squeeze=False)
    return fig, list(axes[0])


# --------------------------------------------------------------------------- referral sources
def _referrals(table: Table, release: Release | None) -> tuple[Shown, pd.Series]:
    """The view of the ``referral_sources`` table and the counts a chart may draw (no total)."""
    shown = view(table, release=release)
    return shown, shown.visible["n"].drop(index=TOTAL)


def referral_sources_chart(
    table: Table, *, service_id: str, year: int, release: Release | None = None
) -> plt.Figure | None:
    """Bar chart of referrals by source (``referral_sources`` table); hidden bars not drawn.

    ``None`` when fewer than two bars (counts above 0) can be shown (the alt text says why).
    """
    shown, values = _referrals(table, release)
    if not drawable(bars(values)):
        return None
    return bar_chart(
        values,
        title=f"Young people referred by source: {_where(service_id, year)}",
        ylabel="Young people referred",
        suppressed_label=shown.symbol,
    )


def referral_sources_alt(
    table: Table, *, service_id: str, year: int, release: Release | None = None
) -> str:
    """Alt text for :func:`referral_sources_chart`, quoting only values the table shows.

    When no chart is drawn: why (every count suppressed, or only one shown).
    """
    shown, values = _referrals(table, release)
    n = shown.display["n"]
    if not drawable(bars(values)):
        return missing_values(
            values,
            hidden=shown.hidden["n"],
            display=n,
            what="referral source count",
            where=f" for {service_id} in {year}",
            reason=suppressed_reason(release=release),
        )
    parts = ", ".join(f"{label} {value}" for label, value in n.drop(index=TOTAL).items())
    return (
        f"Bar chart of young people referred to {service_id} in {year} by referral source "
        f"(total {n[TOTAL]}): {parts}.{_note(shown)}"
    )


# --------------------------------------------------------------------------- risk transitions
def _crosstab(table: Table, release: Release | None) -> tuple[Shown, pd.DataFrame]:
    """The view of the ``risk.crosstab`` table and the cells a chart may draw (no totals)."""
    shown = view(table, release=release)
    return shown, shown.visible.drop(index=TOTAL, columns=TOTAL)


def risk_transition_chart(
    table: Table, *, service_id: str, year: int, release: Release | None = None
) -> plt.Figure | None:
    """Heatmap of risk at referral (rows) by latest risk (columns) from the ``risk.crosstab`` table.

    Every cell is written in (the symbol where hidden) and a colour bar says what the
    shades count. ``None`` when fewer than two cells can be shown.
    """
    shown, values = _crosstab(table, release)
    if not drawable(values):
        return None
    text = shown.display.drop(index=TOTAL, columns=TOTAL)
    fig, ax = new_figure(
        title=f"Risk at referral and latest risk (young people): {_where(service_id, year)}",
        height=5.0,
    )
    cmap = LinearSegmentedColormap.from_list("risk", ["#FFFFFF", *SEQUENTIAL]).with_extremes(
        bad="#E6E6E6"
    )
    image = ax.imshow(np.ma.masked_invalid(values.to_numpy(dtype=float)), cmap=cmap, aspect="auto")
    for (i, j), label in np.ndenumerate(text.to_numpy()):
        colour = NEUTRAL if label == shown.symbol else "black"
        ax.text(j, i, label, ha="center", va="center", color=colour)
    ax.set_xticks(range(len(text.columns)), [str(c) for c in text.columns])
    ax.set_yticks(range(len(text.index)), [str(r) for r in text.index])
    ax.set_xlabel("Latest risk")
    ax.set_ylabel("Risk at referral")
    ax.grid(False)
    bar = fig.colorbar(image, ax=ax, fraction=0.04, pad=0.02)
    bar.set_label(f"Young people (grey: {shown.symbol}, suppressed)")
    return fig


def risk_transition_alt(
    table: Table, *, service_id: str, year: int, release: Release | None = None
) -> str:
    """Alt text for :func:`risk_transition_chart`: total and the largest cell the table shows."""
    shown, visible = _crosstab(table, release)
    total = shown.display.loc[TOTAL, TOTAL]
    if not drawable(visible):
        return no_chart(
            f"Of the young people supported by {service_id} in {year} (total {total}), "
            "the numbers by risk at referral and latest risk are suppressed "
            f"{suppressed_reason(release=release)}"
        )
    text = (
        f"Heatmap of young people supported by {service_id} in {year}: risk at referral (rows) "
        f"against latest risk (columns), total {total}."
    )
    if visible.max().max() > 0:
        r, c = visible.stack().idxmax()
        text += (
            f" The most common combination shown is {r} at referral and {c} latest "
            f"({shown.display.loc[r, c]})."
        )
    return text + _note(shown)


# --------------------------------------------------------------------------- missing episodes
def _missing(
    summary: Table, direction: Table, release: Release | None
) -> tuple[pd.Series, Shown, pd.Series]:
    """Means before and after (drawn only both together), the direction view and its counts."""
    means = view(summary, release=release).visible.loc[["Before", "After"], "mean"]
    counts = view(direction, release=release)
    return means, counts, counts.visible["n"].drop(index=TOTAL)


def _draw_means(ax: plt.Axes, means: pd.Series) -> None:
    ax.bar(
        ["3 months before", "Latest 3 months"], means.to_numpy(), color=[OKABE_ITO[1], OKABE_ITO[0]]
    )
    ax.set_ylabel("Mean missing episodes per young person")


def _draw_changes(ax: plt.Axes, values: pd.Series, symbol: str) -> None:
    x = np.arange(len(values))
    drawn = values.notna().to_numpy()
    ax.bar(x[drawn], values.to_numpy()[drawn], color=OKABE_ITO[2])
    for xi in x[~drawn]:
        ax.annotate(symbol, (xi, 0), ha="center", va="bottom", color=NEUTRAL)
    ax.set_xticks(x, [str(i) for i in values.index])
    ax.set_ylabel("Young people, by change in missing episodes")


def missing_episodes_chart(
    summary: Table,
    direction: Table,
    *,
    service_id: str,
    year: int,
    release: Release | None = None,
) -> plt.Figure | None:
    """Mean missing episodes before vs after, and how many had fewer/same/more: one panel each.

    ``summary`` and ``direction`` are the ``missing.summary`` and ``missing.direction``
    tables. A panel is drawn only when it can show both means, or at least two bars
    (counts above 0); ``None`` when neither can.
    """
    means, counts, values = _missing(summary, direction, release)
    draws: list[Callable[[plt.Axes], None]] = []
    if drawable(means, minimum=len(means)):
        draws.append(lambda ax: _draw_means(ax, means))
    if drawable(bars(values)):
        draws.append(lambda ax: _draw_changes(ax, values, counts.symbol))
    if not draws:
        return None
    fig, axes = _panels(len(draws))
    for ax, draw in zip(axes, draws, strict=True):
        draw(ax)
    axes[0].set_title(f"Missing episodes, 3 months before vs latest 3: {_where(service_id, year)}")
    fig.tight_layout()
    return fig


def missing_episodes_alt(
    summary: Table, direction: Table, *, service_id: str, year: int, release: Release | None = None
) -> str:
    """Alt text for :func:`missing_episodes_chart` (why there is none, when there is none)."""
    means, counts, values = _missing(summary, direction, release)
    shown = view(summary, release=release).display
    reason = suppressed_reason(release=release)
    has_means, has_counts = drawable(means, minimum=len(means)), drawable(bars(values))
    mean_text = (
        f"For {shown.loc['Before', 'n']} young people with both counts, the mean was "
        f"{shown.loc['Before', 'mean']} before and {shown.loc['After', 'mean']} in the latest 3 months."
        if has_means
        else f"The mean numbers of episodes are suppressed {reason}."
    )
    n = counts.display["n"]
    count_text = (
        "Young people by change in missing episodes: "
        + ", ".join(f"{str(k).lower()} {v}" for k, v in n.drop(index=TOTAL).items())
        + "."
        if has_counts
        else f"The numbers with fewer, the same or more episodes are suppressed {reason}."
    )
    if not (has_means or has_counts):
        return no_chart(
            f"Missing episodes of young people supported by {service_id} in {year}: the means "
            f"and the numbers with fewer, the same or more episodes are all suppressed {reason}"
        )
    return (
        f"Chart of missing episodes of young people supported by {service_id} in {year}, "
        f"before and during support. {mean_text} {count_text}{_note(counts)}"
    )


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
) -> plt.Figure | None:
    """Mean rating at start and end of support per outcome scale (only scales a funder sees).

    A scale is drawn as two bars (start, end); ``None`` when no scale can be shown.
    """
    shown = _drawable_scales(table, release)
    if not drawable(shown[["mean_start", "mean_end"]]):
        return None
    fig, ax = new_figure(
        title=f"Outcome ratings at start and end of support (1-5): {_where(service_id, year)}"
    )
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
    if not drawable(drawn[["mean_start", "mean_end"]]):
        return no_chart(
            f"Too few young people at {service_id} in {year} were rated at the start and end "
            "of support on any outcome scale to show their means"
        )
    parts = "; ".join(
        f"{scale} {display.loc[scale, 'mean_start']} to {display.loc[scale, 'mean_end']} "
        f"({display.loc[scale, 'n_both']} young people)"
        for scale in drawn.index
    )
    left_out = len(display) - len(drawn)
    tail = f" {plural(left_out, 'scale')} left out: too few young people rated." if left_out else ""
    return f"{head}: {parts}.{tail}"


# --------------------------------------------------------------------------- year on year
#: The percentages of the right panel, with their colours.
_TREND = {"% risk reduced": OKABE_ITO[2], "% planned endings": OKABE_ITO[1]}


def _trend(table: Table, release: Release | None) -> tuple[Shown, pd.Series, pd.DataFrame]:
    """The view, young people by year (drawn with two years or more) and the percentages
    that have two shown years or more (one line each)."""
    shown = view(table, release=release)
    visible = shown.visible.set_axis([int(y) for y in shown.visible.index])
    people = visible["young_people"]
    lines = visible[list(_TREND)]
    return shown, people, lines.loc[:, [drawable(lines[c]) for c in lines.columns]]


def _draw_people(ax: plt.Axes, people: pd.Series, texts: pd.Series) -> None:
    """Young people by year; a year whose number is not shown is marked as the table marks
    it (``c`` suppressed, ``x`` not available)."""
    ax.plot(people.index, people, marker="o", color=OKABE_ITO[0])
    for year, text in zip(people.index, texts, strict=True):
        if pd.isna(people[year]):
            ax.annotate(str(text), (year, 0), ha="center", va="bottom", color=NEUTRAL)
    ax.set_ylim(bottom=0)
    ax.set_ylabel("Young people supported")


def _draw_lines(ax: plt.Axes, lines: pd.DataFrame) -> None:
    for column in lines.columns:
        ax.plot(lines.index, lines[column], marker="o", label=column, color=_TREND[column])
    ax.set_ylim(0, 100)
    ax.set_ylabel("Per cent of those assessed or closed (%)")
    ax.legend(loc="lower right")


def year_on_year_chart(
    table: Table, *, service_id: str, year: int, release: Release | None = None
) -> plt.Figure | None:
    """Young people supported (left) and % risk reduced / % planned endings (right) by year.

    A panel (or line) is drawn only with at least two years shown: ``None`` for a
    service's first year, or when every trend is suppressed (the alt text says why).
    """
    shown, people, lines = _trend(table, release)
    draws: list[Callable[[plt.Axes], None]] = []
    if drawable(people):
        draws.append(lambda ax: _draw_people(ax, people, shown.display["young_people"]))
    if not lines.empty:
        draws.append(lambda ax: _draw_lines(ax, lines))
    if not draws:
        return None
    fig, axes = _panels(len(draws))
    years = list(people.index)
    for ax, draw in zip(axes, draws, strict=True):
        draw(ax)
        ax.set_xticks(years, [str(y) for y in years])
    axes[0].set_title(f"Key figures by year: {service_id}, up to {year}")
    fig.tight_layout()
    return fig


def _pct_text(text: object) -> str:
    """A displayed percentage with its sign (``45%``); a symbol (``c``, ``x``, ``z``) as it is."""
    value = str(text)
    return f"{value}%" if value[:1].isdigit() else value


def year_on_year_alt(
    table: Table, *, service_id: str, year: int, release: Release | None = None
) -> str:
    """Alt text for :func:`year_on_year_chart`: each year's shown figures, or why no chart."""
    shown, people, lines = _trend(table, release)
    parts = "; ".join(
        f"{y}: young people {r['young_people']}, risk reduced {_pct_text(r['% risk reduced'])}, "
        f"planned endings {_pct_text(r['% planned endings'])}"
        for y, r in shown.display.iterrows()
    )
    if len(shown.display) == 1:
        return no_chart(f"Only one year of data so far for {service_id} ({parts})") + _note(shown)
    if not drawable(people) and lines.empty:
        return no_chart(
            f"Too few of {service_id}'s figures by year can be shown to draw a trend ({parts})"
        ) + _note(shown)
    return f"Line charts of key figures for {service_id} by year up to {year}. {parts}." + _note(
        shown
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
