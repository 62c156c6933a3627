"""Charts of the realist synthesis and of coding quality, each with an alt-text function.

* :func:`theory_context_heatmap` - verdict per theory and context, judgements in each cell;
* :func:`evidence_by_role_chart` - interviews per theory by respondent role, stacked bars;
* :func:`agreement_dot_plot` - Krippendorff's alpha (or kappa) per code, with the 0.667
  and 0.800 thresholds.

Counts drawn here are counts of interviews and judgements, not children. Pass counts
of small respondent groups through disclosure control before drawing them: a NaN count
is not drawn (the evidence chart marks it with the suppression symbol).
"""

from __future__ import annotations

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
from hubspoke.present.plotting.base import NEUTRAL, OKABE_ITO, PALETTE, new_figure

#: One colour per verdict (Okabe-Ito; "too little evidence" in light grey).
VERDICT_COLOURS: dict[str, str] = {
    SUPPORTED: OKABE_ITO[2],
    REFUTED: OKABE_ITO[5],
    REFINED: OKABE_ITO[4],
    CONTESTED: OKABE_ITO[1],
    TOO_LITTLE: "#E6E6E6",
}


def _context_column(matrix: pd.DataFrame) -> str:
    return next(c for c in ("model_variant", "host_setting") if c in matrix.columns)


def _ordered(values: pd.Series) -> list[str]:
    if isinstance(values.dtype, pd.CategoricalDtype):
        return [str(c) for c in values.cat.categories if c in set(values)]
    return [str(v) for v in dict.fromkeys(values)]


# --------------------------------------------------------------------------- heatmap
def theory_context_heatmap(matrix: pd.DataFrame, *, title: str | None = None) -> plt.Figure:
    """Heatmap of :func:`hubspoke.analysis.realist.theory_context_matrix` (long form).

    Each cell is coloured by its verdict and labelled with the judgements in it
    (supports / refutes / refines) so the colour is never the only cue.
    """
    by = _context_column(matrix)
    theories = _ordered(matrix["theory_id"])
    contexts = _ordered(matrix[by])
    what = "model variant" if by == "model_variant" else "host setting"
    fig, ax = new_figure(
        title=title or f"Interview verdicts on each programme theory by {what}",
        width=max(7.0, 1.6 * len(contexts) + 2),
        height=max(3.5, 0.6 * len(theories) + 1.8),
    )
    ax.grid(False)
    cells = matrix.set_index(["theory_id", by])
    for i, theory in enumerate(theories):
        for k, context in enumerate(contexts):
            row = cells.loc[(theory, context)]
            ax.add_patch(
                plt.Rectangle(
                    (k, i), 1, 1, facecolor=VERDICT_COLOURS[str(row["verdict"])], edgecolor="white"
                )
            )
            label = f"{row['verdict']}\n{int(row['supports'])}/{int(row['refutes'])}/{int(row['refines'])}"
            ax.text(k + 0.5, i + 0.5, label, ha="center", va="center", fontsize=8)
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


def theory_context_alt(matrix: pd.DataFrame) -> str:
    """Alt text for :func:`theory_context_heatmap`: the verdict of every cell in words."""
    by = _context_column(matrix)
    what = "model variant" if by == "model_variant" else "host setting"
    parts = []
    for theory in _ordered(matrix["theory_id"]):
        rows = matrix[matrix["theory_id"] == theory]
        cells = "; ".join(f"{c}: {v}" for c, v in zip(rows[by], rows["verdict"], strict=True))
        parts.append(f"{theory} - {cells}.")
    return (
        f"Grid of programme theories (rows) by {what} (columns), each cell coloured by the "
        f"verdict from the interviews. " + " ".join(parts)
    )


# --------------------------------------------------------------------------- evidence by role
def evidence_by_role_chart(
    counts: pd.DataFrame, *, value: str = "n_transcripts", title: str | None = None
) -> plt.Figure:
    """Stacked bars of :func:`hubspoke.analysis.realist.evidence_counts`: interviews per theory by role.

    ``counts`` needs ``theory_id, respondent_role`` and ``value``; other grouping
    columns (year) are summed over. A NaN (suppressed) count is not drawn; its theory gets
    the suppression symbol above its bar.
    """
    values = pd.to_numeric(counts[value], errors="coerce")
    table = (
        counts.assign(**{value: values})
        .groupby(["theory_id", "respondent_role"], observed=True, sort=True)[value]
        .sum()
        .unstack("respondent_role", fill_value=0)
    )
    hidden_theories = set(counts.loc[values.isna(), "theory_id"])
    noun = "interviews" if value == "n_transcripts" else "coded segments"
    fig, ax = new_figure(
        title=title or f"Number of {noun} on each programme theory, by respondent role"
    )
    x = np.arange(len(table.index))
    bottom = np.zeros(len(x))
    for k, role in enumerate(table.columns):
        heights = table[role].to_numpy(dtype=float)
        ax.bar(
            x,
            np.nan_to_num(heights),
            bottom=bottom,
            label=str(role),
            color=PALETTE[k % len(PALETTE)],
        )
        bottom += np.nan_to_num(heights)
    hidden = np.array([t in hidden_theories for t in table.index], dtype=bool)
    for xi in x[hidden]:
        ax.annotate("c", (xi, bottom[xi]), ha="center", va="bottom", color=NEUTRAL, fontsize=9)
    ax.set_ylim(0, max(float(bottom.max()) if len(bottom) else 0.0, 1.0) * 1.1)
    ax.set_xticks(x, [str(t) for t in table.index])
    ax.set_xlabel("Programme theory")
    ax.set_ylabel(f"Number of {noun}")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    return fig


def evidence_by_role_alt(counts: pd.DataFrame, *, value: str = "n_transcripts") -> str:
    """Alt text for :func:`evidence_by_role_chart`: which roles spoke most about each theory."""
    noun = "interviews" if value == "n_transcripts" else "coded segments"
    totals = counts.groupby(["theory_id", "respondent_role"], observed=True)[value].sum(min_count=1)
    parts = []
    for theory, part in totals.groupby(level="theory_id", sort=False):
        part = part.dropna().droplevel("theory_id").sort_values(ascending=False)
        if part.empty:
            continue
        roles = ", ".join(str(r) for r in part.index[:3])
        parts.append(f"{theory}: most from {roles}.")
    return (
        f"Stacked bar chart of the number of {noun} on each programme theory, split by "
        "respondent role. " + " ".join(parts)
    )


# --------------------------------------------------------------------------- agreement
def agreement_dot_plot(
    quality: pd.DataFrame, *, statistic: str = "alpha", title: str | None = None
) -> plt.Figure:
    """Dot plot of agreement per code (:func:`hubspoke.analysis.realist.coding_quality`).

    Dashed lines at Krippendorff's 0.667 (tentative conclusions) and 0.800 (reliable).
    Codes whose statistic is not defined are listed on the axis without a dot.
    """
    frame = quality.iloc[::-1].reset_index(drop=True)
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
        for c, lab in zip(frame["code_id"], frame.get("label", frame["code_id"]), strict=True)
    ]
    ax.set_yticks(y, labels, fontsize=8)
    low = np.nanmin(values) if shown.any() else 0.0
    ax.set_xlim(min(0.0, low - 0.05), 1.0)
    ax.set_ylim(-0.7, len(frame) + 0.3)
    ax.set_xlabel(name)
    return fig


def agreement_alt(quality: pd.DataFrame, *, statistic: str = "alpha") -> str:
    """Alt text for :func:`agreement_dot_plot`: how many codes fall in each band, and the lowest."""
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
