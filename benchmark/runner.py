"""Running a grid: validate everything up front, skip what is finished, run the rest group by group.

Validation happens before any training so a typo or a missing file costs seconds, not a night. The
MLflow store is the source of truth for what is done, which is what makes reruns resume.
"""
from __future__ import annotations

import dataclasses
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from augbench.core.layout import ARTIFACT_TRACEBACK, KIND_CELL
from augbench.benchmark.cell import CellOutcome
from augbench.benchmark.fit import dataset_cache_dir, load_splits
from augbench.benchmark.grid import Fit, GridSpec, spec_summary
from augbench.benchmark.locks import file_lock, lock_dir
from augbench.benchmark.claims import owner_token
from augbench.benchmark.store import default_tracking_uri
from augbench.benchmark.tracking import Tracker, shared_tracker
from augbench.datasets import UserError


@dataclass
class GridResult:
    outcomes: list[CellOutcome] = field(default_factory=list)
    skipped: int = 0
    wall_seconds: float = 0.0
    tracking_uri: str = ""
    experiment: str = ""
    grid_id: str = ""
    hashes: list[str] = field(default_factory=list)  # every cell of the grid, finished earlier or now
    phases: dict = field(default_factory=dict)  # seconds spent opening the store, validating, planning, executing

    @property
    def failed(self) -> list[CellOutcome]:
        return [o for o in self.outcomes if o.status == "FAILED"]


def validate(spec: GridSpec) -> list[str]:
    """Resolve every name, load every dataset once (which also fills the image cache) and check the
    minority classes against it; returns warnings to print. Raises UserError for anything a user can fix,
    so nothing a user typed can fail a cell later."""
    from augbench.datasets.minority import check_minority
    from augbench.classifiers import classifier_entry
    from augbench.datasets import DATASETS
    from augbench.datasets.paths import check_data_dir
    from augbench.generators import expand_generators
    spec.resolved()  # a GridSpec built in Python skips the CLI's resolution: its preset is checked here
    if spec.image_size < 8:
        raise UserError(f"image size {spec.image_size} is too small.", "use --image-size 28 or larger (at least 8).")
    expand_generators(spec.generators)
    for name in spec.classifiers:
        entry = classifier_entry(name)
        need = int(entry.meta.get("min_size", 8))
        if spec.image_size < need:
            raise UserError(f"classifier {name!r} needs images of at least {need} px, got --image-size {spec.image_size}.",
                            f"pass --image-size {max(need, 32)} or drop {name} from --classifiers.")
    if spec.data_dir:
        check_data_dir(spec.data_dir, spec.options.data_dir_origin)
    warnings = []
    for name in spec.datasets:
        DATASETS.resolve(name)
        try:
            splits = load_splits(name, spec.data_dir, spec.image_size, dataset_cache_dir(spec))
        except OSError as exc:
            raise disk_error(exc, "the dataset cache", "$AUGBENCH_CACHE (or --out)") from None
        names = list(splits.info.class_names)
        _, warning = check_minority(name, spec.minority, names, splits.train.counts(len(names)))
        if warning:
            warnings.append(warning)
    return warnings


def disk_error(exc: OSError, what: str, elsewhere: str) -> Exception:
    """The UserError for a full/read-only/forbidden disk, else the OSError itself (a bug: keep its traceback)."""
    from augbench.core.errors import disk_problem

    return disk_problem(exc, what, elsewhere) or exc


def prepare_out_dir(out_dir: str) -> None:
    """Create the output folder and prove it takes a file, before the store or any cache is opened.

    Root ignores permission bits, so the probe writes a file instead of asking os.access; 64 KiB of it,
    so a disk too full for the store fails here, before a run starts.
    """
    path = Path(out_dir)
    if path.exists() and not path.is_dir():
        raise UserError(f"--out {out_dir} is a file, not a folder.",
                        "pass a folder (new or an earlier run's output), e.g. --out augbench-out.")
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write-probe"  # one fixed name: a kill -9 right here leaves one small file, not many
        probe.write_bytes(bytes(1 << 16))  # 64 KiB: an empty file would fit on a full disk
        probe.unlink(missing_ok=True)  # another grid starting on this folder may have removed it
    except (FileExistsError, NotADirectoryError):
        raise UserError(f"--out {out_dir} lies under a file, not a folder.",
                        "pass a path whose parents are folders, e.g. --out augbench-out.") from None
    except OSError as exc:  # the probe's own name would only confuse: name the folder
        raise disk_error(OSError(exc.errno, exc.strerror), f"the output folder {out_dir}", "--out") from None


