"""Non-learned voxel-wise baselines: what any synthesis model must beat."""

from ..citations import NYUL2000
from . import Architecture

ARCHITECTURES = (
    Architecture(
        name="identity", role="baseline", engine="voxelwise", factory="medsynth.models.intensity_maps:IdentityMap",
        description="the input itself, rescaled to the target's range",
    ),
    Architecture(
        name="histogram_matching", role="baseline", engine="voxelwise", citations=(NYUL2000,),
        factory="medsynth.models.intensity_maps:HistogramMatching",
        description="input quantiles mapped to the target's mean training quantiles",
    ),
    Architecture(
        name="joint_histogram", role="baseline", engine="voxelwise",
        factory="medsynth.models.intensity_maps:JointHistogramMap",
        description="E[target | input] from the training subjects' joint histogram (a lookup table)",
    ),
    Architecture(
        name="joint_histogram_2d", role="baseline", engine="voxelwise",
        factory="medsynth.models.intensity_maps:JointHistogram2D",
        description="E[target | input 1, input 2] on a 2D grid of two inputs (many-to-one)",
    ),
)
