"""Qualitative cleaning: codebook, transcripts, coded segments, theory judgements, refinements.

Reuses the quantitative machinery (:func:`~hubspoke.clean.base.clean_frame` for
types, vocabularies, blank/notes rows and duplicates; :func:`~hubspoke.clean.quarantine.split_rows`
for the cross-table checks) so every raw row ends clean or in quarantine with a
reason, and the reconciliation holds, exactly as for the quantitative data.

Checks beyond each column's own rules:

* a code whose parent code is not in the codebook;
* a code used in a segment but absent from the codebook (``code_id``);
* a segment or judgement whose transcript is unknown or has no service or year;
* character positions outside the transcript (``start``/``end``), or end not after start;
* a judgement other than supports / refutes / refines, or a ``check`` other than
  main / agreement (the vocabulary checks), or no coder;
* a judgement or refinement on a theory the codebook does not define;
* judgements: a second row for the same transcript, theory and coder; a second ``main``
  row for a transcript and theory; an ``agreement`` row by the main row's coder, or with
  no main row to compare it with (run on the rows that passed every other check);
* refinements (``qualitative/refinements.csv``, optional): a context value that is not
  one of its dimension's values; an empty statement; a date written other than as ISO
  ``YYYY-MM-DD``; an evidence id that is not a transcript or coded segment of the
  cleaned data; a second row with the same ``refinement_id``.

Excerpts and refinement statements reach processed data only after
:func:`hubspoke.privacy.deidentify.deidentify`; transcript texts and evaluators'
rationales never do. An absent refinements file gives an empty ``refinements``
table and a warning saying so. Where the CSV form of the
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

import re
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
from hubspoke.spec.processed import REFINEMENTS

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


def _unknown_theory(theories: set[str]) -> RowCheck:
    """A row naming a theory the codebook does not define."""

    def test(f: pd.DataFrame) -> pd.Series:
        return reason_where(
            ~f["theory_id"].astype(str).isin(theories),
            "theory_id: "
            + f["theory_id"].astype("string").fillna("")
            + " is not a theory in the codebook",
        )

    return RowCheck("theory_id", test)


def judgement_checks(codes: pd.DataFrame, transcripts: pd.DataFrame) -> list[RowCheck]:
    """Cross-table checks of theory judgements against the transcripts and the codebook's theories."""

    def unknown_transcript(f: pd.DataFrame) -> pd.Series:
        return reason_where(
            ~f["transcript_id"].astype(str).isin(transcripts.index.astype(str)),
            "transcript_id: no transcript with a service and year has this id",
        )

    return [
        RowCheck("transcript_id", unknown_transcript),
        _unknown_theory(set(codes["theory_id"].astype(str))),
    ]


JUDGEMENT_PAIR = ("transcript_id", "theory_id")


def _pair_words(f: pd.DataFrame) -> pd.Series:
    """``T1 on PT1`` per row: the transcript and theory a judgement is about."""
    return f["transcript_id"].astype("string") + " on " + f["theory_id"].astype("string")


def _main_of_pair(f: pd.DataFrame) -> pd.DataFrame:
    """Per row, the coder and raw row of the first ``main`` judgement of its transcript and theory."""
    pair = list(JUDGEMENT_PAIR)
    main = f.loc[f["check"].astype("string").eq("main").fillna(False).to_numpy()]
    first = main.drop_duplicates(pair)[[*pair, "coder", "_row"]]
    found = f[pair].merge(first, how="left", on=pair)
    return pd.DataFrame(
        {
            "coder": found["coder"].astype("string").to_numpy(),
            "row": found["_row"].astype("Int64").astype("string").to_numpy(),
        },
        index=f.index,
    )


