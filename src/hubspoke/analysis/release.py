"""The funder release: every table a funder sees, gathered and suppressed once, together.

:func:`funder_tables` builds every :class:`~hubspoke.privacy.table.Table` of every funder
report (each service-year, each cross-site year and all years, the realist synthesis,
coding quality). :func:`build_release` puts their cells in one set with all their
relations (each table's margins; service -> model variant / host setting / phase ->
programme; years -> all years) and solves primary and secondary suppression jointly
(:func:`hubspoke.privacy.release.protect`). Reports then only look their cells up
(:func:`current_release`, cached on disk beside the reports and rebuilt when the data
or the library change), so a cell hidden anywhere is hidden everywhere.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Final, cast

import numpy as np
import pandas as pd

from hubspoke import __version__, load
from hubspoke.analysis.context import service_context_rows, service_context_table
from hubspoke.analysis.cross_site.summary import service_context
from hubspoke.analysis.cross_site.tables import cross_site_tables
from hubspoke.analysis.outcomes import indicators
from hubspoke.analysis.programme import programme_summary_tables
from hubspoke.analysis.realist.tables import (
    coding_quality_tables,
    local_context_tables,
    realist_tables,
    service_evidence_tables,
)
from hubspoke.analysis.service.tables import service_tables
from hubspoke.config import Settings, get_settings
from hubspoke.errors import ReportError
from hubspoke.io.parquet import snapshot
from hubspoke.privacy.release import (
    GROUP_DIMS,
    Relation,
    Release,
    ReleaseCell,
    breakdown_relations,
    cell_number,
    gather,
    hierarchy_relations,
    protect,
)
from hubspoke.privacy.table import CellId, Table

#: The processed tables the funder reports read (coding quality reads the cleaning's own two).
RELEASE_TABLES: Final = (*load.PROCESSED_TABLES, "reconciliation", "quarantine")
#: The saved release (true values, hidden flags), beside the reports, never in the funder folder.
RELEASE_FILE: Final = "release.parquet"


#: One piece of the funder release, built on its own: ("service", id, year), ("cross_site",
#: year or "all"), or the name of a programme-wide report's tables.
Part = tuple[str, ...]
#: Programme-wide parts, in report order after the services and cross-site years.
PROGRAMME_PARTS: Final = (
    "realist",
    "coding_quality",
    "local_context",
    "service_context",
    "programme",
)


#: The parts that read every service-year's indicators (computed once per process).
INDICATOR_PARTS: Final = frozenset({"service", "cross_site", "realist"})


def funder_parts(tables: Mapping[str, pd.DataFrame]) -> list[Part]:
    """The pieces of :func:`funder_tables`, in report order (each can be built alone)."""
    pairs = load.available_service_years(tables)
    years = sorted({y for ys in pairs.values() for y in ys})
    services = [
        ("service", service_id, str(year))
        for service_id in load.service_order(list(pairs))
        for year in pairs[service_id]
    ]
    cross = [("cross_site", choice) for choice in [*(str(y) for y in years), "all"]]
    return [*services, *cross, *((name,) for name in PROGRAMME_PARTS)]


def part_tables(
    tables: Mapping[str, pd.DataFrame], part: Part, *, indicator_table: pd.DataFrame | None = None
) -> list[Table]:
    """The funder tables of one part; ``indicator_table``: every service-year's indicators
    (:func:`~hubspoke.analysis.outcomes.indicators`), computed once by the caller."""
    kind = part[0]
    if kind == "service":
        service_id, year = part[1], int(part[2])
        return [
            *service_tables(
                tables, service_id=service_id, year=year, indicator_table=indicator_table
            ).values(),
            *service_evidence_tables(tables, service_id=service_id, year=year).values(),
        ]
    if kind == "cross_site":
        return list(cross_site_tables(tables, year=part[1], service_years=indicator_table).values())
    builders = {
        "realist": lambda: realist_tables(tables, service_years=indicator_table).values(),
        "coding_quality": lambda: coding_quality_tables(tables).values(),
        "local_context": lambda: local_context_tables(tables).values(),  # public, open data too
        "service_context": lambda: service_context_tables(tables),
        "programme": lambda: programme_summary_tables(tables).values(),
    }
    if kind not in builders:
        raise ReportError("unknown part of the funder release", allowed=PROGRAMME_PARTS, found=kind)
    return list(builders[kind]())


def funder_tables(tables: Mapping[str, pd.DataFrame]) -> Iterator[Table]:
    """Every table of every funder report, in report order."""
    every = indicators(tables)  # every service-year's indicators, computed once
    for part in funder_parts(tables):
        yield from part_tables(tables, part, indicator_table=every)


def funder_tables_parallel(
    tables: Mapping[str, pd.DataFrame], *, folder: Path, jobs: int | None = None
) -> list[Table]:
    """:func:`funder_tables`, built by ``jobs`` processes (``None``: one per core).

    ``tables`` were read from ``folder``, a generation of the processed tables
    (:func:`hubspoke.io.parquet.snapshot`), which each process reads once, so all read
    the same run. The parts are shared out biggest first and their tables come back in
    report order, so the release does not depend on who built what. With one process
    they are built here.
    """
    parts = funder_parts(tables)
    workers = max(1, min(jobs or os.cpu_count() or 1, len(parts)))
    if workers == 1:
        return list(funder_tables(tables))
    heavy_first = sorted(range(len(parts)), key=lambda i: (parts[i][0] == "service", i))
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=_start_part_worker,
        initargs=(str(folder),),
    ) as pool:
        futures = {i: pool.submit(_build_part, parts[i]) for i in heavy_first}
        return [table for i in range(len(parts)) for table in futures[i].result()]


#: A part worker's processed tables and indicators, read once per worker process.
_PART_WORKER: dict[str, object] = {}


def _start_part_worker(folder: str) -> None:
    _PART_WORKER.clear()
    _PART_WORKER["tables"] = load.load_tables(Path(folder), names=RELEASE_TABLES)


def _build_part(part: Part) -> list[Table]:
    tables = cast(dict[str, pd.DataFrame], _PART_WORKER["tables"])
    every = None
    if part[0] in INDICATOR_PARTS:
        if "indicators" not in _PART_WORKER:
            _PART_WORKER["indicators"] = indicators(tables)
        every = cast(pd.DataFrame, _PART_WORKER["indicators"])
    return part_tables(tables, part, indicator_table=every)


def service_context_tables(tables: Mapping[str, pd.DataFrame]) -> Iterator[Table]:
    """Each service report's local context (its areas, their regions and England)."""
    for service_id in load.service_order(list(load.available_service_years(tables))):
        rows = service_context_rows(tables, service_id=service_id)
        if not rows.empty:
            yield service_context_table(rows, service_id=service_id)


