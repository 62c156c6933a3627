"""Plotting basics: one style, a colour-blind-safe palette, stable service colours.

Every chart in the suite is drawn through these helpers so that:

* services always appear in the same order (``S01``, ``S02``, ...) and the same colour;
* titles say what the chart shows, and every figure carries alt text;
* each figure is saved as PNG and SVG under ``figures/<report>/<name>.{png,svg}``
  with a stable name (the SVG without a timestamp, so re-runs give the same bytes);
* values that disclosure control suppresses are never drawn (charts draw
  ``hubspoke.present.views.view(table).visible``, NaN wherever a cell is hidden; the bar
  helpers here leave NaN bars out and label them with the suppression symbol instead);
* a chart that would draw nothing, or a single value, is not drawn at all (:func:`drawable`):
  the chart function returns ``None`` and its alt text says why in a sentence
  (:func:`no_chart`), which :func:`hubspoke.present.display.figure` shows instead;
* labels never overlap (:func:`label_points`), notes sit below every axis label
  (:func:`add_note`), and an axis of percentages says so (:func:`unit_label`).
"""

from __future__ import annotations

import contextlib
import io
import re
import textwrap
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, overload

import matplotlib

matplotlib.use("Agg", force=False)

import matplotlib.colors  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import PIL.Image  # noqa: E402
from matplotlib.axis import Axis  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg  # noqa: E402
from matplotlib.layout_engine import LayoutEngine  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.text import Text  # noqa: E402
from matplotlib.ticker import (  # noqa: E402
    FixedFormatter,
    FixedLocator,
    Formatter,
    Locator,
    NullLocator,
)
from matplotlib.transforms import Bbox, ScaledTranslation  # noqa: E402

from hubspoke.config import get_settings  # noqa: E402
from hubspoke.errors import HubspokeError  # noqa: E402
from hubspoke.load import service_order  # noqa: E402
from hubspoke.privacy.release import Release  # noqa: E402

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

