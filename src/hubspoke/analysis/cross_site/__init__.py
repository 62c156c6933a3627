"""Cross-site analysis: services side by side, funnel plots, group comparisons and models.

Everything here works for one evaluation year (``year=2015``) or for years 1-3 together
(``year="all"``). The analyses take the dict of processed tables from
:func:`hubspoke.load.load_tables` and compute what they need from it. Functions that
compare services return frames in the one fixed service order
(:func:`hubspoke.load.service_order`).

Modules by concern: :mod:`.summary` (context and key measures per service and
service-year), :mod:`.measures` (the measures and one measure side by side),
:mod:`.funnel` (funnel limits and data), :mod:`.groups` (groups of services compared),
:mod:`.models` (risk-reduction and referral models), :mod:`.ratings` (outcome
ratings per service) and :mod:`.tables` (every funder table of the cross-site report as
a :class:`~hubspoke.privacy.table.Table`: :func:`cross_site_tables`). Callers use the
names re-exported here.
"""

from hubspoke.analysis.common import format_interval, format_p, format_ratio
from hubspoke.analysis.cross_site.funnel import (
    FUNNEL_LEVELS,
    funnel_data,
    funnel_limits,
    is_small,
)
from hubspoke.analysis.cross_site.groups import (
    GROUP_LABELS,
    GROUPINGS,
    MIN_GROUP_SERVICES,
    compare_group_means,
    compare_groups,
    group_table,
    wilson_interval,
)
from hubspoke.analysis.cross_site.measures import MEASURES, Measure, side_by_side
from hubspoke.analysis.cross_site.models import (
    FEW_SERVICES,
    MIN_MODEL_GROUPS,
    MIN_REFERRAL_MODEL_OBS,
    MIN_RISK_MODEL_OBS,
    MODEL_COLUMNS,
    OVERDISPERSION_RATIO,
    ModelReport,
    ModelResult,
    latent_icc,
    model_diagnostics,
    referral_model,
    risk_reduction_mixed_model,
    risk_reduction_model,
)
from hubspoke.analysis.cross_site.ratings import outcome_ratings_by_service
from hubspoke.analysis.cross_site.summary import (
    SUMMARY_CONTEXT,
    SUMMARY_MEASURES,
    host_labels,
    one_row_per_service,
    service_context,
    service_year_summary,
)
from hubspoke.analysis.cross_site.tables import (
    cross_site_models,
    cross_site_tables,
    model_reports,
    service_counts,
    time_period,
)

__all__ = [
    "MIN_GROUP_SERVICES",
    "compare_group_means",
    "FEW_SERVICES",
    "format_interval",
    "format_p",
    "format_ratio",
    "latent_icc",
    "model_diagnostics",
    "model_reports",
    "ModelReport",
    "risk_reduction_mixed_model",
    "FUNNEL_LEVELS",
    "GROUPINGS",
    "GROUP_LABELS",
    "MEASURES",
    "MIN_MODEL_GROUPS",
    "MIN_REFERRAL_MODEL_OBS",
    "MIN_RISK_MODEL_OBS",
    "MODEL_COLUMNS",
    "OVERDISPERSION_RATIO",
    "SUMMARY_CONTEXT",
    "SUMMARY_MEASURES",
    "Measure",
    "ModelResult",
    "compare_groups",
    "cross_site_models",
    "cross_site_tables",
    "funnel_data",
    "funnel_limits",
    "group_table",
    "host_labels",
    "is_small",
    "one_row_per_service",
    "outcome_ratings_by_service",
    "referral_model",
    "risk_reduction_model",
    "service_context",
    "service_counts",
    "service_year_summary",
    "side_by_side",
    "time_period",
    "wilson_interval",
]
