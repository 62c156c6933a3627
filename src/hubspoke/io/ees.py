"""Explore Education Statistics (EES) CSV files: read any file in the published layout.

The Department for Education (DfE) and the Office for National Statistics publish
their tables on EES as CSVs in one layout: the time columns (``time_period``,
``time_identifier``), the geography columns (``geographic_level``, ``country_code``
... ``new_la_code``, ``la_name``), then filter columns (all text, e.g. ``category``,
``age_group``) and measure columns (numbers, or a government statistical symbol
where a number cannot be shown). :func:`read_ees_csv` reads any such file, keeping
each measure's symbol beside it; :func:`find_context_files` finds the
children-in-need and population files in a folder by their columns.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType

import pandas as pd

from hubspoke.errors import ConfigError, RawFileError

#: Government statistical symbols (lower case, without GSS square brackets) and their meaning.
#: ``low`` and ``high`` are older DfE markers kept for files that still use them.
SYMBOLS: Mapping[str, str] = MappingProxyType(
    {
        "c": "suppressed (confidential, e.g. a count of 1 to 5)",
        "x": "not available",
        "z": "not applicable",
        "u": "low reliability",
        "k": "rounds to 0, but is not 0",
        ":": "not available",
        "low": "rounds to 0, but is not 0",
        "high": "above the published range",
    }
)
#: The symbol recorded for a blank measure cell (a blank is not a government symbol).
BLANK = "blank"
#: Suffix of the companion column holding a measure's symbol.
SYMBOL_SUFFIX = "__symbol"

#: Columns a file must have to be read as an EES file.
REQUIRED_COLUMNS: tuple[str, ...] = ("time_period", "geographic_level")
#: Standard EES time and geography columns: always dimensions, never measures.
STANDARD_DIMENSIONS: frozenset[str] = frozenset(
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
#: Column-name endings that mark further EES geography columns (``lad_code``, ``school_urn``...).
_DIMENSION_SUFFIXES: tuple[str, ...] = ("_code", "_name", "_id", "_urn", "_ukprn", "_laestab")

#: The measure columns the context table is built from.
CSE_MEASURE = "Child_sexual_exploitation"
POPULATION_MEASURE = "population_estimate"

_NUMBER = re.compile(r"^[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$|^[+-]?\.\d+$")
_YEAR = re.compile(r"^(\d{4})$")
_SPAN = re.compile(r"^(\d{4})[/-]?(\d{2})$")
_POOLED = re.compile(r"^(\d{4})-(\d{4})$")  # calendar years pooled, e.g. 2014-2016


# ---------------------------------------------------------------------------
# Reading one EES file
# ---------------------------------------------------------------------------


def read_ees_csv(path: Path | str, *, dimensions: Iterable[str] = ()) -> pd.DataFrame:
    """Read a CSV in the EES layout into a frame of dimensions, ``year``, measures and symbols.

    Accepts UTF-8 with or without a byte-order mark and an optional first line
    starting with ``#`` (the synthetic files' :data:`~hubspoke.spec.raw.SYNTHETIC_MARKER`).

    Returned columns, in order:

    * every column of the file, dimensions as text (blank -> missing) and
      measures as numbers (``Int64`` when every value is whole, else ``Float64``);
      a symbol or a blank becomes a missing value;
    * ``year`` (int) from ``time_period``, inserted after ``time_period``:
      ``2025`` -> 2025; a span such as ``201718`` (academic or financial year)
      -> its ending year, 2018. For the DfE children-in-need tables (time
      identifier "Reporting year") the year is the one ending 31 March; for ONS
      mid-year estimates it is the year of the 30 June estimate;
    * one ``<measure>__symbol`` column per measure (wide format, so each row stays
      one area-year): missing where the cell held a number, else the symbol found
      in lower case without GSS brackets (``c``, ``x``, ``z``, ``u``, ``k``, ``:``,
      ``low``, ``high``; see :data:`SYMBOLS`), or ``"blank"`` for an empty cell.

    Measures vs dimensions: the Filter columns of the EES meta file beside it
    (``<name>.meta.csv``) when there is one, the standard EES time/geography columns, columns
    ending ``_code``/``_name``/``_id``/``_urn``/``_ukprn``/``_laestab``, the
    ``dimensions`` given and any column whose non-blank cells are mostly text
    (filters such as ``category``, ``age_group``) are dimensions; every other
    column is a measure, and a measure cell that is neither a number (thousands
    separators allowed) nor a known symbol is an error. ``frame.attrs`` records
    the source file, whether it is synthetic and the measure list.

    Raises :class:`~hubspoke.errors.RawFileError` (naming the file, row, column,
    allowed values and value found) for a missing, unreadable or empty file, a
    file without ``time_period``/``geographic_level``, a bad time period or a bad
    measure cell. Rows are numbered as lines in the file, header and comment included.
    """
    path = Path(path)
    header, rows, lines, synthetic = _read_rows(path)
    raw = pd.DataFrame(rows, columns=header, dtype="str")
    filters, indicators = _meta_columns(path)
    forced = set(dimensions) | filters | _text_columns(raw, indicators)
    measures = [c for c in header if _is_measure(c, raw[c], forced)]
    frame = _parse_dimensions(raw, [c for c in header if c not in measures])
    frame = frame.assign(**_parse_measures(raw, measures, path, lines))
    frame.insert(header.index("time_period") + 1, "year", _parse_years(raw, path, lines))
    frame.attrs = {"source": str(path), "synthetic": synthetic, "measures": measures}
    return frame


def _meta_columns(path: Path) -> tuple[set[str], set[str]]:
    """The Filter and Indicator columns named by the EES meta file beside ``path`` (``<name>.meta.csv``)."""
    meta = path.with_name(f"{path.stem}.meta.csv")
    if path.name.endswith(".meta.csv") or not meta.is_file():
        return set(), set()
    text, _, _ = _split_comment(_open_text(meta))
    header, *rows = list(csv.reader(text.splitlines(keepends=True))) or [[]]
    header = [h.strip() for h in header]
    if "col_name" not in header or "col_type" not in header:
        return set(), set()
    name, kind = header.index("col_name"), header.index("col_type")
    typed = [(row[name], row[kind]) for row in rows if len(row) > max(name, kind)]
    return {n for n, k in typed if k == "Filter"}, {n for n, k in typed if k == "Indicator"}


def _text_columns(raw: pd.DataFrame, indicators: set[str]) -> set[str]:
    """Indicators the meta file declares that hold words (a rating, a verdict): kept as text."""
    out = set()
    for column in indicators & set(raw.columns):
        _, _, blank, valid = _classify(raw[column])
        if (~(blank | valid)).any():
            out.add(column)
    return out


def measure_columns(frame: pd.DataFrame) -> list[str]:
    """The measure columns of a frame from :func:`read_ees_csv` (those with a symbol column)."""
    return [c.removesuffix(SYMBOL_SUFFIX) for c in frame.columns if c.endswith(SYMBOL_SUFFIX)]


def _open_text(path: Path) -> str:
    """The file's text (BOM removed), or a RawFileError saying why it cannot be read."""
    if not path.is_file():
        raise RawFileError("file not found (or not a file)", file=path)
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RawFileError(
            "not UTF-8 text; save the CSV as UTF-8",
            file=path,
            found=exc.object[exc.start : exc.end],
        ) from exc
    except OSError as exc:
        raise RawFileError(f"cannot read the file ({exc.strerror})", file=path) from exc


