"""Where the input differs from its mirror image across the brain's midline, the way lesions show in its contrast.

A brain is nearly left-right symmetric; a glioma with its oedema, a stroke or a metastasis mostly is not, and on
FLAIR, T2 or PD it is brighter than the same place in the other hemisphere (on T1, darker). Those are the
regions a synthesis model fills with normal-looking tissue. The input is mirrored across its mid-sagittal
plane (the array flipped left-right, then rigidly registered onto the input, which finds the plane in a
tilted head too), the difference taken in the direction lesions show in its contrast and smoothed
(``SIGMA_MM``, inside the head only), and a voxel is flagged where that difference is an outlier of the
head's own (robust z above ``Z``) and at least ``MIN_DIFFERENCE`` of the input's robust range, in regions of
``MIN_REGION_ML`` or more. It needs no training data. A lesion the input does not show (oedema on T1 is
barely darker than white matter) or one mirrored in both hemispheres escapes it: docs/results.md measures
how much of real gliomas it catches.
"""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk

from .core.conventions import own_scale
from .mask import drop_small, gaussian_box, mean_inside
from .volume import Volume, to_sitk

# the sign of a lesion's difference from healthy tissue: pathology prolongs T1 and T2 (oedema, gliosis,
# necrosis, a stroke's cavity), so it is dark on T1 and bright on T2, PD and FLAIR; other contrasts are not
# checked (a contrast agent or CT shows lesions either way)
LESION_SIGN = {"T1": -1.0, "T2": 1.0, "PD": 1.0, "FLAIR": 1.0, "T1_7T": -1.0, "T2_7T": 1.0}
SIGMA_MM = 3.0  # smoothing of the difference: a lesion is a region, noise and a misaligned edge are not
Z = 2.5  # robust z (median and MAD of the head's smoothed difference) above which a voxel is asymmetric
MIN_DIFFERENCE = 0.12  # of the input's robust range: the least at which the lesion-free MNI templates stay under 1%
MIN_REGION_ML = 1.0  # smaller asymmetric regions are dropped
REGISTRATION_MM = 2.0  # the images are binned to about this voxel size, and the plane found at twice it
MIN_REGISTERED_VOXELS = 8  # per axis at the registration's resolution: a thinner input is not checked
_MAD_TO_SD = 1.4826


def mirrored(volume: Volume, array: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``array`` (on ``volume``'s grid) and ``mask`` mirrored across the head's mid-sagittal plane: flipped along
    the left-right axis, then rigidly registered onto the unflipped ``array`` (mean squares inside ``mask``)."""
    axis = volume.slice_axis("sagittal")
    fixed = to_sitk(volume, array.astype(np.float32))
    moving = to_sitk(volume, np.ascontiguousarray(np.flip(array, axis)).astype(np.float32))
    # a coarse plane suffices: the difference is smoothed at SIGMA_MM (binning: a fraction of the time)
    bins = _bins(volume)
    small_fixed, small_moving = (sitk.BinShrink(image, bins) for image in (fixed, moving))
    small_mask = sitk.BinShrink(to_sitk(volume, mask.astype(np.float32)), bins) > 0.5
    initial = sitk.CenteredTransformInitializer(small_fixed, small_moving, sitk.Euler3DTransform(),
                                                sitk.CenteredTransformInitializerFilter.MOMENTS)
    method = sitk.ImageRegistrationMethod()
    method.SetMetricAsMeanSquares()
    method.SetMetricSamplingStrategy(method.RANDOM)
    method.SetMetricSamplingPercentage(0.2, 1)
    method.SetMetricFixedMask(small_mask)
    method.SetInterpolator(sitk.sitkLinear)
    method.SetOptimizerAsRegularStepGradientDescent(learningRate=1.0, minStep=1e-3, numberOfIterations=200,
                                                    relaxationFactor=0.6, gradientMagnitudeTolerance=1e-8)
    method.SetOptimizerScalesFromPhysicalShift()
    method.SetShrinkFactorsPerLevel([2])
    method.SetSmoothingSigmasPerLevel([1.0])
    method.SmoothingSigmasAreSpecifiedInPhysicalUnitsOn()
    method.SetInitialTransform(initial, inPlace=False)
    transform = method.Execute(small_fixed, small_moving)
    image = sitk.GetArrayFromImage(sitk.Resample(moving, fixed, transform, sitk.sitkLinear, 0.0))
    flipped_mask = to_sitk(volume, np.ascontiguousarray(np.flip(mask, axis)).astype(np.uint8))
    other = sitk.GetArrayFromImage(sitk.Resample(flipped_mask, fixed, transform, sitk.sitkNearestNeighbor, 0))
    return image.astype(np.float32), other.astype(bool)


def _bins(volume: Volume) -> list[int]:
    return [max(1, round(REGISTRATION_MM / s)) for s in volume.spacing]


def _can_register(volume: Volume) -> bool:
    """Whether the binned, then halved, volume keeps the few voxels per axis the registration's smoothing needs
    (a single slice or a tiny crop is not checked)."""
    size = volume.array.shape[::-1]  # (i, j, k), as the spacing
    return all(n // (2 * b) >= MIN_REGISTERED_VOXELS for n, b in zip(size, _bins(volume), strict=True))


def difference(volume: Volume, mask: np.ndarray, contrast: str) -> np.ndarray | None:
    """The smoothed difference from the mirrored head in the direction lesions show in ``contrast`` (in the
    input's robust range; 0 outside the head and its mirror image), or None for a contrast not checked or an
    input too small to register (fewer than ``MIN_REGISTERED_VOXELS`` per axis at twice ``REGISTRATION_MM``)."""
    sign = LESION_SIGN.get(contrast)
    if sign is None or not mask.any() or not _can_register(volume):
        return None
    x = own_scale(volume.array, mask).astype(np.float32)
    other, other_mask = mirrored(volume, x, mask)
    both = mask & other_mask
    box = gaussian_box(both, SIGMA_MM, volume.spacing)
    inner = both[box]
    smoothed = mean_inside(x[box] - other[box], inner, SIGMA_MM / np.asarray(volume.spacing, float)[::-1])
    found = np.zeros(mask.shape, dtype=np.float32)
    found[box] = np.where(inner, sign * smoothed, 0.0)
    return found


def asymmetric_mask(volume: Volume, mask: np.ndarray, contrast: str) -> np.ndarray | None:
    """Voxels of ``mask`` (the head) that differ from the mirrored head the way lesions do in ``contrast``
    (module docstring), in regions of ``MIN_REGION_ML`` or more; None for a contrast not checked or an input
    too small to mirror."""
    found = difference(volume, mask, contrast)
    if found is None:
        return None
    inside = found[mask]
    median = float(np.median(inside))
    spread = _MAD_TO_SD * float(np.median(np.abs(inside - median)))
    threshold = max(median + Z * spread, MIN_DIFFERENCE)
    return drop_small(mask & (found > threshold), MIN_REGION_ML / (float(np.prod(volume.spacing)) / 1000.0))
