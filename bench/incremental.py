"""Incremental report runs: nothing changed, then one service's raw file changed.

In a scratch copy of the default synthetic data: a full ``hubspoke report``, a
second one with nothing changed (target: under 5% of the full run), then one cell
of one service's raw CSV submission is edited (a clean row's ``contacts`` moves by
one, so the row stays clean and only that service's rows change), ``hubspoke
clean`` runs again and ``hubspoke report`` once more. The reports rebuilt (status
``ok`` in ``<out>/.state.json``) should be exactly that service's reports and the
cross-site and programme ones.

    .venv/bin/python bench/incremental.py --repeats 3
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    Result,
    compile_package,
    default_data,
    ensure_clean,
    hubspoke_env,
    median,
    remove_scratch,
    repeat,
    run,
    scratch,
    spread,
    tool,
)


def fresh_copy(source: Path, base: Path) -> dict:
    """Copy the default raw data and key into ``base``; clean it; return its environment."""
    for name in ("raw", "processed", "reports"):
        if (base / name).exists():
            remove_scratch(base / name)
    shutil.copytree(source / "raw", base / "raw")
    (base / "key").mkdir(exist_ok=True)
    shutil.copy2(source / "key" / "pseudonym.key", base / "key" / "pseudonym.key")
    env = hubspoke_env(base)
    ensure_clean(base / "raw", base / "processed", env=env, force=True)
    return env


def report(env: dict, out: Path, only: list[str] | None = None) -> float:
    """One ``hubspoke report`` into ``out`` (``--only`` when given); wall seconds."""
    return run(
        [tool("hubspoke"), "report", "--out", out, *(["--only", *only] if only else [])], env
    )


def statuses(out: Path) -> dict[str, str]:
    """The status of every report of the last run, by stem."""
    state = json.loads((out / ".state.json").read_text(encoding="utf-8"))
    return {stem: r["status"] for stem, r in state.items()}


# ---------------------------------------------------------------------------
# Editing one cell of one service's raw CSV
# ---------------------------------------------------------------------------


def pick_row(processed: Path, prefer: list[str] | None = None) -> tuple[str, str, int, int]:
    """A clean cases row read from a CSV: (service_id, file, physical line, contacts).

    A service named in ``prefer`` is taken when one has a CSV submission.
    """
    import pandas as pd

    cases = pd.read_parquet(processed / "cases.parquet")
    rows = cases[
        cases["source_file"].str.endswith(".csv")
        & cases["contacts"].notna()
        & cases["contacts"].between(1, 299)
    ]
    preferred = rows[rows["service_id"].isin(prefer or [])]
    rows = preferred if len(preferred) else rows
    row = rows.iloc[0]
    return row["service_id"], row["source_file"], int(row["source_row"]), int(row["contacts"])


def decode(data: bytes) -> tuple[str, str]:
    """A raw CSV's text and the encoding to write it back in (services send UTF-8, with or without BOM, or Windows-1252)."""
    for encoding in ("utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8", "cp1252"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise RuntimeError("not UTF-8 or Windows-1252 text")


def contacts_position(path: Path, raw: Path) -> tuple[int, int]:
    """(header line, cell position) of the ``contacts`` column in a raw cases CSV."""
    from hubspoke.io.tabular import match_columns, read_csv_table
    from hubspoke.spec import raw as rawspec

    table = rawspec.table("cases")
    sheet = read_csv_table(path, raw, table)
    lines = decode(path.read_bytes())[0].splitlines()
    header = next(csv.reader([lines[sheet.header_row - 1]]))
    matched, _ = match_columns(header, table)
    return sheet.header_row, next(p for p, name in matched.items() if name == "contacts")


def edit_contacts(raw: Path, file: str, line: int, value: int) -> str:
    """Change ``contacts`` on one physical line of a raw CSV by one; describe the edit."""
    path = raw / file
    _, position = contacts_position(path, raw)
    text_all, encoding = decode(path.read_bytes())
    lines = text_all.splitlines(keepends=True)
    text = lines[line - 1]
    ending = text[len(text.rstrip("\r\n")) :]
    cells = next(csv.reader([text.rstrip("\r\n")]))
    new = value + 1 if value < 300 else value - 1
    if int(float(cells[position])) != value:
        raise RuntimeError(f"{file} line {line}: contacts is {cells[position]!r}, not {value}")
    cells[position] = str(new)
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator=ending).writerow(cells)
    lines[line - 1] = buffer.getvalue()
    path.write_bytes("".join(lines).encode(encoding))
    return f"{file} line {line}: contacts {value} -> {new}"


