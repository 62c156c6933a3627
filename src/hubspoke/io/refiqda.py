"""Read and write REFI-QDA exchange files (``.qdpx`` projects, ``.qde`` / ``.qdc`` XML).

The REFI-QDA standard (``urn:QDA-XML:project:1.0``, Project.xsd of 2019) is what NVivo,
ATLAS.ti, MAXQDA and QualCoder export. A ``.qdpx`` is a zip holding ``project.qde`` and the
source files under ``sources/``; a ``.qdc`` is a codebook only (``urn:QDA-XML:codebook:1.0``).

:func:`read_refi_qda` returns tidy tables:

``codes``
    guid, name, code_id, description, parent_guid, parent_name, depth, is_codable
``users``
    guid, name
``sources``
    guid, name, description, plain_text_path, case_name, n_chars, text_status, text, plus
    one column per project ``Variable`` holding that source's ``VariableValue`` (text).
    **Transcript metadata** written by :func:`write_qdpx` (and by the synthetic generator)
    travels this way: source ``name`` = transcript id, variables ``service_id``, ``year``,
    ``respondent_role`` and ``interview_date``, and one ``Case`` per service.
``variables``
    source_guid, variable, value (long form of the same values)
``cases``
    case_guid, case_name, source_guid (one row per ``SourceRef``)
``codings``
    source_guid, source_name, selection_guid, start, end, coder, coder_guid, code_guid,
    code_name, code_id, excerpt: one row per ``Coding`` of a ``PlainTextSelection`` (a
    ``Coding`` directly under a ``TextSource`` codes the whole text).

Decisions on bad input (all errors are :class:`~hubspoke.errors.RawFileError` naming the file):

* not a zip, a zip without ``project.qde``, XML that does not parse, a root element other
  than ``Project`` / ``CodeBook``, a ``Variable`` without its required ``guid`` or ``name``,
  a selection without valid integer positions, or positions outside the source text:
  **the whole file fails** (wrong positions mean the text and the
  codings do not belong together, so no excerpt can be trusted);
* a ``CodeRef`` to a code not in the codebook: **the row is kept** with ``code_name`` and
  ``code_id`` missing, so cleaning quarantines it;
* a source whose text file is missing: ``on_missing_text="error"`` (default) fails the file;
  ``"empty"`` keeps the source with ``text_status="missing"`` and its codings with a missing
  excerpt (positions unchecked);
* unknown elements and attributes are ignored; GUIDs are normalised to lower case without
  braces; element names are matched case-sensitively, whatever their namespace prefix.
"""

from __future__ import annotations

import re
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Literal
from xml.etree import ElementTree as ET

import pandas as pd

from hubspoke.errors import RawFileError

PROJECT_NS = "urn:QDA-XML:project:1.0"
CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
#: Fixed timestamp written into generated files (no clock time: files are reproducible).
FIXED_DATETIME = "2017-03-31T12:00:00Z"
_ZIP_DATE = (2017, 3, 31, 12, 0, 0)
_GUID_NS = uuid.UUID("6f1c1f55-6d2a-4d0e-9a51-6875627370b6")
_CODE_ID = re.compile(r"^(PT\d+(?:-[CMO]\d+)?)(?:\s|$)")
#: What to do with a source whose text file is missing (see the module docstring).
OnMissingText = Literal["error", "empty"]

CODE_COLUMNS = (
    "guid",
    "name",
    "code_id",
    "description",
    "parent_guid",
    "parent_name",
    "depth",
    "is_codable",
)
USER_COLUMNS = ("guid", "name")
SOURCE_COLUMNS = (
    "guid",
    "name",
    "description",
    "plain_text_path",
    "case_name",
    "n_chars",
    "text_status",
    "text",
)
CODING_COLUMNS = (
    "source_guid", "source_name", "selection_guid", "start", "end", "coder", "coder_guid",
    "code_guid", "code_name", "code_id", "excerpt",
)  # fmt: skip


# ---------------------------------------------------------------------------
# Small helpers
# ---------------------------------------------------------------------------


def normalise_guid(value: str | None) -> str | None:
    """GUID in lower case without braces or white space (None stays None)."""
    if value is None:
        return None
    return value.strip().strip("{}").strip().lower() or None


def stable_guid(*parts: object) -> str:
    """A GUID derived from ``parts`` (uuid5), for ids a caller does not supply."""
    return str(uuid.uuid5(_GUID_NS, "\x1f".join(map(str, parts))))


