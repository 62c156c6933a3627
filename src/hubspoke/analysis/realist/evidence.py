"""Where the interview evidence points: each theory by context, by respondent and refined.

From the processed ``judgements`` (one main judgement per transcript and theory) and
``codings``:

* :func:`service_context_table` - each service's value on both context dimensions;
* :func:`theory_context_matrix` - supports / refutes / refines per theory and context
  (by default each theory's own dimension: PT1 and PT4 host setting, the others model
  variant) with a verdict per cell (:data:`VERDICT_RULE`);
* :func:`evidence_counts` - transcripts and coded segments per theory by role and year;
* :func:`refined_theories` - each theory with the contexts where it was refined or
  refuted, and the evaluators' statements on them (never a sentence filled from a
  template: a context without a statement says it awaits one);

and their display forms (:func:`matrix_wide`, :func:`role_evidence_table`,
:func:`refined_display`). Interview counts for small respondent groups can point to a
person: pass them through :func:`hubspoke.present.display.table` with ``count_columns``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import pandas as pd

from hubspoke.analysis.cross_site import host_labels
from hubspoke.analysis.cross_site.memo import FrameMemo
from hubspoke.analysis.realist.inputs import (
    MIXED_HOST as MIXED_HOST,
)
from hubspoke.analysis.realist.inputs import (
    _context_order,
    _judgements,
    _refinements,
    _require,
    _theories,
)
from hubspoke.analysis.realist.theories import (
    CONTEXT_DIMENSIONS,
    Theory,
    _theory_order,
)
from hubspoke.analysis.realist.verdicts import (
    CONTESTED,
    REFINED,
    REFUTED,
    TOO_LITTLE,
    _tally,
    _with_verdicts,
    theory_verdicts,
)
from hubspoke.errors import ParameterError
from hubspoke.spec.vocab import JUDGEMENTS, RESPONDENT_ROLES

#: What a refined or refuted context shows until an evaluator has written a statement.
AWAITING_STATEMENT = "awaiting an evaluator's statement"


def service_contexts(
    services: pd.DataFrame, spokes: pd.DataFrame | None = None, *, by: str = "model_variant"
) -> pd.DataFrame:
    """Per service its context value: ``model_variant``, or ``host_setting`` (main host; a tie is "Mixed")."""
    if by not in CONTEXT_DIMENSIONS:
        raise ParameterError(
            "unknown context dimension", column="by", allowed=CONTEXT_DIMENSIONS, found=by
        )
    if by == "model_variant":
        frame = _require(services, ("service_id", "model_variant"), "services")
        return pd.DataFrame(
            {
                "service_id": frame["service_id"].astype("string").to_numpy(),
                "model_variant": frame["model_variant"].astype("string").to_numpy(),
            }
        )
    if spokes is None:
        raise ParameterError(
            "comparing by host setting needs the spokes table", column="spokes", found=None
        )
    _require(spokes, ("service_id", "host_setting"), "spokes")
    labels = _HOSTS.get([spokes])
    if labels is None:
        found = host_labels(spokes).loc[:, ["service_id", "host_setting"]].astype("string")
        labels = _HOSTS.put([spokes], (), found)
    return labels.copy()


#: Host-setting labels by the spokes frame they were read from
#: (:class:`~hubspoke.analysis.cross_site.memo.FrameMemo`): the realist synthesis asks
#: for the same frame's labels many times.
_HOSTS: FrameMemo[pd.DataFrame] = FrameMemo()


def service_context_table(
    services: pd.DataFrame, spokes: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Per service both context values: ``service_id, model_variant, host_setting``.

    The ``contexts`` argument of the realist analyses (each theory is read in its own
    dimension). ``host_setting`` is the main host of the service's Spokes, a tie
    "Mixed" (:func:`service_contexts`); without ``spokes`` the column is left out, so a
    host-setting theory then fails naming it.
    """
    table = service_contexts(services, by="model_variant")
    if spokes is None:
        return table
    return table.merge(service_contexts(services, spokes, by="host_setting"), on="service_id",
                       how="left")  # fmt: skip


