"""The training engine behind ``medsynth train``: configuration, paired data, the GAN loop, logs."""

from .config import TrainConfig, load_config
from .trainer import Trainer, train

__all__ = ["TrainConfig", "Trainer", "load_config", "train"]
