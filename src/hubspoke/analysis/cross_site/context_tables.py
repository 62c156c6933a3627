"""Policy progress over the years and the Spoke survey pooled: cross-site funder tables by context.

:func:`context_tables` builds, for one evaluation year or the years pooled, the
:class:`~hubspoke.privacy.table.Table` of

* **policy progress** (``policy.by_year``): each service's mean policy checklist score
  (0 not started to 3 embedded) in each programme year up to the period's end, and its
  change since the service's first year with policy data; the programme row is the mean
  of the services' scores (each service counts once). Scores count no one, so they are
  :class:`~hubspoke.privacy.table.Figure` cells, and a service's score of a year has the
  identity the service report gives it (``policy_mean_score`` with ``service_id`` and
  ``time_period``), so the two always agree;
* **policy by context** (``policy.groups.<dim>`` and ``policy.change.groups.<dim>`` for
  model variant, main host setting and phase): the services' latest-year score, and its
  change since their first year, compared across groups with the service as the unit
  (:func:`~hubspoke.analysis.cross_site.groups.compare_group_means`), with the interval
  only where a group holds enough services and a plain note where it does not;
* **the Spoke survey pooled** (``survey.programme``): per statement, Spoke workers
  saying yes, no, answering and not answering, and the percentage saying yes, for the
  whole programme; and (``survey.model_variant.<question>``, only when asked for: on the
  default data the release hides most of its cells) the same by model variant.

Survey counts are counts of Spoke workers' answers in the period (pooled: the sum of the
years', as every cross-site count), with the identities the other tables use for the
same quantity (``spoke_workers`` with ``survey_question`` and ``answer``;
``spoke_workers_surveyed``), so the release-wide suppression hides a count everywhere or
nowhere. Nothing is filtered here: the release hides what it must.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import replace
from typing import Final

import numpy as np
import pandas as pd

from hubspoke import load
from hubspoke.analysis.common import percent
from hubspoke.analysis.cross_site.groups import GROUPINGS, compare_group_means
from hubspoke.analysis.cross_site.summary import _submitted, service_context
from hubspoke.analysis.service.survey import SURVEY_STATEMENTS
from hubspoke.load import Period, service_order
from hubspoke.privacy.table import TOTAL, CellId, Column, Count, Derived, Figure, Table, Text

#: Open-data families of the policy and the Spoke survey tables.
POLICY_FAMILY: Final = "cross_site_policy"
SURVEY_FAMILY: Final = "cross_site_spoke_survey"
#: Row label of the programme in ``policy.by_year`` (the mean of the services' scores).
PROGRAMME_ROW: Final = "All services"
#: The answer of a Spoke worker who left a question blank (as the service report names it).
NOT_RECORDED: Final = "Not recorded"
#: Columns of :func:`policy_scores`.
POLICY_SCORE_COLUMNS: Final = ("service_id", "year", "score", "items")
#: Columns of :func:`survey_counts`.
SURVEY_COUNT_COLUMNS: Final = ("survey_question", "yes", "no", "answered", "not_recorded")
#: Spoke workers surveyed in the period (the programme cell of the cross-site ratings counts).
SURVEYED: Final = "spoke_workers_surveyed"


def _answer(answer: str) -> Count:
    """Spoke workers giving one answer to the row's statement."""
    return Count("spoke_workers", unit="Spoke workers", dims={"answer": answer})


YES: Final = _answer("Yes")
NO: Final = _answer("No")
ANSWERED: Final = _answer("Answered")
UNANSWERED: Final = _answer(NOT_RECORDED)
PCT_YES: Final = Derived("pct_spoke_workers_yes", ("yes", "answered"), dp=0)
#: The columns of the survey tables: Spoke workers answering yes, no, at all, not at all; % yes.
SURVEY_COLUMNS: Final[Mapping[Hashable, Column]] = {
    "yes": YES,
    "no": NO,
    "answered": ANSWERED,
    "not_recorded": UNANSWERED,
    "%": PCT_YES,
}
SURVEY_LABELS: Final[Mapping[Hashable, str]] = {
    "yes": "Yes",
    "no": "No",
    "answered": "Answered",
    "not_recorded": "Not recorded",
    "%": "% yes",
}


