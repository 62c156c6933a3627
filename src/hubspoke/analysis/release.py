"""The funder release: every table a funder sees, gathered and suppressed once, together.

:func:`funder_tables` builds every :class:`~hubspoke.privacy.table.Table` of every funder
report (each service-year, each cross-site year and all years, the realist synthesis,
coding quality). :func:`build_release` puts their cells in one set with all their
relations (each table's margins; service -> model variant / host setting / phase ->
programme; years -> all years) and solves primary and secondary suppression jointly
(:func:`hubspoke.privacy.release.protect`). Reports then only look their cells up
(:func:`current_release`, cached on disk beside the reports and rebuilt when the data
or the library change), so a cell hidden anywhere is hidden everywhere.

The tables themselves are kept beside the release too (:func:`write_builds`), each
builder call's result in a file signed with a key derived from the pseudonymisation
key: a report asks for its tables with :func:`report_tables` and reads what the release
built instead of computing it a second time.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import inspect
import json
import logging
import multiprocessing
import os
import pickle
import shutil
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypeVar, cast, overload

import numpy as np
import pandas as pd

from hubspoke import __version__, load
from hubspoke.analysis.context import service_context_rows, service_context_table
from hubspoke.analysis.cross_site.summary import service_context
from hubspoke.analysis.cross_site.tables import cross_site_tables, model_reports
from hubspoke.analysis.outcomes import indicators
from hubspoke.analysis.programme import programme_summary_tables
from hubspoke.analysis.realist.quotes import service_quotes, service_quotes_by_service_year
from hubspoke.analysis.realist.tables import (
    coding_quality_tables,
    for_whom_table,
    local_context_tables,
    realist_tables,
    service_evidence_tables,
)
from hubspoke.analysis.service.at_once import ServiceYearFrames, frames_by_service_year
from hubspoke.analysis.service.tables import service_tables
from hubspoke.config import Settings, get_settings
from hubspoke.errors import ConfigError, ReportError
from hubspoke.io.parquet import snapshot
from hubspoke.privacy.pseudonym import load_key
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

log = logging.getLogger(__name__)

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


#: The parts that read every service-year's indicators (worked out once per release).
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


#: One builder call of a part and what it returned: (:func:`build_key`, result).
Build = tuple[str, Any]
#: Inputs a builder takes only to save time (the result is the same without them).
SPEED_ONLY: Final = frozenset({"indicator_table", "service_years", "at_once"})

T = TypeVar("T")


def build_key(builder: Callable[..., Any], params: Mapping[str, object]) -> str:
    """A stable name for ``builder(tables, **params)``: its module, name and every
    parameter with defaults filled in (the :data:`SPEED_ONLY` inputs left out)."""
    bound = inspect.signature(builder).bind_partial(**params)
    bound.apply_defaults()
    args = {k: v for k, v in bound.arguments.items() if k != "tables" and k not in SPEED_ONLY}
    text = json.dumps(args, sort_keys=True, default=repr)
    return f"{builder.__module__}.{builder.__qualname__}({text})"


def _build(builder: Callable[..., Any], tables: Mapping[str, pd.DataFrame], **params: Any) -> Build:
    return build_key(builder, params), builder(tables, **params)


def part_builds(
    tables: Mapping[str, pd.DataFrame],
    part: Part,
    *,
    indicator_table: pd.DataFrame | None = None,
    at_once: ServicePart | None = None,
) -> list[Build]:
    """The builder calls of one part and their results; ``indicator_table``: every
    service-year's indicators (:func:`~hubspoke.analysis.outcomes.indicators`), and
    ``at_once``: a service part's frames and quotes worked out with every other's
    (:func:`service_parts_at_once`), each computed once by the caller for every part."""
    kind = part[0]
    if kind == "service":
        where = {"service_id": part[1], "year": int(part[2])}
        frames = at_once.frames if at_once is not None else None
        speed = {"indicator_table": indicator_table, "at_once": frames}
        return [
            _build(service_tables, tables, **where, **speed),
            _build(service_evidence_tables, tables, **where),
            # text a report reads (no cell)
            _build(service_quotes, tables, **where)
            if at_once is None
            else (build_key(service_quotes, where), at_once.quotes),
        ]
    if kind == "cross_site":
        return [
            _build(cross_site_tables, tables, year=part[1], service_years=indicator_table),
            _build(model_reports, tables, year=part[1]),
        ]
    if kind == "realist":  # every year choice at once (they share their quote checks)
        every = realist_tables(tables, service_years=indicator_table)
        choices = dict.fromkeys(name.split("/", 1)[0] for name in every)
        return [
            *(
                (
                    build_key(realist_tables, {"year": choice}),
                    {n.split("/", 1)[1]: t for n, t in every.items() if n.startswith(f"{choice}/")},
                )
                for choice in choices
            ),
            _build(for_whom_table, tables),  # the evaluation team's table (no funder cell)
        ]
    if kind == "service_context":  # each service report's local context (a list)
        return [(build_key(service_context_tables, {}), list(service_context_tables(tables)))]
    builders: dict[str, Callable[..., Any]] = {
        "coding_quality": coding_quality_tables,
        "local_context": local_context_tables,  # public, open data too
        "programme": programme_summary_tables,
    }
    if kind not in builders:
        raise ReportError("unknown part of the funder release", allowed=PROGRAMME_PARTS, found=kind)
    return [_build(builders[kind], tables)]


def built_tables(builds: Iterable[Build]) -> list[Table]:
    """The funder tables of ``builds``, in order.

    Only tables go into the release: a build may keep something else a report reads
    (the cross-site models with their diagnostics, :func:`model_reports`, whose numbers
    are in the cross-site tables; a service report's quotes; the evaluation team's "for
    whom" table), which holds no cell of its own.
    """
    return [
        item
        for _, result in builds
        for item in (
            result.values()
            if isinstance(result, Mapping)
            else result
            if isinstance(result, list | tuple)
            else ()
        )
        if isinstance(item, Table)
    ]


def part_tables(
    tables: Mapping[str, pd.DataFrame], part: Part, *, indicator_table: pd.DataFrame | None = None
) -> list[Table]:
    """The funder tables of one part (see :func:`part_builds`)."""
    return built_tables(part_builds(tables, part, indicator_table=indicator_table))


def funder_builds(tables: Mapping[str, pd.DataFrame]) -> list[Build]:
    """Every builder call behind the funder reports and its result, in report order."""
    every = indicators(tables)  # every service-year's indicators, computed once
    frames = service_parts_at_once(tables, indicator_table=every)  # and the service parts' inputs
    return [
        build
        for part in funder_parts(tables)
        for build in part_builds(
            tables,
            part,
            indicator_table=_indicators_for(part, every),
            at_once=_frames_for(part, frames),
        )
    ]


def funder_tables(tables: Mapping[str, pd.DataFrame]) -> Iterator[Table]:
    """Every table of every funder report, in report order."""
    yield from built_tables(funder_builds(tables))


def funder_builds_parallel(
    tables: Mapping[str, pd.DataFrame], *, folder: Path, jobs: int | None = None
) -> list[Build]:
    """:func:`funder_builds`, built by ``jobs`` processes (``None``: one per core).

    This process is one of them: it starts ``jobs - 1`` helpers, works out every
    service-year's indicators once (while the helpers start) and sends them with each
    part, then the service parts' frames and quotes at once (:func:`service_parts_at_once`,
    while the helpers build the other parts) and sends each service part its own, then
    builds parts itself from the lightest end of the queue until it meets the helpers.
    ``tables`` were read from ``folder``, a generation of the processed tables
    (:func:`hubspoke.io.parquet.snapshot`), which each helper reads once, so all read the
    same run. The parts are shared out biggest first and their results come
    back in report order, so the release does not depend on who built what. With one
    process they are all built here.
    """
    parts = funder_parts(tables)
    workers = max(1, min(jobs or os.cpu_count() or 1, len(parts)))
    if workers == 1:
        return funder_builds(tables)
    heavy_first = sorted(range(len(parts)), key=lambda i: (_weight(parts[i]), i))
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=workers - 1,
        mp_context=context,
        initializer=_start_part_worker,
        initargs=(str(folder),),
    ) as pool:
        pool.submit(int)  # the helpers start (imports, tables) while the indicators are worked out
        every = indicators(tables)
        futures = {
            i: pool.submit(_build_part, parts[i], _indicators_for(parts[i], every), None)
            for i in heavy_first
            if parts[i][0] != "service"
        }
        frames = service_parts_at_once(tables, indicator_table=every)  # while the helper works
        futures |= {
            i: pool.submit(
                _build_part,
                parts[i],
                _indicators_for(parts[i], every),
                _frames_for(parts[i], frames),
            )
            for i in heavy_first
            if parts[i][0] == "service"
        }
        here = _build_until_taken(tables, parts, heavy_first, futures, every, frames)
        return [
            build
            for i in range(len(parts))
            for build in (here[i] if i in here else futures[i].result())
        ]


def _weight(part: Part) -> int:
    """Where a part goes in the queue: the realist synthesis (the longest part), the other
    programme-wide and cross-site parts, then the service-years (short, many)."""
    return {"realist": 0, "service": 2}.get(part[0], 1)


def _indicators_for(part: Part, every: pd.DataFrame) -> pd.DataFrame | None:
    """The indicators a part reads (:data:`INDICATOR_PARTS`), or ``None``."""
    return every if part[0] in INDICATOR_PARTS else None


@dataclass(frozen=True)
class ServicePart:
    """A service part's inputs worked out with every other service part's: its frames
    (:func:`~hubspoke.analysis.service.at_once.frames_by_service_year`) and its quotes
    (:func:`~hubspoke.analysis.realist.quotes.service_quotes_by_service_year`). Speed
    only: the part's builds are the ones made without them."""

    frames: ServiceYearFrames
    quotes: str


