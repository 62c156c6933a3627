"""The joint display shows both sides: indicator value, n and CI beside the interview counts.

Every frame here is small, hand-built and synthetic (no real service, worker or child).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from hubspoke.analysis import realist as r
from hubspoke.analysis.outcomes import INDICATOR_COLUMNS, wilson_interval
from hubspoke.analysis.realist import joint as j
from hubspoke.analysis.realist.evidence import service_context_table
from hubspoke.analysis.realist.theories import Theory
from hubspoke.errors import ParameterError, SchemaError
from hubspoke.present.plotting import realist as charts

S, R, F = "supports", "refutes", "refines"


# --------------------------------------------------------------------------- small frames
def theory(theory_id: str, dimension: str, indicators: tuple[str, ...]) -> Theory:
    """A synthetic programme theory tested against ``indicators``."""
    return Theory(
        id=theory_id,
        label=f"Synthetic theory {theory_id}",
        statement="Synthetic statement.",
        context_dimension=dimension,
        context="Synthetic context.",
        indicators=indicators,
    )


THEORIES = (theory("PT1", "host_setting", ("p",)), theory("PT2", "model_variant", ("m",)))


def indicator_rows(rows: list[dict[str, object]]) -> pd.DataFrame:
    """Rows of a synthetic indicator table (pooled years), each row's missing fields defaulted."""
    base: dict[str, object] = {
        "year": pd.NA,
        "indicator": "Synthetic indicator",
        "enough_data": True,
        "meets_threshold": True,
    }
    frame = pd.DataFrame([{**base, **row} for row in rows])
    return frame.assign(
        year=frame["year"].astype("Int64"),
        meets_threshold=frame["meets_threshold"].astype("boolean"),
    )


def judged(rows: list[tuple[str, str, str]], *, check: str = "main") -> pd.DataFrame:
    """(service, theory, judgement) -> synthetic judgements with a coder and a check column."""
    return pd.DataFrame(
        {
            "transcript_id": [f"T{k + 1:03d}" for k in range(len(rows))],
            "service_id": [s for s, _, _ in rows],
            "year": 2015,
            "respondent_role": "Spoke worker",
            "theory_id": [t for _, t, _ in rows],
            "judgement": [x for _, _, x in rows],
            "coder": "AB" if check == "main" else "CD",
            "check": check,
        }
    )


def services(ids: list[str]) -> pd.DataFrame:
    variants = ["Multi-host", "Hub outreach", "Rural dispersed"]
    return pd.DataFrame(
        {"service_id": ids, "model_variant": [variants[k % 3] for k in range(len(ids))]}
    )


def spokes(ids: list[str]) -> pd.DataFrame:
    hosts = ["Police", "Health", "Children's social care"]
    return pd.DataFrame(
        {
            "spoke_id": [f"{s}-K1" for s in ids],
            "service_id": ids,
            "host_setting": [hosts[k % 3] for k in range(len(ids))],
        }
    )


def one_row(frame: pd.DataFrame, theory_id: str, service_id: str) -> pd.Series:
    rows = frame[(frame["theory_id"] == theory_id) & (frame["service_id"] == service_id)]
    assert len(rows) == 1
    return rows.iloc[0]


# --------------------------------------------------------------------------- both sides
def test_each_row_carries_value_n_ci_and_verdict_counts() -> None:
    ind = indicator_rows(
        [
            {"service_id": "S01", "indicator_id": "p", "kind": "proportion", "unit": "proportion",
             "numerator": 18, "denominator": 23, "value": 18 / 23, "n_units": 23,
             "ci_low": 0.58, "ci_high": 0.90, "ci_method": "Wilson"},
            {"service_id": "S01", "indicator_id": "m", "kind": "median", "unit": "days",
             "numerator": np.nan, "denominator": 11, "value": 14.0, "n_units": 11,
             "ci_low": 9.0, "ci_high": 20.0, "ci_method": "order statistics",
             "meets_threshold": False},
        ]
    )  # fmt: skip
    judgements = judged([("S01", "PT1", S)] * 4 + [("S01", "PT1", F)] + [("S01", "PT2", R)] * 3)
    out = j.joint_display(ind, judgements, theories=THEORIES)
    assert set(j.JOINT_COLUMNS) <= set(out.columns)
    pt1 = one_row(out, "PT1", "S01")
    assert (pt1["value"], pt1["n"], pt1["ci_low"], pt1["ci_high"]) == (18 / 23, 23, 0.58, 0.90)
    assert pt1["ci_method"] == "Wilson"
    assert (pt1["supports"], pt1["refutes"], pt1["refines"], pt1["n_transcripts"]) == (4, 0, 1, 5)
    assert (pt1["qualitative"], pt1["call"]) == ("supported", "confirm")
    assert pt1["reason"] == (
        "indicator met (78% of 23) and interviews support (4 support, 0 refute, 1 refines)"
    )
    pt2 = one_row(out, "PT2", "S01")
    assert (pt2["value"], pt2["n"], pt2["ci_low"], pt2["ci_high"]) == (14.0, 11, 9.0, 20.0)
    assert (pt2["supports"], pt2["refutes"], pt2["refines"]) == (0, 3, 0)
    assert pt2["call"] == "confirm"
    assert "median 14 days, n=11" in pt2["reason"] and "3 refute" in pt2["reason"]


