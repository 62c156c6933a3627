"""Charts of the realist synthesis and of coding quality, each with an alt-text function.

* :func:`theory_context_heatmap` - verdict per theory and context, judgements in each cell;
* :func:`evidence_by_role_chart` - interviews per theory by respondent role, stacked bars;
* :func:`agreement_dot_plot` - Krippendorff's alpha (or kappa) per code, with the 0.667
  and 0.800 thresholds;
* :func:`joint_display_chart` - one theory's joint display on an A4 page: per service,
  grouped by the theory's own context, the indicator's value (n, 95% CI), the
  interviews' supports / refutes / refines and the call, in colour and in words.

Every chart but the joint display takes the funder tables of
:mod:`hubspoke.analysis.realist.tables` and draws only what the release shows
(:func:`hubspoke.present.views.view`): a hidden count or verdict is never drawn and is
marked with the suppression symbol instead. A chart that would show fewer than two
values is not drawn (:func:`~hubspoke.present.plotting.base.drawable`): it returns
``None`` and its alt text says why, in a sentence shown in its place. Every colour that
means something has a legend. The joint display takes the frame of
:func:`hubspoke.analysis.realist.joint_display` with hidden cells already missing,
and draws the symbol (never a number) wherever a cell is missing.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.patches import Patch

from hubspoke.analysis.agreement import KRIPPENDORFF_RELIABLE, KRIPPENDORFF_TENTATIVE
from hubspoke.analysis.realist.joint import (
    CONFIRM,
    DISCORD,
    EXPAND,
    QUANT_MET,
    QUANT_NO_DATA,
    QUANT_NOT_MET,
)
from hubspoke.analysis.realist.verdicts import (
    CONTESTED,
    REFINED,
    REFUTED,
    SUPPORTED,
    TOO_LITTLE,
    VERDICTS,
)
from hubspoke.errors import ParameterError
from hubspoke.load import ALL_SERVICES
from hubspoke.present.plotting.base import (
    NEUTRAL,
    OKABE_ITO,
    PALETTE,
    below_axes,
    drawable,
    new_figure,
    no_chart,
    plural,
    suppressed_reason,
)
from hubspoke.present.views import view
from hubspoke.privacy.release import Release, Shown
from hubspoke.privacy.table import Table

#: One colour per verdict (Okabe-Ito; "too little evidence" in light grey).
VERDICT_COLOURS: dict[str, str] = {
    SUPPORTED: OKABE_ITO[2],
    REFUTED: OKABE_ITO[5],
    REFINED: OKABE_ITO[4],
    CONTESTED: OKABE_ITO[1],
    TOO_LITTLE: "#E6E6E6",
}
#: Colour of a cell whose verdict the release hides.
HIDDEN_COLOUR = "#FFFFFF"


def _contexts(tables: Mapping[str, Table], by: str) -> dict[str, Table]:
    """The per-context judgement tables of one dimension, by context value."""
    out = {k.split(":", 1)[1]: t for k, t in tables.items() if k.startswith(f"{by}:")}
    if not out:
        raise ParameterError("no per-context tables for this dimension", column="by", found=by)
    return out


def _views(tables: Mapping[str, Table], release: Release | None) -> dict[str, Shown]:
    return {k: view(t, release=release) for k, t in tables.items()}


# --------------------------------------------------------------------------- heatmap
def theory_context_heatmap(
    tables: Mapping[str, Table],
    *,
    by: str = "model_variant",
    title: str | None = None,
    release: Release | None = None,
) -> plt.Figure | None:
    """Heatmap of the per-context judgement tables (``"<by>:<context>"`` of ``realist_tables``).

    Each cell is coloured by its verdict and labelled with the judgements in it
    (supports / refutes / refines) so the colour is never the only cue. A verdict or
    count the release hides is drawn as the suppression symbol, never as a number.
    ``None`` when fewer than two verdicts can be shown.
    """
    shown = _views(_contexts(tables, by), release)
    if not drawable(_shown_verdicts(shown)):
        return None
    contexts = list(shown)
    theories = [str(t) for t in next(iter(shown.values())).table.frame.index]
    what = "model variant" if by == "model_variant" else "host setting"
    fig, ax = new_figure(
        title=title or f"Interview verdicts on each programme theory by {what}",
        width=max(7.0, 1.6 * len(contexts) + 2),
        height=max(3.5, 0.6 * len(theories) + 1.8),
    )
    ax.grid(False)
    for k, context in enumerate(contexts):
        view_ = shown[context]
        for i, theory in enumerate(theories):
            verdict = str(view_.display.loc[theory, "Verdict"])
            hidden = bool(view_.hidden.loc[theory, "Verdict"])
            ax.add_patch(
                plt.Rectangle(
                    (k, i),
                    1,
                    1,
                    facecolor=HIDDEN_COLOUR if hidden else VERDICT_COLOURS[verdict],
                    edgecolor="#BBBBBB" if hidden else "white",
                )
            )
            counts = "/".join(
                str(view_.display.loc[theory, c]) for c in ("Supports", "Refutes", "Refines")
            )
            ax.text(k + 0.5, i + 0.5, f"{verdict}\n{counts}", ha="center", va="center", fontsize=8)
    ax.set_xlim(0, len(contexts))
    ax.set_ylim(len(theories), 0)
    ax.set_xticks(
        np.arange(len(contexts)) + 0.5, [c.replace(", ", ",\n") for c in contexts], fontsize=8
    )
    ax.set_yticks(np.arange(len(theories)) + 0.5, theories)
    ax.tick_params(length=0)
    for side in ("left", "bottom"):
        ax.spines[side].set_visible(False)
    ax.set_xlabel(f"{what.capitalize()} (cell: verdict; supports / refutes / refines)")
    symbol = next(iter(shown.values())).symbol
    blank = Patch(facecolor=HIDDEN_COLOUR, edgecolor="#BBBBBB", label=f"{symbol}: suppressed")
    ax.legend(
        handles=[*(Patch(facecolor=VERDICT_COLOURS[v], label=v) for v in VERDICTS), blank],
        loc="upper center",
        bbox_to_anchor=(0.5, below_axes(fig)),
        bbox_transform=fig.transFigure,
        ncol=len(VERDICTS) + 1,
        fontsize=8,
    )
    return fig


def _shown_verdicts(shown: Mapping[str, Shown]) -> pd.DataFrame:
    """1 for each verdict the release shows, NaN for each it hides (theory by context)."""
    return pd.DataFrame(
        {c: v.hidden["Verdict"].map({False: 1.0, True: np.nan}) for c, v in shown.items()}
    )


def theory_context_alt(
    tables: Mapping[str, Table], *, by: str = "model_variant", release: Release | None = None
) -> str:
    """Alt text for :func:`theory_context_heatmap`: the verdict of every cell as shown."""
    shown = _views(_contexts(tables, by), release)
    what = "model variant" if by == "model_variant" else "host setting"
    if not drawable(_shown_verdicts(shown)):
        return no_chart(
            f"Too few of the verdicts on each programme theory by {what} can be shown: the "
            f"interviews behind them are suppressed {suppressed_reason(unit='interviews', release=release)}"
        )
    theories = [str(t) for t in next(iter(shown.values())).table.frame.index]
    parts = []
    for theory in theories:
        cells = "; ".join(f"{c}: {v.display.loc[theory, 'Verdict']}" for c, v in shown.items())
        parts.append(f"{theory} - {cells}.")
    symbol = next(iter(shown.values())).symbol
    return (
        f"Grid of programme theories (rows) by {what} (columns), each cell coloured by the "
        f"verdict from the interviews ({symbol}: suppressed). " + " ".join(parts)
    )


# --------------------------------------------------------------------------- evidence by role
def evidence_by_role_chart(
    table: Table, *, title: str | None = None, release: Release | None = None
) -> plt.Figure | None:
    """Stacked bars of the ``roles`` table: interviews per theory by respondent role.

    Only counts the release shows are drawn; a theory with a hidden count gets the
    suppression symbol above its bar. ``None`` when fewer than two theories have a bar
    (interviews shown, above 0).
    """
    shown = view(table, release=release)
    visible = shown.visible.drop(columns=[table.total_column], errors="ignore")
    if not drawable(_theory_counts(visible)):
        return None
    hidden = shown.hidden.drop(columns=[table.total_column], errors="ignore").any(axis=1)
    fig, ax = new_figure(title=title or "Number of interviews on each programme theory, by role")
    x = np.arange(len(visible.index))
    bottom = np.zeros(len(x))
    for k, role in enumerate(visible.columns):
        heights = np.nan_to_num(visible[role].to_numpy(dtype=float))
        ax.bar(x, heights, bottom=bottom, label=str(role), color=PALETTE[k % len(PALETTE)])
        bottom += heights
    for xi in x[hidden.to_numpy()]:
        ax.annotate(
            shown.symbol, (xi, bottom[xi]), ha="center", va="bottom", color=NEUTRAL, fontsize=9
        )
    ax.set_ylim(0, max(float(bottom.max()) if len(bottom) else 0.0, 1.0) * 1.1)
    ax.set_xticks(x, [str(t) for t in visible.index])
    ax.set_xlabel("Programme theory")
    ax.set_ylabel("Number of interviews")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    return fig


def _theory_counts(visible: pd.DataFrame) -> pd.Series:
    """Per theory, the height of its bar: the interviews shown (NaN when none is above 0)."""
    totals = visible.sum(axis=1, min_count=1)
    return totals.where(totals > 0)


def evidence_by_role_alt(table: Table, *, release: Release | None = None) -> str:
    """Alt text for :func:`evidence_by_role_chart`: which roles spoke most about each theory."""
    shown = view(table, release=release)
    visible = shown.visible.drop(columns=[table.total_column], errors="ignore")
    if not drawable(_theory_counts(visible)):
        return no_chart(
            "Too few of the numbers of interviews by programme theory and respondent role can "
            f"be shown: they are suppressed {suppressed_reason(unit='interviews', release=release)}"
        )
    parts = []
    for theory, row in visible.iterrows():
        row = row.dropna().sort_values(ascending=False)
        row = row[row > 0]
        if not row.empty:
            parts.append(f"{theory}: most from {', '.join(str(r) for r in row.index[:3])}.")
    return (
        "Stacked bar chart of the number of interviews on each programme theory, split by "
        "respondent role. " + " ".join(parts)
    )


# --------------------------------------------------------------------------- agreement
def _agreement_frame(table: Table, release: Release | None) -> pd.DataFrame:
    """The ``agreement`` table as shown: code ids, labels and visible statistics."""
    shown = view(table, release=release)
    frame = shown.visible.loc[:, ["kappa", "alpha"]].copy()
    frame.insert(0, "label", table.frame["label"].where(~shown.hidden["label"]))
    frame.insert(0, "code_id", [str(i) for i in table.frame.index])
    return frame.reset_index(drop=True)


#: The agreement bands of :func:`agreement_dot_plot`: legend label, colour and marker.
_BANDS: tuple[tuple[str, str, str], ...] = (
    ("0.800 or more: reliable", OKABE_ITO[2], "o"),
    ("0.667 to 0.800: tentative", OKABE_ITO[1], "s"),
    ("below 0.667: needs a clearer definition", OKABE_ITO[5], "D"),
)


def agreement_dot_plot(
    table: Table,
    *,
    statistic: str = "alpha",
    title: str | None = None,
    release: Release | None = None,
) -> plt.Figure | None:
    """Dot plot of agreement per code (the ``agreement`` table of ``coding_quality_tables``).

    Dashed lines at Krippendorff's 0.667 (tentative conclusions) and 0.800 (reliable);
    each dot's colour and shape give its band, named in the legend. Codes whose statistic
    is not defined are listed on the axis without a dot. ``None`` when fewer than two codes
    have a value shown.
    """
    frame = _agreement_frame(table, release).iloc[::-1].reset_index(drop=True)
    if not drawable(frame[statistic]):
        return None
    name = "Krippendorff's alpha" if statistic == "alpha" else "Cohen's kappa"
    fig, ax = new_figure(
        title=title or f"Agreement between coders per code ({name})",
        height=max(4.0, 0.28 * len(frame) + 1.5),
    )
    ax.grid(axis="x", color="#DDDDDD")
    ax.grid(axis="y", visible=False)
    values = pd.to_numeric(frame[statistic], errors="coerce").to_numpy(dtype=float)
    y = np.arange(len(frame))
    bands = np.select(
        [values >= KRIPPENDORFF_RELIABLE, values >= KRIPPENDORFF_TENTATIVE, values < np.inf],
        [0, 1, 2],
        default=-1,
    )
    for band, (label, colour, marker) in enumerate(_BANDS):
        drawn = bands == band
        if drawn.any():
            ax.scatter(values[drawn], y[drawn], color=colour, marker=marker, label=label,
                       zorder=3)  # fmt: skip
    shown = ~np.isnan(values)
    for level, text, align in (
        (KRIPPENDORFF_TENTATIVE, "tentative 0.667 ", "right"),
        (KRIPPENDORFF_RELIABLE, " 0.800 reliable", "left"),
    ):
        ax.axvline(level, linestyle="--", color=NEUTRAL, linewidth=1)
        ax.text(level, len(frame) - 0.3, text, ha=align, va="bottom", fontsize=8, color=NEUTRAL)
    labels = [
        f"{c} {lab}" if pd.notna(lab) else str(c)
        for c, lab in zip(frame["code_id"], frame["label"], strict=True)
    ]
    ax.set_yticks(y, labels, fontsize=8)
    low = np.nanmin(values) if shown.any() else 0.0
    ax.set_xlim(min(0.0, low - 0.05), 1.0)
    ax.set_ylim(-0.7, len(frame) + 0.3)
    ax.set_xlabel(name)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, below_axes(fig)),
              bbox_transform=fig.transFigure, ncol=len(_BANDS), fontsize=8)  # fmt: skip
    return fig


def agreement_alt(table: Table, *, statistic: str = "alpha", release: Release | None = None) -> str:
    """Alt text for :func:`agreement_dot_plot`: how many codes fall in each band, and the lowest."""
    quality = _agreement_frame(table, release)
    values = pd.to_numeric(quality[statistic], errors="coerce")
    reliable = int((values >= KRIPPENDORFF_RELIABLE).sum())
    tentative = int(((values >= KRIPPENDORFF_TENTATIVE) & (values < KRIPPENDORFF_RELIABLE)).sum())
    below = int((values < KRIPPENDORFF_TENTATIVE).sum())
    undefined = int(values.isna().sum())
    name = "Krippendorff's alpha" if statistic == "alpha" else "Cohen's kappa"
    if not drawable(values):
        return no_chart(
            f"{name} can be shown for {plural(int(values.notna().sum()), 'code')} only "
            f"({plural(undefined, 'code')} without a value)"
        )
    text = (
        f"Dot plot of {name} for each of {plural(len(quality), 'code')}, with dashed lines at "
        f"0.667 and 0.800. {plural(reliable, 'code')} {_verb(reliable, 'reaches', 'reach')} "
        f"0.800, {tentative} {_verb(tentative, 'lies', 'lie')} between 0.667 and 0.800, "
        f"{below} {_verb(below, 'falls', 'fall')} below 0.667"
    )
    text += f" and {undefined} cannot be computed." if undefined else "."
    if values.notna().any():
        worst = quality.loc[values.idxmin()]
        text += f" Lowest: {worst['code_id']} ({values.min():.2f})."
    return text


def _verb(n: int, one: str, many: str) -> str:
    return one if n == 1 else many


# --------------------------------------------------------------------------- joint display
#: One colour per joint-display call (Okabe-Ito), always drawn with the call's word on it.
CALL_COLOURS: dict[str, str] = {
    CONFIRM: OKABE_ITO[2],
    EXPAND: OKABE_ITO[4],
    DISCORD: OKABE_ITO[5],
}
#: Printable width of an A4 portrait page with 2 cm margins, in inches.
A4_WIDTH = 6.7
#: Height of one row of the joint display, in inches.
_ROW = 0.21
#: Column positions (fraction of the width) and alignment: service, value, n, CI, target,
#: S/R/F, verdict, call.
_COLUMNS: dict[str, tuple[float, str]] = {
    "service": (0.035, "left"),
    "value": (0.19, "right"),
    "n": (0.26, "right"),
    "ci": (0.285, "left"),
    "target": (0.405, "left"),
    "srf": (0.615, "center"),
    "verdict": (0.69, "left"),
    "call": (0.93, "center"),
}
_HEADERS = {
    "service": "Service",
    "value": "Value",
    "n": "n",
    "ci": "95% CI",
    "target": "Indicator\ntarget",
    "srf": "Interviews\nS / R / F",
    "verdict": "Interview\nverdict",
    "call": "Call",
}
#: The quantitative side in a few words (:data:`hubspoke.analysis.realist.joint.QUANT_MET`...).
_TARGET_WORDS = {QUANT_MET: "met", QUANT_NOT_MET: "not met", QUANT_NO_DATA: "not enough data"}
_CALL_WIDTH = 0.12
_CALL_WORDS = {
    CONFIRM: "both sides agree",
    EXPAND: "interviews add to the number",
    DISCORD: "the sides disagree",
}
_DIMENSION_WORDS = {"model_variant": "model variant", "host_setting": "host setting"}


def _present(value: Any) -> bool:
    return value is not None and not pd.isna(value)


def _is_share(row: pd.Series) -> bool:
    """Whether the row's indicator is a proportion (drawn as a percentage)."""
    return any(str(row.get(c)) == "proportion" for c in ("kind", "unit") if _present(row.get(c)))


