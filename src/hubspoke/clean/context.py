"""Area context: the public statistics folder -> the processed ``context`` table.

Reads the Explore Education Statistics CSVs found in ``Settings.context_dir``
(``HUBSPOKE_CONTEXT_DIR``; by default the synthetic files under ``data/raw/context``)
with :mod:`hubspoke.analysis.context` (each file parsed once). Each file read is a reconciliation line
(every row of a readable file is used: the statistics are aggregates, not records of
people); a folder without the files, or a file that cannot be read, is recorded and
the other tables are still cleaned.
"""

from __future__ import annotations

from pathlib import Path

from hubspoke.analysis.context import context_from_frames, find_context_files, read_ees_csv
from hubspoke.clean.quarantine import SheetLedger
from hubspoke.clean.run import CleanContext, CleanerResult
from hubspoke.config import context_dir_for
from hubspoke.errors import HubspokeError


def _name(path: Path, raw_dir: Path) -> str:
    """A file's name relative to the raw folder when inside it, else its full path."""
    try:
        return path.resolve().relative_to(raw_dir.resolve()).as_posix()
    except ValueError:
        return str(path)


def clean_context(ctx: CleanContext) -> CleanerResult:
    """The context cleaner (one of :func:`hubspoke.clean.run.default_cleaners`)."""
    result = CleanerResult()
    folder = context_dir_for(ctx.raw_dir)
    if not Path(folder).is_dir():
        result.warnings.append(
            f"no local-context folder at {folder}: the context table is not built"
        )
        return result
    try:
        files = find_context_files(folder)
        frames = {name: read_ees_csv(path) for name, path in files.items()}
        table = context_from_frames(files, frames)
    except HubspokeError as exc:
        name = exc.file or str(folder)
        result.ledgers.append(
            SheetLedger(
                _name(Path(name), ctx.raw_dir), "", "context", status="failed", message=str(exc)
            )
        )
        return result
    for name, path in sorted(files.items(), key=lambda item: item[1]):
        rows = len(frames[name])
        result.ledgers.append(
            SheetLedger(_name(path, ctx.raw_dir), "", "context", rows_in=rows, rows_clean=rows)
        )
    result.tables["context"] = table
    return result
