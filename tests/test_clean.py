"""End to end: hand-made raw folders and the generator's output, cleaned and checked."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from broken_files import make_raw, write_csv
from hubspoke.clean import clean_all
from hubspoke.config import get_settings
from hubspoke.io.parquet import write_parquet_atomic
from hubspoke.spec import raw as rs
from hubspoke.spec import vocab
from hubspoke.spec.dictionary import processed_dictionary_markdown
from hubspoke.spec.processed import SCHEMAS, validate

QUANT = ("cases", "activities", "policy", "spoke_survey", "services", "spokes")


def run_clean(raw: Path, out: Path, key_dir: Path):
    settings = get_settings().with_paths(key_file=key_dir / "pseudonym.key")
    return clean_all(raw, out, settings=settings)


def load(out: Path) -> dict[str, pd.DataFrame]:
    return {p.stem: pd.read_parquet(p) for p in sorted(out.glob("*.parquet"))}


@pytest.fixture
def cleaned(tmp_path):
    raw = make_raw(tmp_path / "raw")
    summary = run_clean(raw, tmp_path / "out", tmp_path / "keys")
    return summary, load(tmp_path / "out")


def test_every_table_is_written_and_valid(cleaned):
    summary, tables = cleaned
    assert summary.ok, summary.text()
    assert set(tables) == {*QUANT, "quarantine", "reconciliation"}
    for name, frame in tables.items():
        validate(name, frame)


def test_hand_made_values_are_harmonised(cleaned):
    _, t = cleaned
    cases = t["cases"].set_index(["source_file", "source_row"])
    xlsx = cases.loc["submissions/2015/S02_2015.xlsx"]
    assert xlsx.loc[4, "referral_date"] == pd.Timestamp("2015-02-01")  # Excel serial 42036
    assert xlsx.loc[5, "referral_date"] == pd.Timestamp("2015-02-05")
    assert xlsx.loc[5, "age"] == 16 and xlsx.loc[5, "age_band"] == "16-17"
    assert (
        xlsx.loc[4, "risk_at_referral_raw"] == "Category 2"
        and xlsx.loc[4, "risk_at_referral"] == "Medium"
    )
    assert xlsx.loc[4, "risk_change"] == -1 and bool(xlsx.loc[4, "risk_reduced"])
    csv = cases.loc["submissions/2014/S01_2014/cases.csv"]
    assert csv.loc[3, "risk_tool"] == "SERAF" and csv.loc[3, "risk_latest"] == "Not at risk"
    assert csv.loc[3, "episode_days"] == 184 and bool(csv.loc[3, "planned_ending"])
    assert csv.loc[4, "gender"] == "Female" and csv.loc[4, "age"] == 15
    assert pd.isna(csv.loc[4, "planned_ending"]) and pd.isna(csv.loc[4, "episode_days"])
    policy = t["policy"]
    assert policy["status"].tolist() == ["In development", "Embedded"]
    assert policy["status_score"].tolist() == [1, 3]


def test_reconciliation_balances_and_notes_row_is_quarantined(cleaned):
    _, t = cleaned
    rec = t["reconciliation"]
    assert (
        rec["rows_in"]
        == rec["rows_clean"] + rec["rows_quarantined"] + rec["rows_merged_duplicates"]
    ).all()
    q = t["quarantine"]
    assert q[["file", "sheet", "row", "reason"]].values.tolist() == [
        ["submissions/2015/S02_2015.xlsx", "Cases", 6, "notes row"]
    ]
    assert q["value"].tolist() == [""]


def test_rerun_gives_identical_files(tmp_path):
    raw = make_raw(tmp_path / "raw")
    run_clean(raw, tmp_path / "a", tmp_path / "keys")
    run_clean(raw, tmp_path / "b", tmp_path / "keys")
    names = sorted(p.name for p in (tmp_path / "a").glob("*.parquet"))
    assert names == sorted(p.name for p in (tmp_path / "b").glob("*.parquet"))
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert not [p for p in (tmp_path / "a").iterdir() if p.name.startswith(".")]


def test_atomic_write_leaves_old_file_when_writing_fails(tmp_path, monkeypatch):
    path = write_parquet_atomic(pd.DataFrame({"a": [1]}), tmp_path / "t.parquet")
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("hubspoke.io.parquet.pq.write_table", boom)
    with pytest.raises(Exception, match="cannot write"):
        write_parquet_atomic(pd.DataFrame({"a": [2]}), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["t.parquet"]


def test_missing_raw_folder_is_an_error_not_a_traceback(tmp_path):
    summary = run_clean(tmp_path / "nope", tmp_path / "out", tmp_path / "keys")
    assert not summary.ok and "does not exist" in summary.text()


def test_unknown_service_fails_only_its_cases(tmp_path):
    raw = make_raw(tmp_path / "raw")
    write_csv(
        raw / "submissions" / "2016" / "S09_2016" / "cases.csv",
        ["case_ref", "age", "referral_date"],
        [["X1", "12", "2016-01-01"]],
    )
    summary = run_clean(raw, tmp_path / "out", tmp_path / "keys")
    failed = summary.failed
    assert failed["file"].tolist() == ["submissions/2016/S09_2016/cases.csv"]
    assert "S09 is not in reference/services.csv" in failed["message"].iloc[0]
    assert load(tmp_path / "out")["cases"]["service_id"].nunique() == 2


def test_processed_dictionary_documents_every_table():
    text = processed_dictionary_markdown()
    for name, spec in SCHEMAS.items():
        assert f"## {name}" in text
        for f in spec.fields:
            assert f"`{f.name}`" in text
    assert "Not at risk < Low < Medium < High" in text


# ---------------------------------------------------------------------------
# Privacy
# ---------------------------------------------------------------------------


def identifiers_in_raw(raw: Path) -> set[str]:
    """Case refs, names, dates of birth and postcodes as written in the raw submissions."""
    from hubspoke.io.tabular import read_csv_table, read_xlsx

    found: set[str] = set()
    sheets = []
    for path in sorted((raw / "submissions").rglob("*")):
        if path.suffix == ".xlsx":
            sheets += read_xlsx(path, raw, rs.SUBMISSION_TABLES).sheets
        elif path.name == "cases.csv":
            sheets.append(read_csv_table(path, raw, rs.CASES))
    for sheet in sheets:
        for col in ("case_ref", "young_person_name", "date_of_birth", "postcode"):
            if col in sheet.frame:
                found |= {v.strip() for v in sheet.frame[col] if len(v.strip()) >= 3}
    return found


def assert_no_identifiers(raw: Path, out: Path) -> None:
    secrets_ = identifiers_in_raw(raw)
    assert secrets_, "the test needs identifiers to look for"
    for path in out.glob("*.parquet"):
        frame = pd.read_parquet(path)
        assert not {"case_ref", "young_person_name", "date_of_birth", "postcode", "notes"} & set(
            frame.columns
        )
        for col in frame.columns:
            if frame[col].dtype == object or isinstance(
                frame[col].dtype, (pd.StringDtype, pd.CategoricalDtype)
            ):
                values = set(frame[col].dropna().astype(str))
                leaked = values & secrets_
                assert not leaked, f"{path.name}.{col} holds raw identifiers {sorted(leaked)[:5]}"


def test_no_identifier_reaches_processed_data_hand_made(tmp_path):
    raw = make_raw(tmp_path / "raw")
    header = ["case_ref", "name", "dob", "post code", "age", "referral_date", "case notes"]
    write_csv(
        raw / "submissions" / "2016" / "S03_2016" / "cases.csv",
        header,
        [
            [
                "Z900",
                "Amy Example",
                "2001-05-06",
                "ZZ1 1ZZ",
                "15",
                "2016-02-01",
                "Met Amy Example at school",
            ],
            ["Z901", "Bo Example", "12/12/2002", "ZZ2 2ZZ", "99", "2016-02-02", "n/k"],
            ["Note from Bo Example's worker", "", "", "", "", "", ""],
        ],
    )
    summary = run_clean(raw, tmp_path / "out", tmp_path / "keys")
    assert summary.ok
    rec = load(tmp_path / "out")["reconciliation"].set_index("file")
    assert rec.loc["submissions/2016/S03_2016/cases.csv", "dropped_columns"] == (
        "young_person_name; date_of_birth; postcode; notes"
    )
    assert_no_identifiers(raw, tmp_path / "out")
    q = load(tmp_path / "out")["quarantine"]
    assert "Bo Example" not in " ".join(q["value"]) + " ".join(q["reason"])


# ---------------------------------------------------------------------------
# The generator's output and its quirk log
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def generated(request, tmp_path_factory):
    """Raw data from the generator (the shared ``synthetic_raw`` fixture when present), cleaned once."""
    try:
        raw = Path(request.getfixturevalue("synthetic_raw"))
    except pytest.FixtureLookupError:
        from hubspoke.synth import generate

        raw = tmp_path_factory.mktemp("synthetic_raw")
        generate(raw, seed=2014, n_services=16, scale=1.0)
    work = tmp_path_factory.mktemp("cleaned")
    summary = run_clean(raw, work / "out", work)
    quirks = pd.read_csv(raw / rs.LAYOUT["quirks"], comment="#", dtype=str, keep_default_na=False)
    return raw, summary, load(work / "out"), work / "out", quirks


def _quant_quirks(quirks: pd.DataFrame) -> pd.DataFrame:
    return quirks[quirks["file"].str.startswith(("submissions/", "reference/"))]


def test_generated_data_cleans_without_failures(generated):
    _, summary, tables, _, _ = generated
    assert summary.ok, summary.text()
    assert len(tables["cases"]) > 0 and len(tables["activities"]) > 0


class Outcomes:
    """Look-ups from the processed tables by raw file, sheet and row."""

    def __init__(self, t: dict[str, pd.DataFrame]) -> None:
        self.t = t
        self.rec = {(r.file, r.sheet): r for r in t["reconciliation"].itertuples(index=False)}
        self.quarantine: dict[tuple[str, str, int], list[tuple[str, str]]] = {}
        for r in t["quarantine"].itertuples(index=False):
            self.quarantine.setdefault((r.file, r.sheet, int(r.row)), []).append(
                (r.column, r.reason)
            )
        self.clean: dict[tuple[str, str, int], tuple[str, int]] = {}
        for name in QUANT:
            frame = t[name]
            keys = zip(
                frame["source_file"],
                frame["source_sheet"],
                frame["source_row"].astype(int),
                strict=True,
            )
            for i, key in enumerate(keys):
                self.clean[key] = (name, i)

    def table_and_column(self, quirk) -> tuple[str, str]:
        """(processed table, canonical column) of a quirk, through the file's table and alias table."""
        rec = self.rec.get((quirk.file, quirk.sheet))
        if rec is None:
            return "", quirk.column
        aliases = rs.table(rec.table).alias_table()
        return rec.table, aliases.get(vocab.normalise_label(quirk.column), quirk.column)

    def value(self, key: tuple[str, str, int], column: str):
        name, i = self.clean[key]
        return self.t[name][column].iloc[i] if column in self.t[name] else None


