"""Training configuration: typed sections with seed 000's recipe as defaults, from YAML/JSON plus overrides.

An architecture may bring its own recipe (its declaration in ``medsynth.core.architectures``: Nie et al.'s losses
for the 3D generators), applied over the defaults and under whatever the file and the overrides say.

A file holds any subset of the sections below; ``--set section.key=value`` overrides a single value (parsed
as YAML, so ``--set optim.lr=2e-4`` gives a float). Unknown keys are errors, listing the valid ones. The
resolved configuration is written to the run folder as ``config.yaml``, which ``--config`` accepts back.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import types
import typing
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from ..core.architectures import architecture as declared
from ..core.contrasts import canonical_contrast
from ..core.errors import ConfigError, InputError, ModelError
from ..core.files import regular_file
from ..core.options import ALL_PLANES, BLEND_MODES, PLANES

NORMALIZATIONS = ("auto", "minmax", "zscore", "percentile", "nyul")


@dataclass
class DataConfig:
    root: str = ""  # IXI-style folder or CSV list file
    patterns: list[str] = field(default_factory=list)  # e.g. "{subject}_{contrast}_bet.nii.gz"
    source: str = "T1"
    target: str = "T2"
    sources: list[str] = field(default_factory=list)  # many-to-one: every input (e.g. [T1, T2]); source = the first
    plane: str = "axial"  # slices are taken in this anatomical plane ("all": the three, fused at inference)
    context: int = 0  # neighbouring slices on each side given as extra input channels (2.5D)
    size: int = 256  # 2D: slices are cropped / padded to size x size around the head for batching
    patch_size: int = 32  # 3D: cubic training patches (seeds 001/002: 32^3)
    foreground_bias: float = 0.9  # 3D: fraction of patches centred on a head voxel (the rest anywhere)
    normalization: str = "auto"  # auto (2D: seed 000's min-max to [-1, 1]; 3D: z-score), minmax, zscore or
    # percentile (the foreground's 1st-99th percentiles to [-1, 1]: robust to another site's scale) or nyul
    # (the input's histogram standardized to landmarks learned over the training subjects; target: percentile)
    standard: list[float] = field(default_factory=list)  # nyul: the learned landmarks (filled when a run starts)
    min_foreground: float = 0.02  # skip slices whose head mask covers less than this fraction
    validation: float = 0.2  # fraction of subjects (or a list of subject names)
    test: float = 0.2
    split_seed: int = 0
    subjects: dict[str, list[str]] | None = None  # explicit {"train": [...], "validation": [...], "test": [...]}
    # unpaired objectives (cyclegan, unit): the target domain's own folder (empty: root) and file patterns,
    # and the in-plane voxel size (mm) every volume of both domains is resampled to
    target_root: str = ""
    target_patterns: list[str] = field(default_factory=list)
    spacing: float = 1.0

    @property
    def inputs(self) -> list[str]:
        """The contrasts a model takes, in order: ``sources`` for a many-to-one model, else ``[source]``."""
        return list(self.sources) or [self.source]


@dataclass
class ModelConfig:
    architecture: str = "pgan"
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    discriminator: str = "patchgan"
    discriminator_hyperparameters: dict[str, Any] = field(default_factory=dict)
    calibrate_output: bool = False  # map the output's histogram inside the head to the training targets'


@dataclass
class LossConfig:
    adversarial: str = "bce"  # bce or lsgan
    adversarial_weight: float = 1.0
    l1: float = 100.0
    l2: float = 0.0
    gdl: float = 0.0  # gradient difference loss weight
    gdl_power: float = 2.0
    perceptual: float = 0.0  # seed 000 uses it; needs vgg_weights
    vgg_weights: str | None = None
    vgg_layer: str = "relu2_2"
    discriminator_factor: float = 0.5  # seed 000 halves the discriminator loss
    masked: bool = False  # L1 / L2 inside the foreground only (the output outside it is set to background)


@dataclass
class OptimConfig:
    epochs: int = 100
    decay_epochs: int | None = None  # linear decay to 0 over the last N epochs (default: half)
    lr: float = 1e-4
    beta1: float = 0.5
    beta2: float = 0.999
    batch_size: int = 1
    slices_per_epoch: int | None = None  # 2D: sample this many slices per epoch instead of all
    patches_per_epoch: int = 512  # 3D: random patches drawn per epoch (per cascade stage)


@dataclass
class AugmentConfig:
    flip: bool = True  # left-right flip (the other flips would change anatomy's orientation)
    rotate: float = 5.0  # degrees, uniform +-
    scale: float = 0.05  # relative, uniform +-
    shift: float = 0.03  # fraction of the slice, uniform +-
    intensity: float = 0.1  # source contrast jitter (gamma and scale), 0 = off
    curve: float = 0.0  # chance of a random monotone intensity curve on the source (another protocol)
    bias_field: float = 0.0  # largest coefficient of a random smooth bias field on the source, 0 = off
    probability: float = 0.5  # chance that a slice is transformed geometrically


@dataclass
class CycleGANConfig:
    """The cyclegan objective's settings, with the seed's names (seed 004; its beta_1, beta_2, batch_size and
    epochs are optim.beta1, optim.beta2, optim.batch_size and optim.epochs). Defaults: Zhu et al.'s."""

    lambda_ABA: float = 10.0  # cycle source -> target -> source
    lambda_BAB: float = 10.0  # cycle target -> source -> target
    lambda_identity: float = 0.5  # identity loss, relative to the cycle weight of the generator's output domain
    learning_rate_G: float = 2e-4
    learning_rate_D: float = 2e-4
    generator_iterations: int = 1  # updates of the generators per batch
    discriminator_iterations: int = 1  # updates of the discriminators per batch
    synthetic_pool_size: int = 50  # earlier synthetic images the discriminators also see (0: none)

    def checks(self) -> list[tuple[bool, str]]:
        """This section's checks (condition, message), which ``TrainConfig`` runs with every other section's."""
        c = self
        return [
            (all(v >= 0 for v in (c.lambda_ABA, c.lambda_BAB, c.lambda_identity)),
             "cyclegan.lambda_ABA, lambda_BAB and lambda_identity must be 0 or more"),
            (0 < c.learning_rate_G <= 1 and 0 < c.learning_rate_D <= 1,
             f"cyclegan.learning_rate_G and learning_rate_D must be in (0, 1], got {c.learning_rate_G}, "
             f"{c.learning_rate_D}"),
            (1 <= c.generator_iterations <= 100 and 1 <= c.discriminator_iterations <= 100,
             "cyclegan.generator_iterations and discriminator_iterations must be between 1 and 100"),
            (0 <= c.synthetic_pool_size <= 10_000,
             f"cyclegan.synthetic_pool_size must be between 0 and 10000, got {c.synthetic_pool_size}"),
        ]


