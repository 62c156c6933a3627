"""Work with professionals: sessions and participants by type, and confidence after training.

Activities other than awareness-raising with young people, and the change in
professionals' confidence (rated before and after each training session) by
audience agency, with a 95% t interval of the mean change over sessions.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from hubspoke import load
from hubspoke.analysis.service.common import (
    TOTAL,
    YOUNG_PEOPLE_REACH_TYPES,
    _activity_reach_of,
    _labelled,
    _mean_ci,
    _rows,
    _with_totals,
)
from hubspoke.spec import vocab


def professional_activity(
    tables: Mapping[str, pd.DataFrame], *, service_id: str, year: int
) -> dict[str, pd.DataFrame]:
    """Work with professionals: sessions and participants, and training confidence change.

    * ``"by_type"`` - rows every activity type except awareness-raising with young
      people, then "Total"; columns "sessions", "participants" (professionals and other
      participants; sessions count events).
    * ``"confidence"`` - training sessions with confidence rated before and after, by
      audience agency (agencies with such sessions, "Not recorded", then "All training");
      columns "sessions", "participants", "mean_before", "mean_after", "mean_change",
      "ci_low", "ci_high" (95% t interval of the mean change over sessions, empty below
      :data:`MIN_N_CI` sessions). Means are of session means (each session weighs the
      same). Figures only: no one is counted.
    """
    service_id, year = load.check_service_year(service_id, year, tables=tables)
    activities = _rows(tables, "activities", service_id, year)
    types = [t for t in vocab.ACTIVITY_TYPE if t not in YOUNG_PEOPLE_REACH_TYPES]
    key = (service_id, year)
    by_type = _activity_reach_of(activities, [key])[key][["sessions", "participants"]].drop(
        index=[*YOUNG_PEOPLE_REACH_TYPES, TOTAL]
    )
    by_type = _with_totals(by_type.loc[types], column=False)
    by_type.index.name = "Activity type"
    return {"by_type": by_type, "confidence": _confidence(activities)}


def _confidence(activities: pd.DataFrame) -> pd.DataFrame:
    training = activities.loc[
        activities["activity_type"].astype(object).eq("Training").to_numpy()
    ].dropna(subset=["confidence_before", "confidence_after"])
    agency = pd.Series(
        _labelled(training["audience_agency"], tuple(vocab.AGENCY)), index=training.index
    )
    groups = [(str(a), part) for a, part in training.groupby(agency, observed=True)]
    rows = {name: _confidence_row(part) for name, part in [*groups, ("All training", training)]}
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "Audience agency"
    return out.astype(
        {"sessions": "Int64", "participants": "Int64"}
        | {c: "Float64" for c in ("mean_before", "mean_after", "mean_change", "ci_low", "ci_high")}
    )


def _confidence_row(part: pd.DataFrame) -> dict[str, float | int]:
    before = part["confidence_before"].astype(float)
    after = part["confidence_after"].astype(float)
    low, high = _mean_ci(after - before)
    n = len(part)
    return {
        "sessions": n,
        "participants": int(part["participants"].fillna(0).sum()),
        "mean_before": before.mean() if n else np.nan,
        "mean_after": after.mean() if n else np.nan,
        "mean_change": (after - before).mean() if n else np.nan,
        "ci_low": low,
        "ci_high": high,
    }
