"""Local context: a service's areas against England, as CSE assessments per 10,000 children.

Reads the processed ``context`` table (built by :mod:`hubspoke.clean.context` from
the public children-in-need and population statistics) and combines the areas a
service covers (:func:`area_rates`, :func:`service_area_rates`) against England.

The real files are never part of the repository: the user points
``Settings.context_dir`` (``HUBSPOKE_CONTEXT_DIR``) at a folder holding them, and
by default the suite reads the synthetic files :mod:`hubspoke.synth.context_file`
writes in the same layout.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from hubspoke.errors import ParameterError

#: ONS code of England, the national comparator.
ENGLAND_CODE = "E92000001"
#: Columns :func:`area_rates` returns, in order.
AREA_RATE_COLUMNS: tuple[str, ...] = (
    "year",
    "n_areas",
    "cse_assessments",
    "population",
    "rate_per_10k",
    "cse_symbol",
    "missing_areas",
    "england_cse_assessments",
    "england_population",
    "england_rate_per_10k",
)


# ---------------------------------------------------------------------------
# A service's areas against England
# ---------------------------------------------------------------------------


def area_rates(context: pd.DataFrame, la_codes: Sequence[str]) -> pd.DataFrame:
    """By year, the rate per 10,000 for the given areas combined, and England's.

    Combined rate = sum of the areas' counts / sum of their populations x 10,000.
    Rule: when any area's count or population is missing that year (suppressed,
    not available, or the area absent), the combined count and rate are missing
    too (a suppressed 1-5 cannot be added), ``cse_symbol`` gives the reason
    (``c`` if any count is suppressed, else the first other symbol, else ``x``)
    and ``missing_areas`` lists the areas (';'-separated). Columns: see
    :data:`AREA_RATE_COLUMNS`. Codes unknown to ``context`` in every year are a
    :class:`~hubspoke.errors.ParameterError`.
    """
    codes = list(dict.fromkeys(str(c).strip() for c in la_codes if str(c).strip()))
    if not codes:
        raise ParameterError("no local-authority codes given", found=list(la_codes))
    unknown = sorted(set(codes) - set(context["la_code"]))
    if unknown:
        raise ParameterError("local-authority code(s) not in the context table", found=unknown)
    years = sorted(context["year"].unique())
    grid = pd.MultiIndex.from_product([years, codes], names=["year", "la_code"]).to_frame(
        index=False
    )
    areas = grid.merge(context, on=["year", "la_code"], how="left")
    combined = areas.groupby("year", sort=True).apply(_combine, include_groups=False).reset_index()
    england = (
        context[context["la_code"].eq(ENGLAND_CODE)]
        .loc[:, ["year", "cse_assessments", "population", "rate_per_10k"]]
        .rename(columns=lambda c: c if c == "year" else f"england_{c}")
    )
    return (
        combined.merge(england, on="year", how="left")
        .loc[:, list(AREA_RATE_COLUMNS)]
        .astype(
            {
                "year": "int64",
                "n_areas": "int64",
                "cse_assessments": "Int64",
                "population": "Int64",
                "rate_per_10k": "Float64",
                "cse_symbol": "str",
                "missing_areas": "str",
                "england_cse_assessments": "Int64",
                "england_population": "Int64",
                "england_rate_per_10k": "Float64",
            }
        )
    )


def _combine(group: pd.DataFrame) -> pd.Series:
    """One year's combined count, population, rate and missing-data reason for a set of areas."""
    lacking = group["cse_assessments"].isna() | group["population"].isna()
    symbols = group["cse_symbol"].dropna().tolist()
    count = pd.NA if group["cse_assessments"].isna().any() else int(group["cse_assessments"].sum())
    people = pd.NA if group["population"].isna().any() else int(group["population"].sum())
    complete = not lacking.any() and people
    return pd.Series(
        {
            "n_areas": len(group),
            "cse_assessments": count,
            "population": people,
            "rate_per_10k": count * 10_000 / people if complete else pd.NA,
            "cse_symbol": pd.NA
            if not lacking.any()
            else ("c" if "c" in symbols else (symbols or ["x"])[0]),
            "missing_areas": ";".join(group.loc[lacking, "la_code"]) or pd.NA,
        }
    )


def service_area_rates(context: pd.DataFrame, services: pd.DataFrame) -> pd.DataFrame:
    """:func:`area_rates` for every service's areas, stacked: one row per service and year.

    ``services`` is the processed services table (``la_codes`` ';'-separated). A service
    whose areas are all absent from the context table gets no rows and is listed in
    ``attrs["services_without_context"]`` rather than stopping the others.
    """
    known = set(context["la_code"])
    parts, without = [], []
    for row in services.sort_values("service_id").itertuples(index=False):
        codes = [c for c in str(row.la_codes).split(";") if c.strip() in known]
        if not codes:
            without.append(row.service_id)
            continue
        parts.append(area_rates(context, codes).assign(service_id=row.service_id))
    out = (
        pd.concat(parts, ignore_index=True).loc[:, ["service_id", *AREA_RATE_COLUMNS]]
        if parts
        else pd.DataFrame(columns=["service_id", *AREA_RATE_COLUMNS])
    )
    out.attrs["services_without_context"] = without
    return out


def rates_table(rates: pd.DataFrame) -> pd.DataFrame:
    """:func:`service_area_rates` as a table to show: services (and England) as rows, years across.

    Cells are rates per 10,000 children (one decimal); a missing rate stays missing.
    """
    wide = rates.pivot_table(
        index="service_id", columns="year", values="rate_per_10k", aggfunc="first"
    )
    england = (
        rates.drop_duplicates("year").set_index("year")["england_rate_per_10k"].rename("England")
    )
    out = pd.concat([wide, england.to_frame().T]).astype("Float64").round(1)
    out.index.name = "Areas of"
    out.columns = [str(c) for c in out.columns]
    return out