# --------------------------------------------------------------------------- periods
def _years(tables: Mapping[str, pd.DataFrame], year: str) -> list[int]:
    """The programme years up to the end of the period (every year for ``"all"``)."""
    every = sorted({y for ys in load.available_service_years(tables).values() for y in ys})
    chosen = Period.parse(year).year
    return every if chosen is None else [y for y in every if y <= chosen]


def _period_services(tables: Mapping[str, pd.DataFrame], year: str) -> list[str]:
    """Services with a submission in the period, in fixed order (the other group tables' services)."""
    submitted = _submitted(tables, Period.parse(year).year)["service_id"].astype(str).unique()
    return service_order(list(submitted))


# --------------------------------------------------------------------------- policy
def policy_scores(tables: Mapping[str, pd.DataFrame], *, year: str = "all") -> pd.DataFrame:
    """Mean checklist score (0-3) per service and year, for every year up to the period's end.

    Columns :data:`POLICY_SCORE_COLUMNS`: ``score`` is the mean status score over every
    area and element the service reported that year (the service report's mean score),
    ``items`` how many it is over.
    """
    policy = load.table(tables, "policy")
    years = _years(tables, year)
    frame = pd.DataFrame(
        {
            "service_id": policy["service_id"].astype(str).to_numpy(),
            "year": policy["year"].astype("Int64").to_numpy(),
            "status_score": policy["status_score"].astype("Int64").astype(float).to_numpy(),
        }
    )
    return (
        frame.loc[frame["year"].isin(years)]
        .groupby(["service_id", "year"], as_index=False)
        .agg(score=("status_score", "mean"), items=("status_score", "size"))
        .astype({"year": "int64", "items": "int64", "score": float})[list(POLICY_SCORE_COLUMNS)]
    )


def policy_progress_by_service(scores: pd.DataFrame, *, years: list[int]) -> pd.DataFrame:
    """Per service (fixed order): its score in each year, its first and latest year, and the change.

    ``scores``: :func:`policy_scores`. Columns: one per year (as text, e.g. ``"2015"``;
    missing where the service reported no policy that year), ``first_year`` and
    ``latest_year`` (text), ``latest`` (the score in the latest year) and ``change``
    (latest minus first; missing when the service has one year of policy data only).
    """
    wide = scores.pivot(index="service_id", columns="year", values="score").reindex(columns=years)
    wide = wide.loc[service_order(list(wide.index))]
    wide.columns = [str(y) for y in wide.columns]
    has = wide.notna()
    first = has.idxmax(axis=1).where(has.any(axis=1))
    latest = has.iloc[:, ::-1].idxmax(axis=1).where(has.any(axis=1))
    first_score = pd.Series([wide.at[s, y] for s, y in first.items()], index=wide.index)
    latest_score = pd.Series([wide.at[s, y] for s, y in latest.items()], index=wide.index)
    out = wide.assign(
        first_year=first.astype(object),
        latest_year=latest.astype(object),
        latest=latest_score.astype(float),
        change=(latest_score - first_score).where(first != latest).astype(float),
    )
    out.index.name = "service_id"
    return out


def _programme_row(per_service: pd.DataFrame, years: list[str]) -> pd.DataFrame:
    """The programme: the mean of the services' scores each year, and of their changes."""
    row = {y: per_service[y].mean() for y in years}
    row |= {
        "first_year": np.nan,
        "latest_year": np.nan,
        "latest": per_service["latest"].mean(),
        "change": per_service["change"].mean(),
    }
    return pd.DataFrame([row], index=pd.Index([PROGRAMME_ROW], name="service_id"))


