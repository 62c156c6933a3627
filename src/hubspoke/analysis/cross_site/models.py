"""Models across services: risk reduction (GEE and mixed logistic) and referrals (GEE count model).

Young people in one service are not independent, and the evaluation has few services, so
every model treats services as clusters and its intervals allow for how few there are:

* The GEE models (:func:`risk_reduction_model`, :func:`referral_model`) use the
  bias-reduced sandwich covariance of Mancl and DeRouen (2001, Biometrics 57:126-134),
  statsmodels' ``cov_type="bias_reduced"``, with t intervals and p-values on K - p degrees
  of freedom (K services, p coefficients): with few clusters the sandwich is too small
  and the normal reference too narrow, and Li and Redden (2015, Statistics in Medicine
  34:281-296) found the t reference on K - p degrees of freedom needed for the
  bias-corrected sandwich to keep its nominal error rate (with the Mancl-DeRouen
  correction it errs towards wide intervals).
* The mixed model (:func:`risk_reduction_mixed_model`, random intercept by service) is
  fitted by maximum likelihood with adaptive Gauss-Hermite quadrature. Its intervals are
  Wald intervals from the observed information, on t with "between-within" degrees of
  freedom (terms constant within services: K minus the number of such terms; the rest:
  n - K minus the number of within-service terms), and its intra-class correlation on
  the latent scale has a profile-likelihood interval.

Models never raise for data reasons: too few data, a model that does not converge or
perfect separation come back as ``ModelResult(ok=False, note=...)`` with the reason in
plain words. ``ModelResult.table`` keeps full precision; words and reports format it with
:func:`format_ratio`, :func:`format_interval` and :func:`format_p`. Every result carries
a one-sentence ``reading`` for funders, written from its numbers, and
:func:`model_diagnostics` gives the analyst the fit's summary, dispersion, QIC and
residuals by service.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from hubspoke import load
from hubspoke.analysis.common import format_interval, format_ratio
from hubspoke.analysis.cross_site.memo import FrameMemo
from hubspoke.analysis.cross_site.summary import _submitted, service_context
from hubspoke.errors import ParameterError
from hubspoke.load import Period
from hubspoke.spec.vocab import MODEL_VARIANTS

if TYPE_CHECKING:  # imported in the functions that fit: statsmodels.api is most of a second
    # to import, and only the reports that fit models need it
    import statsmodels.api as sm

#: Minimum young people (with both risk ratings) for the risk-reduction models.
MIN_RISK_MODEL_OBS = 50
#: Minimum service-years for the referral model.
MIN_REFERRAL_MODEL_OBS = 10
#: Minimum services for a model with service as a grouping factor.
MIN_MODEL_GROUPS = 5
#: Pearson chi-square / df above which the referral model uses the negative binomial variance.
OVERDISPERSION_RATIO = 1.5
#: Fewer services than this: notes and readings carry a caution.
FEW_SERVICES = 10
#: Fewest t degrees of freedom a model may leave (services beyond the service-level terms).
MIN_T_DF = 1
#: Adaptive Gauss-Hermite points per service in the mixed model's likelihood.
QUADRATURE_POINTS = 10
#: Variance of the standard logistic distribution: the level-1 variance on the latent scale.
LOGISTIC_LATENT_VARIANCE = math.pi**2 / 3


def latent_icc(between_variance: float) -> float:
    """Intra-class correlation of a logistic random-intercept model on the latent scale.

    ``var_u / (var_u + pi^2 / 3)``: the share of latent variance lying between services,
    the level-1 variance being that of the standard logistic distribution (Snijders and
    Bosker, Multilevel Analysis, 2nd ed., chapter 17).
    """
    if not between_variance >= 0:
        return math.nan
    if math.isinf(between_variance):
        return 1.0
    return between_variance / (between_variance + LOGISTIC_LATENT_VARIANCE)


# --------------------------------------------------------------------------- results
@dataclass(frozen=True)
class ModelResult:
    """A fitted model in plain terms.

    ``table``: one row per term with ``term, estimate`` (odds ratio or rate ratio),
    ``ci_low, ci_high`` (95%), ``p_value, df`` (t degrees of freedom of the interval and
    p-value), ``n_obs, n_groups, family, method``, at full precision; empty when ``ok`` is
    False. ``note`` says in plain words what was fitted, on what, or why not; ``reading`` is
    one plain sentence for funders written from the numbers. ``details`` holds the fit's
    own figures (degrees of freedom, dispersion, ICC...) and, under ``"fit"``, what
    :func:`model_diagnostics` needs.
    """

    ok: bool
    note: str
    table: pd.DataFrame
    family: str = ""
    method: str = ""
    n_obs: int = 0
    n_groups: int = 0
    details: dict[str, object] = field(default_factory=dict)
    reading: str = ""


MODEL_COLUMNS = (
    "term",
    "estimate",
    "ci_low",
    "ci_high",
    "p_value",
    "df",
    "n_obs",
    "n_groups",
    "family",
    "method",
)


def _first_sentence(text: str) -> str:
    return re.split(r"(?<=[.!?])\s+(?=[A-Z])", text.strip(), maxsplit=1)[0]


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
        reading=_first_sentence(note),
    )


# --------------------------------------------------------------------------- terms and design
@dataclass(frozen=True)
class _Terms:
    """Per design column: its table label, its words in a reading and the factor it belongs to."""

    labels: dict[str, str]
    subjects: dict[str, str]
    comparisons: dict[str, str]
    factors: dict[str, str]


#: Numeric terms: table label, subject in a reading, comparison, factor in words.
_NUMERIC = {"age_centred": ("Age (per year older than 14)", "each year older", "per year", "age")}
#: Categorical terms: label prefix, subject template (``{level}``), factor in words.
_CATEGORIES = {
    "gender2": ("Gender", "{level} young people", "gender"),
    "looked_after": ("Looked after", "young people whose looked-after status was {level}",
                     "looked-after status"),
    "risk_at_referral": ("Risk at referral", "young people at {level} risk at referral",
                         "risk at referral"),
    "model_variant": ("Model variant", "services of the {level} variant", "model variant"),
    "programme_year": ("Year in the programme", "{level} of a service's programme",
                       "year in the programme"),
}  # fmt: skip
_SUBJECT_OVERRIDES = {("looked_after", "Yes"): "looked-after young people"}


def _design(
    frame: pd.DataFrame,
    numeric: Sequence[str],
    categorical: Mapping[str, str],
    *,
    intercept: str = "Intercept (baseline odds)",
) -> tuple[pd.DataFrame, _Terms]:
    """Intercept, numeric columns and treatment dummies (reference level given), with their words."""
    cols = {"Intercept": np.ones(len(frame))}
    terms = _Terms({"Intercept": intercept}, {}, {}, {})
    for name in numeric:
        cols[name] = frame[name].astype(float).to_numpy()
        label, subject, comparison, factor = _NUMERIC.get(name, (name, name, "per unit", name))
        terms.labels[name], terms.subjects[name] = label, subject
        terms.comparisons[name], terms.factors[name] = comparison, factor
    for name, reference in categorical.items():
        prefix, template, factor = _CATEGORIES.get(name, (name, "{level}", name))
        values = frame[name].astype(str)
        for level in sorted(values.unique()):
            if level == reference:
                continue
            key = f"{name}[{level}]"
            cols[key] = values.eq(level).astype(float).to_numpy()
            terms.labels[key] = f"{prefix}: {level} (vs {reference})"
            terms.subjects[key] = _SUBJECT_OVERRIDES.get(
                (name, level), template.format(level=level)
            )
            terms.comparisons[key] = f"against {reference}"
            terms.factors[key] = factor
    return pd.DataFrame(cols, index=frame.index), terms


def _ratio_table(
    params: pd.Series, bse: pd.Series, terms: _Terms, *, df: float | np.ndarray, **meta: object
) -> pd.DataFrame:
    """Coefficients on the log scale -> ratios with 95% t intervals and t p-values on ``df``."""
    from scipy import stats

    dfs = np.broadcast_to(np.asarray(df, dtype=float), params.shape)
    crit = stats.t.ppf(0.975, dfs)
    tstat = params.to_numpy(float) / bse.to_numpy(float)
    return pd.DataFrame(
        {
            "term": [terms.labels.get(t, t) for t in params.index],
            "estimate": np.exp(params.to_numpy(float)),
            "ci_low": np.exp(params.to_numpy(float) - crit * bse.to_numpy(float)),
            "ci_high": np.exp(params.to_numpy(float) + crit * bse.to_numpy(float)),
            "p_value": 2 * stats.t.sf(np.abs(tstat), dfs),
            "df": dfs.astype(float),
            **{k: [v] * len(params) for k, v in meta.items()},
        }
    )[list(MODEL_COLUMNS)]


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


def _untrusted(
    caught: Sequence[warnings.WarningMessage], params: pd.Series, bse: pd.Series, *, family: str,
    method: str, n: int, k: int,
) -> ModelResult | None:  # fmt: skip
    """A failed result saying plainly why the fit cannot be trusted, or None when it can."""
    problem = _fit_problem(caught, params.to_numpy(float), bse.to_numpy(float))
    if problem:
        return _failed(f"The model could not be trusted: {problem}.", family=family, method=method,
                       n_obs=n, n_groups=k)  # fmt: skip
    return None


def _too_few_services_for_terms(
    k: int, n_terms: int, *, family: str, method: str, n: int, which: str = "terms"
) -> ModelResult:
    """The failed result when the t degrees of freedom (services minus terms) would be below 1."""
    return _failed(
        f"Too few services ({k}) for the {n_terms} {which} of the model: the intervals need at "
        f"least {MIN_T_DF} more service than there are {which}.",
        family=family, method=method, n_obs=n, n_groups=k,
    )  # fmt: skip


def _plain(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:120]


# --------------------------------------------------------------------------- readings
@dataclass(frozen=True)
class _Wording:
    """How a reading speaks of one model's outcome."""

    lead: str  # "Risk was"
    up: str  # "more likely to be reduced for"
    down: str  # "less likely to be reduced for"
    subject: str  # "the chance of risk being reduced"
    ratio: str  # "odds ratio"


