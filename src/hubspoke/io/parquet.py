"""Atomic, deterministic parquet writes, and a processed folder that changes as one unit.

Tables
------
A table is written to a temporary name in the destination folder and moved
into place with :func:`os.replace`, so a reader never sees half a file and a
crash never leaves a broken table behind. The same frame always gives the same
bytes (no index, fixed compression, no timestamps in the metadata).

The processed folder
--------------------
``hubspoke clean`` replaces every table of the processed folder at once: a
reader never sees tables of two runs side by side, and a run killed half way
leaves the previous tables as they were. Each run is a *generation* folder
inside the processed folder, and one symbolic link, ``current``, says which is
in force; each table keeps its usual path as a link through ``current``::

    data/processed/README.md
    data/processed/cases.parquet -> current/cases.parquet     (one per table, and manifest.json)
    data/processed/current -> generations/7                   the one pointer a run switches
    data/processed/generations/7/                             this run's tables and manifest.json
    data/processed/generations/6/                             the previous run (readers that began before the switch)
    data/processed/generations/staging-<pid>/                 a run in progress
    data/processed/generations/lock                           held (flock) while a run writes

A run (:class:`StagedFolder`) takes the lock, sweeps what killed runs left
behind (staging folders, temporary links, generations other than the current
and the previous one), writes everything into its staging folder, flushes it to
disk, renames it to the next generation and switches ``current`` with one
``os.replace`` of a new symbolic link, which is atomic on POSIX. Why this
design: POSIX cannot exchange two directories atomically (renaming the old
folder away and the new one in leaves a moment with no folder), while
``data/processed/cases.parquet`` must keep working for every reader, the folder
itself must stay a plain directory (its README is committed, everything else in
it is git-ignored), and a path resolved early (``HUBSPOKE_PROCESSED_DIR``) must
stay valid. A link to a table a run did not produce points nowhere after the
switch (the table is absent, as it should be) and is then removed. To read all
tables of one run even while a clean switches, resolve :func:`snapshot` once.
Tables written by the layout before generations (plain files) are replaced by
links on the first run.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
from pathlib import Path
from types import TracebackType
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from hubspoke.errors import ConfigError

#: The run's description written into each generation (see :class:`StagedFolder`).
MANIFEST = "manifest.json"
#: The link, in the processed folder, to the generation in force.
CURRENT = "current"
#: The folder, in the processed folder, holding the generations.
GENERATIONS = "generations"
#: Temporary files of the writer before generations: ``.<table>.parquet.<pid>.tmp``.
OLD_TEMPORARY = re.compile(r"\..+\.parquet\.[0-9]+\.tmp")


def write_parquet_atomic(frame: pd.DataFrame, path: Path) -> Path:
    """Write ``frame`` to ``path`` via a temporary file in the same folder and ``os.replace``."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(
            f"cannot create the output folder ({exc.strerror})", file=path.parent
        ) from None
    table = pa.Table.from_pandas(frame.reset_index(drop=True), preserve_index=False)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        pq.write_table(table, tmp, compression="zstd", write_statistics=True, store_schema=True)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ConfigError(f"cannot write the table ({exc.strerror})", file=path) from None
    return path


def read_parquet(path: Path) -> pd.DataFrame:
    """Read a processed table back."""
    return pd.read_parquet(path)


def _fsync(path: Path) -> None:
    """Flush a file or a folder to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------
# The processed folder as one unit
# ---------------------------------------------------------------------------


def current_generation(folder: Path) -> Path | None:
    """The generation folder ``folder/current`` points to (None before the first run)."""
    current = Path(folder) / CURRENT
    if not current.is_symlink():
        return None
    return Path(os.path.realpath(current))


def snapshot(folder: Path) -> Path:
    """Where to read all tables of one run: the current generation, else ``folder`` itself."""
    found = current_generation(folder)
    return found if found is not None and found.is_dir() else Path(folder)


def generations(folder: Path) -> dict[int, Path]:
    """The generation folders of the processed folder ``folder``, by number."""
    try:
        entries = list((Path(folder) / GENERATIONS).iterdir())
    except OSError:
        return {}
    return {
        int(p.name): p for p in entries if p.name.isdigit() and p.is_dir() and not p.is_symlink()
    }


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The manifest of the run in force in ``folder`` (None when there is none)."""
    path = snapshot(folder) / MANIFEST
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(
            f"cannot read the processed data manifest ({exc}); delete it to start afresh",
            file=path,
        ) from None
    if not isinstance(data, dict):
        raise ConfigError(
            "the processed data manifest is not a JSON object; delete it to start afresh", file=path
        )
    return data


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


