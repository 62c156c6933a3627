"""The index page of a reports folder: every report with its status and links.

Every value on it is escaped, and it carries the reports' Content-Security-Policy.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from hubspoke import SYNTHETIC_NOTICE, __version__
from hubspoke.report.export import CONTENT_SECURITY_POLICY

_INDEX_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:70rem;color:#1b1b1b;padding:0 1rem}
.notice{background:#fff3cd;border:2px solid #b58105;padding:.75rem 1rem;font-weight:600;margin-bottom:1.5rem}
table{border-collapse:collapse;margin:1rem 0}th,td{border:1px solid #bbb;padding:.35rem .6rem;text-align:left}
th{background:#f0f0f0}.ok{color:#135e1f}.failed{color:#a4161a;font-weight:600}.unchanged{color:#135e1f}
.err{font-family:monospace;font-size:.85em;color:#a4161a}small{color:#555}
"""


def _cell_link(result: dict | None) -> str:
    if result is None:
        return "<td>—</td>"
    stem = html.escape(result["stem"])
    status = result["status"]
    if status == "failed":
        return (
            f'<td><span class="failed">failed</span> <a href="analyst/{stem}.ipynb">notebook</a>'
            f'<div class="err">{html.escape(result["error"])}</div></td>'
        )
    label = "ok" if status == "ok" else "ok (unchanged)"
    return (
        f'<td><a href="funder/{stem}.html">report</a> <small>(<a href="analyst/{stem}.html">analyst</a>)</small> '
        f'<span class="{status}">{label}</span></td>'
    )


def index_html(results: Sequence[dict], *, built: str, data_ver: str) -> str:
    """The index page: service reports by service and year, then the cross-site and other reports."""
    by_stem = {r["stem"]: r for r in results}
    service = [r for r in results if r["notebook"] == "service_report"]
    services = sorted({r["parameters"]["service_id"] for r in service})
    years = sorted({int(r["parameters"]["year"]) for r in service})
    rows = []
    for sid in services:
        cells = "".join(_cell_link(by_stem.get(f"service_report_{sid}_{y}")) for y in years)
        rows.append(f"<tr><th>{html.escape(sid)}</th>{cells}</tr>")
    others = [r for r in results if r["notebook"] != "service_report"]
    other_rows = "".join(
        f"<tr><td>{html.escape(r['title'])}</td>{_cell_link(r)}</tr>" for r in others
    )
    failed = sum(r["status"] == "failed" for r in results)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{html.escape(CONTENT_SECURITY_POLICY)}">
<title>Hub and Spoke evaluation reports</title>
<style>{_INDEX_CSS}</style></head><body>
<div class="notice" role="note">{html.escape(SYNTHETIC_NOTICE)}</div>
<h1>Hub and Spoke evaluation: reports</h1>
<p>Built {html.escape(built)} from data version {html.escape(data_ver)} with hubspoke {html.escape(__version__)}.
{len(results)} reports, {failed} failed.</p>
<h2 id="service-reports">Service reports by service and year</h2>
<table><thead><tr><th>Service</th>{"".join(f"<th>{y}</th>" for y in years)}</tr></thead>
<tbody>{"".join(rows)}</tbody></table>
<h2 id="other-reports">Cross-site and programme reports</h2>
<table><thead><tr><th>Report</th><th>Status</th></tr></thead><tbody>{other_rows}</tbody></table>
</body></html>
"""
