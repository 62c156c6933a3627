"""Cross-site analysis: services side by side, funnel plots, group comparisons and models.

Everything here works for one evaluation year (``year=2015``) or for years 1-3 together
(``year="all"``). The analyses take the dict of processed tables from
:func:`hubspoke.load.load_tables` and compute what they need from it, so they do not
depend on any other analysis module. Functions that compare services return frames in
the one fixed service order (:func:`hubspoke.load.service_order`).

Models never raise for data reasons: too few data, a model that does not converge or
perfect separation come back as ``ModelResult(ok=False, note=...)`` with the reason in
plain words.

Disclosure: a funnel point reveals its numerator (proportion x n), so
:func:`funnel_data` flags points whose numerator, or n minus numerator, is 1-5 (or whose
n is 5 or less) as ``suppressed``; charts leave them out and say how many.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from hubspoke import config, load
from hubspoke.analysis.common import percent
from hubspoke.errors import ParameterError
from hubspoke.load import ALL_YEARS, Period, service_order
from hubspoke.privacy.disclosure import suppress_value
from hubspoke.spec.raw import MODEL_VARIANTS

#: Label of the pooled period (years 1-3 together).
#: Funnel limit levels drawn by default (Spiegelhalter 2005: roughly 2 and 3 standard deviations).
FUNNEL_LEVELS: tuple[float, ...] = (0.95, 0.998)
#: Groupings :func:`compare_groups` accepts.
GROUPINGS: tuple[str, ...] = ("model_variant", "host_setting", "phase")
#: Minimum young people (with both risk ratings) for the risk-reduction model.
MIN_RISK_MODEL_OBS = 50
#: Minimum service-years for the referral model.
MIN_REFERRAL_MODEL_OBS = 10
#: Minimum services for a model with service as a grouping factor.
MIN_MODEL_GROUPS = 5
#: Pearson chi-square / df above which the referral model switches to negative binomial.
OVERDISPERSION_RATIO = 1.5


# --------------------------------------------------------------------------- measures
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

SUMMARY_CONTEXT = ("model_variant", "phase", "host_setting", "host_settings", "n_spokes")


def host_labels(spokes: pd.DataFrame) -> pd.DataFrame:
    """Per service: the main host setting of its Spokes and every setting they are hosted in.

    The main host is the most common setting; a tie between settings is ``"Mixed"``, so
    each service falls in exactly one group when comparing by host setting.
    """
    if spokes.empty:
        return pd.DataFrame(columns=["service_id", "host_setting", "host_settings"])

    def label(hosts: pd.Series) -> pd.Series:
        counts = hosts.astype(str).value_counts()
        top = counts[counts.eq(counts.max())].index
        return pd.Series(
            {
                "host_setting": top[0] if len(top) == 1 else "Mixed",
                "host_settings": "; ".join(sorted(counts.index)),
            }
        )

    return (
        spokes.assign(service_id=spokes["service_id"].astype(str))
        .groupby("service_id")["host_setting"]
        .apply(label)
        .unstack()
        .reset_index()
    )


def service_context(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per service: model variant, phase, main host setting, all host settings, n_spokes."""
    services = load.table(tables, "services")
    base = pd.DataFrame(
        {
            "service_id": services["service_id"].astype(str).to_numpy(),
            "model_variant": services["model_variant"].astype(str).to_numpy(),
            "phase": services["phase"].astype("Int64").to_numpy(),
            "n_spokes": services["n_spokes"].astype("Int64").to_numpy(),
        }
    )
    hosts = host_labels(load.table(tables, "spokes"))
    return base.merge(hosts, on="service_id", how="left")[["service_id", *SUMMARY_CONTEXT]]


