"""An independent auditor: attack a published funder release the way a reader could.

It reads only what a funder sees (the open-data CSVs in the Explore Education
Statistics layout, with their ``.meta.csv``), works out every linear relation a
reader knows from the meaning of the numbers, and asks a linear program of its own
(never the library's solver) how far each hidden cell can move:

1. every row and indicator of every file is a cell; the same quantity in two files
   is the same cell when indicator name, ``time_period`` and the filters that are not
   ``Total`` agree (a service row's model variant / host setting / phase are
   attributes of the service, not part of its identity);
2. relations: within a file, the rows at the values of one filter add up to its
   ``Total`` row (counts only); services add up to their group and to the
   programme; years add up to all years (or, for distinct people, bound it);
   anything else the caller knows (``extra_relations``);
3. a shown percentage (``dp`` places) of a numerator and denominator bounds their
   ratio by its rounding interval;
4. a hidden count is at least 1 (at most the threshold when the attacker knows it
   was hidden for being small);
5. each hidden count's smallest and largest value by linear programming over its
   connected group of unknown cells; recoverable when the range is under 0.5.

Assumed relations can be checked against the true values (``truth``) and dropped
when they do not hold, so the attacker only uses what is true.
"""

from __future__ import annotations

import csv
import math
import re
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import sparse
from scipy.optimize import linprog

#: The value of a filter at its total.
TOTAL = "Total"
#: Symbols: suppressed, not available, not applicable.
HIDDEN, NOT_AVAILABLE, NOT_APPLICABLE = "c", "x", "z"
#: Standard EES time and geography columns (never filters of the statistics).
STANDARD = frozenset(
    {
        "time_period",
        "time_identifier",
        "geographic_level",
        "country_code",
        "country_name",
        "region_code",
        "region_name",
        "old_la_code",
        "new_la_code",
        "la_name",
    }
)
#: Filters that group services; on a service's row they describe the service.
GROUP_DIMS = ("model_variant", "host_setting", "phase")
#: Indicator units that count people or records (the cells that are suppressed).
COUNT_UNITS = frozenset(
    {
        "young people",
        "young person",
        "professionals",
        "participants",
        "spoke workers",
        "interviews",
        "records",
        "people",
        "episodes",
        "cases",
        "count",
        "number",
    }
)
_SPAN = re.compile(r"^(\d{4})-(\d{4})$")
_NUMBER = re.compile(r"^[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$")
_TOLERANCE = 1e-7


@dataclass(frozen=True, order=True)
class Quantity:
    """One published quantity: indicator and sorted ``(dimension, value)`` pairs (no totals)."""

    indicator: str
    dims: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, indicator: str, **dims: object) -> Quantity:
        """A quantity from keyword dimensions; ``Total`` and ``None`` are dropped."""
        kept = tuple(
            sorted((k, str(v)) for k, v in dims.items() if v is not None and str(v) != TOTAL)
        )
        return cls(indicator, kept)

    @classmethod
    def like(cls, other: object) -> Quantity:
        """The quantity of any object with ``indicator`` and ``dims`` (e.g. a release cell id)."""
        return cls(str(other.indicator), tuple(sorted(tuple(d) for d in other.dims)))  # type: ignore[attr-defined]

    def get(self, dim: str) -> str:
        """The value of one dimension (``Total`` when not named)."""
        return dict(self.dims).get(dim, TOTAL)

    def with_dims(self, **dims: object) -> Quantity:
        """The same indicator with some dimensions replaced (``None``/``Total`` drops one)."""
        merged: dict[str, object] = dict(self.dims)
        merged.update(dims)
        return Quantity.of(self.indicator, **merged)

    @property
    def key(self) -> str:
        """Text form ``indicator|dim=value|...``."""
        return "|".join([self.indicator, *(f"{k}={v}" for k, v in self.dims)])


@dataclass(frozen=True)
class PublishedCell:
    """One cell of one open-data file as a reader sees it."""

    quantity: Quantity
    file: str
    text: str
    value: float | None
    symbol: str | None
    unit: str
    dp: int
    is_count: bool


@dataclass(frozen=True)
class Relation:
    """``sum(coef * cell) == rhs`` (``sense="=="``) or ``<= rhs`` (``sense="<="``); ``source`` says why."""

    terms: Mapping[Quantity, float]
    sense: str = "=="
    source: str = "extra"
    rhs: float = 0.0