@dataclass
class UNITConfig:
    """The unit objective's settings (seed 003): UNIT's loss weights (Liu et al.'s defaults) and the seed's
    three improvements, each a switch."""

    gan_w: float = 1.0  # adversarial
    recon_x_w: float = 10.0  # within-domain reconstruction (VAE)
    recon_kl_w: float = 0.01  # KL of the latent code (VAE)
    recon_x_cyc_w: float = 10.0  # cycle reconstruction
    recon_kl_cyc_w: float = 0.01  # KL of the cycle's latent codes
    self_attention: str = "none"  # SAGAN block in the encoder (the seed's best), the generator, or none
    spectral_norm: list[str] = field(default_factory=list)  # any of encoder, generator, discriminator
    charbonnier: bool = False  # sqrt(x^2 + eps^2) instead of L1 for the reconstruction terms
    charbonnier_eps: float = 1e-3

    def checks(self) -> list[tuple[bool, str]]:
        """This section's checks (condition, message), which ``TrainConfig`` runs with every other section's."""
        u = self
        return [
            (all(w >= 0 for w in (u.gan_w, u.recon_x_w, u.recon_kl_w, u.recon_x_cyc_w, u.recon_kl_cyc_w)),
             "unit loss weights (gan_w, recon_x_w, recon_kl_w, recon_x_cyc_w, recon_kl_cyc_w) must be 0 or more"),
            (u.self_attention in ("none", "encoder", "generator"),
             f"unit.self_attention must be none, encoder or generator, got '{u.self_attention}'"),
            (set(u.spectral_norm) <= {"encoder", "generator", "discriminator"},
             f"unit.spectral_norm takes encoder, generator and/or discriminator, got {u.spectral_norm}"),
            (0 < u.charbonnier_eps <= 1, f"unit.charbonnier_eps must be in (0, 1], got {u.charbonnier_eps}"),
        ]


@dataclass
class ValidationConfig:
    every: int = 1  # epochs
    max_subjects: int | None = None
    samples: bool = True  # write a mosaic of one validation slice each validation
    stride: int | str = "full"  # 3D: sliding-window stride in voxels, or "full" (one whole-volume pass)
    blend: str = "gaussian"  # 3D: how overlapping windows are combined (gaussian or mean)


