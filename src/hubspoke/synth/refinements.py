"""Synthetic evaluators' refinements of the programme theories, with the evidence they rest on.

Everything here is invented: the evaluators (initials in :data:`EVALUATORS`), their
statements and the dates they wrote them. For each theory and context value (the theory's
own context dimension, :data:`THEORY_DIMENSIONS`) where the ``main`` judgements refine or
refute the theory, an evaluator writes one statement for most but not all such contexts
(:data:`REFINEMENT_SHARE`), so reports must also show contexts with no statement yet.

A statement names what in that context changed how the mechanism worked: a phrasing from
the theory's pool (:data:`STATEMENTS`, by whether refining or refuting evidence
dominates) filled with the context's words (:data:`CONTEXT_WORDS`). Its evidence is 2-6
of the refining or refuting transcripts of that theory in that context, as transcript ids
and / or ids of their coded segments; it is dated after the last of those interviews.

:func:`bad_rows` adds the deliberately wrong rows (an unknown theory id, an evidence id
that exists nowhere) that the writer logs as quirks.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from hubspoke.spec.raw import REFINEMENTS_TABLE, QuirkKind

#: Columns of ``qualitative/refinements.csv``, in order.
REFINEMENT_COLUMNS: tuple[str, ...] = tuple(c.name for c in REFINEMENTS_TABLE.columns)
#: Synthetic evaluators' initials (may overlap the coders').
EVALUATORS: tuple[str, ...] = ("HC", "RP", "JR", "LW")
#: Share of (theory, context) pairs with refining or refuting evidence that get a statement.
REFINEMENT_SHARE = 0.75
#: Fewest and most transcripts a statement rests on.
EVIDENCE_TRANSCRIPTS = (2, 6)
#: Days between the last interview used as evidence and the statement.
WRITING_DELAY_DAYS = (14, 120)
#: How a statement cites its evidence, and how often.
EVIDENCE_MODES: dict[str, float] = {"transcripts": 0.4, "both": 0.4, "segments": 0.2}
#: The theory id of the deliberately wrong row (not in the codebook).
UNKNOWN_THEORY = "PT7"
#: A service's main host setting when its Spokes are hosted equally in several settings.
MIXED_HOST = "Mixed"
REFINING = ("refines", "refutes")

#: Each theory's own context dimension, copied from ``context_dimension`` in
#: ``analysis/realist/theories.toml``: the generator must not import the analysis layer.
THEORY_DIMENSIONS: dict[str, str] = {
    "PT1": "host_setting",
    "PT2": "model_variant",
    "PT3": "model_variant",
    "PT4": "host_setting",
    "PT5": "model_variant",
    "PT6": "model_variant",
}

#: Per context value: (where, in words; what in that context shapes the mechanism).
CONTEXT_WORDS: dict[str, tuple[str, str]] = {
    "Single host, co-located": ("in services whose Spokes all sit with one host agency", "a single host's priorities"),
    "Multi-host": ("in services whose Spokes are shared between several hosts", "a week split between several hosts"),
    "Hub outreach": ("in services that send their Spokes out from the Hub", "a base at the Hub rather than inside a host"),
    "Rural dispersed": ("in rural services covering dispersed areas", "long journeys between young people and teams"),
    "Integrated multi-agency team": ("in services whose Spokes work inside an integrated multi-agency team", "a caseload shared with the rest of the team"),
    "Police": ("where the Spoke is based with the police", "police shift patterns and rotating officers"),
    "Children's social care": ("where the Spoke is based in children's social care", "duty pressure in social care teams"),
    "Multi-agency team": ("where the Spoke is based in a multi-agency team", "joint triage in the multi-agency team"),
    "Health": ("where the Spoke is based in a health setting", "clinical confidentiality rules"),
    "Voluntary sector": ("where the Spoke is hosted by a voluntary-sector agency", "distance from the statutory teams"),
    MIXED_HOST: ("where a service's Spokes are spread across different kinds of host", "differences between the hosts"),
}  # fmt: skip

#: Evaluators' phrasings per theory, for refining and for refuting evidence. ``{where}`` and
#: ``{factor}`` come from :data:`CONTEXT_WORDS`; written in lower case apart from role words,
#: so that redaction leaves them whole.
STATEMENTS: dict[str, dict[str, tuple[str, ...]]] = {
    "PT1": {
        "refines": (
            "{where}, host staff began passing worries to the Spoke only after months side by side; {factor} slowed that trust, so referrals came earlier late in the year rather than from the start.",
            "{where}, early referrals came from the teams the Spoke sat with most days, and {factor} meant teams she saw less often still referred late.",
            "{where}, corridor conversations surfaced concerns sooner, but they became referrals only when a duty manager acted on them; {factor} decided how often that happened.",
        ),
        "refutes": (
            "{where}, sharing an office did not bring concerns to the Spoke any earlier: with {factor}, staff kept to the formal referral route.",
            "{where}, {factor} kept host staff from approaching the Spoke with early worries, and referrals came no sooner than before.",
        ),
    },
    "PT2": {
        "refines": (
            "{where}, young people engaged once the worker kept coming back, but {factor} limited how often she could, so risk fell more slowly than the theory expects.",
            "{where}, persistence won trust mainly with young people who had been let down before; {factor} shaped who the worker could see often enough.",
        ),
        "refutes": (
            "{where}, workers kept showing up but young people still dropped out; {factor} left too little regular contact for trust to build.",
            "{where}, missing episodes and risk did not fall for the young people interviewed, and interviewees blamed {factor} for contact staying patchy.",
        ),
    },
    "PT3": {
        "refines": (
            "{where}, Hub supervision kept Spoke workers going only when it came at least monthly; {factor} decided whether they could get to it.",
            "{where}, peer team days mattered more than one-to-one supervision, and with {factor} the host's backing of the specialist role became the deciding condition.",
        ),
        "refutes": (
            "{where}, Spoke workers described feeling alone despite supervision, because {factor} pulled them into general work the Hub could not stop.",
            "{where}, supervision was offered but workers still left or thought of leaving; {factor} outweighed what the Hub could give.",
        ),
    },
    "PT4": {
        "refines": (
            "{where}, training raised awareness but only case consultation changed practice; {factor} governed how easily staff could bring live cases to the Spoke.",
            "{where}, professionals referred with more confidence after consultation on their own cases, and {factor} set how many of them the Spoke could reach.",
        ),
        "refutes": (
            "{where}, staff attended training yet kept describing exploitation as risky choices; {factor} left little room for consultation on live cases.",
            "{where}, referral quality did not change after training, and {factor} meant the Spoke was rarely asked for advice.",
        ),
    },
    "PT5": {
        "refines": (
            "{where}, practice evidence at MASE won senior commitment first and written procedures followed over a year later; {factor} slowed the second step.",
            "{where}, case examples moved local leaders only when the Spoke presented them in person, and {factor} decided how often that was possible.",
        ),
        "refutes": (
            "{where}, the Spoke seldom reached strategic meetings, so practice evidence did not change local procedures; {factor} kept her at practice level.",
            "{where}, leaders heard the case examples but no procedure or data sharing followed, and interviewees pointed to {factor}.",
        ),
    },
    "PT6": {
        "refines": (
            "{where}, outreach reached professionals in new areas well before it reached young people; {factor} limited how often workers could return to the same places.",
            "{where}, awareness sessions in schools opened new areas, but one-to-one work followed only where {factor} still allowed regular visits.",
        ),
        "refutes": (
            "{where}, Spokes rarely travelled beyond their base, so reach into areas without a service did not grow; {factor} kept them close to the office.",
            "{where}, referrals still came from the areas already served, and interviewees put the lack of outreach down to {factor}.",
        ),
    },
}  # fmt: skip


# ---------------------------------------------------------------------------
# Contexts
# ---------------------------------------------------------------------------


def main_host_settings(spokes: pd.DataFrame) -> pd.Series:
    """Per service its main host setting: the most common among its Spokes, ``Mixed`` on a tie.

    The same rule as the analysis (``host_labels`` in ``analysis/cross_site/summary.py``),
    over all of a service's Spoke posts; posts with no known host setting are left out.
    """
    counts = spokes.groupby(["service_id", "host_setting"]).size().rename("n").reset_index()
    top = counts.loc[counts["n"].eq(counts.groupby("service_id")["n"].transform("max"))]
    return (
        top.groupby("service_id")["host_setting"]
        .agg(lambda hosts: hosts.iloc[0] if len(hosts) == 1 else MIXED_HOST)
        .astype(str)
    )


def service_contexts(services: pd.DataFrame, spokes: pd.DataFrame) -> pd.DataFrame:
    """One row per service: ``service_id``, ``model_variant`` and main ``host_setting`` (NA if unknown)."""
    hosts = main_host_settings(spokes)
    return pd.DataFrame(
        {
            "service_id": services["service_id"].astype(str).to_numpy(),
            "model_variant": services["model_variant"].astype(str).to_numpy(),
            "host_setting": services["service_id"].astype(str).map(hosts).to_numpy(),
        }
    )


def evidence_pool(
    judgements: pd.DataFrame, *, transcripts: pd.DataFrame, contexts: pd.DataFrame
) -> pd.DataFrame:
    """Main judgements that refine or refute, with the theory's context dimension and value.

    Columns: transcript_id, theory_id, coder, judgement, interview_date, context_dimension,
    context_value (rows whose context is unknown are left out).
    """
    long = contexts.melt(
        id_vars="service_id", var_name="context_dimension", value_name="context_value"
    ).dropna(subset=["context_value"])
    meta = transcripts.loc[:, ["transcript_id", "service_id", "interview_date"]]
    return (
        judgements.loc[judgements["check"].eq("main") & judgements["judgement"].isin(REFINING)]
        .merge(meta, on="transcript_id", how="inner")
        .assign(context_dimension=lambda f: f["theory_id"].map(THEORY_DIMENSIONS))
        .merge(long, on=["service_id", "context_dimension"], how="inner")
        .loc[
            :,
            [
                "transcript_id",
                "theory_id",
                "coder",
                "judgement",
                "interview_date",
                "context_dimension",
                "context_value",
            ],
        ]
        .sort_values(["theory_id", "context_dimension", "context_value", "transcript_id"])
        .reset_index(drop=True)
    )


# ---------------------------------------------------------------------------
# Statements
# ---------------------------------------------------------------------------

_KEY = ["theory_id", "context_dimension", "context_value"]


def _statement(theory: str, context: str, lean: str, rng: np.random.Generator) -> str:
    where, factor = CONTEXT_WORDS.get(context, (f"in the {context.lower()} context", "the setting"))
    text = str(rng.choice(STATEMENTS[theory][lean])).format(where=where, factor=factor)
    return text[0].upper() + text[1:]


def _cited_segments(
    evidence: pd.DataFrame, segments: pd.DataFrame, rng: np.random.Generator
) -> list[str]:
    """One coded segment of the theory by the judging coder, for up to three evidence transcripts."""
    theory = str(evidence["theory_id"].iloc[0])
    cited = []
    for tid, coder in evidence.loc[:, ["transcript_id", "coder"]].head(3).itertuples(index=False):
        mine = segments.loc[
            segments["transcript_id"].eq(tid)
            & segments["coder"].eq(coder)
            & segments["code_id"].str.startswith(theory + "-"),
            "segment_id",
        ]
        if len(mine):
            cited.append(str(rng.choice(sorted(mine))))
    return cited


def _refinement(
    group: pd.DataFrame, *, segments: pd.DataFrame, rng: np.random.Generator
) -> dict[str, object]:
    """One evaluator's statement on a (theory, context) from its refining / refuting judgements."""
    theory, dimension, context = (str(group[c].iloc[0]) for c in _KEY)
    counts = group["judgement"].value_counts()
    lean = "refutes" if counts.get("refutes", 0) > counts.get("refines", 0) else "refines"
    low, high = EVIDENCE_TRANSCRIPTS
    n = min(len(group), int(rng.integers(low, high + 1)))
    evidence = group.iloc[sorted(rng.choice(len(group), size=n, replace=False))]
    mode = str(rng.choice(list(EVIDENCE_MODES), p=list(EVIDENCE_MODES.values())))
    cited = [] if mode == "transcripts" else _cited_segments(evidence, segments, rng)
    ids = ([] if mode == "segments" and cited else list(evidence["transcript_id"])) + cited
    last = dt.date.fromisoformat(str(evidence["interview_date"].max()))
    written = last + dt.timedelta(days=int(rng.integers(*WRITING_DELAY_DAYS)))
    return {
        "theory_id": theory,
        "context_dimension": dimension,
        "context_value": context,
        "statement": _statement(theory, context, lean, rng),
        "author": str(rng.choice(EVALUATORS)),
        "written_on": written.isoformat(),
        "evidence": ";".join(ids),
    }


