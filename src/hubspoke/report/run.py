"""The batch run: every notebook, for every service-year and year, through papermill, to HTML.

``hubspoke report`` plans one job per report (:func:`plan_jobs`), runs them in
worker processes (:func:`run_reports`), each of which executes its notebook with
papermill on a kernel that talks over Unix sockets (no network port) and that the
worker reuses, reset, from report to report (:mod:`hubspoke.report.kernels`), then exports
in the same process:

* ``reports/analyst/<stem>.ipynb`` and ``.html`` - the executed notebook with code and
  full numbers, for the evaluation team;
* ``reports/funder/<stem>.html`` - no code, self-contained (images embedded, no script
  or font from another host), and built from a whitelist: only markdown cells and the
  outputs the notebook marked as safe for funders (:mod:`hubspoke.present.display` marks them
  after disclosure control) survive.

A failing notebook never stops the others: its executed notebook is kept, the index
marks it failed with the error's first line, and the command exits non-zero.
A report whose inputs (notebook, processed data, library, parameters) are unchanged
is not rebuilt. Every file is written to a temporary name and moved into place.
"""

from __future__ import annotations

import functools
import hashlib
import html
import json
import multiprocessing
import os
import time
import traceback
from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from hubspoke import SYNTHETIC_NOTICE, __version__
from hubspoke.config import Settings, get_settings
from hubspoke.errors import ReportError
from hubspoke.load import data_fingerprint, data_version, service_years
from hubspoke.present.display import FUNDER_TAG
from hubspoke.report.kernels import KERNEL_LOG_ENV, WorkerKernel, local_transport_kernel_manager

#: Output metadata tag that marks an output as safe for funders (set by hubspoke.present.display).
#: Cell tags removed from every HTML export.
REMOVED_CELL_TAGS = frozenset({"parameters", "injected-parameters", "remove"})
TEMPLATE_DIR = Path(__file__).parent / "templates"


# ---------------------------------------------------------------------------
# What to run
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class NotebookSpec:
    """A notebook and the parameter sets it is run with: per service-year, per year plus all, or once."""

    name: str
    title: str
    per: str  # "service_year" | "year" | "once"
    scope: str = (
        "cross-site"  # which part of the data its inputs depend on: "service" or "cross-site"
    )


NOTEBOOKS: tuple[NotebookSpec, ...] = (
    NotebookSpec("service_report", "Service report", "service_year", scope="service"),
    NotebookSpec("cross_site", "Cross-site comparison", "year"),
    NotebookSpec("realist_synthesis", "Realist synthesis", "once"),
    NotebookSpec("coding_quality", "Coding and data quality", "once"),
    NotebookSpec("local_context", "Local context", "once"),
)


@dataclass(frozen=True)
class Job:
    """One report to build."""

    notebook: str
    title: str
    parameters: dict = field(default_factory=dict)
    scope_service: str | None = None

    @property
    def stem(self) -> str:
        """Stable output name, e.g. ``service_report_S03_2015`` or ``cross_site_all``."""
        parts = [self.notebook, *(str(v) for v in self.parameters.values())]
        return "_".join(parts)


def plan_jobs(
    service_years: Iterable[tuple[str, int]],
    *,
    notebooks: Sequence[NotebookSpec] = NOTEBOOKS,
    only: Sequence[str] | None = None,
) -> list[Job]:
    """Every report of the batch: one per service-year, one per year plus all years, and the single ones.

    ``only`` keeps jobs whose notebook name, service id or stem is listed.
    """
    pairs = sorted(set(service_years))
    years = sorted({year for _, year in pairs})
    jobs: list[Job] = []
    for spec in notebooks:
        if spec.per == "service_year":
            jobs += [
                Job(
                    spec.name,
                    f"{spec.title}: {sid}, {year}",
                    {"service_id": sid, "year": year},
                    scope_service=sid,
                )
                for sid, year in pairs
            ]
        elif spec.per == "year":
            jobs += [Job(spec.name, f"{spec.title}: {year}", {"year": str(year)}) for year in years]
            jobs.append(Job(spec.name, f"{spec.title}: all years", {"year": "all"}))
        else:
            jobs.append(Job(spec.name, spec.title))
    if only:
        wanted = set(only)
        jobs = [
            j
            for j in jobs
            if j.notebook in wanted or j.stem in wanted or j.parameters.get("service_id") in wanted
        ]
    return jobs


