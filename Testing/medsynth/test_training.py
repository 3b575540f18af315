"""The training engine: configuration, dataset checks, a short run, exact resume, DDP with 2 processes."""

import csv
import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from medsynth.checkpoint import load_model
from medsynth.cli.main import main
from medsynth.core.errors import Cancelled, ConfigError, InputError
from medsynth.core.progress import CancelToken
from medsynth.io import read_volume, write_volume
from medsynth.models import build_model
from medsynth.phantom import write_phantom_dataset
from medsynth.resample import resample_to
from medsynth.training import Trainer, load_config, train
from medsynth.training.config import parse_override
from medsynth.training.state import load_state
from medsynth.training.trainer import lr_factor
from safetensors import safe_open
from torchrun_train import train_two_processes

TINY = {
    "model.hyperparameters": {"ngf": 4, "n_blocks": 2, "dense_blocks": 1},
    "model.discriminator_hyperparameters": {"ndf": 4, "n_layers": 2},
    "data.size": 48, "optim.slices_per_epoch": 4, "optim.batch_size": 2, "optim.epochs": 3,
    "data.validation": 0.25, "data.test": 0.25, "device": "cpu",
}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    folder = tmp_path_factory.mktemp("phantoms")
    write_phantom_dataset(folder, 4, shape=(40, 44, 24), seed=3, contrasts=("T1", "T2"))
    return folder


def config_for(dataset, out, **extra):
    return load_config(overrides={**TINY, "data.root": str(dataset), "output": str(out), **extra})


def state_tensors(path):
    with safe_open(str(path), framework="pt") as f:
        return {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118


def assert_same_function(run_a, run_b, rtol, atol):
    """Both runs' generators and discriminators compute the same thing.

    Compared through their outputs: a conv bias followed by instance norm has zero gradient in theory, so
    Adam turns rounding noise into arbitrary (and irrelevant) values there.
    """
    x = torch.randn(2, 1, 48, 48, generator=torch.Generator().manual_seed(1))
    outputs = []
    for run in (run_a, run_b):
        state = state_tensors(run / "state.safetensors")
        g = build_model("pgan", in_channels=1, **TINY["model.hyperparameters"])
        d = build_model("patchgan", in_channels=2, **TINY["model.discriminator_hyperparameters"])
        for name, net in (("generator", g), ("discriminator", d)):
            prefix = f"net.{name}."
            net.load_state_dict({k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)})
        with torch.no_grad():
            y = g(x)
            outputs.append((y, d(torch.cat([x, y], 1))))
    torch.testing.assert_close(outputs[0][0], outputs[1][0], rtol=rtol, atol=atol)
    torch.testing.assert_close(outputs[0][1], outputs[1][1], rtol=rtol, atol=atol)


def test_defaults_follow_seed_000():
    cfg = load_config()
    assert (cfg.optim.lr, cfg.optim.beta1, cfg.optim.beta2, cfg.optim.epochs) == (1e-4, 0.5, 0.999, 100)
    assert cfg.loss.discriminator_factor == 0.5 and cfg.decay_epochs == 50
    assert [lr_factor(e, 100, 50) for e in (0, 49)] == [1.0, 1.0]
    assert lr_factor(50, 100, 50) < 1.0 and lr_factor(99, 100, 50) == pytest.approx(1 / 51)
    factors = [lr_factor(e, 100, 50) for e in range(50, 100)]
    assert np.allclose(np.diff(factors), -1 / 51)  # linear decay


def test_config_file_and_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("optim:\n  epochs: 7\nmodel:\n  hyperparameters: {ngf: 8}\n")
    cfg = load_config(path, dict([parse_override("optim.lr=2e-4"), parse_override("data.target=pd")]))
    assert (cfg.optim.epochs, cfg.optim.lr, cfg.model.hyperparameters, cfg.data.target) == (7, 2e-4, {"ngf": 8}, "PD")
    with pytest.raises(ConfigError, match=r"optim: unknown setting\(s\) epoch; valid: epochs"):
        load_config(overrides={"optim.epoch": 3})
    with pytest.raises(ConfigError, match="must look like section.key=value"):
        parse_override("optim.lr")
    with pytest.raises(ConfigError, match="source and target are both T1"):
        load_config(overrides={"data.target": "t1w"})
    (tmp_path / "bad.json").write_text("{oops")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_config(tmp_path / "bad.json")


