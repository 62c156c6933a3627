"""Agreement between coders of the interview transcripts (coding quality).

Three layers:

* :func:`cohen_kappa` - two coders, one label each per unit, optionally weighted;
* :func:`krippendorff_alpha` - any number of coders, missing values allowed, nominal,
  ordinal, interval or ratio data, computed from the coincidence matrix
  (Krippendorff 2011, "Computing Krippendorff's Alpha-Reliability");
* :func:`per_code_agreement` - both statistics per code over every transcript coded by
  two or more coders, with plain-language bands from :func:`agreement_band`.

Undefined statistics are returned as NaN, never as a made-up 0 or 1: when every
coder used one and the same category throughout, chance agreement is already
perfect and kappa/alpha are 0/0. The percent agreement beside them still shows
what happened.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from hubspoke.errors import ParameterError, SchemaError

Level = Literal["nominal", "ordinal", "interval", "ratio"]
LEVELS: tuple[Level, ...] = ("nominal", "ordinal", "interval", "ratio")
Weights = Literal["linear", "quadratic"]
WEIGHTS: tuple[Weights | None, ...] = (None, "linear", "quadratic")
Scale = Literal["landis_koch", "krippendorff"]
SCALES: tuple[Scale, ...] = ("landis_koch", "krippendorff")
Unit = Literal["segment", "transcript"]
UNITS: tuple[Unit, ...] = ("segment", "transcript")
CODING_COLUMNS: tuple[str, ...] = ("transcript_id", "coder", "code_id", "start", "end")

#: Landis & Koch (1977) bands for kappa: (upper bound inclusive, label).
LANDIS_KOCH: tuple[tuple[float, str], ...] = (
    (0.20, "slight"),
    (0.40, "fair"),
    (0.60, "moderate"),
    (0.80, "substantial"),
    (1.00, "almost perfect"),
)
#: Krippendorff (2004, p. 241): rely on alpha >= .800; .667-.800 for tentative conclusions.
KRIPPENDORFF_RELIABLE = 0.800
KRIPPENDORFF_TENTATIVE = 0.667
UNDEFINED_BAND = "not defined"


# --------------------------------------------------------------------------- Cohen's kappa
def cohen_kappa(
    a: Sequence[Hashable] | np.ndarray,
    b: Sequence[Hashable] | np.ndarray,
    *,
    labels: Sequence[Hashable] | None = None,
    weights: Weights | None = None,
) -> float:
    """Cohen's kappa between two coders who each labelled the same units.

    ``labels`` fixes the categories and, for weighted kappa, their order (default:
    the sorted labels seen). Weighted kappa penalises a disagreement by the distance
    between the two labels' positions (``|i - j|`` or ``(i - j)**2``), as
    scikit-learn's ``cohen_kappa_score`` does.

    Returns NaN when chance agreement is already perfect (both coders used one and
    the same single category for every unit): kappa is 0/0 there, and reporting 1.0
    would claim a reliability the data cannot show.
    """
    if weights not in WEIGHTS:
        raise ParameterError(
            "unknown kappa weighting", allowed=["None", "linear", "quadratic"], found=weights
        )
    first, second = _paired(a, b)
    cats = _categories(first, second, labels)
    index = {c: i for i, c in enumerate(cats)}
    k = len(cats)
    table = np.zeros((k, k))
    np.add.at(table, ([index[x] for x in first], [index[y] for y in second]), 1)
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    distance = np.abs(np.subtract.outer(np.arange(k), np.arange(k))).astype(float)
    if weights is None:
        w = (distance > 0).astype(float)
    else:
        w = distance if weights == "linear" else distance**2
    chance = float((w * expected).sum())
    if chance == 0:
        return float("nan")
    return float(1 - (w * table).sum() / chance)


def _paired(
    a: Sequence[Hashable] | np.ndarray, b: Sequence[Hashable] | np.ndarray
) -> tuple[list, list]:
    """Check the two codings are complete and of equal length."""
    first, second = list(a), list(b)
    if len(first) != len(second):
        raise ParameterError(
            "the two coders must label the same units",
            allowed="equal lengths",
            found=(len(first), len(second)),
        )
    if not first:
        raise ParameterError("no units to compare", found=0)
    if pd.isna(pd.Series(first + second, dtype=object)).any():
        raise ParameterError(
            "kappa needs a label from both coders for every unit; use krippendorff_alpha for missing values",
            found="missing value",
        )
    return first, second


def _categories(first: list, second: list, labels: Sequence[Hashable] | None) -> list:
    """The category list: the given labels, or the sorted set of labels seen."""
    seen = set(first) | set(second)
    if labels is None:
        try:
            return sorted(seen)
        except TypeError:
            return sorted(seen, key=str)
    cats = list(labels)
    unknown = seen - set(cats)
    if unknown:
        raise ParameterError(
            "label not in the given labels", allowed=cats, found=sorted(map(str, unknown))
        )
    return cats


# --------------------------------------------------------------------------- Krippendorff's alpha
def krippendorff_alpha(
    reliability_data: pd.DataFrame | np.ndarray | Sequence, *, level: Level = "nominal"
) -> float:
    """Krippendorff's alpha from a coders x units table (NaN/None = value missing).

    Built from the coincidence matrix: every unit with ``m_u >= 2`` values adds each
    ordered pair of its values with weight ``1 / (m_u - 1)``; units with fewer than two
    values cannot be paired and are ignored. ``alpha = 1 - D_o / D_e`` with the
    difference function of the chosen ``level``. Returns NaN when the pairable values
    show no variation at all (``D_e = 0``: alpha is undefined).
    """
    if level not in LEVELS:
        raise ParameterError("unknown level of measurement", allowed=LEVELS, found=level)
    values = _reliability_matrix(reliability_data, level=level)
    cats, counts = _value_counts(values)
    pairable = counts.sum(axis=1) >= 2
    if not pairable.any():
        raise ParameterError("no unit has values from two or more coders", found="0 pairable units")
    coincidence = _coincidences(counts[pairable])
    totals = coincidence.sum(axis=1)
    n = totals.sum()
    delta = _delta_squared(cats, totals, level)
    expected = float((np.outer(totals, totals) * delta).sum())
    if expected == 0:
        return float("nan")
    return float(1 - (n - 1) * (coincidence * delta).sum() / expected)


def _reliability_matrix(data: pd.DataFrame | np.ndarray | Sequence, *, level: Level) -> np.ndarray:
    """Coders x units as floats with NaN for missing (nominal labels may be any hashables)."""
    shape = (
        data.shape if isinstance(data, pd.DataFrame) else np.shape(np.asarray(data, dtype=object))
    )
    if len(shape) != 2:
        raise ParameterError(
            "reliability data must be a 2-D table, rows = coders, columns = units", found=shape
        )
    frame = pd.DataFrame(data)
    if frame.shape[0] < 2:
        raise ParameterError(
            "reliability data must have one row per coder and at least two coders",
            allowed="2-D table, rows = coders, columns = units",
            found=frame.shape,
        )
    if frame.shape[1] == 0:
        raise ParameterError("reliability data has no units", found=frame.shape)
    stacked = frame.stack(future_stack=True)
    numeric = pd.to_numeric(stacked, errors="coerce")
    bad = numeric.isna() & stacked.notna()
    if bad.any():
        if level != "nominal":
            raise ParameterError(
                f"{level} data must be numbers",
                allowed="numbers or NaN",
                found=stacked[bad].iloc[0],
            )
        codes, _ = pd.factorize(stacked)
        numeric = pd.Series(np.where(codes < 0, np.nan, codes), index=stacked.index, dtype=float)
    return numeric.to_numpy(dtype=float).reshape(frame.shape)


def _value_counts(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct values and a units x values table of how many coders gave each."""
    present = ~np.isnan(values)
    cats = np.unique(values[present])
    counts = np.zeros((values.shape[1], cats.size))
    coder, unit = np.nonzero(present)
    np.add.at(counts, (unit, np.searchsorted(cats, values[coder, unit])), 1)
    return cats, counts


