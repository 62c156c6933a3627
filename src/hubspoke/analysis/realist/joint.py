"""Mixed-methods joint display: each theory's indicators beside the interviews' verdict.

For each theory, service and period the quantitative side (the indicator's value with
its n and 95% interval: met, not met, or not enough data) is set against the
qualitative side (the verdict from the same service's interviews with its supports /
refutes / refines counts), and the pair is called confirm / expand / discord
(:data:`JOINT_DISPLAY_RULE`) with a one-line reason written from both sides' numbers,
so numbers and interviews are read together. Each row also names the theory's own
context dimension and the service's value on it, so services can be grouped by the
context the theory is about. All data are synthetic.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from hubspoke.analysis.outcomes.intervals import wilson_interval
from hubspoke.analysis.realist.inputs import (
    _judgements,
    _own_context,
    _require,
    _sort_contexts,
)
from hubspoke.analysis.realist.theories import Theory, load_theories
from hubspoke.analysis.realist.verdicts import (
    CONTESTED,
    REFINED,
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
#: ``ci_method`` of a Wilson interval computed here (the indicator table gave none).
WILSON_HERE = "Wilson (computed from the counts)"
#: ``ci_method`` where the indicator table has no interval columns and the indicator is no proportion.
NO_INTERVAL = "none (no interval in the indicator table; one is computed only for proportions)"
#: ``ci_method`` where the indicator table has interval columns but none for this value.
NO_INTERVAL_GIVEN = "none (the indicator table gives no interval for this value)"
#: ``ci_method`` of a proportion without the value or n an interval needs.
NO_DATA_INTERVAL = "none (no value or n to compute an interval from)"
#: How the joint display's 95% intervals are found, in words.
JOINT_INTERVAL_NOTE = (
    "Each indicator's 95% confidence interval is the indicator table's own (ci_low, "
    "ci_high, with its method in ci_method). A table without intervals gets a Wilson "
    "score interval for proportion indicators, computed from numerator and denominator "
    "(or value and n); other indicators are then left without an interval, and ci_method "
    "says so."
)

#: Columns of :func:`joint_display`, in order.
JOINT_COLUMNS: tuple[str, ...] = (
    "theory_id", "theory", "context_dimension", "context", "service_id", "year",
    "indicator_id", "indicator", "kind", "unit", "value", "n", "ci_low", "ci_high", "ci_method",
    "meets_threshold", "enough_data", "quantitative", "n_transcripts", "supports", "refutes",
    "refines", "share_supports", "share_refutes", "share_refines", "qualitative", "call", "reason",
)  # fmt: skip

_QUANT_WORDS = {
    QUANT_MET: "indicator met",
    QUANT_NOT_MET: "indicator not met",
    QUANT_NO_DATA: "indicator has not enough data",
}
_QUAL_WORDS = {
    SUPPORTED: "interviews support",
    REFUTED: "interviews refute",
    REFINED: "interviews refine",
    CONTESTED: "interviews are split",
    TOO_LITTLE: "too few interviews to judge",
}


# --------------------------------------------------------------------------- theories
def _indicator_ids(
    theories: Mapping[str, Sequence[str]] | Sequence[Theory] | None,
) -> dict[str, list[str]]:
    """Theory id -> indicator ids, from loaded theories or a plain mapping."""
    if theories is None:
        theories = load_theories()
    if isinstance(theories, Mapping):
        return {str(k): [str(i) for i in v] for k, v in theories.items()}
    return {t.id: list(t.indicators) for t in theories}


def _theory_links(mapping: Mapping[str, Sequence[str]], known: set[str]) -> pd.DataFrame:
    """Theory id, indicator id and its rank (0 = main); every indicator must be in ``known``."""
    for theory, ids in mapping.items():
        missing = [i for i in ids if i not in known]
        if missing:
            raise ParameterError(
                f"indicator of theory {theory} not in the indicator table",
                column="indicator_id",
                allowed=sorted(known),
                found=missing[0],
            )
    return pd.DataFrame(
        [(t, i, k) for t, ids in mapping.items() for k, i in enumerate(ids)],
        columns=["theory_id", "indicator_id", "_rank"],
    ).astype({"theory_id": "string", "indicator_id": "string"})


# --------------------------------------------------------------------------- quantitative side
def _quant_side(enough: Any, meets: Any) -> str:
    if pd.isna(enough) or not bool(enough) or pd.isna(meets):
        return QUANT_NO_DATA
    return QUANT_MET if bool(meets) else QUANT_NOT_MET


def _text_column(table: pd.DataFrame, column: str) -> pd.Series:
    """A text column of the table, or a missing one of the same length."""
    if column in table.columns:
        return table[column].astype("string")
    return pd.Series(pd.NA, index=table.index, dtype="string")


def _quantities(indicators: pd.DataFrame) -> pd.DataFrame:
    """The indicator table with plain keys, value, n, kind and unit (checked columns)."""
    table = _require(
        indicators,
        ("service_id", "year", "indicator_id", "value", "enough_data", "meets_threshold"),
        "indicators",
    )
    n_column = "n_units" if "n_units" in table.columns else "denominator"
    _require(table, (n_column,), "indicators")
    return table.assign(
        service_id=table["service_id"].astype("string"),
        year=pd.to_numeric(table["year"], errors="coerce").astype("Int64"),
        indicator_id=table["indicator_id"].astype("string"),
        indicator=table["indicator"].astype("string")
        if "indicator" in table.columns
        else table["indicator_id"].astype("string"),
        value=pd.to_numeric(table["value"], errors="coerce").astype("Float64"),
        n=pd.to_numeric(table[n_column], errors="coerce").astype("Float64"),
        kind=_text_column(table, "kind"),
        unit=_text_column(table, "unit"),
    )


def _is_proportion(quant: pd.DataFrame) -> pd.Series:
    """Rows whose indicator is a proportion (by its kind or, failing that, its unit)."""
    return (quant["kind"].eq("proportion") | quant["unit"].eq("proportion")).fillna(False)


def _with_interval(quant: pd.DataFrame) -> pd.DataFrame:
    """Add ``ci_low, ci_high, ci_method``: the table's own, else Wilson for proportions, else none."""
    if {"ci_low", "ci_high"} <= set(quant.columns):
        low = pd.to_numeric(quant["ci_low"], errors="coerce").astype("Float64")
        high = pd.to_numeric(quant["ci_high"], errors="coerce").astype("Float64")
        given = _text_column(quant, "ci_method").fillna("from the indicator table")
        method = given.where(low.notna() & high.notna(), NO_INTERVAL_GIVEN)
        return quant.assign(ci_low=low, ci_high=high, ci_method=method.astype("string"))
    proportion = _is_proportion(quant)
    trials = (
        pd.to_numeric(quant["denominator"], errors="coerce")
        if "denominator" in quant.columns
        else quant["n"].astype(float)
    )
    successes = (
        pd.to_numeric(quant["numerator"], errors="coerce")
        if "numerator" in quant.columns
        else (quant["value"].astype(float) * trials).round()
    )
    low, high = wilson_interval(successes.where(proportion), trials.where(proportion))
    found = low.notna() & high.notna() & quant["value"].notna().to_numpy()
    method = pd.Series(NO_INTERVAL, index=quant.index, dtype="string")
    method = method.mask(proportion, NO_DATA_INTERVAL).mask(found, WILSON_HERE)
    return quant.assign(
        ci_low=low.where(found).astype("Float64"),
        ci_high=high.where(found).astype("Float64"),
        ci_method=method,
    )


