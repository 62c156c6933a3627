"""A corpus of hand-made broken raw files, each with its exact expected outcome.

Every case builds one file (next to valid reference files) in a temporary raw
folder, cleans the folder and checks: the file's status and message, which
rows are clean, which are quarantined with which column and reason, how many
duplicates were merged, and that the reconciliation balances.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pytest

from broken_files import (
    ACTIVITIES_HEADER,
    ACTIVITY,
    CASES_HEADER,
    DATE_STYLES,
    SPOKES_HEADER,
    SPOKES_ROWS,
    make_reference,
    row_xml,
    write_csv,
    write_hand_xlsx,
    write_xlsx,
)
from hubspoke.clean import clean_all
from hubspoke.config import get_settings
from hubspoke.spec.raw import SYNTHETIC_MARKER

S01 = "submissions/2015/S01_2015"  # SERAF
S02 = "submissions/2015/S02_2015"  # London Category
S03 = "submissions/2015/S03_2015"  # Low/Medium/High


@dataclass
class Case:
    """One broken file and what cleaning must make of it."""

    id: str
    build: Callable[[Path], str]  # writes the file, returns its relative path
    status: str = "ok"
    message: str = ""
    clean_rows: list[int] = field(default_factory=list)
    quarantined: set[tuple[int, str, str]] = field(
        default_factory=set
    )  # (row, column, words in reason)
    merged: int = 0
    sheet: str = ""
    check: Callable[[dict[str, pd.DataFrame]], None] | None = None


def cases_csv(
    rows: list[list[str]], folder: str = S01, header: list[str] = CASES_HEADER, **kw
) -> Callable[[Path], str]:
    def build(raw: Path) -> str:
        rel = f"{folder}/cases.csv"
        write_csv(raw / rel, header, rows, **kw)
        return rel

    return build


def raw_bytes(rel: str, data: bytes) -> Callable[[Path], str]:
    def build(raw: Path) -> str:
        (raw / rel).parent.mkdir(parents=True, exist_ok=True)
        (raw / rel).write_bytes(data)
        return rel

    return build


def row(
    case_ref="C1",
    age="14",
    gender="F",
    referral="2015-03-01",
    risk0="12",
    risk1="4",
    contacts="3",
    closure="",
    reason="",
) -> list[str]:
    return [case_ref, age, gender, referral, risk0, risk1, contacts, closure, reason]


def one_col(
    column: str, values: list[str], folder: str = S01, **fixed: str
) -> Callable[[Path], str]:
    """A cases.csv whose rows differ only in ``column`` (other columns valid)."""
    index = CASES_HEADER.index(column)
    rows = []
    for i, v in enumerate(values):
        r = row(case_ref=f"C{i}", **fixed)
        r[index] = v
        rows.append(r)
    return cases_csv(rows, folder)


def workbook(
    rel: str, sheets: dict[str, list[list[object]]], about: bool = True
) -> Callable[[Path], str]:
    def build(raw: Path) -> str:
        write_xlsx(raw / rel, sheets, about=about)
        return rel

    return build


def values(column: str, t: dict[str, pd.DataFrame], table: str = "cases") -> list:
    return t[table].sort_values("source_row")[column].tolist()


CORPUS: list[Case] = [
    # --- files that cannot be read at all -------------------------------------------------------
    Case("empty-csv", raw_bytes(f"{S01}/cases.csv", b""), "failed", "the file is empty"),
    Case(
        "whitespace-csv", raw_bytes(f"{S01}/cases.csv", b"  \n\r\n"), "failed", "the file is empty"
    ),
    Case(
        "marker-only-csv",
        raw_bytes(f"{S01}/cases.csv", (SYNTHETIC_MARKER + "\n").encode()),
        "failed",
        "no header row with the cases columns",
    ),
    Case(
        "binary-junk-xlsx",
        raw_bytes(f"{S01}.xlsx", bytes(range(256)) * 20),
        "failed",
        "not a readable .xlsx workbook",
    ),
    Case("empty-xlsx", raw_bytes(f"{S01}.xlsx", b""), "failed", "the file is empty"),
    Case(
        "csv-named-xlsx",
        raw_bytes(f"{S01}.xlsx", b"case_ref,age\nC1,14\n"),
        "failed",
        "not a readable .xlsx workbook",
    ),
    Case(
        "zip-not-workbook",
        raw_bytes(f"{S01}.xlsx", b"PK\x03\x04" + b"\x00" * 100),
        "failed",
        "not a readable .xlsx",
    ),
    Case(
        "binary-named-csv",
        raw_bytes(f"{S01}/cases.csv", b"\x00\x01\x02junk\x00"),
        "failed",
        "binary, not a text CSV",
    ),
    Case(
        "no-known-sheet",
        workbook(f"{S01}.xlsx", {"Sheet1": [["a", "b"], [1, 2]]}),
        "failed",
        "no sheet is a known table",
    ),
    Case(
        "wrong-table-csv",
        cases_csv([ACTIVITY], header=ACTIVITIES_HEADER),
        "failed",
        "holds the activities table, not cases",
    ),
    Case(
        "wrong-table-sheet",
        workbook(
            f"{S01}.xlsx", {"Cases": [["la_code", "element", "status"], ["E1", "MASE", "draft"]]}
        ),
        "failed",
        "holds the policy table, not cases",
        sheet="Cases",
    ),
    Case(
        "required-column-missing",
        cases_csv([["C1", "14"]], header=["case_ref", "age"]),
        "failed",
        "required column(s) missing from the cases table: referral_date",
    ),
    Case(
        "unknown-submission-name",
        raw_bytes("submissions/2015/Hub_one_2015.xlsx", b"x"),
        "failed",
        "unknown submission name 'Hub_one_2015'",
    ),
    Case(
        "unknown-table-csv",
        raw_bytes(f"{S01}/casework.csv", b"a\n1\n"),
        "failed",
        "unknown table name 'casework'",
    ),
    Case(
        "wrong-year-folder",
        raw_bytes("submissions/2014/S01_2015.xlsx", b"x"),
        "failed",
        "submission for 2015 is in the folder '2014'",
    ),
    Case(
        "not-a-submission-file",
        raw_bytes(f"{S01}/cases.txt", b"x"),
        "failed",
        "expected .xlsx or .csv",
    ),
    # --- readable files -----------------------------------------------------------------------
    Case("only-headers", cases_csv([])),
    Case(
        "dates-every-format",
        one_col(
            "referral_date",
            ["2015-02-03", "03/02/2015", "3 Feb 2015", "03.02.15", "42038", "3 February 2015"],
        ),
        clean_rows=[3, 4, 5, 6, 7, 8],
        check=lambda t: (
            (values("referral_date", t) == [pd.Timestamp("2015-02-03")] * 6) or pytest.fail("dates")
        ),
    ),
    Case(
        "dates-malformed",
        one_col(
            "referral_date",
            ["31/02/2015", "yesterday", "5", "2015-13-01", "1 Foo 2015", "01/01/1900", ""],
        ),
        quarantined={
            (3, "referral_date", "not a date"),
            (4, "referral_date", "not a date"),
            (5, "referral_date", "not a date"),
            (6, "referral_date", "not a date"),
            (7, "referral_date", "not a date"),
            (8, "referral_date", "outside the plausible years"),
            (9, "referral_date", "required value missing"),
        },
    ),
    Case(
        "ages",
        one_col(
            "age", ["14 yrs", "15 years old", "12", "16y", "fourteen", "14.5", "34", "-1", "n/k"]
        ),
        clean_rows=[3, 4, 5, 6],
        quarantined={
            (7, "age", "not an age"),
            (8, "age", "not an age"),
            (9, "age", "outside the allowed range 8-25"),
            (10, "age", "not an age"),
            (11, "age", "required value missing"),
        },
        check=lambda t: values("age", t) == [14, 15, 12, 16] or pytest.fail("ages"),
    ),
    Case(
        "ints",
        one_col("contacts", ["0", "300", "abc", "3.5", "-2", "301", "1,2", "-"]),
        clean_rows=[3, 4, 10],
        quarantined={
            (5, "contacts", "not a whole number"),
            (6, "contacts", "not a whole number"),
            (7, "contacts", "outside the allowed range 0-300"),
            (8, "contacts", "outside the allowed range 0-300"),
            (9, "contacts", "not a whole number"),
        },
    ),
    Case(
        "floats",
        raw_bytes(
            f"{S01}/activities.csv",
            (
                b"activity_date,activity_type,participants,confidence_before,confidence_after\n"
                b'2015-02-03,Training,5,4.5,7\n2015-02-04,Training,5,"7,5",8\n2015-02-05,Training,5,0.5,8\n'
                b"2015-02-06,Training,5,n/a,n/a\n2015-02-07,Training,5,abc,8\n"
            ),
        ),
        clean_rows=[2, 5],
        quarantined={
            (3, "confidence_before", "not a number"),
            (4, "confidence_before", "outside the allowed range 1-10"),
            (6, "confidence_before", "not a number"),
        },
        check=lambda t: (
            values("confidence_change", t, "activities")[0] == 2.5 or pytest.fail("change")
        ),
    ),
    Case(
        "categories",
        one_col("gender", ["FEMALE ", "boy", "n/k", "Grl", "nb", "Unknown"]),
        clean_rows=[3, 4, 5, 7, 8],
        quarantined={(6, "gender", "'Grl' is not a known value")},
        check=lambda t: values("gender", t)[:2] == ["Female", "Male"] or pytest.fail("gender"),
    ),
    Case(
        "risk-seraf",
        one_col("risk_at_referral", ["0", "30", "n/k", "31", "-1", "High", "12.5", "16"]),
        clean_rows=[3, 4, 5, 10],
        quarantined={
            (6, "risk_at_referral", "outside the allowed range 0-30"),
            (7, "risk_at_referral", "outside the allowed range 0-30"),
            (8, "risk_at_referral", "not a SERAF score"),
            (9, "risk_at_referral", "not a SERAF score"),
        },
        check=lambda t: (
            [None if pd.isna(v) else v for v in values("risk_at_referral", t)]
            == ["Not at risk", "High", None, "High"]
            or pytest.fail(str(values("risk_at_referral", t)))
        ),
    ),
    Case(
        "risk-london",
        one_col(
            "risk_at_referral",
            ["C1", "none", "cat 4", "Low", "Category 3"],
            folder=S02,
            risk1="cat1",
        ),
        clean_rows=[3, 4, 7],
        quarantined={
            (5, "risk_at_referral", "not a London Category value"),
            (6, "risk_at_referral", "not a London Category value"),
        },
        check=lambda t: (
            values("risk_at_referral_raw", t) == ["Category 1", "No category", "Category 3"]
            or pytest.fail("london")
        ),
    ),
    Case(
        "risk-lmh",
        one_col("risk_at_referral", ["med", "nil", "Very high", "2", "H"], folder=S03, risk1="low"),
        clean_rows=[3, 4, 7],
        quarantined={
            (5, "risk_at_referral", "not a Low/Medium/High value"),
            (6, "risk_at_referral", "not a Low/Medium/High value"),
        },
        check=lambda t: (
            values("risk_change", t) == [-1, 1, -2] or pytest.fail(str(values("risk_change", t)))
        ),
    ),
    Case(
        "cp1252",
        cases_csv(
            [[*row()[:-1], ""]], header=[*CASES_HEADER[:-1], "referred by"], encoding="cp1252"
        ),
        clean_rows=[3],
    ),
    Case(
        "cp1252-curly-apostrophe",
        raw_bytes(
            f"{S01}/cases.csv",
            (
                "case_ref,age,referral_date,referral_source\nC1,14,2015-03-01,Children\u2019s social care\n"
            ).encode("cp1252"),
        ),
        clean_rows=[2],
        check=lambda t: (
            values("referral_source", t) == ["Children's social care"] or pytest.fail("cp")
        ),
    ),
    Case(
        "bom-and-header-offset",
        raw_bytes(
            f"{S01}/cases.csv",
            (
                "\ufeffCases return 2015\n\nService S01,,\nCase ref,Age,Date of referral\nC1,14,2015-03-01\n"
            ).encode(),
        ),
        clean_rows=[5],
    ),
    Case(
        "mixed-encoding",
        raw_bytes(
            f"{S01}/cases.csv",
            b"case_ref,age,referral_date,referral_source\nC1,14,2015-03-01,Police\n"
            + "C2,15,2015-03-02,Caf\u00e9\n".encode("cp1252")
            + "C3,15,2015-03-02,Caf\u00e9\n".encode(),
        ),
        clean_rows=[2],
        quarantined={
            (3, "referral_source", "is not a known value"),
            (4, "referral_source", "is not a known value"),
        },
    ),
    Case(
        "notes-and-blank-rows",
        cases_csv(
            [
                row("C1"),
                ["", "", "", "", "", "", "", "", ""],
                row("C2"),
                ["Data checked by the Hub manager", "", "", "", "", "", "", "", ""],
                ["# exported 2015-04-01", "", "", "", "", "", "", "", ""],
            ]
        ),
        clean_rows=[3, 5],
        quarantined={(4, "", "blank row"), (6, "", "notes row"), (7, "", "notes row")},
    ),
    Case(
        "duplicates",
        cases_csv([row("C1"), row("C1"), row("C2"), row("C2", age="15"), row("C1")]),
        clean_rows=[3, 5],
        merged=2,
        quarantined={(6, "case_ref", "same service_id and year and young_person_id")},
    ),
    Case(
        "date-order",
        one_col("closure_date", ["2015-02-01", "2015-04-01"], reason="planned"),
        clean_rows=[4],
        quarantined={(3, "closure_date", "is before the referral date 2015-03-01")},
    ),
    Case(
        "required-value-missing",
        cases_csv([row(""), row("n/k"), row("C3")]),
        clean_rows=[5],
        quarantined={
            (3, "case_ref", "case_ref: required value missing"),
            (4, "case_ref", "case_ref: required value missing"),
        },
    ),
    Case(
        "xlsx-header-offset-and-notes",
        workbook(
            f"{S01}.xlsx",
            {
                "Case list": [
                    ["S01 return"],
                    [None],
                    [None],
                    ["Ref", "Age (years)", "Ref date", "Whatever"],
                    ["C1", 14, 42064, "x"],
                    [None],
                    ["Note: two cases moved", None, None, None],
                ]
            },
        ),
        clean_rows=[5],
        quarantined={(6, "", "blank row"), (7, "", "notes row")},
        sheet="Case list",
        check=lambda t: (
            values("referral_date", t) == [pd.Timestamp("2015-03-01")] or pytest.fail("serial")
        ),
    ),
    Case(
        "identifiers-dropped",
        cases_csv(
            [["C1", "Amy Example", "2001-01-01", "ZZ1 1ZZ", "14", "2015-03-01"]],
            header=["case_ref", "name", "dob", "postcode", "age", "referral_date"],
        ),
        clean_rows=[3],
        check=lambda t: (
            not {"young_person_name", "date_of_birth", "postcode"} & set(t["cases"])
            or pytest.fail("ids")
        ),
    ),
    Case(
        "policy-labels-and-key",
        raw_bytes(
            f"{S01}/policy.csv",
            b"la_code,element,status\nE1,strategy,draft\nE1,MASE,Amber\nE1,local cse strategy,done\n",
        ),
        clean_rows=[2],
        quarantined={
            # "Amber" could be a first name: quarantine masks it, also in the reason.
            (3, "status", "[masked: 5 characters] is not a known value"),
            (4, "element", "same service_id and year and la_code and element as an earlier row"),
        },
    ),
    Case(
        "duplicate-header-column",
        cases_csv(
            [["C1", "14", "15", "2015-03-01"]],
            header=["case_ref", "age", "yp age", "referral_date"],
        ),
        clean_rows=[3],
        check=lambda t: values("age", t) == [14] or pytest.fail("first age column wins"),
    ),
    Case(
        "spoke-survey-scales",
        raw_bytes(
            f"{S01}/spoke_survey.csv",
            b"Worker ID,Supervision,System access,Isolation,Confidence in role,Intention to stay\n"
            b"S01-K1,every 2 weeks,read only,a lot,4,maybe\nS01-K2,daily,full,never,6,yes\n",
        ),
        clean_rows=[2],
        quarantined={
            (3, "supervision_frequency", "'daily' is not a known value"),
            (3, "confidence", "outside the allowed range 1-5"),
        },
        check=lambda t: (
            values("supervision_frequency", t, "spoke_survey") == ["Fortnightly"]
            or pytest.fail("supervision")
        ),
    ),
    # --- added with the calamine reader, the reference check and UTF-16 CSVs -------------------
    Case(
        "spoke-of-unknown-service",
        lambda raw: (
            write_csv(
                raw / "reference" / "spokes.csv",
                SPOKES_HEADER,
                [*SPOKES_ROWS, ["S99-K1", "S99", "Police", "E06000009", "2015"]],
            )
            and "reference/spokes.csv"
        ),
        clean_rows=[3, 4],
        quarantined={(5, "service_id", "service_id: 'S99' is not in reference/services.csv")},
    ),
    Case(
        "utf16-tab-separated-csv",
        raw_bytes(
            f"{S01}/cases.csv",
            b"\xff\xfe"
            + (
                f"{SYNTHETIC_MARKER}\r\ncase_ref\tage\treferral_date\tgender\r\n"
                "C1\t14\t2015-03-01\tgirl\r\nC2\tn/k\t2015-03-02\tF\r\n"
            ).encode("utf-16-le"),
        ),
        clean_rows=[3],
        quarantined={(4, "age", "age: required value missing")},
    ),
    Case(
        "workbook-without-an-activities-sheet",
        workbook(f"{S01}.xlsx", {"Cases": [CASES_HEADER, row("C1")]}),
        message="no sheet holds the activities table",
        sheet="Activities",
    ),
    Case(
        "xlsx-cell-in-row-99999999",
        lambda raw: (
            write_hand_xlsx(
                raw / f"{S01}.xlsx",
                {
                    "Cases": row_xml(1, ["case_ref", "age", "referral_date"])
                    + '<row r="99999999"><c r="A99999999"><v>1</v></c></row>'
                },
            )
            and f"{S01}.xlsx"
        ),
        "failed",
        "the sheet is too big to read: it has a cell in row 99999999",
        sheet="Cases",
    ),
    Case(
        "xlsx-1904-dates",
        lambda raw: (
            write_hand_xlsx(
                raw / f"{S01}.xlsx",
                {
                    "Cases": row_xml(1, ["case_ref", "age", "referral_date"])
                    + '<row r="2"><c r="A2" t="inlineStr"><is><t>C1</t></is></c>'
                    + '<c r="B2"><v>14</v></c><c r="C2" s="1"><v>40602</v></c></row>'
                },
                workbook_pr='<workbookPr date1904="1"/>',
                styles=DATE_STYLES,
            )
            and f"{S01}.xlsx"
        ),
        clean_rows=[2],
        sheet="Cases",
        check=lambda t: (
            values("referral_date", t) == [pd.Timestamp("2015-03-01")] or pytest.fail("1904")
        ),
    ),
]


def _outcome(raw: Path, tmp: Path):
    settings = get_settings().with_paths(key_file=tmp / "keys" / "k.key")
    summary = clean_all(raw, tmp / "out", settings=settings)
    tables = {p.stem: pd.read_parquet(p) for p in (tmp / "out").glob("*.parquet")}
    return summary, tables


@pytest.mark.parametrize("case", CORPUS, ids=[c.id for c in CORPUS])
def test_broken_file(case: Case, tmp_path):
    raw = tmp_path / "raw"
    make_reference(raw)
    rel = case.build(raw)
    summary, t = _outcome(raw, tmp_path)
    assert "Traceback" not in summary.text()
    rec = t["reconciliation"]
    assert (
        rec["rows_in"]
        == rec["rows_clean"] + rec["rows_quarantined"] + rec["rows_merged_duplicates"]
    ).all()
    mine = rec[rec["file"] == rel]
    if case.sheet:
        mine = mine[mine["sheet"] == case.sheet]
    assert len(mine) == 1, rec
    line = mine.iloc[0]
    assert line["status"] == case.status, line["message"]
    assert case.message in line["message"]
    # other files are still cleaned
    assert rec[rec["file"].str.startswith("reference/")]["status"].eq("ok").all()
    if case.status == "failed":
        assert rel in line["message"] and summary.ok is False
        return
    table = line["table"]
    clean = t[table][(t[table]["source_file"] == rel)]
    assert sorted(clean["source_row"]) == case.clean_rows
    q = t["quarantine"][t["quarantine"]["file"] == rel]
    got = {
        (int(r), c, reason)
        for r, c, reason in q[["row", "column", "reason"]].itertuples(index=False)
    }
    assert len(got) == len(case.quarantined), sorted(got)
    for want_row, want_col, words in case.quarantined:
        hits = [g for g in got if g[0] == want_row and g[1] == want_col and words in g[2]]
        assert hits, f"row {want_row} {want_col!r} '{words}' not in {sorted(got)}"
    assert line["rows_merged_duplicates"] == case.merged
    assert (
        line["rows_in"]
        == len(case.clean_rows) + len({r for r, _, _ in case.quarantined}) + case.merged
    )
    if case.check:
        case.check(t)


def test_corpus_is_big_enough():
    assert len(CORPUS) >= 25


def test_a_failed_workbook_sheet_does_not_stop_its_other_sheets(tmp_path):
    raw = tmp_path / "raw"
    make_reference(raw)
    write_xlsx(
        raw / f"{S01}.xlsx",
        {
            "Cases": [["la_code", "element", "status"]],
            "Policy": [["la_code", "element", "status"], ["E1", "MASE", "draft"]],
        },
    )
    summary, t = _outcome(raw, tmp_path)
    rec = t["reconciliation"].set_index("sheet")
    assert rec.loc["Cases", "status"] == "failed" and rec.loc["Policy", "status"] == "ok"
    assert len(t["policy"]) == 1 and not summary.ok


def test_unmatched_column_is_reported_by_name(tmp_path):
    raw = tmp_path / "raw"
    make_reference(raw)
    write_csv(raw / S01 / "cases.csv", [*CASES_HEADER, "Shoe size"], [[*row(), "5"]])
    summary, t = _outcome(raw, tmp_path)
    assert summary.ok
    rec = t["reconciliation"].set_index("file")
    assert rec.loc[f"{S01}/cases.csv", "unmatched_columns"] == "Shoe size"
    assert "Shoe size" in summary.text()


@pytest.mark.slow
def test_hundred_thousand_rows(tmp_path):
    raw = tmp_path / "raw"
    make_reference(raw)
    n = 100_000
    rows = [
        row(f"C{i:06d}", age=str(10 + i % 8), referral=f"2015-{1 + i % 12:02d}-{1 + i % 28:02d}")
        for i in range(n)
    ]
    rows[500][1] = "99"
    write_csv(raw / S01 / "cases.csv", CASES_HEADER, rows)
    start = time.perf_counter()
    summary, t = _outcome(raw, tmp_path)
    elapsed = time.perf_counter() - start
    assert summary.ok
    assert len(t["cases"]) == n - 1
    assert t["quarantine"]["row"].tolist() == [503]
    assert elapsed < 30, f"100,000 rows took {elapsed:.1f} s"
