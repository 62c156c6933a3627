"""Funnel plots for every proportion and rate: exact Poisson limits, over-dispersion, the
outliers sentence, the indicator tables' identities and totals, and charts that draw only
what the release shows.

Limits and dispersion are checked against calculations written out here (the Poisson
distribution summed term by term, chi-square tails, winsorising by hand); the tables
against hand-built processed frames; the identities against the funder release of the
session's synthetic data.
"""

from __future__ import annotations

import math
import subprocess
import sys

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.stats.mstats import winsorize

from hubspoke import load
from hubspoke.analysis import outcomes
from hubspoke.analysis.cross_site import funnel as fn
from hubspoke.analysis.cross_site import indicator_tables as it
from hubspoke.analysis.service.tables import _evidence_ids
from hubspoke.errors import ParameterError
from hubspoke.present.plotting import cross_site as pc
from hubspoke.privacy.release import Release, gather
from hubspoke.privacy.table import TOTAL, CellId, Count, Derived, Figure, Table
from hubspoke.spec.processed import SCHEMAS
from simulated import funnel_table


def _poisson_cdf(k: int, mu: float) -> float:
    """P(X <= k) for X ~ Poisson(mu), summed term by term."""
    return sum(math.exp(-mu) * mu**j / math.factorial(j) for j in range(k + 1))


# --------------------------------------------------------------------------- Poisson limits
def test_exact_poisson_limits_match_the_interpolated_quantile_by_hand() -> None:
    # mu = 0.001 x 10,000 = 10 expected referrals. Upper 95%: the 0.975-quantile is 17
    # (F(16) = 0.97296 < 0.975 <= F(17) = 0.98572); alpha = (F(17) - .975) / (F(17) - F(16)).
    mu = 10.0
    f16, f17 = _poisson_cdf(16, mu), _poisson_cdf(17, mu)
    assert f16 < 0.975 <= f17
    upper = 17 - (f17 - 0.975) / (f17 - f16)
    assert upper == pytest.approx(16.160, abs=1e-3)
    # Lower 95%: the 0.025-quantile is 4 (F(3) = 0.01034 < 0.025 <= F(4) = 0.02925).
    f3, f4 = _poisson_cdf(3, mu), _poisson_cdf(4, mu)
    assert f3 < 0.025 <= f4
    lower = 4 - (f4 - 0.025) / (f4 - f3)
    limits = fn.rate_limits([10_000.0], rate0=0.001, per=10_000)
    assert limits.loc[0, "rate0"] == pytest.approx(10.0)
    assert limits.loc[0, "upper_95"] == pytest.approx(upper, abs=1e-9)  # per 10,000 = count here
    assert limits.loc[0, "lower_95"] == pytest.approx(lower, abs=1e-9)
    # The same limits from chi-square tails: F(k) = P(chi-square on 2(k + 1) df > 2 mu).
    chi = [stats.chi2.sf(2 * mu, 2 * (k + 1)) for k in range(30)]
    r = next(k for k in range(30) if chi[k] >= 0.999)
    by_chi2 = (r - (chi[r] - 0.999) / (chi[r] - chi[r - 1])) / 10_000 * 10_000
    assert limits.loc[0, "upper_99_8"] == pytest.approx(by_chi2, abs=1e-9)


def test_poisson_limits_scale_with_exposure_and_approach_the_normal_ones() -> None:
    small, large = fn.rate_limits([1_000.0, 4_000_000.0], rate0=0.001, per=10_000).itertuples()
    assert small.upper_95 - small.rate0 > large.upper_95 - large.rate0 > 0
    # Large exposure: exact ~ normal, rate0 +/- 1.96 sqrt(rate0 / E).
    half = 1.959964 * math.sqrt(0.001 / 4_000_000) * 10_000
    assert large.upper_95 == pytest.approx(10 + half, rel=2e-3)
    assert large.lower_95 == pytest.approx(10 - half, rel=2e-3)
    normal = fn.rate_limits([4_000_000.0], rate0=0.001, per=10_000, method="normal")
    assert normal.loc[0, "upper_95"] == pytest.approx(10 + half, rel=1e-6)
    # A limit never goes below 0.
    assert fn.rate_limits([100.0], rate0=0.001).loc[0, "lower_99_8"] == 0


def test_rate_limits_reject_a_rate_of_zero() -> None:
    with pytest.raises(ParameterError):
        fn.rate_limits([10.0], rate0=0.0)


