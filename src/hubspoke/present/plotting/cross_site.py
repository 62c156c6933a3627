"""Charts comparing services: funnel plots, one measure side by side, and group comparisons.

Every chart takes a :class:`~hubspoke.privacy.table.Table` (from
:func:`hubspoke.analysis.cross_site.cross_site_tables`) and draws only what the funder
release shows of it (:func:`hubspoke.present.views.view` ``.visible``): a service, group,
interval or average whose cells are hidden is never drawn, labelled or used to place
anything, and the alt text and captions quote only shown values. Each chart says how
many it left out, in a note below its axis labels. A chart that would show fewer than two
services or groups is not drawn (:func:`~hubspoke.present.plotting.base.drawable`): it
returns ``None`` and its alt text says why, in a sentence shown in its place.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter

from hubspoke.analysis.cross_site.funnel import (
    DEFAULT_OVERDISPERSION,
    FUNNEL_LEVELS,
    compare_services,
    control_limits,
    outlier_sentence,
)
from hubspoke.analysis.cross_site.memo import FrameMemo
from hubspoke.analysis.release import current_release
from hubspoke.errors import ParameterError
from hubspoke.present.plotting.base import (
    MIN_POINTS,
    NEUTRAL,
    PALETTE,
    add_note,
    drawable,
    label_points,
    new_figure,
    no_chart,
    plural,
    service_colours,
    unit_label,
)
from hubspoke.present.views import view
from hubspoke.privacy.release import Release
from hubspoke.privacy.table import Count, Derived, Figure, Table

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
def _funnel_columns(table: Table) -> tuple[str, str, str]:
    """The numerator, the denominator (a count, or a figure such as a population) and the value."""
    sizes = [c for c in table.frame.columns if isinstance(table.spec(c), Count | Figure)]
    derived = [c for c in table.frame.columns if isinstance(table.spec(c), Derived)]
    if len(sizes) < 2 or not derived:
        raise ParameterError(
            "a funnel table needs a numerator, a denominator and a value derived from them",
            column=table.family,
            found=list(table.frame.columns),
        )
    return str(sizes[0]), str(sizes[1]), str(derived[0])


def _funnel_kind(table: Table) -> tuple[str, float]:
    """``("proportion", 100)`` (values in %) or ``("rate", 10000)`` (per 10,000), from the table."""
    attrs = table.frame.attrs
    return str(attrs.get("funnel_kind", "proportion")), float(attrs.get("funnel_scale", 100.0))


def _value_text(value: float, *, kind: str, scale: float) -> str:
    """A target or value on the chart's scale: ``40%`` or ``2.5 per 10,000``."""
    if not np.isfinite(value):
        return "not available"
    if kind == "proportion":
        return _pct(scale * value)
    return f"{scale * value:.1f} per {scale:,.0f}"


def funnel_points(
    table: Table,
    *,
    release: Release | None = None,
    overdispersion: str = DEFAULT_OVERDISPERSION,
) -> pd.DataFrame:
    """The points a funnel plot of ``table`` may draw, their limits and flags, and the average.

    Works for every funnel table: a proportion (``funnel.risk``, ``funnel.endings``,
    ``funnel.indicator.<id>``: values in %) or a rate (``funnel.referral_rate``: per
    10,000). One row per service whose numerator, denominator and value are all shown
    (fixed order): ``service_id, numerator, n`` (denominator or exposure), ``shown``
    (the value as the table shows it), ``value`` (per unit: 0-1, or per child), the
    limits at its size (per unit) and ``flag``. ``attrs``: ``p0`` (the programme's
    published value when shown, else pooled from the shown services only; per unit),
    ``p0_source`` (``"programme"`` / ``"shown"``), ``left_out`` (services with data not
    drawn), ``kind``, ``scale`` and ``dispersion`` (estimated from the shown services
    only, so limits depend on nothing the table hides).
    """
    if release is None and table.counts_people:
        release = current_release()  # the release view() would read
    found = _POINTS.get((table, release), overdispersion)
    if found is None:
        found = _POINTS.put(
            (table, release),
            overdispersion,
            _funnel_points(table, release=release, overdispersion=overdispersion),
        )
    return found.copy()


