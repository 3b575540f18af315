#!/usr/bin/env python
"""Synthesize every volume of a folder (or a list) through the MedSynth Slicer logic, in batch.

Shipped with the extension (MedSynth/Resources/Scripts/); its path in an installed Slicer is printed by
``print(slicer.modules.medsynth.path.replace("MedSynth.py", "Resources/Scripts/SynthesizeBatch.py"))``
in Slicer's Python console. In Slicer, headless (the script always ends Slicer with its exit status):
    Slicer --no-main-window --python-script SynthesizeBatch.py data/ --model phantom-pgan-T1-T2 --out syn/
With plain Python and the slicer-core wheel:
    .venv/bin/python MedSynth/Resources/Scripts/SynthesizeBatch.py data/ --glob '*-T1.nii.gz' \\
        --model phantom-pgan-T1-T2 --out syn/ --reference-replace T1 T2

Each input is loaded into a volume node, synthesized with ``SynthesisLogic`` (the same code the module
runs), and written to OUT as ``<input>-synthetic-<target>.nii.gz`` on the input's grid. With
``--reference-replace OLD NEW`` each input is compared (``ComparisonLogic``) with the file whose name has
OLD replaced by NEW (in ``--references`` or next to the input), the difference volume is written too, and
the metrics of every volume go to ``OUT/metrics.csv`` (written even when some volumes failed). Every input
is tried, whatever error one of them raises; the exit status is 0 if all succeeded, 1 if any failed (one
``synthesize_batch: error:`` line per failure naming the file and the reason), 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import csv
import io
import logging
import sys
from pathlib import Path

MODULE_FOLDER = Path(__file__).resolve().parents[2]  # MedSynth/ in a checkout, qt-scripted-modules/ in Slicer
if str(MODULE_FOLDER) not in sys.path:
    sys.path.insert(0, str(MODULE_FOLDER))  # MedSynthLib and medsynth, outside Slicer too

import slicer  # noqa: E402 - after the path is set

log = logging.getLogger("synthesize_batch")


def inputs_from(items: list[str], pattern: str, extensions: tuple[str, ...]) -> list[Path]:
    """Volume files from folders (sorted, matching ``pattern``), list files (one path per line) and paths."""
    found: list[Path] = []
    for item in map(Path, items):
        if item.is_dir():
            found += sorted(p for p in item.glob(pattern) if p.name.endswith(extensions))
        elif item.suffix in (".txt", ".lst"):
            if not item.is_file():
                raise FileNotFoundError(f"{item}: list file not found")
            found += [Path(line.strip()) for line in item.read_text().splitlines() if line.strip()]
        else:
            found.append(item)
    return found


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="SynthesizeBatch.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", nargs="+", help="volume files, folders of volumes, or .txt lists of paths")
    parser.add_argument("--model", required=True, help="catalog name (see `medsynth models`) or model file")
    parser.add_argument("--glob", default="*", help="which files of an input folder, e.g. '*-T1.nii.gz' (default all)")
    parser.add_argument("--out", type=Path, required=True, help="output folder (created if missing)")
    parser.add_argument("--reference-replace", nargs=2, metavar=("OLD", "NEW"),
                        help="compare with the file named like the input with OLD replaced by NEW")
    parser.add_argument("--references", type=Path, help="folder of the reference files (default: the input's)")
    parser.add_argument("--stride", type=lambda v: v if v == "full" else int(v), help="3D models: patch stride")
    parser.add_argument("--device", default="auto", choices=("auto", "cuda", "mps", "cpu"),
                        help="where the model runs (default auto: CUDA, else MPS, else CPU)")
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    return parser.parse_args(argv)


def process(path: Path, args, scene) -> dict | None:
    from medsynth.core.files import volume_stem
    from medsynth.inference import InferenceOptions
    from medsynth.io import read_volume, write_volume
    from MedSynthLib.ComparisonLogic import ComparisonLogic
    from MedSynthLib.SynthesisLogic import SynthesisLogic
    from MedSynthLib.VolumeConversion import addVolumeNode, volumeFromNode

    inputNode = addVolumeNode(scene, read_volume(path), volume_stem(path.name))
    outputNode = SynthesisLogic(scene).synthesize(inputNode, args.model,
                                                  InferenceOptions(stride=args.stride, device=args.device))
    write_volume(volumeFromNode(outputNode), args.out / f"{outputNode.GetName()}.nii.gz", overwrite=args.overwrite)
    if not args.reference_replace:
        return None
    old, new = args.reference_replace
    reference = (args.references or path.parent) / path.name.replace(old, new)
    referenceNode = addVolumeNode(scene, read_volume(reference), volume_stem(reference.name))
    differenceNode, _, metrics = ComparisonLogic(scene).compare(outputNode, referenceNode)
    write_volume(volumeFromNode(differenceNode), args.out / f"{differenceNode.GetName()}.nii.gz",
                 overwrite=args.overwrite)
    return {"input": str(path), "reference": str(reference), "intensities": metrics["info"]["convention"],
            **{k: metrics["mask"][k] for k in ("psnr", "ssim_3d", "mae")},
            **{f"whole_{k}": metrics["whole"][k] for k in ("psnr", "mae")}}


def write_metrics(path: Path, rows: list[dict]) -> None:
    from medsynth.core.files import atomic_output

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    with atomic_output(path) as tmp:
        tmp.write_text(buffer.getvalue())


def main(argv: list[str]) -> int:
    args = parse(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    from medsynth.core.files import VOLUME_EXTENSIONS

    if getattr(slicer, "mrmlScene", None) is None:  # plain Python with slicer-core: a scene of our own
        slicer.mrmlScene = slicer.vtkMRMLScene()
    scene = slicer.mrmlScene
    args.out.mkdir(parents=True, exist_ok=True)
    rows, failures = [], []
    try:
        paths = inputs_from(args.inputs, args.glob, VOLUME_EXTENSIONS)
    except OSError as exc:
        paths, failures = [], [str(exc)]
    if not paths and not failures:
        failures.append(f"{', '.join(args.inputs)}: no volume files found ({', '.join(VOLUME_EXTENSIONS)})")
    try:
        for number, path in enumerate(paths, 1):
            try:
                row = process(path, args, scene)
                rows += [row] if row else []
                log.info("[%d/%d] %s done", number, len(paths), path.name)
            except Exception as exc:  # any error of one volume (a bad file, CUDA out of memory, ...): go on
                failures.append(f"{path}: {exc}" if str(exc) else f"{path}: {type(exc).__name__}")
            finally:
                scene.Clear(False)
    finally:  # also when the batch is interrupted: what was done is reported
        if rows:
            write_metrics(args.out / "metrics.csv", rows)
        for failure in failures:
            log.error("synthesize_batch: error: %s", failure)
    return 1 if failures else 0


def run(argv: list[str]) -> int:
    """``main`` with every way out turned into an exit status (a traceback is printed for the unexpected)."""
    try:
        return main(argv)
    except SystemExit as exc:  # argparse: --help (0) or bad arguments (2)
        return exc.code if isinstance(exc.code, int) else 2
    except BaseException:  # a missing dependency, Ctrl-C, a bug: never leave Slicer hanging
        logging.getLogger("synthesize_batch").exception("synthesize_batch: error: the batch stopped")
        return 1


if __name__ == "__main__":
    arguments = sys.argv[sys.argv.index("--") + 1 :] if "--" in sys.argv else sys.argv[1:]
    status = run(arguments)
    if getattr(slicer, "app", None) is not None:  # inside Slicer: end the application with the status
        slicer.util.exit(status)
    else:
        sys.exit(status)
