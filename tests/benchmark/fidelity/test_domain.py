"""The domain extractor on the real BreastMNIST training split (546 images, 28 px), one epoch."""
import numpy as np
import pytest

import augbench.benchmark.fidelity.domain as domain_module
from augbench.benchmark.fidelity import domain_extractor, fid_from_features, fidelity_params
from augbench.datasets.types import Split


@pytest.fixture(scope="module")
def breast(data_dir):
    with np.load(data_dir / "medmnist" / "breastmnist.npz") as z:
        train = Split(z["train_images"][..., None], z["train_labels"].reshape(-1))
        test = Split(z["test_images"][..., None], z["test_labels"].reshape(-1))
    return train, test


def test_trains_once_caches_and_gives_penultimate_features(breast, tmp_path, monkeypatch):
    train, test = breast
    calls = []
    real_train = domain_module._train
    monkeypatch.setattr(domain_module, "_train", lambda *a, **k: calls.append(1) or real_train(*a, **k))

    first = domain_extractor(train, 2, dataset_key="breastmnist", cache_dir=tmp_path, epochs=1, seed=0)
    assert calls == [1] and not first.from_cache
    assert first.cache_path.is_file() and first.cache_path.parent == tmp_path
    assert "breastmnist" in first.cache_path.name and "28px" in first.cache_path.name

    second = domain_extractor(train, 2, dataset_key="breastmnist", cache_dir=tmp_path, epochs=1, seed=0)
    assert calls == [1] and second.from_cache  # loaded, not retrained
    assert second.cache_path == first.cache_path

    images = test.images[:20]
    f1, f2 = first.features(images), second.features(images)
    assert f1.shape == (20, first.dims) and first.dims == 128  # small-cnn's head input
    assert f1.dtype == np.float64
    np.testing.assert_allclose(f1, f2, rtol=1e-5, atol=1e-6)

    params = fidelity_params(second)
    assert params["fidelity_domain_name"] == "domain-small-cnn"
    assert "trained on full train split of breastmnist" in params["fidelity_domain_weights"]
    assert 0.0 <= params["fidelity_domain_val_auc"] <= 1.0

    # features separate the classes better than two random halves of one class
    f_test = second.features(test.images)
    malignant, benign = f_test[test.labels == 0], f_test[test.labels == 1]
    between = fid_from_features(malignant, benign[: len(malignant)])
    within = fid_from_features(benign[:40], benign[40:80])
    assert between > within

    # a changed split or config is a different cache entry
    smaller = train.subset(np.arange(len(train) - 1))
    domain_extractor(smaller, 2, dataset_key="breastmnist", cache_dir=tmp_path, epochs=1, seed=0)
    assert calls == [1, 1]
    assert len(list(tmp_path.glob("*.pt"))) == 2


def test_carve_val_is_stratified_and_keeps_singletons_in_train():
    labels = np.array([0] * 20 + [1] * 5 + [2])
    tr, va = domain_module.carve_val(labels, 0.1, seed=0)
    assert sorted(np.concatenate([tr, va]).tolist()) == list(range(len(labels)))
    assert np.bincount(labels[va], minlength=3).tolist() == [2, 1, 0]