# --------------------------------------------------------------------------- theory x context
def theory_context_matrix(
    judgements: pd.DataFrame,
    services: pd.DataFrame,
    spokes: pd.DataFrame | None = None,
    *,
    by: Literal["model_variant", "host_setting"] | None = None,
    form: Literal["long", "wide"] = "long",
    theories: Sequence[Theory] | None = None,
) -> pd.DataFrame:
    """Supports / refutes / refines per theory and context, with a verdict per cell.

    ``by=None`` (default) reads each theory in its own context dimension
    (``Theory.context_dimension``: PT1 and PT4 host setting, needing ``spokes``; the
    others model variant). ``by="model_variant"`` or ``"host_setting"`` puts every theory
    in that one dimension (to compare, not to judge a theory by). Only main judgements
    count. Every theory judged appears with every context of the services table, so
    empty cells show as "too little evidence".

    ``form="long"``: one row per theory and context: ``theory_id, <context>, supports,
    refutes, refines, n_judgements, share_supports, share_refutes, share_refines,
    modal_judgement, verdict``, where ``<context>`` is the column ``by`` or, for
    ``by=None``, the two columns ``context_dimension, context``. ``form="wide"``:
    theories as rows, contexts as columns, each cell ``"<verdict> (n=<judgements>)"``
    (with ``by=None`` a theory's cells outside its own dimension are empty).
    """
    if form not in ("long", "wide"):
        raise ParameterError(
            "unknown table form", column="form", allowed=["long", "wide"], found=form
        )
    if by is None:
        own = _own_dimension_matrix(judgements, services, spokes, theories=theories)
        return own if form == "long" else matrix_wide(own, by="context")
    frame = _judgements(judgements)
    contexts = service_contexts(services, spokes, by=by)
    placed = frame.merge(contexts, on="service_id", how="left")
    unplaced = placed[by].isna()
    if unplaced.any():
        raise ParameterError(
            "judgement for a service not in the services table",
            column="service_id",
            found=str(placed.loc[unplaced, "service_id"].iloc[0]),
        )
    order = _context_order(by, contexts[by])
    grid = pd.MultiIndex.from_product(
        [_theory_order(frame["theory_id"]), order], names=["theory_id", by]
    ).to_frame(index=False)
    counts = (
        grid.astype("string")
        .merge(
            _tally(placed, ["theory_id", by]).astype({by: "string"}),
            on=["theory_id", by],
            how="left",
        )
        .fillna({j: 0 for j in JUDGEMENTS})
        .loc[:, ["theory_id", by, *JUDGEMENTS]]
    )
    long = _with_verdicts(counts).assign(
        **{by: lambda d: pd.Categorical(d[by], categories=order, ordered=True)}
    )
    return long if form == "long" else matrix_wide(long, by=by)


def _own_dimension_matrix(
    judgements: pd.DataFrame,
    services: pd.DataFrame,
    spokes: pd.DataFrame | None,
    *,
    theories: Sequence[Theory] | None,
) -> pd.DataFrame:
    """:func:`theory_verdicts` with contexts from the services (and spokes) tables."""
    frame = _judgements(judgements)
    dims = {t.id: t.context_dimension for t in _theories(theories)}
    needs_hosts = any(dims.get(str(t)) == "host_setting" for t in frame["theory_id"].unique())
    if needs_hosts and spokes is None:
        raise ParameterError(
            "a host-setting theory (e.g. PT1) is read by host setting, which needs the spokes table",
            column="spokes",
            found=None,
        )
    contexts = service_context_table(services, spokes if needs_hosts else None)
    return theory_verdicts(frame, contexts, theories=theories)


def matrix_wide(long: pd.DataFrame, *, by: str = "model_variant") -> pd.DataFrame:
    """Wide display form of :func:`theory_context_matrix`: cell = ``"<verdict> (n=<judgements>)"``.

    ``by="context"`` for the own-dimension form: contexts in the order they first
    appear, a theory's cells outside its own dimension ``""``.
    """
    wide = (
        long.assign(cell=long["verdict"] + " (n=" + long["n_judgements"].astype("string") + ")")
        .pivot(index="theory_id", columns=by, values="cell")
        .rename_axis(index="Theory", columns=None)
    )
    if isinstance(long[by].dtype, pd.CategoricalDtype):
        return wide
    order = [str(c) for c in pd.unique(long[by].astype("string")) if pd.notna(c)]
    theories = [str(t) for t in pd.unique(long["theory_id"].astype("string"))]
    return wide.reindex(index=theories, columns=order).fillna("")


