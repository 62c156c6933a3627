"""Hostile and unusual workbooks: each is built by hand (zip and XML) and must give text
cells as Excel shows them, or one :class:`~hubspoke.errors.RawFileError` naming the file
(and the sheet), within bounded memory and time.

The memory bombs are read in a child process: its own peak resident memory
(``ru_maxrss``) and time are reported back, and its address space is capped so
that a reader which does try to allocate gigabytes fails there, not on the
shared machine.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import openpyxl
import pytest

from broken_files import (
    DATE_STYLES,
    MAIN_NS,
    lie_about_size,
    row_xml,
    sheet_xml,
    workbook_parts,
    write_hand_xlsx,
    write_streamed_member,
    write_zip,
)
from hubspoke.errors import RawFileError
from hubspoke.io.tabular import (
    MAX_PART_BYTES,
    MAX_SHEET_CELLS,
    WorkbookLimits,
    XlsxBook,
    cell_text,
    read_xlsx,
)
from hubspoke.spec import raw as rs

HEADER = row_xml(1, ["case_ref", "age", "referral_date"])
#: Peak resident memory a bomb may cost the reading process (the interpreter with
#: pandas, pyarrow and calamine loaded takes about 110 MiB of it).
MEMORY_BOUND_MIB = 500
#: Seconds a bomb may take to be refused (imports included).
TIME_BOUND_S = 30
#: Address space of the child: enough for the libraries, far below what a bomb asks for.
CHILD_ADDRESS_SPACE = 3 * 2**30

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
from hubspoke.errors import RawFileError
from hubspoke.io.tabular import read_xlsx
from hubspoke.spec.raw import SUBMISSION_TABLES
path = Path(sys.argv[1])
start = time.perf_counter()
out = {"whole": None, "failures": [], "sheets": {}}
try:
    book = read_xlsx(path, path.parent, SUBMISSION_TABLES)
    out["failures"] = [
        {"message": str(e), "file": e.file, "sheet": e.sheet} for e in book.failures
    ]
    out["sheets"] = {s.sheet: s.num_rows for s in book.sheets}
except RawFileError as exc:
    out["whole"] = {"message": str(exc), "file": exc.file, "sheet": exc.sheet}
out["seconds"] = time.perf_counter() - start
out["maxrss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def _limit_address_space() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (CHILD_ADDRESS_SPACE, CHILD_ADDRESS_SPACE))


def read_in_child(path: Path) -> dict:
    """``read_xlsx`` on ``path`` in a fresh interpreter: what it gave, its peak memory and time."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_limit_address_space,
        check=False,
    )
    elapsed = time.perf_counter() - start
    assert done.returncode == 0, f"the reader crashed ({done.returncode}):\n{done.stderr[-3000:]}"
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall_seconds"] = elapsed
    return result


def assert_bounded(result: dict) -> None:
    assert result["maxrss_mib"] < MEMORY_BOUND_MIB, f"peak memory {result['maxrss_mib']:.0f} MiB"
    assert result["wall_seconds"] < TIME_BOUND_S, f"took {result['wall_seconds']:.1f} s"


def sheet_failure(result: dict, sheet: str) -> dict:
    """The one failure the child reported for ``sheet``."""
    assert result["whole"] is None, result["whole"]
    (failure,) = [f for f in result["failures"] if f["sheet"] == sheet]
    return failure


# ---------------------------------------------------------------------------
# Memory bombs: a tiny file asking for a huge grid
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("far_cell", "words"),
    [
        ("A99999999", "row 99999999"),  # beyond Excel's last row
        ("ZZZZZZ200", "column ZZZZZZ"),  # beyond Excel's last column
        ("XFD1048576", "cells"),  # Excel's own last cell: a grid of 17 billion cells
    ],
    ids=["row", "column", "grid"],
)
def test_a_far_away_cell_is_refused_in_bounded_memory(tmp_path, far_cell, words):
    body = HEADER + f'<row r="{far_cell.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")}">'
    body += f'<c r="{far_cell}" t="inlineStr"><is><t>x</t></is></c></row>'
    path = write_hand_xlsx(
        tmp_path / "S01_2015.xlsx",
        {"Cases": body, "Policy": row_xml(1, ["la_code", "element", "status"])},
    )
    assert path.stat().st_size < 70_000
    result = read_in_child(path)
    failure = sheet_failure(result, "Cases")
    assert failure["file"] == "S01_2015.xlsx"
    assert words in failure["message"], failure["message"]
    assert "Policy" in result["sheets"], "the other sheet is still read"
    assert_bounded(result)


