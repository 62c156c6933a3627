"""Cleaning: raw files -> validated processed tables, quarantine and reconciliation.

Modules by step: :mod:`.harmonise` (one cleaning verb per function),
:mod:`.quarantine` (generic quarantine and reconciliation, reused by the
qualitative cleaning), :mod:`.io` (atomic parquet writes) and :mod:`.pipeline`
(the quantitative cleaner and :func:`clean_all`).
"""

from hubspoke.clean.quarantine import RowCheck, SheetLedger, Split, reconcile, split_rows
from hubspoke.clean.run import (
    DEFAULT_CLEANERS,
    CleanContext,
    Cleaner,
    CleanerResult,
    CleanSummary,
    clean_all,
    clean_quantitative,
    clean_sheet,
)

__all__ = [
    "DEFAULT_CLEANERS",
    "CleanContext",
    "CleanSummary",
    "Cleaner",
    "CleanerResult",
    "RowCheck",
    "SheetLedger",
    "Split",
    "clean_all",
    "clean_quantitative",
    "clean_sheet",
    "reconcile",
    "split_rows",
]
