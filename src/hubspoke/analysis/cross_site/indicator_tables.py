"""The funnel tables of the cross-site report: every proportion indicator, and referrals per 10,000 children.

:func:`indicator_tables` builds, for one evaluation year or the years pooled, one
:class:`~hubspoke.privacy.table.Table` per proportion indicator of the outcome
framework (``funnel.indicator.<id>``) and one of young people referred per 10,000
children of the service's areas (``funnel.referral_rate``). Rows are services (fixed
order) and the programme ``Total``; columns ``numerator``, ``denominator`` and
``value`` (the percentage, or the rate), derived from both.

Each count carries the identity the service reports give the same quantity
(:func:`hubspoke.analysis.service.tables._evidence_ids`), so the release-wide
suppression sees one quantity: a count hidden in a service report is hidden on the
funnel too. Pooled over years, each count is the sum of the years' counts (the
framework's indicators pooled by service; case records of each year), as the other
cross-site tables publish it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Final

import numpy as np
import pandas as pd

from hubspoke import load
from hubspoke.analysis import outcomes
from hubspoke.analysis.common import percent
from hubspoke.analysis.cross_site.groups import proportion_intervals, rate_intervals
from hubspoke.analysis.cross_site.models import AreaPopulation
from hubspoke.analysis.cross_site.summary import _submitted
from hubspoke.analysis.outcomes import Framework, Indicator
from hubspoke.analysis.service.tables import _evidence_ids
from hubspoke.load import Period, service_order
from hubspoke.privacy.table import TOTAL, CellId, Count, Derived, Figure, Table

#: Open-data family of the indicator funnels and of the referral rate.
FAMILY: Final = "cross_site_indicators"
RATE_FAMILY: Final = "cross_site_referrals"
#: Key of the referral-rate table; indicator tables are ``funnel.indicator.<id>``.
RATE_KEY: Final = "funnel.referral_rate"
#: Children the referral rate is expressed per.
RATE_PER: Final = 10_000
#: Indicators funnelled for single years only, without the programme Total row. 1.2's counts
#: (referrals from other agencies; with a recorded source) are sums of referral-source
#: counts, most of them 1-5 in a service-year. Their pooled and programme sums are
#: published nowhere else, and on the default data adding them hid about 1,000 more cells
#: of the other reports (services' totals of young people among them) while no service
#: of the 1.2 funnel itself could be shown; per year without a Total they cost nothing.
YEAR_ONLY_INDICATORS: Final = frozenset({"1.2"})
#: Said of a pooled period's child population (one count of the children per year taken part).
SUMMED: Final = ", summed over the years"
#: Indicator tables whose counts are figures (policy elements of areas count no one), and
#: quantities that are figures whatever the table (sessions), as the service report has them.
FIGURE_TABLES: Final = frozenset({"policy"})
FIGURE_INDICATORS: Final = frozenset({"sessions"})
#: What a count of each indicator table counts.
COUNT_UNITS: Final[Mapping[str, str]] = {
    "cases": "young people",
    "activities": "professionals",
    "spoke_survey": "Spoke workers",
}


def indicator_key(indicator_id: str) -> str:
    """The key of an indicator's funnel table, e.g. ``funnel.indicator.2.1``."""
    return f"funnel.indicator.{indicator_id}"


def indicator_tables(
    tables: Mapping[str, pd.DataFrame],
    *,
    year: str | int,
    scope: Mapping[str, object],
    framework: Framework | None = None,
    year_only: Collection[str] = YEAR_ONLY_INDICATORS,
    indicator_table: pd.DataFrame | None = None,
) -> dict[str, Table]:
    """The funnel tables of the period: ``funnel.indicator.<id>`` per proportion indicator
    (framework order), then ``funnel.referral_rate``.

    ``year``: one evaluation year (``"2015"``) or ``"all"``; ``scope``: the cross-site
    scope (``{"time_period": "2015"}`` or ``{"time_period": "2014-2016"}``). Indicators
    in ``year_only`` (:data:`YEAR_ONLY_INDICATORS`) get a table for single years only,
    without the Total row. Each table's ``frame.attrs`` say how to draw it
    (``funnel_kind``, ``funnel_scale``, ``title``, ``ylabel``, ``xlabel``, ``measure``,
    ``slug``, ``note``). ``indicator_table``: the period's indicators per service (as
    :func:`.ratings.period_indicators` computes them with ``framework``), when the caller
    has them already.
    """
    fw = framework or outcomes.load_framework()
    chosen = Period.parse(year).year
    if indicator_table is not None:
        values = indicator_table
    elif chosen is not None:
        values = outcomes.indicators(tables, framework=fw, year=chosen)
    else:
        values = outcomes.indicators(tables, framework=fw, by=("service_id",))
    out: dict[str, Table] = {}
    for _, indicator in fw.indicators:
        if indicator.kind != "proportion" or (chosen is None and indicator.id in year_only):
            continue
        out[indicator_key(indicator.id)] = proportion_table(
            values, indicator, framework=fw, scope=scope, total=indicator.id not in year_only
        )
    out[RATE_KEY] = referral_rate_table(tables, year=year, scope=scope)
    return out


