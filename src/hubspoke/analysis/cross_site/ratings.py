"""The six outcomes' ratings for every service in one table, from the outcome framework.

The ratings come from :mod:`hubspoke.analysis.outcomes`: per outcome a progress rating
(the headline), a level against the targets and a confidence, each from all of the
outcome's indicators. This lays one of them out with services as rows (fixed order) so
services can be read across.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from hubspoke.analysis import outcomes
from hubspoke.errors import ParameterError
from hubspoke.load import Period, service_order

#: The rating columns a wide table can show, by name.
RATING_VALUES: tuple[str, ...] = ("rating", "level_rating", "confidence", "basis", "level_basis")


def period_indicators(
    tables: Mapping[str, pd.DataFrame],
    *,
    year: int | str = "all",
    service_years: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Every indicator per service for the period: that year's, or the years pooled (``"all"``).

    ``service_years``: :func:`hubspoke.analysis.outcomes.indicators` of every service-year,
    when the caller has it (a year's rows are then taken from it, not computed again).
    """
    chosen = Period.parse(year).year
    if chosen is None:
        return outcomes.indicators(tables, by=("service_id",), service_years=service_years)
    return outcomes.indicators(tables, year=chosen, service_years=service_years)


def outcome_ratings(
    tables: Mapping[str, pd.DataFrame],
    *,
    year: int | str = "all",
    indicator_table: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per service and outcome: :func:`hubspoke.analysis.outcomes.ratings` for the period.

    For one year, each service's ratings that year (progress on its first year's
    baseline); for ``"all"``, over the service's years pooled (level over the years,
    progress from its first to its latest year). ``indicator_table``: the period's
    :func:`period_indicators`, when the caller has them already.
    """
    table = period_indicators(tables, year=year) if indicator_table is None else indicator_table
    return outcomes.ratings(table)


def wide_ratings(rated: pd.DataFrame, *, value: str = "rating") -> pd.DataFrame:
    """Services as rows, outcomes as columns, each cell the ``value`` column of ``rated`` as words."""
    if value not in RATING_VALUES:
        raise ParameterError(
            "unknown rating column", column="value", allowed=RATING_VALUES, found=value
        )
    wide = (
        rated.assign(**{value: rated[value].astype(str)})
        .pivot_table(
            index="service_id", columns="outcome", values=value, aggfunc="first", observed=True
        )
        .reindex(service_order(rated["service_id"].unique()))
    )
    order = rated.sort_values("outcome_id")["outcome"].drop_duplicates().tolist()
    wide = wide.reindex(columns=order)
    wide.index.name = "Service"
    wide.columns.name = None
    return wide


def outcome_ratings_by_service(
    tables: Mapping[str, pd.DataFrame], *, year: int | str = "all", value: str = "rating"
) -> pd.DataFrame:
    """Services as rows, the six outcomes as columns, each cell one judgement in words.

    ``value``: ``rating`` (progress, the headline), ``level_rating``, ``confidence``,
    ``basis`` or ``level_basis`` ("k of m indicators met; j without enough data").
    Ratings are words, not counts of people.
    """
    return wide_ratings(outcome_ratings(tables, year=year), value=value)
