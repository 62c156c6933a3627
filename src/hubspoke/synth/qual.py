"""Synthetic qualitative data: codebook, interviews, coded segments, judgements, refinements, .qdpx.

Everything here is invented. Transcripts are stitched from sentence templates written for
the respondent's role group (:data:`ROLE_GROUPS`): young people and parents speak of "my
worker" / "her worker", Spoke workers of their own work and host, Hub managers of the
service, host professionals of the Spoke in their team, board members of the programme. A
template is used only for the groups it is tagged with (:data:`TEMPLATES`). Facts in the
text come from the service: ``{n_spokes}`` / ``{all_spokes}`` are the Spokes running that
year (Spoke posts with ``start_year <= year``) and ``{year_ord}`` the service's year
(year - first year + 1). Some sentences carry an invented person's name or place name
(logged as ``name_in_excerpt``).

Interviews per service-year: one Hub manager; Spoke workers and host-agency managers no
more than the Spokes running that year; any number of young people, parents and other
professionals (they are different people).

Each theory-relevant sentence is one coded unit; a primary coder codes every transcript
and about a fifth are coded again by a second coder who mostly agrees (a few codes in
:data:`HARD_CODES` are applied less consistently), so Cohen's kappa sits around 0.6-0.8.

Judgements: the transcript's primary coder makes the ``main`` judgement per theory the
interview touches; on about a quarter of transcripts (:data:`DOUBLE_JUDGED_SHARE`) a second
coder makes an independent ``agreement`` judgement that matches the main one with
probability :data:`JUDGEMENT_AGREEMENT` (else one of the other two), which gives Cohen's
kappa about 0.65-0.7 on these data.

Intended theory x context pattern of main judgements (the dominant judgement, drawn with
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

Refinements (:mod:`.refinements`): synthetic evaluators' statements per theory and context
where main judgements refine or refute it, most but not all such contexts.

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
from hubspoke.synth import refinements as refs

LAST_YEAR = 2016
DOMINANT_SHARE = 0.7
DOUBLE_CODED_SHARE = 0.22
#: Share of transcripts whose theory judgements a second coder also makes (agreement only).
DOUBLE_JUDGED_SHARE = 0.25
#: Chance the second coder's judgement equals the main one (else one of the other two):
#: with these data's judgement shares this gives Cohen's kappa about 0.65-0.7.
JUDGEMENT_AGREEMENT = 0.8
CODERS: tuple[str, ...] = ("JR", "AK", "MT", "SB")
#: Spoke posts assumed per service when neither a spokes table nor ``n_spokes`` is given.
DEFAULT_SPOKES = 2

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

#: Who speaks from where: each respondent role's group, which decides the templates it uses.
ROLE_GROUPS: dict[str, str] = {
    "Spoke worker": "spoke", "Hub manager": "hub", "Host-agency manager": "host",
    "Police": "host", "Social care": "host", "Health": "host", "Education": "host",
    "Young person": "young", "Parent or carer": "parent", "Board member or commissioner": "board",
}  # fmt: skip

#: Child codes: (code_id, label, description).
CODE_INFO: tuple[tuple[str, str, str], ...] = (
    ("PT1-C1", "Spoke based in a police or social care office", "The Spoke works from the host agency's premises day to day."),
    ("PT1-M1", "Spoke co-located with police builds trust", "Being seen every day makes host staff trust and approach the Spoke."),
    ("PT1-M2", "Informal conversations share concerns early", "Corridor and kitchen conversations pass on worries before a formal referral."),
    ("PT1-O1", "Earlier identification and referral", "Young people at risk are identified and referred sooner."),
    ("PT2-C1", "Young people with poor past experience of services", "Young people who have been let down before and distrust professionals."),
    ("PT2-M1", "Worker keeps showing up", "Persistence and flexible, not time-limited contact."),
    ("PT2-M2", "Young person feels listened to", "The young person feels heard rather than judged."),
    ("PT2-O1", "Young person engages and risk reduces", "Engagement is sustained and assessed risk falls."),
    ("PT2-O2", "Fewer missing episodes", "Missing episodes become less frequent."),
    ("PT3-C1", "Spoke is the only CSE specialist in a large host team", "A lone specialist in a busy generic team."),
    ("PT3-M1", "Regular Hub supervision and peer contact", "Supervision and team days at the Hub keep the worker connected."),
    ("PT3-M2", "Spoke keeps a clear specialist identity", "The worker stays a specialist rather than being absorbed into host work."),
    ("PT3-O1", "Spoke retained and confident in role", "The worker stays in post and feels confident."),
    ("PT4-C1", "Host staff unsure how to recognise CSE", "Professionals lack confidence about the signs of exploitation."),
    ("PT4-M1", "Case consultation on live cases", "The Spoke advises colleagues on their own current cases."),
    ("PT4-M2", "Training gives a shared language", "Training builds a common understanding of exploitation."),
    ("PT4-O1", "Professionals recognise and refer with confidence", "Professionals spot CSE and refer appropriately."),
    ("PT5-C1", "Local strategy absent or newly drafted", "There was little or no local CSE strategy at the start."),
    ("PT5-M1", "Spoke brings case evidence to MASE", "The Spoke presents anonymised practice evidence at strategic meetings."),
    ("PT5-M2", "Senior leaders commit when they hear practice", "Leaders commit resources after hearing from practice."),
    ("PT5-O1", "Procedures and data sharing in place", "Procedures, data sharing and meetings are in place and sustained."),
    ("PT6-C1", "Dispersed or rural area with long travel", "Large, rural or scattered areas with poor transport."),
    ("PT6-M1", "Spoke travels to young people", "The worker meets young people in their own community."),
    ("PT6-M2", "Awareness sessions in schools and community venues", "Group awareness work in local venues."),
    ("PT6-O1", "Young people and professionals in new areas reached", "Reach into areas with no previous CSE service."),
)  # fmt: skip

#: Sentence templates per code: (role groups that say it, template). Slots: ``{person}``
#: (an invented name, any form), ``{first}`` (an invented first name), ``{place}``,
#: ``{n_spokes}`` ("three Spokes": running that year), ``{all_spokes}`` ("both Spokes",
#: "all three Spokes") and ``{year_ord}`` ("second": the service's year). Templates keep
#: every other word lower case apart from allow-listed acronyms and role words (see
#: :mod:`hubspoke.privacy.redact`), never open with a name slot, hold one sentence ending in
#: a full stop, and name Spokes or years only through the fact slots.
TEMPLATES: dict[str, tuple[tuple[str, str], ...]] = {
    "PT1-C1": (
        ("spoke", "I sit in the same office as the missing persons team three days a week."),
        ("spoke", "my desk is in the social care duty room at {place}, so I am there when referrals come in."),
        ("host", "our Spoke sits in the same office as the missing persons team three days a week."),
        ("host", "the Spoke has a desk in our duty room at {place} so she is there when referrals come in."),
    ),
    "PT1-M1": (
        ("spoke", "once the officers saw me every day they started to trust me and ask for advice."),
        ("spoke", "an officer called {person} told me they would never have rung a charity before, but they walk over to my desk now."),
        ("host", "once our officers saw her every day they started to trust her and ask for advice."),
        ("host", "an officer called {person} said they would never have rung a charity before, but they walk over to the Spoke now."),
    ),
    "PT1-M2": (
        ("spoke", "a lot of it happens over a cup of tea, someone mentions a girl going missing and I pick it up."),
        ("spoke", "the informal chats in the host office mean I hear about concerns before anything is written down."),
        ("host", "a lot of it happens over a cup of tea, someone mentions a girl going missing and the Spoke picks it up."),
        ("host", "the informal chats mean the Spoke hears about concerns before anything is written down."),
    ),
    "PT1-O1": (
        ("spoke", "I am getting referrals much earlier now, sometimes before the first missing episode."),
        ("spoke", "referrals from the police went up noticeably after I moved in with them in {place}."),
        ("host", "we are referring much earlier now, sometimes before the first missing episode."),
        ("host", "referrals from our officers went up noticeably after the Spoke moved in with us in {place}."),
    ),
    "PT2-C1": (
        ("young", "I have had loads of social workers and none of them stuck around."),
        ("young", "I did not trust anyone from services because they always left."),
        ("parent", "she had been passed from service to service and expected to be let down again."),
        ("parent", "my daughter had six or seven workers before and did not trust any of them."),
        ("spoke", "a lot of the young people I work with have had six or seven workers and do not trust anyone."),
        ("host", "a lot of the young people we refer have had six or seven workers and do not trust anyone."),
    ),
    "PT2-M1": (
        ("young", "my worker {first} never gave up on me, even when I was horrible to her."),
        ("young", "she kept turning up even when I did not answer the door."),
        ("parent", "her worker {first} kept coming round even when she would not come down the stairs."),
        ("parent", "the worker never gave up on her, even when she was rude to her."),
        ("spoke", "I kept turning up even when she did not answer the door, and in the end that mattered."),
        ("host", "the Spoke kept turning up even when the girl did not answer the door, and in the end that mattered."),
    ),
    "PT2-M2": (
        ("young", "she actually listened to me and did not tell me off about where I had been."),
        ("young", "it is the first time someone asked what I wanted instead of telling me what to do."),
        ("parent", "her worker actually listened to her and did not judge her for where she had been."),
        ("parent", "for once someone asked my daughter what she wanted instead of telling her what to do."),
        ("spoke", "I let her talk about what she wanted first, instead of going through a checklist."),
        ("host", "the young person told us the Spoke was the only worker who actually listened to her."),
    ),
    "PT2-O1": (
        ("young", "I go to every session now and I am thinking about going back to college."),
        ("parent", "she goes to every session now and talks about going back to college."),
        ("spoke", "her risk came down from significant to moderate over about six months of work."),
        ("host", "her risk assessment came down from significant to moderate over six months of work with the Spoke."),
    ),
    "PT2-O2": (
        ("young", "I have not run off once since the summer."),
        ("parent", "she has not gone missing once since the summer, which is huge for her."),
        ("spoke", "the missing episodes went from weekly to maybe once a month."),
        ("host", "we have far fewer missing reports for the young people the Spoke works with."),
    ),
    "PT3-C1": (
        ("spoke", "I am the only person in the building who does CSE, so everything lands on my desk."),
        ("hub", "each Spoke is the only CSE specialist in a big host team, which is a lot to carry."),
        ("host", "in a team of forty social workers the Spoke is on her own with this specialism."),
        ("board", "the Spokes are lone specialists inside large teams, and we knew that was a risk."),
    ),
    "PT3-M1": (
        ("spoke", "the monthly supervision at the Hub is what keeps me going."),
        ("spoke", "with {n_spokes} in post we share cases at a team day every fortnight, {person} runs it really well."),
        ("hub", "I supervise {n_spokes} each month and bring them together at the Hub for a team day."),
        ("host", "she goes back to the Hub for supervision every month and it shows."),
        ("board", "the Hub's supervision of the Spokes comes up in every report to the board."),
    ),
    "PT3-M2": (
        ("spoke", "there is always pressure to pick up general casework, and the Hub backs me to say no."),
        ("spoke", "I still feel like a Hub worker, not just another pair of hands for the host."),
        ("hub", "we back our Spokes to say no when hosts try to hand them general casework."),
        ("host", "we did try to give her general cases at the start, but the Hub was clear she stays a specialist."),
    ),
    "PT3-O1": (
        ("spoke", "my confidence has grown massively since the start."),
        ("hub", "{all_spokes} are still in post and this is our {year_ord} year, which says a lot."),
        ("host", "she is much more confident in meetings than when she started with us."),
        ("board", "in its {year_ord} year the service still has {all_spokes} in post."),
    ),
    "PT4-C1": (
        ("spoke", "before my training a lot of host staff thought it was just teenagers making bad choices."),
        ("hub", "the host staff our Spokes meet did not know what to look for or who to ring."),
        ("host", "before the training a lot of our staff thought it was just teenagers making bad choices."),
        ("host", "people in our team did not know what to look for or who to ring."),
    ),
    "PT4-M1": (
        ("spoke", "social workers come to me with a case and talk it through before the strategy meeting."),
        ("spoke", "my consultation slots are booked up every week now, {person} uses them constantly."),
        ("hub", "in our {year_ord} year the consultation slots of the Spokes are booked up every week."),
        ("host", "our social workers take a case to the Spoke and talk it through before the strategy meeting."),
        ("host", "the consultation slots are booked up every week now, {person} uses them constantly."),
    ),
    "PT4-M2": (
        ("spoke", "after my training everyone in the host team was using the same language about grooming and consent."),
        ("hub", "the Spokes have trained most of the frontline staff in their hosts, so there is a shared language now."),
        ("host", "after the training everyone was using the same language about grooming and consent."),
        ("host", "the training at {place} made people see the young person as a victim, not a problem."),
    ),
    "PT4-O1": (
        ("spoke", "the quality of referrals has improved, they are much more specific about the concerns."),
        ("hub", "hosts tell us the quality of referrals has improved since the Spokes started."),
        ("host", "staff told us they feel far more confident raising a concern now."),
        ("host", "our referrals are much more specific about the concerns now."),
    ),
    "PT5-C1": (
        ("hub board", "when we started there was no CSE strategy at all in this area."),
        ("host", "the local protocol was still in draft and nobody owned it."),
        ("board", "the local protocol was still in draft and nobody on the board owned it."),
    ),
    "PT5-M1": (
        ("hub host board", "the Spoke brings anonymised case examples to MASE and it changes the conversation."),
        ("hub board", "having practice examples at the table made the board take it seriously."),
        ("host", "the case examples the Spoke brought to MASE made our senior officers take it seriously."),
    ),
    "PT5-M2": (
        ("hub board", "once the assistant director heard those stories she found money for another post."),
        ("hub board", "a councillor called {person} on the safeguarding board became a real champion after the presentation."),
        ("host", "our superintendent committed officers to the MASE after hearing the examples from the Spoke."),
    ),
    "PT5-O1": (
        ("hub host board", "there is now a data sharing agreement and the MASE meets every month."),
        ("hub board", "the CSE procedure was signed off this year and it is used."),
        ("host", "we now share data with the Spoke under a signed agreement."),
    ),
    "PT6-C1": (
        ("young", "there is one bus a day from {place} so I could never get to the office."),
        ("parent", "it is an hour on the bus from {place} to the nearest town, so she could not get to them."),
        ("spoke hub", "it is an hour on the bus from {place} to the nearest town, so young people cannot come to us."),
        ("spoke hub host", "the area is huge and mostly rural, with nothing for young people in the villages."),
    ),
    "PT6-M1": (
        ("young", "she drives out to see me in {place} because I cannot get to the office."),
        ("young", "we meet in a cafe near my house instead of the office."),
        ("parent", "her worker drives out to see her in {place}, which makes all the difference."),
        ("spoke", "I meet young people in cafes and schools near where they live."),
        ("hub", "our Spokes meet young people in cafes and schools near where they live."),
        ("host", "the Spoke meets young people in cafes and schools near where they live."),
    ),
    "PT6-M2": (
        ("young", "they did a session at school about grooming and that is how I found out about them."),
        ("parent", "the session at her school was the first she had heard about any of this."),
        ("spoke", "I ran awareness sessions in every secondary school in the district."),
        ("hub", "{all_spokes} ran awareness sessions in the secondary schools this year."),
        ("host", "the sessions at the youth club in {place} got a lot of young people talking."),
        ("host", "the Spoke ran awareness sessions in every secondary school in the district."),
    ),
    "PT6-O1": (
        ("young", "loads of people at my school know who to go to now."),
        ("parent", "there was nothing like this round here before."),
        ("spoke", "I am now getting referrals from places that never had a service before."),
        ("hub", "with {n_spokes} out in the areas we now get referrals from places that never had a service before."),
        ("host", "professionals in the outlying areas know who to call now."),
    ),
}  # fmt: skip

#: The codebook's child codes with every template written for them (all role groups).
CODES: tuple[tuple[str, str, str, tuple[str, ...]], ...] = tuple(
    (cid, label, desc, tuple(text for _, text in TEMPLATES[cid])) for cid, label, desc in CODE_INFO
)

#: Codes the second coder applies less consistently (vaguer mechanism codes).
HARD_CODES: frozenset[str] = frozenset({"PT2-M2", "PT3-M2", "PT5-M2", "PT1-M2"})
AGREEMENT = {"easy": 0.76, "hard": 0.55}
#: Chance the second coder also applies a sibling code to a span both coded.
EXTRA_CODE = 0.1
#: Relative weight of templates with a name slot (keeps names to "some sentences").
NAME_TEMPLATE_WEIGHT = 0.4

#: Uncoded sentences between coded ones: (role groups, sentence); none used twice in an interview.
FILLER_TEMPLATES: tuple[tuple[str, str], ...] = (
    ("spoke", "I have been in post since the Spoke posts began."),
    ("spoke host", "it took a while for everyone to settle in at the start."),
    ("spoke hub host", "there is always more demand than we can meet."),
    ("spoke host", "the paperwork side of it is quite heavy, to be honest."),
    ("hub host", "we had a restructure in the spring which slowed things down."),
    ("spoke hub host board", "I spoke to {person} about this last week and she said much the same."),
    ("spoke hub host", "it is different in {place} because the teams are smaller there."),
    ("board", "the board looks at the figures every quarter."),
    ("board", "we are still waiting to hear about funding for next year."),
    ("young", "I was still at school then."),
    ("young", "I did not want to talk to anyone at the start."),
    ("young", "my mate {first} goes there too now."),
    ("young", "I live in {place} with my nan."),
    ("parent", "I did not know where to turn at the start."),
    ("parent", "it has been a hard couple of years for all of us."),
    ("parent", "we live out at {place}, which does not help."),
    ("parent", "her sister {first} noticed the change too."),
)  # fmt: skip
#: The last sentence of an interview: (role groups, sentence).
CLOSER_TEMPLATES: tuple[tuple[str, str], ...] = (
    ("spoke hub host board", "that is probably the main thing I would say."),
    ("spoke hub host board", "I think it is getting better month by month."),
    ("hub", "we are still waiting to hear about funding for next year."),
    ("young parent", "that is about it really."),
    ("young", "it is hard to explain really."),
)  # fmt: skip
#: Every uncoded sentence (fillers and closers), whatever the group.
FILLERS: tuple[str, ...] = tuple(text for _, text in (*FILLER_TEMPLATES, *CLOSER_TEMPLATES))
#: Interview openings: (role groups, opening up to the respondent's first words).
OPENER_TEMPLATES: tuple[tuple[str, str], ...] = (
    ("spoke hub host board", "Interviewer: thank you for talking to us about the Hub and Spoke work. Respondent:"),
    ("spoke hub host board", "Interviewer: can you start by telling me about your part in this? Respondent:"),
    ("spoke hub host board", "Interviewer: what has changed since the service started? Respondent:"),
    ("young parent", "Interviewer: thanks for agreeing to talk to me about the support you have had. Respondent:"),
    ("young", "Interviewer: can you tell me how you met your worker? Respondent:"),
    ("parent", "Interviewer: can you tell me how your family met the worker? Respondent:"),
)  # fmt: skip
OPENERS: tuple[str, ...] = tuple(text for _, text in OPENER_TEMPLATES)

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
#: Roles held by few people in a service-year: the Hub has one manager; Spoke workers and
#: their host-agency managers number no more than the Spokes running (``None``: that many).
ROLE_CAPACITY: dict[str, int | None] = {
    "Hub manager": 1,
    "Spoke worker": None,
    "Host-agency manager": None,
}

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
#: The ``check`` of a judgement: the one that counts, or a second coder's for agreement only.
MAIN, AGREEMENT_CHECK = "main", "agreement"

_NUMBER_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth")


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
            for cid, lab, desc in CODE_INFO
            if cid.startswith(theory + "-")
        ]
    return pd.DataFrame(rows)


def for_group(pool: tuple[tuple[str, str], ...], group: str) -> tuple[str, ...]:
    """The texts of a tagged pool (templates, fillers, openers) that ``group`` may say."""
    return tuple(text for groups, text in pool if group in groups.split())


def theory_codes(theory: str, group: str) -> list[str]:
    """The child codes of ``theory`` that have templates for role group ``group``."""
    return [
        cid
        for cid in TEMPLATES
        if cid.startswith(theory + "-") and for_group(TEMPLATES[cid], group)
    ]


# ---------------------------------------------------------------------------
# Spokes running and facts of a service-year
# ---------------------------------------------------------------------------


def _start_years(services: pd.DataFrame) -> pd.Series:
    """Each service's first programme year, from its start date."""
    return services["start_date"].astype(str).str[:4].astype(int)


