"""Mixed-methods joint display: each theory's indicators beside the interviews' verdict.

For each theory, service and period the quantitative side (indicator met, not met,
or not enough data) is set against the qualitative verdict from the same service's
interviews, and the pair is called confirm / expand / discord
(:data:`JOINT_DISPLAY_RULE`), so numbers and interviews are read together.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from hubspoke.analysis.realist.inputs import _judgements, _require
from hubspoke.analysis.realist.theories import Theory, _theory_order, load_theories
from hubspoke.analysis.realist.verdicts import (
    REFUTED,
    SUPPORTED,
    TOO_LITTLE,
    VERDICT_RULE,
    _tally,
    _with_verdicts,
)
from hubspoke.errors import ParameterError
from hubspoke.load import ALL_SERVICES, service_order
from hubspoke.spec.vocab import JUDGEMENTS

# --------------------------------------------------------------------------- joint display rule
CONFIRM, EXPAND, DISCORD = "confirm", "expand", "discord"
QUANT_MET, QUANT_NOT_MET, QUANT_NO_DATA = "meets threshold", "below threshold", "not enough data"
JOINT_DISPLAY_RULE = (
    "The quantitative side is positive when the indicator has enough data and meets its "
    "threshold, negative when it has enough data and does not, and 'not enough data' "
    "otherwise. The qualitative side is the verdict on the theory from the interviews of "
    f"the same service and period ({VERDICT_RULE.split('. ', 1)[1]} "
    f"Call: '{CONFIRM}' when both sides are positive (indicator met, theory supported) or "
    f"both negative (indicator not met, theory refuted); '{DISCORD}' when one side is "
    f"positive and the other negative; '{EXPAND}' in every other case: one side has not "
    "enough data, or the interviews refine the theory or are contested, so the interviews "
    "add to what the number shows rather than confirming or contradicting it."
)


# --------------------------------------------------------------------------- joint display
def _indicator_ids(
    theories: Mapping[str, Sequence[str]] | Sequence[Theory] | None,
) -> dict[str, list[str]]:
    """Theory id -> indicator ids, from loaded theories or a plain mapping."""
    if theories is None:
        theories = load_theories()
    if isinstance(theories, Mapping):
        return {str(k): [str(i) for i in v] for k, v in theories.items()}
    return {t.id: list(t.indicators) for t in theories}


def _quant_side(enough: Any, meets: Any) -> str:
    if pd.isna(enough) or not bool(enough) or pd.isna(meets):
        return QUANT_NO_DATA
    return QUANT_MET if bool(meets) else QUANT_NOT_MET


def joint_call(quant: str, qual_verdict: str) -> tuple[str, str]:
    """The confirm / expand / discord call and its reason in words (see :data:`JOINT_DISPLAY_RULE`)."""
    positive_q, negative_q = quant == QUANT_MET, quant == QUANT_NOT_MET
    if quant == QUANT_NO_DATA:
        return EXPAND, "the indicator has not enough data; the interviews add what it cannot show"
    if qual_verdict == TOO_LITTLE:
        return EXPAND, "too few interviews judged the theory; the indicator stands alone"
    if (positive_q and qual_verdict == SUPPORTED) or (negative_q and qual_verdict == REFUTED):
        return CONFIRM, f"indicator {quant} and interviews find the theory {qual_verdict}"
    if (positive_q and qual_verdict == REFUTED) or (negative_q and qual_verdict == SUPPORTED):
        return DISCORD, f"indicator {quant} but interviews find the theory {qual_verdict}"
    return EXPAND, f"interviews find the theory {qual_verdict}, which adds to the indicator"


def _qual_for(frame: pd.DataFrame, service_id: str, year: Any) -> pd.DataFrame:
    """Judgement tally per theory for one service (or all services) and year (or all years)."""
    part = frame if service_id == ALL_SERVICES else frame[frame["service_id"] == service_id]
    if pd.notna(year):
        part = part[part["year"] == int(year)]
    return _tally(part, ["theory_id"]).assign(service_id=service_id, year=year)


def joint_display(
    indicators: pd.DataFrame,
    judgements: pd.DataFrame,
    *,
    theories: Mapping[str, Sequence[str]] | Sequence[Theory] | None = None,
    service_id: str | None = None,
) -> pd.DataFrame:
    """Each theory's indicators beside the qualitative verdict, per service and period.

    ``indicators`` is the outcome indicator table (``service_id, year, indicator_id,
    indicator, value, enough_data, meets_threshold`` and ``n_units`` or ``denominator``).
    A row with a year is matched with that year's interviews; a row without one (pooled
    years) with all years; ``service_id == "All services"`` with every service.
    ``theories``: loaded theories (default ``theories.toml``) or ``{theory_id: [indicator ids]}``.

    One row per theory, service, year and indicator: ``theory_id, theory, service_id,
    year, indicator_id, indicator, value, n, meets_threshold, enough_data, quantitative,
    n_transcripts, supports, refutes, refines, share_supports, share_refutes,
    share_refines, qualitative, call, reason`` (:data:`JOINT_DISPLAY_RULE`).
    """
    loaded = load_theories() if theories is None else theories
    mapping = _indicator_ids(loaded)
    labels = {} if isinstance(loaded, Mapping) else {t.id: t.label for t in loaded}
    table = _require(
        indicators,
        ("service_id", "year", "indicator_id", "value", "enough_data", "meets_threshold"),
        "indicators",
    )
    n_column = "n_units" if "n_units" in table.columns else "denominator"
    _require(table, (n_column,), "indicators")
    known = set(table["indicator_id"].astype(str))
    for theory, ids in mapping.items():
        missing = [i for i in ids if i not in known]
        if missing:
            raise ParameterError(
                f"indicator of theory {theory} not in the indicator table",
                column="indicator_id",
                allowed=sorted(known),
                found=missing[0],
            )
    links = pd.DataFrame(
        [(t, i, k) for t, ids in mapping.items() for k, i in enumerate(ids)],
        columns=["theory_id", "indicator_id", "_rank"],
    )
    quant = table.assign(
        service_id=table["service_id"].astype("string"),
        year=pd.to_numeric(table["year"], errors="coerce").astype("Int64"),
        indicator_id=table["indicator_id"].astype("string"),
        n=pd.to_numeric(table[n_column], errors="coerce").astype("Float64"),
        indicator=table["indicator"].astype("string")
        if "indicator" in table.columns
        else table["indicator_id"].astype("string"),
    )
    if service_id is not None:
        quant = quant[quant["service_id"] == service_id]
    quant = quant.merge(links, on="indicator_id")
    frame = _judgements(judgements)
    periods = quant[["service_id", "year"]].drop_duplicates()
    qual = pd.concat(
        [_qual_for(frame, s, y) for s, y in periods.itertuples(index=False)]
        or [_tally(frame.iloc[:0], ["theory_id"]).assign(service_id=pd.NA, year=pd.NA)],
        ignore_index=True,
    ).astype({"service_id": "string", "year": "Int64", "theory_id": "string"})
    merged = quant.merge(qual, on=["service_id", "year", "theory_id"], how="left").fillna(
        {j: 0 for j in JUDGEMENTS}
    )
    merged = _with_verdicts(merged.drop(columns=["verdict", "n_judgements"], errors="ignore"))
    sides = [
        _quant_side(e, m)
        for e, m in zip(merged["enough_data"], merged["meets_threshold"], strict=True)
    ]
    calls = [joint_call(q, v) for q, v in zip(sides, merged["verdict"], strict=True)]
    order = {t: i for i, t in enumerate(_theory_order(mapping))}
    return (
        merged.assign(
            theory=merged["theory_id"].map(labels).astype("string"),
            quantitative=pd.array(sides, dtype="string"),
            qualitative=merged["verdict"],
            n_transcripts=merged["n_judgements"],
            call=pd.array([c for c, _ in calls], dtype="string"),
            reason=pd.array([r for _, r in calls], dtype="string"),
            _t=merged["theory_id"].map(order),
        )
        .sort_values(["_t", "service_id", "year", "_rank"], na_position="last")
        .loc[
            :,
            [
                "theory_id",
                "theory",
                "service_id",
                "year",
                "indicator_id",
                "indicator",
                "value",
                "n",
                "meets_threshold",
                "enough_data",
                "quantitative",
                "n_transcripts",
                "supports",
                "refutes",
                "refines",
                "share_supports",
                "share_refutes",
                "share_refines",
                "qualitative",
                "call",
                "reason",
            ],
        ]  # fmt: skip
        .reset_index(drop=True)
    )


def joint_summary(joint: pd.DataFrame, *, theories: Sequence[Theory] | None = None) -> pd.DataFrame:
    """Theories as rows, services as columns: the joint-display call on each theory's main indicator.

    The main indicator is the first listed for the theory in ``theories.toml``. Cells are
    words (confirm / expand / discord), not counts.
    """
    loaded = theories or load_theories()
    main = {t.id: t.indicators[0] for t in loaded}
    labels = {t.id: f"{t.id}: {t.label}" for t in loaded}
    chosen = joint[joint["indicator_id"].astype(str) == joint["theory_id"].map(main)]
    wide = chosen.pivot_table(
        index="theory_id", columns="service_id", values="call", aggfunc="first"
    )
    wide = wide.reindex(columns=service_order([c for c in wide.columns if c != ALL_SERVICES]))
    wide.index = wide.index.map(lambda i: labels.get(i, i))
    wide.index.name = "Programme theory (main indicator)"
    wide.columns.name = None
    return wide.fillna("")
