"""Resampling subjects, not images: the test images of one lesion or patient go in and out together.

45 % of HAM10000's images sit in lesions photographed more than once, and a classifier that gets one
view of a lesion right tends to get the others right too. An image bootstrap treats those views as
independent evidence and makes the intervals too narrow; drawing subjects with replacement and giving
each image its subject's draw count keeps the within-subject correlation in every resample. With one
image per subject this is the image bootstrap exactly (the same counts, the same random stream).
"""
from __future__ import annotations

import numpy as np


def subject_index(groups) -> tuple[np.ndarray, int]:
    """(subject number of each image, number of subjects) from any array of subject ids."""
    _, inverse = np.unique(np.asarray(groups).astype(str), return_inverse=True)
    inverse = inverse.reshape(-1)
    return inverse, int(inverse.max()) + 1 if len(inverse) else 0


def cluster_resample_weights(groups, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """(n_boot, n_images) float32 counts: each subject drawn with replacement, each image weighted by
    how often its subject was drawn. ``groups`` None: one subject per image (the image bootstrap)."""
    if groups is None:
        raise ValueError("groups is None: use reports.stats.resample_weights for the image bootstrap")
    subject, n_subjects = subject_index(groups)
    draws = rng.integers(0, n_subjects, size=(n_boot, n_subjects))
    flat = (draws + (np.arange(n_boot) * n_subjects)[:, None]).ravel()
    per_subject = np.bincount(flat, minlength=n_boot * n_subjects).reshape(n_boot, n_subjects)
    return per_subject[:, subject].astype(np.float32)
