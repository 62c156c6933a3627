"""Groups of services compared with the service as the unit: model variant, host setting, phase.

Young people are clustered in services, and a service's model variant, main host setting
and phase are properties of the service, so the number of independent units behind a
group comparison is the number of services, not the number of young people. Every
interval and test here treats the service as the unit:

- :func:`compare_groups` for a proportion (e.g. risk reduced / risk assessed): the pooled
  proportion per group with a bias-reduced interval over services, and a weighted
  analysis of variance of the service proportions across groups;
- :func:`compare_group_means` for a per-service mean (e.g. confidence change, a policy
  score): the group mean of service means with a t interval over services, and a one-way
  analysis of variance of the service means.

A group with fewer than :data:`MIN_GROUP_SERVICES` services with data is shown with a
plain note ("3 services: too few to compare") and left out of the test.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Final

import numpy as np
import pandas as pd

from hubspoke import config
from hubspoke.analysis.common import format_p
from hubspoke.analysis.cross_site.funnel import is_small
from hubspoke.analysis.cross_site.summary import one_row_per_service
from hubspoke.analysis.outcomes import intervals
from hubspoke.analysis.outcomes.intervals import ratio_interval, weighted_mean_cr2
from hubspoke.errors import ParameterError

#: Groupings :func:`compare_groups` and :func:`compare_group_means` accept.
GROUPINGS: tuple[str, ...] = ("model_variant", "host_setting", "phase")
#: Plain names of the groupings, for titles.
GROUP_LABELS: Mapping[str, str] = {
    "model_variant": "model variant",
    "host_setting": "main host setting",
    "phase": "phase",
}
#: Fewest services with data a group needs to be compared with the others.
MIN_GROUP_SERVICES: Final = 4
#: Columns of :func:`compare_groups`.
GROUP_COLUMNS: Final = (
    "group", "n_services", "n_with_data", "numerator", "denominator", "proportion",
    "ci_low", "ci_high", "comparable", "note", "suppressed",
)  # fmt: skip
#: Columns of :func:`compare_group_means`.
GROUP_MEAN_COLUMNS: Final = (
    "group", "n_services", "n_with_data", "mean", "ci_low", "ci_high", "comparable", "note",
)  # fmt: skip


def wilson_interval(successes: float, n: float, *, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for ONE service's proportion (NaN, NaN when n is 0).

    Young people within one service are the unit there; never use it to pool services
    (that is what :func:`compare_groups` is for).
    """
    low, high = intervals.wilson_interval(pd.Series([successes]), pd.Series([n]), level=level)
    return (float(low.iloc[0]), float(high.iloc[0]))


# --------------------------------------------------------------------------- words
def p_text(p: float) -> str:
    """A p-value in words: ``p = 0.042`` (3 dp) or ``p < 0.001`` (rounding: :func:`format_p`)."""
    shown = format_p(p)
    return f"p {shown[0]} {shown[1:]}" if shown.startswith("<") else f"p = {shown}"


def _services(k: int) -> str:
    return f"{k} service" if k == 1 else f"{k} services"


def _group_note(n_services: int, n_with_data: int, *, min_services: int, nothing: str) -> str:
    """Plain words for one group: how many services, and whether it can be compared."""
    text = _services(n_services)
    missing = n_services - n_with_data
    if n_with_data == 0:
        return f"{text}, none with {nothing}: nothing to compare"
    if missing:
        text += f", {missing} without {nothing}"
    if n_with_data < min_services:
        return f"{text}: too few to compare"
    return text


# --------------------------------------------------------------------------- inputs
def _service_rows(summary: pd.DataFrame, *, by: str, columns: Sequence[str]) -> pd.DataFrame:
    """One row per service with ``by`` and ``columns``; ParameterError naming what is wrong."""
    if by not in GROUPINGS:
        raise ParameterError(
            "cannot compare services by this", column="by", allowed=GROUPINGS, found=by
        )
    rows = one_row_per_service(summary)
    for col in (by, *columns):
        if col not in rows.columns:
            raise ParameterError(
                "column not in the summary", column=col, allowed=list(rows.columns), found=col
            )
    return rows


def _check_options(*, min_services: int, level: float) -> None:
    if not isinstance(min_services, int) or min_services < 2:
        raise ParameterError(
            "a group needs at least 2 services for an interval",
            column="min_services",
            allowed="a whole number from 2",
            found=min_services,
        )
    if not 0 < level < 1:
        raise ParameterError(
            "confidence level out of range", column="level", allowed="between 0 and 1",
            found=level,
        )  # fmt: skip


