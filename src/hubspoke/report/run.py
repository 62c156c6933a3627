"""The batch run: every notebook, for every service-year and year, through papermill, to HTML.

``hubspoke report`` plans one job per report (:func:`~hubspoke.report.plan.plan_jobs`),
runs them in worker processes (:func:`run_reports`), each of which executes its notebook
with papermill on a kernel that talks over Unix sockets (no network port) and that the
worker reuses, reset, from report to report (:mod:`hubspoke.report.kernels`), then exports
in the same process (:mod:`hubspoke.report.export`):

* ``reports/analyst/<stem>.ipynb`` and ``.html`` - the executed notebook with code and
  full numbers, for the evaluation team;
* ``reports/funder/<stem>.html`` - no code, self-contained (images embedded, no script
  or font from another host), and built from a whitelist of what funders may see.

A failing notebook never stops the others: its executed notebook is kept, the index
(:mod:`hubspoke.report.index`) marks it failed with the error's first line, and the
command exits non-zero. A report whose inputs (notebook, processed data, library,
parameters) are unchanged is not rebuilt. Every file is written to a temporary name and
moved into place.

Workers and their kernels die with the batch process, even under ``kill -9``, and a
worker writes nothing once the batch process is gone (:func:`~hubspoke.report.kernels.die_with_parent`;
papermill keeps the executed notebook in memory, so every file of a report is written
here, after that check). Ctrl-C stops the batch at once: queued reports are cancelled,
workers and kernels killed, the results so far kept in the state file, and
``KeyboardInterrupt`` raised for the command line to exit with status 130.
"""

from __future__ import annotations

import contextlib
import json
import logging
import multiprocessing
import os
import signal
import tempfile
import time
import traceback
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from multiprocessing.util import Finalize
from pathlib import Path

from tqdm import tqdm

from hubspoke import __version__
from hubspoke.analysis.release import check_release, current_release, release_digest
from hubspoke.config import Settings, get_settings
from hubspoke.errors import ReportError
from hubspoke.load import data_version, service_years
from hubspoke.report.export import export_html
from hubspoke.report.index import index_html, write_funder_index
from hubspoke.report.kernels import (
    KERNEL_LOG_ENV,
    WorkerKernel,
    die_with_parent,
    exit_if_orphaned,
    local_transport_kernel_manager,
    sweep_stale_sockets,
)
from hubspoke.report.open_data import write_release_open_data
from hubspoke.report.plan import (
    Job,
    _is_up_to_date,
    _state_path,
    job_inputs_hash,
    library_fingerprint,
    load_state,
    plan_jobs,
)

log = logging.getLogger(__name__)

#: Subfolders of the reports folder the batch writes into.
REPORT_SUBFOLDERS = ("analyst", "funder", "logs")
#: What the open data were last written from (in the reports folder, never the shared funder one).
OPEN_DATA_RECORD = ".open_data.json"

