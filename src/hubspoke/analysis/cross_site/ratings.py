"""The six outcomes' ratings for every service in one table, from the outcome framework.

The ratings come from :mod:`hubspoke.analysis.outcomes`; this lays them out with
services as rows (fixed order) so services can be read across.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from hubspoke.analysis import outcomes
from hubspoke.load import Period, service_order


def outcome_ratings_by_service(
    tables: Mapping[str, pd.DataFrame], *, year: int | str = "all"
) -> pd.DataFrame:
    """Services as rows, the six outcomes as columns, each cell the outcome's rating.

    For one year, each service's rating that year; for ``"all"``, the rating over the
    service's years pooled. Ratings are words, not counts of people.
    """
    chosen = Period.parse(year).year
    if chosen is None:
        table = outcomes.indicators(tables, by=("service_id",))
    else:
        table = outcomes.indicators(tables, year=chosen)
    rated = outcomes.ratings(table)
    wide = (
        rated.assign(rating=rated["rating"].astype(str))
        .pivot_table(
            index="service_id", columns="outcome", values="rating", aggfunc="first", observed=True
        )
        .reindex(service_order(rated["service_id"].unique()))
    )
    order = rated.sort_values("outcome_id")["outcome"].drop_duplicates().tolist()
    wide = wide.reindex(columns=order)
    wide.index.name = "Service"
    wide.columns.name = None
    return wide