# ---------------------------------------------------------------------------
# Inputs fingerprint (for incremental runs)
# ---------------------------------------------------------------------------


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def library_fingerprint() -> str:
    """Hash of the library's version and source, so a code change rebuilds every report."""
    root = Path(__file__).parents[1]  # the whole hubspoke package
    digest = hashlib.sha256(__version__.encode())
    for path in sorted(root.rglob("*")):
        if path.suffix in {".py", ".j2", ".csv", ".json", ".toml", ".css"} and path.is_file():
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def job_inputs_hash(job: Job, *, notebook_path: Path, processed_dir: Path, library: str) -> str:
    """Hash of everything a report is built from: notebook, data, library, parameters."""
    parts = {
        "notebook": _sha(notebook_path.read_bytes()),
        "data": data_fingerprint(processed_dir, service_id=job.scope_service),
        "library": library,
        "parameters": job.parameters,
    }
    return _sha(json.dumps(parts, sort_keys=True).encode())


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
# Export
# ---------------------------------------------------------------------------


def _drop_removed_cells(nb):
    nb.cells = [
        c
        for c in nb.cells
        if not REMOVED_CELL_TAGS.intersection(c.get("metadata", {}).get("tags", []))
    ]
    return nb


def funder_notebook(nb):
    """A copy of an executed notebook holding only what a funder may see.

    Markdown cells stay; from code cells only outputs tagged ``funder`` stay (the
    display helpers tag them after disclosure control); code, streams, errors and
    untagged outputs go. The parameter cells go whole.
    """
    import copy

    nb = _drop_removed_cells(copy.deepcopy(nb))
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.outputs = [
            o
            for o in cell.get("outputs", [])
            if FUNDER_TAG in o.get("metadata", {}).get("tags", [])
        ]
        cell.source = ""
    nb.cells = [c for c in nb.cells if c.cell_type != "code" or c.outputs]
    return nb


@functools.cache
def _exporter(*, exclude_input: bool, embed_images: bool):
    """An HTML exporter (made once per process and setting: compiling its templates is slow)."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="hubspoke",
        extra_template_basedirs=[str(TEMPLATE_DIR)],
        exclude_input=exclude_input,
        exclude_input_prompt=exclude_input,
        exclude_output_prompt=True,
        embed_images=embed_images,
    )
    return exporter


def _links_images(nb) -> bool:
    """Whether a markdown cell shows an image by reference (``display.figure`` embeds its own)."""
    return any(
        "![" in c.source or "<img" in c.source for c in nb.cells if c.cell_type == "markdown"
    )


def export_html(nb, *, audience: str, title: str) -> str:
    """Render an executed notebook to self-contained HTML for ``analyst`` or ``funder``."""
    if audience == "funder":
        nb = funder_notebook(nb)
    else:
        nb = _drop_removed_cells(__import__("copy").deepcopy(nb))
    nb.metadata["title"] = title
    # Every report says its data are synthetic: the template adds the notice when the
    # notebook did not show it itself (display.header shows it at the top of each report).
    shown = any(
        SYNTHETIC_NOTICE in json.dumps(c.get("outputs", []))
        for c in nb.cells
        if c.cell_type == "code"
    )
    resources = {
        "hubspoke": {"audience": audience, "notice": SYNTHETIC_NOTICE, "add_notice": not shown}
    }
    exporter = _exporter(exclude_input=audience == "funder", embed_images=_links_images(nb))
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    return body


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
        from multiprocessing.util import Finalize

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
# State, index page and log
# ---------------------------------------------------------------------------


def _state_path(out_dir: Path) -> Path:
    return out_dir / ".state.json"


def load_state(out_dir: Path) -> dict[str, dict]:
    """The last result of every report, by stem."""
    path = _state_path(out_dir)
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return {}


def _is_up_to_date(job: Job, previous: dict | None, inputs_hash: str, out_dir: Path) -> bool:
    return bool(
        previous
        and previous.get("status") in {"ok", "unchanged"}
        and previous.get("inputs_hash") == inputs_hash
        and (out_dir / "funder" / f"{job.stem}.html").exists()
        and (out_dir / "analyst" / f"{job.stem}.ipynb").exists()
    )


_INDEX_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:70rem;color:#1b1b1b;padding:0 1rem}
.notice{background:#fff3cd;border:2px solid #b58105;padding:.75rem 1rem;font-weight:600;margin-bottom:1.5rem}
table{border-collapse:collapse;margin:1rem 0}th,td{border:1px solid #bbb;padding:.35rem .6rem;text-align:left}
th{background:#f0f0f0}.ok{color:#135e1f}.failed{color:#a4161a;font-weight:600}.unchanged{color:#135e1f}
.err{font-family:monospace;font-size:.85em;color:#a4161a}small{color:#555}
"""