def service_parts_at_once(
    tables: Mapping[str, pd.DataFrame], *, indicator_table: pd.DataFrame
) -> dict[tuple[str, int], ServicePart]:
    """:class:`ServicePart` of every service-year, by ``(service_id, year)``;
    ``indicator_table``: every service-year's indicators."""
    frames = frames_by_service_year(tables, indicator_table=indicator_table)
    quotes = service_quotes_by_service_year(tables)
    return {key: ServicePart(frames[key], quotes[key]) for key in frames}


#: Each service part's inputs worked out at once (:func:`service_parts_at_once`).
Frames = Mapping[tuple[str, int], ServicePart]


def _frames_for(part: Part, frames: Frames) -> ServicePart | None:
    """A service part's inputs worked out at once (``None`` for other parts)."""
    return frames.get((part[1], int(part[2]))) if part[0] == "service" else None


def _build_until_taken(
    tables: Mapping[str, pd.DataFrame],
    parts: Sequence[Part],
    order: Sequence[int],
    futures: Mapping[int, Future[list[Build]]],
    every: pd.DataFrame,
    frames: Frames,
) -> dict[int, list[Build]]:
    """Build parts here, from the end of ``order``, each one the helpers have not started
    (its future cancelled); stop at the first they have."""
    here: dict[int, list[Build]] = {}
    for i in reversed(order):
        if not futures[i].cancel():
            break
        here[i] = part_builds(
            tables,
            parts[i],
            indicator_table=_indicators_for(parts[i], every),
            at_once=_frames_for(parts[i], frames),
        )
    return here


