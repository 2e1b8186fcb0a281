"""`benchmark run --dry-run`: the expanded grid, what is already done or cached, and a time estimate.

The estimate uses per-arm and per-classifier costs measured by perf/mission_quick.py (the quick
preset's CPU-sized networks at 28 px, 2 torch threads on a 2-core CPU at load ~2, i.e. the budget
50 and 100 columns of that run; see docs/performance.md), scaled by (image size / 28)^2. It is a
planning figure, printed as one: a CPU shared with other work was 3-20x slower in the same run,
a GPU is much faster, and wider networks (the paper preset) cost more per step than the scaling says.
"""
from __future__ import annotations

from pathlib import Path

from augbench.core.layout import CACHE_SAMPLES, KIND_CELL
from augbench.benchmark.fit import fit_dir
from augbench.benchmark.grid import GridSpec
from augbench.benchmark.store import default_tracking_uri
from augbench.benchmark.tracking import Tracker

# training images/s at 28 px, per-epoch validation scoring included (small-cnn measured; the others
# keep their ratio to it from perf/classifier_throughput.py)
CLASSIFIER_IMG_S = {"small-cnn": 2000.0, "resnet18": 120.0, "densenet121": 80.0, "vgg16": 53.0, "resnet50": 42.0,
                    "vgg11": 93.0}
# seconds per optimisation step at 28 px (latent-smote: per autoencoder batch); the bagan/bagan-gp
# figures carry their autoencoder pre-training spread over the GAN steps
GENERATOR_STEP_S = {"dcgan": 0.038, "cwgan-gp": 0.22, "infogan": 0.039, "bagan": 0.6, "bagan-gp": 0.44,
                    "ddpm": 0.22, "latent-smote": 0.063,
                    # measured next to dcgan and cwgan-gp on a loaded CPU (docs/performance.md, "Four more
                    # GAN arms") and scaled by those two arms' ratio to their figures above
                    "wgan": 0.13, "lsgan": 0.04, "sngan": 0.13, "acgan": 0.036,
                    # 0.92x a dcgan step measured beside it, plus quick's 100 encoder steps at 0.08x
                    # spread over its 400 GAN steps (docs/performance.md, "opengan")
                    "opengan": 0.036}
# seconds per 1e12 counted FLOPs of a fit under a FLOPs budget (compute: {budget: flops}), quick-preset
# networks at 28 px, 2 torch threads, float32 except bagan/bagan-gp/latent-smote in bf16: time_fit_s /
# compute_flops of the one-seed mission run on a 2-core AMD EPYC with AVX512-BF16, idle (docs/performance.md,
# "Three seeds of the mission"; the convergence probe included)
GENERATOR_S_PER_TFLOP = {"dcgan": 13.0, "cwgan-gp": 12.0, "infogan": 13.0, "wgan": 13.0, "lsgan": 13.5,
                         "sngan": 14.0, "acgan": 13.0, "opengan": 13.0, "bagan": 3.5, "bagan-gp": 7.0,
                         "ddpm": 17.0, "latent-smote": 7.5}
DEFAULT_S_PER_TFLOP = 13.0
SAMPLE_S = {"ddpm": 22.0, "bagan": 3.0}  # drawing the synthetic images, where it is not negligible
# a pool worker runs with one torch thread: on the 2-core machines measured, one thread ran the quick
# networks at ~0.6x the speed of two (docs/performance.md), so two workers finish ~1.2x sooner, not 2x
ONE_THREAD_SPEED = 0.6
FIDELITY_FIRST_S = 20.0   # the domain extractor, trained once per dataset and output folder
FIDELITY_PER_FIT_S = 2.0  # features and metrics for one learned fit
DEFAULT_STEP_S = 1.0


def _fit_seconds(fit, compute, n_train: int, image_scale: float) -> float:
    """Seconds of one learned fit, bounded the way the preset's compute block bounds it: a seconds
    budget is wall time as given; steps and FLOPs cost more on larger images (``image_scale``)."""
    name = fit.arm_name  # ddpm@g3 costs what ddpm costs; dcgan@4x four times the steps
    scale = name.scale or 1.0
    mode = compute.budget  # the preset's resolved compute block (settings.ComputeSettings)
    if mode == "seconds":
        return float(compute.seconds) * scale
    if mode == "flops":
        per_28px = float(compute.flops) / 1e12 * GENERATOR_S_PER_TFLOP.get(name.base, DEFAULT_S_PER_TFLOP)
    else:
        per_28px = _steps(fit, n_train) * GENERATOR_STEP_S.get(name.base, DEFAULT_STEP_S)
    return per_28px * scale * image_scale


def _steps(fit, n_train: int) -> int:
    """The steps the fit will train for: the arm built with its preset entry over its own defaults
    (what benchmark/fit.py builds), counted the way benchmark/compute.py counts them, so an arm the
    preset leaves out runs its default length here too."""
    from augbench.benchmark.compute import fit_units
    from augbench.generators import create_generator

    return fit_units(create_generator(fit.arm, **fit.generator_config()), n_train)


def _learned(arm: str) -> bool:
    from augbench.generators import GENERATORS, generator_names

    generator_names()  # registers the backends
    return bool(getattr(GENERATORS.entry(arm).factory, "learned", False))


