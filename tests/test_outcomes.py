"""The six core outcomes: framework validation, each indicator kind, ratings, and the synthetic data."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from hubspoke.analysis import outcomes as oc
from hubspoke.errors import ConfigError, SchemaError
from hubspoke.spec.processed import SCHEMAS

NA = pd.NA


def _frame(table: str, rows: list[dict]) -> pd.DataFrame:
    """A processed-table frame with declared dtypes; columns not given are null."""
    empty = SCHEMAS[table].empty()
    data = pd.DataFrame(rows).reindex(columns=empty.columns)
    return data.astype({c: empty[c].dtype for c in empty.columns})


def _write(tmp_path: Path, body: str, *, name: str = "fw.toml") -> Path:
    """A framework file: the default rule and one impact area plus ``body`` (outcomes)."""
    head = """
title = "test"
[rule]
min_completeness = 0.5
min_indicators = 1
text = "At least {min_indicators} indicator; {levels_text}."
[rule.min_n]
cases = 2
activities = 1
spoke_survey = 1
policy = 1
[[rule.levels]]
label = "Strong"
min_share_met = 0.75
[[rule.levels]]
label = "Some"
min_share_met = 0.5
[[rule.levels]]
label = "Little"
min_share_met = 0
[[impact_areas]]
id = 1
name = "Area one"
"""
    path = tmp_path / name
    path.write_text(head + body, encoding="utf-8")
    return path


def _outcome(indicator: str, *, extra: str = "") -> str:
    return f"""
