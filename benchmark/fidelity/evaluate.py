"""All fidelity numbers for one generator fit, as one flat dict ready for ``mlflow.log_metrics``.

Inputs per class: ``real`` = the real images the generator was fitted on (the budget for minority
classes), ``fake`` = its samples, ``heldout`` = real images of the class it never saw (val/test).
Every key names the metric, the extractor (``extractor.key``) and the class, and every class gets
its sample counts, because FID in particular depends on them (see docs/fidelity.md).

Key scheme (``{x}`` = extractor key, ``{c}`` = sanitised class name, or ``overall``):
  fid_{x}_{c}              FID real (budget) vs fake
  fid_heldout_{x}_{c}      FID held-out real vs fake (the class distribution beyond the budget)
  fid_calib_{x}_{c}        FID real vs held-out real, held-out subsampled to the fake count:
                           what a perfect generator would score with these counts
  kid_{x}_{c}, kid_std_{x}_{c}, kid_calib_{x}_{c}
  precision_/recall_/density_/coverage_{x}_{c}, prdc_k_{x}_{c}  (k actually used)
  memorisation_{x}_{c}     (or memorisation_loo_{x}_{c} without held-out images)
  memorisation_share_{x}_{c}  share of samples nearer a budget image than any held-out image gets
  msssim_{c}, msssim_real_{c}   within-class MS-SSIM of fake / real images (pixel space)
  n_real_{c}, n_fake_{c}, n_heldout_{c}, n_calib_{c}
Metrics a class is too small for (fewer than 2 images) are NaN rather than absent, so tables show
the gap.
"""
from __future__ import annotations

import numpy as np

from augbench.benchmark.fidelity.extractor import FeatureExtractor
from augbench.benchmark.fidelity.frechet import fid_from_features
from augbench.benchmark.fidelity.kid import kid_from_features
from augbench.benchmark.fidelity.memorisation import memorisation_score, memorisation_share
from augbench.benchmark.fidelity.msssim import ms_ssim_diversity, ms_ssim_scales
from augbench.benchmark.fidelity.prdc import capped_k, prdc
from augbench.core.errors import UserError
from augbench.core.layout import metric_key

NAN = float("nan")


def class_keys(class_names) -> list[str]:
    """Sanitised, unique key fragments for class names (index appended only on a clash)."""
    keys = [metric_key(n) for n in class_names]
    return [f"{k}_{i}" if keys.count(k) > 1 else k for i, k in enumerate(keys)]


def fidelity_params(extractor: FeatureExtractor, *, image_size: int | None = None) -> dict[str, str | int]:
    """Params that make every fidelity metric of a run interpretable (which features, which input)."""
    p = {f"fidelity_{extractor.key}_{k}": v for k, v in extractor.params().items()}
    if image_size is not None:
        p["fidelity_msssim_scales"] = ms_ssim_scales(int(image_size))
    return p


def _two_set(fn, a, b, n_out: int = 1):
    if len(a) < 2 or len(b) < 2:
        return (NAN,) * n_out if n_out > 1 else NAN
    return fn(a, b)


