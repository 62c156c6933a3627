"""Evaluators' refinements beside the evidence they rest on, and the contexts still awaiting one.

A refinement is a statement an evaluator wrote about a theory in one context of the
theory's own dimension, with the transcripts (``T0012``) and coded segments
(``SG00012``) it rests on (the processed ``refinements`` table). :func:`refinement_evidence`
shows each statement as written beside every piece of its evidence (who said it, when,
how that interview was judged, and an excerpt), and lists, for every theory and context
where main judgements refine or refute the theory but no evaluator has written a
statement, the refining and refuting interviews awaiting one. Nothing here writes a
sentence: statements are the evaluators' own, statuses are fixed labels.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Final

import pandas as pd

from hubspoke.analysis.realist.cmo import _quotable, _segments
from hubspoke.analysis.realist.evidence import AWAITING_STATEMENT
from hubspoke.analysis.realist.inputs import (
    _checked_judgements,
    _cmo_label,
    _judgements,
    _own_context,
    _refinements,
    _require,
    _sort_contexts,
)
from hubspoke.analysis.realist.theories import Theory
from hubspoke.spec.vocab import JUDGEMENTS

#: Status of a row whose statement an evaluator wrote.
HAS_STATEMENT: Final = "evaluator's statement"
#: Status of a row listing evidence that awaits a statement.
AWAITING: Final = AWAITING_STATEMENT
#: Judgements that call for a refined statement.
CALLS_FOR_STATEMENT: tuple[str, ...] = ("refines", "refutes")
#: Evidence id forms: a transcript or a coded segment.
_TRANSCRIPT_ID = re.compile(r"T\d+")
_SEGMENT_ID = re.compile(r"SG\d+")
#: Which coded segment stands for an interview: outcome first, then mechanism, then context.
_CMO_PRIORITY = {"outcome": 0, "mechanism": 1, "context": 2}

_KEYS = ["theory_id", "context_dimension", "context"]
_COLUMNS = [*_KEYS, *JUDGEMENTS, "status", "refinement_id", "statement", "author",
            "written_on", "n_evidence", "evidence_id", "evidence_kind", "evidence_found",
            "transcript_id", "respondent_role", "year", "judgement", "excerpt"]  # fmt: skip


def _kind(evidence_id: str) -> str:
    """``transcript``, ``segment`` or ``unknown`` from the form of an evidence id."""
    if _SEGMENT_ID.fullmatch(evidence_id):
        return "segment"
    return "transcript" if _TRANSCRIPT_ID.fullmatch(evidence_id) else "unknown"


def _statement_rows(refined: pd.DataFrame) -> pd.DataFrame:
    """One row per refinement and evidence id, in the order the evaluator listed them."""
    ids = refined["evidence"].fillna("").str.split(";")
    n = refined["n_evidence"] if "n_evidence" in refined.columns else ids.map(len)
    rows = (
        refined.assign(evidence_id=ids, n_evidence=pd.to_numeric(n, errors="coerce"))
        .explode("evidence_id")
        .assign(evidence_id=lambda d: d["evidence_id"].astype("string").str.strip())
    )
    rows = rows[rows["evidence_id"].fillna("") != ""]
    return rows.rename(columns={"context_value": "context"}).assign(
        status=HAS_STATEMENT,
        evidence_kind=rows["evidence_id"].map(_kind).astype("string"),
        _order=rows.groupby(level=0).cumcount(),
    )


def _awaiting_rows(judged: pd.DataFrame, refined: pd.DataFrame) -> pd.DataFrame:
    """Refining and refuting interviews of every theory x context with no statement."""
    calls = judged[judged["judgement"].isin(CALLS_FOR_STATEMENT)]
    covered = refined.rename(columns={"context_value": "context"}).loc[:, _KEYS].drop_duplicates()
    open_cells = calls.merge(covered, on=_KEYS, how="left", indicator=True)
    open_cells = open_cells[open_cells["_merge"] == "left_only"]
    return pd.DataFrame(
        {
            **{k: open_cells[k].to_numpy() for k in _KEYS},
            "status": AWAITING,
            "evidence_id": open_cells["transcript_id"].to_numpy(),
            "evidence_kind": "transcript",
            "_order": 0,
        }
    ).astype({"evidence_id": "string", "evidence_kind": "string"})


def _codes(codings: pd.DataFrame) -> pd.DataFrame:
    """Codings with plain keys and CMO elements as words."""
    frame = _require(codings, ("transcript_id", "theory_id", "code_id", "cmo", "start", "end",
                               "excerpt"), "codings")  # fmt: skip
    return frame.assign(
        transcript_id=frame["transcript_id"].astype("string"),
        theory_id=frame["theory_id"].astype("string"),
        code_id=frame["code_id"].astype("string"),
        cmo=_cmo_label(frame["cmo"]),
    )


def _resolve(rows: pd.DataFrame, codes: pd.DataFrame) -> pd.DataFrame:
    """Each evidence row's transcript (a segment's via ``codings.segment_id``) and segment code."""
    transcripts = rows["evidence_id"].where(rows["evidence_kind"] == "transcript")
    if "segment_id" not in codes.columns:
        return rows.assign(transcript_id=transcripts.astype("string"), _segment_code=pd.NA)
    segments = (
        codes.assign(segment_id=codes["segment_id"].astype("string"))
        .drop_duplicates("segment_id")
        .set_index("segment_id")
    )
    is_segment = rows["evidence_kind"] == "segment"
    from_segment = rows["evidence_id"].where(is_segment).map(segments["transcript_id"])
    return rows.assign(
        transcript_id=transcripts.fillna(from_segment).astype("string"),
        _segment_code=rows["evidence_id"].where(is_segment).map(segments["code_id"]),
    )


def _meta(codings: pd.DataFrame, judgements: pd.DataFrame) -> pd.DataFrame:
    """Role and year of every interview in the codings or judgements."""
    parts = [
        f.loc[:, ["transcript_id", "respondent_role", "year"]].assign(
            transcript_id=lambda d: d["transcript_id"].astype("string"),
            respondent_role=lambda d: d["respondent_role"].astype("string"),
            year=lambda d: pd.to_numeric(d["year"], errors="coerce").astype("Int64"),
        )
        for f in (codings, judgements)
        if {"transcript_id", "respondent_role", "year"} <= set(f.columns)
    ]
    if not parts:
        return pd.DataFrame(columns=["transcript_id", "respondent_role", "year"])
    return pd.concat(parts, ignore_index=True).drop_duplicates("transcript_id")


def _excerpts(
    rows: pd.DataFrame,
    codes: pd.DataFrame,
    names: Iterable[str],
    places: Iterable[str],
    checked: Mapping[str, str] | None = None,
) -> pd.Series:
    """A checked excerpt per row: the cited segment's, or the interview's strongest on the theory.

    An interview's strongest segment on the theory: an outcome code first, then a
    mechanism, then a context, the longest; of two coders' spans the longer. Excerpts go
    through :func:`~hubspoke.analysis.realist.quotes.safe_quote`; a risky one is missing.
    """
    wanted = codes[codes["transcript_id"].isin(rows["transcript_id"].dropna())]
    segments = _quotable(_segments(wanted), names, places, checked).merge(
        wanted.loc[:, ["transcript_id", "code_id", "theory_id", "cmo"]].drop_duplicates(
            ["transcript_id", "code_id"]
        ),
        on=["transcript_id", "code_id"],
    )
    best = (
        segments.dropna(subset=["quote"])
        .assign(
            _p=lambda d: d["cmo"].map(_CMO_PRIORITY).fillna(3), _l=lambda d: d["quote"].str.len()
        )
        .sort_values(
            ["transcript_id", "theory_id", "_p", "_l"], ascending=[True, True, True, False]
        )
        .drop_duplicates(["transcript_id", "theory_id"])
        .set_index(["transcript_id", "theory_id"])["quote"]
    )
    cited = segments.set_index(["transcript_id", "code_id"])["quote"]
    by_code = pd.Series(
        [
            cited.get((t, c), pd.NA)
            for t, c in zip(rows["transcript_id"], rows["_segment_code"], strict=True)
        ],  # fmt: skip
        index=rows.index,
        dtype="string",
    )
    by_theory = pd.Series(
        [
            best.get((t, th), pd.NA)
            for t, th in zip(rows["transcript_id"], rows["theory_id"], strict=True)
        ],  # fmt: skip
        index=rows.index,
        dtype="string",
    )
    return by_code.where(rows["_segment_code"].notna(), by_theory)


def refinement_evidence(
    refinements: pd.DataFrame,
    codings: pd.DataFrame,
    judgements: pd.DataFrame,
    contexts: pd.DataFrame,
    *,
    theories: Sequence[Theory] | None = None,
    names: Iterable[str] = (),
    places: Iterable[str] = (),
    checked: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Every evaluator's statement beside its evidence, and the contexts awaiting a statement.

    ``refinements`` is the processed refinements table; a refinement on another context
    dimension than its theory's own is a :class:`~hubspoke.errors.SchemaError` naming
    ``context_dimension``. ``contexts`` places each service on both dimensions
    (:func:`~hubspoke.analysis.realist.evidence.service_context_table`). Only main
    judgements count.

    One row per piece of evidence:

    * for each refinement, one row per evidence id it cites (status
      :data:`HAS_STATEMENT`), with the statement exactly as written;
    * for each theory x context of its own dimension with refining or refuting main
      judgements and no statement, one row per refining or refuting interview (status
      :data:`AWAITING`, ``"awaiting an evaluator's statement"``; statement missing).

    Columns: ``theory_id, context_dimension, context``; ``supports, refutes, refines``
    (main judgements of the theory in that context, for reading the statement against);
    ``status, refinement_id, statement, author, written_on, n_evidence`` (missing on
    awaiting rows); ``evidence_id, evidence_kind`` (``transcript``, ``segment`` or
    ``unknown``), ``evidence_found`` (the id matched an interview: a segment id needs the
    codings' ``segment_id`` column), ``transcript_id, respondent_role, year, judgement``
    (the interview's main judgement on the theory), ``excerpt`` (the cited segment's, or
    the interview's strongest coded segment on the theory, re-checked by ``safe_quote``;
    missing when none or dropped as risky). ``checked``: excerpts already checked with the
    same ``names`` and ``places`` (:func:`~hubspoke.analysis.realist.cmo.checked_quotes`).
    """
    refined = _refinements(refinements, theories)
    judged = _own_context(_judgements(judgements), contexts, theories)
    codes = _codes(codings)
    rows = pd.concat([_statement_rows(refined), _awaiting_rows(judged, refined)], ignore_index=True)
    rows = _resolve(rows, codes)
    main = judged.loc[:, ["transcript_id", "theory_id", "judgement"]]
    rows = rows.merge(_meta(codes, _checked_judgements(judgements)), on="transcript_id",
                      how="left").merge(main, on=["transcript_id", "theory_id"], how="left")  # fmt: skip
    known = set(codes["transcript_id"].dropna()) | set(judged["transcript_id"].dropna())
    rows = rows.assign(
        evidence_found=rows["transcript_id"].isin(known),
        excerpt=_excerpts(rows, codes, names, places, checked),
    )
    cells = _cell_counts(judged)
    out = rows.merge(cells, on=_KEYS, how="left").fillna({j: 0 for j in JUDGEMENTS})
    out = out.astype({j: "int64" for j in JUDGEMENTS}).assign(
        _s=lambda d: (d["status"] != HAS_STATEMENT).astype(int),
        refinement_id=lambda d: d["refinement_id"].astype("string"),
    )
    ordered = _sort_contexts(out, ["_s", "refinement_id", "_order", "evidence_id"])
    return ordered.loc[:, _COLUMNS].astype(
        {
            "status": "string",
            "judgement": "string",
            "evidence_found": "bool",
            "n_evidence": "Int64",
        }  # fmt: skip
    )


def _cell_counts(judged: pd.DataFrame) -> pd.DataFrame:
    """Supports / refutes / refines of main judgements per theory x own context."""
    counts = (
        judged.assign(judgement=pd.Categorical(judged["judgement"], categories=JUDGEMENTS))
        .groupby([*_KEYS, "judgement"], observed=False)
        .size()
        .unstack("judgement", fill_value=0)
        .reindex(columns=list(JUDGEMENTS), fill_value=0)
        .reset_index()
    )
    counts.columns.name = None
    return counts.astype({k: "string" for k in _KEYS})
