"""The services' yearly submissions: cases, activities, policy checklist, Spoke survey.

Each service gets hidden parameters (the *truth*: how often risk falls, how many
referrals a Spoke takes, how well young people engage...). Clean tables are drawn
from them with vectorised numpy, a whole service at a time so that young people
re-referred in a later year keep their case reference. Each service-year is then
made messy (:mod:`.messy`) and written as a workbook or a set of CSVs
(:mod:`.writers`), and every injected quirk is returned for the quirk log.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from hubspoke.errors import ParameterError, SchemaError
from hubspoke.spec.raw import ACTIVITIES, CASES, LAYOUT, POLICY, QUIRK_LOG_COLUMNS, SPOKE_SURVEY
from hubspoke.spec.vocab import (
    ACTIVITY_TYPE,
    AGENCY,
    CLOSURE_REASON,
    ETHNICITY,
    GENDER,
    ISOLATION,
    LOOKED_AFTER,
    OUTCOME_SCALES,
    POLICY_ELEMENT,
    POLICY_SCALE,
    POLICY_STATUS,
    REFERRAL_SOURCE,
    RISK_TOOLS,
    RISK_VARIANTS,
    STAY,
    SUPERVISION,
    SUPERVISION_SCALE,
    SYSTEM_ACCESS,
    YES_NO,
    RiskTool,
    is_risk_tool,
)
from hubspoke.synth import messy
from hubspoke.synth.seeds import part_seed
from hubspoke.synth.writers import SheetSpec, csv_body, write_csv_text, write_workbook

#: Referral volume by the service's year of delivery (a new service takes time to build up).
RAMP = (0.75, 1.0, 1.1)
#: Share of a later year's cases who are young people re-referred.
RE_REFERRAL = 0.08
#: Workbooks only for service-years with fewer case rows than this (big ones go to CSV).
XLSX_MAX_ROWS = 5_000
#: At most this many workbooks, the smallest of the service-years drawn for one: at national
#: scale every ``--scale`` then sends the same number of workbooks, so sizes compare fairly.
XLSX_MAX_BOOKS = 16
#: Activities per service-year per 3.5 Spokes (before the ramp and scale):
#: (mean count, participants floor, participants Poisson mean).
ACTIVITY_VOLUME = {
    "Training": (10.0, 4, 15),
    "Consultation": (14.0, 1, 0.4),
    "Awareness - young people": (11.5, 10, 26),
    "Awareness - professionals": (8.0, 8, 15),
    "MASE meeting": (5.0, 6, 5),
    "Strategy meeting": (3.0, 4, 4),
}
LEVEL_PROBS = (0.06, 0.26, 0.38, 0.30)  # risk level at referral: Not at risk .. High
SERAF_RANGE = ((0, 5), (6, 10), (11, 15), (16, 26))

FIRST_NAMES = (
    "Chloe",
    "Jade",
    "Zoé",
    "Renée",
    "Kayleigh",
    "Amira",
    "Tyler",
    "Jordan",
    "Megan",
    "Aaliyah",
    "Leah",
    "Demi",
    "Kai",
    "Bethany",
    "Shannon",
    "Nadia",
    "Liam",
    "Ellie",
    "Mia",
    "Ruby",
)
SURNAMES = (
    "Ashby",
    "Thorne",
    "Pennick",
    "Calloway",
    "Dunmore",
    "Fairweather",
    "Hollis",
    "Merriweather",
    "Okafor",
    "Rahman",
    "Whitlock",
    "Varga",
    "Bramley",
    "Quinlan",
    "Sefton",
)
CASE_NOTES = (
    "Safety plan reviewed",
    "Attended sexual health clinic",
    "Return home interview done",
    "Engaging well in 1-2-1 sessions",
    "Missed two sessions",
    "Joint visit with social worker",
    "Bus fare £4.60 paid for session",
    "Referred to CAMHS",
    "School attendance improving",
    "Strategy meeting held",
    "Phone contact only this month",
)
NAME_NOTES = (
    "Met {first} at school",
    "{first} ({rel}) attended session",
    "Concerns about {first} {last}, older male",
    "Mum {first} {last} called",
    "Worked with {first} on safety plan",
)
ACTIVITY_NOTES = (
    "Venue hire £40",
    "Good feedback",
    "Evaluation forms collected",
    "Co-delivered with host agency",
    "Follow-up session planned",
    "Refreshments £15",
)
ACTIVITY_NAME_NOTES = (
    "Co-delivered with PC {last}",
    "Requested by {first} {last} (DSL)",
    "{first} from CSC attended",
)
POLICY_NOTES = (
    "Reviewed at LSCB sub-group – see minutes",
    "Draft circulated",
    "Awaiting sign-off",
    "Agreed by board",
)
NOTES_ROWS = (
    "Notes: figures for the last quarter are provisional",
    "Data checked by Hub manager before sending",
    "Please contact the Hub manager with any queries",
    "Some cases closed after the return date are shown as open",
)
INVALID = {
    "gender": ("see notes", "TBC", "F?"),
    "referral_source": ("Youth club", "Housing", "Dentist", "Neighbour"),
    "activity_type": ("Team away day", "Drop-in", "Admin"),
    "status": ("Amber", "Red", "Green", "TBC"),
}


@dataclass(frozen=True)
class Profile:
    """How one service-year is sent: format, encoding, styles and which messy features it has."""

    service_id: str
    year: int
    target: messy.Target
    encoding: str  # for CSV sets: utf-8, cp1252 or utf-8-sig
    date_style: str
    identifiers: tuple[str, ...]
    age_text: bool
    recode: frozenset[str]
    sheet_names: dict[str, str]
    seed: int


# ---------------------------------------------------------------------------
# Truth: each service's hidden parameters
# ---------------------------------------------------------------------------

_VARIANT_EFFECT = {
    "Single host, co-located": 0.0,
    "Multi-host": -0.03,
    "Hub outreach": -0.05,
    "Rural dispersed": -0.08,
    "Integrated multi-agency team": 0.08,
}


#: What ``variant_effect`` accepts: a factor on :data:`_VARIANT_EFFECT`, or each variant's effect.
VariantEffect = float | Mapping[str, float]


def variant_effects(variant_effect: VariantEffect = 1.0) -> dict[str, float]:
    """Each model variant's shift of the chance of risk reduction.

    A number scales the programme's default effects (1: as designed, 0: no difference
    between variants, 2: twice as large); a mapping gives each variant's shift
    (variants not named get 0). Used to measure how often group comparisons call a
    difference when there is none, and how often they find one that is there.
    """
    if isinstance(variant_effect, Mapping):
        unknown = sorted(set(variant_effect) - set(_VARIANT_EFFECT))
        if unknown:
            raise ParameterError(
                "unknown model variant", column="variant_effect",
                allowed=list(_VARIANT_EFFECT), found=unknown[0],
            )  # fmt: skip
        return {v: float(variant_effect.get(v, 0.0)) for v in _VARIANT_EFFECT}
    factor = float(variant_effect)
    if not np.isfinite(factor):
        raise ParameterError(
            "not a number", column="variant_effect", allowed="a finite number",
            found=variant_effect,
        )  # fmt: skip
    return {v: e * factor for v, e in _VARIANT_EFFECT.items()}


def make_truth(
    services: pd.DataFrame, rng: np.random.Generator, *, variant_effect: VariantEffect = 1.0
) -> pd.DataFrame:
    """One row per service with the parameters the data are drawn from.

    ``variant_effect``: see :func:`variant_effects` (the default keeps the data as designed).
    """
    n = len(services)
    effect = services["model_variant"].map(variant_effects(variant_effect)).to_numpy(float)
    return pd.DataFrame(
        {
            "service_id": services["service_id"].to_numpy(),
            "p_risk_reduced": np.round(np.clip(rng.uniform(0.25, 0.75, n) + effect, 0.15, 0.85), 3),
            "referral_rate": np.round(rng.uniform(11.0, 17.0, n), 2),
            "engagement": np.round(rng.uniform(0.45, 0.85, n), 3),
            "training_effect": np.round(rng.uniform(0.8, 2.8, n), 2),
            "policy_progress": np.round(rng.uniform(0.2, 0.7, n), 3),
            "spoke_support": np.round(rng.uniform(0.2, 0.9, n), 3),
            "outcome_completeness": np.round(rng.uniform(0.15, 0.7, n), 3),
        }
    )


def service_years(services: pd.DataFrame) -> list[tuple[str, int]]:
    """Every (service_id, year) with a submission: from the start year to 2016."""
    return [
        (sid, year)
        for sid, start in zip(
            services["service_id"], services["start_date"].str[:4].astype(int), strict=True
        )
        for year in range(start, 2017)
    ]


# ---------------------------------------------------------------------------
# Clean tables, a whole service at a time
# ---------------------------------------------------------------------------


def _year_dates(rng: np.random.Generator, year: int, n: int) -> np.ndarray:
    start = np.datetime64(f"{year}-01-01")
    days = 366 if year % 4 == 0 else 365
    return start + rng.integers(0, days, size=n).astype("timedelta64[D]")


def _choice(
    rng: np.random.Generator,
    labels: Sequence[str | None],
    probs: Sequence[float] | np.ndarray,
    n: int,
) -> np.ndarray:
    p = np.asarray(probs, float)
    return np.asarray(labels, dtype=object)[rng.choice(len(labels), size=n, p=p / p.sum())]


def _new_people(
    rng: np.random.Generator, n: int, first_ref: int, prefix: str, width: int, year: int
) -> pd.DataFrame:
    """Young people referred for the first time: who they are (kept if re-referred)."""
    ages = rng.choice(np.arange(9, 20), size=n, p=_AGE_P)
    born = _year_dates(rng, year, n) - (ages * 365.25).astype("timedelta64[D]")
    letters = np.array(list("ABDEFGHJLNPQRSTUWXYZ"))
    return pd.DataFrame(
        {
            "case_ref": [f"{prefix}{i:0{width}d}" for i in range(first_ref, first_ref + n)],
            "young_person_name": _choice(rng, FIRST_NAMES, np.ones(len(FIRST_NAMES)), n)
            + " "
            + _choice(rng, SURNAMES, np.ones(len(SURNAMES)), n),
            "date_of_birth": born,
            "postcode": pd.Series(rng.integers(1, 10, n)).astype(str).radd("ZZ99 ").to_numpy()
            + letters[rng.integers(0, 20, n)]
            + letters[rng.integers(0, 20, n)],
            "gender": _choice(rng, list(GENDER), (0.72, 0.26, 0.02), n),
            "ethnicity": _choice(rng, list(ETHNICITY), (0.75, 0.08, 0.08, 0.06, 0.03), n),
            "disability": _choice(rng, ["Yes", "No", None], (0.22, 0.70, 0.08), n),
            "looked_after": _choice(rng, ["Yes", "No", None], (0.28, 0.66, 0.06), n),
        }
    )


_AGE_P = np.array([0.01, 0.02, 0.06, 0.12, 0.19, 0.22, 0.19, 0.12, 0.04, 0.02, 0.01])
_AGE_P = _AGE_P / _AGE_P.sum()


def _risk_values(levels: np.ndarray, tool: RiskTool, rng: np.random.Generator) -> pd.Series:
    """Risk levels (0-3, -1 missing) written on the service's own tool."""
    if tool == "SERAF":
        lo = np.array([r[0] for r in SERAF_RANGE])[np.clip(levels, 0, 3)]
        hi = np.array([r[1] for r in SERAF_RANGE])[np.clip(levels, 0, 3)]
        scores = lo + np.floor(rng.random(len(levels)) * (hi - lo + 1)).astype(int)
        return pd.Series(scores, dtype="Int64").mask(levels < 0)
    labels = np.array(list(RISK_TOOLS[tool]), dtype=object)
    return pd.Series(labels[np.clip(levels, 0, 3)], dtype=object).mask(levels < 0, None)


