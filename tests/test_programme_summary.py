"""The programme summary: headline numbers from the data, sentences from the numbers, the page first.

All data here are synthetic (the conftest fixtures, or small changes made to them here).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import pandas as pd
import pytest
from bs4 import BeautifulSoup

from hubspoke import load
from hubspoke.analysis import programme
from hubspoke.analysis.release import RELEASE_FILE, read_release
from hubspoke.privacy.release import Release, ReleaseCell
from hubspoke.privacy.table import CellId
from hubspoke.report.plan import NOTEBOOKS
from release_auditor import html_table_numbers, number_matches, read_files

TABLE_NAMES = (*load.PROCESSED_TABLES, "reconciliation", "quarantine")


@pytest.fixture(scope="module")
def tables(synthetic_processed: Path) -> dict[str, pd.DataFrame]:
    return load.load_tables(synthetic_processed, names=TABLE_NAMES)


@pytest.fixture(scope="module")
def summary(tables) -> dict:
    return programme.programme_summary_tables(tables)


def expected_reach(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Rows as the reach table, one column per year: counted straight from the processed tables."""
    cases = tables["cases"].groupby("year").size()
    activities = tables["activities"].assign(
        participants=tables["activities"]["participants"].astype("Int64").fillna(0)
    )
    by_type = activities.pivot_table(
        index="activity_type", columns="year", values="participants", aggfunc="sum", observed=True
    )
    rows = {
        "Young people supported one-to-one (case records)": cases,
        "Young people at awareness sessions": by_type.loc["Awareness - young people"],
        "Professionals trained": by_type.loc["Training"],
        "Professionals at awareness sessions": by_type.loc["Awareness - professionals"],
        "Professionals consulted": by_type.loc["Consultation"],
    }
    out = pd.DataFrame(rows).T.fillna(0).astype(float)
    out.columns = [str(c) for c in out.columns]
    return out


# --------------------------------------------------------------------------- headline numbers
def test_headline_numbers_equal_the_processed_data(tables, summary):
    reach = summary["reach"]
    expected = expected_reach(tables)
    cells = {(c.row, c.column): c for c in reach.cells()}
    pooled = programme.periods(tables)[-1]
    assert list(reach.frame.columns[:-1]) == [*expected.columns, pooled]
    for row in expected.index:
        for year in expected.columns:
            assert cells[(row, year)].value == expected.at[row, year], (row, year)
            assert cells[(row, year)].kind == "count"
        assert cells[(row, pooled)].value == expected.loc[row].sum(), row
    assert cells[(programme.PROFESSIONALS_REACHED, pooled)].value == (
        expected.loc["Professionals trained"].sum()
        + expected.loc["Professionals at awareness sessions"].sum()
    )
    assert cells[("Young people supported one-to-one (case records)", pooled)].value == len(
        tables["cases"]
    )


def test_headline_counts_share_the_identities_of_the_other_reports(tables, summary):
    """The one-to-one and training totals are the cross-site ratings counts' programme cells."""
    from hubspoke.analysis.cross_site.tables import cross_site_tables

    pooled = programme.periods(tables)[-1]
    ours = {c.id: c.value for c in summary["reach"].cells()}
    theirs = {
        c.id: c.value for c in cross_site_tables(tables, year="all")["ratings.counts"].cells()
    }
    for indicator, dims in (("young_people", {}), ("participants", {"activity_type": "Training"})):
        cid = CellId.of(indicator, time_period=pooled, **dims)
        assert cid in ours and cid in theirs
        assert ours[cid] == theirs[cid]


def test_published_figures_are_context_words_never_counts(summary):
    reach = summary["reach"]
    published = [c for c in reach.cells() if c.column == "published"]
    assert {c.kind for c in published} == {"text"}
    assert "over 700 young people given one-to-one support" in {c.value for c in published}
    assert "context" in reach.label("published").lower()
    assert "never results" in programme.PUBLISHED_SOURCE


def test_outcome_levels_say_k_of_m_and_confidence_and_rest_on_programme_counts(tables, summary):
    table = summary["outcomes"]
    assert len(table.frame) == 6
    for cell in table.cells():
        assert re.search(r"\d+ of \d+ indicators met", str(cell.value)), cell.value
        assert "confidence" in str(cell.value) or "held at" in str(cell.value)
        assert all(s.get("service_id") == "Total" for s in cell.sources)
    safety = [c for c in table.cells() if c.row == "Safety"][0]
    assert {s.indicator for s in safety.sources} == {"young_people", "risk_assessed"}


