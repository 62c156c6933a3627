"""Shared helpers of the benchmark scripts: scratch folders, environments, timing, results.

Every benchmark works in its own scratch folder under ``/tmp/bench_*`` (never in
``data/``) and points the suite at it through the ``HUBSPOKE_*`` environment
variables. Commands are timed as subprocesses, wall clock, and summarised by
their median.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SCRATCH_PREFIX = "/tmp/bench_"
TIME_BIN = Path("/usr/bin/time")


@dataclass
class Result:
    """What one benchmark found: a title, plain lines of figures and the raw numbers."""

    title: str
    lines: list[str] = field(default_factory=list)
    figures: dict[str, object] = field(default_factory=dict)

    def add(self, line: str) -> None:
        """Record a line of figures and print it at once."""
        self.lines.append(line)
        print(f"  {line}", flush=True)


def scratch(name: str) -> Path:
    """The scratch folder ``/tmp/bench_<name>`` (created if needed)."""
    path = Path(f"{SCRATCH_PREFIX}{name}")
    path.mkdir(parents=True, exist_ok=True)
    return path


def remove_scratch(path: Path) -> None:
    """Delete a folder the benchmarks created (refuses anything outside ``/tmp/bench_*``)."""
    path = Path(path).resolve()
    if not str(path).startswith(SCRATCH_PREFIX) or path == Path(SCRATCH_PREFIX):
        raise ValueError(f"refusing to delete {path}: not a benchmark scratch folder")
    shutil.rmtree(path, ignore_errors=True)


def hubspoke_env(base: Path, *, raw: Path | None = None, processed: Path | None = None) -> dict:
    """The environment that points the suite at ``base`` (raw, processed, figures, key)."""
    env = dict(os.environ)
    env.update(
        {
            "HUBSPOKE_RAW_DIR": str(raw or base / "raw"),
            "HUBSPOKE_PROCESSED_DIR": str(processed or base / "processed"),
            "HUBSPOKE_FIGURES_DIR": str(base / "figures"),
            "HUBSPOKE_REPORTS_DIR": str(base / "reports"),
            "HUBSPOKE_KEY_FILE": str(base / "key" / "pseudonym.key"),
            "MPLBACKEND": "agg",
            "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        }
    )
    env.pop("HUBSPOKE_CONTEXT_DIR", None)
    return env


def compile_package() -> None:
    """Byte-compile the package's modules first, as installing a package does.

    The editable install leaves ``src/hubspoke`` uncompiled (pip compiles every other
    package it installs), and where ``PYTHONDONTWRITEBYTECODE`` is set (as on the machine
    of ``bench/RESULTS.md``) no process caches what it compiles: each would compile
    hubspoke's modules again, about 0.5 s. ``make`` compiles them the same way.
    """
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "src")], check=True)


def tool(name: str) -> str:
    """A console script of this virtual environment (``hubspoke``, ``papermill``, ``jupyter``)."""
    path = BIN / name
    return str(path) if path.exists() else name


def run(cmd: Sequence[str], env: dict | None = None, *, quiet: bool = True) -> float:
    """Run a command; return its wall time in seconds; raise with its output if it fails."""
    start = time.perf_counter()
    proc = subprocess.run(
        list(map(str, cmd)), env=env, capture_output=quiet, text=True, cwd=ROOT, check=False
    )
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        tail = (proc.stdout or "")[-2000:] + (proc.stderr or "")[-2000:]
        raise RuntimeError(f"command failed ({proc.returncode}): {' '.join(map(str, cmd))}\n{tail}")
    return seconds


def run_peak(cmd: Sequence[str], env: dict | None = None) -> tuple[float, int]:
    """Run a command; return (wall seconds, peak resident memory in bytes).

    Uses ``/usr/bin/time -v`` when present, else a small Python wrapper reading
    ``RUSAGE_CHILDREN`` (peak RSS of the largest process in the tree).
    """
    if TIME_BIN.exists():
        wrapped = [str(TIME_BIN), "-v", *map(str, cmd)]
    else:
        code = (
            "import resource,subprocess,sys;"
            "r=subprocess.run(sys.argv[1:]).returncode;"
            "print(f'Maximum resident set size (kbytes): "
            "{resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}',file=sys.stderr);"
            "sys.exit(r)"
        )
        wrapped = [sys.executable, "-c", code, *map(str, cmd)]
    start = time.perf_counter()
    proc = subprocess.run(wrapped, env=env, capture_output=True, text=True, cwd=ROOT, check=False)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(
            f"command failed ({proc.returncode}): {' '.join(map(str, cmd))}\n"
            f"{proc.stdout[-2000:]}{proc.stderr[-2000:]}"
        )
    match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    return seconds, int(match.group(1)) * 1024 if match else 0


def median(values: Sequence[float]) -> float:
    """The median (0.0 for no values)."""
    return statistics.median(values) if values else 0.0


def repeat(fn: Callable[[], float], repeats: int) -> list[float]:
    """Call ``fn`` ``repeats`` times; return every measurement."""
    return [fn() for _ in range(max(1, repeats))]


def spread(values: Sequence[float]) -> str:
    """``median s (min-max, n runs)`` for a list of seconds."""
    if len(values) == 1:
        return f"{values[0]:.2f} s (1 run)"
    return (
        f"{median(values):.2f} s (min {min(values):.2f}, max {max(values):.2f}, {len(values)} runs)"
    )


def gib(n_bytes: float) -> str:
    """Bytes as GiB text."""
    return f"{n_bytes / 2**30:.2f} GiB"


def has_raw_data(raw: Path) -> bool:
    """Whether a raw folder already holds synthetic submissions."""
    return (raw / "_synthetic" / "manifest.json").is_file() and (raw / "submissions").is_dir()


def generator_fingerprint() -> str:
    """A hash of the generator's source: raw data made by another version is made again."""
    sources = sorted((ROOT / "src" / "hubspoke" / "synth").glob("*.py"))
    sources.append(ROOT / "src" / "hubspoke" / "spec" / "raw.py")
    return hashlib.sha256(b"".join(p.read_bytes() for p in sources)).hexdigest()[:16]


