"""The schema of every processed table: the one place that declares them.

Each table is a :class:`TableSchema` of :class:`Field` s (type, nullability,
allowed values, order, range, description) plus a key. From it come:

* :meth:`TableSchema.pandera` - a pandera ``DataFrameSchema`` that validates a frame;
* :meth:`TableSchema.conform` - the frame with declared column order and dtypes;
* :meth:`TableSchema.empty` - an empty frame with the declared dtypes;
* the processed data dictionary is rendered from :data:`SCHEMAS` by :mod:`hubspoke.spec.dictionary`.

Use :func:`validate` (``validate("cases", frame)``) to conform and validate in
one step; it raises the project's :class:`~hubspoke.errors.SchemaError` naming
the table, the column, what is allowed and what was found.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Literal

import pandas as pd

from hubspoke.errors import SchemaError
from hubspoke.spec import vocab

if TYPE_CHECKING:  # imported where used: pandera is half a second to import, and a table
    # that plainly passes (most) never needs it
    import pandera.pandas as pa

#: Type names a field may declare and the pandas dtype each becomes.
DTYPES: Mapping[str, object] = MappingProxyType(
    {
        "string": pd.StringDtype(),
        "int": pd.Int64Dtype(),
        "float": pd.Float64Dtype(),
        "bool": pd.BooleanDtype(),
        "date": "datetime64[ns]",
    }
)

#: Age bands used across reports (label -> inclusive lower bound).
AGE_BANDS: tuple[tuple[str, int], ...] = (
    ("Under 10", 0),
    ("10-13", 10),
    ("14-15", 14),
    ("16-17", 16),
    ("18+", 18),
)
SYSTEM_ACCESS_SCALE: tuple[str, ...] = ("None", "Partial", "Full")
CMO_LABELS: tuple[str, ...] = tuple(vocab.CMO_ELEMENTS.values())
GEOGRAPHIC_LEVELS: tuple[str, ...] = ("National", "Regional", "Local authority")
STATISTICAL_SYMBOLS: tuple[str, ...] = ("c", "x", "z", "u")
#: Whether a raw file and sheet was read and its rows all accounted for.
ReconciliationStatus = Literal["ok", "failed"]
RECONCILIATION_STATUS: tuple[ReconciliationStatus, ...] = ("ok", "failed")


@dataclass(frozen=True)
class Field:
    """One processed column.

    ``dtype`` is ``string``, ``int``, ``float``, ``bool``, ``date`` or
    ``category`` (then ``allowed`` lists the categories, ``ordered`` says
    whether their order means something). ``pattern`` is a regular expression a
    string must match in full.
    """

    name: str
    dtype: str
    description: str
    nullable: bool = True
    allowed: tuple[str, ...] = ()
    ordered: bool = False
    minimum: float | None = None
    maximum: float | None = None
    pattern: str | None = None

    @property
    def pandas_dtype(self) -> object:
        """The pandas dtype of the column."""
        if self.dtype == "category":
            return pd.CategoricalDtype(list(self.allowed), ordered=self.ordered)
        return DTYPES[self.dtype]

    def checks(self) -> list[pa.Check]:
        """Pandera checks for the range and pattern (categories are checked by the dtype)."""
        import pandera.pandas as pa

        checks: list[pa.Check] = []
        if self.minimum is not None:
            checks.append(pa.Check.ge(self.minimum))
        if self.maximum is not None:
            checks.append(pa.Check.le(self.maximum))
        if self.pattern is not None:
            checks.append(pa.Check.str_matches(f"^(?:{self.pattern})$"))
        return checks

    def describe_type(self) -> str:
        """Type in words, for the data dictionary."""
        if self.dtype == "category":
            return "ordered category" if self.ordered else "category"
        return self.dtype


@dataclass(frozen=True)
class TableSchema:
    """A processed table: its fields, key and a description."""

    name: str
    description: str
    fields: tuple[Field, ...]
    key: tuple[str, ...] = ()
    file: str = ""
    notes: tuple[str, ...] = field(default=())

    @property
    def columns(self) -> list[str]:
        return [f.name for f in self.fields]

    @property
    def filename(self) -> str:
        """The parquet file the table is written to."""
        return self.file or f"{self.name}.parquet"

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)

    def pandera(self) -> pa.DataFrameSchema:
        """The pandera schema: dtypes, nullability, ranges, key uniqueness, no extra columns."""
        import pandera.pandas as pa

        return pa.DataFrameSchema(
            {
                f.name: pa.Column(
                    f.pandas_dtype, checks=f.checks(), nullable=f.nullable, coerce=False
                )
                for f in self.fields
            },
            unique=list(self.key) or None,
            strict=True,
            ordered=True,
            name=self.name,
        )

    def empty(self) -> pd.DataFrame:
        """An empty frame with every declared column and dtype."""
        return pd.DataFrame({f.name: pd.Series([], dtype=f.pandas_dtype) for f in self.fields})

    def conform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Declared columns in declared order with declared dtypes (extra columns dropped)."""
        missing = [c for c in self.columns if c not in frame.columns]
        if missing:
            raise SchemaError(
                f"table {self.name} lacks declared column(s)", column=missing[0], found=missing
            )
        out = {}
        frame = frame.reset_index(drop=True)
        for f in self.fields:
            series = frame[f.name]
            try:
                out[f.name] = series.astype(f.pandas_dtype)
            except (TypeError, ValueError) as exc:
                raise SchemaError(
                    f"table {self.name}: column cannot be stored as {f.describe_type()} ({exc})",
                    column=f.name,
                ) from None
        # No second copy: the columns are new Series (copy-on-write keeps ``frame`` safe).
        return pd.DataFrame(out, index=frame.index, copy=False)


