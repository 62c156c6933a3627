"""Local context: reading EES files, the context table, area rates and the synthetic files."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from hubspoke.analysis.context import ENGLAND_CODE, area_rates
from hubspoke.clean.context import CONTEXT_COLUMNS, context_table, load_context
from hubspoke.errors import ConfigError, ParameterError, RawFileError
from hubspoke.io.ees import read_ees_csv
from hubspoke.spec.raw import LAYOUT, SYNTHETIC_MARKER
from hubspoke.synth.context_file import CIN_COLUMNS, POPULATION_COLUMNS, write_context_files

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
REAL_CIN = SHARED / "dfe_cin_factors_at_assessment_2018_2025.csv"
REAL_POP = SHARED / "ons_population_0_17_2012_2024.csv"
needs_real = pytest.mark.skipif(
    not (REAL_CIN.is_file() and REAL_POP.is_file()),
    reason="real public statistics not found in ../shared/data (they are never copied into the repo)",
)

HEADER = "time_period,time_identifier,geographic_level,country_code,country_name,region_code,region_name,old_la_code,new_la_code,la_name,category,Child_sexual_exploitation,Neglect"
POP_HEADER = "time_period,time_identifier,geographic_level,country_code,country_name,region_code,region_name,old_la_code,new_la_code,la_name,age_group,population_estimate"
GEO_ENG = "Reporting year,National,E92000001,England,,,,,,"
GEO_LA = "Reporting year,Local authority,E92000001,England,E12000001,North East,841,E06000005,Darlington,"
GEO_LA2 = "Reporting year,Local authority,E92000001,England,E12000001,North East,806,E06000002,Middlesbrough,"


def _write(path: Path, lines: list[str], *, bom: bool = False) -> Path:
    text = "\n".join(lines) + "\n"
    path.write_bytes(("\ufeff" if bom else "").encode() + text.encode("utf-8"))
    return path


def _cin_lines() -> list[str]:
    return [
        HEADER,
        f'2025,{GEO_ENG}All,12400,"1,234"',
        f"2025,{GEO_LA}All,c,40",
        f"2025,{GEO_LA2}All,35,[x]",
        f"201718,{GEO_LA}All,12,z",
    ]


def _pop_lines() -> list[str]:
    return [
        POP_HEADER,
        f"2024,{GEO_ENG}Children aged 0 to 17 years,12183016",
        f'2024,{GEO_LA}Children aged 0 to 17 years,"22,500"',
        f"2024,{GEO_LA2}Children aged 0 to 17 years,35000",
        f"2017,{GEO_LA}Children aged 0 to 17 years,x",
    ]


def _services() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "service_id": ["S01", "S02"],
            "la_codes": ["E06000002;E06000005", "E09000012;E99999999"],
            "region": ["North East", "London"],
        }
    )


# --------------------------------------------------------------------- read_ees_csv


@needs_real
def test_real_cin_file_reads_with_symbols_and_numbers() -> None:
    cin = read_ees_csv(REAL_CIN)
    assert pd.api.types.is_integer_dtype(cin["Child_sexual_exploitation"])
    assert {"c", "x"} <= set(cin["Child_sexual_exploitation__symbol"].dropna())
    assert cin["category"].dtype == "str"  # a text filter column stays a dimension
    assert "category__symbol" not in cin.columns
    assert set(cin["year"]) == set(range(2018, 2026))
    with REAL_CIN.open(encoding="utf-8-sig", newline="") as fh:
        expected = next(
            int(r["Child_sexual_exploitation"])
            for r in csv.DictReader(fh)
            if r["time_period"] == "2025" and r["geographic_level"] == "National"
        )
    england = cin[(cin["geographic_level"] == "National") & (cin["year"] == 2025)]
    assert england["Child_sexual_exploitation"].tolist() == [expected]
    symbol_rows = cin["Child_sexual_exploitation__symbol"].notna()
    assert cin.loc[symbol_rows, "Child_sexual_exploitation"].isna().all()
    assert cin.loc[~symbol_rows, "Child_sexual_exploitation"].notna().all()


@needs_real
def test_real_population_file_reads() -> None:
    pop = read_ees_csv(REAL_POP)
    assert pd.api.types.is_integer_dtype(pop["population_estimate"])
    assert set(pop["population_estimate__symbol"].dropna()) == {"x"}
    assert pop.attrs["synthetic"] is False


def test_plain_bom_and_comment_variants_read_the_same(tmp_path: Path) -> None:
    plain = read_ees_csv(_write(tmp_path / "a.csv", _cin_lines()))
    bom = read_ees_csv(_write(tmp_path / "b.csv", _cin_lines(), bom=True))
    commented = read_ees_csv(
        _write(tmp_path / "c.csv", [SYNTHETIC_MARKER, *_cin_lines()], bom=True)
    )
    pd.testing.assert_frame_equal(plain, bom)
    pd.testing.assert_frame_equal(plain, commented)
    assert commented.attrs["synthetic"] and not plain.attrs["synthetic"]
    assert plain["Neglect"].tolist()[:2] == [1234, 40]  # thousands separator
    assert plain["Neglect__symbol"].tolist()[2:] == ["x", "z"]  # [x] GSS brackets dropped
    assert plain["Child_sexual_exploitation__symbol"].tolist()[1] == "c"
    assert plain["year"].tolist() == [2025, 2025, 2025, 2018]  # 201718 -> ending year


def test_blank_measure_cell_is_missing_with_symbol_blank(tmp_path: Path) -> None:
    lines = _cin_lines()
    lines[2] = f"2025,{GEO_LA}All,,40"
    frame = read_ees_csv(_write(tmp_path / "a.csv", lines))
    assert pd.isna(frame["Child_sexual_exploitation"].iloc[1])
    assert frame["Child_sexual_exploitation__symbol"].iloc[1] == "blank"


def test_missing_file_is_a_raw_file_error(tmp_path: Path) -> None:
    with pytest.raises(RawFileError, match="nope.csv"):
        read_ees_csv(tmp_path / "nope.csv")


@pytest.mark.parametrize("content", ["", "\ufeff", SYNTHETIC_MARKER + "\n", HEADER + "\n"])
def test_empty_file_is_a_raw_file_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "empty.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(RawFileError, match=r"empty\.csv.*empty file"):
        read_ees_csv(path)


def test_file_without_ees_columns_is_a_raw_file_error(tmp_path: Path) -> None:
    path = _write(tmp_path / "other.csv", ["year,area,count", "2025,Darlington,5"])
    with pytest.raises(RawFileError, match=r"other\.csv.*time_period.*geographic_level") as info:
        read_ees_csv(path)
    assert "found 'year, area, count'" in str(info.value)


def test_bad_measure_cell_names_file_row_column_symbols_and_value(tmp_path: Path) -> None:
    lines = [SYNTHETIC_MARKER, *_cin_lines()]
    lines[3] = f"2025,{GEO_LA}All,12a,40"
    with pytest.raises(RawFileError) as info:
        read_ees_csv(_write(tmp_path / "bad.csv", lines))
    message = str(info.value)
    assert "bad.csv" in message
    assert "row 4" in message  # line 4: comment, header, England, then this row
    assert "'Child_sexual_exploitation'" in message
    assert "c, x, z, u" in message
    assert "found '12a'" in message


def test_bad_time_period_is_a_raw_file_error(tmp_path: Path) -> None:
    lines = _cin_lines()
    lines[1] = lines[1].replace("2025,", "2025Q1,", 1)
    with pytest.raises(RawFileError, match=r"row 2, column 'time_period'.*found '2025Q1'"):
        read_ees_csv(_write(tmp_path / "a.csv", lines))


# --------------------------------------------------------------------- context table


def _context(tmp_path: Path) -> pd.DataFrame:
    cin = read_ees_csv(_write(tmp_path / "cin.csv", _cin_lines()))
    pop = read_ees_csv(_write(tmp_path / "pop.csv", _pop_lines()))
    return context_table(cin, pop)


def test_context_table_rate_by_hand_and_suppressed_la(tmp_path: Path) -> None:
    table = _context(tmp_path)
    assert list(table.columns) == list(CONTEXT_COLUMNS)
    england = table[(table["la_code"] == ENGLAND_CODE) & (table["year"] == 2025)].iloc[0]
    assert england["geographic_level"] == "National"
    assert england["population"] == 12183016  # mid-2024 for the year ending March 2025
    assert england["rate_per_10k"] == pytest.approx(12400 / 12183016 * 10_000)
    darlington = table[(table["la_code"] == "E06000005") & (table["year"] == 2025)].iloc[0]
    assert pd.isna(darlington["cse_assessments"]) and pd.isna(darlington["rate_per_10k"])
    assert darlington["cse_symbol"] == "c"
    assert darlington["population"] == 22500


def test_context_table_keeps_unmatched_areas_with_a_note(tmp_path: Path) -> None:
    geo_hartlepool = GEO_LA.replace("841,E06000005,Darlington", "805,E06000001,Hartlepool")
    cin_lines = [*_cin_lines(), f"201718,{GEO_LA2}All,9,1"]
    pop_lines = [*_pop_lines(), f"2024,{geo_hartlepool}Children aged 0 to 17 years,20000"]
    cin = read_ees_csv(_write(tmp_path / "cin.csv", cin_lines))
    pop = read_ees_csv(_write(tmp_path / "pop.csv", pop_lines))
    table = context_table(cin, pop).set_index(["la_code", "year"])
    darlington = table.loc[("E06000005", 2018)]
    assert darlington["cse_assessments"] == 12 and pd.isna(darlington["rate_per_10k"])
    assert darlington["note"] == "population not available (x) for mid-2017"
    middlesbrough = table.loc[("E06000002", 2018)]
    assert middlesbrough["note"] == "no population estimate for this area for mid-2017"
    hartlepool = table.loc[("E06000001", 2025)]
    assert hartlepool["la_name"] == "Hartlepool" and hartlepool["population"] == 20000
    assert pd.isna(hartlepool["cse_assessments"]) and pd.isna(hartlepool["rate_per_10k"])
    assert hartlepool["note"] == "area not in the children-in-need file for this year"
    assert pd.isna(table.loc[("E06000005", 2025), "note"])


@needs_real
def test_real_context_table_england_2025_by_hand() -> None:
    table = context_table(read_ees_csv(REAL_CIN), read_ees_csv(REAL_POP))
    with REAL_POP.open(encoding="utf-8-sig", newline="") as fh:
        pop = next(
            int(r["population_estimate"])
            for r in csv.DictReader(fh)
            if r["time_period"] == "2024" and r["geographic_level"] == "National"
        )
    england = table[(table["la_code"] == ENGLAND_CODE) & (table["year"] == 2025)].iloc[0]
    assert england["rate_per_10k"] == pytest.approx(england["cse_assessments"] / pop * 10_000)
    suppressed = table[table["cse_symbol"] == "c"]
    assert len(suppressed) and suppressed["rate_per_10k"].isna().all()


# --------------------------------------------------------------------- area rates


def _hand_context() -> pd.DataFrame:
    rows = [
        (ENGLAND_CODE, "England", "National", 2024, 1000, None, 1_000_000),
        (ENGLAND_CODE, "England", "National", 2025, 900, None, 1_000_000),
        ("E1", "A", "Local authority", 2024, 30, None, 20_000),
        ("E1", "A", "Local authority", 2025, None, "c", 20_000),
        ("E2", "B", "Local authority", 2024, 10, None, 30_000),
        ("E2", "B", "Local authority", 2025, 20, None, 30_000),
    ]
    frame = pd.DataFrame(
        rows,
        columns=[
            "la_code",
            "la_name",
            "geographic_level",
            "year",
            "cse_assessments",
            "cse_symbol",
            "population",
        ],
    ).astype({"cse_assessments": "Int64", "population": "Int64"})
    return frame.assign(rate_per_10k=frame["cse_assessments"] * 10_000 / frame["population"])


def test_area_rates_combines_areas_and_suppresses_when_any_area_is_suppressed() -> None:
    rates = area_rates(_hand_context(), ["E1", "E2"]).set_index("year")
    assert rates.loc[2024, "cse_assessments"] == 40
    assert rates.loc[2024, "population"] == 50_000
    assert rates.loc[2024, "rate_per_10k"] == pytest.approx(40 / 50_000 * 10_000)
    assert rates.loc[2024, "england_rate_per_10k"] == pytest.approx(10.0)
    assert pd.isna(rates.loc[2025, "rate_per_10k"]) and pd.isna(rates.loc[2025, "cse_assessments"])
    assert rates.loc[2025, "cse_symbol"] == "c"
    assert rates.loc[2025, "missing_areas"] == "E1"
    assert rates.loc[2025, "england_rate_per_10k"] == pytest.approx(9.0)


def test_area_rates_rejects_unknown_codes() -> None:
    with pytest.raises(ParameterError, match="E9"):
        area_rates(_hand_context(), ["E1", "E9"])


# --------------------------------------------------------------------- synthetic files


def test_synthetic_files_have_the_real_layout_and_round_trip(tmp_path: Path) -> None:
    write_context_files(tmp_path, _services(), seed=7)
    cin_path, pop_path = tmp_path / LAYOUT["context_cin"], tmp_path / LAYOUT["context_population"]
    for path, columns in ((cin_path, CIN_COLUMNS), (pop_path, POPULATION_COLUMNS)):
        first, header = path.read_text(encoding="utf-8").splitlines()[:2]
        assert first == SYNTHETIC_MARKER
        assert header.split(",") == list(columns)
    cin = read_ees_csv(cin_path)
    assert set(cin["year"]) == set(range(2018, 2026))
    assert set(read_ees_csv(pop_path)["year"]) == set(range(2012, 2025))
    table = load_context(tmp_path / "context")
    assert table.attrs["synthetic"] is True
    las = {"E06000002", "E06000005", "E09000012", "E99999999"}
    assert las <= set(table["la_code"])
    assert {"E12000001", "E12000007", ENGLAND_CODE} <= set(table["la_code"])
    assert table.loc[table["la_code"] == "E06000005", "la_name"].iloc[0] == "Darlington"
    assert table.loc[table["la_code"] == "E99999999", "la_name"].iloc[0] == "E99999999"
    assert {"c", "x"} <= set(table["cse_symbol"].dropna())
    assert table["note"].isna().all()
    england = table[table["la_code"] == ENGLAND_CODE]["rate_per_10k"]
    assert england.between(8, 25).all()
    la_rates = table[table["geographic_level"] == "Local authority"]["rate_per_10k"].dropna()
    assert la_rates.between(1, 60).all()


def test_synthetic_files_are_deterministic(tmp_path: Path) -> None:
    def files(folder: Path, seed: int) -> list[bytes]:
        write_context_files(folder, _services(), seed=seed)
        return [(folder / LAYOUT[k]).read_bytes() for k in ("context_cin", "context_population")]

    assert files(tmp_path / "a", 3) == files(tmp_path / "b", 3)
    assert files(tmp_path / "a", 3) != files(tmp_path / "c", 4)


@needs_real
def test_load_context_finds_real_files_by_their_columns() -> None:
    table = load_context(SHARED)
    assert table.attrs["synthetic"] is False
    assert set(table["year"]) == set(range(2018, 2026))


def test_load_context_errors_on_missing_or_ambiguous_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_context(tmp_path / "absent")
    _write(tmp_path / "one.csv", _cin_lines())
    with pytest.raises(ConfigError, match="no population file"):
        load_context(tmp_path)
    _write(tmp_path / "pop.csv", _pop_lines())
    _write(tmp_path / "two.csv", _cin_lines())
    with pytest.raises(ConfigError, match=r"more than one cin file.*one\.csv.*two\.csv"):
        load_context(tmp_path)
