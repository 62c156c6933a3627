"""Build small raw folders, good and broken, in a temporary folder (no binaries committed).

:func:`make_raw` writes a minimal valid raw folder (reference files, one CSV
set, one workbook); the ``broken_*`` builders each add one broken file and
return what the cleaner must do with it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path

import openpyxl

from hubspoke.spec.raw import SYNTHETIC_MARKER

SERVICES_HEADER = [
    "service_id",
    "hub_name",
    "phase",
    "start_date",
    "model_variant",
    "n_spokes",
    "la_codes",
    "risk_tool",
    "region",
]
SERVICES_ROWS = [
    [
        "S01",
        "Hub One",
        "1",
        "2014-01-01",
        "Multi-host",
        "3",
        "E06000001;E06000002",
        "SERAF",
        "North East",
    ],
    [
        "S02",
        "Hub Two",
        "2",
        "2015-01-01",
        "Hub outreach",
        "2",
        "E06000003",
        "London Category",
        "London",
    ],
    [
        "S03",
        "Hub Three",
        "3",
        "2016-01-01",
        "Rural dispersed",
        "4",
        "E06000004",
        "Low/Medium/High",
        "South West",
    ],
]
SPOKES_HEADER = ["spoke_id", "service_id", "host_setting", "la_code", "start_year"]
SPOKES_ROWS = [
    ["S01-K1", "S01", "Police", "E06000001", "2014"],
    ["S02-K1", "S02", "Health", "E06000003", "2015"],
]

CASES_HEADER = [
    "case_ref",
    "age",
    "gender",
    "referral_date",
    "risk_at_referral",
    "risk_latest",
    "contacts",
    "closure_date",
    "closure_reason",
]
#: A clean cases row for a SERAF service (S01).
CASE_S01 = ["C001", "14", "F", "2014-03-01", "12", "4", "10", "2014-09-01", "planned"]

ACTIVITIES_HEADER = [
    "activity_date",
    "activity_type",
    "audience_agency",
    "participants",
    "confidence_before",
    "confidence_after",
]
ACTIVITY = ["2015-02-03", "Training", "Police", "12", "4.5", "7.5"]


def csv_text(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    marker: bool = True,
    title: Sequence[str] = (),
) -> str:
    """CSV text: optional synthetic marker line, title lines, header, rows."""
    buf = io.StringIO()
    if marker:
        buf.write(SYNTHETIC_MARKER + "\n")
    for t in title:
        buf.write(t + "\n")
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def write_csv(
    path: Path,
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    encoding: str = "utf-8",
    marker: bool = True,
    title: Sequence[str] = (),
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(csv_text(header, rows, marker=marker, title=title).encode(encoding))
    return path


def write_xlsx(path: Path, sheets: dict[str, list[list[object]]], *, about: bool = True) -> Path:
    """A workbook with the given sheets (rows of cell values, ``None`` for empty)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    if about:
        wb.create_sheet("About").append([SYNTHETIC_MARKER])
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    wb.save(path)
    return path


def make_reference(raw: Path) -> None:
    write_csv(raw / "reference" / "services.csv", SERVICES_HEADER, SERVICES_ROWS)
    write_csv(raw / "reference" / "spokes.csv", SPOKES_HEADER, SPOKES_ROWS)


def make_raw(raw: Path) -> Path:
    """A minimal valid raw folder: reference files, a CSV set for S01 2014, a workbook for S02 2015."""
    make_reference(raw)
    folder = raw / "submissions" / "2014" / "S01_2014"
    write_csv(
        folder / "cases.csv",
        CASES_HEADER,
        [CASE_S01, ["C002", "15 yrs", "girl", "03/04/2014", "17", "8", "5", "", ""]],
    )
    write_csv(folder / "activities.csv", ACTIVITIES_HEADER, [ACTIVITY])
    write_xlsx(
        raw / "submissions" / "2015" / "S02_2015.xlsx",
        {
            "Cases": [
                ["Case list for S02"],
                [],
                [
                    "Case ref",
                    "Age",
                    "Sex",
                    "Date of referral",
                    "Initial risk",
                    "Latest risk",
                    "Sessions",
                ],
                ["K1", 13, "Male", 42036, "cat 2", "Category 1", 4],
                ["K2", "16 years old", "f", "5 Feb 2015", "c3", "cat 3", 2],
                [
                    "Notes: data extracted from the case system on 1 April",
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                ],
            ],
            "Policy": [
                ["la_code", "element", "status"],
                ["E06000003", "strategy", "draft"],
                ["E06000003", "MASE", "embedded in practice"],
            ],
        },
    )
    return raw