def plan(spec: GridSpec, tracker: Tracker, *, force: bool = False, rerun_failed: bool = False):
    """Pending cells grouped by fit, and how many were skipped as already finished.

    Default: run every cell without a FINISHED run (never run, failed, or killed). ``rerun_failed``:
    only cells whose latest run FAILED. ``force``: every cell.
    """
    finished = set() if force else set(tracker.finished(KIND_CELL))
    failed = tracker.failed(KIND_CELL) if rerun_failed else set()
    groups: dict[str, tuple[Fit, list]] = {}
    skipped = 0
    for cell in spec.cells():
        h = cell.hash
        if h in finished or (rerun_failed and h not in failed):
            skipped += 1
            continue
        groups.setdefault(cell.fit.hash, (cell.fit, []))[1].append(cell)
    return list(groups.values()), skipped


def run_grid(spec: GridSpec, *, executor: str = "local", jobs: int = 1, ray_address: str | None = None,
             gpus_per_cell: float = 0.0, cpus_per_cell: float | None = None, threads: int | None = None,
             force: bool = False, rerun_failed: bool = False, show_progress: bool = True, echo=print) -> GridResult:
    """Run every pending cell of ``spec``; failures are isolated and returned, never raised.

    Three steps: prepare (the store, every check a user can fail, the split fingerprints the hashes
    need), plan (what is pending, the grid's parent run), execute (the groups on the executor). The
    spec given is not changed: each step hands the next the spec as it will run."""
    if executor == "ray":
        from augbench.benchmark.executors import check_ray_address

        check_ray_address(ray_address or "auto")  # before any work: an unreachable cluster is a typo away
    laps = _Laps()
    spec, tracker, audit = prepare(spec, step_progress=show_progress and executor == "local" and jobs == 1,
                                   laps=laps)
    planned = plan_grid(spec, tracker, audit, force=force, rerun_failed=rerun_failed)
    laps.lap("plan")
    echo(f"grid {planned.grid_id}: {planned.total + planned.skipped} cells, {planned.skipped} already finished, "
         f"{planned.total} to run in {len(planned.groups)} generator fits")
    result = GridResult(skipped=planned.skipped, tracking_uri=spec.tracking_uri, experiment=spec.experiment,
                        grid_id=planned.grid_id, hashes=[c.hash for c in spec.cells()])
    run = dict(executor=executor, jobs=jobs, ray_address=ray_address, gpus_per_cell=gpus_per_cell,
               cpus_per_cell=cpus_per_cell, threads=threads, force=force)
    execute_grid(spec, tracker, planned, result, laps, show_progress=show_progress, echo=echo, **run)
    return result


class _Laps:
    """Seconds per phase of a run (opening the store, validating, planning, executing), logged on the
    grid's parent run: where the harness's own time goes (perf/harness_overhead.py)."""

    def __init__(self):
        self.phases: dict[str, float] = {}
        self._clock = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.phases[f"time_{name}_s"] = now - self._clock
        self._clock = now


def prepare(spec: GridSpec, *, step_progress: bool, laps: _Laps) -> tuple[GridSpec, Tracker, dict]:
    """The spec as it will run, once everything a user can get wrong has been checked: its store
    opened, its splits fingerprinted (every hash names the split it runs on), the source tags every
    run carries resolved here on the driver. Returns it with the store and the split audit's numbers."""
    from augbench.benchmark.lineage import source_tags
    from augbench.benchmark.run_options import RunFound
    from augbench.benchmark.split_check import split_warnings_and_audit, with_fingerprints

    spec = dataclasses.replace(spec, tracking_uri=spec.tracking_uri or default_tracking_uri(spec.out_dir))
    prepare_out_dir(spec.out_dir)
    tracker = shared_tracker(spec.tracking_uri, spec.experiment, str(Path(spec.out_dir) / "artifacts"))
    laps.lap("open_store")
    for warning in validate(spec):
        print(warning, file=sys.stderr, flush=True)  # warnings on stderr, tables and progress on stdout
    spec = with_fingerprints(spec)  # before any hash is read: plan() and resume look cells up by hash
    split_warnings, audit = split_warnings_and_audit(spec)
    for warning in split_warnings:
        print(warning, file=sys.stderr, flush=True)
    found = RunFound(run_tags=spec.found.run_tags or source_tags(), step_progress=step_progress)
    laps.lap("validate")
    return dataclasses.replace(spec, found=found), tracker, audit


