"""Build small raw folders, good and broken, in a temporary folder (no binaries committed).

:func:`make_raw` writes a minimal valid raw folder (reference files, one CSV
set, one workbook); the ``broken_*`` builders each add one broken file and
return what the cleaner must do with it.
"""

from __future__ import annotations

import csv
import io
import struct
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path

import openpyxl

from hubspoke.spec.raw import SYNTHETIC_MARKER

SERVICES_HEADER = [
    "service_id",
    "hub_name",
    "phase",
    "start_date",
    "model_variant",
    "n_spokes",
    "la_codes",
    "risk_tool",
    "region",
]
SERVICES_ROWS = [
    [
        "S01",
        "Hub One",
        "1",
        "2014-01-01",
        "Multi-host",
        "3",
        "E06000001;E06000002",
        "SERAF",
        "North East",
    ],
    [
        "S02",
        "Hub Two",
        "2",
        "2015-01-01",
        "Hub outreach",
        "2",
        "E06000003",
        "London Category",
        "London",
    ],
    [
        "S03",
        "Hub Three",
        "3",
        "2016-01-01",
        "Rural dispersed",
        "4",
        "E06000004",
        "Low/Medium/High",
        "South West",
    ],
]
SPOKES_HEADER = ["spoke_id", "service_id", "host_setting", "la_code", "start_year"]
SPOKES_ROWS = [
    ["S01-K1", "S01", "Police", "E06000001", "2014"],
    ["S02-K1", "S02", "Health", "E06000003", "2015"],
]

CASES_HEADER = [
    "case_ref",
    "age",
    "gender",
    "referral_date",
    "risk_at_referral",
    "risk_latest",
    "contacts",
    "closure_date",
    "closure_reason",
]
#: A clean cases row for a SERAF service (S01).
CASE_S01 = ["C001", "14", "F", "2014-03-01", "12", "4", "10", "2014-09-01", "planned"]

ACTIVITIES_HEADER = [
    "activity_date",
    "activity_type",
    "audience_agency",
    "participants",
    "confidence_before",
    "confidence_after",
]
ACTIVITY = ["2015-02-03", "Training", "Police", "12", "4.5", "7.5"]


