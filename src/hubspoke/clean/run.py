"""The cleaning driver: run every cleaner, validate, reconcile, write.

:func:`clean_all` runs the cleaners of :func:`default_cleaners` in order (each
sees the tables the earlier ones produced, in :attr:`CleanContext.tables`),
validates every table against :mod:`hubspoke.spec.processed`, builds the quarantine
and reconciliation tables and writes everything atomically. A cleaner is any
``Callable[[CleanContext], CleanerResult]``; pass ``cleaners=`` to run others.

The processed folder changes as one unit (:class:`hubspoke.io.parquet.StagedFolder`):
a run writes every table into a staging folder inside it and switches it in at
the end with one atomic link, so the folder never shows tables of two runs, a
killed run changes nothing (its staging folder is swept by the next run), and a
table a run did not produce is absent rather than left over from an earlier run.

A cleaner that raises does not stop the others: its failure is a ``failed``
line in the reconciliation (file ``<cleaner name>`` unless the error names a
raw file), none of its tables are written, and :attr:`CleanSummary.ok` is false.

On large data (raw submissions of :data:`BESIDE_MIN_BYTES` or more) the cleaners of
:data:`INDEPENDENT`, which read only raw files of their own, run in a second process
beside the submissions' cleaner; their results are taken in the same order, so the
run is the same as in one process (a helper that fails leaves them to this process).

Beside the tables, ``manifest.json`` records the fingerprint of the
pseudonymisation key (:func:`hubspoke.privacy.pseudonym.key_fingerprint`); a
later run refuses another key, or a missing key file, unless ``fresh_key=True``.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import pandas as pd

from hubspoke.clean.base import CleanContext, Cleaner, CleanerResult
from hubspoke.clean.context import clean_context
from hubspoke.clean.memory import kept_heap
from hubspoke.clean.qualitative import clean_qualitative
from hubspoke.clean.quarantine import (
    SheetLedger,
    concat_quarantine,
    reconcile,
)
from hubspoke.clean.submissions import clean_quantitative
from hubspoke.config import Settings, get_settings
from hubspoke.errors import ConfigError, HubspokeError
from hubspoke.io.parquet import StagedFolder, read_manifest, write_parquet_atomic
from hubspoke.privacy.pseudonym import key_path
from hubspoke.spec.processed import SCHEMAS, validate

#: Threads writing the parquet files.
WRITE_THREADS = 2


def default_cleaners() -> list[Cleaner]:
    """Every cleaner :func:`clean_all` runs, in order: submissions, qualitative data, area context.

    Each sees the tables the earlier ones produced (``CleanContext.tables``).
    """
    return [clean_quantitative, clean_qualitative, clean_context]


#: Cleaners that read only raw files of their own: no table another cleaner made and no
#: pseudonym key. On large data they run in a helper process beside the others.
INDEPENDENT: Final[tuple[Cleaner, ...]] = (clean_qualitative, clean_context)
#: Raw submissions (bytes) from which :data:`INDEPENDENT` run beside the submissions'
#: cleaner: below it (the default data: about 0.5 MB) starting a process costs more
#: than it saves.
BESIDE_MIN_BYTES: Final = 16 * 2**20


# ---------------------------------------------------------------------------
# Summary and driver
# ---------------------------------------------------------------------------


@dataclass
class CleanSummary:
    """The outcome of :func:`clean_all`."""

    reconciliation: pd.DataFrame
    quarantine: pd.DataFrame
    rows: dict[str, int]
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)

    @property
    def failed(self) -> pd.DataFrame:
        return self.reconciliation[self.reconciliation["status"] == "failed"]

    @property
    def ok(self) -> bool:
        """True when every file was read, every cleaner ran and every table matched its schema."""
        return not len(self.failed) and not self.errors

    def text(self) -> str:
        """A short plain-language summary."""
        rec = self.reconciliation
        files = rec["file"].nunique()
        lines = [
            f"Cleaned {files} raw file(s): {files - self.failed['file'].nunique()} read, "
            f"{self.failed['file'].nunique()} failed."
        ]
        by_table = (
            rec[rec["status"] == "ok"]
            .groupby("table", observed=True)[
                ["rows_in", "rows_clean", "rows_quarantined", "rows_merged_duplicates"]
            ]
            .sum()
        )
        for name, row in by_table.iterrows():
            lines.append(
                f"  {name}: {row.rows_clean} clean, {row.rows_quarantined} quarantined, "
                f"{row.rows_merged_duplicates} duplicates merged (of {row.rows_in} rows)"
            )
        for msg in self.failed["message"]:
            lines.append(f"  FAILED: {msg}")
        for w in self.warnings:
            lines.append(f"  warning: {w}")
        for e in self.errors:
            lines.append(f"  ERROR: {e}")
        return "\n".join(lines)


def _validated(tables: dict[str, pd.DataFrame], errors: list[str]) -> dict[str, pd.DataFrame]:
    out = {}
    for name, frame in tables.items():
        if name not in SCHEMAS:
            errors.append(f"table {name} has no declared schema; not written")
            continue
        try:
            out[name] = validate(name, frame)
        except HubspokeError as exc:
            errors.append(str(exc))
    return out


def _relative(file: str, raw_dir: Path) -> str:
    """A file an error names, relative to the raw folder when inside it."""
    try:
        return Path(file).resolve().relative_to(raw_dir.resolve()).as_posix()
    except (ValueError, OSError):
        return file


def _cleaner_name(cleaner: Cleaner) -> str:
    return str(getattr(cleaner, "__name__", type(cleaner).__name__))


def cleaner_failure(cleaner: Cleaner, exc: Exception, raw_dir: Path) -> SheetLedger:
    """The failed reconciliation line for a cleaner that raised ``exc``."""
    name = _cleaner_name(cleaner)
    if isinstance(exc, HubspokeError):
        file = _relative(exc.file, raw_dir) if exc.file else f"<{name}>"
        detail = str(exc)
    else:  # a bug or an unexpected library error: still one line, never a traceback
        file, detail = f"<{name}>", f"{type(exc).__name__}: {exc}"
    return SheetLedger(
        file,
        (exc.sheet or "") if isinstance(exc, HubspokeError) else "",
        "",
        status="failed",
        message=f"cleaner {name} failed, none of its tables were written: {detail}",
    )


def _unique_ledgers(ledgers: list[SheetLedger]) -> list[SheetLedger]:
    """Ledgers with distinct (file, sheet): a later clash gets a numbered sheet."""
    seen: set[tuple[str, str]] = set()
    for led in ledgers:
        base, n = led.sheet, 1
        while (led.file, led.sheet) in seen:
            n += 1
            led.sheet = f"{base} ({n})"
        seen.add((led.file, led.sheet))
    return ledgers


def _run_cleaners(
    ctx: CleanContext,
    cleaners: Sequence[Cleaner],
    *,
    done: Callable[[CleanerResult], None] | None = None,
    elsewhere: Mapping[Cleaner, Future[CleanerResult | SheetLedger]] | None = None,
) -> tuple[list[CleanerResult], list[SheetLedger]]:
    """Run every cleaner; one that raises leaves no tables behind and gives a failed ledger.

    ``done`` is called with each result, in the cleaners' order, as it is ready (not
    for one that raised). ``elsewhere``: cleaners already running in a helper
    (:func:`_clean_alone`); their outcome is taken in turn, and a cleaner the helper
    could not run is run here.
    """
    results: list[CleanerResult] = []
    failures: list[SheetLedger] = []
    for cleaner in cleaners:
        outcome = _outcome((elsewhere or {}).get(cleaner))
        if outcome is None:
            outcome = _clean_here(ctx, cleaner)
        if isinstance(outcome, SheetLedger):
            failures.append(outcome)
            continue
        results.append(outcome)
        if done is not None:
            done(outcome)
    return results, failures


def _clean_here(ctx: CleanContext, cleaner: Cleaner) -> CleanerResult | SheetLedger:
    """``cleaner``'s result, or its failed ledger (the tables it left in ``ctx`` undone)."""
    before = dict(ctx.tables)
    try:
        return cleaner(ctx)
    except Exception as exc:  # noqa: BLE001 - recorded as a failed line, see the module doc
        ctx.tables.clear()
        ctx.tables.update(before)
        return cleaner_failure(cleaner, exc, ctx.raw_dir)


