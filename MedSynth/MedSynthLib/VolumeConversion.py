"""Volume nodes <-> ``medsynth.Volume``: the voxel array ``[k, j, i]`` and the IJK-to-RAS matrix.

Slicer and MedSynth share the array order and the RAS convention, so nothing is transposed or flipped:
the matrix is copied as it is (oblique, anisotropic or left-handed), and an output volume lies on
exactly the grid of the node it came from.
"""

from __future__ import annotations

import numpy as np
import slicer
import vtk
from medsynth.core.errors import InputError
from medsynth.volume import Volume


def volumeFromNode(node) -> Volume:
    """A copy of ``node``'s voxels and grid (the node's own memory is never shared with a computation)."""
    if node is None or not node.IsA("vtkMRMLScalarVolumeNode") or node.GetImageData() is None:
        name = "nothing" if node is None else f"'{node.GetName()}' ({node.GetClassName()})"
        raise InputError(f"expected a scalar volume node holding an image, got {name}")
    if node.IsA("vtkMRMLLabelMapVolumeNode"):
        raise InputError(f"'{node.GetName()}' is a label map; choose an intensity image")
    spacing = node.GetSpacing()
    if not all(np.isfinite(spacing)) or min(spacing) <= 0:
        raise InputError(f"'{node.GetName()}' has voxel spacing {tuple(float(s) for s in spacing)}; expected a "
                         "positive size in mm on each axis (fix it in the Volumes module, Volume Information)")
    matrix = vtk.vtkMatrix4x4()
    node.GetIJKToRASMatrix(matrix)
    array = np.array(slicer.util.arrayFromVolume(node), dtype=np.float32)
    return Volume(array, slicer.util.arrayFromVTKMatrix(matrix))


def updateNodeFromVolume(node, volume: Volume) -> None:
    """Put ``volume``'s voxels and grid into ``node`` (a scalar volume node)."""
    slicer.util.updateVolumeFromArray(node, np.ascontiguousarray(volume.array, dtype=np.float32))
    node.SetIJKToRASMatrix(slicer.util.vtkMatrixFromArray(volume.ijk_to_ras))


def addVolumeNode(scene, volume: Volume, name: str):
    """A new scalar volume node in ``scene`` holding ``volume``, with default display (as a loaded file)."""
    node = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", name)
    updateNodeFromVolume(node, volume)
    node.CreateDefaultDisplayNodes()
    return node
