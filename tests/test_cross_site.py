"""Cross-site analysis: funnel limits and flags, group comparisons, models, charts, full synthetic data."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from hubspoke.analysis import cross_site as cs
from hubspoke.errors import ParameterError
from hubspoke.load import ALL_YEARS
from simulated import VARIANTS, case_tables


# --------------------------------------------------------------------------- simulated tables
def simulated_tables(
    n_people: int = 400, n_services: int = 12, *, seed: int = 1
) -> dict[str, pd.DataFrame]:
    """Services, spokes and cases with a strong effect: looked-after young people are far less
    likely to have their risk reduced (odds ratio about 0.2); services start in turn."""
    return case_tables(
        n_people=n_people, n_services=n_services, sd_service=0.2, staggered=True, seed=seed
    )


# --------------------------------------------------------------------------- funnel limits
def test_funnel_limits_normal_matches_hand_calculation() -> None:
    limits = cs.funnel_limits([100], p0=0.5, method="normal")
    half = 1.959964 * math.sqrt(0.25 / 100)
    assert limits.loc[0, "lower_95"] == pytest.approx(0.5 - half, abs=1e-6)
    assert limits.loc[0, "upper_95"] == pytest.approx(0.5 + half, abs=1e-6)
    assert (
        round(limits.loc[0, "lower_95"], 3) == 0.402
        and round(limits.loc[0, "upper_95"], 3) == 0.598
    )
    assert limits.loc[0, "upper_99_8"] == pytest.approx(0.5 + 3.090232 * 0.05, abs=1e-5)


def test_funnel_limits_exact_uses_spiegelhalter_interpolation() -> None:
    # By hand: r = binom.ppf(0.025, 100, .5) = 40; alpha = (F(40) - .025) / (F(40) - F(39)).
    f40, f39 = stats.binom.cdf(40, 100, 0.5), stats.binom.cdf(39, 100, 0.5)
    lower = (40 - (f40 - 0.025) / (f40 - f39)) / 100
    limits = cs.funnel_limits(np.array([100.0]), p0=0.5)
    assert stats.binom.ppf(0.025, 100, 0.5) == 40
    assert limits.loc[0, "lower_95"] == pytest.approx(lower, abs=1e-12)
    assert 0.39 < limits.loc[0, "lower_95"] < 0.40
    # Upper: r = 60, alpha = (F(60) - .975) / (F(60) - F(59)); the interpolation spreads each count r
    # over (r - 1, r], so the limits are not symmetric about p0 even at p0 = 0.5.
    f60, f59 = stats.binom.cdf(60, 100, 0.5), stats.binom.cdf(59, 100, 0.5)
    assert limits.loc[0, "upper_95"] == pytest.approx(
        (60 - (f60 - 0.975) / (f60 - f59)) / 100, abs=1e-12
    )
    wide, narrow = cs.funnel_limits([20, 500], p0=0.3)["upper_95"]
    assert wide > narrow > 0.3


def test_funnel_limits_reject_bad_p0() -> None:
    with pytest.raises(ParameterError):
        cs.funnel_limits([10], p0=0)


def _summary(rows: list[tuple[str, int, int]], **context: list[object]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["service_id", "risk_reduced", "risk_rated"])
    return frame.assign(period="2016", **context)


def test_funnel_data_flags_and_suppression() -> None:
    summary = _summary(
        [
            ("S10", 900, 1000),
            ("S02", 500, 1000),
            ("S01", 100, 1000),
            ("S03", 3, 40),
            ("S04", 37, 40),
            ("S05", 2, 4),
            ("S06", 0, 30),
        ]  # fmt: skip
    )
    data = cs.funnel_data(summary, numerator="risk_reduced", denominator="risk_rated").set_index(
        "service_id"
    )
    assert list(data.index) == ["S01", "S02", "S03", "S04", "S05", "S06", "S10"]  # fixed order
    p0 = (900 + 500 + 100 + 3 + 37 + 2 + 0) / (3000 + 40 + 40 + 4 + 30)
    assert data["p0"].iloc[0] == pytest.approx(p0)
    assert data.loc["S10", "flag"] == "above 99.8%"
    assert data.loc["S01", "flag"] == "below 99.8%"
    assert data.loc["S02", "flag"] == "within"
    assert data.loc["S06", "flag"] == "below 99.8%"
    # 3 reduced, 37 - 40 = 3 not reduced, n = 4: all reveal a small count; 0 of 30 does not.
    assert data["suppressed"].to_dict() == {
        "S01": False, "S02": False, "S03": True, "S04": True, "S05": True, "S06": False, "S10": False,
    }  # fmt: skip


def test_funnel_data_flags_above_95_only() -> None:
    limits = cs.funnel_limits([100], p0=0.5)
    k = int(np.ceil(limits.loc[0, "upper_95"] * 100 + 1e-9))
    j = int(np.floor(limits.loc[0, "lower_95"] * 100 - 1e-9))
    assert k / 100 < limits.loc[0, "upper_99_8"] and j / 100 > limits.loc[0, "lower_99_8"]
    summary = _summary([("S01", k, 100), ("S02", j, 100)])
    data = cs.funnel_data(summary, numerator="risk_reduced", denominator="risk_rated")
    assert list(data["flag"]) == ["above 95%", "below 95%"]


# --------------------------------------------------------------------------- groups
def test_compare_groups_matches_hand_pooled_numbers() -> None:
    summary = _summary(
        [("S01", 10, 40), ("S02", 30, 60), ("S03", 45, 50), ("S04", 20, 25)],
        model_variant=["A", "A", "B", "B"],
    )
    groups = cs.compare_groups(
        summary, by="model_variant", numerator="risk_reduced", denominator="risk_rated"
    )
    a, b = groups.set_index("group").loc["A"], groups.set_index("group").loc["B"]
    assert (a["n_services"], a["numerator"], a["denominator"]) == (2, 40, 100)
    assert a["proportion"] == pytest.approx(0.4) and b["proportion"] == pytest.approx(65 / 75)
    # Two services a group: the service is the unit, so neither group can be compared.
    assert not groups["comparable"].any()
    assert set(groups["note"]) == {"2 services: too few to compare"}
    assert groups.attrs["test"]["method"] == "none"
    # With the minimum lowered to two, the groups are compared on 2 services each.
    two = cs.compare_groups(
        summary,
        by="model_variant",
        numerator="risk_reduced",
        denominator="risk_rated",
        min_services=2,
    )
    assert two["comparable"].all() and two.attrs["test"]["dof"] == (1, 2)


def _hand_wilson(k: int, n: int, level: float) -> tuple[float, float]:
    """The Wilson score interval as hubspoke computed it by hand before statsmodels."""
    z = stats.norm.ppf(1 - (1 - level) / 2)
    p = k / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


WILSON_GRID = [
    (k, n, level)
    for n in (1, 2, 3, 5, 6, 10, 17, 40, 100, 999, 12345)
    for k in sorted({0, 1, n // 3, n // 2, n - 1, n})
    for level in (0.9, 0.95, 0.99)
]


def test_wilson_interval_keeps_the_hand_formulas_results_to_12_decimals() -> None:
    for k, n, level in WILSON_GRID:
        low, high = cs.wilson_interval(k, n, level=level)
        hand_low, hand_high = _hand_wilson(k, n, level)
        assert round(low, 12) == round(hand_low, 12), (k, n, level)
        assert round(high, 12) == round(hand_high, 12), (k, n, level)
    assert all(math.isnan(v) for v in cs.wilson_interval(0, 0))


def test_wilson_interval_is_statsmodels_wilson_interval() -> None:
    from statsmodels.stats.proportion import proportion_confint

    for k, n, level in WILSON_GRID:
        low, high = proportion_confint(k, n, alpha=1 - level, method="wilson")
        assert cs.wilson_interval(k, n, level=level) == (float(low), float(high)), (k, n, level)


def test_compare_groups_says_when_services_are_too_few() -> None:
    summary = _summary([("S01", 1, 3), ("S02", 2, 4), ("S03", 1, 2)], model_variant=["A", "B", "C"])
    groups = cs.compare_groups(
        summary, by="model_variant", numerator="risk_reduced", denominator="risk_rated"
    )
    assert "not compared" in groups.attrs["note"]
    assert set(groups["note"]) == {"1 service: too few to compare"}
    assert groups["suppressed"].all()
    one = cs.compare_groups(
        _summary([("S01", 1, 3)], model_variant=["A"]),
        by="model_variant",
        numerator="risk_reduced",
        denominator="risk_rated",
    )
    assert one.attrs["test"]["method"] == "none" and math.isnan(one.attrs["test"]["p_value"])


def test_compare_groups_rejects_unknown_grouping() -> None:
    with pytest.raises(ParameterError):
        cs.compare_groups(
            _summary([("S01", 1, 3)]),
            by="region",
            numerator="risk_reduced",
            denominator="risk_rated",
        )


# --------------------------------------------------------------------------- models on simulated data
def test_risk_reduction_model_recovers_a_strong_effect() -> None:
    result = cs.risk_reduction_model(simulated_tables(), include_variant=True)
    assert result.ok, result.note
    assert list(result.table.columns) == list(cs.MODEL_COLUMNS)
    row = result.table.set_index("term").loc["Looked after: Yes (vs No)"]
    assert row["estimate"] < 1 and row["ci_high"] < 1
    assert result.n_groups == 12 and result.table["n_groups"].eq(12).all()
    assert result.table["n_obs"].iloc[0] == result.n_obs <= 400
    assert "odds ratios" in result.note


def test_risk_reduction_model_too_few_people() -> None:
    tables = simulated_tables()
    tables["cases"] = tables["cases"].head(3)
    result = cs.risk_reduction_model(tables)
    assert not result.ok
    # the note is shown to funders as text: it states no count of people (n stays in n_obs)
    assert result.note.startswith("Too few young people with both risk ratings to fit")
    assert "3" not in result.note
    assert result.n_obs == 3
    assert result.table.empty


def test_risk_reduction_model_reports_perfect_separation() -> None:
    tables = simulated_tables()
    cases = tables["cases"]
    tables["cases"] = cases.assign(
        risk_reduced=pd.array(cases["looked_after"].eq("No").to_numpy(), dtype="boolean")
    )
    result = cs.risk_reduction_model(tables, include_variant=False)
    assert not result.ok
    assert "could not" in result.note


def test_referral_model_recovers_rate_ratio() -> None:
    rng = np.random.default_rng(7)
    tables = simulated_tables(n_people=10, n_services=12)
    services = tables["services"].assign(start_date=pd.Timestamp("2014-01-01"))
    rate = services["model_variant"].map({VARIANTS[0]: 10.0, VARIANTS[1]: 10.0, VARIANTS[2]: 30.0})
    rows = []
    for sid, lam, spokes in zip(services["service_id"], rate, services["n_spokes"], strict=True):
        for year in (2014, 2015, 2016):
            for i in range(rng.poisson(lam * spokes)):
                rows.append(
                    {"service_id": sid, "year": year, "young_person_id": f"{sid}{year}{i:08d}"}
                )
    tables["services"] = services
    tables["spokes"] = tables["spokes"].assign(start_year=2014)
    tables["cases"] = pd.DataFrame(rows)
    result = cs.referral_model(tables)
    assert result.ok, result.note
    row = result.table.set_index("term").loc[
        "Model variant: Hub outreach (vs Single host, co-located)"
    ]
    assert row["ci_low"] > 1 and row["estimate"] == pytest.approx(3, rel=0.3)
    assert result.family == "Poisson (log)" and "Poisson" in result.note
    assert "Spoke workers in post" in result.note
    assert result.n_obs == 36 and result.n_groups == 12


def test_referral_model_too_few_service_years() -> None:
    tables = simulated_tables(n_people=3, n_services=3)
    result = cs.referral_model(tables)
    assert not result.ok and result.note.startswith("Too few service-years")
    assert result.table.empty


def test_bad_year_is_a_parameter_error() -> None:
    with pytest.raises(ParameterError):
        cs.service_year_summary(simulated_tables(), year="last")


# --------------------------------------------------------------------------- summary and side by side
def test_summary_side_by_side_and_indicator_table() -> None:
    tables = simulated_tables()
    summary = cs.service_year_summary(tables, year="all")
    pooled = summary.loc[summary["period"].eq(ALL_YEARS)].set_index("service_id")
    cases = tables["cases"]
    assert pooled["risk_reduced"].sum() == int(cases["risk_reduced"].sum())
    assert pooled["risk_rated"].sum() == len(cases)
    per_year = summary.loc[summary["period"].ne(ALL_YEARS)]
    assert per_year.groupby("service_id")["risk_rated"].sum().equals(pooled["risk_rated"])
    assert set(pooled["host_setting"]) <= {"Police", "Mixed", "Health"}
    assert pooled.loc["S01", "host_setting"] == "Mixed"  # one Police and one Health Spoke
    wide = cs.side_by_side(summary, measure="risk_reduced")
    assert list(wide.index) == [f"S{i:02d}" for i in range(1, 13)]
    assert list(wide.columns[-3:]) == ["All years reduced", "All years rated", "All years %"]
    assert wide.attrs["values"]["2016"] == "2016 %"
    assert "display" not in wide.attrs  # funder tables are cross_site_tables' Tables
    indicators = pd.DataFrame(
        {
            "service_id": ["S10", "S02", "S02"], "year": [2016, 2015, 2016], "indicator_id": "SAF1",
            "indicator": "Risk reduced", "numerator": [5.0, 8.0, 9.0], "denominator": [10.0, 20.0, 30.0],
            "value": [50.0, 40.0, 30.0], "unit": "%",
        }
    )  # fmt: skip
    from_ind = cs.side_by_side(indicators, measure="SAF1")
    assert list(from_ind.index) == ["S02", "S10"]
    assert from_ind.loc["S02", "2016 %"] == 30.0 and math.isnan(from_ind.loc["S10", "2015 %"])


def test_analyst_frames_carry_no_suppression_arguments() -> None:
    """Funder charts take Tables (see test_cross_site_tables); the frames only flag small points."""
    summary = _summary([("S01", 40, 100), ("S02", 55, 100), ("S03", 3, 8), ("S04", 30, 60)])
    data = cs.funnel_data(summary, numerator="risk_reduced", denominator="risk_rated")
    assert data["suppressed"].tolist() == [False, False, True, False]
    groups = cs.compare_groups(
        summary.assign(model_variant=["A", "A", "B", "C"]),
        by="model_variant",
        numerator="risk_reduced",
        denominator="risk_rated",
    )
    assert "display" not in groups.attrs
    assert "display" not in cs.group_table(groups).attrs


# --------------------------------------------------------------------------- full synthetic data
@pytest.fixture(scope="module")
def full_tables(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict, Path]:
    """Processed tables of the default synthetic data set (and the raw folder, for the truth)."""
    from hubspoke.load import load_tables

    try:
        processed = request.getfixturevalue("synthetic_processed")
        raw = request.getfixturevalue("synthetic_raw")
    except pytest.FixtureLookupError:
        from hubspoke.clean import clean_all
        from hubspoke.synth import generate

        key = tmp_path_factory.mktemp("key") / "k.key"
        key.write_text("0" * 64)
        mp = pytest.MonkeyPatch()
        mp.setenv("HUBSPOKE_KEY_FILE", str(key))
        raw, processed = tmp_path_factory.mktemp("raw"), tmp_path_factory.mktemp("processed")
        try:
            generate(raw, seed=2014)
            clean_all(raw, processed)
        finally:
            mp.undo()
    tables = load_tables(processed)
    if "context" not in tables:
        from hubspoke.clean.context import load_context

        tables["context"] = load_context(Path(raw) / "context")
    return tables, Path(raw)


def test_full_data_better_services_reduce_risk_more(full_tables: tuple[dict, Path]) -> None:
    tables, raw = full_tables
    truth = pd.read_csv(raw / "_synthetic" / "truth.csv", comment="#")
    summary = cs.service_year_summary(tables, year="all")
    pooled = cs.one_row_per_service(summary).merge(truth, on="service_id")
    ranked = pooled.sort_values("p_risk_reduced")
    third = len(ranked) // 3
    bottom, top = ranked.head(third), ranked.tail(third)
    assert (
        top["risk_reduced"].sum() / top["risk_rated"].sum()
        > bottom["risk_reduced"].sum() / bottom["risk_rated"].sum()
    )


def test_full_data_models_fit(full_tables: tuple[dict, Path]) -> None:
    tables, _ = full_tables
    from hubspoke.analysis.cross_site.models import risk_reduction_mixed_model

    risk = cs.risk_reduction_model(tables)
    referrals = cs.referral_model(tables)
    mixed = risk_reduction_mixed_model(tables)
    assert risk.ok, risk.note
    assert referrals.ok, referrals.note
    assert mixed.ok, mixed.note
    assert 0 <= mixed.details["icc_ci_low"] <= mixed.details["icc"] <= mixed.details["icc_ci_high"]
    for model in (risk, referrals, mixed):  # one plain sentence each, for funders
        assert model.reading.endswith(".") and "\n" not in model.reading
    assert "nearest available year" in referrals.note
    early = cs.referral_model(tables, year=2014)
    assert not early.ok and "Too few" in early.note