_RISK_WORDS = _Wording(
    lead="Risk was",
    up="more likely to be reduced for",
    down="less likely to be reduced for",
    subject="the chance of risk being reduced",
    ratio="odds ratio",
)


def _referral_words(unit: str) -> _Wording:
    return _Wording(
        lead=f"Referrals {unit} were",
        up="higher for",
        down="lower for",
        subject=f"referrals {unit}",
        ratio="rate ratio",
    )


def _joined(items: Sequence[str], word: str = "and") -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {word} {items[-1]}"


def _caution(k: int) -> str:
    return f"; with only {k} services, read this with caution" if k < FEW_SERVICES else ""


def _reading(
    table: pd.DataFrame, keys: Sequence[str], terms: _Terms, words: _Wording, *, k: int,
    extra: str = "",
) -> str:  # fmt: skip
    """One sentence: which terms' 95% intervals exclude 1 and in which direction, from the numbers."""
    rows = table.assign(key=list(keys)).loc[lambda d: d["key"].ne("Intercept")]

    def described(row: pd.Series) -> str:
        return (
            f"{terms.subjects[row['key']]} ({words.ratio} {format_ratio(row['estimate'])} "
            f"{terms.comparisons[row['key']]}; 95% CI {format_interval(row['ci_low'], row['ci_high'])})"
        )

    ups = [described(r) for _, r in rows.loc[rows["ci_low"] > 1].iterrows()]
    downs = [described(r) for _, r in rows.loc[rows["ci_high"] < 1].iterrows()]
    if not ups and not downs:
        factors = list(dict.fromkeys(terms.factors[key] for key in rows["key"]))
        by = f" by {_joined(factors, 'or')}" if factors else ""
        text = (
            f"No term's 95% confidence interval excluded 1, so the model shows no clear difference "
            f"in {words.subject}{by}"
        )
    else:
        parts = ([f"{words.up} {_joined(ups)}"] if ups else []) + (
            [f"{words.down} {_joined(downs)}"] if downs else []
        )
        text = f"{words.lead} {' and '.join(parts)}"
        if len(ups) + len(downs) < len(rows):
            text += "; the intervals of the other terms included 1"
    return f"{text}{extra}{_caution(k)}."


# --------------------------------------------------------------------------- risk-reduction data
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


@dataclass(frozen=True)
class _RiskInputs:
    data: pd.DataFrame
    exog: pd.DataFrame
    terms: _Terms
    n_rated: int
    n_dropped: int
    variant_dropped: bool = False  # left out: too few services for its terms


#: The fewest t degrees of freedom a design leaves, given each row's service code.
_DfRule = Callable[[pd.DataFrame, np.ndarray], float]


def _gee_df(exog: pd.DataFrame, groups: np.ndarray) -> float:
    """K - p: services minus coefficients."""
    return float(len(np.unique(groups)) - exog.shape[1])


