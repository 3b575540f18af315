"""The torch-free core: what a model, a request and a run *are*, without running anything.

Errors; contrasts as records; the names of planes, devices and precisions; the architecture registry and
citations; intensity normalizations and comparison conventions; the model card, the model-file header, the
catalog of bundled and added models and their download; the inference options; run folders; file names and
outputs written whole; the progress protocol between a child process and its parent. These modules import only
the standard library and NumPy (never torch, SimpleITK, nibabel or Slicer), and only each other:
``Testing/medsynth/test_core_imports.py`` reads their imports to hold that. Slicer's own process imports this
package (and the light evaluation) and leaves everything that runs a network to a child process.
"""
