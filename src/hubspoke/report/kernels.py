"""The Jupyter kernels the batch run executes notebooks on.

Every kernel talks over Unix sockets (no network port), each with a socket prefix of
its own, and writes its own start-up and shutdown chatter to a log file rather than
to the console where the progress bar is.

A batch worker keeps one kernel and runs report after report on it
(:class:`WorkerKernel`): a report's heavy imports (pandas, matplotlib, scipy and the
library) are then paid once per kernel instead of once per report, which is most of
what a report costs. Before each report the kernel is reset to the state of a fresh
one (:func:`reset_kernel`): the namespace and output history emptied, the execution
counter back at 1, figures closed; environment variables, the import path, matplotlib
settings, warning filters, numpy print options and pandas options restored; and the
working folder set back. Modules a report imported stay imported, as the point is. A kernel is replaced after a report that failed,
when it died, and after :data:`MAX_REPORTS_PER_KERNEL` reports; ``hubspoke report
--fresh-kernels`` starts a new kernel for every report instead.

Workers and kernels die with the batch (:func:`die_with_parent`): on Linux a worker asks
for SIGKILL when the batch process ends (``prctl(PR_SET_PDEATHSIG)``), and every kernel
it starts asks the same of the worker, between fork and exec; before each write a worker
checks that the batch process is still its parent, and stops without writing if not.
Where there is no parent-death signal, a watchdog thread in the worker checks every half
second instead, and ipykernel's own parent poller ends the kernel once its worker is gone.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import logging
import os
import re
import signal
import stat
import sys
import tempfile
import threading
import time
import uuid
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hubspoke.errors import ReportError

#: Environment variable naming the file a kernel's own stdout/stderr go to.
KERNEL_LOG_ENV = "HUBSPOKE_KERNEL_LOG"
#: Reports one kernel runs before it is replaced (bounds any memory a report leaves behind).
#: At national scale a kernel grew by under 1 MiB a report (453 to 566 MiB over 120 service
#: reports), while a replacement costs about 2.5 s of CPU (its start and imports, then the
#: release and tables read again): 100 keeps the growth under 0.1 GiB a kernel and a
#: national batch's replacements to one per worker (three at 40).
MAX_REPORTS_PER_KERNEL = 100
#: Seconds to wait for a kernel to start or to answer a reset.
KERNEL_TIMEOUT = 120
#: Options every batch kernel starts with. No IPython history: a report's code is not an
#: analyst's typing, so it stays out of their shell history (one SQLite file every kernel
#: on the machine shares, which two kernels running side by side would both lock and
#: write, a commit after each cell, on a thread of its own).
KERNEL_OPTIONS = ("--HistoryManager.enabled=False",)
#: Modules every notebook imports; a new kernel imports them once, before its first report.
PRELOAD = (
    "pandas",
    "matplotlib.pyplot",
    "hubspoke.present.display",
    "hubspoke.load",
    "hubspoke.analysis.outcomes",
    "hubspoke.analysis.realist",
    "hubspoke.analysis.service",
    "hubspoke.analysis.cross_site",
)

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------
# Dying with the parent (batch workers, and the kernels they start)
# ---------------------------------------------------------------------------

#: prctl option: the signal Linux sends a process when the thread that started it ends.
_PR_SET_PDEATHSIG = 1
#: Exit status of a worker or kernel that stops because the process it served is gone.
ORPHAN_EXIT_STATUS = 1
#: Seconds between two checks of the watchdog (used only where prctl is not available).
WATCH_INTERVAL = 0.5


def _load_prctl() -> Callable[..., int] | None:
    """libc's ``prctl``, or None where there is none (not Linux, or no usable libc)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return prctl


#: Resolved at import, before any fork: a kernel's pre-exec hook then only calls it.
_PRCTL = _load_prctl()
#: The batch process this worker serves; None outside batch workers (nothing to guard).
_bound_parent: int | None = None