[[outcomes]]
id = 1
name = "Test outcome"
impact_area = 1
statement = "Something improves."
[[outcomes.indicators]]
id = "1.1"
label = "Test indicator"
description = "What it measures."
direction = "higher"
unit = "proportion"
target = 0.5
{indicator}
{extra}
"""


def _one(tables: dict, indicator: str, tmp_path: Path, **kw) -> pd.DataFrame:
    fw = oc.load_framework(_write(tmp_path, _outcome(indicator)))
    return oc.indicators(tables, framework=fw, **kw)


# ---------------------------------------------------------------------------
# The shipped framework
# ---------------------------------------------------------------------------


def test_default_framework_has_six_outcomes_in_three_areas() -> None:
    fw = oc.load_framework()
    assert [o.name for o in fw.outcomes] == [
        "Identification", "Safety", "Engagement", "Professional capability", "Spoke integration",
        "Policy framework",
    ]  # fmt: skip
    assert [o.impact_area_id for o in fw.outcomes] == [1, 1, 1, 2, 2, 3]
    assert all(o.indicators and o.statement for o in fw.outcomes)
    table = oc.framework_table(fw)
    assert len(table) == sum(len(o.indicators) for o in fw.outcomes)
    assert table["threshold"].str.match(r"at (least|most) ").all()
    text = oc.outcome_rule_text(fw)
    assert "{" not in text and "Not enough data" in text and "50%" in text
    # the rule's words come from the file: scaled targets, change indicators, the veto, CIs
    assert "young people referred: at least 10 young people per Spoke worker" in text
    assert "(risk reduced, fewer missing episodes, change in feeling safe" in text
    assert "Required indicators (core elements started)" in text
    assert "more than 1/3 of its indicators without enough data" in text
    assert "95% confidence interval" in text
    assert table.set_index("indicator_id").loc["6.3", "veto"]


# ---------------------------------------------------------------------------
# Each kind on hand-built frames
# ---------------------------------------------------------------------------

CASES = [
    # S01 2015: 4 rows, 3 distinct young people
    {"service_id": "S01", "year": 2015, "young_person_id": "a", "referral_source": "Police",
     "risk_reduced": True, "missing_before": 3, "missing_change": -2, "contacts": 10,
     "closure_date": pd.Timestamp("2015-06-01"), "planned_ending": True,
     "concern_date": pd.Timestamp("2015-01-01"), "referral_date": pd.Timestamp("2015-01-11"),
     "outcome_safety_start": 2, "outcome_safety_end": 4, "outcome_education_start": 3, "outcome_education_end": 3},
    {"service_id": "S01", "year": 2015, "young_person_id": "b", "referral_source": "Education",
     "risk_reduced": False, "missing_before": 0, "missing_change": 0, "contacts": 20,
     "closure_date": pd.Timestamp("2015-07-01"), "planned_ending": False,
     "referral_date": pd.Timestamp("2015-02-01"),
     "outcome_safety_start": 3, "outcome_safety_end": 2},
    {"service_id": "S01", "year": 2015, "young_person_id": "b", "referral_source": NA,
     "risk_reduced": NA, "missing_before": 2, "missing_change": NA, "contacts": 30,
     "concern_date": pd.Timestamp("2015-03-01"), "referral_date": pd.Timestamp("2015-03-05"),
     "outcome_safety_start": 1},
    {"service_id": "S01", "year": 2015, "young_person_id": "c", "referral_source": "Health",
     "risk_reduced": True, "missing_before": 1, "missing_change": 1, "contacts": 40,
     "referral_date": pd.Timestamp("2015-04-01")},
    # S02 2015: one row
    {"service_id": "S02", "year": 2015, "young_person_id": "d", "referral_source": "Police",
     "risk_reduced": False, "missing_before": 0, "contacts": 5, "referral_date": pd.Timestamp("2015-04-01")},
]  # fmt: skip


@pytest.fixture
def cases() -> dict[str, pd.DataFrame]:
    return {"cases": _frame("cases", CASES)}


def _row(ind: pd.DataFrame, service: str = "S01") -> pd.Series:
    return ind.set_index("service_id").loc[service]


def test_count_distinct(cases: dict, tmp_path: Path) -> None:
    ind = _one(cases, 'table = "cases"\nkind = "count"\ndistinct = "young_person_id"', tmp_path)
    row = _row(ind)
    assert (row["numerator"], row["denominator"], row["value"], row["completeness"]) == (
        3,
        4,
        3,
        1.0,
    )
    assert _row(ind, "S02")["value"] == 1


def test_count_with_where_and_none_eligible(cases: dict, tmp_path: Path) -> None:
    ind = _one(
        cases,
        'table = "cases"\nkind = "count"\nwhere = [{ column = "planned_ending", is = true }]',
        tmp_path,
    )
    assert _row(ind)["value"] == 1
    s02 = _row(ind, "S02")
    assert s02["value"] == 0 and s02["completeness"] == 1.0 and s02["denominator"] == 1


def test_sum(tmp_path: Path) -> None:
    acts = _frame(
        "activities",
        [
            {"service_id": "S01", "year": 2014, "activity_type": "Training", "participants": 12},
            {"service_id": "S01", "year": 2014, "activity_type": "Training", "participants": 8},
            {"service_id": "S01", "year": 2014, "activity_type": "Consultation", "participants": 1},
        ],
    )
    body = 'table = "activities"\nkind = "sum"\ncolumn = "participants"\nwhere = [{ column = "activity_type", in = ["Training"] }]'
    row = _row(_one({"activities": acts}, body, tmp_path))
    assert (row["numerator"], row["denominator"], row["value"]) == (20, 3, 20)


def test_proportion_excludes_missing_and_reports_completeness(cases: dict, tmp_path: Path) -> None:
    row = _row(
        _one(
            cases,
            'table = "cases"\nkind = "proportion"\nsuccess = [{ column = "risk_reduced", is = true }]',
            tmp_path,
        )
    )
    assert (row["numerator"], row["denominator"]) == (2, 3)
    assert row["value"] == pytest.approx(2 / 3)
    assert row["completeness"] == pytest.approx(3 / 4)
    assert row["n_units"] == 3


def test_proportion_with_where_and_in(cases: dict, tmp_path: Path) -> None:
    body = (
        'table = "cases"\nkind = "proportion"\nwhere = [{ column = "missing_before", min = 1 }]\n'
        'success = [{ column = "missing_change", max = -1 }]'
    )
    row = _row(_one(cases, body, tmp_path))
    # eligible: a (3, -2), b (2, NA), c (1, +1): 2 with data, 1 fewer
    assert (row["numerator"], row["denominator"], row["completeness"]) == (
        1,
        2,
        pytest.approx(2 / 3),
    )
    body = 'table = "cases"\nkind = "proportion"\nsuccess = [{ column = "referral_source", in = ["Education", "Health"] }]'
    row = _row(_one(cases, body, tmp_path))
    assert (row["numerator"], row["denominator"]) == (2, 3)


def test_mean_and_median(cases: dict, tmp_path: Path) -> None:
    row = _row(_one(cases, 'table = "cases"\nkind = "mean"\ncolumn = "contacts"', tmp_path))
    assert (row["numerator"], row["denominator"], row["value"]) == (100, 4, 25)
    row = _row(_one(cases, 'table = "cases"\nkind = "median"\ncolumn = "contacts"', tmp_path))
    assert row["value"] == 25 and pd.isna(row["numerator"])
    body = 'table = "cases"\nkind = "median"\ndifference = ["concern_date", "referral_date"]'
    row = _row(_one(cases, body, tmp_path))
    assert row["value"] == 7  # median of 10 and 4 days
    assert (row["denominator"], row["completeness"]) == (2, 0.5)


def test_mean_change_averages_pairs_per_row(cases: dict, tmp_path: Path) -> None:
    body = (
        'table = "cases"\nkind = "mean_change"\n'
        'pairs = [["outcome_safety_start", "outcome_safety_end"], ["outcome_education_start", "outcome_education_end"]]'
    )
    row = _row(_one(cases, body, tmp_path))
    # a: (+2, 0) -> 1; b: (-1) -> -1; third row has start only
    assert (row["numerator"], row["denominator"], row["value"]) == (0, 2, 0)
    assert row["completeness"] == 0.5


def test_service_and_year_filters_and_missing_table(cases: dict, tmp_path: Path) -> None:
    tables = {**cases, "policy": _frame("policy", [{"service_id": "S03", "year": 2016, "la_code": "E1",
                                                    "element": "CSE strategy", "status": "Embedded",
                                                    "status_score": 3}])}  # fmt: skip
    ind = _one(tables, 'table = "cases"\nkind = "count"', tmp_path)
    assert sorted(zip(ind["service_id"], ind["year"], strict=True)) == [
        ("S01", 2015),
        ("S02", 2015),
        ("S03", 2016),
    ]
    s03 = _row(ind, "S03")
    assert (
        pd.isna(s03["value"])
        and s03["n_units"] == 0
        and not s03["enough_data"]
        and pd.isna(s03["meets_threshold"])
    )
    only = _one(tables, 'table = "cases"\nkind = "count"', tmp_path, service_id="S01", year=2015)
    assert list(only["service_id"]) == ["S01"]


def test_pooled_scales_count_targets(cases: dict, tmp_path: Path) -> None:
    text = _outcome('table = "cases"\nkind = "count"')
    path = _write(tmp_path, text)
    path.write_text(
        path.read_text().replace(
            "min_indicators = 1", 'min_indicators = 1\nscale_targets_for_kinds = ["count"]'
        )
    )
    fw = oc.load_framework(path)
    pooled = oc.indicators(cases, framework=fw, by=())
    assert list(pooled["service_id"]) == ["All services"] and pooled["year"].isna().all()
    assert pooled["value"].iloc[0] == 5 and pooled["target"].iloc[0] == 1.0  # 0.5 x 2 service-years
    assert pooled["n_service_years"].iloc[0] == 2
    programme = oc.programme_indicators(cases, framework=fw)
    assert programme["year"].iloc[0] == 2015 and programme["year"].isna().sum() == 1
    per_year = oc.indicators(cases, framework=fw, by=("year",))
    assert per_year["target"].iloc[0] == 1.0


# ---------------------------------------------------------------------------
# Ratings: k of m over ALL indicators; a gap never raises a rating
# ---------------------------------------------------------------------------

STRONG, SOME, LITTLE = (
    "Strong evidence of progress", "Some evidence of progress", "Little evidence of progress",
)  # fmt: skip
FIRST_YEAR = "No progress judgement yet (first year)"


def _indicator_rows(
    specs: list[tuple[bool, bool | None, int, float]], *, status: list[str] | None = None
) -> pd.DataFrame:
    """Indicator rows for one outcome: (enough_data, meets, n_units, completeness).

    Every indicator measures change (progress = meets its target) unless ``status``
    gives each one's progress status (a level indicator's comparison with its baseline).
    """
    rows = []
    for k, (e, m, n, c) in enumerate(specs, 1):
        st = (
            status[k - 1] if status else ("not enough data" if not e else "met" if m else "not met")
        )
        rows.append(
            {
                "service_id": "S01", "year": 2015, "impact_area_id": 1, "impact_area": "A",
                "outcome_id": 2, "outcome": "Safety", "indicator_id": f"2.{k}",
                "indicator": f"Ind {k}", "enough_data": e, "meets_threshold": m, "n_units": n,
                "min_n": 10, "n_label": "young people with both risk ratings", "completeness": c,
                "progress": {"met": True, "sustained": True, "not met": False}.get(st),
                "progress_status": st, "veto": False, "veto_met": None,
            }
        )  # fmt: skip
    return pd.DataFrame(rows).astype(
        {"meets_threshold": "boolean", "progress": "boolean", "veto_met": "boolean"}
    )


@pytest.mark.parametrize(
    ("specs", "rating", "basis"),
    [
        ([(True, True, 20, 1), (True, True, 20, 1), (True, True, 20, 1)], STRONG,
         "3 of 3 indicators met; 0 without enough data"),
        # the missing indicator counts as not met: 1 of 3, not 1 of 2 (which would be "Some")
        ([(True, True, 20, 1), (True, False, 20, 1), (False, None, 3, 0.2)], LITTLE,
         "1 of 3 indicators met; 1 without enough data"),
        ([(True, True, 20, 1), (True, True, 20, 1), (False, None, 3, 0.2)], SOME,
         "2 of 3 indicators met; 1 without enough data"),
        ([(True, False, 20, 1), (True, False, 20, 1), (True, True, 20, 1)], LITTLE,
         "1 of 3 indicators met; 0 without enough data"),
    ],
)  # fmt: skip
def test_rating_levels_count_every_indicator(specs: list, rating: str, basis: str) -> None:
    rated = oc.ratings(_indicator_rows(specs))
    assert len(rated) == 1
    row = rated.iloc[0]
    assert (row["rating"], row["basis"], row["level_basis"]) == (rating, basis, basis)
    assert row["n_indicators"] == len(specs)


def test_too_many_missing_is_not_enough_data_and_names_the_shortfall() -> None:
    rated = oc.ratings(
        _indicator_rows([(True, True, 20, 1), (False, None, 4, 1.0), (False, None, 12, 0.3)])
    )
    row = rated.iloc[0]
    assert row["rating"] == "Not enough data" and row["level_rating"] == "Not enough data"
    assert row["basis"] == "1 of 3 indicators met; 2 without enough data"
    assert "only 4 young people with both risk ratings" in row["reason"]
    assert "recorded for 30% of eligible rows (50% needed)" in row["reason"]
    # exactly a third missing is not "more than a third"; one of two is
    one_of_three = oc.ratings(_indicator_rows([(True, True, 20, 1)] * 2 + [(False, None, 4, 1)]))
    assert one_of_three["rating"].iloc[0] == SOME
    one_of_two = oc.ratings(_indicator_rows([(True, True, 20, 1), (False, None, 4, 1)]))
    assert one_of_two["rating"].iloc[0] == "Not enough data"


def test_a_gap_never_raises_a_rating_nor_its_confidence() -> None:
    """Every outcome of 1-5 indicators (met, not met, gap, no baseline; vetoed or not): turning
    any judged indicator into a gap never raises the rating, the level or the confidence."""
    rule = oc.load_framework().rule
    conf = rule.confidence_labels

    def judge(st: tuple[str, ...], levels: tuple, veto: bool) -> oc.Judgement:
        a = np.array(st)
        return oc.judge(
            a == "met", a == "gap", np.zeros(len(a), dtype=bool), rule,
            levels=levels, no_baseline=a == "first", veto_failed=veto,
        )  # fmt: skip

    checked = 0
    for m in range(1, 6):
        for st in itertools.product(("met", "not met", "gap", "first"), repeat=m):
            for levels, order in (
                (rule.levels, rule.labels),
                (rule.target_levels, rule.level_labels),
            ):
                for veto in (False, True):
                    before = judge(st, levels, veto)
                    for i, s in enumerate(st):
                        if s not in ("met", "not met"):
                            continue
                        after = judge((*st[:i], "gap", *st[i + 1 :]), levels, veto)
                        if before.label == rule.no_baseline_label:  # no judgement to raise
                            assert after.label in (before.label, rule.not_enough_label), st
                        elif after.label != rule.no_baseline_label:
                            assert order.index(after.label) <= order.index(before.label), st
                        if rule.not_applicable_label not in (before.confidence, after.confidence):
                            assert conf.index(after.confidence) <= conf.index(before.confidence)
                        assert after.n_met <= before.n_met and after.n_indicators == m
                        checked += 1
    assert checked > 10_000


def test_confidence_falls_with_gaps_and_patchy_data() -> None:
    full = oc.ratings(_indicator_rows([(True, True, 20, 1.0)] * 3)).iloc[0]
    patchy = oc.ratings(_indicator_rows([(True, True, 20, 1.0)] * 2 + [(True, True, 20, 0.6)]))
    gap_and_patchy = oc.ratings(
        _indicator_rows([(True, True, 20, 1.0), (True, True, 20, 0.6), (False, None, 3, 1.0)])
    )
    assert full["confidence"] == "High"
    assert patchy["confidence"].iloc[0] == "Moderate"  # 1 of 3 patchy: at most 1/3
    assert patchy["rating"].iloc[0] == STRONG  # patchy but enough data: still judged
    assert gap_and_patchy["confidence"].iloc[0] == "Low"  # 2 of 3 with a gap


def test_first_year_level_indicators_have_no_progress_judgement() -> None:
    specs = [(True, True, 20, 1.0)] * 3
    first = oc.ratings(_indicator_rows(specs, status=["no baseline (first year)"] * 3)).iloc[0]
    assert first["rating"] == FIRST_YEAR and first["confidence"] == "Not applicable"
    assert first["level_rating"] == "Most targets met"  # the level is still judged
    assert first["basis"].endswith("3 with no baseline yet (first year)")
    # one change indicator of three is judged, two wait for a baseline: too few to rate
    mixed = oc.ratings(
        _indicator_rows(specs, status=["met", *["no baseline (first year)"] * 2])
    ).iloc[0]
    assert mixed["rating"] == FIRST_YEAR
    later = oc.ratings(_indicator_rows(specs, status=["met", "sustained", "not met"])).iloc[0]
    assert (
        later["rating"] == SOME and later["basis"] == "2 of 3 indicators met; 0 without enough data"
    )


def test_veto_holds_the_outcome_at_the_lowest_level() -> None:
    rows = _indicator_rows([(True, True, 20, 1.0)] * 3).assign(
        veto=[False, False, True], meets_threshold=pd.array([True, True, False], dtype="boolean"),
        veto_met=pd.array([None, None, False], dtype="boolean"), progress_status="met",
        progress=pd.array([True, True, True], dtype="boolean"),
    )  # fmt: skip
    row = oc.ratings(rows).iloc[0]
    assert row["rating"] == LITTLE and row["level_rating"] == "Few targets met"
    assert row["vetoed"] and "held at the lowest level: ind 3 not met" in row["basis"]
    assert "3 of 3 indicators met" in row["basis"]  # the count is still told
    kept = oc.ratings(rows.assign(veto_met=pd.array([None, None, True], dtype="boolean")))
    assert kept["rating"].iloc[0] == STRONG and not kept["vetoed"].iloc[0]


POLICY_ROWS = [
    # S12, one area, 2016 (its first year): CSE strategy not started, the rest well along
    *({"service_id": "S12", "year": 2016, "la_code": "E1", "element": e, "status": s, "status_score": n}
      for e, s, n in [("CSE strategy", "Not started", 0), ("CSE procedures", "In place", 2),
                      ("MASE meetings", "Embedded", 3), ("Data sharing agreement", "Embedded", 3),
                      ("Commissioned CSE service", "In place", 2)]),
    # 2017: the strategy in development
    *({"service_id": "S12", "year": 2017, "la_code": "E1", "element": e, "status": s, "status_score": n}
      for e, s, n in [("CSE strategy", "In development", 1), ("CSE procedures", "In place", 2),
                      ("MASE meetings", "Embedded", 3), ("Data sharing agreement", "Embedded", 3),
                      ("Commissioned CSE service", "Embedded", 3)]),
]  # fmt: skip


def test_policy_with_a_core_element_not_started_is_never_strong() -> None:
    """The default framework's veto (core elements started) on S12-like returns."""
    tables = {"policy": _frame("policy", POLICY_ROWS)}
    ind = oc.indicators(tables)
    rated = oc.ratings(ind).set_index(["year", "outcome"])
    first = rated.loc[(2016, "Policy framework")]
    assert first["level_rating"] == "Few targets met" and first["vetoed"]
    assert first["level_basis"] == (
        "2 of 3 indicators met; 0 without enough data; "
        "held at the lowest level: core elements started not met"
    )
    assert first["rating"] == FIRST_YEAR
    second = rated.loc[(2017, "Policy framework")]
    assert second["rating"] == STRONG and second["level_rating"] == "Most targets met"
    core = ind.set_index(["year", "indicator_id"]).loc[(2016, "6.3")]
    assert (core["numerator"], core["denominator"], core["meets_threshold"]) == (2, 3, False)