def test_a_declared_part_size_over_the_cap_is_refused_before_reading(tmp_path):
    size = MAX_PART_BYTES + (16 << 20)
    parts = workbook_parts({"Cases": sheet_xml(HEADER)})
    head = f'<?xml version="1.0"?><worksheet xmlns="{MAIN_NS}"><sheetData>'.encode()
    path = write_streamed_member(
        tmp_path / "S01_2015.xlsx",
        parts,
        "xl/worksheets/sheet1.xml",
        head + HEADER.encode(),
        b" ",
        size,
        b"</sheetData></worksheet>",
    )
    assert path.stat().st_size < 2_000_000
    result = read_in_child(path)
    failure = sheet_failure(result, "Cases")
    assert "xl/worksheets/sheet1.xml" in failure["message"]
    assert "MiB" in failure["message"] and "declares" in failure["message"]
    assert_bounded(result)


def test_a_part_holding_more_than_it_declares_is_refused(tmp_path):
    """A lying size: small and self-consistent to a trusting reader, hundreds of MiB inflated."""
    cells = b'<row r="2"><c r="A2"><v>1</v></c></row>'
    parts = workbook_parts({"Cases": sheet_xml(HEADER)})
    head = f'<?xml version="1.0"?><worksheet xmlns="{MAIN_NS}"><sheetData>'.encode()
    path = write_streamed_member(
        tmp_path / "S01_2015.xlsx",
        parts,
        "xl/worksheets/sheet1.xml",
        head + HEADER.encode(),
        cells,
        300 << 20,
        b"</sheetData></worksheet>",
    )
    lie_about_size(path, "xl/worksheets/sheet1.xml", 4096)
    result = read_in_child(path)
    failure = sheet_failure(result, "Cases")
    assert "holds more than the 4,096 bytes it declares" in failure["message"], failure
    assert_bounded(result)


def test_too_many_cells_are_refused_even_in_a_small_grid(tmp_path):
    """Millions of cells repeating one reference: a tiny grid, but each cell costs memory."""
    parts = workbook_parts({"Cases": sheet_xml(HEADER)})
    head = f'<?xml version="1.0"?><worksheet xmlns="{MAIN_NS}"><sheetData>'.encode()
    path = write_streamed_member(
        tmp_path / "S01_2015.xlsx",
        parts,
        "xl/worksheets/sheet1.xml",
        head + HEADER.encode() + b'<row r="2">',
        b'<c r="A2"><v>1</v></c>',
        (MAX_SHEET_CELLS + 10) * 22,
        b"</row></sheetData></worksheet>",
    )
    result = read_in_child(path)
    failure = sheet_failure(result, "Cases")
    assert "cells" in failure["message"] and f"{MAX_SHEET_CELLS:,}" in failure["message"]
    assert_bounded(result)


def test_a_huge_shared_string_count_is_refused_without_crashing(tmp_path):
    """calamine reserves the declared count up front: 10^12 strings would abort the process."""
    sst = (
        f'<?xml version="1.0"?><sst xmlns="{MAIN_NS}" count="1" uniqueCount="999999999999">'
        "<si><t>case_ref</t></si></sst>"
    )
    body = '<row r="1"><c r="A1" t="s"><v>0</v></c></row>'
    path = write_hand_xlsx(tmp_path / "S01_2015.xlsx", {"Cases": body}, shared_strings=sst)
    result = read_in_child(path)
    assert result["whole"] is not None, result
    assert result["whole"]["file"] == "S01_2015.xlsx"
    assert "shared strings" in result["whole"]["message"]
    assert_bounded(result)