# --------------------------------------------------------------------------- estimators
def mean_interval(
    values: Sequence[float] | np.ndarray,
    weights: Sequence[float] | np.ndarray | None = None,
    *,
    level: float = 0.95,
) -> tuple[float, float, float]:
    """Mean of service means (weighted if ``weights``) and its t interval over services.

    Unweighted: mean +/- t(k - 1) * s / sqrt(k). Weighted: the bias-reduced variance and
    degrees of freedom of :func:`weighted_mean_cr2`, which are those when the weights are
    equal. Services without a value (or with weight 0) are left out. Returns (mean, low,
    high); NaN limits with fewer than two services.
    """
    from scipy import stats

    x = np.asarray(values, dtype=float)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    keep = ~np.isnan(x) & ~np.isnan(w) & (w > 0)
    x, w = x[keep], w[keep]
    if len(x) == 0:
        return (math.nan, math.nan, math.nan)
    if len(x) == 1:
        return (float(x[0]), math.nan, math.nan)
    m, variance, dof = weighted_mean_cr2(x, w)
    half = float(stats.t.ppf(0.5 + level / 2, dof)) * math.sqrt(variance)
    return (m, m - half, m + half)


# --------------------------------------------------------------------------- tests
def random_effects_weights(
    numerators: Sequence[float] | np.ndarray,
    denominators: Sequence[float] | np.ndarray,
    groups: Sequence[object] | np.ndarray,
) -> tuple[np.ndarray, float]:
    """Each service's weight 1 / (tau^2 + p(1 - p) / n_i), and tau^2.

    The inverse of a service proportion's variance when services differ beyond chance
    (Cochran, "The combination of estimates from different experiments", *Biometrics*
    10, 1954; DerSimonian & Laird, *Controlled Clinical Trials* 7, 1986): tau^2, the
    between-service variance, is estimated by moments as the spread of service
    proportions within groups less their average binomial variance (0 if negative), and
    p is the overall pooled proportion. With tau^2 = 0 the weights are proportional to
    n_i (every young person counts the same); with tau^2 large they are equal (every
    service counts the same). Services with a denominator of 0 must be left out first.
    """
    y = np.asarray(numerators, dtype=float)
    n = np.asarray(denominators, dtype=float)
    _, codes = np.unique(np.asarray(groups, dtype=object).astype(str), return_inverse=True)
    k, n_groups = len(n), int(codes.max()) + 1 if len(n) else 0
    share = y / n
    pooled = float(y.sum() / n.sum())
    means = np.bincount(codes, weights=share) / np.bincount(codes)
    spread = float(np.sum((share - means[codes]) ** 2)) / max(k - n_groups, 1)
    tau2 = max(0.0, spread - float(np.mean(pooled * (1 - pooled) / n)))
    return 1 / (tau2 + pooled * (1 - pooled) / n), tau2


def proportion_anova_f(
    numerators: Sequence[float] | np.ndarray,
    denominators: Sequence[float] | np.ndarray,
    groups: Sequence[object] | np.ndarray,
) -> dict[str, float]:
    """F test of one proportion in every group: a weighted ANOVA of service proportions.

    Each service's proportion y_i / n_i is one observation, weighted by
    :func:`random_effects_weights`, and :func:`weighted_anova_f` compares the groups on
    (g - 1, k - g) df. On the synthetic programme with no true difference it called one
    at 5-6% of seeds at the 5% level, where a quasi-binomial GLM (weights proportional
    to n_i) called one at 10-11% and a young-person chi-square at over 80% (200 seeds;
    services of 6 to 250 young people). Services with a denominator of 0 are left out.
    Returns statistic, dof_between, dof_within, p_value and tau2 (NaN when it cannot be
    computed).
    """
    y = np.asarray(numerators, dtype=float)
    n = np.asarray(denominators, dtype=float)
    g = np.asarray(groups, dtype=object)
    keep = n > 0
    y, n, g = y[keep], n[keep], g[keep]
    pooled = y.sum() / n.sum() if len(n) else math.nan
    if not 0 < pooled < 1:
        return {"statistic": math.nan, "dof_between": math.nan, "dof_within": math.nan,
                "p_value": math.nan, "tau2": math.nan}  # fmt: skip
    weights, tau2 = random_effects_weights(y, n, g)
    return weighted_anova_f(y / n, g, weights) | {"tau2": tau2}


