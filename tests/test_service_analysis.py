"""Per-service analysis and its charts: hand-built tables with hand-computed numbers, then a smoke
test on the full synthetic data set."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from hubspoke import load
from hubspoke.analysis import service as sa
from hubspoke.clean import harmonise
from hubspoke.errors import ParameterError
from hubspoke.present.plotting import service as ps
from hubspoke.privacy.release import Release, gather, protect
from hubspoke.spec.processed import schema

SID = "S01"


# --------------------------------------------------------------------------- builders
def _frame(name: str, rows: list[dict]) -> pd.DataFrame:
    """A processed table from partial rows: unspecified columns are missing, provenance filled in."""
    spec = schema(name)
    base = {c: None for c in spec.columns} | {"source_file": "f.csv", "source_sheet": ""}
    full = [base | {"source_row": i + 2} | r for i, r in enumerate(rows)]
    return spec.conform(pd.DataFrame(full, columns=spec.columns))


def _case(pid: str, year: int, **kw) -> dict:
    row = {
        "service_id": SID,
        "year": year,
        "young_person_id": f"{pid:0>16}",
        "referral_date": pd.Timestamp(year, 3, 1),
        "risk_tool": "Low/Medium/High",
        "closure_date": pd.Timestamp(year, 9, 1),
    }
    return row | kw


def _derive(cases: pd.DataFrame) -> pd.DataFrame:
    """Case fields cleaning derives from the recorded ones (risk and missing change, planned ending)."""
    return (
        cases.pipe(harmonise.add_risk_change)
        .pipe(harmonise.add_missing_change)
        .pipe(harmonise.add_episode_days)
        .pipe(harmonise.add_planned_ending)
    )


def _tables(cases: list[dict], activities=(), policy=(), survey=()) -> dict[str, pd.DataFrame]:
    services = _frame(
        "services",
        [
            {
                "service_id": SID,
                "hub_name": "Test Hub",
                "phase": 1,
                "start_date": pd.Timestamp(2014, 1, 1),
                "model_variant": "Multi-host",
                "n_spokes": 2,
                "la_codes": "E06000001;E06000002",
                "risk_tool": "Low/Medium/High",
                "region": "North East",
            }
        ],
    )
    spokes = _frame(
        "spokes",
        [
            {
                "spoke_id": "S01-K1",
                "service_id": SID,
                "host_setting": "Police",
                "la_code": "E06000001",
                "start_year": 2014,
            },
            {
                "spoke_id": "S01-K2",
                "service_id": SID,
                "host_setting": "Health",
                "la_code": "E06000002",
                "start_year": 2015,
            },
        ],
    )
    return {
        "services": services,
        "spokes": spokes,
        "cases": _derive(_frame("cases", cases)),
        "activities": harmonise.add_confidence_change(_frame("activities", list(activities))),
        "policy": harmonise.add_status_score(_frame("policy", list(policy))),
        "spoke_survey": _frame("spoke_survey", list(survey)),
    }


@pytest.fixture
def two_years() -> dict[str, pd.DataFrame]:
    """S01 in 2014 (people a, b) and 2015 (b again, c, d, e); one person of S02 shares a's id."""
    cases = [
        _case(
            "a",
            2014,
            gender="Female",
            risk_at_referral="High",
            risk_latest="Low",
            closure_reason="Planned ending",
        ),
        _case(
            "b",
            2014,
            gender="Male",
            risk_at_referral="Medium",
            risk_latest="Medium",
            closure_reason="Disengaged",
        ),
        _case(
            "b",
            2015,
            gender="Male",
            age_band="14-15",
            closure_date=pd.Timestamp(2016, 2, 1),
            risk_at_referral="High",
            risk_latest="Medium",
        ),
        _case(
            "c",
            2015,
            gender="Female",
            age_band="14-15",
            closure_reason="Planned ending",
            risk_at_referral="Medium",
            risk_latest="Low",
            referral_source="Police",
        ),
        _case(
            "d",
            2015,
            gender=None,
            age_band="16-17",
            closure_date=None,
            risk_at_referral="Low",
            risk_latest="High",
            referral_source="Police",
        ),
        _case(
            "e",
            2015,
            gender="Female",
            age_band="10-13",
            closure_reason="Transferred",
            risk_at_referral=None,
            risk_latest="Low",
            referral_source="Education",
        ),
        _case("a", 2015, service_id="S02", gender="Female"),
    ]
    policy = [
        {
            "service_id": SID,
            "year": y,
            "la_code": la,
            "element": el,
            "status": st,
            "status_score": sc,
        }
        for y, la, el, st, sc in [
            (2014, "E06000001", "CSE strategy", "Not started", 0),
            (2014, "E06000002", "CSE strategy", "In development", 1),
            (2015, "E06000001", "CSE strategy", "In place", 2),
            (2015, "E06000002", "CSE strategy", "Embedded", 3),
            (2015, "E06000001", "MASE meetings", "In place", 2),
        ]
    ]
    activities = [
        {
            "service_id": SID,
            "year": 2015,
            "activity_date": pd.Timestamp(2015, 5, d),
            "activity_type": t,
            "participants": p,
            "audience_agency": ag,
            "confidence_before": cb,
            "confidence_after": ca,
        }
        for d, t, p, ag, cb, ca in [
            (1, "Training", 10, "Police", 4.0, 6.0),
            (2, "Training", 20, "Police", 5.0, 6.0),
            (3, "Training", 30, "Health", None, 7.0),
            (4, "Awareness - young people", 100, "Young people", None, None),
            (5, "Awareness - professionals", 15, "Education", None, None),
            (6, "Consultation", 1, "Police", None, None),
        ]
    ] + [
        {
            "service_id": SID,
            "year": 2014,
            "activity_date": pd.Timestamp(2014, 5, 1),
            "activity_type": "Training",
            "participants": 7,
            "audience_agency": "Health",
        }
    ]
    survey = [
        {
            "service_id": SID,
            "year": 2015,
            "spoke_id": "S01-K1",
            "supervision_frequency": "Weekly",
            "host_system_access": "Full",
            "feels_isolated": "Often",
            "confidence": 4,
            "intends_to_stay": "Yes",
        },
        {
            "service_id": SID,
            "year": 2015,
            "spoke_id": "S01-K2",
            "supervision_frequency": "Less than monthly",
            "host_system_access": None,
            "feels_isolated": "Never",
            "confidence": 2,
            "intends_to_stay": "Unsure",
        },
        {
            "service_id": SID,
            "year": 2015,
            "spoke_id": "S01-K3",
            "supervision_frequency": "Monthly",
            "host_system_access": "Partial",
            "feels_isolated": None,
            "confidence": None,
            "intends_to_stay": "Yes",
        },
    ]
    return _tables(cases, activities, policy, survey)


