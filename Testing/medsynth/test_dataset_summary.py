"""A dataset summary for the training module: counts, grids, pairs, and problems named per subject."""

from __future__ import annotations

from medsynth.dataset_summary import summarize_dataset
from medsynth.io import read_volume, write_volume
from medsynth.phantom import write_phantom_dataset
from medsynth.resample import resample_to
from medsynth.volume import Volume


def test_summary_counts_and_problems(tmp_path):
    write_phantom_dataset(tmp_path, 3, shape=(32, 36, 24), seed=2, contrasts=("T1", "T2"))
    clean = summarize_dataset(tmp_path, source="T1", target="T2")
    assert (clean.subjects, clean.contrasts, clean.pairs) == (3, {"T1": 3, "T2": 3}, {"T1->T2": 3, "T2->T1": 3})
    assert list(clean.grids.values()) == [6] and clean.problems == []
    assert "3 subject(s)" in clean.text() and "no problems found" in clean.text()

    t2 = read_volume(tmp_path / "phantom002-T2.nii.gz")  # moved onto another grid: needs `medsynth prepare`
    coarse = Volume.from_geometry(t2.array[::2, ::2, ::2], spacing=tuple(2 * t2.spacing))
    write_volume(resample_to(t2, coarse), tmp_path / "phantom002-T2.nii.gz", overwrite=True)
    (tmp_path / "phantom003-T2.nii.gz").unlink()
    (tmp_path / "phantom004-T1.nii.gz").write_bytes(b"not an image")
    found = summarize_dataset(tmp_path, source="T1", target="T2")
    assert found.subjects == 4 and found.pairs == {"T1->T2": 2, "T2->T1": 2}
    text = "\n".join(found.problems)
    assert "phantom002: T2 and T1 are not on one voxel grid" in text and "medsynth prepare" in text
    assert "phantom004: cannot read phantom004-T1.nii.gz" in text
    assert "2 subject(s) have no T2: phantom003, phantom004" in text


def test_an_unpaired_dataset_is_counted_per_domain(tmp_path):
    mri, ct = tmp_path / "mri", tmp_path / "ct"
    write_phantom_dataset(mri, 2, shape=(16, 18, 12), seed=1, contrasts=("T1", "CT"))
    write_phantom_dataset(ct, 3, shape=(16, 18, 12), seed=2, contrasts=("CT",))
    same = summarize_dataset(mri, source="T1", target="CT", unpaired=True)
    assert "unpaired: 2 source (T1), 2 target (CT) volumes; 2 paired subject(s)" in same.text()
    two = summarize_dataset(mri, source="T1", target="CT", unpaired=True, target_root=ct)
    assert "unpaired: 2 source (T1), 3 target (CT) volumes; 0 paired" in two.text() and not two.problems
    empty = summarize_dataset(ct, source="T1", target="CT", unpaired=True)
    assert "the source domain is empty: no subject holds T1" in empty.problems
