"""The closed sets of values the modules offer, importing nothing beyond the standard library, so the module
files can build their typed parameter nodes when Slicer starts, before PyTorch and MedSynth's packages are
installed: taken from the package where it declares them without numpy (Testing/slicer_logic/test_choices.py
keeps the others equal to what ``medsynth`` accepts)."""

import dataclasses

# each of these is standard library only: the contrast records, the architecture registry, the inference settings
from medsynth.core import contrasts, options
from medsynth.core.architectures import names
from medsynth.core.options import PLANES

MODES = ("auto", "slice", "patch")  # auto: the model's own; slice: 2D models; patch: 3D models
AXES = ("auto", *PLANES, options.ALL_PLANES)  # all: the three planes, fused
DEVICES = options.DEVICES
PRECISIONS = options.PRECISION_CHOICES  # auto: bf16 where the device computes it natively, as the CLI
UNCERTAINTY_METHODS = options.UNCERTAINTY_METHODS  # how the uncertainty map is made
TRAINABLE_ARCHITECTURES = tuple(names("generator", trainable=True))
UNPAIRED_ARCHITECTURES = tuple(names("generator", trainable=True, unpaired=True))
CONTRASTS = tuple(contrasts.CONTRASTS)
COMPARISONS = ("auto", "raw", "own-scale", "calibrated")  # medsynth.core.conventions: intensities compared


def optionDefault(name: str):
    """The default of the inference setting ``name``, as ``InferenceOptions`` declares it (and the command's flag
    shows it): the module's parameters start from the same values, so the GUI and the CLI agree."""
    return next(f.default for f in dataclasses.fields(options.InferenceOptions) if f.name == name)