KW = {"service_id": SID, "year": 2015}


# --------------------------------------------------------------------------- reach and demographics
def test_reach_detects_re_referral_across_years_of_the_same_service(two_years):
    yp = sa.reach(two_years, **KW)["young_people"]
    # b was seen in 2014 (re-referred, open at year end); c closed, d open, e closed are new.
    assert yp.loc["Re-referred"].tolist() == [1, 0, 1]
    assert yp.loc["New to the service"].tolist() == [1, 2, 3]
    assert yp.loc["Total"].tolist() == [2, 2, 4]
    # S02's young person with a's id is in another service: not a re-referral of S01, and S02 in 2015 is new.
    other = sa.reach(two_years, service_id="S02", year=2015)["young_people"]
    assert other.loc["Re-referred", "Total"] == 0 and other.loc["New to the service", "Total"] == 1
    # In its first year nobody is re-referred.
    assert (
        sa.reach(two_years, service_id=SID, year=2014)["young_people"].loc["Re-referred", "Total"]
        == 0
    )


def test_reach_activities_sums_sessions_participants_and_reached(two_years):
    act = sa.reach(two_years, **KW)["activities"]
    assert act.loc["Training", "sessions"] == 3 and act.loc["Training", "participants"] == 60
    assert act.loc["Strategy meeting", "sessions"] == 0
    assert act.loc["Total", "sessions"] == 6 and act.loc["Total", "participants"] == 176
    assert act.loc["Total", "young_people_reached"] == 100
    assert act.loc["Total", "professionals_reached"] == 60 + 15