def _risk_inputs(
    tables: Mapping[str, pd.DataFrame], year: int | str, *, include_variant: bool, min_obs: int,
    family: str, method: str, df_rule: _DfRule = _gee_df,
) -> _RiskInputs | ModelResult:  # fmt: skip
    """The risk models' data and design, or a failed result saying why there is nothing to fit.

    Model variant is left out (and ``variant_dropped`` set) when its terms would leave
    fewer than :data:`MIN_T_DF` degrees of freedom by ``df_rule``: a service-level term
    needs services to estimate it.
    """
    data, n_rated, n_dropped = _risk_model_data(tables, Period.parse(year).year)
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
    categorical = {
        c: r
        for c, r in {"gender2": "Female", "looked_after": "No", "risk_at_referral": "Low"}.items()
        if data[c].nunique() > 1
    }
    exog, terms = _design(data, ["age_centred"], categorical)
    if not (include_variant and data["model_variant"].nunique() > 1):
        return _RiskInputs(data, exog, terms, n_rated, n_dropped)
    with_variant = {**categorical, "model_variant": _reference_level(data["model_variant"])}
    exog_v, terms_v = _design(data, ["age_centred"], with_variant)
    if df_rule(exog_v, pd.factorize(data["service_id"])[0]) < MIN_T_DF:
        return _RiskInputs(data, exog, terms, n_rated, n_dropped, variant_dropped=True)
    return _RiskInputs(data, exog_v, terms_v, n_rated, n_dropped)


def _reference_level(values: pd.Series) -> str:
    """The reference variant: the first in the programme's list that the data have (stable across reports)."""
    present = set(values.astype(str))
    return next((v for v in MODEL_VARIANTS if v in present), sorted(present)[0])


def _left_out(n_dropped: int) -> str:
    # Counts of young people stay out of the words: the model's n and the number left out
    # are not cells of the release, and one minus the other could reveal a small count.
    return (
        " Young people with a missing age, gender or looked-after status were left out."
        if n_dropped
        else ""
    )


def _variant_note(k: int, dropped: bool) -> str:
    return (
        f" Model variant was left out: {k} services are too few to estimate its terms alongside "
        "the others."
        if dropped
        else ""
    )


def _few_services_note(k: int) -> str:
    return (
        f" With only {k} services even these intervals rest on few services; read them with caution."
        if k < FEW_SERVICES
        else ""
    )


