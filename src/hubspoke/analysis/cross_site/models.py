"""Models across services: risk reduction (GEE logistic) and referrals (Poisson or negative binomial).

Both treat services as clusters, since young people in one service are not independent.
Models never raise for data reasons: too few data, a model that does not converge or
perfect separation come back as ``ModelResult(ok=False, note=...)`` with the reason in
plain words.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

from hubspoke import load
from hubspoke.analysis.cross_site.summary import _submitted, service_context
from hubspoke.load import Period
from hubspoke.spec.vocab import MODEL_VARIANTS

#: Minimum young people (with both risk ratings) for the risk-reduction model.
MIN_RISK_MODEL_OBS = 50
#: Minimum service-years for the referral model.
MIN_REFERRAL_MODEL_OBS = 10
#: Minimum services for a model with service as a grouping factor.
MIN_MODEL_GROUPS = 5
#: Pearson chi-square / df above which the referral model switches to negative binomial.
OVERDISPERSION_RATIO = 1.5


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
    labels: Mapping[str, str],
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
            f"Too few young people with both risk ratings to fit a model; at least {min_obs} are needed.",
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
    # Counts of young people stay out of the words: the model's n and the number left out
    # are not cells of the release, and one minus the other could reveal a small count.
    dropped = (
        " Young people with a missing age, gender or looked-after status were left out."
        if n_dropped
        else ""
    )
    note = (
        f"Logistic GEE model of risk reduction for young people in {k} services with both risk "
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