@dataclass
class AuditResult:
    """What the attack found.

    ``ranges``: per hidden count its feasible ``(low, high)``; ``recoverable``: hidden
    counts pinned to one value; ``leaks``: quantities hidden in one file and shown in
    another; ``conflicts``: quantities shown with two values; ``infeasible``: hidden
    counts whose relations have no solution (a wrong assumption).
    """

    ranges: dict[Quantity, tuple[float, float]]
    recoverable: list[Quantity]
    shown: dict[Quantity, float]
    hidden: set[Quantity]
    cells: list[PublishedCell]
    relations: list[Relation]
    leaks: list[Quantity] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    infeasible: list[Quantity] = field(default_factory=list)
    dropped: list[Relation] = field(default_factory=list)

    def width(self, quantity: Quantity) -> float:
        """How far a hidden count can move (``inf`` when unbounded)."""
        low, high = self.ranges[quantity]
        return high - low

    def integer_values(self, quantity: Quantity) -> list[int]:
        """The whole numbers a hidden count may take (empty list if unbounded)."""
        low, high = self.ranges[quantity]
        if math.isinf(high):
            return []
        return list(range(math.ceil(low - 1e-6), math.floor(high + 1e-6) + 1))


# --------------------------------------------------------------------------- reading
def _read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """Header and rows of a CSV (a leading ``#`` comment line is skipped)."""
    text = path.read_text(encoding="utf-8-sig")
    if text.startswith("#"):
        text = text.partition("\n")[2]
    reader = csv.DictReader(text.splitlines())
    header = [h.strip() for h in reader.fieldnames or []]
    rows = [
        {k.strip(): (v or "").strip() for k, v in row.items() if k is not None}
        for row in reader
        if any((v or "").strip() for v in row.values() if isinstance(v, str))
    ]
    return header, rows


def _is_count_unit(unit: str) -> bool:
    """Whether an indicator unit names people or records counted."""
    return unit.strip().lower() in COUNT_UNITS


def is_count(info: Mapping[str, str]) -> bool:
    """Whether a meta row describes a count of people: its grouping or its unit says so."""
    grouping = info.get("indicator_grouping", "").strip().lower()
    return grouping.startswith("count") or _is_count_unit(info.get("indicator_unit", ""))


def _parse_number(text: str) -> float | None:
    """A number as printed (thousands separators allowed), else None."""
    clean = text.strip()
    if _NUMBER.match(clean):
        return float(clean.replace(",", ""))
    return None


def read_files(data_dir: Path | str) -> tuple[list[PublishedCell], dict[str, dict[str, str]]]:
    """Every cell of every open-data file in ``data_dir``, and each service's group values."""
    folder = Path(data_dir)
    cells: list[PublishedCell] = []
    attributes: dict[str, dict[str, str]] = defaultdict(dict)
    for path in sorted(folder.glob("*.csv")):
        if path.name.endswith(".meta.csv"):
            continue
        header, rows = _read_csv(path)
        meta_path = path.with_name(path.name[: -len(".csv")] + ".meta.csv")
        meta: dict[str, dict[str, str]] = {}
        if meta_path.exists():
            _, meta_rows = _read_csv(meta_path)
            meta = {m["col_name"]: m for m in meta_rows}
        filters, indicators = _columns(header, rows, meta)
        for row in rows:
            for cell in _row_cells(path.stem, row, filters, indicators, meta, attributes):
                cells.append(cell)
    return cells, dict(attributes)


def _columns(
    header: list[str], rows: list[dict[str, str]], meta: Mapping[str, Mapping[str, str]]
) -> tuple[list[str], list[str]]:
    """Filter and indicator columns: from the meta file, else by their values."""
    if meta:
        filters = [c for c in header if meta.get(c, {}).get("col_type", "").lower() == "filter"]
        indicators = [
            c for c in header if meta.get(c, {}).get("col_type", "").lower() == "indicator"
        ]
        return filters, indicators
    filters, indicators = [], []
    for column in header:
        if column in STANDARD:
            continue
        values = [r[column] for r in rows]
        numeric = all(
            _parse_number(v) is not None or v.lower() in {HIDDEN, NOT_AVAILABLE, NOT_APPLICABLE}
            for v in values
        )
        (indicators if numeric else filters).append(column)
    return filters, indicators


