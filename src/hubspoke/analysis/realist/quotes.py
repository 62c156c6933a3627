"""Safe quotes from the coded interviews, per theory for one service-year.

Excerpts are re-redacted (names, places, service and transcript ids) and attributed by
respondent role and year only, and roles that could point to a person within one
service-year (:data:`UNQUOTED_ROLES`) can be left out, so a service report can show
what interviewees said without identifying them.

A report that names the service must not name a role few people hold there: a quote
is attributed to its role only where the service had at least
:data:`MIN_PEOPLE_PER_ROLE` people in it (:func:`quote_role`); otherwise to a coarser
group (:data:`ROLE_GROUPS`) when the group is large enough, and otherwise it is left
to the programme-level synthesis. Roles one person holds at a service
(:data:`SINGLE_HOLDER_ROLES`, e.g. the Hub manager) are never named.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

from hubspoke import load
from hubspoke.analysis.realist.inputs import _judgements, _require
from hubspoke.analysis.realist.theories import Theory, _theory_order, load_theories
from hubspoke.analysis.realist.verdicts import TOO_LITTLE, _tally
from hubspoke.errors import ParameterError
from hubspoke.privacy.deidentify import deidentify, risk_reasons
from hubspoke.privacy.redact import attribute_quote
from hubspoke.spec.vocab import JUDGEMENTS, RESPONDENT_ROLES

_ID = re.compile(r"\b(?:S\d{2,3}|T\d{3,5}|SG\d{4,6})\b")
ID_PLACEHOLDER = "[id]"
_CMO_PRIORITY = {"outcome": 0, "mechanism": 1, "context": 2}

#: Fewest people a service must have in a role before a quote names that role.
MIN_PEOPLE_PER_ROLE = 3
#: Roles one person holds at a service: never named in a service report.
SINGLE_HOLDER_ROLES: tuple[str, ...] = (
    "Hub manager",
    "Host-agency manager",
    "Board member or commissioner",
)
#: Coarser attribution for each role, used when the role itself has too few people.
ROLE_GROUPS: Mapping[str, str] = {
    "Spoke worker": "Hub or Spoke staff",
    "Hub manager": "Hub or Spoke staff",
    "Host-agency manager": "A professional",
    "Police": "A professional",
    "Social care": "A professional",
    "Health": "A professional",
    "Education": "A professional",
    "Board member or commissioner": "A professional",
    "Young person": "A young person or parent",
    "Parent or carer": "A young person or parent",
}
#: Column of an interviewee identifier, when the data have one (else interviews count people).
INTERVIEWEE_ID = "interviewee_id"


# --------------------------------------------------------------------------- who may be named
def people_per_role(
    codings: pd.DataFrame,
    judgements: pd.DataFrame,
    *,
    service_id: str,
    year: int,
    services: pd.DataFrame | None = None,
    spokes: pd.DataFrame | None = None,
) -> dict[str, int]:
    """How many people a service had in each role in a year, for :func:`quote_role`.

    Spoke workers: the service's Spokes running that year (``spokes``; else
    ``services.n_spokes``; else the Spoke workers interviewed). A role one person holds
    (:data:`SINGLE_HOLDER_ROLES`) counts 1 (the Hub always has its manager). Any other
    role: distinct interviewees in it at the service that year (by
    :data:`INTERVIEWEE_ID` when the data have it, else one per interview).
    """
    key = (service_id, int(year))
    return _people_per_role_of(codings, judgements, [key], services=services, spokes=spokes)[key]


def _people_per_role_of(
    codings: pd.DataFrame,
    judgements: pd.DataFrame,
    keys: Sequence[tuple[str, int]],
    *,
    services: pd.DataFrame | None,
    spokes: pd.DataFrame | None,
) -> dict[tuple[str, int], dict[str, int]]:
    """:func:`people_per_role` of each (service, year) of ``keys``, counted at once."""
    parts = []
    for frame in (codings, judgements):
        if {"service_id", "year", "respondent_role", "transcript_id"} <= set(frame.columns):
            key = INTERVIEWEE_ID if INTERVIEWEE_ID in frame.columns else "transcript_id"
            parts.append(
                pd.DataFrame(
                    {
                        "service_id": frame["service_id"].astype("string").to_numpy(),
                        "year": pd.to_numeric(frame["year"], errors="coerce").astype("Int64"),
                        "role": frame["respondent_role"].astype("string").to_numpy(),
                        "person": frame[key].astype("string").to_numpy(),
                    }
                ).reset_index(drop=True)
            )
    people = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame(columns=["service_id", "year", "role", "person"])
    )
    counted = people.drop_duplicates().groupby(["service_id", "year", "role"]).size().to_dict()
    out: dict[tuple[str, int], dict[str, int]] = {}
    for service_id, year in keys:
        here = {role: int(counted.get((service_id, year, role), 0)) for role in RESPONDENT_ROLES}
        for role in SINGLE_HOLDER_ROLES:
            here[role] = min(here[role], 1)
        here["Hub manager"] = 1
        spoke_workers = _spoke_workers(service_id, year, services=services, spokes=spokes)
        if spoke_workers is not None:
            here["Spoke worker"] = spoke_workers
        out[(service_id, year)] = here
    return out


def _spoke_workers(
    service_id: str, year: int, *, services: pd.DataFrame | None, spokes: pd.DataFrame | None
) -> int | None:
    """Spoke workers of a service in a year: its Spokes running then, else ``n_spokes``."""
    if spokes is not None and {"service_id", "spoke_id"} <= set(spokes.columns):
        mine = spokes[spokes["service_id"].astype("string") == service_id]
        if "start_year" in mine.columns:
            start = pd.to_numeric(mine["start_year"], errors="coerce")
            mine = mine[start.isna() | (start <= int(year))]
        if not mine.empty:
            return int(mine["spoke_id"].nunique())
    if services is not None and {"service_id", "n_spokes"} <= set(services.columns):
        row = services[services["service_id"].astype("string") == service_id]
        n = pd.to_numeric(row["n_spokes"], errors="coerce").dropna()
        if not n.empty:
            return int(n.iloc[0])
    return None


def quote_role(
    role: str, people: Mapping[str, int], *, min_people: int = MIN_PEOPLE_PER_ROLE
) -> str | None:
    """How a quote from ``role`` may be attributed at a service, or None (not in its report).

    The role itself when the service had at least ``min_people`` in it and one person
    does not hold it (:data:`SINGLE_HOLDER_ROLES`); else its group (:data:`ROLE_GROUPS`)
    when the group's roles together have at least ``min_people``; else None.
    """
    if not isinstance(min_people, int) or min_people < 1:
        raise ParameterError(
            "min_people must be a whole number >= 1", column="min_people", found=min_people
        )
    if role not in SINGLE_HOLDER_ROLES and people.get(role, 0) >= min_people:
        return role
    group = ROLE_GROUPS.get(role)
    if group is None:
        return None
    size = sum(people.get(r, 0) for r, g in ROLE_GROUPS.items() if g == group)
    return group if size >= min_people else None


def _attribution(role: str, shown_as: str, year: int) -> str:
    """``"<shown role>, <year>"``, the year and role checked as for :func:`attribute_quote`."""
    checked = attribute_quote(role, year)
    return f"{shown_as}, {checked.rsplit(', ', 1)[1]}"


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


def _check_max_quotes(max_quotes: object) -> None:
    """Quotes per theory: a whole number, 0 or more."""
    if not isinstance(max_quotes, int) or max_quotes < 0:
        raise ParameterError(
            "max_quotes must be a whole number >= 0", column="max_quotes", found=max_quotes
        )


def _pick_quotes(
    segments: pd.DataFrame, max_quotes: int, *, by: Sequence[str] = ("theory_id",)
) -> pd.DataFrame:
    """Up to ``max_quotes`` segments per theory, deterministic: outcome codes first, one per interview first.

    Spans of the same text by two coders count once (the longer). Within a theory and a
    priority, interviews are taken in transcript order and each interview's earliest
    segment first; a second segment from an interview is used only when every interview
    has given one. Repeated wording is skipped. Every theory is ranked in one pass (the
    sorts are stable, so each theory's rows keep the order they would have alone); ``by``
    names what a theory is (``theory_id``, or service, year and theory for many
    service-years at once).
    """
    keys = list(by)
    ranked = (
        segments.assign(_cmo=segments["cmo"].astype("string").map(_CMO_PRIORITY).fillna(3))
        .sort_values([*keys, "transcript_id", "end", "start"])
        .drop_duplicates([*keys, "transcript_id", "end"])  # a second coder's trimmed span
        .sort_values([*keys, "transcript_id", "_cmo", "start", "end"])
        .drop_duplicates([*keys, "quote"])
    )
    ranked = ranked.assign(_turn=ranked.groupby([*keys, "transcript_id"]).cumcount())
    return (
        ranked.sort_values([*keys, "_turn", "_cmo", "transcript_id", "start"])
        .groupby(keys, sort=False)
        .head(max_quotes)
    )


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
    people: Mapping[str, int] | None = None,
    min_people: int = MIN_PEOPLE_PER_ROLE,
) -> pd.DataFrame:
    """Per theory for one service-year: verdict counts and up to ``max_quotes`` safe quotes.

    Quotes are coded excerpts re-redacted (:func:`safe_quote`; ``names`` / ``places``
    add known names to remove) and attributed by respondent role and year only
    (``"Spoke worker, 2015"``): never the service, never a transcript id. Roles in
    ``exclude_roles`` (e.g. ``["Young person", "Parent or carer"]`` for a funder
    report) give no quotes. Columns: ``theory_id, n_transcripts, supports, refutes,
    refines, verdict, quote_1, attribution_1, ...`` ('' where there is no quote).

    ``people`` (role -> people the service had in it; default :func:`people_per_role`
    from the interviews alone) and ``min_people`` decide how each quote is attributed
    (:func:`quote_role`): a quote whose role and group are both too small is not used.
    """
    _check_max_quotes(max_quotes)
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
    if people is None:
        people = people_per_role(codings, judgements, service_id=service_id, year=int(year))
    shown_as = {
        role: quote_role(role, people, min_people=min_people)
        for role in codes["respondent_role"].astype("string").dropna().unique()
    }
    codes = codes.assign(
        transcript_id=codes["transcript_id"].astype("string"),
        theory_id=codes["theory_id"].astype("string"),
        shown_as=codes["respondent_role"].astype("string").map(shown_as),
    )
    codes = codes[codes["shown_as"].notna()]
    codes = codes.assign(
        quote=[safe_quote(e, names=names, places=places) for e in codes["excerpt"]]
    )
    tally = _tally(here, ["theory_id"]).set_index("theory_id")
    # A quote safe_quote dropped (still risky after de-identification) is never picked.
    picks = {
        str(theory): picked
        for theory, picked in _pick_quotes(codes[codes["quote"].ne("")], max_quotes).groupby(
            "theory_id", sort=False
        )
    }
    no_quote = codes.iloc[:0]
    rows = []
    for theory in _theory_order([*tally.index, *codes["theory_id"]]):
        counts = tally.loc[theory] if theory in tally.index else None
        row: dict[str, Any] = {
            "theory_id": theory,
            "n_transcripts": int(counts["n_judgements"]) if counts is not None else 0,
            **{j: int(counts[j]) if counts is not None else 0 for j in JUDGEMENTS},
            "verdict": str(counts["verdict"]) if counts is not None else TOO_LITTLE,
        }
        rows.append(row | _quote_columns(picks.get(str(theory), no_quote), int(year), max_quotes))
    return pd.DataFrame(rows)


#: Roles never quoted in a service-year report: within one service and year, even
#: "Young person, 2015" can point to someone.
UNQUOTED_ROLES: tuple[str, ...] = ("Young person", "Parent or carer")


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


def service_quotes(
    tables: Mapping[str, pd.DataFrame],
    *,
    service_id: str,
    year: int,
    max_quotes: int = 2,
    min_people: int = MIN_PEOPLE_PER_ROLE,
    exclude_roles: Sequence[str] = UNQUOTED_ROLES,
) -> str:
    """The service report's quotes as Markdown: :func:`theory_evidence` with the role rule.

    People per role come from the service's Spokes and interviews
    (:func:`people_per_role`); a quote is attributed by role only where the service had
    ``min_people`` in it, else by a coarser group, else left out.
    """
    codings, judgements = tables["codings"], tables["judgements"]
    people = people_per_role(
        codings,
        judgements,
        service_id=service_id,
        year=year,
        services=tables.get("services"),
        spokes=tables.get("spokes"),
    )
    try:
        evidence = theory_evidence(
            codings,
            judgements,
            service_id=service_id,
            year=year,
            max_quotes=max_quotes,
            exclude_roles=exclude_roles,
            people=people,
            min_people=min_people,
        )
    except ParameterError:  # no interviews for this service and year
        return "_No coded interview excerpts for this service and year._"
    return quotes_markdown(evidence)


def service_quotes_by_service_year(
    tables: Mapping[str, pd.DataFrame],
    *,
    max_quotes: int = 2,
    min_people: int = MIN_PEOPLE_PER_ROLE,
    exclude_roles: Sequence[str] = UNQUOTED_ROLES,
) -> dict[tuple[str, int], str]:
    """:func:`service_quotes` of every service-year, worked out at once (the release
    builds every service report; one at a time pays pandas' cost per call for each).

    The same rule: quotes re-checked by :func:`safe_quote`, attributed by role only
    where the service had ``min_people`` in it that year (:func:`quote_role`), roles in
    ``exclude_roles`` never quoted, and up to ``max_quotes`` per theory
    (:func:`_pick_quotes`, each service-year ranked on its own).
    """
    _check_max_quotes(max_quotes)
    codings, judgements = tables["codings"], tables["judgements"]
    _require(_judgements(judgements), ("year",), "judgements")  # checked as one year's are
    keys = [(s, y) for s, years in load.available_service_years(tables).items() for y in years]
    people = _people_per_role_of(
        codings, judgements, keys, services=tables.get("services"), spokes=tables.get("spokes")
    )
    codes = _require(
        codings,
        ("transcript_id", "service_id", "year", "respondent_role", "code_id", "cmo", "theory_id", "start", "end", "excerpt"),
        "codings",
    )  # fmt: skip
    codes = codes.assign(
        service_id=codes["service_id"].astype("string"),
        year=pd.to_numeric(codes["year"], errors="coerce").astype("Int64"),
        transcript_id=codes["transcript_id"].astype("string"),
        theory_id=codes["theory_id"].astype("string"),
        respondent_role=codes["respondent_role"].astype("string"),
    )
    codes = codes[~codes["respondent_role"].isin(list(exclude_roles)).to_numpy(dtype=bool)]
    shown: dict[tuple[object, object, object], str | None] = {}
    for service_id, year, role in codes[["service_id", "year", "respondent_role"]].itertuples(
        index=False
    ):
        if (service_id, year, role) not in shown:
            here = people.get((service_id, year)) if pd.notna(year) else None
            shown[(service_id, year, role)] = (
                quote_role(str(role), here, min_people=min_people)
                if here is not None and pd.notna(role)
                else None
            )
    codes = codes.assign(
        shown_as=[
            shown[k]
            for k in codes[["service_id", "year", "respondent_role"]].itertuples(index=False)
        ]
    )
    codes = codes[codes["shown_as"].notna().to_numpy(dtype=bool)]
    codes = codes.assign(quote=[safe_quote(e) for e in codes["excerpt"]])
    picked = _pick_quotes(
        codes[codes["quote"].ne("").to_numpy(dtype=bool)],
        max_quotes,
        by=["service_id", "year", "theory_id"],
    )
    theories = load_theories()
    by_key = dict(iter(picked.groupby(["service_id", "year"], sort=False)))
    return {
        key: quotes_markdown(
            _quote_rows(by_key[key], key[1], max_quotes) if key in by_key else pd.DataFrame(),
            theories=theories,
        )
        for key in keys
    }


def _quote_rows(picked: pd.DataFrame, year: int, max_quotes: int) -> pd.DataFrame:
    """One service-year's picked quotes as :func:`theory_evidence`'s quote columns, one row
    per theory with a quote, in theory order."""
    rows = [
        {"theory_id": str(theory)} | _quote_columns(quotes, year, max_quotes)
        for theory, quotes in picked.groupby("theory_id", sort=False)
    ]
    order = {t: i for i, t in enumerate(_theory_order(r["theory_id"] for r in rows))}
    return pd.DataFrame(sorted(rows, key=lambda r: order[r["theory_id"]]))


def _quote_columns(picked: pd.DataFrame, year: int, max_quotes: int) -> dict[str, str]:
    """``quote_k`` and ``attribution_k`` of one theory's picked segments ('' past the last)."""
    out: dict[str, str] = {}
    for k in range(max_quotes):
        has = k < len(picked)
        out[f"quote_{k + 1}"] = str(picked["quote"].iloc[k]) if has else ""
        out[f"attribution_{k + 1}"] = (
            _attribution(
                str(picked["respondent_role"].iloc[k]), str(picked["shown_as"].iloc[k]), year
            )
            if has
            else ""
        )
    return out
