"""The architecture registry: one declaration per architecture, and everything that lists architectures
(the CLI, the Slicer choices, recipes, citations, cards) reads it."""

from __future__ import annotations

import subprocess
import sys

import pytest
from medsynth.core.architectures import ENGINE_DIMS, architecture, architectures, described, names
from medsynth.core.citations import citations_for
from medsynth.core.errors import ModelError


@pytest.mark.torch
def test_every_declared_network_builds_and_is_what_its_declaration_says():
    from medsynth.models import SynthesisNetwork, build_model

    for arch in architectures():
        network = build_model(arch.name)  # the declared defaults build
        if arch.role == "generator":
            assert isinstance(network, SynthesisNetwork), arch.name
            assert ENGINE_DIMS[arch.engine_for({})] == network.spatial_dims, arch.name
            assert network.in_channels == 1 and network.size_divisor >= 1
        if arch.role == "baseline":
            assert arch.engine == "voxelwise" and not arch.trainable
    assert {"pgan", "unet", "convnet", "nie", "nie_cascade"} <= set(names("generator", trainable=True))
    assert names("discriminator") == ["nie_discriminator", "patchgan"]


@pytest.mark.torch
def test_what_lists_architectures_reads_the_registry():
    from medsynth.cli.main import build_parser
    from medsynth.training.config import recipe_for

    parser = build_parser()
    train = next(a for a in parser._subparsers._group_actions[0].choices["train"]._actions if a.dest == "arch")
    assert list(train.choices) == names("generator", trainable=True)
    assert "nie_cascade (3D auto-context cascade" in train.help
    assert recipe_for("nie")["loss"]["l2"] == 1.0 and recipe_for("pgan") == {} and recipe_for("no-such") == {}
    recipe_for("nie")["loss"]["l2"] = 5.0  # a copy: the declaration stays as the paper has it
    assert architecture("nie").recipe["loss"]["l2"] == 1.0
    assert citations_for("pgan") == list(architecture("pgan").citations) and len(citations_for("pgan")) == 2
    assert citations_for("pgan", ["my paper"]) == ["my paper"] and citations_for("gone") == []
    assert "pgan (2D ResNet generator of pGAN" in described()
    assert architecture("convnet").engine_for({"spatial_dims": 3}) == "patchwise"
    with pytest.raises(ModelError, match="unknown architecture 'resnet'; valid names: convnet, "):
        architecture("resnet")


def test_the_registry_imports_no_third_party_package():
    """The Slicer modules read it at start-up, before PyTorch and MedSynth's packages are installed."""
    code = ("import sys; import medsynth.core.architectures as a; a.architectures(); "
            "from medsynth.core.citations import citations_for; citations_for('nie'); "
            "print(sorted(m.split('.')[0] for m in sys.modules if m.split('.')[0] in "
            "{'torch', 'numpy', 'yaml', 'safetensors', 'monai', 'nibabel'}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]"