def _row_cells(
    name: str,
    row: Mapping[str, str],
    filters: Sequence[str],
    indicators: Sequence[str],
    meta: Mapping[str, Mapping[str, str]],
    attributes: dict[str, dict[str, str]],
) -> Iterable[PublishedCell]:
    """The cells of one row, with the identity a reader gives them."""
    dims = {"time_period": row["time_period"]}
    dims.update({f: row[f] for f in filters})
    service = dims.get("service_id", TOTAL)
    if service != TOTAL:
        for group in GROUP_DIMS:
            if dims.get(group, TOTAL) != TOTAL:
                attributes[service][group] = dims[group]
            dims.pop(group, None)
    for indicator in indicators:
        info = meta.get(indicator, {})
        unit = info.get("indicator_unit", "")
        dp_text = info.get("indicator_dp", "") or "0"
        text = row[indicator]
        value = _parse_number(text)
        symbol = None if value is not None else text.lower()
        yield PublishedCell(
            Quantity.of(indicator, **dims),
            name,
            text,
            value,
            symbol,
            unit,
            int(float(dp_text)) if _parse_number(dp_text) is not None else 0,
            is_count(info),
        )


# --------------------------------------------------------------------------- relations
def margin_relations(data_dir: Path | str) -> list[Relation]:
    """Within each file: rows at one filter's values add up to its ``Total`` row (counts)."""
    out: list[Relation] = []
    folder = Path(data_dir)
    for path in sorted(folder.glob("*.csv")):
        if path.name.endswith(".meta.csv"):
            continue
        header, rows = _read_csv(path)
        meta_path = path.with_name(path.name[: -len(".csv")] + ".meta.csv")
        meta: dict[str, dict[str, str]] = {}
        if meta_path.exists():
            meta = {m["col_name"]: m for m in _read_csv(meta_path)[1]}
        filters, indicators = _columns(header, rows, meta)
        counts = [i for i in indicators if is_count(meta.get(i, {}))]
        if not counts:
            continue
        for dim in filters:
            if dim == "service_id":
                continue  # services -> groups -> programme: see hierarchy_relations
            others = [f for f in filters if f != dim]
            groups: dict[tuple[str, ...], list[Mapping[str, str]]] = defaultdict(list)
            for row in rows:
                if dim in GROUP_DIMS and row.get("service_id", TOTAL) != TOTAL:
                    continue  # a service's group is an attribute, not a breakdown
                groups[(row["time_period"], *(row[f] for f in others))].append(row)
            for members in groups.values():
                totals = [r for r in members if r[dim] == TOTAL]
                parts = [r for r in members if r[dim] != TOTAL]
                if len(totals) != 1 or not parts:
                    continue
                for indicator in counts:
                    if any(r[indicator].lower() == NOT_APPLICABLE for r in members):
                        continue  # a quantity that does not exist is in no relation
                    terms: dict[Quantity, float] = defaultdict(float)
                    for part in parts:
                        terms[_identity(indicator, part, filters)] += 1.0
                    terms[_identity(indicator, totals[0], filters)] -= 1.0
                    out.append(Relation(dict(terms), "==", f"margin {path.stem}:{dim}"))
    return out


def _identity(indicator: str, row: Mapping[str, str], filters: Sequence[str]) -> Quantity:
    """The identity of one row's indicator (as in :func:`_row_cells`)."""
    dims = {"time_period": row["time_period"], **{f: row[f] for f in filters}}
    if dims.get("service_id", TOTAL) != TOTAL:
        for group in GROUP_DIMS:
            dims.pop(group, None)
    return Quantity.of(indicator, **dims)


def hierarchy_relations(
    counts: Collection[Quantity], attributes: Mapping[str, Mapping[str, str]]
) -> list[Relation]:
    """Services add up to their group (model variant, host setting, phase) and to the programme."""
    services_in: dict[tuple[str, str], set[str]] = defaultdict(set)
    for q in counts:
        if q.get("service_id") != TOTAL:
            services_in[(q.indicator, q.get("time_period"))].add(q.get("service_id"))
    out: list[Relation] = []
    for q in counts:
        if q.get("service_id") != TOTAL:
            continue
        named = [g for g in GROUP_DIMS if q.get(g) != TOTAL]
        if len(named) > 1:
            continue
        base = q.with_dims(**dict.fromkeys(GROUP_DIMS))
        if named:
            members = sorted(s for s, a in attributes.items() if a.get(named[0]) == q.get(named[0]))
        else:
            members = sorted(services_in.get((q.indicator, q.get("time_period")), set()))
        if not members:
            continue
        terms: dict[Quantity, float] = {base.with_dims(service_id=s): 1.0 for s in members}
        terms[q] = terms.get(q, 0.0) - 1.0
        out.append(Relation(terms, "==", "hierarchy " + (named[0] if named else "programme")))
    return out


