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
