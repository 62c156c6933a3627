"""A batch worker reuses one kernel from report to report: each report must still start
from the state of a fresh kernel, a failure must not carry over, and the kernel dies with
its worker (real kernels)."""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

from hubspoke.report.kernels import WorkerKernel, sweep_stale_sockets
from hubspoke.report.plan import Job
from hubspoke.report.run import execute_job

pytestmark = pytest.mark.slow

HELPER_MODULE = """
import warnings


def warn():
    warnings.warn("shown once per location, unless the registry is forgotten", UserWarning)
"""

#: Leaves everything behind that a report could: names, settings, a figure, a warning, another folder.
MESSY = [
    "leak = 1\nimport os, matplotlib as mpl, matplotlib.pyplot as plt\nimport helper_mod",
    'mpl.rcParams["font.size"] = 33\nfig = plt.figure()\nhelper_mod.warn()',
    'os.chdir("/")',
    'os.environ["HUBSPOKE_LEFT_BEHIND"] = "1"\nimport sys\nsys.path.insert(0, "/nowhere")',
    'import numpy as np, pandas as pd\npd.set_option("display.precision", 1)\nnp.set_printoptions(precision=1)',
]
#: Reports what it finds; its outputs must not depend on what ran before it on the kernel.
PROBE = [
    "import os, matplotlib as mpl, matplotlib.pyplot as plt\nimport helper_mod\nhelper_mod.warn()",
    'print(sorted(k for k in globals() if not k.startswith("_") and k not in ("In", "Out")))',
    'print(mpl.rcParams["font.size"], plt.get_fignums(), os.path.basename(os.getcwd()))',
    "print(len(In))",
    'import sys\nprint(os.environ.get("HUBSPOKE_LEFT_BEHIND"), "/nowhere" in sys.path)',
    'import numpy as np, pandas as pd\nprint(pd.get_option("display.precision"), np.array([1/3]))',
]


def write_notebook(folder: Path, name: str, sources: list[str]) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, folder / f"{name}.ipynb")


@pytest.fixture
def notebooks(tmp_path: Path) -> Path:
    folder = tmp_path / "notebooks"
    folder.mkdir()
    (folder / "helper_mod.py").write_text(HELPER_MODULE)
    write_notebook(folder, "messy", MESSY)
    write_notebook(folder, "probe", PROBE)
    write_notebook(folder, "broken", ["leak = 1", 'raise RuntimeError("deliberately broken")'])
    return folder


def run(job_name: str, notebooks: Path, out: Path, kernel: WorkerKernel | None):
    job = Job(job_name, job_name.title())
    result = execute_job(job, notebooks_dir=notebooks, out_dir=out, inputs_hash="h", kernel=kernel)
    nb = nbformat.read(out / "analyst" / f"{job_name}.ipynb", as_version=4)
    return result, nb


def outputs(nb) -> list[tuple[int | None, list[str]]]:
    """Execution count and the text of every output, cell by cell."""
    return [
        (
            c.execution_count,
            [o.get("text", "") + o.get("name", "") for o in c.outputs],
        )
        for c in nb.cells
    ]


def test_a_report_on_a_reused_kernel_sees_what_a_fresh_kernel_shows(notebooks, tmp_path):
    _, fresh = run("probe", notebooks, tmp_path / "fresh", kernel=None)
    kernel = WorkerKernel(cwd=notebooks, log_dir=tmp_path / "logs")
    try:
        first, _ = run("messy", notebooks, tmp_path / "reused", kernel)
        second, reused = run("probe", notebooks, tmp_path / "reused", kernel)
        assert (first.status, second.status) == ("ok", "ok")
        assert kernel.started == 1, "the kernel was not reused"
    finally:
        kernel.discard()
    assert outputs(reused) == outputs(fresh)
    shown = outputs(reused)
    assert "shown once per location" in "".join(shown[0][1]), "the warning registry survived"
    names = shown[1][1][0]
    assert "helper_mod" in names and "leak" not in names and "fig" not in names
    assert [c for c, _ in shown] == [1, 2, 3, 4, 5, 6]
    assert shown[4][1] == ["None False\nstdout"]
    assert shown[5][1] == ["6 [0.33333333]\nstdout"]


def test_a_failed_report_gets_a_new_kernel_for_the_next(notebooks, tmp_path):
    kernel = WorkerKernel(cwd=notebooks, log_dir=tmp_path / "logs")
    try:
        broken, _ = run("broken", notebooks, tmp_path / "out", kernel)
        after, nb = run("probe", notebooks, tmp_path / "out", kernel)
    finally:
        kernel.discard()
    assert broken.status == "failed" and "deliberately broken" in broken.error
    assert after.status == "ok"
    assert kernel.started == 2
    assert "leak" not in "".join(outputs(nb)[1][1])


def test_a_kernel_is_replaced_after_its_quota_of_reports(notebooks, tmp_path):
    kernel = WorkerKernel(cwd=notebooks, log_dir=tmp_path / "logs", max_reports=2)
    try:
        statuses = [run("probe", notebooks, tmp_path / "out", kernel)[0].status for _ in range(3)]
    finally:
        kernel.discard()
    assert statuses == ["ok"] * 3
    assert kernel.started == 2
    assert sorted(p.name for p in (tmp_path / "logs").iterdir()) == [
        f"kernel-{os.getpid()}-1.log",
        f"kernel-{os.getpid()}-2.log",
    ]