def _quirk_problem(quirk, o: Outcomes) -> str | None:
    """What is wrong with one quirk's outcome (None when it is as rawspec says)."""
    action = rs.QUIRK_KINDS[quirk.kind][0]
    table, column = o.table_and_column(quirk)
    recs = [
        r
        for k, r in o.rec.items()
        if k[0] == quirk.file and (k[1] == quirk.sheet or not quirk.sheet)
    ]
    if not recs or any(r.status != "ok" for r in recs):
        return "file not read"
    if action == "drop_column" or quirk.kind == "name_in_free_text":
        leaked = [n for n, f in o.t.items() if column in f.columns]
        return f"column reached {leaked}" if leaked else None
    if not quirk.row:
        if quirk.kind == "risk_tool":
            cases = o.t["cases"]
            tools = (
                cases.loc[cases["source_file"] == quirk.file, "risk_tool"]
                .astype(str)
                .unique()
                .tolist()
            )
            return None if tools in ([], [quirk.detail]) else f"risk tool {tools}"
        if quirk.kind == "renamed_column":
            rec = o.rec[(quirk.file, quirk.sheet)]
            return (
                "alias not recognised"
                if quirk.column in rec.unmatched_columns.split("; ")
                else None
            )
        return None
    key = (quirk.file, quirk.sheet, int(quirk.row))
    in_q = o.quarantine.get(key, [])
    clean = key in o.clean
    if action == "quarantine":
        ok = any(c == column and column in reason for c, reason in in_q)
        return None if ok else f"not quarantined for {column}: {in_q}"
    if action == "skip":
        expected = "blank row" if quirk.kind == "blank_row" else "notes row"
        return None if in_q == [("", expected)] else f"expected {expected}, got {in_q}"
    if action == "merge":
        return "duplicate not merged" if in_q or clean else None
    # harmonise: the row is clean with a value, unless quarantined for another column
    if any(c == column for c, _ in in_q):
        return f"quarantined: {in_q}"
    if not clean:
        return None if in_q else "row lost"
    value = o.value(key, column)
    if quirk.kind == "missing_marker":
        return None if value is None or pd.isna(value) else f"missing marker became {value!r}"
    if value is not None and pd.isna(value):
        return f"{column} harmonised to null"
    return None


