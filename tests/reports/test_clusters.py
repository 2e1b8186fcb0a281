"""Subject bootstrap: the views of one lesion move together, and the count totals are right."""
from __future__ import annotations

import numpy as np

from augbench.reports.clusters import cluster_resample_weights, subject_index


def test_images_of_one_subject_always_share_their_weight():
    groups = np.array(["a", "a", "b", "c", "c", "c", "d"])
    w = cluster_resample_weights(groups, 500, np.random.default_rng(0))
    assert w.shape == (500, 7)
    np.testing.assert_array_equal(w[:, 0], w[:, 1])
    np.testing.assert_array_equal(w[:, 3], w[:, 4])
    np.testing.assert_array_equal(w[:, 4], w[:, 5])
    # 4 subjects drawn 4 times per resample: the weights of one view per subject sum to 4
    np.testing.assert_array_equal(w[:, [0, 2, 3, 6]].sum(axis=1), np.full(500, 4.0))


def test_subject_resampling_widens_the_spread_of_a_clustered_mean():
    """Ten subjects of 20 identical views each: the subject bootstrap's spread of the mean is that of
    10 draws, the image bootstrap's that of 200, i.e. sqrt(20) times narrower."""
    rng = np.random.default_rng(1)
    values = np.repeat(rng.normal(0, 1, 10), 20)
    groups = np.repeat(np.arange(10), 20)
    w_subject = cluster_resample_weights(groups, 4000, np.random.default_rng(2))
    w_image = cluster_resample_weights(np.arange(200), 4000, np.random.default_rng(2))
    sd_subject = ((w_subject @ values) / w_subject.sum(1)).std()
    sd_image = ((w_image @ values) / w_image.sum(1)).std()
    assert 3.0 < sd_subject / sd_image < 6.0  # sqrt(20) = 4.47


def test_subject_index_numbers_subjects_densely():
    subject, n = subject_index(["x", "y", "x"])
    assert n == 2 and subject[0] == subject[2] != subject[1]


def test_paired_difference_with_subjects_is_wider_on_repeated_views():
    """Each subject photographed 8 times with the same outcome: the subject bootstrap's interval of
    a paired accuracy difference is about sqrt(8) times wider than the image bootstrap's."""
    from augbench.reports.stats import paired_differences

    rng = np.random.default_rng(3)
    n_subjects, views = 60, 8
    labels = np.repeat(rng.integers(0, 2, n_subjects), views)
    correct_a = np.repeat(rng.random(n_subjects) < 0.8, views)
    correct_b = np.repeat(rng.random(n_subjects) < 0.6, views)

    def probs(correct):
        p = np.where(correct, labels, 1 - labels)
        return np.eye(2)[p][None].astype(np.float32)

    groups = np.repeat(np.arange(n_subjects), views).astype(str)
    by_image = paired_differences(probs(correct_a), probs(correct_b), labels, ["accuracy"], n_boot=2000)["accuracy"]
    by_subject = paired_differences(probs(correct_a), probs(correct_b), labels, ["accuracy"], n_boot=2000,
                                    groups=groups)["accuracy"]
    assert by_image.estimate == by_subject.estimate
    assert 2.0 < by_subject.se / by_image.se < 4.0  # sqrt(8) = 2.83
