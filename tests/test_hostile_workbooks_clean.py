"""Cleaning around the workbook reader: nothing a submission leaves out is lost silently,
and a Spoke must belong to a known service."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from broken_files import (
    ACTIVITIES_HEADER,
    ACTIVITY,
    CASE_S01,
    CASES_HEADER,
    SPOKES_HEADER,
    SPOKES_ROWS,
    make_reference,
    write_csv,
    write_xlsx,
)
from hubspoke.clean import clean_all
from hubspoke.config import get_settings

S01_BOOK = "submissions/2015/S01_2015.xlsx"


def clean(raw: Path, tmp: Path):
    settings = get_settings().with_paths(key_file=tmp / "keys" / "k.key")
    summary = clean_all(raw, tmp / "out", settings=settings)
    tables = {p.stem: pd.read_parquet(p) for p in (tmp / "out").glob("*.parquet")}
    return summary, tables


def test_a_workbook_missing_sheets_says_which_in_the_ledger_and_warnings(tmp_path):
    raw = tmp_path / "raw"
    make_reference(raw)
    write_xlsx(
        raw / S01_BOOK,
        {"Case list": [CASES_HEADER, CASE_S01], "Activity log": [ACTIVITIES_HEADER, ACTIVITY]},
    )
    summary, t = clean(raw, tmp_path)
    rec = t["reconciliation"]
    book = rec[rec["file"] == S01_BOOK].set_index("table")
    assert sorted(book.index) == ["activities", "cases", "policy", "spoke_survey"]
    for table, sheet in [("policy", "Policy checklist"), ("spoke_survey", "Spoke survey")]:
        line = book.loc[table]
        assert line["sheet"] == sheet and line["rows_in"] == 0
        assert f"no sheet holds the {table} table" in line["message"]
        assert S01_BOOK in line["message"]
        assert any(w == line["message"] for w in summary.warnings), summary.warnings
    assert book.loc["cases", "rows_clean"] == 1 and book.loc["activities", "rows_clean"] == 1
    assert "no sheet holds the policy table" in summary.text()
    assert summary.ok  # a partial return is reported, not a failure


def test_a_failed_sheet_is_not_reported_missing(tmp_path):
    raw = tmp_path / "raw"
    make_reference(raw)
    write_xlsx(
        raw / S01_BOOK,
        {"Policy": [["no", "header", "here"]], "Cases": [CASES_HEADER, CASE_S01]},
    )
    summary, t = clean(raw, tmp_path)
    rec = t["reconciliation"]
    book = rec[rec["file"] == S01_BOOK]
    policy = book[book["table"] == "policy"]
    assert policy["sheet"].tolist() == ["Policy"] and policy["status"].tolist() == ["failed"]
    assert not any("no sheet holds the policy table" in w for w in summary.warnings)


def test_a_csv_submission_missing_tables_warns(tmp_path):
    raw = tmp_path / "raw"
    make_reference(raw)
    write_csv(raw / "submissions/2015/S01_2015/cases.csv", CASES_HEADER, [CASE_S01])
    summary, _ = clean(raw, tmp_path)
    for name in ("activities", "policy", "spoke_survey"):
        assert f"submissions/2015/S01_2015: no {name}.csv; the submission sends no {name} rows" in (
            summary.warnings
        )
    assert not any("no cases.csv" in w for w in summary.warnings)
    assert summary.ok


def test_spokes_of_unknown_services_are_quarantined(tmp_path):
    raw = tmp_path / "raw"
    make_reference(raw)
    write_csv(
        raw / "reference" / "spokes.csv",
        SPOKES_HEADER,
        [*SPOKES_ROWS, ["S77-K2", "S77", "Health", "E06000009", "2016"]],
    )
    summary, t = clean(raw, tmp_path)
    assert t["spokes"]["spoke_id"].tolist() == ["S01-K1", "S02-K1"]
    q = t["quarantine"]
    bad = q[(q["table"] == "spokes") & (q["file"] == "reference/spokes.csv")]
    assert bad[["row", "column", "value"]].values.tolist() == [[5, "service_id", "S77"]]
    assert bad["reason"].tolist() == ["service_id: 'S77' is not in reference/services.csv"]
    line = t["reconciliation"].set_index("file").loc["reference/spokes.csv"]
    assert (line["rows_in"], line["rows_clean"], line["rows_quarantined"]) == (3, 2, 1)
    assert summary.ok


def test_spokes_are_kept_with_a_warning_when_services_cannot_be_read(tmp_path):
    raw = tmp_path / "raw"
    make_reference(raw)
    (raw / "reference" / "services.csv").write_bytes(b"")
    summary, t = clean(raw, tmp_path)
    assert len(t["spokes"]) == len(SPOKES_ROWS)
    assert any("not checked against reference/services.csv" in w for w in summary.warnings)