def _outcome(
    future: Future[CleanerResult | SheetLedger] | None,
) -> CleanerResult | SheetLedger | None:
    """What a helper's cleaner gave; None when the helper could not run it (died, or its
    result could not be sent back)."""
    if future is None:
        return None
    try:
        return future.result()
    except Exception:  # noqa: BLE001 - the helper failed: the cleaner runs here instead
        return None


class _KeylessContext(CleanContext):
    """The context of a cleaner in the helper: it has no pseudonym key to give."""

    def key(self) -> bytes:
        raise HubspokeError(
            "a cleaner run beside the others (hubspoke.clean.run.INDEPENDENT) asked for the "
            "pseudonym key: take it out of INDEPENDENT",
            file=key_path(self.settings),
        )


def _helper_start() -> None:
    """A helper ignores Ctrl-C: this process stops it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _clean_alone(
    cleaner: Cleaner, raw_dir: Path, out_dir: Path, settings: Settings
) -> CleanerResult | SheetLedger:
    """Run one of :data:`INDEPENDENT` in the helper: its result or its failed ledger."""
    return _clean_here(_KeylessContext(raw_dir, out_dir, settings), cleaner)


def _submissions_bytes(raw_dir: Path) -> int:
    """Bytes of every file under the raw submissions folder."""
    return sum(
        os.path.getsize(os.path.join(folder, name))
        for folder, _, names in os.walk(raw_dir / "submissions")
        for name in names
    )


def _beside(cleaners: Sequence[Cleaner], raw_dir: Path, jobs: int | None) -> list[Cleaner]:
    """The cleaners to run in a helper: those of :data:`INDEPENDENT` that follow another
    cleaner, when ``jobs`` is 2 or more, or ``None`` and the submissions are large."""
    if jobs is not None and jobs < 2:
        return []
    if jobs is None and _submissions_bytes(raw_dir) < BESIDE_MIN_BYTES:
        return []
    first = next((i for i, c in enumerate(cleaners) if c not in INDEPENDENT), None)
    if first is None:
        return []
    return [c for c in cleaners[first + 1 :] if c in INDEPENDENT]


class _Beside:
    """A helper process running some cleaners (:data:`INDEPENDENT`) while this process
    runs the others; ``futures`` holds what it was given (none when it could not start).
    Shut down on leaving the ``with`` block."""

    def __init__(self, cleaners: Sequence[Cleaner], ctx: CleanContext) -> None:
        self.pool: ProcessPoolExecutor | None = None
        self.futures: dict[Cleaner, Future[CleanerResult | SheetLedger]] = {}
        if not cleaners:
            return
        self.pool = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_helper_start,
        )
        for cleaner in cleaners:
            try:
                self.futures[cleaner] = self.pool.submit(
                    _clean_alone, cleaner, ctx.raw_dir, ctx.out_dir, ctx.settings
                )
            except Exception:  # noqa: BLE001 - no helper: the rest run here
                break

    def __enter__(self) -> _Beside:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)


class _TableWriter:
    """Validates each cleaner's tables as it returns and writes them in threads meanwhile.

    The parquet files of the first cleaner's large tables are encoded and
    compressed (pyarrow, without the GIL) while the next cleaners run. As
    before, a table that fails its schema is an error and is not written, and
    a table a later cleaner returns again replaces the earlier one.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.tables: dict[str, pd.DataFrame] = {}
        self.problems: dict[str, str] = {}
        self._pool = ThreadPoolExecutor(max_workers=WRITE_THREADS)
        self._writes: dict[str, Future[Path]] = {}

    def __enter__(self) -> _TableWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def add(self, result: CleanerResult) -> None:
        """Validate ``result``'s tables and start writing those that pass."""
        for name, frame in result.tables.items():
            errors: list[str] = []
            valid = _validated({name: frame}, errors)
            self.tables.pop(name, None)
            self.problems.pop(name, None)
            if name in self._writes:  # wait: a second write must not race the first
                self._writes.pop(name).result()
            if errors:
                self.problems[name] = errors[0]
                continue
            self.tables[name] = valid[name]
            self.write({name: valid[name]})

    def write(self, tables: dict[str, pd.DataFrame]) -> None:
        """Start writing ``tables`` (already validated) into the folder."""
        for name, frame in tables.items():
            path = self.folder / SCHEMAS[name].filename
            self._writes[name] = self._pool.submit(write_parquet_atomic, frame, path)

    def wait(self) -> list[Path]:
        """Wait for every write (raising the first error); the files written."""
        return [future.result() for future in self._writes.values()]


