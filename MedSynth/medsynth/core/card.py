"""The model card: everything needed to rebuild, run and judge a model, stored with its weights."""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
from dataclasses import dataclass, field
from typing import Any

from .. import __version__
from . import intensity
from .architectures import ENGINE_DIMS, ENGINES, architecture, names
from .citations import citations_for
from .contrasts import canonical_contrast
from .errors import ConfigError, InputError, ModelError

CARD_FORMAT = 2  # 2: the engine is named ("engine"); format 1 cards said spatial_dims, 0 for voxel-wise maps
LEGACY_ENGINES = {0: "voxelwise", 2: "slicewise", 3: "patchwise"}  # format 1's spatial_dims
MAX_HYPERPARAMETER = 4096  # channels, blocks, levels, bins: anything larger is a hostile or broken card
MAX_LIST = 64
INFERENCE_KEYS = {"plane", "context", "patch_size", "stride", "blend", "outside", "output_quantiles", "spacing",
                  "uncertainty_calibration"}
MAX_QUANTILES = 1025
MAX_INPUTS = 4

STRING_FIELDS = ("name", "architecture", "engine", "source_contrast", "target_contrast", "description",
                 "medsynth_version")
MAPPING_FIELDS = ("hyperparameters", "source_normalization", "target_intensity", "inference", "training", "metrics")
# The JSON type of every card field, in one place (a number where an object belongs would crash much later).
FIELD_TYPES: dict[str, type] = {**dict.fromkeys(STRING_FIELDS, str), **dict.fromkeys(MAPPING_FIELDS, dict),
                                "input_contrasts": list, "references": list, "format": int}
JSON_TYPE_NAMES = {str: "a string", dict: "an object (a mapping)", list: "a list", int: "an integer"}


def json_type(value: Any) -> str:
    """The JSON name of ``value``'s type, for messages."""
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return {str: "a string", dict: "an object", list: "a list", int: "an integer", float: "a number"}.get(
        type(value), type(value).__name__)


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


MAX_JSON_DEPTH = 32


def loads_json(text: str, where: str, what: str = "JSON") -> Any:
    """Strict JSON (no NaN/Infinity tokens), nested no deeper than ``MAX_JSON_DEPTH``; a ModelError otherwise."""

    def refuse_constant(token: str):
        raise ValueError(f"{token} is not a JSON number")

    try:
        data = json.loads(text, parse_constant=refuse_constant)
    except (json.JSONDecodeError, ValueError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise ModelError(f"{where}: {what} is not valid JSON ({reason})") from None
    if _depth(data) > MAX_JSON_DEPTH:
        raise ModelError(f"{where}: {what} is nested more than {MAX_JSON_DEPTH} levels deep")
    return data


def parse_json(path, what: str) -> Any:
    """A JSON file MedSynth reads (a regular file, strict JSON), or a ModelError naming it."""
    from .files import regular_file

    try:
        text = regular_file(path, f"{what} file").read_text()
    except (InputError, UnicodeDecodeError) as exc:
        raise ModelError(f"{path}: cannot read the {what}: {exc}") from None
    return loads_json(text, str(path), what)


def _depth(value: Any, level: int = 0) -> int:
    if level > MAX_JSON_DEPTH:
        return level
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level + 1)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level + 1)
    return level


