"""A plain convolutional generator, 2D or 3D."""

from . import Architecture

ARCHITECTURES = (
    Architecture(
        name="convnet", role="generator", objective="paired", factory="medsynth.models.convnet:ConvNet",
        description="plain fully convolutional generator, 2D or 3D (hyperparameter spatial_dims)",
    ),
)
