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

A file that cannot be read at all raises one :class:`~hubspoke.errors.RawFileError`
naming the file and what is wrong.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import html
import io
import math
import re
import warnings
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

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
    """One cell as text: numbers without a spurious ``.0``, dates as ISO, ``None`` as ``""``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.isoformat()
    return str(value)


# ---------------------------------------------------------------------------
# Header detection and column matching
# ---------------------------------------------------------------------------


def header_score(cells: Sequence[str], aliases: dict[str, str]) -> tuple[int, int]:
    """How many non-empty cells of a row are known headers, and how many are non-empty."""
    labels = [normalise_label(c) for c in cells if str(c).strip()]
    return sum(label in aliases for label in labels), len(labels)


def is_header(cells: Sequence[str], table: RawTable) -> bool:
    """True when most non-empty cells are known headers of ``table`` (at least two, or all of one)."""
    return _is_header(cells, table, table.alias_table())


def _is_header(cells: Sequence[str], table: RawTable, aliases: dict[str, str]) -> bool:
    """:func:`is_header` with ``table``'s alias table already built (it is not cached)."""
    hits, filled = header_score(cells, aliases)
    if filled == 0:
        return False
    return hits * 2 > filled and (hits >= 2 or len(table.columns) == 1)


def find_header(
    rows: Iterable[tuple[int, Sequence[str]]], table: RawTable
) -> tuple[int, list[str]] | None:
    """The first (row number, cells) among the top rows that looks like ``table``'s header."""
    aliases = table.alias_table()
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
    aliases = table.alias_table()
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
    if isinstance(body, pa.Table):
        data = _arrow_sheet(body, matched, file, sheet, rows)
        dropped = [c for c in dropped if c in data.column_names]
        return RawSheet(table, file, sheet, data, header_row, unmatched, dropped)
    if not isinstance(body, pd.DataFrame):
        width = max([len(header), *map(len, body)])
        body = pd.DataFrame(
            [[*r, *[""] * (width - len(r))] for r in body], columns=range(width), dtype="str"
        )
    positions = sorted(matched)
    frame = body.reindex(columns=positions, fill_value="").set_axis(
        [matched[p] for p in positions], axis=1
    )
    frame = frame.reset_index(drop=True)
    frame = frame.assign(_file=file, _sheet=sheet, _row=pd.array(list(rows), dtype="int64"))
    dropped = [c for c in dropped if c in frame]
    return RawSheet(table, file, sheet, frame, header_row, unmatched, dropped)


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


def decode_bytes(data: bytes, file: str) -> str:
    """Decode UTF-8 (with or without BOM), else Windows-1252; refuse binary content."""
    if not data.strip():
        raise RawFileError("the file is empty", file=file)
    if b"\x00" in data[:4096] or data[:2] == b"PK":
        raise RawFileError("the file is binary, not a text CSV", file=file)
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _csv_rows(text: str) -> list[tuple[int, list[str]]]:
    """Parse CSV text into (physical line number of the row's first line, cells)."""
    reader = csv.reader(io.StringIO(text, newline=""))
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


def _arrow_body(data: bytes, header_line: int, n_header: int, n_lines: int) -> pa.Table | None:
    """The data rows after the header read by pyarrow, or ``None`` when that path does not fit.

    pyarrow applies when every record is one line with as many cells as the
    header and no line is empty (an empty line would be skipped, shifting the
    row numbers); the pandas path handles the rest. The table keeps one text
    column per header cell (``large_string``, the type pandas strings use).
    """
    import pyarrow.csv as pacsv

    names = [f"f{i}" for i in range(n_header)]
    try:
        table = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(
                skip_rows=header_line, column_names=names, use_threads=False
            ),
            parse_options=pacsv.ParseOptions(newlines_in_values=False),
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


def _fast_body(text: str, header_line: int, n_header: int) -> pd.DataFrame | None:
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


def _head(text: str, n_lines: int) -> str:
    """The first ``n_lines`` lines of ``text`` (without splitting the rest)."""
    end = -1
    for _ in range(n_lines):
        end = text.find("\n", end + 1)
        if end < 0:
            return text
    return text[:end]


