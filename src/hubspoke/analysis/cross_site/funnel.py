"""Funnel plots: each service's proportion against the pooled one, with control limits by sample size.

A funnel plot compares services without ranking them: limits narrow as n grows, so a
small service is not flagged for what is only chance. Disclosure: a funnel point reveals
its numerator (proportion x n), so :func:`funnel_data` flags points whose numerator, or
n minus numerator, is 1-5 (or whose n is 5 or less) as ``suppressed`` (an analyst guide);
funder charts draw only the services the release shows (the ``funnel.*`` tables of
:func:`hubspoke.analysis.cross_site.cross_site_tables`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from hubspoke import config
from hubspoke.analysis.cross_site.summary import one_row_per_service
from hubspoke.errors import ParameterError
from hubspoke.load import service_order

#: Funnel limit levels drawn by default (Spiegelhalter 2005: roughly 2 and 3 standard deviations).
FUNNEL_LEVELS: tuple[float, ...] = (0.95, 0.998)


def _level_name(level: float) -> str:
    """0.95 -> ``"95"``, 0.998 -> ``"99_8"`` (for column names)."""
    return f"{level * 100:g}".replace(".", "_")


def funnel_limits(
    denominators: Sequence[float] | np.ndarray | pd.Series,
    *,
    p0: float,
    levels: Sequence[float] = FUNNEL_LEVELS,
    method: str = "exact",
) -> pd.DataFrame:
    """Control limits for a proportion around ``p0`` for each sample size n.

    ``method="exact"`` (default): exact binomial limits with the interpolation of
    Spiegelhalter (2005, "Funnel plots for comparing institutional performance",
    Stat Med 24:1185-1202, appendix A.1.1): for tail probability q, r = the q-quantile of
    Binomial(n, p0) (``scipy.stats.binom.ppf``), alpha = (F(r) - q) / (F(r) - F(r - 1)),
    limit = (r - alpha) / n. ``method="normal"``: p0 +/- z * sqrt(p0 (1 - p0) / n) with
    no continuity correction (Spiegelhalter's normal approximation). Limits are clipped
    to [0, 1]. Columns: ``n, p0, lower_95, upper_95, lower_99_8, upper_99_8`` (one pair
    per level, two-sided).
    """
    if method not in {"exact", "normal"}:
        raise ParameterError(
            "unknown funnel limit method",
            column="method",
            allowed=["exact", "normal"],
            found=method,
        )
    if not 0 < p0 < 1:
        raise ParameterError(
            "p0 must be a proportion strictly between 0 and 1", column="p0", found=p0
        )
    n = np.asarray(denominators, dtype=float)
    out = {"n": n, "p0": np.full(n.shape, float(p0))}
    for level in levels:
        tail = (1 - level) / 2
        for side, q in (("lower", tail), ("upper", 1 - tail)):
            out[f"{side}_{_level_name(level)}"] = (
                _exact_limit(n, p0, q) if method == "exact" else _normal_limit(n, p0, q)
            )
    return pd.DataFrame(out)


def _normal_limit(n: np.ndarray, p0: float, q: float) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        limit = p0 + stats.norm.ppf(q) * np.sqrt(p0 * (1 - p0) / n)
    return np.where(n > 0, np.clip(limit, 0, 1), np.nan)


def _exact_limit(n: np.ndarray, p0: float, q: float) -> np.ndarray:
    whole = np.where(n > 0, np.round(n), 1)
    r = stats.binom.ppf(q, whole, p0)
    f_r = stats.binom.cdf(r, whole, p0)
    f_below = stats.binom.cdf(r - 1, whole, p0)
    alpha = np.where(f_r > f_below, (f_r - q) / np.where(f_r > f_below, f_r - f_below, 1), 0.0)
    return np.where(n > 0, np.clip((r - alpha) / whole, 0, 1), np.nan)


def _flag(row: pd.Series, levels: Sequence[float]) -> str:
    """Which limits a proportion falls outside (the widest one it crosses)."""
    if pd.isna(row["proportion"]):
        return "no data"
    for level in sorted(levels, reverse=True):
        name = _level_name(level)
        label = f"{level * 100:g}%"
        if row["proportion"] > row[f"upper_{name}"]:
            return f"above {label}"
        if row["proportion"] < row[f"lower_{name}"]:
            return f"below {label}"
    return "within"


def is_small(count: pd.Series, *, threshold: int = config.SUPPRESSION_THRESHOLD) -> pd.Series:
    """True where a count is from 1 to ``threshold`` (0 is shown: it discloses nobody)."""
    values = pd.to_numeric(count, errors="coerce").astype(float)
    return values.ge(1) & values.le(threshold)


def funnel_data(
    summary: pd.DataFrame,
    *,
    numerator: str,
    denominator: str,
    levels: Sequence[float] = FUNNEL_LEVELS,
    method: str = "exact",
    threshold: int = config.SUPPRESSION_THRESHOLD,
) -> pd.DataFrame:
    """Each service's proportion against the pooled proportion p0 and its control limits.

    One row per service (pooled rows of a ``year="all"`` summary), fixed service order.
    Columns: ``service_id, numerator, n, proportion, p0`` (sum of numerators / sum of
    n over all services), the limits of :func:`funnel_limits`, ``flag`` (``within``,
    ``above 95%``, ``above 99.8%``, ``below 95%``, ``below 99.8%`` or ``no data``) and
    ``suppressed`` (numerator or n - numerator from 1 to ``threshold``, or n <= threshold:
    the point would reveal a small count, so charts leave it out). ``attrs["p0"]`` is p0.
    """
    for col in (numerator, denominator):
        if col not in summary.columns:
            raise ParameterError(
                "column not in the summary", column=col, allowed=list(summary.columns)
            )
    rows = one_row_per_service(summary)
    data = pd.DataFrame(
        {
            "service_id": rows["service_id"].astype(str).to_numpy(),
            "numerator": pd.to_numeric(rows[numerator]).astype(float).to_numpy(),
            "n": pd.to_numeric(rows[denominator]).astype(float).to_numpy(),
        }
    )
    total_n = data["n"].sum()
    p0 = data["numerator"].sum() / total_n if total_n > 0 else math.nan
    data = data.assign(proportion=lambda d: d["numerator"] / d["n"].where(d["n"] > 0))
    if not 0 < p0 < 1:
        limits = pd.DataFrame(
            {f"{s}_{_level_name(lv)}": np.nan for lv in levels for s in ("lower", "upper")},
            index=data.index,
        ).assign(p0=p0)
    else:
        limits = funnel_limits(data["n"], p0=p0, levels=levels, method=method).drop(columns="n")
    out = pd.concat([data, limits], axis=1)
    out["flag"] = out.apply(_flag, axis=1, levels=levels) if len(out) else pd.Series(dtype=str)
    out["suppressed"] = (
        is_small(out["numerator"], threshold=threshold)
        | is_small(out["n"] - out["numerator"], threshold=threshold)
        | out["n"].le(threshold)
    )
    order = service_order(out["service_id"])
    out = out.set_index("service_id").loc[order].reset_index()
    out.attrs.update(
        p0=p0, levels=tuple(levels), method=method, numerator=numerator, denominator=denominator
    )
    return out
