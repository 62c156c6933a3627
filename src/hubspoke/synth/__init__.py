"""Deterministic synthetic raw data, messy on purpose.

:func:`generate` writes everything ``hubspoke synth`` produces, in this order:

1. :mod:`.reference` - the services and Spoke posts (``reference/*.csv``);
2. :mod:`.submissions` - one workbook or CSV set per service-year;
3. :mod:`.qual` - codebook, transcripts, coded segments, judgements and the ``.qdpx``;
4. :mod:`.context_file` - synthetic local-context statistics in the DfE layout;
5. the quirk log, the generator's known truth and a manifest under ``_synthetic/``.

Each part takes its own seed derived from the one given (:mod:`.seeds`), so changing one part
never changes the others' files. The same seed gives byte-identical files.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd

from hubspoke import __version__
from hubspoke.spec.raw import LAYOUT, QUIRK_LOG_COLUMNS, SYNTHETIC_MARKER
from hubspoke.synth.context_file import write_context_files
from hubspoke.synth.qual import write_qualitative
from hubspoke.synth.reference import make_reference, write_reference
from hubspoke.synth.seeds import part_seed
from hubspoke.synth.submissions import VariantEffect, variant_effects, write_submissions

#: Folders under the raw folder whose presence means "raw data already here".
_DATA_FOLDERS = ("reference", "submissions", "qualitative")


def has_raw_data(raw_dir: Path) -> bool:
    """True when ``raw_dir`` already holds raw data (a reference, submissions or qualitative folder)."""
    return any((Path(raw_dir) / name).exists() for name in _DATA_FOLDERS)


def write_quirk_log(path: Path, quirks: list[dict]) -> pd.DataFrame:
    """Write the machine-readable list of injected quirks, sorted so the bytes are stable."""
    log = (
        pd.DataFrame(quirks, columns=list(QUIRK_LOG_COLUMNS))
        .astype({"row": "Int64"})
        .sort_values(
            ["file", "sheet", "row", "column", "kind"], na_position="first", kind="mergesort"
        )
        .reset_index(drop=True)
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write(SYNTHETIC_MARKER + "\n")
        log.to_csv(fh, index=False, lineterminator="\n")
    return log


def generate(
    out_dir: Path,
    *,
    seed: int = 2014,
    n_services: int = 16,
    scale: float = 1.0,
    variant_effect: VariantEffect = 1.0,
) -> dict:
    """Write the whole synthetic raw data set into ``out_dir`` and return its manifest.

    ``variant_effect`` sets the true difference between model variants: a factor on the
    designed effects (0 for none) or each variant's shift of the chance of risk reduction
    (:func:`hubspoke.synth.submissions.variant_effects`). Any value but the default is
    recorded in the manifest.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    services, spokes = make_reference(n_services, seed=part_seed(seed, "reference"))
    write_reference(out_dir, services, spokes)
    quirks: list[dict] = []
    sub_quirks, truth = write_submissions(
        out_dir,
        services,
        spokes,
        seed=part_seed(seed, "submissions"),
        scale=scale,
        variant_effect=variant_effect,
    )
    quirks += sub_quirks
    quirks += write_qualitative(out_dir, services, seed=part_seed(seed, "qual"))
    write_context_files(out_dir, services, seed=part_seed(seed, "context"))

    log = write_quirk_log(out_dir / LAYOUT["quirks"], quirks)
    truth_path = out_dir / LAYOUT["truth"]
    with truth_path.open("w", encoding="utf-8", newline="") as fh:
        fh.write(SYNTHETIC_MARKER + "\n")
        truth.to_csv(fh, index=False, lineterminator="\n")

    files = sorted(p for p in out_dir.rglob("*") if p.is_file() and p.name != "manifest.json")
    manifest = {
        "synthetic": True,
        "generator": f"hubspoke {__version__}",
        "seed": seed,
        "n_services": int(len(services)),
        "n_service_years": int(sum(2017 - services["start_date"].str[:4].astype(int))),
        "scale": scale,
        "n_files": len(files),
        "n_quirks": int(len(log)),
        "files": {
            p.relative_to(out_dir).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in files
        },
    }
    if variant_effect != 1.0:
        manifest["variant_effect"] = variant_effects(variant_effect)
    (out_dir / LAYOUT["manifest"]).write_text(
        json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    return manifest
