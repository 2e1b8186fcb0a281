"""Resolving a grid from built-in defaults < preset < grid file < CLI flags.

The resolved values are printed before anything runs, so the user of the bare mission command
(`benchmark run --generators all --dataset isic --budget 10,50,100`) sees every choice made for them.
Reading the grid file (benchmark/grid_keys.py), merging overrides into the preset
(benchmark/preset_overrides.py), the device and executor (benchmark/run_resources.py) and the
compute sweep (benchmark/compute_sweep.py) each live in a module of their own; this one puts them
together into a GridSpec, its run options and the run header.
"""
from __future__ import annotations

import dataclasses
import os

import yaml

from augbench.benchmark.compute_sweep import with_compute_sweep
from augbench.benchmark.grid import GridSpec
from augbench.benchmark.grid_keys import KEYS, grid_values, listify, read_grid_file
from augbench.benchmark.precision_header import describe_precision
from augbench.benchmark.overrides import parse_overrides
from augbench.benchmark.preset_overrides import dotted_settings, preset_with_overrides
from augbench.benchmark.presets import default_preset, load_preset, merged
from augbench.benchmark.run_resources import choose_device, describe_executor, hardware_note, preset_jobs, validate_run_opts
from augbench.benchmark.settings import check_overrides, resolve_settings
from augbench.datasets.budget import check_val_budget
from augbench.core.errors import UserError
from augbench.core.values import parse_budgets, parse_seeds, parse_targets

DEFAULTS = {"datasets": "isic", "generators": "all", "budgets": "10,50,100", "target": "original",
            "out": "augbench-out", "device": "auto", "executor": "local",
            "gpus_per_cell": 0.0, "val_budget": "budgeted"}  # jobs: --jobs, else the grid file, else the preset


def _load_preset(name: str) -> dict:
    try:
        return load_preset(name)
    except yaml.YAMLError as exc:
        raise UserError(f"preset file {name!r} is not valid YAML ({getattr(exc, 'problem', None) or exc}).",
                        "fix its syntax, or pass --preset smoke | quick | paper.") from None


def spec_from_args(args) -> tuple[GridSpec, dict, dict]:
    """GridSpec + executor options + the resolved settings to print, from `benchmark run`'s flags."""
    file_values = read_grid_file(args.config) if getattr(args, "config", None) else {}
    flags = {dest: getattr(args, dest) for dest in set(KEYS.values()) if getattr(args, dest, None) is not None}
    command_line = parse_overrides(getattr(args, "settings", None))
    if command_line:
        check_overrides(command_line, where="command-line settings")
        flags["overrides"] = merged(file_values.get("overrides") or {}, command_line)
    if "data_dir" in flags:
        origin = "--data-dir"
    elif file_values.get("data_dir"):
        origin = f"data_dir in grid file {args.config}"
    else:
        origin = "$BENCHMARK_DATA_DIR"
    return spec_from_values({**file_values, **flags}, data_dir_origin=origin,
                            force=bool(getattr(args, "force", False)),
                            rerun_failed=bool(getattr(args, "rerun_failed", False)))


def spec_from_grid(grid: dict, source: str, **fixed) -> tuple[GridSpec, dict, dict]:
    """The same resolution from a dict of grid-file keys (a baseline's ``grid:``), every key carried,
    ``overrides`` included; ``fixed`` (argparse dests) wins over the dict."""
    values = {**grid_values(grid, source), **{k: v for k, v in fixed.items() if v is not None}}
    if fixed.get("data_dir"):
        origin = "--data-dir"
    elif values.get("data_dir"):
        origin = f"data_dir in {source}"
    else:
        origin = "$BENCHMARK_DATA_DIR"
    return spec_from_values(values, data_dir_origin=origin)


def spec_from_values(given: dict, *, data_dir_origin: str = "$BENCHMARK_DATA_DIR", force: bool = False,
                     rerun_failed: bool = False) -> tuple[GridSpec, dict, dict]:
    """Built-in defaults < preset < ``given`` (argparse dests, already type-checked), resolved into a
    GridSpec whose preset has passed ``resolve_settings``: nothing in it can fail a cell later."""
    values = {**DEFAULTS, **given}
    targets = parse_targets(values["target"])
    preset_name = values.get("preset") or default_preset()
    if values.get("overrides"):
        check_overrides(values["overrides"])
    preset = preset_with_overrides(_load_preset(preset_name), values.get("overrides") or {})
    settings = resolve_settings(preset)
    device, device_note = choose_device(str(values["device"]), remote=values["executor"] == "ray")
    spec, origins = _grid_spec(values, targets, preset, settings, device)
    # errors about the data dir blame the setting actually made
    spec = dataclasses.replace(spec, options=dataclasses.replace(spec.options, data_dir_origin=data_dir_origin))
    run_opts = _run_opts(values, settings.jobs, device, force=force, rerun_failed=rerun_failed)
    return spec, run_opts, _run_header(spec, values, device_note, origins, run_opts)