def year_relations(counts: Collection[Quantity], *, additive: bool = True) -> list[Relation]:
    """All years vs. the years: each year <= all <= their sum, and (``additive``) all = sum."""
    present = set(counts)
    out: list[Relation] = []
    for q in counts:
        match = _SPAN.match(q.get("time_period"))
        if not match:
            continue
        first, last = int(match[1]), int(match[2])
        every = [q.with_dims(time_period=str(y)) for y in range(first, last + 1)]
        years = [y for y in every if y in present]
        for y in years:
            out.append(Relation({y: 1.0, q: -1.0}, "<=", "year <= all years"))
        if len(years) < len(every):
            continue  # a year not published: the pooled count has parts no file shows
        upper: dict[Quantity, float] = {y: -1.0 for y in years}
        upper[q] = 1.0
        out.append(Relation(upper, "<=", "all years <= sum of years"))
        if additive:
            eq = {y: 1.0 for y in years}
            eq[q] = -1.0
            out.append(Relation(eq, "==", "years add up to all years"))
    return out


def percentage_pairs(
    cells: Iterable[PublishedCell],
    counts: Collection[Quantity],
    *,
    sources: Mapping[Quantity, Sequence[Quantity]] | None = None,
) -> dict[Quantity, tuple[Quantity, Quantity]]:
    """Per shown percentage its (numerator, denominator): from ``sources``, else from its name.

    By name, ``pct_x`` with one breakdown filter ``f`` not at ``Total`` is ``x`` over ``x``
    at ``f = Total``.
    """
    present = set(counts)
    pairs: dict[Quantity, tuple[Quantity, Quantity]] = {}
    for cell in cells:
        if cell.unit.strip() != "%" or cell.value is None:
            continue
        q = cell.quantity
        given = (sources or {}).get(q)
        if given is not None:
            count_sources = [s for s in given if s in present]
            if len(count_sources) == 2:
                pairs[q] = (count_sources[0], count_sources[1])
            continue
        if not q.indicator.startswith("pct_"):
            continue
        numerator = Quantity(q.indicator[len("pct_") :], q.dims)
        breakdown = [d for d, _ in q.dims if d not in {"time_period", "service_id", *GROUP_DIMS}]
        if numerator not in present or len(breakdown) != 1:
            continue
        denominator = numerator.with_dims(**{breakdown[0]: None})
        if denominator in present:
            pairs[q] = (numerator, denominator)
    return pairs


def percentage_relations(
    shown: Mapping[Quantity, float],
    pairs: Mapping[Quantity, tuple[Quantity, Quantity]],
    dps: Mapping[Quantity, int],
) -> list[Relation]:
    """A shown ``p`` (``d`` places): ``(p - h) m <= 100 n <= (p + h) m`` with ``h = 0.5 * 10**-d``."""
    out: list[Relation] = []
    for pct, (num, den) in pairs.items():
        if pct not in shown or num == den:
            continue
        p = shown[pct]
        half = 0.5 * 10.0 ** (-dps.get(pct, 0)) + 1e-9
        out.append(Relation({num: 100.0, den: -(p + half)}, "<=", f"rounding of {pct.key}"))
        out.append(Relation({num: -100.0, den: p - half}, "<=", f"rounding of {pct.key}"))
    return out


def _holds(relation: Relation, truth: Mapping[Quantity, float]) -> bool:
    """Whether a relation holds on the true values (unknown cells: taken as free, >= 0)."""
    total = -relation.rhs
    unknown_signs = set()
    for q, coef in relation.terms.items():
        value = truth.get(q)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            unknown_signs.add(np.sign(coef))
        else:
            total += coef * value
    if not unknown_signs:
        return total <= 1e-6 if relation.sense == "<=" else abs(total) <= 1e-6
    if relation.sense == "<=":
        return total <= 1e-6 or -1.0 in unknown_signs
    if total > 1e-6:
        return -1.0 in unknown_signs
    if total < -1e-6:
        return 1.0 in unknown_signs
    return True


