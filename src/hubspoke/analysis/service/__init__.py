"""Per-service analysis: one service, one evaluation year.

Every function takes the processed tables (``load.load_tables``) and keyword-only
``service_id`` and ``year``, checks them (:class:`~hubspoke.errors.ParameterError`
naming what is allowed), and returns tidy frames of FULL numbers: counts are
integer (``Int64``) columns, a ``"Total"`` row or column where a total makes sense.
Funder reports never show these frames directly: :func:`service_tables` (module
:mod:`.tables`) wraps each one in a :class:`~hubspoke.privacy.table.Table` that says what
every cell is, and the release-wide suppression decides what a funder sees.
Counts of young people are episodes of one-to-one support (rows of ``cases``) unless a
docstring says *distinct young people*. Activity counts (sessions, participants) and
policy scores are not counts of people that disclosure control protects.

Modules by family: :mod:`.people` (reach, demographics, referral sources),
:mod:`.safety` (risk, missing episodes, outcome scales), :mod:`.professionals`
(work with professionals, training confidence), :mod:`.policy` (the policy framework),
:mod:`.survey` (the Spoke worker survey), :mod:`.overview` (profile, data completeness,
year on year), with :mod:`.common` (shared labels and helpers), :mod:`.at_once` (the
frames of every service-year worked out in one pass, for the release) and :mod:`.tables`
(the funder tables, :func:`service_tables`). Callers use the names re-exported here.

Units and definitions:

* *young people supported* - distinct ``young_person_id`` with an episode referred in the year;
* *re-referred* - a young person seen in an earlier year of the same service;
* *open at year end* - no closure date, or closed after 31 December of the year;
* *risk reduced* - latest risk lower than risk at referral on the harmonised scale;
* *planned ending* - closure reason in :data:`hubspoke.spec.raw.PLANNED_ENDINGS`.
"""

from hubspoke.analysis.service.at_once import ServiceYearFrames, frames_by_service_year
from hubspoke.analysis.service.common import (
    MIN_N_CI,
    NOT_RECORDED,
    PROFESSIONAL_REACH_TYPES,
    TOTAL,
    YOUNG_PEOPLE_REACH_TYPES,
)
from hubspoke.analysis.service.overview import (
    CASE_COLUMNS,
    SURVEY_COLUMNS,
    data_completeness,
    service_name,
    service_profile,
    year_on_year,
)
from hubspoke.analysis.service.people import (
    DEMOGRAPHIC_LEVELS,
    demographics,
    demographics_by_service_year,
    reach,
    referral_sources,
)
from hubspoke.analysis.service.policy import policy_mean_score, policy_progress
from hubspoke.analysis.service.professionals import professional_activity
from hubspoke.analysis.service.safety import (
    MIN_PAIRS_WILCOXON,
    OUTCOME_LABELS,
    RISK_SUMMARY_LEVELS,
    missing_episodes,
    outcome_scale_change,
    risk_transitions,
)
from hubspoke.analysis.service.survey import (
    SURVEY_QUESTIONS,
    SURVEY_STATEMENTS,
    spoke_survey_sentences,
    spoke_survey_summary,
)
from hubspoke.analysis.service.tables import ItemTable, risk_crosstab_table, service_tables

__all__ = [
    "CASE_COLUMNS",
    "DEMOGRAPHIC_LEVELS",
    "ItemTable",
    "MIN_N_CI",
    "MIN_PAIRS_WILCOXON",
    "NOT_RECORDED",
    "OUTCOME_LABELS",
    "PROFESSIONAL_REACH_TYPES",
    "RISK_SUMMARY_LEVELS",
    "SURVEY_COLUMNS",
    "SURVEY_QUESTIONS",
    "SURVEY_STATEMENTS",
    "ServiceYearFrames",
    "TOTAL",
    "YOUNG_PEOPLE_REACH_TYPES",
    "data_completeness",
    "demographics",
    "demographics_by_service_year",
    "frames_by_service_year",
    "missing_episodes",
    "outcome_scale_change",
    "policy_mean_score",
    "policy_progress",
    "professional_activity",
    "reach",
    "referral_sources",
    "risk_transitions",
    "service_name",
    "service_profile",
    "risk_crosstab_table",
    "service_tables",
    "spoke_survey_sentences",
    "spoke_survey_summary",
    "year_on_year",
]
