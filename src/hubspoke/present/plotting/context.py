"""Charts of local context: CSE identified at assessment per 10,000 children, as small multiples.

One panel per area (a service report: each local authority against its region and
England) or per service (the local-context page: a service's areas combined against
England), all on one scale, with one legend. Charts take a rates
:class:`~hubspoke.privacy.table.Table` whose rows are the lines and whose columns are
years (:func:`hubspoke.analysis.context.service_context_table`, or ``rates`` of
:func:`hubspoke.analysis.realist.tables.local_context_tables`) and draw its view (public
rates, Figures: nothing is hidden; a rate missing at source is a gap, not a zero).
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator
from matplotlib.transforms import Bbox

from hubspoke.present.plotting.base import ENGLAND, PALETTE, apply_style
from hubspoke.present.views import view
from hubspoke.privacy.release import Release
from hubspoke.privacy.table import Table

#: Row of the national comparator in a rates table.
ENGLAND_ROW = "England"
#: Axis labels of every local-context chart.
X_LABEL = "Year ending 31 March"
Y_LABEL = "per 10,000 children"
#: Colours of the panel's own line and of a region's line (dashed); England is black.
OWN_COLOUR = PALETTE[0]
REGION_COLOUR = PALETTE[1]
REGION_DASH = (0, (4, 2))
#: Characters per line of a panel title before it wraps.
TITLE_WIDTH = 34


def _rates(table: Table, release: Release | None) -> pd.DataFrame:
    """The table's rates as the funder sees them, year columns only (numbers, NaN for a gap)."""
    visible = view(table, release=release).visible
    years = [c for c in visible.columns if str(c).isdigit()]
    return visible.loc[:, years]


def _grid(n: int) -> tuple[int, int]:
    """Rows and columns for ``n`` panels: one row up to 3, 2 x 2 for 4, else 4 across."""
    cols = n if n <= 3 else (2 if n == 4 else 4)
    return math.ceil(n / cols), cols


def small_multiples_chart(
    table: Table,
    *,
    title: str,
    panels: Mapping[str, str],
    own_label: str,
    region_of: Mapping[str, str] | None = None,
    release: Release | None = None,
) -> plt.Figure:
    """One panel per row of ``panels`` (row -> panel title): the row's line, its region's, England's.

    ``region_of`` maps a panel's row to the row of its region (drawn dashed, orange);
    ``own_label`` names the panel's own line (blue, with markers) in the legend; England
    is black. The panel title says whose line it is, so every panel uses the same three
    colours. Every panel is on the same scale (:func:`_label_axes`); the legend is drawn
    once, under the panels.
    """
    rates = _rates(table, release)
    years = np.array([int(c) for c in rates.columns])
    regions = dict(region_of or {})
    n_rows, n_cols = _grid(len(panels))
    apply_style()
    fig, axes = plt.subplots(
        n_rows,
        n_cols,
        figsize=(max(6.0, 0.6 + 3.3 * n_cols), 1.2 + 2.6 * n_rows),
        squeeze=False,
        layout="constrained",
    )
    flat = list(axes.flat)
    for ax, (row, panel_title) in zip(flat, panels.items(), strict=False):
        lines: list[tuple[str, str, object, float]] = [(row, OWN_COLOUR, "-", 1.8)]
        if row in regions and regions[row] in rates.index:
            lines.append((regions[row], REGION_COLOUR, REGION_DASH, 1.6))
        if ENGLAND_ROW in rates.index:
            lines.append((ENGLAND_ROW, ENGLAND, "-", 2.4))
        for name, colour, dash, width in reversed(lines):  # the panel's own line on top
            ax.plot(
                years,
                rates.loc[name].to_numpy(dtype=float),
                color=colour,
                linestyle=dash,
                linewidth=width,
                marker="o" if name == row else None,
                markersize=3.5,
            )
        ax.set_title(textwrap.fill(panel_title, TITLE_WIDTH), fontsize=10, loc="left")
    _label_axes(axes, used=len(panels))
    fig.suptitle(title, x=0.01, ha="left", fontweight="bold", fontsize=12)
    fig.legend(
        handles=_legend_handles(own_label, regions),
        loc="outside lower center",
        ncol=3,
        fontsize=9,
    )
    return fig