# ---------------------------------------------------------------------------
# Atomic file writes
# ---------------------------------------------------------------------------


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write ``data`` to a temporary file beside ``path`` and move it into place.

    In a batch worker whose batch process is gone, nothing is written: the worker stops.
    """
    exit_if_orphaned()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data.encode("utf-8") if isinstance(data, str) else data)
        fh.flush()
        os.fsync(fh.fileno())
    exit_if_orphaned()  # the report appears only if the batch is still there
    os.replace(tmp, path)


def check_writable(out_dir: Path) -> None:
    """Raise :class:`ReportError` naming the folder when the reports folder cannot be written.

    Checked before any kernel starts, by creating (and removing) a file in the folder
    and each subfolder: permission bits alone do not tell (root, read-only mounts).
    """
    for folder in (out_dir, *(out_dir / name for name in REPORT_SUBFOLDERS)):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            fd, probe = tempfile.mkstemp(prefix=".write-check.", suffix=".tmp", dir=folder)
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            raise ReportError(
                f"cannot write to the reports folder ({exc.strerror or exc})", file=folder
            ) from None


def sweep_temporary_files(out_dir: Path) -> list[Path]:
    """Remove the temporary files an interrupted run left behind (its reports are rebuilt, not half-kept)."""
    leftovers = [
        p
        for pattern in (".*.tmp", ".*.running.ipynb")
        for folder in (out_dir, out_dir / "analyst", out_dir / "funder")
        for p in folder.glob(pattern)
    ]
    for path in leftovers:
        path.unlink(missing_ok=True)
    return leftovers


# ---------------------------------------------------------------------------
# Running one job (in a worker process)
# ---------------------------------------------------------------------------


@dataclass
class JobResult:
    """What happened to one job."""

    stem: str
    notebook: str
    title: str
    parameters: dict
    status: str  # "ok" | "failed" | "unchanged"
    seconds: float = 0.0
    error: str = ""
    inputs_hash: str = ""


def failed_result(job: Job, error: str) -> JobResult:
    """The result of a job that failed before or outside its notebook (worker error, dead worker)."""
    return JobResult(job.stem, job.notebook, job.title, job.parameters, "failed", 0.0, error)


def _first_error_line(exc: BaseException) -> str:
    ename = getattr(exc, "ename", type(exc).__name__)
    evalue = getattr(exc, "evalue", str(exc))
    line = f"{ename}: {evalue}".strip().splitlines()
    return line[0][:300] if line else ename


class _NotebooksInMemory:
    """A papermill I/O handler that keeps executed notebooks in memory instead of on disk.

    papermill then writes no file of its own: every file of a report is written by
    :func:`execute_job` through :func:`write_atomic`, which first checks the batch is alive.
    """

    SCHEME = "hubspoke-memory://"

    def __init__(self) -> None:
        self.saved: dict[str, str] = {}
        self.registered = False

    def read(self, path: str) -> str:
        return self.saved[path]

    def write(self, buf: str, path: str) -> None:
        self.saved[path] = buf

    def listdir(self, path: str) -> list[str]:
        return sorted(p for p in self.saved if p.startswith(path))

    def pretty_path(self, path: str) -> str:
        return path


_IN_MEMORY = _NotebooksInMemory()


def execute_job(
    job: Job,
    *,
    notebooks_dir: Path,
    out_dir: Path,
    inputs_hash: str,
    kernel: WorkerKernel | None = None,
) -> JobResult:
    """Execute one notebook with papermill and export it; never raises for a notebook failure.

    With ``kernel`` the notebook runs on that reused kernel (reset first); without, on a
    kernel of its own that papermill starts and stops.
    """
    # Imported here, not at the top: every kernel imports this package (for
    # hubspoke.report.kernels) before it records its fresh state; importing nbformat and
    # papermill there would slow each kernel's start, and papermill changes the warning filters.
    import nbformat
    import papermill as pm
    from papermill.iorw import papermill_io

    if not _IN_MEMORY.registered:
        papermill_io.register(_IN_MEMORY.SCHEME, _IN_MEMORY)
        _IN_MEMORY.registered = True
    started = time.perf_counter()
    analyst_ipynb = out_dir / "analyst" / f"{job.stem}.ipynb"
    executed = f"{_IN_MEMORY.SCHEME}{analyst_ipynb}"
    status, error = "ok", ""
    run_on: dict = {"kernel_manager_class": local_transport_kernel_manager()}
    try:
        if kernel is not None:
            run_on = {"km": kernel.acquire()}
        else:
            os.environ[KERNEL_LOG_ENV] = str(out_dir / "logs" / f"{job.stem}.kernel.log")
        pm.execute_notebook(
            str(notebooks_dir / f"{job.notebook}.ipynb"),
            executed,
            parameters=job.parameters,
            kernel_name="python3",
            progress_bar=False,
            cwd=str(notebooks_dir),
            # Written once at the end (and on a cell error), not after every cell: the
            # per-cell saves re-serialised the whole notebook ~40 times per report.
            request_save_on_cell_execute=False,
            **run_on,
        )
    except Exception as exc:  # noqa: BLE001 - a notebook failure is reported, never raised
        status, error = "failed", _first_error_line(exc)
    finally:
        if kernel is not None:
            kernel.release(ok=status == "ok")
    text = _IN_MEMORY.saved.pop(executed, None)
    try:
        if text is not None:  # papermill saves the notebook when it ran, even with an error
            nb = nbformat.reads(text, as_version=4)
            nb.metadata.get("papermill", {})["output_path"] = str(analyst_ipynb)
            write_atomic(analyst_ipynb, nbformat.writes(nb))
            write_atomic(
                out_dir / "analyst" / f"{job.stem}.html",
                export_html(nb, audience="analyst", title=job.title),
            )
            if status == "ok":
                write_atomic(
                    out_dir / "funder" / f"{job.stem}.html",
                    export_html(nb, audience="funder", title=job.title),
                )
    except Exception as exc:  # noqa: BLE001
        status, error = "failed", f"export failed: {_first_error_line(exc)}"
    if status != "ok":
        exit_if_orphaned()
        (out_dir / "funder" / f"{job.stem}.html").unlink(missing_ok=True)
    return JobResult(
        job.stem,
        job.notebook,
        job.title,
        job.parameters,
        status,
        round(time.perf_counter() - started, 2),
        error,
        inputs_hash if status == "ok" else "",
    )


#: The kernel this worker process reuses from report to report (``None``: a new one per report).
_worker_kernel: WorkerKernel | None = None


def _worker_init(
    parent_pid: int, env: dict[str, str], notebooks_dir: str, out_dir: str, reuse: bool
) -> None:
    """Start-up of a worker process: bound to the batch process, the settings' environment
    and, when reusing, its kernel.

    Ctrl-C in a terminal reaches the whole process group: the batch process handles it and
    kills the workers, so a worker ignores it (no traceback from each worker).
    """
    global _worker_kernel
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent(parent_pid)
    os.environ.update(env)
    if reuse:
        _worker_kernel = WorkerKernel(cwd=Path(notebooks_dir), log_dir=Path(out_dir) / "logs")
        # Worker processes skip atexit handlers; a Finalize with a priority runs at their exit.
        Finalize(_worker_kernel, _worker_kernel.discard, exitpriority=10)


def _warm_worker() -> None:
    """Get a worker ready before its first report: its kernel started, export imported."""
    import nbformat  # noqa: F401 - imported now, while the release is solved on one core
    import papermill  # noqa: F401

    if _worker_kernel is not None:
        _worker_kernel.start()


def _start_pool(
    settings: Settings, out_dir: Path, workers: int, *, reuse_kernels: bool
) -> ProcessPoolExecutor:
    """The batch's worker processes (spawned as jobs arrive; see :func:`_worker_init`)."""
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_worker_init,
        initargs=(
            os.getpid(),
            _settings_env(settings),
            str(settings.notebooks_dir),
            str(out_dir),
            reuse_kernels,
        ),
    )


