"""Local context: a service's areas against England, as CSE assessments per 10,000 children.

Reads the processed ``context`` table (built by :mod:`hubspoke.clean.context` from
the public children-in-need and population statistics) and combines the areas a
service covers (:func:`area_rates`, :func:`service_area_rates`) against England.
For one service's report, :func:`service_context_rows` keeps each area apart, with
its region and England, and :func:`service_context_table` and
:func:`service_context_sentence` show them by name.

The real files are never part of the repository: the user points
``Settings.context_dir`` (``HUBSPOKE_CONTEXT_DIR``) at a folder holding them, and
by default the suite reads the synthetic files :mod:`hubspoke.synth.context_file`
writes in the same layout.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Final

import pandas as pd

from hubspoke import load
from hubspoke.errors import ParameterError
from hubspoke.privacy.table import Column, Figure, Table, Text

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


# ---------------------------------------------------------------------------
# One service's areas, each against its region and England
# ---------------------------------------------------------------------------

#: Family of the local-context tables (the report's and each service report's: one open-data file).
CONTEXT_FAMILY: Final = "local_context"
#: Indicator of a rate cell: CSE assessments per 10,000 children.
RATE_INDICATOR: Final = "cse_assessment_rate_per_10k"
#: Columns :func:`service_context_rows` returns, in order.
SERVICE_CONTEXT_COLUMNS: tuple[str, ...] = (
    "role",
    "la_code",
    "la_name",
    "region_code",
    "year",
    "cse_assessments",
    "cse_symbol",
    "population",
    "rate_per_10k",
)
#: Row of England in the service context table.
ENGLAND_NAME: Final = "England"


def area_region_codes(
    context: pd.DataFrame, la_codes: Sequence[str], *, region: str | None = None
) -> dict[str, str]:
    """Each area code -> the code of its region's row in ``context`` (areas without one left out).

    The processed context table keeps the regions' own rows but not which region a
    local authority belongs to, so the service's ``region`` (a name, from the services
    table) is matched to a Regional row's ``la_name``. A ``region_code`` column on the
    areas' rows, when the context table has one, takes precedence area by area.
    """
    regional = context[context["geographic_level"].astype("str").eq("Regional")]
    by_name = regional.drop_duplicates("la_code").astype({"la_name": "str"}).set_index("la_name")
    service_region = by_name["la_code"].get(str(region)) if region is not None else None
    out = {code: str(service_region) for code in la_codes if service_region is not None}
    if "region_code" in context.columns:
        own = (
            context[context["la_code"].isin(la_codes) & context["region_code"].notna()]
            .drop_duplicates("la_code")
            .set_index("la_code")["region_code"]
            .astype("str")
        )
        out |= own[own.isin(set(regional["la_code"]))].to_dict()
    return out


def service_context_rows(tables: Mapping[str, pd.DataFrame], *, service_id: str) -> pd.DataFrame:
    """A service's areas, their regions and England by year: one row per area and year.

    Columns: :data:`SERVICE_CONTEXT_COLUMNS`; ``role`` is ``area``, ``region`` or
    ``england`` and ``region_code`` is, on an area's rows, the region it is compared
    with. Areas keep the services table's order; every area has every year of the
    context table (a year absent at source has a missing rate and no symbol). Areas
    unknown to the context table are left out; a service with none gets no rows.
    """
    services = load.table(tables, "services")
    chosen = services[services["service_id"].astype("str").eq(service_id)]
    if chosen.empty:
        raise ParameterError(
            "service not in the services table",
            column="service_id",
            allowed=sorted(services["service_id"].astype("str")),
            found=service_id,
        )
    context = load.table(tables, "context")
    listed = [c.strip() for c in str(chosen["la_codes"].iloc[0]).split(";") if c.strip()]
    codes = [c for c in dict.fromkeys(listed) if c in set(context["la_code"])]
    if not codes:
        return pd.DataFrame(columns=list(SERVICE_CONTEXT_COLUMNS))
    region = chosen["region"].iloc[0] if "region" in chosen.columns else None
    regions = area_region_codes(context, codes, region=region)
    lines = pd.DataFrame(
        {
            "la_code": [*codes, *dict.fromkeys(regions.values()), ENGLAND_CODE],
            "role": ["area"] * len(codes) + ["region"] * len(set(regions.values())) + ["england"],
        }
    ).assign(region_code=lambda d: d["la_code"].map(regions))
    return _lines_by_year(context, lines)


def _lines_by_year(context: pd.DataFrame, lines: pd.DataFrame) -> pd.DataFrame:
    """``lines`` (la_code, role, region_code) crossed with every year, the context values joined."""
    names = context.drop_duplicates("la_code").set_index("la_code")["la_name"].astype("str")
    years = pd.DataFrame({"year": sorted(context["year"].dropna().astype("int64").unique())})
    values = context.loc[
        :, ["la_code", "year", "cse_assessments", "cse_symbol", "population", "rate_per_10k"]
    ].astype({"year": "int64"})
    return (
        lines.assign(order=range(len(lines)), la_name=lines["la_code"].map(names))
        .merge(years, how="cross")
        .merge(values, on=["la_code", "year"], how="left")
        .sort_values(["order", "year"], kind="mergesort")
        .loc[:, list(SERVICE_CONTEXT_COLUMNS)]
        .astype(
            {
                "role": "str",
                "la_code": "str",
                "la_name": "str",
                "year": "int64",
                "cse_assessments": "Int64",
                "population": "Int64",
                "rate_per_10k": "Float64",
            }
        )
        .reset_index(drop=True)
    )


def region_of_areas(rows: pd.DataFrame) -> dict[str, str]:
    """Each area's name -> the name of the region it is compared with (from :func:`service_context_rows`)."""
    names = rows.drop_duplicates("la_code").set_index("la_code")["la_name"]
    areas = rows[rows["role"].eq("area") & rows["region_code"].notna()].drop_duplicates("la_code")
    return dict(zip(areas["la_name"], areas["region_code"].map(names), strict=True))


