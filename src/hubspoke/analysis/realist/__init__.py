"""Realist synthesis of the coded interviews, mixed-methods joint displays and coding quality.

The programme theories (PT1-PT6) and the indicators each is tested against live in
``theories.toml`` (:mod:`~hubspoke.analysis.realist.theories`). From the processed
``judgements`` (one judgement per transcript and theory: supports, refutes or refines),
``codings`` and ``codebook`` tables the modules of this package build:

* :mod:`~hubspoke.analysis.realist.verdicts` - the verdict rule (:data:`VERDICT_RULE`);
* :mod:`~hubspoke.analysis.realist.evidence` - theory by context matrix, evidence counts
  by role and year, refined theories;
* :mod:`~hubspoke.analysis.realist.joint` - each theory's indicators beside the
  interviews' verdict, called confirm / expand / discord (:data:`JOINT_DISPLAY_RULE`);
* :mod:`~hubspoke.analysis.realist.quotes` - verdict counts and safe quotes per theory
  for one service-year (re-redacted, attributed by role and year only);
* :mod:`~hubspoke.analysis.realist.coding` - agreement between coders.

Every public name is re-exported here, so ``from hubspoke.analysis import realist`` then
``realist.theory_context_matrix(...)`` works. Disclosure: these tables count interviews
and judgements, not children, but an interview count for a small group of respondents
could point to a person; pass such counts through :func:`hubspoke.present.display.table`
with ``count_columns``. All data are synthetic.
"""

from __future__ import annotations

from hubspoke.analysis.realist.coding import coding_quality, coding_summary
from hubspoke.analysis.realist.evidence import (
    MIXED_HOST,
    evidence_counts,
    matrix_wide,
    refined_display,
    refined_theories,
    role_evidence_table,
    service_contexts,
    theory_context_matrix,
)
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
    DISPLAY,
    ID_PLACEHOLDER,
    UNQUOTED_ROLES,
    evidence_display,
    quotes_markdown,
    safe_quote,
    theory_evidence,
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
    verdict,
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
    "verdict",
    # evidence
    "MIXED_HOST",
    "evidence_counts",
    "matrix_wide",
    "refined_display",
    "refined_theories",
    "role_evidence_table",
    "service_contexts",
    "theory_context_matrix",
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
    "DISPLAY",
    "ID_PLACEHOLDER",
    "UNQUOTED_ROLES",
    "evidence_display",
    "quotes_markdown",
    "safe_quote",
    "theory_evidence",
    # coding quality
    "coding_quality",
    "coding_summary",
]