def _label_axes(axes: np.ndarray, *, used: int) -> None:
    """Every panel on one scale, labelled as panels sharing their axes are; spare panels hidden.

    The panels do not share their axes: with matplotlib's sharing, each look-up of a
    panel's limits checks every other panel, so laying out and drawing 150 panels took
    about 150 x 150 checks (a third of the chart's 10 s). Instead each panel's data
    limits are set to all the panels' together before its limits are worked out, which
    gives every panel the limits sharing gives (the union of the data with the same
    margins), the y axis from 0 and whole years on the x axis. Tick labels show on the left column and the
    lowest panel of each column only, with the axis labels, as for shared axes.
    """
    n_cols = axes.shape[1]
    panels = list(axes.flat)[:used]
    together = Bbox.union([ax.dataLim for ax in panels])
    for index, ax in enumerate(axes.flat):
        if index >= used:
            ax.set_visible(False)
            continue
        ax.update_datalim(together.get_points())
        ax.xaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
        ax.set_ylim(bottom=0)
        ax.label_outer()
        if index % n_cols == 0:
            ax.set_ylabel(Y_LABEL)
        if index + n_cols >= used:  # nothing drawn below it
            ax.set_xlabel(X_LABEL)
            ax.tick_params(labelbottom=True)


def _legend_handles(own_label: str, regions: Mapping[str, str]) -> list[Line2D]:
    """One entry per kind of line: the panel's own, its region (when drawn), England."""
    handles = [Line2D([], [], color=OWN_COLOUR, marker="o", markersize=3.5, label=own_label)]
    names = sorted(set(regions.values()))
    if names:
        label = f"{names[0]} (region)" if len(names) == 1 else "Its region (in the panel title)"
        handles.append(Line2D([], [], color=REGION_COLOUR, linestyle=REGION_DASH, label=label))
    handles.append(Line2D([], [], color=ENGLAND, linewidth=2.4, label="England"))
    return handles


def _range(values: pd.Series) -> str:
    """``between 12.3 and 16.1`` of the values drawn (or ``not available``)."""
    drawn = values.dropna()
    if drawn.empty:
        return "not available"
    low, high = drawn.min(), drawn.max()
    return f"{low:.1f} every year" if low == high else f"between {low:.1f} and {high:.1f}"


def small_multiples_alt(
    table: Table,
    *,
    panels: Mapping[str, str],
    what: str,
    region_of: Mapping[str, str] | None = None,
    release: Release | None = None,
) -> str:
    """Alt text: what each panel shows, the latest year's rates and England's range, in words.

    ``what`` names what one panel shows (``local-authority area``, ``service (its areas
    combined)``); the panel titles (names, never codes) are listed, and the latest year's
    rate of each panel's row.
    """
    rates = _rates(table, release)
    years = [int(c) for c in rates.columns]
    latest = str(max(years))
    regions = sorted({r for r in (region_of or {}).values() if r in rates.index})
    against = [*(f"the {r} region (dashed)" for r in regions), "England (black)"]
    latest_values = [
        f"{row} {rates.loc[row, latest]:.1f}" for row in panels if pd.notna(rates.loc[row, latest])
    ]
    england = (
        f" England's rate was {_range(rates.loc[ENGLAND_ROW])} per 10,000 children."
        if ENGLAND_ROW in rates.index
        else ""
    )
    opening = (
        f"Line charts in {len(panels)} panels, one per {what}"
        if len(panels) > 1
        else f"A line chart for the one {what}"
    )
    return (
        f"{opening}, showing the rate of children's social care assessments where child sexual "
        f"exploitation was a factor, per 10,000 children, {min(years)} to {max(years)}, against "
        f"{_join(against)}. {'Panels' if len(panels) > 1 else 'Panel'}: "
        f"{'; '.join(panels.values())}."
        + (f" In {latest}: {'; '.join(latest_values)}." if latest_values else "")
        + england
        + " Gaps mark years whose count was suppressed or not available at source."
    )


def _join(items: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
