"""Cleaning at national scale: ``hubspoke clean`` against merely reading the files.

Generates ``hubspoke synth --services 150 --scale 100`` (about 1.04 million case
rows and 1.1 million activity rows; reused when already there) and a half-size
run (``--scale 50``), then times ``hubspoke clean`` with its peak memory against
reading every file ``hubspoke clean`` reads: the submission CSVs with the pyarrow CSV
reader (all columns as text), the workbooks with the reader ``hubspoke clean`` itself
uses (``hubspoke.io.tabular.XlsxBook``: the zip parts checked against the size caps,
then calamine to cell text, nothing cleaned; openpyxl is timed too, for reference), and
the reference, qualitative and context CSVs with pyarrow (cleaning reads and cleans
those too; the ratio against the submission files alone is printed as well), a read
then a clean in each repeat.
Then the floor: what cleaning must do besides reading, each step timed alone on
the cleaned tables (imports, keyed pseudonyms for the distinct young people,
arrow -> pandas of the rows read, schema validation, writing the parquet files).
Targets: cleaning within 4 times the plain read, time linear in rows, peak
memory under 4 GiB. (The keyed pseudonyms, timed alone in the floor, are hashed
in a child process while ``hubspoke clean`` cleans the rows.)

    .venv/bin/python bench/clean_scale.py --repeats 3
    .venv/bin/python bench/clean_scale.py --scales 10        # quick check
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    Result,
    compile_package,
    ensure_raw,
    gib,
    hubspoke_env,
    median,
    remove_scratch,
    run_peak,
    scratch,
    spread,
    tool,
)

SERVICES = 150
#: Read every file ``hubspoke clean`` reads, print rows and seconds: each submission CSV
#: with pyarrow (all columns as text); each workbook's cells as text with hubspoke's own
#: reader (every sheet), and again with openpyxl in read-only mode, for reference; and the
#: other CSVs cleaning reads (reference, qualitative, context) with pyarrow.
PLAIN_READ = r"""
import json, sys, time
from pathlib import Path
t0 = time.perf_counter()
import pyarrow as pa, pyarrow.csv as pacsv
t1 = time.perf_counter()
raw = Path(sys.argv[1])
def read(path, parse):  # one CSV after its synthetic-data banner line, every column as text
    return pacsv.read_csv(
        path,
        read_options=pacsv.ReadOptions(skip_rows=1),
        convert_options=pacsv.ConvertOptions(strings_can_be_null=False, auto_dict_encode=False),
        parse_options=parse,
    )
rows = files = 0
for path in sorted((raw / "submissions").rglob("*.csv")):
    table = read(path, pacsv.ParseOptions(invalid_row_handler=lambda row: "skip"))
    rows += table.num_rows
    files += 1
t2 = time.perf_counter()
from hubspoke.io.tabular import XlsxBook
t3 = time.perf_counter()
xlsx_rows = books = 0
for path in sorted((raw / "submissions").rglob("*.xlsx")):
    with XlsxBook(path) as book:
        xlsx_rows += sum(len(book.rows(sheet)) for sheet in book.sheet_names)
    books += 1
t4 = time.perf_counter()
from openpyxl import load_workbook
t5 = time.perf_counter()
for path in sorted((raw / "submissions").rglob("*.xlsx")):
    book = load_workbook(path, read_only=True, data_only=True)
    for sheet in book.worksheets:
        sum(1 for _ in sheet.iter_rows(values_only=True))
    book.close()
t6 = time.perf_counter()
other_rows = others = 0
for folder in ("reference", "qualitative", "context"):
    for path in sorted((raw / folder).glob("*.csv")):
        other_rows += read(path, pacsv.ParseOptions(newlines_in_values=True)).num_rows
        others += 1
t7 = time.perf_counter()
print(json.dumps({"rows": rows, "files": files, "csv_s": t2 - t1, "xlsx_rows": xlsx_rows,
                  "books": books, "xlsx_s": t4 - t3, "openpyxl_s": t6 - t5,
                  "other_rows": other_rows, "others": others, "other_s": t7 - t6,
                  "read_s": (t2 - t1) + (t4 - t3) + (t7 - t6),
                  "process_s": (t2 - t0) + (t4 - t3) + (t7 - t6)}))
