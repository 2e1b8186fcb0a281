"""Progress that tells the truth: a grid bar whose ETA weighs each cell by its expected cost, and a
second line inside the fit or the classifier training under way.

Cells of one grid differ in cost tenfold and more (a ddpm fit against an ``oversample`` cell), so a
bar counting cells extrapolates from whichever cells happened to finish first. Here the bar counts
the dry-run's estimated seconds (benchmark/dryrun.py's cost model) and tqdm's own rate — estimated
seconds done per wall second — rescales the model to this machine as cells finish, so the ETA is
the model's remaining cost divided by how fast this machine has worked through the model so far.
"""
from __future__ import annotations

import contextlib
import sys
import time

BAR_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}]{postfix}"


class GridBar:
    """The grid's bar, in estimated seconds; ``advance`` when a cell finishes (or fails, or is skipped)."""

    def __init__(self, costs: dict[str, float], total_cells: int):
        from tqdm import tqdm

        self.costs, self.total_cells, self.done = costs, total_cells, 0
        self.bar = tqdm(total=sum(costs.values()) or 1.0, desc="augbench", dynamic_ncols=True,
                        bar_format=BAR_FORMAT, position=0)
        self._postfix("")

    def _postfix(self, last: str) -> None:
        self.bar.set_description_str(f"augbench cells {self.done}/{self.total_cells}", refresh=False)
        self.bar.set_postfix_str(last)

    def advance(self, outcome) -> None:
        self.done += 1
        self.bar.update(min(self.costs.get(outcome.hash, 0.0), self.bar.total - self.bar.n))
        self._postfix(f"{outcome.status.lower()}: {outcome.label}"[:60])

    def close(self) -> None:
        self.bar.close()


class StepLine:
    """The second line: the fit's or the training's step, steps/s and last loss, refreshed at most
    a few times a second so it costs nothing next to a training step."""

    def __init__(self, desc: str, unit: str, every: float = 0.5):
        from tqdm import tqdm

        self.bar = tqdm(total=None, desc=desc, unit=unit, position=1, leave=False, dynamic_ncols=True,
                        file=sys.stderr, mininterval=every)
        self.t0, self.last_step = time.perf_counter(), 0

    def update(self, step: int, total: int | None, loss: dict | None = None) -> None:
        if total and self.bar.total != total:
            self.bar.total = total
        self.bar.update(max(0, int(step) - self.last_step))
        self.last_step = int(step)
        shown = {k: f"{v:.3g}" for k, v in (loss or {}).items() if isinstance(v, (int, float))}
        if shown:
            self.bar.set_postfix(dict(list(shown.items())[:2]), refresh=False)

    def close(self) -> None:
        self.bar.close()


def _last_losses(history: list) -> dict:
    if not history:
        return {}
    row = history[-1]
    return {k: v for k, v in row.items() if k not in ("step", "phase", "epoch") and isinstance(v, (int, float))}


@contextlib.contextmanager
def fit_progress(spec, generator, label: str):
    """``progress(step, total)`` for ``generator.fit``, or None when the grid shows no bars."""
    if not spec.found.step_progress:
        yield None
        return
    line = StepLine(f"  fit {label}", "step")
    try:
        yield lambda step, total: line.update(step, total, _last_losses(generator.history))
    finally:
        line.close()


@contextlib.contextmanager
def training_progress(spec, label: str, steps_per_epoch: int):
    """``progress(epoch, epochs, row)`` for ``train_classifier``, counted in optimiser steps."""
    if not spec.found.step_progress:
        yield None
        return
    line = StepLine(f"  train {label}", "step")
    try:
        yield lambda epoch, epochs, row: line.update(
            epoch * steps_per_epoch, epochs * steps_per_epoch,
            {"loss": row.get("train_loss"), "val_auc": row.get("val_auc")})
    finally:
        line.close()
