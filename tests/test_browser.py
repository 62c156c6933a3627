"""The reports as a person opens them: Debian's chromium, driven by Playwright, on file:// URLs.

Runs on the shared batch run (``built_reports``). The checks live in ``browser_checks`` so the
negative-control tests can show they catch a broken page (a missing image, a CDN script).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from browser_checks import (
    check_csp,
    check_funder_page,
    check_images,
    check_loaded,
    check_no_code_input,
    check_notice,
    console_problems,
    csp_refusals,
    external_requests,
)
from hubspoke import SYNTHETIC_NOTICE

slow = pytest.mark.slow


def _state(reports: Path) -> dict[str, dict]:
    return json.loads((reports / ".state.json").read_text(encoding="utf-8"))


def _funder_reports(reports: Path) -> list[Path]:
    return sorted(p for p in (reports / "funder").glob("*.html") if p.name != "index.html")


# ---------------------------------------------------------------------------
# The index page
# ---------------------------------------------------------------------------


@slow
def test_index_opens_with_notice_and_no_external_requests(built_reports, opened):
    page, log, response = opened(built_reports.out / "index.html")
    assert check_loaded(page, response) == []
    assert check_notice(page, SYNTHETIC_NOTICE) == []
    assert check_csp(page) == []
    assert external_requests(log.requests, page.url) == []
    assert console_problems(log) == []


@slow
def test_index_statuses_match_the_run(built_reports, opened):
    state = _state(built_reports.out)
    page, _, _ = opened(built_reports.out / "index.html")
    # Each status cell: its status span and the links next to it, read from the rendered page.
    cells = page.evaluate(
        """() => [...document.querySelectorAll('td')]
              .filter(td => td.querySelector('span.ok, span.failed, span.unchanged'))
              .map(td => ({status: td.querySelector('span.ok, span.failed, span.unchanged').className,
                           label: td.querySelector('span').innerText.trim(),
                           hrefs: [...td.querySelectorAll('a')].map(a => a.getAttribute('href'))}))"""
    )
    shown = {}
    for cell in cells:
        stems = {re.sub(r"^(funder|analyst)/|\.(html|ipynb)$", "", h) for h in cell["hrefs"]}
        assert len(stems) == 1, cell
        shown[stems.pop()] = cell
    assert set(shown) == set(state), "index lists exactly the reports of the run"
    for stem, result in state.items():
        cell = shown[stem]
        assert cell["status"] == result["status"], stem
        if result["status"] == "failed":
            assert cell["hrefs"] == [f"analyst/{stem}.ipynb"], stem
        else:
            assert cell["label"].startswith("ok"), stem
            assert f"funder/{stem}.html" in cell["hrefs"], stem
            assert f"analyst/{stem}.html" in cell["hrefs"], stem
    failed = sum(r["status"] == "failed" for r in state.values())
    assert f"{len(state)} reports, {failed} failed." in page.inner_text("body")
    assert (built_reports.exit_code == 0) == (failed == 0)


@slow
def test_every_index_link_opens_a_report(built_reports, opened):
    index, _, _ = opened(built_reports.out / "index.html")
    hrefs = index.eval_on_selector_all("a[href]", "els => els.map(a => a.getAttribute('href'))")
    assert hrefs, "the index links to no report"
    problems = []
    for href in hrefs:
        if href.startswith("#"):
            continue  # a link within the page
        target = (built_reports.out / href).resolve()
        if not target.is_file():
            problems.append(f"{href}: no such file")
        elif target.suffix == ".ipynb":
            # A failed report links its executed notebook: a browser downloads it, so check the file.
            json.loads(target.read_text(encoding="utf-8"))
        else:
            page, _, response = opened(target)
            problems += [f"{href}: {p}" for p in check_loaded(page, response)]
            problems += [f"{href}: {p}" for p in check_notice(page, SYNTHETIC_NOTICE)]
            page.close()
    assert problems == []


@slow
def test_the_run_built_every_report(built_reports):
    """Not a browser check, but the browser tests mean little if the batch failed."""
    failed = {
        s: r["error"] for s, r in _state(built_reports.out).items() if r["status"] == "failed"
    }
    assert failed == {}
    assert built_reports.exit_code == 0


# ---------------------------------------------------------------------------
# The funder reports
# ---------------------------------------------------------------------------


#: Reports that say everything in sentences and tables (the programme summary: a funder's
#: first page, its figures are in the reports it links to).
TEXT_ONLY = frozenset({"programme_summary"})


@slow
def test_funder_reports_pass_every_browser_check(built_reports, opened):
    reports = _funder_reports(built_reports.out)
    assert reports, "no funder report was built"
    problems = {}
    for path in reports:
        page, log, response = opened(path)
        found = check_funder_page(page, log, response, SYNTHETIC_NOTICE)
        if page.locator("img").count() == 0 and path.stem not in TEXT_ONLY:
            found.append("no image at all (every report draws at least one figure)")
        if found:
            problems[path.name] = found
        page.close()
    assert problems == {}


@slow
def test_screenshots_of_a_service_report_and_the_index(built_reports, opened, tmp_path):
    service = sorted((built_reports.out / "funder").glob("service_report_*.html"))
    assert service, "no service report was built"
    shots = {"index.png": built_reports.out / "index.html", "service_report.png": service[0]}
    for name, source in shots.items():
        page, _, _ = opened(source)
        page.screenshot(path=str(tmp_path / name), full_page=True)
    for name in shots:
        size = (tmp_path / name).stat().st_size
        assert size > 10_000, f"{name} is only {size} bytes"
    print(f"screenshots in {tmp_path}")


# ---------------------------------------------------------------------------
# Negative controls: the same checks catch a broken page
# ---------------------------------------------------------------------------


@pytest.fixture
def broken_copies(built_reports, tmp_path) -> dict[str, Path]:
    """Copies of a funder report: one with an image's src pointing at a missing file, one with a CDN script."""
    source = next(
        (p for p in _funder_reports(built_reports.out) if "<img" in p.read_text(encoding="utf-8")),
        None,
    )
    assert source is not None, "no funder report with an image to break"
    html = source.read_text(encoding="utf-8")
    missing_image, count = re.subn(
        r'(<img\b[^>]*?\bsrc=")[^"]*(")', r"\1figures/removed.png\2", html, count=1
    )
    assert count == 1
    cdn_script = html.replace(
        "</head>", '<script src="https://cdn.example.com/x.js"></script>\n</head>', 1
    )
    assert cdn_script != html
    copies = {"missing_image": missing_image, "cdn_script": cdn_script}
    paths = {}
    for name, text in copies.items():
        paths[name] = tmp_path / f"{name}.html"
        paths[name].write_text(text, encoding="utf-8")
    # The unchanged copy, to show the checks pass until the page is broken.
    shutil.copy(source, tmp_path / "intact.html")
    paths["intact"] = tmp_path / "intact.html"
    return paths


