"""The frames of every service-year worked out at once, for a caller that builds them all.

The release builds the funder tables of every service report. One service-year at a
time, each frame selects its rows again and pays pandas' cost per call again, and the
year-on-year table works out every earlier year again. :func:`frames_by_service_year`
works each of these families out for all service-years in one pass;
:func:`~hubspoke.analysis.service.service_tables` takes one service-year's
:class:`ServiceYearFrames` in place of its own calls. Each frame equals what the
per-service function returns for that service-year (the per-service functions run the
same counting on one service's rows; the tests compare every service-year, and check the
counts against the tables read plainly).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from hubspoke import load
from hubspoke.analysis.outcomes import (
    evidence_table,
    evidence_tables_by_service_year,
    indicators,
    ratings,
    ratings_by_service_year,
)
from hubspoke.analysis.service.overview import (
    completeness_by_service_year,
    year_figures_by_service_year,
    year_on_year_from,
)
from hubspoke.analysis.service.people import (
    demographics,
    demographics_by_service_year,
    reach_by_service_year,
    referral_sources,
    referral_sources_by_service_year,
)
from hubspoke.analysis.service.safety import risk_summary_by_service_year, risk_transitions


@dataclass(frozen=True)
class ServiceYearFrames:
    """One service-year's frames, worked out with every other service-year's: each
    equals its function's (or frame's) result for that service-year.

    ``reach``: :func:`~hubspoke.analysis.service.reach`;
    ``demographics``: :func:`~hubspoke.analysis.service.demographics`;
    ``referral_sources``: :func:`~hubspoke.analysis.service.referral_sources`;
    ``risk_summary``: :func:`~hubspoke.analysis.service.risk_transitions`' ``"summary"``;
    ``completeness``: :func:`~hubspoke.analysis.service.data_completeness`;
    ``year_on_year``: :func:`~hubspoke.analysis.service.year_on_year`;
    ``outcome_evidence`` and ``outcome_ratings``: the service-year's
    :func:`~hubspoke.analysis.outcomes.evidence_table` and
    :func:`~hubspoke.analysis.outcomes.ratings` (of its rows of the indicator table).
    """

    reach: Mapping[str, pd.DataFrame]
    demographics: Mapping[str, pd.DataFrame]
    referral_sources: pd.DataFrame
    risk_summary: pd.DataFrame
    completeness: pd.DataFrame
    year_on_year: pd.DataFrame
    outcome_evidence: pd.DataFrame
    outcome_ratings: pd.DataFrame


def frames_by_service_year(
    tables: Mapping[str, pd.DataFrame], *, indicator_table: pd.DataFrame | None = None
) -> dict[tuple[str, int], ServiceYearFrames]:
    """:class:`ServiceYearFrames` of every service-year of the tables, by ``(service_id, year)``.

    Counts are made at once over the service-years with cases; one without cases (its
    year known from other tables) is worked out on its own, which gives its zeros.
    ``indicator_table``: :func:`~hubspoke.analysis.outcomes.indicators` of every
    service-year (worked out here when None).
    """
    every = indicators(tables) if indicator_table is None else indicator_table
    evidence = evidence_tables_by_service_year(every)
    rated = ratings_by_service_year(every)
    reached = reach_by_service_year(tables)
    people = demographics_by_service_year(tables)
    referrals = referral_sources_by_service_year(tables)
    risk = risk_summary_by_service_year(tables)
    completeness = completeness_by_service_year(tables)
    figures = year_figures_by_service_year(tables)
    out: dict[tuple[str, int], ServiceYearFrames] = {}
    for service_id, years in load.available_service_years(tables).items():
        for year in years:
            key = (service_id, year)
            if key not in people:  # no cases: every count is 0
                people[key] = demographics(tables, service_id=service_id, year=year)
                referrals[key] = referral_sources(tables, service_id=service_id, year=year)
                risk[key] = risk_transitions(tables, service_id=service_id, year=year)["summary"]
            out[key] = ServiceYearFrames(
                reach=reached[key],
                demographics=people[key],
                referral_sources=referrals[key],
                risk_summary=risk[key],
                completeness=completeness[key],
                year_on_year=year_on_year_from(figures, service_id=service_id, year=year),
                outcome_evidence=(
                    evidence[key] if key in evidence else evidence_table(every.iloc[:0])
                ),
                outcome_ratings=rated[key] if key in rated else ratings(every.iloc[:0]),
            )
    return out
