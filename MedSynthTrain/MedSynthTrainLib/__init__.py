"""Slicer-side logic of the MedSynthTrain module, free of Qt: it imports slicer and vtk only, so it runs in
Slicer's GUI, in `Slicer --python-script` batch runs, and against a bare MRML scene in tests."""
