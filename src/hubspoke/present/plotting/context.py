"""Charts of local context: CSE identified at assessment per 10,000 children, areas against England."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from hubspoke.present.plotting.base import ENGLAND, new_figure, service_colours


def area_rates_chart(rates: pd.DataFrame, *, title: str) -> plt.Figure:
    """Lines of each service's combined area rate by year, with England in black.

    ``rates`` is :func:`hubspoke.analysis.context.service_area_rates` output. Years whose
    combined rate is missing (an area's count suppressed at source) are gaps, not zeros.
    """
    fig, ax = new_figure(title=title, width=9, height=5)
    colours = service_colours(rates["service_id"].unique())
    for sid, part in rates.sort_values("year").groupby("service_id", sort=True):
        ax.plot(
            part["year"],
            part["rate_per_10k"].astype(float),
            marker="o",
            markersize=3,
            linewidth=1.2,
            color=colours[str(sid)],
            label=str(sid),
        )
    england = rates.drop_duplicates("year").sort_values("year")
    ax.plot(
        england["year"],
        england["england_rate_per_10k"].astype(float),
        color=ENGLAND,
        linewidth=3,
        label="England",
    )
    ax.set_xlabel("Year ending 31 March")
    ax.set_ylabel("Assessments with CSE as a factor per 10,000 children")
    ax.legend(ncol=2, fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5))
    return fig


def area_rates_alt(rates: pd.DataFrame) -> str:
    """Alt text: what the chart shows and England's range (rates, not counts of children)."""
    england = rates.drop_duplicates("year")["england_rate_per_10k"].astype(float)
    years = rates["year"]
    return (
        f"Line chart of the rate of children's social care assessments where child sexual exploitation "
        f"was a factor, per 10,000 children, {years.min()} to {years.max()}, for the areas of "
        f"{rates['service_id'].nunique()} services against England (black line, between "
        f"{england.min():.1f} and {england.max():.1f}). Gaps mark years where an area's count was suppressed."
    )
