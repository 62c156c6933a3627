"""Raw files -> processed tables: the quantitative cleaner and the driver that runs every cleaner.

:func:`clean_all` runs the cleaners of :func:`default_cleaners` in order (each
sees the tables the earlier ones produced, in :attr:`CleanContext.tables`),
validates every table against :mod:`hubspoke.spec.processed`, builds the quarantine
and reconciliation tables and writes everything atomically. A cleaner is any
``Callable[[CleanContext], CleanerResult]``; pass ``cleaners=`` to run others.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from hubspoke.clean import harmonise as hm
from hubspoke.clean.quarantine import (
    RowCheck,
    SheetLedger,
    check_rows,
    concat_quarantine,
    duplicate_key_check,
    duplicate_mask,
    merged_counts,
    problem_check,
    reason_where,
    reconcile,
    required_check,
    skip_checks,
    split_rows,
)
from hubspoke.config import Settings, get_settings
from hubspoke.errors import HubspokeError, RawFileError
from hubspoke.io.parquet import write_parquet_atomic
from hubspoke.io.tabular import (
    RawSheet,
    WorkbookResult,
    constant_column,
    read_csv_table,
    read_xlsx,
    relative_name,
)
from hubspoke.privacy.pseudonym import load_key, pseudonymise
from hubspoke.spec import raw as rs
from hubspoke.spec.processed import SCHEMAS, SYSTEM_ACCESS_SCALE, validate

#: Threads reading submission files ahead (pyarrow parses CSVs without holding the GIL).
READ_THREADS = 2
#: Threads writing the parquet files.
WRITE_THREADS = 2
#: Top-level raw folders and files other cleaners (or nobody) handle.
IGNORED_TOP = frozenset({"_synthetic", "qualitative", "context", "README.md"})
#: Columns never copied into quarantine (identifiers, free text, the case reference).
PRIVATE_KINDS = frozenset({"identifier", "free_text"})
PROVENANCE_RENAME = {"_file": "source_file", "_sheet": "source_sheet", "_row": "source_row"}


# ---------------------------------------------------------------------------
# Cleaner protocol
# ---------------------------------------------------------------------------


@dataclass
class CleanContext:
    """What a cleaner gets: folders, settings, the tables cleaned so far, the pseudonym key."""

    raw_dir: Path
    out_dir: Path
    settings: Settings
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    _key: bytes | None = None

    def key(self) -> bytes:
        """The pseudonymisation key (loaded, or created, on first use)."""
        if self._key is None:
            self._key = load_key(self.settings)
        return self._key


@dataclass
class CleanerResult:
    """What a cleaner returns: processed tables, quarantine entries, one ledger per raw file/sheet.

    A ledger whose ``rows_clean`` is left ``None`` is counted from the clean
    tables' ``source_file``/``source_sheet`` columns.
    """

    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    quarantine: list[pd.DataFrame] = field(default_factory=list)
    ledgers: list[SheetLedger] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


Cleaner = Callable[[CleanContext], CleanerResult]


# ---------------------------------------------------------------------------
# One sheet
# ---------------------------------------------------------------------------


@dataclass
class SheetResult:
    """Clean rows, quarantine entries and merged-duplicate counts per (file, sheet)."""

    clean: pd.DataFrame
    quarantine: pd.DataFrame
    merged: dict[tuple[str, str], int]


def reportable(table: rs.RawTable, column: str) -> bool:
    """Whether a raw value of ``column`` may be copied into quarantine."""
    if column == "case_ref":
        return False
    try:
        return table.column(column).kind not in PRIVATE_KINDS
    except StopIteration:
        return True


def column_checks(frame: pd.DataFrame, table: rs.RawTable) -> list[RowCheck]:
    """Problem and required-value checks for every column of ``table`` present in ``frame``."""
    checks = []
    for col in table.columns:
        problem = hm.problem_column(col.name)
        if problem in frame:
            checks.append(
                problem_check(col.name, problem, report_value=reportable(table, col.name))
            )
        if col.required and col.name in frame:
            checks.append(
                required_check(
                    col.name,
                    problem if problem in frame else None,
                    report_value=reportable(table, col.name),
                )
            )
    return checks


def date_order_check(frame: pd.DataFrame) -> pd.Series:
    """Closure date before the referral date."""
    bad = frame["closure_date"].lt(frame["referral_date"]).fillna(False).astype(bool)
    hit = bad.to_numpy()
    few = frame.loc[hit, ["closure_date", "referral_date"]]  # format only the failing rows
    text = (
        "closure_date: "
        + few["closure_date"].dt.strftime("%Y-%m-%d").astype("string")
        + " is before the referral date "
        + few["referral_date"].dt.strftime("%Y-%m-%d").astype("string")
    )
    values = np.full(len(frame), None, dtype=object)
    values[hit] = text.to_numpy(dtype=object)
    return reason_where(bad, pd.Series(values, index=frame.index, dtype="string"))


def table_checks(table: rs.RawTable) -> list[RowCheck]:
    """Checks across columns, per table."""
    if table.name == "cases":
        return [RowCheck("closure_date", date_order_check)]
    return []


def clean_frame(frame: pd.DataFrame, table: rs.RawTable, columns: list[str]) -> SheetResult:
    """Raw rows of one table (any number of files) -> clean rows, quarantine, merged counts.

    ``columns`` are the canonical raw columns read; blank and notes rows are
    judged on them, and duplicates must match in all of them (and in file and
    sheet). Constant columns such as ``service_id``, ``year`` and ``risk_tool``
    are expected on ``frame`` already.
    """
    name = table.name
    skipped, skip_q = check_rows(frame, skip_checks(columns), table=name)
    dup = duplicate_mask(frame, columns) & ~skipped
    alive = ~skipped & ~dup
    parsed = (
        frame.pipe(hm.drop_private_columns, table)
        .pipe(hm.add_missing_columns, table)
        .pipe(hm.harmonise_table, table)
    )
    checks = [*column_checks(parsed, table), *table_checks(table)]
    failed, check_q = check_rows(parsed, checks, table=name, raw=frame, alive=alive)
    keep = alive & ~failed
    clean = parsed.drop(columns=[c for c in parsed.columns if c.startswith("_problem.")])
    clean = clean if keep.all() else clean.take(np.flatnonzero(keep))
    return SheetResult(clean, concat_quarantine([skip_q, check_q]), merged_counts(frame, dup))


def clean_sheet(sheet: RawSheet, *, constants: dict[str, object] | None = None) -> SheetResult:
    """Clean one sheet on its own (see :func:`clean_frame`)."""
    return clean_frame(sheet.frame.assign(**(constants or {})), sheet.table, sheet.columns)


# ---------------------------------------------------------------------------
# Finishing each table
# ---------------------------------------------------------------------------


def finish_cases(frame: pd.DataFrame, key: bytes) -> pd.DataFrame:
    """Pseudonymise, derive fields, drop the case reference."""
    return (
        frame.assign(
            young_person_id=pseudonymise(key, frame["service_id"], frame["case_ref"]),
            risk_tool=frame["risk_tool"].astype(pd.CategoricalDtype(list(rs.RISK_TOOLS))),
        )
        .drop(columns=["case_ref"])
        .pipe(hm.add_age_band)
        .pipe(hm.add_risk_change)
        .pipe(hm.add_missing_change)
        .pipe(hm.add_episode_days)
        .pipe(hm.add_planned_ending)
    )


def finish_table(name: str, frame: pd.DataFrame, ctx: CleanContext) -> pd.DataFrame:
    """Table-specific derived fields, before the key check."""
    if name == "cases":
        return finish_cases(frame, ctx.key())
    if name == "activities":
        return hm.add_confidence_change(frame)
    if name == "policy":
        return hm.add_status_score(frame)
    if name == "spoke_survey":
        return (
            frame.pipe(hm.reorder_scale, "supervision_frequency", rs.SUPERVISION_SCALE)
            .pipe(hm.reorder_scale, "host_system_access", SYSTEM_ACCESS_SCALE)
            .pipe(hm.reorder_scale, "feels_isolated", rs.ISOLATION_SCALE)
        )
    return frame


def key_split(name: str, frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Quarantine later rows that repeat an earlier row's key with different values."""
    key = [k for k in SCHEMAS[name].key if not k.startswith("source_")]
    if not key or not len(frame):
        return frame, concat_quarantine([])
    column = "case_ref" if name == "cases" else key[-1]
    split = split_rows(frame, [duplicate_key_check(key, column=column)], table=name)
    return split.clean, split.quarantine


