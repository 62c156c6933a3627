"""Every service report's quotes worked out at once are the quotes of one report at a time.

The release picks the quotes of all service-years in one pass
(:func:`service_quotes_by_service_year`); a notebook asks for one
(:func:`service_quotes`). Both must give the same Markdown: the same excerpts, re-checked
the same way, attributed by the same role rule, each service-year ranked on its own.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from hubspoke import load
from hubspoke.analysis.realist.quotes import (
    SINGLE_HOLDER_ROLES,
    UNQUOTED_ROLES,
    people_per_role,
    safe_quote,
    service_quotes,
    service_quotes_by_service_year,
)
from hubspoke.spec.vocab import RESPONDENT_ROLES

NO_QUOTES = "_No coded interview excerpts for this service and year._"


@pytest.fixture(scope="module")
def tables(synthetic_processed: Path) -> dict[str, pd.DataFrame]:
    return load.load_tables(Path(synthetic_processed))


def _each_alone(tables: dict[str, pd.DataFrame]) -> dict[tuple[str, int], str]:
    return {
        (s, y): service_quotes(tables, service_id=s, year=y)
        for s, years in load.available_service_years(tables).items()
        for y in years
    }


def test_at_once_equals_each_service_year_alone(tables: dict[str, pd.DataFrame]) -> None:
    at_once = service_quotes_by_service_year(tables)
    alone = _each_alone(tables)
    assert list(at_once) == list(alone)
    assert at_once == alone
    assert sum(text != NO_QUOTES for text in at_once.values()) >= len(at_once) // 2


def test_each_quote_is_a_checked_excerpt_of_its_own_service_year(
    tables: dict[str, pd.DataFrame],
) -> None:
    codings = tables["codings"]
    for (service_id, year), text in service_quotes_by_service_year(tables).items():
        rows = codings[codings["service_id"].astype(str).eq(service_id) & codings["year"].eq(year)]
        allowed = rows[~rows["respondent_role"].astype(str).isin(UNQUOTED_ROLES)]
        checked = {safe_quote(e) for e in allowed["excerpt"]}
        shown = [line for line in text.splitlines() if line.startswith('> "')]
        for line in shown:
            quote = re.sub(r"\\(.)", r"\1", line[3:].rsplit('"', 1)[0])
            assert quote in checked, (service_id, year, quote)
        for block in text.split("\n\n**")[1:] if shown else ():
            assert block.count('> "') <= 2
        for role in UNQUOTED_ROLES:
            assert f"— {role}, " not in text


def test_the_same_words_in_two_service_years_are_quoted_in_both(
    tables: dict[str, pd.DataFrame],
) -> None:
    codings = tables["codings"]
    alone = _each_alone(tables)
    quoted = [key for key, text in alone.items() if text != NO_QUOTES]
    (s1, y1), (s2, y2) = quoted[0], quoted[-1]
    first = codings[codings["service_id"].astype(str).eq(s1) & codings["year"].eq(y1)]
    second = codings[codings["service_id"].astype(str).eq(s2) & codings["year"].eq(y2)]
    shown = next(line for line in alone[(s1, y1)].splitlines() if line.startswith('> "'))
    quote = re.sub(r"\\(.)", r"\1", shown[3:].rsplit('"', 1)[0])
    source = first[[safe_quote(e) == quote for e in first["excerpt"]]].iloc[0]
    # every excerpt of the second service-year says what the first quoted, on its theory
    echoed = codings.copy()
    echoed.loc[second.index, "excerpt"] = source["excerpt"]
    echoed.loc[second.index, "theory_id"] = source["theory_id"]
    changed = {**tables, "codings": echoed}
    at_once = service_quotes_by_service_year(changed)
    assert at_once == _each_alone(changed)
    assert quote in at_once[(s1, y1)].replace("\\", "")
    assert quote in at_once[(s2, y2)].replace("\\", "")


def test_a_service_year_without_interviews_has_no_quotes(tables: dict[str, pd.DataFrame]) -> None:
    service_id, years = next(iter(load.available_service_years(tables).items()))
    without = {
        **tables,
        **{
            name: tables[name][
                ~(tables[name]["service_id"].astype(str).eq(service_id))
                | ~tables[name]["year"].eq(years[0])
            ]
            for name in ("codings", "judgements")
        },
    }
    at_once = service_quotes_by_service_year(without)
    assert at_once[(service_id, years[0])] == NO_QUOTES
    assert at_once == _each_alone(without)


def test_people_per_role_are_the_interviewees_of_each_service_year(
    tables: dict[str, pd.DataFrame],
) -> None:
    codings, judgements = tables["codings"], tables["judgements"]
    for service_id, years in load.available_service_years(tables).items():
        for year in years:
            interviews = pd.concat(
                [
                    frame.loc[
                        frame["service_id"].astype(str).eq(service_id).to_numpy(dtype=bool)
                        & frame["year"].eq(year).to_numpy(dtype=bool),
                        ["respondent_role", "transcript_id"],
                    ].astype(str)
                    for frame in (codings, judgements)
                ]
            ).drop_duplicates()
            plain = interviews.groupby("respondent_role").size()
            people = people_per_role(
                codings,
                judgements,
                service_id=service_id,
                year=year,
                services=tables["services"],
                spokes=tables["spokes"],
            )
            assert people["Hub manager"] == 1
            for role in RESPONDENT_ROLES:
                if role in SINGLE_HOLDER_ROLES or role == "Spoke worker":
                    continue
                assert people[role] == int(plain.get(role, 0)), (service_id, year, role)