def _f(name: str, dtype: str, description: str, **kw: object) -> Field:
    return Field(name, dtype, description, **kw)  # type: ignore[arg-type]


def _cat(name: str, vocabulary: Iterable[str], description: str, **kw: object) -> Field:
    return Field(name, "category", description, allowed=tuple(vocabulary), **kw)  # type: ignore[arg-type]


def _provenance() -> tuple[Field, ...]:
    return (
        _f(
            "source_file",
            "string",
            "Raw file the row came from (relative to data/raw).",
            nullable=False,
        ),
        _f("source_sheet", "string", "Sheet of the workbook ('' for a CSV).", nullable=False),
        _f(
            "source_row",
            "int",
            "1-based spreadsheet row of the raw row.",
            nullable=False,
            minimum=1,
        ),
    )


_SERVICE_YEAR = (
    _f(
        "service_id",
        "string",
        "Service id (S01-S16; S001-S150 at national scale).",
        nullable=False,
        pattern=r"S\d{2,3}",
    ),
    _f("year", "int", "Evaluation year (2014-2016).", nullable=False, minimum=2014, maximum=2016),
)

CASES = TableSchema(
    "cases",
    "One row per young person's episode of one-to-one support (pseudonymised).",
    (
        *_SERVICE_YEAR,
        _f(
            "young_person_id",
            "string",
            "Keyed hash of service and case reference (stable across years).",
            nullable=False,
            pattern=r"[0-9a-f]{16}",
        ),
        _f("age", "int", "Age in whole years at referral.", minimum=8, maximum=25),
        _cat("age_band", [b for b, _ in AGE_BANDS], "Age band at referral.", ordered=True),
        _cat("gender", vocab.GENDER, "Gender."),
        _cat("ethnicity", vocab.ETHNICITY, "Ethnic group (ONS top level)."),
        _cat("disability", vocab.YES_NO, "Has a disability or special educational need."),
        _cat("looked_after", vocab.LOOKED_AFTER, "Looked-after child at referral."),
        _f("concern_date", "date", "Date the concern was first raised."),
        _f("referral_date", "date", "Date the referral was received.", nullable=False),
        _cat("referral_source", vocab.REFERRAL_SOURCE, "Agency that referred."),
        _cat("risk_tool", vocab.RISK_TOOLS, "Risk tool the service records with.", nullable=False),
        _f(
            "risk_at_referral_raw",
            "string",
            "Risk at referral as recorded on the service's tool (canonical form).",
        ),
        _cat(
            "risk_at_referral",
            vocab.RISK_SCALE,
            "Risk at referral on the harmonised scale.",
            ordered=True,
        ),
        _f(
            "risk_latest_raw",
            "string",
            "Risk at latest review or closure as recorded (canonical form).",
        ),
        _cat(
            "risk_latest",
            vocab.RISK_SCALE,
            "Risk at latest review on the harmonised scale.",
            ordered=True,
        ),
        _f(
            "risk_change",
            "int",
            "Latest minus referral risk on the harmonised scale (negative = reduced).",
            minimum=-3,
            maximum=3,
        ),
        _f(
            "risk_reduced",
            "bool",
            "Risk lower at latest review than at referral (null when either missing).",
        ),
        _f(
            "missing_before",
            "int",
            "Missing episodes in the 3 months before support.",
            minimum=0,
            maximum=60,
        ),
        _f(
            "missing_after",
            "int",
            "Missing episodes in the latest 3 months of support.",
            minimum=0,
            maximum=60,
        ),
        _f(
            "missing_change", "int", "Missing episodes after minus before.", minimum=-60, maximum=60
        ),
        _f("contacts", "int", "Number of contacts with the young person.", minimum=0, maximum=300),
        _f("closure_date", "date", "Date support ended (null while open)."),
        _cat("closure_reason", vocab.CLOSURE_REASON, "Why support ended (null while open)."),
        _f(
            "planned_ending",
            "bool",
            "Ending was planned (planned ending or transfer); null while open.",
        ),
        _f("episode_days", "int", "Days from referral to closure (null while open).", minimum=0),
        *(
            _f(
                f"outcome_{s}_{w}",
                "int",
                f"Outcome rating '{s.replace('_', ' ')}' at {w} of support, 1-5.",
                minimum=1,
                maximum=5,
            )
            for s in vocab.OUTCOME_SCALES
            for w in ("start", "end")
        ),
        *_provenance(),
    ),
    key=("service_id", "year", "young_person_id", "referral_date"),
)

