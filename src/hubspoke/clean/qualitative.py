"""Qualitative cleaning: codebook, transcripts, coded segments and theory judgements.

Reuses the quantitative machinery (:func:`~hubspoke.clean.base.clean_frame` for
types, vocabularies, blank/notes rows and duplicates; :func:`~hubspoke.clean.quarantine.split_rows`
for the cross-table checks) so every raw row ends clean or in quarantine with a
reason, and the reconciliation holds, exactly as for the quantitative data.

Checks beyond each column's own rules:

* a code whose parent code is not in the codebook;
* a code used in a segment but absent from the codebook (``code_id``);
* a segment or judgement whose transcript is unknown or has no service or year;
* character positions outside the transcript (``start``/``end``), or end not after start;
* a judgement other than supports / refutes / refines (the vocabulary check);
* a judgement on a theory the codebook does not define.

Excerpts reach processed data only after :func:`hubspoke.privacy.deidentify.deidentify`;
transcript texts and evaluators' rationales never do. Where the CSV form of the
coded segments is absent but a REFI-QDA project is present (the ``.qdpx`` of the layout,
else a bare ``.qde`` of the same name, as MAXQDA exports it), the codings are imported
from it (:func:`hubspoke.io.refiqda.read_refi_qda`) and cleaned the same way:

* nothing outside the raw folder is read (``root=`` the raw folder), and a project that
  points outside it, is over the reader's size limits or cannot be read is one failed
  line in the reconciliation, naming the file; the other files are still cleaned;
* a source whose text is not in the project: its codings are imported with their
  positions and an empty excerpt, and a warning (also the ledger's message) names the
  sources whose texts are missing;
* a transcript's service, year and role come from the project's variables, else from
  ``transcripts.csv`` (a MAXQDA export carries no such variables).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from hubspoke.clean.base import CleanContext, CleanerResult, clean_frame
from hubspoke.clean.quarantine import RowCheck, SheetLedger, reason_where, split_rows
from hubspoke.errors import RawFileError
from hubspoke.io.refiqda import read_refi_qda
from hubspoke.io.tabular import RawSheet, read_csv_table
from hubspoke.privacy.deidentify import deidentify
from hubspoke.spec import raw as rs
from hubspoke.spec import vocab

QUAL_DIR = "qualitative"


def _read(
    ctx: CleanContext, key: str, table: rs.RawTable, result: CleanerResult
) -> RawSheet | None:
    """Read one qualitative CSV; a file that cannot be read is a failed ledger line, not an exception."""
    path = ctx.raw_dir / rs.LAYOUT[key]
    if not path.is_file():
        return None
    try:
        return read_csv_table(path, ctx.raw_dir, table)
    except RawFileError as exc:
        _failed(result, path.relative_to(ctx.raw_dir).as_posix(), table, exc)
        return None


def _failed(result: CleanerResult, rel: str, table: rs.RawTable, exc: RawFileError) -> None:
    """Record a file that cannot be read: a failed ledger line and a warning."""
    result.ledgers.append(SheetLedger(rel, "", table.name, status="failed", message=str(exc)))
    result.warnings.append(str(exc))


def _clean(sheet: RawSheet, result: CleanerResult, *, name: str, note: str = "") -> pd.DataFrame:
    """Column-level cleaning of one sheet; records its quarantine and ledger (with ``note``), returns clean rows."""
    cleaned = clean_frame(sheet.frame, sheet.table, sheet.columns)
    result.quarantine.append(cleaned.quarantine.assign(table=name))
    result.ledgers.append(
        SheetLedger(
            sheet.file,
            sheet.sheet,
            name,
            rows_in=len(sheet.frame),
            rows_merged_duplicates=sum(cleaned.merged.values()),
            unmatched_columns=tuple(sheet.unmatched),
            dropped_columns=tuple(sheet.dropped),
            message=note,
        )
    )
    return cleaned.clean


def _set_clean(result: CleanerResult, file: str, count: int) -> None:
    for ledger in result.ledgers:
        if ledger.file == file and ledger.rows_clean is None:
            ledger.rows_clean = count


def clean_codebook(frame: pd.DataFrame) -> pd.DataFrame:
    """The codebook with CMO letters spelled out (context / mechanism / outcome)."""
    return frame.assign(
        cmo=frame["cmo"]
        .astype("string")
        .map(lambda v: vocab.CMO_ELEMENTS.get(str(v)) if pd.notna(v) else pd.NA)
    )


def codebook_checks(codes: pd.DataFrame) -> list[RowCheck]:
    """A code whose parent code is not in the codebook (the code tree would be broken)."""
    known = set(codes["code_id"].astype(str))

    def orphan(f: pd.DataFrame) -> pd.Series:
        parent = f["parent_code"].astype("string")
        return reason_where(
            parent.notna() & ~parent.fillna("").isin(known),
            "parent_code: " + parent.fillna("") + " is not a code in the codebook",
        )

    return [RowCheck("parent_code", orphan)]


def transcript_lookup(frame: pd.DataFrame) -> pd.DataFrame:
    """Clean transcripts by id: service, year, role and text length (the text itself stays behind)."""
    return frame.assign(length=frame["_text"].astype("string").str.len()).set_index(
        "transcript_id"
    )[["service_id", "year", "respondent_role", "length", "_text"]]


def segment_checks(codes: pd.DataFrame, transcripts: pd.DataFrame) -> list[RowCheck]:
    """Cross-table checks of coded segments against the codebook and the transcripts."""
    known_codes = set(codes["code_id"].astype(str))

    def unknown_code(f: pd.DataFrame) -> pd.Series:
        return reason_where(
            ~f["code_id"].astype(str).isin(known_codes),
            "code_id: " + f["code_id"].astype("string").fillna("") + " is not in the codebook",
        )

    def unknown_transcript(f: pd.DataFrame) -> pd.Series:
        return reason_where(
            ~f["transcript_id"].astype(str).isin(transcripts.index.astype(str)),
            "transcript_id: no transcript with a service and year has this id",
        )

    def positions(f: pd.DataFrame) -> pd.Series:
        length = f["transcript_id"].map(transcripts["length"]).astype("Float64")
        start, end = f["start"].astype("Float64"), f["end"].astype("Float64")
        bad_order = end <= start
        outside = end > length
        reason = pd.Series(pd.NA, index=f.index, dtype="string")
        reason = reason.mask(bad_order.fillna(False), "end: not after start")
        return reason.mask(
            outside.fillna(False) & reason.isna(),
            "end: "
            + end.astype("Int64").astype("string")
            + " is beyond the transcript's "
            + length.astype("Int64").astype("string")
            + " characters",
        )

    return [
        RowCheck("code_id", unknown_code),
        RowCheck("transcript_id", unknown_transcript),
        RowCheck("end", positions),
    ]


def judgement_checks(codes: pd.DataFrame, transcripts: pd.DataFrame) -> list[RowCheck]:
    """Cross-table checks of theory judgements against the transcripts and the codebook's theories."""
    theories = set(codes["theory_id"].astype(str))

    def unknown_transcript(f: pd.DataFrame) -> pd.Series:
        return reason_where(
            ~f["transcript_id"].astype(str).isin(transcripts.index.astype(str)),
            "transcript_id: no transcript with a service and year has this id",
        )

    def unknown_theory(f: pd.DataFrame) -> pd.Series:
        return reason_where(
            ~f["theory_id"].astype(str).isin(theories),
            "theory_id: "
            + f["theory_id"].astype("string").fillna("")
            + " is not a theory in the codebook",
        )

    return [RowCheck("transcript_id", unknown_transcript), RowCheck("theory_id", unknown_theory)]


