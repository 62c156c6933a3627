"""Tests for the synthetic qualitative data (hubspoke.synth.qual and hubspoke.synth.refinements)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hubspoke
from hubspoke.analysis.cross_site.summary import host_labels
from hubspoke.spec.raw import LAYOUT, SYNTHETIC_MARKER
from hubspoke.spec.vocab import HOST_SETTINGS, JUDGEMENTS, MODEL_VARIANTS, RESPONDENT_ROLES
from hubspoke.synth import refinements as refs
from hubspoke.synth.qual import (
    CLOSER_TEMPLATES,
    CODE_INFO,
    CODERS,
    FILLER_TEMPLATES,
    PATTERN,
    ROLE_GROUPS,
    ROLE_THEORIES,
    TEMPLATES,
    spoke_posts,
    theory_codes,
    write_qualitative,
)

QUAL_FILES = ("codebook", "transcripts", "segments", "judgements", "refinements", "qdpx")
THEORIES_TOML = Path(hubspoke.__file__).parent / "analysis" / "realist" / "theories.toml"
NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4}


def make_services() -> pd.DataFrame:
    """16 services in three phases, variants in turn, 2-5 Spokes (synthetic)."""
    starts = ["2014-01-01"] * 3 + ["2015-01-01"] * 5 + ["2016-01-01"] * 8
    return pd.DataFrame(
        {
            "service_id": [f"S{i:02d}" for i in range(1, 17)],
            "start_date": starts,
            "model_variant": [MODEL_VARIANTS[i % len(MODEL_VARIANTS)] for i in range(16)],
            "n_spokes": [2 + i % 4 for i in range(16)],
        }
    )


def make_spokes(services: pd.DataFrame) -> pd.DataFrame:
    """Spoke posts (synthetic): hosts in turn; every third service's third Spoke starts a year late."""
    rows = []
    for i, svc in enumerate(services.to_dict("records")):
        start = int(svc["start_date"][:4])
        for k in range(int(svc["n_spokes"])):
            late = k == 2 and i % 3 == 0 and start < 2016
            rows.append(
                {
                    "spoke_id": f"{svc['service_id']}-K{k + 1}",
                    "service_id": svc["service_id"],
                    "host_setting": HOST_SETTINGS[(i + k * (i % 2)) % len(HOST_SETTINGS)],
                    "la_code": "E06000002",
                    "start_year": start + int(late),
                }
            )
    return pd.DataFrame(rows)


SERVICES = make_services()
SPOKES = make_spokes(SERVICES)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict]]:
    raw = tmp_path_factory.mktemp("raw")
    return raw, write_qualitative(raw, SERVICES, seed=2014, spokes=SPOKES)


def read(raw: Path, key: str) -> pd.DataFrame:
    return pd.read_csv(raw / LAYOUT[key], skiprows=1, keep_default_na=False)


def running_spokes(spokes: pd.DataFrame, service_id: str, year: int) -> int:
    return int(((spokes["service_id"] == service_id) & (spokes["start_year"] <= year)).sum())


def start_years(services: pd.DataFrame) -> pd.Series:
    return services.set_index("service_id")["start_date"].astype(str).str[:4].astype(int)


# --------------------------------------------------------------------------- files
def test_files_written_with_marker(generated):
    raw, _ = generated
    for key in QUAL_FILES:
        assert (raw / LAYOUT[key]).is_file()
    for key in QUAL_FILES[:-1]:
        first = (raw / LAYOUT[key]).read_text(encoding="utf-8").splitlines()[0]
        assert first == SYNTHETIC_MARKER


def test_same_seed_same_bytes_other_seed_differs(generated, tmp_path):
    raw, quirks = generated
    again = write_qualitative(tmp_path / "a", SERVICES, seed=2014, spokes=SPOKES)
    for key in QUAL_FILES:
        assert (raw / LAYOUT[key]).read_bytes() == (tmp_path / "a" / LAYOUT[key]).read_bytes(), key
    assert again == quirks
    write_qualitative(tmp_path / "b", SERVICES, seed=7, spokes=SPOKES)
    for key in ("transcripts", "refinements"):
        assert (raw / LAYOUT[key]).read_bytes() != (tmp_path / "b" / LAYOUT[key]).read_bytes()


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


