"""Attack the funder release with an independent auditor (``release_auditor``).

The unit tests give the auditor tiny hand-made releases where a hidden count can be
worked out (it must find it) and where it cannot (it must not), so it cannot pass
vacuously. The slow tests attack the whole default release: the open-data files a
funder downloads, plus every relation the evaluation team knows to be true, and
each attack an auditor found in the old per-table suppression.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from release_auditor import (
    HIDDEN,
    AuditResult,
    Quantity,
    Relation,
    audit,
    html_table_numbers,
    number_matches,
    ordered_sources,
    read_files,
    relations_from_release,
    sources_from_release,
    truth_from_release,
    write_ees,
)

PEOPLE = ("young people", 0)
PCT = ("%", 0)


# --------------------------------------------------------------------------- tiny releases
def _gender_file(
    folder: Path, female: object, male: object, unknown: object, total: object
) -> None:
    """One service-year's young people by gender."""
    rows = [
        {"time_period": "2015", "service_id": "S01", "gender": g, "young_people": v}
        for g, v in [
            ("Female", female),
            ("Male", male),
            ("Not recorded", unknown),
            ("Total", total),
        ]
    ]
    write_ees(
        folder,
        "gender",
        rows,
        filters=["service_id", "gender"],
        indicators={"young_people": PEOPLE},
    )


def test_single_hidden_cell_in_a_margin_is_recovered(tmp_path: Path) -> None:
    """Total 30, Female 25, Not recorded 0: the hidden Male count must be 5."""
    _gender_file(tmp_path, 25, "c", 0, 30)
    result = audit(tmp_path)
    male = Quantity.of("young_people", time_period="2015", service_id="S01", gender="Male")
    assert result.recoverable == [male]
    assert result.ranges[male] == pytest.approx((5.0, 5.0))


def test_two_hidden_cells_in_a_margin_are_not_recovered(tmp_path: Path) -> None:
    """Total 30, Female 20, Male and Not recorded hidden: each lies in 1..9."""
    _gender_file(tmp_path, 20, "c", "c", 30)
    result = audit(tmp_path)
    assert result.recoverable == []
    assert len(result.ranges) == 2
    for low, high in result.ranges.values():
        assert (low, high) == pytest.approx((1.0, 9.0))


def test_same_quantity_in_two_files_is_one_cell(tmp_path: Path) -> None:
    """File A hides Female and Male; file B prints Female (same identity): Male follows."""
    _gender_file(tmp_path, "c", "c", 0, 30)
    write_ees(
        tmp_path,
        "cross_site",
        [
            {
                "time_period": "2015",
                "service_id": "S01",
                "model_variant": "Multi-host",
                "gender": "Female",
                "young_people": 22,
            }
        ],
        filters=["service_id", "model_variant", "gender"],
        indicators={"young_people": PEOPLE},
    )
    result = audit(tmp_path)
    male = Quantity.of("young_people", time_period="2015", service_id="S01", gender="Male")
    assert male in result.recoverable
    assert result.ranges[male] == pytest.approx((8.0, 8.0))


def test_percentage_of_a_hidden_denominator_reveals_it(tmp_path: Path) -> None:
    """S01 2015 "% of assessed": 2 reduced shown as 33% of a hidden number assessed -> 6."""
    write_ees(
        tmp_path,
        "risk",
        [
            {
                "time_period": "2015",
                "service_id": "S01",
                "risk_reduced": 2,
                "risk_assessed": "c",
                "pct_risk_reduced": 33,
            }
        ],
        filters=["service_id"],
        indicators={"risk_reduced": PEOPLE, "risk_assessed": PEOPLE, "pct_risk_reduced": PCT},
    )
    s = {"service_id": "S01", "time_period": "2015"}
    pct = Quantity.of("pct_risk_reduced", **s)
    sources = {pct: (Quantity.of("risk_reduced", **s), Quantity.of("risk_assessed", **s))}
    assessed = Quantity.of("risk_assessed", **s)
    blind = audit(tmp_path)
    assert blind.recoverable == []  # without knowing what the percentage is of
    result = audit(tmp_path, sources=sources)
    assert result.recoverable == [assessed]
    assert result.integer_values(assessed) == [6]


