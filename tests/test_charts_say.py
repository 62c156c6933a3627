"""Charts that say something (issue 18, item 3). All data here is synthetic.

No chart of nothing or of a single point (a sentence instead, shown by
``display.figure(None, ...)``), labels that do not overlap, axis units that match the
values, a legend wherever colour means something, notes clear of the x-axis label, and
alt text that reads as English and quotes only what the funder view shows. Every Table
is built here and suppressed with a release of its own.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from bs4 import BeautifulSoup
from matplotlib.figure import Figure as MplFigure
from matplotlib.text import Text as MplText
from matplotlib.transforms import Bbox

from hubspoke.analysis.cross_site import tables as cst
from hubspoke.analysis.realist.verdicts import VERDICTS
from hubspoke.config import get_settings
from hubspoke.errors import HubspokeError
from hubspoke.present import display
from hubspoke.present.plotting import base
from hubspoke.present.plotting import cross_site as pc
from hubspoke.present.plotting import realist as pr
from hubspoke.present.plotting import service as ps
from hubspoke.privacy.release import Release, gather, protect
from hubspoke.privacy.table import TOTAL, Count, Derived, Figure, Table, Text
from simulated import funnel_table

WHERE = {"service_id": "S01", "year": 2014}
NO_CHART = "so no chart is drawn: see the table below."
#: A count followed by a plural noun it does not take ("1 services").
ONE_PLURAL = re.compile(r"(?<![\d.,])1 (services|groups|codes|scales|values|young people were)\b")


def released(*tables: Table) -> Release:
    """``tables`` suppressed together (threshold 5, symbol c): their own funder release."""
    cells, equations = gather(tables)
    return protect(cells, equations=equations)


def closed(fig: MplFigure | None) -> None:
    if fig is not None:
        plt.close(fig)


def boxes(texts: list[MplText]) -> list:
    """Window extents of text artists, measured after the figure is drawn."""
    texts[0].figure.canvas.draw()
    return [t.get_window_extent() for t in texts]


# --------------------------------------------------------------------------- builders
def referrals(values: dict[str, int]) -> Table:
    """A ``referral_sources`` table of S01 in 2014 (synthetic counts) with its Total row."""
    frame = pd.DataFrame(
        {"n": [float(v) for v in values.values()]},
        index=pd.Index(list(values), name="referral_source"),
    )
    frame.loc[TOTAL] = frame["n"].sum()
    frame["%"] = 100 * frame["n"] / frame.loc[TOTAL, "n"]
    return Table(
        frame,
        family="service",
        rows="referral_source",
        scope={"service_id": "S01", "time_period": "2014"},
        columns={
            "n": Count("young_people"),
            "%": Derived("pct_young_people", ("n", (TOTAL, "n")), dp=0),
        },
        total_row=TOTAL,
    )


def by_year(rows: dict[str, tuple[int, int, int, int, int]]) -> Table:
    """A ``year_on_year`` table: per year young people, assessed, reduced, closed, planned."""
    frame = pd.DataFrame(
        rows, index=["young_people", "risk_assessed", "risk_reduced", "closed", "planned"]
    ).T.astype(float)
    frame.index = pd.Index(list(rows), name="Year")
    frame["% risk reduced"] = 100 * frame["risk_reduced"] / frame["risk_assessed"]
    frame["% planned endings"] = 100 * frame["planned"] / frame["closed"]
    return Table(
        frame,
        family="service",
        rows="time_period",
        scope={"service_id": "S01"},
        columns={
            "young_people": Count("young_people"),
            "risk_assessed": Count("risk_assessed"),
            "risk_reduced": Count("young_people", dims={"risk_change": "Reduced"}),
            "closed": Count("episodes_closed"),
            "planned": Count("planned_endings"),
            "% risk reduced": Derived("pct_risk_reduced", ("risk_reduced", "risk_assessed")),
            "% planned endings": Derived("pct_planned_endings", ("planned", "closed")),
        },
        total_row=None,
    )


funnel = funnel_table  # a per-service proportion table for a funnel plot


def groups(dim: str, members: dict[str, str], counts: dict[str, tuple[int, int]]) -> Table:
    """The ``groups.<dim>`` table of services (reduced, assessed) grouped by ``members``."""
    frame = pd.DataFrame(counts, index=["risk_reduced", "risk_assessed"]).T
    frame.index.name = "service_id"
    context = pd.DataFrame({"service_id": list(members)})
    for d in ("model_variant", "host_setting", "phase"):
        context[d] = list(members.values()) if d == dim else "1"
    return cst.group_tables(frame, context, scope={"time_period": "2015"})[f"groups.{dim}"]


def agreement(alpha: list[float]) -> Table:
    """A coding-quality ``agreement`` table (figures: nothing suppressed)."""
    codes = [f"PT1-C{i}" for i in range(len(alpha))]
    return Table(
        pd.DataFrame(
            {"label": [f"code {i}" for i in range(len(alpha))], "kappa": alpha, "alpha": alpha},
            index=pd.Index(codes, name="Code"),
        ),
        family="coding_quality",
        rows="code_id",
        columns={
            "label": Text("code_label"),
            "kappa": Figure("cohen_kappa", dp=2),
            "alpha": Figure("krippendorff_alpha", dp=2),
        },
        total_row=None,
    )


# --------------------------------------------------------------------------- the one rule
def test_a_chart_needs_two_shown_values() -> None:
    assert base.points(pd.Series([np.nan, 3.0, 0.0])) == 2  # a shown 0 is a value
    assert not base.drawable(pd.Series([np.nan, 12.0]))
    assert not base.drawable(pd.DataFrame({"a": [np.nan, np.nan]}))
    assert not base.drawable([])
    assert base.drawable(pd.DataFrame({"a": [1.0, np.nan], "b": [np.nan, 2.0]}))


def test_every_referral_count_suppressed_draws_no_chart_and_says_why() -> None:
    table = referrals({"Police": 3, "Education": 2, "Health": 4})
    release = released(table)
    assert ps.referral_sources_chart(table, **WHERE, release=release) is None
    alt = ps.referral_sources_alt(table, **WHERE, release=release)
    assert alt == (
        "Every referral source count for S01 in 2014 is suppressed (fewer than 6 young people, "
        f"or could reveal one), {NO_CHART}"
    )


def test_one_shown_referral_count_draws_no_chart_and_hides_the_rest() -> None:
    table = referrals({"Police": 12, "Education": 3, "Health": 2})
    release = released(table)
    assert ps.referral_sources_chart(table, **WHERE, release=release) is None
    alt = ps.referral_sources_alt(table, **WHERE, release=release)
    assert alt.startswith("Only one referral source count for S01 in 2014 can be shown (Police 12)")
    assert "the others are suppressed" in alt and alt.endswith(NO_CHART)
    assert not re.search(r"\b[23]\b", alt.replace("2014", "")), "a hidden count in the alt text"


def test_bars_of_zero_draw_no_chart() -> None:
    # Two sources shown, both 0: their bars draw nothing, the others are suppressed.
    table = referrals({"Police": 3, "Education": 0, "Health": 0, "Other": 2})
    release = released(table)
    assert ps.referral_sources_chart(table, **WHERE, release=release) is None
    assert ps.referral_sources_alt(table, **WHERE, release=release) == (
        "Of the referral source counts for S01 in 2014, only Education 0 and Health 0 can be "
        "shown; the others are suppressed (fewer than 6 young people, or could reveal one), "
        f"{NO_CHART}"
    )


def test_two_shown_referral_counts_draw_a_chart() -> None:
    table = referrals({"Police": 12, "Education": 9, "Health": 8})
    release = released(table)
    fig = ps.referral_sources_chart(table, **WHERE, release=release)
    assert fig is not None
    assert sorted(p.get_height() for p in fig.axes[0].patches) == [8, 9, 12]
    assert NO_CHART not in ps.referral_sources_alt(table, **WHERE, release=release)
    closed(fig)


def test_a_trend_of_one_year_draws_no_chart() -> None:
    table = by_year({"2014": (15, 12, 3, 8, 2)})
    release = released(table)
    assert ps.year_on_year_chart(table, **WHERE, release=release) is None
    alt = ps.year_on_year_alt(table, **WHERE, release=release)
    assert alt.startswith("Only one year of data so far for S01 (2014: young people 15")
    assert NO_CHART in alt
    assert "c%" not in alt, "a symbol is not a percentage"
    assert not re.search(r"\b[23]\b", alt.replace("2014", "")), "a hidden count in the alt text"


def test_a_trend_of_two_years_draws_only_what_has_two_points() -> None:
    # Young people 15 and 31 are shown; both percentages rest on small counts (hidden).
    table = by_year({"2014": (15, 5, 3, 4, 2), "2015": (31, 4, 2, 3, 1)})
    release = released(table)
    fig = ps.year_on_year_chart(table, service_id="S01", year=2015, release=release)
    assert fig is not None and len(fig.axes) == 1, "the panel of hidden percentages is left out"
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2014", "2015"]
    assert [list(line.get_ydata()) for line in ax.lines] == [[15.0, 31.0]]
    closed(fig)
    shown = by_year({"2014": (15, 12, 6, 10, 7), "2015": (31, 25, 15, 20, 12)})
    fig = ps.year_on_year_chart(shown, service_id="S01", year=2015, release=released(shown))
    assert fig is not None and len(fig.axes) == 2
    right = fig.axes[1]
    assert right.get_ylim() == (0.0, 100.0) and "%" in right.get_ylabel()  # the unit, item 3
    assert right.get_legend() is not None  # two colours, two meanings: a legend, item 4
    closed(fig)


def test_a_funnel_of_one_service_draws_no_chart() -> None:
    table = funnel({"S01": (50, 100), "S02": (3, 10), "S03": (2, 9)})
    release = released(table)
    assert list(pc.funnel_points(table, release=release)["service_id"]) == ["S01"]
    assert pc.funnel_plot(table, release=release) is None
    alt = pc.funnel_alt(table, release=release)
    assert alt.startswith(f"Only one service's risk reduced can be shown (S01: 50%), {NO_CHART}")
    assert "2 services not shown because their numbers are small" in alt
    assert "S02" not in alt and "S03" not in alt


def test_a_group_chart_of_one_group_draws_no_chart_but_two_do() -> None:
    members = {"S01": "Police", "S02": "Police", "S03": "Health", "S04": "Health", "S05": "Mixed"}
    counts = {"S01": (40, 100), "S02": (55, 100), "S03": (30, 60), "S04": (25, 50), "S05": (2, 9)}
    table = groups("host_setting", members, counts)
    release = released(table)
    shown = pc.group_points(table, release=release)
    assert list(shown["group"]) == ["Health", "Police"], "Mixed (2 of 9) is suppressed"
    fig = pc.group_comparison_chart(
        table, title="Risk reduced by main host setting", xlabel="Risk reduced", release=release
    )
    assert fig is not None
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert len(labels) == 2 and not any(label.startswith("Mixed") for label in labels)
    assert ax.get_xlabel() == "Risk reduced (%)"  # 0-100: the axis says %, item 3
    closed(fig)
    one = groups("host_setting", {"S01": "Police", "S02": "Police", "S05": "Mixed"},
                 {"S01": (40, 100), "S02": (55, 100), "S05": (2, 9)})  # fmt: skip
    one_release = released(one)
    assert pc.group_comparison_chart(one, title="t", xlabel="%", release=one_release) is None
    alt = pc.group_comparison_alt(one, measure="risk reduced", release=one_release)
    assert alt.startswith(f"Only one group's risk reduced by host setting can be shown, {NO_CHART}")


def test_realist_and_coding_charts_follow_the_rule() -> None:
    one = agreement([0.9, np.nan, np.nan])
    assert pr.agreement_dot_plot(one, release=Release.empty()) is None
    alt = pr.agreement_alt(one, release=Release.empty())
    assert alt.startswith("Krippendorff's alpha can be shown for 1 code only") and NO_CHART in alt
    fig = pr.agreement_dot_plot(agreement([0.9, 0.5]), release=Release.empty())
    assert fig is not None
    closed(fig)


# --------------------------------------------------------------------------- display.figure
@pytest.fixture
def shown_html(monkeypatch) -> dict[str, list[str]]:
    """Everything the display helpers show, as HTML, by audience tag."""
    seen: dict[str, list[str]] = {"funder": [], "analyst": []}

    def capture(obj, *, metadata):
        seen[metadata["tags"][0]].append(obj.data)

    monkeypatch.setattr(display, "display", capture)
    return seen


def test_no_figure_shows_the_escaped_sentence_and_saves_nothing(shown_html, tmp_path) -> None:
    settings = get_settings().with_paths(figures_dir=tmp_path / "figures")
    stale = tmp_path / "figures" / "service_report_s01_2014"
    stale.mkdir(parents=True)
    (stale / "referral_sources.png").write_bytes(b"an image of an earlier run")
    sentence = "Every count is suppressed (<6 & more), so no chart is drawn: see the table below."
    display.figure(
        None,
        report="service_report_S01_2014",
        name="referral_sources",
        alt=sentence,
        caption="Caption of a chart",
        settings=settings,
    )
    assert shown_html["analyst"] == [] and len(shown_html["funder"]) == 1
    html = shown_html["funder"][0]
    assert "<img" not in html and "<figure" not in html and "Caption of a chart" not in html
    assert "&lt;6 &amp; more" in html
    paragraph = BeautifulSoup(html, "html.parser").find("p")
    assert paragraph is not None and paragraph.get_text() == sentence
    assert list((tmp_path / "figures").rglob("*.*")) == [], "nothing saved, the stale image gone"
    with pytest.raises(HubspokeError):
        display.figure(None, report="r", name="n", alt="  ", settings=settings)


def test_a_figure_is_still_shown_as_an_image(shown_html, tmp_path) -> None:
    settings = get_settings().with_paths(figures_dir=tmp_path / "figures")
    table = referrals({"Police": 12, "Education": 9, "Health": 8})
    release = released(table)
    display.figure(
        ps.referral_sources_chart(table, **WHERE, release=release),
        report="service_report_S01_2014",
        name="referral_sources",
        alt=ps.referral_sources_alt(table, **WHERE, release=release),
        settings=settings,
    )
    assert "<img" in shown_html["funder"][0]
    assert sorted(p.name for p in Path(tmp_path / "figures").rglob("*.*")) == [
        "referral_sources.png",
        "referral_sources.svg",
    ]


# --------------------------------------------------------------------------- labels
def test_funnel_labels_never_overlap() -> None:
    # S09 and S11 sit on the same point, S10 and S12 next to each other ("12S10"),
    # S01 at the right edge: every label must still have room of its own.
    table = funnel({"S01": (25, 62), "S02": (10, 42), "S03": (9, 41), "S05": (7, 42),
                    "S06": (9, 28), "S07": (7, 14), "S08": (7, 27), "S09": (6, 28),
                    "S10": (6, 26), "S11": (6, 28), "S12": (7, 27), "S13": (8, 30)})  # fmt: skip
    release = released(table)
    fig = pc.funnel_plot(table, release=release)
    assert fig is not None
    ax = fig.axes[0]
    texts = [t for t in ax.texts if re.fullmatch(r"S\d\d", t.get_text())]
    assert sorted(t.get_text() for t in texts) == sorted(
        pc.funnel_points(table, release=release)["service_id"]
    )
    extents = boxes(texts)
    for (a, box_a), (b, box_b) in itertools.combinations(zip(texts, extents, strict=True), 2):
        assert not box_a.overlaps(box_b), f"{a.get_text()} overlaps {b.get_text()}"
    inside = ax.get_window_extent()
    assert all(inside.contains(b.x0, b.y0) and inside.contains(b.x1, b.y1) for b in extents)
    closed(fig)


def test_label_points_is_deterministic_and_avoids_markers() -> None:
    def place() -> list[tuple[float, float]]:
        fig, ax = base.new_figure(title="Synthetic points")
        ax.set_xlim(0, 10)
        ax.set_ylim(0, 10)
        xs, ys = [5.0, 5.0, 5.0, 5.2], [5.0, 5.0, 5.0, 5.1]
        ax.scatter(xs, ys, s=45)
        texts = base.label_points(ax, xs, ys, ["A1", "B22", "C333", "D4"])
        out = [(round(b.x0, 3), round(b.y0, 3)) for b in boxes(texts)]
        plt.close(fig)
        return out

    first = place()
    assert first == place()
    assert len(set(first)) == 4


def test_label_points_takes_the_first_free_position_as_one_text_per_position_would() -> None:
    """The boxes measured once per alignment and shifted give the placement that a Text
    made and measured at every position gives (the rule, checked the slow way)."""
    rng = np.random.default_rng(7)
    xs, ys = list(rng.uniform(0, 10, 60)), list(rng.uniform(0, 10, 60))
    labels = [f"S{i:03d}" for i in range(60)]
    fig, ax = base.new_figure(title="Crowded synthetic points")
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 10)
    ax.scatter(xs, ys, s=45)
    renderer = fig.canvas.get_renderer()
    placed = base.label_points(ax, xs, ys, labels)
    inside = ax.get_window_extent(renderer)
    half = 7.0 * fig.dpi / 72.0 / 2
    taken = [
        Bbox.from_extents(cx - half, cy - half, cx + half, cy + half)
        for cx, cy in ax.transData.transform(np.column_stack([xs, ys]))
    ]
    positions = len(base._RINGS) * len(base._DIRECTIONS)
    chosen = []
    for x, y, label, text in zip(xs, ys, labels, placed, strict=True):
        expected = positions - 1
        for position in range(positions):
            candidate = base._candidate(ax, (x, y), label, position=position, fontsize=8)
            candidate.set_figure(fig)
            box = base._padded(candidate.get_window_extent(renderer))
            within = inside.x0 <= box.x0 and box.x1 <= inside.x1
            within = within and inside.y0 <= box.y0 and box.y1 <= inside.y1
            if within and not any(box.overlaps(other) for other in taken):
                expected = position
                break
        chosen.append(expected)
        got = text.get_window_extent(renderer)
        assert np.allclose(got.extents, candidate.get_window_extent(renderer).extents)
        taken.append(base._padded(got))
    assert len(set(chosen)) > 3, "the points are crowded enough to push labels around"
    plt.close(fig)


# --------------------------------------------------------------------------- units, legends, notes
def test_axis_labels_name_the_unit_of_their_values() -> None:
    assert base.unit_label("Risk reduced") == "Risk reduced (%)"
    assert base.unit_label("Risk reduced (%)") == "Risk reduced (%)"
    assert base.unit_label("Per cent of closed cases") == "Per cent of closed cases"
    assert base.unit_label("Referred per 10,000 children", "per 10,000") == (
        "Referred per 10,000 children"
    )
    table = funnel({"S01": (50, 100), "S02": (45, 100), "S03": (60, 120)})
    fig = pc.funnel_plot(table, ylabel="Share of young people", release=released(table))
    assert fig is not None and fig.axes[0].get_ylabel() == "Share of young people (%)"
    closed(fig)


def test_coding_quality_colours_have_a_legend() -> None:
    fig = pr.agreement_dot_plot(agreement([0.9, 0.7, 0.3, np.nan]), release=Release.empty())
    assert fig is not None
    ax = fig.axes[0]
    legend = ax.get_legend()
    assert legend is not None
    names = [t.get_text() for t in legend.get_texts()]
    assert names == [label for label, _, _ in pr._BANDS]
    drawn = {tuple(c.get_facecolor()[0]) for c in ax.collections if len(c.get_offsets())}
    keyed = {tuple(h.get_facecolor()[0]) for h in legend.legend_handles}
    assert drawn == keyed, "every colour drawn is in the legend"
    closed(fig)


def test_verdict_heatmap_legend_names_every_colour_and_the_symbol() -> None:
    frame = pd.DataFrame(
        {"Interviews": [9.0, 8.0], "Supports": [7.0, 0.0], "Refutes": [0.0, 8.0],
         "Refines": [2.0, 0.0], "Verdict": ["supported", "refuted"]},
        index=pd.Index(["PT1", "PT2"], name="Programme theory"),
    )  # fmt: skip
    tables = {
        f"host_setting:{c}": Table(
            frame,
            family="realist",
            rows="theory_id",
            columns={
                **{k: Figure(k.lower(), unit="interviews") for k in frame.columns[:4]},
                "Verdict": Text("verdict"),
            },
            total_row=None,
        )
        for c in ("Police", "Health")
    }
    fig = pr.theory_context_heatmap(tables, by="host_setting", release=Release.empty())
    assert fig is not None
    names = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert names == [*VERDICTS, "c: suppressed"]
    closed(fig)


def test_group_chart_note_sits_below_the_x_axis_label() -> None:
    members = {"S01": "Police", "S02": "Police", "S03": "Health", "S04": "Health", "S05": "Mixed"}
    counts = {"S01": (40, 100), "S02": (55, 100), "S03": (30, 60), "S04": (25, 50), "S05": (2, 9)}
    table = groups("host_setting", members, counts)
    fig = pc.group_comparison_chart(
        table, title="Risk reduced by main host setting", xlabel="Risk reduced (%)",
        release=released(table),
    )  # fmt: skip
    assert fig is not None
    notes = [t for t in fig.texts if "not shown because" in t.get_text()]
    assert len(notes) == 1
    xlabel = fig.axes[0].xaxis.label
    note_box, label_box = boxes([notes[0], xlabel])
    assert not note_box.overlaps(label_box) and note_box.y1 <= label_box.y0
    closed(fig)


# --------------------------------------------------------------------------- alt text English
def test_alt_text_reads_as_english() -> None:
    assert base.plural(1, "service") == "1 service" and base.plural(2, "service") == "2 services"
    members = {"S01": "Police", "S02": "Police", "S03": "Health", "S04": "Health"}
    counts = {"S01": (40, 100), "S02": (55, 100), "S03": (30, 60), "S04": (25, 50)}
    variant = groups("model_variant", members, counts)
    alt = pc.group_comparison_alt(
        variant, measure="risk reduced by model variant", release=released(variant)
    )
    assert "by model variant by model variant" not in alt
    assert alt.startswith("Chart of risk reduced by model variant, with 95% confidence intervals")
    assert "for 2 groups" in alt
    table = funnel({"S01": (50, 100), "S02": (45, 100), "S04": (60, 120), "S03": (3, 9)})
    cells, _ = gather([table])
    hide = frozenset({table.cell_id("S03", "numerator"), table.cell_id(TOTAL, "numerator")})
    one_hidden = Release(cells=cells, hidden=hide, primary=hide)  # by hand: S03 alone
    texts = [
        pc.funnel_alt(table, release=one_hidden),
        pc.funnel_caption(table, release=one_hidden),
        pr.agreement_alt(agreement([0.9, 0.7, 0.3, np.nan]), release=Release.empty()),
        alt,
    ]
    assert "1 service not shown because its numbers are small" in texts[0]
    assert "1 code reaches 0.800, 1 lies between 0.667 and 0.800, 1 falls below" in texts[2]
    for text in texts:
        assert not ONE_PLURAL.search(text), text
        assert not re.search(r"\b(\w+(?: \w+){1,3}) \1\b", text), f"a doubled phrase: {text}"


def test_funnel_points_are_worked_out_once_per_table_and_release(monkeypatch) -> None:
    # A funnel's chart, alt text, caption and the notebook each ask for its points:
    # the same table through the same release is computed once; another release, or
    # another table with equal numbers, is computed afresh; a caller's change to what
    # it was given never reaches the next caller.
    table = funnel({"S01": (50, 100), "S02": (3, 10), "S03": (30, 60)})
    calls: list[Table] = []
    compute = pc._funnel_points

    def counted(t: Table, **kwargs: object) -> pd.DataFrame:
        calls.append(t)
        return compute(t, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pc, "_funnel_points", counted)
    release = released(table)
    first = pc.funnel_points(table, release=release)
    shown = list(first["service_id"])
    assert "S01" in shown and "S02" not in shown, "S02 (3 of 10) is hidden"
    first.loc[0, "service_id"] = "changed by a caller"
    closed(pc.funnel_plot(table, release=release))
    pc.funnel_alt(table, release=release)
    again = pc.funnel_points(table, release=release)
    assert list(again["service_id"]) == shown
    assert len(calls) == 1
    nothing_hidden = Release(
        cells=release.cells, hidden=frozenset(), primary=frozenset(), threshold=5, symbol="c"
    )
    assert list(pc.funnel_points(table, release=nothing_hidden)["service_id"]) == [
        "S01", "S02", "S03"
    ]  # fmt: skip
    twin = funnel({"S01": (50, 100), "S02": (3, 10), "S03": (30, 60)})
    pc.funnel_points(twin, release=release)
    assert len(calls) == 3
