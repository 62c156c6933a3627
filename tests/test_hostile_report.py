"""``hubspoke report`` under hostile conditions: killed, interrupted, a read-only reports folder.

Real processes throughout: the command runs in a subprocess of its own session, on a
throwaway root whose notebooks only record their kernel's pid and then sleep, so the
test knows when workers and kernels are busy and which processes belong to the run.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from hubspoke.analysis.release import release_path, release_stamp, write_release
from hubspoke.config import get_settings
from hubspoke.privacy.release import Release
from hubspoke.report.plan import NOTEBOOKS
from hubspoke.spec.raw import SUBMISSION_TABLE_NAMES

HUBSPOKE = Path(sys.executable).with_name("hubspoke")
#: Seconds each test notebook sleeps after its kernel reports in (the window to kill the run in).
SLEEP = 6
#: Bound for workers and kernels to start on a busy two-core machine.
START_TIMEOUT = 180
#: How soon after the kill every process of the run must be gone.
GONE_WITHIN = 5.0


# ---------------------------------------------------------------------------
# A throwaway project: tiny processed data, notebooks that sleep
# ---------------------------------------------------------------------------


def write_sleepy_notebooks(folder: Path) -> None:
    """Every planned notebook, replaced by one that records its kernel's pid and then sleeps."""
    folder.mkdir(parents=True)
    for spec in NOTEBOOKS:
        nb = nbformat.v4.new_notebook()
        params = nbformat.v4.new_code_cell('service_id = "S01"\nyear = 2014')
        params.metadata["tags"] = ["parameters"]
        nb.cells = [
            params,
            nbformat.v4.new_code_cell(
                "import os, pathlib, time\n"
                'pathlib.Path(os.environ["HOSTILE_MARKERS"], str(os.getpid())).touch()\n'
                f"time.sleep({SLEEP})"
            ),
        ]
        nb.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3",
            "language": "python",
        }
        nbformat.write(nb, folder / f"{spec.name}.ipynb")


def write_tiny_processed(folder: Path) -> None:
    """Just enough processed data to plan a batch: one service in three years."""
    folder.mkdir(parents=True)
    frame = pd.DataFrame({"service_id": ["S01"] * 3, "year": [2014, 2015, 2016]})
    frame.to_parquet(folder / f"{SUBMISSION_TABLE_NAMES[0]}.parquet", index=False)


@dataclass
class Project:
    """Where a hostile run reads and writes, and the environment that points it there."""

    root: Path
    out: Path
    markers: Path
    env: dict[str, str]


@pytest.fixture
def project(tmp_path: Path) -> Project:
    root = tmp_path / "project"
    write_sleepy_notebooks(root / "notebooks")
    write_tiny_processed(root / "processed")
    # The funder release of data this thin is empty: saved up to date, so the run starts at once.
    settings = get_settings().with_paths(
        processed_dir=root / "processed", reports_dir=root / "reports"
    )
    write_release(Release.empty(), release_path(settings), stamp=release_stamp(settings))
    markers = tmp_path / "markers"
    markers.mkdir()
    env = {
        **os.environ,
        "HUBSPOKE_ROOT": str(root),
        "HUBSPOKE_RAW_DIR": str(root / "raw"),
        "HUBSPOKE_PROCESSED_DIR": str(root / "processed"),
        "HUBSPOKE_FIGURES_DIR": str(root / "figures"),
        "HUBSPOKE_REPORTS_DIR": str(root / "reports"),
        "HUBSPOKE_CONTEXT_DIR": str(root / "context"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "jupyter-runtime"),
        "HOSTILE_MARKERS": str(markers),
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    }
    return Project(root, root / "reports", markers, env)


# ---------------------------------------------------------------------------
# Processes, read from /proc
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Proc:
    """A process as /proc shows it; (pid, start) names it even if the pid is reused later."""

    pid: int
    ppid: int
    sid: int
    start: int
    state: str


