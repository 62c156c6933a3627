"""Property: whatever a raw cell holds, cleaning raises nothing but the project's errors and loses no row."""

from __future__ import annotations

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hubspoke.clean.base import PROVENANCE_RENAME, clean_sheet
from hubspoke.clean.submissions import finish_table, key_split
from hubspoke.errors import HubspokeError
from hubspoke.io.tabular import RawSheet
from hubspoke.spec import raw as rs
from hubspoke.spec import vocab
from hubspoke.spec.processed import validate

CELL = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        sorted(vocab.MISSING_MARKERS)
        + ["14 yrs", "42036", "03/02/2015", "cat 2", "High", "31", "-1", "1e308", "nan", "inf"]
    ),
    st.integers(-(10**6), 10**6).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.just(""),
)

TABLES = (rs.CASES, rs.ACTIVITIES, rs.POLICY, rs.SPOKE_SURVEY, rs.SERVICES, rs.SPOKES)


class _Ctx:
    def key(self) -> bytes:
        return b"k" * 64


def raw_sheet(table: rs.RawTable, rows: list[list[str]]) -> RawSheet:
    columns = [c.name for c in table.columns]
    frame = pd.DataFrame(rows, columns=columns, dtype="str").assign(
        _file="f.csv", _sheet="", _row=pd.array(range(2, 2 + len(rows)), dtype="int64")
    )
    return RawSheet(table, "f.csv", "", frame, 1)


@st.composite
def table_and_rows(draw):
    table = draw(st.sampled_from(TABLES))
    n = draw(st.integers(0, 6))
    rows = [[draw(CELL) for _ in table.columns] for _ in range(n)]
    return table, rows


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table_and_rows(), st.sampled_from(sorted(vocab.RISK_TOOLS)))
def test_cleaning_never_loses_a_row_or_raises_foreign_errors(data, tool):
    table, rows = data
    sheet = raw_sheet(table, rows)
    constants = {"service_id": "S01", "year": 2015}
    if table.name == "cases":
        constants["risk_tool"] = tool
    try:
        result = clean_sheet(sheet, constants=constants)
        finished, dups = key_split(table.name, finish_table(table.name, result.clean, _Ctx()))
    except HubspokeError:
        return
    # clean rows always satisfy the declared schema
    validate(table.name, finished.rename(columns=PROVENANCE_RENAME))
    quarantined = set(result.quarantine["row"].astype(int)) | set(dups["row"].astype(int))
    clean_rows = set(finished["_row"].astype(int))
    assert not quarantined & clean_rows
    merged = sum(result.merged.values())
    assert len(quarantined) + len(clean_rows) + merged == len(rows)
    assert result.quarantine["reason"].str.len().gt(0).all()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(max_size=8), min_size=1, max_size=5))
def test_any_header_either_reads_or_fails_with_a_raw_file_error(tmp_path_factory, header):
    from hubspoke.errors import RawFileError
    from hubspoke.io.tabular import read_csv_table

    folder = tmp_path_factory.mktemp("h")
    path = folder / "cases.csv"
    text = ",".join('"' + h.replace('"', '""') + '"' for h in header) + "\nC1,14,2015-01-01\n"
    path.write_bytes(text.encode("utf-8", errors="replace"))
    try:
        sheet = read_csv_table(path, folder, rs.CASES)
    except RawFileError:
        return
    assert set(rs.CASES.required) <= set(sheet.columns)


SMALL_CELL = st.one_of(st.none(), st.sampled_from(["", "a", "b", " ", "A", "é"]))


@given(
    st.lists(
        st.tuples(SMALL_CELL, SMALL_CELL, SMALL_CELL, st.sampled_from(["f1", "f2"])),
        max_size=40,
    )
)
def test_duplicate_mask_is_an_earlier_identical_row_of_the_same_file(rows):
    # duplicate_mask narrows column by column for speed; it must still mean exactly
    # "pandas' duplicated() on the columns plus file and sheet, missing = empty".
    from hubspoke.clean.quarantine import duplicate_mask

    frame = pd.DataFrame(rows, columns=["x", "y", "z", "_file"], dtype="string").assign(_sheet="")
    expected = frame.fillna("").duplicated(keep="first").to_numpy()
    assert duplicate_mask(frame, ["x", "y", "z"]).tolist() == expected.tolist()
