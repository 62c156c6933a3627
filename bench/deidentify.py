"""How well the excerpt de-identifier works (issue 14): recall and precision by kind.

Builds a labelled set of synthetic excerpts (seeded, the same set for a seed): interview-like
sentences with identifiers injected at known positions -- names in the hard forms
(opening a sentence, lower case, accented, possessive, surnames after a title, full
names), phone numbers in several UK formats, e-mail addresses, full and partial
postcodes, dates of birth in many formats, case references -- and clean excerpts full
of things that are not identifiers (role words, places the project allows, ordinary
capitalised words, counts, years, money, times). Then runs
:func:`hubspoke.privacy.deidentify.find_identifiers` with the names and places the
project's own data would supply (the synthetic generator's names, plus accented names
written the other way round), and prints, by kind:

* recall: an injected identifier counts as caught when none of its characters survive
  (each lies inside a masked span, whatever its placeholder);
* precision: the share of masked spans that overlap an injected identifier (by the
  masked span's kind).

Names and places that no list holds (unlisted) are found only by the capitalised-word
rules (and, opening a sentence, by word frequency); they are counted inside ``name`` /
``place`` and broken down in a line under the table. Target: recall >= 99% on every kind.

    .venv/bin/python bench/deidentify.py [--n 600] [--seed 14] [--markdown]
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from hubspoke.privacy.deidentify import Span, find_identifiers
from hubspoke.synth.qual import CODES, FILLERS, PLACES, SURNAMES
from hubspoke.synth.qual import FIRST_NAMES as PROJECT_FIRST

TARGET = 0.99
#: Kinds held to the recall target; the unlisted ones are reported for information.
TARGET_KINDS: tuple[str, ...] = ("name", "phone", "email", "postcode", "date", "case_ref", "place")

#: Accented names as the data lists them, and as an interviewer typed them (the other way round too).
ACCENTED: tuple[tuple[str, str], ...] = (
    ("Zoë", "Zoe"), ("Siân", "Sian"), ("Chloé", "Chloe"), ("Renée", "Renee"), ("Oisín", "Oisin"),
    ("Sean", "Seán"), ("Lukasz", "Łukasz"), ("Jose", "José"), ("Anais", "Anaïs"), ("Celine", "Céline"),
)  # fmt: skip
#: What the caller passes: names and places from the project's own data.
CALLER_NAMES: tuple[str, ...] = (*PROJECT_FIRST, *SURNAMES, *(listed for listed, _ in ACCENTED))
CALLER_PLACES: tuple[str, ...] = PLACES
#: Common UK names the caller does not pass (the built-in list must find them).
COMMON_FIRST: tuple[str, ...] = (
    "Chantelle", "Bradley", "Fatima", "Kacper", "Niamh", "Tyrone", "Shanice", "Connor", "Paige",
    "Jamal", "Ayesha", "Darren", "Stacey", "Mohammed", "Courtney", "Bethany", "Kyle", "Precious",
)  # fmt: skip
COMMON_SURNAMES: tuple[str, ...] = (
    "Smith", "Patel", "Khan", "Jones", "Walsh", "Murphy", "Nowak", "Hussain", "Taylor", "Evans",
    "Begum", "Doherty", "Ahmed", "O'Connor",
)  # fmt: skip
#: Invented names in no list: only the capitalised-word rules can find them.
UNLISTED_FIRST: tuple[str, ...] = (
    "Xanthe", "Quorra", "Taliesin", "Brannagh", "Vashti", "Lysander", "Kezia", "Tamsin", "Zarah",
    "Marnie", "Ottilie", "Saoirse", "Eilidh", "Tallulah", "Morwenna", "Kerenza",
)  # fmt: skip
UNLISTED_SURNAMES: tuple[str, ...] = ("Quillfeather", "Marchbank", "Sowerbutts", "Penhaligon")
UNLISTED_PLACES: tuple[str, ...] = ("Thornbury Vale", "Oakhurst", "Little Sudbrook", "Pennock")

MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip
POSTCODE_AREAS = ("LS", "M", "BD", "B", "SW", "NE", "S", "L", "CF", "BS", "NG", "LE", "HU", "WF")
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"

#: Sentences with nothing identifying in them, some of them tricky.
TRICKY: tuple[str, ...] = (
    "The Police and Social Care both came to the Hub on Monday.",
    "She has had 3 sessions since 2015 and 12 referrals in 2016.",
    "We ran training in England and Wales for about 40 social workers.",
    "Over Christmas the Youth Offending Team picked it up.",
    "In Year 9 she started going missing, about 1 in 5 girls did.",
    "The MASE met in March 2015 and again in June.",
    "He was on Snapchat and Instagram most nights.",
    "It cost £25,000 a year, 75% of it from the Lottery.",
    "We drove down the M6 motorway to see her.",
    "She was 14 when it started, back in 2014/15.",
    "Ofsted came in 2016 and the Local Authority was rated good.",
    "The 1980s estate has nothing for young people.",
    "The Spoke workers meet at 10.30 every Tuesday.",
    "The CAMHS waiting list is 18 weeks.",
    "Honestly, nobody listened until the Hub got involved.",
    "I will hope for the best, it was a grace period, a frank conversation.",
    "We call it the Beacon project.",
    "The Rainbow group meets on Thursdays.",
    "Level 3 safeguarding training happened in the spring of 2016.",
    "Interviewer: what changed? Respondent: more referrals.",
    "Mum and Dad came to the review in the summer.",
    "Tell her to ring Childline or the NSPCC.",
    "She was in Year 11 and doing her GCSEs.",
    "The Home Office funding ran from 2014 to 2016.",
    "About 30 of the 120 cases were boys.",
    "The British Transport Police were involved twice.",
    "Will the Hub keep going next year?",
    "Grace, the manager's dog, was a hit at the drop-in.",
    "Mark my words, the demand will go up.",
    "There were 2,500 contacts across the county.",
)
#: Clean sentences opening with an ordinary but uncommon word (the word-frequency rule's hard case).
RARE_OPENERS: tuple[str, ...] = (
    "Safeguarding was everyone's job by then.",
    "Sexting came up in nearly every school session.",
    "Absconding was the pattern with the older girls.",
    "Groomers target the quiet ones.",
    "Realistically, it takes years to build that trust.",
    "Crucially, the police came on board.",
    "Ketamine was everywhere that summer.",
    "Carers were not always told.",
    "Respite placements helped a bit.",
    "Perpetrators moved the girls between towns.",
    "Erm, I think it was the second time.",
    "Outreach workers went to the parks at night.",
    "Takeaways and taxis kept coming up.",
    "Vapes were the first thing they were given.",
    "Thankfully, she is settled now.",
)
TRICKY = TRICKY + RARE_OPENERS
#: Clean sentences from the synthetic interview generator (those without a name slot).
PLAIN: tuple[str, ...] = tuple(
    s[0].upper() + s[1:]
    for s in (*FILLERS, *(t for _, _, _, tpl in CODES for t in tpl))
    if "{" not in s
)


@dataclass
class Example:
    """One excerpt and the identifiers injected into it: (start, end, kind, form)."""

    text: str
    injected: list[tuple[int, int, str, str]] = field(default_factory=list)


class _Builder:
    """Concatenates literal text and identifiers, remembering where each identifier went."""

    def __init__(self) -> None:
        self.text = ""
        self.injected: list[tuple[int, int, str, str]] = []

    def add(self, template: str, *values: tuple[str, str, str]) -> None:
        """``template`` with each ``{}`` replaced by a (value, kind, form), each recorded as an identifier."""
        if self.text and not self.text.endswith(" "):
            self.text += " "
        pieces = template.split("{}")
        self.text += pieces[0]
        for (value, kind, form), tail in zip(values, pieces[1:], strict=True):
            self.injected.append((len(self.text), len(self.text) + len(value), kind, form))
            self.text += value + tail

    def example(self) -> Example:
        return Example(self.text, self.injected)


# --------------------------------------------------------------------------- generators
def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


def _phone(rng: random.Random) -> tuple[str, str]:
    """A UK phone number in one of several written formats (Ofcom drama ranges and ordinary ones)."""
    d3, d4, d6 = _digits(rng, 3), _digits(rng, 4), _digits(rng, 6)
    mobile = f"7{rng.choice(['700', '911', '412', '956', '823'])}"
    formats = {
        "mobile spaced": f"0{mobile} {d6}",
        "mobile solid": f"0{mobile}{d6}",
        "mobile dashed": f"0{mobile}-{d6[:3]}-{d6[3:]}",
        "mobile 3-3-4": f"0{mobile[:3]} {mobile[3]}{d6[:2]} {d6[2:]}",
        "+44 mobile": f"+44 {mobile} {d6}",
        "+44 (0) mobile": f"+44 (0){mobile} {d6}",
        "+44 solid": f"+44{mobile}{d6}",
        "leeds": f"0113 496 0{d3}",
        "leeds bracketed": f"(0113) 496 0{d3}",
        "london": f"020 7946 0{d3}",
        "manchester dashed": f"0161-496-0{d3}",
        "drama 01632": f"01632 960{d3}",
        "freephone": f"0800 {d3} {d4}",
        "dotted": f"0{mobile}.{d6[:3]}.{d6[3:]}",
    }
    form = rng.choice(sorted(formats))
    return form, formats[form]


def _email(rng: random.Random) -> tuple[str, str]:
    first, last = rng.choice(COMMON_FIRST).lower(), rng.choice(COMMON_SURNAMES).lower()
    last = last.replace("'", "")
    domain = rng.choice(
        ["hotmail.co.uk", "gmail.com", "yahoo.com", "outlook.com", "leeds.gov.uk", "nhs.net"]
    )
    forms = {
        "first.last": f"{first}.{last}@{domain}",
        "first_last99": f"{first}_{last}{_digits(rng, 2)}@{domain}",
        "upper case": f"{first}{last}@{domain}".upper(),
        "plus tag": f"{first}+cse@{domain}",
        "spelled out": f"{first} [at] {domain.split('.')[0]} [dot] com",
    }
    form = rng.choice(sorted(forms))
    return form, forms[form]


def _outward(rng: random.Random) -> str:
    area = rng.choice(POSTCODE_AREAS)
    if area in ("SW", "EC") and rng.random() < 0.5:
        return f"{area}1{rng.choice('ABEHPVWXY')}"
    return f"{area}{rng.randint(1, 29)}"


def _postcode(rng: random.Random) -> tuple[str, str]:
    inward = f"{rng.randint(0, 9)}{rng.choice(INWARD_LETTERS)}{rng.choice(INWARD_LETTERS)}"
    outward = _outward(rng)
    forms = {
        "full": f"{outward} {inward}",
        "full lower case": f"{outward} {inward}".lower(),
        "full no space": f"{outward}{inward}",
        "partial": outward,
    }
    form = rng.choice(["full", "full", "full lower case", "full no space", "partial", "partial"])
    return form, forms[form]


def _ordinal(day: int) -> str:
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def _date(rng: random.Random) -> tuple[str, str]:
    """A date of birth in one of many written formats."""
    y, m, d = rng.randint(1996, 2009), rng.randint(1, 12), rng.randint(1, 28)
    month = MONTHS[m - 1]
    forms = {
        "dd/mm/yyyy": f"{d:02d}/{m:02d}/{y}",
        "d/m/yy": f"{d}/{m}/{y % 100:02d}",
        "d.m.yy": f"{d}.{m}.{y % 100:02d}",
        "dd.mm.yyyy": f"{d:02d}.{m:02d}.{y}",
        "dd-mm-yyyy": f"{d:02d}-{m:02d}-{y}",
        "iso": f"{y}-{m:02d}-{d:02d}",
        "3rd March 2004": f"{_ordinal(d)} {month} {y}",
        "3 March 2004": f"{d} {month} {y}",
        "3rd of March 2004": f"{_ordinal(d)} of {month} {y}",
        "March 3, 2004": f"{month} {d}, {y}",
        "March 3rd 2004": f"{month} {_ordinal(d)} {y}",
        "3 Mar 2004": f"{d} {month[:3]} {y}",
        "03-Mar-2004": f"{d:02d}-{month[:3]}-{y}",
        "3rd March": f"{_ordinal(d)} {month}",
        "mm/yyyy": f"{m:02d}/{y}",
    }
    form = rng.choice(sorted(forms))
    return form, forms[form]


def _case_ref(rng: random.Random) -> tuple[str, str]:
    forms = {
        "S04-00012": f"S{rng.randint(1, 16):02d}-{_digits(rng, 5)}",
        "CSE/2015/123": f"CSE/{rng.randint(2014, 2016)}/{rng.randint(1, 999)}",
        "MASH-2016-0042": f"MASH-{rng.randint(2014, 2016)}-{_digits(rng, 4)}",
        "LCS123456": f"LCS{_digits(rng, 6)}",
        "NI number": f"{rng.choice(['AB', 'JK', 'NP', 'TW'])}{_digits(rng, 6)}{rng.choice('ABCD')}",
        "CP/0012/16": f"CP/{_digits(rng, 4)}/{rng.randint(14, 16)}",
        "bare digits": _digits(rng, rng.randint(5, 8)),
    }
    form = rng.choice(sorted(forms))
    return form, forms[form]


#: (form, template) per kind; ``{}`` is the identifier.
CONTEXTS: dict[str, tuple[str, ...]] = {
    "phone": ("Ring me on {} if anything happens.", "Her number is {}.", "{} is the number she gave the school.",
              "She texted from {}, which we did not know.", "Call {} or the duty desk.",
              "Her mum's mobile ({}) was off.", "The number, {}, was on the wall."),
    "email": ("She emailed me from {} last week.", "His address was {} apparently.",
              "{} is the one she uses.", "Send it to {}, she said.", "Her email (<{}>) was on the form."),
    "postcode": ("She lives at {} now.", "The postcode is {}.", "They moved her to {} last year.",
                 "Lots of our referrals come from {}.", "{} was where the flat was.",
                 "The flat ({}) has been closed down.", "Round {}, mostly."),
    "date": ("Her DOB is {}.", "She was born on {} so she is only 13.", "Date of birth {}, looked after.",
             "{} is her birthday.", "On {} she went missing again.", "Born {}, in care since 2012.",
             "Her birthday ({}) was the day it happened."),
    "case_ref": ("The case reference is {}.", "It is logged as {} on the system.", "REF {} on the form.",
                 "Case no. {} was closed.", "{} was the one we escalated.", "(ref. {}) closed in 2016."),
}  # fmt: skip
NAME_FORMS: dict[str, tuple[str, ...]] = {
    "sentence start": ("{} came round on Friday.", "{} has been doing really well.", "{} is back at school now.",
                       "{} went missing again last week."),
    "mid-sentence": ("My worker {} never gave up on me.", "I spoke to {} about this last week.",
                     "We took the girl, {}, to the clinic."),
    "lower case": ("a girl called {} was there.", "me and {} went into town.", "{} rang me again last night.",
                   "it was {} who told the school."),
    "accented": ("{} said she would ring back.", "I went with {} to the review.", "{} is doing better."),
    "possessive": ("{}'s mum rang the office.", "We went round to {}’s house.", "{}'s phone was taken off her."),
    "surname after title": ("Mrs {} from the school rang.", "DC {} took the statement.", "Ms. {} chaired it.",
                            "Mr {} was the social worker."),
    "surname": ("{} was the officer in the case.", "The social worker, {}, was off sick.",
                "I think {} knew all along."),
    "full name": ("{} said it helped.", "An officer called {} said they walk over now.",
                  "I met {} at the drop-in."),
    "initial after title": ("Ms. {} said it was fine.", "Mr {}. came to the review."),
}  # fmt: skip
COMBINED: tuple[str, ...] = (
    "{name} gave me her number, {phone}, and her email {email}.",
    "{name} (DOB {date}) rang from {phone}.",
    "Her mum emailed ({email}) to say {name} was born on {date}.",
    "{phone} / {email} - that is how we reach {name}.",
)
PLACE_FORMS: tuple[str, ...] = ("She lives in {} with her nan.", "{} is rough at night.",
                                "The youth club in {} was busy.", "It is an hour on the bus from {}.")  # fmt: skip


def _name_value(rng: random.Random, form: str) -> str:
    """A name for ``form``: from the project's lists or the common ones the caller does not pass."""
    first = rng.choice(PROJECT_FIRST if rng.random() < 0.5 else COMMON_FIRST)
    surname = rng.choice(SURNAMES if rng.random() < 0.5 else COMMON_SURNAMES)
    if form == "lower case":
        return first.lower()
    if form == "accented":
        return rng.choice(ACCENTED)[1]
    if form in ("surname after title", "surname"):
        return surname
    if form == "full name":
        return f"{first} {surname}"
    if form == "initial after title":
        return rng.choice("ABCDJKLMRSTX")
    return first


