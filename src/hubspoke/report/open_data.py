"""Open data: the funder release as CSV files in the Explore Education Statistics layout.

Every cell of the suppressed release (:class:`~hubspoke.privacy.release.Release`) is
written, once per family of statistics it appears in, to ``<family>.csv`` with its
``<family>.meta.csv``, the layout DfE publishes on Explore Education Statistics (EES):

* time and geography columns (``time_period``, ``time_identifier``,
  ``geographic_level``, ``country_code``, ``country_name``);
* filter columns: ``service_id``, ``model_variant``, ``host_setting``, ``phase`` (a
  service's row carries its own group values; a group's row has service ``Total``; the
  programme's row is ``Total`` throughout), then the family's other dimensions, sorted,
  ``Total`` where a row does not split by one;
* one column per indicator, named as in the release, so the same quantity has the same
  column name (and the same value or symbol) in every file.

Symbols: ``c`` hidden (a count from 1 to the threshold, or any value from which one
could be worked out: the same cells as in the reports), ``x`` not available, ``z`` not
applicable (the indicator does not exist for that row). Nothing is computed here: every
number is a cell of the release, so the suppression solved for the reports covers the
files too. Every text value is made safe for spreadsheets (a leading ``=``, ``+``,
``-`` or ``@`` gets an apostrophe; negative numbers stay numbers). ``data_guidance.md``
explains each file. All files are labelled as synthetic data.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import numpy as np
import pandas as pd

from hubspoke import SYNTHETIC_NOTICE
from hubspoke.analysis.release import GROUP_DIMS, current_release, release_stamp, service_groups
from hubspoke.config import Settings, get_settings
from hubspoke.errors import ParameterError, ReportError, SchemaError
from hubspoke.load import all_years_label, available_service_years, load_tables, service_order
from hubspoke.privacy.release import NOT_AVAILABLE, Release, ReleaseCell
from hubspoke.privacy.table import TOTAL, CellId
from hubspoke.spec.labels import readable_label
from hubspoke.spec.raw import SYNTHETIC_MARKER

#: Symbol for an indicator that does not exist for a row (GSS: not applicable).
NOT_APPLICABLE: Final = "z"
#: EES time identifier of every file (time periods are calendar years or a span of them).
TIME_IDENTIFIER: Final = "Calendar year"
#: EES geography columns and their one value: the programme is reported at national level.
GEOGRAPHY: Final = (
    ("geographic_level", "National"),
    ("country_code", "E92000001"),
    ("country_name", "England"),
)
#: Filter columns every file has, in order, before the family's own dimensions.
FIXED_FILTERS: Final = ("service_id", *GROUP_DIMS)
#: Columns before the filters.
LEADING_COLUMNS: Final = (
    "time_period",
    "time_identifier",
    *(name for name, _ in GEOGRAPHY),
)
#: Columns of every ``.meta.csv`` (EES metadata file).
META_COLUMNS: Final = (
    "col_name",
    "col_type",
    "label",
    "indicator_grouping",
    "indicator_unit",
    "indicator_dp",
    "filter_hint",
    "filter_grouping_column",
)
#: Indicator units EES accepts in ``indicator_unit``; any other unit is named in the guidance.
EES_UNITS: Final = frozenset({"%", "£", "£m", "pp"})
#: The guidance file written beside the data files.
GUIDANCE_FILE: Final = "data_guidance.md"
#: Suffix of a family's metadata file.
META_SUFFIX: Final = ".meta.csv"

#: Hints for the fixed filters (EES ``filter_hint``).
FILTER_HINTS: Final[Mapping[str, str]] = {
    "service_id": "Filter by service (Total: a group of services or the whole programme)",
    "model_variant": "Filter by model variant (a service's row shows its own)",
    "host_setting": "Filter by main host setting (a service's row shows its own)",
    "phase": "Filter by phase (a service's row shows its own)",
}
#: How an indicator's kind is grouped in the metadata (EES ``indicator_grouping``).
KIND_GROUPING: Final[Mapping[str, str]] = {
    "count": "Counts of people",
    "derived": "Computed from counts",
    "figure": "Other figures",
    "text": "Text",
}
#: Readable words for common name parts.
_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,79}$")
_COLUMN = re.compile(r"^[a-z][a-z0-9_]{0,79}$")
_NEGATIVE_NUMBER = re.compile(r"^-(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?$")
#: First characters a spreadsheet reads as the start of a formula (with full-width forms).
_FORMULA_START: Final = frozenset("=+-@＝＋－＠")
#: Control characters that also start a formula when first in a cell.
_CONTROL_START: Final = frozenset("\t\r\n")


# --------------------------------------------------------------------------- small helpers
def spreadsheet_safe(text: str) -> str:
    """A text value a spreadsheet shows as text: a leading = + - @ (or tab/return) gets an apostrophe.

    Why: a CSV cell starting with those characters is run as a formula when opened in a
    spreadsheet (formula injection). A negative number (``-3``, ``-0.5``) is left alone.
    """
    if not text:
        return text
    if _NEGATIVE_NUMBER.match(text):
        return text
    if text[0] in _CONTROL_START or text.lstrip()[:1] in _FORMULA_START:
        return "'" + text
    return text


def check_slug(name: str, *, what: str = "family") -> str:
    """``name`` if it is safe as a file name (lower-case letters, digits, ``_`` and ``-``), else ReportError."""
    if not isinstance(name, str) or not _SLUG.match(name):
        raise ReportError(
            f"{what} name cannot be used as a file name",
            column=what,
            allowed="lower-case letters, digits, _ and - (at most 80; first a letter or digit)",
            found=name,
        )
    return name


def _check_column(name: str, *, what: str) -> str:
    """A column name EES accepts (lower-case snake case), else ReportError."""
    if not _COLUMN.match(name):
        raise ReportError(
            f"{what} name is not a valid open-data column name",
            column=name,
            allowed="lower-case letters, digits and _ (first a letter)",
            found=name,
        )
    return name


def _missing(value: object) -> bool:
    """Whether a value is not available (None, NA, NaN or infinite)."""
    if value is None or value is pd.NA:
        return True
    if isinstance(value, float | np.floating):
        return not math.isfinite(float(value))
    return False


def value_text(cell: ReleaseCell, *, hidden: bool, symbol: str) -> str:
    """One cell as written to a file: the symbol, ``x``, a whole count, a number to ``dp`` places, or safe text."""
    if hidden:
        return symbol
    value = cell.value
    if _missing(value):
        return NOT_AVAILABLE
    if cell.kind == "text" or isinstance(value, str):
        return spreadsheet_safe(str(value))
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return spreadsheet_safe(str(value))
    if cell.kind == "count":
        return str(int(round(number)))
    text = f"{number:.{max(int(cell.dp), 0)}f}"
    return text[1:] if text.startswith("-") and not text.strip("-0.") else text  # no "-0.0"


# --------------------------------------------------------------------------- one family
@dataclass
class _Indicator:
    """What the metadata and guidance say about one indicator column."""

    name: str
    kind: str
    units: list[str] = field(default_factory=list)
    dp: int = 0


@dataclass
class FamilyFile:
    """One family as rows of text, ready to write: its columns, rows and what each column is."""

    family: str
    filters: list[str]
    indicators: list[_Indicator]
    rows: list[list[str]]
    periods: list[str]

    @property
    def columns(self) -> list[str]:
        """Every column of the data file, in order."""
        return [*LEADING_COLUMNS, *self.filters, *(i.name for i in self.indicators)]


def _groups_table(groups: pd.DataFrame) -> dict[str, dict[str, str]]:
    """Per service id, its group values as text (checks the columns are there)."""
    missing = [d for d in GROUP_DIMS if d not in groups.columns]
    if missing:
        raise SchemaError(
            "the service groups need a column per group dimension",
            column=missing[0],
            allowed=list(GROUP_DIMS),
            found=list(map(str, groups.columns)),
        )
    return {
        str(sid): {d: str(row[d]) for d in GROUP_DIMS}
        for sid, row in groups[list(GROUP_DIMS)].iterrows()
    }


def _filters_of(
    cid: CellId, groups: Mapping[str, Mapping[str, str]], *, periods: Sequence[str]
) -> tuple[str, dict[str, str], dict[str, str]]:
    """The time period, fixed filter values and other dimensions of one cell."""
    dims = dict(cid.dims)
    period = dims.pop("time_period", periods[-1])
    if period not in periods:
        raise ReportError(
            "a cell's time period is not one of the release's years",
            column=cid.key,
            allowed=list(periods),
            found=period,
        )
    fixed = {"service_id": dims.pop("service_id", TOTAL)}
    fixed.update({d: dims.pop(d, TOTAL) for d in GROUP_DIMS})
    service = fixed["service_id"]
    if service != TOTAL:
        own = groups.get(service)
        if own is None:
            raise ReportError(
                "a service in the release has no model variant, host setting and phase",
                column=cid.key,
                allowed=sorted(groups),
                found=service,
            )
        for dim in GROUP_DIMS:
            if fixed[dim] not in (TOTAL, own[dim]):
                raise ReportError(
                    f"a service's cell names another {dim} than the service's own",
                    column=cid.key,
                    allowed=own[dim],
                    found=fixed[dim],
                )
            fixed[dim] = own[dim]
    return period, fixed, dims


def _order(values: Sequence[str]) -> dict[str, int]:
    """Sort positions: ``Total`` first, then the values in the order first met."""
    seen = [TOTAL, *dict.fromkeys(v for v in values if v != TOTAL)]
    return {v: i for i, v in enumerate(seen)}


def family_file(
    release: Release,
    family: str,
    cells: Sequence[CellId],
    groups: Mapping[str, Mapping[str, str]],
    *,
    periods: Sequence[str],
) -> FamilyFile:
    """One family's rows: one per combination of filter values, one column per indicator.

    Why a separate step: the layout (and its checks: one value per row and indicator,
    one kind per indicator) can be tested without writing files.
    """
    check_slug(family)
    indicators: dict[str, _Indicator] = {}
    placed: dict[tuple[str, ...], dict[str, tuple[CellId, str]]] = {}
    keys: dict[tuple[str, ...], tuple[str, dict[str, str], dict[str, str]]] = {}
    other_dims = sorted(
        {d for cid in cells for d, _ in cid.dims if d != "time_period" and d not in FIXED_FILTERS}
    )
    for name in [*FIXED_FILTERS, *other_dims]:
        _check_column(name, what="dimension")
    for cid in cells:
        cell = release.cells[cid]
        name = _check_column(cid.indicator, what="indicator")
        if name in FIXED_FILTERS or name in other_dims or name in LEADING_COLUMNS:
            raise ReportError(
                "an indicator has the name of a filter column", column=name, found=family
            )
        known = indicators.setdefault(name, _Indicator(name, cell.kind))
        if known.kind != cell.kind:
            raise ReportError(
                f"one indicator is of two kinds in family {family!r}; give each its own name",
                column=name,
                allowed=known.kind,
                found=cell.kind,
            )
        if cell.unit and cell.unit not in known.units:
            known.units.append(cell.unit)
        if cell.kind in {"derived", "figure"}:
            known.dp = max(known.dp, int(cell.dp))
        period, fixed, rest = _filters_of(cid, groups, periods=periods)
        key = (period, *fixed.values(), *(rest.get(d, TOTAL) for d in other_dims))
        keys[key] = (period, fixed, rest)
        hidden = release.is_hidden(cid) or any(release.is_hidden(s) for s in cell.sources)
        text = value_text(cell, hidden=hidden, symbol=release.symbol)
        row = placed.setdefault(key, {})
        if name in row and row[name][0] != cid:
            raise ReportError(
                "two cells fall in one row and column of the open data",
                column=cid.key,
                found=row[name][0].key,
            )
        row[name] = (cid, text)
    rows = [
        [
            *_leading(key[0]),
            *(spreadsheet_safe(v) for v in key[1:]),
            *(placed[key][i][1] if i in placed[key] else NOT_APPLICABLE for i in indicators),
        ]
        for key in _sorted_keys(keys, other_dims, periods=periods)
    ]
    used = [p for p in periods if any(k[0] == p for k in keys)]
    return FamilyFile(family, [*FIXED_FILTERS, *other_dims], list(indicators.values()), rows, used)


def _leading(period: str) -> list[str]:
    """The time and geography values of a row."""
    return [spreadsheet_safe(period), TIME_IDENTIFIER, *(value for _, value in GEOGRAPHY)]


def _sorted_keys(
    keys: Mapping[tuple[str, ...], tuple[str, dict[str, str], dict[str, str]]],
    other_dims: Sequence[str],
    *,
    periods: Sequence[str],
) -> list[tuple[str, ...]]:
    """Rows in reading order: by period, then programme, groups, services, then other dimensions."""
    period_at = {p: i for i, p in enumerate(periods)}
    services = [k[1] for k in keys if k[1] != TOTAL]
    service_at = {s: i + 1 for i, s in enumerate(service_order(list(dict.fromkeys(services))))}
    service_at[TOTAL] = 0
    orders = {
        pos: _order([k[pos] for k in keys])
        for pos in range(2, 2 + len(GROUP_DIMS) + len(other_dims))
    }

    def sort_key(key: tuple[str, ...]) -> tuple:
        level = 2 if key[1] != TOTAL else (1 if any(v != TOTAL for v in key[2:5]) else 0)
        return (
            period_at[key[0]],
            level,
            service_at[key[1]],
            *(orders[pos][key[pos]] for pos in range(2, len(key))),
        )

    return sorted(keys, key=sort_key)


def meta_rows(table: FamilyFile, *, labels: Mapping[str, str] | None = None) -> list[list[str]]:
    """The EES metadata rows of a family: its filters, then its indicators."""
    out: list[list[str]] = []
    for name in table.filters:
        hint = FILTER_HINTS.get(name, f"Filter by {readable_label(name, labels).lower()}")
        out.append(
            [name, "Filter", spreadsheet_safe(readable_label(name, labels)), "", "", "", hint, ""]
        )
    for ind in table.indicators:
        unit = ind.units[0] if len(ind.units) == 1 and ind.units[0] in EES_UNITS else ""
        dp = "" if ind.kind == "text" else str(ind.dp)
        out.append(
            [
                ind.name,
                "Indicator",
                spreadsheet_safe(readable_label(ind.name, labels)),
                KIND_GROUPING.get(ind.kind, ""),
                unit,
                dp,
                "",
                "",
            ]
        )
    return out


# --------------------------------------------------------------------------- writing
def _csv_text(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """CSV text with the synthetic-data marker as its first line."""
    buffer = io.StringIO()
    buffer.write(SYNTHETIC_MARKER + "\n")
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def _write_text(path: Path, text: str) -> Path:
    """Write a file through a temporary name in the same folder, so a reader never sees half of it."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _periods(years: Sequence[int]) -> list[str]:
    """The time periods of the release: each year, then all years pooled."""
    try:
        clean = sorted({int(y) for y in years})
    except (TypeError, ValueError):
        raise ParameterError("years must be whole numbers", found=list(years)) from None
    if not clean:
        raise ParameterError("open data needs the release's years", found=list(years))
    return [*(str(y) for y in clean), all_years_label(clean)]


