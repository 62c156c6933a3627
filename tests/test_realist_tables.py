"""Funder tables of the realist synthesis, coding quality and interview quotes (role rule)."""

from __future__ import annotations

import pandas as pd
import pytest

from hubspoke.analysis import realist as r
from hubspoke.analysis.realist import tables as rt
from hubspoke.errors import ParameterError
from hubspoke.privacy.release import gather, protect
from hubspoke.privacy.table import CellId

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