def _unlisted(rng: random.Random) -> tuple[str, str, str, str]:
    """(kind, form, template, value) for a name or place in no list (form starts ``unlisted``)."""
    first, surname = rng.choice(UNLISTED_FIRST), rng.choice(UNLISTED_SURNAMES)
    opening = rng.choice(NAME_FORMS["sentence start"])
    choices = [
        ("name", "unlisted, mid-sentence", "My worker {} never gave up on me.", first),
        ("name", "unlisted, after title", "Mrs {} from the school rang.", surname),
        ("name", "unlisted, full name", "{} said it helped.", f"{first} {surname}"),
        ("name", "unlisted, start + reporting verb", "{} said she would come.", first),
        ("name", "unlisted, start, no evidence", opening, first),
        ("name", "unlisted, after a quote or colon", 'She said: "{} is back."', first),
        (
            "place",
            "unlisted, after 'in'",
            "She lives in {} with her nan.",
            rng.choice(UNLISTED_PLACES),
        ),
    ]
    return rng.choice(choices)


# --------------------------------------------------------------------------- the set
def _identifier(rng: random.Random, kind: str) -> tuple[str, tuple[str, str, str]]:
    """(template, (value, kind, form)) for one identifier of ``kind``."""
    if kind == "name":
        form = rng.choice(sorted(NAME_FORMS))
        return rng.choice(NAME_FORMS[form]), (_name_value(rng, form), "name", form)
    if kind == "place":
        place = rng.choice(CALLER_PLACES)
        form = "lower case" if rng.random() < 0.2 else "as listed"
        value = place.lower() if form == "lower case" else place
        return rng.choice(PLACE_FORMS), (value, "place", form)
    if kind == "unlisted":
        kind_u, form, template, value = _unlisted(rng)
        return template, (value, kind_u, form)
    generate: Callable[[random.Random], tuple[str, str]] = {
        "phone": _phone, "email": _email, "postcode": _postcode, "date": _date, "case_ref": _case_ref,
    }[kind]  # fmt: skip
    form, value = generate(rng)
    return rng.choice(CONTEXTS[kind]), (value, kind, form)


