"""Tests for REFI-QDA reading and writing (hubspoke.io.refiqda)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pandas as pd
import pytest

from hubspoke.errors import RawFileError
from hubspoke.io.refiqda import normalise_guid, read_refi_qda, write_qdpx
from hubspoke.spec.raw import LAYOUT
from hubspoke.spec.vocab import MODEL_VARIANTS
from hubspoke.synth.qual import write_qualitative

FIXTURES = Path(__file__).parent / "fixtures" / "refiqda"


def make_services() -> pd.DataFrame:
    """16 services in three phases (the columns the qualitative generator uses)."""
    starts = ["2014-01-01"] * 3 + ["2015-01-01"] * 5 + ["2016-01-01"] * 8
    ids = [f"S{i:02d}" for i in range(1, 17)]
    return pd.DataFrame(
        {
            "service_id": ids,
            "start_date": starts,
            "model_variant": [MODEL_VARIANTS[i % 5] for i in range(16)],
        }
    )


KEY = ["transcript_id", "coder", "code_id", "start", "end", "excerpt"]


@pytest.fixture(scope="module")
def raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    raw = tmp_path_factory.mktemp("raw")
    write_qualitative(raw, make_services(), seed=2014)
    return raw


def read_csv(raw: Path, key: str) -> pd.DataFrame:
    return pd.read_csv(raw / LAYOUT[key], skiprows=1, keep_default_na=False)


def zip_project(tmp_path: Path, qde: Path, entries: dict[str, str]) -> Path:
    path = tmp_path / "project.qdpx"
    with zipfile.ZipFile(path, "w") as zf:
        zf.write(qde, "project.qde")
        for name, text in entries.items():
            zf.writestr(name, text)
    return path


def test_round_trip_matches_csv(raw):
    tables = read_refi_qda(raw / LAYOUT["qdpx"])
    transcripts = read_csv(raw, "transcripts")
    segments = read_csv(raw, "segments")
    codes = set(read_csv(raw, "codebook")["code_id"])
    lengths = segments["transcript_id"].map(
        transcripts.set_index("transcript_id")["text"].str.len()
    )
    valid = segments[segments["code_id"].isin(codes) & (segments["end"] <= lengths)]
    qdpx = tables["codings"].rename(columns={"source_name": "transcript_id"})
    expected = (
        valid[KEY]
        .astype({"start": "int64", "end": "int64"})
        .sort_values(KEY)
        .reset_index(drop=True)
    )
    got = (
        qdpx[KEY].astype({"start": "int64", "end": "int64"}).sort_values(KEY).reset_index(drop=True)
    )
    pd.testing.assert_frame_equal(got, expected, check_dtype=False)
    assert len(segments) > len(valid)  # injected bad rows are CSV-only


def test_round_trip_metadata_and_codebook(raw):
    tables = read_refi_qda(raw / LAYOUT["qdpx"])
    transcripts = read_csv(raw, "transcripts").set_index("transcript_id")
    sources = tables["sources"].set_index("name").loc[transcripts.index]
    assert (sources["service_id"] == transcripts["service_id"]).all()
    assert (sources["year"].astype(int) == transcripts["year"]).all()
    assert (sources["respondent_role"] == transcripts["respondent_role"]).all()
    assert (sources["case_name"] == transcripts["service_id"]).all()
    assert (sources["text"] == transcripts["text"]).all()
    codebook = read_csv(raw, "codebook")
    codes = tables["codes"]
    assert sorted(codes["code_id"]) == sorted(codebook["code_id"])
    assert set(codes.loc[codes["depth"] == 1, "parent_name"].str.split().str[0]) == set(
        codebook["theory_id"]
    )
    assert sorted(tables["users"]["name"]) == sorted(read_csv(raw, "segments")["coder"].unique())


def test_write_qdpx_is_valid_zip_and_deterministic(tmp_path):
    codes = pd.DataFrame(
        {"guid": ["c1"], "name": ["PT1-M1 Trust"], "description": ["d"], "parent_guid": [None]}
    )
    users = pd.DataFrame({"guid": ["u1"], "name": ["JR"]})
    sources = pd.DataFrame(
        {"guid": ["s1"], "name": ["T1"], "text": ["Hello there."], "year": [2015]}
    )
    codings = pd.DataFrame(
        {
            "source_guid": ["s1"],
            "selection_guid": ["x1"],
            "start": [0],
            "end": [5],
            "coder_guid": ["u1"],
            "code_guid": ["c1"],
        }
    )
    a = write_qdpx(tmp_path / "a.qdpx", codes=codes, sources=sources, codings=codings, users=users)
    b = write_qdpx(tmp_path / "b.qdpx", codes=codes, sources=sources, codings=codings, users=users)
    assert a.read_bytes() == b.read_bytes()
    with zipfile.ZipFile(a) as zf:
        assert zf.namelist() == ["project.qde", "sources/s1.txt"]
        assert b'xmlns="urn:QDA-XML:project:1.0"' in zf.read("project.qde")
        assert {i.date_time for i in zf.infolist()} == {(2017, 3, 31, 12, 0, 0)}
    tables = read_refi_qda(a)
    row = tables["codings"].iloc[0]
    assert (row["excerpt"], row["coder"], row["code_id"]) == ("Hello", "JR", "PT1-M1")
    assert tables["sources"].loc[0, "year"] == "2015"


def test_nvivo_like_braces_descriptions_cases(tmp_path):
    text = (FIXTURES / "nvivo_source.txt").read_text(encoding="utf-8")
    path = zip_project(
        tmp_path,
        FIXTURES / "nvivo_project.qde",
        {"sources/{50000000-0000-4000-8000-000000000001}.txt": text},
    )
    tables = read_refi_qda(path)
    codes = tables["codes"].set_index("name")
    assert codes.loc["PT1-M1 Trust", "guid"] == "c0de0000-0000-4000-8000-000000000002"
    assert codes.loc["PT1-M1 Trust", "description"] == "Host staff trust the Spoke."
    assert codes.loc["PT1-M1 Trust", "parent_name"] == "PT1 Co-location"
    assert codes.loc["PT1-M1 Trust", "depth"] == 1
    assert not codes.loc["PT1 Co-location", "is_codable"]
    codings = tables["codings"]
    assert list(zip(codings["code_name"], codings["coder"], codings["excerpt"], strict=True)) == [
        ("PT1-M1 Trust", "JR", "The officers trust us"),
        ("Emotions", "AK", "The officers trust us"),
        ("PT1-O1 Earlier referral", "AK", "Referrals come earlier."),
    ]
    source = tables["sources"].iloc[0]
    assert (source["name"], source["case_name"], source["service_id"], source["year"]) == (
        "T0001",
        "S01",
        "S01",
        "2014",
    )
    assert source["description"] == "Spoke worker interview"


def test_qualcoder_like_inline_text_unknown_elements():
    tables = read_refi_qda(FIXTURES / "qualcoder_project.qde")
    codings = tables["codings"]
    assert codings["excerpt"].tolist() == ["She listened to me.", "I stopped going missing."]
    assert codings["coder"].tolist() == ["MT", "MT"]
    assert codings["code_id"].tolist() == ["PT2-M2", "PT2-O2"]
    assert tables["sources"]["name"].tolist() == ["T0002"]  # PDF source ignored
    assert tables["codes"]["description"].isna().all()


def test_codes_only_project():
    tables = read_refi_qda(FIXTURES / "codes_only.qde")
    assert tables["codes"]["depth"].tolist() == [0, 1, 2]
    assert tables["codes"]["parent_name"].tolist()[2] == "PT5-M1 Evidence at MASE"
    assert tables["codings"].empty and tables["sources"].empty
    assert list(tables["codings"].columns)[:6] == [
        "source_guid",
        "source_name",
        "selection_guid",
        "start",
        "end",
        "coder",
    ]


def test_qdc_codebook():
    tables = read_refi_qda(FIXTURES / "codebook.qdc")
    codes = tables["codes"]
    assert codes["guid"].tolist() == [
        "22222222-0000-4000-8000-00000000000a",
        "22222222-0000-4000-8000-00000000000b",
    ]
    assert codes["parent_guid"].tolist()[1] == codes["guid"].tolist()[0]
    assert codes["description"].tolist()[0] == "Outreach theory."


def test_unknown_code_kept_with_missing_name():
    codings = read_refi_qda(FIXTURES / "unknown_code.qde")["codings"]
    assert len(codings) == 1
    assert codings["code_name"].isna().all() and codings["code_id"].isna().all()
    assert codings.loc[0, "code_guid"] == "99999999-0000-4000-8000-000000000009"
    assert codings.loc[0, "excerpt"] == "Some"


def test_relative_plain_text_path(tmp_path):
    qde = (FIXTURES / "qualcoder_project.qde").read_text(encoding="utf-8")
    qde = qde.replace(
        "<PlainTextContent>She listened to me. I stopped going missing.</PlainTextContent>", ""
    )
    qde = qde.replace('name="T0002"', 'name="T0002" plainTextPath="texts/t2.txt"')
    (tmp_path / "texts").mkdir()
    (tmp_path / "texts" / "t2.txt").write_text(
        "She listened to me. I stopped going missing.", encoding="utf-8"
    )
    (tmp_path / "p.qde").write_text(qde, encoding="utf-8")
    assert (
        read_refi_qda(tmp_path / "p.qde")["codings"]["excerpt"].tolist()[0] == "She listened to me."
    )


def test_missing_source_text_empty_by_default_or_error(tmp_path):
    path = zip_project(tmp_path, FIXTURES / "nvivo_project.qde", {})
    tables = read_refi_qda(path)
    assert tables["sources"].loc[0, "text_status"] == "missing"
    assert tables["codings"]["excerpt"].isna().all() and len(tables["codings"]) == 3
    with pytest.raises(
        RawFileError, match=r"project\.qdpx.*plainTextPath.*text of source 'T0001' not found"
    ):
        read_refi_qda(path, on_missing_text="error")


def maxqda_qde() -> str:
    """A bare .qde shaped as MAXQDA 24 writes it: braced upper-case GUIDs, a nested code tree,
    texts behind ``internal://<guid>.txt`` (not beside the file), selections with Coding/CodeRef."""
    g = "{{6B1D0000-0000-4000-8000-{:012X}}}".format
    return f"""<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="Hub and Spoke" origin="MAXQDA 24"
         creatingUserGUID="{g(1)}" creationDateTime="2016-11-02T10:00:00Z">
  <Users><User guid="{g(1)}" name="JR"/><User guid="{g(2)}" name="AK"/></Users>
  <CodeBook><Codes>
    <Code guid="{g(10)}" name="PT1 Co-location speeds identification" isCodable="true" color="#ff0000">
      <Code guid="{g(11)}" name="PT1-M1 Trust" isCodable="true" color="#00ff00">
        <Code guid="{g(12)}" name="Police trust" isCodable="true"/>
      </Code>
      <Code guid="{g(13)}" name="PT1-O1 Earlier referral" isCodable="true"/>
    </Code>
    <Code guid="{g(20)}" name="PT2 Relationship-based work" isCodable="true">
      <Code guid="{g(21)}" name="PT2-M1 Worker keeps showing up" isCodable="true"/>
    </Code>
  </Codes></CodeBook>
  <Sources>
    <TextSource guid="{g(100)}" name="T0001" plainTextPath="internal://{g(100)[1:-1]}.txt"
                creatingUser="{g(1)}" creationDateTime="2016-11-02T10:00:00Z">
      <PlainTextSelection guid="{g(200)}" name="Sel 1" startPosition="12" endPosition="48"
                          creatingUser="{g(1)}">
        <Coding guid="{g(300)}" creatingUser="{g(1)}"><CodeRef targetGUID="{g(11)}"/></Coding>
        <Coding guid="{g(301)}" creatingUser="{g(2)}"><CodeRef targetGUID="{g(12)}"/></Coding>
      </PlainTextSelection>
      <PlainTextSelection guid="{g(201)}" name="Sel 2" startPosition="60" endPosition="95"
                          creatingUser="{g(2)}">
        <Coding guid="{g(302)}" creatingUser="{g(2)}"><CodeRef targetGUID="{g(13)}"/></Coding>
      </PlainTextSelection>
    </TextSource>
    <TextSource guid="{g(101)}" name="T0002" plainTextPath="internal://{g(101)[1:-1]}.txt"
                creatingUser="{g(1)}">
      <PlainTextSelection guid="{g(202)}" name="Sel 3" startPosition="0" endPosition="30"
                          creatingUser="{g(1)}">
        <Coding guid="{g(303)}" creatingUser="{g(1)}"><CodeRef targetGUID="{g(21)}"/></Coding>
      </PlainTextSelection>
    </TextSource>
  </Sources>
</Project>
"""


