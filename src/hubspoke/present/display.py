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
import html
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Final, Literal

import mistune
import pandas as pd
from IPython.display import HTML, display

from hubspoke import SYNTHETIC_NOTICE, __version__
from hubspoke.config import Settings, get_settings
from hubspoke.load import data_version
from hubspoke.present.plotting import save_figure
from hubspoke.present.views import view
from hubspoke.privacy.release import NOT_AVAILABLE, Shown, footnote
from hubspoke.privacy.table import Table

#: Cell tags: what the funder HTML keeps, and what only analysts see.
Audience = Literal["funder", "analyst"]
FUNDER_TAG: Final = "funder"
ANALYST_TAG: Final = "analyst"


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
            f"with hubspoke {html.escape(__version__)}.</p>"
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


def _html_table(frame: pd.DataFrame) -> str:
    """A table as HTML, the index's name heading its column (not a row of its own)."""
    named = any(name is not None for name in frame.index.names)
    clash = bool(set(frame.index.names) & set(frame.columns))  # a column heading like the index's
    return (
        frame.reset_index().to_html(classes="hubspoke-table", index=False, escape=True)
        if named and not clash
        else frame.to_html(classes="hubspoke-table", escape=True)
    )


def table(data: Table, *, caption: str, settings: Settings | None = None) -> Shown:
    """Show a table: full numbers to analysts, the release's view of it to funders.

    ``data`` must be a :class:`~hubspoke.privacy.table.Table`: its cells are looked up in
    the release (:func:`hubspoke.present.views.view`), so a cell hidden anywhere in the
    funder release is hidden here too. Returns the funder view.
    """
    shown = view(data, settings=settings)
    cap = html.escape(caption)
    labels = {c: data.label(c) for c in data.frame.columns}
    _show(
        HTML(
            f"<p><em>Full numbers, evaluation team only (not in the funder report): {cap}</em></p>"
            + _html_table(data.frame.rename(columns=labels))
        ),
        audience=ANALYST_TAG,
    )
    missing = (shown.display == NOT_AVAILABLE).to_numpy().any()
    note = (
        f'<p class="hubspoke-footnote">{html.escape(footnote(threshold=shown_threshold(settings), symbol=shown.symbol, missing=bool(missing)))}</p>'
        if shown.any_hidden or missing
        else ""
    )
    _show(
        HTML(
            f"<p><strong>{cap}</strong></p>"
            + _html_table(shown.display.rename(columns=labels))
            + note
        ),
        audience=FUNDER_TAG,
    )
    return shown


def analyst_table(frame: pd.DataFrame | pd.Series, *, caption: str) -> None:
    """Show a frame to the evaluation team only (never in the funder report)."""
    full = frame.to_frame() if isinstance(frame, pd.Series) else frame
    _show(
        HTML(
            f"<p><em>Evaluation team only (not in the funder report): {html.escape(caption)}</em></p>"
            + _html_table(full)
        ),
        audience=ANALYST_TAG,
    )


def shown_threshold(settings: Settings | None = None) -> int:
    """The suppression threshold in force."""
    return (settings or get_settings()).suppression_threshold


def figure(
    fig, *, report: str, name: str, alt: str, caption: str = "", settings: Settings | None = None
) -> None:
    """Save a figure (PNG + SVG under figures/<report>/) and show it with its alt text.

    Draw only what a table's view shows (``hubspoke.present.views.view(table).visible``).
    """
    settings = settings or get_settings()
    saved = save_figure(fig, report=report, name=name, alt=alt, figures_dir=settings.figures_dir)
    data = base64.b64encode(saved.png.read_bytes()).decode("ascii")
    cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    _show(
        HTML(
            f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(saved.alt, quote=True)}" '
            f'style="max-width:100%">{cap}</figure>'
        ),
        audience=FUNDER_TAG,
    )