# --------------------------------------------------------------------------- GEE logistic
_GEE_METHOD = "GEE, exchangeable correlation within service, bias-reduced standard errors"


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
    exchangeable working correlation within service, bias-reduced (Mancl-DeRouen)
    covariance, 95% t intervals and p-values on K - p degrees of freedom (see the module
    docstring). Estimates are population-averaged odds ratios. Returns ``ok=False`` with a
    plain note (never raises) when data are too few or the fit fails.
    """
    family, method = "Binomial (logit)", _GEE_METHOD
    inputs = _risk_inputs(tables, year, include_variant=include_variant, min_obs=min_obs,
                          family=family, method=method)  # fmt: skip
    if isinstance(inputs, ModelResult):
        return inputs
    return _fit_gee(inputs, family=family, method=method)


def _fit_gee(inputs: _RiskInputs, *, family: str, method: str) -> ModelResult:
    """Fit the GEE logistic model and turn it into a ModelResult (ok=False on any fit problem)."""
    import statsmodels.api as sm

    data, exog, terms = inputs.data, inputs.exog, inputs.terms
    n, k, p = len(data), data["service_id"].nunique(), exog.shape[1]
    df = k - p
    if df < MIN_T_DF:
        return _too_few_services_for_terms(k, p, family=family, method=method, n=n)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = sm.GEE(
                data["y"].to_numpy(float), exog, groups=pd.factorize(data["service_id"])[0],
                family=sm.families.Binomial(), cov_struct=sm.cov_struct.Exchangeable(),
            )  # fmt: skip
            fit = model.fit(maxiter=100, cov_type="bias_reduced")
            params, bse = fit.params, fit.bse
            robust = pd.Series(fit.standard_errors("robust"), index=params.index)
    except (np.linalg.LinAlgError, ValueError, ZeroDivisionError, OverflowError) as exc:
        return _failed(f"The model could not be fitted ({_plain(exc)}).", family=family, method=method,
                       n_obs=n, n_groups=k)  # fmt: skip
    failed = _untrusted(caught, params, bse, family=family, method=method, n=n, k=k)
    if failed:
        return failed
    table = _ratio_table(params, bse, terms, df=df, n_obs=n, n_groups=k, family=family,
                         method=method)  # fmt: skip
    note = (
        f"Logistic GEE model of risk reduction for young people in {k} services with both risk "
        f"ratings and risk above 'Not at risk' at referral.{_left_out(inputs.n_dropped)}"
        f"{_variant_note(k, inputs.variant_dropped)} Estimates are "
        "odds ratios: above 1 means more likely to have their risk reduced than the reference group, "
        "holding the other terms fixed. Services are clusters (exchangeable working correlation); "
        "the standard errors are corrected for few services (Mancl and DeRouen's bias-reduced "
        f"sandwich) and the intervals and p-values use the t distribution on {df} degrees of freedom "
        "(services minus model terms)."
    ) + _few_services_note(k)
    details: dict[str, object] = {
        "n_rated": inputs.n_rated,
        "n_dropped": inputs.n_dropped,
        "df": df,
        "df_rule": "K - p (services minus coefficients); Li and Redden (2015)",
        "covariance": "bias-reduced sandwich (Mancl and DeRouen 2001)",
        "se_bias_reduced": dict(zip(table["term"], bse.to_numpy(float), strict=True)),
        "se_robust": dict(zip(table["term"], robust.to_numpy(float), strict=True)),
        "working_correlation": float(np.asarray(fit.model.cov_struct.dep_params).ravel()[0]),
        "fit": _FitRecord.of_gee(fit, data["service_id"].to_numpy(), p),
    }
    reading = _reading(table, list(params.index), terms, _RISK_WORDS, k=k)
    return ModelResult(True, note, table, family, method, n, k, details, reading)


# --------------------------------------------------------------------------- mixed logistic
def risk_reduction_mixed_model(
    tables: Mapping[str, pd.DataFrame],
    *,
    year: int | str = "all",
    include_variant: bool = True,
    min_obs: int = MIN_RISK_MODEL_OBS,
    quadrature_points: int = QUADRATURE_POINTS,
) -> ModelResult:
    """Mixed logistic model of risk reduced: the GEE's covariates plus a random intercept per service.

    Same young people and terms as :func:`risk_reduction_model`. Maximum likelihood, the
    service intercepts integrated out by adaptive Gauss-Hermite quadrature with
    ``quadrature_points`` points per service (5 to 50; as lme4's ``glmer(nAGQ=...)``,
    whose cbpp fit with 25 points it reproduces). Estimates are odds ratios conditional
    on the service (for a young person within a given service), so usually a little
    further from 1 than the GEE's population-averaged ones.
    Intervals: 95% Wald intervals from the observed information (numerical Hessian) on t
    with between-within degrees of freedom (module docstring). ``details`` holds the
    service-intercept SD and variance, the latent-scale ICC (:func:`latent_icc`) and its
    95% profile-likelihood interval (``icc_ci_low``, ``icc_ci_high``; the lower end is 0
    when a model without service differences is not rejected at 5%). Never raises for
    data reasons.
    """
    if (
        isinstance(quadrature_points, bool)
        or not isinstance(quadrature_points, int)
        or not (5 <= quadrature_points <= 50)
    ):
        raise ParameterError("quadrature_points must be a whole number from 5 to 50",
                             column="quadrature_points", allowed="5-50", found=quadrature_points)  # fmt: skip
    family = "Binomial (logit)"
    method = "Mixed model, random intercept by service (maximum likelihood, adaptive quadrature)"
    inputs = _risk_inputs(tables, year, include_variant=include_variant, min_obs=min_obs,
                          family=family, method=method, df_rule=_mixed_df)  # fmt: skip
    if isinstance(inputs, ModelResult):
        return inputs
    return _fit_mixed(inputs, family=family, method=method, points=quadrature_points)


def _mixed_df(exog: pd.DataFrame, groups: np.ndarray) -> float:
    """The smallest between-within degrees of freedom of a design."""
    return float(_between_within_df(exog, groups)[0].min())


@dataclass(frozen=True)
class _Clustered:
    """Binary outcomes sorted by service, for the random-intercept likelihood."""

    y: np.ndarray
    x: np.ndarray
    index: np.ndarray  # service code of each row, rows sorted by it
    starts: np.ndarray  # first row of each service
    nodes: np.ndarray  # Gauss-Hermite nodes
    log_weights: np.ndarray  # log weights + nodes^2 (the e^{x^2} of adaptive quadrature)

    @classmethod
    def of(cls, y: np.ndarray, x: np.ndarray, groups: np.ndarray, points: int) -> _Clustered:
        order = np.argsort(groups, kind="stable")
        index = groups[order]
        starts = np.flatnonzero(np.r_[True, index[1:] != index[:-1]])
        nodes, weights = np.polynomial.hermite.hermgauss(points)
        return cls(y[order], x[order], index, starts, nodes, np.log(weights) + nodes**2)

    @property
    def k(self) -> int:
        return len(self.starts)


#: Bounds of log SD of the service intercepts (logit scale): below the lower, services do not differ.
_LOG_SD_BOUNDS = (-7.0, 3.0)


def _modes(eta: np.ndarray, data: _Clustered, sd: float) -> tuple[np.ndarray, np.ndarray]:
    """Each service's posterior mode of its intercept and the curvature there (Newton's method)."""
    from scipy import special

    precision = 1.0 / sd**2
    u = np.zeros(data.k)
    for _ in range(100):
        prob = special.expit(eta + u[data.index])
        grad = np.add.reduceat(data.y - prob, data.starts) - u * precision
        info = np.add.reduceat(prob * (1 - prob), data.starts) + precision
        step = np.clip(grad / info, -2.0, 2.0)
        u = u + step
        if np.max(np.abs(step)) < 1e-10:
            break
    prob = special.expit(eta + u[data.index])
    return u, np.add.reduceat(prob * (1 - prob), data.starts) + precision


def _loglik(beta: np.ndarray, log_sd: float, data: _Clustered) -> tuple[float, np.ndarray]:
    """Marginal log-likelihood and its gradient in (beta, log SD).

    Service intercepts N(0, sd^2) are integrated out by adaptive Gauss-Hermite quadrature
    (nodes centred on each service's posterior mode, scaled by its curvature). The
    gradient is that of the quadrature sum with the nodes held where they are: each
    service's score averaged over its nodes with posterior weights (exact as the
    quadrature is, since the integral itself does not depend on where the nodes sit).
    """
    from scipy import special

    sd = math.exp(log_sd)
    eta = data.x @ beta
    mode, info = _modes(eta, data, sd)
    spread = math.sqrt(2.0) / np.sqrt(info)
    u = mode[:, None] + spread[:, None] * data.nodes[None, :]
    eta_q = eta[:, None] + u[data.index]
    per_service = np.add.reduceat(data.y[:, None] * eta_q - np.logaddexp(0, eta_q), data.starts)
    log_f = (
        per_service - u**2 / (2 * sd**2) - 0.5 * math.log(2 * math.pi * sd**2) + data.log_weights
    )
    log_service = special.logsumexp(log_f, axis=1)
    weights = np.exp(log_f - log_service[:, None])  # posterior weight of each node, per service
    fitted = np.sum(weights[data.index] * special.expit(eta_q), axis=1)
    grad_beta = data.x.T @ (data.y - fitted)
    grad_log_sd = float(np.sum(weights * (u**2 / sd**2 - 1.0)))
    return float(np.sum(np.log(spread) + log_service)), np.r_[grad_beta, grad_log_sd]


@dataclass(frozen=True)
class _MixedFit:
    beta: np.ndarray
    log_sd: float
    loglik: float
    cov: np.ndarray
    converged: bool
    at_zero: bool


def _negative(
    data: _Clustered, log_sd: float | None = None
) -> Callable[[np.ndarray], tuple[float, np.ndarray]]:
    """Minus the log-likelihood and its gradient: in (beta, log SD), or in beta at a fixed log SD."""

    def full(theta: np.ndarray) -> tuple[float, np.ndarray]:
        low, high = _LOG_SD_BOUNDS  # beyond the bounds the likelihood is held flat
        ll, grad = _loglik(theta[:-1], float(np.clip(theta[-1], low, high)), data)
        grad[-1] = grad[-1] if low < theta[-1] < high else 0.0
        return -ll, -grad

    def profile(beta: np.ndarray) -> tuple[float, np.ndarray]:
        ll, grad = _loglik(beta, float(log_sd), data)  # type: ignore[arg-type]
        return -ll, -grad[:-1]

    return full if log_sd is None else profile


def _hessian(gradient: Callable[[np.ndarray], np.ndarray], at: np.ndarray) -> np.ndarray:
    """Symmetric Hessian by central differences of an analytic gradient."""
    steps = 1e-4 * np.maximum(np.abs(at), 1.0)
    columns = []
    for i, h in enumerate(steps):
        e = np.zeros_like(at)
        e[i] = h
        columns.append((gradient(at + e) - gradient(at - e)) / (2 * h))
    hess = np.column_stack(columns)
    return (hess + hess.T) / 2


def _fit_random_intercept(data: _Clustered, start: np.ndarray) -> _MixedFit:
    """Maximum likelihood over (beta, log SD); covariance from the Hessian of the log-likelihood."""
    from scipy import optimize

    p = data.x.shape[1]
    objective = _negative(data)
    result = optimize.minimize(
        objective, np.r_[start, math.log(0.5)], jac=True, method="BFGS", options={"maxiter": 500}
    )
    theta = np.r_[result.x[:p], np.clip(result.x[p], *_LOG_SD_BOUNDS)]
    at_zero = bool(theta[p] <= _LOG_SD_BOUNDS[0] + 0.5)
    if at_zero:  # services do not differ: the beta block alone (SD held at its bound)
        profile = _negative(data, float(theta[p]))
        cov = np.full((p + 1, p + 1), np.nan)
        cov[:p, :p] = np.linalg.inv(_hessian(lambda b: profile(b)[1], theta[:p]))
    else:
        cov = np.linalg.inv(_hessian(lambda t: objective(t)[1], theta))
    # BFGS may stop on "precision loss" at the optimum; a near-zero gradient is convergence too.
    converged = bool(result.success) or float(np.max(np.abs(result.jac))) < 1e-3
    return _MixedFit(theta[:p], float(theta[p]), -float(result.fun), cov, converged, at_zero)


def _profile_loglik(log_sd: float, data: _Clustered, start: np.ndarray) -> float:
    """Log-likelihood maximised over beta with the service SD held at ``exp(log_sd)``."""
    from scipy import optimize

    result = optimize.minimize(
        _negative(data, log_sd), start, jac=True, method="BFGS", options={"maxiter": 200}
    )
    return -float(result.fun)


def _sd_interval(data: _Clustered, fit: _MixedFit, glm_loglik: float) -> tuple[float, float]:
    """95% profile-likelihood interval of the service SD (chi-square, 1 df).

    The lower end is 0 when dropping the service intercepts (an ordinary logistic model)
    costs less than the 5% critical value; the upper end is infinite when the likelihood
    never falls far enough within the SD bound.
    """
    from scipy import optimize, stats

    crit = float(stats.chi2.ppf(0.95, 1))

    def excess(log_sd: float) -> float:
        return 2 * (fit.loglik - _profile_loglik(log_sd, data, fit.beta)) - crit

    if fit.at_zero or 2 * (fit.loglik - glm_loglik) <= crit:
        low = 0.0
    else:
        low = math.exp(optimize.brentq(excess, _LOG_SD_BOUNDS[0], fit.log_sd, xtol=1e-3))
    below = fit.log_sd  # the likelihood is at its maximum here: excess < 0
    for top in [*np.arange(max(fit.log_sd, -3.0) + 1.0, _LOG_SD_BOUNDS[1], 1.0), _LOG_SD_BOUNDS[1]]:
        if excess(float(top)) > 0:
            return low, math.exp(optimize.brentq(excess, below, float(top), xtol=1e-3))
        below = float(top)
    return low, math.inf


def _between_within_df(exog: pd.DataFrame, groups: np.ndarray) -> tuple[np.ndarray, int]:
    """Per term: k - (service-level terms) for terms constant within services, else n - k - (others).

    Returns the per-term degrees of freedom and the number of service-level terms (the
    intercept among them).
    """
    n, k = len(exog), len(np.unique(groups))
    between = exog.groupby(groups).nunique().le(1).all().to_numpy()
    n_between = int(between.sum())
    within_df = n - k - (len(between) - n_between)
    return np.where(between, k - n_between, within_df).astype(float), n_between


def _fit_mixed(inputs: _RiskInputs, *, family: str, method: str, points: int) -> ModelResult:
    """Fit the random-intercept logistic model; a ModelResult (ok=False on any fit problem)."""
    import statsmodels.api as sm

    data, exog = inputs.data, inputs.exog
    n, k = len(data), data["service_id"].nunique()
    groups = pd.factorize(data["service_id"])[0]
    dfs, n_between = _between_within_df(exog, groups)
    if dfs.min() < MIN_T_DF:
        return _too_few_services_for_terms(k, n_between, family=family, method=method, n=n,
                                           which="service-level terms")  # fmt: skip
    clustered = _Clustered.of(data["y"].to_numpy(float), exog.to_numpy(float), groups, points)
    problems = (np.linalg.LinAlgError, ValueError, ZeroDivisionError, OverflowError, RuntimeError)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            glm = sm.GLM(data["y"].to_numpy(float), exog, family=sm.families.Binomial()).fit()
            fit = _fit_random_intercept(clustered, glm.params.to_numpy(float))
            sd_interval = _sd_interval(clustered, fit, float(glm.llf))
    except problems as exc:
        return _failed(f"The model could not be fitted ({_plain(exc)}).", family=family, method=method,
                       n_obs=n, n_groups=k)  # fmt: skip
    params = pd.Series(fit.beta, index=exog.columns)
    bse = pd.Series(np.sqrt(np.diag(fit.cov)[: len(params)]), index=exog.columns)
    if not fit.converged:
        caught.append(warnings.WarningMessage("did not converge", RuntimeWarning, "", 0))
    failed = _untrusted(caught, params, bse, family=family, method=method, n=n, k=k)
    if failed:
        return failed
    table = _ratio_table(params, bse, inputs.terms, df=dfs, n_obs=n, n_groups=k, family=family,
                         method=method)  # fmt: skip
    icc = _Icc.of(fit, sd_interval, service_level_terms=n_between > 1)
    modes = _modes(clustered.x @ fit.beta, clustered, max(icc.sd, math.exp(_LOG_SD_BOUNDS[0])))[0]
    details: dict[str, object] = {
        "n_rated": inputs.n_rated,
        "n_dropped": inputs.n_dropped,
        "df": dict(zip(table["term"], dfs, strict=True)),
        "df_rule": "between-within: service-level terms k - (service-level terms), others "
        "n - k - (within-service terms)",
        **icc.details(),
        "log_likelihood": fit.loglik,
        "aic": -2 * fit.loglik + 2 * (len(params) + 1),
        "quadrature_points": points,
        "converged": fit.converged,
        "fit": _FitRecord.of_mixed(clustered, data["service_id"].to_numpy(), fit, modes, table),
    }
    note = _mixed_note(k, points, icc, inputs.n_dropped, variant_dropped=inputs.variant_dropped)
    reading = _reading(table, list(params.index), inputs.terms, _RISK_WORDS, k=k, extra=icc.words())
    return ModelResult(True, note, table, family, method, n, k, details, reading)


@dataclass(frozen=True)
class _Icc:
    """The service SD, the latent-scale ICC and their 95% profile-likelihood intervals."""

    sd: float
    sd_low: float
    sd_high: float
    flat: bool  # services estimated not to differ while the model has service-level terms

    @classmethod
    def of(
        cls, fit: _MixedFit, interval: tuple[float, float], *, service_level_terms: bool
    ) -> _Icc:
        sd = 0.0 if fit.at_zero else math.exp(fit.log_sd)
        return cls(sd, *interval, flat=latent_icc(sd**2) < 0.005 and service_level_terms)

    @property
    def values(self) -> tuple[float, float, float]:
        return latent_icc(self.sd**2), latent_icc(self.sd_low**2), latent_icc(self.sd_high**2)

    def details(self) -> dict[str, object]:
        icc, low, high = self.values
        return {
            "sd_u": self.sd,
            "var_u": self.sd**2,
            "sd_u_ci": (self.sd_low, self.sd_high),
            "icc": icc,
            "icc_ci_low": low,
            "icc_ci_high": high,
            "icc_interval": "95% profile likelihood (chi-square, 1 df) of the service SD, mapped "
            "to the ICC",
        }

    def words(self) -> str:
        """The ICC clause of a reading (and the caution when services were estimated not to differ)."""
        icc, low, high = self.values
        text = (
            f"; an estimated {icc:.0%} of the variation in the chance of risk being reduced lay "
            f"between services (95% interval {low:.0%} to {high:.0%})"
        )
        if self.flat:
            text += (
                "; as services were estimated not to differ, intervals for service-level terms "
                "may be too narrow"
            )
        return text


def _mixed_note(k: int, points: int, icc: _Icc, n_dropped: int, *, variant_dropped: bool) -> str:
    value, low, high = icc.values
    note = (
        f"Mixed logistic model of risk reduction, with a random intercept for each of {k} services, "
        "for young people with both risk ratings and risk above 'Not at risk' at referral."
        f"{_left_out(n_dropped)}{_variant_note(k, variant_dropped)} Estimates are odds ratios for "
        "young people within the same "
        "service, so usually a little further from 1 than the GEE's averages over services. "
        "Intervals are Wald intervals from the likelihood (maximum likelihood, adaptive "
        f"Gauss-Hermite quadrature with {points} points) on the t distribution: service-level terms "
        "such as model variant get the number of services minus the service-level terms as "
        f"degrees of freedom. The intra-class correlation on the latent scale is {value:.2f} (95% "
        f"profile-likelihood interval {low:.2f} to {high:.2f}): the share of the variation in the "
        "chance of risk being reduced that lies between services."
    )
    if icc.flat:
        note += (
            " The services were estimated not to differ (an ICC of about 0), so the intervals of "
            "service-level terms such as model variant are those of an ordinary logistic model and "
            "may be too narrow; the GEE's are the safer guide to them."
        )
    return note + _few_services_note(k)


# --------------------------------------------------------------------------- referral model
@dataclass(frozen=True)
class _Exposure:
    log: pd.Series  # log exposure per row (the offset)
    note: str  # what the exposure is, for the note
    unit: str  # "per 10,000 children aged 0-17"


def _service_year_exposure(tables: Mapping[str, pd.DataFrame], rows: pd.DataFrame) -> _Exposure:
    """Log exposure per service-year, a sentence saying what it is and its unit.

    Child population (0-17) of the service's local-authority areas from ``context``, in
    units of 10,000 children, for the nearest year available (the synthetic context years
    do not overlap the programme years); when any service's areas have no population, Spoke
    workers in post that year (from ``spokes.start_year``; ``services.n_spokes`` when a
    service has no Spoke rows) for every row, so all rows share one kind of exposure.
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
        log = np.log(population["population"].astype(float) / 10_000)
        return _Exposure(log, note, "per 10,000 children aged 0-17")
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
    return _Exposure(
        np.log(exposure),
        "Exposure: Spoke workers in post that year (child population was not available for every "
        "service's areas).",
        "per Spoke worker in post",
    )


