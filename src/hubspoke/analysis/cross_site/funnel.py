"""Funnel plots: each service's proportion or rate against the programme's, with control limits by size.

A funnel plot compares services without ranking them: limits narrow as a service's
size grows, so a small service is not flagged for what is only chance. This module
computes the limits (exact binomial for proportions, exact Poisson for rates), checks
whether the services differ more than chance allows (over-dispersion) and widens the
limits when they do, flags each service and names the ones outside in a sentence.

References: Spiegelhalter DJ (2005a), "Funnel plots for comparing institutional
performance", Stat Med 24:1185-1202 (limits, appendix A.1.1); Spiegelhalter DJ (2005b),
"Handling over-dispersion of performance indicators", Qual Saf Health Care 14:347-351
(winsorised dispersion, multiplicative and additive random-effects limits; the
between-service variance by DerSimonian and Laird's method of moments).

Disclosure: a funnel point reveals its numerator (value x n), so :func:`funnel_data`
flags points whose numerator, or n minus numerator, is 1-5 (or whose n is 5 or less)
as ``suppressed`` (an analyst guide); funder charts draw only the services the release
shows (:mod:`hubspoke.present.plotting.cross_site`), and compute the over-dispersion
from those services only, so neither a point nor a limit depends on a hidden count.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import pandas as pd

from hubspoke import config
from hubspoke.analysis.cross_site.summary import one_row_per_service
from hubspoke.errors import ParameterError
from hubspoke.load import service_order

#: Funnel limit levels drawn by default (Spiegelhalter 2005: roughly 2 and 3 standard deviations).
FUNNEL_LEVELS: tuple[float, ...] = (0.95, 0.998)
#: What a funnel compares: a share of a group (binomial) or events per unit of exposure (Poisson).
FUNNEL_KINDS: Final = ("proportion", "rate")
#: How limits are widened when the services are over-dispersed (``"none"``: never widened).
OVERDISPERSION_METHODS: Final = ("additive", "multiplicative", "none")
#: The default: additive random effects (see :func:`overdispersion`).
DEFAULT_OVERDISPERSION: Final = "additive"
#: Share of z-scores winsorised in each tail before estimating the dispersion (Spiegelhalter: 10%).
WINSORISE_SHARE: Final = 0.1
#: Significance level of the chi-square test of over-dispersion; limits widen only below it.
OVERDISPERSION_ALPHA: Final = 0.05
#: Fewest services with data for the dispersion to be estimated at all.
MIN_DISPERSION_UNITS: Final = 5


def _level_name(level: float) -> str:
    """0.95 -> ``"95"``, 0.998 -> ``"99_8"`` (for column names)."""
    return f"{level * 100:g}".replace(".", "_")


def _level_label(level: float) -> str:
    """0.95 -> ``"95%"``, 0.998 -> ``"99.8%"``."""
    return f"{level * 100:g}%"


def _check_method(method: str) -> None:
    if method not in {"exact", "normal"}:
        raise ParameterError(
            "unknown funnel limit method",
            column="method",
            allowed=["exact", "normal"],
            found=method,
        )


def _check_kind(kind: str) -> None:
    if kind not in FUNNEL_KINDS:
        raise ParameterError("unknown funnel kind", column="kind", allowed=FUNNEL_KINDS, found=kind)


# --------------------------------------------------------------------------- over-dispersion
@dataclass(frozen=True)
class Dispersion:
    """Whether services differ more than chance allows, and how limits are widened.

    ``phi``: mean of the squared z-scores after winsorising (Spiegelhalter 2005b);
    ``statistic`` = units x phi, compared with chi-square on ``df`` = units - 1 degrees
    of freedom (one for the target estimated from the same data); ``p_value`` its upper
    tail. ``tau2``: the between-service variance of the additive random-effects model
    (on the scale of the indicator: proportion or events per unit of exposure), 0 when
    units x phi <= units - 1. ``method`` is the adjustment asked for; limits are widened
    (:attr:`adjusted`) only when the test finds over-dispersion at level ``alpha``.
    """

    kind: str
    units: int
    phi: float
    statistic: float
    df: int
    p_value: float
    tau2: float
    method: str = DEFAULT_OVERDISPERSION
    alpha: float = OVERDISPERSION_ALPHA

    @property
    def checked(self) -> bool:
        """Whether there were enough services to estimate the dispersion."""
        return self.units >= MIN_DISPERSION_UNITS and np.isfinite(self.phi)

    @property
    def overdispersed(self) -> bool:
        """Whether the services differ more than chance would explain (chi-square test)."""
        return self.checked and bool(self.p_value < self.alpha)

    @property
    def adjusted(self) -> bool:
        """Whether limits are widened (over-dispersed, and a method other than ``"none"``)."""
        if not self.overdispersed or self.method == "none":
            return False
        return self.tau2 > 0 if self.method == "additive" else self.phi > 1

    def factor(self, se: np.ndarray | float) -> np.ndarray:
        """How much wider than the chance-only limits: ``sqrt(phi)`` or ``sqrt(1 + tau2 / se^2)``.

        ``se`` is the chance-only standard error at the target, sqrt(g(target) / n).
        """
        se = np.asarray(se, dtype=float)
        if not self.adjusted:
            return np.ones_like(se)
        if self.method == "multiplicative":
            return np.full_like(se, math.sqrt(self.phi))
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.sqrt(1 + self.tau2 / se**2)

    def describe(self, *, scale: float = 1.0, unit: str = "") -> str:
        """The check and its consequence in plain words, for captions.

        ``scale`` and ``unit`` express tau on the axis of the chart (100 and
        ``"percentage points"`` for percentages).
        """
        if not self.checked:
            return (
                f"{self.units} service{' is' if self.units == 1 else 's are'} too few to check "
                "whether services differ more than chance would explain (at least "
                f"{MIN_DISPERSION_UNITS} are needed), so the limits allow for chance only."
            )
        test = f"dispersion {self.phi:.2f}, p {_p_text(self.p_value)}"
        if not self.overdispersed:
            return (
                f"The services differ no more than chance would explain ({test}), so the limits "
                "allow for chance only."
            )
        if not self.adjusted:
            return (
                f"The services differ more than chance would explain ({test}); the limits allow "
                "for chance only, so more services fall outside them than chance alone would put there."
            )
        if self.method == "multiplicative":
            how = f"multiplied by the square root of the dispersion, {math.sqrt(self.phi):.2f}"
        else:
            tau = math.sqrt(self.tau2) * scale
            how = (
                "widened for real differences between services (additive random effects, "
                f"between-service standard deviation {tau:.2g}{' ' + unit if unit else ''})"
            )
        return (
            f"The services differ more than chance would explain ({test}), so the limits are {how}."
        )


def _p_text(p: float) -> str:
    """A p-value to 3 decimal places, or ``"< 0.001"``."""
    return "< 0.001" if p < 0.001 else f"= {p:.3f}"


def variance_function(kind: str, target: float) -> float:
    """g(target): the variance of one unit at the target (p0 (1 - p0), or the rate itself)."""
    _check_kind(kind)
    return target * (1 - target) if kind == "proportion" else target


def z_scores(
    numerators: Sequence[float] | np.ndarray | pd.Series,
    denominators: Sequence[float] | np.ndarray | pd.Series,
    *,
    target: float,
    kind: str = "proportion",
) -> np.ndarray:
    """Spiegelhalter's z-scores: (y / n - target) / sqrt(g(target) / n), NaN where n <= 0."""
    y = np.asarray(numerators, dtype=float)
    n = np.asarray(denominators, dtype=float)
    g = variance_function(kind, target)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (y / n - target) / np.sqrt(g / n)
    return np.where(n > 0, z, np.nan)


