"""Every funder table of the cross-site report, with its disclosure structure.

:func:`cross_site_tables` builds, for one evaluation year (``"2014"``) or for the years
pooled (``"all"``), the :class:`~hubspoke.privacy.table.Table` of each table and chart of
the cross-site report. Each cell carries the identity of the quantity it shows, the same
identity the service reports use for the same quantity (``young_people`` with
``risk_change="Reduced"``, ``risk_assessed``, ``episodes_closed``, ``planned_endings``:
case records of the period), so the release-wide suppression hides a count everywhere
or nowhere. Scope: ``time_period`` (a year, or the pooled label such as ``2014-2016``);
per-service cells add ``service_id``; group cells add the group dimension
(``model_variant``, ``host_setting``, ``phase``); programme totals have neither.

Counts follow the service report's definitions (per year: case records of the year;
risk assessed = both risk ratings on the harmonised scale, reduced = latest lower; closed
= closed by 31 December of the year; planned = a planned closure reason), and the pooled
counts are the sums of the years', so years add up to the pooled period.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import replace
from typing import Final

import pandas as pd

from hubspoke import load
from hubspoke.analysis.common import format_p, percent
from hubspoke.analysis.cross_site.context_tables import context_tables
from hubspoke.analysis.cross_site.groups import (
    GROUPINGS,
    compare_groups,
    proportion_intervals,
)
from hubspoke.analysis.cross_site.indicator_tables import indicator_tables
from hubspoke.analysis.cross_site.memo import FrameMemo
from hubspoke.analysis.cross_site.models import (
    ModelReport,
    ModelResult,
    referral_model,
    risk_reduction_mixed_model,
    risk_reduction_model,
)
from hubspoke.analysis.cross_site.ratings import (
    outcome_ratings,
    period_indicators,
    wide_ratings,
)
from hubspoke.analysis.cross_site.summary import _submitted, service_context
from hubspoke.analysis.outcomes import load_framework
from hubspoke.errors import ParameterError
from hubspoke.load import Period, service_order
from hubspoke.privacy.table import TOTAL, Count, Derived, Figure, Table, Text
from hubspoke.spec import vocab

#: Row label of the programme total (all services) in per-service tables.
TOTAL_ROW: Final = TOTAL
#: The count columns of per-service tables and their identities (indicator, fixed dims).
REDUCED: Final = Count("young_people", dims={"risk_change": "Reduced"})
ASSESSED: Final = Count("risk_assessed")
CLOSED: Final = Count("episodes_closed")
PLANNED: Final = Count("planned_endings")
YOUNG_PEOPLE: Final = Count("young_people")
TRAINED: Final = Count("participants", unit="professionals", dims={"activity_type": "Training"})
SURVEYED: Final = Count("spoke_workers_surveyed", unit="Spoke workers")
#: Per-service counts of the period (columns of :func:`service_counts`).
COUNT_COLUMNS: Final = (
    "young_people",
    "risk_assessed",
    "risk_reduced",
    "episodes_closed",
    "planned_endings",
    "training_participants",
    "spoke_workers_surveyed",
)
#: The counts each core outcome's rating rests on (by outcome id; outcome 6 counts no one).
RATING_SOURCES: Final[Mapping[int, tuple[Count, ...]]] = {
    1: (YOUNG_PEOPLE,),
    2: (REDUCED, ASSESSED),
    3: (PLANNED, CLOSED),
    4: (TRAINED,),
    5: (SURVEYED,),
    6: (),
}


def time_period(tables: Mapping[str, pd.DataFrame], year: str) -> str:
    """The release's ``time_period`` of a cross-site choice: the year, or e.g. ``2014-2016``."""
    chosen = Period.parse(year).year
    if chosen is not None:
        return str(chosen)
    years = sorted({y for ys in load.available_service_years(tables).values() for y in ys})
    if not years:
        raise ParameterError("no service has data in any year", column="year", found=year)
    return load.all_years_label(years)