def read_csv_table(path: Path, raw_dir: Path, table: RawTable) -> RawSheet:
    """Read one CSV holding ``table``: find the header, match columns, keep every row below it."""
    file = relative_name(path, raw_dir)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise RawFileError(f"the file cannot be opened ({exc.strerror})", file=file) from None
    text = decode_bytes(data, file)
    head_lines = _head(text, HEADER_SEARCH_ROWS * 2).splitlines()
    try:
        top = _csv_rows("\n".join(head_lines))
    except RawFileError as exc:
        raise RawFileError(exc.reason, file=file, row=exc.row) from None
    top = [(n, cells) for n, cells in top if not (cells and cells[0].lstrip().startswith("#"))]
    found = find_header(top, table)
    if found is None:
        raise RawFileError(_wrong_table_message(table, top), file=file)
    header_line, header = found
    body = None
    if "\n\n" not in text and "\n\r\n" not in text:
        utf8 = text.encode("utf-8")
        body = _arrow_body(utf8, header_line, len(header), _lines_after(text, header_line))
    if body is None:
        body = _fast_body(text, header_line, len(header))
    rows: Sequence[int]
    if body is not None:
        rows = range(header_line + 1, header_line + 1 + len(body))
    else:
        try:
            parsed = [(n, c) for n, c in _csv_rows(text) if n > header_line]
        except RawFileError as exc:
            raise RawFileError(exc.reason, file=file, row=exc.row) from None
        rows = [n for n, _ in parsed]
        body = [c for _, c in parsed]
    return build_sheet(table, file, "", header_line, header, body, rows)


# ---------------------------------------------------------------------------
# XLSX
# ---------------------------------------------------------------------------


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


def _sheet_rows(ws: object) -> list[tuple[int, list[str]]]:
    """Every row of an openpyxl read-only worksheet as (Excel row number, text cells)."""
    ws.reset_dimensions()  # type: ignore[attr-defined]
    rows = ws.iter_rows(min_row=1, values_only=True)  # type: ignore[attr-defined]
    return [(n, [cell_text(v) for v in r]) for n, r in enumerate(rows, start=1)]


class _Unsupported(Exception):
    """The fast reader met a workbook feature it does not handle: use openpyxl instead."""


_SHEET = re.compile(r"<sheet\b([^>]*?)/?>")
_REL = re.compile(r"<Relationship\b([^>]*?)/?>")
_ATTR = re.compile(r'([\w:]+)="([^"]*)"')
_ROW = re.compile(r"<row\b([^>]*?)(?:/>|>(.*?)</row>)", re.S)
_CELL = re.compile(r"<c\b([^>]*?)(?:/>|>(.*?)</c>)", re.S)
_V = re.compile(r"<v(?:\s[^>]*)?>(.*?)</v>", re.S)
_T = re.compile(r"<t(?:\s[^>]*)?>(.*?)</t>|<t(?:\s[^>]*)?/>", re.S)
_SI = re.compile(r"<si>(.*?)</si>|<si/>", re.S)
_RPH = re.compile(r"<rPh\b.*?</rPh>", re.S)
_PREFIXED = re.compile(r"<\w+:(row|c|sheetData|si|sheet)\b")
_ROW_R = re.compile(r'\br="(\d+)"')
#: A cell with a reference: (column letters, type, style, <v> text, inline text, any other content).
_CELL_FAST = re.compile(
    r'<c\b(?=[^>]*?\br="([A-Z]+)\d+")(?:(?=[^>]*?\bt="(\w+)"))?(?:(?=[^>]*?\bs="(\d+)"))?[^>]*?'
    r"(?:/>|>(?:<v>([^<]*)</v>|<is><t(?:\s[^>]*)?>([^<]*)</t></is>|(.*?))</c>)",
    re.S,
)

#: The cell layout writers usually produce (``r``, then optional ``s`` and ``t``, one value),
#: matched without look-aheads; a row with any other cell is read with :data:`_CELL_FAST`.
_CELL_SIMPLE = re.compile(
    r'<c r="([A-Z]+)\d+"(?: s="(\d+)")?(?: t="(\w+)")?>'
    r"(?:<v>([^<]*)</v>|<is><t>([^<]*)</t></is>)</c>"
)


def _unescape(text: str) -> str:
    return html.unescape(text) if "&" in text else text


def _attrs(text: str) -> dict[str, str]:
    return {k.split(":")[-1] if k.startswith("r:") else k: v for k, v in _ATTR.findall(text)}


