"""Hostile REFI-QDA projects (issue 14, items 1, 3 and 10): nothing outside the raw folder is read,
no small file exhausts memory, and a real MAXQDA export without its texts is imported.

Every case is a real file (zip archives written by hand where a bomb needs it, XML as text). The
reader-level tests pin the exact error; the ``hubspoke clean`` tests run
:func:`hubspoke.clean.run.clean_all` on a copy of a small synthetic raw folder (without
``coded_segments.csv``, so the project is what the codings come from) and check the outcome a user
sees: one failed line in the reconciliation naming the file, no exception, the secret in no parquet
file, the other tables still cleaned and every other line balanced.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import sys
import zipfile
import zlib
from pathlib import Path
from xml.sax.saxutils import quoteattr

import pandas as pd
import pytest

from hubspoke.clean.run import CleanSummary, clean_all
from hubspoke.errors import RawFileError
from hubspoke.io.refiqda import ReadLimits, read_refi_qda
from hubspoke.spec import raw as rs
from hubspoke.synth import generate

SECRET = "HUBSPOKE-SECRET-5c1d9e"
QDPX = rs.LAYOUT["qdpx"]
QDE = str(Path(QDPX).with_suffix(".qde"))
TEXT = "Interviewer: hello. Respondent: the Spoke worker helped us a lot."
#: Tables the other cleaners (and the qualitative CSVs) still produce when the project fails.
OTHER_TABLES = {
    *("services", "spokes", "cases", "activities", "policy", "spoke_survey"),
    *("codebook", "judgements", "context"),
}
GIB = 2**30
MIB = 2**20


# ---------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def outside(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder outside every raw folder, holding a secret long enough for any selection."""
    folder = tmp_path_factory.mktemp("outside")
    (folder / "pseudonym.key").write_text((SECRET + " ") * 3000, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def small_raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic raw folder of two services (written once for this module)."""
    raw = tmp_path_factory.mktemp("small_raw")
    generate(raw, seed=2014, n_services=2)
    return raw


def tiny_qde(ref: str, *, base_path: str | None = None, end: int = 11) -> str:
    """A one-source project whose text is behind ``ref`` (one coding of characters 0..end)."""
    base = f" basePath={quoteattr(base_path)}" if base_path is not None else ""
    return f"""<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="p"{base}>
  <Users><User guid="u1" name="JR"/></Users>
  <CodeBook><Codes><Code guid="c1" name="PT1-M1 Trust" isCodable="true"/></Codes></CodeBook>
  <Sources>
    <TextSource guid="s1" name="T1" plainTextPath={quoteattr(ref)}>
      <PlainTextSelection guid="p1" startPosition="0" endPosition="{end}" creatingUser="u1">
        <Coding guid="k1" creatingUser="u1"><CodeRef targetGUID="c1"/></Coding>
      </PlainTextSelection>
    </TextSource>
  </Sources>
</Project>
"""


def write_zip(path: Path, members: dict[str, str | bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def repeated_deflate(block: bytes, times: int) -> tuple[bytes, int]:
    """Raw deflate data of ``block`` repeated ``times`` times (compressed once), and its CRC-32.

    A full flush empties the compressor's window, so every copy compresses to the same bytes:
    a 1 GiB member costs 1 MiB of compressed data and no gigabyte ever sits in memory here.
    """
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    unit = comp.compress(block) + comp.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(times):
        crc = zlib.crc32(block, crc)
    return unit * times + comp.flush(zlib.Z_FINISH), crc


def write_raw_zip(path: Path, members: list[tuple[str, bytes, int, int, int]]) -> Path:
    """A zip written byte by byte: (name, deflated data, CRC-32, declared size, true size).

    The declared size goes into both headers, so it can lie about what the data inflates to.
    """
    body, central = b"", b""
    for name, data, crc, declared, _true in members:
        raw_name = name.encode()
        offset = len(body)
        body += struct.pack(
            "<IHHHHHIIIHH",
            0x04034B50,
            20,
            0,
            8,
            0,
            0x21,
            crc,
            len(data),
            declared,
            len(raw_name),
            0,
        )
        body += raw_name + data
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII",
            0x02014B50, 20, 20, 0, 8, 0, 0x21, crc, len(data), declared, len(raw_name),
            0, 0, 0, 0, 0, offset,
        )  # fmt: skip
        central += raw_name
    eocd = struct.pack(
        "<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), len(body), 0
    )
    path.write_bytes(body + central + eocd)
    return path


def deflated(name: str, data: bytes) -> tuple[str, bytes, int, int, int]:
    """A member for :func:`write_raw_zip` that tells the truth."""
    comp = zlib.compressobj(6, zlib.DEFLATED, -15)
    packed = comp.compress(data) + comp.flush()
    return (name, packed, zlib.crc32(data), len(data), len(data))


def bomb_qdpx(
    path: Path,
    project: bytes,
    bomb: str,
    *,
    size: int,
    declared: int,
    others: dict[str, bytes] | None = None,
) -> Path:
    """A ``.qdpx``: ``project`` as project.qde, member ``bomb`` inflating to ``size`` bytes
    (declaring ``declared``), and ``others`` as they are."""
    data, crc = repeated_deflate(b"a" * MIB, size // MIB)
    rest = [deflated(n, d) for n, d in (others or {}).items() if n != bomb]
    return write_raw_zip(
        path, [deflated("project.qde", project), (bomb, data, crc, declared, size), *rest]
    )


# ---------------------------------------------------------------------------
# The synthetic project, made hostile
# ---------------------------------------------------------------------------


def copy_raw(small_raw: Path, tmp_path: Path) -> Path:
    """A copy of the small raw folder without coded_segments.csv (codings come from the project)."""
    raw = tmp_path / "raw"
    shutil.copytree(small_raw, raw)
    (raw / rs.LAYOUT["segments"]).unlink()
    return raw


def project_parts(raw: Path) -> tuple[bytes, dict[str, bytes]]:
    """The synthetic project's XML and its other members."""
    with zipfile.ZipFile(raw / QDPX) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    return members.pop("project.qde"), members


def first_source(xml: bytes) -> tuple[str, str]:
    """Name and text member of the first TextSource."""
    match = re.search(rb'<TextSource [^>]*name="([^"]+)" plainTextPath="internal://([^"]+)"', xml)
    assert match, "the synthetic project has a TextSource with an internal text"
    return match.group(1).decode(), "sources/" + match.group(2).decode()


def point_first_source(xml: bytes, ref: str, *, base_path: str | None = None) -> bytes:
    """The project with its first source's plainTextPath replaced by ``ref``."""
    xml = re.sub(
        rb'plainTextPath="[^"]*"', b"plainTextPath=" + quoteattr(ref).encode(), xml, count=1
    )
    if base_path is not None:
        xml = xml.replace(
            b"<Project ", b"<Project basePath=" + quoteattr(base_path).encode() + b" ", 1
        )
    return xml


def hostile_qdpx(raw: Path, ref: str, *, base_path: str | None = None) -> str:
    """Rewrite the raw folder's .qdpx so its first source points at ``ref``; its relative path."""
    xml, members = project_parts(raw)
    write_zip(
        raw / QDPX, {"project.qde": point_first_source(xml, ref, base_path=base_path), **members}
    )
    return QDPX


def hostile_qde(raw: Path, ref: str) -> str:
    """Replace the raw folder's .qdpx by a bare .qde whose first source points at ``ref``."""
    xml, _ = project_parts(raw)
    (raw / QDPX).unlink()
    (raw / QDE).write_bytes(point_first_source(xml, ref))
    return QDE


def run_clean(raw: Path, tmp_path: Path) -> tuple[CleanSummary, Path]:
    out = tmp_path / "processed"
    return clean_all(raw, out), out


def assert_no_secret(out: Path, summary: CleanSummary) -> None:
    """The secret is in no processed file (bytes, and every cell once read) nor in the summary."""
    files = sorted(out.glob("*.parquet"))
    assert files
    for path in files:
        assert SECRET.encode() not in path.read_bytes(), path.name
        frame = pd.read_parquet(path)
        cells = frame.astype("string").fillna("")
        assert not any(cells[c].str.contains(SECRET, regex=False).any() for c in cells), path.name
    assert SECRET not in summary.text()


def assert_balanced(summary: CleanSummary) -> None:
    rec = summary.reconciliation
    ok = rec[rec["status"] == "ok"]
    total = ok["rows_clean"] + ok["rows_quarantined"] + ok["rows_merged_duplicates"]
    assert (ok["rows_in"] == total).all()


def assert_refused(summary: CleanSummary, out: Path, rel: str, *needles: str) -> pd.Series:
    """One failed reconciliation line, for ``rel``, whose message holds ``needles``; all else clean."""
    assert not summary.errors, summary.errors  # no cleaner raised: everything is in the ledger
    rec = summary.reconciliation
    failed = rec[rec["status"] == "failed"]
    assert failed["file"].tolist() == [rel], summary.text()
    line = failed.iloc[0]
    assert line["table"] == rs.SEGMENTS.name
    for needle in (rel, *needles):
        assert needle in line["message"], line["message"]
    assert f"FAILED: file {out.parent / 'raw' / rel}" in summary.text()
    assert set(summary.rows) >= OTHER_TABLES, summary.rows
    assert "codings" not in summary.rows
    assert_balanced(summary)
    assert_no_secret(out, summary)
    return line


# ---------------------------------------------------------------------------
# 1. Local file read: the reader
# ---------------------------------------------------------------------------


def qdpx_refs(outside: Path) -> list[tuple[str, str | None]]:
    secret = outside / "pseudonym.key"
    return [
        (secret.as_uri(), None),
        (str(secret), None),
        (f"file://localhost{secret}", None),
        ("../pseudonym.key", str(outside / "sub")),
        ("internal://../../pseudonym.key", None),
        ("relative://../pseudonym.key", str(outside / "sub")),
        ("file://server/share/pseudonym.key", None),
        ("http://example.org/pseudonym.key", None),
        ("C:\\Users\\evaluator\\pseudonym.key", None),
    ]


def test_qdpx_text_paths_outside_the_archive_are_refused(outside, tmp_path):
    """Only members of the archive are read: every other plainTextPath fails the file, named."""
    for i, (ref, base) in enumerate(qdpx_refs(outside)):
        path = write_zip(tmp_path / f"p{i}.qdpx", {"project.qde": tiny_qde(ref, base_path=base)})
        for mode in ("empty", "error"):
            with pytest.raises(RawFileError) as caught:
                read_refi_qda(path, on_missing_text=mode)
            message = str(caught.value)
            assert message.startswith(f"file {path}, column 'plainTextPath': text of source 'T1'")
            assert "refused" in message and "outside the archive" in message, message
            assert message.endswith(f"found {ref!r}") and SECRET not in message


def test_qde_text_paths_outside_its_folder_are_refused(outside, tmp_path):
    """A bare .qde reads files under its own folder only: absolute, file://, .. and links out fail."""
    folder = tmp_path / "raw" / "qualitative"
    (folder / "sources").mkdir(parents=True)
    (folder / "sources" / "link.txt").symlink_to(outside / "pseudonym.key")
    (tmp_path / "raw" / "escape").symlink_to(outside, target_is_directory=True)
    secret = outside / "pseudonym.key"
    refs = [
        secret.as_uri(),
        str(secret),
        "../" * len(folder.parts) + "/".join(secret.parts[1:]),
        "internal://../pseudonym.key",
        "internal://link.txt",  # sources/link.txt: a link out of the folder
        "sources/link.txt",
        "../escape/pseudonym.key",  # inside the raw folder, but not under the .qde's folder
        "file://server/share/pseudonym.key",
    ]
    for i, ref in enumerate(refs):
        path = folder / f"p{i}.qde"
        path.write_text(tiny_qde(ref), encoding="utf-8")
        for root in (None, tmp_path / "raw"):
            with pytest.raises(
                RawFileError, match="outside the folder holding the project"
            ) as caught:
                read_refi_qda(path, root=root)
            assert str(caught.value).endswith(f"found {ref!r}") and SECRET not in str(caught.value)


def test_qde_reads_its_own_texts_and_nothing_from_base_path(outside, tmp_path):
    """Texts beside a bare .qde are read (internal://, relative, file:// inside); basePath is ignored."""
    folder = tmp_path / "qualitative"
    (folder / "sources").mkdir(parents=True)
    (folder / "sources" / "t1.txt").write_text(TEXT, encoding="utf-8")
    (folder / "beside.txt").write_text(TEXT, encoding="utf-8")
    for i, ref in enumerate(
        ["internal://t1.txt", "sources/t1.txt", "beside.txt", (folder / "beside.txt").as_uri()]
    ):
        path = folder / f"p{i}.qde"
        path.write_text(tiny_qde(ref), encoding="utf-8")
        assert read_refi_qda(path)["codings"]["excerpt"].tolist() == [TEXT[:11]], ref
    path = folder / "based.qde"
    path.write_text(tiny_qde("pseudonym.key", base_path=str(outside)), encoding="utf-8")
    tables = read_refi_qda(path)
    assert tables["sources"]["text_status"].tolist() == ["missing"]
    assert tables["codings"]["excerpt"].isna().all()


def test_project_file_linked_from_outside_the_raw_folder_is_refused(outside, tmp_path):
    """With root= (the raw folder), a project that is a link to a file elsewhere is not read."""
    real = write_zip(
        outside / "elsewhere.qdpx",
        {"project.qde": tiny_qde("internal://t.txt"), "sources/t.txt": SECRET},
    )
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "p.qdpx").symlink_to(real)
    assert read_refi_qda(raw / "p.qdpx")["codings"]["excerpt"].tolist() == [SECRET[:11]]
    with pytest.raises(
        RawFileError, match=r"p\.qdpx: the project file lies outside the raw folder"
    ):
        read_refi_qda(raw / "p.qdpx", root=raw)


