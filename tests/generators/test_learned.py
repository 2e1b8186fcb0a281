"""The learned-arm scaffold (_learned.py) and the one resample rule (base.Generator.resample).

The scaffold's checks are exercised once for every learned arm where they are cheap (they run
before any network is built), and its logging, seeding and persistence on a toy arm whose
behaviour is known exactly.
"""
import numpy as np
import pytest
import torch
from torch import nn

from augbench.core.errors import UserError
from augbench.generators import DivergenceError, create_generator, fit_resample, generator_names
from augbench.generators._learned import LearnedGenerator


def _images(n=12, size=28, channels=1, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, size, size, channels), dtype=np.uint8), np.arange(n) % 3


def _learned_arms():
    return [name for name in generator_names() if create_generator(name).learned]


# --- resample: the harness's seed rule ------------------------------------------------------------
def test_resample_draws_class_c_with_seed_times_1000_plus_c():
    images, labels = _images()
    gen = create_generator("oversample").fit(images, labels, 3)
    x, y = gen.resample({2: 5, 0: 3}, seed=7)
    np.testing.assert_array_equal(x[:5], gen.sample(2, 5, seed=7002))
    np.testing.assert_array_equal(x[5:], gen.sample(0, 3, seed=7000))
    assert y.tolist() == [2] * 5 + [0] * 3 and y.dtype == np.int64
    # the old fit_resample rule (seed + 1000 c) would give other images for the same seed
    assert not np.array_equal(x[:5], gen.sample(2, 5, seed=7 + 2000))


def test_resample_skips_empty_counts_and_arms_without_images():
    images, labels = _images()
    gen = create_generator("oversample").fit(images, labels, 3)
    x, y = gen.resample({0: 0, 1: -4}, seed=1)
    assert x.shape == (0, 28, 28, 1) and x.dtype == np.uint8 and y.shape == (0,)
    x, y = create_generator("none").fit(images, labels, 3).resample({1: 5}, seed=1)
    assert x.shape == (0, 28, 28, 1) and y.shape == (0,)
    with pytest.raises(RuntimeError, match="fit"):
        create_generator("oversample").resample({1: 2}, seed=0)


def test_fit_resample_tops_up_with_the_resample_rule():
    images, labels = _images()
    labels = np.array([0] * 8 + [1] * 4)
    gen = create_generator("oversample")
    x, y = fit_resample(gen, images, labels, {0: 8, 1: 10}, seed=3)
    assert np.bincount(y).tolist() == [8, 10]
    np.testing.assert_array_equal(x[:12], images)
    np.testing.assert_array_equal(x[12:], gen.sample(1, 6, seed=3001))


def test_resample_rule_holds_for_a_learned_arm():
    images, labels = _images()
    gen = create_generator("dcgan", steps=1, batch_size=4, base_channels=4).fit(images, labels, 3, seed=0)
    x, y = gen.resample({1: 3}, seed=4)
    np.testing.assert_array_equal(x, gen.sample(1, 3, seed=4001))
    assert y.tolist() == [1, 1, 1]


# --- the scaffold's checks, once for every learned arm (they fail before anything is built) -------
@pytest.mark.parametrize("arm", _learned_arms())
def test_every_learned_arm_checks_labels_before_building(arm):
    images, labels = _images()
    gen = create_generator(arm)
    assert isinstance(gen, LearnedGenerator)
    with pytest.raises(UserError, match="n_classes"):
        gen.fit(images, labels, 2)
    with pytest.raises(UserError, match="labels"):
        gen.fit(images, labels[:5], 3)
    assert gen.nets == {}


@pytest.mark.parametrize("arm", _learned_arms())
def test_every_learned_arm_resolves_its_device_before_building(arm):
    images, labels = _images()
    gen = create_generator(arm)
    with pytest.raises(UserError, match="GPU|CUDA"):
        gen.fit(images, labels, 3, device="cuda:99")
    with pytest.raises(UserError, match="not supported|unknown device"):
        gen.fit(images, labels, 3, device="tpu")
    assert gen.nets == {}
    with pytest.raises(RuntimeError, match="no trained generator"):
        gen.sample(0, 2)


