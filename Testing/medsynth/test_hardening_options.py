"""Hardening, second round, class 1: a patch size or stride is checked by one function whoever gives it (the
card, the command line, InferenceOptions, the Slicer module), with one message, before anything runs."""

from __future__ import annotations

import pytest
from medsynth.core.errors import ConfigError, MedSynthError
from medsynth.core.limits import MAX_PATCH, parse_patch_setting, patch_problem
from medsynth.inference import InferenceOptions

BAD = [("patch_size", 0), ("patch_size", -4), ("patch_size", 5000), ("patch_size", 7), ("stride", 0),
       ("stride", -3), ("stride", 5000), ("patch_size", [32, 32]), ("stride", True), ("stride", "half")]


@pytest.mark.parametrize(("name", "value"), BAD)
def test_a_bad_patch_setting_is_refused_by_options_and_card_alike(name, value):
    from medsynth.core.card import ModelCard

    expected = patch_problem(name, value)
    assert expected is not None and f"got {value!r}" in expected
    with pytest.raises(ConfigError) as raised:
        InferenceOptions(**{name: value})
    assert str(raised.value) == expected
    from medsynth.core.catalog import load_catalog

    card = next(e.card for e in load_catalog() if e.name == "phantom-nie-PD-T2").to_dict()
    card["inference"] = {**card["inference"], name: value}
    with pytest.raises(MedSynthError) as raised:
        ModelCard.from_dict(card)
    assert str(raised.value).endswith(patch_problem(name, value, f"inference.{name}"))


@pytest.mark.parametrize(("name", "value"), [("patch_size", 8), ("patch_size", MAX_PATCH), ("patch_size", "full"),
                                             ("patch_size", (32, 32, 16)), ("stride", 1), ("stride", "full"),
                                             ("stride", None)])
def test_good_patch_settings_pass(name, value):
    assert patch_problem(name, value) is None
    InferenceOptions(**{name: value})


def test_text_as_typed_is_parsed_and_checked_with_the_same_words():
    assert parse_patch_setting("stride", "") == (None, None)
    assert parse_patch_setting("stride", " full ") == ("full", None)
    assert parse_patch_setting("stride", "16") == (16, None)
    assert parse_patch_setting("stride", "0", "patch stride")[1] == patch_problem("stride", 0, "patch stride")
    assert parse_patch_setting("stride", "fu", "patch stride")[1] == (
        f"patch stride must be 1 to {MAX_PATCH} voxels (one number, or one per axis) or 'full', got 'fu'")


@pytest.mark.torch  # the synthesize command imports torch before it reads its options
@pytest.mark.parametrize("flags", [["--patch-size", "0"], ["--patch-size", "-8"], ["--patch-size", "5000"],
                                   ["--stride", "0"], ["--stride", "-2"]])
def test_the_command_line_refuses_them_in_one_line_before_reading_anything(tmp_path, capsys, flags):
    from medsynth.cli.main import main

    code = main(["synthesize", str(tmp_path / "missing-T1.nii.gz"), str(tmp_path / "out.nii.gz"), "--model",
                 "phantom-nie-PD-T2", *flags])
    err = capsys.readouterr().err
    assert code == 2 and "voxels (one number, or one per axis) or 'full', got" in err and "Traceback" not in err
    assert not (tmp_path / "out.nii.gz").exists()
