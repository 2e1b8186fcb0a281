"""Simulated probabilities of two arms, for checking that paired_difference is calibrated.

A latent-score model shaped like a real benchmark cell: a fixed test set with fixed class counts
(by default DermaMNIST's test split, 2005 images, the rarest class 23), images that are hard or
easy for every model (shared across arms and seeds), errors that belong to one arm's model on one
image whatever the seed, and per-training-run (seed) effects: image-level noise, a class-bias
vector (moves the argmax thresholds, so balanced accuracy and recall vary from seed to seed) and
a quality factor (moves AUC). Runs of both arms at one seed share part of their class bias, as
two runs drawing the same budget images do. With ``effect = 0`` the two arms have the same
distribution, so any "significant" difference is a false positive. Used by
perf/stats_calibration.py and tests/reports/test_calibration.py.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: DermaMNIST / HAM10000 official test split: akiec, bcc, bkl, df, mel, nv, vasc
HAM_TEST_COUNTS = (66, 103, 220, 23, 223, 1341, 29)


@dataclass(frozen=True)
class Scenario:
    """Knobs of the simulation; ``seed_scale = 0`` makes every seed give the same model."""

    class_counts: tuple = HAM_TEST_COUNTS
    separation: float = 2.0     # class signal in the latent scores
    image_sd: float = 1.0       # per-image ambiguity, shared by every model
    arm_image_sd: float = 0.7   # one arm's own errors on one image, the same at every seed
    run_noise_sd: float = 0.6   # per-run, per-image noise (seed-to-seed)
    bias_sd: float = 0.25       # per-run class-bias vector (seed-to-seed)
    quality_sd: float = 0.12    # per-run log quality factor (seed-to-seed)
    shared_seed: float = 0.5    # fraction of the bias variance both arms share at one seed
    seed_scale: float = 1.0     # multiplies the three seed-to-seed terms
    effect: float = 0.0         # arm A's separation is multiplied by (1 + effect)
    views: int = 1              # test images per subject (lesion): a subject's views share their image terms


def simulate(rng: np.random.Generator, n_seeds: int, scenario: Scenario = Scenario()):
    """(probs_a, probs_b, labels): probs (n_seeds, N, K) float32 softmax, labels (N,) int64."""
    sc = scenario
    counts = np.asarray(sc.class_counts)
    k = len(counts)
    labels = np.repeat(np.arange(k), counts).astype(np.int64)
    n = len(labels)
    onehot = np.eye(k)[labels]
    prior = np.log(counts / counts.sum())
    subject = subject_ids(sc)[1]
    n_subjects = int(subject.max()) + 1
    shared_image = rng.normal(0.0, sc.image_sd, (n_subjects, k))[subject]
    shared_bias = rng.normal(0.0, 1.0, (n_seeds, 1, k))

    def arm(effect: float) -> np.ndarray:
        own_image = rng.normal(0.0, sc.arm_image_sd, (n_subjects, k))[subject]
        v = sc.seed_scale
        noise = rng.normal(0.0, sc.run_noise_sd * v, (n_seeds, n, k))
        own_bias = rng.normal(0.0, 1.0, (n_seeds, 1, k))
        bias = sc.bias_sd * v * (np.sqrt(sc.shared_seed) * shared_bias + np.sqrt(1 - sc.shared_seed) * own_bias)
        quality = np.exp(rng.normal(0.0, sc.quality_sd * v, (n_seeds, 1, 1)))
        logits = (quality * sc.separation * (1.0 + effect) * onehot + shared_image + own_image + noise + bias
                  + prior)
        logits -= logits.max(axis=2, keepdims=True)
        p = np.exp(logits)
        return (p / p.sum(axis=2, keepdims=True)).astype(np.float32)

    return arm(sc.effect), arm(0.0), labels


def subject_ids(scenario: Scenario = Scenario()) -> tuple[np.ndarray, np.ndarray]:
    """(subject id strings, subject number) of the simulated test images: consecutive blocks of
    ``views`` images within a class, the last block of a class possibly smaller. With ``views = 1``
    every image is its own subject and the draws are those of the unclustered simulation."""
    counts = np.asarray(scenario.class_counts)
    labels = np.repeat(np.arange(len(counts)), counts)
    within = np.concatenate([np.arange(c) for c in counts]) // max(1, int(scenario.views))
    ids = np.array([f"{c}-{i}" for c, i in zip(labels, within)])
    _, number = np.unique(ids, return_index=False, return_inverse=True)
    if scenario.views <= 1:
        number = np.arange(len(labels))
    return ids, number.reshape(-1)