def _cell_link(result: dict | None) -> str:
    if result is None:
        return "<td>—</td>"
    stem = html.escape(result["stem"])
    status = result["status"]
    if status == "failed":
        return (
            f'<td><span class="failed">failed</span> <a href="analyst/{stem}.ipynb">notebook</a>'
            f'<div class="err">{html.escape(result["error"])}</div></td>'
        )
    label = "ok" if status == "ok" else "ok (unchanged)"
    return (
        f'<td><a href="funder/{stem}.html">report</a> <small>(<a href="analyst/{stem}.html">analyst</a>)</small> '
        f'<span class="{status}">{label}</span></td>'
    )


def index_html(results: Sequence[dict], *, built: str, data_ver: str) -> str:
    """The index page: service reports by service and year, then the cross-site and other reports."""
    by_stem = {r["stem"]: r for r in results}
    service = [r for r in results if r["notebook"] == "service_report"]
    services = sorted({r["parameters"]["service_id"] for r in service})
    years = sorted({int(r["parameters"]["year"]) for r in service})
    rows = []
    for sid in services:
        cells = "".join(_cell_link(by_stem.get(f"service_report_{sid}_{y}")) for y in years)
        rows.append(f"<tr><th>{html.escape(sid)}</th>{cells}</tr>")
    others = [r for r in results if r["notebook"] != "service_report"]
    other_rows = "".join(
        f"<tr><td>{html.escape(r['title'])}</td>{_cell_link(r)}</tr>" for r in others
    )
    failed = sum(r["status"] == "failed" for r in results)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Hub and Spoke evaluation reports</title>
<style>{_INDEX_CSS}</style></head><body>
<div class="notice" role="note">{html.escape(SYNTHETIC_NOTICE)}</div>
<h1>Hub and Spoke evaluation: reports</h1>
<p>Built {html.escape(built)} from data version {html.escape(data_ver)} with hubspoke {html.escape(__version__)}.
{len(results)} reports, {failed} failed.</p>
<h2 id="service-reports">Service reports by service and year</h2>
<table><thead><tr><th>Service</th>{"".join(f"<th>{y}</th>" for y in years)}</tr></thead>
<tbody>{"".join(rows)}</tbody></table>
<h2 id="other-reports">Cross-site and programme reports</h2>
<table><thead><tr><th>Report</th><th>Status</th></tr></thead><tbody>{other_rows}</tbody></table>
</body></html>
"""


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
    from tqdm import tqdm

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