# --------------------------------------------------------------------------- counts
def _year_counts(tables: Mapping[str, pd.DataFrame], year: int) -> pd.DataFrame:
    """Per service with a submission in ``year``: the counts of :data:`COUNT_COLUMNS`."""
    cases = Period(year).rows(load.table(tables, "cases"))
    code = {level: i for i, level in enumerate(vocab.RISK_SCALE)}
    change = cases["risk_latest"].astype(object).map(code).astype("Float64") - cases[
        "risk_at_referral"
    ].astype(object).map(code).astype("Float64")
    closed = cases["closure_date"].notna() & (cases["closure_date"] <= pd.Timestamp(year, 12, 31))
    planned = closed & cases["closure_reason"].astype(object).isin(vocab.PLANNED_ENDINGS)
    per_case = pd.DataFrame(
        {
            "service_id": cases["service_id"].astype(str).to_numpy(),
            "young_people": 1,
            "risk_assessed": change.notna().to_numpy(dtype=bool),
            "risk_reduced": change.lt(0).fillna(False).to_numpy(dtype=bool),
            "episodes_closed": closed.fillna(False).to_numpy(dtype=bool),
            "planned_endings": planned.fillna(False).to_numpy(dtype=bool),
        }
    )
    activities = Period(year).rows(load.table(tables, "activities"))
    training = activities.loc[activities["activity_type"].astype(object).eq("Training")]
    trained = (
        pd.Series(
            training["participants"].astype("Int64").fillna(0).to_numpy(dtype=float),
            index=training["service_id"].astype(str).to_numpy(),
        )
        .groupby(level=0)
        .sum()
    )
    survey = Period(year).rows(load.table(tables, "spoke_survey"))
    surveyed = survey.groupby(survey["service_id"].astype(str).to_numpy()).size()
    services = _submitted(tables, year)["service_id"].astype(str).unique()
    out = (
        per_case.groupby("service_id").sum().reindex(services).fillna(0)
        .assign(training_participants=trained.reindex(services).fillna(0).to_numpy(),
                spoke_workers_surveyed=surveyed.reindex(services).fillna(0).to_numpy())
    )  # fmt: skip
    return out[list(COUNT_COLUMNS)].astype("int64")


def service_counts(tables: Mapping[str, pd.DataFrame], *, year: str) -> pd.DataFrame:
    """Per service (index ``service_id``, fixed order) the counts of the period, pooled = sum of years.

    Columns :data:`COUNT_COLUMNS` (case records of the period as the service report
    counts them; training participants; Spoke workers answering the survey).
    """
    chosen = Period.parse(year).year
    years = (
        [chosen]
        if chosen is not None
        else sorted({y for ys in load.available_service_years(tables).values() for y in ys})
    )
    parts = [_year_counts(tables, y) for y in years]
    if not parts:
        return pd.DataFrame(columns=list(COUNT_COLUMNS), index=pd.Index([], name="service_id"))
    out = pd.concat(parts).groupby(level=0).sum()
    out = out.loc[service_order(list(out.index))].astype("int64")
    out.index.name = "service_id"
    return out


# --------------------------------------------------------------------------- builders
def _with_total(frame: pd.DataFrame) -> pd.DataFrame:
    """Append the programme Total row (sum of the services)."""
    total = frame.sum(axis=0).to_frame(TOTAL_ROW).T
    out = pd.concat([frame, total])
    out.index.name = frame.index.name
    return out


def _proportion_table(
    counts: pd.DataFrame, *, numerator: str, denominator: str, family: str, scope: Mapping[str, str]
) -> Table:
    """Per service and programme: a numerator, its denominator, the percentage and its 95% CI."""
    specs = {
        "risk_reduced": (REDUCED, "Risk reduced", "pct_risk_reduced"),
        "risk_assessed": (ASSESSED, "With both risk ratings", ""),
        "planned_endings": (PLANNED, "Planned endings", "pct_planned_endings"),
        "episodes_closed": (CLOSED, "Closed", ""),
    }
    num, num_label, pct_name = specs[numerator]
    den, den_label, _ = specs[denominator]
    frame = _with_total(counts[[numerator, denominator]].astype(float))
    frame["%"] = percent(frame[numerator], frame[denominator])
    frame["ci_low"], frame["ci_high"] = proportion_intervals(
        frame[numerator], frame[denominator], total_row=TOTAL_ROW
    )
    sources = (numerator, denominator)
    return Table(
        frame,
        family=family,
        rows="service_id",
        scope=scope,
        columns={
            numerator: num,
            denominator: den,
            "%": Derived(pct_name, sources, dp=0),
            "ci_low": Derived(f"ci_low_{pct_name}", sources, dp=0),
            "ci_high": Derived(f"ci_high_{pct_name}", sources, dp=0),
        },
        total_row=TOTAL_ROW,
        labels={
            numerator: num_label,
            denominator: den_label,
            "%": "%",
            "ci_low": "95% CI low",
            "ci_high": "95% CI high",
        },
    )


