"""Synthetic local-context statistics in the Explore Education Statistics layout.

Writes a children-in-need factors file and a child-population file with the same
columns, in the same order, as the real DfE and ONS downloads, so that a default
run has local context without the real files (which never enter the repository).
Every number is drawn from a seeded generator: none is a real statistic. Area
codes and names are real (from :data:`hubspoke.synth.reference.LOCAL_AUTHORITIES`)
so that the files join to the services' areas.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from hubspoke.spec.raw import LAYOUT
from hubspoke.synth.reference import LOCAL_AUTHORITIES
from hubspoke.synth.writers import csv_body, write_csv_text

#: Column names of the DfE children-in-need factors at assessment file, in order.
CIN_COLUMNS: tuple[str, ...] = (
    "time_period", "time_identifier", "geographic_level", "country_code", "country_name",
    "region_code", "region_name", "old_la_code", "new_la_code", "la_name", "category",
    "Episodes_with_assessment_factor", "Alcohol_Misuse_child", "Alcohol_Misuse_parent",
    "Alcohol_Misuse_person", "Drug_Misuse_child", "Drug_Misuse_parent", "Drug_Misuse_person",
    "Domestic_Abuse_child", "Domestic_Abuse_parent", "Domestic_Abuse_person",
    "Mental_Health_child", "Mental_Health_parent", "Mental_Health_person",
    "Learning_Disability_child", "Learning_Disability_parent", "Learning_Disability_person",
    "Physical_Disability_child", "Physical_Disability_parent", "Physical_Disability_person",
    "Young_Carer", "Privately_fostered", "Unaccompanied_asylum_seeker", "Going_missing",
    "Child_sexual_exploitation", "Trafficking", "Gangs", "Socially_unacceptable_behaviour",
    "Self_harm", "Neglect", "Emotional_Abuse", "Physical_Abuse_unknown",
    "Physical_Abuse_child_on_child", "Physical_Abuse_adult_on_child", "Sexual_Abuse_unknown",
    "Sexual_Abuse_child_on_child", "Sexual_Abuse_adult_on_child", "Female_Genital_Mutilation",
    "Faith_linked_abuse", "Child_criminal_exploitation", "Other",
)  # fmt: skip
#: Column names of the ONS child population file, in order.
POPULATION_COLUMNS: tuple[str, ...] = (
    "time_period", "time_identifier", "geographic_level", "country_code", "country_name",
    "region_code", "region_name", "old_la_code", "new_la_code", "la_name", "age_group",
    "population_estimate",
)  # fmt: skip

CIN_YEARS: tuple[int, ...] = tuple(range(2018, 2026))
POPULATION_YEARS: tuple[int, ...] = tuple(range(2012, 2025))
CSE_COLUMN = "Child_sexual_exploitation"
EPISODES_COLUMN = "Episodes_with_assessment_factor"
#: ONS codes of the regions of England (public codes, used to label synthetic rows).
REGION_CODES: dict[str, str] = {
    "North East": "E12000001",
    "North West": "E12000002",
    "Yorkshire and The Humber": "E12000003",
    "East Midlands": "E12000004",
    "West Midlands": "E12000005",
    "East of England": "E12000006",
    "London": "E12000007",
    "South East": "E12000008",
    "South West": "E12000009",
    "Inner London": "E13000001",
    "Outer London": "E13000002",
}
_ENGLAND = ("E92000001", "England")
_SUPPRESS_MAX = 5  # LA counts 1..5 are written as "c"
_SHARE_C, _SHARE_X = 0.04, 0.015  # extra LA-year CSE cells forced to "c" / "x"


class _Area(NamedTuple):
    """One row's geography: level, region, LA codes and the area's own code."""

    level: str
    region_code: str
    region_name: str
    old_la_code: str
    new_la_code: str
    la_name: str

    @property
    def code(self) -> str:
        if self.level == "National":
            return _ENGLAND[0]
        return self.region_code if self.level == "Regional" else self.new_la_code


def write_context_files(raw_dir: Path, services: pd.DataFrame, *, seed: int) -> None:
    """Write the synthetic CIN factors (2018-2025) and population (2012-2024) files under ``raw_dir``.

    Rows for England, the regions of the services' areas and every LA in
    ``services["la_codes"]``; the first line is the synthetic marker. The same
    seed and services give the same bytes.
    """
    rng = np.random.default_rng(seed)
    areas = _areas(services)
    population = _population(areas, rng)
    cin = _cin(areas, population, rng)
    for key, frame, columns in (
        ("context_population", population, POPULATION_COLUMNS),
        ("context_cin", cin, CIN_COLUMNS),
    ):
        rows = frame.sort_values("year", ascending=False, kind="stable")[list(columns)]
        write_csv_text(Path(raw_dir) / LAYOUT[key], csv_body(columns, rows))


def _areas(services: pd.DataFrame) -> list[_Area]:
    """England, then the regions, then the LAs of the services, each group in code order."""
    known = {la.la_code: la for la in LOCAL_AUTHORITIES}
    region_of = _service_regions(services)
    las = []
    for code in sorted(region_of):
        la = known.get(code)
        if la is not None:
            las.append(
                _Area(
                    "Local authority",
                    la.region_code,
                    la.region_name,
                    la.old_la_code,
                    code,
                    la.la_name,
                )
            )
        else:
            name = region_of[code]
            las.append(_Area("Local authority", REGION_CODES.get(name, ""), name, "", code, code))
    regions = {(a.region_code, a.region_name) for a in las if a.region_code}
    if any(code.startswith("E13") for code, _ in regions):
        regions.add((REGION_CODES["London"], "London"))
    national = [_Area("National", "", "", "", "", "")]
    regional = [_Area("Regional", c, n, "", "", "") for c, n in sorted(regions)]
    return national + regional + sorted(las, key=lambda a: (a.region_code, a.new_la_code))


def _service_regions(services: pd.DataFrame) -> dict[str, str]:
    """Each LA code in ``services["la_codes"]`` -> the region name of its (first) service."""
    out: dict[str, str] = {}
    for codes, region in zip(services["la_codes"], services["region"], strict=True):
        for code in str(codes).split(";"):
            if code.strip():
                out.setdefault(code.strip(), str(region))
    return out


def _geography(area: _Area) -> dict[str, str]:
    """The ten EES geography columns for an area."""
    return {
        "time_identifier": "Reporting year",
        "geographic_level": area.level,
        "country_code": _ENGLAND[0],
        "country_name": _ENGLAND[1],
        "region_code": area.region_code,
        "region_name": area.region_name,
        "old_la_code": area.old_la_code,
        "new_la_code": area.new_la_code,
        "la_name": area.la_name,
    }


def _population(areas: list[_Area], rng: np.random.Generator) -> pd.DataFrame:
    """Children 0-17 by area and mid-year: a base size, a gentle trend and a little noise."""
    rows = []
    for area in areas:
        if area.level == "National":
            base = rng.uniform(11.0e6, 11.4e6)
        elif area.level == "Regional":
            base = rng.uniform(0.5e6, 2.0e6)
        else:
            base = float(np.clip(rng.lognormal(np.log(55_000), 0.6), 8_000, 320_000))
        growth = rng.uniform(-0.002, 0.009)
        noise = rng.normal(0, 0.002, len(POPULATION_YEARS))
        for year, eps in zip(POPULATION_YEARS, noise, strict=True):
            value = round(base * (1 + growth) ** (year - POPULATION_YEARS[0]) * (1 + eps))
            rows.append({"area": area, "year": year, "population": value})
    frame = pd.DataFrame(rows)
    return _with_geography(frame).assign(
        age_group="Children aged 0 to 17 years",
        population_estimate=frame["population"].astype(str),
    )


def _cin(areas: list[_Area], population: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Assessment factors by area and reporting year (year ending 31 March), with symbols."""
    children = {(r.area.code, r.year): r.population for r in population.itertuples()}
    shares = {c: rng.uniform(0.002, 0.35) for c in CIN_COLUMNS[12:] if c != CSE_COLUMN}
    trend = rng.uniform(0.96, 0.99)
    rows = []
    for area in areas:
        level_rate = (
            rng.uniform(15, 17) if area.level == "National" else rng.lognormal(np.log(15), 0.45)
        )
        episode_rate = rng.uniform(350, 550)
        for year in sorted(CIN_YEARS, reverse=True):
            kids = children[(area.code, year - 1)]
            rate = float(
                np.clip(level_rate * trend ** (year - CIN_YEARS[0]) * rng.lognormal(0, 0.1), 5, 40)
            )
            episodes = int(rng.poisson(episode_rate * kids / 10_000))
            counts = {c: int(rng.poisson(s * episodes)) for c, s in shares.items()}
            counts[CSE_COLUMN] = int(rng.poisson(rate * kids / 10_000))
            counts[EPISODES_COLUMN] = episodes
            rows.append({"area": area, "year": year, **counts})
    frame = pd.DataFrame(rows)
    measures = list(CIN_COLUMNS[11:])
    cells = frame[measures].apply(lambda col: _publish(col, frame["area"]))
    cells[CSE_COLUMN] = _force_symbols(cells[CSE_COLUMN], frame["area"], rng)
    return _with_geography(frame).assign(
        category="Factors identified at the end of assessment", **{c: cells[c] for c in measures}
    )


