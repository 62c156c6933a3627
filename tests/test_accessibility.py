"""Funder pages a person can read, reach by keyboard and print: WCAG 2.2 AA checked by axe-core in
Debian's chromium, the contents list by keyboard, A4 print with no table cut off, slim pages.

The browser tests run on the shared batch run (``built_reports``), one browser for the module.
Negative controls show each check fails on a page broken on purpose. All data are synthetic.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from browser_checks import (
    axe_violations,
    check_keyboard_contents,
    page_rule,
    pdf_page_count,
    print_overflows,
    printable_width_px,
    section_breaks,
)
from hubspoke.report.export import compact_html, has_contents, stylesheet
from hubspoke.report.index import funder_index_html, index_html

ROOT = Path(__file__).resolve().parents[1]
slow = pytest.mark.slow

#: The reports printed to A4 and measured, the programme summary (the funder page read first) among them.
PRINTED = ("service_report_S01_2014", "realist_synthesis", "programme_summary")
#: A funder page's weight from the template (the page without its embedded images and
#: without its tables, which are the report's content), at most; the JupyterLab theme
#: alone was 257 KiB.
MAX_PAGE_KIB = 150
DATA_URI = re.compile(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=]+")
TABLE = re.compile(r"<table\b.*?</table>", re.S)


def _funder_pages(reports: Path) -> list[Path]:
    """Every funder report page (the funder index aside)."""
    return sorted(p for p in (reports / "funder").glob("*.html") if p.name != "index.html")


def _every_page(reports: Path) -> list[Path]:
    """Every page axe must pass: the funder reports and both index pages."""
    return [*_funder_pages(reports), reports / "funder" / "index.html", reports / "index.html"]


def _kib_without_images(path: Path) -> float:
    """A page's size in KiB once its embedded ``data:`` images and its tables are taken out."""
    text = TABLE.sub("", DATA_URI.sub("", path.read_text(encoding="utf-8")))
    return len(text.encode("utf-8")) / 1024


# ---------------------------------------------------------------------------
# axe-core on every funder page and both indexes
# ---------------------------------------------------------------------------


@slow
def test_axe_finds_no_violation_on_any_funder_page_or_index(built_reports, opened):
    pages = _every_page(built_reports.out)
    assert len(pages) > 3, "no funder report was built"
    problems = {}
    for path in pages:
        page, _, _ = opened(path)
        found = axe_violations(page)
        if found:
            problems[str(path.relative_to(built_reports.out))] = found
        page.close()
    assert problems == {}


@slow
def test_axe_catches_a_page_broken_on_purpose(built_reports, opened, tmp_path):
    """Negative control: without its main landmark, with an image lacking alt text and low
    contrast text, a report page fails axe with exactly those rules named."""
    html = _funder_pages(built_reports.out)[0].read_text(encoding="utf-8")
    broken = (
        html.replace("<main>", '<div class="was-main">', 1)
        .replace("</main>", "</div>", 1)
        .replace("<h1", '<p style="color:#bbb">Faint text</p><img src="data:,"><h1', 1)
    )
    assert broken.count("<main") == 0
    (tmp_path / "broken.html").write_text(broken, encoding="utf-8")
    page, _, _ = opened(tmp_path / "broken.html")
    rules = {line.split(" ", 1)[0] for line in axe_violations(page)}
    assert {"landmark-one-main", "image-alt", "color-contrast"} <= rules, rules


# ---------------------------------------------------------------------------
# Page structure and keyboard
# ---------------------------------------------------------------------------


@slow
def test_every_page_has_lang_one_main_and_one_h1_and_reports_a_skip_link(built_reports):
    reports = set(_funder_pages(built_reports.out))
    for path in _every_page(built_reports.out):
        soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
        name = path.name
        assert soup.html.get("lang") == "en", name
        assert len(soup.find_all("main")) == 1, name
        assert len(soup.find_all("h1")) == 1, name
        assert soup.find("script") is None, name
        if path in reports:
            skip = soup.body.find("a")
            assert skip is not None and skip.get("href") == "#contents", name
            assert soup.find(id="contents") is not None, name


@slow
def test_contents_list_works_by_keyboard(built_reports, opened):
    problems = {}
    for path in _funder_pages(built_reports.out):
        page, _, _ = opened(path)
        found = check_keyboard_contents(page)
        if found:
            problems[path.name] = found
        page.close()
    assert problems == {}


