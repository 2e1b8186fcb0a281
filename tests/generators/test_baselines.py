import numpy as np
import pytest

from augbench.generators import create_generator, fit_resample, generator_names


def _data(seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (12, 28, 28, 1), dtype=np.uint8)
    labels = np.array([0] * 8 + [1] * 4)
    return images, labels


def test_baseline_arms_registered_first_in_order():
    names = generator_names()
    assert names[:4] == ["none", "class-weighted", "oversample", "classic"]


def test_none_and_class_weighted_add_no_images():
    images, labels = _data()
    for name in ("none", "class-weighted"):
        g = create_generator(name).fit(images, labels, 2)
        assert not g.adds_images
        with pytest.raises(TypeError):
            g.sample(1, 3)
    assert create_generator("class-weighted").class_weighted_loss


def test_oversample_draws_only_from_the_class_pool():
    images, labels = _data()
    g = create_generator("oversample").fit(images, labels, 2)
    out = g.sample(1, 20, seed=3)
    pool = {im.tobytes() for im in images[labels == 1]}
    assert out.shape == (20, 28, 28, 1)
    assert all(im.tobytes() in pool for im in out)
    assert np.array_equal(out, g.sample(1, 20, seed=3))
    assert not np.array_equal(out, g.sample(1, 20, seed=4))


def test_classic_changes_images_but_keeps_shape_and_is_seeded():
    rng = np.random.default_rng(1)
    images = np.zeros((4, 32, 32, 3), np.uint8)
    images[:, 8:24, 4:12] = rng.integers(150, 255, (4, 16, 8, 3))
    labels = np.array([0, 0, 1, 1])
    g = create_generator("classic").fit(images, labels, 2)
    out = g.sample(1, 16, seed=0)
    assert out.shape == (16, 32, 32, 3) and out.dtype == np.uint8
    pool = {im.tobytes() for im in images}
    assert sum(im.tobytes() in pool for im in out) < 4  # augmented, not copied
    assert np.array_equal(out, g.sample(1, 16, seed=0))


def test_fit_resample_tops_up_to_targets():
    images, labels = _data()
    x, y = fit_resample(create_generator("oversample"), images, labels, {1: 8})
    assert np.bincount(y).tolist() == [8, 8]
    x, y = fit_resample(create_generator("none"), images, labels, {1: 8})
    assert np.bincount(y).tolist() == [8, 4]


def test_prior_correcting_arms_offset_the_logits_by_the_log_prior():
    from augbench.generators import create_generator

    counts = [90, 10]
    prior = np.log(np.array(counts) / 100)
    bs = create_generator("balanced-softmax")
    train_off, eval_off = bs.logit_offsets(counts)
    assert np.allclose(train_off, prior) and eval_off is None and not bs.adds_images
    la = create_generator("logit-adjustment", tau=0.5)
    train_off, eval_off = la.logit_offsets(counts)
    assert train_off is None and np.allclose(eval_off, -0.5 * prior)
    # an absent class keeps a finite offset, below every present class
    off = create_generator("balanced-softmax").logit_offsets([5, 0, 5])[0]
    assert np.isfinite(off).all() and off[1] < off[0]
    assert create_generator("none").logit_offsets(counts) == (None, None)
