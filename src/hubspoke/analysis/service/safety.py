"""Safety outcomes of one-to-one support: risk, missing episodes and outcome scales.

Risk at referral against latest risk (cross-tabulated, and summarised as reduced /
same / increased), missing episodes before and after support (paired, with a
Wilcoxon signed-rank test when there are enough pairs) and the change on each 1-5
outcome scale (with a 95% t interval of the mean change).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from hubspoke import load
from hubspoke.analysis.common import format_p
from hubspoke.analysis.service.common import (
    NOT_RECORDED,
    _crosstab,
    _mean_ci,
    _one_way,
    _one_way_by_service_year,
    _rows,
    _with_totals,
)
from hubspoke.errors import ParameterError
from hubspoke.spec import vocab

#: Fewest pairs for a Wilcoxon signed-rank test of missing episodes.
MIN_PAIRS_WILCOXON = 10
OUTCOME_LABELS: Mapping[str, str] = {
    s: s.replace("_", " ").capitalize() for s in vocab.OUTCOME_SCALES
}


# --------------------------------------------------------------------------- risk
RISK_SUMMARY_LEVELS: tuple[str, ...] = ("Reduced", "Same", "Increased")


def risk_transitions(
    tables: Mapping[str, pd.DataFrame], *, service_id: str, year: int
) -> dict[str, pd.DataFrame]:
    """Risk at referral against latest risk, on the harmonised ordered scale.

    * ``"crosstab"`` - episodes: rows risk at referral, columns latest risk, each on
      :data:`~hubspoke.spec.raw.RISK_SCALE` (every level, zeros kept), then "Not
      recorded", then "Total".
    * ``"summary"`` - rows "Reduced", "Same", "Increased", "Not recorded" (either
      assessment missing), "Total"; columns "n" (episodes) and "%" (of all episodes)
      and "% of assessed" (of episodes with both assessments; empty for the last two
      rows).
    """
    service_id, year = load.check_service_year(service_id, year, tables=tables)
    cases = _rows(tables, "cases", service_id, year)
    table = _crosstab(
        cases["risk_at_referral"],
        cases["risk_latest"],
        row_levels=vocab.RISK_SCALE,
        column_levels=vocab.RISK_SCALE,
    )
    crosstab = _with_totals(table)
    crosstab.index.name, crosstab.columns.name = "Risk at referral", "Latest risk"
    return {"crosstab": crosstab, "summary": _risk_summary(cases)}


def _risk_change(cases: pd.DataFrame) -> pd.Series:
    """Latest minus referral level on the ordered scale (NaN when either is missing)."""
    code = {level: i for i, level in enumerate(vocab.RISK_SCALE)}
    before = cases["risk_at_referral"].astype(object).map(code).astype("Float64")
    after = cases["risk_latest"].astype(object).map(code).astype("Float64")
    return after - before


def _risk_summary(cases: pd.DataFrame) -> pd.DataFrame:
    return _with_share_of_assessed(
        _one_way(_risk_labels(cases), RISK_SUMMARY_LEVELS, name="Risk change")
    )


def risk_summary_by_service_year(
    tables: Mapping[str, pd.DataFrame],
) -> dict[tuple[str, int], pd.DataFrame]:
    """The ``"summary"`` of :func:`risk_transitions` of every service-year with cases,
    counted at once."""
    cases = load.table(tables, "cases")
    counted = _one_way_by_service_year(
        cases, _risk_labels(cases), RISK_SUMMARY_LEVELS, name="Risk change"
    )
    return {key: _with_share_of_assessed(frame) for key, frame in counted.items()}


def _risk_labels(cases: pd.DataFrame) -> pd.Series:
    """Each episode's change in risk: a level of :data:`RISK_SUMMARY_LEVELS` or Not recorded."""
    change = _risk_change(cases)
    return pd.Series(
        np.select(
            [change.lt(0).fillna(False), change.eq(0).fillna(False), change.gt(0).fillna(False)],
            RISK_SUMMARY_LEVELS,
            default=NOT_RECORDED,
        ),
        dtype=object,
    )


def _with_share_of_assessed(out: pd.DataFrame) -> pd.DataFrame:
    """A risk summary's counts with "% of assessed" (of Reduced + Same + Increased)."""
    assessed = out.loc[list(RISK_SUMMARY_LEVELS), "n"].sum()
    pct = out["n"].astype("Float64") * 100 / assessed if assessed else pd.NA
    pct = pd.Series(pct, index=out.index, dtype="Float64")
    return out.assign(**{"% of assessed": pct.where(out.index.isin(RISK_SUMMARY_LEVELS))})