def test_demographics_counts_distinct_people_with_not_recorded_and_total(two_years):
    demo = sa.demographics(two_years, **KW)
    gender = demo["gender"]
    assert gender.loc["Female", "n"] == 2 and gender.loc["Male", "n"] == 1
    assert gender.loc["Not recorded", "n"] == 1 and gender.loc["Total", "n"] == 4
    assert gender.loc["Female", "%"] == pytest.approx(50.0)
    assert demo["age_band"].loc["Under 10", "n"] == 0
    assert demo["looked_after"].loc["Not recorded", "n"] == 4
    assert set(demo) == {"gender", "age_band", "ethnicity", "disability", "looked_after"}


def test_referral_sources_counts_and_percentages(two_years):
    ref = sa.referral_sources(two_years, **KW)
    assert ref.loc["Police", "n"] == 2 and ref.loc["Education", "n"] == 1
    assert ref.loc["Not recorded", "n"] == 1 and ref.loc["Total", "n"] == 4
    assert ref.loc["Police", "%"] == pytest.approx(50.0)
    assert ref["n"].dtype == "Int64"


# --------------------------------------------------------------------------- risk
def test_risk_transitions_match_a_hand_crosstab():
    pairs = [
        ("Low", "Low"),
        ("Low", "Medium"),
        ("Medium", "Low"),
        ("Medium", "Low"),
        ("High", "Not at risk"),
        ("High", None),
        (None, "Low"),
        ("High", "High"),
    ]
    cases = [
        _case(f"p{i}", 2015, risk_at_referral=r, risk_latest=lat)
        for i, (r, lat) in enumerate(pairs)
    ]
    result = sa.risk_transitions(_tables(cases), **KW)
    table = result["crosstab"]
    levels = ["Not at risk", "Low", "Medium", "High", "Not recorded"]
    assert list(table.index) == [*levels, "Total"] and list(table.columns) == [*levels, "Total"]
    hand = pd.crosstab(
        pd.Series([r or "Not recorded" for r, _ in pairs]),
        pd.Series([lat or "Not recorded" for _, lat in pairs]),
    ).reindex(index=levels, columns=levels, fill_value=0)
    assert (table.loc[levels, levels].to_numpy() == hand.to_numpy()).all()
    assert table.loc["Not at risk"].sum() == 0  # the empty row is still shown
    assert table.loc["Total", "Total"] == 8 and table.loc["High", "Total"] == 3
    summary = result["summary"]["n"]
    assert summary.to_dict() == {
        "Reduced": 3,
        "Same": 2,
        "Increased": 1,
        "Not recorded": 2,
        "Total": 8,
    }
    assert result["summary"].loc["Reduced", "% of assessed"] == pytest.approx(50.0)


# --------------------------------------------------------------------------- missing episodes
def _missing_tables(pairs: list[tuple[int | None, int | None]]) -> dict[str, pd.DataFrame]:
    return _tables(
        [_case(f"m{i}", 2015, missing_before=b, missing_after=a) for i, (b, a) in enumerate(pairs)]
    )


def test_missing_episodes_runs_wilcoxon_with_ten_or_more_pairs():
    pairs = [
        (5, 1),
        (4, 2),
        (6, 0),
        (3, 3),
        (2, 4),
        (8, 1),
        (7, 2),
        (1, 0),
        (9, 3),
        (4, 4),
        (6, 1),
        (None, 2),
    ]
    result = sa.missing_episodes(_missing_tables(pairs), **KW)
    complete = [p for p in pairs if None not in p]
    before = np.array([b for b, _ in complete], dtype=float)
    after = np.array([a for _, a in complete], dtype=float)
    summary = result["summary"]
    assert summary.loc["Before", "n"] == 11
    assert summary.loc["Before", "mean"] == pytest.approx(before.mean())
    assert summary.loc["After", "median"] == pytest.approx(np.median(after))
    assert summary.loc["Change (after - before)", "mean"] == pytest.approx((after - before).mean())
    assert result["direction"]["n"].to_dict() == {
        "Fewer after": 8,
        "Same": 2,
        "More after": 1,
        "Total": 11,
    }
    test = result["test"].iloc[0]
    assert test["test"] == "Wilcoxon signed-rank"
    expected = stats.wilcoxon(after - before, method="asymptotic")
    assert test["p_value"] == pytest.approx(expected.pvalue)
    assert test["statistic"] == pytest.approx(expected.statistic)


