"""Calibration of the group comparisons: false positives with no true difference, and power.

For each seed the generator draws the programme (services, their model variants and
their young people) with NO true difference between model variants
(``variant_effect=0``), then with the designed differences (``variant_effect=1``: -0.08
to +0.08 on the chance of risk reduction) and with three times those (``3``: -0.24 to
+0.24). Each data set is compared by model variant, risk reduced / risk assessed over
all years, in two ways:

- clustered: :func:`hubspoke.analysis.cross_site.groups.compare_groups`, the service as
  the unit (weighted analysis of variance of the service proportions across the groups
  with enough services; intervals from the services' spread);
- naive: a chi-square test of independence of the pooled young-person counts of the same
  groups, as if young people in different services were independent (what the module
  did before issue 16).

It prints how often each calls a difference at 5% (with a 95% Wilson interval over the
seeds, which are independent) as a markdown table, how often each group's 95% interval
(clustered, and a young-person Wilson interval) covers the programme-wide proportion
when there is no difference, and the time it took.

Only the case rows are generated (the generator's own ``service_cases`` with the same
seeds as ``hubspoke synth``, risk levels read on each service's tool as cleaning reads
them), not the raw files: writing the messy files and cleaning them takes about 16 s
per data set (9 s ``hubspoke synth`` + 7 s ``hubspoke clean`` on 2 cores), so 40 seeds x
3 effects would take over half an hour. ``--check-clean`` runs the full raw-files +
cleaning path once (default seed, no variant difference) and compares the counts.

    .venv/bin/python bench/calibration.py [--seeds 40] [--services 16 30] [--check-clean]

By default it only prints; ``--write`` puts the section in ``bench/RESULTS.md`` under
"## Calibration of group comparisons" (replacing that section).
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from io import StringIO
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import hubspoke_env, remove_scratch, replace_section, run, scratch, tool  # noqa: E402

from hubspoke.analysis.cross_site.groups import (  # noqa: E402
    MIN_GROUP_SERVICES,
    compare_groups,
    wilson_interval,
)
from hubspoke.spec import vocab  # noqa: E402
from hubspoke.synth import generate  # noqa: E402
from hubspoke.synth.reference import make_reference  # noqa: E402
from hubspoke.synth.seeds import part_seed  # noqa: E402
from hubspoke.synth.submissions import (  # noqa: E402
    make_truth,
    service_cases,
    service_years,
    variant_effects,
)

#: Factors on the designed differences between model variants: none, as designed, 3x.
EFFECTS = (0.0, 1.0, 3.0)
#: Significance level of both tests.
ALPHA = 0.05
SECTION = "## Calibration of group comparisons"
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


# --------------------------------------------------------------------------- data
def _levels(values: pd.Series, tool: str) -> pd.Series:
    """Risk values on a service's own tool -> position on the harmonised scale (NaN if missing)."""
    code = {level: i for i, level in enumerate(vocab.RISK_SCALE)}
    table = {value: code[level] for value, level in vocab.RISK_TOOLS[tool].items()}
    return pd.to_numeric(values.astype("string").map(table), errors="coerce").astype(float)


