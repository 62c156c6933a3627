"""environment.yml (conda users) and pyproject.toml (pip users) must list the same pinned packages."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^(?P<name>[A-Za-z0-9_.\-]+)==(?P<version>[^\s;]+)$")
CONDA = re.compile(r"^\s*-\s+(?P<name>[A-Za-z0-9_.\-]+)=(?P<version>[^\s=]+)\s*$")
#: A pin in environment.yml's ``pip:`` section (packages not on conda-forge).
PIP_SECTION = re.compile(r"^\s+-\s+(?P<name>[A-Za-z0-9_.\-]+)==(?P<version>[^\s;]+)\s*$")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pyproject_pins() -> dict[str, str]:
    """Every dependency of pyproject.toml (main and dev), which must be pinned with ==."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = [*project["dependencies"], *project["optional-dependencies"]["dev"]]
    pins = {}
    for spec in specs:
        match = PIN.match(spec)
        assert match, f"pyproject.toml: {spec!r} is not pinned with =="
        pins[_norm(match["name"])] = match["version"]
    return pins


def environment_pins() -> dict[str, str]:
    """The conda packages of environment.yml with their pinned versions (python and pip aside)."""
    pins = {}
    for line in (ROOT / "environment.yml").read_text().splitlines():
        match = CONDA.match(line) or PIP_SECTION.match(line)
        if match and match["name"] not in {"python"}:
            pins[_norm(match["name"])] = match["version"]
    return pins


def test_environment_and_pyproject_list_the_same_pinned_packages():
    assert environment_pins() == pyproject_pins()


def test_required_packages_are_pinned():
    pins = pyproject_pins()
    for name in (
        "jupyterlab",
        "pandas",
        "matplotlib",
        "seaborn",
        "statsmodels",
        "papermill",
        "nbconvert",
        "pytest",
        "pyarrow",
        "openpyxl",
        "tqdm",
        "pandera",
    ):
        assert name in pins, f"{name} is not pinned in pyproject.toml"


def test_drift_is_detected(tmp_path, monkeypatch):
    """The comparison above really fails when one file gains a package the other lacks."""
    env = (
        (ROOT / "environment.yml").read_text().replace("  - tqdm=", "  - tqdm-extra=1.0\n  - tqdm=")
    )
    assert "tqdm-extra" in env
    pins = {}
    for line in env.splitlines():
        match = CONDA.match(line)
        if match and match["name"] != "python":
            pins[_norm(match["name"])] = match["version"]
    assert pins != pyproject_pins()
