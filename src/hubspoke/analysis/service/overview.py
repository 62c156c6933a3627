"""The service as a whole: its profile, how complete its data are, and key figures by year.

The report header (hub, phase, Spokes, areas), the completeness of each key column of
the year's cases, activities and survey, and the key figures of every year of the
service up to the one reported, which draw on the risk and policy modules.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from hubspoke import load
from hubspoke.analysis.common import percent
from hubspoke.analysis.service.common import (
    NOT_RECORDED,
    _closed_by_year_end,
    _keyed,
    _rows,
)
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
    return _completeness_of(
        _rows(tables, "cases", service_id, year),
        _rows(tables, "activities", service_id, year),
        _rows(tables, "spoke_survey", service_id, year),
        keys=[(service_id, year)],
    )[(service_id, year)]


def completeness_by_service_year(
    tables: Mapping[str, pd.DataFrame],
) -> dict[tuple[str, int], pd.DataFrame]:
    """:func:`data_completeness` of every service-year, counted at once."""
    keys = [(s, y) for s, years in load.available_service_years(tables).items() for y in years]
    return _completeness_of(
        load.table(tables, "cases"),
        load.table(tables, "activities"),
        load.table(tables, "spoke_survey"),
        keys=keys,
    )


#: Each item of :func:`data_completeness`: its table, name and the records it applies to.
_COMPLETENESS_ITEMS: tuple[tuple[str, str, str], ...] = (
    *(("cases", c, "episodes") for c in CASE_COLUMNS),
    ("cases", "closure_reason", "closed episodes"),
    *(
        ("cases", f"outcome {OUTCOME_LABELS[s].lower()} (start and end)", "episodes")
        for s in vocab.OUTCOME_SCALES
    ),
    ("activities", "audience_agency", "activities"),
    ("activities", "spoke_id", "activities"),
    ("activities", "confidence before and after", "training sessions"),
    *(("spoke_survey", c, "Spoke workers") for c in SURVEY_COLUMNS),
)


def _completeness_of(
    cases: pd.DataFrame,
    activities: pd.DataFrame,
    survey: pd.DataFrame,
    *,
    keys: Sequence[tuple[str, int]],
) -> dict[tuple[str, int], pd.DataFrame]:
    """The completeness frame of each (service, year) of ``keys`` from those rows: each
    item's records with a value (``complete``) of the records it applies to."""
    index = pd.MultiIndex.from_tuples(keys, names=["service_id", "year"])
    cases, activities, survey = _keyed(cases), _keyed(activities), _keyed(survey)
    closed = _closed_by_year_end(cases)
    training = activities["activity_type"].astype(object).eq("Training").to_numpy(dtype=bool)
    flags = {
        "cases": (
            cases,
            {c: cases[c].notna() for c in CASE_COLUMNS}
            | {"closure_reason": closed & cases["closure_reason"].notna().to_numpy(dtype=bool)}
            | {
                f"outcome {OUTCOME_LABELS[s].lower()} (start and end)": cases[
                    [f"outcome_{s}_start", f"outcome_{s}_end"]
                ]
                .notna()
                .all(axis=1)
                for s in vocab.OUTCOME_SCALES
            }
            | {"episodes": True, "closed episodes": closed},
        ),
        "activities": (
            activities,
            {c: activities[c].notna() for c in ("audience_agency", "spoke_id")}
            | {
                "confidence before and after": training
                & activities[["confidence_before", "confidence_after"]]
                .notna()
                .all(axis=1)
                .to_numpy(dtype=bool),
                "activities": True,
                "training sessions": training,
            },
        ),
        "spoke_survey": (
            survey,
            {c: survey[c].notna() for c in SURVEY_COLUMNS} | {"Spoke workers": True},
        ),
    }
    sums = {
        name: pd.DataFrame(
            {k: np.broadcast_to(np.asarray(v, dtype=bool), len(rows)) for k, v in columns.items()}
        )
        .groupby([rows["service_id"].to_numpy(), rows["year"].to_numpy()])
        .sum()
        .reindex(index, fill_value=0)
        for name, (rows, columns) in flags.items()
    }
    complete = np.column_stack([sums[t][i].to_numpy() for t, i, _ in _COMPLETENESS_ITEMS]).ravel()
    records = np.column_stack([sums[t][a].to_numpy() for t, _, a in _COMPLETENESS_ITEMS]).ravel()
    labels = np.array(_COMPLETENESS_ITEMS, dtype=object)
    frame = pd.DataFrame(
        {
            "table": np.tile(labels[:, 0], len(keys)),
            "item": np.tile(labels[:, 1], len(keys)),
            "applies_to": np.tile(labels[:, 2], len(keys)),
            "complete": complete,
            "not_recorded": records - complete,
            "records": records,
        }
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
    frame["% complete"] = (
        frame["complete"].astype("Float64") * 100 / frame["records"].replace(0, pd.NA)
    ).astype("Float64")
    n = len(_COMPLETENESS_ITEMS)
    return {
        key: frame.iloc[k * n : (k + 1) * n].reset_index(drop=True) for k, key in enumerate(keys)
    }


# --------------------------------------------------------------------------- year on year
#: The figures of one service-year in the year-on-year table, before the change in policy score.
_YEAR_COUNTS: tuple[str, ...] = (
    "young_people",
    "risk_assessed",
    "risk_reduced",
    "episodes_closed",
    "planned_endings",
    "professionals_trained",
)


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
    years = {service_id: load.available_service_years(tables)[service_id]}
    figures = _year_figures_of(
        _rows(tables, "cases", service_id),
        _rows(tables, "activities", service_id),
        _rows(tables, "policy", service_id),
        years,
    )
    return year_on_year_from(figures, service_id=service_id, year=year)


def year_figures_by_service_year(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """The key figures of every service-year, worked out at once (rows ``(service_id,
    year)``): :func:`year_on_year` of a service-year is its service's rows up to that year.
    A release builds every service report; one at a time works out each earlier year again."""
    return _year_figures_of(
        load.table(tables, "cases"),
        load.table(tables, "activities"),
        load.table(tables, "policy"),
        load.available_service_years(tables),
    )


def year_on_year_from(figures: pd.DataFrame, *, service_id: str, year: int) -> pd.DataFrame:
    """:func:`year_on_year` from :func:`year_figures_by_service_year` (or one service's)."""
    rows = figures.xs(service_id, level="service_id")
    out = rows.loc[rows.index <= year].astype(
        {c: "Int64" for c in _YEAR_COUNTS}
        | {c: "Float64" for c in ("% risk reduced", "% planned endings", "mean_policy_score")}
    )
    out.index = pd.Index(out.index.to_numpy(dtype="int64"), name="Year")
    out["policy_change"] = out["mean_policy_score"].diff().astype("Float64")
    years = out.index.tolist()
    previous = [str(years[i - 1]) if i else "n/a" for i in range(len(years))]
    out["compared_with"] = pd.array(previous, dtype="string")
    return out


def _year_figures_of(
    cases: pd.DataFrame,
    activities: pd.DataFrame,
    policy: pd.DataFrame,
    years: Mapping[str, Sequence[int]],
) -> pd.DataFrame:
    """The key figures of each service and year in ``years`` (rows ``(service_id, year)``,
    zero where a service-year has no rows), from the rows of those service-years."""
    cases = _keyed(cases)
    closed = _closed_by_year_end(cases)
    change = _risk_change(cases)
    per_case = pd.DataFrame(
        {
            "service_id": cases["service_id"].to_numpy(),
            "year": cases["year"].to_numpy(),
            "young_person_id": cases["young_person_id"],
            "risk_assessed": change.notna().to_numpy(dtype=bool),
            "risk_reduced": change.lt(0).fillna(False).to_numpy(dtype=bool),
            "episodes_closed": closed,
            "planned_endings": closed
            & cases["closure_reason"].astype(object).isin(vocab.PLANNED_ENDINGS).to_numpy(),
        },
        index=cases.index,
    ).groupby(["service_id", "year"])
    activities = _keyed(activities)
    training = activities.loc[activities["activity_type"].astype(object).eq("Training").to_numpy()]
    policy = _keyed(policy)
    index = pd.MultiIndex.from_tuples(
        [(s, y) for s, ys in years.items() for y in ys], names=["service_id", "year"]
    )
    trained = training.assign(professionals_trained=training["participants"].fillna(0))
    counts = (
        pd.concat(
            [
                per_case[
                    ["risk_assessed", "risk_reduced", "episodes_closed", "planned_endings"]
                ].sum(),
                per_case["young_person_id"].nunique().rename("young_people"),
                trained.groupby(["service_id", "year"])["professionals_trained"].sum(),
            ],
            axis=1,
        )
        .reindex(index)
        .fillna(0)
        .astype("int64")
    )
    return pd.DataFrame(
        {
            "young_people": counts["young_people"],
            "risk_assessed": counts["risk_assessed"],
            "risk_reduced": counts["risk_reduced"],
            "% risk reduced": percent(counts["risk_reduced"], counts["risk_assessed"]),
            "episodes_closed": counts["episodes_closed"],
            "planned_endings": counts["planned_endings"],
            "% planned endings": percent(counts["planned_endings"], counts["episodes_closed"]),
            "professionals_trained": counts["professionals_trained"],
            "mean_policy_score": policy.groupby(["service_id", "year"])["status_score"]
            .mean()
            .astype(float)
            .reindex(index),
        },
        index=index,
    )


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
