"""Coding quality: agreement between coders per code, and how the interviews were coded.

Wraps :func:`hubspoke.analysis.agreement.per_code_agreement` with the codebook's
labels and theories (:func:`coding_quality`) and counts coded and double-coded
transcripts per coder (:func:`coding_summary`), so readers can judge how far the
coded evidence behind the synthesis can be trusted.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

from hubspoke.analysis.agreement import per_code_agreement
from hubspoke.analysis.realist.inputs import _require
from hubspoke.analysis.realist.theories import _theory_order


def coding_quality(
    codings: pd.DataFrame,
    codebook: pd.DataFrame,
    *,
    unit: Literal["segment", "transcript"] = "segment",
) -> pd.DataFrame:
    """Agreement between coders per code, with the codebook's labels, theories and bands.

    Wraps :func:`hubspoke.analysis.agreement.per_code_agreement` over every codable code of
    the codebook (theory-level parent codes, which have no CMO element, are left out).
    Columns: ``theory_id, code_id, label, cmo, n_transcripts, n_units, n_units_coded,
    percent_agreement, kappa, kappa_band, alpha, alpha_band``.
    """
    book = _require(codebook, ("code_id", "label", "cmo", "theory_id"), "codebook")
    book = book[book["cmo"].notna() & (book["cmo"].astype("string") != "")]
    book = book.assign(code_id=book["code_id"].astype("string"))
    stats = per_code_agreement(codings, unit=unit, codes=list(book["code_id"]))
    out = stats.assign(code_id=stats["code_id"].astype("string")).merge(
        book[["code_id", "label", "cmo", "theory_id"]], on="code_id", how="left"
    )
    out = out.assign(
        theory_id=out["theory_id"].fillna(out["code_id"].str.split("-").str[0]).astype("string"),
        label=out["label"].astype("string"),
        cmo=out["cmo"].astype("string"),
    )
    order = {t: i for i, t in enumerate(_theory_order(out["theory_id"]))}
    return (
        out.assign(_t=out["theory_id"].map(order))
        .sort_values(["_t", "code_id"])
        .loc[
            :,
            [
                "theory_id",
                "code_id",
                "label",
                "cmo",
                "n_transcripts",
                "n_units",
                "n_units_coded",
                "percent_agreement",
                "kappa",
                "kappa_band",
                "alpha",
                "alpha_band",
            ],
        ]  # fmt: skip
        .reset_index(drop=True)
    )


def coding_summary(codings: pd.DataFrame) -> pd.DataFrame:
    """How the interviews were coded: one row per coder and an 'All coders' row.

    Columns: ``coder, n_transcripts`` (transcripts coded), ``n_double_coded``
    (of those, coded by two or more coders), ``share_double_coded``, ``n_segments``
    (code applications), ``segments_per_transcript``. The 'All coders' row counts each
    transcript once; the number of coders is the number of other rows.
    """
    frame = _require(codings, ("transcript_id", "coder", "code_id"), "codings")
    frame = frame.assign(
        transcript_id=frame["transcript_id"].astype("string"), coder=frame["coder"].astype("string")
    )
    coders_per = frame.groupby("transcript_id")["coder"].nunique()
    double = set(coders_per[coders_per >= 2].index)

    def row(label: str, part: pd.DataFrame) -> dict[str, Any]:
        transcripts = part["transcript_id"].nunique()
        n_double = len(set(part["transcript_id"]) & double)
        return {
            "coder": label,
            "n_transcripts": transcripts,
            "n_double_coded": n_double,
            "share_double_coded": n_double / transcripts if transcripts else np.nan,
            "n_segments": len(part),
            "segments_per_transcript": len(part) / transcripts if transcripts else np.nan,
        }

    rows = [row(str(c), part) for c, part in frame.groupby("coder", sort=True)]
    return pd.DataFrame([*rows, row("All coders", frame)]).astype(
        {"coder": "string", "share_double_coded": "Float64", "segments_per_transcript": "Float64"}
    )