def test_small_service_year_is_not_enough_data(cases: dict, tmp_path: Path) -> None:
    """S02 has one young person: below min_n = 2, so its outcome is 'Not enough data'."""
    fw = oc.load_framework(_write(tmp_path, _outcome('table = "cases"\nkind = "proportion"\n'
                                                      'success = [{ column = "risk_reduced", is = true }]')))  # fmt: skip
    ind = oc.indicators(cases, framework=fw)
    assert not _row(ind, "S02")["enough_data"]
    rated = oc.ratings(ind, framework=fw).set_index("service_id")
    assert rated.loc["S02", "level_rating"] == "Not enough data"
    assert rated.loc["S02", "rating"] == FIRST_YEAR  # its only year: no progress judgement at all
    # 2/3 >= 0.5 target, 1 of 1 met; a level indicator in the service's only year
    assert rated.loc["S01", "level_rating"] == "Most targets met"
    assert rated.loc["S01", "rating"] == FIRST_YEAR


# ---------------------------------------------------------------------------
# Progress on a baseline, and targets scaled by size
# ---------------------------------------------------------------------------


def _cases_by_year(counts: dict[tuple[str, int], int], *, reduced: float = 0.5) -> pd.DataFrame:
    rows = [
        {"service_id": sid, "year": year, "young_person_id": f"{sid}-{year}-{i}",
         "risk_reduced": i < reduced * n}
        for (sid, year), n in counts.items()
        for i in range(n)
    ]  # fmt: skip
    return _frame("cases", rows)


