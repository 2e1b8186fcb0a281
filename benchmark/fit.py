"""One generator fit: the data it is fitted on, its samples (made once, then cached), and its run.

:class:`FitData` is the hand-off to the classifier cells: every cell of a fit group trains and is
scored on exactly what the fit saw, after the CI cap and both budgets. :class:`FittedArm` is what
the fit produced for them: the generator (its loss weighting and logit offsets shape the classifier's
training) and the synthetic images.
"""
from __future__ import annotations

import functools
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from augbench.benchmark.claims import clear_stale
from augbench.benchmark.grid import Fit, GridSpec
from augbench.benchmark.tracking import RunContext
from augbench.core.layout import (ARTIFACT_MODEL_DIR, CACHE_RECORD, CACHE_SAMPLES, CACHE_WEIGHTS, KIND_FIT,
                                  KIND_FIT_LINK, PARAM_ARM, PARAM_BUDGET, PARAM_DATASET, PARAM_IMAGE_SIZE, PARAM_MINORITY,
                                  PARAM_PROBE_VERDICT, PARAM_SEED, PARAM_TARGET, PREFIX_EFFECTIVE, PREFIX_GEN, TAG_FIT,
                                  TAG_FIT_RUN, TAG_GRID, TAG_PARENT, metric_key)
from augbench.datasets import Split, Splits


# --- data -------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=4)
def load_splits(dataset: str, data_dir: str | None, image_size: int, cache_dir: str) -> Splits:
    from augbench.datasets import load_dataset

    return load_dataset(dataset, data_dir=data_dir, image_size=image_size, cache_dir=cache_dir)


def cap_per_class(split: Split, per_class: int | None, seed: int = 0) -> Split:
    """Tiny fixed splits for CI: at most ``per_class`` images of each class, same for every seed."""
    if not per_class:
        return split
    rng = np.random.default_rng(seed)
    keep = []
    for c in np.unique(split.labels):
        idx = np.flatnonzero(split.labels == c)
        keep.append(np.sort(rng.permutation(idx)[:per_class]))
    return split.subset(np.sort(np.concatenate(keep)))


def dataset_cache_dir(spec: GridSpec) -> str:
    """$AUGBENCH_CACHE/datasets when set (shared by every output folder), else <out>/cache/datasets."""
    root = os.environ.get("AUGBENCH_CACHE")
    return str(Path(root) / "datasets") if root else str(Path(spec.out_dir) / "cache" / "datasets")


