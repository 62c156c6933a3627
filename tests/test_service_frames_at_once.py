"""Every service-year's frames worked out at once are the ones worked out one at a time.

The release builds every service report's funder tables and works out reach,
demographics, referral sources, the change in risk, data completeness, the
year-on-year figures and the outcome evidence and ratings for all service-years in one
pass (:func:`frames_by_service_year`);
a notebook, or a caller with one service-year, calls the per-service functions. Both
must give the same frames, and those frames must hold the counts a plain reading of
the processed tables gives. A service report's funder tables built from the frames
must be the tables built without them.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from hubspoke import load
from hubspoke.analysis.outcomes import evidence_table, indicators, ratings
from hubspoke.analysis.service import (
    SURVEY_COLUMNS,
    data_completeness,
    demographics,
    reach,
    referral_sources,
    risk_transitions,
    service_tables,
    year_on_year,
)
from hubspoke.analysis.service.at_once import frames_by_service_year
from hubspoke.analysis.service.common import TOTAL


@pytest.fixture(scope="module")
def tables(synthetic_processed: Path) -> dict[str, pd.DataFrame]:
    return load.load_tables(Path(synthetic_processed))


def _pairs(tables: dict[str, pd.DataFrame]) -> list[tuple[str, int]]:
    return [(s, y) for s, ys in load.available_service_years(tables).items() for y in ys]


def _of(frame: pd.DataFrame, service_id: str, year: int | None = None) -> pd.DataFrame:
    """One service's (and year's) rows, selected plainly."""
    keep = frame["service_id"].astype(str).eq(service_id).fillna(False)
    if year is not None:
        keep &= frame["year"].eq(year).fillna(False)
    return frame[keep.to_numpy(dtype=bool)]


def _without_cases(tables: dict[str, pd.DataFrame]) -> tuple[dict, str, int]:
    """The tables with one service-year's cases removed (its year still known)."""
    service_id, years = next(iter(load.available_service_years(tables).items()))
    cases = tables["cases"]
    keep = ~(cases["service_id"].astype(str).eq(service_id) & cases["year"].eq(years[0]))
    return {**tables, "cases": cases[keep.to_numpy(dtype=bool)]}, service_id, years[0]


def test_at_once_equals_each_service_year_alone(tables: dict[str, pd.DataFrame]) -> None:
    frames = frames_by_service_year(tables)
    every = indicators(tables)
    assert list(frames) == _pairs(tables)
    for (service_id, year), at_once in frames.items():
        where = {"service_id": service_id, "year": year}
        ind = every[
            every["service_id"].astype(str).eq(service_id).to_numpy(dtype=bool)
            & every["year"].eq(year).to_numpy(dtype=bool)
        ].reset_index(drop=True)
        assert len(ind) > 0
        pd.testing.assert_frame_equal(at_once.outcome_evidence, evidence_table(ind))
        pd.testing.assert_frame_equal(at_once.outcome_ratings, ratings(ind))
        alone = reach(tables, **where)
        assert list(at_once.reach) == list(alone)
        for name, frame in alone.items():
            pd.testing.assert_frame_equal(at_once.reach[name], frame, obj=f"{where} {name}")
        people = demographics(tables, **where)
        assert list(at_once.demographics) == list(people)
        for name, frame in people.items():
            pd.testing.assert_frame_equal(at_once.demographics[name], frame)
        pd.testing.assert_frame_equal(at_once.referral_sources, referral_sources(tables, **where))
        pd.testing.assert_frame_equal(
            at_once.risk_summary, risk_transitions(tables, **where)["summary"]
        )
        pd.testing.assert_frame_equal(at_once.completeness, data_completeness(tables, **where))
        pd.testing.assert_frame_equal(at_once.year_on_year, year_on_year(tables, **where))


def test_the_frames_hold_the_plain_counts(tables: dict[str, pd.DataFrame]) -> None:
    cases, activities, policy = tables["cases"], tables["activities"], tables["policy"]
    survey = tables["spoke_survey"]
    frames = frames_by_service_year(tables)
    for (service_id, year), at_once in frames.items():
        rows = _of(cases, service_id, year)
        history = _of(cases, service_id)
        earlier = set(history.loc[history["year"].lt(year).to_numpy(dtype=bool), "young_person_id"])
        closed = rows["closure_date"].le(pd.Timestamp(year, 12, 31)).fillna(False)
        open_people = set(rows.loc[~closed.to_numpy(dtype=bool), "young_person_id"])
        people = set(rows["young_person_id"].dropna())
        reached = at_once.reach["young_people"]
        assert (reached.dtypes == "Int64").all()
        for row, group in (
            ("New to the service", people - earlier),
            ("Re-referred", people & earlier),
        ):
            assert reached.loc[row, "Open at year end"] == len(group & open_people), row
            assert reached.loc[row, "Closed"] == len(group - open_people), row
        assert reached.loc[TOTAL, TOTAL] == len(people)
        here = _of(activities, service_id, year)
        training = here.loc[here["activity_type"].eq("Training").to_numpy(dtype=bool)]
        assert at_once.reach["activities"].loc["Training", "sessions"] == len(training)
        assert at_once.reach["activities"].loc[TOTAL, "participants"] == int(
            here["participants"].fillna(0).sum()
        )
        sources = rows["referral_source"].value_counts()
        for source, n in sources.items():
            assert at_once.referral_sources.loc[str(source), "n"] == n
        assert at_once.risk_summary.loc["Reduced", "n"] == int(rows["risk_change"].lt(0).sum())
        completeness = at_once.completeness.set_index("item")
        for column in ("age", "gender", "concern_date", "risk_latest", "contacts"):
            assert completeness.loc[column, "complete"] == int(rows[column].notna().sum())
            assert completeness.loc[column, "records"] == len(rows)
        assert completeness.loc["closure_reason", "records"] == int(closed.sum())
        answered = _of(survey, service_id, year)
        for column in SURVEY_COLUMNS:
            assert completeness.loc[column, "complete"] == int(answered[column].notna().sum())
            assert completeness.loc[column, "records"] == len(answered)
        assert completeness.loc["spoke_id", "complete"] == int(here["spoke_id"].notna().sum())
        years = load.available_service_years(tables)[service_id]
        assert list(at_once.year_on_year.index) == [y for y in years if y <= year]
        _check_year_on_year(at_once.year_on_year, cases, activities, policy, service_id)


