"""Named bundles of settings (smoke / quick / paper) so one word picks a coherent scale.

Presets are YAML shipped with the package; a path to a YAML file works too. Whatever a preset says,
CLI flags and grid files override it, and the resolved values end up in every run's params.
"""
from __future__ import annotations

import copy
from pathlib import Path

import yaml

from augbench.core.errors import UserError

PRESET_DIR = Path(__file__).with_name("presets")


def preset_names() -> list[str]:
    return sorted(p.stem for p in PRESET_DIR.glob("*.yaml"))


def load_preset(name_or_path: str) -> dict:
    path = Path(name_or_path)
    if not (path.suffix in (".yaml", ".yml") and path.is_file()):
        path = PRESET_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        raise UserError(f"unknown preset {name_or_path!r}.",
                        f"use one of {', '.join(preset_names())} or a path to a preset YAML file.")
    data = yaml.safe_load(path.read_text()) or {}
    data.setdefault("name", path.stem)
    return data


def default_preset() -> str:
    """GPU found -> paper, else quick: the mission command must finish on a laptop-class CPU."""
    import torch

    return "paper" if torch.cuda.is_available() else "quick"


def merged(base: dict, override: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in (override or {}).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out