def _episodes(
    people: pd.DataFrame,
    year: int,
    t: pd.Series,
    tool: RiskTool,
    hosts: Sequence[str],
    rng: np.random.Generator,
) -> pd.DataFrame:
    """One row per episode of support for ``people`` referred in ``year``."""
    n = len(people)
    referral = np.sort(_year_dates(rng, year, n))
    born = people["date_of_birth"].to_numpy(dtype="datetime64[D]")
    age = ((referral.astype("datetime64[D]") - born).astype(int) // 365.25).astype(int)
    concern = referral - rng.geometric(0.08, n).astype("timedelta64[D]")
    level0 = rng.choice(4, size=n, p=LEVEL_PROBS)
    duration = (14 + rng.gamma(2.0, 85.0, n)).astype(int)
    closure = referral + duration.astype("timedelta64[D]")
    is_open = closure > np.datetime64(f"{year}-12-31")
    p_reduce = t["p_risk_reduced"] * np.where(is_open, 0.7, 1.0)
    reduced = (rng.random(n) < p_reduce) & (level0 > 0)
    drop = 1 + (rng.random(n) < 0.3)
    worse = ~reduced & (rng.random(n) < 0.15) & (level0 < 3)
    level1 = np.where(reduced, np.maximum(level0 - drop, 0), level0 + worse)
    rate = rng.gamma(1.2, np.array([0.4, 1.0, 2.2, 4.0])[level0] / 1.2)
    before = rng.poisson(rate)
    after = rng.poisson(rate * np.where(reduced, 0.35, 0.9))
    months = np.minimum(duration, (np.datetime64(f"{year}-12-31") - referral).astype(int)) / 30.4
    contacts = np.clip(1 + rng.poisson(np.maximum(months, 0.3) * (2 + 4 * t["engagement"])), 1, 300)
    planned = rng.random(n) < t["engagement"]
    reasons = np.where(
        planned,
        _choice(rng, ["Planned ending", "Transferred"], (0.85, 0.15), n),
        _choice(
            rng,
            ["Disengaged", "Moved area", "Transferred", "Other ending"],
            (0.6, 0.2, 0.1, 0.1),
            n,
        ),
    )
    host_boost = {
        "Police": "Police",
        "Children's social care": "Children's social care",
        "Health": "Health",
    }
    src_p = np.array([0.22, 0.34, 0.14, 0.1, 0.08, 0.07, 0.05])
    for h in hosts:
        if h in host_boost:
            src_p[list(REFERRAL_SOURCE).index(host_boost[h])] += 0.06
    frame = pd.DataFrame(
        {
            "case_ref": people["case_ref"].to_numpy(),
            "young_person_name": people["young_person_name"].to_numpy(),
            "date_of_birth": people["date_of_birth"].to_numpy(),
            "postcode": people["postcode"].to_numpy(),
            "age": pd.Series(age, dtype="Int64"),
            "gender": people["gender"].to_numpy(),
            "ethnicity": people["ethnicity"].to_numpy(),
            "disability": people["disability"].to_numpy(),
            "looked_after": people["looked_after"].to_numpy(),
            "concern_date": pd.Series(concern).mask(rng.random(n) < 0.45),
            "referral_date": referral,
            "referral_source": _choice(rng, list(REFERRAL_SOURCE), src_p, n),
            "risk_at_referral": _risk_values(np.where(rng.random(n) < 0.03, -1, level0), tool, rng),
            "risk_latest": _risk_values(np.where(rng.random(n) < 0.08, -1, level1), tool, rng),
            "missing_before": pd.Series(np.minimum(before, 60), dtype="Int64").mask(
                rng.random(n) < 0.1
            ),
            "missing_after": pd.Series(np.minimum(after, 60), dtype="Int64").mask(
                rng.random(n) < 0.15
            ),
            "contacts": pd.Series(contacts, dtype="Int64"),
            "closure_date": pd.Series(closure).mask(is_open),
            "closure_reason": pd.Series(reasons, dtype=object).mask(is_open, None),
        }
    )
    frame = pd.concat([frame, _outcomes(n, is_open, reduced, t, rng), _case_notes(n, rng)], axis=1)
    return frame.assign(_reduced=reduced)


def _outcomes(
    n: int, is_open: np.ndarray, reduced: np.ndarray, t: pd.Series, rng: np.random.Generator
) -> pd.DataFrame:
    """Six 1-5 ratings at start and end: patchy (a real finding), better where risk fell."""
    rec_start = rng.random(n) < t["outcome_completeness"]
    rec_end = rec_start & ~is_open & (rng.random(n) < 0.75)
    cols = {}
    for scale in OUTCOME_SCALES:
        start = np.clip(np.rint(rng.normal(2.4, 0.9, n)), 1, 5).astype(int)
        gain = 0.2 + 1.4 * t["p_risk_reduced"] * np.where(reduced, 1.0, 0.4)
        end = np.clip(np.rint(start + rng.normal(gain, 0.8, n)), 1, 5).astype(int)
        cols[f"outcome_{scale}_start"] = pd.Series(start, dtype="Int64").mask(
            ~rec_start | (rng.random(n) < 0.12)
        )
        cols[f"outcome_{scale}_end"] = pd.Series(end, dtype="Int64").mask(
            ~rec_end | (rng.random(n) < 0.12)
        )
    return pd.DataFrame(cols)


def _name_texts(templates: Sequence[str], n: int, rng: np.random.Generator) -> list[str]:
    firsts = _choice(rng, FIRST_NAMES, np.ones(len(FIRST_NAMES)), n)
    lasts = _choice(rng, SURNAMES, np.ones(len(SURNAMES)), n)
    rels = _choice(rng, ["friend", "sister", "cousin"], (1, 1, 1), n)
    pick = rng.integers(len(templates), size=n)
    return [
        templates[k].format(first=f, last=s, rel=r)
        for k, f, s, r in zip(pick, firsts, lasts, rels, strict=True)
    ]


def _case_notes(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Free-text notes on about a third of rows; some name a person (flagged for the quirk log)."""
    has = rng.random(n) < 0.35
    named = has & (rng.random(n) < 0.12)
    notes = pd.Series(_choice(rng, CASE_NOTES, np.ones(len(CASE_NOTES)), n), dtype=object).mask(
        ~has, None
    )
    idx = np.flatnonzero(named)
    notes.iloc[idx] = _name_texts(NAME_NOTES, len(idx), rng)
    return pd.DataFrame({"notes": notes, "_named": named})


def _risk_tool(svc: pd.Series) -> RiskTool:
    """The service's risk tool, as its reference row names it (one of :data:`RISK_TOOLS`)."""
    tool = str(svc["risk_tool"])
    if not is_risk_tool(tool):
        raise SchemaError(
            "unknown risk tool", column="risk_tool", allowed=list(RISK_TOOLS), found=tool
        )
    return tool


def service_cases(
    svc: pd.Series,
    spokes: pd.DataFrame,
    t: pd.Series,
    years: Sequence[int],
    rng: np.random.Generator,
    scale: float,
) -> dict[int, pd.DataFrame]:
    """Each year's case episodes for one service; re-referred young people keep their case_ref."""
    prefix = ("YP", "CSE-", "HS", "C", "REF-", "Y")[int(str(svc["service_id"])[1:]) % 6]
    width = max(4, len(str(int(60 * int(svc["n_spokes"]) * scale))))
    people = pd.DataFrame()
    out = {}
    next_ref = 1
    for yi, year in enumerate(years):
        in_post = int((spokes["start_year"] <= year).sum())
        n = int(rng.poisson(t["referral_rate"] * in_post * RAMP[min(yi, 2)] * scale))
        n_re = min(int(rng.binomial(n, RE_REFERRAL)), len(people)) if yi else 0
        new = _new_people(rng, n - n_re, next_ref, prefix, width, year)
        next_ref += n - n_re
        again = (
            people.iloc[np.sort(rng.choice(len(people), size=n_re, replace=False))]
            if n_re
            else people.iloc[:0]
        )
        cohort = pd.concat([new, again], ignore_index=True)
        cohort = cohort.iloc[rng.permutation(len(cohort))].reset_index(drop=True)
        out[year] = _episodes(cohort, year, t, _risk_tool(svc), list(spokes["host_setting"]), rng)
        people = pd.concat([people, new], ignore_index=True)
    return out


def service_activities(
    svc: pd.Series,
    spokes: pd.DataFrame,
    t: pd.Series,
    year: int,
    yi: int,
    rng: np.random.Generator,
    scale: float,
) -> pd.DataFrame:
    """Training, consultations, awareness sessions and meetings in one service-year."""
    in_post = spokes.loc[spokes["start_year"] <= year, "spoke_id"].to_numpy()
    factor = len(in_post) / 3.5 * RAMP[min(yi, 2)] * scale
    parts = []
    for kind, (mean, floor, extra) in ACTIVITY_VOLUME.items():
        n = int(rng.poisson(mean * factor))
        parts.append(
            pd.DataFrame(
                {"activity_type": [kind] * n, "participants": floor + rng.poisson(extra, n)}
            )
        )
    frame = pd.concat(parts, ignore_index=True)
    n = len(frame)
    kind = frame["activity_type"].to_numpy()
    prof = [
        "Police",
        "Children's social care",
        "Education",
        "Health",
        "Voluntary sector",
        "Multi-agency",
    ]
    audience = np.select(
        [kind == "Awareness - young people", np.isin(kind, ["MASE meeting", "Strategy meeting"])],
        [
            _choice(rng, ["Young people", "Parents and carers"], (0.93, 0.07), n),
            np.full(n, "Multi-agency", object),
        ],
        _choice(rng, prof, (0.2, 0.25, 0.2, 0.15, 0.1, 0.1), n),
    )
    training = kind == "Training"
    before = np.clip(np.round(rng.normal(4.8, 0.8, n), 1), 1, 9)
    after = np.clip(np.round(before + rng.normal(t["training_effect"], 0.5, n), 1), 1, 10)
    rated = training & (rng.random(n) < 0.8)
    has_note = rng.random(n) < 0.2
    named = has_note & (rng.random(n) < 0.15)
    notes = pd.Series(
        _choice(rng, ACTIVITY_NOTES, np.ones(len(ACTIVITY_NOTES)), n), dtype=object
    ).mask(~has_note, None)
    notes.iloc[np.flatnonzero(named)] = _name_texts(ACTIVITY_NAME_NOTES, int(named.sum()), rng)
    frame = frame.assign(
        activity_date=_year_dates(rng, year, n),
        audience_agency=pd.Series(audience, dtype=object).mask(rng.random(n) < 0.05, None),
        confidence_before=pd.Series(before, dtype="Float64").mask(~rated),
        confidence_after=pd.Series(after, dtype="Float64").mask(~rated),
        spoke_id=pd.Series(_choice(rng, in_post, np.ones(len(in_post)), n), dtype=object).mask(
            rng.random(n) < 0.1, None
        ),
        notes=notes,
        _named=named,
    )
    return frame.sort_values("activity_date", kind="mergesort").reset_index(drop=True)


def service_policy(
    svc: pd.Series, t: pd.Series, years: Sequence[int], rng: np.random.Generator
) -> dict[int, pd.DataFrame]:
    """Each year's policy checklist: every element per area, progressing at the service's pace."""
    las = str(svc["la_codes"]).split(";")
    elements = list(POLICY_ELEMENT)
    k = len(las) * len(elements)
    status = rng.choice(3, size=k, p=(0.5, 0.35, 0.15))
    out = {}
    for yi, year in enumerate(years):
        if yi:
            status = np.minimum(
                3, status + (rng.random(k) < t["policy_progress"]) + (rng.random(k) < 0.05)
            )
        notes = pd.Series(_choice(rng, POLICY_NOTES, (1, 1, 1, 1), k), dtype=object).mask(
            rng.random(k) < 0.7, None
        )
        notes.iloc[0] = POLICY_NOTES[0]
        out[year] = pd.DataFrame(
            {
                "la_code": np.repeat(las, len(elements)),
                "element": np.tile(elements, len(las)),
                "status": np.asarray(POLICY_SCALE, dtype=object)[status],
                "notes": notes,
            }
        )
    return out


def service_survey(
    spokes: pd.DataFrame, t: pd.Series, year: int, rng: np.random.Generator
) -> pd.DataFrame:
    """The Spoke survey: one row per Spoke in post, better where the service supports its Spokes."""
    s = spokes.loc[spokes["start_year"] <= year].reset_index(drop=True)
    n = len(s)
    support = t["spoke_support"]
    sup_idx = np.clip(np.rint(rng.normal(1 + 3 * support, 0.8, n)), 0, 4).astype(int)
    access_p = np.where(s["host_setting"].isin(["Police", "Health"]), 0.25, 0.6)
    access = np.where(
        rng.random(n) < access_p, "Full", np.where(rng.random(n) < 0.7, "Partial", "None")
    )
    iso_idx = np.clip(np.rint(rng.normal(3 - 3 * support, 0.8, n)), 0, 3).astype(int)
    years_in = year - s["start_year"].to_numpy()
    conf = np.clip(np.rint(rng.normal(2.5 + 1.5 * support + 0.4 * years_in, 0.7, n)), 1, 5).astype(
        int
    )
    stay = np.where(
        rng.random(n) < 0.3 + 0.6 * support, "Yes", np.where(rng.random(n) < 0.5, "Unsure", "No")
    )
    return pd.DataFrame(
        {
            "spoke_id": s["spoke_id"].to_numpy(),
            "supervision_frequency": pd.Series(
                np.asarray(SUPERVISION_SCALE, dtype=object)[sup_idx], dtype=object
            ).mask(rng.random(n) < 0.05, None),
            "host_system_access": access.astype(object),
            "feels_isolated": np.asarray(("Never", "Rarely", "Sometimes", "Often"), dtype=object)[
                iso_idx
            ],
            "confidence": pd.Series(conf, dtype="Int64"),
            "intends_to_stay": stay.astype(object),
        }
    )


# ---------------------------------------------------------------------------
# Making it messy
# ---------------------------------------------------------------------------


def _dated(
    frame: pd.DataFrame, columns: Sequence[str], style: str
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Format date columns in the service's style; keep the datetime64 values for sporadic quirks."""
    raw = {c: frame[c].to_numpy(dtype="datetime64[D]") for c in columns if c in frame}
    return frame.assign(**{c: messy.format_dates(v, style) for c, v in raw.items()}), raw


def _recode_rng(profile: Profile, column: str) -> np.random.Generator:
    """The same service codes a column the same way every year."""
    return np.random.default_rng(part_seed(profile.seed, f"{profile.service_id}:{column}"))


def _file_quirks(
    grid: messy.Grid, profile: Profile, rng: np.random.Generator, *, dup_rate: float, title: str
) -> None:
    """Renamed / reordered columns, blank, duplicate and notes rows, title rows (as the table allows)."""
    allowed = set(grid.table.file_quirks)
    if rng.random() < 0.45:
        messy.rename_columns(grid, int(rng.integers(1, 4)), rng)
    if "reordered_columns" in allowed and rng.random() < 0.3:
        messy.reorder_columns(grid, rng)
    if "duplicate_row" in allowed and rng.random() < 0.5:
        messy.duplicate_rows(grid, dup_rate, rng)
    if "blank_row" in allowed and rng.random() < 0.35:
        messy.blank_rows(grid, int(rng.integers(1, 3)), rng)
    if "notes_row" in allowed and rng.random() < 0.3:
        messy.notes_rows(
            grid,
            [NOTES_ROWS[i] for i in rng.permutation(len(NOTES_ROWS))[: int(rng.integers(1, 3))]],
        )
    if profile.target == "xlsx" and "header_offset" in allowed and rng.random() < 0.4:
        titles = [f"{title} (SYNTHETIC DATA)", "Return to the evaluation team"]
        messy.header_offset(grid, titles[: int(rng.integers(1, 3))])


def _named_notes(grid: messy.Grid, named: np.ndarray) -> None:
    pos = np.flatnonzero(named)
    messy.put(grid, "notes", pos, grid.cells["notes"][pos], "name_in_free_text")


def _sporadic_labels(
    grid: messy.Grid,
    columns: Mapping[str, Mapping[str, Sequence[str]]],
    rng: np.random.Generator,
    rate: float,
) -> None:
    for column, vocab in columns.items():
        if column in grid.cells:
            messy.label_variants(grid, column, vocab, rate, rng)


def _recodes(
    grid: messy.Grid, columns: Mapping[str, Mapping[str, Sequence[str]]], profile: Profile
) -> None:
    for column, vocab in columns.items():
        if column in grid.cells and column in profile.recode:
            messy.recode_column(grid, column, vocab, _recode_rng(profile, column))


def _risk_vocab(tool: RiskTool) -> dict[str, tuple[str, ...]]:
    return {label: RISK_VARIANTS[label] for label in RISK_TOOLS[tool]} if tool != "SERAF" else {}


def mess_cases(
    frame: pd.DataFrame, profile: Profile, tool: RiskTool, rng: np.random.Generator, title: str
) -> messy.Grid:
    """Cases as the service sends them."""
    keep = [
        c.name for c in CASES.columns if c.kind != "identifier" or c.name in profile.identifiers
    ]
    dated, raw = _dated(
        frame,
        ["concern_date", "referral_date", "closure_date", "date_of_birth"],
        profile.date_style,
    )
    grid = messy.new_grid(CASES, dated[keep], target=profile.target)
    for c in profile.identifiers:
        grid.column_log.append((c, "direct_identifier", f"{c.replace('_', ' ')} sent"))
    # quarantine-causing quirks first: at most one per row
    messy.quarantine_values(grid, "age", 0.004, rng, [34, 5, 41, 3], "out_of_range")
    for col in [f"outcome_{s}_{w}" for s in OUTCOME_SCALES for w in ("start", "end")]:
        messy.quarantine_values(grid, col, 0.0015, rng, [9, 0, 6, 7], "out_of_range")
    for col in ("missing_before", "missing_after"):
        messy.quarantine_values(grid, col, 0.002, rng, [-1, -3, -2], "out_of_range")
    messy.quarantine_values(grid, "contacts", 0.002, rng, [-2, 450, 999], "out_of_range")
    if tool == "SERAF":
        for col in ("risk_at_referral", "risk_latest"):
            messy.quarantine_values(grid, col, 0.003, rng, [34, 42, -1, 31], "out_of_range")
    messy.quarantine_values(grid, "gender", 0.003, rng, INVALID["gender"], "invalid_label")
    messy.quarantine_values(
        grid, "referral_source", 0.004, rng, INVALID["referral_source"], "invalid_label"
    )
    order = messy.pick(grid, "closure_date", 0.012, rng, clean_row=True)
    early = raw["referral_date"][order] - rng.integers(3, 60, len(order)).astype("timedelta64[D]")
    messy.put(
        grid,
        "closure_date",
        order,
        messy.format_dates(early, profile.date_style),
        "date_order",
        quarantine=True,
    )
    # harmonisable quirks
    _named_notes(grid, frame["_named"].to_numpy())
    if profile.age_text:
        pos = messy.pick(grid, "age", 0.06, rng)
        ages = grid.cells["age"][pos]
        forms = ("{} yrs", "{} years old", "{}yrs", "{} years")
        messy.put(
            grid, "age", pos, [forms[int(rng.integers(4))].format(a) for a in ages], "age_text"
        )
    labels = {
        "gender": GENDER,
        "ethnicity": ETHNICITY,
        "disability": YES_NO,
        "looked_after": LOOKED_AFTER,
        "referral_source": REFERRAL_SOURCE,
        "closure_reason": CLOSURE_REASON,
        "risk_at_referral": _risk_vocab(tool),
        "risk_latest": _risk_vocab(tool),
    }
    _sporadic_labels(grid, labels, rng, 0.03)
    for col in (
        "gender",
        "ethnicity",
        "disability",
        "looked_after",
        "referral_source",
        "concern_date",
        "risk_at_referral",
        "risk_latest",
        "missing_before",
        "missing_after",
    ):
        messy.missing_markers(grid, col, 0.02, rng)
    for col in [f"outcome_{s}_{w}" for s in OUTCOME_SCALES for w in ("start", "end")]:
        messy.missing_markers(grid, col, 0.01, rng)
    for col in ("concern_date", "referral_date", "closure_date"):
        messy.sporadic_dates(grid, col, raw[col], profile.date_style, rng, rate=0.015)
        messy.date_style_note(grid, col, profile.date_style)
    _recodes(grid, labels, profile)
    for col in ("risk_at_referral", "risk_latest"):
        grid.column_log.append((col, "risk_tool", tool))
    _file_quirks(grid, profile, rng, dup_rate=0.012, title=title)
    return grid


def mess_activities(
    frame: pd.DataFrame, profile: Profile, rng: np.random.Generator, title: str
) -> messy.Grid:
    """Activities as the service sends them."""
    dated, raw = _dated(frame, ["activity_date"], profile.date_style)
    grid = messy.new_grid(ACTIVITIES, dated, target=profile.target)
    training = frame["activity_type"].to_numpy() == "Training"
    messy.quarantine_values(grid, "participants", 0.006, rng, [-4, 1200, 2500], "out_of_range")
    for col in ("confidence_before", "confidence_after"):
        messy.quarantine_values(
            grid, col, 0.01, rng, [12, 0, 15, 11.5], "out_of_range", where=training
        )
    messy.quarantine_values(
        grid, "activity_type", 0.005, rng, INVALID["activity_type"], "invalid_label"
    )
    _named_notes(grid, frame["_named"].to_numpy())
    labels = {"activity_type": ACTIVITY_TYPE, "audience_agency": AGENCY}
    _sporadic_labels(grid, labels, rng, 0.03)
    for col, rate in (
        ("audience_agency", 0.02),
        ("confidence_before", 0.02),
        ("confidence_after", 0.02),
    ):
        messy.missing_markers(grid, col, rate, rng)
    messy.sporadic_dates(
        grid, "activity_date", raw["activity_date"], profile.date_style, rng, rate=0.015
    )
    messy.date_style_note(grid, "activity_date", profile.date_style)
    _recodes(grid, labels, profile)
    _file_quirks(grid, profile, rng, dup_rate=0.01, title=title)
    return grid


def mess_policy(
    frame: pd.DataFrame, profile: Profile, rng: np.random.Generator, title: str
) -> messy.Grid:
    """The policy checklist as the service sends it."""
    grid = messy.new_grid(POLICY, frame, target=profile.target)
    messy.quarantine_values(grid, "status", 0.02, rng, INVALID["status"], "invalid_label")
    labels = {"element": POLICY_ELEMENT, "status": POLICY_STATUS}
    _sporadic_labels(grid, labels, rng, 0.05)
    _recodes(grid, labels, profile)
    _file_quirks(grid, profile, rng, dup_rate=0.0, title=title)
    return grid


def mess_survey(
    frame: pd.DataFrame, profile: Profile, rng: np.random.Generator, title: str
) -> messy.Grid:
    """The Spoke survey as the service sends it."""
    grid = messy.new_grid(SPOKE_SURVEY, frame, target=profile.target)
    messy.quarantine_values(grid, "confidence", 0.04, rng, [7, 0, 6], "out_of_range")
    labels = {
        "supervision_frequency": SUPERVISION,
        "host_system_access": SYSTEM_ACCESS,
        "feels_isolated": ISOLATION,
        "intends_to_stay": STAY,
    }
    _sporadic_labels(grid, labels, rng, 0.08)
    messy.missing_markers(grid, "supervision_frequency", 0.04, rng)
    _recodes(grid, labels, profile)
    _file_quirks(grid, profile, rng, dup_rate=0.0, title=title)
    return grid


# ---------------------------------------------------------------------------
# Writing a service-year and logging its quirks
# ---------------------------------------------------------------------------


def _records(laid: messy.Laid, file: str, sheet: str, first_data_row: int) -> list[dict]:
    """Quirk-log records of one laid-out table, with spreadsheet row numbers."""
    cells = laid.cells.assign(
        file=file, sheet=sheet, row=laid.cells["pos"].astype(int) + first_data_row
    )
    rows = laid.row_events.assign(
        file=file, sheet=sheet, column="", row=laid.row_events["pos"].astype(int) + first_data_row
    )
    out = pd.concat([cells, rows], ignore_index=True)[list(QUIRK_LOG_COLUMNS)].to_dict("records")
    out += [
        dict(file=file, sheet=sheet, row=None, column=h, kind=k, detail=d)
        for h, k, d in laid.columns
    ]
    out += [
        dict(file=file, sheet=sheet, row=None, column="", kind=k, detail=d) for k, d in laid.file
    ]
    for r in out:
        r["row"] = None if r["row"] is None else int(r["row"])
    return out


_ENCODING_QUIRK = {"cp1252": "encoding_cp1252", "utf-8-sig": "encoding_bom"}


def write_service_year(
    raw_dir: Path, grids: dict[str, messy.Grid], profile: Profile, hub_name: str
) -> list[dict]:
    """Write one submission (workbook or CSV set) and return its quirk records."""
    records: list[dict] = []
    laid = {name: messy.layout(g) for name, g in grids.items()}
    if profile.target == "xlsx":
        rel = LAYOUT["workbook"].format(year=profile.year, service_id=profile.service_id)
        sheets = []
        for name, lt in laid.items():
            sheet = profile.sheet_names[name]
            sheets.append(
                SheetSpec(sheet, lt.header, lt.rows.tolist(), [[t] for t in lt.title_rows])
            )
            records += _records(lt, rel, sheet, len(lt.title_rows) + 2)
        about = (f"Hub: {hub_name}", f"Service: {profile.service_id}", f"Year: {profile.year}")
        write_workbook(raw_dir / rel, sheets, about=about)
        return records
    for name, lt in laid.items():
        rel = LAYOUT["csv_set"].format(year=profile.year, service_id=profile.service_id, table=name)
        quirks = set(grids[name].table.file_quirks)
        encoding = profile.encoding if _ENCODING_QUIRK.get(profile.encoding) in quirks else "utf-8"
        body = csv_body(lt.header, pd.DataFrame(lt.rows))
        write_csv_text(raw_dir / rel, body, encoding=encoding)
        records += _records(lt, rel, "", 3)
        if encoding in _ENCODING_QUIRK:
            detail = (
                "saved as Windows-1252" if encoding == "cp1252" else "UTF-8 with byte-order mark"
            )
            records.append(
                dict(
                    file=rel,
                    sheet="",
                    row=None,
                    column="",
                    kind=_ENCODING_QUIRK[encoding],
                    detail=detail,
                )
            )
    return records


def make_profiles(
    services: pd.DataFrame, case_counts: dict[tuple[str, int], int], *, seed: int
) -> dict[tuple[str, int], Profile]:
    """Decide how every service-year is sent, making sure each messy feature occurs somewhere."""
    rng = np.random.default_rng(seed)
    sy = service_years(services)
    n = len(sy)
    drawn = [int(i) for i in rng.permutation(n)[: n // 2] if case_counts[sy[i]] < XLSX_MAX_ROWS]
    smallest = sorted(drawn, key=lambda i: (case_counts[sy[i]], i))[:XLSX_MAX_BOOKS]
    xlsx = np.zeros(n, bool)
    xlsx[smallest] = True
    encodings = ("utf-8", "cp1252", "utf-8-sig")
    csv_index = np.cumsum(~xlsx) - 1
    ident_at = set(rng.choice(n, size=max(2, n // 8), replace=False).tolist())
    sids = services["service_id"].tolist()
    age_text = set(rng.choice(sids, size=max(1, len(sids) * 2 // 5), replace=False).tolist())
    recodable = (
        "gender",
        "ethnicity",
        "disability",
        "looked_after",
        "referral_source",
        "closure_reason",
        "risk_at_referral",
        "risk_latest",
        "activity_type",
        "audience_agency",
        "element",
        "status",
        "supervision_frequency",
        "host_system_access",
        "feels_isolated",
        "intends_to_stay",
    )
    styles = {}
    recode = {}
    sheet_names = {}
    for sid in sids:
        styles[sid] = (
            str(rng.choice(["iso", "iso", "dmy_slash", "d_mon_y", "dmy_dot"])),
            str(rng.choice(["cell", "cell", "dmy_slash", "d_mon_y", "iso"])),
        )
        recode[sid] = frozenset(c for c in recodable if rng.random() < 0.3)
        sheet_names[sid] = {
            t.name: str(rng.choice(t.sheet_names))
            for t in (CASES, ACTIVITIES, POLICY, SPOKE_SURVEY)
        }
    out = {}
    for i, (sid, year) in enumerate(sy):
        ids: tuple[str, ...] = ()
        if i in ident_at:
            pool = ("young_person_name", "date_of_birth", "postcode")
            ids = (
                pool
                if i == min(ident_at)
                else tuple(c for c in pool if rng.random() < 0.6) or ("date_of_birth",)
            )
        out[(sid, year)] = Profile(
            service_id=sid,
            year=year,
            target="xlsx" if xlsx[i] else "csv",
            encoding="utf-8" if xlsx[i] else encodings[csv_index[i] % 3],
            date_style=styles[sid][1] if xlsx[i] else styles[sid][0],
            identifiers=ids,
            age_text=sid in age_text,
            recode=recode[sid],
            sheet_names=sheet_names[sid],
            seed=seed,
        )
    return out


def _non_ascii_note(frame: pd.DataFrame, text: str) -> pd.DataFrame:
    """Make sure a Windows-1252 file has a non-ASCII character to get wrong (first row's note)."""
    if frame.empty:
        return frame
    notes = frame["notes"].copy()
    named = frame["_named"].to_numpy().copy() if "_named" in frame else None
    notes.iloc[0] = text
    out = frame.assign(notes=notes)
    if named is not None:
        named[0] = False
        out = out.assign(_named=named)
    return out


def write_submissions(
    raw_dir: Path,
    services: pd.DataFrame,
    spokes: pd.DataFrame,
    *,
    seed: int,
    scale: float,
    variant_effect: VariantEffect = 1.0,
) -> tuple[list[dict], pd.DataFrame]:
    """Write one submission per service-year; return (quirk records, truth per service).

    ``variant_effect``: the difference between model variants (:func:`variant_effects`).
    """
    raw_dir = Path(raw_dir)
    truth = make_truth(
        services, np.random.default_rng(part_seed(seed, "truth")), variant_effect=variant_effect
    )
    svc_by_id = services.set_index("service_id", drop=False)
    truth_by_id = truth.set_index("service_id", drop=False)
    years_of: dict[str, list[int]] = {}
    for sid, year in service_years(services):
        years_of.setdefault(sid, []).append(year)
    cases = {}
    policy = {}
    for sid, years in years_of.items():
        rng = np.random.default_rng(part_seed(seed, f"{sid}:service"))
        sp = spokes[spokes["service_id"] == sid]
        for year, frame in service_cases(
            svc_by_id.loc[sid], sp, truth_by_id.loc[sid], years, rng, scale
        ).items():
            cases[(sid, year)] = frame
        for year, frame in service_policy(
            svc_by_id.loc[sid], truth_by_id.loc[sid], years, rng
        ).items():
            policy[(sid, year)] = frame
    profiles = make_profiles(
        services, {k: len(v) for k, v in cases.items()}, seed=part_seed(seed, "profiles")
    )
    records: list[dict] = []
    counts = []
    for (sid, year), profile in profiles.items():
        rng = np.random.default_rng(part_seed(seed, f"{sid}:{year}"))
        svc, t = svc_by_id.loc[sid], truth_by_id.loc[sid]
        sp = spokes[spokes["service_id"] == sid]
        yi = years_of[sid].index(year)
        acts = service_activities(svc, sp, t, year, yi, rng, scale)
        survey = service_survey(sp, t, year, rng)
        case_frame, pol = cases[(sid, year)], policy[(sid, year)]
        if profile.target == "csv" and profile.encoding == "cp1252":
            case_frame = _non_ascii_note(case_frame, CASE_NOTES[6])
            acts = _non_ascii_note(acts, ACTIVITY_NOTES[0])
        hub = str(svc["hub_name"])
        mess_rng = np.random.default_rng(part_seed(seed, f"{sid}:{year}:messy"))
        grids = {
            "cases": mess_cases(
                case_frame, profile, _risk_tool(svc), mess_rng, f"{hub} - cases {year}"
            ),
            "activities": mess_activities(acts, profile, mess_rng, f"{hub} - activities {year}"),
            "policy": mess_policy(pol, profile, mess_rng, f"{hub} - policy checklist {year}"),
            "spoke_survey": mess_survey(survey, profile, mess_rng, f"{hub} - Spoke survey {year}"),
        }
        records += write_service_year(raw_dir, grids, profile, hub)
        counts.append({"service_id": sid, "n_case_episodes": len(case_frame)})
    n_cases = pd.DataFrame(counts).groupby("service_id", sort=False)["n_case_episodes"].sum()
    truth = truth.assign(n_case_episodes=truth["service_id"].map(n_cases).fillna(0).astype(int))
    return records, truth