# --------------------------------------------------------------------------- evidence counts
_EVIDENCE_BY: tuple[str, ...] = ("respondent_role", "year", "service_id")


def _main_coding(codings: pd.DataFrame) -> pd.DataFrame:
    """Each transcript's codings by one coder: the one who applied most codes (ties: first by name).

    Double-coded transcripts would otherwise count their segments twice.
    """
    per_coder = (
        codings.groupby(["transcript_id", "coder"], observed=True)
        .size()
        .rename("n")
        .reset_index()
        .sort_values(["transcript_id", "n", "coder"], ascending=[True, False, True])
        .drop_duplicates("transcript_id")
    )
    return codings.merge(per_coder[["transcript_id", "coder"]], on=["transcript_id", "coder"])


def evidence_counts(
    codings: pd.DataFrame,
    judgements: pd.DataFrame,
    *,
    by: Sequence[str] = ("respondent_role", "year"),
) -> pd.DataFrame:
    """Transcripts, coded segments and judgements per theory by respondent role and year.

    Columns: ``theory_id, <by...>, n_transcripts`` (interviews with a judgement or a
    code on the theory), ``n_segments`` (coded segments, counting each transcript's
    main coder only), ``supports, refutes, refines``. Rows with nothing are left out.
    """
    by = list(by)
    bad = [b for b in by if b not in _EVIDENCE_BY]
    if bad:
        raise ParameterError(
            "cannot count evidence by this column", column="by", allowed=_EVIDENCE_BY, found=bad[0]
        )
    keys = ["theory_id", *by]
    codes = _require(codings, ("transcript_id", "coder", "theory_id", *by), "codings")
    judged = _require(_judgements(judgements), by, "judgements")
    norm = {
        "theory_id": "string",
        "transcript_id": "string",
        **{b: ("Int64" if b == "year" else "string") for b in by},
    }
    codes = codes.assign(**{c: codes[c].astype(t) for c, t in norm.items()})
    judged = judged.assign(**{c: judged[c].astype(t) for c, t in norm.items()})
    transcripts = (
        pd.concat([codes[[*keys, "transcript_id"]], judged[[*keys, "transcript_id"]]])
        .drop_duplicates()
        .groupby(keys, dropna=False)
        .size()
        .rename("n_transcripts")
    )
    segments = _main_coding(codes).groupby(keys, dropna=False).size().rename("n_segments")
    verdicts = (
        judged.groupby([*keys, "judgement"], dropna=False)
        .size()
        .unstack("judgement", fill_value=0)
        .reindex(columns=list(JUDGEMENTS), fill_value=0)
    )
    out = (
        pd.concat([transcripts, segments, verdicts], axis=1).fillna(0).astype("int64").reset_index()
    )
    out.columns.name = None
    out = out.assign(
        _t=out["theory_id"].map({t: i for i, t in enumerate(_theory_order(out["theory_id"]))})
    )
    if "respondent_role" in by:
        roles = [r for r in RESPONDENT_ROLES if r in set(out["respondent_role"].dropna())]
        out = out.assign(
            respondent_role=pd.Categorical(out["respondent_role"], categories=roles, ordered=True)
        )
    return out.sort_values(["_t", *by]).drop(columns="_t").reset_index(drop=True)


# --------------------------------------------------------------------------- refined theories
def _statements(
    refinements: pd.DataFrame | None, theory: Theory, dimension: str, contexts: Sequence[str]
) -> str:
    """The evaluators' statements on these contexts, as written, or that one is awaited.

    ``"<context>: <statement> (<refinement id>, <author>, <date>)"`` per statement,
    ``"<context>: awaiting an evaluator's statement"`` where none exists, joined by
    ``" | "``. Statements are written on the theory's own dimension only, so in any
    other dimension the text is ``""``.
    """
    if not contexts or dimension != theory.context_dimension:
        return ""
    mine = (
        refinements[refinements["theory_id"] == theory.id]
        if refinements is not None
        else pd.DataFrame(columns=["context_value"])
    )
    parts = []
    for context in contexts:
        found = mine[mine["context_value"] == context]
        parts += [
            f"{context}: {row.statement} ({row.refinement_id}, {row.author}, {row.written_on})"
            for row in found.itertuples()
        ] or [f"{context}: {AWAITING_STATEMENT}"]
    return " | ".join(parts)


