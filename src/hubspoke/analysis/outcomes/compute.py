"""Computing the framework's indicators from the processed tables, per service-year or pooled.

Each indicator is computed vectorised over its table: rows are filtered by the
indicator's conditions, reduced to per-row values, then aggregated per group
(numerator, denominator, value, completeness) with the value's confidence interval
(:mod:`hubspoke.analysis.outcomes.intervals`). Targets of counts and sums are scaled
by the size the framework declares (service-years, Spoke workers in post, children
living in the areas covered, young people). Each row also says whether the group had
enough data, whether the value meets its target (the level) and whether it shows
progress on a baseline: the start of support for indicators that measure change, the
service's first year for the others. :mod:`hubspoke.analysis.outcomes.rate` turns
these into ratings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from hubspoke import load
from hubspoke.analysis.outcomes.framework import (
    INDICATOR_TABLES,
    SIZE_UNITS,
    TABLE_UNITS,
    Condition,
    Framework,
    Indicator,
    Outcome,
    load_framework,
)
from hubspoke.analysis.outcomes.intervals import (
    cluster_bootstrap_median,
    cluster_ratio_interval,
    median_interval,
    poisson_interval,
    t_interval,
    wilson_interval,
)
from hubspoke.errors import ParameterError
from hubspoke.load import ALL_SERVICES

#: Columns of the indicator table, in order.
INDICATOR_COLUMNS: tuple[str, ...] = (
    "service_id", "year", "impact_area_id", "impact_area", "outcome_id", "outcome",
    "indicator_id", "indicator", "kind", "numerator", "denominator", "value", "unit",
    "direction", "target", "completeness", "n_units", "n_label", "min_n",
    "n_service_years", "enough_data", "meets_threshold",
    "ci_low", "ci_high", "ci_method", "basis", "veto", "target_per", "target_per_unit",
    "size", "scaled_value", "baseline_year", "progress_year", "baseline_value", "progress",
    "progress_status", "veto_met",
)  # fmt: skip

#: Words of ``progress_status`` ("sustained": met its target in the first year and still does).
PROGRESS_STATUSES: tuple[str, ...] = (
    "met", "sustained", "not met", "not enough data", "no baseline (first year)",
    "no baseline (pooled over services)",
)  # fmt: skip
#: The statuses of an indicator with no baseline to judge progress on.
NO_BASELINE: tuple[str, ...] = PROGRESS_STATUSES[-2:]


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


@dataclass(frozen=True)
class _Groups:
    """The rows of one table by group: a code per row (0..n-1), and the groups' index.

    ``service`` codes each row's service, so pooled groups can be split by service.
    """

    codes: np.ndarray
    index: pd.Index
    service: np.ndarray
    n_services: int
    pooled: bool

    @classmethod
    def of(cls, frame: pd.DataFrame, keys: list[str]) -> _Groups:
        grouped = frame.groupby(keys, observed=True, dropna=False, sort=True)
        service, uniques = pd.factorize(frame["service_id"].astype(str))
        return cls(
            codes=grouped.ngroup().to_numpy(),
            index=grouped.size().index,
            service=np.asarray(service),
            n_services=len(uniques),
            pooled="service_id" not in keys,
        )

    @property
    def n(self) -> int:
        return len(self.index)

    def count(self, mask: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        """Per group, the rows of ``mask`` (or the sum of their ``weights``)."""
        w = None if weights is None else weights[mask]
        return np.bincount(self.codes[mask], weights=w, minlength=self.n).astype(float)

    def arrays(self, mask: np.ndarray, values: np.ndarray) -> dict[int, np.ndarray]:
        """Per group code, the values of the ``mask`` rows."""
        codes = self.codes[mask]
        vals = values[mask]
        if len(codes) == 0:
            return {}
        order = np.argsort(codes, kind="stable")
        bounds = np.flatnonzero(np.diff(codes[order])) + 1
        pieces = np.split(vals[order], bounds)
        firsts = np.unique(codes[order])
        return {int(c): piece for c, piece in zip(firsts, pieces, strict=True)}

    def by_service(
        self, mask: np.ndarray, values: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per group (rows) and service (columns): sums of ``values`` (or rows) and rows of ``mask``."""
        code = self.codes[mask] * self.n_services + self.service[mask]
        size = self.n * self.n_services
        total = np.bincount(code, weights=None if values is None else values[mask], minlength=size)
        rows = np.bincount(code, minlength=size)
        shape = (self.n, self.n_services)
        return total.reshape(shape).astype(float), rows.reshape(shape).astype(float)


