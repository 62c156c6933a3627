"""The service as a whole: its profile, how complete its data are, and key figures by year.

The report header (hub, phase, Spokes, areas), the completeness of each key column of
the year's cases, activities and survey, and the key figures of every year of the
service up to the one reported, which draw on the risk and policy modules.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from hubspoke import load
from hubspoke.analysis.common import percent
from hubspoke.analysis.service.common import NOT_RECORDED, _open_at_year_end, _rows
from hubspoke.analysis.service.policy import policy_mean_score
from hubspoke.analysis.service.safety import OUTCOME_LABELS, _risk_change
from hubspoke.analysis.service.survey import SURVEY_QUESTIONS
from hubspoke.errors import ParameterError
from hubspoke.spec import vocab

# --------------------------------------------------------------------------- completeness
CASE_COLUMNS: tuple[str, ...] = (
    "age",
    "gender",
    "ethnicity",
    "disability",
    "looked_after",
    "concern_date",
    "referral_source",
    "risk_at_referral",
    "risk_latest",
    "missing_before",
    "missing_after",
    "contacts",
)
SURVEY_COLUMNS: tuple[str, ...] = tuple(SURVEY_QUESTIONS)


def data_completeness(
    tables: Mapping[str, pd.DataFrame], *, service_id: str, year: int
) -> pd.DataFrame:
    """How complete the year's data are: per table and key column, records with a value.

    Columns "table", "item", "applies_to" (which records are counted), "complete",
    "not_recorded", "records" (= complete + not_recorded) and "% complete". For
    outcome scales, "complete" means rated at both start and end. Counts of cases
    records are counts of young people (and a small "not recorded" could identify
    someone), so all three are counts.
    """
    service_id, year = load.check_service_year(service_id, year, tables=tables)
    cases = _rows(tables, "cases", service_id, year)
    closed = cases.loc[~_open_at_year_end(cases, year).to_numpy()]
    activities = _rows(tables, "activities", service_id, year)
    training = activities.loc[activities["activity_type"].astype(object).eq("Training").to_numpy()]
    survey = _rows(tables, "spoke_survey", service_id, year)
    items: list[tuple[str, str, str, pd.Series]] = [
        *(("cases", c, "episodes", cases[c].notna()) for c in CASE_COLUMNS),
        ("cases", "closure_reason", "closed episodes", closed["closure_reason"].notna()),
        *(
            (
                "cases",
                f"outcome {OUTCOME_LABELS[s].lower()} (start and end)",
                "episodes",
                cases[[f"outcome_{s}_start", f"outcome_{s}_end"]].notna().all(axis=1),
            )
            for s in vocab.OUTCOME_SCALES
        ),
        ("activities", "audience_agency", "activities", activities["audience_agency"].notna()),
        ("activities", "spoke_id", "activities", activities["spoke_id"].notna()),
        (
            "activities",
            "confidence before and after",
            "training sessions",
            training[["confidence_before", "confidence_after"]].notna().all(axis=1),
        ),
        *(("spoke_survey", c, "Spoke workers", survey[c].notna()) for c in SURVEY_COLUMNS),
    ]
    out = pd.DataFrame(
        [
            {
                "table": t,
                "item": i,
                "applies_to": a,
                "complete": int(m.sum()),
                "not_recorded": int((~m).sum()),
                "records": len(m),
            }
            for t, i, a, m in items
        ]
    ).astype(
        {
            "table": "string",
            "item": "string",
            "applies_to": "string",
            "complete": "Int64",
            "not_recorded": "Int64",
            "records": "Int64",
        }
    )
    out["% complete"] = (
        out["complete"].astype("Float64") * 100 / out["records"].replace(0, pd.NA)
    ).astype("Float64")
    return out


# --------------------------------------------------------------------------- year on year
def year_on_year(tables: Mapping[str, pd.DataFrame], *, service_id: str, year: int) -> pd.DataFrame:
    """Key figures for every year of the service up to ``year`` (one row per year).

    Columns "young_people" (distinct young people supported), "risk_assessed" (episodes
    with both risk assessments), "risk_reduced", "% risk reduced" (of assessed),
    "episodes_closed", "planned_endings", "% planned endings" (of closed), "professionals_trained"
    (training participants: not young people), "mean_policy_score" (0-3), "policy_change"
    (on the previous year) and "compared_with" (the previous year, or "n/a" for the
    service's first year).
    """
    service_id, year = load.check_service_year(service_id, year, tables=tables)
    years = [y for y in load.available_service_years(tables)[service_id] if y <= year]
    out = pd.DataFrame(
        [_year_figures(tables, service_id, y) for y in years], index=pd.Index(years, name="Year")
    )
    out = out.astype(
        {
            c: "Int64"
            for c in (
                "young_people",
                "risk_assessed",
                "risk_reduced",
                "episodes_closed",
                "planned_endings",
                "professionals_trained",
            )
        }
        | {c: "Float64" for c in ("% risk reduced", "% planned endings", "mean_policy_score")}
    )
    out["policy_change"] = out["mean_policy_score"].diff().astype("Float64")
    previous = [str(years[i - 1]) if i else "n/a" for i in range(len(years))]
    out["compared_with"] = pd.array(previous, dtype="string")
    return out


def _year_figures(
    tables: Mapping[str, pd.DataFrame], service_id: str, year: int
) -> dict[str, float | int]:
    cases = _rows(tables, "cases", service_id, year)
    change = _risk_change(cases)
    closed = cases.loc[~_open_at_year_end(cases, year).to_numpy()]
    planned = closed["closure_reason"].astype(object).isin(vocab.PLANNED_ENDINGS)
    activities = _rows(tables, "activities", service_id, year)
    training = activities["activity_type"].astype(object).eq("Training").to_numpy()
    assessed, reduced = int(change.notna().sum()), int(change.lt(0).fillna(False).sum())
    return {
        "young_people": int(cases["young_person_id"].nunique()),
        "risk_assessed": assessed,
        "risk_reduced": reduced,
        "% risk reduced": percent(reduced, assessed),
        "episodes_closed": len(closed),
        "planned_endings": int(planned.sum()),
        "% planned endings": percent(int(planned.sum()), len(closed)),
        "professionals_trained": int(activities.loc[training, "participants"].fillna(0).sum()),
        "mean_policy_score": policy_mean_score(tables, service_id=service_id, year=year),
    }


# --------------------------------------------------------------------------- profile
def service_profile(tables: Mapping[str, pd.DataFrame], *, service_id: str) -> pd.DataFrame:
    """The report header: hub, phase, start, model variant, risk tool, Spokes and areas.

    Rows (index "Item"): "Service", "Hub", "Phase", "Start date", "Model variant",
    "Risk tool", "Region", "Spoke workers", "Spoke host settings", "Areas covered",
    "Years with data"; one text column "value". No counts of young people:
    Text only.
    """
    services = load.table(tables, "services")
    known = sorted(services["service_id"].astype(str))
    if not isinstance(service_id, str) or service_id not in known:
        raise ParameterError(
            "unknown service", column="service_id", allowed=known, found=service_id
        )
    row = services.loc[services["service_id"].astype(str).eq(service_id).to_numpy()].iloc[0]
    spokes = load.table(tables, "spokes")
    spokes = spokes.loc[spokes["service_id"].astype(str).eq(service_id).to_numpy()].sort_values(
        "spoke_id"
    )
    hosts = "; ".join(
        f"{s.spoke_id}: {s.host_setting} ({s.la_code}, from {s.start_year})"
        for s in spokes.itertuples()
    )
    years = load.available_service_years(tables).get(service_id, [])
    items = {
        "Service": service_id,
        "Hub": row["hub_name"],
        "Phase": f"{int(row['phase'])}",
        "Start date": pd.Timestamp(row["start_date"]).strftime("%d %B %Y"),
        "Model variant": row["model_variant"],
        "Risk tool": row["risk_tool"],
        "Region": row["region"],
        "Spoke workers": f"{int(row['n_spokes'])}",
        "Spoke host settings": hosts or NOT_RECORDED,
        "Areas covered": ", ".join(c.strip() for c in str(row["la_codes"]).split(";") if c.strip()),
        "Years with data": ", ".join(map(str, years)) or "none",
    }
    out = pd.DataFrame(
        {"value": pd.array([str(v) for v in items.values()], dtype="string")},
        index=pd.Index(list(items), name="Item"),
    )
    return out


def service_name(profile: pd.DataFrame) -> str:
    """The Hub's (fictional) name from :func:`service_profile`, for report titles."""
    return str(profile.loc["Hub"].iloc[0])
