"""CMO configurations from the codes: which mechanisms fired, in which contexts, with which outcomes.

The codebook's codes each carry a CMO element (context, mechanism or outcome) and a
programme theory. Read per theory in the context of its own dimension (PT1 and PT4 by
the service's main host setting, the others by model variant):

* :func:`cmo_configurations` - the mechanism codes evidenced (in how many interviews,
  from which roles), the outcome codes that co-occurred with each in the same
  interviews, the context codes, and the main judgements of those interviews;
  ``by_year=True`` splits by year with the realist stage (years 1-2 of the evaluation
  build the theory, year 3 tests it);
* :func:`cmo_quotes` - for each mechanism -> outcome pair, the interviews that show it
  best, with the two excerpts;
* :func:`young_people_profile` and :func:`cmo_for_whom` - "for whom": the configurations
  of each service-year beside the profile of the young people that service supported
  that year. There is no link between an interview and a young person, so this is a
  service-year link, not a person link (:data:`FOR_WHOM_LINK`).

An interview counts once however many coders coded it: its codes are the union of its
coders' codes (a code counts as evidenced when any coder applied it), so double coding
neither doubles a count nor hides a code one coder saw. All data are synthetic.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Final

import numpy as np
import pandas as pd

from hubspoke.analysis.realist.inputs import (
    _cmo_label,
    _judgements,
    _own_context,
    _require,
    _sort_contexts,
)
from hubspoke.analysis.realist.quotes import safe_quote
from hubspoke.analysis.realist.theories import Theory
from hubspoke.errors import ParameterError
from hubspoke.spec.vocab import JUDGEMENTS, RESPONDENT_ROLES

#: Realist stages of the evaluation, by evaluation year (1 = the first year in the data).
STAGE_BUILDING: Final = "theory building"
STAGE_TESTING: Final = "theory testing"
#: Evaluation years that build the theory; later years test it.
BUILDING_YEARS: Final = 2
#: How :func:`cmo_for_whom` links interviews to young people, in words.
FOR_WHOM_LINK: Final = (
    "service-year: the profile of all young people the service supported that year, "
    "not of the people interviewed (interviews are not linked to young people)"
)
#: Characteristics of young people profiled per service-year (those the cases table has).
PROFILE_COLUMNS: tuple[str, ...] = ("age_band", "gender", "looked_after")
#: Joins two excerpts of one quote.
QUOTE_JOIN: Final = " [...] "

_CODING_COLUMNS = ("transcript_id", "service_id", "year", "respondent_role", "code_id", "cmo",
                   "theory_id")  # fmt: skip


# --------------------------------------------------------------------------- stages
def evaluation_stage(
    years: pd.Series | Iterable[int], *, first_year: int
) -> tuple[pd.Series, pd.Series]:
    """Evaluation year (1, 2, 3 from ``first_year``) and realist stage of each year.

    Years 1-2 are :data:`STAGE_BUILDING` (theory gleaning), year 3 on
    :data:`STAGE_TESTING`. A year before ``first_year`` is a ParameterError.
    """
    values = pd.Series(years)
    number = (pd.to_numeric(values, errors="coerce") - int(first_year) + 1).astype("Int64")
    if (number < 1).any():
        raise ParameterError(
            "a year is before the first evaluation year",
            column="year",
            allowed=f">= {first_year}",
            found=int(values[(number < 1).fillna(False)].iloc[0]),
        )
    stage = pd.Series(
        np.where(number <= BUILDING_YEARS, STAGE_BUILDING, STAGE_TESTING), index=values.index
    ).astype("string")
    return number, stage.where(number.notna())


# --------------------------------------------------------------------------- codes per interview
def _coded(
    codings: pd.DataFrame, contexts: pd.DataFrame, theories: Sequence[Theory] | None
) -> pd.DataFrame:
    """Every coding of a CMO code, placed in its theory's own context, keys as plain types."""
    frame = _require(codings, _CODING_COLUMNS, "codings")
    frame = frame.assign(
        **{c: frame[c].astype("string") for c in _CODING_COLUMNS if c not in ("year", "cmo")},
        year=pd.to_numeric(frame["year"], errors="coerce").astype("Int64"),
        cmo=_cmo_label(frame["cmo"]),
    )
    return _own_context(frame[frame["cmo"].notna()], contexts, theories)


