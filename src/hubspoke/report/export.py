"""An executed notebook to self-contained HTML (nbconvert), for analysts or for funders.

The funder copy is built from a whitelist: only markdown cells and the outputs the
notebook marked as safe for funders (:mod:`hubspoke.present.display` marks them after
disclosure control) survive.

Every page, funder and analyst alike, carries a Content-Security-Policy
(:data:`CONTENT_SECURITY_POLICY`) as a second wall behind the escaping in
:mod:`hubspoke.present.display`: the pages need no script, so none may run.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from pathlib import Path

from hubspoke import SYNTHETIC_NOTICE
from hubspoke.present.audience import FUNDER_TAG

#: Cell tags removed from every HTML export.
REMOVED_CELL_TAGS = frozenset({"parameters", "injected-parameters", "remove"})
TEMPLATE_DIR = Path(__file__).parent / "templates"
#: The one stylesheet of every page, report and index alike (screen and A4 print); the
#: report template includes it, the index pages read it through :func:`stylesheet`.
STYLESHEET = TEMPLATE_DIR / "hubspoke" / "style.css.j2"

#: The Content-Security-Policy of every report page and of the index page (a ``<meta>``
#: at the top of ``<head>``): no script at all, nothing loaded from anywhere but the page
#: itself (images and fonts only as ``data:`` URIs, styles only inline), no form, no
#: ``<base>``. The pages embed their images and styles and need no script, so a script
#: or remote load that escaped escaping is blocked instead of run. (``frame-ancestors``
#: is left out: browsers ignore it in a ``<meta>`` and complain on the console.)
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'none'; object-src 'none'; img-src data:; "
    "style-src 'unsafe-inline'; font-src data:; form-action 'none'; base-uri 'none'"
)


@functools.cache
def stylesheet() -> str:
    """The pages' stylesheet (``templates/hubspoke/style.css.j2``), read once per process."""
    return STYLESHEET.read_text(encoding="utf-8")


#: Tags between which whitespace never shows (block and table structure): the line breaks
#: nbconvert and pandas put between them are dropped, which keeps big tables small.
_BLOCK_TAG = (
    r"(?:table|thead|tbody|tfoot|tr|td|th|caption|colgroup|col|div|figure|figcaption|nav|ol|ul|"
    r"li|p|h[1-6]|blockquote|main|body|head|meta|title|style)"
)
_BETWEEN_BLOCKS = re.compile(rf"(</?{_BLOCK_TAG}\b[^>]*>)\s+(?=</?{_BLOCK_TAG}\b)")


def compact_html(page: str) -> str:
    """The page without the whitespace between two block or table tags (it never renders).

    Text, inline markup and ``<pre>`` contents are left as they are: only runs of
    whitespace with a block or table tag on both sides go (``</td>\\n<td>``, ``</tr>\\n<tr>``).
    """
    return _BETWEEN_BLOCKS.sub(r"\1", page)


def _drop_removed_cells(nb):
    nb.cells = [
        c
        for c in nb.cells
        if not REMOVED_CELL_TAGS.intersection(c.get("metadata", {}).get("tags", []))
    ]
    return nb


def funder_notebook(nb):
    """A copy of an executed notebook holding only what a funder may see.

    Markdown cells stay; from code cells only outputs tagged ``funder`` stay (the
    display helpers tag them after disclosure control); code, streams, errors and
    untagged outputs go. The parameter cells go whole.
    """
    nb = _drop_removed_cells(copy.deepcopy(nb))
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.outputs = [
            o
            for o in cell.get("outputs", [])
            if FUNDER_TAG in o.get("metadata", {}).get("tags", [])
        ]
        cell.source = ""
    nb.cells = [c for c in nb.cells if c.cell_type != "code" or c.outputs]
    return nb


