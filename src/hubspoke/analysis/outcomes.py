"""The six core outcomes: indicators per service-year and a plain-language rating.

The outcome framework is data (``outcomes.toml`` next to this module): outcomes,
their indicators (table, kind of computation, direction, target) and the rating
rule. :func:`load_framework` reads and validates it; :func:`indicators` computes
every indicator per service-year (or pooled, with ``by``); :func:`ratings` turns
indicators into one rating per outcome with the reason in words. Replacing the
file changes the reports without changing code.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from hubspoke import load
from hubspoke.errors import ConfigError, ParameterError, SchemaError
from hubspoke.load import ALL_SERVICES
from hubspoke.spec.processed import SCHEMAS
from hubspoke.spec.raw import SUBMISSION_TABLE_NAMES

#: The framework shipped with the package.
DEFAULT_FRAMEWORK = Path(__file__).with_name("outcomes.toml")

#: Kinds of computation an indicator may declare.
KINDS: tuple[str, ...] = ("count", "sum", "proportion", "mean", "median", "mean_change")
DIRECTIONS: tuple[str, ...] = ("higher", "lower")
#: Tables indicators may be computed from (one row per service-year submission row).
#: Tables an indicator may count from: the submission tables.
INDICATOR_TABLES: tuple[str, ...] = SUBMISSION_TABLE_NAMES
#: Condition operators (one per condition).
OPERATORS: tuple[str, ...] = ("in", "is", "min", "max", "notnull", "isnull")

#: Fields each kind requires / allows, beyond the common ones.
_COMMON = ("id", "label", "description", "table", "kind", "direction", "unit", "target")
_OPTIONAL = ("where", "min_n", "n_label")
_KIND_FIELDS: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]] = MappingProxyType(
    {
        "count": ((), ("distinct",)),
        "sum": (("column",), ()),
        "proportion": (("success",), ("required",)),
        "mean": ((), ("column", "difference")),
        "median": ((), ("column", "difference")),
        "mean_change": (("pairs",), ()),
    }
)
_NUMERIC = ("int", "float")
#: What one row of each table is, for plain-language text.
TABLE_UNITS: Mapping[str, str] = MappingProxyType(
    {
        "cases": "case records",
        "activities": "activity records",
        "spoke_survey": "Spoke worker responses",
        "policy": "policy elements",
    }
)
#: Columns of the indicator table, in order.
INDICATOR_COLUMNS: tuple[str, ...] = (
    "service_id", "year", "impact_area_id", "impact_area", "outcome_id", "outcome",
    "indicator_id", "indicator", "kind", "numerator", "denominator", "value", "unit",
    "direction", "target", "completeness", "n_units", "n_label", "min_n",
    "n_service_years", "enough_data", "meets_threshold",
)  # fmt: skip


# ---------------------------------------------------------------------------
# The framework as data
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Condition:
    """One filter on a column: ``op`` is one of :data:`OPERATORS`."""

    column: str
    op: str
    value: Any = None

    def text(self) -> str:
        """The condition in words, for the framework table."""
        if self.op == "in":
            return f"{self.column} in {', '.join(map(str, self.value))}"
        words = {
            "is": "is",
            "min": ">=",
            "max": "<=",
            "notnull": "recorded",
            "isnull": "not recorded",
        }
        tail = f" {self.value}" if self.op in ("is", "min", "max") else ""
        return f"{self.column} {words[self.op]}{tail}"


@dataclass(frozen=True)
class Indicator:
    """One indicator: where its data come from, how it is computed and its threshold."""

    id: str
    label: str
    description: str
    table: str
    kind: str
    direction: str
    unit: str
    target: float
    where: tuple[Condition, ...] = ()
    success: tuple[Condition, ...] = ()
    required: tuple[str, ...] = ()
    column: str | None = None
    difference: tuple[str, str] | None = None
    pairs: tuple[tuple[str, str], ...] = ()
    distinct: str | None = None
    min_n: int | None = None
    n_label: str = ""

    def threshold_text(self) -> str:
        """E.g. ``at least 0.4``, ``at most 14 days``."""
        word = "at least" if self.direction == "higher" else "at most"
        unit = "" if self.unit == "proportion" else f" {self.unit}"
        value = f"{self.target:.0%}" if self.unit == "proportion" else f"{self.target:g}"
        return f"{word} {value}{unit}"


@dataclass(frozen=True)
class Outcome:
    """One core outcome and its indicators."""

    id: int
    name: str
    impact_area_id: int
    impact_area: str
    statement: str
    indicators: tuple[Indicator, ...]


@dataclass(frozen=True)
class Level:
    """A rating and the share of assessable indicators that must meet their threshold."""

    label: str
    min_share_met: float


@dataclass(frozen=True)
class Rule:
    """The rating rule as data."""

    min_completeness: float
    min_indicators: int
    min_n: Mapping[str, int]
    levels: tuple[Level, ...]
    not_enough_label: str
    scale_targets_for_kinds: tuple[str, ...]
    text: str

    @property
    def labels(self) -> list[str]:
        """Rating labels from worst to best (the order of the rating category)."""
        return [
            self.not_enough_label,
            *(lv.label for lv in sorted(self.levels, key=lambda lv: lv.min_share_met)),
        ]


@dataclass(frozen=True)
class Framework:
    """The outcome framework read from one file."""

    title: str
    version: str
    outcomes: tuple[Outcome, ...]
    rule: Rule
    source: Path

    @property
    def indicators(self) -> list[tuple[Outcome, Indicator]]:
        """Every (outcome, indicator) pair in file order."""
        return [(o, i) for o in self.outcomes for i in o.indicators]

    def min_n(self, indicator: Indicator) -> int:
        """Units the indicator needs: its own ``min_n``, else the rule's default for its table."""
        return (
            indicator.min_n
            if indicator.min_n is not None
            else self.rule.min_n.get(indicator.table, 1)
        )


