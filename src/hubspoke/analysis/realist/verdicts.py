"""The verdict rule: how counts of judgements on a theory become a verdict, and verdicts to inspect.

Every realist table (theory by context, joint display, per-service evidence,
refined theories) tallies supports / refutes / refines judgements with
:func:`_tally` and names the result with :func:`verdict`, so the rule
(:data:`VERDICT_RULE`) lives in this one place. Only the ``main`` judgement of each
transcript and theory counts (:func:`~hubspoke.analysis.realist.inputs._judgements`).

To inspect a verdict: :func:`judgements_by_role_year` shows who said what, when, in
each theory's own context; :func:`theory_verdicts` gives the rule's verdict per theory
and context, and with ``role_weights`` the weighted counts and verdict beside the plain
ones, with the weights stated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from hubspoke.analysis.realist.inputs import (
    _context_grid,
    _judgements,
    _own_context,
    _require,
    _sort_contexts,
)
from hubspoke.analysis.realist.theories import Theory
from hubspoke.errors import ParameterError
from hubspoke.spec.vocab import JUDGEMENTS, RESPONDENT_ROLES

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
    return _shares_verdict(supports, refutes, refines)


def weighted_verdict(supports: float, refutes: float, refines: float, *, n_judgements: int) -> str:
    """The rule on weighted counts: too little evidence still counts interviews, not weights.

    ``n_judgements`` is the number of interviews (unweighted); the shares and the
    'refines most common' test use the weighted counts.
    """
    if n_judgements < MIN_JUDGEMENTS:
        return TOO_LITTLE
    return _shares_verdict(supports, refutes, refines)


def _shares_verdict(supports: float, refutes: float, refines: float) -> str:
    """Supported / refuted / refined / contested from counts with enough judgements."""
    n = supports + refutes + refines
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


def _counts(judgements: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Counts of each judgement (supports, refutes, refines: one column each) per ``keys``."""
    counts = (
        judgements.assign(judgement=pd.Categorical(judgements["judgement"], categories=JUDGEMENTS))
        .groupby([*keys, "judgement"], observed=False, dropna=False)
        .size()
        .unstack("judgement", fill_value=0)
        .reindex(columns=list(JUDGEMENTS), fill_value=0)
        .reset_index()
    )
    counts.columns.name = None
    return counts