#: matplotlib rcParams the suite sets.
STYLE: dict[str, Any] = {
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
    #: The PNG's bytes as written, so a page embeds them without reading the file back.
    png_data: bytes = field(default=b"", repr=False, compare=False)


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    if not slug:
        raise HubspokeError("a figure or report name needs letters or digits", found=text)
    return slug


@overload
def save_figure(
    fig: plt.Figure, *, report: str, name: str, alt: str, figures_dir: Path | None = None
) -> SavedFigure: ...


@overload
def save_figure(
    fig: None, *, report: str, name: str, alt: str, figures_dir: Path | None = None
) -> None: ...


def save_figure(
    fig: plt.Figure | None, *, report: str, name: str, alt: str, figures_dir: Path | None = None
) -> SavedFigure | None:
    """Save ``fig`` as PNG and SVG under ``figures/<report>/<name>`` and close it.

    ``alt`` is required: a figure without a text alternative is an error. ``fig`` is
    ``None`` for a chart not drawn (:func:`drawable`): nothing is saved, an image an
    earlier run left under that name is removed (:func:`discard_figure`), and ``None``
    is returned.
    """
    if not alt or not alt.strip():
        raise HubspokeError("every figure needs alt text", column="alt", found=alt)
    if fig is None:
        discard_figure(report=report, name=name, figures_dir=figures_dir)
        return None
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
    try:
        picture, area = _render_png(fig)
        # The PNG is compressed in a thread while the SVG is drawn: Pillow's encoder
        # releases the GIL, so on a second core it costs no time of its own.
        with ThreadPoolExecutor(max_workers=1) as encoder:
            encoded = (
                encoder.submit(_png_bytes, picture, dpi=fig.dpi)
                if isinstance(picture, np.ndarray)
                else None
            )
            fig.savefig(svg, bbox_inches=area, metadata={"Date": None, "Creator": None})
            png_data = encoded.result() if encoded is not None else bytes(picture)
        png.write_bytes(png_data)
    finally:
        plt.close(fig)
    return SavedFigure(png=png, svg=svg, alt=alt.strip(), title=title, png_data=png_data)


def _png_once(fig: plt.Figure) -> tuple[bytes, Bbox]:
    """The PNG of ``fig``, tight around what it draws, and the area saved (inches)
    (:func:`_render_png`, then its pixels encoded)."""
    picture, area = _render_png(fig)
    if isinstance(picture, np.ndarray):
        return _png_bytes(picture, dpi=fig.dpi), area
    return picture, area


def _render_png(fig: plt.Figure) -> tuple[np.ndarray | bytes, Bbox]:
    """The pixels of ``fig`` (RGBA, to encode with :func:`_png_bytes`), tight around what it
    draws, and the area (inches).

    The figure is laid out first at the PNG's resolution (its layout engine runs, as
    drawing would run it, then the layout is frozen for the SVG), so the area it draws
    on is known before anything is rendered. It is then rendered once: on its own
    canvas, the pixels cut from that rendering and padded as ``savefig`` pads, or, for a
    figure that draws beyond its canvas (long labels past an edge), straight into that
    area (:func:`_render_area`). Saving with ``bbox_inches="tight"`` would lay it out and
    render it again.
    """
    dpi = plt.rcParams["savefig.dpi"]
    if dpi != "figure":
        fig.set_dpi(dpi)  # laid out at the PNG's resolution, as saving it would
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    renderer = canvas.get_renderer()
    _lay_out(fig)
    tight = fig.get_tightbbox(renderer)
    _freeze_layout(fig)
    area = tight.padded(float(plt.rcParams["savefig.pad_inches"]))
    if _inside_canvas(tight, fig):
        canvas.draw()  # rendered with the layout found above
        return _cut(np.asarray(canvas.get_renderer().buffer_rgba()), area, fig), area
    return _render_area(fig, area), area


def _render_area(fig: plt.Figure, area: Bbox) -> np.ndarray | bytes:
    """``fig`` rendered straight into ``area`` (inches), as ``savefig(bbox_inches=area)``
    renders it: its RGBA pixels, or, should their size not be the one expected, the PNG."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="rgba", bbox_inches=area)
    box = area.transformed(fig.dpi_scale_trans)
    width, height = int(box.width), int(box.height)
    raw = buffer.getvalue()
    if width > 0 and height > 0 and len(raw) == width * height * 4:
        return np.frombuffer(raw, dtype=np.uint8).reshape(height, width, 4)
    buffer = io.BytesIO()
    fig.savefig(
        buffer,
        format="png",
        bbox_inches=area,
        metadata={"Software": None},
        pil_kwargs={"compress_level": PNG_COMPRESS_LEVEL},
    )
    return buffer.getvalue()


#: zlib level of the PNGs: 3 compresses in about half the time of the default 6, and the
#: files of the reports' figures come out about the same size (a few percent either way).
PNG_COMPRESS_LEVEL = 3


def _png_bytes(pixels: np.ndarray, *, dpi: float) -> bytes:
    """``pixels`` (RGBA, rows from the top) as a PNG at ``dpi``, without metadata.

    Stored as RGB when every pixel is opaque (a figure on its own background): the same
    picture with a quarter less to compress and to embed in a page.
    """
    opaque = bool((pixels[..., 3] == 255).all())
    image = PIL.Image.fromarray(np.ascontiguousarray(pixels[..., :3]) if opaque else pixels)
    buffer = io.BytesIO()
    image.save(buffer, format="png", dpi=(dpi, dpi), compress_level=PNG_COMPRESS_LEVEL)
    return buffer.getvalue()


def _lay_out(fig: plt.Figure) -> None:
    """Place ``fig``'s axes as drawing it would, without rendering: each axes' aspect
    applied, then its layout engine run (as :meth:`matplotlib.figure.Figure.draw` does).

    Every axis's ticks are fixed (:func:`_fix_ticks`) before the layout runs, which asks
    for them dozens of times. A locator can space its ticks by the axes' length, so
    they are checked against the size the layout gave; where they moved, the layout is
    run again with the axes' own locators and the ticks fixed after it.
    """
    for ax in fig.axes:
        ax.apply_aspect()
    engine = fig.get_layout_engine()
    if not fig.axes or engine is None:
        _fix_ticks(fig)
        return
    before = _fix_ticks(fig)
    _run_layout(fig, engine)
    if not _ticks_hold(before):
        _restore_ticks(before)
        _run_layout(fig, engine)
        _fix_ticks(fig)


def _run_layout(fig: plt.Figure, engine: LayoutEngine) -> None:
    """Run ``fig``'s layout engine; a canvas too small to lay out is left as it is
    (:meth:`matplotlib.figure.Figure.draw` ignores that ValueError too)."""
    with contextlib.suppress(ValueError):
        engine.execute(fig)


#: An axis whose ticks were fixed: its locators and formatter as they were, and the ticks
#: the locators gave.
_Fixed = tuple[Axis, Locator, Locator, Formatter, np.ndarray, np.ndarray]


def _fix_ticks(fig: plt.Figure) -> list[_Fixed]:
    """Fix every axis's ticks and labels as its locators and formatters give them now.

    Laying a figure out, finding its tight box and drawing it ask each axis for its
    ticks again and again, and each time the locator and the formatter run again (in
    a 16-panel chart that was about half of saving it). The view limits are final by
    now, so the same ticks are kept as fixed ones: the picture is unchanged. A
    formatter that shows an offset (``1e6``, ``+2014``) is kept as it is. Returns
    what :func:`_ticks_hold` and :func:`_restore_ticks` need.
    """
    fixed: list[_Fixed] = []
    for axis in _axes_axes(fig):
        major, minor = axis.get_major_locator(), axis.get_minor_locator()
        if isinstance(major, FixedLocator) and isinstance(minor, (FixedLocator, NullLocator)):
            continue  # ticks set by hand: nothing to work out
        major_locs = np.asarray(axis.get_majorticklocs(), dtype=float)
        minor_locs = np.asarray(minor(), dtype=float)
        formatter = axis.get_major_formatter()
        labels = formatter.format_ticks(list(major_locs))
        fixed.append((axis, major, minor, formatter, major_locs, minor_locs))
        axis.set_major_locator(FixedLocator(major_locs.tolist()))
        if not isinstance(minor, NullLocator):
            axis.set_minor_locator(FixedLocator(minor_locs.tolist()))
        if formatter.get_offset() == "":
            axis.set_major_formatter(FixedFormatter(labels))
    return fixed


def _axes_axes(fig: plt.Figure) -> Iterator[Axis]:
    """Each x and y axis of ``fig``'s axes, a shared axis once."""
    seen: set[int] = set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            if id(axis.major) not in seen:  # shared axes share one ticker
                seen.add(id(axis.major))
                yield axis


def _ticks_hold(fixed: list[_Fixed]) -> bool:
    """Whether each axis's own locators still give the ticks fixed (after the layout)."""
    return all(
        np.array_equal(np.asarray(major(), dtype=float), major_locs)
        and np.array_equal(np.asarray(minor(), dtype=float), minor_locs)
        for _, major, minor, _, major_locs, minor_locs in fixed
    )


def _restore_ticks(fixed: list[_Fixed]) -> None:
    """Give each axis its own locators and formatter back (:func:`_fix_ticks` undone)."""
    for axis, major, minor, formatter, _, _ in fixed:
        axis.set_major_locator(major)
        axis.set_minor_locator(minor)
        axis.set_major_formatter(formatter)


def _freeze_layout(fig: plt.Figure) -> None:
    """Keep the layout ``fig`` has: saving must not move anything."""
    with matplotlib.rc_context(
        {"figure.autolayout": False, "figure.constrained_layout.use": False}
    ):
        fig.set_layout_engine(None)


def _inside_canvas(tight: Bbox, fig: plt.Figure) -> bool:
    """Whether everything drawn (``tight``, inches) lies on the figure's canvas (to half a pixel)."""
    box = tight.transformed(fig.dpi_scale_trans)
    width, height = fig.bbox.width, fig.bbox.height
    return box.x0 >= -0.5 and box.y0 >= -0.5 and box.x1 <= width + 0.5 and box.y1 <= height + 0.5


def _cut(rgba: np.ndarray, area: Bbox, fig: plt.Figure) -> np.ndarray:
    """The pixels of ``area`` (inches) from a rendering of the whole canvas (rows from the
    top), the part beyond the canvas (the pad only) in the figure's background colour.

    The size is the one ``savefig(bbox_inches=area)`` gives (whole pixels, truncated).
    """
    box = area.transformed(fig.dpi_scale_trans)
    width, height = int(box.width), int(box.height)
    left, top = round(box.x0), rgba.shape[0] - round(box.y0) - height
    background = np.asarray(matplotlib.colors.to_rgba(fig.get_facecolor())) * 255
    out = np.empty((height, width, 4), dtype=np.uint8)
    out[...] = np.round(background).astype(np.uint8)
    rows = slice(max(top, 0), min(top + height, rgba.shape[0]))
    cols = slice(max(left, 0), min(left + width, rgba.shape[1]))
    out[rows.start - top : rows.stop - top, cols.start - left : cols.stop - left] = rgba[rows, cols]
    return out


def discard_figure(*, report: str, name: str, figures_dir: Path | None = None) -> None:
    """Remove the PNG and SVG a chart left under ``figures/<report>/<name>`` on an earlier run.

    For a chart not drawn this time (:func:`drawable`): an old image must not outlive the
    data it showed.
    """
    folder = Path(figures_dir or get_settings().figures_dir) / _slug(report)
    for suffix in (".png", ".svg"):
        (folder / f"{_slug(name)}{suffix}").unlink(missing_ok=True)


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


# --------------------------------------------------------------------------- when to draw
#: A chart needs at least this many shown values to say anything: one value is the table's job.
MIN_POINTS = 2


def points(values: pd.DataFrame | pd.Series | Sequence[float] | np.ndarray) -> int:
    """How many values a chart would draw: the finite numbers (a hidden or missing cell is NaN)."""
    frame = values if isinstance(values, pd.DataFrame) else pd.DataFrame(values)
    numbers = frame.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)
    return int(np.isfinite(numbers).sum())