class _Reader:
    """Validating accessors over parsed TOML that name the file and place in every error."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(
        self,
        where: str,
        field: str,
        problem: str,
        *,
        allowed: Any = None,
        found: Any = None,
        column: str | None = None,
    ) -> SchemaError:
        return SchemaError(
            f"{where}: field {field!r} {problem}",
            file=self.path,
            column=column,
            allowed=allowed,
            found=found,
        )

    def get(
        self,
        data: Mapping[str, Any],
        field: str,
        where: str,
        types: type | tuple[type, ...],
        *,
        default: Any = ...,
        allowed: Sequence[Any] | None = None,
    ) -> Any:
        if field not in data:
            if default is not ...:
                return default
            raise self.fail(where, field, "is missing")
        value = data[field]
        if isinstance(value, bool) and bool not in (
            types if isinstance(types, tuple) else (types,)
        ):
            raise self.fail(where, field, "has the wrong type", found=value)
        if not isinstance(value, types):
            names = [t.__name__ for t in (types if isinstance(types, tuple) else (types,))]
            raise self.fail(where, field, f"must be {' or '.join(names)}", found=value)
        if allowed is not None and value not in allowed:
            raise self.fail(where, field, "has an unknown value", allowed=allowed, found=value)
        return value


def _column(reader: _Reader, table: str, column: Any, where: str, field: str) -> str:
    """Check ``column`` is a column of processed ``table``."""
    columns = SCHEMAS[table].columns
    if not isinstance(column, str) or column not in columns:
        raise reader.fail(
            where,
            field,
            f"names a column not in table {table}",
            allowed=columns,
            found=column,
            column=str(column),
        )
    return column


def _dtype(table: str, column: str) -> str:
    return SCHEMAS[table].field(column).dtype


def _fits(dtype: str, allowed: Sequence[str], value: Any) -> bool:
    """Whether ``value`` can occur in a column of this type (and category list)."""
    if dtype == "category":
        return value in allowed
    if dtype == "bool":
        return isinstance(value, bool)
    if dtype in _NUMERIC:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, str)


def _conditions(
    reader: _Reader, data: Any, table: str, where: str, field: str
) -> tuple[Condition, ...]:
    """Parse a list of conditions, checking columns, operators and category values."""
    if not isinstance(data, list) or not all(isinstance(c, dict) for c in data):
        raise reader.fail(
            where, field, "must be a list of tables like { column = ..., in = [...] }", found=data
        )
    out = []
    for cond in data:
        column = _column(reader, table, cond.get("column"), where, field)
        ops = [k for k in cond if k != "column"]
        if len(ops) != 1 or ops[0] not in OPERATORS:
            raise reader.fail(
                where,
                field,
                "needs exactly one operator per condition",
                allowed=OPERATORS,
                found=ops,
            )
        op, value = ops[0], cond[ops[0]]
        spec = SCHEMAS[table].field(column)
        if op == "in":
            if not isinstance(value, list) or not value:
                raise reader.fail(where, field, "'in' needs a non-empty list", found=value)
            unknown = [v for v in value if not _fits(spec.dtype, spec.allowed, v)]
            if unknown:
                raise reader.fail(
                    where,
                    field,
                    f"lists values not allowed in {table}.{column}",
                    allowed=spec.allowed or f"{spec.dtype} values",
                    found=unknown,
                    column=column,
                )
            value = tuple(value)
        elif op == "is" and not isinstance(value, bool):
            raise reader.fail(where, field, "'is' needs true or false", found=value)
        elif op in ("min", "max") and (
            isinstance(value, bool) or not isinstance(value, (int, float))
        ):
            raise reader.fail(where, field, f"'{op}' needs a number", found=value)
        elif op in ("notnull", "isnull") and value is not True:
            raise reader.fail(where, field, f"'{op}' must be true", found=value)
        out.append(Condition(column, op, value))
    return tuple(out)


def _pair(reader: _Reader, value: Any, table: str, where: str, field: str) -> tuple[str, str]:
    """A [before, after] pair of columns of the same kind (numbers or dates)."""
    if not isinstance(value, list) or len(value) != 2:
        raise reader.fail(where, field, "must be a pair [before, after] of columns", found=value)
    before, after = (_column(reader, table, c, where, field) for c in value)
    kinds = {_dtype(table, before), _dtype(table, after)}
    if not (kinds <= set(_NUMERIC) or kinds == {"date"}):
        raise reader.fail(where, field, "must pair two numeric or two date columns", found=value)
    return before, after


def _indicator(reader: _Reader, data: Any, outcome_where: str) -> Indicator:
    """Parse and validate one indicator."""
    if not isinstance(data, dict):
        raise reader.fail(outcome_where, "indicators", "must be a list of tables", found=data)
    where = f"{outcome_where}, indicator {data.get('id', '?')!r}"
    g = reader.get
    kind = g(data, "kind", where, str, allowed=KINDS)
    table = g(data, "table", where, str, allowed=INDICATOR_TABLES)
    needed, optional = _KIND_FIELDS[kind]
    allowed_fields = (*_COMMON, *_OPTIONAL, *needed, *optional)
    unknown = [k for k in data if k not in allowed_fields]
    if unknown:
        raise reader.fail(
            where,
            unknown[0],
            f"is not a field of a {kind} indicator",
            allowed=allowed_fields,
            found=unknown[0],
        )
    for name in needed:
        g(data, name, where, object)
    column = difference = None
    if "column" in data:
        column = _column(reader, table, data["column"], where, "column")
        if _dtype(table, column) not in _NUMERIC:
            raise reader.fail(
                where, "column", "must name a numeric column", found=column, column=column
            )
    if "difference" in data:
        difference = _pair(reader, data["difference"], table, where, "difference")
    if kind in ("mean", "median") and (column is None) == (difference is None):
        raise reader.fail(
            where, "column", f"a {kind} indicator needs exactly one of 'column' or 'difference'"
        )
    pairs: tuple[tuple[str, str], ...] = ()
    if kind == "mean_change":
        raw = g(data, "pairs", where, list)
        if not raw:
            raise reader.fail(
                where, "pairs", "must list at least one [before, after] pair", found=raw
            )
        pairs = tuple(_pair(reader, p, table, where, "pairs") for p in raw)
    min_n = g(data, "min_n", where, int, default=None)
    if min_n is not None and min_n < 0:
        raise reader.fail(where, "min_n", "must be 0 or more", found=min_n)
    return Indicator(
        id=g(data, "id", where, str),
        label=g(data, "label", where, str),
        description=g(data, "description", where, str),
        table=table,
        kind=kind,
        direction=g(data, "direction", where, str, allowed=DIRECTIONS),
        unit=g(data, "unit", where, str),
        target=float(g(data, "target", where, (int, float))),
        where=_conditions(reader, data.get("where", []), table, where, "where"),
        success=_conditions(reader, data.get("success", []), table, where, "success"),
        required=tuple(
            _column(reader, table, c, where, "required")
            for c in g(data, "required", where, list, default=[])
        ),
        column=column,
        difference=difference,
        pairs=pairs,
        distinct=_column(reader, table, data["distinct"], where, "distinct")
        if "distinct" in data
        else None,
        min_n=min_n,
        n_label=g(data, "n_label", where, str, default=""),
    )


def _rule(reader: _Reader, data: Any) -> Rule:
    """Parse and validate the rating rule."""
    if not isinstance(data, dict):
        raise reader.fail("framework", "rule", "is missing or not a table", found=data)
    g, where = reader.get, "rule"
    min_n = g(data, "min_n", where, dict, default={})
    for table, n in min_n.items():
        if table not in INDICATOR_TABLES:
            raise reader.fail(
                where, "min_n", "names an unknown table", allowed=INDICATOR_TABLES, found=table
            )
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise reader.fail(
                where, "min_n", f"for {table} must be a whole number 0 or more", found=n
            )
    levels = g(data, "levels", where, list)
    parsed = tuple(
        Level(
            g(lv, "label", "rule level", str),
            float(g(lv, "min_share_met", "rule level", (int, float))),
        )
        for lv in levels
        if isinstance(lv, dict)
    )
    if len(parsed) != len(levels) or not parsed or min(lv.min_share_met for lv in parsed) > 0:
        raise reader.fail(
            where,
            "levels",
            "must be tables with label and min_share_met, the lowest 0",
            found=levels,
        )
    completeness = float(g(data, "min_completeness", where, (int, float)))
    if not 0 <= completeness <= 1:
        raise reader.fail(where, "min_completeness", "must be between 0 and 1", found=completeness)
    scale = g(data, "scale_targets_for_kinds", where, list, default=[])
    bad = [k for k in scale if k not in KINDS]
    if bad:
        raise reader.fail(
            where, "scale_targets_for_kinds", "lists unknown kinds", allowed=KINDS, found=bad
        )
    rule = Rule(
        min_completeness=completeness,
        min_indicators=g(data, "min_indicators", where, int),
        min_n=MappingProxyType(dict(min_n)),
        levels=tuple(sorted(parsed, key=lambda lv: -lv.min_share_met)),
        not_enough_label=g(data, "not_enough_label", where, str, default="Not enough data"),
        scale_targets_for_kinds=tuple(scale),
        text=g(data, "text", where, str),
    )
    try:
        _format_rule(rule)
    except (KeyError, ValueError, IndexError) as exc:
        raise reader.fail(
            where,
            "text",
            f"uses an unknown placeholder ({exc})",
            allowed=sorted(_rule_fields(rule)),
            found=rule.text[:60],
        ) from None
    return rule


def load_framework(path: Path | None = None) -> Framework:
    """Read and validate the outcome framework (default: ``outcomes.toml`` next to this module)."""
    path = Path(path) if path is not None else DEFAULT_FRAMEWORK
    if not path.is_file():
        raise ConfigError("outcome framework file not found", file=path)
    reader = _Reader(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise SchemaError(f"outcome framework is not valid TOML ({exc})", file=path) from None
    rule = _rule(reader, data.get("rule"))
    areas_raw = reader.get(data, "impact_areas", "framework", list)
    areas = {
        reader.get(a, "id", "impact area", int): reader.get(a, "name", "impact area", str)
        for a in areas_raw
    }
    outcomes = []
    for raw in reader.get(data, "outcomes", "framework", list):
        oid = reader.get(raw, "id", "outcome", int)
        where = f"outcome {oid}"
        area = reader.get(raw, "impact_area", where, int, allowed=list(areas))
        inds = reader.get(raw, "indicators", where, list)
        if not inds:
            raise reader.fail(where, "indicators", "must list at least one indicator", found=inds)
        outcomes.append(
            Outcome(
                oid,
                reader.get(raw, "name", where, str),
                area,
                areas[area],
                reader.get(raw, "statement", where, str),
                tuple(_indicator(reader, i, where) for i in inds),
            )
        )
    ids = [i.id for o in outcomes for i in o.indicators]
    dupes = sorted(
        {i for i in ids if ids.count(i) > 1}
        | {str(o.id) for o in outcomes if [p.id for p in outcomes].count(o.id) > 1}
    )
    if dupes:
        raise reader.fail(
            "framework", "id", "must be unique across outcomes and across indicators", found=dupes
        )
    if not outcomes:
        raise reader.fail("framework", "outcomes", "must list at least one outcome")
    return Framework(
        title=reader.get(data, "title", "framework", str, default="Outcome framework"),
        version=str(reader.get(data, "version", "framework", (str, int, float), default="")),
        outcomes=tuple(outcomes),
        rule=rule,
        source=path,
    )


# ---------------------------------------------------------------------------
# Describing the framework
# ---------------------------------------------------------------------------


def _rule_fields(rule: Rule) -> dict[str, Any]:
    levels = "; ".join(
        f'"{lv.label}" when {lv.min_share_met:.0%} or more meet it'
        if lv.min_share_met > 0
        else f'"{lv.label}" otherwise'
        for lv in rule.levels
    )
    return {
        "min_completeness": rule.min_completeness,
        "min_indicators": rule.min_indicators,
        "not_enough_label": rule.not_enough_label,
        "min_n_text": ", ".join(f"{n} {TABLE_UNITS[t]}" for t, n in rule.min_n.items()) or "1 row",
        "levels_text": levels,
        "scaled_kinds": ", ".join(rule.scale_targets_for_kinds),
    }


def _format_rule(rule: Rule) -> str:
    return rule.text.strip().format(**_rule_fields(rule))


def outcome_rule_text(framework: Framework | None = None) -> str:
    """The rating rule in plain words, with the numbers from the framework file filled in."""
    return _format_rule((framework or load_framework()).rule)


def _computation_text(ind: Indicator) -> str:
    parts = {
        "count": f"count of {'distinct ' + ind.distinct if ind.distinct else 'rows'}",
        "sum": f"sum of {ind.column}",
        "proportion": "share meeting " + " and ".join(c.text() for c in ind.success),
        "mean": f"mean of {ind.column or ' minus '.join(reversed(ind.difference or ()))}",
        "median": f"median of {ind.column or ' minus '.join(reversed(ind.difference or ()))}",
        "mean_change": f"mean change over {len(ind.pairs)} before/after pair(s)",
    }
    where = f" where {' and '.join(c.text() for c in ind.where)}" if ind.where else ""
    return f"{parts[ind.kind]} ({ind.table}{where})"


def framework_table(framework: Framework | None = None) -> pd.DataFrame:
    """One row per indicator: outcome, statement, what is computed, direction and threshold (for reports)."""
    fw = framework or load_framework()
    rows = [
        {
            "impact_area_id": o.impact_area_id, "impact_area": o.impact_area, "outcome_id": o.id,
            "outcome": o.name, "statement": o.statement, "indicator_id": i.id, "indicator": i.label,
            "description": i.description, "table": i.table, "kind": i.kind, "computation": _computation_text(i),
            "direction": i.direction, "unit": i.unit, "target": i.target, "threshold": i.threshold_text(),
            "min_n": fw.min_n(i),
        }
        for o, i in fw.indicators
    ]  # fmt: skip
    return pd.DataFrame(rows).astype(
        {"outcome_id": "Int64", "impact_area_id": "Int64", "min_n": "Int64"}
    )


# ---------------------------------------------------------------------------
# Computing indicators (vectorised per table)
# ---------------------------------------------------------------------------


def _mask(frame: pd.DataFrame, conditions: Sequence[Condition]) -> pd.Series:
    """Rows meeting every condition (a missing value never meets one)."""
    mask = pd.Series(True, index=frame.index)
    for c in conditions:
        col = frame[c.column]
        test = {
            "in": lambda s, v: s.isin(v),
            "is": lambda s, v: s.eq(v),
            "min": lambda s, v: s.ge(v),
            "max": lambda s, v: s.le(v),
            "notnull": lambda s, v: s.notna(),
            "isnull": lambda s, v: s.isna(),
        }[c.op](col, c.value)
        mask &= pd.Series(test, index=frame.index).fillna(False).astype(bool)
    return mask


def _difference(frame: pd.DataFrame, before: str, after: str) -> pd.Series:
    """After minus before as floats (days for dates)."""
    diff = frame[after] - frame[before]
    if pd.api.types.is_timedelta64_dtype(diff):
        return diff.dt.days.astype("Float64")
    return diff.astype("Float64")


def _row_values(frame: pd.DataFrame, ind: Indicator) -> pd.DataFrame:
    """Per row: eligible, has_data, success and value columns for the indicator."""
    eligible = _mask(frame, ind.where)
    success = pd.Series(np.nan, index=frame.index, dtype="Float64")
    value = pd.Series(np.nan, index=frame.index, dtype="Float64")
    if ind.kind == "count":
        has = frame[ind.distinct].notna() if ind.distinct else pd.Series(True, index=frame.index)
    elif ind.kind == "proportion":
        needed = list(dict.fromkeys([*(c.column for c in ind.success), *ind.required]))
        has = frame[needed].notna().all(axis=1)
        success = _mask(frame, ind.success).astype("Float64")
    elif ind.kind == "mean_change":
        changes = pd.concat([_difference(frame, b, a) for b, a in ind.pairs], axis=1)
        value = changes.mean(axis=1, skipna=True).astype("Float64")
        has = value.notna()
    else:
        value = (
            _difference(frame, *ind.difference) if ind.difference else frame[ind.column]
        ).astype("Float64")
        has = value.notna()
    return pd.DataFrame(
        {
            "eligible": eligible,
            "has": has.astype(bool) & eligible,
            "success": success,
            "value": value,
        }
    )


def _aggregate(frame: pd.DataFrame, ind: Indicator, keys: list[str]) -> pd.DataFrame:
    """Numerator, denominator, value, completeness per group of ``keys`` for one indicator."""
    rows = pd.concat(
        [frame[keys].reset_index(drop=True), _row_values(frame, ind).reset_index(drop=True)], axis=1
    )
    if ind.distinct:
        rows["distinct"] = frame[ind.distinct].reset_index(drop=True)
    data = rows[rows["has"]]
    grouped = rows.groupby(keys, observed=True, dropna=False)
    base = grouped.agg(
        n_rows=("eligible", "size"), n_eligible=("eligible", "sum"), n_has=("has", "sum")
    )
    by_data = data.groupby(keys, observed=True, dropna=False)
    if ind.kind == "count":
        num = by_data["distinct"].nunique() if ind.distinct else by_data.size()
        out = base.assign(numerator=num, denominator=base["n_rows"])
        out["numerator"] = out["numerator"].fillna(0)
        out["value"] = out["numerator"]
    elif ind.kind == "sum":
        out = base.assign(numerator=by_data["value"].sum(), denominator=base["n_rows"])
        out["numerator"] = out["numerator"].fillna(0)
        out["value"] = out["numerator"]
    elif ind.kind == "proportion":
        out = base.assign(numerator=by_data["success"].sum(), denominator=base["n_has"])
        out["value"] = out["numerator"] / out["denominator"].where(out["denominator"] > 0)
    elif ind.kind == "median":
        out = base.assign(
            numerator=np.nan, denominator=base["n_has"], value=by_data["value"].median()
        )
    else:  # mean, mean_change
        out = base.assign(numerator=by_data["value"].sum(), denominator=base["n_has"])
        out["value"] = out["numerator"] / out["denominator"].where(out["denominator"] > 0)
    extensive = ind.kind in ("count", "sum")
    completeness = out["n_has"] / out["n_eligible"].where(out["n_eligible"] > 0)
    if extensive:  # nothing eligible (e.g. no training) is a complete record of zero
        completeness = completeness.where(out["n_eligible"] > 0, 1.0)
    return out.assign(completeness=completeness)[
        ["numerator", "denominator", "value", "completeness"]
    ]


def _grid(
    tables: Mapping[str, pd.DataFrame], service_id: str | None, year: int | None
) -> pd.DataFrame:
    """Every (service_id, year) with a submission in any indicator table, filtered."""
    pairs = (
        pd.concat(
            [load.table(tables, n)[["service_id", "year"]] for n in INDICATOR_TABLES],
            ignore_index=True,
        )
        .astype({"service_id": "string", "year": "Int64"})
        .drop_duplicates()
    )
    if service_id is not None:
        pairs = pairs[pairs["service_id"] == service_id]
    if year is not None:
        pairs = pairs[pairs["year"] == year]
    return pairs.sort_values(["service_id", "year"]).reset_index(drop=True)


def _keys(by: Sequence[str]) -> list[str]:
    unknown = [k for k in by if k not in ("service_id", "year")]
    if unknown:
        raise ParameterError(
            "indicators can be grouped by service_id and/or year only",
            column="by",
            allowed=["service_id", "year"],
            found=unknown,
        )
    return [k for k in ("service_id", "year") if k in by]


def _group_key(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Group columns: the ``keys`` plus a constant one, so pooled groups work the same way."""
    return frame.assign(_all=ALL_SERVICES)[["_all", *keys]]