def spoke_posts(services: pd.DataFrame, spokes: pd.DataFrame | None = None) -> pd.DataFrame:
    """Spoke posts (service_id, host_setting, start_year): ``spokes`` if given, else derived.

    Without a spokes table each service gets ``n_spokes`` posts (or :data:`DEFAULT_SPOKES`)
    from its start year, host setting unknown.
    """
    if spokes is not None:
        return pd.DataFrame(
            {
                "service_id": spokes["service_id"].astype(str).to_numpy(),
                "host_setting": spokes["host_setting"].astype("string").to_numpy(),
                "start_year": spokes["start_year"].astype(int).to_numpy(),
            }
        )
    counts = (
        services["n_spokes"].astype(int)
        if "n_spokes" in services
        else pd.Series(DEFAULT_SPOKES, index=services.index)
    )
    return pd.DataFrame(
        {
            "service_id": services["service_id"].astype(str).repeat(counts).to_numpy(),
            "host_setting": pd.array([pd.NA] * int(counts.sum()), dtype="string"),
            "start_year": _start_years(services).repeat(counts).to_numpy(),
        }
    )


def spokes_running(posts: pd.DataFrame) -> pd.Series:
    """Spokes running per (service_id, year): posts with ``start_year <= year``."""
    years = pd.DataFrame({"year": range(int(posts["start_year"].min()), LAST_YEAR + 1)})
    return (
        posts.merge(years, how="cross")
        .query("start_year <= year")
        .groupby(["service_id", "year"])
        .size()
    )