def drawable(
    values: pd.DataFrame | pd.Series | Sequence[float] | np.ndarray, *, minimum: int = MIN_POINTS
) -> bool:
    """Whether a chart of ``values`` (as the funder view shows them) says something.

    The one rule of every chart: at least two shown values. A chart with nothing to
    draw, or a single point, returns ``None`` and its alt text says why (:func:`no_chart`).
    """
    return points(values) >= minimum


def no_chart(reason: str) -> str:
    """The sentence shown instead of a chart: why there is none, and where the numbers are."""
    return f"{reason.rstrip('. ')}, so no chart is drawn: see the table below."


def suppressed_reason(*, unit: str = "young people", release: Release | None = None) -> str:
    """``(fewer than 6 young people, or could reveal one)``: why a count is suppressed."""
    threshold = release.threshold if release is not None else get_settings().suppression_threshold
    return f"(fewer than {threshold + 1} {unit}, or could reveal one)"


def bars(values: pd.Series | pd.DataFrame) -> pd.Series | pd.DataFrame:
    """The values a bar chart draws as bars: those above 0 (a 0 or a hidden bar draws nothing).

    Pass them to :func:`drawable`: a bar chart of one bar, or of zeros, is not drawn.
    """
    return values.where(values > 0)


def missing_values(
    values: pd.Series,
    *,
    hidden: pd.Series,
    display: pd.Series,
    what: str,
    where: str = "",
    reason: str,
) -> str:
    """Why a bar chart of ``values`` (one per label) is not drawn, as a :func:`no_chart` sentence.

    ``hidden`` says which values the release suppresses, ``display`` how the table shows
    each; ``what`` names one value (``"referral source count"``, plural with an ``s``),
    ``where`` says of what (``" for S01 in 2014"``), ``reason`` why values are suppressed
    (:func:`suppressed_reason`). Only values the table shows are quoted.
    """
    shown = values.dropna()
    n_hidden = int(hidden.reindex(values.index, fill_value=False).sum())
    others = f"; the {'other is' if n_hidden == 1 else 'others are'} suppressed {reason}"
    if values.empty:
        return no_chart(f"There is no {what}{where} to show")
    if shown.empty:
        how = f"suppressed {reason}" if n_hidden == len(values) else "suppressed or not available"
        return no_chart(
            f"Every {what}{where} is {how}" if n_hidden else f"No {what}{where} is available"
        )
    listing = [f"{label} {display[label]}" for label in shown.index]
    text = (
        f"Only one {what}{where} can be shown ({listing[0]})"
        if len(shown) == 1
        else f"Of the {what}s{where}, only {', '.join(listing[:-1])} and {listing[-1]} can be shown"
    )
    return no_chart(text + (others if n_hidden else ""))


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 service``, ``2 services``: a count with its noun in the right number."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def unit_label(label: str, unit: str = "%") -> str:
    """An axis label naming the unit of its values: ``Risk reduced`` -> ``Risk reduced (%)``.

    A label that already names it (``%``, ``per cent``, ``per 10,000``) is kept.
    """
    named = label.lower()
    if unit.lower() in named or (unit == "%" and "per cent" in named):
        return label
    return f"{label} ({unit})" if label.strip() else unit