# --------------------------------------------------------------------------- missing episodes
def missing_episodes(
    tables: Mapping[str, pd.DataFrame], *, service_id: str, year: int
) -> dict[str, pd.DataFrame]:
    """Missing episodes in the 3 months before support and the latest 3 months, paired.

    Only episodes with both counts recorded are used.

    * ``"summary"`` - rows "Before", "After", "Change (after - before)"; columns "n"
      (pairs: young people), "mean", "median".
    * ``"direction"`` - rows "Fewer after", "Same", "More after", "Total"; columns "n"
      (young people) and "%".
    * ``"test"`` - one row: "n_pairs", "test", "statistic", "p_value", "note", then the
      effect sizes "hl_median_change", "hl_ci_low", "hl_ci_high" (Hodges-Lehmann
      estimate of the median change, after - before, with its 95% distribution-free
      interval: :func:`hodges_lehmann`), "rank_biserial_r" (matched-pairs rank-biserial
      correlation, -1 to 1, negative when episodes fell: :func:`rank_biserial`) and
      "p_text" (the p-value in words: "0.089" or "<0.001"). The Wilcoxon signed-rank
      test (scipy, two-sided) runs when there are at least :data:`MIN_PAIRS_WILCOXON`
      pairs; otherwise "test" is empty, the numbers are missing and the note says "too
      few pairs to test".
    """
    service_id, year = load.check_service_year(service_id, year, tables=tables)
    cases = _rows(tables, "cases", service_id, year)
    pairs = cases[["missing_before", "missing_after"]].dropna().astype(float)
    before, after = pairs["missing_before"], pairs["missing_after"]
    change = after - before
    summary = pd.DataFrame(
        {
            "n": pd.array([len(pairs)] * 3, dtype="Int64"),
            "mean": pd.array(
                [s.mean() if len(s) else np.nan for s in (before, after, change)], dtype="Float64"
            ),
            "median": pd.array(
                [s.median() if len(s) else np.nan for s in (before, after, change)], dtype="Float64"
            ),
        },
        index=pd.Index(["Before", "After", "Change (after - before)"], name="Missing episodes"),
    )
    direction_label = pd.Series(
        np.select([change.lt(0), change.eq(0)], ["Fewer after", "Same"], default="More after"),
        dtype=object,
    )
    counts = (
        pd.Series(pd.Categorical(direction_label, categories=["Fewer after", "Same", "More after"]))
        .value_counts(sort=False)
        .rename("n")
        .to_frame()
    )
    direction = _with_totals(counts, column=False)
    direction.index.name = "Missing episodes after support"
    total = len(pairs)
    direction["%"] = (direction["n"].astype("Float64") * 100 / total) if total else pd.NA
    direction["%"] = direction["%"].astype("Float64")
    return {"summary": summary, "direction": direction, "test": _wilcoxon(before, after)}


def _wilcoxon(before: pd.Series, after: pd.Series) -> pd.DataFrame:
    """Wilcoxon signed-rank test of paired counts with its effect sizes, or a note saying why not."""
    from scipy import stats

    n = len(before)
    row: dict[str, object] = {
        "n_pairs": n, "test": "", "statistic": np.nan, "p_value": np.nan, "note": "",
        "hl_median_change": np.nan, "hl_ci_low": np.nan, "hl_ci_high": np.nan,
        "rank_biserial_r": np.nan, "p_text": "",
    }  # fmt: skip
    if n < MIN_PAIRS_WILCOXON:
        row["note"] = f"too few pairs to test (fewer than {MIN_PAIRS_WILCOXON})"
    elif (after - before).eq(0).all():
        row["note"] = "no pair changed: nothing to test"
    else:
        diff = (after - before).to_numpy(float)
        exact = _untied(diff) and n <= 50
        method = "exact" if exact else "asymptotic"
        result = stats.wilcoxon(diff, method=method)
        estimate, low, high = hodges_lehmann(diff)
        row |= {
            "test": "Wilcoxon signed-rank",
            "statistic": float(result.statistic),
            "p_value": float(result.pvalue),
            "note": f"two-sided, {method} p-value"
            + ("" if exact else "; zero differences dropped, ties corrected")
            + ("" if _untied(diff) else "; Hodges-Lehmann interval approximate (ties or zeros)"),
            "hl_median_change": estimate,
            "hl_ci_low": low,
            "hl_ci_high": high,
            "rank_biserial_r": rank_biserial(diff),
            "p_text": format_p(float(result.pvalue)),
        }
    return pd.DataFrame([row]).astype(
        {
            "n_pairs": "Int64",
            "test": "string",
            "statistic": "Float64",
            "p_value": "Float64",
            "note": "string",
            "hl_median_change": "Float64",
            "hl_ci_low": "Float64",
            "hl_ci_high": "Float64",
            "rank_biserial_r": "Float64",
            "p_text": "string",
        }
    )


def _untied(diff: np.ndarray) -> bool:
    """No zero differences and no two equal absolute differences (the exact null applies)."""
    return not (diff == 0).any() and len(np.unique(np.abs(diff))) == len(diff)