def test_maxqda_qde_without_its_texts_imports_codes_and_codings(tmp_path):
    """Issue 14 item 10: the code tree and every coding with positions; only excerpts are empty."""
    path = tmp_path / "maxqda.qde"
    path.write_text(maxqda_qde(), encoding="utf-8")
    tables = read_refi_qda(path)
    codes = tables["codes"]
    assert codes["name"].tolist() == [
        "PT1 Co-location speeds identification",
        "PT1-M1 Trust",
        "Police trust",
        "PT1-O1 Earlier referral",
        "PT2 Relationship-based work",
        "PT2-M1 Worker keeps showing up",
    ]
    assert codes["depth"].tolist() == [0, 1, 2, 1, 0, 1]
    assert codes.loc[2, "parent_name"] == "PT1-M1 Trust"
    assert codes.loc[1, "guid"] == "6b1d0000-0000-4000-8000-00000000000b"
    sources = tables["sources"]
    assert sources["text_status"].tolist() == ["missing", "missing"]
    assert sources["plain_text_path"].tolist() == [
        "internal://6B1D0000-0000-4000-8000-000000000064.txt",
        "internal://6B1D0000-0000-4000-8000-000000000065.txt",
    ]
    codings = tables["codings"]
    got = list(
        zip(
            codings["source_name"],
            codings["start"],
            codings["end"],
            codings["coder"],
            codings["code_name"],
            strict=True,
        )
    )
    assert got == [
        ("T0001", 12, 48, "JR", "PT1-M1 Trust"),
        ("T0001", 12, 48, "AK", "Police trust"),
        ("T0001", 60, 95, "AK", "PT1-O1 Earlier referral"),
        ("T0002", 0, 30, "JR", "PT2-M1 Worker keeps showing up"),
    ]
    assert codings["excerpt"].isna().all()
    assert codings["code_id"].fillna("").tolist() == ["PT1-M1", "", "PT1-O1", "PT2-M1"]