def previous_key(out_dir: Path) -> str | None:
    """The key fingerprint recorded beside the processed data in ``out_dir`` (None when none)."""
    manifest = read_manifest(out_dir)
    value = (manifest or {}).get("key_fingerprint")
    return value if isinstance(value, str) and value else None


def clean_all(
    raw_dir: Path,
    out_dir: Path,
    *,
    settings: Settings | None = None,
    cleaners: Sequence[Cleaner] | None = None,
    fresh_key: bool = False,
    jobs: int | None = None,
) -> CleanSummary:
    """Clean every raw file under ``raw_dir`` into validated parquet tables in ``out_dir``.

    Writes one parquet per processed table plus ``quarantine.parquet``,
    ``reconciliation.parquet`` and ``manifest.json``, all switched in at once
    (see the module docstring). Bad data never raises: an unreadable file, or a
    cleaner that fails, is a failed line in the reconciliation and the others
    are still cleaned. Raises :class:`ConfigError` when the key is not the one
    the existing processed data were made with (``fresh_key=True`` starts afresh
    with whatever key there is, creating one if needed) or the output folder
    cannot be written.

    ``jobs``: processes to clean with. ``None``: a helper process for the cleaners of
    :data:`INDEPENDENT` when the raw submissions have :data:`BESIDE_MIN_BYTES` or more;
    1: this process only; 2 or more: the helper whatever the size.
    """
    raw_dir, target = Path(raw_dir), Path(out_dir)
    settings = (settings or get_settings()).with_paths(raw_dir=raw_dir, processed_dir=target)
    expected = None if fresh_key else previous_key(target)
    ctx = CleanContext(raw_dir, target, settings, expected_key=expected)
    if expected is not None:
        _check_key(ctx)
    errors: list[str] = []
    if not raw_dir.is_dir():
        errors.append(f"the raw data folder {raw_dir} does not exist")
        return _summary([], [], {}, errors, ctx)
    unguarded = not fresh_key and expected is None and any(target.glob("*.parquet"))
    key_existed = key_path(settings).exists()
    cleaners = list(cleaners if cleaners is not None else default_cleaners())
    with (
        _Beside(_beside(cleaners, raw_dir, jobs), ctx) as helper,
        kept_heap(),
        StagedFolder(target) as staging,
        _TableWriter(staging.path) as writer,
    ):
        results, failures = _run_cleaners(ctx, cleaners, done=writer.add, elsewhere=helper.futures)
        if unguarded and not key_existed and ctx.key_fingerprint is not None:
            ctx.warnings.append(
                f"a new pseudonymisation key was created at {key_path(settings)}, but {target} "
                "held processed data from before key fingerprints were recorded: if those were "
                "made with another key, young people's ids no longer link to them"
            )
        tables = writer.tables
        errors.extend(writer.problems.values())
        summary = _summary(results, failures, tables, errors, ctx)
        extra = _validated(
            {"quarantine": summary.quarantine, "reconciliation": summary.reconciliation}, errors
        )
        writer.write(extra)
        writer.wait()
        staging.commit(_manifest(ctx, expected, {**tables, **extra}, ok=summary.ok))
        summary.written.extend(target / SCHEMAS[name].filename for name in {**tables, **extra})
        summary.warnings.extend(staging.warnings)
    return summary


