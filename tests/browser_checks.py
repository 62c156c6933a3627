"""Checks a person would make on a report page, run in a real browser (Playwright + Debian chromium).

Every check takes a Playwright page (or what was recorded while it loaded) and returns a list
of problems, empty when the page is fine, so the same functions serve the tests on the real
reports and the negative-control tests on deliberately broken copies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

#: Debian's chromium; never a browser downloaded by Playwright.
CHROMIUM = Path("/usr/bin/chromium")

#: Flags that keep headless chromium quiet on a closed network and runnable as root.
#: The user-data dir is given to ``launch_persistent_context`` (Playwright refuses it as a flag).
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def launch_context(playwright, user_data_dir: Path):
    """A headless chromium with a fresh profile in ``user_data_dir`` (a persistent context)."""
    return playwright.chromium.launch_persistent_context(
        str(user_data_dir),
        executable_path=str(CHROMIUM),
        headless=True,
        args=list(CHROMIUM_ARGS),
        viewport={"width": 1280, "height": 900},
    )


@dataclass
class PageLog:
    """Everything a page asked for or complained about while it was open."""

    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)

    def attach(self, page) -> PageLog:
        page.on("request", lambda request: self.requests.append(request.url))
        page.on(
            "requestfailed",
            lambda request: self.failed_requests.append(f"{request.url} ({request.failure})"),
        )
        page.on(
            "console",
            lambda message: (
                self.console_errors.append(message.text) if message.type == "error" else None
            ),
        )
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        return self


def open_page(context, path: Path):
    """Open ``path`` as a file:// URL in a new tab; returns (page, log, response)."""
    page = context.new_page()
    log = PageLog().attach(page)
    response = page.goto(Path(path).resolve().as_uri(), wait_until="load")
    return page, log, response


def _without_fragment(url: str) -> str:
    return url.split("#", 1)[0]


def external_requests(requests: list[str], own_url: str) -> list[str]:
    """Requests for anything but the page's own file and ``data:`` URLs (should be none)."""
    own = _without_fragment(own_url)
    return [
        url for url in requests if _without_fragment(url) != own and not url.startswith("data:")
    ]


def console_problems(log: PageLog) -> list[str]:
    """Console errors and uncaught page errors."""
    return [f"console error: {m}" for m in log.console_errors] + [
        f"page error: {m}" for m in log.page_errors
    ]


def check_loaded(page, response) -> list[str]:
    """The page loaded (status 200 for file://, not chromium's error page) and has a title."""
    problems = []
    if response is None or not response.ok:
        problems.append(f"no OK response: {response.status if response else None}")
    if page.url.startswith("chrome-error://"):
        problems.append(f"chromium error page at {page.url}")
    if not page.title().strip():
        problems.append("page has no title")
    return problems


def check_images(page) -> list[str]:
    """Every ``<img>`` has loaded (natural width > 0) and has non-empty alt text."""
    images = page.evaluate(
        """() => [...document.images].map((img, i) => ({
            i, src: img.getAttribute('src') || '', alt: (img.getAttribute('alt') || '').trim(),
            complete: img.complete, width: img.naturalWidth}))"""
    )
    problems = []
    for img in images:
        label = f"image {img['i']} ({img['src'][:60]})"
        if not img["complete"] or img["width"] <= 0:
            problems.append(f"{label} did not load (naturalWidth {img['width']})")
        if not img["alt"]:
            problems.append(f"{label} has no alt text")
    return problems


def check_no_code_input(page) -> list[str]:
    """No visible code input: no code-cell input areas or editors, no ``pre`` showing Python imports.

    Markdown cells also sit in a ``.jp-InputArea`` in nbconvert's lab template, so only the input
    areas of code cells count.
    """
    problems = []
    for selector in (".jp-InputArea-editor", ".jp-CodeCell .jp-InputArea", ".jp-CodeMirrorEditor"):
        for element in page.locator(selector).all():
            if element.is_visible() and element.inner_text().strip():
                problems.append(f"visible {selector}: {element.inner_text().strip()[:80]!r}")
    for element in page.locator("pre").all():
        text = element.inner_text()
        if element.is_visible() and re.search(r"^\s*(from\s+\S+\s+)?import\s", text, re.M):
            problems.append(f"visible code in <pre>: {text.strip()[:80]!r}")
    return problems


def check_notice(page, notice: str) -> list[str]:
    """The synthetic-data notice is shown (visible, not just present)."""
    locator = page.get_by_text(notice, exact=False)
    if locator.count() == 0:
        return ["synthetic-data notice missing"]
    if not any(element.is_visible() for element in locator.all()):
        return ["synthetic-data notice present but not visible"]
    return []


