"""MedSynth: synthesize unacquired MRI contrasts and modalities from acquired ones.

The package is pure Python + PyTorch and never imports Slicer, Qt or VTK, so the same code runs in the
3D Slicer modules, in the Slicer Python console, in headless batch runs and as the ``medsynth`` command.
"""

__version__ = "0.1.0"