#: The last answers of :func:`funnel_points` (a chart, its alt text, its caption and the
#: notebook each ask for the same table's points), by the very table and release.
_POINTS: FrameMemo[pd.DataFrame] = FrameMemo(size=8)


def _funnel_points(table: Table, *, release: Release | None, overdispersion: str) -> pd.DataFrame:
    num, den, val = _funnel_columns(table)
    kind, scale = _funnel_kind(table)
    visible = view(table, release=release).visible
    services = visible.drop(index=[table.total_row], errors="ignore")
    ok = services[[num, den, val]].notna().all(axis=1) & services[den].gt(0)
    shown = services.loc[ok]
    points = pd.DataFrame(
        {
            "service_id": [str(s) for s in shown.index],
            "numerator": shown[num].to_numpy(float),
            "n": shown[den].to_numpy(float),
            "shown": shown[val].to_numpy(float),
        }
    )
    total = visible.loc[table.total_row, val] if table.total_row in visible.index else np.nan
    if pd.notna(total):
        p0, source = float(total) / scale, "programme"
    else:
        n = points["n"].sum()
        p0, source = (float(points["numerator"].sum() / n) if n > 0 else np.nan), "shown"
    points = compare_services(
        points, kind=kind, target=p0, levels=FUNNEL_LEVELS, overdispersion_method=overdispersion
    )
    had_data = table.frame.drop(index=[table.total_row], errors="ignore")[den].gt(0)
    points.attrs.update(
        p0=p0, p0_source=source, left_out=int(had_data.sum()) - len(points), kind=kind, scale=scale
    )
    return points


def _average_words(points: pd.DataFrame) -> str:
    """``the average of all services (40%)``, or that no average can be shown."""
    if not np.isfinite(points.attrs["p0"]):
        return "no average (no service's value can be shown)"
    who = "all services" if points.attrs["p0_source"] == "programme" else "the services shown"
    value = _value_text(points.attrs["p0"], kind=points.attrs["kind"], scale=points.attrs["scale"])
    return f"the average of {who} ({value})"


def _average_label(points: pd.DataFrame) -> str:
    words = _average_words(points)
    return words[0].upper() + words[1:]


def _limits_words(points: pd.DataFrame) -> str:
    """``exact binomial`` / ``exact Poisson``, and whether widened for over-dispersion."""
    method = "exact binomial" if points.attrs["kind"] == "proportion" else "exact Poisson"
    return method + (", widened for over-dispersion" if points.attrs["dispersion"].adjusted else "")


def _dispersion_words(points: pd.DataFrame) -> str:
    kind, scale = points.attrs["kind"], points.attrs["scale"]
    unit = "percentage points" if kind == "proportion" else f"per {scale:,.0f}"
    return points.attrs["dispersion"].describe(scale=scale, unit=unit)


def funnel_outliers(
    table: Table, *, release: Release | None = None, overdispersion: str = DEFAULT_OVERDISPERSION
) -> str:
    """The sentence naming the shown services outside the limits (none hidden is ever named)."""
    points = funnel_points(table, release=release, overdispersion=overdispersion)
    if not len(points):
        return "No service can be shown: their numbers are small (disclosure control)."
    return outlier_sentence(points, levels=FUNNEL_LEVELS, left_out=points.attrs["left_out"])


def funnel_caption(
    table: Table, *, release: Release | None = None, overdispersion: str = DEFAULT_OVERDISPERSION
) -> str:
    """Caption: the lines (limits, adjusted or not), the dispersion check, the services outside
    the limits, how many were left out, and the table's own note (e.g. the population's year)."""
    points = funnel_points(table, release=release, overdispersion=overdispersion)
    who = "all services" if points.attrs["p0_source"] == "programme" else "the services shown"
    text = (
        f"Dashed and dotted lines: {' and '.join(f'{lv * 100:g}%' for lv in FUNNEL_LEVELS)} control "
        f"limits ({_limits_words(points)}) around the average of {who} (solid line)."
        if np.isfinite(points.attrs["p0"])
        else "No average or control limits can be drawn."
    )
    parts = [text]
    if len(points):
        parts += [
            _dispersion_words(points),
            outlier_sentence(points, levels=FUNNEL_LEVELS, left_out=points.attrs["left_out"]),
        ]
    parts += [_left_out_sentence(points.attrs["left_out"]), str(table.frame.attrs.get("note", ""))]
    return " ".join(t for t in parts if t)


