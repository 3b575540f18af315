"""``medsynth synthesize``: one volume in, one synthetic volume out."""

from __future__ import annotations

import argparse
import time

from ..flagging import share_line
from ..pipeline import synthesize_file
from .common import add_inference_options, echo, inference_options, progress_bar


def add_parser(sub) -> None:
    p = sub.add_parser(
        "synthesize",
        help="synthesize a contrast from an input volume with a model",
        description="Synthesize the model's target contrast from INPUT and write it to OUTPUT on exactly the input's "
        "grid (origin, spacing, direction). Formats: .nii, .nii.gz, .nrrd, .nhdr, .mha, .mhd.",
    )
    p.add_argument("input", metavar="INPUT", help="input volume (the model's source contrast)")
    p.add_argument("output", metavar="OUTPUT", help="output volume; the format follows the extension")
    p.add_argument("--model", "-m", required=True,
                   help="bundled model name (see `medsynth models`) or a .safetensors model file")
    p.add_argument("--input", dest="inputs", action="append", default=[], metavar="FILE",
                   help="a many-to-one model's further inputs (e.g. T1+T2->FLAIR: INPUT is the T1, --input the T2), "
                        "repeatable, in the order `medsynth models NAME` lists them; resampled onto INPUT's grid "
                        "(with a warning) where the grids differ")
    p.add_argument("--input-contrast", default=None,
                   help="contrast of INPUT (e.g. T1); refused if the model expects another. Default: guessed from "
                        "an IXI/BraTS-style file name such as sub-T1.nii.gz, else not checked")
    p.add_argument("--uncertainty", metavar="FILE", default=None,
                   help="also write a voxel-wise uncertainty map to FILE, in the target's intensity units (see "
                        "--uncertainty-method): by default the error the model's card expects at each voxel where "
                        "it holds an error model (no extra time), else the standard deviation over a test-time "
                        "ensemble in each plane the model runs in (the input through two monotone intensity "
                        "curves, 3x the time; with flip, OUTPUT is the ensemble's mean, 2x the time)")
    p.add_argument("--trust-mask", metavar="FILE", default=None,
                   help="also write the trust mask to FILE: a 0/1 label volume marking input tissue unlike any in the "
                        "model's training inputs (intensity and neighbourhood), or unlike the same place in the other "
                        "hemisphere the way lesions are (brighter on T2, PD and FLAIR, darker on T1): where the "
                        "output is a guess. A warning gives each one's volume in mL whenever it reaches 1 mL, with "
                        "or without this option")
    p.add_argument("--skull-strip", action="store_true",
                   help="extract the brain first (deepbet; for a raw scan with skull and scalp, since the real-data "
                        "models were trained on skull-stripped brains): the model runs inside the brain only and "
                        "OUTPUT keeps INPUT's full grid, background outside the brain. Made for T1 inputs; other MR "
                        "contrasts get a warning (or use --skull-strip-t1), CT is refused")
    p.add_argument("--skull-strip-t1", metavar="FILE", default=None,
                   help="with --skull-strip: the same subject's T1 (in the same world space), whose brain mask is "
                        "used for INPUT: better than stripping a T2, PD or FLAIR directly")
    p.add_argument("--brain-mask", metavar="FILE", default=None,
                   help="with --skull-strip: also write the brain mask to FILE (0/1 label volume on INPUT's grid)")
    p.add_argument("--overwrite", action="store_true", help="replace OUTPUT (and the FILEs) if they exist")
    add_inference_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    with progress_bar(args, "batch") as progress:
        out, loaded, result = synthesize_file(
            args.input, args.output, args.model, inference_options(args), args.input_contrast,
            args.overwrite, progress, uncertainty_path=args.uncertainty, extra_inputs=tuple(args.inputs),
            trust_mask_path=args.trust_mask, skull_strip=args.skull_strip, brain_mask_path=args.brain_mask,
            skull_strip_t1=args.skull_strip_t1,
        )
    extra = "".join(f" and its {what} {path}" for what, path in (("uncertainty", args.uncertainty),
                                                                 ("trust mask", args.trust_mask),
                                                                 ("brain mask", args.brain_mask)) if path)
    echo(f"{loaded.card.mapping} with '{loaded.card.name}': wrote {out}{extra} ({time.perf_counter() - start:.1f} s)")
    if result.uncertain_share is not None:
        echo(share_line(result.uncertain_share))
    return 0