def test_level_progress_is_improvement_on_the_first_year(tmp_path: Path) -> None:
    body = (
        'table = "cases"\nkind = "count"\ndistinct = "young_person_id"\nmin_n = 1\nmin_change = 2'
    )
    path = _write(tmp_path, _outcome(body))
    path.write_text(path.read_text().replace("target = 0.5", "target = 100"))
    fw = oc.load_framework(path)
    tables = {"cases": _cases_by_year({("S01", 2014): 10, ("S01", 2015): 12, ("S01", 2016): 11})}
    ind = oc.indicators(tables, framework=fw).set_index("year")
    assert ind.loc[2014, "progress_status"] == "no baseline (first year)"
    assert ind.loc[2015, "progress_status"] == "met"  # 12 - 10 >= 2
    assert ind.loc[2016, "progress_status"] == "not met"  # 11 - 10 < 2
    assert (ind["baseline_year"] == 2014).all() and (ind["baseline_value"] == 10).all()
    # one year asked for: the baseline still comes from the first year
    one = oc.indicators(tables, framework=fw, year=2015)
    assert one["progress_status"].tolist() == ["met"] and one["baseline_value"].iloc[0] == 10
    # pooled over the service's years: the latest year against the first
    pooled = oc.indicators(tables, framework=fw, by=("service_id",)).iloc[0]
    assert (pooled["progress_year"], pooled["progress_status"], pooled["value"]) == (
        2016,
        "not met",
        33,
    )
    # pooled over services: no baseline
    programme = oc.indicators(tables, framework=fw, by=("year",))
    assert set(programme["progress_status"]) == {"no baseline (pooled over services)"}