def _subsample(features: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    if len(features) <= n:
        return features
    return features[np.sort(rng.choice(len(features), n, replace=False))]


def evaluate_fidelity(real_by_class: dict[int, np.ndarray], fake_by_class: dict[int, np.ndarray],
                      extractor: FeatureExtractor, *, class_names, heldout_by_class: dict[int, np.ndarray] | None = None,
                      seed: int = 0, kid_subset_size: int = 1000, kid_subsets: int = 100, prdc_k: int = 5,
                      msssim_pairs: int = 256, with_msssim: bool = True) -> dict[str, float]:
    """Per class in ``fake_by_class`` and pooled over those classes ("overall")."""
    keys = class_keys(class_names)
    x = extractor.key
    missing = [c for c in fake_by_class if c not in real_by_class]
    if missing:
        raise UserError(f"fidelity: synthetic images for classes {missing} but no real images of them.",
                        "pass the real (budget) images of every class that has synthetic images.")
    heldout_by_class = heldout_by_class or {}
    rng = np.random.default_rng(seed)
    out: dict[str, float] = {}
    pooled = {"real": [], "fake": [], "heldout": []}

    def kid(a, b):
        return kid_from_features(a, b, subset_size=kid_subset_size, n_subsets=kid_subsets, seed=seed)

    for c in sorted(fake_by_class):
        k = keys[c]
        real, fake = np.asarray(real_by_class[c]), np.asarray(fake_by_class[c])
        f_real, f_fake = extractor.features(real, reuse=True), extractor.features(fake)
        pooled["real"].append(f_real)
        pooled["fake"].append(f_fake)
        out[f"n_real_{k}"], out[f"n_fake_{k}"] = float(len(real)), float(len(fake))
        out[f"fid_{x}_{k}"] = _two_set(fid_from_features, f_real, f_fake)
        out[f"kid_{x}_{k}"], out[f"kid_std_{x}_{k}"] = _two_set(kid, f_real, f_fake, 2)
        scores = _two_set(lambda a, b: prdc(a, b, k=prdc_k), f_real, f_fake)
        for name in ("precision", "recall", "density", "coverage"):
            out[f"{name}_{x}_{k}"] = scores[name] if isinstance(scores, dict) else NAN
        out[f"prdc_k_{x}_{k}"] = float(capped_k(prdc_k, len(real))) if len(real) >= 2 else NAN
        if with_msssim:
            out[f"msssim_{k}"] = ms_ssim_diversity(fake, max_pairs=msssim_pairs, seed=seed)
            out[f"msssim_real_{k}"] = ms_ssim_diversity(real, max_pairs=msssim_pairs, seed=seed)
        heldout = heldout_by_class.get(c)
        if heldout is not None and len(heldout):
            f_held = extractor.features(np.asarray(heldout), reuse=True)
            pooled["heldout"].append(f_held)
            out |= _against_heldout(f_real, f_fake, f_held, f"{x}_{k}", k, rng, kid)
        else:
            enough = len(real) >= 2 and len(fake) > 0
            out[f"memorisation_loo_{x}_{k}"] = memorisation_score(f_fake, f_real) if enough else NAN
    if pooled["fake"]:
        out |= _pooled(pooled, x, rng, kid)
    return out


def _against_heldout(f_real, f_fake, f_held, xk: str, k: str, rng, kid) -> dict[str, float]:
    """One class's numbers that need held-out real images: FID to them, the real-vs-real calibration
    (held-out images subsampled to the fake count, so both FIDs have one sample size) and memorisation."""
    f_calib = _subsample(f_held, len(f_fake), rng)
    some = len(f_fake) > 0
    return {f"n_heldout_{k}": float(len(f_held)), f"n_calib_{k}": float(len(f_calib)),
            f"fid_heldout_{xk}": _two_set(fid_from_features, f_held, f_fake),
            f"fid_calib_{xk}": _two_set(fid_from_features, f_real, f_calib),
            f"kid_calib_{xk}": _two_set(kid, f_real, f_calib, 2)[0],
            f"memorisation_{xk}": memorisation_score(f_fake, f_real, f_held) if some else NAN,
            f"memorisation_share_{xk}": memorisation_share(f_fake, f_held, f_real) if some else NAN}


def _pooled(pooled: dict, x: str, rng, kid) -> dict[str, float]:
    """The "overall" numbers over every class with synthetic images; held-out ones only when every
    class had held-out images (a partial pool would compare different class mixes)."""
    f_real, f_fake = np.concatenate(pooled["real"]), np.concatenate(pooled["fake"])
    out = {"n_real_overall": float(len(f_real)), "n_fake_overall": float(len(f_fake)),
           f"fid_{x}_overall": _two_set(fid_from_features, f_real, f_fake)}
    out[f"kid_{x}_overall"], out[f"kid_std_{x}_overall"] = _two_set(kid, f_real, f_fake, 2)
    if len(pooled["heldout"]) == len(pooled["fake"]):
        f_held = np.concatenate(pooled["heldout"])
        f_calib = _subsample(f_held, len(f_fake), rng)
        out |= {"n_heldout_overall": float(len(f_held)), "n_calib_overall": float(len(f_calib)),
                f"fid_heldout_{x}_overall": _two_set(fid_from_features, f_held, f_fake),
                f"fid_calib_{x}_overall": _two_set(fid_from_features, f_real, f_calib)}
    return out
