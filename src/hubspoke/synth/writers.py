"""Deterministic writing of synthetic CSV files and workbooks.

The same content must always give the same bytes, so that a seed reproduces a
data set exactly: CSVs get fixed line endings and encodings, and workbooks are
re-zipped with fixed timestamps (openpyxl stamps the save time into
``docProps/core.xml`` and into every zip entry).
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from openpyxl import Workbook

from hubspoke.spec.raw import SYNTHETIC_MARKER

#: The timestamp every workbook and zip entry carries.
FIXED_TIME = dt.datetime(2017, 1, 1, 0, 0, 0)

_CORE_TIME = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")


def write_csv_text(path: Path, body: str, *, encoding: str = "utf-8") -> None:
    """Write the synthetic marker line and ``body`` to ``path`` in ``encoding`` (utf-8, utf-8-sig, cp1252)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((SYNTHETIC_MARKER + "\n" + body).encode(encoding))


def csv_body(header: Sequence[str], rows: pd.DataFrame) -> str:
    """CSV text (header line and rows, ``\\n`` line ends) for a frame of strings."""
    frame = pd.DataFrame(rows.to_numpy(), columns=list(header))
    return frame.to_csv(index=False, lineterminator="\n")


@dataclass(frozen=True)
class SheetSpec:
    """One worksheet to write: optional title rows above the header, then the data rows."""

    name: str
    header: Sequence[str]
    rows: Iterable[Sequence[object]]
    title_rows: Sequence[Sequence[object]] = field(default=())


def fix_zip(data: bytes) -> bytes:
    """Re-zip ``data`` with fixed entry times and a stable entry order; fix the core properties' times."""
    stamp = FIXED_TIME.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    src = zipfile.ZipFile(io.BytesIO(data))
    names = sorted(src.namelist(), key=lambda n: (n != "[Content_Types].xml", n))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for name in names:
            content = src.read(name)
            if name == "docProps/core.xml":
                content = _CORE_TIME.sub(rb"\g<1>" + stamp + rb"\g<2>", content)
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o600 << 16
            dst.writestr(info, content)
    return out.getvalue()


def write_workbook(path: Path, sheets: Sequence[SheetSpec], *, about: Sequence[str] = ()) -> None:
    """Write a workbook (write-only mode) with an "About" sheet carrying the synthetic marker."""
    wb = Workbook(write_only=True)
    wb.properties.creator = "hubspoke synthetic generator"
    wb.properties.title = "SYNTHETIC DATA"
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    ws = wb.create_sheet("About")
    for line in (SYNTHETIC_MARKER, *about):
        ws.append([line])
    for spec in sheets:
        ws = wb.create_sheet(spec.name)
        for title in spec.title_rows:
            ws.append(list(title))
        ws.append(list(spec.header))
        for row in spec.rows:
            ws.append(list(row))
    buf = io.BytesIO()
    wb.save(buf)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(fix_zip(buf.getvalue()))
