"""A whole national release: 150 services synthesised, cleaned and reported, end to end.

Issue 19's second target: ``hubspoke synth --services 150``, then ``hubspoke clean`` and
``hubspoke report`` (about 450 service reports plus the cross-site and programme reports,
the release-wide disclosure solve included) in under 5 minutes on 2 cores, peak memory
under 4 GiB. Each repeat starts from the same raw files with an empty processed folder
and an empty reports folder, and times, as commands:

* ``hubspoke clean`` (wall time; peak memory from ``/usr/bin/time -v``);
* ``hubspoke report`` (wall time; peak memory as the sum of the resident memory of the
  command and every process it starts (workers, kernels), sampled every 0.2 s with psutil:
  an upper bound, since pages shared between processes are counted in each).

The report time is split with the batch's own log (``run.log``): the release (its tables
on two processes and the joint solve), then the reports (notebooks and their HTML
export, on the workers). Export alone is timed afterwards in one process on the
executed notebooks the batch saved (both pages of each report), to split the reports'
time into notebooks and export.

    .venv/bin/python bench/national.py [--services 150] [--repeats 3] [--write]

``--write`` puts the figures in ``bench/RESULTS.md`` under "## National release"
(replacing that section; ``run_all.py`` keeps it when it rewrites the file).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    ROOT,
    Result,
    compile_package,
    gib,
    hubspoke_env,
    median,
    remove_scratch,
    run,
    run_peak,
    scratch,
    tool,
    write_measured_section,
)

SECTION = "## National release"
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
TARGET_SECONDS = 300
TARGET_BYTES = 4 * 2**30

#: Run in a fresh process: exports every executed notebook of a batch, both audiences.
EXPORT = """
import json, sys, time
from pathlib import Path
import nbformat
from hubspoke.report.export import export_html
folder = Path(sys.argv[1])
books = sorted(folder.glob("*.ipynb"))
t0 = time.perf_counter()
for path in books:
    nb = nbformat.read(path, as_version=4)
    export_html(nb, audience="analyst", title=path.stem)
    export_html(nb, audience="funder", title=path.stem)