# --------------------------------------------------------------------------- relations
def service_groups(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Per service (index): its model variant, main host setting and phase, as text."""
    context = service_context(tables).set_index("service_id")
    return context[list(GROUP_DIMS)].astype(str)


# --------------------------------------------------------------------------- building
def build_release(
    tables: Mapping[str, pd.DataFrame],
    *,
    settings: Settings | None = None,
    funder: Iterable[Table] | None = None,
) -> Release:
    """Gather every funder table and suppress them together.

    ``funder``: the funder tables of ``tables`` when already built (e.g. by
    :func:`funder_tables_parallel`); by default they are built here.
    """
    settings = settings or get_settings()
    cells, margins = gather(funder if funder is not None else funder_tables(tables))
    years = sorted({y for ys in load.available_service_years(tables).values() for y in ys})
    equations, inequalities = hierarchy_relations(
        cells, service_groups(tables), all_years=load.all_years_label(years)
    )
    breakdown_eqs, breakdown_ineqs = breakdown_relations(cells)
    return protect(
        cells,
        equations=[*margins, *equations, *breakdown_eqs],
        inequalities=[*inequalities, *breakdown_ineqs],
        threshold=settings.suppression_threshold,
        symbol=settings.suppression_symbol,
    )


#: The package's files that make its results: code, templates, frameworks, styles.
LIBRARY_SUFFIXES: Final = frozenset({".py", ".j2", ".csv", ".json", ".toml", ".css"})


def _library_files() -> list[Path]:
    root = Path(__file__).parents[1]
    return sorted(p for p in root.rglob("*") if p.suffix in LIBRARY_SUFFIXES and p.is_file())


def library_hash() -> str:
    """Hash of the package's version and source, so a code change rebuilds the release and
    every report (:func:`hubspoke.report.plan.library_fingerprint` is this hash)."""
    root = Path(__file__).parents[1]
    digest = hashlib.sha256(__version__.encode())
    for path in _library_files():
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _inputs_key(settings: Settings) -> tuple:
    """A cheap signature of the inputs (file names, sizes, times) to reuse a computed stamp."""
    folder = snapshot(settings.processed_dir)

    def sig(paths: list[Path]) -> tuple:
        return tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in paths)

    return (
        str(folder.resolve()),
        sig(sorted(folder.glob("*.parquet"))),
        sig(_library_files()),
        settings.suppression_threshold,
        settings.suppression_symbol,
    )


_STAMPS: dict[tuple, str] = {}


def release_stamp(settings: Settings) -> str:
    """What a release was built from: data, library and suppression settings (a hash)."""
    key = _inputs_key(settings)
    if key not in _STAMPS:
        parts = {
            "data": load.data_fingerprint(settings.processed_dir),
            "library": library_hash(),
            "threshold": settings.suppression_threshold,
            "symbol": settings.suppression_symbol,
        }
        _STAMPS[key] = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()
    return _STAMPS[key]


def release_path(settings: Settings) -> Path:
    """Where the release (true values and hidden flags: evaluation team only) is kept."""
    return settings.reports_dir / ".release" / RELEASE_FILE


_CACHE: dict[Path, tuple[str, Release]] = {}


def current_release(
    settings: Settings | None = None, *, rebuild: bool = False, jobs: int = 1
) -> Release:
    """The release for the current data and library: from disk if up to date, else built and saved.

    ``jobs``: processes that build its tables (:func:`funder_tables_parallel`); the batch
    passes its number of workers, a notebook builds them itself.
    """
    settings = settings or get_settings()
    path = release_path(settings)
    stamp = release_stamp(settings)
    cached = _CACHE.get(path)
    if cached and cached[0] == stamp and not rebuild:
        return cached[1]
    release = None if rebuild else read_release(path, stamp=stamp, settings=settings)
    if release is None:
        folder = snapshot(settings.processed_dir)
        tables = load.load_tables(folder, names=RELEASE_TABLES)
        funder = funder_tables_parallel(tables, folder=folder, jobs=jobs)
        release = build_release(tables, settings=settings, funder=funder)
        write_release(release, path, stamp=stamp)
    _CACHE[path] = (stamp, release)
    return release


def write_release(release: Release, path: Path, *, stamp: str) -> None:
    """Save a release (one row per cell) with the stamp it was built from."""
    rows = [
        {
            "key": cid.key,
            "kind": c.kind,
            "number": cell_number(c) if not isinstance(c.value, str) else np.nan,
            "text": c.value if isinstance(c.value, str) else None,
            "unit": c.unit,
            "dp": c.dp,
            "families": list(c.families),
            "sources": [s.key for s in c.sources],
            "hidden": cid in release.hidden,
            "primary": cid in release.primary,
        }
        for cid, c in release.cells.items()
    ]
    frame = pd.DataFrame(rows)
    relations = {
        "equations": [{k.key: v for k, v in rel.items()} for rel in release.equations],
        "inequalities": [{k.key: v for k, v in rel.items()} for rel in release.inequalities],
        "residual": sorted(c.key for c in release.residual),
        "threshold": release.threshold,
        "symbol": release.symbol,
        "stamp": stamp,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    # Temporary names of this process's own: two processes saving the same release (two
    # kernels of a batch) must not move each other's half-written file.
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp")
    meta = path.with_suffix(".json")
    meta_tmp = path.with_name(f"{meta.stem}.{os.getpid()}.json.tmp")
    frame.to_parquet(tmp, index=False)
    meta_tmp.write_text(json.dumps(relations), encoding="utf-8")
    tmp.replace(path)
    meta_tmp.replace(meta)


def read_release(
    path: Path, *, stamp: str | None = None, settings: Settings | None = None
) -> Release | None:
    """A saved release, or None when missing or built from other inputs than ``stamp``."""
    meta_path = path.with_suffix(".json")
    if not path.exists() or not meta_path.exists():
        return None
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return None
    if stamp is not None and meta.get("stamp") != stamp:
        return None
    frame = pd.read_parquet(path)
    cells: dict[CellId, ReleaseCell] = {}
    hidden, primary = set(), set()
    for row in frame.itertuples(index=False):
        cid = CellId.from_key(row.key)
        value: object = row.text if isinstance(row.text, str) else row.number
        if row.kind == "count" and not (isinstance(value, float) and np.isnan(value)):
            value = float(value)  # type: ignore[arg-type]
        cells[cid] = ReleaseCell(
            cid,
            row.kind,
            value,
            row.unit,
            int(row.dp),
            tuple(CellId.from_key(k) for k in row.sources),
            tuple(row.families),
        )
        if row.hidden:
            hidden.add(cid)
        if row.primary:
            primary.add(cid)

    def rels(items: list[dict[str, float]]) -> list[Relation]:
        return [{CellId.from_key(k): v for k, v in rel.items()} for rel in items]

    return Release(
        cells=cells,
        hidden=frozenset(hidden),
        primary=frozenset(primary),
        equations=rels(meta["equations"]),
        inequalities=rels(meta["inequalities"]),
        threshold=int(meta["threshold"]),
        symbol=str(meta["symbol"]),
        residual=frozenset(CellId.from_key(k) for k in meta["residual"]),
    )


def release_digest(release: Release) -> str:
    """A hash of what the release hides, so reports rebuild when the suppression changes."""
    hidden = "\n".join(sorted(c.key for c in release.hidden))
    return hashlib.sha256(hidden.encode()).hexdigest()


def check_release(release: Release) -> None:
    """Refuse a release with a count that stays recoverable (nothing could protect it)."""
    if release.residual:
        raise ReportError(
            "some suppressed counts could not be protected",
            found=sorted(c.key for c in release.residual)[:5],
        )