def weighted_anova_f(
    values: Sequence[float] | np.ndarray,
    groups: Sequence[object] | np.ndarray,
    weights: Sequence[float] | np.ndarray | None = None,
) -> dict[str, float]:
    """One-way analysis of variance of service values (weighted least squares if ``weights``).

    F = (sum_g W_g (m_g - m)^2 / (g - 1)) / (sum_i w_i (x_i - m_g)^2 / (k - g)) on
    (g - 1, k - g) df, with W_g the group's total weight; equal weights give the
    ordinary one-way ANOVA (Fisher's F, as :func:`scipy.stats.f_oneway`). Returns
    statistic, dof_between, dof_within, p_value (NaN when it cannot be computed).
    """
    from scipy import stats

    x = np.asarray(values, dtype=float)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    g = np.asarray(groups, dtype=object)
    keep = ~np.isnan(x) & ~np.isnan(w) & (w > 0)
    x, w, g = x[keep], w[keep], g[keep]
    labels, codes = np.unique(g.astype(str), return_inverse=True)
    n_groups, k = len(labels), len(x)
    weight_g = np.bincount(codes, weights=w)
    mean_g = np.bincount(codes, weights=w * x) / weight_g
    overall = float(np.sum(w * x) / w.sum()) if k else math.nan
    between = float(np.sum(weight_g * (mean_g - overall) ** 2))
    within = float(np.sum(w * (x - mean_g[codes]) ** 2))
    ok = n_groups > 1 and k > n_groups and within > 0
    statistic = (between / (n_groups - 1)) / (within / (k - n_groups)) if ok else math.nan
    p = float(stats.f.sf(statistic, n_groups - 1, k - n_groups)) if ok else math.nan
    return {
        "statistic": float(statistic),
        "dof_between": float(n_groups - 1),
        "dof_within": float(k - n_groups),
        "p_value": p,
    }


def _test_result(
    groups: pd.DataFrame,
    *,
    by: str,
    min_services: int,
    method: str,
    run: Callable[[], Mapping[str, float]],
    constant: bool,
) -> dict[str, object]:
    """The test across the comparable groups, as attrs["test"] (method, statistic, dof, p_value, note)."""
    none: dict[str, object] = {
        "method": "none", "statistic": math.nan, "dof": (math.nan, math.nan), "p_value": math.nan,
    }  # fmt: skip
    used = groups.loc[groups["comparable"]]
    left_out = groups.loc[~groups["comparable"] & groups["n_services"].gt(0)]
    listed = "; ".join(
        f"{g} ({_services(int(k))})"
        for g, k in zip(left_out["group"], left_out["n_with_data"], strict=True)
    )
    aside = f" Not compared (too few services with data): {listed}." if listed else ""
    name = GROUP_LABELS.get(by, by)
    if len(used) < 2:
        return none | {
            "note": f"The groups by {name} are not compared: fewer than two groups have "
            f"{min_services} or more services with data, and with fewer services any "
            f"difference could be chance.{aside}"
        }
    if constant:
        return none | {
            "note": f"Every service has the same result, so there is nothing to test.{aside}"
        }
    result = run()
    k = int(used["n_with_data"].sum())
    stat, p = float(result["statistic"]), float(result["p_value"])
    dof = (int(result["dof_between"]), int(result["dof_within"]))
    if math.isnan(p):
        return none | {
            "method": method,
            "note": f"The test cannot be computed: within each group every service has the "
            f"same result.{aside}",
        }
    how = f"{method}, F = {stat:.2f} on {dof[0]} and {dof[1]} df, {p_text(p)}"
    verdict = (
        "the groups differ more than chance alone would suggest"
        if p < 0.05
        else "the differences between groups could be due to chance"
    )
    note = (
        f"Compared across {len(used)} groups by {name} ({k} services, the service as the "
        f"unit): {verdict} ({how}).{aside}"
    )
    return {"method": method, "statistic": stat, "dof": dof, "p_value": p, "note": note}