def test_cells_with_only_a_style_far_away_do_not_count(tmp_path):
    """Formatting down to Excel's last cell holds no value: the sheet is read, not refused."""
    body = (
        HEADER
        + row_xml(2, ["C1", 14, "2015-03-01"])
        + '<row r="1048576"><c r="XFD1048576" s="0"/></row>'
    )
    result = read_in_child(write_hand_xlsx(tmp_path / "S01_2015.xlsx", {"Cases": body}))
    assert result["whole"] is None and not result["failures"], result
    assert result["sheets"] == {"Cases": 1}
    assert_bounded(result)


def test_the_cell_cap_can_be_raised_or_lowered(tmp_path):
    rows = [HEADER] + [row_xml(n, [f"C{n}", 14, "2015-03-01"]) for n in range(2, 40)]
    path = write_hand_xlsx(tmp_path / "S01_2015.xlsx", {"Cases": "".join(rows)})
    assert not read_xlsx(path, tmp_path, rs.SUBMISSION_TABLES).failures
    small = read_xlsx(path, tmp_path, rs.SUBMISSION_TABLES, limits=WorkbookLimits(max_cells=100))
    (failure,) = small.failures
    assert failure.sheet == "Cases" and failure.file == "S01_2015.xlsx"
    assert "39 rows x 3 columns = 117 cells" in str(failure) and "max_cells" in str(failure)


# ---------------------------------------------------------------------------
# Values as Excel shows them
# ---------------------------------------------------------------------------


def read_cases(path: Path) -> dict[str, list]:
    book = read_xlsx(path, path.parent, rs.SUBMISSION_TABLES)
    assert not book.failures, book.failures
    (sheet,) = book.sheets
    return sheet.frame.to_dict(orient="list")


def test_a_1904_workbook_reads_its_dates_as_shown(tmp_path):
    """1904-based workbooks (old Mac Excel): serial 40576 is 2015-02-03, not 2011-02-02."""
    body = HEADER + '<row r="2"><c r="A2" t="inlineStr"><is><t>C1</t></is></c>'
    body += '<c r="C2" s="1"><v>40576</v></c></row>'
    path = write_hand_xlsx(
        tmp_path / "S01_2015.xlsx",
        {"Cases": body},
        workbook_pr='<workbookPr date1904="1"/>',
        styles=DATE_STYLES,
    )
    assert read_cases(path)["referral_date"] == ["2015-02-03"]


def test_excel_escapes_in_text_are_decoded(tmp_path):
    """Excel writes a carriage return as ``_x000D_`` (and a literal ``_x`` as ``_x005F_x``)."""
    sst = (
        f'<?xml version="1.0"?><sst xmlns="{MAIN_NS}" count="4" uniqueCount="4">'
        "<si><t>case_ref</t></si><si><t>age</t></si><si><t>referral_date</t></si>"
        "<si><t>C_x000D_1</t></si></sst>"
    )
    body = '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c>'
    body += '<c r="C1" t="s"><v>2</v></c></row>'
    body += '<row r="2"><c r="A2" t="s"><v>3</v></c><c r="C2"><v>42038</v></c></row>'
    path = write_hand_xlsx(tmp_path / "S01_2015.xlsx", {"Cases": body}, shared_strings=sst)
    assert read_cases(path)["case_ref"] == ["C\r1"]


def test_leading_blank_rows_and_columns_keep_the_rows_a_person_sees(tmp_path):
    body = row_xml(4, ["case_ref", "age", "referral_date"], first_column=3)
    body += row_xml(5, ["C1", 14, "2015-03-01"], first_column=3)
    body += row_xml(7, ["C2", 15, "2015-03-02"], first_column=3)
    book = read_xlsx(
        write_hand_xlsx(tmp_path / "S01_2015.xlsx", {"Cases": body}),
        tmp_path,
        rs.SUBMISSION_TABLES,
    )
    (sheet,) = book.sheets
    assert sheet.header_row == 4
    assert sheet.frame["_row"].tolist() == [5, 6, 7]
    assert sheet.frame["case_ref"].tolist() == ["C1", "", "C2"]