def funnel_plot(
    table: Table,
    *,
    title: str | None = None,
    ylabel: str | None = None,
    xlabel: str | None = None,
    release: Release | None = None,
    overdispersion: str = DEFAULT_OVERDISPERSION,
) -> plt.Figure | None:
    """Funnel plot of a per-service proportion or rate table: shown services in their fixed colours.

    Draws the average and the control limits (widened when the shown services are
    over-dispersed) over the range of the shown services' sizes only, each shown service
    as a point labelled so that no two labels overlap, and says how many were left out.
    Titles and axis labels default to the table's own (``frame.attrs``: ``title``,
    ``ylabel``, ``xlabel``); the y axis names its unit (% or per 10,000). ``None`` when
    fewer than two services can be shown (:func:`funnel_alt` then says why).
    """
    points = funnel_points(table, release=release, overdispersion=overdispersion)
    if len(points) < MIN_POINTS:
        return None
    attrs = table.frame.attrs
    kind, scale, p0 = points.attrs["kind"], points.attrs["scale"], points.attrs["p0"]
    title = title or str(attrs.get("title", "Services compared for their size"))
    unit = "%" if kind == "proportion" else f"per {scale:,.0f}"
    ylabel = unit_label(ylabel or str(attrs.get("ylabel", "")), unit)
    xlabel = xlabel or str(attrs.get("xlabel", "Number of young people"))
    fig, ax = new_figure(title=title)
    top = max(float(points["n"].max()), 10.0) * 1.05
    valid = np.isfinite(p0) and p0 > 0 and (kind == "rate" or p0 < 1)
    grid = (
        np.unique(np.linspace(1, top, 400).round())
        if kind == "proportion"
        else np.linspace(top / 200, top, 400)
    )
    ymax = 100.0
    if valid:
        limits = control_limits(
            grid, kind=kind, target=p0, levels=FUNNEL_LEVELS, dispersion=points.attrs["dispersion"]
        )
        widened = " (widened)" if points.attrs["dispersion"].adjusted else ""
        for level in FUNNEL_LEVELS:
            name = f"{level * 100:g}".replace(".", "_")
            style = _LIMIT_STYLES.get(level, "-.")
            ax.plot(grid, scale * limits[f"upper_{name}"], style, color=NEUTRAL, linewidth=1,
                    label=f"{level * 100:g}% limits{widened}")  # fmt: skip
            ax.plot(grid, scale * limits[f"lower_{name}"], style, color=NEUTRAL, linewidth=1)
        ax.axhline(scale * p0, color="#000000", linewidth=1, label=_average_label(points))
        if kind == "rate":
            smallest = float(points["n"].min())
            at_smallest = control_limits(
                [smallest], kind=kind, target=p0, levels=FUNNEL_LEVELS,
                dispersion=points.attrs["dispersion"],
            )  # fmt: skip
            highest = float(points["shown"].max())
            ymax = 1.1 * max(
                highest, scale * float(at_smallest.filter(like="upper_").max(axis=1)[0])
            )
    elif kind == "rate":
        ymax = 1.1 * max(float(points["shown"].max()), 1.0)
    all_services = [str(s) for s in table.frame.index if s != table.total_row]
    colours = service_colours(all_services)
    ax.scatter(points["n"], points["shown"], s=45, zorder=3, edgecolor="black",
               color=[colours[s] for s in points["service_id"]])  # fmt: skip
    ax.set_xlim(0, top)
    ax.set_ylim(0, ymax)
    label_points(ax, list(points["n"]), list(points["shown"]), list(points["service_id"]))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if kind == "rate":  # populations: 175,000 rather than 175000
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:,.0f}"))
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="best", fontsize=8)
    add_note(fig, _left_out_sentence(points.attrs["left_out"]))
    return fig


