"""The index pages of a reports folder: the evaluation team's, and the funder folder's own.

``reports/index.html`` (:func:`index_html`) lists every report with its status and
links to the analyst notebooks: it is for the evaluation team only and says so.
``reports/funder/index.html`` (:func:`funder_index_html`, written by
:func:`write_funder_index`) lists the funder reports (programme and cross-site first,
then services) and the open data files, and links to nothing outside ``reports/funder``,
so that folder can be shared as it is.

Every value on either page is escaped, and both carry the reports' Content-Security-Policy.
"""

from __future__ import annotations

import html
import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Final
from urllib.parse import quote

from hubspoke import SYNTHETIC_NOTICE, __version__
from hubspoke.config import SUPPRESSION_SYMBOL, SUPPRESSION_THRESHOLD
from hubspoke.report.export import CONTENT_SECURITY_POLICY, stylesheet
from hubspoke.report.open_data import GUIDANCE_FILE, META_SUFFIX, readable_label

#: The marking of the evaluation team's index (its title and banner).
TEAM_ONLY: Final = "Evaluation team only - not for sharing"
#: Folder of the open data files inside the funder folder.
DATA_FOLDER: Final = "data"
#: A report stem or data file name that can be linked as a file in the same folder.
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*$")

#: The report a funder reads first: listed at the top of the funder index.
FIRST_REPORT: Final = "programme_summary"


def _head(title: str) -> str:
    """The start of a page up to the open ``<main>``: the Content-Security-Policy first in
    ``<head>``, title and the reports' stylesheet, then the notice inside the main landmark.

    The index pages are short (a heading per section, no block to skip), so unlike the
    reports they have no skip link, and every link on them is to a file.
    """
    return f"""<!DOCTYPE html>
<html lang="en"><head>
<meta http-equiv="Content-Security-Policy" content="{html.escape(CONTENT_SECURITY_POLICY)}">
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>{stylesheet()}</style></head>
<body class="hubspoke-page hubspoke-index">
<main>
<div class="notice" role="note">{html.escape(SYNTHETIC_NOTICE)}</div>
"""


#: The end of every page: closes what :func:`_head` opened.
_FOOT: Final = "</main>\n</body></html>\n"


def _href(name: str) -> str:
    """A relative link to a file name, escaped for an attribute."""
    return html.escape(quote(name), quote=True)


def _safe_name(name: object) -> bool:
    """Whether a name is a plain file name in the same folder (no path, no scheme, no ``..``)."""
    return isinstance(name, str) and bool(_SAFE_NAME.match(name)) and ".." not in name


# --------------------------------------------------------------------------- evaluation team
def _cell_link(result: dict | None) -> str:
    """A table cell of the team's index: the report, its analyst version and status, or the error."""
    if result is None:
        return "<td>—</td>"
    stem = html.escape(result["stem"])
    title = html.escape(result.get("title") or result["stem"], quote=True)
    status = result["status"]
    if status == "failed":
        return (
            f'<td><span class="failed">failed</span> <a href="analyst/{stem}.ipynb" '
            f'aria-label="{title}: notebook">notebook</a>'
            f'<div class="err">{html.escape(result["error"])}</div></td>'
        )
    label = "ok" if status == "ok" else "ok (unchanged)"
    return (
        f'<td><a href="funder/{stem}.html" aria-label="{title}: report">report</a> '
        f'<small>(<a href="analyst/{stem}.html" aria-label="{title}: analyst version">analyst</a>)</small> '
        f'<span class="{status}">{label}</span></td>'
    )


def _year_head(years: Sequence[int]) -> str:
    """The header row of a service-by-year grid."""
    cells = "".join(f'<th scope="col">{y}</th>' for y in years)
    return f'<thead><tr><th scope="col">Service</th>{cells}</tr></thead>'


