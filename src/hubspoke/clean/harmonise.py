"""Harmonisation verbs: one cleaning step per function, frame in, new frame out.

Each verb parses a text column into its clean form and leaves, for every value
that cannot be cleaned, a reason in a problem column (``problem_column(name)``)
that quarantine turns into a row-level check. Missing-value markers become NA,
never a problem. Parsing maps over the distinct values of a column, not over
rows, so a million rows with a few thousand distinct dates cost a few thousand
parses.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from hubspoke.spec import raw as rs
from hubspoke.spec import vocab
from hubspoke.spec.processed import AGE_BANDS

#: A parser: one distinct text value -> (clean value or None, reason or None).
Parser = Callable[[str], tuple[Any, str | None]]

EXCEL_EPOCH = dt.date(1899, 12, 30)
#: Serial day numbers accepted as dates (1954-10-03 .. 2064-04-11).
SERIAL_RANGE = (20000, 60000)
#: Dates outside these years are reported as implausible.
DATE_YEARS = (1990, 2030)

_AGE = re.compile(
    r"^(?P<n>\d+(?:\.0+)?)\s*(?:y|yo|y/o|yr|yrs|year|years)?\.?(?:\s*old)?$", re.IGNORECASE
)
_NUMBER = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)?(\.\d+)?$")


def problem_column(name: str) -> str:
    """Name of the column holding the reasons ``name`` could not be cleaned."""
    return f"_problem.{name}"


def is_missing(text: str) -> bool:
    """True for an empty cell or a missing-value marker (``n/k``, ``-``, ...)."""
    return vocab.normalise_label(text) in vocab.MISSING_MARKERS


def map_unique(raw: pd.Series, parse: Parser, dtype: Any = object) -> tuple[pd.Series, pd.Series]:
    """Apply ``parse`` to each distinct value of ``raw``; return values (as ``dtype``) and reasons.

    The typed arrays are built once per distinct value and expanded with
    ``take``, so the cost grows with the number of distinct values, not rows.
    """
    codes, uniques = pd.factorize(raw, use_na_sentinel=True)
    results = [parse(str(u)) for u in uniques]
    return expand_unique(codes, results, raw.index, dtype)


def expand_unique(
    codes: np.ndarray, results: list[tuple[Any, str | None]], index: pd.Index, dtype: Any = object
) -> tuple[pd.Series, pd.Series]:
    """Per-row values (as ``dtype``) and reasons from one result per code (code -1: missing, no reason).

    The arrays are taken directly (no index is taken and then replaced, nothing copied again).
    """
    codes = np.where(codes < 0, len(results), codes)
    value_u = pd.Series([v for v, _ in results] + [None], dtype=dtype)
    values = pd.Series(value_u.array.take(codes), index=index, copy=False)
    reasons = reason_categories([r for _, r in results] + [None], codes)
    return values, pd.Series(reasons, index=index, copy=False)


def reason_categories(texts: list[str | None], codes: np.ndarray) -> pd.Categorical:
    """``texts[codes]`` as a categorical of ``string`` categories (``None``: NA).

    Holds the same texts as ``pd.array(texts, dtype="string").take(codes)`` but
    is built from the codes alone: a million rows of reasons, nearly all NA,
    cost one integer take instead of laying out a million strings.
    """
    categories = list(dict.fromkeys(t for t in texts if t is not None))
    position = {text: i for i, text in enumerate(categories)}
    per_code = np.array([-1 if t is None else position[t] for t in texts], dtype=np.int32)
    return pd.Categorical.from_codes(
        per_code[codes], categories=pd.Index(categories, dtype="string"), validate=False
    )


def _with(frame: pd.DataFrame, name: str, values: pd.Series, reasons: pd.Series) -> pd.DataFrame:
    """The frame with ``name`` replaced by ``values`` and its problem column set."""
    return frame.assign(**{name: values, problem_column(name): reasons})


# ---------------------------------------------------------------------------
# Text parsers (one distinct value at a time)
# ---------------------------------------------------------------------------


def vocabulary_lookup(vocabulary: Mapping[str, tuple[str, ...]]) -> dict[str, str]:
    """Every variant (normalised) -> canonical label; the first canonical wins a clash."""
    lookup: dict[str, str] = {}
    for canonical, variants in vocabulary.items():
        for v in (vocab.normalise_label(canonical), *variants):
            lookup.setdefault(vocab.normalise_label(v), canonical)
    return lookup


_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u2013": "-", "\u2014": "-", "\u00a0": " "})


def label_of(text: str) -> str:
    """:func:`~hubspoke.spec.raw.normalise_label` after folding typographic quotes and dashes."""
    return vocab.normalise_label(str(text).translate(_QUOTES))


def lookup_parser(
    column: str, lookup: Mapping[str, str], *, what: str, allowed: list[str]
) -> Parser:
    """Variant -> canonical label through ``lookup``; a missing marker -> None; anything else a reason."""
    allowed_text = ", ".join(allowed)

    def parse(text: str) -> tuple[Any, str | None]:
        label = label_of(text)
        if label in lookup:
            return lookup[label], None
        if label in vocab.MISSING_MARKERS:
            return None, None
        return None, f"{column}: {text.strip()!r} is not {what} (allowed: {allowed_text})"

    return parse


def category_parser(column: str, vocabulary: Mapping[str, tuple[str, ...]]) -> Parser:
    """Variant -> canonical label; a missing marker -> None; anything else a reason."""
    return lookup_parser(
        column, vocabulary_lookup(vocabulary), what="a known value", allowed=list(vocabulary)
    )


def _range_reason(column: str, value: float, lo: float | None, hi: float | None) -> str | None:
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        return f"{column}: {value:g} is outside the allowed range {_g(lo)}-{_g(hi)}"
    return None


def _g(x: float | None) -> str:
    return "" if x is None else f"{x:g}"


def _to_number(text: str) -> float | None:
    cleaned = text.strip().replace(" ", "")
    if not _NUMBER.match(cleaned) or not any(ch.isdigit() for ch in cleaned):
        return None
    value = float(cleaned.replace(",", ""))
    return value if math.isfinite(value) else None


def number_parser(column: str, lo: float | None, hi: float | None, *, whole: bool) -> Parser:
    """Text -> int (``whole``) or float within ``lo``-``hi``."""

    def parse(text: str) -> tuple[Any, str | None]:
        if is_missing(text):
            return None, None
        value = _to_number(text)
        if value is None:
            kind = "a whole number" if whole else "a number"
            return None, f"{column}: {text.strip()!r} is not {kind}"
        if whole and not value.is_integer():
            return None, f"{column}: {text.strip()!r} is not a whole number"
        reason = _range_reason(column, value, lo, hi)
        if reason:
            return None, reason
        return (int(value) if whole else value), None

    return parse


def age_parser(column: str, lo: float | None, hi: float | None) -> Parser:
    """Ages as ``14``, ``14 yrs``, ``15 years old`` -> whole years within ``lo``-``hi``."""

    def parse(text: str) -> tuple[Any, str | None]:
        if is_missing(text):
            return None, None
        match = _AGE.match(text.strip())
        if not match:
            return None, f"{column}: {text.strip()!r} is not an age in whole years"
        value = float(match["n"])
        reason = _range_reason(column, value, lo, hi)
        return (None, reason) if reason else (int(value), None)

    return parse


_SPACES = re.compile(r"\s+")
_MIDNIGHT = re.compile(r"[ T]00:00(:00)?(\.0+)?$")
_SERIAL = re.compile(r"\d+(\.\d+)?")
_ISO = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})$")
_DMY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})$")
_D_MON_Y = re.compile(r"^(\d{1,2})[ -]([A-Za-z]+)\.?[ -](\d{4}|\d{2})$")
_MONTHS = {
    name: i
    for i, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}


def _year(text: str) -> int:
    return int(text) + 2000 if len(text) == 2 else int(text)


def _date(y: int, m: int, d: int) -> dt.date | None:
    try:
        return dt.date(y, m, d)
    except ValueError:
        return None


def parse_date_text(text: str) -> dt.date | None:
    """A date from ISO, dd/mm/yyyy, d Mon yyyy, dd.mm.yy ... or an Excel serial day number.

    Day-first (UK) order; two-digit years are 20yy.
    """
    s = _SPACES.sub(" ", text.strip())
    s = _MIDNIGHT.sub("", s)
    if _SERIAL.fullmatch(s):
        number = float(s)
        if SERIAL_RANGE[0] <= number <= SERIAL_RANGE[1]:
            return EXCEL_EPOCH + dt.timedelta(days=int(number))
        return None
    if m := _ISO.match(s):
        return _date(int(m[1]), int(m[2]), int(m[3]))
    if m := _DMY.match(s):
        return _date(_year(m[3]), int(m[2]), int(m[1]))
    if (m := _D_MON_Y.match(s)) and m[2].lower() in _MONTHS:
        return _date(_year(m[3]), _MONTHS[m[2].lower()], int(m[1]))
    return None


def date_parser(column: str) -> Parser:
    """Text -> date in any accepted format; implausible years are a reason."""

    def parse(text: str) -> tuple[Any, str | None]:
        if is_missing(text):
            return None, None
        value = parse_date_text(text)
        if value is None:
            return (
                None,
                f"{column}: {text.strip()!r} is not a date (expected e.g. 2015-02-03 or 03/02/2015)",
            )
        if not DATE_YEARS[0] <= value.year <= DATE_YEARS[1]:
            return (
                None,
                f"{column}: {value.isoformat()} is outside the plausible years {DATE_YEARS[0]}-{DATE_YEARS[1]}",
            )
        return pd.Timestamp(value), None

    return parse


def risk_parser(column: str, tool: vocab.RiskTool) -> Parser:
    """A value on the service's own risk tool -> its canonical form on that tool."""
    levels = vocab.RISK_TOOLS[tool]
    if tool == "SERAF":

        def parse(text: str) -> tuple[Any, str | None]:
            if is_missing(text):
                return None, None
            value = _to_number(re.sub(r"(?i)^seraf\s*(score)?\s*:?\s*", "", text.strip()))
            if value is None or not value.is_integer():
                return (
                    None,
                    f"{column}: {text.strip()!r} is not a SERAF score (a whole number 0-{vocab.SERAF_MAX})",
                )
            if not 0 <= value <= vocab.SERAF_MAX:
                return (
                    None,
                    f"{column}: SERAF score {value:g} is outside the allowed range 0-{vocab.SERAF_MAX}",
                )
            return str(int(value)), None

        return parse
    variants = {k: v for k, v in vocab.RISK_VARIANTS.items() if k in levels}
    return lookup_parser(
        column, vocabulary_lookup(variants), what=f"a {tool} value", allowed=list(levels)
    )


