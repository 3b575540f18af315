"""Registering one contrast of a subject onto another (SimpleITK): rigid, then affine, mutual information.

IXI's T1 is acquired sagittally and T2/PD axially; pGAN registers them to T1 before training (seed 000).
Both stages maximize Mattes mutual information (the contrasts differ, so intensities cannot be compared
directly) inside the reference's head mask, over a 3-level pyramid, starting from the images' centres.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import SimpleITK as sitk

from .core.errors import InputError
from .mask import foreground_mask
from .resample import resample_to
from .volume import Volume, to_sitk

log = logging.getLogger(__name__)
STAGES = ("rigid", "affine")


@dataclass
class Registration:
    """``transform`` maps reference (fixed) points to moving points, in LPS millimetres (SimpleITK's way)."""

    transform: sitk.Transform
    resampled: Volume  # the moving volume on the reference grid
    quality: dict[str, float]  # mutual information and mask Dice, before and after
    rotation_deg: float  # of the rigid part
    translation_mm: float


def _method(fixed_mask: sitk.Image, bins: int, sampling: float, seed: int) -> sitk.ImageRegistrationMethod:
    method = sitk.ImageRegistrationMethod()
    method.SetMetricAsMattesMutualInformation(numberOfHistogramBins=bins)
    method.SetMetricSamplingStrategy(method.RANDOM)
    method.SetMetricSamplingPercentage(sampling, seed)
    method.SetMetricFixedMask(fixed_mask)
    method.SetInterpolator(sitk.sitkLinear)
    return method


def _optimize(method: sitk.ImageRegistrationMethod, initial: sitk.Transform, fixed: sitk.Image,
              moving: sitk.Image, iterations: int, levels: int = 3, step: float = 2.0) -> sitk.Transform:
    method.SetOptimizerAsRegularStepGradientDescent(learningRate=step, minStep=1e-4,
                                                    numberOfIterations=iterations, relaxationFactor=0.6)
    method.SetOptimizerScalesFromPhysicalShift()
    method.SetShrinkFactorsPerLevel([4, 2, 1][3 - levels :])
    method.SetSmoothingSigmasPerLevel([2.0, 1.0, 0.0][3 - levels :])
    method.SmoothingSigmasAreSpecifiedInPhysicalUnitsOn()
    method.SetInitialTransform(initial, inPlace=True)  # optimized in place: keeps its concrete type
    method.Execute(fixed, moving)
    return initial


def mutual_information(fixed: sitk.Image, moving: sitk.Image, transform: sitk.Transform, mask: sitk.Image,
                       bins: int = 50) -> float:
    """Mattes mutual information (nats, higher is better) of ``moving`` through ``transform`` on ``fixed``."""
    method = _method(mask, bins, 1.0, 1)
    method.SetMetricSamplingStrategy(method.NONE)
    method.SetInitialTransform(transform)
    return -float(method.MetricEvaluate(fixed, moving))


def dice(a: np.ndarray, b: np.ndarray) -> float:
    total = int(a.sum()) + int(b.sum())
    return 2.0 * float(np.logical_and(a, b).sum()) / total if total else 1.0


def register(fixed: Volume, moving: Volume, stages: tuple[str, ...] = STAGES, iterations: int = 200,
             sampling: float = 0.1, seed: int = 1) -> Registration:
    """Register ``moving`` onto ``fixed`` and resample it onto ``fixed``'s grid (linear interpolation)."""
    unknown = sorted(set(stages) - set(STAGES))
    if unknown or not stages:
        raise InputError(f"registration stages must be among {', '.join(STAGES)}, got {list(stages)}")
    fixed_mask_array = foreground_mask(fixed.array)
    moving_mask_array = foreground_mask(moving.array)
    if not fixed_mask_array.any() or not moving_mask_array.any():
        raise InputError("registration: no head found in one of the volumes")
    f, m = to_sitk(fixed, fixed.array.astype(np.float32)), to_sitk(moving, moving.array.astype(np.float32))
    f_mask = to_sitk(fixed, fixed_mask_array.astype(np.uint8))
    transform: sitk.Transform = sitk.CenteredTransformInitializer(
        f, m, sitk.Euler3DTransform(), sitk.CenteredTransformInitializerFilter.GEOMETRY)
    identity = sitk.Transform(3, sitk.sitkIdentity)
    before = mutual_information(f, m, identity, f_mask)
    rigid = sitk.Euler3DTransform(transform)
    if "rigid" in stages:
        rigid = _optimize(_method(f_mask, 50, sampling, seed), sitk.Euler3DTransform(transform), f, m, iterations)
        transform = rigid
    if "affine" in stages:
        affine = sitk.AffineTransform(3)
        affine.SetCenter(rigid.GetCenter())
        affine.SetMatrix(rigid.GetMatrix())
        affine.SetTranslation(rigid.GetTranslation())
        # refinement from the rigid result: finer levels and smaller steps, so the 12 parameters cannot drift
        transform = _optimize(_method(f_mask, 50, sampling, seed), affine, f, m, iterations, levels=2, step=0.5)
    after = mutual_information(f, m, transform, f_mask)
    resampled = resample_to(moving, fixed, transform=transform, default_value=float(moving.array.min()))
    moved_mask = resample_to(moving.with_array(moving_mask_array.astype(np.float32)), fixed, "nearest",
                             transform=transform).array > 0.5
    raw_mask = resample_to(moving.with_array(moving_mask_array.astype(np.float32)), fixed, "nearest",
                           transform=identity).array > 0.5
    matrix = np.array(rigid.GetMatrix()).reshape(3, 3)
    angle = math.degrees(math.acos(float(np.clip((np.trace(matrix) - 1) / 2, -1, 1))))
    quality = {"mi_before": before, "mi_after": after,
               "dice_before": dice(fixed_mask_array, raw_mask), "dice_after": dice(fixed_mask_array, moved_mask)}
    log.info("registered: MI %.3f -> %.3f, mask Dice %.3f -> %.3f, rotation %.2f deg", before, after,
             quality["dice_before"], quality["dice_after"], angle)
    return Registration(transform, resampled, quality, angle, float(np.linalg.norm(rigid.GetTranslation())))