def test_missing_episodes_with_too_few_pairs_gives_a_note_not_a_test():
    result = sa.missing_episodes(_missing_tables([(3, 1), (2, 2), (None, 1), (4, 0)]), **KW)
    test = result["test"].iloc[0]
    assert test["n_pairs"] == 3
    assert "too few pairs to test" in test["note"]
    assert pd.isna(test["statistic"]) and pd.isna(test["p_value"])


# --------------------------------------------------------------------------- outcome scales
def test_outcome_scale_change_means_ci_and_completeness():
    starts, ends = [1, 2, 2, 3, 1], [3, 3, 2, 4, 2]
    cases = [
        _case(
            f"o{i}",
            2015,
            outcome_safety_start=s,
            outcome_safety_end=e,
            outcome_education_start=s if i < 2 else None,
            outcome_education_end=e,
        )
        for i, (s, e) in enumerate(zip(starts, ends, strict=True))
    ] + [_case("o9", 2015, outcome_safety_start=4)]
    out = sa.outcome_scale_change(_tables(cases), **KW)
    safety = out.loc["Safety"]
    change = np.array(ends) - np.array(starts)
    half = stats.t.ppf(0.975, 4) * change.std(ddof=1) / math.sqrt(5)
    assert safety["n_both"] == 5
    assert safety["% complete"] == pytest.approx(5 * 100 / 6)
    assert safety["mean_start"] == pytest.approx(1.8) and safety["mean_end"] == pytest.approx(2.8)
    assert safety["mean_change"] == pytest.approx(1.0)
    assert safety["ci_low"] == pytest.approx(1.0 - half) and safety["ci_high"] == pytest.approx(
        1.0 + half
    )
    education = out.loc["Education"]
    assert education["n_both"] == 2 and pd.isna(education["ci_low"])
    assert out.loc["Self esteem", "n_both"] == 0 and pd.isna(out.loc["Self esteem", "mean_change"])


# --------------------------------------------------------------------------- professionals, policy, survey
def test_professional_activity_types_and_confidence_by_agency(two_years):
    result = sa.professional_activity(two_years, **KW)
    by_type = result["by_type"]
    assert "Awareness - young people" not in by_type.index
    assert by_type.loc["Total", "sessions"] == 5 and by_type.loc["Total", "participants"] == 76
    conf = result["confidence"]
    assert list(conf.index) == [
        "Police",
        "All training",
    ]  # the Health session lacks a before rating
    assert conf.loc["Police", "sessions"] == 2 and conf.loc["Police", "participants"] == 30
    assert conf.loc["Police", "mean_before"] == pytest.approx(4.5)
    assert conf.loc["Police", "mean_change"] == pytest.approx(1.5)
    assert pd.isna(conf.loc["All training", "ci_low"])  # fewer than 5 sessions


def test_policy_progress_status_and_change_since_previous_year(two_years):
    result = sa.policy_progress(two_years, **KW)
    status = result["status"]
    assert status.loc["CSE strategy", "E06000001"] == "In place"
    assert status.loc["CSE strategy", "mean_score"] == pytest.approx(2.5)
    assert status.loc["CSE strategy", "previous_mean_score"] == pytest.approx(0.5)
    assert status.loc["CSE strategy", "change"] == pytest.approx(2.0)
    assert pd.isna(status.loc["MASE meetings", "previous_mean_score"])
    assert pd.isna(status.loc["Data sharing agreement", "E06000002"])
    areas = result["areas"]
    assert areas.loc["All areas", "mean_score"] == pytest.approx(7 / 3)
    assert areas.loc["All areas", "elements_in_place"] == 3
    assert areas.attrs["previous_year"] == 2014
    first = sa.policy_progress(two_years, service_id=SID, year=2014)["areas"]
    assert first.attrs["previous_year"] is None and first["change"].isna().all()


