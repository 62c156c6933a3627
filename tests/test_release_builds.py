"""The tables the release built, kept beside it for the reports (``report_tables``).

A report reads its funder tables from beside the release instead of computing them a
second time. The kept files are pickles, so they must be read only when their signature
matches a key the reports folder does not hold: a file anyone else wrote there is never
unpickled. All data here is synthetic (the conftest fixtures).
"""

from __future__ import annotations

import pickle
from pathlib import Path

import pandas as pd
import pytest

from hubspoke import load
from hubspoke.analysis import release as rel
from hubspoke.analysis.realist.tables import coding_quality_tables, local_context_tables
from hubspoke.analysis.service.tables import service_tables
from hubspoke.config import get_settings

TABLE_NAMES = (*load.PROCESSED_TABLES, "reconciliation", "quarantine")


@pytest.fixture(scope="module")
def tables(synthetic_processed: Path) -> dict[str, pd.DataFrame]:
    return load.load_tables(synthetic_processed, names=TABLE_NAMES)


@pytest.fixture
def settings(synthetic_processed: Path, tmp_path: Path):
    return get_settings().with_paths(
        processed_dir=synthetic_processed, reports_dir=tmp_path / "reports"
    )


def _same_tables(found: dict, expected: dict) -> None:
    assert list(found) == list(expected)
    for name, table in expected.items():
        pd.testing.assert_frame_equal(found[name].frame, table.frame, check_exact=True)
        assert found[name].columns == table.columns and found[name].scope == table.scope


def test_a_build_key_names_the_call_with_defaults_and_without_speed_only_inputs():
    plain = rel.build_key(service_tables, {"service_id": "S01", "year": 2015})
    assert plain == rel.build_key(
        service_tables,
        {"service_id": "S01", "year": 2015, "framework": None, "indicator_table": pd.DataFrame()},
    )
    assert plain != rel.build_key(service_tables, {"service_id": "S01", "year": 2016})
    assert plain.startswith("hubspoke.analysis.service.tables.service_tables(")
    assert rel.build_key(local_context_tables, {}) != rel.build_key(
        local_context_tables, {"services": ["S01"]}
    )


def test_kept_tables_read_back_for_their_release_only(tables, settings):
    key = rel.build_key(coding_quality_tables, {})
    built = coding_quality_tables(tables)
    rel.write_builds([(key, built)], settings=settings, stamp="release-A")
    _same_tables(rel.read_build(settings, key, stamp="release-A"), built)
    assert rel.read_build(settings, key, stamp="release-B") is None, "another release's tables"
    assert (
        rel.read_build(settings, rel.build_key(local_context_tables, {}), stamp="release-A") is None
    )
    rel.write_builds([], settings=settings, stamp="release-C")
    assert rel.read_build(settings, key, stamp="release-A") is None, "a new release clears them"


class _Trap:
    """Unpickling this writes a file: proof that a payload was unpickled."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):
        return (Path.write_text, (self.path, "unpickled"))


def test_a_kept_file_someone_else_wrote_is_never_unpickled(tables, settings, tmp_path):
    key = rel.build_key(coding_quality_tables, {})
    rel.write_builds([(key, coding_quality_tables(tables))], settings=settings, stamp="S")
    path = rel._built_path(settings, key)
    genuine = path.read_bytes()
    assert rel.read_build(settings, key, stamp="S") is not None
    trap = tmp_path / "trap.txt"
    payload = pickle.dumps(("S", key, _Trap(trap)))
    # the right header, a signature made without the key
    path.write_bytes(rel.BUILT_MAGIC + b"\0" * 32 + payload)
    assert rel.read_build(settings, key, stamp="S") is None
    # a genuine signature moved onto another payload
    path.write_bytes(genuine[: len(rel.BUILT_MAGIC) + 32] + payload)
    assert rel.read_build(settings, key, stamp="S") is None
    path.write_bytes(b"garbage")
    assert rel.read_build(settings, key, stamp="S") is None
    assert not trap.exists()


def test_without_a_key_nothing_is_kept(tables, settings, monkeypatch, tmp_path):
    monkeypatch.setenv("HUBSPOKE_KEY_FILE", str(tmp_path / "nokey" / "pseudonym.key"))
    keyless = get_settings().with_paths(
        processed_dir=settings.processed_dir, reports_dir=settings.reports_dir
    )
    key = rel.build_key(coding_quality_tables, {})
    rel.write_builds([(key, coding_quality_tables(tables))], settings=keyless, stamp="S")
    assert not rel._built_path(keyless, key).exists()
    assert rel.read_build(keyless, key, stamp="S") is None


def test_the_release_keeps_every_part_as_the_builders_return_it(tables):
    """part_builds' keys are the calls a notebook makes, and its results are the builders'."""
    every = rel.funder_parts(tables)
    service = next(p for p in every if p[0] == "service")
    builds = dict(rel.part_builds(tables, service))
    where = {"service_id": service[1], "year": int(service[2])}
    _same_tables(builds[rel.build_key(service_tables, where)], service_tables(tables, **where))
    realist = dict(rel.part_builds(tables, ("realist",)))
    from hubspoke.analysis.realist.quotes import service_quotes
    from hubspoke.analysis.realist.tables import for_whom_table, realist_tables

    _same_tables(
        realist[rel.build_key(realist_tables, {"year": "all"})],
        realist_tables(tables, year="all"),
    )
    # kept for the notebooks beside the funder tables, never in the release: a service
    # report's quotes (text) and the synthesis's "for whom" table (evaluation team only)
    quotes = builds.pop(rel.build_key(service_quotes, where))
    assert quotes == service_quotes(tables, **where) and isinstance(quotes, str)
    for_whom = realist.pop(rel.build_key(for_whom_table, {}))
    assert isinstance(for_whom, pd.DataFrame) and len(for_whom)
    flat = rel.part_tables(tables, ("realist",))
    assert len(flat) == sum(len(r) for r in realist.values())
    assert len(rel.part_tables(tables, service)) == sum(len(r) for r in builds.values())


@pytest.mark.slow
def test_a_report_reads_its_tables_from_beside_the_release(built_reports, tables, monkeypatch):
    """After ``hubspoke report`` a notebook's tables come from the release, equal to fresh ones."""
    settings = built_reports.settings
    where = {"service_id": "S01", "year": 2015}

    def fail(*args, **kwargs):
        raise AssertionError("computed again")

    monkeypatch.setattr(rel.load, "load_tables", fail)
    found = rel.report_tables(service_tables, settings=settings, **where)
    monkeypatch.undo()
    _same_tables(found, service_tables(tables, **where))
    # a call the release did not make is computed from the processed tables
    chosen = rel.report_tables(local_context_tables, settings=settings, services=["S01"])
    _same_tables(chosen, local_context_tables(tables, services=["S01"]))