# --------------------------------------------------------------------------- speakers
def test_every_code_is_written_for_a_role_that_discusses_it():
    groups_of_theory = {
        theory: {ROLE_GROUPS[role] for role, ts in ROLE_THEORIES.items() if theory in ts}
        for theory in {t for ts in ROLE_THEORIES.values() for t in ts}
    }
    for cid, _, _ in CODE_INFO:
        tagged = {g for groups, _ in TEMPLATES[cid] for g in groups.split()}
        assert tagged & groups_of_theory[cid.split("-")[0]], cid
    for role, theories in ROLE_THEORIES.items():
        for theory in theories:
            assert len(theory_codes(theory, ROLE_GROUPS[role])) >= 2, (role, theory)


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]


def _pattern(template: str) -> re.Pattern[str]:
    """A filled template (first letter lower-cased): slots match any words."""
    return re.compile(re.sub(r"\\\{\w+\\\}", ".+?", re.escape(_lower_first(template))))


TAGGED = [
    (set(groups.split()), _pattern(text))
    for groups, text in (
        *(pair for pool in TEMPLATES.values() for pair in pool),
        *FILLER_TEMPLATES,
        *CLOSER_TEMPLATES,
    )
]


def _sentences(text: str) -> list[str]:
    return re.split(r"(?<=\.) (?=[A-Z])", text.split("Respondent: ", 1)[1])


def _groups_saying(sentence: str) -> set[str]:
    """The role groups of every template the sentence is a filling of."""
    found: set[str] = set()
    for groups, pattern in TAGGED:
        if pattern.fullmatch(_lower_first(sentence)):
            found |= groups
    return found


def test_every_sentence_fits_its_speaker(generated):
    transcripts = read(generated[0], "transcripts")
    for tr in transcripts.itertuples():
        group = ROLE_GROUPS[tr.respondent_role]
        for sentence in _sentences(tr.text):
            said_by = _groups_saying(sentence)
            assert group in said_by, (tr.transcript_id, tr.respondent_role, sentence)


def test_young_people_and_spoke_workers_never_share_a_sentence(generated):
    transcripts = read(generated[0], "transcripts")
    young = transcripts["respondent_role"].isin(["Young person", "Parent or carer"])
    spoke = transcripts["respondent_role"].eq("Spoke worker")
    for text in transcripts.loc[spoke, "text"]:
        assert not any(_groups_saying(s) & {"young", "parent"} for s in _sentences(text))
    for text in transcripts.loc[young, "text"]:
        assert not any(_groups_saying(s) & {"spoke", "hub", "host"} for s in _sentences(text))
    says_my_worker = transcripts["text"].str.contains(r"\b[Mm]y worker\b")
    assert says_my_worker[young].any() and not says_my_worker[~young].any()


# --------------------------------------------------------------------------- facts and counts
def _interview_counts(transcripts: pd.DataFrame, spokes: pd.DataFrame) -> pd.DataFrame:
    counts = (
        transcripts.groupby(["service_id", "year", "respondent_role"])
        .size()
        .unstack(fill_value=0)
        .reset_index()
    )
    return counts.assign(
        running=[
            running_spokes(spokes, s, y)
            for s, y in zip(counts["service_id"], counts["year"], strict=True)
        ]
    )


def _assert_counts_within_people(counts: pd.DataFrame) -> None:
    assert (counts["Hub manager"] <= 1).all()
    assert (counts["Spoke worker"] <= counts["running"]).all()
    assert (counts["Host-agency manager"] <= counts["running"]).all()


def test_interview_counts_per_role_within_the_people_in_it(generated):
    counts = _interview_counts(read(generated[0], "transcripts"), SPOKES)
    _assert_counts_within_people(counts)
    late = counts.loc[counts["service_id"].eq("S04")].set_index("year")["running"]
    assert late[2015] == 4 and late[2016] == 5  # the fixture's late Spoke counts from its start
    young = counts["Young person"] + counts["Parent or carer"]
    assert young.max() > 1


def test_generate_bounds_interviews_by_the_reference_spokes(synthetic_raw):
    spokes = pd.read_csv(synthetic_raw / LAYOUT["spokes"], skiprows=1)
    _assert_counts_within_people(_interview_counts(read(synthetic_raw, "transcripts"), spokes))


SPOKE_PHRASE = re.compile(
    r"\b(?:(?P<both>both) Spokes|all (?P<all>\w+) Spokes|our (?P<our>one) Spoke|(?P<n>one|two|three|four|five) Spokes?)\b"
)
YEAR_PHRASE = re.compile(r"\b(?P<ord>first|second|third|fourth|fifth) year\b")