def _coincidences(counts: np.ndarray) -> np.ndarray:
    """The coincidence matrix o_ck from pairable units' value counts."""
    weight = 1 / (counts.sum(axis=1) - 1)
    pairs = (counts * weight[:, None]).T @ counts
    return pairs - np.diag((counts * weight[:, None]).sum(axis=0))


def _delta_squared(cats: np.ndarray, totals: np.ndarray, level: Level) -> np.ndarray:
    """Squared difference function between every pair of values (Krippendorff 2011)."""
    if level == "nominal":
        return 1 - np.eye(cats.size)
    if level == "interval":
        return np.subtract.outer(cats, cats) ** 2
    if level == "ratio":
        sums = np.add.outer(cats, cats)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = (np.subtract.outer(cats, cats) / sums) ** 2
        return np.nan_to_num(ratio, nan=0.0)
    cumulative = np.cumsum(totals)
    low, high = (
        np.minimum.outer(np.arange(cats.size), np.arange(cats.size)),
        np.maximum.outer(np.arange(cats.size), np.arange(cats.size)),
    )
    between = cumulative[high] - cumulative[low] + totals[low]
    return (between - (totals[low] + totals[high]) / 2) ** 2


# --------------------------------------------------------------------------- bands
def agreement_band(value: float, *, scale: Scale = "landis_koch") -> str:
    """Plain-language band for an agreement statistic.

    ``landis_koch`` (for kappa): poor (< 0), slight (to 0.20), fair (to 0.40), moderate
    (to 0.60), substantial (to 0.80), almost perfect (above). ``krippendorff`` (for alpha):
    reliable (>= 0.800), tentative conclusions only (0.667 to 0.800), unreliable (< 0.667).
    NaN gives "not defined".
    """
    if scale not in SCALES:
        raise ParameterError("unknown agreement scale", allowed=SCALES, found=scale)
    if value is None or pd.isna(value):
        return UNDEFINED_BAND
    if scale == "krippendorff":
        if value >= KRIPPENDORFF_RELIABLE:
            return "reliable"
        return "tentative conclusions only" if value >= KRIPPENDORFF_TENTATIVE else "unreliable"
    if value < 0:
        return "poor"
    return next((label for upper, label in LANDIS_KOCH if value <= upper), LANDIS_KOCH[-1][1])