def judgement_structure_checks() -> list[RowCheck]:
    """The main/agreement structure: one main row per transcript and theory, agreement by another coder.

    Run on the judgements that passed every other check, so a row quarantined for
    its own fault does not make a later row look like a second one.
    """

    def second_main(f: pd.DataFrame) -> pd.Series:
        is_main = f["check"].astype("string").eq("main").fillna(False)
        again = is_main & f[list(JUDGEMENT_PAIR)].where(is_main).duplicated(keep="first")
        return reason_where(
            again,
            "check: a second 'main' judgement of "
            + _pair_words(f)
            + " (the main judgement is at row "
            + _main_of_pair(f)["row"].fillna("")
            + "; allowed: one main row per transcript and theory, any other is 'agreement')",
        )

    def agreement_by_main_coder(f: pd.DataFrame) -> pd.Series:
        main = _main_of_pair(f)
        same = f["check"].astype("string").eq("agreement") & f["coder"].astype("string").eq(
            main["coder"]
        )
        return reason_where(
            same,
            "coder: '"
            + f["coder"].astype("string")
            + "' made the main judgement of "
            + _pair_words(f)
            + " (row "
            + main["row"].fillna("")
            + "); an agreement judgement must be by another coder",
        )

    def agreement_without_main(f: pd.DataFrame) -> pd.Series:
        lonely = f["check"].astype("string").eq("agreement") & _main_of_pair(f)["coder"].isna()
        return reason_where(
            lonely,
            "check: 'agreement' judgement of "
            + _pair_words(f)
            + " has no main judgement to compare with (allowed: main; agreement beside a main row)",
        )

    def same_key(f: pd.DataFrame) -> pd.Series:
        key = [*JUDGEMENT_PAIR, "coder"]
        first = f.groupby(key, sort=False, dropna=False)["_row"].transform("first")
        dup = f.duplicated(key, keep="first")
        dup &= agreement_by_main_coder(f).isna() & second_main(f).isna()
        return reason_where(
            dup,
            "coder: '"
            + f["coder"].astype("string")
            + "' already judged "
            + _pair_words(f)
            + " at row "
            + first.astype("Int64").astype("string")
            + " (allowed: one judgement per transcript, theory and coder)",
        )

    checks = tuple(vocab.JUDGEMENT_CHECKS)
    return [
        RowCheck("check", second_main, vocabulary=checks),
        RowCheck("coder", agreement_by_main_coder),
        RowCheck("check", agreement_without_main, vocabulary=checks),
        RowCheck("coder", same_key),
    ]


def deidentify_each(texts: pd.Series) -> pd.Series:
    """:func:`~hubspoke.privacy.deidentify.deidentify` of every text, each distinct text once.

    Coders code the same passage many times (at national scale 15,000 codings hold
    under 800 distinct excerpts), and de-identifying is slow Python per text.
    """
    done = {text: deidentify(text) for text in pd.unique(texts.dropna())}
    return texts.map(done.get)


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
        excerpt=deidentify_each(frame["_excerpt"].astype("string").fillna("")),
    )


def finish_judgements(frame: pd.DataFrame, transcripts: pd.DataFrame) -> pd.DataFrame:
    """Judgements with the transcript's service, year and role (the rationale stays behind)."""
    return frame.assign(
        service_id=frame["transcript_id"].map(transcripts["service_id"]),
        year=frame["transcript_id"].map(transcripts["year"]),
        respondent_role=frame["transcript_id"].map(transcripts["respondent_role"]).astype("string"),
    )


# ---------------------------------------------------------------------------
# Refinements written by evaluators
# ---------------------------------------------------------------------------

#: The shape of an evidence id a quarantine reason may repeat (``T0012``, ``SG00012``).
EVIDENCE_ID_SHAPE = re.compile(r"[A-Z]{1,3}\d{1,8}")
ISO_DATE = r"\s*\d{4}-\d{2}-\d{2}\s*"


def evidence_ids(text: pd.Series) -> pd.Series:
    """Per row, the distinct ``;``-separated evidence ids in order (blank pieces dropped)."""
    return (
        text.astype("string")
        .fillna("")
        .str.split(";")
        .map(lambda parts: list(dict.fromkeys(p.strip() for p in parts if p.strip())))
    )


def _unknown_evidence_reason(unknown: list[str]) -> str:
    """Why evidence fails: the unknown ids of a safe shape, and how many others there are."""
    shown = [i for i in unknown if EVIDENCE_ID_SHAPE.fullmatch(i)]
    others = len(unknown) - len(shown)
    parts = [", ".join(shown)] if shown else []
    if others:
        parts.append(f"{others} value(s) of another shape")
    return (
        "evidence: not a transcript or coded segment of the cleaned data: "
        + " and ".join(parts)
        + " (allowed: ';'-separated transcript ids such as T0012 and coded segment ids "
        "such as SG00012)"
    )


