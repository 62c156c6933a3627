"""The ``hubspoke`` command: one sub-command per step of the data flow.

    hubspoke synth       write deterministic synthetic raw data into data/raw/
    hubspoke clean       raw -> validated tables in data/processed/ (+ quarantine, reconciliation)
    hubspoke report      run every notebook with papermill and write HTML reports + an index page
    hubspoke dictionary  write the raw data dictionary generated from hubspoke.spec.raw

Bad input never ends in a traceback: a :class:`~hubspoke.errors.HubspokeError` is
printed as one plain line and the command exits with status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from hubspoke import __version__
from hubspoke.config import get_settings
from hubspoke.errors import HubspokeError


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of 1 or more, not {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a number above 0, not {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every sub-command."""
    settings = get_settings()
    parser = argparse.ArgumentParser(
        prog="hubspoke",
        description=(
            "Analysis suite for the realist evaluation of the Hub and Spoke model of child "
            "sexual exploitation services. Every step works on synthetic data by default: "
            "synth -> clean -> report."
        ),
    )
    parser.add_argument("--version", action="version", version=f"hubspoke {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    synth = sub.add_parser(
        "synth",
        help="write deterministic synthetic raw data (messy on purpose) into data/raw/",
        description=(
            "Write synthetic raw data like the services' submissions: the services reference, one "
            "workbook or CSV set per service-year (cases, activities, policy checklist, Spoke survey), "
            "the codebook, transcripts, coded segments and theory judgements (also as a REFI-QDA "
            ".qdpx project), and synthetic local-context statistics. Every file says it is synthetic. "
            "Quirks (label variants, odd dates, identifiers, out-of-range values...) are injected on "
            "purpose and listed in _synthetic/quirks.csv. The same --seed gives byte-identical files."
        ),
    )
    synth.add_argument(
        "--out", type=Path, default=settings.raw_dir, help="raw data folder (default: %(default)s)"
    )
    synth.add_argument("--seed", type=int, default=2014, help="random seed (default: %(default)s)")
    synth.add_argument(
        "--services",
        type=_positive_int,
        default=16,
        help="number of services; 16 is the real programme, 150 the national-scale benchmark (default: %(default)s)",
    )
    synth.add_argument(
        "--scale",
        type=_positive_float,
        default=1.0,
        help="multiplies case and activity volume, e.g. 100 for about a million case rows with --services 150 (default: %(default)s)",
    )
    synth.add_argument(
        "--if-empty",
        action="store_true",
        help="do nothing when the folder already holds raw data (used by 'make report')",
    )
    synth.add_argument(
        "--force", action="store_true", help="overwrite a folder that already holds raw data"
    )

    clean = sub.add_parser(
        "clean",
        help="clean raw data into validated tables in data/processed/",
        description=(
            "Read every raw file, harmonise it to the declared schemas and write parquet tables to the "
            "processed folder, with a quarantine table (file, sheet, row, column, reason) and a "
            "reconciliation per raw file. Exits non-zero when any file could not be read."
        ),
    )
    clean.add_argument(
        "--raw", type=Path, default=settings.raw_dir, help="raw data folder (default: %(default)s)"
    )
    clean.add_argument(
        "--out",
        type=Path,
        default=settings.processed_dir,
        help="processed data folder (default: %(default)s)",
    )

    report = sub.add_parser(
        "report",
        help="run every notebook with papermill and write HTML reports with an index page",
        description="Run the parameterised notebooks for every service-year and the cross-site notebooks.",
    )
    report.add_argument(
        "--out",
        type=Path,
        default=settings.reports_dir,
        help="reports folder (default: %(default)s)",
    )
    report.add_argument(
        "--jobs",
        type=_positive_int,
        default=None,
        help="worker processes (default: number of cores)",
    )
    report.add_argument(
        "--only", nargs="*", default=None, help="only these notebooks or service ids"
    )
    report.add_argument(
        "--fresh-kernels",
        action="store_true",
        help="start a new kernel for every report (default: each worker reuses one kernel, reset between reports)",
    )

    dictionary = sub.add_parser(
        "dictionary",
        help="write the raw and processed data dictionaries (Markdown) generated from the declared schemas",
    )
    dictionary.add_argument(
        "--out",
        type=Path,
        default=settings.root / "docs",
        help="folder for raw_data_dictionary.md and processed_data_dictionary.md (default: %(default)s)",
    )
    return parser


def _cmd_synth(args: argparse.Namespace) -> int:
    from hubspoke.synth import generate, has_raw_data

    if has_raw_data(args.out):
        if args.if_empty:
            print(f"{args.out} already holds raw data: left as it is.")
            return 0
        if not args.force:
            raise HubspokeError(
                "the raw data folder already holds data; pass --force to overwrite it or --if-empty to keep it",
                file=args.out,
            )
    manifest = generate(args.out, seed=args.seed, n_services=args.services, scale=args.scale)
    print(
        f"Synthetic raw data written to {args.out}: {manifest['n_services']} services, "
        f"{manifest['n_service_years']} service-years, {manifest['n_files']} files, "
        f"{manifest['n_quirks']} quirks injected (listed in _synthetic/quirks.csv)."
    )
    return 0


def _cmd_clean(args: argparse.Namespace) -> int:
    from hubspoke.clean import clean_all

    summary = clean_all(args.raw, args.out)
    print(summary.text())
    return 0 if summary.ok else 1


def _cmd_report(args: argparse.Namespace) -> int:
    from hubspoke.report import run_reports

    return run_reports(
        out=args.out, jobs=args.jobs, only=args.only, fresh_kernels=args.fresh_kernels
    )


def _cmd_dictionary(args: argparse.Namespace) -> int:
    from hubspoke.spec.dictionary import processed_dictionary_markdown, raw_dictionary_markdown

    args.out.mkdir(parents=True, exist_ok=True)
    for name, text in (
        ("raw_data_dictionary.md", raw_dictionary_markdown()),
        ("processed_data_dictionary.md", processed_dictionary_markdown()),
    ):
        (args.out / name).write_text(text, encoding="utf-8")
        print(f"Data dictionary written to {args.out / name}")
    return 0


COMMANDS = {
    "synth": _cmd_synth,
    "clean": _cmd_clean,
    "report": _cmd_report,
    "dictionary": _cmd_dictionary,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``hubspoke`` console script."""
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except HubspokeError as exc:
        print(f"hubspoke {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