# --------------------------------------------------------------------------- labels and notes
#: Directions a point's label may go (offset unit vectors and alignment), tried in this order.
_HAlign = Literal["left", "center", "right"]
_VAlign = Literal["bottom", "center", "top"]
_DIRECTIONS: tuple[tuple[float, float, _HAlign, _VAlign], ...] = (
    (1.0, 0.6, "left", "bottom"),
    (1.0, -0.6, "left", "top"),
    (-1.0, 0.6, "right", "bottom"),
    (-1.0, -0.6, "right", "top"),
    (0.0, 1.2, "center", "bottom"),
    (0.0, -1.2, "center", "top"),
    (1.2, 0.0, "left", "center"),
    (-1.2, 0.0, "right", "center"),
)
#: Distances (points) from the point to its label: the nearest that collides with nothing wins.
_RINGS = (5.0, 11.0, 18.0, 26.0, 36.0, 48.0)
#: Extra room (pixels) kept around each label.
_PAD = 1.5


def _padded(box: Bbox, pad: float = _PAD) -> Bbox:
    return Bbox.from_extents(box.x0 - pad, box.y0 - pad, box.x1 + pad, box.y1 + pad)


def label_points(
    ax: plt.Axes,
    xs: Sequence[float],
    ys: Sequence[float],
    labels: Sequence[str],
    *,
    marker_points: float = 7.0,
    fontsize: float = 8,
) -> list[Text]:
    """Label each point so that no two labels (and no label and marker) overlap.

    Deterministic: points are labelled in the order given, each at the first of a fixed
    list of positions, nearest first, whose box collides with no label or marker placed
    so far and stays inside the axes; a label pushed away from its point gets a thin
    leader line. ``marker_points`` is the markers' diameter in points. Call after the
    axes' limits are set.
    """
    fig = ax.figure
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    centres = ax.transData.transform(np.column_stack([xs, ys])) if len(xs) else np.empty((0, 2))
    half = marker_points * fig.dpi / 72.0 / 2
    taken = np.empty((len(centres) * 2, 4))
    taken[: len(centres)] = np.column_stack(
        [centres[:, 0] - half, centres[:, 1] - half, centres[:, 0] + half, centres[:, 1] + half]
    )
    count = len(centres)
    inside = ax.get_window_extent(renderer)
    placed: list[Text] = []
    for x, y, label in zip(xs, ys, labels, strict=True):
        boxes = _LabelBoxes(ax, (x, y), label, fontsize=fontsize, renderer=renderer)
        text = _place_one(ax, (x, y), label, position=_first_free(boxes, taken[:count], inside),
                          fontsize=fontsize)  # fmt: skip
        taken[count] = _padded(text.get_window_extent(renderer)).extents
        count += 1
        placed.append(text)
    return placed


