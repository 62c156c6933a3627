"""The funder folder can be shared as it is: its own index, its reports, its open data, nothing else.

A reports folder is laid out by hand (funder pages, analyst notebooks, open data written
from a tiny release), then both index pages are checked: the funder index links only
files inside ``reports/funder`` (no analyst link, no failed report, no error text), and
the evaluation team's index is marked as not for sharing.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from bs4 import BeautifulSoup

from hubspoke import SYNTHETIC_NOTICE
from hubspoke.report.export import CONTENT_SECURITY_POLICY
from hubspoke.report.index import (
    TEAM_ONLY,
    funder_index_html,
    index_html,
    write_funder_index,
)
from hubspoke.report.open_data import GUIDANCE_FILE, write_open_data
from test_open_data import GROUPS, YEARS, tiny_release

SCRIPT = "<script>alert('x')</script>"
IMG = '<img src=x onerror="alert(1)">'


def result(stem: str, notebook: str, title: str, status: str = "ok", **parameters) -> dict:
    """One entry of the batch state, as the report run keeps it."""
    return {
        "stem": stem,
        "notebook": notebook,
        "title": title,
        "parameters": parameters,
        "status": status,
        "error": "",
    }


def results() -> list[dict]:
    """Service reports for two services and two years, cross-site, and a failed report."""
    out = [
        result(
            f"service_report_{sid}_{y}",
            "service_report",
            f"Service report: {sid}, {y}",
            service_id=sid,
            year=y,
        )
        for sid in ("S01", "S02")
        for y in (2014, 2015)
    ]
    out += [
        result("cross_site_2014", "cross_site", "Cross-site comparison: 2014", year="2014"),
        result("cross_site_all", "cross_site", f"Cross-site comparison: {SCRIPT}", year="all"),
        result("realist_synthesis", "realist_synthesis", "Realist synthesis"),
        {
            **result("local_context", "local_context", "Local context", "failed"),
            "error": f"RuntimeError: secret detail {IMG}",
        },
        result("../../outside", "cross_site", "Escaping stem", year="2015"),
        result("javascript:alert(1)", "cross_site", "Script stem", year="2016"),
    ]
    return out


@pytest.fixture
def reports(tmp_path: Path) -> Path:
    """A reports folder: funder pages and analyst notebooks of every built report, open data."""
    root = tmp_path / "reports"
    funder, analyst = root / "funder", root / "analyst"
    funder.mkdir(parents=True)
    analyst.mkdir()
    for r in results():
        if r["status"] != "failed" and "/" not in r["stem"] and ":" not in r["stem"]:
            (funder / f"{r['stem']}.html").write_text("<p>report</p>", encoding="utf-8")
        if "/" not in r["stem"] and ":" not in r["stem"]:
            (analyst / f"{r['stem']}.ipynb").write_text("{}", encoding="utf-8")
    (root / "outside.html").write_text("not shareable", encoding="utf-8")
    write_open_data(tiny_release(), GROUPS, funder / "data", years=YEARS)
    return root


def page_of(path: Path) -> BeautifulSoup:
    """A written page, parsed."""
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def hrefs(page: BeautifulSoup) -> list[str]:
    """Every link target of a page, in order."""
    return [a["href"] for a in page.find_all("a")]


def written_index(reports: Path) -> Path:
    """The funder index written for :func:`results` into the folder's funder subfolder."""
    return write_funder_index(results(), reports / "funder", built="today", data_ver="abc123")


def test_funder_index_is_written_inside_the_funder_folder(reports):
    path = written_index(reports)
    assert path == reports / "funder" / "index.html"
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_every_funder_link_resolves_to_a_file_inside_the_funder_folder(reports):
    path = written_index(reports)
    funder = (reports / "funder").resolve()
    links = hrefs(page_of(path))
    assert links
    for href in links:
        parts = urlsplit(href)
        assert not parts.scheme and not parts.netloc and not href.startswith("/"), href
        target = (funder / unquote(parts.path)).resolve()
        assert target.is_relative_to(funder), href
        assert target.is_file(), href


def test_funder_index_has_no_analyst_link_no_failed_report_and_no_error_text(reports):
    page = page_of(written_index(reports))
    text = page.get_text()
    for href in hrefs(page):
        assert "analyst" not in href and not href.endswith(".ipynb") and ".." not in href
    assert "Local context" not in text and "secret detail" not in text and "failed" not in text
    assert "Escaping stem" not in text and "Script stem" not in text


def test_funder_index_lists_programme_and_cross_site_reports_before_services(reports):
    page = page_of(written_index(reports))
    programme = page.find(id="programme-reports").find_next("ul")
    services = page.find(id="service-reports").find_next("table")
    assert programme.sourceline < services.sourceline
    assert hrefs(programme) == [
        "cross_site_2014.html",
        "cross_site_all.html",
        "realist_synthesis.html",
    ]
    assert sorted(hrefs(services)) == sorted(
        f"service_report_{sid}_{y}.html" for sid in ("S01", "S02") for y in (2014, 2015)
    )
    years = [th.get_text(strip=True) for th in services.find("thead").find_all("th")][1:]
    assert years == ["2014", "2015"]


def test_funder_index_lists_the_open_data_and_its_guidance(reports):
    page = page_of(written_index(reports))
    section = page.find(id="open-data")
    links = [a["href"] for a in section.find_all_next("a")]
    for family in ("notes", "people", "reach", "referrals"):
        assert f"data/{family}.csv" in links
        assert f"data/{family}.meta.csv" in links
    assert f"data/{GUIDANCE_FILE}" in links


def test_funder_index_carries_the_csp_notice_and_escapes_every_value(reports):
    path = written_index(reports)
    page = page_of(path)
    head = page.find("head")
    first_meta = [m for m in head.find_all("meta") if m.get("http-equiv")][0]
    assert first_meta["http-equiv"] == "Content-Security-Policy"
    assert first_meta["content"] == CONTENT_SECURITY_POLICY
    assert page.find_all("script") == []
    assert f"Cross-site comparison: {SCRIPT}" in page.get_text()
    assert SYNTHETIC_NOTICE in page.get_text()
    assert "shown as c" in " ".join(page.get_text().split())


def test_funder_index_skips_missing_reports_and_data_files_outside_the_folder(reports):
    (reports / "funder" / "realist_synthesis.html").unlink()
    outside = reports / "outside.html"
    data = sorted((reports / "funder" / "data").iterdir())
    path = write_funder_index(
        results(), reports / "funder", built="today", data_ver="abc", data_files=[*data, outside]
    )
    links = hrefs(page_of(path))
    assert "realist_synthesis.html" not in links
    assert not any("outside" in href for href in links)
    assert "data/people.csv" in links


def test_funder_index_html_without_data_says_so():
    page = BeautifulSoup(funder_index_html(results(), built="today", data_ver="abc"), "html.parser")
    assert "No open data files" in page.get_text()
    assert all(not h.startswith("data/") for h in hrefs(page))


def test_team_index_is_marked_not_for_sharing_and_points_to_the_funder_folder():
    page = BeautifulSoup(index_html(results(), built="today", data_ver="abc"), "html.parser")
    assert TEAM_ONLY == "Evaluation team only - not for sharing"
    assert TEAM_ONLY in page.find("title").get_text()
    assert page.find(class_="team-only").get_text(strip=True) == TEAM_ONLY
    assert "funder/index.html" in hrefs(page)
    assert "analyst/local_context.ipynb" in hrefs(page)  # the team's page keeps its notebook links
