"""The reference files: Hub services and their Spoke posts.

Local-authority codes and names are real (copied from the DfE children-in-need
statistics, so context joins work); every Hub name and everything a service does
is invented.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from hubspoke.spec.raw import LAYOUT, SERVICES, SPOKES
from hubspoke.spec.vocab import HOST_SETTINGS, MODEL_VARIANTS, PHASE_START_YEAR, RISK_TOOLS
from hubspoke.synth.writers import write_csv_text


class LocalAuthority(NamedTuple):
    """A real English upper-tier local authority (codes as in the DfE statistics)."""

    la_code: str
    old_la_code: str
    la_name: str
    region_code: str
    region_name: str


#: 40 real local authorities, four per region, grouped by region so that a
#: service's areas are neighbours.
LOCAL_AUTHORITIES: tuple[LocalAuthority, ...] = (
    LocalAuthority("E06000002", "806", "Middlesbrough", "E12000001", "North East"),
    LocalAuthority("E06000003", "807", "Redcar and Cleveland", "E12000001", "North East"),
    LocalAuthority("E06000005", "841", "Darlington", "E12000001", "North East"),
    LocalAuthority("E08000037", "390", "Gateshead", "E12000001", "North East"),
    LocalAuthority("E06000007", "877", "Warrington", "E12000002", "North West"),
    LocalAuthority("E06000008", "889", "Blackburn with Darwen", "E12000002", "North West"),
    LocalAuthority("E08000008", "357", "Tameside", "E12000002", "North West"),
    LocalAuthority("E08000015", "344", "Wirral", "E12000002", "North West"),
    LocalAuthority(
        "E06000011", "811", "East Riding of Yorkshire", "E12000003", "Yorkshire and The Humber"
    ),
    LocalAuthority(
        "E06000012", "812", "North East Lincolnshire", "E12000003", "Yorkshire and The Humber"
    ),
    LocalAuthority("E06000014", "816", "York", "E12000003", "Yorkshire and The Humber"),
    LocalAuthority("E08000036", "384", "Wakefield", "E12000003", "Yorkshire and The Humber"),
    LocalAuthority("E06000018", "892", "Nottingham", "E12000004", "East Midlands"),
    LocalAuthority("E10000007", "830", "Derbyshire", "E12000004", "East Midlands"),
    LocalAuthority("E10000018", "855", "Leicestershire", "E12000004", "East Midlands"),
    LocalAuthority("E10000019", "925", "Lincolnshire", "E12000004", "East Midlands"),
    LocalAuthority("E06000020", "894", "Telford and Wrekin", "E12000005", "West Midlands"),
    LocalAuthority("E06000021", "861", "Stoke-on-Trent", "E12000005", "West Midlands"),
    LocalAuthority("E08000028", "333", "Sandwell", "E12000005", "West Midlands"),
    LocalAuthority("E10000034", "885", "Worcestershire", "E12000005", "West Midlands"),
    LocalAuthority("E06000032", "821", "Luton", "E12000006", "East of England"),
    LocalAuthority("E06000033", "882", "Southend-on-Sea", "E12000006", "East of England"),
    LocalAuthority("E06000056", "823", "Central Bedfordshire", "E12000006", "East of England"),
    LocalAuthority("E10000020", "926", "Norfolk", "E12000006", "East of England"),
    LocalAuthority("E06000036", "867", "Bracknell Forest", "E12000008", "South East"),
    LocalAuthority("E06000039", "871", "Slough", "E12000008", "South East"),
    LocalAuthority("E06000046", "921", "Isle of Wight", "E12000008", "South East"),
    LocalAuthority("E10000016", "886", "Kent", "E12000008", "South East"),
    LocalAuthority("E06000023", "801", "Bristol, City of", "E12000009", "South West"),
    LocalAuthority("E06000024", "802", "North Somerset", "E12000009", "South West"),
    LocalAuthority("E06000026", "879", "Plymouth", "E12000009", "South West"),
    LocalAuthority("E10000013", "916", "Gloucestershire", "E12000009", "South West"),
    LocalAuthority("E09000007", "202", "Camden", "E13000001", "Inner London"),
    LocalAuthority("E09000012", "204", "Hackney", "E13000001", "Inner London"),
    LocalAuthority("E09000022", "208", "Lambeth", "E13000001", "Inner London"),
    LocalAuthority("E09000033", "213", "Westminster", "E13000001", "Inner London"),
    LocalAuthority("E09000003", "302", "Barnet", "E13000002", "Outer London"),
    LocalAuthority("E09000004", "303", "Bexley", "E13000002", "Outer London"),
    LocalAuthority("E09000006", "305", "Bromley", "E13000002", "Outer London"),
    LocalAuthority("E09000018", "313", "Hounslow", "E13000002", "Outer London"),
)

#: Areas covered by each of the 16 programme services (sums to the 35 new areas);
#: cycled for other numbers of services.
_LA_COUNTS = (3, 2, 2, 2, 3, 2, 1, 2, 2, 3, 2, 1, 2, 4, 2, 2)

#: Invented place-like words for Hub names (no real place or organisation intended).
_NAME_FIRST = (
    "Larkmoor",
    "Thistlecombe",
    "Brackenridge",
    "Wrenfield",
    "Otterbrook",
    "Kestrel Vale",
    "Hollowmere",
    "Fenwhistle",
    "Marrowdean",
    "Sablecross",
    "Quillhaven",
    "Tansyford",
    "Ashgrove Rise",
    "Cindercote",
    "Lanternby",
)
_NAME_SECOND = (
    "Hub",
    "Young People's Hub",
    "CSE Hub",
    "Safe Hub",
    "Project",
    "Hub Partnership",
    "Outreach Hub",
    "Service",
    "Harbour Hub",
    "Compass Project",
)


def phase_counts(n_services: int) -> tuple[int, int, int]:
    """Services per phase, in the programme's 3 : 5 : 8 proportions."""
    n1 = round(n_services * 3 / 16)
    n2 = round(n_services * 5 / 16)
    if n_services >= 3:
        n1, n2 = max(n1, 1), max(n2, 1)
    n1 = min(n1, n_services)
    n2 = min(n2, n_services - n1)
    return n1, n2, n_services - n1 - n2