def ratings_tables(
    tables: Mapping[str, pd.DataFrame],
    *,
    year: str,
    counts: pd.DataFrame,
    scope: Mapping[str, str],
    indicator_table: pd.DataFrame | None = None,
) -> dict[str, Table]:
    """Each core outcome's progress rating, level and confidence by service, and the counts they rest on.

    ``ratings`` (progress, the headline), ``ratings.level`` (targets met) and
    ``ratings.confidence`` have services as rows and outcomes as columns; each cell is a
    :class:`Text` whose sources are the counts of its outcome's indicators
    (:data:`RATING_SOURCES`), so a rating is hidden wherever one is. ``ratings.counts``
    shows those counts.
    """
    rated = outcome_ratings(tables, year=year, indicator_table=indicator_table)
    ids = {o.name: o.id for o in load_framework().outcomes}
    out: dict[str, Table] = {}
    wide = pd.DataFrame()
    for key, value, indicator in (
        ("ratings", "rating", "outcome_rating"),
        ("ratings.level", "level_rating", "outcome_level"),
        ("ratings.confidence", "confidence", "outcome_confidence"),
    ):
        wide = wide_ratings(rated, value=value)
        wide.index = wide.index.astype(str)
        wide.index.name = "service_id"
        # Sources by column name resolve to the same row: each service's rating rests on its
        # own counts. The source columns are declared but not shown (ratings.counts shows them).
        columns: dict[Hashable, Count | Text] = {}
        for outcome in wide.columns:
            specs = RATING_SOURCES.get(ids.get(str(outcome), 0), ())
            names = tuple(f"source {spec.indicator} {dict(spec.dims)}" for spec in specs)
            columns.update(zip(names, specs, strict=True))
            columns[outcome] = Text(indicator, sources=names, dims={"outcome": outcome})
        out[key] = Table(
            wide.astype(object), family="cross_site_ratings", rows="service_id", scope=scope,
            columns=columns, total_row=None,
        )  # fmt: skip
    base = counts.reindex(wide.index).fillna(0).astype(float)
    frame = _with_total(base)
    evidence = Table(
        frame,
        family="cross_site_ratings",
        rows="service_id",
        scope=scope,
        columns={
            "young_people": YOUNG_PEOPLE,
            "risk_assessed": ASSESSED,
            "risk_reduced": REDUCED,
            "episodes_closed": CLOSED,
            "planned_endings": PLANNED,
            "training_participants": TRAINED,
            "spoke_workers_surveyed": SURVEYED,
        },
        total_row=TOTAL_ROW,
        labels={
            "young_people": "Young people (case records)",
            "risk_assessed": "With both risk ratings",
            "risk_reduced": "Risk reduced",
            "episodes_closed": "Closed",
            "planned_endings": "Planned endings",
            "training_participants": "Training participants",
            "spoke_workers_surveyed": "Spoke workers surveyed",
        },
    )
    return {**out, "ratings.counts": evidence}


