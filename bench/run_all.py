"""Run every benchmark and write ``bench/RESULTS.md`` with the machine's description.

    .venv/bin/python bench/run_all.py                 # full: medians of 3 runs each
    .venv/bin/python bench/run_all.py --quick         # a few minutes: subsets, 1 run, small scale
    .venv/bin/python bench/run_all.py --only clean_scale notebook_load

Pass ``--note`` to say something about the conditions (e.g. other jobs running);
``--preliminary`` marks the results as such.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from datetime import datetime
from importlib import metadata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import batch_vs_plain  # noqa: E402
import clean_scale  # noqa: E402
import incremental  # noqa: E402
import notebook_load  # noqa: E402
from _common import ROOT, Result, compile_package  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
PACKAGES = ("pandas", "pyarrow", "papermill", "nbconvert", "jupyter_client", "ipykernel", "numpy")
BENCHMARKS = ("batch_vs_plain", "incremental", "clean_scale", "notebook_load")


def _interpreter() -> str:
    """The interpreter running the benchmarks, relative to the project when inside it."""
    path = Path(sys.executable)
    try:
        return path.relative_to(ROOT).as_posix()
    except ValueError:
        return path.name


def _cpu_model() -> str:
    """The CPU's name with its family and model numbers (a virtual machine's name alone,
    e.g. "AMD EPYC", does not tell one generation from another, and speeds differ)."""
    try:
        fields = dict(
            (key.strip(), value.strip())
            for key, _, value in (
                line.partition(":") for line in Path("/proc/cpuinfo").read_text().splitlines()
            )
            if key.strip() in ("model name", "cpu family", "model")
        )
    except OSError:
        fields = {}
    if "model name" not in fields:
        return platform.processor() or platform.machine()
    numbers = [f"{k} {fields[k]}" for k in ("cpu family", "model") if k in fields]
    return fields["model name"] + (f" ({', '.join(numbers)})" if numbers else "")


def _memory_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return 0.0


def machine() -> list[str]:
    """The machine's description: cores, memory, OS, Python and package versions."""
    versions = []
    for name in PACKAGES:
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name} (not installed)")
    try:
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        load = "unknown"
    return [
        f"CPU: {_cpu_model()}, {os.cpu_count()} cores",
        f"Memory: {_memory_gib():.1f} GiB",
        f"OS: {platform.platform()}",
        f"Python: {platform.python_version()} ({_interpreter()})",
        f"Packages: {', '.join(versions)}",
        f"Load average when the results were written (1, 5, 15 min): {load}",
    ]


def write_results(
    results: list[Result],
    *,
    command: str,
    repeats: int,
    note: str = "",
    preliminary: bool = False,
    path: Path = RESULTS,
) -> Path:
    """Write ``RESULTS.md``: date, machine, how it was run, then each benchmark's figures."""
    title = "Benchmark results" + (" (PRELIMINARY)" if preliminary else "")
    lines = [f"# {title}", ""]
    if preliminary:
        lines += [
            "> **Preliminary.** Measured while other processes were running on the machine, so "
            "the timings are noisy and slower than on a quiet machine. Re-run "
            "`.venv/bin/python bench/run_all.py` on a quiet machine to replace them.",
            "",
        ]
    if note:
        lines += [f"Note: {note}", ""]
    lines += [
        f"Date: {datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z')}",
        "",
        f"Command: `{command}` (medians of {repeats} run(s) unless a line says otherwise; "
        "wall-clock seconds)",
        "",
        "## Machine",
        "",
        *[f"- {line}" for line in machine()],
        "",
    ]
    for result in results:
        lines += [f"## {result.title}", "", "```", *result.lines, "```", ""]
    lines += ["How to re-run: see `bench/README.md`.", ""]
    lines += _kept_sections(path)
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


#: Sections of RESULTS.md written by scripts run_all.py does not run; a rewrite keeps them.
KEPT_SECTIONS = (
    "## De-identifier",
    "## Release-wide disclosure solve",
    "## National release",
    "## Calibration of group comparisons",
    "## Issue 19 targets",
)


def _kept_sections(path: Path) -> list[str]:
    """The lines of the kept sections of the existing ``path`` (each up to the next ``## ``)."""
    if not path.is_file():
        return []
    kept: list[str] = []
    keeping = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            keeping = line.startswith(KEPT_SECTIONS)
        if keeping:
            kept.append(line)
    return [*kept, ""] if kept else []


def run_benchmarks(
    names: list[str], quick: bool, repeats: int, scales: list[float] | None = None
) -> list[Result]:
    """Run the chosen benchmarks; a failing one is reported and the others still run."""
    plans = {
        "batch_vs_plain": lambda: batch_vs_plain.measure(
            repeats, subset=["S01"] if quick else None
        ),
        "incremental": lambda: incremental.measure(
            repeats, only=["S04", "local_context"] if quick else None
        ),
        "clean_scale": lambda: clean_scale.measure(
            scales or ([10] if quick else [50, 100]), repeats
        ),
        "notebook_load": lambda: notebook_load.measure(max(repeats, 5), scale_data=not quick),
    }
    results = []
    for name in names:
        print(f"== {name}", flush=True)
        try:
            results.append(plans[name]())
        except Exception as exc:  # noqa: BLE001 - one benchmark failing must not lose the others
            print(f"  FAILED: {exc}", flush=True)
            results.append(Result(f"{name} (failed)", [f"FAILED: {str(exc).splitlines()[0]}"]))
    return results


def parser() -> argparse.ArgumentParser:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--quick", action="store_true", help="subsets, small scale, 1 run each")
    p.add_argument("--repeats", type=int, default=None, help="runs of each timing (default 3)")
    p.add_argument("--only", nargs="+", choices=BENCHMARKS, default=list(BENCHMARKS))
    p.add_argument(
        "--scales", type=float, nargs="+", default=None, help="clean_scale --scale values"
    )
    p.add_argument("--note", default="", help="a note on the conditions, written to RESULTS.md")
    p.add_argument("--preliminary", action="store_true", help="mark RESULTS.md as preliminary")
    p.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    args = parser().parse_args(argv)
    repeats = args.repeats or (1 if args.quick else 3)
    compile_package()
    results = run_benchmarks(args.only, args.quick, repeats, args.scales)
    if not args.no_write:
        shown = [a for a in (argv if argv is not None else sys.argv[1:]) if a != args.note]
        command = "python bench/run_all.py " + " ".join(shown)
        path = write_results(
            results,
            command=command.strip(),
            repeats=repeats,
            note=args.note,
            preliminary=args.preliminary or args.quick,
        )
        print(f"Results written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