def indicators(
    tables: Mapping[str, pd.DataFrame],
    *,
    framework: Framework | None = None,
    service_id: str | None = None,
    year: int | None = None,
    by: Sequence[str] = ("service_id", "year"),
) -> pd.DataFrame:
    """Every indicator of the framework per group (default: per service-year); columns :data:`INDICATOR_COLUMNS`.

    ``by=("year",)`` pools all services per year and ``by=()`` pools everything
    (``service_id`` is then ``"All services"`` and ``year`` null). Groups come from
    the service-years with a submission in any table, so a service-year lacking
    one table still gets that table's indicators, with no data.
    """
    fw = framework or load_framework()
    keys = _keys(by)
    grid = _grid(tables, service_id, year)
    groups = (
        _group_key(grid, keys).assign(n_service_years=1)
        .groupby(["_all", *keys], observed=True, dropna=False)["n_service_years"].sum()
    )  # fmt: skip
    parts = []
    for name in dict.fromkeys(i.table for _, i in fw.indicators):
        frame = load.table(tables, name).astype({"service_id": "string", "year": "Int64"})
        frame = frame.merge(grid, on=["service_id", "year"], how="inner")
        frame = pd.concat([_group_key(frame, keys), frame.drop(columns=keys)], axis=1)
        for outcome, ind in ((o, i) for o, i in fw.indicators if i.table == name):
            agg = _aggregate(frame, ind, ["_all", *keys]).reindex(groups.index)
            parts.append(_describe(agg, groups, fw, outcome, ind))
    out = pd.concat(parts).reset_index()
    out = out.assign(service_id=out["service_id"] if "service_id" in keys else ALL_SERVICES)
    out = out.assign(year=out["year"] if "year" in keys else pd.NA)
    order = {i.id: n for n, (_, i) in enumerate(fw.indicators)}
    return (
        out.assign(_order=out["indicator_id"].map(order))
        .sort_values(["service_id", "year", "_order"], na_position="last")
        .loc[:, list(INDICATOR_COLUMNS)]
        .astype(_OUTPUT_DTYPES)
        .reset_index(drop=True)
    )


