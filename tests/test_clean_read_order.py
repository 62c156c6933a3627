"""The submissions cleaner reads workbooks first and CSVs table by table (to clean each table
while the next one's files are read), but what it makes must be that of reading every file in
path order: warnings in file order, and of two rows with one key, the one in the later file
quarantined."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from hubspoke.clean import clean_all

YEAR = Path("submissions") / "2014"


def _csv_rows(path: Path) -> list[list[str]]:
    """The rows of a synthetic CSV below its comment line (header first)."""
    with path.open(newline="", encoding="latin-1") as fh:  # round-trips any bytes
        return [row for row in csv.reader(fh) if row and not row[0].startswith("#")]


def _write_csv(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="latin-1") as fh:  # round-trips any bytes
        csv.writer(fh).writerows(rows)


@pytest.fixture(scope="module")
def mixed(synthetic_raw: Path, tmp_path_factory: pytest.TempPathFactory):
    """The default raw data with, in path order: a workbook with a sheet of no table
    (S02_2014.xlsx), a CSV folder whose cases have a column of no table (S03_2014/) and a
    workbook for the same service-year holding one of those cases with another age
    (S03_2014.xlsx, after the folder in path order; no other sheet)."""
    raw = tmp_path_factory.mktemp("mixed") / "raw"
    shutil.copytree(synthetic_raw, raw)
    book = openpyxl.load_workbook(raw / YEAR / "S02_2014.xlsx")
    book.create_sheet("Scribbles")["A1"] = "nothing to see"
    book.save(raw / YEAR / "S02_2014.xlsx")

    cases = raw / YEAR / "S03_2014" / "cases.csv"
    header, *rows = _csv_rows(cases)
    _write_csv(cases, [[*header, "Colour"], *([*row, "blue"] for row in rows)])
    first = dict(zip(header, rows[0], strict=True))
    other = {**first, "age": "17" if first["age"] != "17" else "16"}
    extra = openpyxl.Workbook()
    sheet = extra.active
    sheet.title = "cases"
    sheet.append(header)
    sheet.append([other[c] for c in header])
    extra.save(raw / YEAR / "S03_2014.xlsx")

    out = tmp_path_factory.mktemp("mixed_out")
    summary = clean_all(raw, out)
    return summary, out


def test_warnings_follow_the_files_path_order(mixed) -> None:
    summary, _ = mixed
    where = {
        "sheet": "submissions/2014/S02_2014.xlsx: sheet 'Scribbles' is not a known table",
        "column": "submissions/2014/S03_2014/cases.csv: column(s) not recognised",
        "missing": "submissions/2014/S03_2014.xlsx: no sheet holds the activities table",
    }
    found = {
        key: [i for i, w in enumerate(summary.warnings) if w.startswith(text)]
        for key, text in where.items()
    }
    assert all(len(hits) == 1 for hits in found.values()), summary.warnings
    assert found["sheet"][0] < found["column"][0] < found["missing"][0], summary.warnings
    files = [w.split(":")[0] for w in summary.warnings if w.startswith("submissions/")]
    assert files == sorted(files, key=lambda f: Path(f).parts), files


def test_the_later_file_s_row_is_quarantined(mixed) -> None:
    summary, out = mixed
    quarantine = summary.quarantine
    later = quarantine[quarantine["reason"].str.contains("as an earlier row", na=False)]
    assert later["file"].tolist() == ["submissions/2014/S03_2014.xlsx"], later
    cases = pd.read_parquet(out / "cases.parquet")
    s03 = cases[(cases["service_id"] == "S03") & (cases["year"] == 2014)]
    assert "submissions/2014/S03_2014.xlsx" not in set(s03["source_file"])
    assert len(s03)
