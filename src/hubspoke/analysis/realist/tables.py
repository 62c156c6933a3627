"""The realist synthesis, coding quality and interview evidence as funder tables.

Every number a funder sees about the interviews is a cell with an identity, so the
release-wide suppression (:mod:`hubspoke.analysis.release`) protects it together with
every other table:

* interviews are counted as people: ``Count("interviews", unit="interviews")`` with
  dimensions ``theory_id``, ``judgement`` (supports / refutes / refines),
  ``respondent_role`` and a context (``model_variant`` or ``host_setting``);
* the synthesis is programme-level (scope ``time_period`` only), except that a context
  holding a single service that period is that service: its cells carry the
  ``service_id`` instead of the context, the same cells as the service report's
  interview evidence (:func:`service_evidence_tables`);
* verdicts, refined theories and joint-display calls are :class:`Text` computed from
  counts: they list their source cells and are hidden wherever one is;
* coding quality counts interviews coded (Count) and raw rows (``raw_rows``, Count so
  small numbers of set-aside rows are protected); agreement statistics are Figures.

:func:`local_context_tables` holds the public local-context rates (Figures only).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np
import pandas as pd

from hubspoke import load
from hubspoke.analysis import outcomes
from hubspoke.analysis.agreement import (
    ALL_PAIRS,
    KRIPPENDORFF_TENTATIVE,
    agreement_band,
    double_judged,
    judgement_agreement,
    per_code_agreement,
)
from hubspoke.analysis.context import CONTEXT_FAMILY, rates_table, service_area_rates
from hubspoke.analysis.quality import failed_files, problem_kind, reconciliation_summary
from hubspoke.analysis.realist.cmo import (
    STAGE_BUILDING,
    STAGE_TESTING,
    cmo_configurations,
    cmo_for_whom,
    cmo_quotes,
    evaluation_stage,
)
from hubspoke.analysis.realist.coding import coding_summary
from hubspoke.analysis.realist.evidence import (
    AWAITING_STATEMENT,
    _context_order,
    refined_theories,
    service_context_table,
    service_contexts,
)
from hubspoke.analysis.realist.inputs import REFINEMENT_COLUMNS, _judgements
from hubspoke.analysis.realist.joint import joint_display
from hubspoke.analysis.realist.quotes import people_per_role, quote_role, safe_quote
from hubspoke.analysis.realist.refinements import HAS_STATEMENT, refinement_evidence
from hubspoke.analysis.realist.theories import (
    CONTEXT_DIMENSIONS,
    Theory,
    _theory_order,
    load_theories,
    theory_table,
)
from hubspoke.analysis.realist.verdicts import (
    MIN_JUDGEMENTS,
    REFINED,
    REFUTED,
    TOO_LITTLE,
    _tally,
    theory_verdicts,
    verdict,
)
from hubspoke.analysis.service.tables import ItemTable
from hubspoke.errors import ParameterError, SchemaError
from hubspoke.privacy.release import Shown
from hubspoke.privacy.table import CellId, Column, Count, Derived, Figure, Table, Text
from hubspoke.spec.vocab import JUDGEMENTS, RESPONDENT_ROLES

#: Families (open-data files) of the tables built here.
REALIST_FAMILY: Final = "realist_synthesis"
EVIDENCE_FAMILY: Final = "service_interviews"
CODING_FAMILY: Final = "coding_quality"
#: Family of the quotes tables (words only).
QUOTES_FAMILY: Final = "realist_quotes"
#: The count of interviews (each interview is one person's account).
INTERVIEWS: Final = "interviews"
#: The count of raw rows read by cleaning (records, not people, but protected as counts).
RAW_ROWS: Final = "raw_rows"
#: Column headings of the judgement counts.
JUDGEMENT_LABELS: Final[Mapping[str, str]] = {
    "supports": "Supports",
    "refutes": "Refutes",
    "refines": "Refines",
}
#: Raw-row outcomes of cleaning: column of ``reconciliation_summary`` -> ``row_outcome``.
ROW_OUTCOMES: Final[Mapping[str, str | None]] = {
    "rows_in": None,
    "rows_clean": "clean",
    "rows_quarantined": "quarantined",
    "rows_merged_duplicates": "merged duplicate",
}


# --------------------------------------------------------------------------- periods
def period_label(tables: Mapping[str, pd.DataFrame], year: str) -> str:
    """The ``time_period`` of a year choice: the year, or the all-years label for ``"all"``."""
    if str(year) != "all":
        return str(int(year))
    return load.all_years_label(_years(tables))


def year_choices(tables: Mapping[str, pd.DataFrame]) -> list[str]:
    """Every year choice of the synthesis: each year with interviews, then ``"all"``."""
    judged = _judgements(load.table(tables, "judgements"))
    years = sorted({int(y) for y in judged["year"].dropna()})
    return [*(str(y) for y in years), "all"]


def _years(tables: Mapping[str, pd.DataFrame]) -> list[int]:
    """The evaluation years with data (as the release labels them), else those with interviews."""
    pairs = load.available_service_years(tables)
    years = sorted({y for ys in pairs.values() for y in ys})
    if not years:
        judged = _judgements(load.table(tables, "judgements"))
        years = sorted({int(y) for y in judged["year"].dropna()})
    if not years:
        raise ParameterError("no evaluation years with data", column="year", found=[])
    return years


def _in_period(frame: pd.DataFrame, year: str) -> pd.DataFrame:
    """Rows of one year, or every row for ``"all"``."""
    if str(year) == "all":
        return frame
    return frame[pd.to_numeric(frame["year"], errors="coerce") == int(year)]


# --------------------------------------------------------------------------- judgement tables
def _judgement_frame(
    judged: pd.DataFrame, theories: Sequence[str], labels: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """Per theory (index): interviews judging it, supports / refutes / refines, and the verdict."""
    tally = _tally(judged, ["theory_id"]).set_index("theory_id") if not judged.empty else None
    rows = []
    for theory in theories:
        has = tally is not None and theory in tally.index
        counts = {j: int(tally.loc[theory, j]) if has else 0 for j in JUDGEMENTS}  # type: ignore[union-attr]
        row: dict[str, object] = {}
        if labels is not None:
            row["Theory"] = labels.get(theory, theory)
        row["Interviews"] = sum(counts.values())
        row.update({JUDGEMENT_LABELS[j]: counts[j] for j in JUDGEMENTS})
        row["Verdict"] = str(tally.loc[theory, "verdict"]) if has else TOO_LITTLE  # type: ignore[union-attr]
        rows.append(row)
    frame = pd.DataFrame(rows, index=pd.Index(list(theories), name="Programme theory"))
    return frame


def judgement_table(
    judged: pd.DataFrame,
    *,
    theories: Sequence[str],
    scope: Mapping[str, object],
    family: str,
    labels: Mapping[str, str] | None = None,
) -> Table:
    """Interviews judging each theory, by judgement, with the verdict, for one scope.

    Rows are theories (``theory_id``); ``Interviews`` is the count at the judgement
    total, and each of ``Supports`` / ``Refutes`` / ``Refines`` a count with its
    ``judgement``, tied to it by an equation (one judgement per interview and theory).
    ``Verdict`` is text from the three counts. ``labels`` adds a ``Theory`` name column.
    """
    frame = _judgement_frame(judged, theories, labels)
    columns: dict[Hashable, Column] = {}
    if labels is not None:
        columns["Theory"] = Text("theory_label")
    columns["Interviews"] = Count(INTERVIEWS, unit="interviews")
    for j in JUDGEMENTS:
        columns[JUDGEMENT_LABELS[j]] = Count(INTERVIEWS, unit="interviews", dims={"judgement": j})
    columns["Verdict"] = Text("verdict_interviews", sources=tuple(JUDGEMENT_LABELS.values()))
    table = Table(frame, family=family, rows="theory_id", columns=columns, scope=dict(scope))
    return Table(
        frame,
        family=family,
        rows="theory_id",
        columns=columns,
        scope=dict(scope),
        total_row=None,
        labels={"Interviews": "Interviews"},
        extra_equations=tuple(_judgement_equation(table, t) for t in theories),
    )


def _judgement_equation(table: Table, theory: str) -> dict[CellId, float]:
    """Interviews on a theory = supports + refutes + refines (one judgement per interview)."""
    eq = {table.cell_id(theory, JUDGEMENT_LABELS[j]): 1.0 for j in JUDGEMENTS}
    eq[table.cell_id(theory, "Interviews")] = -1.0
    return eq


def judgement_ids(scope: Mapping[str, object], theory: str) -> tuple[CellId, ...]:
    """The supports / refutes / refines cells of one theory in one scope."""
    return tuple(
        CellId.of(INTERVIEWS, **dict(scope), theory_id=theory, judgement=j) for j in JUDGEMENTS
    )


# --------------------------------------------------------------------------- service evidence
def service_evidence_tables(
    tables: Mapping[str, pd.DataFrame], *, service_id: str, year: int
) -> dict[str, Table]:
    """The service report's interview evidence: per theory, interviews by judgement and the verdict.

    Scope ``service_id`` and ``time_period``; the cells are the same as the synthesis's
    for a context that holds only this service. Empty when the service has no
    interviews that year (the report then says so).
    """
    judged = _judgements(load.table(tables, "judgements"))
    codes = load.table(tables, "codings")
    here = judged[(judged["service_id"] == service_id) & (judged["year"] == int(year))]
    coded = codes[
        (codes["service_id"].astype("string") == service_id)
        & (pd.to_numeric(codes["year"], errors="coerce") == int(year))
    ]
    if here.empty and coded.empty:
        return {}
    theories = _theory_order([*here["theory_id"], *coded["theory_id"].astype("string")])
    names = {t.id: t.label for t in load_theories()}
    return {
        "theory_evidence": judgement_table(
            here,
            theories=theories,
            scope={"service_id": service_id, "time_period": str(int(year))},
            family=EVIDENCE_FAMILY,
            labels=names,
        )
    }


def for_whom_table(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """The synthesis's "for whom" table for the evaluation team (:func:`cmo_for_whom` of
    every service-year), built with the release so the notebook reads it, not works it out."""
    return cmo_for_whom(
        load.table(tables, "codings"),
        load.table(tables, "judgements"),
        service_context_table(load.table(tables, "services"), tables.get("spokes")),
        load.table(tables, "cases"),
        codebook=tables.get("codebook"),
    )


# --------------------------------------------------------------------------- the synthesis
def context_scopes(
    tables: Mapping[str, pd.DataFrame], judged: pd.DataFrame, *, by: str, time_period: str
) -> dict[str, dict[str, object]]:
    """Per context value (in order): the scope of its cells.

    A context whose interviews that period all come from one service is that service
    (``service_id`` replaces the context, so its counts are the service's cells);
    otherwise the context itself.
    """
    if by not in CONTEXT_DIMENSIONS:
        raise ParameterError(
            "unknown context dimension", column="by", allowed=CONTEXT_DIMENSIONS, found=by
        )
    placed = service_contexts(
        load.table(tables, "services"), load.table(tables, "spokes"), by=by
    ).astype("string")
    members = judged[["service_id"]].drop_duplicates().merge(placed, on="service_id", how="left")
    out: dict[str, dict[str, object]] = {}
    for context in _context_order(by, placed[by]):
        services = sorted(members.loc[members[by] == context, "service_id"].astype(str))
        if len(services) == 1:
            out[context] = {"service_id": services[0], "time_period": time_period}
        else:
            out[context] = {by: context, "time_period": time_period}
    return out


def context_tables(
    tables: Mapping[str, pd.DataFrame],
    judged: pd.DataFrame,
    *,
    by: str,
    time_period: str,
    theories: Sequence[str],
) -> dict[str, Table]:
    """Per context value (key ``"<by>:<context>"``) the judgement table of every theory.

    Scopes come from :func:`context_scopes`, so a one-service context is that service.
    """
    placed = service_contexts(
        load.table(tables, "services"), load.table(tables, "spokes"), by=by
    ).astype("string")
    located = judged.merge(placed, on="service_id", how="left")
    out: dict[str, Table] = {}
    for context, scope in context_scopes(tables, judged, by=by, time_period=time_period).items():
        part = located[located[by] == context]
        out[f"{by}:{context}"] = judgement_table(
            part, theories=theories, scope=scope, family=REALIST_FAMILY
        )
    return out


def _virtual_counts(
    scopes: Mapping[str, Mapping[str, object]], *, prefix: str = "_"
) -> dict[Hashable, Column]:
    """Count specs, one per context and judgement, that name cells shown in other tables.

    They are declared but hold no data in the frame: a text's ``sources`` name them,
    so each row's text depends on that row's counts in each context.
    """
    out: dict[Hashable, Column] = {}
    for context, scope in scopes.items():
        dims = {k: v for k, v in scope.items() if k != "time_period"}
        out[f"{prefix}{context}|Total"] = Count(INTERVIEWS, unit="interviews", dims=dims)
        for j in JUDGEMENTS:
            out[f"{prefix}{context}|{j}"] = Count(
                INTERVIEWS, unit="interviews", dims={**dims, "judgement": j}
            )
    return out


def verdict_matrix(
    context: Mapping[str, Table], scopes: Mapping[str, Mapping[str, object]], *, time_period: str
) -> Table:
    """Theories by contexts, each cell ``"<verdict> (n=<interviews>)"``, hidden with its counts."""
    frame = pd.DataFrame(
        {
            name.split(":", 1)[1]: [
                f"{t.frame.loc[r, 'Verdict']} (n={int(t.frame.loc[r, 'Interviews'])})"
                for r in t.frame.index
            ]
            for name, t in context.items()
        },
        index=next(iter(context.values())).frame.index,
    )
    virtual = _virtual_counts(scopes)
    columns: dict[Hashable, Column] = dict(virtual)
    for ctx, scope in scopes.items():
        columns[ctx] = Text(
            "verdict_interviews_n",
            sources=(f"_{ctx}|Total", *(f"_{ctx}|{j}" for j in JUDGEMENTS)),
            dims={k: v for k, v in scope.items() if k != "time_period"},
        )
    return Table(
        frame,
        family=REALIST_FAMILY,
        rows="theory_id",
        columns=columns,
        scope={"time_period": time_period},
        total_row=None,
    )


def role_table(judged: pd.DataFrame, *, theories: Sequence[str], time_period: str) -> Table:
    """Interviews judging each theory by the respondent's role (cross-tab, with a Total column)."""
    transcripts = judged.drop_duplicates(["transcript_id", "theory_id"])
    wide = (
        transcripts.assign(role=transcripts["respondent_role"].astype("string"))
        .groupby(["theory_id", "role"])
        .size()
        .unstack("role", fill_value=0)
        .reindex(index=list(theories), fill_value=0)
    )
    roles = [r for r in RESPONDENT_ROLES if r in wide.columns and wide[r].sum() > 0]
    frame = wide.reindex(columns=roles, fill_value=0).astype("int64")
    frame["Total"] = frame.sum(axis=1)
    frame.index.name = "Programme theory"
    frame.columns.name = None
    return Table(
        frame,
        family=REALIST_FAMILY,
        rows="theory_id",
        column_dim="respondent_role",
        crosstab=Count(INTERVIEWS, unit="interviews"),
        scope={"time_period": time_period},
        total_row=None,
        total_column="Total",
    )


# --------------------------------------------------------------------------- cells by identity
def _interview_id(
    scope: Mapping[str, object], theory: str, judgement: str | None = None, **dims: object
) -> CellId:
    """An interview count's identity: a scope (context or service, period), a theory, dims."""
    return CellId.of(INTERVIEWS, **{**dict(scope), **dims}, theory_id=theory, judgement=judgement)


def _count_ids(scope: Mapping[str, object], theory: str) -> tuple[CellId, ...]:
    """Interviews on a theory in a scope: the total, then supports / refutes / refines."""
    return tuple(_interview_id(scope, theory, j) for j in (None, *JUDGEMENTS))


def _own_scopes(
    tables: Mapping[str, pd.DataFrame],
    judged: pd.DataFrame,
    *,
    theories: Sequence[Theory],
    time_period: str,
) -> dict[str, dict[str, dict[str, object]]]:
    """Per context dimension of the theories: each context's scope (see :func:`context_scopes`)."""
    dims = dict.fromkeys(t.context_dimension for t in theories)
    return {by: context_scopes(tables, judged, by=by, time_period=time_period) for by in dims}


def _scope_of(
    scopes: Mapping[str, Mapping[str, Mapping[str, object]]], by: str, context: str, period: str
) -> dict[str, object]:
    """The scope of one context (the context itself when the services table lacks it)."""
    return dict(scopes.get(by, {}).get(context, {by: context, "time_period": period}))


def _cell_table(
    frame: pd.DataFrame,
    *,
    rows: str,
    items: Mapping[tuple[Hashable, Hashable], tuple[Column, CellId | None]],
    scope: Mapping[str, object] | None = None,
    labels: Mapping[Hashable, str] | None = None,
    equations: Sequence[Mapping[CellId, float]] = (),
    family: str = REALIST_FAMILY,
) -> ItemTable:
    """A table whose cells are named one by one (words where no item names a cell)."""
    return ItemTable(
        frame,
        family=family,
        rows=rows,
        columns={c: Text(f"{rows}_{_slug(c)}") for c in frame.columns},
        scope=dict(scope or {}),
        total_row=None,
        labels=dict(labels or {}),
        extra_equations=tuple(equations),
        items=dict(items),
    )


def _slug(name: Hashable) -> str:
    """A heading as an open-data column name (lower-case snake case)."""
    return re.sub(r"[^a-z0-9]+", "_", str(name).lower()).strip("_")


def _contexts_frame(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Each service's value on both context dimensions."""
    return service_context_table(load.table(tables, "services"), load.table(tables, "spokes"))


def _refinements_data(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame | None:
    """The processed refinements (None when the data have none)."""
    frame = tables.get("refinements")
    return None if frame is None or frame.empty else frame


# --------------------------------------------------------------------------- refined theories
#: What the statement columns show where a theory was not refined (refuted) in any context.
NOT_IN_ANY: Final = "not refined or refuted in any context"


def refined_table(
    tables: Mapping[str, pd.DataFrame],
    judged: pd.DataFrame,
    *,
    theories: Sequence[Theory],
    time_period: str,
) -> Table:
    """Each theory, where the evidence refined or refuted it (its own context dimension), and
    the evaluators' statements there, as written with author and date, or that one is awaited.

    No statement is ever made up: statements come from the processed ``refinements``
    only (:func:`~hubspoke.analysis.realist.evidence.refined_theories`). The overall verdict
    lists the programme counts as sources; the contexts and statements every own-context
    count of the theory.
    """
    refined = refined_theories(
        judged,
        theories,
        services=load.table(tables, "services"),
        spokes=load.table(tables, "spokes"),
        by=None,
        refinements=_refinements_data(tables),
    ).set_index("theory_id")
    dims = {t.id: t.context_dimension for t in theories}
    frame = pd.DataFrame(
        {
            "Theory": refined["theory"],
            "Compared by": refined.index.map(lambda t: DIMENSION_WORDS[dims[t]]),
            "Verdict overall": refined["verdict"],
            "Refined in": refined["refined_in"],
            "Refuted in": refined["refuted_in"],
            "Statements where refined": refined["refined_statement"],
            "Statements where refuted": refined["refuted_statement"],
        },
        index=pd.Index(refined.index, name="Programme theory"),
    ).astype(str)
    frame = frame.replace({"Statements where refined": {"": NOT_IN_ANY},
                           "Statements where refuted": {"": NOT_IN_ANY}})  # fmt: skip
    scopes = _own_scopes(tables, judged, theories=theories, time_period=time_period)
    items: dict[tuple[Hashable, Hashable], tuple[Column, CellId | None]] = {}
    for theory in theories:
        programme = _count_ids({"time_period": time_period}, theory.id)
        own = tuple(
            cid
            for scope in scopes[theory.context_dimension].values()
            for cid in _count_ids(scope, theory.id)
        )
        items[(theory.id, "Verdict overall")] = (
            Text("verdict_interviews", sources=programme),
            None,
        )
        for column, name in (
            ("Refined in", "refined_in"),
            ("Refuted in", "refuted_in"),
            ("Statements where refined", "refined_statement"),
            ("Statements where refuted", "refuted_statement"),
        ):
            items[(theory.id, column)] = (Text(name, sources=own), None)
    return _cell_table(frame, rows="theory_id", items=items, scope={"time_period": time_period})


def _refinement_groups(evidence: pd.DataFrame) -> pd.DataFrame:
    """:func:`refinement_evidence` per statement (or per awaiting context): evidence ids joined."""
    keys = ["theory_id", "context_dimension", "context", "status", "refinement_id"]
    return (
        evidence.assign(refinement_id=evidence["refinement_id"].fillna(""))
        .groupby(keys, sort=False, dropna=False)
        .agg(
            statement=("statement", "first"),
            author=("author", "first"),
            written_on=("written_on", "first"),
            evidence=("evidence_id", lambda s: "; ".join(dict.fromkeys(s.dropna().astype(str)))),
            **{j: (j, "first") for j in JUDGEMENTS},
        )
        .reset_index()
    )


def refinements_table(
    tables: Mapping[str, pd.DataFrame],
    judgements: pd.DataFrame,
    *,
    theories: Sequence[Theory],
    time_period: str,
    checked: Mapping[str, str] | None = None,
) -> Table | None:
    """Evaluators' refinements beside the evidence they rest on, one row per statement, and
    one per own context where refining or refuting interviews still await a statement.

    ``judgements``: the period's judgements (every check). Per row: the theory and
    context, the verdict there (text from the context's counts), the refining and
    refuting interviews (the per-context tables' cells), the statement as written, its
    author and date, and the evidence ids (transcripts and coded segments) it rests on;
    an awaiting row lists the refining and refuting transcripts. None when there is
    nothing to show. ``checked``: every coded excerpt and its ``safe_quote`` (no names or
    places added: :func:`~hubspoke.analysis.realist.cmo.checked_quotes`), when the caller has them.
    """
    refinements = _refinements_data(tables)
    if refinements is None:
        refinements = pd.DataFrame(columns=list(REFINEMENT_COLUMNS))
    evidence = refinement_evidence(
        refinements,
        load.table(tables, "codings"),
        judgements,
        _contexts_frame(tables),
        theories=theories,
        checked=checked,
    )
    if evidence.empty:
        return None
    grouped = _refinement_groups(evidence)
    judged = _judgements(judgements)
    scopes = _own_scopes(tables, judged, theories=theories, time_period=time_period)
    rows = []
    items: dict[tuple[Hashable, Hashable], tuple[Column, CellId | None]] = {}
    for rec in grouped.itertuples(index=False):
        awaiting = rec.status != HAS_STATEMENT
        label = f"{rec.theory_id} {rec.context} ({rec.refinement_id or AWAITING_ROW})"
        scope = _scope_of(scopes, str(rec.context_dimension), str(rec.context), time_period)
        ids = _count_ids(scope, str(rec.theory_id))
        rows.append(
            {
                "Row": label,
                "Theory": str(rec.theory_id),
                "Context": str(rec.context),
                "Verdict there": verdict(int(rec.supports), int(rec.refutes), int(rec.refines)),
                "Refining interviews": int(rec.refines),
                "Refuting interviews": int(rec.refutes),
                "Evaluator's statement": AWAITING_STATEMENT if awaiting else str(rec.statement),
                "Author": "" if awaiting else str(rec.author),
                "Written on": "" if awaiting else str(rec.written_on),
                "Evidence": (
                    f"refining and refuting interviews: {rec.evidence}"
                    if awaiting
                    else str(rec.evidence)
                ),
            }
        )
        items[(label, "Verdict there")] = (Text("verdict_interviews", sources=ids), None)
        items[(label, "Refining interviews")] = (Count(INTERVIEWS, unit="interviews"), ids[3])
        items[(label, "Refuting interviews")] = (Count(INTERVIEWS, unit="interviews"), ids[2])
        items[(label, "Evidence")] = (
            Text("refinement_evidence", sources=(ids[2], ids[3])),
            None,
        )
    frame = pd.DataFrame(rows).set_index("Row")
    frame.index.name = "Refinement"
    return _cell_table(frame, rows="refinement", items=items, scope={"time_period": time_period})


# --------------------------------------------------------------------------- CMO configurations
#: Words for a context dimension.
DIMENSION_WORDS: Final[Mapping[str, str]] = {
    "model_variant": "model variant",
    "host_setting": "host setting",
}
#: Row label part of a context awaiting an evaluator's statement.
AWAITING_ROW: Final = "awaiting"
#: Quotes shown per theory (strongest first).
QUOTES_PER_THEORY: Final = 3


def _code_label(code: object, labels: Mapping[str, str]) -> str:
    """``"PT1-M1 <label>"`` (the code alone without a label)."""
    text = str(code)
    return f"{text} {labels[text]}" if text in labels else text


def _codebook_labels(tables: Mapping[str, pd.DataFrame]) -> dict[str, str]:
    """Code id -> label from the codebook."""
    book = load.table(tables, "codebook")
    return dict(zip(book["code_id"].astype(str), book["label"].astype(str), strict=True))


def cmo_table(
    config: pd.DataFrame,
    *,
    theory: Theory,
    scopes: Mapping[str, Mapping[str, object]],
    labels: Mapping[str, str],
    time_period: str,
) -> Table | None:
    """One theory's mechanism -> outcome configurations by its own contexts (interview counts).

    ``config`` is :func:`~hubspoke.analysis.realist.cmo.cmo_configurations` for the
    period. Rows: mechanism -> outcome pairs coded in the same interviews; columns: the
    theory's contexts (in ``scopes`` order) and ``Total``. Each cell counts interviews
    where both codes were coded (``Count("interviews")`` with ``theory_id``,
    ``mechanism``, ``outcome`` and the context's scope). An interview is in one
    service, so in one context: the Total is a true margin, declared as an equation.
    None when the theory has no configuration in the period.
    """
    mine = config[
        (config["theory_id"].astype(str) == theory.id)
        & config["mechanism_code"].notna()
        & config["outcome_code"].notna()
    ]
    if mine.empty:
        return None
    wide = (
        mine.assign(mechanism=mine["mechanism_code"].astype(str),
                    outcome=mine["outcome_code"].astype(str), context=mine["context"].astype(str))
        .pivot_table(index=["mechanism", "outcome"], columns="context", values="n_transcripts",
                     aggfunc="sum", fill_value=0)
        .reindex(columns=list(scopes), fill_value=0)
        .astype("int64")
    )  # fmt: skip
    wide = wide.assign(Total=wide.sum(axis=1))
    pairs = list(wide.index)
    index = pd.Index([f"{m} > {o}" for m, o in pairs], name="Mechanism > outcome")
    frame = pd.DataFrame(
        {
            "Mechanism": [_code_label(m, labels) for m, _ in pairs],
            "Outcome": [_code_label(o, labels) for _, o in pairs],
            **{c: wide[c].to_numpy() for c in wide.columns},
        },
        index=index,
    )
    items: dict[tuple[Hashable, Hashable], tuple[Column, CellId | None]] = {}
    equations = []
    spec = Count(INTERVIEWS, unit="interviews")
    for row, (m, o) in zip(index, pairs, strict=True):
        total = _interview_id({"time_period": time_period}, theory.id, mechanism=m, outcome=o)
        items[(row, "Total")] = (spec, total)
        eq: dict[CellId, float] = {total: -1.0}
        for context, scope in scopes.items():
            cid = _interview_id(scope, theory.id, mechanism=m, outcome=o)
            items[(row, context)] = (spec, cid)
            eq[cid] = eq.get(cid, 0.0) + 1.0
        equations.append(eq)
    return _cell_table(
        frame, rows="cmo_configuration", items=items, scope={"time_period": time_period},
        equations=equations,
    )  # fmt: skip


def _quote_people(
    tables: Mapping[str, pd.DataFrame], service_id: str, year: int, cache: dict
) -> Mapping[str, int]:
    """People per role at a service in a year (:func:`people_per_role`), computed once."""
    key = (service_id, int(year))
    if key not in cache:
        if _SPLIT not in cache:
            cache[_SPLIT] = {n: _by_service_year(load.table(tables, n)) for n in _PEOPLE_TABLES}
        cache[key] = people_per_role(
            *(cache[_SPLIT][n].get(key, load.table(tables, n).iloc[:0]) for n in _PEOPLE_TABLES),
            service_id=service_id,
            year=int(year),
            services=load.table(tables, "services"),
            spokes=load.table(tables, "spokes"),
        )
    return cache[key]


#: The tables :func:`people_per_role` counts people in, and the cache key of their rows
#: split by service-year (each call then reads its own rows, not the whole tables).
_PEOPLE_TABLES: Final = ("codings", "judgements")
_SPLIT: Final = "rows by service-year"


def _by_service_year(frame: pd.DataFrame) -> dict[tuple[str, int], pd.DataFrame]:
    """The rows of ``frame`` per (service_id, year), as :func:`people_per_role` selects them."""
    if not {"service_id", "year"} <= set(frame.columns):
        return {}
    service = frame["service_id"].astype("string")
    year = pd.to_numeric(frame["year"], errors="coerce")
    return {
        (str(s), int(y)): rows
        for (s, y), rows in frame.groupby([service, year], sort=False, dropna=True)
        if float(y).is_integer()
    }


def _attributed(
    quotes: pd.DataFrame, tables: Mapping[str, pd.DataFrame], cache: dict
) -> pd.DataFrame:
    """Quotes with ``said_by``: the role (or coarser group) and year :func:`quote_role` allows.

    A quote whose role and group are both too small at its service that year is dropped.
    """
    if quotes.empty:
        return quotes.assign(said_by=pd.Series(dtype="string"))
    services = (
        load.table(tables, "codings")
        .assign(transcript_id=lambda d: d["transcript_id"].astype(str))
        .drop_duplicates("transcript_id")
        .set_index("transcript_id")["service_id"]
        .astype(str)
    )
    said = []
    for rec in quotes.itertuples(index=False):
        service = services.get(str(rec.transcript_id))
        shown = (
            None
            if service is None or pd.isna(rec.year)
            else quote_role(
                str(rec.respondent_role), _quote_people(tables, service, int(rec.year), cache)
            )
        )
        said.append(None if shown is None else f"{shown}, {int(rec.year)}")
    out = quotes.assign(said_by=pd.array(said, dtype="string"))
    return out[out["said_by"].notna()]


def _quote_places(tables: Mapping[str, pd.DataFrame]) -> pd.Series:
    """Places masked again in quotes: the Hubs' names."""
    return load.table(tables, "services")["hub_name"].astype(str)


class _CheckedOnUse(Mapping[str, str]):
    """Each excerpt's :func:`safe_quote` (with fixed ``places``), checked the first time it is asked for.

    Every text counts as known (``in`` is true), so callers that look excerpts up in a
    ``checked`` mapping get the same answer ``safe_quote`` gives, computed once per text
    and only for the excerpts a report quotes (not every coded excerpt up front).
    """

    def __init__(self, places: Sequence[str] = ()) -> None:
        self._places = list(places)
        self._done: dict[str, str] = {}

    def __getitem__(self, text: str) -> str:
        if text not in self._done:
            self._done[text] = safe_quote(text, places=self._places)
        return self._done[text]

    def __contains__(self, text: object) -> bool:
        return isinstance(text, str)

    def __bool__(self) -> bool:
        return True  # never "empty": callers write ``checked or {}``

    def __iter__(self) -> Iterator[str]:
        return iter(self._done)

    def __len__(self) -> int:
        return len(self._done)


@dataclass(frozen=True)
class _QuoteChecks:
    """Every quoted excerpt checked once by ``safe_quote``, for all the synthesis' quotes.

    ``cmo``: with the Hubs' names as places (:func:`cmo_quotes_table`); ``plain``: with
    no names or places added (:func:`refinements_table`), each checked on first use
    (:class:`_CheckedOnUse`); ``people``: people per role per service-year, filled as
    quotes are attributed (:func:`_quote_people`), shared by every period of one
    :func:`realist_tables` call.
    """

    cmo: Mapping[str, str]
    plain: Mapping[str, str]
    people: dict = field(default_factory=dict)

    @classmethod
    def of(cls, tables: Mapping[str, pd.DataFrame]) -> _QuoteChecks:
        return cls(_CheckedOnUse(_quote_places(tables).tolist()), _CheckedOnUse())


def _theory_quotes(
    tables: Mapping[str, pd.DataFrame],
    codings: pd.DataFrame,
    theories: Sequence[Theory],
    *,
    contexts: pd.DataFrame,
    checked: Mapping[str, str] | None,
) -> pd.DataFrame:
    """:func:`~hubspoke.analysis.realist.cmo.cmo_quotes` (one per interview) for ``theories``.

    Every step of ``cmo_quotes`` keeps theories apart (configurations, candidates, ranks
    and repeated wording are all per theory), so one call for several theories gives
    each theory's rows, in order, as a call for that theory alone: the synthesis makes
    one call and :func:`cmo_quotes_table` takes each theory's rows.
    """
    return cmo_quotes(codings, contexts, theories=theories, max_quotes=1,
                      places=_quote_places(tables), checked=checked)  # fmt: skip


def cmo_quotes_table(
    tables: Mapping[str, pd.DataFrame],
    codings: pd.DataFrame,
    *,
    theory: Theory,
    labels: Mapping[str, str],
    cache: dict,
    time_period: str,
    checked: Mapping[str, str] | None = None,
    contexts: pd.DataFrame | None = None,
    quotes: pd.DataFrame | None = None,
) -> Table | None:
    """The strongest quotes for one theory's configurations (words only, no counts).

    From :func:`~hubspoke.analysis.realist.cmo.cmo_quotes` (each excerpt re-checked by
    ``safe_quote``): the strongest quote of each configuration, most codes first, one per
    interview, up to :data:`QUOTES_PER_THEORY`; attributed only as
    :func:`~hubspoke.analysis.realist.quotes.quote_role` allows (role, else coarser group,
    else not shown), never to a service. None when no quote may be shown. ``checked``:
    :class:`_CheckedOnUse` (or ``checked_quotes``) of the codings, when the caller quotes many theories;
    ``contexts``: :func:`_contexts_frame`, when the caller has it; ``quotes``:
    :func:`_theory_quotes` of these codings for this theory, when the caller has them.
    """
    if quotes is None:
        contexts = _contexts_frame(tables) if contexts is None else contexts
        quotes = _theory_quotes(tables, codings, [theory], contexts=contexts, checked=checked)
    quotes = _attributed(quotes, tables, cache)
    if quotes.empty:
        return None
    best = (
        quotes.sort_values(["n_codes", "mechanism_code", "outcome_code"],
                           ascending=[False, True, True], kind="stable")
        .drop_duplicates("transcript_id")
        .drop_duplicates(["mechanism_code", "outcome_code"])
        .head(QUOTES_PER_THEORY)
    )  # fmt: skip
    frame = pd.DataFrame(
        {
            "Context": best["context"].astype(str).to_numpy(),
            "Mechanism > outcome": [
                f"{_code_label(m, labels)} > {_code_label(o, labels)}"
                for m, o in zip(best["mechanism_code"], best["outcome_code"], strict=True)
            ],
            "Quote": [f"\u201c{q}\u201d" for q in best["excerpt"].astype(str)],
            "Said by": best["said_by"].astype(str).to_numpy(),
        },
        index=pd.Index([f"Quote {k + 1}" for k in range(len(best))], name="Rank"),
    )
    return Table(
        frame,
        family=QUOTES_FAMILY,
        rows="quote",
        columns={c: Text(f"cmo_quote_{k}") for k, c in enumerate(frame.columns)},
        scope={"theory_id": theory.id, "time_period": time_period},
        total_row=None,
    )


# --------------------------------------------------------------------------- stages
def stage_table(
    judged: pd.DataFrame, *, theories: Sequence[str], years: Sequence[int], time_period: str
) -> Table:
    """Theories by realist stage (years 1-2 build the theory, year 3 on tests it): judgements.

    Per stage the interviews judging each theory, by judgement, and the verdict. A
    stage's counts are the sum of its years' published counts: declared as equations,
    so the release knows a reader can add the years up.
    """
    first = min(years)
    _, stage = evaluation_stage(judged["year"], first_year=first)
    _, year_stage = evaluation_stage(pd.Series(list(years)), first_year=first)
    stages = [s for s in (STAGE_BUILDING, STAGE_TESTING) if s in set(year_stage.dropna())]
    data: dict[str, object] = {}
    columns: dict[Hashable, Column] = {}
    for s in stages:
        part = judged[(stage == s).fillna(False).to_numpy(dtype=bool)]
        block = _judgement_frame(part, theories)
        data[f"{s}: interviews"] = block["Interviews"]
        columns[f"{s}: interviews"] = Count(INTERVIEWS, unit="interviews", dims={"stage": s})
        for j in JUDGEMENTS:
            data[f"{s}: {j}"] = block[JUDGEMENT_LABELS[j]]
            columns[f"{s}: {j}"] = Count(
                INTERVIEWS, unit="interviews", dims={"stage": s, "judgement": j}
            )
        data[f"{s}: verdict"] = block["Verdict"]
        columns[f"{s}: verdict"] = Text(
            "verdict_interviews", sources=tuple(f"{s}: {j}" for j in JUDGEMENTS), dims={"stage": s}
        )
    frame = pd.DataFrame(data, index=pd.Index(list(theories), name="Programme theory"))
    base = Table(frame, family=REALIST_FAMILY, rows="theory_id", columns=columns,
                 scope={"time_period": time_period}, total_row=None)  # fmt: skip
    equations = []
    for s in stages:
        in_stage = [str(y) for y, st in zip(years, year_stage, strict=True) if st == s]
        for theory in theories:
            for judgement in (None, *JUDGEMENTS):
                col = f"{s}: {judgement or 'interviews'}"
                eq = {base.cell_id(theory, col): -1.0}
                for y in in_stage:
                    eq[_interview_id({"time_period": y}, theory, judgement)] = 1.0
                equations.append(eq)
            eq = {base.cell_id(theory, f"{s}: {j}"): 1.0 for j in JUDGEMENTS}
            eq[base.cell_id(theory, f"{s}: interviews")] = -1.0
            equations.append(eq)
    return Table(frame, family=REALIST_FAMILY, rows="theory_id", columns=columns,
                 scope={"time_period": time_period}, total_row=None,
                 extra_equations=tuple(equations))  # fmt: skip


# --------------------------------------------------------------------------- verdicts to inspect
#: Row label part of a context's own counts (all roles and years).
ALL_ROLES_YEARS: Final = "all roles and years"
#: The two sides of the quotes shown beside a verdict.
SIDES: Final[Mapping[str, str]] = {"supports": "for", "refutes": "against"}


def judged_table(
    tables: Mapping[str, pd.DataFrame],
    judged: pd.DataFrame,
    *,
    theory: Theory,
    time_period: str,
    year_scopes: Mapping[int, Mapping[str, Mapping[str, object]]],
    scopes: Mapping[str, Mapping[str, object]],
) -> Table:
    """One theory's judgements in each own context, by respondent role and year, with the verdict.

    Per context a row of its counts and the rule's verdict (the per-context tables'
    cells), then one row per role and year (``respondent_role`` cells in that year's
    context scope, ``year_scopes``). Interviews = supports + refutes + refines on each
    row, and the role-year rows add up to the context's row (each interview has one role
    and one year): both declared as equations.
    """
    placed = judged.merge(
        service_contexts(load.table(tables, "services"), load.table(tables, "spokes"),
                         by=theory.context_dimension).astype("string"),
        on="service_id", how="left",
    )  # fmt: skip
    placed = placed[placed["theory_id"] == theory.id]
    by = theory.context_dimension
    rows: list[dict[str, object]] = []
    items: dict[tuple[Hashable, Hashable], tuple[Column, CellId | None]] = {}
    equations: list[dict[CellId, float]] = []
    spec = Count(INTERVIEWS, unit="interviews")
    counts = ["Interviews", *(JUDGEMENT_LABELS[j] for j in JUDGEMENTS)]
    for context, scope in scopes.items():
        part = placed[placed[by] == context]
        ids = _count_ids(scope, theory.id)
        label = f"{context}: {ALL_ROLES_YEARS}"
        tally = _srf(part)
        said = verdict(*(tally[JUDGEMENT_LABELS[j]] for j in JUDGEMENTS))
        rows.append({"Row": label, "Context": context, "Role": ALL_ROLES_YEARS, "Year": "",
                     **tally, "Verdict": said})  # fmt: skip
        items.update({(label, c): (spec, cid) for c, cid in zip(counts, ids, strict=True)})
        items[(label, "Verdict")] = (Text("verdict_interviews", sources=ids), None)
        margins: list[dict[CellId, float]] = [{cid: -1.0} for cid in ids]
        for (role, year), group in part.groupby(["respondent_role", "year"], observed=True):
            year_scope = dict(year_scopes[int(year)].get(context, {by: context}))
            year_scope["time_period"] = str(int(year))
            sub = f"{context}: {role}, {int(year)}"
            rows.append({"Row": sub, "Context": context, "Role": str(role), "Year": str(int(year)),
                         **_srf(group), "Verdict": ""})  # fmt: skip
            sub_ids = _count_ids({**year_scope, "respondent_role": role}, theory.id)
            items.update({(sub, c): (spec, cid) for c, cid in zip(counts, sub_ids, strict=True)})
            equations.append({**{cid: 1.0 for cid in sub_ids[1:]}, sub_ids[0]: -1.0})
            for margin, cid in zip(margins, sub_ids, strict=True):
                margin[cid] = margin.get(cid, 0.0) + 1.0
        equations.append({**{cid: 1.0 for cid in ids[1:]}, ids[0]: -1.0})
        equations.extend(m for m in margins if len(m) > 1)
    frame = pd.DataFrame(rows).set_index("Row")
    frame.index.name = "Context, role and year"
    return _cell_table(frame, rows="judged_row", items=items, scope={"time_period": time_period, "theory_id": theory.id},
                       equations=equations)  # fmt: skip


def _srf(judged: pd.DataFrame) -> dict[str, int]:
    """Interviews and supports / refutes / refines of some main judgements (table headings)."""
    found = Counter(map(str, judged["judgement"].tolist()))  # small groups: no value_counts
    counts = {JUDGEMENT_LABELS[j]: int(found.get(j, 0)) for j in JUDGEMENTS}
    return {"Interviews": sum(counts.values()), **counts}


def _strongest_segments(
    codings: pd.DataFrame, theory: str, checked: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """Per interview its strongest coded excerpt on the theory (outcome, then mechanism, longest).

    ``checked``: excerpts already checked by :func:`safe_quote` (no names or places
    added), so the same words recurring across interviews and theories are checked once.
    """
    known = checked or {}
    codes = codings[codings["theory_id"].astype(str) == theory]
    codes = codes.assign(
        transcript_id=codes["transcript_id"].astype(str),
        _p=codes["cmo"].astype("string").str.lower().map(_CMO_RANK).fillna(3),
        _l=codes["excerpt"].astype("string").str.len().fillna(0),
    )
    return (
        codes.sort_values(["transcript_id", "_p", "_l"], ascending=[True, True, False])
        .drop_duplicates("transcript_id")
        .assign(
            quote=lambda d: [
                known[t] if t in known else safe_quote(t) for t in map(str, d["excerpt"])
            ]
        )
        .loc[lambda d: d["quote"] != ""]
        .drop_duplicates("transcript_id")
    )


_CMO_RANK: Final[Mapping[str, int]] = {"outcome": 0, "o": 0, "mechanism": 1, "m": 1,
                                       "context": 2, "c": 2}  # fmt: skip


def verdict_quotes_table(
    tables: Mapping[str, pd.DataFrame],
    judged: pd.DataFrame,
    codings: pd.DataFrame,
    *,
    theory: Theory,
    cache: dict,
    time_period: str,
    checked: Mapping[str, str] | None = None,
) -> Table | None:
    """The strongest quote for and against one theory in each of its own contexts (words only).

    For: an interview whose main judgement supports the theory; against: one that
    refutes it. The interview's strongest excerpt on the theory (an outcome code first,
    then a mechanism, the longest; re-checked by ``safe_quote``), the interview with
    most codes on the theory first; attributed as
    :func:`~hubspoke.analysis.realist.quotes.quote_role` allows, never to a service.
    ``checked``: excerpts already checked by ``safe_quote`` with no names or places added
    (:func:`~hubspoke.analysis.realist.cmo.checked_quotes`).
    """
    by = theory.context_dimension
    placed = judged[judged["theory_id"] == theory.id].merge(
        service_contexts(load.table(tables, "services"), load.table(tables, "spokes"),
                         by=by).astype("string"),
        on="service_id", how="left",
    )  # fmt: skip
    segments = _strongest_segments(codings, theory.id, checked)
    n_codes = (
        codings[codings["theory_id"].astype(str) == theory.id]
        .assign(transcript_id=lambda d: d["transcript_id"].astype(str))
        .groupby("transcript_id")["code_id"]
        .nunique()
        .rename("n_codes")
    )
    candidates = (
        placed.assign(transcript_id=placed["transcript_id"].astype(str))
        .merge(segments.loc[:, ["transcript_id", "quote"]], on="transcript_id")
        .join(n_codes, on="transcript_id")
    )
    candidates = candidates[candidates["judgement"].isin(list(SIDES))]
    candidates = _attributed(
        candidates.rename(columns={"excerpt": "_e"}), tables, cache
    ).sort_values(["n_codes", "transcript_id"], ascending=[False, True])
    picked = candidates.drop_duplicates([by, "judgement"])
    if picked.empty:
        return None
    order = {c: i for i, c in enumerate(_context_order(by, picked[by]))}
    picked = picked.assign(_c=picked[by].map(order), _s=picked["judgement"].map(
        {j: i for i, j in enumerate(SIDES)})).sort_values(["_c", "_s"])  # fmt: skip
    frame = pd.DataFrame(
        {
            "Context": picked[by].astype(str).to_numpy(),
            "Side": [f"{SIDES[j]} ({j})" for j in picked["judgement"]],
            "Quote": [f"\u201c{q}\u201d" for q in picked["quote"].astype(str)],
            "Said by": picked["said_by"].astype(str).to_numpy(),
        },
        index=pd.Index([f"Quote {k + 1}" for k in range(len(picked))], name="Rank"),
    )
    return Table(
        frame,
        family=QUOTES_FAMILY,
        rows="quote",
        columns={c: Text(f"verdict_quote_{k}") for k, c in enumerate(frame.columns)},
        scope={"theory_id": theory.id, "quotes": "for and against", "time_period": time_period},
        total_row=None,
    )


#: Counts an outcome indicator is computed from, by the release's identities, for the
#: joint display's calls (numerator, then the count it is over). An indicator not
#: listed has no published source: its calls are hidden.
INDICATOR_SOURCES: Final[Mapping[str, tuple[Count, ...]]] = {
    "2.1": (
        Count("young_people", dims={"risk_change": "Reduced"}),
        Count("risk_assessed"),
    ),
    "3.1": (Count("planned_endings"), Count("episodes_closed")),
}


def joint_table(
    tables: Mapping[str, pd.DataFrame],
    *,
    theories: Sequence[Theory],
    time_period: str,
    indicator_table: pd.DataFrame | None = None,
    joint_rows: pd.DataFrame | None = None,
) -> Table:
    """Services by theories: the joint-display call on each theory's main indicator, all years.

    Each call is text from the service's interview counts on the theory (published by
    :func:`service_interview_table`) and the counts its indicator comes from
    (:data:`INDICATOR_SOURCES`); it is hidden wherever one of them is.
    ``indicator_table``: the indicators per service over all years
    (``outcomes.indicators(tables, by=("service_id",))``), when the caller has them;
    ``joint_rows``: :func:`_joint_rows` of the same, when the caller has them (the joint
    display is then not computed again for this table).
    """
    main = {t.id: t.indicators[0] for t in theories}
    chosen = _joint_rows(tables, theories, indicator_table) if joint_rows is None else joint_rows
    wide = chosen.pivot_table(
        index="service_id", columns="theory_id", values="call", aggfunc="first"
    )
    wide = wide.reindex(
        index=load.service_order([s for s in wide.index if s != load.ALL_SERVICES]),
        columns=[t.id for t in theories],
    ).fillna("")
    wide.index.name = "Service"
    wide.columns.name = None
    columns: dict[Hashable, Column] = {}
    for theory in theories:
        interview_sources = []
        for j in ("Total", *JUDGEMENTS):
            name = f"_{theory.id}|{j}"
            columns[name] = Count(
                INTERVIEWS,
                unit="interviews",
                dims={"theory_id": theory.id, "judgement": None if j == "Total" else j},
            )
            interview_sources.append(name)
        indicator_sources = []
        for k, spec in enumerate(
            INDICATOR_SOURCES.get(
                main[theory.id],
                (Count("outcome_indicator_unpublished", dims={"indicator_id": main[theory.id]}),),
            )
        ):
            name = f"_{theory.id}|indicator{k}"
            columns[name] = spec
            indicator_sources.append(name)
        columns[theory.id] = Text(
            "joint_call",
            sources=(*interview_sources, *indicator_sources),
            dims={"theory_id": theory.id},
        )
    return Table(
        wide.astype(str),
        family=REALIST_FAMILY,
        rows="service_id",
        columns=columns,
        scope={"time_period": time_period},
        total_row=None,
    )


def service_interview_table(
    tables: Mapping[str, pd.DataFrame], *, theories: Sequence[str], time_period: str
) -> Table:
    """Per service (rows), interviews judging each theory, by judgement, over all years.

    The counts behind the joint display's qualitative side; ``Theory|judgement`` columns.
    """
    judged = _judgements(load.table(tables, "judgements"))
    services = load.service_order(sorted(set(judged["service_id"].astype(str))))
    columns: dict[Hashable, Column] = {}
    data: dict[str, list[int]] = {}
    equations = []
    for theory in theories:
        mine = judged[judged["theory_id"] == theory]
        counts = (
            mine.groupby(["service_id", "judgement"], observed=True)
            .size()
            .unstack("judgement", fill_value=0)
            .reindex(index=services, columns=list(JUDGEMENTS), fill_value=0)
        )
        name = f"{theory}: interviews"
        columns[name] = Count(INTERVIEWS, unit="interviews", dims={"theory_id": theory})
        data[name] = counts.sum(axis=1).astype(int).tolist()
        for j in JUDGEMENTS:
            columns[f"{theory}: {j}"] = Count(
                INTERVIEWS, unit="interviews", dims={"theory_id": theory, "judgement": j}
            )
            data[f"{theory}: {j}"] = counts[j].astype(int).tolist()
    frame = pd.DataFrame(data, index=pd.Index(services, name="Service"))
    table = Table(
        frame,
        family=REALIST_FAMILY,
        rows="service_id",
        columns=columns,
        scope={"time_period": time_period},
        total_row=None,
    )
    for service in services:
        for theory in theories:
            eq = {table.cell_id(service, f"{theory}: {j}"): 1.0 for j in JUDGEMENTS}
            eq[table.cell_id(service, f"{theory}: interviews")] = -1.0
            equations.append(eq)
    return Table(
        frame,
        family=REALIST_FAMILY,
        rows="service_id",
        columns=columns,
        scope={"time_period": time_period},
        total_row=None,
        extra_equations=tuple(equations),
    )


def _indicator_source_ids(
    indicator_id: str, service_id: str, time_period: str
) -> tuple[CellId, ...]:
    """The release counts an indicator's value comes from (:data:`INDICATOR_SOURCES`), for a service.

    An indicator not listed names a count no table publishes, so what derives from it is
    hidden from funders.
    """
    specs = INDICATOR_SOURCES.get(
        indicator_id,
        (Count("outcome_indicator_unpublished", dims={"indicator_id": indicator_id}),),
    )
    return tuple(
        CellId.of(s.indicator, **{"service_id": service_id, "time_period": time_period, **s.dims})
        for s in specs
    )


#: Columns of :func:`joint_values_table` that hold the indicator's numbers.
JOINT_NUMBERS: Final = ("Value", "n", "CI low", "CI high")


def _per_service(
    tables: Mapping[str, pd.DataFrame], indicator_table: pd.DataFrame | None
) -> pd.DataFrame:
    """The indicators per service over all years: ``indicator_table``, or computed."""
    if indicator_table is not None:
        return indicator_table
    return outcomes.indicators(tables, by=("service_id",))


def _joint_rows(
    tables: Mapping[str, pd.DataFrame],
    theories: Sequence[Theory],
    indicator_table: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """:func:`joint_display` over all years, each theory's main indicator, per service."""
    joint = joint_display(
        _per_service(tables, indicator_table),
        load.table(tables, "judgements"),
        theories=theories,
        contexts=_contexts_frame(tables),
    )
    main = {t.id: t.indicators[0] for t in theories}
    chosen = joint[
        (joint["indicator_id"].astype(str) == joint["theory_id"].astype(str).map(main))
        & (joint["service_id"].astype(str) != load.ALL_SERVICES)
    ]
    return chosen.reset_index(drop=True)


def joint_values_table(
    tables: Mapping[str, pd.DataFrame],
    *,
    theories: Sequence[Theory],
    time_period: str,
    indicator_table: pd.DataFrame | None = None,
    joint_rows: pd.DataFrame | None = None,
) -> Table:
    """The joint display with both sides, per service and theory (main indicator, all years).

    Quantitative side: the indicator's value (percent for proportions), n and 95% CI,
    each derived from the release counts it comes from (:data:`INDICATOR_SOURCES`;
    hidden when they are, and always for an indicator with no published source), and
    whether it met its threshold. Qualitative side: the interviews on the theory and
    their supports / refutes / refines (the cells of :func:`service_interview_table`)
    and the verdict. Then the call and its one-line reason, text sourced on all of them.
    ``indicator_table`` and ``joint_rows``: as for :func:`joint_table`.
    """
    joint = _joint_rows(tables, theories, indicator_table) if joint_rows is None else joint_rows
    rows: list[dict[str, object]] = []
    items: dict[tuple[Hashable, Hashable], tuple[Column, CellId | None]] = {}
    for rec in joint.to_dict("records"):
        service, theory = str(rec["service_id"]), str(rec["theory_id"])
        label = f"{service} {theory}"
        share = str(rec.get("kind")) == "proportion" or str(rec.get("unit")) == "proportion"
        scale = 100.0 if share else 1.0
        sources = _indicator_source_ids(str(rec["indicator_id"]), service, time_period)
        interview_ids = _count_ids({"service_id": service, "time_period": time_period}, theory)
        number = {
            "Value": rec["value"], "n": rec["n"], "CI low": rec["ci_low"], "CI high": rec["ci_high"]
        }  # fmt: skip
        rows.append(
            {
                "Row": label,
                "Service": service,
                "Theory": theory,
                "Context": "" if pd.isna(rec["context"]) else str(rec["context"]),
                "Indicator": str(rec["indicator_id"]),
                "Unit": "%" if share else ("" if pd.isna(rec["unit"]) else str(rec["unit"])),
                **{
                    k: (float(v) * (scale if k != "n" else 1.0) if pd.notna(v) else np.nan)
                    for k, v in number.items()
                },
                "Indicator side": str(rec["quantitative"]),
                "Interviews": int(rec["n_transcripts"]),
                **{JUDGEMENT_LABELS[j]: int(rec[j]) for j in JUDGEMENTS},
                "Interview verdict": str(rec["qualitative"]),
                "Call": str(rec["call"]),
                "Reason": str(rec["reason"]),
            }
        )
        dp = 0 if share else 1
        for k in JOINT_NUMBERS:
            items[(label, k)] = (
                Derived(f"joint_{k.lower().replace(' ', '_')}", sources=sources, unit="",
                        dp=0 if k == "n" else dp),
                None,
            )  # fmt: skip
        items[(label, "Indicator side")] = (Text("joint_indicator_side", sources=sources), None)
        spec = Count(INTERVIEWS, unit="interviews")
        counts = ["Interviews", *(JUDGEMENT_LABELS[j] for j in JUDGEMENTS)]
        items.update(
            {(label, c): (spec, cid) for c, cid in zip(counts, interview_ids, strict=True)}
        )
        items[(label, "Interview verdict")] = (
            Text("verdict_interviews", sources=interview_ids),
            None,
        )
        both = (*interview_ids, *sources)
        items[(label, "Call")] = (Text("joint_call", sources=both), None)
        items[(label, "Reason")] = (Text("joint_reason", sources=both), None)
    frame = pd.DataFrame(rows).set_index("Row")
    frame.index.name = "Service and theory"
    return _cell_table(frame, rows="joint_row", items=items, scope={"time_period": time_period})


def joint_chart_frame(shown: Shown) -> pd.DataFrame:
    """A funder view of :func:`joint_values_table` as the frame ``joint_display_chart`` draws.

    Values the view hides are missing (the chart draws the suppression symbol there),
    proportions back on the 0-1 scale; words hidden by the view are missing too.
    """
    table, hidden = shown.table, shown.hidden
    frame = table.frame
    share = frame["Unit"].eq("%")
    numbers = shown.visible
    words = frame.mask(hidden)
    theories = {t.id: t.label for t in load_theories()}
    dims = {t.id: t.context_dimension for t in load_theories()}

    def scaled(column: str) -> pd.Series:
        return numbers[column].where(~share, numbers[column] / 100.0)

    return pd.DataFrame(
        {
            "theory_id": frame["Theory"],
            "theory": frame["Theory"].map(theories),
            "context_dimension": frame["Theory"].map(dims),
            "context": frame["Context"].replace("", pd.NA),
            "service_id": frame["Service"],
            "year": pd.NA,
            "indicator_id": frame["Indicator"],
            "kind": pd.Series("proportion", index=frame.index, dtype="string").where(share),
            "unit": frame["Unit"].where(~share, "proportion").replace("", pd.NA),
            "value": scaled("Value"),
            "n": numbers["n"],
            "ci_low": scaled("CI low"),
            "ci_high": scaled("CI high"),
            "quantitative": words["Indicator side"],
            "n_transcripts": numbers["Interviews"],
            **{j: numbers[JUDGEMENT_LABELS[j]] for j in JUDGEMENTS},
            "qualitative": words["Interview verdict"],
            "call": words["Call"],
            "reason": words["Reason"],
        }
    ).reset_index(drop=True)


# --------------------------------------------------------------------------- who took part
#: Row of the participants table that adds up the roles.
ALL_ROLES: Final = "All roles"


def _interviews(tables: Mapping[str, pd.DataFrame], year: str) -> pd.DataFrame:
    """One row per interview of the period (coded or judged): transcript, role, year."""
    parts = [
        load.table(tables, name).loc[:, ["transcript_id", "respondent_role", "year"]]
        for name in ("codings", "judgements")
    ]
    frame = pd.concat(parts, ignore_index=True).astype(
        {"transcript_id": "string", "respondent_role": "string"}
    )
    frame = frame.assign(year=pd.to_numeric(frame["year"], errors="coerce").astype("Int64"))
    return _in_period(frame.drop_duplicates("transcript_id"), year)


def participants_table(tables: Mapping[str, pd.DataFrame], *, year: str, time_period: str) -> Table:
    """Interviews by respondent role (rows, with an all-roles total) and year (columns).

    For all years, the all-years column too: the years add up to it (an interview is in
    one year), declared as an equation.
    """
    interviews = _interviews(tables, year)
    wide = (
        interviews.assign(year=interviews["year"].astype(str))
        .groupby(["respondent_role", "year"]).size().unstack("year", fill_value=0)
    )  # fmt: skip
    roles = [r for r in RESPONDENT_ROLES if r in wide.index]
    years = sorted(wide.columns)
    frame = wide.reindex(index=roles, columns=years, fill_value=0).astype("int64")
    if str(year) == "all":
        frame[time_period] = frame.sum(axis=1)
    frame.loc[ALL_ROLES] = frame.sum(axis=0)
    frame.index.name = "Role"
    frame.columns.name = None
    columns: dict[Hashable, Column] = {
        c: Count(INTERVIEWS, unit="interviews", dims={"time_period": c}) for c in frame.columns
    }
    base = Table(frame, family=REALIST_FAMILY, rows="respondent_role", columns=columns,
                 total_row=ALL_ROLES)  # fmt: skip
    equations = []
    if str(year) == "all":
        for row in frame.index:
            eq = {base.cell_id(row, y): 1.0 for y in years}
            eq[base.cell_id(row, time_period)] = -1.0
            equations.append(eq)
    return Table(frame, family=REALIST_FAMILY, rows="respondent_role", columns=columns,
                 total_row=ALL_ROLES, extra_equations=tuple(equations))  # fmt: skip


def _double_judged(judgements: pd.DataFrame) -> int:
    """Interviews judged by two coders (the all-pairs row of :func:`judgement_agreement`)."""
    try:
        return double_judged(judgements)
    except SchemaError:
        return 0


def participation_table(
    tables: Mapping[str, pd.DataFrame], *, year: str, time_period: str
) -> Table:
    """How the interviews were used: coders, interviews, double-coded and double-judged shares.

    The interviews are the participants table's total; double-coded interviews the coding
    report's all-coders cell; double-judged ones the judgement-agreement all-pairs cell.
    """
    codings = _in_period(load.table(tables, "codings"), year)
    judgements = _in_period(load.table(tables, "judgements"), year)
    n = int(_interviews(tables, year)["transcript_id"].nunique())
    summary = coding_summary(codings) if not codings.empty else None
    double = 0 if summary is None else int(summary["n_double_coded"].iloc[-1])
    judged_twice = _double_judged(judgements)
    coders = (
        int(pd.concat([codings["coder"], judgements["coder"]]).astype("string").nunique())
        if "coder" in judgements.columns
        else int(codings["coder"].nunique())
    )
    row = "All interviews"
    frame = pd.DataFrame(
        {
            "Coders": [coders],
            "Interviews": [n],
            "Double-coded": [double],
            "% double-coded": [100.0 * double / n if n else np.nan],
            "Double-judged": [judged_twice],
            "% double-judged": [100.0 * judged_twice / n if n else np.nan],
        },
        index=pd.Index([row], name="Interviews"),
    )
    ids = {
        "Interviews": CellId.of(INTERVIEWS, time_period=time_period),
        "Double-coded": CellId.of("interviews_double_coded", coder="All coders",
                                  time_period=time_period),
        "Double-judged": CellId.of("interviews_double_judged", coder_pair=ALL_PAIRS,
                                   time_period=time_period),
    }  # fmt: skip
    spec = Count(INTERVIEWS, unit="interviews")
    items: dict[tuple[Hashable, Hashable], tuple[Column, CellId | None]] = {
        (row, "Coders"): (Figure("coders", unit="coders"), None),
        **{(row, c): (Count(cid.indicator, unit="interviews"), cid) for c, cid in ids.items()},
        (row, "% double-coded"): (
            Derived("pct_interviews_double_coded", sources=(ids["Double-coded"], ids["Interviews"])),
            None,
        ),
        (row, "% double-judged"): (
            Derived("pct_interviews_double_judged",
                    sources=(ids["Double-judged"], ids["Interviews"])),
            None,
        ),
    }  # fmt: skip
    del spec
    return _cell_table(frame, rows="participation", items=items, scope={"time_period": time_period})


# --------------------------------------------------------------------------- strengths, limitations
def limitations_table(
    tables: Mapping[str, pd.DataFrame],
    judgements: pd.DataFrame,
    *,
    theories: Sequence[Theory],
    time_period: str,
) -> Table:
    """Strengths and limitations read from the data: each a computed figure and what it means.

    Figures (about no one): the share of theory x own-context cells with too little
    evidence for a verdict, the refined or refuted contexts still awaiting an evaluator's
    statement, agreement between coders on judgements (kappa, alpha, 2 dp) and the share
    of codes whose agreement is below the 0.667 Krippendorff threshold.
    """
    verdicts = theory_verdicts(judgements, _contexts_frame(tables), theories=theories)
    cells = len(verdicts)
    too_little = float((verdicts["verdict"] == TOO_LITTLE).mean() * 100) if cells else np.nan
    open_cells = verdicts[verdicts["verdict"].isin([REFINED, REFUTED])]
    written = _refinements_data(tables)
    covered = (
        set()
        if written is None
        else set(zip(written["theory_id"].astype(str), written["context_value"].astype(str),
                     strict=True))
    )  # fmt: skip
    awaiting = sum(
        (str(t), str(c)) not in covered
        for t, c in zip(open_cells["theory_id"], open_cells["context"], strict=True)
    )
    try:
        agreement = judgement_agreement(judgements, n_boot=0, dp=2)
        pooled = agreement[agreement["coder_pair"] == ALL_PAIRS].iloc[0]
        kappa, alpha = float(pooled["kappa"]), float(pooled["alpha"])
    except (ParameterError, SchemaError):
        kappa = alpha = np.nan
    codes = _code_agreement(tables, year_codings=_period_codings(tables, judgements), n_boot=0)
    low = float((codes["alpha"] < KRIPPENDORFF_TENTATIVE).mean() * 100) if len(codes) else np.nan
    rows = [
        ("Theory and context cells with too little evidence", too_little, "%", 0,
         "Share of each theory's own contexts with fewer than "
         f"{MIN_JUDGEMENTS} judgements: no verdict is given there (a limitation)."),
        ("Refined or refuted contexts awaiting a statement", float(awaiting), "contexts", 0,
         f"Of {len(open_cells)} theory and context cells refined or refuted by the interviews, "
         "those where no evaluator has yet written a refined statement."),
        ("Agreement on judgements: Cohen's kappa", kappa, "", 2,
         "Two coders' supports / refutes / refines judgements on the same interviews, all "
         f"coder pairs pooled ({agreement_band(kappa)} on the Landis and Koch bands)."),
        ("Agreement on judgements: Krippendorff's alpha", alpha, "", 2,
         f"The same judgements ({agreement_band(alpha, scale='krippendorff')})."),
        ("Codes with Krippendorff's alpha below 0.667", low, "%", 0,
         "Share of codes whose double-coded segments agree too little for even tentative "
         "conclusions (a limitation of the coded evidence)."),
    ]  # fmt: skip
    frame = pd.DataFrame(
        {"Value": [r[1] for r in rows], "Unit": [r[2] for r in rows],
         "What it means": [r[4] for r in rows]},
        index=pd.Index([r[0] for r in rows], name="Strength or limitation"),
    )  # fmt: skip
    items: dict[tuple[Hashable, Hashable], tuple[Column, CellId | None]] = {
        (r[0], "Value"): (Figure(f"limitation_{k}", unit=r[2], dp=r[3]), None)
        for k, r in enumerate(rows)
    }
    return _cell_table(frame, rows="limitation", items=items, scope={"time_period": time_period})


#: RAMESES II items 14-20 (Wong et al. 2016) and where the synthesis answers each:
#: ``(item, section anchor or "", what the report says)``.
RAMESES_ITEMS: Final[Mapping[int, tuple[str, str, str]]] = {
    14: ("Details of participants", "participants",
         "Who took part (interviews by role and year) and how their data were used (coders, "
         "double coding and double judging)."),
    15: ("Main findings", "cmo",
         "CMO configurations from the codes with quotes; verdicts by context, role and year "
         "(#verdicts); evaluators' refinements with their evidence (#refinements); the joint "
         "display of indicators and interviews (#joint)."),
    16: ("Summary of findings", "summary",
         "Each theory's overall verdict and the verdicts by context."),
    17: ("Strengths, limitations and future research directions", "limitations",
         "Computed from the data: contexts with too little evidence, statements still awaited, "
         "agreement between coders. Future research directions are the evaluators' to write."),
    18: ("Comparison with existing literature", "",
         "Not from these data: comparing the findings with published research is the evaluators' "
         "narrative, outside this data-driven report."),
    19: ("Conclusion and recommendations", "refinements",
         "Only the evaluators' own refined statements are shown; recommendations are not drawn "
         "from these data and are the evaluators' to write."),
    20: ("Funding and conflict of interest", "",
         "Not from these data: funding and conflicts of interest are stated in the evaluation's "
         "final report. All data in this report are synthetic."),
}  # fmt: skip


def rameses_table() -> Table:
    """RAMESES II items 14-20: where this report answers each, or why it cannot (words only)."""
    frame = pd.DataFrame(
        {
            "Item": [v[0] for v in RAMESES_ITEMS.values()],
            "Where answered": [f"#{v[1]}" if v[1] else "not in this report" for v in
                               RAMESES_ITEMS.values()],
            "How": [v[2] for v in RAMESES_ITEMS.values()],
        },
        index=pd.Index([str(k) for k in RAMESES_ITEMS], name="RAMESES II item"),
    )  # fmt: skip
    return Table(
        frame,
        family="rameses",
        rows="rameses_number",
        columns={c: Text(f"rameses_{c.lower().replace(' ', '_')}") for c in frame.columns},
        total_row=None,
    )


# --------------------------------------------------------------------------- coding agreement
#: Bootstrap resamples behind the agreement intervals of the coding-quality report.
AGREEMENT_RESAMPLES: Final = 1000
#: Places agreement values are shown to (bands are read from the value as shown).
AGREEMENT_DP: Final = 2


def _period_codings(tables: Mapping[str, pd.DataFrame], judgements: pd.DataFrame) -> pd.DataFrame:
    """The codings of the judgements' years."""
    codings = load.table(tables, "codings")
    years = set(pd.to_numeric(judgements["year"], errors="coerce").dropna().astype(int))
    return codings[pd.to_numeric(codings["year"], errors="coerce").isin(years)]


def _code_agreement(
    tables: Mapping[str, pd.DataFrame], *, year_codings: pd.DataFrame, n_boot: int
) -> pd.DataFrame:
    """Per codable code of the codebook: agreement with intervals, 2 dp, bands as shown.

    Empty when no interview of these codings was coded twice.
    """
    book = load.table(tables, "codebook")
    book = book[book["cmo"].notna() & (book["cmo"].astype("string") != "")]
    book = book.assign(code_id=book["code_id"].astype("string"))
    try:
        stats = per_code_agreement(year_codings, codes=list(book["code_id"]), n_boot=n_boot,
                                   dp=AGREEMENT_DP)  # fmt: skip
    except ParameterError:
        return pd.DataFrame(columns=["code_id", "alpha"])
    out = stats.assign(code_id=stats["code_id"].astype("string")).merge(
        book.loc[:, ["code_id", "label", "cmo", "theory_id"]], on="code_id", how="left"
    )
    order = {t: i for i, t in enumerate(_theory_order(out["theory_id"].astype(str)))}
    return out.assign(_t=out["theory_id"].astype(str).map(order)).sort_values(["_t", "code_id"])


def judgement_agreement_table(judgements: pd.DataFrame, *, time_period: str) -> Table:
    """Agreement on supports / refutes / refines by coder pair and all pairs (Figures, 2 dp, CIs).

    Interviews double-judged per pair are counts; agreement statistics and their
    bootstrap intervals Figures; bands computed from the values as shown.
    """
    agreement = judgement_agreement(judgements, n_boot=AGREEMENT_RESAMPLES, dp=AGREEMENT_DP)
    frame = agreement.set_index("coder_pair").loc[:, [
        "n_transcripts", "n_pairs", "observed_agreement", "observed_agreement_low",
        "observed_agreement_high", "kappa", "kappa_low", "kappa_high", "kappa_band", "alpha",
        "alpha_low", "alpha_high", "alpha_band"]]  # fmt: skip
    frame = frame.assign(
        **{c: frame[c].astype(str) for c in ("kappa_band", "alpha_band")},
        **{c: frame[c].astype(float) for c in frame.columns if c not in ("kappa_band",
           "alpha_band", "n_transcripts")},
    )  # fmt: skip
    frame.index.name = "Coder pair"
    figure = {c: Figure(f"judgement_{c}", dp=AGREEMENT_DP) for c in frame.columns
              if c not in ("kappa_band", "alpha_band", "n_transcripts", "n_pairs")}  # fmt: skip
    return Table(
        frame,
        family=CODING_FAMILY,
        rows="coder_pair",
        columns={
            "n_transcripts": Count("interviews_double_judged", unit="interviews"),
            "n_pairs": Figure("judgement_units", unit="units"),
            **figure,
            "kappa_band": Text("judgement_kappa_band"),
            "alpha_band": Text("judgement_alpha_band"),
        },
        scope={"time_period": time_period},
        total_row=None,
        labels={
            "n_transcripts": "Interviews judged twice",
            "n_pairs": "Judgements compared",
            "observed_agreement": "Agreement",
            "observed_agreement_low": "Agreement, 95% CI low",
            "observed_agreement_high": "Agreement, 95% CI high",
            "kappa": "Kappa",
            "kappa_low": "Kappa, 95% CI low",
            "kappa_high": "Kappa, 95% CI high",
            "kappa_band": "Kappa band",
            "alpha": "Alpha",
            "alpha_low": "Alpha, 95% CI low",
            "alpha_high": "Alpha, 95% CI high",
            "alpha_band": "Alpha band",
        },
    )


def theories_table() -> Table:
    """The programme theories (words only)."""
    frame = theory_table().set_index("theory_id").astype(str)
    frame.index.name = "Programme theory"
    names = {
        "theory": "theory_label",
        "statement": "theory_statement",
        "context_dimension": "theory_context_dimension",
        "context": "theory_context",
        "indicator_ids": "theory_indicators",
    }
    return Table(
        frame,
        family="programme_theories",
        rows="theory_id",
        columns={c: Text(names.get(str(c), f"theory_{c}")) for c in frame.columns},
        total_row=None,
        labels={
            "theory": "Theory",
            "statement": "Statement",
            "context_dimension": "Context compared by",
            "context": "Context",
            "indicator_ids": "Indicators",
        },
    )


def realist_tables(
    tables: Mapping[str, pd.DataFrame],
    *,
    year: str | None = None,
    service_years: pd.DataFrame | None = None,
) -> dict[str, Table]:
    """Every table of the realist synthesis report.

    ``year``: one choice (``"2014"``... or ``"all"``) gives that report's tables by name
    (``theories``, ``model_variant:<context>``..., ``verdicts_model_variant``,
    ``verdicts_host_setting``, ``roles``, ``programme``, ``refined``, and for ``"all"``
    ``joint`` and ``service_interviews``); ``None`` gives every choice's, keyed
    ``"<choice>/<name>"`` (the release gathers them all). ``service_years``:
    :func:`hubspoke.analysis.outcomes.indicators` of every service-year, when the caller
    has it, so the joint display does not compute them again.
    """
    checks = _QuoteChecks.of(tables)  # every period quotes from the same excerpts
    if year is None:
        return {
            f"{choice}/{name}": table
            for choice in year_choices(tables)
            for name, table in _choice_tables(
                tables, choice, service_years=service_years, checks=checks
            ).items()
        }
    return _choice_tables(tables, year, service_years=service_years, checks=checks)


def _choice_tables(
    tables: Mapping[str, pd.DataFrame],
    year: str,
    *,
    service_years: pd.DataFrame | None,
    checks: _QuoteChecks,
) -> dict[str, Table]:
    """The realist synthesis report's tables for one year choice (see :func:`realist_tables`)."""
    choice = str(year).strip().lower()
    time_period = period_label(tables, choice)
    judged = _in_period(_judgements(load.table(tables, "judgements")), choice)
    loaded = load_theories()
    theories = _theory_order([*(t.id for t in loaded), *judged["theory_id"]])
    out: dict[str, Table] = {"theories": theories_table()}
    for by in ("model_variant", "host_setting"):
        context = context_tables(tables, judged, by=by, time_period=time_period, theories=theories)
        out.update(context)
        scopes = context_scopes(tables, judged, by=by, time_period=time_period)
        out[f"verdicts_{by}"] = verdict_matrix(context, scopes, time_period=time_period)
    out["roles"] = role_table(judged, theories=theories, time_period=time_period)
    out["programme"] = judgement_table(
        judged, theories=theories, scope={"time_period": time_period}, family=REALIST_FAMILY
    )
    out["refined"] = refined_table(tables, judged, theories=loaded, time_period=time_period)
    out.update(
        _synthesis_tables(tables, choice, theories=loaded, time_period=time_period, checks=checks)
    )
    if choice == "all":
        out["service_interviews"] = service_interview_table(
            tables, theories=theories, time_period=time_period
        )
        per_service = outcomes.indicators(
            tables, by=("service_id",), service_years=service_years
        )  # shared by both sides of the joint display
        rows = _joint_rows(tables, loaded, per_service)  # both tables show the same rows
        out["joint"] = joint_table(
            tables, theories=loaded, time_period=time_period, joint_rows=rows
        )
        out["joint_values"] = joint_values_table(
            tables, theories=loaded, time_period=time_period, joint_rows=rows
        )
        years = [int(y) for y in year_choices(tables) if y != "all"]
        if years:
            out["stages"] = stage_table(
                judged, theories=theories, years=years, time_period=time_period
            )
    return out


def _synthesis_tables(
    tables: Mapping[str, pd.DataFrame],
    choice: str,
    *,
    theories: Sequence[Theory],
    time_period: str,
    checks: _QuoteChecks,
) -> dict[str, Table]:
    """The tables an evaluator signs: CMO configurations and quotes, verdicts to inspect,
    refinements, who took part, strengths and limitations, RAMESES II items.

    ``checks``: every excerpt's ``safe_quote``, computed once for all the quotes.
    """
    judgements = _in_period(_checked(load.table(tables, "judgements")), choice)
    judged = _judgements(judgements)
    codings = _in_period(load.table(tables, "codings"), choice)
    contexts = _contexts_frame(tables)
    labels = _codebook_labels(tables)
    scopes = _own_scopes(tables, judged, theories=theories, time_period=time_period)
    years = sorted({int(y) for y in judged["year"].dropna()})
    year_scopes = {
        y: _own_scopes(tables, judged[judged["year"] == y], theories=theories, time_period=str(y))
        for y in years
    }
    config = cmo_configurations(codings, judgements, contexts, theories=theories,
                                codebook=load.table(tables, "codebook"))  # fmt: skip
    cache = checks.people
    quotes = _theory_quotes(tables, codings, theories, contexts=contexts, checked=checks.cmo)
    out: dict[str, Table] = {}
    for theory in theories:
        own = scopes[theory.context_dimension]
        mine = quotes[quotes["theory_id"].astype(str) == theory.id].reset_index(drop=True)
        found = {
            f"cmo:{theory.id}": cmo_table(config, theory=theory, scopes=own, labels=labels,
                                          time_period=time_period),
            f"cmo_quotes:{theory.id}": cmo_quotes_table(tables, codings, theory=theory,
                                                        labels=labels, cache=cache,
                                                        time_period=time_period, checked=checks.cmo,
                                                        contexts=contexts, quotes=mine),
            f"judged:{theory.id}": judged_table(
                tables, judged, theory=theory, time_period=time_period, scopes=own,
                year_scopes={y: s[theory.context_dimension] for y, s in year_scopes.items()},
            ),
            f"verdict_quotes:{theory.id}": verdict_quotes_table(
                tables, judged, codings, theory=theory, cache=cache, time_period=time_period,
                checked=checks.plain,
            ),
        }  # fmt: skip
        out.update({k: v for k, v in found.items() if v is not None})
    refinements = refinements_table(
        tables,
        judgements,
        theories=theories,
        time_period=time_period,
        checked=checks.plain,
    )
    if refinements is not None:
        out["refinements"] = refinements
    out["participants"] = participants_table(tables, year=choice, time_period=time_period)
    out["participation"] = participation_table(tables, year=choice, time_period=time_period)
    out["limitations"] = limitations_table(tables, judgements, theories=theories,
                                           time_period=time_period)  # fmt: skip
    out["rameses"] = rameses_table()
    return out


def _checked(judgements: pd.DataFrame) -> pd.DataFrame:
    """Every judgement row (main and agreement) with a numeric year."""
    return judgements.assign(
        year=pd.to_numeric(judgements["year"], errors="coerce").astype("Int64")
    )


# --------------------------------------------------------------------------- coding quality
def coder_table(codings: pd.DataFrame, *, time_period: str) -> Table:
    """Interviews coded and double-coded per coder (and all coders), with segments per interview."""
    summary = coding_summary(codings).set_index("coder")
    summary.index.name = "Coder"
    frame = pd.DataFrame(
        {
            "n_transcripts": summary["n_transcripts"].astype("int64"),
            "n_double_coded": summary["n_double_coded"].astype("int64"),
            "share_double_coded": (summary["share_double_coded"].astype(float) * 100),
            "n_segments": summary["n_segments"].astype("int64"),
            "segments_per_transcript": summary["segments_per_transcript"].astype(float),
        }
    )
    return Table(
        frame,
        family=CODING_FAMILY,
        rows="coder",
        columns={
            "n_transcripts": Count("interviews_coded", unit="interviews"),
            "n_double_coded": Count("interviews_double_coded", unit="interviews"),
            "share_double_coded": Derived(
                "pct_interviews_double_coded", sources=("n_double_coded", "n_transcripts")
            ),
            "n_segments": Figure("coded_segments", unit="segments"),
            "segments_per_transcript": Derived(
                "mean_segments_per_interview", sources=("n_transcripts",), unit="segments", dp=1
            ),
        },
        scope={"time_period": time_period},
        total_row=None,
        labels={
            "n_transcripts": "Interviews coded",
            "n_double_coded": "Double-coded",
            "share_double_coded": "% double-coded",
            "n_segments": "Coded segments",
            "segments_per_transcript": "Segments per interview",
        },
    )


def agreement_table(
    tables: Mapping[str, pd.DataFrame], *, time_period: str, n_boot: int = AGREEMENT_RESAMPLES
) -> Table:
    """Agreement between coders per code: statistics and bootstrap 95% CIs as Figures (2 dp,
    bands read from the values shown), double-coded interviews as a Count."""
    quality = _code_agreement(tables, year_codings=load.table(tables, "codings"), n_boot=n_boot)
    quality = quality.set_index("code_id")
    quality.index.name = "Code"
    stats = [f"{v}{end}" for v in ("percent_agreement", "kappa", "alpha")
             for end in ("", "_low", "_high")]  # fmt: skip
    frame = quality.assign(
        **{c: quality[c].astype("string").fillna("") for c in ("theory_id", "label", "cmo")},
        **{c: quality[c].astype(str) for c in ("kappa_band", "alpha_band")},
        **{c: pd.to_numeric(quality[c], errors="coerce").astype(float)
           for c in (*stats, "n_units", "n_units_coded")},
    ).loc[:, ["theory_id", "label", "cmo", "n_transcripts", "n_units", "n_units_coded",
              *stats[:3], *stats[3:6], "kappa_band", *stats[6:], "alpha_band"]]  # fmt: skip
    names = {"percent_agreement": ("percent_agreement", "Agreement"),
             "kappa": ("cohen_kappa", "Kappa"), "alpha": ("krippendorff_alpha", "Alpha")}  # fmt: skip
    columns: dict[Hashable, Column] = {
        "theory_id": Text("code_theory"),
        "label": Text("code_label"),
        "cmo": Text("code_cmo"),
        "n_transcripts": Count("interviews_double_coded", unit="interviews"),
        "n_units": Figure("agreement_units", unit="units"),
        "n_units_coded": Figure("agreement_units_coded", unit="units"),
        "kappa_band": Text("cohen_kappa_band"),
        "alpha_band": Text("krippendorff_alpha_band"),
    }
    labels: dict[Hashable, str] = {
        "theory_id": "Theory", "label": "Code", "cmo": "CMO",
        "n_transcripts": "Double-coded interviews", "n_units": "Units compared",
        "n_units_coded": "Units coded", "kappa_band": "Kappa band", "alpha_band": "Alpha band",
    }  # fmt: skip
    for stat, (indicator, label) in names.items():
        unit = "%" if stat == "percent_agreement" else ""
        for end, words in (("", ""), ("_low", ", 95% CI low"), ("_high", ", 95% CI high")):
            columns[f"{stat}{end}"] = Figure(f"{indicator}{end}", unit=unit, dp=AGREEMENT_DP)
            labels[f"{stat}{end}"] = f"{label}{words}"
    return Table(
        frame,
        family=CODING_FAMILY,
        rows="code_id",
        columns=columns,
        scope={"time_period": time_period},
        total_row=None,
        labels=labels,
    )


def reconciliation_table(reconciliation: pd.DataFrame) -> Table:
    """Raw rows per processed table and what cleaning did with them (counts of records).

    Rows in = clean + quarantined + merged duplicates is an equation wherever it holds,
    so a small number of set-aside rows cannot be worked out from the others.
    """
    summary = reconciliation_summary(reconciliation)
    summary.index.name = "Table"
    frame = summary.assign(
        files=summary["files"].astype("int64"),
        failed_files=summary["failed_files"].astype("int64"),
        reconciles=summary["reconciles"].astype(str),
        **{c: summary[c].astype("Int64").astype(float) for c in ROW_OUTCOMES},
    )
    columns: dict[Hashable, Column] = {
        "files": Figure("raw_files", unit="files"),
        "failed_files": Figure("raw_files_failed", unit="files"),
        **{
            c: Count(RAW_ROWS, unit="records", dims={"row_outcome": o})
            for c, o in ROW_OUTCOMES.items()
        },
        "reconciles": Text("raw_rows_reconcile", sources=tuple(ROW_OUTCOMES)),
    }
    base = Table(frame, family=CODING_FAMILY, rows="source_table", columns=columns, total_row=None)
    equations = []
    for row in frame.index:
        if frame.loc[row, "reconciles"] == "yes":
            eq = {base.cell_id(row, c): 1.0 for c in ROW_OUTCOMES if c != "rows_in"}
            eq[base.cell_id(row, "rows_in")] = -1.0
            equations.append(eq)
    return Table(
        frame,
        family=CODING_FAMILY,
        rows="source_table",
        columns=columns,
        total_row=None,
        labels={
            "files": "Files",
            "failed_files": "Files that failed",
            "rows_in": "Rows in",
            "rows_clean": "Clean",
            "rows_quarantined": "Set aside",
            "rows_merged_duplicates": "Merged duplicates",
            "reconciles": "Adds up",
        },
        extra_equations=tuple(equations),
    )


def quarantine_table(quarantine: pd.DataFrame, reconciliation: pd.DataFrame) -> Table | None:
    """Rows set aside by processed table (rows) and kind of problem (columns), or None if none.

    A row with several problems counts once per kind, so kinds do not add up to the
    rows set aside; where a table's set-aside rows have one kind only, the two are tied
    by an equation (a reader sees the other kinds at 0).
    """
    if quarantine.empty:
        return None
    kinds = (
        quarantine.assign(problem=quarantine["reason"].map(problem_kind))
        .drop_duplicates(["table", "file", "sheet", "row", "problem"])
        .assign(table=lambda d: d["table"].astype(str))
    )
    wide = kinds.groupby(["table", "problem"]).size().unstack("problem", fill_value=0)
    frame = wide.astype("int64")
    frame.index.name = "Table"
    frame.columns.name = None
    table = Table(
        frame,
        family=CODING_FAMILY,
        rows="source_table",
        column_dim="problem",
        crosstab=Count(RAW_ROWS, unit="records", dims={"row_outcome": "quarantined"}),
        total_row=None,
        total_column=None,
    )
    set_aside = reconciliation_table(reconciliation)
    equations = []
    for row in frame.index:
        nonzero = [c for c in frame.columns if frame.loc[row, c] > 0]
        if len(nonzero) == 1 and row in set_aside.frame.index:
            equations.append(
                {
                    table.cell_id(row, nonzero[0]): 1.0,
                    set_aside.cell_id(row, "rows_quarantined"): -1.0,
                }
            )
    return Table(
        frame,
        family=CODING_FAMILY,
        rows="source_table",
        column_dim="problem",
        crosstab=Count(RAW_ROWS, unit="records", dims={"row_outcome": "quarantined"}),
        total_row=None,
        total_column=None,
        extra_equations=tuple(equations),
    )


def failed_files_table(reconciliation: pd.DataFrame) -> Table | None:
    """Raw files that could not be read, with the error (words only), or None if none."""
    failed = failed_files(reconciliation)
    if failed.empty:
        return None
    frame = failed.set_index("File").astype(str)
    return Table(
        frame,
        family=CODING_FAMILY,
        rows="raw_file",
        columns={"Why it failed": Text("raw_file_error")},
        total_row=None,
    )


def coding_quality_tables(tables: Mapping[str, pd.DataFrame]) -> dict[str, Table]:
    """Every table of the coding-quality report: ``coders``, ``agreement``, ``cleaning``,
    and when there are any ``problems`` (rows set aside) and ``failed_files``."""
    time_period = period_label(tables, "all")
    codings = load.table(tables, "codings")
    out = {
        "coders": coder_table(codings, time_period=time_period),
        "agreement": agreement_table(tables, time_period=time_period),
    }
    judgements = load.table(tables, "judgements")
    if "check" in judgements.columns and judgements["check"].astype("string").eq("agreement").any():
        out["judgement_agreement"] = judgement_agreement_table(judgements, time_period=time_period)
    reconciliation = tables.get("reconciliation")
    if reconciliation is not None and not reconciliation.empty:
        out["cleaning"] = reconciliation_table(reconciliation)
        failed = failed_files_table(reconciliation)
        if failed is not None:
            out["failed_files"] = failed
        quarantine = tables.get("quarantine")
        if quarantine is not None:
            problems = quarantine_table(quarantine, reconciliation)
            if problems is not None:
                out["problems"] = problems
    return out


# --------------------------------------------------------------------------- local context
def local_context_tables(
    tables: Mapping[str, pd.DataFrame], *, services: Iterable[str] | None = None
) -> dict[str, Table]:
    """The local-context rates (public statistics, Figures only): ``rates`` by areas and year.

    Rows are each chosen service's areas and England; columns are years (rate per
    10,000 children, 1 dp; missing where an area's count was suppressed at source).
    """
    chosen = load.table(tables, "services")
    if services is not None:
        wanted = set(services)
        chosen = chosen[chosen["service_id"].astype(str).isin(wanted)]
    rates = service_area_rates(load.table(tables, "context"), chosen)
    wide = rates_table(rates).astype(float)
    return {
        "rates": Table(
            wide,
            family=CONTEXT_FAMILY,
            rows="areas_of",
            columns={
                c: Figure(
                    "cse_assessment_rate_per_10k", unit="per 10,000", dp=1, dims={"rate_year": c}
                )
                for c in wide.columns
            },
            total_row=None,
        )
    }
