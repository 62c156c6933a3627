"""Which columns of each returned frame are counts of people, for disclosure control.

:data:`DISPLAY` gives, per frame of the per-service analysis, the ``count_columns`` /
``derived`` / total arguments a notebook passes to :func:`hubspoke.present.display.table`
(and so to :func:`hubspoke.privacy.disclosure.suppress`), so that notebooks and charts
suppress the same cells the docstrings describe.
"""

from __future__ import annotations

from collections.abc import Mapping

from hubspoke.analysis.service.common import TOTAL
from hubspoke.privacy.disclosure import SuppressOptions

_OUTCOME_DERIVED = ("% complete", "mean_start", "mean_end", "mean_change", "ci_low", "ci_high")
_NO_PEOPLE: SuppressOptions = {"count_columns": [], "total_row": None, "total_column": None}
#: Arguments for ``display.table`` (and ``disclosure.suppress``) per returned frame:
#: ``display.table(frame, caption=..., **DISPLAY["referral_sources"])``. Frames of no counts
#: of people use ``count_columns=[]``.
DISPLAY: Mapping[str, SuppressOptions] = {
    "reach.young_people": {"total_row": TOTAL, "total_column": TOTAL},
    "reach.activities": {"count_columns": [], "total_row": TOTAL, "total_column": None},
    "demographics": {
        "count_columns": ["n"],
        "derived": {"%": "n"},
        "total_row": TOTAL,
        "total_column": None,
    },
    "referral_sources": {
        "count_columns": ["n"],
        "derived": {"%": "n"},
        "total_row": TOTAL,
        "total_column": None,
    },
    "risk_transitions.crosstab": {"total_row": TOTAL, "total_column": TOTAL},
    "risk_transitions.summary": {
        "count_columns": ["n"],
        "derived": {"%": "n", "% of assessed": "n"},
        "total_row": TOTAL,
        "total_column": None,
    },
    "missing_episodes.summary": {
        "count_columns": ["n"],
        "derived": {"mean": "n", "median": "n"},
        "total_row": None,
        "total_column": None,
        "implied_totals": False,
    },
    "missing_episodes.direction": {
        "count_columns": ["n"],
        "derived": {"%": "n"},
        "total_row": TOTAL,
        "total_column": None,
    },
    "missing_episodes.test": {
        "count_columns": ["n_pairs"],
        "derived": {"statistic": "n_pairs", "p_value": "n_pairs"},
        "total_row": None,
        "total_column": None,
        "implied_totals": False,
    },
    "outcome_scale_change": {
        "count_columns": ["n_both"],
        "derived": dict.fromkeys(_OUTCOME_DERIVED, "n_both"),
        "total_row": None,
        "total_column": None,
        "implied_totals": False,
    },
    "professional_activity.by_type": {
        "count_columns": [],
        "total_row": TOTAL,
        "total_column": None,
    },
    "professional_activity.confidence": _NO_PEOPLE,
    "policy_progress.status": _NO_PEOPLE,
    "policy_progress.areas": _NO_PEOPLE,
    "spoke_survey_summary.question": {
        "count_columns": ["n"],
        "derived": {"%": "n"},
        "total_row": TOTAL,
        "total_column": None,
    },
    "spoke_survey_summary.summary": {
        "total_row": None,
        "total_column": TOTAL,
        "implied_totals": False,
    },
    "data_completeness": {
        "count_columns": ["complete", "not_recorded", "records"],
        "derived": {"% complete": ("complete", "records")},
        "total_row": None,
        "total_column": "records",
        "implied_totals": False,
    },
    "year_on_year": {
        "count_columns": [
            "young_people",
            "risk_assessed",
            "risk_reduced",
            "episodes_closed",
            "planned_endings",
        ],
        "derived": {
            "% risk reduced": ("risk_reduced", "risk_assessed"),
            "% planned endings": ("planned_endings", "episodes_closed"),
        },
        "total_row": None,
        "total_column": None,
        "implied_totals": False,
    },
    "service_profile": _NO_PEOPLE,
}