@dataclass
class ModelCard:
    """Self-description of a model file (kept as JSON in the safetensors header).

    ``source_normalization`` says how each input volume is normalized before the network (fitted per
    volume). ``target_intensity`` is a *fitted* normalization whose inverse maps the network output back
    to a meaningful scale: the target contrast's typical range in the training data (MR), or HU (CT);
    its ``background`` is the raw intensity written outside the head.
    """

    name: str
    architecture: str
    hyperparameters: dict[str, Any]
    engine: str  # how medsynth.inference runs it: voxelwise, slicewise (2D networks) or patchwise (3D)
    source_contrast: str
    target_contrast: str
    source_normalization: dict[str, Any]
    target_intensity: dict[str, Any]
    inference: dict[str, Any] = field(default_factory=dict)
    input_contrasts: list[str] = field(default_factory=list)  # many-to-one: every input, source_contrast first
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    references: list[str] = field(default_factory=list)
    medsynth_version: str = __version__
    format: int = CARD_FORMAT

    def __post_init__(self) -> None:
        self._check_types()
        try:
            self.source_contrast = canonical_contrast(self.source_contrast)
            self.target_contrast = canonical_contrast(self.target_contrast)
            self._check_inputs()
            if self.engine not in ENGINES:
                raise ConfigError(f"engine must be one of {', '.join(ENGINES)}, got '{self.engine}'")
            intensity.validate(self.source_normalization, "source_normalization")
            intensity.validate(self.target_intensity, "target_intensity", fitted=True)
            self._check_architecture()
            self._check_inference()
        except ConfigError as exc:
            raise ModelError(f"model card '{self.name}': {exc}") from None

    def _check_types(self) -> None:
        """Every field has its JSON type (a list where a mapping belongs would crash much later)."""
        name = self.name if isinstance(self.name, str) else "?"
        for key, kind in FIELD_TYPES.items():
            value = getattr(self, key)
            if not isinstance(value, kind) or isinstance(value, bool):
                raise ModelError(f"model card '{name}': {key} must be {JSON_TYPE_NAMES[kind]}, got "
                                 f"{json_type(value)} ({value!r:.40})")
        if not self.name or len(self.name) > 200:
            raise ModelError("model card: name must be 1 to 200 characters")
        if not all(isinstance(r, str) for r in self.references):
            raise ModelError(f"model card '{name}': references must be a list of strings")

    def _check_architecture(self) -> None:
        """A known generator or baseline, the engine it declares, and hyperparameters of sane types and sizes
        (checked before any network is built: ``ngf: 1e6`` would otherwise allocate terabytes)."""
        known = names("generator") + names("baseline")
        if self.architecture not in known:
            raise ConfigError(f"unknown architecture '{self.architecture}'; expected one of {', '.join(known)}")
        for key, value in self.hyperparameters.items():
            values = value if isinstance(value, list) else [value]
            if isinstance(value, list) and len(value) > MAX_LIST:
                raise ConfigError(f"hyperparameter {key} lists {len(value)} values; at most {MAX_LIST}")
            for item in values:
                if isinstance(item, bool) or (isinstance(item, str) and len(item) <= 64):
                    continue
                if isinstance(item, int) and 0 <= item <= MAX_HYPERPARAMETER:
                    continue
                if isinstance(item, float) and math.isfinite(item) and 0 <= item <= 1:
                    continue  # rates and slopes
                raise ConfigError(f"hyperparameter {key} = {value!r}: expected integers in [0, {MAX_HYPERPARAMETER}], "
                                  "fractions in [0, 1], booleans or short names")
        declared = architecture(self.architecture).engine_for(self.hyperparameters)
        if self.engine != declared:
            raise ConfigError(f"architecture '{self.architecture}' runs {declared} but the card declares engine "
                              f"{self.engine}")

    def _check_inputs(self) -> None:
        if not isinstance(self.input_contrasts, list) or not all(isinstance(c, str) for c in self.input_contrasts):
            raise ConfigError("input_contrasts must be a list of contrast names")
        self.input_contrasts = [canonical_contrast(c) for c in self.input_contrasts]
        if not self.input_contrasts:
            return
        if self.input_contrasts[0] != self.source_contrast:
            raise ConfigError(f"input_contrasts must start with source_contrast {self.source_contrast}, got "
                              f"{self.input_contrasts}")
        if len(set(self.input_contrasts)) < len(self.input_contrasts) or self.target_contrast in self.input_contrasts:
            raise ConfigError(f"input_contrasts {self.input_contrasts} must be distinct and differ from the target "
                              f"{self.target_contrast}")
        if len(self.input_contrasts) > MAX_INPUTS:
            raise ConfigError(f"at most {MAX_INPUTS} input contrasts, got {len(self.input_contrasts)}")

    @property
    def inputs(self) -> list[str]:
        """The contrasts the model takes, in order (one for a one-to-one model)."""
        return list(self.input_contrasts) or [self.source_contrast]

    def check_request(self, inputs: int, uncertainty: bool = False, more: str = "", method: str = "auto") -> None:
        """Refuse a request this model cannot serve: another number of input volumes than it takes, an
        uncertainty map from a voxel-wise model (one value per intensity: no ensemble can disagree), or one by
        an error model its card does not hold (uncertainty ``method``). The one
        check the command, the pipeline, the engine and the Slicer module make; ``more`` says how to give
        missing inputs where the caller knows (e.g. "give the others with --input")."""
        if inputs != len(self.inputs):
            hint = f": {more}" if more and inputs < len(self.inputs) else ""
            raise InputError(f"model '{self.name}' ({self.mapping}) takes {len(self.inputs)} input volume(s), "
                             f"{', '.join(self.inputs)} in this order; got {inputs}{hint}")
        if uncertainty and self.engine == "voxelwise":
            raise InputError(f"model '{self.name}' maps each intensity to one value, so a test-time ensemble cannot "
                             "disagree: an uncertainty map needs a network model (2D or 3D)")
        if uncertainty:
            self.uncertainty_method(method)

    def _check_inference(self) -> None:
        from .limits import patch_problem
        from .options import BLEND_MODES, ERROR_MODEL, PLANES, error_model_size

        unknown = sorted(set(self.inference) - INFERENCE_KEYS)
        if unknown:
            raise ConfigError(f"unknown inference setting(s) {', '.join(unknown)}; expected {sorted(INFERENCE_KEYS)}")
        settings = self.inference
        checks = [
            ("plane", lambda v: v in (*PLANES, "all"), f"one of {', '.join(PLANES)} or all"),
            ("context", lambda v: isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 16,
             "0 to 16 slices"),
            ("blend", lambda v: v in BLEND_MODES, f"one of {', '.join(BLEND_MODES)}"),
            ("outside", lambda v: v == "background", "'background'"),
            ("output_quantiles", _quantiles, f"a non-decreasing list of 2 to {MAX_QUANTILES} finite numbers"),
            ("spacing", lambda v: isinstance(v, (int, float)) and 0.05 <= v <= 20, "a voxel size in mm, 0.05 to 20"),
            ("uncertainty_calibration", _uncertainty_calibration,
             "{method: error-model, intensity or flip, scale: > 0, threshold: > 0, measured: text, and for the "
             "error-model coefficients: [numbers]}, or a list of these for distinct methods"),
        ]
        for key in ("patch_size", "stride"):  # checked as the command line and the Slicer module check them
            problem = patch_problem(key, settings.get(key), f"inference.{key}")
            if problem:
                raise ConfigError(problem)
        for key, ok, wanted in checks:
            if key in settings and (isinstance(settings[key], bool) or not ok(settings[key])):
                raise ConfigError(f"inference.{key} must be {wanted}, got {settings[key]!r}")
        found = self.uncertainty_calibration(ERROR_MODEL)
        wanted = error_model_size(len(self.inputs))
        if found is not None and len(found["coefficients"]) != wanted:
            raise ConfigError(f"inference.uncertainty_calibration: the error model of a model with "
                              f"{len(self.inputs)} input(s) has {wanted} coefficients, got "
                              f"{len(found['coefficients'])}")

    @property
    def mapping(self) -> str:
        return f"{'+'.join(self.inputs)}->{self.target_contrast}"

    @property
    def spatial_dims(self) -> int | None:
        """The network's spatial dimensions (2 slice-wise, 3 patch-wise); None for a voxel-wise map."""
        return ENGINE_DIMS.get(self.engine)

    @property
    def background(self) -> float:
        return float(self.target_intensity.get("background", 0.0))

    def uncertainty_calibration(self, method: str) -> dict[str, Any] | None:
        """The calibration measured for uncertainty ``method`` on unseen subjects, None without one."""
        return next((e for e in _entries(self.inference.get("uncertainty_calibration")) if e["method"] == method),
                    None)

    def uncertainty_method(self, requested: str) -> str:
        """The method ``requested`` stands for with this model: ``auto`` is the error model where the card holds
        one, else the intensity ensemble."""
        from .options import ERROR_MODEL

        if requested == "auto":
            return ERROR_MODEL if self.uncertainty_calibration(ERROR_MODEL) else "intensity"
        if requested == ERROR_MODEL and not self.uncertainty_calibration(ERROR_MODEL):
            raise InputError(f"model '{self.name}' has no error model in its card (it is fitted on unseen subjects' "
                             "errors by scripts/study_uncertainty.py); choose the uncertainty method intensity or flip")
        return requested

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        """Strict JSON: metrics that could not be computed (NaN, inf) are written as null."""
        return json.dumps(_finite(self.to_dict()), indent=2, sort_keys=True, allow_nan=False)

    @classmethod
    def from_dict(cls, data: Any, where: str = "model card") -> ModelCard:
        if not isinstance(data, dict):
            raise ModelError(f"{where}: expected a JSON object, got {type(data).__name__}")
        data = _upgraded(data, where)
        fields = {f.name for f in dataclasses.fields(cls)}
        required = {f.name for f in dataclasses.fields(cls) if f.default is dataclasses.MISSING
                    and f.default_factory is dataclasses.MISSING}
        missing = sorted(required - data.keys())
        if missing:
            raise ModelError(f"{where}: missing field(s) {', '.join(missing)}")
        unknown = sorted(data.keys() - fields)
        if unknown:
            raise ModelError(f"{where}: unknown field(s) {', '.join(unknown)}")
        version = data.get("format", CARD_FORMAT)  # its type is checked with every other field's
        if isinstance(version, int) and not isinstance(version, bool) and version > CARD_FORMAT:
            raise ModelError(
                f"{where}: card format {data['format']} is newer than this MedSynth ({__version__}) reads; upgrade"
            )
        return cls(**data)

    @classmethod
    def from_json(cls, text: str, where: str = "model card") -> ModelCard:
        return cls.from_dict(loads_json(text, where, "card"), where)

    def summary(self) -> str:
        """A few human-readable lines (for `medsynth models` and the Slicer module)."""
        lines = [
            f"{self.name}: {self.mapping} ({self.architecture}, {self.engine})",
            f"  {self.description}" if self.description else "",
        ]
        if self.training:
            data = self.training.get("data") or self.training.get("dataset")
            if data:
                lines.append(f"  trained on: {data}")
        for split, values in self.metrics.items():
            if isinstance(values, dict):
                shown = ", ".join(f"{k} {v:.4g}" for k, v in values.items() if isinstance(v, (int, float)))
                if shown:  # nested per-subject tables are left to the full card
                    lines.append(f"  {split}: {shown}")
        methods = ", ".join(e["method"] for e in _entries(self.inference.get("uncertainty_calibration")))
        if methods:
            lines.append(f"  uncertainty calibrated on unseen subjects: {methods} (the default, auto, makes the "
                         f"{self.uncertainty_method('auto')} map)")
        lines += [f"  cite: {reference}" for reference in citations_for(self.architecture, self.references)]
        return "\n".join(line for line in lines if line)


