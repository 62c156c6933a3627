"""CMO configurations from the codes, and verdicts to inspect, on a small hand-coded set.

All frames here are synthetic, built by hand. The set: two services, four interviews, two
coders (AA, BB); T0001 is coded by both. Contexts: S01 is "Multi-host" with both Spokes
in the police (main host Police); S02 is "Hub outreach" with one Spoke in health.
PT1 is a host-setting theory, PT2 a model-variant theory (theories.toml).

    T0001 S01 2014 Spoke worker  AA: PT1-C1 PT1-M1 PT1-O1 PT2-M1 PT2-O1   BB: PT1-M1 PT1-M2
    T0002 S01 2015 Hub manager   AA: PT1-M1 PT1-O2
    T0003 S02 2016 Young person  BB: PT1-M1 PT2-M1 PT2-O1
    T0004 S01 2016 Police        AA: PT1-O1 PT2-M2

Hand counts (an interview counts once: the union of its coders' codes):
PT1 / Police (T0001, T0002, T0004): PT1-M1 in T0001, T0002 (Spoke worker 1, Hub manager 1);
PT1-M2 in T0001. Pairs: M1 -> O1 in T0001; M1 -> O2 in T0002; M2 -> O1 in T0001; O1 with no
mechanism in T0004. Context code PT1-C1 in T0001.
PT1 / Health (T0003): M1 with no outcome.
PT2 / Multi-host (T0001, T0004): M1 -> O1 in T0001; M2 with no outcome in T0004.
PT2 / Hub outreach (T0003): M1 -> O1.
"""

from __future__ import annotations

import pandas as pd
import pytest

from hubspoke.analysis import realist as r
from hubspoke.analysis.realist import cmo
from hubspoke.errors import ParameterError, SchemaError

S, R, F = "supports", "refutes", "refines"

CODED = [
    ("T0001", "S01", 2014, "Spoke worker", "AA", "PT1-C1"),
    ("T0001", "S01", 2014, "Spoke worker", "AA", "PT1-M1"),
    ("T0001", "S01", 2014, "Spoke worker", "AA", "PT1-O1"),
    ("T0001", "S01", 2014, "Spoke worker", "BB", "PT1-M1"),
    ("T0001", "S01", 2014, "Spoke worker", "BB", "PT1-M2"),
    ("T0001", "S01", 2014, "Spoke worker", "AA", "PT2-M1"),
    ("T0001", "S01", 2014, "Spoke worker", "AA", "PT2-O1"),
    ("T0002", "S01", 2015, "Hub manager", "AA", "PT1-M1"),
    ("T0002", "S01", 2015, "Hub manager", "AA", "PT1-O2"),
    ("T0003", "S02", 2016, "Young person", "BB", "PT1-M1"),
    ("T0003", "S02", 2016, "Young person", "BB", "PT2-M1"),
    ("T0003", "S02", 2016, "Young person", "BB", "PT2-O1"),
    ("T0004", "S01", 2016, "Police", "AA", "PT1-O1"),
    ("T0004", "S01", 2016, "Police", "AA", "PT2-M2"),
]
#: Synthetic excerpt per code (no names or places).
TEXT = {
    "PT1-C1": "The worker sits with the team three days a week.",
    "PT1-M1": "Staff started to trust her once they saw her every day.",
    "PT1-M2": "People asked her advice over coffee before writing anything down.",
    "PT1-O1": "Referrals now come much earlier than before.",
    "PT1-O2": "We hear about concerns within the week.",
    "PT2-M1": "She kept turning up even when nobody answered the door.",
    "PT2-O1": "Going missing has stopped for most of the group.",
    "PT2-M2": "Long drives meant fewer visits in the winter.",
}


