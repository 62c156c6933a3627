"""The processed folder changes as one unit (issue 14, items 7 and 9): staging, switch, sweep, failures."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from broken_files import make_raw
from hubspoke.clean import CleanContext, CleanerResult, clean_all
from hubspoke.clean.qualitative import clean_qualitative
from hubspoke.clean.submissions import clean_quantitative
from hubspoke.errors import ConfigError, RawFileError
from hubspoke.io.parquet import StagedFolder, snapshot
from hubspoke.load import data_version, load_tables
from hubspoke.spec import raw as rs

MARK = rs.SYNTHETIC_MARKER + "\n"
QUAL = {
    "codebook": "code_id,label,cmo,theory_id,parent_code,description\n"
    "PT1,Theory one,,PT1,,Top\nPT1-M1,Trust,M,PT1,PT1,Mechanism\n",
    "transcripts": "transcript_id,service_id,year,respondent_role,interview_date,text\n"
    'T1,S01,2015,Spoke worker,2015-05-01,"Respondent: the Spoke helped a lot here."\n',
    "coded_segments": "segment_id,transcript_id,service_id,year,respondent_role,coder,code_id,"
    "start,end,excerpt\nG1,T1,S01,2015,Spoke worker,AK,PT1-M1,0,10,Respondent\n",
    "theory_judgements": "transcript_id,theory_id,coder,check,judgement,rationale\nT1,PT1,AK,main,supports,fine\n",
}


def write_qual(raw: Path, *, segments: bool = True) -> Path:
    folder = raw / "qualitative"
    folder.mkdir(parents=True, exist_ok=True)
    for name, body in QUAL.items():
        if segments or name != "coded_segments":
            (folder / f"{name}.csv").write_text(MARK + body, encoding="utf-8")
    return raw


def files(out: Path) -> dict[str, bytes]:
    """Every file of the processed folder (through the links), by name."""
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.is_file()}


def leftovers(out: Path) -> list[str]:
    """Staging folders and temporary links a run left in the processed folder."""
    return sorted(
        p.name
        for p in (out / "generations").iterdir()
        if p.name.startswith(("staging-", "current-"))
    )


def generation_numbers(out: Path) -> list[int]:
    return sorted(int(p.name) for p in (out / "generations").iterdir() if p.name.isdigit())


# ---------------------------------------------------------------------------
# Switching a whole run in
# ---------------------------------------------------------------------------


def test_processed_folder_points_to_one_run_and_readers_keep_their_paths(tmp_path):
    raw = make_raw(tmp_path / "raw")
    out = tmp_path / "data" / "processed"
    assert clean_all(raw, out).ok
    assert not out.is_symlink() and (out / "current").is_symlink()
    assert os.readlink(out / "current") == f"generations/{generation_numbers(out)[-1]}"
    assert (out / "cases.parquet").is_file() and (out / "manifest.json").is_file()
    assert os.readlink(out / "cases.parquet") == "current/cases.parquet"
    assert {"cases", "activities", "policy", "services", "spokes"} <= set(load_tables(out))
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary files
    assert leftovers(out) == []
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["processed"]  # all inside


def test_tables_a_run_does_not_produce_are_not_left_over(tmp_path):
    raw = write_qual(make_raw(tmp_path / "raw"))
    out = tmp_path / "processed"
    assert clean_all(raw, out, cleaners=[clean_quantitative, clean_qualitative]).ok
    assert (out / "codings.parquet").is_file()
    assert clean_all(raw, out, cleaners=[clean_quantitative]).ok
    assert not (out / "codings.parquet").exists() and not (out / "codebook.parquet").exists()
    rec = pd.read_parquet(out / "reconciliation.parquet")
    assert not rec["table"].isin(["codings", "codebook"]).any()


def test_folder_from_before_the_generations_is_replaced_whole(tmp_path):
    raw = make_raw(tmp_path / "raw")
    out = tmp_path / "processed"
    out.mkdir()
    (out / "README.md").write_text("kept")
    (out / "codebook.parquet").write_bytes(b"stale table of an older run")
    (out / "cases.parquet").write_bytes(b"older cases")
    (out / ".cases.parquet.4242.tmp").write_bytes(b"half a table")
    assert clean_all(raw, out).ok
    names = {p.name for p in out.iterdir()}
    assert "codebook.parquet" not in names and ".cases.parquet.4242.tmp" not in names
    assert (out / "cases.parquet").is_symlink()
    assert pd.read_parquet(out / "cases.parquet")["service_id"].nunique() == 2
    assert (out / "README.md").read_text() == "kept"


def test_stale_staging_folders_and_links_are_swept(tmp_path):
    raw = make_raw(tmp_path / "raw")
    out = tmp_path / "processed"
    assert clean_all(raw, out).ok
    stale = out / "generations" / "staging-999999"
    stale.mkdir()
    (stale / "cases.parquet").write_bytes(b"from a killed run")
    (stale / ".spokes.parquet.999999.tmp").write_bytes(b"half")
    (out / "generations" / "current-999999").symlink_to("generations/1")
    (out / "generations" / "99").mkdir()  # renamed by a killed run, never switched in
    assert clean_all(raw, out).ok
    assert leftovers(out) == []
    assert clean_all(raw, out).ok
    numbers = generation_numbers(out)
    assert len(numbers) == 2  # the current run and the one before it, no more
    assert os.readlink(out / "current") == f"generations/{numbers[-1]}"


def test_a_second_run_on_the_same_folder_is_refused_while_one_writes(tmp_path):
    out = tmp_path / "processed"
    with StagedFolder(out) as first:
        assert first.path.is_dir()
        with (
            pytest.raises(ConfigError, match="another `hubspoke clean` is writing"),
            StagedFolder(out),
        ):
            pass
    assert not first.path.exists()  # not committed: nothing of the run is kept
    assert not (out / "current").exists()


def test_resolved_path_reads_the_same_run(tmp_path):
    """``HUBSPOKE_PROCESSED_DIR`` is resolved by the settings: the folder stays a plain folder."""
    raw = make_raw(tmp_path / "raw")
    out = tmp_path / "processed"
    assert clean_all(raw, out).ok
    assert clean_all(raw, out.resolve()).ok
    assert out.resolve() == out and (out / "current").is_symlink()
    assert snapshot(out) == out / "generations" / str(generation_numbers(out)[-1])


def test_copy_of_the_folder_reads_and_cleans_like_the_original(tmp_path):
    raw = make_raw(tmp_path / "raw")
    out = tmp_path / "processed"
    assert clean_all(raw, out).ok
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)  # follows the links: plain files and a plain current/ folder
    assert data_version(copy) == data_version(out)
    assert load_tables(copy).keys() == load_tables(out).keys()
    assert clean_all(raw, copy).ok
    assert (copy / "current").is_symlink() and data_version(copy) == data_version(out)


def test_identical_rerun_keeps_the_data_version(tmp_path):
    """Incremental report runs compare data versions: a new generation of the same data is no change."""
    raw = make_raw(tmp_path / "raw")
    out = tmp_path / "processed"
    assert clean_all(raw, out).ok
    version = data_version(out)
    assert clean_all(raw, out).ok
    assert generation_numbers(out) == [1, 2] and data_version(out) == version


# ---------------------------------------------------------------------------
# A cleaner that fails
# ---------------------------------------------------------------------------


def test_cleaner_that_raises_is_a_failed_line_and_the_others_still_run(tmp_path):
    raw = make_raw(tmp_path / "raw")

    def broken_project(ctx: CleanContext) -> CleanerResult:
        raise RawFileError("not a REFI-QDA project", file=ctx.raw_dir / "qualitative" / "x.qdpx")

    summary = clean_all(raw, tmp_path / "out", cleaners=[broken_project, clean_quantitative])
    assert not summary.ok
    failed = summary.failed
    assert failed["file"].tolist() == ["qualitative/x.qdpx"]
    assert "broken_project" in failed["message"].iloc[0]
    assert "not a REFI-QDA project" in failed["message"].iloc[0]
    assert "1 failed" in summary.text() and "FAILED" in summary.text()
    assert (tmp_path / "out" / "cases.parquet").is_file()  # the next cleaner still ran
    rec = pd.read_parquet(tmp_path / "out" / "reconciliation.parquet")
    assert rec.loc[rec["status"] == "failed", "file"].tolist() == ["qualitative/x.qdpx"]


def test_cleaner_that_raises_midway_leaves_none_of_its_tables(tmp_path):
    raw = make_raw(tmp_path / "raw")
    seen: list[set[str]] = []

    def half_done(ctx: CleanContext) -> CleanerResult:
        ctx.tables["codebook"] = pd.DataFrame({"code_id": ["PT1"]})
        raise KeyError("code_id")  # a bug, not bad data: still one failed line, no traceback

    def after(ctx: CleanContext) -> CleanerResult:
        seen.append(set(ctx.tables))
        return CleanerResult()

    summary = clean_all(raw, tmp_path / "out", cleaners=[clean_quantitative, half_done, after])
    assert not summary.ok
    assert "codebook" not in seen[0] and "cases" in seen[0]
    assert summary.failed["file"].tolist() == ["<half_done>"]
    assert "KeyError" in summary.failed["message"].iloc[0]
    assert not (tmp_path / "out" / "codebook.parquet").exists()


def test_interrupted_run_changes_nothing(tmp_path):
    raw = make_raw(tmp_path / "raw")
    out = tmp_path / "out"
    assert clean_all(raw, out).ok
    before = files(out)

    def interrupted(ctx: CleanContext) -> CleanerResult:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        clean_all(raw, out, cleaners=[clean_quantitative, interrupted])
    assert files(out) == before
    assert leftovers(out) == []


def test_unreadable_qdpx_fails_the_run_and_leaves_no_old_codings(tmp_path):
    raw = write_qual(tmp_path / "raw")
    out = tmp_path / "out"
    assert clean_all(raw, out, cleaners=[clean_qualitative]).ok
    assert (out / "codings.parquet").is_file()
    (raw / "qualitative" / "coded_segments.csv").unlink()
    (raw / rs.LAYOUT["qdpx"]).write_bytes(b"this is not a zip file")
    summary = clean_all(raw, out, cleaners=[clean_qualitative])
    assert not summary.ok
    assert rs.LAYOUT["qdpx"] in summary.failed["file"].tolist()
    assert "0 failed" not in summary.text()
    assert not (out / "codings.parquet").exists()  # not the previous run's codings


# ---------------------------------------------------------------------------
# Read-only folders (item 9, part)
# ---------------------------------------------------------------------------


@pytest.fixture
def read_only() -> Iterator:
    """Make a folder read-only for everyone, root included (``chattr +i`` when running as root)."""
    done: list[Path] = []

    def make(path: Path) -> None:
        path.chmod(0o555)
        if os.geteuid() == 0:
            if shutil.which("chattr") is None:
                pytest.skip("running as root without chattr: cannot make a folder read-only")
            result = subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False)
            if result.returncode:
                pytest.skip(f"chattr +i not supported here: {result.stderr.decode().strip()}")
        done.append(path)

    yield make
    for path in done:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(path)], capture_output=True, check=False)
        path.chmod(0o755)


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "hubspoke.cli", *args],
        capture_output=True,
        text=True,
        env=env or dict(os.environ),
        timeout=300,
        check=False,
    )


def test_read_only_processed_folder_is_an_error_naming_it(tmp_path, read_only):
    raw = make_raw(tmp_path / "raw")
    out = tmp_path / "processed"
    out.mkdir()
    (out / "cases.parquet").write_bytes(b"previous")
    read_only(out)
    with pytest.raises(ConfigError, match="read-only") as err:
        clean_all(raw, out)
    assert err.value.file == str(out)
    done = run_cli("clean", "--raw", str(raw), "--out", str(out))
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert f"file {out}: " in done.stderr and "read-only" in done.stderr
    assert (out / "cases.parquet").read_bytes() == b"previous"


def test_processed_folder_that_cannot_be_created_is_an_error_naming_it(tmp_path, read_only):
    raw = make_raw(tmp_path / "raw")
    parent = tmp_path / "data"
    parent.mkdir()
    out = parent / "processed"
    read_only(parent)
    with pytest.raises(ConfigError, match="read-only") as err:
        clean_all(raw, out)
    assert err.value.file == str(out) and str(parent) in str(err.value)
    done = run_cli("clean", "--raw", str(raw), "--out", str(out))
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert str(out) in done.stderr


# ---------------------------------------------------------------------------
# kill -9 while the tables are written
# ---------------------------------------------------------------------------


def _kill_while_writing(raw: Path, out: Path) -> bool:
    """Start ``hubspoke clean`` and SIGKILL it once its staging folder holds a file.

    True when it was killed mid-write; False when it finished first.
    """
    proc = subprocess.Popen(
        [sys.executable, "-m", "hubspoke.cli", "clean", "--raw", str(raw), "--out", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    staging = out / "generations" / f"staging-{proc.pid}"
    deadline = time.monotonic() + 300
    try:
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                if any(os.scandir(staging)):
                    proc.send_signal(signal.SIGKILL)
                    proc.wait()
                    return True
            except FileNotFoundError:
                pass
            time.sleep(0.0005)
        return False
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.slow
def test_kill_9_while_writing_leaves_the_previous_run_and_the_next_run_sweeps(
    tmp_path, synthetic_raw
):
    small = make_raw(tmp_path / "small")
    out = tmp_path / "processed"
    for _ in range(5):
        assert clean_all(small, out).ok
        link, before = os.readlink(out / "current"), files(out)
        if _kill_while_writing(synthetic_raw, out):
            break
    else:
        pytest.fail("the clean finished before it could be killed while writing")
    assert os.readlink(out / "current") == link
    assert files(out) == before  # not one table of the killed run, none missing
    assert leftovers(out)  # what the killed run left behind ...
    assert clean_all(small, out).ok
    assert leftovers(out) == []  # ... is swept by the next run
    tables = {name: data for name, data in before.items() if name.endswith(".parquet")}
    assert {name: data for name, data in files(out).items() if name in tables} == tables