class WarmPool:
    """Worker processes started ahead, while the release-wide solve keeps one core busy.

    :meth:`start` (passed to :func:`~hubspoke.analysis.release.current_release` as its
    ``before_solve``) spawns the workers and starts their kernels; :func:`run_batch`
    then runs its reports on them. Nothing starts when the release is read from disk.
    """

    def __init__(
        self, settings: Settings, out_dir: Path, workers: int, *, reuse_kernels: bool
    ) -> None:
        self.settings, self.out_dir, self.workers = settings, out_dir, workers
        self.reuse_kernels = reuse_kernels
        self.pool: ProcessPoolExecutor | None = None

    def start(self) -> None:
        """Spawn workers for the cores the solve leaves idle, each starting its kernel (returns at once).

        The solve keeps one core busy: warming more workers than the other cores
        would only slow it down; the rest start with their first report.
        """
        if self.pool is None:
            self.pool = _start_pool(
                self.settings, self.out_dir, self.workers, reuse_kernels=self.reuse_kernels
            )
            for _ in range(max(1, min(self.workers, (os.cpu_count() or 1) - 1))):
                self.pool.submit(_warm_worker)

    def take(self, workers: int) -> ProcessPoolExecutor | None:
        """The started pool when it has ``workers`` workers (else it is stopped): the caller owns it."""
        pool, self.pool = self.pool, None
        if pool is not None and workers != self.workers:
            _stop_workers(pool)
            return None
        return pool

    def stop(self) -> None:
        """Stop a pool no batch took (the release failed its check, or Ctrl-C)."""
        pool, self.pool = self.pool, None
        if pool is not None:
            _stop_workers(pool)