def table_hashes(processed: Path) -> dict[str, str]:
    """SHA-256 of every processed parquet file."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(processed.glob("*.parquet"))
    }


def expected_rebuilds(processed: Path, service_id: str, only: list[str] | None) -> set[str]:
    """Reports that depend on one service's data: its own reports and every cross-site one."""
    from hubspoke.load import service_years
    from hubspoke.report import plan_jobs

    jobs = plan_jobs(service_years(processed), only=only)
    return {j.stem for j in jobs if j.scope_service in (None, service_id)}


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------


def measure(repeats: int = 1, only: list[str] | None = None) -> Result:
    """Full run, no-change runs, then a one-cell change; return the figures."""
    source, _ = default_data()
    base = scratch("incremental")
    env = fresh_copy(source, base)
    out = base / "reports"
    result = Result("Incremental report runs")
    if only:
        result.add(f"only the reports selected by --only {' '.join(only)}")
    full = report(env, out, only)
    result.add(f"full run (from empty): {full:.1f} s")
    again = repeat(lambda: report(env, out, only), repeats)
    rebuilt_again = sum(s == "ok" for s in statuses(out).values())
    if rebuilt_again:
        result.add(
            f"WARNING: the no-change run rebuilt {rebuilt_again} reports: the library or the "
            "notebooks changed during the benchmark (edits in src/ or notebooks/); re-run it"
        )
    share = median(again) / full
    result.add(
        f"second run, nothing changed: {spread(again)} = {share:.1%} of the full run (target < 5%)"
    )
    processed = base / "processed"
    before = table_hashes(processed)
    service_id, file, line, value = pick_row(processed, only)
    result.add(f"edited {edit_contacts(base / 'raw', file, line, value)} (service {service_id})")
    reclean = run([tool("hubspoke"), "clean", "--raw", base / "raw", "--out", processed], env)
    after = table_hashes(processed)
    changed = sorted(n for n in after if before.get(n) != after[n])
    result.add(f"hubspoke clean again: {reclean:.1f} s; processed tables changed: {changed}")
    after_edit = report(env, out, only)
    status = statuses(out)
    rebuilt = {stem for stem, s in status.items() if s == "ok"}
    expected = expected_rebuilds(processed, service_id, only)
    result.add(
        f"run after the edit: {after_edit:.1f} s; {len(rebuilt)} of {len(status)} reports rebuilt"
    )
    result.add(f"  rebuilt: {', '.join(sorted(rebuilt))}")
    verdict = "as expected" if rebuilt == expected else "NOT as expected"
    result.add(
        f"  {verdict}: expected {service_id}'s reports and the cross-site/programme ones "
        f"({len(expected)})"
        + (f"; extra {sorted(rebuilt - expected)}" if rebuilt - expected else "")
        + (f"; missing {sorted(expected - rebuilt)}" if expected - rebuilt else "")
    )
    result.figures.update(
        full_s=full,
        nochange_s=median(again),
        nochange_share=share,
        changed_s=after_edit,
        rebuilt=len(rebuilt),
        reports=len(status),
        as_expected=rebuilt == expected,
    )
    return result


def parser() -> argparse.ArgumentParser:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--repeats", type=int, default=1, help="no-change runs; the median is shown")
    p.add_argument(
        "--only",
        nargs="*",
        default=None,
        help="pass --only to hubspoke report (quick check), e.g. --only S04 local_context",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    args = parser().parse_args(argv)
    compile_package()
    print("== incremental")
    measure(args.repeats, args.only)
    return 0


if __name__ == "__main__":
    sys.exit(main())
