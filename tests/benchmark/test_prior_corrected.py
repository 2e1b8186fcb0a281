"""The prior-corrected decision: argmax of p(y|x) / pi_train(y)."""
from __future__ import annotations

import numpy as np

from augbench.benchmark.metrics import predicted_share, prior_corrected


def test_dividing_out_the_prior_recovers_the_likelihood_decision():
    rng = np.random.default_rng(0)
    likelihood = rng.random((200, 3))
    prior = np.array([0.90, 0.07, 0.03])
    posterior = likelihood * prior
    posterior /= posterior.sum(axis=1, keepdims=True)
    assert (posterior.argmax(1) == 0).mean() > 0.9  # the skewed decision: nearly always the big class
    corrected = prior_corrected(posterior, prior * 1000)
    np.testing.assert_array_equal(corrected.argmax(1), likelihood.argmax(1))
    np.testing.assert_allclose(corrected.sum(1), 1.0)


def test_arms_that_correct_in_their_logits_are_not_corrected_twice():
    probs = np.array([[0.6, 0.4], [0.2, 0.8]])
    np.testing.assert_array_equal(prior_corrected(probs, [90, 10], has_offsets=True), probs)


def test_predicted_share_flags_a_one_class_decision():
    assert predicted_share(np.tile([0.9, 0.1], (20, 1))) == 1.0
    assert predicted_share(np.array([[0.9, 0.1], [0.1, 0.9]])) == 0.5