def _short(value: float, share: bool) -> str:
    if share:
        return f"{value:.0%}"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def _joint_cells(row: pd.Series, symbol: str) -> dict[str, str]:
    """The texts of one service's row; a missing value hides its n, interval and target too."""
    share = _is_share(row)
    value, n = row.get("value"), row.get("n")
    low, high = row.get("ci_low"), row.get("ci_high")
    shown = _present(value)
    counts = [row.get(j) for j in ("supports", "refutes", "refines")]
    ci = ""
    if shown and _present(low) and _present(high):
        ci = f"{_short(float(low), share)} to {_short(float(high), share)}"
    elif shown:
        ci = "no interval"
    side = row.get("quantitative")
    return {
        "value": _short(float(value), share) if shown else symbol,
        "n": f"{int(n)}" if shown and _present(n) else "",
        "ci": ci,
        "target": _TARGET_WORDS.get(str(side), str(side)) if shown and _present(side) else "",
        "srf": " / ".join(f"{int(c)}" if _present(c) else symbol for c in counts),
        "verdict": str(row["qualitative"]) if _present(row.get("qualitative")) else symbol,
        "call": str(row["call"]) if _present(row.get("call")) else symbol,
    }


def _joint_rows(
    joint: pd.DataFrame, *, theory_id: str, indicator_id: str | None, year: int | None
) -> pd.DataFrame:
    """The rows of one theory, one indicator (default: its main one) and one period."""
    theories = [str(t) for t in dict.fromkeys(joint["theory_id"].astype(str))]
    rows = joint[joint["theory_id"].astype(str) == theory_id]
    if rows.empty:
        raise ParameterError(
            "theory not in the joint display", column="theory_id", allowed=theories, found=theory_id
        )
    ids = [str(i) for i in dict.fromkeys(rows["indicator_id"].astype(str))]
    chosen = indicator_id if indicator_id is not None else ids[0]
    if chosen not in ids:
        raise ParameterError(
            f"indicator not in the joint display of {theory_id}",
            column="indicator_id",
            allowed=ids,
            found=chosen,
        )
    rows = rows[rows["indicator_id"].astype(str) == chosen]
    years = pd.to_numeric(rows["year"], errors="coerce")
    known = sorted({int(y) for y in years.dropna()})
    if year is not None:
        picked = years.eq(int(year)).fillna(False)
    elif years.isna().any():
        picked = years.isna()
    elif len(known) == 1:
        picked = years.eq(known[0]).fillna(False)
    else:
        raise ParameterError(
            "the joint display holds several years: choose one", column="year", allowed=known
        )
    if not picked.any():
        raise ParameterError(
            "year not in the joint display", column="year", allowed=known, found=year
        )
    return rows[picked.to_numpy(dtype=bool)].reset_index(drop=True)