# --------------------------------------------------------------------------- generated sentences
def _no_risk_reduced(tables: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The same synthetic data with every latest risk equal to the risk at referral."""
    changed = dict(tables)
    cases = tables["cases"].copy()
    cases["risk_latest"] = cases["risk_at_referral"]
    changed["cases"] = cases
    return changed


def test_sentences_change_when_the_numbers_change(tables):
    period = programme.periods(tables)[-1]
    before = programme.safeguarding_findings(tables, period=period)["Risk of exploitation"][0]
    after = programme.safeguarding_findings(_no_risk_reduced(tables), period=period)
    text = after["Risk of exploitation"][0]
    assert text != before
    assert "for 0% (" in text and "fewer than half" in text
    reduced = int(_pooled_reduced(tables))
    assert f"({reduced:,})" in before and f"({reduced:,})" not in text


def _pooled_reduced(tables: Mapping[str, pd.DataFrame]) -> float:
    from hubspoke.analysis.cross_site.tables import service_counts

    return float(service_counts(tables, year="all")["risk_reduced"].sum())


def test_each_sentence_states_the_numbers_of_its_sources(tables):
    period = programme.periods(tables)[-1]
    found = programme.safeguarding_findings(tables, period=period)
    text, sources = found["Risk of exploitation"]
    assert {s.indicator for s in sources} == {"young_people", "risk_assessed"}
    assert f"{_pooled_reduced(tables):,.0f}" in text
    assert "95% CI" in text


def _release_hiding(table, hide: CellId) -> Release:
    """A release holding every source of ``table`` (as counts of 10), with ``hide`` hidden."""
    sources = {s for cell in table.cells() for s in cell.sources}
    cells = {s: ReleaseCell(s, "count", 10.0) for s in sources}
    return Release(cells=cells, hidden=frozenset({hide}), primary=frozenset({hide}))


def test_a_sentence_resting_on_a_hidden_count_is_replaced_and_states_no_number(tables, summary):
    table = summary["impact.1"]
    risk = next(c for c in table.cells() if c.row == "Risk of exploitation")
    shown = _release_hiding(table, risk.sources[0]).view(table)
    text = programme.findings_markdown(shown)
    assert programme.SUPPRESSED in text
    assert str(risk.value) not in text
    reduced = f"({_pooled_reduced(tables):,.0f})"
    assert reduced not in text
    endings = next(c for c in table.cells() if c.row == "Planned endings")
    assert str(endings.value) in text  # the others stay


def test_no_finding_is_hidden_when_its_sources_are_shown(summary):
    table = summary["impact.2"]
    shown = _release_hiding(table, CellId.of("nothing")).view(table)
    assert programme.SUPPRESSED not in programme.findings_markdown(shown)


def test_tables_of_sentences_from_counts_are_looked_up_in_the_release(summary):
    """A view without the release takes every sourced sentence for hidden: none may skip it."""
    for key, table in summary.items():
        if any(cell.sources for cell in table.cells()):
            assert table.counts_people, key


# --------------------------------------------------------------------------- the page
def test_the_programme_summary_is_planned_first_and_once():
    spec = NOTEBOOKS[0]
    assert (spec.name, spec.title, spec.per) == ("programme_summary", "Programme summary", "once")


def test_service_links_are_plain_relative_file_names(tables):
    text = programme.links_markdown(programme.service_report_links(tables))
    targets = re.findall(r"\]\(([^)]+)\)", text)
    pairs = load.available_service_years(tables)
    assert len(targets) == sum(len(y) for y in pairs.values())
    assert all(re.fullmatch(r"service_report_S\d+_\d{4}\.html", t) for t in targets)


@pytest.mark.slow
def test_funder_page_is_built_and_the_funder_index_links_it_first(built_reports):
    funder = built_reports.out / "funder"
    page = funder / "programme_summary.html"
    assert page.is_file()
    index = BeautifulSoup((funder / "index.html").read_text(encoding="utf-8"), "html.parser")
    first = index.find(id="programme-reports").find_next("ul").find("a")
    assert first["href"] == "programme_summary.html"
    text = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser").get_text(" ")
    assert "synthetic" in text.lower()
    assert "over 700 young people given one-to-one support" in text


@pytest.mark.slow
def test_every_number_in_the_programme_summary_tables_is_in_the_open_data(built_reports):
    funder = built_reports.out / "funder"
    cells, _ = read_files(funder / "data")
    values = sorted({c.value for c in cells if c.value is not None})
    html = (funder / "programme_summary.html").read_text(encoding="utf-8")
    numbers = html_table_numbers(html)
    assert numbers  # the page has tables of numbers
    missing = [n for n in numbers if not number_matches(n, values)]
    assert not missing, missing[:5]


@pytest.mark.slow
def test_funder_page_headline_equals_the_processed_data(built_reports, tables):
    """The reach table as printed holds the one-to-one total counted from the cases."""
    html = (built_reports.out / "funder" / "programme_summary.html").read_text(encoding="utf-8")
    assert f"{len(tables['cases']):,}" in html_table_numbers(html)


@pytest.mark.slow
def test_funder_page_shows_every_finding_the_release_shows(built_reports, tables):
    """The page's sentences are the release's view: shown where their counts are, else suppressed."""
    release = read_release(built_reports.out / ".release" / RELEASE_FILE)
    assert release is not None
    page = BeautifulSoup(
        (built_reports.out / "funder" / "programme_summary.html").read_text(encoding="utf-8"),
        "html.parser",
    )
    text = " ".join(page.get_text(" ").split())
    summary = programme.programme_summary_tables(tables)
    shown = 0
    for area in programme.IMPACT_AREAS:
        view = release.view(summary[f"impact.{area}"])
        for sentence, hidden in zip(view.display["finding"], view.hidden["finding"], strict=True):
            if not hidden:
                shown += 1
                assert " ".join(sentence.split()) in text, sentence
    assert shown > 0
