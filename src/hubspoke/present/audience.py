"""Who a notebook output is for: the cell tags :mod:`hubspoke.present.display` sets and
the HTML export (:mod:`hubspoke.report.export`) reads.

Kept apart from the display module so that the export, and a report run with nothing
to build, read the tags without importing the plotting stack (about half a second).
"""

from __future__ import annotations

from typing import Final, Literal

#: Cell tags: what the funder HTML keeps, and what only analysts see.
Audience = Literal["funder", "analyst"]
FUNDER_TAG: Final = "funder"
ANALYST_TAG: Final = "analyst"
