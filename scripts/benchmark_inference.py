#!/usr/bin/env python
"""Inference speed: the full pGAN generator (ngf 64, 9 blocks) slice-wise on an IXI-sized phantom, and
Nie et al.'s 3D generator patch-wise on a 128x224x224 volume (``--case 3d``, see ``_benchmark_3d.py``).

    .venv/bin/python scripts/benchmark_inference.py [--shape 256 256 150] [--device cpu] [--model phantom-pgan-T2-T1]
    .venv/bin/python scripts/benchmark_inference.py --case 3d [--model3d phantom-nie-PD-T2]

(a) plain loop: batch 1, fp32, every slice, the whole slice;
(b) the package's engine (`synthesize`): batches of 8, only slices holding head, only the head's bounding
    box, bf16 where the device supports it, channels-last;
(b') the same engine on whole slices (head slices only): instance normalization makes a generator's output
    depend on the field of view, so this variant isolates what batching and bf16 change;
(c) the engine with the bundled trained generator (ngf 16, as trained on this CPU).

Each mode runs in its own process (random weights: only the time matters) so its peak memory is its own.
GFLOP are counted by PyTorch's FlopCounterMode on the pixels actually processed; the machine's peak is
a large matrix product in the same precision. The PSNR change of (b) against (a) is measured with trained
weights (a bundled model) against the phantom's real target inside its head mask.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from datetime import date

import _benchmark_3d
import numpy as np
import torch
from medsynth.checkpoint import LoadedModel, load_model
from medsynth.core import intensity
from medsynth.core.catalog import resolve_model
from medsynth.device import resolve_device
from medsynth.inference import InferenceOptions, synthesize
from medsynth.mask import foreground_mask
from medsynth.metrics import compare, psnr
from medsynth.models import build_model
from medsynth.phantom import make_subject, phantom_grid
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

MODES = ("plain", "engine", "whole", "bundled")


def bf16_ok(device: torch.device) -> bool:
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


class PixelCounter(nn.Module):
    """Counts the slice pixels a 2D model is run on (FLOP scale with them for a fully convolutional net)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model, self.pixels, self.size_divisor = model, 0, model.size_divisor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.pixels += x.shape[0] * x.shape[2] * x.shape[3]
        return self.model(x)


def plain_loop(model: nn.Module, loaded: LoadedModel, volume, device: torch.device) -> np.ndarray:
    """(a): normalize as the card says, then every slice alone, whole, fp32."""
    card = loaded.card
    norm = intensity.fit(card.source_normalization, volume.array, foreground_mask(volume.array))
    x = intensity.apply(norm, volume.array)
    axis = volume.slice_axis(card.inference.get("plane", "axial"))
    data = np.moveaxis(x, axis, 0)
    out = np.empty_like(data)
    with torch.inference_mode():
        for k in range(data.shape[0]):
            out[k] = model(torch.from_numpy(np.ascontiguousarray(data[k]))[None, None].to(device))[0, 0].cpu().numpy()
    return intensity.invert(card.target_intensity, np.moveaxis(out, 0, axis))


WHOLE_SLICES = 10**6  # a margin larger than any slice: the head box becomes the whole slice


def engine(model: nn.Module, loaded: LoadedModel, volume, device: torch.device, precision: str,
           whole: bool = False):
    options = InferenceOptions(batch_size=8, precision=precision, device=device.type,
                               margin=WHOLE_SLICES if whole else 8)
    return synthesize(volume, LoadedModel(model, loaded.card), options).array


def child(args) -> None:
    device = resolve_device(args.device)
    subject = make_subject(phantom_grid(args.shape), seed=20261121, contrasts=("T1",))
    torch.manual_seed(0)
    trained = load_model(resolve_model(args.model))
    hyper = trained.card.hyperparameters if args.child == "bundled" else {"ngf": 64, "n_blocks": 9}
    network = trained.model if args.child == "bundled" else build_model("pgan", **hyper).eval()
    model = PixelCounter(network.to(device))
    loaded = LoadedModel(model, trained.card)  # normalization and plane of a real model
    precision = "bf16" if args.child != "plain" and bf16_ok(device) else "fp32"
    image = subject.images["T1"]
    run = (lambda: plain_loop(model, loaded, image, device)) if args.child == "plain" else (
        lambda: engine(model, loaded, image, device, precision, whole=args.child == "whole"))
    run_small = build_model("pgan", **hyper).eval()
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        run_small(torch.zeros(1, 1, 64, 64))
    flop_per_pixel = counter.get_total_flops() / (64 * 64)
    if device.type == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    model.pixels = 0
    run()
    if device.type == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if device.type == "cuda":
        peak_mib = torch.cuda.max_memory_allocated() / 2**20
    print(json.dumps({"mode": args.child, "precision": precision, "ngf": hyper["ngf"], "seconds": seconds,
                      "pixels": model.pixels, "gflop": model.pixels * flop_per_pixel / 1e9, "peak_mib": peak_mib}))