def _word(n: int, words: tuple[str, ...]) -> str:
    """``words[n]`` when there is one, else the number in digits."""
    return words[n] if 0 <= n < len(words) else str(n)


def service_facts(running: int, year_of_service: int) -> dict[str, str]:
    """The fact slots of templates: Spokes running (``{n_spokes}``, ``{all_spokes}``) and ``{year_ord}``."""
    word = _word(running, _NUMBER_WORDS)
    return {
        "n_spokes": "one Spoke" if running == 1 else f"{word} Spokes",
        "all_spokes": "our one Spoke"
        if running == 1
        else "both Spokes"
        if running == 2
        else f"all {word} Spokes",
        "year_ord": _word(year_of_service - 1, _ORDINALS),
    }


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


def _fill(template: str, rng: np.random.Generator, facts: dict[str, str]) -> tuple[str, list[str]]:
    """Fill name, place and fact slots; return the sentence and the names used.

    ``facts`` may carry the interview's ``place`` (one locality per interview).
    """
    names: list[str] = []
    values = dict(facts)
    if "{person}" in template:
        values["person"], logged = _person(rng)
        names.append(logged)
    if "{first}" in template:
        values["first"] = str(rng.choice(FIRST_NAMES))
        names.append(values["first"])
    if "{place}" in template:
        values.setdefault("place", str(rng.choice(PLACES)))
        names.append(values["place"])
    sentence = template.format(**values)
    return sentence[0].upper() + sentence[1:], names


