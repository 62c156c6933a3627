"""Synthetic qualitative data: codebook, interview transcripts, coded segments, judgements, .qdpx.

Everything here is invented. Transcripts are stitched from sentence templates; some
sentences carry an invented person's name or place name (logged as ``name_in_excerpt``).
Each theory-relevant sentence is one coded unit; a primary coder codes every transcript
and about a fifth are coded again by a second coder who mostly agrees (a few codes in
:data:`HARD_CODES` are applied less consistently), so Cohen's kappa sits around 0.6-0.8.

Intended theory x context pattern of judgements (the dominant judgement, drawn with
probability :data:`DOMINANT_SHARE`; otherwise one of the other two):

====  ======================  ==========  ===========  ============  ===============
 PT   Single host, co-loc.    Multi-host  Hub outreach Rural disp.   Integrated MAT
====  ======================  ==========  ===========  ============  ===============
PT1   supports                refines     refutes      refutes       supports
PT2   supports                supports    supports     refines       supports
PT3   refutes                 supports    supports     refines       refines
PT4   supports                supports    refines      refutes       supports
PT5   supports*               supports*   refutes      supports*     supports*
PT6   refutes                 refines     supports     supports      refutes
====  ======================  ==========  ===========  ============  ===============

``*`` PT5 (strategic presence embeds policy) is ``refines`` in a service's first
programme year everywhere except Hub outreach: policy change takes longer than a year.

The ``.qdpx`` holds the same codebook, transcripts and *valid* code applications: the
rows injected on purpose into ``coded_segments.csv`` (unknown code, positions beyond the
text) are extra rows that a QDA tool could never have exported, so they are CSV-only.
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import numpy as np
import pandas as pd

from hubspoke.io.refiqda import write_qdpx
from hubspoke.spec.raw import LAYOUT, SYNTHETIC_MARKER, QuirkKind

LAST_YEAR = 2016
DOMINANT_SHARE = 0.7
DOUBLE_CODED_SHARE = 0.22
CODERS: tuple[str, ...] = ("JR", "AK", "MT", "SB")

#: Invented names and places injected into transcripts (the one list the generator uses).
FIRST_NAMES: tuple[str, ...] = (
    "Jade", "Kayleigh", "Tyler", "Chelsea", "Liam", "Aisha", "Kieran", "Demi",
    "Shannon", "Reece", "Amira", "Callum", "Leanne", "Marcus", "Sophie", "Declan",
)  # fmt: skip
SURNAMES: tuple[str, ...] = (
    "Hollins", "Pritchard", "Okafor", "Whitlock", "Begum", "Marsden", "Kowalski",
    "Ashworth", "Fenwick", "Doyle", "Rahman", "Catterall",
)  # fmt: skip
PLACES: tuple[str, ...] = (
    "Ashcombe Vale", "Brackenford", "Kingsmere", "Farrowdale", "Eldercombe", "Wynmouth",
    "Hollinsby", "Stourleigh", "Crayfield", "Netherholt",
)  # fmt: skip
TITLES: tuple[str, ...] = ("DC", "PC", "Mrs", "Mr", "Ms")

#: Programme theories: id -> (label, description).
THEORIES: dict[str, tuple[str, str]] = {
    "PT1": ("Co-location speeds identification",
            "Impact area 1: a Spoke placed inside a host agency hears of concerns early, so young people at risk are identified and referred sooner."),
    "PT2": ("Persistent relationship-based work keeps young people engaged",
            "Impact area 1: consistent, non-judgemental direct work builds trust, so young people engage and their risk falls."),
    "PT3": ("Hub supervision protects Spoke workers from isolation",
            "Impact area 2: regular supervision and peer contact from the Hub keep Spoke workers confident and in post."),
    "PT4": ("Consultancy and training build professional capability",
            "Impact area 2: Spoke consultation on live cases and training give host professionals the confidence to recognise and respond to CSE."),
    "PT5": ("Strategic presence embeds local CSE policy",
            "Impact area 3: Spoke evidence at MASE and strategy meetings secures commitment from local policy makers, so procedures are put in place and sustained."),
    "PT6": ("Outreach extends reach to areas without a service",
            "Impact areas 1 and 3: Spokes who travel to dispersed communities raise awareness and reach young people and professionals who had no CSE service."),
}  # fmt: skip

#: Child codes: (code_id, label, description, sentence templates). ``{person}`` and
#: ``{place}`` are filled with invented names; templates keep every other word lower case
#: apart from allow-listed acronyms and role words (see :mod:`hubspoke.privacy.redact`).
CODES: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    ("PT1-C1", "Spoke based in a police or social care office", "The Spoke works from the host agency's premises day to day.",
     ("the Spoke sits in the same office as the missing persons team three days a week.",
      "our Spoke has a desk in the social care duty room at {place} so she is there when referrals come in.")),
    ("PT1-M1", "Spoke co-located with police builds trust", "Being seen every day makes host staff trust and approach the Spoke.",
     ("once the officers saw her every day they started to trust her and ask for advice.",
      "an officer called {person} said they would never have rung a charity before, but they walk over to the Spoke now.")),
    ("PT1-M2", "Informal conversations share concerns early", "Corridor and kitchen conversations pass on worries before a formal referral.",
     ("a lot of it happens over a cup of tea, someone mentions a girl going missing and the Spoke picks it up.",
      "the informal chats mean we hear about concerns before anything is written down.")),
    ("PT1-O1", "Earlier identification and referral", "Young people at risk are identified and referred sooner.",
     ("we are getting referrals much earlier now, sometimes before the first missing episode.",
      "referrals from the police went up noticeably after the Spoke moved in with them in {place}.")),
    ("PT2-C1", "Young people with poor past experience of services", "Young people who have been let down before and distrust professionals.",
     ("a lot of these young people have had six or seven workers and do not trust anyone.",
      "she had been passed from service to service and expected to be let down again.")),
    ("PT2-M1", "Worker keeps showing up", "Persistence and flexible, not time-limited contact.",
     ("the worker kept turning up even when she did not answer the door, and in the end that mattered.",
      "my worker {person} never gave up on me, even when I was horrible to her.")),
    ("PT2-M2", "Young person feels listened to", "The young person feels heard rather than judged.",
     ("she actually listened to me and did not tell me off about where I had been.",
      "it is the first time someone asked what I wanted instead of telling me what to do.")),
    ("PT2-O1", "Young person engages and risk reduces", "Engagement is sustained and assessed risk falls.",
     ("her risk came down from significant to moderate over about six months of work.",
      "he now comes to every session and is talking about going back to college.")),
    ("PT2-O2", "Fewer missing episodes", "Missing episodes become less frequent.",
     ("she has not gone missing once since the summer, which is huge for her.",
      "the missing episodes went from weekly to maybe once a month.")),
    ("PT3-C1", "Spoke is the only CSE specialist in a large host team", "A lone specialist in a busy generic team.",
     ("I am the only person in the building who does CSE, so everything lands on my desk.",
      "in a team of forty social workers the Spoke is on her own with this specialism.")),
    ("PT3-M1", "Regular Hub supervision and peer contact", "Supervision and team days at the Hub keep the worker connected.",
     ("the monthly supervision at the Hub is what keeps me going.",
      "we have a Spoke team day every fortnight where we share cases, {person} runs it really well.")),
    ("PT3-M2", "Spoke keeps a clear specialist identity", "The worker stays a specialist rather than being absorbed into host work.",
     ("there is always pressure to pick up general casework, and the Hub backs me to say no.",
      "I still feel like a Hub worker, not just another pair of hands for the host.")),
    ("PT3-O1", "Spoke retained and confident in role", "The worker stays in post and feels confident.",
     ("all three Spokes are still in post after two years, which says a lot.",
      "my confidence has grown massively since the start.")),
    ("PT4-C1", "Host staff unsure how to recognise CSE", "Professionals lack confidence about the signs of exploitation.",
     ("before the training a lot of staff thought it was just teenagers making bad choices.",
      "people did not know what to look for or who to ring.")),
    ("PT4-M1", "Case consultation on live cases", "The Spoke advises colleagues on their own current cases.",
     ("social workers come to the Spoke with a case and talk it through before the strategy meeting.",
      "the consultation slots are booked up every week now, {person} uses them constantly.")),
    ("PT4-M2", "Training gives a shared language", "Training builds a common understanding of exploitation.",
     ("after the training everyone was using the same language about grooming and consent.",
      "the training at {place} made people see the young person as a victim, not a problem.")),
    ("PT4-O1", "Professionals recognise and refer with confidence", "Professionals spot CSE and refer appropriately.",
     ("the quality of referrals has improved, they are much more specific about the concerns.",
      "staff told us they feel far more confident raising a concern now.")),
    ("PT5-C1", "Local strategy absent or newly drafted", "There was little or no local CSE strategy at the start.",
     ("when we started there was no CSE strategy at all in this area.",
      "the local protocol was still in draft and nobody owned it.")),
    ("PT5-M1", "Spoke brings case evidence to MASE", "The Spoke presents anonymised practice evidence at strategic meetings.",
     ("the Spoke brings anonymised case examples to MASE and it changes the conversation.",
      "having practice examples at the table made the board take it seriously.")),
    ("PT5-M2", "Senior leaders commit when they hear practice", "Leaders commit resources after hearing from practice.",
     ("once the assistant director heard those stories she found money for another post.",
      "a councillor called {person} on the safeguarding board became a real champion after the presentation.")),
    ("PT5-O1", "Procedures and data sharing in place", "Procedures, data sharing and meetings are in place and sustained.",
     ("there is now a data sharing agreement and the MASE meets every month.",
      "the CSE procedure was signed off this year and it is used.")),
    ("PT6-C1", "Dispersed or rural area with long travel", "Large, rural or scattered areas with poor transport.",
     ("it is an hour on the bus from {place} to the nearest town, so young people cannot come to us.",
      "the area is huge and mostly rural, with nothing for young people in the villages.")),
    ("PT6-M1", "Spoke travels to young people", "The worker meets young people in their own community.",
     ("the Spoke meets young people in cafes and schools near where they live.",
      "she drives out to see me in {place} because I cannot get to the office.")),
    ("PT6-M2", "Awareness sessions in schools and community venues", "Group awareness work in local venues.",
     ("we ran awareness sessions in every secondary school in the district.",
      "the sessions at the youth club in {place} got a lot of young people talking.")),
    ("PT6-O1", "Young people and professionals in new areas reached", "Reach into areas with no previous CSE service.",
     ("we are now getting referrals from places that never had a service before.",
      "professionals in the outlying areas know who to call now.")),
)  # fmt: skip

#: Codes the second coder applies less consistently (vaguer mechanism codes).
HARD_CODES: frozenset[str] = frozenset({"PT2-M2", "PT3-M2", "PT5-M2", "PT1-M2"})
AGREEMENT = {"easy": 0.76, "hard": 0.55}
#: Chance the second coder also applies a sibling code to a span both coded.
EXTRA_CODE = 0.1
#: Relative weight of templates with a name slot (keeps names to "some sentences").
NAME_TEMPLATE_WEIGHT = 0.4

FILLERS: tuple[str, ...] = (
    "I have been in this role for about eighteen months.",
    "it took a while for everyone to settle in at the start.",
    "there is always more demand than we can meet.",
    "the paperwork side of it is quite heavy, to be honest.",
    "we had a restructure in the spring which slowed things down.",
    "I think it is getting better year on year.",
    "I spoke to {person} about this last week and she said much the same.",
    "it is different in {place} because the teams are smaller there.",
    "we are still waiting to hear about funding for next year.",
    "that is probably the main thing I would say.",
)  # fmt: skip
OPENERS: tuple[str, ...] = (
    "Interviewer: thank you for talking to us about the Hub and Spoke work. Respondent:",
    "Interviewer: can you start by telling me about your part in this? Respondent:",
    "Interviewer: what has changed over the last year? Respondent:",
)  # fmt: skip

#: Which theories each respondent role talks about.
ROLE_THEORIES: dict[str, tuple[str, ...]] = {
    "Spoke worker": ("PT1", "PT2", "PT3", "PT4", "PT6"),
    "Hub manager": ("PT3", "PT4", "PT5", "PT6"),
    "Host-agency manager": ("PT1", "PT3", "PT4"),
    "Police": ("PT1", "PT4", "PT5"),
    "Social care": ("PT1", "PT2", "PT4"),
    "Health": ("PT2", "PT4", "PT6"),
    "Education": ("PT4", "PT6"),
    "Young person": ("PT2", "PT6"),
    "Parent or carer": ("PT2", "PT6"),
    "Board member or commissioner": ("PT3", "PT5"),
}
ROLE_WEIGHTS: dict[str, float] = {
    "Spoke worker": 3, "Hub manager": 1.5, "Host-agency manager": 1.5, "Police": 1.2,
    "Social care": 1.2, "Health": 0.8, "Education": 0.8, "Young person": 2,
    "Parent or carer": 0.8, "Board member or commissioner": 0.8,
}  # fmt: skip

_S, _R, _F = "supports", "refutes", "refines"
#: Dominant judgement per theory and model variant (the table in the module docstring).
PATTERN: dict[str, dict[str, str]] = {
    "PT1": {"Single host, co-located": _S, "Multi-host": _F, "Hub outreach": _R, "Rural dispersed": _R, "Integrated multi-agency team": _S},
    "PT2": {"Single host, co-located": _S, "Multi-host": _S, "Hub outreach": _S, "Rural dispersed": _F, "Integrated multi-agency team": _S},
    "PT3": {"Single host, co-located": _R, "Multi-host": _S, "Hub outreach": _S, "Rural dispersed": _F, "Integrated multi-agency team": _F},
    "PT4": {"Single host, co-located": _S, "Multi-host": _S, "Hub outreach": _F, "Rural dispersed": _R, "Integrated multi-agency team": _S},
    "PT5": {"Single host, co-located": _S, "Multi-host": _S, "Hub outreach": _R, "Rural dispersed": _S, "Integrated multi-agency team": _S},
    "PT6": {"Single host, co-located": _R, "Multi-host": _F, "Hub outreach": _S, "Rural dispersed": _S, "Integrated multi-agency team": _R},
}  # fmt: skip
RATIONALES: dict[str, tuple[str, ...]] = {
    _S: ("account describes the mechanism firing and the expected outcome",
         "concrete example of the outcome following the mechanism",
         "consistent with the theory in this setting"),
    _R: ("mechanism described but the outcome did not follow",
         "respondent reports the opposite of the expected outcome",
         "context works against the mechanism here"),
    _F: ("outcome seen only under an extra condition the theory does not name",
         "mechanism fires more slowly than the theory assumes",
         "works for some young people or staff but not others"),
}  # fmt: skip
INVALID_JUDGEMENTS: tuple[str, ...] = ("partly supports", "unclear", "supports and refutes")
UNKNOWN_CODES: tuple[str, ...] = ("PT7-M1", "PT2-M9", "PT4-O3")


# ---------------------------------------------------------------------------
# Codebook
# ---------------------------------------------------------------------------


def make_codebook() -> pd.DataFrame:
    """The codebook: one parent row per theory, then its C / M / O child codes."""
    rows = []
    for theory, (label, description) in THEORIES.items():
        rows.append(
            {
                "code_id": theory,
                "label": label,
                "cmo": "",
                "theory_id": theory,
                "parent_code": "",
                "description": description,
            }
        )
        rows += [
            {
                "code_id": cid,
                "label": lab,
                "cmo": cid.split("-")[1][0],
                "theory_id": theory,
                "parent_code": theory,
                "description": desc,
            }
            for cid, lab, desc, _ in CODES
            if cid.startswith(theory + "-")
        ]
    return pd.DataFrame(rows)


_TEMPLATES: dict[str, tuple[str, ...]] = {cid: tpl for cid, _, _, tpl in CODES}


# ---------------------------------------------------------------------------
# Transcripts
# ---------------------------------------------------------------------------


def _person(rng: np.random.Generator) -> tuple[str, str]:
    """An invented person as written in the text, and the name to log (no title)."""
    first, surname = rng.choice(FIRST_NAMES), rng.choice(SURNAMES)
    form = rng.integers(3)
    if form == 0:
        return str(first), str(first)
    if form == 1:
        return f"{first} {surname}", f"{first} {surname}"
    return f"{rng.choice(TITLES)} {surname}", str(surname)


def _fill(template: str, rng: np.random.Generator) -> tuple[str, list[str]]:
    """Fill ``{person}`` / ``{place}`` slots; return the sentence and the names used."""
    names: list[str] = []
    values: dict[str, str] = {}
    if "{person}" in template:
        values["person"], logged = _person(rng)
        names.append(logged)
    if "{place}" in template:
        values["place"] = str(rng.choice(PLACES))
        names.append(values["place"])
    sentence = template.format(**values)
    return sentence[0].upper() + sentence[1:], names


def _interview_plan(rng: np.random.Generator, role: str) -> list[str]:
    """The codes a respondent's account touches, in order."""
    theories = ROLE_THEORIES[role]
    k = int(rng.integers(1, min(3, len(theories)) + 1))
    chosen = sorted(str(t) for t in rng.choice(theories, size=k, replace=False))
    codes = []
    for theory in chosen:
        children = [cid for cid in _TEMPLATES if cid.startswith(theory + "-")]
        n = int(rng.integers(2, min(4, len(children)) + 1))
        codes += sorted(str(c) for c in rng.choice(children, size=n, replace=False))
    return codes


