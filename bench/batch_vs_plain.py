"""The batch (``hubspoke report``) against the plain papermill + nbconvert workflow.

On the default synthetic data (16 services), times a full ``hubspoke report``
into an empty folder against what an analyst would otherwise script: for every
report of the same plan, one ``papermill`` command then one ``jupyter nbconvert
--to html --no-input`` command, one after the other. Also measures the per-report
floor: papermill on an empty notebook (kernel start) and on a notebook holding only
the report's imports, as commands, in a warm process like a batch worker, and on a
kernel reused and reset between reports as the batch does; and the batch with
``--fresh-kernels`` (a new kernel per report) to show what reusing kernels saves.
Every run starts without a saved release, so each builds it (the release-wide
disclosure solve is in every figure: the batch before its reports, the plain
workflow in its first notebook).

    .venv/bin/python bench/batch_vs_plain.py --repeats 3
    .venv/bin/python bench/batch_vs_plain.py --subset S01      # quick check
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    ROOT,
    Result,
    compile_package,
    default_data,
    median,
    remove_scratch,
    repeat,
    run,
    scratch,
    spread,
    tool,
)

NOTEBOOKS = ROOT / "notebooks"


def plan(processed: Path, subset: list[str] | None) -> list:
    """The reports ``hubspoke report`` would build (the same plan for both workflows)."""
    from hubspoke.load import service_years
    from hubspoke.report import plan_jobs

    return plan_jobs(service_years(processed), only=subset or None)


def forget_release(env: dict) -> None:
    """Remove the saved release, so the next run builds it (the disclosure solve is counted)."""
    remove_scratch(Path(env["HUBSPOKE_REPORTS_DIR"]) / ".release")


def batch_once(env: dict, out: Path, subset: list[str] | None, *, fresh: bool = False) -> float:
    """One full ``hubspoke report`` into an empty folder, release built too; wall seconds."""
    remove_scratch(out)
    forget_release(env)
    cmd = [tool("hubspoke"), "report", "--out", out, *(["--fresh-kernels"] if fresh else [])]
    if subset:
        cmd += ["--only", *subset]
    return run(cmd, env)


def papermill_args(parameters: dict) -> list[str]:
    """``-p``/``-r`` options giving papermill the batch's parameters with the same types."""
    args: list[str] = []
    for name, value in parameters.items():
        args += ["-r" if isinstance(value, str) else "-p", name, str(value)]
    return args


def plain_once(env: dict, jobs: list, out: Path) -> float:
    """Every report by one papermill then one nbconvert command, serially; wall seconds.

    The first notebook builds the release (as it would for a team without the batch).
    """
    remove_scratch(out)
    forget_release(env)
    out.mkdir(parents=True)
    start = time.perf_counter()
    for job in jobs:
        executed = out / f"{job.stem}.ipynb"
        run(
            [
                tool("papermill"),
                NOTEBOOKS / f"{job.notebook}.ipynb",
                executed,
                *papermill_args(job.parameters),
                "--cwd",
                NOTEBOOKS,
                "-k",
                "python3",
                "--no-progress-bar",
            ],
            env,
        )
        run([tool("jupyter"), "nbconvert", "--to", "html", "--no-input", executed], env)
    return time.perf_counter() - start


# ---------------------------------------------------------------------------
# The per-report floor
# ---------------------------------------------------------------------------


def import_lines(notebook: Path) -> str:
    """The import statements of a notebook's code cells."""
    nb = json.loads(notebook.read_text(encoding="utf-8"))
    lines = [
        line
        for cell in nb["cells"]
        if cell["cell_type"] == "code"
        for line in "".join(cell["source"]).splitlines()
        if line.startswith(("import ", "from "))
    ]
    return "\n".join(lines)