def code_id_from_name(name: str | None) -> str | None:
    """The leading ``PT<n>`` / ``PT<n>-<C|M|O><n>`` id of a code name, if it has one."""
    match = _CODE_ID.match(name or "")
    return match.group(1) if match else None


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _ns(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def _children(elem: ET.Element, name: str) -> Iterator[ET.Element]:
    return (c for c in elem if _local(c.tag) == name)


def _child(elem: ET.Element, name: str) -> ET.Element | None:
    return next(_children(elem, name), None)


def _child_text(elem: ET.Element, name: str) -> str | None:
    child = _child(elem, name)
    return child.text if child is not None and child.text is not None else None


def _frame(rows: list[dict], columns: tuple[str, ...], ints: tuple[str, ...] = ()) -> pd.DataFrame:
    """A frame with Int64 columns ``ints`` and string columns (missing = NaN) otherwise."""
    frame = pd.DataFrame(rows, columns=list(columns))
    texts = [c for c in columns if c not in ints and c != "is_codable"]
    return frame.astype({**dict.fromkeys(ints, "Int64"), **dict.fromkeys(texts, "str")})


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------


class _Archive:
    """Where source texts come from: the zip (``internal://``), or disk."""

    def __init__(self, path: Path, zf: zipfile.ZipFile | None, base_path: str | None) -> None:
        self.path = path
        self.zf = zf
        self.base = base_path
        self.entries = {n.lower(): n for n in zf.namelist()} if zf else {}

    def read(self, ref: str) -> str | None:
        """Text behind a ``plainTextPath``, or None when the file is missing."""
        if ref.lower().startswith("internal://"):
            name = ref[len("internal://") :]
            for key in (f"sources/{name}".lower(), name.lower()):
                if self.zf is not None and key in self.entries:
                    return self.zf.read(self.entries[key]).decode("utf-8-sig")
            return None
        if ref.lower().startswith("file://"):
            ref = ref[len("file://") :]
        if self.zf and not Path(ref).is_absolute():
            key = str(PurePosixPath(ref.replace("\\", "/"))).lower()
            if key in self.entries:
                return self.zf.read(self.entries[key]).decode("utf-8-sig")
        candidates = [Path(ref)] if Path(ref).is_absolute() else []
        if not Path(ref).is_absolute():
            if self.base:
                candidates.append(Path(self.base) / ref)
            candidates.append(self.path.parent / ref)
        for cand in candidates:
            if cand.is_file():
                return cand.read_text(encoding="utf-8-sig")
        return None


def _load_root(path: Path) -> tuple[ET.Element, _Archive]:
    """Open a .qdpx / .qde / .qdc file and return its XML root and text archive."""
    if not path.is_file():
        raise RawFileError("REFI-QDA file not found", file=path)
    if zipfile.is_zipfile(path):
        zf = zipfile.ZipFile(path)
        names = [n for n in zf.namelist() if PurePosixPath(n).name.lower() == "project.qde"]
        if not names:
            raise RawFileError(
                "zip archive holds no project.qde", file=path, found=sorted(zf.namelist())[:5]
            )
        data, archive_zf = zf.read(min(names, key=len)), zf
    elif path.suffix.lower() == ".qdpx":
        raise RawFileError(
            "not a zip archive (a .qdpx must be a zip holding project.qde)", file=path
        )
    else:
        data, archive_zf = path.read_bytes(), None
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise RawFileError(f"XML does not parse: {exc}", file=path) from None
    kind, ns = _local(root.tag), _ns(root.tag)
    if kind not in ("Project", "CodeBook") or (ns and not ns.startswith("urn:QDA-XML")):
        raise RawFileError(
            "wrong root element", file=path, allowed=["Project", "CodeBook"], found=root.tag
        )
    return root, _Archive(path, archive_zf, root.get("basePath"))


def _walk_codes(
    parent: ET.Element, parent_guid: str | None, parent_name: str | None, depth: int
) -> Iterator[dict]:
    for code in _children(parent, "Code"):
        guid, name = normalise_guid(code.get("guid")), code.get("name")
        yield {
            "guid": guid,
            "name": name,
            "code_id": code_id_from_name(name),
            "description": _child_text(code, "Description") or code.get("description"),
            "parent_guid": parent_guid,
            "parent_name": parent_name,
            "depth": depth,
            "is_codable": (code.get("isCodable") or "true").strip().lower() in ("true", "1"),
        }
        yield from _walk_codes(code, guid, name, depth + 1)


def _read_codes(root: ET.Element) -> pd.DataFrame:
    codes_elem = _child(root, "Codes") if _local(root.tag) == "CodeBook" else None
    if codes_elem is None:
        book = _child(root, "CodeBook")
        codes_elem = _child(book, "Codes") if book is not None else None
    rows = list(_walk_codes(codes_elem, None, None, 0)) if codes_elem is not None else []
    return _frame(rows, CODE_COLUMNS, ints=("depth",)).astype({"is_codable": "bool"})


def _read_users(root: ET.Element) -> pd.DataFrame:
    users = _child(root, "Users")
    rows = [
        {"guid": normalise_guid(u.get("guid")), "name": u.get("name") or u.get("id")}
        for u in (_children(users, "User") if users is not None else [])
    ]
    return _frame(rows, USER_COLUMNS)


def _variable_names(root: ET.Element, path: Path) -> dict[str, str]:
    """``{guid: name}`` of the project's ``Variable`` elements (both attributes required)."""
    variables = _child(root, "Variables")
    if variables is None:
        return {}
    names: dict[str, str] = {}
    for var in _children(variables, "Variable"):
        guid, name = normalise_guid(var.get("guid")), var.get("name")
        if guid is None or name is None:
            raise RawFileError(
                "Variable without a guid or a name (Project.xsd requires both)",
                file=path,
                column="guid" if guid is None else "name",
                found=var.attrib,
            )
        names[guid] = name
    return names


def _value_of(vv: ET.Element) -> str | None:
    for child in vv:
        if _local(child.tag).endswith("Value"):
            return child.text
    return None


def _read_cases(root: ET.Element) -> pd.DataFrame:
    cases = _child(root, "Cases")
    rows = [
        {
            "case_guid": normalise_guid(case.get("guid")),
            "case_name": case.get("name"),
            "source_guid": normalise_guid(ref.get("targetGUID")),
        }
        for case in (_children(cases, "Case") if cases is not None else [])
        for ref in _children(case, "SourceRef")
    ]
    return _frame(rows, ("case_guid", "case_name", "source_guid"))


def _int_attr(elem: ET.Element, attr: str, path: Path) -> int:
    value = elem.get(attr)
    try:
        return int(str(value).strip())
    except ValueError:
        raise RawFileError(
            f"PlainTextSelection {elem.get('guid')!r} has no integer {attr}",
            file=path,
            column=attr,
            found=value,
        ) from None


def _source_text(
    src: ET.Element, archive: _Archive, on_missing_text: OnMissingText
) -> tuple[str | None, str]:
    content = _child(src, "PlainTextContent")
    if content is not None:
        return content.text or "", "ok"
    ref = src.get("plainTextPath")
    if not ref:
        return None, "none"
    text = archive.read(ref)
    if text is None and on_missing_text == "error":
        raise RawFileError(
            f"text of source {src.get('name')!r} not found",
            file=archive.path,
            column="plainTextPath",
            found=ref,
        )
    return text, "ok" if text is not None else "missing"


def _coding_rows(src: ET.Element, text: str | None, path: Path) -> Iterator[dict]:
    """One dict per Coding (selection-level, then whole-source)."""
    base = {"source_guid": normalise_guid(src.get("guid")), "source_name": src.get("name")}
    for sel in _children(src, "PlainTextSelection"):
        start, end = _int_attr(sel, "startPosition", path), _int_attr(sel, "endPosition", path)
        if text is not None and not 0 <= start <= end <= len(text):
            raise RawFileError(
                f"PlainTextSelection {sel.get('guid')!r} in source {src.get('name')!r} lies outside "
                f"its text of {len(text)} characters",
                file=path,
                column="startPosition/endPosition",
                allowed=f"0 <= start <= end <= {len(text)}",
                found=(start, end),
            )
        for coding in _children(sel, "Coding"):
            yield {
                **base,
                "selection_guid": normalise_guid(sel.get("guid")),
                "start": start,
                "end": end,
                "coding": coding,
                "user": coding.get("creatingUser") or sel.get("creatingUser"),
                "excerpt": text[start:end] if text is not None else None,
            }
    for coding in _children(src, "Coding"):
        yield {
            **base,
            "selection_guid": None,
            "start": 0,
            "end": len(text) if text is not None else None,
            "coding": coding,
            "user": coding.get("creatingUser") or src.get("creatingUser"),
            "excerpt": text,
        }


def _read_sources(
    root: ET.Element, archive: _Archive, on_missing_text: OnMissingText
) -> tuple[list[dict], list[dict], list[dict]]:
    sources = _child(root, "Sources")
    var_names = _variable_names(root, archive.path)
    src_rows, var_rows, coding_rows = [], [], []
    for src in _children(sources, "TextSource") if sources is not None else []:
        guid = normalise_guid(src.get("guid"))
        text, status = _source_text(src, archive, on_missing_text)
        src_rows.append(
            {
                "guid": guid,
                "name": src.get("name"),
                "description": _child_text(src, "Description"),
                "plain_text_path": src.get("plainTextPath"),
                "n_chars": len(text) if text is not None else None,
                "text_status": status,
                "text": text,
            }
        )
        for vv in _children(src, "VariableValue"):
            ref = _child(vv, "VariableRef")
            var_guid = normalise_guid(ref.get("targetGUID")) if ref is not None else None
            var_rows.append(
                {
                    "source_guid": guid,
                    "variable": (
                        var_names.get(var_guid, var_guid) if var_guid is not None else None
                    ),
                    "value": _value_of(vv),
                }
            )
        coding_rows += list(_coding_rows(src, text, archive.path))
    return src_rows, var_rows, coding_rows


def _codings_frame(rows: list[dict], codes: pd.DataFrame, users: pd.DataFrame) -> pd.DataFrame:
    code_names = dict(zip(codes["guid"], codes["name"], strict=True))
    user_names = dict(zip(users["guid"], users["name"], strict=True))
    out = []
    for row in rows:
        ref = _child(row.pop("coding"), "CodeRef")
        code_guid = normalise_guid(ref.get("targetGUID")) if ref is not None else None
        coder_guid = normalise_guid(row.pop("user"))
        name = code_names.get(code_guid)
        out.append(
            {
                **row,
                "coder": user_names.get(coder_guid),
                "coder_guid": coder_guid,
                "code_guid": code_guid,
                "code_name": name,
                "code_id": code_id_from_name(name),
            }
        )
    return _frame(out, CODING_COLUMNS, ints=("start", "end"))


def _sources_frame(
    src_rows: list[dict], variables: pd.DataFrame, cases: pd.DataFrame
) -> pd.DataFrame:
    sources = _frame(
        src_rows, tuple(c for c in SOURCE_COLUMNS if c != "case_name"), ints=("n_chars",)
    )
    first_case = cases.drop_duplicates("source_guid").set_index("source_guid")["case_name"]
    sources = sources.assign(case_name=sources["guid"].map(first_case)).loc[:, list(SOURCE_COLUMNS)]
    if variables.empty:
        return sources
    wide = variables.drop_duplicates(["source_guid", "variable"]).pivot(
        index="source_guid", columns="variable", values="value"
    )
    wide = wide.loc[:, [c for c in wide.columns if c not in SOURCE_COLUMNS]]
    return sources.join(wide, on="guid")


def read_refi_qda(
    path: str | Path, *, on_missing_text: OnMissingText = "error"
) -> dict[str, pd.DataFrame]:
    """Read a ``.qdpx`` / ``.qde`` / ``.qdc`` file into tables (see the module docstring)."""
    path = Path(path)
    root, archive = _load_root(path)
    codes = _read_codes(root)
    users = _read_users(root)
    cases = _read_cases(root)
    src_rows, var_rows, coding_rows = _read_sources(root, archive, on_missing_text)
    variables = _frame(var_rows, ("source_guid", "variable", "value"))
    return {
        "codes": codes,
        "users": users,
        "sources": _sources_frame(src_rows, variables, cases),
        "variables": variables,
        "cases": cases,
        "codings": _codings_frame(coding_rows, codes, users),
    }


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------

_SOURCE_BASE = ("guid", "name", "text", "description", "case")


def _q(name: str) -> str:
    return f"{{{PROJECT_NS}}}{name}"


def _sub(parent: ET.Element, tag: str, text: str | None = None, /, **attrs: object) -> ET.Element:
    elem = ET.SubElement(parent, _q(tag), {k: str(v) for k, v in attrs.items() if v is not None})
    if text is not None:
        elem.text = text
    return elem


def _blank(value: object) -> bool:
    return value is None or (not isinstance(value, str) and pd.isna(value)) or value == ""


def _add_codes(parent: ET.Element, codes: pd.DataFrame, parent_guid: str | None) -> None:
    level = (
        codes[codes["parent_guid"].map(_blank)]
        if parent_guid is None
        else codes[codes["parent_guid"] == parent_guid]
    )
    for row in level.itertuples(index=False):
        is_codable = getattr(row, "is_codable", True)
        elem = _sub(
            parent, "Code", guid=row.guid, name=row.name, isCodable=str(bool(is_codable)).lower()
        )
        if not _blank(getattr(row, "description", None)):
            _sub(elem, "Description", row.description)
        _add_codes(elem, codes, row.guid)


def _variable_type(series: pd.Series) -> tuple[str, str]:
    return (
        ("Integer", "IntegerValue")
        if pd.api.types.is_integer_dtype(series)
        else ("Text", "TextValue")
    )


def _build_project(
    name: str,
    codes: pd.DataFrame,
    sources: pd.DataFrame,
    codings: pd.DataFrame,
    users: pd.DataFrame,
) -> ET.Element:
    first_user = users["guid"].iloc[0] if len(users) else None
    root = ET.Element(
        _q("Project"),
        {"name": name, "origin": "hubspoke (synthetic data)", "creationDateTime": FIXED_DATETIME},
    )
    if first_user:
        root.set("creatingUserGUID", first_user)
    users_el = _sub(root, "Users")
    for user in users.itertuples(index=False):
        _sub(users_el, "User", guid=user.guid, name=user.name)
    _add_codes(
        _sub(_sub(root, "CodeBook"), "Codes"),
        codes.assign(parent_guid=codes.get("parent_guid")),
        None,
    )
    var_cols = [c for c in sources.columns if c not in _SOURCE_BASE]
    var_guids = {c: stable_guid("variable", c) for c in var_cols}
    if var_cols:
        variables = _sub(root, "Variables")
        for col in var_cols:
            _sub(
                variables,
                "Variable",
                guid=var_guids[col],
                name=col,
                typeOfVariable=_variable_type(sources[col])[0],
            )
    if "case" in sources.columns:
        cases = _sub(root, "Cases")
        for case_name, group in sources.groupby("case", sort=True):
            case = _sub(cases, "Case", guid=stable_guid("case", case_name), name=str(case_name))
            for guid in group["guid"]:
                _sub(case, "SourceRef", targetGUID=guid)
    src_parent = _sub(root, "Sources")
    by_source = {k: g for k, g in codings.groupby("source_guid", sort=False)}
    for src in sources.to_dict("records"):
        elem = _sub(
            src_parent, "TextSource", guid=src["guid"], name=src["name"],
            plainTextPath=f"internal://{src['guid']}.txt", creatingUser=first_user, creationDateTime=FIXED_DATETIME,
        )  # fmt: skip
        if not _blank(src.get("description")):
            _sub(elem, "Description", src["description"])
        for sel in by_source.get(src["guid"], codings.iloc[0:0]).to_dict("records"):
            sel_el = _sub(
                elem, "PlainTextSelection", guid=sel["selection_guid"], startPosition=int(sel["start"]),
                endPosition=int(sel["end"]), creatingUser=sel["coder_guid"], creationDateTime=FIXED_DATETIME,
            )  # fmt: skip
            coding_guid = sel.get("coding_guid") or stable_guid(
                "coding", sel["selection_guid"], sel["code_guid"]
            )
            coding = _sub(
                sel_el,
                "Coding",
                guid=coding_guid,
                creatingUser=sel["coder_guid"],
                creationDateTime=FIXED_DATETIME,
            )
            _sub(coding, "CodeRef", targetGUID=sel["code_guid"])
        for col in var_cols:
            if _blank(src[col]):
                continue
            vv = _sub(elem, "VariableValue")
            _sub(vv, "VariableRef", targetGUID=var_guids[col])
            _sub(vv, _variable_type(sources[col])[1], str(src[col]))
    return root


def _zip_entry(zf: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_ZIP_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    zf.writestr(info, data)


def write_qdpx(
    path: str | Path,
    *,
    codes: pd.DataFrame,
    sources: pd.DataFrame,
    codings: pd.DataFrame,
    users: pd.DataFrame,
    name: str = "hubspoke interviews (synthetic)",
) -> Path:
    """Write a REFI-QDA project (``.qdpx``); the same inputs give byte-identical files.

    ``codes``: guid, name, description, parent_guid (blank at the top), optional is_codable.
    ``users``: guid, name. ``sources``: guid, name, text, optional description and case
    (one ``Case`` per value); every other column becomes a ``Variable`` with a
    ``VariableValue`` per source (integer columns as ``IntegerValue``).
    ``codings``: source_guid, selection_guid, start, end, coder_guid, code_guid and
    optionally coding_guid (else derived); one ``PlainTextSelection`` per row, in row order.
    """
    path = Path(path)
    root = _build_project(name, codes, sources, codings, users)
    ET.register_namespace("", PROJECT_NS)
    ET.indent(root, space="  ")
    xml = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        _zip_entry(zf, "project.qde", xml)
        for src in sources.itertuples(index=False):
            _zip_entry(zf, f"sources/{src.guid}.txt", str(src.text).encode("utf-8"))
    return path
