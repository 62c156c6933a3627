"""Coder agreement: checked against published worked examples and hand calculations."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hubspoke.analysis.agreement import (
    agreement_band,
    cohen_kappa,
    krippendorff_alpha,
    per_code_agreement,
)
from hubspoke.errors import HubspokeError, ParameterError, SchemaError

NA = np.nan

# Krippendorff (2011) "Computing Krippendorff's Alpha-Reliability", section D: four coders,
# twelve units, values 1-5, missing values. Published: nominal .743, interval .849. Ordinal
# .815 and ratio .797 agree with Wikipedia's worked example and the `krippendorff` package.
FOUR_CODERS = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, NA, NA, NA],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NA, 3],
    [NA, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NA],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NA],
]

# Krippendorff (2011) section A: two observers, ten units, binary data; published alpha = .095.
BINARY_A = [0, 1, 0, 0, 0, 0, 0, 0, 1, 0]
BINARY_B = [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]


# --------------------------------------------------------------------------- Cohen's kappa
def test_kappa_sklearn_documented_example():
    # Hand check: agreement 4/5 = .8; coder 1 marginals neg 2, neu 1, pos 2; coder 2 neg 3,
    # neu 1, pos 1; chance = (2*3 + 1*1 + 2*1) / 25 = .36; kappa = (.8 - .36) / (1 - .36) = .6875.
    a = ["negative", "positive", "negative", "neutral", "positive"]
    b = ["negative", "positive", "negative", "neutral", "negative"]
    assert cohen_kappa(a, b) == pytest.approx(0.6875)


def test_kappa_textbook_two_by_two():
    # Wikipedia's 50 grant proposals: yes/yes 20, yes/no 5, no/yes 10, no/no 15.
    # p_o = 35/50 = .7; p_e = .5 * .6 + .5 * .4 = .5; kappa = (.7 - .5) / .5 = .4.
    a = ["yes"] * 25 + ["no"] * 25
    b = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.4)


def test_weighted_kappa_hand_calculation():
    # Table: (0,0), (1,2), (2,2); marginals rows 1,1,1, columns 1,0,2; expected = outer / 3.
    # Linear: observed disagreement 1, expected 4/3 + 1 + 2/3 = 3 -> 1 - 1/3.
    # Quadratic: observed 1, expected 8/3 + 1 + 4/3 = 5 -> 1 - 1/5.
    a, b = [0, 1, 2], [0, 2, 2]
    assert cohen_kappa(a, b, weights="linear") == pytest.approx(2 / 3)
    assert cohen_kappa(a, b, weights="quadratic") == pytest.approx(0.8)
    assert cohen_kappa(a, b, labels=[0, 1, 2]) == pytest.approx(cohen_kappa(a, b))


def test_kappa_undefined_when_chance_agreement_is_perfect():
    assert math.isnan(cohen_kappa(["x"] * 4, ["x"] * 4))


def test_kappa_labels_fix_the_order_for_weights():
    a, b = ["low", "mid", "high"], ["low", "high", "high"]
    ordered = cohen_kappa(a, b, labels=["low", "mid", "high"], weights="linear")
    assert ordered == pytest.approx(2 / 3)


@pytest.mark.parametrize(
    ("a", "b", "kwargs"),
    [
        ([1, 2], [1], {}),
        ([], [], {}),
        ([1, None], [1, 2], {}),
        ([1, 2], [1, 2], {"weights": "cubic"}),
        ([1, 3], [1, 2], {"labels": [1, 2]}),
    ],
)
def test_kappa_errors(a, b, kwargs):
    with pytest.raises(ParameterError):
        cohen_kappa(a, b, **kwargs)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=2, max_size=40))
def test_kappa_bounded_and_symmetric(pairs):
    a, b = zip(*pairs, strict=True)
    k = cohen_kappa(a, b)
    if not math.isnan(k):
        assert -1 <= k <= 1
        assert k == pytest.approx(cohen_kappa(b, a))


# --------------------------------------------------------------------------- Krippendorff's alpha
@pytest.mark.parametrize(
    ("level", "published"),
    [("nominal", 0.743), ("interval", 0.849), ("ordinal", 0.815), ("ratio", 0.797)],
)
def test_alpha_four_coders_twelve_units(level, published):
    assert krippendorff_alpha(FOUR_CODERS, level=level) == pytest.approx(published, abs=5e-4)


def test_alpha_two_coders_binary():
    assert krippendorff_alpha([BINARY_A, BINARY_B]) == pytest.approx(0.095, abs=5e-4)
    # exact: 1 - (n - 1) * o_01 * 2 / (2 n_0 n_1) with n = 20, n_0 = 14, n_1 = 6, o_01 = 4
    assert krippendorff_alpha([BINARY_A, BINARY_B]) == pytest.approx(1 - 19 * 8 / (2 * 14 * 6))


def test_alpha_accepts_frames_and_labels():
    frame = pd.DataFrame(FOUR_CODERS, index=list("ABCD"))
    assert krippendorff_alpha(frame) == pytest.approx(0.743, abs=5e-4)
    letters = [["a", "b", None], ["a", "b", "b"]]
    assert krippendorff_alpha(letters) == pytest.approx(krippendorff_alpha([[0, 1, NA], [0, 1, 1]]))


def test_alpha_perfect_and_undefined():
    assert krippendorff_alpha([[1, 2, 3], [1, 2, 3]]) == pytest.approx(1.0)
    assert math.isnan(krippendorff_alpha([[1, 1, 1], [1, 1, 1]]))


@pytest.mark.parametrize(
    ("data", "level"),
    [
        ([[1, 2, 3]], "nominal"),  # one coder
        ([1, 2, 3], "nominal"),  # one dimension read as one column: one coder per row
        ([[1, NA], [NA, 2]], "nominal"),  # nothing pairable
        ([[1, 2], [1, 2]], "circular"),
        ([["a", "b"], ["a", "b"]], "interval"),
    ],
)
def test_alpha_errors(data, level):
    with pytest.raises(HubspokeError):
        krippendorff_alpha(data, level=level)


# --------------------------------------------------------------------------- bands
@pytest.mark.parametrize(
    ("value", "band"),
    [
        (-0.1, "poor"),
        (0.0, "slight"),
        (0.2, "slight"),
        (0.21, "fair"),
        (0.4, "fair"),
        (0.55, "moderate"),
        (0.7, "substantial"),
        (0.8, "substantial"),
        (0.81, "almost perfect"),
        (1.0, "almost perfect"),
        (NA, "not defined"),
    ],
)
def test_landis_koch_bands(value, band):
    assert agreement_band(value) == band


@pytest.mark.parametrize(
    ("value", "band"),
    [
        (0.9, "reliable"),
        (0.8, "reliable"),
        (0.7, "tentative conclusions only"),
        (0.667, "tentative conclusions only"),
        (0.5, "unreliable"),
        (NA, "not defined"),
    ],
)
def test_krippendorff_bands(value, band):
    assert agreement_band(value, scale="krippendorff") == band


def test_band_unknown_scale():
    with pytest.raises(ParameterError):
        agreement_band(0.5, scale="cicchetti")


# --------------------------------------------------------------------------- per code
def codings() -> pd.DataFrame:
    rows = [
        ("T1", "AB", "X", 0, 10),
        ("T1", "AB", "Y", 20, 30),
        ("T1", "CD", "X", 0, 10),
        ("T1", "CD", "Y", 25, 30),
        ("T2", "AB", "X", 0, 50),  # single-coded: left out
        ("T3", "AB", "Y", 0, 10),
        ("T3", "CD", "X", 0, 10),
    ]
    return pd.DataFrame(rows, columns=["transcript_id", "coder", "code_id", "start", "end"])


def test_per_code_segments_hand_calculation():
    # T1 boundaries 0, 10, 20, 25, 30: coded units [0,10), [20,25), [25,30) ([10,20) nobody coded).
    # T3: one unit [0,10). X: AB 1,0,0,0 / CD 1,0,0,1. Y: AB 0,1,1,1 / CD 0,0,1,0.
    result = per_code_agreement(codings()).set_index("code_id")
    x, y = result.loc["X"], result.loc["Y"]
    assert x["n_transcripts"] == 2 and x["n_units"] == 4
    assert x["n_units_coded"] == 2 and y["n_units_coded"] == 3
    assert x["percent_agreement"] == pytest.approx(75.0)
    assert x["kappa"] == pytest.approx(cohen_kappa([1, 0, 0, 0], [1, 0, 0, 1]))
    assert x["alpha"] == pytest.approx(krippendorff_alpha([[1, 0, 0, 0], [1, 0, 0, 1]]))
    assert y["percent_agreement"] == pytest.approx(50.0)
    assert y["kappa"] == pytest.approx(cohen_kappa([0, 1, 1, 1], [0, 0, 1, 0]))
    assert x["kappa_band"] == agreement_band(x["kappa"])
    assert y["alpha_band"] == agreement_band(y["alpha"], scale="krippendorff")


def test_per_code_transcript_units_and_unused_codes():
    result = per_code_agreement(codings(), unit="transcript", codes=["X", "Y", "Z"]).set_index(
        "code_id"
    )
    assert result.loc["X", "n_units"] == 2
    assert result.loc["X", "percent_agreement"] == pytest.approx(50.0)  # T1 both, T3 only CD
    assert result.loc["Z", "n_units_coded"] == 0
    assert math.isnan(result.loc["Z", "kappa"]) and result.loc["Z", "kappa_band"] == "not defined"


def test_per_code_three_coders():
    frame = pd.concat(
        [codings(), pd.DataFrame([("T1", "EF", "X", 0, 10)], columns=codings().columns)],
        ignore_index=True,
    )
    result = per_code_agreement(frame).set_index("code_id")
    assert result.loc["X", "n_transcripts"] == 2
    assert 0 <= result.loc["X", "percent_agreement"] <= 100


def test_per_code_errors():
    with pytest.raises(SchemaError, match="required column"):
        per_code_agreement(codings().drop(columns="coder"))
    bad = codings()
    bad.loc[0, "end"] = 0
    with pytest.raises(SchemaError, match="end must be after start"):
        per_code_agreement(bad)
    with pytest.raises(ParameterError, match="two or more coders"):
        per_code_agreement(codings().query("coder == 'AB'"))
    with pytest.raises(ParameterError):
        per_code_agreement(codings(), unit="sentence")
