"""Groups of services compared with the service as the unit: hand calculations and plain notes."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from hubspoke.analysis.cross_site import groups as gr
from hubspoke.errors import ParameterError
from hubspoke.load import ALL_YEARS

#: Group A: 60 of 150 (p = 0.4); group B: 114 of 150 (p = 0.76). Four services each.
A = [(10, 40), (30, 60), (12, 20), (8, 30)]
B = [(30, 40), (45, 60), (14, 20), (25, 30)]
T3 = 3.182446305284263  # t quantile 0.975 on 3 df (published tables: 3.182)


def _summary(groups: dict[str, list[tuple[int, int]]]) -> pd.DataFrame:
    """One row per service: model_variant, risk_reduced, risk_assessed."""
    rows = [
        {"service_id": f"S{i + 1:02d}", "model_variant": g, "risk_reduced": y, "risk_assessed": n}
        for i, (g, y, n) in enumerate((g, y, n) for g, svcs in groups.items() for y, n in svcs)
    ]
    return pd.DataFrame(rows).assign(period="2016")


def _compare(summary: pd.DataFrame, **options: int) -> pd.DataFrame:
    return gr.compare_groups(
        summary,
        by="model_variant",
        numerator="risk_reduced",
        denominator="risk_assessed",
        **options,
    ).set_index("group")


# --------------------------------------------------------------------------- proportions
def test_t_quantile_used_in_the_hand_calculations() -> None:
    assert stats.t.ppf(0.975, 3) == pytest.approx(T3, abs=1e-12)


def test_ratio_interval_matches_the_hand_calculation() -> None:
    # p = 60 / 150 = 0.4; service proportions 0.25, 0.5, 0.6, 0.2667 (deviations -0.15, 0.1,
    # 0.2, -2/15); h = n / 150 = 4/15, 6/15, 2/15, 3/15.
    # CR2 variance sum(h^2 e^2 / (1 - h)) = 0.0021818 + 0.0026667 + 0.0008205 + 0.0008889
    # = 0.0065579 (above the binomial 0.4 * 0.6 / 150 = 0.0016).
    # df = 1 / (sum h^2 + (sum c)^2 - sum c^2), c = h^2 / (1 - h): h^2 = 0.071111, 0.16,
    # 0.017778, 0.04 (sum 0.288889); c = 0.096970, 0.266667, 0.020513, 0.05 (sum 0.434149,
    # sum of squares 0.083435); df = 1 / 0.393939 = 33/13 = 2.538.
    h = [4 / 15, 6 / 15, 2 / 15, 3 / 15]
    e = [-0.15, 0.1, 0.2, -2 / 15]
    variance = sum(hi**2 * ei**2 / (1 - hi) for hi, ei in zip(h, e, strict=True))
    assert variance == pytest.approx(0.0065579, abs=1e-7)
    c = [hi**2 / (1 - hi) for hi in h]
    dof = 1 / (sum(hi**2 for hi in h) + sum(c) ** 2 - sum(ci**2 for ci in c))
    assert dof == pytest.approx(33 / 13)
    m, v, d = gr.weighted_mean_cr2([0.25, 0.5, 0.6, 8 / 30], [40, 60, 20, 30])
    assert (m, v, d) == pytest.approx((0.4, variance, dof))
    p, low, high = gr.ratio_interval([10, 30, 12, 8], [40, 60, 20, 30])
    half = stats.t.ppf(0.975, 33 / 13) * math.sqrt(variance)
    assert p == pytest.approx(0.4) and (low, high) == pytest.approx((0.4 - half, 0.4 + half))
    assert (low, high) == pytest.approx((0.113636, 0.686364), abs=1e-6)


def test_bell_mccaffrey_dof_is_the_general_formula() -> None:
    # The general Bell-McCaffrey df tr(B)^2 / tr(B^2), B = M' A M S: M = I - n 1' / N
    # (residuals y - p n), A = diag(1 / ((1 - h) N^2)), S = diag(n) (binomial-like working
    # variance), for unequal sizes; and k - 1 with equal sizes.
    n = np.array([7.0, 30, 48, 85, 236, 12])
    total = n.sum()
    resid = np.eye(6) - np.outer(n, np.ones(6)) / total
    b = resid.T @ np.diag(1 / ((1 - n / total) * total**2)) @ resid @ np.diag(n)
    assert gr.weighted_mean_cr2(np.arange(6.0), n)[2] == pytest.approx(
        np.trace(b) ** 2 / np.trace(b @ b)
    )
    assert gr.weighted_mean_cr2(np.arange(6.0), np.full(6, 9.0))[2] == pytest.approx(5)


def test_ratio_interval_with_equal_sizes_is_the_textbook_t_interval() -> None:
    # 2, 4, 6, 8 of 10: p = 0.5, service proportions 0.2 ... 0.8, s^2 = 0.2 / 3, se = s / 2
    # = 0.129099; 0.5 +/- 3.182446 * 0.129099 = (0.089147, 0.910853).
    p, low, high = gr.ratio_interval([2, 4, 6, 8], [10, 10, 10, 10])
    assert p == 0.5 and (low, high) == pytest.approx((0.089147, 0.910853), abs=1e-6)


def test_ratio_interval_is_never_narrower_than_binomial() -> None:
    # Four services at exactly 10 of 20: no spread between services, so the binomial
    # variance 0.25 / 80 (se 0.0559017) is used on 3 df: 0.5 +/- 3.182446 * 0.0559017.
    p, low, high = gr.ratio_interval([10] * 4, [20] * 4)
    assert p == 0.5 and (low, high) == pytest.approx((0.322096, 0.677904), abs=1e-6)


def test_ratio_interval_edge_cases() -> None:
    assert all(math.isnan(v) for v in gr.ratio_interval([0, 0], [0, 0]))
    p, low, high = gr.ratio_interval([3, 0], [10, 0])  # one service with data
    assert p == pytest.approx(0.3) and math.isnan(low) and math.isnan(high)
    # wide spread: the interval is cut to [0, 1]
    _, low, high = gr.ratio_interval([0, 10, 0, 10], [10, 10, 10, 10])
    assert (low, high) == (0.0, 1.0)


def test_compare_groups_columns_pooled_counts_and_intervals() -> None:
    out = _compare(_summary({"A": A, "B": B}))
    assert list(out.reset_index().columns) == list(gr.GROUP_COLUMNS)
    a, b = out.loc["A"], out.loc["B"]
    assert (a["n_services"], a["n_with_data"], a["numerator"], a["denominator"]) == (4, 4, 60, 150)
    assert a["proportion"] == pytest.approx(0.4) and b["proportion"] == pytest.approx(0.76)
    assert (a["ci_low"], a["ci_high"]) == pytest.approx((0.113636, 0.686364), abs=1e-6)
    # B: deviations -0.01, -0.01, -0.06, 0.0733; CR2 variance 0.000379 is below the binomial
    # 0.76 * 0.24 / 150 = 0.001216, so the binomial se 0.034871 is used, on 33/13 df.
    se_b = math.sqrt(0.76 * 0.24 / 150)
    half = stats.t.ppf(0.975, 33 / 13) * se_b
    assert (b["ci_low"], b["ci_high"]) == pytest.approx((0.76 - half, 0.76 + half))
    assert out["comparable"].tolist() == [True, True]
    assert out["note"].tolist() == ["4 services", "4 services"]
    assert not out["suppressed"].any()


def test_random_effects_weights_and_the_proportion_test_by_hand() -> None:
    # Service proportions: A 0.25, 0.5, 0.6, 0.2667 (mean 0.404167); B 0.75, 0.75, 0.7,
    # 0.8333 (mean 0.758333). Spread within groups: (0.090208 + 0.009167) / (8 - 2)
    # = 0.0165625. Pooled p = 174 / 300 = 0.58, p(1 - p) = 0.2436; mean binomial variance
    # 0.2436 * mean(1 / n) = 0.2436 * 0.03125 = 0.0076125; tau^2 = 0.0165625 - 0.0076125
    # = 0.00895; weights 1 / (0.00895 + 0.2436 / n).
    share = np.array([y / n for y, n in A + B])
    n = np.array([n for _, n in A + B], dtype=float)
    a_dev = share[:4] - share[:4].mean()
    b_dev = share[4:] - share[4:].mean()
    spread = (np.sum(a_dev**2) + np.sum(b_dev**2)) / 6
    assert spread == pytest.approx(0.0165625, abs=1e-7)
    tau2 = spread - 0.2436 * np.mean(1 / n)
    assert tau2 == pytest.approx(0.00895, abs=1e-7)
    groups = ["A"] * 4 + ["B"] * 4
    weights, got_tau2 = gr.random_effects_weights([y for y, _ in A + B], n, groups)
    assert got_tau2 == pytest.approx(tau2)
    assert weights == pytest.approx(1 / (tau2 + 0.2436 / n))
    # The test: weighted least squares of the proportions on the group, F against the
    # intercept-only model (statsmodels), the same as weighted_anova_f with these weights.
    design = np.column_stack([np.ones(8), [0] * 4 + [1] * 4])
    full = sm.WLS(share, design, weights=weights).fit()
    null = sm.WLS(share, np.ones((8, 1)), weights=weights).fit()
    f_sm, p_sm, _ = full.compare_f_test(null)
    result = gr.proportion_anova_f([y for y, _ in A + B], n, groups)
    assert result["statistic"] == pytest.approx(f_sm) and result["p_value"] == pytest.approx(p_sm)
    assert (result["dof_between"], result["dof_within"]) == (1, 6)
    assert result["tau2"] == pytest.approx(tau2)


def test_random_effects_weights_without_spread_count_every_young_person() -> None:
    # Every service at exactly its group's proportion: tau^2 = 0, weights proportional to n.
    weights, tau2 = gr.random_effects_weights([5, 10, 3, 6], [10, 20, 10, 20], list("AABB"))
    assert tau2 == 0 and weights / weights[0] == pytest.approx([1, 2, 1, 2])


def test_compare_groups_test_clearly_different_and_identical() -> None:
    different = _compare(_summary({"A": A, "B": B}))
    test = different.attrs["test"]
    assert test["method"] == "weighted analysis of variance of service proportions"
    assert test["dof"] == (1, 6) and test["p_value"] < 0.01
    assert "differ more than chance" in different.attrs["note"]
    assert f"p = {test['p_value']:.3f}" in different.attrs["note"]
    same = _compare(_summary({"A": A, "B": A}))
    assert same.attrs["test"]["statistic"] == pytest.approx(0.0, abs=1e-12)
    assert same.attrs["test"]["p_value"] == pytest.approx(1.0)
    assert "could be due to chance" in same.attrs["note"]


def test_the_service_is_the_unit_not_the_young_person() -> None:
    # Services differ a lot within each group (A 20-70%, B 30-80%) and the groups by 10
    # points. Counting young people as independent, 1,000 per service make the difference
    # look certain; with the service as the unit it stays what four services per group
    # can show. By hand: service means 0.45 and 0.55; within-group sum of squares
    # 0.17 + 0.17 on 6 df; F (equal weights) = 4 (0.05^2 + 0.05^2) / (0.34 / 6) = 0.353.
    a = [(200, 1000), (600, 1000), (300, 1000), (700, 1000)]
    b = [(300, 1000), (700, 1000), (400, 1000), (800, 1000)]
    out = _compare(_summary({"A": a, "B": b}))
    naive = stats.chi2_contingency([[1800, 2200], [2200, 1800]], correction=False)[1]
    assert naive < 1e-15
    assert out.attrs["test"]["statistic"] == pytest.approx(0.353, abs=0.01)
    assert out.attrs["test"]["p_value"] > 0.5
    assert "could be due to chance" in out.attrs["note"]


def test_too_few_services_are_not_compared() -> None:
    three = {"A": A[:3], "B": B[:3]}
    out = _compare(_summary(three))
    assert out["note"].tolist() == ["3 services: too few to compare"] * 2
    assert not out["comparable"].any()
    assert out.attrs["test"]["method"] == "none" and math.isnan(out.attrs["test"]["p_value"])
    assert "not compared" in out.attrs["note"] and "4 or more services" in out.attrs["note"]
    # the interval is still there, on 2 df: wider than with four services
    assert out.loc["A", "ci_high"] - out.loc["A", "ci_low"] > 0.5
    # with the minimum lowered to 3 the groups are compared
    assert _compare(_summary(three), min_services=3).attrs["test"]["method"] != "none"


def test_a_group_left_out_is_named_and_the_others_compared() -> None:
    out = _compare(_summary({"A": A, "B": B, "C": [(5, 9), (7, 11), (2, 8)]}))
    assert out.loc["C", "note"] == "3 services: too few to compare"
    assert out.attrs["test"]["dof"] == (1, 6)  # A and B only
    assert "Not compared (too few services with data): C (3 services)." in out.attrs["note"]


def test_group_with_zero_denominator() -> None:
    out = _compare(_summary({"A": A, "B": B, "C": [(0, 0)] * 4, "D": [(0, 0), *A[:3]]}))
    c, d = out.loc["C"], out.loc["D"]
    assert c["denominator"] == 0 and math.isnan(c["proportion"]) and math.isnan(c["ci_low"])
    assert c["note"] == "4 services, none with anyone counted: nothing to compare"
    assert d["note"] == "4 services, 1 without anyone counted: too few to compare"
    assert d["n_with_data"] == 3 and not d["comparable"] and not c["comparable"]
    assert not c["suppressed"]  # zeros disclose nobody
    assert out.attrs["test"]["dof"] == (1, 6)


def test_nothing_to_test_when_everyone_has_the_same_result() -> None:
    out = _compare(_summary({"A": [(0, 10)] * 4, "B": [(0, 20)] * 4}))
    assert out.attrs["test"]["method"] == "none"
    assert "same result" in out.attrs["note"]


def test_suppressed_flags_small_counts() -> None:
    out = _compare(_summary({"A": [(1, 3)] * 4, "B": B}))
    assert out["suppressed"].tolist() == [True, False]


def test_pooled_rows_of_an_all_years_summary_are_used() -> None:
    one_year = _summary({"A": A, "B": B})
    pooled = one_year.assign(period=ALL_YEARS)
    noise = one_year.assign(period="2015", risk_reduced=0)
    out = _compare(pd.concat([noise, pooled], ignore_index=True))
    assert out.loc["A", "numerator"] == 60 and out.loc["A", "n_services"] == 4


def test_invalid_options_raise_parameter_errors() -> None:
    summary = _summary({"A": A})
    with pytest.raises(ParameterError, match="by"):
        gr.compare_groups(
            summary, by="region", numerator="risk_reduced", denominator="risk_assessed"
        )
    with pytest.raises(ParameterError, match="risk_rated"):
        gr.compare_groups(
            summary, by="model_variant", numerator="risk_reduced", denominator="risk_rated"
        )
    with pytest.raises(ParameterError, match="min_services"):
        _compare(summary, min_services=1)
    with pytest.raises(ParameterError, match="by"):
        gr.compare_group_means(summary, by="region", value="risk_reduced")


def test_p_text() -> None:
    assert gr.p_text(0.0004) == "p < 0.001"
    assert gr.p_text(0.0449) == "p = 0.045"
    assert gr.p_text(0.2) == "p = 0.200"


# --------------------------------------------------------------------------- means
def _means(values: dict[str, list[float]], weights: dict[str, list[float]] | None = None):
    rows = [
        {"service_id": f"S{i:02d}", "phase": g, "value": x,
         "weight": (weights or {}).get(g, [1.0] * len(xs))[j]}
        for i, (g, j, x, xs) in enumerate(
            (g, j, x, xs) for g, xs in values.items() for j, x in enumerate(xs)
        )
    ]  # fmt: skip
    return pd.DataFrame(rows)


def test_mean_interval_matches_the_hand_calculation() -> None:
    # 1, 2, 3, 6: mean 3, s^2 = (4 + 1 + 0 + 9) / 3 = 14/3, se = sqrt(14/3 / 4) = 1.080123.
    m, low, high = gr.mean_interval([1, 2, 3, 6])
    se = math.sqrt(14 / 3 / 4)
    assert m == 3 and (low, high) == pytest.approx((3 - T3 * se, 3 + T3 * se))
    # weights 1, 1, 2, 4: m = (1 + 2 + 6 + 24) / 8 = 4.125; h = 1/8, 1/8, 1/4, 1/2;
    # residuals -3.125, -2.125, -1.125, 1.875; CR2 variance sum(h^2 e^2 / (1 - h))
    # = 0.174386 + 0.080636 + 0.105469 + 1.757813 = 2.118304;
    # c = h^2 / (1 - h) = 1/56, 1/56, 1/12, 1/2; df = 1 / (sum h^2 + (sum c)^2 - sum c^2)
    # = 1 / (0.34375 + 0.383220 - 0.257583) = 49/23 = 2.130.
    m, low, high = gr.mean_interval([1, 2, 3, 6], [1, 1, 2, 4])
    half = stats.t.ppf(0.975, 49 / 23) * math.sqrt(2.1183036)
    assert m == pytest.approx(4.125)
    assert (low, high) == pytest.approx((m - half, m + half), rel=1e-6)
    # equal weights give the unweighted interval
    assert gr.mean_interval([1, 2, 3, 6], [5, 5, 5, 5]) == pytest.approx(
        gr.mean_interval([1, 2, 3, 6])
    )
    assert math.isnan(gr.mean_interval([4.0, math.nan])[1])


def test_anova_matches_scipy_and_weighted_least_squares() -> None:
    a, b, c = [1.0, 2.0, 3.0, 6.0], [5.0, 6.0, 7.0, 8.0], [2.0, 4.0, 4.0, 5.0]
    plain = gr.weighted_anova_f(a + b + c, ["a"] * 4 + ["b"] * 4 + ["c"] * 4)
    f, p = stats.f_oneway(a, b, c)
    assert plain["statistic"] == pytest.approx(f) and plain["p_value"] == pytest.approx(p)
    assert (plain["dof_between"], plain["dof_within"]) == (2, 9)
    # Weighted, two groups, by hand: a weights 1, 1, 2, 4 (mean 4.125, W 8), b weights 1
    # (mean 6.5, W 4); overall (33 + 26) / 12 = 4.916667.
    # between = 8 (4.125 - 4.916667)^2 + 4 (6.5 - 4.916667)^2 = 5.013889 + 10.027778 = 15.041667;
    # within = sum w (x - m_g)^2 = (9.765625 + 4.515625 + 2.53125 + 14.0625) for a
    # + (2.25 + 0.25 + 0.25 + 2.25) for b = 30.875 + 5 = 35.875;
    # F = 15.041667 / (35.875 / 6) = 2.515679.
    w = [1, 1, 2, 4, 1, 1, 1, 1]
    weighted = gr.weighted_anova_f(a + b, ["a"] * 4 + ["b"] * 4, w)
    assert weighted["statistic"] == pytest.approx(15.041667 / (35.875 / 6), rel=1e-6)
    groups = np.array([0] * 4 + [1] * 4)
    full = sm.WLS(a + b, np.column_stack([np.ones(8), groups]), weights=w).fit()
    null = sm.WLS(a + b, np.ones((8, 1)), weights=w).fit()
    f_sm, p_sm, _ = full.compare_f_test(null)
    assert weighted["statistic"] == pytest.approx(f_sm) and weighted["p_value"] == pytest.approx(
        p_sm
    )


def test_compare_group_means_rows_test_and_notes() -> None:
    values = {"1": [1.0, 2.0, 3.0, 6.0], "2": [5.0, 6.0, 7.0, 8.0], "3": [2.0, 4.0, math.nan]}
    out = gr.compare_group_means(_means(values), by="phase", value="value").set_index("group")
    assert list(out.reset_index().columns) == list(gr.GROUP_MEAN_COLUMNS)
    assert out.loc["1", "mean"] == 3 and out.loc["2", "mean"] == 6.5
    assert out.loc["3", "note"] == "3 services, 1 without a value: too few to compare"
    assert out.loc["3", "mean"] == 3 and out.loc["3", "n_with_data"] == 2
    f, p = stats.f_oneway(values["1"], values["2"])
    test = out.attrs["test"]
    assert test["statistic"] == pytest.approx(f) and test["p_value"] == pytest.approx(p)
    assert test["dof"] == (1, 6) and "analysis of variance" in test["method"]
    assert "3 (2 services)" in out.attrs["note"]
    weighted = gr.compare_group_means(
        _means(values, {"1": [1, 1, 2, 4]}), by="phase", value="value", weight="weight"
    ).set_index("group")
    assert weighted.loc["1", "mean"] == pytest.approx(4.125)
    assert "weighted" in weighted.attrs["test"]["method"]


def test_compare_group_means_identical_and_different_groups() -> None:
    same = gr.compare_group_means(
        _means({"1": [1.0, 2.0, 3.0, 6.0], "2": [1.0, 2.0, 3.0, 6.0]}), by="phase", value="value"
    )
    assert same.attrs["test"]["p_value"] == pytest.approx(1.0)
    apart = gr.compare_group_means(
        _means({"1": [1.0, 1.2, 0.9, 1.1], "2": [5.0, 5.1, 4.8, 5.2]}), by="phase", value="value"
    )
    assert apart.attrs["test"]["p_value"] < 0.001 and "p < 0.001" in apart.attrs["note"]
    few = gr.compare_group_means(_means({"1": [1.0, 2.0, 3.0]}), by="phase", value="value")
    assert few.attrs["test"]["method"] == "none"
    assert few["note"].tolist() == ["3 services: too few to compare"]


# --------------------------------------------------------------------------- generator keyword
def test_variant_effect_keyword_scales_or_sets_the_difference_between_variants() -> None:
    from hubspoke.synth.reference import make_reference
    from hubspoke.synth.submissions import make_truth, variant_effects

    designed = variant_effects()
    assert designed["Rural dispersed"] == -0.08 and designed["Integrated multi-agency team"] == 0.08
    assert set(variant_effects(0).values()) == {0.0}
    assert variant_effects(3)["Rural dispersed"] == pytest.approx(-0.24)
    assert variant_effects({"Multi-host": 0.1})["Multi-host"] == 0.1
    assert variant_effects({"Multi-host": 0.1})["Hub outreach"] == 0.0
    with pytest.raises(ParameterError, match="variant_effect"):
        variant_effects({"Moon base": 0.1})
    services, _ = make_reference(16, seed=5)

    def truth(effect: float) -> pd.Series:
        rng = np.random.default_rng(9)
        return make_truth(services, rng, variant_effect=effect)["p_risk_reduced"]

    # Same draws, shifted by each service's variant effect (rounded to 3 dp, never clipped
    # here: base chances are 0.25-0.75 and the shifts at most 0.08).
    shift = services["model_variant"].map(designed).to_numpy()
    assert (truth(1.0) - truth(0.0)).to_numpy() == pytest.approx(shift, abs=1.5e-3)
    assert truth(1.0).equals(make_truth(services, np.random.default_rng(9))["p_risk_reduced"])
