"""Loading processed tables, and checking report parameters against them.

Notebooks and the batch runner read processed data only through here, so a
missing table gets one clear message ("run `hubspoke clean`") and parameters are
checked the same way everywhere.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from hubspoke.config import Settings, get_settings
from hubspoke.errors import ConfigError, ParameterError

#: Processed tables that hold one service-year submission's rows.
SUBMISSION_TABLES: tuple[str, ...] = ("cases", "activities", "policy", "spoke_survey")


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
    pairs: set[tuple[str, int]] = set()
    for name in SUBMISSION_TABLES:
        path = folder / f"{name}.parquet"
        if path.is_file():
            frame = pd.read_parquet(path, columns=["service_id", "year"]).drop_duplicates()
            pairs.update(
                zip(frame["service_id"].astype(str), frame["year"].astype(int), strict=True)
            )
    if not pairs:
        raise ConfigError("no cleaned submissions found: run `hubspoke clean` first", file=folder)
    return sorted(pairs)


def check_service_year(
    service_id: object, year: object, *, folder: Path | None = None
) -> tuple[str, int]:
    """Validate a service report's parameters; raise ParameterError saying what is allowed."""
    pairs = service_years(folder)
    services = sorted({s for s, _ in pairs})
    if not isinstance(service_id, str):
        raise ParameterError(
            "service_id must be text such as 'S01'",
            column="service_id",
            allowed=services,
            found=f"{service_id!r} ({type(service_id).__name__})",
        )
    if service_id not in services:
        raise ParameterError(
            "unknown service", column="service_id", allowed=services, found=service_id
        )
    years = [y for s, y in pairs if s == service_id]
    if isinstance(year, bool) or not isinstance(year, int):
        raise ParameterError(
            "year must be a whole number such as 2015",
            column="year",
            allowed=years,
            found=f"{year!r} ({type(year).__name__})",
        )
    if year not in years:
        raise ParameterError(
            f"service {service_id} has no data for this year",
            column="year",
            allowed=years,
            found=year,
        )
    return service_id, year


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
    "context",
)


def load_tables(
    folder: Path | None = None, *, names: tuple[str, ...] = PROCESSED_TABLES
) -> dict[str, pd.DataFrame]:
    """Every processed table found in ``folder``, by name (the analysis functions take this dict)."""
    folder = Path(folder) if folder is not None else processed_dir()
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