def codings(years: dict[str, int] | None = None) -> pd.DataFrame:
    """The hand-coded set as processed codings (cmo as C/M/O letters)."""
    frame = pd.DataFrame(
        CODED,
        columns=["transcript_id", "service_id", "year", "respondent_role", "coder", "code_id"],
    )
    frame = frame.assign(
        cmo=frame["code_id"].str.split("-").str[1].str[0],
        theory_id=frame["code_id"].str.split("-").str[0],
        start=[20 * (i % 7) for i in range(len(frame))],
        end=[20 * (i % 7) + 18 for i in range(len(frame))],
        excerpt=frame["code_id"].map(TEXT),
        segment_id=[f"SG{i + 1:05d}" for i in range(len(frame))],
    )
    if years:
        frame = frame.assign(year=frame["transcript_id"].map(years))
    return frame


def judgements() -> pd.DataFrame:
    """Main judgements, plus agreement rows that must never be counted."""
    rows = [
        ("T0001", "PT1", "AA", "main", S),
        ("T0001", "PT1", "BB", "agreement", F),
        ("T0002", "PT1", "AA", "main", F),
        ("T0004", "PT1", "AA", "main", R),
        ("T0003", "PT1", "BB", "main", S),
        ("T0003", "PT1", "AA", "agreement", R),
        ("T0001", "PT2", "AA", "main", S),
        ("T0003", "PT2", "BB", "main", R),
        ("T0004", "PT2", "AA", "main", F),
    ]
    frame = pd.DataFrame(
        rows, columns=["transcript_id", "theory_id", "coder", "check", "judgement"]
    )
    meta = codings().drop_duplicates("transcript_id").set_index("transcript_id")
    return frame.join(meta[["service_id", "year", "respondent_role"]], on="transcript_id")


def contexts() -> pd.DataFrame:
    services = pd.DataFrame(
        {"service_id": ["S01", "S02"], "model_variant": ["Multi-host", "Hub outreach"]}
    )
    spokes = pd.DataFrame(
        {
            "spoke_id": ["S01-K1", "S01-K2", "S02-K1"],
            "service_id": ["S01", "S01", "S02"],
            "host_setting": ["Police", "Police", "Health"],
        }
    )
    return r.service_context_table(services, spokes)


def row(frame: pd.DataFrame, theory: str, context: str, mechanism, outcome) -> pd.Series:
    """The one configuration row (a missing code given as None)."""
    pick = (frame["theory_id"] == theory) & (frame["context"] == context)
    pick &= (
        frame["mechanism_code"].isna()
        if mechanism is None
        else frame["mechanism_code"].eq(mechanism)
    )
    pick &= frame["outcome_code"].isna() if outcome is None else frame["outcome_code"].eq(outcome)
    assert pick.sum() == 1, frame[pick]
    return frame[pick.fillna(False)].iloc[0]


# --------------------------------------------------------------------------- configurations
def test_configurations_match_hand_counts():
    out = r.cmo_configurations(codings(), judgements(), contexts())
    assert len(out) == 8
    police = {
        ("PT1-M1", "PT1-O1"): (1, "Spoke worker 1"),
        ("PT1-M1", "PT1-O2"): (1, "Hub manager 1"),
        ("PT1-M2", "PT1-O1"): (1, "Spoke worker 1"),
        (None, "PT1-O1"): (1, "Police 1"),
    }
    for (m, o), (n, roles) in police.items():
        got = row(out, "PT1", "Police", m, o)
        assert (got["n_transcripts"], got["roles"]) == (n, roles)
        assert got["n_transcripts_context"] == 3
        assert got["context_codes"] == "PT1-C1 (1)"
    m1 = row(out, "PT1", "Police", "PT1-M1", "PT1-O1")
    # T0001 coded M1 by both coders: counted once, so 2 interviews, not 3
    assert m1["mechanism_transcripts"] == 2
    assert m1["mechanism_roles"] == "Spoke worker 1, Hub manager 1"
    assert row(out, "PT1", "Police", "PT1-M2", "PT1-O1")["mechanism_transcripts"] == 1
    assert pd.isna(row(out, "PT1", "Police", None, "PT1-O1")["mechanism_transcripts"])
    health = row(out, "PT1", "Health", "PT1-M1", None)
    assert (health["n_transcripts"], health["roles"], health["n_transcripts_context"]) == (
        1,
        "Young person 1",
        1,
    )
    assert row(out, "PT2", "Multi-host", "PT2-M1", "PT2-O1")["n_transcripts"] == 1
    assert row(out, "PT2", "Multi-host", "PT2-M2", None)["roles"] == "Police 1"
    assert row(out, "PT2", "Hub outreach", "PT2-M1", "PT2-O1")["roles"] == "Young person 1"


