"""The cleaner protocol, and the cleaning of one sheet that every cleaner reuses.

A cleaner is any ``Callable[[CleanContext], CleanerResult]``: it gets the folders,
settings, the tables cleaned so far and the pseudonym key, and returns processed
tables, quarantine entries and one ledger per raw file or sheet. :func:`clean_frame`
harmonises one raw sheet's rows, quarantines the rows that fail a check (with the
reason) and merges exact duplicates.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from hubspoke.clean import harmonise as hm
from hubspoke.clean.quarantine import (
    RowCheck,
    SheetLedger,
    check_rows,
    concat_quarantine,
    duplicate_mask,
    keep_rows,
    merged_counts,
    problem_check,
    reason_where,
    required_check,
    skip_checks,
)
from hubspoke.config import Settings
from hubspoke.io.tabular import (
    RawSheet,
)
from hubspoke.privacy.pseudonym import (
    check_key_fingerprint,
    key_fingerprint,
    key_path,
    key_permission_problem,
    load_key,
)
from hubspoke.spec import raw as rs
from hubspoke.spec import vocab

#: Columns never copied into quarantine (identifiers, free text, the case reference).
PRIVATE_KINDS: frozenset[rs.ColumnKind] = frozenset({"identifier", "free_text"})
PROVENANCE_RENAME = {"_file": "source_file", "_sheet": "source_sheet", "_row": "source_row"}


# ---------------------------------------------------------------------------
# Cleaner protocol
# ---------------------------------------------------------------------------


@dataclass
class CleanContext:
    """What a cleaner gets: folders, settings, the tables cleaned so far, the pseudonym key.

    ``expected_key`` is the fingerprint of the key the processed data were made
    with (None: any key, and a missing key file is created); ``warnings`` collects
    what loading the key found (a key others can read). ``table_ready``, when set, is
    called with each table a cleaner has finished, before the cleaner returns, so
    :func:`~hubspoke.clean.run.clean_all` can validate and write it while the cleaner
    goes on; the cleaner still returns the table in its result.
    """

    raw_dir: Path
    out_dir: Path
    settings: Settings
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    _key: bytes | None = None
    expected_key: str | None = None
    warnings: list[str] = field(default_factory=list)
    table_ready: Callable[[str, pd.DataFrame], None] | None = None

    def key(self) -> bytes:
        """The pseudonymisation key (loaded, or created, on first use).

        When ``expected_key`` is set the key file must exist and have that
        fingerprint, else a :class:`~hubspoke.errors.ConfigError`.
        """
        if self._key is None:
            key = load_key(self.settings, create=self.expected_key is None)
            if self.expected_key is not None:
                check_key_fingerprint(
                    key, self.expected_key, key_file=key_path(self.settings), folder=self.out_dir
                )
            problem = key_permission_problem(key_path(self.settings))
            if problem:
                self.warnings.append(problem)
            self._key = key
        return self._key

    @property
    def key_fingerprint(self) -> str | None:
        """The fingerprint of the key used so far (None when no cleaner needed the key)."""
        return None if self._key is None else key_fingerprint(self._key)


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


def labels(column: rs.Column) -> tuple[str, ...]:
    """The allowed labels of a column and their variants (empty for numbers, dates, ids)."""
    if column.kind == "risk":
        tools = [label for levels in vocab.RISK_TOOLS.values() for label in levels]
        variants = [v for forms in vocab.RISK_VARIANTS.values() for v in forms]
        return tuple(dict.fromkeys([*tools, *vocab.RISK_SCALE, *vocab.RISK_VARIANTS, *variants]))
    if column.vocabulary is None:
        return ()
    return tuple(
        dict.fromkeys(
            [*column.vocabulary, *(v for forms in column.vocabulary.values() for v in forms)]
        )
    )


def column_checks(frame: pd.DataFrame, table: rs.RawTable) -> list[RowCheck]:
    """Problem and required-value checks for every column of ``table`` present in ``frame``."""
    checks = []
    for col in table.columns:
        problem = hm.problem_column(col.name)
        if problem in frame:
            checks.append(
                problem_check(
                    col.name,
                    problem,
                    report_value=reportable(table, col.name),
                    vocabulary=labels(col),
                )
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
    clean = clean if keep.all() else keep_rows(clean, keep)
    return SheetResult(clean, concat_quarantine([skip_q, check_q]), merged_counts(frame, dup))


def clean_sheet(sheet: RawSheet, *, constants: dict[str, object] | None = None) -> SheetResult:
    """Clean one sheet on its own (see :func:`clean_frame`)."""
    return clean_frame(sheet.frame.assign(**(constants or {})), sheet.table, sheet.columns)
