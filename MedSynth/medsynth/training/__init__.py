"""The training engine behind ``medsynth train``: configuration, paired data, the GAN loop, logs.

``TrainConfig`` and ``load_config`` import without torch (the Slicer module checks a run's settings in its own
process before it starts one); ``Trainer`` and ``train`` load on first use.
"""

from .config import TrainConfig, load_config

__all__ = ["TrainConfig", "Trainer", "load_config", "train"]


def __getattr__(name: str):
    if name in ("Trainer", "train"):
        from . import trainer

        return getattr(trainer, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
