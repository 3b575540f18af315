"""The 3D case of ``benchmark_inference.py``: Nie et al.'s generator patch-wise on a 128x224x224 volume.

For the seeds' full-width generator (random weights; only time matters) and the bundled 3D model:
GFLOP per 32^3 patch (PyTorch's FlopCounterMode), patches per second at batch 8 in fp32 and bf16
(channels-last, as the engine runs them), the seconds per 128x224x224 volume for stride 8 / 16 / 32
(windows over the whole volume divided by the measured patch rate; the engine skips windows holding no
head, so real volumes take less), the measured whole-volume single pass, and each process's peak memory.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time

import numpy as np
import torch
from medsynth.checkpoint import load_model
from medsynth.core.catalog import resolve_model
from medsynth.core.progress import Reporter
from medsynth.inference.patchwise import count_windows, run_patchwise
from medsynth.models import build_model
from torch.utils.flop_counter import FlopCounterMode

SHAPE = (128, 224, 224)
MODELS = ("seeds", "bundled")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def patch_rate(model, device: torch.device, dtype: torch.dtype, batch: int = 8, reps: int = 3) -> float:
    x = torch.randn(batch, 1, 32, 32, 32, device=device).contiguous(memory_format=torch.channels_last_3d)
    with torch.inference_mode(), torch.autocast(device.type, dtype=dtype, enabled=dtype != torch.float32):
        model(x)
        _sync(device)
        start = time.perf_counter()
        for _ in range(reps):
            model(x)
        _sync(device)
    return batch * reps / (time.perf_counter() - start)


def child(which: str, model_name: str, device: torch.device, bf16: bool) -> None:
    torch.manual_seed(0)
    model = (build_model("nie") if which == "seeds" else load_model(resolve_model(model_name)).model).to(device).eval()
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        model(torch.zeros(1, 1, 32, 32, 32, device=device))
    rates = {"fp32": patch_rate(model, device, torch.float32)}
    if bf16:
        rates["bf16"] = patch_rate(model, device, torch.bfloat16)
    image = np.random.default_rng(0).standard_normal(SHAPE).astype(np.float32)
    _sync(device)
    start = time.perf_counter()
    run_patchwise(model, image, 0.0, None, lambda total: Reporter(total, None, None, "benchmark"), stride="full",
                  device=device)
    _sync(device)
    full = time.perf_counter() - start
    peak = (torch.cuda.max_memory_allocated() if device.type == "cuda"
            else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024) / 2**20
    print(json.dumps({"model": which, "params": sum(p.numel() for p in model.parameters()),
                      "gflop_per_patch": counter.get_total_flops() / 1e9, "patches_per_s": rates,
                      "full_seconds": full, "peak_mib": peak}))


def run(script: str, device_name: str, model_name: str) -> list[str]:
    """Each model in its own process (its own peak memory); returns the report lines."""
    lines = [f"3D: Nie generator patch-wise on a {'x'.join(map(str, SHAPE))} volume; stride-k seconds = "
             "windows / patches per second (fp32), whole-volume pass measured",
             "", "| model | parameters | GFLOP / 32^3 patch | patches/s fp32 | patches/s bf16 | s/volume stride 8 | "
             "stride 16 | stride 32 | whole-volume pass (s) | peak memory (MiB) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    windows = {s: count_windows(SHAPE, (32, 32, 32), (s, s, s)) for s in (8, 16, 32)}
    for which in MODELS:
        cmd = [sys.executable, script, "--child3d", which, "--device", device_name, "--model3d", model_name]
        r = json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1])
        fp32, bf16 = r["patches_per_s"]["fp32"], r["patches_per_s"].get("bf16")
        label = "seeds' width (32..64 filters), random weights" if which == "seeds" else f"bundled {model_name}"
        lines.append(f"| {label} | {r['params']:,} | {r['gflop_per_patch']:.1f} | {fp32:.2f} | "
                     f"{'-' if bf16 is None else f'{bf16:.2f}'} | "
                     + " | ".join(f"{windows[s] / fp32:.0f}" for s in (8, 16, 32))
                     + f" | {r['full_seconds']:.1f} | {r['peak_mib']:.0f} |")
    lines.append("\nwindows per volume: " + ", ".join(f"stride {s}: {n}" for s, n in windows.items()))
    return lines
