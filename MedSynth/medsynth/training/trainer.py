"""The paired GAN training loop: one engine for 2D slice models (pix2pix / pGAN) and 3D patch models
(Nie et al.'s dilated FCN, ResGAN, auto-context cascades).

Each iteration updates the discriminator on a mini-batch of half synthetic, half real (source, target)
pairs, then the generator on its weighted losses (adversarial, L1, L2, gradient difference, perceptual).
The learning rate stays constant, then decays linearly (seed 000: 50 + 50 epochs). A cascade is trained
stage by stage (seed 001): each stage gets ``optim.epochs`` epochs, its own discriminator and optimizers,
and sees the best of the stages before it, frozen. After each epoch the state is saved; all randomness of
an epoch (order, patches, augmentation, dropout) is seeded from (run seed, epoch, position), so a run
resumed from its last state continues exactly as if it had never stopped, in one process or many.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
import math
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel

from .. import __version__
from ..baselines import typical_target_intensity
from ..card import ModelCard
from ..checkpoint import load_model, save_model
from ..domain import summarize
from ..errors import Cancelled, ConfigError
from ..losses import AdversarialLoss, PerceptualLoss, gradient_difference_loss
from ..models import build_model, get_architecture
from ..models.nie import AutoContextCascade
from ..progress import CancelToken, ProgressCallback
from ..run_folder import BEST_FILE, MODEL_FILE, SPLIT_FILE, STATE_FILE, holds_state
from . import distributed
from .augment import augment, epoch_seed
from .config import TrainConfig
from .data import (
    SliceDataset,
    discover,
    load_subject,
    normalization_for,
    read_split,
    split_subjects,
    training_planes,
    write_split,
)
from .logs import RunLog, sample_mosaic
from .patches import PatchDataset
from .state import load_state, save_state
from .validate import evaluate

log = logging.getLogger(__name__)
OUTPUT_QUANTILES = 101


def lr_factor(epoch: int, epochs: int, decay_epochs: int) -> float:
    """1 for the first ``epochs - decay_epochs`` epochs, then linearly down towards 0 (pix2pix's rule)."""
    start = epochs - decay_epochs
    return 1.0 if epoch < start else (epochs - epoch) / (decay_epochs + 1)


class Trainer:
    def __init__(self, config: TrainConfig, context: distributed.Context | None = None,
                 progress: ProgressCallback | None = None, cancel: CancelToken | None = None,
                 epoch_callback: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.config, self.context = config, context or distributed.Context(device=torch.device("cpu"))
        self.progress, self.cancel, self.epoch_callback = progress, cancel, epoch_callback
        self.folder = Path(config.output)
        self.device = self.context.device

    # ---- setup ---------------------------------------------------------------------------------------
    def _prepare(self, resume: bool) -> None:
        cfg = self.config
        state = self.folder / STATE_FILE
        if self.folder.exists() and not self.folder.is_dir():
            raise ConfigError(f"{self.folder}: is a file; the run's output (output, --out) must be a folder")
        held = holds_state(self.folder)
        if resume and not held:
            raise ConfigError(f"{self.folder}: no training state ({STATE_FILE}) to resume from")
        if not resume and held:
            raise ConfigError(f"{self.folder}: already holds a training run; resume it with --resume {self.folder}, "
                              f"start it afresh with --resume {self.folder} --restart, or choose another output folder")
        self.subjects = discover(cfg.data)
        split_file = self.folder / SPLIT_FILE
        self.split = read_split(split_file) if resume else split_subjects(sorted(self.subjects), cfg.data)
        absent = sorted(s for names in self.split.values() for s in names if s not in self.subjects)
        if absent:
            raise ConfigError(f"{self.folder}: the run's subjects {', '.join(absent[:3])}"
                              f"{' and more' if len(absent) > 3 else ''} are not in {cfg.data.root}: resume with the "
                              "run's own dataset, or start a new run for this one")
        if self.context.main and not resume:
            self.folder.mkdir(parents=True, exist_ok=True)
            cfg.save(self.folder / "config.yaml")
            write_split(split_file, self.split, self.subjects)
        log.info("subjects: %d train, %d validation, %d test", *(len(self.split[k]) for k in self.split))
        self._build()
        if cfg.init and not resume:
            self._start_from(cfg.init)
        planes = training_planes(cfg.data) if self.spatial_dims == 2 else (None,)
        self.train_subjects = [self._load(s, plane) for s in self.split["train"] for plane in planes]
        val = self.split["validation"][: cfg.validation.max_subjects]
        self.val_subjects = [self._load(s) for s in val] if self.context.main else []
        per_step = cfg.optim.batch_size * self.context.world
        if self.spatial_dims == 3:
            self.dataset = PatchDataset(self.train_subjects, cfg.data.patch_size, cfg.data.foreground_bias)
            self.per_epoch = cfg.optim.patches_per_epoch
        else:
            self.dataset = SliceDataset(self.train_subjects, cfg.data)
            self.per_epoch = cfg.optim.slices_per_epoch
            if len(self.dataset) < per_step:
                raise ConfigError(f"only {len(self.dataset)} training slice(s) for a batch of {per_step}; lower "
                                  "optim.batch_size")
        self.epoch, self.best, self.best_epoch, history = 0, -math.inf, -1, []
        if resume:
            extra = load_state(state, self.networks, self.optimizers)
            self.epoch, self.best, self.best_epoch = extra["epoch"], extra["best"], extra["best_epoch"]
            history = extra["history"]
            log.info("resuming %s after epoch %d", self.folder, self.epoch)
        self.stage = None
        self.log = RunLog(self.folder, history, tensorboard=self.context.main) if self.context.main else None

    def generator_hyperparameters(self) -> dict[str, Any]:
        hyper = dict(self.config.model.hyperparameters)
        if "in_channels" not in inspect.signature(get_architecture(self.config.model.architecture)).parameters:
            return hyper  # not an image network (a baseline): _build says so
        hyper.setdefault("in_channels", self.config.in_channels)
        if hyper["in_channels"] != self.config.in_channels:
            raise ConfigError(f"model.hyperparameters.in_channels={hyper['in_channels']} but data.context="
                              f"{self.config.data.context} gives {self.config.in_channels} input channel(s)")
        return hyper

    def _load(self, name: str, plane: str | None = None):
        return load_subject(name, self.subjects[name], self.config.data, self.spatial_dims, plane)

    def _build(self) -> None:
        cfg = self.config
        torch.manual_seed(cfg.seed)
        self.generator = build_model(cfg.model.architecture, **self.generator_hyperparameters()).to(self.device)
        if not any(p.requires_grad for p in self.generator.parameters()):
            raise ConfigError(f"architecture '{cfg.model.architecture}' has nothing to train (a non-learned "
                              "baseline); choose pgan, unet, convnet, nie or nie_cascade")
        self.spatial_dims = int(getattr(self.generator, "spatial_dims", 2))
        self._check_dims()
        self.stages = len(self.generator.stages) if isinstance(self.generator, AutoContextCascade) else 1
        # 3D convolutions train about 3x faster on CPU with channels-last tensors (measured).
        self.memory_format = torch.channels_last_3d if self.spatial_dims == 3 else torch.contiguous_format
        self.generator.to(memory_format=self.memory_format)
        self.discriminator = self._new_discriminator()
        self.networks = {"generator": self.generator, "discriminator": self.discriminator}
        self._new_optimizers()
        self.adversarial = AdversarialLoss(cfg.loss.adversarial)
        self.perceptual = (PerceptualLoss(cfg.loss.vgg_weights, cfg.loss.vgg_layer).to(self.device)
                           if cfg.loss.perceptual > 0 else None)
        self._wrap()
        self.amp_dtype = None
        if cfg.amp and self.device.type == "cuda":
            self.amp_dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        enabled = self.amp_dtype == torch.float16
        self.scalers = {k: torch.amp.GradScaler("cuda", enabled=enabled) for k in self.optimizers}

    def _start_from(self, model: str) -> None:
        """Fine-tuning: the generator starts from ``model``'s weights (the discriminator starts afresh)."""
        from ..catalog import resolve_model

        loaded = load_model(resolve_model(model))
        try:
            self.generator.load_state_dict(loaded.model.state_dict())
        except RuntimeError as exc:
            raise ConfigError(f"init: the weights of '{loaded.card.name}' do not fit this configuration's generator "
                              f"({str(exc).splitlines()[0]}); leave model.hyperparameters to the model") from None
        log.info("fine-tuning '%s'", loaded.card.name)

    def _check_dims(self) -> None:
        cfg, arch = self.config, self.config.model.architecture
        if self.spatial_dims == 2:
            divisor = int(getattr(self.generator, "size_divisor", 1))
            if cfg.data.size % divisor:
                raise ConfigError(f"data.size {cfg.data.size} must be a multiple of {divisor} for '{arch}' with "
                                  "these hyperparameters")
            return
        if cfg.data.context:
            raise ConfigError(f"data.context applies to 2D slice models; '{arch}' is 3D: set it to 0")
        moved = [k for k in ("rotate", "scale", "shift") if getattr(cfg.augment, k)]
        if moved:
            raise ConfigError(f"augment.{', augment.'.join(moved)} apply to 2D slices only; '{arch}' is a 3D model "
                              "(it gets the left-right flip and intensity jitter): set them to 0")

    def _new_discriminator(self) -> torch.nn.Module:
        cfg = self.config
        hyper = {"in_channels": cfg.in_channels + 1, **cfg.model.discriminator_hyperparameters}
        if "patch_size" in inspect.signature(get_architecture(cfg.model.discriminator)).parameters:
            hyper.setdefault("patch_size", cfg.data.patch_size)
        return build_model(cfg.model.discriminator, **hyper).to(self.device, memory_format=self.memory_format)

    def _new_optimizers(self) -> None:
        cfg = self.config
        betas = (cfg.optim.beta1, cfg.optim.beta2)
        self.optimizers = {k: torch.optim.Adam(net.parameters(), lr=cfg.optim.lr, betas=betas)
                           for k, net in self.networks.items()}

    def _wrap(self) -> None:
        """DDP wrappers for the updates; the plain modules serve everything else."""
        self.g, self.d = self.generator, self.discriminator
        if self.context.active:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.g = DistributedDataParallel(self.generator, device_ids=ids)
            self.d = DistributedDataParallel(self.discriminator, device_ids=ids)

    def _enter_stage(self, epoch: int) -> None:
        """Cascades: at a stage's first epoch, restore the best earlier stages, freeze them, and start the
        new stage with a fresh discriminator and optimizers (seeded, so a resumed run does the same)."""
        stage, within = divmod(epoch, self.config.optim.epochs)
        if self.stages == 1 or stage == self.stage:
            return
        if within == 0 and stage > 0:
            best = load_model(self.folder / BEST_FILE, self.device).model
            for k in range(stage):
                self.generator.stages[k].load_state_dict(best.stages[k].state_dict())
            torch.manual_seed(self.config.seed + stage)
            self.discriminator = self.networks["discriminator"] = self._new_discriminator()
            self.best, self.best_epoch = -math.inf, -1
        for k, module in enumerate(self.generator.stages):
            module.requires_grad_(k == stage)
        if within == 0 and stage > 0:
            self._new_optimizers()
        self._wrap()
        self.stage = stage

    @property
    def current(self) -> torch.nn.Module:
        """The generator as trained so far: for a cascade, the chain up to the stage being trained."""
        return self.generator if self.stages == 1 else self.generator.truncated(self.stage + 1)

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast("cuda", dtype=self.amp_dtype)

    # ---- one iteration -------------------------------------------------------------------------------
    def _update(self, name: str, loss: torch.Tensor) -> None:
        scaler = self.scalers[name]
        scaler.scale(loss).backward()
        scaler.step(self.optimizers[name])
        scaler.update()

    def step(self, source: torch.Tensor, target: torch.Tensor, mask: torch.Tensor | None = None) -> dict[str, float]:
        cfg = self.config.loss
        weight = mask if cfg.masked and mask is not None else None
        with self._autocast():
            fake = self.g(source, **({"stages_to_run": self.stage + 1} if self.stages > 1 else {}))
        values = {}
        if cfg.adversarial_weight:
            self.discriminator.requires_grad_(True)
            self.optimizers["discriminator"].zero_grad(set_to_none=True)
            with self._autocast():  # one forward over a half synthetic, half real batch (DDP allows one)
                scores = self.d(torch.cat([torch.cat([source, fake.detach()], 1), torch.cat([source, target], 1)]))
                fake_scores, real_scores = scores.float().chunk(2)
                loss_d = cfg.discriminator_factor * (self.adversarial(fake_scores, False)
                                                     + self.adversarial(real_scores, True))
            self._update("discriminator", loss_d)
            values["loss_D"] = loss_d.item()
            self.discriminator.requires_grad_(False)  # the generator's update must not touch D
        self.optimizers["generator"].zero_grad(set_to_none=True)
        with self._autocast():
            terms = {}
            if cfg.adversarial_weight:
                terms["adv"] = cfg.adversarial_weight * self.adversarial(
                    self.discriminator(torch.cat([source, fake], 1)).float(), True)
            fake32 = fake.float()
            if cfg.l1:
                terms["l1"] = cfg.l1 * _mean_within((fake32 - target).abs(), weight)
            if cfg.l2:
                terms["l2"] = cfg.l2 * _mean_within((fake32 - target).square(), weight)
            if cfg.gdl:
                terms["gdl"] = cfg.gdl * gradient_difference_loss(fake32, target, cfg.gdl_power)
            if self.perceptual is not None:
                terms["perceptual"] = cfg.perceptual * self.perceptual(fake32, target)
            loss_g = sum(terms.values())
        self._update("generator", loss_g)
        values["loss_G"] = loss_g.item()
        values.update({f"loss_G_{k}": v.item() for k, v in terms.items()})
        return values

    # ---- epochs --------------------------------------------------------------------------------------
    def _batch(self, positions: np.ndarray, order: np.ndarray, seed: int) -> tuple[torch.Tensor, ...]:
        samples = []
        for position in positions:
            item = int(order[position])
            subject = self.dataset.subject(item)
            generator = torch.Generator().manual_seed(seed + int(position))  # per sample: same in DDP
            source, target, mask = self.dataset.sample(item, generator)
            samples.append(augment(source[None], target[None], mask[None], self.config.augment, generator,
                                   (subject.source_fill, subject.target_fill), subject.lr_axis))
        return tuple(torch.cat(x).to(self.device, memory_format=self.memory_format) for x in zip(*samples, strict=True))

    def train_epoch(self, epoch: int) -> dict[str, float]:
        cfg, ctx = self.config, self.context
        seed = epoch_seed(cfg.seed, epoch)
        torch.manual_seed(seed)
        order = self.dataset.epoch_items(np.random.default_rng(seed), self.per_epoch)
        per_step = cfg.optim.batch_size * ctx.world
        steps = max(len(order) // per_step, 1)
        lr = cfg.optim.lr * lr_factor(epoch % cfg.optim.epochs, cfg.optim.epochs, self.config.decay_epochs)
        for opt in self.optimizers.values():
            for group in opt.param_groups:
                group["lr"] = lr
        self.generator.train()
        self.discriminator.train()
        for k in range(self.stage or 0):  # frozen cascade stages keep their batch-norm statistics
            self.generator.stages[k].eval()
        sums: dict[str, float] = defaultdict(float)
        for step in range(steps):
            if self.cancel is not None and self.cancel.cancelled:
                raise self._stopped(epoch)
            positions = np.arange(step * per_step, (step + 1) * per_step)[ctx.rank :: ctx.world]
            values = self.step(*self._batch(positions, order, seed))
            for key, value in values.items():
                sums[key] += value
            if self.progress is not None and ctx.main:
                d = f" D {values['loss_D']:.3f}" if "loss_D" in values else ""
                self.progress(step + 1, steps, f"{self.epoch_label(epoch)} G {values['loss_G']:.3f}{d}")
        return {"lr": lr, **ctx.mean({k: v / steps for k, v in sums.items()})}

    def validate(self, epoch: int) -> dict[str, float]:
        if not self.val_subjects:
            return {}
        mean, _, volumes = evaluate(self.current, self.val_subjects, self.config.data.context, self.device,
                                    **self.evaluation_options())
        if self.config.validation.samples:
            subject = self.val_subjects[0]
            area = subject.mask.reshape(subject.mask.shape[0], -1).sum(axis=1)
            k = int(np.argmax(area))
            first = subject.source if subject.source.ndim == 3 else subject.source[0]
            sample_mosaic(self.folder / "samples" / f"epoch{epoch + 1:04d}.png", first[k],
                          volumes[subject.name][k], subject.target[k],
                          f"{subject.name}, epoch {epoch + 1}: PSNR {mean['psnr']:.2f} dB")
        return {f"val_{k}": v for k, v in mean.items()}

    def run(self, resume: bool = False) -> Path | None:
        """Train to the configured number of epochs; returns the final model file (rank 0) or ``None``."""
        self._prepare(resume)
        cfg, ctx = self.config, self.context
        try:
            for epoch in range(self.epoch, self.total_epochs):
                start = time.perf_counter()
                try:
                    self._enter_stage(epoch)
                    row: dict[str, Any] = {"epoch": epoch + 1, **self.train_epoch(epoch)}
                except KeyboardInterrupt as exc:  # Ctrl-C, SIGTERM: completed epochs are saved, say how to go on
                    stopped = self._stopped(epoch)
                    stopped.signum = getattr(exc, "signum", 2)
                    raise stopped from None
                if self.stages > 1:
                    row["stage"] = self.stage + 1
                if ctx.main:
                    within = epoch % cfg.optim.epochs + 1
                    if within % cfg.validation.every == 0 or within == cfg.optim.epochs:
                        row.update(self.validate(epoch))
                    self._keep_best(epoch, row)
                    row["seconds"] = round(time.perf_counter() - start, 2)
                    self.log.add(row)
                    save_state(self.folder / STATE_FILE, self.networks, self.optimizers, {
                        "epoch": epoch + 1, "best": self.best, "best_epoch": self.best_epoch,
                        "history": self.log.history, "medsynth_version": __version__})
                    if self.epoch_callback is not None:
                        self.epoch_callback(row)
                ctx.barrier()
            return self._finish() if ctx.main else None
        finally:
            if self.log is not None:
                self.log.close()

    def _stopped(self, epoch: int) -> Cancelled:
        return Cancelled(f"training stopped during epoch {epoch + 1}; the run resumes from the end of epoch "
                         f"{epoch} with --resume {self.folder}")

    def _keep_best(self, epoch: int, row: dict[str, Any]) -> None:
        score = row.get("val_psnr")
        if score is None and self.val_subjects:
            return  # no validation this epoch
        score = epoch if score is None else score  # without validation subjects the last epoch is kept
        if score > self.best:
            self.best, self.best_epoch = score, epoch + 1
            metrics = {"validation": {k[4:]: v for k, v in row.items() if k.startswith("val_")}}
            save_model(self.current, self.card(metrics), self.folder / BEST_FILE)

    def _finish(self) -> Path:
        best = load_model(self.folder / BEST_FILE, self.device)
        metrics = dict(best.card.metrics)
        test = [self._load(s) for s in self.split["test"]]
        if test:
            mean, per_subject, _ = evaluate(best.model.to(memory_format=self.memory_format), test,
                                            self.config.data.context, self.device, **self.evaluation_options())
            metrics["test"] = mean
            metrics["test_subjects"] = {s: m["mask"] for s, m in per_subject.items()}
        path = save_model(best.model, self.card(metrics), self.folder / MODEL_FILE)
        log.info("best epoch %d; model written to %s", self.best_epoch, path)
        return path

    @property
    def total_epochs(self) -> int:
        return self.config.optim.epochs * self.stages

    def epoch_label(self, epoch: int) -> str:
        label = f"epoch {epoch + 1}/{self.total_epochs}"
        return label if self.stages == 1 else f"{label} (stage {epoch // self.config.optim.epochs + 1})"

    def evaluation_options(self) -> dict[str, Any]:
        v = self.config.validation
        if self.spatial_dims == 2:
            return {"spatial_dims": 2}
        return {"spatial_dims": 3, "patch_size": self.config.data.patch_size, "stride": v.stride, "blend": v.blend}

    def inference_settings(self) -> dict[str, Any]:
        cfg = self.config
        if self.spatial_dims == 2:
            settings = {"plane": cfg.data.plane, "context": cfg.data.context}
        else:
            settings = {"patch_size": cfg.data.patch_size, "stride": cfg.validation.stride,
                        "blend": cfg.validation.blend}
        if cfg.loss.masked:
            settings["outside"] = "background"  # the model never learned what lies outside the head
        if cfg.model.calibrate_output:
            settings["output_quantiles"] = output_quantiles(self.train_subjects)
        return settings

    @functools.cached_property
    def domain(self) -> dict[str, Any]:
        """What the training inputs were like (``medsynth.domain``), for out-of-domain warnings."""
        unique = {s.name: s for s in self.train_subjects}.values()  # one entry per subject, whatever the planes
        inputs = [(s.geometry, np.moveaxis(s.mask, 0, s.axis)) for s in unique]
        return summarize(inputs, normalization_for(self.config.data.source, self.config.data, self.spatial_dims))

    def card(self, metrics: dict[str, Any]) -> ModelCard:
        cfg = self.config
        subjects = self.train_subjects
        hyper = self.generator_hyperparameters()
        if self.stages > 1:
            hyper["stages"] = self.stage + 1
        return ModelCard(
            name=cfg.name or f"{cfg.model.architecture}-{'+'.join(cfg.data.inputs)}-{cfg.data.target}",
            architecture=cfg.model.architecture,
            hyperparameters=hyper,
            spatial_dims=self.spatial_dims,
            source_contrast=cfg.data.source,
            target_contrast=cfg.data.target,
            input_contrasts=list(cfg.data.sources),
            source_normalization=normalization_for(cfg.data.source, cfg.data, self.spatial_dims),
            target_intensity=typical_target_intensity([s.target_norm for s in subjects],
                                                      [s.target_background for s in subjects]),
            inference=self.inference_settings(),
            training={
                "data": Path(cfg.data.root).name, "subjects": {k: len(v) for k, v in self.split.items()},
                "split": self.split, "epochs": self.total_epochs, "best_epoch": self.best_epoch,
                "slices" if self.spatial_dims == 2 else "patch_size":
                    len(self.dataset) if self.spatial_dims == 2 else cfg.data.patch_size,
                "losses": {k: v for k, v in vars(cfg.loss).items() if v},
                "optimizer": vars(cfg.optim), "seed": cfg.seed, "device": str(self.device),
                "processes": self.context.world, "domain": self.domain,
                **({"fine_tuned_from": cfg.init} if cfg.init else {}),
            },
            metrics=metrics,
            description=f"{cfg.model.architecture} generator for {'+'.join(cfg.data.inputs)}->{cfg.data.target}, "
                        f"trained with `medsynth train` on " + (f"{cfg.data.plane} slices." if self.spatial_dims == 2
                                                                else f"{cfg.data.patch_size}^3 patches."),
        )


def _mean_within(values: torch.Tensor, weight: torch.Tensor | None) -> torch.Tensor:
    """The mean of ``values``, over the voxels where ``weight`` is 1 when a mask is given."""
    if weight is None:
        return values.mean()
    return (values * weight).sum() / weight.sum().clamp_min(1.0)


def output_quantiles(subjects: list, count: int = OUTPUT_QUANTILES) -> list[float]:
    """The training targets' normalized intensity distribution inside the head: ``count`` quantiles, the
    mean over subjects, which ``medsynth.inference`` maps an output's own histogram onto."""
    q = np.linspace(0.0, 1.0, count)
    return [round(float(v), 6) for v in np.mean([np.quantile(s.target[s.mask], q) for s in subjects], axis=0)]


def train(config: TrainConfig, resume: bool = False, progress: ProgressCallback | None = None,
          cancel: CancelToken | None = None,
          epoch_callback: Callable[[dict[str, Any]], None] | None = None) -> Path | None:
    """Run (or resume) training as configured; works alone or under ``torchrun``."""
    context = distributed.setup(config.device)
    try:
        return Trainer(config, context, progress, cancel, epoch_callback).run(resume)
    finally:
        distributed.teardown(context)