def _build_text(
    rng: np.random.Generator, codes: list[str]
) -> tuple[str, list[tuple[str, int, int]], list[str]]:
    """Interview text, its coded units (code, start, end) and the names in it."""
    parts: list[str] = [str(rng.choice(OPENERS))]
    units: list[tuple[str, int, int]] = []
    names: list[str] = []
    pos = len(parts[0]) + 1

    def pick(templates: tuple[str, ...]) -> str:
        weights = np.array([NAME_TEMPLATE_WEIGHT if "{" in t else 1.0 for t in templates])
        return str(rng.choice(templates, p=weights / weights.sum()))

    def add(template: str) -> tuple[int, int]:
        nonlocal pos
        sentence, used = _fill(template, rng)
        names.extend(used)
        parts.append(sentence)
        start, pos = pos, pos + len(sentence) + 1
        return start, start + len(sentence)

    for code in codes:
        if rng.random() < 0.35:
            add(pick(FILLERS))
        start, end = add(pick(_TEMPLATES[code]))
        units.append((code, start, end))
    add(pick(FILLERS))
    return " ".join(parts), units, list(dict.fromkeys(names))


def _visit_dates(rng: np.random.Generator, year: int, n: int) -> list[str]:
    first = dt.date(year, int(rng.integers(3, 12)), int(rng.integers(1, 21)))
    return sorted(
        (first + dt.timedelta(days=int(rng.integers(0, 3)))).isoformat() for _ in range(n)
    )


