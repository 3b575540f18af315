"""Hardening, second round, class 2: a model file whose parts disagree is refused when it is loaded (before
any data is read), whatever the disagreement: the card's 2.5D context against the weights' input channels, a
header nested thousands of levels deep, a card field of the wrong JSON type."""

from __future__ import annotations

import json
import struct

import pytest
from medsynth.core.card import ModelCard
from medsynth.core.catalog import load_catalog
from medsynth.core.errors import ModelError
from medsynth.core.model_file import read_card

pytestmark = pytest.mark.torch


def test_a_card_whose_context_does_not_match_the_input_channels_is_refused_at_load(tmp_path, tiny):
    from medsynth.checkpoint import load_model, save_model

    lying = tiny(2, in_channels=1, context=1)  # context 1 feeds 3 slices; the network takes 1 channel
    path = save_model(lying.model, lying.card, tmp_path / "lying.safetensors")
    with pytest.raises(ModelError, match=r"the card feeds 3 channel\(s\) \(1 input\(s\) x 3 slice\(s\): "
                                         r"inference.context = 1\) but its network takes 1"):
        load_model(path)
    honest = tiny(2, in_channels=3, context=1)
    assert load_model(save_model(honest.model, honest.card, tmp_path / "honest.safetensors")).card.inference[
        "context"] == 1


def test_a_header_nested_thousands_of_levels_deep_is_refused_without_a_traceback(tmp_path):
    header = ('{"__metadata__": {"x": "y"}, "deep": ' + "[" * 5000 + "]" * 5000 + "}").encode()
    path = tmp_path / "deep.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header)
    with pytest.raises(ModelError, match="corrupt safetensors header: it is not valid JSON \\(nested too deeply\\)"):
        read_card(path)


@pytest.mark.parametrize(("field", "value", "said"), [
    ("format", "2", "format must be an integer, got a string ('2')"),
    ("format", True, "format must be an integer, got a boolean"),
    ("format", 2.0, "format must be an integer, got a number"),
    ("references", "Isola 2017", "references must be a list, got a string"),
    ("input_contrasts", {"T1": 1}, "input_contrasts must be a list, got an object"),
    ("inference", None, "inference must be an object (a mapping), got null"),
    ("description", 3, "description must be a string, got an integer"),
])
def test_card_fields_of_the_wrong_json_type_are_refused(field, value, said):
    card = next(e.card for e in load_catalog() if e.name == "phantom-pgan-T1-T2").to_dict()
    card[field] = value
    with pytest.raises(ModelError) as refused:
        ModelCard.from_json(json.dumps(card))
    assert said in str(refused.value)