@slow
def test_keyboard_check_catches_a_hidden_skip_link_and_links_without_focus_style(
    built_reports, opened, tmp_path
):
    """Negative control: the same page with its skip link kept off screen and the focus
    styles of the contents links switched off fails the keyboard check on both counts."""
    html = _funder_pages(built_reports.out)[0].read_text(encoding="utf-8")
    broken = html.replace(
        "</head>",
        "<style>.hubspoke-skip, .hubspoke-skip:focus { position: absolute !important;"
        " left: -9999px !important; }"
        " nav a:focus, nav a:focus-visible { outline: none !important; box-shadow: none !important;"
        " background: transparent !important; color: inherit !important;"
        " text-decoration: underline !important; }</style></head>",
        1,
    )
    (tmp_path / "no_focus.html").write_text(broken, encoding="utf-8")
    page, _, _ = opened(tmp_path / "no_focus.html")
    problems = check_keyboard_contents(page)
    assert any("skip link is hidden" in p for p in problems), problems
    assert any("contents link shows no focus" in p for p in problems), problems


# ---------------------------------------------------------------------------
# Print: A4, nothing cut off, each section on a new page
# ---------------------------------------------------------------------------


@slow
@pytest.mark.parametrize("report", PRINTED)
def test_a_report_prints_to_a4_with_no_table_cut_off(built_reports, opened, report):
    path = built_reports.out / "funder" / f"{report}.html"
    assert path.is_file(), f"{report} was not built"
    page, _, _ = opened(path)
    rule = page_rule(page)
    assert rule is not None and rule["size"].lower().startswith("a4"), rule
    sections = page.locator('nav a[href^="#"]').count()
    assert sections > 0
    pdf = page.pdf(format="A4", prefer_css_page_size=True, print_background=True)
    assert pdf.startswith(b"%PDF")
    # The title page, then every section from a page of its own.
    assert pdf_page_count(pdf) >= sections + 1
    assert section_breaks(page) == []
    assert page.locator("table").count() > 0
    assert print_overflows(page, printable_width_px(rule)) == []


@slow
def test_print_check_catches_a_table_too_wide_for_the_page(built_reports, opened, tmp_path):
    """Negative control: a table of unbreakable cells wider than A4 is reported."""
    html = (built_reports.out / "funder" / f"{PRINTED[0]}.html").read_text(encoding="utf-8")
    cells = "".join(f"<td>{'9' * 30}</td>" for _ in range(8))
    wide = html.replace(
        "</main>",
        f'<table style="white-space:nowrap"><caption>Too wide</caption><tr>{cells}</tr></table></main>',
        1,
    )
    (tmp_path / "wide.html").write_text(wide, encoding="utf-8")
    page, _, _ = opened(tmp_path / "wide.html")
    problems = print_overflows(page, printable_width_px(page_rule(page)))
    assert any("Too wide" in p for p in problems), problems


@slow
def test_section_check_catches_a_section_that_does_not_start_a_page(
    built_reports, opened, tmp_path
):
    html = (built_reports.out / "funder" / f"{PRINTED[0]}.html").read_text(encoding="utf-8")
    flat = html.replace("</head>", "<style>h2 { break-before: auto !important; }</style></head>", 1)
    (tmp_path / "flat.html").write_text(flat, encoding="utf-8")
    page, _, _ = opened(tmp_path / "flat.html")
    page.emulate_media(media="print")
    assert len(section_breaks(page)) == page.locator('nav a[href^="#"]').count()


# ---------------------------------------------------------------------------
# Slim pages (no browser)
# ---------------------------------------------------------------------------


@slow
def test_funder_pages_are_slim_and_carry_no_jupyterlab_theme(built_reports):
    sizes = {p.name: _kib_without_images(p) for p in _funder_pages(built_reports.out)}
    assert sizes
    assert {n: round(s) for n, s in sizes.items() if s >= MAX_PAGE_KIB} == {}
    for path in _funder_pages(built_reports.out):
        text = path.read_text(encoding="utf-8")
        assert "--jp-layout-color0" not in text and "--jp-ui-font-family" not in text, path.name


def test_stylesheet_loads_nothing_and_prints_to_a4():
    css = stylesheet()
    assert "url(" not in css and "@import" not in css
    assert re.search(r"@page\s*\{[^}]*size:\s*A4", css)
    assert "@media print" in css and "break-before: page" in css
    assert len(css.encode("utf-8")) < 16 * 1024


def test_compact_html_drops_only_whitespace_that_never_renders():
    page = (
        "<table>\n<tr>\n  <td>1</td>\n  <td>2</td>\n</tr>\n</table>\n"
        "<p><strong>a</strong> <em>b</em></p>\n<pre>x\n  <span>y</span>\n</pre>"
    )
    compact = compact_html(page)
    assert "<table><tr><td>1</td><td>2</td></tr></table><p>" in compact
    assert "<strong>a</strong> <em>b</em>" in compact
    assert "<pre>x\n  <span>y</span>\n</pre>" in compact


