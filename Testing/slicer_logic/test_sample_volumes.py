"""The sample data a new user starts from: files intact, registered the way SampleData expects, and good
enough to synthesize from."""

from __future__ import annotations

import hashlib
import inspect
import urllib.request
from typing import ClassVar

import pytest
from medsynth.core.errors import InputError
from MedSynthLib.ComparisonLogic import ComparisonLogic
from MedSynthLib.SampleVolumes import loadSample, registerSampleData, sampleDataSources
from MedSynthLib.SynthesisLogic import SynthesisLogic
from MedSynthLib.VolumeConversion import volumeFromNode


class SampleDataLogic:
    """Slicer 5.x's signature of the registration call, recording what it is given."""

    sources: ClassVar[list] = []

    @staticmethod
    def registerCustomSampleDataSource(category="Custom", sampleName=None, uris=None, fileNames=None,
                                       nodeNames=None, customDownloader=None, thumbnailFileName=None,
                                       loadFileTypes=None, loadFiles=None, loadFileProperties=None,
                                       checksums=None, loadFileType=None):
        SampleDataLogic.sources.append(inspect.getcallargs(
            SampleDataLogic.registerCustomSampleDataSource, category, sampleName, uris, fileNames, nodeNames,
            customDownloader, thumbnailFileName, loadFileTypes, loadFiles, loadFileProperties, checksums))


def test_sources_are_registered_with_files_that_match_their_checksums():
    registerSampleData(SampleDataLogic)
    (source,) = SampleDataLogic.sources
    assert source["category"] == "MedSynth" and source["sampleName"] == "MedSynthPhantom"
    assert source["nodeNames"] == ["MedSynthPhantom-T1", "MedSynthPhantom-T2", "MedSynthPhantom-PD"]
    for uri, checksum in zip(source["uris"], source["checksums"], strict=True):
        with urllib.request.urlopen(uri) as f:  # what SampleData's download does with a file:// URI
            assert checksum == "SHA256:" + hashlib.sha256(f.read()).hexdigest()
    assert sampleDataSources()[0]["thumbnailFileName"].endswith(".png")


@pytest.mark.torch
def test_the_phantom_sample_is_co_registered_and_synthesizes(scene):
    nodes = loadSample(scene=scene)
    grids = [volumeFromNode(node) for node in nodes.values()]
    assert {g.array.shape for g in grids} == {(32, 217, 183)}  # (k, j, i), as Slicer holds it
    for grid in grids[1:]:
        assert grid.same_grid(grids[0])
    # the bundled T1->T2 pGAN on the sample is far closer to the real T2 than the bundled histogram baseline
    comparison = ComparisonLogic()
    pgan = SynthesisLogic().synthesize(nodes["T1"], "phantom-pgan-T1-T2")
    baseline = SynthesisLogic().synthesize(nodes["T1"], "phantom-histmatch-T1-T2")
    ours, theirs = (comparison.compare(node, nodes["T2"])[2]["mask"] for node in (pgan, baseline))
    assert ours["psnr"] > theirs["psnr"] + 2 and ours["ssim_3d"] > theirs["ssim_3d"]
    with pytest.raises(InputError, match="no sample 'MRHead'"):
        loadSample("MRHead", scene)
