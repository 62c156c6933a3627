"""Open data files of the funder release: EES layout, symbols, one name per indicator, safe cells.

A tiny release is built by hand (two service tables, a reach table by service and by
model variant, a notes table with text a spreadsheet could run), suppressed with the
library's own ``protect``, and written with :func:`write_open_data`.
"""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import seed_release
from hubspoke import SYNTHETIC_NOTICE
from hubspoke.analysis.release import current_release
from hubspoke.errors import ParameterError, ReportError, SchemaError
from hubspoke.io.ees import read_ees_csv
from hubspoke.privacy.release import Release, gather, protect
from hubspoke.privacy.table import CellId, Count, Derived, Figure, Table, Text
from hubspoke.report.open_data import (
    GUIDANCE_FILE,
    LEADING_COLUMNS,
    META_COLUMNS,
    readable_label,
    spreadsheet_safe,
    write_open_data,
    write_release_open_data,
)
from hubspoke.spec.raw import SYNTHETIC_MARKER

YEARS = [2014, 2015, 2016]
FORMULA = '=HYPERLINK("http://example.invalid","click")'
GROUPS = pd.DataFrame(
    {
        "model_variant": ["Multi-host", "Single-host"],
        "host_setting": ["School", "Health"],
        "phase": ["Pilot", "Scale-up"],
    },
    index=pd.Index(["S01", "S02"], name="service_id"),
)


def gender_table(service_id: str, values: dict[str, int], *, family: str = "people") -> Table:
    """Young people of one service in 2015 by gender, with a Total row and a percentage."""
    frame = pd.DataFrame({"n": list(values.values())}, index=pd.Index(list(values), name="gender"))
    frame.loc["Total"] = frame["n"].sum()
    frame["pct"] = frame["n"] / frame.loc["Total", "n"] * 100
    return Table(
        frame,
        family=family,
        rows="gender",
        scope={"service_id": service_id, "time_period": "2015"},
        columns={
            "n": Count("young_people"),
            "pct": Derived("pct_young_people", ("n", ("Total", "n")), dp=1),
        },
    )


def reach_tables() -> list[Table]:
    """Young people in 2015 by service (with sessions, a figure) and by model variant."""
    by_service = pd.DataFrame(
        {"n": [13, 17, 30], "sessions": [4.0, np.nan, 9.0]},
        index=pd.Index(["S01", "S02", "Total"], name="service_id"),
    )
    by_group = pd.DataFrame(
        {"n": [13, 17, 30]},
        index=pd.Index(["Multi-host", "Single-host", "Total"], name="model_variant"),
    )
    return [
        Table(
            by_service,
            family="reach",
            rows="service_id",
            scope={"time_period": "2015"},
            columns={"n": Count("young_people"), "sessions": Figure("sessions", unit="sessions")},
        ),
        Table(
            by_group,
            family="reach",
            rows="model_variant",
            scope={"time_period": "2015"},
            columns={"n": Count("young_people")},
        ),
    ]


def notes_table() -> Table:
    """Text and figures over all years, one row per service, with values a spreadsheet would run."""
    frame = pd.DataFrame(
        {
            "name": [FORMULA, "-5"],
            "contact": ["+44 20 7946 0000", "@admin"],
            "change": [-0.5, 1.75],
        },
        index=pd.Index(["S01", "S02"], name="service_id"),
    )
    return Table(
        frame,
        family="notes",
        rows="service_id",
        scope={"time_period": "2014-2016"},
        columns={
            "name": Text("service_name"),
            "contact": Text("contact_note"),
            "change": Figure("change_score", dp=1),
        },
        total_row=None,
    )


def referral_table() -> Table:
    """Young people by referral source, with a source label that is a formula."""
    frame = pd.DataFrame(
        {"n": [8, 9, 17]},
        index=pd.Index(["=1+2", "School", "Total"], name="referral_source"),
    )
    return Table(
        frame,
        family="referrals",
        rows="referral_source",
        scope={"service_id": "S02", "time_period": "2015"},
        columns={"n": Count("young_people")},
    )


def tiny_release(extra: tuple[Table, ...] = ()) -> Release:
    """The hand-built release: S01 has 3 males (hidden, and Female with them)."""
    tables = [
        gender_table("S01", {"Female": 10, "Male": 3}),
        gender_table("S02", {"Female": 8, "Male": 9}),
        *reach_tables(),
        notes_table(),
        referral_table(),
        *extra,
    ]
    cells, equations = gather(tables)
    return protect(cells, equations=equations)