@functools.cache
def _exporter(*, exclude_input: bool, embed_images: bool):
    """An HTML exporter (made once per process and setting: compiling its templates is slow)."""
    # Imported here, not at the top: every kernel imports this package (for
    # hubspoke.report.kernels) before it records its fresh state, and importing nbconvert
    # there would cost each kernel time and change the warning filters every report runs with.
    exporter = _page_exporter_class()(
        template_name="hubspoke",
        extra_template_basedirs=[str(TEMPLATE_DIR)],
        exclude_input=exclude_input,
        exclude_input_prompt=exclude_input,
        exclude_output_prompt=True,
        embed_images=embed_images,
        # The notebook is checked once, after every preprocessor, not after each one
        # (nbformat.reads already checked it; the checks took a third of each export).
        optimistic_validation=True,
    )
    return exporter


#: An image tag without ``alt`` (every figure the display helpers show has one).
_IMG_WITHOUT_ALT = re.compile(r"<img\b(?![^>]*\balt=)")


def stock_alt(page: str) -> str:
    """nbconvert's last step, done on the text: an image without ``alt`` gets a stock one.

    (Its other step, ``tabindex`` on output areas inside a ``.jp-Notebook`` container,
    selects nothing in the suite's template, which has no such container.)
    """
    return _IMG_WITHOUT_ALT.sub('<img alt="No description has been provided for this image"', page)


@functools.cache
def _page_exporter_class() -> type:
    """nbconvert's HTML exporter, less its last step: parsing the whole page with
    BeautifulSoup to add attributes, which took about a third of each export
    (:func:`stock_alt` does what it did, on the text)."""
    from nbconvert import HTMLExporter
    from nbconvert.exporters.templateexporter import TemplateExporter
    from nbconvert.filters.highlight import Highlight2HTML
    from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

    class PageExporter(HTMLExporter):
        def from_notebook_node(self, nb, resources=None, **kw):
            langinfo = nb.metadata.get("language_info", {})
            lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
            highlight = Highlight2HTML(pygments_lexer=lexer, parent=self)
            self.register_filter("highlight_code", self.filters.get("highlight_code", highlight))
            resources = self._init_resources(resources)
            data_type = WidgetsDataTypeFilter(
                notebook_metadata=self._nb_metadata, parent=self, resources=resources
            )
            self.register_filter("filter_data_type", data_type)
            page, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
            return stock_alt(page), resources

    return PageExporter


def _links_images(nb) -> bool:
    """Whether a markdown cell shows an image by reference (``display.figure`` embeds its own)."""
    return any(
        "![" in c.source or "<img" in c.source for c in nb.cells if c.cell_type == "markdown"
    )


def _outputs_text(nb) -> str:
    """Every code cell's outputs as one JSON text, to look for what the notebook showed."""
    return "\n".join(json.dumps(c.get("outputs", [])) for c in nb.cells if c.cell_type == "code")


def has_contents(nb) -> bool:
    """Whether the notebook showed a contents list (``display.contents``: ``id="contents"``).

    The page's skip link points there, so it is only added when its target exists.
    """
    return re.search(r"id=\\?[\"']contents\\?[\"']", _outputs_text(nb)) is not None


def export_html(nb, *, audience: str, title: str) -> str:
    """Render an executed notebook to self-contained HTML for ``analyst`` or ``funder``.

    The page (``templates/hubspoke``) carries the Content-Security-Policy, the synthetic-data
    notice, the audience line, a skip link to the contents and one small stylesheet for
    screen and A4 print.
    """
    nb = funder_notebook(nb) if audience == "funder" else _drop_removed_cells(copy.deepcopy(nb))
    nb.metadata["title"] = title
    # Every report says its data are synthetic: the template adds the notice when the
    # notebook did not show it itself (display.header shows it at the top of each report).
    shown = SYNTHETIC_NOTICE in _outputs_text(nb)
    resources = {
        "hubspoke": {
            "audience": audience,
            "notice": SYNTHETIC_NOTICE,
            "add_notice": not shown,
            "csp": CONTENT_SECURITY_POLICY,
            "skip_to_contents": has_contents(nb),
        }
    }
    exporter = _exporter(exclude_input=audience == "funder", embed_images=_links_images(nb))
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    return compact_html(body)
