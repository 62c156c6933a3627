"""The package layout: stages as folders, imports pointing down the data flow, a public API."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

import hubspoke

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "hubspoke"
#: The command line is the top layer: it imports each command's machinery when that
#: command runs, so that ``hubspoke --help`` does not load papermill and nbconvert.
LAZY_ALLOWED = {"cli.py"}


def _function_level_hubspoke_imports(path: Path) -> list[str]:
    """``file:line module`` for each import of a hubspoke module inside a function body."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for func in ast.walk(tree):
        if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(func):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("hubspoke"):
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno} {node.module}")
            elif isinstance(node, ast.Import):
                found += [
                    f"{path.relative_to(PACKAGE)}:{node.lineno} {alias.name}"
                    for alias in node.names
                    if alias.name.startswith("hubspoke")
                ]
    return found


def test_no_hubspoke_import_hides_inside_a_function() -> None:
    """An import inside a function is how a cycle hides from the layering check: none allowed."""
    found = [
        hit
        for path in sorted(PACKAGE.rglob("*.py"))
        if path.relative_to(PACKAGE).as_posix() not in LAZY_ALLOWED
        for hit in _function_level_hubspoke_imports(path)
    ]
    assert found == []


def test_the_scanner_sees_a_function_level_import(tmp_path: Path) -> None:
    """The check above can fail: it finds an import placed inside a function."""
    module = PACKAGE / "_probe_for_layout_test.py"
    try:
        module.write_text("def f():\n    from hubspoke.load import table\n    return table\n")
        assert _function_level_hubspoke_imports(module) == [
            "_probe_for_layout_test.py:2 hubspoke.load"
        ]
    finally:
        module.unlink()


def test_layers_and_cycles_hold() -> None:
    """The import-linter contracts in .importlinter (layers, no sibling cycles) are kept."""
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint), "--config", str(ROOT / ".importlinter")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"Contracts: \d+ kept, 0 broken", result.stdout)


@pytest.mark.parametrize("name", sorted(hubspoke._PUBLIC))
def test_public_api_names_resolve(name: str) -> None:
    """Every name of the public API loads from the package top and is callable."""
    assert callable(getattr(hubspoke, name))


def test_public_api_has_the_promised_functions() -> None:
    """The functions README promises under "Using the library"."""
    promised = {
        "read_refi_qda",
        "read_ees_csv",
        "cohen_kappa",
        "krippendorff_alpha",
        "Table",
        "protect",
        "build_release",
        "clean_all",
        "load_tables",
    }
    assert promised <= set(hubspoke.__all__)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Using the library", 1)[1].split("\n## ", 1)[0]
    assert all(f"`{name}`" in section for name in hubspoke._PUBLIC)


def test_all_lists_exactly_the_public_api() -> None:
    assert set(hubspoke.__all__) == {*hubspoke._PUBLIC, "SYNTHETIC_NOTICE", "__version__"}


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nonesuch'"):
        _ = hubspoke.nonesuch  # type: ignore[attr-defined]


def test_readme_layout_names_every_stage() -> None:
    """README's "How the code is laid out" names every folder and top module of the package."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## How the code is laid out", 1)[1].split("\n## ", 1)[0]
    parts = sorted(
        p.name + "/" if p.is_dir() else p.name
        for p in PACKAGE.iterdir()
        if not p.name.startswith(("_", ".")) and (p.is_dir() or p.suffix == ".py")
    )
    assert [p for p in parts if f"`{p}`" not in section] == []