def service_counts(seed: int, *, n_services: int, variant_effect: float) -> pd.DataFrame:
    """Per service: model variant, risk reduced and risk assessed over all years (true case rows).

    The same seeds as ``hubspoke synth --seed`` (reference, truth, each service's case
    stream), so the rows are those the raw files are written from, before the mess.
    """
    services, spokes = make_reference(n_services, seed=part_seed(seed, "reference"))
    sub = part_seed(seed, "submissions")
    truth = make_truth(
        services, np.random.default_rng(part_seed(sub, "truth")), variant_effect=variant_effect
    ).set_index("service_id", drop=False)
    by_id = services.set_index("service_id", drop=False)
    years_of: dict[str, list[int]] = {}
    for sid, year in service_years(services):
        years_of.setdefault(sid, []).append(year)
    rows = []
    for sid, years in years_of.items():
        svc = by_id.loc[sid]
        rng = np.random.default_rng(part_seed(sub, f"{sid}:service"))
        frames = service_cases(
            svc, spokes[spokes["service_id"] == sid], truth.loc[sid], years, rng, 1.0
        )
        cases = pd.concat(frames.values(), ignore_index=True)
        start = _levels(cases["risk_at_referral"], str(svc["risk_tool"]))
        latest = _levels(cases["risk_latest"], str(svc["risk_tool"]))
        both = start.notna() & latest.notna()
        rows.append(
            {
                "service_id": sid,
                "model_variant": str(svc["model_variant"]),
                "risk_reduced": int((both & latest.lt(start)).sum()),
                "risk_assessed": int(both.sum()),
            }
        )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- tests
def both_tests(rows: pd.DataFrame, *, min_services: int) -> tuple[float, float]:
    """(clustered p, naive p) by model variant over the same comparable groups; NaN if no test."""
    groups = compare_groups(
        rows,
        by="model_variant",
        numerator="risk_reduced",
        denominator="risk_assessed",
        min_services=min_services,
    )
    clustered = float(groups.attrs["test"]["p_value"])
    used = groups.loc[groups["comparable"]]
    if len(used) < 2:
        return clustered, math.nan
    table = np.column_stack([used["numerator"], used["denominator"] - used["numerator"]])
    if (table.sum(axis=0) == 0).any():
        return clustered, math.nan
    _, naive, _, _ = stats.chi2_contingency(table, correction=False)
    return clustered, float(naive)