print(json.dumps({"reports": len(books), "export_s": time.perf_counter() - t0}))
"""


def tree_peak(cmd: list[str], env: dict) -> tuple[float, int]:
    """Run ``cmd``; return (wall seconds, peak summed RSS of it and its descendants)."""
    import psutil

    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        try:
            root = psutil.Process(proc.pid)
        except psutil.NoSuchProcess:
            return
        while not done.is_set():
            total = 0
            try:
                members = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                break
            for member in members:
                try:
                    total += member.memory_info().rss
                except psutil.NoSuchProcess:
                    continue
            peak = max(peak, total)
            done.wait(0.2)

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    out, err = proc.communicate()
    seconds = time.perf_counter() - start
    done.set()
    watcher.join()
    if proc.returncode != 0:
        raise RuntimeError(
            f"command failed ({proc.returncode}): {' '.join(cmd)}\n"
            f"{out.decode()[-2000:]}{err.decode()[-2000:]}"
        )
    return seconds, peak


def batch_log(reports: Path) -> dict:
    """The release time, the reports built and their summed seconds, from ``run.log``."""
    text = (reports / "run.log").read_text(encoding="utf-8")
    release = re.search(r"release: (\d+) cells, (\d+) hidden, built or read in ([\d.]+)s", text)
    jobs = re.findall(r"^(ok|failed)\s+([\d.]+)s (\S+)", text, flags=re.M)
    return {
        "cells": int(release.group(1)) if release else 0,
        "hidden": int(release.group(2)) if release else 0,
        "release_s": float(release.group(3)) if release else 0.0,
        "reports": sum(status == "ok" for status, _, _ in jobs),
        "failed": sum(status == "failed" for status, _, _ in jobs),
        "report_cpu_s": sum(float(s) for _, s, _ in jobs),
    }


def export_time(reports: Path, env: dict) -> dict:
    """Export every executed notebook again in one process (both pages): the export share."""
    proc = subprocess.run(
        [sys.executable, "-c", EXPORT, str(reports / "analyst")],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def one_run(base: Path, env: dict) -> dict:
    """Clean and report once, from empty processed and reports folders."""
    for name in ("processed", "reports", "figures"):
        remove_scratch(base / name)
    clean_s, clean_peak = run_peak([tool("hubspoke"), "-q", "clean"], env)
    report_s, report_peak = tree_peak([tool("hubspoke"), "-q", "report"], env)
    figures = batch_log(base / "reports")
    figures.update(
        clean_s=clean_s, clean_peak=clean_peak, report_s=report_s, report_peak=report_peak
    )
    return figures


def measure(services: int, repeats: int) -> Result:
    """Synthesise once, then clean and report ``repeats`` times."""
    result = Result("National release (issue 19, target 2)")
    compile_package()
    base = scratch(f"national_{services}")
    try:
        env = hubspoke_env(base)
        synth_s = run([tool("hubspoke"), "-q", "synth", "--services", services, "--force"], env)
        runs = [one_run(base, env) for _ in range(max(1, repeats))]
        export = export_time(base / "reports", env)
        total = [r["clean_s"] + r["report_s"] for r in runs]
        mid = sorted(runs, key=lambda r: r["clean_s"] + r["report_s"])[len(runs) // 2]
        peak = max(max(r["clean_peak"], r["report_peak"]) for r in runs)
        per_export = export["export_s"] / max(1, export["reports"])
        exports = per_export * mid["reports"]
        result.add(
            f"{services} services: {mid['reports']} reports built ({mid['failed']} failed), "
            f"release {mid['cells']:,} cells, {mid['hidden']:,} hidden; synth {synth_s:.1f} s "
            "(not counted)"
        )
        result.add(
            f"clean + report {median(total):.1f} s (median of {len(runs)}: "
            + ", ".join(f"{t:.1f}" for t in total)
            + f"); target under {TARGET_SECONDS} s: "
            + ("met" if median(total) < TARGET_SECONDS else "not met")
        )
        result.add(
            f"  clean {median([r['clean_s'] for r in runs]):.1f} s (peak {gib(median([r['clean_peak'] for r in runs]))}); "
            f"report {median([r['report_s'] for r in runs]):.1f} s (peak, summed over its processes, "
            f"{gib(median([r['report_peak'] for r in runs]))})"
        )
        result.add(
            f"  report split (the median run): release {mid['release_s']:.1f} s (tables and joint "
            f"solve), then the reports {mid['report_s'] - mid['release_s']:.1f} s on the workers "
            f"(summed report times {mid['report_cpu_s']:.1f} s: notebooks about "
            f"{mid['report_cpu_s'] - exports:.1f} s, export about {exports:.1f} s at "
            f"{per_export:.2f} s per report, timed again in one process)"
        )
        result.add(
            f"peak memory {gib(peak)}; target under {gib(TARGET_BYTES)}: "
            + ("met" if peak < TARGET_BYTES else "not met")
        )
        result.figures.update(median_s=median(total), peak=peak, runs=runs)
        return result
    finally:
        remove_scratch(base)


def write_section(result: Result, *, repeats: int, path: Path = RESULTS) -> None:
    """Replace (or add) this benchmark's section of ``RESULTS.md``."""
    write_measured_section(
        path,
        SECTION,
        command=f"python bench/national.py --repeats {repeats} --write",
        about=(
            "every repeat cleans the same raw files and reports into empty folders, the release built from empty inside the batch"
        ),
        lines=result.lines,
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--services", type=int, default=150)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--write", action="store_true", help="write the section of bench/RESULTS.md")
    args = p.parse_args(argv)
    result = measure(args.services, args.repeats)
    if args.write:
        write_section(result, repeats=args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
