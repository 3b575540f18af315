"""Settings of a synthesis run (all have defaults; the model card may refine some)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import ConfigError
from ..limits import patch_problem
from ..planes import PLANES

BLEND_MODES = {"gaussian": "gaussian", "mean": "constant"}  # ours -> MONAI's BlendMode
ALL_PLANES = "all"  # 2D models: the three planes, fused
DEVICES = ("auto", "cuda", "mps", "cpu")  # auto: CUDA, else Apple MPS, else the CPU (medsynth.device)
PRECISION_CHOICES = ("auto", "fp32", "bf16", "fp16")  # auto: bf16 where the device computes it natively
# How the uncertainty map's test-time ensemble varies the input: a left-right flip, or the input's intensity
# transfer function (random monotone curves, as the scanner simulation of training draws them)
UNCERTAINTY_METHODS = ("flip", "intensity")


@dataclass
class InferenceOptions:
    """How to run a model over a volume.

    ``axis``: plane of the slices for 2D models; ``"auto"`` uses the plane the model was trained on (the
    three, fused, for a model trained on all planes); ``"all"`` runs along all three planes and averages.
    ``batch_size``: slices or patches per forward pass. ``skip_background``: process only slices and
    patches holding foreground, and only the foreground bounding box grown by ``margin`` voxels.
    ``patch_size`` / ``stride``: 3D sliding window (``None``: the card's, else 32 and 16); a stride equal
    to the patch size means no overlap, ``"full"`` one pass over the whole volume. ``blend``: how
    overlapping patches are combined (``None``: the card's, else gaussian). ``calibrate``: apply the
    card's output calibration where it has one (the output's histogram inside the head mapped to the
    training targets'); ``False`` gives the network's own output. ``uncertainty``: how the uncertainty
    map's test-time ensemble varies the input (:data:`UNCERTAINTY_METHODS`), where one is asked for.
    """

    axis: str = "auto"
    batch_size: int = 8
    skip_background: bool = True
    margin: int = 8
    patch_size: int | Sequence[int] | None = None
    stride: int | Sequence[int] | str | None = None
    blend: str | None = None
    device: str = "auto"
    precision: str = "auto"  # bf16 where the device computes it natively, else fp32 (medsynth.device)
    calibrate: bool = True
    uncertainty: str = "flip"

    def __post_init__(self) -> None:
        if self.axis not in ("auto", ALL_PLANES) and self.axis not in PLANES:
            raise ConfigError(f"axis must be auto, {ALL_PLANES} or one of {', '.join(PLANES)}, got '{self.axis}'")
        if self.batch_size < 1:
            raise ConfigError(f"batch size must be at least 1, got {self.batch_size}")
        if self.margin < 0:
            raise ConfigError(f"margin must be 0 or more voxels, got {self.margin}")
        for name in ("patch_size", "stride"):  # the one check the card and the Slicer module use too
            problem = patch_problem(name, getattr(self, name))
            if problem:
                raise ConfigError(problem)
        if self.blend is not None and self.blend not in BLEND_MODES:
            raise ConfigError(f"blend must be one of {', '.join(BLEND_MODES)}, got '{self.blend}'")
        if self.device not in DEVICES and not self.device.startswith("cuda:"):
            raise ConfigError(f"device must be one of {', '.join(DEVICES)} (or cuda:N), got '{self.device}'")
        if self.precision not in PRECISION_CHOICES:
            raise ConfigError(f"unknown precision '{self.precision}'; expected one of {', '.join(PRECISION_CHOICES)}")
        if self.uncertainty not in UNCERTAINTY_METHODS:
            raise ConfigError(f"uncertainty method must be one of {', '.join(UNCERTAINTY_METHODS)}, got "
                              f"'{self.uncertainty}'")
