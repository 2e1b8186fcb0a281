"""What a refactor must not change, as one JSON: the cell and fit hashes of representative grids and
a digest of every arm's seeded samples after a short seeded fit.

Run it before and after a change that should be behaviour-free and diff the two files:
    python scripts/fingerprint_outputs.py > before.json   # on the old code
    python scripts/fingerprint_outputs.py > after.json    # on the new code
    diff before.json after.json                            # empty: hashes and samples unchanged
Needs BENCHMARK_DATA_DIR (the grids are fingerprinted against the real split files).
"""
from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

#: command lines whose grids span the hash inputs: the mission, fractions and targets, settings on
#: the command line, a grid file with arm variants, a compute sweep, another dataset and classifier
GRIDS = {
    "mission": "run --generators all --dataset isic --budget 10,50,100",
    "fractions-targets": "run --generators none,oversample,dcgan --dataset pneumonia --budget 5%,12.5%,all "
                         "--target ratio:0.5,1 --seeds 0,1",
    "settings": "run --generators ddpm,cwgan-gp --dataset breast --budget 10 --preset smoke "
                "classifier.epochs=3 generators.ddpm.guidance_scale=2.0",
    "gridfile": "run --config grids/few-shot-gans.yaml",
    "sweep": "run --generators dcgan --dataset isic --budget 10 --gen-budget 1x,4x",
    "classifiers": "run --generators none,classic --dataset pneumonia --budget 10 --classifiers small-cnn,resnet18",
}


def grid_hashes(argv: str) -> dict:
    from augbench.benchmark.cli import build_parser
    from augbench.benchmark.gridfile import spec_from_args
    from augbench.benchmark.split_check import with_fingerprints

    args = build_parser().parse_args([*argv.split(), "--out", "/tmp/fingerprint-out", "--device", "cpu"])
    spec = with_fingerprints(spec_from_args(args)[0])
    cells = spec.cells()
    return {"cells": sorted(c.hash for c in cells), "fits": sorted({c.fit.hash for c in cells}),
            "labels": sorted(c.label() for c in cells)[:5], "n": len(cells)}


def sample_digests() -> dict:
    import torch

    from augbench.generators import create_generator, generator_names
    from tests.generators.gan_checks import random_images, tiny

    torch.set_num_threads(1)
    images, labels = random_images(28, 1, n=24)  # 28 px: the smallest size every arm takes
    out = {}
    for name in generator_names():
        short = {"steps": 3, "gan_steps": 3, "ae_epochs": 1, "gan_epochs": 1, "encoder_steps": 1,
                 "ddim_steps": 5, **tiny(name)}
        known = create_generator(name).config
        gen = create_generator(name, **{k: v for k, v in short.items() if k in known})
        t0 = time.perf_counter()
        try:
            gen.fit(images, labels, 3, seed=0, device="cpu")
            made, made_labels = gen.resample({0: 5, 2: 3}, seed=4)
            out[name] = hashlib.sha256(np.ascontiguousarray(made).tobytes() + made_labels.tobytes()).hexdigest()[:16]
        except Exception as exc:  # noqa: BLE001 - recorded, so a change in how it fails shows too
            out[name] = f"error: {type(exc).__name__}: {str(exc)[:120]}"
        print(f"{name}: {time.perf_counter() - t0:.1f}s", file=sys.stderr, flush=True)
    return out


def main() -> None:
    result = {"grids": {name: grid_hashes(argv) for name, argv in GRIDS.items()}, "samples": sample_digests()}
    print(json.dumps(result, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
