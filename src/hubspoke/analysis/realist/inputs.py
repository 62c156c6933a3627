"""Checks on the input tables shared by every realist computation.

:func:`_require` raises a :class:`~hubspoke.errors.SchemaError` naming the first
missing column; :func:`_judgements` also checks each judgement against the allowed
values, keeps only the judgements that count (``check == "main"``; every row of an
older frame without ``check``) and gives the keys plain string (and year Int64) types
so tables merge cleanly. :func:`_own_context` places rows of a theory in the context
of that theory's own dimension (PT1 and PT4 host setting, the others model variant),
so no theory is ever read against a context it is not about.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import pandas as pd

from hubspoke.analysis.realist.theories import (
    CONTEXT_DIMENSIONS,
    Theory,
    _theory_order,
    load_theories,
)
from hubspoke.errors import ParameterError, SchemaError
from hubspoke.spec.raw import REFINEMENTS_TABLE
from hubspoke.spec.vocab import CMO_ELEMENTS, HOST_SETTINGS, JUDGEMENTS, MODEL_VARIANTS

#: Label for pooled services (the same label as the outcome indicator table uses).
MIXED_HOST = "Mixed"
#: Values of the judgements' ``check`` column: the judgement that counts, and a second
#: coder's independent judgement kept only to measure agreement.
MAIN_CHECK, AGREEMENT_CHECK = "main", "agreement"
CHECKS: tuple[str, ...] = (MAIN_CHECK, AGREEMENT_CHECK)


def _require(frame: pd.DataFrame, columns: Iterable[str], table: str) -> pd.DataFrame:
    """The frame if it has every column, else a SchemaError naming the first one missing."""
    if not isinstance(frame, pd.DataFrame):
        raise SchemaError(
            f"{table} must be a table", allowed="pandas DataFrame", found=type(frame).__name__
        )
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SchemaError(
            f"{table}: required column missing", column=missing[0], found=list(frame.columns)
        )
    return frame


def _checked_judgements(judgements: pd.DataFrame) -> pd.DataFrame:
    """Every judgement row (main and agreement), keys as plain strings, values checked."""
    frame = _require(
        judgements, ("transcript_id", "service_id", "theory_id", "judgement"), "judgements"
    )
    values = frame["judgement"].astype("string")
    bad = ~values.isin(JUDGEMENTS)
    if bad.any():
        raise SchemaError(
            "judgements: unknown judgement",
            column="judgement",
            allowed=JUDGEMENTS,
            found=str(values[bad].iloc[0]),
        )
    out = frame.assign(
        transcript_id=frame["transcript_id"].astype("string"),
        service_id=frame["service_id"].astype("string"),
        theory_id=frame["theory_id"].astype("string"),
        judgement=values,
    )
    if "year" in out.columns:
        out = out.assign(year=pd.to_numeric(out["year"], errors="coerce").astype("Int64"))
    if "check" in out.columns:
        checks = out["check"].astype("string")
        wrong = ~checks.isin(CHECKS)
        if wrong.any():
            raise SchemaError(
                "judgements: unknown check",
                column="check",
                allowed=CHECKS,
                found=str(checks[wrong].iloc[0]),
            )
        out = out.assign(check=checks)
    return out


def _judgements(judgements: pd.DataFrame) -> pd.DataFrame:
    """The judgements that drive verdicts: the ``main`` rows (all rows when there is no ``check``).

    ``agreement`` rows are a second coder's judgement made only to measure agreement
    (:func:`hubspoke.analysis.agreement.judgement_agreement`); counting them would count
    an interview twice. A second main row for a transcript and theory is an error.
    """
    out = _checked_judgements(judgements)
    if "check" not in out.columns:
        return out
    main = out[out["check"] == MAIN_CHECK]
    twice = main.duplicated(["transcript_id", "theory_id"])
    if twice.any():
        row = main[twice].iloc[0]
        raise SchemaError(
            "judgements: more than one main judgement for a transcript and theory",
            column="check",
            allowed="one main row per transcript_id and theory_id",
            found=f"{row['transcript_id']} {row['theory_id']}",
        )
    return main.reset_index(drop=True)


# --------------------------------------------------------------------------- contexts
def _context_order(by: str, seen: Iterable[str]) -> list[str]:
    """Context values in their fixed order (model variants, host settings, then Mixed)."""
    fixed = list(MODEL_VARIANTS) if by == "model_variant" else [*HOST_SETTINGS, MIXED_HOST]
    seen = [str(s) for s in dict.fromkeys(seen) if pd.notna(s)]
    return [v for v in fixed if v in seen] + sorted(v for v in seen if v not in fixed)


def _theories(theories: Sequence[Theory] | None) -> tuple[Theory, ...]:
    """The theories given, or the packaged ones."""
    return tuple(load_theories() if theories is None else theories)


def _for_theories(
    frame: pd.DataFrame, theories: Sequence[Theory] | None, *, table: str
) -> pd.DataFrame:
    """Rows of the theories asked for; with the default theories an unknown theory is an error.

    Passing ``theories`` selects (rows of other theories are left out on purpose);
    without it every row must belong to a theory of the theories file.
    """
    ids = [t.id for t in _theories(theories)]
    known = frame["theory_id"].astype("string").isin(ids)
    if theories is None and not known.all():
        raise SchemaError(
            f"{table}: theory not in the theories file",
            column="theory_id",
            allowed=ids,
            found=str(frame.loc[~known, "theory_id"].iloc[0]),
        )
    return frame[known.to_numpy()]


def _context_long(contexts: pd.DataFrame, dimensions: Iterable[str]) -> pd.DataFrame:
    """``service_id, context_dimension, context`` for the dimensions needed."""
    dims = [d for d in CONTEXT_DIMENSIONS if d in set(dimensions)]
    frame = _require(contexts, ("service_id", *dims), "contexts")
    return (
        frame.assign(service_id=frame["service_id"].astype("string"))
        .melt(
            id_vars="service_id",
            value_vars=dims,
            var_name="context_dimension",
            value_name="context",
        )  # fmt: skip
        .astype({"context_dimension": "string", "context": "string"})
        .dropna(subset=["context"])
        .drop_duplicates(["service_id", "context_dimension"])
    )


def _own_context(
    frame: pd.DataFrame, contexts: pd.DataFrame, theories: Sequence[Theory] | None
) -> pd.DataFrame:
    """Rows with ``context_dimension`` (the theory's own) and ``context`` (the service's value on it).

    ``frame`` needs ``service_id`` and ``theory_id``; ``contexts`` one row per service with
    a column per dimension used (``model_variant``, ``host_setting``: see
    :func:`hubspoke.analysis.realist.evidence.service_context_table`). A service with no
    context is a :class:`~hubspoke.errors.ParameterError` naming it.
    """
    frame = _for_theories(frame, theories, table="judgements or codings")
    dims = {t.id: t.context_dimension for t in _theories(theories)}
    tagged = frame.assign(
        service_id=frame["service_id"].astype("string"),
        theory_id=frame["theory_id"].astype("string"),
        context_dimension=frame["theory_id"].astype("string").map(dims).astype("string"),
    )
    placed = tagged.merge(
        _context_long(contexts, set(tagged["context_dimension"].dropna()) or dims.values()),
        on=["service_id", "context_dimension"],
        how="left",
    )
    lost = placed["context"].isna()
    if lost.any():
        raise ParameterError(
            "a service has no context on the theory's dimension (not in the contexts table)",
            column="service_id",
            found=str(placed.loc[lost, "service_id"].iloc[0]),
        )
    return placed


def _context_grid(
    contexts: pd.DataFrame, theories: Sequence[Theory] | None, theory_ids: Iterable[str]
) -> pd.DataFrame:
    """Every theory with every context value of its own dimension: ``theory_id, context_dimension, context``."""
    wanted = set(map(str, theory_ids))
    chosen = [t for t in _theories(theories) if t.id in wanted]
    if not chosen:
        return pd.DataFrame(columns=["theory_id", "context_dimension", "context"], dtype="string")
    long = _context_long(contexts, {t.context_dimension for t in chosen})
    parts = [
        pd.DataFrame(
            {
                "theory_id": t.id,
                "context_dimension": t.context_dimension,
                "context": _context_order(
                    t.context_dimension,
                    long.loc[long["context_dimension"] == t.context_dimension, "context"],
                ),
            }
        )
        for t in chosen
    ]
    return pd.concat(parts, ignore_index=True).astype("string")


def _sort_contexts(frame: pd.DataFrame, extra: Sequence[str] = ()) -> pd.DataFrame:
    """Rows in theory order (PT2 before PT10), then context in its fixed order, then ``extra``."""
    theory_rank = {t: i for i, t in enumerate(_theory_order(frame["theory_id"].dropna()))}
    context_rank = {
        (dim, value): i
        for dim in CONTEXT_DIMENSIONS
        for i, value in enumerate(
            _context_order(dim, frame.loc[frame["context_dimension"] == dim, "context"])
        )
    }
    pairs = zip(frame["context_dimension"].astype(str), frame["context"].astype(str), strict=True)
    return (
        frame.assign(
            _t=frame["theory_id"].astype(str).map(theory_rank),
            _c=[context_rank.get(p, len(context_rank)) for p in pairs],
        )
        .sort_values(["_t", "_c", *extra], kind="stable")
        .drop(columns=["_t", "_c"])
        .reset_index(drop=True)
    )


# --------------------------------------------------------------------------- codes
#: C/M/O letters and the words themselves, to the words the processed tables use.
_CMO_WORDS: dict[str, str] = {
    **{k.lower(): v for k, v in CMO_ELEMENTS.items()},
    **{v: v for v in CMO_ELEMENTS.values()},
}


def _cmo_label(values: pd.Series) -> pd.Series:
    """CMO elements as words (``context``, ``mechanism``, ``outcome``), given as C/M/O or as words."""
    return values.astype("string").str.strip().str.lower().map(_CMO_WORDS).astype("string")


# --------------------------------------------------------------------------- refinements
REFINEMENT_COLUMNS: tuple[str, ...] = tuple(c.name for c in REFINEMENTS_TABLE.columns)


def _refinements(refinements: pd.DataFrame, theories: Sequence[Theory] | None) -> pd.DataFrame:
    """Evaluators' refinements of the theories asked for, each on its theory's own dimension.

    A refinement whose ``context_dimension`` is not its theory's own is a
    :class:`~hubspoke.errors.SchemaError` naming the column (a PT1 statement "in the
    Multi-host model" would be about a context PT1 is not about).
    """
    frame = _require(refinements, REFINEMENT_COLUMNS, "refinements")
    text = {c: frame[c].astype("string") for c in REFINEMENT_COLUMNS if c != "written_on"}
    frame = _for_theories(frame.assign(**text), theories, table="refinements")
    own = frame["theory_id"].map({t.id: t.context_dimension for t in _theories(theories)})
    wrong = (frame["context_dimension"] != own).fillna(True).astype(bool)
    if wrong.any():
        row = frame[wrong.to_numpy()].iloc[0]
        raise SchemaError(
            f"refinements: {row['refinement_id']} is on another dimension than its theory "
            f"{row['theory_id']}'s own",
            column="context_dimension",
            allowed=[str(own[wrong.to_numpy()].iloc[0])],
            found=str(row["context_dimension"]),
        )
    return frame.assign(
        written_on=pd.to_datetime(frame["written_on"], errors="coerce").dt.date
    ).reset_index(drop=True)
