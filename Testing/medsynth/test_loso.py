"""The real-data protocol's pieces: folds by subject and by source, the strict bundling rule, and the sharpness
measure every table reports."""

from __future__ import annotations

import numpy as np
import pytest
from medsynth import loso
from medsynth.metrics import relative_sharpness
from scipy import ndimage

SUBJECTS = ["BraTS-MET-00110", "Brats18_CBICA_AAB_1", "Brats18_CBICA_AOO_1", "CSTAR-stroke01", "TCGA-DU-7294",
            "TCGA-FG-6692"]


def test_folds_by_subject_and_by_source():
    by_subject = loso.folds(SUBJECTS)
    assert [(f, h) for f, h, _ in by_subject] == [(s, [s]) for s in SUBJECTS]
    assert all(h[0] not in t and len(t) == 5 for _, h, t in by_subject)
    by_source = {fold: (held, train) for fold, held, train in loso.folds(SUBJECTS, "source")}
    assert set(by_source) == {f"without {s}" for s in ("BraTS 2023 (METS)", "BraTS 2018 (CBICA)",
                                                         "TCGA (BrainLesion preprocessing)", "C-STAR (3 T stroke)")}
    held, train = by_source["without BraTS 2018 (CBICA)"]
    assert held == ["Brats18_CBICA_AAB_1", "Brats18_CBICA_AOO_1"] and not set(held) & set(train)
    assert by_source["without TCGA (BrainLesion preprocessing)"][0] == ["TCGA-DU-7294", "TCGA-FG-6692"]
    assert loso.source_of("IXI002-Guys") == "IXI002-Guys"  # an unknown subject is a source of its own
    assert loso.folds(["TCGA-DU-7294", "TCGA-FG-6692"], "source") == []  # one source: nothing to hold out
    with pytest.raises(ValueError, match="folds by 'subject' or 'source'"):
        loso.folds(SUBJECTS, "site")


def rows(table: dict[str, dict[str, tuple[float, float]]]) -> list[dict]:
    """``{method: {subject: (own-scale PSNR, calibrated PSNR)}}`` as result rows."""
    return [{"subject": s, "method": m, "convention": c, "psnr": v[i], "ssim_3d": 0.5, "mae": 0.1, "sharpness": 0.8}
            for m, per in table.items() for s, v in per.items() for i, c in enumerate(loso.CONVENTIONS)]


def test_the_rule_wants_each_subjects_best_baseline_beaten_under_both_conventions():
    table = {"baseline histmatch": {"a": (20.0, 22.0), "b": (15.0, 18.0)},
             "baseline jointhist": {"a": (18.0, 23.0), "b": (17.0, 17.5)},
             "model": {"a": (21.0, 23.5), "b": (16.0, 19.0)}}
    # on the mean the model beats the best baseline (histmatch) under both conventions, but not on subject b
    # own-scale, where the joint histogram is better
    margins = loso.subject_margins(rows(table), "model", "own-scale")
    assert margins == {"a": (1.0, "baseline histmatch"), "b": (-1.0, "baseline jointhist")}
    assert loso.rule_failures(rows(table), "model") == ["b own-scale: -1.00 dB against baseline jointhist"]
    table["model"]["b"] = (17.5, 19.0)
    assert loso.rule_failures(rows(table), "model") == []
    table["model"]["a"] = (21.0, 23.0)  # level with a baseline is not a win
    assert loso.rule_failures(rows(table), "model") == ["a calibrated: +0.00 dB against baseline jointhist"]
    report = "\n".join(loso.summary(rows(table), "T1", "T2"))
    assert "- model: fails (a calibrated: +0.00 dB against baseline jointhist)." in report
    assert "Over each subject's own best baseline: worst +0.00 dB" in report and "sharpness mean ± SD" in report


def test_sharpness_is_one_for_the_real_image_lower_when_blurred_and_blind_to_intensity_scale():
    rng = np.random.default_rng(0)
    real = ndimage.gaussian_filter(rng.normal(size=(40, 40, 40)), 1.0) + 3.0
    mask = np.zeros(real.shape, bool)
    mask[4:36, 4:36, 4:36] = True
    assert relative_sharpness(real, real, mask) == pytest.approx(1.0)
    assert relative_sharpness(5.0 * real - 2.0, real, mask) == pytest.approx(1.0)
    blurred = relative_sharpness(ndimage.gaussian_filter(real, 1.5), real, mask)
    assert 0.3 < blurred < 0.8
    assert relative_sharpness(ndimage.gaussian_filter(real, 3.0), real, mask) < blurred
