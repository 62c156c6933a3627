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

Beside the tables, ``manifest.json`` records the fingerprint of the
pseudonymisation key (:func:`hubspoke.privacy.pseudonym.key_fingerprint`); a
later run refuses another key, or a missing key file, unless ``fresh_key=True``.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import signal
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

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


#: Cleaners that read only their own raw files (``CleanContext.raw_dir``): not the tables
#: cleaned before them, nor the pseudonymisation key. They run in a child process beside
#: the others (see :class:`_Beside`).
RAW_ONLY: frozenset[Cleaner] = frozenset({clean_qualitative, clean_context})
#: How much lower the child's priority is (``os.nice``): it uses the idle core, not a busy one.
RAW_ONLY_NICENESS = 10


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
    failed: Callable[[], None] | None = None,
    beside: _Beside | None = None,
) -> tuple[list[CleanerResult], list[SheetLedger]]:
    """Run every cleaner; one that raises leaves no tables behind and gives a failed ledger.

    ``done`` is called with each result as its cleaner returns, ``failed`` when a cleaner
    raised; the cleaners ``beside`` runs are taken from it in their turn.
    """
    results: list[CleanerResult] = []
    failures: list[SheetLedger] = []
    for cleaner in cleaners:
        before = dict(ctx.tables)
        try:
            result = (
                beside.result(cleaner) if beside is not None and cleaner in beside else cleaner(ctx)
            )
        except Exception as exc:  # noqa: BLE001 - recorded as a failed line, see the module doc
            ctx.tables.clear()
            ctx.tables.update(before)
            if failed is not None:
                failed()
            failures.append(
                exc.ledger
                if isinstance(exc, _ChildFailure)
                else cleaner_failure(cleaner, exc, ctx.raw_dir)
            )
            continue
        results.append(result)
        if done is not None:
            done(result)
    return results, failures


def _run_raw_only(cleaner: Cleaner, ctx: CleanContext) -> CleanerResult | SheetLedger:
    """In the child: the cleaner's result, or its failed ledger line (an error may not travel back)."""
    try:
        return cleaner(ctx)
    except Exception as exc:  # noqa: BLE001 - the parent records it as a failed line
        return cleaner_failure(cleaner, exc, ctx.raw_dir)


class _Beside:
    """The cleaners of :data:`RAW_ONLY` run in a forked child process, at low priority.

    The child has the parent's modules and state (nothing to import) and is niced,
    so it takes the core the submissions cleaner leaves idle rather than slowing it.
    It is forked before the processed folder is locked (it never holds the lock),
    sends its results back through a pipe once all its cleaners are done, and exits.
    Where no child can be had (no fork, other threads running) or it died, the
    cleaners run in this process in their turn, as before.
    """

    def __init__(self, ctx: CleanContext, cleaners: Sequence[Cleaner]) -> None:
        self._ctx = ctx
        self._cleaners = [c for c in cleaners if c in RAW_ONLY]
        self._pid = 0
        self._pipe = -1
        self._outcomes: dict[Cleaner, CleanerResult | SheetLedger] | None = None
        if not self._cleaners or not _can_fork():
            self._cleaners = []
            return
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: run, send, exit (never returns to the caller)
            os.close(read_end)
            _child_main(self._cleaners, ctx, write_end)
        os.close(write_end)
        self._pid, self._pipe = pid, read_end

    def __enter__(self) -> _Beside:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """End the child if it still runs (the caller failed before taking its results)."""
        if self._pid:
            os.kill(self._pid, signal.SIGKILL)
            self._collect()

    def __contains__(self, cleaner: Cleaner) -> bool:
        return cleaner in self._cleaners

    def result(self, cleaner: Cleaner) -> CleanerResult:
        """The cleaner's result from the child (run here if the child failed); raises as it would."""
        if self._outcomes is None:
            self._outcomes = self._collect()
        outcome = self._outcomes.get(cleaner)
        if outcome is None:
            return cleaner(self._ctx)
        if isinstance(outcome, SheetLedger):
            raise _ChildFailure(outcome)
        return outcome

    def _collect(self) -> dict[Cleaner, CleanerResult | SheetLedger]:
        """What the child sent (empty when it sent nothing whole), once it has exited."""
        with os.fdopen(self._pipe, "rb") as pipe:
            data = pipe.read()
        os.waitpid(self._pid, 0)
        self._pid, self._pipe = 0, -1
        try:
            outcomes = pickle.loads(data)
        except Exception:  # noqa: BLE001 - a child killed mid-write: run the cleaners here
            return {}
        return dict(zip(self._cleaners, outcomes, strict=True))