def _case_counts(cases: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Young people, risk and ending counts per ``keys`` (service, or service and year)."""
    c = cases.assign(
        service_id=cases["service_id"].astype(str),
        _rated=cases["risk_reduced"].notna(),
        _reduced=cases["risk_reduced"].astype("boolean").fillna(False).astype(bool),
        _closed=cases["closure_date"].notna(),
        _planned=cases["planned_ending"].astype("boolean").fillna(False).astype(bool),
    )
    return c.groupby(keys, observed=True).agg(
        young_people=("young_person_id", "nunique"),
        episodes=("young_person_id", "size"),
        risk_rated=("_rated", "sum"),
        risk_reduced=("_reduced", "sum"),
        closed=("_closed", "sum"),
        planned_endings=("_planned", "sum"),
    )


def _activity_counts(activities: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Professionals trained and their participant-weighted mean confidence change."""
    t = activities.loc[activities["activity_type"].astype(str).eq("Training")]
    change = t["confidence_change"].astype("Float64").astype(float)
    people = t["participants"].astype("Int64").fillna(0).astype(float)
    rated = people.where(change.notna(), 0.0)
    t = pd.DataFrame(
        {
            "service_id": t["service_id"].astype(str).to_numpy(),
            "year": t["year"].astype("Int64").to_numpy(),
            "_people": people.to_numpy(),
            "_rated": rated.to_numpy(),
            "_weighted": (change.fillna(0.0) * rated).to_numpy(),
        }
    )
    out = t.groupby(keys).agg(
        professionals_trained=("_people", "sum"),
        confidence_rated=("_rated", "sum"),
        _weighted=("_weighted", "sum"),
    )
    return out.assign(
        confidence_change_mean=lambda d: (d["_weighted"] / d["confidence_rated"]).where(
            d["confidence_rated"] > 0
        )
    ).drop(columns="_weighted")


def _policy_scores(policy: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Mean checklist score (0-3) and the number of area x element items it is over."""
    p = pd.DataFrame(
        {
            "service_id": policy["service_id"].astype(str).to_numpy(),
            "year": policy["year"].astype("Int64").to_numpy(),
            "_score": policy["status_score"].astype("Int64").astype(float).to_numpy(),
        }
    )
    if "year" not in keys:  # pooled: the state at the end, i.e. each service's latest year
        latest = p.groupby("service_id")["year"].transform("max")
        p = p.loc[p["year"].eq(latest)]
    return p.groupby(keys).agg(
        policy_items=("_score", "size"), policy_score_mean=("_score", "mean")
    )


def _submitted(tables: Mapping[str, pd.DataFrame], year: int | None) -> pd.DataFrame:
    """Every (service_id, year) with a cleaned submission in any submission table."""
    parts = [
        Period(year)
        .rows(load.table(tables, name))[["service_id", "year"]]
        .astype({"service_id": str, "year": "int64"})
        for name in ("cases", "activities", "policy", "spoke_survey")
    ]
    return pd.concat(parts).drop_duplicates().reset_index(drop=True)


def _measures(
    tables: Mapping[str, pd.DataFrame], year: int | None, keys: list[str]
) -> pd.DataFrame:
    """All key measures per ``keys``, zero where a table has no rows for a service(-year)."""
    frames = [
        _case_counts(Period(year).rows(load.table(tables, "cases")), keys),
        _activity_counts(Period(year).rows(load.table(tables, "activities")), keys),
        _policy_scores(Period(year).rows(load.table(tables, "policy")), keys),
    ]
    rows = _submitted(tables, year)[keys].drop_duplicates().set_index(keys)
    counts = ["young_people", "episodes", "risk_rated", "risk_reduced", "closed", "planned_endings",
              "professionals_trained", "confidence_rated", "policy_items"]  # fmt: skip
    out = rows.join(frames, how="left")
    out[counts] = out[counts].fillna(0).astype("int64")
    return out.assign(
        risk_reduced_pct=lambda d: percent(d["risk_reduced"], d["risk_rated"]),
        planned_ending_pct=lambda d: percent(d["planned_endings"], d["closed"]),
    ).reset_index()


SUMMARY_MEASURES = (
    "young_people", "episodes", "risk_rated", "risk_reduced", "risk_reduced_pct", "closed",
    "planned_endings", "planned_ending_pct", "professionals_trained", "confidence_rated",
    "confidence_change_mean", "policy_items", "policy_score_mean",
)  # fmt: skip


def service_year_summary(
    tables: Mapping[str, pd.DataFrame], *, year: int | str = "all"
) -> pd.DataFrame:
    """Context and key measures per service, for one year or for each year plus years pooled.

    ``year=2015``: one row per service with a submission that year. ``year="all"``: one
    row per service-year, then one pooled row per service (``period == "All years"``,
    ``year`` missing). Columns: ``service_id, period, year``, context (``model_variant,
    phase, host_setting`` (main host, "Mixed" on a tie), ``host_settings, n_spokes``) and
    measures as counts with what they are out of: ``young_people`` (distinct young
    people; pooled: counted once however many years), ``episodes``, ``risk_rated``
    (episodes with both risk ratings), ``risk_reduced``, ``risk_reduced_pct``, ``closed``,
    ``planned_endings``, ``planned_ending_pct``, ``professionals_trained``,
    ``confidence_rated`` (trained professionals with before and after ratings),
    ``confidence_change_mean`` (participant-weighted), ``policy_items`` (area x element
    rows), ``policy_score_mean`` (0-3; pooled: the latest year, the state at the end).
    """
    chosen = Period.parse(year).year
    per_year = _measures(tables, chosen, ["service_id", "year"]).assign(
        period=lambda d: d["year"].astype(str)
    )
    parts = [per_year]
    if chosen is None:
        parts.append(_measures(tables, None, ["service_id"]).assign(period=ALL_YEARS, year=pd.NA))
    summary = pd.concat(parts, ignore_index=True).assign(year=lambda d: d["year"].astype("Int64"))
    order = {sid: i for i, sid in enumerate(service_order(summary["service_id"].unique()))}
    return (
        summary.merge(service_context(tables), on="service_id", how="left")
        .assign(
            _s=lambda d: d["service_id"].map(order),
            _p=lambda d: d["period"].eq(ALL_YEARS),
        )
        .sort_values(["_s", "_p", "year"])
        .reset_index(drop=True)[
            ["service_id", "period", "year", *SUMMARY_CONTEXT, *SUMMARY_MEASURES]
        ]
    )


def one_row_per_service(summary: pd.DataFrame) -> pd.DataFrame:
    """The pooled rows of an ``year="all"`` summary, or the summary itself for one year."""
    if "period" in summary and summary["period"].eq(ALL_YEARS).any():
        return summary.loc[summary["period"].eq(ALL_YEARS)].reset_index(drop=True)
    if "service_id" in summary and summary["service_id"].duplicated().any():
        raise ParameterError(
            "expected one row per service: pass a summary for one year, or for 'all' years",
            column="service_id",
        )
    return summary


# --------------------------------------------------------------------------- side by side
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
    ``attrs["display"]`` holds the arguments for ``display.table(frame, caption=...,
    **frame.attrs["display"])`` so counts go through disclosure control and a percentage
    or mean from a hidden count is hidden too; ``attrs["label"]`` the measure in words.
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
    count_cols: list[str] = []
    derived: dict[str, tuple[str, ...]] = {}
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
        if m.kind == "count":
            count_cols.append(names["val"])
        elif m.people:
            sources = tuple(names[k] for k in ("num", "den") if k in names)
            count_cols.extend(sources)
            derived[names["val"]] = sources
    out.attrs["label"] = m.label
    out.attrs["kind"] = m.kind
    out.attrs["values"] = {period: f"{period} {parts['val'][1]}".strip() for period in periods}
    out.attrs["display"] = {
        "count_columns": count_cols if m.people else [],
        "derived": derived or None,
        "total_row": None,
        "total_column": None,
    }
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


# --------------------------------------------------------------------------- funnel plots
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


# --------------------------------------------------------------------------- groups
def wilson_interval(successes: float, n: float, *, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion (NaN, NaN when n is 0)."""
    if n <= 0:
        return (math.nan, math.nan)
    z = stats.norm.ppf(1 - (1 - level) / 2)
    p = successes / n
    centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def compare_groups(
    summary: pd.DataFrame,
    *,
    by: str,
    numerator: str,
    denominator: str,
    threshold: int = config.SUPPRESSION_THRESHOLD,
) -> pd.DataFrame:
    """Pooled proportion per group of services, with a 95% Wilson interval and a test across groups.

    ``by``: ``model_variant``, ``host_setting`` (main host) or ``phase``. Columns:
    ``group, n_services, numerator, denominator, proportion, ci_low, ci_high,
    suppressed`` (a count from 1 to ``threshold`` in the numerator or in denominator -
    numerator). ``attrs["test"]``: method (chi-square test of independence, or Fisher's
    exact test for two groups with small expected counts), statistic, dof, p_value and a
    plain ``note``; ``attrs["note"]`` is that note. ``attrs["display"]`` holds the
    ``display.table`` arguments.
    """
    if by not in GROUPINGS:
        raise ParameterError(
            "cannot compare services by this", column="by", allowed=GROUPINGS, found=by
        )
    rows = one_row_per_service(summary)
    for col in (by, numerator, denominator):
        if col not in rows.columns:
            raise ParameterError(
                "column not in the summary", column=col, allowed=list(rows.columns)
            )
    grouped = (
        pd.DataFrame(
            {
                "group": rows[by].astype(str).to_numpy(),
                "numerator": pd.to_numeric(rows[numerator]).astype(float).to_numpy(),
                "denominator": pd.to_numeric(rows[denominator]).astype(float).to_numpy(),
            }
        )
        .groupby("group")
        .agg(
            n_services=("group", "size"),
            numerator=("numerator", "sum"),
            denominator=("denominator", "sum"),
        )
        .reset_index()
    )
    cis = [
        wilson_interval(k, n)
        for k, n in zip(grouped["numerator"], grouped["denominator"], strict=True)
    ]
    out = grouped.assign(
        proportion=lambda d: d["numerator"] / d["denominator"].where(d["denominator"] > 0),
        ci_low=[c[0] for c in cis],
        ci_high=[c[1] for c in cis],
        suppressed=lambda d: (
            is_small(d["numerator"], threshold=threshold)
            | is_small(d["denominator"] - d["numerator"], threshold=threshold)
        ),
    )
    test = _group_test(out)
    out.attrs.update(
        by=by,
        test=test,
        note=test["note"],
        display={
            "count_columns": ["numerator", "denominator"],
            "derived": {
                c: ("numerator", "denominator") for c in ("proportion", "ci_low", "ci_high")
            },
            "total_row": None,
            "total_column": None,
        },
    )
    return out


def _group_test(groups: pd.DataFrame) -> dict[str, object]:
    """Chi-square (or Fisher) test of the proportion being the same in every group."""
    used = groups.loc[groups["denominator"] > 0]
    table = np.column_stack([used["numerator"], used["denominator"] - used["numerator"]])
    result: dict[str, object] = {
        "method": "none",
        "statistic": math.nan,
        "dof": math.nan,
        "p_value": math.nan,
    }
    if len(used) < 2:
        return result | {"note": "Only one group has data, so groups cannot be compared."}
    if (table.sum(axis=0) == 0).any():
        return result | {
            "note": "Every case in every group has the same result, so there is nothing to test."
        }
    expected = stats.contingency.expected_freq(table)
    small = (expected < 5).mean()
    if len(used) == 2 and small > 0:
        _, p = stats.fisher_exact(table.astype(int))
        return result | {
            "method": "Fisher's exact test",
            "dof": 1,
            "p_value": float(p),
            "note": _p_sentence(p, "Fisher's exact test (counts too small for a chi-square test)"),
        }
    chi2, p, dof, _ = stats.chi2_contingency(table, correction=False)
    result |= {"method": "Chi-square test of independence", "statistic": float(chi2), "dof": int(dof),
               "p_value": float(p)}  # fmt: skip
    if small > 0.2 or (expected < 1).any():
        return result | {
            "note": "Counts are too small to test the difference between groups reliably "
            f"({small:.0%} of expected counts are below 5); do not read anything into the p-value "
            f"({p:.3f})."
        }
    return result | {"note": _p_sentence(p, "a chi-square test")}


def _p_sentence(p: float, test: str) -> str:
    if p < 0.05:
        return f"The proportion differs between groups more than chance alone would suggest ({test}, p = {p:.3f})."
    return f"The differences between groups could be due to chance ({test}, p = {p:.3f})."


# --------------------------------------------------------------------------- models
@dataclass(frozen=True)
class ModelResult:
    """A fitted model in plain terms.

    ``table``: one row per term with ``term, estimate`` (odds ratio or rate ratio),
    ``ci_low, ci_high`` (95%), ``p_value, n_obs, n_groups, family, method``; empty when
    ``ok`` is False. ``note`` says in plain words what was fitted, on what, or why not.
    """

    ok: bool
    note: str
    table: pd.DataFrame
    family: str = ""
    method: str = ""
    n_obs: int = 0
    n_groups: int = 0
    details: dict[str, object] = field(default_factory=dict)


MODEL_COLUMNS = (
    "term",
    "estimate",
    "ci_low",
    "ci_high",
    "p_value",
    "n_obs",
    "n_groups",
    "family",
    "method",
)


def _failed(
    note: str, *, family: str, method: str, n_obs: int = 0, n_groups: int = 0
) -> ModelResult:
    return ModelResult(
        ok=False,
        note=note,
        table=pd.DataFrame(columns=list(MODEL_COLUMNS)),
        family=family,
        method=method,
        n_obs=n_obs,
        n_groups=n_groups,
    )


def _ratio_table(
    params: pd.Series, bse: pd.Series, pvalues: pd.Series, labels: Mapping[str, str], **meta
) -> pd.DataFrame:
    """Coefficients on the log scale -> ratios with 95% Wald intervals."""
    z = stats.norm.ppf(0.975)
    return pd.DataFrame(
        {
            "term": [labels.get(t, t) for t in params.index],
            "estimate": np.exp(params.to_numpy()),
            "ci_low": np.exp((params - z * bse).to_numpy()),
            "ci_high": np.exp((params + z * bse).to_numpy()),
            "p_value": pvalues.to_numpy(),
            **{k: [v] * len(params) for k, v in meta.items()},
        }
    )[list(MODEL_COLUMNS)]


def _design(
    frame: pd.DataFrame, numeric: Sequence[str], categorical: Mapping[str, str]
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Intercept, numeric columns and treatment dummies (reference level given), with readable labels."""
    cols = {"Intercept": np.ones(len(frame))}
    labels = {"Intercept": "Intercept (baseline odds)"}
    for name in numeric:
        cols[name] = frame[name].astype(float).to_numpy()
        labels[name] = _NUMERIC_LABELS.get(name, name)
    for name, reference in categorical.items():
        values = frame[name].astype(str)
        for level in sorted(values.unique()):
            if level == reference:
                continue
            key = f"{name}[{level}]"
            cols[key] = values.eq(level).astype(float).to_numpy()
            labels[key] = f"{_CATEGORY_LABELS.get(name, name)}: {level} (vs {reference})"
    return pd.DataFrame(cols, index=frame.index), labels


_NUMERIC_LABELS = {"age_centred": "Age (per year older than 14)"}
_CATEGORY_LABELS = {
    "gender2": "Gender",
    "looked_after": "Looked after",
    "risk_at_referral": "Risk at referral",
    "model_variant": "Model variant",
    "programme_year": "Year in the programme",
}


def _fit_problem(
    caught: Sequence[warnings.WarningMessage], params: np.ndarray, bse: np.ndarray
) -> str | None:
    """A plain reason the fit cannot be trusted, or None."""
    texts = [f"{w.category.__name__}: {w.message}" for w in caught]
    if any("separation" in t.lower() for t in texts):
        return "some groups all had the same result (perfect separation)"
    if any("converge" in t.lower() for t in texts):
        return "the fitting procedure did not converge"
    if not (np.isfinite(params).all() and np.isfinite(bse).all()):
        return "some estimates could not be computed"
    if (np.abs(params[1:]) > 10).any() if len(params) > 1 else False:
        return (
            "some estimates are extreme, a sign that a group all had the same result (separation)"
        )
    return None


def _trusted_table(
    caught: list,
    params: pd.Series,
    bse: pd.Series,
    pvalues: pd.Series,
    labels: list[str],
    *,
    n: int,
    k: int,
    family: str,
    method: str,
) -> pd.DataFrame | ModelResult:
    """The ratio table of a fit, or a failed result saying plainly why the fit cannot be trusted."""
    problem = _fit_problem(caught, params.to_numpy(float), bse.to_numpy(float))
    if problem:
        return _failed(f"The model could not be trusted: {problem}.", family=family, method=method,
                       n_obs=n, n_groups=k)  # fmt: skip
    return _ratio_table(
        params, bse, pvalues, labels, n_obs=n, n_groups=k, family=family, method=method
    )


def _risk_model_data(
    tables: Mapping[str, pd.DataFrame], year: int | None
) -> tuple[pd.DataFrame, int, int]:
    """Young people who could have had their risk reduced, with complete covariates.

    Returns the frame, the number with both ratings and above 'Not at risk', and the
    number of those dropped for a missing covariate.
    """
    cases = Period(year).rows(load.table(tables, "cases"))
    context = service_context(tables)[["service_id", "model_variant"]]
    frame = pd.DataFrame(
        {
            "service_id": cases["service_id"].astype(str).to_numpy(),
            "risk_reduced": cases["risk_reduced"].astype("boolean").to_numpy(),
            "age": pd.to_numeric(cases["age"]).astype(float).to_numpy(),
            "gender": cases["gender"].astype(object).to_numpy(),
            "looked_after": cases["looked_after"].astype(object).to_numpy(),
            "risk_at_referral": cases["risk_at_referral"].astype(object).to_numpy(),
        }
    ).merge(context, on="service_id", how="left")
    rated = frame.loc[frame["risk_reduced"].notna() & frame["risk_at_referral"].ne("Not at risk")]
    complete = rated.dropna(subset=["age", "gender", "looked_after", "risk_at_referral"]).assign(
        y=lambda d: d["risk_reduced"].astype(bool).astype(float),
        age_centred=lambda d: d["age"] - 14.0,
        gender2=lambda d: np.where(d["gender"].eq("Female"), "Female", "Male or other"),
    )
    return complete, len(rated), len(rated) - len(complete)


def risk_reduction_model(
    tables: Mapping[str, pd.DataFrame],
    *,
    year: int | str = "all",
    include_variant: bool = True,
    min_obs: int = MIN_RISK_MODEL_OBS,
) -> ModelResult:
    """GEE logistic model of risk reduced on young-person covariates, services as clusters.

    Outcome: risk lower at latest review than at referral, for young people with both
    ratings whose risk at referral was above "Not at risk" (risk cannot fall below the
    lowest level). Covariates: age (centred at 14), gender (female vs male or other),
    looked after, risk level at referral (vs Low) and, when ``include_variant`` and the
    data have more than one, model variant. statsmodels GEE, Binomial family (logit),
    exchangeable working correlation within service, robust standard errors. Estimates
    are odds ratios. Returns ``ok=False`` with a plain note (never raises) when data are
    too few or the fit fails.
    """
    family, method = "Binomial (logit)", "GEE, exchangeable correlation within service"
    chosen = Period.parse(year).year
    data, n_rated, n_dropped = _risk_model_data(tables, chosen)
    n, k = len(data), data["service_id"].nunique()
    if n < min_obs:
        return _failed(
            f"Too few young people with both risk ratings (n={suppress_value(n)}) to fit a model; at least {min_obs} are needed.",
            family=family, method=method, n_obs=n, n_groups=k,
        )  # fmt: skip
    if k < MIN_MODEL_GROUPS:
        return _failed(
            f"Too few services with young people to model (n={k}); at least {MIN_MODEL_GROUPS} are needed "
            "for services to be a grouping factor.",
            family=family, method=method, n_obs=n, n_groups=k,
        )  # fmt: skip
    if data["y"].nunique() < 2:
        return _failed(
            "Every young person had the same result (all reduced or none), so there is nothing to model.",
            family=family, method=method, n_obs=n, n_groups=k,
        )  # fmt: skip
    categorical = {"gender2": "Female", "looked_after": "No", "risk_at_referral": "Low"}
    variant_used = include_variant and data["model_variant"].nunique() > 1
    if variant_used:
        categorical["model_variant"] = _reference_level(data["model_variant"])
    exog, labels = _design(
        data, ["age_centred"], {c: r for c, r in categorical.items() if data[c].nunique() > 1}
    )
    return _fit_gee(
        data, exog, labels, family=family, method=method, n_rated=n_rated, n_dropped=n_dropped
    )


def _reference_level(values: pd.Series) -> str:
    """The reference variant: the first in the programme's list that the data have (stable across reports)."""
    present = set(values.astype(str))
    return next((v for v in MODEL_VARIANTS if v in present), sorted(present)[0])


def _fit_gee(
    data: pd.DataFrame, exog: pd.DataFrame, labels: Mapping[str, str], *, family: str, method: str,
    n_rated: int, n_dropped: int,
) -> ModelResult:  # fmt: skip
    """Fit the GEE logistic model and turn it into a ModelResult (ok=False on any fit problem)."""
    import statsmodels.api as sm

    n, k = len(data), data["service_id"].nunique()
    groups = pd.factorize(data["service_id"])[0]
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = sm.GEE(
                data["y"].to_numpy(float), exog, groups=groups,
                family=sm.families.Binomial(), cov_struct=sm.cov_struct.Exchangeable(),
            )  # fmt: skip
            fit = model.fit(maxiter=100)
            params, bse, pvalues = fit.params, fit.bse, fit.pvalues
    except (np.linalg.LinAlgError, ValueError, ZeroDivisionError, OverflowError) as exc:
        return _failed(
            f"The model could not be fitted ({_plain(exc)}).",
            family=family,
            method=method,
            n_obs=n,
            n_groups=k,
        )
    table = _trusted_table(
        caught, params, bse, pvalues, labels, n=n, k=k, family=family, method=method
    )
    if isinstance(table, ModelResult):
        return table
    dropped = (
        f" {suppress_value(n_dropped)} more were left out for a missing age, gender or looked-after status."
        if n_dropped
        else ""
    )
    note = (
        f"Logistic GEE model of risk reduction for {suppress_value(n)} young people in {k} services with both risk "
        f"ratings and risk above 'Not at risk' at referral.{dropped} Estimates are odds ratios: above 1 "
        "means more likely to have their risk reduced than the reference group, holding the other terms "
        "fixed. Services are clusters (exchangeable correlation, robust standard errors)."
    )
    if k < 10:
        note += f" With only {k} services the confidence intervals may be too narrow; read them with caution."
    return ModelResult(
        True, note, table, family, method, n, k, {"n_rated": n_rated, "n_dropped": n_dropped}
    )


def _plain(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:120]


# --------------------------------------------------------------------------- referral model
def _service_year_exposure(
    tables: Mapping[str, pd.DataFrame], rows: pd.DataFrame
) -> tuple[pd.Series, str]:
    """Log exposure per service-year and a sentence saying what it is.

    Child population (0-17) of the service's local-authority areas from ``context``, for
    the nearest year available (the synthetic context years do not overlap the programme
    years); when any service's areas have no population, Spoke workers in post that year
    (from ``spokes.start_year``; ``services.n_spokes`` when a service has no Spoke rows)
    for every row, so all rows share one kind of exposure.
    """
    population = _area_population(tables, rows)
    if population is not None:
        used_years = sorted(set(population["context_year"]))
        programme = sorted(set(rows["year"]))
        same = set(used_years) == set(programme)
        note = "Exposure: child population (0-17) of each service's local-authority areas" + (
            "."
            if same
            else f"; the context data have no programme years ({', '.join(map(str, programme))}), "
            f"so the nearest available year ({', '.join(map(str, used_years))}) was used."
        )
        return np.log(population["population"].astype(float)), note
    spokes = load.table(tables, "spokes")
    in_post = (
        pd.DataFrame(
            {
                "service_id": spokes["service_id"].astype(str),
                "start": spokes["start_year"].astype("Int64"),
            }
        )
        .merge(rows[["service_id", "year"]].drop_duplicates(), on="service_id")
        .loc[lambda d: d["start"].le(d["year"]).fillna(False)]
        .groupby(["service_id", "year"])
        .size()
        .rename("in_post")
    )
    spokes_n = rows.join(in_post, on=["service_id", "year"])["in_post"].astype(float)
    fallback = rows["n_spokes"].astype(float)
    exposure = spokes_n.where(spokes_n > 0, fallback)
    return np.log(exposure), (
        "Exposure: Spoke workers in post that year (child population was not available for every "
        "service's areas)."
    )


def _area_population(tables: Mapping[str, pd.DataFrame], rows: pd.DataFrame) -> pd.DataFrame | None:
    """Child population of each row's service areas for the context year nearest the row's year."""
    context = tables.get("context")
    services = load.table(tables, "services")
    if context is None or context.empty or "population" not in context:
        return None
    pop = pd.DataFrame(
        {
            "la_code": context["la_code"].astype(str).to_numpy(),
            "context_year": context["year"].astype(int).to_numpy(),
            "population": pd.to_numeric(context["population"]).astype(float).to_numpy(),
        }
    ).dropna()
    areas = (
        pd.DataFrame(
            {
                "service_id": services["service_id"].astype(str),
                "la_code": services["la_codes"].astype(str),
            }
        )
        .assign(la_code=lambda d: d["la_code"].str.split(";"))
        .explode("la_code")
        .assign(la_code=lambda d: d["la_code"].str.strip())
    )
    out = []
    for row in rows[["service_id", "year"]].itertuples(index=False):
        codes = set(areas.loc[areas["service_id"].eq(row.service_id), "la_code"])
        have = pop.loc[pop["la_code"].isin(codes)]
        years = have.groupby("context_year")["la_code"].nunique()
        complete = years[years.eq(len(codes))].index
        if not codes or len(complete) == 0:
            return None
        nearest = min(complete, key=lambda y: (abs(y - row.year), y))
        total = have.loc[have["context_year"].eq(nearest), "population"].sum()
        if total <= 0:
            return None
        out.append({"context_year": int(nearest), "population": total})
    return pd.DataFrame(out, index=rows.index)


def _referral_data(tables: Mapping[str, pd.DataFrame], year: int | None) -> pd.DataFrame:
    """Young people referred per service-year with variant, year in programme and n_spokes."""
    cases = Period(year).rows(load.table(tables, "cases"))
    counts = (
        pd.DataFrame(
            {
                "service_id": cases["service_id"].astype(str),
                "year": cases["year"].astype(int),
                "young_person_id": cases["young_person_id"],
            }
        )  # fmt: skip
        .groupby(["service_id", "year"])["young_person_id"]
        .nunique()
        .rename("referred")
    )
    context = service_context(tables)
    services = load.table(tables, "services")
    start = pd.Series(
        pd.to_datetime(services["start_date"]).dt.year.to_numpy(),
        index=services["service_id"].astype(str),
    )
    return (
        _submitted(tables, year)
        .join(counts, on=["service_id", "year"])
        .assign(referred=lambda d: d["referred"].fillna(0).astype(float))
        .merge(context, on="service_id", how="left")
        .assign(
            programme_year=lambda d: (d["year"] - d["service_id"].map(start) + 1).map(
                lambda v: f"Year {int(v)}" if pd.notna(v) else "Unknown"
            )
        )
        .reset_index(drop=True)
    )


def referral_model(
    tables: Mapping[str, pd.DataFrame],
    *,
    year: int | str = "all",
    include_variant: bool = True,
    min_obs: int = MIN_REFERRAL_MODEL_OBS,
) -> ModelResult:
    """Poisson (or negative binomial) model of young people referred per service-year.

    Counts per service-year with an exposure offset (see :func:`_service_year_exposure`:
    child population of the service's areas, nearest context year; else Spoke workers in
    post). Terms: year in the programme (when ``year="all"``) and model variant. Fitted
    first as a Poisson GLM; when Pearson chi-square / df exceeds 1.5 the data are
    over-dispersed and a negative binomial (NB2) model is fitted instead, and the note says
    so. Standard errors are cluster-robust by service (service is the grouping factor).
    Estimates are rate ratios.
    """
    chosen = Period.parse(year).year
    data = _referral_data(tables, chosen)
    n, k = len(data), data["service_id"].nunique()
    family, method = "Poisson (log)", "GLM with cluster-robust standard errors by service"
    if n < min_obs:
        return _failed(
            f"Too few service-years (n={n}) to fit a model of referrals; at least {min_obs} are needed.",
            family=family, method=method, n_obs=n, n_groups=k,
        )  # fmt: skip
    if k < MIN_MODEL_GROUPS:
        return _failed(
            f"Too few services (n={k}) to model referrals with service as a grouping factor; at least "
            f"{MIN_MODEL_GROUPS} are needed.",
            family=family, method=method, n_obs=n, n_groups=k,
        )  # fmt: skip
    if data["referred"].sum() == 0:
        return _failed("No young people were referred, so there is nothing to model.", family=family,
                       method=method, n_obs=n, n_groups=k)  # fmt: skip
    offset, exposure_note = _service_year_exposure(tables, data)
    categorical = {}
    if data["programme_year"].nunique() > 1:
        categorical["programme_year"] = "Year 1"
    if include_variant and data["model_variant"].nunique() > 1:
        categorical["model_variant"] = _reference_level(data["model_variant"])
    exog, labels = _design(data, [], categorical)
    if exog.shape[1] >= n - 2:
        return _failed(
            f"Too few service-years (n={n}) for {exog.shape[1]} model terms.",
            family=family, method=method, n_obs=n, n_groups=k,
        )  # fmt: skip
    return _fit_counts(data, exog, labels, offset.to_numpy(float), exposure_note)


def _fit_counts(
    data: pd.DataFrame,
    exog: pd.DataFrame,
    labels: Mapping[str, str],
    offset: np.ndarray,
    exposure_note: str,
) -> ModelResult:
    """Poisson GLM, switching to negative binomial when over-dispersed; cluster-robust by service."""
    import statsmodels.api as sm

    y = data["referred"].to_numpy(float)
    n, k = len(data), data["service_id"].nunique()
    groups = pd.factorize(data["service_id"])[0]
    method = "GLM with cluster-robust standard errors by service"
    labels = {**labels, "Intercept": "Intercept (baseline rate per unit of exposure)"}
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            poisson = sm.GLM(y, exog, family=sm.families.Poisson(), offset=offset).fit()
            dispersion = (
                float(poisson.pearson_chi2 / poisson.df_resid) if poisson.df_resid > 0 else math.nan
            )
            if dispersion > OVERDISPERSION_RATIO:
                family = "Negative binomial (NB2, log)"
                fit = sm.NegativeBinomial(y, exog, offset=offset).fit(
                    disp=0, maxiter=200, cov_type="cluster", cov_kwds={"groups": groups}
                )
                alpha = float(fit.params.get("alpha", math.nan))
                params, bse, pvalues = (
                    s.drop("alpha", errors="ignore") for s in (fit.params, fit.bse, fit.pvalues)
                )
            else:
                family = "Poisson (log)"
                fit = sm.GLM(y, exog, family=sm.families.Poisson(), offset=offset).fit(
                    cov_type="cluster", cov_kwds={"groups": groups}
                )
                alpha = math.nan
                params, bse, pvalues = fit.params, fit.bse, fit.pvalues
    except (np.linalg.LinAlgError, ValueError, ZeroDivisionError, OverflowError) as exc:
        return _failed(f"The model could not be fitted ({_plain(exc)}).", family="Poisson (log)", method=method,
                       n_obs=n, n_groups=k)  # fmt: skip
    table = _trusted_table(
        caught, params, bse, pvalues, labels, n=n, k=k, family=family, method=method
    )
    if isinstance(table, ModelResult):
        return table
    choice = (
        f"The counts were over-dispersed (Pearson chi-square / df = {dispersion:.2f} > {OVERDISPERSION_RATIO}), "
        "so a negative binomial model was used instead of Poisson."
        if family.startswith("Negative")
        else f"A Poisson model fitted (Pearson chi-square / df = {dispersion:.2f}, not over-dispersed)."
    )
    note = (
        f"Model of young people referred in {n} service-years from {k} services. {choice} {exposure_note} "
        "Estimates are rate ratios: above 1 means more referrals per unit of exposure than the reference "
        "group. Standard errors are cluster-robust by service."
    )
    if k < 10:
        note += f" With only {k} services the confidence intervals may be too narrow; read them with caution."
    return ModelResult(
        True, note, table, family, method, n, k, {"dispersion": dispersion, "alpha": alpha}
    )


#: Plain names of the groupings, for titles.
GROUP_LABELS: Mapping[str, str] = {
    "model_variant": "model variant",
    "host_setting": "main host setting",
    "phase": "phase",
}


def group_table(groups: pd.DataFrame) -> pd.DataFrame:
    """:func:`compare_groups` output ready to show: percentages, plain headers, group as the index.

    ``attrs["display"]`` holds the matching ``display.table`` arguments (the
    percentages are derived from the counts, so they are hidden with them).
    """
    out = (
        groups.set_index("group")
        .loc[:, ["n_services", "numerator", "denominator", "proportion", "ci_low", "ci_high"]]
        .assign(**{c: lambda d, c=c: d[c] * 100 for c in ("proportion", "ci_low", "ci_high")})
        .rename(
            columns={
                "n_services": "Services",
                "numerator": "Reduced",
                "denominator": "Rated",
                "proportion": "%",
                "ci_low": "95% CI low",
                "ci_high": "95% CI high",
            }
        )
    )
    out.index.name = GROUP_LABELS.get(groups.attrs.get("by", ""), "group")
    out.attrs["display"] = {
        "count_columns": ["Reduced", "Rated"],
        "derived": {c: ("Reduced", "Rated") for c in ("%", "95% CI low", "95% CI high")},
        "total_row": None,
        "total_column": None,
    }
    return out


def outcome_ratings_by_service(
    tables: Mapping[str, pd.DataFrame], *, year: int | str = "all"
) -> pd.DataFrame:
    """Services as rows, the six outcomes as columns, each cell the outcome's rating.

    For one year, each service's rating that year; for ``"all"``, the rating over the
    service's years pooled. Ratings are words, not counts of people.
    """
    from hubspoke.analysis import outcomes

    chosen = Period.parse(year).year
    if chosen is None:
        table = outcomes.indicators(tables, by=("service_id",))
    else:
        table = outcomes.indicators(tables, year=chosen)
    rated = outcomes.ratings(table)
    wide = (
        rated.assign(rating=rated["rating"].astype(str))
        .pivot_table(
            index="service_id", columns="outcome", values="rating", aggfunc="first", observed=True
        )
        .reindex(service_order(rated["service_id"].unique()))
    )
    order = rated.sort_values("outcome_id")["outcome"].drop_duplicates().tolist()
    wide = wide.reindex(columns=order)
    wide.index.name = "Service"
    wide.columns.name = None
    return wide
