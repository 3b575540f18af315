"""Phantom anatomy: tissue fractions on any grid from analytic surfaces warped per subject.

The head is built in millimetres around the brain centre (RAS), from implicit surfaces whose distance
functions are cheap to evaluate on tens of millions of voxels:

- nested shells around an ellipsoidal brain envelope: subarachnoid CSF, inner table, diploe (marrow),
  outer table, subcutaneous fat, skin; a neck of muscle, fat and skin below;
- a folded cortex: sulci are level sets ``h = 0`` of a random smooth field ``h`` (sums of plane waves),
  cut to a depth that varies over the brain; the distance to a sulcus is ``|h| / |grad h|``, and gray
  matter is everything within a cortical thickness of CSF (envelope, sulci, interhemispheric fissure);
- lateral and third ventricles, thalami and basal ganglia, and an optional periventricular lesion.

Boundaries get partial-volume fractions from a linear ramp one voxel wide, so every voxel holds a
mixture of tissues that sums to one. Subject variability comes from a random affine (size, pose) and a
smooth random displacement field applied to the coordinates before the surfaces are evaluated, plus
random folding, sulcal depth and ventricle size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..volume import Volume
from .tissues import TISSUE_BY_NAME, TISSUES

_T = {t.name: t.label for t in TISSUES}
BRAIN_CENTER = np.array([0.0, 0.0, 10.0])  # mm, RAS, relative to the head frame
BRAIN_RADII = np.array([66.0, 84.0, 60.0])
SHELLS = (  # (outer distance from the brain envelope in mm, tissue inside that distance)
    (3.0, "csf"),
    (5.0, "bone"),
    (8.0, "marrow"),
    (10.0, "bone"),
    (14.0, "fat"),
    (16.5, "skin"),
)
CORTEX_THICKNESS = 2.6  # mm
SULCUS_HALF_WIDTH = 0.6  # mm of CSF on each side of a sulcus midline
FOLDING_WAVES = 8
FOLDING_WAVELENGTH = (16.0, 26.0)  # mm: gyri about a quarter to half of this wide


@dataclass
class Anatomy:
    """Tissue fractions ``[tissue, k, j, i]`` (summing to 1 per voxel) on ``grid``."""

    fractions: np.ndarray
    grid: Volume

    @property
    def labels(self) -> np.ndarray:
        """Dominant tissue label per voxel (uint8, see :mod:`.tissues`)."""
        return np.argmax(self.fractions, axis=0).astype(np.uint8)

    @property
    def head_mask(self) -> np.ndarray:
        return self.fractions[_T["air"]] < 0.5

    @property
    def brain_mask(self) -> np.ndarray:
        brain = ("gray_matter", "white_matter", "deep_gray_matter", "lesion")
        inside = sum(self.fractions[_T[name]] for name in brain)
        return inside >= 0.5


def make_anatomy(grid: Volume, rng: np.random.Generator, lesion: bool = False, symmetric: bool = False) -> Anatomy:
    """Random subject anatomy sampled on ``grid`` (any shape, spacing and orientation); ``symmetric``: the head
    mirror-symmetric across its own mid-sagittal plane (tilted with the head), except the lesion, as a real
    brain nearly is (the random one differs between hemispheres by whole gyri)."""
    ramp = float(np.mean(grid.spacing))
    lesion_p = _subject_coordinates(grid, rng, symmetric)
    p = (np.abs(lesion_p[0]), *lesion_p[1:]) if symmetric else lesion_p
    fr = np.zeros((len(TISSUES), *grid.array.shape), dtype=np.float32)

    d_env = _ray_distance(p, BRAIN_CENTER, BRAIN_RADII * rng.uniform(0.95, 1.05, 3))
    brain = _inside(d_env, ramp)
    prev = brain
    for outer, name in SHELLS:
        m = _inside(d_env - outer, ramp)
        fr[_T[name]] += m - prev
        prev = m
    head = prev
    neck = _neck(p, ramp) * (1.0 - head)
    depth_neck = -_ray_distance_2d(p, np.array([0.0, -8.0]), np.array([48.0, 54.0]))
    skin_in = _inside(2.5 - depth_neck, ramp)
    muscle_in = _inside(7.0 - depth_neck, ramp)
    fr[_T["skin"]] += neck * (1.0 - skin_in)
    fr[_T["fat"]] += neck * (skin_in - muscle_in)
    fr[_T["muscle"]] += neck * muscle_in

    # Cortex and deep structures only change voxels inside the brain envelope (about an eighth of
    # the field of view), so they are evaluated on those voxels alone.
    inside = np.flatnonzero(brain.ravel() > 0)
    p_in = tuple(c.ravel()[inside] for c in p)
    lesion_in = tuple(c.ravel()[inside] for c in lesion_p)
    fr_in = np.zeros((len(TISSUES), inside.size), dtype=np.float32)
    brain_in = brain.ravel()[inside]
    _cortex(fr_in, p_in, -d_env.ravel()[inside], brain_in, ramp, rng)
    _deep_structures(fr_in, p_in, brain_in, ramp, rng, lesion, lesion_in)
    flat = fr.reshape(len(TISSUES), -1)
    flat[:, inside] += fr_in
    fr[_T["air"]] = np.clip(1.0 - fr[1:].sum(axis=0), 0.0, 1.0)
    return Anatomy(fr, grid)


def _subject_coordinates(grid: Volume, rng: np.random.Generator, symmetric: bool = False) -> tuple[np.ndarray, ...]:
    """Head-frame coordinates (x, y, z in mm) of every voxel after the subject's affine and warp (``symmetric``: a
    warp mirror-symmetric across x = 0)."""
    shape = grid.array.shape
    k, j, i = (np.arange(n, dtype=np.float32) for n in shape)
    m = grid.ijk_to_ras.astype(np.float32)
    centre = (m @ np.array([*(np.array(shape[::-1]) - 1) / 2.0, 1.0], dtype=np.float32))[:3]
    angles = np.deg2rad(rng.uniform(-4.0, 4.0, 3))
    rot = _rotation(angles)
    scale = rng.uniform(0.92, 1.08, 3)
    shift = rng.uniform(-3.0, 3.0, 3)
    # world -> head frame: undo shift and rotation, then scale (a larger subject = coordinates shrink).
    a = (rot.T / scale[:, None]) @ m[:3, :3].astype(np.float64)
    b = (rot.T / scale[:, None]) @ (m[:3, 3] - centre - shift)
    coords = []
    for row in range(3):
        c = (a[row, 0] * i[None, None, :] + a[row, 1] * j[None, :, None] + a[row, 2] * k[:, None, None]
             + np.float32(b[row]))
        coords.append(np.broadcast_to(c, shape).astype(np.float32))
    x, y, z = coords
    side = np.sign(x) if symmetric else np.float32(1.0)
    for _ in range(4):  # smooth displacement field: a few long-wavelength plane waves, 1.5-3.5 mm each
        wave = _unit(rng) * (2 * np.pi / rng.uniform(60.0, 120.0))
        amp = _unit(rng) * rng.uniform(1.0, 3.0)
        s = np.sin(wave[0] * side * x + wave[1] * y + wave[2] * z + np.float32(rng.uniform(0, 2 * np.pi)))
        x += np.float32(amp[0]) * side * s
        y += np.float32(amp[1]) * s
        z += np.float32(amp[2]) * s
    return x, y, z


def _cortex(fr, p, depth, brain, ramp, rng) -> None:
    """Split the brain envelope into sulcal CSF, a folded gray-matter ribbon and white matter."""
    x, y, z = p
    h = np.zeros_like(x)
    gx, gy, gz = np.zeros_like(x), np.zeros_like(x), np.zeros_like(x)
    for _ in range(FOLDING_WAVES):  # folding field: random directions and phases per subject
        w = _unit(rng) * (2 * np.pi / rng.uniform(*FOLDING_WAVELENGTH))
        phase = w[0] * x + w[1] * y + w[2] * z + np.float32(rng.uniform(0, 2 * np.pi))
        h += np.sin(phase)
        c = np.cos(phase)
        gx += np.float32(w[0]) * c
        gy += np.float32(w[1]) * c
        gz += np.float32(w[2]) * c
    dist_sulcus = np.abs(h) / np.maximum(np.sqrt(gx * gx + gy * gy + gz * gz), 1e-3)
    del gx, gy, gz, h
    wd = _unit(rng) * (2 * np.pi / 70.0)
    sulcal_depth = 6.0 + 5.0 * (1.0 + np.sin(wd[0] * x + wd[1] * y + wd[2] * z))  # 6-16 mm
    beyond = np.maximum(depth - sulcal_depth, 0.0)
    d_sulcus = np.sqrt(np.maximum(dist_sulcus - SULCUS_HALF_WIDTH, 0.0) ** 2 + beyond**2)
    sulcus_csf = _inside(dist_sulcus - SULCUS_HALF_WIDTH, ramp) * _inside(depth - sulcal_depth, ramp)
    # Interhemispheric fissure: a mid-sagittal CSF sheet above an arch that follows the corpus callosum
    # (high in the middle, reaching down at the frontal and occipital poles).
    arch = BRAIN_CENTER[2] + 18.0 - 0.008 * y * y
    in_fissure_region = _inside(arch - z, 4.0)
    d_fissure = np.where(in_fissure_region > 0.5, np.abs(x) - SULCUS_HALF_WIDTH, 1e3).astype(np.float32)
    fissure_csf = _inside(np.abs(x) - SULCUS_HALF_WIDTH, ramp) * in_fissure_region
    d_csf = np.minimum(np.minimum(depth, d_sulcus), np.maximum(d_fissure, 0.0))
    csf = np.maximum(sulcus_csf, fissure_csf) * brain
    tissue = brain - csf
    wm = _inside(CORTEX_THICKNESS - d_csf, ramp)
    fr[_T["csf"]] += csf
    fr[_T["white_matter"]] += tissue * wm
    fr[_T["gray_matter"]] += tissue * (1.0 - wm)


def _deep_structures(fr, p, brain, ramp, rng, lesion: bool, lesion_p) -> None:
    """Basal ganglia, thalami, ventricles (scaled per subject) and an optional lesion (placed in the coordinates
    ``lesion_p``: one hemisphere), by replacement."""
    cz = BRAIN_CENTER[2]
    atrophy = rng.uniform(0.8, 1.5)  # ventricle size varies a lot between people
    x, y, z = p
    for side in (-1.0, 1.0):
        _replace(fr, "deep_gray_matter", brain, ramp, p, (side * 11.0, -12.0, cz - 4.0), (8.5, 12.0, 8.0))
        _replace(fr, "deep_gray_matter", brain, ramp, p, (side * 23.0, 6.0, cz - 2.0), (6.0, 15.0, 9.0))
    for side in (-1.0, 1.0):  # lateral ventricles: ellipsoids bent down at the horns
        bent_z = z + np.float32(0.011) * (y + np.float32(4.0)) ** 2
        centre = np.array([side * 9.0 * atrophy**0.3, -4.0, cz + 10.0])
        radii = np.array([5.5 * atrophy, 30.0, 7.0 * atrophy**0.7])
        m = _inside(_ray_distance((x, y, bent_z), centre, radii), ramp) * brain
        _replace_with(fr, "csf", m)
    _replace(fr, "csf", brain, ramp, p, (0.0, -8.0, cz - 6.0), (1.5 * atrophy, 14.0, 8.0))
    if lesion:
        side = rng.choice([-1.0, 1.0])
        centre = (side * rng.uniform(14.0, 24.0), rng.uniform(-25.0, 20.0), cz + rng.uniform(10.0, 22.0))
        _replace(fr, "lesion", brain, ramp, lesion_p, centre, tuple(rng.uniform(3.0, 9.0, 3)))


def _replace(fr, name, brain, ramp, p, centre, radii) -> None:
    m = _inside(_ray_distance(p, np.asarray(centre), np.asarray(radii)), ramp) * brain
    _replace_with(fr, name, m)


def _replace_with(fr: np.ndarray, name: str, m: np.ndarray) -> None:
    """Let tissue ``name`` take fraction ``m`` of each voxel's brain tissue (GM, WM, CSF, deep GM)."""
    taken = np.zeros_like(m)
    for other in ("gray_matter", "white_matter", "csf", "deep_gray_matter", "lesion"):
        share = fr[_T[other]] * m
        fr[_T[other]] -= share
        taken += share
    fr[TISSUE_BY_NAME[name].label] += taken


