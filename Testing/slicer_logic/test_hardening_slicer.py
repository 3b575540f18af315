"""Hardening, second round, class 6 (Slicer side): a volume node with a zero (or NaN) spacing is refused with
what to fix, and a damaged history.csv shows the curves of its good lines, with a warning for the rest."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from medsynth.core.errors import InputError
from MedSynthLib.VolumeConversion import addVolumeNode, volumeFromNode
from MedSynthTrainLib.RunFolder import readHistory


@pytest.mark.parametrize("spacing", [(1.0, 0.0, 1.0), (1.0, 1.0, -2.0), (float("nan"), 1.0, 1.0)])
def test_a_volume_node_without_a_voxel_size_is_refused_clearly(scene, spacing):
    from medsynth.volume import Volume

    node = addVolumeNode(scene, Volume(np.ones((4, 5, 6), np.float32), np.eye(4)), "broken")
    node.SetSpacing(*spacing)
    with pytest.raises(InputError, match=r"'broken' has voxel spacing \(.*\); expected a positive size in mm on "
                                         r"each axis \(fix it in the Volumes module"):
        volumeFromNode(node)


def test_a_damaged_history_keeps_its_good_lines(tmp_path, caplog):
    (tmp_path / "history.csv").write_bytes(
        b"epoch,loss_G,val_psnr\n1,2.5,20.1\n2,oops,20.3\n3,\x00\x01\xff,\n4,2.1,21.0\n5,2.0\n")
    with caplog.at_level(logging.WARNING):
        rows = readHistory(tmp_path)
    assert rows == [{"epoch": 1.0, "loss_G": 2.5, "val_psnr": 20.1}, {"epoch": 4.0, "loss_G": 2.1, "val_psnr": 21.0},
                    {"epoch": 5.0, "loss_G": 2.0}]
    assert "skipped line(s) 3, 4, which do not hold numbers" in caplog.text
