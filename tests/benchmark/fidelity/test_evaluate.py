import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from augbench.benchmark.fidelity import FeatureExtractor, class_keys, evaluate_fidelity, fidelity_params
from augbench.core.errors import UserError


class PooledPixels(FeatureExtractor):
    """A cheap stand-in extractor: 4x4 average-pooled pixels (49-d at 28 px)."""

    name, key, dims, image_size, weights = "pooled-pixels", "pix", 49, 28, "none"

    def _forward(self, batch):
        return F.avg_pool2d(batch, 4).flatten(1)


def draw(rng, n, brightness):
    """Images of one 'class': a fixed gradient plus noise, shifted in brightness."""
    gradient = np.linspace(-40, 40, 28)[None, :, None, None].repeat(28, axis=2).transpose(0, 2, 1, 3)
    return np.clip(brightness + gradient + rng.normal(0, 20, (n, 28, 28, 1)), 0, 255).astype(np.uint8)


NAMES = ["Normal", "Pleural effusion!"]


@pytest.fixture(scope="module")
def sets():
    rng = np.random.default_rng(0)
    real = {0: draw(rng, 10, 100), 1: draw(rng, 6, 160)}
    heldout = {0: draw(rng, 80, 100), 1: draw(rng, 30, 160)}
    good = {0: draw(rng, 60, 100), 1: real[1][rng.integers(0, 6, 60)]}  # class 1: copies of its budget
    shifted = {0: draw(rng, 60, 170), 1: draw(rng, 60, 60)}
    return real, heldout, good, shifted


def test_keys_counts_and_roles(sets):
    real, heldout, good, _ = sets
    m = evaluate_fidelity(real, good, PooledPixels(), class_names=NAMES, heldout_by_class=heldout, seed=0)
    for c in ("normal", "pleural_effusion"):
        for stem in ("fid_pix", "fid_heldout_pix", "fid_calib_pix", "kid_pix", "kid_std_pix", "kid_calib_pix",
                     "precision_pix", "recall_pix", "density_pix", "coverage_pix", "prdc_k_pix", "memorisation_pix",
                     "msssim", "msssim_real", "n_real", "n_fake", "n_heldout", "n_calib"):
            assert f"{stem}_{c}" in m, f"{stem}_{c}"
    assert all(isinstance(v, float) for v in m.values())
    assert (m["n_real_normal"], m["n_fake_normal"], m["n_heldout_normal"], m["n_calib_normal"]) == (10, 60, 80, 60)
    assert (m["n_real_pleural_effusion"], m["n_heldout_pleural_effusion"], m["n_calib_pleural_effusion"]) == (6, 30, 30)
    assert m["n_real_overall"] == 16 and m["n_fake_overall"] == 120
    assert {"fid_pix_overall", "kid_pix_overall", "fid_calib_pix_overall", "fid_heldout_pix_overall"} <= set(m)
    assert m["prdc_k_pix_pleural_effusion"] == 5 and m["prdc_k_pix_normal"] == 5


def test_memorisation_flags_the_class_made_of_budget_copies(sets):
    real, heldout, good, _ = sets
    m = evaluate_fidelity(real, good, PooledPixels(), class_names=NAMES, heldout_by_class=heldout)
    assert m["memorisation_pix_pleural_effusion"] == pytest.approx(0.0, abs=1e-6)
    assert 0.6 < m["memorisation_pix_normal"] < 1.6  # fresh samples: as near the budget as real ones
    assert m["memorisation_share_pix_pleural_effusion"] == 1.0  # every copy sits on a budget image
    assert m["memorisation_share_pix_normal"] < 0.5
    # copies of 6 images look alike: within-class MS-SSIM above that of fresh samples
    assert m["msssim_pleural_effusion"] > m["msssim_normal"]


def test_shifted_fakes_score_worse_than_matching_ones_and_calibration_sits_with_the_good(sets):
    real, heldout, good, shifted = sets
    ex = PooledPixels()
    g = evaluate_fidelity(real, good, ex, class_names=NAMES, heldout_by_class=heldout)
    s = evaluate_fidelity(real, shifted, ex, class_names=NAMES, heldout_by_class=heldout)
    for stem in ("fid_pix_normal", "fid_heldout_pix_normal", "kid_pix_normal", "fid_pix_overall"):
        assert s[stem] > 5 * g[stem], stem
    assert g["precision_pix_normal"] > 0.5 > s["precision_pix_normal"]
    assert g["fid_calib_pix_normal"] < s["fid_pix_normal"] / 5
    assert g["fid_calib_pix_normal"] == pytest.approx(g["fid_pix_normal"], rel=1.0)  # same order of magnitude
    # calibration does not depend on the fakes except through their count
    assert g["fid_calib_pix_normal"] == s["fid_calib_pix_normal"]


def test_tiny_classes_give_nan_not_errors_and_loo_memorisation_without_heldout():
    rng = np.random.default_rng(1)
    real = {0: draw(rng, 1, 100), 1: draw(rng, 3, 150)}
    fake = {0: draw(rng, 5, 100), 1: draw(rng, 3, 150)}
    m = evaluate_fidelity(real, fake, PooledPixels(), class_names=NAMES)
    assert m["n_real_normal"] == 1
    for stem in ("fid_pix", "kid_pix", "precision_pix", "memorisation_loo_pix", "msssim_real"):
        assert math.isnan(m[f"{stem}_normal"]), stem
    for stem in ("fid_pix", "kid_pix", "precision_pix", "memorisation_loo_pix", "msssim"):
        assert math.isfinite(m[f"{stem}_pleural_effusion"]), stem
    assert m["prdc_k_pix_pleural_effusion"] == 2  # capped at n - 1
    assert not any(k.startswith(("fid_calib", "memorisation_pix", "n_heldout")) for k in m)


def test_fake_class_without_real_images_is_a_user_error():
    rng = np.random.default_rng(2)
    with pytest.raises(UserError, match=r"classes \[1\]"):
        evaluate_fidelity({0: draw(rng, 4, 100)}, {1: draw(rng, 4, 100)}, PooledPixels(), class_names=NAMES)


def test_class_keys_are_mlflow_safe_and_unique():
    assert class_keys(["Normal", "Pleural effusion!", "a b", "a-b"]) == ["normal", "pleural_effusion", "a_b_2", "a_b_3"]


def test_fidelity_params_name_the_extractor_and_msssim_scales():
    p = fidelity_params(PooledPixels(), image_size=28)
    assert p == {"fidelity_pix_name": "pooled-pixels", "fidelity_pix_dims": 49, "fidelity_pix_image_size": 28,
                 "fidelity_pix_weights": "none", "fidelity_msssim_scales": 2}


def test_extractor_rejects_non_uint8_images():
    with pytest.raises(ValueError, match="uint8 NHWC"):
        PooledPixels().features(torch.zeros(2, 28, 28, 1).numpy())
