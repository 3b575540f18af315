"""Leave-one-subject-out on real subjects: the voxel-wise baselines fitted on the other subjects, every
method scored on the held-out one under both intensity conventions, and the markdown report with margins.

Also leave-one-*source*-out (``folds(..., "source")``): every subject of one source (a site, a challenge, a
preprocessing) held out together, so the figure is what a user at a new hospital gets. The bundling rule
(``rule_failures``) is strict: a model must beat the best voxel-wise baseline *of each subject* on every
held-out subject, under both conventions; a mean over subjects is not enough.

Shared by ``scripts/evaluate_real.py`` (bundled or given models) and the study scripts (recipes trained per
fold, ``train_once``), so every real-data figure in docs/results.md is made by one protocol.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from .baselines import BASELINES, fit_baseline, fit_joint_histogram_2d
from .checkpoint import LoadedModel
from .core.contrasts import canonical_contrast
from .core.errors import InputError
from .core.files import atomic_output
from .core.intensity import FOREGROUND_PERCENTILES
from .dataset import find_subjects, require_contrasts
from .inference import InferenceOptions, synthesize
from .io import read_volume
from .metrics import relative_sharpness
from .pipeline import evaluate_conventions
from .volume import Volume

CONVENTIONS = ("own-scale", "calibrated")
METRICS = ("psnr", "ssim_3d", "mae", "sharpness")
# Where the subjects of ../shared/data/multicontrast come from (name prefix -> source); any other subject is a
# source of its own. Subjects of one source share site, scanner and preprocessing.
SOURCES = {"BraTS-MET-": "BraTS 2023 (METS)", "Brats18_CBICA_": "BraTS 2018 (CBICA)",
           "TCGA-": "TCGA (BrainLesion preprocessing)", "CSTAR-": "C-STAR (3 T stroke)"}
SHORT = {"identity": "identity", "histogram_matching": "histmatch", "joint_histogram": "jointhist"}
DEFAULT_PATTERNS = ["{subject}/{subject}_{contrast}_bet_normalized.nii.gz", "{subject}/{subject}-000-{contrast}.nii.gz",
                    "{subject}/{subject}-{contrast}.nii.gz"]
PERCENTILE = {"kind": "percentile", "percentiles": list(FOREGROUND_PERCENTILES)}


def add_data_arguments(parser, several_sources: bool = True) -> None:
    """``--data``, ``--pattern``, ``--source`` and ``--target``: the real subjects a study reads, and the mapping."""
    parser.add_argument("--data", type=Path, required=True, help="folder of real subjects (co-registered contrasts)")
    parser.add_argument("--pattern", action="append", default=None,
                        help="file pattern with {subject} and {contrast} (repeatable; default: the layouts of "
                             "../shared/data/multicontrast)")
    if several_sources:
        parser.add_argument("--source", required=True, nargs="+",
                            help="acquired contrast(s), e.g. T1, or T1 T2 for a many-to-one model")
    else:
        parser.add_argument("--source", required=True, help="acquired contrast, e.g. T1")
    parser.add_argument("--target", required=True, help="contrast to synthesize, e.g. T2")


Subject = tuple[dict[str, Volume], Volume]  # the input volumes by contrast, and the real target


def load_subjects(data: Path, patterns: list[str] | None, inputs: list[str], target: str) -> dict[str, Subject]:
    """``{subject: ({contrast: volume}, target volume)}`` for every subject of ``data`` holding all ``inputs``
    and the ``target``."""
    inputs, target = [canonical_contrast(c) for c in inputs], canonical_contrast(target)
    subjects = find_subjects(data, patterns or DEFAULT_PATTERNS)
    subjects = {name: files for name, files in subjects.items() if all(c in files for c in (*inputs, target))}
    require_contrasts(subjects, [*inputs, target], data)
    if len(subjects) < 2:
        raise InputError(f"{data}: leave-one-subject-out needs 2 or more subjects with {', '.join(inputs)} and "
                         f"{target}")
    return {name: ({c: read_volume(files[c]) for c in inputs}, read_volume(files[target]))
            for name, files in sorted(subjects.items())}


def baselines(train: Iterable[Subject], inputs: list[str], target: str) -> dict[str, LoadedModel]:
    """The voxel-wise baselines fitted on ``train``. One input: identity, histogram matching and the joint
    histogram under the default (min-max) normalization, and the joint histogram under the percentile
    normalization inside the head (the one the learned recipes use). Several inputs: each input's two joint
    histograms, and the joint histogram over the first two inputs together (2D bins)."""
    train = list(train)
    methods = {}
    kinds = BASELINES if len(inputs) == 1 else ("joint_histogram",)
    for contrast in inputs:
        pairs = [(volumes[contrast], reference, None) for volumes, reference in train]
        tag = "" if len(inputs) == 1 else f" {contrast}"
        for kind in kinds:
            model, card = fit_baseline(kind, pairs, contrast, target)
            methods[f"baseline {SHORT[kind]}{tag}"] = LoadedModel(model.eval(), card)
        model, card = fit_baseline("joint_histogram", pairs, contrast, target, normalizations=(PERCENTILE, PERCENTILE))
        methods[f"baseline jointhist-pct{tag}"] = LoadedModel(model.eval(), card)
    if len(inputs) > 1:
        tuples = [([volumes[c] for c in inputs[:2]], reference) for volumes, reference in train]
        model, card = fit_joint_histogram_2d(tuples, inputs[:2], target, normalization=PERCENTILE)
        methods[f"baseline jointhist-2d {'+'.join(inputs[:2])}"] = LoadedModel(model.eval(), card)
    return methods


def run_method(loaded: LoadedModel, volumes: dict[str, Volume], options: InferenceOptions) -> Volume:
    """``loaded`` on the subject's volumes of the contrasts its card takes."""
    return synthesize([volumes[c] for c in loaded.card.inputs], loaded, options)