@dataclass(frozen=True)
class AreaPopulation:
    """Child population of each service's areas, by context year, read once from ``context``.

    ``totals``: per service, the total population of its areas in each context year that
    has every one of its areas (services whose areas never all have one map to an empty
    Series). Built once per call, so looking up many service-years does not rebuild the
    area and population frames for each.
    """

    totals: Mapping[str, pd.Series]

    @classmethod
    def of(cls, tables: Mapping[str, pd.DataFrame]) -> AreaPopulation | None:
        """From ``context`` and ``services``; None when there is no population data.

        Read once for the same two frames (the referral rates and the referral model both
        ask); the answer is shared, so callers only look it up.
        """
        frames = [tables.get("context"), tables.get("services")]
        found = _POPULATIONS.get(frames)
        return found if found is not None else _POPULATIONS.put(frames, (), cls._read(tables))

    @classmethod
    def _read(cls, tables: Mapping[str, pd.DataFrame]) -> AreaPopulation | None:
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
        return cls(
            {
                str(service): _complete_years(pop, set(codes))
                for service, codes in areas.groupby("service_id", sort=False)["la_code"]
            }
        )

    def nearest(self, service_id: object, year: int) -> tuple[int, float] | None:
        """(context year, population) nearest ``year`` for the service; None when none or not > 0."""
        totals = self.totals.get(service_id) if isinstance(service_id, str) else None
        if totals is None or totals.empty:
            return None
        nearest = min(totals.index, key=lambda y: (abs(y - year), y))
        total = totals[nearest]
        return None if total <= 0 else (int(nearest), total)