def _grid_spec(values: dict, targets: list, preset: dict, settings, device: str) -> tuple[GridSpec, tuple[str, str]]:
    """The GridSpec of the resolved values, and where its tracking URI and experiment came from."""
    from augbench.classifiers import expand_classifiers
    from augbench.generators import expand_generators

    image_size = int(values.get("image_size") or settings.image_size)
    data_dir = values.get("data_dir") or os.environ.get("BENCHMARK_DATA_DIR")
    from augbench.benchmark.store import chosen_experiment, chosen_tracking_uri

    tracking_uri, tracking_origin = chosen_tracking_uri(values.get("tracking_uri"), given_origin="--tracking-uri / grid file")
    experiment, experiment_origin = chosen_experiment(values.get("experiment"), given_origin="--experiment / grid file")
    spec = GridSpec(
        datasets=listify(values["datasets"]),
        generators=with_compute_sweep(expand_generators(listify(values["generators"])), values.get("gen_budget")),
        classifiers=expand_classifiers(listify(values.get("classifiers")) or list(settings.classifiers)),
        budgets=parse_budgets(values["budgets"]),
        seeds=parse_seeds(values.get("seeds") if values.get("seeds") is not None else list(settings.seeds)),
        preset=preset, image_size=image_size, target=targets[0], targets=targets if len(targets) > 1 else None,
        minority=listify(values.get("minority")) or None, device=device, data_dir=data_dir,
        out_dir=str(values["out"]), tracking_uri=tracking_uri, experiment=experiment,
        inception_weights=values.get("inception_weights"), classifier_weights=values.get("classifier_weights"),
        val_budget=check_val_budget(values.get("val_budget") or "budgeted"),
        settings=settings,
    )
    if not spec.datasets:
        raise UserError("no dataset given.", "pass --dataset NAME (see `benchmark data list`).")
    return spec, (tracking_origin, experiment_origin)


def _run_opts(values: dict, preset_jobs_setting, device: str, *, force: bool, rerun_failed: bool) -> dict:
    """The executor options (never hashed), checked: --jobs, else the grid file, else the preset's."""
    jobs = values.get("jobs")
    jobs = int(jobs) if jobs is not None else preset_jobs(preset_jobs_setting, device, values["executor"])
    run_opts = {"executor": values["executor"], "jobs": jobs, "ray_address": values.get("ray_address"),
                "gpus_per_cell": float(values["gpus_per_cell"]), "force": force, "rerun_failed": rerun_failed,
                "cpus_per_cell": float(values["cpus_per_cell"]) if values.get("cpus_per_cell") is not None else None,
                "threads": int(values["threads"]) if values.get("threads") is not None else None}
    validate_run_opts(run_opts)
    return run_opts


def _run_header(spec: GridSpec, values: dict, device_note: str, origins: tuple[str, str], run_opts: dict) -> dict:
    """Every resolved choice, as the lines printed before the run starts."""
    from augbench.benchmark.store import default_tracking_uri

    tracking_origin, experiment_origin = origins
    shown = {"datasets": ",".join(spec.datasets), "generators": ",".join(spec.generators),
             "classifiers": ",".join(spec.classifiers), "budgets": ",".join(b.label() for b in spec.budgets),
             "seeds": ",".join(map(str, spec.seeds)),
             "preset": f"{spec.preset.get('name')}" + ("" if values.get("preset") else
                                                       f" (chosen by hardware: {hardware_note()})"),
             "image_size": spec.image_size, "target": ",".join(t.label() for t in spec.target_axis()),
             "val_budget": spec.val_budget + ("" if spec.val_budget == "full" else
                                              " (val images of each budgeted class scaled like train)"), "minority": ",".join(spec.minority or ["auto"]),
             "device": f"{spec.device} ({device_note})", "precision": "; ".join(describe_precision(spec)), "data_dir": spec.data_dir or "(unset: $BENCHMARK_DATA_DIR)", "out": spec.out_dir,
             "tracking": f"{spec.tracking_uri or default_tracking_uri(spec.out_dir)} ({tracking_origin})",
             "experiment": f"{spec.experiment} ({experiment_origin})",
             "executor": describe_executor(run_opts)}
    if values.get("overrides"):
        shown["overrides"] = " ".join(dotted_settings(values["overrides"]))
    return shown

