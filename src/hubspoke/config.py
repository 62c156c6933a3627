"""Paths and settings: the one place that knows where things live.

Nothing else in the package builds a project path by hand. Every setting can
be overridden by an environment variable (listed on :class:`Settings`), so
tests and batch runs point the suite at temporary folders without touching
global state.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from hubspoke.errors import ConfigError

ENV_ROOT = "HUBSPOKE_ROOT"
ENV_RAW = "HUBSPOKE_RAW_DIR"
ENV_PROCESSED = "HUBSPOKE_PROCESSED_DIR"
ENV_FIGURES = "HUBSPOKE_FIGURES_DIR"
ENV_REPORTS = "HUBSPOKE_REPORTS_DIR"
ENV_CONTEXT = "HUBSPOKE_CONTEXT_DIR"
ENV_KEY = "HUBSPOKE_KEY_FILE"

#: Evaluation years: year 1 = 2014, year 2 = 2015, year 3 = 2016.
EVALUATION_YEARS: tuple[int, ...] = (2014, 2015, 2016)

#: DfE convention: counts from 1 to this value are suppressed in funder output.
SUPPRESSION_THRESHOLD = 5
SUPPRESSION_SYMBOL = "c"


def find_root(start: Path | None = None) -> Path:
    """Return the project root: ``$HUBSPOKE_ROOT``, else the checkout holding this package, else cwd."""
    if os.environ.get(ENV_ROOT):
        return Path(os.environ[ENV_ROOT]).expanduser().resolve()
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").is_file() and (parent / "src" / "hubspoke").is_dir():
            return parent
    start = (start or Path.cwd()).resolve()
    for parent in (start, *start.parents):
        if (parent / "data").is_dir() and (parent / "notebooks").is_dir():
            return parent
    return start


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser().resolve() if value else default


def default_key_file() -> Path:
    """Where the pseudonymisation key lives by default: outside git and outside data/processed."""
    base = Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config"))
    return base / "hubspoke" / "pseudonym.key"


@dataclass(frozen=True)
class Settings:
    """All paths and settings of one run.

    Environment variables: ``HUBSPOKE_ROOT``, ``HUBSPOKE_RAW_DIR``,
    ``HUBSPOKE_PROCESSED_DIR``, ``HUBSPOKE_FIGURES_DIR``, ``HUBSPOKE_REPORTS_DIR``,
    ``HUBSPOKE_CONTEXT_DIR`` (folder of Explore Education Statistics CSVs; defaults to
    the synthetic ones under ``data/raw/context``) and ``HUBSPOKE_KEY_FILE``.
    """

    root: Path
    raw_dir: Path
    processed_dir: Path
    figures_dir: Path
    reports_dir: Path
    context_dir: Path
    key_file: Path
    notebooks_dir: Path
    suppression_threshold: int = SUPPRESSION_THRESHOLD
    suppression_symbol: str = SUPPRESSION_SYMBOL
    years: tuple[int, ...] = field(default=EVALUATION_YEARS)

    def with_paths(self, **paths: Path) -> Settings:
        """Return a copy with some paths replaced (keyword-only, e.g. ``raw_dir=tmp``)."""
        unknown = set(paths) - {
            f for f in self.__dataclass_fields__ if f.endswith(("_dir", "_file"))
        }
        if unknown:
            raise ConfigError("unknown path setting", found=sorted(unknown))
        # Typed as Any: mypy checks ``replace``'s keywords against every field's type,
        # and only the Path-typed fields can be named here (checked just above).
        changes: dict[str, Any] = {k: Path(v) for k, v in paths.items()}
        return replace(self, **changes)


def context_dir_for(raw_dir: Path) -> Path:
    """The statistics folder for a raw folder: ``$HUBSPOKE_CONTEXT_DIR`` when set, else ``<raw>/context``."""
    return _env_path(ENV_CONTEXT, Path(raw_dir) / "context")


def get_settings() -> Settings:
    """Read the settings from the environment (called afresh each time: no cached global)."""
    root = find_root()
    raw = _env_path(ENV_RAW, root / "data" / "raw")
    return Settings(
        root=root,
        raw_dir=raw,
        processed_dir=_env_path(ENV_PROCESSED, root / "data" / "processed"),
        figures_dir=_env_path(ENV_FIGURES, root / "figures"),
        reports_dir=_env_path(ENV_REPORTS, root / "reports"),
        context_dir=_env_path(ENV_CONTEXT, raw / "context"),
        key_file=_env_path(ENV_KEY, default_key_file()),
        notebooks_dir=root / "notebooks",
    )