"""

#: What cleaning must do besides reading, each step alone, on the cleaned cases and
#: activities of ``argv[2]`` (the raw folder is ``argv[1]``); prints seconds per step.
FLOOR = r"""
import json, sys, tempfile, time
from pathlib import Path
t0 = time.perf_counter()
import hubspoke.clean.run as clean_run
imports_s = time.perf_counter() - t0
import pandas as pd, pyarrow as pa, pyarrow.csv as pacsv
from hubspoke.privacy.pseudonym import pseudonymise
from hubspoke.spec.processed import validate
raw, processed = Path(sys.argv[1]), Path(sys.argv[2])
tables = {n: pd.read_parquet(processed / f"{n}.parquet") for n in ("cases", "activities")}
distinct = int(tables["cases"]["young_person_id"].nunique())
service = pd.Series(["S001"] * distinct, dtype="string")
ref = pd.Series([f"C{i:09d}" for i in range(distinct)], dtype="string")
t = time.perf_counter()
pseudonymise(b"0" * 64, service, ref)
hash_s = time.perf_counter() - t
parts = {"cases": [], "activities": []}
for path in sorted((raw / "submissions").rglob("*.csv")):
    if path.stem in parts:
        parts[path.stem].append(pacsv.read_csv(
            path, read_options=pacsv.ReadOptions(
                skip_rows=1, autogenerate_column_names=True, encoding="latin-1"
            ),
            convert_options=pacsv.ConvertOptions(
                strings_can_be_null=False, auto_dict_encode=False,
                column_types={f"f{i}": pa.string() for i in range(64)},
            ),
            parse_options=pacsv.ParseOptions(invalid_row_handler=lambda row: "skip"),
        ))
t = time.perf_counter()
for name, read in parts.items():
    pa.concat_tables(read, promote_options="default").to_pandas()
to_pandas_s = time.perf_counter() - t
t = time.perf_counter()
for name, frame in tables.items():
    validate(name, frame)
validate_s = time.perf_counter() - t
with tempfile.TemporaryDirectory() as tmp:
    t = time.perf_counter()
    clean_run.write_tables(tables, Path(tmp))
    write_s = time.perf_counter() - t
print(json.dumps({"distinct": distinct, "imports_s": imports_s, "hash_s": hash_s,
                  "to_pandas_s": to_pandas_s, "validate_s": validate_s, "write_s": write_s}))
