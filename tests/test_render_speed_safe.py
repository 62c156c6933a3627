"""Faster rendering keeps what a reader sees: figures laid out once, table views built whole.

A figure is laid out once and saved as PNG and SVG of the same area, with everything
placed below the axes kept; a page embeds the PNG bytes written to disk. A release's
view of a table puts each cell's text and mask in its own row and column, with the
same dtypes and the same refusals as before. All data here is synthetic.
"""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.ticker import MaxNLocator
from PIL import Image

from hubspoke.config import get_settings
from hubspoke.errors import ParameterError, ReportError
from hubspoke.present import display
from hubspoke.present.plotting import apply_style, base, save_figure
from hubspoke.present.views import view
from hubspoke.privacy.release import gather, protect
from hubspoke.privacy.table import Count, Derived, Table

DPI = 150  # the suite's savefig.dpi
SCOPE = {"service_id": "S01", "time_period": "2015"}


# --------------------------------------------------------------------------- figures
def _chart_with_a_note_below(*, layout: str | None = None) -> plt.Figure:
    """A synthetic bar chart with a note placed under the bottom edge of the figure."""
    apply_style()
    fig, ax = plt.subplots(figsize=(6.0, 3.0), layout=layout)
    ax.bar(["Police", "Education", "Health"], [12, 9, 8])
    ax.set_title("Synthetic referrals by source")
    fig.text(0.05, -0.25, "A synthetic note under the figure", fontsize=8)
    return fig


def _svg_size(svg: Path) -> tuple[float, float]:
    """Width and height (points) the SVG declares."""
    head = svg.read_text(encoding="utf-8")[:2000]
    width = re.search(r'width="([\d.]+)pt"', head)
    height = re.search(r'height="([\d.]+)pt"', head)
    assert width and height, head
    return float(width.group(1)), float(height.group(1))


@pytest.mark.parametrize("layout", [None, "constrained"])
def test_what_sits_below_the_figure_is_kept_in_both_files(tmp_path: Path, layout) -> None:
    saved = save_figure(
        _chart_with_a_note_below(layout=layout),
        report="service_report_S01_2015",
        name="referrals",
        alt="Synthetic referrals by source.",
        figures_dir=tmp_path,
    )
    with Image.open(saved.png) as image:
        width, height = image.size
    assert height > 3.0 * DPI + 20, "the note under the figure is inside the PNG"
    assert "A synthetic note under the figure" in saved.svg.read_text(encoding="utf-8")
    svg_width, svg_height = _svg_size(saved.svg)
    assert svg_height > 3.0 * 72 + 10, "the note under the figure is inside the SVG"
    assert width / height == pytest.approx(svg_width / svg_height, rel=0.02), "same area saved"


@pytest.mark.parametrize("below", [False, True])
@pytest.mark.parametrize("layout", [None, "constrained"])
def test_a_figure_is_rendered_once_for_its_png_and_once_for_its_svg(
    tmp_path: Path, monkeypatch, layout, below: bool
) -> None:
    """Laid out before rendering: even a figure drawing past its canvas (a note below it)
    is rendered once at the PNG's resolution, never once on its canvas and again."""
    renders: list[str] = []
    real_draw = plt.Figure.draw

    def counting_draw(self, renderer):
        renders.append(type(renderer).__name__)
        return real_draw(self, renderer)

    monkeypatch.setattr(plt.Figure, "draw", counting_draw)
    fig = _chart_with_a_note_below(layout=layout)
    if not below:
        fig.texts[-1].remove()
    saved = save_figure(fig, report="r", name="n", alt="Synthetic.", figures_dir=tmp_path)
    assert renders == ["RendererAgg", "MixedModeRenderer"], "one PNG render, then the SVG's"
    with Image.open(saved.png) as image:
        tall = image.size[1] > 3.0 * DPI + 20
    assert tall == below, "the note below the canvas is in the PNG exactly when there is one"


def test_the_page_embeds_the_png_bytes_written_to_disk(tmp_path: Path, monkeypatch) -> None:
    shown: list[str] = []
    monkeypatch.setattr(display, "display", lambda obj, *, metadata: shown.append(obj.data))
    settings = get_settings().with_paths(figures_dir=tmp_path)
    display.figure(
        _chart_with_a_note_below(),
        report="service_report_S01_2015",
        name="referrals",
        alt="Synthetic referrals by source.",
        settings=settings,
    )
    embedded = re.search(r'src="data:image/png;base64,([^"]+)"', shown[0])
    assert embedded is not None
    png = tmp_path / "service_report_s01_2015" / "referrals.png"
    assert base64.b64decode(embedded.group(1)) == png.read_bytes()
    assert (png.with_suffix(".svg")).stat().st_size > 0