def _combined(rng: random.Random, builder: _Builder) -> None:
    """One sentence holding a name and two other identifiers (they must not mask each other away)."""
    first = rng.choice(PROJECT_FIRST if rng.random() < 0.5 else COMMON_FIRST)
    phone_form, phone = _phone(rng)
    email_form, email = _email(rng)
    date_form, date = _date(rng)
    template = rng.choice(COMBINED)
    values = {"name": (first, "name", "in a combined sentence"), "phone": (phone, "phone", phone_form),
              "email": (email, "email", email_form), "date": (date, "date", date_form)}  # fmt: skip
    order = [k for k in ("name", "phone", "email", "date") if "{" + k + "}" in template]
    order.sort(key=template.index)
    builder.add(re.sub(r"\{\w+\}", "{}", template), *(values[k] for k in order))


def build_examples(n: int = 600, *, seed: int = 14) -> list[Example]:
    """``n`` labelled excerpts (the same for a seed): one in five clean, one in ten combined, the rest 1-2 identifiers."""
    rng = random.Random(seed)
    kinds = [*TARGET_KINDS, "name", "name", "date", "postcode", "unlisted"]
    examples = []
    for i in range(n):
        builder = _Builder()
        if rng.random() < 0.5:
            builder.add(rng.choice(TRICKY + PLAIN))
        if i % 5 == 4:
            builder.add(rng.choice(TRICKY))
            builder.add(rng.choice(TRICKY + PLAIN))
        elif i % 10 == 3:
            _combined(rng, builder)
        else:
            for _ in range(rng.choice([1, 1, 2])):
                template, value = _identifier(rng, kinds[rng.randrange(len(kinds))])
                builder.add(template, value)
        if rng.random() < 0.5:
            builder.add(rng.choice(TRICKY + PLAIN))
        examples.append(builder.example())
    return examples