# --------------------------------------------------------------------------- the attack
def audit(
    data_dir: Path | str,
    *,
    threshold: int = 5,
    extra_relations: Iterable[Relation] = (),
    truth: Mapping[Quantity, float] | None = None,
    sources: Mapping[Quantity, Sequence[Quantity]] | None = None,
    primary: Collection[Quantity] | None = None,
    others_above_threshold: bool = False,
    additive_years: bool = True,
    exact_limit: int | None = None,
) -> AuditResult:
    """Attack the open data in ``data_dir``; see the module docstring.

    ``truth`` (true values by quantity) drops assumed relations that do not hold;
    ``sources`` names the counts each percentage comes from; ``primary`` is the set of
    hidden counts the attacker knows are small (then in 1..``threshold``; the others at
    least ``threshold + 1`` when ``others_above_threshold``, else at least 1).

    ``exact_limit`` (with ``truth``): a group of linked unknowns larger than this is
    certified instead of ranged, for national-scale releases where one group holds
    thousands of cells: each hidden count is moved inside its neighbourhood with every
    other unknown held at a solution through the true values (a witness that it is not
    recoverable); a count no neighbourhood moves gets its exact range over the whole
    group. Its ``ranges`` entry is then the spread of the witnesses found (a lower bound
    on the feasible interval, at least 0.5 wide for a protected count).
    """
    cells, attributes = read_files(data_dir)
    shown, hidden, leaks, conflicts = _merge(cells)
    counts = {c.quantity for c in cells if c.is_count}
    relations = margin_relations(data_dir)
    relations += hierarchy_relations(counts, attributes)
    relations += year_relations(counts, additive=additive_years)
    dps = {c.quantity: c.dp for c in cells}
    pairs = percentage_pairs(cells, counts, sources=sources)
    relations += percentage_relations(shown, pairs, dps)
    printed = {c.quantity for c in cells if c.symbol != NOT_APPLICABLE}
    absent = {c.quantity for c in cells} - printed  # "z" in every file: does not exist
    relations = [r for r in relations if not absent.intersection(r.terms)]
    dropped: list[Relation] = []
    if truth is not None:
        kept = [r for r in relations if _holds(r, truth)]
        dropped = [r for r in relations if not _holds(r, truth)]
        relations = kept
    relations += list(extra_relations)
    audited = {q for q in hidden if q in counts}
    ranges, infeasible = _solve(
        relations,
        shown=shown,
        audited=audited,
        threshold=threshold,
        primary=set(primary) if primary is not None else None,
        others_above_threshold=others_above_threshold,
        truth=truth if exact_limit is not None else None,
        exact_limit=exact_limit,
    )
    recoverable = sorted(q for q, (lo, hi) in ranges.items() if hi - lo < 0.5)
    return AuditResult(
        ranges=ranges,
        recoverable=recoverable,
        shown=shown,
        hidden=hidden,
        cells=cells,
        relations=relations,
        leaks=leaks,
        conflicts=conflicts,
        infeasible=infeasible,
        dropped=dropped,
    )


def _merge(
    cells: Iterable[PublishedCell],
) -> tuple[dict[Quantity, float], set[Quantity], list[Quantity], list[str]]:
    """Shown values and hidden quantities over all files, with leaks and conflicts."""
    shown: dict[Quantity, float] = {}
    hidden: set[Quantity] = set()
    conflicts: list[str] = []
    for cell in cells:
        q = cell.quantity
        if cell.value is not None:
            old = shown.get(q)
            if old is not None and abs(old - cell.value) > _tolerance(cell.dp):
                conflicts.append(f"{q.key}: {old} vs {cell.value} ({cell.file})")
            shown.setdefault(q, cell.value)
        elif cell.symbol == HIDDEN:
            hidden.add(q)
    leaks = sorted(hidden & set(shown))
    return shown, hidden - set(shown), leaks, conflicts


def _tolerance(dp: int) -> float:
    """How far two printings of one value may differ by rounding."""
    return 0.5 * 10.0 ** (-dp) + 1e-9