def policy_by_year_table(
    tables: Mapping[str, pd.DataFrame], *, year: str, scope: Mapping[str, object]
) -> Table:
    """``policy.by_year``: per service and for the programme, the mean score each year and the change.

    Rows: services with policy data (fixed order), then :data:`PROGRAMME_ROW` (the mean
    of the services' scores, each service counting once; its change is the mean change
    of the services with two or more years). Columns: each year up to the period's end
    (``policy_mean_score`` of that ``time_period``, the service report's cell), ``first_year``,
    ``change`` (since the service's first year, to its latest year in the period).
    """
    years = [str(y) for y in _years(tables, year)]
    per_service = policy_progress_by_service(
        policy_scores(tables, year=year), years=[int(y) for y in years]
    )
    frame = pd.concat([per_service, _programme_row(per_service, years)])
    frame = frame[[*years, "first_year", "change"]]
    frame["first_year"] = frame["first_year"].astype(object)
    frame.attrs["note"] = (
        "Mean policy framework score, 0 (not started) to 3 (embedded), over every area and "
        "element a service reported; change from the service's first year with policy data "
        "to its latest. All services: the mean of the services' scores (each counts once)."
    )
    return Table(
        frame,
        family=POLICY_FAMILY,
        rows="service_id",
        scope=scope,
        columns={
            **{y: Figure("policy_mean_score", dp=2, dims={"time_period": y}) for y in years},
            "first_year": Text("policy_first_year"),
            "change": Figure("policy_score_change_since_first_year", dp=2),
        },
        total_row=PROGRAMME_ROW,
        labels={
            **{y: f"Score {y}" for y in years},
            "first_year": "First year",
            "change": "Change since first year",
        },
    )


def policy_group_tables(
    tables: Mapping[str, pd.DataFrame], *, year: str, scope: Mapping[str, object]
) -> dict[str, Table]:
    """``policy.groups.<dim>`` (latest-year score) and ``policy.change.groups.<dim>`` (change).

    The service is the unit (:func:`compare_group_means`): a group's mean is the mean of
    its services' values with a t interval over services, shown only where the group
    holds enough services with a value; ``note`` says how many and whether they can be
    compared, and ``frame.attrs["note"]`` is the test across groups in words. The change
    tables are left out when no service has two years of policy data in the period.
    Services are every service with a submission in the period (the risk group tables'),
    those without policy data counted in the note.
    """
    years = _years(tables, year)
    per_service = policy_progress_by_service(policy_scores(tables, year=year), years=years)
    services = _period_services(tables, year)
    context = service_context(tables).astype({"phase": str}).set_index("service_id")
    rows = (
        per_service[["latest", "change"]]
        .reindex(services)
        .join(context[list(GROUPINGS)].astype(str))
        .reset_index()
    )
    out: dict[str, Table] = {}
    measures = [("policy.groups", "latest", "policy_latest_score", "Mean latest score")]
    if rows["change"].notna().any():
        measures.append(
            (
                "policy.change.groups",
                "change",
                "policy_score_change",
                "Mean change since first year",
            )
        )
    for prefix, value, indicator, label in measures:
        for dim in GROUPINGS:
            out[f"{prefix}.{dim}"] = _group_mean_table(
                rows, by=dim, value=value, indicator=indicator, label=label, scope=scope
            )
    return out


