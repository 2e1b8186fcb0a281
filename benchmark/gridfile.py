"""Resolving a grid from built-in defaults < preset < grid file < CLI flags.

The resolved values are printed before anything runs, so the user of the bare mission command
(`benchmark run --generators all --dataset isic --budget 10,50,100`) sees every choice made for them.
"""
from __future__ import annotations

import os
from pathlib import Path

import yaml

from benchmark.grid import GridSpec, budget_label, parse_budgets, parse_seeds
from benchmark.presets import default_preset, load_preset, merged
from datasets.errors import UserError

# grid-file key -> argparse dest (grid files use the flags' long names, with - or _)
KEYS = {"dataset": "datasets", "datasets": "datasets", "generators": "generators", "classifiers": "classifiers",
        "budget": "budgets", "budgets": "budgets", "seeds": "seeds", "preset": "preset", "image_size": "image_size",
        "target": "target", "minority": "minority", "data_dir": "data_dir", "out": "out",
        "tracking_uri": "tracking_uri", "experiment": "experiment", "device": "device", "executor": "executor",
        "jobs": "jobs", "ray_address": "ray_address", "gpus_per_cell": "gpus_per_cell",
        "inception_weights": "inception_weights", "classifier_weights": "classifier_weights",
        "overrides": "overrides"}
DEFAULTS = {"datasets": "isic", "generators": "all", "budgets": "10,50,100", "target": "original",
            "out": "augbench-out", "experiment": "augbench", "device": "auto", "executor": "local", "jobs": 1,
            "gpus_per_cell": 0.0}


def read_grid_file(path: str) -> dict:
    p = Path(path)
    if not p.is_file():
        raise UserError(f"grid file {path!r} not found.", "pass an existing YAML file, e.g. --config grids/isic.yaml.")
    try:
        raw = yaml.safe_load(p.read_text()) or {}
    except yaml.YAMLError as exc:
        raise UserError(f"grid file {path!r} is not valid YAML ({exc}).", "fix the YAML syntax.") from None
    out = {}
    for key, value in raw.items():
        norm = key.replace("-", "_")
        if norm not in KEYS:
            raise UserError(f"grid file {path!r} has an unknown key {key!r}.",
                            f"use keys among: {', '.join(sorted(set(KEYS)))}.")
        out[KEYS[norm]] = value
    return out


def _listify(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if str(v).strip()]
    return [v.strip() for v in str(value).split(",") if v.strip()]


def resolve_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(f"device {device!r} requested but no CUDA GPU is visible.", "use --device cpu or auto.")
    if device != "cpu" and not device.startswith("cuda"):
        raise UserError(f"unknown device {device!r}.", "use auto, cpu or cuda[:N].")
    return device


def spec_from_args(args) -> tuple[GridSpec, dict, dict]:
    """GridSpec + executor options + the resolved settings to print."""
    from classifiers import expand_classifiers
    from generators import expand_generators

    values = dict(DEFAULTS)
    if getattr(args, "config", None):
        values.update(read_grid_file(args.config))
    for dest in set(KEYS.values()):
        flag = getattr(args, dest, None)
        if flag is not None:
            values[dest] = flag
    preset_name = values.get("preset") or default_preset()
    preset = merged(load_preset(preset_name), values.get("overrides") or {})
    device = resolve_device(str(values["device"]))
    image_size = int(values.get("image_size") or preset.get("image_size", 28))
    data_dir = values.get("data_dir") or os.environ.get("BENCHMARK_DATA_DIR")
    spec = GridSpec(
        datasets=_listify(values["datasets"]),
        generators=expand_generators(_listify(values["generators"])),
        classifiers=expand_classifiers(_listify(values.get("classifiers")) or preset.get("classifiers", ["small-cnn"])),
        budgets=parse_budgets(values["budgets"]),
        seeds=parse_seeds(values.get("seeds") if values.get("seeds") is not None else preset.get("seeds", [0])),
        preset=preset, image_size=image_size, target=str(values["target"]),
        minority=_listify(values.get("minority")) or None, device=device, data_dir=data_dir,
        out_dir=str(values["out"]), tracking_uri=values.get("tracking_uri"), experiment=str(values["experiment"]),
        inception_weights=values.get("inception_weights"), classifier_weights=values.get("classifier_weights"),
    )
    if not spec.datasets:
        raise UserError("no dataset given.", "pass --dataset NAME (see `benchmark data list`).")
    validate_target(spec.target)
    run_opts = {"executor": values["executor"], "jobs": int(values["jobs"]), "ray_address": values.get("ray_address"),
                "gpus_per_cell": float(values["gpus_per_cell"]), "force": bool(getattr(args, "force", False)),
                "rerun_failed": bool(getattr(args, "rerun_failed", False))}
    from benchmark.tracking import default_tracking_uri

    shown = {"datasets": ",".join(spec.datasets), "generators": ",".join(spec.generators),
             "classifiers": ",".join(spec.classifiers), "budgets": ",".join(budget_label(b) for b in spec.budgets),
             "seeds": ",".join(map(str, spec.seeds)),
             "preset": f"{preset.get('name')}" + ("" if values.get("preset") else " (chosen by hardware)"),
             "image_size": image_size, "target": spec.target, "minority": ",".join(spec.minority or ["auto"]),
             "device": device, "data_dir": data_dir or "(unset: $BENCHMARK_DATA_DIR)", "out": spec.out_dir,
             "tracking": spec.tracking_uri or default_tracking_uri(spec.out_dir),
             "executor": f"{run_opts['executor']} (jobs={run_opts['jobs']})"}
    return spec, run_opts, shown


def validate_target(target: str) -> None:
    if target in ("original", "balanced"):
        return
    try:
        if int(target) > 0:
            return
    except ValueError:
        pass
    raise UserError(f"target {target!r} is not understood.", "use --target original, balanced or a positive integer.")
