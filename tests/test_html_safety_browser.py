"""Poisoned data in Debian's chromium (Playwright): the payloads show as text, nothing runs, and the
Content-Security-Policy blocks a script that is put into the page file by hand.

Two real pages: the small poisoned notebook of ``test_html_safety`` (every display helper, a real
kernel), and the real ``service_report`` notebook run by ``hubspoke report`` on a copy of the
processed data whose interview excerpts were poisoned.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from bs4 import BeautifulSoup

from browser_checks import (
    check_csp,
    check_funder_page,
    check_loaded,
    csp_refusals,
)
from hubspoke import SYNTHETIC_NOTICE
from test_html_safety import PAYLOADS, build_poisoned_pages, csp_of, csp_problems, live_markup

pytestmark = pytest.mark.slow

#: What the poisoned interview excerpts hold: both payloads the issue names, and a marker.
EXCERPT_PAYLOAD = f"{PAYLOADS['script']} {PAYLOADS['img-onerror']}"
#: A script and an inline event handler put into a page file after it was built.
INJECTED = (
    "<script>window.__injected = 1;</script>"
    '<img src="data:," alt="probe" onerror="window.__injected_handler = 1">'
)
CSP_META = re.compile(r"<meta\b[^>]*Content-Security-Policy[^>]*>", re.IGNORECASE)


@pytest.fixture(scope="module")
def poisoned_page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The funder page of the small poisoned notebook (real kernel, real nbconvert)."""
    return Path(build_poisoned_pages(tmp_path_factory.mktemp("poisoned"))["funder_path"])


@pytest.fixture(scope="module")
def poisoned_service_report(
    synthetic_raw: Path, synthetic_processed: Path, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """``hubspoke report`` on S01 2014 with every quotable excerpt of that service-year poisoned."""
    from hubspoke.config import get_settings
    from hubspoke.report.run import run_reports

    base = tmp_path_factory.mktemp("poisoned-service")
    processed = base / "processed"
    shutil.copytree(synthetic_processed, processed)
    path = processed / "codings.parquet"
    table = pq.read_table(path)
    frame = table.to_pandas()
    here = (frame["service_id"] == "S01") & (frame["year"] == 2014)
    assert here.sum() > 0, "no interviews to poison"
    frame["excerpt"] = frame["excerpt"].astype("string")
    frame.loc[here, "excerpt"] = [
        f"POISONED-QUOTE-{i} {EXCERPT_PAYLOAD} end of quote" for i in range(int(here.sum()))
    ]
    pq.write_table(pa.Table.from_pandas(frame, schema=table.schema, preserve_index=False), path)
    settings = get_settings().with_paths(
        raw_dir=synthetic_raw,
        processed_dir=processed,
        figures_dir=base / "figures",
        reports_dir=base / "reports",
    )
    code = run_reports(
        out=base / "reports",
        jobs=1,
        only=["service_report_S01_2014"],
        settings=settings,
        progress=False,
    )
    assert code == 0, (base / "reports" / "run.log").read_text(encoding="utf-8")
    return base / "reports" / "funder" / "service_report_S01_2014.html"


def test_the_poisoned_page_shows_the_payloads_as_text_and_runs_none(poisoned_page, opened):
    page, log, response = opened(poisoned_page)
    assert page.evaluate("typeof window.__pwned") == "undefined"
    for key, payload in PAYLOADS.items():
        shown = page.get_by_text(payload, exact=False)
        assert any(element.is_visible() for element in shown.all()), f"{key} not shown as text"
    # The rest of the page is as a funder page should be: figure loaded under the CSP,
    # contents links working, no request elsewhere, no console error (no CSP refusal either).
    assert check_funder_page(page, log, response, SYNTHETIC_NOTICE) == []
    assert check_csp(page) == []


def test_the_csp_blocks_a_script_put_into_the_page_file(poisoned_page, opened, tmp_path):
    html = poisoned_page.read_text(encoding="utf-8")
    assert CSP_META.search(html), "the page has no CSP meta to test"
    injected = html.replace("<main>", "<main>" + INJECTED, 1)
    assert injected != html
    (tmp_path / "injected.html").write_text(injected, encoding="utf-8")
    page, log, response = opened(tmp_path / "injected.html")
    assert check_loaded(page, response) == []
    assert page.evaluate("typeof window.__injected") == "undefined"
    assert page.evaluate("typeof window.__injected_handler") == "undefined"
    refusals = csp_refusals(log)
    assert any("inline script" in m for m in refusals), log.console_errors
    assert any("event handler" in m for m in refusals), log.console_errors


def test_without_the_csp_the_same_injection_would_run(poisoned_page, opened, tmp_path):
    """Control: the injected script and handler do run once the CSP meta is taken out."""
    html = CSP_META.sub("", poisoned_page.read_text(encoding="utf-8"), count=1)
    (tmp_path / "no_csp.html").write_text(
        html.replace("<main>", "<main>" + INJECTED, 1), encoding="utf-8"
    )
    page, log, _ = opened(tmp_path / "no_csp.html")
    page.wait_for_function("() => window.__injected_handler === 1", timeout=5_000)
    assert page.evaluate("window.__injected") == 1
    assert csp_refusals(log) == [] and check_csp(page) != []


def test_the_real_service_report_quotes_poisoned_excerpts_as_text(poisoned_service_report, opened):
    soup = BeautifulSoup(poisoned_service_report.read_text(encoding="utf-8"), "html.parser")
    quotes = [q.get_text(" ", strip=True) for q in soup.find_all("blockquote")]
    assert any("POISONED-QUOTE" in q for q in quotes), quotes
    assert live_markup(soup) == []
    assert csp_problems(csp_of(soup)) == []
    page, log, response = opened(poisoned_service_report)
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.get_by_text("POISONED-QUOTE", exact=False).first.is_visible()
    assert check_funder_page(page, log, response, SYNTHETIC_NOTICE) == []
