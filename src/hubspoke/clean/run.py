"""The cleaning driver: run every cleaner, validate, reconcile, write.

:func:`clean_all` runs the cleaners of :func:`default_cleaners` in order (each
sees the tables the earlier ones produced, in :attr:`CleanContext.tables`),
validates every table against :mod:`hubspoke.spec.processed`, builds the quarantine
and reconciliation tables and writes everything atomically. A cleaner is any
``Callable[[CleanContext], CleanerResult]``; pass ``cleaners=`` to run others.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from hubspoke.clean.base import CleanContext, Cleaner, CleanerResult
from hubspoke.clean.context import clean_context
from hubspoke.clean.qualitative import clean_qualitative
from hubspoke.clean.quarantine import (
    concat_quarantine,
    reconcile,
)
from hubspoke.clean.submissions import clean_quantitative
from hubspoke.config import Settings, get_settings
from hubspoke.errors import HubspokeError
from hubspoke.io.parquet import write_parquet_atomic
from hubspoke.spec.processed import SCHEMAS, validate

#: Threads writing the parquet files.
WRITE_THREADS = 2


def default_cleaners() -> list[Cleaner]:
    """Every cleaner :func:`clean_all` runs, in order: submissions, qualitative data, area context.

    Each sees the tables the earlier ones produced (``CleanContext.tables``).
    """
    return [clean_quantitative, clean_qualitative, clean_context]


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