def _service_ids(n_services: int) -> list[str]:
    width = max(2, len(str(n_services)))
    return [f"S{i:0{width}d}" for i in range(1, n_services + 1)]


def _hub_names(n_services: int, rng: np.random.Generator) -> list[str]:
    """Unique invented Hub names (numbered once the word lists run out)."""
    combos = [f"{a} {b}" for b in _NAME_SECOND for a in _NAME_FIRST]
    order = rng.permutation(len(combos))
    names = [combos[i] for i in order]
    return [
        names[i % len(names)] + (f" {i // len(names) + 1}" if i >= len(names) else "")
        for i in range(n_services)
    ]


def _assign_areas(n_services: int) -> list[list[LocalAuthority]]:
    """Give each service neighbouring areas (one region), biggest first; reuse codes when all are used."""
    regions: dict[str, list[LocalAuthority]] = {}
    for la in LOCAL_AUTHORITIES:
        regions.setdefault(la.region_code, []).append(la)
    pools = {r: list(v) for r, v in regions.items()}
    counts = [_LA_COUNTS[i % len(_LA_COUNTS)] for i in range(n_services)]
    areas: list[list[LocalAuthority]] = [[] for _ in range(n_services)]
    for i in sorted(range(n_services), key=lambda j: -counts[j]):
        k = counts[i]
        if max(len(v) for v in pools.values()) < k:
            pools = {r: list(v) for r, v in regions.items()}
        region = max(pools, key=lambda r: len(pools[r]))
        areas[i], pools[region] = pools[region][:k], pools[region][k:]
    return areas


