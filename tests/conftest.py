"""Shared fixtures: one synthetic raw data set and its cleaned form per test session; a browser."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from browser_checks import CHROMIUM, launch_context, open_page

#: Where the shared statistics live for tests (never copied into the repository).
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session", autouse=True)
def _session_key_file(tmp_path_factory: pytest.TempPathFactory):
    """Every test uses a throwaway pseudonymisation key, never the user's own (~/.config)."""
    previous = os.environ.get("HUBSPOKE_KEY_FILE")
    os.environ["HUBSPOKE_KEY_FILE"] = str(tmp_path_factory.mktemp("key") / "pseudonym.key")
    yield
    if previous is None:
        os.environ.pop("HUBSPOKE_KEY_FILE", None)
    else:
        os.environ["HUBSPOKE_KEY_FILE"] = previous


@pytest.fixture(scope="session")
def synthetic_raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default synthetic raw folder (``hubspoke.synth.generate`` with seed 2014), written once."""
    from hubspoke.synth import generate

    out = tmp_path_factory.mktemp("raw")
    generate(out, seed=2014)
    return out


@pytest.fixture(scope="session")
def synthetic_processed(synthetic_raw: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default synthetic data cleaned by ``hubspoke.clean.clean_all`` (every cleaner), once."""
    from hubspoke.clean import clean_all

    out = tmp_path_factory.mktemp("processed")
    summary = clean_all(synthetic_raw, out)
    assert summary.ok, summary.text()
    return out


#: The subset of reports the batch fixture builds: two services (every year) and the programme reports.
REPORT_SUBSET = (
    "S01",
    "S04",
    "programme_summary",
    "cross_site",
    "realist_synthesis",
    "coding_quality",
    "local_context",
)


class ReportsRun:
    """A finished batch run: its folder, exit code and the settings it ran with."""

    def __init__(self, out: Path, exit_code: int, settings) -> None:
        self.out = out
        self.exit_code = exit_code
        self.settings = settings


@pytest.fixture(scope="session")
def built_reports(
    synthetic_raw: Path, synthetic_processed: Path, tmp_path_factory: pytest.TempPathFactory
) -> ReportsRun:
    """``hubspoke report`` run once on a subset of the synthetic data (real kernels, real nbconvert)."""
    from hubspoke.config import get_settings
    from hubspoke.report.run import run_reports

    base = tmp_path_factory.mktemp("batch")
    settings = get_settings().with_paths(
        raw_dir=synthetic_raw,
        processed_dir=synthetic_processed,
        figures_dir=base / "figures",
        reports_dir=base / "reports",
    )
    code = run_reports(
        out=base / "reports", jobs=2, only=list(REPORT_SUBSET), settings=settings, progress=False
    )
    return ReportsRun(base / "reports", code, settings)


def seed_release(run: ReportsRun, out: Path) -> None:
    """Give a new reports folder the batch run's saved release, so a run on the same data
    reuses it instead of solving it again (the release is keyed by data, code and
    threshold: a run on changed data still rebuilds it)."""
    source = run.out / ".release"
    if source.is_dir():
        shutil.copytree(source, out / ".release", dirs_exist_ok=True)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory):
    """One headless chromium for the module, with a fresh user-data dir; closed whatever happens."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium)")
    with sync_playwright() as playwright:
        context = launch_context(playwright, tmp_path_factory.mktemp("chromium-profile"))
        try:
            yield context
        finally:
            context.close()


@pytest.fixture
def opened(browser):
    """Open pages in new tabs; every tab is closed after the test."""
    pages = []

    def _open(path: Path):
        page, log, response = open_page(browser, path)
        pages.append(page)
        return page, log, response

    yield _open
    for page in pages:
        page.close()
