"""Cross-site models: small-sample GEE, the mixed model and its ICC, readings, number formats,
diagnostics; each checked against a hand or published calculation."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import integrate, optimize, special, stats

from hubspoke.analysis import common
from hubspoke.analysis.cross_site import models as m
from hubspoke.errors import ParameterError
from simulated import VARIANTS, case_tables

# --------------------------------------------------------------------------- simulated tables
_tables = case_tables  # services all start in 2014; see tests/simulated.py


def _referral_tables(
    *, overdispersed: bool, n_services: int = 12, seed: int = 7
) -> dict[str, pd.DataFrame]:
    """Services over 2014-2016; Hub outreach refers 3 times as many per Spoke worker."""
    rng = np.random.default_rng(seed)
    tables = _tables(n_people=10, n_services=n_services)
    services = tables["services"]
    rate = services["model_variant"].map({VARIANTS[0]: 10.0, VARIANTS[1]: 10.0, VARIANTS[2]: 30.0})
    rows = []
    for sid, lam, spokes in zip(services["service_id"], rate, services["n_spokes"], strict=True):
        for year in (2014, 2015, 2016):
            mean = lam * spokes * (rng.gamma(2.0, 0.5) if overdispersed else 1.0)
            rows += [
                {"service_id": sid, "year": year, "young_person_id": f"{sid}{year}{i:08d}"}
                for i in range(rng.poisson(mean))
            ]
    tables["cases"] = pd.DataFrame(rows)
    return tables


def _one_sentence(text: str) -> bool:
    return text.endswith(".") and not re.search(r"[.!?]\s+[A-Z]", text)


# --------------------------------------------------------------------------- numbers in words
@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.7635, "1.76"),
        (1.004, "1.00"),
        (3.0797, "3.08"),
        (0.000242, "0.00024"),  # 2 dp would print 0.00: two significant figures instead
        (0.0, "0.00"),
        (1234.5, "1,234.50"),
        (math.nan, "not estimable"),
        (math.inf, "not estimable"),
    ],
)
def test_format_ratio(value: float, text: str) -> None:
    assert common.format_ratio(value) == text


def test_format_interval() -> None:
    assert common.format_interval(1.004, 3.0797) == "1.00 to 3.08"


@pytest.mark.parametrize(
    ("p", "text"),
    [
        (0.048, "0.048"),
        (0.0894, "0.089"),  # the Wilcoxon p printed as "0.1"
        (0.001, "0.001"),
        (0.00099, "<0.001"),
        (0.0005, "<0.001"),  # rounds to 0.001 but is below it
        (0.0, "<0.001"),
        (1.0, "1.000"),
        (math.nan, "not tested"),
    ],
)
def test_format_p(p: float, text: str) -> None:
    assert common.format_p(p) == text


@pytest.mark.parametrize("p", [1.2, -0.1])
def test_format_p_rejects_values_outside_0_1(p: float) -> None:
    with pytest.raises(ParameterError, match="between 0 and 1"):
        common.format_p(p)


# --------------------------------------------------------------------------- ICC
def test_latent_icc_formula() -> None:
    # By hand: pi^2 / 3 = 3.289868; 1 / (1 + 3.289868) = 0.233107.
    assert m.latent_icc(1.0) == pytest.approx(0.233107, abs=1e-6)
    assert m.latent_icc(math.pi**2 / 3) == pytest.approx(0.5)  # equal variances: half
    assert m.latent_icc(0.0) == 0.0
    assert m.latent_icc(math.inf) == 1.0
    assert math.isnan(m.latent_icc(-1.0))


# --------------------------------------------------------------------------- GEE, small-sample
def test_gee_uses_bias_reduced_errors_and_t_on_services_minus_terms() -> None:
    result = m.risk_reduction_model(_tables(sd_service=0.8, seed=3))
    assert result.ok, result.note
    table, details = result.table.set_index("term"), result.details
    k, p = 12, len(table)
    assert details["df"] == k - p and table["df"].eq(k - p).all()
    bias_reduced = pd.Series(details["se_bias_reduced"])
    robust = pd.Series(details["se_robust"])
    assert (bias_reduced >= robust).all() and (bias_reduced > robust).any()
    # By hand: log CI = log estimate -/+ t(0.975, K - p) * SE; p = 2 * P(T > |b / SE|).
    crit = stats.t.ppf(0.975, k - p)
    b = np.log(table["estimate"])
    assert np.allclose(np.log(table["ci_low"]), b - crit * bias_reduced[table.index])
    assert np.allclose(np.log(table["ci_high"]), b + crit * bias_reduced[table.index])
    assert np.allclose(
        table["p_value"], 2 * stats.t.sf(np.abs(b / bias_reduced[table.index]), k - p)
    )
    assert f"t distribution on {k - p} degrees of freedom" in result.note


def test_statsmodels_bias_reduced_is_mancl_derouen_by_hand() -> None:
    """The covariance the GEE models use is Mancl and DeRouen's (2001) formula, here for a
    logistic model with independence working correlation: A^-1 [sum X_i' (I - H_ii)^-1 r_i
    r_i' (I - H_ii)^-T X_i] A^-1, A = sum X_i' W_i X_i, H_ii = W_i X_i A^-1 X_i'."""
    rng = np.random.default_rng(5)
    groups = np.repeat(np.arange(8), 6)
    x = np.column_stack([np.ones(48), rng.normal(size=48)])
    y = (rng.random(48) < special.expit(0.3 + 0.8 * x[:, 1] + rng.normal(0, 0.7, 8)[groups])) * 1.0
    fit = sm.GEE(y, x, groups=groups, family=sm.families.Binomial(),
                 cov_struct=sm.cov_struct.Independence()).fit(cov_type="bias_reduced")  # fmt: skip
    mu = special.expit(x @ fit.params)
    w = mu * (1 - mu)
    a_inv = np.linalg.inv((x * w[:, None]).T @ x)
    meat = np.zeros((2, 2))
    for g in range(8):
        i = groups == g
        h = (w[i, None] * x[i]) @ a_inv @ x[i].T
        adjusted = np.linalg.solve(np.eye(i.sum()) - h, y[i] - mu[i])
        score = x[i].T @ adjusted
        meat += np.outer(score, score)
    assert np.allclose(fit.bse, np.sqrt(np.diag(a_inv @ meat @ a_inv)), rtol=1e-6)


def test_gee_leaves_out_variant_when_services_are_too_few_for_its_terms() -> None:
    # 8 services, 3 variants: 8 coefficients (intercept, age, gender, looked after, 2 risk levels,
    # 2 variants) would leave 8 - 8 = 0 degrees of freedom; without variant, 8 - 6 = 2.
    result = m.risk_reduction_model(_tables(n_services=8, n_people=400))
    assert result.ok, result.note
    assert not result.table["term"].str.startswith("Model variant").any()
    assert result.details["df"] == 2
    assert "Model variant was left out: 8 services are too few to estimate its terms" in result.note
    mixed = m.risk_reduction_mixed_model(_tables(n_services=8, n_people=400))
    assert mixed.table["term"].str.startswith("Model variant").any()  # 8 - 3 service-level terms


def test_gee_with_more_terms_than_services_says_so() -> None:
    # 6 services: even without variant, 6 coefficients leave no degrees of freedom.
    result = m.risk_reduction_model(_tables(n_services=6, n_people=300))
    assert not result.ok and result.table.empty
    assert result.note == (
        "Too few services (6) for the 6 terms of the model: the intervals need at least 1 more "
        "service than there are terms."
    )
    assert result.reading == result.note


def test_gee_with_too_few_services_to_group() -> None:
    result = m.risk_reduction_model(_tables(n_services=4, n_people=200))
    assert not result.ok and result.note.startswith("Too few services with young people to model")


def test_caution_with_fewer_than_ten_services_only() -> None:
    few = m.risk_reduction_model(_tables(n_services=9, n_people=450), include_variant=False)
    many = m.risk_reduction_model(_tables(n_services=12), include_variant=False)
    assert few.ok and many.ok
    assert "With only 9 services" in few.note and few.reading.endswith(
        "; with only 9 services, read this with caution."
    )
    assert "With only" not in many.note and "with only" not in many.reading


# --------------------------------------------------------------------------- readings
def _words() -> m._Terms:
    frame = pd.DataFrame({"age_centred": [0.0, 1.0], "looked_after": ["No", "Yes"]})
    return m._design(frame, ["age_centred"], {"looked_after": "No"})[1]


def _table(
    age: tuple[float, float, float], looked_after: tuple[float, float, float]
) -> pd.DataFrame:
    return pd.DataFrame(
        [(0.7, 0.5, 0.9), age, looked_after], columns=["estimate", "ci_low", "ci_high"]
    )


KEYS = ["Intercept", "age_centred", "looked_after[Yes]"]


def test_reading_names_terms_whose_interval_excludes_1_with_direction() -> None:
    reading = m._reading(
        _table((1.1, 0.9, 1.3), (0.2, 0.1, 0.4)), KEYS, _words(), m._RISK_WORDS, k=12
    )
    assert reading == (
        "Risk was less likely to be reduced for looked-after young people (odds ratio 0.20 "
        "against No; 95% CI 0.10 to 0.40); the intervals of the other terms included 1."
    )
    both = m._reading(_table((1.1, 1.05, 1.3), (0.2, 0.1, 0.4)), KEYS, _words(), m._RISK_WORDS, k=8)
    assert both == (
        "Risk was more likely to be reduced for each year older (odds ratio 1.10 per year; 95% CI "
        "1.05 to 1.30) and less likely to be reduced for looked-after young people (odds ratio 0.20 "
        "against No; 95% CI 0.10 to 0.40); with only 8 services, read this with caution."
    )


def test_reading_when_no_interval_excludes_1() -> None:
    reading = m._reading(
        _table((1.1, 0.9, 1.3), (0.6, 0.3, 1.2)), KEYS, _words(), m._RISK_WORDS, k=12
    )
    assert reading == (
        "No term's 95% confidence interval excluded 1, so the model shows no clear difference in "
        "the chance of risk being reduced by age or looked-after status."
    )


def test_reading_of_a_fitted_model_is_written_from_its_numbers() -> None:
    result = m.risk_reduction_model(_tables(), include_variant=False)
    row = result.table.set_index("term").loc["Looked after: Yes (vs No)"]
    assert row["ci_high"] < 1
    assert (
        f"less likely to be reduced for looked-after young people (odds ratio "
        f"{common.format_ratio(row['estimate'])} against No; 95% CI "
        f"{common.format_interval(row['ci_low'], row['ci_high'])})"
    ) in result.reading
    assert _one_sentence(result.reading)
    null = m.risk_reduction_model(_tables(looked_after_log_or=0.0, seed=2), include_variant=False)
    assert null.table.iloc[1:].pipe(lambda t: (t["ci_low"] < 1) & (t["ci_high"] > 1)).all()
    assert null.reading.startswith("No term's 95% confidence interval excluded 1")


# --------------------------------------------------------------------------- mixed model
def _clustered(points: int = 10) -> tuple[m._Clustered, np.ndarray, np.ndarray, np.ndarray]:
    y = np.array([1, 0, 1, 1, 0, 0, 1, 0, 0], dtype=float)
    x = np.column_stack([np.ones(9), [0.5, -1.0, 2.0, 0.0, 1.0, -0.5, 0.3, 1.5, -2.0]])
    groups = np.array([1, 1, 1, 1, 0, 0, 0, 2, 2])
    return m._Clustered.of(y, x, groups, points), y, x, groups


def test_quadrature_likelihood_matches_numerical_integration() -> None:
    data, y, x, groups = _clustered()
    beta, sd = np.array([-0.3, 0.7]), 1.3
    by_hand = 0.0
    for g in np.unique(groups):
        yi, eta = y[groups == g], x[groups == g] @ beta

        def integrand(u: float, yi: np.ndarray = yi, eta: np.ndarray = eta) -> float:
            p = special.expit(eta + u)
            return float(np.prod(p**yi * (1 - p) ** (1 - yi)) * stats.norm.pdf(u, 0, sd))

        by_hand += math.log(integrate.quad(integrand, -np.inf, np.inf, epsabs=1e-13)[0])
    assert m._loglik(beta, math.log(sd), data)[0] == pytest.approx(by_hand, rel=1e-6)
    fine = _clustered(points=25)[0]
    assert m._loglik(beta, math.log(sd), fine)[0] == pytest.approx(by_hand, rel=1e-10)


def test_likelihood_gradient_matches_finite_differences() -> None:
    data = _clustered()[0]
    theta = np.array([-0.3, 0.7, math.log(1.3)])
    numeric = optimize.approx_fprime(theta, lambda t: m._loglik(t[:2], t[2], data)[0], 1e-7)
    assert np.allclose(m._loglik(theta[:2], theta[2], data)[1], numeric, atol=1e-5)


#: lme4's cbpp data: herd, incidence, size, period (56 herd-periods).
CBPP = [
    (1, 2, 14, 1), (1, 3, 12, 2), (1, 4, 9, 3), (1, 0, 5, 4), (2, 3, 22, 1), (2, 1, 18, 2),
    (2, 1, 21, 3), (3, 8, 22, 1), (3, 2, 16, 2), (3, 0, 16, 3), (3, 2, 20, 4), (4, 2, 10, 1),
    (4, 0, 10, 2), (4, 2, 9, 3), (4, 0, 6, 4), (5, 5, 18, 1), (5, 0, 25, 2), (5, 0, 24, 3),
    (5, 1, 4, 4), (6, 3, 17, 1), (6, 0, 17, 2), (6, 0, 18, 3), (6, 1, 20, 4), (7, 8, 16, 1),
    (7, 1, 10, 2), (7, 3, 9, 3), (7, 0, 5, 4), (8, 12, 34, 1), (9, 2, 9, 1), (9, 0, 6, 2),
    (9, 0, 8, 3), (9, 0, 6, 4), (10, 1, 22, 1), (10, 1, 22, 2), (10, 0, 18, 3), (10, 2, 22, 4),
    (11, 0, 25, 1), (11, 5, 27, 2), (11, 3, 22, 3), (11, 1, 22, 4), (12, 2, 10, 1), (12, 1, 8, 2),
    (12, 0, 6, 3), (12, 0, 5, 4), (13, 1, 21, 1), (13, 2, 24, 2), (13, 0, 19, 3), (13, 0, 23, 4),
    (14, 11, 19, 1), (14, 0, 2, 2), (14, 0, 3, 3), (14, 0, 2, 4), (15, 1, 19, 1), (15, 1, 15, 2),
    (15, 1, 15, 3), (15, 0, 15, 4),
]  # fmt: skip


def test_mixed_model_reproduces_lme4_on_cbpp() -> None:
    """glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), cbpp, binomial,
    nAGQ = 25): fixed effects -1.39922533, -0.99140729, -1.12782185, -1.57946627 (lme4's
    tests/glmer-1.R). Herd-periods expanded to one row per animal (the same likelihood)."""
    rows = [
        (herd - 1, float(i < incidence), period)
        for herd, incidence, size, period in CBPP
        for i in range(size)
    ]
    herd = np.array([r[0] for r in rows])
    y = np.array([r[1] for r in rows])
    x = np.array([[1.0] + [float(r[2] == p) for p in (2, 3, 4)] for r in rows])
    start = sm.GLM(y, x, family=sm.families.Binomial()).fit().params
    fit = m._fit_random_intercept(m._Clustered.of(y, x, herd, 25), start)
    lme4 = [-1.39922533406847, -0.991407294757321, -1.12782184600404, -1.57946627431248]
    assert fit.converged and np.allclose(fit.beta, lme4, atol=1e-4)


def test_mixed_model_recovers_effect_and_icc_with_profile_interval() -> None:
    tables = _tables(n_people=1000, n_services=16, sd_service=1.0, seed=1)
    result = m.risk_reduction_mixed_model(tables, include_variant=False)
    assert result.ok, result.note
    d = result.details
    realised = float(np.std(list(tables["services"].attrs["effects"].values())))
    assert d["sd_u_ci"][0] < realised < d["sd_u_ci"][1]
    assert d["sd_u"] == pytest.approx(realised, rel=0.15)
    assert d["icc_ci_low"] < m.latent_icc(1.0) < d["icc_ci_high"]
    assert d["icc"] == pytest.approx(m.latent_icc(d["sd_u"] ** 2))
    row = result.table.set_index("term").loc["Looked after: Yes (vs No)"]
    assert row["ci_low"] < math.exp(-1.6) < row["ci_high"]
    assert (
        f"is {d['icc']:.2f} (95% profile-likelihood interval {d['icc_ci_low']:.2f} to"
        in result.note
    )
    assert "lay between services (95% interval" in result.reading and _one_sentence(result.reading)


def test_profile_interval_ends_are_where_the_likelihood_drops_by_the_chi_square_point() -> None:
    tables = _tables(n_people=600, n_services=12, sd_service=0.8, seed=4)
    inputs = m._risk_inputs(tables, "all", include_variant=False, min_obs=50, family="", method="")
    groups = pd.factorize(inputs.data["service_id"])[0]
    data = m._Clustered.of(
        inputs.data["y"].to_numpy(float), inputs.exog.to_numpy(float), groups, 10
    )
    glm = sm.GLM(data.y, data.x, family=sm.families.Binomial()).fit()
    fit = m._fit_random_intercept(data, glm.params)
    low, high = m._sd_interval(data, fit, float(glm.llf))
    assert 0 < low < math.exp(fit.log_sd) < high
    for end in (low, high):  # 2 * (max log-lik - profile log-lik) = 3.841 at each end
        drop = 2 * (fit.loglik - m._profile_loglik(math.log(end), data, fit.beta))
        assert drop == pytest.approx(stats.chi2.ppf(0.95, 1), abs=0.02)


def test_mixed_model_degrees_of_freedom_between_and_within() -> None:
    tables = _tables(n_people=500, n_services=12, sd_service=0.5, seed=6)
    result = m.risk_reduction_mixed_model(tables)
    assert result.ok, result.note
    df = result.table.set_index("term")["df"]
    n, k = result.n_obs, 12
    # Service-level: intercept and 2 variant terms -> 12 - 3; within: 5 terms -> n - 12 - 5.
    assert df.loc["Intercept (baseline odds)"] == k - 3
    assert df.loc["Model variant: Hub outreach (vs Single host, co-located)"] == k - 3
    assert df.loc["Looked after: Yes (vs No)"] == n - k - 5


def test_mixed_model_says_when_services_were_estimated_not_to_differ() -> None:
    result = m.risk_reduction_mixed_model(_tables(n_people=600, sd_service=0.0, seed=1))
    assert result.ok, result.note
    assert result.details["icc"] < 0.005 and result.details["icc_ci_low"] == 0.0
    assert "estimated not to differ" in result.note
    assert "intervals for service-level terms may be too narrow" in result.reading


def test_mixed_model_failures_are_results_not_errors() -> None:
    tables = _tables()
    cases = tables["cases"]
    tables["cases"] = cases.assign(
        risk_reduced=pd.array(cases["looked_after"].eq("No").to_numpy(), dtype="boolean")
    )
    separated = m.risk_reduction_mixed_model(tables, include_variant=False)
    assert not separated.ok and "could not" in separated.note
    few = m.risk_reduction_mixed_model(_tables(n_services=3, n_people=200))
    assert not few.ok and few.note.startswith("Too few services with young people")


@pytest.mark.parametrize("points", [1, 4, 51, 10.5, True])
def test_mixed_model_rejects_bad_quadrature_points(points: object) -> None:
    with pytest.raises(ParameterError, match="quadrature_points"):
        m.risk_reduction_mixed_model(_tables(), quadrature_points=points)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- referral model
def test_referral_model_poisson_with_bias_reduced_t_intervals() -> None:
    result = m.referral_model(_referral_tables(overdispersed=False))
    assert result.ok, result.note
    assert (
        result.family == "Poisson (log)" and result.details["dispersion"] <= m.OVERDISPERSION_RATIO
    )
    table = result.table.set_index("term")
    k, p = 12, len(table)
    assert result.details["df"] == k - p and table["df"].eq(k - p).all()
    hub = table.loc["Model variant: Hub outreach (vs Single host, co-located)"]
    assert hub["ci_low"] > 1 and hub["estimate"] == pytest.approx(3, rel=0.3)
    assert "Intercept (referrals a year per Spoke worker in post, reference groups)" in table.index
    assert result.reading.startswith(
        "Referrals per Spoke worker in post were higher for services of the Hub outreach variant "
        f"(rate ratio {common.format_ratio(hub['estimate'])} against Single host, co-located; 95% CI "
        f"{common.format_interval(hub['ci_low'], hub['ci_high'])})"
    )


def test_referral_model_overdispersed_counts_use_negative_binomial_variance() -> None:
    result = m.referral_model(_referral_tables(overdispersed=True))
    assert result.ok, result.note
    assert result.family == "Negative binomial (NB2, log)"
    assert result.details["dispersion"] > m.OVERDISPERSION_RATIO and result.details["alpha"] > 0
    assert f"Pearson chi-square / df = {result.details['dispersion']:.2f}" in result.note
    assert _one_sentence(result.reading)


def test_referral_model_leaves_out_variant_when_services_are_too_few() -> None:
    # 5 services: intercept, 2 programme years and 2 variants would leave 5 - 5 = 0 df.
    result = m.referral_model(_referral_tables(overdispersed=False, n_services=5))
    assert result.ok, result.note
    assert result.details["df"] == 2 and len(result.table) == 3
    assert "Model variant was left out: 5 services are too few" in result.note


# --------------------------------------------------------------------------- diagnostics
def test_gee_diagnostics_residuals_by_service_and_qic() -> None:
    tables = _tables(n_people=600, shift={"S05": 2.5}, seed=8)
    result = m.risk_reduction_model(tables, include_variant=False)
    diag = m.model_diagnostics(result)
    assert "GEE Regression Results" in diag["summary"]
    # No clock in the summary: a report built twice from the same data is the same page.
    assert "Date:" not in diag["summary"] and "Time:" not in diag["summary"]
    assert diag["largest_residual_service"] == "S05"
    # Refit independently: Pearson residuals (y - mu) / sqrt(mu (1 - mu)) by service.
    data = m._risk_model_data(tables, None)[0]
    x = m._risk_inputs(tables, "all", include_variant=False, min_obs=50, family="", method="").exog
    gee = sm.GEE(data["y"].to_numpy(float), x.to_numpy(float), groups=pd.factorize(data["service_id"])[0],
                 family=sm.families.Binomial(), cov_struct=sm.cov_struct.Exchangeable()).fit()  # fmt: skip
    mu = gee.fittedvalues
    r = (data["y"].to_numpy() - mu) / np.sqrt(mu * (1 - mu))
    by_hand = pd.Series(r).groupby(data["service_id"].to_numpy()).mean()
    table = diag["residuals_by_service"].set_index("service_id")
    assert np.allclose(table["mean_pearson_residual"], by_hand[table.index])
    p = len(result.table)
    assert diag["pearson_dispersion"] == pytest.approx(np.sum(r**2) / (len(r) - p))
    # QIC - QICu = 2 (trace(Omega_I V_R) - p); Omega_I = sum x x' mu (1 - mu) for the logit link.
    omega = (x.to_numpy(float) * (mu * (1 - mu))[:, None]).T @ x.to_numpy(float)
    trace = np.trace(omega @ gee.cov_robust)
    assert diag["qic"] - diag["qicu"] == pytest.approx(2 * (trace - p), rel=1e-4)


def test_mixed_diagnostics_follow_each_service() -> None:
    tables = _tables(n_people=600, shift={"S05": 2.5}, seed=8)
    result = m.risk_reduction_mixed_model(tables, include_variant=False)
    diag = m.model_diagnostics(result)
    assert diag["qic"] is None and math.isfinite(diag["pearson_dispersion"])
    table = diag["residuals_by_service"]
    assert sorted(table["service_id"]) == [f"S{i:02d}" for i in range(1, 13)]
    # Each service's own intercept takes up most of S05's shift, which the GEE leaves in its residuals.
    gee = m.model_diagnostics(m.risk_reduction_model(tables, include_variant=False))
    mixed_s05 = table.set_index("service_id").loc["S05", "mean_pearson_residual"]
    gee_s05 = (
        gee["residuals_by_service"].set_index("service_id").loc["S05", "mean_pearson_residual"]
    )
    assert 0 < mixed_s05 < gee_s05 / 2


def test_diagnostics_of_a_model_not_fitted() -> None:
    failed = m.risk_reduction_model(_tables(n_services=4, n_people=200))
    diag = m.model_diagnostics(failed)
    assert diag["summary"] == "" and diag["residuals_by_service"].empty
    assert diag["note"] == failed.note and diag["largest_residual_service"] is None
