"""Reading a grid file: which keys it may hold, of which type, and the argparse dest each one sets.

A grid file (``--config grids/isic.yaml``, or a ``benchmark check`` baseline's ``grid:``) is checked
here, whole, before anything resolves it: a misspelt key or a value of the wrong type ends as one
line naming the file and the key, not as a traceback halfway through a run.
"""
from __future__ import annotations

from pathlib import Path

import yaml

from augbench.benchmark.settings import check_overrides
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

INT_KEYS = {"image_size", "jobs", "threads"}
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


def listify(value) -> list[str]:
    """A list-valued setting (``generators``, ``minority``, ...) as written in a grid file, a YAML
    list, or on the command line, a comma list: its non-empty items, stripped."""
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if str(v).strip()]
    return [v.strip() for v in str(value).split(",") if v.strip()]
