"""Charts comparing services: funnel plots, one measure side by side, and group comparisons.

Every chart takes a :class:`~hubspoke.privacy.table.Table` (from
:func:`hubspoke.analysis.cross_site.cross_site_tables`) and draws only what the funder
release shows of it (:func:`hubspoke.present.views.view` ``.visible``): a service, group,
interval or average whose cells are hidden is never drawn, labelled or used to place
anything, and the alt text and captions quote only shown values. Each chart says how
many it left out.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from hubspoke.analysis.cross_site import FUNNEL_LEVELS, funnel_limits
from hubspoke.load import service_order
from hubspoke.present.plotting.base import NEUTRAL, PALETTE, new_figure, service_colours
from hubspoke.present.views import view
from hubspoke.privacy.release import Release
from hubspoke.privacy.table import Count, Derived, Table

_LIMIT_STYLES = {0.95: "--", 0.998: ":"}


def _pct(value: float) -> str:
    return f"{value:.0f}%"


def _left_out_sentence(n: int, what: str = "services") -> str:
    """``"2 services not shown because ..."`` (empty when none)."""
    if not n:
        return ""
    one = what.rstrip("s")
    return (
        f"{n} {one if n == 1 else what} not shown because {'its' if n == 1 else 'their'} numbers are small "
        "(disclosure control)."
    )


def _proportion_columns(table: Table) -> tuple[str, str, str]:
    """The numerator, denominator and percentage columns of a per-service proportion table."""
    counts = [c for c in table.frame.columns if isinstance(table.spec(c), Count)]
    derived = [c for c in table.frame.columns if isinstance(table.spec(c), Derived)]
    return str(counts[0]), str(counts[1]), str(derived[0])


# --------------------------------------------------------------------------- funnel
def funnel_points(table: Table, *, release: Release | None = None) -> pd.DataFrame:
    """The points a funnel plot of ``table`` may draw, and the average it is drawn around.

    One row per service whose numerator, denominator and percentage are all shown
    (fixed order): ``service_id, numerator, n, proportion`` (0-1) and ``flag`` (which
    limits it falls outside). ``attrs``: ``p0`` (the programme's published percentage
    when shown, else pooled from the shown services only), ``p0_source``
    (``"programme"`` / ``"shown"``) and ``left_out`` (services with data not drawn).
    """
    num, den, pct = _proportion_columns(table)
    visible = view(table, release=release).visible
    services = visible.drop(index=[table.total_row], errors="ignore")
    ok = services[[num, den, pct]].notna().all(axis=1) & services[den].gt(0)
    shown = services.loc[ok]
    points = pd.DataFrame(
        {
            "service_id": [str(s) for s in shown.index],
            "numerator": shown[num].to_numpy(float),
            "n": shown[den].to_numpy(float),
            "proportion": (shown[pct] / 100).to_numpy(float),
        }
    )
    total = visible.loc[table.total_row, pct] if table.total_row in visible.index else np.nan
    if pd.notna(total):
        p0, source = float(total) / 100, "programme"
    else:
        n = points["n"].sum()
        p0, source = (float(points["numerator"].sum() / n) if n > 0 else np.nan), "shown"
    if len(points) and 0 < p0 < 1:
        limits = funnel_limits(points["n"], p0=p0, levels=FUNNEL_LEVELS)
        points["flag"] = [_flag(points.loc[i, "proportion"], limits.loc[i]) for i in points.index]
    else:
        points["flag"] = "within"
    had_data = table.frame.drop(index=[table.total_row], errors="ignore")[den].gt(0)
    points.attrs.update(p0=p0, p0_source=source, left_out=int(had_data.sum()) - len(points))
    return points


def _flag(proportion: float, limits: pd.Series) -> str:
    """Which limits a proportion falls outside (the widest one it crosses)."""
    for level in sorted(FUNNEL_LEVELS, reverse=True):
        name = f"{level * 100:g}".replace(".", "_")
        if proportion > limits[f"upper_{name}"]:
            return f"above {level * 100:g}%"
        if proportion < limits[f"lower_{name}"]:
            return f"below {level * 100:g}%"
    return "within"


def _average_label(points: pd.DataFrame) -> str:
    p0 = points.attrs["p0"]
    who = "all services" if points.attrs["p0_source"] == "programme" else "the services shown"
    return f"Average of {who} ({_pct(100 * p0)})"


def funnel_caption(table: Table, *, release: Release | None = None) -> str:
    """Caption for a funnel plot: what the lines are and how many services were left out."""
    points = funnel_points(table, release=release)
    who = "all services" if points.attrs["p0_source"] == "programme" else "the services shown"
    text = (
        f"Dashed and dotted lines: {' and '.join(f'{lv * 100:g}%' for lv in FUNNEL_LEVELS)} control "
        f"limits (exact binomial) around the average of {who} (solid line)."
    )
    return " ".join(t for t in (text, _left_out_sentence(points.attrs["left_out"])) if t)


def funnel_plot(
    table: Table,
    *,
    title: str,
    ylabel: str,
    xlabel: str = "Number of young people",
    release: Release | None = None,
) -> plt.Figure:
    """Funnel plot of a per-service proportion table: shown services in their fixed colours.

    Draws the average and the control limits over the range of the shown services'
    sizes only, each shown service as a labelled point, and says how many were left out.
    """
    points = funnel_points(table, release=release)
    p0 = points.attrs["p0"]
    fig, ax = new_figure(title=title)
    top = max(float(points["n"].max()) if len(points) else 0.0, 10.0) * 1.05
    if 0 < p0 < 1:
        grid = np.unique(np.linspace(1, top, 400).round())
        limits = funnel_limits(grid, p0=p0, levels=FUNNEL_LEVELS)
        for level in FUNNEL_LEVELS:
            name = f"{level * 100:g}".replace(".", "_")
            style = _LIMIT_STYLES.get(level, "-.")
            ax.plot(grid, 100 * limits[f"upper_{name}"], style, color=NEUTRAL, linewidth=1,
                    label=f"{level * 100:g}% limits")  # fmt: skip
            ax.plot(grid, 100 * limits[f"lower_{name}"], style, color=NEUTRAL, linewidth=1)
        ax.axhline(100 * p0, color="#000000", linewidth=1, label=_average_label(points))
    all_services = [str(s) for s in table.frame.index if s != table.total_row]
    colours = service_colours(all_services)
    for row in points.itertuples(index=False):
        ax.scatter(row.n, 100 * row.proportion, s=45, color=colours[row.service_id],
                   edgecolor="black", zorder=3)  # fmt: skip
        ax.annotate(row.service_id, (row.n, 100 * row.proportion), xytext=(4, 3),
                    textcoords="offset points", fontsize=8)  # fmt: skip
    ax.set_xlim(0, top)
    ax.set_ylim(0, 100)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="lower right", fontsize=8)
    note = _left_out_sentence(points.attrs["left_out"])
    if not len(points):
        note = "No service can be shown: their numbers are small (disclosure control)."
    if note:
        fig.text(0.01, -0.02, note, fontsize=8, color=NEUTRAL, ha="left", va="top")
    return fig


def funnel_alt(table: Table, *, measure: str, release: Release | None = None) -> str:
    """Alt text for :func:`funnel_plot`: the average and where the shown services fall."""
    points = funnel_points(table, release=release)
    p0 = points.attrs["p0"]
    who = "all services" if points.attrs["p0_source"] == "programme" else "the services shown"
    parts = [
        f"Funnel plot of {measure} for {len(points)} services against the number of young people in "
        f"each, with the average of {who} ({_pct(100 * p0) if np.isfinite(p0) else 'not available'}) "
        "and 95% and 99.8% control limits."
    ]
    parts.append(f"{int(points['flag'].eq('within').sum())} of them are within the 95% limits.")
    for flag in ("above 99.8%", "above 95%", "below 95%", "below 99.8%"):
        ids = service_order(list(points.loc[points["flag"].eq(flag), "service_id"]))
        if ids:
            parts.append(
                f"{', '.join(ids)} {'is' if len(ids) == 1 else 'are'} {flag.replace('%', '% limit')}."
            )
    return " ".join([*parts, _left_out_sentence(points.attrs["left_out"])]).strip()


# --------------------------------------------------------------------------- side by side
def side_by_side_chart(
    table: Table, *, title: str, xlabel: str, release: Release | None = None
) -> plt.Figure:
    """Dot chart of a per-service percentage (services down the side), shown values only."""
    _, _, pct = _proportion_columns(table)
    visible = view(table, release=release).visible.drop(index=[table.total_row], errors="ignore")
    values = visible[pct]
    services = [str(s) for s in values.index]
    fig, ax = new_figure(title=title, height=max(3.0, 0.35 * len(services) + 1.2))
    colours = service_colours(services)
    y = np.arange(len(services))[::-1]
    ok = values.notna().to_numpy()
    ax.scatter(
        values.to_numpy()[ok],
        y[ok],
        color=[colours[services[i]] for i in np.flatnonzero(ok)],
        edgecolor="black",
        s=40,
        zorder=3,
    )
    ax.set_yticks(y, services)
    ax.set_xlabel(xlabel)
    ax.grid(axis="x", color="#DDDDDD")
    ax.grid(axis="y", visible=False)
    hidden = int((~ok).sum())
    if hidden:
        fig.text(0.01, -0.02, f"{hidden} value(s) not shown because the numbers are small "
                 "(disclosure control).", fontsize=8, color=NEUTRAL, ha="left", va="top")  # fmt: skip
    return fig


# --------------------------------------------------------------------------- groups
def group_points(table: Table, *, release: Release | None = None) -> pd.DataFrame:
    """The groups a group chart may draw: percentage and interval all shown (0-100).

    Columns ``group, services, proportion, ci_low, ci_high``; ``attrs["left_out"]``
    counts groups with data not drawn, ``attrs["note"]`` is the test across groups in
    words, only when no group is hidden (the test is computed from every group's counts).
    """
    visible = view(table, release=release).visible
    cols = ["%", "ci_low", "ci_high"]
    ok = visible[cols].notna().all(axis=1)
    shown = visible.loc[ok]
    out = pd.DataFrame(
        {
            "group": [str(g) for g in shown.index],
            "services": shown["services"].to_numpy(float),
            "proportion": shown["%"].to_numpy(float),
            "ci_low": shown["ci_low"].to_numpy(float),
            "ci_high": shown["ci_high"].to_numpy(float),
        }
    )
    had_data = table.frame["risk_assessed"].gt(0)
    left_out = int((had_data & ~ok).sum())
    note = str(table.frame.attrs.get("note", "")) if not (~ok & had_data).any() else ""
    out.attrs.update(left_out=left_out, note=note)
    return out


def group_comparison_chart(
    table: Table, *, title: str, xlabel: str, release: Release | None = None
) -> plt.Figure:
    """Point and 95% interval per group of a ``groups.<dim>`` table; hidden groups left out."""
    shown = group_points(table, release=release)
    fig, ax = new_figure(title=title, height=max(2.5, 0.5 * len(table.frame) + 1.2))
    y = np.arange(len(shown))[::-1]
    for i, row in shown.iterrows():
        colour = PALETTE[int(i) % len(PALETTE)]
        ax.plot([row["ci_low"], row["ci_high"]], [y[i], y[i]], color=colour, linewidth=2)
        ax.scatter(row["proportion"], y[i], color=colour, edgecolor="black", s=50, zorder=3)
    ax.set_yticks(
        y,
        [
            f"{g} ({int(n)} service{'' if int(n) == 1 else 's'})"
            for g, n in zip(shown["group"], shown["services"], strict=True)
        ],
    )
    ax.set_xlim(0, 100)
    ax.set_xlabel(xlabel)
    ax.grid(axis="x", color="#DDDDDD")
    ax.grid(axis="y", visible=False)
    note = " ".join(
        t for t in (shown.attrs["note"], _left_out_sentence(shown.attrs["left_out"], "groups")) if t
    )
    if note:
        fig.text(0.01, -0.02, note, fontsize=8, color=NEUTRAL, ha="left", va="top", wrap=True)
    return fig


def group_comparison_alt(table: Table, *, measure: str, release: Release | None = None) -> str:
    """Alt text for :func:`group_comparison_chart`: each shown group's percentage and interval."""
    shown = group_points(table, release=release)
    by = str(table.rows).replace("_", " ")
    parts = [f"Chart of {measure} by {by}, with 95% confidence intervals, for {len(shown)} groups."]
    parts += [
        f"{r.group}: {_pct(r.proportion)} ({_pct(r.ci_low)} to {_pct(r.ci_high)})."
        for r in shown.itertuples()
    ]
    left_out = _left_out_sentence(shown.attrs["left_out"], "groups")
    return " ".join([*parts, shown.attrs["note"], left_out]).strip()
