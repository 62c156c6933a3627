"""The notebooks through the clients people use from a shell: papermill and jupyter nbconvert.

Each test runs the venv's own executables in a subprocess, with the synthetic data set through
the ``HUBSPOKE_*`` environment variables and figures written to the test's temporary folder.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from hubspoke.load import service_years

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SERVICE_REPORT = REPO / "notebooks" / "service_report.ipynb"
#: Generous bound for one notebook run from the shell (it takes seconds here).
TIMEOUT = 300


@pytest.fixture
def hubspoke_env(synthetic_raw: Path, synthetic_processed: Path, tmp_path: Path) -> dict[str, str]:
    """The environment a user would set: synthetic data in, figures to a throwaway folder."""
    env = dict(os.environ)
    env.update(
        HUBSPOKE_RAW_DIR=str(synthetic_raw),
        HUBSPOKE_PROCESSED_DIR=str(synthetic_processed),
        HUBSPOKE_FIGURES_DIR=str(tmp_path / "figures"),
        HUBSPOKE_REPORTS_DIR=str(tmp_path / "reports"),
        MPLBACKEND="agg",
        JUPYTER_RUNTIME_DIR=str(tmp_path / "jupyter-runtime"),
        PYDEVD_DISABLE_FILE_VALIDATION="1",
    )
    return env


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run one of the venv's executables from the repository root; never raises on failure."""
    return subprocess.run(
        [str(BIN / args[0]), *args[1:]],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def error_outputs(nb) -> list[str]:
    """The ``ename: evalue`` of every error output in a notebook."""
    return [
        f"{o.get('ename')}: {o.get('evalue')}"
        for cell in nb.cells
        if cell.cell_type == "code"
        for o in cell.get("outputs", [])
        if o.get("output_type") == "error"
    ]


def test_papermill_help_lists_both_parameters_with_types_and_comments(hubspoke_env):
    result = run(["papermill", "--help-notebook", str(SERVICE_REPORT)], hubspoke_env)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "service_id: str" in out
    assert "year: int" in out
    assert "service to report on" in out
    assert "evaluation year with data for that service" in out


def test_papermill_runs_the_service_report_for_an_existing_service_year(
    hubspoke_env, synthetic_processed, tmp_path
):
    service_id, year = sorted(service_years(synthetic_processed))[0]
    out = tmp_path / "out.ipynb"
    result = run(
        [
            "papermill",
            str(SERVICE_REPORT),
            str(out),
            "-p",
            "service_id",
            service_id,
            "-p",
            "year",
            str(year),
        ],
        hubspoke_env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    nb = nbformat.read(out, as_version=4)
    assert error_outputs(nb) == []
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1
    assert f'service_id = "{service_id}"' in injected[0].source
    assert f"year = {year}" in injected[0].source
    assert any(Path(hubspoke_env["HUBSPOKE_FIGURES_DIR"]).rglob("*.png")), "no figure written"


def test_papermill_fails_with_the_notebooks_own_message_for_an_unknown_service(
    hubspoke_env, synthetic_processed, tmp_path
):
    services = sorted({s for s, _ in service_years(synthetic_processed)})
    out = tmp_path / "out.ipynb"
    result = run(
        [
            "papermill",
            str(SERVICE_REPORT),
            str(out),
            "-p",
            "service_id",
            "S99",
            "-p",
            "year",
            "2015",
        ],
        hubspoke_env,
    )
    assert result.returncode != 0
    assert "ParameterError" in result.stderr
    assert "unknown service" in result.stderr
    assert ", ".join(services) in result.stderr, "the message names the allowed services"
    nb = nbformat.read(out, as_version=4)
    errors = error_outputs(nb)
    assert len(errors) == 1
    assert errors[0].startswith("ParameterError: column 'service_id': unknown service")
    assert "'S99'" in errors[0]


def test_nbconvert_no_input_on_an_analyst_notebook(built_reports, hubspoke_env, tmp_path):
    notebooks = sorted((built_reports.out / "analyst").glob("service_report_*.ipynb"))
    assert notebooks, "the batch wrote no analyst notebook"
    source = notebooks[0]
    result = run(
        [
            "jupyter",
            "nbconvert",
            "--to",
            "html",
            "--no-input",
            "--output-dir",
            str(tmp_path),
            str(source),
        ],
        hubspoke_env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "from hubspoke import" in source.read_text(encoding="utf-8"), "the notebook has code"
    html = (tmp_path / f"{source.stem}.html").read_text(encoding="utf-8")
    # Class names also appear in the embedded CSS: look for elements only.
    assert not re.search(r'class="[^"]*\bjp-InputArea-editor\b', html)
    assert "from hubspoke import" not in html
    assert "load.check_service_year" not in html
    assert re.search(r'class="[^"]*\bjp-OutputArea-output\b', html), "the outputs are still there"
