"""A dataset at a glance, before training: subjects, contrasts, grids, and the problems found.

Only image headers are read (SimpleITK's ``ReadImageInformation``), so summarising hundreds of subjects
takes seconds. The Slicer training module shows this summary when a folder is chosen; the same problems
would otherwise stop ``medsynth train`` later with the same messages.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from .dataset import MASK, Subjects, find_subjects


@dataclass
class DatasetSummary:
    root: str
    subjects: int
    contrasts: dict[str, int]  # contrast -> number of subjects holding it
    pairs: dict[str, int] = field(default_factory=dict)  # "S->T" -> subjects usable for it
    grids: dict[str, int] = field(default_factory=dict)  # "240x240x155 @ 1x1x1 mm" -> volumes (masks aside)
    problems: list[str] = field(default_factory=list)
    unpaired: str = ""  # "unpaired: N source, M target volumes; ..." when checked for unpaired training

    def text(self) -> str:
        lines = [f"{self.root}: {self.subjects} subject(s)",
                 "contrasts: " + ", ".join(f"{c} ({n})" for c, n in sorted(self.contrasts.items())),
                 "grids: " + "; ".join(f"{g} ({n})" for g, n in sorted(self.grids.items(), key=lambda x: -x[1]))]
        if self.unpaired:
            lines.append(self.unpaired)
        elif self.pairs:
            lines.append("trainable pairs: " + ", ".join(f"{p} ({n})" for p, n in sorted(self.pairs.items())))
        lines += [f"problem: {p}" for p in self.problems] or ["no problems found"]
        return "\n".join(lines)


def _grid(path: Path) -> tuple[tuple[int, ...], tuple[float, ...], tuple[float, ...], tuple[float, ...]]:
    reader = sitk.ImageFileReader()
    reader.SetFileName(str(path))
    reader.ReadImageInformation()
    return reader.GetSize(), reader.GetSpacing(), reader.GetOrigin(), reader.GetDirection()


def summarize_dataset(root: str | Path, patterns: list[str] | None = None, source: str | None = None,
                      target: str | None = None, unpaired: bool = False,
                      target_root: str | Path | None = None) -> DatasetSummary:
    """Summarise the dataset at ``root``; with ``source`` and ``target``, check that pair in particular. With
    ``unpaired`` (cyclegan), the target volumes may lie in ``target_root`` and need not match the sources."""
    subjects: Subjects = find_subjects(root, patterns or ())
    contrasts = Counter(c for files in subjects.values() for c in files if c != MASK)
    summary = DatasetSummary(str(root), len(subjects), dict(contrasts))
    names = sorted(contrasts)
    for s in names:
        for t in names:
            usable = sum(1 for files in subjects.values() if s in files and t in files)
            if s != t and usable:
                summary.pairs[f"{s}->{t}"] = usable
    for subject, files in subjects.items():
        grids = {}
        for contrast, path in files.items():
            try:
                grids[contrast] = _grid(path)
            except RuntimeError as exc:
                summary.problems.append(f"{subject}: cannot read {path.name} ({str(exc).strip().splitlines()[-1]})")
                continue
            size, spacing = grids[contrast][0], grids[contrast][1]
            if len(size) != 3:
                summary.problems.append(f"{subject}: {path.name} is {len(size)}D; expected a 3D volume")
                continue
            if contrast != MASK:
                key = f"{'x'.join(map(str, size))} @ {'x'.join(f'{v:.3g}' for v in spacing)} mm"
                summary.grids[key] = summary.grids.get(key, 0) + 1
        first = next(iter(grids.items()), None)
        for contrast, grid in grids.items():
            if first is not None and not _same_grid(grid, first[1]):
                summary.problems.append(f"{subject}: {contrast} and {first[0]} are not on one voxel grid; register "
                                        "and resample them with `medsynth prepare`")
                break
    if unpaired and source and target:
        summary.unpaired = _unpaired(subjects, target_root, patterns, source, target, summary)
        return summary
    for contrast in (source, target):
        if contrast is not None and contrasts.get(contrast, 0) < len(subjects):
            missing = sorted(s for s, files in subjects.items() if contrast not in files)
            summary.problems.append(f"{len(missing)} subject(s) have no {contrast}: {', '.join(missing[:5])}"
                                    + (" ..." if len(missing) > 5 else ""))
    return summary


def _unpaired(subjects: Subjects, target_root, patterns, source: str, target: str, summary: DatasetSummary) -> str:
    separate = target_root is not None and Path(target_root) != Path(summary.root)
    targets = find_subjects(target_root, patterns or ()) if separate else subjects
    n_source = sum(source in files for files in subjects.values())
    n_target = sum(target in files for files in targets.values())
    paired = 0 if separate else sum(1 for files in subjects.values() if source in files and target in files
                                    and same_grid_files([files[source], files[target]]))
    for domain, count, contrast in (("source", n_source, source), ("target", n_target, target)):
        if not count:
            summary.problems.append(f"the {domain} domain is empty: no subject holds {contrast}")
    return (f"unpaired: {n_source} source ({source}), {n_target} target ({target}) volumes; {paired} paired "
            "subject(s) (both on one grid) for validation and test")


def same_grid_files(paths: list[Path]) -> bool:
    """Whether the volume files lie on one voxel grid (their headers only are read)."""
    grids = [_grid(p) for p in paths]
    return all(_same_grid(g, grids[0]) for g in grids[1:])


def _same_grid(a, b, tol: float = 1e-4) -> bool:
    return a[0] == b[0] and all(np.allclose(x, y, atol=tol) for x, y in zip(a[1:], b[1:], strict=True))
