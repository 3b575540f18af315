"""Nyul histogram standardization: the library's landmarks, an exact inverse, strict cards, and a run that
learns its standard from the training subjects only and applies it at inference."""

import numpy as np
import pytest
import yaml
from medsynth.core import intensity
from medsynth.core.errors import ConfigError
from medsynth.training.data import nyul_standard  # fitted when a run starts: torch

pytest.importorskip("intensity_normalization")


def volumes(count=3, shape=(16, 18, 12)):
    rng = np.random.default_rng(0)
    return [(rng.gamma(2.0 + k, 100.0 * (k + 1), shape).astype(np.float32), np.ones(shape, bool)) for k in range(count)]


def test_the_standard_maps_each_volume_as_intensity_normalization_does():
    from intensity_normalization.adapters.images import create_image
    from intensity_normalization.normalizers.population.nyul import NyulNormalizer

    pairs = volumes()
    spec = nyul_standard(pairs)
    assert spec["kind"] == "nyul"
    assert spec["standard"][0] == pytest.approx(-1) and spec["standard"][-1] == pytest.approx(1)
    library = NyulNormalizer().fit_population([create_image(a) for a, _ in pairs],
                                              [create_image(m.astype(np.float32)) for _, m in pairs])
    array, mask = pairs[1]
    ours = intensity.apply(intensity.fit(spec, array, mask), array)
    theirs = library.transform(create_image(array), create_image(mask.astype(np.float32))).get_data()
    inside = np.abs(ours) < intensity.PERCENTILE_CLIP  # ours clips at +-2 like the percentile kind
    np.testing.assert_allclose(ours[inside], (theirs[inside] - 1) * 2 / 99 - 1, atol=1e-4)


def test_a_standardized_volume_inverts_exactly_and_lines_up_with_the_others():
    pairs = volumes()
    spec = nyul_standard(pairs)
    medians = []
    for array, mask in pairs:
        fitted = intensity.fit(spec, array, mask)
        intensity.validate(fitted, "fitted", fitted=True)
        y = intensity.apply(fitted, array)
        keep = np.abs(y) < intensity.PERCENTILE_CLIP
        np.testing.assert_allclose(intensity.invert(fitted, y)[keep], array[keep], rtol=1e-5, atol=1e-2)
        medians.append(float(np.median(y)))
    raw = [float(np.median(a)) for a, _ in pairs]
    assert max(raw) / min(raw) > 3  # the raw volumes' scales differ threefold
    assert max(medians) - min(medians) < 0.05  # standardized, their medians agree


@pytest.mark.parametrize(("change", "message"), [
    ({"standard": [0.0, 1.0]}, "nyul standard must be 11 increasing"),
    ({"standard": [1.0] * 11}, "nyul standard must be 11 increasing"),
    ({"percentiles": [50, 10, 90]}, "nyul percentiles must be 3 or more increasing"),
    ({"params": {"landmarks": "low"}}, "nyul params.landmarks must be 11"),
])
def test_a_malformed_standard_is_refused_by_name(change, message):
    spec = {**nyul_standard(volumes(2)), **change}
    with pytest.raises(ConfigError, match=message):
        intensity.validate(spec, "source_normalization", fitted="params" in change)


def test_uneven_landmarks_are_refused_before_fitting():
    with pytest.raises(ConfigError, match="evenly spaced"):
        nyul_standard(volumes(1), (1.0, 10.0, 20.0, 50.0, 99.0))


@pytest.mark.torch
def test_a_run_learns_the_standard_on_its_training_subjects_and_the_card_carries_it(tmp_path):
    from medsynth.checkpoint import load_model
    from medsynth.inference import InferenceOptions, synthesize
    from medsynth.io import read_volume
    from medsynth.phantom import write_phantom_dataset
    from medsynth.training import load_config, train
    from medsynth.training.data import learn_standard

    data = tmp_path / "data"
    write_phantom_dataset(data, 3, shape=(32, 36, 20), seed=5, contrasts=("T1", "T2"))
    settings = {"model.architecture": "unet", "model.hyperparameters": {"ngf": 4, "num_downs": 5},
                "model.discriminator_hyperparameters": {"ndf": 4, "n_layers": 2}, "data.size": 64,
                "optim.slices_per_epoch": 4, "optim.batch_size": 2, "optim.epochs": 1, "device": "cpu",
                "data.root": str(data), "output": str(tmp_path / "run"), "data.normalization": "nyul",
                "data.subjects": {"train": ["phantom001", "phantom002"], "validation": [], "test": ["phantom003"]}}
    config = load_config(overrides=settings)
    loaded = load_model(train(config))
    spec = loaded.card.source_normalization
    from medsynth.training.data import discover

    expected = learn_standard(discover(config.data), ["phantom001", "phantom002"], config.data)
    assert spec["kind"] == "nyul" and spec["standard"] == pytest.approx(expected)  # training subjects only
    saved = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert saved["data"]["standard"] == pytest.approx(expected)  # a resumed run keeps the same scale
    assert loaded.card.target_intensity["kind"] == "percentile"
    assert any("Ny\u00fal" in reference for reference in loaded.card.references)  # what to cite
    t1 = read_volume(data / "phantom003-T1.nii.gz")
    out = synthesize(t1, loaded, InferenceOptions(device="cpu"))
    assert out.same_grid(t1) and np.isfinite(out.array).all()


def test_nyul_is_refused_where_one_standard_cannot_serve():
    from medsynth.training import load_config

    with pytest.raises(ConfigError, match="nyul standardizes one input contrast; this model takes 2"):
        load_config(overrides={"data.normalization": "nyul", "data.sources": ["T1", "T2"], "data.target": "FLAIR"})
    with pytest.raises(ConfigError, match="data.standard holds nyul landmarks"):
        load_config(overrides={"data.standard": [0.0, 1.0]})