def hodges_lehmann(
    differences: np.ndarray | pd.Series, *, level: float = 0.95
) -> tuple[float, float, float]:
    """Hodges-Lehmann estimate of the median of paired differences, with its interval.

    The estimate is the median of the n(n+1)/2 Walsh averages (d_i + d_j) / 2, i <= j, of
    all differences (zeros included). The interval is the distribution-free one from the
    signed-rank distribution (Hollander, Wolfe and Chicken, Nonparametric Statistical
    Methods, 3rd ed., section 3.3): the C-th smallest and C-th largest Walsh averages,
    C the largest whole number with P(T+ <= C - 1) <= (1 - level) / 2, from the exact null
    distribution of T+ when n <= 50 and the differences have no zeros or ties, else from
    its normal approximation (then approximate, as it is for tied counts). Missing bounds
    (NaN) when n is too small for the level.
    """
    if not 0 < level < 1:
        raise ParameterError("level must lie between 0 and 1", column="level", allowed="0 to 1",
                             found=level)  # fmt: skip
    d = np.asarray(differences, dtype=float)
    d = d[~np.isnan(d)]
    n = len(d)
    if n == 0:
        return (math.nan, math.nan, math.nan)
    i, j = np.triu_indices(n)
    walsh = np.sort((d[i] + d[j]) / 2)
    c = _walsh_rank(n, (1 - level) / 2, exact=n <= 50 and _untied(d))
    estimate = float(np.median(walsh))
    if c < 1:
        return (estimate, math.nan, math.nan)
    return (estimate, float(walsh[c - 1]), float(walsh[len(walsh) - c]))


def _walsh_rank(n: int, tail: float, *, exact: bool) -> int:
    """The largest C with P(T+ <= C - 1) <= tail under the signed-rank null (0 if none)."""
    from scipy import stats

    total = n * (n + 1) // 2
    if exact:
        counts = np.zeros(total + 1)
        counts[0] = 1.0
        for rank in range(1, n + 1):  # generating function of T+: product of (1 + x^rank)
            counts[rank:] = counts[rank:] + counts[:-rank].copy()
        cdf = np.cumsum(counts) / 2.0**n
        return int(np.searchsorted(cdf, tail, side="right"))
    sd = math.sqrt(n * (n + 1) * (2 * n + 1) / 24)
    return int(math.floor(total / 2 + 0.5 - stats.norm.ppf(1 - tail) * sd))


def rank_biserial(differences: np.ndarray | pd.Series) -> float:
    """Matched-pairs rank-biserial correlation of paired differences (Kerby 2014).

    (R+ - R-) / (R+ + R-): the sums of the ranks of |d| (average ranks for ties) of the
    positive and of the negative differences, zeros dropped as the Wilcoxon test drops
    them. From -1 (every difference negative) to 1; NaN when every difference is zero.
    """
    from scipy import stats

    d = np.asarray(differences, dtype=float)
    d = d[~np.isnan(d) & (d != 0)]
    if len(d) == 0:
        return math.nan
    ranks = stats.rankdata(np.abs(d))
    positive, negative = ranks[d > 0].sum(), ranks[d < 0].sum()
    return float((positive - negative) / (positive + negative))


# --------------------------------------------------------------------------- outcome scales
def outcome_scale_change(
    tables: Mapping[str, pd.DataFrame], *, service_id: str, year: int
) -> pd.DataFrame:
    """Change on each 1-5 outcome scale, for episodes rated at start and end.

    Rows one per scale (labels of :data:`OUTCOME_LABELS`); columns "n_both" (episodes
    with both ratings: young people), "% complete" (of the year's episodes), "mean_start",
    "mean_end", "mean_change" and "ci_low", "ci_high" (95% t interval of the mean change,
    empty when fewer than :data:`MIN_N_CI` pairs).
    """
    service_id, year = load.check_service_year(service_id, year, tables=tables)
    cases = _rows(tables, "cases", service_id, year)
    rows = [_scale_row(cases, scale) for scale in vocab.OUTCOME_SCALES]
    out = pd.DataFrame(
        rows,
        index=pd.Index([OUTCOME_LABELS[s] for s in vocab.OUTCOME_SCALES], name="Outcome scale"),
    )
    return out.astype({"n_both": "Int64"} | {c: "Float64" for c in out.columns if c != "n_both"})


def _scale_row(cases: pd.DataFrame, scale: str) -> dict[str, float | int]:
    pairs = cases[[f"outcome_{scale}_start", f"outcome_{scale}_end"]].dropna().astype(float)
    start, end = pairs.iloc[:, 0], pairs.iloc[:, 1]
    low, high = _mean_ci(end - start)
    n = len(pairs)
    return {
        "n_both": n,
        "% complete": n * 100 / len(cases) if len(cases) else np.nan,
        "mean_start": start.mean() if n else np.nan,
        "mean_end": end.mean() if n else np.nan,
        "mean_change": (end - start).mean() if n else np.nan,
        "ci_low": low,
        "ci_high": high,
    }
