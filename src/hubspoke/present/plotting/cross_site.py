"""Charts comparing services: funnel plots, measures side by side, and group comparisons.

Each chart has an alt-text function that describes it without quoting any count that
disclosure control hides. Points that would reveal a small count are left out of the
charts (funnel points flagged ``suppressed``; side-by-side values that
:func:`hubspoke.privacy.disclosure.suppress` hides; groups flagged ``suppressed``), and the
chart says how many were left out.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from hubspoke import config
from hubspoke.analysis.cross_site import funnel_limits
from hubspoke.load import service_order
from hubspoke.present.plotting.base import (
    NEUTRAL,
    PALETTE,
    new_figure,
    service_colours,
)
from hubspoke.privacy.disclosure import suppress

_LIMIT_STYLES = {0.95: "--", 0.998: ":"}


def _pct(value: float) -> str:
    return f"{100 * value:.0f}%"


def _left_out_sentence(n: int, what: str = "services") -> str:
    if not n:
        return ""
    one = what.rstrip("s")
    return (
        f"{n} {one if n == 1 else what} not shown because {'its' if n == 1 else 'their'} numbers are small "
        "(disclosure control)."
    )


# --------------------------------------------------------------------------- funnel
def funnel_caption(funnel_frame: pd.DataFrame) -> str:
    """Caption for a funnel plot: what the lines are and how many services were left out."""
    levels = funnel_frame.attrs.get("levels", (0.95, 0.998))
    method = funnel_frame.attrs.get("method", "exact")
    text = (
        f"Dashed and dotted lines: {' and '.join(f'{lv * 100:g}%' for lv in levels)} control limits "
        f"({'exact binomial' if method == 'exact' else 'normal approximation'}) around the average of "
        "all services (solid line)."
    )
    left_out = int(funnel_frame["suppressed"].sum())
    return " ".join(t for t in (text, _left_out_sentence(left_out)) if t)


def funnel_plot(
    funnel_frame: pd.DataFrame, *, title: str, ylabel: str, xlabel: str = "Number of young people"
) -> plt.Figure:
    """Funnel plot of :func:`hubspoke.analysis.cross_site.funnel_data`: services in their fixed colours.

    Draws the pooled proportion p0 and the control limits for every n across the range,
    each shown service as a labelled point, and leaves out points flagged ``suppressed``
    (the caption and a note under the axes say how many).
    """
    fig, ax = new_figure(title=title)
    p0 = float(
        funnel_frame.attrs.get("p0", funnel_frame["p0"].iloc[0] if len(funnel_frame) else np.nan)
    )
    levels = funnel_frame.attrs.get("levels", (0.95, 0.998))
    shown = funnel_frame.loc[~funnel_frame["suppressed"] & funnel_frame["proportion"].notna()]
    top = max(float(funnel_frame["n"].max() if len(funnel_frame) else 0), 10.0) * 1.05
    if 0 < p0 < 1:
        grid = np.unique(np.linspace(1, top, 400).round())
        limits = funnel_limits(
            grid, p0=p0, levels=levels, method=funnel_frame.attrs.get("method", "exact")
        )
        for level in levels:
            name = f"{level * 100:g}".replace(".", "_")
            style = _LIMIT_STYLES.get(level, "-.")
            ax.plot(
                grid,
                100 * limits[f"upper_{name}"],
                style,
                color=NEUTRAL,
                linewidth=1,
                label=f"{level * 100:g}% limits",
            )
            ax.plot(grid, 100 * limits[f"lower_{name}"], style, color=NEUTRAL, linewidth=1)
        ax.axhline(
            100 * p0, color="#000000", linewidth=1, label=f"Average of all services ({_pct(p0)})"
        )
    colours = service_colours(list(funnel_frame["service_id"]))
    for row in shown.itertuples(index=False):
        ax.scatter(
            row.n,
            100 * row.proportion,
            s=45,
            color=colours[row.service_id],
            edgecolor="black",
            zorder=3,
        )
        ax.annotate(
            row.service_id,
            (row.n, 100 * row.proportion),
            xytext=(4, 3),
            textcoords="offset points",
            fontsize=8,
        )
    ax.set_xlim(0, top)
    ax.set_ylim(0, 100)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(loc="lower right", fontsize=8)
    note = _left_out_sentence(int(funnel_frame["suppressed"].sum()))
    if note:
        fig.text(0.01, -0.02, note, fontsize=8, color=NEUTRAL, ha="left", va="top")
    return fig


def funnel_alt(funnel_frame: pd.DataFrame, *, measure: str) -> str:
    """Alt text for :func:`funnel_plot`: p0, how many services fall where, none of the hidden points."""
    shown = funnel_frame.loc[~funnel_frame["suppressed"] & funnel_frame["proportion"].notna()]
    p0 = float(funnel_frame.attrs.get("p0", np.nan))
    parts = [
        f"Funnel plot of {measure} for {len(shown)} services against the number of young people in each, "
        f"with the average of all services ({_pct(p0) if np.isfinite(p0) else 'not available'}) and "
        "95% and 99.8% control limits."
    ]
    within = shown["flag"].eq("within")
    parts.append(f"{int(within.sum())} of them are within the 95% limits.")
    for flag in ("above 99.8%", "above 95%", "below 95%", "below 99.8%"):
        ids = service_order(list(shown.loc[shown["flag"].eq(flag), "service_id"]))
        if ids:
            parts.append(
                f"{', '.join(ids)} {'is' if len(ids) == 1 else 'are'} {flag.replace('%', '% limit')}."
            )
    note = _left_out_sentence(int(funnel_frame["suppressed"].sum()))
    return " ".join([*parts, note]).strip()


# --------------------------------------------------------------------------- side by side
def safe_side_by_side(
    frame: pd.DataFrame, *, threshold: int = config.SUPPRESSION_THRESHOLD
) -> pd.DataFrame:
    """The value of each period of a :func:`hubspoke.analysis.cross_site.side_by_side` frame, NaN where hidden.

    Runs the same disclosure control the table gets, so the chart never shows a value
    the table hides.
    """
    values: dict[str, str] = frame.attrs["values"]
    args = frame.attrs.get("display", {})
    out = pd.DataFrame({p: frame[c].astype(float) for p, c in values.items()}, index=frame.index)
    if not args.get("count_columns") or frame.dropna(how="all").empty:
        return out
    result = suppress(
        frame.dropna(how="all"),
        threshold=threshold,
        count_columns=args["count_columns"],
        derived=args.get("derived"),
        total_row=None,
        total_column=None,
    )
    hidden = result.suppressed.reindex(frame.index).fillna(False).astype(bool)
    return out.apply(lambda col: col.mask(hidden[values[col.name]]))


def side_by_side_chart(frame: pd.DataFrame, *, title: str, xlabel: str) -> plt.Figure:
    """Dot chart of one measure: services down the side (fixed order), one marker per period."""
    values = safe_side_by_side(frame)
    services = list(values.index)
    fig, ax = new_figure(title=title, height=max(3.0, 0.35 * len(services) + 1.2))
    colours = service_colours(services)
    markers = ["o", "s", "^", "D", "v"]
    y = np.arange(len(services))[::-1]
    for i, period in enumerate(values.columns):
        col = values[period]
        ok = col.notna().to_numpy()
        ax.scatter(
            col.to_numpy()[ok],
            y[ok],
            marker=markers[i % len(markers)],
            color=[colours[s] for s, k in zip(services, ok, strict=True) if k],
            edgecolor="black",
            s=40,
            label=str(period),
            zorder=3,
        )
    ax.set_yticks(y, services)
    ax.set_xlabel(xlabel)
    ax.grid(axis="x", color="#DDDDDD")
    ax.grid(axis="y", visible=False)
    if len(values.columns) > 1:
        ax.legend(title="Period", loc="best", fontsize=8)
    hidden = _hidden_cells(frame, values)
    if hidden:
        fig.text(0.01, -0.02, f"{hidden} value(s) not shown because the numbers are small (disclosure control).",
                 fontsize=8, color=NEUTRAL, ha="left", va="top")  # fmt: skip
    return fig


def _hidden_cells(frame: pd.DataFrame, safe: pd.DataFrame) -> int:
    raw = pd.DataFrame({p: frame[c] for p, c in frame.attrs["values"].items()}, index=frame.index)
    return int((raw.notna() & safe.isna()).to_numpy().sum())


def side_by_side_alt(frame: pd.DataFrame, *, unit: str = "") -> str:
    """Alt text for :func:`side_by_side_chart`: range per period over the values shown."""
    safe = safe_side_by_side(frame)
    label = frame.attrs.get("label", "the measure")
    parts = [
        f"Dot chart of {label[:1].lower() + label[1:]} for {len(safe)} services, one marker per period."
    ]
    for period in safe.columns:
        col = safe[period].dropna()
        if col.empty:
            parts.append(f"{period}: no values can be shown.")
            continue
        lo, hi = col.idxmin(), col.idxmax()
        parts.append(
            f"{period}: {len(col)} service{'' if len(col) == 1 else 's'} shown, from {col[lo]:.1f}{unit} ({lo}) to {col[hi]:.1f}{unit} ({hi})."
        )
    hidden = _hidden_cells(frame, safe)
    if hidden:
        parts.append(f"{hidden} value(s) are not shown because the numbers are small.")
    return " ".join(parts)


# --------------------------------------------------------------------------- groups
def group_comparison_chart(groups: pd.DataFrame, *, title: str, xlabel: str) -> plt.Figure:
    """Point and 95% interval per group of :func:`hubspoke.analysis.cross_site.compare_groups` (suppressed left out)."""
    shown = groups.loc[~groups["suppressed"] & groups["proportion"].notna()].reset_index(drop=True)
    fig, ax = new_figure(title=title, height=max(2.5, 0.5 * len(groups) + 1.2))
    y = np.arange(len(shown))[::-1]
    for i, row in shown.iterrows():
        colour = PALETTE[i % len(PALETTE)]
        ax.plot(
            [100 * row["ci_low"], 100 * row["ci_high"]], [y[i], y[i]], color=colour, linewidth=2
        )
        ax.scatter(100 * row["proportion"], y[i], color=colour, edgecolor="black", s=50, zorder=3)
    ax.set_yticks(
        y,
        [
            f"{g} ({int(n)} services)"
            for g, n in zip(shown["group"], shown["n_services"], strict=True)
        ],
    )
    ax.set_xlim(0, 100)
    ax.set_xlabel(xlabel)
    ax.grid(axis="x", color="#DDDDDD")
    ax.grid(axis="y", visible=False)
    note = " ".join(
        t
        for t in (
            groups.attrs.get("note", ""),
            _left_out_sentence(int(groups["suppressed"].sum()), "groups"),
        )
        if t
    )
    if note:
        fig.text(0.01, -0.02, note, fontsize=8, color=NEUTRAL, ha="left", va="top", wrap=True)
    return fig


def group_comparison_alt(groups: pd.DataFrame, *, measure: str) -> str:
    """Alt text for :func:`group_comparison_chart`: each shown group's percentage and interval, and the test."""
    shown = groups.loc[~groups["suppressed"] & groups["proportion"].notna()]
    by = str(groups.attrs.get("by", "group")).replace("_", " ")
    parts = [f"Chart of {measure} by {by}, with 95% confidence intervals, for {len(shown)} groups."]
    parts += [
        f"{r.group}: {_pct(r.proportion)} ({_pct(r.ci_low)} to {_pct(r.ci_high)})."
        for r in shown.itertuples()
    ]
    left_out = _left_out_sentence(int(groups["suppressed"].sum()), "groups")
    return " ".join([*parts, groups.attrs.get("note", ""), left_out]).strip()
