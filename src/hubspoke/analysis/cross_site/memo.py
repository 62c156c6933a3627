"""Answers remembered for the very frames they were computed from.

A report asks some questions of the same loaded tables many times (the same model fits
for its tables and its models section, the same service-years for every table). Loaded
tables are read, never changed in place (as :func:`hubspoke.load.available_service_years`
relies on too), so an answer computed from some frame objects and arguments holds for
those objects and arguments. The same holds for other inputs that are only read (a funder
:class:`~hubspoke.privacy.table.Table`, a release), which may stand among the frames.
:class:`FrameMemo` keeps the last few answers keyed on both:
the frames by identity, held by weak reference (remembering never keeps a frame alive,
and a frame that is gone can never match), the other arguments by value. New frames,
even equal ones, are computed afresh.
"""

from __future__ import annotations

import weakref
from collections.abc import Hashable, Sequence
from typing import Generic, TypeAlias, TypeVar

import pandas as pd

T = TypeVar("T")

#: A frame, or another input read and never changed in place (it must take a weak reference).
Frame: TypeAlias = pd.DataFrame | object
_Key = tuple[tuple["weakref.ref[Frame] | None", ...], Hashable]


class FrameMemo(Generic[T]):
    """The last ``size`` answers of one computation, by its frames' identities and other arguments."""

    def __init__(self, size: int = 4) -> None:
        self._size = size
        self._seen: list[tuple[_Key, T]] = []

    def get(self, frames: Sequence[Frame | None], args: Hashable = ()) -> T | None:
        """The answer for these very frames (None matches None) and equal ``args``, or None."""
        for (refs, seen_args), value in self._seen:
            if seen_args == args and _same(refs, frames):
                return value
        return None

    def put(self, frames: Sequence[Frame | None], args: Hashable, value: T) -> T:
        """Remember ``value`` for these frames and ``args`` (the oldest answer goes); returns it."""
        refs = tuple(None if f is None else weakref.ref(f) for f in frames)
        self._seen.insert(0, ((refs, args), value))
        del self._seen[self._size :]
        return value


def _same(
    refs: tuple[weakref.ref[pd.DataFrame] | None, ...], frames: Sequence[Frame | None]
) -> bool:
    """True when each remembered frame is the very frame given (a missing one on both sides)."""
    if len(refs) != len(frames):
        return False
    return all(
        (f is None) if r is None else (f is not None and r() is f)
        for r, f in zip(refs, frames, strict=True)
    )
