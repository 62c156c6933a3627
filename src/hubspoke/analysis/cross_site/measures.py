"""The key measures of the summary, and one measure side by side across services and periods.

:data:`MEASURES` names each measure of :func:`~hubspoke.analysis.cross_site.summary.service_year_summary`
with the counts it is computed from, so :func:`side_by_side` can lay out a count, a
proportion (with its numerator and denominator) or a mean per period (an analyst view;
the funder tables are built in :mod:`hubspoke.analysis.cross_site.tables`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from hubspoke.analysis.cross_site.summary import SUMMARY_MEASURES
from hubspoke.errors import ParameterError
from hubspoke.load import ALL_YEARS, service_order


@dataclass(frozen=True)
class Measure:
    """A key measure of the summary: its value column and the counts it is computed from.

    ``kind`` is ``count`` (value is a count of people), ``proportion`` (numerator /
    denominator, shown as a percentage) or ``mean`` (a mean over ``denominator`` items).
    ``people`` says whether the counts are counts of people (and so go through disclosure
    control).
    """

    name: str
    label: str
    kind: str
    value: str
    numerator: str | None = None
    denominator: str | None = None
    numerator_short: str = "n"
    denominator_short: str = "of"
    value_short: str = "%"
    people: bool = True


MEASURES: Mapping[str, Measure] = {
    m.name: m
    for m in (
        Measure("young_people", "Young people supported", "count", "young_people"),
        Measure(
            "risk_reduced",
            "Young people whose risk was reduced (of those with both risk ratings)",
            "proportion",
            "risk_reduced_pct",
            "risk_reduced",
            "risk_rated",
            "reduced",
            "rated",
        ),
        Measure(
            "planned_endings",
            "Closed episodes with a planned ending",
            "proportion",
            "planned_ending_pct",
            "planned_endings",
            "closed",
            "planned",
            "closed",
        ),
        Measure("professionals_trained", "Professionals trained", "count", "professionals_trained"),
        Measure(
            "confidence_change",
            "Mean change in professionals' confidence after training (1-10 scale)",
            "mean",
            "confidence_change_mean",
            None,
            "confidence_rated",
            denominator_short="rated",
            value_short="mean",
        ),
        Measure(
            "policy_score",
            "Mean policy framework score (0 not started to 3 embedded)",
            "mean",
            "policy_score_mean",
            None,
            "policy_items",
            denominator_short="items",
            value_short="mean",
        ),
    )
}
#: Summary columns a measure name may also be given as (value column -> measure).
_BY_VALUE = {m.value: m for m in MEASURES.values()}


def _measure_for(name: str) -> Measure:
    if name in MEASURES:
        return MEASURES[name]
    if name in _BY_VALUE:
        return _BY_VALUE[name]
    return Measure(name, name.replace("_", " "), "count", name)


def side_by_side(summary_or_indicators: pd.DataFrame, *, measure: str) -> pd.DataFrame:
    """One measure with services as rows (fixed order) and periods (years, All years) across.

    Takes the frame from :func:`service_year_summary` (``measure``: a name in
    :data:`MEASURES` such as ``"risk_reduced"``, or any summary column) or an indicator
    table from ``hubspoke.analysis.outcomes`` (``measure``: an ``indicator_id``). A count gives one
    column per period; a proportion three (``"2015 reduced"``, ``"2015 rated"``,
    ``"2015 %"``); a mean two (``"2015 rated"``, ``"2015 mean"``). Missing = no data.
    Analyst use: funder tables come from
    :func:`hubspoke.analysis.cross_site.cross_site_tables`. ``attrs["label"]`` is the
    measure in words, ``attrs["values"]`` the value column of each period.
    """
    frame = summary_or_indicators
    if "indicator_id" in frame.columns:
        long, m = _indicator_long(frame, measure)
    else:
        m = _measure_for(measure)
        if m.value not in frame.columns:
            raise ParameterError(
                "unknown measure",
                column="measure",
                allowed=[*MEASURES, *SUMMARY_MEASURES],
                found=measure,
            )
        long = frame.assign(
            period=frame["period"] if "period" in frame else frame["year"].astype(str)
        )
    parts = {
        "num": (m.numerator, m.numerator_short),
        "den": (m.denominator, m.denominator_short),
        "val": (m.value, m.value_short if m.kind != "count" else ""),
    }
    used = {k: v for k, v in parts.items() if v[0] is not None and v[0] in long.columns}
    if m.kind == "count":
        used = {"val": parts["val"]}
    periods = _period_order(long["period"].astype(str).unique())
    services = service_order(long["service_id"].astype(str).unique())
    wide = long.assign(
        service_id=long["service_id"].astype(str), period=long["period"].astype(str)
    ).pivot_table(
        index="service_id",
        columns="period",
        values=[c for c, _ in used.values()],
        aggfunc="first",
        dropna=False,
    )
    out = pd.DataFrame(index=pd.Index(services, name="service_id"))
    for period in periods:
        names = {}
        for key, (col, short) in used.items():
            name = f"{period} {short}".strip()
            out[name] = (
                wide[(col, period)].reindex(services).astype(float)
                if (col, period) in wide
                else np.nan
            )
            names[key] = name
    out.attrs["label"] = m.label
    out.attrs["kind"] = m.kind
    out.attrs["values"] = {period: f"{period} {parts['val'][1]}".strip() for period in periods}
    return out


def _indicator_long(indicators: pd.DataFrame, measure: str) -> tuple[pd.DataFrame, Measure]:
    """The rows of one indicator, with a ``period`` column, and a Measure describing it."""
    rows = indicators.loc[indicators["indicator_id"].astype(str).eq(measure)]
    if rows.empty:
        raise ParameterError(
            "unknown indicator",
            column="measure",
            allowed=sorted(indicators["indicator_id"].astype(str).unique()),
            found=measure,
        )
    unit = str(rows["unit"].iloc[0]) if "unit" in rows else ""
    has_num = rows["numerator"].notna().any()
    kind = (
        "proportion"
        if has_num and unit in {"%", "percent", "proportion"}
        else "mean"
        if not has_num
        else "ratio"
    )
    label = str(rows["indicator"].iloc[0]) if "indicator" in rows else measure
    m = Measure(
        measure,
        label,
        "proportion" if kind in {"proportion", "ratio"} else "mean",
        "value",
        "numerator" if has_num else None,
        "denominator",
        "n",
        "of",
        unit or "value",
        people=True,
    )
    return rows.assign(period=rows["year"].astype(str)), m


def _period_order(periods: Sequence[str]) -> list[str]:
    years = sorted(p for p in periods if p != ALL_YEARS)
    return years + ([ALL_YEARS] if ALL_YEARS in periods else [])