def service_context_table(rows: pd.DataFrame, *, service_id: str) -> Table:
    """:func:`service_context_rows` as a table: areas, regions and England by name, years across.

    Cells are public rates per 10,000 children (Figures, 1 dp; missing where the count
    was suppressed or not available at source). A ``note`` column says which years'
    counts were suppressed (``c``) or not available at source, when any were.
    """
    wide = (
        rows.assign(rate=rows["rate_per_10k"].astype("float"))
        .pivot_table(index="la_name", columns="year", values="rate", aggfunc="first", dropna=False)
        .reindex(index=list(dict.fromkeys(rows["la_name"])))
    )
    wide.columns = [str(c) for c in wide.columns]
    wide.index.name = "Area"
    notes = _source_notes(rows)
    columns: dict[Hashable, Column] = {
        c: Figure(RATE_INDICATOR, unit="per 10,000", dp=1, dims={"rate_year": c})
        for c in wide.columns
    }
    if notes.ne("").any():
        wide = wide.assign(note=notes.reindex(wide.index).fillna(""))
        columns["note"] = Text("local_context_note")
    return Table(
        wide,
        family=CONTEXT_FAMILY,
        rows="area_name",
        columns=columns,
        scope={"service_id": service_id},
        total_row=None,
        labels={"note": "Note"},
    )


def _source_notes(rows: pd.DataFrame) -> pd.Series:
    """Per area name, the years whose count was suppressed or not available at source, in words."""
    gaps = _gap_years(rows)
    suppressed = gaps.get("suppressed", {})
    absent = gaps.get("not available", {})
    names = list(dict.fromkeys(rows["la_name"]))
    return pd.Series(
        [
            "; ".join(
                f"{what} at source in {_and(years)}"
                for what, years in (
                    ("Count suppressed (c)", suppressed.get(n, [])),
                    ("Not available", absent.get(n, [])),
                )
                if years
            )
            for n in names
        ],
        index=names,
        dtype="str",
    )


def _gap_years(rows: pd.DataFrame) -> dict[str, dict[str, list[int]]]:
    """``{"suppressed" | "not available": {area name: [years]}}`` for rows without a rate."""
    gaps = rows[rows["rate_per_10k"].isna()].assign(
        why=lambda d: (
            d["cse_symbol"].astype("str").eq("c").map({True: "suppressed", False: "not available"})
        )
    )
    return {
        why: part.groupby("la_name", sort=False)["year"].apply(lambda y: sorted(y)).to_dict()
        for why, part in gaps.groupby("why", sort=False)
    }