def read_proc(pid: int) -> Proc | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = stat[stat.rindex(")") + 2 :].split()  # the command name may hold spaces
    return Proc(pid, int(fields[1]), int(fields[3]), int(fields[19]), fields[0])


def all_procs() -> list[Proc]:
    procs = (read_proc(int(p.name)) for p in Path("/proc").iterdir() if p.name.isdigit())
    return [p for p in procs if p is not None]


def processes_of_run(leader: int, kernel_pids: set[int]) -> set[Proc]:
    """Everything the run started: its session, descendants of its session, and its kernels."""
    procs = all_procs()
    found = {p for p in procs if p.sid == leader or p.pid in kernel_pids}
    grew = True
    while grew:  # kernels live in sessions of their own: follow parents down from the run's
        pids = {p.pid for p in found} | {leader}
        more = {p for p in procs if p.ppid in pids} - found
        found |= more
        grew = bool(more)
    return {p for p in found if p.pid != leader}


def alive(proc: Proc) -> bool:
    """Still running: same pid and start time, and not a zombie waiting to be reaped."""
    now = read_proc(proc.pid)
    return now is not None and now.start == proc.start and now.state != "Z"


def kill_leftovers(procs: set[Proc]) -> None:
    """Clean up after a failing test: SIGKILL, by pid, the processes this test's run started."""
    for proc in procs:
        if alive(proc):
            os.kill(proc.pid, signal.SIGKILL)