def funder_tables_parallel(
    tables: Mapping[str, pd.DataFrame], *, folder: Path, jobs: int | None = None
) -> list[Table]:
    """:func:`funder_tables`, built by ``jobs`` processes (see :func:`funder_builds_parallel`)."""
    return built_tables(funder_builds_parallel(tables, folder=folder, jobs=jobs))


#: A part worker's processed tables, read once per worker process.
_PART_WORKER: dict[str, object] = {}


def _start_part_worker(folder: str) -> None:
    _PART_WORKER.clear()
    _PART_WORKER["tables"] = load.load_tables(Path(folder), names=RELEASE_TABLES)


def _build_part(part: Part, every: pd.DataFrame | None, at_once: ServicePart | None) -> list[Build]:
    tables = cast(dict[str, pd.DataFrame], _PART_WORKER["tables"])
    return part_builds(tables, part, indicator_table=every, at_once=at_once)


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


@functools.cache
def _library_files() -> tuple[Path, ...]:
    """The package's files (listed once per process: a report asks for the release stamp
    with every table, and walking the folder was most of that; each file's size and
    time are still read every time)."""
    root = Path(__file__).parents[1]
    return tuple(sorted(p for p in root.rglob("*") if p.suffix in LIBRARY_SUFFIXES and p.is_file()))


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

    def sig(paths: Iterable[Path]) -> tuple:
        return tuple((str(p), st.st_mtime_ns, st.st_size) for p in paths for st in [p.stat()])

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
    settings: Settings | None = None,
    *,
    rebuild: bool = False,
    jobs: int = 1,
    before_solve: Callable[[], object] | None = None,
) -> Release:
    """The release for the current data and library: from disk if up to date, else built and saved.

    ``jobs``: processes that build its tables (:func:`funder_builds_parallel`); the batch
    passes its number of workers, a notebook builds them itself. The tables are kept
    beside the release (:func:`write_builds`) for :func:`report_tables`.
    ``before_solve`` is called when a release is built, after its tables and before the
    release-wide solve, which runs on one core (the batch starts its workers then).
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
        builds = funder_builds_parallel(tables, folder=folder, jobs=jobs)
        if before_solve is not None:
            before_solve()
        release = build_release(tables, settings=settings, funder=built_tables(builds))
        write_builds(builds, settings=settings, stamp=stamp)
        write_release(release, path, stamp=stamp)
    _CACHE[path] = (stamp, release)
    return release


# --------------------------------------------------------------------------- built tables
#: First bytes of a file of built tables (format version 1).
BUILT_MAGIC: Final = b"HUBSPOKE-BUILT-1\n"
#: Folder of the built tables, beside the release.
BUILT_DIR: Final = "built"


def _built_secret(settings: Settings) -> bytes | None:
    """The key that signs built tables (derived from the pseudonymisation key, which is
    outside git and the data folders); None where there is no key yet (nothing is kept)."""
    try:
        key = load_key(settings, create=False)
    except ConfigError:
        return None
    return hmac.new(key, b"hubspoke: tables kept beside the release", hashlib.sha256).digest()


def _built_path(settings: Settings, key: str) -> Path:
    name = hashlib.sha256(key.encode()).hexdigest()[:40]
    return release_path(settings).parent / BUILT_DIR / f"{name}.pickle"


def write_builds(builds: Iterable[Build], *, settings: Settings, stamp: str) -> None:
    """Keep each builder call's result beside the release, signed, for :func:`report_tables`.

    The files are pickles: they are read back only when their signature (HMAC-SHA256 with
    a key the reports folder does not hold) matches, so a file someone else wrote there
    is ignored, never unpickled. Without a key nothing is kept and reports compute.
    """
    secret = _built_secret(settings)
    folder = release_path(settings).parent / BUILT_DIR
    shutil.rmtree(folder, ignore_errors=True)  # tables of an earlier release go
    if secret is None:
        return
    folder.mkdir(parents=True, exist_ok=True)
    for key, result in builds:
        payload = pickle.dumps((stamp, key, result), protocol=pickle.HIGHEST_PROTOCOL)
        mac = hmac.new(secret, payload, hashlib.sha256).digest()
        path = _built_path(settings, key)
        tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp")
        tmp.write_bytes(BUILT_MAGIC + mac + payload)
        tmp.replace(path)


def read_build(settings: Settings, key: str, *, stamp: str) -> Any | None:
    """The kept result of builder call ``key`` for the release ``stamp``, or None (none
    kept, another release's, or a signature that does not match: then never unpickled)."""
    secret = _built_secret(settings)
    if secret is None:
        return None
    try:
        data = _built_path(settings, key).read_bytes()
    except OSError:
        return None
    head = len(BUILT_MAGIC)
    mac, payload = data[head : head + 32], data[head + 32 :]
    expected = hmac.new(secret, payload, hashlib.sha256).digest()
    if not data.startswith(BUILT_MAGIC) or not hmac.compare_digest(mac, expected):
        log.warning("ignored built tables with a bad signature: %s", _built_path(settings, key))
        return None
    found_stamp, found_key, result = pickle.loads(payload)  # noqa: S301 - signature checked
    return result if (found_stamp, found_key) == (stamp, key) else None


def report_tables(
    builder: Callable[..., T], /, *, settings: Settings | None = None, **params: Any
) -> T:
    """``builder(tables, **params)`` for the current processed tables, as the release built it.

    A report's funder tables: read from beside the current release when the release
    built that call (building the release first if it is out of date), else computed
    from the processed tables the release reads. Either way the result is what
    ``builder`` returns for the data on disk now (the release is rebuilt when the data
    or the library change); an analyst exploring other tables calls ``builder`` itself.
    """
    settings = settings or get_settings()
    current_release(settings)
    key = build_key(builder, params)
    kept = read_build(settings, key, stamp=release_stamp(settings))
    if kept is not None:
        return cast(T, kept)
    tables = load.load_tables(snapshot(settings.processed_dir), names=RELEASE_TABLES)
    return builder(tables, **params)


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
    try:
        frame = pd.read_parquet(path)
    except (OSError, ValueError):  # not a parquet file (pyarrow's ArrowInvalid is a ValueError)
        return None  # built again, as for a stamp that does not match
    # Each key is parsed once: a cell's key recurs as other cells' sources and in the
    # relations (three times in all on the default data; parsing each was most of a read).
    ids: dict[str, CellId] = {}

    def cell_id(key: str) -> CellId:
        found = ids.get(key)
        if found is None:
            found = ids[key] = CellId.from_key(key)
        return found

    if not len(frame):  # a release of no cells is saved without columns
        frame = pd.DataFrame({name: [] for name in (*SAVED_COLUMNS, "number")})
    if not set(SAVED_COLUMNS).union({"number"}) <= set(frame.columns):
        return None  # not a release this version wrote: built again
    columns = {name: frame[name].tolist() for name in SAVED_COLUMNS}
    columns["number"] = frame["number"].astype("float64").tolist()
    keys = columns["key"]
    return Release(
        cells=SavedCells(columns, cell_id),
        hidden=SavedIds(
            [k for k, flag in zip(keys, columns["hidden"], strict=True) if flag], cell_id
        ),
        primary=SavedIds(
            [k for k, flag in zip(keys, columns["primary"], strict=True) if flag], cell_id
        ),
        equations=SavedRelations(meta["equations"], cell_id),
        inequalities=SavedRelations(meta["inequalities"], cell_id),
        threshold=int(meta["threshold"]),
        symbol=str(meta["symbol"]),
        residual=frozenset(cell_id(k) for k in meta["residual"]),
    )


#: The columns of a saved release (one row per cell; see :func:`write_release`).
SAVED_COLUMNS: Final = (
    "key",
    "kind",
    "text",
    "unit",
    "dp",
    "sources",
    "families",
    "hidden",
    "primary",
)


class SavedCells(Mapping[CellId, ReleaseCell]):
    """A saved release's cells by id, each parsed the first time it is looked up.

    A report looks up the few hundred cells its tables show: parsing all of them (some
    30,000 on the default data, with their sources) was most of what reading the release
    cost each notebook. Iterating parses them all, as reading them eagerly did.
    """

    def __init__(self, columns: dict[str, list], cell_id: Callable[[str], CellId]) -> None:
        self._columns = columns
        self._cell_id = cell_id
        self._row = {key: row for row, key in enumerate(columns["key"])}
        self._parsed: dict[int, ReleaseCell] = {}

    def _cell(self, row: int) -> ReleaseCell:
        found = self._parsed.get(row)
        if found is None:
            c = self._columns
            text = c["text"][row]
            found = self._parsed[row] = ReleaseCell(
                self._cell_id(c["key"][row]),
                c["kind"][row],
                text if isinstance(text, str) else c["number"][row],
                c["unit"][row],
                int(c["dp"][row]),
                tuple(map(self._cell_id, c["sources"][row])),
                tuple(c["families"][row]),
            )
        return found

    def __getitem__(self, cell_id: CellId) -> ReleaseCell:
        row = self._row.get(cell_id.key) if isinstance(cell_id, CellId) else None
        if row is None:
            raise KeyError(cell_id)
        return self._cell(row)

    def __contains__(self, cell_id: object) -> bool:
        return isinstance(cell_id, CellId) and cell_id.key in self._row

    def __iter__(self) -> Iterator[CellId]:
        return map(self._cell_id, self._columns["key"])

    def __len__(self) -> int:
        return len(self._row)


_S = TypeVar("_S")


class SavedIds(AbstractSet[CellId]):
    """Ids of a saved release (its hidden or primary cells), parsed only when iterated."""

    def __init__(self, keys: list[str], cell_id: Callable[[str], CellId]) -> None:
        self._keys = keys
        self._set = frozenset(keys)
        self._cell_id = cell_id

    @classmethod
    def _from_iterable(cls, it: Iterable[_S]) -> frozenset[_S]:
        return frozenset(it)  # what set operations (``&``, ``|``, ``-``) return

    def __contains__(self, cell_id: object) -> bool:
        return isinstance(cell_id, CellId) and cell_id.key in self._set

    def __iter__(self) -> Iterator[CellId]:
        return map(self._cell_id, self._keys)

    def __len__(self) -> int:
        return len(self._keys)


class SavedRelations(Sequence[Relation]):
    """The relations of a saved release, parsed on first use (a report never uses them)."""

    def __init__(self, items: list[dict[str, float]], cell_id: Callable[[str], CellId]) -> None:
        self._items = items
        self._cell_id = cell_id
        self._parsed: list[Relation] | None = None

    def _all(self) -> list[Relation]:
        if self._parsed is None:
            self._parsed = [{self._cell_id(k): v for k, v in rel.items()} for rel in self._items]
        return self._parsed

    @overload
    def __getitem__(self, index: int) -> Relation: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Relation]: ...

    def __getitem__(self, index: int | slice) -> Relation | Sequence[Relation]:
        return self._all()[index]

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return self._all() == list(other)

    __hash__ = None  # type: ignore[assignment]


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