_OUTPUT_DTYPES: Mapping[str, Any] = MappingProxyType(
    {
        "service_id": "string", "year": "Int64", "impact_area_id": "Int64", "impact_area": "string",
        "outcome_id": "Int64", "outcome": "string", "indicator_id": "string", "indicator": "string",
        "kind": "string", "numerator": "Float64", "denominator": "Float64", "value": "Float64",
        "unit": "string", "direction": "string", "target": "Float64", "completeness": "Float64",
        "n_units": "Int64", "n_label": "string", "min_n": "Int64", "n_service_years": "Int64",
        "enough_data": "bool", "meets_threshold": "boolean",
    }
)  # fmt: skip


def _describe(
    agg: pd.DataFrame, groups: pd.Series, fw: Framework, outcome: Outcome, ind: Indicator
) -> pd.DataFrame:
    """Add the outcome and indicator labels, the target, enough_data and meets_threshold."""
    n_sy = groups.astype("Int64")
    scale = n_sy if ind.kind in fw.rule.scale_targets_for_kinds else pd.Series(1, index=n_sy.index)
    target = (ind.target * scale).astype("Float64")
    n_units = agg["denominator"].fillna(0).astype("Int64")
    min_n = fw.min_n(ind)
    enough = (
        n_units.ge(min_n) & n_units.gt(0) & agg["completeness"].ge(fw.rule.min_completeness)
    ).fillna(False)
    value = agg["value"].astype("Float64")
    meets = value.ge(target) if ind.direction == "higher" else value.le(target)
    return agg.assign(
        impact_area_id=outcome.impact_area_id, impact_area=outcome.impact_area, outcome_id=outcome.id,
        outcome=outcome.name, indicator_id=ind.id, indicator=ind.label, kind=ind.kind, unit=ind.unit,
        direction=ind.direction, target=target, n_units=n_units,
        n_label=ind.n_label or TABLE_UNITS[ind.table], min_n=min_n, n_service_years=n_sy,
        enough_data=enough.astype(bool), meets_threshold=meets.astype("boolean").where(enough.astype(bool)),
    )  # fmt: skip