class StagedFolder:
    """One run's staging folder, switched in as the processed folder's tables by :meth:`commit`.

    Use as a context manager: entering takes the lock, sweeps leftovers of
    killed runs and creates :attr:`path`; leaving without :meth:`commit`
    deletes the staging folder, so nothing of the run reaches the processed
    folder. Problems with the folders are :class:`ConfigError` s naming them.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.store = self.folder / GENERATIONS
        self.path = self.store / f"staging-{os.getpid()}"
        self.warnings: list[str] = []
        self._lock_fd: int | None = None
        self._committed = False

    def _error(self, message: str, exc: OSError | None = None) -> ConfigError:
        detail = f" ({exc.strerror or exc})" if exc is not None else ""
        return ConfigError(f"{message}{detail}", file=self.folder)

    def __enter__(self) -> StagedFolder:
        try:
            self._enter()
        except OSError as exc:
            self._unlock()
            raise self._error("cannot write the processed data folder", exc) from None
        except ConfigError:
            self._unlock()
            raise
        return self

    def _enter(self) -> None:
        folder = self.folder
        if folder.exists() and not folder.is_dir():
            raise self._error("the processed data folder is a file, not a folder")
        if not folder.exists():
            parent = next(p for p in folder.parents if p.exists())
            if not os.access(parent, os.W_OK | os.X_OK):
                raise self._error(f"cannot create the processed data folder: {parent} is read-only")
            folder.mkdir(parents=True)
        if not os.access(folder, os.W_OK | os.X_OK):
            raise self._error("the processed data folder is read-only")
        self.store.mkdir(exist_ok=True)
        self._lock()
        self.sweep()
        self.path.mkdir()

    def _lock(self) -> None:
        fd = os.open(self.store / "lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise self._error(
                "another `hubspoke clean` is writing this processed data folder; "
                "wait for it to finish"
            ) from None
        self._lock_fd = fd

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._lock_fd)  # closing releases the flock
            self._lock_fd = None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self._committed:
            shutil.rmtree(self.path, ignore_errors=True)
        self._unlock()

    def sweep(self) -> list[Path]:
        """Remove what killed runs left: staging folders, temporary links, old generations, old temporary files.

        Kept: the current generation and the one before it. Only call while
        holding the lock.
        """
        current = current_generation(self.folder)
        found = generations(self.folder)
        number = next((n for n, p in found.items() if p == current), None)
        keep: set[int] = set()
        if number is not None:
            keep.add(number)
            older = [n for n in found if n < number]
            if older:
                keep.add(max(older))
        stale = [
            p
            for p in self.store.iterdir()
            if p.name.startswith(("staging-", "current-"))
            or (p.name.isdigit() and int(p.name) in found and int(p.name) not in keep)
        ]
        stale += [p for p in self.folder.iterdir() if OLD_TEMPORARY.fullmatch(p.name)]
        stale += [p for p in self._links() if not p.exists()]  # links to tables no longer made
        removed = []
        for path in sorted(stale):
            try:
                _remove(path)
            except OSError as exc:
                self.warnings.append(f"could not remove {path} ({exc.strerror or exc})")
                continue
            removed.append(path)
        return removed

    def _links(self) -> list[Path]:
        """The processed folder's links to tables through ``current``."""
        return [
            p
            for p in self.folder.iterdir()
            if p.is_symlink() and os.readlink(p) == f"{CURRENT}/{p.name}"
        ]

    def commit(self, manifest: dict[str, Any]) -> Path:
        """Write ``manifest`` (plus the generation number), flush, and switch the staging folder in.

        Returns the new generation folder; ``current`` now points to it.
        """
        try:
            return self._commit(manifest)
        except OSError as exc:
            raise self._error("cannot switch in the new processed data", exc) from None

    def _commit(self, manifest: dict[str, Any]) -> Path:
        number = max(generations(self.folder), default=0) + 1
        text = json.dumps({**manifest, "generation": number}, indent=1, sort_keys=True)
        (self.path / MANIFEST).write_text(text + "\n", encoding="utf-8")
        names = sorted(p.name for p in self.path.iterdir())
        for name in names:
            _fsync(self.path / name)
        _fsync(self.path)
        generation = self.store / str(number)
        os.rename(self.path, generation)
        self._committed = True
        _fsync(self.store)
        # Each file's path links through ``current``; a link new this run points to the
        # previous generation until the switch, where the file is absent: still consistent.
        for name in names:
            link = self.folder / name
            if not (link.is_symlink() and os.readlink(link) == f"{CURRENT}/{name}"):
                self._replace_with_link(link, f"{CURRENT}/{name}")
        pointer = self.folder / CURRENT
        if pointer.is_dir() and not pointer.is_symlink():  # a copy made without links
            shutil.rmtree(pointer)
        self._replace_with_link(pointer, f"{GENERATIONS}/{number}")  # the switch
        _fsync(self.folder)
        for path in self.folder.glob("*.parquet"):  # plain files of the layout before generations
            if path.name not in names and not path.is_symlink():
                path.unlink()
        self.sweep()
        return generation

    def _replace_with_link(self, path: Path, target: str) -> None:
        """Make ``path`` a link to ``target`` in one ``os.replace`` (a file there is replaced)."""
        tmp = self.store / f"current-{os.getpid()}"
        tmp.unlink(missing_ok=True)
        os.symlink(target, tmp)
        os.replace(tmp, path)
