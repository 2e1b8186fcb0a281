"""DiffAugment: each family does what the paper describes, is differentiable and seeded, and the
same policy reaches every batch the discriminator sees, real and fake alike."""
import numpy as np
import pytest
import torch
from torch import nn

from augbench.core.errors import UserError
from augbench.generators import create_generator
from augbench.generators._diffaugment import DiffAugment, parse_policy, policy_name


def _aug(policy: str, seed: int = 0) -> DiffAugment:
    return DiffAugment(parse_policy(policy), torch.Generator().manual_seed(seed))


def test_policies_parse_to_the_canonical_order_and_refuse_typos():
    assert parse_policy("cutout, color") == ("color", "cutout")
    assert parse_policy("none") == () and parse_policy("") == () and parse_policy(False) == ()
    assert policy_name(parse_policy("translation,color")) == "color,translation"
    assert policy_name(()) == "none"
    with pytest.raises(UserError, match="unknown diffaugment family 'colour'"):
        parse_policy("colour,cutout")
    with pytest.raises(UserError, match="not a policy"):
        parse_policy(3)


def test_translation_is_an_integer_shift_with_zero_fill_of_at_most_an_eighth():
    x = torch.arange(1, 1 + 32 * 32, dtype=torch.float32).view(1, 1, 32, 32).repeat(16, 1, 1, 1)
    out = _aug("translation")(x)
    shifts = set()
    for img in out[:, 0]:
        found = None
        for dy in range(-4, 5):
            for dx in range(-4, 5):
                shifted = torch.zeros(32, 32)
                src = x[0, 0, max(0, dy):32 + min(0, dy), max(0, dx):32 + min(0, dx)]
                shifted[max(0, -dy):32 - max(0, dy), max(0, -dx):32 - max(0, dx)] = src
                if torch.equal(shifted, img):
                    found = (dy, dx)
        assert found is not None, "output is not an integer shift of the input within 4 px"
        shifts.add(found)
    assert len(shifts) > 3  # per-image draws, not one shift for the batch


def test_cutout_zeroes_a_square_of_at_most_a_quarter_per_image():
    out = _aug("cutout")(torch.ones(64, 3, 32, 32))
    zero_share = (out == 0).float().mean(dim=(1, 2, 3))
    assert bool((zero_share > 0).all()) and bool((zero_share <= 0.25 + 1e-6).all())
    assert zero_share.max() == pytest.approx(0.25)  # a centre away from the border cuts a full 16x16 square
    assert bool(((out == 0) | (out == 1)).all())


def test_color_moves_brightness_and_contrast_per_image():
    x = torch.linspace(-0.5, 0.5, 32 * 32).view(1, 1, 32, 32).repeat(8, 3, 1, 1)
    out = _aug("color")(x)
    means, spreads = out.mean(dim=(1, 2, 3)), out.std(dim=(1, 2, 3))
    assert means.std() > 0.05 and spreads.std() > 0.01  # images differ from each other
    assert bool((out.mean(dim=(2, 3)).std(dim=1) < 1e-5).all())  # grey stays grey: saturation is about the mean


def test_the_policy_is_differentiable_and_seeded():
    x = torch.randn(4, 3, 32, 32, requires_grad=True)
    out = _aug("color,translation,cutout", seed=3)(x)
    out.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    again = _aug("color,translation,cutout", seed=3)(x.detach())
    assert torch.equal(out.detach(), again)
    assert not torch.equal(again, _aug("color,translation,cutout", seed=4)(x.detach()))


