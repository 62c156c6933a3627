"""Computing the framework's indicators from the processed tables, per service-year or pooled.

Each indicator is computed vectorised over its table: rows are filtered by the
indicator's conditions, reduced to per-row values, then aggregated per group
(numerator, denominator, value, completeness). Each row of the result also says
whether the group had enough data and whether the value meets its target, which
is what :mod:`hubspoke.analysis.outcomes.rate` turns into ratings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from hubspoke import load
from hubspoke.analysis.outcomes.framework import (
    INDICATOR_TABLES,
    TABLE_UNITS,
    Condition,
    Framework,
    Indicator,
    Outcome,
    load_framework,
)
from hubspoke.errors import ParameterError
from hubspoke.load import ALL_SERVICES

#: Columns of the indicator table, in order.
INDICATOR_COLUMNS: tuple[str, ...] = (
    "service_id", "year", "impact_area_id", "impact_area", "outcome_id", "outcome",
    "indicator_id", "indicator", "kind", "numerator", "denominator", "value", "unit",
    "direction", "target", "completeness", "n_units", "n_label", "min_n",
    "n_service_years", "enough_data", "meets_threshold",
)  # fmt: skip


def _mask(frame: pd.DataFrame, conditions: Sequence[Condition]) -> pd.Series:
    """Rows meeting every condition (a missing value never meets one)."""
    mask = pd.Series(True, index=frame.index)
    for c in conditions:
        col = frame[c.column]
        test = {
            "in": lambda s, v: s.isin(v),
            "is": lambda s, v: s.eq(v),
            "min": lambda s, v: s.ge(v),
            "max": lambda s, v: s.le(v),
            "notnull": lambda s, v: s.notna(),
            "isnull": lambda s, v: s.isna(),
        }[c.op](col, c.value)
        mask &= pd.Series(test, index=frame.index).fillna(False).astype(bool)
    return mask


def _difference(frame: pd.DataFrame, before: str, after: str) -> pd.Series:
    """After minus before as floats (days for dates)."""
    diff = frame[after] - frame[before]
    if pd.api.types.is_timedelta64_dtype(diff):
        return diff.dt.days.astype("Float64")
    return diff.astype("Float64")


def _row_values(frame: pd.DataFrame, ind: Indicator) -> pd.DataFrame:
    """Per row: eligible, has_data, success and value columns for the indicator."""
    eligible = _mask(frame, ind.where)
    success = pd.Series(np.nan, index=frame.index, dtype="Float64")
    value = pd.Series(np.nan, index=frame.index, dtype="Float64")
    if ind.kind == "count":
        has = frame[ind.distinct].notna() if ind.distinct else pd.Series(True, index=frame.index)
    elif ind.kind == "proportion":
        needed = list(dict.fromkeys([*(c.column for c in ind.success), *ind.required]))
        has = frame[needed].notna().all(axis=1)
        success = _mask(frame, ind.success).astype("Float64")
    elif ind.kind == "mean_change":
        changes = pd.concat([_difference(frame, b, a) for b, a in ind.pairs], axis=1)
        value = changes.mean(axis=1, skipna=True).astype("Float64")
        has = value.notna()
    else:
        value = (
            _difference(frame, *ind.difference) if ind.difference else frame[ind.column]
        ).astype("Float64")
        has = value.notna()
    return pd.DataFrame(
        {
            "eligible": eligible,
            "has": has.astype(bool) & eligible,
            "success": success,
            "value": value,
        }
    )


def _aggregate(frame: pd.DataFrame, ind: Indicator, keys: list[str]) -> pd.DataFrame:
    """Numerator, denominator, value, completeness per group of ``keys`` for one indicator."""
    rows = pd.concat(
        [frame[keys].reset_index(drop=True), _row_values(frame, ind).reset_index(drop=True)], axis=1
    )
    if ind.distinct:
        rows["distinct"] = frame[ind.distinct].reset_index(drop=True)
    data = rows[rows["has"]]
    grouped = rows.groupby(keys, observed=True, dropna=False)
    base = grouped.agg(
        n_rows=("eligible", "size"), n_eligible=("eligible", "sum"), n_has=("has", "sum")
    )
    by_data = data.groupby(keys, observed=True, dropna=False)
    if ind.kind == "count":
        num = by_data["distinct"].nunique() if ind.distinct else by_data.size()
        out = base.assign(numerator=num, denominator=base["n_rows"])
        out["numerator"] = out["numerator"].fillna(0)
        out["value"] = out["numerator"]
    elif ind.kind == "sum":
        out = base.assign(numerator=by_data["value"].sum(), denominator=base["n_rows"])
        out["numerator"] = out["numerator"].fillna(0)
        out["value"] = out["numerator"]
    elif ind.kind == "proportion":
        out = base.assign(numerator=by_data["success"].sum(), denominator=base["n_has"])
        out["value"] = out["numerator"] / out["denominator"].where(out["denominator"] > 0)
    elif ind.kind == "median":
        out = base.assign(
            numerator=np.nan, denominator=base["n_has"], value=by_data["value"].median()
        )
    else:  # mean, mean_change
        out = base.assign(numerator=by_data["value"].sum(), denominator=base["n_has"])
        out["value"] = out["numerator"] / out["denominator"].where(out["denominator"] > 0)
    extensive = ind.kind in ("count", "sum")
    completeness = out["n_has"] / out["n_eligible"].where(out["n_eligible"] > 0)
    if extensive:  # nothing eligible (e.g. no training) is a complete record of zero
        completeness = completeness.where(out["n_eligible"] > 0, 1.0)
    return out.assign(completeness=completeness)[
        ["numerator", "denominator", "value", "completeness"]
    ]


def _grid(
    tables: Mapping[str, pd.DataFrame], service_id: str | None, year: int | None
) -> pd.DataFrame:
    """Every (service_id, year) with a submission in any indicator table, filtered."""
    pairs = (
        pd.concat(
            [load.table(tables, n)[["service_id", "year"]] for n in INDICATOR_TABLES],
            ignore_index=True,
        )
        .astype({"service_id": "string", "year": "Int64"})
        .drop_duplicates()
    )
    if service_id is not None:
        pairs = pairs[pairs["service_id"] == service_id]
    if year is not None:
        pairs = pairs[pairs["year"] == year]
    return pairs.sort_values(["service_id", "year"]).reset_index(drop=True)


def _keys(by: Sequence[str]) -> list[str]:
    unknown = [k for k in by if k not in ("service_id", "year")]
    if unknown:
        raise ParameterError(
            "indicators can be grouped by service_id and/or year only",
            column="by",
            allowed=["service_id", "year"],
            found=unknown,
        )
    return [k for k in ("service_id", "year") if k in by]


def _group_key(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Group columns: the ``keys`` plus a constant one, so pooled groups work the same way."""
    return frame.assign(_all=ALL_SERVICES)[["_all", *keys]]


