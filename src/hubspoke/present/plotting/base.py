"""Plotting basics: one style, a colour-blind-safe palette, stable service colours.

Every chart in the suite is drawn through these helpers so that:

* services always appear in the same order (``S01``, ``S02``, ...) and the same colour;
* titles say what the chart shows, and every figure carries alt text;
* each figure is saved as PNG and SVG under ``figures/<report>/<name>.{png,svg}``
  with a stable name (the SVG without a timestamp, so re-runs give the same bytes);
* values that disclosure control suppresses are never drawn (callers pass counts
  through :func:`hubspoke.privacy.disclosure.safe_counts_for_plot` first; the bar helpers
  here leave NaN bars out and label them with the suppression symbol instead).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg", force=False)

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from hubspoke.config import get_settings  # noqa: E402
from hubspoke.errors import HubspokeError  # noqa: E402
from hubspoke.load import service_order  # noqa: E402

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

#: Okabe & Ito (2008) colour-blind-safe palette, then Paul Tol's muted scheme for more categories.
OKABE_ITO: tuple[str, ...] = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#F0E442",
    "#000000",
)
TOL_MUTED: tuple[str, ...] = (
    "#332288",
    "#88CCEE",
    "#44AA99",
    "#117733",
    "#999933",
    "#DDCC77",
    "#CC6677",
    "#882255",
    "#AA4499",
)
PALETTE: tuple[str, ...] = OKABE_ITO + TOL_MUTED
#: Ordered scales (risk, policy status) use a sequential colour-blind-safe ramp.
SEQUENTIAL: tuple[str, ...] = ("#FEE8C8", "#FDBB84", "#E34A33", "#B30000")
NEUTRAL = "#6E6E6E"
ENGLAND = "#000000"

#: matplotlib rcParams the suite sets (keys typed as matplotlib's own rcParams names).
STYLE: dict[RcKeyType, Any] = {
    "figure.figsize": (8.0, 4.5),
    "figure.dpi": 100,
    "savefig.dpi": 150,
    "savefig.bbox": "tight",
    "font.size": 10,
    "axes.titlesize": 12,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.grid.axis": "y",
    "grid.color": "#DDDDDD",
    "legend.frameon": False,
    "svg.hashsalt": "hubspoke",
    "svg.fonttype": "none",
}


def apply_style() -> None:
    """Apply the suite's matplotlib style (idempotent)."""
    plt.rcParams.update(STYLE)


def service_colours(service_ids: Sequence[str]) -> dict[str, str]:
    """A fixed colour per service: its position in the programme's service order picks the colour.

    The colour depends on the service's number, not on which services a chart shows,
    so S05 has the same colour in every chart of every report.
    """
    out = {}
    for sid in service_order(service_ids):
        digits = re.sub(r"\D", "", sid)
        index = (int(digits) - 1) if digits else 0
        out[sid] = PALETTE[index % len(PALETTE)]
    return out


@dataclass(frozen=True)
class SavedFigure:
    """A figure written to disk, with the alt text that goes with it."""

    png: Path
    svg: Path
    alt: str
    title: str


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    if not slug:
        raise HubspokeError("a figure or report name needs letters or digits", found=text)
    return slug


def save_figure(
    fig: plt.Figure, *, report: str, name: str, alt: str, figures_dir: Path | None = None
) -> SavedFigure:
    """Save ``fig`` as PNG and SVG under ``figures/<report>/<name>`` and close it.

    ``alt`` is required: a figure without a text alternative is an error.
    """
    if not alt or not alt.strip():
        raise HubspokeError("every figure needs alt text", column="alt", found=alt)
    folder = Path(figures_dir or get_settings().figures_dir) / _slug(report)
    folder.mkdir(parents=True, exist_ok=True)
    stem = _slug(name)
    title = next(
        (
            t
            for ax in fig.axes
            for loc in ("left", "center", "right")
            if (t := ax.get_title(loc=loc))
        ),
        "",
    )
    png, svg = folder / f"{stem}.png", folder / f"{stem}.svg"
    fig.savefig(png, metadata={"Software": None})
    fig.savefig(svg, metadata={"Date": None, "Creator": None})
    plt.close(fig)
    return SavedFigure(png=png, svg=svg, alt=alt.strip(), title=title)


def new_figure(
    *, title: str, width: float = 8.0, height: float = 4.5
) -> tuple[plt.Figure, plt.Axes]:
    """A new figure in the suite's style with a title that says what it shows."""
    apply_style()
    fig, ax = plt.subplots(figsize=(width, height))
    ax.set_title(title)
    return fig, ax


def bar_chart(
    values: pd.Series,
    *,
    title: str,
    xlabel: str = "",
    ylabel: str = "",
    colours: dict[str, str] | None = None,
    suppressed_label: str = "c",
) -> plt.Figure:
    """A vertical bar chart of ``values`` by index; NaN bars (suppressed) are left out and marked.

    Pass counts through disclosure control first: a NaN value is drawn as no bar,
    with the suppression symbol above the axis, never as a number.
    """
    fig, ax = new_figure(title=title)
    labels = [str(i) for i in values.index]
    heights = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    colour_list = [(colours or {}).get(lbl, PALETTE[0]) for lbl in labels]
    x = np.arange(len(labels))
    ax.bar(
        x[~np.isnan(heights)],
        heights[~np.isnan(heights)],
        color=[c for c, h in zip(colour_list, heights, strict=True) if not np.isnan(h)],
    )
    for xi in x[np.isnan(heights)]:
        ax.annotate(suppressed_label, (xi, 0), ha="center", va="bottom", color=NEUTRAL, fontsize=9)
    crowded = len(labels) > 8 or sum(len(lbl) for lbl in labels) > 60
    ax.set_xticks(x, labels, rotation=35 if crowded else 0, ha="right" if crowded else "center")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return fig


def line_chart(
    frame: pd.DataFrame,
    *,
    x: str,
    y: str,
    group: str,
    title: str,
    xlabel: str = "",
    ylabel: str = "",
    colours: dict[str, str] | None = None,
    highlight: str | None = None,
) -> plt.Figure:
    """Lines of ``y`` against ``x``, one per ``group`` value, in the fixed colours."""
    fig, ax = new_figure(title=title)
    for name, part in frame.sort_values(x).groupby(group, sort=False, observed=True):
        ax.plot(
            part[x],
            part[y],
            marker="o",
            label=str(name),
            color=(colours or {}).get(str(name), ENGLAND if str(name) == highlight else None),
            linewidth=2.5 if str(name) == highlight else 1.5,
        )
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(loc="best")
    return fig