# --------------------------------------------------------------------------- proportions
def _column_spec(cid: CellId, table: str) -> Count | Figure:
    """The column of one evidence quantity, as the service report declares it (no scope)."""
    if table in FIGURE_TABLES or cid.indicator in FIGURE_INDICATORS:
        return Figure(cid.indicator, dims=dict(cid.dims))
    return Count(cid.indicator, unit=COUNT_UNITS.get(table, "young people"), dims=dict(cid.dims))


def _with_total(frame: pd.DataFrame, *, total: bool = True) -> pd.DataFrame:
    """Services in fixed order, then (``total``) the programme Total row (sum of the services)."""
    out = frame.loc[service_order(list(frame.index))]
    if total:
        out = pd.concat([out, out.sum(axis=0).to_frame(TOTAL).T])
    out = out.astype(float)
    out.index.name = "service_id"
    return out


def proportion_table(
    values: pd.DataFrame,
    indicator: Indicator,
    *,
    framework: Framework,
    scope: Mapping[str, object],
    total: bool = True,
) -> Table:
    """One proportion indicator per service and (``total``) for the programme.

    ``values``: :func:`hubspoke.analysis.outcomes.indicators` of the period (per service).
    A count of nothing is 0, as the service report writes it (no one to count: the
    denominator and the numerator are 0, the value is missing). The value is the
    percentage (0-100).
    """
    num_id, den_id, _ = _evidence_ids(framework, {})[indicator.id]
    rows = values.loc[values["indicator_id"].eq(indicator.id)]
    den = pd.to_numeric(rows["denominator"]).astype(float).fillna(0.0)
    num = pd.to_numeric(rows["numerator"]).astype(float)
    num = num.where(~(num.isna() & den.eq(0)), 0.0)
    frame = _with_total(
        pd.DataFrame(
            {"numerator": num.to_numpy(), "denominator": den.to_numpy()},
            index=pd.Index(rows["service_id"].astype(str).to_numpy(), name="service_id"),
        ),
        total=total,
    )
    frame["value"] = percent(frame["numerator"], frame["denominator"])
    frame["ci_low"], frame["ci_high"] = proportion_intervals(
        frame["numerator"], frame["denominator"], total_row=TOTAL if total else None
    )
    n_label = indicator.n_label or outcomes.TABLE_UNITS[indicator.table]
    frame.attrs.update(
        funnel_kind="proportion",
        funnel_scale=100.0,
        indicator_id=indicator.id,
        title=f"{indicator.label}, by service",
        ylabel=f"{indicator.label} (%)",
        xlabel=f"Number of {n_label}",
        measure=indicator.label[0].lower() + indicator.label[1:],
        slug="indicator_" + indicator.id.replace(".", "_"),
        description=indicator.description,
        note="",
    )
    return Table(
        frame,
        family=FAMILY,
        rows="service_id",
        scope=scope,
        columns={
            "numerator": _column_spec(num_id, indicator.table),
            "denominator": _column_spec(den_id, indicator.table),
            "value": Derived(
                "pct_outcome_indicator",
                ("numerator", "denominator"),
                dp=1,
                dims={"outcome_indicator": indicator.id},
            ),
            "ci_low": Derived(
                "ci_low_pct_outcome_indicator",
                ("numerator", "denominator"),
                dp=1,
                dims={"outcome_indicator": indicator.id},
            ),
            "ci_high": Derived(
                "ci_high_pct_outcome_indicator",
                ("numerator", "denominator"),
                dp=1,
                dims={"outcome_indicator": indicator.id},
            ),
        },
        total_row=TOTAL if total else None,
        labels={
            "numerator": indicator.label,
            "denominator": n_label[0].upper() + n_label[1:],
            "value": "%",
            "ci_low": "95% CI low",
            "ci_high": "95% CI high",
        },
    )


# --------------------------------------------------------------------------- referral rate
def _years(tables: Mapping[str, pd.DataFrame], year: str | int) -> list[int]:
    chosen = Period.parse(year).year
    if chosen is not None:
        return [chosen]
    return sorted({y for ys in load.available_service_years(tables).values() for y in ys})


def _referred(tables: Mapping[str, pd.DataFrame], year: int) -> pd.DataFrame:
    """Per service with a submission in ``year``: case records of the year (0 when none).

    The ``young_people`` count of the cross-site and service tables (one case record
    per young person referred in the year).
    """
    cases = Period(year).rows(load.table(tables, "cases"))
    referred = cases.groupby(cases["service_id"].astype(str).to_numpy()).size()
    services = _submitted(tables, year)["service_id"].astype(str).unique()
    return pd.DataFrame(
        {
            "service_id": services,
            "year": year,
            "referred": referred.reindex(services).fillna(0).to_numpy(dtype=float),
        }
    )


