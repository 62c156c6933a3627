"""Tests for the synthetic qualitative data (hubspoke.synth.qual)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hubspoke.spec.raw import LAYOUT, SYNTHETIC_MARKER
from hubspoke.spec.vocab import JUDGEMENTS, MODEL_VARIANTS, RESPONDENT_ROLES
from hubspoke.synth.qual import PATTERN, write_qualitative

QUAL_FILES = ("codebook", "transcripts", "segments", "judgements", "qdpx")


def make_services() -> pd.DataFrame:
    """16 services in three phases, variants in turn (only the columns the generator uses)."""
    starts = ["2014-01-01"] * 3 + ["2015-01-01"] * 5 + ["2016-01-01"] * 8
    return pd.DataFrame(
        {
            "service_id": [f"S{i:02d}" for i in range(1, 17)],
            "start_date": starts,
            "model_variant": [MODEL_VARIANTS[i % len(MODEL_VARIANTS)] for i in range(16)],
        }
    )


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict]]:
    raw = tmp_path_factory.mktemp("raw")
    return raw, write_qualitative(raw, make_services(), seed=2014)


def read(raw: Path, key: str) -> pd.DataFrame:
    return pd.read_csv(raw / LAYOUT[key], skiprows=1, keep_default_na=False)


def test_files_written_with_marker(generated):
    raw, _ = generated
    for key in QUAL_FILES:
        assert (raw / LAYOUT[key]).is_file()
    for key in QUAL_FILES[:-1]:
        first = (raw / LAYOUT[key]).read_text(encoding="utf-8").splitlines()[0]
        assert first == SYNTHETIC_MARKER


def test_same_seed_same_bytes_other_seed_differs(generated, tmp_path):
    raw, quirks = generated
    again = write_qualitative(tmp_path / "a", make_services(), seed=2014)
    for key in QUAL_FILES:
        assert (raw / LAYOUT[key]).read_bytes() == (tmp_path / "a" / LAYOUT[key]).read_bytes(), key
    assert again == quirks
    write_qualitative(tmp_path / "b", make_services(), seed=7)
    assert (raw / LAYOUT["transcripts"]).read_bytes() != (
        tmp_path / "b" / LAYOUT["transcripts"]
    ).read_bytes()


def test_codebook_tree(generated):
    codebook = read(generated[0], "codebook")
    parents = codebook[codebook["cmo"] == ""]
    children = codebook[codebook["cmo"] != ""]
    assert len(parents) == 6 and set(children["cmo"]) == {"C", "M", "O"}
    assert children["parent_code"].isin(parents["code_id"]).all()
    assert (children["code_id"].str.split("-").str[0] == children["theory_id"]).all()
    assert codebook["code_id"].is_unique


def test_transcripts_shape(generated):
    transcripts = read(generated[0], "transcripts")
    assert 200 <= len(transcripts) <= 280
    assert transcripts["respondent_role"].isin(RESPONDENT_ROLES).all()
    assert transcripts["year"].between(2014, 2016).all()
    assert not transcripts["text"].str.contains("\n").any()
    visits = transcripts.groupby("service_id")["year"].nunique()
    assert visits.between(1, 3).all() and visits["S01"] == 3 and visits["S16"] == 1


def test_segments_excerpts_and_quirks(generated):
    raw, quirks = generated
    segments = read(raw, "segments")
    texts = read(raw, "transcripts").set_index("transcript_id")["text"]
    codes = set(read(raw, "codebook")["code_id"])
    log = pd.DataFrame(quirks)
    seg_log = log[log["file"] == LAYOUT["segments"]]
    length = segments["transcript_id"].map(texts).str.len()
    unknown = ~segments["code_id"].isin(codes)
    beyond = segments["end"] > length
    rows = segments.index + 3
    assert set(rows[unknown]) == set(seg_log.loc[seg_log["kind"] == "unknown_code", "row"])
    assert set(rows[beyond]) == set(seg_log.loc[seg_log["kind"] == "position_out_of_range", "row"])
    assert unknown.sum() >= 2 and beyond.sum() >= 2
    cut = [
        texts[t][s:e]
        for t, s, e in segments[["transcript_id", "start", "end"]].itertuples(index=False)
    ]
    assert (segments["excerpt"] == cut).all()
    assert segments["segment_id"].is_unique
    assert not segments.duplicated(["transcript_id", "coder", "code_id", "start", "end"]).any()


def test_quirk_rows_are_physical_lines(generated):
    raw, quirks = generated
    lines = (raw / LAYOUT["judgements"]).read_text(encoding="utf-8").splitlines()
    bad = [q for q in quirks if q["kind"] == "invalid_judgement"]
    assert len(bad) >= 2
    for q in bad:
        assert f",{q['detail']}," in lines[q["row"] - 1]
    judgements = read(raw, "judgements")
    assert (~judgements["judgement"].isin(JUDGEMENTS)).sum() == len(bad)
    assert all(set(q) == {"file", "sheet", "row", "column", "kind", "detail"} for q in quirks)


def test_names_logged_where_they_are(generated):
    raw, quirks = generated
    transcripts = read(raw, "transcripts")
    names = [
        q for q in quirks if q["kind"] == "name_in_excerpt" and q["file"] == LAYOUT["transcripts"]
    ]
    assert 20 <= len({q["row"] for q in names}) < len(transcripts)
    for q in names:
        assert q["detail"] in transcripts.loc[q["row"] - 3, "text"]
    segments = read(raw, "segments")
    for q in (
        q for q in quirks if q["kind"] == "name_in_excerpt" and q["file"] == LAYOUT["segments"]
    ):
        assert q["detail"] in segments.loc[q["row"] - 3, "excerpt"]


def _kappa(a: np.ndarray, b: np.ndarray) -> float:
    po = (a == b).mean()
    pe = a.mean() * b.mean() + (1 - a.mean()) * (1 - b.mean())
    return (po - pe) / (1 - pe)


def test_double_coding_share_and_agreement(generated):
    raw, _ = generated
    segments = read(raw, "segments")
    codes = read(raw, "codebook").query("cmo != ''")["code_id"]
    coders = segments.groupby("transcript_id")["coder"].nunique()
    assert 0.15 <= (coders > 1).mean() <= 0.3
    double = segments[segments["transcript_id"].isin(coders[coders > 1].index)]
    present = double.assign(v=1).pivot_table(
        index=["transcript_id", "code_id"], columns="coder", values="v", aggfunc="max"
    )
    a, b = [], []
    for _tid, group in double.groupby("transcript_id"):
        first, second = sorted(group["coder"].unique())
        for code in codes:
            a.append(int(((group["coder"] == first) & (group["code_id"] == code)).any()))
            b.append(int(((group["coder"] == second) & (group["code_id"] == code)).any()))
    assert 0.6 <= _kappa(np.array(a), np.array(b)) <= 0.9
    assert len(present) > 0


def test_judgements_follow_context_pattern(generated):
    raw, _ = generated
    judgements = read(raw, "judgements").query("judgement in @JUDGEMENTS")
    services = make_services().set_index("service_id")["model_variant"]
    transcripts = read(raw, "transcripts").set_index("transcript_id")
    table = judgements.assign(
        variant=judgements["transcript_id"].map(transcripts["service_id"]).map(services)
    )
    shares = table.groupby(["theory_id", "variant"])["judgement"].agg(
        lambda s: s.value_counts().idxmax()
    )
    matches = [shares[(t, v)] == PATTERN[t][v] for t, v in shares.index if t != "PT5"]
    assert np.mean(matches) >= 0.75
    assert table.groupby("theory_id")["judgement"].nunique().min() >= 2
