"""Cleaning: raw files -> validated processed tables, quarantine and reconciliation.

Modules by step: :mod:`.base` (the cleaner protocol and the cleaning of one sheet),
:mod:`.harmonise` (one cleaning verb per function), :mod:`.quarantine` (quarantine
and reconciliation), :mod:`.submissions` (service submissions and reference files),
:mod:`.qualitative` (codebook, codings, judgements), :mod:`.context` (public area
statistics) and :mod:`.run` (:func:`clean_all`, which runs them all).
"""

from hubspoke.clean.base import CleanContext, Cleaner, CleanerResult, clean_sheet
from hubspoke.clean.quarantine import RowCheck, SheetLedger, Split, reconcile, split_rows
from hubspoke.clean.run import CleanSummary, clean_all, default_cleaners
from hubspoke.clean.submissions import clean_quantitative

__all__ = [
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
    "default_cleaners",
    "reconcile",
    "split_rows",
]