def _with_geography(frame: pd.DataFrame) -> pd.DataFrame:
    """Add time_period and the geography columns from each row's ``area``."""
    geo = pd.DataFrame([_geography(a) for a in frame["area"]], index=frame.index)
    return pd.concat([frame.assign(time_period=frame["year"].astype(str)), geo], axis=1)


def _publish(counts: pd.Series, areas: pd.Series) -> pd.Series:
    """As published: national and regional counts rounded to 10, LA counts 1-5 shown as ``c``."""
    is_la = areas.map(lambda a: a.level == "Local authority")
    rounded = (counts / 10).round().astype(int) * 10
    text = counts.where(is_la, rounded).astype(str)
    return text.where(~(is_la & counts.between(1, _SUPPRESS_MAX)), "c")


def _force_symbols(cells: pd.Series, areas: pd.Series, rng: np.random.Generator) -> pd.Series:
    """Mark a few LA-year cells ``c`` (a small count) and ``x`` (not available): at least one each."""
    la_rows = np.flatnonzero(areas.map(lambda a: a.level == "Local authority").to_numpy())
    if len(la_rows) == 0:
        return cells
    n_c = max(1, round(_SHARE_C * len(la_rows)))
    n_x = max(1, round(_SHARE_X * len(la_rows))) if len(la_rows) > 1 else 0
    chosen = rng.choice(la_rows, size=n_c + n_x, replace=False)
    out = cells.copy()
    out.iloc[chosen[:n_c]] = "c"
    out.iloc[chosen[n_c:]] = "x"
    return out
