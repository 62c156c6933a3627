"""The report notebooks are thin, parameterised and committed clean (no kernel started here)."""

from __future__ import annotations

import ast
import io
import re
import tokenize
from pathlib import Path

import nbformat
import papermill
import pytest

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
EXPECTED = {
    "programme_summary",
    "service_report",
    "cross_site",
    "realist_synthesis",
    "coding_quality",
    "local_context",
}

#: Text that means analysis is being done in the notebook instead of in hubspoke.
ANALYSIS_PATTERNS = {
    "groupby": re.compile(r"\.groupby\("),
    "pandas call": re.compile(r"\bpd\."),
    "pandas import": re.compile(r"\bimport pandas\b"),
    "merge": re.compile(r"\.merge\("),
    "iterrows loop": re.compile(r"\bfor\b[^\n]*\bin\b[^\n]*\.iterrows\("),
    "pivot": re.compile(r"\.pivot(_table)?\("),
    "aggregation": re.compile(r"\.agg(regate)?\("),
    "value_counts": re.compile(r"\.value_counts\("),
    "crosstab": re.compile(r"\bcrosstab\("),
}

PYTHON_TYPES = {"str": str, "int": int, "float": float, "bool": bool}


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def code_cells(nb) -> list:
    return [c for c in nb.cells if c.cell_type == "code"]


def parameters_cell(nb):
    (cell,) = [c for c in nb.cells if "parameters" in tags(c)]
    return cell


def comment_lines(source: str) -> set[int]:
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    return {tok.start[0] for tok in tokens if tok.type == tokenize.COMMENT}


def declared_parameters(source: str) -> dict[str, tuple[str, object]]:
    """name -> (annotation, literal default) of a parameters cell, failing on anything else."""
    tree = ast.parse(source)
    commented = comment_lines(source)
    found: dict[str, tuple[str, object]] = {}
    for node in tree.body:
        assert isinstance(node, ast.AnnAssign), (
            f"line {node.lineno}: only annotated assignments belong in the parameters cell"
        )
        assert isinstance(node.target, ast.Name), f"line {node.lineno}: assign to a plain name"
        assert node.value is not None, f"line {node.lineno}: {node.target.id} needs a default"
        default = ast.literal_eval(node.value)  # raises for anything but a literal
        assert node.lineno in commented, f"{node.target.id} needs a trailing comment"
        found[node.target.id] = (ast.unparse(node.annotation), default)
    assert found, "the parameters cell declares no parameter"
    return found


def test_every_expected_notebook_is_in_the_notebooks_folder():
    assert {p.stem for p in NOTEBOOKS} == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_without_outputs_or_execution_counts(path):
    nb = read(path)
    for i, cell in enumerate(code_cells(nb)):
        assert cell.get("outputs") == [], f"cell {i} has outputs"
        assert cell.get("execution_count") is None, f"cell {i} has an execution count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_on_the_python3_kernel(path):
    assert read(path).metadata["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_has_exactly_one_parameters_cell(path):
    nb = read(path)
    cells = [c for c in nb.cells if "parameters" in tags(c)]
    assert len(cells) == 1
    assert cells[0].cell_type == "code"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_parameters_are_annotated_literals_with_a_comment(path):
    declared = declared_parameters(parameters_cell(read(path)).source)
    for name, (annotation, default) in declared.items():
        assert annotation in PYTHON_TYPES, f"{name}: annotate with a simple type"
        assert isinstance(default, PYTHON_TYPES[annotation]), f"{name}: default is not {annotation}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_papermill_documents_every_parameter_with_its_type_and_help(path):
    declared = declared_parameters(parameters_cell(read(path)).source)
    inspected = papermill.inspect_notebook(str(path))
    assert set(inspected) == set(declared)
    for name, (annotation, default) in declared.items():
        assert inspected[name]["inferred_type_name"] == annotation
        assert ast.literal_eval(inspected[name]["default"]) == default
        assert inspected[name]["help"].strip(), f"{name} has no help text for --help-notebook"


def test_service_report_takes_service_id_as_text_and_year_as_a_number():
    inspected = papermill.inspect_notebook(str(NOTEBOOK_DIR / "service_report.ipynb"))
    assert {name: p["inferred_type_name"] for name, p in inspected.items()} == {
        "service_id": "str",
        "year": "int",
    }


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_first_code_cell_after_parameters_validates_them(path):
    nb = read(path)
    cells = code_cells(nb)
    index = next(i for i, c in enumerate(cells) if "parameters" in tags(c))
    assert index + 1 < len(cells), "no code cell after the parameters"
    following = cells[index + 1].source
    assert re.search(r"\bload\.check_\w+\(", following), "the parameters are not validated"
    for name in declared_parameters(cells[index].source):
        assert re.search(rf"load\.check_\w+\([^)]*\b{name}\b", following), (
            f"{name} is not passed to a load.check_* validator"
        )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_holds_no_analysis_logic(path):
    nb = read(path)
    for i, cell in enumerate(code_cells(nb)):
        for what, pattern in ANALYSIS_PATTERNS.items():
            assert not pattern.search(cell.source), f"cell {i} does {what}: move it to hubspoke"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_shows_a_header_and_a_contents_list(path):
    code = "\n".join(c.source for c in code_cells(read(path)))
    assert "display.header(" in code
    assert "display.contents(" in code


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_header_comes_before_any_other_output(path):
    cells = code_cells(read(path))
    first_display = next(i for i, c in enumerate(cells) if "display." in c.source)
    assert "display.header(" in cells[first_display].source