ACTIVITIES = TableSchema(
    "activities",
    "Training, consultations, awareness sessions and meetings, one row per activity.",
    (
        *_SERVICE_YEAR,
        _f("activity_date", "date", "Date of the activity.", nullable=False),
        _cat("activity_type", vocab.ACTIVITY_TYPE, "Kind of activity.", nullable=False),
        _cat("audience_agency", vocab.AGENCY, "Agency of the audience or consultee."),
        _f(
            "participants",
            "int",
            "Number of people who took part.",
            nullable=False,
            minimum=0,
            maximum=1000,
        ),
        _f(
            "confidence_before",
            "float",
            "Training: mean confidence before, 1-10.",
            minimum=1,
            maximum=10,
        ),
        _f(
            "confidence_after",
            "float",
            "Training: mean confidence after, 1-10.",
            minimum=1,
            maximum=10,
        ),
        _f("confidence_change", "float", "Confidence after minus before.", minimum=-9, maximum=9),
        _f("spoke_id", "string", "Spoke worker who led it."),
        *_provenance(),
    ),
    key=("source_file", "source_sheet", "source_row"),
    notes=(
        "Two activities may share date, type, agency and participants; exact duplicate rows are merged.",
    ),
)

POLICY = TableSchema(
    "policy",
    "Policy framework checklist: one row per service, year, local-authority area and element.",
    (
        *_SERVICE_YEAR,
        _f("la_code", "string", "Local-authority area code (ONS).", nullable=False),
        _cat("element", vocab.POLICY_ELEMENT, "Framework element.", nullable=False),
        _cat("status", vocab.POLICY_SCALE, "Status at year end.", nullable=False, ordered=True),
        _f(
            "status_score",
            "int",
            "Status as a progress score 0 (not started) to 3 (embedded).",
            nullable=False,
            minimum=0,
            maximum=3,
        ),
        *_provenance(),
    ),
    key=("service_id", "year", "la_code", "element"),
)

