"""The bundled trained generators (pGAN, 3D Nie): present, documented, small, and better than the baselines."""

import pytest
from medsynth.checkpoint import load_model
from medsynth.core.catalog import default_model, load_catalog
from medsynth.inference import InferenceOptions, synthesize
from medsynth.metrics import compare
from medsynth.phantom import make_subject, phantom_grid

# a 3D patch model is tied to the voxel size it learned: a block of a phantom head at IXI's resolution
BLOCK_3D, IXI_SPACING = (128, 128, 96), (0.9375, 0.9375, 1.2)
TRAINED = ["phantom-pgan-T1-T2", "phantom-pgan-T2-T1", "phantom-pgan-T1-T1_7T"]
REAL = [e.name for e in load_catalog() if e.name.startswith("real-unet-")]


@pytest.mark.parametrize("name", TRAINED)
def test_trained_generator_is_bundled_with_an_honest_card(name):
    entry = next((e for e in load_catalog() if e.name == name), None)
    assert entry is not None, f"{name} is missing from the catalog"
    card = entry.card
    assert card.architecture == "pgan" and card.spatial_dims == 2
    assert card.hyperparameters["n_blocks"] == 9 and card.hyperparameters["ngf"] < 64
    assert "instead of the paper's 64" in card.description and "2-core CPU" in card.description
    assert entry.path.stat().st_size < 10 * 1024 * 1024
    assert card.training["reproduce"].startswith("scripts/train_bundled.py")
    # test metrics of the held-out subject next to the three baselines, measured the same way
    keys = {"test", "baseline identity", "baseline histogram_matching", "baseline joint_histogram"}
    assert keys <= card.metrics.keys()
    assert card.metrics["test"]["psnr"] > card.metrics["baseline identity"]["psnr"]
    if name.startswith("real"):
        assert card.training["split"]["test"] == ["TCGA-DU-7294"]
        assert "TCGA-DU-7294" not in card.training["split"]["train"]


def test_the_3t_to_7t_phantom_model_beats_every_baseline_on_its_test_subject():
    card = next(e for e in load_catalog() if e.name == "phantom-pgan-T1-T1_7T").card
    assert card.mapping == "T1->T1_7T" and "3 T / 7 T phantom" in card.description
    for baseline in ("identity", "histogram_matching", "joint_histogram"):
        assert card.metrics["test"]["psnr"] > card.metrics[f"baseline {baseline}"]["psnr"]
        assert card.metrics["test"]["mae"] < card.metrics[f"baseline {baseline}"]["mae"]


def test_a_real_data_model_exists_for_t1_to_t2():
    assert "real-unet-T1-T2" in REAL


@pytest.mark.parametrize("name", REAL)
def test_real_data_models_are_bundled_only_with_leave_one_subject_out_wins(name):
    entry = next(e for e in load_catalog() if e.name == name)
    card = entry.card
    assert card.architecture == "unet" and card.spatial_dims == 2 and card.inference["plane"] == "all"
    assert card.inference["outside"] == "background" and card.source_normalization["kind"] in ("percentile", "nyul")
    assert len(card.training["split"]["train"]) == 4  # every real subject
    for convention in ("own-scale", "calibrated"):  # the rule: beat the best voxel-wise baseline under both
        figures = card.metrics[f"leave-one-subject-out {convention}"]
        assert figures["margin_db"] > 0 and figures["subjects"] == 4 and figures["best_baseline"].startswith("baseline")
    assert card.training["reproduce"].startswith(f"scripts/train_bundled.py {name.replace('unet-', '')}")
    assert "domain" in card.training and card.training["domain"]["skull_stripped"] is True
    assert entry.path.stat().st_size < 16 * 1024 * 1024


def test_the_t1_to_t2_model_passes_both_protocols_and_carries_its_trust_record_and_uncertainty_calibration():
    card = next(e for e in load_catalog() if e.name == "real-unet-T1-T2").card
    for protocol in ("leave-one-subject-out", "leave-one-source-out"):
        for convention in ("own-scale", "calibrated"):
            assert card.metrics[f"{protocol} {convention}"]["worst_subject_margin_db"] > 0
    assert card.training["domain"]["voxels"]["bins"] > 0  # the trust mask's record of its training inputs
    assert card.uncertainty_method("auto") == "error-model"  # its uncertainty map: the expected error
    for method in ("error-model", "intensity", "flip"):
        calibration = card.uncertainty_calibration(method)
        assert calibration["scale"] > 0 and calibration["threshold"] > 0
    assert len(card.uncertainty_calibration("error-model")["coefficients"]) == 7


def test_demo_default_is_a_trained_generator():
    default = default_model("T1", "T2")
    assert default.default and default.card.architecture == "pgan"


def test_phantom_generator_beats_the_joint_histogram_on_a_new_phantom():
    subject = make_subject(phantom_grid((96, 96, 64)), seed=424242, contrasts=("T1", "T2"))
    mask = subject.masks["T1"].array > 0
    scores = {}
    for name in ("phantom-pgan-T1-T2", "phantom-jointhist-T1-T2"):
        synthetic = synthesize(subject.images["T1"], load_model(next(e.path for e in load_catalog()
                                                                      if e.name == name)),
                               InferenceOptions(device="cpu"))
        assert synthetic.same_grid(subject.images["T1"])
        scores[name] = compare(synthetic, subject.images["T2"], mask, planes=False)["mask"]["ssim_3d"]
    assert scores["phantom-pgan-T1-T2"] > scores["phantom-jointhist-T1-T2"]


def test_bundled_3d_generator_runs_patch_mode_and_beats_the_joint_histogram():
    entry = next((e for e in load_catalog() if e.name == "phantom-nie-PD-T2"), None)
    assert entry is not None and entry.default and default_model("PD", "T2").name == entry.name
    card = entry.card
    assert (card.architecture, card.spatial_dims, card.inference["stride"]) == ("nie", 3, "full")
    assert "2-core CPU" in card.description and entry.path.stat().st_size < 10 * 1024 * 1024
    assert card.metrics["test"]["psnr"] > card.metrics["baseline joint_histogram"]["psnr"]
    subject = make_subject(phantom_grid(BLOCK_3D, IXI_SPACING), seed=434343, contrasts=("PD", "T2"))
    mask = subject.masks["PD"].array > 0
    scores = {}
    for name in ("phantom-nie-PD-T2", "phantom-jointhist-PD-T2"):
        model = load_model(next(e.path for e in load_catalog() if e.name == name))
        synthetic = synthesize(subject.images["PD"], model, InferenceOptions(device="cpu"))
        assert synthetic.same_grid(subject.images["PD"])
        scores[name] = compare(synthetic, subject.images["T2"], mask, planes=False)["mask"]
    nie, joint = scores["phantom-nie-PD-T2"], scores["phantom-jointhist-PD-T2"]
    assert nie["psnr"] > joint["psnr"] + 1.0 and nie["ssim_3d"] > joint["ssim_3d"], scores