def test_sustained_target_is_progress(tmp_path: Path) -> None:
    body = 'table = "cases"\nkind = "count"\nmin_n = 1\nmin_change = 5'
    fw = oc.load_framework(_write(tmp_path, _outcome(body)))  # target 0.5: always met
    tables = {"cases": _cases_by_year({("S01", 2014): 10, ("S01", 2015): 10})}
    ind = oc.indicators(tables, framework=fw).set_index("year")
    assert ind.loc[2015, "progress_status"] == "sustained" and ind.loc[2015, "progress"]


def test_change_indicators_progress_by_their_target(tmp_path: Path) -> None:
    body = 'table = "cases"\nkind = "proportion"\nbasis = "change"\nsuccess = [{ column = "risk_reduced", is = true }]'
    fw = oc.load_framework(_write(tmp_path, _outcome(body)))
    tables = {"cases": _cases_by_year({("S01", 2014): 10, ("S01", 2015): 10}, reduced=0.6)}
    ind = oc.indicators(tables, framework=fw).set_index("year")
    # first year too: a change since the start of support needs no earlier year
    assert ind["progress_status"].tolist() == ["met", "met"] and ind["baseline_year"].isna().all()
    rated = oc.ratings(oc.indicators(tables, framework=fw), framework=fw)
    assert rated["rating"].tolist() == ["Strong", "Strong"]


def _sized(tmp_path: Path, per: str) -> oc.Framework:
    body = f'table = "cases"\nkind = "count"\nmin_n = 1\ntarget_per = "{per}"'
    path = _write(tmp_path, _outcome(body))
    path.write_text(
        path.read_text()
        .replace("target = 0.5", "target = 4")
        .replace("min_indicators = 1", 'min_indicators = 1\nscale_targets_for_kinds = ["count"]')
    )
    return oc.load_framework(path)


def test_targets_scale_per_spoke_worker(tmp_path: Path) -> None:
    tables = {
        "cases": _cases_by_year({("S01", 2014): 10, ("S01", 2015): 10}),
        "services": _frame("services", [{"service_id": "S01", "n_spokes": 5, "la_codes": "E1"}]),
        # two Spokes from 2014, a third from 2015
        "spokes": _frame("spokes", [{"spoke_id": f"K{i}", "service_id": "S01", "start_year": y}
                                    for i, y in enumerate([2014, 2014, 2015])]),
    }  # fmt: skip
    fw = _sized(tmp_path, "Spoke worker")
    ind = oc.indicators(tables, framework=fw).set_index("year")
    assert ind.loc[2014, ["size", "target"]].tolist() == [2, 8]  # 4 per Spoke x 2
    assert ind.loc[2015, ["size", "target"]].tolist() == [3, 12]
    assert ind.loc[2014, "meets_threshold"] and not ind.loc[2015, "meets_threshold"]
    assert ind.loc[2015, "scaled_value"] == pytest.approx(10 / 3)
    # 10/3 per Spoke is less than 10/2 per Spoke: no progress though the count is the same
    assert ind.loc[2015, "progress_status"] == "not met"
    pooled = oc.indicators(tables, framework=fw, by=("service_id",)).iloc[0]
    assert (pooled["size"], pooled["target"]) == (5, 20)  # Spoke-years pooled
    # no Spoke rows: the service's declared number
    no_rows = oc.indicators({k: v for k, v in tables.items() if k != "spokes"}, framework=fw)
    assert no_rows["size"].tolist() == [5, 5]


def test_targets_scale_per_10000_children_and_per_young_person(tmp_path: Path) -> None:
    context = _frame("context", [
        {"la_code": "E1", "year": 2018, "population": 30_000},
        {"la_code": "E2", "year": 2018, "population": 20_000},
        {"la_code": "E1", "year": 2019, "population": 31_000},
    ])  # fmt: skip
    tables = {
        "cases": _cases_by_year({("S01", 2015): 10}),
        "services": _frame("services", [{"service_id": "S01", "n_spokes": 2, "la_codes": "E1;E2"}]),
        "context": context,
    }  # fmt: skip
    row = oc.indicators(tables, framework=_sized(tmp_path, "10,000 children")).iloc[0]
    # the nearest year with every area: 2018, 50,000 children = 5 x 10,000
    assert (row["size"], row["target"]) == (5, 20) and not row["meets_threshold"]
    missing = oc.indicators(
        {**tables, "context": context.iloc[[0]]}, framework=_sized(tmp_path, "10,000 children")
    )
    assert pd.isna(missing["target"].iloc[0]) and not missing["enough_data"].iloc[0]
    rated = oc.ratings(missing, framework=_sized(tmp_path, "10,000 children"))
    assert "no 10,000 children figure" in rated["reason"].iloc[0]
    per_person = oc.indicators(tables, framework=_sized(tmp_path, "young person")).iloc[0]
    assert (per_person["size"], per_person["target"]) == (10, 40)


def test_target_per_needs_a_scaled_kind(tmp_path: Path) -> None:
    path = _write(tmp_path, _outcome(GOOD + '\ntarget_per = "Spoke worker"'))
    with pytest.raises(SchemaError, match=r"field 'target_per' scales only"):
        oc.load_framework(path)


# ---------------------------------------------------------------------------
# Confidence intervals against published or hand calculations
# ---------------------------------------------------------------------------


def test_wilson_matches_newcombe_1998() -> None:
    """Newcombe (1998, Stat Med 17:857) Table I, method 3 (Wilson score)."""
    low, high = oc.wilson_interval(pd.Series([81, 15, 0, 1]), pd.Series([263, 148, 20, 29]))
    assert low.round(4).tolist() == [0.2553, 0.0624, 0.0, 0.0061]
    assert high.round(4).tolist() == [0.3662, 0.1605, 0.1611, 0.1718]


def test_exact_poisson_matches_garwood_table() -> None:
    low, high = oc.poisson_interval(pd.Series([0, 5, 10]))
    assert low.round(3).tolist() == [0.0, 1.623, 4.795]
    assert high.round(3).tolist() == [3.689, 11.668, 18.390]


