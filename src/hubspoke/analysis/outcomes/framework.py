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
#: What an indicator measures: a level in the period, or a change from the start of support.
BASES: tuple[str, ...] = ("level", "change")
#: What a count's or sum's target is per (the size it is scaled by).
SIZE_UNITS: tuple[str, ...] = ("service-year", "Spoke worker", "10,000 children", "young person")

#: Fields each kind requires / allows, beyond the common ones.
_COMMON = ("id", "label", "description", "table", "kind", "direction", "unit", "target")
_OPTIONAL = ("where", "min_n", "n_label", "basis", "target_per", "min_change", "veto")
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
    basis: str = "level"
    target_per: str = "service-year"
    min_change: float = 0.0
    veto: bool = False

    def threshold_text(self) -> str:
        """E.g. ``at least 40%``, ``at most 10 days``, ``at least 10 young people per Spoke worker``."""
        word = "at least" if self.direction == "higher" else "at most"
        unit = "" if self.unit == "proportion" else f" {self.unit}"
        value = f"{self.target:.0%}" if self.unit == "proportion" else f"{self.target:g}"
        per = "" if self.target_per == "service-year" else f" per {self.target_per}"
        return f"{word} {value}{unit}{per}"

    def change_text(self) -> str:
        """The smallest change on the baseline that counts as progress, e.g. ``5 percentage points``."""
        if self.unit == "proportion":
            return f"{self.min_change * 100:g} percentage points"
        per = "" if self.target_per == "service-year" else f" per {self.target_per}"
        return f"{self.min_change:g} {self.unit}{per}"


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
    """A rating and the share of all the outcome's indicators that must be met."""

    label: str
    min_share_met: float


@dataclass(frozen=True)
class Confidence:
    """A confidence label and the largest share of the judged indicators with a data gap it allows."""

    label: str
    max_gap_share: float


#: Level-judgement labels when the file declares none (the progress levels' shares).
_DEFAULT_TARGET_LABELS = ("Most targets met", "Some targets met", "Few targets met")
_DEFAULT_CONFIDENCE = (
    Confidence("High", 0.0),
    Confidence("Moderate", 1 / 3),
    Confidence("Low", 1.0),
)


@dataclass(frozen=True)
class Rule:
    """The rating rule as data (see ``outcomes.toml``).

    ``levels`` rate progress (the headline rating), ``target_levels`` the level against
    the targets; both count every indicator of the outcome, an indicator without enough
    data as not met. ``max_missing_share``: more indicators than this share without enough
    data gives ``not_enough_label``. ``confidence`` falls with data gaps.
    """

    min_completeness: float
    min_indicators: int
    min_n: Mapping[str, int]
    levels: tuple[Level, ...]
    not_enough_label: str
    scale_targets_for_kinds: tuple[str, ...]
    text: str
    max_missing_share: float = 1 / 3
    target_levels: tuple[Level, ...] = ()
    no_baseline_label: str = "No progress judgement yet (first year)"
    confidence: tuple[Confidence, ...] = _DEFAULT_CONFIDENCE
    patchy_below: float = 0.8
    not_applicable_label: str = "Not applicable"
    ci_level: float = 0.95
    sustained_is_progress: bool = True

    @property
    def labels(self) -> list[str]:
        """Progress (headline) labels, no judgement first, then worst to best (the category order)."""
        return [
            self.no_baseline_label,
            self.not_enough_label,
            *(lv.label for lv in sorted(self.levels, key=lambda lv: lv.min_share_met)),
        ]

    @property
    def level_labels(self) -> list[str]:
        """Level-judgement labels from worst to best."""
        return [
            self.not_enough_label,
            *(lv.label for lv in sorted(self.target_levels, key=lambda lv: lv.min_share_met)),
        ]

    @property
    def confidence_labels(self) -> list[str]:
        """Confidence labels from lowest to highest, not applicable first."""
        ordered = sorted(self.confidence, key=lambda c: -c.max_gap_share)
        return [self.not_applicable_label, *(c.label for c in ordered)]


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


def _indicator(
    reader: _Reader, data: Any, outcome_where: str, scaled_kinds: tuple[str, ...]
) -> Indicator:
    """Parse and validate one indicator (``scaled_kinds``: the kinds whose targets scale with size)."""
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
    target_per = g(data, "target_per", where, str, default="service-year", allowed=SIZE_UNITS)
    if target_per != "service-year" and kind not in scaled_kinds:
        raise reader.fail(
            where,
            "target_per",
            "scales only targets of the kinds the rule scales (rule.scale_targets_for_kinds)",
            allowed=scaled_kinds,
            found=kind,
        )
    min_change = float(g(data, "min_change", where, (int, float), default=0.0))
    if min_change < 0:
        raise reader.fail(where, "min_change", "must be 0 or more", found=min_change)
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
        basis=g(data, "basis", where, str, default="level", allowed=BASES),
        target_per=target_per,
        min_change=min_change,
        veto=g(data, "veto", where, bool, default=False),
    )