def test_every_quirk_has_its_outcome(generated):
    _, _, t, _, quirks = generated
    outcomes = Outcomes(t)
    problems = []
    for quirk in _quant_quirks(quirks).itertuples(index=False):
        problem = _quirk_problem(quirk, outcomes)
        if problem:
            problems.append(
                f"{quirk.kind} {quirk.file} {quirk.sheet!r} row {quirk.row} {quirk.column!r}: {problem}"
            )
    assert not problems, f"{len(problems)} quirk(s) without their outcome:\n" + "\n".join(
        problems[:40]
    )


def test_merged_duplicates_match_the_quirk_log(generated):
    _, _, t, _, quirks = generated
    dups = _quant_quirks(quirks).query("kind == 'duplicate_row'").groupby(["file", "sheet"]).size()
    rec = t["reconciliation"].set_index(["file", "sheet"])["rows_merged_duplicates"]
    assert rec[rec > 0].sort_index().to_dict() == dups.sort_index().to_dict()


def test_generated_reconciliation_balances(generated):
    raw, _, t, _, _ = generated
    rec = t["reconciliation"]
    assert (
        rec["rows_in"]
        == rec["rows_clean"] + rec["rows_quarantined"] + rec["rows_merged_duplicates"]
    ).all()
    files = {p.relative_to(raw).as_posix() for p in (raw / "submissions").rglob("*.*")}
    files |= {p.relative_to(raw).as_posix() for p in (raw / "reference").glob("*.csv")}
    files |= {p.relative_to(raw).as_posix() for p in (raw / "qualitative").glob("*.csv")}
    files |= {p.relative_to(raw).as_posix() for p in (raw / "context").glob("*.csv")}
    assert set(rec["file"]) == files, "every raw data file has a reconciliation line"


