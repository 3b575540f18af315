"""The paired GAN training loop (pix2pix / pGAN): one engine for every 2D architecture.

Each iteration updates the discriminator on synthetic and real (source, target) pairs, then the generator
on its weighted losses (adversarial, L1, L2, gradient difference, perceptual). The learning rate stays
constant, then decays linearly (seed 000: 50 + 50 epochs). After each epoch the state is saved; all
randomness of an epoch (order, augmentation, dropout) is seeded from (run seed, epoch, position), so a run
resumed from its last state continues exactly as if it had never stopped, in one process or many.
"""

from __future__ import annotations

import contextlib
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
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel

from .. import __version__
from ..baselines import typical_target_intensity
from ..card import ModelCard
from ..checkpoint import load_model, save_model
from ..errors import Cancelled, ConfigError
from ..intensity import default_normalization
from ..losses import AdversarialLoss, PerceptualLoss, gradient_difference_loss
from ..models import build_model, get_architecture
from ..progress import CancelToken, ProgressCallback
from . import distributed
from .augment import augment, epoch_seed
from .config import TrainConfig
from .data import SliceDataset, discover, load_subject, read_split, split_subjects, write_split
from .logs import RunLog, sample_mosaic
from .state import load_state, save_state
from .validate import evaluate

log = logging.getLogger(__name__)
STATE_FILE, BEST_FILE, MODEL_FILE = "state.safetensors", "best.safetensors", "model.safetensors"


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
        if resume and not state.is_file():
            raise ConfigError(f"{self.folder}: no training state ({STATE_FILE}) to resume from")
        if not resume and state.is_file():
            raise ConfigError(f"{self.folder}: already holds a training run; resume it with --resume or choose "
                              "another output folder")
        self.subjects = discover(cfg.data)
        split_file = self.folder / "split.json"
        self.split = read_split(split_file) if resume else split_subjects(sorted(self.subjects), cfg.data)
        if self.context.main and not resume:
            self.folder.mkdir(parents=True, exist_ok=True)
            cfg.save(self.folder / "config.yaml")
            write_split(split_file, self.split, self.subjects)
        log.info("subjects: %d train, %d validation, %d test", *(len(self.split[k]) for k in self.split))
        self.train_subjects = [load_subject(s, self.subjects[s], cfg.data) for s in self.split["train"]]
        val = self.split["validation"][: cfg.validation.max_subjects]
        self.val_subjects = [load_subject(s, self.subjects[s], cfg.data) for s in val] if self.context.main else []
        self.dataset = SliceDataset(self.train_subjects, cfg.data)
        per_step = cfg.optim.batch_size * self.context.world
        if len(self.dataset) < per_step:
            raise ConfigError(f"only {len(self.dataset)} training slice(s) for a batch of {per_step}; lower "
                              "optim.batch_size")
        self._build()
        self.epoch, self.best, self.best_epoch, history = 0, -math.inf, -1, []
        if resume:
            extra = load_state(state, self.networks, self.optimizers)
            self.epoch, self.best, self.best_epoch = extra["epoch"], extra["best"], extra["best_epoch"]
            history = extra["history"]
            log.info("resuming %s after epoch %d", self.folder, self.epoch)
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

    def _build(self) -> None:
        cfg = self.config
        torch.manual_seed(cfg.seed)
        self.generator = build_model(cfg.model.architecture, **self.generator_hyperparameters()).to(self.device)
        if not any(p.requires_grad for p in self.generator.parameters()):
            raise ConfigError(f"architecture '{cfg.model.architecture}' has nothing to train (a non-learned "
                              "baseline); choose pgan, unet or convnet")
        divisor = int(getattr(self.generator, "size_divisor", 1))
        if cfg.data.size % divisor:
            raise ConfigError(f"data.size {cfg.data.size} must be a multiple of {divisor} for "
                              f"'{cfg.model.architecture}' with these hyperparameters")
        d_hyper = {"in_channels": cfg.in_channels + 1, **cfg.model.discriminator_hyperparameters}
        self.discriminator = build_model(cfg.model.discriminator, **d_hyper).to(self.device)
        self.networks = {"generator": self.generator, "discriminator": self.discriminator}
        betas = (cfg.optim.beta1, cfg.optim.beta2)
        self.optimizers = {
            "generator": torch.optim.Adam(self.generator.parameters(), lr=cfg.optim.lr, betas=betas),
            "discriminator": torch.optim.Adam(self.discriminator.parameters(), lr=cfg.optim.lr, betas=betas),
        }
        self.adversarial = AdversarialLoss(cfg.loss.adversarial)
        self.perceptual = (PerceptualLoss(cfg.loss.vgg_weights, cfg.loss.vgg_layer).to(self.device)
                           if cfg.loss.perceptual > 0 else None)
        self.g, self.d = self.generator, self.discriminator
        if self.context.active:  # DDP wrappers for the updates; the plain modules for everything else
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.g = DistributedDataParallel(self.generator, device_ids=ids)
            self.d = DistributedDataParallel(self.discriminator, device_ids=ids)
        self.amp_dtype = None
        if cfg.amp and self.device.type == "cuda":
            self.amp_dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        enabled = self.amp_dtype == torch.float16
        self.scalers = {k: torch.amp.GradScaler("cuda", enabled=enabled) for k in self.optimizers}

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

    def step(self, source: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
        cfg = self.config.loss
        with self._autocast():
            fake = self.g(source)
        self.discriminator.requires_grad_(True)
        self.optimizers["discriminator"].zero_grad(set_to_none=True)
        with self._autocast():  # one forward over synthetic and real pairs (DDP allows one per backward)
            scores = self.d(torch.cat([torch.cat([source, fake.detach()], 1), torch.cat([source, target], 1)], 0))
            fake_scores, real_scores = scores.float().chunk(2)
            loss_d = cfg.discriminator_factor * (self.adversarial(fake_scores, False)
                                                 + self.adversarial(real_scores, True))
        self._update("discriminator", loss_d)
        self.discriminator.requires_grad_(False)  # the generator's update must not touch D
        self.optimizers["generator"].zero_grad(set_to_none=True)
        with self._autocast():
            terms = {"adv": cfg.adversarial_weight * self.adversarial(
                self.discriminator(torch.cat([source, fake], 1)).float(), True)}
            fake32 = fake.float()
            if cfg.l1:
                terms["l1"] = cfg.l1 * F.l1_loss(fake32, target)
            if cfg.l2:
                terms["l2"] = cfg.l2 * F.mse_loss(fake32, target)
            if cfg.gdl:
                terms["gdl"] = cfg.gdl * gradient_difference_loss(fake32, target, cfg.gdl_power)
            if self.perceptual is not None:
                terms["perceptual"] = cfg.perceptual * self.perceptual(fake32, target)
            loss_g = sum(terms.values())
        self._update("generator", loss_g)
        values = {"loss_D": loss_d.item(), "loss_G": loss_g.item()}
        values.update({f"loss_G_{k}": v.item() for k, v in terms.items()})
        return values

    # ---- epochs --------------------------------------------------------------------------------------
    def _batch(self, positions: np.ndarray, order: np.ndarray, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        sources, targets = [], []
        for position in positions:
            item = int(order[position])
            source, target = self.dataset[item]
            subject = self.dataset.subjects[self.dataset.index[item][0]]
            generator = torch.Generator().manual_seed(seed + int(position))  # per sample: same in DDP
            source, target = augment(source[None], target[None], self.config.augment, generator,
                                     (subject.source_fill, subject.target_fill))
            sources.append(source)
            targets.append(target)
        return torch.cat(sources).to(self.device), torch.cat(targets).to(self.device)

    def train_epoch(self, epoch: int) -> dict[str, float]:
        cfg, ctx = self.config, self.context
        seed = epoch_seed(cfg.seed, epoch)
        torch.manual_seed(seed)
        order = np.random.default_rng(seed).permutation(len(self.dataset))
        if cfg.optim.slices_per_epoch:
            order = order[: cfg.optim.slices_per_epoch]
        per_step = cfg.optim.batch_size * ctx.world
        steps = max(len(order) // per_step, 1)
        lr = cfg.optim.lr * lr_factor(epoch, cfg.optim.epochs, self.config.decay_epochs)
        for opt in self.optimizers.values():
            for group in opt.param_groups:
                group["lr"] = lr
        self.generator.train()
        self.discriminator.train()
        sums: dict[str, float] = defaultdict(float)
        for step in range(steps):
            if self.cancel is not None and self.cancel.cancelled:
                raise self._stopped(epoch)
            positions = np.arange(step * per_step, (step + 1) * per_step)[ctx.rank :: ctx.world]
            values = self.step(*self._batch(positions, order, seed))
            for key, value in values.items():
                sums[key] += value
            if self.progress is not None and ctx.main:
                self.progress(step + 1, steps, f"epoch {epoch + 1}/{cfg.optim.epochs} "
                              f"G {values['loss_G']:.3f} D {values['loss_D']:.3f}")
        return {"lr": lr, **ctx.mean({k: v / steps for k, v in sums.items()})}

    def validate(self, epoch: int) -> dict[str, float]:
        if not self.val_subjects:
            return {}
        mean, _, volumes = evaluate(self.generator, self.val_subjects, self.config.data.context, self.device)
        if self.config.validation.samples:
            subject = self.val_subjects[0]
            area = subject.mask.reshape(subject.mask.shape[0], -1).sum(axis=1)
            k = int(np.argmax(area))
            sample_mosaic(self.folder / "samples" / f"epoch{epoch + 1:04d}.png", subject.source[k],
                          volumes[subject.name][k], subject.target[k],
                          f"{subject.name}, epoch {epoch + 1}: PSNR {mean['psnr']:.2f} dB")
        return {f"val_{k}": v for k, v in mean.items()}

    def run(self, resume: bool = False) -> Path | None:
        """Train to the configured number of epochs; returns the final model file (rank 0) or ``None``."""
        self._prepare(resume)
        cfg, ctx = self.config, self.context
        try:
            for epoch in range(self.epoch, cfg.optim.epochs):
                start = time.perf_counter()
                try:
                    row: dict[str, Any] = {"epoch": epoch + 1, **self.train_epoch(epoch)}
                except KeyboardInterrupt:  # Ctrl-C: completed epochs are saved, so say how to go on
                    raise self._stopped(epoch) from None
                if ctx.main:
                    last = epoch == cfg.optim.epochs - 1
                    if (epoch + 1) % cfg.validation.every == 0 or last:
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
            save_model(self.generator, self.card(metrics), self.folder / BEST_FILE)

    def _finish(self) -> Path:
        best = load_model(self.folder / BEST_FILE, self.device)
        metrics = dict(best.card.metrics)
        test = [load_subject(s, self.subjects[s], self.config.data) for s in self.split["test"]]
        if test:
            mean, per_subject, _ = evaluate(best.model, test, self.config.data.context, self.device)
            metrics["test"] = mean
            metrics["test_subjects"] = {s: m["mask"] for s, m in per_subject.items()}
        path = save_model(best.model, self.card(metrics), self.folder / MODEL_FILE)
        log.info("best epoch %d; model written to %s", self.best_epoch, path)
        return path

    def card(self, metrics: dict[str, Any]) -> ModelCard:
        cfg = self.config
        subjects = self.train_subjects
        return ModelCard(
            name=cfg.name or f"{cfg.model.architecture}-{cfg.data.source}-{cfg.data.target}",
            architecture=cfg.model.architecture,
            hyperparameters=self.generator_hyperparameters(),
            spatial_dims=2,
            source_contrast=cfg.data.source,
            target_contrast=cfg.data.target,
            source_normalization=default_normalization(cfg.data.source),
            target_intensity=typical_target_intensity([s.target_norm for s in subjects],
                                                      [s.target_background for s in subjects]),
            inference={"plane": cfg.data.plane, "context": cfg.data.context},
            training={
                "data": Path(cfg.data.root).name, "subjects": {k: len(v) for k, v in self.split.items()},
                "split": self.split, "epochs": cfg.optim.epochs, "best_epoch": self.best_epoch,
                "slices": len(self.dataset), "losses": {k: v for k, v in vars(cfg.loss).items() if v},
                "optimizer": vars(cfg.optim), "seed": cfg.seed, "device": str(self.device),
                "processes": self.context.world,
            },
            metrics=metrics,
            description=f"{cfg.model.architecture} generator for {cfg.data.source}->{cfg.data.target}, "
                        f"trained with `medsynth train` on {cfg.data.plane} slices.",
        )


def train(config: TrainConfig, resume: bool = False, progress: ProgressCallback | None = None,
          cancel: CancelToken | None = None,
          epoch_callback: Callable[[dict[str, Any]], None] | None = None) -> Path | None:
    """Run (or resume) training as configured; works alone or under ``torchrun``."""
    context = distributed.setup(config.device)
    try:
        return Trainer(config, context, progress, cancel, epoch_callback).run(resume)
    finally:
        distributed.teardown(context)
