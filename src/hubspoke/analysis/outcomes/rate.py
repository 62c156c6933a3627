"""Rating each outcome from its indicators, and the rating and evidence tables for reports.

Each outcome gets two judgements from ALL of its indicators, by the framework's rule:
progress (the headline ``rating``: change from a baseline) and level (targets met in
the period). An indicator without enough data counts as not met, so a gap can only
lower a rating; too many gaps give "Not enough data"; a required (veto) indicator not
met holds the outcome at the lowest level; confidence falls with data gaps. Each
judgement states "k of m indicators met; j without enough data".
:func:`evidence_table` and :func:`ratings_table` shape the indicator and rating
tables for display (full precision: the report's table rounds).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from hubspoke.analysis.outcomes.compute import NO_BASELINE
from hubspoke.analysis.outcomes.framework import Framework, Level, Rule, load_framework
from hubspoke.errors import ParameterError

#: Tolerance of share comparisons (1 of 3 missing is exactly 1/3, not above it).
_EPS = 1e-9
#: Columns :func:`ratings` needs in the indicator table.
_NEEDED = (
    "service_id", "year", "impact_area_id", "impact_area", "outcome_id", "outcome", "indicator",
    "enough_data", "meets_threshold", "n_units", "min_n", "n_label", "completeness",
    "progress", "progress_status", "veto", "veto_met",
)  # fmt: skip
#: Columns of :func:`ratings`, after the outcome keys.
RATING_COLUMNS: tuple[str, ...] = (
    "rating", "level_rating", "confidence", "level_confidence", "basis", "level_basis",
    "n_indicators", "n_met", "n_missing", "n_no_baseline", "n_level_met", "n_level_missing",
    "n_assessed", "vetoed", "reason",
)  # fmt: skip


@dataclass(frozen=True)
class Judgement:
    """One judgement of one outcome: its label, the counts behind it and its confidence."""

    label: str
    n_indicators: int
    n_met: int
    n_missing: int
    n_no_baseline: int
    confidence: str
    vetoed: bool

    def basis(self, vetoes: list[str]) -> str:
        """``k of m indicators met; j without enough data`` (and any baseline or veto note)."""
        text = (
            f"{self.n_met} of {self.n_indicators} indicators met; "
            f"{self.n_missing} without enough data"
        )
        if self.n_no_baseline:
            text += f"; {self.n_no_baseline} with no baseline yet (first year)"
        if self.vetoed:
            text += f"; held at the lowest level: {', '.join(vetoes).lower()} not met"
        return text


def _flags(values: pd.Series | np.ndarray) -> np.ndarray:
    """True/False per element; a missing value is False."""
    if isinstance(values, np.ndarray) and values.dtype == bool:
        return values
    return np.asarray(pd.array(values, dtype="boolean").fillna(False), dtype=bool)


def judge(
    met: pd.Series | np.ndarray,
    missing: pd.Series | np.ndarray,
    patchy: pd.Series | np.ndarray,
    rule: Rule,
    *,
    levels: tuple[Level, ...],
    no_baseline: pd.Series | np.ndarray | None = None,
    veto_failed: bool = False,
) -> Judgement:
    """Judge one outcome from its indicators' statuses (one element per indicator).

    ``met``: the indicator is met (progress shown, or target met); ``missing``: it lacks
    enough data; ``no_baseline``: it has no baseline (first year, or pooled services);
    ``patchy``: it has enough data but is recorded for less than ``rule.patchy_below``.
    The share met is over ALL ``m`` indicators, so a gap never raises the rating.
    """
    m = len(met)
    base = np.zeros(m, dtype=bool) if no_baseline is None else _flags(no_baseline)
    gone = _flags(missing) & ~base
    k = int((_flags(met) & ~gone & ~base).sum())
    j, b = int(gone.sum()), int(base.sum())
    judged = m - b
    vetoed = False
    if m == 0:
        label = rule.not_enough_label
    elif b == m:
        label = rule.no_baseline_label
    elif j / m > rule.max_missing_share + _EPS:
        label = rule.not_enough_label
    elif (j + b) / m > rule.max_missing_share + _EPS:
        label = rule.no_baseline_label
    elif judged - j < min(rule.min_indicators, m):
        label = rule.not_enough_label
    else:
        share = k / m
        label = next(lv.label for lv in levels if share >= lv.min_share_met - _EPS)
        if veto_failed and label != levels[-1].label:
            label, vetoed = levels[-1].label, True
    if label == rule.no_baseline_label:
        confidence = rule.not_applicable_label
    else:
        gaps = j + int((_flags(patchy) & ~gone & ~base).sum())
        share_gaps = gaps / judged if judged else 1.0
        confidence = next(c.label for c in rule.confidence if share_gaps <= c.max_gap_share + _EPS)
    return Judgement(label, m, k, j, b, confidence, vetoed)


def _shortfall(row: Mapping[str, Any], min_completeness: float) -> str:
    """Why one indicator lacks enough data, in words."""
    if row["n_units"] < max(row["min_n"], 1):
        return f"only {row['n_units']} {row['n_label']} for {row['indicator'].lower()} ({max(row['min_n'], 1)} needed)"
    if "target" in row and pd.isna(row["target"]):
        return f"no {row.get('target_per', 'size')} figure to scale the target of {row['indicator'].lower()}"
    pct = row["completeness"]
    pct_text = "unknown" if pd.isna(pct) else f"{pct:.0%}"
    return f"{row['indicator'].lower()} recorded for {pct_text} of eligible rows ({min_completeness:.0%} needed)"


@dataclass(frozen=True)
class _Statuses:
    """Per indicator row of an indicator table, what rating it needs, as arrays (computed once).

    Rating an outcome then slices these arrays, which is much faster than slicing the
    frame once per outcome and group.
    """

    enough: np.ndarray
    patchy: np.ndarray
    veto_failed: np.ndarray
    met: np.ndarray
    progress: np.ndarray
    no_data: np.ndarray
    no_baseline: np.ndarray
    indicator: np.ndarray
    records: list[dict[str, object]]

    @classmethod
    def of(cls, table: pd.DataFrame, rule: Rule) -> _Statuses:
        enough = table["enough_data"].astype(bool).to_numpy()
        completeness = table["completeness"].astype(float)
        status = table["progress_status"].astype(str)
        veto = table["veto"].astype(bool).to_numpy()
        veto_met = table["veto_met"].astype("boolean").fillna(False).astype(bool).to_numpy()
        return cls(
            enough=enough,
            patchy=enough & completeness.lt(rule.patchy_below).fillna(False).to_numpy(dtype=bool),
            veto_failed=veto & ~veto_met,
            met=_flags(table["meets_threshold"]),
            progress=_flags(table["progress"]),
            no_data=status.eq("not enough data").to_numpy(dtype=bool),
            no_baseline=status.isin(NO_BASELINE).to_numpy(dtype=bool),
            indicator=table["indicator"].to_numpy(dtype=object),
            records=table.to_dict("records"),
        )


def _rate_one(rows: np.ndarray, s: _Statuses, rule: Rule) -> dict[str, object]:
    """Both judgements of one outcome in one group, from its indicator rows (positions)."""
    enough = s.enough[rows]
    patchy = s.patchy[rows]
    veto_names = [str(v) for v in s.indicator[rows][s.veto_failed[rows]]]
    level = judge(
        s.met[rows], ~enough, patchy, rule,
        levels=rule.target_levels, veto_failed=bool(veto_names),
    )  # fmt: skip
    progress = judge(
        s.progress[rows], s.no_data[rows], patchy, rule,
        levels=rule.levels, no_baseline=s.no_baseline[rows], veto_failed=bool(veto_names),
    )  # fmt: skip
    basis, level_basis = progress.basis(veto_names), level.basis(veto_names)
    reason = f"Progress: {basis}. Level: {level_basis}."
    short = [_shortfall(s.records[r], rule.min_completeness) for r in rows[~enough]]
    if short:
        reason += " Without enough data: " + "; ".join(short) + "."
    waiting = s.indicator[rows][s.no_baseline[rows]]
    if len(waiting):
        reason += f" No baseline yet: {', '.join(map(str, waiting)).lower()}."
    return {
        "rating": progress.label, "level_rating": level.label,
        "confidence": progress.confidence, "level_confidence": level.confidence,
        "basis": basis, "level_basis": level_basis,
        "n_indicators": progress.n_indicators, "n_met": progress.n_met,
        "n_missing": progress.n_missing, "n_no_baseline": progress.n_no_baseline,
        "n_level_met": level.n_met, "n_level_missing": level.n_missing,
        "n_assessed": int(enough.sum()), "vetoed": progress.vetoed or level.vetoed,
        "reason": reason,
    }  # fmt: skip


def ratings(indicator_table: pd.DataFrame, *, framework: Framework | None = None) -> pd.DataFrame:
    """One row per service_id, year and outcome: both judgements, their counts and words.

    Columns: the outcome keys, then :data:`RATING_COLUMNS`: ``rating`` (progress, the
    headline; ordered category, "no judgement yet" first), ``level_rating`` (targets met),
    ``confidence`` / ``level_confidence``, ``basis`` / ``level_basis`` ("k of m
    indicators met; j without enough data"), their counts, ``vetoed`` and ``reason`` (the
    shortfalls in words, with counts of people: for the evaluation team).
    """
    fw = framework or load_framework()
    absent = [c for c in _NEEDED if c not in indicator_table.columns]
    if absent:
        raise ParameterError(
            "the indicator table lacks columns ratings need (build it with outcomes.indicators)",
            column=absent[0],
            allowed=list(_NEEDED),
            found=absent,
        )
    keys = ["service_id", "year", "impact_area_id", "impact_area", "outcome_id", "outcome"]
    rule = fw.rule
    table = indicator_table.reset_index(drop=True)
    grouped = table.groupby(keys, observed=True, dropna=False, sort=False)
    codes = grouped.ngroup().to_numpy()
    order = np.argsort(codes, kind="stable")  # each group's rows, in table order
    bounds = np.flatnonzero(np.diff(codes[order])) + 1
    statuses = _Statuses.of(table, rule)
    pieces = np.split(order, bounds) if len(order) else []
    rated = pd.DataFrame(
        [_rate_one(rows, statuses, rule) for rows in pieces],
        index=grouped.size().index,
        columns=list(RATING_COLUMNS),
    ).reset_index()
    return rated.astype(
        {
            "rating": pd.CategoricalDtype(rule.labels, ordered=True),
            "level_rating": pd.CategoricalDtype(rule.level_labels, ordered=True),
            "confidence": pd.CategoricalDtype(rule.confidence_labels, ordered=True),
            "level_confidence": pd.CategoricalDtype(rule.confidence_labels, ordered=True),
            "basis": "string", "level_basis": "string", "n_indicators": "Int64", "n_met": "Int64",
            "n_missing": "Int64", "n_no_baseline": "Int64", "n_level_met": "Int64",
            "n_level_missing": "Int64", "n_assessed": "Int64", "vetoed": "bool", "reason": "string",
        }
    )  # fmt: skip


def ratings_by_service_year(
    indicator_table: pd.DataFrame, *, framework: Framework | None = None
) -> dict[tuple[str, int], pd.DataFrame]:
    """:func:`ratings` of each service-year's rows of ``indicator_table``, rated at once
    (each outcome's rating rests on its own indicator rows only; rows without a service
    or year belong to none)."""
    return _by_service_year(ratings(indicator_table, framework=framework), reset=True)


#: Indicator kinds whose numerator is a count (of people, cases, sessions or items).
COUNT_NUMERATOR_KINDS: tuple[str, ...] = ("count", "sum", "proportion")
#: How ``progress_status`` reads in the evidence table.
_PROGRESS_WORDS = {
    "met": "yes",
    "sustained": "yes (target sustained)",
    "not met": "no",
    "not enough data": "not enough data",
    NO_BASELINE[0]: "no baseline yet (first year)",
    NO_BASELINE[1]: "no baseline (services pooled)",
}


def _number(x: float) -> str:
    """A target in words: whole numbers plain, others to 2 places without trailing zeros."""
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.2f}".rstrip("0").rstrip(".")


def _target_text(row: pd.Series) -> str:
    """E.g. ``at least 40%``, ``at most 10 days``, ``at least 30 (10 per Spoke worker)``."""
    word = "at least" if row["direction"] == "higher" else "at most"
    if pd.isna(row["target"]):
        return f"{word} {_number(row['target_per_unit'])} per {row['target_per']} (size not known)"
    if row["unit"] == "proportion":
        return f"{word} {_number(100 * row['target'])}%"
    per = row.get("target_per", "none")
    if per not in ("none", "service-year") and not pd.isna(per):
        return f"{word} {_number(row['target'])} ({_number(row['target_per_unit'])} per {per})"
    return f"{word} {_number(row['target'])} {row['unit']}"


def _compared_with(row: pd.Series) -> str:
    """What progress is judged against: the start of support, or the baseline year."""
    if row["basis"] == "change":
        return "start of support"
    if pd.isna(row["baseline_year"]):
        return "no baseline"
    return str(int(row["baseline_year"]))


def evidence_table(indicator_table: pd.DataFrame) -> pd.DataFrame:
    """The indicators behind the outcome ratings, ready to show (one row per indicator).

    Counts are the indicator's numerator and denominator (young people, cases,
    professionals or items); the value and its 95% interval are derived from them, so
    they are hidden with them. Proportions are shown as percentages (unit ``%``).
    Values keep full precision: the report's table rounds them once (0 places for
    percentages and counts, 2 otherwise). Funder reports show it as a Table whose
    cells name the same quantities as the other tables
    (:func:`hubspoke.analysis.service.service_tables`).
    """
    return _evidence_rows(indicator_table.sort_values(["outcome_id", "indicator_id"]))


def evidence_tables_by_service_year(
    indicator_table: pd.DataFrame,
) -> dict[tuple[str, int], pd.DataFrame]:
    """:func:`evidence_table` of each service-year's rows of ``indicator_table``, made at
    once (each service-year's rows keep the order they have alone: pandas sorts on two
    columns stably; rows without a service or year belong to none)."""
    d = indicator_table.sort_values(["outcome_id", "indicator_id"])
    return _by_service_year(_evidence_rows(d), reset=False, keys=d)


def _by_service_year(
    frame: pd.DataFrame, *, reset: bool, keys: pd.DataFrame | None = None
) -> dict[tuple[str, int], pd.DataFrame]:
    """The rows of ``frame`` of each (service, year) of ``keys`` (its own columns when
    None, row for row), in their order; ``reset``: renumbered from 0."""
    where = frame if keys is None else keys
    groups = pd.DataFrame(
        {
            "s": where["service_id"].astype("string").to_numpy(),
            "y": where["year"].astype("Int64").to_numpy(),
        }
    ).groupby(["s", "y"], sort=False)
    return {
        (str(s), int(y)): frame.iloc[at].reset_index(drop=True) if reset else frame.iloc[at]
        for (s, y), at in groups.indices.items()
    }


def _evidence_rows(d: pd.DataFrame) -> pd.DataFrame:
    """:func:`evidence_table` of indicator rows already in their order."""
    percent = d["unit"].eq("proportion")
    scale = np.where(percent, 100.0, 1.0)
    rows = pd.DataFrame(
        {
            "Outcome": d["outcome"].astype(str).to_numpy(),
            # Only counts, sums and proportions have a numerator that counts people or
            # items; a mean's or median's numerator is a sum of values, not a count.
            "Numerator": d["numerator"]
            .where(d["kind"].isin(COUNT_NUMERATOR_KINDS))
            .astype("Float64")
            .to_numpy(),
            "Denominator": d["denominator"].astype("Float64").to_numpy(),
            "Value": (d["value"].astype(float) * scale).to_numpy(),
            "CI low": (d["ci_low"].astype(float) * scale).to_numpy(),
            "CI high": (d["ci_high"].astype(float) * scale).to_numpy(),
            "Unit": np.where(percent, "%", d["unit"].astype(str)),
            "Target": [_target_text(r) for _, r in d.iterrows()],
            "% with data": (d["completeness"].astype(float) * 100).to_numpy(),
            "Meets target": d["meets_threshold"]
            .map({True: "yes", False: "no"})
            .fillna("not enough data")
            .to_numpy(),
            "Compared with": [_compared_with(r) for _, r in d.iterrows()],
            "Progress": d["progress_status"].astype(str).map(_PROGRESS_WORDS).to_numpy(),
        },
        index=pd.Index(d["indicator"].astype(str).to_numpy(), name="Indicator"),
    )
    return rows


def ratings_table(rating_table: pd.DataFrame) -> pd.DataFrame:
    """Each outcome's progress rating, level and confidence, ready to show to any audience.

    Words only: the ratings and "k of m indicators met; j without enough data" (counts
    of indicators, not of people). The reasons, which quote counts of people, stay with
    the evaluation team.
    """
    out = (
        rating_table.sort_values("outcome_id")
        .assign(
            rating=lambda d: d["rating"].astype(str),
            level_rating=lambda d: d["level_rating"].astype(str),
            confidence=lambda d: d["confidence"].astype(str),
        )
        .set_index("outcome")
        .loc[:, ["impact_area", "rating", "basis", "level_rating", "level_basis", "confidence"]]
        .rename(
            columns={
                "impact_area": "Impact area",
                "rating": "Rating",
                "basis": "Progress indicators",
                "level_rating": "Level",
                "level_basis": "Level indicators",
                "confidence": "Confidence",
            }
        )
    )
    out.index.name = "Core outcome"
    return out
