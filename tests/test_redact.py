"""Tests for safe quotes (hubspoke.privacy.redact)."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from hubspoke.errors import ParameterError
from hubspoke.privacy.redact import attribute_quote, redact_names
from hubspoke.spec.raw import LAYOUT
from hubspoke.spec.vocab import MODEL_VARIANTS
from hubspoke.synth.qual import FIRST_NAMES, PLACES, SURNAMES, write_qualitative


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict]]:
    raw = tmp_path_factory.mktemp("raw")
    starts = ["2014-01-01"] * 3 + ["2015-01-01"] * 5 + ["2016-01-01"] * 8
    services = pd.DataFrame(
        {"service_id": [f"S{i:02d}" for i in range(1, 17)], "start_date": starts,
         "model_variant": [MODEL_VARIANTS[i % 5] for i in range(16)]}
    )  # fmt: skip
    return raw, write_qualitative(raw, services, seed=2014)


def _contains(text: str, word: str) -> bool:
    return re.search(rf"\b{re.escape(word)}\b", text) is not None


def test_injected_names_redacted_by_rule_alone(generated):
    raw, quirks = generated
    segments = pd.read_csv(raw / LAYOUT["segments"], skiprows=1, keep_default_na=False)
    logged = [
        q for q in quirks if q["kind"] == "name_in_excerpt" and q["file"] == LAYOUT["segments"]
    ]
    assert len(logged) >= 20
    for q in logged:
        excerpt = segments.loc[q["row"] - 3, "excerpt"]
        redacted = redact_names(excerpt)
        assert not _contains(redacted, q["detail"]), (excerpt, redacted)
        assert "[name]" in redacted or "[place]" in redacted


def test_whole_transcripts_keep_no_listed_name(generated):
    raw, _ = generated
    texts = pd.read_csv(raw / LAYOUT["transcripts"], skiprows=1, keep_default_na=False)["text"]
    words = (*FIRST_NAMES, *SURNAMES, *PLACES)
    for text in texts:
        redacted = redact_names(text)
        assert not any(_contains(redacted, w) for w in words)
        assert redacted.count("Spoke") == text.count("Spoke")  # role words survive


def test_places_labelled_as_places():
    assert (
        redact_names("She moved in with them in Farrowdale.")
        == "She moved in with them in [place]."
    )
    assert (
        redact_names("The youth club in Ashcombe Vale was busy.")
        == "The youth club in [place] was busy."
    )
    assert redact_names("We drove to Upper Hill Green.") == "We drove to [place]."


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my worker Jade never gave up on me.", "my worker [name] never gave up on me."),
        ("An officer called Tyler Marsden said so.", "An officer called [name] said so."),
        (
            "The consultation slots are used by DC Okafor every week.",
            "The consultation slots are used by DC [name] every week.",
        ),
        ("Mrs O'Brien said it helped.", "Mrs [name] said it helped."),
        ("Jade Hollins said it was fine.", "[name] said it was fine."),
        ("Kieran told me to ring.", "[name] told me to ring."),
        ("She said Kayleigh's mum came.", "She said [name]'s mum came."),
        ("There is always more demand.", "There is always more demand."),
        (
            "The Spoke took it to MASE and the Hub on Monday.",
            "The Spoke took it to MASE and the Hub on Monday.",
        ),
        (
            "Interviewer: what changed? Respondent: I think it is better.",
            "Interviewer: what changed? Respondent: I think it is better.",
        ),
    ],
)
def test_rule_based_detection(text, expected):
    assert redact_names(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a name found mid-sentence is redacted where it opens a sentence too
        ("Jade came round. I told Jade to ring.", "[name] came round. I told [name] to ring."),
        (
            "Hollins was late. DC Hollins rang. Hollins again.",
            "[name] was late. DC [name] rang. [name] again.",
        ),
        (
            "Farrowdale is rough. She lives in Farrowdale.",
            "[place] is rough. She lives in [place].",
        ),
        # only the same word: not a longer word, not in lower case; a possessive is the word
        (
            "I told Jade. Jadeite is green. jade is a colour. Jade's mum came.",
            "I told [name]. Jadeite is green. jade is a colour. [name]'s mum came.",
        ),
        # a common opener capitalised mid-sentence does not redact every sentence it opens
        ("We said The Hollies. The staff agreed.", "We said [name]. The staff agreed."),
        # the known limit: a lone first name opening a sentence, named nowhere else
        ("Jade came round.", "Jade came round."),
    ],
)
def test_names_found_once_are_redacted_everywhere(text, expected):
    assert redact_names(text) == expected


def test_explicit_lists_and_allow():
    text = "The project helped, and jade was her nickname."
    assert redact_names(text, names=["jade"]) == "The project helped, and [name] was her nickname."
    # errs towards removing too much: two capitalised words open the sentence
    assert redact_names("Beacon House helped.") == "[name] helped."
    assert (
        redact_names("We met at the Beacon project.", allow=["Beacon"])
        == "We met at the Beacon project."
    )
    assert redact_names("Ashby Cross is far.", places=["Ashby Cross"]) == "[place] is far."


def test_attribute_quote_role_and_year_only():
    assert attribute_quote("Spoke worker", 2015) == "Spoke worker, 2015"
    assert attribute_quote("  spoke   WORKER ", "2016") == "Spoke worker, 2016"
    with pytest.raises(ParameterError, match="unknown respondent role.*allowed: Spoke worker"):
        attribute_quote("S03 manager", 2015)
    with pytest.raises(ParameterError, match="year outside the evaluation.*found 2019"):
        attribute_quote("Police", 2019)
