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

from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Final

import pandas as pd

from hubspoke import load
from hubspoke.analysis import outcomes
from hubspoke.analysis.context import rates_table, service_area_rates
from hubspoke.analysis.quality import failed_files, problem_kind, reconciliation_summary
from hubspoke.analysis.realist.coding import coding_quality, coding_summary
from hubspoke.analysis.realist.evidence import _context_order, refined_theories, service_contexts
from hubspoke.analysis.realist.inputs import _judgements
from hubspoke.analysis.realist.joint import joint_display
from hubspoke.analysis.realist.theories import (
    CONTEXT_DIMENSIONS,
    Theory,
    _theory_order,
    load_theories,
    theory_table,
)
from hubspoke.analysis.realist.verdicts import TOO_LITTLE, _tally
from hubspoke.errors import ParameterError
from hubspoke.privacy.table import CellId, Column, Count, Derived, Figure, Table, Text
from hubspoke.spec.vocab import JUDGEMENTS, RESPONDENT_ROLES

#: Families (open-data files) of the tables built here.
REALIST_FAMILY: Final = "realist_synthesis"
EVIDENCE_FAMILY: Final = "service_interviews"
CODING_FAMILY: Final = "coding_quality"
CONTEXT_FAMILY: Final = "local_context"
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


def refined_table(
    tables: Mapping[str, pd.DataFrame],
    judged: pd.DataFrame,
    *,
    theories: Sequence[Theory],
    time_period: str,
    by: str = "model_variant",
) -> Table:
    """Each theory's statement, overall verdict and where the evidence refined or refuted it.

    Every text computed from counts lists them: the overall verdict its programme
    counts, the contexts and refined statement every context's counts of the theory.
    """
    from_evidence = _refined(tables, judged, theories=theories, by=by)
    scopes = context_scopes(tables, judged, by=by, time_period=time_period)
    context_sources = tuple(f"_{c}|{j}" for c in scopes for j in ("Total", *JUDGEMENTS))
    programme = {"programme": {"time_period": time_period}}
    columns: dict[Hashable, Column] = {
        **_virtual_counts(scopes),
        **_virtual_counts(programme),
        "Theory": Text("theory_statement"),
        "Verdict overall": Text(
            "verdict_interviews", sources=tuple(f"_programme|{j}" for j in JUDGEMENTS)
        ),
        "Refined in": Text("refined_in", sources=context_sources, dims={"context_dim": by}),
        "Refuted in": Text("refuted_in", sources=context_sources, dims={"context_dim": by}),
        "Refined statement": Text(
            "refined_statement", sources=context_sources, dims={"context_dim": by}
        ),
    }
    return Table(
        from_evidence,
        family=REALIST_FAMILY,
        rows="theory_id",
        columns=columns,
        scope={"time_period": time_period},
        total_row=None,
    )


def _refined(
    tables: Mapping[str, pd.DataFrame],
    judged: pd.DataFrame,
    *,
    theories: Sequence[Theory],
    by: str,
) -> pd.DataFrame:
    """The refined-theories frame (theory ids as index) for the funder table."""
    refined = refined_theories(
        judged,
        theories,
        services=load.table(tables, "services"),
        spokes=load.table(tables, "spokes"),
        by=by,  # type: ignore[arg-type]
    )
    out = refined.set_index("theory_id").loc[
        :, ["statement", "verdict", "refined_in", "refuted_in", "refined_statement"]
    ]
    out.columns = ["Theory", "Verdict overall", "Refined in", "Refuted in", "Refined statement"]
    out.index.name = "Programme theory"
    return out.astype(str)


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
) -> Table:
    """Services by theories: the joint-display call on each theory's main indicator, all years.

    Each call is text from the service's interview counts on the theory (published by
    :func:`service_interview_table`) and the counts its indicator comes from
    (:data:`INDICATOR_SOURCES`); it is hidden wherever one of them is.
    """
    joint = joint_display(
        outcomes.indicators(tables, by=("service_id",)), load.table(tables, "judgements")
    )
    main = {t.id: t.indicators[0] for t in theories}
    chosen = joint[joint["indicator_id"].astype(str) == joint["theory_id"].map(main)]
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
    tables: Mapping[str, pd.DataFrame], *, year: str | None = None
) -> dict[str, Table]:
    """Every table of the realist synthesis report.

    ``year``: one choice (``"2014"``... or ``"all"``) gives that report's tables by name
    (``theories``, ``model_variant:<context>``..., ``verdicts_model_variant``,
    ``verdicts_host_setting``, ``roles``, ``programme``, ``refined``, and for ``"all"``
    ``joint`` and ``service_interviews``); ``None`` gives every choice's, keyed
    ``"<choice>/<name>"`` (the release gathers them all).
    """
    if year is None:
        return {
            f"{choice}/{name}": table
            for choice in year_choices(tables)
            for name, table in realist_tables(tables, year=choice).items()
        }
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
    if choice == "all":
        out["service_interviews"] = service_interview_table(
            tables, theories=theories, time_period=time_period
        )
        out["joint"] = joint_table(tables, theories=loaded, time_period=time_period)
    return out


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


def agreement_table(codings: pd.DataFrame, codebook: pd.DataFrame, *, time_period: str) -> Table:
    """Agreement between coders per code: statistics as Figures (2 dp), interviews as a Count."""
    quality = coding_quality(codings, codebook).set_index("code_id")
    quality.index.name = "Code"
    frame = quality.assign(
        **{c: quality[c].astype("string").fillna("") for c in ("theory_id", "label", "cmo")},
        **{c: quality[c].astype(str) for c in ("kappa_band", "alpha_band")},
        **{
            c: pd.to_numeric(quality[c], errors="coerce").astype(float)
            for c in ("percent_agreement", "kappa", "alpha", "n_units", "n_units_coded")
        },
    )
    return Table(
        frame,
        family=CODING_FAMILY,
        rows="code_id",
        columns={
            "theory_id": Text("code_theory"),
            "label": Text("code_label"),
            "cmo": Text("code_cmo"),
            "n_transcripts": Count("interviews_double_coded", unit="interviews"),
            "n_units": Figure("agreement_units", unit="units"),
            "n_units_coded": Figure("agreement_units_coded", unit="units"),
            "percent_agreement": Figure("percent_agreement", unit="%", dp=2),
            "kappa": Figure("cohen_kappa", dp=2),
            "kappa_band": Text("cohen_kappa_band"),
            "alpha": Figure("krippendorff_alpha", dp=2),
            "alpha_band": Text("krippendorff_alpha_band"),
        },
        scope={"time_period": time_period},
        total_row=None,
        labels={
            "theory_id": "Theory",
            "label": "Code",
            "cmo": "CMO",
            "n_transcripts": "Double-coded interviews",
            "n_units": "Units compared",
            "n_units_coded": "Units coded",
            "percent_agreement": "Agreement",
            "kappa": "Kappa",
            "kappa_band": "Kappa band",
            "alpha": "Alpha",
            "alpha_band": "Alpha band",
        },
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
        "agreement": agreement_table(
            codings, load.table(tables, "codebook"), time_period=time_period
        ),
    }
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