def index_html(results: Sequence[dict], *, built: str, data_ver: str) -> str:
    """The evaluation team's index: service reports by service and year, then the others.

    Marked "evaluation team only": it links the analyst notebooks (full numbers, code)
    and shows errors. The shareable page is the funder folder's own index.
    """
    by_stem = {r["stem"]: r for r in results}
    service = [r for r in results if r["notebook"] == "service_report"]
    services = sorted({r["parameters"]["service_id"] for r in service})
    years = sorted({int(r["parameters"]["year"]) for r in service})
    rows = []
    for sid in services:
        cells = "".join(_cell_link(by_stem.get(f"service_report_{sid}_{y}")) for y in years)
        rows.append(f'<tr><th scope="row">{html.escape(sid)}</th>{cells}</tr>')
    others = [r for r in results if r["notebook"] != "service_report"]
    other_rows = "".join(
        f"<tr><td>{html.escape(r['title'])}</td>{_cell_link(r)}</tr>" for r in others
    )
    failed = sum(r["status"] == "failed" for r in results)
    return f"""{_head(f"Hub and Spoke evaluation reports ({TEAM_ONLY})")}<div class="team-only" role="note">{html.escape(TEAM_ONLY)}</div>
<h1>Hub and Spoke evaluation: reports</h1>
<p><strong>{html.escape(TEAM_ONLY)}.</strong> This page links the analyst notebooks (full numbers and code).
To share reports with funders, share the <a href="funder/index.html">funder folder</a> as it is: it has its own index
and the open data files.</p>
<p>Built {html.escape(built)} from data version {html.escape(data_ver)} with hubspoke {html.escape(__version__)}.
{len(results)} reports, {failed} failed.</p>
<h2 id="service-reports">Service reports by service and year</h2>
<table><caption>Service reports: each service's report for each evaluation year, with its status</caption>
{_year_head(years)}
<tbody>{"".join(rows)}</tbody></table>
<h2 id="other-reports">Cross-site and programme reports</h2>
<table><caption>Cross-site and programme reports, with their status</caption>
<thead><tr><th scope="col">Report</th><th scope="col">Status</th></tr></thead><tbody>{other_rows}</tbody></table>
{_FOOT}"""


# --------------------------------------------------------------------------- funder folder
def funder_reports(results: Sequence[dict]) -> list[dict]:
    """The reports a funder page may list: built (not failed), with a plain file name as stem."""
    return [r for r in results if r.get("status") != "failed" and _safe_name(r.get("stem"))]


def _programme_rank(result: dict) -> int:
    """0 for the report a funder reads first (:data:`FIRST_REPORT`), 1 for any other."""
    return 0 if result.get("notebook") == FIRST_REPORT else 1


def _programme_list(others: Sequence[dict]) -> str:
    """The programme and cross-site reports as a list of links, the programme summary first."""
    ordered = sorted(others, key=_programme_rank)  # stable: the run's order within a rank
    items = "".join(
        f'<li><a href="{_href(r["stem"] + ".html")}">{html.escape(r["title"])}</a>'
        + (" (start here)" if r.get("notebook") == FIRST_REPORT else "")
        + "</li>"
        for r in ordered
    )
    return (
        f'<ul class="hubspoke-links">{items}</ul>'
        if items
        else "<p>No programme report was built.</p>"
    )


def _report_link(result: dict | None) -> str:
    """A table cell linking one funder report (a dash when there is none)."""
    if result is None:
        return "<td>—</td>"
    title = html.escape(result.get("title") or result["stem"], quote=True)
    return f'<td><a href="{_href(result["stem"] + ".html")}" aria-label="{title}">report</a></td>'


def _data_rows(data_files: Sequence[str]) -> tuple[str, bool]:
    """Rows of the open data table (one per data file, with its metadata) and whether there is guidance."""
    names = [n for n in data_files if _safe_name(n)]
    metas = {n for n in names if n.endswith(META_SUFFIX)}
    rows = []
    for name in names:
        if not name.endswith(".csv") or name in metas:
            continue
        stem = name.removesuffix(".csv")
        meta = stem + META_SUFFIX
        meta_cell = (
            f'<a href="{_href(f"{DATA_FOLDER}/{meta}")}">{html.escape(meta)}</a>'
            if meta in metas
            else "—"
        )
        rows.append(
            f'<tr><th scope="row">{html.escape(readable_label(stem))}</th>'
            f'<td><a href="{_href(f"{DATA_FOLDER}/{name}")}">{html.escape(name)}</a></td>'
            f"<td>{meta_cell}</td></tr>"
        )
    return "".join(rows), GUIDANCE_FILE in names