def _solve(
    relations: Sequence[Relation],
    *,
    shown: Mapping[Quantity, float],
    audited: set[Quantity],
    threshold: int,
    primary: set[Quantity] | None,
    others_above_threshold: bool,
    truth: Mapping[Quantity, float] | None = None,
    exact_limit: int | None = None,
) -> tuple[dict[Quantity, tuple[float, float]], list[Quantity]]:
    """Range of every audited hidden count by LP over its connected group of unknowns."""
    unknown_of: list[list[Quantity]] = [[q for q in r.terms if q not in shown] for r in relations]
    parent: dict[Quantity, Quantity] = {q: q for q in audited}

    def find(q: Quantity) -> Quantity:
        while parent[q] != q:
            parent[q] = parent[parent[q]]
            q = parent[q]
        return q

    for unknowns in unknown_of:
        for q in unknowns:
            parent.setdefault(q, q)
        for a, b in zip(unknowns, unknowns[1:], strict=False):
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[ra] = rb
    members: dict[Quantity, list[Quantity]] = defaultdict(list)
    for q in parent:
        members[find(q)].append(q)
    rels_of: dict[Quantity, list[int]] = defaultdict(list)
    for i, unknowns in enumerate(unknown_of):
        if unknowns:
            rels_of[find(unknowns[0])].append(i)
    ranges: dict[Quantity, tuple[float, float]] = {}
    infeasible: list[Quantity] = []
    for root, variables in members.items():
        targets = [q for q in variables if q in audited]
        if not targets:
            continue
        lows, highs = [], []
        for q in variables:
            if q not in audited:
                lows.append(0.0)
                highs.append(None)
            elif primary is not None and q in primary:
                lows.append(1.0)
                highs.append(float(threshold))
            elif primary is not None and others_above_threshold:
                lows.append(float(threshold + 1))
                highs.append(None)
            else:
                lows.append(1.0)
                highs.append(None)
        group = [relations[i] for i in rels_of.get(root, [])]
        if truth is not None and exact_limit is not None and len(variables) > exact_limit:
            result = _certify(variables, group, shown, lows, highs, truth=truth, targets=targets)
        else:
            result = _component_ranges(variables, group, shown, lows, highs)
        if result is None:
            infeasible.extend(targets)
            continue
        for q in targets:
            ranges[q] = result[q]
    return ranges, sorted(infeasible)


def _lp_args(
    variables: Sequence[Quantity],
    relations: Sequence[Relation],
    shown: Mapping[Quantity, float],
    bounds: Sequence[tuple[float, float | None]],
) -> dict[str, object]:
    """``linprog`` keyword arguments for the relations over ``variables`` (shown cells moved right)."""
    pos = {q: i for i, q in enumerate(variables)}
    eq_rows, eq_cols, eq_vals, b_eq = [], [], [], []
    ub_rows, ub_cols, ub_vals, b_ub = [], [], [], []
    for relation in relations:
        rhs = relation.rhs
        entries: dict[int, float] = defaultdict(float)
        for q, coef in relation.terms.items():
            if q in shown:
                rhs -= coef * shown[q]
            else:
                entries[pos[q]] += coef
        rows, cols, vals, b = (
            (eq_rows, eq_cols, eq_vals, b_eq)
            if relation.sense == "=="
            else (ub_rows, ub_cols, ub_vals, b_ub)
        )
        r = len(b)
        for c, v in entries.items():
            rows.append(r)
            cols.append(c)
            vals.append(v)
        b.append(rhs)
    n = len(variables)
    args: dict[str, object] = {"bounds": list(bounds), "method": "highs"}
    if b_eq:
        args["A_eq"] = sparse.csr_array((eq_vals, (eq_rows, eq_cols)), shape=(len(b_eq), n))
        args["b_eq"] = np.array(b_eq)
    if b_ub:
        args["A_ub"] = sparse.csr_array((ub_vals, (ub_rows, ub_cols)), shape=(len(b_ub), n))
        args["b_ub"] = np.array(b_ub)
    return args


def _component_ranges(
    variables: Sequence[Quantity],
    relations: Sequence[Relation],
    shown: Mapping[Quantity, float],
    lows: Sequence[float],
    highs: Sequence[float | None],
    *,
    which: Collection[Quantity] | None = None,
) -> dict[Quantity, tuple[float, float]] | None:
    """Min and max of each variable (or of ``which``) under the relations (None when infeasible)."""
    pos = {q: i for i, q in enumerate(variables)}
    bounds = list(zip(lows, highs, strict=True))
    if not relations:
        return {q: (lows[i], math.inf if highs[i] is None else highs[i]) for q, i in pos.items()}
    args = _lp_args(variables, relations, shown, bounds)
    n = len(variables)
    out: dict[Quantity, tuple[float, float]] = {}
    for q, i in pos.items():
        if which is not None and q not in which:
            continue
        limits = []
        for sign in (1.0, -1.0):
            cost = np.zeros(n)
            cost[i] = sign
            res = linprog(cost, **args)  # type: ignore[arg-type]
            if res.status == 2:
                return None
            if res.status == 3:
                limits.append(-sign * math.inf)
            elif res.status != 0:
                raise RuntimeError(f"linear program failed for {q.key}: {res.message}")
            else:
                limits.append(float(res.x[i]))
        out[q] = (limits[0], limits[1])
    return out


