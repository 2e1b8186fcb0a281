"""The convergence probe: points at fixed fractions of a fit, a fit identical with and without it,
and verdicts that follow the curve's shape."""
import math

import numpy as np
import pytest
import torch

from augbench import datasets
from augbench.benchmark.fidelity import domain_extractor
from augbench.benchmark.probe import FRACTIONS, ConvergenceProbe, verdict
from augbench.core.seeding import seeded_global_rng
from augbench.generators import create_generator


@pytest.mark.parametrize("curve, expected", [
    ([10, 9, 8, 7, 6, 5], "still improving"),
    ([10, 6, 5.1, 5.0, 5.05, 4.98], "plateaued"),
    ([10, 5, 4, 6, 9, 12], "diverged"),
    ([10, 8, math.nan, 7, 7, 7], "diverged"),
    ([10, 9], "not probed"),
])
def test_verdict_follows_the_curve(curve, expected):
    steps = [round(f * 600) for f in FRACTIONS][:len(curve)]
    assert verdict(steps, curve)[0] == expected


def test_noisy_flat_tails_are_rarely_called_improving_and_real_slopes_usually_are():
    rng = np.random.default_rng(0)
    steps = [100, 200, 300, 400, 500, 600]
    flat = [verdict(steps, [20, 12] + list(10 + rng.normal(0, 0.5, 4)))[0] for _ in range(300)]
    falling = [verdict(steps, [20, 16, 14, 12, 10, 8] + rng.normal(0, 0.3, 6))[0] for _ in range(300)]
    assert flat.count("still improving") / 300 <= 0.10
    assert falling.count("still improving") / 300 >= 0.5


@pytest.fixture(scope="module")
def small(data_dir, tmp_path_factory):
    train = datasets.load_dataset("pneumonia", data_dir=data_dir).train
    idx = np.concatenate([np.flatnonzero(train.labels == c)[:60] for c in (0, 1)])
    extractor = domain_extractor(train, 2, dataset_key="pneumonia", cache_dir=tmp_path_factory.mktemp("ext"),
                                 epochs=1, seed=0)
    return train.images[idx], train.labels[idx], extractor


def _fit(arm, settings, small, probe: bool):
    images, labels, extractor = small
    generator = create_generator(arm, **settings)
    watch = ConvergenceProbe(generator, extractor, {0: images[labels == 0][:10]}, {0: "normal"}) if probe else None
    with seeded_global_rng(0, "cpu"):
        generator.fit(images, labels, 2, seed=0, progress=watch)
    return generator, watch


@pytest.mark.parametrize("arm, settings, total", [
    ("dcgan", {"steps": 30, "batch_size": 16, "base_channels": 8}, 30),
    ("bagan-gp", {"ae_epochs": 1, "gan_steps": 12, "batch_size": 16, "width": 0.25}, None),
])
def test_probing_never_changes_the_fit(small, arm, settings, total):
    probed, watch = _fit(arm, settings, small, probe=True)
    plain, _ = _fit(arm, settings, small, probe=False)
    for name in plain.nets:
        for (k, a), b in zip(probed.nets[name].state_dict().items(), plain.nets[name].state_dict().values()):
            assert torch.equal(a, b), f"{arm} {name}.{k} differs after probing"
    steps = [step for step, _ in watch.history()]
    assert len(steps) == len(FRACTIONS) and steps == sorted(steps)
    if total:
        assert steps == [math.ceil(f * total) for f in FRACTIONS]
    assert all(np.isfinite(row["probe_fid_normal"]) for _, row in watch.history())
    again = _fit(arm, settings, small, probe=True)[1]
    assert again.history() == watch.history()  # the probe's own samples are seeded


def test_an_arm_that_cannot_be_probed_says_why(small):
    _, watch = _fit("latent-smote", {"epochs": 2, "batch_size": 16, "base_channels": 8}, small, probe=True)
    assert watch.history() == [] and watch.verdict()[0] == "not probed"
    assert "autoencoder" in watch.errors[0] and len(watch.errors) == 1