def finish_codings(
    frame: pd.DataFrame, codes: pd.DataFrame, transcripts: pd.DataFrame
) -> pd.DataFrame:
    """Codings with the transcript's service, year and role and the code's CMO element and theory; excerpt redacted."""
    meta = codes.set_index("code_id")
    return frame.assign(
        service_id=frame["transcript_id"].map(transcripts["service_id"]),
        year=frame["transcript_id"].map(transcripts["year"]),
        respondent_role=frame["transcript_id"].map(transcripts["respondent_role"]).astype("string"),
        cmo=frame["code_id"].map(meta["cmo"]),
        theory_id=frame["code_id"].map(meta["theory_id"]),
        excerpt=frame["_excerpt"].astype("string").fillna("").map(deidentify),
    )


def finish_judgements(frame: pd.DataFrame, transcripts: pd.DataFrame) -> pd.DataFrame:
    """Judgements with the transcript's service, year and role (the rationale stays behind)."""
    return frame.assign(
        service_id=frame["transcript_id"].map(transcripts["service_id"]),
        year=frame["transcript_id"].map(transcripts["year"]),
        respondent_role=frame["transcript_id"].map(transcripts["respondent_role"]).astype("string"),
    )


def _cross(
    frame: pd.DataFrame, checks: list[RowCheck], result: CleanerResult, *, name: str
) -> pd.DataFrame:
    split = split_rows(frame, checks, table=name)
    result.quarantine.append(split.quarantine)
    return split.clean


def project_file(raw_dir: Path) -> Path | None:
    """The REFI-QDA project to import codings from: the layout's ``.qdpx``, else a ``.qde`` of that name."""
    qdpx = raw_dir / rs.LAYOUT["qdpx"]
    for path in (qdpx, qdpx.with_suffix(".qde")):
        if path.exists() or path.is_symlink():
            return path
    return None


def _transcript_meta(
    names: pd.Series, sources: pd.DataFrame, scripts: RawSheet | None
) -> dict[str, pd.Series]:
    """Service, year and role per coding: the project's variables, else the raw transcripts'."""
    raw = (
        scripts.frame.drop_duplicates("transcript_id").set_index("transcript_id")
        if scripts is not None and "transcript_id" in scripts.frame
        else pd.DataFrame()
    )
    meta = {}
    for col in ("service_id", "year", "respondent_role"):
        value = pd.Series(pd.NA, index=names.index, dtype="string")
        if col in sources:
            value = names.map(sources[col]).astype("string")
        if col in raw:
            value = value.fillna(names.map(raw[col]).astype("string"))
        meta[col] = value
    return meta