def _neck(p, ramp) -> np.ndarray:
    """Membership of the neck: an elliptic cylinder below the skull base, blending in over 15 mm."""
    d = _ray_distance_2d(p, np.array([0.0, -8.0]), np.array([48.0, 54.0]))
    below = np.clip((BRAIN_CENTER[2] - 25.0 - p[2]) / 15.0, 0.0, 1.0)
    return _inside(d, ramp) * below


def _ray_distance(p, centre: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """Signed distance (mm, positive outside) to an ellipsoid, measured along the ray from its centre."""
    dx, dy, dz = (p[a] - np.float32(centre[a]) for a in range(3))
    length = np.sqrt(dx * dx + dy * dy + dz * dz)
    rho = np.sqrt((dx / radii[0]) ** 2 + (dy / radii[1]) ** 2 + (dz / radii[2]) ** 2)
    return (length - length / np.maximum(rho, 1e-6)).astype(np.float32)


def _ray_distance_2d(p, centre: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """As :func:`_ray_distance` for an infinite elliptic cylinder along S."""
    dx, dy = p[0] - np.float32(centre[0]), p[1] - np.float32(centre[1])
    length = np.sqrt(dx * dx + dy * dy)
    rho = np.sqrt((dx / radii[0]) ** 2 + (dy / radii[1]) ** 2)
    return (length - length / np.maximum(rho, 1e-6)).astype(np.float32)


def _inside(signed_distance: np.ndarray, width: float) -> np.ndarray:
    """Partial-volume fraction inside a surface: 1 deep inside, 0 outside, linear over one ``width``."""
    return np.clip(np.float32(0.5) - signed_distance / np.float32(width), 0.0, 1.0).astype(np.float32)


def _unit(rng: np.random.Generator) -> np.ndarray:
    v = rng.normal(size=3)
    return v / np.linalg.norm(v)


def _rotation(angles: np.ndarray) -> np.ndarray:
    cx, cy, cz = np.cos(angles)
    sx, sy, sz = np.sin(angles)
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return rz @ ry @ rx