# ---------------------------------------------------------------------------
# 1. Local file read: hubspoke clean
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "case",
    ["file_url", "absolute", "base_path_dotdot", "internal_dotdot", "network_share"],
)
def test_clean_refuses_a_qdpx_pointing_outside(case, small_raw, outside, tmp_path):
    """The attack of the issue: the secret never reaches a parquet file; the file fails, named."""
    raw = copy_raw(small_raw, tmp_path)
    secret = outside / "pseudonym.key"
    ref, base = {
        "file_url": (secret.as_uri(), None),
        "absolute": (str(secret), None),
        "base_path_dotdot": ("../pseudonym.key", str(outside / "sub")),
        "internal_dotdot": ("internal://../../../" + "/".join(secret.parts[1:]), None),
        "network_share": ("file://server/share/pseudonym.key", None),
    }[case]
    rel = hostile_qdpx(raw, ref, base_path=base)
    summary, out = run_clean(raw, tmp_path)
    line = assert_refused(summary, out, rel, "refused", "outside the archive")
    assert line["message"].endswith(f"found {ref!r}")


@pytest.mark.parametrize("case", ["file_url", "dotdot", "link_in_sources", "linked_sources_folder"])
def test_clean_refuses_a_bare_qde_pointing_outside(case, small_raw, outside, tmp_path):
    """A bare .qde in the raw folder: paths and links out of its folder are refused."""
    raw = copy_raw(small_raw, tmp_path)
    folder = raw / Path(QDE).parent
    secret = outside / "pseudonym.key"
    if case == "link_in_sources":
        (folder / "sources").mkdir()
        (folder / "sources" / "t.txt").symlink_to(secret)
    if case == "linked_sources_folder":
        (folder / "sources").symlink_to(outside, target_is_directory=True)
    ref = {
        "file_url": secret.as_uri(),
        "dotdot": "../" * len(folder.parts) + "/".join(secret.parts[1:]),
        "link_in_sources": "internal://t.txt",
        "linked_sources_folder": "internal://pseudonym.key",
    }[case]
    rel = hostile_qde(raw, ref)
    summary, out = run_clean(raw, tmp_path)
    line = assert_refused(summary, out, rel, "refused", "outside the folder holding the project")
    assert line["message"].endswith(f"found {ref!r}")