def estimate_parts(spec: GridSpec, n_train: int, n_eval: int, pending_fits, pending_cells,
                   extractor_cached: bool = False) -> dict[str, float]:
    """Seconds for generator fits, fidelity metrics and classifier cells still to run."""
    scale = (spec.image_size / 28.0) ** 2
    settings = spec.resolved()
    parts = {"generator fits": 0.0, "fidelity": 0.0, "classifiers": 0.0}
    learned = 0
    for fit in pending_fits:
        base = fit.arm_name.base
        if base not in GENERATOR_STEP_S and not _learned(fit.arm):
            continue  # baselines: instant
        parts["generator fits"] += (_fit_seconds(fit, settings.compute, n_train, scale)
                                    + SAMPLE_S.get(base, 1.0) * scale)
        learned += 1
    if learned and settings.fidelity.enabled:
        parts["fidelity"] = (learned * FIDELITY_PER_FIT_S + (0 if extractor_cached else FIDELITY_FIRST_S)) * scale
    for cell in pending_cells:
        rate = CLASSIFIER_IMG_S.get(cell.classifier, 50.0) / scale
        parts["classifiers"] += settings.classifier.epochs * n_train / rate + n_eval / (3 * rate)
    return parts


def cell_costs(spec, groups) -> dict[str, float]:
    """Estimated seconds of each pending cell, its fit's cost (and fidelity) charged to the group's
    first cell (the order the executors run them in): the weights of the grid bar's ETA
    (benchmark/progress.py)."""
    n_train, n_eval = split_sizes(spec)
    costs = {}
    for fit, cells in groups:
        fit_parts = estimate_parts(spec, n_train, n_eval, [fit], [], extractor_cached=True)
        fit_cost = fit_parts["generator fits"] + fit_parts["fidelity"]
        for i, cell in enumerate(cells):
            own = estimate_parts(spec, n_train, n_eval, [], [cell])["classifiers"]
            costs[cell.hash] = max(0.5, own + (fit_cost if i == 0 else 0.0))
    return costs


def estimate_seconds(spec: GridSpec, n_train: int, n_eval: int, pending_fits, pending_cells) -> float:
    return sum(estimate_parts(spec, n_train, n_eval, pending_fits, pending_cells).values())


def split_sizes(spec: GridSpec) -> tuple[int, int]:
    """(training images, val + test images) of the grid's largest dataset, after the CI cap."""
    from augbench.benchmark.fit import dataset_cache_dir, load_splits

    sub = spec.resolved().subsample
    n_train = n_eval = 0
    for name in spec.datasets:
        splits = load_splits(name, spec.data_dir, spec.image_size, dataset_cache_dir(spec))
        k = splits.info.n_classes
        train, evaluated = len(splits.train), len(splits.val) + len(splits.test)
        if sub.train_per_class:  # the CI cap: at most this many images of each class
            train = min(train, sub.train_per_class * k)
        if sub.eval_per_class:
            evaluated = min(evaluated, sub.eval_per_class * k * 2)
        n_train, n_eval = max(n_train, train), max(n_eval, evaluated)
    return n_train, n_eval


def pool_minutes(sequential_s: float, jobs: int) -> float:
    """Minutes for ``sequential_s`` of two-thread work spread over ``jobs`` one-thread workers."""
    return sequential_s / (jobs * ONE_THREAD_SPEED) / 60


def describe_plan(spec: GridSpec, jobs: int = 1) -> str:

    uri = spec.tracking_uri or default_tracking_uri(spec.out_dir)
    done: set[str] = set()
    if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).exists():
        pass  # nothing tracked yet; do not create a store for a dry run
    else:
        done = set(Tracker(uri, spec.experiment).finished(KIND_CELL))
    from augbench.benchmark.split_check import with_fingerprints

    spec = with_fingerprints(spec)  # the hashes below name the split they would run on
    lines = ["", f"{'#':>4}  {'status':9s} {'fit cache':9s} cell"]
    pending_cells, pending_fits = [], {}
    for i, cell in enumerate(spec.cells(), 1):
        cached = (fit_dir(cell.fit) / CACHE_SAMPLES).exists()
        status = "finished" if cell.hash in done else "pending"
        if status == "pending":
            pending_cells.append(cell)
            if not cached:
                pending_fits[cell.fit.hash] = cell.fit
        lines.append(f"{i:>4}  {status:9s} {'yes' if cached else 'no':9s} {cell.label()}")
    n_train, n_eval = split_sizes(spec)
    extractors = Path(spec.out_dir) / "cache" / "extractors"
    parts = estimate_parts(spec, n_train, n_eval, pending_fits.values(), pending_cells,
                           extractor_cached=extractors.is_dir() and any(extractors.iterdir()))
    total = sum(parts.values())
    detail = ", ".join(f"{name} ~{seconds / 60:.0f}" for name, seconds in parts.items() if seconds)
    pool = (f"; in {jobs} parallel jobs of one thread each ~{pool_minutes(total, jobs):.0f} min" if jobs > 1 else "")
    lines.append(f"\n{len(spec.cells())} cells ({len(pending_cells)} pending), {len(spec.fits())} generator fits "
                 f"({len(pending_fits)} not cached). Estimated time, run one after the other on a 2-core CPU: "
                 f"~{total / 60:.0f} min" + (f" ({detail} min)" if detail else "") + pool +
                 ". Planning figure from the quick preset's measured costs in float32 (docs/performance.md; "
                 "bf16 where the CPU runs it natively is faster); a GPU is much faster.")
    return "\n".join(lines)
