"""De-identify interview excerpts: names, places, phones, e-mails, postcodes, dates, case refs.

:func:`deidentify` replaces each identifier with a placeholder naming its kind
(``[name]``, ``[place]``, ``[phone]``, ``[email]``, ``[postcode]``, ``[date]``,
``[case ref]``), in layers:

* **patterns**: e-mail addresses (also ``jade [at] mail [dot] com``); phone numbers found
  by ``phonenumbers`` (``PhoneNumberMatcher(text, "GB")``) and any run of digit groups
  (spaces, dashes, dots, brackets, a leading ``+``) holding 9 or more digits; UK
  postcodes, full (any case) and partial outward codes (``LS6``, ``SW1A``; upper case,
  a real postcode area); dates (``03/03/2004``, ``3.3.04``, ``2004-03-03``,
  ``3rd March 2004``, ``March 3, 2004``, ``3 Mar``, ``born in 2004``: every date in an
  excerpt is masked, a bare year is not); case references (``REF 12345``,
  ``case no. 4471``, any token mixing letters and 4+ digits such as ``S04-00012`` or
  ``CSE/2015/123``, a bare run of 5+ digits);
* **names from lists**: the ``names`` and ``places`` the caller passes (from the data:
  case attributes, service reference data) and a built-in list of common UK first names
  and surnames (:data:`FIRST_NAMES`, :data:`SURNAMES`), matched word by word, ignoring
  case and accents (NFKD fold: ``Zoe`` finds ``Zoë``), in the possessive (``Jade's``
  keeps its ``'s``), in lower case and at the start of a sentence. Built-in names that
  are ordinary words (:data:`AMBIGUOUS`: ``Will``, ``Grace``, ``Hope`` ...) count
  only when capitalised and, opening a sentence, only with evidence (a reporting verb,
  a possessive, a surname after them);
* **rules**: the capitalised words after a title (``Mr Smith``, ``Ms. X``, ``DC Okafor``;
  the title stays); a capitalised word inside a sentence that is not in the stop list
  (:data:`STOP_WORDS`: roles, agencies, programme words, calendar words, nations and
  languages) or an acronym; a capitalised word opening a sentence before a reporting
  verb or a surname, or one that is not a common English word (its lower-case form, or
  that form without an ``-ly`` / ``-ing`` / ``-s`` ... ending, has a ``wordfreq`` Zipf
  frequency below :data:`RARE_ZIPF`: ``Kezia said``, ``Tamsin came round``); any word
  found to be a name elsewhere in the same text. A run of
  name words after ``in`` / ``at`` / ``near`` ... or ending in a place word (``Vale``)
  is a ``[place]``.

:func:`risk_reasons` (and :func:`looks_risky`) say whether a text still looks risky
afterwards (digit runs of 5+, an ``@``, a web address, a postcode or date shape, a word
after a title, a capitalised word after ``called`` / ``named`` ...): a quote that does
is dropped, not shown.

Precision is traded for recall: an ordinary capitalised word inside a sentence that the
stop list lacks (``the Beacon project``) becomes ``[name]``; pass it in ``allow``.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from hubspoke.privacy.redact import (
    ALLOW_WORDS,
    NAME,
    NOT_CARRIED,
    PLACE,
    PLACE_CUES,
    PLACE_WORDS,
    TITLES,
)

PHONE = "[phone]"
EMAIL = "[email]"
POSTCODE = "[postcode]"
DATE = "[date]"
CASE_REF = "[case ref]"
#: Placeholder of each kind of identifier.
PLACEHOLDERS: dict[str, str] = {
    "name": NAME,
    "place": PLACE,
    "phone": PHONE,
    "email": EMAIL,
    "postcode": POSTCODE,
    "date": DATE,
    "case_ref": CASE_REF,
}
#: Which kind wins where two detections overlap (first wins).
PRIORITY: tuple[str, ...] = ("email", "phone", "date", "postcode", "case_ref", "place", "name")


# --------------------------------------------------------------------------- word lists
def _words(block: str) -> frozenset[str]:
    """The words of a whitespace-separated block (keeps long word lists readable)."""
    return frozenset(block.split())


#: Common first names in England and Wales (ONS baby names, several decades and communities).
FIRST_NAMES: frozenset[str] = _words(
    """
    Aaliyah Abbie Abigail Adaeze Aimee Aisha Alice Alicia Alisha Alison Amanda Amber Amelia
    Amelie Amina Amira Amy Angela Anjali Ann Anna Anne Aoife Ashleigh Aurora Ava Ayesha
    Barbara Beatrice Becky Bella Beth Bethany Blessing Bronwen Caitlin Carly Carol
    Caroline Catherine Catrin Cerys Chantelle Charlene Charlotte Chelsea Chidinma Chloe
    Christine Ciara Claire Courtney Danielle Daisy Darcey Darcie Dawn Debbie Deborah Demi
    Destiny Diane Donna Edith Eleanor Elise Elizabeth Ella Ellie Elsie Emily Emma Erin
    Esme Esther Eva Evelyn Evie Faith Fatima Favour Ffion Florence Freya Gemma Georgia
    Gillian Grace Gurpreet Hafsa Hannah Harper Harpreet Harriet Hazel Heather Helen Hira
    Hollie Holly Hope Imogen Iqra Iris Isabella Isabelle Isla Ivy Jacqueline Jade Jane
    Janet Jasmine Jaspreet Jennifer Jess Jessica Jodie Joanne Josephine Joy Julia Julie
    Karen Kate Katherine Katie Kayla Kayleigh Keira Kelly Kerry Khadija Kiera Kim
    Kimberley Kirsty Kyra Lacey Laura Lauren Layla Leah Leanne Leila Lexi Libby Lily Linda
    Lisa Lola Lorraine Louise Lucy Macy Maisie Maja Mandeep Margaret Maria Mary Maryam
    Matilda Maya Megan Mia Michelle Millie Mollie Molly Nadia Nancy Naomi Natalia Natalie
    Nevaeh Ngozi Niamh Nicola Nikki Noor Oliwia Olivia Orla Paige Patricia Pauline Penny
    Phoebe Poppy Precious Priya Rachel Rebecca Rhiannon Roisin Rose Rosie Roxanne Ruby
    Ruth Sally Samantha Sana Sandra Sarah Scarlett Seren Shanice Shannon Sharon Sian
    Sienna Simran Sinead Siobhan Skye Sophia Sophie Stacey Sue Summer Susan Tamara Tanya
    Tegan Tia Tiffany Tilly Toni Tracey Victoria Violet Wendy Wiktoria Willow Yasmin Zainab
    Zara Zoe Zofia Zuzanna
    Aaron Adam Ahmed Aidan Albert Alex Alexander Alfie Ali Amir Andre Andrew Andy Anthony
    Archie Arjun Arthur Ashley Asif Ayaan Barry Ben Benjamin Bilal Billy Bobby Bradley
    Brandon Brian Callum Calum Cameron Carl Chidi Chris Christopher Cian Ciaran Colin Connor
    Conor Corey Craig Dafydd Dan Daniel Danny Darnell Darren Dave David Dean Declan Derek
    Dexter Dwayne Dylan Edward Eoin Elijah Elliot Elliott Emeka Ethan Evan Ezra Felix
    Filip Finley Finn Frank Frankie Freddie Frederick Gabriel Gary Gavin George Gethin
    Graham Gurdeep Guy Hamza Harjit Harrison Harry Harvey Hassan Henry Hugo Hussain Ian
    Ibrahim Imran Isaac Iwan Jack Jacob Jake Jakub Jamal James Jamie Jason Jay Jayden
    Jenson Jerome Jim Jimmy Joe John Jordan Joseph Josh Joshua Jude Kacper Kai Keith
    Kenneth Kevin Kian Kieran Kofi Kwame Kyle Kyron Lee Leo Leon Lewis Liam Logan Louie
    Louis Luca Lucas Luke Lukasz Malik Marcus Mark Martin Mason Mateo Mateusz Matthew
    Max Michael Mick Mike Mitchell Mohammad Mohammed Muhammad Nathan Nathaniel Neil Niall
    Nick Nicky Noah Oisin Ollie Omar Oscar Oskar Owen Padraig Paul Peter Phil Philip Piotr
    Reece Reggie Reuben Rhys Richard Ricky Riley Rob Robert Robin Rohan Ronan Ronnie Rory
    Rowan Roy Ryan Sam Samuel Scott Sean Sebastian Shane Simon Stanley Stephen Steve
    Steven Stuart Szymon Tariq Terry Theo Theodore Thomas Toby Tom Tomasz Tommy Tony
    Trevor Tunde Tyler Tyrese Tyrone Wayne Will William Yusuf Zachary Zain
    """
)
#: Common surnames in the UK, across communities.
SURNAMES: frozenset[str] = _words(
    """
    Adams Adeyemi Ahmed Akhtar Ali Allen Anderson Andrews Armstrong Ashworth Atkinson Aziz
    Bailey Baker Ball Banks Barker Barnes Barrett Bates Begum Bell Bennett Berry Bibi Bird
    Bishop Boateng Booth Bradley Brennan Brooks Brown Burgess Burns Burton Butler Byrne
    Campbell Carr Carter Catterall Chambers Chapman Chauhan Chen Clark Clarke Cole Coleman
    Collins Cook Cooke Cooper Cox Crossley Curtis Davies Davis Dawson Dixon Doherty Doyle
    Dunn Edwards Elliott Ellis Evans Fenwick Fisher Fletcher Ford Foster Fox Francis
    Freeman Gallagher Gardner Gibson Gill Gordon Graham Grant Gray Green Gregory Griffin
    Griffiths Hall Hamilton Harding Hardy Harper Harris Harrison Hart Harvey Hawkins Hayes
    Henderson Hill Hodgson Holland Hollins Holmes Hopkins Horsfall Hossain Howard Hudson
    Hughes Hunt Hunter Hussain Hutchinson Iqbal Jackson James Jenkins Johnson Johnston
    Jones Kamiński Kaur Kelly Kennedy Khan King Knight Kowalczyk Kowalski Kumar Lawrence
    Lee Lewandowski Lewis Li Liu Lloyd Long Lowe Mahmood Malik Marsden Marsh Marshall
    Martin Mason Matthews McCarthy McDonald Mensah Miah Miller Mills Mistry Mitchell Moore
    Morgan Morris Moss Murphy Murray Newman Newton Nguyen Nicholls Nicholson Nowak O'Brien
    O'Connor O'Neill Okafor Okonkwo Oliver Osborne Osei Owen Owusu Page Palmer Parker
    Parry Parsons Patel Payne Pearce Pearson Perry Phillips Popescu Porter Potter Powell
    Price Pritchard Quinn Rahman Reed Rees Reid Reynolds Richards Richardson Riley
    Roberts Robertson Robinson Robson Rogers Rose Ross Russell Ryan Saunders Scott Shah
    Sharma Sharp Shaw Shepherd Simpson Singh Smith Spencer Stevens Stewart Stone Sutton
    Sykes Szymański Taylor Thomas Thompson Turner Uddin Walker Wallace Walsh Walton Wang
    Ward Warren Watkins Watson Watts Webb Webster Wells Wheeler White Whitlock Wilkinson
    Williams Williamson Wilson Wiśniewski Wójcik Wood Woods Wright Yates Young Zhang
    Zieliński
    """
)
#: Built-in names that are also ordinary English words: matched only when capitalised.
AMBIGUOUS: frozenset[str] = _words(
    """
    amber baker ball banks bell berry bird bishop blessing bobby booth brooks brown burns
    butler carol carter chambers cook cox cross daisy dawn dean destiny faith favour fisher ford foster
    fox frank gill grace grant gray green guy hall hardy harper harry hart hazel heather
    hill holly hope hunt hunter iris ivy jack jay joy king knight lee lily long marsh
    marshall mark mason max mick mike mills moss nick page penny poppy porter potter
    precious price reed rob robin rose rowan ruby sally sharp shepherd stone sue summer
    turner violet walker ward warren watts wells white will willow wood woods young
    """
)
#: Built-in names from :data:`AMBIGUOUS` that, opening a sentence, are far likelier a name than a word.
NAME_FIRST: frozenset[str] = _words(
    """
    amber blessing bobby carol daisy dawn destiny favour grace hazel heather holly iris ivy
    joy lily penny poppy precious robin rose rowan ruby sally sue violet willow
    """
)
#: Capitalised words that are not names (besides :data:`hubspoke.privacy.redact.ALLOW_WORDS`):
#: roles, agencies, programme and calendar words, nations, faiths and languages.
STOP_WORDS: frozenset[str] = _words(
    """
    Accommodation Adviser Advisor After Agencies Autumn Bank Barnardo's Barnardos Big
    Borough Brook CAMHS Catholic Centre Chair Charity Chief Child Childline Children's
    Christian City Clinic Commissioner Commissioners Community Conference Constable
    Co-ordinator Coordinator Councillor County Covid Crime Crimestoppers Department
    Designated Detective Doctor Duty Early Eid Emotional Eve Executive Exploitation
    Families Family Foster Fostering Foundation Front Fund Funding Google Governor
    Halloween Harm Head Headteacher Help Holiday Holidays Hospital Housing Inquiry
    Ireland Irish Jan Feb Mar Apr Jun Jul Aug Sep Sept Oct Nov Dec Keyworker Lead
    Leaving Level Lockdown Looked Lottery MASE Member Members Mental Messenger Minister
    Missing Mondays Tuesdays Wednesdays Thursdays Fridays Saturdays Sundays Multi Muslim
    National New Night Northern Nurse Panel Parliament Partnership Persons Plan
    PlayStation Practitioner Primary Programme Project Protection Ramadan Regional
    Residential Review Risk Samaritans Scotland Scottish Secondary Senior Sexual Sikh
    Hindu Jewish Spring Stage Superintendent Support Teacher Term TikTok Training Trust
    Transport Twitter Uni Unit University Section Act Tier Working Together Protocol Policy
    Procedure Procedures Guidance Framework Pathway Toolkit Screening Meeting Meetings Assessment
    Barnardo Bus Station Train Victim Virtual Volunteer Wales Welsh Wellbeing Winter
    Xbox Youth YouTube Offending Panel Asian Pakistani Bangladeshi Indian Polish Romanian
    Somali Kurdish Albanian Vietnamese African Caribbean Roma Gypsy Traveller Travellers
    Urdu Punjabi Arabic Bengali Europe European Midlands North South East West God Nan
    Nana Grandma Grandad Auntie Aunty Uncle Sir Thanks Thank Please Sorry Hello Hi
    Honestly Obviously Basically Actually Personally Apparently Eventually Later Here
    There Nothing Everything Something Anything None Each Every Both Neither Either Most
    Many Few Several Other Others Another These Those Teachers Parents Professionals
    Colleagues Management Managers Workers Social Workers Nurses Doctors Mums Dads
    Lunch Dinner Breakfast Tea Costa Greggs Tesco Asda Aldi Lidl Primark Argos
    Erm Innit Blimey Dunno Gonna Wanna Gotta Lol Omg Ofsted Snapchat Instagram WhatsApp
    Ketamine Cocaine Heroin Xanax Spice Cannabis Weed Vapes
    """
)
#: A capitalised word opening a sentence, in no list, is taken for a name when its lower-case
#: form is rarer than this in English (``wordfreq`` Zipf scale: 3 = once per million words).
#: Names in no list mostly score below it (Kezia 2.2, Tamsin 2.3, Lysander 2.4); ordinary
#: sentence openers score above (Later 5.5, Sometimes 5.3, Police 5.3, Meanwhile 4.5).
RARE_ZIPF = 3.0
#: Endings cut before a second look-up, so a rare form of a common word is not a name
#: (``Crucially`` -> ``crucial``, ``Absconding`` -> ``abscond`` is still rare).
_ENDINGS: tuple[tuple[str, str], ...] = (
    ("ally", "al"), ("ily", "y"), ("ly", ""), ("ing", ""), ("ing", "e"), ("ers", ""),
    ("ers", "e"), ("ies", "y"), ("es", ""), ("s", ""), ("ed", ""), ("ed", "e"), ("er", ""),
)  # fmt: skip
_PARTICLES = _words(
    "a an and the of de da di du del della der den van von la le al el bin bint ibn st"
)
_REPORTING = re.compile(
    r"[ \t]+(?:said|says|told|tells|asked|asks|reckons|reckoned|thinks|rang|rings|"
    r"texted|texts|messaged|disclosed|admitted|explained|mentioned)\b"
)

# --------------------------------------------------------------------------- folding
_EXTRA_FOLD = str.maketrans(
    {"ł": "l", "Ł": "L", "ø": "o", "Ø": "O", "đ": "d", "Đ": "D", "ı": "i", "æ": "ae",
     "Æ": "AE", "œ": "oe", "Œ": "OE", "þ": "th", "ð": "d", "’": "'"}
)  # fmt: skip


@lru_cache(maxsize=1 << 16)
def fold(word: str) -> str:
    """``word`` without case or accents (NFKD, combining marks dropped): ``Zoë`` -> ``zoe``."""
    decomposed = unicodedata.normalize("NFKD", word.translate(_EXTRA_FOLD))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


_BUILTIN_FIRST = frozenset(fold(w) for w in FIRST_NAMES)
_BUILTIN = _BUILTIN_FIRST | frozenset(fold(w) for w in SURNAMES)
_STOP = frozenset(fold(w) for w in (*ALLOW_WORDS, *NOT_CARRIED, *STOP_WORDS) if w not in TITLES)
_TITLES = frozenset(TITLES) | {"Prof", "Rev", "Sister", "Father", "Nurse"}
_PLACE_WORDS = frozenset(fold(w) for w in PLACE_WORDS) | _words(
    "avenue lane close drive way crescent grove terrace gardens square walk row mews rise"
)

# --------------------------------------------------------------------------- spans


@dataclass(frozen=True, order=True)
class Span:
    """One identifier found in a text: ``text[start:end]`` is of ``kind`` (a key of :data:`PLACEHOLDERS`)."""

    start: int
    end: int
    kind: str

    @property
    def placeholder(self) -> str:
        """The text that replaces the span."""
        return PLACEHOLDERS[self.kind]


_PROTECTED = re.compile(r"\[(?:name|place|phone|email|postcode|date|case ref|id)\]")


def _protected(text: str) -> list[tuple[int, int]]:
    """Placeholders already in the text (a second pass leaves them alone)."""
    return [m.span() for m in _PROTECTED.finditer(text)]


# --------------------------------------------------------------------------- e-mail
_EMAIL = re.compile(r"(?<![\w.+'-])[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
_EMAIL_SPELLED = re.compile(
    r"(?<![\w.-])[\w.+-]+\s*[\[(]\s*at\s*[\])]\s*[\w-]+(?:\s*(?:\.|[\[(]\s*dot\s*[\])])\s*[\w-]+)+",
    re.IGNORECASE,
)


def email_spans(text: str) -> list[Span]:
    """E-mail addresses, also spelled out (``jade [at] mail [dot] com``)."""
    found = [*_EMAIL.finditer(text), *_EMAIL_SPELLED.finditer(text)]
    return [Span(m.start(), m.end(), "email") for m in found]


# --------------------------------------------------------------------------- phone
_DIGIT_RUN = re.compile(
    r"(?<![\w£$€.,/])\(?\+?\d+\)?(?:(?:[ \t]?[-.][ \t]?|[ \t]|(?<=\))|(?=\())\(?\d+\)?)*(?![\w/])"
)
_YEAR = re.compile(r"(?:19|20)\d\d")


def _is_phone_run(run: str) -> bool:
    """A run of digit groups holding 9+ digits that is not a list of years or a lone number."""
    groups = re.findall(r"\d+", run)
    digits = sum(len(g) for g in groups)
    if digits < 9 or all(_YEAR.fullmatch(g) for g in groups):
        return False
    return len(groups) > 1 or run.lstrip("(").startswith(("0", "+"))


def phone_spans(text: str) -> list[Span]:
    """Phone numbers: ``phonenumbers`` (UK numbers, valid ones) and any run of 9+ grouped digits."""
    import phonenumbers  # here, not at the top: most notebooks import this module and never call it

    spans = [Span(m.start, m.end, "phone") for m in phonenumbers.PhoneNumberMatcher(text, "GB")]
    for m in _DIGIT_RUN.finditer(text):
        run = m.group().rstrip(".- \t")
        if _is_phone_run(run):
            spans.append(Span(m.start(), m.start() + len(run), "phone"))
    return spans


# --------------------------------------------------------------------------- postcode
#: UK postcode areas (the letters of an outward code).
POSTCODE_AREAS: frozenset[str] = _words(
    """
    AB AL B BA BB BD BH BL BN BR BS BT CA CB CF CH CM CO CR CT CV CW DA DD DE DG DH DL DN DT
    DY E EC EH EN EX FK FY G GL GU GY HA HD HG HP HR HS HU HX IG IM IP IV JE KA KT KW KY L
    LA LD LE LL LN LS LU M ME MK ML N NE NG NN NP NR NW OL OX PA PE PH PL PO PR RG RH RM S
    SA SE SG SK SL SM SN SO SP SR SS ST SW SY TA TD TF TN TQ TR TS TW UB W WA WC WD WF WN WR
    WS WV YO ZE
    """
)
_AREA = "(?:" + "|".join(sorted(POSTCODE_AREAS, key=len, reverse=True)) + ")"
_OUTWARD = rf"{_AREA}(?:[1-9]\d|\d)[A-Z]?"
_FULL_POSTCODE = re.compile(rf"(?<![\w\[])({_OUTWARD})[ \t]?\d[A-Z]{{2}}(?![\w])", re.IGNORECASE)
_PARTIAL_POSTCODE = re.compile(rf"(?<![\w\[/-])({_OUTWARD})(?![\w/-])")
_NOT_OUTWARD = frozenset({"CO2", "SO2", "NO2"})
_ROAD_BEFORE = re.compile(r"\b(?:on|off|along|down|up|via|near|from)\s+the\s+$", re.IGNORECASE)
_ROAD_AFTER = re.compile(r"^\s+(?:motorway|toll|junction|j\d)", re.IGNORECASE)


def _is_road(text: str, match: re.Match[str]) -> bool:
    """``the M6`` / ``M62 motorway``: a road, not a postcode district."""
    if not match.group().startswith("M"):
        return False
    return bool(
        _ROAD_BEFORE.search(text[max(0, match.start() - 12) : match.start()])
        or _ROAD_AFTER.match(text[match.end() :])
    )


def postcode_spans(text: str, *, partial: bool = True) -> list[Span]:
    """UK postcodes: full (``LS6 1AB``, any case) and, with ``partial``, outward codes alone
    (``LS6``, upper case; these also match short codes such as a service id ``S10``)."""
    spans = [Span(m.start(), m.end(), "postcode") for m in _FULL_POSTCODE.finditer(text)]
    if not partial:
        return spans
    for m in _PARTIAL_POSTCODE.finditer(text):
        if m.group() not in _NOT_OUTWARD and not _is_road(text, m):
            spans.append(Span(m.start(), m.end(), "postcode"))
    return spans


# --------------------------------------------------------------------------- dates
_MONTH = (
    r"(?:(?i:january|february|march|april|june|july|august|september|october|november|december"
    r"|jan|feb|mar|apr|jun|jul|aug|sept|sep|oct|nov|dec)\.?|(?-i:May|MAY))"
)
_DAY = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?"
_YEAR_TEXT = r"(?:(?:19|20)\d\d|['’]\d\d)"
_DATE_PATTERNS: tuple[re.Pattern[str], ...] = (
    # 03/03/2004, 3.3.04, 03-03-2004 (day and month either way round)
    re.compile(r"(?<![\w/.-])(?:[12]\d|3[01]|0?[1-9])([/.-])(?:[12]\d|3[01]|0?[1-9])\1(?:19|20)?\d\d(?![\w/]|[.-]\d)"),
    # 2004-03-03, 2004/3/3
    re.compile(r"(?<![\w/.-])(?:19|20)\d\d([/.-])(?:1[0-2]|0?[1-9])\1(?:[12]\d|3[01]|0?[1-9])(?![\w/]|[.-]\d)"),
    # 03/2004 (month and year)
    re.compile(r"(?<![\w/.-])(?:1[0-2]|0?[1-9])/(?:19|20)\d\d(?![\w/])"),
    # 3rd March 2004, 3 March, 03-Mar-2004, 3rd of March '04
    re.compile(rf"(?<![\w/])(?i:{_DAY})(?:\s+of)?[\s/-]*{_MONTH}(?:,?[\s/-]*{_YEAR_TEXT})?(?![\w'’])"),
    # March 3, 2004 / March 3rd 2004 / March 3rd
    re.compile(rf"(?<![\w/]){_MONTH}\s+(?i:{_DAY})(?:,?\s+{_YEAR_TEXT})?(?![\w'’])"),
)  # fmt: skip
_BIRTH = re.compile(
    rf"\b(?:born|dob|d\.o\.b\.?|date of birth|birthday)\W{{0,3}}(?:(?:in|on|is|was)\s+)?"
    rf"(?P<date>(?:{_MONTH}\s+)?(?:19|20)\d\d)\b",
    re.IGNORECASE,
)


def date_spans(text: str) -> list[Span]:
    """Dates with a day (any common format), month and year together, and years of birth."""
    spans = [Span(m.start(), m.end(), "date") for p in _DATE_PATTERNS for m in p.finditer(text)]
    spans += [Span(m.start("date"), m.end("date"), "date") for m in _BIRTH.finditer(text)]
    return spans


# --------------------------------------------------------------------------- case refs
_REF_CUE = re.compile(
    r"\b(?P<cue>(?i:ref(?:erence)?|case|crime|incident|file|client|record|log|urn|crn|nhs|ni|id))"
    r"\b(?:\s+(?i:no|number|num|ref|reference|id)\b)?\.?[ \t]*(?:[:#]|(?i:no)\.?)?[ \t]*"
    r"(?P<ref>[A-Za-z0-9]*\d[A-Za-z0-9]*(?:[/-][A-Za-z0-9]+)*)"
)
_TOKEN_REF = re.compile(r"(?<![\w/\-])[A-Za-z0-9]+(?:[/\-_][A-Za-z0-9]+)*(?![\w\-]|/\w)")
_UNIT = re.compile(
    r"\d+(?:st|nd|rd|th|s|am|pm|mg|ml|g|kg|km|m|k|mph|p|hrs|mins|gb|mb)", re.IGNORECASE
)


def _is_ref_token(token: str) -> bool:
    """A token mixing letters with 4+ digits (not a decade or a number with a unit), or 5+ digits."""
    digits = sum(c.isdigit() for c in token)
    if any(c.isalpha() for c in token):
        return digits >= 4 and not _UNIT.fullmatch(token)
    return digits >= 5 and token.isdigit()


def case_ref_spans(text: str) -> list[Span]:
    """Case references: after a cue (``REF 12345``), and tokens mixing letters with 4+ digits."""
    spans = []
    for m in _REF_CUE.finditer(text):
        ref, explicit = m.group("ref"), m.group("cue").lower().startswith("ref")
        digits = sum(c.isdigit() for c in ref)
        if digits >= (3 if explicit else 4) and (explicit or not _YEAR.fullmatch(ref)):
            spans.append(Span(m.start("ref"), m.end("ref"), "case_ref"))
    for m in _TOKEN_REF.finditer(text):
        money = m.start() > 0 and text[m.start() - 1] in "£$€"
        if _is_ref_token(m.group()) and not money:
            spans.append(Span(m.start(), m.end(), "case_ref"))
    return spans


# --------------------------------------------------------------------------- names
_L = r"[^\W\d_]"
_WORD = re.compile(rf"{_L}(?:{_L}|[\u0300-\u036f])*(?:['’\-]{_L}(?:{_L}|[\u0300-\u036f])*)*")
_CONTRACTION = re.compile(r"(.+?)['’](?:s|m|re|ve|ll|d)$", re.IGNORECASE)


@dataclass(frozen=True)
class Lexicon:
    """Folded words to find: the caller's names and places, and words to leave alone."""

    names: frozenset[str] = frozenset()
    places: frozenset[str] = frozenset()
    place_phrases: tuple[tuple[str, ...], ...] = ()
    allow: frozenset[str] = frozenset()