def indicators(
    tables: Mapping[str, pd.DataFrame],
    *,
    framework: Framework | None = None,
    service_id: str | None = None,
    year: int | None = None,
    by: Sequence[str] = ("service_id", "year"),
) -> pd.DataFrame:
    """Every indicator of the framework per group (default: per service-year); columns :data:`INDICATOR_COLUMNS`.

    ``by=("year",)`` pools all services per year and ``by=()`` pools everything
    (``service_id`` is then ``"All services"`` and ``year`` null). Groups come from
    the service-years with a submission in any table, so a service-year lacking
    one table still gets that table's indicators, with no data.
    """
    fw = framework or load_framework()
    keys = _keys(by)
    grid = _grid(tables, service_id, year)
    groups = (
        _group_key(grid, keys).assign(n_service_years=1)
        .groupby(["_all", *keys], observed=True, dropna=False)["n_service_years"].sum()
    )  # fmt: skip
    parts = []
    for name in dict.fromkeys(i.table for _, i in fw.indicators):
        frame = load.table(tables, name).astype({"service_id": "string", "year": "Int64"})
        frame = frame.merge(grid, on=["service_id", "year"], how="inner")
        frame = pd.concat([_group_key(frame, keys), frame.drop(columns=keys)], axis=1)
        for outcome, ind in ((o, i) for o, i in fw.indicators if i.table == name):
            agg = _aggregate(frame, ind, ["_all", *keys]).reindex(groups.index)
            parts.append(_describe(agg, groups, fw, outcome, ind))
    out = pd.concat(parts).reset_index()
    out = out.assign(service_id=out["service_id"] if "service_id" in keys else ALL_SERVICES)
    out = out.assign(year=out["year"] if "year" in keys else pd.NA)
    order = {i.id: n for n, (_, i) in enumerate(fw.indicators)}
    return (
        out.assign(_order=out["indicator_id"].map(order))
        .sort_values(["service_id", "year", "_order"], na_position="last")
        .loc[:, list(INDICATOR_COLUMNS)]
        .astype(_OUTPUT_DTYPES)
        .reset_index(drop=True)
    )


_OUTPUT_DTYPES: Mapping[str, Any] = MappingProxyType(
    {
        "service_id": "string", "year": "Int64", "impact_area_id": "Int64", "impact_area": "string",
        "outcome_id": "Int64", "outcome": "string", "indicator_id": "string", "indicator": "string",
        "kind": "string", "numerator": "Float64", "denominator": "Float64", "value": "Float64",
        "unit": "string", "direction": "string", "target": "Float64", "completeness": "Float64",
        "n_units": "Int64", "n_label": "string", "min_n": "Int64", "n_service_years": "Int64",
        "enough_data": "bool", "meets_threshold": "boolean",
    }
)  # fmt: skip


def _describe(
    agg: pd.DataFrame, groups: pd.Series, fw: Framework, outcome: Outcome, ind: Indicator
) -> pd.DataFrame:
    """Add the outcome and indicator labels, the target, enough_data and meets_threshold."""
    n_sy = groups.astype("Int64")
    scale = n_sy if ind.kind in fw.rule.scale_targets_for_kinds else pd.Series(1, index=n_sy.index)
    target = (ind.target * scale).astype("Float64")
    n_units = agg["denominator"].fillna(0).astype("Int64")
    min_n = fw.min_n(ind)
    enough = (
        n_units.ge(min_n) & n_units.gt(0) & agg["completeness"].ge(fw.rule.min_completeness)
    ).fillna(False)
    value = agg["value"].astype("Float64")
    meets = value.ge(target) if ind.direction == "higher" else value.le(target)
    return agg.assign(
        impact_area_id=outcome.impact_area_id, impact_area=outcome.impact_area, outcome_id=outcome.id,
        outcome=outcome.name, indicator_id=ind.id, indicator=ind.label, kind=ind.kind, unit=ind.unit,
        direction=ind.direction, target=target, n_units=n_units,
        n_label=ind.n_label or TABLE_UNITS[ind.table], min_n=min_n, n_service_years=n_sy,
        enough_data=enough.astype(bool), meets_threshold=meets.astype("boolean").where(enough.astype(bool)),
    )  # fmt: skip


def programme_indicators(
    tables: Mapping[str, pd.DataFrame], *, framework: Framework | None = None
) -> pd.DataFrame:
    """Every indicator pooled over all services, per year and over all years (``year`` null), for cross-site reports."""
    fw = framework or load_framework()
    return pd.concat(
        [indicators(tables, framework=fw, by=("year",)), indicators(tables, framework=fw, by=())],
        ignore_index=True,
    )