@dataclass
class TrainConfig:
    name: str = ""
    output: str = "runs/medsynth"
    seed: int = 0
    device: str = "auto"
    init: str = ""  # fine-tune this model (bundled name or file): its architecture, normalization and weights
    amp: bool = True  # mixed precision on GPU (bf16 where supported, else fp16 with loss scaling)
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    validation: ValidationConfig = field(default_factory=ValidationConfig)
    cyclegan: CycleGANConfig = field(default_factory=CycleGANConfig)
    unit: UNITConfig = field(default_factory=UNITConfig)

    def __post_init__(self) -> None:
        d, o = self.data, self.optim
        try:
            d.source, d.target = canonical_contrast(d.source), canonical_contrast(d.target)
            d.sources = [canonical_contrast(c) for c in d.sources]
        except ConfigError as exc:
            raise ConfigError(f"data: {exc}") from None
        if d.sources:
            if len(set(d.sources)) < len(d.sources) or d.target in d.sources or len(d.sources) > 4:
                raise ConfigError(f"data.sources must be 1 to 4 distinct contrasts other than the target {d.target}, "
                                  f"got {d.sources}")
            d.source = d.sources[0]
        if d.source == d.target:
            raise ConfigError(f"data: source and target are both {d.source}")
        if d.plane not in (*PLANES, ALL_PLANES):
            raise ConfigError(f"data.plane must be one of {', '.join(PLANES)} or {ALL_PLANES}, got '{d.plane}'")
        _check_finite(self, "")
        a, loss = self.augment, self.loss
        checks = [
            (1 <= o.epochs <= 100_000, f"optim.epochs must be between 1 and 100000, got {o.epochs}"),
            (1 <= o.batch_size <= 4096, f"optim.batch_size must be between 1 and 4096, got {o.batch_size}"),
            (0 < o.lr <= 1, f"optim.lr must be in (0, 1], got {o.lr}"),
            (0 <= o.beta1 < 1 and 0 <= o.beta2 < 1,
             f"optim.beta1 and beta2 must be in [0, 1), got {o.beta1}, {o.beta2}"),
            (o.slices_per_epoch is None or o.slices_per_epoch >= 1,
             f"optim.slices_per_epoch must be at least 1 (or empty for every slice), got {o.slices_per_epoch}"),
            (d.split_seed >= 0, f"data.split_seed must be 0 or more, got {d.split_seed}"),
            (d.context <= 16, f"data.context must be at most 16 slices on each side, got {d.context}"),
            (d.size <= 4096, f"data.size must be at most 4096 pixels, got {d.size}"),
            (d.patch_size <= 512, f"data.patch_size must be at most 512 voxels, got {d.patch_size}"),
            (0 <= d.min_foreground < 1, f"data.min_foreground must be in [0, 1), got {d.min_foreground}"),
            (all(not isinstance(v, float) or 0 <= v < 1 for v in (d.validation, d.test)),
             f"data.validation and data.test fractions must be in [0, 1), got {d.validation}, {d.test}"),
            (all(w >= 0 for w in (loss.adversarial_weight, loss.l1, loss.l2, loss.gdl, loss.perceptual,
                                  loss.discriminator_factor)), "loss weights must be 0 or more"),
            (0 <= a.probability <= 1, f"augment.probability must be in [0, 1], got {a.probability}"),
            (0 <= a.rotate <= 180 and 0 <= a.scale < 1 and 0 <= a.shift < 1 and 0 <= a.intensity < 1,
             "augment ranges: rotate in [0, 180] degrees, scale, shift and intensity in [0, 1)"),
            (0 <= a.curve <= 1 and 0 <= a.bias_field <= 1,
             f"augment.curve (a chance) and augment.bias_field (a coefficient) must be in [0, 1], got {a.curve}, "
             f"{a.bias_field}"),
            (self.validation.max_subjects is None or self.validation.max_subjects >= 1,
             f"validation.max_subjects must be at least 1, got {self.validation.max_subjects}"),
            (o.decay_epochs is None or 0 <= o.decay_epochs <= o.epochs,
             f"optim.decay_epochs must be between 0 and epochs ({o.epochs}), got {o.decay_epochs}"),
            (d.context >= 0, f"data.context must be 0 or more slices, got {d.context}"),
            (d.size >= 8, f"data.size must be at least 8 pixels, got {d.size}"),
            (d.patch_size >= 8, f"data.patch_size must be at least 8 voxels, got {d.patch_size}"),
            (0.05 <= d.spacing <= 20, f"data.spacing must be a voxel size in mm between 0.05 and 20, got {d.spacing}"),
            (0 <= d.foreground_bias <= 1, f"data.foreground_bias must be in [0, 1], got {d.foreground_bias}"),
            (d.normalization in NORMALIZATIONS,
             f"data.normalization must be one of {', '.join(NORMALIZATIONS)}, got '{d.normalization}'"),
            (d.normalization != "nyul" or len(d.inputs) == 1,
             f"data.normalization nyul standardizes one input contrast; this model takes {len(d.inputs)} "
             f"({', '.join(d.inputs)}): use percentile"),
            (not d.standard or d.normalization == "nyul",
             f"data.standard holds nyul landmarks, but data.normalization is '{d.normalization}'"),
            (o.patches_per_epoch >= 1, f"optim.patches_per_epoch must be at least 1, got {o.patches_per_epoch}"),
            (self.validation.stride == "full" or (isinstance(self.validation.stride, int)
                                                   and self.validation.stride >= 1),
             f"validation.stride must be a positive number of voxels or 'full', got {self.validation.stride!r}"),
            (self.validation.blend in BLEND_MODES,
             f"validation.blend must be one of {', '.join(BLEND_MODES)}, got '{self.validation.blend}'"),
            (self.validation.every >= 1, f"validation.every must be at least 1, got {self.validation.every}"),
        ]
        # an objective's own section (cyclegan, unit) declares its checks beside its settings
        sections = [getattr(self, f.name) for f in fields(self)]
        checks += [check for section in sections if hasattr(section, "checks") for check in section.checks()]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)
        self._check_target_root()

    def _check_target_root(self) -> None:
        """A target domain of its own is what unpaired architectures learn from; a paired one would ignore it."""
        from ..core.architectures import names
        from ..core.errors import ModelError

        try:
            unpaired = declared(self.model.architecture).unpaired
        except ModelError:
            return  # an unknown architecture is reported, with the known ones, where the network is built
        if self.data.target_root and not unpaired:
            raise ConfigError(f"data.target_root (--target-data) is for unpaired architectures "
                              f"({', '.join(names('generator', trainable=True, unpaired=True))}); "
                              f"'{self.model.architecture}' trains on co-registered pairs of data.root")

    @property
    def in_channels(self) -> int:
        return len(self.data.inputs) * (2 * self.data.context + 1)

    @property
    def decay_epochs(self) -> int:
        return self.optim.epochs // 2 if self.optim.decay_epochs is None else self.optim.decay_epochs

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def save(self, path: Path) -> None:
        path.write_text(yaml.safe_dump(self.to_dict(), sort_keys=False))