def _stamp(raw: Path) -> Path:
    """Beside the raw folder, not in it (the cleaner would count it as a raw file)."""
    return raw.with_name(f"{raw.name}.generated-by")


def ensure_raw(raw: Path, *, env: dict, services: int = 16, scale: float = 1.0) -> bool:
    """Generate synthetic raw data into ``raw`` unless the same generator made it; True when generated."""
    stamp = _stamp(raw)
    wanted = f"{generator_fingerprint()} services={services} scale={scale:g}"
    if has_raw_data(raw) and stamp.is_file() and stamp.read_text() == wanted:
        return False
    print(f"  generating synthetic raw data into {raw} (services={services}, scale={scale})")
    run(
        [
            tool("hubspoke"),
            "synth",
            "--out",
            raw,
            "--services",
            services,
            "--scale",
            scale,
            "--force",
        ],
        env,
    )
    stamp.write_text(wanted)
    return True


def ensure_clean(raw: Path, processed: Path, *, env: dict, force: bool = False) -> None:
    """Clean ``raw`` into ``processed`` unless that was done already."""
    if force or not (processed / "cases.parquet").is_file():
        print(f"  cleaning {raw} into {processed}")
        run([tool("hubspoke"), "clean", "--raw", raw, "--out", processed], env)


def default_data(name: str = "default") -> tuple[Path, dict]:
    """The default synthetic data (16 services), raw and cleaned, in ``/tmp/bench_<name>``."""
    base = scratch(name)
    env = hubspoke_env(base)
    ensure_raw(base / "raw", env=env)
    ensure_clean(base / "raw", base / "processed", env=env)
    return base, env


def write_measured_section(
    path: Path, section: str, *, command: str, about: str, lines: Sequence[str]
) -> None:
    """Replace (or add) ``section`` of a results file: when and how it was measured, then ``lines``."""
    stamp = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    block = [
        section,
        "",
        f"Measured {stamp} with `{command}` (machine as described above; {about}).",
        "",
        "```",
        *lines,
        "```",
        "",
    ]
    replace_section(path, section, block)


def replace_section(path: Path, section: str, block: list[str]) -> None:
    """Replace (or add at the end) the ``section`` of a results file (up to the next ``## ``)."""
    lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
    out, skipping = [], False
    for line in lines:
        if line.startswith("## "):
            skipping = line.startswith(section)
        if not skipping:
            out.append(line)
    while out and not out[-1].strip():
        out.pop()
    path.write_text("\n".join([*out, "", *block]), encoding="utf-8")