def _split_comment(text: str) -> tuple[str, int, bool]:
    """Drop one leading ``#`` comment line; return the rest, lines dropped and whether synthetic."""
    if text.startswith("#"):
        first, _, rest = text.partition("\n")
        return rest, 1, "synthetic" in first.lower()
    return text, 0, False


def _read_rows(path: Path) -> tuple[list[str], list[list[str]], list[int], bool]:
    """Header, data rows (blank lines skipped), each row's line number, and the synthetic flag."""
    text, offset, synthetic = _split_comment(_open_text(path))
    reader = csv.reader(text.splitlines(keepends=True))
    header = [h.strip() for h in next(reader, [])]
    if not any(header):
        raise RawFileError("empty file: no header row", file=path, row=offset + 1)
    _check_header(header, path, offset + 1)
    rows: list[list[str]] = []
    lines: list[int] = []
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise RawFileError(
                "row has a different number of cells from the header",
                file=path,
                row=offset + reader.line_num,
                allowed=str(len(header)),
                found=len(row),
            )
        rows.append(row)
        lines.append(offset + reader.line_num)
    if not rows:
        raise RawFileError("empty file: a header but no data rows", file=path)
    return header, rows, lines, synthetic


def _check_header(header: list[str], path: Path, line: int) -> None:
    """Fail on missing required columns and on duplicated or blank column names."""
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise RawFileError(
            f"not an Explore Education Statistics file: column(s) {', '.join(missing)} missing",
            file=path,
            row=line,
            allowed=REQUIRED_COLUMNS,
            found=", ".join(header[:12]),
        )
    dupes = sorted({h for h in header if header.count(h) > 1 or not h})
    if dupes:
        raise RawFileError(
            "blank or repeated column name in the header", file=path, row=line, found=dupes
        )


def _classify(values: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series, pd.Series]:
    """For text cells: stripped text, normalised symbol key, and blank / number / symbol masks."""
    text = values.str.strip()
    key = text.str.lower().str.replace(r"^\[(.+)\]$", r"\1", regex=True)
    blank = text.eq("")
    number = text.str.fullmatch(_NUMBER).fillna(False).astype(bool)
    symbol = key.isin(list(SYMBOLS))
    return text, key, blank, number | symbol


