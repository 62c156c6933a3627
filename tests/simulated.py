"""Simulated data for tests: services, Spoke workers and cases with a known effect; a funnel table.

Risk reduced follows logit 0.4 + b * looked after + u_service (b about log 0.2), so tests
can check that a model finds what was put in. One builder for every test that needs them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special

from hubspoke.privacy.table import TOTAL, Count, Derived, Table

VARIANTS = ("Single host, co-located", "Multi-host", "Hub outreach")


def case_tables(
    *,
    n_people: int = 400,
    n_services: int = 12,
    sd_service: float = 0.0,
    looked_after_log_or: float = -1.6,
    shift: dict[str, float] | None = None,
    staggered: bool = False,
    seed: int = 1,
) -> dict[str, pd.DataFrame]:
    """Services, spokes and cases; ``u_service`` ~ N(0, sd_service^2), plus ``shift`` by service.

    ``staggered``: services start in 2014, 2015 and 2016 in turn and each case falls in a year
    its service ran; otherwise every service starts in 2014 and cases fall in 2014-2016.
    ``services.attrs["effects"]`` holds the services' true intercept shifts.
    """
    rng = np.random.default_rng(seed)
    sids = [f"S{i + 1:02d}" for i in range(n_services)]
    first = [2014 + i % 3 if staggered else 2014 for i in range(n_services)]
    services = pd.DataFrame(
        {
            "service_id": sids,
            "phase": [1 + i % 3 for i in range(n_services)],
            "start_date": pd.to_datetime([f"{y}-01-01" for y in first]),
            "model_variant": [VARIANTS[i % 3] for i in range(n_services)],
            "n_spokes": [2 + i % 3 for i in range(n_services)],
            "la_codes": [f"E0600{i:04d}" for i in range(n_services)],
        }
    )
    spokes = pd.DataFrame(
        [
            {"spoke_id": f"{s}-K{k}", "service_id": s, "host_setting": "Police" if k == 1 else "Health",
             "start_year": first[i]}
            for i, s in enumerate(sids)
            for k in range(1, 2 + i % 3 + 1)
        ]
    )  # fmt: skip
    service = rng.choice(sids, n_people)
    looked_after = rng.random(n_people) < 0.4
    effect = dict(zip(sids, rng.normal(0, sd_service, n_services), strict=True))
    for sid, value in (shift or {}).items():
        effect[sid] += value
    logit = 0.4 + looked_after_log_or * looked_after + np.array([effect[s] for s in service])
    reduced = rng.random(n_people) < special.expit(logit)
    if staggered:
        start = dict(zip(sids, first, strict=True))
        year = np.array([start[s] + rng.integers(0, 2017 - start[s]) for s in service])
    else:
        year = rng.integers(2014, 2017, n_people)
    cases = pd.DataFrame(
        {
            "service_id": service,
            "year": year,
            "young_person_id": [f"{i:016x}" for i in range(n_people)],
            "age": rng.integers(11, 18, n_people),
            "gender": rng.choice(["Female", "Male"], n_people, p=[0.7, 0.3]),
            "looked_after": np.where(looked_after, "Yes", "No"),
            "risk_at_referral": rng.choice(["Low", "Medium", "High"], n_people),
            "risk_reduced": pd.array(reduced, dtype="boolean"),
            "closure_date": pd.to_datetime("2016-06-01"),
            "planned_ending": pd.array(rng.random(n_people) < 0.7, dtype="boolean"),
        }
    )
    services.attrs["effects"] = effect
    return {"services": services, "spokes": spokes, "cases": cases}


def funnel_table(rows: dict[str, tuple[int, int]]) -> Table:
    """A per-service proportion table for a funnel plot (risk reduced of those assessed)."""
    frame = pd.DataFrame(rows, index=["numerator", "denominator"]).T.astype(float)
    frame.loc[TOTAL] = frame.sum()
    frame["value"] = 100 * frame["numerator"] / frame["denominator"]
    frame.index.name = "service_id"
    frame.attrs.update(funnel_kind="proportion", funnel_scale=100.0, measure="risk reduced",
                       xlabel="Number of young people with both risk ratings")  # fmt: skip
    return Table(
        frame, family="test", rows="service_id", scope={"time_period": "2016"},
        columns={"numerator": Count("young_people", dims={"risk_change": "Reduced"}),
                 "denominator": Count("risk_assessed"),
                 "value": Derived("pct", ("numerator", "denominator"))},
        total_row=TOTAL,
    )  # fmt: skip
