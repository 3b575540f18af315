"""3D patch training through `medsynth train`: Nie et al.'s recipe, patches, cascades stage by stage, resume."""

import csv
import shutil

import numpy as np
import pytest
import torch
from medsynth.checkpoint import load_model
from medsynth.core.errors import Cancelled, ConfigError, ModelError
from medsynth.core.progress import CancelToken
from medsynth.inference import synthesize
from medsynth.io import read_volume
from medsynth.phantom import write_phantom_dataset
from medsynth.training import Trainer, load_config, train
from medsynth.training.augment import augment
from medsynth.training.config import AugmentConfig
from medsynth.training.data import discover, load_subject
from medsynth.training.patches import PatchDataset
from medsynth.training.validate import baseline_metrics
from safetensors import safe_open

SMALL = {"filters": [8, 8, 8, 8, 8, 8, 8, 8, 1], "kernels": [3] * 9}
TINY = {
    "model.architecture": "nie", "model.hyperparameters": SMALL,
    "model.discriminator_hyperparameters": {"filters": [4, 8, 8, 8]}, "data.patch_size": 16,
    "data.source": "PD", "data.target": "T2", "optim.patches_per_epoch": 14, "optim.epochs": 2,
    "data.validation": 0.25, "data.test": 0.25, "device": "cpu",
}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    folder = tmp_path_factory.mktemp("phantoms3d")
    write_phantom_dataset(folder, 4, shape=(40, 44, 36), seed=3, contrasts=("PD", "T2"))
    return folder


def config_for(dataset, out, **extra):
    return load_config(overrides={**TINY, "data.root": str(dataset), "output": str(out), **extra})


def tensors(path, prefix=""):
    with safe_open(str(path), framework="pt") as f:
        return {k: f.get_tensor(k) for k in f.keys() if k.startswith(prefix)}  # noqa: SIM118


def test_nie_brings_its_recipe_and_settings_still_win():
    cfg = load_config(overrides={"model.architecture": "nie", "loss.l2": 0, "loss.l1": 1})
    assert cfg.model.discriminator == "nie_discriminator" and cfg.loss.adversarial == "bce_probabilities"
    assert (cfg.loss.adversarial_weight, cfg.loss.gdl, cfg.loss.discriminator_factor) == (0.5, 1.0, 1.0)
    assert (cfg.loss.l1, cfg.loss.l2, cfg.optim.batch_size, cfg.data.patch_size) == (1.0, 0.0, 7, 32)
    assert (cfg.augment.rotate, cfg.augment.scale, cfg.augment.shift) == (0, 0, 0)
    assert load_config().loss.l1 == 100  # pGAN keeps seed 000's recipe
    assert load_config(overrides={"validation.stride": "8"}).validation.stride == 8
    with pytest.raises(ConfigError, match="validation.stride must be a positive number of voxels or 'full'"):
        load_config(overrides={"validation.stride": "half"})


def test_patches_are_paired_biased_to_the_head_and_reproducible(dataset):
    cfg = config_for(dataset, "unused")
    files = discover(cfg.data)
    subject = load_subject("phantom001", files["phantom001"], cfg.data, spatial_dims=3)
    assert subject.source.shape == read_volume(files["phantom001"]["PD"]).array.shape  # 3D keeps the array axes
    assert abs(subject.source[subject.mask].mean()) < 1e-3  # z-score over the head
    head = PatchDataset([subject], 16, foreground_bias=1.0)
    anywhere = PatchDataset([subject], 16, foreground_bias=0.0)
    fractions = {}
    for name, data in (("head", head), ("anywhere", anywhere)):
        values = []
        for seed in range(40):
            source, target, mask = data.sample(0, torch.Generator().manual_seed(seed))
            assert source.shape == target.shape == mask.shape == (1, 16, 16, 16)
            values.append(float((source > subject.source_fill + 0.5).float().mean()))
        fractions[name] = np.mean(values)
    assert fractions["head"] > fractions["anywhere"] + 0.1
    a = head.sample(0, torch.Generator().manual_seed(5))
    b = head.sample(0, torch.Generator().manual_seed(5))
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    # a volume smaller than the patch is padded with the background value
    big = PatchDataset([subject], 48, foreground_bias=1.0).sample(0, torch.Generator().manual_seed(0))[0]
    assert big.shape == (1, 48, 48, 48) and float(big[0, 0, 0, 0]) == pytest.approx(subject.source_fill)
    assert sorted(head.epoch_items(np.random.default_rng(0), 6).tolist()) == [0] * 6