def _as_list(values: Iterable[str] | str) -> list[str]:
    values = [values] if isinstance(values, str) else values
    return [v.strip() for v in values if isinstance(v, str) and v.strip()]


def make_lexicon(
    *, names: Iterable[str] = (), places: Iterable[str] = (), allow: Iterable[str] = ()
) -> Lexicon:
    """A :class:`Lexicon`; each word of a listed name counts alone (``Jade Hollins`` -> ``Hollins``)."""
    name_words = {
        fold(w)
        for n in _as_list(names)
        for w in _WORD.findall(n)
        if len(w) > 1 and fold(w) not in _PARTICLES
    }
    phrases = {tuple(fold(w) for w in _WORD.findall(p)) for p in _as_list(places)}
    return Lexicon(
        names=frozenset(name_words),
        places=frozenset(p[0] for p in phrases if len(p) == 1),
        place_phrases=tuple(sorted((p for p in phrases if len(p) > 1), key=len, reverse=True)),
        allow=frozenset(fold(w) for a in _as_list(allow) for w in _WORD.findall(a)),
    )


@dataclass
class _Token:
    """A word of the text: where it is, its base (possessive or contraction cut), how it reads."""

    start: int
    end: int
    base: str
    at_start: bool
    kind: str = ""  # "name" / "place" once found
    source: str = ""  # "caller" / "builtin" / "rule" / "title" / "carry"
    folded: str = field(init=False)
    parts: list[str] = field(init=False)
    capitalised: bool = field(init=False)
    acronym: bool = field(init=False)

    def __post_init__(self) -> None:
        self.folded = fold(self.base)
        self.parts = [fold(p) for p in self.base.split("-") if p]
        self.capitalised = self.base[:1].isupper()
        # all capitals (MASE), also with a plural s (GCSEs)
        self.acronym = self.base.isupper() or _ACRONYM_PLURAL.fullmatch(self.base) is not None

    @property
    def possessive(self) -> bool:
        return len(self.base) < self.end - self.start