def test_has_contents_sees_the_contents_list_of_display_contents():
    def nb(html: str):
        import nbformat

        cell = nbformat.v4.new_code_cell(
            outputs=[nbformat.v4.new_output("display_data", data={"text/html": html})]
        )
        return nbformat.v4.new_notebook(cells=[cell])

    assert has_contents(nb('<nav aria-label="Contents"><h2 id="contents">Contents</h2></nav>'))
    assert not has_contents(nb('<h2 id="profile">The service</h2>'))


# ---------------------------------------------------------------------------
# The index pages (no browser)
# ---------------------------------------------------------------------------


def _result(stem: str, notebook: str, title: str, **parameters) -> dict:
    return {
        "stem": stem,
        "notebook": notebook,
        "title": title,
        "parameters": parameters,
        "status": "ok",
        "error": "",
    }


def _results() -> list[dict]:
    """A small synthetic run: two service reports and the programme reports, summary last."""
    return [
        _result("service_report_S01_2014", "service_report", "Service report: S01, 2014",
                service_id="S01", year=2014),
        _result("service_report_S02_2014", "service_report", "Service report: S02, 2014",
                service_id="S02", year=2014),
        _result("cross_site_all", "cross_site", "Cross-site comparison: all years", year="all"),
        _result("realist_synthesis", "realist_synthesis", "Realist synthesis"),
        _result("programme_summary", "programme_summary", "Programme summary"),
    ]  # fmt: skip


def test_funder_index_lists_the_programme_summary_first_and_no_analyst_link():
    soup = BeautifulSoup(
        funder_index_html(_results(), built="today", data_ver="abc"), "html.parser"
    )
    main = soup.find("main")
    assert main is not None and len(soup.find_all("h1")) == 1
    programme = soup.find(id="programme-reports").find_next("ul")
    links = [a["href"] for a in programme.find_all("a")]
    assert links == ["programme_summary.html", "cross_site_all.html", "realist_synthesis.html"]
    assert [a.get_text() for a in programme.find_all("a")][0] == "Programme summary"
    hrefs = [a["href"] for a in soup.find_all("a")]
    assert not any("analyst" in h or h.endswith(".ipynb") for h in hrefs)
    headings = [h.get("id") for h in main.find_all("h2")]
    assert headings == ["programme-reports", "service-reports", "open-data"]
    grid = soup.find(id="service-reports").find_next("table")
    assert grid.find("caption") is not None
    assert all(th.get("scope") in {"col", "row"} for th in grid.find_all("th"))
    assert {a["aria-label"] for a in grid.find_all("a")} == {
        "Service report: S01, 2014",
        "Service report: S02, 2014",
    }


def test_team_index_has_main_headings_and_header_scopes():
    soup = BeautifulSoup(index_html(_results(), built="today", data_ver="abc"), "html.parser")
    assert len(soup.find_all("main")) == 1 and len(soup.find_all("h1")) == 1
    assert soup.find("main").find(class_="team-only") is not None
    for table in soup.find_all("table"):
        assert table.find("caption") is not None
        assert all(th.get("scope") in {"col", "row"} for th in table.find_all("th"))


def test_funder_index_is_readable_by_others_once_written(tmp_path):
    from hubspoke.report.index import write_funder_index

    funder = tmp_path / "funder"
    funder.mkdir()
    (funder / "realist_synthesis.html").write_text("<p>synthetic</p>", encoding="utf-8")
    path = write_funder_index(_results(), funder, built="today", data_ver="abc")
    umask = os.umask(0o022)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # as any new file, not mkstemp's 0600


# ---------------------------------------------------------------------------
# The axe package: pinned alike for pip and conda
# ---------------------------------------------------------------------------


def _pip_section_pins() -> dict[str, str]:
    """The pins of environment.yml's ``pip:`` section (packages conda-forge does not carry)."""
    pins = {}
    for line in (ROOT / "environment.yml").read_text(encoding="utf-8").splitlines():
        match = re.match(r"^\s+-\s+([A-Za-z0-9_.\-]+)==(\S+)\s*$", line)
        if match:
            pins[match[1].lower()] = match[2]
    return pins


def test_axe_package_is_pinned_alike_in_pyproject_and_environment():
    dev = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "optional-dependencies"
    ]["dev"]
    pinned = dict(spec.split("==", 1) for spec in dev if spec.startswith("axe-playwright-python"))
    assert pinned == {"axe-playwright-python": _pip_section_pins().get("axe-playwright-python")}
