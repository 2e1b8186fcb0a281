"""Resolving a grid from built-in defaults < preset < grid file < CLI flags.

The resolved values are printed before anything runs, so the user of the bare mission command
(`benchmark run --generators all --dataset isic --budget 10,50,100`) sees every choice made for them.
"""
from __future__ import annotations

import math
import os
import re
from pathlib import Path

import yaml

from augbench.benchmark.grid import GridSpec, budget_label, parse_budgets, parse_seeds
from augbench.benchmark.precision_header import describe_precision
from augbench.benchmark.overrides import parse_overrides
from augbench.benchmark.presets import default_preset, load_preset, merged
from augbench.benchmark.settings import check_overrides, resolve_settings
from augbench.datasets.budget import check_val_budget
from augbench.core.device import resolve_device
from augbench.core.errors import UserError

# grid-file key -> argparse dest (grid files use the flags' long names, with - or _)
KEYS = {"dataset": "datasets", "datasets": "datasets", "generators": "generators", "classifiers": "classifiers",
        "budget": "budgets", "budgets": "budgets", "seeds": "seeds", "preset": "preset", "image_size": "image_size",
        "target": "target", "minority": "minority", "data_dir": "data_dir", "out": "out",
        "tracking_uri": "tracking_uri", "experiment": "experiment", "device": "device", "executor": "executor",
        "jobs": "jobs", "ray_address": "ray_address", "gpus_per_cell": "gpus_per_cell",
        "cpus_per_cell": "cpus_per_cell", "threads": "threads",
        "inception_weights": "inception_weights", "classifier_weights": "classifier_weights",
        "overrides": "overrides", "val_budget": "val_budget", "gen_budget": "gen_budget"}
DEFAULTS = {"datasets": "isic", "generators": "all", "budgets": "10,50,100", "target": "original",
            "out": "augbench-out", "device": "auto", "executor": "local",
            "gpus_per_cell": 0.0, "val_budget": "budgeted"}  # jobs: --jobs, else the grid file, else the preset


INT_KEYS = {"image_size", "jobs", "threads"}
#: preset settings that change how a grid runs, not what it computes: overriding them keeps the name
EXECUTION_ONLY = {"jobs"}
FLOAT_KEYS = {"gpus_per_cell", "cpus_per_cell"}
TEXT_KEYS = {"gen_budget", "preset", "target", "data_dir", "out", "tracking_uri", "experiment", "device", "executor", "ray_address",
             "inception_weights", "classifier_weights", "val_budget"}