def test_percentage_by_name_reveals_a_hidden_numerator(tmp_path: Path) -> None:
    """``pct_young_people`` of Male shown as 17% of 30: Male is 5 (hidden count, shown share)."""
    rows = [
        {"time_period": "2015", "gender": g, "young_people": n, "pct_young_people": p}
        for g, n, p in [("Female", "c", "x"), ("Male", "c", 17), ("Total", 30, 100)]
    ]
    write_ees(
        tmp_path,
        "gender",
        rows,
        filters=["gender"],
        indicators={"young_people": PEOPLE, "pct_young_people": PCT},
    )
    result = audit(tmp_path)
    male = Quantity.of("young_people", time_period="2015", gender="Male")
    assert male in result.recoverable
    assert result.integer_values(male) == [5]


def _services_file(folder: Path, s01: object, s02: object, group: object) -> None:
    """Two services of one model variant and the variant's row."""
    rows = [
        {"service_id": "S01", "model_variant": "Multi-host", "young_people": s01},
        {"service_id": "S02", "model_variant": "Multi-host", "young_people": s02},
        {"service_id": "Total", "model_variant": "Multi-host", "young_people": group},
    ]
    write_ees(
        folder,
        "groups",
        [{"time_period": "2015", **r} for r in rows],
        filters=["service_id", "model_variant"],
        indicators={"young_people": PEOPLE},
    )


def test_services_add_up_to_their_group(tmp_path: Path) -> None:
    """S01 hidden, S02 = 10, Multi-host = 14: S01 is 4."""
    _services_file(tmp_path, "c", 10, 14)
    result = audit(tmp_path)
    s01 = Quantity.of("young_people", time_period="2015", service_id="S01")
    assert result.recoverable == [s01]
    assert result.ranges[s01] == pytest.approx((4.0, 4.0))


def test_group_with_two_hidden_services_is_safe(tmp_path: Path) -> None:
    """Both services hidden, group shown: neither is recoverable."""
    _services_file(tmp_path, "c", "c", 14)
    assert audit(tmp_path).recoverable == []


def test_certifying_large_groups_agrees_with_exact_ranges(tmp_path: Path) -> None:
    """The national-scale mode (witnesses in neighbourhoods, exact_limit) finds the same
    recoverable cells as exact ranges: a lone hidden cell pinned, two hidden cells safe."""
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    _gender_file(one, 25, "c", 0, 30)
    _gender_file(two, 20, "c", "c", 30)
    quantity = Quantity.of("young_people", time_period="2015", service_id="S01", gender="Male")
    other = quantity.with_dims(gender="Not recorded")
    truth = {quantity: 5.0, other: 5.0}
    pinned = audit(one, truth={quantity: 5.0}, exact_limit=0)
    assert pinned.recoverable == [quantity]
    safe = audit(two, truth=truth, exact_limit=0)
    assert safe.recoverable == []
    assert all(high - low >= 0.5 for low, high in safe.ranges.values())
    assert set(safe.ranges) == {quantity, other}


def _years_file(folder: Path, y2014: object, y2015: object, pooled: object) -> None:
    """One count in two years and pooled."""
    write_ees(
        folder,
        "years",
        [
            {"time_period": "2014", "interviews": y2014},
            {"time_period": "2015", "interviews": y2015},
            {"time_period": "2014-2015", "interviews": pooled},
        ],
        filters=[],
        indicators={"interviews": ("interviews", 0)},
    )


def test_all_years_minus_years(tmp_path: Path) -> None:
    """2014 hidden, 2015 = 7, 2014-2015 = 10: 2014 is 3 when years add up."""
    _years_file(tmp_path, "c", 7, 10)
    result = audit(tmp_path)
    y2014 = Quantity.of("interviews", time_period="2014")
    assert result.recoverable == [y2014]
    assert result.integer_values(y2014) == [3]


def test_pooled_years_with_an_unpublished_year_bound_nothing_above(tmp_path: Path) -> None:
    """2014-2016 pooled but 2016 not published: no "pooled = sum of years" is assumed."""
    write_ees(
        tmp_path,
        "years",
        [
            {"time_period": "2014", "interviews": "c"},
            {"time_period": "2015", "interviews": 7},
            {"time_period": "2014-2016", "interviews": 18},
        ],
        filters=[],
        indicators={"interviews": ("interviews", 0)},
    )
    result = audit(tmp_path)
    y2014 = Quantity.of("interviews", time_period="2014")
    assert result.recoverable == []
    assert result.ranges[y2014] == pytest.approx((1.0, 18.0))