def winsorise(
    values: Sequence[float] | np.ndarray, *, share: float = WINSORISE_SHARE
) -> np.ndarray:
    """The values with the k = floor(share x count) lowest set to the (k+1)-th lowest, and the
    k highest to the (k+1)-th highest (as ``scipy.stats.mstats.winsorize``); NaN dropped."""
    if not 0 <= share < 0.5:
        raise ParameterError("share must be from 0 to below 0.5", column="share", found=share)
    x = np.sort(np.asarray(values, dtype=float))
    x = x[np.isfinite(x)]
    k = int(math.floor(share * len(x)))
    if k == 0:
        return x
    return np.clip(x, x[k], x[len(x) - 1 - k])


def overdispersion(
    numerators: Sequence[float] | np.ndarray | pd.Series,
    denominators: Sequence[float] | np.ndarray | pd.Series,
    *,
    target: float,
    kind: str = "proportion",
    method: str = DEFAULT_OVERDISPERSION,
    share: float = WINSORISE_SHARE,
    alpha: float = OVERDISPERSION_ALPHA,
) -> Dispersion:
    """Spiegelhalter's (2005b) check for over-dispersion and the variance to widen limits by.

    phi = mean of the winsorised z-scores squared (``share`` in each tail); units x phi
    is compared with chi-square on units - 1 degrees of freedom. tau^2 (DerSimonian and
    Laird) = (units x phi - (units - 1)) / (sum w - sum w^2 / sum w), w = n / g(target),
    floored at 0. Units with n <= 0 are left out.

    Default ``method="additive"`` (random effects): the limits become target +/- z x
    sqrt(g / n + tau^2), so they no longer shrink to nothing as services grow: a large
    service is not flagged for a small difference that real, unexplained variation
    between services would produce anyway. The multiplicative alternative (limits
    scaled by sqrt(phi)) keeps the funnel's shape and still flags the largest services
    for such differences; Spiegelhalter (2005b) prefers random effects when services
    differ in size, as these do (a few to over a hundred young people).
    """
    from scipy import special

    _check_kind(kind)
    if method not in OVERDISPERSION_METHODS:
        raise ParameterError(
            "unknown over-dispersion method", column="method", allowed=OVERDISPERSION_METHODS,
            found=method,
        )  # fmt: skip
    n = np.asarray(denominators, dtype=float)
    y = np.asarray(numerators, dtype=float)
    keep = np.isfinite(n) & np.isfinite(y) & (n > 0)
    n, y = n[keep], y[keep]
    units = len(n)
    g = variance_function(kind, target) if np.isfinite(target) else math.nan
    if units < MIN_DISPERSION_UNITS or not g > 0:
        return Dispersion(kind, units, math.nan, math.nan, max(units - 1, 0), math.nan, 0.0,
                          method, alpha)  # fmt: skip
    z = winsorise(z_scores(y, n, target=target, kind=kind), share=share)
    phi = float(np.mean(z**2))
    statistic = units * phi
    df = units - 1
    w = n / g
    spread = w.sum() - (w**2).sum() / w.sum()
    tau2 = float(max(0.0, (statistic - df) / spread)) if spread > 0 else 0.0
    p_value = float(special.chdtrc(df, statistic))  # chi-square upper tail
    return Dispersion(kind, units, phi, statistic, df, p_value, tau2, method, alpha)


