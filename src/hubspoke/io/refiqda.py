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

Where source texts are read from (every file is treated as hostile):

* a ``.qdpx``: **only members of the archive** - ``internal://<name>`` is ``sources/<name>``
  (or ``<name>``), a relative path is the member of that name; nothing on disk is read;
* a bare ``.qde``: only files under the folder holding it - ``internal://<name>`` is
  ``sources/<name>`` or ``<name>`` beside it, a relative path is relative to it, an
  absolute path or ``file://`` URL only if it lies in it - and, when ``root=`` is given
  (the cleaner passes the raw folder), inside ``root`` as well; links are followed
  before the check, so a link out of the folder is refused like a path out of it;
* ``basePath`` is never used (the file chooses it); ``..`` is refused in a ``.qdpx`` and in
  ``internal://`` names.

Decisions on bad input (all errors are :class:`~hubspoke.errors.RawFileError` naming the file):

* not a zip, a zip without ``project.qde``, XML that does not parse, a root element other
  than ``Project`` / ``CodeBook``, a ``Variable`` without its required ``guid`` or ``name``,
  a selection without valid integer positions (at most ``MAX_POSITION`` either way), or
  positions outside the source text:
  **the whole file fails** (wrong positions mean the text and the
  codings do not belong together, so no excerpt can be trusted);
