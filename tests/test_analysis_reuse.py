"""Results computed once and passed on give the same tables as computing them afresh.

The release builds every funder table; callers pass what they computed already (every
service-year's indicators, checked quotes, outcome levels) instead of computing it again.
These tests hold the shared and the fresh paths to the same results, and check the
faster implementations (host settings, ratings) on edge cases. All data here are
synthetic (the conftest fixtures, or small frames built here).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hubspoke import load
from hubspoke.analysis import outcomes, programme
from hubspoke.analysis.cross_site.summary import host_labels
from hubspoke.analysis.cross_site.tables import cross_site_tables
from hubspoke.analysis.realist.cmo import checked_quotes, cmo_quotes
from hubspoke.analysis.realist.evidence import service_context_table
from hubspoke.analysis.realist.tables import realist_tables

TABLE_NAMES = (*load.PROCESSED_TABLES, "reconciliation", "quarantine")


@pytest.fixture(scope="module")
def tables(synthetic_processed: Path) -> dict[str, pd.DataFrame]:
    return load.load_tables(synthetic_processed, names=TABLE_NAMES)


@pytest.fixture(scope="module")
def every(tables) -> pd.DataFrame:
    return outcomes.indicators(tables)


def _years(tables) -> list[int]:
    return sorted({y for ys in load.available_service_years(tables).values() for y in ys})


def test_a_years_indicators_are_its_rows_of_every_service_year(tables, every):
    for year in _years(tables):
        fresh = outcomes.indicators(tables, year=year)
        shared = outcomes.indicators(tables, year=year, service_years=every)
        pd.testing.assert_frame_equal(shared, fresh, check_exact=True)
        assert set(shared["year"]) == {year}


def test_indicators_pooled_per_service_reuse_every_service_year(tables, every):
    fresh = outcomes.indicators(tables, by=("service_id",))
    shared = outcomes.indicators(tables, by=("service_id",), service_years=every)
    pd.testing.assert_frame_equal(shared, fresh, check_exact=True)
    assert shared["progress_status"].notna().all()


def test_cross_site_and_realist_tables_are_the_same_with_shared_indicators(tables, every):
    for choice in [str(_years(tables)[-1]), "all"]:
        fresh = cross_site_tables(tables, year=choice)
        shared = cross_site_tables(tables, year=choice, service_years=every)
        assert list(shared) == list(fresh)
        for key, table in fresh.items():
            pd.testing.assert_frame_equal(shared[key].frame, table.frame, check_exact=True)
    fresh = realist_tables(tables, year="all")
    shared = realist_tables(tables, year="all", service_years=every)
    assert list(shared) == list(fresh)
    for key in ("joint", "joint_values"):
        pd.testing.assert_frame_equal(shared[key].frame, fresh[key].frame, check_exact=True)


def test_programme_findings_take_the_outcome_levels_given(tables):
    period = programme.periods(tables)[-1]
    levels = programme.outcome_levels(tables)
    assert programme.workforce_findings(tables, period=period, levels=levels) == (
        programme.workforce_findings(tables, period=period)
    )
    # the levels given are the ones stated
    changed = levels.assign(**{period: "Level X"})
    found = programme.policy_findings(tables, period=period, levels=changed)
    assert found[f"Outcome {programme.POLICY_OUTCOME}"][0].endswith("Level X.")


def test_ratings_of_no_indicators_are_an_empty_table(every):
    rated = outcomes.ratings(every.iloc[:0])
    assert rated.empty
    assert list(rated.columns)[-len(outcomes.RATING_COLUMNS) :] == list(outcomes.RATING_COLUMNS)


def test_ratings_keep_each_groups_rows_apart(every):
    one = every[every["service_id"].eq(every["service_id"].iloc[0])]
    year = one["year"].iloc[0]
    alone = outcomes.ratings(one[one["year"].eq(year)]).reset_index(drop=True)
    together = outcomes.ratings(one)
    picked = together[together["year"].eq(year)].reset_index(drop=True)
    pd.testing.assert_frame_equal(picked, alone, check_exact=True)


def test_host_labels_main_setting_ties_and_missing_settings():
    spokes = pd.DataFrame(
        {
            "service_id": ["S02", "S01", "S01", "S01", "S02", "S03", "S04"],
            "host_setting": ["Police", "Health", "Police", "Health", "Health", None, "Police"],
        }
    )
    out = host_labels(spokes).set_index("service_id")
    assert list(out.index) == ["S01", "S02", "S03", "S04"]
    assert out.loc["S01", "host_setting"] == "Health"  # 2 of 3
    assert out.loc["S02", "host_setting"] == "Mixed"  # a tie
    assert out.loc["S02", "host_settings"] == "Health; Police"
    assert out.loc["S03", "host_setting"] == "Mixed"  # no setting known
    assert out.loc["S03", "host_settings"] == ""
    assert out.loc["S04", "host_settings"] == "Police"


def test_cmo_quotes_use_the_checked_excerpts_given(tables):
    codings = load.table(tables, "codings")
    contexts = service_context_table(load.table(tables, "services"), load.table(tables, "spokes"))
    checked = checked_quotes(codings["excerpt"])
    fresh = cmo_quotes(codings, contexts)
    shared = cmo_quotes(codings, contexts, checked=checked)
    pd.testing.assert_frame_equal(shared, fresh, check_exact=True)
    # an excerpt checked as risky ("") is not quoted
    dropped = dict.fromkeys(checked, "")
    assert cmo_quotes(codings, contexts, checked=dropped).empty


def test_resampled_medians_equal_the_median_of_the_clusters_put_together():
    """The cluster bootstrap's medians, read off sorted values, are np.median's exactly
    (ties, odd and even totals, clusters drawn several times or not at all)."""
    from hubspoke.analysis.outcomes.intervals import _resampled_medians

    rng = np.random.default_rng(7)
    for _ in range(100):
        k = int(rng.integers(2, 9))
        arrays = [rng.integers(0, 6, size=int(rng.integers(1, 12))).astype(float) for _ in range(k)]
        picks = rng.integers(0, k, size=(50, k))
        expected = [np.median(np.concatenate([arrays[i] for i in row])) for row in picks]
        assert np.array_equal(_resampled_medians(arrays, picks), np.array(expected))
