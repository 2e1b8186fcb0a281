"""What a grid run carries beside the grid itself, in two typed parts, none of it in any hash.

``RunOptions`` are what the user asked for (flags that change what is logged or how fast, never a
number); ``RunFound`` is what the runner finds when the run starts (the source tags every run gets,
whether a step line can be drawn) and hands to every worker with the spec. Both are frozen: the
runner makes a new spec carrying them (``dataclasses.replace``) instead of editing the one it was
given, so a spec read twice reads the same.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RunOptions:
    #: log each classifier and learned generator as an MLflow LoggedModel (``--save-models``)
    save_models: bool = False
    #: which setting named the data folder, so an error about it blames the one actually made
    data_dir_origin: str = "--data-dir"


@dataclass(frozen=True)
class RunFound:
    #: source tags (commit, user, command) resolved once on the driver and put on every run
    run_tags: dict = field(default_factory=dict)
    #: draw per-step progress lines (only where fits run in the process that owns the bar)
    step_progress: bool = False