# --------------------------------------------------------------------------- per code
def per_code_agreement(
    codings: pd.DataFrame,
    *,
    unit: Unit = "segment",
    codes: Iterable[Hashable] | None = None,
    n_boot: int = 0,
    seed: int = 2014,
    level: float = 0.95,
    dp: int | None = None,
) -> pd.DataFrame:
    """Cohen's kappa and Krippendorff's alpha (nominal) per code, over double-coded transcripts.

    ``codings`` has one row per application of a code: ``transcript_id, coder, code_id,
    start, end`` (0-based character positions, ``start`` inclusive, ``end`` exclusive).
    Only transcripts with two or more coders count. A coder who coded a transcript
    but applied no code at all is invisible in this table and so cannot be counted.

    Unit of analysis (``unit``):

    * ``"segment"`` (default): in each double-coded transcript, the start and end
      positions of every coding by every coder cut the text into elementary segments;
      the units are the segments that at least one coder coded with some code (uncoded
      text is left out, so long stretches nobody coded do not inflate agreement). For
      each code, a coder's value on a unit is 1 if that coder applied the code over it,
      else 0. Segments count once whatever their length.
    * ``"transcript"``: one unit per transcript; the value is whether the coder applied
      the code anywhere in it.

    Kappa pools every pair of coders on every unit (coders are ordered within each
    transcript; with two coders this is plain Cohen's kappa on the pooled units).
    Alpha uses all coders of each unit. ``percent_agreement`` is the share of those
    coder pairs giving the same value. ``codes`` lists codes to report even if never
    applied (from the codebook); their statistics are NaN.

    Intervals (``n_boot`` > 0): ``percent_agreement_low/_high, kappa_low/_high,
    alpha_low/_high``, a percentile bootstrap at ``level`` resampling double-coded
    transcripts whole (``n_boot`` resamples from ``seed``, as
    :func:`judgement_agreement`). ``dp`` (2 or 3) rounds every value exactly as it
    prints and computes the bands from the rounded values, so bands agree with the
    numbers shown; ``dp=None`` (default) keeps full precision.
    """
    if unit not in UNITS:
        raise ParameterError("unknown unit of analysis", allowed=UNITS, found=unit)
    _check_interval_options(n_boot, level, dp)
    frame = _check_codings(codings)
    per_transcript = frame.groupby("transcript_id", sort=True)["coder"].nunique()
    double = per_transcript[per_transcript >= 2].index
    if double.empty:
        raise ParameterError(
            "no transcript was coded by two or more coders, so agreement cannot be computed",
            allowed="at least one transcript with two coders",
            found=f"{len(per_transcript)} transcripts, each with one coder",
        )
    frame = frame[frame["transcript_id"].isin(double)]
    all_codes = pd.unique(
        pd.concat([frame["code_id"].astype(object), pd.Series(list(codes or []), dtype=object)])
    )
    presence = _Presence.of(frame, unit=unit, codes=all_codes)
    result = pd.DataFrame([_code_row(code, i, presence) for i, code in enumerate(all_codes)])
    values = ["percent_agreement", "kappa", "alpha"]
    if n_boot:
        bounds = _code_intervals(presence, list(all_codes), n_boot=n_boot, seed=seed, level=level)
        result = result.merge(bounds, on="code_id", how="left")
        values += [f"{v}{end}" for v in values for end in ("_low", "_high")]
    result = _banded(result, dp, values=values)
    return result.sort_values("code_id", key=lambda s: s.astype(str), ignore_index=True)


