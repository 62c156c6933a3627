"""Small helpers every analysis family shares (one home for each)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from hubspoke.errors import ParameterError


def percent(part: pd.Series | float, whole: pd.Series | float) -> pd.Series | float:
    """100 x ``part`` / ``whole``, NaN where ``whole`` is 0 (or missing): no share of nothing."""
    if isinstance(whole, pd.Series):
        return (100.0 * part / whole.where(whole > 0)).astype(float)
    return 100.0 * part / whole if whole else np.nan


def format_ratio(x: float) -> str:
    """A ratio for readers: 2 dp (``"1.76"``); below 0.01 two significant figures (never ``"0.00"``)."""
    if x is None or not math.isfinite(x):
        return "not estimable"
    if x != 0 and abs(x) < 0.01:
        return np.format_float_positional(x, precision=2, unique=False, fractional=False, trim="-")
    return f"{x:,.2f}"


def format_interval(low: float, high: float) -> str:
    """A 95% interval for readers: ``"1.00 to 3.08"``."""
    return f"{format_ratio(low)} to {format_ratio(high)}"


def format_p(p: float) -> str:
    """A p-value for readers: 3 dp (``"0.048"``), ``"<0.001"`` below 0.001, ``"not tested"`` if missing."""
    if p is None or (isinstance(p, float) and math.isnan(p)) or p is pd.NA:
        return "not tested"
    if not 0 <= float(p) <= 1:
        raise ParameterError("a p-value must lie between 0 and 1", column="p", allowed="0 to 1",
                             found=p)  # fmt: skip
    return "<0.001" if float(p) < 0.001 else f"{float(p):.3f}"
