"""The programme summary: the funder page read first, as funder tables of the release.

:func:`programme_summary_tables` builds the :class:`~hubspoke.privacy.table.Table` of each
part of the page:

* ``reach``: young people supported one-to-one (case records, the cross-site
  ``young_people``), young people at awareness sessions, professionals trained, at
  awareness sessions and consulted (``participants`` by ``activity_type``, the service
  report's cells summed over services), per year and years pooled, with the
  programme's own published figures beside them as words (:data:`PUBLISHED`);
* ``outcomes``: each core outcome's level for the programme, per year and pooled
  (:func:`hubspoke.analysis.outcomes.programme_indicators`: "k of m indicators met" and
  the confidence), each a :class:`Text` sourced on the counts it rests on;
* ``impact.<n>``: per impact area, findings as sentences generated from the numbers
  (:func:`finding`), each sourced on the counts it states, so it is hidden where one is;
* ``theories`` and ``refined``: the realist synthesis' verdicts and the evaluators'
  refined statements over all years (the same tables, so the same cells);
* ``limitations``: what the data cannot show, computed.

Every count has the identity the other reports give it, so a count is one cell of the
release. All data in this repository are synthetic.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Final

import numpy as np
import pandas as pd

from hubspoke import load
from hubspoke.analysis import outcomes
from hubspoke.analysis.common import percent
from hubspoke.analysis.cross_site.context_tables import (
    PROGRAMME_ROW,
    policy_by_year_table,
    survey_counts,
)
from hubspoke.analysis.cross_site.groups import GROUPINGS, proportion_intervals
from hubspoke.analysis.cross_site.summary import service_context
from hubspoke.analysis.cross_site.tables import (
    ASSESSED,
    CLOSED,
    PLANNED,
    RATING_SOURCES,
    REDUCED,
    TRAINED,
    YOUNG_PEOPLE,
    service_counts,
)
from hubspoke.analysis.outcomes import wilson_interval
from hubspoke.analysis.quality import reconciliation_summary
from hubspoke.analysis.realist.inputs import _judgements
from hubspoke.analysis.realist.tables import (
    RAW_ROWS,
    REALIST_FAMILY,
    ROW_OUTCOMES,
    _in_period,
    judgement_table,
    refined_table,
)
from hubspoke.analysis.realist.theories import _theory_order, load_theories
from hubspoke.analysis.service.tables import ItemTable
from hubspoke.errors import ParameterError
from hubspoke.privacy.release import Shown
from hubspoke.privacy.table import CellId, Column, Count, Derived, Table, Text

#: Open-data family of the programme summary's own cells.
FAMILY: Final = "programme_summary"
#: Said in place of a finding whose numbers are suppressed.
SUPPRESSED: Final = (
    "This finding is not shown: a number it rests on is suppressed to protect confidentiality."
)
#: Where the programme's published reach figures come from (quoted as context, not results).
PUBLISHED_SOURCE: Final = (
    "Published figures: the programme's own reach, as it reported it near the end of the "
    "programme (the last column, quoted). They are context only, never results of these "
    "synthetic data: they count other people, in other ways."
)


def _participants(activity: str, unit: str) -> Count:
    """Participants of one activity type: the service report's ``reach.activities`` cells."""
    return Count("participants", unit=unit, dims={"activity_type": activity})


