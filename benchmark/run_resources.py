"""Where and how a grid's cells run: the device, the executor, how many jobs and threads.

None of these choices changes a number a cell computes (they are in no hash), so they are resolved
apart from the grid itself: checked before the first cell, and described in the run header so the
user sees what ``--device auto`` and a preset's ``jobs: auto`` chose on this machine.
"""
from __future__ import annotations

import re

from augbench.core.device import resolve_device
from augbench.core.errors import UserError


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


def hardware_note() -> str:
    """What the default preset was chosen by, for the run header."""
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
