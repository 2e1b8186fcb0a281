"""Running a grid: validate everything up front, skip what is finished, run the rest group by group.

Validation happens before any training so a typo or a missing file costs seconds, not a night. The
MLflow store is the source of truth for what is done, which is what makes reruns resume.
"""
from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from benchmark.execute import CellOutcome, dataset_cache_dir, load_splits, run_group
from benchmark.grid import Fit, GridSpec, spec_summary
from benchmark.tracking import Tracker, default_tracking_uri
from datasets import UserError


@dataclass
class GridResult:
    outcomes: list[CellOutcome] = field(default_factory=list)
    skipped: int = 0
    wall_seconds: float = 0.0
    tracking_uri: str = ""
    experiment: str = ""
    grid_id: str = ""

    @property
    def failed(self) -> list[CellOutcome]:
        return [o for o in self.outcomes if o.status == "FAILED"]


def validate(spec: GridSpec) -> None:
    """Resolve every name and load every dataset once (which also fills the image cache)."""
    from classifiers import classifier_entry
    from datasets import DATASETS
    from generators import expand_generators

    if spec.image_size < 8:
        raise UserError(f"image size {spec.image_size} is too small.", "use --image-size 28 or larger (at least 8).")
    expand_generators(spec.generators)
    for name in spec.classifiers:
        entry = classifier_entry(name)
        need = int(entry.meta.get("min_size", 8))
        if spec.image_size < need:
            raise UserError(f"classifier {name!r} needs images of at least {need} px, got --image-size {spec.image_size}.",
                            f"pass --image-size {max(need, 32)} or drop {name} from --classifiers.")
    for name in spec.datasets:
        DATASETS.resolve(name)
        load_splits(name, spec.data_dir, spec.image_size, dataset_cache_dir(spec))


def plan(spec: GridSpec, tracker: Tracker, *, force: bool = False, rerun_failed: bool = False):
    """Pending cells grouped by fit, and how many were skipped as already finished."""
    finished = set() if force else set(tracker.finished("cell"))
    failed = tracker.failed("cell")
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
             gpus_per_cell: float = 0.0, force: bool = False, rerun_failed: bool = False, show_progress: bool = True,
             echo=print) -> GridResult:
    spec.tracking_uri = spec.tracking_uri or default_tracking_uri(spec.out_dir)
    Path(spec.out_dir).mkdir(parents=True, exist_ok=True)
    tracker = Tracker(spec.tracking_uri, spec.experiment, Path(spec.out_dir) / "artifacts")
    validate(spec)
    groups, skipped = plan(spec, tracker, force=force, rerun_failed=rerun_failed)
    parent = tracker.grid_parent(spec.grid_id(), spec_summary(spec))
    total = sum(len(cells) for _, cells in groups)
    echo(f"grid {spec.grid_id()}: {total + skipped} cells, {skipped} already finished, {total} to run "
         f"in {len(groups)} generator fits")
    result = GridResult(skipped=skipped, tracking_uri=spec.tracking_uri, experiment=spec.experiment,
                        grid_id=spec.grid_id())
    t0 = time.perf_counter()
    bar = None
    if show_progress and total:
        from tqdm import tqdm

        bar = tqdm(total=total, unit="cell", dynamic_ncols=True, desc="augbench")

    def progress(outcome: CellOutcome):
        result.outcomes.append(outcome)
        if bar is not None:
            bar.update(1)
            bar.set_postfix_str(f"{outcome.status.lower()}: {outcome.label}"[:60])
        else:
            echo(f"  {outcome.status:8s} {outcome.label} ({outcome.seconds:.1f}s)")

    try:
        from benchmark.executors import execute

        execute(groups, parent, progress, executor=executor, jobs=jobs, ray_address=ray_address,
                gpus_per_cell=gpus_per_cell)
    finally:
        if bar is not None:
            bar.close()
    result.wall_seconds = time.perf_counter() - t0
    return result


def summarise(result: GridResult, metric: str = "test_balanced_accuracy") -> str:
    """Arms x budgets table of ``metric`` over every finished cell of the grid (this and earlier runs)."""
    from reports.tables import main_table

    lines = []
    table = main_table(result.tracking_uri, result.experiment, metric=metric, grid_id=result.grid_id)
    if table:
        lines.append(table)
    done = sum(o.status == "FINISHED" for o in result.outcomes)
    lines.append(f"{done} cells finished now, {result.skipped} were already finished, "
                 f"{len(result.failed)} failed; {result.wall_seconds:.0f} s.")
    for o in result.failed:
        lines.append(f"FAILED {o.label}: {o.error}")
    return "\n".join(lines)
