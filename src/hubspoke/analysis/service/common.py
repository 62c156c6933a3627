"""Constants and frame-building helpers shared by the per-service analysis modules.

The row and column labels every frame uses ("Total", "Not recorded"), the smallest
sample for a confidence interval, the selection of one service's (and year's) rows,
and the building blocks that turn values into tidy count frames: a categorical on a
fixed scale, one-way counts with a percentage, a cross-tabulation with every level,
totals, a 95% t interval of a mean. Activities by type live here too because both
:mod:`~hubspoke.analysis.service.people` (reach) and
:mod:`~hubspoke.analysis.service.professionals` (work with professionals) count them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from hubspoke import load
from hubspoke.spec import vocab

TOTAL = "Total"
NOT_RECORDED = "Not recorded"
#: Fewest pairs for a t confidence interval of a mean change.
MIN_N_CI = 5
#: Activity types whose participants are professionals reached by training or awareness-raising.
PROFESSIONAL_REACH_TYPES: tuple[str, ...] = ("Training", "Awareness - professionals")
YOUNG_PEOPLE_REACH_TYPES: tuple[str, ...] = ("Awareness - young people",)


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
    codes = pd.Series(_labelled(values, levels)).cat.codes.to_numpy()
    return _count_frame(np.bincount(codes, minlength=len(levels) + 1), levels, name=name)


def _count_frame(per_level: np.ndarray, levels: Sequence[str], *, name: str) -> pd.DataFrame:
    """:func:`_one_way`'s frame from its counts (each level, then Not recorded): a Total
    row and a % of the total (missing when the total is 0)."""
    n = np.append(per_level, per_level.sum())
    total = int(n[-1])
    return pd.DataFrame(
        {
            "n": pd.array(n, dtype="Int64"),
            "%": pd.array(n * 100 / total if total else [pd.NA] * len(n), dtype="Float64"),
        },
        index=pd.Index([*levels, NOT_RECORDED, TOTAL], name=name),
    )


def _one_way_by_service_year(
    rows: pd.DataFrame, values: pd.Series, levels: Sequence[str], *, name: str
) -> dict[tuple[str, int], pd.DataFrame]:
    """:func:`_one_way` of ``values`` for each (service, year) of ``rows`` (``values``
    lines up with ``rows``), counted at once: rows without a service or year are left out."""
    codes = pd.Series(_labelled(values, levels)).cat.codes.to_numpy()
    keyed = rows["service_id"].notna().to_numpy(dtype=bool) & rows["year"].notna().to_numpy(
        dtype=bool
    )
    counts = (
        pd.DataFrame(
            {
                "s": rows["service_id"].to_numpy()[keyed].astype(str),
                "y": rows["year"].to_numpy()[keyed].astype("int64"),
                "c": codes[keyed],
            }
        )
        .groupby(["s", "y", "c"])
        .size()
    )
    out: dict[tuple[str, int], pd.DataFrame] = {}
    for (service_id, year), part in counts.groupby(level=[0, 1]):
        per_level = np.zeros(len(levels) + 1, dtype="int64")
        per_level[part.index.get_level_values(2)] = part.to_numpy()
        out[(str(service_id), int(year))] = _count_frame(per_level, levels, name=name)
    return out


def _keyed(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows with a service and a year, the service as ``str`` and the year as ``int``."""
    known = frame.loc[(frame["service_id"].notna() & frame["year"].notna()).to_numpy(dtype=bool)]
    return known.assign(
        service_id=known["service_id"].astype(str), year=known["year"].astype("int64")
    )


def _year_end(year: pd.Series) -> pd.Series:
    """31 December of each year."""
    return pd.to_datetime(pd.DataFrame({"year": year, "month": 12, "day": 31}))


def _crosstab(
    rows: pd.Series,
    columns: pd.Series,
    *,
    row_levels: Sequence[str],
    column_levels: Sequence[str],
) -> pd.DataFrame:
    """Counts of rows x columns with every level shown (zeros kept), without totals."""
    frame = pd.DataFrame(
        {
            "r": _labelled(rows.reset_index(drop=True), row_levels),
            "c": _labelled(columns.reset_index(drop=True), column_levels),
        }
    )
    return frame.groupby(["r", "c"], observed=False).size().unstack("c").astype("Int64")


def _mean_ci(values: pd.Series, *, min_n: int = MIN_N_CI) -> tuple[float, float]:
    """95% t confidence interval of a mean (NaN when fewer than ``min_n`` values)."""
    from scipy import stats

    x = pd.to_numeric(values, errors="coerce").dropna().astype(float).to_numpy()
    if len(x) < min_n:
        return (np.nan, np.nan)
    half = stats.t.ppf(0.975, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x))
    return (float(x.mean() - half), float(x.mean() + half))


def _closed_by_year_end(cases: pd.DataFrame) -> np.ndarray:
    """True where the episode was closed by 31 December of its own year (open at year end
    otherwise: no closure date, or a later one). ``cases`` are :func:`_keyed` rows."""
    closure = cases["closure_date"]
    return (closure.notna() & closure.le(_year_end(cases["year"]))).to_numpy(dtype=bool)


#: The columns of :func:`_activity_reach_of`'s frames.
ACTIVITY_REACH_COLUMNS: tuple[str, ...] = (
    "sessions",
    "participants",
    "young_people_reached",
    "professionals_reached",
)


def _activity_reach_of(
    activities: pd.DataFrame, keys: Sequence[tuple[str, int]]
) -> dict[tuple[str, int], pd.DataFrame]:
    """Sessions and participants by activity type, with young people and professionals
    reached, of each (service, year) of ``keys`` (rows every activity type, then Total)."""
    rows = _keyed(activities)
    types = list(vocab.ACTIVITY_TYPE)
    kind = pd.Categorical(rows["activity_type"].astype(object), categories=types)
    where = pd.MultiIndex.from_tuples(keys).get_indexer(
        pd.MultiIndex.from_arrays([rows["service_id"], rows["year"]])
    )
    participants = rows["participants"].astype("Int64").fillna(0).to_numpy(dtype="int64")
    typed = (kind.codes >= 0) & (where >= 0)
    sums = np.zeros((len(keys), len(types), len(ACTIVITY_REACH_COLUMNS)), dtype="int64")
    values = np.column_stack(
        [
            np.ones(len(rows), dtype="int64"),
            participants,
            np.where(kind.isin(YOUNG_PEOPLE_REACH_TYPES), participants, 0),
            np.where(kind.isin(PROFESSIONAL_REACH_TYPES), participants, 0),
        ]
    )
    np.add.at(sums, (where[typed], kind.codes[typed]), values[typed])
    with_total = np.concatenate([sums, sums.sum(axis=1, keepdims=True)], axis=1)
    labels = [*types, TOTAL]
    frame = pd.DataFrame(
        with_total.reshape(-1, len(ACTIVITY_REACH_COLUMNS)),
        columns=list(ACTIVITY_REACH_COLUMNS),
        index=pd.Index(np.tile(np.array(labels, dtype=object), len(keys)), name="Activity type"),
    ).astype("Int64")
    n = len(labels)
    return {key: frame.iloc[k * n : (k + 1) * n] for k, key in enumerate(keys)}
