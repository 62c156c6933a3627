"""Headings for names from code: one rule for funder tables, charts and the open data's meta files.

A column or filter name such as ``young_people_reached`` reads as "Young people reached";
names the generic rule would read badly have their own heading here.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Mapping
from typing import Final

#: Headings for names the generic rule (:func:`readable_label`) would read badly.
KNOWN_LABELS: Final[Mapping[str, str]] = {
    "n": "Number",
    "n_both": "Number with both ratings",
    "ci_low": "95% CI low",
    "ci_high": "95% CI high",
    "p_value": "p-value",
    "pct": "%",
    "service_id": "Service",
    "theory_id": "Programme theory",
    "la_code": "Local authority",
    "la_name": "Local authority",
    "model_variant": "Model variant",
    "host_setting": "Main host setting",
    "phase": "Phase",
    "survey_question": "Survey question",
    "time_period": "Year",
    "area_name": "Area",
    "areas_of": "Areas of",
    "rate_year": "Year ending 31 March",
    "cse_assessment_rate_per_10k": "Assessments with CSE as a factor per 10,000 children",
    "local_context_note": "Note",
}
#: Words for common parts of names.
WORDS: Final[Mapping[str, str]] = {"pct": "percentage", "ci": "CI", "id": "ID", "n": "number"}
#: A name as code writes it (``young_people_reached``, ``age``): turned into words for readers.
IDENTIFIER: Final = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$")


def readable_label(name: Hashable, labels: Mapping[str, str] | None = None) -> str:
    """A heading for a name from code: ``young_people_reached`` -> ``Young people reached``.

    ``labels`` (a table's own headings) first, then :data:`KNOWN_LABELS`; a heading
    already written for readers (spaces, capitals, symbols) is kept as it is; the parts
    of a tuple (a column of several levels) are joined, each once.
    """
    if isinstance(name, tuple):
        return ", ".join(dict.fromkeys(readable_label(p, labels) for p in name if str(p).strip()))
    text = str(name)
    for mapping in (labels or {}, KNOWN_LABELS):
        if text in mapping:
            return str(mapping[text])
    if not IDENTIFIER.match(text):
        return text
    words = " ".join(WORDS.get(word, word) for word in text.split("_"))
    return words[:1].upper() + words[1:]