def test_configurations_carry_main_judgements_only():
    out = r.cmo_configurations(codings(), judgements(), contexts())
    # T0001 main PT1 = supports (its agreement row says refines: not counted)
    m1o1 = row(out, "PT1", "Police", "PT1-M1", "PT1-O1")
    assert tuple(m1o1[[S, R, F]]) == (1, 0, 0)
    assert tuple(row(out, "PT1", "Police", "PT1-M1", "PT1-O2")[[S, R, F]]) == (0, 0, 1)
    assert tuple(row(out, "PT1", "Police", None, "PT1-O1")[[S, R, F]]) == (0, 1, 0)
    # T0003 main PT1 = supports (agreement row refutes: not counted)
    assert tuple(row(out, "PT1", "Health", "PT1-M1", None)[[S, R, F]]) == (1, 0, 0)


def test_configurations_group_by_each_theorys_own_dimension():
    out = r.cmo_configurations(codings(), judgements(), contexts())
    pt1 = out[out["theory_id"] == "PT1"]
    pt2 = out[out["theory_id"] == "PT2"]
    assert set(pt1["context_dimension"]) == {"host_setting"}
    assert set(pt1["context"]) == {"Police", "Health"}  # not Multi-host / Hub outreach
    assert set(pt2["context_dimension"]) == {"model_variant"}
    assert set(pt2["context"]) == {"Multi-host", "Hub outreach"}
    assert list(out["theory_id"]) == sorted(out["theory_id"])


def test_configurations_take_words_or_letters_and_labels():
    words = codings().assign(
        cmo=lambda d: d["cmo"].map({"C": "context", "M": "mechanism", "O": "outcome"})
    )
    book = pd.DataFrame({"code_id": list(TEXT), "label": [f"label of {c}" for c in TEXT]}).assign(
        cmo=None, theory_id=None
    )
    a = r.cmo_configurations(codings(), judgements(), contexts())
    b = r.cmo_configurations(words, judgements(), contexts(), codebook=book)
    pd.testing.assert_frame_equal(a.drop(columns=["mechanism_label", "outcome_label",
                                                   "context_codes"]),
                                  b.drop(columns=["mechanism_label", "outcome_label",
                                                  "context_codes"]))  # fmt: skip
    assert row(b, "PT1", "Police", "PT1-M1", "PT1-O2")["outcome_label"] == "label of PT1-O2"
    assert row(b, "PT1", "Police", "PT1-M1", "PT1-O2")["context_codes"] == (
        "PT1-C1 label of PT1-C1 (1)"
    )


def test_by_year_stages_count_from_the_first_year_in_the_data():
    out = r.cmo_configurations(codings(), judgements(), contexts(), by_year=True)
    stages = {
        (t, c, m, o): (y, e, s)
        for t, c, m, o, y, e, s in out[
            [
                "theory_id",
                "context",
                "mechanism_code",
                "outcome_code",
                "year",
                "evaluation_year",
                "stage",
            ]
        ].itertuples(index=False)  # fmt: skip
    }
    assert stages[("PT1", "Police", "PT1-M1", "PT1-O1")] == (2014, 1, "theory building")
    assert stages[("PT1", "Police", "PT1-M1", "PT1-O2")] == (2015, 2, "theory building")
    assert stages[("PT1", "Health", "PT1-M1", pd.NA)][1:] == (3, "theory testing")
    # the same interviews one year later: stages follow the data, not the calendar
    later = {"T0001": 2015, "T0002": 2016, "T0003": 2017, "T0004": 2017}
    moved = r.cmo_configurations(codings(later), None, contexts(), by_year=True)
    first = moved[moved["year"] == 2015]
    assert set(first["evaluation_year"]) == {1} and set(first["stage"]) == {"theory building"}
    assert set(moved.loc[moved["year"] == 2017, "stage"]) == {"theory testing"}
    # an explicit first year overrides the data
    fixed = r.cmo_configurations(codings(later), None, contexts(), by_year=True, first_year=2014)
    assert set(fixed.loc[fixed["year"] == 2016, "stage"]) == {"theory testing"}


