"""The synthetic generator's quantitative part: reference, submissions, quirks, determinism."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from hubspoke.cli import main
from hubspoke.spec.raw import (
    ACTIVITIES,
    CASES,
    LAYOUT,
    QUIRK_KINDS,
    SERVICES,
    SPOKES,
    SUBMISSION_TABLES,
    SYNTHETIC_MARKER,
)
from hubspoke.spec.vocab import (
    HOST_SETTINGS,
    MODEL_VARIANTS,
    RISK_TOOLS,
    RISK_VARIANTS,
    SERAF_BANDS,
    normalise_label,
)
from hubspoke.synth.reference import LOCAL_AUTHORITIES, make_reference, phase_counts
from hubspoke.synth.seeds import part_seed
from hubspoke.synth.submissions import (
    XLSX_MAX_BOOKS,
    XLSX_MAX_ROWS,
    make_profiles,
    service_years,
    write_submissions,
)
from hubspoke.synth.writers import FIXED_TIME

#: Quirk kinds that belong to the qualitative files, not to submissions.
QUAL_KINDS = {
    "name_in_excerpt",
    "unknown_code",
    "position_out_of_range",
    "invalid_judgement",
    "unknown_theory",
    "unknown_evidence",
}
SUBMISSION_KINDS = set(QUIRK_KINDS) - QUAL_KINDS


# ---------------------------------------------------------------------------
# Reading raw files back, as a person would see them
# ---------------------------------------------------------------------------


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252")


def _cell_text(value: object) -> str:
    """A cell as text: dates in ISO form, whole floats without '.0', None as ''."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def read_rows(raw: Path, file: str, sheet: str) -> dict[int, list[str]]:
    """Every row of a CSV or worksheet as text, keyed by 1-based spreadsheet row number."""
    if not sheet:
        text = _decode((raw / file).read_bytes())
        return {i: row for i, row in enumerate(csv.reader(io.StringIO(text, newline="")), start=1)}
    wb = openpyxl.load_workbook(raw / file, read_only=True)
    rows = {
        i: [_cell_text(v) for v in r]
        for i, r in enumerate(wb[sheet].iter_rows(values_only=True), start=1)
    }
    wb.close()
    return rows


def header_row(rows: dict[int, list[str]], sheet: str, log: pd.DataFrame, file: str) -> int:
    """The header's row number: after the marker in a CSV, after any title rows in a sheet."""
    if not sheet:
        return 2
    offset = log[(log["file"] == file) & (log["sheet"] == sheet) & (log["kind"] == "header_offset")]
    return 1 + (int(offset["detail"].iloc[0].split()[0]) if len(offset) else 0)


def submission_tables(raw: Path) -> list[tuple[str, str, str]]:
    """(table name, file relative to raw, sheet) of every submitted table."""
    out = []
    for path in sorted((raw / "submissions").rglob("*")):
        rel = path.relative_to(raw).as_posix()
        if path.suffix == ".csv":
            out.append((path.stem, rel, ""))
        elif path.suffix == ".xlsx":
            names = openpyxl.load_workbook(path, read_only=True).sheetnames
            for t in SUBMISSION_TABLES:
                out += [(t.name, rel, s) for s in names if s in t.sheet_names]
    return out


def read_table(raw: Path, name: str, file: str, sheet: str, log: pd.DataFrame) -> pd.DataFrame:
    """A submitted table with canonical headers, without blank, notes and duplicate rows."""
    table = next(t for t in SUBMISSION_TABLES if t.name == name)
    rows = read_rows(raw, file, sheet)
    h = header_row(rows, sheet, log, file)
    aliases = table.alias_table()
    header = [aliases.get(normalise_label(x), x) for x in rows[h]]
    body = [r + [""] * (len(header) - len(r)) for i, r in rows.items() if i > h]
    frame = pd.DataFrame(body, columns=header, dtype=object)
    filled = frame.ne("").sum(axis=1)
    frame = frame[filled > 1]
    return frame[~frame.duplicated()]


def quirk_log(raw: Path) -> pd.DataFrame:
    return pd.read_csv(
        raw / LAYOUT["quirks"], comment=None, skiprows=1, dtype=str, keep_default_na=False
    )


@pytest.fixture(scope="module")
def log(synthetic_raw: Path) -> pd.DataFrame:
    return quirk_log(synthetic_raw)