def missing_texts_note(project: dict[str, pd.DataFrame], rel: str, *, show: int = 10) -> str:
    """A warning naming the sources whose texts are not in the project ("" when none are missing)."""
    sources = project["sources"]
    missing = sources[sources["text_status"] == "missing"]
    if missing.empty:
        return ""
    codings = project["codings"]
    n_codings = int(codings["source_guid"].isin(missing["guid"]).sum())
    names = [
        f"{name} ({ref})"
        for name, ref in zip(missing["name"], missing["plain_text_path"], strict=True)
    ]
    more = f" and {len(names) - show} more" if len(names) > show else ""
    return (
        f"file {rel}: the text of {len(names)} source(s) is not in the project, so their "
        f"{n_codings} coding(s) are imported with positions but empty excerpts: "
        + ", ".join(names[:show])
        + more
    )


def segments_from_qdpx(
    ctx: CleanContext, result: CleanerResult, *, scripts: RawSheet | None = None
) -> tuple[RawSheet | None, str]:
    """Coded segments imported from the REFI-QDA project, in the CSV form's columns (row = selection order + 1).

    Also a note naming the sources whose texts are missing ("" when none are). A
    project that cannot be read is a failed ledger line and a warning, and gives None.
    """
    path = project_file(ctx.raw_dir)
    if path is None:
        return None, ""
    rel = path.relative_to(ctx.raw_dir).as_posix()
    try:
        project = read_refi_qda(path, root=ctx.raw_dir, on_missing_text="empty")
    except RawFileError as exc:
        _failed(result, rel, rs.SEGMENTS, exc)
        return None, ""
    codings = project["codings"]
    sources = project["sources"].drop_duplicates("name").set_index("name")
    meta = _transcript_meta(codings["source_name"], sources, scripts)
    frame = pd.DataFrame(
        {
            "segment_id": codings["selection_guid"].astype("string"),
            "transcript_id": codings["source_name"].astype("string"),
            **meta,
            "coder": codings["coder"].astype("string"),
            "code_id": codings["code_id"].astype("string"),
            "start": codings["start"].astype("string"),
            "end": codings["end"].astype("string"),
            "excerpt": codings["excerpt"].astype("string"),
            "_file": rel,
            "_sheet": "",
            "_row": range(1, len(codings) + 1),
        }
    )
    note = missing_texts_note(project, rel)
    if note:
        result.warnings.append(note)
    return RawSheet(rs.SEGMENTS, rel, "", frame, header_row=0), note


def clean_qualitative(ctx: CleanContext) -> CleanerResult:
    """The qualitative cleaner (one of :func:`hubspoke.clean.run.default_cleaners`)."""
    result = CleanerResult()
    if not (ctx.raw_dir / QUAL_DIR).is_dir():
        return result
    book = _read(ctx, "codebook", rs.CODEBOOK, result)
    scripts = _read(ctx, "transcripts", rs.TRANSCRIPTS, result)
    segments, note = _read(ctx, "segments", rs.SEGMENTS, result), ""
    if segments is None and not (ctx.raw_dir / rs.LAYOUT["segments"]).exists():
        segments, note = segments_from_qdpx(ctx, result, scripts=scripts)
    judged = _read(ctx, "judgements", rs.JUDGEMENTS_TABLE, result)
    if book is None or scripts is None:
        return result

    codes = clean_codebook(_clean(book, result, name="codebook"))
    codes = _cross(codes, codebook_checks(codes), result, name="codebook")
    _set_clean(result, book.file, len(codes))
    texts = (
        scripts.frame["text"]
        if "text" in scripts.frame
        else pd.Series(pd.NA, index=scripts.frame.index)
    )
    kept = _clean(scripts, result, name="transcripts")
    # reindex, not assign: assigning a Series to an empty frame adopts the Series' rows
    transcripts = transcript_lookup(kept.assign(_text=texts.reindex(kept.index)))
    _set_clean(result, scripts.file, len(transcripts))
    result.tables["codebook"] = codes

    if segments is not None:
        excerpts = (
            segments.frame["excerpt"]
            if "excerpt" in segments.frame
            else pd.Series("", index=segments.frame.index)
        )
        clean = _clean(segments, result, name="codings", note=note)
        clean = clean.assign(_excerpt=excerpts.reindex(clean.index))
        clean = _cross(clean, segment_checks(codes, transcripts), result, name="codings")
        result.tables["codings"] = finish_codings(clean, codes, transcripts)
        _set_clean(result, segments.file, len(clean))
    if judged is not None:
        clean = _cross(
            _clean(judged, result, name="judgements"),
            judgement_checks(codes, transcripts),
            result,
            name="judgements",
        )
        result.tables["judgements"] = finish_judgements(clean, transcripts)
        _set_clean(result, judged.file, len(clean))
    return result


def qualitative_files(raw_dir: Path) -> list[Path]:
    """The qualitative files a run reads (for documentation and tests)."""
    return [raw_dir / rs.LAYOUT[k] for k in ("codebook", "transcripts", "segments", "judgements")]