# --------------------------------------------------------------------------- scoring
@dataclass
class Score:
    """Recall and precision counts by kind, recall by (kind, form), and the false positives."""

    injected: Counter[str] = field(default_factory=Counter)
    caught: Counter[str] = field(default_factory=Counter)
    by_form: dict[tuple[str, str], list[int]] = field(
        default_factory=lambda: defaultdict(lambda: [0, 0])
    )
    masked: Counter[str] = field(default_factory=Counter)
    on_identifier: Counter[str] = field(default_factory=Counter)
    false_positives: Counter[str] = field(default_factory=Counter)
    missed: list[tuple[str, str, str]] = field(default_factory=list)
    clean_changed: int = 0
    clean_total: int = 0
    seconds: float = 0.0

    def recall(self, kind: str) -> float:
        return self.caught[kind] / self.injected[kind] if self.injected[kind] else float("nan")

    def precision(self, kind: str) -> float:
        return self.on_identifier[kind] / self.masked[kind] if self.masked[kind] else float("nan")


def _covered(start: int, end: int, spans: Sequence[Span]) -> bool:
    """True when every character of ``[start, end)`` lies inside a masked span."""
    return all(any(s.start <= i < s.end for s in spans) for i in range(start, end))


def score(examples: Sequence[Example]) -> Score:
    """Run the de-identifier over ``examples`` with the caller's lists and count."""
    result = Score()
    t0 = time.perf_counter()
    found = [find_identifiers(e.text, names=CALLER_NAMES, places=CALLER_PLACES) for e in examples]
    result.seconds = time.perf_counter() - t0
    for example, spans in zip(examples, found, strict=True):
        for start, end, kind, form in example.injected:
            hit = _covered(start, end, spans)
            result.injected[kind] += 1
            result.caught[kind] += hit
            result.by_form[(kind, form)][0] += 1
            result.by_form[(kind, form)][1] += hit
            if not hit:
                result.missed.append((kind, form, example.text[start:end]))
        for span in spans:
            on = any(span.start < end and start < span.end for start, end, _, _ in example.injected)
            result.masked[span.kind] += 1
            result.on_identifier[span.kind] += on
            if not on:
                result.false_positives[
                    f"{example.text[span.start : span.end]} -> [{span.kind}]"
                ] += 1
        if not example.injected:
            result.clean_total += 1
            result.clean_changed += bool(spans)
    return result