def test_a_discarded_kernel_process_is_gone(notebooks, tmp_path):
    kernel = WorkerKernel(cwd=notebooks, log_dir=tmp_path / "logs")
    km = kernel.acquire()
    process = km.provisioner.process
    kernel.release(ok=True)
    kernel.discard()
    assert process.poll() is not None, "the kernel process still runs"


#: A batch worker in miniature: bound to its parent, it starts a kernel, keeps it busy in a
#: long C loop that holds the GIL (so ipykernel's own parent poller, a Python thread, cannot
#: run), prints the kernel's pid and waits to be killed.
BOUND_WORKER = """
import os, sys, time
from pathlib import Path
from hubspoke.report.kernels import WorkerKernel, die_with_parent
die_with_parent(os.getppid())
kernel = WorkerKernel(cwd=Path(sys.argv[1]), log_dir=Path(sys.argv[2]))
km = kernel.acquire()
kernel.kc.execute("sum(range(10**13))")
print(km.provisioner.pid, flush=True)
time.sleep(600)
"""


def test_a_kernel_dies_with_its_worker_even_when_it_is_busy(notebooks, tmp_path):
    worker = subprocess.Popen(
        [sys.executable, "-c", BOUND_WORKER, str(notebooks), str(tmp_path / "logs")],
        stdout=subprocess.PIPE,
        text=True,
    )
    kernel_pid = 0
    try:
        assert worker.stdout is not None
        ready, _, _ = select.select([worker.stdout], [], [], 180)
        assert ready, "the worker started no kernel"
        kernel_pid = int(worker.stdout.readline())
        time.sleep(2)  # the kernel is inside the loop by now
        worker.kill()
        worker.wait()
        deadline = time.monotonic() + 3
        while _running(kernel_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _running(kernel_pid), "the kernel outlived its worker"
        left = sorted(Path(tempfile.gettempdir()).glob(f"hubspoke-{worker.pid}-*"))
        assert len(left) == 5, "a killed kernel's socket files stay behind"
        swept = sweep_stale_sockets()
        assert set(left) <= set(swept), "and the next batch removes them"
        assert not any(p.exists() for p in left)
    finally:
        worker.kill()
        worker.wait()
        if kernel_pid and _running(kernel_pid):
            os.kill(kernel_pid, signal.SIGKILL)


def _socket(path: Path) -> socket.socket:
    """A Unix socket bound at ``path`` (its file stays until removed)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(path))
    return sock


def test_only_sockets_of_processes_that_are_gone_are_swept(tmp_path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    ours = os.getpid()
    dead = [tmp_path / f"hubspoke-{gone.pid}-0123456789ab-{n}" for n in (1, 2)]
    alive = tmp_path / f"hubspoke-{ours}-0123456789ab-1"
    plain = tmp_path / f"hubspoke-{gone.pid}-0123456789ab-3"  # a file, not a socket
    other = tmp_path / f"hubspoke-{gone.pid}-notours-1"  # not a name the manager gives
    sockets = [_socket(p) for p in (*dead, alive, other)]
    try:
        plain.write_text("synthetic")
        swept = sweep_stale_sockets(tmp_path)
        assert sorted(swept) == sorted(dead)
        assert not any(p.exists() for p in dead)
        assert alive.exists() and plain.exists() and other.exists()
    finally:
        for sock in sockets:
            sock.close()


def _running(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def test_what_outlives_a_reset_is_left_out_of_later_collections() -> None:
    """reset_kernel freezes what survives its collection (imports, caches a report left), so
    the next reset's collection goes over what the next report made only."""
    import gc

    from hubspoke.report.kernels import reset_kernel

    class Shell:
        resets: list[bool] = []

        def reset(self, new_session: bool) -> None:
            self.resets.append(new_session)

    survivor = {"cache a report left": [1, 2, 3]}
    shell = Shell()
    frozen = gc.get_freeze_count()
    try:
        reset_kernel(shell, os.getcwd())
        assert shell.resets == [True]
        assert gc.get_freeze_count() > frozen
        assert not any(o is survivor for o in gc.get_objects())
    finally:
        if not frozen:
            gc.unfreeze()


def test_a_figure_left_open_is_closed_and_collected_not_frozen() -> None:
    """A figure a report left open is closed at the reset and collected before the freeze."""
    import gc
    import weakref

    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt

    from hubspoke.report.kernels import reset_kernel

    class Shell:
        def reset(self, new_session: bool) -> None:
            pass

    fig = plt.figure()
    left_open = weakref.ref(fig)
    del fig
    frozen = gc.get_freeze_count()
    try:
        reset_kernel(Shell(), os.getcwd())
        assert plt.get_fignums() == []
        assert left_open() is None
    finally:
        if not frozen:
            gc.unfreeze()


@pytest.mark.parametrize("reuse", [True, False])
def test_a_batch_kernel_keeps_no_shell_history(notebooks, tmp_path, monkeypatch, reuse):
    """A report's code does not go into the analyst's IPython history (its SQLite file)."""
    ipython_dir = tmp_path / "ipython"
    monkeypatch.setenv("IPYTHONDIR", str(ipython_dir))
    write_notebook(notebooks, "history", ["print(get_ipython().history_manager.enabled)"])
    kernel = WorkerKernel(cwd=notebooks, log_dir=tmp_path / "logs") if reuse else None
    try:
        result, nb = run("history", notebooks, tmp_path / "out", kernel)
    finally:
        if kernel is not None:
            kernel.discard()
    assert result.status == "ok"
    assert outputs(nb)[0][1] == ["False\nstdout"]
    assert ipython_dir.is_dir(), "the kernel did not run under the given IPython folder"
    assert not list(ipython_dir.rglob("history.sqlite"))