def _child_main(cleaners: list[Cleaner], ctx: CleanContext, write_end: int) -> NoReturn:
    """The forked child: run each cleaner on the raw folder, pickle the outcomes, exit."""
    code = 1
    try:
        os.nice(RAW_ONLY_NICENESS)
        child = CleanContext(ctx.raw_dir, ctx.out_dir, ctx.settings)
        outcomes = [_run_raw_only(c, child) for c in cleaners]
        with os.fdopen(write_end, "wb") as pipe:
            pickle.dump(outcomes, pipe, protocol=pickle.HIGHEST_PROTOCOL)
        code = 0
    finally:
        os._exit(code)  # no atexit handlers, no flushing the parent's buffers


def _can_fork() -> bool:
    """Whether a forked child is safe here: fork exists and this process runs no other thread.

    A fork copies only the calling thread; a lock another thread held would stay held
    in the child.
    """
    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1


class _ChildFailure(Exception):
    """A RAW_ONLY cleaner failed in the child; carries the failed ledger line it made there."""

    def __init__(self, ledger: SheetLedger) -> None:
        super().__init__(ledger.message)
        self.ledger = ledger


class _TableWriter:
    """Validates each cleaner's tables and writes them in threads meanwhile.

    The parquet files of the first cleaner's large tables are encoded and
    compressed (pyarrow, without the GIL) while the next cleaners run; a table a
    cleaner announces as finished (:attr:`CleanContext.table_ready`) is validated
    and written at once, while that cleaner goes on with its other tables, and is
    kept only when the cleaner returns it (a cleaner that fails leaves none
    behind). As before, a table that fails its schema is an error and is not
    written, and a table a later cleaner returns again replaces the earlier one.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.tables: dict[str, pd.DataFrame] = {}
        self.problems: dict[str, str] = {}
        self._pool = ThreadPoolExecutor(max_workers=WRITE_THREADS)
        self._writes: dict[str, Future[Path]] = {}
        self._early: dict[str, pd.DataFrame] = {}

    def __enter__(self) -> _TableWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def early(self, name: str, frame: pd.DataFrame) -> None:
        """A table a cleaner has finished but not yet returned: validated and written now.

        Not when an earlier cleaner's table has the name (the replacement waits for
        the result, so a failure leaves the earlier table).
        """
        if name in self.tables or name in self.problems or name in self._early:
            return
        self._early[name] = frame
        self._take(name, frame)

    def add(self, result: CleanerResult) -> None:
        """Validate ``result``'s tables and start writing those that pass (unless done early)."""
        for name, frame in result.tables.items():
            if self._early.pop(name, None) is frame:
                continue
            self._take(name, frame)
        self.drop_early()

    def drop_early(self) -> None:
        """Forget the tables announced early but not returned (their cleaner failed): no file."""
        for name in self._early:
            if name in self._writes:
                self._writes.pop(name).result()
                (self.folder / SCHEMAS[name].filename).unlink(missing_ok=True)
            self.tables.pop(name, None)
            self.problems.pop(name, None)
        self._early.clear()

    def _take(self, name: str, frame: pd.DataFrame) -> None:
        errors: list[str] = []
        valid = _validated({name: frame}, errors)
        self.tables.pop(name, None)
        self.problems.pop(name, None)
        if name in self._writes:  # wait: a second write must not race the first
            self._writes.pop(name).result()
        if errors:
            self.problems[name] = errors[0]
            return
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
    chosen = cleaners if cleaners is not None else default_cleaners()
    with (
        _Beside(ctx, chosen) as beside,  # forked first: the child never holds the folder's lock
        kept_heap(),
        StagedFolder(target) as staging,
        _TableWriter(staging.path) as writer,
    ):
        ctx.table_ready = writer.early
        results, failures = _run_cleaners(
            ctx, chosen, done=writer.add, failed=writer.drop_early, beside=beside
        )
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
