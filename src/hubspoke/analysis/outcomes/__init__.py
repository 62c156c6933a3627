"""The six core outcomes: indicators per service-year and a plain-language rating.

The outcome framework is data (``outcomes.toml`` in this package): outcomes,
their indicators (table, kind of computation, direction, target) and the rating
rule. Modules by step: :mod:`.framework` (the framework's classes, reading and
validating the file, describing it in words), :mod:`.compute` (every indicator
per service-year, or pooled with ``by``) and :mod:`.rate` (one rating per outcome
with the reason in words, and the tables for reports). Replacing the file changes
the reports without changing code. Callers use the names re-exported here.
"""

from hubspoke.analysis.outcomes.compute import (
    INDICATOR_COLUMNS,
    indicators,
    programme_indicators,
)
from hubspoke.analysis.outcomes.framework import (
    DEFAULT_FRAMEWORK,
    DIRECTIONS,
    INDICATOR_TABLES,
    KINDS,
    OPERATORS,
    TABLE_UNITS,
    Condition,
    Framework,
    Indicator,
    Level,
    Outcome,
    Rule,
    framework_table,
    load_framework,
    outcome_rule_text,
)
from hubspoke.analysis.outcomes.rate import (
    COUNT_NUMERATOR_KINDS,
    evidence_table,
    ratings,
    ratings_table,
)

__all__ = [
    "COUNT_NUMERATOR_KINDS",
    "DEFAULT_FRAMEWORK",
    "DIRECTIONS",
    "INDICATOR_COLUMNS",
    "INDICATOR_TABLES",
    "KINDS",
    "OPERATORS",
    "TABLE_UNITS",
    "Condition",
    "Framework",
    "Indicator",
    "Level",
    "Outcome",
    "Rule",
    "evidence_table",
    "framework_table",
    "indicators",
    "load_framework",
    "outcome_rule_text",
    "programme_indicators",
    "ratings",
    "ratings_table",
]