def test_a_saved_figure_is_closed_and_its_svg_repeats_byte_for_byte(tmp_path: Path) -> None:
    svgs = []
    for run in ("first", "second"):
        fig = _chart_with_a_note_below(layout="constrained")
        saved = save_figure(fig, report="r", name="n", alt="Synthetic.", figures_dir=tmp_path / run)
        assert not plt.fignum_exists(fig.number)
        assert saved.png_data == saved.png.read_bytes()
        svgs.append(saved.svg.read_bytes())
    assert svgs[0] == svgs[1]


def _chart_on_its_canvas(*, layout: str | None = None) -> plt.Figure:
    """A synthetic chart whose labels all fit on its canvas (the PNG is cut from one draw)."""
    apply_style()
    fig, ax = plt.subplots(figsize=(6.0, 3.0), layout=layout)
    ax.plot([2014, 2015, 2016], [31, 44, 40], marker="o", label="Synthetic service")
    ax.set_title("Synthetic young people by year")
    ax.set_ylabel("Young people")
    ax.legend(loc="lower right")
    return fig


def _as_savefig_saves(fig: plt.Figure, area) -> np.ndarray:
    """The PNG ``savefig`` writes for ``area`` (inches): the reference for a cut PNG."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches=area, metadata={"Software": None})
    with Image.open(buffer) as image:
        return np.asarray(image.convert("RGBA")).astype(int)


@pytest.mark.parametrize(
    ("chart", "cut"),
    [(_chart_on_its_canvas, True), (_chart_with_a_note_below, False)],
    ids=["on its canvas: cut from one draw", "past its canvas: drawn into its area"],
)
@pytest.mark.parametrize("layout", [None, "constrained"])
def test_the_png_drawn_once_is_what_savefig_would_write(chart, cut: bool, layout) -> None:
    fig = chart(layout=layout)
    try:
        drawn = []
        real_savefig = fig.savefig
        fig.savefig = lambda *a, **k: drawn.append(k) or real_savefig(*a, **k)  # type: ignore[method-assign]
        data, area = base._png_once(fig)
        assert len(drawn) == (0 if cut else 1), "cut from the one draw, or saved with the area"
        formats = [k.get("format") for k in drawn]
        with Image.open(io.BytesIO(data)) as image:
            png = np.asarray(image.convert("RGBA")).astype(int)
            assert image.info.get("dpi", (0, 0))[0] == pytest.approx(DPI, abs=0.1)
            assert "Software" not in image.info
        reference = _as_savefig_saves(fig, area)
        assert png.shape == reference.shape, "the same area, to the pixel"
        # the same picture, up to where antialiasing falls within a pixel
        assert np.abs(png - reference).mean() < 4
        if not cut:  # rendered into the area as savefig renders it: its pixels, exactly
            assert formats == ["rgba"], "drawn once into the area, encoded here"
            assert (png == reference).all()
        assert (png[0, :, :3] == 255).all() and (png[:, 0, :3] == 255).all(), "the pad is white"
    finally:
        plt.close(fig)


def test_pixels_not_of_the_size_expected_fall_back_to_savefigs_png() -> None:
    """Should savefig's raw pixels ever differ from the area's size, the PNG savefig writes
    for that area is used instead, not a picture cut wrongly."""
    fig = _chart_with_a_note_below()
    try:
        _, area = base._png_once(fig)
        real_savefig = fig.savefig

        def short_pixels(buffer, **kwargs):
            real_savefig(buffer, **kwargs)
            if kwargs.get("format") == "rgba":
                buffer.truncate(buffer.tell() - 4)  # one pixel short

        fig.savefig = short_pixels  # type: ignore[method-assign]
        data = base._render_area(fig, area)
        assert isinstance(data, bytes) and data.startswith(b"\x89PNG")
        with Image.open(io.BytesIO(data)) as image:
            png = np.asarray(image.convert("RGBA")).astype(int)
        fig.savefig = real_savefig  # type: ignore[method-assign]
        assert (png == _as_savefig_saves(fig, area)).all()
    finally:
        plt.close(fig)


def _premultiplied(rgba: np.ndarray) -> np.ndarray:
    """RGBA pixels with the colour weighted by opacity (0-255 each)."""
    out = rgba.astype(float)
    out[..., :3] *= out[..., 3:] / 255.0
    return out


def test_an_opaque_figure_is_stored_as_rgb_and_a_see_through_one_keeps_its_alpha() -> None:
    opaque = _chart_on_its_canvas()
    clear = _chart_on_its_canvas()
    clear.patch.set_alpha(0.0)
    for ax in clear.axes:
        ax.patch.set_alpha(0.0)
    try:
        modes = {}
        for name, fig in (("opaque", opaque), ("clear", clear)):
            data, area = base._png_once(fig)
            with Image.open(io.BytesIO(data)) as image:
                modes[name] = image.mode
                png = np.asarray(image.convert("RGBA")).astype(int)
            reference = _as_savefig_saves(fig, area)
            assert png.shape == reference.shape
            # compared as seen: colour weighted by opacity (a clear pixel's colour is unseen)
            seen, expected = _premultiplied(png), _premultiplied(reference)
            assert np.abs(seen - expected).mean() < 4, "the same picture, alpha included"
        assert modes == {"opaque": "RGB", "clear": "RGBA"}
        assert (png[..., 3] < 255).any(), "the see-through background stays see-through"
    finally:
        plt.close(opaque)
        plt.close(clear)


# ------------------------------------------------------------------- ticks worked out once
def _small_multiples() -> plt.Figure:
    """Sixteen panels sharing both axes, laid out by constrained layout (the local-context page)."""
    apply_style()
    fig, axes = plt.subplots(
        4, 4, figsize=(13.8, 11.6), sharex=True, sharey=True, layout="constrained"
    )
    rng = np.random.default_rng(19)
    for index, ax in enumerate(axes.flat):
        ax.plot([2014, 2015, 2016, 2017], rng.uniform(5, 60, 4), marker="o")
        ax.set_title(f"Synthetic service S{index + 1:02d}", loc="left")
        ax.set_ylim(bottom=0)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=4, integer=True))
    fig.suptitle("Synthetic rates per 10,000 children")
    return fig


def _squeezed_by_its_layout() -> plt.Figure:
    """A short figure whose layout shrinks the axes until the y axis has room for fewer ticks."""
    apply_style()
    fig, ax = plt.subplots(figsize=(5.0, 2.5), layout="constrained")
    ax.plot([0, 1, 2, 3], [0.0, 37.0, 81.0, 100.0])
    ax.set_ylabel("\n".join(["Synthetic young people"] * 3))
    fig.suptitle("\n".join(["Synthetic title line"] * 3))
    return fig


def _with_an_offset() -> plt.Figure:
    """Values whose axis shows an offset (``+1e6``): its own formatter must draw that."""
    apply_style()
    fig, ax = plt.subplots(figsize=(5.0, 3.0))
    ax.plot([1, 2, 3], [1_000_001.0, 1_000_002.5, 1_000_004.0])
    return fig


def _tick_labels(fig: plt.Figure) -> list[list[str]]:
    return [
        [t.get_text() for t in axis.get_ticklabels()] + [axis.get_offset_text().get_text()]
        for ax in fig.axes
        for axis in (ax.xaxis, ax.yaxis)
    ]


def _rgb(png: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("RGB")).astype(int)


@pytest.mark.parametrize(
    ("chart", "laid_out_again"),
    [(_small_multiples, False), (_squeezed_by_its_layout, True), (_with_an_offset, False)],
    ids=["16 shared panels", "ticks change with the layout", "an offset"],
)
def test_ticks_worked_out_once_draw_what_the_axes_own_locators_draw(
    chart, laid_out_again, monkeypatch
) -> None:
    """The same picture as saving it with each axis working its ticks out every time it is asked."""
    plain, once = chart(), chart()
    try:
        with monkeypatch.context() as patched:
            patched.setattr(base, "_fix_ticks", lambda fig: [])
            reference, plain_area = base._png_once(plain)
        restored = []
        real_restore = base._restore_ticks
        monkeypatch.setattr(base, "_restore_ticks", lambda f: restored.append(f) or real_restore(f))
        data, area = base._png_once(once)
        assert bool(restored) == laid_out_again, "the layout is run again only when ticks moved"
        assert _tick_labels(once) == _tick_labels(plain), "the same ticks, labels and offset"
        assert area.bounds == plain_area.bounds
        assert (_rgb(data) == _rgb(reference)).all(), "the same picture, pixel for pixel"
    finally:
        plt.close(plain)
        plt.close(once)


def test_the_ticks_of_a_saved_figure_are_fixed_and_its_axes_keep_their_labels() -> None:
    fig = _small_multiples()
    try:
        base._png_once(fig)
        ax = fig.axes[12]  # the lowest panel of the left column: both axes labelled
        assert isinstance(ax.yaxis.get_major_locator(), base.FixedLocator)
        assert isinstance(ax.yaxis.get_major_formatter(), base.FixedFormatter)
        years = MaxNLocator(nbins=4, integer=True).tick_values(*ax.get_xlim())
        assert list(ax.xaxis.get_majorticklocs()) == list(years)
        assert [t.get_text() for t in ax.xaxis.get_ticklabels()] == [f"{y:.0f}" for y in years]
    finally:
        plt.close(fig)


# --------------------------------------------------------------------------- table views
def _people(values: dict[tuple[str, str], int]) -> Table:
    """Synthetic young people by (group, gender), with a Total row and each row's percentage."""
    index = pd.MultiIndex.from_tuples(list(values), names=["group", "gender"])
    frame = pd.DataFrame({"n": list(values.values())}, index=index)
    frame.loc[("All", "Total"), "n"] = frame["n"].sum()
    frame["n"] = frame["n"].astype(int)
    frame["%"] = frame["n"] / frame.loc[("All", "Total"), "n"] * 100
    return Table(
        frame,
        family="people",
        rows="group_gender",
        scope=SCOPE,
        total_row=("All", "Total"),
        columns={"n": Count("young_people"), "%": Derived("pct", ("n", (("All", "Total"), "n")))},
    )