def write_open_data(
    release: Release,
    groups: pd.DataFrame,
    out_dir: Path,
    *,
    years: Sequence[int],
    labels: Mapping[str, str] | None = None,
    descriptions: Mapping[str, str] | None = None,
) -> list[Path]:
    """Write every family of the release as an EES data file and metadata file, plus the guidance.

    ``groups``: per service id (index) its ``model_variant``, ``host_setting`` and
    ``phase``. ``years``: the release's years (a cell without a time period is of all
    years pooled). ``labels`` overrides column labels; ``descriptions`` adds a sentence
    per family to the guidance. Returns the files written (data, metadata, ...,
    guidance last). Earlier ``.csv`` files in ``out_dir`` that this release no longer
    has are removed, so the folder never offers numbers suppressed under other inputs.
    Refuses a release whose suppression left a pinned count (``release.residual``).
    """
    if release.residual:
        raise ReportError(
            "the release still has hidden counts a reader could work out; it cannot be published",
            found=sorted(c.key for c in release.residual)[:5],
        )
    periods = _periods(years)
    service_groups = _groups_table(groups)
    by_family: dict[str, list[CellId]] = {}
    for cid, cell in release.cells.items():
        for family in cell.families:
            by_family.setdefault(family, []).append(cid)
    tables = [
        family_file(release, family, cids, service_groups, periods=periods)
        for family, cids in sorted(by_family.items(), key=lambda kv: check_slug(kv[0]))
    ]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for table in tables:
        written.append(
            _write_text(out_dir / f"{table.family}.csv", _csv_text(table.columns, table.rows))
        )
        written.append(
            _write_text(
                out_dir / f"{table.family}{META_SUFFIX}",
                _csv_text(META_COLUMNS, meta_rows(table, labels=labels)),
            )
        )
    guidance = guidance_markdown(
        tables, release=release, periods=periods, labels=labels, descriptions=descriptions
    )
    written.append(_write_text(out_dir / GUIDANCE_FILE, guidance))
    keep = {p.name for p in written}
    for stale in out_dir.glob("*.csv"):
        if stale.name not in keep and stale.is_file():
            stale.unlink()
    return written