_ACRONYM_PLURAL = re.compile(r"[A-Z]{2,}s")
_OPENING_QUOTE = re.compile(r"(?:^|\s)[\"']$")


def _sentence_start(text: str, index: int) -> bool:
    """True when ``index`` opens a sentence: start of text, after . ! ? : ; a new line or an opening quote."""
    window = text[max(0, index - 40) : index]  # enough to see past spaces and quotes
    before = window.rstrip(" \t")
    if before.endswith(("“", "‘", "(")) or _OPENING_QUOTE.search(before):
        return True
    before = before.rstrip("\"'”’)")
    return not before or before[-1] in ".!?:;\n"


def _tokens(text: str, protected: list[tuple[int, int]]) -> list[_Token]:
    """The words of ``text`` outside placeholders; ``don't``-style contractions are left out."""
    tokens = []
    for m in _WORD.finditer(text):
        word = m.group()
        if any(a <= m.start() < b for a, b in protected) or fold(word).endswith("n't"):
            continue
        cut = _CONTRACTION.match(word)
        base = cut.group(1) if cut else word
        tokens.append(_Token(m.start(), m.end(), base, _sentence_start(text, m.start())))
    return tokens


def _gap(text: str, a: _Token, b: _Token) -> str:
    return text[a.start + len(a.base) : b.start]


