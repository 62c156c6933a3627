"""The qualitative and context cleaners run in a helper process beside the submissions' cleaner.

The run must be the same as in one process: the same tables, quarantine,
reconciliation, warnings and manifest; a cleaner that fails in the helper is the
same failed line; a helper that dies leaves its cleaners to this process.
"""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

import pandas as pd
import pytest

import hubspoke.clean.run as run
from hubspoke.clean.base import CleanContext, CleanerResult
from hubspoke.clean.run import INDEPENDENT, clean_all
from hubspoke.errors import HubspokeError
from hubspoke.spec.processed import SERVICES


def _tables(folder: Path) -> dict[str, pd.DataFrame]:
    return {p.name: pd.read_parquet(p) for p in sorted(folder.glob("*.parquet"))}


def test_the_helper_cleans_the_same_as_one_process(synthetic_raw, tmp_path):
    alone = clean_all(synthetic_raw, tmp_path / "one", jobs=1)
    beside = clean_all(synthetic_raw, tmp_path / "two", jobs=2)
    assert alone.ok and beside.ok
    assert beside.warnings == alone.warnings and beside.errors == alone.errors
    assert beside.rows == alone.rows
    one, two = _tables(tmp_path / "one"), _tables(tmp_path / "two")
    assert list(two) == list(one)
    assert {"codings.parquet", "context.parquet", "cases.parquet"} <= set(one)
    for name, frame in one.items():
        pd.testing.assert_frame_equal(two[name], frame, obj=name)
    manifest = "manifest.json"
    assert (tmp_path / "two" / manifest).read_text() == (tmp_path / "one" / manifest).read_text()


def test_only_independent_cleaners_after_another_go_to_the_helper(tmp_path, monkeypatch):
    qual, context = INDEPENDENT
    (tmp_path / "submissions").mkdir()
    (tmp_path / "submissions" / "big.csv").write_bytes(b"x" * 100)
    order = [_services_cleaner, qual, context]
    assert run._beside(order, tmp_path, 1) == []
    assert run._beside(order, tmp_path, None) == []  # 100 bytes: too small to be worth it
    assert run._beside(order, tmp_path, 2) == [qual, context]
    assert run._beside([qual, context], tmp_path, 2) == []  # nothing to run beside
    assert run._beside([qual, _services_cleaner, context], tmp_path, 2) == [context]
    monkeypatch.setattr(run, "BESIDE_MIN_BYTES", 100)
    assert run._beside(order, tmp_path, None) == [qual, context]


def _services_cleaner(ctx: CleanContext) -> CleanerResult:
    """One synthetic service, as the services cleaner gives it."""
    row = {
        "service_id": "S01",
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
    return CleanerResult(tables={"services": SERVICES.conform(pd.DataFrame([row]))})


def _fails(ctx: CleanContext) -> CleanerResult:
    raise HubspokeError("this cleaner always fails", file=str(ctx.raw_dir / "qualitative"))


def _dies_in_a_child(ctx: CleanContext) -> CleanerResult:
    if multiprocessing.parent_process() is not None:
        os._exit(3)  # the helper dies without a word
    return CleanerResult(warnings=["cleaned here"])


def _asks_for_the_key(ctx: CleanContext) -> CleanerResult:
    ctx.key()
    return CleanerResult()


@pytest.fixture
def helper_runs(monkeypatch):
    """The test cleaners count as independent (the helper imports them from this module)."""
    monkeypatch.setattr(run, "INDEPENDENT", (_fails, _dies_in_a_child, _asks_for_the_key))


def _failed_messages(summary) -> list[str]:
    return summary.failed["message"].tolist()


def test_a_cleaner_failing_in_the_helper_is_the_same_failed_line(tmp_path, helper_runs):
    (tmp_path / "raw").mkdir()
    cleaners = [_services_cleaner, _fails]
    here = clean_all(tmp_path / "raw", tmp_path / "one", cleaners=cleaners, jobs=1)
    there = clean_all(tmp_path / "raw", tmp_path / "two", cleaners=cleaners, jobs=2)
    (message,) = _failed_messages(here)
    assert message.startswith("cleaner _fails failed, none of its tables were written")
    assert "this cleaner always fails" in message
    assert _failed_messages(there) == [message]
    pd.testing.assert_frame_equal(there.reconciliation, here.reconciliation)
    assert not there.ok and there.rows == {"services": 1}


def test_a_helper_that_dies_leaves_its_cleaners_to_this_process(tmp_path, helper_runs):
    (tmp_path / "raw").mkdir()
    summary = clean_all(
        tmp_path / "raw", tmp_path / "out", cleaners=[_services_cleaner, _dies_in_a_child], jobs=2
    )
    assert summary.ok
    assert summary.warnings == ["cleaned here"]
    assert (tmp_path / "out" / "services.parquet").exists()


def test_a_cleaner_in_the_helper_gets_no_key(tmp_path, helper_runs):
    (tmp_path / "raw").mkdir()
    summary = clean_all(
        tmp_path / "raw", tmp_path / "out", cleaners=[_services_cleaner, _asks_for_the_key], jobs=2
    )
    (message,) = _failed_messages(summary)
    assert "asked for the pseudonym key" in message
    assert "take it out of INDEPENDENT" in message