# --------------------------------------------------------------------------- contexts
def _theory_dimensions(loaded: Mapping[str, Sequence[str]] | Sequence[Theory]) -> dict[str, str]:
    """Theory id -> its own context dimension (none known for a plain mapping)."""
    return {} if isinstance(loaded, Mapping) else {t.id: t.context_dimension for t in loaded}


def _with_contexts(
    quant: pd.DataFrame,
    loaded: Mapping[str, Sequence[str]] | Sequence[Theory],
    contexts: pd.DataFrame | None,
) -> pd.DataFrame:
    """Add each theory's ``context_dimension`` and the service's ``context`` on it.

    Services are placed by the realist analyses' one rule
    (:func:`~hubspoke.analysis.realist.inputs._own_context`); the pooled "All services"
    rows have no context.
    """
    tagged = quant.assign(
        context_dimension=quant["theory_id"].map(_theory_dimensions(loaded)).astype("string"),
        context=pd.Series(pd.NA, index=quant.index, dtype="string"),
    )
    if contexts is None:
        return tagged
    if isinstance(loaded, Mapping):
        raise ParameterError(
            "placing services in contexts needs the theories (each names its context dimension)",
            column="theories",
            allowed="loaded theories (load_theories)",
            found="a mapping of indicator ids",
        )
    pooled = tagged["service_id"].eq(ALL_SERVICES).fillna(False).to_numpy(dtype=bool)
    placed = _own_context(
        tagged[~pooled].drop(columns=["context_dimension", "context"]), contexts, loaded
    )
    return pd.concat([placed, tagged[pooled]], ignore_index=True)