# ---------------------------------------------------------------------------
# Discovering raw files
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RawFile:
    """A raw file and what it should hold."""

    path: Path
    kind: str  # reference | workbook | csv | unknown
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
    parts: dict[str, list[pa.Table]] = field(default_factory=dict)
    columns: dict[str, dict[str, None]] = field(default_factory=dict)
    ledgers: dict[tuple[str, str], SheetLedger] = field(default_factory=dict)
    result: CleanerResult = field(default_factory=CleanerResult)

    def fail(self, file: str, error: RawFileError, table: str = "", sheet: str = "") -> None:
        led = SheetLedger(file, error.sheet or sheet, table, status="failed", message=str(error))
        self.ledgers[(led.file, led.sheet)] = led

    def add(self, sheet: RawSheet, constants: dict[str, object] | None = None) -> None:
        name = sheet.table.name
        self.parts.setdefault(name, []).append(with_constants(sheet.to_arrow(), constants or {}))
        self.columns.setdefault(name, {}).update(dict.fromkeys(sheet.columns))
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
            self.result.warnings.append(
                f"{where}: column(s) not recognised, values ignored: {', '.join(sheet.unmatched)}"
            )

    def raw_frame(self, name: str) -> pd.DataFrame | None:
        """Every row read for table ``name`` as one pandas frame (``None`` when there are none).

        Like ``pd.concat`` of the files' frames (columns in the order first seen, a
        column a file lacks is missing there), but the files are converted to
        pandas once, not one by one. Columns stay one chunk per file: joining them
        into one would cost more (fresh memory) than it saves later.
        """
        parts = [p for p in self.parts.pop(name, []) if p.num_rows]
        if not parts:
            return None
        return pa.concat_tables(parts, promote_options="default").to_pandas()

    def finish(self, name: str) -> pd.DataFrame:
        """Clean every sheet read for table ``name`` in one pass; store and return the table."""
        raw = self.raw_frame(name)
        if raw is None:
            frame = SCHEMAS[name].empty()
        else:
            res = clean_frame(raw, rs.table(name), list(self.columns.get(name, {})))
            self.result.quarantine.append(res.quarantine)
            for key, n in res.merged.items():
                self.ledgers[key].rows_merged_duplicates = n
            frame, dups = key_split(name, finish_table(name, res.clean, self.ctx))
            self.result.quarantine.append(dups)
            frame = sort_by_provenance(frame).rename(columns=PROVENANCE_RENAME)
        self.result.tables[name] = frame
        self.ctx.tables[name] = frame
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
    acc.result.warnings.extend(book.warnings)
    for error in book.failures:
        acc.fail(file, error)
    for sheet in book.sheets:
        try:
            _add_submission_sheet(acc, sheet, raw, tools)
        except RawFileError as exc:
            acc.fail(file, exc, sheet.table.name, sheet.sheet)