def _check_year_on_year(
    figures: pd.DataFrame,
    cases: pd.DataFrame,
    activities: pd.DataFrame,
    policy: pd.DataFrame,
    service_id: str,
) -> None:
    """Each year's row of a year-on-year table against the year's rows read plainly."""
    scores = []
    for then in figures.index:
        rows = _of(cases, service_id, then)
        closed = rows["closure_date"].le(pd.Timestamp(then, 12, 31)).fillna(False)
        here = _of(activities, service_id, then)
        training = here.loc[here["activity_type"].eq("Training").to_numpy(dtype=bool)]
        row = figures.loc[then]
        assert row["young_people"] == rows["young_person_id"].nunique()
        assert row["risk_assessed"] == int(rows["risk_change"].notna().sum())
        assert row["risk_reduced"] == int(rows["risk_change"].lt(0).sum())
        assert row["episodes_closed"] == int(closed.sum())
        assert row["planned_endings"] == int((closed & rows["planned_ending"]).sum())
        assert row["professionals_trained"] == int(training["participants"].fillna(0).sum())
        score = _of(policy, service_id, then)["status_score"].astype(float).mean()
        _same_number(row["mean_policy_score"], score)
        scores.append(score)
    changes = pd.Series(scores, dtype="Float64").diff()
    for (_, row), change in zip(figures.iterrows(), changes, strict=True):
        _same_number(row["policy_change"], change)
    assert figures["compared_with"].iloc[0] == "n/a"
    assert list(figures["compared_with"].iloc[1:]) == [str(y) for y in figures.index[:-1]]


def _same_number(shown: object, plain: object) -> None:
    """Both missing, or equal to rounding."""
    if pd.isna(plain):
        assert pd.isna(shown)
    else:
        assert shown == pytest.approx(float(plain))  # type: ignore[arg-type]


def test_a_service_year_without_cases_counts_no_one(tables: dict[str, pd.DataFrame]) -> None:
    without, service_id, year = _without_cases(tables)
    at_once = frames_by_service_year(without)[(service_id, year)]
    assert at_once.reach["young_people"].eq(0).all().all()
    assert all(frame["n"].eq(0).all() for frame in at_once.demographics.values())
    assert at_once.referral_sources["n"].eq(0).all()
    assert at_once.risk_summary["n"].eq(0).all()
    cases = at_once.completeness[at_once.completeness["table"].eq("cases")]
    assert cases["records"].eq(0).all() and cases["% complete"].isna().all()
    assert at_once.year_on_year.loc[year, "young_people"] == 0
    pd.testing.assert_frame_equal(
        at_once.year_on_year, year_on_year(without, service_id=service_id, year=year)
    )
    pd.testing.assert_frame_equal(
        at_once.completeness, data_completeness(without, service_id=service_id, year=year)
    )


def test_rows_without_a_year_count_nowhere(tables: dict[str, pd.DataFrame]) -> None:
    service_id, year = _pairs(tables)[-1]
    cases = tables["cases"]
    stray = _of(cases, service_id, year).head(3).assign(year=pd.NA).astype(cases.dtypes)
    with_stray = {**tables, "cases": pd.concat([cases, stray], ignore_index=True)}
    before = frames_by_service_year(tables)[(service_id, year)]
    after = frames_by_service_year(with_stray)[(service_id, year)]
    pd.testing.assert_frame_equal(after.year_on_year, before.year_on_year)
    pd.testing.assert_frame_equal(after.completeness, before.completeness)
    pd.testing.assert_frame_equal(after.reach["young_people"], before.reach["young_people"])


def test_service_tables_from_the_frames_are_the_tables_without(
    tables: dict[str, pd.DataFrame],
) -> None:
    frames = frames_by_service_year(tables)
    for service_id, year in _pairs(tables)[::4]:
        plain = service_tables(tables, service_id=service_id, year=year)
        fast = service_tables(
            tables, service_id=service_id, year=year, at_once=frames[(service_id, year)]
        )
        assert list(fast) == list(plain)
        for key, table in plain.items():
            pd.testing.assert_frame_equal(fast[key].frame, table.frame, obj=key)
            assert repr(fast[key].cells()) == repr(table.cells()), key  # NaN is NaN