def test_clean_refuses_a_qdpx_that_links_out_of_the_raw_folder(small_raw, outside, tmp_path):
    """The project file itself a link to a project elsewhere (whose text is the secret)."""
    raw = copy_raw(small_raw, tmp_path)
    xml, members = project_parts(raw)
    _, member = first_source(xml)
    elsewhere = write_zip(
        outside / "linked.qdpx",
        {"project.qde": xml, **members, member: (SECRET + " ") * 3000},
    )
    (raw / QDPX).unlink()
    (raw / QDPX).symlink_to(elsewhere)
    summary, out = run_clean(raw, tmp_path)
    assert_refused(summary, out, QDPX, "lies outside the raw folder")


def test_clean_ignores_base_path_and_imports_the_rest(small_raw, outside, tmp_path):
    """basePath + a plain name (not in the archive): nothing read, the source's excerpts empty, said so."""
    raw = copy_raw(small_raw, tmp_path)
    xml, _ = project_parts(raw)
    name, _ = first_source(xml)
    hostile_qdpx(raw, "pseudonym.key", base_path=str(outside))
    summary, out = run_clean(raw, tmp_path)
    assert summary.ok, summary.text()
    assert_balanced(summary)
    assert_no_secret(out, summary)
    codings = pd.read_parquet(out / "codings.parquet")
    assert (codings.loc[codings["transcript_id"] == name, "excerpt"] == "").all()
    assert (codings.loc[codings["transcript_id"] != name, "excerpt"] != "").all()
    warning = next(w for w in summary.warnings if "not in the project" in w)
    assert f"file {QDPX}: the text of 1 source(s)" in warning
    assert f"{name} (pseudonym.key)" in warning


