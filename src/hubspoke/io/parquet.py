"""Atomic, deterministic parquet writes.

A table is written to a temporary name in the destination folder and moved
into place with :func:`os.replace`, so a reader never sees half a file and a
crash never leaves a broken table behind. The same frame always gives the same
bytes (no index, fixed compression, no timestamps in the metadata).
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from hubspoke.errors import ConfigError


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