#: Relation steps around a hidden count in which the certifier looks for a witness.
NEIGHBOURHOODS = (1, 2, 4)
#: Linear programs over a whole large group before the neighbourhoods (random directions).
WHOLE_GROUP_LPS = 6
#: Seed of those directions (the attack is repeatable).
WITNESS_SEED = 15


def _certify(
    variables: Sequence[Quantity],
    relations: Sequence[Relation],
    shown: Mapping[Quantity, float],
    lows: Sequence[float],
    highs: Sequence[float | None],
    *,
    truth: Mapping[Quantity, float],
    targets: Sequence[Quantity],
) -> dict[Quantity, tuple[float, float]] | None:
    """Witnesses that each target can move (see :func:`audit`'s ``exact_limit``)."""
    pos = {q: i for i, q in enumerate(variables)}
    bounds = list(zip(lows, highs, strict=True))
    # A solution through the true values: the unknowns with no true value solved for.
    pinned_bounds = [(truth[q], truth[q]) if q in truth else bounds[i] for q, i in pos.items()]
    first = linprog(
        np.zeros(len(variables)), **_lp_args(variables, relations, shown, pinned_bounds)
    )  # type: ignore[arg-type]
    if first.status != 0:
        return None
    reference = dict(zip(variables, (float(x) for x in first.x), strict=True))
    low = dict(reference)
    high = dict(reference)
    rels_of: dict[Quantity, list[int]] = defaultdict(list)
    for r, relation in enumerate(relations):
        for q in relation.terms:
            if q in pos:
                rels_of[q].append(r)
    wanted = set(targets)
    # A few LPs over the whole group first: each pushes a random half of the targets up and
    # the rest down, so one solution moves many targets at once (each is a witness).
    whole = _lp_args(variables, relations, shown, bounds)
    rng = np.random.default_rng(WITNESS_SEED)
    target_pos = np.array([pos[q] for q in targets])
    for _ in range(WHOLE_GROUP_LPS):
        cost = np.zeros(len(variables))
        cost[target_pos] = rng.choice([-1.0, 1.0], size=len(target_pos))
        res = linprog(cost, **whole)  # type: ignore[arg-type]
        if res.status != 0:
            break
        for q, i in pos.items():
            x = float(res.x[i])
            low[q], high[q] = min(low[q], x), max(high[q], x)
    moved = {q for q in wanted if high[q] - low[q] >= 0.5}
    for q in targets:
        for depth in NEIGHBOURHOODS:
            if q in moved:
                break
            near = {q}
            frontier = [q]
            for _ in range(depth):
                frontier = [
                    w
                    for u in frontier
                    for r in rels_of[u]
                    for w in relations[r].terms
                    if w in pos and w not in near and not near.add(w)  # type: ignore[func-returns-value]
                ]
            local = sorted(near)
            rels = [relations[r] for r in sorted({r for u in local for r in rels_of[u]})]
            held = {
                **shown,
                **{w: reference[w] for r in rels for w in r.terms if w in pos and w not in near},
            }
            args = _lp_args(local, rels, held, [bounds[pos[w]] for w in local])
            at = {w: k for k, w in enumerate(local)}
            for sign in (1.0, -1.0):
                cost = np.zeros(len(local))
                cost[at[q]] = sign
                res = linprog(cost, **args)  # type: ignore[arg-type]
                if res.status != 0:
                    continue
                for w, k in at.items():
                    x = float(res.x[k])
                    low[w], high[w] = min(low[w], x), max(high[w], x)
                    if w in wanted and high[w] - low[w] >= 0.5:
                        moved.add(w)
    out = {q: (low[q], high[q]) for q in targets if q in moved}
    rest = [q for q in targets if q not in moved]
    if rest:
        exact = _component_ranges(variables, relations, shown, lows, highs, which=set(rest))
        if exact is None:
            return None
        out.update({q: exact[q] for q in rest})
    return out


# --------------------------------------------------------------------------- knowledge
def relations_from_release(release: object) -> list[Relation]:
    """The internal release's own equations and inequalities, as extra reader knowledge."""
    out = [
        Relation({Quantity.like(k): float(v) for k, v in rel.items()}, "==", "release equation")
        for rel in release.equations  # type: ignore[attr-defined]
    ]
    out += [
        Relation({Quantity.like(k): float(v) for k, v in rel.items()}, "<=", "release inequality")
        for rel in release.inequalities  # type: ignore[attr-defined]
    ]
    return out