def _and(items: Sequence[object]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    words = [str(i) for i in items]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def service_context_sentence(rows: pd.DataFrame) -> str:
    """What :func:`service_context_rows` shows, in sentences whose every number is in the table.

    The latest year's rates (areas, regions, England), how often each area was above
    England and its region, and the years whose count was suppressed or not available
    at source. Rates are written to 1 dp, as the table shows them.
    """
    if rows.empty:
        return "None of the service's areas is in the local-context statistics."
    first, latest = int(rows["year"].min()), int(rows["year"].max())
    rate = rows.set_index(["la_name", "year"])["rate_per_10k"]
    regions = region_of_areas(rows)
    areas = list(dict.fromkeys(rows.loc[rows["role"].eq("area"), "la_name"]))
    parts = [
        _latest_sentence(rate, areas, list(dict.fromkeys(regions.values())), latest=latest),
        *(
            _comparison(rate, n, regions.get(n), first=first, latest=latest, lead=i == 0)
            for i, n in enumerate(areas)
        ),
        *_gap_sentences(rows),
    ]
    return " ".join(p for p in parts if p)


def _latest_sentence(rate: pd.Series, areas: list[str], regions: list[str], *, latest: int) -> str:
    """The latest year's rate in each area, against its region(s) and England."""
    at = {n: rate.get((n, latest)) for n in [*areas, *regions, ENGLAND_NAME]}
    shown = [f"{_rate(at[n])} in {n}" for n in areas if pd.notna(at[n])]
    others = [
        f"{_rate(at[n])} in {label}"
        for n, label in [*((r, f"the {r} region") for r in regions), (ENGLAND_NAME, ENGLAND_NAME)]
        if pd.notna(at[n])
    ]
    start = f"In the year ending 31 March {latest}, "
    if not shown:
        return (
            start
            + "no rate is available for the service's areas"
            + (f"; it was {_and(others)} per 10,000 children." if others else ".")
        )
    return (
        start
        + "the rate of children's social care assessments with child sexual exploitation as a "
        + f"factor was {_and([shown[0].replace(' in ', ' per 10,000 children in ', 1), *shown[1:]])}"
        + (f", against {_and(others)}." if others else ".")
    )


def _rate(value: object) -> str:
    """A rate as the table shows it (1 dp, thousands separated)."""
    return f"{float(value):,.1f}"  # type: ignore[arg-type]


def _comparison(
    rate: pd.Series, area: str, region: str | None, *, first: int, latest: int, lead: bool
) -> str:
    """In how many years, of those with both rates, an area's rate was above England's and its
    region's (compared as shown, to 1 dp); ``lead`` opens the first such sentence with the years."""
    clauses = []
    for other, label in ((ENGLAND_NAME, "England's"), (region, f"the {region} region's")):
        if other is None:
            continue
        pairs = [
            (rate.get((area, y)), rate.get((other, y)))
            for y in range(first, latest + 1)
            if pd.notna(rate.get((area, y))) and pd.notna(rate.get((other, y)))
        ]
        if pairs:
            above = sum(_rate(a) != _rate(b) and float(a) > float(b) for a, b in pairs)
            clauses.append(f"above {label} in {_k_of_n(above, len(pairs))}")
    if not clauses:
        return ""
    opening = f"From {first} to {latest}, counting the years with both rates, " if lead else ""
    text = f"{opening}{area}'s rate was {' and '.join(clauses)}."
    return text[:1].upper() + text[1:]


def _k_of_n(k: int, n: int) -> str:
    """``all 8 years``, ``2 of 7 years``, ``0 of 1 year``."""
    if k == n > 1:
        return f"all {n} years"
    return f"{k} of {n} {'year' if n == 1 else 'years'}"


def _gap_sentences(rows: pd.DataFrame) -> list[str]:
    """Which areas' counts were suppressed or not available at source, and in which years."""
    gaps = _gap_years(rows)
    out = []
    if gaps.get("suppressed"):
        n_years = sum(len(y) for y in gaps["suppressed"].values())
        where = _and([f"{n} in {_and(y)}" for n, y in gaps["suppressed"].items()])
        out.append(
            f"The count was suppressed at source (shown as c by the DfE) for {where}, so no rate "
            + ("can be shown for that year." if n_years == 1 else "can be shown for those years.")
        )
    if gaps.get("not available"):
        where = _and([f"{n} in {_and(y)}" for n, y in gaps["not available"].items()])
        out.append(f"No figure was available at source for {where}.")
    return out


def service_area_names(
    tables: Mapping[str, pd.DataFrame], *, services: Iterable[str] | None = None
) -> dict[str, list[str]]:
    """Each service id -> the names (``la_name``) of its areas found in the context table."""
    chosen = load.table(tables, "services")
    if services is not None:
        chosen = chosen[chosen["service_id"].astype("str").isin(set(services))]
    names = (
        load.table(tables, "context")
        .drop_duplicates("la_code")
        .set_index("la_code")["la_name"]
        .astype("str")
    )
    return {
        str(sid): [names[c] for c in (x.strip() for x in str(codes).split(";")) if c in names.index]
        for sid, codes in zip(chosen["service_id"], chosen["la_codes"], strict=True)
    }


def service_panel_titles(
    tables: Mapping[str, pd.DataFrame], *, services: Iterable[str] | None = None
) -> dict[str, str]:
    """Each service with an area in the context table -> ``S01: Warrington, Tameside``."""
    names = service_area_names(tables, services=services)
    return {
        sid: f"{sid}: {', '.join(n)}"
        for sid in load.service_order(list(names))
        if (n := names[sid])
    }


def area_panel_titles(rows: pd.DataFrame) -> dict[str, str]:
    """Each area of :func:`service_context_rows` -> its panel title: its name, and its region's
    when the areas are compared with more than one region."""
    regions = region_of_areas(rows)
    areas = dict.fromkeys(rows.loc[rows["role"].eq("area"), "la_name"])
    several = len(set(regions.values())) > 1
    return {a: f"{a} ({regions[a]})" if several and a in regions else a for a in areas}
