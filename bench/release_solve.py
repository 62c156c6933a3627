"""The release-wide disclosure solve: time and peak memory, default data and national scale.

For each number of services (16: the programme; 150: national scale) the script writes
synthetic raw data into a scratch folder, cleans it, then times, in a fresh process
under ``/usr/bin/time -v``, building the whole funder release once: every funder table
of every report computed, their cells and relations gathered, primary and secondary
suppression solved jointly with the linear-programming audit. It prints the cells,
hidden cells and relations, and splits the time into building the tables and solving.
Then it attacks the release as a funder could: the release is saved, its open data written,
and the test suite's independent auditor (``tests/release_auditor.py``, its own linear
programs with scipy) looks for any hidden count it can work out, using every relation a
reader can see and every true relation the team knows. Groups of more than
``--exact-limit`` linked unknowns are certified (a witness solution for each hidden count)
rather than ranged, which is what makes the attack feasible at national scale.

    .venv/bin/python bench/release_solve.py [--services 16 150] [--repeats 3] [--write]

``--write`` puts the figures in ``bench/RESULTS.md`` under "## Release-wide disclosure solve"
(replacing that section; ``run_all.py`` keeps it when it rewrites the file).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    Result,
    hubspoke_env,
    median,
    remove_scratch,
    run,
    run_peak,
    scratch,
    tool,
    write_measured_section,
)

#: Run in a fresh process: builds the release and prints its figures as JSON.
PROBE = """
import json, time
from hubspoke import load
from hubspoke.analysis.release import (
    RELEASE_TABLES, funder_tables, release_path, release_stamp, service_groups, write_release,
)
from hubspoke.config import get_settings
from hubspoke.privacy.release import breakdown_relations, gather, hierarchy_relations, protect
s = get_settings()
t0 = time.perf_counter()
tables = load.load_tables(s.processed_dir, names=RELEASE_TABLES)
years = sorted({y for ys in load.available_service_years(tables).values() for y in ys})
cells, margins = gather(funder_tables(tables))
eqs, ineqs = hierarchy_relations(cells, service_groups(tables), all_years=load.all_years_label(years))
beqs, bineqs = breakdown_relations(cells)
t1 = time.perf_counter()
release = protect(cells, equations=[*margins, *eqs, *beqs], inequalities=[*ineqs, *bineqs])
t2 = time.perf_counter()
write_release(release, release_path(s), stamp=release_stamp(s))  # the attack reads it back
figures = {
    "cells": len(cells),
    "counts": sum(c.kind == "count" for c in cells.values()),
    "hidden": len(release.hidden),
    "relations": len(margins) + len(eqs) + len(ineqs) + len(beqs) + len(bineqs),
    "residual": len(release.residual),
    "tables_s": t1 - t0,
    "solve_s": t2 - t1,
}
(s.reports_dir / "release_figures.json").write_text(json.dumps(figures))
"""


#: Run in a fresh process: saves the release, writes its open data and attacks it.
AUDIT = """
import json, sys, time
sys.path.insert(0, {tests!r})
from hubspoke.analysis.release import current_release
from hubspoke.config import get_settings
from hubspoke.report.open_data import write_release_open_data
from release_auditor import audit, ordered_sources, relations_from_release, truth_from_release
s = get_settings()
release = current_release(s)
data = s.reports_dir / "funder" / "data"
t0 = time.perf_counter()
write_release_open_data(data, settings=s)
t1 = time.perf_counter()
truth = truth_from_release(release)
result = audit(
    data,
    threshold=int(release.threshold),
    extra_relations=relations_from_release(release),
    truth=truth,
    sources=ordered_sources(release, truth),
    exact_limit={limit},
)
t2 = time.perf_counter()
print(json.dumps({{
    "audited": len(result.ranges),
    "recoverable": len(result.recoverable),
    "leaks": len(result.leaks),
    "infeasible": len(result.infeasible),
    "open_data_s": t1 - t0,
    "audit_s": t2 - t1,
}}))
"""


def attack(env: dict, *, exact_limit: int) -> dict:
    """Save the release, write its open data and run the independent auditor on them."""
    tests = str(Path(__file__).resolve().parents[1] / "tests")
    code = AUDIT.format(tests=tests, limit=exact_limit)
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"the attack failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def measure_services(
    services: int, repeats: int, result: Result, *, exact_limit: int = 2000
) -> dict:
    """Synthesise and clean ``services`` services, then time the release build ``repeats`` times."""
    base = scratch(f"release_{services}")
    try:
        env = hubspoke_env(base)
        run([tool("hubspoke"), "-q", "synth", "--services", services, "--force"], env)
        run([tool("hubspoke"), "-q", "clean"], env)
        runs = []
        for _ in range(max(1, repeats)):
            runs.append(run_peak([sys.executable, "-c", PROBE], env))
        figures = json.loads((base / "reports" / "release_figures.json").read_text())
        wall = median([s for s, _ in runs])
        peak = max(p for _, p in runs)
        result.add(
            f"{services:>4} services: {figures['cells']:,} cells ({figures['counts']:,} counts), "
            f"{figures['relations']:,} relations, {figures['hidden']:,} hidden, "
            f"{figures['residual']} residual"
        )
        result.add(
            f"      whole process {wall:.1f} s (median of {len(runs)}), peak memory "
            f"{peak / 2**20:,.0f} MiB; tables {figures['tables_s']:.1f} s, "
            f"joint solve {figures['solve_s']:.1f} s"
        )
        found = attack(env, exact_limit=exact_limit)
        result.add(
            f"      independent auditor: {found['audited']:,} hidden counts attacked, "
            f"{found['recoverable']} recoverable, {found['leaks']} leaks, "
            f"{found['infeasible']} infeasible; open data written in {found['open_data_s']:.1f} s, "
            f"attack {found['audit_s']:.1f} s (groups over {exact_limit:,} unknowns certified)"
        )
        figures.update(found)
        return figures
    finally:
        remove_scratch(base)


def measure(services: list[int], repeats: int = 1, *, exact_limit: int = 2000) -> Result:
    """The benchmark as run by ``run_all.py``."""
    result = Result("Release-wide disclosure solve (issue 15)")
    for n in services:
        measure_services(n, repeats, result, exact_limit=exact_limit)
    return result


SECTION = "## Release-wide disclosure solve"
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def write_section(result: Result, *, repeats: int, path: Path = RESULTS) -> None:
    """Replace (or add) this benchmark's section of ``RESULTS.md``."""
    write_measured_section(
        path,
        SECTION,
        command=f"python bench/release_solve.py --repeats {repeats} --write",
        about=(
            "the whole funder release: every table computed, gathered and suppressed jointly, in a fresh process; then attacked by the test suite's independent auditor"
        ),
        lines=result.lines,
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--services", type=int, nargs="+", default=[16, 150])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--write", action="store_true", help="write the section of bench/RESULTS.md")
    p.add_argument(
        "--exact-limit",
        type=int,
        default=2000,
        help="the auditor certifies groups of more linked unknowns than this",
    )
    args = p.parse_args(argv)
    result = measure(args.services, args.repeats, exact_limit=args.exact_limit)
    if args.write:
        write_section(result, repeats=args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