def _load(raw: RawFile, raw_dir: Path) -> RawSheet | WorkbookResult | RawFileError:
    """Read one submission file (CSV or workbook); an unreadable file gives its error.

    Runs in a reader thread: the error is returned, and recorded later in file order.
    """
    try:
        if raw.kind == "workbook":
            return read_xlsx(raw.path, raw_dir, rs.SUBMISSION_TABLES)
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
    """Reference files and every service-year submission -> six processed tables."""
    acc = _Acc(ctx)
    files = discover(ctx.raw_dir)
    for raw in files:
        if raw.kind == "reference":
            _read_reference(acc, raw)
    acc.finish("spokes")
    tools = _risk_tools(acc.finish("services"))
    with ThreadPoolExecutor(max_workers=READ_THREADS) as pool:
        # Files are read ahead in threads; each is added in file order as before.
        reads = {
            raw.path: pool.submit(_load, raw, ctx.raw_dir)
            for raw in files
            if raw.kind in ("workbook", "csv")
        }
        for raw in files:
            if raw.kind == "workbook":
                _read_workbook(acc, raw, tools, reads.pop(raw.path).result())
            elif raw.kind == "csv":
                _read_csv(acc, raw, tools, reads.pop(raw.path).result())
            elif raw.kind == "unknown":
                file = relative_name(raw.path, ctx.raw_dir)
                acc.fail(file, RawFileError(raw.problem, file=file))
    for name in ("cases", "activities", "policy", "spoke_survey"):
        acc.finish(name)
    acc.result.ledgers = [acc.ledgers[k] for k in sorted(acc.ledgers)]
    return acc.result


#: The cleaners :func:`clean_all` runs, in order. Register the qualitative and
#: context cleaners here (each a ``Callable[[CleanContext], CleanerResult]``).
def default_cleaners() -> list[Cleaner]:
    """Every cleaner, in order: quantitative submissions, then qualitative data, then area context.

    (Imported here, not at the top, because those modules build on this one.)
    """
    from hubspoke.clean.context import clean_context
    from hubspoke.clean.qualitative import clean_qualitative

    return [clean_quantitative, clean_qualitative, clean_context]


#: The quantitative cleaner alone (the qualitative and context ones: :func:`default_cleaners`).
DEFAULT_CLEANERS: list[Cleaner] = [clean_quantitative]