def _mark_places(text: str, tokens: list[_Token], lex: Lexicon) -> None:
    """The caller's places: single words and phrases (``Ashcombe Vale``), any case."""
    for i, tok in enumerate(tokens):
        if tok.folded in lex.places:
            tok.kind, tok.source = "place", "caller"
        for phrase in lex.place_phrases:
            window = tokens[i : i + len(phrase)]
            if (
                len(window) == len(phrase)
                and tuple(t.folded for t in window) == phrase
                and all(_gap(text, x, y).strip() == "" for x, y in itertools.pairwise(window))
            ):
                for t in window:
                    t.kind, t.source = "place", "caller"


def _mark_titles(text: str, tokens: list[_Token]) -> None:
    """Capitalised words and initials after a title (``Mr Smith``, ``Ms. X``, ``DC J. Okafor``)."""
    for i, tok in enumerate(tokens):
        if tok.base not in _TITLES:
            continue
        prev = tok
        for nxt in tokens[i + 1 : i + 4]:
            gap = _gap(text, prev, nxt)
            if not re.fullmatch(r"\.?[ \t]+", gap) or not nxt.capitalised or nxt.base in _TITLES:
                break
            if not nxt.kind:
                nxt.kind, nxt.source = "name", "title"
            prev = nxt
            if len(nxt.base) > 1:
                break


