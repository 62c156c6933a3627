"""The vocabularies of the raw data: labels, the variants services write, ordered scales.

Each vocabulary maps a canonical label to the variants services write for it, in
the normalised form labels are matched in (:func:`normalise_label`: case-insensitive
after trimming and folding inner white space). The risk tools map three instruments
onto one ordered scale. The raw tables (:mod:`hubspoke.spec.raw`) name these for
their columns; cleaning maps every variant to its label, and the generator writes
the variants on purpose.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal, TypeGuard

#: Cell values that mean "not recorded" (after :func:`normalise_label`).
MISSING_MARKERS: frozenset[str] = frozenset(
    {"", "n/k", "nk", "not known", "unknown", "n/a", "na", "-", "--", "?", "none recorded", "null"}
)


def normalise_label(value: object) -> str:
    """Lower-case, trim and fold inner white space: the form variants are matched in."""
    return re.sub(r"\s+", " ", str(value)).strip().lower()


# ---------------------------------------------------------------------------
# Risk tools: three instruments, one ordered scale
# ---------------------------------------------------------------------------

#: The harmonised, ordered risk scale (index = order, 0 lowest).
RISK_SCALE: tuple[str, ...] = ("Not at risk", "Low", "Medium", "High")

#: SERAF score bands (inclusive lower bound -> harmonised level). Scores run 0-30.
SERAF_BANDS: tuple[tuple[int, str], ...] = (
    (0, "Not at risk"),
    (6, "Low"),
    (11, "Medium"),
    (16, "High"),
)
SERAF_MAX = 30

#: The risk tools a service may record with (the keys of :data:`RISK_TOOLS`).
RiskTool = Literal["SERAF", "London Category", "Low/Medium/High"]

#: Each tool's own values (canonical form) and the harmonised level they map to.
RISK_TOOLS: Mapping[RiskTool, Mapping[str, str]] = MappingProxyType(
    {
        "SERAF": MappingProxyType(
            {
                str(s): next(lvl for lo, lvl in reversed(SERAF_BANDS) if s >= lo)
                for s in range(SERAF_MAX + 1)
            }
        ),
        "London Category": MappingProxyType(
            {
                "No category": "Not at risk",
                "Category 1": "Low",
                "Category 2": "Medium",
                "Category 3": "High",
            }
        ),
        "Low/Medium/High": MappingProxyType(
            {"No risk": "Not at risk", "Low": "Low", "Medium": "Medium", "High": "High"}
        ),
    }
)


def is_risk_tool(value: object) -> TypeGuard[RiskTool]:
    """Whether ``value`` names one of the :data:`RISK_TOOLS`."""
    return isinstance(value, str) and value in RISK_TOOLS


#: Variants services write for the London and Low/Medium/High tools' values.
RISK_VARIANTS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "No category": ("no category", "none", "cat 0", "not categorised"),
        "Category 1": ("category 1", "cat 1", "cat1", "1", "c1"),
        "Category 2": ("category 2", "cat 2", "cat2", "2", "c2"),
        "Category 3": ("category 3", "cat 3", "cat3", "3", "c3"),
        "No risk": ("no risk", "not at risk", "nil"),
        "Low": ("low", "l", "low risk"),
        "Medium": ("medium", "med", "m", "medium risk"),
        "High": ("high", "h", "high risk"),
    }
)

# ---------------------------------------------------------------------------
# Vocabularies: canonical label -> variants services write (normalised form)
# ---------------------------------------------------------------------------


def vocabulary(mapping: dict[str, tuple[str, ...]]) -> Mapping[str, tuple[str, ...]]:
    """A read-only vocabulary: each label's variants, in normalised form, the label's own first."""
    return MappingProxyType(
        {k: tuple(dict.fromkeys((normalise_label(k), *v))) for k, v in mapping.items()}
    )


GENDER = vocabulary(
    {
        "Female": ("f", "female", "girl", "woman", "fem"),
        "Male": ("m", "male", "boy", "man"),
        "Non-binary or other": ("non-binary", "nonbinary", "other", "trans", "nb"),
    }
)
ETHNICITY = vocabulary(
    {
        "White": ("white british", "white other", "w", "white - british", "wbri"),
        "Mixed": ("mixed", "mixed heritage", "dual heritage", "mix"),
        "Asian": (
            "asian",
            "asian british",
            "asian or asian british",
            "pakistani",
            "bangladeshi",
            "indian",
        ),
        "Black": (
            "black",
            "black british",
            "black or black british",
            "black african",
            "black caribbean",
        ),
        "Other ethnic group": ("other", "any other", "other ethnic group", "arab"),
    }
)
YES_NO = vocabulary(
    {
        "Yes": ("y", "yes", "true", "1"),
        "No": ("n", "no", "false", "0"),
    }
)
LOOKED_AFTER = vocabulary(
    {
        "Yes": ("y", "yes", "lac", "cla", "looked after", "in care", "1"),
        "No": ("n", "no", "not lac", "not looked after", "0"),
    }
)
REFERRAL_SOURCE = vocabulary(
    {
        "Police": ("police", "pol", "police cse team"),
        "Children's social care": (
            "children's social care",
            "csc",
            "social care",
            "soc care",
            "social worker",
            "childrens social care",
        ),
        "Education": ("education", "school", "college", "edu"),
        "Health": ("health", "gp", "school nurse", "camhs", "sexual health"),
        "Self or family": ("self", "family", "parent", "self/family", "self or family", "mum"),
        "Voluntary sector": ("voluntary sector", "vcs", "charity", "voluntary"),
        "Other": ("other", "oth"),
    }
)
CLOSURE_REASON = vocabulary(
    {
        "Planned ending": ("planned", "planned ending", "planned closure", "goals met"),
        "Disengaged": ("disengaged", "unplanned - disengaged", "did not engage", "dne"),
        "Moved area": ("moved", "moved area", "moved away", "unplanned - moved"),
        "Transferred": ("transferred", "transfer", "referred on"),
        "Other ending": ("other", "other ending"),
    }
)
#: Closure reasons that count as a planned ending (engagement outcome).
PLANNED_ENDINGS: frozenset[str] = frozenset({"Planned ending", "Transferred"})

ACTIVITY_TYPE = vocabulary(
    {
        "Training": ("training", "trng", "training session", "cse training"),
        "Consultation": (
            "consultation",
            "consult",
            "case consultation",
            "professional consultation",
        ),
        "Awareness - young people": (
            "awareness - young people",
            "awareness (yp)",
            "yp awareness",
            "school assembly",
            "awareness yp",
        ),
        "Awareness - professionals": (
            "awareness - professionals",
            "awareness (prof)",
            "prof awareness",
            "awareness raising professionals",
        ),
        "MASE meeting": ("mase meeting", "mase", "mase mtg", "mase panel"),
        "Strategy meeting": (
            "strategy meeting",
            "strategic meeting",
            "cse strategy meeting",
            "strat mtg",
        ),
    }
)
AGENCY = vocabulary(
    {
        "Police": ("police",),
        "Children's social care": ("children's social care", "csc", "social care"),
        "Education": ("education", "school", "schools", "college"),
        "Health": ("health", "nhs", "camhs"),
        "Voluntary sector": ("voluntary sector", "vcs", "charity"),
        "Young people": ("young people", "yp", "pupils", "students"),
        "Parents and carers": ("parents and carers", "parents", "carers", "foster carers"),
        "Multi-agency": ("multi-agency", "multi agency", "mixed", "various"),
        "Other": ("other",),
    }
)
POLICY_ELEMENT = vocabulary(
    {
        "CSE strategy": ("cse strategy", "strategy", "local cse strategy"),
        "CSE procedures": (
            "cse procedures",
            "procedures",
            "cse protocol",
            "safeguarding procedures for cse",
        ),
        "MASE meetings": ("mase meetings", "mase", "multi-agency sexual exploitation meetings"),
        "Data sharing agreement": (
            "data sharing agreement",
            "data sharing",
            "information sharing protocol",
        ),
        "Commissioned CSE service": (
            "commissioned cse service",
            "commissioning",
            "cse service commissioned",
        ),
        "Multi-agency CSE training plan": (
            "multi-agency cse training plan",
            "training plan",
            "cse training plan",
        ),
        "Agreed risk assessment tool": (
            "agreed risk assessment tool",
            "risk tool",
            "risk assessment tool",
        ),
    }
)
POLICY_STATUS = vocabulary(
    {
        "Not started": ("not started", "ns", "no", "none"),
        "In development": ("in development", "in dev", "developing", "draft", "partial"),
        "In place": ("in place", "yes", "done", "agreed"),
        "Embedded": ("embedded", "fully embedded", "embedded in practice"),
    }
)
#: Ordered policy statuses (index = progress score 0-3).
POLICY_SCALE: tuple[str, ...] = ("Not started", "In development", "In place", "Embedded")

SUPERVISION = vocabulary(
    {
        "Weekly": ("weekly", "every week", "1 per week"),
        "Fortnightly": ("fortnightly", "every 2 weeks", "bi-weekly"),
        "Monthly": ("monthly", "every month", "4 weekly"),
        "Less than monthly": ("less than monthly", "less often", "rarely", "quarterly"),
        "None": ("never", "no supervision", "none"),
    }
)
SUPERVISION_SCALE: tuple[str, ...] = (
    "None",
    "Less than monthly",
    "Monthly",
    "Fortnightly",
    "Weekly",
)
SYSTEM_ACCESS = vocabulary(
    {
        "Full": ("full", "full access", "yes"),
        "Partial": ("partial", "some", "limited", "read only"),
        "None": ("no access", "no"),
    }
)
ISOLATION = vocabulary(
    {
        "Never": ("never", "not at all"),
        "Rarely": ("rarely", "seldom"),
        "Sometimes": ("sometimes", "occasionally"),
        "Often": ("often", "always", "very often", "a lot"),
    }
)
ISOLATION_SCALE: tuple[str, ...] = ("Never", "Rarely", "Sometimes", "Often")
STAY = vocabulary(
    {
        "Yes": ("yes", "y", "intend to stay", "staying"),
        "No": ("no", "n", "leaving", "intend to leave"),
        "Unsure": ("unsure", "not sure", "maybe", "don't know"),
    }
)

MODEL_VARIANTS: tuple[str, ...] = (
    "Single host, co-located",
    "Multi-host",
    "Hub outreach",
    "Rural dispersed",
    "Integrated multi-agency team",
)
HOST_SETTINGS: tuple[str, ...] = (
    "Police",
    "Children's social care",
    "Multi-agency team",
    "Health",
    "Voluntary sector",
)
PHASE_START_YEAR: Mapping[int, int] = MappingProxyType({1: 2014, 2: 2015, 3: 2016})

#: The six outcome-rating scales recorded 1-5 at start and end of support.
OUTCOME_SCALES: tuple[str, ...] = (
    "safety",
    "relationships",
    "sexual_health",
    "education",
    "emotional_wellbeing",
    "self_esteem",
)

# ---------------------------------------------------------------------------
# Qualitative: CMO elements, judgements, respondent roles
# ---------------------------------------------------------------------------

CMO_ELEMENTS: Mapping[str, str] = MappingProxyType(
    {"C": "context", "M": "mechanism", "O": "outcome"}
)
JUDGEMENTS: tuple[str, ...] = ("supports", "refutes", "refines")
#: What a theory judgement is for: ``main`` drives verdicts (one per transcript and theory);
#: ``agreement`` is a second coder's independent judgement, kept only to measure agreement.
JUDGEMENT_CHECKS: tuple[str, ...] = ("main", "agreement")
#: The context dimensions a programme theory is refined along.
CONTEXT_DIMENSIONS: tuple[str, ...] = ("model_variant", "host_setting")
#: The main host setting of a service whose Spokes are hosted equally in several settings.
MIXED_HOST_SETTING = "Mixed"
#: The values each context dimension takes (a service's model variant, or its main host setting).
CONTEXT_VALUES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "model_variant": MODEL_VARIANTS,
        "host_setting": (*HOST_SETTINGS, MIXED_HOST_SETTING),
    }
)
RESPONDENT_ROLES: tuple[str, ...] = (
    "Spoke worker",
    "Hub manager",
    "Host-agency manager",
    "Police",
    "Social care",
    "Health",
    "Education",
    "Young person",
    "Parent or carer",
    "Board member or commissioner",
)
