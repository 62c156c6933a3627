"""Evaluators' refinements beside their evidence, and contexts awaiting a statement (synthetic frames)."""

from __future__ import annotations

import pandas as pd
import pytest

from hubspoke.analysis import realist as r
from hubspoke.errors import SchemaError
from test_cmo import TEXT, codings, contexts, judgements

S, R, F = "supports", "refutes", "refines"
STATEMENT = (
    "Officers shared worries informally only after she had been in the office for a term; "
    "the first months brought no earlier referrals."
)


def refinements(**changes) -> pd.DataFrame:
    """One synthetic evaluator's statement on PT1 in the Police host setting."""
    row = {
        "refinement_id": "R001",
        "theory_id": "PT1",
        "context_dimension": "host_setting",
        "context_value": "Police",
        "statement": STATEMENT,
        "author": "EV",
        "written_on": pd.Timestamp("2017-01-10").date(),
        "evidence": "T0002;T0004;SG00009",
        "n_evidence": 3,
    }
    return pd.DataFrame([{**row, **changes}])


def judged_with_health_refinement() -> pd.DataFrame:
    """The hand judgements with T0003's main PT1 judgement 'refines' (Health: no statement)."""
    frame = judgements()
    main = (frame["transcript_id"] == "T0003") & (frame["theory_id"] == "PT1")
    main &= frame["check"] == "main"
    return frame.assign(judgement=frame["judgement"].where(~main, F))


def test_statement_is_shown_as_written_beside_each_piece_of_evidence():
    out = r.refinement_evidence(
        refinements(), codings(), judged_with_health_refinement(), contexts()
    )
    mine = out[out["refinement_id"] == "R001"]
    assert list(mine["evidence_id"]) == ["T0002", "T0004", "SG00009"]
    assert (mine["statement"] == STATEMENT).all() and (mine["status"] == r.HAS_STATEMENT).all()
    assert (mine["author"] == "EV").all() and (mine["n_evidence"] == 3).all()
    by_id = mine.set_index("evidence_id")
    assert tuple(by_id.loc["T0002", ["respondent_role", "year", "judgement"]]) == (
        "Hub manager",
        2015,
        F,
    )
    assert tuple(by_id.loc["T0004", ["respondent_role", "year", "judgement"]]) == (
        "Police",
        2016,
        R,
    )
    # a transcript's excerpt is its strongest segment on the theory: an outcome code first
    assert by_id.loc["T0002", "excerpt"] == TEXT["PT1-O2"]
    assert by_id.loc["T0004", "excerpt"] == TEXT["PT1-O1"]
    # a segment id resolves to its interview and shows that segment's own text
    assert by_id.loc["SG00009", "evidence_kind"] == "segment"
    assert by_id.loc["SG00009", "transcript_id"] == "T0002"
    assert by_id.loc["SG00009", "excerpt"] == TEXT["PT1-O2"]
    assert by_id["evidence_found"].all()
    # the context's main judgements, to read the statement against (agreement rows not counted)
    assert tuple(mine.iloc[0][[S, R, F]]) == (1, 1, 1)


def test_context_without_a_statement_lists_its_refining_and_refuting_interviews():
    out = r.refinement_evidence(
        refinements(), codings(), judged_with_health_refinement(), contexts()
    )
    awaiting = out[out["status"] == "awaiting an evaluator's statement"]
    cells = set(
        zip(awaiting["theory_id"], awaiting["context"], awaiting["evidence_id"], strict=True)
    )
    # PT1 Health: T0003 refines; PT2 Hub outreach: T0003 refutes; PT2 Multi-host: T0004 refines.
    # PT1 Police has a statement, so its refining/refuting interviews are not listed again.
    assert cells == {("PT1", "Health", "T0003"), ("PT2", "Hub outreach", "T0003"),
                     ("PT2", "Multi-host", "T0004")}  # fmt: skip
    assert awaiting["statement"].isna().all() and awaiting["refinement_id"].isna().all()
    health = awaiting[awaiting["context"] == "Health"].iloc[0]
    assert (health["respondent_role"], health["judgement"]) == ("Young person", F)
    assert health["excerpt"] == TEXT["PT1-M1"]


