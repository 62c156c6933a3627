"""Every service-year's demographic tables counted at once are those of one service-year at a time.

The release builds every service report's tables and counts the demographics of all
service-years in one pass (:func:`demographics_by_service_year`); a notebook, or a
caller with one service-year, uses :func:`demographics`. Both must give the frames
counted the plain way: each young person's latest episode, by level, with a Total row
and a percentage.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from hubspoke import load
from hubspoke.analysis.service import DEMOGRAPHIC_LEVELS, demographics, demographics_by_service_year
from hubspoke.analysis.service.common import NOT_RECORDED, TOTAL


def _plainly(cases: pd.DataFrame, service_id: str, year: int) -> dict[str, pd.DataFrame]:
    """The demographic frames counted the plain way, from one service-year's episodes."""
    rows = cases[cases["service_id"].astype(str).eq(service_id) & cases["year"].eq(year)]
    people = rows.sort_values("referral_date", kind="mergesort").drop_duplicates(
        "young_person_id", keep="last"
    )
    return {
        column: _counted(people[column], levels, name=column.replace("_", " ").capitalize())
        for column, levels in DEMOGRAPHIC_LEVELS.items()
    }


def _counted(values: pd.Series, levels: tuple[str, ...], *, name: str) -> pd.DataFrame:
    """Counts by level, then Not recorded, then Total, with a % of the total, by value_counts."""
    known = values.astype(object).where(values.notna(), NOT_RECORDED).map(str)
    labelled = pd.Categorical(
        known.where(known.isin(list(levels)), NOT_RECORDED), categories=[*levels, NOT_RECORDED]
    )
    counts = pd.Series(labelled).value_counts(sort=False).astype("Int64")
    n = pd.concat([counts, pd.Series([counts.sum()], index=[TOTAL])]).astype("Int64")
    total = int(n.iloc[-1])
    pct = n.astype("Float64") * 100 / total if total else pd.Series(pd.NA, index=n.index)
    index = pd.Index([*levels, NOT_RECORDED, TOTAL], name=name)
    return pd.DataFrame(
        {"n": n.to_numpy(), "%": pd.array(pct.to_numpy(), dtype="Float64")}, index=index
    ).astype({"n": "Int64"})


def test_every_service_year_at_once_is_each_one_alone(synthetic_processed: Path) -> None:
    tables = load.load_tables(Path(synthetic_processed))
    cases = tables["cases"]
    at_once = demographics_by_service_year(tables)
    pairs = [(s, y) for s, ys in load.available_service_years(tables).items() for y in ys]
    assert set(at_once) <= set(pairs) and len(at_once) >= len(pairs) - 2
    for service_id, year in pairs:
        plain = _plainly(cases, service_id, year)
        alone = demographics(tables, service_id=service_id, year=year)
        assert list(alone) == list(plain)
        for column, frame in plain.items():
            pd.testing.assert_frame_equal(alone[column], frame, obj=f"{service_id} {year} {column}")
            if (service_id, year) in at_once:
                pd.testing.assert_frame_equal(at_once[(service_id, year)][column], frame)


def test_a_service_year_without_cases_counts_no_one(synthetic_processed: Path) -> None:
    tables = load.load_tables(Path(synthetic_processed))
    service_id, years = next(iter(load.available_service_years(tables).items()))
    cases = tables["cases"]
    without = {
        **tables,
        "cases": cases[
            ~(cases["service_id"].astype(str).eq(service_id) & cases["year"].eq(years[0]))
        ],
    }
    frames = demographics(without, service_id=service_id, year=years[0])
    assert (service_id, years[0]) not in demographics_by_service_year(without)
    for column, frame in frames.items():
        plain = _plainly(without["cases"], service_id, years[0])[column]
        pd.testing.assert_frame_equal(frame, plain)
        assert frame["n"].eq(0).all() and frame["%"].isna().all()