def _tally(judgements: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Counts of each judgement per ``keys``, with shares, the modal judgement and the verdict."""
    return _with_verdicts(_counts(judgements, keys))


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


# --------------------------------------------------------------------------- inspectable verdicts
def _role_weights(role_weights: Mapping[str, float] | None) -> dict[str, float]:
    """The weights checked: known roles, positive numbers (roles not named weigh 1)."""
    weights = dict(role_weights or {})
    unknown = [r for r in weights if r not in RESPONDENT_ROLES]
    if unknown:
        raise ParameterError(
            "role weight for an unknown respondent role",
            column="role_weights",
            allowed=RESPONDENT_ROLES,
            found=unknown[0],
        )
    bad = [r for r, w in weights.items() if not isinstance(w, int | float) or not w > 0]
    if bad:
        raise ParameterError(
            "role weights must be positive numbers",
            column="role_weights",
            allowed="a number > 0",
            found=f"{bad[0]}: {weights[bad[0]]!r}",
        )
    return {r: float(w) for r, w in weights.items()}


def weighting_text(role_weights: Mapping[str, float] | None) -> str:
    """The weights in words, e.g. ``"Young person x2; other roles x1"`` (says "none" when unweighted)."""
    weights = _role_weights(role_weights)
    if not weights:
        return "none: every interview counts once"
    named = [f"{r} x{weights[r]:g}" for r in RESPONDENT_ROLES if r in weights]
    return "; ".join([*named, "other roles x1"])


def _placed(
    judgements: pd.DataFrame, contexts: pd.DataFrame, theories: Sequence[Theory] | None
) -> pd.DataFrame:
    """Main judgements with the theory's own context dimension and the service's value on it."""
    return _own_context(_judgements(judgements), contexts, theories)


def judgements_by_role_year(
    judgements: pd.DataFrame,
    contexts: pd.DataFrame,
    *,
    theories: Sequence[Theory] | None = None,
    role_weights: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Who judged each theory how, and when: main judgements per theory, own context, role and year.

    ``contexts`` has one row per service with ``model_variant`` and ``host_setting``
    (:func:`hubspoke.analysis.realist.evidence.service_context_table`); each theory is
    placed in its own dimension (PT1, PT4 host setting; the others model variant). Only
    ``main`` judgements count. Rows with no judgement are left out.

    Columns: ``theory_id, context_dimension, context, respondent_role, year, supports,
    refutes, refines, n_judgements`` (interviews), ``weight`` (the role's weight, 1 unless
    ``role_weights`` names the role).
    """
    weights = _role_weights(role_weights)
    placed = _require(_placed(judgements, contexts, theories), ("respondent_role", "year"),
                      "judgements")  # fmt: skip
    keys = ["theory_id", "context_dimension", "context", "respondent_role", "year"]
    counts = _counts(
        placed.assign(respondent_role=placed["respondent_role"].astype("string")), keys
    )
    counts = counts.assign(n_judgements=counts[list(JUDGEMENTS)].sum(axis=1))
    counts = counts[counts["n_judgements"] > 0].astype(
        {**{j: "int64" for j in JUDGEMENTS}, "n_judgements": "int64"}
    )
    role_rank = {r: i for i, r in enumerate(RESPONDENT_ROLES)}
    out = counts.assign(
        weight=counts["respondent_role"].map(lambda r: weights.get(str(r), 1.0)).astype(float),
        _r=counts["respondent_role"].map(lambda r: role_rank.get(str(r), len(role_rank))),
    )
    return _sort_contexts(out, ["_r", "year"]).drop(columns="_r")


def theory_verdicts(
    judgements: pd.DataFrame,
    contexts: pd.DataFrame,
    *,
    theories: Sequence[Theory] | None = None,
    role_weights: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """The rule's verdict per theory and context of its own dimension, with the counts behind it.

    Every theory judged appears with every context value of its dimension in
    ``contexts`` (empty cells are 'too little evidence'). Only ``main`` judgements count.

    Columns: ``theory_id, context_dimension, context, supports, refutes, refines,
    n_judgements, share_supports, share_refutes, share_refines, modal_judgement,
    verdict`` (:data:`VERDICT_RULE` on interview counts). With ``role_weights`` (e.g.
    ``{"Young person": 2}``; roles not named weigh 1) also ``weighted_supports,
    weighted_refutes, weighted_refines, weighted_verdict`` (:func:`weighted_verdict`:
    shares from weighted counts, the minimum still counted in interviews) and
    ``weighting`` stating the weights used.
    """
    weights = _role_weights(role_weights)
    placed = _placed(judgements, contexts, theories)
    keys = ["theory_id", "context_dimension", "context"]
    grid = _context_grid(contexts, theories, placed["theory_id"].unique())
    tally = _tally(placed, keys).astype({k: "string" for k in keys})
    counts = (
        grid.merge(tally[[*keys, *JUDGEMENTS]], on=keys, how="left")
        .fillna({j: 0 for j in JUDGEMENTS})
        .loc[:, [*keys, *JUDGEMENTS]]
    )
    out = _sort_contexts(_with_verdicts(counts))
    if not weights:
        return out
    if "respondent_role" not in placed.columns:
        raise ParameterError(
            "weighting by role needs the judgements' respondent_role column",
            column="respondent_role",
            found=list(placed.columns),
        )
    weighted = (
        placed.assign(
            _w=placed["respondent_role"].astype("string").map(lambda r: weights.get(str(r), 1.0))
        )
        .pivot_table(index=keys, columns="judgement", values="_w", aggfunc="sum", fill_value=0.0)
        .reindex(columns=list(JUDGEMENTS), fill_value=0.0)
        .add_prefix("weighted_")
        .reset_index()
    )
    weighted.columns.name = None
    out = out.merge(weighted.astype({k: "string" for k in keys}), on=keys, how="left").fillna(
        {f"weighted_{j}": 0.0 for j in JUDGEMENTS}
    )
    triples = zip(
        out["weighted_supports"], out["weighted_refutes"], out["weighted_refines"],
        out["n_judgements"], strict=True,
    )  # fmt: skip
    return out.assign(
        weighted_verdict=pd.array(
            [weighted_verdict(s, r, f, n_judgements=int(n)) for s, r, f, n in triples],
            dtype="string",
        ),
        weighting=weighting_text(weights),
    )