@dataclass(frozen=True)
class Planned:
    groups: list  # (fit, pending cells), in grid order
    skipped: int  # cells already finished
    grid_id: str
    parent: str  # the grid's parent run, reused across resumes

    @property
    def total(self) -> int:
        return sum(len(cells) for _, cells in self.groups)


def plan_grid(spec: GridSpec, tracker: Tracker, audit: dict, *, force: bool, rerun_failed: bool) -> Planned:
    """The pending fit groups and the grid's parent run (opened under the grid's lock, so two
    processes starting one grid share one parent), with the split audit kept on it."""
    groups, skipped = plan(spec, tracker, force=force, rerun_failed=rerun_failed)
    grid_id = spec.grid_id()
    with file_lock(lock_dir(spec.tracking_uri, spec.out_dir) / f"grid-{grid_id}.lock"):
        parent = tracker.grid_parent(grid_id, spec_summary(spec), tags=spec.found.run_tags,
                                     name=grid_run_name(spec, grid_id))
    tracker.log_params(parent, {f"audit.{k}": v for k, v in audit.items()})
    return Planned(groups, skipped, grid_id, parent)


def execute_grid(spec: GridSpec, tracker: Tracker, planned: Planned, result: GridResult, laps: _Laps, *,
                 executor: str, jobs: int, show_progress: bool, echo, **run) -> None:
    """Run the planned groups (longest first on a pool), report each outcome as it comes, and close the
    grid's parent run: FINISHED, FAILED, or left RUNNING when interrupted, for the next resume."""
    from augbench.benchmark.executors import execute

    groups, total, parallel = planned.groups, planned.total, executor == "ray" or jobs > 1
    costs = None
    if total and (show_progress or parallel):
        from augbench.benchmark.dryrun import cell_costs

        costs = cell_costs(spec, groups)
    if parallel and costs:
        groups = longest_first(groups, costs)
    bar = None
    if show_progress and total:
        from augbench.benchmark.progress import GridBar

        bar = GridBar(costs, total)

    def progress(outcome: CellOutcome):
        result.outcomes.append(outcome)
        if bar is not None:
            bar.advance(outcome)
        else:
            echo(f"  {outcome.status:8s} {outcome.label} ({outcome.seconds:.1f}s)")
            sys.stdout.flush()

    status, t0 = "FAILED", time.perf_counter()
    try:
        execute(groups, planned.parent, progress, executor=executor, jobs=jobs, driver=owner_token(), **run)
        status = "FAILED" if result.failed else "FINISHED"
    finally:
        if bar is not None:
            bar.close()
        result.wall_seconds = time.perf_counter() - t0
        laps.lap("execute")
        result.phases = laps.phases
        try:  # an interrupted grid stays RUNNING until its next resume finishes it
            tracker.log_metrics(planned.parent, {**laps.phases, **({"grid_jobs": float(jobs)} if executor == "local" else {})})
            if status == "FINISHED" or result.failed:
                tracker.finish(planned.parent, status)
        except Exception:  # noqa: BLE001 - never hide the grid's own outcome behind a bookkeeping error
            pass


def longest_first(groups: list, costs: dict[str, float]) -> list:
    """Fit groups in order of estimated cost, longest first: with a pool of workers, a long fit taken
    last (ddpm at the last budget and seed, in grid order) keeps one worker busy while the others
    idle. Results do not depend on the order (every fit and cell is seeded by its own key)."""
    def cost(group) -> float:
        return sum(costs.get(cell.hash, 0.0) for cell in group[1])

    return sorted(groups, key=cost, reverse=True)  # stable: equal costs keep grid order


def grid_run_name(spec: GridSpec, grid_id: str) -> str:
    """What the MLflow UI lists for the grid: its axes at a glance, the id to tell reruns apart."""
    arms = ",".join(spec.generators) if len(spec.generators) <= 3 else f"{len(spec.generators)} arms"
    return (f"grid {','.join(spec.datasets)} b={','.join(b.label() for b in spec.budgets)} {arms} "
            f"x {','.join(spec.classifiers)} s={','.join(map(str, spec.seeds))} [{grid_id[:8]}]")