def _groups(rows: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """Rows grouped by context in the frame's order; all services last, without a heading."""
    pooled = rows["service_id"].astype(str) == ALL_SERVICES
    context = (
        rows["context"].astype("string").fillna("context not given")
        if "context" in rows.columns
        else pd.Series("", index=rows.index, dtype="string")
    )
    groups = [
        (str(c), part)
        for c, part in rows[~pooled].groupby(context[~pooled], sort=False, dropna=False)
    ]
    if pooled.any():
        groups.append(("", rows[pooled]))
    return groups


def _period_words(rows: pd.DataFrame) -> str:
    year = pd.to_numeric(rows["year"], errors="coerce").dropna()
    return "all years" if year.empty else f"{int(year.iloc[0])}"


def _indicator_words(row: pd.Series) -> str:
    """'Indicator 1.3 Days from concern to referral (median, days)'."""
    label = f"{row['indicator_id']}"
    if _present(row.get("indicator")) and str(row["indicator"]) != label:
        label += f" {row['indicator']}"
    how = [str(row[c]) for c in ("kind", "unit") if _present(row.get(c))]
    how = list(dict.fromkeys(how))
    return f"Indicator {label}" + (f" ({', '.join(how)})" if how else "")


def _dimension(rows: pd.DataFrame) -> str:
    if "context_dimension" not in rows.columns or rows["context_dimension"].isna().all():
        return ""
    return _DIMENSION_WORDS.get(str(rows["context_dimension"].dropna().iloc[0]), "")


def _draw_row(ax: plt.Axes, y: float, label: str, cells: dict[str, str]) -> None:
    """One service's row: texts in their columns and the call in a coloured box."""
    x, align = _COLUMNS["service"]
    ax.text(x, y, label, ha=align, va="center", fontsize=8, gid=f"service:{label}")
    for key in ("value", "n", "ci", "target", "srf", "verdict"):
        x, align = _COLUMNS[key]
        if cells[key]:
            ax.text(x, y, cells[key], ha=align, va="center", fontsize=8, gid=f"{key}:{label}")
    x, _ = _COLUMNS["call"]
    colour = CALL_COLOURS.get(cells["call"])
    if colour is not None:
        ax.add_patch(
            plt.Rectangle(
                (x - _CALL_WIDTH / 2, y - 0.42), _CALL_WIDTH, 0.84,
                facecolor=colour, alpha=0.55, edgecolor="none",
            )
        )  # fmt: skip
    ax.text(x, y, cells["call"], ha="center", va="center", fontsize=8, gid=f"call:{label}")


def joint_display_chart(
    joint: pd.DataFrame,
    *,
    theory_id: str,
    indicator_id: str | None = None,
    year: int | None = None,
    title: str | None = None,
    symbol: str = "c",
) -> plt.Figure:
    """One theory's joint display as a chart for an A4 page (:data:`A4_WIDTH` inches wide).

    ``joint`` is :func:`hubspoke.analysis.realist.joint_display`'s frame (hidden cells
    already missing). Services are rows grouped by the theory's own context; each row
    gives the indicator's value, n, 95% CI and whether it met its target, the
    interviews' supports / refutes / refines and their verdict, and the call, written on
    a box of its colour (legend below).
    ``indicator_id`` defaults to the theory's main indicator; ``year`` to the pooled
    rows, or the only year. A missing value is drawn as ``symbol`` with no n, interval
    or target; missing counts, verdicts and calls are drawn as ``symbol`` too.
    """
    rows = _joint_rows(joint, theory_id=theory_id, indicator_id=indicator_id, year=year)
    groups = _groups(rows)
    first = rows.iloc[0]
    name = f" {first['theory']}" if _present(first.get("theory")) else ""
    heading = textwrap.wrap(title or f"{theory_id}{name}: indicator and interviews by service", 64)
    dimension = _dimension(rows)
    grouped = f"; services grouped by {dimension}" if dimension else ""
    about = textwrap.wrap(f"{_indicator_words(first)}, {_period_words(rows)}{grouped}", 100)
    head = len(about) + 2  # the lines above the first service: subtitle, two of column headers
    n_lines = head + len(rows) + sum(1 for g, _ in groups if g)
    top, bottom = 0.15 + 0.22 * len(heading), 0.8
    height = top + bottom + _ROW * n_lines
    fig, ax = new_figure(title="\n".join(heading), width=A4_WIDTH, height=height)
    fig.subplots_adjust(left=0.01, right=0.99, top=1 - top / height, bottom=bottom / height)
    ax.axis("off")
    ax.set_xlim(0, 1)
    ax.set_ylim(n_lines - 0.5, -0.5)
    ax.text(0.0, (len(about) - 1) / 2, "\n".join(about), ha="left", va="center", fontsize=8,
            color=NEUTRAL)  # fmt: skip
    for key, (x, align) in _COLUMNS.items():
        ax.text(x, head - 1.5, _HEADERS[key], ha=align, va="center", fontsize=8, fontweight="bold")
    ax.axhline(head - 0.5, color="#BBBBBB", linewidth=0.8)
    line = head
    for context, part in groups:
        if context:
            ax.text(0.0, line, context, ha="left", va="center", fontsize=8, fontweight="bold")
            line += 1
        for _, row in part.iterrows():
            _draw_row(ax, line, str(row["service_id"]), _joint_cells(row, symbol))
            line += 1
    fig.legend(
        handles=[
            Patch(facecolor=c, alpha=0.55, label=f"{k}: {_CALL_WORDS[k]}")
            for k, c in CALL_COLOURS.items()
        ],
        loc="lower left", bbox_to_anchor=(0.0, 0.26 / height), ncol=len(CALL_COLOURS),
        fontsize=8, handlelength=1.5, columnspacing=1.2,
    )  # fmt: skip
    fig.text(
        0.01, 0.08 / height,
        f"S / R / F: interviews that support / refute / refine the theory. {symbol}: not shown.",
        ha="left", va="bottom", fontsize=7, color=NEUTRAL,
    )  # fmt: skip
    return fig


def joint_display_alt(
    joint: pd.DataFrame,
    *,
    theory_id: str,
    indicator_id: str | None = None,
    year: int | None = None,
    symbol: str = "c",
) -> str:
    """Alt text for :func:`joint_display_chart`: the calls, and each discord with both sides."""
    rows = _joint_rows(joint, theory_id=theory_id, indicator_id=indicator_id, year=year)
    first = rows.iloc[0]
    dimension = _dimension(rows)
    calls = rows["call"].astype("string").value_counts()
    tally = ", ".join(f"{int(calls.get(c, 0))} {c}" for c in CALL_COLOURS)
    discords = []
    for _, row in rows[rows["call"].astype("string").eq(DISCORD).fillna(False)].iterrows():
        cells = _joint_cells(row, symbol)
        of = f" of {cells['n']}" if cells["n"] else ""
        discords.append(
            f"{row['service_id']}: value {cells['value']}{of}, interviews {cells['srf']} "
            f"(supports / refutes / refines), {cells['verdict']}"
        )
    grouped = f", grouped by {dimension}" if dimension else ""
    text = (
        f"Table-like chart of {theory_id}, {_indicator_words(first)} ({_period_words(rows)}), "
        f"for {len(rows)} rows of services{grouped}: each row gives the indicator's value "
        "with n and 95% confidence interval, the interviews that support, refute or refine "
        f"the theory, their verdict and the call ({symbol}: not shown). Calls: {tally}."
    )
    return text + (" Discord in " + "; ".join(discords) + "." if discords else "")
