"""Unpaired training data: a source domain and a target domain, drawn independently.

The source volumes are every subject of ``data.root`` holding the inputs; the target volumes every subject
of ``data.target_root`` (default: the same folder) holding the target, possibly other subjects, sites and
grids. Every volume is resampled to ``data.spacing`` mm in the slice plane, so anatomy has one scale in
both domains. Subjects of one folder holding both contrasts on one grid are *paired*: some of them are held
out, never trained on, to validate (choosing the best epoch) and test by PSNR/SSIM/MAE. Without any, no
epoch can be judged against a reference, and the last epoch is kept (the card says so).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch

from ..core.errors import ConfigError, InputError
from ..dataset import Subjects, find_subjects
from ..dataset_summary import same_grid_files
from .augment import augment
from .config import DataConfig
from .data import SPLITS, PairedSubject, SliceDataset, _count, load_subject

UNPAIRED_SPLITS = (*SPLITS, "source", "target")
LAST_EPOCH = "the last epoch (no paired validation subject to judge epochs by)"


@dataclasses.dataclass
class UnpairedFolders:
    """The two domains' subjects and the subjects usable as (source, target) pairs."""

    source: Subjects
    target: Subjects
    paired: list[str]

    @property
    def same_folder(self) -> bool:
        return self.source is self.target


def discover_unpaired(config: DataConfig) -> UnpairedFolders:
    if not config.root:
        raise ConfigError("no dataset given: set data.root (or --data) to the source domain's folder")
    source_all = find_subjects(config.root, config.patterns)
    separate = bool(config.target_root) and Path(config.target_root) != Path(config.root)
    target_all = find_subjects(config.target_root, config.target_patterns) if separate else source_all
    source = {s: f for s, f in source_all.items() if all(c in f for c in config.inputs)}
    target = {s: f for s, f in target_all.items() if config.target in f}
    where = f"{config.root} and {config.target_root}" if separate else str(config.root)
    for domain, contrasts, found, folder in (("source", config.inputs, source, config.root),
                                             ("target", [config.target], target, config.target_root or config.root)):
        if not found:
            raise InputError(f"unpaired data: the {domain} domain is empty: no subject in {folder} holds "
                             f"{' and '.join(contrasts)}; the two domains need at least one volume each ({where})")
    paired = [] if separate else sorted(
        s for s in source if s in target
        and same_grid_files([source[s][c] for c in (*config.inputs, config.target)]))
    return UnpairedFolders(source, source if not separate else target, paired)


def split_unpaired(folders: UnpairedFolders, config: DataConfig) -> dict[str, list[str]]:
    """Held-out paired subjects (explicit ``data.subjects`` or seeded fractions of the paired ones), and the
    training volumes of each domain: every other subject holding that domain's contrast(s), or the lists
    ``data.subjects.source`` and ``data.subjects.target``."""
    if config.subjects:
        unknown = sorted(set(config.subjects) - {"validation", "test", "source", "target"})
        if unknown:
            raise ConfigError(f"data.subjects: unknown list(s) {', '.join(unknown)} for unpaired training; expected "
                              "validation, test, source and target")
        held = {k: sorted(config.subjects.get(k, [])) for k in ("validation", "test")}
        wrong = sorted(s for v in held.values() for s in v if s not in folders.paired)
        if wrong:
            raise ConfigError(f"data.subjects: {', '.join(wrong)} cannot be held out: a validation or test subject "
                              "of unpaired training needs both contrasts on one grid; paired subjects: "
                              f"{', '.join(folders.paired) or 'none'}")
    else:
        order = [folders.paired[i] for i in np.random.default_rng(config.split_seed).permutation(len(folders.paired))]
        n_test = min(_count(config.test, len(order), "test"), len(order))
        n_val = min(_count(config.validation, len(order), "validation"), len(order) - n_test)
        held = {"test": sorted(order[:n_test]), "validation": sorted(order[n_test : n_test + n_val])}
    out = set(held["validation"]) | set(held["test"])
    split = {**held, "source": sorted(set(folders.source) - out), "target": sorted(set(folders.target) - out)}
    for domain in ("source", "target"):  # explicit lists: e.g. T1 from some subjects and T2 from others
        chosen = (config.subjects or {}).get(domain)
        if chosen is None:
            continue
        wrong = sorted(set(chosen) - set(split[domain]))
        if wrong:
            raise ConfigError(f"data.subjects.{domain}: {', '.join(wrong)} cannot train the {domain} domain: they "
                              f"are held out or lack its contrast; available: {', '.join(split[domain]) or 'none'}")
        split[domain] = sorted(chosen)
    for domain in ("source", "target"):
        if not split[domain]:
            raise ConfigError(f"unpaired data: every {domain}-domain subject is held out for validation or test; "
                              "add volumes to that domain or hold out fewer (data.validation, data.test)")
    split["train"] = sorted(set(split["source"]) | set(split["target"]))
    return {k: split[k] for k in UNPAIRED_SPLITS}