def canonical_context(frame: pd.DataFrame) -> pd.Series:
    """Each row's context value as its dimension spells it (NA when it is not one of them).

    Matched as labels are (case-insensitive, white space folded): ``multi-host`` -> ``Multi-host``.
    """
    lookup = {
        (dimension, vocab.normalise_label(value)): value
        for dimension, values in vocab.CONTEXT_VALUES.items()
        for value in values
    }
    label = frame["context_value"].astype("string").fillna("").map(vocab.normalise_label)
    dimension = frame["context_dimension"].astype("string").fillna("")
    return pd.Series(
        [lookup.get(pair) for pair in zip(dimension, label, strict=True)],
        index=frame.index,
        dtype="string",
    )


def refinement_checks(
    codes: pd.DataFrame, transcript_ids: set[str], segment_ids: set[str]
) -> list[RowCheck]:
    """Checks of refinements against the codebook, the context values and the cleaned evidence.

    Expects the raw statement and date texts in ``_statement`` and ``_written_on``.
    """
    known = transcript_ids | segment_ids

    def context(f: pd.DataFrame) -> pd.Series:
        allowed = (
            f["context_dimension"]
            .astype("string")
            .map(lambda d: ", ".join(vocab.CONTEXT_VALUES.get(str(d), ())))
        )
        return reason_where(
            canonical_context(f).isna(),
            "context_value: '"
            + f["context_value"].astype("string").fillna("")
            + "' is not a "
            + f["context_dimension"].astype("string").fillna("")
            + " value (allowed: "
            + allowed
            + ")",
        )

    def statement(f: pd.DataFrame) -> pd.Series:
        text = f["_statement"].astype("string").fillna("").str.strip()
        return reason_where(
            text.str.lower().isin(vocab.MISSING_MARKERS), "statement: required value missing"
        )

    def iso(f: pd.DataFrame) -> pd.Series:
        text = f["_written_on"].astype("string").fillna("")
        return reason_where(
            f["written_on"].notna() & ~text.str.fullmatch(ISO_DATE).fillna(False),
            "written_on: "
            + text.str.strip()
            + " is not an ISO date (allowed: YYYY-MM-DD, e.g. 2016-11-30)",
        )

    def evidence(f: pd.DataFrame) -> pd.Series:
        ids = evidence_ids(f["evidence"])
        unknown = ids.map(lambda row: [i for i in row if i not in known])
        reason = unknown.map(lambda bad: _unknown_evidence_reason(bad) if bad else None)
        reason = reason.mask(ids.map(len).eq(0), "evidence: no transcript or segment id given")
        return reason.astype("string")

    return [
        _unknown_theory(set(codes["theory_id"].astype(str))),
        RowCheck(
            "context_value",
            context,
            vocabulary=tuple(v for vs in vocab.CONTEXT_VALUES.values() for v in vs),
        ),
        RowCheck("statement", statement, report_value=False),
        RowCheck("written_on", iso),
        RowCheck("evidence", evidence),
    ]


def refinement_key_check() -> RowCheck:
    """A second row with an earlier row's ``refinement_id`` (run on rows that passed the rest)."""

    def test(f: pd.DataFrame) -> pd.Series:
        first = f.groupby("refinement_id", sort=False)["_row"].transform("first")
        return reason_where(
            f.duplicated("refinement_id", keep="first"),
            "refinement_id: "
            + f["refinement_id"].astype("string")
            + " is already used at row "
            + first.astype("Int64").astype("string")
            + " (allowed: one row per refinement id)",
        )

    return RowCheck("refinement_id", test)