# --------------------------------------------------------------------------- over-dispersion
#: Ten services of 100 each around p0 = 0.5 (standard error 0.05): z = -3, -2, -1, -1, 0, 0, 1, 1, 2, 4.
Z_SET = np.array([-3.0, -2, -1, -1, 0, 0, 1, 1, 2, 4])
N_SET = np.full(10, 100.0)
Y_SET = 100 * (0.5 + 0.05 * Z_SET)


def test_winsorising_sets_the_tails_to_their_neighbours() -> None:
    assert list(fn.winsorise(Z_SET)) == [-2, -2, -1, -1, 0, 0, 1, 1, 2, 2]
    assert list(fn.winsorise(Z_SET)) == sorted(winsorize(Z_SET, limits=(0.1, 0.1)).tolist())
    assert list(fn.winsorise(Z_SET[:9])) == sorted(Z_SET[:9])  # 10% of 9 rounds down to 0


def test_dispersion_on_a_hand_built_set() -> None:
    z = fn.z_scores(Y_SET, N_SET, target=0.5)
    assert z == pytest.approx(Z_SET)
    d = fn.overdispersion(Y_SET, N_SET, target=0.5)
    # Winsorised: -2 -2 -1 -1 0 0 1 1 2 2 -> phi = (4+4+1+1+0+0+1+1+4+4) / 10 = 2.
    assert d.phi == pytest.approx(2.0)
    assert d.statistic == pytest.approx(20.0) and d.df == 9
    assert d.p_value == pytest.approx(stats.chi2.sf(20.0, 9))  # 0.018
    assert d.overdispersed and d.adjusted
    # tau^2 = (I phi - (I - 1)) / (sum w - sum w^2 / sum w), w = n / (p0 (1 - p0)) = 400:
    # (20 - 9) / (4000 - 400) = 11 / 3600.
    assert d.tau2 == pytest.approx(11 / 3600)
    calm = fn.overdispersion(100 * (0.5 + 0.05 * Z_SET / 2), N_SET, target=0.5)
    assert calm.phi == pytest.approx(0.5) and not calm.overdispersed and calm.tau2 == 0
    few = fn.overdispersion(Y_SET[:4], N_SET[:4], target=0.5)
    assert not few.checked and not few.adjusted and "too few" in few.describe()


def test_rate_dispersion_uses_the_poisson_variance() -> None:
    exposure = np.array([1e4, 2e4, 4e4, 1e4, 3e4])
    events = np.array([8.0, 30.0, 35.0, 14.0, 30.0])
    rate = events.sum() / exposure.sum()
    z = (events / exposure - rate) / np.sqrt(rate / exposure)
    d = fn.overdispersion(events, exposure, target=rate, kind="rate")
    assert d.phi == pytest.approx(np.mean(z**2))  # 5 services: nothing winsorised
    w = exposure / rate
    assert d.tau2 == pytest.approx(max(0.0, (5 * d.phi - 4) / (w.sum() - (w**2).sum() / w.sum())))


def test_adjustment_widens_limits_by_spiegelhalters_formulas() -> None:
    additive = fn.overdispersion(Y_SET, N_SET, target=0.5)
    multiplicative = fn.overdispersion(Y_SET, N_SET, target=0.5, method="multiplicative")
    plain = fn.funnel_limits([100, 1000], p0=0.5, method="normal")
    wide = fn.funnel_limits([100, 1000], p0=0.5, method="normal", dispersion=additive)
    scaled = fn.funnel_limits([100, 1000], p0=0.5, method="normal", dispersion=multiplicative)
    for i, n in enumerate([100, 1000]):
        var = 0.25 / n
        assert wide.loc[i, "upper_95"] == pytest.approx(
            0.5 + 1.959964 * math.sqrt(var + 11 / 3600), abs=1e-6
        )
        assert scaled.loc[i, "upper_95"] == pytest.approx(
            0.5 + 1.959964 * math.sqrt(2 * var), abs=1e-6
        )
        assert wide.loc[i, "lower_99_8"] < plain.loc[i, "lower_99_8"]
    # Additive limits stop narrowing: at n = 1000 they are more than sqrt(phi) times wider.
    ratio = (wide.loc[1, "upper_95"] - 0.5) / (plain.loc[1, "upper_95"] - 0.5)
    assert ratio > math.sqrt(2)
    exact = fn.funnel_limits([100], p0=0.5)
    exact_wide = fn.funnel_limits([100], p0=0.5, dispersion=additive)
    factor = math.sqrt(1 + (11 / 3600) / 0.0025)
    assert exact_wide.loc[0, "upper_95"] - 0.5 == pytest.approx(
        factor * (exact.loc[0, "upper_95"] - 0.5)
    )
    calm = fn.overdispersion(100 * (0.5 + 0.05 * Z_SET / 2), N_SET, target=0.5)
    assert fn.funnel_limits([100], p0=0.5, dispersion=calm).equals(exact)
    none = fn.overdispersion(Y_SET, N_SET, target=0.5, method="none")
    assert none.overdispersed and not none.adjusted
    rates = fn.rate_limits([1e4], rate0=0.001, dispersion=additive)
    assert rates.loc[0, "upper_95"] > fn.rate_limits([1e4], rate0=0.001).loc[0, "upper_95"]