def split_sources(folders: UnpairedFolders) -> dict[str, Subjects]:
    """The dataset each list of an unpaired split names its subjects from (``data.write_split``)."""
    return {"source": folders.source, "target": folders.target, "validation": folders.source,
            "test": folders.source}


def load_domains(folders: UnpairedFolders, split: dict[str, list[str]], config: DataConfig,
                 planes: tuple[str | None, ...]) -> tuple[list[PairedSubject], list[PairedSubject]]:
    """The training volumes of each domain, each one a subject whose target is its own (first) image."""
    first = config.inputs[0]
    source = [load_subject(s, folders.source[s], config, 2, plane, target=first, spacing=config.spacing)
              for s in split["source"] for plane in planes]
    target = [load_subject(s, folders.target[s], config, 2, plane, inputs=[config.target], spacing=config.spacing)
              for s in split["target"] for plane in planes]
    return source, target


class UnpairedSliceDataset:
    """Slices drawn independently from the two domains: an epoch pairs each of its source slices (every one,
    or ``limit``) with a random target slice, as CycleGAN's unaligned dataset does."""

    def __init__(self, source: list[PairedSubject], target: list[PairedSubject], config: DataConfig) -> None:
        self.domains = (SliceDataset(source, config), SliceDataset(target, config))

    def __len__(self) -> int:
        return max(len(d) for d in self.domains)

    def epoch_items(self, rng: np.random.Generator, limit: int | None) -> np.ndarray:
        """``(count, 2)``: this epoch's (source slice, target slice) items."""
        a, b = self.domains
        count = limit or len(self)
        return np.stack([rng.permutation(np.arange(count) % len(a)), rng.integers(0, len(b), count)], axis=1)

    def draw(self, item: np.ndarray, generator: torch.Generator, config) -> tuple[torch.Tensor, ...]:
        """One augmented (source, source mask, target, target mask) sample. Each domain gets its own
        geometric transform; only the source gets intensity augmentation (scanner simulation), since the
        target slices are what the discriminator learns the real target contrast from."""
        (a, b), outputs = self.domains, []
        geometric = dataclasses.replace(config, intensity=0.0, curve=0.0, bias_field=0.0)
        for domain, index, settings in ((a, item[0], config), (b, item[1], geometric)):
            subject = domain.subject(int(index))
            stack, _, mask = domain.sample(int(index), generator)
            image, _, mask = augment(stack[None], mask[None], mask[None], settings, generator,  # no partner image
                                     (subject.source_fill, 0.0), subject.lr_axis)
            outputs += [image, mask]
        return outputs[0], outputs[2], outputs[1], outputs[3]


def describe(split: dict[str, list[str]]) -> str:
    return (f"unpaired: {len(split['source'])} source, {len(split['target'])} target volumes; "
            f"{len(split['validation'])} validation and {len(split['test'])} test subjects paired"
            + ("" if split["validation"] else f"; the model kept is {LAST_EPOCH}"))

