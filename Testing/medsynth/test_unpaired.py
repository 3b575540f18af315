"""Unpaired training (training.unpaired) and CycleGAN (seed 004): two domains from different subjects,
sites and voxel sizes, a second generator, exact resume with the synthetic-image pool, and the errors for
data an unpaired objective cannot use."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch
from medsynth.checkpoint import load_model
from medsynth.core.errors import Cancelled, ConfigError, InputError
from medsynth.core.progress import CancelToken
from medsynth.inference import synthesize
from medsynth.io import read_volume, write_volume
from medsynth.phantom import write_phantom_dataset
from medsynth.resample import resample_to_spacing
from medsynth.training import Trainer, load_config, train
from medsynth.training.objectives.pool import SyntheticPool
from medsynth.training.unpaired import LAST_EPOCH, UnpairedSliceDataset, discover_unpaired, load_domains, split_unpaired
from safetensors import safe_open
from torchrun_train import train_two_processes

TINY = {
    "model.architecture": "cyclegan", "model.hyperparameters": {"ngf": 4, "n_blocks": 1},
    "model.discriminator_hyperparameters": {"ndf": 4, "n_layers": 2}, "data.size": 48,
    "optim.slices_per_epoch": 3, "optim.epochs": 2, "cyclegan.synthetic_pool_size": 2, "device": "cpu",
    "data.source": "T1", "data.target": "CT", "data.spacing": 6.0,
}


@pytest.fixture(scope="module")
def paired_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("paired")
    write_phantom_dataset(folder, 4, shape=(40, 44, 24), seed=3, contrasts=("T1", "CT"))
    return folder


@pytest.fixture(scope="module")
def two_sites(tmp_path_factory):
    """T1 from one site (6 x 5.5 x 7.5 mm voxels: tiny phantoms hold a whole head), CT of other anatomy from
    another site at 8 x 7.1 x 10 mm."""
    mri, ct = tmp_path_factory.mktemp("site-mri"), tmp_path_factory.mktemp("site-ct")
    write_phantom_dataset(mri, 2, shape=(40, 44, 24), seed=5, contrasts=("T1",))
    write_phantom_dataset(ct, 2, shape=(30, 34, 18), seed=17, contrasts=("CT",))
    return mri, ct


def config(root, out, **extra):
    return load_config(overrides={**TINY, "data.root": str(root), "output": str(out), **extra})


def state_tensors(path):
    with safe_open(str(path), framework="pt") as f:
        return {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118


def test_paired_subjects_are_held_out_and_the_domains_are_drawn_independently(paired_folder):
    cfg = config(paired_folder, "unused", **{"data.validation": 0.25, "data.test": 0.25})
    folders = discover_unpaired(cfg.data)
    assert folders.same_folder and len(folders.paired) == 4
    split = split_unpaired(folders, cfg.data)
    assert [len(split[k]) for k in ("validation", "test", "source", "target")] == [1, 1, 2, 2]
    assert not set(split["validation"] + split["test"]) & set(split["source"] + split["target"])
    source, target = load_domains(folders, split, cfg.data, ("axial",))
    assert all(np.array_equal(s.source, s.target) for s in source)  # a domain volume is its own target
    dataset = UnpairedSliceDataset(source, target, cfg.data)
    count = 3 * len(dataset.domains[0])
    items = dataset.epoch_items(np.random.default_rng(0), count)
    assert items.shape == (count, 2) and np.bincount(items[:, 0]).tolist() == [3] * len(dataset.domains[0])
    partners = [set(items[items[:, 0] == k, 1]) for k in range(len(dataset.domains[0]))]
    assert max(map(len, partners)) > 1  # a source slice meets different target slices
    a, mask_a, b, mask_b = dataset.draw(items[0], torch.Generator().manual_seed(1), cfg.augment)
    assert a.shape == b.shape == mask_a.shape == mask_b.shape == (1, 1, 48, 48)
    assert set(torch.unique(mask_b).tolist()) <= {0.0, 1.0}


def test_cyclegan_trains_on_two_sites_resumes_exactly_and_exports_both_generators(two_sites, tmp_path):
    mri, ct = two_sites
    extra = {"data.target_root": str(ct)}
    full = train(config(mri, tmp_path / "full", **extra))
    cfg = config(mri, tmp_path / "cut", **extra)
    cancel = CancelToken()
    trainer = Trainer(cfg, cancel=cancel, epoch_callback=lambda row: row["epoch"] == 1 and cancel.cancel())
    with pytest.raises(Cancelled):
        trainer.run()
    train(cfg, resume=True)
    a, b = state_tensors(tmp_path / "full" / "state.safetensors"), state_tensors(tmp_path / "cut" / "state.safetensors")
    assert a.keys() == b.keys() and {"net.pool_B.images", "net.pool_A.count"} <= a.keys()
    for key in a:  # the pools included: the resumed run drew exactly the same earlier images
        torch.testing.assert_close(a[key], b[key], rtol=1e-4, atol=1e-5, msg=key)
    split = json.loads((tmp_path / "full" / "split.json").read_text())
    assert (len(split["source"]), len(split["target"]), len(split["validation"])) == (2, 2, 0)
    card = load_model(full).card
    assert (card.architecture, card.mapping, card.engine) == ("cyclegan", "T1->CT", "slicewise")
    assert card.training["best_epoch_by"] == LAST_EPOCH and card.training["spacing_mm"] == 6.0
    assert card.training["cyclegan"]["lambda_ABA"] == 10.0 and card.training["objective"] == "cyclegan"
    reverse = load_model(tmp_path / "full" / "model-reverse.safetensors")
    assert reverse.card.mapping == "CT->T1" and reverse.card.hyperparameters["in_channels"] == 1
    with (tmp_path / "full" / "history.csv").open() as f:
        header = f.readline().strip().split(",")
    assert {"loss_G_cycle_ABA", "loss_G_cycle_BAB", "loss_G_idt_A", "loss_D_A", "loss_D_B"} <= set(header)
    assert card.inference["spacing"] == 6.0
    volume = read_volume(next(mri.glob("*-T1.nii.gz")))
    finer = resample_to_spacing(volume, (3.0, 3.0, 7.5))  # another site's voxels: run at 6 mm, written back at 3
    for given in (volume, finer):
        out = synthesize(given, load_model(full))
        assert out.array.shape == given.array.shape and np.allclose(out.ijk_to_ras, given.ijk_to_ras)
        assert np.isfinite(out.array).all() and out.array.min() >= -1024.5 and out.array.max() <= 3071.5  # HU


def test_cyclegan_under_torchrun_with_two_cpu_processes_matches_one_process(two_sites, tmp_path):
    """gloo: batch 1 per process x 2 processes == batch 2 in one process (no pool: each process has its own)."""
    mri, ct = two_sites
    common = {**TINY, "data.root": str(mri), "data.target_root": str(ct), "cyclegan.synthetic_pool_size": 0,
              "optim.slices_per_epoch": 4, "optim.epochs": 1}
    train(load_config(overrides={**common, "optim.batch_size": 2, "output": str(tmp_path / "single")}))
    train_two_processes(tmp_path / "ddp", {**common, "optim.batch_size": 1})
    x = torch.randn(2, 1, 48, 48, generator=torch.Generator().manual_seed(1))
    outputs = []
    for run in ("single", "ddp"):
        model = load_model(tmp_path / run / "model.safetensors").model
        with torch.no_grad():
            outputs.append(model(x))
    torch.testing.assert_close(outputs[0], outputs[1], rtol=1e-3, atol=1e-4)


def test_the_target_domain_is_resampled_to_the_training_voxel_size(two_sites):
    mri, ct = two_sites
    cfg = config(mri, "unused", **{"data.target_root": str(ct)})
    folders = discover_unpaired(cfg.data)
    _, target = load_domains(folders, split_unpaired(folders, cfg.data), cfg.data, ("axial",))
    spacing = target[0].geometry.spacing
    across = 2 - target[0].axis
    assert np.allclose(np.delete(spacing, across), 6.0) and spacing[across] == pytest.approx(10.0)


def test_data_an_unpaired_objective_cannot_use_is_refused(two_sites, paired_folder, tmp_path):
    mri, ct = two_sites
    with pytest.raises(InputError, match="the target domain is empty: no subject in .* holds CT"):
        Trainer(config(mri, tmp_path / "a")).run()
    cases = [
        ({"data.context": 1}, "cyclegan trains on single slices: set data.context to 0"),
        ({"loss.l2": 1.0}, "loss.l2 compare each output with its own target image"),
    ]
    for overrides, message in cases:
        with pytest.raises(ConfigError, match=message):
            Trainer(config(mri, tmp_path / "b", **{"data.target_root": str(ct), **overrides})).run()
    with pytest.raises(ConfigError, match=r"data.target_root \(--target-data\) is for unpaired architectures "
                                          r"\(cyclegan, unit\); 'pgan' trains on co-registered pairs"):
        Trainer(config(mri, tmp_path / "p", **{"data.target_root": str(ct), "model.architecture": "pgan",
                                               "data.target": "T2"})).run()
    with pytest.raises(ConfigError, match="cannot be held out: a validation or test subject of unpaired training"):
        Trainer(config(mri, tmp_path / "c", **{"data.target_root": str(ct),
                                               "data.subjects": {"test": ["phantom001"]}})).run()
    chosen = config(paired_folder, "x", **{"data.subjects": {"test": ["phantom004"], "source": ["phantom001"],
                                                              "target": ["phantom002", "phantom003"]}}).data
    split = split_unpaired(discover_unpaired(chosen), chosen)
    assert (split["source"], split["target"], split["validation"]) == (["phantom001"], ["phantom002", "phantom003"], [])
    with pytest.raises(ConfigError, match="data.subjects.target: phantom004 cannot train the target domain"):
        wrong = config(paired_folder, "x", **{"data.subjects": {"test": ["phantom004"], "target": ["phantom004"]}})
        split_unpaired(discover_unpaired(wrong.data), wrong.data)
    with pytest.raises(ConfigError, match="every source-domain subject is held out"):
        split_unpaired(discover_unpaired(config(paired_folder, "x").data),
                       config(paired_folder, "x", **{"data.subjects": {
                           "test": ["phantom001", "phantom002"], "validation": ["phantom003", "phantom004"]}}).data)


def test_ct_stored_without_the_rescale_intercept_is_refused(paired_folder, tmp_path):
    folder = tmp_path / "offset"
    folder.mkdir()
    for path in paired_folder.glob("phantom00[12]-*"):
        volume = read_volume(path)
        if path.name.endswith("-CT.nii.gz"):
            volume = volume.with_array(volume.array + 1024)  # as many scanners store it
        write_volume(volume, folder / path.name, dtype=np.int16)
    with pytest.raises(InputError, match="no air below -200 .* stored without the rescale intercept"):
        Trainer(config(folder, tmp_path / "run", **{"data.validation": 0.0, "data.test": 0.0})).run()


def test_the_pool_returns_earlier_images_once_full_and_keeps_them_in_its_state():
    pool = SyntheticPool(2, (1, 2, 2))
    torch.manual_seed(0)
    first, second = torch.full((1, 1, 2, 2), 1.0), torch.full((1, 1, 2, 2), 2.0)
    assert torch.equal(pool.draw(first), first) and torch.equal(pool.draw(second), second)  # filling up
    drawn = [float(pool.draw(torch.full((1, 1, 2, 2), 3.0 + k))[0, 0, 0, 0]) for k in range(20)]
    assert any(v < 3 for v in drawn) and any(v >= 3 for v in drawn)  # earlier images, and new ones
    copy = SyntheticPool(2, (1, 2, 2))
    copy.load_state_dict(pool.state_dict())
    assert torch.equal(copy.images, pool.images) and int(copy.count) == 2
    assert torch.equal(SyntheticPool(0, (1, 2, 2)).draw(first), first)


@pytest.mark.parametrize(("override", "said"), [
    ({"cyclegan.synthetic_pool_size": -1}, "cyclegan.synthetic_pool_size must be between 0 and 10000, got -1"),
    ({"cyclegan.lambda_ABA": -1.0}, "cyclegan.lambda_ABA, lambda_BAB and lambda_identity must be 0 or more"),
    ({"unit.self_attention": "decoder"}, "unit.self_attention must be none, encoder or generator, got 'decoder'"),
    ({"unit.charbonnier_eps": 0.0}, "unit.charbonnier_eps must be in (0, 1], got 0.0"),
])
def test_an_objectives_own_section_is_checked_with_the_configuration(override, said):
    """Each objective's section declares its checks beside its settings; loading a configuration runs them."""
    with pytest.raises(ConfigError, match=re.escape(said)):
        load_config(None, override)