def _interview_plan(rng: np.random.Generator, role: str) -> list[str]:
    """The codes a respondent's account touches, in order (only codes with templates for the role)."""
    group = ROLE_GROUPS[role]
    theories = ROLE_THEORIES[role]
    k = int(rng.integers(1, min(3, len(theories)) + 1))
    chosen = sorted(str(t) for t in rng.choice(theories, size=k, replace=False))
    codes = []
    for theory in chosen:
        children = theory_codes(theory, group)
        n = int(rng.integers(2, min(4, len(children)) + 1))
        codes += sorted(str(c) for c in rng.choice(children, size=n, replace=False))
    return codes


def _build_text(
    rng: np.random.Generator, codes: list[str], *, group: str, facts: dict[str, str]
) -> tuple[str, list[tuple[str, int, int]], list[str]]:
    """Interview text in ``group``'s voice, its coded units (code, start, end) and the names in it."""
    parts: list[str] = [str(rng.choice(for_group(OPENER_TEMPLATES, group)))]
    units: list[tuple[str, int, int]] = []
    names: list[str] = []
    pos = len(parts[0]) + 1
    fillers = list(for_group(FILLER_TEMPLATES, group))

    def pick(templates: tuple[str, ...]) -> str:
        weights = np.array([NAME_TEMPLATE_WEIGHT if _has_name_slot(t) else 1.0 for t in templates])
        return str(rng.choice(templates, p=weights / weights.sum()))

    def add(template: str) -> tuple[int, int]:
        nonlocal pos
        sentence, used = _fill(template, rng, facts)
        names.extend(used)
        parts.append(sentence)
        start, pos = pos, pos + len(sentence) + 1
        return start, start + len(sentence)

    for code in codes:
        if fillers and rng.random() < 0.35:
            filler = pick(tuple(fillers))
            fillers.remove(filler)
            add(filler)
        start, end = add(pick(for_group(TEMPLATES[code], group)))
        units.append((code, start, end))
    add(pick(for_group(CLOSER_TEMPLATES, group)))
    return " ".join(parts), units, list(dict.fromkeys(names))