def programme_indicators(
    tables: Mapping[str, pd.DataFrame], *, framework: Framework | None = None
) -> pd.DataFrame:
    """Every indicator pooled over all services, per year and over all years (``year`` null), for cross-site reports."""
    fw = framework or load_framework()
    return pd.concat(
        [indicators(tables, framework=fw, by=("year",)), indicators(tables, framework=fw, by=())],
        ignore_index=True,
    )


# ---------------------------------------------------------------------------
# Ratings
# ---------------------------------------------------------------------------


def _shortfall(row: pd.Series, min_completeness: float) -> str:
    """Why one indicator lacks enough data, in words."""
    if row["n_units"] < max(row["min_n"], 1):
        return f"only {row['n_units']} {row['n_label']} for {row['indicator'].lower()} ({max(row['min_n'], 1)} needed)"
    pct = row["completeness"]
    pct_text = "unknown" if pd.isna(pct) else f"{pct:.0%}"
    return f"{row['indicator'].lower()} recorded for {pct_text} of eligible rows ({min_completeness:.0%} needed)"


def _rate_one(group: pd.DataFrame, rule: Rule) -> pd.Series:
    """Rating and reason of one outcome in one group, from its indicator rows."""
    n_ind = len(group)
    assessed = group[group["enough_data"]]
    n_met = int(assessed["meets_threshold"].fillna(False).sum())
    need = min(rule.min_indicators, n_ind)
    if len(assessed) < need:
        short = "; ".join(
            _shortfall(r, rule.min_completeness) for _, r in group[~group["enough_data"]].iterrows()
        )
        reason = (
            f"only {len(assessed)} of {n_ind} indicators had enough data ({need} needed): {short}"
        )
        label = rule.not_enough_label
    else:
        share = n_met / len(assessed)
        label = next(lv.label for lv in rule.levels if share >= lv.min_share_met)
        reason = f"{n_met} of {len(assessed)} indicators met their threshold"
        missing = n_ind - len(assessed)
        if missing:
            reason += f" ({missing} without enough data)"
    return pd.Series({"rating": label, "n_indicators": n_ind, "n_assessed": len(assessed), "n_met": n_met,
                      "reason": reason})  # fmt: skip