def check_contents_links(page) -> list[str]:
    """Every contents link (``nav a[href^="#"]``) has its target and scrolls it into view on click."""
    links = page.locator('nav a[href^="#"]')
    if links.count() == 0:
        return ["no contents links"]
    problems = []
    for link in links.all():
        anchor = link.get_attribute("href")[1:]
        targets = page.locator(f'[id="{anchor}"]')
        if targets.count() != 1:
            problems.append(f"#{anchor}: {targets.count()} elements with that id")
            continue
        page.evaluate("() => window.scrollTo(0, 0)")
        link.click()
        in_view = page.evaluate(
            """(id) => { const r = document.getElementById(id).getBoundingClientRect();
                         return r.bottom > 0 && r.top < window.innerHeight; }""",
            anchor,
        )
        if not in_view:
            problems.append(f"#{anchor}: clicking the link did not bring it into view")
        if page.evaluate("() => location.hash") != f"#{anchor}":
            problems.append(f"#{anchor}: location.hash not updated")
    return problems


#: What a report page's Content-Security-Policy must say: nothing by default, no script at all.
REQUIRED_CSP = {"default-src": ["'none'"], "script-src": ["'none'"]}


def csp_refusals(log: PageLog) -> list[str]:
    """Console errors in which chromium says the Content-Security-Policy refused something."""
    return [m for m in log.console_errors if "Content Security Policy" in m]


def check_csp(page) -> list[str]:
    """The page has one Content-Security-Policy ``<meta>`` that lets no script run and loads nothing."""
    policies = page.eval_on_selector_all(
        'meta[http-equiv="Content-Security-Policy" i]', "els => els.map(e => e.content)"
    )
    if len(policies) != 1:
        return [f"{len(policies)} Content-Security-Policy metas (wanted 1)"]
    directives = {}
    for part in policies[0].split(";"):
        words = part.split()
        if words:
            directives[words[0].lower()] = words[1:]
    return [
        f"CSP {name} is {directives.get(name)}, not {want}"
        for name, want in REQUIRED_CSP.items()
        if directives.get(name) != want
    ]


def check_funder_page(page, log: PageLog, response, notice: str) -> list[str]:
    """Everything a funder report must pass, as one list of problems."""
    return (
        check_loaded(page, response)
        + check_csp(page)
        + check_images(page)
        + check_no_code_input(page)
        + check_notice(page, notice)
        + check_contents_links(page)
        + [f"external request: {url}" for url in external_requests(log.requests, page.url)]
        + console_problems(log)
    )


# ---------------------------------------------------------------------------
# Accessibility (axe-core), keyboard, print
# ---------------------------------------------------------------------------

#: The axe-core rules every page must pass: WCAG 2.0, 2.1 and 2.2 at levels A and AA, and
#: axe's best practices (one main landmark, all content in landmarks, no empty table header).
AXE_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa", "best-practice")


def axe_violations(page, tags: tuple[str, ...] = AXE_TAGS) -> list[str]:
    """axe-core's violations on the open page, one line each: rule, impact, first elements.

    axe is injected through the browser's debugging protocol, so it runs under the pages'
    Content-Security-Policy (which lets no script of the page run) without weakening it.
    """
    from axe_playwright_python.sync_playwright import Axe

    options = {"runOnly": {"type": "tag", "values": list(tags)}, "resultTypes": ["violations"]}
    results = Axe().run(page, options=options)
    return [
        f"{v['id']} ({v['impact']}): {v['help']}; {len(v['nodes'])} element(s), e.g. "
        + "; ".join(" ".join(n["target"]) for n in v["nodes"][:3])
        for v in results.response["violations"]
    ]


#: Computed styles that can show keyboard focus.
FOCUS_STYLES = ("outlineStyle", "outlineWidth", "boxShadow", "backgroundColor")


def _styles(page, selector: str) -> dict:
    """The focus-showing styles of the first element matching ``selector``, as it is now."""
    return page.eval_on_selector(
        selector,
        "(e, keys) => { const s = getComputedStyle(e); return Object.fromEntries(keys.map(k => [k, s[k]])); }",
        list(FOCUS_STYLES),
    )


def focused(page) -> dict:
    """What has the keyboard focus: its tag, href, whether it is on screen, its focus styles."""
    return page.evaluate(
        """(keys) => { const e = document.activeElement; const s = getComputedStyle(e);
                   const r = e.getBoundingClientRect();
                   return {tag: e.tagName.toLowerCase(), href: e.getAttribute('href'),
                           styles: Object.fromEntries(keys.map(k => [k, s[k]])),
                           visible: r.width > 0 && r.height > 0 && r.bottom > 0 && r.right > 0
                                    && r.top < window.innerHeight && r.left < window.innerWidth}; }""",
        list(FOCUS_STYLES),
    )


def shows_focus(state: dict, resting: dict) -> bool:
    """Whether a focused element is on screen and looks different from itself without focus."""
    return state["visible"] and state["styles"] != resting


