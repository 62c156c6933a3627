"""Compare two report (or figure) folders: did a refactor or a speed change keep every output?

    python bench/compare_reports.py BEFORE_DIR AFTER_DIR

Funder pages are compared as markup (parsed, so how it was serialised does not count:
attribute order, entities, whitespace between tags) with the build stamp ("Built 02
December 2026, 00:38 UTC") masked; analyst pages on their outputs only (code cells are masked too, so
a moved import or a reformatted cell does not count); every other file (figures, the
index page apart from its stamp) byte for byte. Logs, the run log, the state file and
executed notebooks (which carry timings) are skipped. Prints each file that differs,
then a count; exits 1 if any differs.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from bs4 import BeautifulSoup

SKIPPED_NAMES = {"run.log", ".state.json"}
STAMPS = (
    re.compile(r"Built \d{2} \w+ \d{4}, \d{2}:\d{2} UTC"),  # report pages
    re.compile(r"Built \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC"),  # the index page
)
#: Code cells in nbconvert's JupyterLab and classic templates.
INPUT_SELECTORS = ".jp-InputArea, .jp-Cell-inputWrapper, .input"


def _unstamped(text: str) -> str:
    for stamp in STAMPS:
        text = stamp.sub("Built <stamp>", text)
    return text


def _canonical(soup: BeautifulSoup) -> str:
    """The page as markup that ignores how it was serialised: attributes in name order,
    entities and self-closing tags as BeautifulSoup writes them, no whitespace-only text
    between tags (outside ``<pre>``), which never renders."""
    for node in soup.find_all(string=True):
        if not node.strip() and node.find_parent("pre") is None:
            node.extract()
    for tag in soup.find_all(True):
        tag.attrs = dict(sorted(tag.attrs.items()))
    return _unstamped(str(soup))


def _outputs_only(text: str) -> str:
    soup = BeautifulSoup(text, "html.parser")
    for element in soup.select(INPUT_SELECTORS):
        element.decompose()
    return _canonical(soup)


def comparable(path: Path, *, analyst: bool) -> str | bytes:
    """What of ``path`` must stay the same."""
    if path.suffix == ".html":
        text = path.read_text(encoding="utf-8")
        return _outputs_only(text) if analyst else _canonical(BeautifulSoup(text, "html.parser"))
    return path.read_bytes()


def outputs(folder: Path) -> list[Path]:
    """The files of ``folder`` compared (relative paths)."""
    return sorted(
        p.relative_to(folder)
        for p in folder.rglob("*")
        if p.is_file()
        and "logs" not in p.relative_to(folder).parts
        and p.name not in SKIPPED_NAMES
        and p.suffix != ".ipynb"
    )


def compare(before: Path, after: Path) -> list[str]:
    """One line per file that is missing, new or different."""
    old, new = outputs(before), outputs(after)
    problems = [f"missing after: {p}" for p in old if p not in new]
    problems += [f"new after: {p}" for p in new if p not in old]
    for rel in (p for p in old if p in new):
        analyst = "analyst" in rel.parts
        if comparable(before / rel, analyst=analyst) != comparable(after / rel, analyst=analyst):
            problems.append(f"differs: {rel}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    args = parser.parse_args(argv)
    problems = compare(args.before, args.after)
    for line in problems:
        print(line)
    total = len(outputs(args.before))
    print(f"{total - len(problems)} of {total} files the same")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
