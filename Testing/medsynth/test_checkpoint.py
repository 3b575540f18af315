"""Model files: round trips, refusal of pickles, clear errors for mismatched or corrupt files."""

import json
import pickle
import struct

import pytest
import torch
from medsynth.checkpoint import CARD_KEY, load_model, read_card, save_model
from medsynth.core.card import ModelCard
from medsynth.core.errors import ModelError
from medsynth.models import architecture_names, build_model
from safetensors.torch import save_file


def test_registry_lists_valid_names_for_unknown_architecture():
    with pytest.raises(ModelError, match="unknown architecture 'pgan9'; valid names: .*convnet.*joint_histogram"):
        build_model("pgan9")
    assert "convnet" in architecture_names()
    assert {"identity", "histogram_matching", "joint_histogram"} <= set(architecture_names("baseline"))


def test_wrong_hyperparameters_are_a_clear_error():
    with pytest.raises(ModelError, match="do not fit architecture 'convnet'"):
        build_model("convnet", depth=3)
    with pytest.raises(ModelError, match="kernels must be odd"):
        build_model("convnet", filters=[4, 1], kernels=[2, 3])


@pytest.mark.parametrize("half", [False, True])
def test_roundtrip_restores_outputs(tmp_path, tiny, half):
    loaded = tiny(2, seed=3)
    path = save_model(loaded.model, loaded.card, tmp_path / "m.safetensors", half=half)
    back = load_model(path)
    assert back.card == loaded.card and back.card.medsynth_version
    x = torch.randn(2, 1, 20, 24)
    tol = 1e-2 if half else 1e-6
    torch.testing.assert_close(back.model(x), loaded.model(x), atol=tol, rtol=tol)
    assert not back.model.training
    assert read_card(path).mapping == "T1->T2"


def test_pickle_is_refused_and_never_executed(tmp_path):
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    raw = tmp_path / "evil.safetensors"
    raw.write_bytes(pickle.dumps(Exploit()))
    zipped = tmp_path / "evil.pt"
    torch.save({"weights": torch.zeros(2)}, zipped)
    for path in (raw, zipped):
        with pytest.raises(ModelError, match="pickle checkpoint.*only loads .safetensors.*Nothing in it was read"):
            load_model(path)
    assert not marker.exists()


def test_mismatched_tensors_are_reported(tmp_path, tiny):
    loaded = tiny(2)
    state = {k: v.contiguous() for k, v in loaded.model.state_dict().items()}
    meta = {CARD_KEY: loaded.card.to_json()}
    missing = dict(state)
    missing.pop("net.0.bias")
    save_file({**missing, "extra.weight": torch.zeros(1)}, str(tmp_path / "a.safetensors"), metadata=meta)
    with pytest.raises(ModelError, match=r"missing tensors net\.0\.bias; unexpected tensors extra\.weight"):
        load_model(tmp_path / "a.safetensors")
    wrong = dict(state, **{"net.0.weight": torch.zeros(6, 1, 5, 5)})
    save_file(wrong, str(tmp_path / "b.safetensors"), metadata=meta)
    with pytest.raises(ModelError, match=r"wrong shapes \(net\.0\.weight: file \(6, 1, 5, 5\) vs card \(6, 1, 3, 3\)"):
        load_model(tmp_path / "b.safetensors")


def test_card_that_does_not_describe_the_weights(tmp_path, tiny):
    loaded = tiny(2)
    card = ModelCard.from_dict({**loaded.card.to_dict(), "hyperparameters": {**loaded.card.hyperparameters,
                                                                             "filters": [8, 1]}})
    with pytest.raises(ModelError, match="weights do not match the architecture its card describes"):
        save_model(loaded.model, card, tmp_path / "c.safetensors")
    assert not (tmp_path / "c.safetensors").exists()


@pytest.mark.parametrize(("content", "message"), [
    (b"", "too short"),
    (struct.pack("<Q", 10**9) + b"{}", "not a safetensors file"),
    (struct.pack("<Q", 5) + b"{oops", "corrupt safetensors header"),
    (struct.pack("<Q", 2) + b"{}", "no MedSynth model card"),
])
def test_corrupt_or_foreign_files(tmp_path, content, message):
    path = tmp_path / "x.safetensors"
    path.write_bytes(content)
    with pytest.raises(ModelError, match=message):
        load_model(path)


def test_truncated_weights(tmp_path, model_file):
    data = model_file.read_bytes()
    model_file.write_bytes(data[: len(data) - 40])
    with pytest.raises(ModelError, match="corrupt"):
        load_model(model_file)


def test_card_validation_messages(tiny):
    data = tiny(2).card.to_dict()
    with pytest.raises(ModelError, match="missing field"):
        ModelCard.from_dict({k: v for k, v in data.items() if k != "architecture"})
    with pytest.raises(ModelError, match="unknown field"):
        ModelCard.from_dict({**data, "colour": "red"})
    with pytest.raises(ModelError, match="unknown contrast 'T5'"):
        ModelCard.from_dict({**data, "target_contrast": "T5"})
    with pytest.raises(ModelError, match="newer than this MedSynth"):
        ModelCard.from_dict({**data, "format": 99})
    with pytest.raises(ModelError, match="not valid JSON"):
        ModelCard.from_json("{")
    assert ModelCard.from_json(json.dumps(data)).name == "tiny"


def test_card_json_is_strict_even_with_missing_metrics(tiny):
    import json
    import math

    card = tiny(2).card
    card.metrics = {"test": {"psnr": 20.0, "ssim_axial": math.nan, "worst": -math.inf}}

    def refuse(name):
        raise AssertionError(f"non-standard JSON constant {name}")

    data = json.loads(card.to_json(), parse_constant=refuse)
    assert data["metrics"]["test"] == {"psnr": 20.0, "ssim_axial": None, "worst": None}


def test_safetensors_whose_header_length_starts_like_a_pickle_loads(tiny, tmp_path):
    """A header of 0x..80 bytes makes the file's first byte 0x80, a pickle's first byte: it must still load."""
    loaded = tiny(2)
    path = save_model(loaded.model, loaded.card, tmp_path / "m.safetensors")
    for pad in range(256):  # the card's description changes the header length one byte at a time
        loaded.card.description = "x" * pad
        save_model(loaded.model, loaded.card, path)
        if path.read_bytes()[:1] == b"\x80":
            break
    assert path.read_bytes()[:1] == b"\x80"
    assert load_model(path).card.description == loaded.card.description