def finish_refinements(frame: pd.DataFrame) -> pd.DataFrame:
    """Refinements: context value as its dimension spells it, statement redacted, evidence joined and counted."""
    ids = evidence_ids(frame["evidence"])
    return frame.assign(
        context_value=canonical_context(frame),
        statement=deidentify_each(frame["_statement"].astype("string").fillna("").str.strip()),
        evidence=ids.map(";".join).astype("string"),
        n_evidence=ids.map(len).astype("Int64"),
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


def _raw_column(sheet: RawSheet, column: str) -> pd.Series:
    """A raw column's text (empty where the file lacks the column)."""
    frame = sheet.frame
    return frame[column] if column in frame else pd.Series("", index=frame.index)


def clean_codings(
    segments: RawSheet,
    result: CleanerResult,
    *,
    codes: pd.DataFrame,
    transcripts: pd.DataFrame,
    note: str = "",
) -> pd.DataFrame:
    """Clean coded segments (their ``segment_id`` kept for the refinements' evidence)."""
    clean = _clean(segments, result, name="codings", note=note)
    clean = clean.assign(_excerpt=_raw_column(segments, "excerpt").reindex(clean.index))
    clean = _cross(clean, segment_checks(codes, transcripts), result, name="codings")
    _set_clean(result, segments.file, len(clean))
    return finish_codings(clean, codes, transcripts)


def clean_judgements(
    judged: RawSheet, result: CleanerResult, *, codes: pd.DataFrame, transcripts: pd.DataFrame
) -> pd.DataFrame:
    """Clean theory judgements: columns, then transcripts and theories, then main/agreement structure."""
    clean = _cross(
        _clean(judged, result, name="judgements"),
        judgement_checks(codes, transcripts),
        result,
        name="judgements",
    )
    clean = _cross(clean, judgement_structure_checks(), result, name="judgements")
    _set_clean(result, judged.file, len(clean))
    return finish_judgements(clean, transcripts)


def clean_refinements(
    sheet: RawSheet,
    result: CleanerResult,
    *,
    codes: pd.DataFrame,
    transcript_ids: set[str],
    segment_ids: set[str],
) -> pd.DataFrame:
    """Clean evaluators' refinements: columns, then codebook, context and evidence, then ids."""
    clean = _clean(sheet, result, name="refinements")
    raw = sheet.frame.reindex(clean.index)
    clean = clean.assign(
        _statement=_raw_column(sheet, "statement").reindex(clean.index),
        _written_on=raw["written_on"],
    )
    checks = refinement_checks(codes, transcript_ids, segment_ids)
    split = split_rows(clean, checks, table="refinements", raw=raw)
    result.quarantine.append(split.quarantine)
    clean = _cross(split.clean, [refinement_key_check()], result, name="refinements")
    _set_clean(result, sheet.file, len(clean))
    return finish_refinements(clean)


def absent_refinements_note() -> str:
    """What the log says when no refinements file was sent."""
    return (
        f"no {rs.LAYOUT['refinements']}: the refinements table is empty "
        "(no evaluator's refined theory statements to report yet)"
    )


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
    refined = _read(ctx, "refinements", rs.REFINEMENTS_TABLE, result)
    if book is None or scripts is None:
        return result

    codes = clean_codebook(_clean(book, result, name="codebook"))
    codes = _cross(codes, codebook_checks(codes), result, name="codebook")
    _set_clean(result, book.file, len(codes))
    kept = _clean(scripts, result, name="transcripts")
    # reindex, not assign: assigning a Series to an empty frame adopts the Series' rows
    texts = (
        scripts.frame["text"]
        if "text" in scripts.frame
        else pd.Series(pd.NA, index=scripts.frame.index)
    )
    transcripts = transcript_lookup(kept.assign(_text=texts.reindex(kept.index)))
    _set_clean(result, scripts.file, len(transcripts))
    result.tables["codebook"] = codes

    segment_ids: set[str] = set()
    if segments is not None:
        codings = clean_codings(segments, result, codes=codes, transcripts=transcripts, note=note)
        result.tables["codings"] = codings
        segment_ids = set(codings["segment_id"].dropna().astype(str))
    if judged is not None:
        result.tables["judgements"] = clean_judgements(
            judged, result, codes=codes, transcripts=transcripts
        )
    if refined is not None:
        result.tables["refinements"] = clean_refinements(
            refined,
            result,
            codes=codes,
            transcript_ids=set(transcripts.index.astype(str)),
            segment_ids=segment_ids,
        )
    elif not (ctx.raw_dir / rs.LAYOUT["refinements"]).exists():
        result.tables["refinements"] = REFINEMENTS.empty()
        result.warnings.append(absent_refinements_note())
    return result


def qualitative_files(raw_dir: Path) -> list[Path]:
    """The qualitative files a run reads (for documentation and tests; refinements are optional)."""
    keys = ("codebook", "transcripts", "segments", "judgements", "refinements")
    return [raw_dir / rs.LAYOUT[k] for k in keys]
