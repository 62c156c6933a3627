"""The committed raw data dictionary is exactly what rawspec generates."""

from __future__ import annotations

from pathlib import Path

from hubspoke.cli import main
from hubspoke.spec import raw as rawspec
from hubspoke.spec import vocab
from hubspoke.spec.dictionary import processed_dictionary_markdown, raw_dictionary_markdown
from hubspoke.spec.processed import SCHEMAS

ROOT = Path(__file__).resolve().parents[1]


def test_committed_raw_dictionary_is_up_to_date():
    committed = (ROOT / "docs" / "raw_data_dictionary.md").read_text(encoding="utf-8")
    assert committed == raw_dictionary_markdown(), (
        "run `hubspoke dictionary` and commit docs/raw_data_dictionary.md"
    )


def test_dictionary_documents_every_table_column_and_quirk():
    text = raw_dictionary_markdown()
    for table in rawspec.ALL_TABLES:
        assert f"### `{table.name}`" in text
        for col in table.columns:
            assert f"`{col.name}`" in text
    for kind in rawspec.QUIRK_KINDS:
        assert f"`{kind}`" in text


def test_committed_processed_dictionary_is_up_to_date():
    committed = (ROOT / "docs" / "processed_data_dictionary.md").read_text(encoding="utf-8")
    assert committed == processed_dictionary_markdown(), (
        "run `hubspoke dictionary` and commit docs/"
    )


def test_processed_dictionary_documents_every_table():
    text = processed_dictionary_markdown()
    for name, spec in SCHEMAS.items():
        assert name in text
        for column in spec.columns:
            assert f"`{column}`" in text


def test_dictionary_command_writes_both_files(tmp_path, capsys):
    assert main(["dictionary", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "raw_data_dictionary.md").read_text(
        encoding="utf-8"
    ) == raw_dictionary_markdown()
    assert (tmp_path / "processed_data_dictionary.md").read_text(
        encoding="utf-8"
    ) == processed_dictionary_markdown()


def test_every_alias_points_to_one_column_only():
    for table in rawspec.SUBMISSION_TABLES:
        seen: dict[str, str] = {}
        for col in table.columns:
            for header in (col.name, *col.aliases):
                key = vocab.normalise_label(header)
                assert seen.setdefault(key, col.name) == col.name, (
                    f"{table.name}: {header!r} is ambiguous"
                )


def test_every_variant_points_to_one_label_only():
    for table in rawspec.ALL_TABLES:
        for col in table.columns:
            if not col.vocabulary:
                continue
            seen: dict[str, str] = {}
            for label, variants in col.vocabulary.items():
                for v in variants:
                    assert seen.setdefault(v, label) == label, (
                        f"{table.name}.{col.name}: {v!r} is ambiguous"
                    )
