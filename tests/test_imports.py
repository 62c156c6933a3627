"""A notebook's first cell imports only what every report needs.

scipy.stats and statsmodels take about half a second to import, scipy.sparse (for the
release-wide solve) a tenth; they are imported inside the functions that compute
intervals, tests, models and the solve, so a report that reads its tables from the
release never pays for them. phonenumbers (about 0.03 s) is imported where a phone number
is looked for: a notebook reads quotes the release already de-identified.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
HEAVY = ("scipy.stats", "scipy.sparse", "statsmodels", "phonenumbers")


def _imports(notebook: str) -> str:
    nb = json.loads((NOTEBOOKS / f"{notebook}.ipynb").read_text(encoding="utf-8"))
    return "\n".join(
        line
        for cell in nb["cells"]
        if cell["cell_type"] == "code"
        for line in "".join(cell["source"]).splitlines()
        if line.startswith(("import ", "from "))
    )


@pytest.mark.parametrize("notebook", sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb")))
def test_notebook_imports_leave_out_the_heavy_modules(notebook: str) -> None:
    code = _imports(notebook) + f"\nimport sys\nprint([m for m in {HEAVY!r} if m in sys.modules])"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=NOTEBOOKS, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == "[]"


def test_intervals_still_compute_after_the_lazy_import() -> None:
    import pandas as pd

    from hubspoke.analysis.outcomes import intervals

    low, high = intervals.wilson_interval(pd.Series([5.0]), pd.Series([10.0]))
    assert round(float(low.iloc[0]), 4) == 0.2366  # Wilson 95% for 5/10
    assert round(float(high.iloc[0]), 4) == 0.7634
