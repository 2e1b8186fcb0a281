"""A preset with a grid's overrides merged in, and those overrides as the words that would set them.

Changing a preset makes a different configuration, so the merged preset gets a name of its own
(a report must not pair it with runs of the unmodified preset), except for settings that change
only how a grid runs (``jobs``), which keep the preset's name.
"""
from __future__ import annotations

from augbench.benchmark.presets import merged

#: preset settings that change how a grid runs, not what it computes: overriding them keeps the name
EXECUTION_ONLY = {"jobs"}


def dotted_settings(block: dict, prefix: str = "") -> list[str]:
    """An overrides block as the ``key=value`` words that would set it (for the run header)."""
    out = []
    for key, value in block.items():
        if isinstance(value, dict) and value:
            out += dotted_settings(value, f"{prefix}{key}.")
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
