"""Many-to-one synthesis (BraSyn-style T1 + T2 -> FLAIR): the card lists its inputs, training and both
engines take several co-registered volumes, the CLI takes repeated --input, and the two-input joint
histogram is the voxel-wise baseline to beat."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from medsynth.baselines import fit_baseline, fit_joint_histogram_2d
from medsynth.checkpoint import LoadedModel, load_model
from medsynth.cli.main import main
from medsynth.core.errors import InputError
from medsynth.core.progress import Reporter
from medsynth.inference import InferenceOptions, synthesize
from medsynth.inference.patchwise import run_patchwise
from medsynth.io import read_volume
from medsynth.metrics import compare
from medsynth.models import build_model
from medsynth.phantom import make_subject, phantom_grid, write_phantom_dataset
from medsynth.resample import resample_to
from medsynth.training import load_config, train

CPU = InferenceOptions(device="cpu")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    folder = tmp_path_factory.mktemp("phantoms")
    write_phantom_dataset(folder, 3, shape=(40, 44, 24), seed=3, contrasts=("T1", "T2", "FLAIR"))
    return folder


@pytest.fixture(scope="module")
def trained(dataset, tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "t1t2-flair"
    config = load_config(overrides={
        "data.root": str(dataset), "data.sources": ["T1", "t2w"], "data.target": "flair", "data.context": 1,
        "output": str(out), "device": "cpu", "data.size": 48, "optim.slices_per_epoch": 4, "optim.batch_size": 2,
        "optim.epochs": 1, "data.validation": 0.34, "data.test": 0,
        "model.hyperparameters": {"ngf": 4, "n_blocks": 1, "dense_blocks": 0},
        "model.discriminator_hyperparameters": {"ndf": 4, "n_layers": 2}})
    assert config.data.inputs == ["T1", "T2"] and config.in_channels == 6
    return train(config)


def test_the_card_lists_the_inputs_and_the_network_takes_all_of_them(trained):
    card = load_model(trained).card
    assert card.inputs == ["T1", "T2"] and card.mapping == "T1+T2->FLAIR" and card.source_contrast == "T1"
    assert card.hyperparameters["in_channels"] == 6  # 2 inputs x (1 + 2 context slices)


def test_synthesis_takes_the_inputs_in_order_and_resamples_a_misaligned_one(trained, dataset, caplog):
    loaded = load_model(trained)
    t1, t2 = (read_volume(dataset / f"phantom001-{c}.nii.gz") for c in ("T1", "T2"))
    out = synthesize([t1, t2], loaded, CPU)
    assert out.same_grid(t1) and np.isfinite(out.array).all()
    with pytest.raises(InputError, match=r"takes 2 input volume\(s\), T1, T2 in this order; got 1"):
        synthesize(t1, loaded, CPU)
    shifted = resample_to(t2, t2.with_array(t2.array))  # same voxels ...
    shifted.ijk_to_ras = shifted.ijk_to_ras.copy()
    shifted.ijk_to_ras[:3, 3] += 0.5  # ... on a grid shifted by half a millimetre
    with caplog.at_level(logging.WARNING, logger="medsynth"):
        moved = synthesize([t1, shifted], loaded, CPU)
    assert "input 2 (T2) is on another grid than input 1 (T1): resampled onto it" in caplog.text
    assert moved.same_grid(t1)


def test_cli_takes_repeated_input_and_checks_each_contrast(trained, dataset, tmp_path, capsys):
    t1, t2 = (str(dataset / f"phantom001-{c}.nii.gz") for c in ("T1", "T2"))
    out = tmp_path / "flair.nii.gz"
    assert main(["-q", "synthesize", t1, str(out), "-m", str(trained), "--input", t2]) == 0
    assert "T1+T2->FLAIR" in capsys.readouterr().out and read_volume(out).same_grid(read_volume(t1))
    assert main(["-q", "synthesize", t1, str(tmp_path / "x.nii.gz"), "-m", str(trained)]) == 2
    assert "give the others with --input" in capsys.readouterr().err
    assert main(["-q", "synthesize", t2, str(tmp_path / "x.nii.gz"), "-m", str(trained), "--input", t1]) == 2
    assert "expects T1, T2 in this order; input 1 must be T1" in capsys.readouterr().err
    assert not (tmp_path / "x.nii.gz").exists()


def test_the_two_input_joint_histogram_beats_either_one_input_map():
    def subject(index):
        return make_subject(phantom_grid((64, 72, 48)), seed=21, index=index, contrasts=("T1", "T2", "FLAIR"),
                            lesion_probability=1.0)

    train_on = [subject(k) for k in range(3)]
    held = subject(7)
    pairs = [([s.images["T1"], s.images["T2"]], s.images["FLAIR"]) for s in train_on]
    model, card = fit_joint_histogram_2d(pairs, ["T1", "T2"], "FLAIR")
    assert card.mapping == "T1+T2->FLAIR" and card.engine == "voxelwise"
    mask = held.masks["T1"].array > 0
    both = synthesize([held.images["T1"], held.images["T2"]], LoadedModel(model.eval(), card), CPU)
    psnr = {"both": compare(both, held.images["FLAIR"], mask, planes=False)["mask"]["psnr"]}
    for contrast in ("T1", "T2"):
        one, one_card = fit_baseline("joint_histogram", [(s.images[contrast], s.images["FLAIR"], None)
                                                         for s in train_on], contrast, "FLAIR")
        result = synthesize(held.images[contrast], LoadedModel(one.eval(), one_card), CPU)
        psnr[contrast] = compare(result, held.images["FLAIR"], mask, planes=False)["mask"]["psnr"]
    assert psnr["both"] > max(psnr["T1"], psnr["T2"]), psnr
    with pytest.raises(Exception, match="takes two inputs"):
        fit_joint_histogram_2d(pairs, ["T1"], "FLAIR")


def test_patch_engine_gives_each_input_a_channel():
    torch.manual_seed(0)
    net = build_model("convnet", spatial_dims=3, in_channels=2, filters=[4, 1], kernels=[3, 3], norm="none").eval()
    a = np.random.default_rng(0).random((20, 24, 16)).astype(np.float32)
    b = np.random.default_rng(1).random((20, 24, 16)).astype(np.float32)
    out = run_patchwise(net, np.stack([a, b]), 0.0, None, lambda n: Reporter(n, None, None, "t"), patch_size="full",
                        stride="full")
    with torch.no_grad():
        direct = net(torch.from_numpy(np.stack([a, b]))[None])[0, 0].numpy()
    np.testing.assert_allclose(out, direct, atol=1e-5)