class CutoutDetector(nn.Module):
    """A discriminator that can tell augmented from plain batches: it records, for every batch it is
    shown, the share of exactly-zero pixels (what cutout leaves) and whether the rest of the batch is
    the constant +1 of the real images (so the batch was real) or not (generated)."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.ones(1))
        self.seen: list[tuple[str, float]] = []

    def forward(self, x, y):
        with torch.no_grad():
            kept = x[x != 0]
            kind = "real" if kept.numel() and bool((kept == 1).all()) else "fake"
            self.seen.append((kind, float((x == 0).float().mean())))
        return x.flatten(1).mean(1) * self.w


@pytest.mark.parametrize("arm", ["dcgan", "cwgan-gp"])
@pytest.mark.parametrize("policy", ["cutout", "none"])
def test_the_same_policy_reaches_real_and_fake_batches(arm, policy, monkeypatch):
    gen = create_generator(arm, steps=3, batch_size=8, base_channels=8, latent_dim=8, diffaugment=policy)
    detector = CutoutDetector()
    build = type(gen)._networks
    monkeypatch.setattr(type(gen), "_networks", lambda self: (build(self)[0], detector))
    images = np.full((12, 32, 32, 1), 255, dtype=np.uint8)   # every real pixel is +1 in [-1, 1]
    gen.fit(images, np.array([0] * 8 + [1] * 4), 2, seed=0)
    kinds = {kind for kind, _ in detector.seen}
    assert kinds == {"real", "fake"}  # fakes of a barely trained G are not constant +1
    # cwgan-gp's penalty points are real/fake mixtures (recorded as "fake"): augmented too
    for kind in ("real", "fake"):
        shares = [z for k, z in detector.seen if k == kind]
        if policy == "cutout":
            assert min(shares) > 0, f"a {kind} batch reached D without the policy"
        else:
            assert max(shares) == 0, f"a {kind} batch was augmented with the policy off"
    # the saved / sampled networks are the bare ones, never the augmenting wrapper
    assert gen.nets["discriminator"] is detector and gen.D is detector
    assert gen.describe()["diffaugment"] == policy


# --- ADA: the adaptive probability (an option) ------------------------------------------------------
from augbench.generators._diffaugment import AdaptiveProbability  # noqa: E402
from augbench.generators import generator_names  # noqa: E402

#: every arm with a discriminator, read from the registry so a new one is held to the ADA contract
ADVERSARIAL = [n for n in generator_names() if getattr(create_generator(n), "adversarial", False)]


def test_the_controller_moves_p_by_the_sign_of_the_real_scores():
    ada = AdaptiveProbability(target=0.6, kimg=0.032, interval=2)   # 32 images take p from 0 to 1
    sure = torch.ones(8, 1)                                          # D calls every real image real
    ada.observe(sure)
    assert ada.p == 0.0 and ada.adjustments == 0                     # adjusts every 2 batches only
    ada.observe(sure)
    assert ada.p == pytest.approx(0.5) and ada.r_t == 1.0            # 16 of the 32 images
    for _ in range(4):
        ada.observe(sure)
    assert ada.p == 1.0                                              # clamped
    unsure = torch.tensor([1.0, -1.0, -1.0, -1.0, 1.0, -1.0, -1.0, -1.0])  # r_t = -0.5 < 0.6: less
    ada.observe(unsure), ada.observe(unsure)
    assert ada.p == pytest.approx(0.5) and ada.r_t == -0.5
    for _ in range(6):
        ada.observe(-sure)
    assert ada.p == 0.0                                              # never below 0
    at_target = AdaptiveProbability(target=0.5, kimg=0.032, interval=1)
    at_target.observe(torch.tensor([1.0, 1.0, 1.0, -1.0]))           # r_t = 0.5: p stays where it is
    assert at_target.p == 0.0 and at_target.r_t == 0.5


def _adaptive(p: float, seed: int = 0) -> DiffAugment:
    ada = AdaptiveProbability(0.6, 10, 4)
    ada.p = p
    return DiffAugment(parse_policy("cutout"), torch.Generator().manual_seed(seed), ada)


def test_each_image_gets_the_family_with_probability_p():
    x = torch.ones(400, 1, 16, 16)
    quiet = _adaptive(0.0)
    before = quiet.generator.get_state()
    assert torch.equal(quiet(x), x) and torch.equal(quiet.generator.get_state(), before)  # p = 0: no draws
    assert bool(((_adaptive(1.0)(x) == 0).flatten(1).any(1)).all())
    cut = (_adaptive(0.3)(x) == 0).flatten(1).any(1).float().mean()
    assert 0.22 < float(cut) < 0.38, "not one Bernoulli(p) per image"
    assert torch.equal(_adaptive(0.3, seed=5)(x), _adaptive(0.3, seed=5)(x))


class SignDetector(CutoutDetector):
    """CutoutDetector scoring every image by its mean pixel: real images of +1 are judged real, of -1
    judged fake, whatever the generator does."""


@pytest.mark.parametrize("pixel, rises", [(255, True), (0, False)])
def test_ada_raises_p_only_when_d_is_sure_of_the_reals(pixel, rises, monkeypatch):
    gen = create_generator("dcgan", steps=12, batch_size=8, base_channels=8, latent_dim=8, diffaugment="cutout",
                           ada_target=0.6, ada_kimg=0.08, ada_interval=1)   # +0.1 per real batch of 8
    detector = SignDetector()
    build = type(gen)._networks
    monkeypatch.setattr(type(gen), "_networks", lambda self: (build(self)[0], detector))
    images = np.full((12, 32, 32, 1), pixel, dtype=np.uint8)
    gen.fit(images, np.array([0] * 8 + [1] * 4), 2, seed=0)
    curve = [r["ada_p"] for r in gen.history]
    real_cut = [z for kind, z in detector.seen if kind == "real"] if pixel == 255 else []
    if rises:
        assert curve[0] == pytest.approx(0.1) and gen.ada_p == 1.0 and curve == sorted(curve)
        assert real_cut[0] == 0 and min(real_cut[-5:]) > 0   # p = 0 at first, then cutout on every real
        fake_cut = [z for kind, z in detector.seen if kind == "fake"]
        assert max(fake_cut[-5:]) > 0                          # and the fakes get the same policy
    else:
        assert gen.ada_p == 0.0 and max(curve) == 0.0
        assert max(z for _, z in detector.seen) == 0           # p stayed 0: nothing was augmented
    assert gen.describe()["ada_p"] == gen.ada_p


def _ada_fit_settings(name: str) -> dict:
    if name in ("bagan", "bagan-gp"):
        return dict(ae_epochs=1, gan_steps=3, batch_size=4, width=0.125)
    return dict(steps=3, base_channels=4, batch_size=4, **({"encoder_steps": 1, "encoder_channels": 4}
                                                              if name == "opengan" else {}))


@pytest.mark.parametrize("name", ADVERSARIAL)
def test_every_adversarial_arm_hands_ada_one_score_per_real_image(name, monkeypatch):
    seen = []
    observe = AdaptiveProbability.observe
    monkeypatch.setattr(AdaptiveProbability, "observe",
                        lambda self, scores: (seen.append(tuple(scores.shape)), observe(self, scores))[1])
    gen = create_generator(name, diffaugment="color,translation,cutout", ada_target=0.6, ada_interval=1,
                           **_ada_fit_settings(name))
    rng = np.random.default_rng(0)
    images, labels = rng.integers(0, 256, (16, 32, 32, 3), dtype=np.uint8), np.array([0] * 10 + [1] * 6)
    gen.fit(images, labels, 2, seed=0)
    per_step = int(gen.config.get("n_critic", 1))
    assert len(seen) == 3 * per_step, f"{name}: ADA saw {len(seen)} real batches, expected {3 * per_step}"
    assert all(shape[0] == 4 for shape in seen)
    assert gen.ada_p is not None and all("ada_p" in r for r in gen.history)


def test_ada_settings_are_checked_and_named_in_the_hash_only_when_on():
    with pytest.raises(UserError, match="diffaugment is 'none'"):
        create_generator("dcgan", diffaugment="none", ada_target=0.6)
    with pytest.raises(UserError, match="below 1"):
        create_generator("dcgan", ada_target=1.5)
    with pytest.raises(UserError, match="ada_kimg"):
        create_generator("dcgan", ada_target=0.6, ada_kimg=0)
    assert not any(k.startswith("ada") for k in create_generator("dcgan").resolved_settings())
    on = create_generator("cwgan-gp", ada_target=0.6).resolved_settings()
    assert on["ada_target"] == 0.6 and on["ada_kimg"] == 10 and on["ada_interval"] == 4