def _rate(p_values: list[float]) -> str:
    """``hits/runs = x% (low-high%)``: share of tests run with p < ALPHA, Wilson 95% over seeds."""
    ran = [p for p in p_values if not math.isnan(p)]
    if not ran:
        return "no test"
    hits = sum(p < ALPHA for p in ran)
    z = stats.norm.ppf(0.975)
    n, share = len(ran), hits / len(ran)
    centre = (share + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z * math.sqrt(share * (1 - share) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    return f"{hits}/{n} = {share:.1%} ({max(0, centre - half):.1%}-{min(1, centre + half):.1%})"


def group_intervals(rows: pd.DataFrame) -> list[tuple[float, float, float, float, float, float]]:
    """Each variant group's pooled counts, clustered interval and naive Wilson interval."""
    groups = compare_groups(
        rows, by="model_variant", numerator="risk_reduced", denominator="risk_assessed"
    )
    return [
        (y, n, low, high, *wilson_interval(y, n))
        for y, n, low, high in groups[["numerator", "denominator", "ci_low", "ci_high"]].itertuples(
            index=False, name=None
        )
    ]


def _one(task: tuple[int, float, int, tuple[int, ...]]) -> tuple[list, list]:
    """One data set: (clustered p, naive p) for each minimum services per group; the intervals."""
    n_services, effect, seed, minima = task
    rows = service_counts(seed, n_services=n_services, variant_effect=effect)
    tests = [both_tests(rows, min_services=m) for m in minima]
    return tests, group_intervals(rows) if effect == 0 else []


def coverage(intervals: list[tuple[float, ...]]) -> str:
    """How often each interval covered the programme-wide proportion (no variant difference).

    With no difference every group is drawn from the same programme, so its pooled
    proportion estimates the programme's, estimated here from all seeds' counts.
    """
    frame = pd.DataFrame(intervals, columns=["y", "n", "low", "high", "w_low", "w_high"])
    truth = frame["y"].sum() / frame["n"].sum()
    ok = frame.dropna(subset=["low"])
    clustered = ok["low"].le(truth) & ok["high"].ge(truth)
    naive = ok["w_low"].le(truth) & ok["w_high"].ge(truth)
    return (
        f"95% intervals of a variant group's risk reduction covering the programme-wide "
        f"{truth:.1%} (no variant difference, {len(ok)} group intervals): clustered "
        f"{clustered.mean():.1%}, naive Wilson {naive.mean():.1%}."
    )


def measure(
    seeds: int,
    services: list[int],
    minima: list[int],
    effects: tuple[float, ...] = EFFECTS,
    *,
    jobs: int = 2,
) -> tuple[list[str], dict]:
    """Run every (services, effect, seed) in ``jobs`` processes; return markdown lines and p-values."""
    results: dict[tuple[int, int, float], tuple[list[float], list[float]]] = {}
    covered: list[str] = []
    with ProcessPoolExecutor(max_workers=max(1, jobs)) as pool:
        for n_services in services:
            intervals: list = []
            for effect in effects:
                started = time.perf_counter()
                tasks = [(n_services, effect, seed, tuple(minima)) for seed in range(1, seeds + 1)]
                for found, groups in pool.map(_one, tasks):
                    intervals += groups
                    for minimum, (clustered, naive) in zip(minima, found, strict=True):
                        got = results.setdefault((n_services, minimum, effect), ([], []))
                        got[0].append(clustered)
                        got[1].append(naive)
                print(
                    f"  {n_services} services, effect x{effect:g}: {seeds} seeds in "
                    f"{time.perf_counter() - started:.1f} s",
                    flush=True,
                )
            if intervals:
                covered.append(f"{n_services} services: {coverage(intervals)}")
    table = _table(results, seeds=seeds, services=services, minima=minima, effects=effects)
    return [*table, "", *covered], results


def _effect_words(effect: float) -> str:
    if effect == 0:
        return "none (false positives)"
    shifts = variant_effects(effect).values()
    return f"x{effect:g} designed ({min(shifts):+.2f} to {max(shifts):+.2f}; power)"


def _table(
    results: dict, *, seeds: int, services: list[int], minima: list[int], effects: tuple
) -> list[str]:
    lines = [
        "| Services | Min. services per group | True difference between variants "
        "| Clustered: service as the unit | Naive: young people independent |",
        "|---:|---:|---|---|---|",
    ]
    never, same = [], []
    for n_services in services:
        shown: list[int] = []
        for minimum in minima:
            if all(math.isnan(p) for p in results[(n_services, minimum, 0.0)][0]):
                never.append(f"{n_services} services with at least {minimum} per group")
                continue
            twin = next(
                (m for m in shown
                 if all(results[(n_services, m, e)] == results[(n_services, minimum, e)]
                        for e in effects)),
                None,
            )  # fmt: skip
            if twin is not None:
                same.append(f"{n_services} services with at least {minimum} per group (as {twin})")
                continue
            shown.append(minimum)
            for effect in effects:
                clustered, naive = results[(n_services, minimum, effect)]
                lines.append(
                    f"| {n_services} | {minimum} | {_effect_words(effect)} "
                    f"| {_rate(clustered)} | {_rate(naive)} |"
                )
    if same:
        lines += ["", f"Same groups compared, same figures: {'; '.join(same)}."]
    if never:
        lines += [
            "",
            f"No test was run (fewer than two comparable variant groups in all {seeds} "
            f"seeds) for: {'; '.join(never)}.",
        ]
    return lines


# --------------------------------------------------------------------------- full path
def check_clean(seed: int = 2014) -> list[str]:
    """Raw files + cleaning once (no variant difference): cleaned counts against the true rows."""
    base = scratch("calibration")
    try:
        env = hubspoke_env(base)
        started = time.perf_counter()
        generate(base / "raw", seed=seed, variant_effect=0.0)
        made = time.perf_counter()
        raw, processed = str(base / "raw"), str(base / "processed")
        run([tool("hubspoke"), "-q", "clean", "--raw", raw, "--out", processed], env)
        cleaned = time.perf_counter()
        code = (
            "import sys; from hubspoke import load; "
            "from hubspoke.analysis.cross_site.tables import service_counts; "
            f"t = load.load_tables({processed!r}); "
            "service_counts(t, year='all')[['risk_reduced', 'risk_assessed']]"
            ".to_csv(sys.stdout)"
        )
        proc = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        clean = pd.read_csv(StringIO(proc.stdout), index_col="service_id")
        true = service_counts(seed, n_services=16, variant_effect=0.0).set_index("service_id")
        both = true.join(clean.add_suffix("_clean"))
        ratio = both["risk_assessed_clean"] / both["risk_assessed"]
        p_true = both_tests(true.reset_index(), min_services=3)[0]
        p_clean = both_tests(
            both[["model_variant", "risk_reduced_clean", "risk_assessed_clean"]]
            .set_axis(["model_variant", "risk_reduced", "risk_assessed"], axis=1)
            .reset_index(),
            min_services=3,
        )[0]
        return [
            f"Full path, seed {seed}, no variant difference: raw files {made - started:.1f} s, "
            f"cleaning {cleaned - made:.1f} s.",
            f"Risk assessed, cleaned / true rows: {both['risk_assessed_clean'].sum()} / "
            f"{both['risk_assessed'].sum()} (per service {ratio.min():.2f}-{ratio.max():.2f}); "
            f"risk reduced {both['risk_reduced_clean'].sum()} / {both['risk_reduced'].sum()}.",
            f"Clustered p by model variant (at least 3 services per group): true rows "
            f"{p_true:.3f}, cleaned data {p_clean:.3f}.",
        ]
    finally:
        remove_scratch(base)


# --------------------------------------------------------------------------- output
def section(lines: list[str], *, command: str, seconds: float, notes: list[str]) -> list[str]:
    """The markdown section for ``RESULTS.md``."""
    stamp = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    return [
        SECTION,
        "",
        f"Measured {stamp} with `{command}` in {seconds:.0f} s. Comparison by model variant of "
        "risk reduced / risk assessed, all years pooled, each seed a new programme (services, "
        "variants, young people) from the generator; a difference is called at p < 0.05. "
        "Clustered: `compare_groups`, a weighted analysis of variance of the service "
        "proportions (random-effects weights) across the groups with enough services, F on "
        "(groups - 1, services - groups) df. Naive: chi-square test of the same groups' "
        "pooled young-person counts. In brackets: 95% Wilson interval over the seeds.",
        "",
        *lines,
        "",
        *notes,
        "",
    ]


def write_section(block: list[str], *, path: Path = RESULTS) -> None:
    """Replace (or add) this benchmark's section of ``RESULTS.md``."""
    replace_section(path, SECTION, block)


def main(argv: list[str] | None = None) -> int:
    """Entry point."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--seeds", type=int, default=40, help="data sets per setting (default 40)")
    p.add_argument("--services", type=int, nargs="+", default=[16, 30])
    p.add_argument(
        "--min-services",
        type=int,
        nargs="+",
        default=[3, MIN_GROUP_SERVICES],
        help="fewest services a group needs to be compared (default: 3 and the module's)",
    )
    p.add_argument("--jobs", type=int, default=2, help="processes (default 2)")
    p.add_argument("--check-clean", action="store_true", help="also run raw files + cleaning once")
    p.add_argument("--write", action="store_true", help="write the section of bench/RESULTS.md")
    args = p.parse_args(argv)
    started = time.perf_counter()
    lines, _ = measure(args.seeds, args.services, sorted(set(args.min_services)), jobs=args.jobs)
    notes = check_clean() if args.check_clean else []
    seconds = time.perf_counter() - started
    command = "python bench/calibration.py " + " ".join(argv if argv is not None else sys.argv[1:])
    block = section(lines, command=command.strip(), seconds=seconds, notes=notes)
    print()
    print("\n".join(block))
    print(f"Took {seconds:.1f} s.")
    if args.write:
        write_section(block)
    return 0


if __name__ == "__main__":
    sys.exit(main())