@dataclass
class FitData:
    """What one fit group trains and evaluates on, after the CI cap and both budgets."""

    fit: Fit
    info: object  # DatasetInfo
    train: Split  # the training split before the budget (capped in the smoke preset)
    val: Split  # the validation split model selection may use (budgeted unless --val-budget full)
    test: Split
    minority: list[int]
    budgeted: object  # datasets.budget.BudgetResult: the budgeted training split and its counts
    targets: dict[int, int]  # images per minority class after refilling
    val_budget: object  # datasets.budget.ValBudget: val counts per budgeted class before/after

    @property
    def reference_size(self) -> int:
        """Training images of the refilled split: the one size every arm's step count is set from."""
        missing = sum(max(0, self.targets[c] - self.budgeted.effective[c]) for c in self.minority)
        return len(self.budgeted.split) + missing

    def steps_per_epoch(self, batch_size: int) -> int:
        return max(1, -(-self.reference_size // int(batch_size)))

    def minority_names(self) -> str:
        """The ``minority`` param of the fit's and the cells' runs."""
        return ",".join(self.info.class_names[c] for c in self.minority)


def prepare_fit_data(fit: Fit) -> FitData:
    """Splits after subsampling, the budgeted train and val splits, minority classes and target counts."""
    from augbench.datasets.budget import apply_budget, apply_val_budget, target_counts
    from augbench.datasets.minority import resolve_minority

    spec = fit.spec
    splits = load_splits(fit.dataset, spec.data_dir, spec.image_size, dataset_cache_dir(spec))
    sub = spec.resolved().subsample
    train = cap_per_class(splits.train, sub.train_per_class)
    val = cap_per_class(splits.val, sub.eval_per_class)
    test = cap_per_class(splits.test, sub.eval_per_class)
    names = list(splits.info.class_names)
    n_classes = len(names)
    counts = train.counts(n_classes)
    # minority is a property of the dataset, decided on the full training split: the CI cap makes
    # classes equal in size, which must not turn "every class smaller than the largest" into none
    minority = resolve_minority(spec.minority, names, splits.train.counts(n_classes))
    budgeted = apply_budget(train, n_classes, fit.budget, minority, fit.seed)
    targets = target_counts(budgeted.original, budgeted.effective, fit.target, max(counts))
    val_budget = apply_val_budget(val, n_classes, budgeted, fit.seed, spec.val_budget)
    return FitData(fit, splits.info, train, val_budget.split, test, minority, budgeted, targets, val_budget)


# --- the sample cache ---------------------------------------------------------------------------------
@dataclass
class FittedArm:
    """A fitted (or cache-loaded) arm: its generator, its synthetic images, the fit record, and the
    fit's FINISHED run once one exists (cells link to it)."""

    generator: object
    synthetic: Split
    record: dict
    run_id: str | None = None


def _atomic_write_npz(path: Path, **arrays) -> None:
    tmp = path.with_name(path.name + f".tmp{os.getpid()}.npz")
    np.savez_compressed(tmp, **arrays)
    os.replace(tmp, path)


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


def fit_dir(fit: Fit) -> Path:
    return Path(fit.spec.out_dir) / "cache" / "fits" / fit.hash


def generate(data: FitData, timings: dict, refit: bool = False) -> FittedArm:
    """Synthetic images for the fit, from the content-addressed cache when present (unless ``refit``).

    The cache key is the fit's resolved config, not the code: after changing an arm's code, bump
    grid.CACHE_VERSION or rerun with --force (which refits) so stale samples are not reused.
    """
    from augbench.core.seeding import seeded_global_rng
    from augbench.generators import create_generator

    fit, budgeted, targets = data.fit, data.budgeted, data.targets
    folder = fit_dir(fit)
    settings = fit.generator_config()
    if (folder / CACHE_SAMPLES).exists() and not refit:
        timings["cache_hit"] = 1.0
        return _cached_arm(fit, folder, settings)
    folder.mkdir(parents=True, exist_ok=True)
    real = budgeted.split
    t0 = time.perf_counter()
    generator = create_generator(fit.arm, **settings)
    solved, compute = _length_for_budget(fit, generator, settings, real, data.info.n_classes)
    timings["compute_plan_s"] = time.perf_counter() - t0  # measuring the arm's cost: once per arm and budget
    if solved is not settings:  # the budget bought another length: the arm as it will train
        generator = create_generator(fit.arm, **solved)
    if getattr(generator, "uses_reserve", False):
        generator.set_reserve(_reserve(data))
    t0 = time.perf_counter()
    # arms seed themselves; the fork keeps whatever they leave unseeded from depending on earlier fits
    from augbench.benchmark.progress import fit_progress

    train_count, sample_count = _counter(generator), _counter(generator)
    with fit_progress(fit.spec, generator, fit.label()) as progress:
        probe = _probe(data, generator, progress)
        with seeded_global_rng(fit.seed, fit.spec.device), train_count:
            generator.fit(real.images, real.labels, data.info.n_classes, seed=fit.seed, device=fit.spec.device,
                          progress=_uncounted(probe or progress, train_count))
    timings["fit_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    with sample_count:
        images, labels = generator.resample({c: targets[c] - budgeted.effective[c] for c in data.minority},
                                            seed=fit.seed)
    timings["sample_s"] = time.perf_counter() - t0
    if compute:
        from augbench.benchmark.compute import counted_record

        compute = {**compute, **counted_record(compute, train_count.total, sample_count.total)}
    record = _fit_record(data, generator, timings, compute, probe)
    _write_fit(folder, generator, record, images, labels)
    return FittedArm(generator, Split(images, labels), record)


def _cached_arm(fit: Fit, folder: Path, settings: dict) -> FittedArm:
    """The arm as an earlier fit left it: its record and samples from the cache folder, and a
    generator object with the settings the fit ran with (the length a compute budget bought, not
    the preset's), for the settings and offsets cells read from it."""
    from augbench.generators import create_generator

    record = json.loads((folder / CACHE_RECORD).read_text())
    solved = record.get("compute") or {}
    if solved.get("compute_knob"):
        settings = {**settings, solved["compute_knob"]: int(solved["compute_units"])}
    cached = np.load(folder / CACHE_SAMPLES)
    return FittedArm(create_generator(fit.arm, **settings), Split(cached["images"], cached["labels"]), record)


def _fit_record(data: FitData, generator, timings: dict, compute: dict, probe) -> dict:
    """What the fit's cache folder keeps beside the samples (fit.json): settings, loss history,
    effective budget and targets, timings, the compute counted, the probe's verdict."""
    record = {"arm": data.fit.arm, "config": generator.describe(), "history": generator.history[-2000:],
              "effective": {str(k): v for k, v in data.budgeted.effective.items()},
              "targets": {str(k): v for k, v in data.targets.items()}, "timings": dict(timings), "compute": compute}
    if getattr(generator, "shortfall", None):
        record["shortfall"] = {str(k): v for k, v in generator.shortfall.items()}
    if probe is not None:
        label, evidence = probe.verdict()
        record["probe"] = {"history": probe.history(), "verdict": label, "evidence": evidence, "errors": probe.errors}
    return record


def _write_fit(folder: Path, generator, record: dict, images: np.ndarray, labels: np.ndarray) -> None:
    """Weights, record, then samples, each atomically: the samples file's presence means complete."""
    if generator.learned:
        tmp = folder / f"{CACHE_WEIGHTS}.tmp{os.getpid()}"
        generator.save(tmp)
        os.replace(tmp, folder / CACHE_WEIGHTS)
    _atomic_write_text(folder / CACHE_RECORD, json.dumps(record, default=str))
    _atomic_write_npz(folder / CACHE_SAMPLES, images=images, labels=labels)


def _counter(generator):
    """A FLOP counter for a learned arm's fit or sampling (benchmark/compute.py); a no-op otherwise."""
    from augbench.benchmark.compute import counting, uncounted

    return counting() if generator.learned else uncounted(0.0)


def _uncounted(progress, counter):
    """The fit's progress callback (the convergence probe, when on) with the counter paused: the
    probe's feature extraction is the benchmark's measuring, not the arm's training."""
    paused = getattr(counter, "paused", None)
    if progress is None or paused is None:
        return progress

    def call(*args, **kwargs):
        with paused():
            return progress(*args, **kwargs)

    return call


def _reserve(data: FitData) -> dict[int, np.ndarray]:
    """The out-of-budget training images of each minority class, in the budget's seeded order, for
    the `real` control arm only: no other arm is handed them (tests/datasets/test_reserve.py)."""
    from augbench.datasets.budget import reserve_order

    return {c: data.train.images[reserve_order(data.train, data.budgeted, c, data.fit.seed)] for c in data.minority}


def _probe(data: FitData, generator, progress):
    """The convergence probe for a learned arm's fit, or None (fidelity or the probe switched off)."""
    cfg = data.fit.spec.resolved().fidelity
    if not generator.learned or not generator.adds_images or not cfg.enabled or not cfg.probe:
        return None
    from augbench.benchmark.fidelity import class_keys
    from augbench.benchmark.fidelity_step import fit_domain_extractor
    from augbench.benchmark.probe import ConvergenceProbe

    real = data.budgeted.split
    extractor = fit_domain_extractor(data.fit, data.info, data.train)
    keys = class_keys(data.info.class_names)
    return ConvergenceProbe(generator, extractor, {c: real.images[real.labels == c] for c in data.minority},
                            {c: keys[c] for c in data.minority}, then=progress)


def _length_for_budget(fit: Fit, generator, settings: dict, real: Split, n_classes: int) -> tuple[dict, dict]:
    """The arm's settings with its training length solved for the preset's compute budget (the
    very ``settings`` object when the budget leaves them as they are), and what the fit will cost
    (benchmark/compute.py); arms that do not train are returned as they are. ``generator`` is the
    arm built with ``settings``, so no second one is built to read its length."""
    from augbench.benchmark.compute import length_knob, plan_length

    if length_knob(generator) is None:
        return settings, {}
    return plan_length(fit.spec.resolved().compute, fit.arm, settings, real.images, real.labels, n_classes,
                       device=fit.spec.device, seed=fit.seed, scale=fit.arm_name.scale,
                       cache_dir=Path(fit.spec.out_dir) / "cache" / "compute", built=generator)


# --- fit logging --------------------------------------------------------------------------------------
def log_fit_run(data: FitData, arm: FittedArm, ctx: RunContext) -> str:
    """One MLflow run per generator fit: settings, effective budget, fidelity metrics, sample grid."""
    fit, info, budgeted, generator, tracker = data.fit, data.info, data.budgeted, arm.generator, ctx.tracker
    images, labels = arm.synthetic.images, arm.synthetic.labels
    params = {PARAM_DATASET: fit.dataset, PARAM_BUDGET: fit.budget.label(), PARAM_SEED: fit.seed,
              PARAM_ARM: fit.arm, PARAM_IMAGE_SIZE: fit.spec.image_size, PARAM_TARGET: fit.target.label(),
              PARAM_MINORITY: data.minority_names()}
    params.update({f"{PREFIX_GEN}{k}": v for k, v in generator.describe().items()})
    params.update({k: v for k, v in (arm.record.get("compute") or {}).items() if isinstance(v, str)})
    params.update({f"{PREFIX_EFFECTIVE}{metric_key(info.class_names[c])}": n for c, n in budgeted.effective.items()})
    run_id = tracker.start(KIND_FIT, fit.hash, f"fit {fit.label()}", params=params,
                           tags={TAG_GRID: fit.spec.grid_id(), **ctx.tags}, parent=ctx.parent)
    try:
        tracker.log_inputs(run_id, [split_input(data, budgeted.split, "train", f"train b={fit.budget.label()} "
                                                f"s={fit.seed}")])
        weights = fit_dir(fit) / CACHE_WEIGHTS
        if generator.learned and weights.exists():  # a remote tracking server gets the weights too
            tracker.log_artifact(run_id, weights, ARTIFACT_MODEL_DIR)
            if fit.spec.options.save_models:
                _log_generator_model(tracker, run_id, generator, weights, info.class_names)
        metrics = {f"n_synthetic_{metric_key(info.class_names[c])}": int((labels == c).sum()) for c in data.minority}
        metrics.update({f"time_{k}": v for k, v in arm.record.get("timings", {}).items()
                        if isinstance(v, (int, float))})
        compute = arm.record.get("compute") or {}
        metrics.update({k: float(v) for k, v in compute.items() if isinstance(v, (int, float))})
        if compute:
            metrics["images_seen"] = float(_images_seen(generator, compute, len(budgeted.split)))
        curves = [(int(row.get("step", i)), {f"train_{k}": v for k, v in row.items()
                                             if k != "step" and isinstance(v, (int, float))})
                  for i, row in enumerate(arm.record.get("history", []))]
        probe = arm.record.get("probe")
        if probe:
            tracker.log_params(run_id, {PARAM_PROBE_VERDICT: probe["verdict"],
                                        **({"probe_errors": "; ".join(probe["errors"])[:500]} if probe["errors"] else {})})
            metrics.update({k: v for k, v in probe["evidence"].items() if np.isfinite(v)})
            curves += [(int(step), row) for step, row in probe["history"]]
        tracker.log_metric_rows(run_id, [(0, metrics), *curves])
        if generator.learned and len(images):
            from augbench.benchmark.fidelity_step import log_fidelity

            t0 = time.perf_counter()
            log_fidelity(tracker, run_id, fit, info, budgeted, data.train, data.val, images, labels, data.minority)
            tracker.log_metrics(run_id, {"time_fidelity_s": time.perf_counter() - t0})
    except BaseException as exc:
        tracker.close_failed(run_id, exc)
        raise
    tracker.finish(run_id, "FINISHED")
    return run_id


def split_input(data: FitData, split: Split, context: str, part: str):
    """``split`` as an MLflow dataset input of the fit's or a cell's run (benchmark/lineage.py)."""
    from augbench.benchmark.lineage import dataset_input

    spec = data.fit.spec
    source = str(Path(spec.data_dir) / data.fit.dataset) if spec.data_dir else data.fit.dataset
    return dataset_input(data.fit.dataset, split, part=part, context=context,
                         fingerprint=spec.split_fingerprints.get(data.fit.dataset), source=source,
                         class_names=list(data.info.class_names),
                         extra={"budget": data.fit.budget.label(), "seed": data.fit.seed,
                                "subsample": spec.preset.get("subsample") or {}})


def _log_generator_model(tracker, run_id: str, generator, weights: Path, class_names) -> None:
    """``--save-models``: the fitted arm as an MLflow pyfunc LoggedModel of the fit run, sampled with
    ``mlflow.pyfunc.load_model("models:/<id>").predict(rows of label, n, params={"seed": s})``."""
    import tempfile

    from augbench.benchmark.mlflow_model import save_generator

    with tempfile.TemporaryDirectory() as tmp:
        folder = save_generator(generator, weights, Path(tmp) / "generator_model", class_names=class_names)
        tracker.log_model(run_id, generator.name, folder, model_type="generator",
                          params={k: v for k, v in generator.describe().items()})


def fit_node(data: FitData, arm: FittedArm, ctx: RunContext) -> str:
    """The run a fit's cells nest under in this grid's tree: the fit run itself, or, when that run
    was logged under another grid (fits are shared across grids that differ only in classifiers),
    a link run under this grid that carries the fit's params and points at it."""
    tracker, fit = ctx.tracker, data.fit
    if arm.run_id is None:
        return ctx.parent
    original = tracker.client.get_run(arm.run_id)
    if original.data.tags.get(TAG_PARENT) == ctx.parent:
        return arm.run_id
    grid_id = fit.spec.grid_id()
    for run in tracker.runs(KIND_FIT_LINK, hash_=fit.hash, grid_id=grid_id):
        if run.data.tags.get(TAG_PARENT) == ctx.parent:
            return run.info.run_id
    run_id = tracker.start(KIND_FIT_LINK, fit.hash, f"fit {fit.label()} (from an earlier grid)",
                           params=dict(original.data.params),
                           tags={TAG_GRID: grid_id, TAG_FIT: fit.hash, TAG_FIT_RUN: arm.run_id, **ctx.tags},
                           parent=ctx.parent)
    tracker.finish(run_id, "FINISHED")
    return run_id


def _images_seen(generator, compute: dict, n_images: int) -> int:
    """Real images the fit drew: units x batch (x real batches per step), or epochs x images."""
    if compute.get("compute_knob") == "epochs":
        return int(compute["compute_units"]) * n_images
    per_step = int(getattr(generator, "real_batches_per_step", 1)) * int(generator.config.get("batch_size", 64))
    return int(compute["compute_units"]) * per_step


def fit_once(data: FitData, ctx: RunContext, timings: dict, *, force: bool = False) -> FittedArm:
    """The arm's samples, and its fit run: the FINISHED one when there is one, else logged now.

    The caller holds the fit's lock (claims.fit_lock), so two groups of one fit never log it twice.
    ``force`` refits and supersedes the earlier fit run.
    """
    fit = data.fit
    arm = generate(data, timings, refit=force)
    arm.run_id = None if force else ctx.tracker.finished(KIND_FIT, fit.hash).get(fit.hash)
    if arm.run_id is None:
        clear_stale(ctx.tracker, KIND_FIT, fit.hash, supersede_finished=force)
        arm.run_id = log_fit_run(data, arm, ctx)
    return arm