def test_t_interval_and_median_order_statistics_by_hand() -> None:
    # 1..5: mean 3, sd sqrt(2.5), t(4) = 2.776445: 3 -/+ 2.776445 * 1.581139 / sqrt(5)
    low, high = oc.t_interval(pd.Series([3.0]), pd.Series([np.sqrt(2.5)]), pd.Series([5]))
    assert (low.iloc[0], high.iloc[0]) == (
        pytest.approx(1.036757, abs=1e-6),
        pytest.approx(4.963243, abs=1e-6),
    )
    assert np.isnan(oc.t_interval(pd.Series([3.0]), pd.Series([np.nan]), pd.Series([1]))[0].iloc[0])
    # n = 10: 2nd to 9th values (P(B <= 1) = 11/1024 < 0.025 <= P(B <= 2) for B ~ Bin(10, 1/2))
    assert oc.median_interval(np.array([7, 1, 3, 10, 2, 9, 4, 8, 6, 5])) == (2.0, 9.0)
    assert oc.median_interval(np.arange(1, 7)) == (1.0, 6.0)  # n = 6: 1 - 2/64 >= 95%
    assert all(np.isnan(oc.median_interval(np.arange(1, 6))))  # n = 5: 1 - 2/32 < 95%


def test_cluster_robust_ratio_by_hand() -> None:
    parts = pd.DataFrame({"num": [2, 6, 4], "den": [10, 10, 20]})
    low, high, k = oc.cluster_ratio_interval(parts)
    # ratio 12/40 = 0.3: service ratios 0.2, 0.6, 0.2 weighted 10, 10, 20 (h = 1/4, 1/4, 1/2);
    # CR2 variance 1/16 * 0.01 / (3/4) + 1/16 * 0.09 / (3/4) + 1/4 * 0.01 / (1/2) = 1/75;
    # c = h^2 / (1 - h) = 1/12, 1/12, 1/2: df = 1 / (3/8 + (2/3)^2 - (1/144 + 1/144 + 1/4)) = 1.8;
    # t(0.975, 1.8) = 4.794881 (scipy)
    half = 4.794881 * np.sqrt(1 / 75)
    assert (
        k == 3
        and low == pytest.approx(0.3 - half, abs=1e-6)
        and high == pytest.approx(0.3 + half, abs=1e-6)
    )
    assert np.isnan(oc.cluster_ratio_interval(parts.iloc[[0]])[0])


def test_every_indicator_carries_its_interval(cases: dict) -> None:
    ind = oc.indicators(cases).set_index(["service_id", "indicator_id"])
    risk = ind.loc[("S01", "2.1")]  # 2 of 3 with both ratings
    low, high = oc.wilson_interval(pd.Series([2]), pd.Series([3]))
    assert (risk["ci_low"], risk["ci_high"], risk["ci_method"]) == (
        low.iloc[0],
        high.iloc[0],
        "Wilson",
    )
    referred = ind.loc[("S01", "1.1")]
    assert referred["ci_method"] == "exact Poisson" and referred["ci_high"] == pytest.approx(
        8.767, abs=1e-3
    )
    contacts = ind.loc[("S01", "3.2")]  # median of 4 values: too few for an interval
    assert contacts["ci_method"] == "none" and pd.isna(contacts["ci_low"])
    valued = ind[ind["value"].notna() & ind["ci_low"].notna()]
    assert (valued["ci_low"] <= valued["value"]).all() and (
        valued["value"] <= valued["ci_high"]
    ).all()


def test_pooled_services_use_clustered_intervals() -> None:
    counts = {("S01", 2015): 20, ("S02", 2015): 20, ("S03", 2015): 20}
    tables = {"cases": _cases_by_year(counts, reduced=0.5)}
    tables["cases"].loc[tables["cases"]["service_id"].eq("S03"), "risk_reduced"] = True
    pooled = oc.indicators(tables, by=("year",)).set_index("indicator_id").loc["2.1"]
    low, high, _ = oc.cluster_ratio_interval(
        pd.DataFrame({"num": [10, 10, 20], "den": [20, 20, 20]})
    )
    w_low, w_high = (b.iloc[0] for b in oc.wilson_interval(pd.Series([40]), pd.Series([60])))
    assert pooled["ci_method"] == "cluster-robust (services)"
    assert (pooled["ci_low"], pooled["ci_high"]) == (
        pytest.approx(min(max(low, 0), w_low)),
        pytest.approx(max(min(high, 1), w_high)),
    )
    assert pooled["ci_high"] - pooled["ci_low"] > w_high - w_low  # wider than if independent
    # services that all agree: the clustered variance is 0, the interval stays Wilson's width
    tables["cases"]["risk_reduced"] = True
    agree = oc.indicators(tables, by=("year",)).set_index("indicator_id").loc["2.1"]
    w_low, _ = (b.iloc[0] for b in oc.wilson_interval(pd.Series([60]), pd.Series([60])))
    assert agree["ci_low"] == pytest.approx(w_low) and agree["ci_high"] == 1.0


# ---------------------------------------------------------------------------
# Display: rounded once, by the table
# ---------------------------------------------------------------------------


def test_evidence_keeps_full_precision() -> None:
    """12 of 34 is 35.29...% in the frame (the report's table shows 35%), never 0.3."""
    ind = oc.indicators({"cases": _cases_by_year({("S01", 2015): 34}, reduced=12 / 34)})
    evidence = oc.evidence_table(ind)
    risk = evidence.loc["Risk reduced"]
    assert risk["Value"] == pytest.approx(100 * 12 / 34, abs=1e-12) and risk["Unit"] == "%"
    low, high = oc.wilson_interval(pd.Series([12]), pd.Series([34]))
    assert (risk["CI low"], risk["CI high"]) == (100 * low.iloc[0], 100 * high.iloc[0])
    assert risk["Target"] == "at least 40%" and risk["Compared with"] == "start of support"
    referred = evidence.loc["Young people referred"]
    assert referred["Target"] == "at least 10 per Spoke worker (size not known)"
    assert referred["Progress"] == "no baseline yet (first year)"
    # completeness: 34 of 34 recorded is 100, not a rounded share
    scales = evidence.loc["Change across outcome scales"]
    assert scales["% with data"] == 0 and pd.isna(scales["Value"])


# ---------------------------------------------------------------------------
# Validation: every error names the file, the place and the field
# ---------------------------------------------------------------------------

GOOD = 'table = "cases"\nkind = "proportion"\nsuccess = [{ column = "risk_reduced", is = true }]'


