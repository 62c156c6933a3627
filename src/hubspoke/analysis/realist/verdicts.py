"""The verdict rule: how counts of judgements on a theory become a verdict.

Every realist table (theory by context, joint display, per-service evidence,
refined theories) tallies supports / refutes / refines judgements with
:func:`_tally` and names the result with :func:`verdict`, so the rule
(:data:`VERDICT_RULE`) lives in this one place.
"""

from __future__ import annotations

import pandas as pd

from hubspoke.spec.vocab import JUDGEMENTS

# --------------------------------------------------------------------------- verdict rule
#: Fewest judgements on which a verdict is given.
MIN_JUDGEMENTS = 3
#: Share of judgements that makes a theory "supported" or "refuted" in a context.
MOSTLY = 2 / 3
SUPPORTED, REFUTED, REFINED, CONTESTED, TOO_LITTLE = (
    "supported",
    "refuted",
    "refined",
    "contested",
    "too little evidence",
)
VERDICTS: tuple[str, ...] = (SUPPORTED, REFUTED, REFINED, CONTESTED, TOO_LITTLE)
VERDICT_RULE = (
    f"Each cell pools the judgements made on the theory in that context (one per interview). "
    f"With fewer than {MIN_JUDGEMENTS} judgements the verdict is '{TOO_LITTLE}'. Otherwise it is "
    f"'{SUPPORTED}' when at least two thirds of judgements support the theory, '{REFUTED}' when "
    f"at least two thirds refute it, '{REFINED}' when 'refines' is the single most common "
    f"judgement, and '{CONTESTED}' in every other case (the interviews point different ways)."
)


def verdict(supports: int, refutes: int, refines: int) -> str:
    """The verdict on a theory from counts of judgements (see :data:`VERDICT_RULE`)."""
    n = supports + refutes + refines
    if n < MIN_JUDGEMENTS:
        return TOO_LITTLE
    if supports >= MOSTLY * n:
        return SUPPORTED
    if refutes >= MOSTLY * n:
        return REFUTED
    if refines > max(supports, refutes):
        return REFINED
    return CONTESTED


def _modal(supports: int, refutes: int, refines: int) -> str:
    """The most common judgement ('' with none; tied judgements joined by ' / ')."""
    counts = {"supports": supports, "refutes": refutes, "refines": refines}
    top = max(counts.values())
    return "" if top == 0 else " / ".join(k for k, v in counts.items() if v == top)


def _tally(judgements: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Counts of each judgement per ``keys``, with shares, the modal judgement and the verdict."""
    counts = (
        judgements.assign(judgement=pd.Categorical(judgements["judgement"], categories=JUDGEMENTS))
        .groupby([*keys, "judgement"], observed=False, dropna=False)
        .size()
        .unstack("judgement", fill_value=0)
        .reindex(columns=list(JUDGEMENTS), fill_value=0)
        .reset_index()
    )
    counts.columns.name = None
    return _with_verdicts(counts)


def _with_verdicts(counts: pd.DataFrame) -> pd.DataFrame:
    """Add n_judgements, shares, modal judgement and verdict to a supports/refutes/refines frame."""
    counts = counts.astype({j: "int64" for j in JUDGEMENTS})
    n = counts[list(JUDGEMENTS)].sum(axis=1)
    triples = list(zip(counts["supports"], counts["refutes"], counts["refines"], strict=True))
    return counts.assign(
        n_judgements=n,
        share_supports=(counts["supports"] / n.where(n > 0)).astype("Float64"),
        share_refutes=(counts["refutes"] / n.where(n > 0)).astype("Float64"),
        share_refines=(counts["refines"] / n.where(n > 0)).astype("Float64"),
        modal_judgement=pd.array([_modal(*t) for t in triples], dtype="string"),
        verdict=pd.array([verdict(*t) for t in triples], dtype="string"),
    )
