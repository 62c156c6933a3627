"""Safe quotes from the coded interviews, per theory for one service-year.

Excerpts are re-redacted (names, places, service and transcript ids) and attributed by
respondent role and year only, and roles that could point to a person within one
service-year (:data:`UNQUOTED_ROLES`) can be left out, so a service report can show
what interviewees said without identifying them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from hubspoke.analysis.realist.inputs import _judgements, _require
from hubspoke.analysis.realist.theories import Theory, _theory_order, load_theories
from hubspoke.analysis.realist.verdicts import TOO_LITTLE, _tally
from hubspoke.errors import ParameterError
from hubspoke.privacy.deidentify import deidentify, risk_reasons
from hubspoke.privacy.disclosure import SuppressOptions
from hubspoke.privacy.redact import attribute_quote
from hubspoke.spec.vocab import JUDGEMENTS

_ID = re.compile(r"\b(?:S\d{2,3}|T\d{3,5}|SG\d{4,6})\b")
ID_PLACEHOLDER = "[id]"
_CMO_PRIORITY = {"outcome": 0, "mechanism": 1, "context": 2}


# --------------------------------------------------------------------------- quotes
def safe_quote(excerpt: str, *, names: Iterable[str] = (), places: Iterable[str] = ()) -> str:
    """An excerpt fit to quote, or ``""`` (dropped) when it still looks risky.

    Service/transcript ids become ``[id]``, then :func:`~hubspoke.privacy.deidentify.deidentify`
    masks names, places, phones, e-mails, postcodes, dates and case refs again (``names`` /
    ``places`` add those known from the data). A quote in which
    :func:`~hubspoke.privacy.deidentify.risk_reasons` still finds something is dropped
    rather than shown: callers treat ``""`` as no quote.
    """
    alone = re.compile(_ID.pattern + r"(?![-/]\w)")  # not the head of a case ref (S04-00012)
    text = deidentify(alone.sub(ID_PLACEHOLDER, str(excerpt)), names=names, places=places)
    return "" if risk_reasons(text) else re.sub(r"\s+", " ", text).strip()


def _pick_quotes(segments: pd.DataFrame, max_quotes: int) -> pd.DataFrame:
    """Up to ``max_quotes`` segments, deterministic: outcome codes first, one per interview first.

    Spans of the same text by two coders count once (the longer). Within a priority,
    interviews are taken in transcript order and each interview's earliest segment first; a second segment from an interview is used only when every
    interview has given one. Repeated wording is skipped.
    """
    ranked = (
        segments.assign(_cmo=segments["cmo"].astype("string").map(_CMO_PRIORITY).fillna(3))
        .sort_values(["transcript_id", "end", "start"])
        .drop_duplicates(["transcript_id", "end"])  # a second coder's trimmed span of the same text
        .sort_values(["transcript_id", "_cmo", "start", "end"])
        .drop_duplicates("quote")
    )
    ranked = ranked.assign(_turn=ranked.groupby("transcript_id").cumcount())
    return ranked.sort_values(["_turn", "_cmo", "transcript_id", "start"]).head(max_quotes)


def theory_evidence(
    codings: pd.DataFrame,
    judgements: pd.DataFrame,
    *,
    service_id: str,
    year: int,
    max_quotes: int = 2,
    names: Iterable[str] = (),
    places: Iterable[str] = (),
    exclude_roles: Sequence[str] = (),
) -> pd.DataFrame:
    """Per theory for one service-year: verdict counts and up to ``max_quotes`` safe quotes.

    Quotes are coded excerpts re-redacted (:func:`safe_quote`; ``names`` / ``places``
    add known names to remove) and attributed by respondent role and year only
    (``"Spoke worker, 2015"``): never the service, never a transcript id. Roles in
    ``exclude_roles`` (e.g. ``["Young person", "Parent or carer"]`` for a funder
    report) give no quotes. Columns: ``theory_id, n_transcripts, supports, refutes,
    refines, verdict, quote_1, attribution_1, ...`` ('' where there is no quote).
    """
    if not isinstance(max_quotes, int) or max_quotes < 0:
        raise ParameterError(
            "max_quotes must be a whole number >= 0", column="max_quotes", found=max_quotes
        )
    frame = _require(_judgements(judgements), ("year",), "judgements")
    here = frame[(frame["service_id"] == service_id) & (frame["year"] == int(year))]
    codes = _require(
        codings,
        ("transcript_id", "service_id", "year", "respondent_role", "code_id", "cmo", "theory_id", "start", "end", "excerpt"),
        "codings",
    )  # fmt: skip
    codes = codes[
        (codes["service_id"].astype("string") == service_id)
        & (pd.to_numeric(codes["year"], errors="coerce") == int(year))
        & ~codes["respondent_role"].astype("string").isin(list(exclude_roles))
    ]
    if here.empty and codes.empty:
        raise ParameterError(
            "no interviews for this service and year",
            column="service_id",
            found=f"{service_id} {year}",
        )
    codes = codes.assign(
        transcript_id=codes["transcript_id"].astype("string"),
        theory_id=codes["theory_id"].astype("string"),
        quote=[safe_quote(e, names=names, places=places) for e in codes["excerpt"]],
    )
    tally = _tally(here, ["theory_id"]).set_index("theory_id")
    rows = []
    for theory in _theory_order([*tally.index, *codes["theory_id"]]):
        counts = tally.loc[theory] if theory in tally.index else None
        row: dict[str, Any] = {
            "theory_id": theory,
            "n_transcripts": int(counts["n_judgements"]) if counts is not None else 0,
            **{j: int(counts[j]) if counts is not None else 0 for j in JUDGEMENTS},
            "verdict": str(counts["verdict"]) if counts is not None else TOO_LITTLE,
        }
        # A quote safe_quote dropped (still risky after de-identification) is never picked.
        quotable = codes["theory_id"].eq(theory) & codes["quote"].ne("")
        picked = _pick_quotes(codes[quotable], max_quotes)
        for k in range(max_quotes):
            has = k < len(picked)
            row[f"quote_{k + 1}"] = str(picked["quote"].iloc[k]) if has else ""
            row[f"attribution_{k + 1}"] = (
                attribute_quote(str(picked["respondent_role"].iloc[k]), int(year)) if has else ""
            )
        rows.append(row)
    return pd.DataFrame(rows)


#: Roles never quoted in a service-year report: within one service and year, even
#: "Young person, 2015" can point to someone.
UNQUOTED_ROLES: tuple[str, ...] = ("Young person", "Parent or carer")

#: ``display.table`` arguments for the frames below (interview counts are counts of people).
DISPLAY: Mapping[str, SuppressOptions] = {
    "theory_evidence": {
        "count_columns": ["Interviews", "Supports", "Refutes", "Refines"],
        "total_row": None,
        "total_column": None,
        "implied_totals": False,
    },
}


def evidence_display(
    evidence: pd.DataFrame, *, theories: Sequence[Theory] | None = None
) -> pd.DataFrame:
    """:func:`theory_evidence` as a table to show: one row per theory, counts and verdict, no quotes."""
    names = {t.id: t.label for t in (theories or load_theories())}
    out = (
        evidence.assign(theory=lambda d: d["theory_id"].map(lambda i: f"{i}: {names.get(i, i)}"))
        .set_index("theory")
        .loc[:, ["n_transcripts", "supports", "refutes", "refines", "verdict"]]
        .rename(
            columns={
                "n_transcripts": "Interviews",
                "supports": "Supports",
                "refutes": "Refutes",
                "refines": "Refines",
                "verdict": "Verdict",
            }
        )
    )
    out.index.name = "Programme theory"
    return out


#: Every ASCII punctuation character: Markdown may read any of them as markup, and
#: CommonMark makes each one literal after a backslash.
_MARKDOWN_ACTIVE = re.compile(r"([!-/:-@\[-`{-~])")


def _markdown_text(value: object) -> str:
    """A value from data as Markdown that shows exactly its text, on one line.

    Every ASCII punctuation character is backslash-escaped, so no emphasis, code span,
    link, autolink, image, raw HTML, comment or entity can form from it (``html.escape``
    alone would leave ``[x](javascript:...)`` and ``*`` live), and runs of whitespace
    become one space, so a line break cannot start a heading, list or quote.
    """
    return _MARKDOWN_ACTIVE.sub(r"\\\1", re.sub(r"\s+", " ", str(value)).strip())


def quotes_markdown(evidence: pd.DataFrame, *, theories: Sequence[Theory] | None = None) -> str:
    """The safe quotes of :func:`theory_evidence` as Markdown, grouped by theory, attributed by role and year.

    Quotes, attributions and theory names are data: each is escaped
    (:func:`_markdown_text`) so it shows as written and never as markup.
    """
    names = {t.id: t.label for t in (theories or load_theories())}
    quote_cols = sorted(c for c in evidence.columns if c.startswith("quote_"))
    blocks = []
    for row in evidence.to_dict("records"):
        quotes = [
            f'> "{_markdown_text(row[q])}"  \n'
            f"> — {_markdown_text(row[q.replace('quote_', 'attribution_')])}"
            for q in quote_cols
            if str(row.get(q) or "").strip()
        ]
        if quotes:
            theory = row["theory_id"]
            blocks.append(
                f"**{_markdown_text(theory)}: {_markdown_text(names.get(theory, ''))}**\n\n"
                + "\n\n".join(quotes)
            )
    return (
        "\n\n".join(blocks)
        if blocks
        else "_No coded interview excerpts for this service and year._"
    )