def _presence(coded: pd.DataFrame) -> pd.DataFrame:
    """One row per interview and code: the union of its coders' codes."""
    keep = ["theory_id", "context_dimension", "context", "service_id", "year", "transcript_id",
            "respondent_role", "code_id", "cmo"]  # fmt: skip
    return coded.loc[:, keep].drop_duplicates(["transcript_id", "code_id"])


def _roles_text(rows: pd.DataFrame, keys: list[str]) -> pd.Series:
    """Per ``keys``: interviews by role in words, e.g. ``"Spoke worker 3, Hub manager 1"``."""
    rank = {r: i for i, r in enumerate(RESPONDENT_ROLES)}
    counts = (
        rows.drop_duplicates([*keys, "transcript_id"])
        .groupby([*keys, "respondent_role"], dropna=False, observed=True)
        .size()
        .rename("n")
        .reset_index()
    )
    counts = counts.assign(
        _r=counts["respondent_role"].map(lambda r: rank.get(str(r), len(rank))),
        _text=counts["respondent_role"].astype(str) + " " + counts["n"].astype(str),
    ).sort_values([*keys, "_r"])
    return counts.groupby(keys, dropna=False)["_text"].agg(", ".join).rename("roles")


def _labels(codebook: pd.DataFrame | None) -> dict[str, str]:
    """Code id -> label (empty without a codebook)."""
    if codebook is None:
        return {}
    book = _require(codebook, ("code_id", "label"), "codebook")
    return dict(zip(book["code_id"].astype(str), book["label"].astype(str), strict=True))