def _n_written(n_contexts: int) -> int:
    """Most but not all: about :data:`REFINEMENT_SHARE`, at least one written and one left."""
    if n_contexts < 2:
        return n_contexts
    return min(n_contexts - 1, max(1, round(REFINEMENT_SHARE * n_contexts)))


def make_refinements(
    pool: pd.DataFrame, *, segments: pd.DataFrame, rng: np.random.Generator
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Statements for most (theory, context) pairs of ``pool`` (:func:`evidence_pool`), only
    where at least two transcripts refine or refute (one interview is not enough to write on).

    Returns (refinements without ids, the pairs left without a statement). ``segments``
    are the citable coded segments (segment_id, transcript_id, coder, code_id).
    """
    groups = dict(list(pool.groupby(_KEY, sort=True)))
    keys = pool.loc[:, _KEY].drop_duplicates().reset_index(drop=True)
    sizes = np.array([len(groups[tuple(key)]) for key in keys.itertuples(index=False)])
    eligible = np.flatnonzero(sizes >= EVIDENCE_TRANSCRIPTS[0])
    n = min(_n_written(len(keys)), len(eligible))
    chosen = np.zeros(len(keys), dtype=bool)
    chosen[rng.choice(eligible, size=n, replace=False)] = True
    rows = [
        _refinement(groups[tuple(key)], segments=segments, rng=rng)
        for key in keys.loc[chosen].itertuples(index=False)
    ]
    written = pd.DataFrame(rows, columns=[c for c in REFINEMENT_COLUMNS if c != "refinement_id"])
    return written, keys.loc[~chosen].reset_index(drop=True)


# ---------------------------------------------------------------------------
# Deliberately bad rows
# ---------------------------------------------------------------------------


def _missing_transcript_id(transcripts: pd.DataFrame, rng: np.random.Generator) -> str:
    """A transcript id in the data's form that no transcript has."""
    top = int(transcripts["transcript_id"].str[1:].astype(int).max())
    return f"T{top + int(rng.integers(1, 50)):04d}"


def bad_rows(
    written: pd.DataFrame,
    unwritten: pd.DataFrame,
    *,
    pool: pd.DataFrame,
    segments: pd.DataFrame,
    transcripts: pd.DataFrame,
    rng: np.random.Generator,
) -> list[tuple[dict[str, object], str, QuirkKind, str]]:
    """Rows a careless evaluator might add: (row, column, quirk kind, detail).

    An existing statement filed under a theory the codebook does not define, and a statement
    on a context that has none yet, citing one transcript id that exists nowhere (so that,
    once quarantined, the context still shows "no statement yet").
    """
    bad: list[tuple[dict[str, object], str, QuirkKind, str]] = []
    if len(written):
        copy = written.iloc[int(rng.integers(len(written)))].to_dict()
        bad.append(
            ({**copy, "theory_id": UNKNOWN_THEORY}, "theory_id", "unknown_theory", UNKNOWN_THEORY)
        )
    source = unwritten if len(unwritten) else written.loc[:, _KEY]
    if len(source):
        key = tuple(source.iloc[int(rng.integers(len(source)))])
        group = pool.loc[pool.set_index(_KEY).index == key]
        row = _refinement(group, segments=segments, rng=rng)
        missing = _missing_transcript_id(transcripts, rng)
        row["evidence"] = f"{row['evidence']};{missing}"
        bad.append((row, "evidence", "unknown_evidence", missing))
    return bad