* a ``plainTextPath`` pointing outside what may be read (above: an absolute path or
  ``file://`` URL out of the folder, ``..`` out of it, ``internal://../x``, a network
  share, another scheme such as ``http://``), or a project file outside ``root``:
  **the whole file fails**, whatever ``on_missing_text`` says, with the offending path
  in the message - such a file is broken or hostile, and nothing outside is read;
* a file over the limits of :class:`ReadLimits` (a member larger than ``member_bytes``,
  by its declared size before inflating or by the bytes it gives while inflating; more
  than ``members`` zip entries, ``total_bytes`` read, ``xml_items`` XML elements and
  attributes or ``excerpt_chars`` excerpt characters), XML with a DTD or entities (parsed
  with :mod:`defusedxml`), a damaged or encrypted member, or text that is not UTF-8:
  **the whole file fails** before it can exhaust memory;
* a ``CodeRef`` to a code not in the codebook: **the row is kept** with ``code_name`` and
  ``code_id`` missing, so cleaning quarantines it;
* a source whose text is missing (not in the archive or folder, as MAXQDA 24 writes a bare
  ``.qde`` whose ``internal://`` texts are not beside it): ``on_missing_text="empty"``
  (default) keeps the source with ``text_status="missing"`` and its codings, with their
  positions, and a missing excerpt (positions unchecked against a text); ``"error"`` fails
  the file;
* unknown elements and attributes are ignored; GUIDs are normalised to lower case without
  braces; element names are matched case-sensitively, whatever their namespace prefix.
"""

from __future__ import annotations

import re
import uuid
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal
from urllib.parse import unquote, urlsplit
from xml.etree import ElementTree as ET

import pandas as pd
from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET

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


def code_id_from_name(name: object) -> str | None:
    """The leading ``PT<n>`` / ``PT<n>-<C|M|O><n>`` id of a code name, if it has one."""
    match = _CODE_ID.match(name if isinstance(name, str) else "")
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
# Reading: limits, and where source texts may come from
# ---------------------------------------------------------------------------

_MIB = 2**20
#: Largest member read from a ``.qdpx`` (declared or inflated), bare ``.qde`` or source text file.
MAX_MEMBER_BYTES = 256 * _MIB
#: Most bytes read from one REFI-QDA file altogether (the project XML plus every source text).
MAX_TOTAL_BYTES = 512 * _MIB
#: Most entries a ``.qdpx`` may list.
MAX_MEMBERS = 20_000
#: Most XML elements plus attributes in the project (an element costs up to ~300 bytes parsed).
MAX_XML_ITEMS = 1_000_000
#: Most excerpt characters altogether (overlapping selections copy the same text again and again).
MAX_EXCERPT_CHARS = 64 * _MIB
#: Largest character position accepted (keeps positions inside a 32-bit integer).
MAX_POSITION = 2**31 - 1
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_DRIVE = re.compile(r"^[A-Za-z]:")
_CHUNK = 2**20
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError)


@dataclass(frozen=True)
class ReadLimits:
    """How much one REFI-QDA file may make :func:`read_refi_qda` read and hold.

    The defaults are far above this evaluation's projects (the synthetic one of 16
    services reads about 2 MiB and 26,000 XML items) and keep what a hostile file can
    make the reader hold to a few hundred MiB per kind of bomb (about 1 GiB if one file
    pushes every limit at once): a zip member is checked
    against ``member_bytes`` by its declared size before it is inflated, and by the
    bytes it actually gives while it is.
    """

    member_bytes: int = MAX_MEMBER_BYTES
    total_bytes: int = MAX_TOTAL_BYTES
    members: int = MAX_MEMBERS
    xml_items: int = MAX_XML_ITEMS
    excerpt_chars: int = MAX_EXCERPT_CHARS


DEFAULT_LIMITS = ReadLimits()


class _Budget:
    """What one file has cost so far (bytes read, excerpt characters), against its limits."""

    def __init__(self, path: Path, limits: ReadLimits) -> None:
        self.path = path
        self.limits = limits
        self.bytes_read = 0
        self.excerpt_chars = 0

    def check_size(self, size: int, what: str) -> None:
        """Refuse ``what`` when its (declared or actual) size is over the per-member limit."""
        if size > self.limits.member_bytes:
            raise RawFileError(
                f"{what} is {size:,} bytes, over the limit of {self.limits.member_bytes:,} "
                "bytes per member (ReadLimits.member_bytes); not read",
                file=self.path,
            )

    def stream(self, chunks: Iterator[bytes], what: str) -> Iterator[bytes]:
        """``chunks`` of one member or file, each counted against the limits before it is used."""
        size = 0
        for chunk in chunks:
            size += len(chunk)
            self.bytes_read += len(chunk)
            self.check_size(size, what)
            if self.bytes_read > self.limits.total_bytes:
                raise RawFileError(
                    f"reading {what} brings the file's total past "
                    f"{self.limits.total_bytes:,} bytes (ReadLimits.total_bytes); not read",
                    file=self.path,
                )
            yield chunk

    def excerpt(self, text: str, start: int, end: int) -> str:
        """``text[start:end]``, counted against the limit on excerpt characters."""
        self.excerpt_chars += max(end - start, 0)
        if self.excerpt_chars > self.limits.excerpt_chars:
            raise RawFileError(
                f"the codings' excerpts add up to more than {self.limits.excerpt_chars:,} "
                "characters (ReadLimits.excerpt_chars); not read",
                file=self.path,
            )
        return text[start:end]


def _text(chunks: Iterator[bytes], path: Path, what: str) -> str:
    """The UTF-8 text of ``chunks`` (a byte-order mark dropped)."""
    data = bytearray()
    for chunk in chunks:
        data += chunk
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RawFileError(
            f"{what} is not UTF-8 text ({exc.reason} at byte {exc.start})", file=path
        ) from None


def _parse_ref(ref: str) -> tuple[str, str]:
    """``(kind, path)`` of a ``plainTextPath``: kind internal, relative, absolute or other.

    ``file://`` URLs are decoded (``%20``); one naming a host is ``other`` (a network share).
    """
    match = _SCHEME.match(ref)
    if match is None:
        path = ref.replace("\\", "/")
        return ("absolute" if path.startswith("/") or _DRIVE.match(path) else "relative"), path
    scheme, rest = match.group(1).lower(), ref[match.end() :].replace("\\", "/")
    if scheme in ("internal", "relative"):
        return scheme, rest
    if scheme == "absolute":
        return "absolute", rest
    if scheme == "file":
        parts = urlsplit(ref.replace("\\", "/"))
        if parts.netloc.lower() in ("", "localhost"):
            return "absolute", unquote(parts.path)
    return "other", ref


def _inside_name(path: str) -> str | None:
    """``path`` as a relative name with no ``..``, or None when it would climb out or is absolute."""
    if path.startswith("/") or _DRIVE.match(path):
        return None
    parts = [p for p in path.split("/") if p not in ("", ".")]
    return "/".join(parts) if parts and ".." not in parts else None


class _Texts:
    """Where the project and its source texts may be read from (subclasses say where)."""

    where = ""

    def __init__(self, path: Path, budget: _Budget) -> None:
        self.path = path
        self.budget = budget

    def project(self) -> Iterator[bytes]:
        """The project XML, a chunk at a time."""
        raise NotImplementedError

    def read(self, ref: str, source: str | None = None) -> str | None:
        """Text behind a ``plainTextPath`` of ``source``: None when missing, refused when outside."""
        raise NotImplementedError

    def refuse(self, ref: str, source: str | None) -> RawFileError:
        """The error for a ``plainTextPath`` that points outside what may be read."""
        return RawFileError(
            f"text of source {source!r} refused: its plainTextPath points outside {self.where}",
            file=self.path,
            column="plainTextPath",
            found=ref,
        )


class _ZipTexts(_Texts):
    """A ``.qdpx``: the project and its texts are members of the archive, nothing else."""

    where = "the archive (only members of the .qdpx are read)"

    def __init__(self, path: Path, zf: zipfile.ZipFile, budget: _Budget) -> None:
        super().__init__(path, budget)
        self.zf = zf
        self.members = {i.filename.replace("\\", "/").lower(): i for i in zf.infolist()}

    def chunks(self, info: zipfile.ZipInfo) -> Iterator[bytes]:
        """One member a chunk at a time: its declared size checked first, then what it gives.

        Inflating a chunk at a time means a member that gives more than it declares
        costs one chunk more than the limit, never the whole bomb.
        """
        what = f"member {info.filename!r}"
        self.budget.check_size(info.file_size, what)
        try:
            with self.zf.open(info) as fh:
                while chunk := fh.read(_CHUNK):
                    yield chunk
        except _ZIP_ERRORS as exc:
            raise RawFileError(f"{what} cannot be read: {exc}", file=self.path) from None

    def member(self, info: zipfile.ZipInfo) -> Iterator[bytes]:
        return self.budget.stream(self.chunks(info), f"member {info.filename!r}")

    def project(self) -> Iterator[bytes]:
        """``project.qde`` (the shortest path of that name)."""
        names = [n for n in self.zf.namelist() if PurePosixPath(n).name.lower() == "project.qde"]
        if not names:
            raise RawFileError(
                "zip archive holds no project.qde",
                file=self.path,
                found=sorted(self.zf.namelist())[:5],
            )
        return self.member(self.zf.getinfo(min(names, key=len)))

    def read(self, ref: str, source: str | None = None) -> str | None:
        kind, rest = _parse_ref(ref)
        name = _inside_name(rest) if kind in ("internal", "relative") else None
        if name is None:
            raise self.refuse(ref, source)
        keys = (f"sources/{name}", name) if kind == "internal" else (name,)
        for key in keys:
            info = self.members.get(key.lower())
            if info is not None:
                return _text(self.member(info), self.path, f"member {info.filename!r}")
        return None


class _FolderTexts(_Texts):
    """A bare ``.qde``: its texts are files under the folder holding it (and under ``root``)."""

    where = "the folder holding the project (and the raw folder)"

    def __init__(self, path: Path, budget: _Budget, root: Path | None) -> None:
        super().__init__(path, budget)
        self.folder = path.absolute().parent.resolve()
        self.roots = [self.folder, *([root.resolve()] if root is not None else [])]

    def chunks(self, real: Path, what: str) -> Iterator[bytes]:
        """A file a chunk at a time, its size checked before it is read."""
        try:
            self.budget.check_size(real.stat().st_size, what)
            with real.open("rb") as fh:
                while chunk := fh.read(_CHUNK):
                    yield chunk
        except OSError as exc:
            raise RawFileError(f"{what} cannot be read: {exc.strerror}", file=self.path) from None

    def file(self, real: Path, what: str) -> Iterator[bytes]:
        return self.budget.stream(self.chunks(real, what), what)

    def project(self) -> Iterator[bytes]:
        return self.file(self.path, "the project file")

    def candidates(self, ref: str, source: str | None) -> list[Path]:
        """Where ``ref`` may be on disk (``basePath`` is never used: the file chooses it)."""
        kind, rest = _parse_ref(ref)
        if kind == "internal":
            name = _inside_name(rest)
            if name is None:
                raise self.refuse(ref, source)
            return [self.folder / "sources" / name, self.folder / name]
        if kind == "relative":
            return [self.folder / rest]
        if kind == "absolute":
            return [Path(rest)]
        raise self.refuse(ref, source)

    def read(self, ref: str, source: str | None = None) -> str | None:
        for cand in self.candidates(ref, source):
            try:
                real = cand.resolve()  # follows links, so a link out of the folder is refused
                inside = all(real.is_relative_to(r) for r in self.roots)
                present = inside and real.is_file()
            except (OSError, RuntimeError, ValueError):
                raise self.refuse(ref, source) from None
            if not inside:
                raise self.refuse(ref, source)
            if present:
                what = f"source text {ref!r}"
                return _text(self.file(real, what), self.path, what)
        return None


def _open_zip(path: Path, limits: ReadLimits) -> zipfile.ZipFile:
    try:
        zf = zipfile.ZipFile(path)
    except (*_ZIP_ERRORS, ValueError) as exc:
        raise RawFileError(f"zip archive cannot be read: {exc}", file=path) from None
    if len(zf.infolist()) > limits.members:
        zf.close()
        raise RawFileError(
            f"zip archive lists {len(zf.infolist()):,} members, over the limit of "
            f"{limits.members:,} (ReadLimits.members)",
            file=path,
        )
    return zf


class _CountingBuilder(ET.TreeBuilder):
    """A tree builder that stops the parse once the tree would hold too many items."""

    def __init__(self, path: Path, limit: int) -> None:
        super().__init__()
        self.path = path
        self.limit = limit
        self.items = 0

    def start(self, tag: str, attrs: dict[str, str], /) -> ET.Element:
        self.items += 1 + len(attrs)
        if self.items > self.limit:
            raise RawFileError(
                f"XML holds more than {self.limit:,} elements and attributes "
                "(ReadLimits.xml_items); not read",
                file=self.path,
            )
        return super().start(tag, attrs)


def _parse_xml(chunks: Iterator[bytes], path: Path, limits: ReadLimits) -> ET.Element:
    """The XML root, parsed as it is read, with defusedxml (no DTD, no entities), within limits."""
    parser = SafeET.DefusedXMLParser(
        target=_CountingBuilder(path, limits.xml_items), forbid_dtd=True
    )
    try:
        for chunk in chunks:
            parser.feed(chunk)
        root: ET.Element = parser.close()
    except DefusedXmlException as exc:
        raise RawFileError(
            f"XML refused: {exc} (a REFI-QDA file needs no DTD or entity)", file=path
        ) from None
    except (ET.ParseError, ValueError, LookupError) as exc:
        raise RawFileError(f"XML does not parse: {exc}", file=path) from None
    return root


def _check_root(root: ET.Element, path: Path) -> None:
    kind, ns = _local(root.tag), _ns(root.tag)
    if kind not in ("Project", "CodeBook") or (ns and not ns.startswith("urn:QDA-XML")):
        raise RawFileError(
            "wrong root element", file=path, allowed=["Project", "CodeBook"], found=root.tag
        )


def _check_under(path: Path, root: Path | None) -> None:
    """Refuse a project file that is, or links to, a file outside ``root``."""
    if root is None:
        return
    if not path.resolve().is_relative_to(root.resolve()):
        raise RawFileError(
            f"the project file lies outside the raw folder {root} (a link elsewhere?); not read",
            file=path,
        )


# ---------------------------------------------------------------------------
# Reading: tables
# ---------------------------------------------------------------------------


def _walk_codes(top: ET.Element) -> Iterator[dict]:
    """Every ``Code`` under ``top``, parents before children (no recursion: depth is the file's)."""
    stack: list[tuple[ET.Element, str | None, str | None, int]] = [
        (code, None, None, 0) for code in reversed(list(_children(top, "Code")))
    ]
    while stack:
        code, parent_guid, parent_name, depth = stack.pop()
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
        stack += [(c, guid, name, depth + 1) for c in reversed(list(_children(code, "Code")))]


def _read_codes(root: ET.Element) -> pd.DataFrame:
    codes_elem = _child(root, "Codes") if _local(root.tag) == "CodeBook" else None
    if codes_elem is None:
        book = _child(root, "CodeBook")
        codes_elem = _child(book, "Codes") if book is not None else None
    rows = list(_walk_codes(codes_elem)) if codes_elem is not None else []
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
        number = int(str(value).strip())
    except ValueError:
        number = None
    if number is None or abs(number) > MAX_POSITION:
        raise RawFileError(
            f"PlainTextSelection {elem.get('guid')!r} has no integer {attr}",
            file=path,
            column=attr,
            allowed=f"an integer from -{MAX_POSITION} to {MAX_POSITION}",
            found=value,
        )
    return number


def _source_text(
    src: ET.Element, texts: _Texts, on_missing_text: OnMissingText
) -> tuple[str | None, str]:
    content = _child(src, "PlainTextContent")
    if content is not None:
        return content.text or "", "ok"
    ref = src.get("plainTextPath")
    if not ref:
        return None, "none"
    text = texts.read(ref, src.get("name"))
    if text is None and on_missing_text == "error":
        raise RawFileError(
            f"text of source {src.get('name')!r} not found",
            file=texts.path,
            column="plainTextPath",
            found=ref,
        )
    return text, "ok" if text is not None else "missing"


def _coding_rows(src: ET.Element, text: str | None, budget: _Budget) -> Iterator[dict]:
    """One dict per Coding (selection-level, then whole-source)."""
    path = budget.path
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
                "excerpt": budget.excerpt(text, start, end) if text is not None else None,
            }
    for coding in _children(src, "Coding"):
        yield {
            **base,
            "selection_guid": None,
            "start": 0,
            "end": len(text) if text is not None else None,
            "coding": coding,
            "user": coding.get("creatingUser") or src.get("creatingUser"),
            "excerpt": budget.excerpt(text, 0, len(text)) if text is not None else None,
        }


def _read_sources(
    root: ET.Element, texts: _Texts, on_missing_text: OnMissingText
) -> tuple[list[dict], list[dict], list[dict]]:
    sources = _child(root, "Sources")
    var_names = _variable_names(root, texts.path)
    src_rows, var_rows, coding_rows = [], [], []
    for src in _children(sources, "TextSource") if sources is not None else []:
        guid = normalise_guid(src.get("guid"))
        text, status = _source_text(src, texts, on_missing_text)
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
        coding_rows += list(_coding_rows(src, text, texts.budget))
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


def _read_project(texts: _Texts, on_missing_text: OnMissingText) -> dict[str, pd.DataFrame]:
    """The tables of one project, from where it and its texts may be read."""
    root = _parse_xml(texts.project(), texts.path, texts.budget.limits)
    _check_root(root, texts.path)
    codes = _read_codes(root)
    users = _read_users(root)
    cases = _read_cases(root)
    src_rows, var_rows, coding_rows = _read_sources(root, texts, on_missing_text)
    variables = _frame(var_rows, ("source_guid", "variable", "value"))
    return {
        "codes": codes,
        "users": users,
        "sources": _sources_frame(src_rows, variables, cases),
        "variables": variables,
        "cases": cases,
        "codings": _codings_frame(coding_rows, codes, users),
    }


def read_refi_qda(
    path: str | Path,
    *,
    on_missing_text: OnMissingText = "empty",
    root: str | Path | None = None,
    limits: ReadLimits = DEFAULT_LIMITS,
) -> dict[str, pd.DataFrame]:
    """Read a ``.qdpx`` / ``.qde`` / ``.qdc`` file into tables (see the module docstring).

    ``root`` is a folder nothing may be read outside of (the cleaner passes the raw
    folder): the project file itself, and a bare ``.qde``'s text files, must lie in it.
    ``limits`` caps what the file may make the reader hold (:class:`ReadLimits`).
    """
    path = Path(path)
    base = Path(root) if root is not None else None
    if not path.is_file():
        raise RawFileError("REFI-QDA file not found", file=path)
    _check_under(path, base)
    budget = _Budget(path, limits)
    if zipfile.is_zipfile(path):
        with _open_zip(path, limits) as zf:
            archive = _ZipTexts(path, zf, budget)
            return _read_project(archive, on_missing_text)
    if path.suffix.lower() == ".qdpx":
        raise RawFileError(
            "not a zip archive (a .qdpx must be a zip holding project.qde)", file=path
        )
    folder = _FolderTexts(path, budget, base)
    return _read_project(folder, on_missing_text)


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
