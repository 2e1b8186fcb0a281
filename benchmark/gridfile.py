"""Resolving a grid from built-in defaults < preset < grid file < CLI flags.

The resolved values are printed before anything runs, so the user of the bare mission command
(`benchmark run --generators all --dataset isic --budget 10,50,100`) sees every choice made for them.
"""
from __future__ import annotations

import os
import re
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
        "cpus_per_cell": "cpus_per_cell", "threads": "threads",
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


def resolve_device(device: str, *, remote: bool = False) -> tuple[str, str]:
    """(device the runs use, how it was chosen). With Ray the workers decide: 'auto' stays 'auto'."""
    import torch

    device = device.strip().lower()
    if device != "auto" and device != "cpu" and not re.fullmatch(r"cuda(:\d+)?", device):
        raise UserError(f"unknown device {device!r}.", "use auto, cpu or cuda[:N].")
    if remote:
        return device, "resolved on each Ray worker" if device == "auto" else "on the Ray workers"
    if device == "auto":
        if torch.cuda.is_available():
            return "cuda", f"auto: CUDA GPU found ({torch.cuda.get_device_name(0)}); mixed precision, channels-last"
        return "cpu", "auto: no CUDA GPU found; float32, deterministic for a seed"
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise UserError(f"device {device!r} requested but no CUDA GPU is visible.", "use --device cpu or auto.")
        index = int(device.partition(":")[2] or 0)
        if index >= torch.cuda.device_count():
            raise UserError(f"device {device!r} requested but only {torch.cuda.device_count()} GPU(s) are visible.",
                            f"use cuda:0 .. cuda:{torch.cuda.device_count() - 1}, or auto.")
        return device, "mixed precision, channels-last"
    return device, "float32, deterministic for a seed"


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
    device, device_note = resolve_device(str(values["device"]), remote=values["executor"] == "ray")
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
                "rerun_failed": bool(getattr(args, "rerun_failed", False)),
                "cpus_per_cell": float(values["cpus_per_cell"]) if values.get("cpus_per_cell") is not None else None,
                "threads": int(values["threads"]) if values.get("threads") is not None else None}
    validate_run_opts(run_opts)
    from benchmark.tracking import default_tracking_uri

    shown = {"datasets": ",".join(spec.datasets), "generators": ",".join(spec.generators),
             "classifiers": ",".join(spec.classifiers), "budgets": ",".join(budget_label(b) for b in spec.budgets),
             "seeds": ",".join(map(str, spec.seeds)),
             "preset": f"{preset.get('name')}" + ("" if values.get("preset") else
                                                  f" (chosen by hardware: {_hardware()})"),
             "image_size": image_size, "target": spec.target, "minority": ",".join(spec.minority or ["auto"]),
             "device": f"{device} ({device_note})", "data_dir": data_dir or "(unset: $BENCHMARK_DATA_DIR)", "out": spec.out_dir,
             "tracking": spec.tracking_uri or default_tracking_uri(spec.out_dir),
             "executor": describe_executor(run_opts)}
    return spec, run_opts, shown


def _hardware() -> str:
    import torch

    return "CUDA GPU found" if torch.cuda.is_available() else "no CUDA GPU, CPU-sized"


def describe_executor(opts: dict) -> str:
    from benchmark.executors import threads_per_job

    if opts["executor"] == "ray":
        return (f"ray at {opts['ray_address'] or 'auto'} (one task per generator fit and its cells; "
                f"{opts['cpus_per_cell'] or 1:g} CPU, {opts['gpus_per_cell']:g} GPU each)")
    jobs = opts["jobs"]
    kind = "sequential" if jobs == 1 else f"process pool of {jobs}"
    return f"local, {kind} (jobs={jobs}, {threads_per_job(jobs, opts['threads'])} torch threads each)"


def validate_run_opts(opts: dict) -> None:
    if opts["executor"] not in ("local", "ray"):
        raise UserError(f"unknown executor {opts['executor']!r}.", "use --executor local (with --jobs N) or ray.")
    if opts["jobs"] < 1:
        raise UserError(f"--jobs {opts['jobs']} must be at least 1.", "pass --jobs 1 (sequential) or more.")
    if opts["executor"] == "ray" and opts["jobs"] != 1:
        raise UserError("--jobs is for the local executor; Ray decides parallelism from the cluster's resources.",
                        "drop --jobs, or set --cpus-per-cell / --gpus-per-cell to control how many run at once.")
    if opts["gpus_per_cell"] < 0 or (opts["cpus_per_cell"] is not None and opts["cpus_per_cell"] <= 0):
        raise UserError("--gpus-per-cell must be >= 0 and --cpus-per-cell > 0.", "e.g. --cpus-per-cell 4 --gpus-per-cell 0.5.")
    if opts["gpus_per_cell"] and opts["executor"] != "ray":
        raise UserError("--gpus-per-cell applies to --executor ray only.",
                        "drop it; locally every job uses --device (e.g. cuda).")
    if opts["threads"] is not None and opts["threads"] < 1:
        raise UserError(f"--threads {opts['threads']} must be at least 1.", "pass e.g. --threads 2.")


def validate_target(target: str) -> None:
    if target in ("original", "balanced"):
        return
    try:
        if int(target) > 0:
            return
    except ValueError:
        pass
    raise UserError(f"target {target!r} is not understood.", "use --target original, balanced or a positive integer.")
