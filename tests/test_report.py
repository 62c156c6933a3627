"""The batch run: what it plans, what it writes, what funders may see, failures and reruns."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from functools import lru_cache
from pathlib import Path

import nbformat
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from bs4 import BeautifulSoup

from conftest import REPORT_SUBSET, seed_release
from hubspoke import SYNTHETIC_NOTICE
from hubspoke.load import data_fingerprint, service_years
from hubspoke.present.display import FUNDER_TAG
from hubspoke.report.export import export_html, funder_notebook
from hubspoke.report.index import index_html
from hubspoke.report.plan import Job, job_inputs_hash, library_fingerprint, load_state, plan_jobs
from hubspoke.report.run import run_reports, write_atomic
from hubspoke.spec import raw as rs

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
ONE_OFF = ("programme_summary", "realist_synthesis", "coding_quality", "local_context")
STATUS_LINE = re.compile(r"^(ok|failed|unchanged)\s+(\d+\.\d+)s (\S+)")
BUILT_AT = re.compile(r"Built \d+ \w+ \d{4}, \d\d:\d\d UTC")
TEMPORARY = re.compile(r"^\..*(\.tmp|\.running\.ipynb)$")
DATA_URI = re.compile(r"data:[^\"')\s]+")
NETWORK_ATTR = re.compile(r"""\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)
NETWORK_CSS = re.compile(r"""url\(\s*["']?\s*(?:https?:)?//|@import\s+["']?(?:https?:)?//""")


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


def planned_subset(processed: Path, only=REPORT_SUBSET) -> list[Job]:
    return plan_jobs(service_years(processed), only=list(only))