def make_transcripts(services: pd.DataFrame, rng: np.random.Generator) -> tuple[pd.DataFrame, dict]:
    """One row per interview; also each transcript's coded units and names."""
    roles = list(ROLE_WEIGHTS)
    weights = np.array(list(ROLE_WEIGHTS.values())) / sum(ROLE_WEIGHTS.values())
    rows: list[dict[str, object]] = []
    extra: dict[str, dict[str, object]] = {}
    for svc in services.sort_values("service_id").to_dict("records"):
        for year in range(int(str(svc["start_date"])[:4]), LAST_YEAR + 1):
            n = int(rng.integers(7, 12))
            visit_roles = ["Spoke worker", "Hub manager", *rng.choice(roles, size=n - 2, p=weights)]
            for role, date in zip(visit_roles, _visit_dates(rng, year, n), strict=True):
                tid = f"T{len(rows) + 1:04d}"
                text, units, names = _build_text(rng, _interview_plan(rng, str(role)))
                rows.append({"transcript_id": tid, "service_id": svc["service_id"], "year": year,
                             "respondent_role": str(role), "interview_date": date, "text": text})  # fmt: skip
                extra[tid] = {"units": units, "names": names, "variant": svc["model_variant"],
                              "first_year": year == int(str(svc["start_date"])[:4])}  # fmt: skip
    return pd.DataFrame(rows), extra