def test_a_short_run_writes_everything_and_learns(dataset, tmp_path):
    cfg = config_for(dataset, tmp_path / "run", **{"optim.epochs": 4, "optim.slices_per_epoch": 12})
    path = train(cfg)
    run = tmp_path / "run"
    for name in ("config.yaml", "split.json", "history.csv", "curves.png", "state.safetensors", "best.safetensors",
                 "model.safetensors", "samples/epoch0004.png"):
        assert (run / name).is_file(), name
    assert list((run / "tensorboard").glob("events.out.tfevents.*"))  # tensorboard is in the test extras
    split = json.loads((run / "split.json").read_text())
    assert [len(split[k]) for k in ("train", "validation", "test")] == [2, 1, 1]
    assert not set(split["train"]) & set(split["test"])
    loaded = load_model(path)
    card = loaded.card
    assert (card.architecture, card.mapping, card.spatial_dims) == ("pgan", "T1->T2", 2)
    assert card.hyperparameters["in_channels"] == 1 and card.inference["plane"] == "axial"
    assert {"validation", "test"} <= card.metrics.keys() and np.isfinite(card.metrics["test"]["psnr"])
    with (run / "history.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 4 and {"lr", "loss_D", "loss_G", "loss_G_adv", "loss_G_l1", "val_psnr"} <= rows[0].keys()
    assert float(rows[-1]["loss_G_l1"]) < float(rows[0]["loss_G_l1"])  # it learns
    # the model is usable on a new volume, on its exact grid
    volume = read_volume(next(dataset.glob("*-T1.nii.gz")))
    from medsynth.inference import synthesize

    out = synthesize(volume, loaded)
    assert out.array.shape == volume.array.shape and np.isfinite(out.array).all()


def test_resume_continues_exactly(dataset, tmp_path):
    full = train(config_for(dataset, tmp_path / "full"))
    cancel = CancelToken()
    cfg = config_for(dataset, tmp_path / "cut")
    trainer = Trainer(cfg, cancel=cancel, epoch_callback=lambda row: row["epoch"] == 1 and cancel.cancel())
    with pytest.raises(Cancelled, match=r"keeps the 1 completed epoch\(s\): continue with --resume"):
        trainer.run()
    assert not (tmp_path / "cut" / "model.safetensors").exists()
    with pytest.raises(ConfigError, match="already holds a training run"):
        train(cfg)
    resumed = train(cfg, resume=True)
    a, b = state_tensors(tmp_path / "full" / "state.safetensors"), state_tensors(tmp_path / "cut" / "state.safetensors")
    assert a.keys() == b.keys()
    for key in a:
        if key.startswith("net.") and key.endswith(".weight"):
            torch.testing.assert_close(a[key], b[key], rtol=1e-5, atol=1e-6, msg=key)
    assert_same_function(tmp_path / "full", tmp_path / "cut", rtol=1e-5, atol=1e-6)
    history = lambda run: (run / "history.csv").read_text().splitlines()  # noqa: E731
    full_rows = [r.split(",")[:6] for r in history(tmp_path / "full")]
    cut_rows = [r.split(",")[:6] for r in history(tmp_path / "cut")]
    assert len(full_rows) == len(cut_rows) == 4
    np.testing.assert_allclose(np.array(full_rows[1:], float), np.array(cut_rows[1:], float), rtol=1e-5)
    assert load_model(full).card.metrics["test"]["psnr"] == pytest.approx(
        load_model(resumed).card.metrics["test"]["psnr"], abs=1e-4)


@pytest.mark.parametrize(("interrupted_epoch", "said"), [
    (1, r"stopped before its first epoch ended; .* holds only its settings \(config.yaml, split.json\): start it "
        r"afresh with --resume .* --restart, or delete the folder"),
    (2, r"stopped during epoch 2; .* keeps the 1 completed epoch\(s\): continue with --resume"),
])
def test_an_interrupt_during_validation_says_what_the_folder_holds(dataset, tmp_path, monkeypatch,
                                                                  interrupted_epoch, said):
    """Ctrl-C (or SIGTERM) while the epoch is being validated: the run folder already holds its settings, and
    maybe earlier epochs; the message says which, and the command that goes on."""
    original = Trainer.validate

    def validate(self, epoch):
        if epoch + 1 == interrupted_epoch:
            raise KeyboardInterrupt
        return original(self, epoch)

    monkeypatch.setattr(Trainer, "validate", validate)
    run = tmp_path / "run"
    with pytest.raises(Cancelled, match=said) as stopped:
        Trainer(config_for(dataset, run)).run()
    assert stopped.value.signum == 2 and (run / "config.yaml").exists()
    assert (run / "state.safetensors").exists() is (interrupted_epoch > 1)


def test_dataset_problems_are_reported_clearly(dataset, tmp_path):
    with pytest.raises(InputError, match="missing contrast.*has no PD.*contrasts present: T1, T2"):
        train(config_for(dataset, tmp_path / "a", **{"data.target": "PD"}))
    with pytest.raises(ConfigError, match="too few subjects for the split: 4 subject"):
        train(config_for(dataset, tmp_path / "b", **{"data.validation": 0.5, "data.test": 0.5}))
    moved = tmp_path / "moved"
    moved.mkdir()
    for path in dataset.glob("phantom00[1-4]-*.nii.gz"):
        (moved / path.name).symlink_to(path)
    t2 = read_volume(dataset / "phantom002-T2.nii.gz")
    coarse = t2.from_geometry(np.zeros((20, 22, 12), np.float32), t2.spacing * 2, t2.origin, t2.direction)
    (moved / "phantom002-T2.nii.gz").unlink()
    write_volume(resample_to(t2, coarse), moved / "phantom002-T2.nii.gz")
    with pytest.raises(InputError, match="phantom002.*not on one voxel grid.*medsynth prepare"):
        train(config_for(moved, tmp_path / "c", **{"data.subjects": {"train": ["phantom002"]}}))
    flair_only = tmp_path / "mixed"  # a folder where one subject lacks the target: an explicit split without it
    flair_only.mkdir()
    for path in dataset.glob("phantom00*-*.nii.gz"):
        if not path.name.startswith("phantom004-T2"):
            (flair_only / path.name).symlink_to(path)
    from medsynth.training.data import discover

    named = config_for(flair_only, tmp_path / "f", **{"data.subjects": {"train": ["phantom001", "phantom002"],
                                                                         "validation": ["phantom003"]}})
    assert sorted(discover(named.data)) == ["phantom001", "phantom002", "phantom003"]
    with pytest.raises(InputError, match="phantom004 has no T2"):
        discover(config_for(flair_only, tmp_path / "g").data)
    with pytest.raises(ConfigError, match="data.subjects names phantom009, not in"):
        discover(config_for(flair_only, tmp_path / "h", **{"data.subjects": {"train": ["phantom009"]}}).data)
    with pytest.raises(ConfigError, match="'identity' has nothing to train"):
        train(config_for(dataset, tmp_path / "e", **{"model.architecture": "identity", "model.hyperparameters": {}}))
    with pytest.raises(InputError, match="dataset not found"):
        train(config_for(tmp_path / "nowhere", tmp_path / "d"))


def test_cli_train_and_resume(dataset, tmp_path, capsys):
    out = tmp_path / "cli"
    args = ["-q", "train", "--data", str(dataset), "--out", str(out), "--epochs", "1", "--device", "cpu"]
    args += [f"--set={k}={json.dumps(v)}" for k, v in TINY.items() if k not in ("optim.epochs", "device")]
    assert main(args) == 0
    assert "model:" in capsys.readouterr().out
    assert main(["-q", "train", "--resume", str(out), "--epochs", "2"]) == 0
    assert len((out / "history.csv").read_text().splitlines()) == 3
    assert main(["-q", "train", "--resume", str(tmp_path / "nothing")]) == 2
    assert "configuration file not found" in capsys.readouterr().err


def test_ddp_with_two_cpu_processes_matches_one_process(dataset, tmp_path):
    """torchrun, gloo backend: batch 1 per process x 2 processes == batch 2 in one process."""
    common = {**TINY, "data.root": str(dataset), "augment.rotate": 3.0}
    single = tmp_path / "single"
    train(load_config(overrides={**common, "output": str(single)}))
    ddp = tmp_path / "ddp"
    train_two_processes(ddp, {**common, "optim.batch_size": 1})
    assert_same_function(single, ddp, rtol=1e-3, atol=1e-4)
    single_rows, ddp_rows = ((r / "history.csv").read_text().splitlines() for r in (single, ddp))
    np.testing.assert_allclose(np.array([r.split(",")[1:4] for r in single_rows[1:]], float),
                               np.array([r.split(",")[1:4] for r in ddp_rows[1:]], float), rtol=1e-3)
    assert Path(ddp / "model.safetensors").is_file()


def test_state_file_refuses_another_configuration(dataset, tmp_path):
    train(config_for(dataset, tmp_path / "r", **{"optim.epochs": 1}))
    g = build_model("pgan", ngf=8, n_blocks=2)
    with pytest.raises(ConfigError, match="does not fit this configuration"):
        load_state(tmp_path / "r" / "state.safetensors", {"generator": g}, {})


def test_augmentation_moves_source_target_and_mask_together_and_is_reproducible():
    from medsynth.training.augment import augment
    from medsynth.training.config import AugmentConfig

    image = torch.zeros(4, 1, 32, 32)
    image[:, :, 8:20, 6:14] = 1.0
    config = AugmentConfig(rotate=20, scale=0.1, shift=0.1, intensity=0.0, probability=1.0)
    s1, t1, m1 = augment(image.clone(), image.clone(), image.clone(), config, torch.Generator().manual_seed(5), (0, 0))
    s2, t2, m2 = augment(image.clone(), image.clone(), image.clone(), config, torch.Generator().manual_seed(5), (0, 0))
    assert torch.equal(s1, s2) and torch.equal(t1, t2) and torch.equal(m1, m2)  # same seed, same draw
    assert torch.allclose(s1, t1) and not torch.allclose(s1, image)  # one geometry for both
    assert set(m1.unique().tolist()) <= {0.0, 1.0} and (m1 - (t1 > 0.5).float()).abs().mean() < 0.02  # mask follows
    jitter = AugmentConfig(rotate=0, scale=0, shift=0, flip=False, intensity=0.3, probability=1.0)
    s3, t3, _ = augment(image + 0.5, image.clone(), image.clone(), jitter, torch.Generator().manual_seed(1), (-1, -1))
    assert torch.equal(t3, image) and not torch.allclose(s3, image + 0.5)  # intensity: source only


def test_scanner_simulation_keeps_tissue_order_and_range_and_replays_exactly():
    from medsynth.training.config import AugmentConfig
    from medsynth.training.scanner import simulate_scanner

    ramp = torch.linspace(-1, 1, 64).repeat(64, 1)[None, None].repeat(3, 1, 1, 1)  # (3, 1, 64, 64)
    curve = AugmentConfig(curve=1.0, intensity=0.0)
    a = simulate_scanner(ramp.clone(), curve, torch.Generator().manual_seed(3))
    b = simulate_scanner(ramp.clone(), curve, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)  # seeded: a resumed run replays the same draws
    assert not torch.allclose(a, ramp, atol=1e-3)  # the contrast between intensities changed
    assert (a[..., 1:] - a[..., :-1] >= -1e-6).all()  # monotone: brighter stays brighter
    assert torch.allclose(a.amin(dim=(1, 2, 3)), ramp.amin(dim=(1, 2, 3))) and (a <= 1 + 1e-6).all()
    shaded = simulate_scanner(torch.ones(8, 1, 32, 32) * 0.5 + 0.5 * (torch.rand(8, 1, 32, 32) > 0.5),
                              AugmentConfig(bias_field=0.9), torch.Generator().manual_seed(0))
    assert shaded.std(dim=(1, 2, 3)).max() > 0  # some samples got a field; values stay in the sample's range
    assert simulate_scanner(ramp, AugmentConfig(), torch.Generator()) is ramp  # off by default


def test_masked_loss_ignores_errors_outside_the_head():
    from medsynth.training.objectives.paired import mean_within as _mean_within

    error = torch.zeros(1, 1, 4, 4)
    error[..., :2] = 5.0  # wrong only outside the head
    mask = torch.zeros(1, 1, 4, 4)
    mask[..., 2:] = 1.0
    assert float(_mean_within(error, mask)) == 0.0 and float(_mean_within(error, None)) == 2.5


def test_unet_trains_through_the_same_engine_with_2p5d_context(dataset, tmp_path):
    unet = {"model.architecture": "unet", "model.hyperparameters": {"ngf": 4, "num_downs": 5},
            "data.size": 32, "data.context": 1, "optim.epochs": 1}
    with pytest.raises(ConfigError, match="data.size 48 must be a multiple of 32 for 'unet'"):
        train(config_for(dataset, tmp_path / "bad", **{**unet, "data.size": 48}))
    assert not (tmp_path / "bad").exists()  # a refused run leaves nothing to clean up or to block a retry
    card = load_model(train(config_for(dataset, tmp_path / "unet", **unet))).card
    assert card.architecture == "unet" and card.hyperparameters["in_channels"] == 3
    assert card.inference["context"] == 1


def test_generalization_recipe_is_recorded_in_the_card_and_applied_at_inference(dataset, tmp_path):
    recipe = {"data.normalization": "percentile", "data.plane": "all", "loss.masked": True,
              "model.calibrate_output": True, "augment.curve": 0.8, "augment.bias_field": 0.3, "optim.epochs": 1}
    loaded = load_model(train(config_for(dataset, tmp_path / "recipe", **recipe)))
    card = loaded.card
    assert card.source_normalization == {"kind": "percentile", "percentiles": [1.0, 99.0]}
    assert card.target_intensity["kind"] == "percentile"
    assert card.inference["plane"] == "all" and card.inference["outside"] == "background"
    quantiles = card.inference["output_quantiles"]
    assert len(quantiles) == 101 and quantiles == sorted(quantiles) and -2 <= quantiles[0] < quantiles[-1] <= 2
    assert card.training["slices"] > 24  # slices of all three planes (24 axial slices per phantom)
    from medsynth.inference import InferenceOptions, synthesize

    t1 = read_volume(next(dataset.glob("*T1.nii.gz")))
    out = synthesize(t1, loaded, InferenceOptions(device="cpu"))
    assert out.same_grid(t1) and np.isfinite(out.array).all()


def test_fine_tuning_starts_from_the_models_weights_and_keeps_its_settings(dataset, tmp_path, capsys):
    first = train(config_for(dataset, tmp_path / "first", **{"optim.epochs": 1, "data.normalization": "percentile",
                                                             "data.context": 1}))
    loaded = load_model(first)
    config = load_config(overrides={"init": str(first), "data.root": str(dataset), "output": str(tmp_path / "tuned"),
                                    "data.size": 48, "optim.slices_per_epoch": 4, "device": "cpu",
                                    "data.validation": 0.25, "data.test": 0.25})
    assert config.model.architecture == "pgan" and config.data.context == 1
    assert config.data.normalization == "percentile"
    assert config.model.hyperparameters == {k: v for k, v in loaded.card.hyperparameters.items() if k != "in_channels"}
    assert (config.optim.epochs, config.optim.lr) == (10, 5e-5)  # the short fine-tuning recipe
    trainer = Trainer(config)
    trainer._prepare(resume=False)
    start = trainer.objective.generator.state_dict()
    assert all(torch.equal(start[k], v) for k, v in loaded.model.state_dict().items())
    assert main(["-q", "train", "--init", str(first), "--data", str(dataset), "--out", str(tmp_path / "cli"),
                 "--epochs", "1", "--device", "cpu", "--set", "data.size=48", "--set", "optim.slices_per_epoch=4"]) == 0
    card = load_model(tmp_path / "cli" / "model.safetensors").card
    assert card.training["fine_tuned_from"] == str(first) and card.mapping == loaded.card.mapping
    capsys.readouterr()
    assert main(["-q", "train", "--init", str(first), "--arch", "unet", "--data", str(dataset),
                 "--out", str(tmp_path / "bad")]) == 2
    assert "model.architecture is unet, but the model to fine-tune" in capsys.readouterr().err
    assert main(["-q", "train", "--init", "phantom-jointhist-T1-T2", "--data", str(dataset),
                 "--out", str(tmp_path / "bad")]) == 2
    assert "non-learned baseline" in capsys.readouterr().err
    assert main(["-q", "train", "--init", "no-such-model", "--data", str(dataset), "--out", str(tmp_path / "bad")]) == 2
    assert "init: " in capsys.readouterr().err and not (tmp_path / "bad").exists()


# --- careless settings and damaged runs: one line naming the setting, and a way out ----------------------


@pytest.mark.parametrize(("setting", "value", "message"), [
    ("model.hyperparameters", [4, 2], "model.hyperparameters: expected a mapping of settings"),
    ("optim.slices_per_epoch", 0, "optim.slices_per_epoch must be at least 1"),
    ("optim.slices_per_epoch", -5, "optim.slices_per_epoch must be at least 1"),
    ("data.split_seed", -1, "data.split_seed must be 0 or more"),
    ("optim.lr", float("nan"), "optim.lr must be a finite number"),
    ("validation.stride", 0, "validation.stride must be a positive number of voxels"),
    ("augment.probability", 2.0, "augment.probability must be in"),
    ("augment.curve", 1.5, "augment.curve (a chance) and augment.bias_field"),
    ("data.plane", "oblique", "data.plane must be one of sagittal, coronal, axial or all"),
    ("data.normalization", "robust", "data.normalization must be one of auto, minmax, zscore, percentile"),
    ("optim.epochs", 10**9, "optim.epochs must be between 1 and 100000"),
])
def test_careless_settings_are_named(dataset, tmp_path, setting, value, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        config_for(dataset, tmp_path / "run", **{setting: value})


def test_an_output_folder_that_is_a_file_is_refused(dataset, tmp_path):
    (tmp_path / "run").write_text("notes")
    with pytest.raises(ConfigError, match="is a file; the run's output .* must be a folder"):
        train(config_for(dataset, tmp_path / "run"))
    assert (tmp_path / "run").read_text() == "notes"


def test_resuming_with_another_network_or_dataset_is_one_line(dataset, tmp_path):
    cfg = config_for(dataset, tmp_path / "run", **{"optim.epochs": 1})
    train(cfg)
    wider = config_for(dataset, tmp_path / "run", **{"optim.epochs": 2, "model.hyperparameters.ngf": 8})
    with pytest.raises(ConfigError) as error:
        train(wider, resume=True)
    assert "\n" not in str(error.value) and "does not fit this configuration" in str(error.value)
    assert "config.yaml" in str(error.value)
    other = tmp_path / "other"
    write_phantom_dataset(other, 4, shape=(40, 44, 24), seed=8, contrasts=("T1", "T2"))
    for path in other.iterdir():
        path.rename(other / path.name.replace("phantom", "subject"))
    moved = config_for(other, tmp_path / "run", **{"optim.epochs": 2})
    with pytest.raises(ConfigError, match="the run's subjects .* are not in .*: resume with the run's own dataset"):
        train(moved, resume=True)


def test_a_damaged_state_is_not_a_dead_end(dataset, tmp_path, capsys):
    from medsynth.training.state import previous_state

    run = tmp_path / "run"
    train(config_for(dataset, run, **{"optim.epochs": 2}))
    state = run / "state.safetensors"
    assert previous_state(state).is_file()  # the epoch before is kept until the next save
    state.write_bytes(state.read_bytes()[:1000])  # truncated, e.g. by a copy to a full disk
    resumed = train(config_for(dataset, run, **{"optim.epochs": 3}), resume=True)  # from the state before
    assert resumed.is_file() and len((run / "history.csv").read_text().splitlines()) == 4

    for path in (state, previous_state(state)):
        path.write_bytes(b"\0" * 100)
    with pytest.raises(ConfigError, match=r"unreadable training state .* --resume .* --restart"):
        train(config_for(dataset, run, **{"optim.epochs": 4}), resume=True)
    with pytest.raises(ConfigError, match="already holds a training run; .* --restart"):
        train(config_for(dataset, run, **{"optim.epochs": 4}))
    assert main(["-q", "train", "--resume", str(run), "--restart", "--epochs", "1"]) == 0  # afresh, in place
    assert len((run / "history.csv").read_text().splitlines()) == 2 and state.is_file()
    capsys.readouterr()


def test_a_state_without_optimizer_groups_is_reported(dataset, tmp_path):
    import json as json_module

    from safetensors.torch import save_file

    run = tmp_path / "run"
    train(config_for(dataset, run, **{"optim.epochs": 1}))
    state = run / "state.safetensors"
    tensors = state_tensors(state)
    with safe_open(str(state), framework="pt") as f:
        meta = json_module.loads(f.metadata()["medsynth.training_state"])
    meta["param_groups"] = {}
    save_file(tensors, str(state), metadata={"medsynth.training_state": json_module.dumps(meta)})
    previous = run / "state.previous.safetensors"
    previous.unlink(missing_ok=True)
    with pytest.raises(ConfigError, match="unreadable training state .*optimizer groups"):
        train(config_for(dataset, run, **{"optim.epochs": 2}), resume=True)