def _balanced(values: tuple[str, ...], n: int, rng: np.random.Generator) -> list[str]:
    """``n`` draws using every value about equally often, in random order."""
    return [values[i] for i in rng.permutation(np.arange(n) % len(values))]


def _hosts_for(variant: str, n_spokes: int, rng: np.random.Generator) -> list[str]:
    """Host settings of a service's Spokes, following its model variant."""
    if variant == "Single host, co-located":
        return [str(rng.choice(["Police", "Children's social care"]))] * n_spokes
    if variant == "Integrated multi-agency team":
        return ["Multi-agency team"] * (n_spokes - 1) + [str(rng.choice(HOST_SETTINGS))]
    if variant == "Multi-host":
        return [HOST_SETTINGS[i] for i in rng.permutation(len(HOST_SETTINGS))[:n_spokes]]
    return [str(h) for h in rng.choice(HOST_SETTINGS, size=n_spokes)]


def make_reference(n_services: int, *, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (services, spokes): the programme's Hubs and Spoke posts, with the rawspec columns."""
    rng = np.random.default_rng(seed)
    n1, n2, n3 = phase_counts(n_services)
    ids = _service_ids(n_services)
    phases = [1] * n1 + [2] * n2 + [3] * n3
    areas = _assign_areas(n_services)
    variants = _balanced(MODEL_VARIANTS, n_services, rng)
    tools = _balanced(tuple(RISK_TOOLS), n_services, rng)
    n_spokes = rng.integers(2, 6, size=n_services)
    services = pd.DataFrame(
        {
            "service_id": ids,
            "hub_name": _hub_names(n_services, rng),
            "phase": phases,
            "start_date": [f"{PHASE_START_YEAR[p]}-01-01" for p in phases],
            "model_variant": variants,
            "n_spokes": n_spokes,
            "la_codes": [";".join(la.la_code for la in a) for a in areas],
            "risk_tool": tools,
            "region": [
                a[0].region_name.replace("Inner London", "London").replace("Outer London", "London")
                for a in areas
            ],
        }
    )
    rows = []
    for svc, area, variant, k, phase in zip(ids, areas, variants, n_spokes, phases, strict=True):
        start = PHASE_START_YEAR[phase]
        late = rng.random(k) < 0.15
        for j, host in enumerate(_hosts_for(variant, int(k), rng)):
            rows.append(
                {
                    "spoke_id": f"{svc}-K{j + 1}",
                    "service_id": svc,
                    "host_setting": host,
                    "la_code": area[j % len(area)].la_code,
                    "start_year": min(2016, start + int(late[j] and j >= 2)),
                }
            )
    spokes = pd.DataFrame(rows)
    spokes = _ensure_every_host(spokes, services)
    return services[[c.name for c in SERVICES.columns]], spokes[[c.name for c in SPOKES.columns]]


def _ensure_every_host(spokes: pd.DataFrame, services: pd.DataFrame) -> pd.DataFrame:
    """Put any host setting not yet used on the last Spoke of the Multi-host / outreach services."""
    missing = [h for h in HOST_SETTINGS if h not in set(spokes["host_setting"])]
    flexible = services.loc[
        services["model_variant"].isin(["Hub outreach", "Rural dispersed", "Multi-host"]),
        "service_id",
    ]
    idx = spokes.index[spokes["service_id"].isin(flexible)].tolist()[::-1]
    out = spokes.copy()
    for host, i in zip(missing, idx, strict=False):
        out.loc[i, "host_setting"] = host
    return out


def write_reference(raw_dir: Path, services: pd.DataFrame, spokes: pd.DataFrame) -> None:
    """Write ``reference/services.csv`` and ``reference/spokes.csv`` (clean, marked synthetic)."""
    raw_dir = Path(raw_dir)
    for key, frame in (("services", services), ("spokes", spokes)):
        text = frame.to_csv(index=False, lineterminator="\n")
        write_csv_text(raw_dir / LAYOUT[key], text, encoding="utf-8")
