"""Safe quotes: redact personal and place names, and attribute quotes by role and year only.

:func:`redact_names` replaces names given in lists (exact words) and, because real
transcripts come without a list, also any run of capitalised words that a rule takes for
a name:

* a capitalised word inside a sentence that is not in :data:`ALLOW_WORDS` (role, agency,
  programme and calendar words, titles) is a name (``"my worker Jade"``, ``"Jade Hollins"``);
* after a title (``Mrs``, ``DC`` ...) the following capitalised words are a name (the title stays);
* at the start of a sentence a capitalised word counts only when another name-like word
  follows it (``"Jade Hollins said"``) or a reporting verb follows it and it is not a common
  sentence opener (``"Jade said"``);
* a name run after ``in`` / ``from`` / ``at`` / ``near`` / ``around`` / ``outside`` /
  ``across``, or ending in a place word (``Vale``, ``Heath`` ...), is a place;
* a word found to be a name anywhere in the text is a name everywhere in it, so
  ``"Jade came round. I told Jade."`` loses both, although a lone capitalised word
  opening a sentence (``"Jade came round."`` on its own) is not taken for a name.

Redaction errs towards removing too much: a capitalised ordinary word inside a sentence
(``"the Beacon project"``) is redacted too. Add such words to ``allow`` when needed.

:func:`redact_names` handles names and places only, with the known limits above (a lone
first name opening a sentence, lower-case or accented names). Excerpts go through
:func:`hubspoke.privacy.deidentify.deidentify` instead, which builds on these word
lists and also masks phone numbers, e-mail addresses, postcodes, dates and case
references, and whose :func:`~hubspoke.privacy.deidentify.risk_reasons` lets a quote
that still looks risky be dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from hubspoke.config import EVALUATION_YEARS
from hubspoke.errors import ParameterError
from hubspoke.spec.vocab import RESPONDENT_ROLES, normalise_label

NAME = "[name]"
PLACE = "[place]"

TITLES: frozenset[str] = frozenset(
    {
        "Mr",
        "Mrs",
        "Ms",
        "Miss",
        "Mx",
        "Dr",
        "DC",
        "DS",
        "DI",
        "PC",
        "Sgt",
        "Cllr",
        "Councillor",
        "Sergeant",
        "Inspector",
        "Officer",
    }
)
#: Capitalised words that are not personal or place names.
ALLOW_WORDS: frozenset[str] = frozenset(
    {
        *TITLES,
        "I", "Interviewer", "Respondent", "Hub", "Hubs", "Spoke", "Spokes", "Police", "Social",
        "Care", "Services", "Service", "Health", "Education", "Council", "Board", "Children",
        "Safeguarding", "Local", "Authority", "Assistant", "Director", "Team", "Manager",
        "Worker", "Young", "Person", "People", "Parent", "Carer", "Host", "Agency", "Strategy",
        "Group", "Court", "School", "College", "Academy", "Ofsted", "Home", "Office",
        "Government", "England", "English", "British", "Britain", "Christmas", "Easter",
        "Facebook", "Snapchat", "Instagram", "WhatsApp", "Internet", "Year", "Phase",
        "January", "February", "March", "April", "May", "June", "July", "August", "September",
        "October", "November", "December", "Monday", "Tuesday", "Wednesday", "Thursday",
        "Friday", "Saturday", "Sunday",
    }
)  # fmt: skip
#: Words that open sentences before a reporting verb without being names.
COMMON_OPENERS: frozenset[str] = frozenset(
    {
        "She",
        "He",
        "They",
        "We",
        "You",
        "It",
        "Someone",
        "Everyone",
        "Nobody",
        "Mum",
        "Dad",
        "Staff",
        "That",
        "This",
        "Which",
        "Who",
        "There",
        "Then",
        "Everybody",
        "Somebody",
        "Anyone",
        "People",
        "Workers",
        "Officers",
    }
)
#: Words never taken for a name merely because they were one elsewhere in the text
#: (a stray capital mid-sentence must not redact every sentence opening with the word).
NOT_CARRIED: frozenset[str] = COMMON_OPENERS | frozenset(
    {
        "The", "A", "An", "And", "But", "Or", "So", "If", "When", "Then", "What", "Why", "How",
        "Where", "Yes", "No", "Not", "Because", "Well", "Yeah", "Oh", "Okay", "Ok", "OK", "Just",
        "Also", "Like", "Sometimes", "Now", "After", "Before", "All", "Some", "Any", "My", "Our",
        "Your", "His", "Her", "Their", "Its", "In", "On", "At", "To", "For", "With", "Of", "As",
    }
)  # fmt: skip
PLACE_CUES: frozenset[str] = frozenset({"in", "from", "at", "near", "around", "outside", "across"})
PLACE_WORDS: frozenset[str] = frozenset(
    {
        "Vale",
        "Heath",
        "Cross",
        "Green",
        "Park",
        "Road",
        "Street",
        "Estate",
        "Town",
        "Bridge",
        "Hill",
        "Fields",
    }
)
_REPORTING = re.compile(r"\s+(said|says|told|tells|asked|reckons|thinks)\b")
_TOKEN = r"[A-Z](?:[a-z]+(?:['’][A-Z][a-z]+)?|['’][A-Z][a-z]+)(?:[A-Z][a-z]+)?"
_RUN = re.compile(rf"\b{_TOKEN}(?:[ \t]+{_TOKEN})*\b")
_TOKEN_RE = re.compile(_TOKEN)


def _sentence_start(text: str, index: int) -> bool:
    """True when ``index`` opens a sentence (start of text, or after . ! ? : and opening quotes)."""
    before = text[:index].rstrip(" \t\"'“‘(")
    return not before or before[-1] in ".!?:\n"


def _previous_word(text: str, index: int) -> str:
    match = re.search(r"([A-Za-z]+)\W*$", text[:index])
    return match.group(1) if match else ""


def _name_spans(text: str, allow: frozenset[str]) -> list[tuple[int, int, str]]:
    """(start, end, placeholder) for each run of name-like capitalised words."""
    spans = []
    for run in _RUN.finditer(text):
        tokens = [
            (m.start() + run.start(), m.end() + run.start(), m.group())
            for m in _TOKEN_RE.finditer(run.group())
        ]
        flags = [tok not in allow for _, _, tok in tokens]
        if _sentence_start(text, run.start()) and flags[0]:
            after = text[tokens[0][1] :]
            follows_name = len(flags) > 1 and flags[1]
            reported = _REPORTING.match(after) is not None and tokens[0][2] not in COMMON_OPENERS
            flags[0] = follows_name or reported
        i = 0
        while i < len(tokens):
            if not flags[i]:
                i += 1
                continue
            j = i
            while j + 1 < len(tokens) and flags[j + 1]:
                j += 1
            start, end = tokens[i][0], tokens[j][1]
            prev = _previous_word(text, start)
            is_place = prev in PLACE_CUES or tokens[j][2] in PLACE_WORDS
            spans.append((start, end, NAME if prev in TITLES or not is_place else PLACE))
            i = j + 1
    return spans


def _replace_listed(text: str, words: Iterable[str], placeholder: str) -> str:
    for word in sorted({w.strip() for w in words if w and w.strip()}, key=len, reverse=True):
        text = re.sub(rf"(?<![\w\[]){re.escape(word)}(?![\w\]])", placeholder, text)
    return text


def redact_names(
    text: str, *, names: Iterable[str] = (), places: Iterable[str] = (), allow: Iterable[str] = ()
) -> str:
    """Replace listed ``places`` / ``names`` and rule-detected names with ``[place]`` / ``[name]``."""
    text = _replace_listed(text, places, PLACE)
    text = _replace_listed(text, names, NAME)
    allowed = ALLOW_WORDS | frozenset(allow)
    spans = _name_spans(text, allowed)
    spans = sorted({*spans, *_same_words(text, spans)})
    for start, end, placeholder in reversed(spans):
        text = text[:start] + placeholder + text[end:]
    return text


def _same_words(text: str, spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Spans for every other occurrence of a word inside ``spans`` (same spelling, same case).

    A name a rule found in one place (mid-sentence, after a title) is redacted
    where the rules alone would miss it, such as at the start of a sentence.
    """
    found: dict[str, str] = {}
    for start, end, placeholder in spans:
        for word in _TOKEN_RE.findall(text[start:end]):
            if word not in NOT_CARRIED:
                found.setdefault(word, placeholder)
    if not found:
        return []
    covered = [(start, end) for start, end, _ in spans]
    pattern = re.compile(r"(?<![\w\[])(" + "|".join(map(re.escape, found)) + r")(?![\w\]])")
    return [
        (m.start(), m.end(), found[m.group()])
        for m in pattern.finditer(text)
        if not any(a <= m.start() < b for a, b in covered)
    ]


def attribute_quote(role: str, year: int) -> str:
    """Attribution for a quote: respondent role and year only, e.g. ``"Spoke worker, 2015"``."""
    roles = {normalise_label(r): r for r in RESPONDENT_ROLES}
    canonical = roles.get(normalise_label(role))
    if canonical is None:
        raise ParameterError(
            "unknown respondent role",
            column="respondent_role",
            allowed=RESPONDENT_ROLES,
            found=role,
        )
    try:
        year_int = int(year)
    except (TypeError, ValueError):
        year_int = None
    if year_int not in EVALUATION_YEARS or str(year).strip() != str(year_int):
        raise ParameterError(
            "year outside the evaluation", column="year", allowed=EVALUATION_YEARS, found=year
        )
    return f"{canonical}, {year_int}"