#: :meth:`AreaPopulation.of` answers by the context and services frames read.
_POPULATIONS: FrameMemo[AreaPopulation | None] = FrameMemo()


def _complete_years(pop: pd.DataFrame, codes: set[str]) -> pd.Series:
    """Total population of ``codes`` in each context year that has all of them."""
    have = pop.loc[pop["la_code"].isin(codes)]
    years = have.groupby("context_year")["la_code"].nunique()
    complete = years[years.eq(len(codes))].index if codes else years.index[:0]
    return pd.Series(
        [have.loc[have["context_year"].eq(y), "population"].sum() for y in complete],
        index=complete,
        dtype=float,
    )


def _area_population(tables: Mapping[str, pd.DataFrame], rows: pd.DataFrame) -> pd.DataFrame | None:
    """Child population of each row's service areas for the context year nearest the row's year.

    None when any row's areas lack a population (so every row shares one kind of exposure).
    """
    lookup = AreaPopulation.of(tables)
    if lookup is None:
        return None
    out = []
    for row in rows[["service_id", "year"]].itertuples(index=False):
        found = lookup.nearest(row.service_id, row.year)
        if found is None:
            return None
        out.append({"context_year": found[0], "population": found[1]})
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
    """GEE count model of young people referred per service-year, services as clusters.

    Counts per service-year with an exposure offset (see :func:`_service_year_exposure`:
    child population of the service's areas per 10,000, nearest context year; else Spoke
    workers in post). Terms: year in the programme (when ``year="all"``) and model
    variant. A Poisson GLM first measures dispersion (Pearson chi-square / df); above 1.5
    the counts are over-dispersed and the GEE uses the negative binomial (NB2) variance
    with alpha from a maximum-likelihood negative binomial fit, else the Poisson variance.
    statsmodels GEE, log link, exchangeable working correlation within service,
    bias-reduced (Mancl-DeRouen) covariance, 95% t intervals and p-values on K - p degrees
    of freedom. Estimates are rate ratios; the intercept is the reference groups' rate per
    unit of exposure. ``details``: ``dispersion`` (Poisson), ``alpha``, ``df``.
    """
    chosen = Period.parse(year).year
    data = _referral_data(tables, chosen)
    n, k = len(data), data["service_id"].nunique()
    family, method = "Poisson (log)", _GEE_METHOD
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
    exposure = _service_year_exposure(tables, data)
    exog, terms, variant_dropped = _referral_design(data, exposure, include_variant=include_variant)
    if exog.shape[1] >= n - 2:
        return _failed(
            f"Too few service-years (n={n}) for {exog.shape[1]} model terms.",
            family=family, method=method, n_obs=n, n_groups=k,
        )  # fmt: skip
    if k - exog.shape[1] < MIN_T_DF:
        return _too_few_services_for_terms(k, exog.shape[1], family=family, method=method, n=n)
    return _fit_counts(data, exog, terms, exposure, variant_dropped=variant_dropped)


