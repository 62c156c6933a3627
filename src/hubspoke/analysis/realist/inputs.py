"""Checks on the input tables shared by every realist computation.

:func:`_require` raises a :class:`~hubspoke.errors.SchemaError` naming the first
missing column; :func:`_judgements` also checks each judgement against the allowed
values and gives the keys plain string (and year Int64) types so tables merge cleanly.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from hubspoke.errors import SchemaError
from hubspoke.spec.vocab import JUDGEMENTS


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


def _judgements(judgements: pd.DataFrame) -> pd.DataFrame:
    """Judgements with plain string keys, checked against the allowed judgements."""
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
    return out
