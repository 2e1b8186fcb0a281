"""Running one fit group: prepare its data, fit the arm once (or load its cached samples), then train
and evaluate every classifier cell on real + synthetic images.

A group is the unit every executor (local, process pool, Ray) ships around. It is self-contained:
it reopens the store itself and claims its fit and each cell under a file lock, so a crash or a
failing cell never touches another group's results, and no cell runs twice. The steps live in
fit.py (data, samples, fit run), cell.py (a classifier run) and claims.py (who runs what).
"""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from augbench.benchmark.cell import CellOutcome, fit_failed, run_cell, skipped
from augbench.benchmark.claims import claimed, fit_lock, owner_token
from augbench.benchmark.fit import fit_node, fit_once, prepare_fit_data
from augbench.benchmark.grid import Cell, Fit, GridSpec
from augbench.benchmark.locks import lock_dir
from augbench.benchmark.store import default_tracking_uri
from augbench.benchmark.tracking import RunContext, Tracker, shared_tracker
from augbench.core.device import runtime_device
from augbench.core.layout import TAG_DRIVER


def on_runtime_device(fit: Fit, cells: list[Cell]) -> tuple[Fit, list[Cell]]:
    """The group with ``device: auto`` resolved where it runs (a Ray worker may hold a GPU the driver lacks)."""
    device = runtime_device(fit.spec.device)
    if device == fit.spec.device:
        return fit, cells
    spec = dataclasses.replace(fit.spec, device=device)  # the device is in no hash: same cells, same cache
    new_fit = Fit(spec, fit.dataset, fit.budget, fit.seed, fit.arm, fit.target_value)
    return new_fit, [Cell(new_fit, c.classifier) for c in cells]


def group_tracker(spec: GridSpec) -> Tracker:
    uri = spec.tracking_uri or default_tracking_uri(spec.out_dir)
    return shared_tracker(uri, spec.experiment, str(Path(spec.out_dir) / "artifacts"))


def run_group(fit: Fit, cells: list[Cell], parent: str, progress=None, *, force: bool = False,
              driver: str | None = None) -> list[CellOutcome]:
    """Fit once, then run each pending classifier cell. Never raises for a cell's own failure.

    Each fit and each cell is claimed under a file lock and checked against the store first, so a
    cell that another grid (or an earlier attempt) finished meanwhile is skipped, not run twice.
    """
    fit, cells = on_runtime_device(fit, cells)
    ctx = RunContext(group_tracker(fit.spec), parent, {**fit.spec.found.run_tags, TAG_DRIVER: driver or owner_token()})
    locks = lock_dir(ctx.tracker.tracking_uri, fit.spec.out_dir)
    outcomes: list[CellOutcome] = []

    def emit(outcome: CellOutcome) -> None:
        outcomes.append(outcome)
        if progress:
            progress(outcome)

    t0 = time.perf_counter()
    timings: dict = {}
    try:
        data = prepare_fit_data(fit)
        timings["data_s"] = time.perf_counter() - t0
        with fit_lock(locks, fit):
            arm = fit_once(data, ctx, timings, force=force)
            cell_ctx = dataclasses.replace(ctx, parent=fit_node(data, arm, ctx))  # grid -> fit -> cells
    except Exception as exc:  # noqa: BLE001 - the fit failed: every cell of it fails with the same reason
        for cell in cells:
            with claimed(ctx.tracker, locks, cell, force) as mine:
                emit(fit_failed(cell, ctx, exc, t0) if mine else skipped(cell))
        return outcomes
    for cell in cells:
        with claimed(ctx.tracker, locks, cell, force) as mine:
            if not mine:
                emit(skipped(cell))
                continue
            outcome = run_cell(cell, data, arm, cell_ctx)
        outcome.timings |= {f"group_{k}": v for k, v in timings.items() if isinstance(v, float)}
        timings = {}  # the fit's cost is attributed to the first cell only
        emit(outcome)
    return outcomes
