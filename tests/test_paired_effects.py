"""Effect sizes of the paired test of missing episodes: Hodges-Lehmann and rank-biserial, by hand."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from hubspoke.analysis.service import safety
from hubspoke.errors import ParameterError

OLD_COLUMNS = ["n_pairs", "test", "statistic", "p_value", "note"]
NEW_COLUMNS = ["hl_median_change", "hl_ci_low", "hl_ci_high", "rank_biserial_r", "p_text"]


# --------------------------------------------------------------------------- Hodges-Lehmann
def test_hodges_lehmann_is_the_median_of_walsh_averages() -> None:
    # d = 1, 2, 4: Walsh averages 1, 1.5, 2.5, 2, 3, 4 -> sorted 1, 1.5, 2, 2.5, 3, 4 -> median 2.25.
    estimate, low, high = safety.hodges_lehmann([1, 2, 4])
    assert estimate == 2.25
    assert math.isnan(low) and math.isnan(high)  # 3 pairs cannot give a 95% interval


def test_hodges_lehmann_interval_for_one_to_ten() -> None:
    """d = 1..10: the two-sided 5% critical value of the signed-rank statistic for n = 10 is 8
    (published tables), so C = 9 and the interval is the 9th smallest and 9th largest of the
    55 Walsh averages: 1, 1.5, 2, 2, 2.5, 2.5, 3, 3, 3 -> 3, and by symmetry 11 - 3 = 8 (as R's
    wilcox.test(1:10, conf.int = TRUE) gives: 3 to 8, pseudo-median 5.5)."""
    assert safety.hodges_lehmann(np.arange(1, 11)) == (5.5, 3.0, 8.0)


def test_exact_walsh_rank_from_enumerating_sign_patterns() -> None:
    # P(T+ <= t) by enumerating all 2^10 sign patterns of ranks 1..10.
    sums = np.array(
        [sum(r for r, s in zip(range(1, 11), signs, strict=True) if s)
         for signs in itertools.product([0, 1], repeat=10)]
    )  # fmt: skip
    assert (sums <= 8).mean() == pytest.approx(25 / 1024) and 25 / 1024 <= 0.025
    assert (sums <= 9).mean() == pytest.approx(33 / 1024) and 33 / 1024 > 0.025
    assert safety._walsh_rank(10, 0.025, exact=True) == 9


def test_normal_walsh_rank_by_hand() -> None:
    # n = 30: M = 465, sd = sqrt(30 * 31 * 61 / 24) = 48.6184; 232.5 + 0.5 - 1.959964 * 48.6184
    # = 137.71 -> C = 137.
    assert safety._walsh_rank(30, 0.025, exact=False) == 137


def test_hodges_lehmann_rejects_a_bad_level() -> None:
    with pytest.raises(ParameterError, match="level"):
        safety.hodges_lehmann([1, 2, 3], level=95)


# --------------------------------------------------------------------------- rank-biserial
@pytest.mark.parametrize(
    ("differences", "r"),
    [
        # |d| 3, 1, 2, 4 -> ranks 3, 1, 2, 4; R+ = 2, R- = 8; (2 - 8) / 10 (the zero dropped).
        ([-3, -1, 2, -4, 0], -0.6),
        # |d| 1, 1, 1, 2 -> ranks 2, 2, 2, 4; R+ = 8, R- = 2; 6 / 10.
        ([1, 1, -1, 2], 0.6),
        ([2, 5, 1], 1.0),
    ],
)
def test_rank_biserial_by_hand(differences: list[float], r: float) -> None:
    assert safety.rank_biserial(differences) == pytest.approx(r)


def test_rank_biserial_of_no_change_is_missing() -> None:
    assert math.isnan(safety.rank_biserial([0, 0, 0]))


# --------------------------------------------------------------------------- the test frame
def _test(before: list[float], after: list[float]) -> pd.Series:
    frame = safety._wilcoxon(pd.Series(before, dtype=float), pd.Series(after, dtype=float))
    assert list(frame.columns) == OLD_COLUMNS + NEW_COLUMNS
    return frame.iloc[0]


def test_wilcoxon_row_carries_effect_sizes_and_p_in_words() -> None:
    before = [5, 4, 6, 3, 2, 8, 7, 1, 9, 4, 6]
    after = [1, 2, 0, 3, 4, 1, 2, 0, 3, 4, 1]
    row = _test(before, after)
    diff = np.array(after, dtype=float) - np.array(before, dtype=float)
    expected = stats.wilcoxon(diff, method="asymptotic")
    assert row["p_value"] == pytest.approx(expected.pvalue)
    assert row["p_text"] == f"{expected.pvalue:.3f}"
    estimate, low, high = safety.hodges_lehmann(diff)
    assert (row["hl_median_change"], row["hl_ci_low"], row["hl_ci_high"]) == (estimate, low, high)
    assert low <= estimate <= high < 0  # fewer episodes after
    assert row["rank_biserial_r"] == pytest.approx(safety.rank_biserial(diff))
    assert row["rank_biserial_r"] < 0
    assert "Hodges-Lehmann interval approximate" in row["note"]  # ties and zeros


def test_wilcoxon_p_below_0_001_reads_as_such() -> None:
    before = list(range(31, 61))
    after = [0.0] * 30
    row = _test(before, after)
    assert row["p_value"] < 0.001 and row["p_text"] == "<0.001"
    assert row["rank_biserial_r"] == -1.0
    assert "approximate" not in row["note"]  # distinct differences: exact interval


def test_too_few_pairs_leave_the_effect_sizes_empty() -> None:
    row = _test([3, 2, 4], [1, 2, 0])
    assert "too few pairs" in row["note"] and row["p_text"] == ""
    assert all(pd.isna(row[c]) for c in NEW_COLUMNS if c != "p_text")