AWARENESS_YOUNG_PEOPLE: Final = _participants("Awareness - young people", "young people")
AWARENESS_PROFESSIONALS: Final = _participants("Awareness - professionals", "professionals")
CONSULTED: Final = _participants("Consultation", "professionals")
#: Rows of the reach table: label -> the count it shows (activities: attendances summed).
REACH_COUNTS: Final[Mapping[str, Count]] = {
    "Young people supported one-to-one (case records)": YOUNG_PEOPLE,
    "Young people at awareness sessions": AWARENESS_YOUNG_PEOPLE,
    "Professionals trained": TRAINED,
    "Professionals at awareness sessions": AWARENESS_PROFESSIONALS,
    "Professionals consulted": CONSULTED,
}
#: Professionals reached, as the service analysis defines it: training and awareness-raising.
PROFESSIONALS_REACHED: Final = "Professionals reached (trained or at awareness sessions)"
REACHED_PARTS: Final = (TRAINED, AWARENESS_PROFESSIONALS)
#: The programme's published figures by reach row (see :data:`PUBLISHED_SOURCE`).
PUBLISHED: Final[Mapping[str, str]] = {
    "Young people supported one-to-one (case records)": (
        "over 700 young people given one-to-one support"
    ),
    "Young people at awareness sessions": ("over 7,000 young people reached by awareness-raising"),
    PROFESSIONALS_REACHED: "6,500 professionals reached by awareness-raising",
}
#: The impact areas (framework ids) and the heading of each.
IMPACT_AREAS: Final[Mapping[int, str]] = {
    1: "Safeguarding young people",
    2: "Equipping Spoke workers and professionals",
    3: "Stable local CSE policy",
}
#: The outcome of the policy impact area (its level sentence), and of the workforce area.
POLICY_OUTCOME: Final = 6
WORKFORCE_OUTCOMES: Final = (4, 5)


# --------------------------------------------------------------------------- periods
def periods(tables: Mapping[str, pd.DataFrame]) -> list[str]:
    """Every ``time_period`` of the page: each year with data, then the years pooled."""
    years = sorted({y for ys in load.available_service_years(tables).values() for y in ys})
    if not years:
        raise ParameterError("no service has data in any year", column="year", found="none")
    return [*(str(y) for y in years), load.all_years_label(years)]


def _choice(period: str) -> str:
    """The cross-site year choice of a period (``"all"`` for the pooled label)."""
    return "all" if "-" in period else period


def _cell(spec: Count, period: str) -> CellId:
    """The programme cell of a count in one period (no service: every service summed)."""
    return CellId.of(spec.indicator, time_period=period, **dict(spec.dims))


# --------------------------------------------------------------------------- reach
def _activity_participants(tables: Mapping[str, pd.DataFrame], year: int) -> pd.Series:
    """Participants per activity type in one year, summed over services (missing as 0)."""
    rows = load.Period(year).rows(load.table(tables, "activities"))
    return (
        pd.Series(
            rows["participants"].astype("Int64").fillna(0).to_numpy(dtype=float),
            index=rows["activity_type"].astype(str).to_numpy(),
        )
        .groupby(level=0)
        .sum()
    )