# ---------------------------------------------------------------------------
# Coding
# ---------------------------------------------------------------------------


def _siblings(code: str) -> list[str]:
    theory = code.split("-")[0]
    return [c for c in _TEMPLATES if c.startswith(theory + "-") and c != code]


def _second_coding(
    rng: np.random.Generator, text: str, units: list[tuple[str, int, int]]
) -> list[tuple[str, int, int]]:
    """A second coder's version of the units: mostly the same, sometimes a sibling code or a miss."""
    out = []
    for code, start, end in units:
        p_agree = AGREEMENT["hard" if code in HARD_CODES else "easy"]
        draw = rng.random()
        if draw < p_agree:
            if rng.random() < 0.25:  # trims the first word off the span
                start = text.index(" ", start, end) + 1
            out.append((code, start, end))
            if rng.random() < EXTRA_CODE:
                out.append((str(rng.choice(_siblings(code))), start, end))
        elif draw < p_agree + (1 - p_agree) / 2:
            out.append((str(rng.choice(_siblings(code))), start, end))
    return out


def make_segments(transcripts: pd.DataFrame, extra: dict, rng: np.random.Generator) -> pd.DataFrame:
    """One row per code application (valid rows only, before quirks)."""
    rows = []
    for tr in transcripts.to_dict("records"):
        units = extra[tr["transcript_id"]]["units"]
        coders = rng.choice(CODERS, size=2, replace=False)
        codings = [(str(coders[0]), units)]
        if rng.random() < DOUBLE_CODED_SHARE:
            codings.append((str(coders[1]), _second_coding(rng, tr["text"], units)))
        for coder, applied in codings:
            rows += [
                {
                    "transcript_id": tr["transcript_id"],
                    "service_id": tr["service_id"],
                    "year": tr["year"],
                    "respondent_role": tr["respondent_role"],
                    "coder": coder,
                    "code_id": code,
                    "start": start,
                    "end": end,
                    "excerpt": tr["text"][start:end],
                }  # fmt: skip
                for code, start, end in applied
            ]
    return pd.DataFrame(rows).drop_duplicates(["transcript_id", "coder", "code_id", "start", "end"])