def funder_index_html(
    results: Sequence[dict],
    *,
    built: str,
    data_ver: str,
    data_files: Sequence[str] = (),
    threshold: int = SUPPRESSION_THRESHOLD,
    symbol: str = SUPPRESSION_SYMBOL,
) -> str:
    """The funder folder's index: programme and cross-site reports, service reports, open data.

    Every link is relative and stays inside the funder folder (reports beside this page,
    open data in ``data/``): no analyst notebook, no error text, no failed report.
    The programme reports come first as a list of links, the programme summary at the top
    (:data:`FIRST_REPORT`), the others in the run's order; the service reports as a service-by-year grid.
    ``data_files``: names of the files in ``data/`` (data, metadata and guidance).
    """
    shown = funder_reports(results)
    service = [r for r in shown if r["notebook"] == "service_report"]
    others = [r for r in shown if r["notebook"] != "service_report"]
    by_stem = {r["stem"]: r for r in service}
    services = sorted({str(r["parameters"]["service_id"]) for r in service})
    years = sorted({int(r["parameters"]["year"]) for r in service})
    service_rows = "".join(
        f'<tr><th scope="row">{html.escape(sid)}</th>'
        + "".join(_report_link(by_stem.get(f"service_report_{sid}_{y}")) for y in years)
        + "</tr>"
        for sid in services
    )
    data_rows, has_guidance = _data_rows(data_files)
    guidance = (
        f'<p>Read the <a href="{_href(f"{DATA_FOLDER}/{GUIDANCE_FILE}")}">data guidance</a> first: '
        "what each file counts, its filters and indicators, and the symbols.</p>"
        if has_guidance
        else ""
    )
    data_section = (
        f"""{guidance}
<table><caption>Open data files and their metadata</caption>
<thead><tr><th scope="col">Statistics</th><th scope="col">Data file</th><th scope="col">Metadata</th></tr></thead>
<tbody>{data_rows}</tbody></table>"""
        if data_rows
        else "<p>No open data files in this folder.</p>"
    )
    service_section = (
        f"""<table><caption>Service reports: one for each service and evaluation year</caption>
{_year_head(years)}
<tbody>{service_rows}</tbody></table>"""
        if service_rows
        else "<p>No service report was built.</p>"
    )
    sym = html.escape(symbol)
    return f"""{_head("Hub and Spoke evaluation: reports for funders")}<h1>Hub and Spoke evaluation: reports for funders</h1>
<p>Built {html.escape(built)} from data version {html.escape(data_ver)} with hubspoke {html.escape(__version__)}.</p>
<p>To protect the young people and workers they describe, counts of 1 to {int(threshold)} people, and any number
from which one of them could be worked out, are shown as <strong>{sym}</strong>, in every report and file alike.
<strong>x</strong> means not available and <strong>z</strong> not applicable.</p>
<h2 id="programme-reports">Programme and cross-site reports</h2>
{_programme_list(others)}
<h2 id="service-reports">Service reports by service and year</h2>
{service_section}
<h2 id="open-data">Open data</h2>
{data_section}
{_FOOT}"""


def _umask() -> int:
    """The process's umask (read by setting it and putting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _write_text(path: Path, text: str) -> None:
    """Write a page through a temporary name in the same folder, readable as any other file.

    (``mkstemp`` makes its file private; the funder index is shared with the folder, so it
    gets the mode the user's umask gives a new file, like the reports beside it.)
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            os.fchmod(fh.fileno(), 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_funder_index(
    results: Sequence[dict],
    funder_dir: Path,
    *,
    built: str,
    data_ver: str,
    data_files: Sequence[Path] | None = None,
    threshold: int = SUPPRESSION_THRESHOLD,
    symbol: str = SUPPRESSION_SYMBOL,
) -> Path:
    """Write ``funder_dir/index.html``, listing only reports and data files that are there.

    ``data_files``: the open data files written (e.g. what
    :func:`~hubspoke.report.open_data.write_open_data` returns); by default every file
    in ``funder_dir/data``. A file outside that folder is never linked.
    """
    funder_dir = Path(funder_dir)
    funder_dir.mkdir(parents=True, exist_ok=True)
    data_dir = (funder_dir / DATA_FOLDER).resolve()
    if data_files is None:
        candidates = sorted(data_dir.iterdir()) if data_dir.is_dir() else []
    else:
        candidates = [Path(p) for p in data_files]
    names = [
        p.name
        for p in candidates
        if p.resolve().parent == data_dir and p.is_file() and _safe_name(p.name)
    ]
    present = [
        r
        for r in results
        if _safe_name(r.get("stem")) and (funder_dir / f"{r['stem']}.html").is_file()
    ]
    path = funder_dir / "index.html"
    _write_text(
        path,
        funder_index_html(
            present,
            built=built,
            data_ver=data_ver,
            data_files=names,
            threshold=threshold,
            symbol=symbol,
        ),
    )
    return path
