"""Area context: the public statistics folder -> the processed ``context`` table.

Reads the Explore Education Statistics CSVs found in ``Settings.context_dir``
(``HUBSPOKE_CONTEXT_DIR``; by default the synthetic files under ``data/raw/context``)
with :mod:`hubspoke.io.ees` (each file parsed once) and builds the tidy table of child
sexual exploitation (CSE) assessments per 10,000 children by area and year
(:func:`context_table`). Each file read is a reconciliation line
(every row of a readable file is used: the statistics are aggregates, not records of
people); a folder without the files, or a file that cannot be read, is recorded and
the other tables are still cleaned.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from hubspoke.clean.base import CleanContext, CleanerResult
from hubspoke.clean.quarantine import SheetLedger
from hubspoke.config import context_dir_for
from hubspoke.errors import HubspokeError, RawFileError
from hubspoke.io.ees import (
    CSE_MEASURE,
    POPULATION_MEASURE,
    SYMBOL_SUFFIX,
    find_context_files,
    read_ees_csv,
)

#: Area levels kept in the context table, in display order.
AREA_LEVELS: tuple[str, ...] = ("National", "Regional", "Local authority")
#: Columns of the context table, in order.
CONTEXT_COLUMNS: tuple[str, ...] = (
    "la_code",
    "la_name",
    "region_code",
    "geographic_level",
    "year",
    "cse_assessments",
    "cse_symbol",
    "population",
    "rate_per_10k",
    "note",
)


# ---------------------------------------------------------------------------
# The tidy context table
# ---------------------------------------------------------------------------


def context_table(
    cin: pd.DataFrame, population: pd.DataFrame, *, levels: Sequence[str] = AREA_LEVELS
) -> pd.DataFrame:
    """One row per area and year: CSE assessments, children 0-17 and the rate per 10,000.

    ``cin`` and ``population`` are :func:`read_ees_csv` frames of the DfE
    children-in-need factors (measure ``Child_sexual_exploitation``) and the ONS
    child population (measure ``population_estimate``). Columns: ``la_code``
    (ONS code: ``E92000001`` for England, the region code for a region, the new
    LA code for a local authority), ``la_name``, ``geographic_level`` (National,
    Regional, Local authority - ``levels`` chooses which), ``year``,
    ``cse_assessments`` (missing when suppressed or not available),
    ``region_code`` (the region an area or region is in; none for England),
    ``cse_symbol`` (its symbol then), ``population``, ``rate_per_10k`` (missing
    when either is missing) and ``note`` (why an area-year lacks a count or a
    population, e.g. after a local-government reorganisation).

    Year alignment: the children-in-need year ending 31 March Y is matched to the
    ONS mid-year estimate for Y-1 (30 June Y-1, the middle of that reporting
    year). Only the children-in-need years are kept. An area in one file but not
    the other keeps its row, with the reason in ``note``. National and regional
    counts are rounded to the nearest 10 by the DfE.
    """
    counts = _area_values(cin, CSE_MEASURE, "cse_assessments", levels)
    people = _area_values(population, POPULATION_MEASURE, "population", levels).assign(
        year=lambda d: d["year"] + 1
    )
    people = people[people["year"].isin(counts["year"].unique())]
    merged = counts.merge(people, on=["la_code", "year"], how="outer", suffixes=("", "_pop"))
    return (
        merged.assign(
            la_name=merged["la_name"].fillna(merged["la_name_pop"]),
            region_code=merged["region_code"].fillna(merged["region_code_pop"]),
            geographic_level=merged["geographic_level"].fillna(merged["geographic_level_pop"]),
            cse_symbol=merged["cse_assessments_symbol"],
            rate_per_10k=(merged["cse_assessments"] * 10_000 / merged["population"]).astype(
                "Float64"
            ),
            note=_notes(merged),
        )
        .assign(
            rate_per_10k=lambda d: d["rate_per_10k"].where(d["population"].gt(0)),
            level_order=lambda d: d["geographic_level"].map({lv: i for i, lv in enumerate(levels)}),
        )
        .sort_values(["level_order", "la_code", "year"], kind="mergesort")
        .loc[:, list(CONTEXT_COLUMNS)]
        .astype({"year": "int64", "cse_assessments": "Int64", "population": "Int64"})
        .reset_index(drop=True)
    )


def _area_values(
    frame: pd.DataFrame, measure: str, name: str, levels: Sequence[str]
) -> pd.DataFrame:
    """la_code, la_name, region_code, geographic_level, year, the measure as ``name`` and
    ``<name>_symbol`` (``region_code``: an area's region, so it is compared with its own)."""
    source = frame.attrs.get("source")
    needed = [
        "year",
        "geographic_level",
        "country_code",
        "region_code",
        "new_la_code",
        "la_name",
        measure,
    ]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise RawFileError(
            f"cannot build the context table: column(s) {', '.join(missing)} missing",
            file=source,
            allowed=needed,
            found=list(frame.columns[:12]),
        )
    level = frame["geographic_level"]
    code = (
        frame["new_la_code"]
        .where(level.eq("Local authority"))
        .fillna(frame["region_code"].where(level.eq("Regional")))
        .fillna(frame["country_code"].where(level.eq("National")))
    )
    blank = pd.Series(pd.NA, index=frame.index, dtype="str")
    area_name = (
        frame["la_name"]
        .fillna(frame.get("region_name", blank).where(level.eq("Regional")))
        .fillna(frame.get("country_name", blank).where(level.eq("National")))
    )
    symbol = frame.get(measure + SYMBOL_SUFFIX, blank)
    out = pd.DataFrame(
        {
            "la_code": code.astype("str"),
            "la_name": area_name.astype("str"),
            "region_code": frame["region_code"]
            .where(level.isin(["Regional", "Local authority"]))
            .astype("str"),
            "geographic_level": level.astype("str"),
            "year": frame["year"].astype("int64"),
            name: frame[measure].astype("Float64").round().astype("Int64"),
            f"{name}_symbol": symbol.astype("str"),
        }
    )[level.isin(list(levels)) & code.notna()]
    _check_unique(out, source)
    return out


def _check_unique(frame: pd.DataFrame, source: str | None) -> None:
    """One row per area and year, or a RawFileError naming the first repeat."""
    dupes = frame[frame.duplicated(["la_code", "year"], keep=False)]
    if len(dupes):
        first = dupes.iloc[0]
        raise RawFileError(
            "more than one row for an area and year (filter the file to one category or age group)",
            file=source,
            found=f"{first['la_code']} {first['year']}",
        )


def _notes(merged: pd.DataFrame) -> pd.Series:
    """Why an area-year lacks a count or a population (missing where nothing is lacking)."""
    mid = (merged["year"] - 1).astype("str")
    no_cin = merged["cse_assessments_symbol"].isna() & merged["cse_assessments"].isna()
    no_pop_row = merged["population_symbol"].isna() & merged["population"].isna()
    pop_symbol = merged["population_symbol"].fillna("")
    notes = pd.Series(pd.NA, index=merged.index, dtype="str")
    notes = notes.mask(
        merged["population"].isna(), "population not available (" + pop_symbol + ") for mid-" + mid
    )
    notes = notes.mask(no_pop_row, "no population estimate for this area for mid-" + mid)
    notes = notes.mask(no_cin, "area not in the children-in-need file for this year")
    return notes


def load_context(context_dir: Path | str) -> pd.DataFrame:
    """The context table from the children-in-need and population files in ``context_dir``.

    The files are recognised by their columns, not their names (the real and the
    synthetic files are named differently): the CSV with ``Child_sexual_exploitation``
    is the children-in-need file and the one with ``population_estimate`` the
    population file. ``attrs`` records both paths and whether either is synthetic.
    Raises :class:`~hubspoke.errors.ConfigError` when the folder is missing or
    holds none, or more than one, of either.
    """
    files = find_context_files(context_dir)
    return context_from_frames(files, {name: read_ees_csv(path) for name, path in files.items()})


def context_from_frames(files: dict[str, Path], frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The context table from files already read (``{"cin": frame, "population": frame}``).

    For callers that also need the frames themselves (the cleaner counts their
    rows), so that each file is parsed once.
    """
    cin, population = frames["cin"], frames["population"]
    table = context_table(cin, population)
    table.attrs = {
        "cin_file": str(files["cin"]),
        "population_file": str(files["population"]),
        "synthetic": bool(cin.attrs["synthetic"] or population.attrs["synthetic"]),
    }
    return table


def _name(path: Path, raw_dir: Path) -> str:
    """A file's name relative to the raw folder when inside it, else its full path."""
    try:
        return path.resolve().relative_to(raw_dir.resolve()).as_posix()
    except ValueError:
        return str(path)


def clean_context(ctx: CleanContext) -> CleanerResult:
    """The context cleaner (one of :func:`hubspoke.clean.run.default_cleaners`)."""
    result = CleanerResult()
    folder = context_dir_for(ctx.raw_dir)
    if not Path(folder).is_dir():
        result.warnings.append(
            f"no local-context folder at {folder}: the context table is not built"
        )
        return result
    try:
        files = find_context_files(folder)
        frames = {name: read_ees_csv(path) for name, path in files.items()}
        table = context_from_frames(files, frames)
    except HubspokeError as exc:
        name = exc.file or str(folder)
        result.ledgers.append(
            SheetLedger(
                _name(Path(name), ctx.raw_dir), "", "context", status="failed", message=str(exc)
            )
        )
        return result
    for name, path in sorted(files.items(), key=lambda item: item[1]):
        rows = len(frames[name])
        result.ledgers.append(
            SheetLedger(_name(path, ctx.raw_dir), "", "context", rows_in=rows, rows_clean=rows)
        )
    result.tables["context"] = table
    return result