def test_maxqda_qde_with_its_texts_beside_it(tmp_path):
    """The same export with its texts in ``sources/`` beside it (or next to it) reads them."""
    text = "Respondent: the Spoke sits with the police and they trust her. Referrals come much earlier now."
    path = tmp_path / "maxqda.qde"
    path.write_text(maxqda_qde(), encoding="utf-8")
    (tmp_path / "sources").mkdir()
    (tmp_path / "sources" / "6B1D0000-0000-4000-8000-000000000064.txt").write_text(text, "utf-8")
    (tmp_path / "6B1D0000-0000-4000-8000-000000000065.txt").write_text(text, "utf-8")
    tables = read_refi_qda(path)
    assert tables["sources"]["text_status"].tolist() == ["ok", "ok"]
    assert tables["codings"]["excerpt"].tolist() == [
        text[12:48],
        text[12:48],
        text[60:95],
        text[:30],
    ]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("bad_xml.qde", r"bad_xml\.qde: XML does not parse: mismatched tag"),
        (
            "wrong_root.qde",
            r"wrong_root\.qde: wrong root element \(allowed: Project, CodeBook\); found '\{urn:QDA-XML:project:1\.0\}Projekt'",
        ),
        (
            "out_of_range.qde",
            r"out_of_range\.qde.*lies outside its text of 15 characters.*found \(0, 400\)",
        ),
    ],
)
def test_malformed_files(name, message):
    with pytest.raises(RawFileError, match=message):
        read_refi_qda(FIXTURES / name)