SPOKE_SURVEY = TableSchema(
    "spoke_survey",
    "Annual survey of Spoke workers: one row per service, year and Spoke worker.",
    (
        *_SERVICE_YEAR,
        _f("spoke_id", "string", "Spoke worker id.", nullable=False),
        _cat(
            "supervision_frequency", vocab.SUPERVISION_SCALE, "How often supervised.", ordered=True
        ),
        _cat(
            "host_system_access", SYSTEM_ACCESS_SCALE, "Access to host case systems.", ordered=True
        ),
        _cat(
            "feels_isolated",
            vocab.ISOLATION_SCALE,
            "How often the worker feels isolated.",
            ordered=True,
        ),
        _f("confidence", "int", "Confidence in the role, 1-5.", minimum=1, maximum=5),
        _cat("intends_to_stay", vocab.STAY, "Intends to stay in post next year."),
        *_provenance(),
    ),
    key=("service_id", "year", "spoke_id"),
)

SERVICES = TableSchema(
    "services",
    "Reference: one row per Hub service.",
    (
        _f("service_id", "string", "Service id.", nullable=False, pattern=r"S\d{2,3}"),
        _f("hub_name", "string", "Fictional Hub name.", nullable=False),
        _f(
            "phase",
            "int",
            "Phase 1-3 (start 2014, 2015, 2016).",
            nullable=False,
            minimum=1,
            maximum=3,
        ),
        _f("start_date", "date", "Programme start date.", nullable=False),
        _cat("model_variant", vocab.MODEL_VARIANTS, "Variant of the model.", nullable=False),
        _f("n_spokes", "int", "Number of Spoke workers.", nullable=False, minimum=2, maximum=5),
        _f(
            "la_codes",
            "string",
            "Local-authority areas covered, ';'-separated ONS codes.",
            nullable=False,
        ),
        _cat("risk_tool", vocab.RISK_TOOLS, "Risk tool the service records with.", nullable=False),
        _f("region", "string", "Region of England.", nullable=False),
        *_provenance(),
    ),
    key=("service_id",),
)

SPOKES = TableSchema(
    "spokes",
    "Reference: one row per Spoke worker post.",
    (
        _f("spoke_id", "string", "Spoke worker id, e.g. S03-K2.", nullable=False),
        _f("service_id", "string", "Service the Spoke belongs to.", nullable=False),
        _cat("host_setting", vocab.HOST_SETTINGS, "Host agency setting.", nullable=False),
        _f("la_code", "string", "Local-authority area of the placement.", nullable=False),
        _f("start_year", "int", "First year in post.", nullable=False, minimum=2014, maximum=2016),
        *_provenance(),
    ),
    key=("spoke_id",),
)

QUARANTINE = TableSchema(
    "quarantine",
    "Every raw row that did not become clean data (failed validation, blank row, notes row), "
    "with the reason in plain words. A row failing several checks has one entry per reason.",
    (
        _f(
            "table",
            "string",
            "Table the row was read as (cases, activities, ..., codings).",
            nullable=False,
        ),
        _f("file", "string", "Raw file (relative to data/raw).", nullable=False),
        _f("sheet", "string", "Sheet ('' for a CSV).", nullable=False),
        _f("row", "int", "1-based spreadsheet row.", nullable=False, minimum=1),
        _f(
            "column",
            "string",
            "Column at fault ('' when the whole row is at fault).",
            nullable=False,
        ),
        _f(
            "value",
            "string",
            "Value found, only when it cannot identify anyone: '' for identifier, free-text and "
            "case-reference columns; otherwise kept only if short (at most 30 characters) and of a "
            "safe shape: a number of at most 6 digits, a date in the event years (2011-2019), a "
            "code with digits and no spaces, or words that are a near miss of the column's allowed "
            "labels or made only of its vocabulary and common words that are not names (TBC, "
            "see notes, daily). Anything else (names, e-mail addresses, phone numbers, postcodes, "
            "dates of birth) is shown as [masked: N characters], and masked in the reason too.",
            nullable=False,
        ),
        _f(
            "reason",
            "string",
            "Why the row was quarantined (a masked value is masked here too).",
            nullable=False,
        ),
    ),
)