def child_population(
    tables: Mapping[str, pd.DataFrame], rows: pd.DataFrame
) -> tuple[pd.Series, list[int]]:
    """Child population (0-17) of each row's service areas, for the context year nearest its year.

    ``rows`` has ``service_id`` and ``year``; NaN where the service's areas lack a
    population. Also returns the context years used.
    """
    lookup = AreaPopulation.of(tables)
    found: list[float] = []
    used: set[int] = set()
    for row in rows[["service_id", "year"]].itertuples(index=False):
        population = None if lookup is None else lookup.nearest(str(row.service_id), int(row.year))
        if population is None:
            found.append(np.nan)
            continue
        found.append(float(population[1]))
        used.add(population[0])
    return pd.Series(found, index=rows.index, dtype=float), sorted(used)


def referral_rate_table(
    tables: Mapping[str, pd.DataFrame], *, year: str | int, scope: Mapping[str, object]
) -> Table:
    """Young people referred per 10,000 children (0-17) of each service's areas, and the programme's.

    Numerator: young people referred in the period (case records of each year, the
    ``young_people`` count of the other tables; pooled: the sum of the years').
    Denominator: the child population of the service's local-authority areas (a public
    figure), for each year the service took part, summed over the years when pooled (so
    the pooled rate is per 10,000 children a year). ``attrs["note"]`` says which context
    years were used, and which services have no population.
    """
    years = _years(tables, year)
    pairs = (
        pd.concat([_referred(tables, y) for y in years], ignore_index=True)
        if years
        else pd.DataFrame({"service_id": [], "year": [], "referred": []})
    )
    population, used = child_population(tables, pairs)
    per_service = (
        pairs.assign(population=population)
        .groupby("service_id", sort=False)
        .agg(
            referred=("referred", "sum"),
            population=("population", lambda s: s.sum(min_count=len(s))),
        )
    )
    frame = _with_total(
        per_service.rename(columns={"referred": "numerator", "population": "denominator"})
    )
    if frame.drop(index=TOTAL)["denominator"].isna().any():
        frame.loc[TOTAL, "denominator"] = np.nan
    frame["value"] = (
        RATE_PER * frame["numerator"] / frame["denominator"].where(frame["denominator"] > 0)
    )
    frame["ci_low"], frame["ci_high"] = rate_intervals(
        frame["numerator"], frame["denominator"], per=RATE_PER, total_row=TOTAL
    )
    pooled = len(years) > 1
    frame.attrs.update(
        funnel_kind="rate",
        funnel_scale=float(RATE_PER),
        title="Young people referred per 10,000 children, by service",
        ylabel="Referred per 10,000 children" + (" a year" if pooled else ""),
        xlabel="Children (0-17) in the service's areas" + (SUMMED if pooled else ""),
        measure="young people referred per 10,000 children" + (" a year" if pooled else ""),
        slug="referral_rate",
        note=_population_note(frame, used=used, years=years),
    )
    return Table(
        frame,
        family=RATE_FAMILY,
        rows="service_id",
        scope=scope,
        columns={
            "numerator": Count("young_people"),
            "denominator": Figure("child_population_years", unit="children x years"),
            "value": Derived(
                "referrals_per_10000_children",
                ("numerator", "denominator"),
                unit="per 10,000 children",
                dp=1,
            ),
            "ci_low": Derived(
                "ci_low_referrals_per_10000_children",
                ("numerator", "denominator"),
                unit="per 10,000 children",
                dp=1,
            ),
            "ci_high": Derived(
                "ci_high_referrals_per_10000_children",
                ("numerator", "denominator"),
                unit="per 10,000 children",
                dp=1,
            ),
        },
        total_row=TOTAL,
        labels={
            "numerator": "Young people referred",
            "denominator": "Children (0-17) in the areas" + (SUMMED if pooled else ""),
            "value": "Per 10,000 children" + (" a year" if pooled else ""),
            "ci_low": "95% CI low",
            "ci_high": "95% CI high",
        },
    )


def _population_note(frame: pd.DataFrame, *, used: list[int], years: list[int]) -> str:
    """Where the child population comes from, in words."""
    text = "Child population (0-17) of each service's local-authority areas"
    wanted, found = ", ".join(map(str, years)), ", ".join(map(str, used))
    if used and not set(used) & set(years):
        text += (
            f"; the context data have no programme years ({wanted}), so the nearest available "
            f"year ({found}) was used"
        )
    elif used and set(used) != set(years):
        text += f"; for the programme years ({wanted}) the nearest years with data ({found})"
    missing = [str(s) for s in frame.index if s != TOTAL and pd.isna(frame.loc[s, "denominator"])]
    if missing:
        text += f". No population for the areas of {', '.join(missing)}: no rate for them or the programme"
    return text + "."
