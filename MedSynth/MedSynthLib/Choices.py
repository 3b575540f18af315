"""The closed sets of values the modules offer, importing nothing beyond the standard library, so the module
files can build their typed parameter nodes when Slicer starts, before PyTorch and MedSynth's packages are
installed (Testing/slicer_logic/test_choices.py keeps them equal to what ``medsynth`` accepts)."""

from medsynth import contrasts  # the contrast records: standard library only
from medsynth.architectures import names  # the architecture registry: standard library only

MODES = ("auto", "slice", "patch")  # auto: the model's own; slice: 2D models; patch: 3D models
AXES = ("auto", "sagittal", "coronal", "axial", "all")  # all: the three planes, fused
DEVICES = ("auto", "cuda", "mps", "cpu")
UNCERTAINTY_METHODS = ("flip", "intensity")  # what the uncertainty map's test-time ensemble varies
PRECISIONS = ("auto", "fp32", "bf16", "fp16")  # auto: bf16 where the device computes it natively, as the CLI
TRAINABLE_ARCHITECTURES = tuple(names("generator", trainable=True))
UNPAIRED_ARCHITECTURES = tuple(names("generator", trainable=True, unpaired=True))
CONTRASTS = tuple(contrasts.CONTRASTS)
COMPARISONS = ("auto", "raw", "own-scale", "calibrated")  # medsynth.conventions: intensities compared
