"""Funder tables of the realist synthesis, coding quality and interview quotes (role rule)."""

from __future__ import annotations

import pandas as pd
import pytest

from hubspoke.analysis import realist as r
from hubspoke.analysis.agreement import agreement_band
from hubspoke.analysis.realist import tables as rt
from hubspoke.errors import ParameterError
from hubspoke.privacy.release import Shown, gather, protect
from hubspoke.privacy.table import CellId, Count, Figure

S, R, F = "supports", "refutes", "refines"


def _tables(rows: list[tuple[str, int, str, str, str]]) -> dict[str, pd.DataFrame]:
    """(service, year, role, theory, judgement) rows -> processed-shaped tables."""
    judged = pd.DataFrame(
        {
            "transcript_id": [f"T{i + 1:04d}" for i in range(len(rows))],
            "service_id": [x[0] for x in rows],
            "year": pd.array([x[1] for x in rows], dtype="Int64"),
            "respondent_role": [x[2] for x in rows],
            "theory_id": [x[3] for x in rows],
            "judgement": [x[4] for x in rows],
        }
    )
    codings = judged.assign(
        coder="AK", code_id=judged["theory_id"] + "-O1", cmo="outcome", start=0, end=10,
        excerpt="The Spoke kept turning up every week and that changed things.",
    )  # fmt: skip
    return {
        "judgements": judged,
        "codings": codings,
        "services": pd.DataFrame(
            {
                "service_id": ["S01", "S02", "S03"],
                "model_variant": ["Multi-host", "Hub outreach", "Multi-host"],
                "n_spokes": [2, 3, 4],
            }
        ),
        "spokes": pd.DataFrame(
            {
                "spoke_id": ["S01-K1", "S01-K2", "S02-K1", "S03-K1", "S03-K2"],
                "service_id": ["S01", "S01", "S02", "S03", "S03"],
                "host_setting": ["Police", "Police", "Health", "Police", "Health"],
            }
        ),
    }


ROWS = [("S01", 2015, "Spoke worker", "PT1", S)] * 4 + [
    ("S02", 2015, "Police", "PT1", R),
    ("S02", 2015, "Hub manager", "PT1", F),
    ("S03", 2015, "Spoke worker", "PT1", S),
]


def test_single_service_context_carries_the_service_identity():
    tables = _tables(ROWS)
    judged = tables["judgements"]
    scopes = rt.context_scopes(tables, judged, by="model_variant", time_period="2015")
    assert scopes["Hub outreach"] == {"service_id": "S02", "time_period": "2015"}
    assert scopes["Multi-host"] == {"model_variant": "Multi-host", "time_period": "2015"}
    context = rt.context_tables(
        tables, judged, by="model_variant", time_period="2015", theories=["PT1"]
    )
    evidence = r.service_evidence_tables(tables, service_id="S02", year=2015)["theory_evidence"]
    ids = {c.id for c in context["model_variant:Hub outreach"].cells() if c.kind == "count"}
    assert ids <= {c.id for c in evidence.cells()}  # the same cells as the service report's
    assert CellId.of("interviews", service_id="S02", theory_id="PT1", time_period="2015") in ids


def test_small_interview_counts_are_hidden_with_their_verdict():
    tables = _tables(ROWS)
    judged = tables["judgements"]
    built = [
        *rt.context_tables(
            tables, judged, by="model_variant", time_period="2015", theories=["PT1"]
        ).values(),
        r.service_evidence_tables(tables, service_id="S02", year=2015)["theory_evidence"],
    ]
    cells, equations = gather(built)
    release = protect(cells, equations=equations)
    shown = release.view(built[1])  # Hub outreach = S02: 2 interviews
    assert shown.display.loc["PT1", "Interviews"] == release.symbol
    assert shown.hidden.loc["PT1", "Verdict"]
    assert "(n=" not in " ".join(shown.display.astype(str).to_numpy().ravel())


def test_quote_role_rule():
    people = {"Spoke worker": 2, "Hub manager": 1, "Police": 3, "Health": 1, "Education": 1}
    assert r.quote_role("Police", people) == "Police"
    assert r.quote_role("Spoke worker", people) == "Hub or Spoke staff"  # 2 Spokes + manager
    assert r.quote_role("Health", people) == "A professional"  # 1 + 3 + 1
    assert r.quote_role("Hub manager", people, min_people=1) == "Hub or Spoke staff"
    assert r.quote_role("Young person", people) is None
    assert r.MIN_PEOPLE_PER_ROLE == 3
    with pytest.raises(ParameterError):
        r.quote_role("Police", people, min_people=0)


def test_service_report_never_names_the_hub_manager():
    """Attack: a service report names the Hub, then quotes 'Hub manager, 2015'."""
    rows = [("S03", 2015, "Hub manager", "PT1", S)] * 3 + [("S03", 2015, "Police", "PT2", S)]
    tables = _tables(rows)
    text = r.service_quotes(tables, service_id="S03", year=2015)
    assert "Hub manager" not in text
    assert "Hub or Spoke staff" in text  # 2 Spokes and the manager
    assert "Police" not in text  # one police officer: the professional group is too small
    people = r.people_per_role(tables["codings"], tables["judgements"], service_id="S03", year=2015)
    assert people["Hub manager"] == 1  # three interviews, one manager