def _is_measure(column: str, values: pd.Series, forced: set[str]) -> bool:
    """A column is a measure unless it is a known dimension or its non-blank cells are mostly text."""
    if column in STANDARD_DIMENSIONS or column in forced or column.endswith(_DIMENSION_SUFFIXES):
        return False
    _, _, blank, valid = _classify(values)
    filled = ~blank
    return not filled.any() or valid[filled].mean() >= 0.5


def _parse_dimensions(raw: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Dimension columns as trimmed text, blank -> missing."""
    return raw[columns].apply(lambda s: s.str.strip().replace("", pd.NA))


def _parse_measures(
    raw: pd.DataFrame, measures: list[str], path: Path, lines: list[int]
) -> dict[str, pd.Series]:
    """Each measure as numbers plus its ``__symbol`` companion; a bad cell is a RawFileError."""
    out: dict[str, pd.Series] = {}
    for column in measures:
        text, key, blank, valid = _classify(raw[column])
        bad = ~(blank | valid)
        if bad.any():
            i = int(bad.to_numpy().nonzero()[0][0])
            raise RawFileError(
                f"measure cell is neither a number nor a statistical symbol ({int(bad.sum())} such cell(s))",
                file=path,
                row=lines[i],
                column=column,
                allowed=["a number", *SYMBOLS, "blank"],
                found=raw[column].iloc[i],
            )
        number = text.str.fullmatch(_NUMBER).fillna(False).astype(bool)
        values = pd.to_numeric(text.where(number).str.replace(",", ""), errors="raise")
        out[column] = _as_number(values)
        out[column + SYMBOL_SUFFIX] = (
            key.where(~number).where(~blank, BLANK).astype("str").rename(None)
        )
    return _symbols_last(out, measures)


def _symbols_last(out: dict[str, pd.Series], measures: list[str]) -> dict[str, pd.Series]:
    """Order the new columns: measures keep their place, symbol columns go at the end."""
    return {
        **{m: out[m] for m in measures},
        **{m + SYMBOL_SUFFIX: out[m + SYMBOL_SUFFIX] for m in measures},
    }


def _as_number(values: pd.Series) -> pd.Series:
    """``Int64`` when every value is whole, else ``Float64``."""
    floats = values.astype("Float64")
    whole = floats.dropna().mod(1).eq(0).all()
    return floats.round().astype("Int64") if whole else floats


def _parse_years(raw: pd.DataFrame, path: Path, lines: list[int]) -> pd.Series:
    """``time_period`` -> the (ending) year as int; a period of another form is a RawFileError."""
    years = [_period_year(p.strip()) for p in raw["time_period"]]
    if None in years:
        i = years.index(None)
        raise RawFileError(
            "time period is not a year (2025), a span (201718, 2017/18) or years pooled (2014-2016)",
            file=path,
            row=lines[i],
            column="time_period",
            allowed="YYYY, YYYYYY where the second year follows the first, or YYYY-YYYY",
            found=raw["time_period"].iloc[i],
        )
    return pd.Series(years, index=raw.index, dtype="int64")


def _period_year(period: str) -> int | None:
    """2025 -> 2025; 201718 / 2017/18 / 2017-18 -> 2018; 2014-2016 (years pooled) -> 2016; else None."""
    if match := _YEAR.match(period):
        return int(match[1])
    if (match := _POOLED.match(period)) and int(match[1]) < int(match[2]) <= int(match[1]) + 50:
        return int(match[2])
    if (match := _SPAN.match(period)) and (int(match[1]) + 1) % 100 == int(match[2]):
        return int(match[1]) + 1
    return None


def find_context_files(context_dir: Path | str) -> dict[str, Path]:
    """``{"cin": path, "population": path}``: the one CSV in the folder with each measure column."""
    folder = Path(context_dir)
    if not folder.is_dir():
        raise ConfigError("context folder not found (set HUBSPOKE_CONTEXT_DIR)", file=folder)
    wanted = {"cin": CSE_MEASURE, "population": POPULATION_MEASURE}
    found: dict[str, list[Path]] = {kind: [] for kind in wanted}
    for path in sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() == ".csv"):
        header = _header_of(path)
        for kind, measure in wanted.items():
            if measure in header and set(REQUIRED_COLUMNS) <= header:
                found[kind].append(path)
    for kind, measure in wanted.items():
        if len(found[kind]) != 1:
            what = "no" if not found[kind] else "more than one"
            raise ConfigError(
                f"{what} {kind} file in the context folder (an EES CSV with column {measure!r})",
                file=folder,
                found=[p.name for p in found[kind]] or None,
            )
    return {kind: paths[0] for kind, paths in found.items()}


def _header_of(path: Path) -> set[str]:
    """The column names of a CSV (after a BOM and a ``#`` line), or an empty set if unreadable."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            first = fh.readline()
            if first.startswith("#"):
                first = fh.readline()
    except (OSError, UnicodeDecodeError):
        return set()
    return {h.strip() for h in next(csv.reader([first]), [])}
