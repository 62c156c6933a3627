"""Groups of services compared: pooled proportion per group, Wilson intervals and a test across groups.

Services are grouped by model variant, main host setting or phase (:data:`GROUPINGS`)
to see whether the way a service is set up goes with its results. With few services per
group the test is only a guide, and its note says so when counts are too small.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from hubspoke import config
from hubspoke.analysis.cross_site.funnel import is_small
from hubspoke.analysis.cross_site.summary import one_row_per_service
from hubspoke.errors import ParameterError

#: Groupings :func:`compare_groups` accepts.
GROUPINGS: tuple[str, ...] = ("model_variant", "host_setting", "phase")
#: Plain names of the groupings, for titles.
GROUP_LABELS: Mapping[str, str] = {
    "model_variant": "model variant",
    "host_setting": "main host setting",
    "phase": "phase",
}


def wilson_interval(successes: float, n: float, *, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion (NaN, NaN when n is 0), as statsmodels computes it."""
    if n <= 0:
        return (math.nan, math.nan)
    low, high = proportion_confint(successes, n, alpha=1 - level, method="wilson")
    return (float(low), float(high))


def compare_groups(
    summary: pd.DataFrame,
    *,
    by: str,
    numerator: str,
    denominator: str,
    threshold: int = config.SUPPRESSION_THRESHOLD,
) -> pd.DataFrame:
    """Pooled proportion per group of services, with a 95% Wilson interval and a test across groups.

    ``by``: ``model_variant``, ``host_setting`` (main host) or ``phase``. Columns:
    ``group, n_services, numerator, denominator, proportion, ci_low, ci_high,
    suppressed`` (a count from 1 to ``threshold`` in the numerator or in denominator -
    numerator). ``attrs["test"]``: method (chi-square test of independence, or Fisher's
    exact test for two groups with small expected counts), statistic, dof, p_value and a
    plain ``note``; ``attrs["note"]`` is that note.
    """
    if by not in GROUPINGS:
        raise ParameterError(
            "cannot compare services by this", column="by", allowed=GROUPINGS, found=by
        )
    rows = one_row_per_service(summary)
    for col in (by, numerator, denominator):
        if col not in rows.columns:
            raise ParameterError(
                "column not in the summary", column=col, allowed=list(rows.columns)
            )
    grouped = (
        pd.DataFrame(
            {
                "group": rows[by].astype(str).to_numpy(),
                "numerator": pd.to_numeric(rows[numerator]).astype(float).to_numpy(),
                "denominator": pd.to_numeric(rows[denominator]).astype(float).to_numpy(),
            }
        )
        .groupby("group")
        .agg(
            n_services=("group", "size"),
            numerator=("numerator", "sum"),
            denominator=("denominator", "sum"),
        )
        .reset_index()
    )
    cis = [
        wilson_interval(k, n)
        for k, n in zip(grouped["numerator"], grouped["denominator"], strict=True)
    ]
    out = grouped.assign(
        proportion=lambda d: d["numerator"] / d["denominator"].where(d["denominator"] > 0),
        ci_low=[c[0] for c in cis],
        ci_high=[c[1] for c in cis],
        suppressed=lambda d: (
            is_small(d["numerator"], threshold=threshold)
            | is_small(d["denominator"] - d["numerator"], threshold=threshold)
        ),
    )
    test = _group_test(out)
    out.attrs.update(
        by=by,
        test=test,
        note=test["note"],
    )
    return out


def _group_test(groups: pd.DataFrame) -> dict[str, object]:
    """Chi-square (or Fisher) test of the proportion being the same in every group."""
    used = groups.loc[groups["denominator"] > 0]
    table = np.column_stack([used["numerator"], used["denominator"] - used["numerator"]])
    result: dict[str, object] = {
        "method": "none",
        "statistic": math.nan,
        "dof": math.nan,
        "p_value": math.nan,
    }
    if len(used) < 2:
        return result | {"note": "Only one group has data, so groups cannot be compared."}
    if (table.sum(axis=0) == 0).any():
        return result | {
            "note": "Every case in every group has the same result, so there is nothing to test."
        }
    expected = stats.contingency.expected_freq(table)
    small = (expected < 5).mean()
    if len(used) == 2 and small > 0:
        _, p = stats.fisher_exact(table.astype(int))
        return result | {
            "method": "Fisher's exact test",
            "dof": 1,
            "p_value": float(p),
            "note": _p_sentence(p, "Fisher's exact test (counts too small for a chi-square test)"),
        }
    chi2, p, dof, _ = stats.chi2_contingency(table, correction=False)
    result |= {"method": "Chi-square test of independence", "statistic": float(chi2), "dof": int(dof),
               "p_value": float(p)}  # fmt: skip
    if small > 0.2 or (expected < 1).any():
        return result | {
            "note": "Counts are too small to test the difference between groups reliably "
            f"({small:.0%} of expected counts are below 5); do not read anything into the p-value "
            f"({p:.3f})."
        }
    return result | {"note": _p_sentence(p, "a chi-square test")}


def _p_sentence(p: float, test: str) -> str:
    if p < 0.05:
        return f"The proportion differs between groups more than chance alone would suggest ({test}, p = {p:.3f})."
    return f"The differences between groups could be due to chance ({test}, p = {p:.3f})."


def group_table(groups: pd.DataFrame) -> pd.DataFrame:
    """:func:`compare_groups` output ready to show: percentages, plain headers, group as the index.

    An analyst view; the funder table is ``groups.<dim>`` of
    :func:`hubspoke.analysis.cross_site.cross_site_tables`.
    """
    out = (
        groups.set_index("group")
        .loc[:, ["n_services", "numerator", "denominator", "proportion", "ci_low", "ci_high"]]
        .assign(**{c: lambda d, c=c: d[c] * 100 for c in ("proportion", "ci_low", "ci_high")})
        .rename(
            columns={
                "n_services": "Services",
                "numerator": "Reduced",
                "denominator": "Rated",
                "proportion": "%",
                "ci_low": "95% CI low",
                "ci_high": "95% CI high",
            }
        )
    )
    out.index.name = GROUP_LABELS.get(groups.attrs.get("by", ""), "group")
    return out
