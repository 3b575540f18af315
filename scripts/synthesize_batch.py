#!/usr/bin/env python
"""Synthesize every volume of a folder (or a list) through the MedSynth Slicer logic, in batch.

In Slicer (headless):
    Slicer --no-main-window --python-script scripts/synthesize_batch.py -- data/ --model phantom-pgan-T1-T2 --out syn/
With plain Python and the slicer-core wheel:
    .venv/bin/python scripts/synthesize_batch.py data/ --glob '*-T1.nii.gz' --model phantom-pgan-T1-T2 --out syn/ \
        --reference-replace T1 T2

Each input is loaded into a volume node, synthesized with ``SynthesisLogic`` (the same code the module
runs), and written to OUT as ``<input>-synthetic-<target>.nii.gz`` on the input's grid. With
``--reference-replace OLD NEW`` each input is compared (``ComparisonLogic``) with the file whose name has
OLD replaced by NEW (in ``--references`` or next to the input), the difference volume is written too, and
the metrics of every volume go to ``OUT/metrics.csv``. Every input is tried; the exit code is 1 if any
failed, with one line per failure naming the file and the reason.
"""

from __future__ import annotations

import argparse
import csv
import logging
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "MedSynth"))  # MedSynthLib outside Slicer

import slicer
from medsynth.errors import MedSynthError
from medsynth.inference import InferenceOptions
from medsynth.io import VOLUME_EXTENSIONS, read_volume, volume_stem, write_volume
from MedSynthLib.ComparisonLogic import ComparisonLogic
from MedSynthLib.SynthesisLogic import SynthesisLogic
from MedSynthLib.VolumeConversion import addVolumeNode, volumeFromNode

log = logging.getLogger("synthesize_batch")


def inputs_from(items: list[str], pattern: str) -> list[Path]:
    """Volume files from folders (sorted, matching ``pattern``), list files (one path per line) and paths."""
    found: list[Path] = []
    for item in map(Path, items):
        if item.is_dir():
            found += sorted(p for p in item.glob(pattern) if p.name.endswith(VOLUME_EXTENSIONS))
        elif item.suffix in (".txt", ".lst"):
            found += [Path(line.strip()) for line in item.read_text().splitlines() if line.strip()]
        else:
            found.append(item)
    return found


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", nargs="+", help="volume files, folders of volumes, or .txt lists of paths")
    parser.add_argument("--model", required=True, help="catalog name (see `medsynth models`) or model file")
    parser.add_argument("--glob", default="*", help="which files of an input folder, e.g. '*-T1.nii.gz' (default all)")
    parser.add_argument("--out", type=Path, required=True, help="output folder (created if missing)")
    parser.add_argument("--reference-replace", nargs=2, metavar=("OLD", "NEW"),
                        help="compare with the file named like the input with OLD replaced by NEW")
    parser.add_argument("--references", type=Path, help="folder of the reference files (default: the input's)")
    parser.add_argument("--stride", type=lambda v: v if v == "full" else int(v), help="3D models: patch stride")
    parser.add_argument("--device", default="auto", help="auto, cuda, mps or cpu")
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    return parser.parse_args(argv)


def process(path: Path, args, synthesis: SynthesisLogic, comparison: ComparisonLogic, scene) -> dict | None:
    inputNode = addVolumeNode(scene, read_volume(path), volume_stem(path.name))
    outputNode = synthesis.synthesize(inputNode, args.model, InferenceOptions(stride=args.stride, device=args.device))
    write_volume(volumeFromNode(outputNode), args.out / f"{outputNode.GetName()}.nii.gz", overwrite=args.overwrite)
    if not args.reference_replace:
        return None
    old, new = args.reference_replace
    reference = (args.references or path.parent) / path.name.replace(old, new)
    referenceNode = addVolumeNode(scene, read_volume(reference), volume_stem(reference.name))
    differenceNode, _, metrics = comparison.compare(outputNode, referenceNode)
    write_volume(volumeFromNode(differenceNode), args.out / f"{differenceNode.GetName()}.nii.gz",
                 overwrite=args.overwrite)
    return {"input": str(path), "reference": str(reference),
            **{k: metrics["mask"][k] for k in ("psnr", "ssim_3d", "mae")},
            **{f"whole_{k}": metrics["whole"][k] for k in ("psnr", "mae")}}


def main(argv: list[str]) -> int:
    args = parse(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if getattr(slicer, "mrmlScene", None) is None:  # plain Python with slicer-core: a scene of our own
        slicer.mrmlScene = slicer.vtkMRMLScene()
    scene = slicer.mrmlScene
    synthesis, comparison = SynthesisLogic(scene), ComparisonLogic(scene)
    args.out.mkdir(parents=True, exist_ok=True)
    rows, failures = [], []
    paths = inputs_from(args.inputs, args.glob)
    if not paths:
        failures.append(f"{', '.join(args.inputs)}: no volume files found ({', '.join(VOLUME_EXTENSIONS)})")
    for number, path in enumerate(paths, 1):
        try:
            row = process(path, args, synthesis, comparison, scene)
            rows += [row] if row else []
            log.info("[%d/%d] %s done", number, len(paths), path.name)
        except (MedSynthError, OSError) as exc:
            failures.append(f"{path}: {exc}")
        finally:
            scene.Clear(False)
    if rows:
        with (args.out / "metrics.csv").open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    for failure in failures:
        log.error("synthesize_batch: error: %s", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    arguments = sys.argv[sys.argv.index("--") + 1 :] if "--" in sys.argv else sys.argv[1:]
    code = main(arguments)
    if hasattr(slicer, "app") and slicer.app is not None:  # inside Slicer: leave the application
        slicer.util.exit(code)
    sys.exit(code)