# --------------------------------------------------------------------------- limits
def funnel_limits(
    denominators: Sequence[float] | np.ndarray | pd.Series,
    *,
    p0: float,
    levels: Sequence[float] = FUNNEL_LEVELS,
    method: str = "exact",
    dispersion: Dispersion | None = None,
) -> pd.DataFrame:
    """Control limits for a proportion around ``p0`` for each sample size n.

    ``method="exact"`` (default): exact binomial limits with the interpolation of
    Spiegelhalter (2005a, appendix A.1.1): for tail probability q, r = the q-quantile of
    Binomial(n, p0) (:func:`binomial_quantile`), alpha = (F(r) - q) / (F(r) - F(r - 1)),
    limit = (r - alpha) / n. ``method="normal"``: p0 +/- z * sqrt(p0 (1 - p0) / n) with
    no continuity correction (Spiegelhalter's normal approximation). With an over-dispersed
    ``dispersion`` (:attr:`Dispersion.adjusted`), each limit's distance from p0 is
    multiplied by :meth:`Dispersion.factor` (for the normal limits exactly Spiegelhalter's
    p0 +/- z sqrt(phi g / n) or p0 +/- z sqrt(g / n + tau^2)). Limits are clipped to
    [0, 1]. Columns: ``n, p0, lower_95, upper_95, lower_99_8, upper_99_8`` (one pair per
    level, two-sided).
    """
    _check_method(method)
    if not 0 < p0 < 1:
        raise ParameterError(
            "p0 must be a proportion strictly between 0 and 1", column="p0", found=p0
        )
    n = np.asarray(denominators, dtype=float)
    out = {"n": n, "p0": np.full(n.shape, float(p0))}
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.sqrt(p0 * (1 - p0) / n)
    factor = dispersion.factor(se) if dispersion is not None else np.ones_like(n)
    for level in levels:
        tail = (1 - level) / 2
        for side, q in (("lower", tail), ("upper", 1 - tail)):
            base = _exact_limit(n, p0, q) if method == "exact" else _normal_limit(n, p0, q)
            out[f"{side}_{_level_name(level)}"] = np.where(
                n > 0, np.clip(p0 + factor * (base - p0), 0, 1), np.nan
            )
    return pd.DataFrame(out)