def read_grid_file(path: str) -> dict:
    """The grid file's settings by argparse dest; a UserError for bad YAML, unknown keys or wrong types."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"grid file {path!r} not found.", "pass an existing YAML file, e.g. --config grids/isic.yaml.")
    try:
        raw = yaml.safe_load(p.read_text()) or {}
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1}, column {where.column + 1}" if where is not None else ""
        reason = getattr(exc, "problem", None) or type(exc).__name__
        raise UserError(f"grid file {path!r} is not valid YAML{at} ({reason}).",
                        "fix the YAML syntax (keys like `budgets: 10,50` one per line; see grids/).") from None
    except UnicodeDecodeError:
        raise UserError(f"grid file {path!r} is not a text file.", "pass a YAML grid file, e.g. grids/isic.yaml.") from None
    return grid_values(raw, f"grid file {path!r}")


def grid_values(raw, source: str) -> dict:
    """Grid-file keys (a file's, or a ``benchmark check`` baseline's ``grid:``) by argparse dest,
    type-checked; ``source`` names where they came from in every message."""
    if not isinstance(raw, dict):
        raise UserError(f"{source} holds a YAML {type(raw).__name__}, not a mapping of settings.",
                        "write one `key: value` per line, e.g. `dataset: isic` and `budgets: 10,50`.")
    out, variants = {}, {}
    for key, value in raw.items():
        norm = str(key).replace("-", "_")
        if KEYS.get(norm) == "generators" and isinstance(value, list):
            value, variants = _arm_entries(value, source)
        if norm not in KEYS:
            from difflib import get_close_matches

            close = get_close_matches(norm, list(KEYS), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise UserError(f"{source} has an unknown key {key!r}{hint}.",
                            f"use keys among: {', '.join(sorted(set(KEYS)))}.")
        out[KEYS[norm]] = _check_type(source, str(key), KEYS[norm], value)
    if variants:
        overrides = dict(out.get("overrides") or {})
        overrides["generators"] = {**(overrides.get("generators") or {}), **variants}
        out["overrides"] = overrides
    if out.get("overrides"):
        check_overrides(out["overrides"], where=f"{source}: overrides")
    return out


def _arm_entries(entries: list, source: str) -> tuple[list, dict]:
    """A ``generators:`` list whose items may be ``{label: {settings}}``: each such item is an arm
    (``ddpm@g3``, or a plain arm name) plus its settings, so a grid file can hold two ddpm arms
    that differ in one knob under labels of their own."""
    names, settings = [], {}
    for item in entries:
        if isinstance(item, dict):
            if len(item) != 1 or not isinstance(next(iter(item.values())), (dict, type(None))):
                raise UserError(f"{source}: generators entry {item!r} is not `name: {{settings}}`.",
                                "write one arm per item, e.g. `- ddpm@g3: {guidance: 3.0}`.")
            (label, values), = item.items()
            names.append(str(label))
            if values:
                settings[str(label)] = values
        else:
            names.append(str(item))
    return names, settings


def _check_type(source: str, key: str, dest: str, value):
    """Grid-file values of the wrong type end here, not as a traceback halfway through a run."""
    def bad(expected: str):
        raise UserError(f"{source}: {key} is {value!r}, not {expected}.", f"write e.g. {key}: {_example(dest)}.")

    if value is None:
        return None
    if dest in INT_KEYS:
        if isinstance(value, bool) or not isinstance(value, int):
            bad("a whole number")
    elif dest in FLOAT_KEYS:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            bad("a number")
    elif dest in TEXT_KEYS:
        if isinstance(value, (dict, list)):
            bad("a single value")
    elif dest == "overrides":
        if not isinstance(value, dict):
            bad("a mapping of preset settings")
    elif isinstance(value, dict):
        bad("a value or a list")
    return value


def _example(dest: str) -> str:
    return {"image_size": "28", "jobs": "2", "threads": "2", "gpus_per_cell": "0.5", "cpus_per_cell": "4",
            "overrides": "{classifier: {epochs: 5}}", "budgets": "10,50,100", "seeds": "0,1,2",
            "datasets": "isic", "generators": "none,dcgan", "classifiers": "small-cnn",
            "minority": "mel,df"}.get(dest, "VALUE")


def _load_preset(name: str) -> dict:
    try:
        return load_preset(name)
    except yaml.YAMLError as exc:
        raise UserError(f"preset file {name!r} is not valid YAML ({getattr(exc, 'problem', None) or exc}).",
                        "fix its syntax, or pass --preset smoke | quick | paper.") from None


def _listify(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if str(v).strip()]
    return [v.strip() for v in str(value).split(",") if v.strip()]


def choose_device(device: str, *, remote: bool = False) -> tuple[str, str]:
    """(device the runs use, how it was chosen), checked by core/device.py before the first cell.
    With Ray the workers decide: 'auto' stays 'auto' and CUDA need not be visible on the driver."""
    import torch

    device = device.strip().lower()
    if remote:
        if device not in ("auto", "cpu") and not re.fullmatch(r"cuda(:\d+)?", device):
            raise UserError(f"unknown device {device!r}.", "use auto, cpu or cuda[:N].")
        return device, "resolved on each Ray worker" if device == "auto" else "on the Ray workers"
    chosen = resolve_device(device)
    if chosen.type == "cuda":
        how = "mixed precision, channels-last"
        if device == "auto":
            return "cuda", f"auto: CUDA GPU found ({torch.cuda.get_device_name(0)}); {how}"
        return device, how
    return "cpu", ("auto: no CUDA GPU found; " if device == "auto" else "") + "deterministic for a seed"


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
    from augbench.classifiers import expand_classifiers
    from augbench.generators import expand_generators

    values = {**DEFAULTS, **given}
    targets = parse_targets(values["target"])
    preset_name = values.get("preset") or default_preset()
    if values.get("overrides"):
        check_overrides(values["overrides"])
    preset = preset_with_overrides(_load_preset(preset_name), values.get("overrides") or {})
    settings = resolve_settings(preset)
    device, device_note = choose_device(str(values["device"]), remote=values["executor"] == "ray")
    image_size = int(values.get("image_size") or settings.image_size)
    data_dir = values.get("data_dir") or os.environ.get("BENCHMARK_DATA_DIR")
    from augbench.benchmark.store import chosen_experiment, chosen_tracking_uri

    tracking_uri, tracking_origin = chosen_tracking_uri(values.get("tracking_uri"), given_origin="--tracking-uri / grid file")
    experiment, experiment_origin = chosen_experiment(values.get("experiment"), given_origin="--experiment / grid file")
    spec = GridSpec(
        datasets=_listify(values["datasets"]),
        generators=with_compute_sweep(expand_generators(_listify(values["generators"])), values.get("gen_budget")),
        classifiers=expand_classifiers(_listify(values.get("classifiers")) or list(settings.classifiers)),
        budgets=parse_budgets(values["budgets"]),
        seeds=parse_seeds(values.get("seeds") if values.get("seeds") is not None else list(settings.seeds)),
        preset=preset, image_size=image_size, target=targets[0], targets=targets if len(targets) > 1 else None,
        minority=_listify(values.get("minority")) or None, device=device, data_dir=data_dir,
        out_dir=str(values["out"]), tracking_uri=tracking_uri, experiment=experiment,
        inception_weights=values.get("inception_weights"), classifier_weights=values.get("classifier_weights"),
        val_budget=check_val_budget(values.get("val_budget") or "budgeted"),
    )
    if not spec.datasets:
        raise UserError("no dataset given.", "pass --dataset NAME (see `benchmark data list`).")
    spec.extra["data_dir_origin"] = data_dir_origin  # errors about the data dir blame the setting actually made
    negative = [seed for seed in spec.seeds if seed < 0]
    if negative:
        raise UserError(f"seed {negative[0]} is negative.", "use seeds >= 0, e.g. --seeds 0,1,2.")
    validate_target(spec.target)
    jobs = values.get("jobs")
    jobs = int(jobs) if jobs is not None else preset_jobs(settings.jobs, device, values["executor"])
    run_opts = {"executor": values["executor"], "jobs": jobs, "ray_address": values.get("ray_address"),
                "gpus_per_cell": float(values["gpus_per_cell"]), "force": force, "rerun_failed": rerun_failed,
                "cpus_per_cell": float(values["cpus_per_cell"]) if values.get("cpus_per_cell") is not None else None,
                "threads": int(values["threads"]) if values.get("threads") is not None else None}
    validate_run_opts(run_opts)
    from augbench.benchmark.store import default_tracking_uri

    shown = {"datasets": ",".join(spec.datasets), "generators": ",".join(spec.generators),
             "classifiers": ",".join(spec.classifiers), "budgets": ",".join(budget_label(b) for b in spec.budgets),
             "seeds": ",".join(map(str, spec.seeds)),
             "preset": f"{preset.get('name')}" + ("" if values.get("preset") else
                                                  f" (chosen by hardware: {_hardware()})"),
             "image_size": image_size, "target": ",".join(spec.target_axis()),
             "val_budget": spec.val_budget + ("" if spec.val_budget == "full" else
                                              " (val images of each budgeted class scaled like train)"), "minority": ",".join(spec.minority or ["auto"]),
             "device": f"{device} ({device_note})", "precision": "; ".join(describe_precision(spec)), "data_dir": data_dir or "(unset: $BENCHMARK_DATA_DIR)", "out": spec.out_dir,
             "tracking": f"{spec.tracking_uri or default_tracking_uri(spec.out_dir)} ({tracking_origin})",
             "experiment": f"{spec.experiment} ({experiment_origin})",
             "executor": describe_executor(run_opts)}
    if values.get("overrides"):
        shown["overrides"] = " ".join(_dotted(values["overrides"]))
    return spec, run_opts, shown


def _dotted(block: dict, prefix: str = "") -> list[str]:
    """An overrides block as the ``key=value`` words that would set it (for the run header)."""
    out = []
    for key, value in block.items():
        if isinstance(value, dict) and value:
            out += _dotted(value, f"{prefix}{key}.")
        else:
            out.append(f"{prefix}{key}={value}")
    return out


def preset_with_overrides(preset: dict, overrides: dict) -> dict:
    """The preset with a grid file's overrides merged in, under a name of its own.

    A grid that changes the preset is a different configuration: keeping the preset's bare name
    would let a report pair it with runs of the unmodified preset. The name is
    ``<preset>+<overrides name>``, or ``<preset>+custom-<hash>`` when the overrides carry no name.
    """
    from augbench.benchmark.grid import content_hash

    if not overrides:
        return preset
    body = {k: v for k, v in overrides.items() if k != "name"}
    out = merged(preset, body)
    if not {k for k in body if k not in EXECUTION_ONLY}:  # e.g. jobs=2: same configuration, same name
        return out
    body = {k: v for k, v in body.items() if k not in EXECUTION_ONLY}
    label = overrides.get("name") or f"custom-{content_hash(body)[:6]}"
    out["name"] = f"{preset.get('name')}+{label}"
    out["base_preset"] = preset.get("name")
    return out


def preset_jobs(jobs, device: str, executor: str) -> int:
    """The preset's ``jobs`` as a count. ``auto`` is one process per usable core on a local CPU run
    (each then gets one torch thread: two one-thread fits beat one two-thread fit on small networks,
    docs/performance.md), and 1 on a GPU or under Ray, which has its own parallelism."""
    if jobs != "auto":
        return int(jobs)
    if executor != "local" or not str(device).startswith("cpu"):
        return 1
    from augbench.benchmark.executors import usable_cpus

    return usable_cpus()


def _hardware() -> str:
    import torch

    return "CUDA GPU found" if torch.cuda.is_available() else "no CUDA GPU, CPU-sized"


def describe_executor(opts: dict) -> str:
    from augbench.benchmark.executors import threads_per_job

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


def with_compute_sweep(arms: list[str], sweep) -> list[str]:
    """``--gen-budget 1x,4x,16x``: each learned arm also as ``<arm>@4x``, ``<arm>@16x`` (the 1x is
    the arm itself); arms that do not train appear once, as the flat reference lines."""
    if not sweep:
        return arms
    from augbench.generators import GENERATORS

    scales = []
    for item in _listify(sweep):
        text = item.lower().removesuffix("x")
        try:
            value = float(text)
        except ValueError:
            raise UserError(f"--gen-budget {item!r} is not a multiple like 4x.", "write e.g. --gen-budget 1x,4x,16x.") from None
        if not (value > 0 and math.isfinite(value)):
            raise UserError(f"--gen-budget {item!r} must be a positive multiple.", "write e.g. --gen-budget 1x,4x,16x.")
        scales.append(value)
    out = []
    for arm in arms:
        if not getattr(GENERATORS.entry(arm).factory, "learned", False) or "@" in arm:
            out.append(arm)
            continue
        out += [arm if s == 1 else f"{arm}@{s:g}x".replace(".", "_") for s in scales]
    return list(dict.fromkeys(out))


def parse_targets(text) -> list[str]:
    """``'ratio:0.5,1,5'`` -> ``['ratio:0.5', 'ratio:1', 'ratio:5']``; ``'original'`` -> ``['original']``.
    A bare number right after a ratio is another ratio; otherwise it is a count (``--target 500``)."""
    items = text if isinstance(text, (list, tuple)) else str(text).split(",")
    out, ratio = [], False
    for item in (str(i).strip().lower() for i in items):
        if not item:
            continue
        if item.startswith("ratio:"):
            ratio = True
        elif ratio:
            item = f"ratio:{item}"
        if item.startswith("ratio:"):
            from augbench.datasets.budget import parse_ratio

            item = f"ratio:{parse_ratio(item):g}"
        validate_target(item)
        out.append(item)
    if not out:
        raise UserError("no target given.", "pass e.g. --target original or --target ratio:0.5,1,5.")
    return list(dict.fromkeys(out))


def validate_target(target: str) -> None:
    if target in ("original", "balanced") or target.startswith("ratio:"):
        return
    try:
        if int(target) > 0:
            return
    except ValueError:
        pass
    raise UserError(f"target {target!r} is not understood.", "use --target original, balanced or a positive integer.")