def csv_text(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    marker: bool = True,
    title: Sequence[str] = (),
) -> str:
    """CSV text: optional synthetic marker line, title lines, header, rows."""
    buf = io.StringIO()
    if marker:
        buf.write(SYNTHETIC_MARKER + "\n")
    for t in title:
        buf.write(t + "\n")
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def write_csv(
    path: Path,
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    encoding: str = "utf-8",
    marker: bool = True,
    title: Sequence[str] = (),
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(csv_text(header, rows, marker=marker, title=title).encode(encoding))
    return path


def write_xlsx(path: Path, sheets: dict[str, list[list[object]]], *, about: bool = True) -> Path:
    """A workbook with the given sheets (rows of cell values, ``None`` for empty)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    if about:
        wb.create_sheet("About").append([SYNTHETIC_MARKER])
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    wb.save(path)
    return path


def make_reference(raw: Path) -> None:
    write_csv(raw / "reference" / "services.csv", SERVICES_HEADER, SERVICES_ROWS)
    write_csv(raw / "reference" / "spokes.csv", SPOKES_HEADER, SPOKES_ROWS)


def make_raw(raw: Path) -> Path:
    """A minimal valid raw folder: reference files, a CSV set for S01 2014, a workbook for S02 2015."""
    make_reference(raw)
    folder = raw / "submissions" / "2014" / "S01_2014"
    write_csv(
        folder / "cases.csv",
        CASES_HEADER,
        [CASE_S01, ["C002", "15 yrs", "girl", "03/04/2014", "17", "8", "5", "", ""]],
    )
    write_csv(folder / "activities.csv", ACTIVITIES_HEADER, [ACTIVITY])
    write_xlsx(
        raw / "submissions" / "2015" / "S02_2015.xlsx",
        {
            "Cases": [
                ["Case list for S02"],
                [],
                [
                    "Case ref",
                    "Age",
                    "Sex",
                    "Date of referral",
                    "Initial risk",
                    "Latest risk",
                    "Sessions",
                ],
                ["K1", 13, "Male", 42036, "cat 2", "Category 1", 4],
                ["K2", "16 years old", "f", "5 Feb 2015", "c3", "cat 3", 2],
                [
                    "Notes: data extracted from the case system on 1 April",
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                ],
            ],
            "Policy": [
                ["la_code", "element", "status"],
                ["E06000003", "strategy", "draft"],
                ["E06000003", "MASE", "embedded in practice"],
            ],
        },
    )
    return raw


# ---------------------------------------------------------------------------
# Hand-written workbooks: the zip and its XML parts written directly, so that a
# test can build what no spreadsheet program would save (hostile or malformed).
# ---------------------------------------------------------------------------

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
#: A styles part whose cell format 1 shows a number as a date (dd/mm/yyyy).
DATE_STYLES = (
    f'<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="{MAIN_NS}">'
    '<numFmts count="1"><numFmt numFmtId="164" formatCode="dd/mm/yyyy"/></numFmts>'
    '<cellXfs count="2"><xf numFmtId="0"/><xf numFmtId="164" applyNumberFormat="1"/></cellXfs>'
    "</styleSheet>"
)


def xml_text(text: str) -> str:
    """``text`` escaped for XML character data."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def column_letters(number: int) -> str:
    """Excel's column letters for a 1-based column number (1 -> A, 27 -> AA)."""
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def cell_xml(ref: str, value: object, *, style: int | None = None) -> str:
    """One ``<c>`` element: text inline, booleans as ``t="b"``, numbers as ``<v>``."""
    s = f' s="{style}"' if style is not None else ""
    if isinstance(value, str):
        return f'<c r="{ref}"{s} t="inlineStr"><is><t>{xml_text(value)}</t></is></c>'
    if isinstance(value, bool):
        return f'<c r="{ref}"{s} t="b"><v>{int(value)}</v></c>'
    return f'<c r="{ref}"{s}><v>{value}</v></c>'


def row_xml(number: int, values: Sequence[object], *, first_column: int = 1) -> str:
    """One ``<row>`` with cells from ``first_column`` on (``None`` leaves a cell out)."""
    cells = "".join(
        cell_xml(f"{column_letters(first_column + i)}{number}", v)
        for i, v in enumerate(values)
        if v is not None
    )
    return f'<row r="{number}">{cells}</row>'


def sheet_xml(body: str, *, prefix: str = "") -> str:
    """A worksheet part around ``body`` (the content of ``sheetData``)."""
    p = f"{prefix}:" if prefix else ""
    ns = f'xmlns:{prefix}="{MAIN_NS}"' if prefix else f'xmlns="{MAIN_NS}"'
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><{p}worksheet {ns}>'
        f"<{p}sheetData>{body}</{p}sheetData></{p}worksheet>"
    )