def rate_limits(
    exposures: Sequence[float] | np.ndarray | pd.Series,
    *,
    rate0: float,
    levels: Sequence[float] = FUNNEL_LEVELS,
    method: str = "exact",
    per: float = 1.0,
    dispersion: Dispersion | None = None,
) -> pd.DataFrame:
    """Control limits for a rate (events / exposure) around ``rate0`` for each exposure E.

    ``rate0`` is events per unit of exposure; limits are returned per ``per`` units
    (``per=10_000``: per 10,000 children). ``method="exact"`` (default): the exact
    Poisson limits of Spiegelhalter (2005a, appendix A.1.1, the interpolated quantile
    applied to a Poisson count): with mu = rate0 x E, r = the q-quantile of Poisson(mu)
    and alpha = (F(r) - q) / (F(r) - F(r - 1)), the limit is (r - alpha) / E. The Poisson
    distribution function is a chi-square tail, F(r) = P(chi-square on 2(r + 1) df > 2 mu),
    so these are the chi-square limits of the count, interpolated between whole counts.
    ``method="normal"``: rate0 +/- z sqrt(rate0 / E). With an over-dispersed
    ``dispersion``, the distance from rate0 is widened as in :func:`funnel_limits`.
    Limits are at least 0. Columns: ``exposure, rate0, lower_95, upper_95, lower_99_8,
    upper_99_8``.
    """
    _check_method(method)
    if not (np.isfinite(rate0) and rate0 > 0):
        raise ParameterError("rate0 must be a rate above 0", column="rate0", found=rate0)
    e = np.asarray(exposures, dtype=float)
    out = {"exposure": e, "rate0": np.full(e.shape, float(rate0) * per)}
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.sqrt(rate0 / e)
    factor = dispersion.factor(se) if dispersion is not None else np.ones_like(e)
    for level in levels:
        tail = (1 - level) / 2
        for side, q in (("lower", tail), ("upper", 1 - tail)):
            base = (
                _exact_poisson_limit(e, rate0, q)
                if method == "exact"
                else _normal_rate_limit(e, rate0, q)
            )
            limit = np.clip(rate0 + factor * (base - rate0), 0, None)
            out[f"{side}_{_level_name(level)}"] = np.where(e > 0, limit * per, np.nan)
    return pd.DataFrame(out)


def control_limits(
    sizes: Sequence[float] | np.ndarray | pd.Series,
    *,
    kind: str,
    target: float,
    levels: Sequence[float] = FUNNEL_LEVELS,
    method: str = "exact",
    dispersion: Dispersion | None = None,
) -> pd.DataFrame:
    """:func:`funnel_limits` (``kind="proportion"``) or :func:`rate_limits` (``"rate"``), with
    columns ``size, target`` and the limits, all per unit (a proportion, or events per unit)."""
    _check_kind(kind)
    if kind == "proportion":
        out = funnel_limits(sizes, p0=target, levels=levels, method=method, dispersion=dispersion)
        return out.rename(columns={"n": "size", "p0": "target"})
    out = rate_limits(sizes, rate0=target, levels=levels, method=method, dispersion=dispersion)
    return out.rename(columns={"exposure": "size", "rate0": "target"})


def _normal_limit(n: np.ndarray, p0: float, q: float) -> np.ndarray:
    from scipy import special

    with np.errstate(divide="ignore", invalid="ignore"):
        limit = p0 + special.ndtri(q) * np.sqrt(p0 * (1 - p0) / n)
    return np.where(n > 0, np.clip(limit, 0, 1), np.nan)