def machine_peak(device: torch.device, dtype: torch.dtype) -> float:
    n = 4096
    a, b = torch.randn(n, n, device=device, dtype=dtype), torch.randn(n, n, device=device, dtype=dtype)
    a @ b
    start, reps = time.perf_counter(), 5
    for _ in range(reps):
        a @ b
    if device.type == "cuda":
        torch.cuda.synchronize()
    return 2 * n**3 * reps / (time.perf_counter() - start) / 1e9


def quality(args) -> dict[str, float]:
    """PSNR of (a) and (b) against the real target, with trained weights."""
    device = resolve_device(args.device)
    loaded = load_model(resolve_model(args.model), device)
    subject = make_subject(phantom_grid(args.shape), seed=20261121, contrasts=(loaded.card.source_contrast,
                                                                                loaded.card.target_contrast))
    source, target = subject.images[loaded.card.source_contrast], subject.images[loaded.card.target_contrast]
    mask = subject.masks[loaded.card.source_contrast].array > 0
    a = plain_loop(loaded.model, loaded, source, device)
    precision = "bf16" if bf16_ok(device) else "fp32"
    outputs = {"a": a, "b": engine(loaded.model, loaded, source, device, precision),
               "b'": engine(loaded.model, loaded, source, device, precision, whole=True)}
    rng = float(target.array.max() - target.array.min())
    out = {}
    for key, value in outputs.items():
        out[f"psnr_{key}"] = compare(target.with_array(value), target, mask, planes=False)["mask"]["psnr"]
        out[f"vs_a_{key}"] = psnr(float(np.mean((a - value)[mask] ** 2)), rng)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shape", type=int, nargs=3, default=(256, 256, 150))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--model", default="phantom-pgan-T2-T1", help="trained model for the PSNR check")
    parser.add_argument("--case", choices=("2d", "3d"), default="2d", help="2d: pGAN slice-wise; 3d: Nie patch-wise")
    parser.add_argument("--model3d", default="phantom-nie-PD-T2", help="trained 3D model timed next to the seeds'")
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--child3d", choices=_benchmark_3d.MODELS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return 0
    device = resolve_device(args.device)
    if args.child3d:
        _benchmark_3d.child(args.child3d, args.model3d, device, bf16_ok(device))
        return 0
    if args.case == "3d":
        name = torch.cuda.get_device_name() if device.type == "cuda" else (platform.processor() or platform.machine())
        print(f"# {date.today()}  {name}, {torch.get_num_threads()} torch threads, torch {torch.__version__}")
        print("\n".join(_benchmark_3d.run(__file__, args.device, args.model3d)))
        return 0
    results = {}
    for mode in MODES:
        cmd = [sys.executable, __file__, "--child", mode, "--device", args.device, "--model", args.model,
               "--shape", *map(str, args.shape)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        results[mode] = json.loads(out.strip().splitlines()[-1])
    peaks = {"fp32": machine_peak(device, torch.float32)}
    if bf16_ok(device):
        peaks["bf16"] = machine_peak(device, torch.bfloat16)
    q = quality(args)
    name = torch.cuda.get_device_name() if device.type == "cuda" else (platform.processor() or platform.machine())
    print(f"# {date.today()}  {name}, {torch.get_num_threads()} torch threads, torch {torch.__version__}")
    print(f"# phantom {'x'.join(map(str, args.shape))}; pGAN ngf 64, 9 blocks (random weights for timing)")
    print(f"# measured matmul peak: {', '.join(f'{k} {v:.0f} GFLOP/s' for k, v in peaks.items())}\n")
    print("| mode | precision | seconds / volume | GFLOP | GFLOP/s | % of peak | peak memory (MiB) |")
    print("|---|---|---|---|---|---|---|")
    labels = {"plain": "(a) plain loop: batch 1, every slice, whole slice",
              "engine": "(b) engine: batch 8, head slices, head box",
              "whole": "(b') engine: batch 8, head slices, whole slice",
              "bundled": f"(c) engine as (b), bundled {args.model} (ngf {results['bundled'].get('ngf', '?')})"}
    for mode, r in results.items():
        rate = r["gflop"] / r["seconds"]
        print(f"| {labels[mode]} | {r['precision']} | {r['seconds']:.1f} | {r['gflop']:.0f} | {rate:.0f} | "
              f"{100 * rate / peaks[r['precision']]:.0f}% | {r['peak_mib']:.0f} |")
    print(f"\nspeed-up (a)/(b): {results['plain']['seconds'] / results['engine']['seconds']:.1f}x")
    print(f"\nPSNR with trained weights ({args.model}) against the phantom's real target, head mask:")
    for key in ("a", "b", "b'"):
        change = f", change {q[f'psnr_{key}'] - q['psnr_a']:+.3f} dB; PSNR of ({key}) against (a) " \
                 f"{q[f'vs_a_{key}']:.1f} dB" if key != "a" else ""
        print(f"  ({key}) {q[f'psnr_{key}']:.3f} dB{change}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