def _spokes_said(text: str) -> list[int]:
    said = []
    for m in SPOKE_PHRASE.finditer(text):
        word = "two" if m["both"] else m["all"] or m["our"] or m["n"]
        said.append(NUMBERS[word])
    return said


def test_facts_in_excerpts_match_the_service(generated):
    transcripts = read(generated[0], "transcripts")
    first_year = start_years(SERVICES)
    n_spoke_facts = n_year_facts = 0
    for tr in transcripts.itertuples():
        running = running_spokes(SPOKES, tr.service_id, tr.year)
        said = _spokes_said(tr.text)
        years = [ORDINALS[m["ord"]] for m in YEAR_PHRASE.finditer(tr.text)]
        assert set(said) <= {running}, (tr.transcript_id, running, tr.text)
        assert set(years) <= {tr.year - first_year[tr.service_id] + 1}, (tr.transcript_id, tr.text)
        n_spoke_facts += bool(said)
        n_year_facts += bool(years)
    assert n_spoke_facts >= 10 and n_year_facts >= 5


def test_spoke_posts_without_a_spokes_table_use_n_spokes():
    posts = spoke_posts(SERVICES)
    assert (
        posts.groupby("service_id").size().to_dict()
        == SERVICES.set_index("service_id")["n_spokes"].to_dict()
    )
    assert (posts["start_year"] == posts["service_id"].map(start_years(SERVICES))).all()
    assert posts["host_setting"].isna().all()


# --------------------------------------------------------------------------- coding
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
    """Cohen's kappa of two label arrays (any categories)."""
    cats = np.union1d(a, b)
    po = (a == b).mean()
    pe = sum((a == c).mean() * (b == c).mean() for c in cats)
    return float((po - pe) / (1 - pe))


def test_double_coding_share_and_agreement(generated):
    raw, _ = generated
    segments = read(raw, "segments")
    codes = read(raw, "codebook").query("cmo != ''")["code_id"]
    coders = segments.groupby("transcript_id")["coder"].nunique()
    assert 0.15 <= (coders > 1).mean() <= 0.3
    double = segments[segments["transcript_id"].isin(coders[coders > 1].index)]
    a, b = [], []
    for _tid, group in double.groupby("transcript_id"):
        first, second = sorted(group["coder"].unique())
        for code in codes:
            a.append(int(((group["coder"] == first) & (group["code_id"] == code)).any()))
            b.append(int(((group["coder"] == second) & (group["code_id"] == code)).any()))
    assert 0.6 <= _kappa(np.array(a), np.array(b)) <= 0.9


# --------------------------------------------------------------------------- judgements
def test_judgements_file_columns(generated):
    lines = (generated[0] / LAYOUT["judgements"]).read_text(encoding="utf-8").splitlines()
    assert lines[0] == SYNTHETIC_MARKER
    assert lines[1] == "transcript_id,theory_id,coder,check,judgement,rationale"


def test_one_main_judgement_by_the_first_coder_and_agreement_by_another(generated):
    raw, _ = generated
    judgements = read(raw, "judgements")
    segments = read(raw, "segments")
    assert set(judgements["check"]) == {"main", "agreement"}
    assert judgements["coder"].isin(CODERS).all()
    main = judgements[judgements["check"] == "main"]
    agree = judgements[judgements["check"] == "agreement"]
    assert not main.duplicated(["transcript_id", "theory_id"]).any()
    assert not agree.duplicated(["transcript_id", "theory_id", "coder"]).any()
    main_coder = main.set_index(["transcript_id", "theory_id"])["coder"]
    agree_keys = pd.MultiIndex.from_frame(agree[["transcript_id", "theory_id"]])
    assert agree_keys.isin(main_coder.index).all()
    assert (main_coder.reindex(agree_keys).to_numpy() != agree["coder"].to_numpy()).all()
    # the main judge is the transcript's first coder: the one who coded every unit
    units = segments.groupby(["transcript_id", "coder"]).size()
    first = units.groupby(level=0).idxmax().map(lambda pair: pair[1])
    single = segments.groupby("transcript_id")["coder"].nunique().eq(1)
    single_main = main[main["transcript_id"].map(single)]
    assert (single_main["coder"] == single_main["transcript_id"].map(first)).all()
    coded_by = set(zip(segments["transcript_id"], segments["coder"], strict=True))
    assert all(pair in coded_by for pair in zip(main["transcript_id"], main["coder"], strict=True))


