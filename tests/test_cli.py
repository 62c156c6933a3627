"""The hubspoke command explains itself and never answers bad input with a traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from hubspoke.cli import main


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    exe = shutil.which("hubspoke") or sys.executable
    cmd = [exe, *args] if exe.endswith("hubspoke") else [exe, "-m", "hubspoke.cli", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)


def test_top_level_help_lists_every_step():
    result = run_cli("--help")
    assert result.returncode == 0
    for command in ("synth", "clean", "report", "dictionary"):
        assert command in result.stdout
    assert "synthetic" in result.stdout.lower()


def test_synth_help_explains_its_options():
    result = run_cli("synth", "--help")
    assert result.returncode == 0
    for option in ("--seed", "--services", "--scale", "--out", "--if-empty"):
        assert option in result.stdout
    assert "byte-identical" in result.stdout


@pytest.mark.parametrize(
    "bad", [["synth", "--services", "0"], ["synth", "--scale", "-1"], ["nosuchcommand"]]
)
def test_bad_arguments_exit_with_usage_not_traceback(bad):
    result = run_cli(*bad)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "usage:" in result.stderr


def test_synth_refuses_to_overwrite_raw_data_without_force(tmp_path, capsys):
    (tmp_path / "reference").mkdir()
    assert main(["synth", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert str(tmp_path) in err and "--force" in err


def test_synth_if_empty_leaves_existing_data_alone(tmp_path, capsys):
    (tmp_path / "reference").mkdir()
    marker = tmp_path / "reference" / "keep.txt"
    marker.write_text("x")
    assert main(["synth", "--out", str(tmp_path), "--if-empty"]) == 0
    assert "left as it is" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["keep.txt", "reference"]


def test_report_fails_loudly_when_its_machinery_cannot_be_imported(tmp_path):
    """A broken install is an error with the real cause, never a quiet 'nothing to run'."""
    # A package that shadows pandas, which the report machinery imports at module level
    # (through hubspoke.present.display and hubspoke.load); the rest of the command line
    # does not need it.
    shadow = tmp_path / "shadow"
    (shadow / "pandas").mkdir(parents=True)
    (shadow / "pandas" / "__init__.py").write_text(
        'raise ImportError("simulated broken install")\n'
    )
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(shadow), os.environ.get("PYTHONPATH")])),
        # Every folder in the temporary one: the real data/ and reports/ are never touched.
        "HUBSPOKE_ROOT": str(tmp_path),
        "HUBSPOKE_RAW_DIR": str(tmp_path / "raw"),
        "HUBSPOKE_PROCESSED_DIR": str(tmp_path / "processed"),
        "HUBSPOKE_FIGURES_DIR": str(tmp_path / "figures"),
        "HUBSPOKE_REPORTS_DIR": str(tmp_path / "reports"),
        "HUBSPOKE_CONTEXT_DIR": str(tmp_path / "context"),
    }
    result = run_cli("report", "--out", str(tmp_path / "reports"), env=env)
    assert result.returncode != 0
    assert "not built yet" not in result.stdout + result.stderr
    assert "simulated broken install" in result.stderr
    assert not (tmp_path / "reports").exists()