def test_coding_quality_counts_are_counts():
    recon = pd.DataFrame(
        {
            "file": ["a.csv", "b.csv"],
            "table": ["cases", "cases"],
            "rows_in": [1000, 688],
            "rows_clean": [1000, 683],
            "rows_quarantined": [0, 5],
            "rows_merged_duplicates": [0, 0],
            "status": ["ok", "ok"],
            "message": ["", ""],
        }
    )
    table = rt.reconciliation_table(recon)
    assert table.frame.loc["cases", "rows_quarantined"] == 5
    release = protect(*gather([table])[:1], equations=gather([table])[1])
    shown = release.view(table)
    assert shown.hidden.loc["cases", "rows_quarantined"]
    assert shown.hidden.loc["cases", "rows_in"] or shown.hidden.loc["cases", "rows_clean"]


# --------------------------------------------------------------------------- the signed synthesis
def _coded(rows: list[tuple[str, str, str, list[str]]]) -> pd.DataFrame:
    """(transcript, service, role, codes) rows -> codings of PT2 in 2015, one coder."""
    return pd.DataFrame(
        [
            {"transcript_id": t, "service_id": s, "year": 2015, "respondent_role": role,
             "coder": "AK", "code_id": c, "cmo": {"M": "mechanism", "O": "outcome"}[c[4]],
             "theory_id": "PT2", "start": 10 * k, "end": 10 * k + 9,
             "excerpt": f"The worker kept coming back every week, code {c} of {t}."}
            for t, s, role, codes in rows
            for k, c in enumerate(codes)
        ]
    )  # fmt: skip


def _pt2() -> r.Theory:
    return next(t for t in r.load_theories() if t.id == "PT2")


def test_cmo_table_counts_interviews_per_context_with_a_true_total():
    tables = _tables(
        [("S01", 2015, "Spoke worker", "PT2", S)] * 2 + [("S02", 2015, "Police", "PT2", F)]
    )
    codings = _coded(
        [("T0001", "S01", "Spoke worker", ["PT2-M1", "PT2-O1"]),
         ("T0002", "S03", "Spoke worker", ["PT2-M1", "PT2-O1", "PT2-O2"]),
         ("T0003", "S02", "Police", ["PT2-M1", "PT2-O1"])]
    )  # fmt: skip
    contexts = r.service_context_table(tables["services"], tables["spokes"])
    config = r.cmo_configurations(codings, None, contexts, theories=[_pt2()])
    scopes = rt.context_scopes(
        tables, codings.assign(judgement=S), by="model_variant", time_period="2015"
    )
    table = rt.cmo_table(
        config, theory=_pt2(), scopes=scopes, labels={"PT2-M1": "Keeps showing up"},
        time_period="2015",
    )  # fmt: skip
    assert table is not None
    frame = table.frame
    assert frame.loc["PT2-M1 > PT2-O1", ["Multi-host", "Hub outreach", "Total"]].tolist() == [
        2,
        1,
        3,
    ]
    assert frame.loc["PT2-M1 > PT2-O2", ["Multi-host", "Hub outreach", "Total"]].tolist() == [
        1,
        0,
        1,
    ]
    assert frame.loc["PT2-M1 > PT2-O1", "Mechanism"] == "PT2-M1 Keeps showing up"
    one_service = table.cell_id("PT2-M1 > PT2-O1", "Hub outreach")
    assert one_service == CellId.of(
        "interviews", service_id="S02", theory_id="PT2", mechanism="PT2-M1", outcome="PT2-O1",
        time_period="2015",
    )  # fmt: skip
    total = table.cell_id("PT2-M1 > PT2-O1", "Total")
    assert any(eq.get(total) == -1.0 and eq.get(one_service) == 1.0 for eq in table.equations())
    cells, equations = gather([table])
    release = protect(cells, equations=equations)
    shown = release.view(table)
    assert shown.hidden.loc["PT2-M1 > PT2-O1", "Total"]  # 3 interviews: suppressed


