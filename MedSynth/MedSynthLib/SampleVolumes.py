"""The sample volumes shipped with the extension, for Slicer's SampleData module and for scripts.

``Resources/SampleData/samples.json`` (written by ``scripts/make_sample_data.py``) lists each sample's
co-registered files with their SHA256 sums. Inside Slicer they are registered as a "MedSynth" category of
SampleData (``file://`` URIs: nothing is downloaded, and SampleData verifies the sums); outside it,
``loadSample`` reads them into a scene directly.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import slicer
from medsynth.core.errors import InputError

SAMPLE_FOLDER = Path(__file__).resolve().parents[1] / "Resources" / "SampleData"
CATEGORY = "MedSynth"


def samples() -> list[dict[str, Any]]:
    return json.loads((SAMPLE_FOLDER / "samples.json").read_text())["samples"]


def sampleDataSources() -> list[dict[str, Any]]:
    """Keyword arguments of ``SampleData.SampleDataLogic.registerCustomSampleDataSource``, one per sample
    (no file type: a named node is loaded as a volume by default, in every Slicer version)."""
    return [{
        "category": CATEGORY,
        "sampleName": sample["name"],
        "thumbnailFileName": str(SAMPLE_FOLDER / sample["thumbnail"]),
        "uris": [(SAMPLE_FOLDER / f["file"]).as_uri() for f in sample["files"]],
        "fileNames": [f["file"] for f in sample["files"]],
        "nodeNames": [f["node"] for f in sample["files"]],
        "checksums": [f"SHA256:{f['sha256']}" for f in sample["files"]],
    } for sample in samples()]


def registerSampleData(sampleDataLogicClass) -> None:
    """Register every sample with SampleData (pass ``SampleData.SampleDataLogic``), once: a sample already in
    ``slicer.modules.sampleDataSources`` (registered at startup) is not added again."""
    registered = getattr(getattr(slicer, "modules", None), "sampleDataSources", {}).get(CATEGORY, [])
    names = {getattr(source, "sampleName", None) for source in registered}
    for source in sampleDataSources():
        if source["sampleName"] not in names:
            sampleDataLogicClass.registerCustomSampleDataSource(**source)


def loadSample(name: str = "MedSynthPhantom", scene=None) -> dict[str, Any]:
    """The sample's volumes as new nodes, by contrast (checksums verified); for scripts and tests."""
    from medsynth.io import read_volume  # here: registering samples at Slicer's start needs no numpy or torch

    from .VolumeConversion import addVolumeNode

    scene = scene or slicer.mrmlScene
    sample = next((s for s in samples() if s["name"] == name), None)
    if sample is None:
        raise InputError(f"no sample '{name}'; samples: {', '.join(s['name'] for s in samples())}")
    nodes = {}
    for entry in sample["files"]:
        path = SAMPLE_FOLDER / entry["file"]
        if hashlib.sha256(path.read_bytes()).hexdigest() != entry["sha256"]:
            raise InputError(f"{path} is damaged: its SHA256 differs from samples.json (reinstall the extension)")
        nodes[entry["contrast"]] = addVolumeNode(scene, read_volume(path), entry["node"])
    return nodes
