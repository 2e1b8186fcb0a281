"""Where fit groups run: in this process, in a local process pool, or as Ray tasks.

Groups are independent (each opens its own tracker and cache entries are written atomically), so
an executor only has to ship ``(fit, cells, parent)`` somewhere and hand back the outcomes.
"""
from __future__ import annotations

from benchmark.execute import run_group


def execute(groups, parent, progress, *, executor="local", jobs=1, ray_address=None, gpus_per_cell=0.0):
    if executor == "local" and jobs <= 1:
        for fit, cells in groups:
            run_group(fit, cells, parent, progress)
        return
    if executor in ("local", "process"):
        return _process_pool(groups, parent, progress, jobs)
    if executor == "ray":
        return _ray(groups, parent, progress, ray_address, gpus_per_cell)
    from datasets import UserError

    raise UserError(f"unknown executor {executor!r}.", "use --executor local (with --jobs N) or --executor ray.")


def _group_in_worker(fit, cells, parent, threads):
    import torch

    torch.set_num_threads(max(1, threads))
    return run_group(fit, cells, parent)


def _process_pool(groups, parent, progress, jobs):
    import multiprocessing as mp
    import os
    from concurrent.futures import ProcessPoolExecutor, as_completed

    threads = max(1, (os.cpu_count() or 2) // jobs)
    with ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("spawn")) as pool:
        futures = [pool.submit(_group_in_worker, fit, cells, parent, threads) for fit, cells in groups]
        for future in as_completed(futures):
            for outcome in future.result():
                progress(outcome)


def _ray(groups, parent, progress, address, gpus_per_cell):
    import ray

    if not ray.is_initialized():
        ray.init(address=address or "auto", log_to_driver=False, include_dashboard=False)
    cpus = max(1, int(ray.available_resources().get("CPU", 1) // max(1, len(groups)))) if groups else 1

    @ray.remote(num_cpus=1, num_gpus=gpus_per_cell)
    def remote_group(fit, cells, parent):
        return _group_in_worker(fit, cells, parent, cpus)

    pending = [remote_group.remote(fit, cells, parent) for fit, cells in groups]
    while pending:
        done, pending = ray.wait(pending, num_returns=1)
        for outcome in ray.get(done[0]):
            progress(outcome)