def test_configuration_inputs_checked():
    with pytest.raises(SchemaError, match="host_setting"):
        r.cmo_configurations(codings(), judgements(), contexts().drop(columns="host_setting"))
    with pytest.raises(ParameterError, match="S02"):
        r.cmo_configurations(codings(), judgements(), contexts().iloc[:1])
    with pytest.raises(SchemaError, match="PT99"):
        r.cmo_configurations(codings().assign(theory_id="PT99"), judgements(), contexts())
    only_pt2 = [t for t in r.load_theories() if t.id == "PT2"]
    assert set(
        r.cmo_configurations(codings(), None, contexts(), theories=only_pt2)["theory_id"]
    ) == {"PT2"}


# --------------------------------------------------------------------------- quotes
def test_quotes_show_mechanism_and_outcome_from_the_interview():
    quotes = r.cmo_quotes(codings(), contexts())
    assert len(quotes) == 5  # one per configuration with both a mechanism and an outcome
    q = quotes[(quotes["mechanism_code"] == "PT1-M1") & (quotes["outcome_code"] == "PT1-O2")]
    q = q.iloc[0]
    assert (q["transcript_id"], q["respondent_role"], q["year"], q["rank"]) == (
        "T0002",
        "Hub manager",
        2015,
        1,
    )
    assert TEXT["PT1-M1"] in q["excerpt"] and TEXT["PT1-O2"] in q["excerpt"]
    assert q["excerpt"].index(TEXT["PT1-M1"]) < q["excerpt"].index(TEXT["PT1-O2"])
    assert q["segment_ids"] == "SG00008; SG00009"
    assert q["positions"] == "0-18; 20-38"


def test_quotes_prefer_a_new_role_then_more_codes():
    extra = pd.DataFrame(
        [
            ("T0005", "S01", 2016, "Spoke worker", "AA", "PT1-M1"),
            ("T0005", "S01", 2016, "Spoke worker", "AA", "PT1-O1"),
            ("T0006", "S01", 2016, "Police", "AA", "PT1-M1"),
            ("T0006", "S01", 2016, "Police", "AA", "PT1-O1"),
        ],
        columns=["transcript_id", "service_id", "year", "respondent_role", "coder", "code_id"],
    ).assign(
        cmo=lambda d: d["code_id"].str[4],
        theory_id="PT1",
        start=[0, 20, 0, 20],
        end=[18, 38, 18, 38],
        excerpt=lambda d: (
            d["code_id"].map(TEXT)
            + " It "
            + d["transcript_id"].map(
                {"T0005": "took months.", "T0006": "changed slowly.", "T0007": "took months."}
            )
        ),
    )
    # T0007 says word for word what T0005 said: quoted once at most
    same_words = extra.iloc[:2].assign(transcript_id="T0007", respondent_role="Health")
    frame = pd.concat([codings().drop(columns="segment_id"), extra, same_words], ignore_index=True)
    quotes = r.cmo_quotes(frame, contexts(), max_quotes=2)
    m1o1 = quotes[(quotes["context"] == "Police") & (quotes["mechanism_code"] == "PT1-M1")
                  & (quotes["outcome_code"] == "PT1-O1")]  # fmt: skip
    # T0001 has most codes (4) so comes first; next a Police interview, not T0005 (also a Spoke worker)
    assert list(m1o1["transcript_id"]) == ["T0001", "T0006"]
    assert list(m1o1["rank"]) == [1, 2]
    assert m1o1["segment_ids"].isna().all()  # no segment ids in these codings
    every = r.cmo_quotes(frame, contexts(), max_quotes=10)
    every = every[(every["context"] == "Police") & (every["mechanism_code"] == "PT1-M1")
                  & (every["outcome_code"] == "PT1-O1")]  # fmt: skip
    assert sorted(every["transcript_id"]) == ["T0001", "T0005", "T0006"]  # not T0007 too
    assert every["excerpt"].is_unique