def test_error_cells_keep_their_text(tmp_path):
    body = HEADER + '<row r="2"><c r="A2" t="inlineStr"><is><t>C1</t></is></c>'
    body += '<c r="B2" t="e"><f>1/0</f><v>#DIV/0!</v></c><c r="C2" t="e"><v>#N/A</v></c></row>'
    cases = read_cases(write_hand_xlsx(tmp_path / "S01_2015.xlsx", {"Cases": body}))
    assert cases["age"] == ["#DIV/0!"] and cases["referral_date"] == ["#N/A"]


def test_prefixed_xml_and_cells_without_references_are_read(tmp_path):
    """Some writers prefix every element (``x:c``) or leave out cell references."""
    body = (
        '<x:row r="1"><x:c t="inlineStr"><x:is><x:t>case_ref</x:t></x:is></x:c>'
        '<x:c t="inlineStr"><x:is><x:t>age</x:t></x:is></x:c>'
        '<x:c t="inlineStr"><x:is><x:t>referral_date</x:t></x:is></x:c></x:row>'
        '<x:row r="3"><x:c t="inlineStr"><x:is><x:t>C1</x:t></x:is></x:c>'
        "<x:c><x:v>14</x:v></x:c><x:c><x:v>42038</x:v></x:c></x:row>"
    )
    path = write_hand_xlsx(tmp_path / "S01_2015.xlsx", {"Cases": body}, prefix="x")
    cases = read_cases(path)
    assert cases["_row"] == [2, 3]
    assert cases["case_ref"] == ["", "C1"] and cases["referral_date"] == ["", "42038"]


def test_a_corrupt_sheet_fails_alone(tmp_path):
    parts = workbook_parts(
        {
            "Cases": sheet_xml(HEADER)[:-30],  # cut off inside the XML
            "Policy": sheet_xml(row_xml(1, ["la_code", "element", "status"])),
        }
    )
    book = read_xlsx(write_zip(tmp_path / "S01_2015.xlsx", parts), tmp_path, rs.SUBMISSION_TABLES)
    (failure,) = book.failures
    assert failure.sheet == "Cases" and "cannot be read" in str(failure)
    assert [s.sheet for s in book.sheets] == ["Policy"]


def test_an_old_xls_or_password_protected_file_says_so(tmp_path):
    path = tmp_path / "S01_2015.xlsx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 1024)
    with pytest.raises(RawFileError, match="old .xls file or a password-protected workbook"):
        read_xlsx(path, tmp_path, rs.SUBMISSION_TABLES)


# ---------------------------------------------------------------------------
# The synthetic workbooks read exactly as openpyxl reads them
# ---------------------------------------------------------------------------


def openpyxl_rows(path: Path, sheet: str) -> list[list[str]]:
    """A sheet's cells as text through openpyxl (the reference), trailing blanks trimmed."""
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        ws = book[sheet]
        ws.reset_dimensions()
        rows = [[cell_text(v) for v in r] for r in ws.iter_rows(values_only=True)]
    finally:
        book.close()
    return _trimmed(rows)


def _trimmed(rows: list[list[str]]) -> list[list[str]]:
    out = []
    for cells in rows:
        cells = list(cells)
        while cells and cells[-1] == "":
            cells.pop()
        out.append(cells)
    while out and not out[-1]:
        out.pop()
    return out


def test_synthetic_workbooks_read_as_openpyxl_reads_them(synthetic_raw):
    books = sorted(Path(synthetic_raw).rglob("*.xlsx"))
    assert books
    for path in books:
        with XlsxBook(path) as book:
            for name in book.sheet_names:
                mine = _trimmed([cells for _, cells in book.rows(name)])
                assert mine == openpyxl_rows(path, name), (path.name, name)
