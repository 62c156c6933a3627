"""What notebooks show, and who may see it.

Every output a report shows goes through one of these helpers. Each output is
tagged for its audience in its metadata: ``funder`` outputs are the only ones the
funder HTML keeps (see :func:`hubspoke.report.export.funder_notebook`), and every table
tagged ``funder`` is a view of the release-wide suppression (:func:`table` takes only a
:class:`~hubspoke.privacy.table.Table`). Analysts
see the full table as well, labelled as not for sharing.

Text from data never reaches a page as markup: every helper escapes the values it
puts into HTML, and :func:`say` turns its Markdown into HTML here, with raw HTML
shown as text and only web and mail links kept (see :func:`markdown_html`), so
nbconvert and JupyterLab are never handed Markdown that could carry a script.
"""

from __future__ import annotations

import base64
import functools
import html
import re
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import mistune
import numpy as np
import pandas as pd
from IPython.display import HTML, display

from hubspoke import SYNTHETIC_NOTICE, __version__, load
from hubspoke.config import Settings, get_settings
from hubspoke.io.parquet import snapshot
from hubspoke.load import data_version
from hubspoke.present.audience import ANALYST_TAG, FUNDER_TAG, Audience
from hubspoke.present.plotting import save_figure
from hubspoke.present.views import view
from hubspoke.privacy.release import Shown, footnote, format_value
from hubspoke.privacy.table import Count, Table, Text, cell_frame
from hubspoke.spec.labels import readable_label


def _show(obj: object, *, audience: Audience) -> None:
    display(obj, metadata={"tags": [audience]})


class _SafeMarkdownRenderer(mistune.HTMLRenderer):
    """Markdown to HTML that keeps no raw HTML, loads no image and links only to the web or mail.

    Raw HTML (tags, comments) comes out as text; a link to any other scheme
    (``javascript:``, ``data:``, ``file:``...) comes out as its text alone; an image
    comes out as its alt text (figures go through :func:`figure`, embedded).
    """

    SAFE_PROTOCOLS = ("http:", "https:", "mailto:")
    GOOD_DATA_PROTOCOLS = ()

    def link(self, text: str, url: str, title: str | None = None) -> str:
        """A link to a safe URL; only its text for any other."""
        if self.sanitize_url(url) != url:
            return text
        return super().link(text, url, title)

    def image(self, text: str, url: str, title: str | None = None) -> str:
        """An image's alt text: nothing is loaded from a URL written in text."""
        return text


_MARKDOWN = mistune.create_markdown(
    renderer=_SafeMarkdownRenderer(escape=True), plugins=["strikethrough", "table"]
)


def markdown_html(text: str) -> str:
    """Markdown as HTML safe to put in a page, whatever the text holds.

    Emphasis, lists, quotes, tables and web links render as usual; raw HTML is shown
    as text, and no link can run script or load anything. A value from data placed
    in Markdown should still be escaped so it shows literally (as
    :func:`hubspoke.analysis.realist.quotes.quotes_markdown` does).
    """
    return str(_MARKDOWN(text))


def say(text: str) -> None:
    """Show a sentence or paragraph (Markdown) to every audience; the text must hold no unsuppressed count.

    The Markdown is rendered here (:func:`markdown_html`) and shown as HTML, so text
    that came from data cannot add markup, script or links to the page.
    """
    _show(HTML(markdown_html(text)), audience=FUNDER_TAG)


def header(title: str, *, subtitle: str = "", settings: Settings | None = None) -> None:
    """The report's title block: synthetic-data notice, title, and what it was built from."""
    settings = settings or get_settings()
    built = datetime.now(UTC).strftime("%d %B %Y, %H:%M UTC")
    version = data_version(settings.processed_dir)
    _show(
        HTML(
            f'<div class="hubspoke-notice" role="note" style="background:#fff3cd;border:2px solid #b58105;'
            f'padding:.75rem 1rem;font-weight:600">{html.escape(SYNTHETIC_NOTICE)}</div>'
            f'<h1 id="top">{html.escape(title)}</h1>'
            + (
                f'<p class="hubspoke-subtitle"><strong>{html.escape(subtitle)}</strong></p>'
                if subtitle
                else ""
            )
            + f'<p class="hubspoke-built">Built {built} from data version <code>{html.escape(version)}</code> '
            f"with hubspoke {html.escape(__version__)}.</p>" + symbol_key(settings)
        ),
        audience=FUNDER_TAG,
    )


def contents(sections: Sequence[tuple[str, str]]) -> None:
    """A short contents list linking to the sections (anchor, heading)."""
    items = "".join(
        f'<li><a href="#{html.escape(a)}">{html.escape(t)}</a></li>' for a, t in sections
    )
    _show(
        HTML(f'<nav aria-label="Contents"><h2 id="contents">Contents</h2><ol>{items}</ol></nav>'),
        audience=FUNDER_TAG,
    )


def section(anchor: str, heading: str, *, intro: str = "") -> None:
    """A section heading with a stable anchor for the contents list, and an optional introduction."""
    _show(HTML(f'<h2 id="{html.escape(anchor)}">{html.escape(heading)}</h2>'), audience=FUNDER_TAG)
    if intro:
        say(intro)