def files_of(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``folder`` with its size and modification time."""
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in folder.rglob("*")
        if p.is_file()
    }


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


#: Runs a command with Ctrl-C at its default, as from a terminal: a test run started in the
#: background (``&``) ignores SIGINT, and a child would inherit that. (``exec`` keeps the
#: process, so its pid is the command's; ``preexec_fn`` is unsafe with the session's threads.)
DEFAULT_CTRL_C = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
    "os.execv(sys.argv[1], sys.argv[1:])"
)


@pytest.fixture
def started(project: Project, tmp_path: Path) -> Iterator[tuple[subprocess.Popen, set[Proc]]]:
    """``hubspoke report`` in a session of its own, with two workers each busy on a notebook.

    Yields the process and every worker and kernel process of the run; whatever of them
    the test leaves alive is killed afterwards.
    """
    stderr = (tmp_path / "stderr.txt").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-c", DEFAULT_CTRL_C, str(HUBSPOKE), "report", "--jobs", "2"]
        + ["--out", str(project.out), "--only", "S01"],
        env=project.env,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        start_new_session=True,
    )
    procs: set[Proc] = set()
    try:
        wait_for(
            lambda: len(list(project.markers.iterdir())) >= 2 or proc.poll() is not None,
            START_TIMEOUT,
            "two kernels running notebooks",
        )
        assert proc.poll() is None, (tmp_path / "stderr.txt").read_text()
        kernels = {int(p.name) for p in project.markers.iterdir()}
        procs = processes_of_run(proc.pid, kernels)
        assert kernels <= {p.pid for p in procs}, "the kernels are not the run's"
        assert len(procs - {p for p in procs if p.pid in kernels}) >= 2, "no worker found"
        yield proc, procs
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        kill_leftovers(procs | processes_of_run(proc.pid, set()))
        stderr.close()


# ---------------------------------------------------------------------------
# kill -9: workers and kernels die with the command and write nothing after it
# ---------------------------------------------------------------------------


@pytest.mark.slow
def test_kill_9_of_report_leaves_no_worker_or_kernel_and_no_later_write(started, project):
    proc, procs = started
    before = files_of(project.out)

    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    deadline = time.monotonic() + GONE_WITHIN
    while any(alive(p) for p in procs) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = sorted(p.pid for p in procs if alive(p))
    assert left == [], f"still running {GONE_WITHIN}s after kill -9: {left}"
    # Long enough for the notebooks to have finished and been exported, had anything survived.
    time.sleep(SLEEP + 3)
    assert files_of(project.out) == before, "a report file was written after the kill"


# ---------------------------------------------------------------------------
# Ctrl-C: exit status 130, no traceback, no process left
# ---------------------------------------------------------------------------


@pytest.mark.slow
def test_ctrl_c_exits_130_without_traceback_and_stops_every_worker(started, project, tmp_path):
    proc, procs = started
    before = files_of(project.out)

    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal sends: the whole group
    code = proc.wait(timeout=30)

    stderr = (tmp_path / "stderr.txt").read_text()
    assert code == 130, stderr
    assert "Traceback" not in stderr
    assert "interrupted" in stderr
    # stderr is a file, not a terminal: the progress bar stays off.
    assert "%|" not in stderr and "\r" not in stderr
    deadline = time.monotonic() + GONE_WITHIN
    while any(alive(p) for p in procs) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert sorted(p.pid for p in procs if alive(p)) == []
    time.sleep(SLEEP + 3)
    after = files_of(project.out)
    reports = {k for k in after if k.startswith(("analyst/", "funder/"))}
    assert reports == {k for k in before if k.startswith(("analyst/", "funder/"))}


# ---------------------------------------------------------------------------
# The parent-death signal itself
# ---------------------------------------------------------------------------

GRANDCHILD = textwrap.dedent(
    """
    import os, sys, time
    from hubspoke.report import kernels
    parent, how = int(sys.argv[1]), sys.argv[2]
    if how == "watchdog":
        kernels._PRCTL = None  # as where there is no prctl: the fallback must do
    kernels.die_with_parent(parent)
    print(os.getpid(), flush=True)
    time.sleep(60)
    """
)
CHILD = textwrap.dedent(
    """
    import os, subprocess, sys, time
    child = subprocess.Popen([sys.executable, "-c", sys.argv[1], str(os.getpid()), sys.argv[2]])
    time.sleep(60)
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("how", ["signal", "watchdog"])
def test_a_process_bound_to_its_parent_dies_when_the_parent_is_killed(how):
    middle = subprocess.Popen(
        [sys.executable, "-c", CHILD, GRANDCHILD, how], stdout=subprocess.PIPE, text=True
    )
    bound = None
    try:
        assert middle.stdout is not None
        ready, _, _ = select.select([middle.stdout], [], [], 60)
        assert ready, "the bound process never started"
        bound = read_proc(int(middle.stdout.readline() or 0))
        assert bound is not None and alive(bound)
        middle.kill()
        middle.wait()
        wait_for(lambda: not alive(bound), 3, "the bound process to die with its parent")
    finally:
        middle.kill()
        middle.wait()
        kill_leftovers({bound} if bound else set())


def test_binding_to_a_parent_that_is_already_gone_exits_at_once():
    """The race: a worker whose parent died before it could ask for the signal stops itself."""
    code = subprocess.run(
        [
            sys.executable,
            "-c",
            "from hubspoke.report.kernels import die_with_parent; die_with_parent(1); print('ran on')",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert code.returncode != 0 and "ran on" not in code.stdout
    assert code.stderr == "", "it stops quietly, without a traceback"


# ---------------------------------------------------------------------------
# A reports folder that cannot be written
# ---------------------------------------------------------------------------


def test_a_read_only_reports_folder_is_an_error_naming_it_not_a_traceback(project):
    project.out.mkdir(exist_ok=True)  # the saved release lives in it already
    project.out.chmod(0o555)
    command = [str(HUBSPOKE), "report", "--out", str(project.out)]
    if os.geteuid() == 0:  # root writes anywhere: drop that privilege for the command
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv to drop CAP_DAC_OVERRIDE")
        drop = "-dac_override,-dac_read_search"
        command = [setpriv, f"--inh-caps={drop}", f"--bounding-set={drop}", "--", *command]
    try:
        result = subprocess.run(
            command, env=project.env, capture_output=True, text=True, timeout=120
        )
    finally:
        project.out.chmod(0o755)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert str(project.out) in result.stderr
    assert "cannot write" in result.stderr
    assert list(project.markers.iterdir()) == [], "a kernel started anyway"