# ---------------------------------------------------------------------------
# Frame verbs
# ---------------------------------------------------------------------------


def harmonise_ids(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Trim id and text columns; missing markers -> NA."""
    out = {}
    for c in columns:
        text = frame[c].astype("string").str.strip()
        out[c] = text.mask(text.str.lower().isin(vocab.MISSING_MARKERS) | text.isna())
    return frame.assign(**out)


def harmonise_category(
    frame: pd.DataFrame, column: str, vocabulary: Mapping[str, tuple[str, ...]]
) -> pd.DataFrame:
    """Labels -> one vocabulary (categorical)."""
    dtype = pd.CategoricalDtype(list(vocabulary))
    values, reasons = map_unique(frame[column], category_parser(column, vocabulary), dtype)
    return _with(frame, column, values, reasons)


def harmonise_number(
    frame: pd.DataFrame, column: str, lo: float | None, hi: float | None, *, whole: bool
) -> pd.DataFrame:
    """Numbers from text, checked against their range."""
    parser = number_parser(column, lo, hi, whole=whole)
    values, reasons = map_unique(frame[column], parser, "Int64" if whole else "Float64")
    return _with(frame, column, values, reasons)


def harmonise_age(
    frame: pd.DataFrame, column: str, lo: float | None, hi: float | None
) -> pd.DataFrame:
    """Ages from text such as ``14 yrs``."""
    values, reasons = map_unique(frame[column], age_parser(column, lo, hi), "Int64")
    return _with(frame, column, values, reasons)


def harmonise_date(frame: pd.DataFrame, column: str) -> pd.DataFrame:
    """Dates in every accepted format, Excel serial numbers included."""
    values, reasons = map_unique(frame[column], date_parser(column), "datetime64[ns]")
    return _with(frame, column, values, reasons)


def _tool_risk_parser(column: str) -> Parser:
    """Parser of ``"<tool>\x1f<value>"`` pairs: each service's value read on its own tool."""
    parsers: dict[str, Parser] = {tool: risk_parser(column, tool) for tool in vocab.RISK_TOOLS}

    def parse(pair: str) -> tuple[Any, str | None]:
        tool, _, text = pair.partition("\x1f")
        if tool not in parsers:
            return None, None if is_missing(
                text
            ) else f"{column}: risk tool unknown for this service"
        return parsers[tool](text)

    return parse


def harmonise_risk(
    frame: pd.DataFrame, column: str, tool_column: str = "risk_tool"
) -> pd.DataFrame:
    """Risk on each row's own tool -> ``<column>_raw`` (tool's value) and ``<column>`` (ordered scale).

    The tool comes from ``tool_column`` (the service's ``risk_tool`` from
    ``reference/services.csv``), so services using different tools are
    harmonised in one pass over the distinct (tool, value) pairs.
    """
    codes, pairs = _pair_codes(frame[tool_column], frame[column])
    parse = _tool_risk_parser(column)

    def level_of(pair: str) -> tuple[Any, str | None]:
        value, _ = parse(pair)
        tool = pair.partition("\x1f")[0]
        levels = vocab.RISK_TOOLS[tool] if vocab.is_risk_tool(tool) else {}
        return (levels.get(value) if value is not None else None), None

    raw, reasons = expand_unique(codes, [parse(p) for p in pairs], frame.index, "string")
    scale = pd.CategoricalDtype(list(vocab.RISK_SCALE), ordered=True)
    level, _ = expand_unique(codes, [level_of(p) for p in pairs], frame.index, scale)
    return frame.assign(**{f"{column}_raw": raw, column: level, problem_column(column): reasons})


def _pair_codes(tool: pd.Series, value: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Codes of the distinct ``"<tool>\x1f<value>"`` texts (missing = empty), without building them per row.

    Each column is coded alone and the code pairs are coded together, so only
    the distinct pairs are joined into text.
    """
    tool_codes, tools = pd.factorize(tool.astype("string").fillna(""))
    value_codes, values = pd.factorize(value.astype("string").fillna(""))
    codes, combined = pd.factorize(tool_codes * len(values) + value_codes)
    pairs = [f"{tools[c // len(values)]}\x1f{values[c % len(values)]}" for c in combined]
    return codes, pairs


def harmonise_table(frame: pd.DataFrame, table: rs.RawTable) -> pd.DataFrame:
    """Every present column of ``table`` harmonised by its declared kind (risk needs a ``risk_tool`` column)."""
    out = frame
    for col in table.columns:
        if col.name not in out:
            continue
        if col.kind in ("id", "text"):
            out = harmonise_ids(out, [col.name])
        elif col.kind == "category":
            out = harmonise_category(out, col.name, col.vocabulary or {})
        elif col.kind in ("int", "float"):
            out = harmonise_number(out, col.name, col.minimum, col.maximum, whole=col.kind == "int")
        elif col.kind == "age":
            out = harmonise_age(out, col.name, col.minimum, col.maximum)
        elif col.kind == "date":
            out = harmonise_date(out, col.name)
        elif col.kind == "risk" and "risk_tool" in out:
            out = harmonise_risk(out, col.name)
    return out


def add_missing_columns(frame: pd.DataFrame, table: rs.RawTable) -> pd.DataFrame:
    """Optional columns the file did not have, as all-NA text (harmonised like the others)."""
    absent = {
        c.name: pd.Series(pd.NA, index=frame.index, dtype="string")
        for c in table.columns
        if c.name not in frame and c.kind not in ("identifier", "free_text")
    }
    return frame.assign(**absent) if absent else frame


def drop_private_columns(frame: pd.DataFrame, table: rs.RawTable) -> pd.DataFrame:
    """Drop direct identifiers and free text: they never reach processed data."""
    private = [
        c.name for c in table.columns if c.kind in ("identifier", "free_text") and c.name in frame
    ]
    return frame.drop(columns=private)


# ---------------------------------------------------------------------------
# Derived fields
# ---------------------------------------------------------------------------


def add_age_band(frame: pd.DataFrame, column: str = "age") -> pd.DataFrame:
    """Age band from age (``Under 10``, ``10-13``, ``14-15``, ``16-17``, ``18+``)."""
    labels = [b for b, _ in AGE_BANDS]
    edges = [lo for _, lo in AGE_BANDS] + [200]
    band = pd.cut(
        frame[column].astype("Float64").to_numpy(dtype=float, na_value=np.nan),
        edges,
        right=False,
        labels=labels,
    )
    return frame.assign(age_band=pd.Categorical(band, categories=labels, ordered=True))


def add_risk_change(frame: pd.DataFrame) -> pd.DataFrame:
    """risk_change (latest minus referral on the ordered scale) and risk_reduced (null if either missing)."""
    start = (
        frame["risk_at_referral"].cat.codes.astype("Int64").mask(frame["risk_at_referral"].isna())
    )
    latest = frame["risk_latest"].cat.codes.astype("Int64").mask(frame["risk_latest"].isna())
    change = latest - start
    return frame.assign(
        risk_change=change, risk_reduced=change.lt(0).astype("boolean").mask(change.isna())
    )


def add_missing_change(frame: pd.DataFrame) -> pd.DataFrame:
    """Missing episodes after minus before."""
    return frame.assign(missing_change=frame["missing_after"] - frame["missing_before"])


def add_episode_days(frame: pd.DataFrame) -> pd.DataFrame:
    """Days from referral to closure (null while open)."""
    days = (frame["closure_date"] - frame["referral_date"]).dt.days
    return frame.assign(episode_days=days.astype("Int64"))


def add_planned_ending(frame: pd.DataFrame) -> pd.DataFrame:
    """Whether the ending was planned (null while open or reason unknown).

    The reasons are tested as they are: a harmonised (categorical) column is tested
    by its few categories, not made into a million strings first (0.18 -> 0.02 s).
    """
    reason = frame["closure_reason"]
    planned = reason.isin(vocab.PLANNED_ENDINGS).astype("boolean").mask(reason.isna())
    return frame.assign(planned_ending=planned)


def add_confidence_change(frame: pd.DataFrame) -> pd.DataFrame:
    """Training confidence after minus before."""
    return frame.assign(confidence_change=frame["confidence_after"] - frame["confidence_before"])


def add_status_score(frame: pd.DataFrame) -> pd.DataFrame:
    """Policy status as a 0-3 progress score."""
    status = frame["status"].astype(pd.CategoricalDtype(list(vocab.POLICY_SCALE), ordered=True))
    return frame.assign(
        status=status, status_score=status.cat.codes.astype("Int64").mask(status.isna())
    )


def reorder_scale(frame: pd.DataFrame, column: str, scale: tuple[str, ...]) -> pd.DataFrame:
    """Make a categorical column ordered on ``scale``."""
    return frame.assign(
        **{column: frame[column].astype(pd.CategoricalDtype(list(scale), ordered=True))}
    )
