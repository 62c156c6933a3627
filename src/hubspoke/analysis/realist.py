"""Realist synthesis of the coded interviews, mixed-methods joint displays and coding quality.

The programme theories (PT1-PT6) and the indicators each is tested against live in
``theories.toml`` (:func:`load_theories`). From the processed ``judgements`` (one
judgement per transcript and theory: supports, refutes or refines), ``codings`` and
``codebook`` tables this module builds:

* :func:`theory_context_matrix` - supports / refutes / refines per theory and context
  (model variant or host setting) with a verdict per cell (:data:`VERDICT_RULE`);
* :func:`evidence_counts` - transcripts and coded segments per theory by role and year;
* :func:`joint_display` - each theory's quantitative indicators beside the qualitative
  verdict per service, with a confirm / expand / discord call (:data:`JOINT_DISPLAY_RULE`);
* :func:`theory_evidence` - verdict counts and a few safe quotes per theory for one
  service-year (quotes re-redacted and attributed by role and year only);
* :func:`refined_theories` - each theory with the contexts where it was refined or refuted;
* :func:`coding_quality` and :func:`coding_summary` - agreement between coders.

Disclosure: these tables count interviews and judgements, not children, but an
interview count for a small group of respondents (young people, parents or carers in
one service-year) could point to a person; pass such counts through
:func:`hubspoke.present.display.table` with ``count_columns``. All data are synthetic.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from hubspoke.analysis.agreement import per_code_agreement
from hubspoke.analysis.cross_site import host_labels
from hubspoke.errors import ParameterError, SchemaError
from hubspoke.load import ALL_SERVICES, service_order
from hubspoke.privacy.redact import attribute_quote, redact_names
from hubspoke.spec.raw import HOST_SETTINGS, JUDGEMENTS, MODEL_VARIANTS, RESPONDENT_ROLES

DEFAULT_THEORIES = Path(__file__).with_name("theories.toml")
CONTEXT_DIMENSIONS: tuple[str, ...] = ("model_variant", "host_setting")
#: Label for pooled services (the same label as the outcome indicator table uses).
MIXED_HOST = "Mixed"

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

_ID = re.compile(r"\b(?:S\d{2,3}|T\d{3,5}|SG\d{4,6})\b")
ID_PLACEHOLDER = "[id]"
_CMO_PRIORITY = {"outcome": 0, "mechanism": 1, "context": 2}


# --------------------------------------------------------------------------- theories
@dataclass(frozen=True)
class Theory:
    """One programme theory: statement, the context it is about and its indicators."""

    id: str
    label: str
    statement: str
    context_dimension: str
    context: str
    indicators: tuple[str, ...]
    refined: str
    refuted: str


_TEXT_FIELDS = ("id", "label", "statement", "context_dimension", "context", "refined", "refuted")
_THEORY_FIELDS = (*_TEXT_FIELDS, "indicators")


def _theory(raw: Any, position: int, path: Path) -> Theory:
    """One validated ``[[theories]]`` entry."""
    where = f"theories[{position}]"
    if not isinstance(raw, dict):
        raise SchemaError(f"{where} must be a table", file=path, found=type(raw).__name__)
    unknown = sorted(set(raw) - set(_THEORY_FIELDS))
    if unknown:
        raise SchemaError(
            f"{where}: unknown field", file=path, column=unknown[0], allowed=_THEORY_FIELDS
        )
    for name in _THEORY_FIELDS:
        if name not in raw:
            raise SchemaError(f"{where}: required field missing", file=path, column=name)
    for name in _TEXT_FIELDS:
        if not isinstance(raw[name], str) or not raw[name].strip():
            raise SchemaError(
                f"{where}: must be non-empty text", file=path, column=name, found=raw[name]
            )
    if not re.fullmatch(r"PT\d+", raw["id"]):
        raise SchemaError(
            f"{where}: theory id must look like PT1", file=path, column="id", found=raw["id"]
        )
    if raw["context_dimension"] not in CONTEXT_DIMENSIONS:
        raise SchemaError(
            f"{where} ({raw['id']}): unknown context dimension",
            file=path,
            column="context_dimension",
            allowed=CONTEXT_DIMENSIONS,
            found=raw["context_dimension"],
        )
    ids = raw["indicators"]
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and i for i in ids):
        raise SchemaError(
            f"{where} ({raw['id']}): indicators must be a non-empty list of indicator ids",
            file=path,
            column="indicators",
            found=ids,
        )
    for name in ("refined", "refuted"):
        fields = set(re.findall(r"{([^{}]*)}", raw[name]))
        if fields != {"contexts"}:
            raise SchemaError(
                f"{where} ({raw['id']}): template must use the one placeholder {{contexts}}",
                file=path,
                column=name,
                allowed=["{contexts}"],
                found=sorted(fields),
            )
    return Theory(**{n: raw[n].strip() for n in _TEXT_FIELDS}, indicators=tuple(ids))


def load_theories(path: str | Path | None = None) -> tuple[Theory, ...]:
    """Read and validate the programme theories (default: the packaged ``theories.toml``).

    Raises :class:`~hubspoke.errors.SchemaError` naming the file, the field, what is
    allowed and what was found.
    """
    path = Path(path) if path is not None else DEFAULT_THEORIES
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SchemaError("theories file not found", file=path) from None
    except tomllib.TOMLDecodeError as exc:
        raise SchemaError(f"not valid TOML ({exc})", file=path) from None
    entries = data.get("theories")
    if not isinstance(entries, list) or not entries:
        raise SchemaError("no [[theories]] entries", file=path, column="theories", found=entries)
    theories = tuple(_theory(raw, i, path) for i, raw in enumerate(entries))
    ids = [t.id for t in theories]
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    if duplicated:
        raise SchemaError("theory id used twice", file=path, column="id", found=duplicated[0])
    return theories


def theory_table(theories: Sequence[Theory] | None = None) -> pd.DataFrame:
    """The theories as a table: id, label, statement, context dimension, context, indicator ids."""
    theories = load_theories() if theories is None else theories
    return pd.DataFrame(
        [
            {
                "theory_id": t.id,
                "theory": t.label,
                "statement": t.statement,
                "context_dimension": t.context_dimension,
                "context": t.context,
                "indicator_ids": ", ".join(t.indicators),
            }
            for t in theories
        ]
    ).astype("string")


# --------------------------------------------------------------------------- checks and helpers
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


def service_contexts(
    services: pd.DataFrame, spokes: pd.DataFrame | None = None, *, by: str = "model_variant"
) -> pd.DataFrame:
    """Per service its context value: ``model_variant``, or ``host_setting`` (main host; a tie is "Mixed")."""
    if by not in CONTEXT_DIMENSIONS:
        raise ParameterError(
            "unknown context dimension", column="by", allowed=CONTEXT_DIMENSIONS, found=by
        )
    if by == "model_variant":
        frame = _require(services, ("service_id", "model_variant"), "services")
        return pd.DataFrame(
            {
                "service_id": frame["service_id"].astype("string").to_numpy(),
                "model_variant": frame["model_variant"].astype("string").to_numpy(),
            }
        )
    if spokes is None:
        raise ParameterError(
            "comparing by host setting needs the spokes table", column="spokes", found=None
        )
    _require(spokes, ("service_id", "host_setting"), "spokes")
    labels = host_labels(spokes)
    return labels.loc[:, ["service_id", "host_setting"]].astype("string")


def _context_order(by: str, seen: Iterable[str]) -> list[str]:
    """Context values in their fixed order (model variants, host settings, then Mixed)."""
    fixed = list(MODEL_VARIANTS) if by == "model_variant" else [*HOST_SETTINGS, MIXED_HOST]
    seen = [str(s) for s in dict.fromkeys(seen) if pd.notna(s)]
    return [v for v in fixed if v in seen] + sorted(v for v in seen if v not in fixed)


def _theory_order(ids: Iterable[str]) -> list[str]:
    """Theory ids by number (PT2 before PT10)."""
    return sorted(dict.fromkeys(map(str, ids)), key=lambda t: (int(re.sub(r"\D", "", t) or 0), t))


# --------------------------------------------------------------------------- theory x context
def theory_context_matrix(
    judgements: pd.DataFrame,
    services: pd.DataFrame,
    spokes: pd.DataFrame | None = None,
    *,
    by: Literal["model_variant", "host_setting"] = "model_variant",
    form: Literal["long", "wide"] = "long",
) -> pd.DataFrame:
    """Supports / refutes / refines per theory and context, with a verdict per cell.

    ``by="host_setting"`` places each service in its main host setting (needs
    ``spokes``). Every theory judged appears with every context of the services table,
    so empty cells show as "too little evidence".

    ``form="long"``: one row per theory and context: ``theory_id, <by>, supports,
    refutes, refines, n_judgements, share_supports, share_refutes, share_refines,
    modal_judgement, verdict``. ``form="wide"``: theories as rows, contexts as
    columns, each cell ``"<verdict> (n=<judgements>)"`` for display.
    """
    if form not in ("long", "wide"):
        raise ParameterError(
            "unknown table form", column="form", allowed=["long", "wide"], found=form
        )
    frame = _judgements(judgements)
    contexts = service_contexts(services, spokes, by=by)
    placed = frame.merge(contexts, on="service_id", how="left")
    unplaced = placed[by].isna()
    if unplaced.any():
        raise ParameterError(
            "judgement for a service not in the services table",
            column="service_id",
            found=str(placed.loc[unplaced, "service_id"].iloc[0]),
        )
    theories = _theory_order(frame["theory_id"])
    order = _context_order(by, contexts[by])
    grid = pd.MultiIndex.from_product([theories, order], names=["theory_id", by]).to_frame(
        index=False
    )
    counts = (
        grid.astype("string")
        .merge(
            _tally(placed, ["theory_id", by]).astype({by: "string"}),
            on=["theory_id", by],
            how="left",
        )
        .fillna({j: 0 for j in JUDGEMENTS})
        .loc[:, ["theory_id", by, *JUDGEMENTS]]
    )
    long = _with_verdicts(counts).assign(
        **{by: lambda d: pd.Categorical(d[by], categories=order, ordered=True)}
    )
    return long if form == "long" else matrix_wide(long, by=by)


def matrix_wide(long: pd.DataFrame, *, by: str = "model_variant") -> pd.DataFrame:
    """Wide display form of :func:`theory_context_matrix`: cell = ``"<verdict> (n=<judgements>)"``."""
    return (
        long.assign(cell=long["verdict"] + " (n=" + long["n_judgements"].astype("string") + ")")
        .pivot(index="theory_id", columns=by, values="cell")
        .rename_axis(index="Theory", columns=None)
    )


# --------------------------------------------------------------------------- evidence counts
_EVIDENCE_BY: tuple[str, ...] = ("respondent_role", "year", "service_id")


def _main_coding(codings: pd.DataFrame) -> pd.DataFrame:
    """Each transcript's codings by one coder: the one who applied most codes (ties: first by name).

    Double-coded transcripts would otherwise count their segments twice.
    """
    per_coder = (
        codings.groupby(["transcript_id", "coder"], observed=True)
        .size()
        .rename("n")
        .reset_index()
        .sort_values(["transcript_id", "n", "coder"], ascending=[True, False, True])
        .drop_duplicates("transcript_id")
    )
    return codings.merge(per_coder[["transcript_id", "coder"]], on=["transcript_id", "coder"])


def evidence_counts(
    codings: pd.DataFrame,
    judgements: pd.DataFrame,
    *,
    by: Sequence[str] = ("respondent_role", "year"),
) -> pd.DataFrame:
    """Transcripts, coded segments and judgements per theory by respondent role and year.

    Columns: ``theory_id, <by...>, n_transcripts`` (interviews with a judgement or a
    code on the theory), ``n_segments`` (coded segments, counting each transcript's
    main coder only), ``supports, refutes, refines``. Rows with nothing are left out.
    """
    by = list(by)
    bad = [b for b in by if b not in _EVIDENCE_BY]
    if bad:
        raise ParameterError(
            "cannot count evidence by this column", column="by", allowed=_EVIDENCE_BY, found=bad[0]
        )
    keys = ["theory_id", *by]
    codes = _require(codings, ("transcript_id", "coder", "theory_id", *by), "codings")
    judged = _require(_judgements(judgements), by, "judgements")
    norm = {
        "theory_id": "string",
        "transcript_id": "string",
        **{b: ("Int64" if b == "year" else "string") for b in by},
    }
    codes = codes.assign(**{c: codes[c].astype(t) for c, t in norm.items()})
    judged = judged.assign(**{c: judged[c].astype(t) for c, t in norm.items()})
    transcripts = (
        pd.concat([codes[[*keys, "transcript_id"]], judged[[*keys, "transcript_id"]]])
        .drop_duplicates()
        .groupby(keys, dropna=False)
        .size()
        .rename("n_transcripts")
    )
    segments = _main_coding(codes).groupby(keys, dropna=False).size().rename("n_segments")
    verdicts = (
        judged.groupby([*keys, "judgement"], dropna=False)
        .size()
        .unstack("judgement", fill_value=0)
        .reindex(columns=list(JUDGEMENTS), fill_value=0)
    )
    out = (
        pd.concat([transcripts, segments, verdicts], axis=1).fillna(0).astype("int64").reset_index()
    )
    out.columns.name = None
    out = out.assign(
        _t=out["theory_id"].map({t: i for i, t in enumerate(_theory_order(out["theory_id"]))})
    )
    if "respondent_role" in by:
        roles = [r for r in RESPONDENT_ROLES if r in set(out["respondent_role"].dropna())]
        out = out.assign(
            respondent_role=pd.Categorical(out["respondent_role"], categories=roles, ordered=True)
        )
    return out.sort_values(["_t", *by]).drop(columns="_t").reset_index(drop=True)


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


# --------------------------------------------------------------------------- quotes
def safe_quote(excerpt: str, *, names: Iterable[str] = (), places: Iterable[str] = ()) -> str:
    """An excerpt fit to quote: names and places redacted again, service/transcript ids removed."""
    text = redact_names(str(excerpt), names=names, places=places)
    return re.sub(r"\s+", " ", _ID.sub(ID_PLACEHOLDER, text)).strip()


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
        picked = _pick_quotes(codes[codes["theory_id"] == theory], max_quotes)
        for k in range(max_quotes):
            has = k < len(picked)
            row[f"quote_{k + 1}"] = str(picked["quote"].iloc[k]) if has else ""
            row[f"attribution_{k + 1}"] = (
                attribute_quote(str(picked["respondent_role"].iloc[k]), int(year)) if has else ""
            )
        rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- refined theories
def _context_phrase(values: Sequence[str], dimension: str) -> str:
    """Contexts in words: 'the Hub outreach and Rural dispersed models', 'Police host settings'."""
    if not values:
        return ""
    joined = values[0] if len(values) == 1 else ", ".join(values[:-1]) + " and " + values[-1]
    plural = len(values) > 1
    if dimension == "model_variant":
        return f"the {joined} model{'s' if plural else ''}"
    return f"{joined} host setting{'s' if plural else ''}"


def refined_theories(
    judgements: pd.DataFrame,
    theories: Sequence[Theory] | None = None,
    *,
    services: pd.DataFrame,
    spokes: pd.DataFrame | None = None,
    by: Literal["model_variant", "host_setting"] | None = "model_variant",
) -> pd.DataFrame:
    """Each theory with its counts and the contexts where the evidence refines or refutes it.

    Contexts come from :func:`theory_context_matrix` (verdict 'refined' or 'refuted');
    ``by=None`` uses each theory's own ``context_dimension``. Columns: ``theory_id,
    theory, statement, n_transcripts, supports, refutes, refines, verdict`` (over all
    contexts), ``refined_in, refuted_in, contested_in`` ('; '-separated), and
    ``refined_statement, refuted_statement`` (the templates filled, '' when none).
    """
    theories = load_theories() if theories is None else theories
    frame = _judgements(judgements)
    overall = _tally(frame, ["theory_id"]).set_index("theory_id")
    matrices: dict[str, pd.DataFrame] = {}
    rows = []
    for theory in theories:
        dim = by or theory.context_dimension
        if dim not in matrices:
            matrices[dim] = theory_context_matrix(frame, services, spokes, by=dim)  # type: ignore[arg-type]
        cells = matrices[dim][matrices[dim]["theory_id"] == theory.id]

        def where(v: str, cells: pd.DataFrame = cells, dim: str = dim) -> list[str]:
            return [str(c) for c in cells.loc[cells["verdict"] == v, dim]]

        refined, refuted = where(REFINED), where(REFUTED)
        counts = overall.loc[theory.id] if theory.id in overall.index else None
        rows.append(
            {
                "theory_id": theory.id,
                "theory": theory.label,
                "statement": theory.statement,
                "n_transcripts": int(counts["n_judgements"]) if counts is not None else 0,
                **{j: int(counts[j]) if counts is not None else 0 for j in JUDGEMENTS},
                "verdict": str(counts["verdict"]) if counts is not None else TOO_LITTLE,
                "refined_in": "; ".join(refined),
                "refuted_in": "; ".join(refuted),
                "contested_in": "; ".join(where(CONTESTED)),
                "refined_statement": theory.refined.format(contexts=_context_phrase(refined, dim))
                if refined
                else "",
                "refuted_statement": theory.refuted.format(contexts=_context_phrase(refuted, dim))
                if refuted
                else "",
            }
        )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- coding quality
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


#: Roles never quoted in a service-year report: within one service and year, even
#: "Young person, 2015" can point to someone.
UNQUOTED_ROLES: tuple[str, ...] = ("Young person", "Parent or carer")

#: ``display.table`` arguments for the frames below (interview counts are counts of people).
DISPLAY: Mapping[str, Mapping[str, object]] = {
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


def quotes_markdown(evidence: pd.DataFrame, *, theories: Sequence[Theory] | None = None) -> str:
    """The safe quotes of :func:`theory_evidence` as Markdown, grouped by theory, attributed by role and year."""
    names = {t.id: t.label for t in (theories or load_theories())}
    quote_cols = sorted(c for c in evidence.columns if c.startswith("quote_"))
    blocks = []
    for row in evidence.to_dict("records"):
        quotes = [
            f'> "{row[q].strip()}"  \n> — {row[q.replace("quote_", "attribution_")]}'
            for q in quote_cols
            if str(row.get(q) or "").strip()
        ]
        if quotes:
            blocks.append(
                f"**{row['theory_id']}: {names.get(row['theory_id'], '')}**\n\n"
                + "\n\n".join(quotes)
            )
    return (
        "\n\n".join(blocks)
        if blocks
        else "_No coded interview excerpts for this service and year._"
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


def role_evidence_table(counts: pd.DataFrame) -> pd.DataFrame:
    """:func:`evidence_counts` (by role) as theories x respondent roles: interviews per cell, with totals."""
    wide = (
        counts.pivot_table(
            index="theory_id",
            columns="respondent_role",
            values="n_transcripts",
            aggfunc="sum",
            observed=True,
        )
        .fillna(0)
        .astype(int)
    )
    wide = wide.loc[:, (wide > 0).any()]
    wide.columns = [str(c) for c in wide.columns]
    wide["Total"] = wide.sum(axis=1)
    wide.index.name = "Programme theory"
    return wide


def refined_display(refined: pd.DataFrame) -> pd.DataFrame:
    """:func:`refined_theories` as a table to show: statement, verdict, and where it was refined or refuted."""
    out = (
        refined.set_index("theory_id")
        .loc[:, ["statement", "verdict", "refined_in", "refuted_in", "refined_statement"]]
        .rename(
            columns={
                "statement": "Theory",
                "verdict": "Verdict overall",
                "refined_in": "Refined in",
                "refuted_in": "Refuted in",
                "refined_statement": "Refined statement",
            }
        )
    )
    out.index.name = "Programme theory"
    return out