def _candidate(
    ax: plt.Axes, xy: tuple[float, float], label: str, *, position: int, fontsize: float
) -> Text:
    """The label of a point at one of its positions (:data:`_RINGS` by :data:`_DIRECTIONS`,
    nearest first), not yet on the axes."""
    ring = _RINGS[position // len(_DIRECTIONS)]
    dx, dy, ha, va = _DIRECTIONS[position % len(_DIRECTIONS)]
    return Text(
        *xy,
        label,
        ha=ha,
        va=va,
        fontsize=fontsize,
        transform=ax.transData
        + ScaledTranslation(ring * dx / 72.0, ring * dy / 72.0, ax.figure.dpi_scale_trans),
    )


class _LabelBoxes:
    """The padded boxes (display extents) of the positions a point's label may take.

    A label's box at one alignment is the same at every distance, only moved: it is
    measured once per alignment at the point (one Text, realigned), when a position with
    that alignment is first asked for, then shifted by the ring's offset. (A Text per
    position cost its font lookup and layout: most of a national funnel plot's time;
    measuring every alignment up front, most of a sparse plot's, whose labels mostly
    take their first position.)
    """

    def __init__(
        self,
        ax: plt.Axes,
        xy: tuple[float, float],
        label: str,
        *,
        fontsize: float,
        renderer: RendererAgg,
    ) -> None:
        self.renderer = renderer
        self.dpi = ax.figure.dpi
        self.text = Text(*xy, label, fontsize=fontsize, transform=ax.transData)
        self.text.set_figure(ax.figure)
        self.measured: dict[int, np.ndarray] = {}

    def box(self, position: int) -> np.ndarray:
        """The padded box (x0, y0, x1, y1) of the label at ``position``."""
        ring = _RINGS[position // len(_DIRECTIONS)]
        alignment = position % len(_DIRECTIONS)
        dx, dy, ha, va = _DIRECTIONS[alignment]
        if alignment not in self.measured:
            self.text.set_horizontalalignment(ha)
            self.text.set_verticalalignment(va)
            self.measured[alignment] = np.array(self.text.get_window_extent(self.renderer).extents)
        shift_x, shift_y = ring * dx / 72.0 * self.dpi, ring * dy / 72.0 * self.dpi
        moved = self.measured[alignment] + np.array([shift_x, shift_y, shift_x, shift_y])
        return moved + np.array([-_PAD, -_PAD, _PAD, _PAD])


def _first_free(boxes: _LabelBoxes, taken: np.ndarray, inside: Bbox) -> int:
    """The first position whose box is inside the axes and overlaps none of ``taken``
    (rows of x0, y0, x1, y1; edges touching count as overlapping); the last if none is."""
    last = len(_RINGS) * len(_DIRECTIONS) - 1
    for position in range(last):
        x0, y0, x1, y1 = boxes.box(position)
        if not (inside.x0 <= x0 and x1 <= inside.x1 and inside.y0 <= y0 and y1 <= inside.y1):
            continue
        clash = (
            (x0 <= taken[:, 2]) & (taken[:, 0] <= x1) & (y0 <= taken[:, 3]) & (taken[:, 1] <= y1)
        )
        if not clash.any():
            return position
    return last


def _place_one(
    ax: plt.Axes, xy: tuple[float, float], label: str, *, position: int, fontsize: float
) -> Text:
    """Add the label of one point at ``position``; one pushed away from its point gets a
    leader line back to it."""
    fig = ax.figure
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    text = _candidate(ax, xy, label, position=position, fontsize=fontsize)
    text.set_figure(fig)
    ax.add_artist(text)
    near = 2 * len(_DIRECTIONS)
    if position >= near:  # pushed away: a leader line back to the point
        box = text.get_window_extent(renderer)
        centre = ax.transData.transform(xy)
        end = (np.clip(centre[0], box.x0, box.x1), np.clip(centre[1], box.y0, box.y1))
        tip = ax.transData.inverted().transform(end)
        ax.add_line(Line2D([xy[0], tip[0]], [xy[1], tip[1]], color=NEUTRAL, linewidth=0.6,
                           zorder=2))  # fmt: skip
    return text


def add_note(fig: plt.Figure, text: str, *, fontsize: float = 8) -> Text | None:
    """Write ``text`` under the figure, below every axis and its labels, wrapped to its width.

    Placed from the drawn layout, so a note never overlaps an x-axis label or tick labels
    whatever the figure's height; it starts where the axes' labels start. Returns the note
    (``None`` for empty text).
    """
    if not text.strip():
        return None
    width = max(40, int(fig.get_figwidth() * 120 / fontsize))
    wrapped = "\n".join(textwrap.wrap(text, width))
    extent = _axes_extent(fig)  # one draw gives both the left edge and the height
    below = _below(fig, extent)
    return fig.text(
        extent.x0, below, wrapped, fontsize=fontsize, color=NEUTRAL, ha="left", va="top"
    )


def below_axes(fig: plt.Figure, *, gap_points: float = 4.0) -> float:
    """The height (figure fraction) just below every axis, its tick labels, label and legend.

    Drawn first, so what is placed there (a note, a legend) never overlaps the x-axis label.
    """
    return _below(fig, _axes_extent(fig), gap_points=gap_points)


def _below(fig: plt.Figure, extent: Bbox, *, gap_points: float = 4.0) -> float:
    """The height ``gap_points`` below ``extent`` (:func:`_axes_extent`), as a figure fraction."""
    gap = gap_points / 72.0 / fig.get_figheight()
    return float(extent.y0 - gap)


def _axes_extent(fig: plt.Figure) -> Bbox:
    """The box (figure fraction) around every axis with its labels, from the drawn layout."""
    renderer = _drawn_renderer(fig)
    boxes = [box for ax in fig.axes if (box := ax.get_tightbbox(renderer)) is not None]
    if not boxes:
        return Bbox.unit()
    return Bbox.union(boxes).transformed(fig.transFigure.inverted())


def _drawn_renderer(fig: plt.Figure) -> RendererAgg:
    """A renderer of ``fig`` after one draw that places everything and rasterises nothing.

    The layout engine runs and every text gets its size and place, which is all that
    measuring the layout needs; a figure made without pyplot gets an Agg canvas first.
    """
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    fig.draw_without_rendering()
    return canvas.get_renderer()