def test_not_a_zip_and_zip_without_project(tmp_path):
    fake = tmp_path / "fake.qdpx"
    fake.write_text("<Project/>", encoding="utf-8")
    with pytest.raises(RawFileError, match=r"fake\.qdpx: not a zip archive"):
        read_refi_qda(fake)
    empty = tmp_path / "empty.qdpx"
    with zipfile.ZipFile(empty, "w") as zf:
        zf.writestr("sources/a.txt", "x")
    with pytest.raises(RawFileError, match=r"empty\.qdpx: zip archive holds no project\.qde"):
        read_refi_qda(empty)
    with pytest.raises(RawFileError, match="not found"):
        read_refi_qda(tmp_path / "nope.qdpx")


def test_bad_positions_attribute(tmp_path):
    qde = (
        (FIXTURES / "unknown_code.qde")
        .read_text(encoding="utf-8")
        .replace('startPosition="0"', 'startPosition="abc"')
    )
    (tmp_path / "p.qde").write_text(qde, encoding="utf-8")
    with pytest.raises(RawFileError, match=r"no integer startPosition"):
        read_refi_qda(tmp_path / "p.qde")


def test_normalise_guid():
    assert (
        normalise_guid(" {ABCDEF00-0000-4000-8000-000000000001} ")
        == "abcdef00-0000-4000-8000-000000000001"
    )
    assert normalise_guid(None) is None