def test_3d_augmentation_flips_source_and_target_together():
    x = torch.arange(2 * 4 * 5 * 6, dtype=torch.float32).reshape(2, 1, 4, 5, 6)
    cfg = AugmentConfig(intensity=0.0)
    flipped = False
    for seed in range(8):
        s, t, m = augment(x, x.clone(), x.clone(), cfg, torch.Generator().manual_seed(seed), (0.0, 0.0), flip_dim=2)
        assert torch.equal(s, t) and torch.equal(s, m)  # the mask follows the flip
        for n in range(2):
            assert torch.equal(s[n], x[n]) or torch.equal(s[n], x[n].flip(-1))
            flipped |= not torch.equal(s[n], x[n])
    assert flipped


def test_a_short_3d_run_learns_and_its_model_synthesizes(dataset, tmp_path):
    run = tmp_path / "run"
    wider = {**SMALL, "filters": [16] * 8 + [1]}
    cfg = config_for(dataset, run, **{"optim.epochs": 12, "optim.patches_per_epoch": 56, "optim.lr": 1e-3,
                                      "optim.decay_epochs": 0, "model.hyperparameters": wider})
    path = train(cfg)
    for name in ("config.yaml", "split.json", "history.csv", "curves.png", "best.safetensors", "samples/epoch0012.png"):
        assert (run / name).is_file(), name
    loaded = load_model(path)
    card = loaded.card
    assert (card.architecture, card.mapping, card.spatial_dims) == ("nie", "PD->T2", 3)
    assert card.source_normalization == {"kind": "zscore"} and card.target_intensity["kind"] == "zscore"
    assert card.inference == {"patch_size": 16, "stride": "full", "blend": "gaussian"}
    with (run / "history.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert {"loss_D", "loss_G_adv", "loss_G_l2", "loss_G_gdl", "val_psnr"} <= rows[0].keys()
    assert float(rows[-1]["loss_G_l2"]) < 0.7 * float(rows[0]["loss_G_l2"])
    split = card.training["split"]
    identity = baseline_metrics(cfg.data, split["train"], split["test"], spatial_dims=3)["baseline identity"]
    assert card.metrics["test"]["psnr"] > identity["psnr"] + 1.0, (card.metrics["test"], identity)
    volume = read_volume(next(dataset.glob("*-PD.nii.gz")))
    out = synthesize(volume, loaded)
    assert out.same_grid(volume) and np.isfinite(out.array).all()


def test_cascade_trains_stage_by_stage_and_resumes_exactly(dataset, tmp_path):
    extra = {"model.architecture": "nie_cascade", "model.hyperparameters": {**SMALL, "stages": 2, "residual": True}}
    full = train(config_for(dataset, tmp_path / "full", **extra))
    card = load_model(full).card
    assert card.hyperparameters["stages"] == 2 and card.training["epochs"] == 4
    with (tmp_path / "full" / "history.csv").open() as f:
        assert [r["stage"] for r in csv.DictReader(f)] == ["1", "1", "2", "2"]
    # stopped at the stage boundary and in the middle of stage 2: both resume to the same result
    for stop_after in (2, 3):
        run = tmp_path / f"cut{stop_after}"
        cancel = CancelToken()
        kept = {}

        def on_epoch(row, stop_after=stop_after, cancel=cancel, run=run, kept=kept):
            if row["epoch"] == 2:  # the end of stage 1: its best chain is what stage 2 must build on
                kept.update(tensors(run / "best.safetensors", "stages.0."))
            if row["epoch"] == stop_after:
                cancel.cancel()

        trainer = Trainer(config_for(dataset, run, **extra), cancel=cancel, epoch_callback=on_epoch)
        with pytest.raises(Cancelled, match=f"keeps the {stop_after} completed epoch"):
            trainer.run()
        resumed = train(config_for(dataset, run, **extra), resume=True)
        final, reference = tensors(resumed), tensors(full)
        assert final.keys() == reference.keys()
        for key in final:
            torch.testing.assert_close(final[key], reference[key], rtol=1e-4, atol=1e-5, msg=key)
        for key, value in kept.items():  # stage 1 stayed frozen while stage 2 trained
            torch.testing.assert_close(final[key], value, rtol=0, atol=0, msg=key)
    shutil.rmtree(tmp_path / "cut2")


def test_3d_settings_problems_are_reported_clearly(dataset, tmp_path):
    with pytest.raises(ConfigError, match="data.context applies to 2D slice models"):
        train(config_for(dataset, tmp_path / "a", **{"data.context": 1}))
    with pytest.raises(ConfigError, match=r"augment.rotate apply to 2D slices only"):
        train(config_for(dataset, tmp_path / "b", **{"augment.rotate": 5.0}))
    with pytest.raises(ModelError, match="patch_size must be a multiple of 16"):
        train(config_for(dataset, tmp_path / "c", **{"data.patch_size": 24}))