def _texts(fragment: str) -> str:
    return html.unescape("".join(m or "" for m in _T.findall(_RPH.sub("", fragment))))


@functools.lru_cache(maxsize=4096)
def _col_index(ref: str) -> int:
    n = 0
    for ch in ref:
        if ch.isalpha():
            n = n * 26 + ord(ch.upper()) - 64
        else:
            break
    return n - 1


class FastWorkbook:
    """A minimal, fast reader of ``.xlsx`` cell values (zip + regular expressions).

    It reads shared and inline strings, numbers, booleans and date-formatted
    numbers, which is all a data return holds; on anything unusual (namespace
    prefixes, missing parts) it raises :class:`_Unsupported` and openpyxl reads
    the workbook instead.
    """

    def __init__(self, path: Path) -> None:
        self.zip = zipfile.ZipFile(path)
        names = set(self.zip.namelist())
        if "xl/workbook.xml" not in names:
            raise _Unsupported("no xl/workbook.xml")
        book = self._read("xl/workbook.xml")
        rels = (
            self._read("xl/_rels/workbook.xml.rels")
            if "xl/_rels/workbook.xml.rels" in names
            else ""
        )
        if _PREFIXED.search(book):
            raise _Unsupported("prefixed workbook XML")
        targets = {a.get("Id"): a.get("Target", "") for a in map(_attrs, _REL.findall(rels))}
        self.sheets: dict[str, str] = {}
        for a in map(_attrs, _SHEET.findall(book)):
            target = targets.get(a.get("id", ""), "")
            target = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
            if target not in names:
                raise _Unsupported(f"sheet part {target} missing")
            self.sheets[html.unescape(a.get("name", ""))] = target
        self.shared = self._shared_strings() if "xl/sharedStrings.xml" in names else []
        self.date_styles = self._date_styles() if "xl/styles.xml" in names else set()

    def _read(self, name: str) -> str:
        return self.zip.read(name).decode("utf-8")

    def _shared_strings(self) -> list[str]:
        text = self._read("xl/sharedStrings.xml")
        if _PREFIXED.search(text):
            raise _Unsupported("prefixed shared strings")
        return [_texts(m or "") for m in _SI.findall(text)]

    def _date_styles(self) -> set[int]:
        """Indexes of cell formats that show a number as a date."""
        from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format

        text = self._read("xl/styles.xml")
        custom = {
            int(a["numFmtId"]): html.unescape(a.get("formatCode", ""))
            for a in map(_attrs, re.findall(r"<numFmt\b([^>]*?)/?>", text))
            if "numFmtId" in a
        }
        xfs = re.search(r"<cellXfs\b[^>]*>(.*?)</cellXfs>", text, re.S)
        out = set()
        for i, a in enumerate(
            map(_attrs, re.findall(r"<xf\b([^>]*?)/?>", xfs.group(1) if xfs else ""))
        ):
            fmt_id = int(a.get("numFmtId", "0"))
            fmt = custom.get(fmt_id, BUILTIN_FORMATS.get(fmt_id, "General"))
            if is_date_format(fmt):
                out.add(i)
        return out

    def rows(self, sheet: str) -> list[tuple[int, list[str]]]:
        """Every row of ``sheet`` as (Excel row number, text cells); missing rows are not listed."""
        text = self._read(self.sheets[sheet])
        if _PREFIXED.search(text[:5000]):
            raise _Unsupported("prefixed sheet XML")
        out: list[tuple[int, list[str]]] = []
        number = 0
        for row_attrs, body in _ROW.findall(text):
            r = _ROW_R.search(row_attrs)
            number = int(r.group(1)) if r else number + 1
            out.append((number, self._cells(body or "")))
        return out

    def _cells(self, body: str) -> list[str]:
        """The cells of one row's XML, placed by their column letters."""
        n_cells = body.count("<c ") + body.count("<c>")
        simple = _CELL_SIMPLE.findall(body)
        if len(simple) == n_cells:
            found = [(c, kind, style, v, inline, "") for c, style, kind, v, inline in simple]
        else:
            found = _CELL_FAST.findall(body)
            if len(found) != n_cells:
                raise _Unsupported("cell without a reference")
        cells: list[str] = []
        dates = self.date_styles
        for letters, kind, style, v, inline, other in found:
            position = _col_index(letters)
            if position < len(cells):
                raise _Unsupported("cells out of order")
            if position > len(cells):
                cells.extend([""] * (position - len(cells)))
            # The two common cells inline, as _value would read them: plain inline
            # text, and whole numbers not formatted as dates.
            if kind == "inlineStr" and not other:
                cells.append(_unescape(inline))
            elif (kind in ("", "n")) and v.isdigit() and not (style and int(style) in dates):
                cells.append(v)
            else:
                style_id = int(style) if style else None
                cells.append(self._value(kind or "n", style_id, v, inline, other))
        return cells

    def _value(self, kind: str, style: int | None, v: str, inline: str, other: str) -> str:
        if kind == "inlineStr":
            return _texts(other) if other else _unescape(inline)
        raw = _unescape(v) if v else (_unescape(m.group(1)) if (m := _V.search(other)) else "")
        if kind == "s":
            return self.shared[int(raw)] if raw else ""
        if kind == "b":
            return "TRUE" if raw == "1" else "FALSE" if raw else ""
        if kind in ("str", "e", "d"):
            return raw
        if not raw:
            return ""
        if style is not None and style in self.date_styles:
            from openpyxl.utils.datetime import from_excel

            try:
                return cell_text(from_excel(float(raw)))
            except (ValueError, OverflowError):
                pass
        if raw.isdigit():
            return raw
        try:
            return cell_text(float(raw))
        except ValueError:
            return raw

    def close(self) -> None:
        self.zip.close()