def _released(table: Table):
    cells, equations = gather([table])
    return protect(cells, equations=equations)


def test_each_cell_lands_in_its_own_row_and_column() -> None:
    table = _people({("A", "Female"): 40, ("A", "Male"): 30, ("B", "Female"): 20})
    shown = _released(table).view(table)
    expected = pd.DataFrame(
        {"n": ["40", "30", "20", "90"], "%": ["44", "33", "22", "100"]},
        index=table.frame.index,
        dtype=object,
    )
    pd.testing.assert_frame_equal(shown.display, expected)
    assert shown.display.dtypes.tolist() == [np.dtype(object)] * 2
    assert shown.hidden.dtypes.tolist() == [np.dtype(bool)] * 2
    assert not shown.hidden.to_numpy().any()


def test_a_hidden_count_and_what_comes_from_it_show_the_symbol() -> None:
    table = _people({("A", "Female"): 40, ("A", "Male"): 3, ("B", "Female"): 20})
    release = _released(table)
    shown = release.view(table)
    assert shown.display.loc[("A", "Male"), "n"] == release.symbol
    assert shown.display.loc[("A", "Male"), "%"] == release.symbol
    pd.testing.assert_frame_equal(shown.hidden, shown.display.eq(release.symbol), check_names=False)
    assert shown.display.loc[("All", "Total"), "n"] == "63"


def test_a_stale_cell_is_refused_by_name() -> None:
    release = _released(_people({("A", "Female"): 40, ("A", "Male"): 30}))
    with pytest.raises(ReportError, match="out of date") as raised:
        release.view(_people({("A", "Female"): 40, ("A", "Male"): 31}))
    assert "Male" in str(raised.value.column) and float(raised.value.found) == 31


def test_a_cell_the_release_does_not_hold_is_refused() -> None:
    release = _released(_people({("A", "Female"): 40, ("A", "Male"): 30}))
    with pytest.raises(ReportError, match="does not hold"):
        release.view(_people({("A", "Female"): 40, ("C", "Male"): 30}))


def test_a_list_of_cells_that_do_not_apply_naming_a_missing_cell_is_refused() -> None:
    table = _people({("A", "Female"): 40, ("A", "Male"): 30})
    table.frame.attrs["not_applicable"] = [(("Z", "Nobody"), "n")]
    release = _released(table)
    assert not release.view(table).display.eq("x").to_numpy().any(), "nothing is missing"
    with pytest.raises(ParameterError, match="does not have"):
        view(table, release=release)