"""


def plain_read(raw: Path) -> dict:
    """Read every file cleaning reads, in a fresh interpreter; rows, files and seconds."""
    proc = subprocess.run(
        [sys.executable, "-c", PLAIN_READ, str(raw)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def floor(raw: Path, processed: Path) -> dict:
    """Time what cleaning must do besides reading, each step alone, in a fresh interpreter."""
    proc = subprocess.run(
        [sys.executable, "-c", FLOOR, str(raw), str(processed)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


FLOOR_STEPS = {
    "imports_s": "imports",
    "hash_s": "keyed pseudonyms",
    "to_pandas_s": "arrow -> pandas of the rows read",
    "validate_s": "schema validation",
    "write_s": "parquet writing",
}


def clean_once(raw: Path, out: Path, env: dict) -> tuple[float, int]:
    """One ``hubspoke clean`` into an empty folder; (wall seconds, peak RSS bytes)."""
    remove_scratch(out)
    return run_peak([tool("hubspoke"), "clean", "--raw", raw, "--out", out], env)


def clean_rows(out: Path) -> dict[str, int]:
    """Clean rows of the cases and activities tables."""
    import pyarrow.parquet as pq

    return {n: pq.read_metadata(out / f"{n}.parquet").num_rows for n in ("cases", "activities")}


def measure_scale(scale: float, repeats: int, base: Path, result: Result) -> dict:
    """Generate (if needed), read and clean one scale; record and return its figures."""
    tag = f"{scale:g}"
    raw = base / f"raw{tag}"
    env = hubspoke_env(base, raw=raw, processed=base / f"processed{tag}")
    ensure_raw(raw, env=env, services=SERVICES, scale=scale)
    # Interleaved (read, clean, read, clean...): a machine whose speed drifts during the
    # runs then moves both medians alike, not only the one measured later.
    pairs = [
        (plain_read(raw), clean_once(raw, base / f"processed{tag}", env))
        for _ in range(max(1, repeats))
    ]
    reads = [read for read, _ in pairs]
    cleans = [clean for _, clean in pairs]
    read_s = median([r["read_s"] for r in reads])
    read_proc_s = median([r["process_s"] for r in reads])
    clean_s = median([c[0] for c in cleans])
    peak = max(c[1] for c in cleans)
    rows = clean_rows(base / f"processed{tag}")
    csv_rows = reads[0]["rows"]
    csv_s = median([r["csv_s"] for r in reads])
    result.add(
        f"--scale {tag}: {reads[0]['files']} submission CSVs ({csv_rows:,} rows) and "
        f"{reads[0]['books']} workbooks ({reads[0]['xlsx_rows']:,} sheet rows), and "
        f"{reads[0]['others']} other CSVs cleaning reads (reference, qualitative, context: "
        f"{reads[0]['other_rows']:,} rows); clean tables: {rows['cases']:,} cases, "
        f"{rows['activities']:,} activities"
    )
    result.add(
        f"  plain read: {spread([r['read_s'] for r in reads])} = CSVs with pyarrow "
        f"{csv_s:.2f} s + workbooks with hubspoke's reader (cells as text) "
        f"{median([r['xlsx_s'] for r in reads]):.2f} s + the other CSVs "
        f"{median([r['other_s'] for r in reads]):.2f} s (with pyarrow's import: "
        f"{read_proc_s:.2f} s; openpyxl read-only would take "
        f"{median([r['openpyxl_s'] for r in reads]):.2f} s for the workbooks)"
    )
    result.add(f"  hubspoke clean:     {spread([c[0] for c in cleans])}, peak RSS {gib(peak)}")
    result.add(
        f"  ratio clean / plain read: {clean_s / read_s:.2f}x (target <= 4x; against the "
        f"read with pyarrow's import: {clean_s / read_proc_s:.2f}x; against the submission "
        f"files alone: {clean_s / (read_s - median([r['other_s'] for r in reads])):.2f}x; "
        f"against the CSV read alone: {clean_s / csv_s:.1f}x)"
    )
    floors = [floor(raw, base / f"processed{tag}") for _ in range(max(1, repeats))]
    steps = {k: median([f[k] for f in floors]) for k in FLOOR_STEPS}
    total = sum(steps.values())
    result.add(
        f"  floor (steps cleaning cannot skip, each timed alone; {floors[0]['distinct']:,} "
        f"young people): "
        + ", ".join(f"{FLOOR_STEPS[k]} {v:.2f} s" for k, v in steps.items())
        + f" = {total:.2f} s"
    )
    result.add(
        f"  4x the plain read is {4 * read_s:.2f} s: the floor alone is "
        f"{total / read_s:.1f}x the plain read and {total / csv_s:.1f}x the CSV read; the "
        f"other {clean_s - total:.2f} s of the clean read, harmonise and check the rows"
    )
    return {
        "scale": scale,
        "csv_rows": csv_rows,
        "read_s": read_s,
        "clean_s": clean_s,
        "floor_s": total,
        "peak": peak,
        **rows,
    }


def measure(scales: list[float], repeats: int = 1) -> Result:
    """Every scale, then the growth of cleaning time with rows."""
    base = scratch("scale")
    result = Result("Cleaning at national scale")
    runs = [measure_scale(s, repeats, base, result) for s in scales]
    for r in runs:
        r["rows"] = r["cases"] + r["activities"]
    runs.sort(key=lambda r: r["rows"])
    if len(runs) >= 2:
        small, big = runs[0], runs[-1]
        row_ratio = big["rows"] / small["rows"]
        time_ratio = big["clean_s"] / small["clean_s"]
        linear = 0.75 * row_ratio <= time_ratio <= 1.25 * row_ratio
        result.add(
            f"growth: {row_ratio:.2f}x the clean case+activity rows took {time_ratio:.2f}x the "
            f"cleaning time ({'about linear' if linear else 'not linear'}; per million rows: "
            f"{small['clean_s'] / small['rows'] * 1e6:.1f} s vs "
            f"{big['clean_s'] / big['rows'] * 1e6:.1f} s)"
        )
    biggest = runs[-1]
    result.figures.update(
        rows=biggest["csv_rows"],
        cases=biggest["cases"],
        read_s=biggest["read_s"],
        clean_s=biggest["clean_s"],
        ratio=biggest["clean_s"] / biggest["read_s"],
        floor_s=biggest["floor_s"],
        peak_gib=biggest["peak"] / 2**30,
    )
    return result


def parser() -> argparse.ArgumentParser:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--repeats", type=int, default=1, help="runs of each timing; medians shown")
    p.add_argument(
        "--scales",
        type=float,
        nargs="+",
        default=[50, 100],
        help="--scale values to generate and clean (default: 50 100)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    args = parser().parse_args(argv)
    compile_package()
    print("== clean scale")
    measure(args.scales, args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
