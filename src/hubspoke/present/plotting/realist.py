"""Charts of the realist synthesis and of coding quality, each with an alt-text function.

* :func:`theory_context_heatmap` - verdict per theory and context, judgements in each cell;
* :func:`evidence_by_role_chart` - interviews per theory by respondent role, stacked bars;
* :func:`agreement_dot_plot` - Krippendorff's alpha (or kappa) per code, with the 0.667
  and 0.800 thresholds.

Every chart takes the funder tables of
:mod:`hubspoke.analysis.realist.tables` and draws only what the release shows
(:func:`hubspoke.present.views.view`): a hidden count or verdict is never drawn and is
marked with the suppression symbol instead.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.patches import Patch

from hubspoke.analysis.agreement import KRIPPENDORFF_RELIABLE, KRIPPENDORFF_TENTATIVE
from hubspoke.analysis.realist.verdicts import (
    CONTESTED,
    REFINED,
    REFUTED,
    SUPPORTED,
    TOO_LITTLE,
    VERDICTS,
)
from hubspoke.errors import ParameterError
from hubspoke.present.plotting.base import NEUTRAL, OKABE_ITO, PALETTE, new_figure
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
) -> plt.Figure:
    """Heatmap of the per-context judgement tables (``"<by>:<context>"`` of ``realist_tables``).

    Each cell is coloured by its verdict and labelled with the judgements in it
    (supports / refutes / refines) so the colour is never the only cue. A verdict or
    count the release hides is drawn as the suppression symbol, never as a number.
    """
    shown = _views(_contexts(tables, by), release)
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
    ax.legend(
        handles=[Patch(facecolor=VERDICT_COLOURS[v], label=v) for v in VERDICTS],
        loc="upper center",
        bbox_to_anchor=(0.5, -0.22),
        ncol=len(VERDICTS),
        fontsize=8,
    )
    return fig


def theory_context_alt(
    tables: Mapping[str, Table], *, by: str = "model_variant", release: Release | None = None
) -> str:
    """Alt text for :func:`theory_context_heatmap`: the verdict of every cell as shown."""
    shown = _views(_contexts(tables, by), release)
    what = "model variant" if by == "model_variant" else "host setting"
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
) -> plt.Figure:
    """Stacked bars of the ``roles`` table: interviews per theory by respondent role.

    Only counts the release shows are drawn; a theory with a hidden count gets the
    suppression symbol above its bar.
    """
    shown = view(table, release=release)
    visible = shown.visible.drop(columns=[table.total_column], errors="ignore")
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


def evidence_by_role_alt(table: Table, *, release: Release | None = None) -> str:
    """Alt text for :func:`evidence_by_role_chart`: which roles spoke most about each theory."""
    shown = view(table, release=release)
    visible = shown.visible.drop(columns=[table.total_column], errors="ignore")
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


def agreement_dot_plot(
    table: Table,
    *,
    statistic: str = "alpha",
    title: str | None = None,
    release: Release | None = None,
) -> plt.Figure:
    """Dot plot of agreement per code (the ``agreement`` table of ``coding_quality_tables``).

    Dashed lines at Krippendorff's 0.667 (tentative conclusions) and 0.800 (reliable).
    Codes whose statistic is not defined are listed on the axis without a dot.
    """
    frame = _agreement_frame(table, release).iloc[::-1].reset_index(drop=True)
    name = "Krippendorff's alpha" if statistic == "alpha" else "Cohen's kappa"
    fig, ax = new_figure(
        title=title or f"Agreement between coders per code ({name})",
        height=max(4.0, 0.28 * len(frame) + 1.5),
    )
    ax.grid(axis="x", color="#DDDDDD")
    ax.grid(axis="y", visible=False)
    values = pd.to_numeric(frame[statistic], errors="coerce").to_numpy(dtype=float)
    y = np.arange(len(frame))
    colours = np.where(
        values >= KRIPPENDORFF_RELIABLE,
        OKABE_ITO[2],
        np.where(values >= KRIPPENDORFF_TENTATIVE, OKABE_ITO[1], OKABE_ITO[5]),
    )
    shown = ~np.isnan(values)
    ax.scatter(values[shown], y[shown], c=colours[shown], zorder=3)
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
    text = (
        f"Dot plot of {name} for each of {len(quality)} codes, with dashed lines at 0.667 and "
        f"0.800. {reliable} codes reach 0.800, {tentative} lie between 0.667 and 0.800, "
        f"{below} fall below 0.667"
    )
    text += f" and {undefined} cannot be computed." if undefined else "."
    if values.notna().any():
        worst = quality.loc[values.idxmin()]
        text += f" Lowest: {worst['code_id']} ({values.min():.2f})."
    return text