def test_agreement_sample_share_and_kappa(generated):
    raw, _ = generated
    judgements = read(raw, "judgements").query("judgement in @JUDGEMENTS")
    share = (
        judgements.groupby("transcript_id")["check"].agg(lambda c: c.eq("agreement").any()).mean()
    )
    assert 0.15 <= share <= 0.35
    pairs = judgements.pivot_table(
        index=["transcript_id", "theory_id"], columns="check", values="judgement", aggfunc="first"
    ).dropna()
    assert len(pairs) >= 50
    assert 0.45 <= _kappa(pairs["main"].to_numpy(), pairs["agreement"].to_numpy()) <= 0.85


def test_quirk_rows_are_physical_lines(generated):
    raw, quirks = generated
    lines = (raw / LAYOUT["judgements"]).read_text(encoding="utf-8").splitlines()
    bad = [q for q in quirks if q["kind"] == "invalid_judgement"]
    assert len(bad) >= 2
    for q in bad:
        assert f",{q['detail']}," in lines[q["row"] - 1]
    judgements = read(raw, "judgements")
    invalid = ~judgements["judgement"].isin(JUDGEMENTS)
    assert invalid.sum() == len(bad)
    rows_per_key = judgements.groupby(["transcript_id", "theory_id"])["check"].transform("size")
    assert (rows_per_key[invalid] == 1).all()  # no agreement row is left without its main row
    assert all(set(q) == {"file", "sheet", "row", "column", "kind", "detail"} for q in quirks)


def test_judgements_follow_context_pattern(generated):
    raw, _ = generated
    judgements = read(raw, "judgements").query("judgement in @JUDGEMENTS and check == 'main'")
    services = SERVICES.set_index("service_id")["model_variant"]
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


# --------------------------------------------------------------------------- refinements
REFINEMENT_HEADER = (
    "refinement_id,theory_id,context_dimension,context_value,statement,author,written_on,evidence"
)


def _theories_toml() -> list[dict]:
    return tomllib.loads(THEORIES_TOML.read_text(encoding="utf-8"))["theories"]


def _main_contexts(raw: Path, services: pd.DataFrame, spokes: pd.DataFrame) -> pd.DataFrame:
    """Main refining / refuting judgements with their theory's context (rebuilt by hand here)."""
    dims = {t["id"]: t["context_dimension"] for t in _theories_toml()}
    hosts = host_labels(spokes).set_index("service_id")["host_setting"]
    variants = services.set_index("service_id")["model_variant"]
    transcripts = read(raw, "transcripts").set_index("transcript_id")
    main = read(raw, "judgements").query("check == 'main' and judgement in ['refines', 'refutes']")
    service = main["transcript_id"].map(transcripts["service_id"])
    dim = main["theory_id"].map(dims)
    value = np.where(dim == "host_setting", service.map(hosts), service.map(variants))
    return main.assign(context_dimension=dim, context_value=value)


def _refinement_checks(raw: Path) -> pd.DataFrame:
    """Per refinement row: its physical line and whether theory and evidence ids are known."""
    ref = read(raw, "refinements")
    known_ids = set(read(raw, "transcripts")["transcript_id"]) | set(
        read(raw, "segments")["segment_id"]
    )
    theories = set(read(raw, "codebook").query("cmo == ''")["theory_id"])
    ids = ref["evidence"].str.split(";")
    return ref.assign(
        line=ref.index + 3,
        ids=ids,
        theory_ok=ref["theory_id"].isin(theories),
        unknown_ids=[[i for i in row if i not in known_ids] for row in ids],
    )


def test_refinements_file_columns(generated):
    raw, _ = generated
    lines = (raw / LAYOUT["refinements"]).read_text(encoding="utf-8").splitlines()
    assert lines[0] == SYNTHETIC_MARKER and lines[1] == REFINEMENT_HEADER
    ref = read(raw, "refinements")
    assert ref["refinement_id"].str.fullmatch(r"R\d{3}").all() and ref["refinement_id"].is_unique
    assert ref["author"].isin(refs.EVALUATORS).all()
    assert (ref["statement"].str.len() > 40).all()