def workbook_parts(
    sheets: dict[str, str],
    *,
    workbook_pr: str = "",
    shared_strings: str | None = None,
    styles: str | None = None,
    prefix: str = "",
) -> dict[str, bytes]:
    """Every part of a minimal workbook; ``sheets`` maps sheet names to whole worksheet XML."""
    p = f"{prefix}:" if prefix else ""
    ns = f'xmlns:{prefix}="{MAIN_NS}"' if prefix else f'xmlns="{MAIN_NS}"'
    entries = "".join(
        f'<{p}sheet name="{xml_text(name)}" sheetId="{i}" r:id="rId{i}"/>'
        for i, name in enumerate(sheets, start=1)
    )
    sheet_rels = "".join(
        f'<Relationship Id="rId{i}" Type="{REL_NS}/worksheet" Target="worksheets/sheet{i}.xml"/>'
        for i in range(1, len(sheets) + 1)
    )
    extra_rels = ""
    if shared_strings is not None:
        extra_rels += (
            f'<Relationship Id="rIdS" Type="{REL_NS}/sharedStrings" Target="sharedStrings.xml"/>'
        )
    if styles is not None:
        extra_rels += f'<Relationship Id="rIdY" Type="{REL_NS}/styles" Target="styles.xml"/>'
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/></Types>'
        ),
        "_rels/.rels": (
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG_REL_NS}">'
            f'<Relationship Id="rId1" Type="{REL_NS}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>"
        ),
        "xl/workbook.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><{p}workbook {ns} xmlns:r="{REL_NS}">'
            f"{workbook_pr}<{p}sheets>{entries}</{p}sheets></{p}workbook>"
        ),
        "xl/_rels/workbook.xml.rels": (
            f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG_REL_NS}">'
            f"{sheet_rels}{extra_rels}</Relationships>"
        ),
    }
    for i, xml in enumerate(sheets.values(), start=1):
        parts[f"xl/worksheets/sheet{i}.xml"] = xml
    if shared_strings is not None:
        parts["xl/sharedStrings.xml"] = shared_strings
    if styles is not None:
        parts["xl/styles.xml"] = styles
    return {name: text.encode("utf-8") for name, text in parts.items()}


def write_zip(path: Path, parts: dict[str, bytes]) -> Path:
    """Write ``parts`` as a deflated zip at ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    return path


def write_hand_xlsx(path: Path, sheets: dict[str, str], **kw: object) -> Path:
    """A hand-written workbook: ``sheets`` maps names to ``sheetData`` bodies (see :func:`row_xml`)."""
    prefix = str(kw.get("prefix", ""))
    whole = {name: sheet_xml(body, prefix=prefix) for name, body in sheets.items()}
    return write_zip(path, workbook_parts(whole, **kw))  # type: ignore[arg-type]


def write_streamed_member(
    path: Path,
    parts: dict[str, bytes],
    name: str,
    head: bytes,
    filler: bytes,
    size: int,
    tail: bytes,
    *,
    zip64: bool = False,
) -> Path:
    """A workbook whose part ``name`` is ``head``, ``filler`` repeated to ``size`` bytes, ``tail``.

    Written in pieces, so a part of hundreds of MiB (which deflate shrinks to a
    few hundred KiB when the filler repeats) never sits in memory whole.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    block = filler * max(1, (1 << 20) // len(filler))
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for other, data in parts.items():
            if other != name:
                z.writestr(other, data)
        with z.open(name, "w", force_zip64=zip64) as out:
            out.write(head)
            written = 0
            while written < size:
                piece = block[: size - written]
                out.write(piece)
                written += len(piece)
            out.write(tail)
    return path


def lie_about_size(path: Path, name: str, declared: int) -> Path:
    """Rewrite the uncompressed size part ``name`` declares (central directory and local header).

    The CRC becomes that of the part's first ``declared`` bytes, so a reader
    trusting the declared size sees a small, consistent part, while the
    compressed data still inflates to the whole, larger, part.
    """
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        info = z.getinfo(name)
        with z.open(info) as f:
            crc = zlib.crc32(f.read(declared))
    local = info.header_offset
    struct.pack_into("<II", data, local + 14, crc, info.compress_size)
    struct.pack_into("<I", data, local + 22, declared)
    end = data.rfind(b"PK\x05\x06")
    count, _, offset = struct.unpack_from("<HII", data, end + 10)
    for _ in range(count):
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", data, offset + 28)
        if bytes(data[offset + 46 : offset + 46 + name_len]) == name.encode():
            struct.pack_into("<I", data, offset + 16, crc)
            struct.pack_into("<I", data, offset + 24, declared)
        offset += 46 + name_len + extra_len + comment_len
    path.write_bytes(bytes(data))
    return path
