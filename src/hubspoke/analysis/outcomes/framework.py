"""The outcome framework as data: its classes, the validating TOML reader and its text.

The six core outcomes, their indicators (table, kind of computation, direction,
target) and the rating rule live in ``outcomes.toml`` next to this module, not in
code. :func:`load_framework` reads a framework file and checks every field against
the processed-table schemas, naming the file and place of any error, so replacing
the file changes the reports without changing code. :func:`framework_table` and
:func:`outcome_rule_text` describe a framework in words for the reports.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pandas as pd

from hubspoke.errors import ConfigError, SchemaError
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