def test_generated_processed_data_holds_no_identifiers(generated):
    raw, _, _, out, _ = generated
    assert_no_identifiers(raw, out)


def test_generated_rerun_is_identical(generated, tmp_path):
    raw, _, _, out, _ = generated
    run_clean(raw, tmp_path / "again", out.parent)
    for path in sorted(out.glob("*.parquet")):
        assert (tmp_path / "again" / path.name).read_bytes() == path.read_bytes(), path.name
    assert os.listdir(tmp_path / "again")


def test_key_inside_processed_folder_is_refused_without_writing_cases(tmp_path):
    raw = make_raw(tmp_path / "raw")
    settings = get_settings().with_paths(key_file=tmp_path / "out" / "pseudonym.key")
    summary = clean_all(raw, tmp_path / "out", settings=settings)
    assert not summary.ok
    assert "must not live inside the processed data folder" in summary.text()
    assert not (tmp_path / "out" / "pseudonym.key").exists()
    assert not (tmp_path / "out" / "cases.parquet").exists()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2015-02-03", "2015-02-03"),
        ("03/02/2015", "2015-02-03"),
        ("3 Feb 2015", "2015-02-03"),
        ("3 February 2015", "2015-02-03"),
        ("03.02.15", "2015-02-03"),
        ("42038", "2015-02-03"),
        ("42038.75", "2015-02-03"),
        ("2015-02-03 00:00:00", "2015-02-03"),
        ("31/02/2015", None),
        ("5", None),
        ("9.0 Dec 2016", None),
        ("Feb 3 2015", None),
    ],
)
def test_parse_date_text(text, expected):
    from hubspoke.clean.harmonise import parse_date_text

    got = parse_date_text(text)
    assert (got.isoformat() if got else None) == expected


@pytest.mark.parametrize("dtype", ["category", "string", object])
def test_planned_ending_is_read_from_the_reason_in_any_column_type(dtype):
    """Planned and transferred endings are planned, others not, and an open case or an
    unknown reason has no answer, whether the reasons are harmonised categories or text."""
    from hubspoke.clean.harmonise import add_planned_ending

    reasons = ["Planned ending", "Transferred", "Disengaged", None, "Moved away", "Planned ending"]
    frame = pd.DataFrame({"closure_reason": pd.Series(reasons, dtype=dtype)})
    planned = add_planned_ending(frame)["planned_ending"]
    assert planned.dtype == "boolean"
    assert planned.tolist() == [True, True, False, pd.NA, False, True]
