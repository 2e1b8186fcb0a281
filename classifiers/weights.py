"""Loading and saving classifier weights from LOCAL files only.

augbench trains every classifier from scratch and never downloads anything; ``weights=`` exists so
a user can resume or reuse their own checkpoint, so a missing or mismatching file is a user error
that names the path rather than a silent fall-back to random weights.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from augbench.core.errors import UserError


def save_weights(model: nn.Module, path: str | Path) -> Path:
    """Write ``model.state_dict()`` (moved to CPU) with torch.save; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, path)
    return path


def require_weights_file(path: str | Path) -> Path:
    """The expanded path, or a UserError naming it when no such file exists.

    Factories call this before building their network, so a mistyped path costs no construction of
    a large model and cannot be mistaken for a slow start.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise UserError(f"classifier weights file {str(path)!r} does not exist.",
                        "pass the path of a local state_dict saved with torch.save, or omit the weights option "
                        "to train from scratch (nothing is downloaded).")
    return path


def load_weights(model: nn.Module, path: str | Path) -> nn.Module:
    """Load a state_dict file (or a checkpoint dict holding one under 'state_dict'/'model') into ``model``."""
    path = require_weights_file(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt file, pickle of non-tensors, ...
        raise UserError(f"cannot read classifier weights {str(path)!r}: {exc}.",
                        "save the weights with torch.save(model.state_dict(), path).") from exc
    if isinstance(state, dict):
        for key in ("state_dict", "model"):
            if isinstance(state.get(key), dict):
                state = state[key]
                break
    if not isinstance(state, dict):
        raise UserError(f"classifier weights {str(path)!r} hold a {type(state).__name__}, not a state_dict.",
                        "save the weights with torch.save(model.state_dict(), path).")
    state = {k.removeprefix("module.").removeprefix("_orig_mod."): v for k, v in state.items()}
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[0]
        raise UserError(f"classifier weights {str(path)!r} do not fit this network ({first}).",
                        "use weights saved from the same classifier, number of classes, channels and "
                        "image-size stem.") from exc
    return model
