"""Rating each outcome from its indicators, and the rating and evidence tables for reports.

An outcome's rating follows the framework's rule: enough indicators with enough
data, then the share of them meeting their threshold picks the level; the reason
is given in words. :func:`evidence_table` and :func:`ratings_table` shape the
indicator and rating tables for display.
"""

from __future__ import annotations

import pandas as pd

from hubspoke.analysis.outcomes.framework import Framework, Rule, load_framework


def _shortfall(row: pd.Series, min_completeness: float) -> str:
    """Why one indicator lacks enough data, in words."""
    if row["n_units"] < max(row["min_n"], 1):
        return f"only {row['n_units']} {row['n_label']} for {row['indicator'].lower()} ({max(row['min_n'], 1)} needed)"
    pct = row["completeness"]
    pct_text = "unknown" if pd.isna(pct) else f"{pct:.0%}"
    return f"{row['indicator'].lower()} recorded for {pct_text} of eligible rows ({min_completeness:.0%} needed)"


def _rate_one(group: pd.DataFrame, rule: Rule) -> pd.Series:
    """Rating and reason of one outcome in one group, from its indicator rows."""
    n_ind = len(group)
    assessed = group[group["enough_data"]]
    n_met = int(assessed["meets_threshold"].fillna(False).sum())
    need = min(rule.min_indicators, n_ind)
    if len(assessed) < need:
        short = "; ".join(
            _shortfall(r, rule.min_completeness) for _, r in group[~group["enough_data"]].iterrows()
        )
        reason = (
            f"only {len(assessed)} of {n_ind} indicators had enough data ({need} needed): {short}"
        )
        label = rule.not_enough_label
    else:
        share = n_met / len(assessed)
        label = next(lv.label for lv in rule.levels if share >= lv.min_share_met)
        reason = f"{n_met} of {len(assessed)} indicators met their threshold"
        missing = n_ind - len(assessed)
        if missing:
            reason += f" ({missing} without enough data)"
    return pd.Series({"rating": label, "n_indicators": n_ind, "n_assessed": len(assessed), "n_met": n_met,
                      "reason": reason})  # fmt: skip


def ratings(indicator_table: pd.DataFrame, *, framework: Framework | None = None) -> pd.DataFrame:
    """One row per service_id, year and outcome: rating (ordered category), counts and the reason in words."""
    fw = framework or load_framework()
    keys = ["service_id", "year", "impact_area_id", "impact_area", "outcome_id", "outcome"]
    rated = (
        indicator_table.groupby(keys, observed=True, dropna=False, sort=False)[
            list(indicator_table.columns)
        ]
        .apply(lambda g: _rate_one(g, fw.rule))
        .reset_index()
    )
    return rated.astype(
        {"rating": pd.CategoricalDtype(fw.rule.labels, ordered=True), "n_indicators": "Int64",
         "n_assessed": "Int64", "n_met": "Int64", "reason": "string"}
    )  # fmt: skip


#: Indicator kinds whose numerator is a count (of people, cases, sessions or items).
COUNT_NUMERATOR_KINDS: tuple[str, ...] = ("count", "sum", "proportion")


def evidence_table(indicator_table: pd.DataFrame) -> pd.DataFrame:
    """The indicators behind the outcome ratings, ready to show (one row per indicator).

    Counts are the indicator's numerator and denominator (young people, cases,
    professionals or items); the value is derived from them, so it is hidden with
    them. Funder reports show it as a Table whose cells name the same quantities
    as the other tables (:func:`hubspoke.analysis.service.service_tables`).
    """
    out = (
        indicator_table.sort_values(["outcome_id", "indicator_id"])
        .assign(
            completeness=lambda d: (d["completeness"].astype("Float64") * 100).round(0),
            value=lambda d: d["value"].astype("Float64").round(2),
            meets=lambda d: (
                d["meets_threshold"].map({True: "yes", False: "no"}).fillna("not enough data")
            ),
            # Only counts, sums and proportions have a numerator that counts people or
            # items; a mean's or median's numerator is a sum of values, not a count.
            numerator=lambda d: d["numerator"].where(d["kind"].isin(COUNT_NUMERATOR_KINDS)),
        )
        .set_index("indicator")
        .loc[:, ["outcome", "numerator", "denominator", "value", "unit", "completeness", "meets"]]
        .rename(
            columns={
                "outcome": "Outcome",
                "numerator": "Numerator",
                "denominator": "Denominator",
                "value": "Value",
                "unit": "Unit",
                "completeness": "% with data",
                "meets": "Meets target",
            }
        )
    )
    out.index.name = "Indicator"
    return out


def ratings_table(rating_table: pd.DataFrame) -> pd.DataFrame:
    """Each outcome's rating, ready to show to any audience (words only: the reasons,
    which quote counts, stay with the evaluation team)."""
    out = (
        rating_table.sort_values("outcome_id")
        .assign(rating=lambda d: d["rating"].astype(str))
        .set_index("outcome")
        .loc[:, ["impact_area", "rating"]]
        .rename(columns={"impact_area": "Impact area", "rating": "Rating"})
    )
    out.index.name = "Core outcome"
    return out