def _referral_design(
    data: pd.DataFrame, exposure: _Exposure, *, include_variant: bool
) -> tuple[pd.DataFrame, _Terms, bool]:
    """Year in the programme and model variant; variant left out (True) when K - p would be < 1."""
    intercept = f"Intercept (referrals a year {exposure.unit}, reference groups)"
    categorical = {"programme_year": "Year 1"} if data["programme_year"].nunique() > 1 else {}
    exog, terms = _design(data, [], categorical, intercept=intercept)
    if not (include_variant and data["model_variant"].nunique() > 1):
        return exog, terms, False
    with_variant = {**categorical, "model_variant": _reference_level(data["model_variant"])}
    exog_v, terms_v = _design(data, [], with_variant, intercept=intercept)
    if data["service_id"].nunique() - exog_v.shape[1] < MIN_T_DF:
        return exog, terms, True
    return exog_v, terms_v, False


def _count_family(
    y: np.ndarray, exog: pd.DataFrame, offset: np.ndarray
) -> tuple[sm.families.Family, str, float, float]:
    """Poisson variance, or NB2 when a Poisson GLM is over-dispersed; with its dispersion and alpha."""
    import statsmodels.api as sm

    poisson = sm.GLM(y, exog, family=sm.families.Poisson(), offset=offset).fit()
    dispersion = (
        float(poisson.pearson_chi2 / poisson.df_resid) if poisson.df_resid > 0 else math.nan
    )
    if not dispersion > OVERDISPERSION_RATIO:
        return sm.families.Poisson(), "Poisson (log)", dispersion, math.nan
    nb = sm.NegativeBinomial(y, exog, offset=offset).fit(disp=0, maxiter=200)
    alpha = float(nb.params.get("alpha", math.nan))
    return (
        sm.families.NegativeBinomial(alpha=alpha),
        "Negative binomial (NB2, log)",
        dispersion,
        alpha,
    )


def _fit_counts(
    data: pd.DataFrame, exog: pd.DataFrame, terms: _Terms, exposure: _Exposure, *,
    variant_dropped: bool = False,
) -> ModelResult:  # fmt: skip
    """GEE count model (Poisson or NB2 variance), bias-reduced covariance, t on K - p df."""
    import statsmodels.api as sm

    y, offset = data["referred"].to_numpy(float), exposure.log.to_numpy(float)
    n, k, p = len(data), data["service_id"].nunique(), exog.shape[1]
    df, method = k - p, _GEE_METHOD
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            family_obj, family, dispersion, alpha = _count_family(y, exog, offset)
            fit = sm.GEE(
                y, exog, groups=pd.factorize(data["service_id"])[0], offset=offset,
                family=family_obj, cov_struct=sm.cov_struct.Exchangeable(),
            ).fit(maxiter=100, cov_type="bias_reduced")  # fmt: skip
            params, bse = fit.params, fit.bse
    except (np.linalg.LinAlgError, ValueError, ZeroDivisionError, OverflowError) as exc:
        return _failed(f"The model could not be fitted ({_plain(exc)}).", family="Poisson (log)",
                       method=method, n_obs=n, n_groups=k)  # fmt: skip
    failed = _untrusted(caught, params, bse, family=family, method=method, n=n, k=k)
    if failed:
        return failed
    table = _ratio_table(params, bse, terms, df=df, n_obs=n, n_groups=k, family=family,
                         method=method)  # fmt: skip
    choice = (
        f"The counts were over-dispersed (Pearson chi-square / df = {dispersion:.2f} > "
        f"{OVERDISPERSION_RATIO}), so the model used the negative binomial variance (alpha = "
        f"{alpha:.2f}) instead of the Poisson."
        if family.startswith("Negative")
        else f"A Poisson variance fitted (Pearson chi-square / df = {dispersion:.2f}, not over-dispersed)."
    )
    note = (
        f"Model of young people referred in {n} service-years from {k} services. {choice} "
        f"{exposure.note}{_variant_note(k, variant_dropped)} Estimates are rate ratios: above 1 "
        f"means more referrals {exposure.unit} than the reference group. Services are clusters "
        "(GEE, exchangeable working correlation); the standard errors are corrected for few "
        "services (Mancl and DeRouen's bias-reduced sandwich) and the intervals and p-values use "
        f"the t distribution on {df} degrees of freedom (services minus model terms)."
    ) + _few_services_note(k)
    details: dict[str, object] = {
        "dispersion": dispersion,
        "alpha": alpha,
        "df": df,
        "df_rule": "K - p (services minus coefficients); Li and Redden (2015)",
        "covariance": "bias-reduced sandwich (Mancl and DeRouen 2001)",
        "exposure_unit": exposure.unit,
        "fit": _FitRecord.of_gee(fit, data["service_id"].to_numpy(), p),
    }
    reading = _reading(table, list(params.index), terms, _referral_words(exposure.unit), k=k)
    return ModelResult(True, note, table, family, method, n, k, details, reading)


