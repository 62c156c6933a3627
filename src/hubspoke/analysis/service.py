"""Per-service analysis: one service, one evaluation year.

Every function takes the processed tables (``load.load_tables``) and keyword-only
``service_id`` and ``year``, checks them (:class:`~hubspoke.errors.ParameterError`
naming what is allowed), and returns tidy frames of FULL numbers. Disclosure
control happens later, in :func:`hubspoke.present.display.table`; the frames are shaped
for :func:`hubspoke.privacy.disclosure.suppress`: counts are integer (``Int64``) columns,
a ``"Total"`` row or column where a total makes sense, and percentages, means and
other derived values in separate columns that the notebook names in ``derived=``.

Each docstring ends with **Display:** the ``count_columns`` / ``derived`` / total
arguments a notebook passes to ``display.table``. Counts of young people are
episodes of one-to-one support (rows of ``cases``) unless a docstring says
*distinct young people*. Activity counts (sessions, participants) and policy
scores are not counts of people that disclosure control protects.

Units and definitions:

* *young people supported* - distinct ``young_person_id`` with an episode referred in the year;
* *re-referred* - a young person seen in an earlier year of the same service;
* *open at year end* - no closure date, or closed after 31 December of the year;
* *risk reduced* - latest risk lower than risk at referral on the harmonised scale;
* *planned ending* - closure reason in :data:`hubspoke.spec.raw.PLANNED_ENDINGS`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from hubspoke import load
from hubspoke.analysis.common import percent
from hubspoke.errors import ParameterError
from hubspoke.spec import raw as rs
from hubspoke.spec.processed import AGE_BANDS, SYSTEM_ACCESS_SCALE

TOTAL = "Total"
NOT_RECORDED = "Not recorded"
#: Fewest pairs for a Wilcoxon signed-rank test of missing episodes.
MIN_PAIRS_WILCOXON = 10
#: Fewest pairs for a t confidence interval of a mean change.
MIN_N_CI = 5
#: Tables that hold a service-year submission (a service-year "has data" if any holds a row).
#: Activity types whose participants are professionals reached by training or awareness-raising.
PROFESSIONAL_REACH_TYPES: tuple[str, ...] = ("Training", "Awareness - professionals")
YOUNG_PEOPLE_REACH_TYPES: tuple[str, ...] = ("Awareness - young people",)
OUTCOME_LABELS: Mapping[str, str] = {s: s.replace("_", " ").capitalize() for s in rs.OUTCOME_SCALES}


_OUTCOME_DERIVED = ("% complete", "mean_start", "mean_end", "mean_change", "ci_low", "ci_high")
_NO_PEOPLE: dict[str, object] = {"count_columns": [], "total_row": None, "total_column": None}
#: Arguments for ``display.table`` (and ``disclosure.suppress``) per returned frame:
#: ``display.table(frame, caption=..., **DISPLAY["referral_sources"])``. Frames of no counts
#: of people use ``count_columns=[]``.
DISPLAY: Mapping[str, Mapping[str, object]] = {
    "reach.young_people": {"total_row": TOTAL, "total_column": TOTAL},
    "reach.activities": {"count_columns": [], "total_row": TOTAL, "total_column": None},
    "demographics": {
        "count_columns": ["n"],
        "derived": {"%": "n"},
        "total_row": TOTAL,
        "total_column": None,
    },
    "referral_sources": {
        "count_columns": ["n"],
        "derived": {"%": "n"},
        "total_row": TOTAL,
        "total_column": None,
    },
    "risk_transitions.crosstab": {"total_row": TOTAL, "total_column": TOTAL},
    "risk_transitions.summary": {
        "count_columns": ["n"],
        "derived": {"%": "n", "% of assessed": "n"},
        "total_row": TOTAL,
        "total_column": None,
    },
    "missing_episodes.summary": {
        "count_columns": ["n"],
        "derived": {"mean": "n", "median": "n"},
        "total_row": None,
        "total_column": None,
        "implied_totals": False,
    },
    "missing_episodes.direction": {
        "count_columns": ["n"],
        "derived": {"%": "n"},
        "total_row": TOTAL,
        "total_column": None,
    },
    "missing_episodes.test": {
        "count_columns": ["n_pairs"],
        "derived": {"statistic": "n_pairs", "p_value": "n_pairs"},
        "total_row": None,
        "total_column": None,
        "implied_totals": False,
    },
    "outcome_scale_change": {
        "count_columns": ["n_both"],
        "derived": dict.fromkeys(_OUTCOME_DERIVED, "n_both"),
        "total_row": None,
        "total_column": None,
        "implied_totals": False,
    },
    "professional_activity.by_type": {
        "count_columns": [],
        "total_row": TOTAL,
        "total_column": None,
    },
    "professional_activity.confidence": _NO_PEOPLE,
    "policy_progress.status": _NO_PEOPLE,
    "policy_progress.areas": _NO_PEOPLE,
    "spoke_survey_summary.question": {
        "count_columns": ["n"],
        "derived": {"%": "n"},
        "total_row": TOTAL,
        "total_column": None,
    },
    "spoke_survey_summary.summary": {
        "total_row": None,
        "total_column": TOTAL,
        "implied_totals": False,
    },
    "data_completeness": {
        "count_columns": ["complete", "not_recorded", "records"],
        "derived": {"% complete": ("complete", "records")},
        "total_row": None,
        "total_column": "records",
        "implied_totals": False,
    },
    "year_on_year": {
        "count_columns": [
            "young_people",
            "risk_assessed",
            "risk_reduced",
            "episodes_closed",
            "planned_endings",
        ],
        "derived": {
            "% risk reduced": ("risk_reduced", "risk_assessed"),
            "% planned endings": ("planned_endings", "episodes_closed"),
        },
        "total_row": None,
        "total_column": None,
        "implied_totals": False,
    },
    "service_profile": _NO_PEOPLE,
}


def _rows(
    tables: Mapping[str, pd.DataFrame], name: str, service_id: str, year: int | None = None
) -> pd.DataFrame:
    """Rows of one table for the service (and year, if given)."""
    frame = load.table(tables, name)
    keep = frame["service_id"].eq(service_id)
    if year is not None:
        keep &= frame["year"].eq(year)
    return frame.loc[keep.fillna(False).to_numpy(dtype=bool)].reset_index(drop=True)


# --------------------------------------------------------------------------- building blocks
def _labelled(values: pd.Series, levels: Sequence[str]) -> pd.Categorical:
    """Values as a categorical on ``levels`` plus "Not recorded" (missing or unknown values)."""
    text = values.astype(object).where(values.notna(), NOT_RECORDED).map(str)
    text = text.where(text.isin(list(levels)), NOT_RECORDED)
    return pd.Categorical(text, categories=[*levels, NOT_RECORDED])


def _with_totals(table: pd.DataFrame, *, row: bool = True, column: bool = True) -> pd.DataFrame:
    """Add a Total column (row sums) and a Total row (column sums), as Int64."""
    out = table.astype("Int64")
    if column:
        out = out.assign(**{TOTAL: out.sum(axis=1)})
    if row:
        out = pd.concat([out, out.sum(axis=0).to_frame(TOTAL).T]).astype("Int64")
    return out


def _one_way(values: pd.Series, levels: Sequence[str], *, name: str) -> pd.DataFrame:
    """Counts by level (all levels, then Not recorded, then Total) with a % of the total."""
    counts = (
        pd.Series(_labelled(values, levels))
        .value_counts(sort=False)
        .rename_axis(name)
        .rename("n")
        .to_frame()
    )
    out = _with_totals(counts, column=False)
    out.index.name = name
    total = out.loc[TOTAL, "n"]
    pct = (out["n"].astype("Float64") * 100 / total) if total else pd.NA
    return out.assign(**{"%": pd.Series(pct, index=out.index, dtype="Float64")})


def _crosstab(
    rows: pd.Series,
    columns: pd.Series,
    *,
    row_levels: Sequence[str],
    column_levels: Sequence[str],
    labelled: bool = True,
) -> pd.DataFrame:
    """Counts of rows x columns with every level shown (zeros kept), without totals."""
    make = _labelled if labelled else (lambda s, lv: pd.Categorical(s, categories=list(lv)))
    frame = pd.DataFrame(
        {
            "r": make(rows.reset_index(drop=True), row_levels),
            "c": make(columns.reset_index(drop=True), column_levels),
        }
    )
    return frame.groupby(["r", "c"], observed=False).size().unstack("c").astype("Int64")


def _mean_ci(values: pd.Series, *, min_n: int = MIN_N_CI) -> tuple[float, float]:
    """95% t confidence interval of a mean (NaN when fewer than ``min_n`` values)."""
    x = pd.to_numeric(values, errors="coerce").dropna().astype(float).to_numpy()
    if len(x) < min_n:
        return (np.nan, np.nan)
    half = stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
    return (float(x.mean() - half), float(x.mean() + half))


def _latest_per_person(cases: pd.DataFrame) -> pd.DataFrame:
    """One row per young person: their latest episode referred in the year."""
    return cases.sort_values("referral_date", kind="mergesort").drop_duplicates(
        "young_person_id", keep="last"
    )


def _open_at_year_end(cases: pd.DataFrame, year: int) -> pd.Series:
    """True where the episode was still open on 31 December of ``year``."""
    closed = cases["closure_date"]
    return (closed.isna() | (closed > pd.Timestamp(year, 12, 31))).astype(bool)


def _float(value: object) -> float:
    return float(value) if value is not None and not pd.isna(value) else np.nan


# --------------------------------------------------------------------------- reach
def reach(
    tables: Mapping[str, pd.DataFrame], *, service_id: str, year: int
) -> dict[str, pd.DataFrame]:
    """Who the service reached in the year: one-to-one support and activities.

    Returns two frames:

    * ``"young_people"`` - DISTINCT young people in one-to-one support: rows "New to the
      service", "Re-referred" (seen in an earlier year of this service), "Total"; columns
      "Open at year end" (an episode still open on 31 December), "Closed", "Total". All
      counts of young people. Display: ``count_columns=None`` (all), ``total_row="Total"``,
      ``total_column="Total"``.
    * ``"activities"`` - rows: every activity type, then "Total"; columns "sessions",
      "participants", "young_people_reached" (awareness-raising with young people) and
      "professionals_reached" (training and awareness-raising with professionals), all sums
      of participants. Not counts of young people in support: ``count_columns=[]``,
      ``total_row="Total"``, ``total_column=None``.
    """
    service_id, year = load.check_service_year(service_id, year, tables=tables)
    return {
        "young_people": _young_people_reach(tables, service_id, year),
        "activities": _activity_reach(_rows(tables, "activities", service_id, year)),
    }


def _young_people_reach(
    tables: Mapping[str, pd.DataFrame], service_id: str, year: int
) -> pd.DataFrame:
    """Distinct young people: new vs re-referred x open at year end vs closed."""
    history = _rows(tables, "cases", service_id)
    cases = history.loc[history["year"].eq(year).to_numpy()]
    earlier = set(history.loc[history["year"].lt(year).to_numpy(), "young_person_id"].astype(str))
    people = (
        cases.assign(_open=_open_at_year_end(cases, year))
        .groupby("young_person_id", observed=True)["_open"]
        .any()
        .reset_index()
    )
    status = pd.Series(
        np.where(
            people["young_person_id"].astype(str).isin(earlier), "Re-referred", "New to the service"
        )
    )
    support = pd.Series(
        np.where(people["_open"].to_numpy(dtype=bool), "Open at year end", "Closed")
    )
    table = _crosstab(
        status,
        support,
        row_levels=("New to the service", "Re-referred"),
        column_levels=("Open at year end", "Closed"),
        labelled=False,
    )
    out = _with_totals(table)
    out.index.name, out.columns.name = "Young people", None
    return out


def _activity_reach(activities: pd.DataFrame) -> pd.DataFrame:
    """Sessions and participants by activity type, with young people and professionals reached."""
    kind = pd.Categorical(
        activities["activity_type"].astype(object), categories=list(rs.ACTIVITY_TYPE)
    )
    participants = activities["participants"].astype("Int64").fillna(0).to_numpy()
    frame = pd.DataFrame(
        {
            "activity_type": kind,
            "sessions": 1,
            "participants": participants,
            "young_people_reached": np.where(kind.isin(YOUNG_PEOPLE_REACH_TYPES), participants, 0),
            "professionals_reached": np.where(kind.isin(PROFESSIONAL_REACH_TYPES), participants, 0),
        }
    )
    out = _with_totals(frame.groupby("activity_type", observed=False).sum(), column=False)
    out.index.name = "Activity type"
    return out


# --------------------------------------------------------------------------- demographics
DEMOGRAPHIC_LEVELS: Mapping[str, tuple[str, ...]] = {
    "gender": tuple(rs.GENDER),
    "age_band": tuple(b for b, _ in AGE_BANDS),
    "ethnicity": tuple(rs.ETHNICITY),
    "disability": tuple(rs.YES_NO),
    "looked_after": tuple(rs.LOOKED_AFTER),
}


def demographics(
    tables: Mapping[str, pd.DataFrame], *, service_id: str, year: int
) -> dict[str, pd.DataFrame]:
    """Distinct young people supported in the year by gender, age band, ethnicity, disability, looked-after.

    One frame per characteristic (keys as :data:`DEMOGRAPHIC_LEVELS`), from each young
    person's latest episode: rows every level, "Not recorded", "Total"; columns "n"
    (young people) and "%" (of the total). Display: ``count_columns=["n"]``,
    ``derived={"%": "n"}``, ``total_row="Total"``, ``total_column=None``.
    """
    service_id, year = load.check_service_year(service_id, year, tables=tables)
    people = _latest_per_person(_rows(tables, "cases", service_id, year))
    return {
        column: _one_way(people[column], levels, name=column.replace("_", " ").capitalize())
        for column, levels in DEMOGRAPHIC_LEVELS.items()
    }


def referral_sources(
    tables: Mapping[str, pd.DataFrame], *, service_id: str, year: int
) -> pd.DataFrame:
    """Referrals (episodes) received in the year by source.

    Rows every source, "Not recorded", "Total"; columns "n" (episodes: young people
    referred) and "%". Display: ``count_columns=["n"]``, ``derived={"%": "n"}``,
    ``total_row="Total"``, ``total_column=None``.
    """
    service_id, year = load.check_service_year(service_id, year, tables=tables)
    cases = _rows(tables, "cases", service_id, year)
    return _one_way(cases["referral_source"], tuple(rs.REFERRAL_SOURCE), name="Referral source")


# --------------------------------------------------------------------------- risk
RISK_SUMMARY_LEVELS: tuple[str, ...] = ("Reduced", "Same", "Increased")


def risk_transitions(
    tables: Mapping[str, pd.DataFrame], *, service_id: str, year: int
) -> dict[str, pd.DataFrame]:
    """Risk at referral against latest risk, on the harmonised ordered scale.

    * ``"crosstab"`` - episodes: rows risk at referral, columns latest risk, each on
      :data:`~hubspoke.spec.raw.RISK_SCALE` (every level, zeros kept), then "Not
      recorded", then "Total". Display: ``count_columns=None``, ``total_row="Total"``,
      ``total_column="Total"``.
    * ``"summary"`` - rows "Reduced", "Same", "Increased", "Not recorded" (either
      assessment missing), "Total"; columns "n" (episodes) and "%" (of all episodes)
      and "% of assessed" (of episodes with both assessments; empty for the last two
      rows). Display: ``count_columns=["n"]``, ``derived={"%": "n", "% of assessed": "n"}``,
      ``total_row="Total"``, ``total_column=None``.
    """
    service_id, year = load.check_service_year(service_id, year, tables=tables)
    cases = _rows(tables, "cases", service_id, year)
    table = _crosstab(
        cases["risk_at_referral"],
        cases["risk_latest"],
        row_levels=rs.RISK_SCALE,
        column_levels=rs.RISK_SCALE,
    )
    crosstab = _with_totals(table)
    crosstab.index.name, crosstab.columns.name = "Risk at referral", "Latest risk"
    return {"crosstab": crosstab, "summary": _risk_summary(cases)}


def _risk_change(cases: pd.DataFrame) -> pd.Series:
    """Latest minus referral level on the ordered scale (NaN when either is missing)."""
    code = {level: i for i, level in enumerate(rs.RISK_SCALE)}
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
      (pairs: young people), "mean", "median". Display: ``count_columns=["n"]``,
      ``derived={"mean": "n", "median": "n"}``, ``total_row=None``, ``total_column=None``,
      ``implied_totals=False``.
    * ``"direction"`` - rows "Fewer after", "Same", "More after", "Total"; columns "n"
      (young people) and "%". Display: ``count_columns=["n"]``, ``derived={"%": "n"}``,
      ``total_row="Total"``, ``total_column=None``.
    * ``"test"`` - one row: "n_pairs", "test", "statistic", "p_value", "note". The
      Wilcoxon signed-rank test (scipy, two-sided) runs when there are at least
      :data:`MIN_PAIRS_WILCOXON` pairs; otherwise "test" is empty and the note says
      "too few pairs to test". Display: ``count_columns=["n_pairs"]``,
      ``derived={"statistic": "n_pairs", "p_value": "n_pairs"}``, ``total_row=None``,
      ``total_column=None``, ``implied_totals=False``.
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
    empty when fewer than :data:`MIN_N_CI` pairs). Display: ``count_columns=["n_both"]``,
    ``derived={c: "n_both" for c in ("% complete", "mean_start", "mean_end",
    "mean_change", "ci_low", "ci_high")}``, ``total_row=None``, ``total_column=None``,
    ``implied_totals=False``.
    """
    service_id, year = load.check_service_year(service_id, year, tables=tables)
    cases = _rows(tables, "cases", service_id, year)
    rows = [_scale_row(cases, scale) for scale in rs.OUTCOME_SCALES]
    out = pd.DataFrame(
        rows, index=pd.Index([OUTCOME_LABELS[s] for s in rs.OUTCOME_SCALES], name="Outcome scale")
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


# --------------------------------------------------------------------------- professional activity
def professional_activity(
    tables: Mapping[str, pd.DataFrame], *, service_id: str, year: int
) -> dict[str, pd.DataFrame]:
    """Work with professionals: sessions and participants, and training confidence change.

    * ``"by_type"`` - rows every activity type except awareness-raising with young
      people, then "Total"; columns "sessions", "participants". Not counts of young
      people: ``count_columns=[]``, ``total_row="Total"``, ``total_column=None``.
    * ``"confidence"`` - training sessions with confidence rated before and after, by
      audience agency (agencies with such sessions, "Not recorded", then "All training");
      columns "sessions", "participants", "mean_before", "mean_after", "mean_change",
      "ci_low", "ci_high" (95% t interval of the mean change over sessions, empty below
      :data:`MIN_N_CI` sessions). Means are of session means (each session weighs the
      same). Not counts of young people: ``count_columns=[]``, ``total_row=None``,
      ``total_column=None``.
    """
    service_id, year = load.check_service_year(service_id, year, tables=tables)
    activities = _rows(tables, "activities", service_id, year)
    types = [t for t in rs.ACTIVITY_TYPE if t not in YOUNG_PEOPLE_REACH_TYPES]
    by_type = _activity_reach(activities)[["sessions", "participants"]].drop(
        index=[*YOUNG_PEOPLE_REACH_TYPES, TOTAL]
    )
    by_type = _with_totals(by_type.loc[types], column=False)
    by_type.index.name = "Activity type"
    return {"by_type": by_type, "confidence": _confidence(activities)}


def _confidence(activities: pd.DataFrame) -> pd.DataFrame:
    training = activities.loc[
        activities["activity_type"].astype(object).eq("Training").to_numpy()
    ].dropna(subset=["confidence_before", "confidence_after"])
    agency = pd.Series(
        _labelled(training["audience_agency"], tuple(rs.AGENCY)), index=training.index
    )
    groups = [(str(a), part) for a, part in training.groupby(agency, observed=True)]
    rows = {name: _confidence_row(part) for name, part in [*groups, ("All training", training)]}
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "Audience agency"
    return out.astype(
        {"sessions": "Int64", "participants": "Int64"}
        | {c: "Float64" for c in ("mean_before", "mean_after", "mean_change", "ci_low", "ci_high")}
    )


def _confidence_row(part: pd.DataFrame) -> dict[str, float | int]:
    before = part["confidence_before"].astype(float)
    after = part["confidence_after"].astype(float)
    low, high = _mean_ci(after - before)
    n = len(part)
    return {
        "sessions": n,
        "participants": int(part["participants"].fillna(0).sum()),
        "mean_before": before.mean() if n else np.nan,
        "mean_after": after.mean() if n else np.nan,
        "mean_change": (after - before).mean() if n else np.nan,
        "ci_low": low,
        "ci_high": high,
    }


# --------------------------------------------------------------------------- policy
def _previous_year(years: Iterable[int], year: int) -> int | None:
    earlier = [y for y in years if y < year]
    return max(earlier) if earlier else None


def policy_progress(
    tables: Mapping[str, pd.DataFrame], *, service_id: str, year: int
) -> dict[str, pd.DataFrame]:
    """The local CSE policy framework checklist at year end, and progress since the previous year.

    Progress score: 0 Not started, 1 In development, 2 In place, 3 Embedded
    (:data:`~hubspoke.spec.raw.POLICY_SCALE`).

    * ``"status"`` - rows every framework element; one text column per area (ONS code)
      with the status (empty if not reported), then "mean_score" (over areas this year),
      "previous_mean_score" (the service's previous year with policy data; empty when
      none) and "change". No counts: ``count_columns=[]``, ``total_row=None``,
      ``total_column=None``.
    * ``"areas"`` - rows every area, then "All areas"; columns "mean_score",
      "previous_mean_score", "change", "elements_in_place" (In place or Embedded),
      "elements_reported". No counts of people: ``count_columns=[]``.

    ``previous_year`` (an int or None) is in each frame's ``attrs``.
    """
    service_id, year = load.check_service_year(service_id, year, tables=tables)
    history = _rows(tables, "policy", service_id)
    previous = _previous_year(history["year"].dropna().astype(int).unique(), year)
    now = history.loc[history["year"].eq(year).to_numpy()]
    before = history.loc[history["year"].eq(previous).to_numpy()] if previous else history.iloc[:0]
    status = _policy_status(now, before)
    areas = _policy_areas(now, before)
    for frame in (status, areas):
        frame.attrs["previous_year"] = previous
    return {"status": status, "areas": areas}


def _score_by(frame: pd.DataFrame, key: str, levels: Sequence[str]) -> pd.Series:
    return (
        frame.groupby(frame[key].astype(object))["status_score"]
        .mean()
        .reindex(levels)
        .astype("Float64")
    )


def _policy_status(now: pd.DataFrame, before: pd.DataFrame) -> pd.DataFrame:
    elements = list(rs.POLICY_ELEMENT)
    wide = (
        now.assign(element=now["element"].astype(object), status=now["status"].astype(object))
        .pivot(index="element", columns="la_code", values="status")
        .reindex(elements)
        .astype("string")
    )
    wide.columns = [str(c) for c in wide.columns]
    out = wide.assign(
        mean_score=_score_by(now, "element", elements),
        previous_mean_score=_score_by(before, "element", elements),
    )
    out["change"] = out["mean_score"] - out["previous_mean_score"]
    out.index.name = "Framework element"
    return out


def _policy_areas(now: pd.DataFrame, before: pd.DataFrame) -> pd.DataFrame:
    areas = sorted(now["la_code"].astype(str).unique())
    scores = pd.DataFrame(
        {
            "mean_score": _score_by(now, "la_code", areas),
            "previous_mean_score": _score_by(before, "la_code", areas),
            "elements_in_place": now.groupby(now["la_code"].astype(str))["status_score"]
            .apply(lambda s: int((s >= 2).sum()))
            .reindex(areas),
            "elements_reported": now.groupby(now["la_code"].astype(str)).size().reindex(areas),
        },
        index=pd.Index(areas),
    )
    overall = pd.DataFrame(
        {
            "mean_score": [now["status_score"].mean() if len(now) else np.nan],
            "previous_mean_score": [before["status_score"].mean() if len(before) else np.nan],
            "elements_in_place": [int((now["status_score"] >= 2).sum())],
            "elements_reported": [len(now)],
        },
        index=["All areas"],
    )
    out = pd.concat([scores, overall]).astype(
        {
            "mean_score": "Float64",
            "previous_mean_score": "Float64",
            "elements_in_place": "Int64",
            "elements_reported": "Int64",
        }
    )
    out.insert(2, "change", out["mean_score"] - out["previous_mean_score"])
    out.index.name = "Area"
    return out


def policy_mean_score(tables: Mapping[str, pd.DataFrame], *, service_id: str, year: int) -> float:
    """Mean progress score (0-3) over every area and element reported for the year (NaN if none)."""
    rows = _rows(tables, "policy", service_id, year)
    return float(rows["status_score"].mean()) if len(rows) else np.nan


# --------------------------------------------------------------------------- spoke survey
SURVEY_QUESTIONS: Mapping[str, tuple[str, tuple[str, ...]]] = {
    "supervision_frequency": ("How often supervised", rs.SUPERVISION_SCALE),
    "host_system_access": ("Access to host case systems", SYSTEM_ACCESS_SCALE),
    "feels_isolated": ("How often feels isolated", rs.ISOLATION_SCALE),
    "confidence": ("Confidence in the role (1-5)", ("1", "2", "3", "4", "5")),
    "intends_to_stay": ("Intends to stay in post", tuple(rs.STAY)),
}
#: Yes/no statements of the service-level summary: label -> (column, answers counted as yes).
SURVEY_STATEMENTS: Mapping[str, tuple[str, tuple[str, ...]]] = {
    "Supervised at least monthly": ("supervision_frequency", ("Monthly", "Fortnightly", "Weekly")),
    "Full access to host case systems": ("host_system_access", ("Full",)),
    "Rarely or never feels isolated": ("feels_isolated", ("Never", "Rarely")),
    "Confident in the role (4 or 5 of 5)": ("confidence", ("4", "5")),
    "Intends to stay in post": ("intends_to_stay", ("Yes",)),
}


def _survey_text(column: pd.Series) -> pd.Series:
    """Answers as text (confidence 4 -> "4"), missing kept missing."""

    def text(v: object) -> str:
        return str(int(v)) if isinstance(v, (int, float, np.integer, np.floating)) else str(v)

    return column.astype(object).map(text, na_action="ignore")


def spoke_survey_summary(
    tables: Mapping[str, pd.DataFrame], *, service_id: str, year: int
) -> dict[str, pd.DataFrame]:
    """The annual Spoke worker survey for the service: answers per question and a yes/no summary.

    A service has 2-5 Spoke workers, so every count here is small and will be
    suppressed in a funder report (counts 1-5); show the full counts to the evaluation
    team, and to funders only as whole-programme figures.

    * one frame per question (keys of :data:`SURVEY_QUESTIONS`): rows the answers on
      the question's ordered scale, "Not recorded", "Total"; columns "n" (Spoke workers)
      and "%". Display: ``count_columns=["n"]``, ``derived={"%": "n"}``,
      ``total_row="Total"``, ``total_column=None``.
    * ``"summary"`` - rows the statements of :data:`SURVEY_STATEMENTS`; columns "Yes",
      "No", "Not recorded", "Total" (Spoke workers). Display: ``count_columns=None``,
      ``total_row=None``, ``total_column="Total"``, ``implied_totals=False``. Phrase it
      with :func:`spoke_survey_sentences` on the displayed (suppressed) frame.
    """
    service_id, year = load.check_service_year(service_id, year, tables=tables)
    survey = _rows(tables, "spoke_survey", service_id, year)
    out = {
        column: _one_way(_survey_text(survey[column]), levels, name=label)
        for column, (label, levels) in SURVEY_QUESTIONS.items()
    }
    out["summary"] = _survey_statements(survey)
    return out


def _survey_statements(survey: pd.DataFrame) -> pd.DataFrame:
    def row(column: str, yes: tuple[str, ...]) -> dict[str, int]:
        answers = _survey_text(survey[column])
        recorded = answers.notna()
        n_yes = int(answers[recorded].isin(yes).sum())
        return {
            "Yes": n_yes,
            "No": int(recorded.sum()) - n_yes,
            NOT_RECORDED: int((~recorded).sum()),
            TOTAL: len(survey),
        }

    out = pd.DataFrame.from_dict(
        {label: row(column, yes) for label, (column, yes) in SURVEY_STATEMENTS.items()},
        orient="index",
    ).astype("Int64")
    out.index.name = "Spoke workers"
    return out


def spoke_survey_sentences(summary: pd.DataFrame) -> list[str]:
    """Sentences such as "Supervised at least monthly: 3 of 4" from the summary frame.

    Pass the DISPLAYED frame that ``display.table`` returns for a funder report, so
    suppressed counts read "c of 4"; the full frame gives the numbers.
    """

    def text(value: object) -> str:
        return str(value) if isinstance(value, str) else f"{int(value):,}"

    return [f"{label}: {text(r['Yes'])} of {text(r[TOTAL])}" for label, r in summary.iterrows()]


# --------------------------------------------------------------------------- completeness
CASE_COLUMNS: tuple[str, ...] = (
    "age",
    "gender",
    "ethnicity",
    "disability",
    "looked_after",
    "concern_date",
    "referral_source",
    "risk_at_referral",
    "risk_latest",
    "missing_before",
    "missing_after",
    "contacts",
)
SURVEY_COLUMNS: tuple[str, ...] = tuple(SURVEY_QUESTIONS)


def data_completeness(
    tables: Mapping[str, pd.DataFrame], *, service_id: str, year: int
) -> pd.DataFrame:
    """How complete the year's data are: per table and key column, records with a value.

    Columns "table", "item", "applies_to" (which records are counted), "complete",
    "not_recorded", "records" (= complete + not_recorded) and "% complete". For
    outcome scales, "complete" means rated at both start and end. Counts of cases
    records are counts of young people (and a small "not recorded" could identify
    someone), so all three are counts. Display: ``count_columns=["complete",
    "not_recorded", "records"]``, ``derived={"% complete": ("complete", "records")}``,
    ``total_row=None``, ``total_column="records"``, ``implied_totals=False``.
    """
    service_id, year = load.check_service_year(service_id, year, tables=tables)
    cases = _rows(tables, "cases", service_id, year)
    closed = cases.loc[~_open_at_year_end(cases, year).to_numpy()]
    activities = _rows(tables, "activities", service_id, year)
    training = activities.loc[activities["activity_type"].astype(object).eq("Training").to_numpy()]
    survey = _rows(tables, "spoke_survey", service_id, year)
    items: list[tuple[str, str, str, pd.Series]] = [
        *(("cases", c, "episodes", cases[c].notna()) for c in CASE_COLUMNS),
        ("cases", "closure_reason", "closed episodes", closed["closure_reason"].notna()),
        *(
            (
                "cases",
                f"outcome {OUTCOME_LABELS[s].lower()} (start and end)",
                "episodes",
                cases[[f"outcome_{s}_start", f"outcome_{s}_end"]].notna().all(axis=1),
            )
            for s in rs.OUTCOME_SCALES
        ),
        ("activities", "audience_agency", "activities", activities["audience_agency"].notna()),
        ("activities", "spoke_id", "activities", activities["spoke_id"].notna()),
        (
            "activities",
            "confidence before and after",
            "training sessions",
            training[["confidence_before", "confidence_after"]].notna().all(axis=1),
        ),
        *(("spoke_survey", c, "Spoke workers", survey[c].notna()) for c in SURVEY_COLUMNS),
    ]
    out = pd.DataFrame(
        [
            {
                "table": t,
                "item": i,
                "applies_to": a,
                "complete": int(m.sum()),
                "not_recorded": int((~m).sum()),
                "records": len(m),
            }
            for t, i, a, m in items
        ]
    ).astype(
        {
            "table": "string",
            "item": "string",
            "applies_to": "string",
            "complete": "Int64",
            "not_recorded": "Int64",
            "records": "Int64",
        }
    )
    out["% complete"] = (
        out["complete"].astype("Float64") * 100 / out["records"].replace(0, pd.NA)
    ).astype("Float64")
    return out


# --------------------------------------------------------------------------- year on year
def year_on_year(tables: Mapping[str, pd.DataFrame], *, service_id: str, year: int) -> pd.DataFrame:
    """Key figures for every year of the service up to ``year`` (one row per year).

    Columns "young_people" (distinct young people supported), "risk_assessed" (episodes
    with both risk assessments), "risk_reduced", "% risk reduced" (of assessed),
    "episodes_closed", "planned_endings", "% planned endings" (of closed), "professionals_trained"
    (training participants: not young people), "mean_policy_score" (0-3), "policy_change"
    (on the previous year) and "compared_with" (the previous year, or "n/a" for the
    service's first year). Display: ``count_columns=["young_people", "risk_assessed",
    "risk_reduced", "episodes_closed", "planned_endings"]``, ``derived={"% risk reduced":
    ("risk_reduced", "risk_assessed"), "% planned endings": ("planned_endings",
    "episodes_closed")}``, ``total_row=None``, ``total_column=None``, ``implied_totals=False``.
    """
    service_id, year = load.check_service_year(service_id, year, tables=tables)
    years = [y for y in load.available_service_years(tables)[service_id] if y <= year]
    out = pd.DataFrame(
        [_year_figures(tables, service_id, y) for y in years], index=pd.Index(years, name="Year")
    )
    out = out.astype(
        {
            c: "Int64"
            for c in (
                "young_people",
                "risk_assessed",
                "risk_reduced",
                "episodes_closed",
                "planned_endings",
                "professionals_trained",
            )
        }
        | {c: "Float64" for c in ("% risk reduced", "% planned endings", "mean_policy_score")}
    )
    out["policy_change"] = out["mean_policy_score"].diff().astype("Float64")
    previous = [str(years[i - 1]) if i else "n/a" for i in range(len(years))]
    out["compared_with"] = pd.array(previous, dtype="string")
    return out


def _year_figures(
    tables: Mapping[str, pd.DataFrame], service_id: str, year: int
) -> dict[str, float | int]:
    cases = _rows(tables, "cases", service_id, year)
    change = _risk_change(cases)
    closed = cases.loc[~_open_at_year_end(cases, year).to_numpy()]
    planned = closed["closure_reason"].astype(object).isin(rs.PLANNED_ENDINGS)
    activities = _rows(tables, "activities", service_id, year)
    training = activities["activity_type"].astype(object).eq("Training").to_numpy()
    assessed, reduced = int(change.notna().sum()), int(change.lt(0).fillna(False).sum())
    return {
        "young_people": int(cases["young_person_id"].nunique()),
        "risk_assessed": assessed,
        "risk_reduced": reduced,
        "% risk reduced": percent(reduced, assessed),
        "episodes_closed": len(closed),
        "planned_endings": int(planned.sum()),
        "% planned endings": percent(int(planned.sum()), len(closed)),
        "professionals_trained": int(activities.loc[training, "participants"].fillna(0).sum()),
        "mean_policy_score": policy_mean_score(tables, service_id=service_id, year=year),
    }


# --------------------------------------------------------------------------- profile
def service_profile(tables: Mapping[str, pd.DataFrame], *, service_id: str) -> pd.DataFrame:
    """The report header: hub, phase, start, model variant, risk tool, Spokes and areas.

    Rows (index "Item"): "Service", "Hub", "Phase", "Start date", "Model variant",
    "Risk tool", "Region", "Spoke workers", "Spoke host settings", "Areas covered",
    "Years with data"; one text column "value". No counts of young people:
    ``count_columns=[]`` (or show it as text).
    """
    services = load.table(tables, "services")
    known = sorted(services["service_id"].astype(str))
    if not isinstance(service_id, str) or service_id not in known:
        raise ParameterError(
            "unknown service", column="service_id", allowed=known, found=service_id
        )
    row = services.loc[services["service_id"].astype(str).eq(service_id).to_numpy()].iloc[0]
    spokes = load.table(tables, "spokes")
    spokes = spokes.loc[spokes["service_id"].astype(str).eq(service_id).to_numpy()].sort_values(
        "spoke_id"
    )
    hosts = "; ".join(
        f"{s.spoke_id}: {s.host_setting} ({s.la_code}, from {s.start_year})"
        for s in spokes.itertuples()
    )
    years = load.available_service_years(tables).get(service_id, [])
    items = {
        "Service": service_id,
        "Hub": row["hub_name"],
        "Phase": f"{int(row['phase'])}",
        "Start date": pd.Timestamp(row["start_date"]).strftime("%d %B %Y"),
        "Model variant": row["model_variant"],
        "Risk tool": row["risk_tool"],
        "Region": row["region"],
        "Spoke workers": f"{int(row['n_spokes'])}",
        "Spoke host settings": hosts or NOT_RECORDED,
        "Areas covered": ", ".join(c.strip() for c in str(row["la_codes"]).split(";") if c.strip()),
        "Years with data": ", ".join(map(str, years)) or "none",
    }
    out = pd.DataFrame(
        {"value": pd.array([str(v) for v in items.values()], dtype="string")},
        index=pd.Index(list(items), name="Item"),
    )
    return out


__all__ = [
    "DEMOGRAPHIC_LEVELS",
    "DISPLAY",
    "MIN_N_CI",
    "MIN_PAIRS_WILCOXON",
    "NOT_RECORDED",
    "OUTCOME_LABELS",
    "SURVEY_QUESTIONS",
    "SURVEY_STATEMENTS",
    "TOTAL",
    "data_completeness",
    "demographics",
    "missing_episodes",
    "outcome_scale_change",
    "policy_mean_score",
    "policy_progress",
    "professional_activity",
    "reach",
    "referral_sources",
    "risk_transitions",
    "service_profile",
    "spoke_survey_sentences",
    "spoke_survey_summary",
    "year_on_year",
]


def service_name(profile: pd.DataFrame) -> str:
    """The Hub's (fictional) name from :func:`service_profile`, for report titles."""
    return str(profile.loc["Hub"].iloc[0])
