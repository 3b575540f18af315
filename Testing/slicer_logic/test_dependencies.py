"""MedSynth's Python packages inside Slicer: one list (the files pip reads too), Slicer's own packages checked
and never installed, torch only through the PyTorch extension, and every failure one clear message."""

from __future__ import annotations

import importlib.metadata
import sys
import types
from pathlib import Path

import pytest
import slicer
from MedSynthLib import Dependencies
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.torch
def test_one_source_of_requirements_for_pip_and_slicer():
    installed = {Requirement(r).name.lower(): Requirement(r) for r in importlib.metadata.requires("medsynth")
                 if "extra ==" not in r}
    listed = [*Dependencies.loadRequirements(Dependencies.INSTALL_FILE),
              *Dependencies.loadRequirements(Dependencies.BUNDLED_FILE)]
    assert {r.name.lower(): str(r.specifier) for r in listed} == {k: str(v.specifier) for k, v in installed.items()}
    assert {r.name for r in Dependencies.bundledRequirements()} >= {"numpy", "scipy", "SimpleITK"}
    assert not {r.name for r in Dependencies.pipRequirements()} & {"numpy", "scipy", "SimpleITK", "vtk", "torch"}
    assert Dependencies.missingRequirements() == []  # this test environment has them all
    assert not Dependencies.satisfied("numpy>=999") and not Dependencies.satisfied("no-such-package>=1.0")
    assert Dependencies.satisfied(f"torch>={importlib.metadata.version('torch').split('+')[0]}")  # local tag ok


@pytest.mark.torch
def test_the_torch_floor_is_the_pinned_monais_own():
    monai = next(r for r in Dependencies.pipRequirements() if r.name == "monai")
    assert "<" in str(monai.specifier)  # pinned to a minor release
    needs = next(Requirement(r) for r in importlib.metadata.requires("monai") if r.startswith("torch"))
    floor = next(s.version for s in needs.specifier if s.operator == ">=")
    assert Dependencies.torchRequirement().specifier == Requirement(f"torch>={floor}").specifier \
        or str(Dependencies.torchRequirement().specifier) == f">={'.'.join(floor.split('.')[:2])}"


@pytest.fixture
def world(monkeypatch):
    """Installed versions as a dict the fakes change: torch, monai, nibabel missing; Slicer's packages present."""
    versions = {"numpy": "2.1.0", "scipy": "1.13.1", "SimpleITK": "2.4.0", "packaging": "25.0", "tqdm": "4.66.0",
                "safetensors": "0.4.5", "matplotlib": "3.9.0", "pyyaml": "6.0.2"}
    monkeypatch.setattr(Dependencies, "installedVersion",
                        lambda name: Dependencies.Version(versions[name]) if name in versions else None)
    return versions


def test_torch_through_the_extension_the_rest_through_pip_after_one_confirmation(world):
    asked, calls = [], []

    def installTorch(specifier):
        calls.append(("torch", specifier))
        world["torch"] = "2.9.0+cu126"
        return True

    def pipInstall(requirements, constraints):
        calls.append(("pip", tuple(requirements), tuple(constraints)))
        world.update({"monai": "1.6.1", "nibabel": "5.4.0", "intensity-normalization": "3.0.1", "deepbet": "1.0.2"})

    assert Dependencies.installDependencies(lambda missing: asked.append(missing) or True, installTorch, pipInstall)
    assert len(asked) == 1 and "torch>=2.8" in asked[0] and any(m.startswith("monai") for m in asked[0])
    assert calls[0] == ("torch", ">=2.8")
    kind, requirements, constraints = calls[1]
    assert kind == "pip" and {Requirement(r).name for r in requirements} == {"monai", "nibabel",
                                                                          "intensity-normalization", "deepbet"}
    assert set(constraints) == {"numpy==2.1.0", "scipy==1.13.1", "SimpleITK==2.4.0", "packaging==25.0"}
    assert Dependencies.installDependencies(lambda missing: asked.append(missing), installTorch, pipInstall)
    assert len(asked) == 1  # nothing left: no second question


def test_declining_or_a_failed_torch_installs_nothing(world):
    calls = []
    assert not Dependencies.installDependencies(lambda missing: False, calls.append, calls.append)
    assert not Dependencies.installDependencies(lambda missing: True, lambda spec: False, calls.append)
    assert calls == []  # nothing else is installed on top of a missing torch


def test_a_missing_or_old_slicer_package_is_never_pip_installed(world):
    world["SimpleITK"] = "1.2.0"  # pip would put a PyPI wheel over Slicer's own build: refuse instead
    with pytest.raises(Dependencies.DependencyError, match=r"SimpleITK>=2.3 is missing or too old.*Slicer 5.10"):
        Dependencies.installDependencies(lambda missing: True, lambda spec: True, lambda r, c: None)


def test_without_the_pytorch_extension_the_message_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "PyTorchUtils", None)  # not importable
    with pytest.raises(Dependencies.DependencyError, match="install 'PyTorch' from the Extensions Manager"):
        Dependencies.installTorch(">=2.8")
    logic = types.SimpleNamespace(installTorch=lambda **kwargs: False)
    monkeypatch.setitem(sys.modules, "PyTorchUtils", types.SimpleNamespace(PyTorchUtilsLogic=lambda: logic))
    with pytest.raises(Dependencies.DependencyError, match="could not be installed"):
        Dependencies.installTorch(">=2.8")


def test_ensure_dependencies_shows_one_message_instead_of_a_traceback(monkeypatch, world):
    import contextlib

    shown = []

    @contextlib.contextmanager
    def tryWithErrorDisplay(message=None, show=True, waitCursor=False):
        try:
            yield
        except Exception as error:  # as Slicer does: shown, then raised again
            shown.append(f"{message} {error}")
            raise

    monkeypatch.setattr(slicer.util, "tryWithErrorDisplay", tryWithErrorDisplay)
    monkeypatch.setitem(sys.modules, "PyTorchUtils", None)
    assert Dependencies.ensureDependencies(lambda missing: True) is False
    assert len(shown) == 1 and "Extensions Manager" in shown[0]


@pytest.mark.torch
def test_pip_gets_the_constraints_through_slicer_packaging_or_pip_install(monkeypatch):
    seen = []
    monkeypatch.setattr(slicer.util, "pip_install", lambda args: seen.append(("util", args, Path(args[1]).read_text())),
                        raising=False)
    monkeypatch.setitem(sys.modules, "slicer.packaging", None)  # Slicer 5.10: no slicer.packaging
    Dependencies.pipInstall(["nibabel>=5.0"], ["numpy==2.1.0"])
    kind, args, constraints = seen[-1]
    assert kind == "util" and args[0] == "-c" and args[2:] == ["nibabel>=5.0"] and "numpy==2.1.0" in constraints

    packaging = types.ModuleType("slicer.packaging")  # Slicer >= 5.11, found by an explicit import only
    packaging.pip_ensure = lambda requirements, **kwargs: seen.append(
        ("ensure", [str(r) for r in requirements], Path(kwargs["constraints"]).read_text(), kwargs))
    monkeypatch.setitem(sys.modules, "slicer.packaging", packaging)
    monkeypatch.delattr(slicer, "packaging", raising=False)
    Dependencies.pipInstall(["nibabel>=5.0"], ["numpy==2.1.0"])
    kind, requirements, constraints, kwargs = seen[-1]
    assert kind == "ensure" and requirements == ["nibabel>=5.0"] and "numpy==2.1.0" in constraints
    assert kwargs["prompt_install"] is False and kwargs["requester"] == "MedSynth"
    assert "torch==" in constraints  # the extension's torch is held too