def _group_mean_table(
    rows: pd.DataFrame,
    *,
    by: str,
    value: str,
    indicator: str,
    label: str,
    scope: Mapping[str, object],
) -> Table:
    """One :func:`compare_group_means` as a funder table of figures (no one is counted)."""
    compared = compare_group_means(rows, by=by, value=value).set_index("group")
    comparable = compared["comparable"].astype(bool)
    frame = pd.DataFrame(
        {
            "services": compared["n_services"].astype(float),
            "with_data": compared["n_with_data"].astype(float),
            "mean": compared["mean"].astype(float),
            "ci_low": compared["ci_low"].astype(float).where(comparable),
            "ci_high": compared["ci_high"].astype(float).where(comparable),
            "note": compared["note"].astype(str).astype(object),
        },
        index=pd.Index([str(g) for g in compared.index], name=by),
    )
    frame.attrs["note"] = str(compared.attrs.get("note", ""))
    frame.attrs["test"] = dict(compared.attrs.get("test", {}))
    return Table(
        frame,
        family=POLICY_FAMILY,
        rows=by,
        scope=scope,
        columns={
            "services": Figure("services", unit="services"),
            "with_data": Figure(f"services_with_{indicator}", unit="services"),
            "mean": Figure(f"{indicator}_services_mean", dp=2),
            "ci_low": Figure(f"ci_low_{indicator}_services_mean", dp=2),
            "ci_high": Figure(f"ci_high_{indicator}_services_mean", dp=2),
            "note": Text(f"{indicator}_group_note"),
        },
        total_row=None,
        labels={
            "services": "Services",
            "with_data": "With policy data" if value == "latest" else "With two or more years",
            "mean": label,
            "ci_low": "95% CI low",
            "ci_high": "95% CI high",
            "note": "Note",
        },
    )


# --------------------------------------------------------------------------- Spoke survey
def _as_text(column: pd.Series) -> pd.Series:
    """Answers as text (confidence 4 -> "4"), missing kept missing."""

    def text(v: object) -> str:
        return str(int(v)) if isinstance(v, int | float | np.integer | np.floating) else str(v)

    return column.astype(object).map(text, na_action="ignore")


def survey_counts(
    tables: Mapping[str, pd.DataFrame], *, year: str, by: str | None = None
) -> pd.DataFrame:
    """Spoke workers' answers to each survey statement in the period (pooled: summed over years).

    Columns :data:`SURVEY_COUNT_COLUMNS` (``by`` first when given: ``model_variant``, a
    grouping of :data:`~hubspoke.analysis.cross_site.groups.GROUPINGS`): ``yes`` (an
    answer the statement counts as yes, :data:`SURVEY_STATEMENTS`), ``no``, ``answered``
    (yes + no) and ``not_recorded``. With ``by``, every group of services appears, with
    zeros where its services have no answers.
    """
    survey = Period.parse(year).rows(load.table(tables, "spoke_survey"))
    keys = [by] if by else []
    frame = survey.assign(service_id=survey["service_id"].astype(str))
    groups: list[str] = []
    if by:
        context = service_context(tables).astype({"phase": str}).set_index("service_id")
        frame = frame.assign(**{by: frame["service_id"].map(context[by].astype(str))})
        groups = sorted(context[by].astype(str).unique())
    parts = []
    for statement, (column, yes) in SURVEY_STATEMENTS.items():
        answers = _as_text(frame[column])
        part = pd.DataFrame(
            {
                **{k: frame[k].to_numpy() for k in keys},
                "yes": (answers.notna() & answers.isin(yes)).to_numpy(dtype=int),
                "no": (answers.notna() & ~answers.isin(yes)).to_numpy(dtype=int),
                "not_recorded": answers.isna().to_numpy(dtype=int),
            }
        )
        summed = part.groupby(keys).sum() if keys else part.sum().to_frame().T
        if by:
            summed = summed.reindex(groups, fill_value=0)
        parts.append(summed.reset_index(drop=not by).assign(survey_question=statement))
    columns = [*keys, *SURVEY_COUNT_COLUMNS]
    return (
        pd.concat(parts, ignore_index=True)
        .assign(answered=lambda d: d["yes"] + d["no"])
        .astype({c: "int64" for c in ("yes", "no", "answered", "not_recorded")})[columns]
    )


def _survey_equations(table: Table, *, surveyed: CellId | None) -> tuple[dict[CellId, float], ...]:
    """Per row: yes + no = answered, and (``surveyed``) answered + not recorded = surveyed."""
    out: list[dict[CellId, float]] = []
    for row in table.frame.index:
        yes, no, answered, unanswered = (
            table.cell_id(row, c) for c in ("yes", "no", "answered", "not_recorded")
        )
        out.append({yes: 1.0, no: 1.0, answered: -1.0})
        if surveyed is not None:
            out.append({answered: 1.0, unanswered: 1.0, surveyed: -1.0})
    return tuple(out)


