"""Attackers stronger than the release promises to resist: how many hidden counts they pin.

The release is protected against what a reader sees: every printed number, every relation
between them, and each hidden count being at least 1 (the test suite's auditor proves that
no hidden count can be pinned). This script reports, as figures rather than as tests,
what two stronger readers could learn from the release ``hubspoke report`` last wrote:

* one who also knows WHICH hidden counts were hidden for being small (1 to the threshold);
* one who knows that, and that every other hidden count is above the threshold.

Neither is in the threat model (a reader cannot tell primary from secondary cells), so
these figures are reported, not promised. It reads ``reports/.release/`` and
``reports/funder/data/`` (run ``make report`` first) and uses the auditor of the test
suite (``tests/release_auditor.py``).

    .venv/bin/python bench/strong_attacker.py [--reports reports]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from hubspoke.analysis.release import RELEASE_FILE, read_release  # noqa: E402
from release_auditor import (  # noqa: E402
    Quantity,
    audit,
    ordered_sources,
    relations_from_release,
    truth_from_release,
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=Path, default=ROOT / "reports")
    args = parser.parse_args()
    release = read_release(args.reports / ".release" / RELEASE_FILE)
    data_dir = args.reports / "funder" / "data"
    if release is None or not data_dir.is_dir():
        print(f"no release or open data under {args.reports}: run `make report` first")
        return 1
    truth = truth_from_release(release)
    known = relations_from_release(release)
    sources = ordered_sources(release, truth)
    primary = {Quantity.like(c) for c in release.primary}
    print(f"Release: {len(release.cells)} cells, {len(release.hidden)} hidden, "
          f"{len(release.primary)} primary (1-{release.threshold})")  # fmt: skip
    attacks = {
        "what a reader sees (the promise)": {},
        "knows which hidden counts are primary": {"primary": primary},
        "knows primaries, and the rest are above the threshold": {
            "primary": primary,
            "others_above_threshold": True,
        },
    }
    print("| Attacker | Hidden counts audited | Pinned exactly | Seconds |")
    print("|---|---:|---:|---:|")
    for name, options in attacks.items():
        started = time.perf_counter()
        result = audit(
            data_dir,
            threshold=int(release.threshold),
            extra_relations=known,
            truth=truth,
            sources=sources,
            **options,
        )
        seconds = time.perf_counter() - started
        print(f"| {name} | {len(result.ranges)} | {len(result.recoverable)} | {seconds:.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