def _run_in_worker(job: Job, notebooks_dir: str, out_dir: str, inputs_hash: str) -> JobResult:
    try:
        return execute_job(
            job,
            notebooks_dir=Path(notebooks_dir),
            out_dir=Path(out_dir),
            inputs_hash=inputs_hash,
            kernel=_worker_kernel,
        )
    except Exception as exc:  # noqa: BLE001 - keep the batch going whatever happens
        return failed_result(
            job,
            f"worker error: {_first_error_line(exc)} | {traceback.format_exc(limit=1).splitlines()[-1]}",
        )


# ---------------------------------------------------------------------------
# Log
# ---------------------------------------------------------------------------


def _log(out_dir: Path, lines: Iterable[str]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    with (out_dir / "run.log").open("a", encoding="utf-8") as fh:
        for line in lines:
            fh.write(line.rstrip() + "\n")


# ---------------------------------------------------------------------------
# The batch
# ---------------------------------------------------------------------------


def _settings_env(settings: Settings) -> dict[str, str]:
    return {
        "HUBSPOKE_ROOT": str(settings.root),
        "HUBSPOKE_RAW_DIR": str(settings.raw_dir),
        "HUBSPOKE_PROCESSED_DIR": str(settings.processed_dir),
        "HUBSPOKE_FIGURES_DIR": str(settings.figures_dir),
        # The kernels read the release the batch built (``<reports>/.release``), never
        # another folder's, and never build one of their own.
        "HUBSPOKE_REPORTS_DIR": str(settings.reports_dir),
        "HUBSPOKE_CONTEXT_DIR": str(settings.context_dir),
        "HUBSPOKE_KEY_FILE": str(settings.key_file),
        "MPLBACKEND": "agg",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    }


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Stop a pool at once: queued jobs cancelled, workers killed (their kernels die with them)."""
    processes = list((pool._processes or {}).values())
    for process in processes:
        with contextlib.suppress(Exception):  # already gone
            process.kill()
    for process in processes:
        process.join(timeout=10)
    pool.shutdown(wait=True, cancel_futures=True)


def _save_state(out_dir: Path, state: dict[str, dict], results: Iterable[JobResult]) -> None:
    state.update({r.stem: asdict(r) for r in results})
    write_atomic(_state_path(out_dir), json.dumps(state, indent=1, sort_keys=True))


def longest_first(
    to_run: Sequence[tuple[Job, str]], state: dict[str, dict]
) -> list[tuple[Job, str]]:
    """The jobs in the order to start them: the longest first, so the batch does not end
    with one worker busy on a long report while the others wait.

    A report's length is what it took last time (``state``); one never built takes
    what reports of its notebook took on average, and without any, reports over every
    service (cross-site, realist, programme) go before the per-service ones. The order
    only changes when each report starts: every report is the same.
    """
    built = {
        stem: result
        for stem, result in state.items()
        if result.get("status") == "ok" and result.get("seconds")
    }
    took = {stem: float(result["seconds"]) for stem, result in built.items()}
    by_notebook: dict[str, list[float]] = {}
    for stem, result in built.items():
        by_notebook.setdefault(str(result.get("notebook")), []).append(took[stem])

    def expected(item: tuple[Job, str]) -> tuple[float, bool]:
        job = item[0]
        known = by_notebook.get(job.notebook)
        guess = took.get(job.stem, sum(known) / len(known) if known else 0.0)
        return -guess, job.scope_service is not None

    return sorted(to_run, key=expected)


def run_batch(
    jobs: Sequence[Job],
    *,
    settings: Settings,
    out_dir: Path,
    workers: int | None = None,
    progress: bool = True,
    reuse_kernels: bool = True,
    release_digest: str = "",
    warm: WarmPool | None = None,
) -> list[JobResult]:
    """Run ``jobs`` in parallel worker processes; skip those whose inputs are unchanged.

    Each worker reuses one kernel from report to report, reset in between
    (:mod:`hubspoke.report.kernels`); ``reuse_kernels=False`` gives every report a new kernel.
    ``progress`` shows a progress bar, on a terminal only. Workers are started from the
    calling thread, and die with it (see :func:`~hubspoke.report.kernels.die_with_parent`).
    On Ctrl-C the workers are killed, the results so far saved and ``KeyboardInterrupt``
    raised again. ``warm``: workers already started (see :class:`WarmPool`), used when
    there are as many as this batch would start.
    """
    out_dir = Path(out_dir)
    notebooks_dir = settings.notebooks_dir
    missing = sorted(
        {j.notebook for j in jobs if not (notebooks_dir / f"{j.notebook}.ipynb").exists()}
    )
    if missing:
        raise ReportError(
            "notebook not found", file=notebooks_dir / f"{missing[0]}.ipynb", found=missing
        )
    sweep_temporary_files(out_dir)
    sweep_stale_sockets()
    state = load_state(out_dir)
    library = library_fingerprint() + release_digest  # what the release hides is an input too
    results: dict[str, JobResult] = {}
    to_run: list[tuple[Job, str]] = []
    for job in jobs:
        h = job_inputs_hash(
            job,
            notebook_path=notebooks_dir / f"{job.notebook}.ipynb",
            processed_dir=settings.processed_dir,
            library=library,
        )
        if _is_up_to_date(job, state.get(job.stem), h, out_dir):
            results[job.stem] = JobResult(
                job.stem, job.notebook, job.title, job.parameters, "unchanged", 0.0, "", h
            )
        else:
            to_run.append((job, h))
    workers = max(1, min(workers or os.cpu_count() or 1, len(to_run) or 1))
    started = datetime.now(UTC).isoformat(timespec="seconds")
    planned = (
        f"{len(jobs)} reports, {len(to_run)} to build, "
        f"{len(jobs) - len(to_run)} unchanged, {workers} workers"
    )
    log.debug("%s", planned)
    _log(out_dir, [f"== {started} hubspoke {__version__}: {planned}"])
    bar = tqdm(
        total=len(jobs),
        desc="reports",
        unit="report",
        disable=None if progress else True,  # None: shown on a terminal only
        initial=len(jobs) - len(to_run),
    )
    try:
        started_pool = warm.take(workers if to_run else 0) if warm is not None else None
        if to_run:
            pool = started_pool or _start_pool(
                settings, out_dir, workers, reuse_kernels=reuse_kernels
            )
            try:
                futures = {
                    pool.submit(_run_in_worker, job, str(notebooks_dir), str(out_dir), h): job
                    for job, h in longest_first(to_run, state)
                }
                for future in as_completed(futures):
                    job = futures[future]
                    try:
                        result = future.result()
                    except Exception as exc:  # noqa: BLE001 - a dead worker fails its job only
                        result = failed_result(job, f"worker died: {_first_error_line(exc)}")
                    results[job.stem] = result
                    line = f"{result.status:9s} {result.seconds:7.2f}s {result.stem}" + (
                        f"  ERROR {result.error}" if result.error else ""
                    )
                    log.debug("%s", line)
                    _log(out_dir, [line])
                    bar.update(1)
            except BaseException:
                _stop_workers(pool)
                raise
            pool.shutdown(wait=True)
    except KeyboardInterrupt:
        _save_state(out_dir, state, (results[j.stem] for j in jobs if j.stem in results))
        _log(out_dir, [f"interrupted: {len(results)} of {len(jobs)} reports done"])
        raise
    finally:
        bar.close()
    ordered = [results[j.stem] for j in jobs]
    _save_state(out_dir, state, ordered)
    return ordered


def run_reports(
    *,
    out: Path | None = None,
    jobs: int | None = None,
    only: Sequence[str] | None = None,
    settings: Settings | None = None,
    progress: bool = True,
    fresh_kernels: bool = False,
    echo: bool = True,
) -> int:
    """The ``hubspoke report`` command: plan, run, write the index; 0 when every report built.

    The summary (and a line per failed report) is printed to stdout when ``echo`` (for a
    script or notebook), else logged (the command line, where ``-q`` and ``-v`` apply).
    A reports folder that cannot be written is a :class:`ReportError` naming it.
    """
    settings = settings or get_settings()
    out_dir = Path(out or settings.reports_dir)
    planned = plan_jobs(service_years(settings.processed_dir), only=only)
    if not planned:
        raise ReportError("nothing to report: no service-year matches", found=list(only or []))
    check_writable(out_dir)
    t0 = time.perf_counter()
    workers = jobs or os.cpu_count() or 1
    warm = WarmPool(
        settings, out_dir, max(1, min(workers, len(planned))), reuse_kernels=not fresh_kernels
    )
    try:
        release = current_release(settings, jobs=workers, before_solve=warm.start)
        check_release(release)
    except BaseException:
        warm.stop()
        raise
    solve = time.perf_counter() - t0
    _log(
        out_dir,
        [
            f"release: {len(release.cells)} cells, {len(release.hidden)} hidden, "
            f"built or read in {solve:.1f}s"
        ],
    )
    try:
        # The open data depend on the release alone: written beside the workers' reports.
        side = ThreadPoolExecutor(max_workers=1)
        open_data = side.submit(
            write_release_open_data,
            out_dir / "funder" / "data",
            settings=settings,
            record=out_dir / OPEN_DATA_RECORD,
        )
        side.shutdown(wait=False)
        results = run_batch(
            planned,
            settings=settings,
            out_dir=out_dir,
            workers=jobs,
            progress=progress,
            reuse_kernels=not fresh_kernels,
            release_digest=release_digest(release),
            warm=warm,
        )
        state = load_state(out_dir)
        # The index lists every report ever built into this folder that is still planned on the full data.
        everything = plan_jobs(service_years(settings.processed_dir))
        listed = [state[j.stem] for j in everything if j.stem in state]
        built_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        data_ver = data_version(settings.processed_dir)
        write_atomic(out_dir / "index.html", index_html(listed, built=built_at, data_ver=data_ver))
        # The funder folder is shared as it is: its open data and its own index (no analyst links).
        data_files = open_data.result()
        write_funder_index(
            listed,
            out_dir / "funder",
            built=built_at,
            data_ver=data_ver,
            data_files=data_files,
            threshold=settings.suppression_threshold,
            symbol=settings.suppression_symbol,
        )
        failed = [r for r in results if r.status == "failed"]
        built = sum(r.status == "ok" for r in results)
        summary = (
            f"{len(results)} reports: {built} built, {len(results) - built - len(failed)} unchanged, "
            f"{len(failed)} failed in {time.perf_counter() - t0:.1f}s. Index: {out_dir / 'index.html'}"
        )
        _log(out_dir, [summary, *(f"FAILED {r.stem}: {r.error}" for r in failed)])
    except OSError as exc:  # the folder passed the check, then a write failed (disk full...)
        raise ReportError(
            f"cannot write the reports ({exc.strerror or exc})", file=exc.filename or out_dir
        ) from None
    finally:
        warm.stop()  # only when no batch took the workers
    if echo:
        print(summary)
    else:
        log.info("%s", summary)
    for r in failed:
        line = f"FAILED {r.stem}: {r.error}  (see {out_dir / 'analyst' / (r.stem + '.ipynb')})"
        if echo:
            print(f"  {line}")
        else:
            log.error("%s", line)
    return 1 if failed else 0
