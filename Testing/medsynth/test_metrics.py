"""Metrics: known values, agreement with MONAI's SSIM, masks, summaries."""

import math

import numpy as np
import pytest
import torch
from medsynth.metrics import compare, psnr, ssim_map, summarize
from medsynth.volume import Volume
from monai.metrics.regression import compute_ssim_and_cs


def test_psnr_of_known_mse():
    assert psnr(1.0, 10.0) == pytest.approx(20.0)
    assert psnr(0.0, 1.0) == math.inf


@pytest.mark.parametrize("dims", [2, 3])
def test_ssim_map_equals_monai(dims):
    rng = np.random.default_rng(0)
    a = rng.random((20, 24, 28)).astype(np.float32)
    b = (a + 0.2 * rng.random(a.shape)).astype(np.float32)
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    shape = (lambda t: t[:, None]) if dims == 2 else (lambda t: t[None, None])
    ref, _ = compute_ssim_and_cs(shape(ta), shape(tb), dims, [11] * dims, [1.5] * dims, data_range=1.0)
    ref = ref[:, 0].numpy() if dims == 2 else ref[0, 0].numpy()
    np.testing.assert_allclose(ssim_map(a, b, 1.0, dims=dims), ref, atol=2e-5)


def test_compare_identical_and_offset(subject):
    t2 = subject.images["T2"]
    mask = subject.masks["T2"].array > 0
    same = compare(t2, t2, mask)
    assert same["mask"]["psnr"] == math.inf and same["mask"]["ssim_3d"] == pytest.approx(1.0)
    assert same["mask"]["ssim_axial"] == pytest.approx(1.0) and same["whole"]["mae"] == 0
    offset = compare(t2.with_array(t2.array + 10.0), t2, mask)
    data_range = float(t2.array.max() - t2.array.min())
    assert offset["info"]["data_range"] == pytest.approx(data_range)
    for region in ("mask", "whole"):
        assert offset[region]["mae"] == pytest.approx(10.0, rel=1e-5)
        assert offset[region]["psnr"] == pytest.approx(20 * math.log10(data_range / 10.0), rel=1e-5)
    ref_in = t2.array[mask].astype(np.float64)
    assert offset["mask"]["nmse"] == pytest.approx(100.0 * ref_in.size / np.sum(ref_in**2), rel=1e-5)


def test_mask_restricts_the_region():
    ref = np.zeros((16, 16, 16), np.float32)
    ref[4:12, 4:12, 4:12] = 100.0
    syn = ref.copy()
    syn[0, 0, 0] = 50.0  # error outside the mask only
    mask = ref > 0
    out = compare(Volume.from_geometry(syn), Volume.from_geometry(ref), mask)
    assert out["mask"]["mae"] == 0 and out["whole"]["mae"] > 0


def test_summarize_mean_and_sample_std():
    stats = summarize([{"psnr": 30.0}, {"psnr": 32.0}, {"psnr": math.nan}])
    assert stats["psnr"] == (pytest.approx(31.0), pytest.approx(math.sqrt(2.0)))
