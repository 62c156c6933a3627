"""``clean_all`` overlaps its work: the qualitative and context cleaners run in a forked, niced
child beside the submissions cleaner, and each submission table is validated and written as
soon as it is finished. What it writes must be what running everything in turn writes, and a
cleaner that fails must still leave none of its tables behind."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

import hubspoke.clean.harmonise as hm
import hubspoke.clean.qualitative as qual
import hubspoke.clean.run as run
from hubspoke.clean import clean_all
from hubspoke.errors import RawFileError


def _tables(folder: Path) -> dict[str, pd.DataFrame]:
    return {p.stem: pd.read_parquet(p) for p in sorted(folder.glob("*.parquet"))}


def _in_turn(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run every cleaner in this process, in turn, and hand no table over early."""
    monkeypatch.setattr(run, "RAW_ONLY", frozenset())
    monkeypatch.setattr(run._TableWriter, "early", lambda self, name, frame: None)


def test_the_same_tables_warnings_and_reconciliation_as_in_turn(
    synthetic_raw: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    overlapped = clean_all(synthetic_raw, tmp_path / "overlapped")
    with monkeypatch.context() as patch:
        _in_turn(patch)
        in_turn = clean_all(synthetic_raw, tmp_path / "in_turn")
    assert overlapped.ok and in_turn.ok
    assert overlapped.warnings == in_turn.warnings
    assert overlapped.rows == in_turn.rows
    a, b = _tables(tmp_path / "overlapped"), _tables(tmp_path / "in_turn")
    assert list(a) == list(b) and len(a) >= 12
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], obj=name)


def test_the_qualitative_cleaner_runs_in_a_niced_child(
    synthetic_raw: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not run._can_fork():
        pytest.skip("this process cannot fork safely (no fork, or other threads running)")
    seen = tmp_path / "seen.txt"
    deidentify_each = qual.deidentify_each

    def recorded(texts: pd.Series) -> pd.Series:
        seen.write_text(f"{os.getpid()} {os.nice(0)}")
        return deidentify_each(texts)

    monkeypatch.setattr(qual, "deidentify_each", recorded)
    assert clean_all(synthetic_raw, tmp_path / "out").ok
    pid, niceness = map(int, seen.read_text().split())
    assert pid != os.getpid()
    assert niceness >= os.nice(0) + run.RAW_ONLY_NICENESS or niceness == 19


@pytest.mark.parametrize("overlap", [True, False], ids=["overlapped", "in_turn"])
def test_a_failing_submissions_cleaner_leaves_none_of_its_tables(
    synthetic_raw: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, overlap: bool
) -> None:
    """The cases (and services, spokes) are handed over before the activities fail."""
    if not overlap:
        _in_turn(monkeypatch)

    def broken(frame: pd.DataFrame) -> pd.DataFrame:
        raise RuntimeError("activities broke")

    monkeypatch.setattr(hm, "add_confidence_change", broken)
    out = tmp_path / "out"
    summary = clean_all(synthetic_raw, out)
    assert not summary.ok
    written = {p.stem for p in out.glob("*.parquet")}
    assert not written & {"services", "spokes", "cases", "activities", "policy"}, written
    assert {"codings", "judgements", "context"} <= written
    failed = summary.reconciliation.query("status == 'failed'")
    assert failed["message"].str.contains("clean_quantitative failed.*activities broke").any()
    assert not list(out.rglob("*.parquet.tmp*"))


@pytest.mark.parametrize("overlap", [True, False], ids=["overlapped", "in_turn"])
def test_a_failing_qualitative_cleaner_gives_its_failed_line(
    synthetic_raw: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, overlap: bool
) -> None:
    """From the child, the failure is the same line as in this process (file and message)."""
    if not overlap:
        _in_turn(monkeypatch)

    def broken(*args: object, **kwargs: object) -> pd.DataFrame:
        raise RawFileError(
            "the judgements cannot be read", file="qualitative/theory_judgements.csv"
        )

    monkeypatch.setattr(qual, "clean_judgements", broken)
    summary = clean_all(synthetic_raw, tmp_path / "out")
    failed = summary.reconciliation.query("status == 'failed'")
    assert failed["file"].tolist() == ["qualitative/theory_judgements.csv"]
    assert failed["message"].str.contains("clean_qualitative failed").all()
    written = {p.stem for p in (tmp_path / "out").glob("*.parquet")}
    assert "cases" in written and "codings" not in written