def refined_theories(
    judgements: pd.DataFrame,
    theories: Sequence[Theory] | None = None,
    *,
    services: pd.DataFrame,
    spokes: pd.DataFrame | None = None,
    by: Literal["model_variant", "host_setting"] | None = None,
    refinements: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Each theory with its counts, the contexts where the evidence refines or refutes it,
    and what the evaluators wrote about them.

    Contexts come from :func:`theory_context_matrix` (verdict 'refined' or 'refuted');
    ``by=None`` (default) uses each theory's own ``context_dimension``. Columns:
    ``theory_id, theory, statement`` (the theory as stated), ``n_transcripts, supports,
    refutes, refines, verdict`` (main judgements over all contexts), ``refined_in,
    refuted_in, contested_in`` ('; '-separated), and ``refined_statement,
    refuted_statement``: the evaluators' statements from ``refinements`` (the processed
    refinements table) on those contexts, each as written with its id, author and date,
    or "<context>: awaiting an evaluator's statement" (:data:`AWAITING_STATEMENT`); ''
    when the theory was not refined (refuted) anywhere, or when ``by`` is not the
    theory's own dimension (statements are written on that dimension only). No text is
    made up from a template.
    """
    theories = _theories(theories)
    checked = None if refinements is None else _refinements(refinements, theories)
    frame = _judgements(judgements)
    overall = _tally(frame, ["theory_id"]).set_index("theory_id")
    matrices: dict[str, pd.DataFrame] = {}
    rows = []
    for theory in theories:
        dim = by or theory.context_dimension
        if dim not in matrices:
            matrices[dim] = theory_context_matrix(frame, services, spokes, by=dim)  # type: ignore[arg-type]
        cells = matrices[dim][matrices[dim]["theory_id"] == theory.id]

        def where(v: str, cells: pd.DataFrame = cells, dim: str = dim) -> list[str]:
            return [str(c) for c in cells.loc[cells["verdict"] == v, dim]]

        refined, refuted = where(REFINED), where(REFUTED)
        counts = overall.loc[theory.id] if theory.id in overall.index else None
        rows.append(
            {
                "theory_id": theory.id,
                "theory": theory.label,
                "statement": theory.statement,
                "n_transcripts": int(counts["n_judgements"]) if counts is not None else 0,
                **{j: int(counts[j]) if counts is not None else 0 for j in JUDGEMENTS},
                "verdict": str(counts["verdict"]) if counts is not None else TOO_LITTLE,
                "refined_in": "; ".join(refined),
                "refuted_in": "; ".join(refuted),
                "contested_in": "; ".join(where(CONTESTED)),
                "refined_statement": _statements(checked, theory, dim, refined),
                "refuted_statement": _statements(checked, theory, dim, refuted),
            }
        )
    return pd.DataFrame(rows)


def role_evidence_table(counts: pd.DataFrame) -> pd.DataFrame:
    """:func:`evidence_counts` (by role) as theories x respondent roles: interviews per cell, with totals."""
    wide = (
        counts.pivot_table(
            index="theory_id",
            columns="respondent_role",
            values="n_transcripts",
            aggfunc="sum",
            observed=True,
        )
        .fillna(0)
        .astype(int)
    )
    wide = wide.loc[:, (wide > 0).any()]
    wide.columns = [str(c) for c in wide.columns]
    wide["Total"] = wide.sum(axis=1)
    wide.index.name = "Programme theory"
    return wide


def refined_display(refined: pd.DataFrame) -> pd.DataFrame:
    """:func:`refined_theories` as a table to show: the theory, its verdict, where it was refined
    or refuted and the evaluators' statements there (or that one is awaited)."""
    out = (
        refined.set_index("theory_id")
        .loc[
            :,
            [
                "statement",
                "verdict",
                "refined_in",
                "refuted_in",
                "refined_statement",
                "refuted_statement",
            ],
        ]
        .rename(
            columns={
                "statement": "Theory",
                "verdict": "Verdict overall",
                "refined_in": "Refined in",
                "refuted_in": "Refuted in",
                "refined_statement": "Evaluators' statements (refined)",
                "refuted_statement": "Evaluators' statements (refuted)",
            }
        )
    )
    out.index.name = "Programme theory"
    return out