def _listed_kind(tok: _Token, lex: Lexicon) -> str:
    """Where a word is found by list: ``caller``, ``builtin`` or ``''``."""
    folded, parts = tok.folded, tok.parts
    if folded in lex.allow:
        return ""
    if folded in lex.names or any(p in lex.names for p in parts if len(p) > 1):
        return "caller"
    if tok.capitalised and folded in _STOP:
        return ""
    builtin = folded in _BUILTIN or (len(parts) > 1 and all(p in _BUILTIN for p in parts))
    if not builtin or (tok.acronym and (len(tok.base) < 3 or folded in AMBIGUOUS)):
        return ""
    if not tok.capitalised:
        return "" if folded in AMBIGUOUS else "builtin"
    return "builtin"


def _evidence(text: str, tokens: list[_Token], i: int) -> bool:
    """A capitalised word opening a sentence is a name when a reporting verb, a possessive or a surname follows."""
    tok = tokens[i]
    if tok.possessive or _REPORTING.match(text, tok.start + len(tok.base)):
        return True
    if i + 1 < len(tokens):
        nxt = tokens[i + 1]
        return (
            nxt.kind == "name"
            and _gap(text, tok, nxt) in (" ", "\t")
            and nxt.folded not in _BUILTIN_FIRST
        )
    return False