def test_interval_is_wilson_for_proportions_when_the_table_has_none() -> None:
    ind = indicator_rows(
        [
            {"service_id": "S01", "indicator_id": "p", "kind": "proportion", "value": 0.25,
             "numerator": 5, "denominator": 20, "n_units": 20},
            {"service_id": "S01", "indicator_id": "m", "kind": "count", "value": 12.0,
             "numerator": 12, "denominator": 12, "n_units": 12},
        ]
    )  # fmt: skip
    out = j.joint_display(ind, judged([("S01", "PT1", S)]), theories=THEORIES)
    low, high = wilson_interval(pd.Series([5]), pd.Series([20]))
    proportion = one_row(out, "PT1", "S01")
    assert proportion["ci_low"] == pytest.approx(low.iloc[0])
    assert proportion["ci_high"] == pytest.approx(high.iloc[0])
    assert proportion["ci_method"] == j.WILSON_HERE
    count = one_row(out, "PT2", "S01")
    assert pd.isna(count["ci_low"]) and pd.isna(count["ci_high"])
    assert count["ci_method"] == j.NO_INTERVAL  # left missing, and the frame says so


def test_discord_reason_names_both_sides_numbers() -> None:
    ind = indicator_rows(
        [{"service_id": "S03", "indicator_id": "p", "kind": "proportion", "value": 18 / 23,
          "n_units": 23, "numerator": 18, "denominator": 23}]
    )  # fmt: skip
    judgements = judged([("S03", "PT1", S)] + [("S03", "PT1", R)] * 4)
    out = j.joint_display(ind, judgements, theories={"PT1": ["p"]})
    row = out.iloc[0]
    assert row["call"] == "discord"
    assert row["reason"] == (
        "indicator met (78% of 23) but interviews refute (1 supports, 4 refute, 0 refine)"
    )


def test_every_call_has_a_reason_from_the_numbers() -> None:
    ind = indicator_rows(
        [
            {"service_id": s, "indicator_id": "p", "kind": "proportion", "value": v, "n_units": n,
             "enough_data": e, "meets_threshold": m}
            for s, v, n, e, m in [("S01", 0.6, 30, True, True), ("S02", 0.1, 30, True, False),
                                  ("S03", 0.5, 4, False, None), ("S04", 0.7, 40, True, True)]
        ]
    )  # fmt: skip
    judgements = judged(
        [("S01", "PT1", F)] * 3 + [("S02", "PT1", S)] * 3 + [("S03", "PT1", R)] * 3
        + [("S04", "PT1", S)]
    )  # fmt: skip
    out = j.joint_display(ind, judgements, theories={"PT1": ["p"]}).set_index("service_id")
    assert out["call"].tolist() == ["expand", "discord", "expand", "expand"]
    assert out.loc["S01", "reason"].startswith("indicator met (60% of 30); interviews refine")
    assert out.loc["S02", "reason"] == (
        "indicator not met (10% of 30) but interviews support (3 support, 0 refute, 0 refine)"
    )
    assert out.loc["S03", "reason"].startswith("indicator has not enough data (50% of 4)")
    assert (
        "too few interviews to judge (1 supports, 0 refute, 0 refine)" in out.loc["S04", "reason"]
    )


def test_agreement_judgements_are_not_counted() -> None:
    ind = indicator_rows(
        [{"service_id": "S01", "indicator_id": "p", "kind": "proportion", "value": 0.8,
          "n_units": 25}]
    )  # fmt: skip
    main = judged([("S01", "PT1", S)] + [("S01", "PT1", R)] * 4)
    # A second coder's re-judgements of the same transcripts: counted, they would make the
    # interviews split (4 supports, 4 refutes) and the call 'expand' instead of 'discord'.
    second = judged([("S01", "PT1", S)] * 3, check="agreement")
    out = j.joint_display(
        ind, pd.concat([main, second], ignore_index=True), theories={"PT1": ["p"]}
    )
    row = one_row(out, "PT1", "S01")
    assert (row["supports"], row["refutes"], row["n_transcripts"]) == (1, 4, 5)
    assert (row["qualitative"], row["call"]) == ("refuted", "discord")


