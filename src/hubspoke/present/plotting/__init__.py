"""The one plotting package: one style, one palette, stable service colours, modules by family.

``base`` holds the style, palette and service colours, :func:`save_figure`
and the generic charts; each family of analysis has its own module of charts built
on them (``service``, ``cross_site``, ``realist``, ``context``). Every chart returns
a matplotlib Figure with a title saying what it shows, or ``None`` when the funder view
leaves nothing or a single value to draw (:func:`drawable`); notebooks save and show it
through :func:`hubspoke.present.display.figure`, which requires alt text and shows the
alt sentence in place of a chart that is ``None``.
"""

from hubspoke.present.plotting.base import (
    ENGLAND,
    MIN_POINTS,
    NEUTRAL,
    OKABE_ITO,
    PALETTE,
    SEQUENTIAL,
    SavedFigure,
    add_note,
    apply_style,
    bar_chart,
    bars,
    below_axes,
    discard_figure,
    drawable,
    label_points,
    line_chart,
    missing_values,
    new_figure,
    no_chart,
    plural,
    points,
    save_figure,
    service_colours,
    suppressed_reason,
    unit_label,
)

__all__ = [
    "ENGLAND",
    "MIN_POINTS",
    "NEUTRAL",
    "OKABE_ITO",
    "PALETTE",
    "SEQUENTIAL",
    "SavedFigure",
    "add_note",
    "apply_style",
    "bar_chart",
    "bars",
    "below_axes",
    "discard_figure",
    "drawable",
    "label_points",
    "line_chart",
    "missing_values",
    "new_figure",
    "no_chart",
    "plural",
    "points",
    "save_figure",
    "service_colours",
    "suppressed_reason",
    "unit_label",
]