# ---------------------------------------------------------------------------
# 3. XML: no DTD, no entities (defusedxml)
# ---------------------------------------------------------------------------

LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE Project [
  <!ENTITY a "ha">
  <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
  <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
  <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
]>
<Project xmlns="urn:QDA-XML:project:1.0"><Description>&d;</Description></Project>
"""


def external_entity(secret: Path) -> str:
    return f"""<?xml version="1.0"?>
<!DOCTYPE Project [<!ENTITY x SYSTEM "{secret.as_uri()}">]>
<Project xmlns="urn:QDA-XML:project:1.0"><Sources>
  <TextSource guid="s1" name="T1"><PlainTextContent>&x;</PlainTextContent></TextSource>
</Sources></Project>
"""


def test_dtd_and_entities_are_refused(outside, tmp_path):
    for name, xml in (("laughs", LAUGHS), ("external", external_entity(outside / "pseudonym.key"))):
        for path in (
            tmp_path / f"{name}.qde",
            tmp_path / f"{name}.qdpx",
        ):
            if path.suffix == ".qde":
                path.write_text(xml, encoding="utf-8")
            else:
                write_zip(path, {"project.qde": xml})
            with pytest.raises(
                RawFileError, match=rf"{path.name}: XML refused: .*no DTD or entity"
            ):
                read_refi_qda(path)


def test_clean_refuses_an_entity_bomb(small_raw, outside, tmp_path):
    raw = copy_raw(small_raw, tmp_path)
    _, members = project_parts(raw)
    write_zip(raw / QDPX, {"project.qde": external_entity(outside / "pseudonym.key"), **members})
    summary, out = run_clean(raw, tmp_path)
    assert_refused(summary, out, QDPX, "XML refused")


# ---------------------------------------------------------------------------
# 3. Memory from tiny files: the reader's limits
# ---------------------------------------------------------------------------


def test_member_over_the_limit_is_refused_by_its_declared_size(tmp_path):
    path = write_zip(
        tmp_path / "p.qdpx",
        {"project.qde": tiny_qde("internal://t.txt"), "sources/t.txt": "x" * 5000},
    )
    with pytest.raises(
        RawFileError,
        match=r"p\.qdpx: member 'sources/t\.txt' is 5,000 bytes, over the limit of 4,096",
    ):
        read_refi_qda(path, limits=ReadLimits(member_bytes=4096))
    assert len(read_refi_qda(path)["codings"]) == 1


def test_member_that_lies_about_its_size_is_refused(tmp_path):
    """Declared 64 bytes, inflates to 8 MiB: reading stops at the declared size and the file fails."""
    path = bomb_qdpx(
        tmp_path / "p.qdpx",
        tiny_qde("internal://t.txt").encode(),
        "sources/t.txt",
        size=8 * MIB,
        declared=64,
    )
    with pytest.raises(
        RawFileError, match=r"p\.qdpx: member 'sources/t\.txt' cannot be read: Bad CRC"
    ):
        read_refi_qda(path)


def test_total_members_items_and_excerpts_are_limited(tmp_path):
    many = write_zip(
        tmp_path / "many.qdpx",
        {
            "project.qde": tiny_qde("internal://t.txt"),
            **{f"sources/{i}.txt": "x" for i in range(12)},
        },
    )
    with pytest.raises(
        RawFileError, match=r"many\.qdpx: zip archive lists 13 members, over the limit of 10"
    ):
        read_refi_qda(many, limits=ReadLimits(members=10))
    texts = {f"sources/{i}.txt": TEXT for i in range(3)}
    xml = tiny_qde("internal://0.txt").replace(
        "</Sources>",
        '<TextSource guid="s2" name="T2" plainTextPath="internal://1.txt"/>'
        '<TextSource guid="s3" name="T3" plainTextPath="internal://2.txt"/></Sources>',
    )
    total = write_zip(tmp_path / "total.qdpx", {"project.qde": xml, **texts})
    budget = len(xml.encode()) + 2 * len(TEXT)
    with pytest.raises(RawFileError, match=r"total\.qdpx: reading member 'sources/2\.txt' brings"):
        read_refi_qda(total, limits=ReadLimits(total_bytes=budget))
    assert (
        len(read_refi_qda(total, limits=ReadLimits(total_bytes=budget + len(TEXT)))["sources"]) == 3
    )
    with pytest.raises(RawFileError, match=r"XML holds more than 20 elements and attributes"):
        read_refi_qda(total, limits=ReadLimits(xml_items=20))
    overlapping = tiny_qde("internal://t.txt").replace(
        "</TextSource>",
        "".join(
            f'<PlainTextSelection guid="q{i}" startPosition="1" endPosition="{len(TEXT)}">'
            '<Coding guid="x"><CodeRef targetGUID="c1"/></Coding></PlainTextSelection>'
            for i in range(50)
        )
        + "</TextSource>",
    )
    path = write_zip(tmp_path / "overlap.qdpx", {"project.qde": overlapping, "sources/t.txt": TEXT})
    with pytest.raises(
        RawFileError, match=r"overlap\.qdpx: the codings' excerpts add up to more than 1,000"
    ):
        read_refi_qda(path, limits=ReadLimits(excerpt_chars=1000))


def test_deep_code_tree_and_huge_positions_give_the_project_error(tmp_path):
    """A code tree 100,000 levels deep and a position of 10**30 (once a RecursionError and an OverflowError)."""
    deep = '<Code guid="c" name="x">' * 100_000 + "</Code>" * 100_000
    path = tmp_path / "deep.qde"
    path.write_text(
        tiny_qde("none.txt").replace(
            '<Code guid="c1" name="PT1-M1 Trust" isCodable="true"/>', deep
        ),
        encoding="utf-8",
    )
    assert read_refi_qda(path)["codes"]["depth"].max() == 99_999
    huge = tmp_path / "huge.qde"
    huge.write_text(tiny_qde("none.txt", end=10**30), encoding="utf-8")
    with pytest.raises(
        RawFileError, match=r"huge\.qde, column 'endPosition': .* no integer endPosition"
    ):
        read_refi_qda(huge)


def test_text_that_is_not_utf8_gives_the_project_error(tmp_path):
    path = write_zip(
        tmp_path / "p.qdpx",
        {
            "project.qde": tiny_qde("internal://t.txt"),
            "sources/t.txt": "caf\xe9".encode("latin-1") * 5,
        },
    )
    with pytest.raises(RawFileError, match=r"p\.qdpx: member 'sources/t\.txt' is not UTF-8 text"):
        read_refi_qda(path)


# ---------------------------------------------------------------------------
# 3. Memory from tiny files: measured in a fresh process
# ---------------------------------------------------------------------------

MEASURE = """
import json, resource, sys, time
from pathlib import Path
resource.setrlimit(resource.RLIMIT_AS, (4 * 2**30, 4 * 2**30))  # a regression fails, not the machine
t0 = time.perf_counter()

