"""Pseudonyms: keyed, stable, key created safely and never stored with the data."""

from __future__ import annotations

import hashlib
import hmac
import inspect
import os
import stat
from pathlib import Path

import pandas as pd
import pytest

import hubspoke.privacy.pseudonym as pseudonym_module
from hubspoke.config import get_settings
from hubspoke.errors import ConfigError
from hubspoke.privacy.pseudonym import (
    check_key_fingerprint,
    key_fingerprint,
    key_permission_problem,
    load_key,
    normalise_ref,
    pseudonym,
    pseudonymise,
)


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


# ---------------------------------------------------------------------------
# Issue 14, item 6: the standard library's HMAC, normalised references, key files
# ---------------------------------------------------------------------------


def test_digests_are_the_standard_library_hmac():
    key = bytes(range(64))
    services = pd.Series([f"S{i % 150 + 1:03d}" for i in range(500)])
    refs = pd.Series([f"S{i % 150 + 1:03d}-{i:05d}" for i in range(500)])
    ids = pseudonymise(key, services, refs)
    expected = [
        hmac.new(key, f"{s}:{r}".encode(), hashlib.sha256).hexdigest()[:16]
        for s, r in zip(services, refs, strict=True)
    ]
    assert ids.tolist() == expected
    long_key = b"k" * 100  # longer than the SHA-256 block: hashed first, as RFC 2104 says
    assert (
        pseudonym(long_key, "S01", "C1")
        == (hmac.new(long_key, b"S01:C1", hashlib.sha256).hexdigest()[:16])
    )


def test_source_has_no_hand_rolled_hmac_pads():
    source = inspect.getsource(pseudonym_module)
    assert "0x36" not in source and "0x5C" not in source.upper()


@pytest.mark.parametrize(
    "typed",
    [
        "S04-00012\u200b",  # zero-width space after
        "\u200bS04-00012",  # zero-width space before
        "S04-\u200d00012",  # zero-width joiner inside
        "S04-00012\ufeff",  # byte order mark
        "\u00a0S04-00012\u00a0",  # non-breaking spaces
        "\uff33\uff10\uff14-00012",  # full-width S04
        " s04-00012 ",
    ],
)
def test_case_reference_is_normalised_before_hashing(typed):
    key = b"k" * 64
    plain = hmac.new(key, b"S04:S04-00012", hashlib.sha256).hexdigest()[:16]
    assert normalise_ref(typed) == "S04-00012"
    assert pseudonym(key, "S04", typed) == plain
    ids = pseudonymise(key, pd.Series(["S04", "S04"]), pd.Series(["S04-00012", typed]))
    assert ids.tolist() == [plain, plain]


def test_ordinary_references_keep_their_pseudonyms():
    key = b"k" * 64
    refs = ["C001", "S04-00012", "yp/77", "K-1 ", "ab12cd"]
    expected = [
        hmac.new(key, f"S01:{r.strip().upper()}".encode(), hashlib.sha256).hexdigest()[:16]
        for r in refs
    ]
    assert pseudonymise(key, pd.Series(["S01"] * len(refs)), pd.Series(refs)).tolist() == expected


def test_key_folders_are_created_private(tmp_path):
    settings = get_settings().with_paths(
        raw_dir=tmp_path / "raw",
        processed_dir=tmp_path / "processed",
        key_file=tmp_path / "a" / "b" / "k.key",
    )
    old = os.umask(0o022)
    try:
        load_key(settings)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "a" / "b").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "a" / "b" / "k.key").stat().st_mode) == 0o600


def test_existing_key_folder_mode_is_left_alone(tmp_path):
    folder = tmp_path / "shared"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    settings = get_settings().with_paths(
        raw_dir=tmp_path / "raw", processed_dir=tmp_path / "p", key_file=folder / "k.key"
    )
    load_key(settings)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755


def test_key_readable_by_others_is_named(settings):
    load_key(settings)
    assert key_permission_problem(settings.key_file) is None
    settings.key_file.chmod(0o644)
    problem = key_permission_problem(settings.key_file)
    assert problem and str(settings.key_file) in problem and "chmod 600" in problem


def test_missing_key_is_not_created_when_asked_not_to(settings):
    with pytest.raises(ConfigError, match="does not exist"):
        load_key(settings, create=False)
    assert not settings.key_file.exists()


def test_fingerprint_tells_keys_apart_and_hides_the_key():
    a, b = b"a" * 64, b"b" * 64
    assert key_fingerprint(a) == key_fingerprint(a)
    assert key_fingerprint(a) != key_fingerprint(b)
    assert len(key_fingerprint(a)) == 16
    assert key_fingerprint(a) != hashlib.sha256(a).hexdigest()[:16]  # keyed, not a plain hash
    with pytest.raises(ConfigError, match="not the key"):
        check_key_fingerprint(b, key_fingerprint(a), key_file=Path("k"), folder=Path("p"))
