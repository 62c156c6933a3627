"""Agreement between coders on supports / refutes / refines, with bootstrap intervals (synthetic frames)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hubspoke.analysis import realist as r
from hubspoke.analysis.agreement import (
    agreement_band,
    cohen_kappa,
    judgement_agreement,
    krippendorff_alpha,
    per_code_agreement,
)
from hubspoke.errors import ParameterError, SchemaError

S, R, F = "supports", "refutes", "refines"
CATS = (S, R, F)

# Hand-computed kappa. Main judgement (rows) against the second coder's (columns), 20
# transcripts, one theory each:
#
#                 second: supports  refutes  refines | total
#   main supports            8        1        1     |  10
#   main refutes             1        4        0     |   5
#   main refines             1        1        3     |   5
#   total                   10        6        4     |  20
#
#   p_o = (8 + 4 + 3) / 20 = 0.75
#   p_e = (10*10 + 5*6 + 5*4) / 20**2 = 150 / 400 = 0.375
#   kappa = (0.75 - 0.375) / (1 - 0.375) = 0.375 / 0.625 = 0.6     -> "moderate" (<= 0.60)
#
# Alpha (nominal) from the same table: the coincidence matrix is table + its transpose,
#   o = [[16, 2, 2], [2, 8, 1], [2, 1, 6]], n_c = (20, 11, 9), n = 40,
#   disagreements = 2 * (2 + 2 + 1) = 10, sum_c n_c**2 = 400 + 121 + 81 = 602,
#   alpha = 1 - (n - 1) * 10 / (n**2 - 602) = 1 - 390 / 998 = 0.6092...
HAND_TABLE = [[8, 1, 1], [1, 4, 0], [1, 1, 3]]


def from_table(table, *, coders=("AA", "BB"), theory="PT1", start=0) -> pd.DataFrame:
    """Judgements whose main x agreement cross-table is ``table`` (one transcript per cell entry)."""
    rows, i = [], start
    for a, row in enumerate(table):
        for b, n in enumerate(row):
            for _ in range(n):
                tid = f"T{i:04d}"
                rows += [(tid, theory, coders[0], "main", CATS[a]),
                         (tid, theory, coders[1], "agreement", CATS[b])]  # fmt: skip
                i += 1
    return pd.DataFrame(rows, columns=["transcript_id", "theory_id", "coder", "check", "judgement"])


def test_kappa_and_alpha_reproduce_the_hand_computation():
    out = judgement_agreement(from_table(HAND_TABLE), dp=3, n_boot=500)
    pair = out.set_index("coder_pair").loc["AA & BB"]
    assert (pair["n_transcripts"], pair["n_pairs"]) == (20, 20)
    assert pair["observed_agreement"] == 0.75
    assert pair["kappa"] == 0.6 and pair["kappa_band"] == "moderate"
    assert pair["alpha"] == round(1 - 390 / 998, 3) == 0.609
    assert pair["dp"] == 3
    overall = out.set_index("coder_pair").loc["All pairs"]
    assert overall["kappa"] == 0.6 and overall["n_pairs"] == 20


def test_alpha_matches_krippendorffs_published_binary_example():
    # Krippendorff (2011) section A: two observers, ten units, published alpha = .095
    a = [0, 1, 0, 0, 0, 0, 0, 0, 1, 0]
    b = [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]
    rows = []
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        rows += [(f"T{i:04d}", "PT2", "AA", "main", (S, R)[x]),
                 (f"T{i:04d}", "PT2", "BB", "agreement", (S, R)[y])]  # fmt: skip
    frame = pd.DataFrame(
        rows, columns=["transcript_id", "theory_id", "coder", "check", "judgement"]
    )
    out = judgement_agreement(frame, dp=3, n_boot=0).set_index("coder_pair")
    assert out.loc["AA & BB", "alpha"] == 0.095
    assert out.loc["AA & BB", "alpha_band"] == "unreliable"
    assert np.isnan(out.loc["AA & BB", "alpha_low"])  # no resamples asked for


def test_estimates_agree_with_the_general_functions_and_lie_in_their_intervals():
    frame = pd.concat(
        [
            from_table(HAND_TABLE, coders=("AA", "BB")),
            from_table([[5, 0, 3], [1, 3, 1], [0, 0, 6]], coders=("CC", "AA"), start=100),
        ],
        ignore_index=True,
    )
    out = judgement_agreement(frame, dp=3, n_boot=400, seed=7).set_index("coder_pair")
    assert list(out.index) == ["AA & BB", "AA & CC", "All pairs"]
    main = frame[frame["check"] == "main"].set_index("transcript_id")["judgement"]
    second = frame[frame["check"] == "agreement"].set_index("transcript_id")["judgement"]
    expected_kappa = cohen_kappa(main.sort_index(), second.sort_index(), labels=CATS)
    expected_alpha = krippendorff_alpha([main.sort_index(), second.sort_index()])
    assert out.loc["All pairs", "kappa"] == round(expected_kappa, 3)
    assert out.loc["All pairs", "alpha"] == round(expected_alpha, 3)
    for stat in ("observed_agreement", "kappa", "alpha"):
        assert (out[f"{stat}_low"] <= out[stat]).all() and (out[stat] <= out[f"{stat}_high"]).all()
        assert (out[f"{stat}_low"] < out[f"{stat}_high"]).all()
    assert (out["ci_method"] == "percentile bootstrap, transcripts resampled").all()
    # same data, same seed: the same intervals
    again = judgement_agreement(frame, dp=3, n_boot=400, seed=7).set_index("coder_pair")
    pd.testing.assert_frame_equal(out, again)


def test_bands_follow_the_rounded_values_shown():
    # kappa of this table is 0.6008...: shown as 0.60 at 2 dp (moderate), 0.601 at 3 (substantial)
    table = [[5, 0, 3], [1, 3, 1], [0, 0, 6]]
    two = judgement_agreement(from_table(table), dp=2, n_boot=0).iloc[0]
    three = judgement_agreement(from_table(table), dp=3, n_boot=0).iloc[0]
    assert agreement_band(0.6008) == "substantial"  # the unrounded value's band
    assert (two["kappa"], two["kappa_band"]) == (0.6, "moderate")
    assert (three["kappa"], three["kappa_band"]) == (0.601, "substantial")
    # alpha of this table is 2/3 = 0.6666...: shown as 0.667, which is "tentative", not "unreliable"
    alpha = judgement_agreement(from_table([[6, 0, 0], [3, 0, 0], [0, 0, 6]]), dp=3, n_boot=0)
    assert (alpha.iloc[0]["alpha"], alpha.iloc[0]["alpha_band"]) == (
        0.667,
        "tentative conclusions only",
    )
    assert agreement_band(2 / 3, scale="krippendorff") == "unreliable"
    # every printed value and its band agree, whatever dp
    for dp in (2, 3):
        out = judgement_agreement(from_table(HAND_TABLE), dp=dp, n_boot=200)
        for value, band in zip(out["kappa"], out["kappa_band"], strict=True):
            assert f"{value:.{dp}f}" == f"{round(value, dp):.{dp}f}"
            assert band == agreement_band(float(f"{value:.{dp}f}"))
    with pytest.raises(ParameterError, match="decimal places"):
        judgement_agreement(from_table(HAND_TABLE), dp=1)


def test_judgement_agreement_needs_double_judged_transcripts():
    only_main = from_table(HAND_TABLE).query("check == 'main'")
    with pytest.raises(ParameterError, match="two coders"):
        judgement_agreement(only_main)
    same_coder = from_table(HAND_TABLE, coders=("AA", "AA"))
    with pytest.raises(ParameterError, match="two coders"):
        judgement_agreement(same_coder)
    with pytest.raises(SchemaError, match="coder"):
        judgement_agreement(from_table(HAND_TABLE).drop(columns="coder"))
    with pytest.raises(SchemaError, match="maybe"):
        judgement_agreement(from_table(HAND_TABLE).assign(judgement="maybe"))


# --------------------------------------------------------------------------- main-only tallies
def with_context(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(service_id="S01", year=2015, respondent_role="Spoke worker")


def test_tallies_count_main_judgements_only():
    services = pd.DataFrame({"service_id": ["S01"], "model_variant": ["Multi-host"]})
    both = with_context(from_table(HAND_TABLE, theory="PT2"))
    main = both[both["check"] == "main"]
    no_check = main.drop(columns="check")
    for frame in (both, no_check):
        pd.testing.assert_frame_equal(
            r.theory_context_matrix(frame, services), r.theory_context_matrix(main, services)
        )
    cell = r.theory_context_matrix(both, services).iloc[0]
    assert (cell["supports"], cell["refutes"], cell["refines"]) == (10, 5, 5)  # main row totals
    contexts = r.service_context_table(services)
    assert r.judgements_by_role_year(both, contexts)["n_judgements"].sum() == 20
    codings = pd.DataFrame(columns=["transcript_id", "coder", "theory_id", "respondent_role",
                                    "year"])  # fmt: skip
    counts = r.evidence_counts(codings, both)
    assert counts["n_transcripts"].sum() == 20 and counts[[S, R, F]].sum().sum() == 20


def test_judgement_checks_are_validated():
    services = pd.DataFrame({"service_id": ["S01"], "model_variant": ["Multi-host"]})
    frame = with_context(from_table(HAND_TABLE, theory="PT2"))
    with pytest.raises(SchemaError, match="check"):
        r.theory_context_matrix(frame.assign(check="second"), services)
    two_mains = frame.assign(check="main")
    with pytest.raises(SchemaError, match="more than one main"):
        r.theory_context_matrix(two_mains, services)


# --------------------------------------------------------------------------- code agreement intervals
def double_coded() -> pd.DataFrame:
    """Two coders on six transcripts, code X at the transcript level (synthetic)."""
    rows = []
    marks = {"AA": [1, 1, 0, 1, 0, 1], "BB": [1, 0, 0, 1, 1, 1]}
    for coder, applied in marks.items():
        for i, on in enumerate(applied):
            rows.append((f"T{i:04d}", coder, "Y", 0, 5))  # a code both always apply
            if on:
                rows.append((f"T{i:04d}", coder, "X", 0, 5))
    return pd.DataFrame(rows, columns=["transcript_id", "coder", "code_id", "start", "end"])


def test_code_agreement_can_return_bootstrap_intervals_and_rounded_bands():
    plain = per_code_agreement(double_coded(), unit="transcript").set_index("code_id")
    assert "kappa_low" not in plain.columns
    out = per_code_agreement(double_coded(), unit="transcript", n_boot=500, dp=3).set_index(
        "code_id"
    )
    x = out.loc["X"]
    # X: AA 1 1 0 1 0 1, BB 1 0 0 1 1 1 -> table [[1, 1], [1, 3]]: p_o = 4/6, p_e = (2*2 + 4*4)/36
    # = 20/36, kappa = (24/36 - 20/36) / (16/36) = 0.25
    assert x["kappa"] == 0.25 and x["kappa_band"] == "fair"
    assert x["kappa"] == round(plain.loc["X", "kappa"], 3)
    assert x["kappa_low"] <= x["kappa"] <= x["kappa_high"]
    assert x["alpha_low"] <= x["alpha"] <= x["alpha_high"]
    assert x["percent_agreement_low"] <= x["percent_agreement"] <= x["percent_agreement_high"]
    assert x["percent_agreement"] == round(400 / 6, 3)
    # Y: both coders always apply it, so kappa and alpha are undefined, and so are their intervals
    assert np.isnan(out.loc["Y", "kappa"]) and np.isnan(out.loc["Y", "kappa_low"])
    assert out.loc["Y", "kappa_band"] == "not defined"
    with pytest.raises(ParameterError, match="n_boot"):
        per_code_agreement(double_coded(), n_boot=-1)