def _exact_limit(n: np.ndarray, p0: float, q: float) -> np.ndarray:
    whole = np.where(n > 0, np.round(n), 1)
    r = binomial_quantile(q, whole, p0)
    f_r = binomial_cdf(r, whole, p0)
    f_below = binomial_cdf(r - 1, whole, p0)
    alpha = np.where(f_r > f_below, (f_r - q) / np.where(f_r > f_below, f_r - f_below, 1), 0.0)
    return np.where(n > 0, np.clip((r - alpha) / whole, 0, 1), np.nan)


def _normal_rate_limit(e: np.ndarray, rate0: float, q: float) -> np.ndarray:
    from scipy import special

    with np.errstate(divide="ignore", invalid="ignore"):
        return rate0 + special.ndtri(q) * np.sqrt(rate0 / e)


def _exact_poisson_limit(e: np.ndarray, rate0: float, q: float) -> np.ndarray:
    mu = rate0 * np.where(e > 0, e, 1.0)
    r = poisson_quantile(q, mu)
    f_r = poisson_cdf(r, mu)
    f_below = poisson_cdf(r - 1, mu)
    alpha = np.where(f_r > f_below, (f_r - q) / np.where(f_r > f_below, f_r - f_below, 1), 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return (r - alpha) / np.where(e > 0, e, 1.0)


# --------------------------------------------------------------------------- exact distributions
# The exact limits need the binomial and Poisson distribution functions and quantiles.
# They are computed here from scipy.special, as scipy.stats computes them, because
# importing scipy.stats costs a notebook about half a second (tests compare the two).


def binomial_cdf(k: np.ndarray, n: np.ndarray, p: float) -> np.ndarray:
    """P(X <= k) for X ~ Binomial(n, p), whole ``k`` and ``n``: 0 below 0, 1 from ``n`` up,
    else the regularised incomplete beta function ``betaincc(k + 1, n - k, p)``."""
    from scipy import special

    k, n = np.asarray(k, dtype=float), np.asarray(n, dtype=float)
    inside = (k >= 0) & (k < n)
    tail = special.betaincc(np.where(inside, k + 1, 1), np.where(inside, n - k, 1), p)
    return np.where(k < 0, 0.0, np.where(inside, tail, 1.0))


def binomial_quantile(q: float, n: np.ndarray, p: float) -> np.ndarray:
    """The smallest whole k with P(X <= k) >= ``q`` (0 < q < 1) for X ~ Binomial(n, p): the
    convention of ``scipy.stats.binom.ppf``, found by halving [0, n] (about log2(n) steps)."""
    n = np.asarray(n, dtype=float)
    below, reached = np.full(n.shape, -1.0), n.copy()  # P(X <= -1) = 0 < q <= P(X <= n) = 1
    while (open_ := reached - below > 1).any():
        middle = np.floor((below + reached) / 2)
        enough = binomial_cdf(middle, n, p) >= q
        reached = np.where(open_ & enough, middle, reached)
        below = np.where(open_ & ~enough, middle, below)
    return reached


def poisson_cdf(k: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """P(X <= k) for X ~ Poisson(mu), whole ``k`` (0 below 0)."""
    from scipy import special

    k = np.asarray(k, dtype=float)
    return np.where(k < 0, 0.0, special.pdtr(np.maximum(k, 0), mu))


def poisson_quantile(q: float, mu: np.ndarray) -> np.ndarray:
    """The smallest whole k with P(X <= k) >= ``q`` for X ~ Poisson(mu), as
    ``scipy.stats.poisson.ppf`` finds it (the inverse of ``pdtr``, then one step down)."""
    from scipy import special

    guess = np.ceil(special.pdtrik(q, mu))
    lower = np.maximum(guess - 1, 0)
    return np.where(special.pdtr(lower, mu) >= q, lower, guess)


# --------------------------------------------------------------------------- flags
def flags(
    values: Sequence[float] | np.ndarray | pd.Series,
    limits: pd.DataFrame,
    *,
    levels: Sequence[float] = FUNNEL_LEVELS,
) -> list[str]:
    """Which limits each value falls outside (the widest it crosses): ``within``,
    ``above 95%``, ``below 99.8%``... or ``no data``. ``limits`` has one row per value."""
    out = []
    for value, (_, row) in zip(np.asarray(values, dtype=float), limits.iterrows(), strict=True):
        out.append(_one_flag(value, row, levels))
    return out


def _one_flag(value: float, row: pd.Series, levels: Sequence[float]) -> str:
    if not np.isfinite(value):
        return "no data"
    for level in sorted(levels, reverse=True):
        name = _level_name(level)
        if value > row[f"upper_{name}"]:
            return f"above {_level_label(level)}"
        if value < row[f"lower_{name}"]:
            return f"below {_level_label(level)}"
    return "within"


def compare_services(
    points: pd.DataFrame,
    *,
    kind: str,
    target: float,
    levels: Sequence[float] = FUNNEL_LEVELS,
    method: str = "exact",
    overdispersion_method: str = DEFAULT_OVERDISPERSION,
    alpha: float = OVERDISPERSION_ALPHA,
) -> pd.DataFrame:
    """Each service against ``target``: its value, the limits at its size and its flag.

    ``points`` has ``service_id, numerator, n`` (n: the denominator, or the exposure of a
    rate). Adds ``value`` (numerator / n, per unit), the limits of :func:`control_limits`
    (widened when :func:`overdispersion` of these points says so) and ``flag``.
    ``attrs["dispersion"]`` is the :class:`Dispersion`. Pass only what may be shown: the
    dispersion, and so the limits, are computed from these points alone.
    """
    _check_kind(kind)
    out = points.copy()
    n = pd.to_numeric(out["n"]).astype(float)
    out["value"] = pd.to_numeric(out["numerator"]).astype(float) / n.where(n > 0)
    dispersion = overdispersion(
        out["numerator"], n, target=target, kind=kind, method=overdispersion_method, alpha=alpha
    )
    valid = np.isfinite(target) and target > 0 and (kind == "rate" or target < 1)
    if len(out) and valid:
        limits = control_limits(
            n, kind=kind, target=target, levels=levels, method=method, dispersion=dispersion
        )
        limits.index = out.index
        out = pd.concat([out, limits.drop(columns="size")], axis=1)
        out["flag"] = flags(out["value"], limits, levels=levels)
    else:
        out["flag"] = np.where(out["value"].notna(), "within", "no data")
    out.attrs.update(dispersion=dispersion, kind=kind, target=target, levels=tuple(levels))
    return out


def outlier_sentence(
    points: pd.DataFrame, *, levels: Sequence[float] = FUNNEL_LEVELS, left_out: int = 0
) -> str:
    """The services outside the limits, in words, from ``service_id`` and ``flag`` columns.

    Names the services above and below the widest limits, then those outside the
    narrower ones only; with none outside the widest: "No service lies outside the
    99.8% limits." Pass only the services a reader is shown: with ``left_out`` > 0 it
    says "No service shown ...", since one left out could lie outside.
    """
    ordered = sorted(levels, reverse=True)
    flag_of = dict(zip(points["service_id"].astype(str), points["flag"].astype(str), strict=True))
    services = service_order(list(flag_of))
    widest = _level_label(ordered[0])
    sides = []
    for side in ("above", "below"):
        ids = [s for s in services if flag_of[s] == f"{side} {widest}"]
        if ids:
            verb = "lies" if len(ids) == 1 else "lie"
            sides.append(f"{_join(ids)} {verb} {side} the {widest} limits")
    if sides:
        text = "; ".join(sides) + "."
    else:
        text = (
            f"{'No service shown' if left_out else 'No service'} lies outside the {widest} limits."
        )
    for level in ordered[1:]:
        label = _level_label(level)
        named = [
            f"{s} ({flag_of[s].split()[0]})"
            for s in services
            if flag_of[s] in (f"above {label}", f"below {label}")
        ]
        if named:
            text += f" Outside the {label} limits only: {_join(named)}."
    return text


def _join(items: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


# --------------------------------------------------------------------------- analyst data
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
    n over all services), the limits of :func:`funnel_limits` (chance only: this is the
    analysts' table; :func:`compare_services` widens them for over-dispersion), ``flag``
    (``within``, ``above 95%``, ``above 99.8%``, ``below 95%``, ``below 99.8%`` or
    ``no data``) and ``suppressed`` (numerator or n - numerator from 1 to ``threshold``,
    or n <= threshold: the point would reveal a small count, so charts leave it out).
    ``attrs["p0"]`` is p0.
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
    out["flag"] = flags(out["proportion"], limits, levels=levels) if len(out) else []
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