def test_refinements_table_shares_the_context_cells_and_never_writes_a_statement():
    rows = [("S01", 2015, "Spoke worker", "PT2", F)] * 3 + [("S02", 2015, "Police", "PT2", R)] * 2
    tables = _tables(rows)
    tables["refinements"] = pd.DataFrame(
        {
            "refinement_id": ["R001"], "theory_id": ["PT2"],
            "context_dimension": ["model_variant"], "context_value": ["Multi-host"],
            "statement": ["Weekly visits mattered more than the base."], "author": ["AK"],
            "written_on": ["2016-05-01"], "evidence": ["T0001;T0002"],
        }
    )  # fmt: skip
    judged = tables["judgements"].assign(coder="AK", check="main")
    table = rt.refinements_table(tables, judged, theories=[_pt2()], time_period="2015")
    assert table is not None
    frame = table.frame
    written = frame[frame["Author"] == "AK"].iloc[0]
    assert written["Evaluator's statement"] == "Weekly visits mattered more than the base."
    assert written["Evidence"] == "T0001; T0002" and written["Refining interviews"] == 3
    awaiting = frame[frame["Context"] == "Hub outreach"].iloc[0]
    assert awaiting["Evaluator's statement"] == r.AWAITING_STATEMENT
    assert "T0004" in awaiting["Evidence"] and awaiting["Refuting interviews"] == 2
    context = rt.context_tables(
        tables, tables["judgements"], by="model_variant", time_period="2015", theories=["PT2"]
    )
    ids = {c.id for t in context.values() for c in t.cells() if c.kind == "count"}
    mine = {c.id for c in table.cells() if c.kind == "count"}
    assert mine <= ids  # one cell in the release, whichever table prints it
    refined = rt.refined_table(tables, tables["judgements"], theories=[_pt2()], time_period="2015")
    statements = " ".join(refined.frame.astype(str).to_numpy().ravel())
    assert "Weekly visits mattered more than the base. (R001, AK, 2016-05-01)" in statements
    assert "Statement" not in refined.frame.columns and "statement" not in refined.frame.columns


def test_joint_chart_frame_draws_only_what_the_view_shows():
    frame = pd.DataFrame(
        {
            "Service": ["S01", "S02"], "Theory": ["PT2", "PT2"], "Context": ["Multi-host", ""],
            "Indicator": ["2.1", "2.1"], "Unit": ["%", "%"], "Value": [50.0, 80.0],
            "n": [10.0, 20.0], "CI low": [20.0, 60.0], "CI high": [80.0, 92.0],
            "Indicator side": ["not enough data", "meets threshold"], "Interviews": [3, 9],
            "Supports": [1, 8], "Refutes": [1, 1], "Refines": [1, 0],
            "Interview verdict": ["contested", "supported"], "Call": ["expand", "confirm"],
            "Reason": ["a", "b"],
        },
        index=pd.Index(["S01 PT2", "S02 PT2"], name="Service and theory"),
    )  # fmt: skip
    table = rt._cell_table(frame, rows="joint_row", items={})
    hidden = pd.DataFrame(False, index=frame.index, columns=frame.columns)
    hidden.loc["S01 PT2", ["Value", "Supports", "Call"]] = True
    chart = rt.joint_chart_frame(
        Shown(table=table, display=frame.astype(str), hidden=hidden, symbol="c")
    )
    first, second = chart.iloc[0], chart.iloc[1]
    assert pd.isna(first["value"]) and pd.isna(first["supports"]) and pd.isna(first["call"])
    assert first["refutes"] == 1 and second["value"] == pytest.approx(0.8)
    assert second["kind"] == "proportion" and second["call"] == "confirm"


def test_participants_add_up_over_roles_and_years():
    rows = [("S01", 2014, "Spoke worker", "PT2", S), ("S01", 2015, "Police", "PT2", S),
            ("S02", 2015, "Police", "PT1", R)]  # fmt: skip
    tables = _tables(rows)
    table = rt.participants_table(tables, year="all", time_period="2014-2015")
    assert table.frame.loc["Police", ["2014", "2015", "2014-2015"]].tolist() == [0, 2, 2]
    assert table.frame.loc[rt.ALL_ROLES, "2014-2015"] == 3
    assert table.cell_id(rt.ALL_ROLES, "2015") == CellId.of("interviews", time_period="2015")
    assert any(eq.get(table.cell_id("Police", "2014-2015")) == -1.0 for eq in table.equations())


def test_judgement_agreement_table_bands_match_the_values_shown():
    judged = pd.DataFrame(
        {
            "transcript_id": [f"T{i:04d}" for i in range(8)] * 2,
            "theory_id": "PT1",
            "coder": ["AK"] * 8 + ["SB"] * 8,
            "check": ["main"] * 8 + ["agreement"] * 8,
            "judgement": [S, S, R, F, S, R, F, S] + [S, S, R, F, R, R, S, S],
        }
    )
    table = rt.judgement_agreement_table(judged, time_period="2015")
    row = table.frame.loc["All pairs"]
    assert row["kappa"] == round(row["kappa"], 2)
    assert row["kappa_low"] <= row["kappa"] <= row["kappa_high"]
    assert row["kappa_band"] == agreement_band(row["kappa"])
    assert row["n_transcripts"] == 8
    assert isinstance(table.spec("kappa"), Figure) and isinstance(
        table.spec("n_transcripts"), Count
    )


def test_rameses_table_names_every_item_14_to_20():
    table = rt.rameses_table()
    assert list(table.frame.index) == [str(i) for i in range(14, 21)]
    assert table.frame.loc["18", "Where answered"] == "not in this report"
    assert not table.counts_people