def _upgraded(data: dict[str, Any], where: str) -> dict[str, Any]:
    """A format 1 card (``spatial_dims``: 0 voxel-wise, 2, 3) in today's terms (``engine``)."""
    if "spatial_dims" not in data or "engine" in data:
        return data
    dims = data["spatial_dims"]
    if isinstance(dims, bool) or dims not in LEGACY_ENGINES:
        raise ModelError(f"{where}: spatial_dims must be one of {sorted(LEGACY_ENGINES)}, got {dims!r}")
    upgraded = {k: v for k, v in data.items() if k != "spatial_dims"}
    upgraded.update(engine=LEGACY_ENGINES[dims], format=CARD_FORMAT)
    return upgraded


def _quantiles(value: Any) -> bool:
    return (isinstance(value, list) and 2 <= len(value) <= MAX_QUANTILES
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value)
            and all(a <= b for a, b in itertools.pairwise(value)))


def _uncertainty_calibration(value) -> bool:
    """``inference.uncertainty_calibration``: per uncertainty method measured on unseen subjects, its calibration
    (``medsynth.flagging.calibration``), and for the error model its regression (``medsynth.error_model``); one
    such entry, or a list of them for distinct methods."""
    from .options import ERROR_MODEL, UNCERTAINTY_METHODS

    entries = _entries(value)
    methods = [e.get("method") if isinstance(e, dict) else None for e in entries]
    return (0 < len(entries) <= len(UNCERTAINTY_METHODS) and len(set(methods)) == len(methods)
            and all(_calibration_entry(e, ERROR_MODEL, UNCERTAINTY_METHODS[1:]) for e in entries))


def _entries(value) -> list:
    """``inference.uncertainty_calibration`` as a list: cards hold one entry (as before the error model) or
    several."""
    return [] if value is None else value if isinstance(value, list) else [value]


def _calibration_entry(value, error_model: str, methods: tuple[str, ...]) -> bool:
    if not isinstance(value, dict) or value.get("method") not in methods:
        return False
    extra = {"coefficients"} if value["method"] == error_model else set()
    keys = {"method", "scale", "threshold", "measured"} | extra
    numbers = [value.get(k) for k in ("scale", "threshold")]
    coefficients = value.get("coefficients", [])
    return (set(value) == keys and isinstance(value["measured"], str) and isinstance(coefficients, list)
            and all(_number(n) and 0 < n < 1e6 for n in numbers)
            and all(_number(c) and math.isfinite(c) for c in coefficients))


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