def group_tables(
    counts: pd.DataFrame, context: pd.DataFrame, *, scope: Mapping[str, str]
) -> dict[str, Table]:
    """Risk reduction per group of services: ``groups.<dim>`` for each grouping.

    The service is the unit (:func:`~hubspoke.analysis.cross_site.groups.compare_groups`):
    young people are clustered in services and the variant, host setting and phase are
    properties of the service. Rows are the group values (no service); columns Services (a
    Figure), Risk reduced and With both risk ratings (counts: the group's cells, e.g.
    ``young_people`` with ``risk_change="Reduced"`` and ``model_variant="Multi-host"``), %
    and its 95% interval (derived; the interval only where the group holds enough services
    to compare) and a note per group ("3 services: too few to compare").
    ``frame.attrs["note"]`` is the test across groups in words.
    """
    out: dict[str, Table] = {}
    rows = (
        counts.reset_index()
        .merge(context.astype({"phase": str}), on="service_id", how="left")
        .astype({d: str for d in GROUPINGS})
    )
    for dim in GROUPINGS:
        compared = compare_groups(
            rows, by=dim, numerator="risk_reduced", denominator="risk_assessed"
        ).set_index("group")
        comparable = compared["comparable"].astype(bool)
        frame = pd.DataFrame(
            {
                "services": compared["n_services"].astype(float),
                "risk_reduced": compared["numerator"].astype(float),
                "risk_assessed": compared["denominator"].astype(float),
                "%": 100 * compared["proportion"].astype(float),
                "ci_low": (100 * compared["ci_low"].astype(float)).where(comparable),
                "ci_high": (100 * compared["ci_high"].astype(float)).where(comparable),
                "note": compared["note"].astype(str).astype(object),
            },
            index=pd.Index([str(g) for g in compared.index], name=dim),
        )
        frame.attrs["note"] = str(compared.attrs.get("note", ""))
        frame.attrs["test"] = dict(compared.attrs.get("test", {}))
        sources = ("risk_reduced", "risk_assessed")
        out[f"groups.{dim}"] = Table(
            frame,
            family="cross_site_risk",
            rows=dim,
            scope=scope,
            columns={
                "services": Figure("services", unit="services"),
                "risk_reduced": REDUCED,
                "risk_assessed": ASSESSED,
                "%": Derived("pct_risk_reduced", sources, dp=0),
                "ci_low": Derived("ci_low_pct_risk_reduced", sources, dp=0),
                "ci_high": Derived("ci_high_pct_risk_reduced", sources, dp=0),
                "note": Text("group_note"),
            },
            total_row=None,
            labels={
                "services": "Services",
                "risk_reduced": "Risk reduced",
                "risk_assessed": "With both risk ratings",
                "%": "%",
                "ci_low": "95% CI low",
                "ci_high": "95% CI high",
                "note": "Note",
            },
        )
    return out


def model_table(result: ModelResult, *, name: str, scope: Mapping[str, str]) -> Table:
    """A fitted model's estimates, rows = terms: ratios and 95% CIs to 2 dp, p as text.

    p-values are shown as ``format_p`` writes them (3 dp, or "<0.001"), so a small p
    never prints as 0.000. ``frame.attrs["reading"]`` is the model's one-sentence reading.
    """
    frame = (
        result.table.set_index("term")[["estimate", "ci_low", "ci_high", "p_value"]]
        .astype(float)
        .rename_axis("term")
        .assign(p_value=lambda d: d["p_value"].map(format_p).astype(object))
    )
    frame.attrs["reading"] = result.reading
    return Table(
        frame,
        family="cross_site_models",
        rows="term",
        scope={**scope, "model": name},
        columns={
            "estimate": Figure("model_estimate", dp=2),
            "ci_low": Figure("model_ci_low", dp=2),
            "ci_high": Figure("model_ci_high", dp=2),
            "p_value": Text("model_p_value"),
        },
        total_row=None,
        labels={
            "estimate": "Estimate",
            "ci_low": "95% CI low",
            "ci_high": "95% CI high",
            "p_value": "p-value",
        },
    )


#: The last few :func:`cross_site_models` answers, by the frames they were fitted on and
#: the period (:class:`~hubspoke.analysis.cross_site.memo.FrameMemo`): the report fits the
#: models for its tables and again for its models section, and this serves both.
_FITS: FrameMemo[dict[str, ModelResult]] = FrameMemo()


def _fresh(result: ModelResult) -> ModelResult:
    """A copy a caller may change without changing the remembered fit."""
    return replace(result, table=result.table.copy(), details=dict(result.details))


