"""How long a notebook takes as an analyst runs it: its first data cell, and the whole notebook.

First data cell: each run is a fresh interpreter (a new kernel would be one), timed from
inside: ``load_tables()`` alone (pandas already imported), and the service report's whole
first code cell (its imports, the parameter check and ``load_tables()``).
Target: well under a second at the default size. ``--scale-data`` also times the
national-scale processed folder of ``bench/clean_scale.py`` when it exists.

Whole notebook (as "Run All" in JupyterLab): each notebook of ``notebooks/`` on its
default parameters, on a kernel started for it (``jupyter_client``, the kernel JupyterLab
starts), every code cell executed in turn; timed from the first cell's request to the last
cell's reply, so the kernel's start is not counted. The release the notebooks read is
built first (as ``make report`` leaves it). Target: under 3 s per notebook.

    .venv/bin/python bench/notebook_load.py --repeats 7
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
    compile_package,
    default_data,
    hubspoke_env,
    median,
    spread,
)

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"

#: Times load_tables() alone, then the service report's first cell, in one fresh interpreter.
PROBE = r"""
import json, time
t0 = time.perf_counter()
import pandas  # noqa: F401  (imported by any notebook before its data cell)
from hubspoke import load
t1 = time.perf_counter()
tables = load.load_tables()
t2 = time.perf_counter()
from hubspoke.present import display  # noqa: F401
from hubspoke.analysis import outcomes  # noqa: F401
from hubspoke.analysis import realist  # noqa: F401
from hubspoke.analysis import service as sa  # noqa: F401
from hubspoke.present.plotting import service as charts  # noqa: F401
t3 = time.perf_counter()
load.check_service_year(*load.service_years()[0])
tables = load.load_tables()
t4 = time.perf_counter()
rows = sum(len(t) for t in tables.values())
print(json.dumps({"load_s": t2 - t1, "cell_s": (t1 - t0) + (t3 - t2) + (t4 - t3),
                  "import_s": t1 - t0, "rows": rows, "tables": len(tables)}))
"""


#: Runs each named notebook top to bottom on a kernel started for it; prints seconds by name.
RUN_ALL = r"""
import json, sys, time
import nbformat
from jupyter_client.manager import start_new_kernel
names, folder, repeats = json.loads(sys.argv[1]), sys.argv[2], int(sys.argv[3])
out = {}
for name in names:
    nb = nbformat.read(f"{folder}/{name}.ipynb", as_version=4)
    cells = [c.source for c in nb.cells if c.cell_type == "code"]
    for _ in range(repeats):
        km, kc = start_new_kernel(kernel_name="python3", cwd=folder)
        try:
            start = time.perf_counter()
            for code in cells:
                reply = kc.execute_interactive(code, timeout=600, output_hook=lambda msg: None)
                if reply["content"]["status"] != "ok":
                    raise SystemExit(f"{name}: a cell failed: {reply['content'].get('ename')}")
            out.setdefault(name, []).append(time.perf_counter() - start)
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
print(json.dumps(out))
"""
#: Builds (or reads) the release the notebooks look their cells up in.
BUILD_RELEASE = "from hubspoke.analysis.release import current_release; current_release()"


def run_all_notebooks(env: dict, repeats: int, result: Result) -> float:
    """Every notebook top to bottom on a started kernel; return the slowest median."""
    names = sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb"))
    subprocess.run([sys.executable, "-c", BUILD_RELEASE], env=env, check=True)
    proc = subprocess.run(
        [sys.executable, "-c", RUN_ALL, json.dumps(names), str(NOTEBOOKS), str(repeats)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    seconds = json.loads(proc.stdout.strip().splitlines()[-1])
    result.add(
        f"whole notebook on a started kernel (Run All, default parameters, {repeats} kernels each):"
    )
    for name in names:
        result.add(f"  {name:<20} {spread(seconds[name])}  (target < 3 s)")
    return max(median(v) for v in seconds.values())


def probe(env: dict) -> dict:
    """One fresh interpreter: load_tables() alone and the whole first cell."""
    proc = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def measure_folder(env: dict, label: str, repeats: int, result: Result) -> float:
    """Time one processed folder; return the median load_tables() seconds."""
    runs = [probe(env) for _ in range(max(1, repeats))]
    load = [r["load_s"] for r in runs]
    cell = [r["cell_s"] for r in runs]
    result.add(f"{label}: {runs[0]['tables']} tables, {runs[0]['rows']:,} rows")
    result.add(f"  load_tables():                  {spread(load)}  (target well under 1 s)")
    result.add(f"  whole first cell (imports too): {spread(cell)}")
    return median(load)


def measure(repeats: int = 5, scale_data: bool = False) -> Result:
    """The default data, and the national-scale data when asked and present."""
    _, env = default_data()
    result = Result("Notebook load (first data cell) and run (whole notebook)")
    result.figures["load_s"] = measure_folder(env, "default data", repeats, result)
    result.figures["run_all_max_s"] = run_all_notebooks(env, min(repeats, 3), result)
    scale = Path("/tmp/bench_scale/processed100")
    if scale_data and (scale / "cases.parquet").is_file():
        scale_env = hubspoke_env(scale.parent, processed=scale)
        result.figures["scale_load_s"] = measure_folder(
            scale_env, "national-scale data (--scale 100)", repeats, result
        )
    return result


def parser() -> argparse.ArgumentParser:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--repeats", type=int, default=5, help="fresh interpreters; medians shown")
    p.add_argument(
        "--scale-data",
        action="store_true",
        help="also time /tmp/bench_scale/processed100 (from clean_scale.py)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    args = parser().parse_args(argv)
    compile_package()
    print("== notebook load")
    measure(args.repeats, args.scale_data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