def _has_name_slot(template: str) -> bool:
    """True when the template puts an invented name or place in the text."""
    return any(slot in template for slot in ("{person}", "{first}", "{place}"))


def _visit_dates(rng: np.random.Generator, year: int, n: int) -> list[str]:
    first = dt.date(year, int(rng.integers(3, 12)), int(rng.integers(1, 21)))
    return sorted(
        (first + dt.timedelta(days=int(rng.integers(0, 3)))).isoformat() for _ in range(n)
    )


def _visit_roles(rng: np.random.Generator, n: int, *, running: int) -> list[str]:
    """Roles of one visit's ``n`` interviews: a Spoke worker and the Hub manager first, then
    weighted draws among roles with people left (:data:`ROLE_CAPACITY`)."""
    left = {role: running if cap is None else cap for role, cap in ROLE_CAPACITY.items()}
    roles = [r for r in ("Spoke worker", "Hub manager") if left[r] > 0]
    for role in roles:
        left[role] -= 1
    while len(roles) < n:
        open_roles = [r for r in ROLE_WEIGHTS if left.get(r, 1) > 0]
        weights = np.array([ROLE_WEIGHTS[r] for r in open_roles])
        role = str(rng.choice(open_roles, p=weights / weights.sum()))
        roles.append(role)
        if role in left:
            left[role] -= 1
    return roles


