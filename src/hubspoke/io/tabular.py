"""Read raw files (CSV and ``.xlsx``) into text frames with provenance.

Readers do no cleaning: they find the header row, match column names through
the declared alias table (:meth:`hubspoke.spec.raw.RawTable.alias_table`) and
return every data row below the header as text, with three provenance columns
(:data:`PROVENANCE`): the file (posix path relative to the raw folder), the
sheet (``""`` for a CSV) and the 1-based spreadsheet row (see
:mod:`hubspoke.spec.raw` for the row convention). Blank rows and notes rows are
kept: cleaning accounts for every raw row, so it must see them.

Cells are read as text. Excel numbers are written as plain digits (``42036``,
``14``, ``2.5``) so that serial dates and numbers are recognised later exactly
like their CSV twins; Excel date cells become ISO text.

CSVs may be UTF-8, Windows-1252 or UTF-16 (Excel's "Unicode text"), separated by
commas or tabs. Workbooks are read by calamine (``python-calamine``) after their
zip parts are checked against :class:`WorkbookLimits`: a small file asking for a
huge grid, or a part inflating far beyond its size, is refused before anything
is allocated.

A file that cannot be read at all raises one :class:`~hubspoke.errors.RawFileError`
naming the file and what is wrong (and the sheet, for a workbook sheet).
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import html
import io
import itertools
import math
import re
import struct
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import python_calamine

from hubspoke.errors import RawFileError
from hubspoke.spec.raw import ALL_TABLES, RawTable
from hubspoke.spec.vocab import normalise_label

#: Provenance columns every raw frame carries: file, sheet and spreadsheet row.
PROVENANCE: tuple[str, str, str] = ("_file", "_sheet", "_row")

#: How many rows from the top a header may sit below (title rows).
HEADER_SEARCH_ROWS = 30

#: Sheets that hold no table and are ignored without a warning.
IGNORED_SHEETS = frozenset({"about", "readme", "read me", "notes", "instructions", "contents"})


@dataclass
class RawSheet:
    """One raw table as read: text cells under canonical names, plus provenance.

    ``data`` is a pandas frame or, from the fast CSV path, a pyarrow table;
    :attr:`frame` gives pandas either way and :meth:`to_arrow` gives arrow, so a
    cleaner that gathers many files converts them to pandas once, not per file.
    """

    table: RawTable
    file: str
    sheet: str
    data: pd.DataFrame | pa.Table
    header_row: int
    unmatched: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)

    @functools.cached_property
    def frame(self) -> pd.DataFrame:
        """The rows as a pandas frame of text (converted once when read as arrow)."""
        if isinstance(self.data, pd.DataFrame):
            return self.data
        return self.data.to_pandas()

    @property
    def num_rows(self) -> int:
        """How many rows were read below the header."""
        return len(self.data)

    @property
    def columns(self) -> list[str]:
        """Canonical columns present (provenance excluded)."""
        names = self.data.columns if isinstance(self.data, pd.DataFrame) else self.data.column_names
        return [c for c in names if c not in PROVENANCE]

    def to_arrow(self) -> pa.Table:
        """The rows as a pyarrow table (text as ``large_string``, like pandas' own strings)."""
        if isinstance(self.data, pa.Table):
            return self.data
        table = pa.Table.from_pandas(self.data, preserve_index=False)
        return table.replace_schema_metadata(None)


@dataclass
class WorkbookResult:
    """What a workbook gave: its readable tables, its per-sheet failures and warnings."""

    sheets: list[RawSheet] = field(default_factory=list)
    failures: list[RawFileError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------
# Cell text
# ---------------------------------------------------------------------------


def cell_text(value: object) -> str:
    """One cell as text: numbers without a spurious ``.0``, dates as ISO, ``None`` as ``""``.

    Whole numbers are plain digits up to 2**53 (beyond it a float is not exact);
    a duration (``[h]:mm:ss``) is hours, minutes and seconds.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        seconds = round(value.total_seconds())
        sign, seconds = ("-" if seconds < 0 else ""), abs(seconds)
        return f"{sign}{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    return str(value)


# ---------------------------------------------------------------------------
# Header detection and column matching
# ---------------------------------------------------------------------------


#: Alias tables already built, by the identity of their table (a raw table holds mappings,
#: so it cannot be a dictionary key; it is kept here, so its id is not reused).
_ALIASES: dict[int, tuple[RawTable, dict[str, str]]] = {}


def _aliases(table: RawTable) -> dict[str, str]:
    """``table.alias_table()``, built once per table: ~960 files each ask twice. Not to be changed."""
    cached = _ALIASES.get(id(table))
    if cached is None or cached[0] is not table:
        if len(_ALIASES) > 256:  # tables made on the fly (tests): keep the cache small
            _ALIASES.clear()
        cached = _ALIASES[id(table)] = (table, table.alias_table())
    return cached[1]


def header_score(cells: Sequence[str], aliases: dict[str, str]) -> tuple[int, int]:
    """How many non-empty cells of a row are known headers, and how many are non-empty."""
    labels = [normalise_label(c) for c in cells if str(c).strip()]
    return sum(label in aliases for label in labels), len(labels)


def is_header(cells: Sequence[str], table: RawTable) -> bool:
    """True when most non-empty cells are known headers of ``table`` (at least two, or all of one)."""
    return _is_header(cells, table, _aliases(table))


def _is_header(cells: Sequence[str], table: RawTable, aliases: dict[str, str]) -> bool:
    """:func:`is_header` with ``table``'s alias table already at hand."""
    hits, filled = header_score(cells, aliases)
    if filled == 0:
        return False
    return hits * 2 > filled and (hits >= 2 or len(table.columns) == 1)


def find_header(
    rows: Iterable[tuple[int, Sequence[str]]], table: RawTable
) -> tuple[int, list[str]] | None:
    """The first (row number, cells) among the top rows that looks like ``table``'s header."""
    aliases = _aliases(table)
    for count, (number, cells) in enumerate(rows):
        if count >= HEADER_SEARCH_ROWS:
            break
        if cells and str(cells[0]).lstrip().startswith("#"):
            continue
        if _is_header(cells, table, aliases):
            return number, list(cells)
    return None


def guess_table(rows: Sequence[tuple[int, Sequence[str]]]) -> RawTable | None:
    """The raw table whose header appears in ``rows`` (used to explain a wrong-table error)."""
    for table in ALL_TABLES:
        if find_header(rows, table) is not None:
            return table
    return None


def match_columns(header: Sequence[str], table: RawTable) -> tuple[dict[int, str], list[str]]:
    """Map header positions to canonical names through the alias table; list unmatched names.

    A blank header cell is ignored. A second header naming an already matched
    column is unmatched too (its values never reach processed data).
    """
    aliases = _aliases(table)
    matched: dict[int, str] = {}
    unmatched: list[str] = []
    for position, name in enumerate(header):
        label = normalise_label(name)
        if not label:
            continue
        canonical = aliases.get(label)
        if canonical is None or canonical in matched.values():
            unmatched.append(str(name).strip())
        else:
            matched[position] = canonical
    return matched, unmatched


def _wrong_table_message(table: RawTable, rows: Sequence[tuple[int, Sequence[str]]]) -> str:
    other = guess_table(rows)
    expected = ", ".join(table.required) or ", ".join(c.name for c in table.columns)
    if other is not None and other.name != table.name:
        return (
            f"holds the {other.name} table, not {table.name} (expected columns such as {expected})"
        )
    return f"no header row with the {table.name} columns found in the first {HEADER_SEARCH_ROWS} rows (expected columns such as {expected})"


def build_sheet(
    table: RawTable,
    file: str,
    sheet: str,
    header_row: int,
    header: Sequence[str],
    body: pa.Table | pd.DataFrame | list[list[str]],
    rows: Sequence[int],
) -> RawSheet:
    """Turn the header and body cells into a :class:`RawSheet`; check required columns.

    An arrow ``body`` (one column per header cell) stays arrow: no pandas work per file.
    """
    matched, unmatched = match_columns(header, table)
    missing = [c for c in table.required if c not in matched.values()]
    if missing:
        raise RawFileError(
            f"required column(s) missing from the {table.name} table: {', '.join(missing)}",
            file=file,
            sheet=sheet or None,
            row=header_row,
            allowed=sorted({*table.alias_table()}),
            found=[str(h) for h in header if str(h).strip()],
        )
    dropped = [c.name for c in table.columns if c.kind in ("identifier", "free_text")]
    if isinstance(body, list):
        body = rows_table(body, len(header))
    if isinstance(body, pa.Table):
        data = _arrow_sheet(body, matched, file, sheet, rows)
        dropped = [c for c in dropped if c in data.column_names]
        return RawSheet(table, file, sheet, data, header_row, unmatched, dropped)
    positions = sorted(matched)
    frame = body.reindex(columns=positions, fill_value="").set_axis(
        [matched[p] for p in positions], axis=1
    )
    frame = frame.reset_index(drop=True)
    frame = frame.assign(_file=file, _sheet=sheet, _row=pd.array(list(rows), dtype="int64"))
    dropped = [c for c in dropped if c in frame]
    return RawSheet(table, file, sheet, frame, header_row, unmatched, dropped)


def rows_table(rows: list[list[str]], width: int) -> pa.Table:
    """Rows of text cells as an arrow table of ``large_string`` columns ``f0``, ``f1``, ...

    As wide as the longest row and at least ``width``; a short row is padded with
    empty cells. Built column by column, without a pandas frame of Python objects.
    """
    columns = list(itertools.zip_longest(*rows, fillvalue=""))
    columns += [("",) * len(rows)] * (width - len(columns))
    return pa.table(
        {f"f{i}": pa.array(cells, type=pa.large_string()) for i, cells in enumerate(columns)}
    )


def constant_column(value: object, length: int) -> pa.Array:
    """``value`` repeated ``length`` times, typed as pandas would type the scalar (text: ``large_string``).

    Text is laid out directly as arrow buffers (``pa.repeat`` is much slower for strings).
    """
    if not isinstance(value, str):
        return pa.repeat(pa.scalar(value), length)
    data = value.encode("utf-8")
    offsets = np.arange(length + 1, dtype=np.int64) * len(data)
    return pa.LargeStringArray.from_buffers(
        length, pa.py_buffer(offsets), pa.py_buffer(data * length)
    )


def _arrow_sheet(
    body: pa.Table, matched: dict[int, str], file: str, sheet: str, rows: Sequence[int]
) -> pa.Table:
    """The matched columns of an arrow ``body`` under canonical names, plus provenance."""
    positions = sorted(matched)
    data = body.select(positions).rename_columns([matched[p] for p in positions])
    n = data.num_rows
    if isinstance(rows, range):
        row = np.arange(rows.start, rows.stop, rows.step, dtype=np.int64)
    else:
        row = np.asarray(rows, dtype=np.int64)
    data = data.append_column("_file", constant_column(file, n))
    data = data.append_column("_sheet", constant_column(sheet, n))
    return data.append_column("_row", pa.array(row))


# ---------------------------------------------------------------------------
# CSV
# ---------------------------------------------------------------------------


#: Field separators tried in turn: the comma, then the tab (Excel's "Unicode text", .tsv exports).
CSV_SEPARATORS: tuple[str, ...] = (",", "\t")
#: UTF-16 byte order marks and their codecs (Excel's "Unicode text" starts with the first).
_UTF16_BOMS = ((b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))


def _utf16_codec(data: bytes) -> tuple[str, int] | None:
    """The UTF-16 codec of ``data`` and its BOM's length, or ``None`` when it is not UTF-16.

    Without a BOM, mostly-ASCII UTF-16 shows as a zero byte in every other place.
    """
    for bom, codec in _UTF16_BOMS:
        if data.startswith(bom):
            return codec, len(bom)
    sample = data[:4096]
    if len(sample) >= 4:
        even, odd = sample[0::2], sample[1::2]
        if odd.count(0) >= 0.9 * len(odd) and even.count(0) <= 0.1 * len(even):
            return "utf-16-le", 0
        if even.count(0) >= 0.9 * len(even) and odd.count(0) <= 0.1 * len(odd):
            return "utf-16-be", 0
    return None


def decode_bytes(data: bytes, file: str) -> str:
    """Decode UTF-16 (by its BOM), UTF-8 (with or without BOM), else Windows-1252; refuse binary."""
    return decode_text(data, file)[0]


def decode_text(data: bytes, file: str) -> tuple[str, bytes]:
    """The text of ``data`` (as :func:`decode_bytes`) and that text as UTF-8.

    Plain UTF-8 comes back as ``data`` itself, not encoded a second time.
    """
    utf16 = _utf16_codec(data)
    if utf16 is not None:
        codec, skip = utf16
        text = data[skip:].decode(codec, errors="replace")
        if not text.strip():
            raise RawFileError("the file is empty", file=file)
        if "\x00" in text[:2048]:
            raise RawFileError("the file is binary, not a text CSV", file=file)
        return text, text.encode("utf-8")
    if not data or data.isspace():  # as ``not data.strip()``, without copying the file
        raise RawFileError("the file is empty", file=file)
    if b"\x00" in data[:4096] or data[:2] == b"PK":
        raise RawFileError("the file is binary, not a text CSV", file=file)
    if data.startswith(b"\xef\xbb\xbf"):
        text = data[3:].decode("utf-8", errors="replace")
        return text, text.encode("utf-8")
    try:
        return data.decode("utf-8"), data
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
        return text, text.encode("utf-8")


def _csv_rows(text: str, sep: str = ",") -> list[tuple[int, list[str]]]:
    """Parse CSV text into (physical line number of the row's first line, cells)."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    out: list[tuple[int, list[str]]] = []
    start = 1
    try:
        for cells in reader:
            out.append((start, cells))
            start = reader.line_num + 1
    except csv.Error as exc:
        raise RawFileError(f"the CSV cannot be parsed ({exc})", row=reader.line_num) from None
    return out


def _lines_after(text: str, header_line: int) -> int:
    return text.count("\n") + (0 if text.endswith("\n") else 1) - header_line


def _arrow_body(
    data: bytes, header_line: int, n_header: int, n_lines: int, sep: str = ","
) -> pa.Table | None:
    """The data rows after the header read by pyarrow, or ``None`` when that path does not fit.

    pyarrow applies when every record is one line with as many cells as the
    header; the pandas path handles the rest. An empty line is kept as a row of
    empty cells (``ignore_empty_lines=False``), as the pandas path reads it, so
    rows stay physical lines. The table keeps one text column per header cell
    (``large_string``, the type pandas strings use).
    """
    import pyarrow.csv as pacsv

    names = [f"f{i}" for i in range(n_header)]
    try:
        table = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(
                skip_rows=header_line, column_names=names, use_threads=False
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=sep, newlines_in_values=False, ignore_empty_lines=False
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.large_string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError, ValueError):
        return None
    if table.num_rows != n_lines:
        return None
    return table


def _fast_body(text: str, header_line: int, n_header: int, sep: str = ",") -> pd.DataFrame | None:
    """The data rows after the header by the C parser, or ``None`` when the simple path does not fit.

    The fast path applies when every record is on one line and no row has more
    cells than the header; otherwise the csv module reads the file.
    """
    lines_after = _lines_after(text, header_line)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(
                io.StringIO(text),
                header=None,
                sep=sep,
                skiprows=header_line,
                names=range(n_header),
                index_col=False,
                dtype=str,
                keep_default_na=False,
                na_filter=False,
                skip_blank_lines=False,
                engine="c",
            )
    except (pd.errors.ParserError, pd.errors.ParserWarning, ValueError, pd.errors.EmptyDataError):
        return None
    if len(frame) != lines_after:
        return None
    return frame


def _arrow_fits(text: str, n_header: int) -> bool:
    """Whether to try pyarrow: always for two or more columns (see :func:`_arrow_body`);
    for a single column only without empty lines, left to the pandas path as before."""
    return n_header > 1 or ("\n\n" not in text and "\n\r\n" not in text)


def _head(text: str, n_lines: int) -> str:
    """The first ``n_lines`` lines of ``text`` (without splitting the rest)."""
    end = -1
    for _ in range(n_lines):
        end = text.find("\n", end + 1)
        if end < 0:
            return text
    return text[:end]


def _find_csv_header(text: str, table: RawTable, file: str) -> tuple[str, int, list[str]]:
    """The separator, line and cells of ``table``'s header: the comma tried first, then the tab."""
    tried: list[list[tuple[int, list[str]]]] = []
    error: RawFileError | None = None
    head = "\n".join(_head(text, HEADER_SEARCH_ROWS * 2).splitlines())
    for sep in CSV_SEPARATORS:
        try:
            top = _csv_rows(head, sep)
        except RawFileError as exc:
            if sep == CSV_SEPARATORS[0]:
                error = RawFileError(exc.reason, file=file, row=exc.row)
            continue
        top = [(n, cells) for n, cells in top if not (cells and cells[0].lstrip().startswith("#"))]
        found = find_header(top, table)
        if found is not None:
            return sep, found[0], found[1]
        tried.append(top)
    if error is not None or not tried:  # the comma cannot parse it, and no other finds a header
        raise error or RawFileError("the CSV cannot be parsed", file=file)
    shown = next((top for top in tried if guess_table(top) is not None), tried[0])
    raise RawFileError(_wrong_table_message(table, shown), file=file)


def read_csv_table(path: Path, raw_dir: Path, table: RawTable) -> RawSheet:
    """Read one CSV holding ``table``: find the header, match columns, keep every row below it."""
    file = relative_name(path, raw_dir)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RawFileError(f"the file cannot be opened ({exc.strerror})", file=file) from None
    text, utf8 = decode_text(data, file)
    sep, header_line, header = _find_csv_header(text, table, file)
    body = None
    if _arrow_fits(text, len(header)):
        body = _arrow_body(utf8, header_line, len(header), _lines_after(text, header_line), sep)
    if body is None:
        body = _fast_body(text, header_line, len(header), sep)
    rows: Sequence[int]
    if body is not None:
        rows = range(header_line + 1, header_line + 1 + len(body))
    else:
        try:
            parsed = [(n, c) for n, c in _csv_rows(text, sep) if n > header_line]
        except RawFileError as exc:
            raise RawFileError(exc.reason, file=file, row=exc.row) from None
        rows = [n for n, _ in parsed]
        body = [c for _, c in parsed]
    return build_sheet(table, file, "", header_line, header, body, rows)


# ---------------------------------------------------------------------------
# XLSX: limits on what one workbook may make the reader hold
# ---------------------------------------------------------------------------

#: Excel's own last row: a cell below it cannot come from Excel.
MAX_SHEET_ROWS = 1_048_576
#: Excel's own last column (XFD).
MAX_SHEET_COLUMNS = 16_384
#: Cells of one sheet's grid, from A1 to its last filled row and column (filled cells
#: too). The reader holds the whole grid (calamine 32 bytes a cell, then Python values,
#: text and the frame): about 130 bytes a cell at peak, so 2,000,000 cells cost about
#: 0.25 GiB (a 66,000 x 30 sheet read in 0.37 GiB with the interpreter). That is 14
#: times the largest sheet synthetic data has (5,000 cases by 29 columns), while
#: Excel's own limits (a grid of 17 billion cells) let a 1 KB file ask for terabytes.
MAX_SHEET_CELLS = 2_000_000
#: Uncompressed bytes of one sheet or shared-strings part (declared, and inflated).
MAX_PART_BYTES = 256 * 2**20
#: Uncompressed bytes of each other part calamine reads whole when it opens a workbook
#: (package and workbook relationships, ``workbook.xml``, ``styles.xml``).
MAX_META_BYTES = 32 * 2**20
#: Uncompressed bytes the reader inflates from one workbook, all parts together.
MAX_BOOK_BYTES = 1024 * 2**20
#: Shared strings a workbook may declare or hold (calamine reserves the declared count).
MAX_SHARED_STRINGS = 2_000_000


@dataclass(frozen=True)
class WorkbookLimits:
    """Caps checked before calamine parses a workbook (defaults: the ``MAX_*`` constants).

    A sheet over a cap fails alone; a shared part over one fails the workbook.
    Raise a cap for an unusually large but genuine return, e.g.
    ``read_xlsx(path, raw, tables, limits=WorkbookLimits(max_cells=10_000_000))``.
    """

    max_cells: int = MAX_SHEET_CELLS
    max_rows: int = MAX_SHEET_ROWS
    max_columns: int = MAX_SHEET_COLUMNS
    max_part_bytes: int = MAX_PART_BYTES
    max_meta_bytes: int = MAX_META_BYTES
    max_book_bytes: int = MAX_BOOK_BYTES
    max_shared_strings: int = MAX_SHARED_STRINGS


def _mib(n: int) -> str:
    return f"{n / 2**20:,.0f} MiB"


def column_letters(number: int) -> str:
    """Excel's letters for a 1-based column number (1 -> ``A``, 16384 -> ``XFD``)."""
    letters = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _column_number(letters: bytes) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ch - 64
    return n


# ---------------------------------------------------------------------------
# XLSX: the zip parts, inflated with a cap before calamine reads them
# ---------------------------------------------------------------------------

#: Inflated bytes handed on at a time.
_CHUNK = 4 * 2**20
#: Compressed bytes read from the file at a time.
_READ = 256 * 2**10
_ATTR = re.compile(rb"""([\w:.-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_RELATIONSHIP = re.compile(rb"<(?:[\w.-]+:)?Relationship\b((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>")
_SHEET = re.compile(rb"<(?:[\w.-]+:)?sheet\b((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>")
_SST = re.compile(rb"<(?:[\w.-]+:)?sst\b((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>")
#: The start of an OLE compound file: an old ``.xls``, or an encrypted ``.xlsx``.
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _attributes(text: bytes) -> dict[str, str]:
    """XML attributes by local name (``r:id`` is ``id``), entities decoded; the first wins."""
    out: dict[str, str] = {}
    for key, double, single in _ATTR.findall(text):
        name = key.decode("utf-8", "replace").rsplit(":", 1)[-1]
        out.setdefault(name, html.unescape((double or single).decode("utf-8", "replace")))
    return out


#: How far back from a chunk's end :func:`_element_chunks` looks for its marker.
_SLACK = 2**20


def _cut(data: bytes, marker: bytes) -> int:
    """Where to cut ``data`` so that no tag (and, where it can, no ``marker`` element) is split.

    Just after the last ``marker`` near the end, else before the last ``<`` (so
    a tag in progress moves on whole), else nowhere: the end.
    """
    at = data.rfind(marker, max(0, len(data) - _SLACK))
    if at >= 0:
        return at + len(marker)
    last = data.rfind(b"<")
    return last if last > 0 else len(data)


class _Parts:
    """The zip members of one workbook, found as calamine finds them and inflated with caps.

    calamine trusts the sizes a zip declares; this class inflates a part itself
    first and stops at the first byte beyond its declared size or a cap, so a
    lying or enormous part is refused before calamine reads it.
    """

    def __init__(self, path: Path, file: str, limits: WorkbookLimits) -> None:
        self.path, self.file, self.limits = path, file, limits
        try:
            with zipfile.ZipFile(path) as z:
                infos = z.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
            raise RawFileError(
                f"not a readable .xlsx workbook ({type(exc).__name__})", file=file
            ) from None
        self.by_key: dict[str, list[zipfile.ZipInfo]] = {}
        for info in infos:
            key = info.filename.replace("\\", "/").lower()
            self.by_key.setdefault(key, []).append(info)
        self.inflated = 0

    def members(self, name: str) -> list[zipfile.ZipInfo]:
        """Every member calamine could take for ``name`` (case-insensitive, duplicates too)."""
        return self.by_key.get(name.replace("\\", "/").lower(), [])

    def _error(self, message: str, sheet: str | None) -> RawFileError:
        return RawFileError(message, file=self.file, sheet=sheet)

    def chunks(self, info: zipfile.ZipInfo, cap: int, sheet: str | None = None) -> Iterator[bytes]:
        """The inflated bytes of ``info`` in chunks; a part over ``cap`` or its declared size fails."""
        name = info.filename
        if info.file_size > cap:
            raise self._error(
                f"the part {name} declares {_mib(info.file_size)} uncompressed, "
                f"more than the {_mib(cap)} allowed",
                sheet,
            )
        if info.flag_bits & 0x1:
            raise self._error(f"the part {name} is encrypted", sheet)
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise self._error(
                f"the part {name} uses a compression method Excel does not ({info.compress_type})",
                sheet,
            )
        total = 0
        for piece in self._raw(info, sheet):
            total += len(piece)
            self.inflated += len(piece)
            if total > info.file_size:
                raise self._error(
                    f"the part {name} holds more than the {info.file_size:,} bytes it declares "
                    "(a corrupt or hostile file)",
                    sheet,
                )
            if self.inflated > self.limits.max_book_bytes:
                raise self._error(
                    f"the workbook's parts inflate to more than {_mib(self.limits.max_book_bytes)}",
                    sheet,
                )
            yield piece

    def _raw(self, info: zipfile.ZipInfo, sheet: str | None) -> Iterator[bytes]:
        """The member's stored or inflated bytes, at most :data:`_CHUNK` at a time."""
        try:
            with open(self.path, "rb") as fh:
                fh.seek(info.header_offset)
                local = fh.read(30)
                if len(local) < 30 or local[:4] != b"PK\x03\x04":
                    raise self._error(
                        f"the part {info.filename} is corrupt (no local header)", sheet
                    )
                name_len, extra_len = struct.unpack("<HH", local[26:30])
                fh.seek(name_len + extra_len, io.SEEK_CUR)
                left = info.compress_size
                inflate = zlib.decompressobj(-15) if info.compress_type else None
                while left > 0:
                    data = fh.read(min(_READ, left))
                    if not data:
                        break
                    left -= len(data)
                    if inflate is None:
                        yield data
                        continue
                    while data and not inflate.eof:
                        piece = inflate.decompress(data, _CHUNK)
                        data = inflate.unconsumed_tail
                        if piece:
                            yield piece
                    if inflate.eof:
                        break
        except zlib.error:
            raise self._error(
                f"the part {info.filename} is corrupt (bad deflate data)", sheet
            ) from None
        except OSError as exc:
            raise self._error(f"the file cannot be read ({exc.strerror})", sheet) from None

    def read(self, name: str, cap: int) -> bytes:
        """The whole of a small part (the last of several with that name), ``b""`` when absent."""
        data = b""
        for info in self.members(name):
            data = b"".join(self.chunks(info, cap))
        return data


def _package_folder(parts: _Parts) -> str:
    """The folder of the workbook part (``xl/``), from ``_rels/.rels`` as calamine finds it."""
    rels = parts.read("_rels/.rels", parts.limits.max_meta_bytes)
    for match in _RELATIONSHIP.finditer(rels):
        attrs = _attributes(match.group(1))
        if attrs.get("Type", "").endswith("/relationships/officeDocument"):
            target = attrs.get("Target", "")
            folder = target[: target.rfind("/") + 1]
            return folder[1:] if folder.startswith("/") else folder
    return "xl/"


def _sheet_parts(parts: _Parts, folder: str) -> dict[str, str]:
    """Each sheet name and the part holding it, resolved as calamine resolves them."""
    cap = parts.limits.max_meta_bytes
    rels = parts.read(f"{folder}_rels/workbook.xml.rels", cap)
    targets: dict[str, str] = {}
    for match in _RELATIONSHIP.finditer(rels):
        attrs = _attributes(match.group(1))
        targets.setdefault(attrs.get("Id", ""), attrs.get("Target", ""))
    out: dict[str, str] = {}
    for match in _SHEET.finditer(parts.read(f"{folder}workbook.xml", cap)):
        attrs = _attributes(match.group(1))
        target = targets.get(attrs.get("id", ""), "")
        path = target[1:] if target.startswith("/") else folder + target
        out.setdefault(attrs.get("name", ""), path)
    return out


def _check_shared_strings(parts: _Parts, folder: str) -> None:
    """Refuse a shared-strings part declaring or holding more strings than allowed.

    calamine reserves memory for the declared ``uniqueCount`` before reading a
    string: a count of 10^12 in a 1 KB file would abort the whole process.
    """
    cap = parts.limits.max_shared_strings
    for info in parts.members(f"{folder}sharedStrings.xml"):
        held = 0
        head = True
        for chunk in _element_chunks(parts.chunks(info, parts.limits.max_part_bytes), b"</si>"):
            if head and (match := _SST.search(chunk)):
                declared = _attributes(match.group(1)).get("uniqueCount", "").strip()
                if declared.isdigit() and int(declared) > cap:
                    raise RawFileError(
                        f"the workbook declares {int(declared):,} shared strings, "
                        f"more than the {cap:,} allowed",
                        file=parts.file,
                    )
                head = False
            held += chunk.count(b"<si>") + chunk.count(b"<si ") + chunk.count(b":si>")
            held += chunk.count(b":si ") + chunk.count(b"<si/") + chunk.count(b":si/")
            if held > cap:
                raise RawFileError(
                    f"the workbook holds more than the {cap:,} shared strings allowed",
                    file=parts.file,
                )


def _element_chunks(chunks: Iterable[bytes], marker: bytes) -> Iterator[bytes]:
    """Re-cut inflated ``chunks`` at a ``marker`` each (see :func:`_cut`), so no tag is split."""
    carry = b""
    for chunk in chunks:
        data = carry + chunk if carry else chunk
        cut = _cut(data, marker)
        if cut:
            yield data[:cut]
        carry = data[cut:]
    if carry:
        yield carry


# ---------------------------------------------------------------------------
# XLSX: how big a sheet's grid is, found before calamine builds it
# ---------------------------------------------------------------------------

#: Which bytes may end an element's name: white space, ``>`` or ``/``.
_NAME_END = np.zeros(256, dtype=bool)
_NAME_END[list(b" >/\t\n\r")] = True
#: The start of ``sheetData``, with its namespace prefix (if any) as group 1.
_SHEET_DATA = re.compile(rb"<([\w.-]+:)?sheetData\b")
_V_TEXT = re.compile(rb"<(?:[\w.-]+:)?v(?:\s[^>]*)?>([^<]*)</")
#: For the exact scan: a row's end, or a row or cell start tag (its attributes, whether it
#: closes itself, and whether the cell closes at once: both mean a cell without a value).
_EXACT_TAG = re.compile(
    rb"</(?:[\w.-]+:)?row\s*>"
    rb"|<(?:[\w.-]+:)?(row|c)\b((?:[^>\"']|\"[^\"]*\"|'[^']*')*?)(/?)>(</(?:[\w.-]+:)?c\s*>)?"
)
#: The ``r`` attribute (a reference, or a row number); the ``t="e"`` of an error cell.
_R_ATTR = re.compile(rb"""(?:^|\s)r\s*=\s*["']\s*([A-Za-z]{1,7})?([0-9]{1,10})""")
_ERROR_TYPE = re.compile(rb"""(?:^|\s)t\s*=\s*["']e["']""")
#: How many times more cell elements than ``max_cells`` the exact scan walks through.
_EXACT_SCAN_FACTOR = 4


def _cell_open(prefix: bytes) -> tuple[bytes, re.Pattern[bytes]]:
    """How every common writer starts a cell (``<c r="B7"``, Excel, LibreOffice, openpyxl,
    xlsxwriter; ``<x:c r="B7"`` from the OpenXML SDK), and a pattern for error cells of that form.
    """
    p = re.escape(prefix)
    error = re.compile(
        rb"<" + p + rb'c r="([A-Z]{1,3})([0-9]{1,7})"[^>]*?\st="e"[^>]*(?<!/)>(.*?)</' + p + rb"c>",
        re.S,
    )
    return b"<" + prefix + b'c r="', error


@dataclass
class _SheetScan:
    """What a sheet part holds, as far as memory goes.

    ``rows`` and ``columns``: the last filled row and column (1-based); ``cells``:
    filled cells; ``elements``: cell elements of any kind; ``merges``: merged
    ranges; ``exact``: every cell element was understood (else the exact scan
    decides); ``errors``: the text of error cells (calamine reads them as blank).
    """

    rows: int = 0
    columns: int = 0
    cells: int = 0
    elements: int = 0
    merges: int = 0
    exact: bool = True
    errors: dict[tuple[int, int], str] = field(default_factory=dict)

    def add(self, row: int, column: int) -> None:
        self.rows = max(self.rows, row)
        self.columns = max(self.columns, column)
        self.cells += 1


def _scan_fast(chunks: Iterable[bytes]) -> _SheetScan:
    """The grid a sheet asks for, from every cell of the common form ``<c r="B7"``.

    Vectorised over each chunk, so a sheet of millions of cells is scanned in a
    fraction of the time calamine takes to read it. Every start tag whose local
    name is ``c`` (any prefix) is counted; when some are not of the common form
    (no reference, mixed prefixes, odd spacing) the scan is not exact. A cell
    with a style and no value still counts towards the grid, so the grid is never
    smaller than calamine's; the cell count is the smaller of the cells and the
    values (``<v>``, ``<is>``) found.
    """
    scan = _SheetScan(exact=True)
    cells = values = 0
    open_tag: bytes | None = None
    error: re.Pattern[bytes] | None = None
    for chunk in chunks:
        n = len(chunk)
        arr = np.frombuffer(chunk + b"\0" * 24, dtype=np.uint8)
        tags = np.flatnonzero(arr[:n] == 60)
        tags = tags[arr[tags + 1] != 47]  # start tags: "<" not followed by "/"
        ends = np.flatnonzero(_NAME_END[arr[:n]])
        at = np.searchsorted(ends, tags + 1)
        name_end = np.append(ends, n)[at]  # where each tag's name ends
        last, before = arr[name_end - 1], arr[name_end - 2]
        local = (before == 60) | (before == 58)  # the name is one letter after "<" or ":"
        is_cell = local & (last == 99)
        scan.elements += int(np.count_nonzero(is_cell))
        values += int(np.count_nonzero(local & (last == 118)))
        third = arr[name_end - 3]
        values += int(
            np.count_nonzero((last == 115) & (before == 105) & ((third == 60) | (third == 58)))
        )
        scan.merges += chunk.count(b"mergeCell")
        if open_tag is None or error is None:
            found = _SHEET_DATA.search(chunk)
            if found is None:
                continue
            open_tag, error = _cell_open(found.group(1) or b"")
        if b't="e"' in chunk:
            for m in error.finditer(chunk):
                if v := _V_TEXT.search(m.group(3)):
                    where = (int(m.group(2)), _column_number(m.group(1)))
                    scan.errors[where] = html.unescape(v.group(1).decode("utf-8", "replace"))
        starts = tags[is_cell]
        for i, byte in enumerate(open_tag[1:], start=1):
            starts = starts[arr[starts + i] == byte]
        if not len(starts):
            continue
        refs = starts + len(open_tag)
        column, refs, ok = _parse_run(arr, refs, low=65, high=90, base=26, offset=64, most=3)
        row, refs, digits = _parse_run(arr, refs, low=48, high=57, base=10, offset=48, most=7)
        ok &= digits & (arr[refs] == 34)  # letters, digits, then the closing quote
        if not ok.all():
            scan.exact = False
        good = np.flatnonzero(ok)
        cells += len(starts)
        if len(good):
            scan.rows = max(scan.rows, int(row[good].max()))
            scan.columns = max(scan.columns, int(column[good].max()))
    if cells != scan.elements:
        scan.exact = False
    scan.cells = min(cells, values)
    return scan


def _parse_run(
    arr: np.ndarray, at: np.ndarray, *, low: int, high: int, base: int, offset: int, most: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read a run of 1..``most`` characters in ``low..high`` at each of ``at`` as a number.

    Returns the numbers, the positions after the runs, and which runs were 1..``most``
    long (a longer run is reported as not fitting).
    """
    value = np.zeros(len(at), dtype=np.int64)
    length = np.zeros(len(at), dtype=np.int64)
    active = np.ones(len(at), dtype=bool)
    for _ in range(most + 1):
        ch = arr[at + length]
        hit = active & (ch >= low) & (ch <= high)
        value = np.where(hit, value * base + (ch.astype(np.int64) - offset), value)
        length += hit
        active = hit
    fits = (length >= 1) & (length <= most)
    return value, at + length, fits


def _scan_exact(chunks: Iterable[bytes], *, max_elements: int) -> _SheetScan:
    """The grid a sheet asks for, walking its XML as calamine does (one match a cell).

    A row without a number follows the one before it, a cell without a
    reference the cell before it; a cell that closes at once (``<c .../>``,
    ``<c ...></c>``) holds no value and does not count, as calamine skips it.
    Used when :func:`_scan_fast` met an unusual sheet, or found a grid over a cap
    that cells holding only a style might explain. Stops after ``max_elements``
    cells (the caller refuses the sheet).
    """
    scan = _SheetScan(exact=True)
    row = column = 0  # 0-based, like calamine
    for chunk in chunks:
        for m in _EXACT_TAG.finditer(chunk):
            name, attrs, closes, closed = m.groups()
            if name is None:  # the end of a row
                row, column = row + 1, 0
                continue
            ref = _R_ATTR.search(attrs)
            if name == b"row":
                if ref is not None and ref.group(1) is None:
                    row = int(ref.group(2)) - 1
                if closes:
                    row, column = row + 1, 0
                continue
            scan.elements += 1
            if scan.elements > max_elements:
                return scan
            if ref is not None and ref.group(1) is not None:
                at = (int(ref.group(2)) - 1, _column_number(ref.group(1)) - 1)
            else:
                at = (row, column)
            column = at[1] + 1
            if closes or closed:
                continue
            scan.add(at[0] + 1, at[1] + 1)
            if _ERROR_TYPE.search(attrs) and (v := _V_TEXT.search(chunk, m.end())):
                scan.errors[(at[0] + 1, at[1] + 1)] = html.unescape(
                    v.group(1).decode("utf-8", "replace")
                )
    return scan


def _grid_problem(scan: _SheetScan, limits: WorkbookLimits, *, count: bool = True) -> str | None:
    """Why a sheet's grid may not be read (``None``: it may); ``count``: check the cell count too."""
    if scan.rows > limits.max_rows:
        return (
            f"it has a cell in row {scan.rows}, beyond the last row allowed "
            f"({limits.max_rows:,}, Excel's own limit)"
        )
    if scan.columns > limits.max_columns:
        return (
            f"it has a cell in column {column_letters(scan.columns)}, beyond the last column "
            f"allowed ({column_letters(limits.max_columns)}, Excel's own limit)"
        )
    grid = scan.rows * scan.columns
    if grid > limits.max_cells:
        return (
            f"its cells span {scan.rows:,} rows x {scan.columns:,} columns = {grid:,} cells "
            f"from A1, more than the {limits.max_cells:,} allowed (max_cells)"
        )
    many = max(scan.cells, scan.merges)
    if count and many > limits.max_cells:
        return f"it holds {many:,} cells, more than the {limits.max_cells:,} allowed (max_cells)"
    return None


# ---------------------------------------------------------------------------
# XLSX: reading with calamine
# ---------------------------------------------------------------------------


def _reader_failed(exc: BaseException) -> bool:
    """Whether ``exc`` is calamine failing on bad input (a Rust panic arrives as a BaseException)."""
    return isinstance(exc, Exception) or type(exc).__name__ == "PanicException"


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


def _texts(values: list[object]) -> list[str]:
    """One row of calamine values as text (see :func:`cell_text`); text cells pass as they are."""
    return [v if type(v) is str else cell_text(v) for v in values]


class XlsxBook:
    """A workbook opened for reading: its sheet names, and each sheet's rows as text.

    Cells are read by calamine (``python-calamine``), which handles the 1904 date
    system, ``_x000D_`` escapes, shared and inline strings and date formats. Before
    calamine reads a part, the part is inflated here and checked against
    :class:`WorkbookLimits`: the parts read on opening (a failure fails the
    workbook) and each sheet's grid before it is built (a failure fails the sheet).
    """

    def __init__(self, path: Path, *, file: str = "", limits: WorkbookLimits | None = None) -> None:
        self.path = Path(path)
        self.file = file or self.path.as_posix()
        self.limits = limits or WorkbookLimits()
        self._parts = _Parts(self.path, self.file, self.limits)
        folder = _package_folder(self._parts)
        self._parts.read(f"{folder}styles.xml", self.limits.max_meta_bytes)
        _check_shared_strings(self._parts, folder)
        self._sheet_parts = _sheet_parts(self._parts, folder)
        self._scans: dict[str, _SheetScan] = {}
        try:
            self._book = python_calamine.CalamineWorkbook.from_path(self.path)
            self.sheet_names: list[str] = list(self._book.sheet_names)
        except BaseException as exc:
            if not _reader_failed(exc):
                raise
            raise RawFileError(
                f"not a readable .xlsx workbook ({_reason(exc)})", file=self.file
            ) from None

    def __enter__(self) -> XlsxBook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release calamine's workbook."""
        self._book.close()

    def _scan(self, sheet: str) -> _SheetScan:
        """The sheet's grid, from every zip member calamine could take for its part."""
        path = self._sheet_parts.get(sheet)
        infos = self._parts.members(path) if path else []
        if not infos:
            raise RawFileError(
                f"the sheet's part {path or '(unknown)'} is missing from the workbook",
                file=self.file,
                sheet=sheet,
            )
        total = _SheetScan()
        for info in infos:
            key = info.filename + f"@{info.header_offset}"
            if key not in self._scans:
                self._scans[key] = self._scan_part(info, sheet)
            scan = self._scans[key]
            total.rows, total.columns = max(total.rows, scan.rows), max(total.columns, scan.columns)
            total.cells, total.merges = max(total.cells, scan.cells), max(total.merges, scan.merges)
            total.errors = scan.errors
        return total

    def _scan_part(self, info: zipfile.ZipInfo, sheet: str) -> _SheetScan:
        """The grid one sheet part asks for: the fast scan, and the exact one when it must decide."""

        def chunks() -> Iterator[bytes]:
            """The part inflated, cut after a cell's end (``</c>``) where it can be."""
            inflated = self._parts.chunks(info, self.limits.max_part_bytes, sheet)
            return _element_chunks(inflated, b"c>")

        scan = _scan_fast(chunks())
        # Only a grid too big needs the exact scan (a style far away holds no value).
        if scan.exact and _grid_problem(scan, self.limits, count=False) is None:
            return scan
        most = _EXACT_SCAN_FACTOR * self.limits.max_cells
        if scan.elements > most:
            raise RawFileError(
                f"the sheet is too big to read: it holds {scan.elements:,} cell elements, "
                f"more than {most:,} ({_EXACT_SCAN_FACTOR} x max_cells)",
                file=self.file,
                sheet=sheet,
            )
        exact = _scan_exact(chunks(), max_elements=most)
        if exact.elements > most:
            raise RawFileError(
                f"the sheet is too big to read: it holds more than {most:,} cell elements "
                f"({_EXACT_SCAN_FACTOR} x max_cells)",
                file=self.file,
                sheet=sheet,
            )
        exact.merges = scan.merges
        return exact

    def rows(self, sheet: str) -> list[tuple[int, list[str]]]:
        """Every row of ``sheet`` down to its last filled one, as (Excel row number, text cells).

        Blank rows are listed too (as empty text cells), so the numbers are the
        rows a person sees in Excel, counted from row 1 and column A.
        """
        scan = self._scan(sheet)
        problem = _grid_problem(scan, self.limits)
        if problem is not None:
            raise RawFileError(
                f"the sheet is too big to read: {problem}", file=self.file, sheet=sheet
            )
        try:
            grid = self._book.get_sheet_by_name(sheet)
            values: list[list[Any]] = grid.to_python(skip_empty_area=False)
            del grid
        except BaseException as exc:
            if not _reader_failed(exc):
                raise
            raise RawFileError(
                f"the sheet cannot be read ({_reason(exc)})", file=self.file, sheet=sheet
            ) from None
        # Converted from the last row back, each row of values freed once it is text.
        out: list[tuple[int, list[str]]] = []
        while values:
            out.append((len(values), _texts(values.pop())))
        out.reverse()
        for (row_number, column), text in scan.errors.items():
            if row_number <= len(out) and column <= len(out[row_number - 1][1]):
                cells = out[row_number - 1][1]
                if cells[column - 1] == "":
                    cells[column - 1] = text
        return out


def sheet_table(sheet_name: str, tables: Sequence[RawTable]) -> RawTable | None:
    """The table a sheet holds, recognised by its name (``sheet_names`` or the table name)."""
    label = normalise_label(sheet_name)
    for table in tables:
        names = {
            normalise_label(n)
            for n in (*table.sheet_names, table.name, table.name.replace("_", " "))
        }
        if label in names:
            return table
    return None


def read_xlsx(
    path: Path,
    raw_dir: Path,
    tables: Sequence[RawTable],
    *,
    limits: WorkbookLimits | None = None,
) -> WorkbookResult:
    """Read every recognised sheet of a workbook; a bad sheet fails alone, a bad file fails whole.

    ``limits`` caps what the workbook may make the reader hold (see :class:`WorkbookLimits`).
    """
    file = relative_name(path, raw_dir)
    try:
        if path.stat().st_size == 0:
            raise RawFileError("the file is empty", file=file)
        with open(path, "rb") as fh:
            magic = fh.read(len(_OLE))
        if magic == _OLE:
            raise RawFileError(
                "not a readable .xlsx workbook: it is an old .xls file or a password-protected "
                "workbook (save it from Excel as .xlsx, without a password)",
                file=file,
            )
        if not zipfile.is_zipfile(path):
            raise RawFileError("not a readable .xlsx workbook (not a zip archive)", file=file)
    except OSError as exc:
        raise RawFileError(f"the file cannot be opened ({exc.strerror})", file=file) from None
    with XlsxBook(path, file=file, limits=limits) as book:
        return _read_book(file, book.sheet_names, tables, book.rows)


def _read_book(
    file: str,
    sheet_names: list[str],
    tables: Sequence[RawTable],
    rows_of: Callable[[str], list[tuple[int, list[str]]]],
) -> WorkbookResult:
    result = WorkbookResult()
    recognised = 0
    for title in sheet_names:
        table = sheet_table(title, tables)
        if table is None:
            if normalise_label(title) not in IGNORED_SHEETS:
                result.warnings.append(f"{file}: sheet {title!r} is not a known table; ignored")
            continue
        recognised += 1
        try:
            result.sheets.append(_sheet_from_rows(rows_of(title), table, file, title))
        except RawFileError as exc:
            result.failures.append(exc)
    if recognised == 0:
        known = sorted({n for t in tables for n in t.sheet_names})
        raise RawFileError("no sheet is a known table", file=file, allowed=known, found=sheet_names)
    return result


def _sheet_from_rows(
    rows: list[tuple[int, list[str]]], table: RawTable, file: str, title: str
) -> RawSheet:
    found = find_header(rows, table)
    if found is None:
        raise RawFileError(
            _wrong_table_message(table, rows[:HEADER_SEARCH_ROWS]), file=file, sheet=title
        )
    header_row, header = found
    below = [(n, cells) for n, cells in rows if n > header_row]
    return build_sheet(
        table, file, title, header_row, header, [c for _, c in below], [n for n, _ in below]
    )


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


def relative_name(path: Path, raw_dir: Path) -> str:
    """The file's posix path relative to the raw folder (the absolute path when outside it)."""
    try:
        return Path(path).resolve().relative_to(Path(raw_dir).resolve()).as_posix()
    except ValueError:
        return Path(path).as_posix()