def write_release_open_data(
    out_dir: Path, *, settings: Settings | None = None, record: Path | None = None
) -> list[Path]:
    """The current funder release's open data, written to ``out_dir`` (``reports/funder/data``).

    Why: the report run needs one call; the release is the one every report shows
    (cached beside the reports), the groups and years come from the processed data.
    ``record``: a file outside the shared folder noting what was written (the release's
    stamp and each file's SHA-256). When it shows the same release and every file in
    ``out_dir`` as written, nothing is written again: a report run with nothing to build
    spent most of its time rewriting the same files. Any difference (another release, a
    file edited, missing or added) writes them all again.
    """
    settings = settings or get_settings()
    release = current_release(settings)
    out_dir = Path(out_dir)
    stamp = release_stamp(settings)
    if record is not None and (kept := _as_recorded(record, out_dir, stamp)) is not None:
        return kept
    tables = load_tables(settings.processed_dir)
    years = sorted({y for ys in available_service_years(tables).values() for y in ys})
    written = write_open_data(release, service_groups(tables), out_dir, years=years)
    if record is not None:
        _write_record(record, out_dir, stamp, written)
    return written


#: Version of the layout of :func:`write_release_open_data`'s record.
RECORD_FORMAT: Final = 1


def _sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _write_record(record: Path, out_dir: Path, stamp: str, written: Sequence[Path]) -> None:
    """Note the release's ``stamp`` and each file written (name and SHA-256, in order)."""
    files = {p.name: _sha256(p) for p in written}
    content = {
        "format": RECORD_FORMAT,
        "folder": str(out_dir.resolve()),
        "stamp": stamp,
        "files": files,
    }
    record.parent.mkdir(parents=True, exist_ok=True)
    _write_text(record, json.dumps(content, indent=1))


