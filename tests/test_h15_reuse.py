"""Work the cross-site and realist reports now do once: model fits, quotes, the joint display.

Each shortcut must give what the long way gives, and must never serve an answer for
other data. All data is synthetic (the session's cleaned synthetic tables, or small
frames built here).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hubspoke import load
from hubspoke.analysis import cross_site as cs
from hubspoke.analysis import realist
from hubspoke.analysis.cross_site.indicator_tables import child_population
from hubspoke.analysis.realist import tables as rt
from hubspoke.analysis.realist.joint import _qualitative
from hubspoke.analysis.realist.quotes import safe_quote
from hubspoke.analysis.realist.verdicts import _tally


@pytest.fixture(scope="module")
def tables(synthetic_processed) -> dict[str, pd.DataFrame]:
    """The processed synthetic tables of the session."""
    return load.load_tables(synthetic_processed)


# --------------------------------------------------------------------------- model fits
def test_model_reports_are_the_fits_with_their_diagnostics_and_need_no_statsmodels(
    tables, tmp_path
) -> None:
    """The report reads the models from beside the release: the same results and
    diagnostics as fitting them, in plain data a kernel unpickles without statsmodels."""
    import pickle
    import subprocess
    import sys

    reports = cs.model_reports(tables, year="all")
    fits = cs.cross_site_models(tables, year="all")
    assert list(reports) == list(fits)
    for name, fit in fits.items():
        report = reports[name]
        assert (report.result.ok, report.result.note, report.result.reading) == (
            fit.ok,
            fit.note,
            fit.reading,
        )
        pd.testing.assert_frame_equal(report.result.table, fit.table)
        assert "fit" not in report.result.details
        expected = cs.model_diagnostics(fit)
        assert report.diagnostics.keys() == expected.keys()
        assert report.diagnostics["summary"] == expected["summary"]
        pd.testing.assert_frame_equal(
            report.diagnostics["residuals_by_service"], expected["residuals_by_service"]
        )
    assert any(r.result.ok for r in reports.values()), "no model was fitted on the default data"
    saved = tmp_path / "models.pickle"
    saved.write_bytes(pickle.dumps(reports))
    code = (
        f"import pickle, sys; pickle.loads(open({str(saved)!r}, 'rb').read()); "
        "print(sorted(m for m in ('statsmodels', 'scipy.stats') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_models_are_fitted_once_per_frames_and_each_caller_gets_a_copy(tables) -> None:
    first = cs.cross_site_models(tables, year="all")
    first["risk_reduction"].table.loc[:, "estimate"] = -1.0  # a caller changing its copy
    first["risk_reduction"].details["changed"] = True
    again = cs.cross_site_models(tables, year="all")
    assert again["risk_reduction"] is not first["risk_reduction"]
    assert (again["risk_reduction"].table["estimate"] > 0).all()
    assert "changed" not in again["risk_reduction"].details


def test_models_of_other_frames_or_periods_are_fitted_afresh(tables) -> None:
    pooled = cs.cross_site_models(tables, year="all")["risk_reduction"]
    first_year = min(y for ys in load.available_service_years(tables).values() for y in ys)
    one_year = cs.cross_site_models(tables, year=str(first_year))["risk_reduction"]
    assert one_year.n_obs < pooled.n_obs
    cases = tables["cases"]
    fewer = {**tables, "cases": cases[cases["service_id"].astype(str) != "S01"].copy()}
    refitted = cs.cross_site_models(fewer, year="all")["risk_reduction"]
    assert refitted.n_obs < pooled.n_obs


# --------------------------------------------------------------------------- child population
def _population_tables() -> dict[str, pd.DataFrame]:
    """Synthetic services and context: S01 has two areas, S02 one with a gap, S03 none known."""
    services = pd.DataFrame(
        {"service_id": ["S01", "S02", "S03"], "la_codes": ["E1; E2", "E3", "E9"]}
    )
    context = pd.DataFrame(
        {
            "la_code": ["E1", "E2", "E1", "E2", "E3", "E1"],
            "year": [2018, 2018, 2019, 2019, 2020, 2020],
            "population": [100.0, 50.0, 110.0, 55.0, 70.0, 120.0],
        }
    )
    return {"services": services, "context": context}


def test_child_population_takes_the_nearest_year_with_every_area() -> None:
    rows = pd.DataFrame(
        {"service_id": ["S01", "S01", "S02", "S03"], "year": [2015, 2020, 2016, 2016]}
    )
    found, used = child_population(_population_tables(), rows)
    # S01 in 2020: 2020 lacks E2, so 2019 (both areas) is the nearest complete year
    assert found.tolist()[:3] == [150.0, 165.0, 70.0]
    assert np.isnan(found.iloc[3])  # no population for S03's area
    assert used == [2018, 2019, 2020]


# --------------------------------------------------------------------------- quotes
def test_quotes_checked_on_use_give_what_safe_quote_gives() -> None:
    checks = rt._CheckedOnUse(["Ashcombe Vale"])
    assert checks  # an empty cache is not "no checks": callers write `checked or {}`
    text = "I met Sam Jones at Ashcombe Vale on 3 March 2015, call 07700 900123."
    assert "x" in checks and 3 not in checks
    assert checks[text] == safe_quote(text, places=["Ashcombe Vale"])
    assert checks[text] is checks[text] and len(checks) == 1


def test_one_quote_call_for_all_theories_gives_each_theorys_own(tables) -> None:
    theories = realist.load_theories()
    codings = tables["codings"]
    contexts = rt._contexts_frame(tables)
    checks = rt._CheckedOnUse(rt._quote_places(tables).tolist())
    together = rt._theory_quotes(tables, codings, theories, contexts=contexts, checked=checks)
    assert together["theory_id"].nunique() > 1
    for theory in theories:
        alone = rt._theory_quotes(tables, codings, [theory], contexts=contexts, checked=checks)
        mine = together[together["theory_id"].astype(str) == theory.id].reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, alone.reset_index(drop=True), check_dtype=False)


# --------------------------------------------------------------------------- joint display
def test_qualitative_side_tallies_every_period_as_one_by_one(tables) -> None:
    judgements = tables["judgements"]
    services = sorted(judgements["service_id"].astype(str).unique())[:3]
    periods = pd.DataFrame(
        {
            "service_id": [*services, "All services", services[0]],
            "year": [pd.NA, 2015, pd.NA, pd.NA, 2016],
        }
    ).astype({"service_id": "string", "year": "Int64"})
    frame = realist.inputs._judgements(judgements)
    expected = []
    for s, y in periods.itertuples(index=False):
        part = frame if s == "All services" else frame[frame["service_id"] == s]
        part = part if pd.isna(y) else part[part["year"] == int(y)]
        expected.append(_tally(part, ["theory_id"]).assign(service_id=s, year=y))
    want = pd.concat(expected, ignore_index=True).astype(
        {"service_id": "string", "year": "Int64", "theory_id": "string"}
    )
    pd.testing.assert_frame_equal(_qualitative(judgements, periods), want)


def test_joint_tables_from_shared_rows_equal_their_own(tables) -> None:
    theories = realist.load_theories()
    rows = rt._joint_rows(tables, theories)
    for build in (rt.joint_table, rt.joint_values_table):
        own = build(tables, theories=theories, time_period="2014-2016")
        shared = build(tables, theories=theories, time_period="2014-2016", joint_rows=rows)
        pd.testing.assert_frame_equal(own.frame, shared.frame)


# --------------------------------------------------------------------------- remembered answers
def test_frame_memo_answers_only_for_the_very_frames_and_arguments() -> None:
    from hubspoke.analysis.cross_site.memo import FrameMemo

    memo: FrameMemo[str] = FrameMemo(size=2)
    a, b = pd.DataFrame({"x": [1]}), pd.DataFrame({"x": [1]})  # equal, not the same
    memo.put([a, None], "2015", "answer")
    assert memo.get([a, None], "2015") == "answer"
    assert memo.get([b, None], "2015") is None  # an equal copy is other data
    assert memo.get([a, None], "2016") is None
    assert memo.get([a, a], "2015") is None
    memo.put([b], (), "b")
    memo.put([b], (), "c")
    assert memo.get([a, None], "2015") is None  # the oldest answer went


def test_host_labels_are_read_once_per_spokes_frame(tables) -> None:
    from hubspoke.analysis.realist.evidence import service_contexts

    first = service_contexts(tables["services"], tables["spokes"], by="host_setting")
    first.loc[:, "host_setting"] = "changed by a caller"
    again = service_contexts(tables["services"], tables["spokes"], by="host_setting")
    assert not again["host_setting"].eq("changed by a caller").any()
    one_host = tables["spokes"].assign(host_setting=tables["spokes"]["host_setting"].iloc[0])
    other = service_contexts(tables["services"], one_host, by="host_setting")
    assert other["host_setting"].nunique() == 1
