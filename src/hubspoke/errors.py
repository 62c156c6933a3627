"""The project's own exceptions.

Every error a user can cause with bad input is a :class:`HubspokeError`; its
message names the file, the sheet, the row, the column, the allowed values and
the value found, whichever of those apply. Code that meets bad data raises one
of these, never a bare ``ValueError`` or ``KeyError``, so the command line can
print a plain message instead of a traceback.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any


class HubspokeError(Exception):
    """Base class of every error hubspoke raises on purpose."""

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        sheet: str | None = None,
        row: int | None = None,
        column: str | None = None,
        allowed: Iterable[Any] | str | None = None,
        found: Any = None,
    ) -> None:
        self.reason = message
        self.file = str(file) if file is not None else None
        self.sheet = sheet
        self.row = row
        self.column = column
        self.allowed = allowed if isinstance(allowed, str) or allowed is None else list(allowed)
        self.found = found
        super().__init__(self._compose())

    def _compose(self) -> str:
        where = []
        if self.file:
            where.append(f"file {self.file}")
        if self.sheet:
            where.append(f"sheet {self.sheet!r}")
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column {self.column!r}")
        text = (", ".join(where) + ": " if where else "") + self.reason
        if self.allowed is not None:
            allowed = (
                self.allowed if isinstance(self.allowed, str) else ", ".join(map(str, self.allowed))
            )
            text += f" (allowed: {allowed})"
        if self.found is not None:
            text += f"; found {self.found!r}"
        return text


class ConfigError(HubspokeError):
    """A setting, path or key is missing or wrong."""


class RawFileError(HubspokeError):
    """A raw file cannot be read at all (empty, corrupt, wrong table, required column missing)."""


class RawValueError(HubspokeError):
    """One raw value cannot be cleaned; the row it is on goes to quarantine."""


class SchemaError(HubspokeError):
    """A table does not match its declared schema."""


class ParameterError(HubspokeError):
    """A notebook or command parameter is wrong (unknown service, year without data, wrong type)."""


class ReportError(HubspokeError):
    """A report could not be built."""
