"""Fidelity metrics for one generator fit, logged into that fit's MLflow run.

Which images play which role is decided here, once: ``real`` = the budget images the arm was
fitted on, ``heldout`` = the class's training images the budget left out (never the test split,
which is reserved for the classifier verdict; never the budgeted val images, which are few), and
``fake`` = the arm's samples. Drawing held-out images from beyond the budget puts the calibration
row ("a perfect generator": real vs unseen real, subsampled to the fake count) at the arm's exact
counts whenever the class has that many images left; validation images, often fewer than the
fake count, inflated that yardstick by 10-13 % in simulation. When nothing is left (budget ``all``)
the class's validation images stand in, and ``n_calib_<class>`` says how many were used. The domain extractor is trained on the full
real training split (not the budget), so it knows what each class looks like.
"""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from augbench.core.layout import (ARTIFACT_FEATURES, ARTIFACT_FIDELITY_ROLES, ARTIFACT_REAL, ARTIFACT_SAMPLES,
                                  feature_key, metric_key)

FEATURES_PER_ROLE = 200  # per class and role: enough for the report's t-SNE, small enough to keep per fit


def feature_sample(extractor, real_by_class, fake_by_class, heldout_by_class, class_names, seed) -> dict:
    """Domain features of a seeded subset of each role, saved so the report never recomputes features."""
    from augbench.benchmark.fidelity import class_keys

    keys = class_keys(class_names)
    rng = np.random.default_rng(seed)
    out = {}
    for c in fake_by_class:
        for role, images in (("real", real_by_class[c]), ("heldout", heldout_by_class.get(c)),
                             ("fake", fake_by_class[c])):
            if images is None or not len(images):
                continue
            if len(images) > FEATURES_PER_ROLE:
                images = images[np.sort(rng.choice(len(images), FEATURES_PER_ROLE, replace=False))]
            out[feature_key(role, keys[c])] = extractor.features(images, reuse=role != "fake").astype(np.float32)
    return out


def heldout_images(train, val, budgeted, minority) -> tuple[dict, str]:
    """Per class: real images the arm never saw, and a sentence saying where they came from."""
    from augbench.datasets.budget import outside_budget

    out, fallback = {}, []
    for c in minority:
        beyond = outside_budget(train, budgeted, c)
        if len(beyond):
            out[c] = beyond.images
        else:
            out[c] = val.images[val.labels == c]
            fallback.append(int(c))
    source = "training images of the class outside the budget"
    if fallback:
        source += f" (validation images for class(es) {fallback}: the budget kept every training image)"
    return out, source


def fit_domain_extractor(fit, info, train):
    """The dataset's domain extractor (trained once per dataset and output folder, then cached):
    the one the fidelity metrics and the convergence probe (benchmark/probe.py) both measure with."""
    from augbench.benchmark.fidelity import domain_extractor

    spec = fit.spec
    return domain_extractor(train, info.n_classes, dataset_key=f"{fit.dataset}",
                            cache_dir=Path(spec.out_dir) / "cache" / "extractors", device=spec.device,
                            epochs=spec.resolved().fidelity.domain_epochs, seed=0)


def log_fidelity(tracker, run_id, fit, info, budgeted, train, val, images, labels, minority) -> dict:
    from augbench.benchmark.fidelity import (ExtractorUnavailable, evaluate_fidelity, fidelity_params,
                                             inception_extractor, sample_grid)

    spec = fit.spec
    cfg = spec.resolved().fidelity
    if not cfg.enabled:
        tracker.log_params(run_id, {"fidelity": "disabled by preset"})
        return {}
    extractors = [fit_domain_extractor(fit, info, train)]
    params: dict = {}
    if cfg.inception != "off":
        try:
            extractors.append(inception_extractor(spec.inception_weights, device=spec.device,
                                                  image_size=cfg.inception_size))
        except ExtractorUnavailable as exc:
            params["fidelity_inception"] = f"skipped: {exc.problem}"[:500]
    else:
        params["fidelity_inception"] = "skipped: disabled by preset"
    real = budgeted.split
    real_by_class = {c: real.images[real.labels == c] for c in minority}
    fake_by_class = {c: images[labels == c] for c in minority if (labels == c).any()}
    heldout, source = heldout_images(train, val, budgeted, minority)
    metrics: dict = {}
    for i, extractor in enumerate(extractors):
        params.update(fidelity_params(extractor, image_size=spec.image_size))
        metrics.update(evaluate_fidelity({c: real_by_class[c] for c in fake_by_class}, fake_by_class, extractor,
                                         class_names=info.class_names, heldout_by_class=heldout, seed=fit.seed,
                                         with_msssim=(i == 0)))
    params["fidelity_heldout"] = source
    tracker.log_params(run_id, params)
    tracker.log_metrics(run_id, {k: v for k, v in metrics.items() if np.isfinite(v)})
    if fake_by_class:
        with tempfile.TemporaryDirectory() as tmp:
            grid = {c: fake_by_class[c][:8] for c in fake_by_class}
            path = sample_grid(grid, info.class_names, Path(tmp) / ARTIFACT_SAMPLES)
            tracker.log_artifact(run_id, path)
            grid_real = {c: real_by_class[c][:8] for c in fake_by_class if len(real_by_class[c])}
            if grid_real:
                tracker.log_artifact(run_id, sample_grid(grid_real, info.class_names, Path(tmp) / ARTIFACT_REAL))
            features = feature_sample(extractors[0], real_by_class, fake_by_class, heldout, info.class_names, fit.seed)
            np.savez_compressed(Path(tmp) / ARTIFACT_FEATURES, **features)
            tracker.log_artifact(run_id, Path(tmp) / ARTIFACT_FEATURES)
    tracker.log_dict(run_id, {"roles": {"real": "budget images of the class (what the arm saw)",
                                        "heldout": source,
                                        "fake": "the arm's samples"},
                              "classes": {metric_key(info.class_names[c]): int(c) for c in minority}},
                     ARTIFACT_FIDELITY_ROLES)
    return metrics
