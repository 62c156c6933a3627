"""Realist synthesis of the coded interviews, mixed-methods joint displays and coding quality.

The programme theories (PT1-PT6) and the indicators each is tested against live in
``theories.toml`` (:mod:`~hubspoke.analysis.realist.theories`). From the processed
``judgements`` (one judgement per transcript and theory: supports, refutes or refines),
``codings`` and ``codebook`` tables the modules of this package build:

* :mod:`~hubspoke.analysis.realist.verdicts` - the verdict rule (:data:`VERDICT_RULE`),
  and verdicts to inspect: judgements by role and year, the verdict per theory and own
  context, optionally weighted by role with the weights stated;
* :mod:`~hubspoke.analysis.realist.evidence` - each service's contexts, theory by context
  matrix (each theory in its own dimension by default), evidence counts by role and
  year, refined theories with the evaluators' statements;
* :mod:`~hubspoke.analysis.realist.cmo` - CMO configurations from the codes (mechanisms,
  the outcomes that followed, context codes; by year and realist stage), their quotes,
  and "for whom" by the young people each service-year supported;
* :mod:`~hubspoke.analysis.realist.refinements` - evaluators' refinements beside their
  evidence, and the contexts awaiting a statement;
* :mod:`~hubspoke.analysis.realist.joint` - each theory's indicators beside the
  interviews' verdict, called confirm / expand / discord (:data:`JOINT_DISPLAY_RULE`);
* :mod:`~hubspoke.analysis.realist.quotes` - verdict counts and safe quotes per theory
  for one service-year (re-redacted, attributed by role and year only);
* :mod:`~hubspoke.analysis.realist.coding` - agreement between coders;
* :mod:`~hubspoke.analysis.realist.tables` - all of these as funder
  tables (:func:`realist_tables`,
  :func:`coding_quality_tables`, :func:`service_evidence_tables`).

Only ``main`` judgements drive any tally; ``agreement`` judgements are for
:func:`hubspoke.analysis.agreement.judgement_agreement`. Every public name is re-exported here, so ``from hubspoke.analysis import realist`` then
``realist.theory_context_matrix(...)`` works. Disclosure: interview counts are counts
of people; funder reports show them only through the :mod:`~hubspoke.analysis.realist.tables`
builders, whose cells the release suppresses together with every other table, and
quotes name a role only where a service had enough people in it
(:data:`MIN_PEOPLE_PER_ROLE`). All data are synthetic.
"""

from __future__ import annotations

from hubspoke.analysis.realist.cmo import (
    BUILDING_YEARS,
    FOR_WHOM_LINK,
    PROFILE_COLUMNS,
    QUOTE_JOIN,
    STAGE_BUILDING,
    STAGE_TESTING,
    cmo_configurations,
    cmo_for_whom,
    cmo_quotes,
    evaluation_stage,
    young_people_profile,
)
from hubspoke.analysis.realist.coding import coding_quality, coding_summary
from hubspoke.analysis.realist.evidence import (
    AWAITING_STATEMENT,
    evidence_counts,
    matrix_wide,
    refined_display,
    refined_theories,
    role_evidence_table,
    service_context_table,
    service_contexts,
    theory_context_matrix,
)
from hubspoke.analysis.realist.inputs import AGREEMENT_CHECK, CHECKS, MAIN_CHECK, MIXED_HOST
from hubspoke.analysis.realist.joint import (
    CONFIRM,
    DISCORD,
    EXPAND,
    JOINT_DISPLAY_RULE,
    QUANT_MET,
    QUANT_NO_DATA,
    QUANT_NOT_MET,
    joint_call,
    joint_display,
    joint_summary,
)
from hubspoke.analysis.realist.quotes import (
    ID_PLACEHOLDER,
    MIN_PEOPLE_PER_ROLE,
    ROLE_GROUPS,
    SINGLE_HOLDER_ROLES,
    UNQUOTED_ROLES,
    evidence_display,
    people_per_role,
    quote_role,
    quotes_markdown,
    safe_quote,
    service_quotes,
    theory_evidence,
)
from hubspoke.analysis.realist.refinements import (
    AWAITING,
    HAS_STATEMENT,
    refinement_evidence,
)
from hubspoke.analysis.realist.tables import (
    coding_quality_tables,
    context_scopes,
    local_context_tables,
    realist_tables,
    service_evidence_tables,
    year_choices,
)
from hubspoke.analysis.realist.theories import (
    CONTEXT_DIMENSIONS,
    DEFAULT_THEORIES,
    Theory,
    load_theories,
    theory_table,
)
from hubspoke.analysis.realist.verdicts import (
    CONTESTED,
    MIN_JUDGEMENTS,
    MOSTLY,
    REFINED,
    REFUTED,
    SUPPORTED,
    TOO_LITTLE,
    VERDICT_RULE,
    VERDICTS,
    judgements_by_role_year,
    theory_verdicts,
    verdict,
    weighted_verdict,
    weighting_text,
)

__all__ = [
    # theories
    "CONTEXT_DIMENSIONS",
    "DEFAULT_THEORIES",
    "Theory",
    "load_theories",
    "theory_table",
    # verdicts
    "CONTESTED",
    "MIN_JUDGEMENTS",
    "MOSTLY",
    "REFINED",
    "REFUTED",
    "SUPPORTED",
    "TOO_LITTLE",
    "VERDICTS",
    "VERDICT_RULE",
    "judgements_by_role_year",
    "theory_verdicts",
    "verdict",
    "weighted_verdict",
    "weighting_text",
    # inputs
    "AGREEMENT_CHECK",
    "CHECKS",
    "MAIN_CHECK",
    "MIXED_HOST",
    # evidence
    "AWAITING_STATEMENT",
    "evidence_counts",
    "matrix_wide",
    "refined_display",
    "refined_theories",
    "role_evidence_table",
    "service_context_table",
    "service_contexts",
    "theory_context_matrix",
    # CMO configurations
    "BUILDING_YEARS",
    "FOR_WHOM_LINK",
    "PROFILE_COLUMNS",
    "QUOTE_JOIN",
    "STAGE_BUILDING",
    "STAGE_TESTING",
    "cmo_configurations",
    "cmo_for_whom",
    "cmo_quotes",
    "evaluation_stage",
    "young_people_profile",
    # evaluators' refinements
    "AWAITING",
    "HAS_STATEMENT",
    "refinement_evidence",
    # joint display
    "CONFIRM",
    "DISCORD",
    "EXPAND",
    "JOINT_DISPLAY_RULE",
    "QUANT_MET",
    "QUANT_NOT_MET",
    "QUANT_NO_DATA",
    "joint_call",
    "joint_display",
    "joint_summary",
    # quotes
    "ID_PLACEHOLDER",
    "MIN_PEOPLE_PER_ROLE",
    "ROLE_GROUPS",
    "SINGLE_HOLDER_ROLES",
    "UNQUOTED_ROLES",
    "evidence_display",
    "people_per_role",
    "quote_role",
    "quotes_markdown",
    "safe_quote",
    "service_quotes",
    "theory_evidence",
    # funder tables
    "coding_quality_tables",
    "context_scopes",
    "local_context_tables",
    "realist_tables",
    "service_evidence_tables",
    "year_choices",
    # coding quality
    "coding_quality",
    "coding_summary",
]
