"""Text from data reaches the report pages as text, never as markup or script (issue 14, item 2).

A small notebook shows poisoned values through :mod:`hubspoke.present.display` (quotes,
section headings, table cells, captions, alt text, and plain ``say`` text such as a model's
note), runs on a real kernel (papermill, through the batch's own ``execute_job``) and is
exported by nbconvert; the pages are then read with BeautifulSoup and, in the slow tests,
opened in Debian's chromium. Every page must also carry a Content-Security-Policy that lets
no script run and nothing load from elsewhere.
"""

from __future__ import annotations

import re
import string
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from bs4 import BeautifulSoup, Comment
from hypothesis import given, settings
from hypothesis import strategies as st

from hubspoke.analysis.realist.quotes import quotes_markdown
from hubspoke.present.display import markdown_html
from hubspoke.report.index import index_html
from hubspoke.report.plan import Job
from hubspoke.report.run import execute_job

#: What an interview excerpt (or any text from data) might hold to run script in a page.
PAYLOADS = {
    "script": "<script>window.__pwned=1</script>",
    "img-onerror": '<img src=x onerror="window.__pwned=2">',
    "javascript-link": "[click here](javascript:window.__pwned=3)",
    "autolink": "<javascript:window.__pwned=4>",
    "comment-breakout": "--><script>window.__pwned=5</script><!-- the rest is hidden",
}
#: Markdown that would change how a quote reads, or link away, if it were not escaped.
MARKDOWN_TRAPS = (
    "*starred* _under_ `ticked` \\back [site](https://evil.example/x) "
    "![pic](https://evil.example/i.png) <https://evil.example/a> &amp; # not a heading"
)
#: Every directive the pages' policy must hold (``'none'`` for scripts and for everything by default).
REQUIRED_CSP = {
    "default-src": ["'none'"],
    "script-src": ["'none'"],
    "img-src": ["data:"],
    "style-src": ["'unsafe-inline'"],
    "form-action": ["'none'"],
    "base-uri": ["'none'"],
}


def quoted(key: str) -> str:
    """The excerpt a payload is hidden in: marked before and after, so all of it must show."""
    return f"BEFORE-{key} {PAYLOADS[key]} AFTER-{key}"


def poisoned_notebook_source(figures: Path) -> list[str]:
    """Cells that show poisoned data through every display helper, as a report notebook would."""
    keys = list(PAYLOADS)
    return [
        "from pathlib import Path\nimport matplotlib.pyplot as plt\nimport pandas as pd\n"
        "from hubspoke.analysis import realist\nfrom hubspoke.config import get_settings\n"
        "from hubspoke.present import display\n"
        f"PAYLOADS = {PAYLOADS!r}\nTRAPS = {MARKDOWN_TRAPS!r}\n"
        f"settings = get_settings().with_paths(figures_dir=Path({str(figures)!r}))",
        'display.contents([("quotes", PAYLOADS["script"]), ("tables", PAYLOADS["img-onerror"])])',
        # Quotes as service_report shows them: one theory per payload, then one with the traps.
        "evidence = pd.DataFrame([\n"
        + "".join(
            f"    {{'theory_id': 'PT1', 'quote_1': {quoted(k)!r}, "
            f"'attribution_1': 'Spoke worker, 2015 ' + PAYLOADS[{k!r}]}},\n"
            for k in keys
        )
        + "    {'theory_id': PAYLOADS['script'], 'quote_1': 'TRAPS ' + TRAPS, 'attribution_1': 'Hub manager'},\n"
        "])\n"
        'display.section("quotes", "What interviewees said", intro="Quotes below.")\n'
        "display.say(realist.quotes_markdown(evidence))",
        # Text from data handed to say() unescaped, as a model's note or a group note can be.
        'for key, payload in PAYLOADS.items():\n    display.say(f"NOTE-{key} {payload} END-{key}")',
        # Headings, captions, table cells, index and column names, alt text.
        'display.section("tables", PAYLOADS["img-onerror"], intro=PAYLOADS["autolink"])\n'
        "frame = pd.DataFrame({'Service ' + PAYLOADS['script']: [PAYLOADS[k] for k in PAYLOADS]},\n"
        "                     index=pd.Index(list(PAYLOADS.values()), name=PAYLOADS['comment-breakout']))\n"
        "from hubspoke.privacy.table import Table, Text\n"
        "words = Table(frame, family='poisoned', rows='item', columns={c: Text('text') for c in frame})\n"
        'display.table(words, caption="CAPTION " + PAYLOADS["script"])',
        "fig, ax = plt.subplots()\nax.bar(['a', 'b'], [1, 2])\n"
        'display.figure(fig, report="poisoned", name="bars", alt="ALT " + PAYLOADS["img-onerror"],\n'
        '               caption="FIGCAPTION " + PAYLOADS["script"], settings=settings)',
        # Author Markdown (no data) must still render as before.
        'display.say("GOOD **bold** and _italic_\\n\\n- one\\n- two\\n\\n'
        '> a quote\\n\\n[a site](https://example.org/)")',
    ]