RECONCILIATION = TableSchema(
    "reconciliation",
    "One row per raw file and sheet: rows_in = rows_clean + rows_quarantined + rows_merged_duplicates. "
    "A cleaner that failed as a whole is one failed row too (none of its tables are written).",
    (
        _f(
            "file",
            "string",
            "Raw file (relative to data/raw), or the cleaner's name in angle brackets "
            "(such as `<clean_qualitative>`) for a cleaner that failed without naming a file.",
            nullable=False,
        ),
        _f(
            "sheet",
            "string",
            "Sheet ('' for a CSV or a file that failed as a whole).",
            nullable=False,
        ),
        _f("table", "string", "Table read ('' when unknown).", nullable=False),
        _f("rows_in", "int", "Raw rows under the header.", nullable=False, minimum=0),
        _f("rows_clean", "int", "Rows written to the processed table.", nullable=False, minimum=0),
        _f("rows_quarantined", "int", "Rows in quarantine.", nullable=False, minimum=0),
        _f(
            "rows_merged_duplicates",
            "int",
            "Exact duplicate rows merged into an earlier row.",
            nullable=False,
            minimum=0,
        ),
        _cat(
            "status",
            RECONCILIATION_STATUS,
            "ok, or failed when the file could not be read (or its cleaner failed).",
            nullable=False,
        ),
        _f("message", "string", "The error for a failed file; warnings otherwise.", nullable=False),
        _f(
            "unmatched_columns",
            "string",
            "Headers matching no known column ('; '-separated).",
            nullable=False,
        ),
        _f(
            "dropped_columns",
            "string",
            "Identifier and free-text columns dropped ('; '-separated).",
            nullable=False,
        ),
    ),
    key=("file", "sheet"),
)

CODEBOOK = TableSchema(
    "codebook",
    "Codebook: one row per code.",
    (
        _f("code_id", "string", "Code id, e.g. PT1-M2.", nullable=False),
        _f("label", "string", "Short label.", nullable=False),
        _cat("cmo", CMO_LABELS, "CMO element (null for a theory-level parent code)."),
        _f("theory_id", "string", "Programme theory id, e.g. PT1.", nullable=False),
        _f("parent_code", "string", "Parent code id (null at the top)."),
        _f("description", "string", "What the code captures."),
    ),
    key=("code_id",),
)

CODINGS = TableSchema(
    "codings",
    "One row per application of a code to a span of a transcript by one coder (excerpt redacted).",
    (
        _f(
            "segment_id",
            "string",
            "Segment id as in the raw file (e.g. SG00012; a selection's GUID when imported from a "
            "REFI-QDA project): what a refinement's evidence names.",
        ),
        _f("transcript_id", "string", "Transcript coded.", nullable=False),
        _f("service_id", "string", "Service interviewed.", nullable=False),
        _f("year", "int", "Evaluation year.", nullable=False, minimum=2014, maximum=2016),
        _cat("respondent_role", vocab.RESPONDENT_ROLES, "Role of the respondent.", nullable=False),
        _f("coder", "string", "Coder's initials.", nullable=False),
        _f("code_id", "string", "Code applied (in the codebook).", nullable=False),
        _cat("cmo", CMO_LABELS, "CMO element of the code."),
        _f("theory_id", "string", "Programme theory of the code.", nullable=False),
        _f(
            "start",
            "int",
            "Start character position (0-based, inclusive).",
            nullable=False,
            minimum=0,
        ),
        _f("end", "int", "End character position (exclusive).", nullable=False, minimum=1),
        _f("excerpt", "string", "Coded text with names and places redacted.", nullable=False),
    ),
    key=("transcript_id", "coder", "code_id", "start", "end"),
)