def _levels(reader: _Reader, data: Any, field: str) -> tuple[Level, ...]:
    """Rating levels (label, min_share_met), best first; the lowest must be 0."""
    where = f"rule {field}"
    parsed = tuple(
        Level(
            reader.get(lv, "label", where, str),
            float(reader.get(lv, "min_share_met", where, (int, float))),
        )
        for lv in data
        if isinstance(lv, dict)
    )
    if (
        len(parsed) != len(data)
        or not parsed
        or min(lv.min_share_met for lv in parsed) > 0
        or any(not 0 <= lv.min_share_met <= 1 for lv in parsed)
    ):
        raise reader.fail(
            "rule",
            field,
            "must be tables with label and min_share_met (0 to 1), the lowest 0",
            found=data,
        )
    return tuple(sorted(parsed, key=lambda lv: -lv.min_share_met))


def _share(reader: _Reader, value: Any, field: str) -> float:
    """A share from 0 to 1, written as a number or a fraction such as ``"1/3"``."""
    number: float | None = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str) and value.count("/") == 1:
        top, bottom = (part.strip() for part in value.split("/"))
        if top.isdigit() and bottom.isdigit() and int(bottom) > 0:
            number = int(top) / int(bottom)
    if number is None or not 0 <= number <= 1:
        raise reader.fail(
            "rule",
            field,
            'must be a share from 0 to 1 (a number or a fraction like "1/3")',
            found=value,
        )
    return number


