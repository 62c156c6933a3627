"""The programme theories (PT1-PT6), read from ``theories.toml`` next to this module.

Each theory names the context it is about (model variant or host setting) and the
outcome indicators it is tested against (first = main). Refined statements are not
here: evaluators write them from the evidence, with their name, date and evidence, in
the refinements file (processed table ``refinements``). Keeping the theories as data lets an evaluator change the
reports without touching code; :func:`load_theories` validates the file and names
the field at fault.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from hubspoke.errors import SchemaError

DEFAULT_THEORIES = Path(__file__).with_name("theories.toml")
CONTEXT_DIMENSIONS: tuple[str, ...] = ("model_variant", "host_setting")


@dataclass(frozen=True)
class Theory:
    """One programme theory: statement, the context it is about and its indicators."""

    id: str
    label: str
    statement: str
    context_dimension: str
    context: str
    indicators: tuple[str, ...]


_TEXT_FIELDS = ("id", "label", "statement", "context_dimension", "context")
#: Fields of earlier versions that held pre-written "refined" sentences: refused, so a
#: template can never be presented as a finding (evaluators write refinements as data).
_TEMPLATE_FIELDS = ("refined", "refuted")
_THEORY_FIELDS = (*_TEXT_FIELDS, "indicators")


def _theory(raw: Any, position: int, path: Path) -> Theory:
    """One validated ``[[theories]]`` entry."""
    where = f"theories[{position}]"
    if not isinstance(raw, dict):
        raise SchemaError(f"{where} must be a table", file=path, found=type(raw).__name__)
    templates = sorted(set(raw) & set(_TEMPLATE_FIELDS))
    if templates:
        raise SchemaError(
            f"{where}: pre-written refined statements are not allowed; evaluators write "
            "refinements with their evidence in the refinements file",
            file=path,
            column=templates[0],
        )
    unknown = sorted(set(raw) - set(_THEORY_FIELDS))
    if unknown:
        raise SchemaError(
            f"{where}: unknown field", file=path, column=unknown[0], allowed=_THEORY_FIELDS
        )
    for name in _THEORY_FIELDS:
        if name not in raw:
            raise SchemaError(f"{where}: required field missing", file=path, column=name)
    for name in _TEXT_FIELDS:
        if not isinstance(raw[name], str) or not raw[name].strip():
            raise SchemaError(
                f"{where}: must be non-empty text", file=path, column=name, found=raw[name]
            )
    if not re.fullmatch(r"PT\d+", raw["id"]):
        raise SchemaError(
            f"{where}: theory id must look like PT1", file=path, column="id", found=raw["id"]
        )
    if raw["context_dimension"] not in CONTEXT_DIMENSIONS:
        raise SchemaError(
            f"{where} ({raw['id']}): unknown context dimension",
            file=path,
            column="context_dimension",
            allowed=CONTEXT_DIMENSIONS,
            found=raw["context_dimension"],
        )
    ids = raw["indicators"]
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and i for i in ids):
        raise SchemaError(
            f"{where} ({raw['id']}): indicators must be a non-empty list of indicator ids",
            file=path,
            column="indicators",
            found=ids,
        )
    return Theory(**{n: raw[n].strip() for n in _TEXT_FIELDS}, indicators=tuple(ids))


def load_theories(path: str | Path | None = None) -> tuple[Theory, ...]:
    """Read and validate the programme theories (default: the packaged ``theories.toml``).

    Raises :class:`~hubspoke.errors.SchemaError` naming the file, the field, what is
    allowed and what was found.
    """
    path = Path(path) if path is not None else DEFAULT_THEORIES
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SchemaError("theories file not found", file=path) from None
    except tomllib.TOMLDecodeError as exc:
        raise SchemaError(f"not valid TOML ({exc})", file=path) from None
    entries = data.get("theories")
    if not isinstance(entries, list) or not entries:
        raise SchemaError("no [[theories]] entries", file=path, column="theories", found=entries)
    theories = tuple(_theory(raw, i, path) for i, raw in enumerate(entries))
    ids = [t.id for t in theories]
    duplicated = sorted({i for i in ids if ids.count(i) > 1})
    if duplicated:
        raise SchemaError("theory id used twice", file=path, column="id", found=duplicated[0])
    return theories


def theory_table(theories: Sequence[Theory] | None = None) -> pd.DataFrame:
    """The theories as a table: id, label, statement, context dimension, context, indicator ids."""
    theories = load_theories() if theories is None else theories
    return pd.DataFrame(
        [
            {
                "theory_id": t.id,
                "theory": t.label,
                "statement": t.statement,
                "context_dimension": t.context_dimension,
                "context": t.context,
                "indicator_ids": ", ".join(t.indicators),
            }
            for t in theories
        ]
    ).astype("string")


def _theory_order(ids: Iterable[str]) -> list[str]:
    """Theory ids by number (PT2 before PT10)."""
    return sorted(dict.fromkeys(map(str, ids)), key=lambda t: (int(re.sub(r"\D", "", t) or 0), t))
