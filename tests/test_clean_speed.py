"""Cleaning at national scale without changing a byte: ids hashed ahead, excerpts de-identified once,
reasons as categories, tables written while later cleaners run, tables validated without pandera
when they plainly pass, workbook rows laid out as arrow, CSVs decoded once. All data synthetic."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import hubspoke.clean.memory as memory
import hubspoke.clean.qualitative as qualitative
import hubspoke.privacy.pseudonym as pseudonym_module
from hubspoke.clean.base import CleanerResult
from hubspoke.clean.harmonise import reason_categories
from hubspoke.clean.quarantine import keep_rows
from hubspoke.clean.run import clean_all
from hubspoke.errors import SchemaError
from hubspoke.io.tabular import build_sheet, decode_bytes, decode_text, read_csv_table, rows_table
from hubspoke.privacy.pseudonym import hash_ahead, pseudonym, pseudonymise
from hubspoke.spec import raw as rs
from hubspoke.spec.processed import SERVICES, plainly_valid, schema, validate

KEY = b"synthetic-test-key-" * 4  # longer than the SHA-256 block: hashed first, as in hmac


def _refs(n: int) -> tuple[pd.Series, pd.Series]:
    """Synthetic services and case references with odd forms: spaces, case, full width, NA."""
    services = pd.Series([f"S{i % 7 + 1:03d}" for i in range(n)], dtype="string")
    refs = pd.Series([f" c{i % (n // 2):05d}" for i in range(n)], dtype="string")
    refs.iloc[3] = "\uff23\uff10\uff10\uff10\uff11\u200b"  # full-width C0001 and a zero-width space
    refs.iloc[5] = None
    services.iloc[8] = None
    return services, refs


@pytest.fixture
def few_ahead(monkeypatch):
    """A child process even for a few pairs (the default starts one from 50,000)."""
    monkeypatch.setattr(pseudonym_module, "AHEAD_MIN_PAIRS", 1)


def test_ids_hashed_ahead_in_a_child_are_the_ids_hashed_here(few_ahead):
    services, refs = _refs(400)
    expected = pseudonymise(KEY, services, refs)
    keep = np.flatnonzero(np.arange(400) % 3 != 1)  # cleaning keeps a subset of the raw rows
    with hash_ahead(KEY, services, refs) as ahead:
        assert ahead is not None
        ids = pseudonymise(KEY, services.take(keep), refs.take(keep), ahead=ahead)
    pd.testing.assert_series_equal(ids, expected.take(keep))
    assert ids.iloc[0] == pseudonym(KEY, "S001", "C00000")
    assert ids.isna().sum() == expected.take(keep).isna().sum() > 0


def test_a_pair_not_hashed_ahead_is_hashed_here(few_ahead):
    services, refs = _refs(40)
    with hash_ahead(KEY, services, refs) as ahead:
        assert ahead is not None
        ids = pseudonymise(
            KEY, pd.Series(["S099"], dtype="string"), pd.Series(["new"]), ahead=ahead
        )
    assert ids.tolist() == [pseudonym(KEY, "S099", "NEW")]


def test_few_pairs_are_not_worth_a_child():
    services, refs = _refs(40)
    assert hash_ahead(KEY, services, refs) is None


def test_a_child_closed_early_leaves_the_ids_to_be_hashed_here(few_ahead):
    services, refs = _refs(40)
    ahead = hash_ahead(KEY, services, refs)
    assert ahead is not None
    ahead.close()
    assert ahead.digests() is None
    pd.testing.assert_series_equal(
        pseudonymise(KEY, services, refs, ahead=ahead), pseudonymise(KEY, services, refs)
    )


def test_excerpts_are_deidentified_once_per_distinct_text(monkeypatch):
    calls: list[str] = []

    def fake(text: str) -> str:
        calls.append(text)
        return text.replace("Jane", "[name]")

    monkeypatch.setattr(qualitative, "deidentify", fake)
    texts = pd.Series(["Jane said so", "no name", "Jane said so", ""] * 50, dtype="string")
    out = qualitative.deidentify_each(texts)
    assert sorted(calls) == ["", "Jane said so", "no name"]
    assert out.tolist() == ["[name] said so", "no name", "[name] said so", ""] * 50
    assert out.index.equals(texts.index)


def test_reasons_hold_the_texts_of_their_codes():
    texts = ["age: 'x' is not an age", None, "age: 'x' is not an age", "age: 200 is outside"]
    codes = np.array([0, 1, 2, 3, 3, 1, 0])
    reasons = pd.Series(reason_categories(texts, codes))
    expected = pd.array(texts, dtype="string").take(codes)
    assert reasons.astype("string").tolist() == list(expected)
    assert reasons.isna().tolist() == [False, True, False, False, False, True, False]
    assert pd.Series(reason_categories([None], np.zeros(3, dtype=int))).isna().all()


def _services(service_id: str) -> pd.DataFrame:
    """One synthetic service, as the services cleaner gives it."""
    row = {
        "service_id": service_id,
        "hub_name": "Synthetic Hub",
        "phase": 1,
        "start_date": pd.Timestamp("2014-04-01"),
        "model_variant": "Multi-host",
        "n_spokes": 3,
        "la_codes": "E06000001",
        "risk_tool": "SERAF",
        "region": "North East",
        "source_file": "reference/services.csv",
        "source_sheet": "",
        "source_row": 2,
    }
    return SERVICES.conform(pd.DataFrame([row]))


def test_a_table_returned_again_by_a_later_cleaner_replaces_the_earlier_one(tmp_path):
    """Written while later cleaners run, so the second write must win, not race the first."""

    def first(ctx) -> CleanerResult:
        return CleanerResult(tables={"services": _services("S01")})

    def second(ctx) -> CleanerResult:
        return CleanerResult(tables={"services": _services("S02")})

    (tmp_path / "raw").mkdir()
    summary = clean_all(tmp_path / "raw", tmp_path / "out", cleaners=[first, second])
    written = pd.read_parquet(tmp_path / "out" / "services.parquet")
    assert written["service_id"].tolist() == ["S02"]
    assert summary.rows["services"] == 1


def test_a_table_failing_its_schema_is_an_error_and_not_written(tmp_path):
    def bad(ctx) -> CleanerResult:
        return CleanerResult(tables={"services": pd.DataFrame({"service_id": ["S01"]})})

    def good(ctx) -> CleanerResult:
        return CleanerResult(tables={"unknown_table": pd.DataFrame({"x": [1]})})

    (tmp_path / "raw").mkdir()
    summary = clean_all(tmp_path / "raw", tmp_path / "out", cleaners=[bad, good])
    assert not summary.ok
    assert len(summary.errors) == 2
    assert "table services lacks declared column(s)" in summary.errors[0]
    assert summary.errors[1] == "table unknown_table has no declared schema; not written"
    assert not (tmp_path / "out" / "services.parquet").exists()
    assert (tmp_path / "out" / "reconciliation.parquet").exists()


# ---------------------------------------------------------------------------
# Validation: the direct checks agree with pandera
# ---------------------------------------------------------------------------


def _two_services() -> pd.DataFrame:
    """Two synthetic services that pass every check of the services schema."""
    return pd.concat([_services("S01"), _services("S02")], ignore_index=True).assign(
        source_row=[2, 3]
    )


def _broken(change: str) -> pd.DataFrame:
    """The two services with one thing wrong, as named."""
    frame = _two_services()
    if change == "null in a required column":
        frame["hub_name"] = pd.array(["Synthetic Hub", None], dtype="string")
    elif change == "below the minimum":
        frame["n_spokes"] = pd.array([3, 1], dtype="Int64")
    elif change == "above the maximum":
        frame["n_spokes"] = pd.array([3, 9], dtype="Int64")
    elif change == "not the pattern":
        frame["service_id"] = pd.array(["S01", "X02"], dtype="string")
    elif change == "the pattern then a newline":
        frame["service_id"] = pd.array(["S01", "S02\n"], dtype="string")
    elif change == "a repeated key":
        frame["service_id"] = pd.array(["S01", "S01"], dtype="string")
    return frame


def test_a_table_that_passes_is_returned_as_pandera_returns_it():
    frame = _two_services()
    spec = schema("services")
    conformed = spec.conform(frame)
    assert plainly_valid(spec, conformed)
    pd.testing.assert_frame_equal(validate("services", frame), spec.pandera().validate(conformed))


@pytest.mark.parametrize(
    "change",
    [
        "null in a required column",
        "below the minimum",
        "above the maximum",
        "not the pattern",
        "a repeated key",
    ],
)
def test_a_table_that_fails_a_check_is_left_to_pandera_and_fails(change):
    frame = _broken(change)
    spec = schema("services")
    assert not plainly_valid(spec, spec.conform(frame))
    with pytest.raises(SchemaError, match="table services does not match its schema"):
        validate("services", frame)


def test_a_pattern_is_matched_as_pandera_matches_it():
    """``$`` matches before a final newline: pandera lets it pass, and so does the direct check."""
    frame = _broken("the pattern then a newline")
    spec = schema("services")
    expected = spec.pandera().validate(spec.conform(frame))
    assert plainly_valid(spec, spec.conform(frame))
    pd.testing.assert_frame_equal(validate("services", frame), expected)


def test_missing_values_pass_the_range_checks_and_a_value_outside_fails():
    spec = schema("context")
    frame = pd.DataFrame(
        {
            "la_code": ["E06000001", "E06000002"],
            "la_name": ["Synthetic A", "Synthetic B"],
            "region_code": ["E12000001", None],
            "geographic_level": ["Local authority", "Local authority"],
            "year": [2015, 2015],
            "cse_assessments": pd.array([5, None], dtype="Int64"),
            "cse_symbol": [None, "c"],
            "population": pd.array([1000, 2000], dtype="Int64"),
            "rate_per_10k": pd.array([50.0, None], dtype="Float64"),
        }
    )
    conformed = spec.conform(frame)
    assert plainly_valid(spec, conformed)
    negative = conformed.assign(rate_per_10k=pd.array([-1.0, None], dtype="Float64"))
    assert not plainly_valid(spec, negative)
    with pytest.raises(SchemaError, match="rate_per_10k"):
        validate("context", negative)


# ---------------------------------------------------------------------------
# Reading: workbook rows as arrow, CSVs decoded once, empty lines kept as rows
# ---------------------------------------------------------------------------


def test_rows_of_cells_become_text_columns_padded_to_the_widest():
    table = rows_table([["a", "b"], ["c"], ["d", "e", "f"]], 4)
    assert table.column_names == ["f0", "f1", "f2", "f3"]
    assert table.to_pydict() == {
        "f0": ["a", "c", "d"],
        "f1": ["b", "", "e"],
        "f2": ["", "", "f"],
        "f3": ["", "", ""],
    }
    assert rows_table([], 2).num_rows == 0
    assert rows_table([], 2).column_names == ["f0", "f1"]


def test_a_sheet_built_from_rows_holds_the_cells_under_canonical_names():
    table = rs.table("activities")
    header = ["Date", "Type of activity", "Participants", "Something else"]
    body = [["2015-02-04", "Training", "12", "x"], ["42036"], []]
    sheet = build_sheet(table, "S01_2015.xlsx", "Activities", 3, header, body, [4, 5, 7])
    frame = sheet.frame
    assert frame["_row"].tolist() == [4, 5, 7]
    assert frame["_row"].dtype == np.dtype("int64")
    assert frame["_file"].unique().tolist() == ["S01_2015.xlsx"]
    assert frame["_sheet"].unique().tolist() == ["Activities"]
    assert frame["activity_date"].tolist() == ["2015-02-04", "42036", ""]
    assert frame["participants"].tolist() == ["12", "", ""]
    assert sheet.unmatched == ["Something else"]
    assert str(frame["activity_date"].dtype) == "str"


@pytest.mark.parametrize(
    ("data", "same"),
    [
        ("S01,Caf\u00e9\n".encode(), True),
        (b"\xef\xbb\xbfS01,Caf\xc3\xa9\n", False),
        ("S01,Caf\u00e9\n".encode("cp1252"), False),
        (b"\xff\xfe" + "S01,Caf\u00e9\n".encode("utf-16-le"), False),
    ],
)
def test_text_is_decoded_once_and_given_as_utf8(data, same):
    text, utf8 = decode_text(data, "synthetic.csv")
    assert text == decode_bytes(data, "synthetic.csv") == "S01,Caf\u00e9\n"
    assert utf8 == text.encode("utf-8")
    assert (utf8 is data) == same


def test_empty_lines_in_a_csv_stay_rows_with_their_line_numbers(tmp_path):
    path = tmp_path / "activities.csv"
    path.write_bytes(
        b"activity_date,activity_type,participants\r\n"
        b"2015-02-04,Training,12\r\n\r\n2015-02-05,Training,3\r\n\n"
    )
    sheet = read_csv_table(path, tmp_path, rs.table("activities"))
    frame = sheet.frame
    assert frame["_row"].tolist() == [2, 3, 4, 5]
    assert frame["participants"].tolist() == ["12", "", "3", ""]
    assert frame["activity_type"].tolist() == ["Training", "", "Training", ""]


# ---------------------------------------------------------------------------
# Freed memory kept for reuse while a clean runs
# ---------------------------------------------------------------------------


def test_the_heap_is_tuned_inside_the_block_and_restored_after(monkeypatch):
    calls: list[dict[int, int]] = []
    trims: list[object] = []

    class FakeLibc:
        def malloc_trim(self, pad: object) -> int:
            trims.append(pad)
            return 1

    monkeypatch.setattr(memory, "_libc", lambda: FakeLibc())
    monkeypatch.setattr(memory, "_set", lambda libc, settings: calls.append(settings) or True)
    with memory.kept_heap() as tuned:
        assert tuned
        assert calls == [
            {
                memory.M_MMAP_THRESHOLD: memory.MMAP_THRESHOLD,
                memory.M_TRIM_THRESHOLD: memory.TRIM_THRESHOLD,
                memory.M_TOP_PAD: memory.TOP_PAD,
            }
        ]
        assert not trims
    assert calls[-1] == memory.DEFAULTS
    assert len(trims) == 1


def test_without_glibc_nothing_is_tuned(monkeypatch):
    monkeypatch.setattr(memory, "_libc", lambda: None)
    with memory.kept_heap() as tuned:
        assert not tuned


def test_arrow_arrays_come_from_the_tuned_heap_inside_the_block_and_stay_valid_after(
    monkeypatch,
):
    class FakeLibc:
        def malloc_trim(self, pad: object) -> int:
            return 1

    monkeypatch.setattr(memory, "_set", lambda libc, settings: True)
    monkeypatch.setattr(memory, "_libc", lambda: FakeLibc())
    own = pa.default_memory_pool()
    pa.set_memory_pool(pa.mimalloc_memory_pool())  # as pyarrow's wheels start
    before = pa.default_memory_pool().backend_name
    try:
        with memory.kept_heap():
            assert pa.default_memory_pool().backend_name == "system"
            inside = pa.array([f"synthetic case {i}" for i in range(1000)])
        assert pa.default_memory_pool().backend_name == before, "the pool in use before is back"
        after = pa.array(["made after"])
    finally:
        pa.set_memory_pool(own)
    assert inside[999].as_py() == "synthetic case 999", "freed by the pool that gave it"
    assert after[0].as_py() == "made after"


def test_without_glibc_arrow_keeps_its_own_pool(monkeypatch):
    monkeypatch.setattr(memory, "_libc", lambda: None)
    before = pa.default_memory_pool().backend_name
    with memory.kept_heap():
        assert pa.default_memory_pool().backend_name == before


def test_the_tuned_values_are_accepted_by_this_allocator():
    libc = memory._libc()
    if libc is None:
        pytest.skip("not glibc")
    with memory.kept_heap() as tuned:
        assert tuned


def test_rows_kept_by_a_mask_are_the_rows_loc_keeps() -> None:
    """keep_rows filters each column by the mask: the same rows, values, dtypes and index as loc."""
    frame = pd.DataFrame(
        {
            "text": pd.array(["S01", None, "S03", "S04", "S05"], dtype="str"),
            "note": pd.array(["a", "b", None, "d", "e"], dtype="string[pyarrow]"),
            "n": np.arange(5, dtype=np.int64),
            "maybe": pd.array([1, None, 3, 4, None], dtype="Int64"),
            "band": pd.Categorical(["10-13", "14-15", "10-13", "16-17", "14-15"]),
            "when": pd.to_datetime(["2014-01-02", None, "2015-03-04", "2016-05-06", "2014-07-08"]),
        },
        index=pd.Index([10, 11, 12, 13, 14]),
    )
    keep = np.array([True, False, True, False, True])
    kept = keep_rows(frame, keep)
    pd.testing.assert_frame_equal(kept, frame.loc[keep])
    assert list(kept.index) == [10, 12, 14]
    assert kept["note"].isna().tolist() == [False, True, False]


def test_a_frame_with_a_repeated_column_name_keeps_its_rows_as_loc_does() -> None:
    frame = pd.DataFrame([[1, "a"], [2, "b"], [3, "c"]], columns=["x", "x"])
    keep = np.array([False, True, True])
    pd.testing.assert_frame_equal(keep_rows(frame, keep), frame.loc[keep])