def _check_finite(config: Any, where: str) -> None:
    """Every number of the configuration must be finite (NaN passes every comparison check unnoticed)."""
    for item in dataclasses.fields(config):
        value = getattr(config, item.name)
        if dataclasses.is_dataclass(value):
            _check_finite(value, f"{where}{item.name}.")
        elif isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"{where}{item.name} must be a finite number, got {value}")


def _build(cls: type, values: dict[str, Any], where: str) -> Any:
    section = where.rstrip(".") or "configuration"
    if not isinstance(values, dict):
        raise ConfigError(f"{section}: expected a mapping of settings, got {type(values).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise ConfigError(f"{section}: unknown setting(s) {', '.join(unknown)}; valid: {', '.join(fields)}")
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, value in values.items():
        sub = fields[name].default_factory if fields[name].default_factory is not dataclasses.MISSING else None
        if sub is not None and dataclasses.is_dataclass(sub):
            kwargs[name] = _build(sub, value, f"{where}{name}.")
        else:
            kwargs[name] = _coerce(value, hints[name], f"{where}{name}")
    return cls(**kwargs)


def _coerce(value: Any, hint: Any, where: str) -> Any:
    """Check scalar settings against their type; accept numbers written as text (YAML reads ``2e-4`` as text)."""
    options = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else (hint,)
    if value is None and type(None) in options:
        return None
    if typing.get_origin(hint) is dict and not isinstance(value, dict):
        raise ConfigError(f"{where}: expected a mapping of settings (name: value), got {type(value).__name__}")
    for kind in (bool, int, float, str):
        if kind not in options:
            continue
        if isinstance(value, kind) and not (kind in (int, float) and isinstance(value, bool)):
            return float(value) if kind is float else value
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str) and kind in (int, float):
            try:
                return kind(value)
            except ValueError:
                pass
    if any(kind in options for kind in (bool, int, float, str)):
        wanted = " or ".join(k.__name__ for k in options if k is not type(None))
        raise ConfigError(f"{where}: expected {wanted}, got {value!r}")
    return value


