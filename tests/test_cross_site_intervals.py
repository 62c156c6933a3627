"""Intervals beside every cross-site number, and the analysis recovering the generator's truth."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from hubspoke.analysis.cross_site import groups as g

TOTAL = "Total"


def test_service_rows_get_wilson_and_the_total_row_the_clustered_interval() -> None:
    num = pd.Series([12.0, 5.0, 30.0, 42.0], index=["S01", "S02", "S03", TOTAL])
    den = pd.Series([27.0, 26.0, 40.0, 93.0], index=num.index)
    low, high = g.proportion_intervals(num, den, total_row=TOTAL)
    # Wilson by hand for 12 of 27: centre (p + z^2/2n) / (1 + z^2/n), half-width below.
    z, p, n = stats.norm.ppf(0.975), 12 / 27, 27
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    assert (low["S01"], high["S01"]) == pytest.approx(
        (100 * (centre - half), 100 * (centre + half))
    )
    _, total_low, total_high = g.ratio_interval([12, 5, 30], [27, 26, 40])
    assert (low[TOTAL], high[TOTAL]) == pytest.approx((100 * total_low, 100 * total_high))
    # The services differ (19% to 75%): the programme's interval is wider than if its 93 young
    # people were independent.
    naive_low, naive_high = g.wilson_interval(47, 93)
    assert high[TOTAL] - low[TOTAL] > 100 * (naive_high - naive_low)


def test_no_interval_for_nothing_counted_and_none_for_an_absent_total() -> None:
    num = pd.Series([0.0, 3.0], index=["S01", "S02"])
    den = pd.Series([0.0, 9.0], index=num.index)
    low, high = g.proportion_intervals(num, den, total_row=None)
    assert math.isnan(low["S01"]) and math.isnan(high["S01"])
    assert 0 < low["S02"] < 100 * 3 / 9 < high["S02"]


def test_rate_intervals_are_exact_poisson_per_service_and_clustered_for_the_programme() -> None:
    counts = pd.Series([10.0, 0.0, 40.0, 50.0], index=["S01", "S02", "S03", TOTAL])
    exposure = pd.Series([20_000.0, 10_000.0, 40_000.0, 70_000.0], index=counts.index)
    low, high = g.rate_intervals(counts, exposure, per=10_000, total_row=TOTAL)
    # Garwood: chi2(0.025, 2k)/2 and chi2(0.975, 2k+2)/2 events, per 10,000 of exposure.
    assert low["S01"] == pytest.approx(stats.chi2.ppf(0.025, 20) / 2 / 2)
    assert high["S01"] == pytest.approx(stats.chi2.ppf(0.975, 22) / 2 / 2)
    assert low["S02"] == 0 and high["S02"] == pytest.approx(-math.log(0.025))  # 3.689 events
    # The programme: the rates differ (5, 0, 10 per 10,000) more than Poisson allows, so its
    # interval is wider than the pooled count's own Poisson interval.
    pooled_low = stats.chi2.ppf(0.025, 100) / 2 / 7
    pooled_high = stats.chi2.ppf(0.975, 102) / 2 / 7
    assert low[TOTAL] <= pooled_low and high[TOTAL] >= pooled_high
    assert high[TOTAL] - low[TOTAL] > pooled_high - pooled_low
    rates = np.array([5.0, 0.0, 10.0])
    mean, variance, dof = g.weighted_mean_cr2(rates, [20_000, 10_000, 40_000])
    half = stats.t.ppf(0.975, dof) * math.sqrt(variance)
    assert high[TOTAL] == pytest.approx(max(mean + half, pooled_high))


def test_a_missing_exposure_leaves_the_programme_without_an_interval() -> None:
    counts = pd.Series([10.0, 4.0, 14.0], index=["S01", "S02", TOTAL])
    exposure = pd.Series([20_000.0, np.nan, np.nan], index=counts.index)
    low, high = g.rate_intervals(counts, exposure, per=10_000, total_row=TOTAL)
    assert math.isnan(low[TOTAL]) and math.isnan(high[TOTAL]) and math.isnan(low["S02"])


def test_the_default_data_rank_the_variants_as_the_generator_made_them(synthetic_processed):
    """Known truth: the generator shifts risk reduction by model variant (Integrated
    multi-agency team best, Rural dispersed and Hub outreach worst). The cross-site group
    table (risk reduced by model variant, all years) must rank the variants the same way,
    give or take one neighbouring swap."""
    from hubspoke import load
    from hubspoke.analysis.cross_site import cross_site_tables
    from hubspoke.synth.submissions import variant_effects

    tables = load.load_tables(synthetic_processed)
    by_variant = cross_site_tables(tables, year="all")["groups.model_variant"].frame["%"]
    effects = pd.Series(variant_effects(1.0)).reindex(by_variant.index)
    rho = stats.spearmanr(effects, by_variant).statistic
    assert rho >= 0.7, (rho, by_variant.round(1).to_dict(), effects.to_dict())
    assert by_variant.idxmax() == effects.idxmax()
