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