def _check_key(ctx: CleanContext) -> None:
    """Load the key now, before any work: a missing or different key is a ConfigError."""
    key_file = key_path(ctx.settings)
    if not key_file.exists():
        raise ConfigError(
            f"the pseudonymisation key file is missing, but the processed data in {ctx.out_dir} "
            f"were made with a key (fingerprint {ctx.expected_key}); a new key would stop young "
            "people's ids linking to earlier years. Restore the key file or point "
            "HUBSPOKE_KEY_FILE at it, or start afresh on purpose (`hubspoke clean --fresh-key`, or clean_all(..., fresh_key=True))",
            file=key_file,
        )
    ctx.key()


def _summary(
    results: list[CleanerResult],
    failures: list[SheetLedger],
    tables: dict[str, pd.DataFrame],
    errors: list[str],
    ctx: CleanContext,
) -> CleanSummary:
    """Quarantine, reconciliation and the summary of a run."""
    quarantine = concat_quarantine([q for r in results for q in r.quarantine])
    quarantine = quarantine.sort_values(
        ["table", "file", "sheet", "row", "column", "reason"], kind="mergesort"
    ).reset_index(drop=True)
    ledgers = _unique_ledgers([*(led for r in results for led in r.ledgers), *failures])
    reconciliation = reconcile(ledgers, tables.values(), quarantine)
    return CleanSummary(
        reconciliation=reconciliation,
        quarantine=quarantine,
        rows={k: len(v) for k, v in tables.items()},
        warnings=[*ctx.warnings, *(w for r in results for w in r.warnings)],
        errors=errors,
    )


def _manifest(
    ctx: CleanContext, expected: str | None, tables: dict[str, pd.DataFrame], *, ok: bool
) -> dict[str, Any]:
    """What ``manifest.json`` records: the key fingerprint, the tables, whether the run was ok."""
    return {
        "format": 1,
        "key_fingerprint": ctx.key_fingerprint or expected,
        "ok": ok,
        "tables": sorted(SCHEMAS[name].filename for name in tables),
    }


def write_tables(tables: dict[str, pd.DataFrame], out_dir: Path) -> list[Path]:
    """Write each table to its parquet file in ``out_dir``; the paths, in the order given.

    The files are written in threads: pyarrow encodes and compresses without
    holding the GIL, so the large tables are written side by side.
    """
    with ThreadPoolExecutor(max_workers=WRITE_THREADS) as pool:
        futures = [
            pool.submit(write_parquet_atomic, frame, out_dir / SCHEMAS[name].filename)
            for name, frame in tables.items()
        ]
        return [f.result() for f in futures]