# --- the scaffold itself, on a toy arm ---------------------------------------------------------------
class Toy(LearnedGenerator):
    """One linear layer; ``nan_at`` makes the logged loss NaN at that step."""

    name = "toy"
    DEFAULTS = {"amp": False, "steps": 4, "width": 3, "nan_at": 0, "sample_scale": 1.0}
    POSITIVE_INTS = ("steps", "width")
    saved_nets = ("body",)

    def arch_state(self):
        return {"width": self.config["width"]}

    def build(self):
        return {"body": nn.Linear(2, self.config["width"]), "helper": nn.Linear(2, 2)}

    def train(self, images, labels, *, seed, progress):
        stream = self.batches(images, labels, 4, seed)
        for step in range(1, self.config["steps"] + 1):
            x, _ = next(stream)
            loss = x.float().mean() * 0 + (float("nan") if step == self.config["nan_at"] else step)
            self.log(step, keep=step % 2 == 0, loss=loss)
        self.counts = np.bincount(labels, minlength=self.n_classes)

    def extra_state(self):
        return {"counts": torch.from_numpy(self.counts)}

    def load_extra_state(self, state):
        self.counts = state["counts"].numpy()

    def generate(self, label, n, *, seed):
        return np.full((n, *self.image_shape), label, dtype=np.uint8)


def test_log_keeps_every_kept_step_as_floats_and_stops_on_nan():
    images, labels = _images()
    gen = Toy().fit(images, labels, 3, seed=0)
    assert gen.history == [{"step": 2, "loss": 2.0}, {"step": 4, "loss": 4.0}]
    assert all(type(v) is float for row in gen.history for k, v in row.items() if k != "step")
    bad = Toy(nan_at=3)
    with pytest.raises(DivergenceError, match="toy.*diverged at step 3.*loss=nan"):
        bad.fit(images, labels, 3, seed=0)
    assert bad.history == [{"step": 2, "loss": 2.0}]  # the unkept step 3 was still checked
    assert bad.nets == {}  # a diverged fit leaves nothing to sample from
    with pytest.raises(RuntimeError, match="no trained generator"):
        bad.sample(0, 1)


def test_build_is_seeded_and_leaves_the_callers_rng_alone():
    images, labels = _images()
    state = torch.random.get_rng_state()
    a = Toy().fit(images, labels, 3, seed=1).nets["body"].weight
    assert torch.equal(torch.random.get_rng_state(), state)
    b = Toy().fit(images, labels, 3, seed=1).nets["body"].weight
    c = Toy().fit(images, labels, 3, seed=2).nets["body"].weight
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_fit_moves_nets_to_eval_and_sample_checks_the_class():
    images, labels = _images()
    gen = Toy().fit(images, labels, 3, seed=0)
    assert not any(net.training for net in gen.nets.values())
    with pytest.raises(UserError, match="class 3 is out of range"):
        gen.sample(3, 1)
    assert gen.sample(2, 2).max() == 2
    assert gen.describe()["precision"].startswith("float32")


def test_save_load_restores_saved_nets_arch_and_extra_state(tmp_path):
    images, labels = _images()
    gen = Toy(width=5).fit(images, labels, 3, seed=0)
    gen.save(tmp_path / "toy.pt")
    fresh = Toy().load(tmp_path / "toy.pt")
    assert fresh.config["width"] == 5 and fresh.image_shape == (28, 28, 1)
    assert torch.equal(fresh.nets["body"].weight, gen.nets["body"].weight)
    assert fresh.counts.tolist() == [4, 4, 4]
    blob = torch.load(tmp_path / "toy.pt", weights_only=True)
    assert set(blob["state"]["nets"]) == {"body"}  # only the declared networks are persisted
    with pytest.raises(RuntimeError, match="nothing to save"):
        Toy().state_dict()
