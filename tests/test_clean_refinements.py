"""Judgements with coders, and evaluators' refinements: clean rows, quarantine reasons, reconciliation.

Every file here is small, synthetic and written in the test (no real person is described).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from hubspoke.clean import clean_all
from hubspoke.clean.qualitative import clean_qualitative, evidence_ids
from hubspoke.spec import raw as rs
from hubspoke.spec.processed import JUDGEMENTS, REFINEMENTS

MARK = rs.SYNTHETIC_MARKER + "\n"
TEXT = "Interviewer: hello. Respondent: the Spoke sat with the police and referrals came sooner."
CODEBOOK = """code_id,label,cmo,theory_id,parent_code,description
PT1,Theory one,,PT1,,Top
PT1-M1,Trust,M,PT1,PT1,Mechanism
PT2,Theory two,,PT2,,Top
"""
TRANSCRIPTS = (
    "transcript_id,service_id,year,respondent_role,interview_date,text\n"
    f'T0001,S01,2015,Spoke worker,2015-05-01,"{TEXT}"\n'
    f'T0002,S02,2016,Police,2016-03-01,"{TEXT}"\n'
)
SEGMENTS = (
    "segment_id,transcript_id,service_id,year,respondent_role,coder,code_id,start,end,excerpt\n"
    f'SG00001,T0001,S01,2015,Spoke worker,AK,PT1-M1,0,{len(TEXT)},"{TEXT}"\n'
)
JUDGEMENT_HEADER = "transcript_id,theory_id,coder,check,judgement,rationale\n"
GOOD_JUDGEMENTS = (
    JUDGEMENT_HEADER
    + "T0001,PT1,AK,main,supports,fits\n"
    + "T0001,PT1,JR,agreement,refines,partly\n"
    + "T0002,PT1,MT,main,refutes,no\n"
    + "T0002,PT2,MT,main,supports,yes\n"
)
REFINEMENT_HEADER = (
    "refinement_id,theory_id,context_dimension,context_value,statement,author,written_on,evidence\n"
)
NAMED_STATEMENT = "Where the Spoke sat in the MASH, Priya Patel said referrals came earlier."
GOOD_REFINEMENT = (
    f'R001,PT1,host_setting,Police,"{NAMED_STATEMENT}",EV,2016-11-30,T0001; SG00001;T0001\n'
)


def write_raw(
    raw: Path, *, judgements: str = GOOD_JUDGEMENTS, refinements: str | None = None
) -> Path:
    """A raw folder holding only qualitative CSVs, each after the synthetic marker line.

    Row numbers therefore start at 3 (line 1 the marker, line 2 the header).
    """
    folder = raw / "qualitative"
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "codebook": CODEBOOK,
        "transcripts": TRANSCRIPTS,
        "coded_segments": SEGMENTS,
        "theory_judgements": judgements,
    }
    if refinements is not None:
        files["refinements"] = refinements
    for name, body in files.items():
        (folder / f"{name}.csv").write_text(MARK + body, encoding="utf-8")
    return raw


def run(raw: Path, out: Path):
    """Clean the qualitative files; the tables written, and the summary."""
    summary = clean_all(raw, out, cleaners=[clean_qualitative])
    assert summary.ok, summary.text()
    tables = {p.stem: pd.read_parquet(p) for p in out.glob("*.parquet")}
    return tables, summary


def balanced(rec: pd.DataFrame) -> bool:
    return bool(
        (
            rec["rows_in"]
            == rec["rows_clean"] + rec["rows_quarantined"] + rec["rows_merged_duplicates"]
        ).all()
    )


def reasons(tables: dict[str, pd.DataFrame], table: str) -> list[tuple[int, str, str]]:
    q = tables["quarantine"].query("table == @table")
    return sorted(zip(q["row"].astype(int), q["column"], q["reason"], strict=True))


# ---------------------------------------------------------------------------
# Judgements with coders
# ---------------------------------------------------------------------------


def test_main_and_agreement_judgements_clean_with_coder_and_check(tmp_path):
    tables, _ = run(write_raw(tmp_path / "raw"), tmp_path / "out")
    judged = tables["judgements"]
    assert list(judged.columns) == JUDGEMENTS.columns
    assert isinstance(judged["check"].dtype, pd.CategoricalDtype)
    assert list(judged["check"].cat.categories) == ["main", "agreement"]
    rows = judged.sort_values(["transcript_id", "theory_id", "coder"])[
        ["transcript_id", "theory_id", "coder", "check", "judgement", "service_id", "year"]
    ].astype(str)
    assert rows.values.tolist() == [
        ["T0001", "PT1", "AK", "main", "supports", "S01", "2015"],
        ["T0001", "PT1", "JR", "agreement", "refines", "S01", "2015"],
        ["T0002", "PT1", "MT", "main", "refutes", "S02", "2016"],
        ["T0002", "PT2", "MT", "main", "supports", "S02", "2016"],
    ]
    assert tables["quarantine"].empty


@pytest.mark.parametrize(
    ("rows", "bad_row", "column", "words"),
    [
        pytest.param(
            "T0001,PT1,AK,main,supports,a\nT0001,PT1,JR,agreement,supports,b\n"
            "T0001,PT1,JR,agreement,refutes,c\n",
            5,
            "coder",
            (
                "already judged T0001 on PT1 at row 4",
                "one judgement per transcript, theory and coder",
            ),
            id="duplicate key",
        ),
        pytest.param(
            "T0001,PT1,AK,main,supports,a\nT0001,PT1,JR,agreemnt,supports,b\n",
            4,
            "check",
            ("'agreemnt' is not a known value", "allowed: main, agreement"),
            id="unknown check",
        ),
        pytest.param(
            "T0001,PT1,AK,main,supports,a\nT0001,PT1,JR,main,refutes,b\n",
            4,
            "check",
            ("a second 'main' judgement of T0001 on PT1", "main judgement is at row 3"),
            id="second main",
        ),
        pytest.param(
            "T0001,PT1,AK,main,supports,a\nT0001,PT1,AK,agreement,refutes,b\n",
            4,
            "coder",
            ("made the main judgement of T0001 on PT1 (row 3)", "must be by another coder"),
            id="agreement by the main coder",
        ),
        pytest.param(
            "T0001,PT1,,main,supports,a\n",
            3,
            "coder",
            ("coder: required value missing",),
            id="missing coder",
        ),
        pytest.param(
            "T0001,PT1,JR,agreement,supports,a\n",
            3,
            "check",
            ("has no main judgement to compare with",),
            id="agreement without a main judgement",
        ),
    ],
)
def test_bad_judgement_rows_are_quarantined_with_row_column_and_reason(
    tmp_path, rows, bad_row, column, words
):
    tables, _ = run(
        write_raw(tmp_path / "raw", judgements=JUDGEMENT_HEADER + rows), tmp_path / "out"
    )
    found = reasons(tables, "judgements")
    assert [(r, c) for r, c, _ in found] == [(bad_row, column)], found
    for word in words:
        assert word in found[0][2], found
    q = tables["quarantine"]
    assert set(q["file"]) == {rs.LAYOUT["judgements"]}
    n_rows = rows.count("\n")
    assert len(tables["judgements"]) == n_rows - 1
    rec = tables["reconciliation"].set_index("file").loc[rs.LAYOUT["judgements"]]
    assert (int(rec["rows_in"]), int(rec["rows_clean"]), int(rec["rows_quarantined"])) == (
        n_rows,
        n_rows - 1,
        1,
    )


def test_a_row_quarantined_for_its_own_fault_does_not_make_the_next_a_second_main(tmp_path):
    rows = (
        "T0001,PT9,AK,main,supports,a\nT0001,PT9,JR,main,refutes,b\nT0001,PT1,JR,main,refutes,c\n"
    )
    tables, _ = run(
        write_raw(tmp_path / "raw", judgements=JUDGEMENT_HEADER + rows), tmp_path / "out"
    )
    found = reasons(tables, "judgements")
    assert [(r, c) for r, c, _ in found] == [(3, "theory_id"), (4, "theory_id")]
    assert tables["judgements"][["theory_id", "coder"]].values.tolist() == [["PT1", "JR"]]


def test_a_judgements_file_without_coder_and_check_fails_naming_the_missing_columns(tmp_path):
    old = "transcript_id,theory_id,judgement,rationale\nT0001,PT1,supports,x\n"
    summary = clean_all(
        write_raw(tmp_path / "raw", judgements=old), tmp_path / "out", cleaners=[clean_qualitative]
    )
    failed = summary.failed.set_index("file")
    assert list(failed.index) == [rs.LAYOUT["judgements"]]
    message = failed.loc[rs.LAYOUT["judgements"], "message"]
    assert "coder" in message and "check" in message
    assert "judgements" not in summary.rows


# ---------------------------------------------------------------------------
# Refinements
# ---------------------------------------------------------------------------


def test_refinements_clean_with_statement_redacted_and_evidence_counted(tmp_path):
    body = (
        REFINEMENT_HEADER
        + GOOD_REFINEMENT
        + 'R002,PT2,model variant,multi-host,"Hub staff covered the gaps.",EV,2016-12-01,T0002\n'
    )
    tables, _ = run(write_raw(tmp_path / "raw", refinements=body), tmp_path / "out")
    refined = tables["refinements"].set_index("refinement_id")
    assert list(tables["refinements"].columns) == REFINEMENTS.columns
    first = refined.loc["R001"]
    assert "Priya" not in first["statement"] and "Patel" not in first["statement"]
    assert "[name]" in first["statement"]
    assert first["statement"].startswith("Where the Spoke sat in the MASH")
    assert (first["evidence"], int(first["n_evidence"])) == ("T0001;SG00001", 2)
    assert tables["codings"]["segment_id"].tolist() == ["SG00001"]  # what the evidence names
    assert first["written_on"] == pd.Timestamp("2016-11-30")
    assert (first["context_dimension"], first["context_value"]) == ("host_setting", "Police")
    second = refined.loc["R002"]
    assert (second["context_dimension"], second["context_value"]) == ("model_variant", "Multi-host")
    assert tables["quarantine"].empty


@pytest.mark.parametrize(
    ("row", "column", "words"),
    [
        pytest.param(
            'R009,PT9,host_setting,Police,"A statement.",EV,2016-11-30,T0001\n',
            "theory_id",
            ("PT9 is not a theory in the codebook",),
            id="unknown theory",
        ),
        pytest.param(
            'R009,PT1,host_setting,Police,"A statement.",EV,2016-11-30,T0001;T0999;SG00042\n',
            "evidence",
            (
                "not a transcript or coded segment of the cleaned data: T0999, SG00042",
                "allowed: ';'-separated",
            ),
            id="unknown evidence ids",
        ),
        pytest.param(
            'R009,PT1,host_setting,Police,"A statement.",EV,30/11/2016,T0001\n',
            "written_on",
            ("30/11/2016 is not an ISO date", "YYYY-MM-DD"),
            id="date not ISO",
        ),
        pytest.param(
            'R009,PT1,host_setting,Police,"A statement.",EV,2016-02-30,T0001\n',
            "written_on",
            ("'2016-02-30' is not a date",),
            id="impossible date",
        ),
        pytest.param(
            'R009,PT1,host_setting,Multi-host,"A statement.",EV,2016-11-30,T0001\n',
            "context_value",
            ("'Multi-host' is not a host_setting value", "allowed: Police, Children's social care"),
            id="context value not of its dimension",
        ),
        pytest.param(
            'R009,PT1,team_size,Police,"A statement.",EV,2016-11-30,T0001\n',
            "context_dimension",
            ("is not a known value", "allowed: model_variant, host_setting"),
            id="unknown dimension",
        ),
        pytest.param(
            "R009,PT1,host_setting,Police,,EV,2016-11-30,T0001\n",
            "statement",
            ("statement: required value missing",),
            id="empty statement",
        ),
        pytest.param(
            'R009,PT1,host_setting,Police,"A statement.",,2016-11-30,T0001\n',
            "author",
            ("author: required value missing",),
            id="no author",
        ),
        pytest.param(
            'R009,PT1,host_setting,Police,"A statement.",EV,2016-11-30," ; "\n',
            "evidence",
            ("no transcript or segment id given",),
            id="no evidence id",
        ),
        pytest.param(
            'R001,PT2,host_setting,Health,"Another statement.",EV,2016-11-30,T0002\n',
            "refinement_id",
            ("R001 is already used at row 3",),
            id="duplicate refinement id",
        ),
    ],
)
def test_bad_refinement_rows_are_quarantined_with_row_column_and_reason(
    tmp_path, row, column, words
):
    body = REFINEMENT_HEADER + GOOD_REFINEMENT + row
    tables, _ = run(write_raw(tmp_path / "raw", refinements=body), tmp_path / "out")
    found = reasons(tables, "refinements")
    assert [(r, c) for r, c, _ in found] == [(4, column)], found
    for word in words:
        assert word in found[0][2], found
    assert tables["refinements"]["refinement_id"].tolist() == ["R001"]
    rec = tables["reconciliation"].set_index("file").loc[rs.LAYOUT["refinements"]]
    assert (rec["table"], int(rec["rows_in"]), int(rec["rows_clean"])) == ("refinements", 2, 1)
    assert int(rec["rows_quarantined"]) == 1


def test_refinement_quarantine_never_repeats_a_statement_or_a_name_given_as_evidence(tmp_path):
    body = (
        REFINEMENT_HEADER
        + f'R009,PT9,host_setting,Police,"{NAMED_STATEMENT}",EV,2016-11-30,"T0001;Priya Patel"\n'
    )
    tables, _ = run(write_raw(tmp_path / "raw", refinements=body), tmp_path / "out")
    q = tables["quarantine"]
    assert set(q["column"]) == {"theory_id", "evidence"}
    shown = " ".join([*q["value"], *q["reason"]])
    assert "Priya" not in shown and "Patel" not in shown and "MASH" not in shown
    assert "1 value(s) of another shape" in shown
    assert tables["refinements"].empty


def test_every_raw_row_ends_clean_or_quarantined_and_the_counts_balance(tmp_path):
    judgements = (
        GOOD_JUDGEMENTS
        + "T0001,PT1,AK,agreement,refutes,x\n"  # by the main coder: quarantined
        + "T0002,PT1,MT,main,refutes,no\n"  # an exact duplicate: merged and counted
    )
    refinements = (
        REFINEMENT_HEADER
        + GOOD_REFINEMENT
        + GOOD_REFINEMENT  # an exact duplicate: merged and counted
        + 'R002,PT9,host_setting,Police,"x",EV,2016-11-30,T0001\n'
        + "\n"  # a blank row
        + 'R003,PT1,model_variant,Hub outreach,"Fine.",EV,2017-01-05,SG00001\n'
    )
    tables, _ = run(
        write_raw(tmp_path / "raw", judgements=judgements, refinements=refinements),
        tmp_path / "out",
    )
    rec = tables["reconciliation"].set_index("file")
    assert balanced(rec)
    counts = rec.loc[
        [rs.LAYOUT["judgements"], rs.LAYOUT["refinements"]],
        ["rows_in", "rows_clean", "rows_quarantined", "rows_merged_duplicates"],
    ].astype(int)
    assert counts.values.tolist() == [[6, 4, 1, 1], [5, 2, 2, 1]]
    assert sorted(tables["refinements"]["refinement_id"]) == ["R001", "R003"]


def test_an_absent_refinements_file_gives_an_empty_table_and_says_so(tmp_path):
    tables, summary = run(write_raw(tmp_path / "raw"), tmp_path / "out")
    refined = tables["refinements"]
    assert refined.empty
    assert list(refined.columns) == REFINEMENTS.columns
    assert dict(refined.dtypes.astype(str)) == dict(REFINEMENTS.empty().dtypes.astype(str))
    assert any(rs.LAYOUT["refinements"] in w and "empty" in w for w in summary.warnings)
    assert rs.LAYOUT["refinements"] not in set(tables["reconciliation"]["file"])


def test_evidence_ids_are_split_trimmed_and_deduplicated():
    ids = evidence_ids(pd.Series(["T1; SG2 ;T1", ";", None]))
    assert ids.tolist() == [["T1", "SG2"], [], []]