def test_compare_services_flags_against_widened_limits() -> None:
    points = pd.DataFrame({"service_id": [f"S{i:02d}" for i in range(1, 11)], "numerator": Y_SET,
                           "n": N_SET})  # fmt: skip
    plain = fn.compare_services(points, kind="proportion", target=0.5, overdispersion_method="none")
    wide = fn.compare_services(points, kind="proportion", target=0.5)
    assert plain.attrs["dispersion"].overdispersed
    # 70 of 100 (z = 4) is above 99.8% by chance alone; with services differing, only above 95%.
    assert plain.set_index("service_id").loc["S10", "flag"] == "above 99.8%"
    assert wide.set_index("service_id").loc["S10", "flag"] == "above 95%"
    assert plain.set_index("service_id").loc["S01", "flag"] == "below 95%"
    assert wide.set_index("service_id").loc["S01", "flag"] == "within"


# --------------------------------------------------------------------------- the sentence
def _flagged(flags: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame({"service_id": list(flags), "flag": list(flags.values())})


def test_outlier_sentence_names_the_right_services() -> None:
    points = _flagged({"S10": "above 99.8%", "S02": "above 99.8%", "S03": "below 99.8%",
                       "S04": "within", "S05": "below 95%", "S06": "above 95%"})  # fmt: skip
    assert fn.outlier_sentence(points) == (
        "S02 and S10 lie above the 99.8% limits; S03 lies below the 99.8% limits. "
        "Outside the 95% limits only: S05 (below) and S06 (above)."
    )
    quiet = _flagged({"S01": "within", "S02": "above 95%"})
    assert fn.outlier_sentence(quiet) == (
        "No service lies outside the 99.8% limits. Outside the 95% limits only: S02 (above)."
    )
    assert fn.outlier_sentence(_flagged({"S01": "within"}), left_out=2) == (
        "No service shown lies outside the 99.8% limits."
    )


# --------------------------------------------------------------------------- indicator tables
def _frame(table: str, rows: list[dict]) -> pd.DataFrame:
    """A processed-table frame with declared dtypes; columns not given are null."""
    empty = SCHEMAS[table].empty()
    data = pd.DataFrame(rows).reindex(columns=empty.columns)
    return data.astype({c: empty[c].dtype for c in empty.columns})


def _case(service: str, year: int, i: int, **values: object) -> dict:
    return {"service_id": service, "year": year, "young_person_id": f"{service}-{year}-{i}",
            "referral_date": pd.Timestamp(year, 3, 1), **values}  # fmt: skip


@pytest.fixture(scope="module")
def hand_tables() -> dict[str, pd.DataFrame]:
    """Two services, two years. Risk reduced: S01 2015 2 of 3, 2016 1 of 2; S02 2015 4 of 4.

    Child population: S01's two areas 10,000 + 30,000 (context 2018, the nearest year;
    2019 differs), S02's area 25,000. Referrals (case records): S01 4 in 2015 and 2 in
    2016, S02 4 in 2015 (no cases in 2016: a Spoke survey only).
    """
    cases = [
        _case("S01", 2015, 1, risk_reduced=True, referral_source="Education"),
        _case("S01", 2015, 2, risk_reduced=True, referral_source="Police"),
        _case("S01", 2015, 3, risk_reduced=False, referral_source="Health"),
        _case("S01", 2015, 4, referral_source="Police"),
        _case("S01", 2016, 1, risk_reduced=True),
        _case("S01", 2016, 2, risk_reduced=False),
        *(_case("S02", 2015, i, risk_reduced=True, referral_source="Police") for i in range(4)),
    ]
    survey = [
        {"service_id": "S02", "year": 2016, "spoke_id": f"K{i}", "supervision_frequency": f}
        for i, f in enumerate(["Monthly", "Weekly", "Less than monthly"])
    ]
    services = [
        {"service_id": "S01", "start_date": pd.Timestamp(2015, 1, 1), "la_codes": "E1;E2"},
        {"service_id": "S02", "start_date": pd.Timestamp(2015, 1, 1), "la_codes": "E3"},
    ]
    context = [
        {"la_code": code, "year": year, "population": pop + (year - 2018) * 1_000}
        for code, pop in (("E1", 10_000), ("E2", 30_000), ("E3", 25_000))
        for year in (2018, 2019)
    ]
    return {
        "services": _frame("services", services),
        "cases": _frame("cases", cases),
        "spoke_survey": _frame("spoke_survey", survey),
        "context": _frame("context", context),
    }


def test_indicator_tables_carry_the_service_reports_identities(hand_tables) -> None:
    fw = outcomes.load_framework()
    one = it.indicator_tables(hand_tables, year="2015", scope={"time_period": "2015"})
    proportions = [i.id for _, i in fw.indicators if i.kind == "proportion"]
    assert list(one) == [it.indicator_key(i) for i in proportions] + [it.RATE_KEY]
    for indicator in proportions:
        table = one[it.indicator_key(indicator)]
        for service in ("S01", "S02"):
            num, den, _ = _evidence_ids(fw, {"time_period": "2015", "service_id": service})[
                indicator
            ]
            assert table.cell_id(service, "numerator") == num
            assert table.cell_id(service, "denominator") == den
        if table.total_row is not None:
            num, den, _ = _evidence_ids(fw, {"time_period": "2015"})[indicator]
            assert table.cell_id(TOTAL, "numerator") == num
            assert table.cell_id(TOTAL, "denominator") == den
    risk = one[it.indicator_key("2.1")]
    assert risk.cell_id("S01", "numerator") == CellId.of(
        "young_people", risk_change="Reduced", service_id="S01", time_period="2015"
    )
    assert isinstance(risk.spec("value"), Derived)
    for _, indicator in fw.indicators:  # policy elements count no one: figures, never hidden
        if indicator.kind == "proportion" and indicator.table == "policy":
            policy = one[it.indicator_key(indicator.id)]
            assert isinstance(policy.spec("numerator"), Figure)
            assert isinstance(policy.spec("denominator"), Figure)
        elif indicator.kind == "proportion":
            assert isinstance(one[it.indicator_key(indicator.id)].spec("numerator"), Count)
    # Referrals from other agencies: single years only, no programme Total row.
    assert one[it.indicator_key("1.2")].total_row is None
    pooled = it.indicator_tables(hand_tables, year="all", scope={"time_period": "2015-2016"})
    assert it.indicator_key("1.2") not in pooled and it.indicator_key("2.1") in pooled
    rate = pooled[it.RATE_KEY]
    assert rate.cell_id("S01", "numerator") == CellId.of(
        "young_people", service_id="S01", time_period="2015-2016"
    )
    assert isinstance(rate.spec("numerator"), Count)
    assert isinstance(rate.spec("denominator"), Figure)


def test_indicator_tables_values_and_totals(hand_tables) -> None:
    scope = {"time_period": "2015"}
    risk = it.indicator_tables(hand_tables, year="2015", scope=scope)[it.indicator_key("2.1")]
    frame = risk.frame
    assert frame.loc["S01", ["numerator", "denominator"]].tolist() == [2, 3]
    assert frame.loc["S02", ["numerator", "denominator"]].tolist() == [4, 4]
    assert frame.loc[TOTAL, ["numerator", "denominator"]].tolist() == [6, 7]
    assert frame.loc["S01", "value"] == pytest.approx(200 / 3)
    assert frame.loc[TOTAL, "value"] == pytest.approx(600 / 7)
    # Pooled over years: the sum of the years' counts.
    pooled = it.indicator_tables(hand_tables, year="all", scope={"time_period": "2015-2016"})
    both = pooled[it.indicator_key("2.1")].frame
    assert both.loc["S01", ["numerator", "denominator"]].tolist() == [3, 5]
    assert both.loc[TOTAL, ["numerator", "denominator"]].tolist() == [7, 9]
    # A service with no one to count shows 0 of 0 and no value, as the service report does.
    supervised = pooled[it.indicator_key("5.1")].frame
    assert supervised.loc["S01", ["numerator", "denominator"]].tolist() == [0, 0]
    assert np.isnan(supervised.loc["S01", "value"])
    assert supervised.loc["S02", ["numerator", "denominator"]].tolist() == [2, 3]


def test_referral_rate_per_10000_children(hand_tables) -> None:
    one = it.indicator_tables(hand_tables, year="2015", scope={"time_period": "2015"})
    rate = one[it.RATE_KEY].frame
    # Nearest context year to 2015 is 2018: S01 10,000 + 30,000, S02 25,000.
    assert rate.loc["S01", ["numerator", "denominator"]].tolist() == [4, 40_000]
    assert rate.loc["S01", "value"] == pytest.approx(10_000 * 4 / 40_000)
    assert rate.loc[TOTAL, ["numerator", "denominator"]].tolist() == [8, 65_000]
    assert rate.loc[TOTAL, "value"] == pytest.approx(10_000 * 8 / 65_000)
    assert "nearest available year (2018)" in rate.attrs["note"]
    pooled = it.indicator_tables(hand_tables, year="all", scope={"time_period": "2015-2016"})
    both = pooled[it.RATE_KEY].frame
    # Each year a service took part adds its children: S01 2 x 40,000; S02 (survey in 2016) too.
    assert both.loc["S01", ["numerator", "denominator"]].tolist() == [6, 80_000]
    assert both.loc["S02", ["numerator", "denominator"]].tolist() == [4, 50_000]
    assert both.loc[TOTAL, "value"] == pytest.approx(10_000 * 10 / 130_000)
    assert "a year" in both.attrs["ylabel"]


# --------------------------------------------------------------------------- charts
_proportion_table = funnel_table


def _release(table: Table, hide: list[tuple[str, str]]) -> Release:
    cells, _ = gather([table])
    hidden = {table.cell_id(row, column) for row, column in hide}
    return Release(cells=cells, hidden=frozenset(hidden), primary=frozenset(hidden))


def test_chart_names_and_draws_only_shown_services() -> None:
    # S09 (3 of 40) would lie far below the limits, but its count is hidden, and so is the total.
    table = _proportion_table({"S01": (50, 100), "S02": (45, 100), "S03": (60, 120),
                               "S04": (25, 50), "S05": (90, 100), "S09": (3, 40)})  # fmt: skip
    release = _release(table, [("S09", "numerator"), (TOTAL, "numerator")])
    points = pc.funnel_points(table, release=release)
    assert list(points["service_id"]) == ["S01", "S02", "S03", "S04", "S05"]
    assert points.attrs["p0_source"] == "shown" and points.attrs["left_out"] == 1
    assert points.attrs["p0"] == pytest.approx(270 / 470)
    # The dispersion is that of the shown services only.
    by_hand = fn.overdispersion(points["numerator"], points["n"], target=270 / 470)
    assert points.attrs["dispersion"].phi == pytest.approx(by_hand.phi)
    # Chance-only limits: S05 (90 of 100) is far above, S02 (45 of 100) below the 95% limit;
    # S09 (3 of 40) would be far below, but is never named.
    plain = pc.funnel_outliers(table, release=release, overdispersion="none")
    assert plain == "S05 lies above the 99.8% limits. Outside the 95% limits only: S02 (below)."
    sentence = pc.funnel_outliers(table, release=release)
    assert "S09" not in sentence
    caption = pc.funnel_caption(table, release=release)
    alt = pc.funnel_alt(table, release=release)
    for text in (caption, alt):
        assert "S09" not in text and sentence in text and "1 service not shown" in text
    assert "exact binomial" in caption
    adjusted = points.attrs["dispersion"].adjusted
    assert ("widened for over-dispersion" in caption) == adjusted
    fig = pc.funnel_plot(table, release=release)
    ax = fig.axes[0]
    assert sorted(t.get_text() for t in ax.texts) == ["S01", "S02", "S03", "S04", "S05"]
    assert ax.get_title(loc="left") == "Services compared for their size"
    plt.close(fig)
    caption = pc.funnel_caption(table, release=release, overdispersion="none")
    assert "widened" not in caption and plain in caption


def test_rate_chart_uses_poisson_limits_and_the_programme_rate() -> None:
    frame = pd.DataFrame(
        {"numerator": [20.0, 40.0, 9.0], "denominator": [50_000.0, 100_000.0, 20_000.0]},
        index=pd.Index(["S01", "S02", "S03"], name="service_id"),
    )
    frame.loc[TOTAL] = frame.sum()
    frame["value"] = 10_000 * frame["numerator"] / frame["denominator"]
    frame.attrs.update(funnel_kind="rate", funnel_scale=10_000.0, measure="referrals per 10,000",
                       xlabel="Children (0-17) in the areas", title="Referral rate")  # fmt: skip
    table = Table(
        frame, family="test", rows="service_id", scope={"time_period": "2016"},
        columns={"numerator": Count("young_people"), "denominator": Figure("child_population"),
                 "value": Derived("rate", ("numerator", "denominator"), unit="per 10,000")},
        total_row=TOTAL,
    )  # fmt: skip
    release = _release(table, [])
    points = pc.funnel_points(table, release=release)
    assert points.attrs["p0_source"] == "programme"
    assert points.attrs["p0"] == pytest.approx(69 / 170_000)
    expected = fn.rate_limits([50_000.0], rate0=69 / 170_000, dispersion=points.attrs["dispersion"])
    assert points.loc[0, "upper_95"] == pytest.approx(expected.loc[0, "upper_95"])
    caption = pc.funnel_caption(table, release=release)
    assert "exact Poisson" in caption and "per 10,000" in pc.funnel_alt(table, release=release)
    fig = pc.funnel_plot(table, release=release)
    assert fig.axes[0].get_title(loc="left") == "Referral rate"
    plt.close(fig)


# --------------------------------------------------------------------------- the release
@pytest.mark.slow
def test_indicator_tables_agree_with_every_funder_table(synthetic_processed) -> None:
    """Every identity the funnels share with another funder table holds the same value
    (builds every funder table of the session's data: about a minute and a half)."""
    from hubspoke.analysis.cross_site.tables import time_period
    from hubspoke.analysis.release import funder_tables

    tables = load.load_tables(synthetic_processed)
    mine = [
        table
        for year in ("2014", "2015", "2016", "all")
        for table in it.indicator_tables(
            tables, year=year, scope={"time_period": time_period(tables, year)}
        ).values()
    ]
    others = list(funder_tables(tables))
    cells, _ = gather([*others, *mine])  # raises on a conflict
    shared = {c.id for t in mine for c in t.cells()} & {c.id for t in others for c in t.cells()}
    indicators = {cid.indicator for cid in shared}
    assert {"young_people", "risk_assessed", "planned_endings"} <= indicators
    assert any(cid.get("time_period") == "2014-2016" for cid in shared)


# --------------------------------------------------------------------------- without scipy.stats
@pytest.mark.parametrize("p", [0.01, 0.05, 0.2, 1 / 3, 0.5, 0.77, 0.95, 0.999])
def test_binomial_quantiles_and_cdf_match_scipy_stats(p: float) -> None:
    n = np.arange(1, 3001, dtype=float)
    # The limits' tail probabilities. (At a q the CDF meets exactly, as 0.5 for p = 0.5
    # and odd n, scipy's binom.ppf returns one more than its documented convention.)
    for q in (0.001, 0.025, 0.975, 0.999):
        r = fn.binomial_quantile(q, n, p)
        np.testing.assert_array_equal(r, stats.binom.ppf(q, n, p))
        for k in (r - 1, r, r + 1):
            np.testing.assert_allclose(
                fn.binomial_cdf(k, n, p), stats.binom.cdf(k, n, p), rtol=1e-12, atol=1e-14
            )


@pytest.mark.parametrize("q", [0.001, 0.025, 0.975, 0.999])
def test_poisson_quantiles_and_cdf_match_scipy_stats(q: float) -> None:
    mu = np.concatenate([np.linspace(0.01, 5, 300), np.linspace(5, 3000, 700)])
    r = fn.poisson_quantile(q, mu)
    np.testing.assert_array_equal(r, stats.poisson.ppf(q, mu))
    for k in (r - 1, r):
        np.testing.assert_array_equal(fn.poisson_cdf(k, mu), stats.poisson.cdf(k, mu))


def test_drawing_a_funnel_needs_no_scipy_stats() -> None:
    # scipy.stats takes about half a second to import: the cross-site notebook's funnel
    # limits and dispersion checks are computed without it.
    code = (
        "import sys\n"
        "import numpy as np\n"
        "from hubspoke.analysis.cross_site import funnel\n"
        "d = funnel.overdispersion([40, 55, 30, 25, 70], [100, 100, 60, 50, 90], target=0.45,"
        " kind='proportion')\n"
        "funnel.funnel_limits(np.arange(1, 200), p0=0.45, dispersion=d)\n"
        "funnel.rate_limits(np.linspace(1e3, 1e5, 50), rate0=0.002)\n"
        "funnel.funnel_limits(np.arange(1, 200), p0=0.45, method='normal')\n"
        "print('scipy.stats' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
