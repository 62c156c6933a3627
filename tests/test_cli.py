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


# ---------------------------------------------------------------------------
# Exit codes and verbosity: 0 ok, 1 data problems, 2 usage, 130 Ctrl-C (test_hostile_report)
# ---------------------------------------------------------------------------


@pytest.fixture
def tiny_project(tmp_path, monkeypatch):
    """Every HUBSPOKE_* folder in ``tmp_path``, with just enough processed data to plan reports."""
    import pandas as pd

    from hubspoke.spec.raw import SUBMISSION_TABLE_NAMES

    processed = tmp_path / "processed"
    processed.mkdir()
    pd.DataFrame({"service_id": ["S01", "S01"], "year": [2014, 2015]}).to_parquet(
        processed / f"{SUBMISSION_TABLE_NAMES[0]}.parquet", index=False
    )
    for name, folder in {
        "RAW_DIR": "raw",
        "PROCESSED_DIR": "processed",
        "FIGURES_DIR": "figures",
        "REPORTS_DIR": "reports",
        "CONTEXT_DIR": "context",
    }.items():
        monkeypatch.setenv(f"HUBSPOKE_{name}", str(tmp_path / folder))
    return tmp_path


def test_a_data_problem_exits_1_with_the_error_and_no_traceback(tiny_project, capsys):
    for table in (tiny_project / "processed").iterdir():
        table.unlink()  # no cleaned data: the processed folder is the problem, not the command
    assert main(["report", "--out", str(tiny_project / "reports")]) == 1
    err = capsys.readouterr().err
    assert "hubspoke report: error:" in err and "no cleaned submissions" in err
    assert str(tiny_project / "processed") in err
    assert "Traceback" not in err


def test_only_naming_no_report_is_a_usage_error_that_lists_what_is_allowed(tiny_project, capsys):
    assert main(["report", "--out", str(tiny_project / "reports"), "--only", "S99"]) == 2
    err = capsys.readouterr().err
    assert "--only" in err and "'S99'" in err
    assert "S01" in err and "service_report" in err and "cross_site" in err, err
    assert not (tiny_project / "reports").exists()


def test_an_output_folder_that_is_a_file_is_a_usage_error(tmp_path, capsys):
    out = tmp_path / "docs"
    out.write_text("not a folder")
    assert main(["dictionary", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert str(out) in err and "not a folder" in err


@pytest.fixture
def existing_raw(tmp_path):
    (tmp_path / "reference").mkdir()
    return tmp_path


@pytest.mark.parametrize(
    "argv",
    [
        ["-q", "synth", "--if-empty"],
        ["synth", "--if-empty", "-q"],
        ["--quiet", "synth", "--if-empty"],
    ],
)
def test_quiet_hides_information_but_not_errors(existing_raw, capsys, argv):
    assert main([*argv, "--out", str(existing_raw)]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    assert main(["-q", "synth", "--out", str(existing_raw)]) == 2
    assert "--force" in capsys.readouterr().err


def test_default_shows_information_and_verbose_adds_debug_lines(existing_raw, capsys):
    assert main(["synth", "--out", str(existing_raw), "--if-empty"]) == 0
    default = capsys.readouterr()
    assert "left as it is" in default.out
    assert "debug:" not in default.out + default.err
    assert main(["-v", "synth", "--out", str(existing_raw), "--if-empty"]) == 0
    verbose = capsys.readouterr()
    assert "left as it is" in verbose.out
    assert "debug:" in verbose.out + verbose.err


def test_quiet_and_verbose_together_are_refused():
    result = run_cli("-q", "-v", "synth")
    assert result.returncode == 2
    assert "not allowed with argument" in result.stderr


def test_clean_refuses_another_key_unless_told_to_start_afresh(tmp_path):
    """A different pseudonym key would silently stop ids linking: refused, exit 1, --fresh-key named."""
    raw, out = tmp_path / "raw", tmp_path / "processed"
    env = {**os.environ, "HUBSPOKE_KEY_FILE": str(tmp_path / "keys" / "first.key")}
    assert run_cli("synth", "--out", str(raw), "--services", "2", env=env).returncode == 0
    assert run_cli("clean", "--raw", str(raw), "--out", str(out), env=env).returncode == 0
    cases = (out / "cases.parquet").read_bytes()

    other = {**env, "HUBSPOKE_KEY_FILE": str(tmp_path / "keys" / "second.key")}
    refused = run_cli("clean", "--raw", str(raw), "--out", str(out), env=other)
    assert refused.returncode == 1
    assert "--fresh-key" in refused.stderr and "Traceback" not in refused.stderr
    assert (out / "cases.parquet").read_bytes() == cases

    fresh = run_cli("clean", "--raw", str(raw), "--out", str(out), "--fresh-key", env=other)
    assert fresh.returncode == 0, fresh.stderr
    assert (out / "cases.parquet").read_bytes() != cases