def _pct(x: float) -> str:
    return "n/a" if x != x else f"{100 * x:.1f}%"


def table(result: Score) -> list[str]:
    """The results as a Markdown table, one row per kind."""
    lines = [
        "| kind | injected | caught | recall | masked spans | on an identifier | precision |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for kind in TARGET_KINDS:
        lines.append(
            f"| {kind} | {result.injected[kind]} | {result.caught[kind]} | {_pct(result.recall(kind))} "
            f"| {result.masked[kind]} | {result.on_identifier[kind]} | {_pct(result.precision(kind))} |"
        )
    total_masked = sum(result.masked.values())
    total_on = sum(result.on_identifier.values())
    lines.append(
        f"| all masked spans | | | | {total_masked} | {total_on} | {_pct(total_on / total_masked)} |"
    )
    return lines


def report(result: Score, n: int) -> list[str]:
    """Every line the benchmark prints."""
    lines = [f"{n} excerpts, {sum(result.injected.values())} injected identifiers; "
             f"{result.seconds / n * 1000:.2f} ms per excerpt", "", *table(result), ""]  # fmt: skip
    for kind in ("name", "place"):
        forms = [(f, t, c) for (k, f), (t, c) in result.by_form.items() if k == kind]
        unl = [(t, c) for f, t, c in forms if f.startswith("unlisted")]
        listed = [(t, c) for f, t, c in forms if not f.startswith("unlisted")]
        lines.append(
            f"{kind}: listed {sum(c for _, c in listed)}/{sum(t for t, _ in listed)}, "
            f"unlisted {sum(c for _, c in unl)}/{sum(t for t, _ in unl)} caught"
        )
    lines.append("recall by form (below 100% only):")
    weak = [(k, f, t, c) for (k, f), (t, c) in sorted(result.by_form.items()) if c < t]
    lines += [f"  {k} / {f}: {c}/{t}" for k, f, t, c in weak] or ["  (none)"]
    lines.append(f"clean excerpts changed: {result.clean_changed} of {result.clean_total}")
    fps = ", ".join(f"{w} x{c}" for w, c in result.false_positives.most_common(12))
    lines.append(f"false positives (most common): {fps or '(none)'}")
    target_missed = [m for m in result.missed if m[0] in TARGET_KINDS]
    lines.append(f"missed (target kinds): {target_missed[:12] or '(none)'}")
    ok = all(result.recall(k) >= TARGET for k in TARGET_KINDS)
    lines.append(f"recall >= {TARGET:.0%} on every target kind: {'yes' if ok else 'NO'}")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--n", type=int, default=600, help="excerpts in the labelled set (default 600)"
    )
    parser.add_argument("--seed", type=int, default=14, help="random seed (default 14)")
    args = parser.parse_args(argv)
    result = score(build_examples(args.n, seed=args.seed))
    print("\n".join(report(result, args.n)))
    return 0 if all(result.recall(k) >= TARGET for k in TARGET_KINDS) else 1


if __name__ == "__main__":
    sys.exit(main())
