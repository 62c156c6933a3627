"""Building reports: notebooks run with papermill, exported to HTML, indexed."""
