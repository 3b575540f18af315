"""Finding subjects and contrasts: IXI names, patterns, list files, and the errors for bad datasets."""

import numpy as np
import pytest
from medsynth.core.errors import ConfigError, InputError
from medsynth.dataset import find_subjects, require_contrasts
from medsynth.io import write_volume
from medsynth.volume import Volume


def touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    write_volume(Volume(np.random.default_rng(0).random((4, 4, 4), dtype=np.float32), np.eye(4)), path)
    return path


def test_ixi_and_brats_names(tmp_path):
    touch(tmp_path / "IXI002-Guys-0828-T1.nii.gz")
    touch(tmp_path / "IXI002-Guys-0828-T2.nii.gz")
    touch(tmp_path / "IXI002-Guys-0828-mask.nii.gz")
    touch(tmp_path / "b" / "BraTS-MET-00110-000-t2w.nii.gz")
    touch(tmp_path / "notes-summary.nii.gz")  # no contrast token: ignored
    subjects = find_subjects(tmp_path)
    assert set(subjects) == {"IXI002-Guys-0828", "BraTS-MET-00110-000"}
    assert set(subjects["IXI002-Guys-0828"]) == {"T1", "T2", "mask"}
    assert set(subjects["BraTS-MET-00110-000"]) == {"T2"}


def test_patterns_and_their_errors(tmp_path):
    touch(tmp_path / "S1" / "S1_t1_bet_normalized.nii.gz")
    touch(tmp_path / "S1" / "S1_t2_bet_normalized.nii.gz")
    subjects = find_subjects(tmp_path, ["{subject}/{subject}_{contrast}_bet_normalized.nii.gz"])
    assert subjects == {"S1": {"T1": tmp_path / "S1" / "S1_t1_bet_normalized.nii.gz",
                               "T2": tmp_path / "S1" / "S1_t2_bet_normalized.nii.gz"}}
    with pytest.raises(ConfigError, match="needs both"):
        find_subjects(tmp_path, ["{subject}.nii.gz"])
    with pytest.raises(InputError, match="no subject volumes found with patterns"):
        find_subjects(tmp_path, ["{subject}-{contrast}.nrrd"])


def test_list_files_long_and_wide(tmp_path):
    a, b = touch(tmp_path / "v" / "a.nii.gz"), touch(tmp_path / "v" / "b.nii.gz")
    (tmp_path / "long.csv").write_text("subject,contrast,path\ns1,t1w,v/a.nii.gz\ns1,T2,v/b.nii.gz\n")
    (tmp_path / "wide.csv").write_text("subject,T1,PD\ns1,v/a.nii.gz,v/b.nii.gz\n")
    assert find_subjects(tmp_path / "long.csv") == {"s1": {"T1": a.resolve(), "T2": b.resolve()}}
    assert find_subjects(tmp_path / "wide.csv") == {"s1": {"T1": a.resolve(), "PD": b.resolve()}}
    (tmp_path / "bad.csv").write_text("subject,contrast,path\ns1,T9,v/a.nii.gz\n")
    with pytest.raises(InputError, match="line 2: unknown contrast 'T9'"):
        find_subjects(tmp_path / "bad.csv")
    (tmp_path / "gone.csv").write_text("subject,T1\ns1,v/missing.nii.gz\n")
    with pytest.raises(InputError, match="v/missing.nii.gz not found"):
        find_subjects(tmp_path / "gone.csv")


def test_duplicate_and_missing_contrasts(tmp_path):
    touch(tmp_path / "s1-T1.nii.gz")
    touch(tmp_path / "s1-t1w.nii")
    with pytest.raises(InputError, match="subject 's1' has two T1 files"):
        find_subjects(tmp_path)
    (tmp_path / "s1-t1w.nii").unlink()
    subjects = find_subjects(tmp_path)
    with pytest.raises(InputError, match="s1 has no T2 .*contrasts present: T1"):
        require_contrasts(subjects, ["T1", "T2"], tmp_path)


def test_a_folder_too_big_to_be_a_dataset_is_refused_not_scanned(tmp_path, monkeypatch):
    """A path typed too short (``/``) would walk the whole disk: the scan gives up after MAX_SCANNED entries."""
    import medsynth.dataset

    for index in range(30):
        (tmp_path / f"notes{index}.txt").write_text("x")
    monkeypatch.setattr(medsynth.dataset, "MAX_SCANNED", 20)
    with pytest.raises(InputError, match="holds more than 20 files and folders; choose the dataset's own folder"):
        find_subjects(tmp_path)