def _survey_frame(counts: pd.DataFrame) -> pd.DataFrame:
    frame = counts[["yes", "no", "answered", "not_recorded"]].astype(float)
    return frame.assign(**{"%": percent(frame["yes"], frame["answered"])})


def survey_programme_table(
    tables: Mapping[str, pd.DataFrame], *, year: str, scope: Mapping[str, object]
) -> Table:
    """``survey.programme``: per statement, the programme's Spoke workers saying yes, no, not answering.

    Rows: the statements (``survey_question``). Columns: ``yes``, ``no``, ``answered``,
    ``not_recorded`` (counts of Spoke workers) and ``%`` (yes of answered). A reader
    knows yes + no = answered and answered + not recorded = Spoke workers surveyed (the
    cross-site ratings' programme count): both are relations of the release.
    """
    frame = _survey_frame(survey_counts(tables, year=year).set_index("survey_question"))
    table = Table(
        frame,
        family=SURVEY_FAMILY,
        rows="survey_question",
        scope=scope,
        columns=SURVEY_COLUMNS,
        total_row=None,
        labels=SURVEY_LABELS,
    )
    surveyed = CellId.of(SURVEYED, **scope)
    return replace(table, extra_equations=_survey_equations(table, surveyed=surveyed))


def survey_group_tables(
    tables: Mapping[str, pd.DataFrame],
    *,
    year: str,
    scope: Mapping[str, object],
    by: str = "model_variant",
) -> dict[str, Table]:
    """``survey.<by>.<question>``: per statement, Spoke workers' answers by group and the programme.

    One table per statement (keyed by its survey column, e.g.
    ``survey.model_variant.supervision_frequency``): rows the groups, then the programme
    ``Total`` (the same cells as ``survey.programme``); columns as there. The groups add
    up to the programme (a margin of the table and of the release).
    """
    counts = survey_counts(tables, year=year, by=by)
    out: dict[str, Table] = {}
    for statement, (column, _) in SURVEY_STATEMENTS.items():
        part = counts.loc[counts["survey_question"].eq(statement)].set_index(by)
        part = part[["yes", "no", "answered", "not_recorded"]]
        whole = pd.concat([part, part.sum().to_frame(TOTAL).T])
        whole.index.name = by
        table = Table(
            _survey_frame(whole),
            family=SURVEY_FAMILY,
            rows=by,
            scope={**scope, "survey_question": statement},
            columns=SURVEY_COLUMNS,
            total_row=TOTAL,
            labels=SURVEY_LABELS,
        )
        out[f"survey.{by}.{column}"] = replace(
            table, extra_equations=_survey_equations(table, surveyed=None)
        )
    return out


# --------------------------------------------------------------------------- entry point
def context_tables(
    tables: Mapping[str, pd.DataFrame],
    *,
    year: str,
    scope: Mapping[str, object],
    survey_by_variant: bool = False,
) -> dict[str, Table]:
    """Policy progress and the Spoke survey across sites, by context, for one period.

    ``year``: ``"2014"``... or ``"all"``; ``scope``: the cross-site scope
    (``{"time_period": "2015"}`` or ``{"time_period": "2014-2016"}``). Keys:
    ``policy.by_year``, ``policy.groups.<dim>`` and (when any service has two years of
    policy data) ``policy.change.groups.<dim>`` for each grouping, ``survey.programme``
    and, with ``survey_by_variant``, ``survey.model_variant.<question>``: off by default,
    as on the default data the release hides most of their counts.
    """
    out: dict[str, Table] = {"policy.by_year": policy_by_year_table(tables, year=year, scope=scope)}
    out |= policy_group_tables(tables, year=year, scope=scope)
    out["survey.programme"] = survey_programme_table(tables, year=year, scope=scope)
    if survey_by_variant:
        out |= survey_group_tables(tables, year=year, scope=scope, by="model_variant")
    return out
