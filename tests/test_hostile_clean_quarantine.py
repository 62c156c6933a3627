"""Identifiers typed into coded columns never reach quarantine.parquet (issue 14, item 5)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from broken_files import CASES_HEADER, make_raw, write_csv
from hubspoke.clean import clean_all
from hubspoke.clean.quarantine import mask, shown_value
from hubspoke.config import get_settings

#: (column, typed value, what it is): each row of the hostile cases file has one of these.
IDENTIFIERS = [
    ("gender", "Jane Smith", "a full name"),
    ("gender", "Amber", "a first name"),
    ("referral_source", "jane.smith@example.org", "an e-mail address"),
    ("age", "07700 900123", "a phone number"),
    ("contacts", "07700900123", "a phone number without spaces"),
    ("gender", "SW1A 1AA", "a postcode"),
    ("age", "14/05/2002", "a date of birth"),
    ("closure_date", "14/05/2002", "a date of birth in a date column"),
    ("risk_at_referral", "Jo Bloggs", "a name on the risk scale"),
    ("contacts", "12 Acacia Avenue", "an address"),
]
#: Values that cannot identify anyone and stay readable.
SAFE = [
    ("gender", "Femal", "a mistyped category"),
    ("age", "34", "a number out of range"),
    ("risk_at_referral", "42", "a score out of range"),
    ("gender", "TBC", "a placeholder"),
]
GOOD = {
    "case_ref": "C{n:03d}",
    "age": "14",
    "gender": "F",
    "referral_date": "2014-03-01",
    "risk_at_referral": "12",
    "risk_latest": "4",
    "contacts": "10",
    "closure_date": "2014-09-01",
    "closure_reason": "planned",
    "referral_source": "Police",
}
HEADER = [*CASES_HEADER, "referral_source"]


def hostile_cases(raw: Path) -> dict[int, tuple[str, str]]:
    """A cases file for S01 2016, one bad value per row; its spreadsheet row -> (column, value)."""
    rows, where = [], {}
    for n, (column, value, _) in enumerate([*IDENTIFIERS, *SAFE], start=1):
        row = {k: v.format(n=n) for k, v in GOOD.items()} | {column: value}
        rows.append([row[c] for c in HEADER])
        where[n + 2] = (column, value)  # marker line, header, then the rows
    write_csv(raw / "submissions" / "2016" / "S01_2016" / "cases.csv", HEADER, rows)
    return where


@pytest.fixture(scope="module")
def cleaned(tmp_path_factory: pytest.TempPathFactory):
    base = tmp_path_factory.mktemp("hostile_quarantine")
    raw = make_raw(base / "raw")
    where = hostile_cases(raw)
    settings = get_settings().with_paths(key_file=base / "keys" / "pseudonym.key")
    summary = clean_all(raw, base / "out", settings=settings)
    tables = {p.stem: pd.read_parquet(p) for p in (base / "out").glob("*.parquet")}
    q = tables["quarantine"]
    entries = q[q["file"] == "submissions/2016/S01_2016/cases.csv"].set_index("row")
    return summary, tables, entries, where


@pytest.mark.parametrize(("column", "value", "kind"), IDENTIFIERS, ids=[k for *_, k in IDENTIFIERS])
def test_identifier_typed_into_a_coded_column_is_masked(cleaned, column, value, kind):
    _, _, entries, where = cleaned
    row = next(r for r, cv in where.items() if cv == (column, value))
    entry = entries.loc[[row]]
    assert entry["column"].tolist() == [column], kind
    assert entry["value"].tolist() == [mask(value)], kind
    reason = entry["reason"].iloc[0]
    assert value not in reason and mask(value) in reason, reason
    if column == "closure_date":
        assert "2002-05-14" not in reason  # the date as the reason spells it, too


@pytest.mark.parametrize(("column", "value", "kind"), SAFE, ids=[k for *_, k in SAFE])
def test_value_that_cannot_identify_anyone_is_kept(cleaned, column, value, kind):
    _, _, entries, where = cleaned
    row = next(r for r, cv in where.items() if cv == (column, value))
    assert entries.loc[[row], "value"].tolist() == [value], kind
    assert value in entries.loc[row, "reason"]


def test_no_identifier_anywhere_in_the_processed_tables(cleaned):
    summary, tables, entries, where = cleaned
    assert len(entries) == len(where)  # every hostile row quarantined, once
    text = "\n".join(
        frame[c].astype("string").fillna("").str.cat(sep="\n")
        for frame in tables.values()
        for c in frame.columns
    )
    for _, value, kind in IDENTIFIERS:
        assert value not in text, kind
    assert "2002-05-14" not in text


@pytest.mark.parametrize(
    ("text", "vocabulary", "shown"),
    [
        ("Femal", ("Female", "Male"), True),
        ("Very hgh", ("Very high", "High"), True),
        ("partly supports", ("supports", "refutes", "refines"), True),
        ("see notes", (), True),
        ("daily", ("Weekly", "Monthly"), True),
        ("34", (), True),
        ("-4", (), True),
        ("15 yrs", (), True),
        ("2.5", (), True),
        ("31/02/2015", (), True),
        ("16.03.16", (), True),
        ("PT2-M9", (), True),
        ("", (), True),
        ("Jane", ("Female", "Male"), False),
        ("jane smith", ("Female", "Male"), False),
        ("Smith, J", ("Female", "Male"), False),
        ("a@b.co", (), False),
        ("+44 7700 900123", (), False),
        ("0770-090-0123", (), False),
        ("943 476 5919", (), False),
        ("M1 1AE", (), False),
        ("sw1a1aa", (), False),
        ("2002-05-14", (), False),
        ("14 May 2002", (), False),
        ("14/05/98", (), False),
        ("x" * 31, (), False),
        ("Youth club", ("Police", "Health"), False),
    ],
)
def test_shown_value_rule(text, vocabulary, shown):
    assert shown_value(text, vocabulary) is shown


def test_mask_names_only_the_length():
    assert mask("Jane Smith") == "[masked: 10 characters]"
    assert mask(" J ") == "[masked: 1 character]"
