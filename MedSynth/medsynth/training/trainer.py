"""The training loop, one for every objective: epochs, seeding and exact resume, DDP, mixed precision,
cancelling, validation and the best epoch, logs and plots, and the model written at the end.

What is optimized belongs to the objective (``training.objectives``; the architecture's declaration names
it): its networks, their optimizers and one step. The learning rate stays constant, then decays linearly
(seed 000: 50 + 50 epochs), within each of the objective's phases (a cascade's stages). After each epoch
the state is saved; all randomness of an epoch (order, patches, augmentation, dropout) is seeded from (run
seed, epoch, position), so a run resumed from its last state continues exactly as if it had never stopped,
in one process or many.
"""

from __future__ import annotations

import functools
import logging
import math
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .. import __version__
from ..checkpoint import load_model, save_model
from ..core.architectures import architecture, described
from ..core.card import ModelCard
from ..core.errors import Cancelled, ConfigError
from ..core.progress import CancelToken, ProgressCallback
from ..core.run_folder import (
    BEST_FILE,
    MODEL_FILE,
    REVERSE_BEST_FILE,
    REVERSE_MODEL_FILE,
    SPLIT_FILE,
    STATE_FILE,
    holds_state,
)
from ..models import SynthesisNetwork
from . import distributed
from .augment import epoch_seed
from .config import TrainConfig
from .context import TrainContext
from .data import (
    SPLITS,
    SliceDataset,
    discover,
    learn_standard,
    load_subject,
    read_split,
    split_subjects,
    training_planes,
    write_split,
)
from .logs import RunLog, sample_mosaic
from .model_card import domain_of, run_card
from .objectives import Batch, Objective, objective_class
from .patches import PatchDataset
from .state import load_state, save_state
from .unpaired import (
    UNPAIRED_SPLITS,
    UnpairedSliceDataset,
    describe,
    discover_unpaired,
    load_domains,
    split_sources,
    split_unpaired,
)
from .validate import evaluate

log = logging.getLogger(__name__)


def lr_factor(epoch: int, epochs: int, decay_epochs: int) -> float:
    """1 for the first ``epochs - decay_epochs`` epochs, then linearly down towards 0 (pix2pix's rule)."""
    start = epochs - decay_epochs
    return 1.0 if epoch < start else (epochs - epoch) / (decay_epochs + 1)


