"""``key=value`` settings on the command line, as Hydra and OmegaConf users type them.

``benchmark run ... classifier.epochs=20 generators.ddpm.guidance=3.0`` becomes the same nested
``overrides`` block a grid file may hold, so both go through one resolver (benchmark/settings.py)
and a misspelt key fails the same way, before the first cell. Values are read as YAML scalars
(``20`` is a number, ``true`` a boolean, ``[0,1]`` a list), as they would be in a grid file.
"""
from __future__ import annotations

import re
from difflib import get_close_matches

import yaml

from augbench.core.errors import UserError

#: how many dotted parts each top-level setting takes: ``generators.<arm>.<setting>`` is three
DEPTH = {"classifier": 2, "fidelity": 2, "subsample": 2, "compute": 2, "generators": 3}
_SCIENTIFIC = re.compile(r"[-+]?\d+(\.\d*)?[eE][-+]?\d+")
EXAMPLES = {1: "image_size=32", 2: "classifier.epochs=20", 3: "generators.ddpm.steps=5"}


def parse_overrides(pairs: list[str] | None) -> dict:
    """``['classifier.epochs=20', ...]`` -> ``{'classifier': {'epochs': 20}, ...}``."""
    from augbench.benchmark.settings import OVERRIDE_KEYS

    out: dict = {}
    for pair in pairs or []:
        key, sep, text = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UserError(f"{pair!r} is not a KEY=VALUE setting.",
                            "write settings as dotted keys, e.g. classifier.epochs=20 generators.ddpm.steps=5 "
                            "(grid axes are flags: --budget, --seeds, ...).")
        parts = key.split(".")
        head = parts[0]
        if head not in OVERRIDE_KEYS:
            close = get_close_matches(head, OVERRIDE_KEYS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise UserError(f"unknown setting {key!r}: {head!r} is not a preset section{hint}.",
                            f"dotted keys start with one of: {', '.join(OVERRIDE_KEYS)}; "
                            "grid axes (budgets, seeds, datasets, ...) are flags.")
        want = DEPTH.get(head, 1)
        if len(parts) != want:
            shape = {1: head, 2: f"{head}.<setting>", 3: f"{head}.<arm>.<setting>"}[want]
            raise UserError(f"setting {key!r} has {len(parts)} dotted part(s); {head} takes {want}.",
                            f"write it as {shape}=VALUE, e.g. {EXAMPLES[want]}.")
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = _value(text)
    return out


def _value(text: str):
    try:
        value = yaml.safe_load(text) if text.strip() else None
    except yaml.YAMLError:
        return text  # e.g. an unquoted path with a colon: keep it as written
    if isinstance(value, str) and _SCIENTIFIC.fullmatch(value):
        return float(value)  # YAML 1.1 reads 1e12 (no dot) as text; on a command line it is a number
    return value
