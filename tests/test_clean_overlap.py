"""``clean_all`` overlaps its work: the qualitative and context cleaners run in a forked, niced
child beside the submissions cleaner, and each submission table is validated and written as
soon as it is finished. What it writes must be what running everything in turn writes, and a
cleaner that fails must still leave none of its tables behind.

The overlapped runs are made in a fresh interpreter (as ``hubspoke clean`` runs): the test
process has other threads, where ``clean_all`` rightly declines to fork.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import hubspoke.clean.harmonise as hm
import hubspoke.clean.qualitative as qual
import hubspoke.clean.run as run
from hubspoke.clean import clean_all
from hubspoke.errors import RawFileError

#: ``clean_all`` in a fresh interpreter, with one failure patched in (or none); records the
#: process the qualitative cleaner ran in, and prints what the summary says.
FRESH = r"""
import json, os, sys
from pathlib import Path
import hubspoke.clean.harmonise as hm
import hubspoke.clean.qualitative as qual
import hubspoke.clean.run as run
from hubspoke.errors import RawFileError

raw, out, patch, seen = sys.argv[1:5]
if patch == "activities":
    def broken(frame):
        raise RuntimeError("activities broke")
    hm.add_confidence_change = broken
elif patch == "judgements":
    def broken(*args, **kwargs):
        raise RawFileError("the judgements cannot be read", file="qualitative/theory_judgements.csv")
    qual.clean_judgements = broken
deidentify_each = qual.deidentify_each
def recorded(texts):
    Path(seen).write_text(f"{os.getpid()} {os.nice(0)}")
    return deidentify_each(texts)
qual.deidentify_each = recorded
forkable = run._can_fork()
summary = run.clean_all(Path(raw), Path(out))
failed = summary.reconciliation.query("status == 'failed'")
print(json.dumps({
    "forkable": forkable, "pid": os.getpid(), "nice": os.nice(0), "ok": summary.ok,
    "warnings": summary.warnings, "rows": summary.rows,
    "failed": failed[["file", "message"]].values.tolist(),
}))
"""


def _overlapped(raw: Path, out: Path, tmp_path: Path, patch: str = "") -> dict:
    """``clean_all`` in a fresh interpreter; its summary, and where the qualitative cleaner ran."""
    seen = tmp_path / f"seen_{patch or 'none'}.txt"
    proc = subprocess.run(
        [sys.executable, "-c", FRESH, str(raw), str(out), patch, str(seen)],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["forkable"], "a fresh interpreter on Linux must fork the qualitative cleaners"
    if seen.exists():
        got["child_pid"], got["child_nice"] = map(int, seen.read_text().split())
    return got


def _tables(folder: Path) -> dict[str, pd.DataFrame]:
    return {p.stem: pd.read_parquet(p) for p in sorted(folder.glob("*.parquet"))}


@pytest.fixture
def in_turn(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run every cleaner in this process, in turn, and hand no table over early."""
    monkeypatch.setattr(run, "RAW_ONLY", frozenset())
    monkeypatch.setattr(run._TableWriter, "early", lambda self, name, frame: None)


def test_the_same_tables_and_warnings_as_in_turn_with_a_niced_child(
    synthetic_raw: Path, tmp_path: Path, in_turn: None
) -> None:
    """The overlapped run in a fresh interpreter; the run in turn here (the fixture)."""
    overlapped = _overlapped(synthetic_raw, tmp_path / "overlapped", tmp_path)
    assert overlapped["child_pid"] != overlapped["pid"]
    assert overlapped["child_nice"] >= min(19, overlapped["nice"] + run.RAW_ONLY_NICENESS)
    here = clean_all(synthetic_raw, tmp_path / "in_turn")
    assert overlapped["ok"] and here.ok
    assert overlapped["warnings"] == here.warnings
    assert overlapped["rows"] == here.rows
    a, b = _tables(tmp_path / "overlapped"), _tables(tmp_path / "in_turn")
    assert list(a) == list(b) and len(a) >= 12
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], obj=name)


QUANTITATIVE = {"services", "spokes", "cases", "activities", "policy", "spoke_survey"}


def _check_activities_failure(ok: bool, failed: list, out: Path) -> None:
    assert not ok
    written = {p.stem for p in out.glob("*.parquet")}
    assert not written & QUANTITATIVE, written
    assert {"codings", "judgements", "context"} <= written
    assert any("clean_quantitative failed" in m and "activities broke" in m for _, m in failed)
    assert not [p for p in out.rglob("*") if p.is_file() and ".tmp" in p.name]


def test_a_failing_submissions_cleaner_leaves_none_of_its_tables(
    synthetic_raw: Path, tmp_path: Path
) -> None:
    """The services, spokes and cases are handed over early; then the activities fail."""
    out = tmp_path / "out"
    got = _overlapped(synthetic_raw, out, tmp_path, "activities")
    _check_activities_failure(got["ok"], got["failed"], out)


def test_a_failing_submissions_cleaner_in_turn_leaves_none_either(
    synthetic_raw: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_turn: None
) -> None:
    def broken(frame: pd.DataFrame) -> pd.DataFrame:
        raise RuntimeError("activities broke")

    monkeypatch.setattr(hm, "add_confidence_change", broken)
    out = tmp_path / "out"
    summary = clean_all(synthetic_raw, out)
    failed = summary.reconciliation.query("status == 'failed'")[["file", "message"]]
    _check_activities_failure(summary.ok, failed.values.tolist(), out)


def test_a_qualitative_cleaner_failing_in_the_child_gives_the_same_line(
    synthetic_raw: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, in_turn: None
) -> None:
    """From the child, the failed line (file and message) is the one this process makes."""
    got = _overlapped(synthetic_raw, tmp_path / "child", tmp_path, "judgements")

    def broken(*args: object, **kwargs: object) -> pd.DataFrame:
        raise RawFileError(
            "the judgements cannot be read", file="qualitative/theory_judgements.csv"
        )

    monkeypatch.setattr(qual, "clean_judgements", broken)
    here = clean_all(synthetic_raw, tmp_path / "here")
    failed = here.reconciliation.query("status == 'failed'")[["file", "message"]]
    assert got["failed"] == failed.values.tolist()
    assert [f for f, _ in got["failed"]] == ["qualitative/theory_judgements.csv"]
    written = {p.stem for p in (tmp_path / "child").glob("*.parquet")}
    assert "cases" in written and "codings" not in written