def test_assumed_relations_that_are_false_are_dropped(tmp_path: Path) -> None:
    """Distinct people: pooled 9 < 3 + 7; with the truth the sum is dropped, bounds stay."""
    _years_file(tmp_path, "c", 7, 9)
    y2014, y2015, pooled = (
        Quantity.of("interviews", time_period=t) for t in ("2014", "2015", "2014-2015")
    )
    truth = {y2014: 3.0, y2015: 7.0, pooled: 9.0}
    result = audit(tmp_path, truth=truth)
    assert result.recoverable == []
    assert result.ranges[y2014] == pytest.approx((2.0, 9.0))
    assert any(r.source == "years add up to all years" for r in result.dropped)


def test_attacker_who_knows_primaries(tmp_path: Path) -> None:
    """Total 7 of two hidden cells; knowing A is small (1..5) and B is not (>= 6) pins both."""
    _gender_file(tmp_path, "c", "c", 0, 7)
    s = {"time_period": "2015", "service_id": "S01"}
    female = Quantity.of("young_people", gender="Female", **s)
    male = Quantity.of("young_people", gender="Male", **s)
    assert audit(tmp_path).recoverable == []
    assert audit(tmp_path, primary={female}).recoverable == []
    strong = audit(tmp_path, primary={female}, others_above_threshold=True)
    assert strong.recoverable == [female, male]


def test_extra_relations_and_constants(tmp_path: Path) -> None:
    """A reader's extra knowledge (e.g. a quote shows at least one) narrows a range."""
    _gender_file(tmp_path, 20, "c", "c", 30)
    s = {"time_period": "2015", "service_id": "S01"}
    male = Quantity.of("young_people", gender="Male", **s)
    unknown = Quantity.of("young_people", gender="Not recorded", **s)
    knows = Relation({unknown: -1.0}, "<=", "knows at least 9", rhs=-9.0)
    result = audit(tmp_path, extra_relations=[knows])
    assert result.recoverable == [male, unknown]
    assert result.ranges[male] == pytest.approx((1.0, 1.0))
    assert result.ranges[unknown] == pytest.approx((9.0, 9.0))


def test_leaks_and_conflicts_are_reported(tmp_path: Path) -> None:
    """Hidden in one file and printed in another is a leak; two printed values a conflict."""
    _gender_file(tmp_path, 20, "c", "c", 30)
    write_ees(
        tmp_path,
        "other",
        [
            {"time_period": "2015", "service_id": "S01", "gender": "Male", "young_people": 4},
            {"time_period": "2015", "service_id": "S01", "gender": "Female", "young_people": 21},
        ],
        filters=["service_id", "gender"],
        indicators={"young_people": PEOPLE},
    )
    result = audit(tmp_path)
    male = Quantity.of("young_people", time_period="2015", service_id="S01", gender="Male")
    assert result.leaks == [male]
    assert len(result.conflicts) == 1 and "gender=Female" in result.conflicts[0]


def test_html_numbers_are_compared_as_printed() -> None:
    """Numbers in hubspoke tables are found; a rounded percentage matches its value."""
    html = (
        '<table class="dataframe hubspoke-table"><tr><th>2015</th><td>1,204</td>'
        "<td>33%</td><td>c</td><td>Female</td></tr></table>"
        "<table><tr><td>99</td></tr></table>"
    )
    numbers = html_table_numbers(html)
    assert numbers == ["1,204", "33%"]
    assert number_matches("1,204", [1204.0])
    assert number_matches("33%", [33.333])
    assert not number_matches("34%", [33.333])


# --------------------------------------------------------------------------- library vs. auditor
SERVICES = {"S01": "Multi-host", "S02": "Multi-host", "S03": "Single-host"}
GENDERS = {"S01": (14, 3, 0), "S02": (9, 8, 2), "S03": (21, 12, 4)}