class Trainer:
    def __init__(self, config: TrainConfig, context: distributed.Context | None = None,
                 progress: ProgressCallback | None = None, cancel: CancelToken | None = None,
                 epoch_callback: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.config = config
        self.context = TrainContext(context or distributed.Context(device=torch.device("cpu")), config.amp)
        self.process = self.context.process
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
        arch = architecture(cfg.model.architecture)
        if not arch.trainable:
            raise ConfigError(f"architecture '{arch.name}' has nothing to train (a non-learned {arch.role}); choose "
                              f"one of: {described()}")
        self.unpaired = objective_class(arch.objective).data == "unpaired"
        known = self._split(resume)
        self.objective = self._objective(arch.objective)
        if cfg.init and not resume:
            self._start_from(cfg.init)
        planes = training_planes(cfg.data) if self.spatial_dims == 2 else (None,)
        per_step = cfg.optim.batch_size * self.process.world
        val = self.split["validation"][: cfg.validation.max_subjects]
        self.val_subjects = [self._load(s) for s in val] if self.process.main else []
        if self.unpaired:
            if self.spatial_dims != 2:
                raise ConfigError(f"unpaired training takes 2D slice models; '{arch.name}' is 3D")
            self.input_subjects, self.target_subjects = load_domains(self.folders, self.split, cfg.data, planes)
            self.dataset = UnpairedSliceDataset(self.input_subjects, self.target_subjects, cfg.data)
            self.per_epoch = cfg.optim.slices_per_epoch
        else:
            if cfg.data.normalization == "nyul" and not cfg.data.standard:  # saved with config.yaml below
                cfg.data.standard = learn_standard(self.subjects, self.split["train"], cfg.data)
            self.input_subjects = self.target_subjects = [self._load(s, plane) for s in self.split["train"]
                                                          for plane in planes]
            if self.spatial_dims == 3:
                self.dataset = PatchDataset(self.input_subjects, cfg.data.patch_size, cfg.data.foreground_bias)
                self.per_epoch = cfg.optim.patches_per_epoch
            else:
                self.dataset = SliceDataset(self.input_subjects, cfg.data)
                self.per_epoch = cfg.optim.slices_per_epoch
        if self.spatial_dims == 2 and len(self.dataset) < per_step:
            raise ConfigError(f"only {len(self.dataset)} training slice(s) for a batch of {per_step}; lower "
                              "optim.batch_size")
        self.epoch, self.best, self.best_epoch, history = 0, -math.inf, -1, []
        if self.process.main and not resume:
            # Recorded only once every check passed, so a refused run leaves no folder behind.
            self.folder.mkdir(parents=True, exist_ok=True)
            cfg.save(self.folder / "config.yaml")
            write_split(self.folder / SPLIT_FILE, self.split, known)
        if resume:
            extra = load_state(state, self.objective.networks, self.objective.optimizers)
            self.epoch, self.best, self.best_epoch = extra["epoch"], extra["best"], extra["best_epoch"]
            history = extra["history"]
            log.info("resuming %s after epoch %d", self.folder, self.epoch)
        self.log = RunLog(self.folder, history, tensorboard=self.process.main) if self.process.main else None

    def _split(self, resume: bool) -> dict:
        """The run's subjects: found in the dataset and split (or the split recorded by the run); returns the
        subjects each split may name, for ``split.json``."""
        cfg, split_file = self.config, self.folder / SPLIT_FILE
        if self.unpaired:
            self.folders = discover_unpaired(cfg.data)
            self.split = read_split(split_file, UNPAIRED_SPLITS) if resume else split_unpaired(self.folders, cfg.data)
            known = split_sources(self.folders)
        else:
            self.subjects = discover(cfg.data)
            self.split = read_split(split_file) if resume else split_subjects(sorted(self.subjects), cfg.data)
            known = dict.fromkeys(self.split, self.subjects)
        absent = sorted(s for key, names in known.items() for s in self.split[key] if s not in names)
        if absent:
            raise ConfigError(f"{self.folder}: the run's subjects {', '.join(absent[:3])}"
                              f"{' and more' if len(absent) > 3 else ''} are not in {cfg.data.root}: resume with the "
                              "run's own dataset, or start a new run for this one")
        if self.unpaired:
            log.info("%s", describe(self.split))
        else:
            log.info("subjects: %d train, %d validation, %d test", *(len(self.split[k]) for k in SPLITS))
        return known

    def _objective(self, name: str) -> Objective:
        """The objective ``name`` for the configured architecture, its generator checked against the data."""
        arch = self.config.model.architecture
        objective = objective_class(name)(self.config, self.context)
        network = objective.generator
        if not isinstance(network, SynthesisNetwork):
            raise ConfigError(f"architecture '{arch}' does not declare spatial_dims, size_divisor and "
                              "in_channels (medsynth.models.SynthesisNetwork)")
        self.spatial_dims = objective.spatial_dims
        self.memory_format = self.context.memory_format(self.spatial_dims)
        self._check_dims(network)
        return objective

    def _load(self, name: str, plane: str | None = None):
        """A paired subject (unpaired runs: a held-out one, at the training voxel size)."""
        if self.unpaired:
            return load_subject(name, self.folders.source[name], self.config.data, 2, plane,
                                spacing=self.config.data.spacing)
        return load_subject(name, self.subjects[name], self.config.data, self.spatial_dims, plane)

    def _start_from(self, model: str) -> None:
        """Fine-tuning: the generator starts from ``model``'s weights (the discriminator starts afresh)."""
        from ..core.catalog import resolve_model

        loaded = load_model(resolve_model(model))
        self.objective.start_from(loaded.model, loaded.card.name)
        log.info("fine-tuning '%s'", loaded.card.name)

    def _check_dims(self, network: SynthesisNetwork) -> None:
        cfg, arch = self.config, self.config.model.architecture
        if self.spatial_dims == 2:
            if cfg.data.size % network.size_divisor:
                raise ConfigError(f"data.size {cfg.data.size} must be a multiple of {network.size_divisor} for "
                                  f"'{arch}' with these hyperparameters")
            return
        if cfg.data.context:
            raise ConfigError(f"data.context applies to 2D slice models; '{arch}' is 3D: set it to 0")
        moved = [k for k in ("rotate", "scale", "shift") if getattr(cfg.augment, k)]
        if moved:
            raise ConfigError(f"augment.{', augment.'.join(moved)} apply to 2D slices only; '{arch}' is a 3D model "
                              "(it gets the left-right flip and intensity jitter): set them to 0")

    # ---- epochs --------------------------------------------------------------------------------------
    def _batch(self, positions: np.ndarray, order: np.ndarray, seed: int) -> Batch:
        samples = [self.dataset.draw(order[position], torch.Generator().manual_seed(seed + int(position)),
                                     self.config.augment)  # a generator per sample: the same draws in DDP
                   for position in positions]
        return Batch(*(torch.cat(x).to(self.device, memory_format=self.memory_format)
                       for x in zip(*samples, strict=True)))

    def train_epoch(self, epoch: int) -> dict[str, float]:
        cfg, process = self.config, self.process
        seed = epoch_seed(cfg.seed, epoch)
        torch.manual_seed(seed)
        order = self.dataset.epoch_items(np.random.default_rng(seed), self.per_epoch)
        per_step = cfg.optim.batch_size * process.world
        steps = max(len(order) // per_step, 1)
        factor = lr_factor(epoch % cfg.optim.epochs, cfg.optim.epochs, self.config.decay_epochs)
        rates = self.objective.learning_rates()
        for name, opt in self.objective.optimizers.items():
            for group in opt.param_groups:
                group["lr"] = rates[name] * factor
        lr = next(iter(rates.values())) * factor  # logged: the generator's
        self.objective.train()
        sums: dict[str, float] = defaultdict(float)
        for step in range(steps):
            if self.cancel is not None and self.cancel.cancelled:
                raise self._stopped()
            positions = np.arange(step * per_step, (step + 1) * per_step)[process.rank :: process.world]
            values = self.objective.step(self._batch(positions, order, seed))
            for key, value in values.items():
                sums[key] += value
            if self.progress is not None and process.main:
                self.progress(step + 1, steps, f"{self.epoch_label(epoch)} {self.objective.summary(values)}")
        return {"lr": lr, **process.mean({k: v / steps for k, v in sums.items()})}

    def validate(self, epoch: int) -> dict[str, float]:
        if not self.val_subjects:
            return {}
        mean, _, volumes = evaluate(self.objective.generator, self.val_subjects, self.config.data.context,
                                    self.device, **self.evaluation_options())
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
        try:
            return self._run(resume)
        except KeyboardInterrupt as exc:  # Ctrl-C, SIGTERM, at any point: say what the folder holds, and how to go on
            stopped = self._stopped()
            stopped.signum = getattr(exc, "signum", 2)
            raise stopped from None

    def _run(self, resume: bool) -> Path | None:
        self.saved = 0  # epochs whose state is in the run folder (a resumed run: those before it)
        self._prepare(resume)
        self.saved = self.epoch
        cfg, process = self.config, self.process
        try:
            for epoch in range(self.epoch, self.total_epochs):
                start = time.perf_counter()
                if self.objective.enter_epoch(epoch, lambda: load_model(self.folder / BEST_FILE, self.device).model):
                    self.best, self.best_epoch = -math.inf, -1  # a new phase looks for its own best epoch
                row: dict[str, Any] = {"epoch": epoch + 1, **self.train_epoch(epoch)}
                if self.objective.phases > 1:
                    row["stage"] = epoch // cfg.optim.epochs + 1
                if process.main:
                    within = epoch % cfg.optim.epochs + 1
                    if within % cfg.validation.every == 0 or within == cfg.optim.epochs:
                        row.update(self.validate(epoch))
                    self._keep_best(epoch, row)
                    row["seconds"] = round(time.perf_counter() - start, 2)
                    self.log.add(row)
                    save_state(self.folder / STATE_FILE, self.objective.networks, self.objective.optimizers, {
                        "epoch": epoch + 1, "best": self.best, "best_epoch": self.best_epoch,
                        "history": self.log.history, "medsynth_version": __version__})
                    self.saved = epoch + 1
                    if self.epoch_callback is not None:
                        self.epoch_callback(row)
                process.barrier()
            return self._finish() if process.main else None
        finally:
            if self.log is not None:
                self.log.close()

    def _stopped(self) -> Cancelled:
        """What an interrupted run leaves, and the command that goes on from there."""
        saved = getattr(self, "saved", 0)
        if saved:
            return Cancelled(f"training stopped during epoch {saved + 1}; {self.folder} keeps the {saved} completed "
                             f"epoch(s): continue with --resume {self.folder}")
        if (self.folder / "config.yaml").exists():
            return Cancelled(f"training stopped before its first epoch ended; {self.folder} holds only its settings "
                             f"(config.yaml, split.json): start it afresh with --resume {self.folder} --restart, or "
                             "delete the folder")
        return Cancelled("training stopped before anything was written")

    def _keep_best(self, epoch: int, row: dict[str, Any]) -> None:
        score = row.get("val_psnr")
        if score is None and self.val_subjects:
            return  # no validation this epoch
        score = epoch if score is None else score  # without validation subjects the last epoch is kept
        if score > self.best:
            self.best, self.best_epoch = score, epoch + 1
            metrics = {"validation": {k[4:]: v for k, v in row.items() if k.startswith("val_")}}
            save_model(self.objective.generator, self.card(metrics), self.folder / BEST_FILE)
            if self.objective.reverse is not None:
                save_model(self.objective.reverse[0], self.card({}, reverse=True), self.folder / REVERSE_BEST_FILE)

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
        if self.objective.reverse is not None:
            self._finish_reverse(test)
        return path

    def _finish_reverse(self, test: list) -> None:
        """The target -> source generator of the best epoch, tested on the same subjects the other way round."""
        cfg = self.config
        reverse = load_model(self.folder / REVERSE_BEST_FILE, self.device)
        metrics = {}
        if test:
            tests = [load_subject(s, self.folders.source[s], cfg.data, 2, inputs=[cfg.data.target],
                                  target=cfg.data.source, spacing=cfg.data.spacing) for s in self.split["test"]]
            mean, per_subject, _ = evaluate(reverse.model, tests, 0, self.device, **self.evaluation_options())
            metrics = {"test": mean, "test_subjects": {s: m["mask"] for s, m in per_subject.items()}}
        path = save_model(reverse.model, self.card(metrics, reverse=True), self.folder / REVERSE_MODEL_FILE)
        log.info("the %s->%s generator of the same epoch written to %s", cfg.data.target, cfg.data.source, path)

    @property
    def total_epochs(self) -> int:
        return self.config.optim.epochs * self.objective.phases

    def epoch_label(self, epoch: int) -> str:
        label = f"epoch {epoch + 1}/{self.total_epochs}"
        return label if self.objective.phases == 1 else f"{label} (stage {epoch // self.config.optim.epochs + 1})"

    @property
    def engine(self) -> str:
        return "slicewise" if self.spatial_dims == 2 else "patchwise"

    def evaluation_options(self) -> dict[str, Any]:
        v = self.config.validation
        if self.spatial_dims == 2:
            return {"engine": self.engine}
        return {"engine": self.engine, "patch_size": self.config.data.patch_size, "stride": v.stride,
                "blend": v.blend}

    @functools.cached_property
    def domains(self) -> dict[bool, dict[str, Any]]:
        """The inputs' domain summary (``medsynth.domain``), computed once: the model's (False) and, with a
        reverse generator, the target -> source one's (True)."""
        cfg = self.config
        found = {False: domain_of(self.input_subjects, cfg.data.source, cfg.data, self.spatial_dims)}
        if self.objective.reverse is not None:
            found[True] = domain_of(self.target_subjects, cfg.data.target, cfg.data, self.spatial_dims)
        return found

    def card(self, metrics: dict[str, Any], reverse: bool = False) -> ModelCard:
        return run_card(self, metrics, reverse)


def train(config: TrainConfig, resume: bool = False, progress: ProgressCallback | None = None,
          cancel: CancelToken | None = None,
          epoch_callback: Callable[[dict[str, Any]], None] | None = None) -> Path | None:
    """Run (or resume) training as configured; works alone or under ``torchrun``."""
    context = distributed.setup(config.device)
    try:
        return Trainer(config, context, progress, cancel, epoch_callback).run(resume)
    finally:
        distributed.teardown(context)