@pytest.fixture(scope="module")
def reference(synthetic_raw: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    read = lambda key: pd.read_csv(synthetic_raw / LAYOUT[key], skiprows=1, dtype=str)  # noqa: E731
    return read("services"), read("spokes")


@pytest.fixture(scope="module")
def tables(synthetic_raw: Path, log: pd.DataFrame) -> dict[str, pd.DataFrame]:
    parts: dict[str, list[pd.DataFrame]] = {}
    for name, file, sheet in submission_tables(synthetic_raw):
        frame = read_table(synthetic_raw, name, file, sheet, log)
        stem = file.split("/")[2].removesuffix(".xlsx")
        parts.setdefault(name, []).append(frame.assign(_service=stem[:3], _year=int(stem[-4:])))
    return {k: pd.concat(v, ignore_index=True) for k, v in parts.items()}


def _tree_digest(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _write_parts(out: Path, seed: int) -> None:
    services, spokes = make_reference(16, seed=part_seed(seed, "reference"))
    write_submissions(out, services, spokes, seed=part_seed(seed, "submissions"), scale=1.0)


# ---------------------------------------------------------------------------
# Reference
# ---------------------------------------------------------------------------


def test_reference_has_the_programme_structure(reference):
    services, spokes = reference
    assert list(services.columns) == [c.name for c in SERVICES.columns]
    assert list(spokes.columns) == [c.name for c in SPOKES.columns]
    assert len(services) == 16
    assert services["phase"].value_counts().sort_index().tolist() == [3, 5, 8]
    starts = services["start_date"].str[:4].astype(int)
    assert (starts == services["phase"].astype(int) + 2013).all()
    assert int((2017 - starts).sum()) == 27
    codes = [c for v in services["la_codes"] for c in v.split(";")]
    assert len(set(codes)) == len(codes) == 35
    assert set(codes) <= {la.la_code for la in LOCAL_AUTHORITIES}
    assert services["la_codes"].str.count(";").between(0, 3).all()
    assert services["n_spokes"].astype(int).between(2, 5).all()
    assert (
        spokes.groupby("service_id").size().reindex(services["service_id"]).tolist()
        == services["n_spokes"].astype(int).tolist()
    )
    assert set(services["model_variant"]) == set(MODEL_VARIANTS)
    assert set(spokes["host_setting"]) == set(HOST_SETTINGS)
    assert (services["risk_tool"].value_counts() >= 3).all() and set(services["risk_tool"]) == set(
        RISK_TOOLS
    )
    assert services["hub_name"].is_unique


def test_reference_scales_to_a_national_benchmark():
    services, spokes = make_reference(150, seed=1)
    assert phase_counts(150) == (28, 47, 75)
    assert services["phase"].value_counts().sort_index().tolist() == [28, 47, 75]
    assert services["service_id"].str.fullmatch(r"S\d{3}").all() and services["hub_name"].is_unique
    assert spokes["spoke_id"].is_unique


@pytest.mark.parametrize("scale", [50, 100])
def test_national_scale_sends_the_same_number_of_workbooks_whatever_the_scale(scale):
    # Cleaning time is compared across --scale values: only rows may differ, not the mix
    # of workbooks and CSVs. Case counts grow with the scale; the workbooks stay the
    # smallest service-years of those drawn for one, and never more than XLSX_MAX_BOOKS.
    services, _ = make_reference(150, seed=1)
    years = service_years(services)
    counts = {k: 20 * scale + 37 * (i % 97) for i, k in enumerate(years)}
    profiles = make_profiles(services, counts, seed=5)
    books = sorted(counts[k] for k, p in profiles.items() if p.target == "xlsx")
    assert len(books) == XLSX_MAX_BOOKS
    assert max(books) < XLSX_MAX_ROWS


def test_every_service_year_is_submitted(synthetic_raw, reference):
    services, _ = reference
    expected = {
        f"{sid}_{year}"
        for sid, start in zip(
            services["service_id"], services["start_date"].str[:4].astype(int), strict=True
        )
        for year in range(start, 2017)
    }
    found = {
        p.stem for p in (synthetic_raw / "submissions").glob("*/*") if p.suffix in ("", ".xlsx")
    }
    assert found == expected and len(found) == 27
    workbooks = list((synthetic_raw / "submissions").glob("*/*.xlsx"))
    assert 8 <= len(workbooks) <= 19
    for folder in (p for p in (synthetic_raw / "submissions").glob("*/*") if p.is_dir()):
        assert sorted(f.name for f in folder.iterdir()) == sorted(
            f"{t.name}.csv" for t in SUBMISSION_TABLES
        )


# ---------------------------------------------------------------------------
# Markers and determinism
# ---------------------------------------------------------------------------


def test_every_file_says_it_is_synthetic(synthetic_raw):
    for path in [
        *synthetic_raw.glob("reference/*.csv"),
        *synthetic_raw.glob("submissions/**/*.csv"),
    ]:
        assert _decode(path.read_bytes()).splitlines()[0] == SYNTHETIC_MARKER, path
    for path in synthetic_raw.glob("submissions/*/*.xlsx"):
        wb = openpyxl.load_workbook(path, read_only=True)
        assert (
            wb.sheetnames[0] == "About"
            and next(wb["About"].iter_rows(values_only=True))[0] == SYNTHETIC_MARKER
        )
        assert wb.properties.created == FIXED_TIME and wb.properties.modified == FIXED_TIME


def test_same_seed_gives_identical_bytes(synthetic_raw, tmp_path):
    from hubspoke.synth import generate

    generate(tmp_path / "again", seed=2014)
    assert _tree_digest(tmp_path / "again") == _tree_digest(synthetic_raw)


def test_parts_are_deterministic_and_seed_dependent(tmp_path):
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        _write_parts(tmp_path / name, seed)
    a, b, c = (_tree_digest(tmp_path / n) for n in "abc")
    assert a == b
    assert a != c


# ---------------------------------------------------------------------------
# Quirks
# ---------------------------------------------------------------------------


def test_every_submission_quirk_kind_is_injected(log):
    assert set(log["kind"]) >= SUBMISSION_KINDS
    sub = log[log["file"].str.startswith("submissions/")]
    assert set(sub["kind"]) == SUBMISSION_KINDS
    assert set(log["kind"]) <= set(QUIRK_KINDS)


def test_logged_cell_quirks_are_where_the_log_says(synthetic_raw, log):
    sub = log[log["file"].str.startswith("submissions/")]
    for (file, sheet), group in sub.groupby(["file", "sheet"]):
        rows = read_rows(synthetic_raw, file, sheet)
        header = rows[header_row(rows, sheet, log, file)]
        for q in group.itertuples():
            if q.row == "":
                if q.column:
                    assert q.column in header, (file, sheet, q)
                continue
            row = rows[int(q.row)]
            if q.kind == "blank_row":
                assert all(v == "" for v in row), (file, q)
            elif q.kind == "notes_row":
                assert row[0] == q.detail and all(v == "" for v in row[1:]), (file, q)
            elif q.kind == "duplicate_row":
                assert row == rows[int(q.row) - 1] and any(row), (file, q)
            else:
                assert row[header.index(q.column)] == q.detail, (file, sheet, q)


def test_a_row_carries_at_most_one_quarantine_quirk(log):
    cells = log[(log["row"] != "") & log["file"].str.startswith("submissions/")]
    quarantine = cells[cells["kind"].map(lambda k: QUIRK_KINDS[k][0] == "quarantine")]
    assert not quarantine.duplicated(["file", "sheet", "row"]).any()
    assert not cells.duplicated(["file", "sheet", "row", "column"]).any()


def test_quarantine_quirks_hit_a_few_percent_of_rows(tables, log):
    n_rows = sum(len(t) for t in tables.values())
    sub = log[log["file"].str.startswith("submissions/")]
    quarantined = sub["kind"].map(lambda k: QUIRK_KINDS[k][0] == "quarantine").sum()
    assert 0.005 < quarantined / n_rows < 0.06


def test_label_variants_are_visible(log):
    variants = log[(log["kind"] == "label_variant") & (log["row"] != "")]
    assert len(variants) > 50
    columns = {}
    for t in SUBMISSION_TABLES:
        for header, name in t.alias_table().items():
            columns[(t.name, header)] = t.column(name)
    for q in variants.itertuples():
        table = (
            Path(q.file).stem
            if q.file.endswith(".csv")
            else next(t.name for t in SUBMISSION_TABLES if q.sheet in t.sheet_names)
        )
        col = columns[(table, normalise_label(q.column))]
        labels = col.vocabulary or RISK_VARIANTS
        assert normalise_label(q.detail) not in {normalise_label(k) for k in labels}, q
        assert any(normalise_label(q.detail) in v for v in labels.values()), q


def test_cp1252_and_bom_files_really_are_encoded_so(synthetic_raw, log):
    for kind, check in (
        ("encoding_cp1252", lambda b: not b.isascii() and not _is_utf8(b)),
        ("encoding_bom", lambda b: b.startswith(b"\xef\xbb\xbf")),
    ):
        files = log.loc[log["kind"] == kind, "file"]
        assert len(files) >= 2
        for file in files:
            assert check((synthetic_raw / file).read_bytes()), file


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


# ---------------------------------------------------------------------------
# Volumes and the truth
# ---------------------------------------------------------------------------


def _type_of(value: str) -> str | None:
    table = ACTIVITIES.column("activity_type").vocabulary
    return next((k for k, v in table.items() if normalise_label(value) in v), None)


def test_reach_is_plausible(tables):
    acts = tables["activities"]
    kinds = acts["activity_type"].map(_type_of)
    n = pd.to_numeric(acts["participants"], errors="coerce").where(lambda s: s.between(0, 1000))
    young = n[kinds == "Awareness - young people"].sum()
    professionals = n[kinds.isin(["Training", "Awareness - professionals"])].sum()
    assert 5000 <= young <= 9000
    assert 5000 <= professionals <= 9000
    cases = tables["cases"]
    assert 500 <= len(cases) <= 1000
    people = cases[["_service", "case_ref"]].drop_duplicates()
    assert 450 <= len(people) < len(cases)  # some young people are re-referred
    age = pd.to_numeric(cases["age"], errors="coerce")
    assert age.between(12, 17).mean() > 0.7


def _risk_level(value: str, tool: str) -> int | None:
    order = ("Not at risk", "Low", "Medium", "High")
    text = normalise_label(value)
    if tool == "SERAF":
        if not text.isdigit() or int(text) > 30:
            return None
        return order.index(next(lvl for lo, lvl in reversed(SERAF_BANDS) if int(text) >= lo))
    for label, level in RISK_TOOLS[tool].items():
        if text in {normalise_label(label), *RISK_VARIANTS[label]}:
            return order.index(level)
    return None


def test_risk_reduction_follows_the_truth(synthetic_raw, tables, reference):
    services, _ = reference
    truth = pd.read_csv(synthetic_raw / LAYOUT["truth"], skiprows=1)
    tools = services.set_index("service_id")["risk_tool"]
    cases = tables["cases"]
    tool = cases["_service"].map(tools)
    start = [_risk_level(v, t) for v, t in zip(cases["risk_at_referral"], tool, strict=True)]
    latest = [_risk_level(v, t) for v, t in zip(cases["risk_latest"], tool, strict=True)]
    frame = pd.DataFrame(
        {"service_id": cases["_service"], "start": start, "latest": latest}
    ).dropna()
    assert len(frame) > 0.8 * len(cases)
    share = (frame["latest"] < frame["start"]).groupby(frame["service_id"]).mean()
    joined = truth.set_index("service_id")["p_risk_reduced"].to_frame().join(share.rename("share"))
    assert joined["p_risk_reduced"].corr(joined["share"], method="spearman") > 0.5
    assert set(truth.columns) >= {
        "service_id",
        "p_risk_reduced",
        "referral_rate",
        "engagement",
        "training_effect",
        "policy_progress",
        "spoke_support",
    }


def test_outcome_data_are_patchy(tables):
    cases = tables["cases"]
    ends = cases[[c.name for c in CASES.columns if c.name.endswith("_end")]]
    missing = ends.map(
        lambda v: normalise_label(v) in {"", "n/k", "nk", "not known", "unknown", "n/a", "-", "?"}
    )
    assert 0.4 < missing.to_numpy().mean() < 0.95


def test_policy_progresses_over_the_years(tables):
    policy = tables["policy"]
    vocab = next(t for t in SUBMISSION_TABLES if t.name == "policy").column("status").vocabulary
    order = list(vocab)
    score = policy["status"].map(
        lambda v: next(
            (order.index(k) for k, vs in vocab.items() if normalise_label(v) in vs), np.nan
        )
    )
    assert score.notna().mean() > 0.9
    by_year = score.groupby(policy["_year"]).mean()
    assert by_year[2016] > by_year[2015] > by_year[2014]


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------


def test_cli_synth_help(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["synth", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "--seed" in out and "--scale" in out and "synthetic" in out.lower()