# --------------------------------------------------------------------------- comparisons
def compare_groups(
    summary: pd.DataFrame,
    *,
    by: str,
    numerator: str,
    denominator: str,
    min_services: int = MIN_GROUP_SERVICES,
    level: float = 0.95,
    threshold: int = config.SUPPRESSION_THRESHOLD,
) -> pd.DataFrame:
    """Pooled proportion per group of services, an interval and a test with the service as the unit.

    ``summary``: one row per service (or a summary for ``"all"`` years), with ``by``
    (``model_variant``, ``host_setting`` = main host, or ``phase``) and the count columns
    ``numerator`` and ``denominator``. One row per group (:data:`GROUP_COLUMNS`):
    ``n_services`` (services in the group), ``n_with_data`` (with a denominator above 0),
    the pooled ``numerator``, ``denominator`` and ``proportion``, ``ci_low``/``ci_high``
    (:func:`ratio_interval` at ``level``), ``comparable`` (at least ``min_services``
    services with data), a plain ``note`` and ``suppressed`` (a count from 1 to
    ``threshold`` in the numerator or in denominator - numerator).
    ``attrs["test"]``: method, statistic, dof (between, within), p_value and note of the
    weighted analysis of variance of service proportions across the comparable groups
    (:func:`proportion_anova_f`);
    ``attrs["note"]`` is that note.
    """
    _check_options(min_services=min_services, level=level)
    rows = _service_rows(summary, by=by, columns=(numerator, denominator))
    frame = pd.DataFrame(
        {
            "group": rows[by].astype(str).to_numpy(),
            "y": pd.to_numeric(rows[numerator]).astype(float).fillna(0).to_numpy(),
            "n": pd.to_numeric(rows[denominator]).astype(float).fillna(0).to_numpy(),
        }
    )
    records = []
    for group, part in frame.groupby("group", sort=True):
        p, low, high = ratio_interval(part["y"], part["n"], level=level)
        with_data = int(part["n"].gt(0).sum())
        records.append(
            {
                "group": str(group),
                "n_services": len(part),
                "n_with_data": with_data,
                "numerator": float(part["y"].sum()),
                "denominator": float(part["n"].sum()),
                "proportion": p,
                "ci_low": low,
                "ci_high": high,
                "comparable": with_data >= min_services,
                "note": _group_note(
                    len(part), with_data, min_services=min_services, nothing="anyone counted"
                ),
            }
        )
    out = pd.DataFrame.from_records(records, columns=list(GROUP_COLUMNS[:-1])).assign(
        suppressed=lambda d: (
            is_small(d["numerator"], threshold=threshold)
            | is_small(d["denominator"] - d["numerator"], threshold=threshold)
        )
    )
    out["comparable"] = out["comparable"].astype(bool)
    used = frame.loc[frame["group"].isin(out.loc[out["comparable"], "group"]) & frame["n"].gt(0)]
    test = _test_result(
        out,
        by=by,
        min_services=min_services,
        method="weighted analysis of variance of service proportions",
        run=lambda: proportion_anova_f(used["y"], used["n"], used["group"]),
        constant=bool(len(used)) and (used["y"].sum() == 0 or used["y"].sum() == used["n"].sum()),
    )
    out.attrs.update(by=by, level=level, min_services=min_services, test=test, note=test["note"])
    return out


def compare_group_means(
    summary: pd.DataFrame,
    *,
    by: str,
    value: str,
    weight: str | None = None,
    min_services: int = MIN_GROUP_SERVICES,
    level: float = 0.95,
) -> pd.DataFrame:
    """Group mean of a per-service mean, a t interval over services and an F test across groups.

    ``summary``: one row per service with ``by`` and ``value`` (e.g. each service's mean
    confidence change or policy score), optionally ``weight`` (e.g. the number of
    professionals behind each mean). One row per group (:data:`GROUP_MEAN_COLUMNS`):
    ``n_services``, ``n_with_data`` (with a value and a positive weight), ``mean`` (of
    the service means, weighted if ``weight``), ``ci_low``/``ci_high``
    (:func:`mean_interval` at ``level``), ``comparable`` and a plain ``note``.
    ``attrs["test"]``: the one-way analysis of variance of the service means across the
    comparable groups (:func:`weighted_anova_f`); ``attrs["note"]`` is its note.
    """
    _check_options(min_services=min_services, level=level)
    rows = _service_rows(summary, by=by, columns=(value,) if weight is None else (value, weight))
    x = pd.to_numeric(rows[value]).astype(float).to_numpy()
    w = np.ones_like(x) if weight is None else pd.to_numeric(rows[weight]).astype(float).to_numpy()
    frame = pd.DataFrame({"group": rows[by].astype(str).to_numpy(), "x": x, "w": w}).assign(
        has=lambda d: d["x"].notna() & d["w"].gt(0)
    )
    records = []
    for group, part in frame.groupby("group", sort=True):
        m, low, high = mean_interval(part["x"], part["w"], level=level)
        with_data = int(part["has"].sum())
        records.append(
            {
                "group": str(group),
                "n_services": len(part),
                "n_with_data": with_data,
                "mean": m,
                "ci_low": low,
                "ci_high": high,
                "comparable": with_data >= min_services,
                "note": _group_note(
                    len(part), with_data, min_services=min_services, nothing="a value"
                ),
            }
        )
    out = pd.DataFrame.from_records(records, columns=list(GROUP_MEAN_COLUMNS))
    out["comparable"] = out["comparable"].astype(bool)
    used = frame.loc[frame["group"].isin(out.loc[out["comparable"], "group"]) & frame["has"]]
    method = "one-way analysis of variance" + (" weighted" if weight else "") + " of service means"
    test = _test_result(
        out,
        by=by,
        min_services=min_services,
        method=method,
        run=lambda: weighted_anova_f(used["x"], used["group"], used["w"]),
        constant=bool(len(used)) and used["x"].nunique() == 1,
    )
    out.attrs.update(
        by=by, value=value, weight=weight, level=level, min_services=min_services,
        test=test, note=test["note"],
    )  # fmt: skip
    return out


