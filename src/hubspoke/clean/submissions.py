"""The quantitative cleaner: service submissions and reference files -> processed tables.

Finds the raw files (:func:`discover`), reads each workbook or CSV, cleans each sheet
with :func:`~hubspoke.clean.base.clean_sheet`, and finishes every table: keyed
pseudonyms for young people, provenance columns, duplicates across files merged.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pyarrow as pa

from hubspoke.clean import harmonise as hm
from hubspoke.clean.base import PROVENANCE_RENAME, CleanContext, CleanerResult, clean_frame
from hubspoke.clean.quarantine import (
    RowCheck,
    SheetLedger,
    concat_quarantine,
    duplicate_key_check,
    reason_where,
    split_rows,
)
from hubspoke.errors import RawFileError
from hubspoke.io.tabular import (
    RawSheet,
    WorkbookResult,
    constant_column,
    read_csv_table,
    read_xlsx,
    relative_name,
    sheet_table,
)
from hubspoke.privacy.pseudonym import HashedAhead, hash_ahead, pseudonymise
from hubspoke.spec import raw as rs
from hubspoke.spec import vocab
from hubspoke.spec.processed import SCHEMAS, SYSTEM_ACCESS_SCALE

#: Threads reading submission files ahead (pyarrow parses CSVs without holding the GIL).
READ_THREADS = 2
#: Top-level raw folders and files other cleaners (or nobody) handle.
IGNORED_TOP = frozenset({"_synthetic", "qualitative", "context", "README.md"})


# ---------------------------------------------------------------------------
# Finishing each table
# ---------------------------------------------------------------------------


def finish_cases(
    frame: pd.DataFrame, key: bytes, *, ahead: HashedAhead | None = None
) -> pd.DataFrame:
    """Pseudonymise (pairs hashed ``ahead`` looked up), derive fields, drop the case reference."""
    return (
        frame.assign(
            young_person_id=pseudonymise(key, frame["service_id"], frame["case_ref"], ahead=ahead),
            risk_tool=frame["risk_tool"].astype(pd.CategoricalDtype(list(vocab.RISK_TOOLS))),
        )
        .drop(columns=["case_ref"])
        .pipe(hm.add_age_band)
        .pipe(hm.add_risk_change)
        .pipe(hm.add_missing_change)
        .pipe(hm.add_episode_days)
        .pipe(hm.add_planned_ending)
    )


def finish_table(
    name: str, frame: pd.DataFrame, ctx: CleanContext, *, ahead: HashedAhead | None = None
) -> pd.DataFrame:
    """Table-specific derived fields, before the key check (``ahead``: see :func:`hash_cases_ahead`)."""
    if name == "cases":
        return finish_cases(frame, ctx.key(), ahead=ahead)
    if name == "activities":
        return hm.add_confidence_change(frame)
    if name == "policy":
        return hm.add_status_score(frame)
    if name == "spoke_survey":
        return (
            frame.pipe(hm.reorder_scale, "supervision_frequency", vocab.SUPERVISION_SCALE)
            .pipe(hm.reorder_scale, "host_system_access", SYSTEM_ACCESS_SCALE)
            .pipe(hm.reorder_scale, "feels_isolated", vocab.ISOLATION_SCALE)
        )
    return frame


def hash_cases_ahead(name: str, raw: pd.DataFrame, ctx: CleanContext) -> HashedAhead | None:
    """For the cases table, start hashing its raw rows' case references in a child process.

    The child works on the other core while the rows are cleaned, and
    :func:`finish_cases` then only looks the ids up (see
    :func:`~hubspoke.privacy.pseudonym.hash_ahead`; None for other tables or few rows).
    """
    if name != "cases" or "case_ref" not in raw or "service_id" not in raw:
        return None
    return hash_ahead(ctx.key(), raw["service_id"], raw["case_ref"])


def key_split(name: str, frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Quarantine later rows that repeat an earlier row's key with different values."""
    key = [k for k in SCHEMAS[name].key if not k.startswith("source_")]
    if not key or not len(frame):
        return frame, concat_quarantine([])
    column = "case_ref" if name == "cases" else key[-1]
    split = split_rows(frame, [duplicate_key_check(key, column=column)], table=name)
    return split.clean, split.quarantine


