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
"""

from __future__ import annotations

import json
import multiprocessing
import os
import time
import traceback
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from multiprocessing.util import Finalize
from pathlib import Path

from tqdm import tqdm

from hubspoke import __version__
from hubspoke.config import Settings, get_settings
from hubspoke.errors import ReportError
from hubspoke.load import data_version, service_years
from hubspoke.report.export import export_html
from hubspoke.report.index import index_html
from hubspoke.report.kernels import KERNEL_LOG_ENV, WorkerKernel, local_transport_kernel_manager
from hubspoke.report.plan import (
    Job,
    _is_up_to_date,
    _state_path,
    job_inputs_hash,
    library_fingerprint,
    load_state,
    plan_jobs,
)

# ---------------------------------------------------------------------------
# Atomic file writes
# ---------------------------------------------------------------------------


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write ``data`` to a temporary file beside ``path`` and move it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data.encode("utf-8") if isinstance(data, str) else data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


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

    started = time.perf_counter()
    analyst_ipynb = out_dir / "analyst" / f"{job.stem}.ipynb"
    tmp_ipynb = analyst_ipynb.with_name(f".{job.stem}.{os.getpid()}.running.ipynb")
    tmp_ipynb.parent.mkdir(parents=True, exist_ok=True)
    status, error = "ok", ""
    run_on: dict = {"kernel_manager_class": local_transport_kernel_manager()}
    try:
        if kernel is not None:
            run_on = {"km": kernel.acquire()}
        else:
            os.environ[KERNEL_LOG_ENV] = str(out_dir / "logs" / f"{job.stem}.kernel.log")
        pm.execute_notebook(
            str(notebooks_dir / f"{job.notebook}.ipynb"),
            str(tmp_ipynb),
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
    try:
        if tmp_ipynb.exists():
            nb = nbformat.read(tmp_ipynb, as_version=4)
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
    finally:
        tmp_ipynb.unlink(missing_ok=True)
    if status != "ok":
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


def _worker_init(env: dict[str, str], notebooks_dir: str, out_dir: str, reuse: bool) -> None:
    """Start-up of a worker process: the settings' environment and, when reusing, its kernel."""
    global _worker_kernel
    os.environ.update(env)
    if reuse:
        _worker_kernel = WorkerKernel(cwd=Path(notebooks_dir), log_dir=Path(out_dir) / "logs")
        # Worker processes skip atexit handlers; a Finalize with a priority runs at their exit.
        Finalize(_worker_kernel, _worker_kernel.discard, exitpriority=10)


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
        "HUBSPOKE_CONTEXT_DIR": str(settings.context_dir),
        "HUBSPOKE_KEY_FILE": str(settings.key_file),
        "MPLBACKEND": "agg",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    }


def run_batch(
    jobs: Sequence[Job],
    *,
    settings: Settings,
    out_dir: Path,
    workers: int | None = None,
    progress: bool = True,
    reuse_kernels: bool = True,
) -> list[JobResult]:
    """Run ``jobs`` in parallel worker processes; skip those whose inputs are unchanged.

    Each worker reuses one kernel from report to report, reset in between
    (:mod:`hubspoke.report.kernels`); ``reuse_kernels=False`` gives every report a new kernel.
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
    state = load_state(out_dir)
    library = library_fingerprint()
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
    _log(
        out_dir,
        [
            f"== {started} hubspoke {__version__}: {len(jobs)} reports, {len(to_run)} to build, "
            f"{len(jobs) - len(to_run)} unchanged, {workers} workers"
        ],
    )
    bar = tqdm(
        total=len(jobs),
        desc="reports",
        unit="report",
        disable=not progress,
        initial=len(jobs) - len(to_run),
    )
    if to_run:
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(
            max_workers=workers,
            mp_context=ctx,
            initializer=_worker_init,
            initargs=(_settings_env(settings), str(notebooks_dir), str(out_dir), reuse_kernels),
        ) as pool:
            futures = {
                pool.submit(_run_in_worker, job, str(notebooks_dir), str(out_dir), h): job
                for job, h in to_run
            }
            for future in as_completed(futures):
                job = futures[future]
                try:
                    result = future.result()
                except Exception as exc:  # noqa: BLE001 - a dead worker fails its job only
                    result = failed_result(job, f"worker died: {_first_error_line(exc)}")
                results[job.stem] = result
                _log(
                    out_dir,
                    [
                        f"{result.status:9s} {result.seconds:7.2f}s {result.stem}"
                        + (f"  ERROR {result.error}" if result.error else "")
                    ],
                )
                bar.update(1)
    bar.close()
    ordered = [results[j.stem] for j in jobs]
    state.update({r.stem: asdict(r) for r in ordered})
    write_atomic(_state_path(out_dir), json.dumps(state, indent=1, sort_keys=True))
    return ordered


def run_reports(
    *,
    out: Path | None = None,
    jobs: int | None = None,
    only: Sequence[str] | None = None,
    settings: Settings | None = None,
    progress: bool = True,
    fresh_kernels: bool = False,
) -> int:
    """The ``hubspoke report`` command: plan, run, write the index; 0 when every report built."""
    settings = settings or get_settings()
    out_dir = Path(out or settings.reports_dir)
    planned = plan_jobs(service_years(settings.processed_dir), only=only)
    if not planned:
        raise ReportError("nothing to report: no service-year matches", found=list(only or []))
    t0 = time.perf_counter()
    results = run_batch(
        planned,
        settings=settings,
        out_dir=out_dir,
        workers=jobs,
        progress=progress,
        reuse_kernels=not fresh_kernels,
    )
    state = load_state(out_dir)
    # The index lists every report ever built into this folder that is still planned on the full data.
    everything = plan_jobs(service_years(settings.processed_dir))
    listed = [state[j.stem] for j in everything if j.stem in state]
    write_atomic(
        out_dir / "index.html",
        index_html(
            listed,
            built=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            data_ver=data_version(settings.processed_dir),
        ),
    )
    failed = [r for r in results if r.status == "failed"]
    built = sum(r.status == "ok" for r in results)
    summary = (
        f"{len(results)} reports: {built} built, {len(results) - built - len(failed)} unchanged, "
        f"{len(failed)} failed in {time.perf_counter() - t0:.1f}s. Index: {out_dir / 'index.html'}"
    )
    _log(out_dir, [summary, *(f"FAILED {r.stem}: {r.error}" for r in failed)])
    print(summary)
    for r in failed:
        print(f"  FAILED {r.stem}: {r.error}  (see {out_dir / 'analyst' / (r.stem + '.ipynb')})")
    return 1 if failed else 0