def _small_release(tmp_path: Path, *, only_primary: bool = False) -> tuple[object, Path]:
    """Tables of three services (gender, services, groups) suppressed by the library, written
    as open data by the project's writer."""
    import dataclasses

    import pandas as pd

    from hubspoke.privacy.release import gather, protect
    from hubspoke.privacy.table import CellId, Count, Derived, Table

    try:
        from hubspoke.report.open_data import write_open_data
    except ImportError as exc:
        pytest.skip(f"the open-data writer cannot be imported yet: {exc}")
    tables = []
    names = ["Female", "Male", "Not recorded"]
    for service, counts in GENDERS.items():
        frame = pd.DataFrame({"young_people": [*counts, sum(counts)]}, index=[*names, "Total"])
        frame["pct_young_people"] = 100 * frame["young_people"] / sum(counts)
        tables.append(
            Table(
                frame,
                family="young_people_gender",
                rows="gender",
                columns={
                    "young_people": Count("young_people"),
                    "pct_young_people": Derived(
                        "pct_young_people", ("young_people", ("Total", "young_people"))
                    ),
                },
                scope={"time_period": "2015", "service_id": service},
            )
        )
    by_service = pd.DataFrame(
        {"young_people": [sum(GENDERS[s]) for s in SERVICES] + [sum(map(sum, GENDERS.values()))]},
        index=[*SERVICES, "Total"],
    )
    tables.append(
        Table(
            by_service,
            family="young_people_services",
            rows="service_id",
            columns={"young_people": Count("young_people")},
            scope={"time_period": "2015"},
        )
    )
    for g, name in enumerate(names):
        rows = {
            v: sum(GENDERS[s][g] for s in SERVICES if SERVICES[s] == v)
            for v in dict.fromkeys(SERVICES.values())
        }
        frame = pd.DataFrame({"young_people": [*rows.values(), sum(rows.values())]})
        frame.index = [*rows, "Total"]
        tables.append(
            Table(
                frame,
                family="young_people_groups",
                rows="model_variant",
                columns={"young_people": Count("young_people", dims={"gender": name})},
                scope={"time_period": "2015"},
            )
        )
    cells, margins = gather(tables)
    hierarchy = []
    for gender in [*names, None]:
        for variant in [*dict.fromkeys(SERVICES.values()), None]:
            members = [s for s, v in SERVICES.items() if variant in (None, v)]
            eq = {
                CellId.of("young_people", time_period="2015", service_id=s, gender=gender): 1.0
                for s in members
            }
            total = CellId.of(
                "young_people", time_period="2015", model_variant=variant, gender=gender
            )
            eq[total] = -1.0
            hierarchy.append(eq)
    release = protect(cells, equations=[*margins, *hierarchy], threshold=5)
    if only_primary:
        hidden = set(release.primary)
        hidden |= {c for c, cell in cells.items() if any(s in hidden for s in cell.sources)}
        release = dataclasses.replace(release, hidden=frozenset(hidden))
    groups = pd.DataFrame({"model_variant": SERVICES, "host_setting": "Police", "phase": "Pilot"})
    data_dir = tmp_path / "data"
    write_open_data(release, groups, data_dir, years=[2015])
    return release, data_dir


def test_library_suppression_survives_the_attack(tmp_path: Path) -> None:
    """The library's joint suppression of a few linked tables: the auditor pins nothing."""
    release, data_dir = _small_release(tmp_path)
    truth = truth_from_release(release)
    result = audit(
        data_dir,
        extra_relations=relations_from_release(release),
        truth=truth,
        sources=ordered_sources(release, truth),
    )
    assert result.hidden, "nothing hidden: the attack would be vacuous"
    assert not result.conflicts and not result.leaks and not result.infeasible
    assert result.recoverable == [], [q.key for q in result.recoverable]


def test_primary_suppression_alone_is_broken_by_the_attack(tmp_path: Path) -> None:
    """Hiding only the small counts (the old per-cell rule) leaves them recoverable."""
    release, data_dir = _small_release(tmp_path, only_primary=True)
    result = audit(data_dir, truth=truth_from_release(release))
    assert result.recoverable, "the auditor missed counts a reader can work out"
    truth = truth_from_release(release)
    for q in result.recoverable:
        assert result.integer_values(q) == [int(truth[q])]


# --------------------------------------------------------------------------- the default release
ROOT = Path(__file__).resolve().parents[1]