def source_of(subject: str) -> str:
    return next((source for prefix, source in SOURCES.items() if subject.startswith(prefix)), subject)


def folds(subjects: Iterable[str], by: str = "subject") -> list[tuple[str, list[str], list[str]]]:
    """``(fold name, held-out subjects, training subjects)``: one subject at a time (``by="subject"``), or every
    subject of one source at a time (``"source"``; a source holding every subject makes no fold)."""
    subjects = sorted(subjects)
    if by == "subject":
        return [(s, [s], [o for o in subjects if o != s]) for s in subjects]
    if by != "source":
        raise ValueError(f"folds by 'subject' or 'source', not {by!r}")
    sources = sorted({source_of(s) for s in subjects})
    made = []
    for source in sources:
        held = [s for s in subjects if source_of(s) == source]
        train = [s for s in subjects if source_of(s) != source]
        if train:
            made.append((f"without {source}", held, train))
    return made


def score(synthetic: Volume, reference: Volume) -> dict[str, dict[str, float]]:
    """``{convention: {metric: value}}`` inside the reference's foreground; ``sharpness`` (the synthetic image's
    detail relative to the real one's, ``metrics.relative_sharpness``) does not depend on the convention."""
    evaluations = evaluate_conventions(synthetic, reference, conventions=CONVENTIONS)
    first = next(iter(evaluations.values()))
    sharpness = relative_sharpness(synthetic.array, first.reference.array, first.mask)
    return {convention: {**{k: float(evaluation.metrics["mask"][k]) for k in METRICS if k != "sharpness"},
                         "sharpness": sharpness}
            for convention, evaluation in evaluations.items()}


def rows_for(subject: str, method: str, scores: dict[str, dict[str, float]]) -> list[dict]:
    return [{"subject": subject, "method": method, "convention": c, **values} for c, values in scores.items()]


def margins(rows: list[dict], method: str, convention: str) -> tuple[str, list[float], list[str]] | None:
    """The best baseline on the subjects ``method`` was scored on, and its per-subject margins over it."""
    picked = [r for r in rows if r["convention"] == convention]
    mine = {r["subject"]: r["psnr"] for r in picked if r["method"] == method}
    if not mine:
        return None
    common = sorted(mine)
    rivals = {m for m in (r["method"] for r in picked) if m.startswith("baseline ")}
    psnr = {(r["method"], r["subject"]): r["psnr"] for r in picked}
    rival = max(sorted(rivals), key=lambda m: np.mean([psnr[m, s] for s in common]))
    return rival, [mine[s] - psnr[rival, s] for s in common], common


def subject_margins(rows: list[dict], method: str, convention: str) -> dict[str, tuple[float, str]]:
    """Per subject ``method`` was scored on: its PSNR margin over the best baseline *on that subject*, and
    that baseline's name."""
    picked = [r for r in rows if r["convention"] == convention]
    out = {}
    for subject in sorted({r["subject"] for r in picked if r["method"] == method}):
        here = {r["method"]: r["psnr"] for r in picked if r["subject"] == subject}
        rivals = {m: v for m, v in here.items() if m.startswith("baseline ")}
        if rivals:
            best = max(sorted(rivals), key=rivals.get)
            out[subject] = (here[method] - rivals[best], best)
    return out


def rule_failures(rows: list[dict], method: str) -> list[str]:
    """Why ``method`` may not be bundled: each subject and convention where it does not beat the best
    baseline of that subject (empty: it passes the rule)."""
    failures = []
    for convention in CONVENTIONS:
        found = subject_margins(rows, method, convention)
        if not found:
            failures.append(f"no {convention} rows")
        failures += [f"{subject} {convention}: {margin:+.2f} dB against {best}"
                     for subject, (margin, best) in found.items() if margin <= 0]
    return failures


