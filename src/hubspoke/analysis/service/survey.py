"""The annual Spoke worker survey for one service: answers per question and a yes/no summary.

Spoke workers are few (2-5 per service), so every count is small; the summary can be
phrased as sentences from the displayed (suppressed) frame.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from hubspoke import load
from hubspoke.analysis.service.common import NOT_RECORDED, TOTAL, _one_way, _rows
from hubspoke.privacy.release import Shown
from hubspoke.spec import vocab
from hubspoke.spec.processed import SYSTEM_ACCESS_SCALE

SURVEY_QUESTIONS: Mapping[str, tuple[str, tuple[str, ...]]] = {
    "supervision_frequency": ("How often supervised", vocab.SUPERVISION_SCALE),
    "host_system_access": ("Access to host case systems", SYSTEM_ACCESS_SCALE),
    "feels_isolated": ("How often feels isolated", vocab.ISOLATION_SCALE),
    "confidence": ("Confidence in the role (1-5)", ("1", "2", "3", "4", "5")),
    "intends_to_stay": ("Intends to stay in post", tuple(vocab.STAY)),
}
#: Yes/no statements of the service-level summary: label -> (column, answers counted as yes).
SURVEY_STATEMENTS: Mapping[str, tuple[str, tuple[str, ...]]] = {
    "Supervised at least monthly": ("supervision_frequency", ("Monthly", "Fortnightly", "Weekly")),
    "Full access to host case systems": ("host_system_access", ("Full",)),
    "Rarely or never feels isolated": ("feels_isolated", ("Never", "Rarely")),
    "Confident in the role (4 or 5 of 5)": ("confidence", ("4", "5")),
    "Intends to stay in post": ("intends_to_stay", ("Yes",)),
}


def _survey_text(column: pd.Series) -> pd.Series:
    """Answers as text (confidence 4 -> "4"), missing kept missing."""

    def text(v: object) -> str:
        return str(int(v)) if isinstance(v, (int, float, np.integer, np.floating)) else str(v)

    return column.astype(object).map(text, na_action="ignore")


def spoke_survey_summary(
    tables: Mapping[str, pd.DataFrame], *, service_id: str, year: int
) -> dict[str, pd.DataFrame]:
    """The annual Spoke worker survey for the service: answers per question and a yes/no summary.

    A service has 2-5 Spoke workers, so every count here is small and will be
    suppressed in a funder report (counts 1-5); show the full counts to the evaluation
    team, and to funders only as whole-programme figures.

    * one frame per question (keys of :data:`SURVEY_QUESTIONS`): rows the answers on
      the question's ordered scale, "Not recorded", "Total"; columns "n" (Spoke workers)
      and "%".
    * ``"summary"`` - rows the statements of :data:`SURVEY_STATEMENTS`; columns "Yes",
      "No", "Not recorded", "Total" (Spoke workers). Phrase it
      with :func:`spoke_survey_sentences` on the funder view of the ``spokes.summary`` table.
    """
    service_id, year = load.check_service_year(service_id, year, tables=tables)
    survey = _rows(tables, "spoke_survey", service_id, year)
    out = {
        column: _one_way(_survey_text(survey[column]), levels, name=label)
        for column, (label, levels) in SURVEY_QUESTIONS.items()
    }
    out["summary"] = _survey_statements(survey)
    return out


def _survey_statements(survey: pd.DataFrame) -> pd.DataFrame:
    def row(column: str, yes: tuple[str, ...]) -> dict[str, int]:
        answers = _survey_text(survey[column])
        recorded = answers.notna()
        n_yes = int(answers[recorded].isin(yes).sum())
        return {
            "Yes": n_yes,
            "No": int(recorded.sum()) - n_yes,
            NOT_RECORDED: int((~recorded).sum()),
            TOTAL: len(survey),
        }

    out = pd.DataFrame.from_dict(
        {label: row(column, yes) for label, (column, yes) in SURVEY_STATEMENTS.items()},
        orient="index",
    ).astype("Int64")
    out.index.name = "Spoke workers"
    return out


def spoke_survey_sentences(summary: Shown | pd.DataFrame) -> list[str]:
    """Sentences such as "Supervised at least monthly: 3 of 4" from the summary table.

    Pass the :class:`~hubspoke.privacy.release.Shown` that ``display.table`` returns for
    the ``spokes.summary`` table (or its ``display``), so hidden counts read "c of c";
    a frame of full numbers (evaluation team only) gives the numbers.
    """
    if isinstance(summary, Shown):
        summary = summary.display

    def text(value: str | int) -> str:
        return str(value) if isinstance(value, str) else f"{int(value):,}"

    return [f"{label}: {text(r['Yes'])} of {text(r[TOTAL])}" for label, r in summary.iterrows()]