class Published:
    """The default release: internal truth, open-data folder, funder HTML folder, and the attack."""

    def __init__(self, release: object, data_dir: Path, funder_dir: Path | None) -> None:
        self.release = release
        self.data_dir = data_dir
        self.funder_dir = funder_dir
        self.truth = truth_from_release(release)
        self.sources = ordered_sources(release, self.truth)
        self.raw_sources = sources_from_release(release)
        self.known = relations_from_release(release)
        self.hidden = {Quantity.like(c) for c in release.hidden}  # type: ignore[attr-defined]
        self._result: AuditResult | None = None
        self._families: dict[Quantity, tuple[str, ...]] | None = None

    def attack(self, **options: object) -> AuditResult:
        """The auditor with every true relation the team knows (truth-checked)."""
        return audit(
            self.data_dir,
            threshold=int(self.release.threshold),  # type: ignore[attr-defined]
            extra_relations=[*self.known, *options.pop("extra_relations", ())],  # type: ignore[misc]
            truth=self.truth,
            sources=self.sources,
            **options,  # type: ignore[arg-type]
        )

    @property
    def result(self) -> AuditResult:
        """The default attack, run once: every true relation, plus what a reader learns from
        the quotes' roles and from coding quality's in - clean - merged (one attack, the
        strongest reader, instead of one attack per old finding)."""
        if self._result is None:
            self._result = self.attack(
                extra_relations=[*coding_quality_relations(self), *quote_relations(self)]
            )
        return self._result

    def families(self, q: Quantity) -> tuple[str, ...]:
        """The report families a quantity is printed in."""
        if self._families is None:
            self._families = {
                Quantity.like(cid): tuple(cell.families)
                for cid, cell in self.release.cells.items()  # type: ignore[attr-defined]
            }
        return self._families.get(q, ())


@pytest.fixture(scope="module")
def published(built_reports) -> Published:
    """The release ``hubspoke report`` built on the default synthetic data, its open data and
    funder pages (the batch fixture builds a subset of the reports, but the release and the
    open data always cover every report)."""
    from hubspoke.analysis.release import read_release, release_path

    assert built_reports.exit_code == 0, "the batch run failed"
    release = read_release(release_path(built_reports.settings))
    assert release is not None, "hubspoke report saved no release"
    out = built_reports.out
    found = Published(release, out / "funder" / "data", out / "funder")
    found.processed_dir = built_reports.settings.processed_dir  # type: ignore[attr-defined]
    return found


def _hidden_where(
    published: Published, keep: Callable[[Quantity], bool]
) -> dict[Quantity, tuple[float, float]]:
    """Audited ranges of the hidden counts a predicate selects."""
    return {q: r for q, r in published.result.ranges.items() if keep(q)}


def _assert_safe(published: Published, keep: Callable[[Quantity], bool], what: str) -> None:
    """No hidden count the predicate selects can be pinned, and none leaks."""
    ranges = _hidden_where(published, keep)
    pinned = {q.key: r for q, r in ranges.items() if r[1] - r[0] < 0.5}
    assert not pinned, f"{what}: hidden counts recoverable: {pinned}"
    leaked = [q.key for q in published.result.leaks if keep(q)]
    assert not leaked, f"{what}: hidden in one file and shown in another: {leaked}"


@pytest.mark.slow
def test_open_data_agrees_with_the_release(published: Published) -> None:
    """Every printed value is the release's (rounded), every hidden count is hidden in the release."""
    result = published.result
    assert not result.conflicts, result.conflicts[:5]
    wrong = [
        q.key
        for q, v in result.shown.items()
        if q in published.truth and abs(published.truth[q] - v) > 0.5 + 1e-9
    ]
    assert not wrong, f"open data differs from the release: {wrong[:5]}"
    shown_hidden = [q.key for q in result.shown if q in published.hidden]
    assert not shown_hidden, f"cells the release hides are printed: {shown_hidden[:5]}"
    assert result.hidden, "the default release hides nothing: the attack would be vacuous"


@pytest.mark.slow
def test_default_release_has_no_recoverable_cell(published: Published) -> None:
    """A reader with every true relation and [1, inf) for each hidden count pins nothing."""
    result = published.result
    assert not result.infeasible, [q.key for q in result.infeasible[:5]]
    assert not result.leaks, [q.key for q in result.leaks[:5]]
    assert result.recoverable == [], [q.key for q in result.recoverable[:10]]
    assert all(result.width(q) >= 0.5 for q in result.ranges)