def ratings(indicator_table: pd.DataFrame, *, framework: Framework | None = None) -> pd.DataFrame:
    """One row per service_id, year and outcome: rating (ordered category), counts and the reason in words."""
    fw = framework or load_framework()
    keys = ["service_id", "year", "impact_area_id", "impact_area", "outcome_id", "outcome"]
    rated = (
        indicator_table.groupby(keys, observed=True, dropna=False, sort=False)[
            list(indicator_table.columns)
        ]
        .apply(lambda g: _rate_one(g, fw.rule))
        .reset_index()
    )
    return rated.astype(
        {"rating": pd.CategoricalDtype(fw.rule.labels, ordered=True), "n_indicators": "Int64",
         "n_assessed": "Int64", "n_met": "Int64", "reason": "string"}
    )  # fmt: skip


#: Indicator kinds whose numerator is a count (of people, cases, sessions or items).
COUNT_NUMERATOR_KINDS: tuple[str, ...] = ("count", "sum", "proportion")


def evidence_table(indicator_table: pd.DataFrame) -> pd.DataFrame:
    """The indicators behind the outcome ratings, ready to show (one row per indicator).

    Counts are the indicator's numerator and denominator (young people, cases,
    professionals or items); the value is derived from them, so it is hidden with
    them. ``attrs["display"]`` holds the matching ``display.table`` arguments.
    """
    out = (
        indicator_table.sort_values(["outcome_id", "indicator_id"])
        .assign(
            completeness=lambda d: (d["completeness"].astype("Float64") * 100).round(0),
            value=lambda d: d["value"].astype("Float64").round(2),
            meets=lambda d: (
                d["meets_threshold"].map({True: "yes", False: "no"}).fillna("not enough data")
            ),
            # Only counts, sums and proportions have a numerator that counts people or
            # items; a mean's or median's numerator is a sum of values, not a count.
            numerator=lambda d: d["numerator"].where(d["kind"].isin(COUNT_NUMERATOR_KINDS)),
        )
        .set_index("indicator")
        .loc[:, ["outcome", "numerator", "denominator", "value", "unit", "completeness", "meets"]]
        .rename(
            columns={
                "outcome": "Outcome",
                "numerator": "Numerator",
                "denominator": "Denominator",
                "value": "Value",
                "unit": "Unit",
                "completeness": "% with data",
                "meets": "Meets target",
            }
        )
    )
    out.index.name = "Indicator"
    out.attrs["display"] = {
        "count_columns": ["Numerator", "Denominator"],
        "derived": {"Value": ("Numerator", "Denominator")},
        "total_row": None,
        "total_column": None,
        "implied_totals": False,
    }
    return out


def ratings_table(rating_table: pd.DataFrame) -> pd.DataFrame:
    """Each outcome's rating, ready to show to any audience (words only: the reasons,
    which quote counts, stay with the evaluation team)."""
    out = (
        rating_table.sort_values("outcome_id")
        .assign(rating=lambda d: d["rating"].astype(str))
        .set_index("outcome")
        .loc[:, ["impact_area", "rating"]]
        .rename(columns={"impact_area": "Impact area", "rating": "Rating"})
    )
    out.index.name = "Core outcome"
    return out
