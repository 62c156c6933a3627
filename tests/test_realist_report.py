"""The realist synthesis report as an evaluator would sign it (built on the synthetic data).

Scans the built funder and analyst pages of ``realist_synthesis``: CMO configurations
with quotes for every theory, evaluators' refinements with their evidence, the RAMESES
II items table, no sentence of the theories file twice, every refined statement shown
one an evaluator wrote (or the awaiting text), and a joint display with both sides.
All data are synthetic.
"""

from __future__ import annotations

import re
import tomllib

import pandas as pd
import pytest
from bs4 import BeautifulSoup

from hubspoke.analysis import realist as r
from hubspoke.analysis.realist.theories import DEFAULT_THEORIES

REPORT = "realist_synthesis"


@pytest.fixture(scope="module")
def pages(built_reports) -> dict[str, BeautifulSoup]:
    """The built funder page and analyst page of the synthesis (all years)."""
    assert built_reports.exit_code == 0
    out = {}
    for side in ("funder", "analyst"):
        path = built_reports.out / side / f"{REPORT}.html"
        out[side] = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
    return out


def _tables(page: BeautifulSoup, caption: str, *, full: bool = False) -> list[pd.DataFrame]:
    """Every table shown under a caption holding ``caption``: the funder view (a bold
    caption), or with ``full`` the evaluation team's full numbers (an italic one)."""
    found = []
    for table in page.find_all("table"):
        head = table.caption.find(["strong", "em"]) if table.caption else None
        wanted = "em" if full else "strong"
        if head is not None and head.name == wanted and caption in head.get_text():
            rows = [
                [c.get_text() for c in tr.find_all(["th", "td"])] for tr in table.find_all("tr")
            ]
            found.append(pd.DataFrame(rows[1:], columns=rows[0]))
    return found


def test_every_theory_has_cmo_configurations_and_quotes(pages):
    page = pages["funder"]
    assert page.find(id="cmo") is not None
    for theory in r.load_theories():
        (config,) = _tables(page, f"{theory.id}: interviews evidencing each mechanism")
        assert {"Mechanism", "Outcome", "Total"} <= set(config.columns)
        assert config["Mechanism"].str.startswith(f"{theory.id}-M").all()
        quotes = _tables(page, f"{theory.id}: strongest quotes")[0]  # then: for and against
        assert (quotes["Quote"].str.len() > 20).all()
        assert not quotes["Said by"].str.contains(r"\bS\d{2}\b").any()  # never a service


def test_refinements_show_evaluators_statements_with_their_evidence(pages, synthetic_processed):
    written = pd.read_parquet(synthetic_processed / "refinements.parquet")
    (table,) = _tables(pages["funder"], "Evaluators' refinements beside their evidence")
    statements = set(written["statement"].astype(str))
    shown = table["Evaluator's statement"]
    assert shown.isin([*statements, r.AWAITING_STATEMENT]).all()
    assert shown.isin(statements).any() and (table["Author"] != "").any()
    evidence = table.loc[shown.isin(statements), "Evidence"]
    assert evidence.str.contains(r"T\d{4}|SG\d{5}|^c$").all()  # the ids, or hidden with the counts


def test_every_refined_statement_shown_is_one_an_evaluator_wrote(pages, synthetic_processed):
    written = pd.read_parquet(synthetic_processed / "refinements.parquet")
    statements = set(written["statement"].astype(str))
    (table,) = _tables(pages["funder"], "Where each theory was refined or refuted")
    for column in ("Statements where refined", "Statements where refuted"):
        for cell in table[column]:
            for part in filter(None, cell.split(" | ")):
                if part in ("c", "not refined or refuted in any context"):
                    continue
                context, _, rest = part.partition(": ")
                said = re.sub(r" \(R\d+, [^,]+, [\d-]+\)$", "", rest)
                assert said in statements or said == r.AWAITING_STATEMENT, part


def test_no_sentence_of_the_theories_file_but_the_statements_appears_twice(pages):
    text = pages["funder"].get_text(" ")
    data = tomllib.loads(DEFAULT_THEORIES.read_text(encoding="utf-8"))
    for entry in data["theories"]:
        assert text.count(entry["statement"]) == 1, entry["id"]  # the theories table, once
        assert text.count(entry["context"]) <= 1, entry["id"]
    assert "{contexts}" not in text and "refined =" not in text


def test_rameses_items_table_covers_items_14_to_20(pages):
    (table,) = _tables(pages["funder"], "RAMESES II reporting items 14-20")
    assert table.iloc[:, 0].tolist() == [str(i) for i in range(14, 21)]
    anchors = [a for a in table["Where answered"] if a.startswith("#")]
    for anchor in anchors:
        assert pages["funder"].find(id=anchor[1:]) is not None, anchor
    assert "not in this report" in table.set_index(table.columns[0]).loc["18", "Where answered"]


def test_joint_display_shows_value_n_ci_and_verdict_counts(pages):
    # "n" is headed "Number" for readers (labels from the table, never a column name)
    wanted = {
        "Value",
        "Number",
        "CI low",
        "CI high",
        "Supports",
        "Refutes",
        "Refines",
        "Call",
        "Reason",
    }
    (analyst,) = _tables(pages["analyst"], "Joint display", full=True)
    assert wanted <= set(analyst.columns)
    assert len(set(analyst["Service"])) == 16
    numbers = pd.to_numeric(analyst["Value"], errors="coerce")
    assert numbers.notna().any()
    assert pd.to_numeric(analyst["Supports"], errors="coerce").notna().all()
    (funder,) = _tables(pages["funder"], "Joint display")
    assert wanted <= set(funder.columns)
    shown = funder[funder["Supports"] != "c"]
    assert shown["Supports"].str.fullmatch(r"\d+").all()
    figures = [img for img in pages["funder"].find_all("img") if "joint display" in img["alt"].lower()
               or "Table-like chart" in img["alt"]]  # fmt: skip
    assert len(figures) == len(r.load_theories())


def test_for_whom_is_for_the_evaluation_team_only(pages):
    assert "service-year, not person" not in pages["funder"].get_text(" ")
    assert "service-year, not person" in pages["analyst"].get_text(" ")