def check_keyboard_contents(page) -> list[str]:
    """From the top of the page by keyboard alone: the first Tab reaches a visible skip link
    that shows its focus, Enter on it goes to the contents, the next Tab reaches the first
    contents link (which shows its focus), and Enter on that brings its section into view."""
    page.evaluate("() => { window.scrollTo(0, 0); document.activeElement?.blur(); }")
    first_link = 'nav a[href^="#"]'
    want = page.eval_on_selector(first_link, "a => a.getAttribute('href')")
    resting_skip, resting_link = _styles(page, 'a[href="#contents"]'), _styles(page, first_link)
    problems: list[str] = []
    page.keyboard.press("Tab")
    skip = focused(page)
    if skip["tag"] != "a" or skip["href"] != "#contents":
        return [f"first Tab reached {skip['tag']} {skip['href']!r}, not the skip link"]
    if not shows_focus(skip, resting_skip):
        problems.append(f"the skip link is hidden or shows no focus when it has it: {skip}")
    page.keyboard.press("Enter")
    if page.evaluate("() => location.hash") != "#contents":
        problems.append("Enter on the skip link did not go to #contents")
    page.keyboard.press("Tab")
    link = focused(page)
    if link["href"] != want:
        return problems + [f"Tab after the skip link reached {link}, not the first contents link"]
    if not shows_focus(link, resting_link):
        problems.append(f"the first contents link shows no focus: {link}")
    page.keyboard.press("Enter")
    in_view = page.evaluate(
        """(id) => { const r = document.getElementById(id).getBoundingClientRect();
                     return r.bottom > 0 && r.top < window.innerHeight; }""",
        want[1:],
    )
    if page.evaluate("() => location.hash") != want or not in_view:
        problems.append(f"Enter on the first contents link did not bring {want} into view")
    return problems


#: Millimetres of a named paper size (width, height), as CSS ``@page { size }`` names them.
PAPER_MM = {"a4": (210.0, 297.0)}
CSS_PX_PER_MM = 96 / 25.4


def page_rule(page) -> dict:
    """The page's ``@page`` rule as the browser parsed it: size and the four margins."""
    return page.evaluate(
        """() => { for (const sheet of document.styleSheets) for (const rule of sheet.cssRules)
                     if (rule instanceof CSSPageRule && !rule.selectorText) {
                       const s = rule.style;
                       return {size: s.getPropertyValue('size'),
                               left: s.getPropertyValue('margin-left'),
                               right: s.getPropertyValue('margin-right')}; }
                   return null; }"""
    )


def _mm(length: str) -> float:
    """A CSS length in mm (the stylesheet gives its margins in mm, cm or in)."""
    match = re.fullmatch(r"\s*([\d.]+)\s*(mm|cm|in)\s*", length)
    if not match:
        raise ValueError(f"cannot read the length {length!r} as mm, cm or in")
    value, unit = float(match[1]), match[2]
    return value * {"mm": 1.0, "cm": 10.0, "in": 25.4}[unit]


def printable_width_px(rule: dict | None) -> float:
    """Width of the printable area in CSS px: the paper width less the left and right margins."""
    if not rule:
        raise ValueError("the page has no @page rule")
    paper = rule["size"].split()[0].lower()
    if paper not in PAPER_MM:
        raise ValueError(f"@page size is {rule['size']!r}, not A4")
    return (PAPER_MM[paper][0] - _mm(rule["left"]) - _mm(rule["right"])) * CSS_PX_PER_MM


def print_overflows(page, width: float) -> list[str]:
    """Tables and images wider than ``width`` (or reaching past it) once laid out for print.

    The page is laid out with print styles at the printable width, as a printer would lay
    it out; a table or image that does not fit there is cut off on paper.
    """
    page.emulate_media(media="print")
    page.set_viewport_size({"width": int(width), "height": 1200})
    found = page.evaluate(
        """(width) => [...document.querySelectorAll('table, img, figure, pre')].map((e, i) => {
               const r = e.getBoundingClientRect();
               const name = e.querySelector('caption')?.innerText || e.getAttribute('alt') || '';
               return {i, tag: e.tagName.toLowerCase(), width: r.width, right: r.right,
                       scroll: e.scrollWidth, client: e.clientWidth, name: name.slice(0, 60)}; })
             .filter(b => b.width > width + 0.5 || b.right > width + 0.5
                          || b.scroll > b.client + 1)""",
        width,
    )
    overall = page.evaluate("() => document.documentElement.scrollWidth")
    problems = [
        f"{b['tag']} {b['i']} ({b['name']!r}): {b['width']:.0f} px wide, right edge at "
        f"{b['right']:.0f} px, content {b['scroll']} px (printable width {width:.0f} px)"
        for b in found
    ]
    if overall > width + 0.5:
        problems.append(f"the page is {overall} px wide in print (printable width {width:.0f} px)")
    return problems


def section_breaks(page) -> list[str]:
    """Report sections (headings the contents list links to) that do not start a printed page
    (read from the print styles: the page is switched to print media)."""
    page.emulate_media(media="print")
    return page.evaluate(
        """() => [...document.querySelectorAll('nav a[href^="#"]')]
              .map(a => document.getElementById(a.getAttribute('href').slice(1)))
              .filter(h => h && getComputedStyle(h).breakBefore !== 'page')
              .map(h => '#' + h.id)"""
    )


def pdf_page_count(pdf: bytes) -> int:
    """Pages of a PDF printed by chromium (its page objects are written uncompressed)."""
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))