def _pairs(presence: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Interview-level configurations: ``keys, transcript_id, respondent_role, mechanism_code, outcome_code``.

    Each mechanism coded in an interview is paired with every outcome coded in it; a
    mechanism with no outcome there pairs with a missing outcome, and an outcome in an
    interview with no mechanism of the theory with a missing mechanism.
    """
    person = [*keys, "transcript_id", "respondent_role"]
    mechanisms = presence.loc[presence["cmo"] == "mechanism", [*person, "code_id"]].rename(
        columns={"code_id": "mechanism_code"}
    )
    outcomes = presence.loc[presence["cmo"] == "outcome", [*person, "code_id"]].rename(
        columns={"code_id": "outcome_code"}
    )
    with_mechanism = mechanisms.merge(outcomes, on=person, how="left")
    alone = outcomes.merge(mechanisms[person].drop_duplicates(), on=person, how="left",
                           indicator=True)  # fmt: skip
    alone = alone.loc[alone["_merge"] == "left_only", [*person, "outcome_code"]]
    return pd.concat([with_mechanism, alone.assign(mechanism_code=pd.NA)], ignore_index=True)


def _judged(pairs: pd.DataFrame, judgements: pd.DataFrame | None) -> pd.DataFrame:
    """The interview pairs with each interview's main judgement on the theory (missing if none)."""
    if judgements is None:
        return pairs.assign(judgement=pd.NA)
    main = _judgements(judgements).loc[:, ["transcript_id", "theory_id", "judgement"]]
    return pairs.merge(main.drop_duplicates(["transcript_id", "theory_id"]),
                       on=["transcript_id", "theory_id"], how="left")  # fmt: skip


def _configurations(
    presence: pd.DataFrame,
    judgements: pd.DataFrame | None,
    keys: list[str],
    codebook: pd.DataFrame | None,
) -> pd.DataFrame:
    """The configuration table of :func:`cmo_configurations` for any grouping ``keys``."""
    labels = _labels(codebook)
    # a missing code is "" while grouping (group keys with NA do not join), NA again at the end
    pairs = _judged(_pairs(presence, keys), judgements).fillna(
        {"mechanism_code": "", "outcome_code": ""}
    )
    config = [*keys, "mechanism_code", "outcome_code"]
    per_interview = pairs.drop_duplicates([*config, "transcript_id"]).assign(
        judgement=lambda d: pd.Categorical(d["judgement"], categories=JUDGEMENTS)
    )
    judged = (
        per_interview.groupby([*config, "judgement"], observed=False)
        .size()
        .unstack("judgement", fill_value=0)
        .reindex(columns=list(JUDGEMENTS), fill_value=0)
    )
    counts = (
        per_interview.groupby(config)
        .agg(n_transcripts=("transcript_id", "nunique"))
        .join(judged)
        .join(_roles_text(per_interview, config))
        .reset_index()
        .replace({"mechanism_code": {"": pd.NA}, "outcome_code": {"": pd.NA}})
    )
    counts.columns.name = None
    mechanisms = presence[presence["cmo"] == "mechanism"].rename(
        columns={"code_id": "mechanism_code"}
    )
    mechanism_info = (
        mechanisms.groupby([*keys, "mechanism_code"], dropna=False)
        .agg(mechanism_transcripts=("transcript_id", "nunique"))
        .join(_roles_text(mechanisms, [*keys, "mechanism_code"]).rename("mechanism_roles"))
        .reset_index()
    )
    out = (
        counts.merge(mechanism_info, on=[*keys, "mechanism_code"], how="left")
        .merge(_context_info(presence, keys, labels), on=keys, how="left")
        .assign(
            mechanism_label=lambda d: d["mechanism_code"].map(labels).astype("string"),
            outcome_label=lambda d: d["outcome_code"].map(labels).astype("string"),
            mechanism_transcripts=lambda d: d["mechanism_transcripts"].astype("Int64"),
            _m=lambda d: d["mechanism_code"].isna(),
            _n=lambda d: -d["n_transcripts"],
        )
    )
    ordered = _sort_contexts(out, [*keys[3:], "_m", "mechanism_code", "_n", "outcome_code"])
    columns = [*keys, "n_transcripts_context", "context_codes", "mechanism_code",
               "mechanism_label", "mechanism_transcripts", "mechanism_roles", "outcome_code",
               "outcome_label", "n_transcripts", "roles", *JUDGEMENTS]  # fmt: skip
    return ordered.loc[:, columns].astype(
        {
            "n_transcripts": "int64",
            "n_transcripts_context": "int64",
            **{j: "int64" for j in JUDGEMENTS},
            **{
                c: "string"
                for c in (
                    "mechanism_code",
                    "outcome_code",
                    "roles",
                    "mechanism_roles",
                    "context_codes",
                )
            },  # fmt: skip
        }
    )


def _context_info(presence: pd.DataFrame, keys: list[str], labels: dict[str, str]) -> pd.DataFrame:
    """Per ``keys``: coded interviews, and the context codes with their interview counts."""
    coded = presence.groupby(keys, dropna=False)["transcript_id"].nunique()
    contexts = presence[presence["cmo"] == "context"]
    per_code = (
        contexts.groupby([*keys, "code_id"], dropna=False)["transcript_id"]
        .nunique()
        .rename("n")
        .reset_index()
    )
    per_code = per_code.assign(
        _text=per_code["code_id"].astype(str)
        + per_code["code_id"].map(lambda c: f" {labels[str(c)]}" if str(c) in labels else "")
        + " ("
        + per_code["n"].astype(str)
        + ")",
        _n=-per_code["n"],
    ).sort_values([*keys, "_n", "code_id"])
    listed = per_code.groupby(keys, dropna=False)["_text"].agg(", ".join).rename("context_codes")
    return (
        pd.concat([coded.rename("n_transcripts_context"), listed], axis=1)
        .reset_index()
        .assign(context_codes=lambda d: d["context_codes"].fillna(""))
    )


def _with_stage(frame: pd.DataFrame, first_year: int) -> pd.DataFrame:
    """Add ``evaluation_year`` and ``stage`` right after ``year``."""
    number, stage = evaluation_stage(frame["year"], first_year=first_year)
    at = list(frame.columns).index("year") + 1
    out = frame.copy()
    out.insert(at, "evaluation_year", number.to_numpy())
    out.insert(at + 1, "stage", stage.to_numpy())
    return out


def _first_year(frames: Iterable[pd.DataFrame | None], first_year: int | None) -> int:
    """The first evaluation year: as given, else the earliest year in the data."""
    if first_year is not None:
        return int(first_year)
    years = pd.concat(
        [pd.to_numeric(f["year"], errors="coerce") for f in frames if f is not None and "year" in f]
    ).dropna()
    if years.empty:
        raise ParameterError("no year in the data to count evaluation years from", column="year")
    return int(years.min())


# --------------------------------------------------------------------------- configurations
def cmo_configurations(
    codings: pd.DataFrame,
    judgements: pd.DataFrame | None,
    contexts: pd.DataFrame,
    *,
    theories: Sequence[Theory] | None = None,
    by_year: bool = False,
    codebook: pd.DataFrame | None = None,
    first_year: int | None = None,
) -> pd.DataFrame:
    """Mechanisms evidenced per theory and own context, the outcomes that followed, the context codes.

    ``codings``: processed codings (``cmo`` as ``C/M/O`` or ``context/mechanism/outcome``;
    theory parent codes, with no CMO element, are left out). ``contexts``: one row per
    service with ``model_variant`` and ``host_setting``
    (:func:`~hubspoke.analysis.realist.evidence.service_context_table`); each theory is read
    in its own dimension. An interview counts once: its codes are the union of its
    coders' codes. ``judgements`` (main rows only count) give each configuration's
    supports / refutes / refines; None leaves them 0. ``codebook`` adds labels.

    One row per theory, context (and year) and configuration: a mechanism code with an
    outcome code coded in the same interviews; a mechanism never coded with an outcome
    there has ``outcome_code`` missing for those interviews, and outcomes coded in
    interviews with no mechanism of the theory have ``mechanism_code`` missing. Columns:

    * ``theory_id, context_dimension, context`` - the theory and its own context;
    * with ``by_year``: ``year, evaluation_year`` (1 = ``first_year``, default the earliest
      year in ``codings``/``judgements``), ``stage`` (:data:`STAGE_BUILDING` for years 1-2,
      :data:`STAGE_TESTING` after);
    * ``n_transcripts_context`` - interviews in that theory and context with any CMO code
      of the theory; ``context_codes`` - its context codes with interview counts, most
      frequent first, e.g. ``"PT1-C1 <label> (3), PT1-C2 <label> (1)"``;
    * ``mechanism_code, mechanism_label, mechanism_transcripts`` (interviews with the
      mechanism; missing on a row without mechanism), ``mechanism_roles`` (those interviews by role, e.g. ``"Spoke worker 3,
      Hub manager 1"``);
    * ``outcome_code, outcome_label``;
    * ``n_transcripts`` and ``roles`` - interviews where this mechanism and this outcome
      were both coded (the configuration), by role;
    * ``supports, refutes, refines`` - those interviews' main judgements on the theory.
    """
    keys = ["theory_id", "context_dimension", "context", *(["year"] if by_year else [])]
    presence = _presence(_coded(codings, contexts, theories))
    out = _configurations(presence, judgements, keys, codebook)
    if not by_year:
        return out
    return _with_stage(out, _first_year([codings, judgements], first_year))


# --------------------------------------------------------------------------- quotes
def _segments(coded: pd.DataFrame) -> pd.DataFrame:
    """One segment per interview and code: the longest excerpt any coder gave it."""
    keep = ["transcript_id", "code_id", "start", "end", "excerpt",
            *(["segment_id"] if "segment_id" in coded.columns else [])]  # fmt: skip
    frame = _require(coded, ("start", "end", "excerpt"), "codings").loc[:, keep]
    return (
        frame.assign(
            excerpt=frame["excerpt"].astype("string"),
            _len=frame["excerpt"].astype("string").str.len().fillna(0),
        )
        .sort_values(
            ["transcript_id", "code_id", "_len", "start"], ascending=[True, True, False, True]
        )  # fmt: skip
        .drop_duplicates(["transcript_id", "code_id"])
        .drop(columns="_len")
    )


def checked_quotes(
    excerpts: Iterable[object], *, names: Iterable[str] = (), places: Iterable[str] = ()
) -> dict[str, str]:
    """Each different excerpt (as text) and its :func:`safe_quote`, checked once.

    The same excerpts recur in every theory's and period's quotes; a caller quoting
    many of them (the realist synthesis) checks them here once and passes the result
    to :func:`cmo_quotes` as ``checked``.
    """
    names, places = list(names), list(places)
    texts = dict.fromkeys(str(text) for text in excerpts if pd.notna(text))
    return {text: safe_quote(text, names=names, places=places) for text in texts}


def _quotable(
    segments: pd.DataFrame,
    names: Iterable[str],
    places: Iterable[str],
    checked: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Segments with ``quote``: the excerpt re-checked by :func:`safe_quote` (missing when dropped).

    ``checked``: excerpts already checked with the same ``names`` and ``places``
    (:func:`checked_quotes`); others are checked here.
    """
    names, places = list(names), list(places)
    known = checked or {}
    quotes = [
        (
            known[str(text)]
            if str(text) in known
            else safe_quote(str(text), names=names, places=places)
        )
        if pd.notna(text)
        else ""
        for text in segments["excerpt"]
    ]
    return segments.assign(
        quote=pd.Series(quotes, index=segments.index, dtype="string").replace("", pd.NA)
    )


def cmo_quotes(
    codings: pd.DataFrame,
    contexts: pd.DataFrame,
    *,
    theories: Sequence[Theory] | None = None,
    max_quotes: int = 3,
    names: Iterable[str] = (),
    places: Iterable[str] = (),
    checked: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """The strongest quotes for each mechanism -> outcome configuration of :func:`cmo_configurations`.

    Candidates are the interviews where the mechanism and the outcome were both coded.
    Strongest first: an interview from a role not yet quoted for the configuration
    before a second from the same role; then the interview with most distinct codes of
    the theory; then the longer excerpts; then transcript id (deterministic); wording
    already quoted for the configuration is not quoted again. Each
    excerpt is re-checked with :func:`~hubspoke.analysis.realist.quotes.safe_quote`
    (ids masked, names and places masked again, a still-risky excerpt dropped with its
    interview; ``checked``: excerpts already checked with the same ``names`` and
    ``places``, from :func:`checked_quotes`). Of two coders' spans of one code the longer is used.

    Columns: ``theory_id, context_dimension, context, mechanism_code, outcome_code,
    rank`` (1 = strongest), ``transcript_id, respondent_role, year, segment_ids``
    (``"; "``-joined, mechanism first, when ``codings`` has ``segment_id``; else missing),
    ``positions`` (``"start-end; start-end"``, character positions of the mechanism's
    then the outcome's segment),
    ``n_codes`` (distinct codes of the theory in the interview), ``excerpt`` (the
    mechanism and outcome excerpts in text order, joined by :data:`QUOTE_JOIN`; one
    excerpt when a single span carries both codes). Quotes are for the evaluation
    team: a report for funders shows them only through its role-attribution rules.
    """
    if not isinstance(max_quotes, int) or max_quotes < 1:
        raise ParameterError(
            "max_quotes must be a whole number >= 1", column="max_quotes", found=max_quotes
        )
    keys = ["theory_id", "context_dimension", "context"]
    coded = _coded(codings, contexts, theories)
    presence = _presence(coded)
    pairs = _pairs(presence, keys).dropna(subset=["mechanism_code", "outcome_code"])
    segments = _quotable(_segments(coded), names, places, checked)
    n_codes = (
        presence.groupby(["transcript_id", "theory_id"])["code_id"].nunique().rename("n_codes")
    )
    year = presence.drop_duplicates("transcript_id").set_index("transcript_id")["year"]
    candidates = _quote_texts(pairs, segments).join(n_codes, on=["transcript_id", "theory_id"])
    candidates = candidates.assign(year=candidates["transcript_id"].map(year))
    return _pick(candidates, keys, max_quotes)


def _quote_texts(pairs: pd.DataFrame, segments: pd.DataFrame) -> pd.DataFrame:
    """Pairs with both segments' text, positions and ids; pairs with a dropped excerpt left out."""
    seg = segments.set_index(["transcript_id", "code_id"])
    both = pairs.join(seg.add_prefix("m_"), on=["transcript_id", "mechanism_code"]).join(
        seg.add_prefix("o_"), on=["transcript_id", "outcome_code"]
    )
    both = both.dropna(subset=["m_quote", "o_quote"])
    same = (both["m_start"] == both["o_start"]) & (both["m_end"] == both["o_end"])
    mechanism_first = both["m_start"] <= both["o_start"]
    first = both["m_quote"].where(mechanism_first, both["o_quote"])
    second = both["o_quote"].where(mechanism_first, both["m_quote"])
    positions = (
        both["m_start"].astype(str) + "-" + both["m_end"].astype(str) + "; "
        + both["o_start"].astype(str) + "-" + both["o_end"].astype(str)
    )  # fmt: skip
    ids = (
        both["m_segment_id"].astype("string") + "; " + both["o_segment_id"].astype("string")
        if "m_segment_id" in both.columns
        else pd.Series(pd.NA, index=both.index, dtype="string")
    )
    return both.assign(
        excerpt=first.where(same, first + QUOTE_JOIN + second).astype("string"),
        positions=positions.astype("string"),
        segment_ids=ids,
        _length=both["m_quote"].str.len() + both["o_quote"].str.len().where(~same, 0),
    )


def _pick(candidates: pd.DataFrame, keys: list[str], max_quotes: int) -> pd.DataFrame:
    """Up to ``max_quotes`` per configuration: new roles first, then most codes, longest."""
    config = [*keys, "mechanism_code", "outcome_code"]
    columns = [*config, "rank", "transcript_id", "respondent_role", "year", "segment_ids",
               "positions", "n_codes", "excerpt"]  # fmt: skip
    if candidates.empty:
        return pd.DataFrame(columns=columns)
    strength = ["n_codes", "_length", "transcript_id"]
    ranked = candidates.sort_values([*config, *strength], ascending=[True] * len(config)
                                    + [False, False, True])  # fmt: skip
    ranked = ranked.drop_duplicates([*config, "excerpt"])  # the same words twice: quote once
    ranked = ranked.assign(_turn=ranked.groupby([*config, "respondent_role"], observed=True,
                                                dropna=False).cumcount())  # fmt: skip
    ranked = ranked.sort_values(
        [*config, "_turn", *strength],
        ascending=[True] * (len(config) + 1) + [False, False, True],
    )
    picked = ranked.groupby(config, dropna=False).head(max_quotes)
    picked = picked.assign(rank=picked.groupby(config, dropna=False).cumcount() + 1)
    return _sort_contexts(picked, ["mechanism_code", "outcome_code", "rank"]).loc[:, columns]


# --------------------------------------------------------------------------- for whom
def young_people_profile(cases: pd.DataFrame) -> pd.DataFrame:
    """Per service-year the young people supported: how many, and shares by characteristic.

    Counts young people (``young_person_id``; one row per episode otherwise), each once
    per service-year (their earliest referral there). For each of :data:`PROFILE_COLUMNS`
    the cases table has: ``<column>_known`` (young people with a value) and one share
    column per value, ``"<column>=<value>"`` (e.g. ``"gender=Female"``, share of those
    known, 0-1). Columns: ``service_id, year, n_young_people``, then those. A
    characteristic the table lacks is left out.
    """
    frame = _require(cases, ("service_id", "year"), "cases")
    person = "young_person_id" if "young_person_id" in frame.columns else None
    order = [c for c in ("referral_date",) if c in frame.columns]
    people = frame.assign(
        service_id=frame["service_id"].astype("string"),
        year=pd.to_numeric(frame["year"], errors="coerce").astype("Int64"),
    ).sort_values(["service_id", "year", *order], kind="stable")
    if person is not None:
        people = people.drop_duplicates(["service_id", "year", person])
    keys = ["service_id", "year"]
    out = people.groupby(keys).size().rename("n_young_people").to_frame()
    for column in (c for c in PROFILE_COLUMNS if c in people.columns):
        out = out.join(_shares(people, keys, column)).fillna({f"{column}_known": 0})
        out = out.astype({f"{column}_known": "int64"})
    return out.reset_index()


def _shares(people: pd.DataFrame, keys: list[str], column: str) -> pd.DataFrame:
    """``<column>_known`` and ``<column>=<value>`` shares per ``keys``."""
    values = people[column]
    categories = (
        [str(c) for c in values.cat.categories]
        if isinstance(values.dtype, pd.CategoricalDtype)
        else sorted(values.dropna().astype(str).unique())
    )
    known = people.assign(_v=values.astype("string")).dropna(subset=["_v"])
    table = (  # a cross-tabulation by groupby (pd.crosstab costs ten times as much here)
        known.groupby([*keys, "_v"]).size().unstack("_v", fill_value=0)
        .reindex(columns=categories, fill_value=0)
    )  # fmt: skip
    n_known = table.sum(axis=1)
    shares = table.div(n_known.where(n_known > 0), axis=0).add_prefix(f"{column}=")
    shares.columns.name = None
    return shares.assign(**{f"{column}_known": n_known}).loc[
        :, [f"{column}_known", *shares.columns]
    ]


def cmo_for_whom(
    codings: pd.DataFrame,
    judgements: pd.DataFrame | None,
    contexts: pd.DataFrame,
    cases: pd.DataFrame,
    *,
    theories: Sequence[Theory] | None = None,
    codebook: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The configurations of each service-year beside the young people that service supported that year.

    Interviews are not linked to young people, so "for whom" here is a SERVICE-LEVEL
    link: each service-year's configurations (as :func:`cmo_configurations`, counted
    within that service and year) sit beside the profile of all the young people the
    service supported that year (:func:`young_people_profile`), not of the people
    interviewed. Read it as "where these mechanisms were reported, the service was
    working with ...", never as "for these young people".

    Columns: ``theory_id, context_dimension, context, service_id, year, mechanism_code,
    mechanism_label, outcome_code, outcome_label, n_transcripts, roles, supports,
    refutes, refines`` (as in :func:`cmo_configurations`, for the service-year),
    ``link`` (:data:`FOR_WHOM_LINK`), then the profile: ``n_young_people`` (0 where the
    cases table has none that year), ``<column>_known`` and ``"<column>=<value>"``
    shares for each of age band, gender and looked-after status the cases table has.
    """
    keys = ["theory_id", "context_dimension", "context", "service_id", "year"]
    presence = _presence(_coded(codings, contexts, theories))
    config = _configurations(presence, judgements, keys, codebook).loc[
        :, [*keys, "mechanism_code", "mechanism_label", "outcome_code", "outcome_label",
            "n_transcripts", "roles", *JUDGEMENTS]
    ]  # fmt: skip
    profile = young_people_profile(cases)
    out = config.merge(profile, on=["service_id", "year"], how="left")
    out.insert(list(out.columns).index("refines") + 1, "link", FOR_WHOM_LINK)
    known = {c: "Int64" for c in out.columns if str(c).endswith("_known")}
    return out.assign(n_young_people=out["n_young_people"].fillna(0).astype("int64")).astype(known)