def make_transcripts(
    services: pd.DataFrame, *, posts: pd.DataFrame, rng: np.random.Generator
) -> tuple[pd.DataFrame, dict]:
    """One row per interview; also each transcript's coded units, names, context and facts.

    ``posts`` are the Spoke posts (:func:`spoke_posts`): they bound the Spoke-worker and
    host-manager interviews per service-year and fill the facts in the text.
    """
    running = spokes_running(posts)
    rows: list[dict[str, object]] = []
    extra: dict[str, dict[str, object]] = {}
    for svc in services.sort_values("service_id").to_dict("records"):
        first_year = int(str(svc["start_date"])[:4])
        for year in range(first_year, LAST_YEAR + 1):
            n_running = int(running.get((str(svc["service_id"]), year), 0))
            year_facts = service_facts(n_running, year - first_year + 1)
            n = int(rng.integers(7, 12))
            roles = _visit_roles(rng, n, running=n_running)
            for role, date in zip(roles, _visit_dates(rng, year, n), strict=True):
                tid = f"T{len(rows) + 1:04d}"
                facts = {**year_facts, "place": str(rng.choice(PLACES))}
                text, units, names = _build_text(
                    rng, _interview_plan(rng, role), group=ROLE_GROUPS[role], facts=facts
                )
                rows.append({"transcript_id": tid, "service_id": svc["service_id"], "year": year,
                             "respondent_role": role, "interview_date": date, "text": text})  # fmt: skip
                extra[tid] = {"units": units, "names": names, "variant": svc["model_variant"],
                              "first_year": year == first_year, "facts": year_facts}  # fmt: skip
    return pd.DataFrame(rows), extra