def write_notebook(path: Path, code: str | None) -> Path:
    """A one-cell notebook holding ``code`` (no cell for ``None``)."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    if code is not None:
        nb.cells.append(nbformat.v4.new_code_cell(code))
    nbformat.write(nb, path)
    return path


def papermill_command(env: dict, notebook: Path, out: Path) -> float:
    """``papermill`` on one notebook as a command; wall seconds."""
    cmd = [tool("papermill"), notebook, out, "-k", "python3", "--no-progress-bar"]
    return run(cmd + ["--cwd", NOTEBOOKS], env)


def warm_papermill(env: dict, notebooks: list[Path], out: Path, repeats: int) -> dict[str, list]:
    """papermill in one warm process, as a batch worker runs it.

    Per notebook: on a new kernel each time (``--fresh-kernels``), and on one kernel
    reused and reset in between (the batch's default).
    """
    code = f"""
import json, sys, time
from pathlib import Path
import papermill as pm
from hubspoke.report.kernels import WorkerKernel, local_transport_kernel_manager
cwd = {str(NOTEBOOKS)!r}
pm.execute_notebook({str(notebooks[0])!r}, {str(out)!r}, kernel_name="python3", progress_bar=False)
kernel = WorkerKernel(cwd=Path(cwd), log_dir=Path({str(out.parent / "logs")!r}))
times = {{}}
for nb in {[str(n) for n in notebooks]!r}:
    times[nb] = []
    for _ in range({repeats}):
        t = time.perf_counter()
        pm.execute_notebook(nb, {str(out)!r}, kernel_name="python3", progress_bar=False, cwd=cwd,
                            kernel_manager_class=local_transport_kernel_manager())
        times[nb].append(time.perf_counter() - t)
    pm.execute_notebook(nb, {str(out)!r}, kernel_name="python3", progress_bar=False, cwd=cwd,
                        km=kernel.acquire())  # the kernel's first report pays its start
    kernel.release(ok=True)
    times["reused " + nb] = []
    for _ in range({repeats}):
        t = time.perf_counter()
        pm.execute_notebook(nb, {str(out)!r}, kernel_name="python3", progress_bar=False, cwd=cwd,
                            km=kernel.acquire())
        kernel.release(ok=True)
        times["reused " + nb].append(time.perf_counter() - t)
kernel.discard()
print(json.dumps(times))
"""
    import subprocess

    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def floor(env: dict, work: Path, repeats: int, result: Result) -> tuple[float, float]:
    """Measure the per-report floor: (new kernel plus imports, reused kernel) in warm seconds."""
    empty = write_notebook(work / "empty.ipynb", None)
    imports = write_notebook(
        work / "imports.ipynb", import_lines(NOTEBOOKS / "service_report.ipynb")
    )
    out = work / "floor_out.ipynb"
    cold_empty = repeat(lambda: papermill_command(env, empty, out), repeats)
    cold_imports = repeat(lambda: papermill_command(env, imports, out), repeats)
    warm = warm_papermill(env, [empty, imports], out, repeats)
    reused = warm["reused " + str(imports)]
    result.add(f"papermill command, empty notebook:          {spread(cold_empty)}")
    result.add(f"papermill command, imports-only notebook:   {spread(cold_imports)}")
    result.add(f"warm process (as a worker), empty notebook: {spread(warm[str(empty)])}")
    result.add(f"warm process, imports-only notebook:        {spread(warm[str(imports)])}")
    result.add(f"warm process, reused kernel, imports-only:  {spread(reused)} (reset included)")
    result.figures.update(
        floor_cold_empty=median(cold_empty),
        floor_cold_imports=median(cold_imports),
        floor_warm_empty=median(warm[str(empty)]),
        floor_warm_imports=median(warm[str(imports)]),
        floor_reused_imports=median(reused),
    )
    return median(warm[str(imports)]), median(reused)


def state_seconds(out: Path) -> list[float]:
    """Per-report execution seconds recorded by the batch in ``.state.json``."""
    state = json.loads((out / ".state.json").read_text(encoding="utf-8"))
    return [r["seconds"] for r in state.values() if r.get("status") == "ok"]


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------


def measure(
    repeats: int = 1,
    subset: list[str] | None = None,
    skip_plain: bool = False,
    skip_fresh: bool = False,
) -> Result:
    """Run the comparison; return the figures."""
    base, env = default_data()
    work = scratch("batch")
    jobs = plan(base / "processed", subset)
    cores = os.cpu_count() or 1
    label = f"subset {' '.join(subset)}" if subset else "full plan"
    result = Result("Batch against the plain papermill + nbconvert workflow")
    result.add(f"{len(jobs)} reports ({label}), default synthetic data, {cores} cores")
    batch = repeat(lambda: batch_once(env, work / "batch_out", subset), repeats)
    per_report = state_seconds(work / "batch_out")
    result.add(f"hubspoke report (from empty): {spread(batch)}")
    result.add(
        f"  per report inside the batch: median {median(per_report):.2f} s, "
        f"sum {sum(per_report):.1f} s over {len(per_report)} reports"
    )
    result.figures.update(n_reports=len(jobs), batch_s=median(batch), cores=cores)
    if not skip_plain:
        plain = repeat(lambda: plain_once(env, jobs, work / "plain_out"), repeats)
        ratio = median(plain) / median(batch)
        result.add(f"plain papermill + nbconvert, serial: {spread(plain)}")
        result.add(
            f"  per report: {median(plain) / len(jobs):.2f} s; ratio plain / batch: {ratio:.2f}x "
            f"(target >= 10x)"
        )
        result.figures.update(plain_s=median(plain), ratio=ratio)
    if not skip_fresh:
        fresh = repeat(lambda: batch_once(env, work / "fresh_out", subset, fresh=True), repeats)
        result.add(
            f"hubspoke report --fresh-kernels (a new kernel per report): {spread(fresh)}; "
            f"per report inside the batch: median {median(state_seconds(work / 'fresh_out')):.2f} s"
        )
        result.figures.update(fresh_s=median(fresh))
    new_kernel, reused = floor(env, work, repeats, result)
    workers = min(cores, len(jobs))
    limit = new_kernel + len(jobs) * reused / workers
    result.add(
        f"floor of the batch: one kernel start with imports per worker ({new_kernel:.2f} s) + "
        f"{len(jobs)} reports x {reused:.2f} s on a reused kernel / {workers} workers = "
        f"{limit:.1f} s; the batch took {median(batch) / limit:.1f}x that floor (the rest is "
        f"executing the notebooks and exporting HTML)"
    )
    result.figures.update(batch_floor_s=limit)
    return result


def parser() -> argparse.ArgumentParser:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--repeats", type=int, default=1, help="runs of each timing; medians shown")
    p.add_argument(
        "--subset", nargs="*", default=None, help="only these service ids or notebooks (quick)"
    )
    p.add_argument("--skip-plain", action="store_true", help="time the batch and floor only")
    p.add_argument(
        "--skip-fresh", action="store_true", help="do not time the batch with --fresh-kernels"
    )
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    args = parser().parse_args(argv)
    compile_package()
    print("== batch vs plain")
    measure(args.repeats, args.subset, args.skip_plain, args.skip_fresh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
