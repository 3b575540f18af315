"""scripts/evaluate_real.py on phantom subjects (the real ones live outside the project): leave-one-subject-out
rows for every baseline and model under both conventions, margins, and models kept off their own training
subjects."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from medsynth.phantom import write_phantom_dataset
from scripts_under_test import load_script

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "evaluate_real.py"


@pytest.mark.torch
def test_leave_one_subject_out_next_to_the_baselines_under_both_conventions(tmp_path, capsys):
    write_phantom_dataset(tmp_path / "data", 3, shape=(32, 36, 24), seed=5, contrasts=("T1", "T2"))
    script = load_script(SCRIPT)
    argv = ["--data", str(tmp_path / "data"), "--pattern", "{subject}-{contrast}.nii.gz", "--source", "T1",
            "--target", "T2", "--models", "phantom-jointhist-T1-T2", "--exclude-trained",
            "phantom-jointhist-T1-T2=phantom002", "--device", "cpu", "--out", str(tmp_path / "out")]
    assert script.main(argv) == 0
    with (tmp_path / "out" / "results.csv").open() as f:
        rows = list(csv.DictReader(f))
    methods = {r["method"] for r in rows}
    assert methods == {"baseline identity", "baseline histmatch", "baseline jointhist", "baseline jointhist-pct",
                       "phantom-jointhist-T1-T2"}
    assert {r["convention"] for r in rows} == {"own-scale", "calibrated"}
    per = {(r["subject"], r["method"], r["convention"]) for r in rows}
    assert ("phantom002", "phantom-jointhist-T1-T2", "own-scale") not in per  # it was trained on phantom002
    assert len(rows) == (3 * 4 + 2) * 2
    assert all(5 < float(r["psnr"]) < 80 for r in rows)
    report = (tmp_path / "out" / "results.md").read_text()
    assert "Best baseline over all subjects:" in report and "Margin of phantom-jointhist-T1-T2 over" in report
    assert "| baseline jointhist |" in report and "(trained on)" in report
    assert "Margin of" in capsys.readouterr().out


@pytest.mark.torch
def test_recipe_study_trains_per_fold_and_reports_margins_and_uncertainty(tmp_path):
    write_phantom_dataset(tmp_path / "data", 2, shape=(36, 40, 28), seed=5, contrasts=("T1", "T2"))
    script = load_script(SCRIPT.with_name("study_recipes.py"))
    argv = ["--data", str(tmp_path / "data"), "--pattern", "{subject}-{contrast}.nii.gz", "--source", "T1",
            "--target", "T2", "--recipes", "seed000", "+planes", "--epochs", "1", "--slices", "4", "--batch-size",
            "2", "--ngf", "4", "--size", "64", "--device", "cpu", "--uncertainty", "--work", str(tmp_path / "work"),
            "--out", str(tmp_path / "out")]
    assert script.main(argv) == 0
    with (tmp_path / "out" / "results.csv").open() as f:
        rows = list(csv.DictReader(f))
    methods = {r["method"] for r in rows}
    assert {"seed000", "+planes", "+planes +calibration", "+planes +flip ensemble", "baseline jointhist-pct"} <= methods
    assert {r["subject"] for r in rows} == {"phantom001", "phantom002"}
    report = (tmp_path / "out" / "results.md").read_text()
    assert "Margin of +planes over" in report and "Uncertainty of +planes" in report and "Spearman" in report
    card = script.load_model(tmp_path / "work" / "+planes" / "phantom001" / "model.safetensors").card
    assert card.training["split"]["train"] == ["phantom002"]  # never the held-out subject
    assert card.inference["plane"] == "all" and card.inference["outside"] == "background"
    assert "sharpness mean ± SD" in report and "**Bundling rule**" in report and "- +planes: " in report
    assert all(0 < float(r["sharpness"]) < 3 for r in rows)
    mtimes = {p: p.stat().st_mtime for p in (tmp_path / "work").rglob("model.safetensors")}
    assert script.main(argv) == 0  # a second run reuses the finished runs
    assert all(p.stat().st_mtime == t for p, t in mtimes.items())


@pytest.mark.torch
def test_recipe_study_leaves_one_source_out(tmp_path, monkeypatch):
    """Two sites: every subject of one held out together; a fold that trains on what a subject fold trained on
    reuses that run."""
    import medsynth.loso

    write_phantom_dataset(tmp_path / "data", 3, shape=(36, 40, 28), seed=5, contrasts=("T1", "T2"))
    monkeypatch.setattr(medsynth.loso, "SOURCES", {"phantom001": "site A", "phantom002": "site A",
                                                   "phantom003": "site B"})
    script = load_script(SCRIPT.with_name("study_recipes.py"))
    argv = ["--data", str(tmp_path / "data"), "--pattern", "{subject}-{contrast}.nii.gz", "--source", "T1",
            "--target", "T2", "--recipes", "+planes", "--epochs", "1", "--slices", "4", "--batch-size", "2",
            "--ngf", "4", "--size", "64", "--device", "cpu", "--work", str(tmp_path / "work")]
    assert script.main([*argv, "--out", str(tmp_path / "by-subject")]) == 0
    trained = {p.parent.name: p.stat().st_mtime for p in (tmp_path / "work").rglob("model.safetensors")}
    assert set(trained) == {"phantom001", "phantom002", "phantom003"}
    assert script.main([*argv, "--folds", "source", "--out", str(tmp_path / "by-source")]) == 0
    runs = {p.parent.name: p for p in (tmp_path / "work").rglob("model.safetensors")}
    assert set(runs) == {"phantom001", "phantom002", "phantom003", "phantom001+phantom002"}
    assert runs["phantom003"].stat().st_mtime == trained["phantom003"]  # site B's fold is phantom003's
    card = script.load_model(runs["phantom001+phantom002"]).card
    assert card.training["split"]["train"] == ["phantom003"]
    with (tmp_path / "by-source" / "results.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert {r["subject"] for r in rows if r["method"] == "+planes"} == {"phantom001", "phantom002", "phantom003"}
    assert "leave-one-source-out on 3 real subjects" in (tmp_path / "by-source" / "results.md").read_text()


@pytest.mark.torch
def test_fine_tuning_study_compares_the_three_ways_on_the_sites_other_subject(tmp_path):
    write_phantom_dataset(tmp_path / "data", 3, shape=(36, 40, 28), seed=8, contrasts=("T1", "T2"))
    script = load_script(SCRIPT.with_name("study_fine_tuning.py"))
    tiny = ["--set", "data.size=64", "--set", "optim.epochs=1", "--set", "optim.slices_per_epoch=4", "--set",
            "model.hyperparameters={ngf: 4, num_downs: 6}", "--set", "model.discriminator_hyperparameters={ndf: 4}"]
    argv = ["--data", str(tmp_path / "data"), "--pattern", "{subject}-{contrast}.nii.gz", "--source", "T1",
            "--target", "T2", "--base", "phantom001", "--tune", "phantom002", "--test", "phantom003",
            "--tune-epochs", "1", "--device", "cpu", "--work", str(tmp_path / "work"), "--out", str(tmp_path / "out"),
            *tiny]
    assert script.main(argv) == 0
    tuned = script.load_model(tmp_path / "work" / "fine-tuned" / "model.safetensors").card
    assert tuned.training["fine_tuned_from"] == str(tmp_path / "work" / "no-fine-tuning" / "model.safetensors")
    assert tuned.training["split"]["train"] == ["phantom002"]
    report = (tmp_path / "out" / "results.md").read_text()
    for method in ("no fine-tuning (other sites)", "fine-tuned on the site's subject",
                   "from scratch on the site's subject", "baseline jointhist (site subject)"):
        assert f"| {method} |" in report


@pytest.mark.torch
def test_seed003_ablation_trains_unit_variants_unpaired_and_scores_them_on_the_test_subject(tmp_path):
    write_phantom_dataset(tmp_path / "data", 3, shape=(36, 40, 28), seed=9, contrasts=("T1", "T2"))
    script = load_script(SCRIPT.with_name("reproduce_seed003.py"))
    argv = ["--data", str(tmp_path / "data"), "--pattern", "{subject}-{contrast}.nii.gz", "--source", "T1",
            "--target", "T2", "--test", "phantom003", "--variants", "unit", "all", "cyclegan", "--epochs", "1",
            "--slices", "2", "--ngf", "4", "--n-res", "1", "--size", "48", "--device", "cpu",
            "--work", str(tmp_path / "work"), "--out", str(tmp_path / "out")]
    assert script.main(argv) == 0
    card = script.load_model(tmp_path / "work" / "all" / "model.safetensors").card
    split = card.training["split"]
    assert (split["source"], split["target"], split["test"]) == (["phantom001"], ["phantom002"], ["phantom003"])
    assert card.hyperparameters["self_attention"] == "encoder" and card.architecture == "unit"
    with (tmp_path / "out" / "results.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert {r["method"] for r in rows} >= {"unit", "all", "cyclegan", "baseline jointhist"}
    assert script.load_model(tmp_path / "work" / "cyclegan" / "model.safetensors").card.architecture == "cyclegan"
    assert {r["subject"] for r in rows} == {"phantom003"}
    report = (tmp_path / "out" / "results.md").read_text()
    assert "Scale: 1 epochs x 2 slices of 48 x 48" in report and "T1 from phantom001, T2 from phantom002" in report

    # --bundle: a variant joins the catalog only with a positive margin under both conventions
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    args = script.parse([*argv, "--bundle", "all", "--catalog", str(catalog)])
    args.source, args.target = "T1", "T2"
    loaded = script.load_model(tmp_path / "work" / "all" / "model.safetensors")

    def table(mine: float) -> list[dict]:
        return [{"subject": "s", "method": m, "convention": c, "psnr": p, "ssim_3d": 0.5, "mae": 0.1}
                for c in ("own-scale", "calibrated") for m, p in (("all", mine if c == "own-scale" else 20.0),
                                                                   ("baseline jointhist", 19.0))]
    said = script.bundle_if_better(args, argv, table(18.5), loaded, "Scale: tiny")
    assert said == ("all: not bundled: its mean margins are -0.50 dB own-scale (over baseline jointhist), "
                    "+1.00 dB calibrated (over baseline jointhist)")
    assert not list(catalog.glob("*.safetensors"))
    said = script.bundle_if_better(args, argv, table(21.0), loaded, "Scale: tiny")
    assert said.startswith("all: bundled as real-unit-T1-T2: mean margins +2.00 dB own-scale")
    bundled = script.load_model(catalog / "real-unit-T1-T2.safetensors")
    assert bundled.card.metrics["test subjects calibrated"]["margin_db"] == pytest.approx(1.0)
    assert bundled.card.hyperparameters["spectral_norm"] == ["encoder", "generator"]  # rebuilds from float16
    with pytest.raises(SystemExit, match="--bundle all: not among the variants trained"):
        script.main([*argv[:argv.index("--variants")], "--variants", "unit", *argv[argv.index("--epochs"):],
                     "--bundle", "all"])


@pytest.mark.torch
def test_mri_to_ct_study_trains_cyclegan_unpaired_and_scores_hu_and_bone_on_unseen_pairs(tmp_path):
    import numpy as np
    from medsynth.io import write_volume
    from medsynth.phantom import make_subject, phantom_grid

    templates = tmp_path / "templates"  # stand-ins for avg152T1 / scct (the real ones live outside the project)
    templates.mkdir()
    head = make_subject(phantom_grid((36, 40, 28)), 99, 0, ("T1", "CT"))
    write_volume(head.images["T1"], templates / "avg152T1.nii")
    hu = head.images["CT"].array
    write_volume(head.images["CT"].with_array(hu + 1000 + 9 * np.clip(hu + 100, 0, 200)), templates / "scct.nii")
    script = load_script(SCRIPT.with_name("study_mri_to_ct.py"))
    argv = ["--templates", str(templates), "--phantoms", "2", "--shape", "36", "40", "28", "--spacing", "6.7",
            "--epochs", "1", "--slices", "2", "--ngf", "4", "--size", "48", "--device", "cpu",
            "--work", str(tmp_path / "work"), "--out", str(tmp_path / "out")]
    assert script.main(argv) == 0
    with (tmp_path / "out" / "results.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert {r["method"] for r in rows} == {"cyclegan", "baseline histmatch (paired phantoms)",
                                           "baseline jointhist (paired phantoms)"}
    assert {r["subject"] for r in rows} == {"avg152T1 / scct", "phantom 1", "phantom 2"}
    assert all(0 <= float(r["bone_dice"]) <= 1 and float(r["mae_hu"]) > 0 for r in rows)
    card = script.load_model(tmp_path / "work" / "cyclegan" / "model.safetensors").card
    assert card.architecture == "cyclegan" and card.training["split"]["validation"] == []  # no pairs in training
    with (tmp_path / "out" / "ct-to-t1" / "results.csv").open() as f:
        reverse_rows = list(csv.DictReader(f))  # the second generator, under both conventions
    assert {(r["method"], r["convention"]) for r in reverse_rows} >= {
        ("cyclegan (CT -> T1 generator)", "own-scale"), ("cyclegan (CT -> T1 generator)", "calibrated"),
        ("baseline jointhist", "calibrated")}
    assert "### CT -> T1: CycleGAN's second generator" in (tmp_path / "out" / "results.md").read_text()
    assert {p.name for p in (tmp_path / "out").glob("mosaic-*.png")} >= {"mosaic-avg152t1-scct-cyclegan.png",
                                                                       "mosaic-phantom-1-baseline-jointhist.png"}

    # --bundle: only a generator that beats the best baseline joins the catalog, with the study's figures
    catalog = tmp_path / "catalog"
    catalog.mkdir()
    args = script.parse([*argv, "--bundle", "--catalog", str(catalog)])
    forward = script.load_model(tmp_path / "work" / "cyclegan" / "model.safetensors")
    reverse = script.load_model(tmp_path / "work" / "cyclegan" / "model-reverse.safetensors")
    losing = [{"subject": "p", "method": m, "mae_hu": mae, "psnr": psnr, "ssim_3d": 0.5, "bone_dice": 0.5}
              for m, mae, psnr in (("cyclegan", 300.0, 18.0), ("baseline jointhist (paired phantoms)", 150.0, 23.0))]
    reverse_rows = [{**r, "psnr": float(r["psnr"])} for r in reverse_rows]
    said = script.bundle_winners(args, argv, losing, reverse_rows, forward, reverse)
    assert said[0].startswith("not bundled: the T1 -> CT generator's mean PSNR 18.00 dB and MAE 300.0 HU do not beat")
    assert not (catalog / "catalog.json").exists() or "cyclegan-T1-CT" not in (catalog / "catalog.json").read_text()
    winning = [{**losing[0], "mae_hu": 100.0, "psnr": 25.0}, losing[1]]
    said = script.bundle_winners(args, argv, winning, reverse_rows, forward, reverse)
    assert said[0].startswith("bundled phantom-cyclegan-T1-CT: mean PSNR 25.00 dB against 23.00")
    bundled = script.load_model(catalog / "phantom-cyclegan-T1-CT.safetensors").card
    assert bundled.metrics["test p (raw HU inside the head)"]["mae_hu"] == 100.0
    assert "phantom" in bundled.training["data"] and bundled.training["reproduce"].startswith("scripts/study_mri_to_ct")


@pytest.mark.torch
def test_ensemble_study_scores_members_their_mean_and_a_student_trained_on_the_mean(tmp_path, monkeypatch):
    write_phantom_dataset(tmp_path / "data", 2, shape=(36, 40, 28), seed=5, contrasts=("T1", "T2"))
    monkeypatch.syspath_prepend(str(SCRIPT.parent))  # as `python scripts/study_ensembles.py` runs it
    recipes = load_script(SCRIPT.with_name("study_recipes.py"))
    data = ["--data", str(tmp_path / "data"), "--pattern", "{subject}-{contrast}.nii.gz", "--source", "T1",
            "--target", "T2"]
    tiny = ["--epochs", "1", "--slices", "4", "--batch-size", "2", "--ngf", "4", "--size", "64"]
    for seed in (0, 1):
        assert recipes.main([*data, "--recipes", "+planes", *tiny, "--seed", str(seed), "--device", "cpu",
                             "--work", str(tmp_path / f"seed{seed}"), "--out", str(tmp_path / f"study{seed}")]) == 0
    script = load_script(SCRIPT.with_name("study_ensembles.py"))
    argv = [*data, "--members", str(tmp_path / "seed0"), str(tmp_path / "seed1"), "--distill",
            str(tmp_path / "distill"), "--out", str(tmp_path / "out"), *tiny]
    assert script.main(argv) == 0
    with (tmp_path / "out" / "results.csv").open() as f:
        rows = list(csv.DictReader(f))
    methods = {r["method"] for r in rows}
    assert {"+planes seed 0", "+planes seed 1", "+planes ensemble of 2", "+planes distilled (ngf 4)",
            "baseline jointhist-pct"} <= methods
    student = script.load_model(tmp_path / "distill" / "student-ngf4" / "phantom001" / "model.safetensors").card
    assert student.training["split"]["train"] == ["phantom002"]  # never the held-out subject
    pseudo = tmp_path / "distill" / "data" / "phantom001"
    assert sorted(p.name for p in pseudo.iterdir()) == ["phantom002"]  # the ensemble's targets, training subject
    report = (tmp_path / "out" / "results.md").read_text()
    assert "ensemble" in report and "**Bundling rule**" in report and "Synthesis time" in report
    uncertainty = load_script(SCRIPT.with_name("study_uncertainty.py"))
    assert uncertainty.main([*data, "--work", str(tmp_path / "seed0"), "--members", str(tmp_path / "seed1"),
                             "--out", str(tmp_path / "sd")]) == 0
    found = (tmp_path / "sd" / "results.md").read_text()
    for method in ("error-model", "flip", "intensity", "members"):
        assert f"| phantom001 | {method} | " in found and f"| {method} | " in found
    calibrated = json.loads((tmp_path / "sd" / "calibration.json").read_text())
    assert set(calibrated) == {"error-model", "flip", "intensity", "members"}
    assert len(calibrated["error-model"]["coefficients"]) == 7  # fitted on both subjects, for the card
    lines = found.splitlines()
    header = next(n for n, line in enumerate(lines) if line.startswith("| subject | the error known at 1 mm"))
    for row in lines[header + 2:header + 4]:  # the Spearman a map knowing the error at 1, 2, 3 mm would reach
        assert all(0 < float(v) <= 1 for v in row.strip("| ").split(" | ")[1:])
    assert calibrated["flip"]["scale"] > 0 and calibrated["flip"]["threshold"] > 0
    assert "leave-one-subject-out, 2 subjects" in calibrated["flip"]["measured"]
    assert "| flip | " in found and "share with error above" in found
    missing = [*data, "--members", str(tmp_path / "seed0"), str(tmp_path / "nothing"), "--out", str(tmp_path / "x")]
    with pytest.raises(SystemExit, match="nothing/\\+planes/phantom001/model.safetensors is missing"):
        script.main(missing)


@pytest.mark.torch  # medsynth.loso fits the baselines (torch)
def test_ablation_table_merges_studies_and_reports_worst_margins_and_the_rule(tmp_path, capsys):
    def study(name, methods):
        path = tmp_path / name / "results.csv"
        path.parent.mkdir()
        with path.open("w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["subject", "method", "convention", "psnr", "ssim_3d", "mae", "sharpness"])
            for method, values in methods.items():
                for subject, value in zip(("s1", "s2"), values, strict=True):
                    for convention in ("own-scale", "calibrated"):
                        writer.writerow([subject, method, convention, value, 0.5, 0.1, 0.8])
        return str(path)

    script = load_script(SCRIPT.with_name("ablation_table.py"))
    first = study("a", {"baseline jointhist": (15, 16), "+planes": (17, 17)})
    second = study("b", {"baseline jointhist": (99, 99), "+planes+nyul": (18, 15.5)})  # its baselines are ignored
    assert script.main([first, second, "--out", str(tmp_path / "t.md")]) == 0
    lines = (tmp_path / "t.md").read_text().splitlines()
    assert "| +planes | 17.00 | +1.00 | +0.00 | 17.00 | +1.00 | +0.00 | 0.80 | passes |" in lines
    assert "| +planes+nyul | 16.75 | -0.50 | -0.25 | 16.75 | -0.50 | -0.25 | 0.80 | fails |" in lines
    with pytest.raises(SystemExit, match="no method 'x'"):
        script.main([first, "--reference", "x"])
    with pytest.raises(SystemExit, match="no such results file"):
        script.main([str(tmp_path / "missing.csv")])


@pytest.mark.torch  # the study's scripts import the engines
def test_trust_study_checks_phantom_lesions_without_any_model(tmp_path):
    load_script(SCRIPT.with_name("study_recipes.py"))  # what it imports its fold runs' names from
    from medsynth.io import write_volume
    from medsynth.phantom import make_subject, phantom_grid

    script = load_script(SCRIPT.with_name("study_trust.py"))
    healthy = make_subject(phantom_grid((64, 72, 56), spacing=(2.0, 2.0, 2.0)), seed=9, contrasts=("T1", "T2", "PD"),
                           lesion_probability=0.0, symmetric=True)  # stand-ins for the lesion-free templates
    for contrast, volume in healthy.images.items():
        write_volume(volume, tmp_path / f"avg152{contrast}.nii")
    assert script.main(["--templates", str(tmp_path), "--out", str(tmp_path)]) == 0
    templates = [line.split("|") for line in (tmp_path / "results.md").read_text().splitlines()
                 if line.startswith("| avg152")]
    assert [r[2].strip() for r in templates] == ["T1", "T2", "PD"]
    assert all(float(r[4].strip().rstrip("%")) < 1 for r in templates)  # healthy heads: (almost) nothing flagged
    rows = [[c.strip() for c in line.split("|")] for line in (tmp_path / "results.md").read_text().splitlines()
            if line.startswith("| phantom")]
    assert len(rows) == 18 and {r[2] for r in rows} == {"novelty", "asymmetry", "trust mask"}
    for signal in ("novelty", "asymmetry", "trust mask"):  # each: the one-sided lesions, and almost nothing else
        flagged = [float(r[4].rstrip("%")) for r in rows if r[2] == signal]
        rest = [float(r[5].rstrip("%")) for r in rows if r[2] == signal]
        assert min(flagged) > 80 and max(rest) < 0.5
    with pytest.raises(SystemExit, match="--work is needed with --data"):
        script.main(["--data", str(tmp_path), "--out", str(tmp_path)])


@pytest.mark.torch  # train_bundled.py imports the trainer
def test_bundling_reads_both_protocols_and_refuses_a_failure_in_either(tmp_path):
    script = load_script(SCRIPT.with_name("train_bundled.py"))

    def study(name, values):
        path = tmp_path / f"{name}.csv"
        with path.open("w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["subject", "method", "convention", "psnr", "ssim_3d", "mae", "sharpness"])
            for subject, (base, mine) in values.items():
                for convention in ("own-scale", "calibrated"):
                    writer.writerow([subject, "baseline jointhist", convention, base, 0.5, 0.1, 1.0])
                    writer.writerow([subject, "+planes+nyul", convention, mine - 1, 0.5, 0.1, 0.8])
                    writer.writerow([subject, "+planes+nyul +calibration", convention, mine, 0.5, 0.1, 0.9])
        return path

    subjects = study("subjects", {"a": (15, 17), "b": (16, 17)})
    figures, keep, failures = script.loso_figures(subjects, "real-T1-T2", "+planes+nyul")
    assert keep and failures == []
    assert figures["own-scale"]["worst_subject_margin_db"] == pytest.approx(1.0)
    assert figures["calibrated"]["sharpness"] == pytest.approx(0.9)
    sources = study("sources", {"a": (15, 17), "b": (17.5, 17)})  # one unseen subject behind its baseline
    _, _, failures = script.loso_figures(sources, "real-T1-T2", "+planes+nyul", keep=True)
    assert failures and "b" in failures[0]
    with pytest.raises(SystemExit, match="no rows for recipe \\+planes"):
        script.loso_figures(subjects, "real-T1-T2", "+planes")


@pytest.mark.torch  # train_bundled.py imports the trainer
def test_recalibrating_a_bundled_model_keeps_its_weights_and_updates_its_catalog_entry(tmp_path, tiny):
    import torch
    from medsynth.checkpoint import load_model, save_model
    from medsynth.core.catalog import load_catalog

    script = load_script(SCRIPT.with_name("train_bundled.py"))
    loaded = tiny()
    loaded.card.training = {"reproduce": "scripts/train_bundled.py real-T1-T2 --uncertainty-results old.json"}
    target = save_model(loaded.model, loaded.card, tmp_path / "real.safetensors", half=True)
    entry = {"scale": 1.5, "threshold": 0.3, "measured": "leave-one-source-out, 4 subjects"}
    results = tmp_path / "calibration.json"
    results.write_text(json.dumps({"error-model": {**entry, "coefficients": [0.0] * 7}, "intensity": entry,
                                   "members": entry}))  # the members' disagreement is a study, not a method
    script.recalibrate(target, results)
    after = load_model(target)
    assert [e["method"] for e in after.card.inference["uncertainty_calibration"]] == ["error-model", "intensity"]
    assert after.card.uncertainty_method("auto") == "error-model"
    assert after.card.training["reproduce"].endswith(f"--uncertainty-results {results}")
    before = load_model(save_model(loaded.model, loaded.card, tmp_path / "before.safetensors", half=True))
    for a, b in zip(after.model.state_dict().values(), before.model.state_dict().values(), strict=True):
        assert torch.equal(a, b)  # the same float16 weights
    listed = next(e for e in load_catalog(tmp_path) if e.name == after.card.name)
    assert listed.card.uncertainty_calibration("error-model") is not None
