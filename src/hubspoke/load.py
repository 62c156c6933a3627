"""Loading processed tables, and checking report parameters against them.

Notebooks and the batch runner read processed data only through here, so a
missing table gets one clear message ("run `hubspoke clean`") and parameters are
checked the same way everywhere. It is also the one home of the evaluation
*period* (:class:`Period`: one year, or all years together) and of the labels
for "all services" and "all years".
"""

from __future__ import annotations

import hashlib
import re
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from hubspoke.config import Settings, get_settings
from hubspoke.errors import ConfigError, ParameterError
from hubspoke.io.parquet import snapshot
from hubspoke.spec.processed import schema
from hubspoke.spec.raw import SUBMISSION_TABLE_NAMES

#: Label of a row or column that pools every service.
ALL_SERVICES = "All services"
#: Label of a period that pools every evaluation year.
ALL_YEARS = "All years"


def all_years_label(years: Sequence[int]) -> str:
    """The ``time_period`` of years pooled in the funder release and open data, e.g. ``2014-2016``."""
    return f"{min(years)}-{max(years)}"


@dataclass(frozen=True)
class Period:
    """An evaluation period: one year, or every year together (``year is None``)."""

    year: int | None = None

    @classmethod
    def parse(cls, value: object) -> Period:
        """``"all"`` -> every year; ``2015`` or ``"2015"`` -> that year; else a ParameterError."""
        if isinstance(value, Period):
            return value
        if isinstance(value, str) and value.strip().lower() == "all":
            return cls(None)
        text = (
            str(value).strip()
            if isinstance(value, (int, np.integer, str)) and not isinstance(value, bool)
            else ""
        )
        if text.isdigit() and 2000 <= int(text) <= 2100:
            return cls(int(text))
        raise ParameterError(
            "year must be 'all' or a year such as 2015", column="year", found=value
        )

    @property
    def is_all(self) -> bool:
        """True when the period pools every year."""
        return self.year is None

    @property
    def label(self) -> str:
        """``"All years"`` or the year as text."""
        return ALL_YEARS if self.year is None else str(self.year)

    def rows(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The rows of ``frame`` in this period (all rows when it pools every year)."""
        if self.year is None:
            return frame
        return frame.loc[frame["year"].astype("Int64").eq(self.year).fillna(False)]


def table(tables: Mapping[str, pd.DataFrame], name: str) -> pd.DataFrame:
    """Processed table ``name`` from ``tables``, or an empty frame of its schema when absent."""
    frame = tables.get(name)
    return schema(name).empty() if frame is None else frame


def processed_dir(settings: Settings | None = None) -> Path:
    """The processed data folder of the current settings."""
    return (settings or get_settings()).processed_dir


def load(
    name: str, *, settings: Settings | None = None, folder: Path | None = None
) -> pd.DataFrame:
    """Read processed table ``name`` (``<processed>/<name>.parquet``)."""
    folder = Path(folder) if folder is not None else processed_dir(settings)
    path = folder / f"{name}.parquet"
    if not path.is_file():
        raise ConfigError(
            "processed table not found: run `hubspoke clean` (or `make report`) first", file=path
        )
    return pd.read_parquet(path)


def service_years(folder: Path | None = None) -> list[tuple[str, int]]:
    """Every (service_id, year) for which a submission was cleaned, in service then year order."""
    folder = Path(folder) if folder is not None else processed_dir()
    source = snapshot(folder)
    pairs: set[tuple[str, int]] = set()
    for name in SUBMISSION_TABLE_NAMES:
        path = source / f"{name}.parquet"
        if path.is_file():
            frame = pd.read_parquet(path, columns=["service_id", "year"]).drop_duplicates()
            pairs.update(
                zip(frame["service_id"].astype(str), frame["year"].astype(int), strict=True)
            )
    if not pairs:
        raise ConfigError("no cleaned submissions found: run `hubspoke clean` first", file=folder)
    return sorted(pairs)


#: The last few answers of :func:`available_service_years`, by the frames they were read
#: from (a report or the release asks it thousands of times of the same loaded tables).
#: Held by weak reference, so remembering never keeps a frame alive.
_PAIRS_SEEN: list[tuple[tuple[weakref.ref, ...], dict[str, list[int]]]] = []


def available_service_years(tables: Mapping[str, pd.DataFrame]) -> dict[str, list[int]]:
    """Each service with submission rows in ``tables`` and its years, in order.

    Remembered for the same frame objects (loaded tables are read, never changed in
    place); a copy is returned, so callers may change it.
    """
    frames = tuple(tables[n] for n in SUBMISSION_TABLE_NAMES if n in tables)
    for seen, answer in _PAIRS_SEEN:
        if len(seen) == len(frames) and all(a() is b for a, b in zip(seen, frames, strict=True)):
            return {sid: list(years) for sid, years in answer.items()}
    answer = _service_years_of(tables)
    _PAIRS_SEEN.insert(0, (tuple(weakref.ref(f) for f in frames), answer))
    del _PAIRS_SEEN[4:]
    return {sid: list(years) for sid, years in answer.items()}


def _service_years_of(tables: Mapping[str, pd.DataFrame]) -> dict[str, list[int]]:
    pairs: set[tuple[str, int]] = set()
    for name in (n for n in SUBMISSION_TABLE_NAMES if n in tables):
        frame = tables[name]
        # The distinct pairs by index (4x faster than drop_duplicates on the nullable dtypes).
        unique = pd.MultiIndex.from_arrays([frame["service_id"], frame["year"]]).unique()
        pairs |= {(str(sid), int(y)) for sid, y in unique if pd.notna(sid) and pd.notna(y)}
    out: dict[str, list[int]] = {}
    for sid, y in sorted(pairs):
        out.setdefault(sid, []).append(y)
    return out


def check_service_year(
    service_id: object,
    year: object,
    *,
    folder: Path | None = None,
    tables: Mapping[str, pd.DataFrame] | None = None,
) -> tuple[str, int]:
    """Validate a service report's parameters; raise ParameterError saying what is allowed.

    Checked against ``tables`` when given, else against the processed tables on disk.
    """
    if tables is not None:
        available = available_service_years(tables)
    else:
        available = {}
        for sid, y in service_years(folder):
            available.setdefault(sid, []).append(y)
    return _check_pair(available, service_id, year)


def _check_pair(
    available: Mapping[str, Sequence[int]], service_id: object, year: object
) -> tuple[str, int]:
    """The one service/year check: ``service_id`` known, ``year`` one of its years."""
    services = list(available)
    if not isinstance(service_id, str):
        raise ParameterError(
            "service_id must be text such as 'S01'",
            column="service_id",
            allowed=services,
            found=f"{service_id!r} ({type(service_id).__name__})",
        )
    if service_id not in available:
        raise ParameterError(
            "unknown service", column="service_id", allowed=services, found=service_id
        )
    years = list(available[service_id])
    if isinstance(year, bool) or not isinstance(year, (int, np.integer)):
        raise ParameterError(
            "year must be a whole number such as 2015",
            column="year",
            allowed=years,
            found=f"{year!r} ({type(year).__name__})",
        )
    if int(year) not in years:
        raise ParameterError(
            f"service {service_id} has no data for this year",
            column="year",
            allowed=years,
            found=year,
        )
    return service_id, int(year)


def check_year_choice(year: object, *, folder: Path | None = None) -> str:
    """Validate a cross-site ``year`` parameter: ``"all"`` or a year with data (as text or a number)."""
    years = sorted({y for _, y in service_years(folder)})
    allowed = ["all", *map(str, years)]
    text = (
        str(year).strip().lower()
        if isinstance(year, (str, int)) and not isinstance(year, bool)
        else None
    )
    if text not in allowed:
        raise ParameterError(
            "year must be 'all' or a year with data", column="year", allowed=allowed, found=year
        )
    return text


#: Every processed table a report may read (those missing on disk are left out by load_tables).
PROCESSED_TABLES: tuple[str, ...] = (
    "services",
    "spokes",
    "cases",
    "activities",
    "policy",
    "spoke_survey",
    "codebook",
    "transcripts",
    "codings",
    "judgements",
    "refinements",
    "context",
)


def load_tables(
    folder: Path | None = None, *, names: tuple[str, ...] = PROCESSED_TABLES
) -> dict[str, pd.DataFrame]:
    """Every processed table found in ``folder``, by name (the analysis functions take this dict).

    All from one run: read from the generation in force when the call starts
    (:func:`hubspoke.io.parquet.snapshot`), even if a clean switches meanwhile.
    """
    folder = snapshot(Path(folder) if folder is not None else processed_dir())
    return {
        name: pd.read_parquet(folder / f"{name}.parquet")
        for name in names
        if (folder / f"{name}.parquet").is_file()
    }


def check_service_list(services: object, *, folder: Path | None = None) -> list[str]:
    """Validate a ``services`` parameter: ``"all"`` or comma-separated known service ids."""
    if not isinstance(services, str):
        raise ParameterError(
            "services must be text: 'all' or ids such as 'S01,S04'",
            column="services",
            found=f"{services!r} ({type(services).__name__})",
        )
    known = sorted({s for s, _ in service_years(folder)})
    if services.strip().lower() == "all":
        return known
    chosen = [s.strip() for s in services.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in known]
    if unknown or not chosen:
        raise ParameterError(
            "unknown service", column="services", allowed=known, found=unknown or services
        )
    return chosen


def check_choice(value: object, *, column: str, allowed: tuple[str, ...]) -> str:
    """Validate a text parameter that takes one of a few values."""
    if not isinstance(value, str) or value not in allowed:
        raise ParameterError(
            "not one of the allowed values", column=column, allowed=allowed, found=value
        )
    return value


def service_order(service_ids: Sequence[str]) -> list[str]:
    """Services in their one fixed order: by number (S2 before S10), whatever order they come in."""

    def key(sid: str) -> tuple[int, str]:
        digits = re.sub(r"\D", "", str(sid))
        return (int(digits) if digits else 10**9, str(sid))

    return sorted(dict.fromkeys(map(str, service_ids)), key=key)


# ---------------------------------------------------------------------------
# Versions of the processed data (for report stamps and incremental runs)
# ---------------------------------------------------------------------------


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def data_fingerprint(processed_dir: Path, *, service_id: str | None = None) -> str:
    """Hash of the processed data a report reads: all of it, or only one service's rows.

    A service report depends only on its service's rows (and the tables without a
    ``service_id`` column), so changing one service's raw file rebuilds only that
    service's reports and the cross-site ones.
    """
    files = sorted(snapshot(Path(processed_dir)).glob("*.parquet"))
    if service_id is None:
        return _digest(b"".join(p.name.encode() + _digest(p.read_bytes()).encode() for p in files))
    digest = hashlib.sha256()
    for path in files:
        by_service = _service_digests(path)
        if by_service is not None:
            digest.update(path.name.encode() + by_service.get(service_id, _digest(b"")).encode())
        else:
            digest.update(path.name.encode() + _digest(path.read_bytes()).encode())
    return digest.hexdigest()


#: :func:`_service_digests` of the files read so far, by path, size and time (a generation
#: of the processed tables is written once, then only read).
_SERVICE_DIGESTS: dict[tuple[str, int, int], dict[str, str] | None] = {}


def _service_digests(path: Path) -> dict[str, str] | None:
    """The digest of each service's rows of one table (None: it has no ``service_id``).

    One read per file and process: a batch asks for every service's fingerprint, and
    reading each table again per service (filtered) was most of a run with nothing to do.
    A service's digest is that of its rows' hashes in file order, as a filtered read gives.
    """
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _SERVICE_DIGESTS:
        found: dict[str, str] | None = None
        if "service_id" in pq.read_schema(path).names:
            frame = pd.read_parquet(path)
            hashes = pd.util.hash_pandas_object(frame, index=False).to_numpy()
            codes, services = pd.factorize(frame["service_id"])
            found = {
                str(sid): _digest(hashes[codes == i].tobytes()) for i, sid in enumerate(services)
            }
        _SERVICE_DIGESTS[key] = found
    return _SERVICE_DIGESTS[key]


def data_version(processed_dir: Path) -> str:
    """A short, human-readable version of the processed data (first 12 hex of its hash)."""
    return data_fingerprint(processed_dir)[:12]