def group_table(groups: pd.DataFrame) -> pd.DataFrame:
    """:func:`compare_groups` output ready to show: percentages, plain headers, group as the index.

    An analyst view; the funder table is ``groups.<dim>`` of
    :func:`hubspoke.analysis.cross_site.cross_site_tables`.
    """
    level = float(groups.attrs.get("level", 0.95))
    pct = f"{level:.0%}"
    out = (
        groups.set_index("group")
        .loc[
            :, ["n_services", "numerator", "denominator", "proportion", "ci_low", "ci_high", "note"]
        ]
        .assign(**{c: lambda d, c=c: d[c] * 100 for c in ("proportion", "ci_low", "ci_high")})
        .rename(
            columns={
                "n_services": "Services",
                "numerator": "Reduced",
                "denominator": "Rated",
                "proportion": "%",
                "ci_low": f"{pct} CI low",
                "ci_high": f"{pct} CI high",
                "note": "Note",
            }
        )
    )
    out.index.name = GROUP_LABELS.get(groups.attrs.get("by", ""), "group")
    return out


def proportion_intervals(
    numerators: pd.Series,
    denominators: pd.Series,
    *,
    total_row: Hashable | None,
    level: float = 0.95,
) -> tuple[pd.Series, pd.Series]:
    """95% intervals (as %) of each service's proportion and of the programme's ``total_row``.

    A service's young people are its own: Wilson's interval per service. The programme
    pools services, so its row gets the interval with the service as the unit
    (:func:`ratio_interval`). NaN where a denominator is 0.
    """
    services = numerators.index != total_row
    low, high = intervals.wilson_interval(numerators[services], denominators[services], level=level)
    if total_row is not None and total_row in numerators.index:
        _, low.loc[total_row], high.loc[total_row] = ratio_interval(
            numerators[services], denominators[services], level=level
        )
    return 100 * low.reindex(numerators.index), 100 * high.reindex(numerators.index)


def rate_intervals(
    counts: pd.Series,
    exposures: pd.Series,
    *,
    per: float,
    total_row: Hashable | None,
    level: float = 0.95,
) -> tuple[pd.Series, pd.Series]:
    """95% intervals of each service's rate (``per`` units of exposure) and of the programme's.

    A service's count: the exact (Garwood) Poisson interval, chi-square quantiles over 2.
    The programme row pools services: the exposure-weighted mean of the services' rates
    with the bias-reduced variance between services on t (:func:`weighted_mean_cr2`), never
    narrower than the Poisson interval of the pooled count. NaN where exposure is missing or 0.
    """
    from scipy import stats

    services = counts.index != total_row
    k = counts.astype(float)
    e = exposures.astype(float).where(exposures.astype(float) > 0)
    alpha = 1 - level
    low, high = intervals.poisson_interval(k, level=level)
    low, high = per * low / e, per * high / e
    if total_row is not None and total_row in counts.index:
        ok = services & e.notna().to_numpy()
        if ok.sum() >= 2 and e[services].notna().all():
            rates = per * k[ok] / e[ok]
            mean, variance, dof = weighted_mean_cr2(rates.to_numpy(), e[ok].to_numpy())
            half = float(stats.t.ppf(1 - alpha / 2, dof)) * math.sqrt(variance)
            low.loc[total_row] = min(max(mean - half, 0.0), float(low.loc[total_row]))
            high.loc[total_row] = max(mean + half, float(high.loc[total_row]))
        else:
            low.loc[total_row] = high.loc[total_row] = math.nan
    return low, high