def _distinct(values: pd.Series, groups: _Groups, has: np.ndarray) -> np.ndarray:
    """Per group, the different values among the ``has`` rows."""
    pairs = pd.DataFrame({"g": groups.codes[has], "v": values.to_numpy()[has]}).drop_duplicates()
    return np.bincount(pairs["g"].to_numpy(dtype=int), minlength=groups.n).astype(float)


def _aggregate(
    frame: pd.DataFrame, ind: Indicator, groups: _Groups, *, level: float
) -> pd.DataFrame:
    """Numerator, denominator, value, completeness and the value's interval per group."""
    per_row = _row_values(frame, ind)
    eligible = per_row["eligible"].to_numpy(dtype=bool)
    has = per_row["has"].to_numpy(dtype=bool)
    value = per_row["value"].astype(float).to_numpy()
    success = per_row["success"].astype(float).to_numpy()
    n_rows = np.bincount(groups.codes, minlength=groups.n).astype(float)
    n_eligible, n_has = groups.count(eligible), groups.count(has)
    with np.errstate(invalid="ignore", divide="ignore"):
        if ind.kind == "count":
            numerator = _distinct(frame[ind.distinct], groups, has) if ind.distinct else n_has
            denominator, result = n_rows, numerator
        elif ind.kind == "sum":
            numerator = groups.count(has, np.nan_to_num(value))
            denominator, result = n_rows, numerator
        elif ind.kind == "proportion":  # no one with the data: no numerator (not 0)
            numerator, denominator = groups.count(has, np.nan_to_num(success)), n_has
            numerator = np.where(denominator > 0, numerator, np.nan)
            result = np.where(denominator > 0, numerator / denominator, np.nan)
        elif ind.kind == "median":
            arrays = groups.arrays(has, value)
            numerator, denominator = np.full(groups.n, np.nan), n_has
            result = np.array(
                [np.median(arrays[g]) if g in arrays else np.nan for g in range(groups.n)]
            )
        else:  # mean, mean_change
            numerator, denominator = groups.count(has, np.nan_to_num(value)), n_has
            numerator = np.where(denominator > 0, numerator, np.nan)
            result = np.where(denominator > 0, numerator / denominator, np.nan)
        completeness = np.where(n_eligible > 0, n_has / n_eligible, np.nan)
    if ind.kind in ("count", "sum"):  # nothing eligible (no training): a complete record of 0
        completeness = np.where(n_eligible > 0, completeness, 1.0)
    out = pd.DataFrame(
        {"numerator": numerator, "denominator": denominator, "value": result,
         "completeness": completeness},
        index=groups.index,
    )  # fmt: skip
    low, high, method = _interval(out, ind, groups, has, value, success, level=level)
    return out.assign(ci_low=low, ci_high=high, ci_method=method)


