"""Charts for one service and year, drawn from :mod:`hubspoke.analysis.service` frames.

Each chart takes the full-number frame, applies the same disclosure control the
table gets (:func:`hubspoke.privacy.disclosure.safe_counts_for_plot` for bars of counts,
:func:`hubspoke.privacy.disclosure.suppress` masks for cells and derived values), so no
count of young people from 1 to 5 (or one that would reveal one) is ever drawn.
Each has an ``*_alt`` function giving suggested alt text built only from the
values a funder table would show.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.colors import LinearSegmentedColormap

from hubspoke import config
from hubspoke.analysis.service import DISPLAY, MIN_N_CI, TOTAL
from hubspoke.present.plotting.base import (
    NEUTRAL,
    OKABE_ITO,
    SEQUENTIAL,
    apply_style,
    bar_chart,
    new_figure,
)
from hubspoke.privacy.disclosure import safe_counts_for_plot, suppress

SYMBOL = config.SUPPRESSION_SYMBOL


def _shown(frame: pd.DataFrame, key: str) -> pd.DataFrame:
    """The display strings a funder table shows for ``frame``."""
    return suppress(frame, **DISPLAY[key]).display


def _where(service_id: str, year: int) -> str:
    return f"{service_id}, {year}"


def _suppressed_note(values: pd.Series) -> str:
    return (
        f" Values marked {SYMBOL} are suppressed to protect confidentiality."
        if (values == SYMBOL).any()
        else ""
    )


# --------------------------------------------------------------------------- referral sources
def referral_sources_chart(frame: pd.DataFrame, *, service_id: str, year: int) -> plt.Figure:
    """Bar chart of referrals by source (frame from ``referral_sources``); small counts not drawn."""
    safe = safe_counts_for_plot(frame["n"], total=TOTAL).drop(index=TOTAL)
    return bar_chart(
        safe,
        title=f"Young people referred by source: {_where(service_id, year)}",
        ylabel="Young people referred",
        suppressed_label=SYMBOL,
    )


def referral_sources_alt(frame: pd.DataFrame, *, service_id: str, year: int) -> str:
    """Alt text for :func:`referral_sources_chart`, quoting only values the table shows."""
    shown = _shown(frame, "referral_sources")["n"]
    parts = ", ".join(f"{label} {value}" for label, value in shown.drop(index=TOTAL).items())
    return (
        f"Bar chart of young people referred to {service_id} in {year} by referral source "
        f"(total {shown[TOTAL]}): {parts}.{_suppressed_note(shown)}"
    )


# --------------------------------------------------------------------------- risk transitions
def risk_transition_chart(frame: pd.DataFrame, *, service_id: str, year: int) -> plt.Figure:
    """Heatmap of risk at referral (rows) by latest risk (columns); suppressed cells show the symbol."""
    shown = _shown(frame, "risk_transitions.crosstab").drop(index=TOTAL, columns=TOTAL)
    body = frame.drop(index=TOTAL, columns=TOTAL).astype(float)
    values = body.mask(shown.eq(SYMBOL).to_numpy())
    fig, ax = new_figure(
        title=f"Risk at referral and latest risk (young people): {_where(service_id, year)}",
        height=5.0,
    )
    cmap = LinearSegmentedColormap.from_list("risk", ["#FFFFFF", *SEQUENTIAL]).with_extremes(
        bad="#E6E6E6"
    )
    ax.imshow(np.ma.masked_invalid(values.to_numpy()), cmap=cmap, aspect="auto")
    for (i, j), text in np.ndenumerate(shown.to_numpy()):
        ax.text(j, i, text, ha="center", va="center", color=NEUTRAL if text == SYMBOL else "black")
    ax.set_xticks(range(len(shown.columns)), [str(c) for c in shown.columns])
    ax.set_yticks(range(len(shown.index)), [str(r) for r in shown.index])
    ax.set_xlabel("Latest risk")
    ax.set_ylabel("Risk at referral")
    ax.grid(False)
    return fig


def risk_transition_alt(frame: pd.DataFrame, *, service_id: str, year: int) -> str:
    """Alt text for :func:`risk_transition_chart`: total and the largest cell a funder table shows."""
    full = _shown(frame, "risk_transitions.crosstab")
    shown = full.drop(index=TOTAL, columns=TOTAL)
    visible = frame.drop(index=TOTAL, columns=TOTAL).astype(float).mask(shown.eq(SYMBOL).to_numpy())
    text = (
        f"Heatmap of young people supported by {service_id} in {year}: risk at referral (rows) against "
        f"latest risk (columns), total {full.loc[TOTAL, TOTAL]}."
    )
    if visible.notna().any().any() and visible.max().max() > 0:
        r, c = visible.stack().idxmax()
        text += f" The most common combination shown is {r} at referral and {c} latest ({shown.loc[r, c]})."
    return text + _suppressed_note(shown.stack())


# --------------------------------------------------------------------------- missing episodes
def missing_episodes_chart(
    result: Mapping[str, pd.DataFrame], *, service_id: str, year: int
) -> plt.Figure:
    """Mean missing episodes before vs after (left) and how many had fewer/same/more (right).

    ``result`` is the dict from ``missing_episodes``. The means are drawn only when the
    number of pairs is shown in the table; counts pass through ``safe_counts_for_plot``.
    """
    summary, direction = result["summary"], result["direction"]
    apply_style()
    fig, (left, right) = plt.subplots(1, 2, figsize=(11.0, 4.5))
    left.set_title(f"Missing episodes, 3 months before vs latest 3: {_where(service_id, year)}")
    pairs_hidden = _shown(summary, "missing_episodes.summary")["n"].eq(SYMBOL).any()
    means = summary.loc[["Before", "After"], "mean"].astype(float)
    if pairs_hidden or means.isna().all():
        left.text(
            0.5,
            0.5,
            "Too few young people to show",
            ha="center",
            va="center",
            transform=left.transAxes,
        )
    else:
        left.bar(
            ["3 months before", "Latest 3 months"],
            means.to_numpy(),
            color=[OKABE_ITO[1], OKABE_ITO[0]],
        )
    left.set_ylabel("Mean missing episodes per young person")
    safe = safe_counts_for_plot(direction["n"], total=TOTAL).drop(index=TOTAL)
    x = np.arange(len(safe))
    drawn = safe.notna().to_numpy()
    right.bar(x[drawn], safe.to_numpy()[drawn], color=OKABE_ITO[2])
    for xi in x[~drawn]:
        right.annotate(SYMBOL, (xi, 0), ha="center", va="bottom", color=NEUTRAL)
    right.set_xticks(x, [str(i) for i in safe.index])
    right.set_ylabel("Young people, by change in missing episodes")
    fig.tight_layout()
    return fig


def missing_episodes_alt(result: Mapping[str, pd.DataFrame], *, service_id: str, year: int) -> str:
    """Alt text for :func:`missing_episodes_chart`."""
    summary = _shown(result["summary"], "missing_episodes.summary")
    direction = _shown(result["direction"], "missing_episodes.direction")["n"]
    text = f"Missing episodes of young people supported by {service_id} in {year}, before and during support. "
    if summary["n"].eq(SYMBOL).any():
        text += "Too few young people had both counts recorded to show means."
    else:
        text += (
            f"For {summary.loc['Before', 'n']} young people with both counts, the mean was "
            f"{summary.loc['Before', 'mean']} before and {summary.loc['After', 'mean']} in the latest 3 months."
        )
    counts = ", ".join(f"{k.lower()} {v}" for k, v in direction.drop(index=TOTAL).items())
    return f"{text} Young people with {counts}.{_suppressed_note(direction)}"


# --------------------------------------------------------------------------- outcome scales
def _drawable_scales(frame: pd.DataFrame) -> pd.DataFrame:
    """Scales with at least MIN_N_CI pairs whose count the table shows."""
    hidden = _shown(frame, "outcome_scale_change")["n_both"].eq(SYMBOL)
    keep = frame["n_both"].fillna(0).ge(MIN_N_CI).to_numpy() & ~hidden.to_numpy()
    return frame.loc[keep]


def outcome_scale_chart(frame: pd.DataFrame, *, service_id: str, year: int) -> plt.Figure:
    """Mean rating at start and end of support per outcome scale (only scales with enough pairs)."""
    fig, ax = new_figure(
        title=f"Outcome ratings at start and end of support (1-5): {_where(service_id, year)}"
    )
    shown = _drawable_scales(frame)
    if shown.empty:
        ax.text(
            0.5,
            0.5,
            "Too few young people rated at start and end to show",
            ha="center",
            va="center",
            transform=ax.transAxes,
        )
        return fig
    x = np.arange(len(shown))
    ax.bar(x - 0.2, shown["mean_start"].astype(float), width=0.4, label="Start", color=OKABE_ITO[1])
    ax.bar(x + 0.2, shown["mean_end"].astype(float), width=0.4, label="End", color=OKABE_ITO[0])
    ax.set_xticks(x, [str(i) for i in shown.index], rotation=20, ha="right")
    ax.set_ylim(0, 5)
    ax.set_ylabel("Mean rating (1-5)")
    ax.legend(loc="upper left")
    return fig


def outcome_scale_alt(frame: pd.DataFrame, *, service_id: str, year: int) -> str:
    """Alt text for :func:`outcome_scale_chart`."""
    shown = _drawable_scales(frame)
    head = f"Mean outcome ratings at start and end of support for young people at {service_id} in {year}"
    if shown.empty:
        return f"{head}: too few young people were rated at start and end to show."
    parts = "; ".join(
        f"{scale} {r['mean_start']:.1f} to {r['mean_end']:.1f} ({r['n_both']} young people)"
        for scale, r in shown.iterrows()
    )
    left_out = len(frame) - len(shown)
    tail = f" {left_out} scale(s) left out: too few young people rated." if left_out else ""
    return f"{head}: {parts}.{tail}"


# --------------------------------------------------------------------------- year on year
def _year_values(frame: pd.DataFrame) -> pd.DataFrame:
    """Year-on-year figures with every suppressed value set to NaN."""
    hidden = suppress(frame, **DISPLAY["year_on_year"]).suppressed
    cols = ["young_people", "% risk reduced", "% planned endings"]
    return frame[cols].astype(float).mask(hidden[cols].to_numpy())


def year_on_year_chart(frame: pd.DataFrame, *, service_id: str, year: int) -> plt.Figure:
    """Young people supported (left) and % risk reduced / % planned endings (right) by year."""
    values = _year_values(frame)
    years = [int(y) for y in frame.index]
    apply_style()
    fig, (left, right) = plt.subplots(1, 2, figsize=(11.0, 4.5))
    left.set_title(f"Key figures by year: {service_id}, up to {year}")
    left.plot(years, values["young_people"], marker="o", color=OKABE_ITO[0])
    left.set_ylabel("Young people supported")
    left.set_ylim(bottom=0)
    for column, colour in (("% risk reduced", OKABE_ITO[2]), ("% planned endings", OKABE_ITO[1])):
        right.plot(years, values[column], marker="o", label=column, color=colour)
    right.set_ylim(0, 100)
    right.set_ylabel("Per cent")
    right.legend(loc="lower right")
    for ax in (left, right):
        ax.set_xticks(years, [str(y) for y in years])
    fig.tight_layout()
    return fig


def year_on_year_alt(frame: pd.DataFrame, *, service_id: str, year: int) -> str:
    """Alt text for :func:`year_on_year_chart`."""
    shown = suppress(frame, **DISPLAY["year_on_year"]).display
    parts = "; ".join(
        f"{y}: {r['young_people']} young people, {r['% risk reduced']}% risk reduced, "
        f"{r['% planned endings']}% planned endings"
        for y, r in shown.iterrows()
    )
    note = " Only one year so far: no earlier year to compare." if len(frame) == 1 else ""
    return (
        f"Line charts of key figures for {service_id} by year up to {year}. {parts}.{note}"
        + _suppressed_note(shown.stack())
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