def _check_codings(codings: pd.DataFrame) -> pd.DataFrame:
    """Required columns present, positions whole numbers with start < end."""
    if not isinstance(codings, pd.DataFrame):
        raise SchemaError(
            "codings must be a table", allowed="pandas DataFrame", found=type(codings).__name__
        )
    for column in CODING_COLUMNS:
        if column not in codings.columns:
            raise SchemaError(
                "required column missing",
                column=column,
                allowed=CODING_COLUMNS,
                found=list(codings.columns),
            )
    frame = codings.loc[:, list(CODING_COLUMNS)].copy()
    for column in ("transcript_id", "coder", "code_id"):
        if frame[column].isna().any():
            raise SchemaError("missing value", column=column, found=None)
    for column in ("start", "end"):
        numbers = pd.to_numeric(frame[column], errors="coerce")
        bad = numbers.isna() | (numbers < 0) | (numbers % 1 != 0)
        if bad.any():
            raise SchemaError(
                "character position must be a whole number >= 0",
                column=column,
                found=frame.loc[bad, column].iloc[0],
            )
        frame[column] = numbers.astype("int64")
    wrong = frame["end"] <= frame["start"]
    if wrong.any():
        raise SchemaError(
            "end must be after start (end is exclusive)",
            column="end",
            found=tuple(frame.loc[wrong, ["start", "end"]].iloc[0]),
        )
    return frame


@dataclass(frozen=True)
class _Presence:
    """Every unit of every double-coded transcript: which coder applied which code (0/1).

    ``values[row, code, rank]`` is 1 when the transcript's coder of that rank (coders in
    name order) applied the code over the unit, 0 when not, NaN for a rank the
    transcript has no coder of; rows run by transcript (sorted), then unit. One array
    for all codes, so each code's statistics are a slice, not a pivot of a long table.
    """

    transcript: np.ndarray
    values: np.ndarray

    @classmethod
    def of(cls, frame: pd.DataFrame, *, unit: Unit, codes: np.ndarray) -> _Presence:
        pairs = (
            frame.loc[:, ["transcript_id", "coder"]].drop_duplicates()
            .assign(_name=lambda d: d["coder"].map(str))
            .sort_values(["transcript_id", "_name"], kind="stable")
        )  # fmt: skip
        pairs["_rank"] = pairs.groupby("transcript_id", sort=False).cumcount()
        coded = frame.merge(pairs.drop(columns="_name"), on=["transcript_id", "coder"]).assign(
            _code=pd.Index(codes).get_indexer(frame["code_id"].astype(object))
        )
        blocks = [
            _transcript_presence(group, unit=unit, n_codes=len(codes))
            for _, group in coded.groupby("transcript_id", sort=True)
        ]
        width = max(block.shape[2] for _, block in blocks)
        values = np.full((sum(b.shape[0] for _, b in blocks), len(codes), width), np.nan)
        row = 0
        for _, block in blocks:
            values[row : row + block.shape[0], :, : block.shape[2]] = block
            row += block.shape[0]
        transcript = np.concatenate([np.full(b.shape[0], t, dtype=object) for t, b in blocks])
        return cls(transcript=transcript, values=values)


def _transcript_presence(
    group: pd.DataFrame, *, unit: Unit, n_codes: int
) -> tuple[object, np.ndarray]:
    """One transcript's units x codes x coders block of 0/1 (absence an explicit 0).

    ``group``: its codings with ``_rank`` (the coder's place in name order) and ``_code``
    (the code's column). Units: ``"transcript"`` one; ``"segment"`` the elementary
    segments between every coding's start and end that some coder coded (see
    :func:`per_code_agreement`).
    """
    rank, code = group["_rank"].to_numpy(), group["_code"].to_numpy()
    n_coders = int(rank.max()) + 1
    if unit == "transcript":
        block = np.zeros((1, n_codes, n_coders))
        block[0, code, rank] = 1
        return group["transcript_id"].iloc[0], block
    starts, ends = group["start"].to_numpy(), group["end"].to_numpy()
    bounds = np.unique(np.concatenate([starts, ends]))
    first, last = np.searchsorted(bounds, starts), np.searchsorted(bounds, ends)
    covered = np.zeros(bounds.size, dtype=int)
    np.add.at(covered, first, 1)
    np.add.at(covered, last, -1)
    units = np.flatnonzero(np.cumsum(covered)[:-1] > 0)
    lengths = last - first
    segment = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    row = np.searchsorted(units, np.repeat(first, lengths) + segment)
    block = np.zeros((units.size, n_codes, n_coders))
    block[row, np.repeat(code, lengths), np.repeat(rank, lengths)] = 1
    return group["transcript_id"].iloc[0], block