# --------------------------------------------------------------------------- qualitative side
def _period_rows(frame: pd.DataFrame, service_id: str, year: Any) -> pd.DataFrame:
    """The judgements of one service (or all services) and year (or all years)."""
    part = frame if service_id == ALL_SERVICES else frame[frame["service_id"] == service_id]
    if pd.notna(year):
        part = part[part["year"] == int(year)]
    return part


def _qualitative(judgements: pd.DataFrame, periods: pd.DataFrame) -> pd.DataFrame:
    """Supports / refutes / refines per theory for each service and period asked for.

    Judgements pass through :func:`~hubspoke.analysis.realist.inputs._judgements`, the
    one place that checks them and keeps only the main judgement of a transcript
    (agreement re-judgements never count). The periods' rows are tallied together (one
    count, not one per period), each period keeping the theories it has judgements on.
    """
    frame = _judgements(judgements)
    asked = list(periods.itertuples(index=False))
    rows = pd.concat(
        [frame.iloc[:0].assign(_p=0)]
        + [_period_rows(frame, s, y).assign(_p=i) for i, (s, y) in enumerate(asked)],
        ignore_index=True,
    )
    if rows.empty:
        return (
            _tally(frame.iloc[:0], ["theory_id"])
            .assign(service_id=pd.NA, year=pd.NA)
            .astype({"service_id": "string", "year": "Int64", "theory_id": "string"})
        )
    seen = rows.loc[:, ["_p", "theory_id"]].drop_duplicates()
    tally = _tally(rows, ["_p", "theory_id"]).merge(seen, on=["_p", "theory_id"])
    chosen = tally["_p"].to_numpy()
    return (
        tally.drop(columns="_p")
        .assign(
            service_id=pd.array([asked[i][0] for i in chosen], dtype="string"),
            year=pd.array([asked[i][1] for i in chosen], dtype="Int64"),
            theory_id=tally["theory_id"].astype("string"),
        )
        .reset_index(drop=True)
    )


# --------------------------------------------------------------------------- calls and reasons
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


def _number(x: float) -> str:
    """A value in words: whole numbers without decimals, others to one decimal place."""
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.1f}"


def value_words(value: Any, n: Any, *, kind: Any = None, unit: Any = None) -> str:
    """The indicator's value with its n: '78% of 23', 'median 14 days, n=23', '12 young people'."""
    if pd.isna(value):
        return "no value"
    known_n = None if n is None or pd.isna(n) else int(n)
    kind = None if kind is None or pd.isna(kind) else str(kind)
    unit = None if unit is None or pd.isna(unit) else str(unit)
    if kind == "proportion" or unit == "proportion":
        return f"{float(value):.0%}" + ("" if known_n is None else f" of {known_n}")
    text = _number(float(value)) + (f" {unit}" if unit else "")
    if kind in ("count", "sum"):
        return text
    prefix = {"median": "median ", "mean": "mean ", "mean_change": "mean change "}.get(
        kind or "", ""
    )
    return prefix + text + ("" if known_n is None else f", n={known_n}")


def judgement_words(supports: int, refutes: int, refines: int) -> str:
    """The judgement counts in words: '1 supports, 4 refute, 0 refine'."""
    words = (("supports", "support"), ("refutes", "refute"), ("refines", "refine"))
    return ", ".join(
        f"{k} {one if k == 1 else many}"
        for k, (one, many) in zip((supports, refutes, refines), words, strict=True)
    )


def joint_reason(
    call: str, quant: str, qual_verdict: str, *, value_text: str, counts_text: str
) -> str:
    """One line naming both sides' numbers, e.g. 'indicator met (78% of 23) but interviews refute (...)'."""
    number = f"{_QUANT_WORDS[quant]} ({value_text})"
    interviews = f"{_QUAL_WORDS.get(qual_verdict, qual_verdict)} ({counts_text})"
    if call == CONFIRM:
        return f"{number} and {interviews}"
    if call == DISCORD:
        return f"{number} but {interviews}"
    if quant == QUANT_NO_DATA:
        return f"{number}; {interviews}: the interviews show what the number cannot"
    if qual_verdict == TOO_LITTLE:
        return f"{number}; {interviews}: the number stands alone"
    return f"{number}; {interviews}: the interviews add to what the number shows"