def test_quotes_are_checked_again_before_use():
    risky = codings().assign(
        excerpt=lambda d: d["excerpt"].where(
            d["transcript_id"] != "T0002", "Call 07700 900123 about T0002 today."
        )
    )
    quotes = r.cmo_quotes(risky, contexts())
    from_t2 = quotes.loc[quotes["transcript_id"] == "T0002", "excerpt"]
    assert len(from_t2) == 1
    assert "07700" not in from_t2.iloc[0] and "T0002" not in from_t2.iloc[0]
    assert "[id]" in from_t2.iloc[0]


def test_a_dropped_excerpt_drops_its_interview(monkeypatch):
    real = cmo.safe_quote

    def drop_outcome_two(text, **kwargs):
        return "" if text == TEXT["PT1-O2"] else real(text, **kwargs)

    monkeypatch.setattr(cmo, "safe_quote", drop_outcome_two)
    quotes = r.cmo_quotes(codings(), contexts())
    assert "PT1-O2" not in set(quotes["outcome_code"])
    assert len(quotes) == 4


# --------------------------------------------------------------------------- for whom
def cases() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "service_id": ["S01", "S01", "S01", "S01", "S02"],
            "year": [2014, 2014, 2014, 2014, 2016],
            "young_person_id": ["a" * 16, "b" * 16, "a" * 16, "c" * 16, "d" * 16],
            "referral_date": pd.to_datetime(
                ["2014-02-01", "2014-03-01", "2014-09-01", "2014-04-01", "2016-05-01"]
            ),
            "age_band": pd.Categorical(
                ["14-15", "16-17", "14-15", "14-15", None],
                categories=["Under 10", "10-13", "14-15", "16-17", "18+"],
            ),
            "gender": ["Female", "Male", "Female", None, "Female"],
            "looked_after": ["Yes", "No", "No", "No", "Yes"],
        }
    )


def test_profile_counts_each_young_person_once_per_service_year():
    profile = r.young_people_profile(cases()).set_index(["service_id", "year"])
    s01 = profile.loc[("S01", 2014)]
    assert s01["n_young_people"] == 3  # a, b, c (a had two episodes)
    assert s01["age_band=14-15"] == pytest.approx(2 / 3)
    assert s01["age_band=Under 10"] == 0
    assert s01["gender_known"] == 2 and s01["gender=Female"] == pytest.approx(0.5)
    # a's first episode (Yes) stands for a; b No; c No
    assert s01["looked_after=Yes"] == pytest.approx(1 / 3)
    assert profile.loc[("S02", 2016), "age_band_known"] == 0
    no_gender = r.young_people_profile(cases().drop(columns="gender"))
    assert not [c for c in no_gender.columns if c.startswith("gender")]


def test_for_whom_is_a_service_year_link_beside_each_configuration():
    out = r.cmo_for_whom(codings(), judgements(), contexts(), cases())
    assert (
        out["link"] == r.FOR_WHOM_LINK
    ).all() and "not of the people interviewed" in r.FOR_WHOM_LINK
    s01 = out[(out["service_id"] == "S01") & (out["year"] == 2014) & (out["theory_id"] == "PT1")]
    assert set(zip(s01["mechanism_code"], s01["outcome_code"], strict=True)) == {
        ("PT1-M1", "PT1-O1"),
        ("PT1-M2", "PT1-O1"),
    }
    assert (s01["n_young_people"] == 3).all()
    assert s01["gender=Female"].tolist() == pytest.approx([0.5, 0.5])
    # a service-year with no cases: profile empty, counted as 0 young people
    s01_2015 = out[(out["service_id"] == "S01") & (out["year"] == 2015)]
    assert (s01_2015["n_young_people"] == 0).all() and s01_2015["gender=Female"].isna().all()