@pytest.mark.slow
def test_no_shown_derived_value_has_a_hidden_source(published: Published) -> None:
    """A percentage, mean or rating is printed only where every count it comes from is printed."""
    result = published.result
    released = {Quantity.like(c) for c in published.release.cells}  # type: ignore[attr-defined]
    bad = []
    for cell in result.cells:
        srcs = published.raw_sources.get(cell.quantity, ())
        if cell.symbol in {HIDDEN, "x", "z"} or not srcs:
            continue
        if any(s in result.hidden or s in published.hidden or s not in released for s in srcs):
            bad.append(f"{cell.file}: {cell.quantity.key}")
    assert not bad, f"derived values printed with a hidden source: {bad[:5]}"


@pytest.mark.slow
def test_percent_of_assessed_does_not_reveal_the_denominator(published: Published) -> None:
    """Old attack: S01 2015 showed "% risk reduced" of a hidden number assessed (2 of c = 33%
    pinned the denominator to 6). Now a percentage of a hidden count is hidden, and the
    rounding intervals of the shown ones pin no hidden count."""
    assessed = [q for q in published.truth if q.indicator == "risk_assessed"]
    for q in assessed:
        if q in published.hidden:
            dependants = [p for p, s in published.sources.items() if q in s]
            printed = [p.key for p in dependants if p in published.result.shown]
            assert not printed, f"{q.key} is hidden but {printed} are printed"
    s01 = [q for q in assessed if q.get("service_id") == "S01" and q.get("time_period") == "2015"]
    assert s01, "S01 2015 has no risk_assessed cell: the table must declare it"
    _assert_safe(published, lambda q: q.indicator == "risk_assessed", "risk assessed")


@pytest.mark.slow
def test_percent_with_data_does_not_reveal_a_hidden_denominator(published: Published) -> None:
    """Old attack: "% with data" printed beside a hidden number of records with data pinned
    it. Every percentage's rounding interval is in the attack; no denominator is pinned."""
    pct = [q for q in published.result.shown if q.indicator.startswith("pct_")]
    dens = {published.sources[p][1] for p in pct if len(published.sources.get(p, ())) == 2}
    _assert_safe(published, lambda q: q in dens, "denominators of printed percentages")


@pytest.mark.slow
def test_not_recorded_and_total_do_not_reveal_disability(published: Published) -> None:
    """Old attack: the completeness table printed "not recorded" and the total, so a hidden
    disability "Yes" was total - No - not recorded."""
    _assert_safe(published, lambda q: q.get("disability") != "Total", "disability")


@pytest.mark.slow
def test_referral_sources_do_not_add_up_to_a_hidden_one(published: Published) -> None:
    """Old attack: referral-source indicators summed to the total (Police = 30 - 13 - 13 - 0)."""
    _assert_safe(published, lambda q: q.get("referral_source") != "Total", "referral source")


@pytest.mark.slow
def test_release_all_years_minus_years(published: Published) -> None:
    """Old attack (cross_site_all): an all-years count minus the printed years gave a hidden
    year (and the years added up to a hidden all-years count)."""
    span = re.compile(r"^\d{4}-\d{4}$")
    pooled = {
        q.with_dims(time_period=None)
        for q in [*published.result.shown, *published.result.hidden]
        if span.match(q.get("time_period"))
    }

    def pooled_or_its_years(q: Quantity) -> bool:
        return q.with_dims(time_period=None) in pooled

    _assert_safe(published, pooled_or_its_years, "all years vs years")


@pytest.mark.slow
def test_chart_points_are_only_visible_cells(published: Published) -> None:
    """Old attack: funnel and group charts drew points (and intervals) of cells the tables
    hid. Charts draw ``view(table).visible``: NaN wherever the release hides a cell or one of
    its sources, for every funder table (funnel and group tables included)."""
    from hubspoke import load
    from hubspoke.analysis.release import RELEASE_TABLES, funder_tables

    release = published.release
    tables = load.load_tables(published.processed_dir, names=RELEASE_TABLES)  # type: ignore[attr-defined]
    checked = 0
    for table in funder_tables(tables):
        shown = release.view(table)  # type: ignore[attr-defined]
        visible = shown.visible
        for cell in table.cells():
            hid = release.is_hidden(cell.id) or any(release.is_hidden(s) for s in cell.sources)  # type: ignore[attr-defined]
            if cell.kind in {"count", "derived"} and hid:
                value = visible.loc[cell.row, cell.column]
                assert math.isnan(value), f"{table.family}: {cell.id.key} drawable but hidden"
                checked += 1
    assert checked, "no hidden cell in any funder table: the check is vacuous"