def reach_counts(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Rows :data:`REACH_COUNTS`, columns :func:`periods`: the programme's counts.

    Case records as the cross-site report counts them (:func:`service_counts`);
    participants summed over services and, pooled, over years.
    """
    cols = periods(tables)
    out = pd.DataFrame(0.0, index=list(REACH_COUNTS), columns=cols)
    for period in cols[:-1]:
        people = service_counts(tables, year=period)["young_people"].sum()
        activity = _activity_participants(tables, int(period))
        out[period] = [
            float(people) if spec is YOUNG_PEOPLE
            else float(activity.get(str(spec.dims["activity_type"]), 0.0))
            for spec in REACH_COUNTS.values()
        ]  # fmt: skip
    out[cols[-1]] = out[cols[:-1]].sum(axis=1)
    return out


def reach_table(tables: Mapping[str, pd.DataFrame]) -> Table:
    """``reach``: the programme's counts per year and pooled, professionals reached, published figures."""
    counts = reach_counts(tables)
    cols = list(counts.columns)
    frame = counts.astype(object)
    frame.loc[PROFESSIONALS_REACHED] = counts.loc[
        [label for label, spec in REACH_COUNTS.items() if spec in REACHED_PARTS]
    ].sum()
    frame["published"] = [PUBLISHED.get(str(row), "none published") for row in frame.index]
    frame.index.name = "Reach"
    items: dict[tuple[Hashable, Hashable], tuple[Column, CellId | None]] = {}
    for period in cols:
        for label, spec in REACH_COUNTS.items():
            items[(label, period)] = (spec, _cell(spec, period))
        sources = tuple(_cell(s, period) for s in REACHED_PARTS)
        reached = Derived("professionals_reached", sources, unit="professionals")
        items[(PROFESSIONALS_REACHED, period)] = (
            reached,
            CellId.of(reached.indicator, time_period=period),
        )
    return ItemTable(
        frame,
        family=FAMILY,
        rows="reach_measure",
        columns={**dict.fromkeys(cols, YOUNG_PEOPLE), "published": Text("published_figure")},
        total_row=None,
        labels={**{c: ("All years " + c if "-" in c else c) for c in cols},
                "published": "Programme's published figure (context)"},
        items=items,
    )  # fmt: skip


# --------------------------------------------------------------------------- outcomes
def outcome_levels(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Per outcome (rows, framework order) and period (columns): level, "k of m", confidence."""
    rated = outcomes.ratings(outcomes.programme_indicators(tables))
    labels = (
        rated["year"].astype("Int64").astype(str).where(rated["year"].notna(), periods(tables)[-1])
    )
    text = (
        rated["level_rating"].astype(str) + ": " + rated["level_basis"].astype(str)
        + "; confidence " + rated["level_confidence"].astype(str).str.lower()
    )  # fmt: skip
    wide = (
        pd.DataFrame({"outcome": rated["outcome"].astype(str), "period": labels.to_numpy(),
                      "text": text.to_numpy(), "order": rated["outcome_id"].astype(int)})
        .pivot_table(index=["order", "outcome"], columns="period", values="text", aggfunc="first")
        .reset_index(level="order")
    )  # fmt: skip
    wide = wide.reindex(columns=["order", *periods(tables)])
    wide.index.name = "Outcome"
    wide.columns.name = None
    return wide


def outcomes_table(
    tables: Mapping[str, pd.DataFrame], *, levels: pd.DataFrame | None = None
) -> Table:
    """``outcomes``: each outcome's programme level per period, hidden where its counts are.

    ``levels``: :func:`outcome_levels`, when the caller has them already.
    """
    wide = outcome_levels(tables) if levels is None else levels
    cols = periods(tables)
    items: dict[tuple[Hashable, Hashable], tuple[Column, CellId | None]] = {}
    for outcome, order in wide["order"].items():
        for period in cols:
            sources = tuple(_cell(s, period) for s in RATING_SOURCES.get(int(order), ()))
            spec = Text("outcome_level_programme", sources=sources, dims={"outcome": outcome})
            items[(outcome, period)] = (
                spec,
                CellId.of(spec.indicator, outcome=outcome, time_period=period),
            )
    return ItemTable(
        wide[cols].astype(object),
        family=FAMILY,
        rows="outcome",
        columns=dict.fromkeys(cols, Text("outcome_level_programme")),
        total_row=None,
        labels={c: ("All years " + c if "-" in c else c) for c in cols},
        items=items,
    )  # fmt: skip


# --------------------------------------------------------------------------- findings
def _pct(part: float, whole: float) -> str:
    """A percentage in words, 0 dp."""
    return f"{float(percent(part, whole)):.0f}%"


def _share_words(low: float, high: float) -> str:
    """How a proportion's 95% interval (in %) reads against one half."""
    if low > 50:
        return "more than half"
    if high < 50:
        return "fewer than half"
    return "about half (the interval includes 50%)"


def _interval(low: float, high: float) -> str:
    """A 95% interval in words, or that there is none."""
    if np.isnan(low) or np.isnan(high):
        return "no interval: too few services"
    return f"95% CI {low:.0f}-{high:.0f}%"


def _proportion(
    counts: pd.DataFrame, numerator: str, denominator: str
) -> tuple[float, float, float, float]:
    """The programme's numerator, denominator and interval (%) with the service as the unit."""
    frame = pd.concat(
        [
            counts[[numerator, denominator]],
            counts[[numerator, denominator]].sum().to_frame("Total").T,
        ]
    ).astype(float)
    low, high = proportion_intervals(frame[numerator], frame[denominator], total_row="Total")
    return (float(frame.at["Total", numerator]), float(frame.at["Total", denominator]),
            float(low["Total"]), float(high["Total"]))  # fmt: skip


def safeguarding_findings(
    tables: Mapping[str, pd.DataFrame], *, period: str
) -> dict[str, tuple[str, tuple[CellId, ...]]]:
    """Impact area 1: sentences from risk and endings counts, each with the cells it states."""
    counts = service_counts(tables, year=_choice(period))
    specs = {"people": YOUNG_PEOPLE, "reduced": REDUCED, "assessed": ASSESSED,
             "planned": PLANNED, "closed": CLOSED}  # fmt: skip
    ids = {name: _cell(spec, period) for name, spec in specs.items()}
    out: dict[str, tuple[str, tuple[CellId, ...]]] = {}
    reduced, assessed, low, high = _proportion(counts, "risk_reduced", "risk_assessed")
    if assessed > 0:
        out["Risk of exploitation"] = (
            f"Risk of sexual exploitation was lower at the latest review than at referral for "
            f"{_pct(reduced, assessed)} ({_interval(low, high)}) of the {assessed:,.0f} young people "
            f"rated both times ({reduced:,.0f}): {_share_words(low, high)}.",
            (ids["reduced"], ids["assessed"]),
        )
    planned, closed, low, high = _proportion(counts, "planned_endings", "episodes_closed")
    if closed > 0:
        out["Planned endings"] = (
            f"{_pct(planned, closed)} ({_interval(low, high)}) of the {closed:,.0f} closed cases "
            f"ended as planned ({planned:,.0f}): {_share_words(low, high)}.",
            (ids["planned"], ids["closed"]),
        )
    people = float(counts["young_people"].sum())
    out["Evidence on risk"] = (
        f"Only {assessed:,.0f} of {people:,.0f} case records ({_pct(assessed, people)}) had a risk "
        "rating at referral and a later one, so the risk finding rests on them alone."
        if people and assessed < people
        else f"Every one of the {people:,.0f} case records had two risk ratings.",
        (ids["assessed"], ids["people"]),
    )
    return out


def _level_sentence(
    tables: Mapping[str, pd.DataFrame],
    *,
    outcome_id: int,
    period: str,
    levels: pd.DataFrame | None = None,
) -> tuple[str, tuple[CellId, ...]]:
    """One outcome's programme level as a sentence, with its sources."""
    wide = outcome_levels(tables) if levels is None else levels
    name = str(wide.index[wide["order"].eq(outcome_id)][0])
    sources = tuple(_cell(s, period) for s in RATING_SOURCES.get(outcome_id, ()))
    return f"{name}, across the programme: {wide.at[name, period]}.", sources


def workforce_findings(
    tables: Mapping[str, pd.DataFrame], *, period: str, levels: pd.DataFrame | None = None
) -> dict[str, tuple[str, tuple[CellId, ...]]]:
    """Impact area 2: professionals reached, Spoke workers' answers, the outcome levels.

    ``levels``: :func:`outcome_levels`, when the caller has them already.
    """
    levels = outcome_levels(tables) if levels is None else levels
    reach = reach_counts(tables)[period]
    trained, aware = (
        float(reach[label]) for label, spec in REACH_COUNTS.items() if spec in REACHED_PARTS
    )
    out: dict[str, tuple[str, tuple[CellId, ...]]] = {
        "Professionals reached": (
            f"{trained + aware:,.0f} professional attendances: {trained:,.0f} at training and "
            f"{aware:,.0f} at awareness sessions.",
            tuple(_cell(s, period) for s in REACHED_PARTS),
        )
    }
    answers = survey_counts(tables, year=_choice(period)).set_index("survey_question")
    answers = answers.loc[answers["answered"] > 0]
    low, high = wilson_interval(answers["yes"], answers["answered"])
    for question, row in answers.iterrows():
        cell = CellId.of("spoke_workers", time_period=period, survey_question=question)
        lo, hi = 100 * float(low[question]), 100 * float(high[question])
        out[f"Spoke workers: {question}"] = (
            f"{_pct(row['yes'], row['answered'])} ({_interval(lo, hi)}) of {row['answered']:,} Spoke "
            f'workers\' answers said yes to "{question}": {_share_words(lo, hi)}.',
            (cell.with_dims(answer="Yes"), cell.with_dims(answer="Answered")),
        )
    for outcome_id in WORKFORCE_OUTCOMES:
        key = f"Outcome {outcome_id}"
        out[key] = _level_sentence(tables, outcome_id=outcome_id, period=period, levels=levels)
    return out


def policy_findings(
    tables: Mapping[str, pd.DataFrame], *, period: str, levels: pd.DataFrame | None = None
) -> dict[str, tuple[str, tuple[CellId, ...]]]:
    """Impact area 3: the services' mean policy score over the years (figures), the outcome level.

    ``levels``: :func:`outcome_levels`, when the caller has them already.
    """
    scores = policy_by_year_table(tables, year=_choice(period), scope={"time_period": period}).frame
    years = [c for c in scores.columns if str(c).isdigit()]
    row = scores.loc[PROGRAMME_ROW, years].astype(float).dropna()
    out: dict[str, tuple[str, tuple[CellId, ...]]] = {}
    if len(row) >= 2:
        first, last = row.index[0], row.index[-1]
        move = (
            "rose" if row[last] > row[first] else ("fell" if row[last] < row[first] else "stayed")
        )
        out["Policy framework score"] = (
            f"The services' mean local CSE policy score {move} from {row[first]:.2f} in {first} to "
            f"{row[last]:.2f} in {last} (0 not started to 3 embedded; each year's mean is over "
            "the services reporting that year).",
            (),
        )
    elif len(row) == 1:
        out["Policy framework score"] = (
            f"The services' mean local CSE policy score was {row.iloc[0]:.2f} in {row.index[0]} "
            "(0 not started to 3 embedded); one year cannot show change.",
            (),
        )
    out[f"Outcome {POLICY_OUTCOME}"] = _level_sentence(
        tables, outcome_id=POLICY_OUTCOME, period=period, levels=levels
    )
    return out


def findings_table(
    found: Mapping[str, tuple[str, tuple[CellId, ...]]], *, area: int, period: str
) -> Table:
    """One impact area's findings: one Text cell per sentence, sourced on the cells it states."""
    frame = pd.DataFrame({"finding": [text for text, _ in found.values()]},
                         index=pd.Index(list(found), name="Finding"), dtype=object)  # fmt: skip
    items: dict[tuple[Hashable, Hashable], tuple[Column, CellId | None]] = {
        (key, "finding"): (Text("finding", sources=sources), None)
        for key, (_, sources) in found.items()
    }
    return ItemTable(
        frame, family=FAMILY, rows="finding_topic", scope={"time_period": period, "impact_area": str(area)},
        columns={"finding": Text("finding")}, total_row=None, labels={"finding": "Finding"}, items=items,
    )  # fmt: skip


def findings_markdown(shown: Shown) -> str:
    """A view of a findings table as a Markdown list; a hidden finding says it is suppressed."""
    lines = [
        f"- {SUPPRESSED if hidden else text}"
        for text, hidden in zip(shown.display["finding"], shown.hidden["finding"], strict=True)
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------- realist
def theory_tables(tables: Mapping[str, pd.DataFrame], *, period: str) -> dict[str, Table]:
    """The realist synthesis' ``programme`` (verdicts) and ``refined`` tables over all years."""
    judged = _in_period(_judgements(load.table(tables, "judgements")), "all")
    loaded = load_theories()
    theories = _theory_order([*(t.id for t in loaded), *judged["theory_id"]])
    return {
        "theories": judgement_table(judged, theories=theories, scope={"time_period": period},
                                    family=REALIST_FAMILY),
        "refined": refined_table(tables, judged, theories=loaded, time_period=period),
    }  # fmt: skip


# --------------------------------------------------------------------------- limitations
def _service_groups(tables: Mapping[str, pd.DataFrame]) -> dict[str, str]:
    """Per grouping, its services per value in words ("Multi-host 4; ...")."""
    context = service_context(tables).astype({"phase": str})
    prefix = {"phase": "phase "}
    return {
        f"Services by {dim.replace('_', ' ')}": "; ".join(
            f"{prefix.get(dim, '')}{value}: {n}"
            for value, n in context[dim].astype(str).value_counts().sort_index().items()
        )
        for dim in GROUPINGS
    }


def limitations_table(tables: Mapping[str, pd.DataFrame], *, period: str) -> Table:
    """``limitations``: risk data coverage, service-years, rows set aside, services per group."""
    per_year = [service_counts(tables, year=p) for p in periods(tables)[:-1]]
    service_years = sum(len(c) for c in per_year)
    unrated = sum(int(c["risk_assessed"].eq(0).sum()) for c in per_year)
    pooled = service_counts(tables, year="all")
    assessed, people = float(pooled["risk_assessed"].sum()), float(pooled["young_people"].sum())
    quarantine = reconciliation_summary(load.table(tables, "reconciliation"))["rows_quarantined"]
    rows: dict[str, object] = {
        "Case records with two risk ratings": f"{assessed:,.0f} of {people:,.0f} ({_pct(assessed, people)})",
        "Service-years with no young person rated for risk twice": (
            f"{unrated} of {service_years} ({_pct(unrated, service_years)})"
        ),
        "Raw rows set aside by cleaning (quarantine)": float(quarantine.astype(float).sum()),
        **_service_groups(tables),
    }
    frame = pd.DataFrame({"value": list(rows.values())}, index=pd.Index(list(rows), name="Limitation"),
                         dtype=object)  # fmt: skip
    set_aside = Count(
        RAW_ROWS, unit="records", dims={"row_outcome": ROW_OUTCOMES["rows_quarantined"]}
    )
    coverage = Text("limitation", sources=(_cell(ASSESSED, period), _cell(YOUNG_PEOPLE, period)))
    items: dict[tuple[Hashable, Hashable], tuple[Column, CellId | None]] = {
        ("Case records with two risk ratings", "value"): (coverage, None),
        ("Raw rows set aside by cleaning (quarantine)", "value"): (
            set_aside,
            _cell(set_aside, period),
        ),
    }
    return ItemTable(
        frame, family=FAMILY, rows="limitation_item", scope={"time_period": period},
        columns={"value": Text("limitation")}, total_row=None, labels={"value": "Value"}, items=items,
    )  # fmt: skip


# --------------------------------------------------------------------------- links
def service_report_links(
    tables: Mapping[str, pd.DataFrame],
) -> list[tuple[str, list[tuple[int, str]]]]:
    """Per service (fixed order): each year with data and its report's file name (relative)."""
    pairs = load.available_service_years(tables)
    return [
        (sid, [(year, f"service_report_{sid}_{year}.html") for year in pairs[sid]])
        for sid in load.service_order(list(pairs))
    ]


def links_markdown(links: Sequence[tuple[str, list[tuple[int, str]]]]) -> str:
    """The service reports as a Markdown list of plain relative links, one line per service."""
    return "\n".join(
        f"- {sid}: " + ", ".join(f"[{year}]({name})" for year, name in years)
        for sid, years in links
    )


# --------------------------------------------------------------------------- the entry point
def programme_summary_tables(tables: Mapping[str, pd.DataFrame]) -> dict[str, Table]:
    """Every funder table of the programme summary, by key (see the module docstring)."""
    period = periods(tables)[-1]
    levels = outcome_levels(tables)  # the outcomes table and two impact areas' sentences
    found = {
        1: safeguarding_findings(tables, period=period),
        2: workforce_findings(tables, period=period, levels=levels),
        3: policy_findings(tables, period=period, levels=levels),
    }
    return {
        "reach": reach_table(tables),
        "outcomes": outcomes_table(tables, levels=levels),
        **{f"impact.{area}": findings_table(sentences, area=area, period=period)
           for area, sentences in found.items()},
        **theory_tables(tables, period=period),
        "limitations": limitations_table(tables, period=period),
    }  # fmt: skip