@pytest.mark.slow
def test_tables_built_by_two_processes_are_those_built_by_one(
    tables, synthetic_processed, monkeypatch
):
    """The batch's two processes (this one and a helper) share the parts; the builds come
    back in report order and equal those built in one process, whoever built which."""
    alone = rel.funder_builds(tables)
    here: list[rel.Part] = []
    real = rel.part_builds

    def record(tables, part, **kwargs):
        here.append(part)
        return real(tables, part, **kwargs)

    monkeypatch.setattr(rel, "part_builds", record)  # this process only (the helper spawns)
    shared = rel.funder_builds_parallel(tables, folder=synthetic_processed, jobs=2)
    parts = rel.funder_parts(tables)
    assert 0 < len(here) < len(parts), "both processes build parts"
    assert [key for key, _ in shared] == [key for key, _ in alone]
    found, expected = rel.built_tables(shared), rel.built_tables(alone)
    assert len(found) == len(expected)
    for a, b in zip(found, expected, strict=True):
        assert a.family == b.family and a.scope == b.scope
        pd.testing.assert_frame_equal(a.frame, b.frame, check_exact=True)


def test_before_solve_runs_once_between_the_tables_and_the_solve(settings, monkeypatch):
    """The batch starts its workers in ``before_solve``: called when a release is built,
    after its tables and before the one-core solve; never when the release is read."""
    order: list[str] = []
    real_builds, real_solve = rel.funder_builds_parallel, rel.build_release

    def builds(*args, **kwargs):
        order.append("tables")
        return real_builds(*args, **kwargs)

    def solve(*args, **kwargs):
        order.append("solve")
        return real_solve(*args, **kwargs)

    monkeypatch.setattr(rel, "funder_builds_parallel", builds)
    monkeypatch.setattr(rel, "build_release", solve)
    first = rel.current_release(settings, before_solve=lambda: order.append("warm"))
    assert order == ["tables", "warm", "solve"]
    rel._CACHE.clear()  # read from disk this time, as a new process would
    again = rel.current_release(settings, before_solve=lambda: order.append("warm"))
    assert order == ["tables", "warm", "solve"]
    assert again.hidden == first.hidden and again.primary == first.primary
    unknown = next(iter(first.cells)).with_dims(service_id="S99")
    assert unknown not in again.cells and unknown not in again.hidden and again.is_hidden(unknown)
    assert rel.release_digest(again) == rel.release_digest(first)
    assert again.equations == first.equations and again.inequalities == first.inequalities
    saved = {k: (c.kind, c.unit, c.dp, c.sources, c.families) for k, c in first.cells.items()}
    assert {
        k: (c.kind, c.unit, c.dp, c.sources, c.families) for k, c in again.cells.items()
    } == saved
    for cid, cell in again.cells.items():
        value = first.cells[cid].value
        if isinstance(value, str) or cell.kind == "count":
            assert cell.value == value or (value != value and cell.value != cell.value), cid


def test_a_release_of_no_cells_reads_back_and_a_foreign_file_is_built_again(tmp_path):
    """A release with no cells is saved without columns and reads back empty; a file
    missing a column of the saved release, or not parquet at all, reads as absent."""
    from hubspoke.privacy.release import Release

    path = tmp_path / "release.parquet"
    rel.write_release(Release.empty(), path, stamp="S")
    empty = rel.read_release(path, stamp="S")
    assert empty == Release.empty() and not empty.cells and not list(empty.equations)
    pd.DataFrame({"key": ["young_people"], "kind": ["count"]}).to_parquet(path)
    assert rel.read_release(path, stamp="S") is None
    path.write_bytes(b"not a parquet file")
    assert rel.read_release(path, stamp="S") is None
