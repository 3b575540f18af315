"""What a training run writes in its model's card: how to run the model (inference settings), what it was
trained on (data, split, recipe, the inputs' domain for out-of-domain warnings) and how it was trained."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..baselines import typical_target_intensity
from ..core.card import ModelCard
from ..core.citations import NYUL2000, citations_for
from ..domain import summarize
from .config import DataConfig, TrainConfig
from .data import normalization_for
from .unpaired import LAST_EPOCH

OUTPUT_QUANTILES = 101


def inference_settings(config: TrainConfig, spatial_dims: int, unpaired: bool) -> dict[str, Any]:
    """How ``medsynth.inference`` must run the model to do what it was trained to."""
    if spatial_dims == 2:
        settings = {"plane": config.data.plane, "context": config.data.context}
    else:
        settings = {"patch_size": config.data.patch_size, "stride": config.validation.stride,
                    "blend": config.validation.blend}
    if config.loss.masked:
        settings["outside"] = "background"  # the model never learned what lies outside the head
    if unpaired:
        settings["spacing"] = config.data.spacing  # inputs are resampled to the voxel size it learned at
    return settings


def domain_of(subjects: list, contrast: str, data: DataConfig, spatial_dims: int) -> dict[str, Any]:
    """What the training inputs of ``contrast`` were like (``medsynth.domain``), for out-of-domain warnings."""
    unique = {s.name: s for s in subjects}.values()  # one entry per subject, whatever the planes
    volumes = [(s.geometry, np.moveaxis(s.mask, 0, s.axis)) for s in unique]
    return summarize(volumes, normalization_for(contrast, data, spatial_dims))


def output_quantiles(subjects: list, count: int = OUTPUT_QUANTILES) -> list[float]:
    """The training targets' normalized intensity distribution inside the head: ``count`` quantiles, the
    mean over subjects, which ``medsynth.inference`` maps an output's own histogram onto."""
    q = np.linspace(0.0, 1.0, count)
    return [round(float(v), 6) for v in np.mean([np.quantile(s.target[s.mask], q) for s in subjects], axis=0)]


def run_card(run, metrics: dict[str, Any], reverse: bool = False) -> ModelCard:
    """The card of ``run``'s (a ``Trainer``'s) model; ``reverse``: of an unpaired objective's target -> source
    generator."""
    cfg = run.config
    inputs, target = ([cfg.data.target], cfg.data.source) if reverse else (cfg.data.inputs, cfg.data.target)
    targets = run.input_subjects if reverse else run.target_subjects
    inference = inference_settings(cfg, run.spatial_dims, run.unpaired)
    if cfg.model.calibrate_output:
        inference["output_quantiles"] = output_quantiles(targets)
    hyper = run.objective.reverse[1] if reverse else run.objective.hyperparameters()
    slices = run.spatial_dims == 2
    return ModelCard(
        name=(f"{cfg.name}-reverse" if reverse else cfg.name) if cfg.name else f"{cfg.model.architecture}-"
             f"{'+'.join(inputs)}-{target}",
        architecture=cfg.model.architecture,
        hyperparameters=hyper,
        engine=run.engine,
        source_contrast=inputs[0],
        target_contrast=target,
        input_contrasts=list(inputs) if len(inputs) > 1 else [],
        source_normalization=normalization_for(inputs[0], cfg.data, run.spatial_dims),
        target_intensity=typical_target_intensity([s.target_norm for s in targets],
                                                  [s.target_background for s in targets]),
        inference=inference,
        training={
            "data": Path(cfg.data.root).name, "subjects": {k: len(v) for k, v in run.split.items()},
            **({"target_data": Path(cfg.data.target_root).name} if run.unpaired and cfg.data.target_root else {}),
            "split": run.split, "epochs": run.total_epochs, "best_epoch": run.best_epoch,
            "best_epoch_by": "validation PSNR" if run.val_subjects else LAST_EPOCH,
            "objective": run.objective.name,
            **({"spacing_mm": cfg.data.spacing} if run.unpaired else {}),
            "slices" if slices else "patch_size": len(run.dataset) if slices else cfg.data.patch_size,
            "losses": {k: v for k, v in vars(cfg.loss).items() if v},
            "optimizer": vars(cfg.optim), "seed": cfg.seed, "device": str(run.device),
            "processes": run.process.world, "domain": run.domains[reverse],
            **({"fine_tuned_from": cfg.init} if cfg.init else {}),
            **run.objective.card_entry(),
        },
        metrics=metrics,
        references=[*citations_for(cfg.model.architecture), NYUL2000] if cfg.data.normalization == "nyul" else [],
        description=f"{cfg.model.architecture} generator for {'+'.join(inputs)}->{target}, trained with `medsynth "
                    "train` on " + (f"{'unpaired ' if run.unpaired else ''}{cfg.data.plane} slices." if slices
                                    else f"{cfg.data.patch_size}^3 patches."),
    )
