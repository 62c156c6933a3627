"""Shared fixtures: one synthetic raw data set per test session."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def synthetic_raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default synthetic raw folder (``hubspoke.synth.generate`` with seed 2014), written once."""
    from hubspoke.synth import generate

    out = tmp_path_factory.mktemp("raw")
    generate(out, seed=2014)
    return out
