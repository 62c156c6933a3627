"""Every funder table of one service report as a :class:`~hubspoke.privacy.table.Table`.

:func:`service_tables` turns the frames of the per-service analysis into tables that
say what each cell is and of whom, so the release-wide suppression
(:mod:`hubspoke.analysis.release`) hides a quantity everywhere or nowhere. Scope is
``{"time_period": "<year>", "service_id": ...}``; the same quantity printed in two
tables gets the same identity (the grand total of reach, demographics, referral
sources, risk and the year-on-year row is ``young_people`` of the service-year), and
quantities a reader can add up (risk assessed = reduced + same + increased; the
risk cross-tab against the risk summary; recorded = total - not recorded) are
declared as equations. A few tables (data completeness, outcome evidence) hold a
different quantity in each row; :class:`ItemTable` names those cells one by one.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import pandas as pd

from hubspoke import load
from hubspoke.analysis.outcomes import (
    Framework,
    Indicator,
    evidence_table,
    indicators,
    load_framework,
    poisson_interval,
    ratings,
    ratings_table,
)
from hubspoke.analysis.service.at_once import ServiceYearFrames
from hubspoke.analysis.service.common import NOT_RECORDED, TOTAL
from hubspoke.analysis.service.overview import data_completeness, service_profile, year_on_year
from hubspoke.analysis.service.people import demographics, reach, referral_sources
from hubspoke.analysis.service.policy import policy_progress
from hubspoke.analysis.service.professionals import professional_activity
from hubspoke.analysis.service.safety import (
    OUTCOME_LABELS,
    RISK_SUMMARY_LEVELS,
    missing_episodes,
    outcome_scale_change,
    risk_transitions,
)
from hubspoke.analysis.service.survey import SURVEY_STATEMENTS
from hubspoke.privacy.table import Cell, CellId, Column, Count, Derived, Figure, Table, Text
from hubspoke.spec import vocab

#: The family (open-data file) of every service-report table.
FAMILY: Final = "service_report"
#: Young people with missing episodes recorded before and after support (``missing_recorded``).
BOTH_RECORDED: Final = "Before and after"
#: Referral sources other than the police and children's social care (outcome indicator 1.2).
OTHER_AGENCIES: Final = ("Education", "Health", "Self or family", "Voluntary sector", "Other")
#: Row of the work-with-professionals table that adds up the others.
ALL_PROFESSIONAL_WORK: Final = "All work with professionals"

YOUNG_PEOPLE: Final = Count("young_people")
PARTICIPANTS: Final = Count("participants", unit="participants")
SPOKE_WORKERS: Final = Count("spoke_workers", unit="Spoke workers")


@dataclass(frozen=True)
class ItemTable(Table):
    """A table whose rows are different quantities: ``items`` names cells one by one.

    ``items[(row, column)] = (spec, id)`` overrides the column's spec and the cell's
    identity, so a completeness row "gender" can hold ``young_people`` (records), the
    demographics' "Not recorded" cell, and a figure of activities in another row.
    Cells not in ``items`` follow the column spec as in :class:`Table`.
    """

    items: Mapping[tuple[Hashable, Hashable], tuple[Column, CellId | None]] = field(
        default_factory=dict
    )

    def cell_spec(self, row: Hashable, column: Hashable) -> Column:
        """What one cell holds (its own spec if named, else the column's)."""
        named = self.items.get((row, column))
        return named[0] if named else self.spec(column)

    def cell_id(self, row: Hashable, column: Hashable) -> CellId:
        """The identity of one cell (its own id if named, else as in :class:`Table`)."""
        named = self.items.get((row, column))
        if named and named[1] is not None:
            return named[1]
        if named:
            spec = named[0]
            dims: dict[str, object] = dict(self.scope)
            dims[self.rows] = row
            dims.update(spec.dims)
            return CellId.of(spec.indicator, **dims)
        return super().cell_id(row, column)

    def cells(self) -> list[Cell]:
        """Every cell with its own identity and kind (see :meth:`Table.cells`)."""
        out: list[Cell] = []
        for column in self.frame.columns:
            for row, value in self.frame[column].items():
                spec = self.cell_spec(row, column)
                sources = self._source_ids(row, spec) if isinstance(spec, Derived | Text) else ()
                if isinstance(spec, Count):
                    value = _whole(value)
                out.append(
                    Cell(
                        row,
                        column,
                        self.cell_id(row, column),
                        type(spec).__name__.lower(),
                        value,
                        getattr(spec, "unit", ""),
                        sources,
                    )
                )
        return out

    @property
    def counts_people(self) -> bool:
        """Whether any cell counts people or derives from such counts (text sourced on
        counts included: a table of such sentences must be looked up in the release)."""
        return super().counts_people or any(
            isinstance(s, Count | Derived) or (isinstance(s, Text) and bool(s.sources))
            for s, _ in self.items.values()
        )


def _whole(value: object) -> float:
    """A count as a float (NaN when missing), checked by :class:`Table` rules."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return np.nan
    return float(value)  # type: ignore[arg-type]


def _equal(ids: list[CellId], total: CellId) -> dict[CellId, float]:
    """The equation ``sum(ids) = total``."""
    eq: dict[CellId, float] = {}
    for cid in ids:
        eq[cid] = eq.get(cid, 0.0) + 1.0
    eq[total] = eq.get(total, 0.0) - 1.0
    return eq


def _pct(column: Hashable = "n") -> Derived:
    """% of the table's total row."""
    return Derived("pct_young_people", (column, (TOTAL, column)), dp=0)


# --------------------------------------------------------------------------- the entry point
def service_tables(
    tables: Mapping[str, pd.DataFrame],
    *,
    service_id: str,
    year: int,
    framework: Framework | None = None,
    indicator_table: pd.DataFrame | None = None,
    at_once: ServiceYearFrames | None = None,
) -> dict[str, Table]:
    """Every funder table of the service report for one service-year, by key, in report order.

    ``indicator_table``: :func:`hubspoke.analysis.outcomes.indicators` of every service-year
    (same tables and framework), computed once by a caller that builds many service-years
    (the release); this service-year's rows are taken from it. Computed here when None.
    ``at_once``: this service-year's frames worked out with every other's, likewise
    (:func:`~hubspoke.analysis.service.at_once.frames_by_service_year`); used in place of
    the per-service calls they equal.

    Keys: ``profile``, ``outcome_ratings``, ``outcome_evidence``, ``reach.young_people``,
    ``reach.activities``, ``demographics.<characteristic>``, ``referral_sources``,
    ``risk.summary``, ``missing.summary``, ``missing.direction``,
    ``missing.test``, ``outcome_scales``, ``professionals.by_type``,
    ``professionals.confidence``, ``policy.status``, ``policy.areas``,
    ``completeness``, ``completeness.activities``, ``year_on_year``.
    """
    service_id, year = load.check_service_year(service_id, year, tables=tables)
    scope = {"time_period": str(year), "service_id": service_id}
    out: dict[str, Table] = {"profile": _profile(tables, service_id, scope)}
    fw = framework or load_framework()
    ind = (
        indicators(tables, framework=fw, service_id=service_id, year=year)
        if indicator_table is None
        else indicator_table.loc[
            indicator_table["service_id"].astype(str).eq(service_id)
            & indicator_table["year"].eq(year)
        ].reset_index(drop=True)
    )
    out |= _outcome_tables(
        ind,
        evidence_table(ind) if at_once is None else at_once.outcome_evidence,
        # the frames' ratings follow the default framework: another is rated here
        ratings(ind, framework=fw)
        if at_once is None or framework is not None
        else at_once.outcome_ratings,
        year,
        scope,
        fw,
    )
    out |= _reach_tables(
        reach(tables, service_id=service_id, year=year) if at_once is None else at_once.reach,
        scope,
    )
    people = (
        demographics(tables, service_id=service_id, year=year)
        if at_once is None
        else at_once.demographics
    )
    for name, frame in people.items():
        out[f"demographics.{name}"] = Table(
            frame,
            family=FAMILY,
            rows=name,
            scope=scope,
            columns={"n": YOUNG_PEOPLE, "%": _pct()},
            total_row=TOTAL,
        )
    out["referral_sources"] = Table(
        referral_sources(tables, service_id=service_id, year=year)
        if at_once is None
        else at_once.referral_sources,
        family=FAMILY,
        rows="referral_source",
        scope=scope,
        columns={"n": YOUNG_PEOPLE, "%": _pct()},
        total_row=TOTAL,
    )
    # The risk cross-tab (25 cells, most of them 1 to 5 in a service-year) is for the
    # evaluation team only: published, it hid nearly every count around it, the
    # service's total included. Funders get the change in risk (risk.summary).
    out["risk.summary"] = _risk_summary_table(
        risk_transitions(tables, service_id=service_id, year=year)["summary"]
        if at_once is None
        else at_once.risk_summary,
        scope,
    )
    out |= _missing_tables(tables, service_id, year, scope)
    out["outcome_scales"] = _outcome_scales(tables, service_id, year, scope)
    out |= _professional_tables(tables, service_id, year, scope)
    out |= _policy_tables(tables, service_id, year, scope)
    # No per-service Spoke survey for funders: with 2 to 5 Spoke workers, "c 0 0 c" still says
    # every one of them gave the same answer (all supervised, all isolated...). The evaluation
    # team sees it (spoke_survey_summary); funders never get it service by service.
    out |= _completeness_tables(
        data_completeness(tables, service_id=service_id, year=year)
        if at_once is None
        else at_once.completeness,
        scope,
    )
    out["year_on_year"] = _year_on_year(
        year_on_year(tables, service_id=service_id, year=year)
        if at_once is None
        else at_once.year_on_year,
        service_id,
    )
    return out


# --------------------------------------------------------------------------- profile
def _profile(tables: Mapping[str, pd.DataFrame], service_id: str, scope: dict) -> Table:
    """The report header: words only."""
    frame = service_profile(tables, service_id=service_id)
    return Table(
        frame,
        family=FAMILY,
        rows="profile_item",
        scope=scope,
        columns={"value": Text("service_profile")},
        total_row=None,
        labels={"value": "Value"},
    )


# --------------------------------------------------------------------------- reach
def _reach_tables(frames: Mapping[str, pd.DataFrame], scope: dict) -> dict[str, Table]:
    """Young people open at year end / closed; sessions and participants by activity.

    New versus re-referred stays with the evaluation team: re-referrals are rare, so
    the "new" row nearly always equals the total, and hiding a small count in it would
    hide the service's total of young people with it.
    """
    people = frames["young_people"].loc[[TOTAL]].T.rename(columns={TOTAL: "n"})
    people.index.name = "Case at year end"
    people.columns.name = None
    activities = frames["activities"][["sessions", "participants"]]
    return {
        "reach.young_people": Table(
            people,
            family=FAMILY,
            rows="case_status",
            scope=scope,
            columns={"n": YOUNG_PEOPLE},
            total_row=TOTAL,
            labels={"n": "Young people"},
        ),
        "reach.activities": Table(
            activities,
            family=FAMILY,
            rows="activity_type",
            scope=scope,
            columns={"sessions": Figure("sessions"), "participants": PARTICIPANTS},
            total_row=TOTAL,
            labels={"sessions": "Sessions", "participants": "Participants"},
        ),
    }


# --------------------------------------------------------------------------- risk
def _risk_ids(scope: Mapping[str, object]) -> tuple[dict[str, CellId], CellId]:
    """Ids of young people by risk change (Reduced, Same, Increased) and of those assessed."""
    parts = {lv: CellId.of("young_people", risk_change=lv, **scope) for lv in RISK_SUMMARY_LEVELS}
    return parts, CellId.of("risk_assessed", **scope)


def _risk_summary_table(frame: pd.DataFrame, scope: dict) -> Table:
    """Young people by change in risk (:func:`risk_transitions`' summary): the three
    changes add up to those assessed."""
    parts, assessed = _risk_ids(scope)
    return Table(
        frame,
        family=FAMILY,
        rows="risk_change",
        scope=scope,
        columns={
            "n": YOUNG_PEOPLE,
            "%": _pct(),
            "% of assessed": Derived("pct_risk_assessed", ("n", assessed), dp=0),
        },
        total_row=TOTAL,
        extra_equations=(_equal(list(parts.values()), assessed),),
    )


def risk_crosstab_table(tables: Mapping[str, pd.DataFrame], *, service_id: str, year: int) -> Table:
    """Risk at referral by latest risk for one service-year, for the evaluation team.

    Not among :func:`service_tables` (not published to funders); its cells share their
    identities with the release's, so a release that holds it can show it. Each change
    in risk adds up the cells of the risk summary's row.
    """
    scope = {"time_period": str(year), "service_id": service_id}
    crosstab = risk_transitions(tables, service_id=service_id, year=year)["crosstab"]
    parts, _ = _risk_ids(scope)
    levels = {lv: i for i, lv in enumerate(vocab.RISK_SCALE)}
    by_change: dict[str, list[CellId]] = {lv: [] for lv in RISK_SUMMARY_LEVELS}
    for before in vocab.RISK_SCALE:
        for after in vocab.RISK_SCALE:
            step = levels[after] - levels[before]
            change = "Reduced" if step < 0 else ("Same" if step == 0 else "Increased")
            by_change[change].append(
                CellId.of("young_people", risk_at_referral=before, risk_latest=after, **scope)
            )
    return Table(
        crosstab,
        family=FAMILY,
        rows="risk_at_referral",
        scope=scope,
        column_dim="risk_latest",
        crosstab=YOUNG_PEOPLE,
        total_row=TOTAL,
        total_column=TOTAL,
        extra_equations=tuple(_equal(by_change[lv], parts[lv]) for lv in RISK_SUMMARY_LEVELS),
    )


# --------------------------------------------------------------------------- missing episodes
def _missing_tables(
    tables: Mapping[str, pd.DataFrame], service_id: str, year: int, scope: dict
) -> dict[str, Table]:
    """Missing episodes: means of the pairs, direction of change and the test, all from one n."""
    frames = missing_episodes(tables, service_id=service_id, year=year)
    pairs = Count(
        "young_people", dims={"missing_recorded": BOTH_RECORDED, "missing_measure": TOTAL}
    )
    # The p-value is shown as text ("0.048", "<0.001"): a figure at 3 dp would print 0.000.
    test = frames["test"][
        ["n_pairs", "test", "statistic", "p_text", "hl_median_change", "hl_ci_low", "hl_ci_high",
         "rank_biserial_r", "note"]
    ]  # fmt: skip
    test.index = pd.Index(["Before vs after"], name="Missing episodes")
    return {
        "missing.summary": Table(
            frames["summary"],
            family=FAMILY,
            rows="missing_measure",
            scope=scope,
            columns={
                "n": pairs,
                "mean": Derived("mean_missing", ("n",), unit="episodes", dp=1),
                "median": Derived("median_missing", ("n",), unit="episodes", dp=1),
            },
            total_row=None,
        ),
        "missing.direction": Table(
            frames["direction"],
            family=FAMILY,
            rows="missing_change",
            scope=scope,
            columns={
                "n": Count("young_people", dims={"missing_recorded": BOTH_RECORDED}),
                "%": Derived(
                    "pct_young_people",
                    ("n", (TOTAL, "n")),
                    dims={"missing_recorded": BOTH_RECORDED},
                ),
            },
            total_row=TOTAL,
        ),
        "missing.test": Table(
            test,
            family=FAMILY,
            rows="missing_test",
            scope=scope,
            columns={
                "n_pairs": Count(
                    "young_people",
                    dims={"missing_recorded": BOTH_RECORDED, "missing_test": TOTAL},
                ),
                "test": Text("missing_test_name"),
                "statistic": Derived("missing_test_statistic", ("n_pairs",), unit="", dp=1),
                "p_text": Text("missing_test_p_text", sources=("n_pairs",)),
                "hl_median_change": Derived("missing_test_hl", ("n_pairs",), unit="episodes", dp=1),
                "hl_ci_low": Derived("missing_test_hl_ci_low", ("n_pairs",), unit="episodes", dp=1),
                "hl_ci_high": Derived(
                    "missing_test_hl_ci_high", ("n_pairs",), unit="episodes", dp=1
                ),
                "rank_biserial_r": Derived("missing_test_r", ("n_pairs",), unit="", dp=2),
                "note": Text("missing_test_note"),
            },
            total_row=None,
            labels={
                "n_pairs": "Young people with both counts",
                "test": "Test",
                "statistic": "Statistic",
                "p_text": "p-value",
                "hl_median_change": "Median change (Hodges-Lehmann)",
                "hl_ci_low": "95% CI low",
                "hl_ci_high": "95% CI high",
                "rank_biserial_r": "Effect size r (rank-biserial)",
                "note": "Note",
            },
        ),
    }


# --------------------------------------------------------------------------- outcome scales
def _outcome_scales(
    tables: Mapping[str, pd.DataFrame], service_id: str, year: int, scope: dict
) -> Table:
    """Change on each 1-5 scale; every figure derives from the scale's n (rated at both)."""
    frame = outcome_scale_change(tables, service_id=service_id, year=year)
    total = CellId.of("young_people", **scope)

    def mean(name: str) -> Derived:
        return Derived(name, ("n_both",), unit="points", dp=2)

    return Table(
        frame,
        family=FAMILY,
        rows="outcome_scale",
        scope=scope,
        columns={
            "n_both": YOUNG_PEOPLE,
            "% complete": Derived("pct_outcome_rated", ("n_both", total), dp=0),
            "mean_start": mean("mean_outcome_start"),
            "mean_end": mean("mean_outcome_end"),
            "mean_change": mean("mean_outcome_change"),
            "ci_low": mean("ci_low_outcome_change"),
            "ci_high": mean("ci_high_outcome_change"),
        },
        total_row=None,
    )


# --------------------------------------------------------------------------- professionals
def _professional_tables(
    tables: Mapping[str, pd.DataFrame], service_id: str, year: int, scope: dict
) -> dict[str, Table]:
    """Work with professionals by type (its total a row of its own) and training confidence."""
    frames = professional_activity(tables, service_id=service_id, year=year)
    by_type = frames["by_type"].rename(index={TOTAL: ALL_PROFESSIONAL_WORK})
    types = [t for t in by_type.index if t != ALL_PROFESSIONAL_WORK]

    def part(row: Hashable) -> CellId:
        return CellId.of("participants", activity_type=row, **scope)

    confidence = frames["confidence"]
    rated = {"activity_type": "Training", "confidence_rated": "Before and after"}
    mean: dict[Hashable, Column] = {
        c: Derived(f"{c}_confidence", ("participants",), unit="points", dp=2)
        for c in ("mean_before", "mean_after", "mean_change", "ci_low", "ci_high")
    }
    return {
        "professionals.by_type": Table(
            by_type,
            family=FAMILY,
            rows="activity_type",
            scope=scope,
            columns={"sessions": Figure("sessions"), "participants": PARTICIPANTS},
            total_row=None,
            extra_equations=(_equal([part(t) for t in types], part(ALL_PROFESSIONAL_WORK)),),
            labels={"sessions": "Sessions", "participants": "Participants"},
        ),
        "professionals.confidence": Table(
            confidence,
            family=FAMILY,
            rows="audience_agency",
            scope=scope,
            columns={
                "sessions": Figure("sessions", dims=rated),
                "participants": Count("participants", unit="professionals", dims=rated),
                **mean,
            },
            total_row="All training",
        ),
    }


# --------------------------------------------------------------------------- policy
def _policy_tables(
    tables: Mapping[str, pd.DataFrame], service_id: str, year: int, scope: dict
) -> dict[str, Table]:
    """The policy framework: statuses and scores (no one is counted)."""
    frames = policy_progress(tables, service_id=service_id, year=year)
    status = frames["status"]
    scores: dict[Hashable, Column] = {
        "mean_score": Figure("policy_mean_score", dp=2),
        "previous_mean_score": Figure("policy_previous_mean_score", dp=2),
        "change": Figure("policy_score_change", dp=2),
    }
    areas = [c for c in status.columns if c not in scores]
    return {
        "policy.status": Table(
            status,
            family=FAMILY,
            rows="policy_element",
            scope=scope,
            columns={**{a: Text("policy_status", dims={"area": a}) for a in areas}, **scores},
            total_row=None,
        ),
        "policy.areas": Table(
            frames["areas"],
            family=FAMILY,
            rows="area",
            scope=scope,
            columns={
                **scores,
                "elements_in_place": Figure("policy_elements_in_place"),
                "elements_reported": Figure("policy_elements_reported"),
            },
            total_row="All areas",
        ),
    }


# --------------------------------------------------------------------------- Spoke survey
# --------------------------------------------------------------------------- completeness
#: Case items whose "not recorded" is a row of a published table: item -> dimension.
_NOT_RECORDED_DIMS: Final = {
    "gender": "gender",
    "ethnicity": "ethnicity",
    "disability": "disability",
    "looked_after": "looked_after",
    "referral_source": "referral_source",
    "risk_at_referral": "risk_at_referral",
    "risk_latest": "risk_latest",
}
_COMPLETENESS_COLUMNS: Final = ("complete", "not_recorded", "records", "% complete")


def _completeness_tables(frame: pd.DataFrame, scope: dict) -> dict[str, Table]:
    """How complete the data are (:func:`data_completeness`): records of people (cases,
    Spoke survey) and of activities."""
    frame = frame.set_index("item")
    frame.index.name = "Data item"
    labels: dict[Hashable, str] = {
        "applies_to": "Records",
        "complete": "Complete",
        "not_recorded": "Not recorded",
        "records": "Of",
        "% complete": "% complete",
    }
    people = frame[frame["table"].isin(["cases", "spoke_survey"])]
    events = frame[frame["table"].eq("activities")]
    pct = Derived("pct_complete", ("complete", "records"), dp=0)
    items: dict[tuple[Hashable, Hashable], tuple[Column, CellId | None]] = {}
    equations = []
    statement_of = {column: label for label, (column, _) in SURVEY_STATEMENTS.items()}
    outcome_rows = {
        f"outcome {OUTCOME_LABELS[s].lower()} (start and end)": OUTCOME_LABELS[s]
        for s in vocab.OUTCOME_SCALES
    }
    for item, row in people.iterrows():
        ids = _completeness_ids(str(item), row["table"], scope, statement_of, outcome_rows)
        spec = SPOKE_WORKERS if row["table"] == "spoke_survey" else YOUNG_PEOPLE
        for column, cid in zip(("complete", "not_recorded", "records"), ids, strict=True):
            items[(item, column)] = (spec, cid)
        equations.append(_equal(list(ids[:2]), ids[2]))
    event_items: dict[tuple[Hashable, Hashable], tuple[Column, CellId | None]] = {}
    for item in events.index:
        base = _event_base(str(item), scope)
        for column, cid in zip(
            ("complete", "not_recorded", "records"),
            (
                base.with_dims(data_item=item, recorded="Yes"),
                base.with_dims(data_item=item, recorded="No"),
                base,
            ),
            strict=True,
        ):
            event_items[(item, column)] = (Figure(cid.indicator), cid)
    if "confidence before and after" in events.index:
        sessions = CellId.of(
            "sessions", activity_type="Training", confidence_rated="Before and after", **scope
        )
        event_items[("confidence before and after", "complete")] = (Figure("sessions"), sessions)
    count = Count("records")
    return {
        "completeness": ItemTable(
            people[["applies_to", *_COMPLETENESS_COLUMNS]],
            family=FAMILY,
            rows="data_item",
            scope=scope,
            columns={
                "applies_to": Text("completeness_applies_to"),
                "complete": count,
                "not_recorded": count,
                "records": count,
                "% complete": pct,
            },
            total_row=None,
            labels=labels,
            extra_equations=tuple(equations),
            items=items,
        ),
        "completeness.activities": ItemTable(
            events[["applies_to", *_COMPLETENESS_COLUMNS]],
            family=FAMILY,
            rows="data_item",
            scope=scope,
            columns={
                "applies_to": Text("completeness_applies_to"),
                "complete": Figure("activity_records"),
                "not_recorded": Figure("activity_records"),
                "records": Figure("activity_records"),
                "% complete": Figure("pct_activity_records_complete"),
            },
            total_row=None,
            labels=labels,
            items=event_items,
        ),
    }


def _completeness_ids(
    item: str,
    table: str,
    scope: Mapping[str, object],
    statement_of: Mapping[str, str],
    outcome_rows: Mapping[str, str],
) -> tuple[CellId, CellId, CellId]:
    """Complete, not recorded and records of one item, as the quantities other tables show."""
    if table == "spoke_survey":
        statement = statement_of[item]
        return (
            CellId.of("spoke_workers", survey_question=statement, answer="Answered", **scope),
            CellId.of("spoke_workers", survey_question=statement, answer=NOT_RECORDED, **scope),
            CellId.of("spoke_workers_surveyed", **scope),
        )
    base = CellId.of("episodes_closed" if item == "closure_reason" else "young_people", **scope)
    complete = base.with_dims(data_item=item, recorded="Yes")
    missing = base.with_dims(data_item=item, recorded="No")
    if item in _NOT_RECORDED_DIMS:
        missing = base.with_dims(**{_NOT_RECORDED_DIMS[item]: NOT_RECORDED})
    if item in outcome_rows:
        complete = base.with_dims(outcome_scale=outcome_rows[item])
    return complete, missing, base


def _event_base(item: str, scope: Mapping[str, object]) -> CellId:
    """Activity records an item applies to (all sessions, or training sessions)."""
    if item.startswith("confidence"):
        return CellId.of("sessions", activity_type="Training", **scope)
    return CellId.of("sessions", **scope)


# --------------------------------------------------------------------------- year on year
def _year_on_year(frame: pd.DataFrame, service_id: str) -> Table:
    """Key figures of every year up to the report's (:func:`year_on_year`): the same cells
    as each year's own report."""
    frame = frame.copy()
    frame.index = pd.Index([str(y) for y in frame.index], name="Year")
    scope = {"service_id": service_id}
    equations = []
    for period in frame.index:
        here = {"time_period": period, **scope}
        parts, assessed = _risk_ids(here)
        equations.append(_equal(list(parts.values()), assessed))
        # one episode per young person: closed episodes are the young people closed
        equations.append(
            _equal(
                [CellId.of("episodes_closed", **here)],
                CellId.of("young_people", case_status="Closed", **here),
            )
        )
    return Table(
        frame,
        family=FAMILY,
        rows="time_period",
        scope=scope,
        columns={
            "young_people": YOUNG_PEOPLE,
            "risk_assessed": Count("risk_assessed"),
            "risk_reduced": Count("young_people", dims={"risk_change": "Reduced"}),
            "% risk reduced": Derived("pct_risk_reduced", ("risk_reduced", "risk_assessed")),
            "episodes_closed": Count("episodes_closed"),
            "planned_endings": Count("planned_endings"),
            "% planned endings": Derived(
                "pct_planned_endings", ("planned_endings", "episodes_closed")
            ),
            "professionals_trained": Count(
                "participants", unit="professionals", dims={"activity_type": "Training"}
            ),
            "mean_policy_score": Figure("policy_mean_score", dp=2),
            "policy_change": Figure("policy_score_change_on_previous_year", dp=2),
            "compared_with": Text("compared_with"),
        },
        total_row=None,
        extra_equations=tuple(equations),
        labels={
            "young_people": "Young people",
            "risk_assessed": "Risk assessed",
            "risk_reduced": "Risk reduced",
            "episodes_closed": "Episodes closed",
            "planned_endings": "Planned endings",
            "professionals_trained": "Professionals trained",
            "mean_policy_score": "Mean policy score",
            "policy_change": "Policy score change",
            "compared_with": "Compared with",
        },
    )


# --------------------------------------------------------------------------- outcomes
def _outcome_tables(
    ind: pd.DataFrame,
    evidence: pd.DataFrame,
    rated: pd.DataFrame,
    year: int,
    scope: dict,
    framework: Framework,
) -> dict[str, Table]:
    """Outcome ratings and the evidence behind them, each count the quantity other tables show.

    Every value shown that comes from counts (value, its interval, "meets target",
    progress, the ratings and their "k of m" words) is a Derived or Text whose sources
    are those counts, so the release hides it with them. Progress on a level indicator
    also rests on the baseline year's counts (the same quantities that year's report
    shows), and so do the progress rating and its words. ``evidence`` and ``rated``:
    :func:`evidence_table` and :func:`ratings` of the service-year's indicator rows ``ind``.
    """
    evidence = _zero_when_none(evidence, framework)
    rated = ratings_table(rated)
    ids = _evidence_ids(framework, scope)
    baseline_of = {
        str(i): int(b)
        for i, b in zip(ind["indicator_id"], ind["baseline_year"], strict=True)
        if pd.notna(b) and int(b) != year
    }
    items: dict[tuple[Hashable, Hashable], tuple[Column, CellId | None]] = {}
    level_sources: dict[str, list[CellId]] = {}
    progress_sources: dict[str, list[CellId]] = {}
    for outcome, indicator in framework.indicators:
        label = indicator.label
        num_id, den, eligible = ids[indicator.id]
        num: CellId | None = num_id
        num_spec = _spec_of(num_id, indicator.table)
        den_spec = _spec_of(den, indicator.table)
        counts_kind = indicator.kind in ("count", "sum", "proportion")
        if not counts_kind:
            num_spec, num = Figure("outcome_numerator"), None
        value_sources: tuple[Hashable, ...] = (
            ("Numerator", "Denominator") if indicator.kind == "proportion" else
            ("Numerator",) if indicator.kind in ("count", "sum") else ("Denominator",)
        )  # fmt: skip
        extra = (eligible,) if eligible is not None else ()
        dp = 0 if indicator.kind in ("count", "sum", "proportion") else 2
        unit = "%" if indicator.unit == "proportion" else indicator.unit
        items[(label, "Numerator")] = (num_spec, num)
        items[(label, "Denominator")] = (den_spec, den)
        for column, name in (("Value", "outcome_value"), ("CI low", "outcome_ci_low"),
                             ("CI high", "outcome_ci_high")):  # fmt: skip
            items[(label, column)] = (Derived(name, value_sources, unit=unit, dp=dp), None)
        items[(label, "% with data")] = (
            Derived("outcome_pct_with_data", ("Denominator", *extra), dp=0),
            None,
        )
        items[(label, "Target")] = (Text("outcome_target", _target_sources(indicator, scope)), None)
        items[(label, "Meets target")] = (
            Text("outcome_meets_target", ("Numerator", "Denominator", *extra)),
            None,
        )
        counted = [c for c in (num, den, eligible) if c is not None]
        before: list[CellId] = []
        if indicator.id in baseline_of:
            then = {**scope, "time_period": str(baseline_of[indicator.id])}
            b_num, b_den, b_eligible = _evidence_ids(framework, then)[indicator.id]
            before = [c for c in (b_num if counts_kind else None, b_den, b_eligible) if c]
        items[(label, "Progress")] = (
            Text("outcome_progress", ("Numerator", "Denominator", *extra, *before)),
            None,
        )
        level_sources.setdefault(outcome.name, []).extend(counted)
        progress_sources.setdefault(outcome.name, []).extend([*counted, *before])
    evidence_columns: dict[Hashable, Column] = {
        "Outcome": Text("outcome_name"),
        "Numerator": Count("outcome_numerator"),
        "Denominator": Count("outcome_denominator"),
        "Value": Derived("outcome_value", ("Numerator", "Denominator"), dp=2),
        "CI low": Derived("outcome_ci_low", ("Numerator", "Denominator"), dp=2),
        "CI high": Derived("outcome_ci_high", ("Numerator", "Denominator"), dp=2),
        "Unit": Text("outcome_unit"),
        "Target": Text("outcome_target"),
        "% with data": Derived("outcome_pct_with_data", ("Denominator",), dp=0),
        "Meets target": Text("outcome_meets_target", ("Numerator", "Denominator")),
        "Compared with": Text("outcome_compared_with"),
        "Progress": Text("outcome_progress", ("Numerator", "Denominator")),
    }
    rating_items: dict[tuple[Hashable, Hashable], tuple[Column, CellId | None]] = {}
    for name in rated.index:
        level = tuple(dict.fromkeys(level_sources.get(str(name), [])))
        progress = tuple(dict.fromkeys(progress_sources.get(str(name), [])))
        rating_items[(name, "Rating")] = (
            Text("outcome_rating", progress),
            CellId.of("outcome_rating", outcome=name, **scope),
        )
        rating_items[(name, "Progress indicators")] = (
            Text("outcome_progress_basis", progress),
            None,
        )
        rating_items[(name, "Level")] = (Text("outcome_level", level), None)
        rating_items[(name, "Level indicators")] = (Text("outcome_level_basis", level), None)
        rating_items[(name, "Confidence")] = (Text("outcome_confidence", progress), None)
    return {
        "outcome_ratings": ItemTable(
            rated,
            family=FAMILY,
            rows="outcome",
            scope=scope,
            columns={
                "Impact area": Text("impact_area"),
                "Rating": Text("outcome_rating"),
                "Progress indicators": Text("outcome_progress_basis"),
                "Level": Text("outcome_level"),
                "Level indicators": Text("outcome_level_basis"),
                "Confidence": Text("outcome_confidence"),
            },
            total_row=None,
            items=rating_items,
        ),
        "outcome_evidence": ItemTable(
            evidence,
            family=FAMILY,
            rows="outcome_indicator",
            scope=scope,
            columns=evidence_columns,
            total_row=None,
            items=items,
            extra_equations=_evidence_equations(scope),
        ),
    }


def _target_sources(indicator: Indicator, scope: Mapping[str, object]) -> tuple[CellId, ...]:
    """A target scaled per young person tells the number of young people: hide it with them.

    Spoke workers in post and the child population of the areas are public (the service
    profile and the context statistics), so targets scaled by them need no source.
    """
    if indicator.target_per == "young person":
        return (CellId.of("young_people", **scope),)
    return ()


def _zero_when_none(evidence: pd.DataFrame, framework: Framework) -> pd.DataFrame:
    """The evidence with a missing count of nothing written as 0, as the other tables show it.

    An indicator over a table with no records for the service-year (no activities, no
    policy returns) has no numerator or denominator in the indicator table, and a
    proportion with no one to count has no numerator; the tables that publish the same
    quantities say 0, and one identity takes one value. A count's or sum's value is its
    numerator, so it is 0 too, with the exact Poisson interval of 0; a proportion or mean
    of no one stays missing.
    """
    out = evidence.copy()
    for _, indicator in framework.indicators:
        label = indicator.label
        if label not in out.index:
            continue
        if pd.isna(out.at[label, "Denominator"]):
            out.at[label, "Denominator"] = 0
        none = indicator.kind in ("count", "sum") or (
            indicator.kind == "proportion" and out.at[label, "Denominator"] == 0
        )
        if none and pd.isna(out.at[label, "Numerator"]):
            out.at[label, "Numerator"] = 0
        if indicator.kind in ("count", "sum") and pd.isna(out.at[label, "Value"]):
            out.at[label, "Value"] = out.at[label, "Numerator"]
            low, high = poisson_interval(pd.Series([float(out.at[label, "Value"])]))
            out.at[label, "CI low"], out.at[label, "CI high"] = low.iloc[0], high.iloc[0]
    return out


def _spec_of(cid: CellId, table: str) -> Column:
    """A count of people (cases, Spoke survey, participants) or a figure (sessions, policy elements)."""
    if table == "policy" or cid.indicator == "sessions":
        return Figure(cid.indicator)
    unit = {"spoke_survey": "Spoke workers", "activities": "professionals"}.get(
        table, "young people"
    )
    return Count(cid.indicator, unit=unit)


def _evidence_ids(
    framework: Framework, scope: Mapping[str, object]
) -> dict[str, tuple[CellId, CellId, CellId | None]]:
    """Per indicator id: numerator, denominator and eligible records, reusing published ids.

    Indicators of the default framework are matched to the quantities the other tables
    show; any other indicator gets ids of its own (``outcome_numerator`` ...).
    """
    yp = CellId.of("young_people", **scope)

    def young(**dims: object) -> CellId:
        return yp.with_dims(**dims)

    def spokes(statement: str, answer: str) -> CellId:
        return CellId.of("spoke_workers", survey_question=statement, answer=answer, **scope)

    sessions = CellId.of("sessions", **scope)
    training = sessions.with_dims(activity_type="Training")
    elements = CellId.of("policy_elements_reported", **scope)
    surveyed = CellId.of("spoke_workers_surveyed", **scope)
    missing_before = young(missing_before="1 or more")
    known: dict[str, tuple[CellId, CellId, CellId | None]] = {
        "1.1": (yp, yp, yp),
        "1.2": (
            young(referral_group="Other agencies"),
            young(referral_group="Any recorded source"),
            yp,
        ),
        "1.3": (
            CellId.of("outcome_numerator", outcome_indicator="1.3", **scope),
            young(data_item="concern_date", recorded="Yes"),
            yp,
        ),
        "2.1": (young(risk_change="Reduced"), CellId.of("risk_assessed", **scope), yp),
        "2.2": (
            young(missing_change="Fewer after", missing_recorded=BOTH_RECORDED),
            missing_before.with_dims(missing_recorded=BOTH_RECORDED),
            missing_before,
        ),
        "2.3": (
            CellId.of("outcome_numerator", outcome_indicator="2.3", **scope),
            young(outcome_scale=OUTCOME_LABELS["safety"]),
            yp,
        ),
        "3.1": (
            CellId.of("planned_endings", **scope),
            CellId.of("episodes_closed", data_item="closure_reason", recorded="Yes", **scope),
            CellId.of("episodes_closed", **scope),
        ),
        "3.2": (
            CellId.of("outcome_numerator", outcome_indicator="3.2", **scope),
            young(data_item="contacts", recorded="Yes"),
            yp,
        ),
        "3.3": (
            CellId.of("outcome_numerator", outcome_indicator="3.3", **scope),
            young(outcome_scale="Any"),
            yp,
        ),
        "4.1": (CellId.of("participants", activity_type="Training", **scope), sessions, training),
        "4.2": (
            CellId.of("outcome_numerator", outcome_indicator="4.2", **scope),
            training.with_dims(confidence_rated="Before and after"),
            training,
        ),
        "4.3": (sessions.with_dims(activity_type="Consultation"), sessions, sessions),
        "5.1": (
            spokes("Supervised at least monthly", "Yes"),
            spokes("Supervised at least monthly", "Answered"),
            surveyed,
        ),
        "5.2": (
            CellId.of(
                "spoke_workers", survey_question="Partial or full access", answer="Yes", **scope
            ),
            spokes("Full access to host case systems", "Answered"),
            surveyed,
        ),
        "5.3": (
            spokes("Rarely or never feels isolated", "Yes"),
            spokes("Rarely or never feels isolated", "Answered"),
            surveyed,
        ),
        "5.4": (
            spokes("Intends to stay in post", "Yes"),
            spokes("Intends to stay in post", "Answered"),
            surveyed,
        ),
        "6.1": (
            CellId.of("outcome_numerator", outcome_indicator="6.1", **scope),
            elements,
            elements,
        ),
        "6.2": (CellId.of("policy_elements_in_place", **scope), elements, elements),
        "6.3": (
            CellId.of("policy_elements_core_started", **scope),
            CellId.of("policy_elements_core_reported", **scope),
            elements,
        ),
    }
    out: dict[str, tuple[CellId, CellId, CellId | None]] = {}
    for _, indicator in framework.indicators:
        default = known.get(indicator.id) if framework.source == _DEFAULT_SOURCE else None
        out[indicator.id] = default or (
            CellId.of("outcome_numerator", outcome_indicator=indicator.id, **scope),
            CellId.of("outcome_denominator", outcome_indicator=indicator.id, **scope),
            None,
        )
    return out


_DEFAULT_SOURCE: Final = load_framework().source


def _evidence_equations(scope: Mapping[str, object]) -> tuple[dict[CellId, float], ...]:
    """What a reader knows of the evidence counts from the referral sources table."""
    yp = CellId.of("young_people", **scope)
    others = [yp.with_dims(referral_source=s) for s in OTHER_AGENCIES]
    recorded = yp.with_dims(referral_group="Any recorded source")
    return (
        _equal(others, yp.with_dims(referral_group="Other agencies")),
        _equal([recorded, yp.with_dims(referral_source=NOT_RECORDED)], yp),
    )


__all__ = ["ALL_PROFESSIONAL_WORK", "FAMILY", "ItemTable", "service_tables"]