def _as_recorded(record: Path, out_dir: Path, stamp: str) -> list[Path] | None:
    """The files of the last write, in order, when ``out_dir`` holds them as written for
    ``stamp`` and no other data file; None when anything differs (or the record does not
    read as one)."""
    try:
        saved = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(saved, dict) or saved.get("format") != RECORD_FORMAT:
        return None
    files = saved.get("files")
    if (
        saved.get("stamp") != stamp
        or saved.get("folder") != str(out_dir.resolve())
        or not isinstance(files, dict)
        or not files
        or any(not isinstance(n, str) or Path(n).name != n or n in {".", ".."} for n in files)
    ):
        return None
    present = {p.name for p in out_dir.glob("*.csv") if p.is_file()}
    if present != {n for n in files if n.endswith(".csv")}:
        return None
    if any(_sha256(out_dir / name) != digest for name, digest in files.items()):
        return None
    return [out_dir / name for name in files]


# --------------------------------------------------------------------------- guidance
def _md(text: str) -> str:
    """Text that reads as itself in Markdown (no markup, no HTML)."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"([\\`*_{}\[\]()#+!|~])", r"\\\1", " ".join(text.split()))


def guidance_markdown(
    tables: Sequence[FamilyFile],
    *,
    release: Release,
    periods: Sequence[str],
    labels: Mapping[str, str] | None = None,
    descriptions: Mapping[str, str] | None = None,
) -> str:
    """The data guidance: the symbols, the suppression rule, and per file what it counts, its filters and indicators."""
    threshold = release.threshold
    lines = [
        "# Hub and Spoke evaluation: open data guidance",
        "",
        f"**{_md(SYNTHETIC_NOTICE)}**",
        "",
        "Every file in this folder holds synthetic data. Each data file starts with one comment "
        "line saying so (`#` ...); tools that load Explore Education Statistics files need it "
        "removed first.",
        "",
        "## Layout",
        "",
        "The files follow the Explore Education Statistics layout. Each `<name>.csv` has the "
        "columns `time_period` (a calendar year, or "
        f"{_md(periods[-1])} for all years together), `time_identifier` "
        f"({TIME_IDENTIFIER}), `geographic_level`, `country_code` and `country_name` "
        "(the programme is reported at national level), then its filters, then one column per "
        "indicator. Its `<name>.meta.csv` gives each column's label, unit and decimal places.",
        "",
        "Filters: `service_id` names one service, and that service's row also shows its own "
        "`model_variant`, `host_setting` and `phase`. A row with `service_id` Total and a "
        "group value (for example a model variant) is that group of services; a row with "
        "Total in every filter is the whole programme. Any other filter at Total means the "
        "row is not split by it.",
        "",
        "An indicator has the same column name in every file, and the same value or "
        "symbol wherever it appears.",
        "",
        "## Symbols",
        "",
        f"- `{_md(release.symbol)}`: confidential. Counts of people from 1 to {threshold}, and "
        "any value from which one of them could be worked out (another count in the same "
        "table, row or total, a percentage, mean or rating computed from them), are shown as "
        f"`{_md(release.symbol)}`. The suppression was worked out once for all files and "
        "reports together, so the same cells are hidden in every file alike, and no hidden "
        "count can be recovered by combining files.",
        f"- `{NOT_AVAILABLE}`: not available (the value is missing).",
        f"- `{NOT_APPLICABLE}`: not applicable (the indicator does not exist for that row).",
        "",
        "Text values that begin with `=`, `+`, `-` or `@` start with an apostrophe, so that "
        "a spreadsheet shows them as text.",
        "",
        "## Files",
    ]
    for table in tables:
        lines += ["", f"### {table.family}.csv", ""]
        about = (descriptions or {}).get(table.family)
        if about:
            lines += [_md(about), ""]
        counts = [i for i in table.indicators if i.kind == "count"]
        if counts:
            units = sorted({u for i in counts for u in i.units})
            lines.append(f"Counts of {_md(', '.join(units) or 'people')}.")
        else:
            lines.append("No counts of people: figures and text only.")
        lines += [
            f"Time periods: {_md(', '.join(table.periods))}. Rows: {len(table.rows)}. "
            f"Metadata: `{table.family}{META_SUFFIX}`.",
            "",
            "Filters:",
            "",
        ]
        lines += [f"- `{name}`: {_md(readable_label(name, labels))}" for name in table.filters]
        lines += ["", "Indicators:", ""]
        for ind in table.indicators:
            unit = f", unit: {_md(', '.join(ind.units))}" if ind.units else ""
            places = (
                f", {ind.dp} decimal place{'' if ind.dp == 1 else 's'}"
                if ind.kind in {"derived", "figure"}
                else ""
            )
            lines.append(
                f"- `{ind.name}`: {_md(readable_label(ind.name, labels))} "
                f"({_md(KIND_GROUPING.get(ind.kind, ind.kind).lower())}{unit}{places})"
            )
    return "\n".join(lines) + "\n"