def _fill_gaps(rows: list[tuple[int, list[str]]]) -> list[tuple[int, list[str]]]:
    """Insert empty rows for row numbers the sheet XML skipped, so every row is accounted for."""
    out: list[tuple[int, list[str]]] = []
    expected = 1
    for number, cells in rows:
        out.extend((n, []) for n in range(expected, number))
        out.append((number, cells))
        expected = number + 1
    return out


def read_xlsx(path: Path, raw_dir: Path, tables: Sequence[RawTable]) -> WorkbookResult:
    """Read every recognised sheet of a workbook; a bad sheet fails alone, a bad file fails whole."""
    file = relative_name(path, raw_dir)
    try:
        if path.stat().st_size == 0:
            raise RawFileError("the file is empty", file=file)
        if not zipfile.is_zipfile(path):
            raise RawFileError("not a readable .xlsx workbook (not a zip archive)", file=file)
    except OSError as exc:
        raise RawFileError(f"the file cannot be opened ({exc.strerror})", file=file) from None
    try:
        book = FastWorkbook(path)
    except (_Unsupported, KeyError, UnicodeDecodeError, zipfile.BadZipFile, ValueError):
        return _read_xlsx_openpyxl(path, file, tables)
    try:
        return _read_book(file, list(book.sheets), tables, lambda name: _fill_gaps(book.rows(name)))
    except _Unsupported:
        return _read_xlsx_openpyxl(path, file, tables)
    finally:
        book.close()


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
        except (
            _Unsupported,
            KeyError,
            IndexError,
            ValueError,
            UnicodeDecodeError,
            zipfile.BadZipFile,
        ) as exc:
            if isinstance(exc, _Unsupported):
                raise
            result.failures.append(
                RawFileError(
                    f"the sheet cannot be read ({type(exc).__name__})", file=file, sheet=title
                )
            )
    if recognised == 0:
        known = sorted({n for t in tables for n in t.sheet_names})
        raise RawFileError("no sheet is a known table", file=file, allowed=known, found=sheet_names)
    return result


def _read_xlsx_openpyxl(path: Path, file: str, tables: Sequence[RawTable]) -> WorkbookResult:
    """The slow, thorough path: openpyxl in read-only mode."""
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on corrupt parts
        raise RawFileError(
            f"not a readable .xlsx workbook ({type(exc).__name__})", file=file
        ) from None
    try:
        sheets = {ws.title: ws for ws in wb.worksheets}

        def rows_of(title: str) -> list[tuple[int, list[str]]]:
            try:
                return _sheet_rows(sheets[title])
            except Exception as exc:  # corrupt sheet XML
                raise RawFileError(
                    f"the sheet cannot be read ({type(exc).__name__})", file=file, sheet=title
                ) from None

        return _read_book(file, list(sheets), tables, rows_of)
    finally:
        wb.close()


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
