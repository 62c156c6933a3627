"""The local CSE policy framework: status of each element per area, and progress over years.

Progress is scored 0-3 (Not started to Embedded); each year is compared with the
service's previous year with policy data. :func:`policy_mean_score` is the single
figure used by the year-on-year table.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from hubspoke import load
from hubspoke.analysis.service.common import _rows
from hubspoke.spec import vocab


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
      none) and "change". Figures only: no one is counted.
    * ``"areas"`` - rows every area, then "All areas"; columns "mean_score",
      "previous_mean_score", "change", "elements_in_place" (In place or Embedded),
      "elements_reported". Figures only: no one is counted.

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
    elements = list(vocab.POLICY_ELEMENT)
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
