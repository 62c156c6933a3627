"""Building reports: notebooks run with papermill, exported to HTML, indexed.

``plan`` (what to build, and what is up to date), ``kernels`` (the kernels notebooks
run on), ``export`` (HTML for analysts and funders), ``index`` (the index page) and
``run`` (the batch: :func:`run_reports` is the ``hubspoke report`` command).
"""

from hubspoke.report.export import export_html, funder_notebook
from hubspoke.report.index import index_html
from hubspoke.report.plan import NOTEBOOKS, Job, NotebookSpec, plan_jobs
from hubspoke.report.run import JobResult, execute_job, run_batch, run_reports

__all__ = [
    "NOTEBOOKS",
    "Job",
    "JobResult",
    "NotebookSpec",
    "execute_job",
    "export_html",
    "funder_notebook",
    "index_html",
    "plan_jobs",
    "run_batch",
    "run_reports",
]
