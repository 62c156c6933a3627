"""Qualitative cleaning: every raw row of the coded data ends clean or quarantined with a reason."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from hubspoke.clean import clean_all
from hubspoke.clean.qualitative import clean_qualitative
from hubspoke.spec import raw as rs
from hubspoke.synth.qual import FIRST_NAMES, SURNAMES

MARK = rs.SYNTHETIC_MARKER + "\n"
TEXT = "Interviewer: hello. Respondent: Jade Smith said the Spoke helped. The police trust her now."
#        0         1         2         3         4         5         6         7         8
CODEBOOK = """code_id,label,cmo,theory_id,parent_code,description
PT1,Theory one,,PT1,,Top
PT1-M1,Trust,M,PT1,PT1,Mechanism
PT1-O1,Referrals,O,PT1,PT1,Outcome
"""


def write_qual(
    raw: Path,
    *,
    codebook: str = CODEBOOK,
    transcripts: str | None = None,
    segments: str | None = None,
    judgements: str | None = None,
) -> Path:
    """A raw folder holding only qualitative CSVs (each with the synthetic marker line, as the generator writes)."""
    folder = raw / "qualitative"
    folder.mkdir(parents=True, exist_ok=True)
    transcripts = transcripts or (
        "transcript_id,service_id,year,respondent_role,interview_date,text\n"
        f'T1,S01,2015,Spoke worker,2015-05-01,"{TEXT}"\n'
    )
    start = TEXT.index("Jade")
    segments = segments or (
        "segment_id,transcript_id,service_id,year,respondent_role,coder,code_id,start,end,excerpt\n"
        f'G1,T1,S01,2015,Spoke worker,AK,PT1-M1,{start},{len(TEXT)},"{TEXT[start:]}"\n'
    )
    judgements = (
        judgements
        or "transcript_id,theory_id,coder,check,judgement,rationale\nT1,PT1,AK,main,supports,fine\n"
    )
    for name, body in (
        ("codebook", codebook),
        ("transcripts", transcripts),
        ("coded_segments", segments),
        ("theory_judgements", judgements),
    ):
        (folder / f"{name}.csv").write_text(MARK + body, encoding="utf-8")
    return raw


def clean(raw: Path, tmp_path: Path) -> dict[str, pd.DataFrame]:
    out = tmp_path / "processed"
    summary = clean_all(raw, out, cleaners=[clean_qualitative])
    tables = {p.stem: pd.read_parquet(p) for p in out.glob("*.parquet")}
    rec = tables["reconciliation"]
    assert (
        rec["rows_in"]
        == rec["rows_clean"] + rec["rows_quarantined"] + rec["rows_merged_duplicates"]
    ).all()
    assert summary.ok, summary.text()
    return tables


def reasons(tables: dict[str, pd.DataFrame], table: str) -> list[tuple[int, str, str]]:
    q = tables["quarantine"].query("table == @table")
    return sorted(zip(q["row"].astype(int), q["column"], q["reason"], strict=True))


def test_valid_codings_gain_cmo_and_theory_and_lose_names(tmp_path):
    tables = clean(write_qual(tmp_path / "raw"), tmp_path)
    codings = tables["codings"]
    assert len(codings) == 1
    row = codings.iloc[0]
    assert (row["service_id"], int(row["year"]), row["respondent_role"]) == (
        "S01",
        2015,
        "Spoke worker",
    )
    assert (row["cmo"], row["theory_id"]) == ("mechanism", "PT1")
    assert "Jade" not in row["excerpt"] and "Smith" not in row["excerpt"]
    assert "[name]" in row["excerpt"]
    assert set(tables["codebook"]["cmo"].dropna()) == {"mechanism", "outcome"}
    assert tables["judgements"]["judgement"].astype(str).tolist() == ["supports"]
    assert tables["quarantine"].empty


def test_code_absent_from_codebook_is_quarantined(tmp_path):
    segments = (
        "segment_id,transcript_id,service_id,year,respondent_role,coder,code_id,start,end,excerpt\n"
        "G1,T1,S01,2015,Spoke worker,AK,PT9-M1,0,10,Interviewe\n"
        "G2,T1,S01,2015,Spoke worker,AK,PT1-O1,0,10,Interviewe\n"
    )
    tables = clean(write_qual(tmp_path / "raw", segments=segments), tmp_path)
    assert reasons(tables, "codings") == [(3, "code_id", "code_id: PT9-M1 is not in the codebook")]
    assert tables["codings"]["code_id"].tolist() == ["PT1-O1"]


def test_codebook_code_with_unknown_parent_or_cmo_is_quarantined(tmp_path):
    codebook = (
        CODEBOOK + "PT1-X1,Odd,X,PT1,PT1,Bad element\nPT1-C9,Orphan,C,PT1,PT5,No such parent\n"
    )
    tables = clean(write_qual(tmp_path / "raw", codebook=codebook), tmp_path)
    found = reasons(tables, "codebook")
    assert [(r, c) for r, c, _ in found] == [(6, "cmo"), (7, "parent_code")]
    assert "PT5 is not a code in the codebook" in found[1][2]
    assert sorted(tables["codebook"]["code_id"]) == ["PT1", "PT1-M1", "PT1-O1"]


@pytest.mark.parametrize(
    ("start", "end", "reason"),
    [
        (10, 500, f"end: 500 is beyond the transcript's {len(TEXT)} characters"),
        (20, 20, "end: not after start"),
        (30, 10, "end: not after start"),
    ],
)
def test_positions_outside_the_transcript_are_quarantined(tmp_path, start, end, reason):
    segments = (
        "segment_id,transcript_id,service_id,year,respondent_role,coder,code_id,start,end,excerpt\n"
        f"G1,T1,S01,2015,Spoke worker,AK,PT1-M1,{start},{end},x\n"
    )
    tables = clean(write_qual(tmp_path / "raw", segments=segments), tmp_path)
    assert reasons(tables, "codings") == [(3, "end", reason)]
    assert tables["codings"].empty


def test_judgement_other_than_the_three_is_quarantined(tmp_path):
    judgements = "transcript_id,theory_id,coder,check,judgement,rationale\nT1,PT1,AK,main,partly supports,x\nT1,PT2,AK,main,supports,x\n"
    tables = clean(write_qual(tmp_path / "raw", judgements=judgements), tmp_path)
    found = reasons(tables, "judgements")
    assert [(r, c) for r, c, _ in found] == [(3, "judgement"), (4, "theory_id")]
    assert "'partly supports' is not a known value" in found[0][2]
    assert "PT2 is not a theory in the codebook" in found[1][2]
    assert tables["judgements"].empty


def test_transcript_without_service_or_year_takes_its_codings_and_judgements_with_it(tmp_path):
    transcripts = (
        "transcript_id,service_id,year,respondent_role,interview_date,text\n"
        f'T1,,2015,Spoke worker,2015-05-01,"{TEXT}"\n'
        f'T2,S02,,Police,2015-05-01,"{TEXT}"\n'
    )
    segments = (
        "segment_id,transcript_id,service_id,year,respondent_role,coder,code_id,start,end,excerpt\n"
        "G1,T1,S01,2015,Spoke worker,AK,PT1-M1,0,10,x\nG2,T2,S02,2015,Police,AK,PT1-M1,0,10,x\n"
    )
    judgements = "transcript_id,theory_id,coder,check,judgement,rationale\nT1,PT1,AK,main,supports,x\nT2,PT1,AK,main,refutes,x\n"
    tables = clean(
        write_qual(
            tmp_path / "raw", transcripts=transcripts, segments=segments, judgements=judgements
        ),
        tmp_path,
    )
    assert [(r, c) for r, c, _ in reasons(tables, "transcripts")] == [
        (3, "service_id"),
        (4, "year"),
    ]
    for table in ("codings", "judgements"):
        assert [(r, c) for r, c, _ in reasons(tables, table)] == [
            (3, "transcript_id"),
            (4, "transcript_id"),
        ]
        assert tables[table].empty


def test_qdpx_stands_in_for_missing_segment_csv(synthetic_raw, tmp_path):
    """Without coded_segments.csv the cleaner imports the .qdpx: the same clean code applications."""
    from_csv = pd.read_parquet(
        _clean_copy(synthetic_raw, tmp_path / "a", drop_csv=False) / "codings.parquet"
    )
    from_qdpx = pd.read_parquet(
        _clean_copy(synthetic_raw, tmp_path / "b", drop_csv=True) / "codings.parquet"
    )
    key = ["transcript_id", "coder", "code_id", "start", "end"]
    cols = [*key, "service_id", "year", "respondent_role", "cmo", "theory_id", "excerpt"]
    a = from_csv[cols].sort_values(key).reset_index(drop=True).astype(str)
    b = from_qdpx[cols].sort_values(key).reset_index(drop=True).astype(str)
    pd.testing.assert_frame_equal(a, b)


def _clean_copy(raw: Path, where: Path, *, drop_csv: bool) -> Path:
    copy = where / "raw"
    shutil.copytree(raw / "qualitative", copy / "qualitative")
    if drop_csv:
        (copy / rs.LAYOUT["segments"]).unlink()
    out = where / "processed"
    assert clean_all(copy, out, cleaners=[clean_qualitative]).ok
    return out


def test_every_injected_qualitative_quirk_is_quarantined_at_its_row(
    synthetic_raw, synthetic_processed
):
    quirks = pd.read_csv(synthetic_raw / rs.LAYOUT["quirks"], comment="#", dtype=str)
    bad = quirks[
        quirks["kind"].isin(["unknown_code", "position_out_of_range", "invalid_judgement"])
    ]
    assert len(bad) >= 3
    q = pd.read_parquet(synthetic_processed / "quarantine.parquet")
    found = set(zip(q["file"], q["row"].astype(int), q["column"], strict=True))
    for row in bad.itertuples():
        assert (row.file, int(row.row), row.column) in found, row


def test_injected_names_never_reach_processed_excerpts(synthetic_raw, synthetic_processed):
    quirks = pd.read_csv(synthetic_raw / rs.LAYOUT["quirks"], comment="#", dtype=str)
    names = set(quirks.loc[quirks["kind"] == "name_in_excerpt", "detail"])
    assert names
    excerpts = " ".join(pd.read_parquet(synthetic_processed / "codings.parquet")["excerpt"])
    leaked = {n for n in names | set(FIRST_NAMES) | set(SURNAMES) if f" {n} " in f" {excerpts} "}
    assert not leaked


def test_qualitative_files_reconcile_on_the_synthetic_data(synthetic_processed):
    rec = pd.read_parquet(synthetic_processed / "reconciliation.parquet")
    qual = rec[rec["file"].str.startswith("qualitative/")]
    assert set(qual["table"]) == {"codebook", "transcripts", "codings", "judgements", "refinements"}
    assert (qual["status"] == "ok").all()
    assert (
        qual["rows_in"]
        == qual["rows_clean"] + qual["rows_quarantined"] + qual["rows_merged_duplicates"]
    ).all()
