"""One table style for every funder table (issue 18, item 2). All data here is synthetic.

Small Tables go through :func:`hubspoke.present.display.table` with IPython's ``display``
captured, so the test reads the exact HTML each audience gets; the last test reads every
table of the built funder pages (the issue's Done-when line).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from bs4 import BeautifulSoup, Tag

from hubspoke.config import get_settings
from hubspoke.present import display, views
from hubspoke.privacy.release import Release, format_value, gather, protect
from hubspoke.privacy.table import Count, Derived, Figure, Table, Text

SCOPE = {"service_id": "S01", "time_period": "2015"}
#: The raw column names the issue found in funder tables.
RAW_NAMES = ("young_people_reached", "n_both", "ci_low", "p_value", "applies_to", "mean_score")
#: Synthetic areas (codes in the ONS layout, names made up for the test).
AREAS = {"E06000007": "Synthetic Borough A", "E08000008": "Synthetic City B"}
AREA_CODE = re.compile(r"\b[EWSN]\d{8}\b")
#: A heading written as code: lower case words joined by underscores.
SNAKE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")


@pytest.fixture
def settings(tmp_path):
    """Settings whose processed folder holds only a synthetic ``context`` table (area names)."""
    pd.DataFrame(
        {
            "la_code": list(AREAS),
            "la_name": list(AREAS.values()),
            "geographic_level": "Local authority",
            "year": 2018,
        }
    ).to_parquet(tmp_path / "context.parquet")
    return get_settings().with_paths(processed_dir=tmp_path, figures_dir=tmp_path / "figures")


@pytest.fixture
def shown_html(monkeypatch) -> dict[str, list[str]]:
    """Everything the display helpers show, as HTML, by audience tag."""
    seen: dict[str, list[str]] = {"funder": [], "analyst": []}

    def capture(obj, *, metadata):
        seen[metadata["tags"][0]].append(obj.data)

    monkeypatch.setattr(display, "display", capture)
    return seen


def released(monkeypatch, *tables: Table) -> Release:
    """Suppress ``tables`` together and make that the release every view reads."""
    cells, equations = gather(tables)
    release = protect(cells, equations=equations)
    monkeypatch.setattr(views, "current_release", lambda settings=None: release)
    return release


def people(values: dict[str, int]) -> Table:
    """Young people by gender with a Total row and a percentage (synthetic counts)."""
    frame = pd.DataFrame({"n": list(values.values())}, index=pd.Index(list(values), name="gender"))
    frame.loc["Total"] = frame["n"].sum()
    frame["%"] = frame["n"] / frame.loc["Total", "n"] * 100
    return Table(
        frame,
        family="people",
        rows="gender",
        scope=SCOPE,
        columns={"n": Count("young_people"), "%": Derived("pct", ("n", ("Total", "n")), dp=0)},
    )


def only_table(html_parts: list[str]) -> Tag:
    tables = [
        t for part in html_parts for t in BeautifulSoup(part, "html.parser").find_all("table")
    ]
    assert len(tables) == 1, len(tables)
    return tables[0]


def cells_of(table: Tag) -> dict[tuple[str, str], Tag]:
    """Data cells by (row heading, column heading)."""
    heads = [th.get_text() for th in table.thead.find_all("th")][1:]
    out = {}
    for tr in table.tbody.find_all("tr"):
        row = tr.find("th").get_text()
        for head, td in zip(heads, tr.find_all("td"), strict=True):
            out[(row, head)] = td
    return out


# --------------------------------------------------------------------------- structure
def test_a_funder_table_has_a_caption_scoped_headings_and_no_index_column(
    monkeypatch, shown_html, settings
):
    released(monkeypatch, people({"Female": 30, "Male": 12}))
    display.table(
        people({"Female": 30, "Male": 12}), caption="Young people by gender", settings=settings
    )
    table = only_table(shown_html["funder"])
    assert table.caption.get_text() == "Young people by gender"
    head = table.thead.find_all("tr")
    assert len(head) == 1, "one heading row: no separate row for the index name"
    assert [th["scope"] for th in head[0].find_all("th")] == ["col"] * 3
    assert [th.get_text() for th in head[0].find_all("th")] == ["Gender", "Young people", "%"]
    for tr in table.tbody.find_all("tr"):
        first = tr.find(["th", "td"])
        assert first.name == "th" and first["scope"] == "row"
        assert len(tr.find_all("th")) == 1 and len(tr.find_all("td")) == 2
    assert all(th.get_text(strip=True) for th in table.find_all("th")), "an empty heading"


def test_an_unnamed_index_is_headed_by_the_rows_dimension(monkeypatch, shown_html, settings):
    frame = pd.DataFrame({"note": ["first", "second"]}, index=["a", "b"])
    words = Table(frame, family="words", rows="profile_item", columns={"note": Text("note")})
    display.table(words, caption="Words", settings=settings)
    heads = [th.get_text() for th in only_table(shown_html["funder"]).thead.find_all("th")]
    assert heads == ["Profile item", "Note"]


@pytest.mark.parametrize("raw", RAW_NAMES)
def test_no_raw_column_name_reaches_a_heading(raw, shown_html, settings):
    frame = pd.DataFrame({raw: [1.5, 2.25]}, index=pd.Index(["x1", "x2"], name="item"))
    numbers = Table(frame, family="figures", rows="item", columns={raw: Figure(raw, dp=2)})
    display.table(numbers, caption="Figures", settings=settings)
    for audience in ("funder", "analyst"):
        heads = [th.get_text() for th in only_table(shown_html[audience]).thead.find_all("th")]
        assert raw not in heads and not any(SNAKE.search(h) for h in heads), heads
        assert heads[1][:1].isupper() or heads[1][:1].isdigit() or heads[1].startswith("p-")


def test_missing_labels_fall_back_to_words_and_given_labels_win():
    assert display.readable_label("young_people_reached") == "Young people reached"
    assert display.readable_label("mean_score") == "Mean score"
    assert display.readable_label("applies_to") == "Applies to"
    assert display.readable_label("ci_low") == "95% CI low"
    assert display.readable_label("p_value") == "p-value"
    assert display.readable_label("% complete") == "% complete"  # written for readers: kept
    frame = pd.DataFrame({"mean_score": [1.0]}, index=pd.Index(["a"], name="area"))
    labelled = Table(
        frame,
        family="f",
        rows="area",
        columns={"mean_score": Figure("mean_score")},
        labels={"mean_score": "Mean progress score"},
    )
    assert display.column_label(labelled, "mean_score") == "Mean progress score"


def test_row_labels_written_as_code_read_as_words(shown_html, settings):
    frame = pd.DataFrame(
        {"share": [100.0, 42.0]}, index=pd.Index(["looked_after", "concern_date"], name="item")
    )
    completeness = Table(frame, family="c", rows="item", columns={"share": Figure("share")})
    display.table(completeness, caption="Completeness", settings=settings)
    rows = [th.get_text() for th in only_table(shown_html["funder"]).tbody.find_all("th")]
    assert rows == ["Looked after", "Concern date"]


# --------------------------------------------------------------------------- cells
def test_text_and_number_cells_carry_their_alignment_class(monkeypatch, shown_html, settings):
    frame = pd.DataFrame(
        {"statement": ["Trust builds", "Referrals rise"], "sessions": [1204, 35]},
        index=pd.Index(["PT1", "PT2"], name="theory_id"),
    )
    mixed = Table(
        frame,
        family="mixed",
        rows="theory_id",
        columns={"statement": Text("statement"), "sessions": Figure("sessions")},
    )
    display.table(mixed, caption="Mixed", settings=settings)
    table = only_table(shown_html["funder"])
    cells = cells_of(table)
    assert cells[("PT1", "Statement")].get("class") is None  # left: the default
    assert cells[("PT1", "Sessions")]["class"] == ["hubspoke-num"]
    heads = table.thead.find_all("th")
    assert [h["class"] for h in heads] == [["hubspoke-text"], ["hubspoke-text"], ["hubspoke-num"]]
    assert all(th.get("class") is None for th in table.tbody.find_all("th"))


def test_numbers_have_thousands_separators_and_their_units_places(
    monkeypatch, shown_html, settings
):
    frame = pd.DataFrame(
        {
            "children": [108153.0, 2500.0],
            "rate": [1.3871, 12.04],
            "ratio": [1.2857142857142858, 0.5],
            "pct": [33.3333, 66.6667],
            "score": [1.2857142857142858, 2014],
        },
        index=pd.Index(["S01", "S02"], name="service_id"),
    )
    figures = Table(
        frame,
        family="figures",
        rows="service_id",
        columns={
            "children": Figure("children"),
            "rate": Figure("rate", unit="per 10,000 children", dp=1),
            "ratio": Figure("ratio", unit="points", dp=2),
            "pct": Figure("pct", unit="%", dp=0),
            "score": Text("score"),
        },
        labels={"pct": "%"},
    )
    display.table(figures, caption="Figures", settings=settings)
    cells = {k: v.get_text() for k, v in cells_of(only_table(shown_html["funder"])).items()}
    assert cells[("S01", "Children")] == "108,153"
    assert cells[("S01", "Rate")] == "1.4" and cells[("S02", "Rate")] == "12.0"
    assert cells[("S01", "Ratio")] == "1.29" and cells[("S02", "Ratio")] == "0.50"
    assert cells[("S01", "%")] == "33" and cells[("S02", "%")] == "67"
    assert cells[("S01", "Score")] == "1.29", "a float in a text column is rounded"
    assert cells[("S02", "Score")] == "2014", "a whole number in a text column (a year) is kept"
    assert "1.2857142857142858" not in "".join(shown_html["funder"] + shown_html["analyst"])


def test_format_value_rounds_by_kind():
    assert format_value(1234567, kind="count") == "1,234,567"
    assert format_value(12.345, kind="derived", dp=1) == "12.3"
    assert format_value(1.2857142857142858, kind="text") == "1.29"
    assert format_value(2016.0, kind="text") == "2016"
    assert format_value(np.nan, kind="figure") == "x"
    assert format_value(np.True_, kind="text") == "yes"


# --------------------------------------------------------------------------- symbols
def test_suppressed_missing_and_not_applicable_cells_show_c_x_and_z(
    monkeypatch, shown_html, settings
):
    frame = pd.DataFrame(
        {
            "n": [3, 0, 40, 43],
            "with_data": [10, 0, 50, 60],
        },
        index=pd.Index(["Police", "Health", "Schools", "Total"], name="referral_source"),
    )
    frame["pct"] = 100 * frame["n"] / frame["with_data"].replace(0, np.nan)
    frame["score"] = [1.5, np.nan, 2.0, 1.8]
    frame["change"] = [np.nan, np.nan, 0.5, 0.2]
    frame.attrs["not_applicable"] = [("Police", "change")]  # no previous year for it
    counts = Table(
        frame,
        family="referrals",
        rows="referral_source",
        scope=SCOPE,
        columns={
            "n": Count("young_people"),
            "with_data": Count("with_data"),
            "pct": Derived("pct_referred", ("n", "with_data"), dp=0),
            "score": Figure("score", dp=2),
            "change": Figure("change", dp=2),
        },
    )
    released(monkeypatch, counts)
    shown = display.table(counts, caption="Referrals", settings=settings)
    cells = {k: v.get_text() for k, v in cells_of(only_table(shown_html["funder"])).items()}
    assert cells[("Police", "Young people")] == "c" and cells[("Police", "%")] == "c"
    assert cells[("Health", "%")] == "z", "a rate of a zero denominator does not apply"
    assert cells[("Health", "Score")] == "x", "a missing figure is not available"
    assert cells[("Police", "Change")] == "z", "a cell the table marks as not applicable"
    assert cells[("Health", "Change")] == "x"
    assert shown.display.loc["Health", "pct"] == "z"


def test_the_symbol_key_is_shown_once_a_page_not_under_each_table(
    monkeypatch, shown_html, settings
):
    released(monkeypatch, people({"Female": 30, "Male": 2}))
    display.header("A synthetic report", settings=settings)
    display.table(people({"Female": 30, "Male": 2}), caption="First", settings=settings)
    display.table(people({"Female": 30, "Male": 2}), caption="Second", settings=settings)
    page = BeautifulSoup("".join(shown_html["funder"]), "html.parser")
    keys = page.find_all(class_="hubspoke-symbols")
    assert len(keys) == 1
    text = keys[0].get_text()
    assert "c = suppressed" in text and "x = not available" in text and "z = not applicable" in text
    assert "Female" in page.get_text() and page.get_text().count("= suppressed") == 1
    assert len(page.find_all("table")) == 2


def test_the_analyst_copy_has_full_numbers_and_the_same_labels(monkeypatch, shown_html, settings):
    released(monkeypatch, people({"Female": 30, "Male": 2}))
    display.table(people({"Female": 30, "Male": 2}), caption="Gender", settings=settings)
    funder = cells_of(only_table(shown_html["funder"]))
    analyst_table = only_table(shown_html["analyst"])
    analyst = cells_of(analyst_table)
    assert funder[("Male", "Young people")].get_text() == "c"
    assert analyst[("Male", "Young people")].get_text() == "2"
    assert analyst.keys() == funder.keys()
    assert "evaluation team only" in analyst_table.caption.get_text()


# --------------------------------------------------------------------------- areas
def test_local_authorities_are_shown_by_name_not_code(shown_html, settings):
    status = pd.DataFrame(
        {"E06000007": ["In place", "Embedded"], "E08000008": ["In development", "In place"]},
        index=pd.Index(["CSE strategy", "Data sharing"], name="element"),
    )
    policy = Table(
        status, family="policy", rows="element", columns={c: Text("status") for c in status}
    )
    profile = Table(
        pd.DataFrame({"value": ["E06000007; E08000008"]}, index=pd.Index(["Areas"], name="item")),
        family="profile",
        rows="item",
        columns={"value": Text("profile")},
    )
    scores = Table(
        pd.DataFrame({"mean_score": [1.5]}, index=pd.Index(["E06000007"], name="la_code")),
        family="scores",
        rows="la_code",
        columns={"mean_score": Figure("mean_score", dp=2)},
    )
    for table in (policy, profile, scores):
        display.table(table, caption="Areas", settings=settings)
    text = "".join(shown_html["funder"])
    assert not AREA_CODE.search(text), AREA_CODE.findall(text)
    assert "Synthetic Borough A" in text and "Synthetic City B" in text
    page = BeautifulSoup(text, "html.parser")
    assert page.find("th", string="Local authority") is not None
    assert page.find("td", string="Synthetic Borough A; Synthetic City B") is not None


# --------------------------------------------------------------------------- every funder page
def _number_places(text: str) -> int | None:
    """Decimal places of a printed number, None when the text is not a number."""
    body = text.replace(",", "").rstrip("%").strip()
    if not re.fullmatch(r"[-+]?\d+(?:\.\d+)?", body):
        return None
    return len(body.split(".", 1)[1]) if "." in body else 0


def _allowed_places(heading: str) -> int:
    """The most places a column may print: p-values 3, percentages 1, everything else 2."""
    if "p-value" in heading.lower():
        return 3
    if heading.startswith("%") or heading.endswith("%") or "per cent" in heading.lower():
        return 1
    return 2


def _problems(stem: str, table: Tag) -> Iterator[str]:
    """What is wrong with one funder table (nothing, for a table in the one style)."""
    caption = table.find("caption")
    if caption is None or not caption.get_text(strip=True):
        yield f"{stem}: a table without a caption"
    head_rows = table.find("thead").find_all("tr") if table.find("thead") else []
    if len(head_rows) != 1:
        yield f"{stem}: {len(head_rows)} heading rows (an index row?)"
        return
    heads = [th.get_text(strip=True) for th in head_rows[0].find_all("th")]
    name = caption.get_text(strip=True) if caption else "?"
    for th in table.find_all("th"):
        if not th.get_text(strip=True):
            yield f"{stem}: {name}: an empty heading"
        if th.get("scope") not in ("col", "row"):
            yield f"{stem}: {name}: a heading without scope"
    for text in heads + [th.get_text(strip=True) for th in table.tbody.find_all("th")]:
        if SNAKE.search(text) or text in RAW_NAMES:
            yield f"{stem}: {name}: raw name {text!r}"
    for tr in table.tbody.find_all("tr"):
        first = tr.find(["th", "td"])
        if first is None or first.name != "th" or first.get("scope") != "row":
            yield f"{stem}: {name}: a row without its row heading"
        for heading, td in zip(heads[1:], tr.find_all("td"), strict=False):
            places = _number_places(td.get_text(strip=True))
            if places is not None and places > _allowed_places(heading):
                yield f"{stem}: {name}: {heading} = {td.get_text(strip=True)}"
    if AREA_CODE.search(table.get_text(" ")):
        yield f"{stem}: {name}: area code {AREA_CODE.search(table.get_text(' ')).group(0)}"


@pytest.mark.slow
def test_no_funder_table_shows_a_raw_name_an_index_a_long_float_or_an_area_code(built_reports):
    pages = sorted((built_reports.out / "funder").glob("*.html"))
    assert len(pages) > 3
    problems: list[str] = []
    tables = 0
    for page in pages:
        for table in BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser").find_all(
            "table"
        ):
            tables += 1
            problems += list(_problems(page.stem, table))
    assert tables > 20
    assert not problems, "\n".join(problems[:40])


def test_a_cell_ending_in_a_table_echoes_nothing_more(monkeypatch, shown_html, settings):
    """A notebook cell ending in ``display.table(...)`` showed the returned object's repr:
    a second copy of the table, true values included, in every analyst page."""
    from IPython.core.interactiveshell import InteractiveShell

    released(monkeypatch, people({"Female": 30, "Male": 2}))
    shown = display.table(people({"Female": 30, "Male": 2}), caption="Gender", settings=settings)
    data, _ = InteractiveShell.instance().display_formatter.format(shown)
    assert data == {}
    assert "30" not in repr(shown) and "Female" not in repr(shown)
    hidden = int(shown.hidden.to_numpy().sum())
    assert hidden > 0 and repr(shown) == f"<Shown people table: 3 x 2, {hidden} hidden>"
