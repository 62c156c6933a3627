"""Seeds for the parts of the generator: each part gets its own, derived from the one given."""

from __future__ import annotations

import hashlib


def part_seed(seed: int, part: str) -> int:
    """A seed for one part of the generator, stable whatever the other parts do."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{part}".encode()).digest()[:8], "little")
