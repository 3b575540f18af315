"""What a synthesis is asked for (its settings, all with defaults; the model card may refine some) and what it
returns (:class:`Synthesis`); torch-free, so the Slicer side builds the one and holds the other without the engines."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import TYPE_CHECKING

from .errors import ConfigError
from .limits import patch_problem

if TYPE_CHECKING:
    from ..volume import Volume

#: Anatomical plane -> RAS axis the plane is perpendicular to (R=0, A=1, S=2).
PLANE_NORMAL_AXIS = {"sagittal": 0, "coronal": 1, "axial": 2}
PLANES = tuple(PLANE_NORMAL_AXIS)  # the anatomical planes a volume is sliced in
BLEND_MODES = {"gaussian": "gaussian", "mean": "constant"}  # ours -> MONAI's BlendMode
ALL_PLANES = "all"  # 2D models: the three planes, fused
DEVICES = ("auto", "cuda", "mps", "cpu")  # auto: CUDA, else Apple MPS, else the CPU (medsynth.device)
PRECISION_CHOICES = ("auto", "fp32", "bf16", "fp16")  # auto: bf16 where the device computes it natively
# How the uncertainty map is made: the error expected from the input and output (the card's error model,
# medsynth.error_model), or a test-time ensemble's spread, varying the input's intensity transfer function
# (random monotone curves, as the scanner simulation of training draws them) or flipping it left-right; auto:
# the error model where the card has one (it flags error best on unseen subjects: docs/results.md), else intensity
ERROR_MODEL = "error-model"
UNCERTAINTY_METHODS = ("auto", ERROR_MODEL, "intensity", "flip")


def error_model_size(inputs: int) -> int:
    """The error model's coefficients for a model with ``inputs`` input contrasts: a constant, then a linear and
    a squared term per feature (each input, the output, the output's local standard deviation)."""
    return 1 + 2 * (inputs + 2)


def setting(default, help: str, choices: tuple | None = None, flag: str | None = None, kind=None):
    """A field of :class:`InferenceOptions` with what the command line (``medsynth.cli.common``) derives its flag
    from: the help text, the choices, the flag's name where it is not the field's, and how a value is read."""
    return field(default=default, metadata={"help": help, "choices": choices, "flag": flag, "kind": kind})


def int_or_full(value: str) -> int | str:
    """A patch setting on the command line: voxels, or "full" (one pass over the whole volume)."""
    return "full" if value == "full" else int(value)


@dataclass
class InferenceOptions:
    """How to run a model over a volume: every setting once, with the help text and choices the command line
    derives its flags from (``medsynth.cli.common``; a boolean that defaults to True is a ``--no-NAME`` flag, and
    its help says what that flag does). The Slicer module hands a whole set to its child process as a JSON
    file (``write_options`` / ``read_options``).

    ``patch_size`` / ``stride``: 3D sliding window (``None``: the card's, else 32 and 16); a stride equal to the
    patch size means no overlap, ``"full"`` one pass over the whole volume.
    """

    axis: str = setting("auto", "plane of the slices for 2D models; auto = the plane the model was trained on (chosen "
                        "from the volume's direction matrix, not the array order; the three, fused, for a model "
                        "trained on all planes); all = run along the three planes and average (3x the time, no "
                        "stripes between slices in the other views)", ("auto", *PLANES, ALL_PLANES))
    batch_size: int = setting(8, "slices or patches per forward pass (default 8)", kind=int)
    skip_background: bool = setting(True, "process every slice/patch, not only those holding foreground (slower, "
                                    "same result inside the head)")
    margin: int = setting(8, "voxels of background kept around the head's bounding box (default 8)", kind=int)
    patch_size: int | Sequence[int] | None = setting(
        None, "3D models: patch edge in voxels, or 'full' for one pass over the whole volume (default: the model's, "
        "usually 32)", kind=int_or_full)
    stride: int | Sequence[int] | str | None = setting(
        None, "3D models: step between patches in voxels (8 on 32^3 patches is the seeds' setting), or 'full' for "
        "one whole-volume pass (default: the model's; see docs/results.md)", kind=int_or_full)
    blend: str | None = setting(None, "3D models: how overlapping patches are averaged (default: the model's, else "
                                "gaussian)", tuple(BLEND_MODES))
    device: str = setting("auto", "auto = CUDA, else Apple MPS, else CPU; an unavailable device falls back to the "
                          "CPU", DEVICES)
    precision: str = setting("auto", "auto (default): bf16 mixed precision where the CPU or GPU computes it "
                             "natively (AVX-512 BF16, AMX, recent GPUs; about 1.2-2x faster, results within a few "
                             "hundredths of a dB), else fp32; or fp32, bf16, fp16 explicitly", PRECISION_CHOICES)
    calibrate: bool = setting(True, "skip the model's output calibration (its output histogram inside the head "
                              "mapped to the training targets'), where the model has one")
    uncertainty: str = setting("auto", "with an uncertainty map: how it is made. error-model: the error expected at "
                               "each voxel from the input's and output's intensities and the output's local contrast, "
                               "by the regression the card holds (fitted on unseen subjects' errors; no extra "
                               "network pass); intensity: the spread of the synthesis of the input as it is and "
                               "through two random monotone intensity curves, as another protocol would change it; "
                               "flip: with and without a left-right flip (the image is their mean); auto (default): "
                               "error-model where the card holds one, else intensity. docs/results.md compares them",
                               UNCERTAINTY_METHODS,
                               flag="--uncertainty-method")

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


def write_options(options: InferenceOptions, path) -> None:
    """``options`` as JSON (the file the Slicer module gives its child process: ``--options-file``)."""
    path.write_text(json.dumps(asdict(options)))


def read_options(path) -> InferenceOptions:
    """The options of a JSON file from :func:`write_options`, checked as any other (unknown keys refused)."""
    try:
        values = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: not an inference options file ({exc})") from None
    known = {f.name for f in fields(InferenceOptions)}
    if not isinstance(values, dict) or set(values) - known:
        unknown = sorted(set(values) - known) if isinstance(values, dict) else values
        raise ConfigError(f"{path}: unknown inference settings {unknown}; expected some of {', '.join(sorted(known))}")
    return InferenceOptions(**values)


@dataclass
class Synthesis:
    """A synthetic volume, when asked for its voxel-wise uncertainty (target intensity units), and where the
    model's card records its training inputs, the untrusted mask (1: input tissue unlike any it was trained
    on, or unlike the other hemisphere the way lesions are: ``medsynth.trust``)."""

    image: Volume
    uncertainty: Volume | None = None
    warnings: list[str] = field(default_factory=list)  # the input lies outside the model's training domain
    untrusted: Volume | None = None
    brain: Volume | None = None  # with skull stripping: the brain mask the model ran inside (1 inside)
    uncertain_share: float | None = None  # with uncertainty: of the head above the model's calibrated error threshold