def funnel_alt(
    table: Table,
    *,
    measure: str | None = None,
    release: Release | None = None,
    overdispersion: str = DEFAULT_OVERDISPERSION,
) -> str:
    """Alt text for :func:`funnel_plot`: the measure, the average, the limits (widened or not)
    and where the shown services fall, naming those outside the limits; when no chart is
    drawn, why (and the one service shown, if any)."""
    attrs = table.frame.attrs
    measure = measure or str(attrs.get("measure", "the measure"))
    size = str(attrs.get("xlabel", "Number of young people"))
    points = funnel_points(table, release=release, overdispersion=overdispersion)
    if len(points) < MIN_POINTS:
        return _no_funnel(table, points, measure=measure, release=release)
    parts = [
        f"Funnel plot of {measure} for {plural(len(points), 'service')} against "
        f"{size[0].lower() + size[1:]}, "
        f"with {_average_words(points)} and 95% and 99.8% control limits "
        f"({_limits_words(points)})."
    ]
    if len(points):
        parts.append(f"{int(points['flag'].eq('within').sum())} of them are within the 95% limits.")
        parts.append(
            outlier_sentence(points, levels=FUNNEL_LEVELS, left_out=points.attrs["left_out"])
        )
    return " ".join([*parts, _left_out_sentence(points.attrs["left_out"])]).strip()


def _no_funnel(table: Table, points: pd.DataFrame, *, measure: str, release: Release | None) -> str:
    """Why a funnel plot is not drawn: no service, or one, can be shown."""
    left_out = _left_out_sentence(points.attrs["left_out"])
    note = str(table.frame.attrs.get("note", ""))
    if not len(points):
        reason = (
            f"No service's {measure} can be shown: their numbers are small (disclosure control)"
        )
        return " ".join(t for t in (no_chart(reason), note) if t)
    _, _, val = _funnel_columns(table)
    service = str(points["service_id"].iloc[0])
    shown = str(view(table, release=release).display.loc[service, val])
    unit = "%" if points.attrs["kind"] == "proportion" else f" per {points.attrs['scale']:,.0f}"
    reason = f"Only one service's {measure} can be shown ({service}: {shown}{unit})"
    return " ".join(t for t in (no_chart(reason), left_out, note) if t)


# --------------------------------------------------------------------------- side by side
def side_by_side_chart(
    table: Table, *, title: str, xlabel: str, release: Release | None = None
) -> plt.Figure | None:
    """Dot chart of a per-service percentage (services down the side), shown values only.

    ``None`` when fewer than two services' values can be shown.
    """
    _, _, pct = _proportion_columns(table)
    visible = view(table, release=release).visible.drop(index=[table.total_row], errors="ignore")
    values = visible[pct]
    if not drawable(values):
        return None
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
    ax.set_xlabel(unit_label(xlabel))
    ax.grid(axis="x", color="#DDDDDD")
    ax.grid(axis="y", visible=False)
    hidden = int((~ok).sum())
    if hidden:
        add_note(fig, f"{plural(hidden, 'value')} not shown because the numbers are small "
                 "(disclosure control).")  # fmt: skip
    return fig


# --------------------------------------------------------------------------- groups
def group_points(table: Table, *, release: Release | None = None) -> pd.DataFrame:
    """The groups a group chart may draw: percentage (0-100) and, where shown, its interval.

    Columns ``group, services, proportion, ci_low, ci_high``: the group's name for readers
    (``Phase 1`` rather than ``1``), and the interval NaN for a group with too few services
    to compare (the table gives none). ``attrs["left_out"]``
    counts groups with data the release hides; ``attrs["note"]`` is the test across groups
    in words, only when no group it rests on is hidden.
    """
    visible = view(table, release=release).visible
    ok = visible["%"].notna()
    shown = visible.loc[ok]
    out = pd.DataFrame(
        {
            "group": [_group_name(table.rows, g) for g in shown.index],
            "services": shown["services"].to_numpy(float),
            "proportion": shown["%"].to_numpy(float),
            "ci_low": shown["ci_low"].to_numpy(float),
            "ci_high": shown["ci_high"].to_numpy(float),
        }
    )
    had_data = table.frame["risk_assessed"].gt(0)
    tested = table.frame["ci_low"].notna()  # the groups the test across groups rests on
    left_out = int((had_data & ~ok).sum())
    note = str(table.frame.attrs.get("note", "")) if not (~ok & had_data & tested).any() else ""
    out.attrs.update(left_out=left_out, note=note)
    return out


