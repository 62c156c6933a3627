"""Readers: encodings, comment lines, header offset, aliases, workbooks, provenance."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest

from broken_files import ACTIVITIES_HEADER, ACTIVITY, write_csv, write_xlsx
from hubspoke.errors import RawFileError
from hubspoke.io.tabular import cell_text, find_header, read_csv_table, read_xlsx, sheet_table
from hubspoke.spec import raw as rs
from hubspoke.spec.raw import SYNTHETIC_MARKER


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_csv_encodings_read_the_same(tmp_path, encoding):
    path = write_csv(
        tmp_path / "activities.csv",
        ACTIVITIES_HEADER,
        [[*ACTIVITY[:2], "Children’s social care", *ACTIVITY[3:]]],
        encoding=encoding,
    )
    sheet = read_csv_table(path, tmp_path, rs.ACTIVITIES)
    assert sheet.frame.loc[0, "audience_agency"] == "Children’s social care"
    assert sheet.frame.loc[0, "activity_date"] == "2015-02-03"


def test_csv_rows_are_physical_lines_after_comments_and_titles(tmp_path):
    path = write_csv(
        tmp_path / "activities.csv",
        ACTIVITIES_HEADER,
        [ACTIVITY, [], ACTIVITY],
        title=["Activity log 2015", ""],
    )
    sheet = read_csv_table(path, tmp_path, rs.ACTIVITIES)
    # line 1 marker, 2 title, 3 blank, 4 header, 5.. data
    assert sheet.header_row == 4
    assert sheet.frame["_row"].tolist() == [5, 6, 7]
    assert sheet.frame["_file"].unique().tolist() == ["activities.csv"]
    assert sheet.frame["_sheet"].unique().tolist() == [""]


def test_csv_aliases_and_unmatched_columns(tmp_path):
    header = ["Session date", "Type of activity", "Attendees", "Agency", "Favourite colour"]
    path = write_csv(
        tmp_path / "activities.csv", header, [["03/02/2015", "trng", "5", "CSC", "blue"]]
    )
    sheet = read_csv_table(path, tmp_path, rs.ACTIVITIES)
    assert sheet.columns == ["activity_date", "activity_type", "participants", "audience_agency"]
    assert sheet.unmatched == ["Favourite colour"]
    assert "blue" not in sheet.frame.to_numpy().ravel().tolist()


def test_csv_ragged_rows_use_the_slow_path(tmp_path):
    text = "activity_date,activity_type,participants\n2015-02-03,Training,5,EXTRA\n2015-02-04,Training\n"
    (tmp_path / "activities.csv").write_text(text)
    sheet = read_csv_table(tmp_path / "activities.csv", tmp_path, rs.ACTIVITIES)
    assert sheet.frame["participants"].tolist() == ["5", ""]
    assert sheet.frame["_row"].tolist() == [2, 3]


def test_csv_multiline_quoted_cell_keeps_row_numbers(tmp_path):
    text = 'activity_date,activity_type,participants,notes\n2015-02-03,Training,5,"two\nlines"\n2015-02-04,Training,6,\n'
    (tmp_path / "activities.csv").write_text(text)
    sheet = read_csv_table(tmp_path / "activities.csv", tmp_path, rs.ACTIVITIES)
    assert sheet.frame["_row"].tolist() == [2, 4]


def test_csv_wrong_table_names_the_table_it_holds(tmp_path):
    path = write_csv(tmp_path / "cases.csv", ACTIVITIES_HEADER, [ACTIVITY])
    with pytest.raises(RawFileError, match="holds the activities table, not cases"):
        read_csv_table(path, tmp_path, rs.CASES)


def test_xlsx_header_offset_numbers_and_dates(tmp_path):
    path = write_xlsx(
        tmp_path / "S01_2015.xlsx",
        {
            "Activity log": [
                ["Title"],
                [None],
                ["Date", "Type", "Numbers"],
                [42036, "Training", 12],
                [dt.datetime(2015, 2, 4), "MASE", 3.0],
            ]
        },
    )
    book = read_xlsx(path, tmp_path, rs.SUBMISSION_TABLES)
    assert not book.failures
    (sheet,) = book.sheets
    assert sheet.table is rs.ACTIVITIES and sheet.sheet == "Activity log"
    assert sheet.header_row == 3
    assert sheet.frame["_row"].tolist() == [4, 5]
    assert sheet.frame["activity_date"].tolist() == ["42036", "2015-02-04"]
    assert sheet.frame["participants"].tolist() == ["12", "3"]


def test_xlsx_unknown_sheets_warn_and_about_is_silent(tmp_path):
    path = write_xlsx(
        tmp_path / "S01_2015.xlsx",
        {"Policy": [["la_code", "element", "status"]], "Scratch": [["x"]]},
    )
    book = read_xlsx(path, tmp_path, rs.SUBMISSION_TABLES)
    assert [s.table.name for s in book.sheets] == ["policy"]
    assert len(book.warnings) == 1 and "Scratch" in book.warnings[0]


def test_sheet_names_are_matched_loosely():
    assert sheet_table("  case LIST ", rs.SUBMISSION_TABLES) is rs.CASES
    assert sheet_table("spoke_survey", rs.SUBMISSION_TABLES) is rs.SPOKE_SURVEY
    assert sheet_table("Other", rs.SUBMISSION_TABLES) is None


def test_header_needs_most_cells_known():
    rows = [
        (1, ["Notes", "", ""]),
        (2, ["date", "type", "random", "stuff", "here"]),
        (3, ["date", "type", "numbers"]),
    ]
    assert find_header(rows, rs.ACTIVITIES) == (3, ["date", "type", "numbers"])


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (42036, "42036"),
        (42036.0, "42036"),
        (2.5, "2.5"),
        (dt.datetime(2015, 2, 3), "2015-02-03"),
        (True, "TRUE"),
        (" x ", " x "),
        (1234567890123456.0, "1234567890123456"),
        (dt.timedelta(days=1, hours=6, minutes=5), "30:05:00"),
        (dt.time(10, 30), "10:30:00"),
    ],
)
def test_cell_text(value, text):
    assert cell_text(value) == text


def test_xlsx_reader_matches_openpyxl(tmp_path):
    """calamine gives the cells openpyxl (the reference) gives, as text, on the same rows."""
    path = write_xlsx(
        tmp_path / "S01_2015.xlsx",
        {
            "Cases": [
                ["Return & notes <2015>"],
                [],
                ["case_ref", "age", "referral_date", "gender", "disability", "contacts"],
                ["C1", 14, dt.datetime(2015, 2, 3), "F", True, 2.5],
                ["C2", "15 yrs", 42036, None, False, None],
                [None, None, None, None, None, None],
                ["C3", 1e20, "03/02/2015", "Girl", None, -3],
            ]
        },
    )
    frame = read_xlsx(path, tmp_path, rs.SUBMISSION_TABLES).sheets[0].frame
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    sheet = book["Cases"]
    sheet.reset_dimensions()
    columns = ["case_ref", "age", "referral_date", "gender", "disability", "contacts"]
    expected = [
        [cell_text(v) for v in r] + [""] * (len(columns) - len(r))
        for r in sheet.iter_rows(min_row=4, values_only=True)
    ]
    book.close()
    assert frame[columns].to_numpy().tolist() == expected
    assert frame["_row"].tolist() == [4, 5, 6, 7]
    assert frame["referral_date"].tolist() == ["2015-02-03", "42036", "", "03/02/2015"]
    assert frame["age"].tolist() == ["14", "15 yrs", "", "1e+20"]
    assert frame["disability"].tolist() == ["TRUE", "FALSE", "", ""]


@pytest.mark.parametrize(
    ("bom", "codec", "sep"),
    [
        (b"\xff\xfe", "utf-16-le", "\t"),  # Excel's "Unicode text"
        (b"\xff\xfe", "utf-16-le", ","),
        (b"\xfe\xff", "utf-16-be", "\t"),
        (b"", "utf-16-le", "\t"),  # no byte order mark
    ],
    ids=["le-tab", "le-comma", "be-tab", "le-no-bom"],
)
def test_utf16_csv_is_read(tmp_path, bom, codec, sep):
    lines = [
        SYNTHETIC_MARKER,
        sep.join(ACTIVITIES_HEADER),
        sep.join([*ACTIVITY[:2], "Children\u2019s social care", *ACTIVITY[3:]]),
        sep.join(['"2015-02-04"', '"Training, evening"', "Police", "3", "", ""]),
    ]
    path = tmp_path / "activities.csv"
    path.write_bytes(bom + "\r\n".join(lines).encode(codec) + "\r\n".encode(codec))
    sheet = read_csv_table(path, tmp_path, rs.ACTIVITIES)
    assert sheet.header_row == 2
    assert sheet.frame["_row"].tolist() == [3, 4]
    assert sheet.frame["audience_agency"].tolist() == ["Children\u2019s social care", "Police"]
    assert sheet.frame["activity_type"].tolist() == ["Training", "Training, evening"]
    assert sheet.frame["participants"].tolist() == ["12", "3"]


def test_a_binary_file_named_csv_is_still_refused(tmp_path):
    path = tmp_path / "activities.csv"
    path.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(RawFileError, match="binary, not a text CSV"):
        read_csv_table(path, tmp_path, rs.ACTIVITIES)