def summarise(result: GridResult, metric: str = "test_balanced_accuracy", json_path: str | None = None) -> str:
    """Arms x budgets table of ``metric`` over every finished cell of the grid (this and earlier runs),
    and with ``json_path`` the same answer, with its statistics, as JSON for scripts and CI.

    Cells are picked by their hashes, not by grid id: a cell finished by an earlier or another grid
    is part of this grid's answer even though its run carries that grid's id.
    """
    from augbench.reports.render import to_markdown

    lines = []
    tables, gaps = _main_tables(result, metric)
    table = "\n\n".join(part for part in ("\n\n".join(to_markdown(t) for t in tables), "\n".join(gaps)) if part)
    if table:
        lines.append(table)
    if json_path:
        write_summary_json(json_path, result, metric, tables, gaps)
    done = sum(o.status == "FINISHED" for o in result.outcomes)
    elsewhere = sum(o.status == "SKIPPED" for o in result.outcomes)
    lines.append(f"{done} cells finished now, {result.skipped + elsewhere} were already finished, "
                 f"{len(result.failed)} failed; {result.wall_seconds:.0f} s.")
    for o in result.failed:
        lines.append(f"FAILED {o.label}: {o.error}")
    if result.failed:
        lines.append(f"{len(result.failed)} cells failed (tracebacks: artifact {ARTIFACT_TRACEBACK} of each FAILED run); "
                     "rerun the same command to retry them.")
    return "\n".join(lines)


def _main_tables(result: GridResult, metric: str) -> tuple[list, list[str]]:
    """The main tables of ``metric`` over the grid's cells and the gap-closed lines (both empty when
    the store has none of them)."""
    from augbench.reports.runs import TAG_HASH, load_runs
    from augbench.reports.compare import Comparer
    from augbench.reports.tables import gap_summary_lines, main_tables

    try:
        runs = load_runs(result.tracking_uri, result.experiment)
    except UserError:
        return [], []
    cells = runs.cells
    column = f"tags.{TAG_HASH}"
    if column in cells:
        cells = cells[cells[column].isin(set(result.hashes))]
    if cells.empty:
        return [], []
    keys = dataclasses.replace(runs, cells=cells).group_keys()
    comparer = Comparer.for_cells(cells)
    comparer.prefetch(cells, [metric])   # each run scored once, on every core (reports/compare.py)
    tables = main_tables(cells, metric, keys, comparer=comparer)
    # with the `real` control and learned arms: how much of the none -> real gap the best learned arm closes
    return tables, gap_summary_lines(cells, metric, keys, comparer=comparer)


def write_summary_json(path: str, result: GridResult, metric: str, tables: list, gaps: list[str]) -> None:
    """The closing summary for scripts and CI: every row of every main table (mean, std, n, and
    against ``none`` the estimate, interval, Holm p, verdict, gap closed, worth ≈ N real), the
    tables' notes (what each number is), the gap-closed lines, and the run's counts."""
    import json
    import math

    from augbench.benchmark.fit import _atomic_write_text

    def clean(value):
        if isinstance(value, float) and not math.isfinite(value):
            return None
        if hasattr(value, "item"):  # numpy scalars
            return clean(value.item())
        return value

    doc = {"grid_id": result.grid_id, "tracking_uri": result.tracking_uri, "experiment": result.experiment,
           "metric": metric, "split": "test" if metric.startswith("test_") else "as named",
           "cells": {"finished_now": sum(o.status == "FINISHED" for o in result.outcomes),
                     "already_finished": result.skipped + sum(o.status == "SKIPPED" for o in result.outcomes),
                     "failed": [{"cell": o.label, "error": o.error} for o in result.failed]},
           "wall_seconds": result.wall_seconds,
           "tables": [{"title": t.title, "notes": list(t.notes),
                       "rows": [{k: clean(v) for k, v in row.items()} for row in t.data.to_dict("records")]}
                      for t in tables],
           "gap_closed": list(gaps)}
    target = Path(path).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write_text(target, json.dumps(doc, indent=2, default=str))