def _confidence(reader: _Reader, data: Any) -> tuple[Confidence, ...]:
    """Confidence labels by the largest share of judged indicators with a data gap; one must allow all."""
    if data is None:
        return _DEFAULT_CONFIDENCE
    if not isinstance(data, list) or not all(isinstance(c, dict) for c in data) or not data:
        raise reader.fail("rule", "confidence", "must be a list of tables", found=data)
    parsed = tuple(
        Confidence(
            reader.get(c, "label", "rule confidence", str),
            _share(
                reader,
                reader.get(c, "max_gap_share", "rule confidence", (int, float, str)),
                "confidence",
            ),
        )
        for c in data
    )
    if max(c.max_gap_share for c in parsed) < 1:
        raise reader.fail(
            "rule", "confidence", "needs one label with max_gap_share = 1 (every gap)", found=data
        )
    return tuple(sorted(parsed, key=lambda c: c.max_gap_share))


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
    levels = _levels(reader, g(data, "levels", where, list), "levels")
    raw_targets = g(data, "target_levels", where, list, default=None)
    if raw_targets is not None:
        target_levels = _levels(reader, raw_targets, "target_levels")
    elif len(levels) == len(_DEFAULT_TARGET_LABELS):
        target_levels = tuple(
            Level(label, lv.min_share_met)
            for label, lv in zip(_DEFAULT_TARGET_LABELS, levels, strict=True)
        )
    else:
        target_levels = tuple(Level(f"Targets: {lv.label}", lv.min_share_met) for lv in levels)
    completeness = float(g(data, "min_completeness", where, (int, float)))
    if not 0 <= completeness <= 1:
        raise reader.fail(where, "min_completeness", "must be between 0 and 1", found=completeness)
    scale = g(data, "scale_targets_for_kinds", where, list, default=[])
    bad = [k for k in scale if k not in KINDS]
    if bad:
        raise reader.fail(
            where, "scale_targets_for_kinds", "lists unknown kinds", allowed=KINDS, found=bad
        )
    ci_level = float(g(data, "ci_level", where, (int, float), default=0.95))
    if not 0.5 <= ci_level < 1:
        raise reader.fail(where, "ci_level", "must be at least 0.5 and below 1", found=ci_level)
    rule = Rule(
        min_completeness=completeness,
        min_indicators=g(data, "min_indicators", where, int, default=1),
        min_n=MappingProxyType(dict(min_n)),
        levels=levels,
        not_enough_label=g(data, "not_enough_label", where, str, default="Not enough data"),
        scale_targets_for_kinds=tuple(scale),
        text=g(data, "text", where, str),
        max_missing_share=_share(
            reader, g(data, "max_missing_share", where, (int, float, str), default="1/3"),
            "max_missing_share",
        ),
        target_levels=target_levels,
        no_baseline_label=g(
            data, "no_baseline_label", where, str, default=Rule.no_baseline_label
        ),
        confidence=_confidence(reader, data.get("confidence")),
        patchy_below=_share(reader, g(data, "patchy_below", where, (int, float), default=0.8), "patchy_below"),
        not_applicable_label=g(
            data, "not_applicable_label", where, str, default=Rule.not_applicable_label
        ),
        ci_level=ci_level,
        sustained_is_progress=g(data, "sustained_is_progress", where, bool, default=True),
    )  # fmt: skip
    try:
        _format_rule(rule, ())
    except (KeyError, ValueError, IndexError) as exc:
        raise reader.fail(
            where,
            "text",
            f"uses an unknown placeholder ({exc})",
            allowed=sorted(_rule_fields(rule, ())),
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
                tuple(_indicator(reader, i, where, rule.scale_targets_for_kinds) for i in inds),
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


def _share_text(share: float) -> str:
    """A share in words: ``1/3``, ``2/3``, ``1/4`` ... when it is one, else a percentage."""
    for bottom in (2, 3, 4, 5):
        for top in range(1, bottom):
            if abs(share - top / bottom) < 1e-9:
                return f"{top}/{bottom}"
    return f"{share:.0%}"


def _levels_text(levels: Sequence[Level]) -> str:
    return "; ".join(
        f'"{lv.label}" when {lv.min_share_met:.0%} or more are met'
        if lv.min_share_met > 0
        else f'"{lv.label}" otherwise'
        for lv in levels
    )


def _confidence_text(rule: Rule) -> str:
    parts = []
    for c in rule.confidence:
        if c.max_gap_share <= 0:
            parts.append(f'"{c.label}" when no indicator has a gap')
        elif c.max_gap_share >= 1:
            parts.append(f'"{c.label}" otherwise')
        else:
            parts.append(
                f'"{c.label}" when at most {_share_text(c.max_gap_share)} of them have one'
            )
    return "; ".join(parts)


def _names(items: Sequence[Indicator]) -> str:
    return ", ".join(i.label.lower() for i in items) or "none"


def _rule_fields(rule: Rule, indicators: Sequence[Indicator]) -> dict[str, Any]:
    """The values the rule text's placeholders name (``indicators``: the framework's, in order)."""
    scaled = [
        i
        for i in indicators
        if i.kind in rule.scale_targets_for_kinds and i.target_per != "service-year"
    ]
    vetoes = [i for i in indicators if i.veto]
    lowest = rule.levels[-1].label
    lowest_target = rule.target_levels[-1].label if rule.target_levels else lowest
    veto_text = (
        f"Required indicators ({_names(vetoes)}): while one is not met or lacks data, its "
        f'outcome is rated no higher than "{lowest}" for progress and "{lowest_target}" for '
        "level, whatever its other indicators show."
        if vetoes
        else ""
    )
    return {
        "sustained_text": (
            ", or when they met their target in the first year and still meet it"
            if rule.sustained_is_progress
            else ""
        ),
        "min_completeness": rule.min_completeness,
        "min_indicators": rule.min_indicators,
        "not_enough_label": rule.not_enough_label,
        "no_baseline_label": rule.no_baseline_label,
        "min_n_text": ", ".join(f"{n} {TABLE_UNITS[t]}" for t, n in rule.min_n.items()) or "1 row",
        "levels_text": _levels_text(rule.levels),
        "target_levels_text": _levels_text(rule.target_levels),
        "max_missing_text": _share_text(rule.max_missing_share),
        "scaled_kinds": ", ".join(rule.scale_targets_for_kinds),
        "change_indicators": _names([i for i in indicators if i.basis == "change"]),
        "scaled_text": "; ".join(f"{i.label.lower()}: {i.threshold_text()}" for i in scaled)
        or "none is scaled",
        "veto_text": veto_text,
        "confidence_text": _confidence_text(rule),
        "patchy_below": rule.patchy_below,
        "ci_level": rule.ci_level,
    }


def _format_rule(rule: Rule, indicators: Sequence[Indicator]) -> str:
    return rule.text.strip().format(**_rule_fields(rule, indicators))


def outcome_rule_text(framework: Framework | None = None) -> str:
    """The rating rule in plain words, with the numbers and indicators from the framework file filled in."""
    fw = framework or load_framework()
    return _format_rule(fw.rule, [i for _, i in fw.indicators])


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


def _progress_text(ind: Indicator) -> str:
    """When the indicator shows progress, in words."""
    if ind.basis == "change":
        return "meets its target (a change since the start of support)"
    if ind.min_change > 0:
        return f"improves on the service's first year by at least {ind.change_text()}, or sustains its target"
    return "improves on the service's first year, or sustains its target"


def framework_table(framework: Framework | None = None) -> pd.DataFrame:
    """One row per indicator: outcome, statement, what is computed, direction, threshold and progress rule."""
    fw = framework or load_framework()
    rows = [
        {
            "impact_area_id": o.impact_area_id, "impact_area": o.impact_area, "outcome_id": o.id,
            "outcome": o.name, "statement": o.statement, "indicator_id": i.id, "indicator": i.label,
            "description": i.description, "table": i.table, "kind": i.kind, "computation": _computation_text(i),
            "direction": i.direction, "unit": i.unit, "target": i.target, "threshold": i.threshold_text(),
            "min_n": fw.min_n(i), "basis": i.basis, "target_per": i.target_per,
            "min_change": i.min_change, "progress_when": _progress_text(i), "veto": i.veto,
        }
        for o, i in fw.indicators
    ]  # fmt: skip
    return pd.DataFrame(rows).astype(
        {"outcome_id": "Int64", "impact_area_id": "Int64", "min_n": "Int64"}
    )