def make_judgements(
    transcripts: pd.DataFrame, extra: dict, rng: np.random.Generator
) -> pd.DataFrame:
    """Per transcript and theory touched: a judgement following :data:`PATTERN`, and a rationale."""
    rows = []
    for tr in transcripts.to_dict("records"):
        info = extra[tr["transcript_id"]]
        for theory in sorted({code.split("-")[0] for code, _, _ in info["units"]}):
            dominant = PATTERN[theory][info["variant"]]
            if theory == "PT5" and info["first_year"] and dominant == _S:
                dominant = _F
            others = [j for j in (_S, _R, _F) if j != dominant]
            judgement = dominant if rng.random() < DOMINANT_SHARE else str(rng.choice(others))
            rationale = f"{tr['respondent_role']}: {rng.choice(RATIONALES[judgement])}"
            rows.append({"transcript_id": tr["transcript_id"], "theory_id": theory,
                         "judgement": judgement, "rationale": rationale})  # fmt: skip
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------
# Quirks
# ---------------------------------------------------------------------------


def _quirk(file_key: str, row: int, column: str, kind: QuirkKind, detail: str) -> dict:
    return {
        "file": LAYOUT[file_key],
        "sheet": "",
        "row": row,
        "column": column,
        "kind": kind,
        "detail": detail,
    }