@lru_cache(maxsize=1 << 16)
def _rare(word: str) -> bool:
    """True when folded ``word`` (and ``word`` without a common ending) is not a common English word.

    A word ending in ``-ing`` is never rare (``Sexting``, ``Absconding``): a surname such as
    ``Fielding`` opening a sentence needs other evidence.
    """
    # Imported on first use: wordfreq (with its tokenisers) is a fifth of a second to import,
    # and most reports never meet a word that needs it.
    from wordfreq import zipf_frequency

    if zipf_frequency(word, "en") >= RARE_ZIPF or (len(word) > 5 and word.endswith("ing")):
        return False
    return not any(
        word.endswith(ending)
        and len(word) - len(ending) >= 3
        and zipf_frequency(word[: -len(ending)] + stem, "en") >= RARE_ZIPF
        for ending, stem in _ENDINGS
    )


def _rare_opener(tok: _Token) -> bool:
    """A capitalised word opening a sentence that is no common English word (every part, if hyphenated)."""
    return len(tok.base) > 1 and all(_rare(p) for p in tok.parts if p)


def _stopped(tok: _Token, lex: Lexicon) -> bool:
    """A word never taken for a name by rule: allowed, a stop word or a title."""
    return (
        tok.base in _TITLES
        or tok.folded in lex.allow
        or tok.folded in _STOP
        or tok.parts[0] in _STOP
    )


