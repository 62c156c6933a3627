"""The one way a funder output sees numbers: a view of a :class:`Table` through the release.

:func:`view` refuses anything that is not a :class:`~hubspoke.privacy.table.Table`, so a
bare frame can never reach a funder table or chart; the cells it hides are those the
release-wide suppression hid (:func:`hubspoke.analysis.release.current_release`).
"""

from __future__ import annotations

from hubspoke.analysis.release import current_release
from hubspoke.config import Settings
from hubspoke.errors import ParameterError
from hubspoke.privacy.release import Release, Shown
from hubspoke.privacy.table import Table


def view(
    table: object, *, release: Release | None = None, settings: Settings | None = None
) -> Shown:
    """The table as a funder sees it (hidden cells as the symbol, charts draw ``visible``)."""
    if not isinstance(table, Table):
        raise ParameterError(
            "funder tables and charts take a hubspoke Table (with its disclosure structure), "
            "not a bare frame",
            allowed="hubspoke.privacy.table.Table",
            found=type(table).__name__,
        )
    if release is None and not table.counts_people:
        release = Release.empty()  # words and figures about no one: nothing to look up
    return (release or current_release(settings)).view(table)