def _calls(merged: pd.DataFrame) -> pd.DataFrame:
    """Add ``quantitative, qualitative, call, reason`` from both sides of each row."""
    sides = [
        _quant_side(e, m)
        for e, m in zip(merged["enough_data"], merged["meets_threshold"], strict=True)
    ]
    calls = [joint_call(q, v)[0] for q, v in zip(sides, merged["verdict"], strict=True)]
    values = [
        value_words(v, n, kind=k, unit=u)
        for v, n, k, u in zip(
            merged["value"], merged["n"], merged["kind"], merged["unit"], strict=True
        )
    ]
    counts = [
        judgement_words(int(s), int(r), int(f))
        for s, r, f in zip(merged["supports"], merged["refutes"], merged["refines"], strict=True)
    ]
    reasons = [
        joint_reason(c, q, v, value_text=vt, counts_text=ct)
        for c, q, v, vt, ct in zip(calls, sides, merged["verdict"], values, counts, strict=True)
    ]
    return merged.assign(
        quantitative=pd.array(sides, dtype="string"),
        qualitative=merged["verdict"],
        n_transcripts=merged["n_judgements"],
        call=pd.array(calls, dtype="string"),
        reason=pd.array(reasons, dtype="string"),
    )


# --------------------------------------------------------------------------- joint display
def joint_display(
    indicators: pd.DataFrame,
    judgements: pd.DataFrame,
    *,
    theories: Mapping[str, Sequence[str]] | Sequence[Theory] | None = None,
    service_id: str | None = None,
    contexts: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Each theory's indicators beside the qualitative verdict, per service and period: both sides.

    ``indicators`` is the outcome indicator table
    (:func:`hubspoke.analysis.outcomes.indicators`: ``service_id, year, indicator_id,
    value, enough_data, meets_threshold`` and ``n_units`` or ``denominator``; ``ci_low,
    ci_high, ci_method, kind, unit, numerator, indicator`` are used when present, see
    :data:`JOINT_INTERVAL_NOTE`). A row with a year is matched with that year's
    interviews; a row without one (pooled years) with all years; ``service_id == "All
    services"`` with every service. ``judgements``: only main judgements count
    (agreement re-judgements are dropped by the one judgement reader).
    ``theories``: loaded theories (default ``theories.toml``) or ``{theory_id: [indicator
    ids]}`` (then no context dimension is known). ``contexts``: per service its value on
    each context dimension
    (:func:`~hubspoke.analysis.realist.evidence.service_context_table`); without it
    ``context`` is missing.

    One row per theory, service, year and indicator, columns :data:`JOINT_COLUMNS`:
    the theory and its own ``context_dimension`` with the service's ``context`` on it;
    the indicator's ``value, n, ci_low, ci_high, ci_method``, ``meets_threshold,
    enough_data`` and the ``quantitative`` side; the interviews' ``n_transcripts,
    supports, refutes, refines`` (and shares) and their verdict (``qualitative``); the
    ``call`` and a one-line ``reason`` naming both sides' numbers
    (:data:`JOINT_DISPLAY_RULE`). Rows are ordered by theory, context, service, year
    and indicator (main first).
    """
    loaded = load_theories() if theories is None else theories
    mapping = _indicator_ids(loaded)
    labels = {} if isinstance(loaded, Mapping) else {t.id: t.label for t in loaded}
    quant = _quantities(indicators)
    links = _theory_links(mapping, set(quant["indicator_id"].dropna()))
    if service_id is not None:
        quant = quant[quant["service_id"] == service_id]
    quant = _with_interval(quant).merge(links, on="indicator_id")
    quant = _with_contexts(quant, loaded, contexts)
    qual = _qualitative(judgements, quant[["service_id", "year"]].drop_duplicates())
    merged = quant.merge(qual, on=["service_id", "year", "theory_id"], how="left").fillna(
        {j: 0 for j in JUDGEMENTS}
    )
    merged = _with_verdicts(merged.drop(columns=["verdict", "n_judgements"], errors="ignore"))
    rows = _calls(merged).assign(
        theory=merged["theory_id"].map(labels).astype("string"),
        _s=merged["service_id"].eq(ALL_SERVICES),
    )
    return (
        _sort_contexts(rows, extra=["_s", "service_id", "year", "_rank"])
        .loc[:, list(JOINT_COLUMNS)]
        .reset_index(drop=True)
    )


def joint_summary(joint: pd.DataFrame, *, theories: Sequence[Theory] | None = None) -> pd.DataFrame:
    """Theories as rows, services as columns: the joint-display call on each theory's main indicator.

    ``joint`` is :func:`joint_display`'s frame. The main indicator is the first listed
    for the theory in ``theories.toml``. Cells are words (confirm / expand / discord),
    not counts: the numbers behind each call (``value, n, ci_low, ci_high``, the
    ``supports / refutes / refines`` counts), its ``reason`` and the service's
    ``context`` stay in ``joint`` itself.
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
