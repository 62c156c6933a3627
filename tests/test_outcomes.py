"""The six core outcomes: framework validation, each indicator kind, ratings, and the synthetic data."""

from __future__ import annotations

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
# Ratings
# ---------------------------------------------------------------------------


def _indicator_rows(specs: list[tuple[bool, bool | None, int, float]]) -> pd.DataFrame:
    """Indicator rows for one outcome: (enough_data, meets, n_units, completeness)."""
    return pd.DataFrame(
        [
            {
                "service_id": "S01",
                "year": 2015,
                "impact_area_id": 1,
                "impact_area": "A",
                "outcome_id": 2,
                "outcome": "Safety",
                "indicator_id": f"2.{k}",
                "indicator": f"Ind {k}",
                "enough_data": e,
                "meets_threshold": m,
                "n_units": n,
                "min_n": 10,
                "n_label": "young people with both risk ratings",
                "completeness": c,
            }
            for k, (e, m, n, c) in enumerate(specs, 1)
        ]  # fmt: skip
    ).astype({"meets_threshold": "boolean"})


@pytest.mark.parametrize(
    ("specs", "rating", "reason"),
    [
        ([(True, True, 20, 1), (True, True, 20, 1), (True, True, 20, 1)], "Strong evidence of progress",
         "3 of 3 indicators met their threshold"),
        ([(True, True, 20, 1), (True, False, 20, 1), (False, None, 3, 0.2)], "Some evidence of progress",
         "1 of 2 indicators met their threshold (1 without enough data)"),
        ([(True, False, 20, 1), (True, False, 20, 1), (True, True, 20, 1)], "Little evidence of progress",
         "1 of 3 indicators met their threshold"),
    ],
)  # fmt: skip
def test_rating_levels(specs: list, rating: str, reason: str) -> None:
    rated = oc.ratings(_indicator_rows(specs))
    assert len(rated) == 1
    assert rated["rating"].iloc[0] == rating and rated["reason"].iloc[0] == reason


def test_not_enough_data_names_the_shortfall() -> None:
    rated = oc.ratings(
        _indicator_rows([(True, True, 20, 1), (False, None, 4, 1.0), (False, None, 12, 0.3)])
    )
    assert rated["rating"].iloc[0] == "Not enough data"
    reason = rated["reason"].iloc[0]
    assert "only 1 of 3 indicators had enough data (2 needed)" in reason
    assert "only 4 young people with both risk ratings" in reason
    assert "recorded for 30% of eligible rows (50% needed)" in reason


def test_small_service_year_is_not_enough_data(cases: dict, tmp_path: Path) -> None:
    """S02 has one young person: below min_n = 2, so its outcome is 'Not enough data'."""
    fw = oc.load_framework(_write(tmp_path, _outcome('table = "cases"\nkind = "proportion"\n'
                                                      'success = [{ column = "risk_reduced", is = true }]')))  # fmt: skip
    ind = oc.indicators(cases, framework=fw)
    assert not _row(ind, "S02")["enough_data"]
    rated = oc.ratings(ind, framework=fw).set_index("service_id")
    assert rated.loc["S02", "rating"] == "Not enough data"
    assert rated.loc["S01", "rating"] == "Strong"  # 2/3 >= 0.5 target, 1 of 1 met


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
    rated = oc.ratings(ind, framework=fw)
    assert len(rated) == 27 * 6
    assert set(rated["rating"].astype(str)) <= set(fw.rule.labels)
    assert rated["reason"].str.len().gt(0).all()
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