def unknown_service_check(services: pd.DataFrame) -> RowCheck:
    """A row whose ``service_id`` is not in reference/services.csv (a Spoke of no known service)."""
    known = set(services["service_id"].dropna().astype(str))

    def test(frame: pd.DataFrame) -> pd.Series:
        ids = frame["service_id"].astype("string")
        unknown = ids.notna() & ~ids.isin(known)
        return reason_where(
            unknown, "service_id: '" + ids.fillna("") + "' is not in reference/services.csv"
        )

    return RowCheck("service_id", test)


def reference_split(
    name: str, frame: pd.DataFrame, ctx: CleanContext
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Quarantine rows that name a service the services file does not hold (spokes only).

    Needs the services table cleaned first; without one there is nothing to check against.
    """
    services = ctx.tables.get("services")
    if name != "spokes" or services is None or not len(services) or not len(frame):
        return frame, concat_quarantine([])
    split = split_rows(frame, [unknown_service_check(services)], table=name)
    return split.clean, split.quarantine


# ---------------------------------------------------------------------------
# Discovering raw files
# ---------------------------------------------------------------------------

#: What a raw file should hold: a reference CSV, a submission workbook or CSV, or nothing known.
RawFileKind = Literal["reference", "workbook", "csv", "unknown"]


@dataclass(frozen=True)
class RawFile:
    """A raw file and what it should hold."""

    path: Path
    kind: RawFileKind
    table: str = ""
    service_id: str = ""
    year: int = 0
    problem: str = ""


def _hidden(path: Path) -> bool:
    return path.name.startswith((".", "~$"))


def discover(raw_dir: Path) -> list[RawFile]:
    """Every raw file the quantitative cleaner is responsible for, sorted by path."""
    found: list[RawFile] = []
    for path in sorted(p for p in raw_dir.rglob("*") if p.is_file()):
        rel = path.relative_to(raw_dir)
        if rel.parts[0] in IGNORED_TOP or any(_hidden(Path(p)) for p in rel.parts):
            continue
        if path.name.lower() == "readme.md":
            continue
        found.append(classify(path, rel))
    return found


def classify(path: Path, rel: Path) -> RawFile:
    """What a raw file should hold, from where it is and what it is called."""
    parts = rel.parts
    ref = {"services": "services", "spokes": "spokes"}
    if parts[0] == "reference":
        if len(parts) == 2 and path.suffix.lower() == ".csv" and path.stem in ref:
            return RawFile(path, "reference", ref[path.stem])
        return RawFile(
            path,
            "unknown",
            problem="not a known reference file (expected reference/services.csv or reference/spokes.csv)",
        )
    if parts[0] != "submissions":
        return RawFile(
            path, "unknown", problem="not in a known raw folder (reference/, submissions/)"
        )
    suffix = path.suffix.lower()
    stem = path.stem if suffix == ".xlsx" else path.parent.name
    match = rs.SUBMISSION_STEM.match(stem)
    if suffix not in (".xlsx", ".csv"):
        return RawFile(
            path, "unknown", problem="not a raw submission file (expected .xlsx or .csv)"
        )
    if match is None:
        return RawFile(
            path, "unknown", problem=f"unknown submission name {stem!r} (expected e.g. S03_2015)"
        )
    service_id, year = match["service_id"], int(match["year"])
    folder_year = parts[1] if len(parts) > 2 else ""
    if folder_year != str(year):
        return RawFile(
            path, "unknown", problem=f"submission for {year} is in the folder {folder_year!r}"
        )
    if suffix == ".xlsx":
        return RawFile(path, "workbook", service_id=service_id, year=year)
    names = {t.name for t in rs.SUBMISSION_TABLES}
    if path.stem not in names:
        return RawFile(
            path,
            "unknown",
            problem=f"unknown table name {path.stem!r} (expected one of {', '.join(sorted(names))})",
        )
    return RawFile(path, "csv", table=path.stem, service_id=service_id, year=year)


# ---------------------------------------------------------------------------
# The quantitative cleaner
# ---------------------------------------------------------------------------


@dataclass
class _Acc:
    """Collects the sheets read, per table, and the ledgers, for one cleaner run."""

    ctx: CleanContext
    #: Per table, each sheet read: (the file's place in the run's file order, rows, columns).
    parts: dict[str, list[tuple[int, pa.Table, list[str]]]] = field(default_factory=dict)
    ledgers: dict[tuple[str, str], SheetLedger] = field(default_factory=dict)
    result: CleanerResult = field(default_factory=CleanerResult)
    #: Warnings about files, with the file's place in the file order (put in that order).
    file_warnings: list[tuple[int, str]] = field(default_factory=list)
    #: Where the file being added stands in the file order.
    place: int = 0

    def fail(self, file: str, error: RawFileError, table: str = "", sheet: str = "") -> None:
        led = SheetLedger(file, error.sheet or sheet, table, status="failed", message=str(error))
        self.ledgers[(led.file, led.sheet)] = led

    def warn(self, message: str) -> None:
        """A warning about the file being added (kept in file order, see :meth:`flush_warnings`)."""
        self.file_warnings.append((self.place, message))

    def flush_warnings(self) -> None:
        """The files' warnings, in the order of the files (stable within one file)."""
        self.file_warnings.sort(key=lambda item: item[0])
        self.result.warnings.extend(message for _, message in self.file_warnings)
        self.file_warnings.clear()

    def add(self, sheet: RawSheet, constants: dict[str, object] | None = None) -> None:
        name = sheet.table.name
        rows = with_constants(sheet.to_arrow(), constants or {})
        self.parts.setdefault(name, []).append((self.place, rows, list(sheet.columns)))
        self.ledgers[(sheet.file, sheet.sheet)] = SheetLedger(
            sheet.file,
            sheet.sheet,
            name,
            rows_in=sheet.num_rows,
            unmatched_columns=tuple(sheet.unmatched),
            dropped_columns=tuple(sheet.dropped),
        )
        if sheet.unmatched:
            where = f"{sheet.file}" + (f" [{sheet.sheet}]" if sheet.sheet else "")
            self.warn(
                f"{where}: column(s) not recognised, values ignored: {', '.join(sheet.unmatched)}"
            )

    def raw_frame(self, name: str) -> pd.DataFrame | None:
        """Every row read for table ``name`` as one pandas frame (``None`` when there are none).

        Like ``pd.concat`` of the files' frames (columns in the order first seen, a
        column a file lacks is missing there), but the files are converted to
        pandas once, not one by one. Columns stay one chunk per file: joining them
        into one would cost more (fresh memory) than it saves later. The sheets are
        joined in file order, whatever order they were read in.
        """
        parts = [rows for _, rows, _ in self.sorted_parts(name) if rows.num_rows]
        if not parts:
            return None
        return pa.concat_tables(parts, promote_options="default").to_pandas()

    def sorted_parts(self, name: str) -> list[tuple[int, pa.Table, list[str]]]:
        """The sheets read for table ``name``, in file order (a workbook's in sheet order)."""
        return sorted(self.parts.get(name, []), key=lambda part: part[0])

    def columns(self, name: str) -> list[str]:
        """The canonical columns read for table ``name``, in the order the files first have them."""
        return list(dict.fromkeys(c for _, _, columns in self.sorted_parts(name) for c in columns))

    def finish(self, name: str) -> pd.DataFrame:
        """Clean every sheet read for table ``name`` in one pass; store and return the table."""
        columns = self.columns(name)
        raw = self.raw_frame(name)
        self.parts.pop(name, None)
        if raw is None:
            frame = SCHEMAS[name].empty()
        else:
            ahead = hash_cases_ahead(name, raw, self.ctx)
            try:
                res = clean_frame(raw, rs.table(name), columns)
                finished = finish_table(name, res.clean, self.ctx, ahead=ahead)
            finally:
                if ahead is not None:
                    ahead.close()
            self.result.quarantine.append(res.quarantine)
            for key, n in res.merged.items():
                self.ledgers[key].rows_merged_duplicates = n
            if name == "spokes" and not len(self.ctx.tables.get("services", ())):
                self.result.warnings.append(
                    "reference/spokes.csv: not checked against reference/services.csv, "
                    "which has no clean rows"
                )
            finished, unknown = reference_split(name, finished, self.ctx)
            self.result.quarantine.append(unknown)
            frame, dups = key_split(name, finished)
            self.result.quarantine.append(dups)
            frame = sort_by_provenance(frame).rename(columns=PROVENANCE_RENAME)
        self.result.tables[name] = frame
        self.ctx.tables[name] = frame
        if self.ctx.table_ready is not None:
            self.ctx.table_ready(name, frame)
        return frame


def with_constants(data: pa.Table, constants: dict[str, object]) -> pa.Table:
    """``data`` with a column per constant (replacing one of the same name), as ``assign`` would."""
    for column, value in constants.items():
        values = constant_column(value, data.num_rows)
        if column in data.column_names:
            data = data.set_column(data.column_names.index(column), column, values)
        else:
            data = data.append_column(column, values)
    return data


def sort_by_provenance(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` sorted (stably) by file, sheet and row; not copied when already in that order."""
    keys = list(PROVENANCE_RENAME)
    order = frame[keys].reset_index(drop=True).sort_values(keys, kind="mergesort").index
    positions = order.to_numpy()
    if np.array_equal(positions, np.arange(len(frame))):
        return frame
    return frame.take(positions)


def _risk_tools(services: pd.DataFrame | None) -> dict[str, str]:
    if services is None or not len(services):
        return {}
    return dict(
        zip(services["service_id"].astype(str), services["risk_tool"].astype(str), strict=True)
    )


def _add_submission_sheet(acc: _Acc, sheet: RawSheet, raw: RawFile, tools: dict[str, str]) -> None:
    constants: dict[str, object] = {"service_id": raw.service_id, "year": raw.year}
    if sheet.table.name == "cases":
        risk_tool = tools.get(raw.service_id)
        if risk_tool is None:
            raise RawFileError(
                f"service {raw.service_id} is not in reference/services.csv, so its risk tool is unknown",
                file=sheet.file,
                sheet=sheet.sheet or None,
            )
        constants["risk_tool"] = risk_tool
    acc.add(sheet, constants)


def _read_reference(acc: _Acc, raw: RawFile) -> None:
    file = relative_name(raw.path, acc.ctx.raw_dir)
    try:
        acc.add(read_csv_table(raw.path, acc.ctx.raw_dir, rs.table(raw.table)))
    except RawFileError as exc:
        acc.fail(file, exc, raw.table)


def _read_workbook(
    acc: _Acc, raw: RawFile, tools: dict[str, str], book: WorkbookResult | RawFileError
) -> None:
    file = relative_name(raw.path, acc.ctx.raw_dir)
    if isinstance(book, RawFileError):
        acc.fail(file, book)
        return
    for warning in book.warnings:
        acc.warn(warning)
    for error in book.failures:
        table = sheet_table(error.sheet, rs.SUBMISSION_TABLES) if error.sheet else None
        acc.fail(file, error, table.name if table else "")
    for sheet in book.sheets:
        try:
            _add_submission_sheet(acc, sheet, raw, tools)
        except RawFileError as exc:
            acc.fail(file, exc, sheet.table.name, sheet.sheet)
    _record_missing_sheets(acc, file, book)


def _record_missing_sheets(acc: _Acc, file: str, book: WorkbookResult) -> None:
    """A ledger line and a warning for each submission table no sheet of the workbook holds.

    Without them a workbook missing, say, its policy sheet would lose those rows
    silently. The line has no rows and status ok (the reconciliation has no
    status for "missing"); its sheet is the first name the table is expected under.
    """
    present = {sheet.table.name for sheet in book.sheets}
    for error in book.failures:
        table = sheet_table(error.sheet, rs.SUBMISSION_TABLES) if error.sheet else None
        if table is not None:
            present.add(table.name)
    for table in rs.SUBMISSION_TABLES:
        if table.name in present:
            continue
        names = ", ".join(repr(n) for n in table.sheet_names)
        message = (
            f"{file}: no sheet holds the {table.name} table (expected a sheet named {names}); "
            f"the workbook sends no {table.name} rows"
        )
        acc.warn(message)
        sheet = table.sheet_names[0]
        acc.ledgers[(file, sheet)] = SheetLedger(file, sheet, table.name, message=message)


def _warn_missing_csvs(acc: _Acc, files: list[RawFile]) -> None:
    """A warning for each submission table a folder of CSVs has no file for.

    Only a warning: a ledger line would name a file that does not exist.
    """
    sent: dict[Path, set[str]] = {}
    for raw in files:
        if raw.kind == "csv":
            sent.setdefault(raw.path.parent, set()).add(raw.table)
    for folder, tables in sent.items():
        for name in rs.SUBMISSION_TABLE_NAMES:
            if name not in tables:
                where = relative_name(folder, acc.ctx.raw_dir)
                acc.result.warnings.append(
                    f"{where}: no {name}.csv; the submission sends no {name} rows"
                )


def _load_workbook(raw: RawFile, raw_dir: Path) -> WorkbookResult | RawFileError:
    """Read one submission workbook; an unreadable file gives its error.

    Runs in a reader thread: the error is returned, and recorded later in file order.
    """
    try:
        return read_xlsx(raw.path, raw_dir, rs.SUBMISSION_TABLES)
    except RawFileError as exc:
        return exc


def _load_csv(raw: RawFile, raw_dir: Path) -> RawSheet | RawFileError:
    """Read one submission CSV; an unreadable file gives its error (as :func:`_load_workbook`)."""
    try:
        return read_csv_table(raw.path, raw_dir, rs.table(raw.table))
    except RawFileError as exc:
        return exc


def _read_csv(
    acc: _Acc, raw: RawFile, tools: dict[str, str], read: RawSheet | RawFileError
) -> None:
    if isinstance(read, RawFileError):
        acc.fail(relative_name(raw.path, acc.ctx.raw_dir), read, raw.table)
        return
    try:
        _add_submission_sheet(acc, read, raw, tools)
    except RawFileError as exc:
        acc.fail(read.file, exc, raw.table)


def clean_quantitative(ctx: CleanContext) -> CleanerResult:
    """Reference files and every service-year submission -> six processed tables.

    Files are read ahead in threads, workbooks first and then the CSVs table by
    table, and each table is cleaned as soon as every file that can hold it is in:
    the cases are cleaned while the other tables' files are still being read. The
    rows, ledgers and warnings are those of reading every file in path order.
    """
    acc = _Acc(ctx)
    files = discover(ctx.raw_dir)
    for raw in files:
        if raw.kind == "reference":
            _read_reference(acc, raw)
    acc.flush_warnings()
    tools = _risk_tools(acc.finish("services"))
    acc.finish("spokes")  # after services: each Spoke's service is checked against them
    with ThreadPoolExecutor(max_workers=READ_THREADS) as pool:
        books = {
            raw.path: pool.submit(_load_workbook, raw, ctx.raw_dir)
            for raw in files
            if raw.kind == "workbook"
        }
        sheets = {
            raw.path: pool.submit(_load_csv, raw, ctx.raw_dir)
            for name in rs.SUBMISSION_TABLE_NAMES
            for raw in files
            if raw.kind == "csv" and raw.table == name
        }
        for place, raw in enumerate(files):
            acc.place = place
            if raw.kind == "workbook":
                _read_workbook(acc, raw, tools, books.pop(raw.path).result())
            elif raw.kind == "unknown":
                file = relative_name(raw.path, ctx.raw_dir)
                acc.fail(file, RawFileError(raw.problem, file=file))
        for name in rs.SUBMISSION_TABLE_NAMES:
            for place, raw in enumerate(files):
                if raw.kind == "csv" and raw.table == name:
                    acc.place = place
                    _read_csv(acc, raw, tools, sheets.pop(raw.path).result())
            acc.finish(name)
    acc.flush_warnings()
    _warn_missing_csvs(acc, files)
    acc.result.ledgers = [acc.ledgers[k] for k in sorted(acc.ledgers)]
    return acc.result
