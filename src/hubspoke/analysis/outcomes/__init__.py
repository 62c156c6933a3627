"""The six core outcomes: indicators per service-year and a plain-language rating.

The outcome framework is data (``outcomes.toml`` in this package): outcomes,
their indicators (table, kind of computation, direction, target) and the rating
rule. Modules by step: :mod:`.framework` (the framework's classes, reading and
validating the file, describing it in words), :mod:`.compute` (every indicator
per service-year, or pooled with ``by``, with its interval from :mod:`.intervals`,
its size-scaled target and its progress on a baseline) and :mod:`.rate` (per outcome
a progress rating and a level, each "k of m indicators met; j without enough data",
with a confidence, and the tables for reports). Replacing the file changes
the reports without changing code. Callers use the names re-exported here.
"""

from hubspoke.analysis.outcomes.compute import (
    INDICATOR_COLUMNS,
    PROGRESS_STATUSES,
    indicators,
    programme_indicators,
)
from hubspoke.analysis.outcomes.framework import (
    BASES,
    DEFAULT_FRAMEWORK,
    DIRECTIONS,
    INDICATOR_TABLES,
    KINDS,
    OPERATORS,
    SIZE_UNITS,
    TABLE_UNITS,
    Condition,
    Confidence,
    Framework,
    Indicator,
    Level,
    Outcome,
    Rule,
    framework_table,
    load_framework,
    outcome_rule_text,
)
from hubspoke.analysis.outcomes.intervals import (
    cluster_bootstrap_median,
    cluster_ratio_interval,
    median_interval,
    poisson_interval,
    t_interval,
    wilson_interval,
)
from hubspoke.analysis.outcomes.rate import (
    COUNT_NUMERATOR_KINDS,
    RATING_COLUMNS,
    Judgement,
    evidence_table,
    evidence_tables_by_service_year,
    judge,
    ratings,
    ratings_by_service_year,
    ratings_table,
)

__all__ = [
    "BASES",
    "COUNT_NUMERATOR_KINDS",
    "DEFAULT_FRAMEWORK",
    "DIRECTIONS",
    "INDICATOR_COLUMNS",
    "INDICATOR_TABLES",
    "KINDS",
    "OPERATORS",
    "PROGRESS_STATUSES",
    "RATING_COLUMNS",
    "SIZE_UNITS",
    "TABLE_UNITS",
    "Condition",
    "Confidence",
    "Framework",
    "Indicator",
    "Judgement",
    "Level",
    "Outcome",
    "Rule",
    "cluster_bootstrap_median",
    "cluster_ratio_interval",
    "evidence_table",
    "evidence_tables_by_service_year",
    "framework_table",
    "indicators",
    "judge",
    "load_framework",
    "median_interval",
    "outcome_rule_text",
    "poisson_interval",
    "programme_indicators",
    "ratings",
    "ratings_by_service_year",
    "ratings_table",
    "t_interval",
    "wilson_interval",
]