def test_bad_refinement_rows_are_the_recorded_quirks(generated):
    raw, quirks = generated
    checks = _refinement_checks(raw)
    log = pd.DataFrame(quirks).query("file == @LAYOUT['refinements']")
    assert set(log["kind"]) == {"unknown_theory", "unknown_evidence"}
    bad_theory = checks.loc[~checks["theory_ok"]]
    bad_evidence = checks.loc[checks["unknown_ids"].str.len() > 0]
    theory_log = log.query("kind == 'unknown_theory'")
    evidence_log = log.query("kind == 'unknown_evidence'")
    assert list(bad_theory["line"]) == list(theory_log["row"])
    assert list(bad_theory["theory_id"]) == list(theory_log["detail"])
    assert (theory_log["column"] == "theory_id").all()
    assert list(bad_evidence["line"]) == list(evidence_log["row"])
    assert [ids[0] for ids in bad_evidence["unknown_ids"]] == list(evidence_log["detail"])
    assert (evidence_log["column"] == "evidence").all()


def _good_refinements(raw: Path) -> pd.DataFrame:
    checks = _refinement_checks(raw)
    return checks.loc[checks["theory_ok"] & (checks["unknown_ids"].str.len() == 0)]


def test_refinement_dimension_is_the_theorys_own(generated):
    good = _good_refinements(generated[0])
    dims = {t["id"]: t["context_dimension"] for t in _theories_toml()}
    assert dims == refs.THEORY_DIMENSIONS
    assert (good["context_dimension"] == good["theory_id"].map(dims)).all()
    allowed = {"model_variant": set(MODEL_VARIANTS), "host_setting": {*HOST_SETTINGS, "Mixed"}}
    assert all(
        v in allowed[d]
        for d, v in zip(good["context_dimension"], good["context_value"], strict=True)
    )
    assert set(good["context_dimension"]) == {"model_variant", "host_setting"}


def _evidence_transcripts(raw: Path, ids: list[str]) -> set[str]:
    segments = read(raw, "segments").set_index("segment_id")["transcript_id"]
    return {i if i.startswith("T") else segments[i] for i in ids}


def _check_refinement_evidence(raw: Path, services: pd.DataFrame, spokes: pd.DataFrame) -> None:
    good = _good_refinements(raw)
    contexts = _main_contexts(raw, services, spokes)
    keys = ["theory_id", "context_dimension", "context_value"]
    evidence = contexts.groupby(keys)["transcript_id"].agg(set)
    dates = read(raw, "transcripts").set_index("transcript_id")["interview_date"]
    assert not good.duplicated(keys).any()
    for row in good.itertuples():
        cited = _evidence_transcripts(raw, row.ids)
        pool = evidence[(row.theory_id, row.context_dimension, row.context_value)]
        assert cited <= pool, (row.refinement_id, cited - pool)
        assert 2 <= len(cited) <= 6
        assert row.written_on > max(dates[t] for t in cited)
    written = set(map(tuple, good[keys].to_numpy()))
    share = len(written) / len(evidence)
    assert written <= set(evidence.index)
    assert 0.55 <= share <= 0.9 and len(written) < len(evidence)


def test_refinement_evidence_is_refining_transcripts_of_that_context(generated):
    _check_refinement_evidence(generated[0], SERVICES, SPOKES)


def test_generate_refinements_use_the_main_host_setting_of_the_reference(synthetic_raw):
    services = pd.read_csv(synthetic_raw / LAYOUT["services"], skiprows=1)
    spokes = pd.read_csv(synthetic_raw / LAYOUT["spokes"], skiprows=1)
    _check_refinement_evidence(synthetic_raw, services, spokes)


def test_evidence_cites_transcripts_and_segments(generated):
    good = _good_refinements(generated[0])
    kinds = good["ids"].map(lambda ids: {i[:2] if i.startswith("SG") else "T" for i in ids})
    assert kinds.map(lambda k: k == {"T"}).any()
    assert kinds.map(lambda k: "SG" in k).any()


def test_main_host_setting_rule_matches_the_analysis():
    spokes = pd.DataFrame(
        {
            "service_id": ["S01", "S01", "S01", "S02", "S02", "S03"],
            "host_setting": ["Police", "Police", "Health", "Police", "Health", "Health"],
        }
    )
    expected = host_labels(spokes).set_index("service_id")["host_setting"]
    assert refs.main_host_settings(spokes).to_dict() == expected.to_dict()
    assert expected["S02"] == "Mixed"


def test_statements_are_not_the_theories_file_sentences(generated):
    statements = " ".join(read(generated[0], "refinements")["statement"])
    for theory in _theories_toml():
        assert "refined" not in theory and "refuted" not in theory  # no templates to copy
        for field in ("statement", "context"):
            assert theory[field][:40] not in statements