def set_parent_death_signal(sig: int = signal.SIGKILL) -> bool:
    """Ask Linux to send ``sig`` to this process when its parent ends; False where unsupported.

    Linux sends it when the *thread* that started this process ends, so a process must be
    started from a thread that lives as long as its parent does (a worker's main thread).
    """
    if _PRCTL is None:
        return False
    return _PRCTL(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0


def orphaned() -> bool:
    """True in a batch worker whose batch process is gone (it was adopted by another)."""
    return _bound_parent is not None and os.getppid() != _bound_parent


def exit_if_orphaned() -> None:
    """Called before each write of a worker: stop at once, writing nothing, if the batch is gone."""
    if orphaned():
        os._exit(ORPHAN_EXIT_STATUS)


def _watch_parent() -> None:
    while True:
        exit_if_orphaned()
        time.sleep(WATCH_INTERVAL)


def die_with_parent(parent_pid: int) -> None:
    """Bind this process (a batch worker) to the batch process ``parent_pid``.

    It gets SIGKILL when that process ends, and so does every kernel it starts from now
    on (see :func:`local_transport_kernel_manager`). A parent that is already gone ends
    this process at once; where prctl is not available a watchdog thread stands in.
    """
    global _bound_parent
    _bound_parent = parent_pid
    signalled = set_parent_death_signal()
    exit_if_orphaned()  # the parent may have died before the signal was asked for
    if not signalled:
        log.debug("no parent-death signal here: watching parent %d instead", parent_pid)
        threading.Thread(target=_watch_parent, name="hubspoke-parent-watch", daemon=True).start()


def _kernel_pre_exec(worker_pid: int) -> Callable[[], None]:
    """The hook a kernel runs between fork and exec: die with the worker that starts it."""

    def pre_exec() -> None:
        set_parent_death_signal()
        if os.getppid() != worker_pid:  # the worker died while this kernel was forked
            os._exit(ORPHAN_EXIT_STATUS)

    return pre_exec


#: A kernel's socket file (:func:`local_transport_kernel_manager`): the process that started
#: it, a random part, a channel number.
_SOCKET_NAME = re.compile(r"hubspoke-(?P<pid>\d+)-[0-9a-f]{12}-\d+")


def sweep_stale_sockets(folder: Path | None = None) -> list[Path]:
    """Remove the kernel socket files left by processes that are gone; return them.

    A kernel's manager removes its five socket files when it shuts the kernel down, but a
    batch killed, or a worker killed with its kernel, leaves them in the temporary folder
    for good. A file is removed only when it is a socket of this user's, named as this
    module names them, and the process named in it no longer runs.
    """
    stale = [
        path
        for path in Path(folder or tempfile.gettempdir()).glob("hubspoke-*")
        if (match := _SOCKET_NAME.fullmatch(path.name))
        and _own_socket(path)
        and not _running(int(match["pid"]))
    ]
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def _own_socket(path: Path) -> bool:
    """Whether ``path`` is a socket (not a link, not a plain file) owned by this user."""
    try:
        info = path.lstat()
    except OSError:
        return False
    return stat.S_ISSOCK(info.st_mode) and info.st_uid == os.getuid()


def _running(pid: int) -> bool:
    """Whether a process ``pid`` exists (another user's counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def local_transport_kernel_manager() -> type:
    """A kernel manager class whose kernels talk over Unix sockets instead of TCP ports."""
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    class LocalTransportKernelManager(AsyncKernelManager):
        @default("transport")
        def _default_transport(self) -> str:
            return "ipc"

        async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: object) -> None:
            if _bound_parent is not None:  # in a batch worker: the kernel dies with it
                exit_if_orphaned()
                kw.setdefault("preexec_fn", _kernel_pre_exec(os.getpid()))
            log_file = os.environ.get(KERNEL_LOG_ENV)
            if log_file:
                Path(log_file).parent.mkdir(parents=True, exist_ok=True)
                self._hubspoke_log = open(log_file, "ab")  # noqa: SIM115 - lives as long as the kernel
                kw.setdefault("stdout", self._hubspoke_log)
                kw.setdefault("stderr", self._hubspoke_log)
            await super()._async_launch_kernel([*kernel_cmd, *KERNEL_OPTIONS], **kw)
            log.debug("kernel %s started, log %s", getattr(self.provisioner, "pid", None), log_file)

        def client(self, **kw: object) -> Any:
            # Remembered, so that whoever reuses this kernel can close the clients
            # papermill opened on it (papermill leaves them open on a kernel it does not own).
            kc = super().client(**kw)
            self.__dict__.setdefault("hubspoke_clients", []).append(kc)
            return kc

        @default("ip")
        def _default_ip(self) -> str:
            # A socket prefix of its own: parallel kernels sharing the default prefix in
            # one folder would pick the same socket files and read each other's messages.
            return os.path.join(
                tempfile.gettempdir(), f"hubspoke-{os.getpid()}-{uuid.uuid4().hex[:12]}"
            )

    return LocalTransportKernelManager


# ---------------------------------------------------------------------------
# Inside the kernel
# ---------------------------------------------------------------------------

#: What a kernel looked like before its first report: environment, import path, matplotlib
#: settings, warning filters and numpy print options (pandas options go back to defaults).
_PRISTINE: dict[str, Any] = {}


def prepare_kernel(shell: Any, cwd: str, preload: tuple[str, ...] = PRELOAD) -> None:
    """Run once in a new kernel: import what every notebook imports, remember the fresh state."""
    import importlib

    for name in preload:
        importlib.import_module(name)
    import matplotlib as mpl
    import numpy as np

    _PRISTINE.update(
        environ=dict(os.environ),
        path=list(sys.path),
        rc=dict(mpl.rcParams),
        filters=list(warnings.filters),
        printoptions=np.get_printoptions(),
    )
    # What is imported now lives as long as the kernel: frozen, it is left out of every
    # later garbage collection (each reset runs one; a full one over the imported stack
    # cost about 0.2 s per report).
    gc.collect()
    gc.freeze()
    reset_kernel(shell, cwd)


def reset_kernel(shell: Any, cwd: str) -> None:
    """Run in the kernel before each report: bring it back to the state of a fresh kernel."""
    shell.reset(new_session=True)  # namespace, output history; execution counter back to 1
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None and pyplot.get_fignums():
        pyplot.close("all")
        gc.collect()  # the figures a report left open are garbage now, not survivors
    # The reset ended with a full garbage collection: what survived it lives on (imports,
    # the release a report read, caches), so it is frozen and the next reset collects
    # only what the next report makes (halved the reset: 0.07 -> 0.03 s a report). Should a
    # frozen object in a reference cycle be dropped later, it is freed with the kernel
    # (MAX_REPORTS_PER_KERNEL).
    gc.freeze()
    if _PRISTINE:
        import matplotlib as mpl
        import numpy as np
        import pandas as pd

        os.environ.clear()
        os.environ.update(_PRISTINE["environ"])
        sys.path[:] = _PRISTINE["path"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mpl.rcParams.update(_PRISTINE["rc"])
            pd.reset_option("all")  # hubspoke sets no pandas option: a fresh kernel has defaults
        np.set_printoptions(**_PRISTINE["printoptions"])
        warnings.resetwarnings()  # also forgets which warnings were already shown once
        # typeshed declares warnings.filters a Sequence; it is the list the module reads, so it
        # is refilled in place (rebinding it would not reach the C accelerator).
        warnings.filters[:] = _PRISTINE["filters"]  # type: ignore[index]
    os.chdir(cwd)


def _kernel_code(function: str, cwd: str) -> str:
    # No name is bound: the reset empties the namespace this code runs in.
    return (
        f"__import__('hubspoke.report.kernels', fromlist=['_']).{function}(get_ipython(), {cwd!r})"
    )


# ---------------------------------------------------------------------------
# In the worker
# ---------------------------------------------------------------------------


class KernelResetError(ReportError):
    """A kernel could not be prepared or reset (the report fails; the next gets a new kernel)."""


class WorkerKernel:
    """One kernel a batch worker reuses from report to report (see the module docstring)."""

    def __init__(
        self, *, cwd: Path, log_dir: Path, max_reports: int = MAX_REPORTS_PER_KERNEL
    ) -> None:
        self.cwd = str(cwd)
        self.log_dir = Path(log_dir)
        self.max_reports = max_reports
        self.km: Any = None
        self.kc: Any = None  # our own client, for resets (papermill brings its own)
        self.reports = 0
        self.started = 0

    def acquire(self) -> Any:
        """A running kernel's manager, reset for the next report (started when needed)."""
        if self.km is not None and (self.reports >= self.max_reports or not self._alive()):
            self.discard()
        if self.km is None:
            self._start()
        else:
            self._run(_kernel_code("reset_kernel", self.cwd))
        self.reports += 1
        return self.km

    def start(self) -> None:
        """Start the kernel now (imports done), so the first report does not wait for it."""
        if self.km is None:
            self._start()

    def release(self, *, ok: bool) -> None:
        """After a report: a kernel that ran a failed report is not used again."""
        if self.km is not None:
            for kc in self.km.__dict__.pop("hubspoke_clients", []):
                kc.stop_channels()
        if not ok:
            self.discard()

    def discard(self) -> None:
        """Shut the kernel down (quietly if it is already gone)."""
        from jupyter_core.utils import run_sync

        km, kc, self.km, self.kc, self.reports = self.km, self.kc, None, None, 0
        if kc is not None:
            kc.stop_channels()
        if km is None:
            return
        with contextlib.suppress(Exception):  # a dead kernel needs no shutting down
            run_sync(km.shutdown_kernel)(now=True)
        log = getattr(km, "_hubspoke_log", None)
        if log is not None:
            log.close()

    def _alive(self) -> bool:
        from jupyter_core.utils import run_sync

        try:
            return bool(run_sync(self.km.is_alive)())
        except Exception:  # noqa: BLE001
            return False

    def _start(self) -> None:
        from jupyter_core.utils import run_sync

        self.started += 1
        os.environ[KERNEL_LOG_ENV] = str(self.log_dir / f"kernel-{os.getpid()}-{self.started}.log")
        km = local_transport_kernel_manager()(kernel_name="python3")
        run_sync(km.start_kernel)(cwd=self.cwd)
        self.km = km
        try:
            self._run(_kernel_code("prepare_kernel", self.cwd))
        except KernelResetError:
            self.discard()
            raise

    def _run(self, code: str) -> None:
        """Execute ``code`` silently in the kernel; raise :class:`KernelResetError` if it fails."""
        from jupyter_client.blocking import BlockingKernelClient

        try:
            if self.kc is None:
                # The manager as parent: "alive" then means the process runs. Without it the
                # client judges by heartbeats, and a kernel slow to start on a busy machine
                # (a missed beat) was taken for dead.
                self.kc = BlockingKernelClient(parent=self.km)
                self.kc.load_connection_info(self.km.get_connection_info())
                self.kc.start_channels()
                self.kc.wait_for_ready(timeout=KERNEL_TIMEOUT)
            reply = self.kc.execute_interactive(
                code,
                silent=True,
                store_history=False,
                allow_stdin=False,
                timeout=KERNEL_TIMEOUT,
                output_hook=lambda msg: None,
            )
        except Exception as exc:  # noqa: BLE001
            raise KernelResetError("the kernel did not answer", found=str(exc)) from exc
        content = reply.get("content", {})
        if content.get("status") != "ok":
            raise KernelResetError(
                "the kernel could not be prepared for the next report",
                found=f"{content.get('ename')}: {content.get('evalue')}",
            )
