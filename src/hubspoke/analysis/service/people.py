"""Young people supported and activities delivered: who the service reached and from where.

Reach (distinct young people in one-to-one support, new or re-referred, open or
closed at year end; sessions and participants by activity type), the demographics of
the young people supported (from each person's latest episode) and the sources of
the year's referrals.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from hubspoke import load
from hubspoke.analysis.service.common import (
    _activity_reach,
    _count_frame,
    _crosstab,
    _labelled,
    _one_way,
    _open_at_year_end,
    _rows,
    _with_totals,
)
from hubspoke.spec import vocab
from hubspoke.spec.processed import AGE_BANDS


# --------------------------------------------------------------------------- reach
def reach(
    tables: Mapping[str, pd.DataFrame], *, service_id: str, year: int
) -> dict[str, pd.DataFrame]:
    """Who the service reached in the year: one-to-one support and activities.

    Returns two frames:

    * ``"young_people"`` - DISTINCT young people in one-to-one support: rows "New to the
      service", "Re-referred" (seen in an earlier year of this service), "Total"; columns
      "Open at year end" (an episode still open on 31 December), "Closed", "Total". All
      counts of young people.
    * ``"activities"`` - rows: every activity type, then "Total"; columns "sessions",
      "participants", "young_people_reached" (awareness-raising with young people) and
      "professionals_reached" (training and awareness-raising with professionals), all sums
      of participants. Figures only: no one is counted.
    """
    service_id, year = load.check_service_year(service_id, year, tables=tables)
    return {
        "young_people": _young_people_reach(tables, service_id, year),
        "activities": _activity_reach(_rows(tables, "activities", service_id, year)),
    }


def _young_people_reach(
    tables: Mapping[str, pd.DataFrame], service_id: str, year: int
) -> pd.DataFrame:
    """Distinct young people: new vs re-referred x open at year end vs closed."""
    history = _rows(tables, "cases", service_id)
    cases = history.loc[history["year"].eq(year).to_numpy()]
    earlier = set(history.loc[history["year"].lt(year).to_numpy(), "young_person_id"].astype(str))
    people = (
        cases.assign(_open=_open_at_year_end(cases, year))
        .groupby("young_person_id", observed=True)["_open"]
        .any()
        .reset_index()
    )
    status = pd.Series(
        np.where(
            people["young_person_id"].astype(str).isin(earlier), "Re-referred", "New to the service"
        )
    )
    support = pd.Series(
        np.where(people["_open"].to_numpy(dtype=bool), "Open at year end", "Closed")
    )
    table = _crosstab(
        status,
        support,
        row_levels=("New to the service", "Re-referred"),
        column_levels=("Open at year end", "Closed"),
        labelled=False,
    )
    out = _with_totals(table)
    out.index.name, out.columns.name = "Young people", None
    return out


# --------------------------------------------------------------------------- demographics
DEMOGRAPHIC_LEVELS: Mapping[str, tuple[str, ...]] = {
    "gender": tuple(vocab.GENDER),
    "age_band": tuple(b for b, _ in AGE_BANDS),
    "ethnicity": tuple(vocab.ETHNICITY),
    "disability": tuple(vocab.YES_NO),
    "looked_after": tuple(vocab.LOOKED_AFTER),
}


def demographics(
    tables: Mapping[str, pd.DataFrame], *, service_id: str, year: int
) -> dict[str, pd.DataFrame]:
    """Distinct young people supported in the year by gender, age band, ethnicity, disability, looked-after.

    One frame per characteristic (keys as :data:`DEMOGRAPHIC_LEVELS`), from each young
    person's latest episode: rows every level, "Not recorded", "Total"; columns "n"
    (young people) and "%" (of the total).
    """
    service_id, year = load.check_service_year(service_id, year, tables=tables)
    cases = _rows(tables, "cases", service_id, year)
    return _demographics_of(cases).get((service_id, year), _no_demographics())


def demographics_by_service_year(
    tables: Mapping[str, pd.DataFrame],
) -> dict[tuple[str, int], dict[str, pd.DataFrame]]:
    """:func:`demographics` of every service-year with cases, counted at once (the release
    builds every service report's tables; one service-year at a time costs ten times as much)."""
    return _demographics_of(load.table(tables, "cases"))


def _demographics_of(cases: pd.DataFrame) -> dict[tuple[str, int], dict[str, pd.DataFrame]]:
    """The demographic frames of each (service, year) of ``cases``, from each young
    person's latest episode referred in that service-year."""
    people = (
        cases.assign(_service=cases["service_id"].astype(str), _year=cases["year"].astype("Int64"))
        .sort_values("referral_date", kind="mergesort")
        .drop_duplicates(["_service", "_year", "young_person_id"], keep="last")
    )
    out: dict[tuple[str, int], dict[str, pd.DataFrame]] = {}
    for column, levels in DEMOGRAPHIC_LEVELS.items():
        codes = pd.Series(_labelled(people[column], levels)).cat.codes.to_numpy()
        counts = (
            pd.DataFrame({"s": people["_service"].to_numpy(), "y": people["_year"], "c": codes})
            .groupby(["s", "y", "c"])
            .size()
        )
        for (service_id, year), part in counts.groupby(level=[0, 1]):
            per_level = np.zeros(len(levels) + 1, dtype="int64")
            per_level[part.index.get_level_values(2)] = part.to_numpy()
            frames = out.setdefault((str(service_id), int(year)), {})
            frames[column] = _count_frame(per_level, levels, name=_heading(column))
    return out


def _no_demographics() -> dict[str, pd.DataFrame]:
    """The frames of a service-year without cases: every count 0, no percentage."""
    return {
        column: _count_frame(
            np.zeros(len(levels) + 1, dtype="int64"), levels, name=_heading(column)
        )
        for column, levels in DEMOGRAPHIC_LEVELS.items()
    }


def _heading(column: str) -> str:
    """A demographic table's row heading: ``age_band`` -> ``Age band``."""
    return column.replace("_", " ").capitalize()


def referral_sources(
    tables: Mapping[str, pd.DataFrame], *, service_id: str, year: int
) -> pd.DataFrame:
    """Referrals (episodes) received in the year by source.

    Rows every source, "Not recorded", "Total"; columns "n" (episodes: young people
    referred) and "%".
    """
    service_id, year = load.check_service_year(service_id, year, tables=tables)
    cases = _rows(tables, "cases", service_id, year)
    return _one_way(cases["referral_source"], tuple(vocab.REFERRAL_SOURCE), name="Referral source")