def _interval(
    out: pd.DataFrame,
    ind: Indicator,
    groups: _Groups,
    has: np.ndarray,
    value: np.ndarray,
    success: np.ndarray,
    *,
    level: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The value's interval per group, and the method's name (see :mod:`.intervals`).

    Groups pooling several services use the clustered intervals for ratios and
    medians; counts are Poisson whatever the grouping.
    """
    n = groups.n
    if ind.kind in ("count", "sum"):
        low_s, high_s = poisson_interval(out["value"], level=level)
        low, high, name = low_s.to_numpy(), high_s.to_numpy(), "exact Poisson"
    elif ind.kind == "proportion":
        low_s, high_s = wilson_interval(out["numerator"], out["denominator"], level=level)
        low, high, name = low_s.to_numpy(), high_s.to_numpy(), "Wilson"
    elif ind.kind == "median":
        arrays = groups.arrays(has, value)
        bounds = [
            median_interval(arrays[g], level=level) if g in arrays else (np.nan, np.nan)
            for g in range(n)
        ]
        low, high, name = (
            np.array([b[0] for b in bounds]),
            np.array([b[1] for b in bounds]),
            "order statistics",
        )
    else:
        mean = out["value"].to_numpy(dtype=float)
        centred = np.where(has, value - mean[groups.codes], 0.0)
        squares = groups.count(has, np.nan_to_num(centred) ** 2)
        with np.errstate(invalid="ignore", divide="ignore"):
            sd = np.sqrt(squares / (out["denominator"].to_numpy(dtype=float) - 1))
        low_s, high_s = t_interval(
            out["value"], pd.Series(sd, index=out.index), out["denominator"], level=level
        )
        low, high, name = low_s.to_numpy(), high_s.to_numpy(), "t"
    method = np.full(n, name, dtype=object)
    if groups.pooled and ind.kind not in ("count", "sum"):
        low, high, method = _clustered(
            ind, groups, has, value, success, (low, high, method), level=level
        )
    missing = out["value"].isna().to_numpy() | np.isnan(low)
    return (
        np.where(missing, np.nan, low),
        np.where(missing, np.nan, high),
        np.where(missing, "none", method),
    )


def _clustered(
    ind: Indicator,
    groups: _Groups,
    has: np.ndarray,
    value: np.ndarray,
    success: np.ndarray,
    simple: tuple[np.ndarray, np.ndarray, np.ndarray],
    *,
    level: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Intervals of groups pooling 2 or more services with data, with services as the unit.

    A ratio's interval is the cluster-robust one widened, where narrower, to the one
    treating units as independent; a median's is the cluster bootstrap.
    """
    low, high, method = (a.copy() for a in simple)
    if ind.kind == "median":
        for g in range(groups.n):
            mask = has & (groups.codes == g)
            arrays = [value[mask & (groups.service == k)] for k in range(groups.n_services)]
            arrays = [a for a in arrays if len(a)]
            if len(arrays) >= 2:
                low[g], high[g] = cluster_bootstrap_median(arrays, level=level)
                method[g] = "cluster bootstrap (services)"
        return low, high, method
    num, den = groups.by_service(has, np.nan_to_num(success if ind.kind == "proportion" else value))
    for g in range(groups.n):
        lo, hi, k = cluster_ratio_interval(
            pd.DataFrame({"num": num[g], "den": den[g]}), level=level
        )
        if k >= 2:
            if ind.kind == "proportion":
                lo, hi = max(lo, 0.0), min(hi, 1.0)
            # never narrower than the interval treating units as independent (services
            # that all agree give the clustered variance 0)
            low[g], high[g] = np.fmin(lo, low[g]), np.fmax(hi, high[g])
            method[g] = "cluster-robust (services)"
    return low, high, method


# --------------------------------------------------------------------------- sizes
def _spoke_workers(tables: Mapping[str, pd.DataFrame], grid: pd.DataFrame) -> pd.Series:
    """Spoke workers in post each service-year (Spoke rows started by then, else the service's n_spokes)."""
    spokes = load.table(tables, "spokes")
    posts = pd.DataFrame(
        {
            "service_id": spokes["service_id"].astype("string"),
            "start": spokes["start_year"].astype("Int64"),
        }
    )
    pairs = grid[["service_id", "year"]].reset_index(drop=True)
    in_post = (
        pairs.merge(posts, on="service_id", how="left")
        .assign(counted=lambda d: d["start"].le(d["year"]).fillna(False).astype(int))
        .groupby(["service_id", "year"], observed=True)["counted"].sum()
    )  # fmt: skip
    services = load.table(tables, "services")
    declared = pd.Series(
        pd.to_numeric(services["n_spokes"], errors="coerce").astype(float).to_numpy(),
        index=services["service_id"].astype(str).to_numpy(),
    )
    counted = pd.Series(
        [in_post.get((s, y), 0) for s, y in zip(pairs["service_id"], pairs["year"], strict=True)],
        dtype=float,
    )
    fallback = pairs["service_id"].astype(str).map(declared).astype(float)
    return counted.where(counted > 0, fallback).where(lambda v: v > 0)


def _children(tables: Mapping[str, pd.DataFrame], grid: pd.DataFrame) -> pd.Series:
    """Child population of each service-year's areas, for the context year nearest the year.

    As the cross-site referral model finds it: every area of the service must have a
    population that year; NaN when the context table or an area is missing.
    """
    pairs = grid[["service_id", "year"]].reset_index(drop=True)
    context = tables.get("context")
    none = pd.Series(np.nan, index=pairs.index)
    if context is None or context.empty or "population" not in context:
        return none
    pop = pd.DataFrame(
        {
            "la_code": context["la_code"].astype(str).to_numpy(),
            "context_year": pd.to_numeric(context["year"], errors="coerce").to_numpy(),
            "population": pd.to_numeric(context["population"], errors="coerce").to_numpy(),
        }
    ).dropna()
    services = load.table(tables, "services")
    codes = {
        str(sid): {c.strip() for c in str(las).split(";") if c.strip()}
        for sid, las in zip(services["service_id"], services["la_codes"], strict=True)
        if pd.notna(las)
    }
    out = []
    for sid, year in zip(pairs["service_id"], pairs["year"], strict=True):
        areas = codes.get(str(sid), set())
        have = pop.loc[pop["la_code"].isin(areas)]
        years = have.groupby("context_year")["la_code"].nunique()
        complete = years[years.eq(len(areas))].index
        if not areas or len(complete) == 0 or pd.isna(year):
            out.append(np.nan)
            continue
        nearest = min(complete, key=lambda y: (abs(y - int(year)), y))
        total = float(have.loc[have["context_year"].eq(nearest), "population"].sum())
        out.append(total if total > 0 else np.nan)
    return pd.Series(out, index=pairs.index, dtype=float)


def _young_people(tables: Mapping[str, pd.DataFrame], grid: pd.DataFrame) -> pd.Series:
    """Different young people with a case record each service-year (NaN when none)."""
    cases = load.table(tables, "cases")
    people = (
        pd.DataFrame(
            {
                "service_id": cases["service_id"].astype("string"),
                "year": cases["year"].astype("Int64"),
                "person": cases["young_person_id"],
            }
        )
        .dropna(subset=["person"])
        .groupby(["service_id", "year"], observed=True)["person"]
        .nunique()
    )
    pairs = grid[["service_id", "year"]].reset_index(drop=True)
    counts = [
        people.get((s, y), 0) for s, y in zip(pairs["service_id"], pairs["year"], strict=True)
    ]
    return pd.Series(counts, index=pairs.index, dtype=float).where(lambda v: v > 0)


def _sizes(tables: Mapping[str, pd.DataFrame], grid: pd.DataFrame) -> pd.DataFrame:
    """Per service-year of ``grid``: its size in each of :data:`SIZE_UNITS` (NaN where unknown)."""
    out = grid[["service_id", "year"]].reset_index(drop=True)
    return out.assign(
        **{
            "service-year": 1.0,
            "Spoke worker": _spoke_workers(tables, grid),
            "10,000 children": _children(tables, grid) / 10_000,
            "young person": _young_people(tables, grid),
        }
    )


def _known_sum(values: pd.Series) -> float:
    """The sum, or NaN when any part is unknown (a pooled size needs every service-year's)."""
    return float(values.sum()) if values.notna().all() else np.nan


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
    service_years: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Every indicator of the framework per group (default: per service-year); columns :data:`INDICATOR_COLUMNS`.

    ``by=("year",)`` pools all services per year and ``by=()`` pools everything
    (``service_id`` is then ``"All services"`` and ``year`` null). Groups come from
    the service-years with a submission in any table, so a service-year lacking
    one table still gets that table's indicators, with no data.

    Besides the level (``value`` with ``ci_low``/``ci_high``, against ``target``
    scaled by ``size`` units of ``target_per``), each row says whether it shows progress
    (``progress``, ``progress_status``): an indicator of ``basis`` "change" when it
    meets its target; a "level" indicator when ``scaled_value`` (value per size unit)
    improved on the service's first year (``baseline_year``, ``baseline_value``) by at
    least its ``min_change``, compared in ``progress_year`` (the year, or pooled over a
    service's years, its latest). A service's first year, and groups pooling services,
    have no baseline for level indicators.

    ``service_years``: this function's default result (every service-year, same
    ``framework``), when the caller has it already; groups by service then reuse it
    instead of computing every service-year again.
    """
    fw = framework or load_framework()
    keys = _keys(by)
    grid = _grid(tables, service_id, year)
    if service_years is not None and keys == ["service_id", "year"]:
        return _chosen(service_years, grid)
    if "service_id" in keys:
        full = _grid(tables, service_id, None)
        full = full[full["service_id"].isin(set(grid["service_id"]))].reset_index(drop=True)
        yearly = (
            _level_table(tables, fw, full, ["service_id", "year"])
            if service_years is None
            else service_years
        )
        if keys == ["service_id", "year"]:  # the service-years asked for, out of every year's
            chosen = grid[["service_id", "year"]].astype({"service_id": str, "year": "Int64"})
            out = yearly.astype({"service_id": str, "year": "Int64"}).merge(
                chosen, on=["service_id", "year"], how="inner"
            )
        else:
            out = _level_table(tables, fw, grid, keys)
        out = _progress(out, yearly, full, grid, fw, by_year="year" in keys)
    else:
        out = _progress(_level_table(tables, fw, grid, keys), None, grid, grid, fw, by_year=False)
    order = {i.id: n for n, (_, i) in enumerate(fw.indicators)}
    return (
        out.assign(_order=out["indicator_id"].map(order))
        .sort_values(["service_id", "year", "_order"], na_position="last")
        .loc[:, list(INDICATOR_COLUMNS)]
        .astype(_OUTPUT_DTYPES)
        .reset_index(drop=True)
    )


def _chosen(service_years: pd.DataFrame, grid: pd.DataFrame) -> pd.DataFrame:
    """The rows of an every-service-year indicator table that fall in ``grid``, in order.

    A service-year's indicators (and its progress on its first year) do not depend on
    the other service-years computed with it, so these are the rows of the chosen ones.
    """
    chosen = pd.MultiIndex.from_frame(grid[["service_id", "year"]].astype(object))
    rows = pd.MultiIndex.from_arrays(
        [service_years["service_id"].astype(object), service_years["year"].astype(object)]
    )
    return service_years.loc[rows.isin(chosen)].reset_index(drop=True)


def _level_table(
    tables: Mapping[str, pd.DataFrame], fw: Framework, grid: pd.DataFrame, keys: list[str]
) -> pd.DataFrame:
    """Every indicator per group of ``keys`` over the service-years of ``grid``: values and levels."""
    group_cols = ["_all", *keys]
    groups = (
        _group_key(grid, keys).assign(n_service_years=1)
        .groupby(group_cols, observed=True, dropna=False)["n_service_years"].sum()
    )  # fmt: skip
    sized = _sizes(tables, grid)
    sizes = (
        pd.concat([_group_key(sized, keys), sized[list(SIZE_UNITS)]], axis=1)
        .groupby(group_cols, observed=True, dropna=False)[list(SIZE_UNITS)]
        .agg(_known_sum)
        .reindex(groups.index)
    )
    parts = []
    for name in dict.fromkeys(i.table for _, i in fw.indicators):
        frame = load.table(tables, name).astype({"service_id": "string", "year": "Int64"})
        frame = frame.merge(grid, on=["service_id", "year"], how="inner")
        frame = pd.concat([_group_key(frame, keys), frame.drop(columns=keys)], axis=1)
        frame = frame.reset_index(drop=True)
        rows = _Groups.of(frame, group_cols)
        for outcome, ind in ((o, i) for o, i in fw.indicators if i.table == name):
            agg = _aggregate(frame, ind, rows, level=fw.rule.ci_level).reindex(groups.index)
            parts.append(_describe(agg, groups, sizes, fw, outcome, ind))
    out = pd.concat(parts).reset_index()
    out = out.assign(service_id=out["service_id"] if "service_id" in keys else ALL_SERVICES)
    return out.assign(year=out["year"] if "year" in keys else pd.NA).drop(columns="_all")


_OUTPUT_DTYPES: Mapping[str, Any] = MappingProxyType(
    {
        "service_id": "string", "year": "Int64", "impact_area_id": "Int64", "impact_area": "string",
        "outcome_id": "Int64", "outcome": "string", "indicator_id": "string", "indicator": "string",
        "kind": "string", "numerator": "Float64", "denominator": "Float64", "value": "Float64",
        "unit": "string", "direction": "string", "target": "Float64", "completeness": "Float64",
        "n_units": "Int64", "n_label": "string", "min_n": "Int64", "n_service_years": "Int64",
        "enough_data": "bool", "meets_threshold": "boolean",
        "ci_low": "Float64", "ci_high": "Float64", "ci_method": "string", "basis": "string",
        "veto": "bool", "target_per": "string", "target_per_unit": "Float64", "size": "Float64",
        "scaled_value": "Float64", "baseline_year": "Int64", "progress_year": "Int64",
        "baseline_value": "Float64", "progress": "boolean", "progress_status": "string",
        "veto_met": "boolean",
    }
)  # fmt: skip


def _describe(
    agg: pd.DataFrame,
    groups: pd.Series,
    sizes: pd.DataFrame,
    fw: Framework,
    outcome: Outcome,
    ind: Indicator,
) -> pd.DataFrame:
    """Add the labels, the scaled target, enough_data and meets_threshold.

    The target of a kind the rule scales is per ``target_per`` unit, multiplied by the
    group's size in those units (service-years by default); an unknown size leaves the
    target unknown and the indicator without enough data to judge.
    """
    n_sy = groups.astype("Int64")
    scaled = ind.kind in fw.rule.scale_targets_for_kinds
    size = (
        sizes[ind.target_per].astype("Float64")
        if scaled
        else pd.Series(1.0, index=n_sy.index, dtype="Float64")
    )
    target = (ind.target * size).astype("Float64")
    value = agg["value"].astype("Float64")
    n_units = agg["denominator"].fillna(0).astype("Int64")
    min_n = fw.min_n(ind)
    enough = (
        (
            n_units.ge(min_n)
            & n_units.gt(0)
            & agg["completeness"].ge(fw.rule.min_completeness)
            & target.notna()
        )
        .fillna(False)
        .astype(bool)
    )
    meets = value.ge(target) if ind.direction == "higher" else value.le(target)
    return agg.assign(
        impact_area_id=outcome.impact_area_id, impact_area=outcome.impact_area, outcome_id=outcome.id,
        outcome=outcome.name, indicator_id=ind.id, indicator=ind.label, kind=ind.kind, unit=ind.unit,
        direction=ind.direction, target=target, n_units=n_units,
        n_label=ind.n_label or TABLE_UNITS[ind.table], min_n=min_n, n_service_years=n_sy,
        enough_data=enough, meets_threshold=meets.astype("boolean").where(enough),
        basis=ind.basis, veto=ind.veto, target_per=ind.target_per if scaled else "none",
        target_per_unit=ind.target, size=size,
        scaled_value=(value / size.where(size > 0)).astype("Float64"),
    )  # fmt: skip


# --------------------------------------------------------------------------- progress
def _progress(
    out: pd.DataFrame,
    yearly: pd.DataFrame | None,
    full: pd.DataFrame,
    grid: pd.DataFrame,
    fw: Framework,
    *,
    by_year: bool,
) -> pd.DataFrame:
    """Add baseline_year, progress_year, baseline_value, progress, progress_status and veto_met.

    ``yearly``: the indicators per service-year over ``full`` (every year of the
    services in ``grid``), or None when groups pool services (no baseline then). A
    level indicator that met its target in the first year and still does is
    "sustained" (progress) when the rule says so. ``veto_met`` (veto indicators only)
    is the target met in ``progress_year``: the year, or a service's latest year when
    its years are pooled, so a core element not started at the end holds the rating.
    """
    change = out["basis"].eq("change")
    enough = out["enough_data"].astype(bool)
    meets = out["meets_threshold"].astype("boolean")
    status = pd.Series(NO_BASELINE[1], index=out.index, dtype=object)
    progress = pd.Series(pd.NA, index=out.index, dtype="boolean")
    base_year = pd.Series(pd.NA, index=out.index, dtype="Int64")
    cmp_year = (
        out["year"].astype("Int64") if by_year else pd.Series(pd.NA, index=out.index, dtype="Int64")
    )
    base_value = pd.Series(np.nan, index=out.index, dtype=float)
    veto_met = meets.copy()
    if yearly is not None:
        first = full.groupby("service_id")["year"].min()
        latest = grid.groupby("service_id")["year"].max()
        sid = out["service_id"].astype(str)
        base_year = sid.map(first).astype("Int64")
        if not by_year:
            cmp_year = sid.map(latest).astype("Int64")
        lookup = yearly.astype({"service_id": str, "year": "Int64"}).set_index(
            ["service_id", "year", "indicator_id"]
        )
        base = _take(lookup, sid, base_year, out["indicator_id"])
        now = _take(lookup, sid, cmp_year, out["indicator_id"])
        base_value = base["scaled_value"]
        sign = np.where(out["direction"].eq("higher"), 1.0, -1.0)
        gain = (now["scaled_value"] - base["scaled_value"]) * sign
        need = out["indicator_id"].map({i.id: i.min_change for _, i in fw.indicators}).astype(float)
        improved = gain.ge(need - 1e-12).where(need > 0, gain.gt(1e-12)).astype(bool)
        sustained = base["meets"] & now["meets"] & fw.rule.sustained_is_progress
        both = now["enough_data"] & base["enough_data"] & gain.notna()
        first_year = cmp_year.eq(base_year).fillna(False).astype(bool)
        status = pd.Series(
            np.select(
                [first_year, ~both, improved, sustained],
                [NO_BASELINE[0], "not enough data", "met", "sustained"],
                "not met",
            ),
            index=out.index,
            dtype=object,
        )
        progress = (improved | sustained).astype("boolean").where(both & ~first_year)
        if not by_year:
            veto_met = now["meets"].astype("boolean").where(now["enough_data"])
    change_status = np.where(
        ~enough, "not enough data", np.where(meets.fillna(False), "met", "not met")
    )
    status = status.where(~change, change_status)
    progress = progress.where(~change, meets.where(enough))
    return out.assign(
        baseline_year=base_year.where(~change),
        progress_year=cmp_year,
        baseline_value=base_value.where(~change),
        progress=progress,
        progress_status=status,
        veto_met=veto_met.where(out["veto"].astype(bool)),
    )


def _take(
    lookup: pd.DataFrame, sid: pd.Series, year: pd.Series, indicator: pd.Series
) -> pd.DataFrame:
    """Rows of ``lookup`` (service, year, indicator) for each output row: scaled_value, enough_data, meets."""
    index = pd.MultiIndex.from_arrays(
        [sid.to_numpy(), year.astype("Int64").to_numpy(), indicator.astype(str).to_numpy()]
    )
    got = lookup.reindex(index)[["scaled_value", "enough_data", "meets_threshold"]]
    return pd.DataFrame(
        {
            "scaled_value": pd.to_numeric(got["scaled_value"], errors="coerce")
            .astype(float)
            .to_numpy(),
            "enough_data": got["enough_data"]
            .astype("boolean")
            .fillna(False)
            .astype(bool)
            .to_numpy(),
            "meets": got["meets_threshold"].astype("boolean").fillna(False).astype(bool).to_numpy(),
        },
        index=sid.index,
    )


def programme_indicators(
    tables: Mapping[str, pd.DataFrame], *, framework: Framework | None = None
) -> pd.DataFrame:
    """Every indicator pooled over all services, per year and over all years (``year`` null), for cross-site reports."""
    fw = framework or load_framework()
    return pd.concat(
        [indicators(tables, framework=fw, by=("year",)), indicators(tables, framework=fw, by=())],
        ignore_index=True,
    )
