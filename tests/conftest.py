"""Shared fixtures: one synthetic raw data set, and its cleaned form, per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

#: Where the shared statistics live for tests (never copied into the repository).
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session", autouse=True)
def _session_key_file(tmp_path_factory: pytest.TempPathFactory):
    """Every test uses a throwaway pseudonymisation key, never the user's own (~/.config)."""
    previous = os.environ.get("HUBSPOKE_KEY_FILE")
    os.environ["HUBSPOKE_KEY_FILE"] = str(tmp_path_factory.mktemp("key") / "pseudonym.key")
    yield
    if previous is None:
        os.environ.pop("HUBSPOKE_KEY_FILE", None)
    else:
        os.environ["HUBSPOKE_KEY_FILE"] = previous


@pytest.fixture(scope="session")
def synthetic_raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default synthetic raw folder (``hubspoke.synth.generate`` with seed 2014), written once."""
    from hubspoke.synth import generate

    out = tmp_path_factory.mktemp("raw")
    generate(out, seed=2014)
    return out


@pytest.fixture(scope="session")
def synthetic_processed(synthetic_raw: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default synthetic data cleaned by ``hubspoke.clean.clean_all`` (every cleaner), once."""
    from hubspoke.clean import clean_all

    out = tmp_path_factory.mktemp("processed")
    summary = clean_all(synthetic_raw, out)
    assert summary.ok, summary.text()
    return out