# --------------------------------------------------------------------------- contexts
def test_context_is_each_theorys_own_dimension() -> None:
    ids = ["S01", "S02"]
    ind = indicator_rows(
        [{"service_id": s, "indicator_id": i, "kind": "proportion", "value": 0.5, "n_units": 20}
         for s in ids for i in ("p", "m")]
    )  # fmt: skip
    contexts = service_context_table(services(ids), spokes(ids))
    out = j.joint_display(ind, judged([("S01", "PT1", S)]), theories=THEORIES, contexts=contexts)
    assert one_row(out, "PT1", "S01")[["context_dimension", "context"]].tolist() == [
        "host_setting",
        "Police",
    ]
    assert one_row(out, "PT1", "S02")["context"] == "Health"
    assert one_row(out, "PT2", "S01")[["context_dimension", "context"]].tolist() == [
        "model_variant",
        "Multi-host",
    ]
    assert one_row(out, "PT2", "S02")["context"] == "Hub outreach"
    bare = j.joint_display(ind, judged([("S01", "PT1", S)]), theories=THEORIES)
    assert bare["context"].isna().all() and bare["context_dimension"].notna().all()
    with pytest.raises(SchemaError, match="host_setting"):
        j.joint_display(ind, judged([]), theories=THEORIES, contexts=services(ids))
    with pytest.raises(ParameterError, match="S02"):
        j.joint_display(
            ind,
            judged([]),
            theories=THEORIES,
            contexts=service_context_table(services(["S01"]), spokes(["S01"])),
        )


def test_packaged_theories_take_their_own_context_dimension() -> None:
    loaded = r.load_theories()
    ids = sorted({i for t in loaded for i in t.indicators})
    ind = indicator_rows(
        [{"service_id": "S01", "indicator_id": i, "kind": "count", "value": 3.0, "n_units": 3}
         for i in ids]
    )  # fmt: skip
    contexts = service_context_table(services(["S01"]), spokes(["S01"]))
    out = j.joint_display(ind, judged([]), contexts=contexts)
    dims = out.drop_duplicates("theory_id").set_index("theory_id")["context_dimension"]
    assert dims.to_dict() == {
        "PT1": "host_setting",
        "PT2": "model_variant",
        "PT3": "model_variant",
        "PT4": "host_setting",
        "PT5": "model_variant",
        "PT6": "model_variant",
    }
    by_dim = out.drop_duplicates("context_dimension").set_index("context_dimension")["context"]
    assert by_dim.to_dict() == {"host_setting": "Police", "model_variant": "Multi-host"}


def test_joint_summary_still_pivots_the_calls() -> None:
    ind = indicator_rows(
        [{"service_id": s, "indicator_id": i, "kind": "proportion", "value": 0.5, "n_units": 20}
         for s in ("S01", "S02") for i in ("p", "m")]
    )  # fmt: skip
    out = j.joint_display(ind, judged([("S01", "PT1", S)] * 3), theories=THEORIES)
    wide = j.joint_summary(out, theories=THEORIES)
    assert wide.columns.tolist() == ["S01", "S02"]
    assert wide.loc["PT1: Synthetic theory PT1", "S01"] == "confirm"


# --------------------------------------------------------------------------- the drawing
SIXTEEN = [f"S{k:02d}" for k in range(1, 17)]


def sixteen_services() -> pd.DataFrame:
    """The joint display of one theory over 16 synthetic services; S05's value is hidden."""
    ind = indicator_rows(
        [{"service_id": s, "indicator_id": "p", "kind": "proportion", "unit": "proportion",
          "value": 0.4 + k / 100, "n_units": 30 + k, "ci_low": 0.2, "ci_high": 0.6}
         for k, s in enumerate(SIXTEEN)]
        + [{"service_id": s, "indicator_id": "m", "kind": "count", "value": 5.0, "n_units": 5,
            "ci_low": 2.0, "ci_high": 9.0} for s in SIXTEEN]
    )  # fmt: skip
    judgements = judged([(s, "PT1", [S, R, F][k % 3]) for k, s in enumerate(SIXTEEN) for _ in "ab"])
    contexts = service_context_table(services(SIXTEEN), spokes(SIXTEEN))
    out = j.joint_display(ind, judgements, theories=THEORIES, contexts=contexts)
    hidden = (out["theory_id"] == "PT1") & (out["service_id"] == "S05")
    out.loc[hidden, "n"] = 987.0  # a suppressed value: its n and interval must not show
    out.loc[hidden, ["ci_low", "ci_high"]] = [0.111, 0.999]
    out.loc[hidden, "value"] = pd.NA
    return out


