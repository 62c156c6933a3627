"""Charts of local context: CSE identified at assessment per 10,000 children, areas against England.

Charts take the ``rates`` :class:`~hubspoke.privacy.table.Table` of
:func:`hubspoke.analysis.realist.tables.local_context_tables` and draw its view
(public rates, Figures: nothing is hidden, a rate missing at source is a gap).
"""

from __future__ import annotations

import matplotlib.pyplot as plt

from hubspoke.present.plotting.base import ENGLAND, new_figure, service_colours
from hubspoke.present.views import view
from hubspoke.privacy.release import Release
from hubspoke.privacy.table import Table

#: Row of the national comparator in the rates table.
ENGLAND_ROW = "England"


def area_rates_chart(table: Table, *, title: str, release: Release | None = None) -> plt.Figure:
    """Lines of each service's combined area rate by year, with England in black.

    Years whose combined rate is missing (an area's count suppressed at source) are
    gaps, not zeros.
    """
    rates = view(table, release=release).visible
    years = [int(c) for c in rates.columns]
    fig, ax = new_figure(title=title, width=9, height=5)
    services = [str(s) for s in rates.index if s != ENGLAND_ROW]
    colours = service_colours(services)
    for sid in services:
        ax.plot(
            years,
            rates.loc[sid].to_numpy(dtype=float),
            marker="o",
            markersize=3,
            linewidth=1.2,
            color=colours[sid],
            label=sid,
        )
    if ENGLAND_ROW in rates.index:
        ax.plot(
            years,
            rates.loc[ENGLAND_ROW].to_numpy(dtype=float),
            color=ENGLAND,
            linewidth=3,
            label="England",
        )
    ax.set_xlabel("Year ending 31 March")
    ax.set_ylabel("Assessments with CSE as a factor per 10,000 children")
    ax.legend(ncol=2, fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5))
    return fig


def area_rates_alt(table: Table, *, release: Release | None = None) -> str:
    """Alt text: what the chart shows and England's range (rates, not counts of children)."""
    rates = view(table, release=release).visible
    years = [int(c) for c in rates.columns]
    services = [s for s in rates.index if s != ENGLAND_ROW]
    england = rates.loc[ENGLAND_ROW] if ENGLAND_ROW in rates.index else rates.iloc[:0].sum()
    return (
        f"Line chart of the rate of children's social care assessments where child sexual exploitation "
        f"was a factor, per 10,000 children, {min(years)} to {max(years)}, for the areas of "
        f"{len(services)} services against England (black line, between "
        f"{england.min():.1f} and {england.max():.1f}). Gaps mark years where an area's count was suppressed."
    )