def cross_site_models(tables: Mapping[str, pd.DataFrame], *, year: str) -> dict[str, ModelResult]:
    """The cross-site models of the period, by name.

    ``risk_reduction`` (GEE logistic, bias-reduced standard errors), ``risk_reduction_mixed``
    (random intercept per service, with its ICC) and ``referrals`` (Poisson or negative
    binomial GEE with the child population as exposure). Fitted once for the same frame
    objects and period (see :data:`_FITS`); each call gets its own copies.
    """
    names = tuple(sorted(tables))
    frames = [tables[n] for n in names]
    key = (names, Period.parse(year))
    fits = _FITS.get(frames, key) or _FITS.put(
        frames,
        key,
        {
            "risk_reduction": risk_reduction_model(tables, year=year),
            "risk_reduction_mixed": risk_reduction_mixed_model(tables, year=year),
            "referrals": referral_model(tables, year=year),
        },
    )
    return {name: _fresh(result) for name, result in fits.items()}


def model_reports(tables: Mapping[str, pd.DataFrame], *, year: str) -> dict[str, ModelReport]:
    """:func:`cross_site_models` as the report shows them: each result with its diagnostics.

    The release builds them with the cross-site tables, so the report reads them
    (:func:`hubspoke.analysis.release.report_tables`) instead of fitting the models again;
    an analyst who wants the fits themselves calls :func:`cross_site_models`.
    """
    return {name: ModelReport.of(m) for name, m in cross_site_models(tables, year=year).items()}


def cross_site_tables(
    tables: Mapping[str, pd.DataFrame], *, year: str, service_years: pd.DataFrame | None = None
) -> dict[str, Table]:
    """Every funder table of the cross-site report for ``year`` (``"2014"``... or ``"all"``).

    ``service_years``: :func:`hubspoke.analysis.outcomes.indicators` of every service-year
    (same tables, default framework), when the caller has it (the release), so the
    period's indicators are not computed again.

    Keys: ``ratings`` and ``ratings.counts`` (the counts the ratings rest on),
    ``risk.side_by_side`` (per service and programme: risk reduced, with both ratings,
    %), ``funnel.risk`` and ``funnel.endings`` (the funnel plots' data, rows
    ``service_id`` with the programme ``Total`` row), ``funnel.indicator.<id>`` for
    each proportion indicator of the outcome framework and ``funnel.referral_rate``
    (young people referred per 10,000 children; :func:`.indicator_tables.indicator_tables`),
    ``groups.model_variant``,
    ``groups.host_setting``, ``groups.phase``, policy progress over the years and the Spoke
    survey pooled over the programme (``policy.by_year``, ``policy.groups.<dim>``,
    ``policy.change.groups.<dim>``, ``survey.programme``:
    :func:`.context_tables.context_tables`) and ``models.<name>`` for each model that could
    be fitted.
    """
    period = time_period(tables, year)
    choice = "all" if Period.parse(year).is_all else period
    scope = {"time_period": period}
    counts = service_counts(tables, year=choice)
    out: dict[str, Table] = {}
    # shared by the ratings and the funnels
    values = period_indicators(tables, year=choice, service_years=service_years)
    out.update(
        ratings_tables(tables, year=choice, counts=counts, scope=scope, indicator_table=values)
    )
    risk = _proportion_table(
        counts, numerator="risk_reduced", denominator="risk_assessed",
        family="cross_site_risk", scope=scope,
    )  # fmt: skip
    out["risk.side_by_side"] = risk
    out["funnel.risk"] = risk
    out["funnel.endings"] = _proportion_table(
        counts, numerator="planned_endings", denominator="episodes_closed",
        family="cross_site_endings", scope=scope,
    )  # fmt: skip
    out.update(indicator_tables(tables, year=choice, scope=scope, indicator_table=values))
    out.update(group_tables(counts, service_context(tables), scope=scope))
    out.update(context_tables(tables, year=choice, scope=scope))
    for name, result in cross_site_models(tables, year=choice).items():
        if result.ok:
            out[f"models.{name}"] = model_table(result, name=name, scope=scope)
    return out