def _mark_names(text: str, tokens: list[_Token], lex: Lexicon) -> None:
    """Names by list, then by rule inside sentences, then at sentence starts (rare words or with evidence)."""
    for tok in tokens:
        if tok.kind:
            continue
        source = _listed_kind(tok, lex)
        opener = tok.at_start and tok.folded in AMBIGUOUS and tok.folded not in NAME_FIRST
        if source == "caller" or (source and not opener):
            tok.kind, tok.source = "name", source
        elif (
            not source
            and tok.capitalised
            and not tok.acronym
            and not tok.at_start
            and len(tok.base) > 1
            and not _stopped(tok, lex)
        ):
            tok.kind, tok.source = "name", "rule"
    for i, tok in enumerate(tokens):
        if tok.kind or not tok.at_start or not tok.capitalised or tok.acronym:
            continue
        if not _stopped(tok, lex) and (_rare_opener(tok) or _evidence(text, tokens, i)):
            tok.kind, tok.source = "name", "rule"


def _carry(tokens: list[_Token], lex: Lexicon) -> None:
    """A capitalised word found to be a name (or place) anywhere is one everywhere in the text."""
    found: dict[str, str] = {}
    for tok in tokens:
        if tok.kind and tok.capitalised and not _stopped(tok, lex):
            found.setdefault(tok.folded, tok.kind)
    for tok in tokens:
        if not tok.kind and tok.capitalised and tok.folded in found:
            tok.kind, tok.source = found[tok.folded], "carry"


def _run_kind(text: str, run: list[_Token]) -> str:
    """``place`` for a run after ``in`` / ``at`` ... or ending in a place word, unless a name source says otherwise."""
    if any(t.kind == "place" for t in run):
        return "place"
    if any(t.source in ("caller", "title") for t in run) or run[-1].possessive:
        return "name"
    prev = re.search(r"([A-Za-z]+)\W*$", text[: run[0].start])
    cue = prev is not None and prev.group(1) in PLACE_CUES
    return "place" if cue or run[-1].folded in _PLACE_WORDS else "name"


def name_spans(
    text: str, *, names: Iterable[str] = (), places: Iterable[str] = (), allow: Iterable[str] = ()
) -> list[Span]:
    """Spans of personal and place names (a run of name words is one span; a possessive ``'s`` stays)."""
    lex = _lexicon(tuple(_as_list(names)), tuple(_as_list(places)), tuple(_as_list(allow)))
    tokens = _tokens(text, _protected(text))
    _mark_places(text, tokens, lex)
    _mark_titles(text, tokens)
    _mark_names(text, tokens, lex)
    _carry(tokens, lex)
    runs: list[list[_Token]] = []
    for tok in [t for t in tokens if t.kind]:
        last = runs[-1][-1] if runs else None
        if last and not last.possessive and re.fullmatch(r"[ \t]+|-", _gap(text, last, tok)):
            runs[-1].append(tok)
        else:
            runs.append([tok])
    return [_run_span(text, run) for run in runs]


_HOUSE_NUMBER = re.compile(r"\b(?:flat\s+)?\d+[A-Za-z]?,?[ \t]+$", re.IGNORECASE)


def _run_span(text: str, run: list[_Token]) -> Span:
    """The span of a run of name words; a place takes a house number before it (``14 Acacia Road``)."""
    start, end, kind = run[0].start, run[-1].start + len(run[-1].base), _run_kind(text, run)
    number = _HOUSE_NUMBER.search(text, 0, start) if kind == "place" else None
    return Span(number.start() if number else start, end, kind)


@lru_cache(maxsize=64)
def _lexicon(names: tuple[str, ...], places: tuple[str, ...], allow: tuple[str, ...]) -> Lexicon:
    return make_lexicon(names=names, places=places, allow=allow)


