"""Per service (and per service-year): context and the key measures, computed from the tables.

The other cross-site modules start from the frames built here: :func:`service_context`
(model variant, phase, host settings, Spokes) and :func:`service_year_summary` (context
plus counts and the proportions or means made from them, for one year or for each year
and the years pooled). Counts are kept next to what they are out of, so later steps can
pool them across services and disclosure control can hide small ones.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

import pandas as pd

from hubspoke import load
from hubspoke.analysis.common import percent
from hubspoke.analysis.cross_site.memo import FrameMemo
from hubspoke.errors import ParameterError
from hubspoke.load import ALL_YEARS, Period, service_order

SUMMARY_CONTEXT = ("model_variant", "phase", "host_setting", "host_settings", "n_spokes")


def host_labels(spokes: pd.DataFrame) -> pd.DataFrame:
    """Per service: the main host setting of its Spokes and every setting they are hosted in.

    The main host is the most common setting; a tie between settings is ``"Mixed"``, so
    each service falls in exactly one group when comparing by host setting.
    """
    if spokes.empty:
        return pd.DataFrame(columns=["service_id", "host_setting", "host_settings"])
    # Plain counting: the table is small (Spokes) and read by many reports, where pandas'
    # per-group overhead would cost more than the counting itself.
    counts: dict[str, Counter[str]] = {}
    for service, host in zip(
        spokes["service_id"].astype(str), spokes["host_setting"].astype(str), strict=True
    ):
        if pd.isna(service):
            continue
        found = counts.setdefault(service, Counter())
        if not pd.isna(host):  # a missing setting counts for no setting
            found[host] += 1
    rows = [(service, _main_host(counts[service]), "; ".join(sorted(counts[service])))
            for service in sorted(counts)]  # fmt: skip
    return pd.DataFrame(rows, columns=["service_id", "host_setting", "host_settings"])


def _main_host(counts: Counter[str]) -> str:
    """The most common setting, or ``"Mixed"`` when settings tie (or none is known)."""
    most = max(counts.values(), default=0)
    top = [host for host, n in counts.items() if n == most]
    return top[0] if len(top) == 1 and most > 0 else "Mixed"


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


#: The tables whose rows make a submission, for :func:`_submitted`.
_SUBMISSION_TABLES = ("cases", "activities", "policy", "spoke_survey")
#: :func:`_submitted` answers by the frames read and the year (a report asks it often).
_SUBMITTED: FrameMemo[pd.DataFrame] = FrameMemo()


def _submitted(tables: Mapping[str, pd.DataFrame], year: int | None) -> pd.DataFrame:
    """Every (service_id, year) with a cleaned submission in any submission table."""
    frames = [tables.get(name) for name in _SUBMISSION_TABLES]
    found = _SUBMITTED.get(frames, year)
    if found is None:
        parts = [
            Period(year)
            .rows(load.table(tables, name))[["service_id", "year"]]
            .astype({"service_id": str, "year": "int64"})
            for name in _SUBMISSION_TABLES
        ]
        found = _SUBMITTED.put(
            frames, year, pd.concat(parts).drop_duplicates().reset_index(drop=True)
        )
    return found.copy()


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
