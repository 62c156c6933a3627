"""The ``hubspoke`` command: one sub-command per step of the data flow.

    hubspoke synth       write deterministic synthetic raw data into data/raw/
    hubspoke clean       raw -> validated tables in data/processed/ (+ quarantine, reconciliation)
    hubspoke report      run every notebook with papermill and write HTML reports + an index page
    hubspoke dictionary  write the raw data dictionary generated from hubspoke.spec.raw

Bad input never ends in a traceback: a :class:`~hubspoke.errors.HubspokeError` is
printed as one plain line. Exit status: 0 done; 1 a data problem (a HubspokeError while
the command runs, a clean with files that could not be read, a report batch with failed
reports); 2 a usage problem (argparse's errors, and a ParameterError or ConfigError about
what was given on the command line); 130 interrupted with Ctrl-C.

Messages go through :mod:`logging`, configured here only (the ``hubspoke`` logger):
information to stdout, warnings and errors to stderr; ``-q`` keeps warnings and errors
only, ``-v`` adds debug lines.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from hubspoke import __version__
from hubspoke.config import get_settings
from hubspoke.errors import ConfigError, HubspokeError, ParameterError

log = logging.getLogger(__name__)

#: Exit statuses.
EXIT_OK, EXIT_DATA, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


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


def _verbosity_options() -> argparse.ArgumentParser:
    """-q and -v, accepted before and after the sub-command (the sub-command's never reset them)."""
    options = argparse.ArgumentParser(add_help=False)
    group = options.add_mutually_exclusive_group()
    group.add_argument(
        "-q",
        "--quiet",
        dest="log_level",
        action="store_const",
        const=logging.WARNING,
        default=argparse.SUPPRESS,
        help="show only warnings and errors (no progress bar)",
    )
    group.add_argument(
        "-v",
        "--verbose",
        dest="log_level",
        action="store_const",
        const=logging.DEBUG,
        default=argparse.SUPPRESS,
        help="show debug messages too",
    )
    return options


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every sub-command."""
    settings = get_settings()
    verbosity = _verbosity_options()
    parser = argparse.ArgumentParser(
        prog="hubspoke",
        description=(
            "Analysis suite for the realist evaluation of the Hub and Spoke model of child "
            "sexual exploitation services. Every step works on synthetic data by default: "
            "synth -> clean -> report."
        ),
        epilog="Exit status: 0 done, 1 a data problem, 2 a usage problem, 130 interrupted (Ctrl-C).",
        # An instance of its own: set_defaults below changes the defaults of its actions.
        parents=[_verbosity_options()],
    )
    parser.set_defaults(log_level=logging.INFO)
    parser.add_argument("--version", action="version", version=f"hubspoke {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    synth = sub.add_parser(
        "synth",
        parents=[verbosity],
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
        parents=[verbosity],
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
    clean.add_argument(
        "--fresh-key",
        action="store_true",
        help=(
            "clean with a pseudonym key other than the one the processed data were made with "
            "(or a new one): young people will not link to earlier runs' pseudonyms"
        ),
    )

    report = sub.add_parser(
        "report",
        parents=[verbosity],
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
        parents=[verbosity],
        help="write the raw and processed data dictionaries (Markdown) generated from the declared schemas",
    )
    dictionary.add_argument(
        "--out",
        type=Path,
        default=settings.root / "docs",
        help="folder for raw_data_dictionary.md and processed_data_dictionary.md (default: %(default)s)",
    )
    return parser


# ---------------------------------------------------------------------------
# Checks of what was given on the command line (a failure is a usage error: status 2)
# ---------------------------------------------------------------------------


def _check_folder(path: Path, what: str) -> None:
    if path.exists() and not path.is_dir():
        raise ConfigError(f"the {what} is not a folder", file=path)


def _check_synth(args: argparse.Namespace) -> None:
    from hubspoke.synth import has_raw_data

    _check_folder(args.out, "raw data folder")
    if has_raw_data(args.out) and not (args.if_empty or args.force):
        raise ParameterError(
            "the raw data folder already holds data; pass --force to overwrite it or --if-empty to keep it",
            file=args.out,
        )


def _check_clean(args: argparse.Namespace) -> None:
    _check_folder(args.out, "processed data folder")


def _check_report(args: argparse.Namespace) -> None:
    from hubspoke.load import service_years
    from hubspoke.report.plan import NOTEBOOKS, plan_jobs

    _check_folder(args.out, "reports folder")
    if not args.only:
        return
    try:
        pairs = service_years(get_settings().processed_dir)
    except HubspokeError:
        return  # no data to check --only against: the run says so, as a data problem
    if not plan_jobs(pairs, only=args.only):
        notebooks = ", ".join(spec.name for spec in NOTEBOOKS)
        services = ", ".join(sorted({sid for sid, _ in pairs}))
        sid, year = pairs[0]
        raise ParameterError(
            "--only names no report",
            allowed=(
                f"notebooks {notebooks}; services {services}; "
                f"or a report's name such as service_report_{sid}_{year}"
            ),
            found=args.only,
        )


def _check_dictionary(args: argparse.Namespace) -> None:
    _check_folder(args.out, "output folder")


# ---------------------------------------------------------------------------
# The commands
# ---------------------------------------------------------------------------


def _cmd_synth(args: argparse.Namespace) -> int:
    from hubspoke.synth import generate, has_raw_data

    if has_raw_data(args.out):  # with --if-empty or --force, or the check would have refused
        if args.if_empty:
            log.info("%s already holds raw data: left as it is.", args.out)
            return EXIT_OK
        log.debug("overwriting the raw data in %s (--force)", args.out)
    manifest = generate(args.out, seed=args.seed, n_services=args.services, scale=args.scale)
    log.info(
        "Synthetic raw data written to %s: %s services, %s service-years, %s files, "
        "%s quirks injected (listed in _synthetic/quirks.csv).",
        args.out,
        manifest["n_services"],
        manifest["n_service_years"],
        manifest["n_files"],
        manifest["n_quirks"],
    )
    return EXIT_OK


def _cmd_clean(args: argparse.Namespace) -> int:
    from hubspoke.clean import clean_all

    summary = clean_all(args.raw, args.out, fresh_key=args.fresh_key)
    if summary.ok:
        log.info("%s", summary.text())
        return EXIT_OK
    log.error("%s", summary.text())
    return EXIT_DATA


def _cmd_report(args: argparse.Namespace) -> int:
    from hubspoke.report import run_reports

    return run_reports(
        out=args.out,
        jobs=args.jobs,
        only=args.only,
        fresh_kernels=args.fresh_kernels,
        progress=args.log_level <= logging.INFO,
        echo=False,
    )


def _cmd_dictionary(args: argparse.Namespace) -> int:
    from hubspoke.spec.dictionary import processed_dictionary_markdown, raw_dictionary_markdown

    args.out.mkdir(parents=True, exist_ok=True)
    for name, text in (
        ("raw_data_dictionary.md", raw_dictionary_markdown()),
        ("processed_data_dictionary.md", processed_dictionary_markdown()),
    ):
        (args.out / name).write_text(text, encoding="utf-8")
        log.info("Data dictionary written to %s", args.out / name)
    return EXIT_OK


Command = Callable[[argparse.Namespace], int]
Check = Callable[[argparse.Namespace], None]

COMMANDS: dict[str, tuple[Check, Command]] = {
    "synth": (_check_synth, _cmd_synth),
    "clean": (_check_clean, _cmd_clean),
    "report": (_check_report, _cmd_report),
    "dictionary": (_check_dictionary, _cmd_dictionary),
}


# ---------------------------------------------------------------------------
# Logging and the entry point
# ---------------------------------------------------------------------------


class _Formatter(logging.Formatter):
    """Information as it is; warnings and errors prefixed with the command, debug with its module."""

    def __init__(self, command: str) -> None:
        super().__init__("%(message)s")
        self.command = command

    def format(self, record: logging.LogRecord) -> str:
        message = super().format(record)
        if record.levelno >= logging.WARNING:
            return f"hubspoke {self.command}: {record.levelname.lower()}: {message}"
        if record.levelno < logging.INFO:
            return f"debug: {record.name}: {message}"
        return message


class _Handler(logging.StreamHandler):
    """A handler of the command line's (so that a second ``main`` in one process replaces it)."""


def configure_logging(level: int, command: str) -> None:
    """Set up the ``hubspoke`` logger: ``level`` and up, information to stdout, warnings to stderr."""
    root = logging.getLogger("hubspoke")
    for handler in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(handler)
    root.setLevel(level)
    formatter = _Formatter(command)
    out = _Handler(sys.stdout)
    out.addFilter(lambda record: record.levelno < logging.WARNING)
    err = _Handler(sys.stderr)
    err.setLevel(logging.WARNING)
    for handler in (out, err):
        handler.setFormatter(formatter)
        root.addHandler(handler)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``hubspoke`` console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    configure_logging(args.log_level, args.command)
    check, command = COMMANDS[args.command]
    try:
        settings = get_settings()
        log.debug(
            "hubspoke %s %s: root %s, raw %s, processed %s, reports %s",
            __version__,
            args.command,
            settings.root,
            settings.raw_dir,
            settings.processed_dir,
            settings.reports_dir,
        )
        try:
            check(args)
        except (ParameterError, ConfigError) as exc:
            log.error("%s", exc)
            return EXIT_USAGE
        return command(args)
    except HubspokeError as exc:
        log.error("%s", exc)
        return EXIT_DATA
    except KeyboardInterrupt:
        log.error("interrupted")
        return EXIT_INTERRUPTED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
