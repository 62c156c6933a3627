"""Data quality of a cleaning run: what was read, what was kept, what was set aside and why.

Summaries of the ``reconciliation`` and ``quarantine`` tables that ``hubspoke clean``
writes, for the coding-and-data-quality report. Counts here are counts of raw rows
(for cases, of young people's records), so reports pass them through disclosure control.
"""

from __future__ import annotations

import re

import pandas as pd

#: Kinds of problem, matched in order against a quarantine reason (first match wins).
PROBLEM_KINDS: tuple[tuple[str, str], ...] = (
    ("blank row", r"^blank row$"),
    ("notes row", r"^notes row$"),
    ("date that cannot be read", r"is not a date"),
    ("closure before referral", r"before the referral date"),
    ("value outside its range", r"outside the allowed range"),
    ("unknown label", r"is not a known value"),
    ("missing required value", r"(required|is missing|must not be blank)"),
    ("duplicate key", r"duplicate"),
)
OTHER_PROBLEM = "other problem"


def problem_kind(reason: str) -> str:
    """The kind of problem a quarantine reason describes (see :data:`PROBLEM_KINDS`)."""
    text = str(reason)
    return next(
        (kind for kind, pattern in PROBLEM_KINDS if re.search(pattern, text, re.I)), OTHER_PROBLEM
    )


def reconciliation_summary(reconciliation: pd.DataFrame) -> pd.DataFrame:
    """Per table: files, rows in, clean, quarantined, merged duplicates, and whether the counts add up."""
    out = (
        reconciliation.assign(failed=reconciliation["status"].astype(str).eq("failed"))
        .groupby("table", observed=True)
        .agg(
            files=("file", "nunique"),
            failed_files=("failed", "sum"),
            rows_in=("rows_in", "sum"),
            rows_clean=("rows_clean", "sum"),
            rows_quarantined=("rows_quarantined", "sum"),
            rows_merged_duplicates=("rows_merged_duplicates", "sum"),
        )
        .assign(
            reconciles=lambda d: (
                d["rows_in"]
                == d["rows_clean"] + d["rows_quarantined"] + d["rows_merged_duplicates"]
            ).map({True: "yes", False: "NO"})
        )
    )
    out.index = out.index.astype(str).rename("Table")
    return out


def quarantine_summary(quarantine: pd.DataFrame) -> pd.DataFrame:
    """Rows set aside, by table and kind of problem (a row with several problems counts once per kind)."""
    if quarantine.empty:
        return pd.DataFrame(
            columns=["rows"], index=pd.MultiIndex.from_tuples([], names=["Table", "Problem"])
        )
    return (
        quarantine.assign(problem=quarantine["reason"].map(problem_kind))
        .drop_duplicates(["table", "file", "sheet", "row", "problem"])
        .groupby(["table", "problem"], observed=True)
        .size()
        .rename("rows")
        .to_frame()
        .rename_axis(["Table", "Problem"])
    )


def failed_files(reconciliation: pd.DataFrame) -> pd.DataFrame:
    """Raw files that could not be read at all, with the error (no counts of people)."""
    failed = reconciliation[reconciliation["status"].astype(str).eq("failed")]
    return failed.loc[:, ["file", "message"]].rename(
        columns={"file": "File", "message": "Why it failed"}
    )