def test_spoke_survey_counts_summary_and_sentences(two_years):
    result = sa.spoke_survey_summary(two_years, **KW)
    sup = result["supervision_frequency"]["n"]
    assert sup["Weekly"] == 1 and sup["Monthly"] == 1 and sup["None"] == 0 and sup["Total"] == 3
    assert result["confidence"]["n"]["Not recorded"] == 1
    summary = result["summary"]
    assert summary.loc["Supervised at least monthly"].tolist() == [2, 1, 0, 3]
    assert summary.loc["Full access to host case systems"].tolist() == [1, 1, 1, 3]
    sentences = sa.spoke_survey_sentences(summary)
    assert "Supervised at least monthly: 2 of 3" in sentences
    # never published per service: "c 0 0 c" would say all of a service's Spokes answered alike
    assert "spokes.summary" not in sa.service_tables(two_years, **KW)


def test_data_completeness_percentages(two_years):
    comp = sa.data_completeness(two_years, **KW).set_index("item")
    gender = comp.loc["gender"]
    assert (gender["complete"], gender["not_recorded"], gender["records"]) == (3, 1, 4)
    assert gender["% complete"] == pytest.approx(75.0)
    closure = comp.loc["closure_reason"]  # closed in 2015: c and e (b closes in 2016, d is open)
    assert closure["records"] == 2 and closure["% complete"] == pytest.approx(100.0)
    conf = comp.loc["confidence before and after"]
    assert (conf["complete"], conf["records"]) == (2, 3)
    assert comp.loc["outcome safety (start and end)", "% complete"] == 0
    assert comp.loc["host_system_access", "complete"] == 2


def test_year_on_year_rows_and_first_year_has_nothing_to_compare(two_years):
    yoy = sa.year_on_year(two_years, **KW)
    assert list(yoy.index) == [2014, 2015]
    assert yoy.loc[2014, "compared_with"] == "n/a" and yoy.loc[2015, "compared_with"] == "2014"
    assert yoy.loc[2015, "young_people"] == 4
    assert yoy.loc[2015, "risk_assessed"] == 3 and yoy.loc[2015, "risk_reduced"] == 2
    assert yoy.loc[2015, "% risk reduced"] == pytest.approx(200 / 3)
    assert yoy.loc[2015, "episodes_closed"] == 2 and yoy.loc[
        2015, "% planned endings"
    ] == pytest.approx(100.0)
    assert yoy.loc[2014, "% planned endings"] == pytest.approx(50.0)
    assert yoy.loc[2015, "professionals_trained"] == 60
    assert yoy.loc[2015, "policy_change"] == pytest.approx(7 / 3 - 0.5)
    assert pd.isna(yoy.loc[2014, "policy_change"])
    assert list(sa.year_on_year(two_years, service_id=SID, year=2014).index) == [2014]


def test_service_profile(two_years):
    prof = sa.service_profile(two_years, service_id=SID)["value"]
    assert (
        prof["Hub"] == "Test Hub"
        and prof["Phase"] == "1"
        and prof["Start date"] == "01 January 2014"
    )
    assert prof["Areas covered"] == "E06000001, E06000002"
    assert "S01-K2: Health" in prof["Spoke host settings"]
    assert prof["Years with data"] == "2014, 2015"


def _release(t: dict) -> Release:
    """The tables of one service-year suppressed together (a release of their own)."""
    cells, equations = gather(t.values())
    return protect(cells, equations=equations)


def test_every_funder_table_is_a_table_the_release_can_show(two_years):
    """Every service table gathers (one value per identity) and its view keeps its shape."""
    t = sa.service_tables(two_years, **KW)
    release = _release(t)
    for key, table in t.items():
        shown = release.view(table)
        assert shown.display.shape == table.frame.shape, key


# --------------------------------------------------------------------------- parameter errors
@pytest.mark.parametrize(
    ("kwargs", "allowed", "found"),
    [
        ({"service_id": "S99", "year": 2015}, ["S01", "S02"], "S99"),
        ({"service_id": "S01", "year": 2016}, [2014, 2015], 2016),
        ({"service_id": "S02", "year": 2014}, [2015], 2014),
    ],
)
def test_unknown_service_or_year_raises_parameter_error(two_years, kwargs, allowed, found):
    for function in (
        sa.reach,
        sa.demographics,
        sa.risk_transitions,
        sa.missing_episodes,
        sa.year_on_year,
        sa.data_completeness,
        sa.policy_progress,
    ):
        with pytest.raises(ParameterError) as info:
            function(two_years, **kwargs)
        assert info.value.allowed == allowed and info.value.found == found


