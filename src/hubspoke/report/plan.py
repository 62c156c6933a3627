"""What the batch builds: one job per report, and whether a report is already up to date.

A report's inputs (notebook, processed data, library, parameters) are hashed; the
state file of the reports folder remembers the hash each report was last built from.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hubspoke.analysis.release import library_hash
from hubspoke.load import data_fingerprint

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
    NotebookSpec("programme_summary", "Programme summary", "once"),
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
    return library_hash()


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
# State of the reports folder
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
