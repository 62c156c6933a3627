"""Cleaning at national scale without changing a byte: ids hashed ahead, excerpts de-identified once,
reasons as categories, tables written while later cleaners run. All data synthetic."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import hubspoke.clean.qualitative as qualitative
import hubspoke.privacy.pseudonym as pseudonym_module
from hubspoke.clean.base import CleanerResult
from hubspoke.clean.harmonise import reason_categories
from hubspoke.clean.run import clean_all
from hubspoke.privacy.pseudonym import hash_ahead, pseudonym, pseudonymise
from hubspoke.spec.processed import SERVICES

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
