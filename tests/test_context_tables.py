"""Policy progress and the Spoke survey across sites: hand calculations, notes and identities."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pandas as pd
import pytest

from hubspoke import load
from hubspoke.analysis.cross_site import context_tables as ct
from hubspoke.analysis.service.policy import policy_mean_score
from hubspoke.privacy.release import cell_number, gather
from hubspoke.privacy.table import CellId, Count, Figure, Table, Text

T3 = 3.182446305284263  # t quantile 0.975 on 3 df (published tables: 3.182)

#: Policy checklist scores by service and year (one entry per area x element reported).
SCORES = {
    ("S01", 2014): [0, 1],  # 0.5
    ("S01", 2015): [2, 2],  # 2.0 -> change 1.5
    ("S02", 2015): [1],  # 1.0
    ("S02", 2016): [3, 1, 2],  # 2.0 -> change 1.0
    ("S03", 2016): [0, 3],  # 1.5, one year: no change
}


def _services(variants: dict[str, str]) -> pd.DataFrame:
    ids = list(variants)
    return pd.DataFrame(
        {
            "service_id": ids,
            "model_variant": [variants[s] for s in ids],
            "phase": [1] * len(ids),
            "n_spokes": [2] * len(ids),
        }
    )


def _spokes(ids: Iterable[str]) -> pd.DataFrame:
    ids = list(ids)
    return pd.DataFrame({"service_id": ids, "host_setting": ["Police"] * len(ids)})


def _policy(scores: dict[tuple[str, int], list[int]]) -> pd.DataFrame:
    rows = [
        {"service_id": s, "year": y, "la_code": f"E0{i}", "status_score": v}
        for (s, y), values in scores.items()
        for i, v in enumerate(values)
    ]
    return pd.DataFrame(rows)


def _survey(rows: list[tuple[str, int, str | None, str, int | None]]) -> pd.DataFrame:
    """(service, year, supervision, intends_to_stay, confidence); other answers fixed."""
    return pd.DataFrame(
        {
            "service_id": [r[0] for r in rows],
            "year": [r[1] for r in rows],
            "spoke_id": [f"{r[0]}-K{i}" for i, r in enumerate(rows)],
            "supervision_frequency": [r[2] for r in rows],
            "host_system_access": ["Full"] * len(rows),
            "feels_isolated": ["Often"] * len(rows),
            "confidence": pd.array([r[4] for r in rows], dtype="Int64"),
            "intends_to_stay": [r[3] for r in rows],
        }
    )


@pytest.fixture()
def policy_tables() -> dict[str, pd.DataFrame]:
    variants = {"S01": "Multi-host", "S02": "Multi-host", "S03": "Hub outreach"}
    return {
        "services": _services(variants),
        "spokes": _spokes(variants),
        "policy": _policy(SCORES),
    }


# --------------------------------------------------------------------------- policy by year
def test_policy_scores_by_year_and_change_by_hand(policy_tables) -> None:
    table = ct.policy_by_year_table(policy_tables, year="all", scope={"time_period": "2014-2016"})
    frame = table.frame
    assert list(frame.index) == ["S01", "S02", "S03", ct.PROGRAMME_ROW]
    assert list(frame.columns) == ["2014", "2015", "2016", "first_year", "change"]
    assert frame.loc["S01", ["2014", "2015"]].tolist() == [0.5, 2.0]
    assert math.isnan(frame.loc["S01", "2016"])
    assert frame.loc["S02", ["2015", "2016"]].tolist() == [1.0, 2.0]
    assert frame.loc["S01", "change"] == pytest.approx(1.5)  # 2015 (latest) - 2014
    assert frame.loc["S02", "change"] == pytest.approx(1.0)
    assert math.isnan(frame.loc["S03", "change"])  # one year of policy data
    assert frame["first_year"].tolist()[:3] == ["2014", "2015", "2016"]
    # Programme: each service counts once in each year; the change is the services' mean change.
    assert frame.loc[ct.PROGRAMME_ROW, ["2014", "2015", "2016"]].tolist() == pytest.approx(
        [0.5, (2.0 + 1.0) / 2, (2.0 + 1.5) / 2]
    )
    assert frame.loc[ct.PROGRAMME_ROW, "change"] == pytest.approx((1.5 + 1.0) / 2)


def test_policy_scores_are_the_service_reports_figures(policy_tables) -> None:
    table = ct.policy_by_year_table(policy_tables, year="all", scope={"time_period": "2014-2016"})
    for (service_id, year), _ in SCORES.items():
        cid = table.cell_id(service_id, str(year))
        assert cid == CellId.of("policy_mean_score", service_id=service_id, time_period=str(year))
        assert table.frame.loc[service_id, str(year)] == pytest.approx(
            policy_mean_score(policy_tables, service_id=service_id, year=year)
        )
    assert table.cell_id(ct.PROGRAMME_ROW, "2015") == CellId.of(
        "policy_mean_score", time_period="2015"
    )
    assert all(isinstance(s, Figure | Text) for s in table.columns.values())
    assert not table.counts_people


def test_a_single_year_shows_the_years_up_to_it(policy_tables) -> None:
    frame = ct.policy_by_year_table(policy_tables, year="2015", scope={"time_period": "2015"}).frame
    assert list(frame.index) == ["S01", "S02", ct.PROGRAMME_ROW]  # S03 reports policy in 2016
    assert list(frame.columns) == ["2014", "2015", "first_year", "change"]
    assert frame.loc["S01", "change"] == pytest.approx(1.5)
    assert math.isnan(frame.loc["S02", "change"])  # its first year is the period's end


# --------------------------------------------------------------------------- groups
def _group_tables(values: dict[str, tuple[str, list[int], list[int]]]) -> dict[str, Table]:
    """values: service -> (variant, scores in 2015, scores in 2016)."""
    scores: dict[tuple[str, int], list[int]] = {}
    for service_id, (_, first, latest) in values.items():
        scores[(service_id, 2015)] = first
        scores[(service_id, 2016)] = latest
    variants = {s: v[0] for s, v in values.items()}
    tables = {
        "services": _services(variants),
        "spokes": _spokes(variants),
        "policy": _policy(scores),
    }
    return ct.policy_group_tables(tables, year="all", scope={"time_period": "2015-2016"})


def test_group_means_with_the_service_as_the_unit_by_hand() -> None:
    # Multi-host: latest scores 1, 2, 3, 2 (mean 2, s = sqrt(2/3)), changes 1, 1, 2, 0.
    # Hub outreach: three services, too few to compare.
    out = _group_tables(
        {
            "S01": ("Multi-host", [0], [1]),
            "S02": ("Multi-host", [1], [2]),
            "S03": ("Multi-host", [1], [3]),
            "S04": ("Multi-host", [2], [2]),
            "S05": ("Hub outreach", [0], [1]),
            "S06": ("Hub outreach", [1], [1]),
            "S07": ("Hub outreach", [2], [3]),
        }
    )
    latest = out["policy.groups.model_variant"].frame
    half = T3 * math.sqrt(2 / 3) / 2
    assert latest.loc["Multi-host", "mean"] == pytest.approx(2.0)
    assert latest.loc["Multi-host", ["ci_low", "ci_high"]].tolist() == pytest.approx(
        [2 - half, 2 + half]
    )
    assert latest.loc["Multi-host", "note"] == "4 services"
    # The too-few-services path: a mean, no interval, and the note in words.
    assert latest.loc["Hub outreach", "mean"] == pytest.approx(5 / 3)
    assert latest.loc["Hub outreach", ["ci_low", "ci_high"]].isna().all()
    assert latest.loc["Hub outreach", "note"] == "3 services: too few to compare"
    assert "not compared" in latest.attrs["note"]
    change = out["policy.change.groups.model_variant"].frame
    # changes 1, 1, 2, 0: mean 1, s = sqrt(2/3)
    assert change.loc["Multi-host", "mean"] == pytest.approx(1.0)
    assert change.loc["Multi-host", "ci_high"] == pytest.approx(1 + half)
    assert change.loc["Hub outreach", "mean"] == pytest.approx(2 / 3)


def test_services_without_policy_data_are_named_in_the_note() -> None:
    variants = {f"S0{i}": "Multi-host" for i in range(1, 6)}
    scores = {(f"S0{i}", 2016): [i % 3] for i in range(1, 5)}  # S05 reports no policy
    survey = _survey([("S05", 2016, "Weekly", "Yes", 4)])  # but submitted in 2016
    tables = {
        "services": _services(variants),
        "spokes": _spokes(variants),
        "policy": _policy(scores),
        "spoke_survey": survey,
    }
    out = ct.policy_group_tables(tables, year="2016", scope={"time_period": "2016"})
    row = out["policy.groups.model_variant"].frame.loc["Multi-host"]
    assert (row["services"], row["with_data"]) == (5, 4)
    assert row["note"] == "5 services, 1 without a value"
    assert "policy.change.groups.model_variant" not in out  # no service has two years


# --------------------------------------------------------------------------- Spoke survey
@pytest.fixture()
def survey_tables() -> dict[str, pd.DataFrame]:
    variants = {"S01": "Multi-host", "S02": "Multi-host", "S03": "Hub outreach"}
    rows = [
        ("S01", 2015, "Weekly", "Yes", 5),
        ("S01", 2015, "None", "No", 2),
        ("S02", 2015, None, "Yes", 4),
        ("S01", 2016, "Monthly", "Yes", None),
        ("S03", 2016, "Less than monthly", "No", 3),
        ("S03", 2016, "Fortnightly", "Yes", 4),
    ]
    return {
        "services": _services(variants),
        "spokes": _spokes(variants),
        "spoke_survey": _survey(rows),
    }


def test_survey_counts_by_hand(survey_tables) -> None:
    table = ct.survey_programme_table(survey_tables, year="all", scope={"time_period": "2015-2016"})
    frame = table.frame
    supervised = frame.loc["Supervised at least monthly"]
    # Weekly, Monthly, Fortnightly = yes; None, Less than monthly = no; one blank.
    assert supervised[["yes", "no", "answered", "not_recorded"]].tolist() == [3, 2, 5, 1]
    assert supervised["%"] == pytest.approx(60.0)
    stay = frame.loc["Intends to stay in post"]
    assert stay[["yes", "no", "answered", "not_recorded"]].tolist() == [4, 2, 6, 0]
    confident = frame.loc["Confident in the role (4 or 5 of 5)"]
    assert confident[["yes", "no", "not_recorded"]].tolist() == [3, 2, 1]
    one_year = ct.survey_programme_table(survey_tables, year="2016", scope={"time_period": "2016"})
    assert one_year.frame.loc["Supervised at least monthly", ["yes", "no"]].tolist() == [2, 1]


def test_survey_cells_are_counts_of_spoke_workers_with_the_shared_identities(
    survey_tables,
) -> None:
    table = ct.survey_programme_table(survey_tables, year="2015", scope={"time_period": "2015"})
    statement = "Supervised at least monthly"
    # The identities of the funnel of indicator 5.1 and of the service completeness table.
    assert table.cell_id(statement, "yes") == CellId.of(
        "spoke_workers", survey_question=statement, answer="Yes", time_period="2015"
    )
    assert table.cell_id(statement, "answered") == CellId.of(
        "spoke_workers", survey_question=statement, answer="Answered", time_period="2015"
    )
    assert all(
        isinstance(table.spec(c), Count) and table.spec(c).unit == "Spoke workers"  # type: ignore[union-attr]
        for c in ("yes", "no", "answered", "not_recorded")
    )
    pct = next(c for c in table.cells() if c.row == statement and c.column == "%")
    assert set(pct.sources) == {
        table.cell_id(statement, "yes"),
        table.cell_id(statement, "answered"),
    }
    # yes + no = answered; answered + not recorded = surveyed (the ratings' programme count)
    values = {c.id: c.value for c in table.cells()}
    values[CellId.of("spoke_workers_surveyed", time_period="2015")] = 3.0
    for eq in table.equations():
        assert sum(coef * values[cid] for cid, coef in eq.items()) == 0  # type: ignore[operator]
    assert len(table.equations()) == 2 * len(table.frame)


def test_survey_by_variant_adds_up_to_the_programme(survey_tables) -> None:
    scope = {"time_period": "2015-2016"}
    groups = ct.survey_group_tables(survey_tables, year="all", scope=scope)
    programme = ct.survey_programme_table(survey_tables, year="all", scope=scope)
    table = groups["survey.model_variant.supervision_frequency"]
    frame = table.frame
    assert frame.loc["Multi-host", ["yes", "no", "not_recorded"]].tolist() == [2, 1, 1]
    assert frame.loc["Hub outreach", ["yes", "no", "not_recorded"]].tolist() == [1, 1, 0]
    # The Total row is the programme table's cells: same ids, same values.
    statement = "Supervised at least monthly"
    for column in ("yes", "no", "answered", "not_recorded"):
        assert table.cell_id("Total", column) == programme.cell_id(statement, column)
        assert frame.loc["Total", column] == programme.frame.loc[statement, column]
    assert table.cell_id("Multi-host", "yes") == CellId.of(
        "spoke_workers", survey_question=statement, answer="Yes",
        model_variant="Multi-host", time_period="2015-2016",
    )  # fmt: skip
    gather([programme, *groups.values()])  # one quantity, one value


# --------------------------------------------------------------------------- identities
def _unique_ids(tables: Iterable[Table]) -> None:
    for table in tables:
        ids = [c.id for c in table.cells()]
        assert len(ids) == len(set(ids)), table.family


def test_every_cell_of_every_table_has_its_own_identity(policy_tables, survey_tables) -> None:
    tables = {**policy_tables, "spoke_survey": survey_tables["spoke_survey"]}
    built = {
        year: ct.context_tables(
            tables, year=year, scope={"time_period": period}, survey_by_variant=True
        )
        for year, period in (("2015", "2015"), ("2016", "2016"), ("all", "2014-2016"))
    }
    assert set(built["all"]) == {
        "policy.by_year",
        *(f"policy.groups.{d}" for d in ("model_variant", "host_setting", "phase")),
        *(f"policy.change.groups.{d}" for d in ("model_variant", "host_setting", "phase")),
        "survey.programme",
        *(f"survey.model_variant.{c}" for c, _ in ct.SURVEY_STATEMENTS.values()),
    }
    assert "survey.model_variant.confidence" not in ct.context_tables(
        tables, year="all", scope={"time_period": "2014-2016"}
    )
    everything = [t for out in built.values() for t in out.values()]
    _unique_ids(everything)
    cells, _ = gather(everything)  # the years shared by the periods agree
    notes = {cid.indicator for cid in cells if cid.indicator.endswith("group_note")}
    assert "group_note" not in notes  # the risk tables' notes say other things


# --------------------------------------------------------------------------- the release
@pytest.mark.slow
def test_context_tables_gather_with_every_funder_table(synthetic_processed) -> None:
    """One identity, one value, with every funder table; the survey's relations hold."""
    from hubspoke.analysis.cross_site.tables import time_period
    from hubspoke.analysis.release import RELEASE_TABLES, funder_tables

    tables = load.load_tables(synthetic_processed, names=RELEASE_TABLES)
    years = sorted({y for ys in load.available_service_years(tables).values() for y in ys})
    mine = [
        t
        for choice in [*(str(y) for y in years), "all"]
        for t in ct.context_tables(
            tables, year=choice, scope={"time_period": time_period(tables, choice)},
            survey_by_variant=True,
        ).values()
    ]  # fmt: skip
    cells, _ = gather([*funder_tables(tables), *mine])
    # The programme's survey counts meet the funnel of indicator 5.1 and the ratings' counts.
    yes = CellId.of(
        "spoke_workers", survey_question="Supervised at least monthly", answer="Yes",
        time_period=load.all_years_label(years),
    )  # fmt: skip
    assert {"cross_site_indicators", ct.SURVEY_FAMILY} <= set(cells[yes].families)
    for table in mine:
        for eq in table.equations():
            values = [cell_number(cells[cid]) * coef for cid, coef in eq.items()]
            assert not np.isnan(values).any()
            assert sum(values) == 0