def _insert_rows(
    frame: pd.DataFrame, new: list[dict], rng: np.random.Generator
) -> tuple[pd.DataFrame, list[int]]:
    """Insert ``new`` rows at random positions; return the frame and each new row's 0-based position."""
    order = list(range(len(frame)))
    for i in range(len(new)):
        order.insert(int(rng.integers(0, len(order) + 1)), len(frame) + i)
    combined = (
        pd.concat([frame, pd.DataFrame(new)], ignore_index=True).iloc[order].reset_index(drop=True)
    )
    return combined, [order.index(len(frame) + i) for i in range(len(new))]


def inject_segment_quirks(
    segments: pd.DataFrame, texts: dict[str, str], rng: np.random.Generator
) -> tuple[pd.DataFrame, list[tuple[int, str, QuirkKind, str]]]:
    """Add unknown-code and out-of-range rows; return (frame, [(position, column, kind, detail)])."""
    picks = rng.choice(len(segments), size=len(UNKNOWN_CODES) + 2, replace=False)
    new: list[dict[str, object]] = []
    meta: list[tuple[str, QuirkKind, str]] = []
    for code, i in zip(UNKNOWN_CODES, picks, strict=False):
        new.append({**segments.iloc[int(i)].to_dict(), "code_id": code})
        meta.append(("code_id", "unknown_code", code))
    for i in picks[len(UNKNOWN_CODES) :]:
        row = segments.iloc[int(i)].to_dict()
        text = texts[row["transcript_id"]]
        end = len(text) + int(rng.integers(5, 40))
        new.append({**row, "end": end, "excerpt": text[row["start"] : end]})
        meta.append(("end", "position_out_of_range", f"end {end} > text length {len(text)}"))
    frame, positions = _insert_rows(segments, new, rng)
    return frame, [(p, *m) for p, m in zip(positions, meta, strict=True)]


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------


def _write_csv(path: Path, frame: pd.DataFrame) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write(SYNTHETIC_MARKER + "\n")
        frame.to_csv(fh, index=False, lineterminator="\n")


def _guid(rng: np.random.Generator) -> str:
    return str(uuid.UUID(bytes=rng.bytes(16), version=4))