@pytest.mark.parametrize(
    ("body", "pattern"),
    [
        (GOOD.replace('"proportion"', '"ratio"'), r"indicator '1\.1'.*field 'kind'.*allowed: count, sum.*found 'ratio'"),
        (GOOD.replace('"cases"', '"people"'), r"field 'table'.*allowed: cases, activities.*found 'people'"),
        (GOOD.replace("risk_reduced", "risk_down"), r"column 'risk_down'.*field 'success' names a column not in table cases"),
        (GOOD.replace('kind = "proportion"\n', ""), r"indicator '1\.1': field 'kind' is missing"),
        (GOOD.replace("success", "sucess"), r"field 'success' is missing|field 'sucess' is not a field"),
        (GOOD.replace("is = true", "in = [\"Maybe\"]"), r"values not allowed in cases\.risk_reduced|found \['Maybe'\]"),
        (GOOD.replace("is = true", "above = 1"), r"needs exactly one operator.*allowed: in, is, min"),
        ('table = "cases"\nkind = "mean"\ncolumn = "gender"', r"field 'column' must name a numeric column"),
        ('table = "cases"\nkind = "median"', r"needs exactly one of 'column' or 'difference'"),
        ('table = "cases"\nkind = "mean_change"\npairs = [["contacts"]]', r"field 'pairs' must be a pair"),
        (GOOD + '\nbasis = "trend"', r"field 'basis'.*allowed: level, change.*found 'trend'"),
        ('table = "cases"\nkind = "count"\ntarget_per = "Hub"', r"field 'target_per'.*allowed: service-year, Spoke worker.*found 'Hub'"),
        (GOOD + "\nmin_change = -1", r"field 'min_change' must be 0 or more"),
        (GOOD + '\nveto = "yes"', r"field 'veto' must be bool"),
    ],
)  # fmt: skip
def test_invalid_indicator(tmp_path: Path, body: str, pattern: str) -> None:
    path = _write(tmp_path, _outcome(body))
    with pytest.raises(SchemaError, match=pattern) as info:
        oc.load_framework(path)
    assert str(path) in str(info.value) and "outcome 1" in str(info.value)


def test_invalid_direction_and_missing_outcome_field(tmp_path: Path) -> None:
    path = _write(tmp_path, _outcome(GOOD).replace('direction = "higher"', 'direction = "up"'))
    with pytest.raises(SchemaError, match=r"field 'direction'.*allowed: higher, lower.*found 'up'"):
        oc.load_framework(path)
    path = _write(tmp_path, _outcome(GOOD).replace('statement = "Something improves."\n', ""))
    with pytest.raises(SchemaError, match=r"outcome 1: field 'statement' is missing"):
        oc.load_framework(path)
    path = _write(tmp_path, _outcome(GOOD).replace("impact_area = 1", "impact_area = 7"))
    with pytest.raises(SchemaError, match=r"field 'impact_area'.*allowed: 1.*found 7"):
        oc.load_framework(path)


def test_invalid_rule_and_file(tmp_path: Path) -> None:
    path = _write(tmp_path, _outcome(GOOD))
    path.write_text(path.read_text().replace("{levels_text}", "{nonsense}"))
    with pytest.raises(SchemaError, match=r"rule: field 'text' uses an unknown placeholder"):
        oc.load_framework(path)
    path.write_text(
        path.read_text().replace("{nonsense}", "{levels_text}").replace("= 0.5\n", "= 5\n", 1)
    )
    with pytest.raises(SchemaError, match=r"field 'min_completeness' must be between 0 and 1"):
        oc.load_framework(path)
    for line, pattern in [
        ('max_missing_share = "3/2"', r"field 'max_missing_share' must be a share from 0 to 1"),
        ("ci_level = 1.5", r"field 'ci_level' must be at least 0.5 and below 1"),
        (
            'confidence = [{ label = "Fine", max_gap_share = 0.5 }]',
            r"field 'confidence' needs one label",
        ),
    ]:
        path = _write(tmp_path, _outcome(GOOD))
        path.write_text(
            path.read_text().replace("min_completeness = 0.5", f"min_completeness = 0.5\n{line}")
        )
        with pytest.raises(SchemaError, match=pattern):
            oc.load_framework(path)
    path = _write(tmp_path, _outcome(GOOD) + "\n[[[broken")
    with pytest.raises(SchemaError, match="not valid TOML"):
        oc.load_framework(path)
    with pytest.raises(ConfigError, match="not found"):
        oc.load_framework(tmp_path / "nope.toml")


def test_duplicate_indicator_ids(tmp_path: Path) -> None:
    body = _outcome(GOOD) + _outcome(GOOD).split("[[outcomes.indicators]]")[1].join(
        ["[[outcomes.indicators]]", ""]
    )
    path = _write(tmp_path, body.replace("[[outcomes]]\nid = 1", "[[outcomes]]\nid = 1", 1))
    with pytest.raises(SchemaError, match=r"must be unique.*found \['1\.1'\]"):
        oc.load_framework(path)


# ---------------------------------------------------------------------------
# Replacing the file changes the output, without code changes
# ---------------------------------------------------------------------------


def test_modified_copy_of_the_default_framework(tmp_path: Path, cases: dict) -> None:
    text = oc.DEFAULT_FRAMEWORK.read_text(encoding="utf-8")
    default = oc.indicators(cases)
    assert "2.2" in set(default["indicator_id"])
    # remove indicator 2.2 and raise the risk-reduced target
    blocks = text.split("[[outcomes.indicators]]")
    kept = [b for b in blocks if 'id = "2.2"' not in b]
    changed = "[[outcomes.indicators]]".join(kept).replace(
        'success = [{ column = "risk_reduced", is = true }]\ndirection = "higher"\nunit = "proportion"\ntarget = 0.4',
        'success = [{ column = "risk_reduced", is = true }]\ndirection = "higher"\nunit = "proportion"\ntarget = 0.9',
    )
    assert changed != text
    path = tmp_path / "outcomes.toml"
    path.write_text(changed, encoding="utf-8")
    fw = oc.load_framework(path)
    new = oc.indicators(cases, framework=fw)
    assert "2.2" not in set(new["indicator_id"])
    assert len(new) == len(default) - default["service_id"].nunique()
    risk = new[(new["indicator_id"] == "2.1") & (new["service_id"] == "S01")].iloc[0]
    assert risk["target"] == 0.9
    table = oc.framework_table(fw)
    assert "2.2" not in set(table["indicator_id"])