# ---------------------------------------------------------------------------
# Summary and driver
# ---------------------------------------------------------------------------


@dataclass
class CleanSummary:
    """The outcome of :func:`clean_all`."""

    reconciliation: pd.DataFrame
    quarantine: pd.DataFrame
    rows: dict[str, int]
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)

    @property
    def failed(self) -> pd.DataFrame:
        return self.reconciliation[self.reconciliation["status"] == "failed"]

    @property
    def ok(self) -> bool:
        """True when every file was read and every table matched its schema."""
        return not len(self.failed) and not self.errors

    def text(self) -> str:
        """A short plain-language summary."""
        rec = self.reconciliation
        files = rec["file"].nunique()
        lines = [
            f"Cleaned {files} raw file(s): {files - self.failed['file'].nunique()} read, "
            f"{self.failed['file'].nunique()} failed."
        ]
        by_table = (
            rec[rec["status"] == "ok"]
            .groupby("table", observed=True)[
                ["rows_in", "rows_clean", "rows_quarantined", "rows_merged_duplicates"]
            ]
            .sum()
        )
        for name, row in by_table.iterrows():
            lines.append(
                f"  {name}: {row.rows_clean} clean, {row.rows_quarantined} quarantined, "
                f"{row.rows_merged_duplicates} duplicates merged (of {row.rows_in} rows)"
            )
        for msg in self.failed["message"]:
            lines.append(f"  FAILED: {msg}")
        for w in self.warnings:
            lines.append(f"  warning: {w}")
        for e in self.errors:
            lines.append(f"  ERROR: {e}")
        return "\n".join(lines)


def _validated(tables: dict[str, pd.DataFrame], errors: list[str]) -> dict[str, pd.DataFrame]:
    out = {}
    for name, frame in tables.items():
        if name not in SCHEMAS:
            errors.append(f"table {name} has no declared schema; not written")
            continue
        try:
            out[name] = validate(name, frame)
        except HubspokeError as exc:
            errors.append(str(exc))
    return out


def clean_all(
    raw_dir: Path,
    out_dir: Path,
    *,
    settings: Settings | None = None,
    cleaners: Sequence[Cleaner] | None = None,
) -> CleanSummary:
    """Clean every raw file under ``raw_dir`` into validated parquet tables in ``out_dir``.

    Writes one parquet per processed table plus ``quarantine.parquet`` and
    ``reconciliation.parquet``. Bad data never raises: an unreadable file is a
    failed line in the reconciliation and the others are still cleaned.
    """
    raw_dir, out_dir = Path(raw_dir), Path(out_dir)
    settings = (settings or get_settings()).with_paths(raw_dir=raw_dir, processed_dir=out_dir)
    ctx = CleanContext(raw_dir, out_dir, settings)
    errors: list[str] = []
    if not raw_dir.is_dir():
        errors.append(f"the raw data folder {raw_dir} does not exist")
    results: list[CleanerResult] = []
    for cleaner in cleaners if cleaners is not None else default_cleaners():
        if errors:
            break
        try:
            results.append(cleaner(ctx))
        except HubspokeError as exc:
            errors.append(str(exc))
    tables = _validated({k: v for r in results for k, v in r.tables.items()}, errors)
    quarantine = concat_quarantine([q for r in results for q in r.quarantine])
    quarantine = quarantine.sort_values(
        ["table", "file", "sheet", "row", "column", "reason"], kind="mergesort"
    )
    quarantine = quarantine.reset_index(drop=True)
    ledgers = [led for r in results for led in r.ledgers]
    reconciliation = reconcile(ledgers, tables.values(), quarantine)
    summary = CleanSummary(
        reconciliation=reconciliation,
        quarantine=quarantine,
        rows={k: len(v) for k, v in tables.items()},
        warnings=[w for r in results for w in r.warnings],
        errors=errors,
    )
    if errors and not results:
        return summary
    extra = _validated({"quarantine": quarantine, "reconciliation": reconciliation}, errors)
    summary.written.extend(write_tables({**tables, **extra}, out_dir))
    return summary


def write_tables(tables: dict[str, pd.DataFrame], out_dir: Path) -> list[Path]:
    """Write each table to its parquet file in ``out_dir``; the paths, in the order given.

    The files are written in threads: pyarrow encodes and compresses without
    holding the GIL, so the large tables are written side by side.
    """
    with ThreadPoolExecutor(max_workers=WRITE_THREADS) as pool:
        futures = [
            pool.submit(write_parquet_atomic, frame, out_dir / SCHEMAS[name].filename)
            for name, frame in tables.items()
        ]
        return [f.result() for f in futures]