def test_wrong_parameter_types_and_unknown_profile_raise(two_years):
    with pytest.raises(ParameterError):
        sa.reach(two_years, service_id=1, year=2015)
    with pytest.raises(ParameterError):
        sa.reach(two_years, service_id=SID, year="2015")
    with pytest.raises(ParameterError) as info:
        sa.service_profile(two_years, service_id="S07")
    assert info.value.allowed == ["S01"]


# --------------------------------------------------------------------------- charts
def _title(fig) -> str:
    """The first axes' title wherever it sits (the suite's style puts titles on the left)."""
    ax = fig.axes[0]
    return " ".join(ax.get_title(loc=loc) for loc in ("left", "center", "right")).strip()


def _bar_heights(fig) -> list[float]:
    return [p.get_height() for ax in fig.axes for p in ax.patches]


def test_referral_chart_never_draws_a_suppressed_count():
    # Children's social care (10) is there so that two bars are left to draw: a chart of
    # one bar is not drawn at all (issue 18).
    sources = ["Police"] * 12 + ["Children's social care"] * 10 + ["Education"] * 9 + ["Health"] * 3
    tables = _tables([_case(f"r{i}", 2015, referral_source=s) for i, s in enumerate(sources)])
    t = sa.service_tables(tables, **KW)
    frame, rel = t["referral_sources"], _release(t)
    fig = ps.referral_sources_chart(frame, **KW, release=rel)
    heights = _bar_heights(fig)
    assert 3 not in heights
    # Health (3) is hidden, so Education (9) is hidden too: otherwise 34 - 12 - 10 - 9 gives it away.
    assert [h for h in heights if h > 0] == [12, 10]
    assert any(t.get_text() == "c" for t in fig.axes[0].texts)
    alt = ps.referral_sources_alt(frame, **KW, release=rel)
    assert "Health c" in alt and "Education c" in alt and "Health 3" not in alt
    plt.close(fig)


def test_heatmap_shows_c_for_small_cells_and_never_the_number():
    pairs = (
        [("High", "Low")] * 3
        + [("Medium", "Low")] * 8
        + [("Medium", "Medium")] * 9
        + [("Low", "Low")] * 7
    )
    tables = _tables(
        [
            _case(f"h{i}", 2015, risk_at_referral=r, risk_latest=lat)
            for i, (r, lat) in enumerate(pairs)
        ]
    )
    t = sa.service_tables(tables, **KW)
    frame = sa.risk_crosstab_table(tables, **KW)
    rel = _release({**t, "risk.crosstab": frame})
    fig = ps.risk_transition_chart(frame, **KW, release=rel)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "3" not in texts and "c" in texts
    assert "3" not in ps.risk_transition_alt(frame, **KW, release=rel).replace("2015", "")
    plt.close(fig)


def test_every_chart_has_a_title_and_alt_text(two_years):
    t = sa.service_tables(two_years, **KW)
    t["risk.crosstab"] = sa.risk_crosstab_table(two_years, **KW)
    rel = _release(t)
    charts = [
        (ps.referral_sources_chart, ps.referral_sources_alt, (t["referral_sources"],)),
        (ps.risk_transition_chart, ps.risk_transition_alt, (t["risk.crosstab"],)),
        (
            ps.missing_episodes_chart,
            ps.missing_episodes_alt,
            (t["missing.summary"], t["missing.direction"]),
        ),
        (ps.outcome_scale_chart, ps.outcome_scale_alt, (t["outcome_scales"],)),
        (ps.year_on_year_chart, ps.year_on_year_alt, (t["year_on_year"],)),
    ]
    for chart, alt, args in charts:
        fig = chart(*args, **KW, release=rel)
        text = alt(*args, **KW, release=rel)
        assert text.strip()
        # nothing (or one value) left to draw: no chart, and the alt text says why (issue 18)
        assert (fig is None) == ("no chart is drawn" in text), chart.__name__
        if fig is None:
            continue
        assert _title(fig), chart.__name__
        # every count in these tiny tables is 1-5: no bar may be drawn for one
        if chart is not ps.outcome_scale_chart:
            assert not [h for h in _bar_heights(fig) if 1 <= h <= 5 and float(h).is_integer()], (
                chart.__name__
            )
        plt.close(fig)


