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
