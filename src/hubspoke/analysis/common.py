"""Small helpers every analysis family shares (one home for each)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def percent(part: pd.Series | float, whole: pd.Series | float) -> pd.Series | float:
    """100 x ``part`` / ``whole``, NaN where ``whole`` is 0 (or missing): no share of nothing."""
    if isinstance(whole, pd.Series):
        return (100.0 * part / whole.where(whole > 0)).astype(float)
    return 100.0 * part / whole if whole else np.nan
