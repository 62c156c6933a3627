"""The one plotting package: one style, one palette, stable service colours, modules by family.

``base`` holds the style, palette and service colours, :func:`save_figure`
and the generic charts; each family of analysis has its own module of charts built
on them (``service``, ``cross_site``, ``realist``, ``context``). Every chart returns
a matplotlib Figure with a title saying what it shows; notebooks save and show it
through :func:`hubspoke.present.display.figure`, which requires alt text.
"""

from hubspoke.present.plotting.base import (
    ENGLAND,
    NEUTRAL,
    OKABE_ITO,
    PALETTE,
    SEQUENTIAL,
    SavedFigure,
    apply_style,
    bar_chart,
    line_chart,
    new_figure,
    save_figure,
    service_colours,
)

__all__ = [
    "ENGLAND",
    "NEUTRAL",
    "OKABE_ITO",
    "PALETTE",
    "SEQUENTIAL",
    "SavedFigure",
    "apply_style",
    "bar_chart",
    "line_chart",
    "new_figure",
    "save_figure",
    "service_colours",
]