def coding_quality_relations(published: Published) -> list[Relation]:
    """Old attack: coding_quality printed rows in, clean and merged, so quarantined = in -
    clean - merged (when those indicators exist): the relation a reader would write."""
    names = {q.indicator for q in published.truth if "coding_quality" in published.families(q)}
    extra: list[Relation] = []
    find = {
        part: sorted(n for n in names if part in n) for part in ("quarantin", "clean", "merged")
    }
    received = sorted(n for n in names if n.endswith(("_in", "_received", "_read")))
    if all(find.values()) and received:
        for q in [q for q in published.truth if q.indicator == find["quarantin"][0]]:
            terms = {
                Quantity(received[0], q.dims): 1.0,
                Quantity(find["clean"][0], q.dims): -1.0,
                Quantity(find["merged"][0], q.dims): -1.0,
                q: -1.0,
            }
            extra.append(Relation(terms, "==", "in - clean - merged"))
    return extra


@pytest.mark.slow
def test_coding_quality_quarantined_is_not_in_minus_clean_minus_merged(
    published: Published,
) -> None:
    """The attack holds in - clean - merged = quarantined (when the indicators exist) and
    pins nothing in coding quality."""
    result = published.result
    in_family = {q for q in result.ranges if "coding_quality" in published.families(q)}
    pinned = [q.key for q in in_family if result.width(q) < 0.5]
    assert not pinned, pinned


@pytest.mark.slow
def test_interview_counts_per_context_are_safe(published: Published) -> None:
    """Old attack: interviews per context (service, role, theory) summed across tables to a
    hidden one."""
    _assert_safe(published, lambda q: q.indicator == "interviews", "interviews")


_ATTRIBUTION = re.compile(r"—\s*([A-Z][A-Za-z\- ]+?),\s*(\d{4})")


def quote_relations(published: Published) -> list[Relation]:
    """Old attack: a service report quoted a "Hub manager", so the hidden count of Hub manager
    interviews was at least 1 (with the margins: exactly 1). Each quoted role in a funder page
    gives "at least one interview of that role" in that service and year."""
    if published.funder_dir is None:
        return []
    role_dims = sorted(
        {
            d
            for q in published.truth
            if q.indicator == "interviews"
            for d, _ in q.dims
            if "role" in d
        }
    )
    extra: list[Relation] = []
    for path in sorted(published.funder_dir.glob("service_report_*.html")):
        match = re.match(r"service_report_(S\d+)_(\d{4})", path.stem)
        if not match:
            continue
        service, year = match.groups()
        roles = set(_ATTRIBUTION.findall(path.read_text(encoding="utf-8")))
        for role, when in roles:
            for dim in role_dims:
                q = Quantity.of("interviews", time_period=when, service_id=service, **{dim: role})
                extra.append(Relation({q: -1.0}, "<=", f"quoted {role}", rhs=-1.0))
    return extra


@pytest.mark.slow
def test_quotes_do_not_reveal_interview_counts(published: Published) -> None:
    """With "at least one interview of each quoted role" in the attack, no interview count
    is pinned."""
    if published.funder_dir is None:
        pytest.skip("no funder HTML with open data in reports/funder: run `hubspoke report`")
    assert any(q.indicator == "interviews" and any("role" in d for d, _ in q.dims)
               for q in published.truth), "no interview count by role in the release"  # fmt: skip
    result = published.result
    pinned = [q.key for q in result.ranges if q.indicator == "interviews" and result.width(q) < 0.5]
    assert not pinned, pinned


@pytest.mark.slow
def test_every_number_in_funder_tables_is_in_the_open_data(published: Published) -> None:
    """Every number printed in a funder HTML table is a value of the open-data files."""
    if published.funder_dir is None:
        pytest.skip("no funder HTML with open data in reports/funder: run `hubspoke report`")
    cells, _ = read_files(published.funder_dir / "data")  # the data written with the HTML
    values = sorted({c.value for c in cells if c.value is not None})
    missing: dict[str, list[str]] = {}
    for path in sorted(published.funder_dir.glob("*.html")):
        for text in html_table_numbers(path.read_text(encoding="utf-8")):
            if not number_matches(text, values):
                missing.setdefault(path.name, []).append(text)
    assert not missing, {k: v[:5] for k, v in missing.items()}