@slow
def test_checks_pass_on_an_intact_copy(broken_copies, opened):
    page, log, response = opened(broken_copies["intact"])
    assert check_funder_page(page, log, response, SYNTHETIC_NOTICE) == []


@slow
def test_checks_catch_an_image_whose_file_is_missing(broken_copies, opened):
    page, log, response = opened(broken_copies["missing_image"])
    image_problems = check_images(page)
    assert any("did not load" in p for p in image_problems), image_problems
    assert any(u.endswith("figures/removed.png") for u in external_requests(log.requests, page.url))
    assert check_funder_page(page, log, response, SYNTHETIC_NOTICE) != []


@slow
def test_checks_catch_a_cdn_script(broken_copies, opened):
    page, log, response = opened(broken_copies["cdn_script"])
    # The network is closed here, so the request fails; it must still be recorded.
    assert "https://cdn.example.com/x.js" in external_requests(log.requests, page.url)
    problems = check_funder_page(page, log, response, SYNTHETIC_NOTICE)
    assert any("cdn.example.com" in p for p in problems), problems
    # The page's Content-Security-Policy refuses the script as well (it would not run online).
    assert any("cdn.example.com" in m for m in csp_refusals(log)), log.console_errors


@slow
def test_code_check_catches_the_analyst_version(built_reports, opened):
    """The analyst HTML shows its code: the check that funder pages hide it must see that."""
    analyst = sorted((built_reports.out / "analyst").glob("*.html"))
    assert analyst, "no analyst report was built"
    page, log, _ = opened(analyst[0])
    assert check_csp(page) == [] and console_problems(log) == []
    problems = check_no_code_input(page)
    assert any("import" in p for p in problems), problems


# ---------------------------------------------------------------------------
# Pure helpers (no browser)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("requests", "expected"),
    [
        (["file:///r/a.html", "file:///r/a.html#x", "data:image/png;base64,AA"], []),
        (["file:///r/a.html", "https://cdn.example.com/x.js"], ["https://cdn.example.com/x.js"]),
        (["file:///r/a.html", "file:///r/figures/x.png"], ["file:///r/figures/x.png"]),
    ],
)
def test_external_requests_keeps_only_other_urls(requests, expected):
    assert external_requests(requests, "file:///r/a.html#top") == expected