def peak_mib():
    # VmHWM: this process's own peak (ru_maxrss also counts the parent's memory at fork)
    with open("/proc/self/status") as fh:
        return next(int(l.split()[1]) for l in fh if l.startswith("VmHWM:")) / 1024

from hubspoke.clean.run import clean_all
from hubspoke.errors import HubspokeError
from hubspoke.io.refiqda import read_refi_qda
base = peak_mib()
outcome = {}
try:
    if sys.argv[1] == "read":
        read_refi_qda(sys.argv[2])
        outcome["error"] = None
    else:
        summary = clean_all(Path(sys.argv[2]), Path(sys.argv[3]))
        outcome["failed"] = summary.failed["message"].tolist()
        outcome["errors"] = summary.errors
except HubspokeError as exc:
    outcome["error"] = str(exc)
outcome["seconds"] = time.perf_counter() - t0
outcome["peak_mib"] = peak_mib()
outcome["imports_mib"] = base
print(json.dumps(outcome))
"""


def measure(*args: str | Path) -> dict:
    """Run the reader or the cleaner in a fresh process; its outcome, time and peak memory (MiB)."""
    proc = subprocess.run(
        [sys.executable, "-c", MEASURE, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]  # a traceback fails here
    assert "Traceback" not in proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_one_gib_bomb_is_refused_quickly_in_little_memory(tmp_path):
    """A ~1 MiB .qdpx whose text member inflates to 1.1 GiB (once 25 s, 4.2 GiB, an OverflowError)."""
    path = bomb_qdpx(
        tmp_path / "bomb.qdpx",
        tiny_qde("internal://t.txt").encode(),
        "sources/t.txt",
        size=1100 * MIB,
        declared=1100 * MIB,
    )
    assert path.stat().st_size < 2 * MIB
    got = measure("read", path)
    assert got["error"].startswith(f"file {path}: member 'sources/t.txt' is 1,153,433,600 bytes")
    assert got["peak_mib"] < 300 and got["seconds"] < 30, got


def test_bomb_lying_about_its_size_is_refused_in_little_memory(tmp_path):
    """Declares 11 bytes but inflates to 1.1 GiB: reading stops at the declared size (bad CRC)."""
    liar = bomb_qdpx(
        tmp_path / "liar.qdpx",
        tiny_qde("internal://t.txt").encode(),
        "sources/t.txt",
        size=1100 * MIB,
        declared=11,
    )
    got = measure("read", liar)
    assert got["error"].startswith(f"file {liar}: member 'sources/t.txt' cannot be read"), got
    assert got["peak_mib"] < 300 and got["seconds"] < 30, got


def test_element_bomb_is_refused_in_little_memory(tmp_path):
    """A 40 KB .qdpx whose project.qde holds 10 million elements (once about 1 GiB parsed)."""
    xml = b'<Project xmlns="urn:QDA-XML:project:1.0">' + b"<a/>" * 10_000_000 + b"</Project>"
    elements = write_zip(tmp_path / "elements.qdpx", {"project.qde": xml})
    assert elements.stat().st_size < MIB
    got = measure("read", elements)
    assert "XML holds more than 1,000,000 elements and attributes" in got["error"], got
    assert got["peak_mib"] < 300 and got["seconds"] < 60, got


def test_clean_refuses_the_bomb_and_cleans_the_rest(small_raw, tmp_path):
    """The synthetic project with its first text a 1.1 GiB bomb, through hubspoke clean."""
    raw = copy_raw(small_raw, tmp_path)
    xml, members = project_parts(raw)
    _, member = first_source(xml)
    bomb_qdpx(raw / QDPX, xml, member, size=1100 * MIB, declared=1100 * MIB, others=members)
    got = measure("clean", raw, tmp_path / "processed")
    assert got["errors"] == []
    assert (
        len(got["failed"]) == 1 and f"member '{member}' is 1,153,433,600 bytes" in got["failed"][0]
    )
    assert got["peak_mib"] < 300 and got["seconds"] < 90, got
    assert {p.stem for p in (tmp_path / "processed").glob("*.parquet")} >= OTHER_TABLES


# ---------------------------------------------------------------------------
# 10. A MAXQDA 24 .qde whose texts are not beside it, through hubspoke clean
# ---------------------------------------------------------------------------


def maxqda_qde(raw: Path, *, n_sources: int = 4) -> tuple[str, list[tuple[str, int, int, str]]]:
    """A MAXQDA-shaped bare .qde coding the first transcripts of the raw folder; and its codings.

    Braced upper-case GUIDs, a nested code tree, TextSources with internal://<guid>.txt that
    are not beside the file, no variables (MAXQDA writes none of ours).
    """
    transcripts = pd.read_csv(raw / rs.LAYOUT["transcripts"], skiprows=1, dtype=str)
    codebook = pd.read_csv(raw / rs.LAYOUT["codebook"], skiprows=1, dtype=str)
    theory = codebook[codebook["code_id"] == codebook["theory_id"]].iloc[0]
    children = codebook[codebook["parent_code"] == theory["code_id"]].head(3)
    guid = "{{6B1D0000-0000-4000-8000-{:012X}}}".format
    codes = "".join(
        f'<Code guid="{guid(100 + i)}" name={quoteattr(f"{c.code_id} {c.label}")} isCodable="true"/>'
        for i, c in enumerate(children.itertuples())
    )
    tree = (
        f'<Code guid="{guid(99)}" name={quoteattr(f"{theory.code_id} {theory.label}")} isCodable="false">'
        f"{codes}</Code>"
    )
    sources, codings = [], []
    for s, row in enumerate(transcripts.head(n_sources).itertuples()):
        sels = []
        for k, code in enumerate(children.itertuples()):
            start, end = 20 * k, 20 * k + 15
            sels.append(
                f'<PlainTextSelection guid="{guid(1000 + 10 * s + k)}" name="sel" '
                f'startPosition="{start}" endPosition="{end}" creatingUser="{guid(1)}">'
                f'<Coding guid="{guid(5000 + 10 * s + k)}" creatingUser="{guid(1)}">'
                f'<CodeRef targetGUID="{guid(100 + k)}"/></Coding></PlainTextSelection>'
            )
            codings.append((row.transcript_id, start, end, code.code_id))
        sources.append(
            f'<TextSource guid="{guid(500 + s)}" name="{row.transcript_id}" '
            f'plainTextPath="internal://{guid(500 + s)[1:-1]}.txt" creatingUser="{guid(1)}">'
            + "".join(sels)
            + "</TextSource>"
        )
    xml = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<Project xmlns="urn:QDA-XML:project:1.0" name="hubspoke" origin="MAXQDA 24" '
        f'creatingUserGUID="{guid(1)}"><Users><User guid="{guid(1)}" name="JR"/></Users>'
        f"<CodeBook><Codes>{tree}</Codes></CodeBook><Sources>{''.join(sources)}</Sources></Project>"
    )
    return xml, codings


def test_clean_imports_a_maxqda_qde_without_its_texts(small_raw, tmp_path):
    """Every coding imported with its positions and an empty excerpt; the missing texts named."""
    raw = copy_raw(small_raw, tmp_path)
    (raw / QDPX).unlink()
    xml, expected = maxqda_qde(raw)
    (raw / QDE).write_text(xml, encoding="utf-8")
    summary, out = run_clean(raw, tmp_path)
    assert summary.ok, summary.text()
    assert_balanced(summary)
    codings = pd.read_parquet(out / "codings.parquet")
    got = sorted(
        zip(
            codings["transcript_id"],
            codings["start"].astype(int),
            codings["end"].astype(int),
            codings["code_id"],
            strict=True,
        )
    )
    assert got == sorted(expected)
    assert (codings["excerpt"] == "").all()
    assert codings["service_id"].notna().all() and codings["year"].notna().all()
    rec = summary.reconciliation.set_index("file")
    assert rec.loc[QDE, "rows_in"] == len(expected) == rec.loc[QDE, "rows_clean"]
    names = sorted({t for t, *_ in expected})
    warning = next(w for w in summary.warnings if "not in the project" in w)
    assert warning.startswith(
        f"file {QDE}: the text of {len(names)} source(s) is not in the project"
    )
    assert (
        f"their {len(expected)} coding(s) are imported with positions but empty excerpts" in warning
    )
    assert all(f"{n} (internal://" in warning for n in names)
    assert rec.loc[QDE, "message"] == warning
    assert f"warning: {warning}" in summary.text()