def _group_name(dim: object, group: object) -> str:
    """A group as readers name it: a phase is ``Phase 1``, any other group its own name."""
    return f"Phase {group}" if dim == "phase" else str(group)


def _group_label(group: str, services: float, has_interval: bool) -> str:
    n = int(services)
    label = f"{group} ({n} service{'' if n == 1 else 's'})"
    return label if has_interval else f"{label}: too few to compare"


def group_comparison_chart(
    table: Table, *, title: str, xlabel: str, release: Release | None = None
) -> plt.Figure | None:
    """Point and 95% interval per group of a ``groups.<dim>`` table; hidden groups left out.

    A group with too few services to compare is drawn as a hollow point with no interval,
    and its label says so. The test across groups and the groups left out are written
    below the x-axis label. ``None`` when fewer than two groups can be shown.
    """
    shown = group_points(table, release=release)
    if not drawable(shown["proportion"]):
        return None
    fig, ax = new_figure(title=title, height=max(2.5, 0.5 * len(table.frame) + 1.2))
    y = np.arange(len(shown))[::-1]
    has_interval = shown["ci_low"].notna() & shown["ci_high"].notna()
    for i, row in shown.iterrows():
        colour = PALETTE[int(i) % len(PALETTE)]
        if has_interval[i]:
            ax.plot([row["ci_low"], row["ci_high"]], [y[i], y[i]], color=colour, linewidth=2)
            ax.scatter(row["proportion"], y[i], color=colour, edgecolor="black", s=50, zorder=3)
        else:
            ax.scatter(row["proportion"], y[i], facecolor="white", edgecolor=colour, s=50,
                       linewidth=1.5, zorder=3)  # fmt: skip
    ax.set_yticks(
        y,
        [
            _group_label(g, n, bool(h))
            for g, n, h in zip(shown["group"], shown["services"], has_interval, strict=True)
        ],
    )
    ax.set_xlim(0, 100)
    ax.set_xlabel(unit_label(xlabel))
    ax.grid(axis="x", color="#DDDDDD")
    ax.grid(axis="y", visible=False)
    add_note(fig, _group_note(shown))
    return fig


def _group_note(shown: pd.DataFrame) -> str:
    """The test across groups (when no group it rests on is hidden) and the groups left out."""
    left_out = _left_out_sentence(shown.attrs["left_out"], "groups")
    return " ".join(t for t in (shown.attrs["note"], left_out) if t)


def group_comparison_alt(table: Table, *, measure: str, release: Release | None = None) -> str:
    """Alt text for :func:`group_comparison_chart`: each shown group's percentage and interval.

    ``measure`` may already name the grouping (``risk reduced by model variant``): it is
    not repeated. When no chart is drawn, says why first.
    """
    shown = group_points(table, release=release)
    by = str(table.rows).replace("_", " ")
    what = measure if " by " in f" {measure} " else f"{measure} by {by}"
    if drawable(shown["proportion"]):
        head = f"Chart of {what}, with 95% confidence intervals, for {plural(len(shown), 'group')}."
    elif len(shown):
        head = no_chart(f"Only one group's {what} can be shown")
    else:
        head = no_chart(f"No group's {what} can be shown: their numbers are small")
    parts = [head]
    parts += [
        f"{r.group}: {_pct(r.proportion)} ({_pct(r.ci_low)} to {_pct(r.ci_high)})."
        if pd.notna(r.ci_low) and pd.notna(r.ci_high)
        else f"{r.group}: {_pct(r.proportion)} (too few services to compare)."
        for r in shown.itertuples()
    ]
    left_out = _left_out_sentence(shown.attrs["left_out"], "groups")
    return " ".join(t for t in (*parts, shown.attrs["note"], left_out) if t)