def texts(fig: plt.Figure) -> list:
    return [t for ax in fig.axes for t in ax.texts] + list(fig.texts)


def test_figure_fits_a4_with_all_sixteen_services() -> None:
    joint = sixteen_services()
    fig = charts.joint_display_chart(joint, theory_id="PT1")
    try:
        width, _ = fig.get_size_inches()
        assert width <= 6.7
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
        page = fig.bbox
        labels = {t.get_gid(): t for t in texts(fig) if str(t.get_gid()).startswith("service:")}
        assert sorted(labels) == [f"service:{s}" for s in SIXTEEN]
        boxes = [labels[f"service:{s}"].get_window_extent(renderer) for s in SIXTEEN]
        for box in boxes:
            assert page.x0 <= box.x0 and box.x1 <= page.x1
            assert page.y0 <= box.y0 and box.y1 <= page.y1
        assert not any(a.overlaps(b) for a, b in zip(boxes, boxes[1:], strict=False))
        everything = [t.get_window_extent(renderer) for t in texts(fig) if t.get_text()]
        everything += [leg.get_window_extent(renderer) for leg in fig.legends]
        assert all(page.x0 <= b.x0 and b.x1 <= page.x1 + 0.5 for b in everything)
        assert all(page.y0 <= b.y0 and b.y1 <= page.y1 + 0.5 for b in everything)
        shown = {t.get_text() for t in texts(fig)}
        # grouped by PT1's own context (host setting), the call in words beside its colour
        assert {"Police", "Health", "Children's social care"} <= shown
        assert {"confirm", "expand", "discord"} & shown
        legend = [t.get_text() for leg in fig.legends for t in leg.get_texts()]
        assert any(t.startswith("discord") for t in legend)
        cells = {t.get_gid(): t.get_text() for t in texts(fig) if t.get_gid()}
        assert (cells["value:S01"], cells["n:S01"], cells["ci:S01"]) == ("40%", "30", "20% to 60%")
        assert (cells["target:S01"], cells["srf:S01"]) == ("met", "2 / 0 / 0")
        for service in SIXTEEN:  # the texts of a row stand apart, so each can be read
            row = sorted(
                (t.get_window_extent(renderer) for t in texts(fig)
                 if str(t.get_gid()).endswith(f":{service}")),
                key=lambda b: b.x0,
            )  # fmt: skip
            assert len(row) >= 5
            assert all(a.x1 < b.x0 for a, b in zip(row, row[1:], strict=False))
    finally:
        plt.close(fig)


def test_figure_draws_no_number_for_a_missing_value() -> None:
    joint = sixteen_services()
    fig = charts.joint_display_chart(joint, theory_id="PT1")
    try:
        cells = {t.get_gid(): t.get_text() for t in texts(fig) if t.get_gid()}
        assert cells["value:S05"] == "c"
        assert not {"n:S05", "ci:S05", "target:S05"} & set(cells)
        everything = " ".join(t.get_text() for t in texts(fig))
        assert "987" not in everything and "11%" not in everything and "100%" not in everything
        assert "987" not in charts.joint_display_alt(joint, theory_id="PT1")
    finally:
        plt.close(fig)


def test_figure_choices_are_checked() -> None:
    joint = sixteen_services()
    with pytest.raises(ParameterError, match="theory"):
        charts.joint_display_chart(joint, theory_id="PT9")
    with pytest.raises(ParameterError, match="indicator"):
        charts.joint_display_chart(joint, theory_id="PT1", indicator_id="zz")
    two_years = pd.concat([joint.assign(year=2015), joint.assign(year=2016)])
    with pytest.raises(ParameterError, match="several years"):
        charts.joint_display_chart(two_years, theory_id="PT1")
    fig = charts.joint_display_chart(two_years, theory_id="PT2", year=2016)
    try:
        assert "2016" in " ".join(t.get_text() for t in texts(fig))
    finally:
        plt.close(fig)


def test_reads_the_columns_of_the_outcome_indicator_table() -> None:
    """A frame with exactly the outcome table's columns: its interval and its n are the ones shown."""
    ind = indicator_rows(
        [{"service_id": "S01", "indicator_id": "p", "kind": "mean", "unit": "points",
          "value": 2.5, "n_units": 40, "denominator": 41, "ci_low": 2.1, "ci_high": 2.9,
          "ci_method": "t"}]
    ).reindex(columns=list(INDICATOR_COLUMNS))  # fmt: skip
    row = j.joint_display(ind, judged([]), theories={"PT1": ["p"]}).iloc[0]
    assert (row["n"], row["ci_low"], row["ci_high"], row["ci_method"]) == (40, 2.1, 2.9, "t")
    assert row["reason"].startswith("indicator met (mean 2.5 points, n=40)")