def _code_row(code: Hashable, index: int, presence: _Presence) -> dict:
    """Statistics for one code (column ``index`` of the presence array)."""
    matrix = presence.values[:, index, :]
    first, second = _pairs(matrix)
    coded = np.nansum(matrix, axis=1) > 0
    alpha = krippendorff_alpha(matrix.T, level="nominal") if matrix.shape[1] >= 2 else np.nan
    return {
        "code_id": code,
        "n_transcripts": int(pd.unique(presence.transcript).size),
        "n_units": int(matrix.shape[0]),
        "n_units_coded": int(coded.sum()),
        "percent_agreement": float(np.mean(first == second) * 100),
        "kappa": cohen_kappa(first, second, labels=[0.0, 1.0]),
        "alpha": alpha,
    }


def _pairs(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pool every pair of coder columns over the units where both have a value."""
    firsts, seconds = [], []
    for i in range(matrix.shape[1]):
        for j in range(i + 1, matrix.shape[1]):
            both = ~np.isnan(matrix[:, i]) & ~np.isnan(matrix[:, j])
            firsts.append(matrix[both, i])
            seconds.append(matrix[both, j])
    return np.concatenate(firsts), np.concatenate(seconds)


# --------------------------------------------------------------------------- bootstrap intervals
#: Bootstrap resamples and seed of every agreement interval (same data, same interval).
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 2014
#: Decimal places agreement values may be reported to.
DECIMALS: tuple[int, ...] = (2, 3)
#: How every agreement interval here is made, in words.
CI_METHOD = "percentile bootstrap, transcripts resampled"


def _kappa_from_tables(tables: np.ndarray) -> np.ndarray:
    """Unweighted Cohen's kappa of each k x k table (last two axes); NaN where chance is perfect."""
    n = tables.sum(axis=(-2, -1))
    with np.errstate(invalid="ignore", divide="ignore"):
        observed = np.trace(tables, axis1=-2, axis2=-1) / n
        chance = (tables.sum(axis=-1) * tables.sum(axis=-2)).sum(axis=-1) / n**2
        kappa = (observed - chance) / (1 - chance)
    return np.where((n > 0) & (chance < 1), kappa, np.nan)


def _alpha_from_coincidences(coincidences: np.ndarray) -> np.ndarray:
    """Nominal Krippendorff's alpha of each coincidence matrix (last two axes); NaN when undefined."""
    n = coincidences.sum(axis=(-2, -1))
    totals = coincidences.sum(axis=-1)
    disagree = n - np.trace(coincidences, axis1=-2, axis2=-1)
    expected = n**2 - (totals**2).sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        alpha = 1 - (n - 1) * disagree / expected
    return np.where(expected > 0, alpha, np.nan)


def _observed_from_tables(tables: np.ndarray) -> np.ndarray:
    """Share of pairs on the diagonal of each table (NaN with no pairs)."""
    n = tables.sum(axis=(-2, -1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, np.trace(tables, axis1=-2, axis2=-1) / n, np.nan)


def _unit_coincidences(counts: np.ndarray) -> np.ndarray:
    """Coincidence matrix of each unit from its value counts (units x k -> units x k x k)."""
    m = counts.sum(axis=1)
    weight = np.where(m >= 2, 1 / np.maximum(m - 1, 1), 0.0)
    outer = counts[:, :, None] * counts[:, None, :]
    diagonal = counts[:, :, None] * np.eye(counts.shape[1])[None, :, :]
    return (outer - diagonal) * weight[:, None, None]


def _percentile_bounds(values: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval along axis 0, ignoring resamples where the statistic is undefined."""
    tail = (1 - level) / 2
    with np.errstate(invalid="ignore"):
        defined = ~np.isnan(values).all(axis=0)
    low = np.full(values.shape[1:], np.nan)
    high = np.full(values.shape[1:], np.nan)
    if defined.any():
        low[defined] = np.nanquantile(values[:, defined], tail, axis=0)
        high[defined] = np.nanquantile(values[:, defined], 1 - tail, axis=0)
    return low, high


def _bootstrap(
    pair_tables: np.ndarray,
    coincidences: np.ndarray,
    *,
    n_boot: int,
    seed: int,
    level: float,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Percentile intervals of observed agreement, kappa and alpha, resampling transcripts.

    ``pair_tables`` and ``coincidences`` are per transcript (axis 0) and per statistic
    group (axis 1), k x k each; both add up over transcripts, so a resample is a
    weighted sum with multinomial counts.
    """
    n_t = pair_tables.shape[0]
    draws = np.random.default_rng(seed).multinomial(n_t, np.full(n_t, 1 / n_t), size=n_boot)
    tables = np.einsum("bt,tgij->bgij", draws, pair_tables)
    coincide = np.einsum("bt,tgij->bgij", draws, coincidences)
    return {
        "observed": _percentile_bounds(_observed_from_tables(tables), level),
        "kappa": _percentile_bounds(_kappa_from_tables(tables), level),
        "alpha": _percentile_bounds(_alpha_from_coincidences(coincide), level),
    }


def _check_interval_options(n_boot: int, level: float, dp: int | None) -> None:
    """Resamples a whole number >= 0, level in (0, 1), dp one of :data:`DECIMALS` (or None)."""
    if isinstance(n_boot, bool) or not isinstance(n_boot, int | np.integer) or n_boot < 0:
        raise ParameterError("n_boot must be a whole number >= 0", column="n_boot", found=n_boot)
    if not 0 < level < 1:
        raise ParameterError("level must be between 0 and 1", column="level", found=level)
    if dp is not None and dp not in DECIMALS:
        raise ParameterError(
            "agreement values are reported to 2 or 3 decimal places",
            column="dp",
            allowed=DECIMALS,
            found=dp,
        )


def shown(value: float, dp: int) -> float:
    """``value`` rounded to ``dp`` places exactly as it is printed (``f"{value:.{dp}f}"``)."""
    return float("nan") if value is None or pd.isna(value) else round(float(value), dp)


def _banded(frame: pd.DataFrame, dp: int | None, *, values: Iterable[str]) -> pd.DataFrame:
    """Values rounded to ``dp`` (when given), then bands computed from those shown values."""
    if dp is not None:
        frame = frame.assign(**{c: [shown(v, dp) for v in frame[c]] for c in values})
    return frame.assign(
        kappa_band=[agreement_band(v) for v in frame["kappa"]],
        alpha_band=[agreement_band(v, scale="krippendorff") for v in frame["alpha"]],
    )


# --------------------------------------------------------------------------- per code, intervals
def _per_transcript_tables(
    presence: _Presence, codes: Sequence[Hashable]
) -> tuple[np.ndarray, np.ndarray]:
    """Per double-coded transcript and code: pooled coder-pair 2 x 2 table and coincidence matrix."""
    transcripts, t_row = np.unique(presence.transcript.astype(str), return_inverse=True)
    n_rows, n_codes, width = presence.values.shape
    matrix = presence.values.reshape(n_rows * n_codes, width)  # rows: unit, then code
    t_of = np.repeat(t_row, n_codes)
    c_of = np.tile(np.arange(n_codes), n_rows)
    tables = np.zeros((len(transcripts), len(codes), 2, 2))
    for i in range(width):
        for j in range(i + 1, width):
            both = ~np.isnan(matrix[:, i]) & ~np.isnan(matrix[:, j])
            np.add.at(
                tables,
                (t_of[both], c_of[both], matrix[both, i].astype(int), matrix[both, j].astype(int)),
                1,
            )
    ones = np.nansum(matrix, axis=1)
    m = (~np.isnan(matrix)).sum(axis=1)
    unit_coincidences = _unit_coincidences(np.column_stack([m - ones, ones]))
    coincidences = np.zeros((len(transcripts), len(codes), 2, 2))
    np.add.at(coincidences, (t_of, c_of), unit_coincidences)
    return tables, coincidences


def _code_intervals(
    presence: _Presence, codes: Sequence[Hashable], *, n_boot: int, seed: int, level: float
) -> pd.DataFrame:
    """Bootstrap bounds of percent agreement, kappa and alpha per code."""
    tables, coincidences = _per_transcript_tables(presence, codes)
    bounds = _bootstrap(tables, coincidences, n_boot=n_boot, seed=seed, level=level)
    return pd.DataFrame(
        {
            "code_id": list(codes),
            "percent_agreement_low": bounds["observed"][0] * 100,
            "percent_agreement_high": bounds["observed"][1] * 100,
            "kappa_low": bounds["kappa"][0],
            "kappa_high": bounds["kappa"][1],
            "alpha_low": bounds["alpha"][0],
            "alpha_high": bounds["alpha"][1],
        }
    )


# --------------------------------------------------------------------------- judgement agreement
JUDGEMENT_CATEGORIES: tuple[str, ...] = ("supports", "refutes", "refines")
JUDGEMENT_COLUMNS: tuple[str, ...] = ("transcript_id", "theory_id", "coder", "check", "judgement")
#: The ``coder_pair`` of the row pooling every pair of coders.
ALL_PAIRS = "All pairs"


def _judgement_rows(judgements: pd.DataFrame) -> pd.DataFrame:
    """Judgements checked: required columns, known judgements and checks, plain strings."""
    if not isinstance(judgements, pd.DataFrame):
        raise SchemaError(
            "judgements must be a table",
            allowed="pandas DataFrame",
            found=type(judgements).__name__,
        )
    missing = [c for c in JUDGEMENT_COLUMNS if c not in judgements.columns]
    if missing:
        raise SchemaError(
            "judgements: required column missing",
            column=missing[0],
            allowed=JUDGEMENT_COLUMNS,
            found=list(judgements.columns),
        )
    frame = judgements.loc[:, list(JUDGEMENT_COLUMNS)].astype("string")
    for column, allowed in (("judgement", JUDGEMENT_CATEGORIES), ("check", ("main", "agreement"))):
        bad = ~frame[column].isin(allowed)
        if bad.any():
            raise SchemaError(
                f"judgements: unknown {column}",
                column=column,
                allowed=allowed,
                found=str(frame.loc[bad, column].iloc[0]),
            )
    return frame


def _judgement_pairs(judgements: pd.DataFrame) -> pd.DataFrame:
    """Main and agreement judgement of each double-judged transcript and theory, by two coders."""
    frame = _judgement_rows(judgements)
    main = frame[frame["check"] == "main"].drop_duplicates(["transcript_id", "theory_id"])
    second = frame[frame["check"] == "agreement"]
    pairs = main.merge(second, on=["transcript_id", "theory_id"], suffixes=("_main", "_second"))
    pairs = pairs[pairs["coder_main"] != pairs["coder_second"]]
    if pairs.empty:
        raise ParameterError(
            "no transcript was judged by two coders (a main and an agreement judgement), so "
            "judgement agreement cannot be computed",
            column="check",
            allowed="at least one transcript x theory with main and agreement rows",
            found=f"{len(main)} main, {len(second)} agreement rows",
        )
    first_is_main = pairs["coder_main"] <= pairs["coder_second"]
    return pairs.assign(
        coder_pair=[" & ".join(sorted(p)) for p in zip(pairs["coder_main"],
                                                        pairs["coder_second"], strict=True)],
        first=pairs["judgement_main"].where(first_is_main, pairs["judgement_second"]),
        second=pairs["judgement_second"].where(first_is_main, pairs["judgement_main"]),
    ).reset_index(drop=True)  # fmt: skip


def double_judged(judgements: pd.DataFrame) -> int:
    """Interviews judged by two coders: the all-pairs ``n_transcripts`` of :func:`judgement_agreement`.

    Counted from the pairs alone (no statistics); 0 when no interview was judged twice.
    """
    try:
        pairs = _judgement_pairs(judgements)
    except ParameterError:
        return 0
    return len(set(pairs["transcript_id"]))


def _group_tables(
    pairs: pd.DataFrame, first: str, second: str, units: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray, int]:
    """Per transcript: the k x k table of (first, second) and the coincidences of its units."""
    k = len(JUDGEMENT_CATEGORIES)
    index = {c: i for i, c in enumerate(JUDGEMENT_CATEGORIES)}
    transcripts = sorted(set(pairs["transcript_id"]))
    t_index = {t: i for i, t in enumerate(transcripts)}
    tables = np.zeros((len(transcripts), 1, k, k))
    np.add.at(
        tables,
        (
            pairs["transcript_id"].map(t_index).to_numpy(),
            0,
            pairs[first].map(index).to_numpy(),
            pairs[second].map(index).to_numpy(),
        ),
        1,
    )
    counts = (  # per unit (transcript x theory): how many coders gave each judgement
        units.assign(_v=units["judgement"].map(index))
        .groupby(["transcript_id", "theory_id", "_v"])
        .size()
        .unstack("_v", fill_value=0)
        .reindex(columns=range(k), fill_value=0)
    )
    coincidences = np.zeros((len(transcripts), 1, k, k))
    if len(counts):
        unit_matrix = _unit_coincidences(counts.to_numpy().astype(float))
        t_of = np.array([t_index[t] for t in counts.index.get_level_values("transcript_id")])
        np.add.at(coincidences, (t_of, np.zeros_like(t_of)), unit_matrix)
    return tables, coincidences, len(transcripts)


def _agreement_row(
    label: str,
    pairs: pd.DataFrame,
    units: pd.DataFrame,
    *,
    first: str,
    second: str,
    n_boot: int,
    seed: int,
    level: float,
) -> dict[str, object]:
    """One row of :func:`judgement_agreement`: estimates and their bootstrap intervals."""
    tables, coincidences, n_transcripts = _group_tables(pairs, first, second, units)
    total, coincide = tables.sum(axis=0), coincidences.sum(axis=0)
    row: dict[str, object] = {
        "coder_pair": label,
        "n_transcripts": n_transcripts,
        "n_pairs": int(total.sum()),
        "observed_agreement": float(_observed_from_tables(total)[0]),
        "kappa": float(_kappa_from_tables(total)[0]),
        "alpha": float(_alpha_from_coincidences(coincide)[0]),
    }
    bounds = (
        _bootstrap(tables, coincidences, n_boot=n_boot, seed=seed, level=level) if n_boot else {}
    )
    for stat, name in (("observed", "observed_agreement"), ("kappa", "kappa"), ("alpha", "alpha")):
        low, high = bounds.get(stat, (np.array([np.nan]), np.array([np.nan])))
        row[f"{name}_low"], row[f"{name}_high"] = float(low[0]), float(high[0])
    return row


def judgement_agreement(
    judgements: pd.DataFrame,
    *,
    n_boot: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
    dp: int = 2,
    level: float = 0.95,
) -> pd.DataFrame:
    """Agreement between coders on the judgements that drive verdicts (supports / refutes / refines).

    ``judgements`` holds ``transcript_id, theory_id, coder, check, judgement``: one
    ``main`` row per transcript and theory and, where the transcript was double-judged,
    an ``agreement`` row by another coder. Each unit is a transcript x theory with both;
    an agreement row by the main coder is ignored.

    One row per coder pair (``"AB & CD"``, coders in name order; Cohen's kappa with the
    first-named coder as rater 1), then ``"All pairs"`` (every pair pooled: kappa with the
    main judgement as rater 1 and the agreement judgement as rater 2; alpha with every
    coder's judgement of each unit). Intervals: percentile bootstrap at ``level``,
    resampling transcripts (all units of a transcript together), ``n_boot`` resamples
    from ``seed`` (same data and seed, same interval); ``n_boot=0`` leaves them missing.

    Columns: ``coder_pair, n_transcripts, n_pairs`` (units compared), ``observed_agreement``
    (share of units where the two agree, 0-1) with ``observed_agreement_low/_high``,
    ``kappa, kappa_low, kappa_high, kappa_band`` (Landis & Koch), ``alpha, alpha_low,
    alpha_high, alpha_band`` (Krippendorff, nominal), ``dp``, ``n_boot``, ``level``,
    ``ci_method``. Every value is rounded to ``dp`` places (2 or 3) exactly as it prints,
    and each band is computed from that rounded value, so a band never disagrees with
    the number shown beside it. Undefined statistics are NaN with band "not defined".
    """
    _check_interval_options(n_boot, level, dp)
    pairs = _judgement_pairs(judgements)
    frame = _judgement_rows(judgements)
    rows = []
    for label, group in pairs.groupby("coder_pair", sort=True):
        units = pd.concat(
            [
                group.loc[:, ["transcript_id", "theory_id", "judgement_main"]].rename(
                    columns={"judgement_main": "judgement"}
                ),
                group.loc[:, ["transcript_id", "theory_id", "judgement_second"]].rename(
                    columns={"judgement_second": "judgement"}
                ),
            ]
        )
        rows.append(
            _agreement_row(
                str(label),
                group,
                units,
                first="first",
                second="second",
                n_boot=int(n_boot),
                seed=seed,
                level=level,
            )  # fmt: skip
        )
    keys = pairs.loc[:, ["transcript_id", "theory_id"]].drop_duplicates()
    everyone = frame.merge(keys, on=["transcript_id", "theory_id"]).drop_duplicates(
        ["transcript_id", "theory_id", "coder"]
    )
    rows.append(
        _agreement_row(
            ALL_PAIRS,
            pairs,
            everyone,
            first="judgement_main",
            second="judgement_second",
            n_boot=int(n_boot),
            seed=seed,
            level=level,
        )  # fmt: skip
    )
    values = [
        f"{name}{end}"
        for name in ("observed_agreement", "kappa", "alpha")
        for end in ("", "_low", "_high")
    ]
    out = _banded(pd.DataFrame(rows), dp, values=values)
    columns = ["coder_pair", "n_transcripts", "n_pairs",
               "observed_agreement", "observed_agreement_low", "observed_agreement_high",
               "kappa", "kappa_low", "kappa_high", "kappa_band",
               "alpha", "alpha_low", "alpha_high", "alpha_band"]  # fmt: skip
    return out.loc[:, columns].assign(dp=dp, n_boot=int(n_boot), level=level, ci_method=CI_METHOD)
