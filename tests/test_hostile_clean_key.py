"""Pseudonyms never stop linking silently (issue 14, item 6): the key's fingerprint guards the data."""

from __future__ import annotations

import io
import json
import secrets
from pathlib import Path

import pandas as pd
import pytest

from broken_files import CASE_S01, CASES_HEADER, make_raw, write_csv
from hubspoke.clean import clean_all
from hubspoke.config import get_settings
from hubspoke.errors import ConfigError
from hubspoke.privacy.pseudonym import key_fingerprint, read_key


def settings_with_key(key_file: Path):
    return get_settings().with_paths(key_file=key_file)


def tables_of(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.glob("*.parquet"))}


@pytest.fixture
def first_run(tmp_path):
    """A raw folder cleaned once with key A; returns (raw, out, key file, the tables' bytes)."""
    raw = make_raw(tmp_path / "raw")
    key_file = tmp_path / "keys" / "a.key"
    summary = clean_all(raw, tmp_path / "out", settings=settings_with_key(key_file))
    assert summary.ok, summary.text()
    return raw, tmp_path / "out", key_file, tables_of(tmp_path / "out")


def test_fingerprint_of_the_key_is_stored_beside_the_data(first_run):
    _, out, key_file, _ = first_run
    manifest = json.loads((out / "manifest.json").read_text())
    key = read_key(key_file)
    assert manifest["key_fingerprint"] == key_fingerprint(key)
    text = (out / "manifest.json").read_text()
    assert key.decode() not in text and key.decode()[:16] not in text


def test_missing_key_is_refused_not_silently_replaced(first_run):
    raw, out, key_file, before = first_run
    key_file.unlink()
    with pytest.raises(ConfigError) as err:
        clean_all(raw, out, settings=settings_with_key(key_file))
    message = str(err.value)
    assert "missing" in message and "fresh_key=True" in message and str(out) in message
    assert not key_file.exists()  # no new key made behind the user's back
    assert tables_of(out) == before


def test_different_key_is_refused(first_run, tmp_path):
    raw, out, _, before = first_run
    other = tmp_path / "keys" / "b.key"
    other.write_text(secrets.token_hex(32) + "\n")
    other.chmod(0o600)
    with pytest.raises(ConfigError, match="not the key the processed data"):
        clean_all(raw, out, settings=settings_with_key(other))
    assert tables_of(out) == before


def test_fresh_key_starts_afresh_on_purpose(first_run):
    raw, out, key_file, before = first_run
    key_file.unlink()
    summary = clean_all(raw, out, settings=settings_with_key(key_file), fresh_key=True)
    assert summary.ok, summary.text()
    assert key_file.exists()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["key_fingerprint"] == key_fingerprint(read_key(key_file))
    cases_before = pd.read_parquet(io.BytesIO(before["cases.parquet"]))
    cases_after = pd.read_parquet(out / "cases.parquet")
    assert set(cases_before["young_person_id"]).isdisjoint(cases_after["young_person_id"])
    # and the same key again is accepted
    assert clean_all(raw, out, settings=settings_with_key(key_file)).ok


def test_same_key_is_accepted_and_output_identical(first_run):
    raw, out, key_file, before = first_run
    assert clean_all(raw, out, settings=settings_with_key(key_file)).ok
    assert tables_of(out) == before


def test_re_referral_with_zero_width_space_still_links(tmp_path):
    raw = make_raw(tmp_path / "raw")
    again = ["C001\u200b", *CASE_S01[1:3], "2015-06-01", *CASE_S01[4:7], "", ""]
    write_csv(raw / "submissions" / "2015" / "S01_2015" / "cases.csv", CASES_HEADER, [again])
    summary = clean_all(raw, tmp_path / "out", settings=settings_with_key(tmp_path / "k" / "k"))
    assert summary.ok, summary.text()
    cases = pd.read_parquet(tmp_path / "out" / "cases.parquet")
    s01 = cases[cases["service_id"] == "S01"].set_index("year")
    first = s01.loc[2014].query("source_row == 3")["young_person_id"].iloc[0]
    assert s01.loc[[2015], "young_person_id"].tolist() == [first]


def test_key_readable_by_others_is_a_warning(tmp_path):
    raw = make_raw(tmp_path / "raw")
    key_file = tmp_path / "keys" / "k.key"
    key_file.parent.mkdir()
    key_file.write_text(secrets.token_hex(32) + "\n")
    key_file.chmod(0o644)
    summary = clean_all(raw, tmp_path / "out", settings=settings_with_key(key_file))
    assert summary.ok
    assert any(str(key_file) in w and "chmod 600" in w for w in summary.warnings)
    assert "chmod 600" in summary.text()


def test_new_key_beside_data_without_a_fingerprint_is_a_warning(tmp_path):
    raw = make_raw(tmp_path / "raw")
    out = tmp_path / "out"
    out.mkdir()
    (out / "cases.parquet").write_bytes(b"cleaned before fingerprints were recorded")
    key_file = tmp_path / "keys" / "k.key"
    summary = clean_all(raw, out, settings=settings_with_key(key_file))
    assert key_file.exists()
    assert any("new pseudonymisation key" in w and str(key_file) in w for w in summary.warnings)