def summary(rows: list[dict], source: str, target: str, title: str | None = None) -> list[str]:
    """The markdown report: per-subject PSNR, mean and SD of every metric, and margins over the best baseline."""
    methods = list(dict.fromkeys(r["method"] for r in rows))
    subjects = sorted({r["subject"] for r in rows})
    lines = [title or f"### {source} -> {target}: leave-one-subject-out on {len(subjects)} real subjects", ""]
    digits = {"psnr": 2, "ssim_3d": 3, "mae": 4, "sharpness": 3}
    for convention in CONVENTIONS:
        picked = [r for r in rows if r["convention"] == convention]
        lines += [f"**{convention}** (inside the reference's foreground)", "",
                  "| method | " + " | ".join(f"PSNR {s}" for s in subjects) + " | PSNR mean ± SD | SSIM mean ± SD | "
                  "MAE mean ± SD | sharpness mean ± SD |", "|---" * (len(subjects) + 5) + "|"]
        for method in methods:
            mine = {r["subject"]: r for r in picked if r["method"] == method}
            cells = [f"{mine[s]['psnr']:.2f}" if s in mine else "(trained on)" for s in subjects]
            stats = [(np.mean([m.get(k, np.nan) for m in mine.values()]),
                      np.std([m.get(k, np.nan) for m in mine.values()], ddof=1) if len(mine) > 1 else 0.0)
                     for k in METRICS]
            lines.append(f"| {method} | " + " | ".join(cells) + " | " + " | ".join(
                f"{mean:.{digits[k]}f} ± {sd:.{digits[k]}f}" for k, (mean, sd) in zip(METRICS, stats, strict=True))
                + " |")
        baseline_names = [m for m in methods if m.startswith("baseline ")]
        best = max(baseline_names, key=lambda m: np.mean([r["psnr"] for r in picked if r["method"] == m]))
        lines += ["", f"Best baseline over all subjects: {best}."]
        for method in methods:
            found = None if method in baseline_names else margins(rows, method, convention)
            if found is None:
                continue
            rival, values, common = found
            lines.append(f"Margin of {method} over {rival} (the best baseline on its {len(common)} unseen subjects): "
                         f"{np.mean(values):+.2f} dB mean (per subject {', '.join(f'{m:+.2f}' for m in values)}).")
            worst = subject_margins(rows, method, convention)
            lines.append(f"Over each subject's own best baseline: worst {min(m for m, _ in worst.values()):+.2f} dB "
                         f"(per subject {', '.join(f'{m:+.2f}' for m, _ in worst.values())}).")
        lines.append("")
    lines += ["**Bundling rule** (beat each subject's best voxel-wise baseline on every unseen subject, under both "
              "conventions):", ""]
    for method in methods:
        if not method.startswith("baseline "):
            failures = rule_failures(rows, method)
            lines.append(f"- {method}: " + ("passes." if not failures else f"fails ({'; '.join(failures)})."))
    lines.append("")
    return lines


def train_once(overrides: dict, description: str) -> Path:
    """The model of the ``medsynth train`` run configured by ``overrides`` (its ``output`` folder): the finished
    run's, an interrupted one resumed, or trained now, with a progress bar. Studies reuse their runs this way."""
    from tqdm import tqdm

    from .core.run_folder import MODEL_FILE, STATE_FILE
    from .training import load_config, train

    folder = Path(overrides["output"])
    if not (folder / MODEL_FILE).exists():
        bar = tqdm(total=1, desc=description, leave=False)

        def progress(done: int, total: int, message: str) -> None:
            bar.total, bar.n = total, done
            bar.set_postfix_str(message, refresh=False)
            bar.refresh()

        train(load_config(overrides=overrides), resume=(folder / STATE_FILE).exists(), progress=progress)
        bar.close()
    return folder / MODEL_FILE


def write_report(out: Path, rows: list[dict], lines: list[str]) -> None:
    """``results.csv`` and ``results.md`` in ``out``, each written whole or not at all."""
    out.mkdir(parents=True, exist_ok=True)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    with atomic_output(out / "results.csv") as tmp:
        tmp.write_text(buffer.getvalue())
    with atomic_output(out / "results.md") as tmp:
        tmp.write_text("\n".join(lines) + "\n")


def bundle(loaded: LoadedModel, name: str, description: str, metrics: dict, data: str, reproduce: str,
           default: bool = False, folder: Path | None = None) -> Path:
    """Add a study's model to the bundled catalog as ``name`` (float16 weights), its card carrying what the
    study measured (``metrics``), what it was trained on and the command that reproduces it. The caller has
    checked that it beats the baselines: studies bundle only winners."""
    from .checkpoint import save_model
    from .core.catalog import add_to_catalog, bundled_models_dir

    card = loaded.card
    card.name, card.description, card.metrics = name, description, metrics
    card.training = {**card.training, "data": data, "reproduce": reproduce}
    folder = bundled_models_dir() if folder is None else Path(folder)
    target = save_model(loaded.model, card, folder / f"{name}.safetensors", half=True)
    add_to_catalog(target, default=default, folder=folder)
    return target