def truth_from_release(release: object) -> dict[Quantity, float]:
    """True numeric values of the release's cells, by quantity."""
    out: dict[Quantity, float] = {}
    for cid, cell in release.cells.items():  # type: ignore[attr-defined]
        try:
            value = float(cell.value)
        except (TypeError, ValueError):
            continue
        if not math.isnan(value):
            out[Quantity.like(cid)] = value
    return out


def sources_from_release(release: object) -> dict[Quantity, tuple[Quantity, ...]]:
    """Per derived cell the count cells it comes from (numerator first, as the tables list them)."""
    return {
        Quantity.like(cid): tuple(Quantity.like(s) for s in cell.sources)
        for cid, cell in release.cells.items()  # type: ignore[attr-defined]
        if cell.sources
    }


def ordered_sources(
    release: object, truth: Mapping[Quantity, float]
) -> dict[Quantity, tuple[Quantity, ...]]:
    """Percentage sources ordered (numerator, denominator) by which order the true values fit."""
    out: dict[Quantity, tuple[Quantity, ...]] = {}
    for q, srcs in sources_from_release(release).items():
        cell = release.cells.get(_cell_id_like(release, q))  # type: ignore[attr-defined]
        if cell is None or str(cell.unit).strip() != "%" or len(srcs) != 2:
            out[q] = srcs
            continue
        p = truth.get(q)
        a, b = truth.get(srcs[0]), truth.get(srcs[1])
        if p is None or a is None or b is None:
            out[q] = srcs
            continue
        close = 1e-6 * max(1.0, abs(p))
        if b > 0 and abs(100 * a / b - p) <= close:
            out[q] = srcs
        elif a > 0 and abs(100 * b / a - p) <= close:
            out[q] = (srcs[1], srcs[0])
        else:
            out[q] = ()  # not a plain ratio of the two: no rounding relation
    return out


def _cell_id_like(release: object, q: Quantity) -> object:
    """The release's own id for a quantity (same class as its keys)."""
    any_id = next(iter(release.cells))  # type: ignore[attr-defined]
    return type(any_id)(q.indicator, q.dims)


# --------------------------------------------------------------------------- writing (fixtures)
def write_ees(
    folder: Path,
    name: str,
    rows: Sequence[Mapping[str, object]],
    *,
    filters: Sequence[str],
    indicators: Mapping[str, tuple[str, int]],
) -> Path:
    """Write a small open-data file and its meta file (``indicators``: name -> (unit, dp))."""
    folder.mkdir(parents=True, exist_ok=True)
    header = [
        "time_period",
        "time_identifier",
        "geographic_level",
        "country_code",
        "country_name",
        *filters,
        *indicators,
    ]
    path = folder / f"{name}.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for row in rows:
            full = {
                "time_identifier": "Calendar year",
                "geographic_level": "National",
                "country_code": "E92000001",
                "country_name": "England",
                **{f: TOTAL for f in filters},
                **row,
            }
            writer.writerow([full.get(c, "x") for c in header])
    with (folder / f"{name}.meta.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["col_name", "col_type", "label", "indicator_unit", "indicator_dp"])
        for f in filters:
            writer.writerow([f, "Filter", f, "", ""])
        for ind, (unit, dp) in indicators.items():
            writer.writerow([ind, "Indicator", ind, unit, dp])
    return path


# --------------------------------------------------------------------------- HTML
def html_table_numbers(html: str) -> list[str]:
    """Every number printed in a data cell of a ``hubspoke-table`` (``%`` and separators kept)."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    out: list[str] = []
    for table in soup.find_all("table", class_="hubspoke-table"):
        for cell in table.find_all("td"):
            text = cell.get_text(" ", strip=True)
            if _parse_number(text.rstrip("%").strip()) is not None:
                out.append(text)
    return out


def number_matches(text: str, values: Iterable[float]) -> bool:
    """Whether a printed number equals one of ``values`` rounded as printed."""
    body = text.rstrip("%").strip()
    number = _parse_number(body)
    if number is None:
        return True
    dp = len(body.split(".", 1)[1]) if "." in body else 0
    half = 0.5 * 10.0 ** (-dp) + 1e-9
    return any(abs(v - number) <= half for v in values)