def test_agreement_judgements_never_call_for_a_statement():
    # T0003 PT1: main supports, agreement refutes -> nothing awaits a statement in Health
    out = r.refinement_evidence(refinements(), codings(), judgements(), contexts())
    assert not ((out["theory_id"] == "PT1") & (out["context"] == "Health")).any()


def test_only_the_evaluators_own_words_appear():
    out = r.refinement_evidence(
        refinements(), codings(), judged_with_health_refinement(), contexts()
    )
    assert set(out["statement"].dropna()) == {STATEMENT}
    assert set(out["status"]) == {r.HAS_STATEMENT, r.AWAITING}


def test_a_refinement_on_another_dimension_than_its_theorys_is_refused():
    wrong = refinements(context_dimension="model_variant", context_value="Multi-host")
    with pytest.raises(SchemaError, match="context_dimension") as caught:
        r.refinement_evidence(wrong, codings(), judgements(), contexts())
    assert caught.value.column == "context_dimension"
    assert caught.value.allowed == ["host_setting"]
    with pytest.raises(SchemaError, match="statement"):
        r.refinement_evidence(
            refinements().drop(columns="statement"), codings(), judgements(), contexts()
        )


def test_unknown_or_unresolvable_evidence_is_shown_not_found():
    odd = refinements(evidence="T0002;T9999;SG00009")
    out = r.refinement_evidence(odd, codings().drop(columns="segment_id"), judgements(),
                                contexts())  # fmt: skip
    by_id = out[out["refinement_id"] == "R001"].set_index("evidence_id")
    assert bool(by_id.loc["T0002", "evidence_found"])
    assert not bool(by_id.loc["T9999", "evidence_found"])
    # without the codings' segment ids a segment cannot be traced to its interview
    assert not bool(by_id.loc["SG00009", "evidence_found"])
    assert pd.isna(by_id.loc["SG00009", "excerpt"])


def test_refined_theories_show_statements_or_that_one_is_awaited():
    services = pd.DataFrame(
        {"service_id": ["S01", "S02"], "model_variant": ["Multi-host", "Hub outreach"]}
    )
    spokes = pd.DataFrame(
        {"spoke_id": ["K1", "K2", "K3"], "service_id": ["S01", "S01", "S02"],
         "host_setting": ["Police", "Police", "Health"]}
    )  # fmt: skip
    # three main judgements in PT1 / Police: two refine, so the verdict there is 'refined'
    rows = [("T0101", F), ("T0102", F), ("T0103", S)]
    judged = pd.DataFrame(
        {
            "transcript_id": [t for t, _ in rows],
            "service_id": "S01",
            "year": 2015,
            "respondent_role": "Spoke worker",
            "theory_id": "PT1",
            "coder": "AA",
            "check": "main",
            "judgement": [j for _, j in rows],
        }
    )
    out = r.refined_theories(judged, services=services, spokes=spokes,
                             refinements=refinements()).set_index("theory_id")  # fmt: skip
    assert out.loc["PT1", "refined_in"] == "Police"
    assert out.loc["PT1", "refined_statement"] == f"Police: {STATEMENT} (R001, EV, 2017-01-10)"
    assert out.loc["PT2", "refined_statement"] == ""
    without = r.refined_theories(judged, services=services, spokes=spokes).set_index("theory_id")
    assert without.loc["PT1", "refined_statement"] == "Police: awaiting an evaluator's statement"
    # compared in a dimension that is not the theory's own, no statement is attached
    across = r.refined_theories(judged, services=services, spokes=spokes, by="model_variant",
                                refinements=refinements()).set_index("theory_id")  # fmt: skip
    assert across.loc["PT1", "refined_in"] == "Multi-host"
    assert across.loc["PT1", "refined_statement"] == ""