def _set(tree: dict[str, Any], dotted: str, value: Any) -> None:
    keys = dotted.split(".")
    node = tree
    for key in keys[:-1]:
        node = node.setdefault(key, {})
        if not isinstance(node, dict):
            raise ConfigError(f"cannot set '{dotted}': '{key}' is not a section")
    node[keys[-1]] = value


def _merged(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """``top`` over ``base``, section by section."""
    out = dict(base)
    for key, value in top.items():
        out[key] = _merged(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def parse_override(text: str) -> tuple[str, Any]:
    """``"optim.lr=2e-4"`` -> ``("optim.lr", 0.0002)``; values are parsed as YAML."""
    if "=" not in text:
        raise ConfigError(f"override '{text}' must look like section.key=value (e.g. optim.lr=2e-4)")
    key, raw = text.split("=", 1)
    try:
        return key.strip(), yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError as exc:
        raise ConfigError(f"override '{text}': cannot parse the value ({exc})") from None


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """Defaults, updated by the YAML/JSON file at ``path``, then by ``{"section.key": value}`` overrides."""
    tree: dict[str, Any] = {}
    if path is not None:
        try:
            path = regular_file(path, "configuration file")
        except InputError as exc:
            raise ConfigError(str(exc)) from None
        try:
            text = path.read_text()
            tree = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        except (json.JSONDecodeError, yaml.YAMLError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid {'JSON' if path.suffix == '.json' else 'YAML'} ({exc})") from None
        tree = tree or {}
        if not isinstance(tree, dict):
            raise ConfigError(f"{path}: expected a mapping of settings at the top level")
    for key, value in (overrides or {}).items():
        _set(tree, key, value)
    if tree.get("init"):
        base = init_settings(str(tree["init"]))
        _check_init(base, tree, str(tree["init"]))
        tree = _merged(base, tree)
    model = tree.get("model")
    architecture = model.get("architecture", ModelConfig.architecture) if isinstance(model, dict) else None
    tree = _merged(recipe_for(architecture), tree)
    try:
        return _build(TrainConfig, tree, "")
    except TypeError as exc:
        raise ConfigError(f"configuration: {exc}") from None


def recipe_for(name: str | None) -> dict[str, Any]:
    """The settings architecture ``name`` is trained with by default: its declaration's paper recipe (``{}``:
    the global defaults; an unknown name is reported where the network is built)."""
    try:
        return copy.deepcopy(declared(name).recipe) if name else {}
    except ModelError:
        return {}


FINE_TUNING = {"optim": {"epochs": 10, "lr": 5e-5}}  # a short, gentle recipe: the model already knows the mapping


def init_settings(model: str) -> dict[str, Any]:
    """The settings a run fine-tuning ``model`` starts from: its card's architecture, hyperparameters,
    mapping, normalization and slice settings, and the short fine-tuning recipe (read without torch)."""
    from ..core.catalog import resolve_model
    from ..core.errors import MedSynthError
    from ..core.model_file import read_card

    try:
        card = read_card(resolve_model(model))
    except MedSynthError as exc:
        raise ConfigError(f"init: {exc}") from None
    if card.engine == "voxelwise":
        raise ConfigError(f"init: '{card.name}' is a non-learned baseline ({card.architecture}); nothing to fine-tune")
    kind = card.source_normalization.get("kind")
    data = {"source": card.source_contrast, "target": card.target_contrast,
            "normalization": kind if kind in NORMALIZATIONS else "auto"}
    if kind == "nyul":  # the model's own standard: the weights were learned on that scale
        data["standard"] = list(card.source_normalization["standard"])
    if len(card.inputs) > 1:
        data["sources"] = card.inputs
    if card.engine == "slicewise":
        data.update(plane=card.inference.get("plane", "axial"), context=int(card.inference.get("context", 0)))
    hyper = {k: v for k, v in card.hyperparameters.items() if k != "in_channels"}
    return _merged(FINE_TUNING, {"model": {"architecture": card.architecture, "hyperparameters": hyper},
                                 "data": data})


def _check_init(base: dict[str, Any], tree: dict[str, Any], model: str) -> None:
    """What the model to fine-tune fixes may not be set otherwise."""
    for section, key in (("model", "architecture"), ("data", "source"), ("data", "target")):
        given = tree.get(section, {}).get(key) if isinstance(tree.get(section), dict) else None
        fixed = base[section][key]
        if given is not None and canonical_or_same(given) != canonical_or_same(fixed):
            raise ConfigError(f"{section}.{key} is {given}, but the model to fine-tune ('{model}') is {fixed}: leave "
                              f"{section}.{key} unset (it comes from the model) or choose another model")


def canonical_or_same(value: Any) -> Any:
    try:
        return canonical_contrast(value)
    except ConfigError:
        return value