JUDGEMENTS = TableSchema(
    "judgements",
    "Per transcript, programme theory and coder, a judgement: one main judgement per transcript "
    "and theory, and a second coder's agreement judgement where the transcript was double-judged.",
    (
        _f("transcript_id", "string", "Transcript.", nullable=False),
        _f("service_id", "string", "Service interviewed."),
        _f("year", "int", "Evaluation year.", minimum=2014, maximum=2016),
        _cat("respondent_role", vocab.RESPONDENT_ROLES, "Role of the respondent."),
        _f("theory_id", "string", "Programme theory.", nullable=False),
        _f("coder", "string", "Coder's initials.", nullable=False),
        _cat(
            "check",
            vocab.JUDGEMENT_CHECKS,
            "main (drives verdicts) or agreement (a second coder's, to measure agreement only).",
            nullable=False,
        ),
        _cat("judgement", vocab.JUDGEMENTS, "supports, refutes or refines.", nullable=False),
    ),
    key=("transcript_id", "theory_id", "coder"),
    notes=(
        "Exactly one main row per transcript and theory; an agreement row's coder differs from "
        "the main row's. Only main rows drive verdicts.",
    ),
)

REFINEMENTS = TableSchema(
    "refinements",
    "Refined theory statements written by evaluators, with the context and the evidence they rest "
    "on (empty when the raw refinements file is absent).",
    (
        _f("refinement_id", "string", "Refinement id, e.g. R001.", nullable=False),
        _f("theory_id", "string", "Programme theory refined (in the codebook).", nullable=False),
        _cat(
            "context_dimension",
            vocab.CONTEXT_DIMENSIONS,
            "The context dimension the statement is about.",
            nullable=False,
        ),
        _f(
            "context_value",
            "string",
            "The context: a model variant, or a main host setting ('Mixed' for a tie).",
            nullable=False,
        ),
        _f(
            "statement",
            "string",
            "The evaluator's statement with names and places redacted.",
            nullable=False,
        ),
        _f("author", "string", "Initials of the evaluator who wrote it.", nullable=False),
        _f("written_on", "date", "Date written.", nullable=False),
        _f(
            "evidence",
            "string",
            "';'-joined ids of the transcripts and coded segments it rests on, each in the "
            "cleaned data.",
            nullable=False,
            pattern=r"[^;\s]+(?:;[^;\s]+)*",
        ),
        _f("n_evidence", "int", "Number of distinct evidence ids.", nullable=False, minimum=1),
    ),
    key=("refinement_id",),
)

CONTEXT = TableSchema(
    "context",
    "Local context: assessments where child sexual exploitation was a factor, and child population, "
    "per area and year, with the rate per 10,000 children.",
    (
        _f("la_code", "string", "Area code (LA, region or England).", nullable=False),
        _f("la_name", "string", "Area name.", nullable=False),
        _f(
            "region_code",
            "string",
            "Region of the area (its own code for a region; none for England).",
        ),
        _cat(
            "geographic_level",
            GEOGRAPHIC_LEVELS,
            "National, Regional or Local authority.",
            nullable=False,
        ),
        _f("year", "int", "Reporting year.", nullable=False, minimum=2000, maximum=2100),
        _f(
            "cse_assessments",
            "int",
            "Assessments with CSE as a factor (null when suppressed).",
            minimum=0,
        ),
        _cat(
            "cse_symbol",
            STATISTICAL_SYMBOLS,
            "Statistical symbol in place of the count (c, x, z, u).",
        ),
        _f("population", "int", "Children aged 0-17.", minimum=0),
        _f("rate_per_10k", "float", "CSE assessments per 10,000 children.", minimum=0),
    ),
    key=("la_code", "year"),
)