#: An ONS area code (local authority, region, country): shown to funders as its name.
AREA_CODE = re.compile(r"\b[EWSN]\d{8}\b")
#: CSS classes of text cells (left-aligned) and number cells (right-aligned).
TEXT_CLASS: Final = "hubspoke-text"
NUMBER_CLASS: Final = "hubspoke-num"


def column_label(data: Table, column: Hashable) -> str:
    """A column's heading: the Table's label, a count's unit for ``n``, else the name in words."""
    if column in data.labels:
        return str(data.labels[column])
    if data.column_dim is None:
        spec = data.spec(column)
        if column == "n" and isinstance(spec, Count) and spec.unit:
            return spec.unit[:1].upper() + spec.unit[1:]
    return readable_label(column)


def row_heading(data: Table) -> str:
    """The heading of the row labels' column: the index's name, else the rows' dimension."""
    names = [n for n in data.frame.index.names if n is not None and str(n).strip()]
    return readable_label(tuple(names)) if names else readable_label(data.rows)


def area_names(settings: Settings | None = None) -> dict[str, str]:
    """ONS area code -> name (``la_name``) from the processed ``context`` table; empty without one."""
    folder = snapshot((settings or get_settings()).processed_dir)
    path = folder / "context.parquet"
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        return {}
    return dict(_area_names(str(folder), stamp))


@functools.lru_cache(maxsize=8)
def _area_names(folder: str, stamp: int) -> tuple[tuple[str, str], ...]:
    """The code -> name pairs of one version of the context table (cached: read once a page)."""
    context = load.load_tables(Path(folder), names=("context",)).get("context")
    if context is None or not {"la_code", "la_name"} <= set(context.columns):
        return ()
    pairs = context[["la_code", "la_name"]].dropna().drop_duplicates("la_code")
    return tuple(zip(pairs["la_code"].astype(str), pairs["la_name"].astype(str), strict=True))


def name_areas(text: str, names: Mapping[str, str]) -> str:
    """``text`` with every ONS area code it holds replaced by the area's name (codes stay in open data)."""
    return AREA_CODE.sub(lambda m: names.get(m.group(0), m.group(0)), text)


@dataclass(frozen=True)
class _Grid:
    """A table ready to print: caption, headings and cells as text, each marked number or not."""

    caption: str
    corner: str
    columns: list[tuple[str, bool]]
    rows: list[tuple[str, list[tuple[str, bool]]]]


def _cls(numeric: bool) -> str:
    return NUMBER_CLASS if numeric else TEXT_CLASS