def test_outcome_chart_leaves_out_scales_with_too_few_pairs():
    # Everyone is rated on safety (8 pairs, none missing, so nothing forces it hidden);
    # half of them on education too (4 pairs: too few to show, and hidden).
    cases = [
        _case(
            f"q{i}",
            2015,
            outcome_safety_start=2,
            outcome_safety_end=3 + i % 2,
            **({"outcome_education_start": 1, "outcome_education_end": 2} if i < 4 else {}),
        )
        for i in range(8)
    ]
    t = sa.service_tables(_tables(cases), **KW)
    frame, rel = t["outcome_scales"], _release(t)
    fig = ps.outcome_scale_chart(frame, **KW, release=rel)
    assert [x.get_text() for x in fig.axes[0].get_xticklabels()] == ["Safety"]
    assert "1 scale" not in ps.outcome_scale_alt(frame, **KW, release=rel)  # five left out
    assert "5 scales left out" in ps.outcome_scale_alt(frame, **KW, release=rel)
    plt.close(fig)


# --------------------------------------------------------------------------- full synthetic data
@pytest.fixture(scope="module")
def synthetic_tables(request, tmp_path_factory) -> dict[str, pd.DataFrame]:
    """The processed synthetic data: the shared fixture if there is one, else generated and cleaned here."""
    from hubspoke.load import load_tables

    try:
        return load_tables(Path(request.getfixturevalue("synthetic_processed")))
    except pytest.FixtureLookupError:
        pass
    from hubspoke.clean import clean_all
    from hubspoke.config import get_settings

    try:
        raw = Path(request.getfixturevalue("synthetic_raw"))
    except pytest.FixtureLookupError:
        from hubspoke.synth import generate

        raw = tmp_path_factory.mktemp("raw")
        generate(raw, seed=2014)
    work = tmp_path_factory.mktemp("service_analysis")
    key = work / "pseudonym.key"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HUBSPOKE_KEY_FILE", str(key))
        clean_all(raw, work / "out", settings=get_settings().with_paths(key_file=key))
    return load_tables(work / "out")


def test_every_service_year_of_the_synthetic_data_runs(synthetic_tables):
    pairs = [
        (s, y) for s, years in load.available_service_years(synthetic_tables).items() for y in years
    ]
    assert len(pairs) == 27
    functions = (
        sa.reach,
        sa.demographics,
        sa.referral_sources,
        sa.risk_transitions,
        sa.missing_episodes,
        sa.outcome_scale_change,
        sa.professional_activity,
        sa.policy_progress,
        sa.spoke_survey_summary,
        sa.data_completeness,
        sa.year_on_year,
    )
    for service_id, year in pairs:
        for function in functions:
            function(synthetic_tables, service_id=service_id, year=year)
    for service_id in {s for s, _ in pairs}:
        sa.service_profile(synthetic_tables, service_id=service_id)
    # every funder table of every service-year: one value per identity across all of them
    every = {
        (s, y, key): table
        for s, y in pairs
        for key, table in sa.service_tables(synthetic_tables, service_id=s, year=y).items()
    }
    gather(every.values())
    # charts for one service with three years, from its tables as the release shows them
    kw = {"service_id": "S01", "year": 2016}
    t = {key: table for (s, y, key), table in every.items() if (s, y) == ("S01", 2016)}
    t["risk.crosstab"] = sa.risk_crosstab_table(synthetic_tables, **kw)
    rel = _release(t)
    for chart, args in (
        (ps.referral_sources_chart, (t["referral_sources"],)),
        (ps.risk_transition_chart, (t["risk.crosstab"],)),
        (ps.missing_episodes_chart, (t["missing.summary"], t["missing.direction"])),
        (ps.outcome_scale_chart, (t["outcome_scales"],)),
        (ps.year_on_year_chart, (t["year_on_year"],)),
    ):
        fig = chart(*args, **kw, release=rel)
        if fig is not None:  # None: nothing or one value to draw (issue 18)
            assert _title(fig), chart.__name__
            plt.close(fig)