# --------------------------------------------------------------------------- diagnostics
@dataclass(frozen=True)
class _FitRecord:
    """What :func:`model_diagnostics` needs from a fit: per-row outcomes, means and variances."""

    kind: str  # "gee" or "mixed"
    service_id: np.ndarray
    y: np.ndarray
    mean: np.ndarray
    variance: np.ndarray
    n_params: int
    summary: Callable[[], str]
    qic: Callable[[], tuple[float, float]] | None = None

    @classmethod
    def of_gee(cls, fit: Any, service_id: np.ndarray, n_params: int) -> _FitRecord:
        mean = np.asarray(fit.fittedvalues, dtype=float)
        model = fit.model
        return cls(
            "gee", np.asarray(service_id), np.asarray(model.endog, dtype=float), mean,
            np.asarray(model.family.variance(mean), dtype=float), n_params,
            lambda: str(fit.summary().as_text()),
            lambda: _qic(fit),
        )  # fmt: skip

    @classmethod
    def of_mixed(
        cls, data: _Clustered, service_id: np.ndarray, fit: _MixedFit, modes: np.ndarray,
        table: pd.DataFrame,
    ) -> _FitRecord:  # fmt: skip
        from scipy import special

        order = np.argsort(pd.factorize(service_id)[0], kind="stable")
        mean = special.expit(data.x @ fit.beta + modes[data.index])
        text = (
            table[["term", "estimate", "ci_low", "ci_high", "p_value", "df"]].to_string(index=False)
            + f"\nlog-likelihood {fit.loglik:.3f}; service SD {math.exp(fit.log_sd):.4f}"
            + (" (at its lower bound: services do not differ)" if fit.at_zero else "")
            + f"; converged {fit.converged}"
        )
        return cls("mixed", np.asarray(service_id)[order], data.y, mean, mean * (1 - mean),
                   data.x.shape[1] + 1, lambda: text)  # fmt: skip


def _qic(fit: Any) -> tuple[float, float]:
    """QIC and QICu of a GEE fit (Pan 2001, Biometrics 57:120-125), scale 1.

    The quasi-likelihood comes from statsmodels' ``GEE.qic``; the penalty is computed
    here as trace(Omega_I V_R), Omega_I = sum D' A^-1 D (the independence model's
    information, A the variance function) and V_R the robust sandwich covariance,
    because statsmodels' own ``qic()`` leaves A^-1 out of Omega_I and uses the
    bias-reduced covariance when the fit was made with it.
    """
    model = fit.model
    robust = np.asarray(fit.cov_robust, dtype=float)
    quasi, _, qicu = model.qic(np.asarray(fit.params), 1.0, robust)
    mean = np.asarray(fit.fittedvalues, dtype=float)
    family = model.family
    weight = family.link.inverse_deriv(family.link(mean)) ** 2 / family.variance(mean)
    omega = (model.exog * weight[:, None]).T @ model.exog
    return float(-2 * quasi + 2 * np.trace(omega @ robust)), float(qicu)


def _without_clock(text: str) -> str:
    """A statsmodels summary without its "Date:" and "Time:" entries, so a report built twice
    from the same data is the same page."""
    return re.sub(
        r"(Date|Time):\s+\S+(?: \d{2} \w{3} \d{4})?", lambda m: " " * len(m.group()), text
    )


def model_diagnostics(result: ModelResult) -> dict[str, object]:
    """Diagnostics of a fitted model for the analyst notebook.

    Keys: ``summary`` (statsmodels' summary text for a GEE, whose p-values are normal-based:
    the model's table uses t; for the mixed model its table and likelihood),
    ``pearson_dispersion`` (sum of squared Pearson residuals / (n - parameters); near 1
    when the variance fits; for the mixed model, residuals conditional on each service's
    predicted intercept), ``qic`` and ``qicu`` (GEE only, Pan 2001, scale 1: see
    :func:`_qic`; None for the mixed model, whose ``aic`` is in its details),
    ``residuals_by_service`` (frame: ``service_id``, ``mean_pearson_residual``,
    ``standardised`` = sum of residuals / sqrt(n), roughly N(0, dispersion) when the
    service fits the model; largest absolute first) and ``largest_residual_service``.
    A result that was not fitted gives its note and empty values.
    """
    record = result.details.get("fit") if result.ok else None
    if not isinstance(record, _FitRecord):
        return {"summary": "", "note": result.note, "pearson_dispersion": math.nan, "qic": None,
                "qicu": None, "residuals_by_service": pd.DataFrame(
                    columns=["service_id", "mean_pearson_residual", "standardised"]),
                "largest_residual_service": None}  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        summary = _without_clock(str(record.summary()))
        qic, qicu = record.qic() if record.qic else (None, None)
    pearson = (record.y - record.mean) / np.sqrt(record.variance)
    by_service = (
        pd.DataFrame({"service_id": record.service_id, "r": pearson})
        .groupby("service_id")["r"]
        .agg(mean_pearson_residual="mean", total="sum", n="size")
        .assign(standardised=lambda d: d["total"] / np.sqrt(d["n"]))
        .reset_index()[["service_id", "mean_pearson_residual", "standardised"]]
        .sort_values("standardised", key=np.abs, ascending=False, ignore_index=True)
    )
    return {
        "summary": summary,
        "note": result.note,
        "pearson_dispersion": float(np.sum(pearson**2) / max(len(pearson) - record.n_params, 1)),
        "qic": qic,
        "qicu": qicu,
        "residuals_by_service": by_service,
        "largest_residual_service": str(by_service["service_id"].iloc[0])
        if len(by_service)
        else None,
    }


@dataclass(frozen=True)
class ModelReport:
    """A fitted model as the cross-site report shows it: the result and its diagnostics.

    Plain data (``result`` without the fit's own statsmodels objects, ``diagnostics`` from
    :func:`model_diagnostics`), so a report reads it from beside the release without
    importing statsmodels: fitting the models is part of building the release.
    """

    result: ModelResult
    diagnostics: dict[str, object]

    @classmethod
    def of(cls, result: ModelResult) -> ModelReport:
        """The report of one fitted model (its diagnostics computed now)."""
        details = {k: v for k, v in result.details.items() if k != "fit"}
        return cls(replace(result, details=details), model_diagnostics(result))