# ---------------------------------------------------------------------------
# Coding
# ---------------------------------------------------------------------------


def assign_coders(transcripts: pd.DataFrame, *, rng: np.random.Generator) -> pd.DataFrame:
    """Per transcript: its first and second coder, and whether it is double-coded / double-judged."""
    rows = []
    for tid in transcripts["transcript_id"]:
        pair = rng.choice(CODERS, size=2, replace=False)
        rows.append(
            {
                "transcript_id": tid,
                "first": str(pair[0]),
                "second": str(pair[1]),
                "double_coded": bool(rng.random() < DOUBLE_CODED_SHARE),
                "double_judged": bool(rng.random() < DOUBLE_JUDGED_SHARE),
            }
        )
    return pd.DataFrame(rows).set_index("transcript_id")


def _siblings(code: str) -> list[str]:
    theory = code.split("-")[0]
    return [c for c in TEMPLATES if c.startswith(theory + "-") and c != code]


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


def make_segments(
    transcripts: pd.DataFrame, *, extra: dict, coders: pd.DataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    """One row per code application (valid rows only, before quirks)."""
    rows = []
    for tr in transcripts.to_dict("records"):
        units = extra[tr["transcript_id"]]["units"]
        who = coders.loc[tr["transcript_id"]]
        codings = [(str(who["first"]), units)]
        if who["double_coded"]:
            codings.append((str(who["second"]), _second_coding(rng, tr["text"], units)))
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


def _other(judgement: str, rng: np.random.Generator) -> str:
    """One of the two judgements other than ``judgement``, at random."""
    return str(rng.choice([j for j in (_S, _R, _F) if j != judgement]))


def _judgement_row(
    tr: dict, theory: str, *, coder: str, check: str, judgement: str, rng: np.random.Generator
) -> dict[str, object]:
    """One row of the judgements file, with a rationale fitting the judgement."""
    rationale = f"{tr['respondent_role']}: {rng.choice(RATIONALES[judgement])}"
    return {"transcript_id": tr["transcript_id"], "theory_id": theory, "coder": coder,
            "check": check, "judgement": judgement, "rationale": rationale}  # fmt: skip


def make_judgements(
    transcripts: pd.DataFrame, *, extra: dict, coders: pd.DataFrame, rng: np.random.Generator
) -> pd.DataFrame:
    """Per transcript and theory touched: the first coder's ``main`` judgement (following
    :data:`PATTERN`) and, on double-judged transcripts, the second coder's ``agreement`` one."""
    rows = []
    for tr in transcripts.to_dict("records"):
        info = extra[tr["transcript_id"]]
        who = coders.loc[tr["transcript_id"]]
        for theory in sorted({code.split("-")[0] for code, _, _ in info["units"]}):
            dominant = PATTERN[theory][info["variant"]]
            if theory == "PT5" and info["first_year"] and dominant == _S:
                dominant = _F
            main = dominant if rng.random() < DOMINANT_SHARE else _other(dominant, rng)
            rows.append(
                _judgement_row(
                    tr, theory, coder=str(who["first"]), check=MAIN, judgement=main, rng=rng
                )
            )
            if who["double_judged"]:
                second = main if rng.random() < JUDGEMENT_AGREEMENT else _other(main, rng)
                rows.append(
                    _judgement_row(
                        tr, theory, coder=str(who["second"]), check=AGREEMENT_CHECK,
                        judgement=second, rng=rng,
                    )
                )  # fmt: skip
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
    """Overwrite a few judgements with invalid values, only where no second judgement pairs with
    them (so the quarantined row is the only one the quirk touches)."""
    alone = judgements.groupby(["transcript_id", "theory_id"])["check"].transform("size").eq(1)
    candidates = np.flatnonzero(alone.to_numpy())
    picks = sorted(
        int(i) for i in rng.choice(candidates, size=len(INVALID_JUDGEMENTS), replace=False)
    )
    column = judgements["judgement"].tolist()
    quirks = []
    for i, bad in zip(picks, INVALID_JUDGEMENTS, strict=True):
        column[i] = bad
        quirks.append(_quirk("judgements", i + 3, "judgement", "invalid_judgement", bad))
    return judgements.assign(judgement=column), quirks


def _usable_segments(
    segments: pd.DataFrame, codebook: pd.DataFrame, texts: dict[str, str]
) -> pd.DataFrame:
    """Segments a refinement may cite: a codebook code within the transcript's text (no quirk rows)."""
    length = segments["transcript_id"].map(texts).str.len()
    return segments.loc[segments["code_id"].isin(codebook["code_id"]) & (segments["end"] <= length)]


def _refinements_with_quirks(
    judgements: pd.DataFrame,
    *,
    transcripts: pd.DataFrame,
    segments: pd.DataFrame,
    contexts: pd.DataFrame,
    rng: np.random.Generator,
) -> tuple[pd.DataFrame, list[dict]]:
    """The refinements file (good rows plus the bad rows of :func:`refinements.bad_rows`) and its quirks."""
    pool = refs.evidence_pool(judgements, transcripts=transcripts, contexts=contexts)
    written, unwritten = refs.make_refinements(pool, segments=segments, rng=rng)
    bad = refs.bad_rows(
        written, unwritten, pool=pool, segments=segments, transcripts=transcripts, rng=rng
    )
    frame, positions = _insert_rows(written, [row for row, *_ in bad], rng)
    frame = frame.assign(refinement_id=[f"R{i + 1:03d}" for i in range(len(frame))])
    quirks = [
        _quirk("refinements", pos + 3, column, kind, detail)
        for pos, (_, column, kind, detail) in zip(positions, bad, strict=True)
    ]
    return frame.loc[:, list(refs.REFINEMENT_COLUMNS)], quirks


def _read_spokes(raw_dir: Path) -> pd.DataFrame | None:
    """The spokes reference already written in ``raw_dir`` (by :func:`hubspoke.synth.generate`), if any."""
    path = raw_dir / LAYOUT["spokes"]
    if not path.is_file():
        return None
    return pd.read_csv(path, skiprows=1, dtype={"service_id": str, "host_setting": str})


def write_qualitative(
    raw_dir: Path, services: pd.DataFrame, *, seed: int, spokes: pd.DataFrame | None = None
) -> list[dict]:
    """Write codebook, transcripts, coded segments, judgements, refinements and the .qdpx; return the quirks.

    ``spokes`` (service_id, host_setting, start_year) gives the Spokes running each year and each
    service's main host setting; when omitted, the spokes reference in ``raw_dir`` is used if it
    is there (``generate`` writes it first), else ``n_spokes`` posts per service from its start.
    """
    raw_dir = Path(raw_dir)
    rng = np.random.default_rng(seed)
    posts = spoke_posts(services, spokes if spokes is not None else _read_spokes(raw_dir))
    codebook = make_codebook()
    transcripts, extra = make_transcripts(services, posts=posts, rng=rng)
    coders = assign_coders(transcripts, rng=rng)
    valid = make_segments(transcripts, extra=extra, coders=coders, rng=rng)
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
    judgements, quirks = _inject_judgement_quirks(
        make_judgements(transcripts, extra=extra, coders=coders, rng=rng), rng
    )
    refinements, ref_quirks = _refinements_with_quirks(
        judgements,
        transcripts=transcripts,
        segments=_usable_segments(segments, codebook, texts),
        contexts=refs.service_contexts(services, posts),
        rng=rng,
    )
    quirks += ref_quirks
    quirks += [_quirk("segments", pos + 3, col, kind, detail) for pos, col, kind, detail in bad]
    quirks += _name_quirks(transcripts, segments, extra)

    _write_csv(raw_dir / LAYOUT["codebook"], codebook)
    _write_csv(raw_dir / LAYOUT["transcripts"], transcripts)
    _write_csv(raw_dir / LAYOUT["segments"], segments)
    _write_csv(raw_dir / LAYOUT["judgements"], judgements)
    _write_csv(raw_dir / LAYOUT["refinements"], refinements)
    _write_project(raw_dir / LAYOUT["qdpx"], codebook, transcripts, valid, rng)
    return quirks