def soup_of(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


@lru_cache(maxsize=32)
def visible_source(text: str) -> str:
    """The HTML without embedded images (whose base64 could spell anything by chance), then its text.

    The text part catches code split up by syntax highlighting (``display</span>.``).
    """
    return DATA_URI.sub("data:", text) + "\n" + BeautifulSoup(text, "html.parser").get_text()


def tokens(text: str) -> set[str]:
    """Every word of the text, alone and joined by hyphens (case refs look like C0001 or REF-0038)."""
    return set(re.findall(r"[A-Za-z0-9]+", text)) | set(
        re.findall(r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)+", text)
    )


def raw_case_refs(raw: Path) -> set[str]:
    """Case references as written in the raw submissions (workbooks and CSV folders)."""
    from hubspoke.io.tabular import read_csv_table, read_xlsx

    sheets = []
    for path in sorted((raw / "submissions").rglob("*")):
        if path.suffix == ".xlsx":
            sheets += read_xlsx(path, raw, rs.SUBMISSION_TABLES).sheets
        elif path.name == "cases.csv":
            sheets.append(read_csv_table(path, raw, rs.CASES))
    return {
        v.strip()
        for sheet in sheets
        if "case_ref" in sheet.frame
        for v in sheet.frame["case_ref"]
        if len(v.strip()) >= 3
    }


def funder_tables(soup: BeautifulSoup) -> list[tuple[str, list[str], list[list[str]]]]:
    """(caption, column names, rows of data cells) of every disclosure-controlled table."""
    found = []
    for table in soup.find_all("table", class_="hubspoke-table"):
        caption = table.find("caption")
        head = [
            c.get_text(strip=True) for c in table.find("thead").find("tr").find_all(["th", "td"])
        ]
        rows = [
            [td.get_text(strip=True) for td in tr.find_all("td")]
            for tr in table.find("tbody").find_all("tr")
        ]
        found.append((caption.get_text(strip=True) if caption else "", head, rows))
    return found


def column_values(head: list[str], rows: list[list[str]], column: str) -> list[str]:
    """Values of a column; data cells line up with the right end of the header (index cells left)."""
    values = []
    for row in rows:
        names = head[len(head) - len(row) :]
        values += [v for name, v in zip(names, row, strict=True) if name == column]
    return values


def statuses(out: Path, jobs: list[Job]) -> dict[str, str]:
    state = load_state(out)
    return {job.stem: state[job.stem]["status"] for job in jobs}


def rewrite_contacts_of_one_row(processed: Path, service_id: str) -> None:
    """Change one young person's contact count for ``service_id``, keeping the file's schema."""
    path = processed / "cases.parquet"
    table = pq.read_table(path)
    frame = table.to_pandas()
    row = frame.index[frame["service_id"] == service_id][0]
    frame.loc[row, "contacts"] = (frame.loc[row, "contacts"] or 0) + 1
    pq.write_table(pa.Table.from_pandas(frame, schema=table.schema, preserve_index=False), path)


def notebook_with_cell(nb, source: str, *, after: int):
    cell = nbformat.v4.new_code_cell(source)
    nb.cells.insert(after + 1, cell)
    return nb


# ---------------------------------------------------------------------------
# Planning (quick)
# ---------------------------------------------------------------------------


def test_plan_has_a_service_report_for_each_of_the_27_service_years(synthetic_processed):
    pairs = service_years(synthetic_processed)
    jobs = [j for j in plan_jobs(pairs) if j.notebook == "service_report"]
    assert len(pairs) == 27
    assert [(j.parameters["service_id"], j.parameters["year"]) for j in jobs] == pairs
    assert all(isinstance(j.parameters["year"], int) for j in jobs)
    assert all(j.stem == f"service_report_{s}_{y}" for j, (s, y) in zip(jobs, pairs, strict=True))


def test_plan_has_cross_site_reports_for_each_year_and_all_years(synthetic_processed):
    jobs = [j for j in plan_jobs(service_years(synthetic_processed)) if j.notebook == "cross_site"]
    assert [j.parameters for j in jobs] == [
        {"year": "2014"},
        {"year": "2015"},
        {"year": "2016"},
        {"year": "all"},
    ]


def test_plan_has_each_one_off_notebook_once_and_nothing_else(synthetic_processed):
    jobs = plan_jobs(service_years(synthetic_processed))
    assert len(jobs) == 27 + 4 + len(ONE_OFF)
    assert [j.notebook for j in jobs if j.notebook in ONE_OFF] == list(ONE_OFF)
    assert len({j.stem for j in jobs}) == len(jobs), "two reports would share a file name"


def test_every_planned_notebook_exists():
    notebooks = {j.notebook for j in plan_jobs([("S01", 2014)])}
    assert notebooks == {p.stem for p in NOTEBOOK_DIR.glob("*.ipynb")}


@pytest.mark.parametrize(
    ("only", "expected"),
    [
        (
            ["S01"],
            ["service_report_S01_2014", "service_report_S01_2015", "service_report_S01_2016"],
        ),
        (
            ["cross_site"],
            ["cross_site_2014", "cross_site_2015", "cross_site_2016", "cross_site_all"],
        ),
        (["service_report_S04_2015"], ["service_report_S04_2015"]),
        (
            ["S04", "local_context"],
            ["service_report_S04_2015", "service_report_S04_2016", "local_context"],
        ),
        (["S99"], []),
    ],
)
def test_only_keeps_the_named_notebooks_services_or_reports(synthetic_processed, only, expected):
    jobs = plan_jobs(service_years(synthetic_processed), only=only)
    assert [j.stem for j in jobs] == expected


def test_only_matching_nothing_is_refused_before_any_kernel_starts(built_reports_settings_free):
    from hubspoke.errors import ReportError

    settings, out = built_reports_settings_free
    with pytest.raises(ReportError, match="nothing to report"):
        run_reports(out=out, only=["S99"], settings=settings, progress=False)
    assert not (out / "index.html").exists()


@pytest.fixture
def built_reports_settings_free(synthetic_raw, synthetic_processed, tmp_path):
    """Settings on the synthetic data with every output in a fresh temporary folder."""
    from hubspoke.config import get_settings

    settings = get_settings().with_paths(
        raw_dir=synthetic_raw,
        processed_dir=synthetic_processed,
        figures_dir=tmp_path / "figures",
        reports_dir=tmp_path / "reports",
    )
    return settings, tmp_path / "reports"


# ---------------------------------------------------------------------------
# Incremental fingerprints (quick)
# ---------------------------------------------------------------------------


def test_changing_one_services_rows_changes_only_its_reports_and_the_cross_site_ones(
    synthetic_processed, tmp_path
):
    changed = tmp_path / "processed"
    shutil.copytree(synthetic_processed, changed)
    rewrite_contacts_of_one_row(changed, "S01")
    library = library_fingerprint()
    rebuilt = set()
    for job in plan_jobs(service_years(synthetic_processed)):
        notebook = NOTEBOOK_DIR / f"{job.notebook}.ipynb"
        before, after = (
            job_inputs_hash(job, notebook_path=notebook, processed_dir=p, library=library)
            for p in (synthetic_processed, changed)
        )
        if before != after:
            rebuilt.add(job.stem)
    service_reports = {s for s in rebuilt if s.startswith("service_report_")}
    assert service_reports == {
        "service_report_S01_2014",
        "service_report_S01_2015",
        "service_report_S01_2016",
    }
    others = {
        j.stem
        for j in plan_jobs(service_years(synthetic_processed))
        if j.notebook != "service_report"
    }
    assert others <= rebuilt


def test_service_fingerprint_ignores_other_services_rows(synthetic_processed, tmp_path):
    changed = tmp_path / "processed"
    shutil.copytree(synthetic_processed, changed)
    rewrite_contacts_of_one_row(changed, "S01")
    assert data_fingerprint(changed, service_id="S04") == data_fingerprint(
        synthetic_processed, service_id="S04"
    )
    assert data_fingerprint(changed, service_id="S01") != data_fingerprint(
        synthetic_processed, service_id="S01"
    )
    assert data_fingerprint(changed) != data_fingerprint(synthetic_processed)


def test_parameters_and_notebook_are_part_of_the_inputs(synthetic_processed, tmp_path):
    library = library_fingerprint()
    notebook = NOTEBOOK_DIR / "service_report.ipynb"
    job = Job("service_report", "t", {"service_id": "S01", "year": 2014}, scope_service="S01")
    other = Job("service_report", "t", {"service_id": "S01", "year": 2015}, scope_service="S01")
    edited = tmp_path / "service_report.ipynb"
    edited.write_bytes(notebook.read_bytes() + b"\n")

    def inputs(j, nb=notebook):
        return job_inputs_hash(
            j, notebook_path=nb, processed_dir=synthetic_processed, library=library
        )

    assert inputs(job) == inputs(job)
    assert inputs(job) != inputs(other)
    assert inputs(job) != inputs(job, edited)
    assert job_inputs_hash(
        job, notebook_path=notebook, processed_dir=synthetic_processed, library="x"
    ) != inputs(job)


# ---------------------------------------------------------------------------
# Whitelist export, atomic writes, index (quick, no kernel)
# ---------------------------------------------------------------------------


def executed_notebook():
    """A small notebook as papermill leaves it, with one output of each kind."""
    v4 = nbformat.v4
    params = v4.new_code_cell('service_id = "S01"', metadata={"tags": ["injected-parameters"]})
    code = v4.new_code_cell("secret_analysis_code()")
    code.outputs = [
        v4.new_output(
            "display_data", {"text/html": "<p>FOR-FUNDERS</p>"}, metadata={"tags": [FUNDER_TAG]}
        ),
        v4.new_output(
            "display_data", {"text/html": "<p>ANALYST-ONLY</p>"}, metadata={"tags": ["analyst"]}
        ),
        v4.new_output("display_data", {"text/plain": "UNTAGGED-OUTPUT"}),
        v4.new_output("stream", name="stdout", text="STREAM-TEXT\n"),
    ]
    silent = v4.new_code_cell("import hubspoke")
    failing = v4.new_code_cell("boom()")
    failing.outputs = [
        v4.new_output("error", ename="ValueError", evalue="ERROR-TEXT", traceback=[])
    ]
    words = v4.new_markdown_cell("Words for a funder.")
    removed = v4.new_markdown_cell("REMOVED-MARKDOWN", metadata={"tags": ["remove"]})
    nb = v4.new_notebook(cells=[removed, params, silent, code, failing, words])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nb


def test_funder_notebook_keeps_only_markdown_and_funder_outputs():
    nb = funder_notebook(executed_notebook())
    assert [c.cell_type for c in nb.cells] == ["code", "markdown"]
    (code, words) = nb.cells
    assert code.source == ""
    assert [o["data"] for o in code.outputs] == [{"text/html": "<p>FOR-FUNDERS</p>"}]
    assert words.source == "Words for a funder."


def test_funder_notebook_leaves_the_executed_notebook_alone():
    nb = executed_notebook()
    funder_notebook(nb)
    assert len(nb.cells) == 6
    assert len(nb.cells[3].outputs) == 4


def test_funder_html_export_has_no_code_and_says_who_it_is_for():
    page = export_html(executed_notebook(), audience="funder", title="Service report: S01, 2014")
    for hidden in (
        "secret_analysis_code",
        "service_id = ",
        "ANALYST-ONLY",
        "UNTAGGED-OUTPUT",
        "STREAM-TEXT",
        "ERROR-TEXT",
        "REMOVED-MARKDOWN",
        "import hubspoke",
    ):
        assert hidden not in page, hidden
    assert "FOR-FUNDERS" in page and "Words for a funder." in page
    assert "Version for: funders" in page
    assert "Service report: S01, 2014" in soup_of_text(page).title.get_text()
    assert not NETWORK_ATTR.search(page)


def test_analyst_html_export_keeps_code_but_not_the_injected_parameters():
    page = export_html(executed_notebook(), audience="analyst", title="t")
    assert "secret_analysis_code" in page and "ANALYST-ONLY" in page
    assert "service_id = " not in page and "REMOVED-MARKDOWN" not in page


@pytest.mark.parametrize("audience", ["funder", "analyst"])
def test_an_invalid_notebook_is_still_refused_by_the_export(audience):
    """The export checks the notebook once, after all its steps (not after each): still checked."""
    nb = executed_notebook()
    shown = {"output_type": "display_data", "metadata": {"tags": [FUNDER_TAG]}}  # lacks "data"
    nb.cells[3].outputs.append(nbformat.from_dict(shown))
    with pytest.raises(nbformat.ValidationError):
        export_html(nb, audience=audience, title="t")


@lru_cache(maxsize=32)
def soup_of_text(text: str) -> BeautifulSoup:
    """Parsed HTML (cached: several tests read the same pages; never modify the result)."""
    return BeautifulSoup(text, "html.parser")


def test_write_atomic_replaces_the_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "sub" / "report.html"
    write_atomic(target, "first")
    write_atomic(target, b"second")
    assert target.read_text() == "second"
    assert [p.name for p in target.parent.iterdir()] == ["report.html"]


def test_index_marks_a_failed_report_with_its_error_and_links_its_notebook():
    results = [
        {
            "stem": "service_report_S01_2014",
            "notebook": "service_report",
            "title": "Service report: S01, 2014",
            "parameters": {"service_id": "S01", "year": 2014},
            "status": "ok",
            "error": "",
        },
        {
            "stem": "local_context",
            "notebook": "local_context",
            "title": "Local context",
            "parameters": {},
            "status": "failed",
            "error": "RuntimeError: <broken> & gone",
        },
    ]
    soup = soup_of_text(index_html(results, built="today", data_ver="abc"))
    row = next(tr for tr in soup.find_all("tr") if "Local context" in tr.get_text())
    assert row.find(class_="failed")
    assert "RuntimeError: <broken> & gone" in row.get_text()
    assert [a["href"] for a in row.find_all("a")] == ["analyst/local_context.ipynb"]
    assert SYNTHETIC_NOTICE in soup.get_text()


# ---------------------------------------------------------------------------
# The shared batch run (slow)
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def funder_pages(built_reports) -> dict[str, str]:
    return {
        p.stem: p.read_text(encoding="utf-8")
        for p in sorted((built_reports.out / "funder").glob("*.html"))
        if p.name != "index.html"  # the funder folder's own index, not a report
    }


@pytest.mark.slow
def test_batch_run_exits_zero(built_reports):
    assert built_reports.exit_code == 0, (built_reports.out / "run.log").read_text()


@pytest.mark.slow
def test_batch_writes_a_funder_page_and_an_analyst_notebook_for_every_report(
    built_reports, synthetic_processed
):
    out = built_reports.out
    jobs = planned_subset(synthetic_processed)
    assert len(jobs) == 13
    for job in jobs:
        assert (out / "funder" / f"{job.stem}.html").is_file(), job.stem
        assert (out / "analyst" / f"{job.stem}.html").is_file(), job.stem
        nb = nbformat.read(out / "analyst" / f"{job.stem}.ipynb", as_version=4)
        assert any(c.get("outputs") for c in nb.cells), f"{job.stem} has no outputs"
    assert {p.stem for p in (out / "funder").glob("*.html")} - {"index"} == {j.stem for j in jobs}


@pytest.mark.slow
def test_analyst_notebook_records_the_parameters_it_ran_with(built_reports):
    nb = nbformat.read(
        built_reports.out / "analyst" / "service_report_S04_2015.ipynb", as_version=4
    )
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1
    assert 'service_id = "S04"' in injected[0].source and "year = 2015" in injected[0].source


@pytest.mark.slow
def test_batch_leaves_no_temporary_files(built_reports):
    left = [p for p in built_reports.out.rglob("*") if TEMPORARY.match(p.name)]
    assert left == []


@pytest.mark.slow
def test_index_links_every_service_report_by_service_and_year_with_its_status(
    built_reports, synthetic_processed
):
    soup = soup_of(built_reports.out / "index.html")
    table = soup.find(id="service-reports").find_next("table")
    years = [th.get_text(strip=True) for th in table.find("thead").find_all("th")][1:]
    cells = {}
    for tr in table.find("tbody").find_all("tr"):
        sid = tr.find("th").get_text(strip=True)
        cells.update({(sid, int(y)): td for y, td in zip(years, tr.find_all("td"), strict=True)})
    service_jobs = [
        j for j in planned_subset(synthetic_processed) if j.notebook == "service_report"
    ]
    assert {(j.parameters["service_id"], j.parameters["year"]) for j in service_jobs} <= set(cells)
    for job in service_jobs:
        td = cells[(job.parameters["service_id"], job.parameters["year"])]
        hrefs = [a["href"] for a in td.find_all("a")]
        assert f"funder/{job.stem}.html" in hrefs
        assert f"analyst/{job.stem}.html" in hrefs
        assert td.find(class_="ok") and "ok" in td.get_text()
    for href in [a["href"] for a in table.find_all("a")]:
        assert (built_reports.out / href).is_file(), href


@pytest.mark.slow
def test_index_links_every_cross_site_and_programme_report_with_its_status(
    built_reports, synthetic_processed
):
    soup = soup_of(built_reports.out / "index.html")
    table = soup.find(id="other-reports").find_next("table")
    rows = {tr.find("td").get_text(strip=True): tr for tr in table.find("tbody").find_all("tr")}
    for job in planned_subset(synthetic_processed):
        if job.notebook == "service_report":
            continue
        row = rows[job.title]
        assert f"funder/{job.stem}.html" in [a["href"] for a in row.find_all("a")]
        assert row.find(class_="ok"), job.stem
    assert SYNTHETIC_NOTICE in soup.get_text()


@pytest.mark.slow
def test_run_log_names_every_report_with_its_time(built_reports, synthetic_processed):
    log = (built_reports.out / "run.log").read_text(encoding="utf-8")
    timed = {m.group(3): float(m.group(2)) for m in map(STATUS_LINE.match, log.splitlines()) if m}
    for job in planned_subset(synthetic_processed):
        assert job.stem in timed, f"{job.stem} missing from run.log"
        assert timed[job.stem] > 0
    assert "0 failed" in log


@pytest.mark.slow
def test_funder_pages_hold_no_code(funder_pages):
    for stem, page in funder_pages.items():
        soup = soup_of_text(page)
        for cell in soup.find_all(class_="jp-CodeCell"):
            assert not cell.find(class_="jp-InputArea"), f"{stem}: a code cell shows its input"
            assert not cell.find(class_=re.compile("highlight|CodeMirror")), stem
        text = visible_source(page)
        for code in (
            "service_id = ",
            "year = ",
            "import hubspoke",
            "from hubspoke",
            "display.",
            "load.check_",
            "Traceback",
        ):
            assert code not in text, f"{stem} holds code: {code!r}"


@pytest.mark.slow
def test_funder_pages_hold_no_pseudonym(funder_pages, synthetic_processed):
    ids = set(
        pd.read_parquet(synthetic_processed / "cases.parquet")["young_person_id"]
        .dropna()
        .astype(str)
    )
    assert ids
    for stem, page in funder_pages.items():
        text = visible_source(page)
        leaked = sorted(i for i in ids if i in text)
        assert not leaked, f"{stem} shows pseudonyms {leaked[:3]}"


@pytest.mark.slow
def test_funder_pages_hold_no_raw_case_reference(funder_pages, synthetic_raw):
    refs = raw_case_refs(synthetic_raw)
    assert len(refs) > 100, "the test needs case references to look for"
    for stem, page in funder_pages.items():
        leaked = sorted(refs & tokens(visible_source(page)))
        assert not leaked, f"{stem} shows case references {leaked[:3]}"


@pytest.mark.slow
def test_funder_pages_request_nothing_from_another_host(funder_pages):
    for stem, page in funder_pages.items():
        soup = soup_of_text(page)
        for tag in soup.find_all(src=True) + soup.find_all(href=True):
            for attr in ("src", "href"):
                value = (tag.get(attr) or "").strip().lower()
                assert not value.startswith(("http://", "https://", "//")), (
                    f"{stem}: {attr}={value}"
                )
        assert not NETWORK_ATTR.search(page), stem
        assert not NETWORK_CSS.search(page), f"{stem} loads a stylesheet or font from another host"


@pytest.mark.slow
def test_funder_pages_show_the_synthetic_data_notice(funder_pages):
    for stem, page in funder_pages.items():
        assert SYNTHETIC_NOTICE in soup_of_text(page).get_text(), stem


@pytest.mark.slow
def test_service_report_pages_are_titled_with_service_and_year(funder_pages, synthetic_processed):
    for job in planned_subset(synthetic_processed, only=("S01", "S04")):
        soup = soup_of_text(funder_pages[job.stem])
        sid, year = job.parameters["service_id"], str(job.parameters["year"])
        for heading in (soup.title.get_text(), soup.find("h1").get_text()):
            assert sid in heading and year in heading, f"{job.stem}: {heading!r}"


@pytest.mark.slow
def test_every_report_has_a_title_contents_and_build_details(funder_pages):
    for stem, page in funder_pages.items():
        soup = soup_of_text(page)
        assert soup.find("h1") and soup.find("h1").get_text(strip=True), stem
        contents = soup.find("nav", attrs={"aria-label": "Contents"})
        assert contents and contents.find_all("a"), f"{stem} has no contents list"
        for link in contents.find_all("a"):
            assert soup.find(id=link["href"].lstrip("#")), f"{stem}: {link['href']} goes nowhere"
        built = soup.find(class_="hubspoke-built")
        assert built and "data version" in built.get_text(), stem


@pytest.mark.slow
def test_every_image_has_alt_text_and_is_embedded(funder_pages):
    images = 0
    for stem, page in funder_pages.items():
        for img in soup_of_text(page).find_all("img"):
            images += 1
            assert (img.get("alt") or "").strip(), f"{stem}: an image has no alt text"
            assert img["src"].startswith("data:image/"), f"{stem}: image not embedded"
    assert images > 0


@pytest.mark.slow
def test_funder_tables_never_show_a_count_of_one_to_five(funder_pages):
    small = {"1", "2", "3", "4", "5"}
    checked = set()
    for stem, page in funder_pages.items():
        if not stem.startswith("service_report_"):
            continue
        for caption, head, rows in funder_tables(soup_of_text(page)):
            if caption == "Referrals by source" or caption.startswith("Young people supported by"):
                checked.add(caption)
                counts = [h for h in head[1:] if "%" not in h]
                assert counts, f"{stem}: {caption} has no count column"
                for column in counts:
                    shown = sorted(set(column_values(head, rows, column)) & small)
                    assert not shown, f"{stem}: {caption!r} shows {column} = {shown}"
    assert "Referrals by source" in checked
    assert any(c.startswith("Young people supported by") for c in checked)


# ---------------------------------------------------------------------------
# Failure isolation and incremental reruns (slow, their own small batches)
# ---------------------------------------------------------------------------


@pytest.mark.slow
def test_a_broken_notebook_fails_alone_and_is_reported(built_reports, tmp_path, capsys):
    notebooks = tmp_path / "notebooks"
    shutil.copytree(built_reports.settings.notebooks_dir, notebooks)
    path = notebooks / "local_context.ipynb"
    nb = nbformat.read(path, as_version=4)
    header = next(i for i, c in enumerate(nb.cells) if "display.header(" in c.source)
    nbformat.write(
        notebook_with_cell(nb, 'raise RuntimeError("deliberately broken")', after=header), path
    )
    out = tmp_path / "reports"
    seed_release(built_reports, out)
    settings = built_reports.settings.with_paths(
        notebooks_dir=notebooks, reports_dir=out, figures_dir=tmp_path / "figures"
    )

    code = run_reports(
        settings=settings, only=["local_context", "coding_quality"], jobs=2, progress=False
    )

    printed = capsys.readouterr().out
    assert code != 0
    assert "FAILED local_context" in printed
    assert (out / "funder" / "coding_quality.html").is_file(), "the other report was not built"
    assert not (out / "funder" / "local_context.html").exists()
    kept = nbformat.read(out / "analyst" / "local_context.ipynb", as_version=4)
    errors = [o for c in kept.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert [e.evalue for e in errors] == ["deliberately broken"]
    index = soup_of(out / "index.html")
    row = next(
        tr
        for tr in index.find_all("tr")
        if tr.find("td") and tr.find("td").get_text() == "Local context"
    )
    assert row.find(class_="failed")
    assert "RuntimeError: deliberately broken" in row.get_text()
    assert "analyst/local_context.ipynb" in [a["href"] for a in row.find_all("a")]
    log = (out / "run.log").read_text(encoding="utf-8")
    assert re.search(r"^failed\s+\d+\.\d+s local_context .*deliberately broken", log, re.MULTILINE)
    assert "FAILED local_context: RuntimeError: deliberately broken" in log
    assert [p for p in out.rglob("*") if TEMPORARY.match(p.name)] == []


@pytest.mark.slow
def test_rerun_with_no_change_rebuilds_nothing_and_is_quick(
    built_reports, synthetic_processed, tmp_path
):
    out = tmp_path / "reports"
    shutil.copytree(built_reports.out, out)
    jobs = planned_subset(synthetic_processed)
    started = time.perf_counter()
    code = run_reports(
        out=out,
        only=list(REPORT_SUBSET),
        jobs=2,
        settings=built_reports.settings.with_paths(reports_dir=out),
        progress=False,
    )
    seconds = time.perf_counter() - started
    assert code == 0
    assert set(statuses(out, jobs).values()) == {"unchanged"}
    assert seconds < 30
    last_run = (out / "run.log").read_text(encoding="utf-8").split("== ")[-1]
    assert f"{len(jobs)} reports, 0 to build, {len(jobs)} unchanged" in last_run
    assert "ok (unchanged)" in (out / "index.html").read_text(encoding="utf-8")


@pytest.mark.slow
def test_rerun_after_one_service_changes_rebuilds_only_its_reports_and_cross_site(
    built_reports, synthetic_processed, tmp_path
):
    out, processed = tmp_path / "reports", tmp_path / "processed"
    shutil.copytree(built_reports.out, out)
    shutil.copytree(synthetic_processed, processed)
    rewrite_contacts_of_one_row(processed, "S01")
    # its own reports folder: the release of the changed data must not replace the one
    # the shared batch run (built_reports) keeps for later tests
    settings = built_reports.settings.with_paths(
        processed_dir=processed, reports_dir=out, figures_dir=tmp_path / "figures"
    )
    only = [
        "service_report_S01_2014",
        "service_report_S04_2015",
        "service_report_S04_2016",
        "cross_site_all",
    ]

    code = run_reports(out=out, only=only, jobs=2, settings=settings, progress=False)

    assert code == 0
    assert statuses(out, planned_subset(processed, only=only)) == {
        "service_report_S01_2014": "ok",
        "service_report_S04_2015": "unchanged",
        "service_report_S04_2016": "unchanged",
        "cross_site_all": "ok",
    }


@pytest.mark.slow
def test_reports_built_on_reused_kernels_equal_reports_built_on_fresh_ones(built_reports, tmp_path):
    # The batch reuses a kernel per worker; every report must come out exactly as it does
    # from a kernel of its own (the later ones in built_reports ran on a reused kernel).
    out = tmp_path / "fresh"
    seed_release(built_reports, out)
    settings = built_reports.settings.with_paths(reports_dir=out, figures_dir=tmp_path / "figures")
    only = ["S04", "cross_site_all", "coding_quality"]

    code = run_reports(
        out=out, only=only, jobs=1, settings=settings, progress=False, fresh_kernels=True
    )

    assert code == 0
    built = sorted(p.relative_to(out) for p in out.glob("*/*.html") if p.name != "index.html")
    assert len(built) == 2 * 4
    for rel in built:
        fresh, reused = ((d / rel).read_text() for d in (out, built_reports.out))
        assert BUILT_AT.sub("", fresh) == BUILT_AT.sub("", reused), rel


# ---------------------------------------------------------------------------
# Parameter validation through papermill (slow: one short kernel each)
# ---------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    ("notebook", "parameters", "message"),
    [
        (
            "service_report",
            {"service_id": "S99", "year": 2015},
            r"unknown service \(allowed: S01, S02,.*S16\)",
        ),
        (
            "service_report",
            {"service_id": "S04", "year": 2014},
            r"no data for this year \(allowed: 2015, 2016\)",
        ),
        (
            "service_report",
            {"service_id": "S01", "year": "2015"},
            r"whole number.*found \"'2015' \(str\)\"",
        ),
        ("cross_site", {"year": "1999"}, r"\(allowed: all, 2014, 2015, 2016\)"),
    ],
    ids=["unknown-service", "year-without-data", "year-as-text", "cross-site-year"],
)
def test_bad_parameters_stop_the_notebook_with_a_parameter_error(
    synthetic_processed, tmp_path, monkeypatch, notebook, parameters, message
):
    import papermill

    monkeypatch.setenv("HUBSPOKE_PROCESSED_DIR", str(synthetic_processed))
    monkeypatch.setenv("HUBSPOKE_FIGURES_DIR", str(tmp_path / "figures"))
    monkeypatch.setenv("MPLBACKEND", "agg")
    with pytest.raises(papermill.PapermillExecutionError) as caught:
        papermill.execute_notebook(
            str(NOTEBOOK_DIR / f"{notebook}.ipynb"),
            str(tmp_path / "out.ipynb"),
            parameters=parameters,
            kernel_name="python3",
            progress_bar=False,
            cwd=str(NOTEBOOK_DIR),
        )
    assert caught.value.ename == "ParameterError"
    assert re.search(message, caught.value.evalue), caught.value.evalue


def test_a_report_missing_on_disk_is_rebuilt_even_if_its_inputs_are_unchanged(tmp_path):
    from hubspoke.report.plan import _is_up_to_date

    job = Job("local_context", "Local context")
    previous = {"status": "ok", "inputs_hash": "h"}
    for name in ("funder/local_context.html", "analyst/local_context.ipynb"):
        write_atomic(tmp_path / name, "x")
    assert _is_up_to_date(job, previous, "h", tmp_path)
    assert not _is_up_to_date(job, previous, "other", tmp_path)
    assert not _is_up_to_date(job, {**previous, "status": "failed"}, "h", tmp_path)
    (tmp_path / "funder" / "local_context.html").unlink()  # an interrupted run never wrote it
    assert not _is_up_to_date(job, previous, "h", tmp_path)


def test_an_interrupted_run_leaves_no_temporary_files_behind(tmp_path):
    """Temporary files of a killed run are swept before the next run builds anything."""
    from hubspoke.report.run import sweep_temporary_files

    (tmp_path / "analyst").mkdir()
    (tmp_path / "funder").mkdir()
    stale = [
        tmp_path / "analyst" / ".service_report_S01_2014.123.running.ipynb",
        tmp_path / "funder" / ".service_report_S01_2014.html.123.tmp",
        tmp_path / ".index.html.9.tmp",
    ]
    kept = tmp_path / "funder" / "service_report_S01_2014.html"
    for path in [*stale, kept]:
        path.write_text("x")
    assert sorted(sweep_temporary_files(tmp_path)) == sorted(stale)
    assert not any(p.exists() for p in stale)
    assert kept.exists()


def test_kernels_use_unix_sockets_with_a_prefix_of_their_own():
    """Kernels talk over IPC (no TCP port), each on its own socket prefix so parallel kernels never cross."""
    from hubspoke.report.kernels import local_transport_kernel_manager

    manager_class = local_transport_kernel_manager()
    first, second = manager_class(kernel_name="python3"), manager_class(kernel_name="python3")
    assert first.transport == second.transport == "ipc"
    assert first.ip != second.ip
    assert first.ip.startswith("/")  # an absolute socket path, not a host address


@pytest.mark.slow
def test_every_built_page_and_the_index_carry_the_csp_and_no_script(built_reports):
    """A second wall behind escaping: every page of the batch forbids script and remote loads."""
    from hubspoke.report.export import CONTENT_SECURITY_POLICY

    pages = sorted((built_reports.out / "funder").glob("*.html"))
    pages += sorted((built_reports.out / "analyst").glob("*.html"))
    pages.append(built_reports.out / "index.html")
    assert len(pages) > 2
    for path in pages:
        soup = soup_of(path)
        metas = soup.find_all("meta", attrs={"http-equiv": "Content-Security-Policy"})
        assert [m["content"] for m in metas] == [CONTENT_SECURITY_POLICY], path.name
        assert metas[0].find_parent("head") is not None, path.name
        assert soup.find_all("script") == [], path.name
        policy = dict(p.split(None, 1) for p in CONTENT_SECURITY_POLICY.split("; "))
        assert policy["default-src"] == policy["script-src"] == "'none'"


def test_service_fingerprint_is_the_digest_of_a_filtered_read(synthetic_processed):
    """Each table read once for every service gives what reading it per service gave."""
    import hashlib

    import pyarrow.parquet as pq

    from hubspoke.io.parquet import snapshot

    def filtered(service_id: str) -> str:
        digest = hashlib.sha256()
        for path in sorted(snapshot(synthetic_processed).glob("*.parquet")):
            if "service_id" in pq.read_schema(path).names:
                frame = pd.read_parquet(path, filters=[("service_id", "==", service_id)])
                rows = pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()
                part = hashlib.sha256(rows).hexdigest()
            else:
                part = hashlib.sha256(path.read_bytes()).hexdigest()
            digest.update(path.name.encode() + part.encode())
        return digest.hexdigest()

    for service_id in ("S01", "S07", "S16", "S99"):
        assert data_fingerprint(synthetic_processed, service_id=service_id) == filtered(service_id)


def test_the_longest_reports_start_first():
    """Reports start longest first (last run's time, else the average of their notebook,
    else reports over every service before per-service ones), so no worker ends alone."""
    from hubspoke.report.run import longest_first

    service = [
        Job(
            "service_report",
            f"s{i}",
            {"service_id": f"S0{i}", "year": 2014},
            scope_service=f"S0{i}",
        )
        for i in (1, 2, 3)
    ]
    everyone = [Job("programme_summary", "p"), Job("cross_site", "c", {"year": "all"})]
    to_run = [(job, "hash") for job in [everyone[0], *service, everyone[1]]]
    first_run = [job.stem for job, _ in longest_first(to_run, {})]
    assert first_run == ["programme_summary", "cross_site_all", *[j.stem for j in service]]
    state = {
        service[1].stem: {"status": "ok", "seconds": 4.0, "notebook": "service_report"},
        service[2].stem: {"status": "ok", "seconds": 2.0, "notebook": "service_report"},
        "cross_site_2014": {"status": "ok", "seconds": 3.5, "notebook": "cross_site"},
        "programme_summary": {"status": "failed", "seconds": 9.0, "notebook": "programme_summary"},
    }
    again = [job.stem for job, _ in longest_first(to_run, state)]
    assert again == [
        service[1].stem,  # 4.0 s last time
        "cross_site_all",  # never built: its notebook's average, 3.5 s
        service[0].stem,  # never built: the service reports' average, 3.0 s
        service[2].stem,  # 2.0 s
        "programme_summary",  # failed last time: no time known
    ]
    assert sorted(longest_first(to_run, state), key=to_run.index) == to_run


def test_the_report_package_loads_without_the_plotting_stack():
    """A report run with nothing to build starts quickly: importing the report package (the
    command, the export, the workers' code) does not import matplotlib, which only the
    notebooks' kernels draw with (about half a second of every run)."""
    code = "import sys, hubspoke.cli, hubspoke.report; print(sorted(m for m in sys.modules if m.split('.')[0] in {'matplotlib', 'IPython'}))"
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "[]"
