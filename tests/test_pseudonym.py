"""Pseudonyms: keyed, stable, key created safely and never stored with the data."""

from __future__ import annotations

import hashlib
import hmac
import stat

import pandas as pd
import pytest

from hubspoke.config import get_settings
from hubspoke.errors import ConfigError
from hubspoke.privacy.pseudonym import load_key, pseudonym, pseudonymise


@pytest.fixture
def settings(tmp_path):
    return get_settings().with_paths(
        raw_dir=tmp_path / "raw",
        processed_dir=tmp_path / "processed",
        key_file=tmp_path / "secret" / "k.key",
    )


def test_key_created_once_with_mode_0600(settings):
    key = load_key(settings)
    assert len(key) == 64
    assert stat.S_IMODE(settings.key_file.stat().st_mode) == 0o600
    assert load_key(settings) == key


def test_key_inside_processed_folder_is_refused(settings):
    bad = settings.with_paths(key_file=settings.processed_dir / "k.key")
    with pytest.raises(ConfigError, match="processed data folder"):
        load_key(bad)
    assert not (settings.processed_dir / "k.key").exists()


def test_key_inside_checkout_is_refused(settings):
    with pytest.raises(ConfigError, match="project checkout"):
        load_key(settings.with_paths(key_file=settings.root / "pseudonym.key"))


def test_pseudonym_is_truncated_hmac_sha256():
    key = b"k" * 64
    expected = hmac.new(key, b"S01:C001", hashlib.sha256).hexdigest()[:16]
    assert pseudonym(key, "S01", "C001") == expected
    assert pseudonym(key, "S01", " c001 ") == expected


def test_vectorised_matches_scalar_and_links_across_years():
    key = b"k" * 64
    ids = pseudonymise(
        key, pd.Series(["S01", "S01", "S02", "S01"]), pd.Series(["C001", "C002", "C001", "C001"])
    )
    assert ids.tolist()[0] == pseudonym(key, "S01", "C001") == ids.tolist()[3]
    assert ids.nunique() == 3  # same ref in another service is another young person
    assert pseudonymise(b"x" * 64, pd.Series(["S01"]), pd.Series(["C001"]))[0] != ids[0]


def test_missing_case_ref_gives_missing_id():
    ids = pseudonymise(
        b"k" * 64, pd.Series(["S01", "S01"]), pd.Series(["C1", None], dtype="string")
    )
    assert ids.isna().tolist() == [False, True]