def read_rows(path: Path) -> list[dict[str, str]]:
    """A written CSV as dicts, after checking its first line is the synthetic marker."""
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == SYNTHETIC_MARKER
    return list(csv.DictReader(lines[1:]))


def header(path: Path) -> list[str]:
    """The column names of a written CSV (the line after the marker)."""
    return next(csv.reader(path.read_text(encoding="utf-8").splitlines()[1:]))


@pytest.fixture(scope="module")
def release() -> Release:
    """The hand-built release, suppressed once for the module."""
    return tiny_release()


@pytest.fixture(scope="module")
def written(release: Release, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The files written from the hand-built release, by name."""
    out = tmp_path_factory.mktemp("open") / "data"
    paths = write_open_data(release, GROUPS, out, years=YEARS)
    return {p.name: p for p in paths}


def row_of(rows: list[dict[str, str]], **filters: str) -> dict[str, str]:
    """The one row whose filters have these values (others at Total unless given)."""
    found = [r for r in rows if all(r[k] == v for k, v in filters.items())]
    assert len(found) == 1, (filters, found)
    return found[0]


# --------------------------------------------------------------------------- layout
def test_one_data_and_one_metadata_file_per_family_and_the_guidance(written):
    assert sorted(written) == sorted(
        [
            *(f"{f}.csv" for f in ("notes", "people", "reach", "referrals")),
            *(f"{f}.meta.csv" for f in ("notes", "people", "reach", "referrals")),
            GUIDANCE_FILE,
        ]
    )
    assert list(written)[-1] == GUIDANCE_FILE


def test_data_file_columns_follow_the_ees_layout(written):
    assert header(written["people.csv"]) == [
        *LEADING_COLUMNS,
        "service_id",
        "model_variant",
        "host_setting",
        "phase",
        "gender",
        "young_people",
        "pct_young_people",
    ]
    assert LEADING_COLUMNS == (
        "time_period",
        "time_identifier",
        "geographic_level",
        "country_code",
        "country_name",
    )
    for row in read_rows(written["people.csv"]):
        assert row["time_identifier"] == "Calendar year"
        assert (row["geographic_level"], row["country_code"], row["country_name"]) == (
            "National",
            "E92000001",
            "England",
        )


def test_a_service_row_carries_its_own_group_values(written):
    rows = read_rows(written["people.csv"])
    s02 = row_of(rows, service_id="S02", gender="Total")
    assert (s02["model_variant"], s02["host_setting"], s02["phase"]) == (
        "Single-host",
        "Health",
        "Scale-up",
    )
    assert s02["young_people"] == "17" and s02["time_period"] == "2015"


def test_group_rows_have_service_total_and_the_programme_row_is_total_throughout(written):
    rows = read_rows(written["reach.csv"])
    group = row_of(rows, service_id="Total", model_variant="Multi-host")
    assert (group["host_setting"], group["phase"], group["young_people"]) == (
        "Total",
        "Total",
        "13",
    )
    programme = row_of(rows, service_id="Total", model_variant="Total")
    assert (programme["host_setting"], programme["phase"]) == ("Total", "Total")
    assert programme["young_people"] == "30"
    assert [r["service_id"] for r in rows] == ["Total", "Total", "Total", "S01", "S02"]


def test_all_years_cells_have_the_pooled_time_period(written):
    assert {r["time_period"] for r in read_rows(written["notes.csv"])} == {"2014-2016"}


def test_metadata_describes_every_filter_and_indicator(written):
    meta_path = written["people.meta.csv"]
    assert header(meta_path) == list(META_COLUMNS)
    meta = {r["col_name"]: r for r in read_rows(meta_path)}
    data_columns = header(written["people.csv"])
    assert list(meta) == data_columns[len(LEADING_COLUMNS) :]
    for name in ("service_id", "model_variant", "host_setting", "phase", "gender"):
        assert meta[name]["col_type"] == "Filter"
        assert meta[name]["filter_hint"]
    assert meta["service_id"]["label"] == "Service"
    people = meta["young_people"]
    assert (people["col_type"], people["label"], people["indicator_dp"]) == (
        "Indicator",
        "Young people",
        "0",
    )
    assert (
        people["indicator_unit"] == ""
    )  # EES takes only %, £, £m, pp; the guidance names the unit
    pct = meta["pct_young_people"]
    assert (pct["indicator_unit"], pct["indicator_dp"]) == ("%", "1")
    text = {r["col_name"]: r for r in read_rows(written["notes.meta.csv"])}["service_name"]
    assert text["indicator_dp"] == ""


def test_files_read_back_with_the_projects_ees_reader(written):
    frame = read_ees_csv(written["people.csv"])
    assert frame.attrs["synthetic"] is True
    assert "young_people" in frame.attrs["measures"]
    hidden = frame[(frame["service_id"] == "S01") & (frame["gender"] == "Male")]
    assert hidden["young_people__symbol"].tolist() == ["c"]


# --------------------------------------------------------------------------- symbols
def test_hidden_counts_and_what_derives_from_them_are_c(release, written):
    rows = read_rows(written["people.csv"])
    male = row_of(rows, service_id="S01", gender="Male")
    assert (male["young_people"], male["pct_young_people"]) == ("c", "c")
    female = row_of(rows, service_id="S01", gender="Female")  # secondary: else 13 - 10 = 3
    assert (female["young_people"], female["pct_young_people"]) == ("c", "c")
    assert row_of(rows, service_id="S02", gender="Male")["pct_young_people"] == "52.9"
    for row in rows:
        cid = CellId.of(
            "young_people",
            service_id=row["service_id"],
            gender=row["gender"],
            time_period=row["time_period"],
        )
        assert (row["young_people"] == "c") == release.is_hidden(cid)


def test_missing_is_x_and_an_indicator_a_row_does_not_have_is_z(written):
    rows = read_rows(written["reach.csv"])
    assert row_of(rows, service_id="S02")["sessions"] == "x"
    assert row_of(rows, service_id="S01")["sessions"] == "4"
    assert row_of(rows, service_id="Total", model_variant="Single-host")["sessions"] == "z"
    assert row_of(rows, service_id="Total", model_variant="Total")["sessions"] == "9"


def test_figures_are_rounded_to_their_places_and_counts_are_whole(written):
    notes = read_rows(written["notes.csv"])
    assert row_of(notes, service_id="S01")["change_score"] == "-0.5"
    assert row_of(notes, service_id="S02")["change_score"] == "1.8"
    assert all("." not in r["young_people"] for r in read_rows(written["people.csv"]))


def test_the_same_indicator_has_one_name_and_one_value_in_every_file(written):
    people = read_rows(written["people.csv"])
    reach = read_rows(written["reach.csv"])
    referrals = read_rows(written["referrals.csv"])
    for sid in ("S01", "S02"):
        assert (
            row_of(people, service_id=sid, gender="Total")["young_people"]
            == row_of(reach, service_id=sid)["young_people"]
        )
    assert row_of(referrals, referral_source="Total")["young_people"] == "17"
    assert all(
        "young_people" in header(written[f"{f}.csv"]) for f in ("people", "reach", "referrals")
    )


def test_a_count_hidden_in_one_file_is_hidden_in_every_file(tmp_path):
    # S01's total is now 4: hidden in the gender table, so it must be hidden in reach.csv too.
    tables = [
        gender_table("S01", {"Female": 2, "Male": 2}),
        gender_table("S02", {"Female": 8, "Male": 9}),
    ]
    by_service = pd.DataFrame(
        {"n": [4, 17, 21]}, index=pd.Index(["S01", "S02", "Total"], name="service_id")
    )
    tables.append(
        Table(
            by_service,
            family="reach",
            rows="service_id",
            scope={"time_period": "2015"},
            columns={"n": Count("young_people")},
        )
    )
    cells, equations = gather(tables)
    release = protect(cells, equations=equations)
    paths = {p.name: p for p in write_open_data(release, GROUPS, tmp_path, years=YEARS)}
    reach = read_rows(paths["reach.csv"])
    people = read_rows(paths["people.csv"])
    assert row_of(people, service_id="S01", gender="Total")["young_people"] == "c"
    assert row_of(reach, service_id="S01")["young_people"] == "c"
    # else 21 - 17 = 4: the other service or the programme total is hidden too
    assert "c" in {
        row_of(reach, service_id="S02")["young_people"],
        row_of(reach, service_id="Total")["young_people"],
    }


# --------------------------------------------------------------------------- spreadsheets
@pytest.mark.parametrize(
    ("text", "safe"),
    [
        ("=1+2", "'=1+2"),
        ("+44 20", "'+44 20"),
        ("-cmd", "'-cmd"),
        ("@SUM(A1)", "'@SUM(A1)"),
        (" =1+2", "' =1+2"),
        ("\t=1", "'\t=1"),
        ("＝1+2", "'＝1+2"),
        ("-5", "-5"),
        ("-0.25", "-0.25"),
        ("School", "School"),
        ("", ""),
    ],
)
def test_spreadsheet_safe(text, safe):
    assert spreadsheet_safe(text) == safe


def test_text_values_that_start_a_formula_get_an_apostrophe(written):
    notes = read_rows(written["notes.csv"])
    assert row_of(notes, service_id="S01")["service_name"] == "'" + FORMULA
    assert row_of(notes, service_id="S01")["contact_note"] == "'+44 20 7946 0000"
    assert row_of(notes, service_id="S02")["contact_note"] == "'@admin"
    assert row_of(notes, service_id="S02")["service_name"] == "-5"  # a negative number stays one
    referrals = read_rows(written["referrals.csv"])
    assert {r["referral_source"] for r in referrals} == {"Total", "'=1+2", "School"}


def test_no_cell_of_any_file_starts_a_formula(written):
    for name, path in written.items():
        if not name.endswith(".csv"):
            continue
        for row in csv.reader(path.read_text(encoding="utf-8").splitlines()[1:]):
            for value in row:
                assert value[:1] not in {"=", "+", "@", "\t", "\r"}, (name, value)
                if value.startswith("-"):
                    float(value)


# --------------------------------------------------------------------------- guidance
def test_guidance_explains_every_file_the_symbols_and_the_rule(written, release):
    text = written[GUIDANCE_FILE].read_text(encoding="utf-8")
    assert SYNTHETIC_NOTICE in text and "synthetic" in text.lower()
    for family in ("notes", "people", "reach", "referrals"):
        assert f"### {family}.csv" in text
    assert "`c`" in text and "`x`" in text and "`z`" in text
    assert f"from 1 to {release.threshold}" in text
    assert "every file alike" in text
    assert "`young_people`: Young people" in text


def test_descriptions_and_labels_can_be_given(release, tmp_path):
    paths = write_open_data(
        release,
        GROUPS,
        tmp_path,
        years=YEARS,
        labels={"young_people": "Young people supported"},
        descriptions={"reach": "Young people <b>supported</b> by each service."},
    )
    guidance = (tmp_path / GUIDANCE_FILE).read_text(encoding="utf-8")
    assert "Young people &lt;b&gt;supported&lt;/b&gt; by each service." in guidance
    meta = {r["col_name"]: r for r in read_rows(tmp_path / "reach.meta.csv")}
    assert meta["young_people"]["label"] == "Young people supported"
    assert tmp_path / "reach.csv" in paths


def test_readable_label():
    assert readable_label("young_people") == "Young people"
    assert readable_label("pct_risk_reduced") == "Percentage risk reduced"
    assert readable_label("age_band", {"age_band": "Age group"}) == "Age group"


# --------------------------------------------------------------------------- refusals
@pytest.mark.parametrize("family", ["../evil", "Reach", "a b", "x.meta", "", "con/prn"])
def test_unsafe_family_names_are_refused(family, tmp_path):
    frame = pd.DataFrame({"n": [7]}, index=pd.Index(["S01"], name="service_id"))
    table = Table(
        frame,
        family=family,
        rows="service_id",
        scope={"time_period": "2015"},
        columns={"n": Count("young_people")},
        total_row=None,
    )
    cells, equations = gather([table])
    with pytest.raises(ReportError, match="file name"):
        write_open_data(protect(cells, equations=equations), GROUPS, tmp_path / "d", years=YEARS)
    assert not (tmp_path / "d").exists() or not any((tmp_path / "d").iterdir())


def test_stale_files_of_an_earlier_release_are_removed(release, tmp_path):
    (tmp_path / "old_family.csv").write_text("stale", encoding="utf-8")
    (tmp_path / "old_family.meta.csv").write_text("stale", encoding="utf-8")
    write_open_data(release, GROUPS, tmp_path, years=YEARS)
    assert not (tmp_path / "old_family.csv").exists()
    assert not (tmp_path / "old_family.meta.csv").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_a_release_with_pinned_hidden_counts_is_refused(release, tmp_path):
    pinned = dataclasses.replace(release, residual=frozenset(list(release.hidden)[:1]))
    with pytest.raises(ReportError, match="cannot be published"):
        write_open_data(pinned, GROUPS, tmp_path, years=YEARS)


def test_a_service_without_groups_is_refused(release, tmp_path):
    with pytest.raises(ReportError, match="model variant"):
        write_open_data(release, GROUPS.drop(index="S02"), tmp_path, years=YEARS)


def test_groups_need_every_group_column(release, tmp_path):
    with pytest.raises(SchemaError):
        write_open_data(release, GROUPS.drop(columns="phase"), tmp_path, years=YEARS)


def test_a_time_period_outside_the_years_is_refused(release, tmp_path):
    with pytest.raises(ReportError, match="time period"):
        write_open_data(release, GROUPS, tmp_path, years=[2015, 2016])
    with pytest.raises(ParameterError):
        write_open_data(release, GROUPS, tmp_path, years=[])


def test_one_indicator_of_two_kinds_in_a_family_is_refused(tmp_path):
    frame = pd.DataFrame({"v": [1.5]}, index=pd.Index(["S01"], name="service_id"))
    clash = Table(
        frame,
        family="people",
        rows="service_id",
        scope={"time_period": "2014"},
        columns={"v": Figure("young_people", dp=1)},
        total_row=None,
    )
    with pytest.raises(ReportError, match="two kinds"):
        write_open_data(tiny_release((clash,)), GROUPS, tmp_path, years=YEARS)


def test_an_indicator_named_like_a_filter_is_refused(tmp_path):
    frame = pd.DataFrame({"v": ["x"]}, index=pd.Index(["S01"], name="service_id"))
    clash = Table(
        frame,
        family="notes",
        rows="service_id",
        scope={"time_period": "2014"},
        columns={"v": Text("phase")},
        total_row=None,
    )
    with pytest.raises(ReportError, match="filter"):
        write_open_data(tiny_release((clash,)), GROUPS, tmp_path, years=YEARS)


# --------------------------------------------------------------------------- the real release
@pytest.mark.slow
def test_the_release_of_the_synthetic_data_writes_consistent_open_data(built_reports, tmp_path):
    """Every hidden cell of every family is c, and a quantity reads the same in every file."""
    seed_release(built_reports, tmp_path / "reports")
    settings = built_reports.settings.with_paths(reports_dir=tmp_path / "reports")
    paths = write_release_open_data(tmp_path / "reports" / "funder" / "data", settings=settings)
    release = current_release(settings)
    data = [p for p in paths if p.name.endswith(".csv") and not p.name.endswith(".meta.csv")]
    assert data, "the release has no family"
    expected_c = sum(len(release.cells[cid].families) for cid in release.hidden)
    seen: dict[tuple, str] = {}
    found_c = 0
    for path in data:
        read_ees_csv(path)  # the project's reader takes every file
        meta = {r["col_name"]: r for r in read_rows(path.with_name(path.stem + ".meta.csv"))}
        columns = header(path)
        indicators = [c for c in columns if meta.get(c, {}).get("col_type") == "Indicator"]
        filters = [c for c in columns if meta.get(c, {}).get("col_type") == "Filter"]
        assert columns == [*LEADING_COLUMNS, *filters, *indicators]
        for row in read_rows(path):
            where = (row["time_period"], *sorted((f, row[f]) for f in filters if row[f] != "Total"))
            for name in indicators:
                found_c += row[name] == release.symbol
                if row[name] != "z":
                    assert seen.setdefault((name, where), row[name]) == row[name], (path, name)
    assert found_c == expected_c


@pytest.mark.slow
def test_open_data_are_written_again_only_when_the_release_or_a_file_changed(
    built_reports, tmp_path
):
    """With a record, an unchanged release leaves the files as they are; any difference rewrites them."""
    seed_release(built_reports, tmp_path / "reports")
    settings = built_reports.settings.with_paths(reports_dir=tmp_path / "reports")
    out = tmp_path / "reports" / "funder" / "data"
    record = tmp_path / "reports" / ".open_data.json"

    def write() -> list[Path]:
        return write_release_open_data(out, settings=settings, record=record)

    def inodes() -> dict[str, int]:
        return {p.name: p.stat().st_ino for p in out.iterdir()}

    first = write()
    assert record.is_file() and not (out / record.name).exists()  # kept out of the shared folder
    before, contents = inodes(), {p.name: p.read_bytes() for p in first}
    assert write() == first
    assert inodes() == before  # nothing written again

    edited = next(p for p in first if p.name.endswith(".csv"))
    edited.write_text("tampered\n", encoding="utf-8")
    assert write() == first
    assert edited.read_bytes() == contents[edited.name]

    first[0].unlink()
    write()
    assert first[0].read_bytes() == contents[first[0].name]

    stale = out / "old_family.csv"
    stale.write_text("x\n", encoding="utf-8")
    write()
    assert not stale.exists()

    saved = json.loads(record.read_text(encoding="utf-8"))
    record.write_text(json.dumps({**saved, "stamp": "another release"}), encoding="utf-8")
    before = inodes()
    write()
    assert all(inodes()[name] != before[name] for name in contents)  # every file written again

    record.write_text("not json", encoding="utf-8")
    assert write() == first
    assert json.loads(record.read_text(encoding="utf-8"))["stamp"] == saved["stamp"]