def test_changed_rule_changes_ratings(tmp_path: Path, cases: dict) -> None:
    text = oc.DEFAULT_FRAMEWORK.read_text(encoding="utf-8")
    fw_default = oc.load_framework()
    lenient = tmp_path / "outcomes.toml"
    lenient.write_text(
        re.sub(r"\[rule\.min_n\]\ncases = 10", "[rule.min_n]\ncases = 1", text).replace(
            "min_completeness = 0.5", "min_completeness = 0.0"
        ),
        encoding="utf-8",
    )
    fw = oc.load_framework(lenient)
    strict = oc.ratings(oc.indicators(cases, framework=fw_default), framework=fw_default)
    loose = oc.ratings(oc.indicators(cases, framework=fw), framework=fw)
    safety = ("S01", 2)
    assert strict.set_index(["service_id", "outcome_id"]).loc[safety, "rating"] == "Not enough data"
    assert loose.set_index(["service_id", "outcome_id"]).loc[safety, "rating"] != "Not enough data"
    assert "0%" in oc.outcome_rule_text(fw)


# ---------------------------------------------------------------------------
# The full synthetic data
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def synthetic(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path]:
    """(raw, processed) folders: the shared ``synthetic_processed`` fixture if conftest has one, else cleaned here."""
    raw = request.getfixturevalue("synthetic_raw")
    try:
        return raw, request.getfixturevalue("synthetic_processed")
    except pytest.FixtureLookupError:
        pass
    from hubspoke.clean import clean_all

    key = tmp_path_factory.mktemp("key") / "pseudonym.key"
    out = tmp_path_factory.mktemp("processed_outcomes")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HUBSPOKE_KEY_FILE", str(key))
        clean_all(raw, out)
    return raw, out


def test_full_data_every_service_year_and_indicator(synthetic: tuple[Path, Path]) -> None:
    from hubspoke.load import load_tables

    tables = load_tables(synthetic[1])
    fw = oc.load_framework()
    ind = oc.indicators(tables, framework=fw)
    n_ind = len(fw.indicators)
    assert ind[["service_id", "year"]].drop_duplicates().shape[0] == 27
    assert len(ind) == 27 * n_ind
    assert not ind.duplicated(["service_id", "year", "outcome_id", "indicator_id"]).any()
    assert list(ind.columns) == list(oc.INDICATOR_COLUMNS)
    props = ind[ind["unit"] == "proportion"]["value"].dropna()
    assert props.between(0, 1).all()
    assert ind["completeness"].dropna().between(0, 1).all()
    assert (ind["meets_threshold"].isna() | ind["enough_data"]).all()
    assert (ind["ci_low"].isna() | ind["ci_low"].le(ind["value"] + 1e-12)).all()
    assert (ind["ci_high"].isna() | ind["ci_high"].ge(ind["value"] - 1e-12)).all()
    assert ind.loc[ind["value"].notna() & ind["denominator"].ge(10), "ci_low"].notna().all()
    rated = oc.ratings(ind, framework=fw)
    assert len(rated) == 27 * 6
    assert set(rated["rating"].astype(str)) <= set(fw.rule.labels)
    assert set(rated["level_rating"].astype(str)) <= set(fw.rule.level_labels)
    assert rated["reason"].str.len().gt(0).all()
    # every judgement counts all of its outcome's indicators
    sizes = {o.name: len(o.indicators) for o in fw.outcomes}
    assert (rated["n_indicators"] == rated["outcome"].map(sizes)).all()
    assert rated["basis"].str.match(r"^\d+ of \d+ indicators met; \d+ without enough data").all()
    # a service's first year has no progress judgement on level indicators
    first = rated.merge(ind.groupby("service_id")["year"].min().rename("first"), on="service_id")
    policy_first = first[first["year"].eq(first["first"]) & first["outcome"].eq("Policy framework")]
    assert (policy_first["rating"] == "No progress judgement yet (first year)").all()
    programme = oc.programme_indicators(tables, framework=fw)
    assert len(programme) == 4 * n_ind  # three years and all years
    overall = programme[programme["year"].isna()]
    assert (overall["n_service_years"] == 27).all()


def test_full_data_risk_reduced_tracks_the_truth(synthetic: tuple[Path, Path]) -> None:
    from hubspoke.load import load_tables

    raw, processed = synthetic
    truth = pd.read_csv(raw / "_synthetic" / "truth.csv", comment="#")
    ind = oc.indicators(load_tables(processed), by=("service_id",))
    observed = ind[ind["indicator_id"] == "2.1"].set_index("service_id")["value"].astype(float)
    joined = (
        truth.set_index("service_id")[["p_risk_reduced"]].join(observed.rename("observed")).dropna()
    )
    rho = spearmanr(joined["p_risk_reduced"], joined["observed"]).statistic
    assert rho > 0.5
    ranked = joined.sort_values("p_risk_reduced")
    third = len(ranked) // 3
    assert ranked["observed"].iloc[-third:].mean() > ranked["observed"].iloc[:third].mean()
    assert np.isfinite(rho)


def test_full_data_safety_ratings_recover_the_truth(synthetic: tuple[Path, Path]) -> None:
    """Services made better (the generator's p_risk_reduced) get better Safety ratings, years pooled."""
    from hubspoke.load import load_tables

    raw, processed = synthetic
    truth = pd.read_csv(raw / "_synthetic" / "truth.csv", comment="#").set_index("service_id")
    rated = oc.ratings(oc.indicators(load_tables(processed), by=("service_id",)))
    safety = rated[rated["outcome"] == "Safety"].set_index("service_id")
    order = {"Not enough data": 0, LITTLE: 1, SOME: 2, STRONG: 3}
    joined = truth[["p_risk_reduced"]].join(
        safety["rating"].astype(str).map(order).rename("rating")
    )
    rho = spearmanr(joined["p_risk_reduced"], joined["rating"]).statistic
    assert rho > 0.5
    level = (
        safety["level_rating"]
        .astype(str)
        .map(
            {
                "Not enough data": 0,
                "Few targets met": 1,
                "Some targets met": 2,
                "Most targets met": 3,
            }
        )
    )
    assert spearmanr(truth.loc[level.index, "p_risk_reduced"], level).statistic > 0.5