#: Every processed table's schema, by name.
SCHEMAS: Mapping[str, TableSchema] = MappingProxyType(
    {
        s.name: s
        for s in (
            CASES,
            ACTIVITIES,
            POLICY,
            SPOKE_SURVEY,
            SERVICES,
            SPOKES,
            QUARANTINE,
            RECONCILIATION,
            CODEBOOK,
            CODINGS,
            JUDGEMENTS,
            REFINEMENTS,
            CONTEXT,
        )
    }
)


def schema(name: str) -> TableSchema:
    """The schema of processed table ``name``."""
    try:
        return SCHEMAS[name]
    except KeyError:
        raise SchemaError("unknown processed table", allowed=sorted(SCHEMAS), found=name) from None


def _within(series: pd.Series, bound: float, *, below: bool) -> bool:
    """Whether every non-missing value is ``<= bound`` (``below``) or ``>= bound``.

    A value that compares neither way (such as NaN) counts as outside.
    """
    try:
        inside = series.le(bound) if below else series.ge(bound)
    except TypeError:
        return False
    # ``all`` skips a missing comparison, as pandera skips missing values.
    return bool(inside.all())


def _field_passes(f: Field, series: pd.Series) -> bool:
    """Whether ``series`` plainly meets ``f``: dtype, nulls, range and pattern, as pandera checks them."""
    if series.dtype != f.pandas_dtype:
        return False
    present = series.notna()
    if not f.nullable and not bool(present.all()):
        return False
    if f.minimum is not None and not _within(series, f.minimum, below=False):
        return False
    if f.maximum is not None and not _within(series, f.maximum, below=True):
        return False
    if f.pattern is not None:
        values = series if bool(present.all()) else series[present.to_numpy(dtype=bool)]
        return bool(values.str.match(f"^(?:{f.pattern})$", na=False).all())
    return True


def plainly_valid(spec: TableSchema, frame: pd.DataFrame) -> bool:
    """Whether a conformed ``frame`` passes every check of ``spec.pandera()``, found directly.

    The same checks (declared columns in order, dtypes, nulls, ranges, patterns
    matched by the same pandas call, a unique key) on whole columns at once,
    without pandera's per-check copies of the non-missing values. True only when
    every check passes; on False, :func:`validate` runs pandera itself, so an
    invalid table fails with pandera's own findings.
    """
    if list(frame.columns) != spec.columns:
        return False
    if not all(_field_passes(f, frame[f.name]) for f in spec.fields):
        return False
    return not (spec.key and bool(frame.duplicated(subset=list(spec.key)).any()))


def validate(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Conform ``frame`` to table ``name`` and validate it; raise :class:`SchemaError` on failure.

    A table that plainly passes (:func:`plainly_valid`) is returned without
    pandera's slower pass; any other goes through pandera, which names the failure.
    """
    spec = schema(name)
    conformed = spec.conform(frame)
    if plainly_valid(spec, conformed):
        return conformed
    from pandera.errors import SchemaError as PanderaSchemaError
    from pandera.errors import SchemaErrors as PanderaSchemaErrors

    try:
        return spec.pandera().validate(conformed, lazy=False)
    except (PanderaSchemaError, PanderaSchemaErrors) as exc:
        column = getattr(exc, "column_name", None) or getattr(
            getattr(exc, "schema", None), "name", None
        )
        cases = getattr(exc, "failure_cases", None)
        found = None
        if isinstance(cases, pd.DataFrame) and "failure_case" in cases:
            found = cases["failure_case"].astype(str).head(5).tolist()
        check = str(getattr(exc, "check", "") or "")
        raise SchemaError(
            f"table {name} does not match its schema{': ' + check if check else ''}",
            column=str(column) if column else None,
            found=found,
        ) from None


# ---------------------------------------------------------------------------
# Data dictionary
# ---------------------------------------------------------------------------
