"""The package list, found by setuptools (pyproject.toml holds everything else): every package under
MedSynth/medsynth, and the bundled models as ``medsynth._bundled`` (their folder is MedSynth/Resources/Models,
where the Slicer extension keeps them)."""

from setuptools import find_packages, setup

setup(packages=[*find_packages("MedSynth", include=["medsynth", "medsynth.*"]), "medsynth._bundled"])