def _grid_html(grid: _Grid) -> str:
    """The table as HTML: a caption, column headings (``scope="col"``), row headings
    (``scope="row"``), and number cells right-aligned by class (text cells carry no class:
    left is the stylesheet's default, and a class on every cell made large pages heavy);
    every text escaped."""
    esc = html.escape
    head = f'<th scope="col" class="{TEXT_CLASS}">{esc(grid.corner)}</th>' + "".join(
        f'<th scope="col" class="{_cls(num)}">{esc(label)}</th>' for label, num in grid.columns
    )
    body = "".join(
        f'<tr><th scope="row">{esc(label)}</th>'
        + "".join(
            f'<td class="{NUMBER_CLASS}">{esc(text)}</td>' if num else f"<td>{esc(text)}</td>"
            for text, num in cells
        )
        + "</tr>"
        for label, cells in grid.rows
    )
    return (
        f'<table class="hubspoke-table"><caption>{grid.caption}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


def _is_number(data: Table, row: Hashable, column: Hashable) -> bool:
    """Whether a cell holds a number (right-aligned): every kind but :class:`Text`."""
    return not isinstance(data.cell_spec(row, column), Text)


def _row_label(row: Hashable, names: Mapping[str, str]) -> str:
    text = ", ".join(str(p) for p in row) if isinstance(row, tuple) else str(row)
    return name_areas(readable_label(text), names)


def table_grid(
    data: Table, cells: pd.DataFrame, *, caption: str, names: Mapping[str, str]
) -> _Grid:
    """The grid of a Table with ``cells`` (text, same shape): labels for readers, areas by name."""
    columns = list(data.frame.columns)
    heads = [
        (name_areas(column_label(data, c), names), not isinstance(data.spec(c), Text))
        for c in columns
    ]
    rows = [
        (
            _row_label(row, names),
            [
                (name_areas(str(value), names), _is_number(data, row, c))
                for c, value in zip(columns, values, strict=True)
            ],
        )
        for row, values in zip(data.frame.index, _in_order(cells, data.frame), strict=True)
    ]
    return _Grid(caption, row_heading(data), heads, rows)


def _in_order(cells: pd.DataFrame, frame: pd.DataFrame) -> list[list[object]]:
    """The rows of ``cells`` in the order of ``frame``'s rows and columns, as lists."""
    if not (cells.index.equals(frame.index) and cells.columns.equals(frame.columns)):
        cells = pd.DataFrame(
            [[cells.loc[row, c] for c in frame.columns] for row in frame.index],
            index=frame.index,
            columns=frame.columns,
        )
    return cells.to_numpy(dtype=object).tolist()


def _analyst_cells(data: Table) -> pd.DataFrame:
    """Every true value as text (nothing hidden), each to its column's places."""
    texts = [
        format_value(
            cell.value, kind=cell.kind, dp=getattr(data.cell_spec(cell.row, cell.column), "dp", 0)
        )
        for cell in data.cells()
    ]
    return cell_frame(texts, frame=data.frame, dtype=object)


def table(data: Table, *, caption: str, settings: Settings | None = None) -> Shown:
    """Show a table: full numbers to analysts, the release's view of it to funders.

    ``data`` must be a :class:`~hubspoke.privacy.table.Table`: its cells are looked up in
    the release (:func:`hubspoke.present.views.view`), so a cell hidden anywhere in the
    funder release is hidden here too. Both copies carry the same headings (the Table's
    labels, else names in words), a ``<caption>``, row and column headings with ``scope``,
    and local authorities by name; the symbols are explained once a page
    (:func:`symbol_key`). Returns the funder view.
    """
    shown = view(data, settings=settings)
    names = area_names(settings)
    cap = html.escape(caption)
    analyst = table_grid(
        data,
        _analyst_cells(data),
        caption=f"<em>Full numbers, evaluation team only (not in the funder report): {cap}</em>",
        names=names,
    )
    _show(HTML(_grid_html(analyst)), audience=ANALYST_TAG)
    funder = table_grid(data, shown.display, caption=f"<strong>{cap}</strong>", names=names)
    _show(HTML(_grid_html(funder)), audience=FUNDER_TAG)
    return shown


def symbol_key(settings: Settings | None = None) -> str:
    """The page's one key to the table symbols (GSS: c suppressed, x not available, z not applicable)."""
    settings = settings or get_settings()
    text = footnote(
        threshold=settings.suppression_threshold,
        symbol=settings.suppression_symbol,
        missing=True,
        not_applicable=True,
    )
    return (
        f'<p class="hubspoke-footnote hubspoke-symbols">Symbols in tables: {html.escape(text)}</p>'
    )


def _frame_grid(frame: pd.DataFrame, *, caption: str) -> _Grid:
    """The grid of a bare frame (analysts only): numbers by dtype, as pandas prints them."""
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns]
    names = [n for n in frame.index.names if n is not None]
    return _Grid(
        caption,
        readable_label(tuple(names)) if names else "",
        [(readable_label(c), num) for c, num in zip(frame.columns, numeric, strict=True)],
        [
            (
                ", ".join(map(str, row)) if isinstance(row, tuple) else str(row),
                [(_plain(v), num) for v, num in zip(values, numeric, strict=True)],
            )
            for row, values in zip(frame.index, frame.itertuples(index=False), strict=True)
        ],
    )


def _plain(value: object) -> str:
    """A value as pandas would print it (full numbers, for the evaluation team)."""
    if isinstance(value, float | np.floating) and not np.isnan(value):
        number = float(value)
        return f"{number:,.6g}" if abs(number) >= 1e4 else f"{number:.6g}"
    return "" if value is None or value is pd.NA else str(value)


def analyst_table(frame: pd.DataFrame | pd.Series, *, caption: str) -> None:
    """Show a frame to the evaluation team only (never in the funder report)."""
    full = frame.to_frame() if isinstance(frame, pd.Series) else frame
    cap = html.escape(caption)
    grid = _frame_grid(
        full, caption=f"<em>Evaluation team only (not in the funder report): {cap}</em>"
    )
    _show(HTML(_grid_html(grid)), audience=ANALYST_TAG)


def shown_threshold(settings: Settings | None = None) -> int:
    """The suppression threshold in force."""
    return (settings or get_settings()).suppression_threshold


def figure(
    fig, *, report: str, name: str, alt: str, caption: str = "", settings: Settings | None = None
) -> None:
    """Save a figure (PNG + SVG under figures/<report>/) and show it with its alt text.

    Draw only what a table's view shows (``hubspoke.present.views.view(table).visible``).
    ``fig`` is ``None`` when the chart would show nothing or a single value
    (:func:`hubspoke.present.plotting.drawable`): then ``alt``, which says why, is shown
    (escaped) as a paragraph in the chart's place, tagged for funders like a figure;
    nothing is saved, an image an earlier run left under that name is removed, and the
    caption, which describes a chart, is not shown.
    """
    settings = settings or get_settings()
    saved = save_figure(fig, report=report, name=name, alt=alt, figures_dir=settings.figures_dir)
    if saved is None:  # no chart: the sentence saying why, in its place
        _show(
            HTML(f'<p class="hubspoke-no-chart">{html.escape(alt.strip())}</p>'),
            audience=FUNDER_TAG,
        )
        return
    data = base64.b64encode(saved.png_data or saved.png.read_bytes()).decode("ascii")
    cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    _show(
        HTML(
            f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(saved.alt, quote=True)}" '
            f'style="max-width:100%">{cap}</figure>'
        ),
        audience=FUNDER_TAG,
    )