def _write_project(
    path: Path,
    codebook: pd.DataFrame,
    transcripts: pd.DataFrame,
    segments: pd.DataFrame,
    rng: np.random.Generator,
) -> None:
    """The .qdpx: same codebook, transcripts (with metadata variables), coders and codings."""
    code_guid = {cid: _guid(rng) for cid in codebook["code_id"]}
    codes = codebook.assign(
        guid=codebook["code_id"].map(code_guid),
        name=codebook["code_id"] + " " + codebook["label"],
        parent_guid=codebook["parent_code"].map(code_guid),
        is_codable=codebook["cmo"] != "",
    )
    users = pd.DataFrame({"name": list(CODERS), "guid": [_guid(rng) for _ in CODERS]})
    src_guid = {tid: _guid(rng) for tid in transcripts["transcript_id"]}
    sources = transcripts.assign(
        guid=transcripts["transcript_id"].map(src_guid),
        name=transcripts["transcript_id"],
        case=transcripts["service_id"],
    ).loc[
        :,
        ["guid", "name", "text", "case", "service_id", "year", "respondent_role", "interview_date"],
    ]
    coder_guid = dict(zip(users["name"], users["guid"], strict=True))
    codings = segments.assign(
        source_guid=segments["transcript_id"].map(src_guid),
        selection_guid=[_guid(rng) for _ in range(len(segments))],
        coder_guid=segments["coder"].map(coder_guid),
        code_guid=segments["code_id"].map(code_guid),
    )
    write_qdpx(path, codes=codes, sources=sources, codings=codings, users=users)


def _name_quirks(transcripts: pd.DataFrame, segments: pd.DataFrame, extra: dict) -> list[dict]:
    quirks = []
    for i, tr in enumerate(transcripts.to_dict("records")):
        quirks += [
            _quirk("transcripts", i + 3, "text", "name_in_excerpt", n)
            for n in extra[tr["transcript_id"]]["names"]
        ]
    for i, seg in enumerate(segments.to_dict("records")):
        quirks += [
            _quirk("segments", i + 3, "excerpt", "name_in_excerpt", n)
            for n in extra[seg["transcript_id"]]["names"]
            if n in seg["excerpt"]
        ]
    return quirks


def _inject_judgement_quirks(
    judgements: pd.DataFrame, rng: np.random.Generator
) -> tuple[pd.DataFrame, list[dict]]:
    picks = sorted(
        int(i) for i in rng.choice(len(judgements), size=len(INVALID_JUDGEMENTS), replace=False)
    )
    column = judgements["judgement"].tolist()
    quirks = []
    for i, bad in zip(picks, INVALID_JUDGEMENTS, strict=True):
        column[i] = bad
        quirks.append(_quirk("judgements", i + 3, "judgement", "invalid_judgement", bad))
    return judgements.assign(judgement=column), quirks


def write_qualitative(raw_dir: Path, services: pd.DataFrame, *, seed: int) -> list[dict]:
    """Write codebook, transcripts, coded segments, judgements and the .qdpx; return the quirks."""
    raw_dir = Path(raw_dir)
    rng = np.random.default_rng(seed)
    codebook = make_codebook()
    transcripts, extra = make_transcripts(services, rng)
    valid = make_segments(transcripts, extra, rng)
    texts = dict(zip(transcripts["transcript_id"], transcripts["text"], strict=True))
    segments, bad = inject_segment_quirks(valid, texts, rng)
    segments = segments.assign(segment_id=[f"SG{i + 1:05d}" for i in range(len(segments))]).loc[
        :,
        [
            "segment_id",
            "transcript_id",
            "service_id",
            "year",
            "respondent_role",
            "coder",
            "code_id",
            "start",
            "end",
            "excerpt",
        ],
    ]
    judgements, quirks = _inject_judgement_quirks(make_judgements(transcripts, extra, rng), rng)
    quirks += [_quirk("segments", pos + 3, col, kind, detail) for pos, col, kind, detail in bad]
    quirks += _name_quirks(transcripts, segments, extra)

    _write_csv(raw_dir / LAYOUT["codebook"], codebook)
    _write_csv(raw_dir / LAYOUT["transcripts"], transcripts)
    _write_csv(raw_dir / LAYOUT["segments"], segments)
    _write_csv(raw_dir / LAYOUT["judgements"], judgements)
    _write_project(raw_dir / LAYOUT["qdpx"], codebook, transcripts, valid, rng)
    return quirks