# --------------------------------------------------------------------------- together
def _merge(spans: list[Span], protected: list[tuple[int, int]]) -> list[Span]:
    """Overlapping spans joined into one (its kind the first in :data:`PRIORITY`); placeholders kept."""
    rank = {k: i for i, k in enumerate(PRIORITY)}
    kept = [s for s in spans if not any(s.start < b and a < s.end for a, b in protected)]
    merged: list[Span] = []
    for span in sorted(kept):
        if merged and span.start < merged[-1].end:
            last = merged[-1]
            kind = min(last.kind, span.kind, key=rank.__getitem__)
            merged[-1] = Span(last.start, max(last.end, span.end), kind)
        else:
            merged.append(span)
    return merged


def find_identifiers(
    text: str, *, names: Iterable[str] = (), places: Iterable[str] = (), allow: Iterable[str] = ()
) -> list[Span]:
    """Every identifier in ``text``, as non-overlapping :class:`Span` s in text order."""
    text = str(text)
    spans = [
        *email_spans(text),
        *phone_spans(text),
        *date_spans(text),
        *postcode_spans(text),
        *case_ref_spans(text),
        *name_spans(text, names=names, places=places, allow=allow),
    ]
    return _merge(spans, _protected(text))


def deidentify(
    text: str, *, names: Iterable[str] = (), places: Iterable[str] = (), allow: Iterable[str] = ()
) -> str:
    """``text`` with every identifier replaced by its kind's placeholder (``[name]``, ``[phone]`` ...).

    ``names`` / ``places``: names known from the data (matched in any case, without
    accents); ``allow``: capitalised words that are not names here. Running it twice
    changes nothing more.
    """
    text = unicodedata.normalize("NFC", str(text))
    for span in reversed(find_identifiers(text, names=names, places=places, allow=allow)):
        text = text[: span.start] + span.placeholder + text[span.end :]
    return text


# --------------------------------------------------------------------------- risk
_NAME_CUE = re.compile(
    r"\b(?P<cue>called|named|nicknamed|known as|aka|goes by|name is|name was|name's|name’s)"
    r"[ \t]+(?:(?:Mr|Mrs|Ms|Miss|Mx|Dr|DC|PC|DS|DI)\.?[ \t]+)?(?P<word>[^\s,.;:!?]+)"
)
#: Cues after which even a lower-case word is a name (``called`` is too common a verb).
_LOWER_CUES = frozenset({"named", "nicknamed", "known as", "aka", "goes by", "name is", "name was"})
_NOT_A_NAME_AFTER_CUE = _words(
    "a an the me him her them us it you this that back out in up round over off for to on "
    "at by about again after before and or but so my his their our your"
)
_TITLE_WORD = (
    re.compile(r"\b(?:Mr|Mrs|Ms|Mx|Dr|Sgt)\.?[ \t]+(?P<word>[^\s,.;:!?]+)"),
    re.compile(r"\b(?:Miss|DC|PC|DS|DI)\.?[ \t]+(?P<word>[A-Z][^\s,.;:!?]*)"),
)
#: Checked with the placeholders blanked out.
_RISK_SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("an @ sign", re.compile(r"@")),
    ("a web address", re.compile(r"(?i)\b(?:https?://|www\.)|\.(?:com|co\.uk|org|net)\b")),
    ("a run of 5 or more digits", re.compile(r"(?<!\d)\d{5,}(?!\d)")),
    ("a postcode shape", _FULL_POSTCODE),
    ("a date shape", re.compile(r"(?<![\w.])\d{1,4}[/.-]\d{1,2}[/.-]\d{2,4}(?!\w)")),
)
#: Checked on the text as it is.
_RISK_CONTEXT: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("a date-of-birth cue without a [date]",
     re.compile(r"(?i)\b(?:dob|d\.o\.b|date of birth)\b(?!\W{0,3}(?:\w+\W{1,3}){0,2}\[date\])")),
    ("a house number", re.compile(r"\b\d+[A-Za-z]?,?[ \t]+\[place\]")),
)  # fmt: skip


def _cue_risk(text: str) -> list[str]:
    """A word that is not a placeholder after ``called`` / ``named`` ... or after a title."""
    reasons = []
    for m in _NAME_CUE.finditer(text):
        word = m.group("word")
        if word.startswith("[") or fold(word) in _NOT_A_NAME_AFTER_CUE:
            continue
        capital = word[:1].isupper() and not word.isupper() and fold(word) not in _STOP
        lower = m.group("cue").replace("’", "'") in _LOWER_CUES and word[:1].islower()
        if capital or lower:
            reasons.append(f"a word after {m.group('cue')!r}: {word}")
    for pattern in _TITLE_WORD:
        reasons += [
            f"a word after a title: {m.group('word')}"
            for m in pattern.finditer(text)
            if not m.group("word").startswith("[")
            and fold(m.group("word")) not in _NOT_A_NAME_AFTER_CUE
        ]
    return reasons


def risk_reasons(text: str) -> list[str]:
    """Why ``text`` (already de-identified) still looks risky; empty when it looks safe."""
    text = str(text)
    blanked = _PROTECTED.sub("   ", text)
    reasons = [label for label, pattern in _RISK_SHAPES if pattern.search(blanked)]
    if any(_is_phone_run(m.group()) for m in _DIGIT_RUN.finditer(blanked)):
        reasons.append("a phone-like run of digits")
    reasons += [label for label, pattern in _RISK_CONTEXT if pattern.search(text)]
    return reasons + _cue_risk(text)


def looks_risky(text: str) -> bool:
    """True when ``text`` still holds something identifying-looking (see :func:`risk_reasons`)."""
    return bool(risk_reasons(text))