# --------------------------------------------------------------------------- inspectable verdicts
def test_judgements_by_role_and_year_in_own_context():
    out = r.judgements_by_role_year(judgements(), contexts())
    pt1 = out[out["theory_id"] == "PT1"].set_index(["context", "respondent_role", "year"])
    assert tuple(pt1.loc[("Police", "Spoke worker", 2014), [S, R, F]]) == (1, 0, 0)
    assert tuple(pt1.loc[("Police", "Hub manager", 2015), [S, R, F]]) == (0, 0, 1)
    assert tuple(pt1.loc[("Health", "Young person", 2016), [S, R, F]]) == (1, 0, 0)
    assert int(out["n_judgements"].sum()) == 7  # main rows only
    assert (out["weight"] == 1).all()


def test_theory_verdicts_rule_and_stated_weighting():
    plain = r.theory_verdicts(judgements(), contexts()).set_index(["theory_id", "context"])
    assert tuple(plain.loc[("PT1", "Police"), [S, R, F, "n_judgements"]]) == (1, 1, 1, 3)
    assert plain.loc[("PT1", "Police"), "verdict"] == "contested"
    assert plain.loc[("PT2", "Hub outreach"), "verdict"] == "too little evidence"
    assert "weighting" not in plain.columns
    weighted = r.theory_verdicts(
        judgements(), contexts(), role_weights={"Spoke worker": 3}
    ).set_index(["theory_id", "context"])
    police = weighted.loc[("PT1", "Police")]
    # Spoke worker supports x3, Hub manager refines x1, Police refutes x1: 3 of 5 = 0.6 < 2/3
    assert tuple(police[["weighted_supports", "weighted_refutes", "weighted_refines"]]) == (3, 1, 1)
    assert police["weighted_verdict"] == "contested" and police["verdict"] == "contested"
    heavier = r.theory_verdicts(judgements(), contexts(), role_weights={"Spoke worker": 4})
    assert heavier.set_index(["theory_id", "context"]).loc[
        ("PT1", "Police"), "weighted_verdict"
    ] == ("supported")  # 4 of 6 = 2/3
    assert (weighted["weighting"] == "Spoke worker x3; other roles x1").all()
    # one weighted interview is still too little evidence
    assert weighted.loc[("PT1", "Health"), "weighted_verdict"] == "too little evidence"
    with pytest.raises(ParameterError, match="Astronaut"):
        r.theory_verdicts(judgements(), contexts(), role_weights={"Astronaut": 2})
    with pytest.raises(ParameterError, match="positive"):
        r.theory_verdicts(judgements(), contexts(), role_weights={"Young person": 0})


def test_matrix_defaults_to_each_theorys_own_dimension():
    services = pd.DataFrame(
        {"service_id": ["S01", "S02"], "model_variant": ["Multi-host", "Hub outreach"]}
    )
    spokes = pd.DataFrame(
        {"spoke_id": ["K1", "K2", "K3"], "service_id": ["S01", "S01", "S02"],
         "host_setting": ["Police", "Police", "Health"]}
    )  # fmt: skip
    own = r.theory_context_matrix(judgements(), services, spokes)
    assert set(own.loc[own["theory_id"] == "PT1", "context"]) == {"Police", "Health"}
    assert set(own.loc[own["theory_id"] == "PT2", "context"]) == {"Multi-host", "Hub outreach"}
    wide = r.theory_context_matrix(judgements(), services, spokes, form="wide")
    assert wide.loc["PT1", "Police"] == "contested (n=3)" and wide.loc["PT1", "Multi-host"] == ""
    with pytest.raises(ParameterError, match="spokes"):
        r.theory_context_matrix(judgements(), services)
    # an explicit dimension still compares every theory in it
    by_variant = r.theory_context_matrix(judgements(), services, by="model_variant")
    assert set(by_variant.loc[by_variant["theory_id"] == "PT1", "model_variant"]) == {
        "Multi-host",
        "Hub outreach",
    }
