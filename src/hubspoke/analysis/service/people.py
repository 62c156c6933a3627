"""Young people supported and activities delivered: who the service reached and from where.

Reach (distinct young people in one-to-one support, new or re-referred, open or
closed at year end; sessions and participants by activity type), the demographics of
the young people supported (from each person's latest episode) and the sources of
the year's referrals.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from hubspoke import load
from hubspoke.analysis.service.common import (
    TOTAL,
    _activity_reach_of,
    _closed_by_year_end,
    _count_frame,
    _keyed,
    _one_way,
    _one_way_by_service_year,
    _rows,
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
    key = (service_id, year)
    return {
        "young_people": _young_people_reach_of(_rows(tables, "cases", service_id), [key])[key],
        "activities": _activity_reach_of(_rows(tables, "activities", service_id, year), [key])[key],
    }


def reach_by_service_year(
    tables: Mapping[str, pd.DataFrame],
) -> dict[tuple[str, int], dict[str, pd.DataFrame]]:
    """:func:`reach` of every service-year, counted at once."""
    keys = [(s, y) for s, years in load.available_service_years(tables).items() for y in years]
    people = _young_people_reach_of(load.table(tables, "cases"), keys)
    activities = _activity_reach_of(load.table(tables, "activities"), keys)
    return {key: {"young_people": people[key], "activities": activities[key]} for key in keys}


#: Rows and columns of the young people reached.
_REACH_ROWS: tuple[str, ...] = ("New to the service", "Re-referred")
_REACH_COLUMNS: tuple[str, ...] = ("Open at year end", "Closed")


def _young_people_reach_of(
    cases: pd.DataFrame, keys: Sequence[tuple[str, int]]
) -> dict[tuple[str, int], pd.DataFrame]:
    """Distinct young people: new vs re-referred x open at year end vs closed, of each
    (service, year) of ``keys``. ``cases`` holds every earlier year of those services
    (a young person seen in one is re-referred)."""
    rows = _keyed(cases)
    rows = rows.loc[rows["young_person_id"].notna().to_numpy(dtype=bool)]
    open_ = ~_closed_by_year_end(rows)
    people = (
        rows.assign(
            _open=open_,
            _first=rows.groupby(["service_id", "young_person_id"])["year"].transform("min"),
        )
        .groupby(["service_id", "year", "young_person_id"])
        .agg(_open=("_open", "any"), _first=("_first", "min"))
    )
    re_referred = people["_first"].to_numpy() < people.index.get_level_values("year").to_numpy()
    cell = 2 * re_referred + ~people["_open"].to_numpy(dtype=bool)  # row-major 2 x 2
    where = pd.MultiIndex.from_tuples(keys).get_indexer(people.index.droplevel("young_person_id"))
    counts = np.zeros((len(keys), 4), dtype="int64")
    np.add.at(counts, (where[where >= 0], cell[where >= 0]), 1)
    grid = counts.reshape(-1, 2, 2)
    with_totals = np.concatenate([grid, grid.sum(axis=2, keepdims=True)], axis=2)
    with_totals = np.concatenate([with_totals, with_totals.sum(axis=1, keepdims=True)], axis=1)
    labels = np.array([*_REACH_ROWS, TOTAL], dtype=object)
    frame = pd.DataFrame(
        with_totals.reshape(-1, 3),
        columns=[*_REACH_COLUMNS, TOTAL],
        index=pd.Index(np.tile(labels, len(keys)), name="Young people"),
    ).astype("Int64")
    return {key: frame.iloc[3 * k : 3 * (k + 1)] for k, key in enumerate(keys)}


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
    people = cases.sort_values("referral_date", kind="mergesort").drop_duplicates(
        ["service_id", "year", "young_person_id"], keep="last"
    )
    out: dict[tuple[str, int], dict[str, pd.DataFrame]] = {}
    for column, levels in DEMOGRAPHIC_LEVELS.items():
        counted = _one_way_by_service_year(people, people[column], levels, name=_heading(column))
        for key, frame in counted.items():
            out.setdefault(key, {})[column] = frame
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


def referral_sources_by_service_year(
    tables: Mapping[str, pd.DataFrame],
) -> dict[tuple[str, int], pd.DataFrame]:
    """:func:`referral_sources` of every service-year with cases, counted at once."""
    cases = load.table(tables, "cases")
    return _one_way_by_service_year(
        cases, cases["referral_source"], tuple(vocab.REFERRAL_SOURCE), name="Referral source"
    )
