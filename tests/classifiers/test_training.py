import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import augbench.classifiers.training as training
from augbench.classifiers import create_seeded_classifier
from augbench.classifiers._auc import macro_ovr_auc
from augbench.classifiers.training import TrainConfig, class_weights_from_counts, predict_proba, train_classifier
from augbench.core.errors import UserError
from augbench.datasets.types import Split


def linear_model(size=16, channels=1, n_classes=2, seed=0):
    """No BatchNorm, no dropout: its outputs do not depend on batch composition."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(size * size * channels, n_classes))


def small_cnn(seed=0, size=16):
    return create_seeded_classifier("small-cnn", seed, n_classes=2, in_channels=1, image_size=size)


def without_seconds(history):
    return [{k: v for k, v in row.items() if k != "seconds"} for row in history]


def test_learns_a_toy_problem(toy):
    result = train_classifier(small_cnn(), toy(128, seed=0), toy(64, seed=1), TrainConfig(epochs=3, batch_size=32),
                              n_classes=2)
    assert result.best_val_auc > 0.95
    assert [row["epoch"] for row in result.history] == [1, 2, 3]
    assert set(result.history[0]) == {"epoch", "train_loss", "val_auc", "val_loss", "lr", "seconds", "steps"}
    assert result.images_seen == 3 * 128
    assert result.train_seconds > 0 and result.eval_seconds > 0
    assert not result.model.training


def test_learns_real_pneumonia_subset(data_dir):
    data = np.load(data_dir / "medmnist" / "pneumoniamnist.npz")
    rng = np.random.default_rng(0)
    i = rng.choice(len(data["train_labels"]), 256, replace=False)
    j = rng.choice(len(data["val_labels"]), 128, replace=False)
    train = Split(data["train_images"][i, ..., None], data["train_labels"].reshape(-1)[i])
    val = Split(data["val_images"][j, ..., None], data["val_labels"].reshape(-1)[j])
    model = create_seeded_classifier("small-cnn", 0, n_classes=2, in_channels=1, image_size=28)
    result = train_classifier(model, train, val, TrainConfig(epochs=3, batch_size=32), n_classes=2)
    assert result.best_val_auc > 0.75  # chance is 0.5; MedMNIST's full-data ResNet-18 reaches ~0.95


def test_same_seed_gives_identical_runs(toy):
    train, val = toy(96, seed=0, contrast=30), toy(48, seed=1, contrast=30)
    config = TrainConfig(epochs=2, batch_size=32, seed=3)
    a = train_classifier(small_cnn(seed=3), train, val, config, n_classes=2)
    b = train_classifier(small_cnn(seed=3), train, val, config, n_classes=2)
    assert without_seconds(a.history) == without_seconds(b.history)
    for (name, x), y in zip(a.model.state_dict().items(), b.model.state_dict().values()):
        assert torch.equal(x, y), name
    c = train_classifier(small_cnn(seed=3), train, val, TrainConfig(epochs=2, batch_size=32, seed=4), n_classes=2)
    assert without_seconds(c.history) != without_seconds(a.history)


def test_training_leaves_the_callers_rng_alone(toy):
    model = linear_model()
    torch.manual_seed(11)
    expected = torch.rand(4)
    torch.manual_seed(11)
    train_classifier(model, toy(32), toy(16, seed=1), TrainConfig(epochs=1, batch_size=16), n_classes=2)
    assert torch.equal(torch.rand(4), expected)


def test_class_weights_weight_the_training_loss(toy):
    train = toy(40, seed=0)
    keep = np.r_[np.flatnonzero(train.labels == 0)[:5], np.flatnonzero(train.labels == 1)]  # imbalanced 5 vs 20
    train = train.subset(keep)
    weights = np.array([4.0, 1.0])
    model = linear_model()
    x = torch.from_numpy(train.images).float().div(127.5).sub(1).permute(0, 3, 1, 2)
    with torch.no_grad():
        logits = model(x)
    weighted = F.cross_entropy(logits, torch.from_numpy(train.labels), weight=torch.tensor(weights).float()).item()
    plain = F.cross_entropy(logits, torch.from_numpy(train.labels)).item()
    assert abs(weighted - plain) > 1e-3

    config = TrainConfig(epochs=1, batch_size=64)  # one batch: the reported loss is the initial model's loss
    with_w = train_classifier(model, train, toy(16, seed=1), config, n_classes=2, class_weights=weights)
    without = train_classifier(linear_model(), train, toy(16, seed=1), config, n_classes=2)
    assert with_w.history[0]["train_loss"] == pytest.approx(weighted, rel=1e-5)
    assert without.history[0]["train_loss"] == pytest.approx(plain, rel=1e-5)


def test_class_weights_from_counts_are_inverse_frequency_with_mean_one():
    np.testing.assert_allclose(class_weights_from_counts([10, 30, 60]), [2.0, 2 / 3, 1 / 3])
    np.testing.assert_allclose(class_weights_from_counts([0, 5, 20]), [0.0, 1.6, 0.4])
    with pytest.raises(UserError):
        class_weights_from_counts([0, 0])


def test_best_validation_epoch_is_restored(toy):
    # validation labels are flipped: learning the task lowers validation AUC, so epoch 1 is the best
    train, val = toy(128, seed=0, contrast=20), toy(64, seed=1, contrast=20, flip=True)
    config = TrainConfig(epochs=4, batch_size=32, milestones=())
    result = train_classifier(linear_model(), train, val, config, n_classes=2)
    aucs = [row["val_auc"] for row in result.history]
    assert result.best_epoch == int(np.argmax(aucs)) + 1 == 1
    assert aucs[-1] < aucs[0] - 0.02
    probs = predict_proba(result.model, val.images)
    from sklearn.metrics import roc_auc_score

    restored = roc_auc_score(val.labels, probs[:, 1])
    assert restored == pytest.approx(aucs[0], abs=1e-9)
    assert result.best_val_auc == pytest.approx(aucs[0], abs=1e-9)


def test_single_class_validation_selects_by_validation_loss(toy):
    val = toy(32, seed=1)
    val = val.subset(np.flatnonzero(val.labels == 1))
    result = train_classifier(linear_model(), toy(64), val, TrainConfig(epochs=3, batch_size=16), n_classes=2)
    assert result.selected_by == "val_loss"
    losses = [row["val_loss"] for row in result.history]
    assert result.best_epoch == int(np.argmin(losses)) + 1
    assert all(np.isnan(row["val_auc"]) for row in result.history)


def test_learning_rate_drops_at_half_and_three_quarters(toy):
    result = train_classifier(linear_model(), toy(32), toy(16, seed=1), TrainConfig(epochs=4, batch_size=16),
                              n_classes=2)
    assert [row["lr"] for row in result.history] == pytest.approx([1e-3, 1e-3, 1e-4, 1e-5])


def test_progress_reports_every_epoch(toy):
    calls = []
    train_classifier(linear_model(), toy(32), toy(16, seed=1), TrainConfig(epochs=2, batch_size=16), n_classes=2,
                     progress=lambda epoch, total, info: calls.append((epoch, total, info)))
    assert [(e, t) for e, t, _ in calls] == [(1, 2), (2, 2)]
    assert {"train_loss", "val_auc", "best_epoch", "best_val_auc"} <= set(calls[-1][2])


def test_per_batch_conversion_matches_resident_tensors(toy, monkeypatch):
    train, val = toy(64, seed=0, contrast=30), toy(32, seed=1, contrast=30)
    config = TrainConfig(epochs=2, batch_size=16)
    resident = train_classifier(small_cnn(), train, val, config, n_classes=2)
    monkeypatch.setattr(training, "RESIDENT_LIMIT_BYTES", 0)
    streamed = train_classifier(small_cnn(), train, val, config, n_classes=2)
    assert without_seconds(resident.history) == without_seconds(streamed.history)


def test_a_last_batch_of_one_image_is_skipped(toy):
    result = train_classifier(small_cnn(), toy(33), toy(16, seed=1), TrainConfig(epochs=1, batch_size=16),
                              n_classes=2)
    assert result.images_seen == 32


def test_predict_proba_is_the_softmax_of_the_eval_network(toy):
    model = small_cnn().eval()
    images = toy(10).images
    probs = predict_proba(model, images, batch_size=4)
    assert probs.shape == (10, 2)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-9)
    x = torch.from_numpy(images).float().div(127.5).sub(1).permute(0, 3, 1, 2).contiguous()
    with torch.no_grad():
        expected = torch.softmax(model(x), dim=1).numpy()
    np.testing.assert_allclose(probs, expected, atol=1e-5)


def test_macro_auc_matches_hand_computed_values():
    labels = np.array([0, 0, 1, 1])
    p1 = np.array([0.1, 0.4, 0.35, 0.8])
    assert macro_ovr_auc(labels, np.c_[1 - p1, p1]) == pytest.approx(0.75)  # 3 of 4 positive-negative pairs ordered
    # three classes, class 2 absent: mean of class 0's and class 1's one-vs-rest AUC
    labels = np.array([0, 0, 1, 1])
    probs = np.array([[0.8, 0.1, 0.1], [0.3, 0.6, 0.1], [0.4, 0.5, 0.1], [0.2, 0.7, 0.1]])
    # class 0 scores 0.8, 0.3 vs 0.4, 0.2 -> 3/4; class 1 scores 0.5, 0.7 vs 0.1, 0.6 -> 3/4
    assert macro_ovr_auc(labels, probs) == pytest.approx(0.75)
    assert np.isnan(macro_ovr_auc(np.array([1, 1]), np.array([[0.5, 0.5], [0.2, 0.8]])))


def test_bad_inputs_are_user_errors(toy):
    train, val = toy(32), toy(16, seed=1)
    config = TrainConfig(epochs=1, batch_size=16)
    with pytest.raises(UserError, match="labels"):
        train_classifier(linear_model(), train, val, config, n_classes=1)
    with pytest.raises(UserError, match="same --image-size"):
        train_classifier(linear_model(), train, toy(16, size=8), config, n_classes=2)
    with pytest.raises(UserError, match="class_weights"):
        train_classifier(linear_model(), train, val, config, n_classes=2, class_weights=np.ones(3))
    if not torch.cuda.is_available():
        with pytest.raises(UserError, match="CUDA"):
            train_classifier(linear_model(), train, val, TrainConfig(epochs=1, device="cuda"), n_classes=2)


def test_fixed_steps_per_epoch_give_equal_compute_whatever_the_split_size(toy):
    small, large, val = toy(40, seed=0), toy(200, seed=2), toy(32, seed=1)
    config = TrainConfig(epochs=3, batch_size=32, steps_per_epoch=7)
    a = train_classifier(linear_model(), small, val, config, n_classes=2)
    b = train_classifier(linear_model(), large, val, config, n_classes=2)
    for r in (a, b):
        assert r.train_steps == 21 and r.images_seen == 21 * 32
        assert [row["steps"] for row in r.history] == [7, 7, 7]
    default = train_classifier(linear_model(), small, val, TrainConfig(epochs=3, batch_size=32), n_classes=2)
    assert default.train_steps == 3 * 2 and default.images_seen == 3 * 40  # one pass per epoch


def test_the_batch_stream_covers_every_image_once_per_shuffle():
    stream = training._BatchStream(10, 4, torch.Generator().manual_seed(0))
    batches = stream.take(5)  # 20 draws = exactly two shuffles of 10 images
    assert all(len(b) == 4 for b in batches)
    drawn = torch.cat(batches).tolist()
    assert sorted(drawn[:10]) == list(range(10)) and sorted(drawn[10:]) == list(range(10))


def test_eval_logit_offset_moves_selection_and_predictions(toy):
    train, val = toy(64, seed=0), toy(32, seed=1)
    config = TrainConfig(epochs=1, batch_size=32)
    push = np.array([0.0, 50.0])  # a huge prior towards class 1: every prediction becomes class 1
    result = train_classifier(linear_model(), train, val, config, n_classes=2, eval_logit_offset=push)
    assert np.array_equal(result.eval_logit_offset, push)
    probs = predict_proba(result.model, val.images, logit_offset=result.eval_logit_offset)
    assert (probs.argmax(axis=1) == 1).all()
    plain = predict_proba(result.model, val.images)
    assert (plain.argmax(axis=1) == 0).any()


def test_train_logit_offset_changes_the_loss_not_the_prediction(toy):
    train, val = toy(64, seed=0), toy(32, seed=1)
    model = linear_model()
    x = torch.from_numpy(train.images).float().div(127.5).sub(1).permute(0, 3, 1, 2)
    offset = np.array([np.log(0.9), np.log(0.1)])
    with torch.no_grad():
        logits = model(x)
    expected = F.cross_entropy(logits + torch.tensor(offset).float(), torch.from_numpy(train.labels)).item()
    config = TrainConfig(epochs=1, batch_size=64)  # one batch: the reported loss is the initial model's
    result = train_classifier(model, train, val, config, n_classes=2, train_logit_offset=offset)
    assert result.history[0]["train_loss"] == pytest.approx(expected, rel=1e-5)
    assert result.eval_logit_offset is None
    with pytest.raises(UserError):
        train_classifier(linear_model(), train, val, config, n_classes=2, train_logit_offset=np.array([0.0]))
