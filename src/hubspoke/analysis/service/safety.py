"""Safety outcomes of one-to-one support: risk, missing episodes and outcome scales.

Risk at referral against latest risk (cross-tabulated, and summarised as reduced /
same / increased), missing episodes before and after support (paired, with a
Wilcoxon signed-rank test when there are enough pairs) and the change on each 1-5
outcome scale (with a 95% t interval of the mean change).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats

from hubspoke import load
from hubspoke.analysis.service.common import (
    NOT_RECORDED,
    _crosstab,
    _mean_ci,
    _one_way,
    _rows,
    _with_totals,
)
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
    change = _risk_change(cases)
    label = pd.Series(
        np.select(
            [change.lt(0).fillna(False), change.eq(0).fillna(False), change.gt(0).fillna(False)],
            RISK_SUMMARY_LEVELS,
            default=NOT_RECORDED,
        ),
        dtype=object,
    )
    out = _one_way(label, RISK_SUMMARY_LEVELS, name="Risk change")
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
    * ``"test"`` - one row: "n_pairs", "test", "statistic", "p_value", "note". The
      Wilcoxon signed-rank test (scipy, two-sided) runs when there are at least
      :data:`MIN_PAIRS_WILCOXON` pairs; otherwise "test" is empty and the note says
      "too few pairs to test".
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
    """Wilcoxon signed-rank test of paired counts, or a note saying why not."""
    n = len(before)
    row = {"n_pairs": n, "test": "", "statistic": np.nan, "p_value": np.nan, "note": ""}
    if n < MIN_PAIRS_WILCOXON:
        row["note"] = f"too few pairs to test (fewer than {MIN_PAIRS_WILCOXON})"
    elif (after - before).eq(0).all():
        row["note"] = "no pair changed: nothing to test"
    else:
        diff = (after - before).to_numpy()
        exact = n <= 50 and not (diff == 0).any() and len(np.unique(np.abs(diff))) == n
        method = "exact" if exact else "asymptotic"
        result = stats.wilcoxon(diff, method=method)
        row |= {
            "test": "Wilcoxon signed-rank",
            "statistic": float(result.statistic),
            "p_value": float(result.pvalue),
            "note": f"two-sided, {method} p-value"
            + ("" if exact else "; zero differences dropped, ties corrected"),
        }
    return pd.DataFrame([row]).astype(
        {
            "n_pairs": "Int64",
            "test": "string",
            "statistic": "Float64",
            "p_value": "Float64",
            "note": "string",
        }
    )


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
