"""Agreement per code from one presence array, and judgement agreement counted without apply.

The presence of every code for every coder on every unit is now built as one array, not a
long table pivoted per code; these tests pin the statistics to values worked by hand and
to a plain per-segment reference written here. All data is synthetic.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hubspoke.analysis.agreement import (
    cohen_kappa,
    judgement_agreement,
    krippendorff_alpha,
    per_code_agreement,
)


def _codings(rows: list[tuple[str, str, str, int, int]]) -> pd.DataFrame:
    """Synthetic codings: transcript, coder, code, start, end."""
    return pd.DataFrame(rows, columns=["transcript_id", "coder", "code_id", "start", "end"])


def test_two_coders_overlapping_spans_match_the_hand_count() -> None:
    # A codes X over 0-10, B over 5-10: two segments (0-5, 5-10); A says 1, 1 and B 0, 1.
    codings = _codings([("T1", "A", "X", 0, 10), ("T1", "B", "X", 5, 10)])
    row = per_code_agreement(codings).iloc[0]
    assert (row["n_transcripts"], row["n_units"], row["n_units_coded"]) == (1, 2, 2)
    assert row["percent_agreement"] == pytest.approx(50.0)
    assert row["kappa"] == pytest.approx(0.0)  # chance agreement is 0.5, as observed


def test_code_no_one_applied_is_reported_undefined() -> None:
    codings = _codings([("T1", "A", "X", 0, 10), ("T1", "B", "X", 0, 10)])
    out = per_code_agreement(codings, codes=["Y"]).set_index("code_id")
    assert out.loc["X", "percent_agreement"] == pytest.approx(100.0)
    assert out.loc["Y", "n_units_coded"] == 0
    assert np.isnan(out.loc["Y", "kappa"]) and np.isnan(out.loc["Y", "alpha"])


def _reference(codings: pd.DataFrame, code: str) -> tuple[float, float, float, int]:
    """Percent agreement, kappa and alpha of one code, unit by unit (segments), plainly."""
    columns: list[dict[str, float]] = []
    for _, group in codings.groupby("transcript_id", sort=True):
        coders = sorted(group["coder"].unique())
        if len(coders) < 2:
            continue
        cuts = sorted(set(group["start"]) | set(group["end"]))
        for a, b in zip(cuts, cuts[1:], strict=False):
            over = group[(group["start"] <= a) & (group["end"] >= b)]
            if over.empty:
                continue  # text nobody coded
            mine = set(over.loc[over["code_id"] == code, "coder"])
            columns.append({str(i): float(c in mine) for i, c in enumerate(coders)})
    matrix = pd.DataFrame(columns).to_numpy(dtype=float)
    firsts, seconds = [], []
    for i in range(matrix.shape[1]):
        for j in range(i + 1, matrix.shape[1]):
            both = ~np.isnan(matrix[:, i]) & ~np.isnan(matrix[:, j])
            firsts += list(matrix[both, i])
            seconds += list(matrix[both, j])
    agree = 100 * float(np.mean(np.array(firsts) == np.array(seconds)))
    kappa = cohen_kappa(firsts, seconds, labels=[0.0, 1.0])
    return agree, kappa, krippendorff_alpha(matrix.T), len(matrix)


def test_three_and_four_coders_match_a_plain_reference() -> None:
    rng = np.random.default_rng(7)
    rows = []
    for t in range(8):
        for coder in ["A", "B", "C", "D"][: 2 + t % 3]:
            for _ in range(4):
                start = int(rng.integers(0, 100))
                rows.append((f"T{t}", coder, f"K{rng.integers(0, 3)}", start, start + 30))
    codings = _codings(rows)
    out = per_code_agreement(codings).set_index("code_id")
    for code in ("K0", "K1", "K2"):
        agree, kappa, alpha, n_units = _reference(codings, code)
        assert out.loc[code, "n_units"] == n_units
        assert out.loc[code, "percent_agreement"] == pytest.approx(agree, abs=1e-9)
        assert out.loc[code, "kappa"] == pytest.approx(kappa, abs=1e-9)
        assert out.loc[code, "alpha"] == pytest.approx(alpha, abs=1e-9)


def test_transcript_units_and_bootstrap_bounds_hold_the_estimate() -> None:
    rows = [(f"T{t}", c, "X", 0, 10) for t in range(6) for c in ("A", "B")]
    rows += [("T0", "A", "Y", 0, 5), ("T1", "B", "Y", 0, 5), ("T2", "A", "Y", 0, 5)]
    rows += [("T2", "B", "Y", 0, 5), ("T3", "A", "Y", 0, 5), ("T3", "B", "Y", 0, 5)]
    out = per_code_agreement(_codings(rows), unit="transcript", n_boot=200, dp=3)
    y = out.set_index("code_id").loc["Y"]
    assert y["n_units"] == 6  # one unit per transcript
    assert y["percent_agreement"] == pytest.approx(100 * 4 / 6, abs=1e-3)
    assert y["percent_agreement_low"] <= y["percent_agreement"] <= y["percent_agreement_high"]


def test_judgement_agreement_counts_every_coder_of_a_unit() -> None:
    judgements = pd.DataFrame(
        {
            "transcript_id": ["T1", "T1", "T2", "T2", "T3", "T3"],
            "theory_id": ["PT1"] * 6,
            "coder": ["A", "B", "A", "B", "A", "B"],
            "check": ["main", "agreement"] * 3,
            "judgement": ["supports", "supports", "refutes", "supports", "refines", "refines"],
        }
    )
    out = judgement_agreement(judgements, n_boot=0, dp=3).set_index("coder_pair")
    everyone = out.loc["All pairs"]
    assert everyone["n_pairs"] == 3
    assert everyone["observed_agreement"] == pytest.approx(2 / 3, abs=1e-3)
    matrix = [["supports", "refutes", "refines"], ["supports", "supports", "refines"]]
    assert everyone["alpha"] == pytest.approx(round(krippendorff_alpha(matrix), 3))


def test_double_judged_counts_what_judgement_agreement_counts() -> None:
    from hubspoke.analysis.agreement import ALL_PAIRS, double_judged

    judgements = pd.DataFrame(
        {
            "transcript_id": ["T1", "T1", "T1", "T1", "T2", "T2", "T3"],
            "theory_id": ["PT1", "PT1", "PT2", "PT2", "PT1", "PT1", "PT1"],
            "coder": ["A", "B", "A", "C", "A", "A", "B"],
            "check": ["main", "agreement", "main", "agreement", "main", "agreement", "main"],
            "judgement": ["supports"] * 7,
        }
    )
    full = judgement_agreement(judgements, n_boot=0).set_index("coder_pair")
    assert double_judged(judgements) == full.loc[ALL_PAIRS, "n_transcripts"] == 1
    assert double_judged(judgements[judgements["check"] == "main"]) == 0