def build_poisoned_pages(folder: Path) -> dict[str, str]:
    """Run the poisoned notebook on a real kernel and export it; the pages by audience."""
    notebooks = folder / "notebooks"
    notebooks.mkdir(parents=True)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in poisoned_notebook_source(folder / "fig")]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, notebooks / "poisoned.ipynb")
    out = folder / "reports"
    result = execute_job(
        Job("poisoned", "Poisoned data"), notebooks_dir=notebooks, out_dir=out, inputs_hash="h"
    )
    assert result.status == "ok", result.error
    return {
        "funder": (out / "funder" / "poisoned.html").read_text(encoding="utf-8"),
        "analyst": (out / "analyst" / "poisoned.html").read_text(encoding="utf-8"),
        "funder_path": str(out / "funder" / "poisoned.html"),
    }


@pytest.fixture(scope="module")
def poisoned(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The funder and analyst pages of the poisoned notebook (one real kernel for the module)."""
    return build_poisoned_pages(tmp_path_factory.mktemp("poisoned"))


def soup(text: str) -> BeautifulSoup:
    return BeautifulSoup(text, "html.parser")


def live_markup(page: BeautifulSoup) -> list[str]:
    """Everything in a page that could run script or load from elsewhere (should be nothing)."""
    found = [f"<script>: {s}"[:120] for s in page.find_all("script")]
    for tag in page.find_all(True):
        for attr, value in tag.attrs.items():
            text = " ".join(value) if isinstance(value, list) else str(value)
            if attr.lower().startswith("on"):
                found.append(f"<{tag.name} {attr}={text!r}>")
            squashed = re.sub(r"[\s\x00-\x1f]+", "", text).lower()
            if attr.lower() in ("href", "src", "action", "formaction", "xlink:href") and (
                squashed.startswith(("javascript:", "vbscript:", "http:", "https:", "//"))
                and not (tag.name == "a" and squashed.startswith("https://example.org"))
            ):
                found.append(f"<{tag.name} {attr}={text!r}>")
    for tag in page.find_all(["iframe", "object", "embed", "form", "base", "link"]):
        found.append(f"<{tag.name}>")
    return found


def csp_of(page: BeautifulSoup) -> dict[str, list[str]]:
    """The directives of the page's Content-Security-Policy meta.

    A ``<meta>`` policy covers only what comes after it, so only other ``<meta>`` tags
    (charset, viewport) may come before it in ``<head>``.
    """
    head = page.find("head")
    assert head is not None, "the page has no <head>"
    metas = [
        m
        for m in head.find_all("meta")
        if (m.get("http-equiv") or "").lower() == "content-security-policy"
    ]
    assert len(metas) == 1, f"{len(metas)} CSP metas in <head>"
    before = [t.name for t in metas[0].find_all_previous(True) if t.name not in ("html", "head")]
    assert set(before) <= {"meta"}, f"before the CSP meta: {before}"
    directives = {}
    for part in metas[0]["content"].split(";"):
        words = part.split()
        if words:
            directives[words[0].lower()] = words[1:]
    return directives


def csp_problems(directives: dict[str, list[str]]) -> list[str]:
    problems = [
        f"{name}: {directives.get(name)} (wanted {want})"
        for name, want in REQUIRED_CSP.items()
        if directives.get(name) != want
    ]
    for name, sources in directives.items():
        for source in sources:
            if source in ("'unsafe-eval'", "*", "http:", "https:") or "//" in source:
                problems.append(f"{name} allows {source}")
            if source == "'unsafe-inline'" and name != "style-src":
                problems.append(f"{name} allows inline code")
    return problems


# ---------------------------------------------------------------------------
# The exported pages (one real kernel, nbconvert)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("key", list(PAYLOADS))
def test_a_poisoned_excerpt_shows_as_text_in_the_funder_quotes(poisoned, key):
    quotes = [q.get_text(" ", strip=True) for q in soup(poisoned["funder"]).find_all("blockquote")]
    assert any(quoted(key) in q for q in quotes), (key, quotes)
    # The attribution carries the payload too: it shows as text after the quote.
    assert any(f"Spoke worker, 2015 {PAYLOADS[key]}" in q for q in quotes), key


#: What ``say`` shows of a payload handed to it unescaped: raw HTML as text, a refused link as its text.
SAID = {
    **PAYLOADS,
    "javascript-link": "click here",
    "autolink": "javascript:window.__pwned=4",
}


@pytest.mark.parametrize("key", list(PAYLOADS))
def test_text_from_data_said_unescaped_still_shows_as_text(poisoned, key):
    """``say`` is the second wall: a model note holding a payload shows it as text, links dead."""
    note = next(p for p in soup(poisoned["funder"]).find_all("p") if f"NOTE-{key}" in p.get_text())
    assert re.sub(r"\s+", " ", note.get_text()) == f"NOTE-{key} {SAID[key]} END-{key}"
    assert note.find_all(True) == [], f"the note holds markup: {note}"


@pytest.mark.parametrize("audience", ["funder", "analyst"])
def test_no_payload_becomes_live_markup(poisoned, audience):
    page = soup(poisoned[audience])
    assert live_markup(page) == []
    comments = [c for c in page.find_all(string=lambda s: isinstance(s, Comment))]
    assert not [c for c in comments if "pwned" in c or "hidden" in c], comments
    images = page.find_all("img")
    assert [i["src"][:22] for i in images] == ["data:image/png;base64,"], "only the figure"


def test_markdown_in_a_quote_shows_literally(poisoned):
    page = soup(poisoned["funder"])
    quote = next(q for q in page.find_all("blockquote") if "TRAPS" in q.get_text())
    assert MARKDOWN_TRAPS in quote.get_text(" ", strip=True)
    assert quote.find_all(["em", "strong", "code", "a", "img", "h1"]) == []
    # The theory name came from data as well: shown as text in the bold heading above it.
    assert any(PAYLOADS["script"] in b.get_text() for b in page.find_all("strong"))


def test_headings_captions_cells_and_alt_text_hold_the_data_as_text(poisoned):
    page = soup(poisoned["funder"])
    assert page.find("h2", id="tables").get_text() == PAYLOADS["img-onerror"]
    assert [a.get_text() for a in page.select("nav a")] == [
        PAYLOADS["script"],
        PAYLOADS["img-onerror"],
    ]
    table = page.find("table", class_="hubspoke-table")
    cells = [c.get_text() for c in table.find_all(["th", "td"])]
    assert "Service " + PAYLOADS["script"] in cells
    assert PAYLOADS["comment-breakout"] in cells
    assert set(PAYLOADS.values()) <= set(cells)
    assert any(s.get_text() == "CAPTION " + PAYLOADS["script"] for s in page.find_all("strong"))
    figure = page.find("figure")
    assert figure.img["alt"] == "ALT " + PAYLOADS["img-onerror"]
    assert figure.figcaption.get_text() == "FIGCAPTION " + PAYLOADS["script"]


def test_author_markdown_still_renders(poisoned):
    page = soup(poisoned["funder"])
    good = next(p for p in page.find_all("p") if p.get_text().startswith("GOOD"))
    assert good.find("strong").get_text() == "bold" and good.find("em").get_text() == "italic"
    block = good.parent
    assert [li.get_text() for li in block.find("ul").find_all("li")] == ["one", "two"]
    assert block.find("blockquote").get_text(strip=True) == "a quote"
    assert block.find("a", href="https://example.org/").get_text() == "a site"


@pytest.mark.parametrize("audience", ["funder", "analyst"])
def test_every_report_page_carries_a_csp_that_allows_no_script(poisoned, audience):
    assert csp_problems(csp_of(soup(poisoned[audience]))) == []


# ---------------------------------------------------------------------------
# Without a kernel: the index page, the Markdown renderer, the quote escaping
# ---------------------------------------------------------------------------


def test_the_index_page_carries_the_csp_and_escapes_titles():
    results = [
        {
            "stem": "local_context",
            "notebook": "local_context",
            "title": PAYLOADS["script"],
            "parameters": {},
            "status": "failed",
            "error": PAYLOADS["img-onerror"],
        }
    ]
    page = soup(index_html(results, built="today", data_ver="abc"))
    assert csp_problems(csp_of(page)) == []
    assert live_markup(page) == []
    assert PAYLOADS["script"] in page.get_text() and PAYLOADS["img-onerror"] in page.get_text()


@pytest.mark.parametrize("key", list(PAYLOADS))
def test_markdown_html_keeps_raw_html_and_unsafe_links_inert(key):
    page = soup(markdown_html(f"Said: {PAYLOADS[key]} done"))
    assert live_markup(page) == []
    assert page.find_all("a") == []
    assert f"Said: {SAID[key]} done" in page.get_text()


#: Any text an interview could hold, control characters aside.
excerpt_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs"), max_codepoint=0x2FFF)
    | st.sampled_from(list(string.punctuation) + [" ", "\n", "\t"]),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(quote=excerpt_text, role=excerpt_text)
def test_any_excerpt_renders_as_exactly_its_text(quote, role):
    """quotes_markdown escapes every value: rendered, the quote reads as written, with no markup."""
    flat = re.sub(r"\s+", " ", quote).strip()
    if not flat:
        return
    frame = pd.DataFrame([{"theory_id": "PT1", "quote_1": quote, "attribution_1": role}])
    page = soup(markdown_html(quotes_markdown(frame)))
    block = page.find("blockquote")
    assert block is not None
    assert {t.name for t in block.find_all(True)} <= {"p", "br"}
    said = block.get_text().strip()
    by = re.sub(r"\s+", " ", role).strip()
    assert said.startswith(f'"{flat}"'), (said, flat)
    assert said.endswith(f"— {by}".rstrip()), (said, role)


def test_code_cells_show_their_source_as_text_in_the_analyst_page():
    """The analyst page's code is Pygments' highlighting, not sanitised again: every
    character of the source (papermill's parameters included) must still show as text."""
    from hubspoke.report.export import export_html

    lines = [f"value_{key} = {PAYLOADS[key]!r}  # {PAYLOADS[key]}" for key in PAYLOADS]
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("\n".join(lines)),
            nbformat.v4.new_code_cell(f'service_id = "S01</div></div>{PAYLOADS["script"]}"'),
        ]
    )
    nb.metadata["language_info"] = {"name": "python", "pygments_lexer": "ipython3"}
    page = soup(export_html(nb, audience="analyst", title="code"))
    assert live_markup(page) == []
    editors = page.select("div.cm-editor")
    assert len(editors) == 2
    assert editors[0].get_text().strip() == "\n".join(lines)
    assert "</div></div><script>" in editors[1].get_text()
    assert {t.name for e in editors for t in e.find_all(True)} <= {"div", "pre", "span"}
