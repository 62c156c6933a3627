"""Tests for the realist synthesis, joint displays and coding quality (hubspoke.analysis.realist)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hubspoke.analysis import outcomes
from hubspoke.analysis import realist as r
from hubspoke.errors import ParameterError, SchemaError
from hubspoke.spec.raw import LAYOUT
from hubspoke.spec.vocab import CMO_ELEMENTS, JUDGEMENTS
from hubspoke.synth.qual import FIRST_NAMES, PATTERN, PLACES, SURNAMES

S, R, F = "supports", "refutes", "refines"


# --------------------------------------------------------------------------- small frames
def services() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "service_id": ["S01", "S02", "S03"],
            "model_variant": ["Multi-host", "Hub outreach", "Multi-host"],
        }
    )


def spokes() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "spoke_id": ["S01-K1", "S01-K2", "S02-K1", "S03-K1", "S03-K2"],
            "service_id": ["S01", "S01", "S02", "S03", "S03"],
            "host_setting": ["Police", "Police", "Health", "Police", "Health"],
        }
    )


def judgements(rows: list[tuple[str, str, str]], *, year: int = 2015) -> pd.DataFrame:
    """(service, theory, judgement) rows -> processed-shaped judgements, one transcript each."""
    return pd.DataFrame(
        {
            "transcript_id": [f"T{i + 1:04d}" for i in range(len(rows))],
            "service_id": [s for s, _, _ in rows],
            "year": year,
            "respondent_role": "Spoke worker",
            "theory_id": [t for _, t, _ in rows],
            "judgement": [j for _, _, j in rows],
        }
    )


SMALL = judgements(
    [("S01", "PT1", S), ("S01", "PT1", S), ("S03", "PT1", S), ("S03", "PT1", R),
     ("S02", "PT1", R), ("S02", "PT1", F),
     ("S01", "PT2", F), ("S03", "PT2", F), ("S03", "PT2", S), ("S02", "PT2", R)]
)  # fmt: skip


# --------------------------------------------------------------------------- matrix
def test_matrix_counts_match_hand_counts():
    m = r.theory_context_matrix(SMALL, services(), by="model_variant").set_index(
        ["theory_id", "model_variant"]
    )
    assert tuple(m.loc[("PT1", "Multi-host"), ["supports", "refutes", "refines"]]) == (3, 1, 0)
    assert tuple(m.loc[("PT1", "Hub outreach"), ["supports", "refutes", "refines"]]) == (0, 1, 1)
    assert tuple(m.loc[("PT2", "Multi-host"), ["supports", "refutes", "refines"]]) == (1, 0, 2)
    assert m.loc[("PT1", "Multi-host"), "n_judgements"] == 4
    assert m.loc[("PT1", "Multi-host"), "verdict"] == "supported"
    assert m.loc[("PT1", "Hub outreach"), "verdict"] == "too little evidence"
    assert m.loc[("PT2", "Multi-host"), "verdict"] == "refined"
    assert m.loc[("PT1", "Multi-host"), "share_supports"] == pytest.approx(0.75)


def test_matrix_by_host_setting_uses_main_host_and_mixed():
    m = r.theory_context_matrix(SMALL, services(), spokes(), by="host_setting")
    cells = m.set_index(["theory_id", "host_setting"])
    # S01 -> Police, S02 -> Health, S03 -> tie -> Mixed
    assert tuple(cells.loc[("PT1", "Police"), ["supports", "refutes", "refines"]]) == (2, 0, 0)
    assert tuple(cells.loc[("PT1", "Mixed"), ["supports", "refutes", "refines"]]) == (1, 1, 0)
    assert cells.loc[("PT1", "Health"), "n_judgements"] == 2
    with pytest.raises(ParameterError, match="spokes"):
        r.theory_context_matrix(SMALL, services(), by="host_setting")


def test_matrix_wide_form_and_bad_input():
    wide = r.theory_context_matrix(SMALL, services(), by="model_variant", form="wide")
    assert list(wide.columns) == ["Multi-host", "Hub outreach"]
    assert wide.loc["PT1", "Multi-host"] == "supported (n=4)"
    bad = SMALL.assign(judgement=["partly supports", *SMALL["judgement"][1:]])
    with pytest.raises(SchemaError, match="partly supports"):
        r.theory_context_matrix(bad, services(), by="model_variant")
    with pytest.raises(ParameterError, match="S99"):
        r.theory_context_matrix(SMALL.assign(service_id="S99"), services(), by="model_variant")


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        ((2, 0, 0), "too little evidence"),
        ((2, 1, 0), "supported"),
        ((3, 2, 0), "contested"),
        ((0, 4, 2), "refuted"),
        ((2, 0, 3), "refined"),
        ((2, 0, 2), "contested"),
        ((1, 3, 2), "contested"),
    ],
)
def test_verdict_rule(counts, expected):
    assert r.verdict(*counts) == expected


# --------------------------------------------------------------------------- evidence counts
def codings_frame(excerpts: list[tuple[str, str, str, str, str]]) -> pd.DataFrame:
    """(transcript, coder, code, role, excerpt) -> processed-shaped codings for S01 in 2015."""
    rows = []
    for i, (tid, coder, code, role, text) in enumerate(excerpts):
        cmo = CMO_ELEMENTS[code.split("-")[1][0]]
        rows.append(
            {"transcript_id": tid, "service_id": "S01", "year": 2015, "respondent_role": role,
             "coder": coder, "code_id": code, "cmo": cmo, "theory_id": code.split("-")[0],
             "start": 10 * i, "end": 10 * i + 8, "excerpt": text}
        )  # fmt: skip
    return pd.DataFrame(rows)


def test_evidence_counts_by_role_and_year():
    codings = codings_frame(
        [("T0001", "JR", "PT1-C1", "Spoke worker", "a"), ("T0001", "JR", "PT1-O1", "Spoke worker", "b"),
         ("T0001", "AK", "PT1-C1", "Spoke worker", "a"),  # second coder: not counted again
         ("T0002", "JR", "PT1-M1", "Police", "c")]
    )  # fmt: skip
    judged = judgements([("S01", "PT1", S), ("S01", "PT1", R)]).assign(
        respondent_role=["Spoke worker", "Police"]
    )
    out = r.evidence_counts(codings, judged).set_index(["theory_id", "respondent_role", "year"])
    assert out.loc[("PT1", "Spoke worker", 2015), "n_transcripts"] == 1
    assert out.loc[("PT1", "Spoke worker", 2015), "n_segments"] == 2
    assert out.loc[("PT1", "Police", 2015), ["n_segments", "refutes"]].tolist() == [1, 1]
    with pytest.raises(ParameterError):
        r.evidence_counts(codings, judged, by=("coder",))


# --------------------------------------------------------------------------- joint display
def indicator_table(rows: list[tuple[str, str, float, bool, object]]) -> pd.DataFrame:
    """(service, indicator, value, enough_data, meets_threshold) -> indicator-table shape."""
    return pd.DataFrame(
        {
            "service_id": [s for s, *_ in rows],
            "year": 2015,
            "outcome_id": 1,
            "indicator_id": [i for _, i, *_ in rows],
            "indicator": [f"Indicator {i}" for _, i, *_ in rows],
            "numerator": 5.0,
            "denominator": 20.0,
            "value": [v for _, _, v, _, _ in rows],
            "direction": "higher",
            "n_units": 20,
            "enough_data": [e for *_, e, _ in rows],
            "meets_threshold": pd.array([m for *_, m in rows], dtype="boolean"),
        }
    )


def test_joint_display_confirm_expand_discord():
    judged = judgements(
        [("S01", "PT1", S)] * 3 + [("S02", "PT1", R)] * 3 + [("S03", "PT1", F)] * 3
        + [("S01", "PT2", S)] * 3 + [("S02", "PT2", S)] * 3 + [("S03", "PT2", S)]
    )  # fmt: skip
    ind = indicator_table(
        [("S01", "x", 0.5, True, True),    # PT1 supported + met -> confirm
         ("S02", "x", 0.1, True, False),   # PT1 refuted + not met -> confirm
         ("S03", "x", 0.5, True, True),    # PT1 refined -> expand
         ("S01", "y", 0.1, True, False),   # PT2 supported + not met -> discord
         ("S02", "y", np.nan, False, None),  # not enough data -> expand
         ("S03", "y", 0.9, True, True)]    # 1 judgement -> expand
    )  # fmt: skip
    out = r.joint_display(ind, judged, theories={"PT1": ["x"], "PT2": ["y"]})
    calls = dict(
        zip(zip(out["theory_id"], out["service_id"], strict=True), out["call"], strict=True)
    )
    assert calls == {
        ("PT1", "S01"): "confirm",
        ("PT1", "S02"): "confirm",
        ("PT1", "S03"): "expand",
        ("PT2", "S01"): "discord",
        ("PT2", "S02"): "expand",
        ("PT2", "S03"): "expand",
    }
    row = out.set_index(["theory_id", "service_id"]).loc[("PT2", "S01")]
    assert (row["n_transcripts"], row["supports"], row["n"]) == (3, 3, 20)
    assert "confirm" in r.JOINT_DISPLAY_RULE and "discord" in r.JOINT_DISPLAY_RULE
    one = r.joint_display(ind, judged, theories={"PT1": ["x"]}, service_id="S02")
    assert one["service_id"].tolist() == ["S02"]


def test_joint_display_pooled_year_and_unknown_indicator():
    judged = pd.concat(
        [judgements([("S01", "PT1", R)] * 2), judgements([("S01", "PT1", R)], year=2016)]
    )
    ind = indicator_table([("S01", "x", 0.7, True, True)]).assign(
        year=pd.array([pd.NA], dtype="Int64")
    )
    out = r.joint_display(ind, judged, theories={"PT1": ["x"]})
    assert out.loc[0, "n_transcripts"] == 3  # all years pooled
    assert out.loc[0, "call"] == "discord"
    with pytest.raises(ParameterError, match="not in the indicator table"):
        r.joint_display(ind, judged, theories={"PT1": ["nope"]})


# --------------------------------------------------------------------------- quotes
def test_quotes_are_safe_and_attributed_by_role_and_year():
    person, surname, place = FIRST_NAMES[0], SURNAMES[0], PLACES[0]
    codings = codings_frame(
        [("T0007", "JR", "PT1-O1", "Police", f"Referrals from the police went up after the Spoke moved in with them in {place}."),
         ("T0007", "JR", "PT1-M1", "Police", f"An officer called {person} {surname} said they walk over to the Spoke now."),
         ("T0008", "AK", "PT1-M1", "Spoke worker", f"My worker {person} never gave up on me at {PLACES[1]}, see T0008 in S01."),
         ("T0009", "AK", "PT2-M1", "Young person", "She kept turning up.")]
    )  # fmt: skip
    judged = judgements([("S01", "PT1", S), ("S01", "PT1", S), ("S01", "PT2", S)])
    people = {"Police": 3, "Spoke worker": 3}
    out = r.theory_evidence(
        codings, judged, service_id="S01", year=2015, max_quotes=2, people=people
    )
    assert out["theory_id"].tolist() == ["PT1", "PT2"]
    text = " ".join(out.filter(like="quote_").astype(str).to_numpy().ravel())
    shown = " ".join(out.astype(str).to_numpy().ravel())
    for forbidden in (person, surname, place, PLACES[1], "T0007", "T0008", "S01"):
        assert forbidden not in shown
    assert "[place]" in text and "[name]" in text
    attributions = out.filter(like="attribution_").to_numpy().ravel()
    assert all(re.fullmatch(r"[A-Za-z ,-]+, 2015", a) for a in attributions if a)
    assert out.loc[0, "attribution_1"] == "Police, 2015"
    # deterministic: outcome code first, then another interview before a second from the same one
    assert out.loc[0, "quote_1"].startswith("Referrals from the police")
    assert out.loc[0, "attribution_2"] == "Spoke worker, 2015"
    again = r.theory_evidence(
        codings.iloc[::-1], judged, service_id="S01", year=2015, people=people
    )
    pd.testing.assert_frame_equal(out, again)
    excluded = r.theory_evidence(
        codings, judged, service_id="S01", year=2015, exclude_roles=["Young person"], people=people
    )
    assert excluded.loc[excluded["theory_id"] == "PT2", "quote_1"].item() == ""


def test_refined_theories_show_evaluators_statements_never_templates():
    theories = r.load_theories()
    judged = judgements(
        [("S01", "PT2", F), ("S03", "PT2", F), ("S01", "PT2", S)] + [("S02", "PT2", R)] * 3
    )
    written = pd.DataFrame(
        {
            "refinement_id": ["R001"],
            "theory_id": ["PT2"],
            "context_dimension": ["model_variant"],
            "context_value": ["Multi-host"],
            "statement": ["Persistence worked only where workers could visit weekly."],
            "author": ["AK"],
            "written_on": ["2016-05-01"],
            "evidence": ["T0001;T0002"],
        }
    )
    out = r.refined_theories(
        judged, theories, services=services(), spokes=spokes(), refinements=written
    ).set_index("theory_id")
    assert out.loc["PT2", "refined_in"] == "Multi-host"
    assert out.loc["PT2", "refuted_in"] == "Hub outreach"
    assert out.loc["PT2", "refined_statement"] == (
        "Multi-host: Persistence worked only where workers could visit weekly. "
        "(R001, AK, 2016-05-01)"
    )
    assert out.loc["PT2", "refuted_statement"] == f"Hub outreach: {r.AWAITING_STATEMENT}"
    assert out.loc["PT3", "refined_statement"] == "" and out.loc["PT3", "n_transcripts"] == 0


# --------------------------------------------------------------------------- coding quality
def test_coding_quality_and_summary_on_hand_frame():
    codebook = pd.DataFrame(
        {
            "code_id": ["PT1", "PT1-C1", "PT1-M1"],
            "label": ["Theory", "Context code", "Mechanism code"],
            "cmo": [None, "context", "mechanism"],
            "theory_id": ["PT1", "PT1", "PT1"],
            "parent_code": [None, "PT1", "PT1"],
            "description": ["", "", ""],
        }
    )
    rows = [
        # T1 double coded: both coders agree on C1 over 0-10; disagree on 10-20 (C1 vs M1)
        ("T1", "A", "PT1-C1", 0, 10), ("T1", "B", "PT1-C1", 0, 10),
        ("T1", "A", "PT1-C1", 10, 20), ("T1", "B", "PT1-M1", 10, 20),
        ("T2", "A", "PT1-M1", 0, 10),  # single coded: ignored by agreement
    ]  # fmt: skip
    codings = pd.DataFrame(rows, columns=["transcript_id", "coder", "code_id", "start", "end"])
    q = r.coding_quality(codings, codebook).set_index("code_id")
    assert list(q.index) == ["PT1-C1", "PT1-M1"]  # parent code left out
    assert q.loc["PT1-C1", "label"] == "Context code"
    assert q.loc["PT1-C1", "percent_agreement"] == pytest.approx(50.0)
    assert q.loc["PT1-M1", "kappa"] == pytest.approx(0.0)  # A never, B once: po=.5, pe=.5
    assert q.loc["PT1-C1", "alpha_band"] in ("unreliable", "not defined")
    s = r.coding_summary(codings).set_index("coder")
    assert s.loc["All coders", ["n_transcripts", "n_double_coded", "n_segments"]].tolist() == [
        2,
        1,
        5,
    ]
    assert s.loc["A", "n_transcripts"] == 2 and s.loc["B", "n_segments"] == 2
    assert s.loc["All coders", "share_double_coded"] == pytest.approx(0.5)


# --------------------------------------------------------------------------- theories.toml
def test_packaged_theories_valid_and_indicators_in_outcome_framework():
    theories = r.load_theories()
    assert [t.id for t in theories] == ["PT1", "PT2", "PT3", "PT4", "PT5", "PT6"]
    assert r.DEFAULT_THEORIES.parent == Path(r.__file__).parent  # packaged next to the code
    data = tomllib.loads(outcomes.DEFAULT_FRAMEWORK.read_text(encoding="utf-8"))
    ids = {i["id"] for o in data["outcomes"] for i in o["indicators"]}
    assert {i for t in theories for i in t.indicators} <= ids
    assert set(r.theory_table(theories).columns) >= {"theory_id", "statement", "indicator_ids"}


GOOD = """
[[theories]]
id = "PT1"
label = "L"
statement = "S"
context_dimension = "model_variant"
context = "C"
indicators = ["1.1"]
"""


@pytest.mark.parametrize(
    ("change", "field", "found"),
    [
        (
            ('context_dimension = "model_variant"', 'context_dimension = "region"'),
            "context_dimension",
            "region",
        ),
        (('indicators = ["1.1"]', "indicators = []"), "indicators", "[]"),
        (
            ('indicators = ["1.1"]', 'indicators = ["1.1"]\nrefined = "In {contexts}, x."'),
            "refined",
            None,
        ),
        (
            ('indicators = ["1.1"]', 'indicators = ["1.1"]\nrefuted = "In {contexts}, y."'),
            "refuted",
            None,
        ),
        (('id = "PT1"', 'id = "theory one"'), "id", "theory one"),
        (('label = "L"\n', ""), "label", None),
        (('label = "L"', 'label = "L"\ncolour = "red"'), "colour", None),
    ],
)
def test_theories_validation_errors(tmp_path, change, field, found):
    path = tmp_path / "theories.toml"
    assert r.load_theories(_write(path, GOOD))[0].indicators == ("1.1",)
    _write(path, GOOD.replace(*change))
    with pytest.raises(SchemaError) as info:
        r.load_theories(path)
    message = str(info.value)
    assert str(path) in message and repr(field) in message
    if found is not None:
        assert found in message
    if field == "context_dimension":
        assert "allowed: model_variant, host_setting" in message


def test_theories_file_errors(tmp_path):
    with pytest.raises(SchemaError, match="not found"):
        r.load_theories(tmp_path / "missing.toml")
    with pytest.raises(SchemaError, match="not valid TOML"):
        r.load_theories(_write(tmp_path / "bad.toml", "theories = [[["))
    with pytest.raises(SchemaError, match="used twice"):
        r.load_theories(_write(tmp_path / "dup.toml", GOOD + GOOD))


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- full synthetic data
def _read(raw: Path, key: str) -> pd.DataFrame:
    return pd.read_csv(raw / LAYOUT[key], skiprows=1, keep_default_na=False, dtype=str)


@pytest.fixture(scope="module")
def qualitative(synthetic_raw: Path) -> dict[str, pd.DataFrame]:
    """Processed-shaped codebook / codings / judgements / services from the raw synthetic files."""
    book = _read(synthetic_raw, "codebook")
    book = book.assign(cmo=book["cmo"].map(CMO_ELEMENTS))
    transcripts = _read(synthetic_raw, "transcripts")
    lengths = transcripts.set_index("transcript_id")["text"].str.len()
    seg = _read(synthetic_raw, "segments").astype({"start": int, "end": int, "year": int})
    seg = seg[
        seg["code_id"].isin(book["code_id"]) & (seg["end"] <= seg["transcript_id"].map(lengths))
    ]
    codings = seg.merge(book[["code_id", "cmo", "theory_id"]], on="code_id")
    judged = _read(synthetic_raw, "judgements")
    judged = judged[judged["judgement"].isin(JUDGEMENTS)].merge(
        transcripts[["transcript_id", "service_id", "year", "respondent_role"]], on="transcript_id"
    )
    services_raw = next(synthetic_raw.rglob("services.csv"), None)
    if services_raw is None:
        pytest.skip("no raw services file to place services in their model variant")
    svc = pd.read_csv(services_raw, comment="#", dtype=str)
    return {
        "codebook": book,
        "codings": codings,
        "judgements": judged.astype({"year": int}),
        "services": svc,
    }


def test_full_synthetic_matrix_recovers_generator_pattern(qualitative):
    m = r.theory_context_matrix(
        qualitative["judgements"], qualitative["services"], by="model_variant"
    )
    cells = [(row.theory_id, str(row.model_variant), row.modal_judgement) for row in m.itertuples()]
    matches = [modal == PATTERN[t][v] for t, v, modal in cells if t != "PT5"]
    assert np.mean(matches) >= 0.8
    refuted = [
        (t, v) for t, row in PATTERN.items() for v, j in row.items() if j == R and t != "PT5"
    ]
    modal = {(t, v): mj for t, v, mj in cells}
    assert np.mean([modal[c] == R for c in refuted]) >= 0.75


def test_full_synthetic_quality_and_quotes(qualitative):
    q = r.coding_quality(qualitative["codings"], qualitative["codebook"])
    assert len(q) == 25 and q["kappa"].between(0.3, 1).all()
    sid = qualitative["judgements"]["service_id"].iloc[0]
    year = int(qualitative["judgements"]["year"].iloc[0])
    ev = r.theory_evidence(
        qualitative["codings"], qualitative["judgements"], service_id=sid, year=year
    )
    quotes = " ".join(ev.filter(like="quote_").to_numpy().ravel())
    for name in (*FIRST_NAMES, *SURNAMES, *PLACES):
        assert not re.search(rf"\b{re.escape(name)}\b", quotes)
    assert sid not in " ".join(ev.astype(str).to_numpy().ravel())


# --------------------------------------------------------------------------- charts
def test_charts_have_titles_and_alt_text():
    import matplotlib.pyplot as plt

    from hubspoke.analysis.realist import tables as rt
    from hubspoke.present.plotting import realist as pr
    from hubspoke.privacy.release import gather, protect
    from hubspoke.privacy.table import Figure, Table, Text

    tables = {"judgements": SMALL, "services": services(), "spokes": spokes()}
    context = rt.context_tables(
        tables, SMALL, by="host_setting", time_period="2015", theories=["PT1", "PT2"]
    )
    roles = rt.role_table(SMALL, theories=["PT1", "PT2"], time_period="2015")
    cells, equations = gather([*context.values(), roles])
    release = protect(cells, equations=equations)
    # Every verdict is suppressed, and one theory's interviews only are shown: no chart is
    # drawn of either (issue 18), and the alt text says why.
    assert pr.theory_context_heatmap(context, by="host_setting", release=release) is None
    alt = pr.theory_context_alt(context, by="host_setting", release=release)
    assert "host setting" in alt and "no chart is drawn" in alt
    assert pr.evidence_by_role_chart(roles, release=release) is None
    assert "no chart is drawn" in pr.evidence_by_role_alt(roles, release=release)
    quality = Table(
        pd.DataFrame(
            {"label": ["a", "b", "c"], "kappa": [0.9, 0.7, np.nan], "alpha": [0.9, 0.7, np.nan]},
            index=pd.Index(["PT1-C1", "PT1-M1", "PT1-O1"], name="Code"),
        ),
        family="coding_quality",
        rows="code_id",
        columns={
            "label": Text("code_label"),
            "kappa": Figure("cohen_kappa", dp=2),
            "alpha": Figure("krippendorff_alpha", dp=2),
        },
        total_row=None,
    )
    fig3 = pr.agreement_dot_plot(quality, release=release)
    # one scatter per agreement band (named in the legend): two codes drawn in all
    assert sum(len(c.get_offsets()) for c in fig3.axes[0].collections) == 2
    alt = pr.agreement_alt(quality, release=release)
    assert "1 code reaches 0.800, 1 lies between" in alt and "1 cannot be computed" in alt
    plt.close("all")


def test_quotes_picked_for_every_theory_at_once_match_each_theory_picked_alone() -> None:
    """Ranking all theories in one pass picks, for each, what ranking it alone would
    (synthetic segments with ties, a second coder's span of the same text and repeated wording)."""
    from hubspoke.analysis.realist.quotes import _pick_quotes

    rng = np.random.default_rng(19)
    n = 400
    segments = pd.DataFrame(
        {
            "theory_id": pd.array(rng.choice(["T1", "T2", "T3", "T4"], n), dtype="string"),
            "transcript_id": pd.array(
                [f"TR{k:02d}" for k in rng.integers(0, 12, n)], dtype="string"
            ),
            "cmo": rng.choice(list(CMO_ELEMENTS), n),
            "start": rng.integers(0, 30, n),
            "end": rng.integers(30, 40, n),
            "quote": [f"synthetic words {k}" for k in rng.integers(0, 60, n)],
        }
    )
    for max_quotes in (0, 1, 2, 7):
        together = _pick_quotes(segments, max_quotes)
        for theory in ["T1", "T2", "T3", "T4"]:
            alone = _pick_quotes(segments[segments["theory_id"] == theory], max_quotes)
            picked = together[together["theory_id"] == theory]
            assert list(picked.index) == list(alone.index), (theory, max_quotes)
        assert (together.groupby("theory_id").size() <= max_quotes).all()
        assert len(together) == 4 * max_quotes, "every theory has enough distinct quotes"
